//! Journal and outbox throughput, and the engine's per-request overhead.
//!
//! Prints: durable journal commits/s against raw SQLite inserts with the same durability
//! (WAL, synchronous=FULL, one transaction each) in the same run, and against the same
//! records an intent writes kept in plain SQLite (what sealing, the MAC and the chain cost
//! apart from the pages: an intent writes four, a raw insert one); outbox drain rate to the
//! loopback demo back end; p50/p99 latency of a bare HTTP request and of the same request
//! through the journal-first engine.

use std::time::{Duration, Instant};

use renshe_kiosk::backend::api::Operation;
use renshe_kiosk::backend::config::BackendConfig;
use renshe_kiosk::backend::engine::Engine;
use renshe_kiosk::backend::http::{HttpClient, Method, WireRequest};
use renshe_kiosk::backend::sim::{self, SimOptions};
use renshe_kiosk::store::journal::{EntryKind, NewEntry};
use renshe_kiosk::store::Store;

const COMMITS: usize = 2_000;
const MESSAGES: usize = 300;
const REQUESTS: usize = 400;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Interleaved blocks of `n` journal commits and `n` raw ones, so disk-cache drift and the
/// neighbours' load hit both sides alike: the two rates over all blocks, and the median of
/// the blocks' own ratios (one block caught by a checkpoint or a busy neighbour moves the
/// totals, not the median).
fn compare(
    blocks: usize,
    n: usize,
    mut journal: impl FnMut(usize),
    mut raw: impl FnMut(),
) -> (f64, f64, f64) {
    let (mut journal_total, mut raw_total) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(blocks);
    for block in 0..blocks {
        let t = Instant::now();
        journal(block);
        let j = t.elapsed();
        let t = Instant::now();
        for _ in 0..n {
            raw();
        }
        let r = t.elapsed();
        journal_total += j;
        raw_total += r;
        ratios.push(r.as_secs_f64() / j.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let commits = (blocks * n) as f64;
    (
        commits / journal_total.as_secs_f64(),
        commits / raw_total.as_secs_f64(),
        ratios[ratios.len() / 2],
    )
}

fn journal_vs_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::cell::RefCell::new(Store::open(&dir.path().join("bench.db")).expect("open"));
    let payload =
        r#"{"op":"activate_card","params":{"person_id":"P10000003","card_number":"CQ3000051"}}"#;
    let raw = || {
        store
            .borrow_mut()
            .baseline_durable_insert(payload)
            .expect("insert")
    };
    // Keys as the engine makes them (random UUIDs).
    fn entry<'a>(
        kind: EntryKind,
        key: &'a str,
        outcome: Option<&'a str>,
        payload: &'a str,
    ) -> NewEntry<'a> {
        NewEntry {
            kind,
            terminal_id: "CQ-BENCH-0001",
            idempotency_key: key,
            reference: key,
            service: "card",
            operation: "activate_card",
            outcome,
            payload,
            recorded_at_ms: 0,
        }
    }
    const BLOCKS: usize = 40;
    let per_block = COMMITS / BLOCKS;
    let mut intents = |_: usize| {
        for _ in 0..per_block {
            let key = uuid::Uuid::new_v4().to_string();
            store
                .borrow_mut()
                .journal_append(&[entry(EntryKind::Intent, &key, None, payload)])
                .expect("append");
        }
    };
    let (journal_rate, raw_rate, median) = compare(BLOCKS, per_block, &mut intents, raw);
    println!("journal commits/s (sealed payload, keyed chain, durable): {journal_rate:.0}");
    println!("raw SQLite inserts/s (same durability):    {raw_rate:.0}");
    println!(
        "ratio journal/raw: {:.2}, median of {BLOCKS} blocks {median:.2} (goal >= 0.80)",
        journal_rate / raw_rate
    );
    // Where the difference goes: the same four pages an intent writes, in plain text.
    let plain = || {
        let key = uuid::Uuid::new_v4().to_string();
        store
            .borrow_mut()
            .baseline_plain_intent(&key, &key, payload)
            .expect("plain intent")
    };
    let (journal_rate, plain_rate, median) = compare(BLOCKS, per_block, &mut intents, plain);
    println!(
        "the same records in plain SQLite (row, payload row, key and reference indexes; no seal, \
         MAC, chain or triggers): {plain_rate:.0}/s, journal {journal_rate:.0}/s: ratio {:.2}, \
         median of {BLOCKS} blocks {median:.2}",
        journal_rate / plain_rate
    );

    // The engine's mix: an operation is three commits — its intent (sealed parameters), the
    // sent mark, then the result (sealed answer) with the completion.
    let answer = r#"{"outcome":"applied","body":"{\"card_state\":\"active\"}","replayed":false}"#;
    let operations = per_block / 3;
    let (journal_rate, raw_rate, median) = compare(
        BLOCKS,
        operations * 3,
        |_| {
            for _ in 0..operations {
                let key = uuid::Uuid::new_v4().to_string();
                let mut store = store.borrow_mut();
                store
                    .journal_append(&[entry(EntryKind::Intent, &key, None, payload)])
                    .expect("intent");
                store
                    .journal_append(&[entry(EntryKind::Sent, &key, None, "{}")])
                    .expect("sent");
                store
                    .journal_append(&[
                        entry(EntryKind::Result, &key, Some("applied"), answer),
                        entry(EntryKind::Completed, &key, None, "{}"),
                    ])
                    .expect("result");
            }
        },
        raw,
    );
    println!(
        "journal commits/s, whole operations (intent; sent; result + completed): {journal_rate:.0}, \
         raw {raw_rate:.0}: ratio {:.2}, median of {BLOCKS} blocks {median:.2}",
        journal_rate / raw_rate
    );
}

