//! Exponential backoff with "equal jitter", measured on the caller's monotonic `Millis`.
//!
//! The jitter is a draw the caller supplies (so the machine stays deterministic): terminals
//! that lost the back end together do not all come back in the same millisecond.

use crate::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first pause (before jitter).
    pub base: Millis,
    /// No pause is longer than this.
    pub cap: Millis,
}

impl Backoff {
    /// The pause before try number `round + 1` (`round` 0 is the first retry): the
    /// exponential value `min(cap, base · 2^round)`, of which the upper half is jittered.
    /// The result lies in `[exp / 2, exp]`.
    pub fn delay(&self, round: u32, jitter: u32) -> Millis {
        let exp = self
            .base
            .0
            .checked_shl(round.min(63))
            .filter(|v| v >> round.min(63) == self.base.0)
            .unwrap_or(u64::MAX)
            .min(self.cap.0);
        let half = exp / 2;
        let spread = exp - half; // ≥ half: an odd `exp` keeps its last millisecond
        Millis(half + u64::from(jitter) % spread.saturating_add(1))
    }

    /// When the retry after `round` may go, counted from `now` on the monotonic clock.
    pub fn deadline(&self, now: Millis, round: u32, jitter: u32) -> Millis {
        now.saturating_add(self.delay(round, jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base: Millis(100),
        cap: Millis(5_000),
    };

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        // Jitter 0 gives the lower edge, u32::MAX somewhere in the upper half.
        let lows: Vec<u64> = (0..8).map(|r| B.delay(r, 0).0).collect();
        assert_eq!(lows, [50, 100, 200, 400, 800, 1_600, 2_500, 2_500]);
        for r in 0..70 {
            for j in [0, 1, 7, 12_345, u32::MAX] {
                let d = B.delay(r, j).0;
                let exp = (100u64 << r.min(20)).min(5_000);
                assert!(d >= exp / 2 && d <= exp, "round {r} jitter {j}: {d}");
            }
        }
    }

    #[test]
    fn huge_rounds_and_bases_saturate_instead_of_overflowing() {
        let b = Backoff {
            base: Millis(u64::MAX / 3),
            cap: Millis(u64::MAX),
        };
        assert!(b.delay(10, 0).0 >= u64::MAX / 2 - 1);
        assert_eq!(B.deadline(Millis(u64::MAX - 1), 3, 0), Millis(u64::MAX));
    }

    #[test]
    fn a_wall_clock_step_cannot_stall_a_retry() {
        // The outbox in the engine schedules on the wall clock: a step back of an hour
        // (NTP correcting a terminal that booted with a wrong RTC) delays its retries by an
        // hour. Here the deadline is on the monotonic clock only, and no input takes the wall
        // clock, so the step has nothing to act on.
        let mono_now = Millis(1_000);
        let mut wall_ms: i64 = 1_800_000_000_000;
        let due = B.deadline(mono_now, 2, 0);
        wall_ms -= 3_600_000; // the wall clock steps back an hour …
        let _ = wall_ms; // … and the machine never sees it.
        let mono_later = Millis(mono_now.0 + B.delay(2, 0).0);
        assert!(
            mono_later >= due,
            "due after the pause measured on the monotonic clock"
        );
        assert_eq!(due.since(mono_now), Millis(200));
    }
}
