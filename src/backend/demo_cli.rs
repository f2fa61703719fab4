//! The demo side of the back-end tools: `backend-sim` (the demo back end as a process) and
//! `soak` (scripted sessions against it, checked against its ledger). Built with the `demo`
//! feature only: a terminal has neither.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::api::{self, CardState, Operation};
use super::cli::{reconcile, runtime, BackendContext};
use super::engine::{Engine, EngineError, Outcome};
use super::sim::{self, SimOptions, TestPki};
use crate::store::Store;

#[derive(Debug, Clone, clap::Args)]
pub struct BackendSimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub listen: SocketAddr,
    /// Serve HTTPS with generated test certificates and require client certificates; the
    /// kiosk side (CA, terminal certificate and key) is written to --pki-dir.
    #[arg(long)]
    pub tls: bool,
    #[arg(long, default_value = "sim-pki")]
    pub pki_dir: PathBuf,
    /// Keep the ledger and idempotency store in this file across restarts.
    #[arg(long)]
    pub state: Option<PathBuf>,
    #[arg(long, default_value_t = sim::DEFAULT_SEED)]
    pub seed: u64,
    /// Initial fault plan as JSON, e.g. '{"reset":0.1,"duplicate":0.1}' (also switchable at
    /// run time with POST /admin/faults).
    #[arg(long)]
    pub faults: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// Scripted resident sessions to run.
    #[arg(long, default_value_t = 20)]
    pub sessions: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `renshe-kiosk backend-sim`: runs the demo back end until Ctrl-C.
pub fn run_backend_sim(args: &BackendSimArgs) -> anyhow::Result<()> {
    // Its /admin endpoints inject faults and show the ledger: never on a network.
    if !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "the demo back end listens on loopback only (its /admin endpoints must not face a network); got {}",
            args.listen
        );
    }
    let rt = runtime()?;
    rt.block_on(async {
        let tls = if args.tls {
            let pki = TestPki::generate("CQ-DEMO-0001")?;
            std::fs::create_dir_all(&args.pki_dir)?;
            let files = pki.write_client_files(&args.pki_dir)?;
            println!(
                "kiosk TLS files: ca_file = {:?}, client_cert_file = {:?}, client_key_file = {:?}",
                files.ca_file, files.client_cert_file, files.client_key_file
            );
            Some(pki.sim_tls())
        } else {
            None
        };
        let handle = sim::start(SimOptions {
            listen: args.listen,
            tls,
            state_file: args.state.clone(),
            seed: args.seed,
            ..SimOptions::default()
        })
        .await?;
        if let Some(json) = &args.faults {
            let plan: sim::FaultPlan =
                serde_json::from_str(json).context("--faults is not a valid fault plan")?;
            handle.set_faults(plan);
        }
        println!("demo back end listening on {}", handle.url());
        tokio::signal::ctrl_c().await?;
        handle.shutdown().await;
        Ok(())
    })
}

/// `renshe-kiosk outbox status|flush [--json]`.
/// What a soak run did and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SoakReport {
    pub sessions: u32,
    pub operations: u32,
    pub applied: u32,
    pub rejected: u32,
    /// Operations that went "unknown" and were later resolved.
    pub unknown_resolved: u32,
    /// Attempts voided (never reached the back end) and run again under a new key.
    pub voided_retried: u32,
    pub unavailable_retries: u32,
    pub recovered_at_start: u32,
    pub elapsed_ms: u64,
    pub operations_per_s: f64,
    /// Mutations the journal says were applied that the back end's ledger lacks.
    pub lost: u32,
    /// Mutations the back end applied more than once (by business reference).
    pub duplicated: u32,
    /// Whether the back end's ledger could be read (demo back end only).
    pub ledger_checked: bool,
    pub journal_chain_ok: bool,
}

/// One scripted step: a reference, and the operation (deferred ones go through the outbox).
struct Step {
    reference: String,
    op: Operation,
    deferred: bool,
}

