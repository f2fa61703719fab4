//! The back end in the running kiosk: the journal-first engine, recovery before serving,
//! the outbox relay and heartbeats, route availability as the network's health, and the
//! query flows. In demo mode it also starts the bundled demo back end in-process.

use std::time::{Duration, Instant};

#[cfg(feature = "demo")]
use anyhow::Context;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::backend::api::{self, CardState, ErrorCode, Operation, Reply};
use crate::backend::engine::{Engine, Outcome};
use crate::config::Config;
use crate::core::identity::{mask_card_number, mask_name, Holder, IdNumber};
use crate::core::records::{self, Records, YearMonth};
use crate::core::{
    Answer, BackendProblem, BilingualMessage, CardAction, CardReply, CertificationReply,
    CertificationStatus, Confirmation, CycleState, Date, DeviceHealth, DeviceKind, EnrollmentLine,
    Event, FlowId, LivenessAction, LivenessChallenge, PersonFound, ProofAnswer, ProofKind,
    ProofMonth, ProofYear, ProxyChange, ProxyEntry, ProxyReply, QueryKind, RejectReason, Rejection,
    Request, Ticket, Verdict,
};
use crate::logging::event;
use crate::shell::events::EventSink;
use crate::store::Store;

/// How often the relay drains the outbox and a heartbeat is queued.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);
/// The least time between two heartbeats sent for status changes (a flapping device).
const CHANGE_HEARTBEAT_GAP: Duration = Duration::from_secs(1);
/// How often route availability is looked at for the header's network state.
const AVAILABILITY_EVERY: Duration = Duration::from_secs(2);
/// While offline, how often what waits in the outbox (a heartbeat at least) is sent as the
/// trial that finds the back end again.
const PROBE_EVERY: Duration = Duration::from_secs(5);

/// Called once when a journal write finds the disk full while the kiosk runs: the shell puts
/// up the out-of-service page (nothing can be journaled, so nothing may be served).
pub type DiskFull = Arc<dyn Fn() + Send + Sync>;
/// How often retention runs over the journal and the outbox.
const RETENTION_EVERY: Duration = Duration::from_secs(3_600);
/// Journal entries shipped per batch.
const JOURNAL_BATCH_ENTRIES: u32 = 500;

pub struct BackendAdapter {
    /// False while journal entries with an unknown outcome remain: nobody is served until
    /// the back end has said what became of them.
    ready: std::sync::Arc<std::sync::atomic::AtomicBool>,
    engine: Engine,
    runtime: tokio::runtime::Handle,
    events: EventSink,
    /// Requests in flight, by ticket, so an ended flow's can be abandoned.
    tasks: RefCell<Vec<InFlight>>,
    /// Names this run of the kiosk in every business reference: tickets start again from
    /// zero after a restart, and the journal must not take a new resident's `s0/f1/t0` for
    /// the last run's (it would answer with that resident's journaled result).
    run: String,
    /// Stamped by the background task on every turn; the watchdog pings only while fresh.
    check_in: crate::shell::supervisor::CheckIn,
    _demo_backend: Option<DemoBackend>,
}

