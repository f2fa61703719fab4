//! The journal-first transaction engine.
//!
//! Every mutation is journaled (`intent`, with its idempotency key) before the first byte is
//! sent, then `sent`, then `result` or `unknown`, then `completed`. A timeout or garbled answer
//! after sending is "unknown", resolved by a status query with the same key; an operation that
//! never arrived is voided at the back end (fenced, so a late copy is refused) and recorded as
//! such. `recover()` resolves every open operation before anyone is served. Queries (identify,
//! records, the catalogue) are not journaled at all: the contract lets them be re-evaluated,
//! and their parameters and answers are the residents' personal data.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::api::{
    self, ApiError, JournalBatch, Operation, ParseError, Reply, Service, TxState, TxStatus,
};
use super::config::{BackendConfig, BreakerPolicy};
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
    /// not to repeat the operation; `resolve` later.
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

/// A per-endpoint circuit breaker. Pure: the caller passes `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaker {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial call is in flight. Its caller may abandon it (a resident's session ended and
    /// its query was cancelled), so after `until` another trial may go instead.
    HalfOpen {
        until: Instant,
    },
}

/// How long a trial call may hold a half-open breaker before another may try: longer than
/// any route's timeout with its retries.
const TRIAL_WINDOW: Duration = Duration::from_secs(30);

impl Breaker {
    pub fn new() -> Breaker {
        Breaker::Closed { failures: 0 }
    }

    /// Whether a call may go out now (moving an expired open breaker to half-open).
    pub fn allow(&mut self, now: Instant) -> bool {
        match *self {
            Breaker::Closed { .. } => true,
            Breaker::Open { until } | Breaker::HalfOpen { until } if now >= until => {
                *self = Breaker::HalfOpen {
                    until: now + TRIAL_WINDOW,
                };
                true
            }
            Breaker::Open { .. } | Breaker::HalfOpen { .. } => false,
        }
    }

    pub fn on_success(&mut self) {
        *self = Breaker::Closed { failures: 0 };
    }

    pub fn on_failure(&mut self, now: Instant, policy: &BreakerPolicy) {
        let open = Breaker::Open {
            until: now + Duration::from_millis(policy.open_ms),
        };
        *self = match *self {
            Breaker::Closed { failures } if failures + 1 < policy.failure_threshold => {
                Breaker::Closed {
                    failures: failures + 1,
                }
            }
            _ => open,
        };
    }

    /// Milliseconds until a call may go out (0 when one may now).
    fn wait_ms(&self, now: Instant) -> u64 {
        match *self {
            Breaker::Closed { .. } => 0,
            Breaker::Open { until } => until.saturating_duration_since(now).as_millis() as u64,
            // A trial is in flight; its answer decides soon, or it was abandoned.
            Breaker::HalfOpen { until } => until.saturating_duration_since(now).as_millis() as u64,
        }
    }
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::new()
    }
}

/// What the attempt loop got.
enum Exchange {
    /// A 2xx body that passed validation.
    Success { body: Vec<u8>, replayed: bool },
    /// A 4xx with a well-formed error body: a definite business answer.
    Rejected { status: u16, error: ApiError },
    /// No usable answer from any endpoint.
    Failed { reason: String },
}

/// The result payload journaled for a definite answer.
#[derive(Serialize, Deserialize)]
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

