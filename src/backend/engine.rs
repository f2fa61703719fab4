//! The journal-first transaction engine: it carries out the exactly-once protocol of
//! `renshe-exactly-once`.
//!
//! The protocol itself — `intent` (durable) → `sent` (durable) → send with the key →
//! `result` + `completed`, or `unknown` → status query → `void` of a key that never arrived,
//! with retries, backoff and per-endpoint breakers — is a pure state machine
//! ([`renshe_exactly_once::Machine`], one per route). The engine only performs the I/O it
//! asks for: journal writes through the store, requests through the HTTP client, a timer at
//! the machine's `poll_timeout`. Every input carries `now` on the engine's monotonic clock
//! ([`Clock`]), so a wall-clock step stalls neither a retry nor the outbox.
//!
//! Queries (identify, records, the catalogue) are not journaled at all: the contract lets
//! them be re-evaluated, and their parameters and answers are the residents' personal data.
//! They, `defer` and the outbox relay stay outside the machine but share its breakers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::RngExt;
use renshe_exactly_once as eo;
use renshe_exactly_once::{Action, Answer, Begin, Failure, Final, Key, Millis, Standing};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::oneshot;

use super::api::{
    self, ApiError, JournalBatch, Operation, ParseError, Reply, Service, TxState, TxStatus,
};
use super::config::{BackendConfig, Route};
use super::http::{HttpClient, HttpError, Method, WireRequest};
use crate::store::journal::{self, EntryKind, JournalEntry, NewEntry};
use crate::store::outbox::{MessageState, NewMessage, OutboxCounts};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the journal holds an entry this build cannot read: {0}")]
    Journal(#[from] ParseError),
    #[error("service {service} is unavailable: {reason}")]
    Unavailable {
        service: &'static str,
        reason: String,
    },
    #[error("a store task failed: {0}")]
    Task(String),
    #[error("{0} is not a deferrable operation")]
    NotDeferrable(&'static str),
    #[error("an operation for this reference is already in flight")]
    InFlight,
}

impl EngineError {
    /// A journal write found the disk full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, EngineError::Store(error) if error.is_disk_full())
    }
}

/// How an operation ended (or where it stands).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied {
        key: String,
        reply: Reply,
        /// The back end replayed its stored answer (a duplicate delivery or a retry).
        replayed: bool,
    },
    Rejected {
        key: String,
        error: ApiError,
    },
    /// Sent, but the result is not known yet: tell the resident it is being confirmed and
    /// not to repeat the operation. The engine goes on resolving it in the background;
    /// `resolve` asks at once.
    Unknown {
        key: String,
        reason: String,
    },
    /// Never applied, and fenced at the back end so it never will be.
    Voided {
        key: String,
    },
    /// Queued in the outbox; the relay delivers it.
    Deferred {
        key: String,
    },
}

impl Outcome {
    pub fn key(&self) -> &str {
        match self {
            Outcome::Applied { key, .. }
            | Outcome::Rejected { key, .. }
            | Outcome::Unknown { key, .. }
            | Outcome::Voided { key }
            | Outcome::Deferred { key } => key,
        }
    }
}

/// Whether a service can be used right now (for the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Availability {
    Available,
    /// Every endpoint's breaker is open; retry after this long.
    Unavailable {
        retry_in_ms: u64,
    },
}

/// What `recover()` found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    pub applied: u32,
    pub rejected: u32,
    pub voided: u32,
    /// Keys still unknown (the back end could not be reached, or still executing them).
    pub unresolved: Vec<String>,
    /// Keys set aside this pass: unreadable, or too old to void (see `store::quarantine`).
    pub quarantined: Vec<String>,
}

/// What one relay pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    pub sent: u32,
    pub rejected: u32,
    pub retry_later: u32,
}

/// The result of a daily reconciliation with the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DailyReconciliation {
    pub date: String,
    pub matched: u32,
    /// Applied at the host, unknown to the journal as applied: a technician must look.
    pub host_only: Vec<String>,
    /// Journaled as applied, missing at the host.
    pub kiosk_only: Vec<String>,
}

/// What the attempt loop of a query or an outbox message got.
enum Exchange {
    /// A 2xx body that passed validation.
    Success { body: Vec<u8>, replayed: bool },
    /// A 4xx with a well-formed error body: a definite business answer.
    Rejected { status: u16, error: ApiError },
    /// No usable answer from any endpoint.
    Failed { reason: String },
}

/// The result payload journaled for a definite answer; also the machine's answer type.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum ResultRecord {
    Applied { body: String, replayed: bool },
    Rejected { status: u16, error: ApiError },
    Void { reason: String },
    Failed { reason: String },
}

impl ResultRecord {
    /// The outcome code the journal row keeps in the clear (reconciliation, retention).
    fn code(&self) -> &'static str {
        match self {
            ResultRecord::Applied { .. } => "applied",
            ResultRecord::Rejected { .. } => "rejected",
            ResultRecord::Void { .. } => "void",
            ResultRecord::Failed { .. } => "failed",
        }
    }
}

type Machine = eo::Machine<Operation, ResultRecord>;
type MachineEntry = eo::JournalEntry<Operation, ResultRecord>;

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The engine's monotonic clock, in milliseconds: `max(wall clock at start, last journaled
/// at)` plus the time elapsed since, on `Instant`. It never goes back, not even across
/// restarts, and a wall-clock step during the run changes nothing. The journal's
/// `recorded_at_ms` and the outbox's schedule (`next_attempt_ms`) are on it too; it agrees
/// with the wall clock unless the wall clock stepped.
#[derive(Clone, Copy, Debug)]
struct Clock {
    base: u64,
    start: Instant,
}

impl Clock {
    fn new(floor_ms: i64) -> Clock {
        Clock {
            base: wall_ms().max(floor_ms).max(0) as u64,
            start: Instant::now(),
        }
    }

    fn now(&self) -> Millis {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        Millis(self.base.saturating_add(elapsed))
    }

    fn ms(&self) -> i64 {
        i64::try_from(self.now().0).unwrap_or(i64::MAX)
    }

    fn instant(&self, at: Millis) -> tokio::time::Instant {
        let after = Duration::from_millis(at.0.saturating_sub(self.base));
        tokio::time::Instant::from_std(self.start + after)
    }
}

/// A random draw for the machine's jitter.
fn jitter() -> u32 {
    rand::rng().random::<u32>()
}

/// The machine's configuration for one route.
fn machine_config(config: &BackendConfig, route: &Route) -> eo::Config {
    eo::Config {
        endpoints: route.endpoints.len(),
        attempts_per_endpoint: route.attempts.max(1),
        retry: eo::Backoff {
            base: Millis(route.backoff_ms),
            cap: Millis(route.backoff_ms.saturating_mul(8)),
        },
        resolve: eo::Backoff {
            base: Millis(RESOLVE_BASE_MS),
            cap: Millis(RESOLVE_CAP_MS),
        },
        breaker: eo::BreakerPolicy {
            failure_threshold: config.breaker.failure_threshold.max(1),
            open: Millis(config.breaker.open_ms),
            trial_window: Millis(TRIAL_WINDOW_MS),
        },
        retention: Millis(config.key_retention_ms()),
    }
}

/// The first pause between two status rounds of an unknown, and the longest.
const RESOLVE_BASE_MS: u64 = 1_000;
const RESOLVE_CAP_MS: u64 = 60_000;
/// How long a trial call may hold a half-open breaker before another may try: longer than
/// any route's timeout with its retries.
const TRIAL_WINDOW_MS: u64 = 30_000;
/// Failure reasons kept per key for its `Unknown` outcome.
const REASONS_KEPT: usize = 8;

/// What the engine knows of a key besides what the machine holds.
#[derive(Clone)]
struct Meta {
    service: Service,
    operation: String,
    /// `sent` is journaled: a void is then a fence at the back end, not "never sent".
    sent: bool,
}

/// What a waiting caller wants to hear about a key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The first report (final, or "unknown" after the send failed): `execute`.
    Report,
    /// A final result, or that the status round ended without one: `resolve`, `recover`.
    Settled,
}

/// What a waiter is told.
enum Settled {
    Final(Final<ResultRecord>),
    Unknown(String),
    /// The status round gave no answer; the machine asks again after a pause.
    Paused(String),
    Quarantined(String),
    /// A journal write failed.
    Failed(String),
    /// The machine no longer holds the key (it finished and was forgotten): read the journal.
    Gone,
}

struct Waiter {
    key: String,
    wait: Wait,
    tx: oneshot::Sender<Settled>,
}

/// The machines and whoever waits on them. Locked briefly, never across an await.
struct Core {
    machines: BTreeMap<Service, Machine>,
    meta: HashMap<String, Meta>,
    waiters: Vec<Waiter>,
    reasons: HashMap<String, Vec<String>>,
    /// The earliest timer task already sleeping.
    timer_at: Option<Millis>,
}

impl Core {
    fn machine_of(&mut self, key: &str) -> Option<&mut Machine> {
        let service = self.meta.get(key)?.service;
        self.machines.get_mut(&service)
    }

    fn push_reason(&mut self, key: &str, reason: String) {
        let list = self.reasons.entry(key.to_string()).or_default();
        if list.len() >= REASONS_KEPT {
            list.remove(0);
        }
        list.push(reason);
    }

    /// The failure reasons gathered for `key` since last asked.
    fn take_reason(&mut self, key: &str, default: &str) -> String {
        match self.reasons.remove(key) {
            Some(list) if !list.is_empty() => list.join("; "),
            _ => default.to_string(),
        }
    }

    fn wait(&mut self, key: &str, wait: Wait) -> oneshot::Receiver<Settled> {
        let (tx, rx) = oneshot::channel();
        self.waiters.push(Waiter {
            key: key.to_string(),
            wait,
            tx,
        });
        rx
    }

