//! A virtual social security card: answers APDUs like a 2nd- or 3rd-generation card. Pure logic.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::card::protocol::{encode_gbk, tag, EF05, EF06, SSSE_NAME};
use crate::card::sam::{cryptogram, diversify};
use crate::card::sim::ApduResponder;
use crate::core::identity::{CardDate, CardGeneration, Holder, Pin};

/// ATR in the shape seen on real cards (`3B 6D 00 00` + 13 historical bytes starting `00 81`), T=0.
pub const CARD_ATR: [u8; 17] = [
    0x3B, 0x6D, 0x00, 0x00, 0x00, 0x81, 0x53, 0x53, 0x43, 0x41, 0x52, 0x44, 0x00, 0x00, 0x00, 0x00,
    0x01,
];
/// Real cards lock after 6 wrong PINs.
pub const PIN_TRIES: u8 = 6;

const SW_OK: [u8; 2] = [0x90, 0x00];
const SW_WRONG_LENGTH: [u8; 2] = [0x67, 0x00];
const SW_SECURITY: [u8; 2] = [0x69, 0x82];
const SW_BLOCKED: [u8; 2] = [0x69, 0x83];
const SW_CONDITIONS: [u8; 2] = [0x69, 0x85];
const SW_FILE_NOT_FOUND: [u8; 2] = [0x6A, 0x82];
const SW_RECORD_NOT_FOUND: [u8; 2] = [0x6A, 0x83];
const SW_WRONG_P1P2: [u8; 2] = [0x6A, 0x86];
const SW_KEY_NOT_FOUND: [u8; 2] = [0x6A, 0x88];
const SW_INS_UNKNOWN: [u8; 2] = [0x6D, 0x00];
const SW_CLASS: [u8; 2] = [0x6E, 0x00];

/// What a virtual card holds.
#[derive(Clone)]
pub struct CardProfile {
    pub holder: Holder,
    pub pin: Pin,
    /// The RKSSSE master key; the card stores only its own diversified key.
    pub rksse_master_key: [u8; 16],
    /// Answer SELECT SSSE with 6A82 but let EF05/EF06 be selected directly (seen on some cards).
    pub ssse_select_fails: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    Master,
    Ssse,
    File(u16),
}

/// The card's state machine.
pub struct VirtualCard {
    ef05: BTreeMap<u8, Vec<u8>>,
    ef06: BTreeMap<u8, Vec<u8>>,
    generation: CardGeneration,
    pin: Pin,
    pin_tries_left: u8,
    card_key: Zeroizing<[u8; 16]>,
    ssse_select_fails: bool,
    selection: Selection,
    challenge: Option<[u8; 8]>,
    authenticated: bool,
    /// Deterministic challenges keep APDU transcripts stable across runs.
    challenge_counter: u64,
}

fn padded(bytes: &[u8], length: u8, pad: u8) -> Vec<u8> {
    let mut field = bytes.to_vec();
    field.resize(usize::from(length), pad);
    field.truncate(usize::from(length));
    field
}

/// Packs decimal digits as BCD, F-padded to `length` bytes.
fn bcd(digits: &str, length: u8) -> Vec<u8> {
    let nibbles: Vec<u8> = digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|d| d - b'0')
        .collect();
    let mut packed: Vec<u8> = nibbles
        .chunks(2)
        .map(|pair| (pair[0] << 4) | pair.get(1).copied().unwrap_or(0x0F))
        .collect();
    packed.resize(usize::from(length), 0xFF);
    packed
}

fn bcd_date(date: Option<CardDate>) -> Vec<u8> {
    let digits = date.map_or_else(
        || "00000000".to_owned(),
        |d| format!("{:04}{:02}{:02}", d.year, d.month, d.day),
    );
    bcd(&digits, 4)
}

/// The 16-byte card identification: region (BCD), RID D156000005, 4 serial bytes from the card number, F padding.
pub fn card_identification(holder: &Holder) -> Vec<u8> {
    let mut identification = bcd(&holder.region_code, 3);
    identification.extend_from_slice(&[0xD1, 0x56, 0x00, 0x00, 0x05]);
    let serial: String = holder
        .card_number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let serial = format!("{serial:0>8}");
    identification.extend(bcd(&serial[serial.len() - 8..], 4));
    identification.resize(16, 0xFF);
    identification
}

