//! The on-screen PIN pad: ten digit keys reshuffled each time the pad appears (from a seed
//! the shell injects, so tests are deterministic), dots only on screen, and the digits kept
//! in one pre-sized buffer that is zeroized when the pad is cleared, submitted or dropped.
//! The screen only ever learns a key's *position* and how many digits were entered: a digit
//! never becomes a Slint string, a log line or Debug output.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::identity::Pin;

/// The pad's layout: which digit each of the ten key positions shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLayout([u8; 10]);

impl KeyLayout {
    /// A uniformly shuffled layout (Fisher–Yates over a SplitMix64 stream from `seed`).
    pub fn shuffled(seed: u64) -> KeyLayout {
        let mut digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        let mut state = seed;
        for i in (1..digits.len()).rev() {
            let bound = (i + 1) as u64;
            // Rejection sampling keeps every position equally likely (no modulo bias).
            let zone = u64::MAX - u64::MAX % bound;
            let pick = loop {
                let value = splitmix64(&mut state);
                if value < zone {
                    break (value % bound) as usize;
                }
            };
            digits.swap(i, pick);
        }
        KeyLayout(digits)
    }

    /// The digit shown at `position` (0..10), or `None` for a position that does not exist.
    pub fn digit_at(&self, position: usize) -> Option<u8> {
        self.0.get(position).copied()
    }

    /// The ten keys' labels, in position order, for the screen.
    pub fn labels(&self) -> [u8; 10] {
        self.0
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What the pad shows: the layout and a dot per digit entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinPadView {
    pub layout: KeyLayout,
    pub entered: usize,
    pub max: usize,
    /// "Confirm" can be pressed (enough digits).
    pub can_confirm: bool,
}

/// The pad's state. `Clone` and `PartialEq` so flows holding it stay property-testable;
/// its `Debug` shows the count, never the digits.
#[derive(Clone, PartialEq, Eq)]
pub struct PinPad {
    layout: KeyLayout,
    /// ASCII digits; capacity `Pin::MAX_DIGITS` from the start, so pushing never reallocates
    /// and leaves a copy behind.
    digits: Zeroizing<Vec<u8>>,
    min: usize,
    max: usize,
}

impl fmt::Debug for PinPad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinPad")
            .field("layout", &self.layout)
            .field("entered", &self.digits.len())
            .finish()
    }
}

impl PinPad {
    /// A pad for a PIN of `min..=max` digits, laid out from `seed`.
    pub fn new(seed: u64, min: usize, max: usize) -> PinPad {
        let max = max.clamp(Pin::MIN_DIGITS, Pin::MAX_DIGITS);
        PinPad {
            layout: KeyLayout::shuffled(seed),
            digits: Zeroizing::new(Vec::with_capacity(Pin::MAX_DIGITS)),
            min: min.clamp(Pin::MIN_DIGITS, max),
            max,
        }
    }

    /// The key at `position` was pressed; a press beyond the maximum is ignored.
    pub fn press(&mut self, position: usize) {
        if let Some(digit) = self.layout.digit_at(position) {
            if self.digits.len() < self.max {
                self.digits.push(b'0' + digit);
            }
        }
    }

    pub fn delete(&mut self) {
        if let Some(last) = self.digits.last_mut() {
            last.zeroize();
        }
        self.digits.pop();
    }

    pub fn clear(&mut self) {
        self.digits.zeroize();
    }

    /// The PIN entered, when it is long enough; the pad is cleared either way, so the digits
    /// live on only in the returned (zeroizing) `Pin`.
    pub fn submit(&mut self) -> Option<Pin> {
        let pin = if self.digits.len() >= self.min {
            std::str::from_utf8(&self.digits)
                .ok()
                .and_then(|digits| Pin::new(digits).ok())
        } else {
            None
        };
        self.clear();
        pin
    }

    /// The pad appears again (after a wrong PIN, for the second entry of a new one): a new
    /// layout and nothing entered.
    pub fn reshuffle(&mut self, seed: u64) {
        self.clear();
        self.layout = KeyLayout::shuffled(seed);
    }

