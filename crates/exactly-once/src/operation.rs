//! One operation under one key, and where it stands.

use crate::exchange::Exchange;
use crate::time::Millis;
use crate::types::{Final, Key, Reference};

/// The journal write an operation waits on.
#[derive(Clone, Debug)]
pub(crate) enum Writing<R> {
    Intent,
    Sent,
    Unknown,
    Completed(Final<R>),
}

#[derive(Clone, Debug)]
pub(crate) enum Phase<R> {
    /// A journal write is out; nothing moves until it is durable.
    Writing(Writing<R>),
    /// Requests going out (sending the operation, or resolving it).
    Exchange(Exchange),
    /// Between two status rounds (the back end was unreachable or still executing).
    Pause {
        until: Millis,
    },
    Done(Final<R>),
    Quarantined,
}

#[derive(Clone, Debug)]
pub(crate) struct Operation<O, R> {
    pub key: Key,
    pub reference: Reference,
    /// The request (what the intent journaled). A rebuilt operation keeps it too, though it
    /// is only ever resolved by query, never sent again.
    pub op: O,
    /// When the intent was journaled: the key's age for the retention rule.
    pub created: Millis,
    pub phase: Phase<R>,
    /// Stamps every request, so a late or duplicated answer to an older one is ignored.
    pub attempt: u32,
    /// Status rounds so far, for the pause between them.
    pub rounds: u32,
}

impl<O, R> Operation<O, R> {
    pub fn is_open(&self) -> bool {
        !matches!(self.phase, Phase::Done(_) | Phase::Quarantined)
    }
}
