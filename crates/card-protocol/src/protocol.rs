//! The social security card's wire protocol, without I/O.
//!
//! APDU builders, response parsing, status words as typed errors, field decoders, and the read flow
//! as a [`CardSession`] over any [`Transmit`] — PC/SC in production, an in-memory card in unit tests.
//! The session remembers what is selected, so no SELECT is ever sent twice, and it reads only the
//! records a [`Holder`] needs.

use std::fmt;

use zeroize::Zeroizing;

use crate::sam::{Sam, SamError};
use renshe_core::identity::{
    CardDate, CardGeneration, Gender, Holder, IdNumber, IdNumberError, Pin,
};

/// `sx1.sh.社会保障` in GBK: the social security environment's DF name.
pub const SSSE_NAME: [u8; 15] = [
    0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF,
];
/// Issuer data (发卡机构数据).
pub const EF05: u16 = 0xEF05;
/// Holder data (持卡人基本信息).
pub const EF06: u16 = 0xEF06;
/// RKSSSE, the external-authentication key that opens EF06 on 3rd-generation cards.
pub const RKSSSE_KEY_ID: u8 = 0x0A;
/// Chained 61xx / 6Cxx answers beyond this are a broken card, not a long record.
const MAX_EXCHANGE_ROUNDS: usize = 8;

/// EF05 and EF06 record tags with their data lengths (Le = 2 + length).
pub mod tag {
    pub const CARD_IDENTIFICATION: (u8, u8) = (0x01, 16);
    pub const CARD_TYPE: (u8, u8) = (0x02, 1);
    pub const SPEC_VERSION: (u8, u8) = (0x03, 4);
    pub const INIT_ORGANISATION: (u8, u8) = (0x04, 12);
    pub const ISSUE_DATE: (u8, u8) = (0x05, 4);
    pub const EXPIRY_DATE: (u8, u8) = (0x06, 4);
    pub const CARD_NUMBER: (u8, u8) = (0x07, 9);
    pub const ID_NUMBER: (u8, u8) = (0x08, 18);
    pub const NAME: (u8, u8) = (0x09, 30);
    pub const NAME_EXTENSION: (u8, u8) = (0x4E, 20);
    pub const GENDER: (u8, u8) = (0x0A, 1);
    pub const NATIONALITY: (u8, u8) = (0x0B, 1);
    pub const BIRTHPLACE: (u8, u8) = (0x0C, 3);
    pub const BIRTH_DATE: (u8, u8) = (0x0D, 4);
}

/// A command APDU. Its bytes are zeroized on drop because VERIFY and CHANGE PIN carry PINs.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandApdu {
    bytes: Zeroizing<Vec<u8>>,
    /// Whether the last byte is Le (so a 6Cxx answer can be retried with the right one).
    has_le: bool,
    sensitive: bool,
}

impl CommandApdu {
    pub fn from_parts(header: [u8; 4], data: &[u8], le: Option<u8>) -> CommandApdu {
        let mut bytes = Zeroizing::new(Vec::with_capacity(6 + data.len()));
        bytes.extend_from_slice(&header);
        if !data.is_empty() {
            // Callers build every data field here; none exceeds a short APDU.
            bytes.push(u8::try_from(data.len()).unwrap_or(u8::MAX));
            bytes.extend_from_slice(data);
        }
        if let Some(le) = le {
            bytes.push(le);
        }
        CommandApdu {
            bytes,
            has_le: le.is_some(),
            sensitive: false,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn ins(&self) -> u8 {
        self.bytes[1]
    }

    /// True for commands that carry a PIN: never log their data.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    fn with_le(&self, le: u8) -> CommandApdu {
        let mut retry = self.clone();
        if retry.has_le {
            if let Some(last) = retry.bytes.last_mut() {
                *last = le;
            }
        } else {
            retry.bytes.push(le);
            retry.has_le = true;
        }
        retry
    }
}

impl fmt::Debug for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redacted_command_hex(&self.bytes))
    }
}

