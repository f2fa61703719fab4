//! The engine and client against the demo back end over real HTTP(S) on loopback.

use std::time::Duration;

use renshe_kiosk::backend::api::{ErrorCode, Operation, Reply, Service};
use renshe_kiosk::backend::config::{BackendConfig, BreakerPolicy};
use renshe_kiosk::backend::engine::{Availability, Engine, EngineError, Outcome};
use renshe_kiosk::backend::sim::{self, FaultPlan, SimHandle, SimOptions, TestPki};
use renshe_kiosk::store::journal::EntryKind;
use renshe_kiosk::store::Store;

const TERMINAL: &str = "CQ-TEST-0001";

async fn start_sim() -> SimHandle {
    sim::start(SimOptions::default()).await.expect("start sim")
}

/// A loopback URL nobody listens on.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

fn engine(dir: &tempfile::TempDir, config: BackendConfig) -> Engine {
    let store = Store::open(&dir.path().join("kiosk.db")).expect("open store");
    Engine::new(store, config, TERMINAL).expect("engine")
}

fn config(endpoints: &[String], timeout_ms: u64, attempts: u32) -> BackendConfig {
    let mut c = BackendConfig::uniform(endpoints, timeout_ms, true);
    for route in c.routes.values_mut() {
        route.attempts = attempts;
    }
    c.validate().expect("valid config");
    c
}

/// A resident whose card is not activated yet, and its activation.
fn activation(handle: &SimHandle) -> Operation {
    let r = handle
        .residents()
        .into_iter()
        .find(|r| r.card_state == renshe_kiosk::backend::api::CardState::NotActivated)
        .expect("an unactivated card");
    Operation::ActivateCard {
        person_id: r.person_id,
        card_number: r.card_number,
    }
}

fn enrollment(handle: &SimHandle) -> Operation {
    Operation::QueryEnrollment {
        person_id: handle.residents()[0].person_id.clone(),
    }
}

fn ledger_count(handle: &SimHandle, key: &str) -> usize {
    handle
        .ledger()
        .iter()
        .filter(|e| e.idempotency_key == key)
        .count()
}