    /// Tells the waiters on `key` that `pick` accepts.
    fn settle(&mut self, key: &str, mut pick: impl FnMut(&mut Self, Wait) -> Option<Settled>) {
        let waiters = std::mem::take(&mut self.waiters);
        for w in waiters {
            if w.key != key {
                self.waiters.push(w);
                continue;
            }
            match pick(self, w.wait) {
                Some(settled) => {
                    let _ = w.tx.send(settled);
                }
                None => self.waiters.push(w),
            }
        }
    }

    fn on_report(&mut self, report: eo::Report<ResultRecord>) {
        let key = report.key.0.clone();
        match report.outcome {
            eo::Outcome::Final(result) => {
                self.settle(&key, |_, _| Some(Settled::Final(result.clone())));
                // The journal holds it now; `execute` reads it back for a later call.
                if let Some(m) = self.machine_of(&key) {
                    let _ = m.forget(&report.key);
                }
                self.meta.remove(&key);
                self.reasons.remove(&key);
            }
            eo::Outcome::Unknown => self.settle(&key, |core, wait| {
                (wait == Wait::Report)
                    .then(|| Settled::Unknown(core.take_reason(&key, "no definite answer")))
            }),
        }
    }

    /// Waiters whose key's standing answers them (paused, done, quarantined, forgotten).
    fn check_standing(&mut self) {
        let keys: Vec<String> = self.waiters.iter().map(|w| w.key.clone()).collect();
        for key in keys {
            let standing = self
                .machine_of(&key)
                .and_then(|m| m.standing(&Key(key.clone())));
            self.settle(&key, |core, wait| match &standing {
                None => Some(Settled::Gone),
                Some(Standing::Done(result)) => Some(Settled::Final(result.clone())),
                Some(Standing::Quarantined) => {
                    Some(Settled::Quarantined("set aside for a technician".into()))
                }
                Some(Standing::Paused { .. }) if wait == Wait::Settled => Some(Settled::Paused(
                    core.take_reason(&key, "still in progress at the back end"),
                )),
                Some(_) => None,
            });
        }
    }
}

/// I/O the machine asked for, done in its own task so a cancelled caller cannot lose it.
enum Work {
    // Boxed: an action carries an operation, whose largest variants hold a face attempt.
    Io(Service, Box<Action<Operation, ResultRecord>>),
    Quarantine {
        key: String,
        operation: String,
        reason: String,
    },
    Timer(Millis),
}

struct Inner {
    store: Mutex<Store>,
    client: HttpClient,
    config: BackendConfig,
    terminal_id: String,
    clock: Clock,
    core: Mutex<Core>,
    /// Business references with an operation running in this process: one at a time each,
    /// and recovery leaves their keys alone.
    in_flight: Mutex<HashMap<String, Option<String>>>,
    /// Every `Engine` handle is gone: start no more I/O (what is out finishes; the journal
    /// keeps the rest for the next recovery, as after a crash).
    stopped: AtomicBool,
    /// The last journal write found the disk full; cleared by the next that goes through.
    disk_full: AtomicBool,
    /// Where transactions and exchange times are counted (the kiosk's; tools have none).
    metrics: std::sync::OnceLock<crate::metrics::Metrics>,
}

/// One HTTP exchange with `service`'s endpoint, its time into the route's histogram.
async fn send_timed(
    inner: &Inner,
    service: Service,
    request: &WireRequest<'_>,
) -> Result<super::http::WireResponse, HttpError> {
    let started = Instant::now();
    let result = inner.client.send(request).await;
    if let Some(metrics) = inner.metrics.get() {
        metrics.backend_request(service.as_str(), started.elapsed().as_secs_f64());
    }
    result
}

/// The word the transactions metric uses for how an operation ended.
fn outcome_label(result: &Result<Outcome, EngineError>) -> &'static str {
    match result {
        Ok(Outcome::Applied { .. }) => "applied",
        Ok(Outcome::Rejected { .. }) => "rejected",
        Ok(Outcome::Unknown { .. }) => "unknown",
        Ok(Outcome::Voided { .. }) => "voided",
        Ok(Outcome::Deferred { .. }) => "deferred",
        Err(EngineError::Unavailable { .. }) => "unavailable",
        Err(_) => "error",
    }
}

/// Held by every `Engine` handle; when the last goes, the machines stop driving.
struct Alive {
    inner: Weak<Inner>,
}

impl Drop for Alive {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.stopped.store(true, Ordering::SeqCst);
        }
    }
}

/// Marks a reference in flight until dropped (also when its task is cancelled).
struct InFlight {
    inner: Arc<Inner>,
    reference: String,
}

impl InFlight {
    fn claim(inner: &Arc<Inner>, reference: &str) -> Result<InFlight, EngineError> {
        let mut map = lock(&inner.in_flight);
        if map.contains_key(reference) {
            return Err(EngineError::InFlight);
        }
        map.insert(reference.to_string(), None);
        Ok(InFlight {
            inner: inner.clone(),
            reference: reference.to_string(),
        })
    }

    /// Records the key the reference's operation runs under.
    fn key(&self, key: &str) {
        lock(&self.inner.in_flight).insert(self.reference.clone(), Some(key.to_string()));
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.inner.in_flight).remove(&self.reference);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Runs `f` on the store in a blocking task (SQLite commits wait for fsync).
async fn with_store<T, F>(inner: &Arc<Inner>, f: F) -> Result<T, EngineError>
where
    T: Send + 'static,
    F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
{
    let inner = inner.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = inner
            .store
            .lock()
            .map_err(|_| EngineError::Task("store lock poisoned".into()))?;
        f(&mut store).map_err(EngineError::from)
    })
    .await
    .map_err(|e| EngineError::Task(e.to_string()))?
}

/// Takes every action out of the machines: reports and quarantines are handled here, I/O
/// goes to tasks of its own, and a timer is set for the earliest `poll_timeout`. Called
/// after every input to a machine.
fn pump(inner: &Arc<Inner>) {
    if inner.stopped.load(Ordering::SeqCst) {
        return;
    }
    let mut work = Vec::new();
    {
        let mut guard = lock(&inner.core);
        let core = &mut *guard;
        loop {
            let mut actions = Vec::new();
            for (service, machine) in core.machines.iter_mut() {
                while let Some(action) = machine.poll_action() {
                    actions.push((*service, action));
                }
            }
            if actions.is_empty() {
                break;
            }
            for (service, action) in actions {
                match action {
                    Action::Report(report) => core.on_report(report),
                    Action::Quarantine { key, reason, .. } => {
                        let eo::QuarantineReason::PastRetention { age } = reason;
                        let retention = inner.config.key_retention_ms();
                        let reason = format!(
                            "not found at the back end {} h after it was sent, past its \
                             retention of {} h: not voided",
                            age.0 / 3_600_000,
                            retention / 3_600_000
                        );
                        let operation = core
                            .meta
                            .get(&key.0)
                            .map(|m| m.operation.clone())
                            .unwrap_or_default();
                        let text = reason.clone();
                        core.settle(&key.0, |_, _| Some(Settled::Quarantined(text.clone())));
                        work.push(Work::Quarantine {
                            key: key.0,
                            operation,
                            reason,
                        });
                    }
                    other => work.push(Work::Io(service, Box::new(other))),
                }
            }
        }
        core.check_standing();
        let next = core
            .machines
            .values()
            .filter_map(|m| m.poll_timeout())
            .min();
        if let Some(next) = next {
            if core.timer_at.is_none_or(|t| next < t) {
                core.timer_at = Some(next);
                work.push(Work::Timer(next));
            }
        }
    }
    for w in work {
        match w {
            Work::Timer(at) => {
                tokio::spawn(timer(Arc::downgrade(inner), at));
            }
            w => {
                tokio::spawn(perform(inner.clone(), w));
            }
        }
    }
}

/// Sleeps until the machines' earliest `poll_timeout`, then hands them the time. Holds the
/// engine only weakly: a dropped engine is not kept alive by its timer.
async fn timer(inner: Weak<Inner>, at: Millis) {
    let due = match inner.upgrade() {
        Some(inner) => inner.clock.instant(at),
        None => return,
    };
    let due = due.max(tokio::time::Instant::now() + Duration::from_millis(1));
    tokio::time::sleep_until(due).await;
    let Some(inner) = inner.upgrade() else {
        return;
    };
    if inner.stopped.load(Ordering::SeqCst) {
        return;
    }
    {
        let mut core = lock(&inner.core);
        if core.timer_at == Some(at) {
            core.timer_at = None;
        }
        let now = inner.clock.now();
        for machine in core.machines.values_mut() {
            machine.handle_timeout(now, jitter());
        }
    }
    pump(&inner);
}

async fn perform(inner: Arc<Inner>, work: Work) {
    match work {
        Work::Timer(_) => {}
        Work::Quarantine {
            key,
            operation,
            reason,
        } => {
            tracing::error!(
                event = crate::logging::event::JOURNAL_QUARANTINED,
                key,
                operation,
                reason,
                "journal entry quarantined"
            );
            let at = inner.clock.ms();
            let result =
                with_store(&inner, move |s| s.quarantine(&key, &operation, &reason, at)).await;
            if let Err(error) = result {
                tracing::error!(%error, "cannot record a quarantine");
            }
        }
        Work::Io(service, action) => match *action {
            Action::Journal(entry) => journal_write(&inner, service, entry).await,
            Action::Send {
                key,
                endpoint,
                attempt,
                op,
            } => send(&inner, service, key, endpoint, attempt, op).await,
            Action::QueryStatus {
                key,
                endpoint,
                attempt,
            } => status(&inner, service, key, endpoint, attempt, false).await,
            Action::Void {
                key,
                endpoint,
                attempt,
            } => status(&inner, service, key, endpoint, attempt, true).await,
            Action::Report(_) | Action::Quarantine { .. } => {}
        },
    }
    pump(&inner);
}

/// The parts of a journal entry the engine writes, owned so they can move to a store task.
#[derive(Clone)]
struct Record {
    kind: EntryKind,
    key: String,
    reference: String,
    service: Service,
    operation: String,
    outcome: Option<&'static str>,
    payload: String,
}