struct Inner {
    store: Mutex<Store>,
    client: HttpClient,
    config: BackendConfig,
    terminal_id: String,
    breakers: Mutex<HashMap<String, Breaker>>,
    /// Business references with an operation running in this process: one at a time each,
    /// and recovery leaves their keys alone.
    in_flight: Mutex<HashMap<String, Option<String>>>,
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

/// The engine; cheap to clone, shareable across tasks.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
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

impl Engine {
    /// Builds an engine over an open store. Call [`Engine::recover`] before serving anyone.
    pub fn new(
        store: Store,
        config: BackendConfig,
        terminal_id: &str,
    ) -> Result<Engine, EngineError> {
        let client = HttpClient::new(&config, terminal_id)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                store: Mutex::new(store),
                client,
                config,
                terminal_id: terminal_id.to_string(),
                breakers: Mutex::new(HashMap::new()),
                in_flight: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn terminal_id(&self) -> &str {
        &self.inner.terminal_id
    }

    /// Runs `f` on the store in a blocking task (SQLite commits wait for fsync).
    async fn with_store<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
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

    async fn append(&self, records: Vec<Record>) -> Result<(), EngineError> {
        let terminal = self.inner.terminal_id.clone();
        self.with_store(move |store| {
            let at = now_ms();
            let entries: Vec<NewEntry<'_>> = records
                .iter()
                .map(|r| new_entry(&terminal, r, at))
                .collect();
            store.journal_append(&entries).map(|_| ())
        })
        .await
    }

    /// Executes `op` exactly once for the business `reference` (e.g. session id + step).
    ///
    /// Calling again with the same reference never executes twice: a completed operation
    /// returns its journaled result, an open one is resumed under its own key.
    pub async fn execute(&self, reference: &str, op: Operation) -> Result<Outcome, EngineError> {
        if !op.is_mutation() {
            return self.query(&op).await;
        }
        let flight = InFlight::claim(&self.inner, reference)?;
        loop {
            let key = uuid::Uuid::new_v4().to_string();
            let intent = Record {
                kind: EntryKind::Intent,
                key: key.clone(),
                reference: reference.to_string(),
                service: op.service(),
                operation: op.name().to_string(),
                outcome: None,
                payload: op.to_journal(),
            };
            // The history check and the intent are one IMMEDIATE transaction: no second
            // operation can start for the reference between them.
            let terminal = self.inner.terminal_id.clone();
            let begun = self
                .with_store(move |s| s.journal_begin(&new_entry(&terminal, &intent, now_ms())))
                .await?;
            let history = match begun {
                Ok(_) => {
                    flight.key(&key);
                    return self.send_journaled(&key, reference, &op, false).await;
                }
                Err(history) => history,
            };
            let Some(last) = history.last() else {
                continue;
            };
            let open_key = last.idempotency_key.clone();
            flight.key(&open_key);
            let journaled = latest_intent_op(&history, &open_key)?;
            match last.kind {
                EntryKind::Completed => {
                    return self.outcome_from_history(&history, &open_key, &journaled);
                }
                EntryKind::Intent => {
                    let key = open_key.clone();
                    let queued = self.with_store(move |s| s.outbox_get(&key)).await?;
                    if queued.is_some() {
                        // Deferred through the outbox: only the relay sends it.
                        return Ok(Outcome::Deferred { key: open_key });
                    }
                    return self
                        .send_journaled(&open_key, reference, &journaled, false)
                        .await;
                }
                _ => {
                    let outcome = self.resolve(&open_key).await?;
                    if !matches!(outcome, Outcome::Voided { .. }) {
                        return Ok(outcome);
                    }
                    // Voided: it never happened; the loop begins it again under a new key.
                }
            }
        }
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

    /// Sends an operation whose intent is journaled, and journals what happened.
    async fn send_journaled(
        &self,
        key: &str,
        reference: &str,
        op: &Operation,
        sent_journaled: bool,
    ) -> Result<Outcome, EngineError> {
        let record = |kind: EntryKind, payload: String| Record {
            kind,
            key: key.to_string(),
            reference: reference.to_string(),
            service: op.service(),
            operation: op.name().to_string(),
            outcome: None,
            payload,
        };
        if !sent_journaled {
            self.append(vec![record(EntryKind::Sent, "{}".into())])
                .await?;
        }
        let body = op.body();
        let op_for_check = op.clone();
        let exchange = self
            .exchange(
                op.service(),
                Method::Post,
                &op.path(),
                Some(&body),
                key,
                move |bytes| api::parse_reply(&op_for_check, bytes).map(|_| ()),
            )
            .await;
        let (result, outcome) = match exchange {
            Exchange::Success { body, replayed } => {
                let reply = api::parse_reply(op, &body)?;
                (
                    ResultRecord::Applied {
                        body: String::from_utf8_lossy(&body).into_owned(),
                        replayed,
                    },
                    Outcome::Applied {
                        key: key.into(),
                        reply,
                        replayed,
                    },
                )
            }
            Exchange::Rejected { status, error } => (
                ResultRecord::Rejected {
                    status,
                    error: error.clone(),
                },
                Outcome::Rejected {
                    key: key.into(),
                    error,
                },
            ),
            Exchange::Failed { reason } if op.is_mutation() => {
                tracing::warn!(key, op = op.name(), %reason, "outcome unknown");
                let payload = json!({ "reason": reason }).to_string();
                self.append(vec![record(EntryKind::Unknown, payload)])
                    .await?;
                return Ok(Outcome::Unknown {
                    key: key.into(),
                    reason,
                });
            }
            Exchange::Failed { reason } => {
                // A query changes nothing: close it and report the service unavailable.
                let failed = ResultRecord::Failed {
                    reason: reason.clone(),
                };
                self.append(vec![
                    result_record(record(EntryKind::Result, String::new()), &failed),
                    record(EntryKind::Completed, "{}".into()),
                ])
                .await?;
                return Err(EngineError::Unavailable {
                    service: op.service().as_str(),
                    reason,
                });
            }
        };
        self.append(vec![
            result_record(record(EntryKind::Result, String::new()), &result),
            record(EntryKind::Completed, "{}".into()),
        ])
        .await?;
        Ok(outcome)
    }

    /// Tries the route's endpoints in order, each up to `attempts` times, skipping endpoints
    /// whose breaker is open. Retries reuse the same key and body, so they are safe.
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
        let policy = &self.inner.config.breaker;
        let mut reasons = Vec::new();
        for endpoint in &route.endpoints {
            for attempt in 0..route.attempts {
                if !self.breaker_allows(endpoint) {
                    reasons.push(format!("{endpoint}: circuit open"));
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(route.backoff_ms)).await;
                }
                let request = WireRequest {
                    method,
                    base_url: endpoint,
                    path,
                    body,
                    idempotency_key: key,
                    timeout: Duration::from_millis(route.timeout_ms),
                };
                let failure = match self.inner.client.send(&request).await {
                    Ok(r) if (200..300).contains(&r.status) => match validate(&r.body) {
                        Ok(()) => {
                            self.breaker_result(endpoint, true, policy);
                            return Exchange::Success {
                                body: r.body,
                                replayed: r.replayed,
                            };
                        }
                        Err(e) => format!("{endpoint}: {e}"),
                    },
                    Ok(r) if (400..500).contains(&r.status) => match ApiError::parse(&r.body) {
                        Ok(error) => {
                            self.breaker_result(endpoint, true, policy);
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
                        self.breaker_result(endpoint, false, policy);
                        reasons.push(e.to_string());
                        if connect {
                            break; // this endpoint is down: fail over now
                        }
                        continue;
                    }
                };
                self.breaker_result(endpoint, false, policy);
                reasons.push(failure);
            }
        }
        Exchange::Failed {
            reason: reasons.join("; "),
        }
    }

    fn breaker_allows(&self, endpoint: &str) -> bool {
        let mut breakers = match self.inner.breakers.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        breakers
            .entry(endpoint.to_string())
            .or_default()
            .allow(Instant::now())
    }

    fn breaker_result(&self, endpoint: &str, ok: bool, policy: &BreakerPolicy) {
        let mut breakers = match self.inner.breakers.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let breaker = breakers.entry(endpoint.to_string()).or_default();
        if ok {
            breaker.on_success();
        } else {
            breaker.on_failure(Instant::now(), policy);
        }
    }

    /// Per service: can it be used now? (Available when any endpoint's breaker lets calls out.)
    pub fn availability(&self) -> BTreeMap<Service, Availability> {
        let now = Instant::now();
        let breakers = match self.inner.breakers.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut map = BTreeMap::new();
        for (service, route) in &self.inner.config.routes {
            let wait = route
                .endpoints
                .iter()
                .map(|e| breakers.get(e).map_or(0, |b| b.wait_ms(now)))
                .min()
                .unwrap_or(0);
            let availability = if wait == 0 {
                Availability::Available
            } else {
                Availability::Unavailable { retry_in_ms: wait }
            };
            map.insert(*service, availability);
        }
        map
    }

    /// Resolves an open operation by a status query with its key; voids it at the back end
    /// if it never arrived. Stays `Unknown` if the back end cannot be reached.
    pub async fn resolve(&self, key: &str) -> Result<Outcome, EngineError> {
        let key_owned = key.to_string();
        let history = self
            .with_store(move |s| s.journal_for_key(&key_owned))
            .await?;
        let Some(first) = history.first() else {
            return Ok(Outcome::Unknown {
                key: key.into(),
                reason: "no such key in the journal".into(),
            });
        };
        let op = latest_intent_op(&history, key)?;
        if let Some(last) = history.last() {
            if last.kind == EntryKind::Completed {
                return self.outcome_from_history(&history, key, &op);
            }
        }
        let reference = first.reference.clone();
        let service = op.service();
        let status_path = format!("/v1/transactions/{key}");
        let mut status = self
            .status_call(service, Method::Get, &status_path, key)
            .await;
        if let Ok(s) = &status {
            if s.state == TxState::NotFound {
                let age_ms = now_ms().saturating_sub(first.recorded_at_ms);
                let retention_ms = self.inner.config.key_retention_ms();
                if age_ms >= retention_ms as i64 {
                    // The back end forgets keys after its retention: "not found" may mean
                    // "applied and forgotten". Voiding could make it happen twice in the
                    // resident's eyes; a technician must look instead.
                    let reason = format!(
                        "not found at the back end {} h after it was sent, past its retention \
                         of {} h: not voided",
                        age_ms / 3_600_000,
                        retention_ms / 3_600_000
                    );
                    self.quarantine(key, op.name(), &reason).await?;
                    return Ok(Outcome::Unknown {
                        key: key.into(),
                        reason,
                    });
                }
                // Fence the key: from now on a late copy of the request is refused.
                status = self
                    .status_call(service, Method::Post, &format!("{status_path}/void"), key)
                    .await;
            }
        }
        let status = match status {
            Ok(s) => s,
            Err(reason) => {
                return Ok(Outcome::Unknown {
                    key: key.into(),
                    reason,
                })
            }
        };
        if status.state == TxState::InProgress {
            // Still executing at the back end: never void it; ask again later.
            return Ok(Outcome::Unknown {
                key: key.into(),
                reason: "still in progress at the back end".into(),
            });
        }
        let result = match status.state {
            TxState::Applied => ResultRecord::Applied {
                body: status.response.map(|v| v.to_string()).unwrap_or_default(),
                replayed: true,
            },
            TxState::Rejected => {
                let error = status
                    .response
                    .map(|v| v.to_string())
                    .and_then(|b| ApiError::parse(b.as_bytes()).ok())
                    .unwrap_or_else(|| ApiError::new(api::ErrorCode::Internal, "", ""));
                ResultRecord::Rejected {
                    status: status.http_status.unwrap_or(400),
                    error,
                }
            }
            TxState::Void | TxState::NotFound | TxState::InProgress => ResultRecord::Void {
                reason: "never reached the back end; voided".into(),
            },
        };
        let payload = to_json(&result);
        let outcome = outcome_from_record(key, &op, &payload)?;
        let rec = |kind, payload| Record {
            kind,
            key: key.to_string(),
            reference: reference.clone(),
            service,
            operation: op.name().to_string(),
            outcome: None,
            payload,
        };
        self.append(vec![
            result_record(rec(EntryKind::Result, String::new()), &result),
            rec(EntryKind::Completed, "{}".into()),
        ])
        .await?;
        Ok(outcome)
    }

    /// Sets an operation aside for a technician (see `store::quarantine`).
    async fn quarantine(
        &self,
        key: &str,
        operation: &str,
        reason: &str,
    ) -> Result<(), EngineError> {
        tracing::error!(key, operation, reason, "journal entry quarantined");
        let (key, operation, reason) = (key.to_string(), operation.to_string(), reason.to_string());
        self.with_store(move |s| s.quarantine(&key, &operation, &reason, now_ms()))
            .await
    }

    /// A daily reconciliation matched: retention may purge what was recorded before
    /// `through_ms`.
    pub async fn mark_reconciled(&self, through_ms: i64) -> Result<(), EngineError> {
        self.with_store(move |s| s.journal_mark_reconciled(through_ms))
            .await
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

    async fn status_call(
        &self,
        service: Service,
        method: Method,
        path: &str,
        key: &str,
    ) -> Result<TxStatus, String> {
        let body = if method == Method::Post {
            Some("{}")
        } else {
            None
        };
        match self
            .exchange(service, method, path, body, key, |b| {
                TxStatus::parse(b).map(|_| ())
            })
            .await
        {
            Exchange::Success { body, .. } => TxStatus::parse(&body).map_err(|e| e.to_string()),
            Exchange::Rejected { error, .. } => {
                Err(format!("status query refused: {:?}", error.code))
            }
            Exchange::Failed { reason } => Err(reason),
        }
    }

    /// Start-up: resolves every open operation (sent or unknown), closes intents that were
    /// never sent, and retries the unreachable ones for up to `rounds` passes.
    pub async fn recover(&self) -> Result<RecoveryReport, EngineError> {
        self.recover_with(5, Duration::from_millis(200)).await
    }

    pub async fn recover_with(
        &self,
        rounds: u32,
        pause: Duration,
    ) -> Result<RecoveryReport, EngineError> {
        let mut report = RecoveryReport::default();
        for round in 0..rounds.max(1) {
            if round > 0 {
                tokio::time::sleep(pause).await;
            }
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
            report.unresolved.clear();
            for entry in open {
                if skip.contains(&entry.idempotency_key) || flying.contains(&entry.idempotency_key)
                {
                    continue;
                }
                // One entry at a time: one that cannot be read or resolved is quarantined,
                // and the others are still recovered.
                let outcome = match self.recover_one(&entry).await {
                    Ok(outcome) => outcome,
                    Err(EngineError::Journal(error)) => {
                        self.quarantine(
                            &entry.idempotency_key,
                            &entry.operation,
                            &error.to_string(),
                        )
                        .await?;
                        report.quarantined.push(entry.idempotency_key.clone());
                        continue;
                    }
                    Err(other) => return Err(other),
                };
                match outcome {
                    Outcome::Applied { .. } => report.applied += 1,
                    Outcome::Rejected { .. } => report.rejected += 1,
                    Outcome::Voided { .. } => report.voided += 1,
                    Outcome::Unknown { key, .. } | Outcome::Deferred { key } => {
                        let key_owned = key.clone();
                        if self
                            .with_store(move |s| s.is_quarantined(&key_owned))
                            .await?
                        {
                            report.quarantined.push(key);
                        } else {
                            report.unresolved.push(key);
                        }
                    }
                }
            }
            if report.unresolved.is_empty() {
                break;
            }
        }
        Ok(report)
    }

    /// Recovers one open operation: an intent never sent is closed as void here (`sent` is
    /// journaled before sending, so nothing can have arrived); anything later is resolved.
    async fn recover_one(&self, entry: &JournalEntry) -> Result<Outcome, EngineError> {
        if entry.kind != EntryKind::Intent {
            return self.resolve(&entry.idempotency_key).await;
        }
        let void = ResultRecord::Void {
            reason: "never sent".into(),
        };
        let rec = |kind, payload| Record {
            kind,
            key: entry.idempotency_key.clone(),
            reference: entry.reference.clone(),
            service: Service::parse(&entry.service).unwrap_or(Service::Terminal),
            operation: entry.operation.clone(),
            outcome: None,
            payload,
        };
        self.append(vec![
            result_record(rec(EntryKind::Result, String::new()), &void),
            rec(EntryKind::Completed, "{}".into()),
        ])
        .await?;
        Ok(Outcome::Voided {
            key: entry.idempotency_key.clone(),
        })
    }

    /// Queues a deferrable operation. A heartbeat is latest-wins status, not a mutation: it
    /// is not journaled and replaces any heartbeat still waiting. A certification is journaled
    /// (intent and outbox message in one transaction) and queued once per `reference`.
    pub async fn defer(&self, reference: &str, op: Operation) -> Result<Outcome, EngineError> {
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
                        now_ms: now_ms(),
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
            let at = now_ms();
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
                    now_ms: now_ms(),
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
        let batch = self.inner.config.outbox.batch;
        let due = self
            .with_store(move |s| s.outbox_due(now_ms(), batch))
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
                        now_ms(),
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
                    self.with_store(move |s| {
                        s.outbox_retry_later(id, now_ms() + delay as i64, &reason)
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
                let at = now_ms();
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
        self.with_store(|s| {
            let now = now_ms();
            let journal = s.journal_prune(now, journal::Retention::DEFAULT)?;
            let outbox = s.outbox_prune(now, OUTBOX_SENT_KEEP_MS, OUTBOX_REJECTED_KEEP_MS)?;
            Ok((journal, outbox))
        })
        .await
    }

    /// Makes every pending message due now and relays until nothing due is left or a pass
    /// makes no progress.
    pub async fn flush_outbox(&self) -> Result<RelayReport, EngineError> {
        self.with_store(|s| s.outbox_make_all_due(now_ms())).await?;
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
        let (entries, _) = self.journal_audit().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_the_threshold_and_lets_one_trial_through_later() {
        let policy = BreakerPolicy {
            failure_threshold: 3,
            open_ms: 1_000,
        };
        let t0 = Instant::now();
        let mut b = Breaker::new();
        for _ in 0..2 {
            b.on_failure(t0, &policy);
            assert!(b.allow(t0));
        }
        b.on_failure(t0, &policy);
        assert!(!b.allow(t0 + Duration::from_millis(999)));
        assert!(b.allow(t0 + Duration::from_millis(1_000)));
        assert!(
            !b.allow(t0 + Duration::from_millis(1_001)),
            "only one trial"
        );
        b.on_failure(t0 + Duration::from_millis(1_001), &policy);
        assert!(!b.allow(t0 + Duration::from_millis(1_500)));
        assert!(b.allow(t0 + Duration::from_millis(2_001)));
        b.on_success();
        assert!(b.allow(t0 + Duration::from_millis(2_002)));
    }

    #[test]
    fn an_abandoned_trial_does_not_hold_the_breaker_half_open_forever() {
        let policy = BreakerPolicy {
            failure_threshold: 1,
            open_ms: 1_000,
        };
        let t0 = Instant::now();
        let mut b = Breaker::new();
        b.on_failure(t0, &policy);
        let trial = t0 + Duration::from_millis(1_000);
        assert!(b.allow(trial));
        // The trial's caller was cancelled: neither success nor failure is ever reported.
        assert!(!b.allow(trial + Duration::from_secs(1)));
        assert!(b.wait_ms(trial + Duration::from_secs(1)) > 0);
        assert_eq!(b.wait_ms(trial + TRIAL_WINDOW), 0);
        assert!(b.allow(trial + TRIAL_WINDOW), "a new trial may go");
    }
}
