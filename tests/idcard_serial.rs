//! The ID card reader's serial adapter and watcher against the virtual reader on a real
//! pseudo-terminal, and `renshe-kiosk idcard read`.
#![cfg(feature = "demo")]

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use renshe_kiosk::card::sim::demo_residents;
use renshe_kiosk::idcard::protocol::{self, FrameError, Validity};
use renshe_kiosk::idcard::{
    demo_id_cards, Fault, IdCardEvent, IdCardReader, IdCardWatcher, ReadFailure, ReaderHealth,
    ReaderSettings, VirtualIdReader, WatcherSettings,
};

fn reader_for(sim: &VirtualIdReader) -> IdCardReader {
    let mut settings = ReaderSettings::new(sim.path(), 115_200);
    settings.retry_pause = Duration::from_millis(20);
    settings.command_timeout = Duration::from_millis(500);
    IdCardReader::new(settings)
}

fn sim_with(index: usize) -> VirtualIdReader {
    VirtualIdReader::with_card(demo_id_cards()[index].clone()).expect("virtual reader")
}

#[test]
fn every_demo_card_reads_through_the_pty() {
    let cards = demo_id_cards();
    let residents = demo_residents();
    let sim = VirtualIdReader::start().expect("virtual reader");
    let mut reader = reader_for(&sim);
    for (index, expected) in cards.iter().enumerate() {
        sim.place(expected.clone());
        let card = reader.read_card().expect("reads");
        assert_eq!(&card.read, expected, "card {index}");
        assert_eq!(card.photo().len(), protocol::PHOTO_LEN);
        let id = card.id_number.as_ref().expect("a GB 11643 number");
        if let Some(resident) = residents.get(index) {
            assert_eq!(
                id, &resident.id_number,
                "same person as the demo tray's card"
            );
            assert_eq!(card.text().name, resident.name);
        }
        assert!(card.masked_id().contains("********"));
    }
    assert_eq!(
        cards[3].text.valid_to,
        Validity::LongTerm,
        "王建国's card is 长期"
    );
    assert_eq!(
        sim.commands()[..3],
        [
            protocol::Command::FindCard,
            protocol::Command::SelectCard,
            protocol::Command::ReadText
        ]
    );
}

#[test]
fn no_card_select_and_read_failures_are_typed() {
    let sim = VirtualIdReader::start().expect("virtual reader");
    let mut reader = reader_for(&sim);
    assert_eq!(reader.read_card().map(|_| ()), Err(ReadFailure::NoCard));
    assert_eq!(
        sim.commands().len(),
        3,
        "find is tried `attempts` times before no card"
    );

    sim.place(demo_id_cards()[0].clone());
    sim.set_fault(Some(Fault::NoCard));
    assert_eq!(reader.read_card().map(|_| ()), Err(ReadFailure::NoCard));
    sim.set_fault(Some(Fault::SelectFails));
    assert_eq!(
        reader.read_card().map(|_| ()),
        Err(ReadFailure::SelectFailed)
    );
    sim.set_fault(Some(Fault::ReadFails));
    assert_eq!(reader.read_card().map(|_| ()), Err(ReadFailure::ReadFailed));

    // One failure is a card still moving: the retry reads it.
    sim.set_fault(None);
    for fault in [Fault::NoCard, Fault::SelectFails, Fault::ReadFails] {
        sim.fault_once(fault);
        reader.read_card().expect("the second try reads");
    }
}

#[test]
fn a_broken_checksum_is_a_frame_error_and_a_single_one_is_retried() {
    let sim = sim_with(1);
    let mut reader = reader_for(&sim);
    sim.set_fault(Some(Fault::BadChecksum));
    assert!(matches!(
        reader.read_card(),
        Err(ReadFailure::Frame(FrameError::BadChecksum { .. }))
    ));
    sim.set_fault(None);
    sim.fault_once(Fault::BadChecksum);
    let card = reader.read_card().expect("the retry reads");
    assert_eq!(card.read, demo_id_cards()[1]);
}

#[test]
fn replies_split_into_small_chunks_are_reassembled() {
    let sim = sim_with(2);
    let mut reader = reader_for(&sim);
    for chunk in [1, 3, 7, 64] {
        sim.split_replies(Some(chunk));
        let card = reader.read_once().expect("reads");
        assert_eq!(card.read, demo_id_cards()[2], "chunk {chunk}");
    }
}

#[test]
fn a_slow_or_silent_reader_times_out_and_the_next_command_is_not_confused() {
    let sim = sim_with(0);
    let mut reader = reader_for(&sim);
    sim.slow_answers(Some(Duration::from_millis(150)));
    reader.read_once().expect("slow but within the timeout");
    sim.slow_answers(Some(Duration::from_millis(800)));
    assert_eq!(
        reader.find(),
        Err(ReadFailure::Timeout(Duration::from_millis(500)))
    );
    // The late answer arrives while nobody waits; it must not pass for the next one's.
    sim.slow_answers(None);
    std::thread::sleep(Duration::from_millis(400));
    reader.read_once().expect("reads after the late answer");
    sim.set_fault(Some(Fault::Silent));
    assert!(matches!(reader.sam_status(), Err(ReadFailure::Timeout(_))));
}

