//! One exchange: a request tried on the route's endpoints in order, each up to
//! `attempts_per_endpoint` times, skipping endpoints whose breaker refuses, with a pause
//! between tries. The same key and body every time, so retries are safe.

use crate::backoff::Backoff;
use crate::breaker::{Breaker, BreakerPolicy};
use crate::time::Millis;
use crate::types::Endpoint;

/// What the request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Send,
    Query,
    Void,
}

#[derive(Clone, Debug)]
pub(crate) struct Exchange {
    pub purpose: Purpose,
    /// Tries left per endpoint.
    left: Vec<u32>,
    /// The request out now: its endpoint and attempt stamp.
    pub in_flight: Option<(Endpoint, u32)>,
    /// No try before this (the pause after a failed one).
    not_before: Millis,
    /// Failed tries so far, for the backoff.
    failures: u32,
    /// When this exchange next wants to run (for `poll_timeout`), while it waits.
    pub wake_at: Option<Millis>,
}

pub(crate) enum Step {
    Go(Endpoint),
    Wait,
    Exhausted,
}

impl Exchange {
    pub fn new(purpose: Purpose, endpoints: usize, attempts: u32) -> Exchange {
        Exchange {
            purpose,
            left: vec![attempts; endpoints],
            in_flight: None,
            not_before: Millis::ZERO,
            failures: 0,
            wake_at: None,
        }
    }

    /// Picks the endpoint for the next try, claiming a half-open breaker's trial if that is
    /// the one. When every endpoint with tries left is refused, waits for the earliest
    /// breaker instead of giving up: giving up would turn "nothing was sent" into an
    /// unknown for no reason.
    pub fn next(&mut self, now: Millis, breakers: &mut [Breaker], policy: &BreakerPolicy) -> Step {
        if self.left.iter().all(|&n| n == 0) {
            return Step::Exhausted;
        }
        if now < self.not_before {
            self.wake_at = Some(self.not_before);
            return Step::Wait;
        }
        let mut earliest: Option<Millis> = None;
        for (i, breaker) in breakers.iter_mut().enumerate() {
            if self.left.get(i).copied().unwrap_or(0) == 0 {
                continue;
            }
            if breaker.allow(now, policy) {
                if let Some(n) = self.left.get_mut(i) {
                    *n -= 1;
                }
                self.wake_at = None;
                return Step::Go(Endpoint(i));
            }
            let ready = breaker.ready_at(now);
            earliest = Some(earliest.map_or(ready, |e| e.min(ready)));
        }
        self.wake_at = earliest;
        Step::Wait
    }

    /// The try on `endpoint` failed. A refused connection delivered nothing: fail over now.
    /// Anything else may be a slow endpoint: pause before the next try.
    pub fn failed(
        &mut self,
        endpoint: Endpoint,
        connect: bool,
        now: Millis,
        backoff: &Backoff,
        jitter: u32,
    ) {
        self.in_flight = None;
        if connect {
            if let Some(n) = self.left.get_mut(endpoint.0) {
                *n = 0;
            }
        } else {
            self.not_before = backoff.deadline(now, self.failures, jitter);
        }
        self.failures = self.failures.saturating_add(1);
    }
}