/// `Action::Journal`: the machine's record as journal rows, made durable, then
/// acknowledged. `completed` is the `result` row (sealed `ResultRecord`, outcome code in
/// the clear) and the `completed` row in one commit.
async fn journal_write(inner: &Arc<Inner>, service: Service, entry: MachineEntry) {
    let key = entry.key.0.clone();
    let (meta, reason) = {
        let core = lock(&inner.core);
        let meta = core.meta.get(&key).cloned().unwrap_or(Meta {
            service,
            operation: String::new(),
            sent: false,
        });
        let reason = match entry.record {
            eo::Record::Unknown => core.reasons.get(&key).map(|r| r.join("; ")),
            _ => None,
        };
        (meta, reason)
    };
    let record = |kind: EntryKind, payload: String| Record {
        kind,
        key: key.clone(),
        reference: entry.reference.0.clone(),
        service: meta.service,
        operation: meta.operation.clone(),
        outcome: None,
        payload,
    };
    let at = i64::try_from(entry.at.0).unwrap_or(i64::MAX);
    let terminal = inner.terminal_id.clone();
    let records = match &entry.record {
        eo::Record::Intent(op) => {
            let intent = record(EntryKind::Intent, op.to_journal());
            // The history check and the intent are one IMMEDIATE transaction: no second
            // operation can start for the reference between them.
            let begun = with_store(inner, move |s| {
                s.journal_begin(&new_entry(&terminal, &intent, at))
            })
            .await;
            let failure = match begun {
                Ok(Ok(_)) => {
                    inner.disk_full.store(false, Ordering::SeqCst);
                    None
                }
                Ok(Err(_)) => Some("the reference already has an open operation".to_string()),
                Err(e) => {
                    inner.disk_full.store(e.is_disk_full(), Ordering::SeqCst);
                    Some(e.to_string())
                }
            };
            let mut core = lock(&inner.core);
            match failure {
                None => acknowledge(&mut core, inner.clock.now(), &entry.key),
                Some(reason) => {
                    // Nothing was written, nothing sent: as though never begun.
                    tracing::error!(
                        event = crate::logging::event::JOURNAL_WRITE_FAILED,
                        key,
                        %reason,
                        "intent not journaled"
                    );
                    if let Some(m) = core.machine_of(&key) {
                        let _ = m.abandon(&entry.key);
                    }
                    core.settle(&key, |_, _| Some(Settled::Failed(reason.clone())));
                    core.meta.remove(&key);
                }
            }
            return;
        }
        eo::Record::Sent => vec![record(EntryKind::Sent, "{}".into())],
        eo::Record::Unknown => {
            let reason = reason.unwrap_or_else(|| "no definite answer".into());
            vec![record(
                EntryKind::Unknown,
                json!({ "reason": reason }).to_string(),
            )]
        }
        eo::Record::Completed(result) => {
            let result = match result {
                Final::Applied(r) | Final::Rejected(r) => r.clone(),
                Final::Voided => ResultRecord::Void {
                    reason: if meta.sent {
                        "never reached the back end; voided".into()
                    } else {
                        "never sent".into()
                    },
                },
            };
            vec![
                result_record(record(EntryKind::Result, String::new()), &result),
                record(EntryKind::Completed, "{}".into()),
            ]
        }
    };
    let sent = matches!(entry.record, eo::Record::Sent);
    // Durability comes first: the key waits until the write goes through.
    let mut pause = Duration::from_millis(200);
    loop {
        let (terminal, records) = (inner.terminal_id.clone(), records.clone());
        let written = with_store(inner, move |s| {
            let entries: Vec<NewEntry<'_>> = records
                .iter()
                .map(|r| new_entry(&terminal, r, at))
                .collect();
            s.journal_append(&entries).map(|_| ())
        })
        .await;
        let done = {
            let mut core = lock(&inner.core);
            match written {
                Ok(()) => {
                    inner.disk_full.store(false, Ordering::SeqCst);
                    if sent {
                        if let Some(m) = core.meta.get_mut(&key) {
                            m.sent = true;
                        }
                    }
                    acknowledge(&mut core, inner.clock.now(), &entry.key);
                    true
                }
                Err(error) => {
                    inner
                        .disk_full
                        .store(error.is_disk_full(), Ordering::SeqCst);
                    tracing::error!(
                        event = crate::logging::event::JOURNAL_WRITE_FAILED,
                        key,
                        %error,
                        "journal write failed; retrying"
                    );
                    let text = error.to_string();
                    core.settle(&key, |_, _| Some(Settled::Failed(text.clone())));
                    false
                }
            }
        };
        if done {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

fn acknowledge(core: &mut Core, now: Millis, key: &Key) {
    if let Some(m) = core.machine_of(&key.0) {
        if let Err(error) = m.journaled(now, key) {
            tracing::error!(%error, "journal acknowledgement refused");
        }
    }
}

/// `Action::Send`: the operation with its key to one endpoint; the HTTP answer as an
/// [`Answer`].
async fn send(
    inner: &Arc<Inner>,
    service: Service,
    key: Key,
    endpoint: eo::Endpoint,
    attempt: u32,
    op: Operation,
) {
    let route = inner.config.route(service);
    let url = route.and_then(|r| r.endpoints.get(endpoint.0));
    let (answer, reason) = match (route, url) {
        (Some(route), Some(url)) => {
            let (path, body) = (op.path(), op.body());
            let request = WireRequest {
                method: Method::Post,
                base_url: url,
                path: &path,
                body: Some(&body),
                idempotency_key: &key.0,
                timeout: Duration::from_millis(route.timeout_ms),
            };
            match send_timed(inner, service, &request).await {
                Ok(r) if (200..300).contains(&r.status) => match api::parse_reply(&op, &r.body) {
                    Ok(_) => (
                        Answer::Applied(ResultRecord::Applied {
                            body: String::from_utf8_lossy(&r.body).into_owned(),
                            replayed: r.replayed,
                        }),
                        None,
                    ),
                    Err(e) => (Answer::Garbled, Some(format!("{url}: {e}"))),
                },
                Ok(r) if (400..500).contains(&r.status) => match ApiError::parse(&r.body) {
                    Ok(error) => (
                        Answer::Rejected(ResultRecord::Rejected {
                            status: r.status,
                            error,
                        }),
                        None,
                    ),
                    Err(e) => (
                        Answer::Garbled,
                        Some(format!("{url}: HTTP {}: {e}", r.status)),
                    ),
                },
                Ok(r) => (Answer::Garbled, Some(format!("{url}: HTTP {}", r.status))),
                Err(e) => (
                    match e {
                        HttpError::Connect { .. } => Answer::ConnectFailed,
                        HttpError::Timeout { .. } => Answer::Timeout,
                        _ => Answer::Garbled,
                    },
                    Some(e.to_string()),
                ),
            }
        }
        _ => (
            Answer::ConnectFailed,
            Some(format!(
                "no endpoint {} for {}",
                endpoint.0,
                service.as_str()
            )),
        ),
    };
    let mut core = lock(&inner.core);
    if let Some(reason) = reason {
        core.push_reason(&key.0, reason);
    }
    let now = inner.clock.now();
    if let Some(m) = core.machine_of(&key.0) {
        if let Err(error) = m.answer(now, &key, attempt, answer, jitter()) {
            tracing::error!(%error, "answer refused");
        }
    }
}

/// `Action::QueryStatus` / `Action::Void`: the back end's state of the key.
async fn status(
    inner: &Arc<Inner>,
    service: Service,
    key: Key,
    endpoint: eo::Endpoint,
    attempt: u32,
    void: bool,
) {
    let route = inner.config.route(service);
    let url = route.and_then(|r| r.endpoints.get(endpoint.0));
    let mut reason = None;
    let reply = match (route, url) {
        (Some(route), Some(url)) => {
            let path = if void {
                format!("/v1/transactions/{key}/void")
            } else {
                format!("/v1/transactions/{key}")
            };
            let request = WireRequest {
                method: if void { Method::Post } else { Method::Get },
                base_url: url,
                path: &path,
                body: void.then_some("{}"),
                idempotency_key: &key.0,
                timeout: Duration::from_millis(route.timeout_ms),
            };
            match send_timed(inner, service, &request).await {
                Ok(r) if (200..300).contains(&r.status) => match TxStatus::parse(&r.body) {
                    Ok(s) => Ok(tx_state(s)),
                    Err(e) => {
                        reason = Some(format!("{url}: {e}"));
                        Err(Failure::Garbled)
                    }
                },
                Ok(r) => {
                    reason = Some(format!("{url}: status query refused: HTTP {}", r.status));
                    Err(Failure::Garbled)
                }
                Err(e) => {
                    reason = Some(e.to_string());
                    Err(match e {
                        HttpError::Connect { .. } => Failure::ConnectFailed,
                        HttpError::Timeout { .. } => Failure::Timeout,
                        _ => Failure::Garbled,
                    })
                }
            }
        }
        _ => {
            reason = Some(format!(
                "no endpoint {} for {}",
                endpoint.0,
                service.as_str()
            ));
            Err(Failure::ConnectFailed)
        }
    };
    let mut core = lock(&inner.core);
    if matches!(reply, Ok(eo::TxState::InProgress)) {
        reason = Some("still in progress at the back end".into());
    }
    if let Some(reason) = reason {
        core.push_reason(&key.0, reason);
    }
    let now = inner.clock.now();
    if let Some(m) = core.machine_of(&key.0) {
        if let Err(error) = m.status(now, &key, attempt, reply, jitter()) {
            tracing::error!(%error, "status refused");
        }
    }
}

/// The contract's transaction status as the machine's.
fn tx_state(status: TxStatus) -> eo::TxState<ResultRecord> {
    match status.state {
        TxState::Applied => eo::TxState::Applied(ResultRecord::Applied {
            body: status.response.map(|v| v.to_string()).unwrap_or_default(),
            replayed: true,
        }),
        TxState::Rejected => {
            let error = status
                .response
                .map(|v| v.to_string())
                .and_then(|b| ApiError::parse(b.as_bytes()).ok())
                .unwrap_or_else(|| ApiError::new(api::ErrorCode::Internal, "", ""));
            eo::TxState::Rejected(ResultRecord::Rejected {
                status: status.http_status.unwrap_or(400),
                error,
            })
        }
        TxState::Void => eo::TxState::Void,
        TxState::NotFound => eo::TxState::NotFound,
        TxState::InProgress => eo::TxState::InProgress,
    }
}

/// One key's journal rows read back as the machine's records, with what the engine keeps
/// beside them.
struct ReadBack {
    entries: Vec<MachineEntry>,
    meta: Vec<(String, Meta)>,
}

/// Reads journal rows (one key's or one reference's, oldest first) back for
/// [`Machine::recover`]. A finished key whose payloads were purged or cannot be opened is
/// left out when it was voided (it never happened); any other unreadable row is an error.
fn read_back(history: &[JournalEntry]) -> Result<ReadBack, ParseError> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_key: HashMap<&str, Vec<&JournalEntry>> = HashMap::new();
    for e in history {
        by_key
            .entry(&e.idempotency_key)
            .or_insert_with(|| {
                order.push(&e.idempotency_key);
                Vec::new()
            })
            .push(e);
    }
    let mut out = ReadBack {
        entries: Vec::new(),
        meta: Vec::new(),
    };
    for key in order {
        let Some(rows) = by_key.get(key) else {
            continue;
        };
        let Some(first) = rows.first() else {
            continue;
        };
        let voided =
            journal::last_outcome(history, key).is_some_and(|o| o == "void" || o == "failed");
        let completed = rows.last().is_some_and(|e| e.kind == EntryKind::Completed);
        let mut entries = Vec::new();
        let mut result: Option<ResultRecord> = None;
        let mut readable = true;
        let mut sent = false;
        for e in rows {
            let record = match e.kind {
                EntryKind::Intent => match e.payload.text().map(Operation::from_journal) {
                    Some(Ok(op)) => eo::Record::Intent(op),
                    Some(Err(error)) if !(completed && voided) => return Err(error),
                    None if !(completed && voided) => {
                        return Err(ParseError {
                            what: "journal",
                            detail: format!("the intent of {key} is {:?}", e.payload),
                        })
                    }
                    _ => {
                        readable = false;
                        continue;
                    }
                },
                EntryKind::Sent => {
                    sent = true;
                    eo::Record::Sent
                }
                EntryKind::Unknown => {
                    sent = true;
                    eo::Record::Unknown
                }
                EntryKind::Result => {
                    result = match e.payload.text() {
                        Some(text) => Some(
                            serde_json::from_str(text)
                                .map_err(|err| ParseError::from_serde("journaled result", &err))?,
                        ),
                        None => None,
                    };
                    continue;
                }
                EntryKind::Completed => eo::Record::Completed(match result.take() {
                    Some(r @ ResultRecord::Applied { .. }) => Final::Applied(r),
                    Some(r @ ResultRecord::Rejected { .. }) => Final::Rejected(r),
                    Some(ResultRecord::Void { .. } | ResultRecord::Failed { .. }) => Final::Voided,
                    None if voided => Final::Voided,
                    None => {
                        return Err(ParseError {
                            what: "journaled result",
                            detail: format!("the result of {key} cannot be read"),
                        })
                    }
                }),
            };
            entries.push(MachineEntry {
                key: eo::Key(key.to_string()),
                reference: eo::Reference(e.reference.clone()),
                at: Millis(u64::try_from(e.recorded_at_ms).unwrap_or(0)),
                record,
            });
        }
        if !readable {
            continue; // a voided key whose intent was purged: it never happened
        }
        out.entries.extend(entries);
        out.meta.push((
            key.to_string(),
            Meta {
                service: Service::parse(&first.service).ok_or_else(|| ParseError {
                    what: "journal",
                    detail: format!("key {key} names an unknown service"),
                })?,
                operation: first.operation.clone(),
                sent,
            },
        ));
    }
    Ok(out)
}

/// The engine; cheap to clone, shareable across tasks.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
    _alive: Arc<Alive>,
}

/// Where an operation of `execute` or `resolve` stands after the machine's answer.
enum Next {
    Done(Box<Outcome>),
    /// Voided (it never happened), or forgotten: read the journal and go again.
    Again,
}

impl Engine {
    /// Builds an engine over an open store, with one protocol machine per route. Call
    /// [`Engine::recover`] before serving anyone.
    pub fn new(
        store: Store,
        config: BackendConfig,
        terminal_id: &str,
    ) -> Result<Engine, EngineError> {
        let client = HttpClient::new(&config, terminal_id)?;
        // The clock never goes back behind what the journal already holds.
        let last_at = match store.journal_head()?.1 {
            Some((seq, _)) => store
                .journal_after(seq.saturating_sub(1), 1)?
                .first()
                .map_or(0, |e| e.recorded_at_ms),
            None => 0,
        };
        let clock = Clock::new(last_at);
        let mut machines = BTreeMap::new();
        for (service, route) in &config.routes {
            let machine = Machine::new(
                machine_config(&config, route),
                clock.now(),
                std::iter::empty(),
            )
            .map_err(|e| EngineError::Unavailable {
                service: service.as_str(),
                reason: e.to_string(),
            })?;
            machines.insert(*service, machine);
        }
        let inner = Arc::new(Inner {
            store: Mutex::new(store),
            client,
            config,
            terminal_id: terminal_id.to_string(),
            clock,
            core: Mutex::new(Core {
                machines,
                meta: HashMap::new(),
                waiters: Vec::new(),
                reasons: HashMap::new(),
                timer_at: None,
            }),
            in_flight: Mutex::new(HashMap::new()),
            stopped: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
            metrics: std::sync::OnceLock::new(),
        });
        Ok(Engine {
            _alive: Arc::new(Alive {
                inner: Arc::downgrade(&inner),
            }),
            inner,
        })
    }

    pub fn terminal_id(&self) -> &str {
        &self.inner.terminal_id
    }

    /// Counts this engine's transactions and times its exchanges into `metrics` (once; a
    /// second call is ignored).
    pub fn attach_metrics(&self, metrics: crate::metrics::Metrics) {
        let _ = self.inner.metrics.set(metrics);
    }

    fn count(&self, operation: &'static str, result: &Result<Outcome, EngineError>) {
        if let Some(metrics) = self.inner.metrics.get() {
            metrics.transaction(operation, outcome_label(result));
        }
    }

    /// Runs `f` on the store in a blocking task (SQLite commits wait for fsync). The engine
    /// owns the kiosk's one store; other parts of the shell write through here.
    pub(crate) async fn with_store<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        with_store(&self.inner, f).await
    }

    /// Executes `op` exactly once for the business `reference` (e.g. session id + step).
    ///
    /// Calling again with the same reference never executes twice: a completed operation
    /// returns its journaled result, an open one is resumed under its own key. The
    /// reference's history is read back from the journal into the machine first (the
    /// journal is the authority), then the machine begins, and this call waits for its
    /// first report.
    pub async fn execute(&self, reference: &str, op: Operation) -> Result<Outcome, EngineError> {
        let operation = op.name();
        let result = self.execute_counted(reference, op).await;
        self.count(operation, &result);
        result
    }

    async fn execute_counted(
        &self,
        reference: &str,
        op: Operation,
    ) -> Result<Outcome, EngineError> {
        if !op.is_mutation() {
            return self.query(&op).await;
        }
        let flight = InFlight::claim(&self.inner, reference)?;
        for _ in 0..MAX_PASSES {
            let r = reference.to_string();
            let history = self
                .with_store(move |s| s.journal_for_reference(&r))
                .await?;
            if let Some(last) = history.last() {
                let open = last.idempotency_key.clone();
                if last.kind != EntryKind::Completed {
                    let k = open.clone();
                    let (queued, quarantined) = self
                        .with_store(move |s| {
                            Ok((s.outbox_get(&k)?.is_some(), s.is_quarantined(&k)?))
                        })
                        .await?;
                    if queued {
                        // Deferred through the outbox: only the relay sends it.
                        flight.key(&open);
                        return Ok(Outcome::Deferred { key: open });
                    }
                    if quarantined {
                        return Ok(Outcome::Unknown {
                            key: open,
                            reason: "set aside for a technician".into(),
                        });
                    }
                }
            }
            let read = read_back(&history)?;
            let fresh = uuid::Uuid::new_v4().to_string();
            let (begun, rx) = {
                let mut guard = lock(&self.inner.core);
                let core = &mut *guard;
                let now = self.inner.clock.now();
                for (key, meta) in &read.meta {
                    core.meta.entry(key.clone()).or_insert_with(|| meta.clone());
                }
                let service = op.service();
                let Some(machine) = core.machines.get_mut(&service) else {
                    return Err(EngineError::Unavailable {
                        service: service.as_str(),
                        reason: "no route".into(),
                    });
                };
                machine
                    .recover(now, &read.entries)
                    .map_err(|e| ParseError {
                        what: "journal",
                        detail: e.to_string(),
                    })?;
                let begun = machine
                    .begin(
                        now,
                        eo::Reference(reference.to_string()),
                        op.clone(),
                        Key(fresh.clone()),
                    )
                    .map_err(|e| EngineError::Task(e.to_string()))?;
                // Finished keys read back are not kept: the journal answers for them.
                for (key, _) in &read.meta {
                    let k = Key(key.clone());
                    if matches!(machine.standing(&k), Some(Standing::Done(_))) {
                        let _ = machine.forget(&k);
                        core.meta.remove(key);
                    }
                }
                let rx = match &begun {
                    Begin::Started(key) => {
                        core.meta.insert(
                            key.0.clone(),
                            Meta {
                                service,
                                operation: op.name().to_string(),
                                sent: false,
                            },
                        );
                        Some(core.wait(&key.0, Wait::Report))
                    }
                    Begin::Resumed(key) => {
                        if let Some(m) = core.machines.get_mut(&service) {
                            m.resolve_now(now, key);
                        }
                        Some(core.wait(&key.0, Wait::Settled))
                    }
                    Begin::Finished { .. } | Begin::Quarantined(_) => None,
                };
                (begun, rx)
            };
            pump(&self.inner);
            let (key, settled) = match begun {
                Begin::Finished { key, result } => (key, Settled::Final(result)),
                Begin::Quarantined(key) => (
                    key,
                    Settled::Quarantined("set aside for a technician".into()),
                ),
                Begin::Started(key) | Begin::Resumed(key) => {
                    flight.key(&key.0);
                    let settled = match rx {
                        Some(rx) => rx
                            .await
                            .map_err(|_| EngineError::Task("the engine stopped".into()))?,
                        None => Settled::Gone,
                    };
                    (key, settled)
                }
            };
            let journaled_op = || -> Result<Operation, EngineError> {
                if key.0 == fresh {
                    Ok(op.clone())
                } else {
                    latest_intent_op(&history, &key.0)
                }
            };
            match settle_outcome(&key.0, settled, journaled_op)? {
                Next::Done(outcome) => return Ok(*outcome),
                Next::Again => continue,
            }
        }
        Err(EngineError::Task(
            "the reference's operation kept being voided".into(),
        ))
    }

    fn outcome_from_history(
        &self,
        history: &[JournalEntry],
        key: &str,
        op: &Operation,
    ) -> Result<Outcome, EngineError> {
        let result = history
            .iter()
            .rev()
            .find(|e| e.idempotency_key == key && e.kind == EntryKind::Result);
        let Some(result) = result else {
            return Ok(Outcome::Unknown {
                key: key.into(),
                reason: "completed without a result".into(),
            });
        };
        let payload = result.payload.text().ok_or_else(|| ParseError {
            what: "journaled result",
            detail: format!("the result of {key} is {:?}", result.payload),
        })?;
        outcome_from_record(key, op, payload)
    }

    /// A query changes nothing at the back end and may be re-evaluated (the contract), so it
    /// needs no exactly-once and is not journaled: nothing of its parameters (ID and card
    /// numbers) or its answer (names, contributions, balances) reaches the disk. Its key
    /// still goes with it, for tracing.
    async fn query(&self, op: &Operation) -> Result<Outcome, EngineError> {
        let key = uuid::Uuid::new_v4().to_string();
        let body = op.body();
        let op_for_check = op.clone();
        let exchange = self
            .exchange(
                op.service(),
                Method::Post,
                &op.path(),
                Some(&body),
                &key,
                move |bytes| api::parse_reply(&op_for_check, bytes).map(|_| ()),
            )
            .await;
        match exchange {
            Exchange::Success { body, replayed } => Ok(Outcome::Applied {
                reply: api::parse_reply(op, &body)?,
                key,
                replayed,
            }),
            Exchange::Rejected { error, .. } => Ok(Outcome::Rejected { key, error }),
            Exchange::Failed { reason } => Err(EngineError::Unavailable {
                service: op.service().as_str(),
                reason,
            }),
        }
    }

    /// For queries and outbox messages (outside the protocol machine): tries the route's
    /// endpoints in order, each up to `attempts` times, skipping endpoints whose breaker
    /// (the route machine's) is open, with the route's jittered exponential pause between
    /// tries, on the monotonic clock. Retries reuse the same key and body, so they are safe.
    async fn exchange<V>(
        &self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&str>,
        key: &str,
        validate: V,
    ) -> Exchange
    where
        V: Fn(&[u8]) -> Result<(), ParseError>,
    {
        let Some(route) = self.inner.config.route(service) else {
            return Exchange::Failed {
                reason: format!("no route for {}", service.as_str()),
            };
        };
        let retry = machine_config(&self.inner.config, route).retry;
        let mut reasons = Vec::new();
        let mut failures = 0u32;
        for (index, endpoint) in route.endpoints.iter().enumerate() {
            for attempt in 0..route.attempts.max(1) {
                if !self.breaker_allows(service, index) {
                    reasons.push(format!("{endpoint}: circuit open"));
                    break;
                }
                if attempt > 0 {
                    let pause = retry.delay(failures.saturating_sub(1), jitter());
                    tokio::time::sleep(Duration::from_millis(pause.0)).await;
                }
                let request = WireRequest {
                    method,
                    base_url: endpoint,
                    path,
                    body,
                    idempotency_key: key,
                    timeout: Duration::from_millis(route.timeout_ms),
                };
                let failure = match send_timed(&self.inner, service, &request).await {
                    Ok(r) if (200..300).contains(&r.status) => match validate(&r.body) {
                        Ok(()) => {
                            self.breaker_result(service, index, true);
                            return Exchange::Success {
                                body: r.body,
                                replayed: r.replayed,
                            };
                        }
                        Err(e) => format!("{endpoint}: {e}"),
                    },
                    Ok(r) if (400..500).contains(&r.status) => match ApiError::parse(&r.body) {
                        Ok(error) => {
                            self.breaker_result(service, index, true);
                            return Exchange::Rejected {
                                status: r.status,
                                error,
                            };
                        }
                        Err(e) => format!("{endpoint}: HTTP {}: {e}", r.status),
                    },
                    Ok(r) => format!("{endpoint}: HTTP {}", r.status),
                    Err(e) => {
                        let connect = matches!(e, HttpError::Connect { .. });
                        self.breaker_result(service, index, false);
                        failures += 1;
                        reasons.push(e.to_string());
                        if connect {
                            break; // this endpoint is down: fail over now
                        }
                        continue;
                    }
                };
                self.breaker_result(service, index, false);
                failures += 1;
                reasons.push(failure);
            }
        }
        Exchange::Failed {
            reason: reasons.join("; "),
        }
    }

    fn breaker_allows(&self, service: Service, index: usize) -> bool {
        let now = self.inner.clock.now();
        let mut core = lock(&self.inner.core);
        let Some(machine) = core.machines.get_mut(&service) else {
            return true;
        };
        let policy = machine.config().breaker;
        machine
            .breakers_mut()
            .get_mut(index)
            .is_none_or(|b| b.allow(now, &policy))
    }

    fn breaker_result(&self, service: Service, index: usize, ok: bool) {
        let now = self.inner.clock.now();
        let mut core = lock(&self.inner.core);
        let Some(machine) = core.machines.get_mut(&service) else {
            return;
        };
        let policy = machine.config().breaker;
        if let Some(breaker) = machine.breakers_mut().get_mut(index) {
            if ok {
                breaker.on_success();
            } else {
                breaker.on_failure(now, &policy);
            }
        }
    }

    /// Per service: can it be used now? (Available when any endpoint's breaker lets calls
    /// out.) Read from the route machine's breakers.
    pub fn availability(&self) -> BTreeMap<Service, Availability> {
        let now = self.inner.clock.now();
        let core = lock(&self.inner.core);
        core.machines
            .iter()
            .map(|(service, machine)| {
                let wait = machine
                    .breakers()
                    .iter()
                    .map(|b| b.ready_at(now).since(now).0)
                    .min()
                    .unwrap_or(0);
                let availability = if wait == 0 {
                    Availability::Available
                } else {
                    Availability::Unavailable { retry_in_ms: wait }
                };
                (*service, availability)
            })
            .collect()
    }

    /// Per service, each endpoint's breaker as the route's machine holds it now (closed,
    /// open until a time, half-open with a trial out), for the network's health and the
    /// technician's page.
    pub fn breakers(&self) -> BTreeMap<Service, Vec<eo::Breaker>> {
        let core = lock(&self.inner.core);
        core.machines
            .iter()
            .map(|(service, machine)| (*service, machine.breakers().to_vec()))
            .collect()
    }

    /// Resolves an open operation now: its next status query goes at once (instead of
    /// after the machine's pause), and a key that never arrived is voided at the back end.
    /// Stays `Unknown` if the round ends without an answer (the machine keeps asking).
    pub async fn resolve(&self, key: &str) -> Result<Outcome, EngineError> {
        for _ in 0..MAX_PASSES {
            let key_owned = key.to_string();
            let (history, queued, quarantined) = self
                .with_store(move |s| {
                    Ok((
                        s.journal_for_key(&key_owned)?,
                        s.outbox_get(&key_owned)?.is_some(),
                        s.is_quarantined(&key_owned)?,
                    ))
                })
                .await?;
            if history.is_empty() {
                return Ok(Outcome::Unknown {
                    key: key.into(),
                    reason: "no such key in the journal".into(),
                });
            }
            let op = latest_intent_op(&history, key)?;
            if history
                .last()
                .is_some_and(|e| e.kind == EntryKind::Completed)
            {
                return self.outcome_from_history(&history, key, &op);
            }
            if queued {
                return Ok(Outcome::Deferred { key: key.into() });
            }
            if quarantined {
                return Ok(Outcome::Unknown {
                    key: key.into(),
                    reason: "set aside for a technician".into(),
                });
            }
            let read = read_back(&history)?;
            let rx = {
                let mut guard = lock(&self.inner.core);
                let core = &mut *guard;
                let now = self.inner.clock.now();
                let service = op.service();
                for (k, meta) in &read.meta {
                    core.meta.entry(k.clone()).or_insert_with(|| meta.clone());
                }
                let Some(machine) = core.machine_of(key) else {
                    return Err(EngineError::Unavailable {
                        service: service.as_str(),
                        reason: "no route".into(),
                    });
                };
                machine
                    .recover(now, &read.entries)
                    .map_err(|e| ParseError {
                        what: "journal",
                        detail: e.to_string(),
                    })?;
                machine.resolve_now(now, &Key(key.to_string()));
                core.wait(key, Wait::Settled)
            };
            pump(&self.inner);
            let settled = rx
                .await
                .map_err(|_| EngineError::Task("the engine stopped".into()))?;
            match settle_outcome(key, settled, || Ok(op.clone()))? {
                Next::Done(outcome) => return Ok(*outcome),
                // Voided: say so (the caller begins again); forgotten: read the journal.
                Next::Again => continue,
            }
        }
        Ok(Outcome::Unknown {
            key: key.into(),
            reason: "not settled yet".into(),
        })
    }

    /// Sets an operation aside for a technician (see `store::quarantine`).
    async fn quarantine(
        &self,
        key: &str,
        operation: &str,
        reason: &str,
    ) -> Result<(), EngineError> {
        tracing::error!(
            event = crate::logging::event::JOURNAL_QUARANTINED,
            key,
            operation,
            reason,
            "journal entry quarantined"
        );
        let (key, operation, reason) = (key.to_string(), operation.to_string(), reason.to_string());
        let at = self.inner.clock.ms();
        self.with_store(move |s| s.quarantine(&key, &operation, &reason, at))
            .await
    }

    /// A daily reconciliation matched: retention may purge what was recorded before
    /// `through_ms`.
    pub async fn mark_reconciled(&self, through_ms: i64) -> Result<(), EngineError> {
        self.with_store(move |s| s.journal_mark_reconciled(through_ms))
            .await
    }

    /// The last journal write found the disk full (and none has gone through since): the
    /// kiosk starts nothing new until there is space again.
    pub fn disk_full(&self) -> bool {
        self.inner.disk_full.load(Ordering::SeqCst)
    }

    /// The sequence number of the journal's last entry (0 for none).
    pub async fn journal_head(&self) -> Result<i64, EngineError> {
        self.with_store(|s| Ok(s.journal_head()?.1.map_or(0, |(seq, _)| seq)))
            .await
    }

    /// Every quarantined operation (heartbeats, technicians).
    pub async fn quarantined(
        &self,
    ) -> Result<Vec<crate::store::quarantine::Quarantined>, EngineError> {
        self.with_store(|s| s.quarantined()).await
    }

    /// Start-up: hands every open operation of the journal (sent or unknown, or an intent
    /// never sent) to its route's machine, which closes intents never sent as void and
    /// resolves the rest; waits for each to settle, and asks again for the unreachable ones
    /// for up to `rounds` passes.
    pub async fn recover(&self) -> Result<RecoveryReport, EngineError> {
        self.recover_with(5, Duration::from_millis(200)).await
    }

    pub async fn recover_with(
        &self,
        rounds: u32,
        pause: Duration,
    ) -> Result<RecoveryReport, EngineError> {
        let mut report = RecoveryReport::default();
        let open = self.with_store(|s| s.journal_open_operations()).await?;
        let keys: Vec<String> = open.iter().map(|e| e.idempotency_key.clone()).collect();
        // Outbox messages are the relay's business (they stay queued until acknowledged);
        // quarantined ones wait for a technician.
        let skip: Vec<String> = self
            .with_store(move |s| {
                let mut skip = Vec::new();
                for k in keys {
                    if s.outbox_get(&k)?.is_some() || s.is_quarantined(&k)? {
                        skip.push(k);
                    }
                }
                Ok(skip)
            })
            .await?;
        let flying: Vec<String> = lock(&self.inner.in_flight)
            .values()
            .flatten()
            .cloned()
            .collect();
        let mut pending: Vec<String> = Vec::new();
        for entry in open {
            let key = entry.idempotency_key.clone();
            if skip.contains(&key) || flying.contains(&key) {
                continue;
            }
            let k = key.clone();
            let history = self.with_store(move |s| s.journal_for_key(&k)).await?;
            // One key at a time: one that cannot be read is quarantined, and the others
            // are still recovered.
            let taken = read_back(&history).and_then(|read| {
                let mut guard = lock(&self.inner.core);
                let core = &mut *guard;
                for (k, meta) in &read.meta {
                    core.meta.entry(k.clone()).or_insert_with(|| meta.clone());
                }
                let now = self.inner.clock.now();
                let machine = core.machine_of(&key).ok_or_else(|| ParseError {
                    what: "journal",
                    detail: format!("key {key} has no route"),
                })?;
                machine.recover(now, &read.entries).map_err(|e| ParseError {
                    what: "journal",
                    detail: e.to_string(),
                })
            });
            match taken {
                Ok(()) => pending.push(key),
                Err(error) => {
                    self.quarantine(&key, &entry.operation, &error.to_string())
                        .await?;
                    report.quarantined.push(key);
                }
            }
        }
        for round in 0..rounds.max(1) {
            if pending.is_empty() {
                break;
            }
            if round > 0 {
                tokio::time::sleep(pause).await;
            }
            let waits: Vec<(String, oneshot::Receiver<Settled>)> = {
                let mut guard = lock(&self.inner.core);
                let core = &mut *guard;
                let now = self.inner.clock.now();
                pending
                    .iter()
                    .map(|key| {
                        if round > 0 {
                            if let Some(m) = core.machine_of(key) {
                                m.resolve_now(now, &Key(key.clone()));
                            }
                        }
                        (key.clone(), core.wait(key, Wait::Settled))
                    })
                    .collect()
            };
            pump(&self.inner);
            report.unresolved.clear();
            let mut again = Vec::new();
            for (key, rx) in waits {
                let settled = rx
                    .await
                    .map_err(|_| EngineError::Task("the engine stopped".into()))?;
                let code = match settled {
                    Settled::Final(Final::Applied(_)) => "applied",
                    Settled::Final(Final::Rejected(_)) => "rejected",
                    Settled::Final(Final::Voided) => "void",
                    Settled::Quarantined(_) => "quarantined",
                    Settled::Gone => {
                        let k = key.clone();
                        let history = self.with_store(move |s| s.journal_for_key(&k)).await?;
                        static_code(journal::last_outcome(&history, &key))
                    }
                    Settled::Unknown(_) | Settled::Paused(_) | Settled::Failed(_) => "",
                };
                match code {
                    "applied" => report.applied += 1,
                    "rejected" => report.rejected += 1,
                    "void" | "failed" => report.voided += 1,
                    "quarantined" => report.quarantined.push(key),
                    _ => {
                        report.unresolved.push(key.clone());
                        again.push(key);
                    }
                }
            }
            pending = again;
        }
        Ok(report)
    }

    /// Queues a deferrable operation. A heartbeat is latest-wins status, not a mutation: it
    /// is not journaled and replaces any heartbeat still waiting. A certification is journaled
    /// (intent and outbox message in one transaction) and queued once per `reference`.
    pub async fn defer(&self, reference: &str, op: Operation) -> Result<Outcome, EngineError> {
        let operation = op.name();
        let result = self.defer_counted(reference, op).await;
        self.count(operation, &result);
        result
    }

    async fn defer_counted(&self, reference: &str, op: Operation) -> Result<Outcome, EngineError> {
        let clock = self.inner.clock;
        if matches!(op, Operation::Heartbeat { .. }) {
            let key = uuid::Uuid::new_v4().to_string();
            let (path, body, kind, service) = (op.path(), op.body(), op.name(), op.service());
            let id = key.clone();
            self.with_store(move |s| {
                s.outbox_enqueue(
                    &NewMessage {
                        message_id: &id,
                        kind,
                        service: service.as_str(),
                        path: &path,
                        body: &body,
                        now_ms: clock.ms(),
                        latest_wins: true,
                    },
                    &[],
                )
                .map(|_| ())
            })
            .await?;
            return Ok(Outcome::Deferred { key });
        }
        if !matches!(
            op,
            Operation::SubmitCertification { .. } | Operation::QueueCertification { .. }
        ) {
            return Err(EngineError::NotDeferrable(op.name()));
        }
        let _flight = InFlight::claim(&self.inner, reference)?;
        let reference_owned = reference.to_string();
        let history = self
            .with_store(move |s| s.journal_for_reference(&reference_owned))
            .await?;
        if let Some(first) = history.first() {
            let key = first.idempotency_key.clone();
            return match history.last() {
                Some(last) if last.kind == EntryKind::Completed => {
                    let op = latest_intent_op(&history, &key)?;
                    self.outcome_from_history(&history, &key, &op)
                }
                _ => Ok(Outcome::Deferred { key }),
            };
        }
        let key = uuid::Uuid::new_v4().to_string();
        let terminal = self.inner.terminal_id.clone();
        let record = Record {
            kind: EntryKind::Intent,
            key: key.clone(),
            reference: reference.to_string(),
            service: op.service(),
            operation: op.name().to_string(),
            outcome: None,
            payload: op.to_journal(),
        };
        let (path, body, kind, service) = (op.path(), op.body(), op.name(), op.service());
        let key2 = key.clone();
        self.with_store(move |s| {
            let at = clock.ms();
            s.outbox_enqueue(
                &NewMessage {
                    message_id: &key2,
                    kind,
                    service: service.as_str(),
                    path: &path,
                    body: &body,
                    now_ms: at,
                    latest_wins: false,
                },
                &[new_entry(&terminal, &record, at)],
            )
            .map(|_| ())
        })
        .await?;
        Ok(Outcome::Deferred { key })
    }

    /// Queues the journal entries not shipped yet as one batch message, with the chain link
    /// it continues from.
    pub async fn ship_journal(&self, max_entries: u32) -> Result<Option<String>, EngineError> {
        let clock = self.inner.clock;
        let terminal = self.inner.terminal_id.clone();
        self.with_store(move |s| {
            let after = s.journal_queued_through()?;
            let entries = s.journal_after(after, max_entries)?;
            let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
                return Ok(None);
            };
            let batch = JournalBatch {
                terminal_id: terminal.clone(),
                first_seq: first.seq,
                last_seq: last.seq,
                prev_hash: hex(&first.prev_hash),
                entries: entries
                    .iter()
                    .map(|e| {
                        json!({
                            "seq": e.seq, "kind": e.kind.as_str(), "key": e.idempotency_key,
                            "operation": e.operation, "outcome": e.outcome,
                            "at_ms": e.recorded_at_ms, "hash": hex(&e.hash),
                        })
                    })
                    .collect(),
            };
            let id = format!("journal-{terminal}-{}-{}", batch.first_seq, batch.last_seq);
            s.outbox_enqueue(
                &NewMessage {
                    message_id: &id,
                    kind: JOURNAL_BATCH_KIND,
                    service: Service::Terminal.as_str(),
                    path: api::JOURNAL_BATCH_PATH,
                    body: &to_json(&batch),
                    now_ms: clock.ms(),
                    latest_wins: false,
                },
                &[],
            )?;
            s.journal_set_queued_through(batch.last_seq)?;
            Ok(Some(id))
        })
        .await
    }

    /// One relay pass: sends the due messages; marks each sent only on acknowledgement.
    pub async fn relay_outbox(&self) -> Result<RelayReport, EngineError> {
        let clock = self.inner.clock;
        let batch = self.inner.config.outbox.batch;
        let due = self
            .with_store(move |s| s.outbox_due(clock.ms(), batch))
            .await?;
        let mut report = RelayReport::default();
        for message in due {
            let service = Service::parse(&message.service).unwrap_or(Service::Terminal);
            let history = {
                let k = message.message_id.clone();
                self.with_store(move |s| s.journal_for_key(&k)).await?
            };
            let op = history
                .iter()
                .find(|e| e.kind == EntryKind::Intent)
                .and_then(|e| Operation::from_journal(e.payload.text()?).ok());
            let Some(body) = message.body.clone() else {
                // A pending body that does not open (another records key): it cannot be
                // sent as it was; set aside for a technician.
                let (id, key) = (message.id, message.message_id.clone());
                self.quarantine(&key, &message.kind, "outbox body unreadable with this key")
                    .await?;
                self.with_store(move |s| {
                    s.outbox_finish(
                        id,
                        MessageState::Rejected,
                        clock.ms(),
                        Some("unreadable"),
                        &[],
                    )
                })
                .await?;
                report.rejected += 1;
                continue;
            };
            let op_check = op.clone();
            let exchange = self
                .exchange(
                    service,
                    Method::Post,
                    &message.path,
                    Some(&body),
                    &message.message_id,
                    move |bytes| match &op_check {
                        Some(op) => api::parse_reply(op, bytes).map(|_| ()),
                        None => serde_json::from_slice::<api::Ack>(bytes)
                            .map(|_| ())
                            .map_err(|e| ParseError::from_serde("acknowledgement", &e)),
                    },
                )
                .await;
            let (state, result) = match exchange {
                Exchange::Success { body, replayed } => (
                    MessageState::Sent,
                    ResultRecord::Applied {
                        body: String::from_utf8_lossy(&body).into_owned(),
                        replayed,
                    },
                ),
                Exchange::Rejected { status, error } => (
                    MessageState::Rejected,
                    ResultRecord::Rejected { status, error },
                ),
                Exchange::Failed { reason } => {
                    let policy = &self.inner.config.outbox;
                    let exp = policy
                        .base_backoff_ms
                        .saturating_mul(1u64 << message.attempts.min(20))
                        .min(policy.max_backoff_ms);
                    // Equal jitter: terminals that lost the back end together do not return together.
                    let delay = exp / 2 + rand::rng().random_range(0..=exp / 2);
                    let id = message.id;
                    // `next_attempt_ms` is stored, so it is on the engine's clock, which never
                    // goes back (not across restarts either: it starts at the journal's last
                    // time at the earliest): a wall-clock step back cannot stall the outbox.
                    // Only a schedule written by a run whose clock was ahead of the next
                    // run's waits for at most one backoff longer.
                    self.with_store(move |s| {
                        s.outbox_retry_later(id, clock.ms() + delay as i64, &reason)
                    })
                    .await?;
                    report.retry_later += 1;
                    continue;
                }
            };
            let terminal = self.inner.terminal_id.clone();
            let intent = history.first().cloned();
            let id = message.id;
            let shipped_through = (message.kind == JOURNAL_BATCH_KIND
                && state == MessageState::Sent)
                .then(|| {
                    serde_json::from_str::<JournalBatch>(&body)
                        .ok()
                        .map(|b| b.last_seq)
                })
                .flatten();
            self.with_store(move |s| {
                let at = clock.ms();
                let records: Vec<Record> = match &intent {
                    Some(i) => {
                        let rec = |kind, payload| Record {
                            kind,
                            key: i.idempotency_key.clone(),
                            reference: i.reference.clone(),
                            service,
                            operation: i.operation.clone(),
                            outcome: None,
                            payload,
                        };
                        vec![
                            result_record(rec(EntryKind::Result, String::new()), &result),
                            rec(EntryKind::Completed, "{}".to_string()),
                        ]
                    }
                    None => Vec::new(),
                };
                let entries: Vec<NewEntry<'_>> = records
                    .iter()
                    .map(|r| new_entry(&terminal, r, at))
                    .collect();
                let finished = s.outbox_finish(id, state, at, None, &entries)?;
                if let Some(seq) = shipped_through {
                    s.journal_acknowledge_through(seq)?;
                }
                Ok(finished)
            })
            .await?;
            match state {
                MessageState::Sent => report.sent += 1,
                _ => report.rejected += 1,
            }
        }
        Ok(report)
    }

    /// One retention pass (README, "The terminal's records"): purges what the journal and
    /// the outbox no longer need, never an open operation or what the back end lacks.
    pub async fn retain(&self) -> Result<(journal::Pruned, u64), EngineError> {
        let clock = self.inner.clock;
        self.with_store(move |s| {
            let now = clock.ms();
            let journal = s.journal_prune(now, journal::Retention::DEFAULT)?;
            let outbox = s.outbox_prune(now, OUTBOX_SENT_KEEP_MS, OUTBOX_REJECTED_KEEP_MS)?;
            Ok((journal, outbox))
        })
        .await
    }

    /// Makes every pending message due now and relays until nothing due is left or a pass
    /// makes no progress.
    pub async fn flush_outbox(&self) -> Result<RelayReport, EngineError> {
        let clock = self.inner.clock;
        self.with_store(move |s| s.outbox_make_all_due(clock.ms()))
            .await?;
        let mut total = RelayReport::default();
        loop {
            let pass = self.relay_outbox().await?;
            total.sent += pass.sent;
            total.rejected += pass.rejected;
            total.retry_later += pass.retry_later;
            if pass.sent + pass.rejected == 0 {
                return Ok(total);
            }
        }
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, EngineError> {
        self.with_store(|s| s.outbox_counts()).await
    }

    /// Daily reconciliation (对账): compares the keys the host applied for this terminal on
    /// `date` (UTC, `YYYY-MM-DD`) with the mutations the journal recorded as applied that day.
    pub async fn reconcile_day(&self, date: &str) -> Result<DailyReconciliation, EngineError> {
        let reference = format!("reconcile-{date}-{}", uuid::Uuid::new_v4());
        let outcome = self
            .execute(
                &reference,
                Operation::Reconciliation {
                    date: date.to_string(),
                },
            )
            .await?;
        let host: Vec<String> = match outcome {
            Outcome::Applied {
                reply: Reply::Reconciliation(report),
                ..
            } => report.applied_keys,
            other => {
                return Err(EngineError::Unavailable {
                    service: Service::Terminal.as_str(),
                    reason: format!("reconciliation answered {other:?}"),
                })
            }
        };
        // The whole chain, daily: the start-up check only goes on from its last mark.
        let (entries, chain) = self.journal_audit().await?;
        if let Err(error) = chain {
            tracing::error!(%error, "the journal's chain does not verify: a technician must compare it with the back end's copy");
        }
        let mut mutation_keys = std::collections::HashSet::new();
        let mut kiosk = std::collections::BTreeSet::new();
        for e in &entries {
            if e.kind == EntryKind::Intent && api::is_mutation_name(&e.operation) {
                mutation_keys.insert(e.idempotency_key.clone());
            }
            if e.kind == EntryKind::Result
                && mutation_keys.contains(&e.idempotency_key)
                && e.outcome.as_deref() == Some("applied")
                && api::utc_day(e.recorded_at_ms) == date
            {
                kiosk.insert(e.idempotency_key.clone());
            }
        }
        let host: std::collections::BTreeSet<String> = host.into_iter().collect();
        Ok(DailyReconciliation {
            date: date.to_string(),
            matched: host.intersection(&kiosk).count() as u32,
            host_only: host.difference(&kiosk).cloned().collect(),
            kiosk_only: kiosk.difference(&host).cloned().collect(),
        })
    }

    /// Every journal entry, oldest first, and whether the hash chain verifies.
    pub async fn journal_audit(
        &self,
    ) -> Result<
        (
            Vec<JournalEntry>,
            Result<u64, crate::store::journal::ChainError>,
        ),
        EngineError,
    > {
        self.with_store(|s| Ok((s.journal_after(0, u32::MAX)?, s.journal_verify_chain()?)))
            .await
    }

    /// The demo back end's ledger (`GET /admin/ledger` on the terminal route's first
    /// endpoint). Only the demo back end offers it.
    pub async fn fetch_demo_ledger(&self) -> Result<Vec<api::LedgerEntry>, EngineError> {
        let route = self.inner.config.route(Service::Terminal);
        let base = route
            .and_then(|r| r.endpoints.first())
            .cloned()
            .unwrap_or_default();
        let response = self
            .inner
            .client
            .send(&WireRequest {
                method: Method::Get,
                base_url: &base,
                path: "/admin/ledger",
                body: None,
                idempotency_key: "admin",
                timeout: Duration::from_secs(10),
            })
            .await?;
        serde_json::from_slice(&response.body)
            .map_err(|e| EngineError::Journal(ParseError::from_serde("ledger", &e)))
    }

    /// Every journal entry under the business reference (reprints, audits, tests).
    pub async fn journal_for_reference(
        &self,
        reference: &str,
    ) -> Result<Vec<JournalEntry>, EngineError> {
        let r = reference.to_string();
        self.with_store(move |s| s.journal_for_reference(&r)).await
    }
}

