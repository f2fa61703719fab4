//! The card's data: the 256-byte text block (UCS-2LE, space-padded), the opaque WLT photo
//! and the optional fingerprint, as the 30 01 / 30 10 replies carry them.
//!
//! Three layouts, told apart by the character at bytes 248–249: the resident ID card
//! (blank), the 港澳台居民居住证 (`J`) and the 2017 外国人永久居留身份证 (`I`). The 2023 永居证
//! (`Y`) is refused: its offsets are unconfirmed. Fields lose trailing spaces only, so a
//! name with a space inside keeps it.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

pub const TEXT_LEN: usize = 256;
/// The WLT photo's length on every card so far.
pub const PHOTO_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text block has {got} bytes, expected {expected}")]
    WrongLength { expected: usize, got: usize },
    #[error("the {field} field is not valid UCS-2 text")]
    BadText { field: &'static str },
    #[error("the sex code is not one of GB/T 2261.1's 0, 1, 2, 9")]
    BadSex,
    #[error("the nation code is not one of GB/T 3304's")]
    BadNation,
    #[error("the {field} date is not YYYYMMDD")]
    BadDate { field: &'static str },
    #[error("card type {0:?} is known but its layout is not confirmed")]
    UnsupportedCardType(char),
    #[error("card type code {0:#06x} is unknown")]
    UnknownCardType(u16),
    #[error("the reply's lengths (text {text}, photo {photo}, fingerprint {fingerprint}) do not add up to its {available} data bytes")]
    BadLengths {
        text: usize,
        photo: usize,
        fingerprint: usize,
        available: usize,
    },
    #[error("the {field} field does not fit its {width} bytes")]
    FieldTooLong { field: &'static str, width: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardKind {
    /// 居民身份证.
    Resident,
    /// `J`: 港澳台居民居住证.
    HkMacaoTaiwanResidence,
    /// `I`: 外国人永久居留身份证 (2017).
    ForeignPermanentResidence,
}

impl CardKind {
    /// The type character at bytes 248–249 (a space for the resident card).
    pub fn type_char(self) -> char {
        match self {
            CardKind::Resident => ' ',
            CardKind::HkMacaoTaiwanResidence => 'J',
            CardKind::ForeignPermanentResidence => 'I',
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            CardKind::Resident => "居民身份证",
            CardKind::HkMacaoTaiwanResidence => "港澳台居民居住证",
            CardKind::ForeignPermanentResidence => "外国人永久居留身份证",
        }
    }
}

/// GB/T 2261.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Unknown,
    Male,
    Female,
    Unspecified,
}

impl Sex {
    pub fn from_code(code: char) -> Option<Sex> {
        match code {
            '0' => Some(Sex::Unknown),
            '1' => Some(Sex::Male),
            '2' => Some(Sex::Female),
            '9' => Some(Sex::Unspecified),
            _ => None,
        }
    }

    pub fn code(self) -> char {
        match self {
            Sex::Unknown => '0',
            Sex::Male => '1',
            Sex::Female => '2',
            Sex::Unspecified => '9',
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Sex::Unknown => "未知",
            Sex::Male => "男",
            Sex::Female => "女",
            Sex::Unspecified => "未说明",
        }
    }
}

const NATIONS: [&str; 56] = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
];

/// A GB/T 3304 nation code: 01–56, 97 其他, 98 外国血统中国籍人士.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nation(u8);

impl Nation {
    pub fn new(code: u8) -> Option<Nation> {
        (matches!(code, 1..=56 | 97 | 98)).then_some(Nation(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// The nation's name without 族, e.g. 汉, 土家.
    pub fn name_zh(self) -> &'static str {
        match self.0 {
            97 => "其他",
            98 => "外国血统中国籍人士",
            code => NATIONS
                .get(usize::from(code).wrapping_sub(1))
                .copied()
                .unwrap_or("其他"),
        }
    }
}

/// A date as the card writes it (`YYYYMMDD`), checked for plausible month and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CardDay {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl CardDay {
    pub fn new(year: u16, month: u8, day: u8) -> Option<CardDay> {
        ((1..=12).contains(&month) && (1..=31).contains(&day) && year <= 9999).then_some(CardDay {
            year,
            month,
            day,
        })
    }

    pub fn from_digits(text: &str) -> Option<CardDay> {
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        CardDay::new(
            text[..4].parse().ok()?,
            text[4..6].parse().ok()?,
            text[6..].parse().ok()?,
        )
    }

    pub fn digits(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for CardDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Zeroize for CardDay {
    fn zeroize(&mut self) {
        self.year.zeroize();
        self.month.zeroize();
        self.day.zeroize();
    }
}

/// The end of validity: a date or 长期 (long-term).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    Until(CardDay),
    LongTerm,
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validity::Until(day) => day.fmt(f),
            Validity::LongTerm => f.write_str("长期"),
        }
    }
}