#[test]
fn a_missing_port_is_a_port_failure() {
    let mut reader = IdCardReader::new(ReaderSettings::new("/dev/nonexistent-idcard", 115_200));
    assert!(matches!(reader.read_card(), Err(ReadFailure::Port { .. })));
}

fn next_event(events: &mpsc::Receiver<IdCardEvent>) -> IdCardEvent {
    events
        .recv_timeout(Duration::from_secs(5))
        .expect("an event within 5 s")
}

#[test]
fn the_watcher_reports_health_placed_taken_and_unreadable() {
    let sim = VirtualIdReader::start().expect("virtual reader");
    let mut settings = WatcherSettings::new(ReaderSettings::new(sim.path(), 115_200));
    settings.poll = Duration::from_millis(50);
    settings.reader.command_timeout = Duration::from_millis(300);
    let (tx, events) = mpsc::channel();
    let watcher = IdCardWatcher::spawn(settings, move |event| {
        let _ = tx.send(event);
    })
    .expect("spawns");
    assert!(matches!(
        next_event(&events),
        IdCardEvent::Health(ReaderHealth::Online)
    ));

    sim.place(demo_id_cards()[4].clone());
    match next_event(&events) {
        IdCardEvent::Placed(card) => {
            assert_eq!(card.read, demo_id_cards()[4]);
            // Debug never shows the name or the full ID number.
            let shown = format!("{card:?}");
            assert!(!shown.contains("陈永川"), "{shown}");
            assert!(
                !shown.contains(&demo_id_cards()[4].text.id_number),
                "{shown}"
            );
        }
        other => panic!("expected placed, got {other:?}"),
    }
    // Lying there it is not read again.
    assert!(events.recv_timeout(Duration::from_millis(300)).is_err());
    sim.take();
    assert!(matches!(next_event(&events), IdCardEvent::Taken));

    sim.set_fault(Some(Fault::ReadFails));
    sim.place(demo_id_cards()[0].clone());
    assert!(matches!(
        next_event(&events),
        IdCardEvent::Unreadable(ReadFailure::ReadFailed)
    ));
    sim.take();
    assert!(matches!(next_event(&events), IdCardEvent::Taken));

    sim.set_fault(Some(Fault::Silent));
    assert!(matches!(
        next_event(&events),
        IdCardEvent::Health(ReaderHealth::Offline)
    ));
    sim.set_fault(None);
    assert!(matches!(
        next_event(&events),
        IdCardEvent::Health(ReaderHealth::Online)
    ));
    watcher.shutdown();

    // A reader that is not there.
    let mut settings =
        WatcherSettings::new(ReaderSettings::new("/dev/nonexistent-idcard", 115_200));
    settings.poll = Duration::from_millis(50);
    let (tx, events) = mpsc::channel();
    let _watcher = IdCardWatcher::spawn(settings, move |event| {
        let _ = tx.send(event);
    })
    .expect("spawns");
    assert!(matches!(
        next_event(&events),
        IdCardEvent::Health(ReaderHealth::NoDevice)
    ));
}

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
}

#[test]
fn the_cli_reads_masked_unmasked_and_as_json_and_fails_without_a_card() {
    let output = kiosk()
        .args(["idcard", "read", "--port", "sim"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let resident = &demo_residents()[0];
    assert!(stdout.contains("张*芳"), "{stdout}");
    assert!(stdout.contains(&resident.id_number.masked()), "{stdout}");
    assert!(!stdout.contains(resident.id_number.as_str()), "{stdout}");
    assert!(
        !stdout.contains("民族路"),
        "the address is masked: {stdout}"
    );
    assert!(stdout.contains("居民身份证"), "{stdout}");

    let output = kiosk()
        .args([
            "idcard",
            "read",
            "--port",
            "sim",
            "--unmasked",
            "--sim-card",
            "3",
        ])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.contains("王建国"), "{stdout}");
    assert!(
        stdout.contains(demo_residents()[3].id_number.as_str()),
        "{stdout}"
    );
    assert!(stdout.contains("长期"), "{stdout}");

    let output = kiosk()
        .args([
            "idcard",
            "read",
            "--port",
            "sim",
            "--json",
            "--sim-card",
            "4",
        ])
        .output()
        .expect("run");
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["name"], "陈*川");
    assert_eq!(json["sex"], "男");
    assert_eq!(json["card_type"], "resident");
    assert_eq!(json["photo_bytes"], 1024);
    assert_eq!(
        json["id_number"],
        renshe_kiosk::core::identity::IdNumber::parse(&demo_id_cards()[4].text.id_number)
            .expect("valid")
            .masked()
    );

    let output = kiosk()
        .args(["idcard", "read", "--port", "sim", "--sim-card", "none"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no ID card on the reader"), "{stderr}");
}
