//! Who a card holder is: the citizen ID number (GB 11643), names, PINs and the card generation.
//!
//! Pure domain types. Everything that carries personal data masks itself in `Debug`, so a stray
//! `{:?}` in a log line cannot leak a name, an ID number or a PIN.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// GB 11643 weights for the first 17 characters: 2^(17-i) mod 11.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each value of the weighted sum mod 11.
const ID_CHECK_CHARS: [u8; 11] = *b"10X98765432";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has 18 characters, this one has {0}")]
    WrongLength(usize),
    #[error("character {position} of the ID number is not allowed there")]
    InvalidCharacter { position: usize },
    #[error("the ID number's check character does not match")]
    BadChecksum,
}

/// A citizen ID number (公民身份号码, GB 11643-1999): 17 digits and a check character (digit or `X`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    /// Validates length, characters and the check character. A lowercase `x` is accepted and stored as `X`.
    pub fn parse(text: &str) -> Result<IdNumber, IdNumberError> {
        let bytes = text.as_bytes();
        let length = text.chars().count();
        if length != 18 || bytes.len() != 18 {
            return Err(IdNumberError::WrongLength(length));
        }
        if let Some(position) = bytes[..17].iter().position(|b| !b.is_ascii_digit()) {
            return Err(IdNumberError::InvalidCharacter { position });
        }
        let last = bytes[17].to_ascii_uppercase();
        if !(last.is_ascii_digit() || last == b'X') {
            return Err(IdNumberError::InvalidCharacter { position: 17 });
        }
        if check_character(&bytes[..17]) != Some(last) {
            return Err(IdNumberError::BadChecksum);
        }
        let mut normalized = text[..17].to_owned();
        normalized.push(char::from(last));
        Ok(IdNumber(normalized))
    }

    /// Completes 17 digits with their check character (for demo residents and tests).
    pub fn from_body(body: &str) -> Result<IdNumber, IdNumberError> {
        let bytes = body.as_bytes();
        if bytes.len() != 17 {
            return Err(IdNumberError::WrongLength(body.chars().count() + 1));
        }
        let check = check_character(bytes).ok_or_else(|| IdNumberError::InvalidCharacter {
            position: bytes.iter().position(|b| !b.is_ascii_digit()).unwrap_or(0),
        })?;
        let mut text = body.to_owned();
        text.push(char::from(check));
        IdNumber::parse(&text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// First 6 characters, 8 stars, last 4: `500103********1234`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// The administrative region of first registration (first 6 digits).
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }
}

fn check_character(body: &[u8]) -> Option<u8> {
    if body.len() != 17 || !body.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = body
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    Some(ID_CHECK_CHARS[(sum % 11) as usize])
}

impl Drop for IdNumber {
    /// An ID number leaves no copy in freed memory.
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// Masks a Chinese name for the screen: `张*` for two characters, first and last kept otherwise (`张*芳`, `欧**娜`).
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut masked = String::new();
            masked.push(chars[0]);
            masked.extend(std::iter::repeat_n('*', n - 2));
            masked.push(chars[n - 1]);
            masked
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("a PIN has {min} to {max} digits", min = Pin::MIN_DIGITS, max = Pin::MAX_DIGITS)]
    WrongLength,
    #[error("a PIN has digits only")]
    NotDigits,
}

/// A card PIN. Digits only, zeroized on drop, never printed.
pub struct Pin(Zeroizing<Vec<u8>>);

impl Pin {
    pub const MIN_DIGITS: usize = 4;
    pub const MAX_DIGITS: usize = 12;
    /// Social security cards are issued with 6-digit PINs.
    pub const TYPICAL_DIGITS: usize = 6;

