//! The machine's only notion of time: milliseconds on a clock the caller keeps.

use std::fmt;

/// Milliseconds on the caller's monotonic clock.
///
/// The machine never reads a clock; every input that needs time carries a `Millis`. The
/// caller must never let it go backwards, not even across restarts, because journal records
/// carry it (`JournalEntry::at`) and the retention rule compares it with `now` after a
/// recovery. One way (what the engine would do): at start-up take
/// `base = max(wall clock, last journaled at)` and use `base + Instant::elapsed()` from then
/// on, so a wall-clock step during the run changes nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    pub const ZERO: Millis = Millis(0);

    pub fn saturating_add(self, other: Millis) -> Millis {
        Millis(self.0.saturating_add(other.0))
    }

    /// How long after `earlier` this is (zero if it is not later).
    pub fn since(self, earlier: Millis) -> Millis {
        Millis(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}