/// The text block, parsed. Fields a layout lacks are empty (`nation` is `None`).
/// Zeroized on drop; `Debug` shows a masked ID number and lengths only.
#[derive(Clone, PartialEq, Eq)]
pub struct CardText {
    pub kind: CardKind,
    /// The Chinese name (on the `I` card: its 中文姓名, which may be empty).
    pub name: String,
    /// `I` only.
    pub english_name: String,
    pub sex: Sex,
    /// The resident card only.
    pub nation: Option<Nation>,
    pub birth: CardDay,
    /// Empty on the `I` card.
    pub address: String,
    /// 18 characters (15 on the `I` card).
    pub id_number: String,
    /// 签发机关; on the `I` card the authority's code.
    pub authority: String,
    pub valid_from: CardDay,
    pub valid_to: Validity,
    /// `J` only: 通行证号码.
    pub pass_number: String,
    /// `J` only: 签发次数.
    pub issue_count: String,
    /// `I` only: GB/T 2659 nationality code, e.g. `CAN`.
    pub nationality: String,
    /// `I` only: the card's version.
    pub version: String,
}

impl Drop for CardText {
    fn drop(&mut self) {
        self.name.zeroize();
        self.english_name.zeroize();
        self.address.zeroize();
        self.id_number.zeroize();
        self.authority.zeroize();
        self.pass_number.zeroize();
        self.issue_count.zeroize();
        self.nationality.zeroize();
        self.birth.zeroize();
        self.valid_from.zeroize();
        self.valid_to = Validity::LongTerm;
    }
}

impl fmt::Debug for CardText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardText")
            .field("kind", &self.kind)
            .field("id_number", &mask_id(&self.id_number))
            .field("name_chars", &self.name.chars().count())
            .field("address_chars", &self.address.chars().count())
            .field("sex", &self.sex)
            .field("valid_to", &self.valid_to)
            .finish_non_exhaustive()
    }
}

/// An ID number with its first 6 and last 4 characters kept: `500103********1234`.
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let mut masked: String = chars[..6].iter().collect();
    masked.extend(std::iter::repeat_n('*', chars.len() - 10));
    masked.extend(&chars[chars.len() - 4..]);
    masked
}

/// `(offset, width in bytes)` of each field, per layout.
mod layout {
    pub type Field = (usize, usize);
    pub const TYPE: Field = (248, 2);

    pub mod resident {
        use super::Field;
        pub const NAME: Field = (0, 30);
        pub const SEX: Field = (30, 2);
        pub const NATION: Field = (32, 4);
        pub const BIRTH: Field = (36, 16);
        pub const ADDRESS: Field = (52, 70);
        pub const ID: Field = (122, 36);
        pub const AUTHORITY: Field = (158, 30);
        pub const FROM: Field = (188, 16);
        pub const TO: Field = (204, 16);
        /// `J` only.
        pub const PASS: Field = (220, 18);
        pub const ISSUES: Field = (238, 4);
    }

    pub mod foreign {
        use super::Field;
        pub const ENGLISH_NAME: Field = (0, 120);
        pub const SEX: Field = (120, 2);
        pub const ID: Field = (122, 30);
        pub const NATIONALITY: Field = (152, 6);
        pub const NAME: Field = (158, 30);
        pub const FROM: Field = (188, 16);
        pub const TO: Field = (204, 16);
        pub const BIRTH: Field = (220, 16);
        pub const VERSION: Field = (236, 4);
        pub const AUTHORITY: Field = (240, 8);
    }
}

