//! Proofs end to end below the window: the back-end adapter asks the demo back end (real
//! HTTP, a real SQLite journal) to issue a proof, the A4 adapter prints it on a cups-pdf
//! queue of the tests' private cupsd (`./dev cupsd`, 127.0.0.1:8631), and CUPS says the job
//! completed. The PDF checked is the one the adapter submitted (its test hook): cups-pdf's
//! re-rendered file loses the CJK text for pdftotext (see crates/cups/tests/cupsd.rs).
//! A disabled queue refuses, and the session greys the tile or offers the receipt copy.
//!
//! Not the whole kiosk with pcscd + vpcd (tests/card_services.rs): the card and PIN part of
//! the proof flow is the core's, unit-tested in crates/core/src/flows/proof.rs.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use renshe_cups::A4PrinterSpec;
use renshe_kiosk::card::sim::demo_residents;
use renshe_kiosk::config::{Config, BUNDLED_DEMO_CONFIG};
use renshe_kiosk::core::{
    Blocker, DeviceHealth, DeviceKind, Event, Language, PrintProblem, ProofAnswer, ProofKind,
    Request, ServiceId, Session, SessionSettings, Ticket,
};
use renshe_kiosk::shell::a4::A4Adapter;
use renshe_kiosk::shell::backend::BackendAdapter;
use renshe_kiosk::shell::events::EventSink;
use renshe_kiosk::store::Store;

const PPD: &str = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd";
const QUEUE: &str = "RENSHE_PROOF_TEST";