impl VirtualCard {
    pub fn new(profile: &CardProfile) -> VirtualCard {
        let holder = &profile.holder;
        let identification = card_identification(holder);
        let spec_version: &[u8] = match holder.generation {
            CardGeneration::Second => b"2.00",
            CardGeneration::Third => b"3.00",
        };
        let ef05 = BTreeMap::from([
            (tag::CARD_IDENTIFICATION.0, identification.clone()),
            (tag::CARD_TYPE.0, b"1".to_vec()),
            (tag::SPEC_VERSION.0, spec_version.to_vec()),
            (
                tag::INIT_ORGANISATION.0,
                bcd(&format!("{}000000", holder.region_code), 12),
            ),
            (tag::ISSUE_DATE.0, bcd_date(holder.issue_date)),
            (tag::EXPIRY_DATE.0, bcd_date(holder.expiry_date)),
            (
                tag::CARD_NUMBER.0,
                padded(holder.card_number.as_bytes(), tag::CARD_NUMBER.1, 0),
            ),
        ]);
        // Names longer than 15 characters continue in the extension record.
        let name = encode_gbk(&holder.name).unwrap_or_default();
        let split = name.len().min(usize::from(tag::NAME.1));
        let mut ef06 = BTreeMap::from([
            (
                tag::ID_NUMBER.0,
                padded(holder.id_number.as_str().as_bytes(), tag::ID_NUMBER.1, 0),
            ),
            (tag::NAME.0, padded(&name[..split], tag::NAME.1, 0)),
            (tag::GENDER.0, holder.gender.code().as_bytes().to_vec()),
            (
                tag::NATIONALITY.0,
                bcd(&format!("{:02}", holder.nationality), 1),
            ),
            (tag::BIRTHPLACE.0, bcd(&holder.birthplace, 3)),
            (tag::BIRTH_DATE.0, bcd_date(holder.birth_date)),
        ]);
        if name.len() > split {
            ef06.insert(
                tag::NAME_EXTENSION.0,
                padded(&name[split..], tag::NAME_EXTENSION.1, 0),
            );
        }
        VirtualCard {
            ef05,
            ef06,
            generation: holder.generation,
            pin: profile.pin.clone(),
            pin_tries_left: PIN_TRIES,
            card_key: diversify(&profile.rksse_master_key, &identification),
            ssse_select_fails: profile.ssse_select_fails,
            selection: Selection::Master,
            challenge: None,
            authenticated: false,
            challenge_counter: 0,
        }
    }

    pub fn pin_tries_left(&self) -> u8 {
        self.pin_tries_left
    }

    fn select(&mut self, p1: u8, data: &[u8]) -> Vec<u8> {
        match (p1, data) {
            (0x04, name) if name == SSSE_NAME => {
                if self.ssse_select_fails {
                    return SW_FILE_NOT_FOUND.to_vec();
                }
                self.selection = Selection::Ssse;
                // FCI with the algorithm flag 9F0C 03 86 01 02 (SM4).
                let mut answer = vec![
                    0x6F, 0x0B, 0x84, 0x00, 0xA5, 0x07, 0x9F, 0x0C, 0x03, 0x86, 0x01, 0x02, 0x00,
                ];
                answer.extend_from_slice(&SW_OK);
                answer
            }
            (0x00 | 0x02, [high, low]) => {
                let file = u16::from_be_bytes([*high, *low]);
                let reachable = self.selection != Selection::Master || self.ssse_select_fails;
                if reachable && (file == EF05 || file == EF06) {
                    self.selection = Selection::File(file);
                    SW_OK.to_vec()
                } else {
                    SW_FILE_NOT_FOUND.to_vec()
                }
            }
            (0x00 | 0x02 | 0x04, _) => SW_FILE_NOT_FOUND.to_vec(),
            _ => SW_WRONG_P1P2.to_vec(),
        }
    }

    fn read_record(&mut self, record_tag: u8, p2: u8, le: Option<u8>) -> Vec<u8> {
        if p2 != 0x00 {
            return SW_WRONG_P1P2.to_vec();
        }
        let records = match self.selection {
            Selection::File(EF05) => &self.ef05,
            Selection::File(EF06) => {
                if self.generation == CardGeneration::Third && !self.authenticated {
                    return SW_SECURITY.to_vec();
                }
                &self.ef06
            }
            _ => return SW_CONDITIONS.to_vec(),
        };
        let Some(value) = records.get(&record_tag) else {
            return SW_RECORD_NOT_FOUND.to_vec();
        };
        let mut answer = vec![record_tag, u8::try_from(value.len()).unwrap_or(u8::MAX)];
        answer.extend_from_slice(value);
        let exact = u8::try_from(answer.len()).unwrap_or(u8::MAX);
        if le != Some(exact) {
            return vec![0x6C, exact];
        }
        answer.extend_from_slice(&SW_OK);
        answer
    }