/// Hex for logs and transcripts; the data of PIN commands (VERIFY, CHANGE PIN) is replaced.
pub fn redacted_command_hex(command: &[u8]) -> String {
    if carries_pin(command) {
        format!("{} <redacted>", hex(&command[..4]))
    } else {
        hex(command)
    }
}

/// VERIFY and CHANGE PIN with data.
fn carries_pin(command: &[u8]) -> bool {
    command.len() > 4 && matches!(command[1], 0x20 | 0x5E)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `00 A4 04 00 0F <SSSE name>`.
pub fn select_ssse() -> CommandApdu {
    CommandApdu::from_parts([0x00, 0xA4, 0x04, 0x00], &SSSE_NAME, None)
}

/// `00 A4 02 00 02 <fid>`: select an EF under the current DF.
pub fn select_file(file_id: u16) -> CommandApdu {
    CommandApdu::from_parts([0x00, 0xA4, 0x02, 0x00], &file_id.to_be_bytes(), None)
}

/// `00 B2 <tag> 00 <2 + length>`: READ RECORD by tag; the answer is `tag length value`.
pub fn read_record_by_tag(record_tag: u8, length: u8) -> CommandApdu {
    CommandApdu::from_parts(
        [0x00, 0xB2, record_tag, 0x00],
        &[],
        Some(length.saturating_add(2)),
    )
}

pub fn get_response(length: u8) -> CommandApdu {
    CommandApdu::from_parts([0x00, 0xC0, 0x00, 0x00], &[], Some(length))
}

/// `00 84 00 00 08`.
pub fn get_challenge() -> CommandApdu {
    CommandApdu::from_parts([0x00, 0x84, 0x00, 0x00], &[], Some(8))
}

/// `00 82 00 <key id> 10 <cryptogram>`.
pub fn external_authenticate(key_id: u8, cryptogram: &[u8; 16]) -> CommandApdu {
    CommandApdu::from_parts([0x00, 0x82, 0x00, key_id], cryptogram, None)
}

/// `00 20 00 00 Lc <BCD PIN>`.
pub fn verify_pin(pin: &Pin) -> CommandApdu {
    let mut command = CommandApdu::from_parts([0x00, 0x20, 0x00, 0x00], &pin.to_bcd(), None);
    command.sensitive = true;
    command
}

/// `80 5E 01 00 Lc <old> FF <new>`.
pub fn change_pin(old: &Pin, new: &Pin) -> CommandApdu {
    let mut data = Zeroizing::new(old.to_bcd().to_vec());
    data.push(0xFF);
    data.extend_from_slice(&new.to_bcd());
    let mut command = CommandApdu::from_parts([0x80, 0x5E, 0x01, 0x00], &data, None);
    command.sensitive = true;
    command
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    pub const OK: StatusWord = StatusWord(0x9000);

    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// What the status word asks of the terminal.
    pub fn outcome(self) -> SwOutcome {
        match self.sw1() {
            0x90 if self.sw2() == 0 => SwOutcome::Ok,
            0x61 => SwOutcome::MoreData(self.sw2()),
            0x6C => SwOutcome::WrongLe(self.sw2()),
            _ => SwOutcome::Failed(SwError::from_status_word(self)),
        }
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwOutcome {
    Ok,
    /// 61xx: GET RESPONSE with Le = xx.
    MoreData(u8),
    /// 6Cxx: send the same command again with Le = xx.
    WrongLe(u8),
    Failed(SwError),
}

/// A status word the card answered instead of 9000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SwError {
    #[error("wrong PIN, {retries_left} tries left (63C{retries_left:X})")]
    PinWrong { retries_left: u8 },
    #[error("wrong length (6700)")]
    WrongLength,
    #[error("security status not satisfied (6982)")]
    SecurityStatusNotSatisfied,
    #[error("PIN blocked (6983)")]
    PinBlocked,
    #[error("conditions of use not satisfied (6985)")]
    ConditionsNotSatisfied,
    #[error("file not found (6A82)")]
    FileNotFound,
    #[error("record not found (6A83)")]
    RecordNotFound,
    #[error("wrong P1/P2 (6A86)")]
    WrongP1P2,
    #[error("key not found (6A88)")]
    KeyNotFound,
    #[error("class not supported (6E00)")]
    ClassNotSupported,
    #[error("application permanently locked (9303)")]
    ApplicationLocked,
    #[error("status word {0}")]
    Other(StatusWord),
}

impl SwError {
    pub fn from_status_word(sw: StatusWord) -> SwError {
        match sw.0 {
            0x63C0..=0x63CF => SwError::PinWrong {
                retries_left: sw.sw2() & 0x0F,
            },
            0x6700 => SwError::WrongLength,
            0x6982 => SwError::SecurityStatusNotSatisfied,
            0x6983 => SwError::PinBlocked,
            0x6985 => SwError::ConditionsNotSatisfied,
            0x6A82 => SwError::FileNotFound,
            0x6A83 => SwError::RecordNotFound,
            0x6A86 => SwError::WrongP1P2,
            0x6A88 => SwError::KeyNotFound,
            0x6E00 => SwError::ClassNotSupported,
            0x9303 => SwError::ApplicationLocked,
            _ => SwError::Other(sw),
        }
    }

    pub fn status_word(self) -> StatusWord {
        StatusWord(match self {
            SwError::PinWrong { retries_left } => 0x63C0 | u16::from(retries_left & 0x0F),
            SwError::WrongLength => 0x6700,
            SwError::SecurityStatusNotSatisfied => 0x6982,
            SwError::PinBlocked => 0x6983,
            SwError::ConditionsNotSatisfied => 0x6985,
            SwError::FileNotFound => 0x6A82,
            SwError::RecordNotFound => 0x6A83,
            SwError::WrongP1P2 => 0x6A86,
            SwError::KeyNotFound => 0x6A88,
            SwError::ClassNotSupported => 0x6E00,
            SwError::ApplicationLocked => 0x9303,
            SwError::Other(sw) => sw.0,
        })
    }

    /// The ministry reader API's error code: the status word negated, in decimal (6982 → −27010).
    pub fn ministry_code(self) -> i32 {
        -i32::from(self.status_word().0)
    }
}

/// A response APDU: data and the trailing status word.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseApdu {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl ResponseApdu {
    pub fn parse(raw: &[u8]) -> Result<ResponseApdu, ProtocolError> {
        match raw {
            [data @ .., sw1, sw2] => Ok(ResponseApdu {
                data: data.to_vec(),
                sw: StatusWord(u16::from_be_bytes([*sw1, *sw2])),
            }),
            _ => Err(ProtocolError::Malformed {
                step: Step::Response,
                reason: "response shorter than a status word",
            }),
        }
    }
}

impl fmt::Debug for ResponseApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Data may be a name or an ID number: show only its size.
        write!(
            f,
            "ResponseApdu({} data bytes, {})",
            self.data.len(),
            self.sw
        )
    }
}