    pub fn new(digits: &str) -> Result<Pin, PinError> {
        let bytes = digits.as_bytes();
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(PinError::NotDigits);
        }
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&bytes.len()) {
            return Err(PinError::WrongLength);
        }
        Ok(Pin(Zeroizing::new(bytes.to_vec())))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Packed BCD, two digits a byte, an odd count padded with an `F` nibble (`123456` → `12 34 56`).
    pub fn to_bcd(&self) -> Zeroizing<Vec<u8>> {
        let mut packed = Zeroizing::new(Vec::with_capacity(self.0.len().div_ceil(2)));
        for pair in self.0.chunks(2) {
            let high = pair[0] - b'0';
            let low = pair.get(1).map_or(0x0F, |digit| digit - b'0');
            packed.push((high << 4) | low);
        }
        packed
    }

    /// The PIN back from packed BCD (the virtual card stores it this way). `None` if a nibble is not a digit.
    pub fn from_bcd(packed: &[u8]) -> Option<Pin> {
        let mut digits = Zeroizing::new(String::new());
        for (index, byte) in packed.iter().enumerate() {
            for (nibble_index, nibble) in [byte >> 4, byte & 0x0F].into_iter().enumerate() {
                match nibble {
                    0..=9 => digits.push(char::from(b'0' + nibble)),
                    0x0F if index + 1 == packed.len() && nibble_index == 1 => {}
                    _ => return None,
                }
            }
        }
        Pin::new(&digits).ok()
    }

    /// Constant-time-ish comparison, so the virtual card does not teach bad habits.
    pub fn matches(&self, other: &Pin) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl PartialEq for Pin {
    fn eq(&self, other: &Pin) -> bool {
        self.matches(other)
    }
}

impl Eq for Pin {}

/// Why a new PIN is refused before it reaches the card: one anyone could guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeakPin {
    /// A new service PIN has exactly six digits.
    NotSixDigits,
    /// Every digit the same (111111).
    AllSame,
    /// A run up or down (123456, 987654).
    Sequence,
    /// The card's issuing PIN, or the old one.
    Unchanged,
}

impl Pin {
    /// Why `self` may not become a new service PIN replacing `old`, or `None` if it may.
    pub fn weakness(&self, old: Option<&Pin>) -> Option<WeakPin> {
        let digits: &[u8] = &self.0;
        if digits.len() != Self::TYPICAL_DIGITS {
            return Some(WeakPin::NotSixDigits);
        }
        if digits.windows(2).all(|pair| pair[0] == pair[1]) {
            return Some(WeakPin::AllSame);
        }
        let step = |up: bool| {
            digits.windows(2).all(|pair| {
                let (a, b) = (i16::from(pair[0]), i16::from(pair[1]));
                if up {
                    b - a == 1
                } else {
                    a - b == 1
                }
            })
        };
        if step(true) || step(false) {
            return Some(WeakPin::Sequence);
        }
        if old.is_some_and(|old| old.matches(self)) {
            return Some(WeakPin::Unchanged);
        }
        None
    }
}

impl Clone for Pin {
    fn clone(&self) -> Self {
        Pin(Zeroizing::new(self.0.to_vec()))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl Zeroize for Pin {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// Who an ID card on the reader belongs to, as the screen may show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdCardSummary {
    pub masked_name: String,
    pub masked_id: String,
}

/// Which generation of 社会保障卡 a card is, from EF05's spec version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardGeneration {
    /// Spec versions 1.00 and 2.00: holder data readable without authentication.
    Second,
    /// Spec version 3.00: holder data needs RKSSSE external authentication.
    Third,
}

impl CardGeneration {
    /// `"1.00"`/`"2.00"` → Second, `"3.00"` → Third; anything else is unknown.
    pub fn from_spec_version(version: &str) -> Option<CardGeneration> {
        let major = version.trim().split('.').next()?;
        match major {
            "1" | "2" => Some(CardGeneration::Second),
            "3" => Some(CardGeneration::Third),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        match self {
            CardGeneration::Second => 2,
            CardGeneration::Third => 3,
        }
    }
}

impl fmt::Display for CardGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardGeneration::Second => f.write_str("2nd generation"),
            CardGeneration::Third => f.write_str("3rd generation"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
    Unknown,
}

impl Gender {
    /// The card's code: `'1'` male, `'2'` female.
    pub fn from_code(code: &str) -> Gender {
        match code.trim() {
            "1" => Gender::Male,
            "2" => Gender::Female,
            _ => Gender::Unknown,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "1",
            Gender::Female => "2",
            Gender::Unknown => "9",
        }
    }
}

/// A calendar date as cards store it (BCD `YYYYMMDD`), checked for plausible month and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CardDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl CardDate {
    pub fn new(year: u16, month: u8, day: u8) -> Option<CardDate> {
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(CardDate {
            year,
            month,
            day,
        })
    }

