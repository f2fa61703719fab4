//! Decoding printer status bytes. Pure; every malformed input is an error, never a panic.
//!
//! Two sources: the real-time replies to `DLE EOT 1..4` (one byte each, shaped `0xx1xx10`) and
//! automatic status back frames (`GS a n`, four bytes sent on every change).

/// Which real-time status a `DLE EOT n` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusQuery {
    Printer = 1,
    OfflineCause = 2,
    ErrorCause = 3,
    Paper = 4,
}

impl StatusQuery {
    pub const ALL: [StatusQuery; 4] = [
        StatusQuery::Printer,
        StatusQuery::OfflineCause,
        StatusQuery::ErrorCause,
        StatusQuery::Paper,
    ];

    pub fn from_n(n: u8) -> Option<StatusQuery> {
        StatusQuery::ALL.into_iter().find(|query| *query as u8 == n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaperLevel {
    #[default]
    Full,
    Low,
    Out,
}

/// What the printer said about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterState {
    pub online: bool,
    pub cover_open: bool,
    pub paper: PaperLevel,
    pub cutter_error: bool,
    pub unrecoverable_error: bool,
    pub auto_recoverable_error: bool,
}

impl PrinterState {
    pub const READY: PrinterState = PrinterState {
        online: true,
        cover_open: false,
        paper: PaperLevel::Full,
        cutter_error: false,
        unrecoverable_error: false,
        auto_recoverable_error: false,
    };

    pub fn has_error(&self) -> bool {
        self.cutter_error || self.unrecoverable_error || self.auto_recoverable_error
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("status byte {byte:#04x} for DLE EOT {query} lacks the fixed bits 0xx1xx10")]
    BadRealtimeByte { query: u8, byte: u8 },
    #[error("expected {expected} status bytes, got {got}")]
    WrongLength { expected: usize, got: usize },
    #[error("automatic status back byte {index} ({byte:#04x}) lacks its fixed bits")]
    BadAsbByte { index: usize, byte: u8 },
}

/// Fixed bits of a real-time status byte: bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0.
const REALTIME_MASK: u8 = 0b1001_0011;
const REALTIME_FIXED: u8 = 0b0001_0010;

fn bit(byte: u8, n: u8) -> bool {
    byte & (1 << n) != 0
}

/// Checks one real-time reply and returns it.
pub fn check_realtime(query: StatusQuery, byte: u8) -> Result<u8, StatusError> {
    if byte & REALTIME_MASK == REALTIME_FIXED {
        Ok(byte)
    } else {
        Err(StatusError::BadRealtimeByte {
            query: query as u8,
            byte,
        })
    }
}

/// Applies one real-time reply to `state`. Near-end bits count only when the model has the
/// sensor (they read 0 on models without one, and garbage on some).
pub fn apply_realtime(
    state: &mut PrinterState,
    query: StatusQuery,
    byte: u8,
    near_end_sensor: bool,
) -> Result<(), StatusError> {
    let byte = check_realtime(query, byte)?;
    match query {
        StatusQuery::Printer => state.online = !bit(byte, 3),
        StatusQuery::OfflineCause => {
            state.cover_open = bit(byte, 2);
            if bit(byte, 5) {
                state.paper = PaperLevel::Out;
            }
            if bit(byte, 6) && !state.has_error() {
                // "An error occurred" without a cause yet: query 3 says which one.
                state.auto_recoverable_error = true;
            }
        }
        StatusQuery::ErrorCause => {
            state.cutter_error = bit(byte, 3);
            state.unrecoverable_error = bit(byte, 5);
            state.auto_recoverable_error = bit(byte, 6);
        }
        StatusQuery::Paper => {
            state.paper = if byte & 0x60 != 0 {
                PaperLevel::Out
            } else if near_end_sensor && byte & 0x0C != 0 {
                PaperLevel::Low
            } else {
                PaperLevel::Full
            };
        }
    }
    Ok(())
}

/// Decodes the four replies to `DLE EOT 1`, `2`, `3`, `4` (in that order).
pub fn decode_realtime(bytes: &[u8], near_end_sensor: bool) -> Result<PrinterState, StatusError> {
    if bytes.len() != 4 {
        return Err(StatusError::WrongLength {
            expected: 4,
            got: bytes.len(),
        });
    }
    let mut state = PrinterState::READY;
    for (query, byte) in StatusQuery::ALL.into_iter().zip(bytes) {
        apply_realtime(&mut state, query, *byte, near_end_sensor)?;
    }
    Ok(state)
}

/// The real-time reply a printer in `state` gives to `query` (used by the virtual printer).
pub fn encode_realtime(state: &PrinterState, query: StatusQuery, near_end_sensor: bool) -> u8 {
    let set = |on: bool, n: u8| if on { 1u8 << n } else { 0 };
    let paper_out = state.paper == PaperLevel::Out;
    REALTIME_FIXED
        | match query {
            StatusQuery::Printer => set(!state.online, 3),
            StatusQuery::OfflineCause => {
                set(state.cover_open, 2) | set(paper_out, 5) | set(state.has_error(), 6)
            }
            StatusQuery::ErrorCause => {
                set(state.cutter_error, 3)
                    | set(state.unrecoverable_error, 5)
                    | set(state.auto_recoverable_error, 6)
            }
            StatusQuery::Paper => {
                let low = near_end_sensor && state.paper != PaperLevel::Full;
                set(low, 2) | set(low, 3) | set(paper_out, 5) | set(paper_out, 6)
            }
        }
}

/// Fixed bits of each automatic-status-back byte: (mask, value). Byte 1 is `0xx1xx00`, bytes
/// 2–4 are `0xx0xxxx`.
const ASB_FIXED: [(u8, u8); 4] = [
    (0b1001_0011, 0b0001_0000),
    (0b1001_0000, 0),
    (0b1001_0000, 0),
    (0b1001_0000, 0),
];

/// True when `byte` can start an automatic status back frame.
pub fn is_asb_start(byte: u8) -> bool {
    byte & ASB_FIXED[0].0 == ASB_FIXED[0].1
}

/// Decodes one automatic status back frame (Epson layout): byte 1 bit 3 offline, bit 5 cover
/// open; byte 2 bit 3 cutter error, bit 5 unrecoverable, bit 6 auto-recoverable; byte 3 bits 0–1
/// near end, bits 2–3 paper end.
pub fn decode_asb(bytes: &[u8], near_end_sensor: bool) -> Result<PrinterState, StatusError> {
    if bytes.len() != 4 {
        return Err(StatusError::WrongLength {
            expected: 4,
            got: bytes.len(),
        });
    }
    for (index, (byte, (mask, value))) in bytes.iter().zip(ASB_FIXED).enumerate() {
        if byte & mask != value {
            return Err(StatusError::BadAsbByte { index, byte: *byte });
        }
    }
    let paper = if bytes[2] & 0x0C != 0 {
        PaperLevel::Out
    } else if near_end_sensor && bytes[2] & 0x03 != 0 {
        PaperLevel::Low
    } else {
        PaperLevel::Full
    };
    Ok(PrinterState {
        online: !bit(bytes[0], 3),
        cover_open: bit(bytes[0], 5),
        paper,
        cutter_error: bit(bytes[1], 3),
        unrecoverable_error: bit(bytes[1], 5),
        auto_recoverable_error: bit(bytes[1], 6),
    })
}

/// The automatic status back frame for `state` (used by the virtual printer).
pub fn encode_asb(state: &PrinterState, near_end_sensor: bool) -> [u8; 4] {
    let set = |on: bool, n: u8| if on { 1u8 << n } else { 0 };
    let low = near_end_sensor && state.paper != PaperLevel::Full;
    let out = state.paper == PaperLevel::Out;
    [
        0b0001_0000 | set(!state.online, 3) | set(state.cover_open, 5),
        set(state.cutter_error, 3)
            | set(state.unrecoverable_error, 5)
            | set(state.auto_recoverable_error, 6),
        set(low, 0) | set(low, 1) | set(out, 2) | set(out, 3),
        0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_printer_answers_0x12() {
        for query in StatusQuery::ALL {
            assert_eq!(encode_realtime(&PrinterState::READY, query, true), 0x12);
        }
        assert_eq!(decode_realtime(&[0x12; 4], true), Ok(PrinterState::READY));
    }

    #[test]
    fn documented_bits() {
        let state = decode_realtime(&[0x1A, 0x16, 0x12, 0x12], true).expect("valid");
        assert!(!state.online && state.cover_open);
        let state = decode_realtime(&[0x12, 0x12, 0x12, 0x1E], true).expect("valid");
        assert_eq!(state.paper, PaperLevel::Low);
        let state = decode_realtime(&[0x12, 0x12, 0x12, 0x1E], false).expect("valid");
        assert_eq!(state.paper, PaperLevel::Full, "no sensor, no low paper");
        let state = decode_realtime(&[0x12, 0x32, 0x12, 0x72], false).expect("valid");
        assert_eq!(state.paper, PaperLevel::Out);
        let state = decode_realtime(&[0x12, 0x52, 0x3A, 0x12], true).expect("valid");
        assert!(state.cutter_error && state.unrecoverable_error && !state.auto_recoverable_error);
    }

    #[test]
    fn malformed_bytes_are_errors() {
        assert_eq!(
            decode_realtime(&[0x12, 0x00, 0x12, 0x12], true),
            Err(StatusError::BadRealtimeByte { query: 2, byte: 0 })
        );
        assert_eq!(
            decode_realtime(&[0x12], true),
            Err(StatusError::WrongLength {
                expected: 4,
                got: 1
            })
        );
        assert!(decode_asb(&[0x12, 0, 0, 0], true).is_err());
    }

    #[test]
    fn asb_round_trip() {
        let state = PrinterState {
            online: false,
            cover_open: true,
            paper: PaperLevel::Low,
            ..PrinterState::READY
        };
        assert_eq!(decode_asb(&encode_asb(&state, true), true), Ok(state));
    }
}