/// The deterministic script of session `index`.
fn session_script(seed: u64, index: u32, residents: &[sim::Resident]) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003) ^ u64::from(index));
    let r = &residents[rng.random_range(0..residents.len())];
    let reference = |step: &str| format!("soak-{seed}-{index}-{step}");
    let person_id = r.person_id.clone();
    let card_number = r.card_number.clone();
    let mut steps = vec![
        Step {
            reference: reference("identify"),
            op: Operation::IdentifyHolder {
                id_number: r.id_number.clone(),
                card_number: Some(card_number.clone()),
            },
            deferred: false,
        },
        Step {
            reference: reference("enrollment"),
            op: Operation::QueryEnrollment {
                person_id: person_id.clone(),
            },
            deferred: false,
        },
        Step {
            reference: reference("contributions"),
            op: Operation::QueryContributions {
                person_id: person_id.clone(),
                from_year: 2020,
                to_year: 2026,
            },
            deferred: false,
        },
        Step {
            reference: reference("card-auth"),
            op: Operation::CardCryptogram {
                card_id: card_number.clone(),
                challenge: format!("{:016X}", rng.random::<u64>()),
            },
            deferred: false,
        },
    ];
    let mutation = |name: &str, op: Operation| Step {
        reference: reference(name),
        op,
        deferred: false,
    };
    match (r.card_state, rng.random_range(0..3)) {
        (CardState::NotActivated, _) => steps.push(mutation(
            "activate",
            Operation::ActivateCard {
                person_id: person_id.clone(),
                card_number: card_number.clone(),
            },
        )),
        (_, 0) => {
            steps.push(mutation(
                "loss-report",
                Operation::ReportLoss {
                    person_id: person_id.clone(),
                    card_number: card_number.clone(),
                },
            ));
            steps.push(mutation(
                "loss-release",
                Operation::ReleaseLoss {
                    person_id: person_id.clone(),
                    card_number: card_number.clone(),
                },
            ));
        }
        (_, 1) => {
            // Another synthetic resident (`P1000000N`) as the relative.
            let proxy_person_id = format!("P{:08}", 10_000_000 + rng.random_range(0..40));
            steps.push(mutation(
                "proxy-add",
                Operation::AddProxy {
                    person_id: person_id.clone(),
                    proxy_person_id: proxy_person_id.clone(),
                },
            ));
            steps.push(mutation(
                "proxy-remove",
                Operation::RemoveProxy {
                    person_id: person_id.clone(),
                    proxy_person_id,
                },
            ));
        }
        _ => steps.push(Step {
            reference: reference("pension"),
            op: Operation::QueryPensionPayments {
                person_id: person_id.clone(),
            },
            deferred: false,
        }),
    }
    steps.push(Step {
        reference: reference("certification"),
        op: Operation::SubmitCertification {
            person_id,
            year: 2026,
            method: "face".into(),
            challenge_id: String::new(),
            capture_id: String::new(),
            helper_person_id: None,
        },
        deferred: true,
    });
    if index.is_multiple_of(5) {
        steps.push(Step {
            reference: reference("heartbeat"),
            op: Operation::Heartbeat {
                status: api::DeviceStatus {
                    card_reader: api::DeviceState::Online,
                    printer: api::DeviceState::Online,
                    paper: api::PaperState::Full,
                    uptime_s: u64::from(index),
                    version: crate::VERSION.into(),
                    commit: crate::GIT_COMMIT.into(),
                    ..Default::default()
                },
            },
            deferred: true,
        });
    }
    steps
}

