//! kill -9 the kiosk at random points of a soak, many times, against one SQLite file; then
//! prove from the demo back end's ledger that every operation was applied exactly once and
//! that the journal agrees.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use renshe_kiosk::backend::api::Operation;
use renshe_kiosk::backend::cli::reconcile;
use renshe_kiosk::backend::sim::{self, FaultPlan, SimOptions};
use renshe_kiosk::store::journal::EntryKind;
use renshe_kiosk::store::Store;

const TERMINAL: &str = "CQ-CRASH-0001";
const KILLS: u32 = 50;
const SESSIONS: &str = "150";

fn soak_command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"));
    cmd.arg("--config")
        .arg(dir.join("terminal.toml"))
        .args(["soak", "--sessions", SESSIONS, "--seed", "11", "--json"])
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null());
    cmd
}

/// The bundled demo configuration, with this test's terminal id, data folder and back end.
fn terminal_config(dir: &std::path::Path, url: &str) -> String {
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/kiosk-config/demo.toml"
    ))
    .expect("demo.toml");
    let before_demo = demo
        .split("\n[demo]")
        .next()
        .expect("demo.toml has a [demo] table");
    let routes: String = ["identity", "insurance", "card", "certification", "proxy", "hsm", "catalogue", "terminal"]
        .iter()
        .map(|s| format!("[backend.routes.{s}]\nendpoints = [\"{url}\"]\ntimeout_ms = 1000\nattempts = 2\nbackoff_ms = 5\n"))
        .collect();
    format!(
        "{}\n[backend]\nallow_plain_http = true\n{routes}",
        before_demo
            .replace("id = \"CQ-DEMO-0001\"", &format!("id = \"{TERMINAL}\""))
            .replace(
                "directory = \"../target/kiosk-demo-data\"",
                &format!("directory = \"{}\"", dir.display())
            )
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_kiosk_at_random_points_never_loses_or_duplicates_an_operation() {
    let sim = sim::start(SimOptions::default()).await.expect("start sim");
    // Faults make the runs go through unknowns, replays and retries, not only the happy path.
    sim.set_faults(FaultPlan {
        error_5xx: 0.04,
        reset: 0.04,
        malformed: 0.03,
        duplicate: 0.05,
        ..FaultPlan::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("terminal.toml"),
        terminal_config(dir.path(), sim.url()),
    )
    .expect("write config");

    let mut rng = StdRng::seed_from_u64(0xC0FFEE);
    let mut killed_mid_run = 0;
    let started = Instant::now();
    for _ in 0..KILLS {
        let mut child = soak_command(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn soak");
        tokio::time::sleep(Duration::from_millis(rng.random_range(40..260))).await;
        if child.try_wait().expect("poll child").is_none() {
            killed_mid_run += 1;
        }
        child.kill().expect("kill -9"); // SIGKILL on Unix
        child.wait().expect("reap");
    }
    assert!(
        killed_mid_run >= KILLS * 9 / 10,
        "only {killed_mid_run} of {KILLS} kills hit a running soak"
    );

    // The last run is left to finish, still under faults.
    let output = tokio::task::spawn_blocking(move || {
        let out = soak_command(dir.path()).output().expect("final soak");
        (out, dir)
    })
    .await
    .expect("join");
    let (output, dir) = output;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "final soak failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("soak JSON report");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["duplicated"], 0, "{report}");
    assert_eq!(report["ledger_checked"], true, "{report}");

    // Our own check, from the sim's ledger and the journal file.
    let ledger: Vec<_> = sim
        .ledger()
        .into_iter()
        .filter(|e| e.terminal_id == TERMINAL && e.op != "journal_batch")
        .collect();
    let mut seen = HashSet::new();
    for e in &ledger {
        assert!(
            seen.insert(e.idempotency_key.clone()),
            "key applied twice: {e:?}"
        );
    }
    let store = Store::open(&dir.path().join("kiosk.db")).expect("open journal");
    assert!(
        store.journal_verify_chain().expect("sql").is_ok(),
        "hash chain broken"
    );
    let entries = store.journal_after(0, u32::MAX).expect("journal");
    let verdict = reconcile(&entries, &sim.ledger(), TERMINAL);
    assert_eq!(verdict.lost, 0, "{verdict:?}");
    assert_eq!(verdict.duplicated, 0, "{verdict:?}");
    assert_eq!(verdict.open_operations, 0, "{verdict:?}");

    // Per business reference: at most one key applied, and exactly the keys the journal
    // records as applied are in the ledger.
    let mut reference_of = HashMap::new();
    let mut mutation_refs = HashSet::new();
    let mut journal_applied = HashSet::new();
    for e in &entries {
        reference_of.insert(e.idempotency_key.clone(), e.reference.clone());
        if e.kind == EntryKind::Intent
            && e.payload
                .text()
                .and_then(|text| Operation::from_journal(text).ok())
                .is_some_and(|op| op.is_mutation())
        {
            mutation_refs.insert(e.reference.clone());
        }
        if e.kind == EntryKind::Result && e.outcome.as_deref() == Some("applied") {
            journal_applied.insert(e.idempotency_key.clone());
        }
    }
    let ledger_keys: HashSet<String> = ledger.iter().map(|e| e.idempotency_key.clone()).collect();
    let journal_applied_mutations: HashSet<String> = journal_applied
        .iter()
        .filter(|k| {
            reference_of
                .get(*k)
                .is_some_and(|r| mutation_refs.contains(r))
        })
        .cloned()
        .collect();
    assert_eq!(
        ledger_keys, journal_applied_mutations,
        "ledger and journal disagree"
    );
    let mut per_reference: HashMap<&String, u32> = HashMap::new();
    for key in &ledger_keys {
        *per_reference.entry(&reference_of[key]).or_default() += 1;
    }
    assert!(
        per_reference.values().all(|n| *n == 1),
        "a reference applied twice"
    );
    assert!(
        ledger_keys.len() > 100,
        "too little happened: {}",
        ledger_keys.len()
    );
    eprintln!(
        "crash test: {KILLS} kills ({killed_mid_run} mid-run), {} applied mutations, {} s",
        ledger_keys.len(),
        started.elapsed().as_secs()
    );
    sim.shutdown().await;
}
