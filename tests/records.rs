//! The terminal's records against real parts: the kiosk binary as a second process, a soak
//! against the loopback demo back end, real SQLite files damaged on purpose.

use std::process::{Command, Stdio};

use renshe_kiosk::backend::api::Operation;
use renshe_kiosk::backend::config::BackendConfig;
use renshe_kiosk::backend::engine::{Engine, Outcome};
use renshe_kiosk::backend::sim::{self, SimOptions};
use renshe_kiosk::store::journal::{EntryKind, NewEntry};
use renshe_kiosk::store::{Store, StoreError};

const TERMINAL: &str = "CQ-RECORDS-0001";

/// The bundled demo configuration with this test's terminal id, data folder and back end.
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
        .map(|s| format!("[backend.routes.{s}]\nendpoints = [\"{url}\"]\ntimeout_ms = 2000\nattempts = 2\nbackoff_ms = 5\n"))
        .collect();
    format!(
        "{}\n[backend]\nallow_plain_http = true\n{routes}",
        before_demo
            .replace("id = \"CQ-DEMO-0001\"", &format!("id = \"{TERMINAL}\""))
            .replace(
                "directory = \"../target/kiosk-demo-data\"",
                &format!("directory = \"{}\"", dir.join("data").display())
            )
    )
}

fn kiosk(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"));
    cmd.arg("--config")
        .arg(dir.join("terminal.toml"))
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null());
    cmd
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every byte of every file under `dir`.
fn every_byte(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_leaves_no_resident_in_the_clear_on_disk_or_in_the_log_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let sim = sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("terminal.toml"),
        terminal_config(dir.path(), sim.url()),
    )
    .expect("config");
    let output = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            kiosk(&dir)
                .args(["soak", "--sessions", "40", "--seed", "3", "--json"])
                .env("RUST_LOG", "debug")
                .output()
                .expect("soak")
        }
    })
    .await
    .expect("join");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("soak JSON report");
    assert!(
        report["operations"].as_u64().unwrap_or(0) > 0
            || report["sessions"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    let data = dir.path().join("data");
    let files = every_byte(&data);
    assert!(files.iter().any(|(p, _)| p.ends_with("kiosk.db")));
    for (path, _) in &files {
        let mode = std::fs::metadata(path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", path.display());
    }
    let mode = std::fs::metadata(&data).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let logs = [output.stdout.clone(), output.stderr.clone()].concat();
    for resident in sim.residents() {
        for needle in [&resident.id_number, &resident.card_number, &resident.name] {
            for (path, bytes) in &files {
                assert!(
                    !contains(bytes, needle.as_bytes()),
                    "a resident's data in the clear in {}",
                    path.display()
                );
            }
            assert!(
                !contains(&logs, needle.as_bytes()),
                "a resident's data in the log"
            );
        }
    }
    sim.shutdown().await;
}

#[test]
fn a_second_process_on_the_database_is_refused_with_the_holder_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("terminal.toml"),
        terminal_config(dir.path(), "http://127.0.0.1:9"),
    )
    .expect("config");
    std::fs::create_dir_all(dir.path().join("data")).expect("data");
    let holder = Store::open(&dir.path().join("data/kiosk.db")).expect("first writer");
    let output = kiosk(dir.path())
        .args(["outbox", "status"])
        .output()
        .expect("outbox status");
    assert!(!output.status.success(), "a second writer was let in");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("in use by another process")
            && stderr.contains(&format!("pid {}", std::process::id())),
        "{stderr}"
    );
    drop(holder);
    let output = kiosk(dir.path())
        .args(["outbox", "status", "--json"])
        .output()
        .expect("outbox status");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_poison_entry_is_quarantined_and_everything_else_is_still_served() {
    let sim = sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kiosk.db");
    {
        let mut store = Store::open(&path).expect("open");
        let poison = |kind| NewEntry {
            kind,
            terminal_id: TERMINAL,
            idempotency_key: "poison-key",
            reference: "poison-ref",
            service: "card",
            operation: "activate_card",
            outcome: None,
            // From no build this one knows: the intent cannot be read back as an operation.
            payload: r#"{"op":"from_the_future","params":{}}"#,
            recorded_at_ms: 1,
        };
        store
            .journal_append(&[poison(EntryKind::Intent), poison(EntryKind::Sent)])
            .expect("append");
    }
    let config = BackendConfig::uniform(&[sim.url().to_string()], 2_000, true);
    let engine = Engine::new(Store::open(&path).expect("open"), config, TERMINAL).expect("engine");
    let report = engine.recover().await.expect("recovery does not fail");
    assert_eq!(report.quarantined, vec!["poison-key".to_string()]);
    assert!(report.unresolved.is_empty(), "{report:?}");
    let quarantined = engine.quarantined().await.expect("quarantine");
    assert_eq!(quarantined.len(), 1);
    assert!(!quarantined[0].reason.is_empty());
    // Everything else is served.
    let resident = sim
        .residents()
        .into_iter()
        .find(|r| r.card_state == renshe_kiosk::backend::api::CardState::NotActivated)
        .expect("an unactivated card");
    let outcome = engine
        .execute(
            "after-poison",
            Operation::ActivateCard {
                person_id: resident.person_id,
                card_number: resident.card_number,
            },
        )
        .await
        .expect("execute");
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    // A second recovery leaves the quarantined entry alone.
    let again = engine.recover().await.expect("recover again");
    assert!(again.quarantined.is_empty() && again.unresolved.is_empty());
    sim.shutdown().await;
}