    pub fn view(&self) -> PinPadView {
        PinPadView {
            layout: self.layout,
            entered: self.digits.len(),
            max: self.max,
            can_confirm: self.digits.len() >= self.min,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_holds_every_digit_once_and_changes_with_the_seed() {
        let mut sorted = KeyLayout::shuffled(7).labels();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(
            KeyLayout::shuffled(7),
            KeyLayout::shuffled(7),
            "deterministic"
        );
        assert_ne!(KeyLayout::shuffled(7), KeyLayout::shuffled(8));
    }

    /// Over many appearances every digit lands on every position about equally often: a
    /// chi-square test of the 10 × 10 table of counts (81 degrees of freedom, 131.0 is the
    /// 0.1 % critical value). The seeds are fixed, so the test is deterministic; a biased
    /// shuffle (Sattolo's, say) fails it by far.
    #[test]
    fn layouts_are_uniform_over_positions() {
        const APPEARANCES: u64 = 20_000;
        let mut counts = [[0u64; 10]; 10];
        for seed in 0..APPEARANCES {
            let layout = KeyLayout::shuffled(seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
            for (position, digit) in layout.labels().iter().enumerate() {
                counts[position][usize::from(*digit)] += 1;
            }
        }
        let expected = APPEARANCES as f64 / 10.0;
        let chi_square: f64 = counts
            .iter()
            .flatten()
            .map(|&observed| (observed as f64 - expected).powi(2) / expected)
            .sum();
        assert!(
            chi_square < 131.0,
            "chi-square {chi_square:.1} over 81 d.f."
        );
    }

    #[test]
    fn presses_map_positions_to_the_shown_digits_and_submit_clears_the_pad() {
        let mut pad = PinPad::new(42, 6, 6);
        let labels = pad.view().layout.labels();
        let position_of = |digit: u8| labels.iter().position(|d| *d == digit).unwrap_or(99);
        for digit in [1, 3, 5, 7, 9] {
            pad.press(position_of(digit));
        }
        assert_eq!(pad.view().entered, 5);
        assert!(!pad.view().can_confirm);
        assert!(pad.clone().submit().is_none(), "too short");
        pad.press(position_of(0));
        pad.press(position_of(2));
        assert_eq!(pad.view().entered, 6, "no more than the maximum");
        assert!(pad.view().can_confirm);
        let pin = pad
            .submit()
            .map(|pin| pin.matches(&Pin::new("135790").unwrap_or_else(|_| unreachable!())));
        assert_eq!(pin, Some(true));
        assert_eq!(pad.view().entered, 0, "submitting clears the pad");
    }

    #[test]
    fn delete_clear_and_reshuffle() {
        let mut pad = PinPad::new(1, 4, 12);
        pad.press(0);
        pad.press(1);
        pad.press(99);
        assert_eq!(
            pad.view().entered,
            2,
            "a position that does not exist is no key"
        );
        pad.delete();
        assert_eq!(pad.view().entered, 1);
        let before = pad.view().layout;
        pad.reshuffle(2);
        assert_eq!(pad.view().entered, 0);
        assert_ne!(pad.view().layout, before);
    }

    #[test]
    fn debug_shows_the_count_never_the_digits() {
        let mut pad = PinPad::new(3, 6, 6);
        let labels = pad.view().layout.labels();
        for digit in [9, 8, 7, 6, 5, 4] {
            if let Some(position) = labels.iter().position(|d| *d == digit) {
                pad.press(position);
            }
        }
        let debug = format!("{pad:?}");
        assert!(debug.contains("entered: 6"), "{debug}");
        assert!(
            !debug.contains("987654") && !debug.contains("57, 56"),
            "{debug}"
        );
    }

    #[test]
    fn the_buffer_never_reallocates() {
        let mut pad = PinPad::new(5, 4, 12);
        let capacity = pad.digits.capacity();
        for _ in 0..20 {
            pad.press(0);
        }
        assert_eq!(pad.digits.capacity(), capacity);
        assert!(capacity >= Pin::MAX_DIGITS);
    }
}