#[tokio::test]
async fn a_dead_first_endpoint_fails_over_to_the_next() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(
        &dir,
        config(&[dead_url().await, sim.url().to_string()], 2_000, 2),
    );
    let outcome = engine
        .execute("s1-activate", activation(&sim))
        .await
        .expect("execute");
    let Outcome::Applied {
        key,
        reply: Reply::Card(card),
        ..
    } = outcome
    else {
        panic!("expected applied, got {outcome:?}");
    };
    assert_eq!(
        card.card_state,
        renshe_kiosk::backend::api::CardState::Active
    );
    assert_eq!(ledger_count(&sim, &key), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_timeout_is_unknown_and_the_status_query_resolves_it_as_applied() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 150, 2));
    sim.set_faults(FaultPlan {
        delay_ms: 600,
        ..FaultPlan::default()
    });
    let outcome = engine
        .execute("s2-activate", activation(&sim))
        .await
        .expect("execute");
    let Outcome::Unknown { key, reason } = outcome else {
        panic!("expected unknown, got {outcome:?}");
    };
    assert!(reason.contains("no answer"), "{reason}");
    // The back end applied it once, although the kiosk sent it twice.
    assert_eq!(ledger_count(&sim, &key), 1);
    sim.set_faults(FaultPlan::default());
    let resolved = engine.resolve(&key).await.expect("resolve");
    assert!(matches!(resolved, Outcome::Applied { .. }), "{resolved:?}");
    assert_eq!(resolved.key(), key);
    // Asking again for the same business reference returns the journaled result, sends nothing.
    let again = engine
        .execute("s2-activate", activation(&sim))
        .await
        .expect("again");
    assert_eq!(again.key(), key);
    assert_eq!(sim.ledger().len(), 1);
    let kinds: Vec<EntryKind> = engine
        .journal_for_reference("s2-activate")
        .await
        .expect("journal")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Intent,
            EntryKind::Sent,
            EntryKind::Unknown,
            EntryKind::Result,
            EntryKind::Completed
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_operation_that_never_arrived_is_voided_and_a_retry_applies_it_once() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 1_000, 2));
    // 503 before applying, exactly for the two attempts.
    sim.set_faults(FaultPlan {
        error_5xx: 1.0,
        budget: Some(2),
        ..FaultPlan::default()
    });
    let op = activation(&sim);
    let first = engine
        .execute("s3-activate", op.clone())
        .await
        .expect("execute");
    let Outcome::Unknown { key: first_key, .. } = first else {
        panic!("expected unknown, got {first:?}");
    };
    let resolved = engine.resolve(&first_key).await.expect("resolve");
    assert_eq!(
        resolved,
        Outcome::Voided {
            key: first_key.clone()
        }
    );
    let retry = engine.execute("s3-activate", op).await.expect("retry");
    assert!(matches!(retry, Outcome::Applied { .. }), "{retry:?}");
    assert_ne!(retry.key(), first_key);
    assert_eq!(ledger_count(&sim, &first_key), 0);
    assert_eq!(sim.ledger().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn duplicate_deliveries_and_replies_apply_once() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 2_000, 2));
    sim.set_faults(FaultPlan {
        duplicate: 1.0,
        ..FaultPlan::default()
    });
    let outcome = engine
        .execute("s4-activate", activation(&sim))
        .await
        .expect("execute");
    let Outcome::Applied { key, replayed, .. } = outcome else {
        panic!("expected applied, got {outcome:?}");
    };
    assert!(replayed, "the sim answered with the replayed copy");
    assert_eq!(ledger_count(&sim, &key), 1);
    assert_eq!(sim.ledger().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_5xx_storm_opens_the_breaker_and_the_service_recovers_after_it() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&[sim.url().to_string()], 2_000, 2);
    cfg.breaker = BreakerPolicy {
        failure_threshold: 3,
        open_ms: 400,
    };
    let engine = engine(&dir, cfg);
    sim.set_faults(FaultPlan {
        error_5xx: 1.0,
        ..FaultPlan::default()
    });
    assert_eq!(
        engine.availability()[&Service::Insurance],
        Availability::Available
    );
    for i in 0..2 {
        let err = engine
            .execute(&format!("s5-q{i}"), enrollment(&sim))
            .await
            .expect_err("storm");
        assert!(matches!(err, EngineError::Unavailable { .. }), "{err}");
    }
    assert!(matches!(
        engine.availability()[&Service::Insurance],
        Availability::Unavailable { .. }
    ));
    let fast = engine
        .execute("s5-q9", enrollment(&sim))
        .await
        .expect_err("open");
    assert!(fast.to_string().contains("circuit open"), "{fast}");
    sim.set_faults(FaultPlan::default());
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        engine.availability()[&Service::Insurance],
        Availability::Available
    );
    let ok = engine
        .execute("s5-q10", enrollment(&sim))
        .await
        .expect("half-open trial");
    assert!(
        matches!(
            ok,
            Outcome::Applied {
                reply: Reply::Enrollment(_),
                ..
            }
        ),
        "{ok:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_json_is_a_clear_error_and_never_a_guess() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 2_000, 1));
    sim.set_faults(FaultPlan {
        malformed: 1.0,
        ..FaultPlan::default()
    });
    let err = engine
        .execute("s6-q", enrollment(&sim))
        .await
        .expect_err("malformed");
    assert!(err.to_string().contains("malformed response body"), "{err}");
    let unknown = engine
        .execute("s6-activate", activation(&sim))
        .await
        .expect("execute");
    let Outcome::Unknown { key, reason } = unknown else {
        panic!("expected unknown, got {unknown:?}");
    };
    assert!(reason.contains("malformed response body"), "{reason}");
    sim.set_faults(FaultPlan::default());
    assert!(matches!(
        engine.resolve(&key).await.expect("resolve"),
        Outcome::Applied { .. }
    ));
    assert_eq!(ledger_count(&sim, &key), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_connection_reset_mid_response_is_unknown_then_resolved() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 2_000, 1));
    sim.set_faults(FaultPlan {
        reset: 1.0,
        ..FaultPlan::default()
    });
    let outcome = engine
        .execute("s7-activate", activation(&sim))
        .await
        .expect("execute");
    let Outcome::Unknown { key, reason } = outcome else {
        panic!("expected unknown, got {outcome:?}");
    };
    assert!(reason.contains("interrupted"), "{reason}");
    sim.set_faults(FaultPlan::default());
    assert!(matches!(
        engine.resolve(&key).await.expect("resolve"),
        Outcome::Applied { .. }
    ));
    assert_eq!(ledger_count(&sim, &key), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn business_rejections_come_with_a_stable_code_and_resident_messages() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 2_000, 1));
    let blocked = sim
        .residents()
        .into_iter()
        .find(|r| r.card_state == renshe_kiosk::backend::api::CardState::Blocked)
        .expect("a blocked card");
    let outcome = engine
        .execute(
            "s8-loss",
            Operation::ReportLoss {
                person_id: blocked.person_id,
                card_number: blocked.card_number,
            },
        )
        .await
        .expect("execute");
    let Outcome::Rejected { error, .. } = outcome else {
        panic!("expected rejected, got {outcome:?}");
    };
    assert_eq!(error.code, ErrorCode::CardBlocked);
    assert!(!error.message.zh.is_empty() && !error.message.en.is_empty());
    assert!(sim.ledger().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn recover_resolves_what_a_previous_run_left_unknown() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&[sim.url().to_string()], 100, 1);
    let key = {
        let first = engine(&dir, cfg.clone());
        sim.set_faults(FaultPlan {
            delay_ms: 400,
            ..FaultPlan::default()
        });
        let outcome = first
            .execute("s9-activate", activation(&sim))
            .await
            .expect("execute");
        assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
        outcome.key().to_string()
    };
    sim.set_faults(FaultPlan::default());
    let second = engine(&dir, cfg);
    let report = second.recover().await.expect("recover");
    assert_eq!(report.applied, 1);
    assert!(report.unresolved.is_empty());
    assert_eq!(ledger_count(&sim, &key), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_outbox_holds_heartbeats_while_the_back_end_is_down_latest_wins_and_ships_the_journal_once(
) {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let heartbeat = |uptime_s| Operation::Heartbeat {
        status: renshe_kiosk::backend::api::DeviceStatus {
            card_reader: renshe_kiosk::backend::api::DeviceState::Online,
            printer: renshe_kiosk::backend::api::DeviceState::Online,
            paper: renshe_kiosk::backend::api::PaperState::Low,
            uptime_s,
            ..Default::default()
        },
    };
    {
        let offline = engine(&dir, config(&[dead_url().await], 500, 1));
        let deferred = offline.defer("hb-1", heartbeat(60)).await.expect("defer");
        assert!(matches!(deferred, Outcome::Deferred { .. }));
        let pass = offline.flush_outbox().await.expect("relay");
        assert_eq!((pass.sent, pass.retry_later), (0, 1));
        assert_eq!(offline.outbox_counts().await.expect("counts").pending, 1);
        // A newer heartbeat replaces the one still waiting: status is latest-wins.
        offline
            .defer("hb-2", heartbeat(90))
            .await
            .expect("defer again");
        assert_eq!(offline.outbox_counts().await.expect("counts").pending, 1);
        // An operation to ship with the journal.
        offline
            .execute("r-activate", activation(&sim))
            .await
            .expect("unknown, not an error");
    }
    let online = engine(&dir, config(&[sim.url().to_string()], 2_000, 1));
    online.recover().await.expect("recover");
    sim.set_faults(FaultPlan {
        duplicate: 1.0,
        ..FaultPlan::default()
    });
    let pass = online.flush_outbox().await.expect("flush");
    assert_eq!(pass.sent, 1);
    let counts = online.outbox_counts().await.expect("counts");
    assert_eq!((counts.pending, counts.sent), (0, 1));
    let shipped = online
        .ship_journal(1_000)
        .await
        .expect("ship")
        .expect("a batch");
    online.flush_outbox().await.expect("flush batch");
    assert_eq!(ledger_count(&sim, &shipped), 1);
    // Nothing new to ship: the batch is not queued twice.
    assert_eq!(online.ship_journal(1_000).await.expect("ship"), None);
    sim.shutdown().await;
}

#[tokio::test]
async fn mtls_accepts_the_terminal_certificate_and_refuses_a_client_without_one() {
    let pki = TestPki::generate(TERMINAL).expect("pki");
    let sim = sim::start(SimOptions {
        tls: Some(pki.sim_tls()),
        ..SimOptions::default()
    })
    .await
    .expect("start tls sim");
    assert!(sim.url().starts_with("https://"));
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pki.write_client_files(dir.path()).expect("write pki");
    let mut cfg = BackendConfig::uniform(&[sim.url().to_string()], 3_000, false);
    cfg.tls = Some(files.clone());
    cfg.validate().expect("valid tls config");
    let terminal = engine(&dir, cfg.clone());
    let ok = terminal
        .execute("tls-q", enrollment(&sim))
        .await
        .expect("query over mTLS");
    assert!(matches!(ok, Outcome::Applied { .. }), "{ok:?}");

    // The same CA but no client certificate: the server refuses the handshake.
    let no_cert = {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
            roots.add(c.expect("ca pem")).expect("add root");
        }
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth()
    };
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(no_cert)
        .build()
        .expect("client");
    let refused = client
        .post(format!("{}/v1/enrollment", sim.url()))
        .header("X-Terminal-Id", TERMINAL)
        .header("Idempotency-Key", "k")
        .body("{\"person_id\":\"P10000000\"}")
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a client without a certificate must be refused"
    );

    // A terminal certificate from another CA is refused as well.
    let other = TestPki::generate(TERMINAL).expect("other pki");
    let other_dir = tempfile::tempdir().expect("tempdir");
    let mut other_files = other.write_client_files(other_dir.path()).expect("write");
    other_files.ca_file = files.ca_file.clone();
    let mut other_cfg = cfg;
    other_cfg.tls = Some(other_files);
    let stranger = engine(&other_dir, other_cfg);
    let err = stranger
        .execute("tls-q2", enrollment(&sim))
        .await
        .expect_err("refused");
    assert!(matches!(err, EngineError::Unavailable { .. }), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sim_refuses_a_reused_key_with_different_parameters() {
    let sim = start_sim().await;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(
            renshe_kiosk::backend::http::rustls_client_config(None).expect("tls config"),
        )
        .build()
        .expect("client");
    let send = |body: &'static str| {
        client
            .post(format!("{}/v1/cards/loss-report", sim.url()))
            .header("X-Terminal-Id", TERMINAL)
            .header("Idempotency-Key", "same-key")
            .body(body)
            .send()
    };
    let r = sim.residents()[0].clone();
    assert_eq!(r.card_state, renshe_kiosk::backend::api::CardState::Active);
    let first = format!(
        "{{\"person_id\":\"{}\",\"card_number\":\"{}\"}}",
        r.person_id, r.card_number
    );
    let first: &'static str = Box::leak(first.into_boxed_str());
    assert_eq!(send(first).await.expect("first").status(), 200);
    let replay = send(first).await.expect("replay");
    assert_eq!(replay.headers()["Idempotent-Replayed"], "true");
    let other = send("{\"person_id\":\"P10000001\",\"card_number\":\"x\"}")
        .await
        .expect("other");
    assert_eq!(other.status(), 409);
    let body = other.text().await.expect("body");
    assert!(body.contains("IDEMPOTENCY_MISMATCH"), "{body}");
    assert_eq!(sim.ledger().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn daily_reconciliation_matches_the_journal_and_flags_what_only_the_host_has() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 2_000, 1));
    engine
        .execute("r-activate", activation(&sim))
        .await
        .expect("activate");
    engine
        .defer(
            "r-hb",
            Operation::Heartbeat {
                status: renshe_kiosk::backend::api::DeviceStatus {
                    card_reader: renshe_kiosk::backend::api::DeviceState::Online,
                    printer: renshe_kiosk::backend::api::DeviceState::Online,
                    paper: renshe_kiosk::backend::api::PaperState::Full,
                    uptime_s: 1,
                    ..Default::default()
                },
            },
        )
        .await
        .expect("defer");
    engine.flush_outbox().await.expect("flush");
    let today = renshe_kiosk::backend::api::utc_day(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64,
    );
    let clean = engine.reconcile_day(&today).await.expect("reconcile");
    // The activation; the heartbeat is status, not an exactly-once mutation.
    assert_eq!(
        (clean.matched, clean.host_only.len(), clean.kiosk_only.len()),
        (1, 0, 0),
        "{clean:?}"
    );

    // An operation the host applied for this terminal that the journal never saw.
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(
            renshe_kiosk::backend::http::rustls_client_config(None).expect("tls config"),
        )
        .build()
        .expect("client");
    let r = sim.residents()[0].clone();
    let stray = client
        .post(format!("{}/v1/cards/loss-report", sim.url()))
        .header("X-Terminal-Id", TERMINAL)
        .header("Idempotency-Key", "stray-key")
        .body(format!(
            "{{\"person_id\":\"{}\",\"card_number\":\"{}\"}}",
            r.person_id, r.card_number
        ))
        .send()
        .await
        .expect("stray");
    assert_eq!(stray.status(), 200);
    let flagged = engine.reconcile_day(&today).await.expect("reconcile");
    assert_eq!(flagged.host_only, vec!["stray-key".to_string()]);
    assert_eq!(flagged.matched, 1);
    let other_day = engine.reconcile_day("2000-01-01").await.expect("reconcile");
    assert_eq!((other_day.matched, other_day.kiosk_only.len()), (0, 0));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sim_keeps_its_ledger_across_restarts_with_a_state_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("sim-state.json");
    let first = sim::start(SimOptions {
        state_file: Some(state.clone()),
        ..SimOptions::default()
    })
    .await
    .expect("start");
    let engine = engine(&dir, config(&[first.url().to_string()], 2_000, 1));
    let op = activation(&first);
    let key = engine
        .execute("st-1", op.clone())
        .await
        .expect("activate")
        .key()
        .to_string();
    first.shutdown().await;

    let second = sim::start(SimOptions {
        state_file: Some(state),
        ..SimOptions::default()
    })
    .await
    .expect("restart");
    assert_eq!(ledger_count(&second, &key), 1);
    // The card stayed activated, and the old key still replays instead of applying again.
    let restarted = engine_at(
        &dir,
        "kiosk2.db",
        config(&[second.url().to_string()], 2_000, 1),
    );
    let again = restarted.execute("st-2", op).await.expect("activate again");
    let Outcome::Rejected { error, .. } = again else {
        panic!("expected rejected, got {again:?}");
    };
    assert_eq!(error.code, ErrorCode::CardAlreadyActive);
    assert_eq!(second.ledger().len(), 1);
    second.shutdown().await;
}

