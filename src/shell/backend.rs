//! The back end in the running kiosk: the journal-first engine, recovery before serving,
//! the outbox relay and heartbeats, route availability as the network's health, and the
//! query flows. In demo mode it also starts the bundled demo back end in-process.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::backend::api::{self, CardState, ErrorCode, Operation, Reply};
use crate::backend::engine::{Availability, Engine, Outcome};
use crate::backend::sim::{self, KnownPerson, SimHandle, SimOptions};
use crate::card::sim::demo_residents;
use crate::config::Config;
use crate::core::identity::{mask_card_number, mask_name, Holder};
use crate::core::{DeviceHealth, DeviceKind, Event, QueryRow, ServiceId};
use crate::locator::catalogue::ServicePoint;
use crate::store::Store;

/// How often the relay drains the outbox and a heartbeat is queued.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);
/// How often route availability is looked at for the header's network state.
const AVAILABILITY_EVERY: Duration = Duration::from_secs(2);

pub struct BackendAdapter {
    /// False while journal entries with an unknown outcome remain: nobody is served until
    /// the back end has said what became of them.
    ready: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// What the next heartbeat reports: the devices' health as the header shows it.
    device_status: std::sync::Arc<std::sync::Mutex<(DeviceHealth, DeviceHealth)>>,
    engine: Engine,
    runtime: tokio::runtime::Handle,
    events: mpsc::Sender<Event>,
    _demo_backend: Option<SimHandle>,
}

impl BackendAdapter {
    /// Starts the engine and resolves every operation whose outcome is unknown before the
    /// kiosk serves anyone (the journal's promise after a crash or power loss).
    pub fn start(
        config: &Config,
        store: Store,
        runtime: &tokio::runtime::Runtime,
        events: mpsc::Sender<Event>,
    ) -> anyhow::Result<BackendAdapter> {
        let demo_backend = match &config.demo {
            Some(demo) => {
                let options = SimOptions {
                    listen: demo.backend_listen,
                    known_people: demo_known_people(),
                    catalogue: std::sync::Arc::new(super::catalogue::GeneratedCatalogue::new()),
                    ..SimOptions::default()
                };
                let handle = runtime.block_on(sim::start(options)).with_context(|| {
                    format!("cannot start the demo back end on {}", demo.backend_listen)
                })?;
                tracing::info!(url = %handle.url(), "demo back end started");
                Some(handle)
            }
            None => None,
        };
        let engine = Engine::new(store, config.backend.clone(), &config.terminal.id)?;
        let report = runtime.block_on(engine.recover())?;
        tracing::info!(
            applied = report.applied,
            rejected = report.rejected,
            voided = report.voided,
            unresolved = report.unresolved.len(),
            "journal recovered"
        );
        let network = if report.unresolved.is_empty() {
            DeviceHealth::Online
        } else {
            // Unknown outcomes stay unknown until the back end answers: the background
            // task keeps trying, and the header shows the network as offline meanwhile.
            DeviceHealth::Offline
        };
        let _ = events.send(Event::DeviceChanged(DeviceKind::Network, network));
        let device_status = std::sync::Arc::new(std::sync::Mutex::new((
            DeviceHealth::Unknown,
            DeviceHealth::Unknown,
        )));
        let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
            report.unresolved.is_empty(),
        ));
        runtime.spawn(background(
            ready.clone(),
            device_status.clone(),
            engine.clone(),
            events.clone(),
            report.unresolved,
        ));
        Ok(BackendAdapter {
            ready,
            device_status,
            engine,
            runtime: runtime.handle().clone(),
            events,
            _demo_backend: demo_backend,
        })
    }

    /// Tells the heartbeat what the card reader and printer look like now.
    pub fn report_devices(&self, card_reader: DeviceHealth, printer: DeviceHealth) {
        if let Ok(mut status) = self.device_status.lock() {
            *status = (card_reader, printer);
        }
    }

    /// Syncs the service-point catalogue into the store in the background (the first sync
    /// writes 13,357 rows: seconds, not something to keep a resident waiting for), then hands
    /// the stored copy to `deliver`. Offline, the stored copy is delivered as it is.
    pub fn load_service_points(
        &self,
        database: std::path::PathBuf,
        deliver: impl FnOnce(Vec<ServicePoint>) + Send + 'static,
    ) {
        let engine = self.engine.clone();
        self.runtime.spawn(async move {
            let started = Instant::now();
            match super::catalogue::sync_and_load(&engine, &database).await {
                Ok(Some((version, points))) => {
                    tracing::info!(
                        version,
                        points = points.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "service points loaded"
                    );
                    deliver(points);
                }
                Ok(None) => tracing::warn!("no service-point catalogue on this terminal yet"),
                Err(error) => tracing::warn!(%error, "service-point catalogue not loaded"),
            }
        });
    }

    /// Runs a query for `holder` and sends its answer as a core event. `reference` names
    /// the business operation (session and step), so a retry never runs it twice.
    pub fn run_query(&self, service: ServiceId, holder: Holder, reference: String) {
        if !self.ready.load(std::sync::atomic::Ordering::SeqCst) {
            let message_key = "query-error-unavailable";
            let _ = self.events.send(Event::QueryFailed {
                service,
                message_key,
            });
            return;
        }
        let engine = self.engine.clone();
        let events = self.events.clone();
        self.runtime.spawn(async move {
            let event = match query(&engine, service, &holder, &reference).await {
                Ok(rows) => Event::QueryAnswered { service, rows },
                Err(message_key) => Event::QueryFailed {
                    service,
                    message_key,
                },
            };
            let _ = events.send(event);
        });
    }
}