/// The outbox kind of journal batches.
const JOURNAL_BATCH_KIND: &str = "journal_batch";
/// Acknowledged messages are kept a week (a technician's `outbox status`), refused ones a
/// month.
const OUTBOX_SENT_KEEP_MS: i64 = 7 * 24 * 3_600_000;
const OUTBOX_REJECTED_KEEP_MS: i64 = 30 * 24 * 3_600_000;

fn new_entry<'a>(terminal: &'a str, r: &'a Record, at: i64) -> NewEntry<'a> {
    NewEntry {
        kind: r.kind,
        terminal_id: terminal,
        idempotency_key: &r.key,
        reference: &r.reference,
        service: r.service.as_str(),
        operation: &r.operation,
        outcome: r.outcome,
        payload: &r.payload,
        recorded_at_ms: at,
    }
}

/// `record` carrying `result` as its sealed payload and its outcome code in the clear.
fn result_record(record: Record, result: &ResultRecord) -> Record {
    Record {
        outcome: Some(result.code()),
        payload: to_json(result),
        ..record
    }
}

fn latest_intent_op(history: &[JournalEntry], key: &str) -> Result<Operation, EngineError> {
    let intent = history
        .iter()
        .find(|e| e.idempotency_key == key && e.kind == EntryKind::Intent)
        .ok_or_else(|| ParseError {
            what: "journal",
            detail: format!("no intent for key {key}"),
        })?;
    let text = intent.payload.text().ok_or_else(|| ParseError {
        what: "journal",
        detail: format!("the intent of {key} is {:?}", intent.payload),
    })?;
    Ok(Operation::from_journal(text)?)
}

