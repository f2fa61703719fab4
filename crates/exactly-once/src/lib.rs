//! The kiosk's exactly-once journal protocol as a pure state machine.
//!
//! Shaped like quinn-proto's `Connection`: no I/O, no clock, no randomness. The caller
//! feeds inputs — each with `now` on its own monotonic clock ([`Millis`]) and, where a
//! backoff may be scheduled, a random `jitter` draw — and performs the [`Action`]s that come
//! out of [`Machine::poll_action`], calling [`Machine::handle_timeout`] at
//! [`Machine::poll_timeout`]. Being deterministic, the protocol can be tested against a
//! model (`tests/model.rs`) with crashes, a lossy network and a slow back end, in
//! milliseconds instead of a kill -9 run.
//!
//! Per business mutation: `intent` (durable) → `sent` (durable) → send with the key →
//! `completed` with the result, or `unknown` when every try failed without a definite
//! answer; an unknown is resolved by `GET /v1/transactions/{key}` and a key the back end
//! never saw is fenced with `POST /v1/transactions/{key}/void`.
//!
//! # Rules the machine enforces
//!
//! 1. **Durable before sent.** Nothing is sent before its `intent` *and* its `sent` record
//!    are durable, and `sent` is not even written before the intent is durable on its own.
//!    Every [`Action::Journal`] holds its key until [`Machine::journaled`] acknowledges it.
//! 2. **One key per reference.** A business reference has at most one operation open.
//!    [`Machine::begin`] on the same reference returns the completed result, or the open
//!    key, never a second key while one is open. Only a *voided* attempt (it never
//!    happened) is retried under a new key; a rejection is a result like any other.
//! 3. **Unknowns are resolved by asking.** `applied`/`rejected`/`void` close the key;
//!    `not_found` is fenced with a void, and then it is void. `in_progress` (the back end is
//!    still executing the key) is *never* voided: the machine asks again after a backoff.
//!    A send is never repeated once its exchange has failed: only the status query follows.
//! 4. **Retention.** A key older than [`Config::retention`] is never voided — "not found"
//!    may mean "applied and forgotten" — it is quarantined ([`Action::Quarantine`]) for a
//!    technician, and its reference gets no new key.
//! 5. **Recovery.** [`Machine::new`] / [`Machine::recover`] rebuild from the durable
//!    journal: an intent without `sent` was never sent and is voided locally (journaled
//!    `completed: voided`); `sent`/`unknown` are resolved by query; `completed` answers later
//!    `begin`s. Recovery never touches a key this process already holds, so it cannot void
//!    one whose `sent` write is merely not acknowledged yet.
//! 6. **Retries and failover.** Within one exchange the same key and body go to the
//!    endpoints in order, each up to [`Config::attempts_per_endpoint`] times, with an
//!    exponential, jittered, capped pause ([`Backoff`]) between tries; a refused connection
//!    fails over at once. Per-endpoint [`Breaker`]s (closed / open / half-open, as in the
//!    engine) skip endpoints that keep failing. All waiting is measured on `now`, so a
//!    wall-clock step cannot stall it.
//!
//! Answers are matched to requests by the `attempt` stamp in the action: a late or
//! duplicated answer to an earlier request is ignored.
//!
//! A crash is simply dropping the machine: whatever was not acknowledged as durable is
//! assumed lost, and the next process starts with [`Machine::new`] on what was.
//!
//! # Driving it
//!
//! ```text
//! machine = Machine::new(config, now(), durable journal)?      // start-up recovery
//! machine.begin(now(), reference, op, fresh uuid)?             // per business mutation
//! loop {
//!     while let Some(action) = machine.poll_action() {
//!         Journal(e)            => append e durably; machine.journaled(now(), &e.key)
//!         Send { .. }           => HTTP with Idempotency-Key; machine.answer(now(), key, attempt, answer, draw)
//!         QueryStatus / Void    => GET / POST void;           machine.status(now(), key, attempt, reply, draw)
//!         Report(r)             => wake whoever waits for r.key
//!         Quarantine { .. }     => alert a technician
//!     }
//!     sleep until machine.poll_timeout(), or the next I/O completion
//!     machine.handle_timeout(now(), draw)
//! }
//! ```
//!
//! Requests may run concurrently (one per key at most is asked for); answers may come back
//! in any order.

mod backoff;
mod breaker;
mod exchange;
mod machine;
mod operation;
mod time;
mod types;

pub use backoff::Backoff;
pub use breaker::{Breaker, BreakerPolicy};
pub use machine::{Config, Machine};
pub use time::Millis;
pub use types::{
    Action, Answer, Begin, Endpoint, Error, Failure, Final, JournalEntry, Key, Outcome,
    QuarantineReason, Record, Reference, Report, Standing, TxState,
};
