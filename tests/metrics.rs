//! The fleet's view of a kiosk, end to end: the whole demo kiosk on Slint's testing backend
//! (pcscd + vpcd cards, the demo back end on loopback, the virtual printer on a pty), its
//! metrics endpoint scraped over real HTTP and read by an independent, strict OpenMetrics
//! parser (python3-prometheus-client's), `/health` as the post-upgrade gate reads it, and
//! heartbeats as the demo back end receives them — sent at once when the mode changes.

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use renshe_kiosk::metrics::TerminalMode;
use renshe_kiosk::ui::{PrintStep, QueryAdapter, QueryStep};
use slint::ComponentHandle;
use support::{demo_http, Rig};

/// One GET: the status code and the body.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the endpoint");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}

/// The scrape as the OpenMetrics parser reads it: one `[name, labels, value]` per sample.
/// The parser refuses anything that is not valid OpenMetrics (and the test with it).
fn parse_openmetrics(text: &str) -> Vec<(String, serde_json::Value, f64)> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps(samples))
"#;
    // Debian's interpreter, where python3-prometheus-client is installed.
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (./dev setup installs python3-prometheus-client)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed the parser");
    let output = child.wait_with_output().expect("the parser ran");
    assert!(
        output.status.success(),
        "not valid OpenMetrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples: Vec<(String, serde_json::Value, f64)> =
        serde_json::from_slice(&output.stdout).expect("the parser's JSON");
    samples
}

/// The value of the sample `name` whose labels include every pair of `labels`.
fn value(samples: &[(String, serde_json::Value, f64)], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|(sample, sample_labels, _)| {
            sample == name
                && labels
                    .iter()
                    .all(|(key, want)| sample_labels[*key].as_str() == Some(*want))
        })
        .map(|(_, _, value)| *value)
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

/// The demo back end's latest heartbeat from the demo terminal, and how many it received.
fn heartbeat(config: &renshe_kiosk::config::Config) -> Option<(u64, serde_json::Value)> {
    let answer = demo_http(config, "GET", "/admin/heartbeats", None);
    let body = answer.split("\r\n\r\n").nth(1)?;
    let seen: serde_json::Value = serde_json::from_str(body).ok()?;
    let terminal = &seen[config.terminal.id.as_str()];
    Some((terminal["received"].as_u64()?, terminal["status"].clone()))
}

