//! The card stack end to end: real pcscd + vsmartcard's vpcd driver + the virtual card speaking vpcd.
//!
//! The tests share pcscd and vpcd's ports, so they take turns through one mutex. If pcscd is not
//! running they start it (`pcscd -f -a`); the restart test kills and restarts it, and pcscd is left
//! running at the end.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use renshe_kiosk::card::pcsc::{
    self, CardEvent, DeviceStatus, Media, ReaderConfig, ReaderService, ServiceError,
};
use renshe_kiosk::card::protocol::{CardSession, ProtocolError, Recorder};
use renshe_kiosk::card::sam::{LocalTestSam, Sam};
use renshe_kiosk::card::sim::{self, CardProfile, SimRig};
use renshe_kiosk::core::identity::{CardGeneration, Holder, Pin};

const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
const PCSCD_PID_FILE: &str = "/run/pcscd/pcscd.pid";
const TIMEOUT: Duration = Duration::from_secs(10);

static PCSCD: Mutex<()> = Mutex::new(());

/// Serializes the tests, makes sure pcscd runs and that it has noticed the previous test's cards leave.
fn pcscd() -> MutexGuard<'static, ()> {
    let guard = PCSCD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A socket left behind by a pcscd that died does not count: it must answer.
    if !Path::new(PCSCD_SOCKET).exists() || ::pcsc::Context::establish(::pcsc::Scope::User).is_err()
    {
        let _ = std::fs::remove_file(PCSCD_SOCKET);
        start_pcscd();
    }
    wait_until_readers_are_empty();
    guard
}

/// vpcd notices a closed card connection only at its next presence poll; a card connecting before that
/// would inherit the old card's state. Wait until pcscd reports both virtual readers empty.
fn wait_until_readers_are_empty() {
    let context = ::pcsc::Context::establish(::pcsc::Scope::User).expect("pcscd answers");
    let mut states: Vec<::pcsc::ReaderState> = [sim::SIM_CARD_READER, sim::SIM_PSAM_READER]
        .into_iter()
        .map(|name| {
            ::pcsc::ReaderState::new(
                std::ffi::CString::new(name).expect("name"),
                ::pcsc::State::UNAWARE,
            )
        })
        .collect();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match context.get_status_change(Duration::from_millis(100), &mut states) {
            Ok(()) | Err(::pcsc::Error::Timeout) => {}
            Err(error) => panic!("waiting for empty readers: {error}"),
        }
        if states
            .iter()
            .all(|state| state.event_state().contains(::pcsc::State::EMPTY))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "a virtual reader still reports a card"
        );
        states
            .iter_mut()
            .for_each(::pcsc::ReaderState::sync_current_state);
    }
}