async fn outbox_and_overhead() {
    let sim = sim::start(SimOptions::default()).await.expect("sim");
    let config = BackendConfig::uniform(&[sim.url().to_string()], 5_000, true);
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::new(
        Store::open(&dir.path().join("kiosk.db")).expect("open"),
        config.clone(),
        "CQ-BENCH-0001",
    )
    .expect("engine");

    // Certifications: journaled and queued once each (heartbeats are latest-wins, so 300
    // of them would be one message).
    let person = sim.residents()[0].person_id.clone();
    for i in 0..MESSAGES {
        engine
            .defer(
                &format!("cert-{i}"),
                Operation::SubmitCertification {
                    person_id: person.clone(),
                    year: 2026,
                    method: "self".into(),
                    challenge_id: format!("bench-{i}"),
                    capture_id: format!("bench-{i}"),
                    helper_person_id: None,
                },
            )
            .await
            .expect("defer");
    }
    let t = Instant::now();
    let report = engine.flush_outbox().await.expect("flush");
    let drain = t.elapsed();
    assert_eq!((report.sent + report.rejected) as usize, MESSAGES);
    println!(
        "outbox drain: {MESSAGES} messages in {:.0} ms = {:.0} msg/s (acked, each marked sent durably)",
        drain.as_secs_f64() * 1e3,
        MESSAGES as f64 / drain.as_secs_f64()
    );

    let client = HttpClient::new(&config, "CQ-BENCH-0001").expect("client");
    let body = format!("{{\"person_id\":\"{person}\"}}");
    let mut bare = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let key = format!("bare-{i}");
        let t = Instant::now();
        let r = client
            .send(&WireRequest {
                method: Method::Post,
                base_url: sim.url(),
                path: "/v1/enrollment",
                body: Some(&body),
                idempotency_key: &key,
                timeout: Duration::from_secs(5),
            })
            .await
            .expect("send");
        bare.push(t.elapsed());
        assert_eq!(r.status, 200);
    }
    let mut engined = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let t = Instant::now();
        engine
            .execute(
                &format!("q-{i}"),
                Operation::QueryEnrollment {
                    person_id: person.clone(),
                },
            )
            .await
            .expect("execute");
        engined.push(t.elapsed());
    }
    bare.sort();
    engined.sort();
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        let (b, e) = (percentile(&bare, p), percentile(&engined, p));
        println!(
            "{name}: bare HTTP {:.2} ms, through the engine {:.2} ms, overhead {:.2} ms ({:.1}x)",
            b.as_secs_f64() * 1e3,
            e.as_secs_f64() * 1e3,
            e.saturating_sub(b).as_secs_f64() * 1e3,
            e.as_secs_f64() / b.as_secs_f64()
        );
    }
    sim.shutdown().await;
}

