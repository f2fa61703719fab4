//! The card reader after pcscd restarts, without restarting the kiosk's adapter — against a
//! private pcscd, never the machine's (others use it): its own socket
//! (`PCSCLITE_CSOCK_NAME`, honoured by pcscd and libpcsclite alike), its own vpcd port
//! (`pcscd -c` with a reader.conf.d of its own), and its own `/run/pcscd` for the pid file,
//! bind-mounted in a mount namespace of its own (`unshare -m`, as root), so the machine's
//! pcscd and its pid file are never touched.
//!
//! One test in this binary: libpcsclite reads `PCSCLITE_CSOCK_NAME` once per process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use renshe_kiosk::card::sim::{demo_residents, CardProfile, SimSlot, VirtualCard};
use renshe_kiosk::core::{DeviceHealth, DeviceKind, Event};
use renshe_kiosk::shell::card::CardReaderAdapter;
use renshe_kiosk::shell::events::EventSink;
use tokio::sync::mpsc::UnboundedReceiver;

const WAIT: Duration = Duration::from_secs(20);

/// A pcscd of this test's own; stopped (SIGTERM, by its pid) when dropped.
struct PrivatePcscd {
    child: Child,
}

impl PrivatePcscd {
    fn start(dir: &Path) -> PrivatePcscd {
        let run = dir.join("run");
        let socket = run.join("pcscd.comm");
        let script = format!(
            "mkdir -p /run/pcscd && mount --bind {run} /run/pcscd && exec pcscd -f -c {conf}",
            run = run.display(),
            conf = dir.join("reader.conf.d").display(),
        );
        let child = Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare (util-linux) and pcscd");
        let pcscd = PrivatePcscd { child };
        let deadline = Instant::now() + WAIT;
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private pcscd did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pcscd
    }

    /// SIGTERM, as `systemctl restart pcscd` sends, and wait for it to end.
    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
    }
}

impl Drop for PrivatePcscd {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// A free pair of loopback ports for the private vpcd's two slots.
fn vpcd_port() -> u16 {
    (40_000..60_000)
        .step_by(2)
        .find(|port| {
            std::net::TcpListener::bind(("0.0.0.0", *port)).is_ok()
                && std::net::TcpListener::bind(("0.0.0.0", *port + 1)).is_ok()
        })
        .expect("two free ports")
}

fn wait_for<T>(
    events: &mut UnboundedReceiver<Event>,
    what: &str,
    mut wanted: impl FnMut(&Event) -> Option<T>,
) -> (T, Vec<Event>) {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        match events.try_recv() {
            Ok(event) => {
                if let Some(found) = wanted(&event) {
                    return (found, seen);
                }
                seen.push(event);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
        assert!(Instant::now() < deadline, "no {what}; saw {seen:?}");
    }
}

fn reader_health(event: &Event) -> Option<DeviceHealth> {
    match event {
        Event::DeviceChanged(DeviceKind::CardReader, health) => Some(*health),
        _ => None,
    }
}

fn identified(event: &Event) -> Option<()> {
    matches!(event, Event::CardIdentified(_)).then_some(())
}

#[test]
fn the_card_reader_comes_back_after_pcscd_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf: PathBuf = dir.path().join("reader.conf.d");
    std::fs::create_dir_all(&conf).expect("conf dir");
    std::fs::create_dir_all(dir.path().join("run")).expect("run dir");
    let port = vpcd_port();
    std::fs::write(
        conf.join("vpcd"),
        format!(
            "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x{port:04X}\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x{port:04X}\n"
        ),
    )
    .expect("vpcd conf");
    // Before any PC/SC call of this process (libpcsclite reads it once).
    std::env::set_var("PCSCLITE_CSOCK_NAME", dir.path().join("run/pcscd.comm"));

    let pcscd = PrivatePcscd::start(dir.path());
    let holder = demo_residents()
        .into_iter()
        .nth(1)
        .expect("a 2nd-generation demo card");
    let _card = SimSlot::start(
        port,
        Box::new(VirtualCard::new(&CardProfile::demo(holder))),
        true,
    );
    let (events, mut incoming) = EventSink::channel();
    let config = renshe_kiosk::config::CardReader {
        reader: "Virtual PCD 00 00".into(),
        sam_reader: "none".into(),
    };
    let adapter = CardReaderAdapter::start(&config, events);
    wait_for(&mut incoming, "the reader online", |event| {
        reader_health(event).filter(|h| *h == DeviceHealth::Online)
    });
    wait_for(&mut incoming, "the card read", identified);
    assert!(adapter.holder().is_some());

    // pcscd restarts: the reader goes, the card with it, then both come back on their own.
    pcscd.stop();
    let (_, before) = wait_for(&mut incoming, "the reader offline", |event| {
        reader_health(event).filter(|h| *h == DeviceHealth::Offline)
    });
    assert!(
        before
            .iter()
            .any(|event| matches!(event, Event::CardRemoved)),
        "{before:?}"
    );
    assert!(adapter.holder().is_none(), "the card's holder is forgotten");
    let pcscd = PrivatePcscd::start(dir.path());
    let (_, on_the_way) = wait_for(&mut incoming, "the reader online again", |event| {
        reader_health(event).filter(|h| *h == DeviceHealth::Online)
    });
    // pcscd answering alone is no reader (no device), the reader listed again is online.
    assert_eq!(
        on_the_way
            .iter()
            .filter_map(reader_health)
            .collect::<Vec<_>>(),
        [DeviceHealth::NoDevice],
        "{on_the_way:?}"
    );
    wait_for(&mut incoming, "the card read again", identified);
    assert!(adapter.holder().is_some(), "read again without a restart");

    // A reader that is not there is no device, even with pcscd up.
    let (events, mut other) = EventSink::channel();
    let _absent = CardReaderAdapter::start(
        &renshe_kiosk::config::CardReader {
            reader: "No Such Reader".into(),
            sam_reader: "none".into(),
        },
        events,
    );
    let (first, _) = wait_for(&mut other, "the absent reader's state", reader_health);
    assert_eq!(first, DeviceHealth::NoDevice);
    std::thread::sleep(Duration::from_millis(800));
    while let Ok(event) = other.try_recv() {
        assert_ne!(reader_health(&event), Some(DeviceHealth::Online));
    }
    pcscd.stop();
}