fn outcome_from_record(key: &str, op: &Operation, payload: &str) -> Result<Outcome, EngineError> {
    let record: ResultRecord = serde_json::from_str(payload)
        .map_err(|e| ParseError::from_serde("journaled result", &e))?;
    outcome_from_result(key, op, record)
}

fn outcome_from_result(
    key: &str,
    op: &Operation,
    record: ResultRecord,
) -> Result<Outcome, EngineError> {
    Ok(match record {
        ResultRecord::Applied { body, replayed } => Outcome::Applied {
            key: key.into(),
            reply: api::parse_reply(op, body.as_bytes())?,
            replayed,
        },
        ResultRecord::Rejected { error, .. } => Outcome::Rejected {
            key: key.into(),
            error,
        },
        ResultRecord::Void { .. } => Outcome::Voided { key: key.into() },
        ResultRecord::Failed { reason } => Outcome::Unknown {
            key: key.into(),
            reason,
        },
    })
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How often `execute` and `resolve` read the journal back before giving up.
const MAX_PASSES: usize = 8;

/// An outcome code as a `&'static str` ("" for none).
fn static_code(code: Option<&str>) -> &'static str {
    match code {
        Some("applied") => "applied",
        Some("rejected") => "rejected",
        Some("void" | "failed") => "void",
        _ => "",
    }
}

