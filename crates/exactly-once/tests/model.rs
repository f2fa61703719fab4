//! A reference-model test of the protocol: the machine against a simulated journal (with a
//! durable mark, so a crash loses what was not acknowledged), a back end (applies a key at
//! most once, replays, honours void fences, may be slow and may forget old keys) and a
//! network (refused connections, lost requests, lost answers after the back end applied,
//! garbled and duplicated answers, request copies that arrive late — also sends a crashed
//! process had started), with random crashes, live re-scans of the journal and random
//! `begin`s of a few business references. The back end answers a void of a key it is still
//! executing with `in_progress` and does not fence it (the protocol needs that of it), so
//! the machine's "never void in_progress" rule is checked at the void itself.
//!
//! Checked at every action: nothing is sent unless its intent and `sent` are durable (and
//! `sent` is written only after the intent is durable); a reference is applied at most once
//! at the back end over all its keys; a new key never starts while another of the same
//! reference is open; a void is only sent right after a `not_found` (never after
//! `in_progress`) and only for a key within retention; every reported or journaled result
//! is what the back end really did; a local void only for a key whose `sent` was never
//! written; a quarantine only for a key past retention. At the end
//! the network heals and everything is driven to quiescence: every key is completed or
//! quarantined, and a further crash and recovery send nothing again.
//!
//! Each of these checks was seen to fail by breaking the machine on purpose (sending before
//! `sent` is durable, voiding on `in_progress`, no retention check, recovery taking over live
//! keys, a second key while one is open, a new key before the void is durable, no fence,
//! re-sending after an unknown): proptest found and shrank every one to a few steps.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use renshe_exactly_once::{
    Action, Answer, Backoff, Begin, BreakerPolicy, Config, Endpoint, Failure, Final, JournalEntry,
    Key, Machine, Millis, Outcome, Record, Reference, Report, TxState,
};

/// The operation: the index of its business reference (a stand-in for the request body).
type Op = u8;
/// The back end's answer: its ledger number for an applied key, 0 for a refusal.
type Reply = u64;
type Entry = JournalEntry<Op, Reply>;

const REFERENCES: u8 = 6;
const ENDPOINTS: usize = 2;
/// The machine's retention window; the simulated back end forgets keys after exactly this.
const RETENTION: u64 = 60_000;

fn config() -> Config {
    Config {
        endpoints: ENDPOINTS,
        attempts_per_endpoint: 2,
        retry: Backoff {
            base: Millis(100),
            cap: Millis(1_000),
        },
        resolve: Backoff {
            base: Millis(200),
            cap: Millis(5_000),
        },
        breaker: BreakerPolicy {
            failure_threshold: 3,
            open: Millis(2_000),
            trial_window: Millis(10_000),
        },
        retention: Millis(RETENTION),
    }
}

fn reference(i: u8) -> Reference {
    Reference(format!("r{i}"))
}

/// What the network does with one request.
#[derive(Clone, Copy, Debug)]
enum Fate {
    Ok,
    /// Answered, and the same answer comes again later.
    Duplicated,
    ConnectFailed,
    /// Never arrives; the caller times out.
    LostRequest,
    /// The back end executes it; the answer is lost (a timeout for the caller).
    LostAnswer,
    /// The back end executes it; the answer is unreadable.
    Garbled,
    /// Stuck in the network: the caller times out, the copy arrives later.
    Late,
}