    /// From 8 ASCII digits `YYYYMMDD`.
    pub fn from_digits(digits: &str) -> Option<CardDate> {
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        CardDate::new(
            digits[..4].parse().ok()?,
            digits[4..6].parse().ok()?,
            digits[6..].parse().ok()?,
        )
    }
}

impl fmt::Display for CardDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Everything the card says about its holder, after a complete read.
#[derive(Clone, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub id_number: IdNumber,
    /// 社会保障卡卡号, 9 characters.
    pub card_number: String,
    pub gender: Gender,
    pub birth_date: Option<CardDate>,
    /// 民族 code (01 = 汉族).
    pub nationality: u8,
    /// Region code of the birthplace, digits only.
    pub birthplace: String,
    pub issue_date: Option<CardDate>,
    pub expiry_date: Option<CardDate>,
    pub generation: CardGeneration,
    /// Issuing region (first 6 digits of the card identification).
    pub region_code: String,
}

impl Holder {
    /// What the screen may show about the holder.
    pub fn summary(&self) -> HolderSummary {
        HolderSummary {
            masked_name: mask_name(&self.name),
            masked_id: self.id_number.masked(),
            generation: self.generation,
            gender: self.gender,
            region_code: self.region_code.clone(),
            expiry_date: self.expiry_date,
        }
    }
}

impl fmt::Debug for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Holder")
            .field("name", &mask_name(&self.name))
            .field("id_number", &self.id_number)
            .field("card_number", &mask_card_number(&self.card_number))
            .field("gender", &self.gender)
            .field("generation", &self.generation)
            .field("region_code", &self.region_code)
            .field("expiry_date", &self.expiry_date)
            .finish_non_exhaustive()
    }
}

/// The card number with only its last 3 characters visible.
pub fn mask_card_number(card_number: &str) -> String {
    let chars: Vec<char> = card_number.chars().collect();
    let keep = chars.len().min(3);
    let mut masked: String = std::iter::repeat_n('*', chars.len() - keep).collect();
    masked.extend(&chars[chars.len() - keep..]);
    masked
}