/// The database after 10,000 resident sessions (each one mutation: intent, sent, then its
/// result and completion, with payloads the size of a real activation and its answer) and a
/// day of heartbeats every 30 s, before and after a retention pass a day later.
fn database_after_a_busy_day() {
    use renshe_kiosk::store::journal::Retention;
    use renshe_kiosk::store::outbox::{MessageState, NewMessage};
    const SESSIONS: usize = 10_000;
    const HEARTBEATS: usize = 2_880;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kiosk.db");
    let mut store = Store::open(&path).expect("open");
    let params = format!(
        r#"{{"op":"activate_card","params":{{"person_id":"P10000003","card_number":"CQ3000051","note":"{}"}}}}"#,
        "x".repeat(120)
    );
    let answer = format!(
        r#"{{"outcome":"applied","body":"{{\"card_state\":\"active\",\"verification_code\":\"K7Q2-9XMA\",\"verify_url\":\"https://rlsbj.example/verify/K7Q2-9XMA\",\"masked_name\":\"王*国\",\"pad\":\"{}\"}}","replayed":false}}"#,
        "y".repeat(200)
    );
    let started = Instant::now();
    for i in 0..SESSIONS {
        let key = format!("00000000-0000-4000-8000-{i:012}");
        let reference = format!("session-{i:08}-step-3");
        let entry = |kind, outcome, payload| NewEntry {
            kind,
            terminal_id: "CQ-BENCH-0001",
            idempotency_key: &key,
            reference: &reference,
            service: "card",
            operation: "activate_card",
            outcome,
            payload,
            recorded_at_ms: i as i64,
        };
        store
            .journal_append(&[entry(EntryKind::Intent, None, &params)])
            .expect("intent");
        store
            .journal_append(&[
                entry(EntryKind::Sent, None, "{}"),
                entry(EntryKind::Result, Some("applied"), &answer),
                entry(EntryKind::Completed, None, "{}"),
            ])
            .expect("result");
    }
    for i in 0..HEARTBEATS {
        let id = format!("heartbeat-{i}");
        let body = format!(
            r#"{{"status":{{"card_reader":"online","printer":"online","paper":"ok","uptime_s":{}}}}}"#,
            i * 30
        );
        let row = store
            .outbox_enqueue(
                &NewMessage {
                    message_id: &id,
                    kind: "heartbeat",
                    service: "terminal",
                    path: "/v1/heartbeats",
                    body: &body,
                    now_ms: i as i64,
                    latest_wins: true,
                },
                &[],
            )
            .expect("heartbeat");
        store
            .outbox_finish(row, MessageState::Sent, i as i64, None, &[])
            .expect("acknowledged");
    }
    let size = |store: &Store| {
        let wal = std::fs::metadata(dir.path().join("kiosk.db-wal")).map_or(0, |m| m.len());
        (store.file_bytes().expect("size") + wal) as f64 / 1e6
    };
    let written = started.elapsed().as_secs_f64();
    // Checkpointed, as the file stands once the kiosk has been quiet for a moment.
    drop(store);
    let mut store = Store::open(&path).expect("reopen");
    let before = size(&store);
    // The back end acknowledged the shipped entries and the day's reconciliation matched.
    let day = 24 * 3_600_000;
    store.journal_acknowledge_through(i64::MAX).expect("ack");
    store.journal_mark_reconciled(day).expect("reconciled");
    let next_day = store
        .journal_prune(day + 3_600_000, Retention::DEFAULT)
        .expect("prune");
    drop(store);
    let mut store = Store::open(&path).expect("reopen");
    let after_a_day = size(&store);
    let later = store
        .journal_prune(31 * day, Retention::DEFAULT)
        .expect("prune");
    let outbox = store
        .outbox_prune(31 * day, 7 * day, 30 * day)
        .expect("outbox retention");
    drop(store);
    let store = Store::open(&path).expect("reopen");
    let after_a_month = size(&store);
    println!(
        "database after {SESSIONS} sessions and {HEARTBEATS} heartbeats ({written:.0} s to write): \
         {before:.1} MB; the next day ({} payloads purged): {after_a_day:.1} MB; after 30 days \
         ({} entries and {outbox} messages pruned): {after_a_month:.1} MB (goal <= 5 MB)",
        next_day.payloads, later.entries
    );
}

fn main() {
    journal_vs_raw();
    database_after_a_busy_day();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(outbox_and_overhead());
}