#[test]
fn a_damaged_database_is_refused_as_damaged_and_a_truncated_wal_keeps_every_whole_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kiosk.db");
    let entry = |key: &'static str| NewEntry {
        kind: EntryKind::Intent,
        terminal_id: TERMINAL,
        idempotency_key: key,
        reference: key,
        service: "card",
        operation: "activate_card",
        outcome: None,
        payload: r#"{"op":"activate_card","params":{}}"#,
        recorded_at_ms: 1,
    };
    {
        let mut store = Store::open(&path).expect("open");
        for key in ["a", "b", "c"] {
            store.journal_append(&[entry(key)]).expect("append");
        }
        // A crash: copy the files as they are, WAL included, while the store is open.
        std::fs::copy(&path, dir.path().join("crash.db")).expect("copy");
        std::fs::copy(
            dir.path().join("kiosk.db-wal"),
            dir.path().join("crash.db-wal"),
        )
        .expect("copy wal");
        std::fs::copy(dir.path().join("kiosk.key"), dir.path().join("crash.key")).expect("key");
    }
    // The last frame cut in half, as power loss mid-write leaves it.
    let wal = dir.path().join("crash.db-wal");
    let length = std::fs::metadata(&wal).expect("wal").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .expect("open wal");
    file.set_len(length - 2_000).expect("truncate");
    drop(file);
    let crashed = Store::open(&dir.path().join("crash.db")).expect("a truncated WAL opens");
    let kept = crashed.journal_after(0, 100).expect("read");
    assert!(!kept.is_empty() && kept.len() <= 3, "{}", kept.len());
    assert_eq!(
        crashed.journal_verify_chain().expect("sql"),
        Ok(kept.len() as u64)
    );
    drop(crashed);

    // A flipped page header: the file is refused as damaged (the kiosk then shows its
    // out-of-service page), not opened and written to.
    let mut bytes = std::fs::read(&path).expect("db");
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    for byte in &mut bytes[page..page + 8] {
        *byte ^= 0xa5;
    }
    std::fs::write(&path, &bytes).expect("flip");
    let _ = std::fs::remove_file(dir.path().join("kiosk.db-wal"));
    match Store::open(&path) {
        Err(error @ StoreError::Damaged { .. }) => {
            assert!(error.to_string().contains("kiosk.db"), "{error}");
        }
        Err(other) => panic!("expected Damaged, got {other}"),
        Ok(_) => panic!("a damaged database was opened"),
    }
    // Not a database at all.
    std::fs::write(&path, vec![0x42u8; 8_192]).expect("garbage");
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Damaged { .. })
    ));
}

#[tokio::test]
async fn a_queued_certification_survives_a_restart_sealed_and_is_delivered_once() {
    let sim = sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kiosk.db");
    let pensioner = sim
        .residents()
        .into_iter()
        .find(|r| r.birth_year <= 1966 && !r.certified_years.contains(&2026))
        .expect("a pensioner due for 2026");
    // Stills as the camera takes them: base64 JPEG, with a marker to look for on disk.
    let still = "/9j/4AAQSkZJRgABAQAAAQABAAD-STILL-MARKER-0001";
    let queued = Operation::QueueCertification {
        person_id: pensioner.person_id.clone(),
        year: 2026,
        method: "self".into(),
        challenge_id: "CH000001".into(),
        helper_person_id: None,
        frames: vec![still.into(), still.into()],
    };
    let key = {
        let down = BackendConfig::uniform(&["http://127.0.0.1:9".to_string()], 500, true);
        let offline =
            Engine::new(Store::open(&path).expect("open"), down, TERMINAL).expect("engine");
        let outcome = offline
            .defer("session-1/certify-queued", queued.clone())
            .await
            .expect("queued");
        let Outcome::Deferred { key } = outcome else {
            panic!("not queued: {outcome:?}");
        };
        let pass = offline.flush_outbox().await.expect("relay");
        assert_eq!((pass.sent, pass.retry_later), (0, 1));
        key
    };
    // The kiosk restarts; on disk the stills are sealed.
    let mut bytes = std::fs::read(&path).expect("db");
    bytes.extend(std::fs::read(dir.path().join("kiosk.db-wal")).unwrap_or_default());
    assert!(
        !contains(&bytes, b"STILL-MARKER"),
        "a still in the clear on disk"
    );
    let up = BackendConfig::uniform(&[sim.url().to_string()], 2_000, true);
    let online = Engine::new(Store::open(&path).expect("reopen"), up, TERMINAL).expect("engine");
    let report = online.recover().await.expect("recover");
    assert!(report.unresolved.is_empty(), "{report:?}");
    // Queued again for the same session step: nothing new.
    online
        .defer("session-1/certify-queued", queued)
        .await
        .expect("defer again");
    let pass = online.flush_outbox().await.expect("relay");
    assert_eq!(pass.sent, 1);
    assert_eq!(online.outbox_counts().await.expect("counts").pending, 0);
    let applied = sim
        .ledger()
        .into_iter()
        .filter(|e| e.idempotency_key == key)
        .count();
    assert_eq!(applied, 1, "delivered once");
    let certified = sim
        .residents()
        .into_iter()
        .find(|r| r.person_id == pensioner.person_id)
        .expect("pensioner");
    assert!(certified.certified_years.contains(&2026));
    sim.shutdown().await;
}
