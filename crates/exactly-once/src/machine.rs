//! The state machine: inputs in, actions out. See the crate docs for the rules.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::backoff::Backoff;
use crate::breaker::{Breaker, BreakerPolicy};
use crate::exchange::{Exchange, Purpose, Step};
use crate::operation::{Operation, Phase, Writing};
use crate::time::Millis;
use crate::types::{
    Action, Answer, Begin, Endpoint, Error, Failure, Final, JournalEntry, Key, Outcome,
    QuarantineReason, Record, Reference, Report, Standing, TxState,
};

/// The route and the policies. One machine serves one route (one list of endpoints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How many endpoints the route has; [`Endpoint`] indexes them, tried in order.
    pub endpoints: usize,
    /// Tries per endpoint before failing over to the next one.
    pub attempts_per_endpoint: u32,
    /// The pause between tries within one exchange.
    pub retry: Backoff,
    /// The pause between status rounds while resolving an unknown.
    pub resolve: Backoff,
    pub breaker: BreakerPolicy,
    /// How long the back end is sure to remember a key, minus a margin for the time a void
    /// request can take on the wire. A key older than this is never voided.
    pub retention: Millis,
}

/// The exactly-once journal protocol for one route. `O` is the operation (what the caller
/// sends and journals as the intent), `R` the back end's answer.
#[derive(Debug)]
pub struct Machine<O, R> {
    config: Config,
    breakers: Vec<Breaker>,
    ops: BTreeMap<Key, Operation<O, R>>,
    by_reference: BTreeMap<Reference, Key>,
    actions: VecDeque<Action<O, R>>,
}

