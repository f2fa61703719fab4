//! Self-healing with real parts: the receipt printer and the ID-card reader unplugged and
//! plugged back in (the simulator's pty dropped and a new one put behind the same path, as
//! udev's `/dev/serial/by-id` link follows a USB adapter), and the back end going down and
//! coming back (a real HTTP server on loopback, stopped and started again) — each without
//! restarting the adapter. The card reader after a pcscd restart: `tests/healing_pcscd.rs`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use renshe_kiosk::config::{Config, BUNDLED_DEMO_CONFIG};
use renshe_kiosk::core::receipt::{Receipt, ReceiptLabels};
use renshe_kiosk::core::{DeviceHealth, DeviceKind, Event, Ticket};
use renshe_kiosk::idcard::sim::{demo_id_cards, VirtualIdReader};
use renshe_kiosk::printer::sim::VirtualPrinter;
use renshe_kiosk::printer::Profiles;
use renshe_kiosk::shell::events::EventSink;
use tokio::sync::mpsc::UnboundedReceiver;

const WAIT: Duration = Duration::from_secs(20);

/// The demo configuration without `[demo]` (so devices may be real ports), its data in
/// `dir`, changed by `edit`.
fn config(dir: &Path, edit: impl FnOnce(String) -> String) -> Config {
    let text = BUNDLED_DEMO_CONFIG.replace(
        "directory = \"../target/kiosk-demo-data\"",
        &format!("directory = {:?}", dir.display().to_string()),
    );
    let start = text.find("# Demo mode starts").expect("[demo]");
    let end = text.find("# Every back-end service").expect("after [demo]");
    let text = edit(format!("{}{}", &text[..start], &text[end..]));
    Config::parse(&text, Path::new("healing.toml")).expect("configuration")
}