/// Why bytes could not cross to the card and back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the card was removed")]
    CardRemoved,
    #[error("the reader is gone")]
    ReaderGone,
    #[error("the smart card service (pcscd) is not available")]
    ServiceUnavailable,
    #[error("the card did not answer in time")]
    Timeout,
    #[error("transport failure: {0}")]
    Other(String),
}

/// Sends a command APDU and returns the raw response (data + SW1 SW2).
pub trait Transmit {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: Transmit + ?Sized> Transmit for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
}

impl<T: Transmit + ?Sized> Transmit for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
}

/// Which command a failure belongs to, for error messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SelectSsse,
    SelectFile(u16),
    ReadRecord { file: u16, tag: u8 },
    GetChallenge,
    ExternalAuthenticate,
    VerifyPin,
    ChangePin,
    Response,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::SelectSsse => f.write_str("SELECT SSSE"),
            Step::SelectFile(file) => write!(f, "SELECT {file:04X}"),
            Step::ReadRecord { file, tag } => write!(f, "READ RECORD {file:04X}/{tag:02X}"),
            Step::GetChallenge => f.write_str("GET CHALLENGE"),
            Step::ExternalAuthenticate => f.write_str("EXTERNAL AUTHENTICATE"),
            Step::VerifyPin => f.write_str("VERIFY"),
            Step::ChangePin => f.write_str("CHANGE PIN"),
            Step::Response => f.write_str("response"),
        }
    }
}