impl<O: Clone, R: Clone> Machine<O, R> {
    /// A machine rebuilt from the durable journal (empty on a new terminal). Nothing may
    /// begin before the journal has been read, so there is no constructor without one.
    pub fn new<'a>(
        config: Config,
        now: Millis,
        journal: impl IntoIterator<Item = &'a JournalEntry<O, R>>,
    ) -> Result<Machine<O, R>, Error>
    where
        O: 'a,
        R: 'a,
    {
        if config.endpoints == 0 {
            return Err(Error::Config("a route needs an endpoint"));
        }
        if config.attempts_per_endpoint == 0 {
            return Err(Error::Config("attempts_per_endpoint must be at least 1"));
        }
        let mut machine = Machine {
            breakers: vec![Breaker::default(); config.endpoints],
            config,
            ops: BTreeMap::new(),
            by_reference: BTreeMap::new(),
            actions: VecDeque::new(),
        };
        machine.recover(now, journal)?;
        Ok(machine)
    }

    /// Reads the durable journal and takes over every key this process does not know:
    /// an intent without `sent` was never sent and is voided locally; `sent` or `unknown`
    /// is resolved by a status query; `completed` is remembered for `begin`. A key this
    /// process already holds is left alone, so calling this on a running machine (a
    /// technician's "re-scan") never voids an operation that is in flight here.
    pub fn recover<'a>(
        &mut self,
        now: Millis,
        journal: impl IntoIterator<Item = &'a JournalEntry<O, R>>,
    ) -> Result<(), Error>
    where
        O: 'a,
        R: 'a,
    {
        struct Seen<'a, O, R> {
            reference: &'a Reference,
            intent: Option<(&'a O, Millis)>,
            last: &'a Record<O, R>,
        }
        let mut seen: BTreeMap<&Key, Seen<'_, O, R>> = BTreeMap::new();
        let mut order: Vec<&Key> = Vec::new();
        for entry in journal {
            if self.ops.contains_key(&entry.key) {
                continue;
            }
            let s = seen.entry(&entry.key).or_insert_with(|| {
                order.push(&entry.key);
                Seen {
                    reference: &entry.reference,
                    intent: None,
                    last: &entry.record,
                }
            });
            if let Record::Intent(op) = &entry.record {
                s.intent = Some((op, entry.at));
            }
            s.last = &entry.record;
        }
        // Check everything before changing anything: a corrupt journal leaves us as we were.
        if let Some(key) = order
            .iter()
            .find(|k| seen.get(*k).is_some_and(|s| s.intent.is_none()))
        {
            return Err(Error::NoIntent((*key).clone()));
        }
        let known: BTreeSet<Reference> = self.by_reference.keys().cloned().collect();
        for key in order {
            let Some(s) = seen.get(key) else { continue };
            let Some((op, created)) = s.intent else {
                continue;
            };
            let mut operation = Operation {
                key: key.clone(),
                reference: s.reference.clone(),
                op: op.clone(),
                created,
                phase: Phase::Done(Final::Voided),
                attempt: 0,
                rounds: 0,
            };
            match s.last {
                // `sent` is durable before anything goes out, so this was never sent.
                Record::Intent(_) => {
                    write(
                        &mut self.actions,
                        &mut operation,
                        now,
                        Writing::Completed(Final::Voided),
                    );
                }
                Record::Sent | Record::Unknown => {
                    operation.phase = Phase::Exchange(self.exchange(Purpose::Query));
                }
                Record::Completed(result) => operation.phase = Phase::Done(result.clone()),
            }
            // Journal order: a later key of the same reference is the current one.
            if !known.contains(&operation.reference) {
                self.by_reference
                    .insert(operation.reference.clone(), key.clone());
            }
            self.ops.insert(key.clone(), operation);
        }
        self.drive(now, 0);
        Ok(())
    }

    /// Starts the operation for `reference`, or says where it stands. `fresh` is a new key
    /// drawn by the caller, used only if a new attempt starts. Never a second key while one
    /// is open; a voided attempt is retried under `fresh`. An open key keeps its own
    /// operation: `op` is then ignored.
    pub fn begin(
        &mut self,
        now: Millis,
        reference: Reference,
        op: O,
        fresh: Key,
    ) -> Result<Begin<R>, Error> {
        if let Some(current) = self
            .by_reference
            .get(&reference)
            .and_then(|k| self.ops.get(k))
        {
            match &current.phase {
                Phase::Done(Final::Voided) => {}
                Phase::Done(result) => {
                    return Ok(Begin::Finished {
                        key: current.key.clone(),
                        result: result.clone(),
                    })
                }
                Phase::Quarantined => return Ok(Begin::Quarantined(current.key.clone())),
                _ => return Ok(Begin::Resumed(current.key.clone())),
            }
        }
        if self.ops.contains_key(&fresh) {
            return Err(Error::DuplicateKey(fresh));
        }
        let mut operation = Operation {
            key: fresh.clone(),
            reference: reference.clone(),
            op,
            created: now,
            phase: Phase::Writing(Writing::Intent),
            attempt: 0,
            rounds: 0,
        };
        write(&mut self.actions, &mut operation, now, Writing::Intent);
        self.by_reference.insert(reference, fresh.clone());
        self.ops.insert(fresh.clone(), operation);
        Ok(Begin::Started(fresh))
    }

    /// The caller made the key's pending journal write durable.
    pub fn journaled(&mut self, now: Millis, key: &Key) -> Result<(), Error> {
        let op = self
            .ops
            .get_mut(key)
            .ok_or_else(|| Error::UnknownKey(key.clone()))?;
        let Phase::Writing(writing) = &op.phase else {
            return Err(Error::NothingToAcknowledge(key.clone()));
        };
        match writing.clone() {
            // The intent is durable on its own first: a crash now leaves an intent without
            // `sent`, which recovery may void locally because nothing went out.
            Writing::Intent => write(&mut self.actions, op, now, Writing::Sent),
            Writing::Sent => {
                op.phase = Phase::Exchange(Exchange::new(
                    Purpose::Send,
                    self.config.endpoints,
                    self.config.attempts_per_endpoint,
                ));
            }
            Writing::Unknown => {
                self.actions.push_back(report(op, Outcome::Unknown));
                op.phase = Phase::Exchange(Exchange::new(
                    Purpose::Query,
                    self.config.endpoints,
                    self.config.attempts_per_endpoint,
                ));
            }
            Writing::Completed(result) => {
                self.actions
                    .push_back(report(op, Outcome::Final(result.clone())));
                op.phase = Phase::Done(result);
            }
        }
        self.drive(now, 0);
        Ok(())
    }

    /// The answer to `Action::Send { key, attempt, .. }`. An answer to any other attempt
    /// (late, duplicated) is ignored.
    pub fn answer(
        &mut self,
        now: Millis,
        key: &Key,
        attempt: u32,
        answer: Answer<R>,
        jitter: u32,
    ) -> Result<(), Error> {
        let op = self
            .ops
            .get_mut(key)
            .ok_or_else(|| Error::UnknownKey(key.clone()))?;
        let Some(endpoint) = in_flight(op, attempt, |p| p == Purpose::Send) else {
            return Ok(());
        };
        let breaker = &mut self.breakers[endpoint.0];
        match answer {
            Answer::Applied(r) => {
                breaker.on_success();
                write(
                    &mut self.actions,
                    op,
                    now,
                    Writing::Completed(Final::Applied(r)),
                );
            }
            Answer::Rejected(r) => {
                breaker.on_success();
                write(
                    &mut self.actions,
                    op,
                    now,
                    Writing::Completed(Final::Rejected(r)),
                );
            }
            // It arrived: sending again is pointless; the status query follows it.
            Answer::InProgress => {
                breaker.on_success();
                write(&mut self.actions, op, now, Writing::Unknown);
            }
            Answer::Garbled | Answer::Timeout | Answer::ConnectFailed => {
                breaker.on_failure(now, &self.config.breaker);
                if let Phase::Exchange(ex) = &mut op.phase {
                    let connect = matches!(answer, Answer::ConnectFailed);
                    ex.failed(endpoint, connect, now, &self.config.retry, jitter);
                }
            }
        }
        self.drive(now, jitter);
        Ok(())
    }

    /// The answer to `Action::QueryStatus` or `Action::Void` with this `attempt`: the
    /// back end's state for the key, or why there was none. Other attempts are ignored.
    pub fn status(
        &mut self,
        now: Millis,
        key: &Key,
        attempt: u32,
        reply: Result<TxState<R>, Failure>,
        jitter: u32,
    ) -> Result<(), Error> {
        let op = self
            .ops
            .get_mut(key)
            .ok_or_else(|| Error::UnknownKey(key.clone()))?;
        let Some(endpoint) = in_flight(op, attempt, |p| p != Purpose::Send) else {
            return Ok(());
        };
        let querying = matches!(&op.phase, Phase::Exchange(ex) if ex.purpose == Purpose::Query);
        let breaker = &mut self.breakers[endpoint.0];
        match reply {
            Ok(state) => {
                breaker.on_success();
                match state {
                    TxState::Applied(r) => write(
                        &mut self.actions,
                        op,
                        now,
                        Writing::Completed(Final::Applied(r)),
                    ),
                    TxState::Rejected(r) => write(
                        &mut self.actions,
                        op,
                        now,
                        Writing::Completed(Final::Rejected(r)),
                    ),
                    TxState::Void => write(
                        &mut self.actions,
                        op,
                        now,
                        Writing::Completed(Final::Voided),
                    ),
                    // Never arrived: fence it, unless the back end may have forgotten it.
                    TxState::NotFound if querying => {
                        if !quarantine_if_old(&mut self.actions, op, now, self.config.retention) {
                            op.phase = Phase::Exchange(Exchange::new(
                                Purpose::Void,
                                self.config.endpoints,
                                self.config.attempts_per_endpoint,
                            ));
                        }
                    }
                    // Still executing (never voided), or a void that answered "not found"
                    // (the contract says it cannot): ask again later, from the query.
                    TxState::InProgress | TxState::NotFound => {
                        pause(op, now, &self.config.resolve, jitter)
                    }
                }
            }
            Err(failure) => {
                breaker.on_failure(now, &self.config.breaker);
                if let Phase::Exchange(ex) = &mut op.phase {
                    ex.failed(
                        endpoint,
                        failure == Failure::ConnectFailed,
                        now,
                        &self.config.retry,
                        jitter,
                    );
                }
            }
        }
        self.drive(now, jitter);
        Ok(())
    }

    /// Time has passed: run whatever was waiting for `now`.
    pub fn handle_timeout(&mut self, now: Millis, jitter: u32) {
        self.drive(now, jitter);
    }

    /// The next action to perform, in order.
    pub fn poll_action(&mut self) -> Option<Action<O, R>> {
        self.actions.pop_front()
    }

    /// When to call [`Machine::handle_timeout`] next, if anything is waiting on time.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.ops
            .values()
            .filter_map(|op| match &op.phase {
                Phase::Pause { until } => Some(*until),
                Phase::Exchange(ex) if ex.in_flight.is_none() => ex.wake_at,
                _ => None,
            })
            .min()
    }

    /// Keys not finished yet (quarantined ones included): serve nobody while a key of the
    /// start-up recovery is among them.
    pub fn open_keys(&self) -> impl Iterator<Item = &Key> {
        self.ops
            .values()
            .filter(|op| op.is_open())
            .map(|op| &op.key)
    }

    /// The endpoints' breakers (for the UI's "service available" and for tests).
    pub fn breakers(&self) -> &[Breaker] {
        &self.breakers
    }

    /// The breakers, for calls the caller makes on the same route outside the protocol
    /// (queries, the outbox): one endpoint's health is one breaker, whoever calls it.
    pub fn breakers_mut(&mut self) -> &mut [Breaker] {
        &mut self.breakers
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where `key` stands (`None`: not known to this machine, or forgotten).
    pub fn standing(&self, key: &Key) -> Option<Standing<R>> {
        self.ops.get(key).map(|op| match &op.phase {
            Phase::Writing(_) => Standing::Writing,
            Phase::Exchange(_) => Standing::Exchanging,
            Phase::Pause { until } => Standing::Paused { until: *until },
            Phase::Done(result) => Standing::Done(result.clone()),
            Phase::Quarantined => Standing::Quarantined,
        })
    }

    /// Ends the pause between status rounds of `key` now (someone asks "is it done?"):
    /// the next status query goes at once. Returns whether the key was paused. A key in any
    /// other phase is left alone: an exchange already running answers sooner.
    pub fn resolve_now(&mut self, now: Millis, key: &Key) -> bool {
        let Some(op) = self.ops.get_mut(key) else {
            return false;
        };
        if !matches!(op.phase, Phase::Pause { .. }) {
            return false;
        }
        op.phase = Phase::Pause { until: now };
        self.drive(now, 0);
        true
    }

    /// Forgets a finished key (its journal keeps it): a long-running caller that reads
    /// the reference's history back before every `begin` need not hold every result in
    /// memory. Only a finished key may be forgotten.
    pub fn forget(&mut self, key: &Key) -> Result<(), Error> {
        match self.ops.get(key).map(|op| &op.phase) {
            None => Err(Error::UnknownKey(key.clone())),
            Some(Phase::Done(_)) => {
                self.remove(key);
                Ok(())
            }
            Some(_) => Err(Error::WrongState(key.clone())),
        }
    }

    /// The caller could not make the intent of a key it just began durable (its store
    /// refused it): the operation is dropped, as though the process had crashed before the
    /// intent was written. Only a key whose intent write is pending may be abandoned;
    /// nothing of it has been sent.
    pub fn abandon(&mut self, key: &Key) -> Result<(), Error> {
        match self.ops.get(key).map(|op| &op.phase) {
            None => Err(Error::UnknownKey(key.clone())),
            Some(Phase::Writing(Writing::Intent)) => {
                self.remove(key);
                // Its journal action may still be queued: drop it with the key.
                self.actions
                    .retain(|a| !matches!(a, Action::Journal(e) if e.key == *key));
                Ok(())
            }
            Some(_) => Err(Error::WrongState(key.clone())),
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(op) = self.ops.remove(key) {
            if self.by_reference.get(&op.reference) == Some(key) {
                self.by_reference.remove(&op.reference);
            }
        }
    }

    fn exchange(&self, purpose: Purpose) -> Exchange {
        Exchange::new(
            purpose,
            self.config.endpoints,
            self.config.attempts_per_endpoint,
        )
    }

    /// Moves every operation as far as it can go at `now`.
    fn drive(&mut self, now: Millis, jitter: u32) {
        let Machine {
            config,
            breakers,
            ops,
            actions,
            ..
        } = self;
        for op in ops.values_mut().filter(|op| op.is_open()) {
            advance(op, now, jitter, config, breakers, actions);
        }
    }
}

fn advance<O: Clone, R: Clone>(
    op: &mut Operation<O, R>,
    now: Millis,
    jitter: u32,
    config: &Config,
    breakers: &mut [Breaker],
    actions: &mut VecDeque<Action<O, R>>,
) {
    loop {
        match &mut op.phase {
            Phase::Pause { until } if now >= *until => {
                op.phase = Phase::Exchange(Exchange::new(
                    Purpose::Query,
                    config.endpoints,
                    config.attempts_per_endpoint,
                ));
            }
            Phase::Exchange(ex) if ex.in_flight.is_none() => {
                // Checked before every void try: the exchange may have waited past the window.
                if ex.purpose == Purpose::Void
                    && quarantine_if_old(actions, op, now, config.retention)
                {
                    return;
                }
                let Phase::Exchange(ex) = &mut op.phase else {
                    return;
                };
                match ex.next(now, breakers, &config.breaker) {
                    Step::Go(endpoint) => {
                        op.attempt = op.attempt.wrapping_add(1);
                        let attempt = op.attempt;
                        ex.in_flight = Some((endpoint, attempt));
                        let key = op.key.clone();
                        actions.push_back(match ex.purpose {
                            Purpose::Send => Action::Send {
                                key,
                                endpoint,
                                attempt,
                                op: op.op.clone(),
                            },
                            Purpose::Query => Action::QueryStatus {
                                key,
                                endpoint,
                                attempt,
                            },
                            Purpose::Void => Action::Void {
                                key,
                                endpoint,
                                attempt,
                            },
                        });
                        return;
                    }
                    Step::Wait => return,
                    Step::Exhausted => match ex.purpose {
                        Purpose::Send => {
                            write(actions, op, now, Writing::Unknown);
                            return;
                        }
                        Purpose::Query | Purpose::Void => pause(op, now, &config.resolve, jitter),
                    },
                }
            }
            _ => return,
        }
    }
}

/// The endpoint of the request out under `attempt`, if that is the one the key awaits.
fn in_flight<O, R>(
    op: &Operation<O, R>,
    attempt: u32,
    purpose: impl Fn(Purpose) -> bool,
) -> Option<Endpoint> {
    match &op.phase {
        Phase::Exchange(ex) if purpose(ex.purpose) => match ex.in_flight {
            Some((endpoint, a)) if a == attempt => Some(endpoint),
            _ => None,
        },
        _ => None,
    }
}

/// Queues the journal write and holds the operation until it is durable.
fn write<O: Clone, R: Clone>(
    actions: &mut VecDeque<Action<O, R>>,
    op: &mut Operation<O, R>,
    now: Millis,
    writing: Writing<R>,
) {
    let record = match &writing {
        Writing::Intent => Record::Intent(op.op.clone()),
        Writing::Sent => Record::Sent,
        Writing::Unknown => Record::Unknown,
        Writing::Completed(result) => Record::Completed(result.clone()),
    };
    actions.push_back(Action::Journal(JournalEntry {
        key: op.key.clone(),
        reference: op.reference.clone(),
        at: now,
        record,
    }));
    op.phase = Phase::Writing(writing);
}

fn pause<O, R>(op: &mut Operation<O, R>, now: Millis, backoff: &Backoff, jitter: u32) {
    op.phase = Phase::Pause {
        until: backoff.deadline(now, op.rounds, jitter),
    };
    op.rounds = op.rounds.saturating_add(1);
}

/// A key past the back end's retention is never voided: "not found" may mean "forgotten".
fn quarantine_if_old<O, R>(
    actions: &mut VecDeque<Action<O, R>>,
    op: &mut Operation<O, R>,
    now: Millis,
    retention: Millis,
) -> bool {
    let age = now.since(op.created);
    if age < retention {
        return false;
    }
    op.phase = Phase::Quarantined;
    actions.push_back(Action::Quarantine {
        key: op.key.clone(),
        reference: op.reference.clone(),
        reason: QuarantineReason::PastRetention { age },
    });
    true
}

fn report<O, R>(op: &Operation<O, R>, outcome: Outcome<R>) -> Action<O, R> {
    Action::Report(Report {
        key: op.key.clone(),
        reference: op.reference.clone(),
        outcome,
    })
}