fn start_pcscd() {
    // Started through a shell that exits at once, so pcscd outlives this test process (CI expects it
    // running afterwards) and is nobody's zombie when the restart test stops it.
    let status = Command::new("sh")
        .args(["-c", "pcscd -f -a </dev/null >/dev/null 2>&1 &"])
        .status()
        .expect("sh");
    assert!(
        status.success(),
        "could not start pcscd (Debian package pcscd)"
    );
    let deadline = Instant::now() + TIMEOUT;
    while !Path::new(PCSCD_SOCKET).exists() {
        assert!(
            Instant::now() < deadline,
            "pcscd did not create {PCSCD_SOCKET}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn process_alive(pid: &str) -> bool {
    // A zombie (state Z) has exited; only its parent has not collected it yet.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Stops the running pcscd by the pid it wrote, and waits until it is gone.
fn stop_pcscd() {
    let pid = std::fs::read_to_string(PCSCD_PID_FILE).expect("pcscd writes its pid file");
    // pcscd pads its pid file with NUL bytes.
    let pid = pid
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_owned();
    assert!(
        pid.bytes().all(|b| b.is_ascii_digit()),
        "pid file holds {pid:?}"
    );
    // The shell's kill builtin: minimal machines may lack /bin/kill.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .expect("sh");
    assert!(status.success(), "could not signal pcscd {pid}");
    let deadline = Instant::now() + TIMEOUT;
    while process_alive(&pid) || Path::new(PCSCD_SOCKET).exists() {
        assert!(Instant::now() < deadline, "pcscd {pid} did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn holder(index: usize, generation: CardGeneration) -> Holder {
    let mut holder = sim::demo_residents()
        .into_iter()
        .nth(index)
        .expect("demo resident");
    holder.generation = generation;
    holder
}

fn service(sam: Option<Box<dyn Sam>>) -> (ReaderService, Receiver<CardEvent>) {
    service_for("sim", sam)
}

fn service_for(reader: &str, sam: Option<Box<dyn Sam>>) -> (ReaderService, Receiver<CardEvent>) {
    let (sender, events) = mpsc::channel();
    let mut config = ReaderConfig::new(reader);
    config.poll_interval = Duration::from_millis(200);
    let service = ReaderService::spawn(config, sam, move |event| {
        let _ = sender.send(event);
    });
    (service, events)
}

/// Waits for the first event matching `wanted`, returning the events seen on the way.
fn wait_for(events: &Receiver<CardEvent>, wanted: impl Fn(&CardEvent) -> bool) -> Vec<CardEvent> {
    let deadline = Instant::now() + TIMEOUT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(event) => {
                let done = wanted(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("event not seen within {TIMEOUT:?}; saw {seen:?}"),
        }
    }
}

fn inserted(event: &CardEvent) -> bool {
    matches!(event, CardEvent::Inserted { reader, .. } if reader == sim::SIM_CARD_READER)
}

#[test]
fn second_generation_card_is_read_through_pcscd() {
    let _pcscd = pcscd();
    let expected = holder(1, CardGeneration::Second);
    let _rig = SimRig::start(&CardProfile::demo(expected.clone()), false);
    let (service, events) = service(None);
    let seen = wait_for(&events, inserted);
    assert!(
        seen.contains(&CardEvent::ReaderAvailable {
            reader: sim::SIM_CARD_READER.into()
        }),
        "{seen:?}"
    );
    match seen.last() {
        Some(CardEvent::Inserted { atr, .. }) => assert_eq!(atr.as_slice(), &sim::card::CARD_ATR),
        other => panic!("{other:?}"),
    }
    let report = service.read_holder(TIMEOUT).expect("2nd-gen read");
    assert_eq!(report.holder, expected);
    assert_eq!(report.apdus, 15);
    assert_eq!(report.reader, sim::SIM_CARD_READER);
    let status = service.status();
    assert_eq!(
        (status.device, status.media),
        (DeviceStatus::Online, Media::Present)
    );
    assert!(service.capabilities().read_holder && !service.capabilities().third_generation);
}

#[test]
fn third_generation_card_is_read_with_the_psam_in_the_second_reader() {
    let _pcscd = pcscd();
    let expected = holder(0, CardGeneration::Third);
    let _rig = SimRig::start(&CardProfile::demo(expected.clone()), true);
    let (service, events) = service(Some(Box::new(pcsc::pcsc_psam("sim"))));
    wait_for(&events, inserted);
    let report = service
        .read_holder(TIMEOUT)
        .expect("3rd-gen read with PSAM");
    assert_eq!(report.holder, expected);
    assert_eq!(
        report.apdus, 17,
        "15 reads + GET CHALLENGE + EXTERNAL AUTHENTICATE"
    );
    // The session is kept: a second read re-reads nothing it has and sends no SELECT twice.
    assert_eq!(
        service.read_holder(TIMEOUT).expect("again").holder,
        expected
    );
}

#[test]
fn third_generation_card_without_sam_gives_issuer_data_and_asks_for_the_module() {
    let _pcscd = pcscd();
    let _rig = SimRig::start(&CardProfile::demo(holder(2, CardGeneration::Third)), false);
    let (service, events) = service(None);
    wait_for(&events, inserted);
    match service.read_holder(TIMEOUT) {
        Err(ServiceError::NeedsAuthenticationModule { issuer }) => {
            assert_eq!(issuer.generation, CardGeneration::Third);
            assert_eq!(issuer.card_number, "C00024680");
            assert_eq!(issuer.region_code(), "500100");
        }
        other => panic!("expected NeedsAuthenticationModule, got {other:?}"),
    }
}

#[test]
fn pin_right_wrong_and_blocked_through_pcscd() {
    let _pcscd = pcscd();
    let _rig = SimRig::start(&CardProfile::demo(holder(1, CardGeneration::Second)), false);
    let (service, events) = service(None);
    wait_for(&events, inserted);
    let pin = |digits: &str| Pin::new(digits).expect("pin");
    service
        .verify_pin(pin(sim::DEMO_PIN), TIMEOUT)
        .expect("right PIN");
    for expected_left in (1..sim::PIN_TRIES).rev() {
        match service.verify_pin(pin("000000"), TIMEOUT) {
            Err(ServiceError::Protocol(ProtocolError::PinWrong { retries_left })) => {
                assert_eq!(retries_left, expected_left);
            }
            other => panic!("expected PinWrong({expected_left}), got {other:?}"),
        }
    }
    assert!(matches!(
        service.verify_pin(pin("000000"), TIMEOUT),
        Err(ServiceError::Protocol(ProtocolError::PinBlocked))
    ));
    assert!(matches!(
        service.verify_pin(pin(sim::DEMO_PIN), TIMEOUT),
        Err(ServiceError::Protocol(ProtocolError::PinBlocked))
    ));
}

#[test]
fn change_pin_through_pcscd() {
    let _pcscd = pcscd();
    let _rig = SimRig::start(&CardProfile::demo(holder(3, CardGeneration::Second)), false);
    let (service, events) = service(None);
    wait_for(&events, inserted);
    let pin = |digits: &str| Pin::new(digits).expect("pin");
    service
        .change_pin(pin(sim::DEMO_PIN), pin("246810"), TIMEOUT)
        .expect("change");
    service.verify_pin(pin("246810"), TIMEOUT).expect("new PIN");
    assert!(matches!(
        service.verify_pin(pin(sim::DEMO_PIN), TIMEOUT),
        Err(ServiceError::Protocol(ProtocolError::PinWrong {
            retries_left: 5
        }))
    ));
}

#[test]
fn card_pulled_mid_read_is_a_clean_removed_error_and_the_next_card_reads() {
    let _pcscd = pcscd();
    let expected = holder(1, CardGeneration::Second);
    let rig = SimRig::start(&CardProfile::demo(expected.clone()), false);
    let (service, events) = service(None);
    wait_for(&events, inserted);
    rig.card.pull_after(6);
    match service.read_holder(TIMEOUT) {
        Err(ServiceError::Removed) => {}
        other => panic!("expected Removed, got {other:?}"),
    }
    wait_for(&events, |event| matches!(event, CardEvent::Removed { .. }));
    assert_eq!(service.status().media, Media::NotPresent);
    assert!(matches!(
        service.read_holder(TIMEOUT),
        Err(ServiceError::NoCard)
    ));
    rig.card.insert();
    wait_for(&events, inserted);
    assert_eq!(
        service
            .read_holder(TIMEOUT)
            .expect("read after reinsertion")
            .holder,
        expected
    );
}

#[test]
fn removal_and_insertion_are_reported_and_a_swapped_card_is_read_afresh() {
    let _pcscd = pcscd();
    let first = holder(1, CardGeneration::Second);
    let second = holder(3, CardGeneration::Second);
    let rig = SimRig::start(&CardProfile::demo(first.clone()), false);
    let (service, events) = service(None);
    wait_for(&events, inserted);
    assert_eq!(
        service.read_holder(TIMEOUT).expect("first card").holder,
        first
    );
    rig.card.remove();
    wait_for(&events, |event| matches!(event, CardEvent::Removed { .. }));
    rig.card
        .replace_card(Box::new(sim::VirtualCard::new(&CardProfile::demo(
            second.clone(),
        ))));
    rig.card.insert();
    wait_for(&events, inserted);
    assert_eq!(
        service.read_holder(TIMEOUT).expect("second card").holder,
        second
    );
}

#[test]
fn no_matching_reader_is_no_device() {
    let _pcscd = pcscd();
    let (service, events) = service_for("Reader That Does Not Exist", None);
    wait_for(&events, |event| *event == CardEvent::ServiceUp);
    let deadline = Instant::now() + TIMEOUT;
    while service.status().device != DeviceStatus::NoDevice {
        assert!(
            Instant::now() < deadline,
            "status stayed {:?}",
            service.status()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(matches!(
        service.read_holder(TIMEOUT),
        Err(ServiceError::NoReader(_))
    ));
}

#[test]
fn pcscd_restart_reports_reader_gone_and_the_service_recovers() {
    let _pcscd = pcscd();
    let expected = holder(1, CardGeneration::Second);
    let _rig = SimRig::start(&CardProfile::demo(expected.clone()), false);
    let (service, events) = service(None);
    wait_for(&events, inserted);
    assert_eq!(
        service.read_holder(TIMEOUT).expect("before restart").holder,
        expected
    );

    stop_pcscd();
    let seen = wait_for(&events, |event| *event == CardEvent::ServiceDown);
    assert!(
        seen.contains(&CardEvent::Removed {
            reader: sim::SIM_CARD_READER.into()
        }),
        "{seen:?}"
    );
    assert!(
        seen.contains(&CardEvent::ReaderGone {
            reader: sim::SIM_CARD_READER.into()
        }),
        "{seen:?}"
    );
    assert_eq!(service.status().device, DeviceStatus::Offline);
    assert!(matches!(
        service.read_holder(TIMEOUT),
        Err(ServiceError::ServiceUnavailable)
    ));

    start_pcscd();
    let seen = wait_for(&events, inserted);
    assert!(seen.contains(&CardEvent::ServiceUp), "{seen:?}");
    assert_eq!(
        service.read_holder(TIMEOUT).expect("after restart").holder,
        expected
    );
    assert_eq!(service.status().device, DeviceStatus::Online);
}

#[test]
fn apdu_transcripts_through_pcscd() {
    let _pcscd = pcscd();
    let rig = SimRig::start(&CardProfile::demo(holder(0, CardGeneration::Third)), false);
    assert!(rig.card.wait_connected(true, TIMEOUT));
    let transport = connect_when_present();
    let mut session = CardSession::new(Recorder::new(transport));
    let mut sam = LocalTestSam::with_test_key();
    session.read_holder(Some(&mut sam)).expect("3rd-gen read");
    session
        .verify_pin(&Pin::new("999999").expect("pin"))
        .expect_err("wrong PIN");
    insta::assert_snapshot!(
        "third_generation_read_and_wrong_pin_via_pcscd",
        session.into_transport().transcript()
    );
}

fn connect_when_present() -> pcsc::PcscTransport {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match pcsc::connect_reader(sim::SIM_CARD_READER) {
            Ok(transport) => return transport,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => panic!("no card in the virtual reader: {error}"),
        }
    }
}

fn card_read_cli(extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
        .args(["card", "read", "--reader", "sim", "--wait", "10"])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .expect("run renshe-kiosk")
}

#[test]
fn card_read_cli_prints_masked_json_for_both_generations() {
    let _pcscd = pcscd();
    let second = holder(1, CardGeneration::Second);
    let rig = SimRig::start(&CardProfile::demo(second.clone()), true);
    let output = card_read_cli(&["--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(json["generation"], 2);
    assert_eq!(json["id_number"], second.id_number.masked());
    assert_eq!(json["name"], "李*");
    assert_eq!(json["apdus"], 15);

    let third = holder(0, CardGeneration::Third);
    rig.swap_card(&CardProfile::demo(third.clone()));
    let output = card_read_cli(&["--json"]);
    assert!(
        !output.status.success(),
        "a 3rd-gen card without --sam-reader must fail"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("authentication module"));
    let issuer: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("EF05 data as JSON");
    assert_eq!(issuer["error"], "needs_authentication_module");

    let output = card_read_cli(&["--json", "--sam-reader", "sim", "--unmasked"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(json["generation"], 3);
    assert_eq!(json["id_number"], third.id_number.as_str());
    assert_eq!(json["name"], "张晓芳");
}
