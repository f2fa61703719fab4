//! `renshe-kiosk diag` against real parts: pcscd + vpcd with the demo tray's PSAM, the
//! virtual printer and ID-card reader on ptys, the demo back end on loopback, a real SQLite
//! file. All good on the demo configuration; then each failure named with its fix.
//!
//! The runs take turns (one lock): each starts the demo tray, and vpcd has one slot each.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use renshe_kiosk::config::BUNDLED_DEMO_CONFIG;
use renshe_kiosk::printer::sim::{SimCondition, VirtualPrinter};
use renshe_kiosk::printer::Profiles;

const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";

static TURN: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    let guard = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    ensure_pcscd();
    guard
}

/// The machine's pcscd, started if it is not running (it is never stopped here).
fn ensure_pcscd() {
    if std::os::unix::net::UnixStream::connect(PCSCD_SOCKET).is_ok() {
        return;
    }
    let started = Command::new("sh")
        .args(["-c", "pcscd -f -a </dev/null >/dev/null 2>&1 &"])
        .status()
        .expect("sh");
    assert!(started.success(), "could not start pcscd");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(PCSCD_SOCKET).is_err() {
        assert!(Instant::now() < deadline, "pcscd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free loopback port (nothing listens on it once this returns).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// The demo configuration written into `dir`, with its own data directory and demo back-end
/// port, changed by `edit`.
fn demo_config(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    let port = free_port();
    let text = edit(
        BUNDLED_DEMO_CONFIG
            .replace("127.0.0.1:18333", &format!("127.0.0.1:{port}"))
            .replace(
                "directory = \"../target/kiosk-demo-data\"",
                &format!("directory = {:?}", dir.join("data").display().to_string()),
            ),
    );
    let path = dir.join("terminal.toml");
    std::fs::write(&path, text).expect("write the configuration");
    path
}

/// The demo configuration without `[demo]`: devices may then be real ports, and the routes
/// go to `backend` (a demo back end this test runs).
fn terminal_config(dir: &Path, backend: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    demo_config(dir, |text| {
        let start = text.find("# Demo mode starts").expect("the [demo] section");
        let end = text.find("# Every back-end service").expect("after [demo]");
        let mut text = format!("{}{}", &text[..start], &text[end..]);
        let demo_url = text
            .split("endpoints = [\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("an endpoint")
            .to_owned();
        text = text.replace(&demo_url, backend);
        edit(text)
    })
}

fn diag(config: &Path, envs: &[(&str, &str)]) -> (Output, serde_json::Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
        .arg("--config")
        .arg(config)
        .args(["diag", "--json"])
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run diag");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "diag printed no JSON ({error}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, report)
}

fn human(config: &Path, envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
        .arg("--config")
        .arg(config)
        .arg("diag")
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run diag");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn checks_of<'r>(report: &'r serde_json::Value, part: &str) -> Vec<&'r serde_json::Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|check| check["part"] == part)
        .collect()
}

fn only(report: &serde_json::Value, part: &str) -> serde_json::Value {
    let found = checks_of(report, part);
    assert_eq!(found.len(), 1, "one {part} check in {report:#}");
    found[0].clone()
}

/// Every check but those of `except` is ok.
fn all_ok_but(report: &serde_json::Value, except: &[&str]) {
    for check in report["checks"].as_array().expect("checks") {
        let part = check["part"].as_str().unwrap_or_default();
        if !except.contains(&part) {
            assert_eq!(check["status"], "ok", "{check:#}");
        }
    }
}

/// A demo back end on a free loopback port for the tests whose configuration has no
/// `[demo]`; runs until the runtime is dropped.
fn demo_backend() -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let handle = runtime
        .block_on(renshe_kiosk::backend::sim::start(
            renshe_kiosk::backend::sim::SimOptions::default(),
        ))
        .expect("the demo back end starts");
    let url = handle.url().to_owned();
    std::mem::forget(handle);
    (runtime, url)
}

#[test]
fn on_the_demo_configuration_everything_is_ok_and_diag_exits_0() {
    let _turn = turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = demo_config(dir.path(), |text| text);
    let (output, report) = diag(&config, &[]);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    assert_eq!(report["schema"], 1);
    assert_eq!(report["terminal"], "CQ-DEMO-0001");
    assert_eq!(report["counts"]["failure"], 0, "{report:#}");
    // A machine without a sound card (CI's) has voice guidance as a warning: the demo kiosk
    // goes on silent there. Everything else is ok.
    all_ok_but(&report, &["voice"]);
    assert_ne!(only(&report, "voice")["status"], "failure");
    for part in [
        "card-reader",
        "psam",
        "id-card-reader",
        "receipt-printer",
        "a4-printer",
        "camera",
        "disk",
        "clock",
    ] {
        assert_eq!(checks_of(&report, part).len(), 1, "{part} in {report:#}");
    }
    assert_eq!(only(&report, "card-reader")["target"], "Virtual PCD 00 00");
    assert!(only(&report, "psam")["detail"]
        .as_str()
        .is_some_and(|d| d.starts_with("in and answering (ATR ")));
    assert!(only(&report, "receipt-printer")["target"]
        .as_str()
        .is_some_and(|t| t.starts_with("sim (/dev/pts/")));
    let routes = checks_of(&report, "backend-route");
    assert_eq!(routes.len(), 8, "every route probed");
    assert!(routes
        .iter()
        .all(|route| route["figures"]["latency_ms"].as_i64().is_some()));
    // Before the first start there is no database: nothing was created by looking.
    assert!(!dir.path().join("data").exists());

    // After a start (the database, its key and lock made by the kiosk's store), the records
    // are looked at too.
    renshe_kiosk::store::private_directory(&dir.path().join("data")).expect("data dir");
    drop(
        renshe_kiosk::store::Store::open(&dir.path().join("data/kiosk.db"))
            .expect("the kiosk's database"),
    );
    let (output, report) = diag(&config, &[]);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    all_ok_but(&report, &["voice"]);
    let records = checks_of(&report, "records");
    assert_eq!(
        records.len(),
        6,
        "file modes and five journal checks: {report:#}"
    );
    assert!(records.iter().any(|check| check["detail"]
        .as_str()
        .is_some_and(|d| d.contains("chain verifies"))));

    // The human form: one line per check, and no resident's data anywhere.
    let (code, text) = human(&config, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        text.lines().count(),
        report["checks"].as_array().map_or(0, Vec::len) + 1,
        "{text}"
    );
    assert!(!text.contains("FAIL"), "{text}");
    for resident in renshe_kiosk::card::sim::demo_residents() {
        assert!(!text.contains(&resident.name) && !text.contains(resident.id_number.as_str()));
    }
}

#[test]
fn a_printer_port_that_does_not_exist_is_named_with_its_fix() {
    let _turn = turn();
    let (_backend, url) = demo_backend();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = terminal_config(dir.path(), &url, |text| {
        text.replace(
            "[devices.printer]\nport = \"sim\"",
            "[devices.printer]\nport = \"/dev/ttyDIAG-missing\"",
        )
    });
    let (output, report) = diag(&config, &[]);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    assert_eq!(report["status"], "failure");
    let printer = only(&report, "receipt-printer");
    assert_eq!(printer["target"], "/dev/ttyDIAG-missing");
    assert_eq!(printer["status"], "failure");
    assert_eq!(printer["detail"], "the port does not exist");
    assert!(printer["fix"]
        .as_str()
        .is_some_and(|fix| fix.contains("devices.printer.port")));
    all_ok_but(&report, &["voice", "receipt-printer"]);
    let (code, text) = human(&config, &[]);
    assert_eq!(code, Some(1));
    assert!(
        text.lines().next().is_some_and(|line| line.starts_with(
            "FAIL  printer on /dev/ttyDIAG-missing: the port does not exist — check the cable"
        )),
        "failures first:\n{text}"
    );
}

#[test]
fn paper_out_fails_and_paper_near_its_end_only_warns() {
    let _turn = turn();
    let (_backend, url) = demo_backend();
    let profiles = Profiles::bundled().expect("profiles");
    let printer =
        VirtualPrinter::start(profiles.get("generic-80").expect("generic-80")).expect("printer");
    printer.set_condition(SimCondition::PaperOut);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = printer.path().to_owned();
    let config = terminal_config(dir.path(), &url, |text| {
        text.replace(
            "[devices.printer]\nport = \"sim\"",
            &format!("[devices.printer]\nport = {port:?}"),
        )
    });
    let (code, text) = human(&config, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!("FAIL  printer on {port}: paper out — load a roll")),
        "{text}"
    );

    printer.set_condition(SimCondition::CoverOpen);
    let (code, text) = human(&config, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "printer on {port}: cover open — close the printer's cover"
        )),
        "{text}"
    );

    // Only warnings: exit 0.
    printer.set_condition(SimCondition::NearEnd);
    let (output, report) = diag(&config, &[]);
    let check = only(&report, "receipt-printer");
    assert_eq!(check["status"], "warning", "{report:#}");
    assert_eq!(check["detail"], "paper near its end");
    assert_eq!(check["fix"], "load a new roll soon");
    assert_eq!(report["counts"]["failure"], 0, "{report:#}");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn pcscd_not_running_is_named_for_the_reader_and_the_psam() {
    let _turn = turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = demo_config(dir.path(), |text| text);
    let stopped = [("PCSCLITE_CSOCK_NAME", "/tmp/nonexistent.comm")];
    let (output, report) = diag(&config, &stopped);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    for part in ["card-reader", "psam"] {
        let check = only(&report, part);
        assert_eq!(check["status"], "failure");
        assert_eq!(check["detail"], "pcscd is not running");
        assert_eq!(check["fix"], "systemctl start pcscd");
    }
    all_ok_but(&report, &["voice", "card-reader", "psam"]);
    let (_, text) = human(&config, &stopped);
    assert!(
        text.contains("FAIL  card reader: pcscd is not running — systemctl start pcscd"),
        "{text}"
    );
}

#[test]
fn a_route_to_a_closed_port_is_unreachable_and_the_others_are_not() {
    let _turn = turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = free_port();
    let config = demo_config(dir.path(), |text| {
        let route = "[backend.routes.insurance]\nendpoints = [\"";
        let at = text.find(route).expect("the insurance route") + route.len();
        let end = at + text[at..].find('"').expect("its endpoint");
        format!("{}http://127.0.0.1:{closed}{}", &text[..at], &text[end..])
    });
    let (output, report) = diag(&config, &[]);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    let routes = checks_of(&report, "backend-route");
    let insurance = routes
        .iter()
        .find(|route| route["target"] == "insurance")
        .expect("the insurance route");
    assert_eq!(insurance["status"], "failure");
    assert_eq!(insurance["detail"], "unreachable (connection refused)");
    assert_eq!(insurance["fix"], "check the network / VPN");
    assert_eq!(
        routes
            .iter()
            .filter(|route| route["status"] == "ok")
            .count(),
        7,
        "{report:#}"
    );
    let (_, text) = human(&config, &[]);
    assert!(
        text.contains(
            "FAIL  route \"insurance\": unreachable (connection refused) — check the network / VPN"
        ),
        "{text}"
    );
}

#[test]
fn beside_a_running_kiosk_the_records_are_read_and_its_ports_left_alone() {
    let _turn = turn();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = demo_config(dir.path(), |text| text);
    renshe_kiosk::store::private_directory(&dir.path().join("data")).expect("data dir");
    // This process holds the records' writer lock, as the running kiosk does.
    let _kiosk = renshe_kiosk::store::Store::open(&dir.path().join("data/kiosk.db"))
        .expect("the kiosk's database");
    let pid = std::process::id().to_string();
    let (_, report) = diag(&config, &[]);
    let records = checks_of(&report, "records");
    assert!(
        records.iter().any(|check| check["status"] == "ok"
            && check["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("in use by the running kiosk (pid {pid})")))),
        "{report:#}"
    );
    assert!(
        records.iter().all(|check| check["status"] == "ok"),
        "{report:#}"
    );
    for part in ["receipt-printer", "id-card-reader"] {
        let check = only(&report, part);
        assert_eq!(check["status"], "ok");
        assert!(check["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("in use by the running kiosk")));
    }
}