#[derive(Clone, Debug)]
enum Step {
    Begin(u8),
    /// Make the oldest `n` pending journal writes durable (0: all of them).
    Flush(u8),
    Perform {
        pick: u8,
        fate: Fate,
        jitter: u32,
    },
    /// A duplicated answer turns up again.
    Redeliver(u8),
    /// A late request copy reaches the back end.
    Arrive(u8),
    Advance(u32),
    Outage(bool),
    EndpointDown(u8, bool),
    /// The process dies; with `true` the sends it had started still leave the machine
    /// (they were in the socket's buffer) and arrive at the back end later.
    Crash(bool),
    Rescan,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        4 => Just(Fate::Ok),
        1 => Just(Fate::Duplicated),
        1 => Just(Fate::ConnectFailed),
        1 => Just(Fate::LostRequest),
        1 => Just(Fate::LostAnswer),
        1 => Just(Fate::Garbled),
        1 => Just(Fate::Late),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..REFERENCES).prop_map(Step::Begin),
        4 => (0u8..3).prop_map(Step::Flush),
        8 => (any::<u8>(), fate(), any::<u32>())
            .prop_map(|(pick, fate, jitter)| Step::Perform { pick, fate, jitter }),
        1 => any::<u8>().prop_map(Step::Redeliver),
        2 => any::<u8>().prop_map(Step::Arrive),
        3 => prop_oneof![8 => 0u32..2_000, 1 => 0u32..30_000].prop_map(Step::Advance),
        1 => any::<bool>().prop_map(Step::Outage),
        1 => (0..ENDPOINTS as u8, any::<bool>()).prop_map(|(e, d)| Step::EndpointDown(e, d)),
        1 => any::<bool>().prop_map(Step::Crash),
        1 => Just(Step::Rescan),
    ]
}

#[derive(Clone, Debug, PartialEq)]
enum Tx {
    InProgress { op: Op, until: u64, reject: bool },
    Applied { seq: u64 },
    Rejected,
    Void,
}

/// The back end: one record per key, applied at most once; forgets keys after RETENTION.
#[derive(Default)]
struct Backend {
    txs: BTreeMap<Key, (u64, Tx)>,
    /// Never forgotten: the truth the checks compare with.
    applied: BTreeMap<Key, u64>,
    applied_per_reference: BTreeMap<Op, Vec<Key>>,
    seq: u64,
    // How often the interesting things happened (the coverage test looks).
    fenced_copies: u64,
    in_progress_answers: u64,
    forgotten_answers: u64,
}