fn engine_at(dir: &tempfile::TempDir, file: &str, config: BackendConfig) -> Engine {
    let store = Store::open(&dir.path().join(file)).expect("open store");
    Engine::new(store, config, TERMINAL).expect("engine")
}

struct TwoPoints;

impl sim::CatalogueProvider for TwoPoints {
    fn page(
        &self,
        since_version: u64,
        _after: Option<u32>,
        _limit: usize,
    ) -> renshe_kiosk::backend::api::CataloguePage {
        let points = renshe_kiosk::locator::catalogue::generate(
            renshe_kiosk::locator::catalogue::DEFAULT_SEED,
            1,
        );
        renshe_kiosk::backend::api::CataloguePage {
            version: 7,
            items: if since_version < 7 {
                points.into_iter().take(2).collect()
            } else {
                Vec::new()
            },
            removed: Vec::new(),
            more: false,
        }
    }
}

#[tokio::test]
async fn catalogue_sync_and_the_hsm_cryptogram_answer_in_contract_form() {
    let sim = sim::start(SimOptions {
        catalogue: std::sync::Arc::new(TwoPoints),
        ..SimOptions::default()
    })
    .await
    .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 2_000, 1));
    let page = engine
        .execute(
            "cat-1",
            Operation::CatalogueSync {
                since_version: 0,
                after: None,
                limit: None,
            },
        )
        .await
        .expect("sync");
    let Outcome::Applied {
        reply: Reply::Catalogue(page),
        ..
    } = page
    else {
        panic!("expected a catalogue page, got {page:?}");
    };
    assert_eq!((page.version, page.items.len()), (7, 2));
    let crypto = engine
        .execute(
            "hsm-1",
            Operation::CardCryptogram {
                card_id: "CQ3000000".into(),
                challenge: "0123456789ABCDEF".into(),
            },
        )
        .await
        .expect("cryptogram");
    let Outcome::Applied {
        reply: Reply::Cryptogram(c),
        ..
    } = crypto
    else {
        panic!("expected a cryptogram, got {crypto:?}");
    };
    assert_eq!(c.cryptogram.len(), 32);
    assert!(c.cryptogram.bytes().all(|b| b.is_ascii_hexdigit()));
    sim.shutdown().await;
}