impl BackendAdapter {
    /// Starts the engine and resolves every operation whose outcome is unknown before the
    /// kiosk serves anyone (the journal's promise after a crash or power loss).
    pub fn start(
        config: &Config,
        mut store: Store,
        runtime: &tokio::runtime::Runtime,
        events: EventSink,
        disk_full: DiskFull,
        metrics: crate::metrics::Metrics,
    ) -> anyhow::Result<BackendAdapter> {
        let demo_backend = start_demo_backend(config, runtime)?;
        // A chain that does not verify is reported, not refused: the kiosk still serves, and
        // the back end holds every shipped entry to compare with. Only what was appended
        // since the last check that passed is recomputed (a keyed mark in settings).
        let chain_broken_at = match store.journal_verify_chain_since_mark()? {
            Ok(entries) => {
                tracing::info!(
                    event = event::JOURNAL_CHAIN_VERIFIED,
                    entries,
                    "journal chain verified since the last start"
                );
                None
            }
            Err(error) => {
                tracing::error!(event = event::JOURNAL_CHAIN_BROKEN, %error, "the journal's chain does not verify: a technician must compare it with the back end's copy");
                Some(error.seq())
            }
        };
        let engine = Engine::new(store, config.backend.clone(), &config.terminal.id)?;
        engine.attach_metrics(metrics.clone());
        let report = runtime.block_on(engine.recover())?;
        tracing::info!(
            event = event::JOURNAL_RECOVERED,
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
        events.send(Event::DeviceChanged(DeviceKind::Network, network));
        let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
            report.unresolved.is_empty(),
        ));
        metrics.set_ready(report.unresolved.is_empty());
        let certificate_expiry = config.backend.tls.as_ref().and_then(|tls| {
            crate::backend::http::client_certificate_expiry(tls)
                .map_err(|error| tracing::warn!(%error, "client certificate expiry unknown"))
                .ok()
        });
        let check_in = crate::shell::supervisor::CheckIn::default();
        runtime.spawn(background(
            check_in.clone(),
            ready.clone(),
            metrics,
            engine.clone(),
            events.clone(),
            report.unresolved,
            certificate_expiry,
            chain_broken_at,
            disk_full,
        ));
        Ok(BackendAdapter {
            ready,
            engine,
            runtime: runtime.handle().clone(),
            events,
            tasks: RefCell::default(),
            run: uuid::Uuid::new_v4().simple().to_string(),
            check_in,
            _demo_backend: demo_backend,
        })
    }

    /// The background task's last check-in, for the watchdog (`shell::supervisor`).
    pub fn check_in(&self) -> crate::shell::supervisor::CheckIn {
        self.check_in.clone()
    }

    /// Syncs the service-point catalogue into the store in the background (the first sync
    /// writes 13,357 rows: seconds, not something to keep a resident waiting for), then hands
    /// the stored copy to `deliver`. Offline, the stored copy is delivered as it is.
    /// `finished` hears whether the sync reached the back end and a catalogue was delivered
    /// (a technician's "sync now" reports it).
    pub fn load_service_points(
        &self,
        database: std::path::PathBuf,
        key: crate::store::KeySource,
        deliver: impl FnOnce(crate::locator::Locator) + Send + 'static,
        finished: impl FnOnce(bool) + Send + 'static,
    ) {
        let engine = self.engine.clone();
        self.runtime.spawn(async move {
            let started = Instant::now();
            match super::catalogue::sync_and_load(&engine, &database, &key).await {
                Ok((synced, Some((version, locator)))) => {
                    tracing::info!(
                        event = event::CATALOGUE_LOADED,
                        version,
                        synced,
                        points = locator.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "service points loaded"
                    );
                    deliver(locator);
                    // The index is built: what its build freed goes back too.
                    super::trim_heap();
                    tracing::info!(ms = started.elapsed().as_millis() as u64, "finder ready");
                    finished(synced);
                }
                Ok((_, None)) => {
                    tracing::warn!(
                        event = event::CATALOGUE_FAILED,
                        "no service-point catalogue on this terminal yet"
                    );
                    finished(false);
                }
                Err(error) => {
                    tracing::warn!(
                        event = event::CATALOGUE_FAILED,
                        %error,
                        "service-point catalogue not loaded"
                    );
                    finished(false);
                }
            }
        });
    }

    /// The engine, for the shell's other parts that write to the store through it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Asks the back end for `ticket`'s request on behalf of `who`; the answer comes back
    /// as [`Event::Answered`] (records) or [`Event::CardServiceAnswered`] with the same
    /// ticket. The request's business operation is named by the ticket, so a retry of the
    /// same step never runs it twice.
    pub fn fetch(&self, ticket: Ticket, request: Request, who: Claimant) {
        self.tasks.borrow_mut().retain(|task| !task.finished());
        if !self.ready.load(std::sync::atomic::Ordering::SeqCst) {
            self.events.send(unavailable(ticket, &request));
            return;
        }
        let engine = self.engine.clone();
        let events = self.events.clone();
        let cancelled = Arc::new(AtomicBool::new(false));
        let stop = cancelled.clone();
        let reference = format!("{}/{}", self.run, ticket.reference());
        let task = self.runtime.spawn(async move {
            let event = match request {
                Request::Records(kind) => Event::Answered {
                    ticket,
                    result: records(&engine, kind, &who, &reference, &stop).await,
                },
                Request::LookUp(_) => Event::CardServiceAnswered {
                    ticket,
                    result: card_service(&engine, None, &who, &reference, &stop).await,
                },
                Request::Card { action, .. } => Event::CardServiceAnswered {
                    ticket,
                    result: card_service(&engine, Some(action), &who, &reference, &stop).await,
                },
                Request::CertificationStatus { .. } | Request::Certify { .. } => {
                    Event::CertificationAnswered {
                        ticket,
                        result: certification(&engine, &request, &who, &reference, &stop).await,
                    }
                }
                Request::Proxies { change, .. } => Event::ProxiesAnswered {
                    ticket,
                    result: proxies(&engine, change.as_ref(), &who, &reference, &stop).await,
                },
                Request::Proof { kind, ref years } => Event::ProofAnswered {
                    ticket,
                    result: proof(&engine, kind, years, &who, &reference, &stop)
                        .await
                        .map(Box::new),
                },
            };
            // The person's data goes with this task; an abandoned request's answer, too.
            drop(who);
            if !stop.load(Ordering::SeqCst) {
                events.send(event);
            }
        });
        self.tasks.borrow_mut().push(InFlight {
            ticket,
            cancelled,
            task,
        });
    }

    /// Abandons the requests of a flow that ended (`Some`) or of the whole session (`None`):
    /// a query nobody waits for need not hold the holder's data any longer. Mutations are
    /// not cancelled here: the journal owns their outcome.
    pub fn cancel(&self, flow: Option<FlowId>) {
        self.tasks.borrow_mut().retain(|task| {
            let belongs = flow.is_none_or(|flow| task.ticket.flow_id() == flow);
            if belongs {
                task.cancelled.store(true, Ordering::SeqCst);
            }
            !belongs
        });
    }
}