/// How a key behaves at the back end, fixed by the key: some are refused, some are slow.
fn temperament(key: &Key) -> (bool, u64) {
    let n: u64 = key
        .0
        .bytes()
        .fold(7, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    (n % 5 == 0, (n / 5 % 4) * 1_500)
}

impl Backend {
    fn settle(&mut self, now: u64) -> Result<(), TestCaseError> {
        let due: Vec<(Key, Op, bool)> = self
            .txs
            .iter()
            .filter_map(|(k, (_, tx))| match tx {
                Tx::InProgress { op, until, reject } if *until <= now => {
                    Some((k.clone(), *op, *reject))
                }
                _ => None,
            })
            .collect();
        for (key, op, reject) in due {
            let tx = if reject {
                Tx::Rejected
            } else {
                self.apply(&key, op)?
            };
            if let Some(entry) = self.txs.get_mut(&key) {
                entry.1 = tx;
            }
        }
        Ok(())
    }

    fn apply(&mut self, key: &Key, op: Op) -> Result<Tx, TestCaseError> {
        self.seq += 1;
        prop_assert!(self.applied.insert(key.clone(), self.seq).is_none());
        let keys = self.applied_per_reference.entry(op).or_default();
        keys.push(key.clone());
        prop_assert!(
            keys.len() <= 1,
            "reference r{} applied twice at the back end, under {:?}",
            op,
            keys
        );
        Ok(Tx::Applied { seq: self.seq })
    }

    fn receive(&mut self, key: &Key, op: Op, now: u64) -> Result<Answer<Reply>, TestCaseError> {
        self.settle(now)?;
        Ok(match self.txs.get(key).map(|(_, tx)| tx) {
            Some(Tx::Void) => {
                self.fenced_copies += 1;
                Answer::Rejected(0) // 409 KEY_VOIDED
            }
            Some(Tx::Applied { seq }) => Answer::Applied(*seq),
            Some(Tx::Rejected) => Answer::Rejected(0),
            Some(Tx::InProgress { .. }) => Answer::InProgress,
            None => {
                let (reject, slow) = temperament(key);
                if slow > 0 {
                    let tx = Tx::InProgress {
                        op,
                        until: now + slow,
                        reject,
                    };
                    self.txs.insert(key.clone(), (now, tx));
                    Answer::Timeout // the caller gave up waiting for it
                } else if reject {
                    self.txs.insert(key.clone(), (now, Tx::Rejected));
                    Answer::Rejected(0)
                } else {
                    let tx = self.apply(key, op)?;
                    let answer = match tx {
                        Tx::Applied { seq } => Answer::Applied(seq),
                        _ => Answer::Garbled,
                    };
                    self.txs.insert(key.clone(), (now, tx));
                    answer
                }
            }
        })
    }

    /// What the back end still remembers of `key` for a request sent at `at`.
    fn remembered(&self, key: &Key, at: u64) -> Option<&Tx> {
        match self.txs.get(key) {
            Some((first, tx)) if at < first + RETENTION => Some(tx),
            _ => None,
        }
    }

    fn state(tx: Option<&Tx>) -> TxState<Reply> {
        match tx {
            None => TxState::NotFound,
            Some(Tx::Applied { seq }) => TxState::Applied(*seq),
            Some(Tx::Rejected) => TxState::Rejected(0),
            Some(Tx::Void) => TxState::Void,
            Some(Tx::InProgress { .. }) => TxState::InProgress,
        }
    }

    fn status(&mut self, key: &Key, now: u64, at: u64) -> Result<TxState<Reply>, TestCaseError> {
        self.settle(now)?;
        let state = Self::state(self.remembered(key, at));
        match state {
            TxState::InProgress => self.in_progress_answers += 1,
            TxState::NotFound if self.txs.contains_key(key) => self.forgotten_answers += 1,
            _ => {}
        }
        Ok(state)
    }

    /// Fences an unknown (or forgotten!) key; never fences one still executing.
    fn void(&mut self, key: &Key, now: u64, at: u64) -> Result<TxState<Reply>, TestCaseError> {
        self.settle(now)?;
        if self.remembered(key, at).is_none() {
            self.txs.insert(key.clone(), (at, Tx::Void));
        }
        Ok(Self::state(self.remembered(key, at)))
    }

    fn earliest_in_progress(&self) -> Option<u64> {
        self.txs
            .values()
            .filter_map(|(_, tx)| match tx {
                Tx::InProgress { until, .. } => Some(*until),
                _ => None,
            })
            .min()
    }
}

/// A request the machine asked for, not performed yet.
struct Request {
    action: Action<Op, Reply>,
    emitted_at: u64,
}

enum Late {
    Answer(Key, u32, Answer<Reply>),
    Status(Key, u32, Result<TxState<Reply>, Failure>),
}

struct Sim {
    now: u64,
    machine: Machine<Op, Reply>,
    journal: Vec<Entry>,
    durable: usize,
    requests: Vec<Request>,
    late_answers: Vec<Late>,
    late_copies: Vec<(Key, Op)>,
    backend: Backend,
    outage: bool,
    endpoint_down: [bool; ENDPOINTS],
    next_key: u64,
    // What the checks need to know.
    sent_ever: BTreeSet<Key>,
    intent_at: BTreeMap<Key, u64>,
    /// This process's latest request per key, and the state its latest current status said.
    latest_attempt: BTreeMap<Key, u32>,
    last_state: BTreeMap<Key, TxState<Reply>>,
    quarantined: BTreeSet<Key>,
    sends: u64,
    quarantines: u64,
    voids: u64,
}

impl Sim {
    fn new() -> Result<Sim, TestCaseError> {
        let machine = Machine::new(config(), Millis(0), std::iter::empty())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        Ok(Sim {
            now: 0,
            machine,
            journal: Vec::new(),
            durable: 0,
            requests: Vec::new(),
            late_answers: Vec::new(),
            late_copies: Vec::new(),
            backend: Backend::default(),
            outage: false,
            endpoint_down: [false; ENDPOINTS],
            next_key: 0,
            sent_ever: BTreeSet::new(),
            intent_at: BTreeMap::new(),
            latest_attempt: BTreeMap::new(),
            last_state: BTreeMap::new(),
            quarantined: BTreeSet::new(),
            sends: 0,
            quarantines: 0,
            voids: 0,
        })
    }

    fn durable_entries(&self) -> &[Entry] {
        &self.journal[..self.durable]
    }

    fn durably(&self, key: &Key, pred: impl Fn(&Record<Op, Reply>) -> bool) -> bool {
        self.durable_entries()
            .iter()
            .any(|e| &e.key == key && pred(&e.record))
    }

    fn step(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Begin(i) => self.begin(*i)?,
            Step::Flush(n) => self.flush(usize::from(*n))?,
            Step::Perform { pick, fate, jitter } => {
                if !self.requests.is_empty() {
                    let i = usize::from(*pick) % self.requests.len();
                    let request = self.requests.remove(i);
                    self.perform(request, *fate, *jitter)?;
                }
            }
            Step::Redeliver(pick) => {
                if !self.late_answers.is_empty() {
                    let i = usize::from(*pick) % self.late_answers.len();
                    let late = self.late_answers.remove(i);
                    let now = Millis(self.now);
                    let result = match late {
                        Late::Answer(k, a, answer) => self.machine.answer(now, &k, a, answer, 1),
                        Late::Status(k, a, reply) => self.machine.status(now, &k, a, reply, 1),
                    };
                    result.map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
            Step::Arrive(pick) => {
                if !self.late_copies.is_empty() {
                    let i = usize::from(*pick) % self.late_copies.len();
                    let (key, op) = self.late_copies.remove(i);
                    self.backend.receive(&key, op, self.now)?;
                }
            }
            Step::Advance(ms) => {
                self.now += u64::from(*ms);
                self.backend.settle(self.now)?;
                self.machine.handle_timeout(Millis(self.now), *ms);
            }
            Step::Outage(down) => self.outage = *down,
            Step::EndpointDown(e, down) => self.endpoint_down[usize::from(*e)] = *down,
            Step::Crash(leak) => self.crash(*leak)?,
            Step::Rescan => {
                let durable: Vec<Entry> = self.durable_entries().to_vec();
                self.machine
                    .recover(Millis(self.now), &durable)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        self.pump()
    }

    fn begin(&mut self, i: u8) -> Result<(), TestCaseError> {
        let fresh = Key(format!("k{}", self.next_key));
        let begun = self
            .machine
            .begin(Millis(self.now), reference(i), i, fresh.clone())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match begun {
            Begin::Started(key) => {
                prop_assert_eq!(&key, &fresh);
                self.next_key += 1;
                // Every earlier key of the reference must be durably voided.
                let others: BTreeSet<Key> = self
                    .journal
                    .iter()
                    .filter(|e| e.reference == reference(i) && e.key != key)
                    .map(|e| e.key.clone())
                    .collect();
                for other in others {
                    prop_assert!(
                        self.durably(&other, |r| *r == Record::Completed(Final::Voided)),
                        "new key {} for r{} while {} is not durably voided",
                        key,
                        i,
                        other
                    );
                }
            }
            Begin::Resumed(key) => {
                prop_assert!(
                    !self.durably(&key, |r| matches!(r, Record::Completed(_))),
                    "resumed the completed key {}",
                    key
                );
            }
            Begin::Finished { key, result } => {
                prop_assert!(result != Final::Voided);
                prop_assert!(self.durably(&key, |r| *r == Record::Completed(result.clone())));
                self.check_final(&key, &result)?;
            }
            Begin::Quarantined(key) => prop_assert!(self.quarantined.contains(&key)),
        }
        Ok(())
    }

    fn flush(&mut self, n: usize) -> Result<(), TestCaseError> {
        let upto = if n == 0 {
            self.journal.len()
        } else {
            (self.durable + n).min(self.journal.len())
        };
        while self.durable < upto {
            let key = self.journal[self.durable].key.clone();
            self.durable += 1;
            self.machine
                .journaled(Millis(self.now), &key)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        Ok(())
    }

    fn crash(&mut self, leak: bool) -> Result<(), TestCaseError> {
        self.journal.truncate(self.durable);
        for request in std::mem::take(&mut self.requests) {
            if let (true, Action::Send { key, op, .. }) = (leak, request.action) {
                self.sent_ever.insert(key.clone());
                self.late_copies.push((key, op));
            }
        }
        self.late_answers.clear();
        self.latest_attempt.clear();
        self.last_state.clear();
        self.quarantined.clear();
        self.machine = Machine::new(config(), Millis(self.now), &self.journal)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        Ok(())
    }

    /// Takes every action out of the machine and checks it.
    fn pump(&mut self) -> Result<(), TestCaseError> {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Journal(entry) => {
                    match &entry.record {
                        Record::Intent(_) => {
                            self.intent_at.insert(entry.key.clone(), entry.at.0);
                        }
                        Record::Sent => prop_assert!(
                            self.durably(&entry.key, |r| matches!(r, Record::Intent(_))),
                            "`sent` for {} written before its intent was durable",
                            entry.key
                        ),
                        Record::Completed(result) => {
                            if *result != Final::Voided || self.sent_ever.contains(&entry.key) {
                                self.check_final(&entry.key, result)?;
                            }
                            // Voided without the back end saying so: a local void, only
                            // for a key whose `sent` was never written (not even pending).
                            let local = *result == Final::Voided
                                && self.last_state.get(&entry.key) != Some(&TxState::Void);
                            prop_assert!(
                                !local
                                    || !self
                                        .journal
                                        .iter()
                                        .any(|e| e.key == entry.key && e.record == Record::Sent),
                                "{} voided locally although its `sent` was written",
                                entry.key
                            );
                        }
                        Record::Unknown => {}
                    }
                    self.journal.push(entry);
                }
                Action::Send { ref key, .. } => {
                    prop_assert!(
                        self.durably(key, |r| matches!(r, Record::Intent(_)))
                            && self.durably(key, |r| *r == Record::Sent),
                        "{} sent before its intent and `sent` were durable",
                        key
                    );
                    self.request(action)?;
                }
                Action::QueryStatus { .. } => self.request(action)?,
                Action::Void { ref key, .. } => {
                    prop_assert_eq!(
                        self.last_state.get(key),
                        Some(&TxState::NotFound),
                        "void of {} not right after a not_found",
                        key
                    );
                    let age = self.now - self.intent_at.get(key).copied().unwrap_or(0);
                    prop_assert!(age < RETENTION, "void of {} at age {} ms", key, age);
                    self.request(action)?;
                }
                Action::Report(Report { key, outcome, .. }) => {
                    if let Outcome::Final(result) = &outcome {
                        self.check_final(&key, result)?;
                    }
                }
                Action::Quarantine { key, .. } => {
                    let age = self.now - self.intent_at.get(&key).copied().unwrap_or(0);
                    prop_assert!(age >= RETENTION, "quarantined {} at age {} ms", key, age);
                    self.quarantines += 1;
                    self.quarantined.insert(key);
                }
            }
        }
        Ok(())
    }

    fn request(&mut self, action: Action<Op, Reply>) -> Result<(), TestCaseError> {
        let (Action::Send { key, attempt, .. }
        | Action::QueryStatus { key, attempt, .. }
        | Action::Void { key, attempt, .. }) = &action
        else {
            return Ok(());
        };
        self.latest_attempt.insert(key.clone(), *attempt);
        self.requests.push(Request {
            action,
            emitted_at: self.now,
        });
        Ok(())
    }

    /// Is the result the machine settled on what the back end really did?
    fn check_final(&self, key: &Key, result: &Final<Reply>) -> Result<(), TestCaseError> {
        let truth = self.backend.txs.get(key).map(|(_, tx)| tx);
        match result {
            Final::Applied(seq) => prop_assert_eq!(self.backend.applied.get(key), Some(seq)),
            Final::Rejected(_) => prop_assert_eq!(truth, Some(&Tx::Rejected), "{}", key),
            Final::Voided => {
                prop_assert!(
                    !self.backend.applied.contains_key(key),
                    "voided {} was applied",
                    key
                );
                if self.sent_ever.contains(key) {
                    prop_assert_eq!(truth, Some(&Tx::Void), "voided {} is not fenced", key);
                } else {
                    // Never sent: unknown at the back end, or fenced by a resolution.
                    prop_assert!(
                        matches!(truth, None | Some(Tx::Void)),
                        "{}: {:?}",
                        key,
                        truth
                    );
                }
            }
        }
        Ok(())
    }

    fn perform(&mut self, request: Request, fate: Fate, jitter: u32) -> Result<(), TestCaseError> {
        let now = Millis(self.now);
        let (key, endpoint, attempt) = match &request.action {
            Action::Send {
                key,
                endpoint,
                attempt,
                ..
            }
            | Action::QueryStatus {
                key,
                endpoint,
                attempt,
            }
            | Action::Void {
                key,
                endpoint,
                attempt,
            } => (key.clone(), *endpoint, *attempt),
            _ => return Ok(()),
        };
        let Endpoint(e) = endpoint;
        let fate = if self.outage || self.endpoint_down.get(e).copied().unwrap_or(true) {
            Fate::ConnectFailed
        } else {
            fate
        };
        let current = self.latest_attempt.get(&key) == Some(&attempt);
        match request.action {
            Action::Send { op, .. } => {
                self.sends += 1;
                if !matches!(fate, Fate::ConnectFailed | Fate::LostRequest) {
                    self.sent_ever.insert(key.clone());
                }
                let answer = match fate {
                    Fate::ConnectFailed => Answer::ConnectFailed,
                    Fate::LostRequest => Answer::Timeout,
                    Fate::Late => {
                        self.late_copies.push((key.clone(), op));
                        Answer::Timeout
                    }
                    Fate::LostAnswer => {
                        self.backend.receive(&key, op, self.now)?;
                        Answer::Timeout
                    }
                    Fate::Garbled => {
                        self.backend.receive(&key, op, self.now)?;
                        Answer::Garbled
                    }
                    Fate::Ok | Fate::Duplicated => self.backend.receive(&key, op, self.now)?,
                };
                if matches!(fate, Fate::Duplicated) {
                    self.late_answers
                        .push(Late::Answer(key.clone(), attempt, answer.clone()));
                }
                self.machine
                    .answer(now, &key, attempt, answer, jitter)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            Action::QueryStatus { .. } | Action::Void { .. } => {
                let void = matches!(request.action, Action::Void { .. });
                if void {
                    self.voids += 1;
                }
                let ask = |backend: &mut Backend| {
                    if void {
                        backend.void(&key, self.now, request.emitted_at)
                    } else {
                        backend.status(&key, self.now, request.emitted_at)
                    }
                };
                let reply = match fate {
                    Fate::ConnectFailed => Err(Failure::ConnectFailed),
                    Fate::LostRequest | Fate::Late => Err(Failure::Timeout),
                    Fate::LostAnswer => {
                        ask(&mut self.backend)?;
                        Err(Failure::Timeout)
                    }
                    Fate::Garbled => {
                        ask(&mut self.backend)?;
                        Err(Failure::Garbled)
                    }
                    Fate::Ok | Fate::Duplicated => Ok(ask(&mut self.backend)?),
                };
                // A failed try tells the machine nothing new: the void exchange goes on.
                if let (true, Ok(state)) = (current, &reply) {
                    self.last_state.insert(key.clone(), state.clone());
                }
                if matches!(fate, Fate::Duplicated) {
                    self.late_answers
                        .push(Late::Status(key.clone(), attempt, reply.clone()));
                }
                self.machine
                    .status(now, &key, attempt, reply, jitter)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The network heals; runs until nothing is left to do. Returns the sends it took.
    fn quiesce(&mut self) -> Result<u64, TestCaseError> {
        self.outage = false;
        self.endpoint_down = [false; ENDPOINTS];
        let sends_before = self.sends;
        for round in 0..20_000u32 {
            self.flush(0)?;
            self.pump()?;
            if !self.requests.is_empty() {
                let request = self.requests.remove(0);
                self.perform(request, Fate::Ok, round)?;
            } else if !self.journal[self.durable..].is_empty() {
                continue;
            } else if let Some(t) = self.machine.poll_timeout() {
                self.now = self.now.max(t.0);
                self.backend.settle(self.now)?;
                self.machine.handle_timeout(Millis(self.now), round);
            } else if let Some(t) = self.backend.earliest_in_progress() {
                self.now = self.now.max(t);
                self.backend.settle(self.now)?;
            } else {
                return Ok(self.sends - sends_before);
            }
        }
        Err(TestCaseError::fail("not quiescent after 20 000 rounds"))
    }

    /// The request copies still in the network arrive, however late (a fence is forever).
    fn arrive_all(&mut self) -> Result<(), TestCaseError> {
        for (key, op) in std::mem::take(&mut self.late_copies) {
            self.backend.receive(&key, op, self.now)?;
        }
        Ok(())
    }

    /// Every result in the durable journal is still what the back end did.
    fn check_journal(&self) -> Result<(), TestCaseError> {
        for entry in self.durable_entries() {
            if let Record::Completed(result) = &entry.record {
                if *result != Final::Voided || self.sent_ever.contains(&entry.key) {
                    self.check_final(&entry.key, result)?;
                }
            }
        }
        Ok(())
    }

    /// After quiescence: every key completed or with a technician.
    fn check_settled(&self) -> Result<(), TestCaseError> {
        let keys: BTreeSet<&Key> = self.journal.iter().map(|e| &e.key).collect();
        for key in keys {
            prop_assert!(
                self.durably(key, |r| matches!(r, Record::Completed(_)))
                    || self.quarantined.contains(key),
                "{} neither completed nor quarantined",
                key
            );
        }
        for key in self.machine.open_keys() {
            prop_assert!(self.quarantined.contains(key), "{} still open", key);
        }
        Ok(())
    }
}

fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut sim = Sim::new()?;
    for step in steps {
        sim.step(step)?;
    }
    sim.quiesce()?;
    sim.check_settled()?;
    // Late copies of requests turn up after everything was resolved: the fences hold.
    sim.arrive_all()?;
    sim.check_journal()?;
    // A restart after everything settled: recovery resolves by query only, sends nothing.
    sim.crash(false)?;
    sim.pump()?;
    let sends = sim.quiesce()?;
    prop_assert_eq!(sends, 0, "a recovered machine sent again");
    sim.check_settled()?;
    sim.check_journal()?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_protocol_matches_the_model(steps in prop::collection::vec(step(), 1..200)) {
        run(&steps)?;
    }
}

/// The model exercises what it claims to: over many random runs, every kind of event the
/// rules speak about happens (a quarantine, a void, a crash with something open…).
#[test]
fn the_model_reaches_the_interesting_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut quarantines, mut voids, mut sends) = (0, 0, 0);
    let (mut fenced, mut in_progress, mut forgotten) = (0, 0, 0);
    let strategy = prop::collection::vec(step(), 100..200);
    for _ in 0..200 {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let steps = tree.current();
        let Ok(mut sim) = Sim::new() else { continue };
        let mut ok = true;
        for step in &steps {
            ok &= sim.step(step).is_ok();
        }
        ok &= sim.quiesce().is_ok();
        ok &= sim.arrive_all().is_ok();
        ok &= sim.check_journal().is_ok();
        assert!(ok, "a run failed: {steps:?}");
        quarantines += sim.quarantines;
        fenced += sim.backend.fenced_copies;
        in_progress += sim.backend.in_progress_answers;
        forgotten += sim.backend.forgotten_answers;
        voids += sim.voids;
        sends += sim.sends;
    }
    eprintln!(
        "sends {sends}, voids {voids}, quarantines {quarantines}, fenced late copies {fenced}, \
         in_progress {in_progress}, forgotten {forgotten}"
    );
    assert!(sends > 1_000, "sends: {sends}");
    assert!(fenced > 5, "fenced late copies: {fenced}");
    assert!(in_progress > 0, "in_progress answers: {in_progress}");
    assert!(forgotten > 0, "not_found for a forgotten key: {forgotten}");
    assert!(voids > 20, "voids: {voids}");
    assert!(quarantines > 0, "quarantines: {quarantines}");
}
