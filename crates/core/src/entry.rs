//! Typing who you are without a card: an ID number on a keypad (checked against GB 11643 as
//! the characters come in) and a name in pinyin letters. Both are zeroized when dropped and
//! never printed by Debug; the screen shows the ID number masked as it is typed.

use std::fmt;

use zeroize::Zeroizing;

use crate::identity::IdNumber;

/// What the ID-number keypad says about what was typed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdEntryState {
    /// Fewer than 18 characters, nothing wrong yet.
    Incomplete,
    /// A character that cannot stand there (an X before the last place).
    BadCharacter,
    /// 18 characters whose check character does not match: one was mistyped.
    BadChecksum,
    /// 18 characters that form a valid number.
    Valid,
}

/// The ID number being typed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct IdNumberEntry {
    /// ASCII; pre-sized so typing never reallocates and leaves a copy behind.
    typed: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for IdNumberEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumberEntry({} typed)", self.typed.len())
    }
}

impl IdNumberEntry {
    pub const LENGTH: usize = 18;

    pub fn new() -> IdNumberEntry {
        IdNumberEntry {
            typed: Zeroizing::new(Vec::with_capacity(Self::LENGTH)),
        }
    }

    /// A key: `0`–`9` or `X`; anything else, or beyond 18, is ignored.
    pub fn press(&mut self, key: char) {
        let key = key.to_ascii_uppercase();
        if self.typed.len() < Self::LENGTH && (key.is_ascii_digit() || key == 'X') {
            self.typed.push(key as u8);
        }
    }

    pub fn delete(&mut self) {
        if let Some(last) = self.typed.last_mut() {
            *last = 0;
        }
        self.typed.pop();
    }

    pub fn state(&self) -> IdEntryState {
        let x_early = self.typed.iter().take(Self::LENGTH - 1).any(|c| *c == b'X');
        if x_early {
            return IdEntryState::BadCharacter;
        }
        if self.typed.len() < Self::LENGTH {
            return IdEntryState::Incomplete;
        }
        match self.number() {
            Some(_) => IdEntryState::Valid,
            None => IdEntryState::BadChecksum,
        }
    }

    /// The number, once all 18 characters are there and valid.
    pub fn number(&self) -> Option<IdNumber> {
        std::str::from_utf8(&self.typed)
            .ok()
            .and_then(|text| IdNumber::parse(text).ok())
    }

    /// What the screen shows: the first six and last four as typed, the birth date (places
    /// 7–14) as stars, the places not typed yet as underscores.
    pub fn masked(&self) -> String {
        (0..Self::LENGTH)
            .map(|place| match self.typed.get(place) {
                None => '_',
                Some(_) if (6..14).contains(&place) => '*',
                Some(c) => char::from(*c),
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.typed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.typed.is_empty()
    }
}

/// A name typed in pinyin letters (the terminal has no handwriting pad): compared by the
/// shell with the pinyin of the back end's name for the ID number.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TypedName(Zeroizing<String>);

impl fmt::Debug for TypedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypedName({} letters)", self.0.len())
    }
}

impl TypedName {
    pub const MAX_LETTERS: usize = 40;

    pub fn new() -> TypedName {
        TypedName(Zeroizing::new(String::with_capacity(Self::MAX_LETTERS)))
    }

    /// A letter key; digits and anything else are ignored.
    pub fn press(&mut self, key: char) {
        if key.is_ascii_alphabetic() && self.0.len() < Self::MAX_LETTERS {
            self.0.push(key.to_ascii_lowercase());
        }
    }

    pub fn delete(&mut self) {
        self.0.pop();
    }

    pub fn letters(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> IdNumberEntry {
        let mut entry = IdNumberEntry::new();
        text.chars().for_each(|c| entry.press(c));
        entry
    }

    #[test]
    fn the_checksum_is_checked_as_the_last_character_comes_in() {
        let valid = IdNumber::from_body("50010319900307122").expect("id");
        let text = valid.as_str().to_owned();
        assert_eq!(typed(&text[..10]).state(), IdEntryState::Incomplete);
        assert_eq!(typed(&text).state(), IdEntryState::Valid);
        assert_eq!(typed(&text).number(), Some(valid.clone()));
        let last = text.chars().last().expect("last");
        let wrong = if last == '0' { '1' } else { '0' };
        let mistyped = format!("{}{wrong}", &text[..17]);
        assert_eq!(typed(&mistyped).state(), IdEntryState::BadChecksum);
        assert_eq!(typed("5001X").state(), IdEntryState::BadCharacter);
        let mut entry = typed(&text);
        entry.press('9');
        assert_eq!(entry.len(), 18, "nothing beyond 18 characters");
        entry.delete();
        assert_eq!(entry.state(), IdEntryState::Incomplete);
    }

    #[test]
    fn the_screen_sees_the_birth_date_masked_and_debug_sees_nothing() {
        let entry = typed("5001031990");
        assert_eq!(entry.masked(), "500103****________");
        assert!(!format!("{entry:?}").contains("5001"));
        let mut name = TypedName::new();
        "Zhang Xiaofang1".chars().for_each(|c| name.press(c));
        assert_eq!(name.letters(), "zhangxiaofang");
        assert!(!format!("{name:?}").contains("zhang"));
    }
}