use layout::Field;

/// A field's text, trailing spaces removed.
fn field(block: &[u8], (offset, width): Field, name: &'static str) -> Result<String, TextError> {
    let bytes = &block[offset..offset + width];
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    let mut text = String::with_capacity(width);
    for unit in char::decode_utf16(units) {
        match unit {
            Ok(c) => text.push(c),
            Err(_) => {
                text.zeroize();
                return Err(TextError::BadText { field: name });
            }
        }
    }
    let kept = text.trim_end_matches(' ').len();
    text.truncate(kept);
    Ok(text)
}

fn date(block: &[u8], at: Field, name: &'static str) -> Result<CardDay, TextError> {
    let text = Zeroizing::new(field(block, at, name)?);
    CardDay::from_digits(&text).ok_or(TextError::BadDate { field: name })
}

fn validity(block: &[u8], at: Field, name: &'static str) -> Result<Validity, TextError> {
    let text = field(block, at, name)?;
    if text == "长期" {
        return Ok(Validity::LongTerm);
    }
    CardDay::from_digits(&text)
        .map(Validity::Until)
        .ok_or(TextError::BadDate { field: name })
}

fn sex(block: &[u8], at: Field) -> Result<Sex, TextError> {
    let text = field(block, at, "sex")?;
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(code), None) => Sex::from_code(code).ok_or(TextError::BadSex),
        _ => Err(TextError::BadSex),
    }
}

/// Parses a 256-byte text block.
pub fn parse_text(block: &[u8]) -> Result<CardText, TextError> {
    if block.len() != TEXT_LEN {
        return Err(TextError::WrongLength {
            expected: TEXT_LEN,
            got: block.len(),
        });
    }
    let (at, _) = layout::TYPE;
    let kind = match u16::from_le_bytes([block[at], block[at + 1]]) {
        0x0000 | 0x0020 => CardKind::Resident,
        0x004A => CardKind::HkMacaoTaiwanResidence,
        0x0049 => CardKind::ForeignPermanentResidence,
        0x0059 => return Err(TextError::UnsupportedCardType('Y')),
        other => return Err(TextError::UnknownCardType(other)),
    };
    match kind {
        CardKind::Resident | CardKind::HkMacaoTaiwanResidence => {
            use layout::resident as l;
            let nation = if kind == CardKind::Resident {
                let code = field(block, l::NATION, "nation")?;
                let number = if code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) {
                    code.parse::<u8>().ok()
                } else {
                    None
                };
                Some(number.and_then(Nation::new).ok_or(TextError::BadNation)?)
            } else {
                None
            };
            let (pass_number, issue_count) = if kind == CardKind::HkMacaoTaiwanResidence {
                (
                    field(block, l::PASS, "pass number")?,
                    field(block, l::ISSUES, "issue count")?,
                )
            } else {
                (String::new(), String::new())
            };
            Ok(CardText {
                kind,
                name: field(block, l::NAME, "name")?,
                english_name: String::new(),
                sex: sex(block, l::SEX)?,
                nation,
                birth: date(block, l::BIRTH, "birth")?,
                address: field(block, l::ADDRESS, "address")?,
                id_number: field(block, l::ID, "ID number")?,
                authority: field(block, l::AUTHORITY, "authority")?,
                valid_from: date(block, l::FROM, "valid from")?,
                valid_to: validity(block, l::TO, "valid to")?,
                pass_number,
                issue_count,
                nationality: String::new(),
                version: String::new(),
            })
        }
        CardKind::ForeignPermanentResidence => {
            use layout::foreign as l;
            Ok(CardText {
                kind,
                name: field(block, l::NAME, "name")?,
                english_name: field(block, l::ENGLISH_NAME, "English name")?,
                sex: sex(block, l::SEX)?,
                nation: None,
                birth: date(block, l::BIRTH, "birth")?,
                address: String::new(),
                id_number: field(block, l::ID, "ID number")?,
                authority: field(block, l::AUTHORITY, "authority")?,
                valid_from: date(block, l::FROM, "valid from")?,
                valid_to: validity(block, l::TO, "valid to")?,
                pass_number: String::new(),
                issue_count: String::new(),
                nationality: field(block, l::NATIONALITY, "nationality")?,
                version: field(block, l::VERSION, "version")?,
            })
        }
    }
}

