//! The words the machine and its caller share: keys, journal records, answers, actions.

use std::fmt;

use crate::time::Millis;

/// An idempotency key. The caller draws it (a UUID v4 in the engine) and hands it to
/// [`crate::Machine::begin`]; the machine only uses it when a new attempt is needed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub String);

/// A business reference (e.g. session id + step): at most one operation per reference.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference(pub String);

/// An endpoint of the route, as an index into the caller's list of base URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint(pub usize);

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an operation ended for good. `R` is the back end's answer (the caller's type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Final<R> {
    Applied(R),
    /// A definite business refusal (a 4xx with an error body).
    Rejected(R),
    /// Never applied and never will be: fenced at the back end, or never sent at all.
    Voided,
}

/// What a [`Report`] says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<R> {
    Final(Final<R>),
    /// Sent, but the result is not known yet: tell the resident it is being confirmed and
    /// not to repeat it. The machine goes on resolving it; a final report follows.
    Unknown,
}

/// What one journal record says. The caller stores it durably and acknowledges it with
/// [`crate::Machine::journaled`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<O, R> {
    /// The operation (its request) under a new key, before anything is sent.
    Intent(O),
    /// A send is about to start: the back end may apply the operation from here on.
    Sent,
    /// Every attempt failed without a definite answer.
    Unknown,
    /// The result, and that nothing more happens under this key (the engine's `result` +
    /// `completed` entries, written in one commit).
    Completed(Final<R>),
}

/// One journal record with its key; also what [`crate::Machine::recover`] reads back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry<O, R> {
    pub key: Key,
    pub reference: Reference,
    /// When the machine wrote it (the caller's monotonic clock, see [`Millis`]). The
    /// intent's `at` is the key's age for the retention rule.
    pub at: Millis,
    pub record: Record<O, R>,
}

/// The answer to a send of the operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<R> {
    /// 2xx with a body that passed validation (fresh or replayed).
    Applied(R),
    /// 4xx with a well-formed error body.
    Rejected(R),
    /// The back end says it is still executing this key: it arrived, do not send it again.
    InProgress,
    /// 5xx, a malformed body, a reset after the request went out.
    Garbled,
    /// No answer in time; the request may or may not have arrived.
    Timeout,
    /// The connection was refused: nothing was delivered; fail over at once.
    ConnectFailed,
}

/// What `GET /v1/transactions/{key}` (or the void `POST`) said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxState<R> {
    Applied(R),
    Rejected(R),
    /// Fenced: a late copy will be refused.
    Void,
    /// The back end has no record of the key (read-only; it does not fence).
    NotFound,
    /// The back end is still executing the key. Never voided.
    InProgress,
}

/// Why a status or void call gave no state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Garbled,
    ConnectFailed,
}

/// Why a key was handed to a technician.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuarantineReason {
    /// The back end does not know the key, but the key is older than its retention window:
    /// it may have been applied and forgotten, so "not found" proves nothing and a void
    /// would be a lie.
    PastRetention { age: Millis },
}

/// A final or unknown outcome for the caller to act on (show it, print the receipt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<R> {
    pub key: Key,
    pub reference: Reference,
    pub outcome: Outcome<R>,
}

/// I/O the caller must perform, in the order they come out of
/// [`crate::Machine::poll_action`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<O, R> {
    /// Append durably, then call `journaled(key)`. The key does nothing until then.
    Journal(JournalEntry<O, R>),
    /// Send the operation with `Idempotency-Key: key` to `endpoint`; answer with
    /// `answer(key, attempt, ..)`.
    Send {
        key: Key,
        endpoint: Endpoint,
        attempt: u32,
        op: O,
    },
    /// `GET /v1/transactions/{key}`; answer with `status(key, attempt, ..)`.
    QueryStatus {
        key: Key,
        endpoint: Endpoint,
        attempt: u32,
    },
    /// `POST /v1/transactions/{key}/void`; answer with `status(key, attempt, ..)`.
    Void {
        key: Key,
        endpoint: Endpoint,
        attempt: u32,
    },
    Report(Report<R>),
    /// Stop: a technician must look at this key. The machine will not touch it again in
    /// this process, and `begin` on its reference will not start another key.
    Quarantine {
        key: Key,
        reference: Reference,
        reason: QuarantineReason,
    },
}

/// What [`crate::Machine::begin`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begin<R> {
    /// A new attempt under the fresh key: its intent is being journaled.
    Started(Key),
    /// The reference already has an open operation under this key; it goes on.
    Resumed(Key),
    /// The reference's operation ended: here is how (never voided — that one is retried).
    Finished { key: Key, result: Final<R> },
    /// The reference's key is with a technician; no new key may be started.
    Quarantined(Key),
}

/// Where one key stands, for a caller that waits on it ([`crate::Machine::standing`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing<R> {
    /// A journal write is out.
    Writing,
    /// A request is out, or about to go (after a retry pause or a breaker).
    Exchanging,
    /// Between two status rounds: the last round gave no answer (or "still executing").
    Paused {
        until: Millis,
    },
    Done(Final<R>),
    Quarantined,
}

/// Calls that do not fit the machine's state (a caller's mistake or a corrupt journal).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("no operation with key {0}")]
    UnknownKey(Key),
    #[error("key {0} is already in use")]
    DuplicateKey(Key),
    #[error("key {0} has no journal write waiting to be acknowledged")]
    NothingToAcknowledge(Key),
    #[error("the journal has records for key {0} but no intent")]
    NoIntent(Key),
    #[error("key {0} is not in a state that allows this")]
    WrongState(Key),
    #[error("the configuration is unusable: {0}")]
    Config(&'static str),
}