/// The demo card tray's residents, so their virtual cards find records at the demo back end.
fn demo_known_people() -> Vec<KnownPerson> {
    demo_residents()
        .into_iter()
        .map(|holder| KnownPerson {
            name: holder.name.clone(),
            id_number: holder.id_number.as_str().to_string(),
            card_number: holder.card_number.clone(),
        })
        .collect()
}

async fn background(
    ready: std::sync::Arc<std::sync::atomic::AtomicBool>,
    device_status: std::sync::Arc<std::sync::Mutex<(DeviceHealth, DeviceHealth)>>,
    engine: Engine,
    events: mpsc::Sender<Event>,
    mut unresolved: Vec<String>,
) {
    let started = Instant::now();
    let mut last_heartbeat: Option<Instant> = None;
    let mut last_health = None;
    loop {
        if !unresolved.is_empty() {
            if let Ok(report) = engine.recover().await {
                unresolved = report.unresolved;
            }
            ready.store(unresolved.is_empty(), std::sync::atomic::Ordering::SeqCst);
        }
        if last_heartbeat.is_none_or(|at| at.elapsed() >= HEARTBEAT_EVERY) {
            last_heartbeat = Some(Instant::now());
            let (card_reader, printer) = device_status
                .lock()
                .map(|status| *status)
                .unwrap_or((DeviceHealth::Unknown, DeviceHealth::Unknown));
            let status = api::DeviceStatus {
                card_reader: crate::ui::health_name(card_reader).into(),
                printer: crate::ui::health_name(printer).into(),
                paper: if printer == DeviceHealth::Online {
                    "ok"
                } else {
                    "unknown"
                }
                .into(),
                uptime_s: started.elapsed().as_secs(),
            };
            let reference = format!("heartbeat-{}", uuid::Uuid::new_v4());
            if let Err(error) = engine
                .defer(&reference, Operation::Heartbeat { status })
                .await
            {
                tracing::warn!(%error, "heartbeat not queued");
            }
            if let Err(error) = engine.relay_outbox().await {
                tracing::warn!(%error, "outbox relay failed");
            }
        }
        let reachable = engine
            .availability()
            .values()
            .any(|availability| *availability == Availability::Available);
        let health = if reachable && unresolved.is_empty() {
            DeviceHealth::Online
        } else {
            DeviceHealth::Offline
        };
        if last_health != Some(health) {
            last_health = Some(health);
            let _ = events.send(Event::DeviceChanged(DeviceKind::Network, health));
        }
        tokio::time::sleep(AVAILABILITY_EVERY).await;
    }
}

