//! Per-endpoint circuit breakers, the same states and rules as `Breaker` in
//! `src/backend/engine.rs`, with the trial window in the policy instead of a constant.

use crate::time::Millis;

/// When a breaker opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open an endpoint's breaker.
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before letting one trial through.
    pub open: Millis,
    /// How long a trial call may hold a half-open breaker before another may try: longer
    /// than any request's timeout with its retries (the engine uses 30 s). The trial's caller
    /// may never report back (its session was cancelled), so half-open must not be forever.
    pub trial_window: Millis,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 5,
            open: Millis(10_000),
            trial_window: Millis(30_000),
        }
    }
}

/// A per-endpoint circuit breaker. Pure: the caller passes `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breaker {
    Closed {
        failures: u32,
    },
    Open {
        until: Millis,
    },
    /// One trial call is in flight; after `until` another trial may go instead.
    HalfOpen {
        until: Millis,
    },
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::Closed { failures: 0 }
    }
}

impl Breaker {
    /// Whether a call may go out now (moving an expired open breaker to half-open: the
    /// caller that gets `true` holds the trial).
    pub fn allow(&mut self, now: Millis, policy: &BreakerPolicy) -> bool {
        match *self {
            Breaker::Closed { .. } => true,
            Breaker::Open { until } | Breaker::HalfOpen { until } if now >= until => {
                *self = Breaker::HalfOpen {
                    until: now.saturating_add(policy.trial_window),
                };
                true
            }
            Breaker::Open { .. } | Breaker::HalfOpen { .. } => false,
        }
    }

    pub fn on_success(&mut self) {
        *self = Breaker::Closed { failures: 0 };
    }

    pub fn on_failure(&mut self, now: Millis, policy: &BreakerPolicy) {
        *self = match *self {
            Breaker::Closed { failures }
                if failures.saturating_add(1) < policy.failure_threshold =>
            {
                Breaker::Closed {
                    failures: failures + 1,
                }
            }
            // The threshold reached, or the half-open trial failed: open again.
            _ => Breaker::Open {
                until: now.saturating_add(policy.open),
            },
        };
    }

    /// The earliest time a call may go out (`now` or earlier when one may go now).
    pub fn ready_at(&self, now: Millis) -> Millis {
        match *self {
            Breaker::Closed { .. } => now,
            Breaker::Open { until } | Breaker::HalfOpen { until } => until,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(threshold: u32) -> BreakerPolicy {
        BreakerPolicy {
            failure_threshold: threshold,
            open: Millis(1_000),
            trial_window: Millis(30_000),
        }
    }

    #[test]
    fn opens_after_the_threshold_and_lets_one_trial_through_later() {
        let p = policy(3);
        let t0 = Millis(5_000);
        let at = |ms: u64| Millis(t0.0 + ms);
        let mut b = Breaker::default();
        for _ in 0..2 {
            b.on_failure(t0, &p);
            assert!(b.allow(t0, &p));
        }
        b.on_failure(t0, &p);
        assert!(!b.allow(at(999), &p));
        assert!(b.allow(at(1_000), &p));
        assert!(!b.allow(at(1_001), &p), "only one trial");
        b.on_failure(at(1_001), &p);
        assert!(!b.allow(at(1_500), &p));
        assert!(b.allow(at(2_001), &p));
        b.on_success();
        assert!(b.allow(at(2_002), &p));
        assert_eq!(b, Breaker::Closed { failures: 0 });
    }

    #[test]
    fn an_abandoned_trial_does_not_hold_the_breaker_half_open_forever() {
        let p = policy(1);
        let mut b = Breaker::default();
        b.on_failure(Millis(0), &p);
        let trial = Millis(1_000);
        assert!(b.allow(trial, &p));
        // The trial's caller was cancelled: neither success nor failure is ever reported.
        assert!(!b.allow(Millis(2_000), &p));
        assert_eq!(b.ready_at(Millis(2_000)), Millis(31_000));
        assert!(b.allow(Millis(31_000), &p), "a new trial may go");
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let p = policy(2);
        let mut b = Breaker::default();
        b.on_failure(Millis(0), &p);
        b.on_success();
        b.on_failure(Millis(0), &p);
        assert!(b.allow(Millis(0), &p), "two failures, but not in a row");
    }
}