    fn get_challenge(&mut self) -> Vec<u8> {
        self.challenge_counter = self.challenge_counter.wrapping_add(1);
        let challenge = (self.challenge_counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_be_bytes();
        self.challenge = Some(challenge);
        let mut answer = challenge.to_vec();
        answer.extend_from_slice(&SW_OK);
        answer
    }

    fn external_authenticate(&mut self, p2: u8, data: &[u8]) -> Vec<u8> {
        if p2 != crate::card::protocol::RKSSSE_KEY_ID {
            return SW_KEY_NOT_FOUND.to_vec();
        }
        let Some(challenge) = self.challenge.take() else {
            return SW_CONDITIONS.to_vec();
        };
        if data.len() != 16 {
            return SW_WRONG_LENGTH.to_vec();
        }
        if cryptogram(&self.card_key, &challenge).as_slice() == data {
            self.authenticated = true;
            SW_OK.to_vec()
        } else {
            SW_SECURITY.to_vec()
        }
    }

    fn try_pin(&mut self, candidate: Option<Pin>) -> Result<(), Vec<u8>> {
        if self.pin_tries_left == 0 {
            return Err(SW_BLOCKED.to_vec());
        }
        let Some(candidate) = candidate else {
            return Err(SW_WRONG_LENGTH.to_vec());
        };
        if candidate.matches(&self.pin) {
            self.pin_tries_left = PIN_TRIES;
            return Ok(());
        }
        self.pin_tries_left -= 1;
        if self.pin_tries_left == 0 {
            Err(SW_BLOCKED.to_vec())
        } else {
            Err(vec![0x63, 0xC0 | self.pin_tries_left])
        }
    }

    fn change_pin(&mut self, data: &[u8]) -> Vec<u8> {
        let Some(separator) = data.iter().position(|b| *b == 0xFF) else {
            return SW_WRONG_LENGTH.to_vec();
        };
        if let Err(answer) = self.try_pin(Pin::from_bcd(&data[..separator])) {
            return answer;
        }
        match Pin::from_bcd(&data[separator + 1..]) {
            Some(new) => {
                self.pin = new;
                SW_OK.to_vec()
            }
            None => SW_WRONG_LENGTH.to_vec(),
        }
    }
}

/// Splits a short command APDU into header, data and Le. `None` if Lc disagrees with the length.
pub(crate) fn split_apdu(apdu: &[u8]) -> Option<([u8; 4], &[u8], Option<u8>)> {
    let header: [u8; 4] = apdu.get(..4)?.try_into().ok()?;
    match apdu.len() {
        4 => Some((header, &[], None)),
        5 => Some((header, &[], Some(apdu[4]))),
        _ => {
            let lc = usize::from(apdu[4]);
            let data = apdu.get(5..5 + lc)?;
            match apdu.len() - 5 - lc {
                0 => Some((header, data, None)),
                1 => Some((header, data, Some(apdu[5 + lc]))),
                _ => None,
            }
        }
    }
}

impl ApduResponder for VirtualCard {
    fn atr(&self) -> Vec<u8> {
        CARD_ATR.to_vec()
    }

    fn reset(&mut self) {
        self.selection = Selection::Master;
        self.challenge = None;
        self.authenticated = false;
    }

    fn respond(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Some(([cla, ins, p1, p2], data, le)) = split_apdu(apdu) else {
            return SW_WRONG_LENGTH.to_vec();
        };
        match (cla, ins) {
            (0x00, 0xA4) => self.select(p1, data),
            (0x00, 0xB2) => self.read_record(p1, p2, le),
            (0x00, 0x84) if le == Some(8) => self.get_challenge(),
            (0x00, 0x84) => vec![0x6C, 0x08],
            (0x00, 0x82) => self.external_authenticate(p2, data),
            (0x00, 0x20) => match self.try_pin(Pin::from_bcd(data)) {
                Ok(()) => SW_OK.to_vec(),
                Err(answer) => answer,
            },
            (0x80, 0x5E) if p1 == 0x01 => self.change_pin(data),
            (0x00 | 0x80, _) => SW_INS_UNKNOWN.to_vec(),
            _ => SW_CLASS.to_vec(),
        }
    }
}