/// Everything that can go wrong talking to a social security card.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{step}: {error}")]
    Card { step: Step, error: SwError },
    #[error("{step}: malformed answer: {reason}")]
    Malformed { step: Step, reason: &'static str },
    #[error("not a social security card (no SSSE, no EF05)")]
    NotSocialSecurityCard,
    #[error("unknown card specification version {0:?}")]
    UnknownSpecVersion(String),
    /// A 3rd-generation card without a SAM: the issuer data was read, the holder data needs the module.
    #[error("this card needs the authentication module (PSAM or HSM) to read the holder data")]
    NeedsAuthenticationModule { issuer: Box<IssuerData> },
    #[error("authentication module: {0}")]
    Sam(#[from] SamError),
    #[error("the card rejected the external authentication: {0}")]
    AuthenticationRejected(SwError),
    #[error("the card's ID number is invalid: {0}")]
    InvalidIdNumber(#[from] IdNumberError),
    #[error("wrong PIN, {retries_left} tries left")]
    PinWrong { retries_left: u8 },
    #[error("the PIN is blocked; it can be unlocked only at a staffed counter")]
    PinBlocked,
}

impl ProtocolError {
    /// The card status word behind this error, if there is one.
    pub fn status(&self) -> Option<SwError> {
        match self {
            ProtocolError::Card { error, .. } | ProtocolError::AuthenticationRejected(error) => {
                Some(*error)
            }
            ProtocolError::PinWrong { retries_left } => Some(SwError::PinWrong {
                retries_left: *retries_left,
            }),
            ProtocolError::PinBlocked => Some(SwError::PinBlocked),
            _ => None,
        }
    }
}

/// Sends one command and follows 61xx (GET RESPONSE) and 6Cxx (resend with the right Le).
/// Returns the final answer whatever its status word; data of chained answers is joined.
pub fn exchange(
    transport: &mut dyn Transmit,
    command: &CommandApdu,
    step: Step,
) -> Result<ResponseApdu, ProtocolError> {
    let mut next = command.clone();
    let mut data = Vec::new();
    let mut resent_with_le = false;
    for _ in 0..MAX_EXCHANGE_ROUNDS {
        let raw = transport.transmit(next.as_bytes())?;
        let response = ResponseApdu::parse(&raw).map_err(|_| ProtocolError::Malformed {
            step,
            reason: "response shorter than a status word",
        })?;
        tracing::trace!(%step, sw = %response.sw, len = response.data.len(), "apdu");
        match response.sw.outcome() {
            SwOutcome::MoreData(available) => {
                data.extend_from_slice(&response.data);
                next = get_response(available);
            }
            SwOutcome::WrongLe(exact) if !resent_with_le => {
                resent_with_le = true;
                data.clear();
                next = command.with_le(exact);
            }
            _ => {
                data.extend_from_slice(&response.data);
                return Ok(ResponseApdu {
                    data,
                    sw: response.sw,
                });
            }
        }
    }
    Err(ProtocolError::Malformed {
        step,
        reason: "endless 61xx/6Cxx chain",
    })
}

fn expect_ok(response: ResponseApdu, step: Step) -> Result<Vec<u8>, ProtocolError> {
    match response.sw.outcome() {
        SwOutcome::Ok => Ok(response.data),
        SwOutcome::Failed(error) => Err(ProtocolError::Card { step, error }),
        SwOutcome::MoreData(_) | SwOutcome::WrongLe(_) => Err(ProtocolError::Malformed {
            step,
            reason: "unresolved 61xx/6Cxx",
        }),
    }
}

/// Splits a tag-mode record answer `tag length value` and checks the tag.
pub fn parse_tagged_record(
    expected_tag: u8,
    data: &[u8],
    step: Step,
) -> Result<&[u8], ProtocolError> {
    let malformed = |reason| ProtocolError::Malformed { step, reason };
    match data {
        [found_tag, length, rest @ ..] => {
            if *found_tag != expected_tag {
                return Err(malformed("record answered with another tag"));
            }
            rest.get(..usize::from(*length))
                .ok_or_else(|| malformed("record shorter than its length byte"))
        }
        _ => Err(malformed("record without tag and length")),
    }
}

/// `cn`: BCD digits, right-padded with `F` nibbles.
pub fn decode_cn(bytes: &[u8]) -> Option<String> {
    let mut digits = String::with_capacity(bytes.len() * 2);
    let mut padding = false;
    for nibble in bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        match nibble {
            0..=9 if !padding => digits.push(char::from(b'0' + nibble)),
            0x0F => padding = true,
            _ => return None,
        }
    }
    Some(digits)
}

/// `an`: ASCII, right-padded with `00` (spaces tolerated too).
pub fn decode_an(bytes: &[u8]) -> Option<String> {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, 0x00 | b' '))
        .map_or(0, |last| last + 1);
    let text = &bytes[..end];
    text.iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ')
        .then(|| String::from_utf8_lossy(text).into_owned())
}