fn put(
    block: &mut [u8],
    (offset, width): Field,
    name: &'static str,
    text: &str,
) -> Result<(), TextError> {
    let mut at = offset;
    for unit in text.encode_utf16() {
        if at + 2 > offset + width {
            return Err(TextError::FieldTooLong { field: name, width });
        }
        block[at..at + 2].copy_from_slice(&unit.to_le_bytes());
        at += 2;
    }
    Ok(())
}

impl CardText {
    /// The 256-byte block a card with this text carries (for the virtual reader and tests).
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, TextError> {
        let mut block = Zeroizing::new([0x20u8, 0x00].repeat(TEXT_LEN / 2));
        let b = block.as_mut_slice();
        let to = match self.valid_to {
            Validity::Until(day) => day.digits(),
            Validity::LongTerm => "长期".to_owned(),
        };
        let sex = self.sex.code().to_string();
        match self.kind {
            CardKind::Resident | CardKind::HkMacaoTaiwanResidence => {
                use layout::resident as l;
                put(b, l::NAME, "name", &self.name)?;
                put(b, l::SEX, "sex", &sex)?;
                if let Some(nation) = self.nation {
                    put(b, l::NATION, "nation", &format!("{:02}", nation.code()))?;
                }
                put(b, l::BIRTH, "birth", &self.birth.digits())?;
                put(b, l::ADDRESS, "address", &self.address)?;
                put(b, l::ID, "ID number", &self.id_number)?;
                put(b, l::AUTHORITY, "authority", &self.authority)?;
                put(b, l::FROM, "valid from", &self.valid_from.digits())?;
                put(b, l::TO, "valid to", &to)?;
                if self.kind == CardKind::HkMacaoTaiwanResidence {
                    put(b, l::PASS, "pass number", &self.pass_number)?;
                    put(b, l::ISSUES, "issue count", &self.issue_count)?;
                }
            }
            CardKind::ForeignPermanentResidence => {
                use layout::foreign as l;
                put(b, l::ENGLISH_NAME, "English name", &self.english_name)?;
                put(b, l::SEX, "sex", &sex)?;
                put(b, l::ID, "ID number", &self.id_number)?;
                put(b, l::NATIONALITY, "nationality", &self.nationality)?;
                put(b, l::NAME, "name", &self.name)?;
                put(b, l::FROM, "valid from", &self.valid_from.digits())?;
                put(b, l::TO, "valid to", &to)?;
                put(b, l::BIRTH, "birth", &self.birth.digits())?;
                put(b, l::VERSION, "version", &self.version)?;
                put(b, l::AUTHORITY, "authority", &self.authority)?;
            }
        }
        put(b, layout::TYPE, "type", &self.kind.type_char().to_string())?;
        Ok(block)
    }
}

/// The WLT photo: opaque (only the licensed decoder turns it into a picture). Zeroized on
/// drop; `Debug` shows its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo(Zeroizing<Vec<u8>>);

impl Photo {
    pub fn new(bytes: Vec<u8>) -> Photo {
        Photo(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Photo(<{} bytes>)", self.0.len())
    }
}

/// Fingerprint data from 30 10: opaque, zeroized, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint(Zeroizing<Vec<u8>>);

impl Fingerprint {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint(<{} bytes>)", self.0.len())
    }
}

/// Everything one read returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRead {
    pub text: CardText,
    pub photo: Photo,
    /// Only from 30 10, and empty when the card holds none.
    pub fingerprint: Option<Fingerprint>,
}

fn be16(bytes: &[u8], at: usize) -> usize {
    usize::from(bytes[at]) << 8 | usize::from(bytes[at + 1])
}