/// Waits for the first event `wanted` picks; the events before it are returned too.
fn wait_for<T>(
    events: &mut UnboundedReceiver<Event>,
    what: &str,
    mut wanted: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        match events.try_recv() {
            Ok(event) => {
                if let Some(found) = wanted(&event) {
                    return found;
                }
                seen.push(format!("{event:?}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
        assert!(Instant::now() < deadline, "no {what}; saw {seen:?}");
    }
}

fn health_of(kind: DeviceKind) -> impl FnMut(&Event) -> Option<DeviceHealth> {
    move |event| match event {
        Event::DeviceChanged(changed, health) if *changed == kind => Some(*health),
        _ => None,
    }
}

/// Waits until `kind` is reported `health` (other reports of it on the way are fine).
fn wait_health(events: &mut UnboundedReceiver<Event>, kind: DeviceKind, health: DeviceHealth) {
    let mut of = health_of(kind);
    wait_for(events, &format!("{kind:?} {health:?}"), |event| {
        of(event).filter(|seen| *seen == health)
    });
}

/// The udev link a USB serial adapter has, pointed at `target` (or removed).
fn link(path: &Path, target: Option<&str>) {
    let _ = std::fs::remove_file(path);
    if let Some(target) = target {
        std::os::unix::fs::symlink(target, path).expect("symlink");
    }
}

fn receipt() -> Receipt {
    Receipt {
        labels: ReceiptLabels {
            title: "重庆人社自助服务".into(),
            terminal: "终端编号".into(),
            location: "地点".into(),
            service: "业务".into(),
            time: "时间".into(),
            holder: "姓名".into(),
            id_number: "证件号码".into(),
            result: "结果".into(),
            reference: "流水号".into(),
            verify_hint: "微信扫码核验本凭证".into(),
            hotline: "咨询电话".into(),
        },
        terminal_id: "CQ-HEAL-0001".into(),
        location: "渝中区".into(),
        service: "服务网点".into(),
        time: "2026-12-01 09:00:00".into(),
        holder_masked: None,
        id_masked: None,
        result: None,
        reference: None,
        verify_url: None,
        extra_lines: Vec::new(),
    }
}

#[test]
fn the_receipt_printer_unplugged_and_plugged_back_in_prints_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = dir.path().join("ttyPRINTER");
    let profiles = Profiles::bundled().expect("profiles");
    let profile = profiles.get("generic-80").expect("generic-80");
    let first = VirtualPrinter::start(profile).expect("printer");
    link(&port, Some(first.path()));
    let config = config(dir.path(), |text| {
        text.replace(
            "[devices.printer]\nport = \"sim\"",
            &format!("[devices.printer]\nport = {:?}", port.display().to_string()),
        )
    });
    let (events, mut incoming) = EventSink::channel();
    let adapter = renshe_kiosk::shell::printer::PrinterAdapter::start(
        &config,
        events,
        std::sync::Arc::new(|_| {}),
        renshe_kiosk::metrics::Metrics::new(),
    )
    .expect("adapter");
    wait_health(&mut incoming, DeviceKind::Printer, DeviceHealth::Online);

    // Unplugged: the pty goes, and with it the link.
    drop(first);
    link(&port, None);
    wait_health(&mut incoming, DeviceKind::Printer, DeviceHealth::NoDevice);
    let gone = adapter.self_test();
    assert_eq!(
        gone.status,
        renshe_kiosk::selftest::Status::Failure,
        "{gone}"
    );

    // Plugged back in: another pty behind the same path.
    let second = VirtualPrinter::start(profile).expect("printer");
    link(&port, Some(second.path()));
    wait_health(&mut incoming, DeviceKind::Printer, DeviceHealth::Online);
    let ticket = Ticket {
        session: 1,
        flow: 1,
        step: 0,
    };
    adapter.print(ticket, receipt());
    let printed = wait_for(&mut incoming, "the receipt printed", |event| match event {
        Event::Printed { ticket: t, result } if *t == ticket => Some(*result),
        _ => None,
    });
    assert_eq!(printed, Ok(()));
    assert!(
        second
            .transcript()
            .iter()
            .any(|line| line.contains("CQ-HEAL-0001")),
        "{:?}",
        second.transcript()
    );
    assert_eq!(
        adapter.self_test().status,
        renshe_kiosk::selftest::Status::Ok
    );
}

#[test]
fn the_id_card_reader_unplugged_and_plugged_back_in_reads_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = dir.path().join("ttyIDCARD");
    let first = VirtualIdReader::start().expect("reader");
    link(&port, Some(first.path()));
    let reader = renshe_kiosk::config::IdCardReader {
        port: port.display().to_string(),
        baud: 115_200,
    };
    let (events, mut incoming) = EventSink::channel();
    let adapter = renshe_kiosk::shell::id_card::IdCardAdapter::start(&reader, events);
    wait_health(
        &mut incoming,
        DeviceKind::IdCardReader,
        DeviceHealth::Online,
    );

    drop(first);
    link(&port, None);
    let mut of = health_of(DeviceKind::IdCardReader);
    let down = wait_for(&mut incoming, "the reader reported down", |event| {
        of(event).filter(|health| *health != DeviceHealth::Online)
    });
    assert!(
        matches!(down, DeviceHealth::NoDevice | DeviceHealth::Offline),
        "{down:?}"
    );

    let second = VirtualIdReader::start().expect("reader");
    link(&port, Some(second.path()));
    wait_health(
        &mut incoming,
        DeviceKind::IdCardReader,
        DeviceHealth::Online,
    );
    second.place(demo_id_cards()[0].clone());
    let summary = wait_for(&mut incoming, "the card read", |event| match event {
        Event::IdCardRead(summary) => Some(summary.clone()),
        _ => None,
    });
    assert!(summary.masked_id.contains('*'), "masked: {summary:?}");
    assert!(
        adapter.claimant().is_some(),
        "the read is kept for the back end"
    );
}

/// [`wait_health`] with a longer wait.
fn wait_health_within(
    events: &mut UnboundedReceiver<Event>,
    kind: DeviceKind,
    health: DeviceHealth,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        match events.try_recv() {
            Ok(Event::DeviceChanged(changed, seen)) if changed == kind && seen == health => return,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
        assert!(
            Instant::now() < deadline,
            "no {kind:?} {health:?} within {within:?}"
        );
    }
}

fn serve(
    runtime: &tokio::runtime::Runtime,
    address: std::net::SocketAddr,
) -> renshe_kiosk::backend::sim::SimHandle {
    let deadline = Instant::now() + WAIT;
    loop {
        let options = renshe_kiosk::backend::sim::SimOptions {
            listen: address,
            ..Default::default()
        };
        match runtime.block_on(renshe_kiosk::backend::sim::start(options)) {
            Ok(server) => return server,
            // The old listener's port may linger a moment.
            Err(error) => {
                assert!(Instant::now() < deadline, "cannot listen again: {error}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn outbox(database: &Path) -> renshe_kiosk::store::outbox::OutboxCounts {
    let store = renshe_kiosk::store::Store::open_for_inspection(
        database,
        &renshe_kiosk::store::KeySource::BesideDatabase,
    )
    .expect("read-only beside the adapter");
    store.outbox_counts().expect("counts")
}

fn pending(database: &Path) -> u64 {
    outbox(database).pending
}

#[test]
fn the_back_end_down_then_up_drains_the_outbox_and_the_network_is_online_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // The back end is away when the kiosk starts: nothing listens on its address.
    let address: std::net::SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let config = config(dir.path(), |text| {
        // One failure opens a breaker, briefly: the test need not wait minutes.
        text.replace("http://127.0.0.1:18333", &format!("http://{address}"))
            .replace(
                "[backend]\nallow_plain_http = true\n",
                "[backend]\nallow_plain_http = true\n\n[backend.breaker]\nfailure_threshold = 1\nopen_ms = 500\n",
            )
    });
    renshe_kiosk::store::private_directory(&config.data.directory).expect("data dir");
    let store = config.open_store().expect("store");
    let database: PathBuf = config.database_path();
    let (events, mut incoming) = EventSink::channel();
    let _adapter = renshe_kiosk::shell::backend::BackendAdapter::start(
        &config,
        store,
        &runtime,
        events,
        std::sync::Arc::new(|| {}),
        renshe_kiosk::metrics::Metrics::new(),
    )
    .expect("adapter");
    // The first heartbeat fails: offline, and it waits in the outbox.
    wait_health(&mut incoming, DeviceKind::Network, DeviceHealth::Offline);
    assert!(pending(&database) > 0, "the heartbeat waits in the outbox");
    // It stays offline while the back end is away: an open breaker whose time ran out
    // (500 ms here) is not taken for the network being back, and each trial fails.
    std::thread::sleep(Duration::from_secs(6));
    let mut of = health_of(DeviceKind::Network);
    while let Ok(event) = incoming.try_recv() {
        assert_ne!(of(&event), Some(DeviceHealth::Online), "online while away");
    }
    assert!(pending(&database) > 0);

    // The back end comes up: a trial gets through, the outbox drains, online again.
    let server = serve(&runtime, address);
    wait_health(&mut incoming, DeviceKind::Network, DeviceHealth::Online);
    let deadline = Instant::now() + WAIT;
    while pending(&database) > 0 {
        assert!(Instant::now() < deadline, "the outbox did not drain");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Marked sent only on the back end's acknowledgement.
    assert!(
        outbox(&database).sent >= 1,
        "what waited reached the back end"
    );

    // Failing again and well again, still without a restart (the demo back end's fault
    // injection: every answer a 503): the next heartbeat (every 30 s) finds it failing,
    // the trial after it is fixed finds it well.
    server.set_faults(renshe_kiosk::backend::sim::FaultPlan {
        error_5xx: 1.0,
        ..Default::default()
    });
    wait_health_within(
        &mut incoming,
        DeviceKind::Network,
        DeviceHealth::Offline,
        Duration::from_secs(45),
    );
    server.set_faults(renshe_kiosk::backend::sim::FaultPlan::default());
    wait_health(&mut incoming, DeviceKind::Network, DeviceHealth::Online);
    drop(server);
}

#[test]
fn a_mute_reader_or_printer_is_reopened_and_what_now_answers_behind_the_path_is_used() {
    // The old device node stays open but answers nothing (a USB adapter gone half-dead);
    // the working one appears behind the same link. Both adapters reopen after silence.
    let dir = tempfile::tempdir().expect("tempdir");
    let id_port = dir.path().join("ttyIDCARD");
    let mute_reader = VirtualIdReader::start().expect("reader");
    link(&id_port, Some(mute_reader.path()));
    let reader = renshe_kiosk::config::IdCardReader {
        port: id_port.display().to_string(),
        baud: 115_200,
    };
    let (events, mut incoming) = EventSink::channel();
    let _id_adapter = renshe_kiosk::shell::id_card::IdCardAdapter::start(&reader, events);
    wait_health(
        &mut incoming,
        DeviceKind::IdCardReader,
        DeviceHealth::Online,
    );
    mute_reader.set_fault(Some(renshe_kiosk::idcard::sim::Fault::Silent));
    wait_health(
        &mut incoming,
        DeviceKind::IdCardReader,
        DeviceHealth::Offline,
    );
    let working_reader = VirtualIdReader::start().expect("reader");
    link(&id_port, Some(working_reader.path()));
    wait_health(
        &mut incoming,
        DeviceKind::IdCardReader,
        DeviceHealth::Online,
    );

    let printer_port = dir.path().join("ttyPRINTER");
    let profiles = Profiles::bundled().expect("profiles");
    let profile = profiles.get("generic-80").expect("generic-80");
    let mute_printer = VirtualPrinter::start(profile).expect("printer");
    link(&printer_port, Some(mute_printer.path()));
    let config = config(dir.path(), |text| {
        text.replace(
            "[devices.printer]\nport = \"sim\"",
            &format!(
                "[devices.printer]\nport = {:?}",
                printer_port.display().to_string()
            ),
        )
    });
    let (events, mut incoming) = EventSink::channel();
    let _printer_adapter = renshe_kiosk::shell::printer::PrinterAdapter::start(
        &config,
        events,
        std::sync::Arc::new(|_| {}),
        renshe_kiosk::metrics::Metrics::new(),
    )
    .expect("adapter");
    wait_health(&mut incoming, DeviceKind::Printer, DeviceHealth::Online);
    mute_printer.set_condition(renshe_kiosk::printer::SimCondition::Silent);
    wait_health(&mut incoming, DeviceKind::Printer, DeviceHealth::NoDevice);
    let working_printer = VirtualPrinter::start(profile).expect("printer");
    link(&printer_port, Some(working_printer.path()));
    wait_health(&mut incoming, DeviceKind::Printer, DeviceHealth::Online);
}