/// BCD `YYYYMMDD`.
pub fn decode_bcd_date(bytes: &[u8]) -> Option<CardDate> {
    CardDate::from_digits(&decode_cn(bytes)?)
}

/// A GBK text field, right-padded with `00` (or `FF` / spaces on some issuers).
pub fn decode_gbk(bytes: &[u8]) -> Option<String> {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, 0x00 | 0xFF | b' '))
        .map_or(0, |last| last + 1);
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(&bytes[..end]);
    (!had_errors).then(|| text.into_owned())
}

/// Encodes a name to GBK (the virtual card uses this); `None` if a character has no GBK code.
pub fn encode_gbk(text: &str) -> Option<Vec<u8>> {
    let (bytes, _, had_errors) = encoding_rs::GBK.encode(text);
    (!had_errors).then(|| bytes.into_owned())
}

/// The algorithm flag from the SSSE FCI (`9F0C 03 86 01 xx`); 01 when absent.
pub fn algorithm_flag(fci: &[u8]) -> u8 {
    fci.windows(6)
        .find(|window| {
            window[..2] == [0x9F, 0x0C] && window[2] == 3 && window[3..5] == [0x86, 0x01]
        })
        .map_or(1, |window| window[5])
}

/// EF05: what the issuer wrote on the card. `Debug` masks the card number and the identification's serial.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerData {
    /// Tag 01 as stored (16 bytes): region code, RID D156000005, serial, F padding.
    pub card_identification: Vec<u8>,
    pub spec_version: String,
    pub generation: CardGeneration,
    pub issue_date: Option<CardDate>,
    pub expiry_date: Option<CardDate>,
    /// 社会保障卡卡号. Not masked in Debug on its own; [`Holder`]'s Debug masks it.
    pub card_number: String,
}

impl fmt::Debug for IssuerData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerData")
            .field("region_code", &self.region_code())
            .field("spec_version", &self.spec_version)
            .field("generation", &self.generation)
            .field("issue_date", &self.issue_date)
            .field("expiry_date", &self.expiry_date)
            .field(
                "card_number",
                &renshe_core::identity::mask_card_number(&self.card_number),
            )
            .finish_non_exhaustive()
    }
}

impl IssuerData {
    /// The card identification as hex, trailing `F` padding removed.
    pub fn card_identification_hex(&self) -> String {
        hex(&self.card_identification)
            .trim_end_matches('F')
            .to_owned()
    }