/// A request in flight. Cancelling it is cooperative: it stops before its next exchange
/// with the back end and sends nothing, but an exchange already on the wire completes, so
/// the journal and the route's breaker always learn how it ended.
struct InFlight {
    ticket: Ticket,
    cancelled: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl InFlight {
    fn finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// The demo back end running in-process; a terminal's build has none.
#[cfg(feature = "demo")]
type DemoBackend = crate::backend::sim::SimHandle;
#[cfg(not(feature = "demo"))]
type DemoBackend = std::convert::Infallible;

/// The demo card tray's residents, so their virtual cards find records at the demo back end.
#[cfg(feature = "demo")]
pub fn demo_known_people() -> Vec<crate::backend::sim::KnownPerson> {
    crate::card::sim::demo_residents()
        .into_iter()
        .map(|holder| crate::backend::sim::KnownPerson {
            name: holder.name.clone(),
            id_number: holder.id_number.as_str().to_string(),
            card_state: if holder.card_number == crate::card::sim::NOT_ACTIVATED_CARD {
                CardState::NotActivated
            } else {
                CardState::Active
            },
            card_number: holder.card_number.clone(),
        })
        .collect()
}

/// Starts the bundled demo back end when the configuration asks for one (`[demo]`); also
/// `diag` on a demo configuration.
#[cfg(feature = "demo")]
pub fn start_demo_backend(
    config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Option<DemoBackend>> {
    use crate::backend::sim::{self, SimOptions};
    let Some(demo) = &config.demo else {
        return Ok(None);
    };
    let known_people = demo_known_people();
    let options = SimOptions {
        listen: demo.backend_listen,
        known_people,
        catalogue: std::sync::Arc::new(super::catalogue::GeneratedCatalogue::new()),
        ..SimOptions::default()
    };
    let handle = runtime
        .block_on(sim::start(options))
        .with_context(|| format!("cannot start the demo back end on {}", demo.backend_listen))?;
    tracing::info!(url = %handle.url(), "demo back end started");
    Ok(Some(handle))
}

#[cfg(not(feature = "demo"))]
pub fn start_demo_backend(
    config: &Config,
    _runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Option<DemoBackend>> {
    match config.demo {
        Some(_) => anyhow::bail!(
            "this build has no demo back end (it was built without the demo feature); \
             remove [demo] from the configuration"
        ),
        None => Ok(None),
    }
}

#[allow(clippy::too_many_arguments)]
async fn background(
    check_in: crate::shell::supervisor::CheckIn,
    ready: std::sync::Arc<std::sync::atomic::AtomicBool>,
    metrics: crate::metrics::Metrics,
    engine: Engine,
    events: EventSink,
    mut unresolved: Vec<String>,
    certificate_expiry: Option<i64>,
    chain_broken_at: Option<i64>,
    disk_full: DiskFull,
) {
    let started = Instant::now();
    let mut last_heartbeat: Option<Instant> = None;
    // What the last heartbeat said: a different status now is sent at once.
    let mut last_sent: Option<crate::metrics::Status> = None;
    let mut last_retention: Option<Instant> = None;
    let mut records = RecordsHealth::default();
    let mut last_health = None;
    let mut last_probe: Option<Instant> = None;
    let mut out_of_service = false;
    loop {
        check_in.stamp();
        if engine.disk_full() && !out_of_service {
            // Nothing new starts; the page stays until a technician restarts the kiosk.
            out_of_service = true;
            ready.store(false, std::sync::atomic::Ordering::SeqCst);
            metrics.set_ready(false);
            metrics.set_mode(api::TerminalMode::OutOfService);
            tracing::error!(
                event = event::STORE_DISK_FULL,
                "the disk is full: out of service until a technician frees space and restarts the kiosk"
            );
            disk_full();
        }
        if !unresolved.is_empty() && !out_of_service {
            if let Ok(report) = engine.recover().await {
                unresolved = report.unresolved;
            }
            ready.store(unresolved.is_empty(), std::sync::atomic::Ordering::SeqCst);
            metrics.set_ready(unresolved.is_empty());
        }
        let periodic = last_heartbeat.is_none_or(|at| at.elapsed() >= HEARTBEAT_EVERY);
        let status = metrics.status();
        let changed = last_sent.is_some_and(|sent| sent != status)
            && last_heartbeat.is_none_or(|at| at.elapsed() >= CHANGE_HEARTBEAT_GAP);
        if periodic || changed {
            last_heartbeat = Some(Instant::now());
            last_sent = Some(status);
            let beat = heartbeat(
                &status,
                started.elapsed(),
                &records,
                chain_broken_at,
                certificate_expiry,
            );
            let reference = format!("heartbeat-{}", uuid::Uuid::new_v4());
            match engine
                .defer(&reference, Operation::Heartbeat { status: beat })
                .await
            {
                Ok(_) => {
                    metrics.heartbeat_queued(periodic);
                    tracing::debug!(
                        event = event::HEARTBEAT_QUEUED,
                        periodic,
                        "heartbeat queued"
                    );
                }
                Err(error) => {
                    tracing::warn!(event = event::HEARTBEAT_FAILED, %error, "heartbeat not queued")
                }
            }
            if periodic {
                if let Err(error) = engine.ship_journal(JOURNAL_BATCH_ENTRIES).await {
                    tracing::warn!(%error, "journal batch not queued");
                }
            }
            // A change goes out now, not at the next periodic pass.
            if let Err(error) = engine.relay_outbox().await {
                tracing::warn!(event = event::OUTBOX_RELAY_FAILED, %error, "outbox relay failed");
            }
            if periodic {
                records.look(&engine).await;
                metrics.quarantined(records.quarantined);
            }
        }
        observe_records(&engine, &metrics).await;
        if last_retention.is_none_or(|at| at.elapsed() >= RETENTION_EVERY) {
            last_retention = Some(Instant::now());
            match engine.retain().await {
                Ok((journal, outbox)) => tracing::info!(
                    event = event::RETENTION,
                    payloads = journal.payloads,
                    entries = journal.entries,
                    outbox,
                    "retention pass"
                ),
                Err(error) => tracing::warn!(%error, "retention pass failed"),
            }
        }
        let mut reachable = network_reachable(&engine);
        if !reachable && last_probe.is_none_or(|at| at.elapsed() >= PROBE_EVERY) {
            last_probe = Some(Instant::now());
            if let Err(error) = engine.flush_outbox().await {
                tracing::debug!(%error, "outbox trial failed");
            }
            reachable = network_reachable(&engine);
        }
        let health = if reachable && unresolved.is_empty() {
            DeviceHealth::Online
        } else {
            DeviceHealth::Offline
        };
        if last_health != Some(health) {
            if last_health == Some(DeviceHealth::Offline) && health == DeviceHealth::Online {
                // Back: what waited goes now, not each message after its own backoff.
                match engine.flush_outbox().await {
                    Ok(report) => tracing::info!(
                        sent = report.sent,
                        "back end reachable again; outbox flushed"
                    ),
                    Err(error) => tracing::warn!(%error, "outbox flush after reconnecting failed"),
                }
            }
            last_health = Some(health);
            events.send(Event::DeviceChanged(DeviceKind::Network, health));
        }
        // A status change (a device, the paper, the mode) wakes the loop for its heartbeat.
        tokio::select! {
            _ = tokio::time::sleep(AVAILABILITY_EVERY) => {}
            _ = metrics.changed() => {}
        }
    }
}

/// A heartbeat's body: the status in the contract's words, and the records' health.
fn heartbeat(
    status: &crate::metrics::Status,
    uptime: Duration,
    records: &RecordsHealth,
    chain_broken_at: Option<i64>,
    certificate_expiry: Option<i64>,
) -> api::DeviceStatus {
    use crate::metrics::Device;
    api::DeviceStatus {
        card_reader: status.device(Device::CardReader),
        printer: status.device(Device::Printer),
        paper: status.paper,
        camera: Some(status.device(Device::Camera)),
        a4_printer: Some(status.device(Device::A4Printer)),
        id_card_reader: Some(status.device(Device::IdCardReader)),
        mode: status.mode,
        uptime_s: uptime.as_secs(),
        version: crate::VERSION.into(),
        commit: crate::GIT_COMMIT.into(),
        quarantined: records.quarantined,
        reconciliation_differences: records.reconciliation_differences,
        journal_head: records.journal_head,
        journal_chain_broken_at: chain_broken_at,
        certificate_days_left: certificate_expiry.map(|expiry| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            (expiry - now).div_euclid(86_400)
        }),
    }
}

/// The breakers and the outbox into the metrics (every pass: in memory, and one small
/// query).
async fn observe_records(engine: &Engine, metrics: &crate::metrics::Metrics) {
    for (service, breakers) in engine.breakers() {
        let states: Vec<crate::metrics::BreakerState> =
            breakers.into_iter().map(Into::into).collect();
        metrics.breakers(service.as_str(), &states);
    }
    if let Ok(counts) = engine.outbox_counts().await {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let age = counts
            .oldest_pending_ms
            .map_or(0.0, |oldest| (now - oldest).max(0) as f64 / 1000.0);
        metrics.outbox(counts.pending, age);
    }
}

/// Whether the back end is reachable, as the header's network state: the terminal's own
/// route (heartbeats and journal shipping, exercised every [`HEARTBEAT_EVERY`] whatever
/// residents do) has an endpoint whose breaker is closed. The other routes are not asked:
/// a route nobody used lately has a closed breaker that proves nothing. A breaker whose
/// open time has run out lets a trial through but says nothing about the network either,
/// so the header stays offline until the trial succeeds.
fn network_reachable(engine: &Engine) -> bool {
    let closed = |route: &Vec<renshe_exactly_once::Breaker>| {
        route
            .iter()
            .any(|breaker| matches!(breaker, renshe_exactly_once::Breaker::Closed { .. }))
    };
    let breakers = engine.breakers();
    match breakers.get(&api::Service::Terminal) {
        Some(route) => closed(route),
        None => breakers.values().any(closed),
    }
}

/// What heartbeats say about the terminal's records.
#[derive(Default)]
struct RecordsHealth {
    quarantined: u32,
    reconciliation_differences: u32,
    journal_head: i64,
    /// The UTC day last reconciled with the back end (`YYYY-MM-DD`).
    reconciled: Option<String>,
}

impl RecordsHealth {
    /// Reads the quarantine and the chain's head, and once a day reconciles yesterday with
    /// the back end (对账), logging every difference for a technician.
    async fn look(&mut self, engine: &Engine) {
        if let Ok(quarantined) = engine.quarantined().await {
            self.quarantined = quarantined.len() as u32;
        }
        if let Ok(head) = engine.journal_head().await {
            self.journal_head = head;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let yesterday = api::utc_day(now - 86_400_000);
        if self.reconciled.as_deref() == Some(yesterday.as_str()) {
            return;
        }
        match engine.reconcile_day(&yesterday).await {
            Ok(report) => {
                let differences = report.host_only.len() + report.kiosk_only.len();
                self.reconciliation_differences = differences as u32;
                if differences > 0 {
                    tracing::error!(
                        event = event::RECONCILIATION_DIFFERENCES,
                        date = %report.date,
                        host_only = ?report.host_only,
                        kiosk_only = ?report.kiosk_only,
                        "daily reconciliation found differences"
                    );
                } else {
                    tracing::info!(event = event::RECONCILIATION_MATCHED, date = %report.date, matched = report.matched, "daily reconciliation matched");
                    // Retention may now purge that day (and everything before it).
                    let end_of_day =
                        (now - 86_400_000).div_euclid(86_400_000) * 86_400_000 + 86_400_000;
                    if let Err(error) = engine.mark_reconciled(end_of_day).await {
                        tracing::warn!(%error, "reconciliation not recorded");
                    }
                }
                self.reconciled = Some(yesterday);
            }
            Err(error) => {
                tracing::warn!(event = event::RECONCILIATION_FAILED, %error, "daily reconciliation not done; will retry")
            }
        }
    }
}

/// Who a request is for, as the shell knows it: the card's holder, the ID card's bearer, or
/// what the resident typed. Never logged; dropped with the request.
pub struct Claimant {
    pub id_number: String,
    /// Known from the social security card; looked up otherwise.
    pub card_number: Option<String>,
    pub name: NameCheck,
    /// The second person of a request, typed by the claimant: the pensioner they certify
    /// (帮你认), or the relative they bind (亲情代办).
    pub relative: Option<Box<Claimant>>,
    /// A face attempt's JPEG stills, in the challenge's order (certification only).
    pub stills: Vec<zeroize::Zeroizing<Vec<u8>>>,
}

impl Claimant {
    pub fn new(id_number: String, card_number: Option<String>, name: NameCheck) -> Claimant {
        Claimant {
            id_number,
            card_number,
            name,
            relative: None,
            stills: Vec::new(),
        }
    }
}

/// How the name the back end has for the ID number must match.
pub enum NameCheck {
    /// The card itself identifies: no name to compare.
    None,
    /// The ID card's name, character for character.
    Exact(String),
    /// Typed in pinyin letters: compared with the pinyin of the back end's name.
    Pinyin(String),
}

impl NameCheck {
    fn matches(&self, name: &str) -> bool {
        match self {
            NameCheck::None => true,
            NameCheck::Exact(expected) => expected.trim() == name.trim(),
            NameCheck::Pinyin(letters) => {
                // Toneless, without spaces: "zhangxiaofang" for 张晓芳.
                let spelled = crate::locator::text::pinyin_keys(name).full;
                !letters.is_empty() && spelled == *letters
            }
        }
    }
}

impl From<&Holder> for Claimant {
    fn from(holder: &Holder) -> Claimant {
        Claimant::new(
            holder.id_number.as_str().to_string(),
            Some(holder.card_number.clone()),
            NameCheck::None,
        )
    }
}

/// The answer to a request the back end could not be asked about.
pub fn unavailable(ticket: Ticket, request: &Request) -> Event {
    match request {
        Request::Records(_) => Event::Answered {
            ticket,
            result: Err(BackendProblem::RouteUnavailable),
        },
        Request::CertificationStatus { .. } | Request::Certify { .. } => {
            Event::CertificationAnswered {
                ticket,
                result: Err(BackendProblem::RouteUnavailable),
            }
        }
        Request::Proxies { .. } => Event::ProxiesAnswered {
            ticket,
            result: Err(BackendProblem::RouteUnavailable),
        },
        Request::Proof { .. } => Event::ProofAnswered {
            ticket,
            result: Err(BackendProblem::RouteUnavailable),
        },
        _ => Event::CardServiceAnswered {
            ticket,
            result: Err(BackendProblem::RouteUnavailable),
        },
    }
}

/// Identifies `who` at the back end; a name that does not match is "not found" (saying more
/// would confirm the ID number to whoever typed it).
async fn identify(
    engine: &Engine,
    who: &Claimant,
    reference: &str,
) -> Result<(api::Holder, String), BackendProblem> {
    let identify = Operation::IdentifyHolder {
        id_number: who.id_number.clone(),
        card_number: who.card_number.clone(),
    };
    match applied(
        engine
            .execute(&format!("{reference}/identify"), identify)
            .await,
    )? {
        (Reply::Holder(record), key) if who.name.matches(&record.name) => Ok((record, key)),
        (Reply::Holder(_), _) => Err(BackendProblem::Rejected {
            reason: Rejection::NotFound,
            message: None,
        }),
        _ => Err(BackendProblem::RouteUnavailable),
    }
}

/// A card service: who the person is and their card's state (`action` = `None`), or the
/// card mutation, sent exactly once for the reference.
async fn card_service(
    engine: &Engine,
    action: Option<CardAction>,
    who: &Claimant,
    reference: &str,
    cancelled: &AtomicBool,
) -> Result<CardReply, BackendProblem> {
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let (record, _) = identify(engine, who, reference).await?;
    let Some(action) = action else {
        return Ok(CardReply::Found(PersonFound {
            masked_name: mask_name(&record.name),
            masked_card_number: mask_card_number(&record.card_number),
            state: card_state(record.card_state),
        }));
    };
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let masked_card_number = mask_card_number(&record.card_number);
    let (person_id, card_number) = (record.person_id, record.card_number);
    let (operation, name) = match action {
        CardAction::Activate => (
            Operation::ActivateCard {
                person_id,
                card_number,
            },
            "activate",
        ),
        CardAction::ReportLoss => (
            Operation::ReportLoss {
                person_id,
                card_number,
            },
            "report-loss",
        ),
        CardAction::ReleaseLoss => (
            Operation::ReleaseLoss {
                person_id,
                card_number,
            },
            "release-loss",
        ),
    };
    match applied(
        engine
            .execute(&format!("{reference}/{name}"), operation)
            .await,
    )? {
        (Reply::Card(reply), key) => Ok(CardReply::Done(Confirmation {
            state: card_state(reply.card_state),
            masked_card_number,
            reference: short_reference(&key),
            verification_code: reply.verification_code,
            verify_url: reply.verify_url,
        })),
        _ => Err(BackendProblem::OutcomeUnknown),
    }
}

/// Pension certification: identify whoever is at the terminal (and, for 帮你认, the pensioner
/// they typed), then the status, or the attempt: its stills uploaded (not journaled: no
/// image reaches the disk), then the verdict asked for exactly once.
async fn certification(
    engine: &Engine,
    request: &Request,
    who: &Claimant,
    reference: &str,
    cancelled: &AtomicBool,
) -> Result<CertificationReply, BackendProblem> {
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let (present, _) = identify(engine, who, reference).await?;
    let (pensioner, helper) = match &who.relative {
        Some(pensioner) => {
            let (record, _) =
                identify(engine, pensioner, &format!("{reference}/pensioner")).await?;
            (record, Some(present.person_id))
        }
        None => (present, None),
    };
    let masked_name = mask_name(&pensioner.name);
    let person_id = pensioner.person_id;
    let (cycle_year, challenge_id) = match request {
        Request::Certify {
            cycle_year,
            challenge_id,
            ..
        } => (*cycle_year, challenge_id.clone()),
        _ => {
            let status = Operation::QueryCertification { person_id };
            return match applied(engine.execute(&format!("{reference}/status"), status).await)? {
                (Reply::CertificationStatus(reply), _) => {
                    certification_status(reply, masked_name).ok_or(BackendProblem::OutcomeUnknown)
                }
                _ => Err(BackendProblem::RouteUnavailable),
            };
        }
    };
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let upload = Operation::UploadCapture {
        person_id: person_id.clone(),
        challenge_id: challenge_id.clone(),
        frames: who
            .stills
            .iter()
            .map(|still| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(still.as_slice())
            })
            .collect(),
    };
    let uploaded = applied(
        engine
            .execute(&format!("{reference}/capture"), upload.clone())
            .await,
    );
    let capture_id = match uploaded {
        Ok((Reply::Capture(receipt), _)) => receipt.capture_id,
        // The route went down after the status: the attempt is queued, sealed in the
        // outbox with its journal entry, and sent once when the route is back.
        Err(BackendProblem::RouteUnavailable) => {
            let Operation::UploadCapture { frames, .. } = upload else {
                return Err(BackendProblem::RouteUnavailable);
            };
            let queued = Operation::QueueCertification {
                person_id,
                year: cycle_year,
                method: if helper.is_some() { "helper" } else { "self" }.into(),
                challenge_id,
                helper_person_id: helper,
                frames,
            };
            return match engine
                .defer(&format!("{reference}/certify-queued"), queued)
                .await
            {
                Ok(Outcome::Deferred { key }) => {
                    Ok(CertificationReply::Verdict(Verdict::Received {
                        reference: short_reference(&key),
                    }))
                }
                _ => Err(BackendProblem::RouteUnavailable),
            };
        }
        Ok(_) => return Err(BackendProblem::RouteUnavailable),
        Err(problem) => return Err(problem),
    };
    let submit = Operation::SubmitCertification {
        person_id,
        year: cycle_year,
        method: if helper.is_some() { "helper" } else { "self" }.into(),
        challenge_id,
        capture_id,
        helper_person_id: helper,
    };
    match applied(
        engine
            .execute(&format!("{reference}/certify"), submit)
            .await,
    )? {
        (Reply::Certification(receipt), key) => Ok(CertificationReply::Verdict(verdict(
            receipt,
            short_reference(&key),
        ))),
        _ => Err(BackendProblem::OutcomeUnknown),
    }
}

/// 亲情代办: identify the pensioner, then their relatives (a query, not journaled) or one
/// change, sent once for the reference with the back end's ids only; after a change the list
/// is read again for the screen.
async fn proxies(
    engine: &Engine,
    change: Option<&ProxyChange>,
    who: &Claimant,
    reference: &str,
    cancelled: &AtomicBool,
) -> Result<ProxyReply, BackendProblem> {
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let (pensioner, _) = identify(engine, who, reference).await?;
    let masked_name = mask_name(&pensioner.name);
    let person_id = pensioner.person_id;
    let list = |suffix: &'static str| {
        let person_id = person_id.clone();
        async move {
            let operation = Operation::ListProxies { person_id };
            match applied(
                engine
                    .execute(&format!("{reference}/{suffix}"), operation)
                    .await,
            )? {
                (Reply::Proxies(list), _) => Ok(list.proxies),
                _ => Err(BackendProblem::RouteUnavailable),
            }
        }
    };
    let entries = |proxies: &[api::Proxy]| -> Vec<ProxyEntry> {
        proxies
            .iter()
            .enumerate()
            .map(|(slot, proxy)| ProxyEntry {
                masked_name: mask_name(&proxy.proxy_name),
                masked_id: mask_id_number(&proxy.proxy_id_number),
                slot: slot as u8,
            })
            .collect()
    };
    let Some(change) = change else {
        let proxies = list("list").await?;
        return Ok(ProxyReply::List {
            masked_name,
            proxies: entries(&proxies),
        });
    };
    let (operation, name) = match change {
        ProxyChange::Add { .. } => {
            let Some(relative) = &who.relative else {
                return Err(BackendProblem::RouteUnavailable);
            };
            let (record, _) = identify(engine, relative, &format!("{reference}/relative")).await?;
            (
                Operation::AddProxy {
                    person_id: person_id.clone(),
                    proxy_person_id: record.person_id,
                },
                "add",
            )
        }
        ProxyChange::Remove { slot, masked_id } => {
            let proxies = list("before").await?;
            // The one the resident saw in that place, or nothing is removed.
            let proxy = proxies
                .get(usize::from(*slot))
                .filter(|proxy| mask_id_number(&proxy.proxy_id_number) == *masked_id)
                .ok_or(BackendProblem::Rejected {
                    reason: Rejection::NotFound,
                    message: None,
                })?;
            (
                Operation::RemoveProxy {
                    person_id: person_id.clone(),
                    proxy_person_id: proxy.proxy_person_id.clone(),
                },
                "remove",
            )
        }
    };
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let key = match applied(
        engine
            .execute(&format!("{reference}/{name}"), operation)
            .await,
    )? {
        (Reply::ProxyIds(_), key) => key,
        _ => return Err(BackendProblem::OutcomeUnknown),
    };
    let proxies = list("after").await.unwrap_or_default();
    Ok(ProxyReply::Changed {
        masked_name,
        proxies: entries(&proxies),
        reference: short_reference(&key),
    })
}

/// An ID number as the screen shows it: `500103********1234`; anything else all stars.
fn mask_id_number(text: &str) -> String {
    match crate::core::identity::IdNumber::parse(text) {
        Ok(number) => number.masked(),
        Err(_) => "*".repeat(text.chars().count().min(18)),
    }
}

/// A `YYYY-MM-DD` date from the back end.
fn date(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day = parts.next()?.parse().ok()?;
    (parts.next().is_none() && (1..=12).contains(&month) && (1..=31).contains(&day))
        .then_some(Date { year, month, day })
}

fn challenge(challenge: api::Challenge) -> Option<LivenessChallenge> {
    let actions = challenge
        .actions
        .iter()
        .map(|action| match action.as_str() {
            "blink" => Some(LivenessAction::Blink),
            "open_mouth" => Some(LivenessAction::OpenMouth),
            "nod" => Some(LivenessAction::Nod),
            "turn" => Some(LivenessAction::Turn),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    // An attempt asks for one to four actions; anything else is not an answer to show.
    (1..=4)
        .contains(&actions.len())
        .then_some(LivenessChallenge {
            id: challenge.id,
            actions,
        })
}

/// The back end's status as the core's; `None` when it does not hold together (a state
/// without its date, an action this build cannot show).
fn certification_status(
    reply: api::CertificationStatusReply,
    masked_name: String,
) -> Option<CertificationReply> {
    let state = match reply.state.as_str() {
        "due" => CycleState::Due {
            by: date(reply.due_by.as_deref()?)?,
        },
        "certified" => CycleState::Certified {
            until: date(reply.certified_until.as_deref()?)?,
        },
        "not_entitled" => CycleState::NotEntitled,
        _ => return None,
    };
    Some(CertificationReply::Status(CertificationStatus {
        masked_name,
        cycle_year: reply.cycle_year,
        state,
        last_certified: reply.last_certified.as_deref().and_then(date),
        challenge: challenge(reply.challenge)?,
        attempts_left: reply.attempts_left,
    }))
}

fn verdict(receipt: api::CertificationReceipt, reference: String) -> Verdict {
    match (receipt.verdict.as_str(), date(&receipt.certified_until)) {
        ("certified", Some(until)) => Verdict::Certified {
            until,
            reference,
            verification_code: receipt.verification_code,
            verify_url: receipt.verify_url,
        },
        _ => Verdict::Rejected {
            reason: match receipt.reason.as_deref() {
                Some("not_live") => RejectReason::NotLive,
                Some("no_match") => RejectReason::NoMatch,
                _ => RejectReason::PoorImage,
            },
            attempts_left: receipt.attempts_left,
            next: receipt.next_challenge.and_then(challenge),
        },
    }
}

/// Identify the holder, then ask for the records; the answer typed for the core.
async fn records(
    engine: &Engine,
    kind: QueryKind,
    who: &Claimant,
    reference: &str,
    cancelled: &AtomicBool,
) -> Result<Answer, BackendProblem> {
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let (record, identify_key) = identify(engine, who, reference).await?;
    let person_id = record.person_id.clone();
    let operation = match kind {
        QueryKind::CardStatus => {
            return Ok(Answer {
                records: Records::CardStatus {
                    masked_name: mask_name(&record.name),
                    masked_card_number: mask_card_number(&record.card_number),
                    state: card_state(record.card_state),
                },
                reference: short_reference(&identify_key),
            })
        }
        QueryKind::Enrollment => Operation::QueryEnrollment { person_id },
        QueryKind::Contributions { through_year } => Operation::QueryContributions {
            person_id,
            from_year: FIRST_CONTRIBUTION_YEAR,
            to_year: u16::try_from(through_year).unwrap_or(u16::MAX),
        },
        QueryKind::PensionPayments => Operation::QueryPensionPayments { person_id },
        QueryKind::MedicalAccount => Operation::QueryMedicalAccount { person_id },
    };
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let (reply, key) = applied(
        engine
            .execute(&format!("{reference}/records"), operation)
            .await,
    )?;
    let records = records_of(reply).ok_or(BackendProblem::RouteUnavailable)?;
    Ok(Answer {
        records,
        reference: short_reference(&key),
    })
}

/// Identify the holder, then have the back end issue the proof; its data typed and masked
/// for the core, its pages counted by laying it out.
async fn proof(
    engine: &Engine,
    kind: ProofKind,
    years: &[i32],
    who: &Claimant,
    reference: &str,
    cancelled: &AtomicBool,
) -> Result<ProofAnswer, BackendProblem> {
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let (record, _) = identify(engine, who, reference).await?;
    let operation = Operation::IssueProof {
        person_id: record.person_id.clone(),
        kind: match kind {
            ProofKind::Enrollment => "enrollment",
            ProofKind::Contributions => "contributions",
        }
        .into(),
        years: match kind {
            ProofKind::Enrollment => Vec::new(),
            ProofKind::Contributions => years
                .iter()
                .filter_map(|y| u16::try_from(*y).ok())
                .collect(),
        },
    };
    if cancelled.load(Ordering::SeqCst) {
        return Err(BackendProblem::RouteUnavailable);
    }
    let (reply, key) = applied(
        engine
            .execute(&format!("{reference}/proof"), operation)
            .await,
    )?;
    let Reply::Proof(reply) = reply else {
        return Err(BackendProblem::RouteUnavailable);
    };
    let masked_id_number = IdNumber::parse(&record.id_number)
        .map(|id| id.masked())
        .unwrap_or_else(|_| mask_card_number(&record.id_number));
    let mut answer = proof_answer(reply, kind, mask_name(&record.name), masked_id_number);
    answer.reference = short_reference(&key);
    answer.pages = super::a4::page_count(&answer).unwrap_or(0);
    Ok(answer)
}

/// The back end's proof as the core's; rows the back end garbles are left out, not guessed.
pub fn proof_answer(
    reply: api::ProofReply,
    kind: ProofKind,
    masked_name: String,
    masked_id_number: String,
) -> ProofAnswer {
    use base64::Engine as _;
    let enrollment = reply
        .insurances
        .into_iter()
        .map(|i| EnrollmentLine {
            kind: insurance_kind(&i.kind),
            status: insurance_status(&i.status),
            since: i.since,
            place: i.place,
        })
        .collect();
    let mut years: Vec<ProofYear> = Vec::new();
    let mut months: Vec<(YearMonth, api::ContributionMonth)> = reply
        .months
        .into_iter()
        .filter_map(|m| Some((YearMonth::parse(&m.month)?, m)))
        .collect();
    months.sort_by_key(|(month, _)| *month);
    for (month, m) in months {
        let row = ProofMonth {
            month: month.month,
            base_fen: m.base_fen,
            personal_fen: m.personal_fen,
            employer_fen: m.employer_fen,
            employer: m.employer,
        };
        match years.last_mut() {
            Some(year) if year.year == month.year => year.months.push(row),
            _ => years.push(ProofYear {
                year: month.year,
                months: vec![row],
            }),
        }
    }
    // A seal that does not decode is left out (the proof says none was given), never made up.
    let seal_png = reply.seal_png_base64.and_then(|text| {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .inspect_err(|_| tracing::warn!("the back end's seal is not base64; left out"))
            .ok()
    });
    ProofAnswer {
        kind,
        masked_name,
        masked_id_number,
        enrollment,
        years,
        verification_code: reply.verification_code,
        verify_url: reply.verify_url,
        issued_at: reply.issued_at,
        seal_png,
        pages: 0,
        reference: String::new(),
    }
}

fn insurance_kind(kind: &str) -> records::InsuranceKind {
    match kind {
        "pension" => records::InsuranceKind::Pension,
        "medical" => records::InsuranceKind::Medical,
        "unemployment" => records::InsuranceKind::Unemployment,
        "work_injury" => records::InsuranceKind::WorkInjury,
        _ => records::InsuranceKind::Other,
    }
}

fn insurance_status(status: &str) -> records::InsuranceStatus {
    match status {
        "paying" => records::InsuranceStatus::Paying,
        "receiving" => records::InsuranceStatus::Receiving,
        "suspended" => records::InsuranceStatus::Suspended,
        _ => records::InsuranceStatus::Other,
    }
}

/// The first year the contribution records of the city's system go back to.
const FIRST_CONTRIBUTION_YEAR: u16 = 1990;

/// The 流水号 on screen and paper: the first part of the operation's idempotency key, which
/// names the journal entry (a technician finds the full entry by it).
fn short_reference(key: &str) -> String {
    key.split('-').next().unwrap_or(key).to_uppercase()
}

/// The engine's outcome as the core's typed failure.
fn applied(
    outcome: Result<Outcome, crate::backend::engine::EngineError>,
) -> Result<(Reply, String), BackendProblem> {
    match outcome {
        Ok(Outcome::Applied { reply, key, .. }) => Ok((reply, key)),
        Ok(Outcome::Rejected { error, .. }) => Err(BackendProblem::Rejected {
            reason: match error.code {
                ErrorCode::NotFound => Rejection::NotFound,
                ErrorCode::CardBlocked | ErrorCode::CardAlreadyLost => Rejection::CardBlocked,
                ErrorCode::CardNotActivated => Rejection::CardNotActivated,
                ErrorCode::ProxyNotFound => Rejection::NotFound,
                _ => Rejection::Other,
            },
            message: Some(BilingualMessage {
                zh: error.message.zh,
                en: error.message.en,
            }),
        }),
        Ok(Outcome::Unknown { .. }) => Err(BackendProblem::OutcomeUnknown),
        Ok(_) => Err(BackendProblem::RouteUnavailable),
        Err(error) => {
            tracing::warn!(%error, "query failed");
            Err(BackendProblem::RouteUnavailable)
        }
    }
}

fn card_state(state: CardState) -> records::CardState {
    match state {
        CardState::Active => records::CardState::Active,
        CardState::NotActivated => records::CardState::NotActivated,
        CardState::TemporarilyLost => records::CardState::TemporarilyLost,
        CardState::Blocked => records::CardState::Blocked,
    }
}

/// The back end's reply as the core's records; `None` for a reply that is not records.
fn records_of(reply: Reply) -> Option<Records> {
    Some(match reply {
        Reply::Enrollment(enrollment) => Records::Enrollment(
            enrollment
                .insurances
                .into_iter()
                .map(|insurance| records::Insurance {
                    kind: insurance_kind(&insurance.kind),
                    status: insurance_status(&insurance.status),
                    since: insurance.since,
                })
                .collect(),
        ),
        Reply::Contributions(contributions) => {
            let mut months: Vec<records::ContributionMonth> = contributions
                .months
                .iter()
                .filter_map(|month| {
                    Some(records::ContributionMonth {
                        month: YearMonth::parse(&month.month)?,
                        base_fen: month.base_fen,
                        personal_fen: month.personal_fen,
                        employer_fen: month.employer_fen,
                    })
                })
                .collect();
            months.sort_by_key(|month| month.month);
            Records::Contributions(months)
        }
        Reply::PensionPayments(payments) => {
            let mut payments: Vec<records::PensionPayment> = payments
                .payments
                .iter()
                .filter_map(|payment| {
                    Some(records::PensionPayment {
                        month: YearMonth::parse(&payment.month)?,
                        amount_fen: payment.amount_fen,
                    })
                })
                .collect();
            payments.sort_by_key(|payment| payment.month);
            Records::PensionPayments(payments)
        }
        Reply::MedicalAccount(account) => Records::MedicalAccount(records::MedicalAccount {
            balance_fen: account.balance_fen,
            year_in_fen: account.year_in_fen,
            year_out_fen: account.year_out_fen,
            recent: account
                .recent
                .into_iter()
                .map(|item| records::MedicalSpending {
                    date: item.date,
                    place: item.place,
                    amount_fen: item.amount_fen,
                })
                .collect(),
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_short_and_upper_case() {
        assert_eq!(
            short_reference("3f2a9c1e-aaaa-bbbb-cccc-dddddddddddd"),
            "3F2A9C1E"
        );
    }

    #[test]
    fn months_the_back_end_garbles_are_left_out_not_guessed() {
        let reply = Reply::PensionPayments(api::PensionPayments {
            person_id: "p".into(),
            payments: vec![
                api::PensionPayment {
                    month: "2026-13".into(),
                    amount_fen: 1,
                },
                api::PensionPayment {
                    month: "2026-02".into(),
                    amount_fen: 2,
                },
            ],
        });
        let Some(Records::PensionPayments(payments)) = records_of(reply) else {
            panic!("not payments")
        };
        assert_eq!(payments.len(), 1);
    }
}