/// Runs one step to a final answer, resolving unknowns and re-running voided attempts.
async fn run_step(
    engine: &Engine,
    step: &Step,
    report: &mut SoakReport,
) -> Result<(), EngineError> {
    if step.deferred {
        engine.defer(&step.reference, step.op.clone()).await?;
        return Ok(());
    }
    let mut pause = Duration::from_millis(20);
    for _ in 0..400 {
        let outcome = match engine.execute(&step.reference, step.op.clone()).await {
            Ok(o) => o,
            Err(EngineError::Unavailable { .. }) => {
                report.unavailable_retries += 1;
                tokio::time::sleep(pause).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        match outcome {
            Outcome::Applied { .. } => {
                report.applied += 1;
                return Ok(());
            }
            Outcome::Rejected { .. } => {
                report.rejected += 1;
                return Ok(());
            }
            Outcome::Unknown { key, .. } => {
                // The resident is told the result is being confirmed; we ask with the same key.
                loop {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                    match engine.resolve(&key).await? {
                        Outcome::Unknown { .. } => continue,
                        Outcome::Voided { .. } => {
                            report.voided_retried += 1;
                            break;
                        }
                        Outcome::Applied { .. } => {
                            report.unknown_resolved += 1;
                            report.applied += 1;
                            return Ok(());
                        }
                        _ => {
                            report.unknown_resolved += 1;
                            report.rejected += 1;
                            return Ok(());
                        }
                    }
                }
            }
            Outcome::Voided { .. } => report.voided_retried += 1,
            Outcome::Deferred { .. } => return Ok(()),
        }
    }
    Err(EngineError::Unavailable {
        service: step.op.service().as_str(),
        reason: "gave up after 400 attempts".into(),
    })
}

/// `renshe-kiosk soak`: scripted resident sessions through the real engine and client
/// against the configured back end; safe to kill and restart at any point.
pub fn run_soak(args: &SoakArgs, ctx: &BackendContext) -> anyhow::Result<SoakReport> {
    let rt = runtime()?;
    let report = rt.block_on(soak(args, ctx))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "soak: {} sessions, {} operations in {} ms ({:.1} ops/s): applied {}, rejected {}, \
             unknown→resolved {}, voided→retried {}; lost {}, duplicated {} (ledger checked: {}), \
             journal chain ok: {}",
            report.sessions,
            report.operations,
            report.elapsed_ms,
            report.operations_per_s,
            report.applied,
            report.rejected,
            report.unknown_resolved,
            report.voided_retried,
            report.lost,
            report.duplicated,
            report.ledger_checked,
            report.journal_chain_ok
        );
    }
    if report.lost > 0 || report.duplicated > 0 || !report.journal_chain_ok {
        anyhow::bail!("soak found lost or duplicated operations, or a broken journal");
    }
    Ok(report)
}

async fn soak(args: &SoakArgs, ctx: &BackendContext) -> anyhow::Result<SoakReport> {
    // Scripted residents against a real back end would apply real mutations: demo only.
    for (service, route) in &ctx.config.routes {
        if let Some(endpoint) = route
            .endpoints
            .iter()
            .find(|endpoint| !crate::config::Config::is_loopback_url(endpoint))
        {
            anyhow::bail!(
                "soak runs only against a back end on this machine; backend.routes.{}.endpoints has {endpoint}",
                service.as_str()
            );
        }
    }
    let store = Store::open_with(&ctx.db, &ctx.key)
        .with_context(|| format!("opening {}", ctx.db.display()))?;
    let engine = Engine::new(store, ctx.config.clone(), &ctx.terminal_id)?;
    let started = Instant::now();
    let recovery = engine.recover_with(50, Duration::from_millis(100)).await?;
    anyhow::ensure!(
        recovery.unresolved.is_empty(),
        "{} operations are still unknown; refusing to serve",
        recovery.unresolved.len()
    );
    let mut report = SoakReport {
        sessions: args.sessions,
        recovered_at_start: recovery.applied + recovery.rejected + recovery.voided,
        ..SoakReport::default()
    };
    let residents = sim::synthetic_residents(sim::DEFAULT_SEED, sim::DEFAULT_RESIDENTS);
    for index in 0..args.sessions {
        for step in session_script(args.seed, index, &residents) {
            report.operations += 1;
            run_step(&engine, &step, &mut report).await?;
        }
        engine.relay_outbox().await?;
    }
    // Deliver everything deferred before reporting.
    for _ in 0..200 {
        engine.flush_outbox().await?;
        if engine.outbox_counts().await?.pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    report.elapsed_ms = elapsed.as_millis() as u64;
    report.operations_per_s = f64::from(report.operations) / elapsed.as_secs_f64().max(1e-9);
    check_against_ledger(&engine, &mut report).await?;
    Ok(report)
}

/// Compares the journal with the demo back end's ledger: each mutation reference applied
/// exactly once, and every applied key known to both.
async fn check_against_ledger(engine: &Engine, report: &mut SoakReport) -> anyhow::Result<()> {
    let (entries, chain) = engine.journal_audit().await?;
    report.journal_chain_ok = chain.is_ok();
    let Ok(ledger) = engine.fetch_demo_ledger().await else {
        return Ok(());
    };
    report.ledger_checked = true;
    let verdict = reconcile(&entries, &ledger, engine.terminal_id());
    report.lost = verdict.lost;
    report.duplicated = verdict.duplicated;
    Ok(())
}