/// host:port of the tests' cupsd, started by `./dev cupsd` (the one place that knows how).
fn cups_host() -> String {
    let dev = Path::new(env!("CARGO_MANIFEST_DIR")).join("dev");
    let out = Command::new(&dev)
        .arg("cupsd")
        .output()
        .expect("run ./dev cupsd");
    assert!(
        out.status.success(),
        "the tests' cupsd did not start:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .env("LANG", "C")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The demo configuration with its own data directory and a port of its own.
fn config(dir: &tempfile::TempDir) -> Config {
    let port = 21_000 + (std::process::id() % 9_000) as u16;
    let text = BUNDLED_DEMO_CONFIG
        .replace("127.0.0.1:18333", &format!("127.0.0.1:{port}"))
        .replace(
            "directory = \"../target/kiosk-demo-data\"",
            &format!("directory = {:?}", dir.path().display().to_string()),
        );
    Config::parse(&text, Path::new("demo.toml")).expect("demo config")
}

fn wait_for<T>(
    incoming: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    within: Duration,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match incoming.try_recv() {
            Ok(event) => {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    panic!("nothing came within {within:?}");
}

fn pdftotext(pdf: &[u8]) -> String {
    let mut child = Command::new("pdftotext")
        .args(["-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("pdftotext (poppler-utils)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(pdf)
        .expect("write");
    let out = child.wait_with_output().expect("pdftotext");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `GET /verify/{code}` at the demo back end: whether it confirms the code.
fn verified(config: &Config, code: &str) -> bool {
    let answer = support::demo_http(config, "GET", &format!("/verify/{code}"), None);
    answer.starts_with("HTTP/1.1 200") && answer.contains("\"valid\":true")
}

fn ticket(flow: u32, step: u32) -> Ticket {
    Ticket {
        session: 0,
        flow,
        step,
    }
}

#[test]
fn proofs_are_issued_printed_on_cups_and_refused_by_a_stopped_queue() {
    let host = cups_host();
    run(
        "lpadmin",
        &[
            "-h",
            &host,
            "-p",
            QUEUE,
            "-E",
            "-v",
            "cups-pdf:/",
            "-P",
            PPD,
        ],
    );
    run("cupsenable", &["-h", &host, QUEUE]);
    run("cupsaccept", &["-h", &host, QUEUE]);

    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = Store::open(&config.database_path()).expect("store");
    let (events, mut incoming) = EventSink::channel();
    let backend = BackendAdapter::start(
        &config,
        store,
        &runtime,
        events.clone(),
        std::sync::Arc::new(|| {}),
        renshe_kiosk::metrics::Metrics::new(),
    )
    .expect("backend");
    let spec = A4PrinterSpec::parse(QUEUE).expect("queue name");
    let a4 = A4Adapter::start(spec, &host, events, Arc::new(|_| {}));
    let submitted: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let keep = submitted.clone();
    a4.on_submitted(Arc::new(move |pdf: &[u8]| {
        if let Ok(mut all) = keep.lock() {
            all.push(pdf.to_vec());
        }
    }));
    // The poll's first word: the queue is ready.
    let first = wait_for(&mut incoming, Duration::from_secs(15), |e| match e {
        Event::A4PrinterChanged(status) => Some(status),
        _ => None,
    });
    assert_eq!(first.health, DeviceHealth::Online, "{first:?}");

    let holder = demo_residents().remove(0);
    let translator = renshe_kiosk::i18n::Translator::new().expect("locales");
    let full_id = holder.id_number.as_str().to_string();
    let name = holder.name.clone();
    for (flow, kind, years) in [
        (1, ProofKind::Enrollment, Vec::new()),
        (2, ProofKind::Contributions, Vec::new()),
    ] {
        // Contributions for the three latest years the demo back end has for this resident.
        let years = if kind == ProofKind::Contributions {
            let residents = renshe_kiosk::backend::sim::demo_residents_with(
                &renshe_kiosk::shell::backend::demo_known_people(),
            );
            let mut all: Vec<i32> = residents[0]
                .contributions
                .iter()
                .filter_map(|m| m.month.get(..4)?.parse().ok())
                .collect();
            all.sort_unstable();
            all.dedup();
            all.split_off(all.len().saturating_sub(3))
        } else {
            years
        };
        backend.fetch(
            ticket(flow, 0),
            Request::Proof {
                kind,
                years: years.clone(),
            },
            (&holder).into(),
        );
        let answer: Box<ProofAnswer> =
            wait_for(&mut incoming, Duration::from_secs(15), |e| match e {
                Event::ProofAnswered { ticket: t, result } if t == ticket(flow, 0) => {
                    Some(result.expect("the demo back end issues the proof"))
                }
                _ => None,
            });
        assert_eq!(answer.kind, kind);
        assert!(answer.rows() > 0 && answer.pages >= 1, "{answer:?}");
        assert!(answer.seal_png.is_some(), "the demo seal comes with it");
        assert!(
            verified(&config, &answer.verification_code),
            "the back end confirms the code it issued"
        );
        if kind == ProofKind::Contributions {
            let got: Vec<i32> = answer.years.iter().map(|y| y.year).collect();
            assert_eq!(got, years, "the chosen years, oldest first");
        }
        let proof = renshe_kiosk::shell::a4::proof_of(&answer, Language::ZhCn, |key| {
            translator.tr(Language::ZhCn, key)
        });
        a4.print(ticket(flow, 1), proof);
        let printed = wait_for(&mut incoming, Duration::from_secs(120), |e| match e {
            Event::Printed { ticket: t, result } if t == ticket(flow, 1) => Some(result),
            _ => None,
        });
        assert_eq!(printed, Ok(()), "CUPS completed the job");
        let pdf = submitted
            .lock()
            .expect("hook")
            .pop()
            .expect("a PDF was submitted");
        let text = pdftotext(&pdf);
        assert!(
            text.contains(&answer.masked_name),
            "masked name on the proof"
        );
        assert!(
            text.contains(&answer.verification_code),
            "the code on the proof"
        );
        assert!(!text.contains(&full_id), "never the full ID number");
        assert!(!text.contains(&name), "never the full name");
        let no_spaces: String = text.split_whitespace().collect();
        assert!(!no_spaces.contains(&full_id));
    }

    // A stopped queue: the adapter says it refuses, the print is refused before Print-Job.
    run("cupsdisable", &["-h", &host, QUEUE]);
    let uri = A4PrinterSpec::parse(QUEUE)
        .expect("queue")
        .queue_uri_on(&host)
        .expect("uri");
    let stopped = renshe_kiosk::shell::a4::status_of(&uri);
    assert_eq!(stopped.health, DeviceHealth::HardwareError, "{stopped:?}");
    let refused_at = wait_for(&mut incoming, Duration::from_secs(15), |e| match e {
        Event::A4PrinterChanged(status) if status.health != DeviceHealth::Online => Some(status),
        _ => None,
    });
    run("cupsenable", &["-h", &host, QUEUE]);

    // What the session makes of it: with the receipt printer down too, the tile is greyed
    // before the service starts; with it up, the service starts and offers the receipt copy.
    let mut session = Session::new(
        SessionSettings {
            default_language: Language::ZhCn,
            offered_languages: Language::ALL.to_vec(),
            elderly_by_default: false,
            idle_timeout: renshe_kiosk::core::Millis::from_secs(60),
            idle_warning: renshe_kiosk::core::Millis::from_secs(30),
            keypad_seed: 1,
            voice_always: false,
        },
        renshe_kiosk::core::Millis(0),
    );
    let now = renshe_kiosk::core::Millis(0);
    for kind in [DeviceKind::CardReader, DeviceKind::Network] {
        session.handle(Event::DeviceChanged(kind, DeviceHealth::Online), now);
    }
    session.handle(Event::A4PrinterChanged(refused_at), now);
    session.handle(
        Event::DeviceChanged(DeviceKind::Printer, DeviceHealth::Offline),
        now,
    );
    assert_eq!(
        session.view().blocker(ServiceId::ProofPrint),
        Some(Blocker::A4Printer(Some(PrintProblem::Offline)))
    );
    session.handle(
        Event::DeviceChanged(DeviceKind::Printer, DeviceHealth::Online),
        now,
    );
    assert_eq!(session.view().blocker(ServiceId::ProofPrint), None);
}