    /// The issuing region: the first 6 digits of the card identification.
    pub fn region_code(&self) -> String {
        self.card_identification_hex().chars().take(6).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    Nothing,
    /// SSSE selected, or the card has no SSSE DF and its EFs are reachable directly.
    Application,
    File(u16),
}

/// One conversation with one inserted card. Tracks the selection so nothing is selected twice.
pub struct CardSession<T: Transmit> {
    transport: T,
    selected: Selected,
    authenticated: bool,
    algorithm_flag: u8,
    issuer: Option<IssuerData>,
}

impl<T: Transmit> CardSession<T> {
    pub fn new(transport: T) -> CardSession<T> {
        CardSession {
            transport,
            selected: Selected::Nothing,
            authenticated: false,
            algorithm_flag: 1,
            issuer: None,
        }
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The SSSE FCI's algorithm flag (01 when the card gave none).
    pub fn algorithm_flag(&self) -> u8 {
        self.algorithm_flag
    }

    fn send(&mut self, command: &CommandApdu, step: Step) -> Result<ResponseApdu, ProtocolError> {
        exchange(&mut self.transport, command, step)
    }

    fn select_application(&mut self) -> Result<(), ProtocolError> {
        if self.selected != Selected::Nothing {
            return Ok(());
        }
        let response = self.send(&select_ssse(), Step::SelectSsse)?;
        match response.sw.outcome() {
            SwOutcome::Ok => self.algorithm_flag = algorithm_flag(&response.data),
            // Some cards keep SSSE's EFs reachable without the DF: try EF05 directly.
            SwOutcome::Failed(SwError::FileNotFound) => {}
            _ => expect_ok(response, Step::SelectSsse).map(drop)?,
        }
        self.selected = Selected::Application;
        Ok(())
    }

    fn select_ef(&mut self, file: u16) -> Result<(), ProtocolError> {
        if self.selected == Selected::File(file) {
            return Ok(());
        }
        self.select_application()?;
        let step = Step::SelectFile(file);
        let response = self.send(&select_file(file), step)?;
        match (file, response.sw.outcome()) {
            (EF05, SwOutcome::Failed(SwError::FileNotFound)) => {
                return Err(ProtocolError::NotSocialSecurityCard)
            }
            _ => expect_ok(response, step)?,
        };
        self.selected = Selected::File(file);
        Ok(())
    }

    /// Reads one record of the selected EF by tag; `None` if the card says the record is absent (6A83).
    fn read_tag(
        &mut self,
        file: u16,
        (record_tag, length): (u8, u8),
    ) -> Result<Option<Vec<u8>>, ProtocolError> {
        self.select_ef(file)?;
        let step = Step::ReadRecord {
            file,
            tag: record_tag,
        };
        let response = self.send(&read_record_by_tag(record_tag, length), step)?;
        if response.sw.outcome() == SwOutcome::Failed(SwError::RecordNotFound) {
            return Ok(None);
        }
        let data = expect_ok(response, step)?;
        parse_tagged_record(record_tag, &data, step).map(|value| Some(value.to_vec()))
    }

    fn required_tag(&mut self, file: u16, field: (u8, u8)) -> Result<Vec<u8>, ProtocolError> {
        self.read_tag(file, field)?.ok_or(ProtocolError::Card {
            step: Step::ReadRecord { file, tag: field.0 },
            error: SwError::RecordNotFound,
        })
    }

    /// EF05, readable on every generation without authentication. Read once per session.
    pub fn read_issuer(&mut self) -> Result<IssuerData, ProtocolError> {
        if let Some(issuer) = &self.issuer {
            return Ok(issuer.clone());
        }
        let malformed = |field: (u8, u8), reason| ProtocolError::Malformed {
            step: Step::ReadRecord {
                file: EF05,
                tag: field.0,
            },
            reason,
        };
        let version_bytes = self.required_tag(EF05, tag::SPEC_VERSION)?;
        let spec_version = decode_an(&version_bytes)
            .ok_or(malformed(tag::SPEC_VERSION, "spec version not ASCII"))?;
        let generation = CardGeneration::from_spec_version(&spec_version)
            .ok_or_else(|| ProtocolError::UnknownSpecVersion(spec_version.clone()))?;
        let card_identification = self.required_tag(EF05, tag::CARD_IDENTIFICATION)?;
        let issue_date = self
            .required_tag(EF05, tag::ISSUE_DATE)
            .map(|bytes| decode_bcd_date(&bytes))?;
        let expiry_date = self
            .required_tag(EF05, tag::EXPIRY_DATE)
            .map(|bytes| decode_bcd_date(&bytes))?;
        let card_number_bytes = self.required_tag(EF05, tag::CARD_NUMBER)?;
        let card_number = decode_an(&card_number_bytes)
            .ok_or(malformed(tag::CARD_NUMBER, "card number not ASCII"))?;
        let issuer = IssuerData {
            card_identification,
            spec_version,
            generation,
            issue_date,
            expiry_date,
            card_number,
        };
        self.issuer = Some(issuer.clone());
        Ok(issuer)
    }

    /// RKSSSE external authentication: GET CHALLENGE, cryptogram from the SAM, EXTERNAL AUTHENTICATE.
    pub fn authenticate(&mut self, sam: &mut dyn Sam) -> Result<(), ProtocolError> {
        if self.authenticated {
            return Ok(());
        }
        let issuer = self.read_issuer()?;
        let challenge_data = expect_ok(
            self.send(&get_challenge(), Step::GetChallenge)?,
            Step::GetChallenge,
        )?;
        let challenge: [u8; 8] = challenge_data
            .get(..8)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(ProtocolError::Malformed {
                step: Step::GetChallenge,
                reason: "challenge shorter than 8 bytes",
            })?;
        let cryptogram = sam.external_auth_cryptogram(&issuer.card_identification, &challenge)?;
        let response = self.send(
            &external_authenticate(RKSSSE_KEY_ID, &cryptogram),
            Step::ExternalAuthenticate,
        )?;
        match response.sw.outcome() {
            SwOutcome::Ok => {
                self.authenticated = true;
                Ok(())
            }
            SwOutcome::Failed(error) => Err(ProtocolError::AuthenticationRejected(error)),
            _ => Err(ProtocolError::Malformed {
                step: Step::ExternalAuthenticate,
                reason: "unresolved 61xx/6Cxx",
            }),
        }
    }

    /// Reads EF05 and EF06 into a [`Holder`], authenticating 3rd-generation cards with `sam`.
    /// Without a SAM, a 3rd-generation card yields [`ProtocolError::NeedsAuthenticationModule`]
    /// carrying the issuer data.
    pub fn read_holder(&mut self, sam: Option<&mut dyn Sam>) -> Result<Holder, ProtocolError> {
        let issuer = self.read_issuer()?;
        match (issuer.generation, sam) {
            (CardGeneration::Third, Some(sam)) => self.authenticate(sam)?,
            (CardGeneration::Third, None) => {
                return Err(ProtocolError::NeedsAuthenticationModule {
                    issuer: Box::new(issuer),
                });
            }
            (CardGeneration::Second, _) => {}
        }
        match self.read_holder_data(&issuer) {
            // A 2nd-generation card that still wants authentication: same answer as a 3rd-generation one.
            Err(ProtocolError::Card {
                error: SwError::SecurityStatusNotSatisfied,
                ..
            }) if !self.authenticated => Err(ProtocolError::NeedsAuthenticationModule {
                issuer: Box::new(issuer),
            }),
            other => other,
        }
    }

    fn read_holder_data(&mut self, issuer: &IssuerData) -> Result<Holder, ProtocolError> {
        let malformed = |field: (u8, u8), reason| ProtocolError::Malformed {
            step: Step::ReadRecord {
                file: EF06,
                tag: field.0,
            },
            reason,
        };
        let id_bytes = self.required_tag(EF06, tag::ID_NUMBER)?;
        let id_text =
            decode_an(&id_bytes).ok_or(malformed(tag::ID_NUMBER, "ID number not ASCII"))?;
        let id_number = IdNumber::parse(&id_text)?;
        let name_bytes = self.required_tag(EF06, tag::NAME)?;
        let mut name = decode_gbk(&name_bytes).ok_or(malformed(tag::NAME, "name is not GBK"))?;
        // Version 1.00 cards have no name extension; asking would only cost an APDU.
        if issuer.spec_version.trim() != "1.00" {
            if let Some(extension) = self.read_tag(EF06, tag::NAME_EXTENSION)? {
                name.push_str(
                    &decode_gbk(&extension).ok_or(malformed(tag::NAME_EXTENSION, "not GBK"))?,
                );
            }
        }
        let gender_bytes = self.required_tag(EF06, tag::GENDER)?;
        let gender = Gender::from_code(&decode_an(&gender_bytes).unwrap_or_default());
        let nationality_bytes = self.required_tag(EF06, tag::NATIONALITY)?;
        let nationality = decode_cn(&nationality_bytes)
            .and_then(|digits| digits.parse().ok())
            .ok_or(malformed(tag::NATIONALITY, "nationality not BCD"))?;
        let birthplace_bytes = self.required_tag(EF06, tag::BIRTHPLACE)?;
        let birthplace =
            decode_cn(&birthplace_bytes).ok_or(malformed(tag::BIRTHPLACE, "birthplace not BCD"))?;
        let birth_date = self
            .required_tag(EF06, tag::BIRTH_DATE)
            .map(|bytes| decode_bcd_date(&bytes))?;
        Ok(Holder {
            name,
            id_number,
            card_number: issuer.card_number.clone(),
            gender,
            birth_date,
            nationality,
            birthplace,
            issue_date: issuer.issue_date,
            expiry_date: issuer.expiry_date,
            generation: issuer.generation,
            region_code: issuer.region_code(),
        })
    }

    /// VERIFY the holder's PIN. `63Cx` becomes [`ProtocolError::PinWrong`], `6983` [`ProtocolError::PinBlocked`].
    pub fn verify_pin(&mut self, pin: &Pin) -> Result<(), ProtocolError> {
        self.select_application()?;
        let response = self.send(&verify_pin(pin), Step::VerifyPin)?;
        pin_outcome(response, Step::VerifyPin)
    }

    /// VERIFY with the PIN typed on the reader's own keypad: `entry` carries the command to
    /// the card (PC/SC Part 10) and returns its response; the host never sees the PIN.
    pub fn verify_pin_on_reader(
        &mut self,
        entry: impl FnOnce(&mut T) -> Result<Vec<u8>, TransportError>,
    ) -> Result<(), ProtocolError> {
        self.select_application()?;
        let raw = entry(self.transport_mut()).map_err(ProtocolError::Transport)?;
        pin_outcome(ResponseApdu::parse(&raw)?, Step::VerifyPin)
    }

    /// CHANGE PIN from `old` to `new`.
    pub fn change_pin(&mut self, old: &Pin, new: &Pin) -> Result<(), ProtocolError> {
        self.select_application()?;
        let response = self.send(&change_pin(old, new), Step::ChangePin)?;
        pin_outcome(response, Step::ChangePin)
    }
}

fn pin_outcome(response: ResponseApdu, step: Step) -> Result<(), ProtocolError> {
    match response.sw.outcome() {
        SwOutcome::Ok => Ok(()),
        SwOutcome::Failed(SwError::PinWrong { retries_left: 0 } | SwError::PinBlocked) => {
            Err(ProtocolError::PinBlocked)
        }
        SwOutcome::Failed(SwError::PinWrong { retries_left }) => {
            Err(ProtocolError::PinWrong { retries_left })
        }
        _ => expect_ok(response, step).map(drop),
    }
}

/// A [`Transmit`] wrapper that writes a transcript (`> command` / `< response`), PINs redacted.
pub struct Recorder<T> {
    inner: T,
    lines: Vec<String>,
    /// Commands as sent, except those carrying a PIN.
    commands: Vec<Vec<u8>>,
    exchanges: usize,
}

impl<T: Transmit> Recorder<T> {
    pub fn new(inner: T) -> Recorder<T> {
        Recorder {
            inner,
            lines: Vec::new(),
            commands: Vec::new(),
            exchanges: 0,
        }
    }

    pub fn transcript(&self) -> String {
        self.lines.join("\n")
    }

    /// The commands sent, PIN commands left out (the benchmark replays them raw).
    pub fn commands(&self) -> &[Vec<u8>] {
        &self.commands
    }

    /// How many APDUs went to the card.
    pub fn exchanges(&self) -> usize {
        self.exchanges
    }

    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transmit> Transmit for Recorder<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.exchanges += 1;
        self.lines
            .push(format!("> {}", redacted_command_hex(command)));
        if !carries_pin(command) {
            self.commands.push(command.to_vec());
        }
        let result = self.inner.transmit(command);
        match &result {
            Ok(response) => self.lines.push(format!("< {}", hex(response))),
            Err(error) => self.lines.push(format!("! {error}")),
        }
        result
    }
}
