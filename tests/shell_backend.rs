//! The kiosk's back-end adapter against the bundled demo back end on loopback (real HTTP, a
//! real SQLite journal): answers come back with the ticket they were asked with, and a
//! request whose flow ended is abandoned — nothing comes back for it, and the route stays
//! usable for the next resident.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use renshe_kiosk::card::sim::demo_residents;
use renshe_kiosk::config::{Config, BUNDLED_DEMO_CONFIG};
use renshe_kiosk::core::records::Records;
use renshe_kiosk::core::{Event, QueryKind, Request, Ticket};
use renshe_kiosk::shell::backend::BackendAdapter;
use renshe_kiosk::shell::events::EventSink;
use renshe_kiosk::store::Store;

/// The demo configuration with its own data directory and a port of its own.
fn config(dir: &tempfile::TempDir) -> Config {
    let port = 20_000 + (std::process::id() % 10_000) as u16;
    let text = BUNDLED_DEMO_CONFIG
        .replace("127.0.0.1:18333", &format!("127.0.0.1:{port}"))
        .replace(
            "directory = \"../target/kiosk-demo-data\"",
            &format!("directory = {:?}", dir.path().display().to_string()),
        );
    Config::parse(&text, std::path::Path::new("demo.toml")).expect("demo config")
}

/// Slows the demo back end's every answer by `delay_ms` (its run-time fault switch).
fn slow_down(config: &Config, delay_ms: u64) {
    let address = config.demo.as_ref().expect("[demo]").backend_listen;
    let body = format!("{{\"delay_ms\":{delay_ms}}}");
    let mut stream = TcpStream::connect(address).expect("connect to the demo back end");
    write!(
        stream,
        "POST /admin/faults HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn ticket(flow: u32) -> Ticket {
    Ticket {
        session: 0,
        flow,
        step: 0,
    }
}

/// Every `Answered` that arrives within `wait`.
fn answers(
    incoming: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    wait: Duration,
    until_one_for: Option<Ticket>,
) -> Vec<(Ticket, bool)> {
    let deadline = Instant::now() + wait;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match incoming.try_recv() {
            Ok(Event::Answered { ticket, result }) => {
                if let Ok(answer) = &result {
                    assert!(matches!(answer.records, Records::Enrollment(_)));
                }
                seen.push((ticket, result.is_ok()));
                if Some(ticket) == until_one_for {
                    break;
                }
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    seen
}

#[test]
fn an_ended_flows_request_never_answers_and_the_next_one_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = Store::open(&config.database_path()).expect("store");
    let (events, mut incoming) = EventSink::channel();
    let backend = BackendAdapter::start(
        &config,
        store,
        &runtime,
        events,
        std::sync::Arc::new(|| {}),
        renshe_kiosk::metrics::Metrics::new(),
    )
    .expect("adapter");
    let holder = demo_residents().remove(0);

    slow_down(&config, 700);
    backend.fetch(
        ticket(1),
        Request::Records(QueryKind::Enrollment),
        (&holder).into(),
    );
    // The resident went home before the answer: the flow ends, its request is abandoned.
    backend.cancel(Some(ticket(1).flow_id()));
    let late = answers(&mut incoming, Duration::from_millis(2_500), None);
    assert!(
        late.iter().all(|(ticket, _)| ticket.flow != 1),
        "an abandoned request answered: {late:?}"
    );

    // The next resident's request, on the same route, answers with its own ticket.
    backend.fetch(
        ticket(2),
        Request::Records(QueryKind::Enrollment),
        (&holder).into(),
    );
    let next = answers(&mut incoming, Duration::from_secs(10), Some(ticket(2)));
    assert_eq!(next, vec![(ticket(2), true)]);

    // A whole session's end abandons every request in flight.
    backend.fetch(
        ticket(3),
        Request::Records(QueryKind::Enrollment),
        (&holder).into(),
    );
    backend.cancel(None);
    let after_wipe = answers(&mut incoming, Duration::from_millis(2_500), None);
    assert!(after_wipe.is_empty(), "{after_wipe:?}");
}