/// Parses a read reply's data (after SW3): lengths (text, photo and, for 30 10, fingerprint;
/// big-endian u16 each), then the parts.
pub fn parse_read_data(data: &[u8], with_fingerprint: bool) -> Result<CardRead, TextError> {
    let header = if with_fingerprint { 6 } else { 4 };
    if data.len() < header {
        return Err(TextError::BadLengths {
            text: 0,
            photo: 0,
            fingerprint: 0,
            available: data.len(),
        });
    }
    let text_len = be16(data, 0);
    let photo_len = be16(data, 2);
    let fingerprint_len = if with_fingerprint { be16(data, 4) } else { 0 };
    if header + text_len + photo_len + fingerprint_len != data.len() {
        return Err(TextError::BadLengths {
            text: text_len,
            photo: photo_len,
            fingerprint: fingerprint_len,
            available: data.len() - header,
        });
    }
    let text_end = header + text_len;
    let photo_end = text_end + photo_len;
    let text = parse_text(&data[header..text_end])?;
    Ok(CardRead {
        text,
        photo: Photo::new(data[text_end..photo_end].to_vec()),
        fingerprint: with_fingerprint
            .then(|| Fingerprint(Zeroizing::new(data[photo_end..].to_vec()))),
    })
}

/// A read reply's data (after SW3), as the reader sends it: 30 01 without a fingerprint,
/// 30 10 with one (possibly empty).
pub fn encode_read_data(
    text: &[u8],
    photo: &[u8],
    fingerprint: Option<&[u8]>,
) -> Zeroizing<Vec<u8>> {
    let mut data = Zeroizing::new(Vec::with_capacity(
        6 + text.len() + photo.len() + fingerprint.map_or(0, <[u8]>::len),
    ));
    let mut len = |n: usize| data.extend_from_slice(&(n.min(0xFFFF) as u16).to_be_bytes());
    len(text.len());
    len(photo.len());
    if let Some(fingerprint) = fingerprint {
        len(fingerprint.len());
    }
    data.extend_from_slice(text);
    data.extend_from_slice(photo);
    if let Some(fingerprint) = fingerprint {
        data.extend_from_slice(fingerprint);
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn resident() -> CardText {
        CardText {
            kind: CardKind::Resident,
            name: "阿依古丽 买买提".into(),
            english_name: String::new(),
            sex: Sex::Female,
            nation: Nation::new(5),
            birth: CardDay::new(1990, 3, 7).expect("date"),
            address: "重庆市渝中区解放碑街道民族路188号".into(),
            id_number: "500103199003071228".into(),
            authority: "重庆市公安局渝中区分局".into(),
            valid_from: CardDay::new(2015, 6, 1).expect("date"),
            valid_to: Validity::Until(CardDay::new(2035, 6, 1).expect("date")),
            pass_number: String::new(),
            issue_count: String::new(),
            nationality: String::new(),
            version: String::new(),
        }
    }

    #[test]
    fn a_resident_block_round_trips_and_keeps_inner_spaces() {
        let card = resident();
        let block = card.encode().expect("fits");
        assert_eq!(block.len(), TEXT_LEN);
        // Space padding, UCS-2LE, the name at 0 and the ID number at 122.
        assert_eq!(&block[..2], &0x963F_u16.to_le_bytes(), "阿 in UCS-2LE");
        assert_eq!(&block[122..124], b"5\0");
        assert_eq!(&block[254..256], b" \0");
        let parsed = parse_text(&block).expect("parses");
        assert_eq!(parsed, card);
        assert_eq!(parsed.name, "阿依古丽 买买提");
        assert_eq!(parsed.nation.map(Nation::name_zh), Some("维吾尔"));
    }

    #[test]
    fn long_term_validity_and_a_nul_type_are_a_resident_card() {
        let mut card = resident();
        card.valid_to = Validity::LongTerm;
        let mut block = card.encode().expect("fits");
        block[248] = 0;
        block[249] = 0;
        let parsed = parse_text(&block).expect("parses");
        assert_eq!(parsed.valid_to, Validity::LongTerm);
        assert_eq!(parsed.kind, CardKind::Resident);
    }

    #[test]
    fn the_residence_permit_has_no_nation_and_a_pass_number() {
        let mut card = resident();
        card.kind = CardKind::HkMacaoTaiwanResidence;
        card.nation = None;
        card.id_number = "810000199003071236".into();
        card.pass_number = "H12345678".into();
        card.issue_count = "01".into();
        let block = card.encode().expect("fits");
        assert_eq!(&block[248..250], b"J\0");
        assert_eq!(&block[32..36], b" \0 \0");
        assert_eq!(parse_text(&block).expect("parses"), card);
    }

    #[test]
    fn the_foreign_permanent_residence_card_has_its_own_layout() {
        let card = CardText {
            kind: CardKind::ForeignPermanentResidence,
            name: "玛丽".into(),
            english_name: "SMITH, MARY ANN".into(),
            sex: Sex::Female,
            nation: None,
            birth: CardDay::new(1980, 1, 2).expect("date"),
            address: String::new(),
            id_number: "CAN110080010201".into(),
            authority: "1500".into(),
            valid_from: CardDay::new(2018, 1, 1).expect("date"),
            valid_to: Validity::Until(CardDay::new(2028, 1, 1).expect("date")),
            pass_number: String::new(),
            issue_count: String::new(),
            nationality: "CAN".into(),
            version: "01".into(),
        };
        let block = card.encode().expect("fits");
        assert_eq!(&block[248..250], b"I\0");
        assert_eq!(&block[120..122], b"2\0");
        assert_eq!(&block[220..222], b"1\0");
        let parsed = parse_text(&block).expect("parses");
        assert_eq!(parsed, card);
        assert_eq!(mask_id(&parsed.id_number), "CAN110*****0201");
    }

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn unknown_and_unconfirmed_types_and_bad_fields_are_typed_errors() {
        let block = resident().encode().expect("fits");
        let with = |at: usize, bytes: &[u8]| {
            let mut changed = block.to_vec();
            changed[at..at + bytes.len()].copy_from_slice(bytes);
            parse_text(&changed)
        };
        assert_eq!(with(248, b"Y\0"), Err(TextError::UnsupportedCardType('Y')));
        assert_eq!(with(248, b"Z\0"), Err(TextError::UnknownCardType(0x5A)));
        assert_eq!(with(30, b"3\0"), Err(TextError::BadSex));
        assert_eq!(with(32, &utf16le("99")), Err(TextError::BadNation));
        assert_eq!(
            with(36, &utf16le("19901332")),
            Err(TextError::BadDate { field: "birth" })
        );
        assert_eq!(
            with(0, &[0x00, 0xD8]),
            Err(TextError::BadText { field: "name" })
        );
        assert_eq!(
            parse_text(&block[..255]),
            Err(TextError::WrongLength {
                expected: 256,
                got: 255
            })
        );
    }

    #[test]
    fn debug_shows_no_name_id_address_or_photo() {
        let card = resident();
        let read = CardRead {
            text: card.clone(),
            photo: Photo::new(vec![0x57; PHOTO_LEN]),
            fingerprint: None,
        };
        let shown = format!("{read:?}");
        assert!(shown.contains("500103********1228"), "{shown}");
        assert!(shown.contains("1024 bytes"), "{shown}");
        for secret in [
            "阿依古丽",
            "买买提",
            "500103199003071228",
            "解放碑",
            "87, 87",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn read_data_lengths_must_add_up() {
        let block = resident().encode().expect("fits");
        let photo = vec![1u8; PHOTO_LEN];
        let data = encode_read_data(&block, &photo, None);
        assert_eq!(&data[..4], &[0x01, 0x00, 0x04, 0x00]);
        let read = parse_read_data(&data, false).expect("parses");
        assert_eq!(read.photo.len(), PHOTO_LEN);
        assert!(read.fingerprint.is_none());
        assert!(matches!(
            parse_read_data(&data[..data.len() - 1], false),
            Err(TextError::BadLengths { .. })
        ));
        let fingerprint = vec![2u8; 512];
        let data = encode_read_data(&block, &photo, Some(&fingerprint));
        assert_eq!(&data[..6], &[0x01, 0x00, 0x04, 0x00, 0x02, 0x00]);
        let read = parse_read_data(&data, true).expect("parses");
        assert_eq!(read.fingerprint.map(|f| f.len()), Some(512));
    }

    #[test]
    fn a_field_that_does_not_fit_is_refused() {
        let mut card = resident();
        card.name = "一二三四五六七八九十一二三四五六".into();
        assert_eq!(
            card.encode(),
            Err(TextError::FieldTooLong {
                field: "name",
                width: 30
            })
        );
    }
}