/// The generated demo catalogue, noting the size of each page it serves. From page
/// `cut_after` on it answers with an empty page that still claims `more` (a broken back end).
struct NotedPages {
    inner: renshe_kiosk::shell::catalogue::GeneratedCatalogue,
    sizes: std::sync::Mutex<Vec<usize>>,
    cut_after: std::sync::atomic::AtomicUsize,
}

impl sim::CatalogueProvider for NotedPages {
    fn page(
        &self,
        since_version: u64,
        after: Option<u32>,
        limit: usize,
    ) -> renshe_kiosk::backend::api::CataloguePage {
        let mut sizes = self.sizes.lock().expect("sizes");
        if sizes.len() >= self.cut_after.load(std::sync::atomic::Ordering::SeqCst) {
            sizes.push(0);
            return renshe_kiosk::backend::api::CataloguePage {
                version: 1,
                items: Vec::new(),
                removed: Vec::new(),
                more: true,
            };
        }
        let page = self.inner.page(since_version, after, limit);
        sizes.push(page.items.len());
        page
    }
}

#[tokio::test]
async fn the_catalogue_syncs_in_bounded_pages_and_a_cut_off_sync_leaves_no_version() {
    use renshe_kiosk::locator::catalogue::{generate, CHONGQING_POINTS, DEFAULT_SEED};
    use renshe_kiosk::shell::catalogue::{sync, GeneratedCatalogue, SYNC_PAGE};
    let provider = std::sync::Arc::new(NotedPages {
        inner: GeneratedCatalogue::new(),
        sizes: std::sync::Mutex::default(),
        cut_after: std::sync::atomic::AtomicUsize::new(3),
    });
    let sim = sim::start(SimOptions {
        catalogue: provider.clone(),
        ..SimOptions::default()
    })
    .await
    .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(&dir, config(&[sim.url().to_string()], 5_000, 1));
    let mut store = Store::open(&dir.path().join("catalogue.db")).expect("catalogue store");

    // Three good pages, then one that claims more and brings nothing: refused, and what was
    // written is not taken for a catalogue.
    assert!(sync(&engine, &mut store).await.is_err());
    assert_eq!(store.catalogue_version().expect("version"), None);
    assert!(store.load_catalogue().expect("load").is_none());

    provider.sizes.lock().expect("sizes").clear();
    provider
        .cut_after
        .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    sync(&engine, &mut store).await.expect("a whole sync");
    let sizes = provider.sizes.lock().expect("sizes").clone();
    assert_eq!(sizes.len(), CHONGQING_POINTS.div_ceil(SYNC_PAGE as usize));
    assert!(
        sizes.iter().all(|&n| n > 0 && n <= SYNC_PAGE as usize),
        "{sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), CHONGQING_POINTS);
    let (version, points) = store.load_catalogue().expect("load").expect("a catalogue");
    assert_eq!(version, 1);
    assert_eq!(points.len(), 13_357);
    assert_eq!(points, generate(DEFAULT_SEED, 1));

    // Up to date: one request, nothing written.
    provider.sizes.lock().expect("sizes").clear();
    sync(&engine, &mut store).await.expect("an empty sync");
    assert_eq!(provider.sizes.lock().expect("sizes").len(), 1);
    assert_eq!(
        store.load_catalogue().expect("load").map(|(_, p)| p.len()),
        Some(13_357)
    );
    sim.shutdown().await;
}