/// The masked view of a [`Holder`] for the UI: safe to show on screen and to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderSummary {
    pub masked_name: String,
    pub masked_id: String,
    pub generation: CardGeneration,
    pub gender: Gender,
    pub region_code: String,
    pub expiry_date: Option<CardDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_accepts_known_good_numbers_and_rejects_a_changed_digit() {
        // The standard's own example.
        let id = IdNumber::parse("11010519491231002X").expect("GB 11643 example");
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            IdNumber::parse("11010519491231002x")
                .expect("lowercase x")
                .as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdNumberError::BadChecksum)
        );
        assert_eq!(
            IdNumber::parse("1101051949123100"),
            Err(IdNumberError::WrongLength(16))
        );
        assert_eq!(
            IdNumber::parse("11010519A91231002X"),
            Err(IdNumberError::InvalidCharacter { position: 8 })
        );
        assert_eq!(
            IdNumber::parse("11010519491231002Y"),
            Err(IdNumberError::InvalidCharacter { position: 17 })
        );
        assert!(matches!(
            IdNumber::parse("１１０１０５１９４９１２３１００２X"),
            Err(IdNumberError::WrongLength(18))
        ));
    }

    proptest::proptest! {
        #[test]
        fn the_check_character_catches_every_single_digit_change(
            body in "[0-9]{17}", position in 0usize..17, delta in 1u8..10,
        ) {
            let id = IdNumber::from_body(&body).expect("17 digits");
            proptest::prop_assert_eq!(IdNumber::parse(id.as_str()), Ok(id.clone()));
            let mut changed = id.as_str().as_bytes().to_vec();
            changed[position] = b'0' + (changed[position] - b'0' + delta) % 10;
            let changed = String::from_utf8(changed).expect("ascii");
            proptest::prop_assert_eq!(IdNumber::parse(&changed), Err(IdNumberError::BadChecksum));
        }

        #[test]
        fn parse_never_panics(text in ".{0,24}") {
            let _ = IdNumber::parse(&text);
            let _ = mask_name(&text);
        }
    }

    #[test]
    fn from_body_completes_the_check_character() {
        assert_eq!(
            IdNumber::from_body("11010519491231002")
                .expect("body")
                .as_str(),
            "11010519491231002X"
        );
        assert!(IdNumber::from_body("1101051949123100").is_err());
        assert!(IdNumber::from_body("1101051949123100a").is_err());
    }

    #[test]
    fn masks_ids_names_and_debug_output() {
        let id = IdNumber::from_body("50010319900307123").expect("body");
        assert_eq!(id.masked(), format!("500103********{}", &id.as_str()[14..]));
        assert_eq!(format!("{id:?}"), format!("IdNumber({})", id.masked()));
        assert_eq!(mask_name("张晓芳"), "张*芳");
        assert_eq!(mask_name("李明"), "李*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_card_number("A12345678"), "******678");
    }

    #[test]
    fn pin_validates_packs_bcd_and_hides_itself() {
        let pin = Pin::new("123456").expect("six digits");
        assert_eq!(pin.to_bcd().as_slice(), &[0x12, 0x34, 0x56]);
        assert_eq!(
            Pin::new("12345").expect("five").to_bcd().as_slice(),
            &[0x12, 0x34, 0x5F]
        );
        assert!(Pin::from_bcd(&[0x12, 0x34, 0x5F])
            .expect("odd")
            .matches(&Pin::new("12345").expect("five")));
        assert!(Pin::from_bcd(&[0x1A, 0x34]).is_none());
        assert!(!pin.matches(&Pin::new("123457").expect("other")));
        assert_eq!(Pin::new("12a456").err(), Some(PinError::NotDigits));
        assert_eq!(Pin::new("123").err(), Some(PinError::WrongLength));
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
    }

    #[test]
    fn generation_follows_the_spec_version() {
        assert_eq!(
            CardGeneration::from_spec_version("1.00"),
            Some(CardGeneration::Second)
        );
        assert_eq!(
            CardGeneration::from_spec_version("2.00"),
            Some(CardGeneration::Second)
        );
        assert_eq!(
            CardGeneration::from_spec_version("3.00"),
            Some(CardGeneration::Third)
        );
        assert_eq!(CardGeneration::from_spec_version("9.00"), None);
        assert_eq!(CardGeneration::from_spec_version(""), None);
    }

    #[test]
    fn holder_debug_and_summary_never_show_the_full_name_or_id() {
        let id = IdNumber::from_body("50010319900307123").expect("body");
        let holder = Holder {
            name: "张晓芳".into(),
            id_number: id.clone(),
            card_number: "A12345678".into(),
            gender: Gender::Female,
            birth_date: CardDate::new(1990, 3, 7),
            nationality: 1,
            birthplace: "500103".into(),
            issue_date: CardDate::new(2020, 1, 1),
            expiry_date: CardDate::new(2030, 1, 1),
            generation: CardGeneration::Third,
            region_code: "500100".into(),
        };
        let debug = format!("{holder:?}");
        assert!(
            !debug.contains("张晓芳")
                && !debug.contains(id.as_str())
                && !debug.contains("A12345678"),
            "{debug}"
        );
        let summary = holder.summary();
        assert_eq!(summary.masked_name, "张*芳");
        assert_eq!(summary.masked_id, id.masked());
    }
}