fn wait_for_heartbeat(
    config: &renshe_kiosk::config::Config,
    what: &str,
    done: impl Fn(u64, &serde_json::Value) -> bool,
) -> (u64, serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some((received, status)) = heartbeat(config) {
            if done(received, &status) {
                return (received, status);
            }
        }
        assert!(Instant::now() < deadline, "no heartbeat with {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_kiosk_reports_its_sessions_transactions_devices_and_mode() {
    let (mut rig, config, _dir) = Rig::start();
    let server = renshe_kiosk::metrics::server::start(
        "127.0.0.1:0".parse().expect("address"),
        rig.kiosk.metrics.clone(),
        &tokio::runtime::Handle::current(),
    )
    .expect("the endpoint listens");
    let address = server.address();

    // A resident: card, PIN, a query, its receipt, card out.
    rig.insert(0);
    rig.tap("缴费记录");
    rig.type_pin("123456");
    rig.until("the records", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::Answered
    });
    rig.tap("打印凭证");
    rig.until("the receipt", |app| {
        app.global::<QueryAdapter>().get_print_step() == PrintStep::Printed
    });
    rig.take_out();
    // Another who walks away with the card in: the idle warning runs out.
    rig.insert(1);
    rig.advance(u64::from(config.idle.timeout_seconds + config.idle.warning_seconds) + 1);
    assert_eq!(rig.app.get_page(), renshe_kiosk::ui::PageId::Attract);
    rig.kiosk.card_reader.demo_take_out();
    rig.until("the card to be gone", |app| {
        app.get_holder_name().is_empty()
    });

    // The heartbeat says what the session saw, in XFS4IoT's words: the first one went out
    // while the devices were starting, the next at once when they reported.
    let (received, status) = wait_for_heartbeat(&config, "the devices online", |_, status| {
        status["card_reader"] == "online" && status["printer"] == "online"
    });
    assert_eq!(status["paper"], "full", "{status}");
    assert_eq!(status["mode"], "in_service");
    assert_eq!(status["version"], renshe_kiosk::VERSION);

    let (code, text) = get(address, "/metrics");
    assert_eq!(code, 200);
    let samples = parse_openmetrics(&text);
    let ended = |by: &str| {
        value(
            &samples,
            "kiosk_sessions_ended_total",
            &[("ended_by", by), ("farewell", "none")],
        )
    };
    assert_eq!(ended("card_removed"), 1.0, "{text}");
    assert_eq!(ended("idle"), 1.0);
    assert!(
        value(
            &samples,
            "kiosk_transactions_total",
            &[("operation", "query_contributions"), ("outcome", "applied")]
        ) >= 1.0
    );
    assert!(
        value(
            &samples,
            "kiosk_backend_request_duration_seconds_count",
            &[("route", "insurance")]
        ) >= 1.0
    );
    for (device, state) in [
        ("card_reader", "online"),
        ("printer", "online"),
        ("network", "online"),
    ] {
        let labels = [("device", device), ("state", state)];
        assert_eq!(
            value(&samples, "kiosk_device_state", &labels),
            1.0,
            "{device}"
        );
        let starting = [("device", device), ("state", "starting")];
        assert_eq!(value(&samples, "kiosk_device_state", &starting), 0.0);
    }
    assert_eq!(
        value(&samples, "kiosk_printer_paper_state", &[("state", "full")]),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "kiosk_backend_breaker_state",
            &[
                ("route", "insurance"),
                ("endpoint", "0"),
                ("state", "closed")
            ]
        ),
        1.0
    );
    assert_eq!(value(&samples, "kiosk_ready", &[]), 1.0);
    assert_eq!(
        value(&samples, "kiosk_terminal_mode", &[("mode", "in_service")]),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "kiosk_build_info",
            &[("version", renshe_kiosk::VERSION)]
        ),
        1.0
    );
    assert!(value(&samples, "kiosk_views_drawn_total", &[]) > 5.0);
    assert!(value(&samples, "kiosk_resident_memory_bytes", &[]) > 10e6);
    assert!(
        value(
            &samples,
            "kiosk_heartbeats_queued_total",
            &[("trigger", "periodic")]
        ) >= 1.0
    );
    assert_eq!(value(&samples, "kiosk_outbox_pending", &[]), 0.0);
    // Nothing personal in any sample: labels are closed sets of words.
    for holder in renshe_kiosk::card::sim::demo_residents() {
        for secret in [
            holder.name.as_str(),
            holder.id_number.as_str(),
            holder.card_number.as_str(),
        ] {
            assert!(!text.contains(secret), "a resident's data in the metrics");
        }
    }

    // The post-upgrade gate: serving now.
    let (code, body) = get(address, "/health");
    assert_eq!(code, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(health["mode"], "in_service");
    assert_eq!(health["ready"], true);
    assert_eq!(health["devices"]["card_reader"], "online");

    // Technician mode: /health, the metrics and a heartbeat sent at once (not 30 s later).
    rig.kiosk.metrics.set_mode(TerminalMode::Maintenance);
    let (code, body) = get(address, "/health");
    assert_eq!(code, 503, "not serving residents: {body}");
    assert!(body.contains("\"mode\":\"maintenance\""), "{body}");
    let samples = parse_openmetrics(&get(address, "/metrics").1);
    assert_eq!(
        value(&samples, "kiosk_terminal_mode", &[("mode", "maintenance")]),
        1.0
    );
    let asked = Instant::now();
    let (after, _) = wait_for_heartbeat(&config, "mode maintenance", |_, status| {
        status["mode"] == "maintenance"
    });
    assert!(after > received);
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "sent on the change, not with the 30 s beat"
    );
    rig.kiosk.metrics.set_mode(TerminalMode::InService);
    wait_for_heartbeat(&config, "back in service", |_, status| {
        status["mode"] == "in_service"
    });
    assert_eq!(get(address, "/health").0, 200);
    let samples = parse_openmetrics(&get(address, "/metrics").1);
    assert!(
        value(
            &samples,
            "kiosk_heartbeats_queued_total",
            &[("trigger", "change")]
        ) >= 2.0
    );
}