/// What a waiter was told, as the caller's outcome.
fn settle_outcome(
    key: &str,
    settled: Settled,
    op: impl FnOnce() -> Result<Operation, EngineError>,
) -> Result<Next, EngineError> {
    Ok(match settled {
        Settled::Final(Final::Applied(r) | Final::Rejected(r)) => {
            Next::Done(Box::new(outcome_from_result(key, &op()?, r)?))
        }
        Settled::Final(Final::Voided) | Settled::Gone => Next::Again,
        Settled::Unknown(reason) | Settled::Paused(reason) | Settled::Quarantined(reason) => {
            Next::Done(Box::new(Outcome::Unknown {
                key: key.into(),
                reason,
            }))
        }
        Settled::Failed(reason) => return Err(EngineError::Task(reason)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn op() -> Operation {
        Operation::ReportLoss {
            person_id: "P00000000".into(),
            card_number: "TEST0000".into(),
        }
    }

    fn row(
        seq: i64,
        kind: EntryKind,
        key: &str,
        outcome: Option<&str>,
        payload: journal::Payload,
    ) -> JournalEntry {
        JournalEntry {
            seq,
            kind,
            terminal_id: "T".into(),
            idempotency_key: key.into(),
            reference: "r".into(),
            service: op().service().as_str().into(),
            operation: op().name().into(),
            outcome: outcome.map(str::to_string),
            payload,
            payload_mac: None,
            recorded_at_ms: 1_000 + seq,
            prev_hash: [0; 32],
            hash: [0; 32],
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_journal_write_that_finds_the_disk_full_marks_the_engine_out_of_space() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("kiosk.db")).expect("open");
        store.stop_growing().expect("limit");
        // Intents the size of the engine's fill what room the file has left.
        let params = op().to_journal();
        for i in 0.. {
            let key = uuid::Uuid::new_v4().to_string();
            let reference = format!("r-{:06}", i);
            let filled = store.journal_append(&[NewEntry {
                kind: EntryKind::Intent,
                terminal_id: "T",
                idempotency_key: &key,
                reference: &reference,
                service: op().service().as_str(),
                operation: op().name(),
                outcome: None,
                payload: &params,
                recorded_at_ms: 1,
            }]);
            match filled {
                Ok(_) => continue,
                Err(error) => {
                    assert!(error.is_disk_full(), "{error}");
                    break;
                }
            }
        }
        let config = BackendConfig::uniform(&["http://127.0.0.1:9".to_string()], 500, true);
        let engine = Engine::new(store, config, "T").expect("engine");
        assert!(!engine.disk_full());
        let outcome = engine.execute("r-999999", op()).await;
        assert!(engine.disk_full(), "{outcome:?}");
        assert!(engine
            .journal_for_reference("r-999999")
            .await
            .expect("read")
            .is_empty());
    }

    fn kept(text: String) -> journal::Payload {
        journal::Payload::Kept(Zeroizing::new(text))
    }

    #[test]
    fn the_clock_never_starts_behind_the_journal_and_only_moves_forward() {
        let ahead = wall_ms() + 3_600_000;
        let clock = Clock::new(ahead);
        let first = clock.now();
        assert!(first.0 >= ahead as u64);
        assert!(clock.now() >= first);
        let behind = Clock::new(0);
        assert!(behind.now().0 as i64 >= wall_ms() - 1_000);
        assert_eq!(clock.instant(Millis(0)), clock.instant(Millis(clock.base)));
    }

    #[test]
    fn read_back_gives_the_machine_every_key_and_leaves_out_a_purged_void() {
        let applied = to_json(&ResultRecord::Applied {
            body: "{}".into(),
            replayed: false,
        });
        let history = vec![
            // A voided attempt whose payloads retention purged: it never happened.
            row(1, EntryKind::Intent, "void", None, journal::Payload::Purged),
            row(
                2,
                EntryKind::Result,
                "void",
                Some("void"),
                journal::Payload::Purged,
            ),
            row(
                3,
                EntryKind::Completed,
                "void",
                None,
                journal::Payload::Empty,
            ),
            row(4, EntryKind::Intent, "done", None, kept(op().to_journal())),
            row(5, EntryKind::Sent, "done", None, journal::Payload::Empty),
            row(6, EntryKind::Result, "done", Some("applied"), kept(applied)),
            row(
                7,
                EntryKind::Completed,
                "done",
                None,
                journal::Payload::Empty,
            ),
            row(8, EntryKind::Intent, "open", None, kept(op().to_journal())),
            row(9, EntryKind::Sent, "open", None, journal::Payload::Empty),
            row(10, EntryKind::Unknown, "open", None, kept("{}".into())),
        ];
        let read = match read_back(&history) {
            Ok(read) => read,
            Err(e) => panic!("{e}"),
        };
        let shape: Vec<(String, &'static str)> = read
            .entries
            .iter()
            .map(|e| {
                let what = match &e.record {
                    eo::Record::Intent(_) => "intent",
                    eo::Record::Sent => "sent",
                    eo::Record::Unknown => "unknown",
                    eo::Record::Completed(Final::Applied(_)) => "applied",
                    eo::Record::Completed(_) => "other",
                };
                (e.key.0.clone(), what)
            })
            .collect();
        let expected = [
            ("done", "intent"),
            ("done", "sent"),
            ("done", "applied"),
            ("open", "intent"),
            ("open", "sent"),
            ("open", "unknown"),
        ];
        assert_eq!(shape, expected.map(|(k, w)| (k.to_string(), w)).to_vec());
        assert!(read.meta.iter().all(|(_, m)| m.sent));
        assert_eq!(read.entries[0].at, Millis(1_004));
        // The machine takes it: the open key is resolved, the applied one answers `begin`.
        let config = BackendConfig::uniform(&["http://127.0.0.1:9".to_string()], 100, true);
        let route = config.route(op().service()).cloned();
        let Some(route) = route else {
            panic!("no route")
        };
        let machine = Machine::new(
            machine_config(&config, &route),
            Millis(2_000),
            &read.entries,
        );
        let Ok(mut machine) = machine else {
            panic!("machine refused the journal")
        };
        assert!(matches!(
            machine.poll_action(),
            Some(Action::QueryStatus { .. })
        ));
        let begun = machine.begin(
            Millis(2_001),
            eo::Reference("r".into()),
            op(),
            Key("fresh".into()),
        );
        assert!(matches!(begun, Ok(Begin::Resumed(Key(k))) if k == "open"));
    }

    #[test]
    fn an_applied_key_whose_intent_cannot_be_read_is_an_error_not_a_guess() {
        let history = vec![
            row(
                1,
                EntryKind::Intent,
                "k",
                None,
                journal::Payload::Unreadable,
            ),
            row(2, EntryKind::Sent, "k", None, journal::Payload::Empty),
        ];
        assert!(read_back(&history).is_err());
    }
}