/// Identify the holder, then ask for the service's records; rows for the screen and paper.
async fn query(
    engine: &Engine,
    service: ServiceId,
    holder: &Holder,
    reference: &str,
) -> Result<Vec<QueryRow>, &'static str> {
    let identify = Operation::IdentifyHolder {
        id_number: holder.id_number.as_str().to_string(),
        card_number: Some(holder.card_number.clone()),
    };
    let record = match applied(
        engine
            .execute(&format!("{reference}/identify"), identify)
            .await,
    )? {
        Reply::Holder(record) => record,
        _ => return Err("query-error-unavailable"),
    };
    let person_id = record.person_id.clone();
    let operation = match service {
        ServiceId::CardStatus => return Ok(card_rows(holder, record.card_state)),
        ServiceId::EnrollmentQuery => Operation::QueryEnrollment { person_id },
        ServiceId::ContributionQuery => Operation::QueryContributions {
            person_id,
            from_year: 1990,
            to_year: 2026,
        },
        ServiceId::PensionPaymentQuery => Operation::QueryPensionPayments { person_id },
        ServiceId::MedicalAccountQuery => Operation::QueryMedicalAccount { person_id },
        _ => return Err("query-error-unavailable"),
    };
    let reply = applied(
        engine
            .execute(&format!("{reference}/{}", service.key()), operation)
            .await,
    )?;
    Ok(rows_for(reply))
}

fn applied(
    outcome: Result<Outcome, crate::backend::engine::EngineError>,
) -> Result<Reply, &'static str> {
    match outcome {
        Ok(Outcome::Applied { reply, .. }) => Ok(reply),
        Ok(Outcome::Rejected { error, .. }) => Err(match error.code {
            ErrorCode::NotFound => "query-error-not-found",
            ErrorCode::CardBlocked => "query-error-card-blocked",
            _ => "query-error-unavailable",
        }),
        Ok(Outcome::Unknown { .. }) => Err("query-error-unknown"),
        Ok(_) => Err("query-error-unavailable"),
        Err(error) => {
            tracing::warn!(%error, "query failed");
            Err("query-error-unavailable")
        }
    }
}

fn row(label_key: &'static str, label: String, value: String, value_key: &'static str) -> QueryRow {
    QueryRow {
        label_key,
        label,
        value,
        value_key,
    }
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        fen.unsigned_abs() / 100,
        fen.unsigned_abs() % 100
    )
}

fn card_rows(holder: &Holder, state: CardState) -> Vec<QueryRow> {
    let state_key = match state {
        CardState::Active => "card-state-active",
        CardState::NotActivated => "card-state-not-activated",
        CardState::TemporarilyLost => "card-state-temporarily-lost",
        CardState::Blocked => "card-state-blocked",
    };
    vec![
        row("row-name", String::new(), mask_name(&holder.name), ""),
        row(
            "row-card-number",
            String::new(),
            mask_card_number(&holder.card_number),
            "",
        ),
        row("row-card-state", String::new(), String::new(), state_key),
    ]
}

fn rows_for(reply: Reply) -> Vec<QueryRow> {
    match reply {
        Reply::Enrollment(enrollment) => enrollment
            .insurances
            .into_iter()
            .map(|insurance| {
                let kind = match insurance.kind.as_str() {
                    "pension" => "insurance-pension",
                    "medical" => "insurance-medical",
                    "unemployment" => "insurance-unemployment",
                    "work_injury" => "insurance-work-injury",
                    _ => "insurance-other",
                };
                let status = match insurance.status.as_str() {
                    "paying" => "insurance-status-paying",
                    "receiving" => "insurance-status-receiving",
                    "suspended" => "insurance-status-suspended",
                    _ => "insurance-status-other",
                };
                row(kind, String::new(), format!("{} ", insurance.since), status)
            })
            .collect(),
        Reply::Contributions(contributions) => {
            let mut rows = vec![row(
                "row-months-paid",
                String::new(),
                contributions.months.len().to_string(),
                "",
            )];
            // The most recent year, newest first: what residents come to check.
            rows.extend(contributions.months.iter().rev().take(12).map(|month| {
                row(
                    "",
                    month.month.clone(),
                    yuan(month.personal_fen as i64),
                    "unit-yuan",
                )
            }));
            rows
        }
        Reply::PensionPayments(payments) => payments
            .payments
            .iter()
            .rev()
            .map(|payment| {
                row(
                    "",
                    payment.month.clone(),
                    yuan(payment.amount_fen as i64),
                    "unit-yuan",
                )
            })
            .collect(),
        Reply::MedicalAccount(account) => vec![
            row(
                "row-balance",
                String::new(),
                yuan(account.balance_fen),
                "unit-yuan",
            ),
            row(
                "row-year-in",
                String::new(),
                yuan(account.year_in_fen as i64),
                "unit-yuan",
            ),
            row(
                "row-year-out",
                String::new(),
                yuan(account.year_out_fen as i64),
                "unit-yuan",
            ),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_yuan_with_two_decimals() {
        assert_eq!(yuan(81240), "812.40");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-1999), "-19.99");
    }
}
