//! SW3, the status byte of every reply (GA/T 467).

/// A reply's SW3. Codes 01 02 03 05 09 are the vendor DLL's own and never come from the
/// module; they, and anything else, are [`Status::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 90: the operation succeeded.
    Ok,
    /// 91: the card has no such item (e.g. no fingerprint).
    ItemAbsent,
    /// 9F: find card: a card is in the field.
    CardFound,
    /// 10: the module received a frame with a bad checksum.
    ChecksumError,
    /// 11: the module received a frame with a bad length.
    LengthError,
    /// 21: the command is not one the module knows.
    BadCommand,
    /// 23: the command is not allowed now (out of sequence).
    NotAllowed,
    /// 24: unknown error.
    UnknownError,
    /// 31: the card refuses the SAM's authentication.
    CardRejectsSam,
    /// 32: the SAM refuses the card's authentication.
    SamRejectsCard,
    /// 33: information verification failed.
    VerifyFailed,
    /// 37: fingerprint information is wrong.
    FingerprintError,
    /// 3F: the information's length is wrong.
    InfoLengthError,
    /// 40: the card's type is not known.
    UnknownCardType,
    /// 41: reading the card failed (often: the card moved).
    ReadFailed,
    /// 47: taking the random number failed.
    RandomNumberFailed,
    /// 60: the SAM's self-test failed.
    SamSelfTestFailed,
    /// 66: the SAM is not authorised.
    SamUnauthorised,
    /// 80: find card: no card in the field.
    NoCard,
    /// 81: select card failed.
    SelectFailed,
    Other(u8),
}

impl Status {
    /// Every code the module can send, in the order of the standard's table.
    pub const ALL: [Status; 20] = [
        Status::Ok,
        Status::ItemAbsent,
        Status::CardFound,
        Status::ChecksumError,
        Status::LengthError,
        Status::BadCommand,
        Status::NotAllowed,
        Status::UnknownError,
        Status::CardRejectsSam,
        Status::SamRejectsCard,
        Status::VerifyFailed,
        Status::FingerprintError,
        Status::InfoLengthError,
        Status::UnknownCardType,
        Status::ReadFailed,
        Status::RandomNumberFailed,
        Status::SamSelfTestFailed,
        Status::SamUnauthorised,
        Status::NoCard,
        Status::SelectFailed,
    ];

    pub fn from_byte(byte: u8) -> Status {
        match byte {
            0x90 => Status::Ok,
            0x91 => Status::ItemAbsent,
            0x9F => Status::CardFound,
            0x10 => Status::ChecksumError,
            0x11 => Status::LengthError,
            0x21 => Status::BadCommand,
            0x23 => Status::NotAllowed,
            0x24 => Status::UnknownError,
            0x31 => Status::CardRejectsSam,
            0x32 => Status::SamRejectsCard,
            0x33 => Status::VerifyFailed,
            0x37 => Status::FingerprintError,
            0x3F => Status::InfoLengthError,
            0x40 => Status::UnknownCardType,
            0x41 => Status::ReadFailed,
            0x47 => Status::RandomNumberFailed,
            0x60 => Status::SamSelfTestFailed,
            0x66 => Status::SamUnauthorised,
            0x80 => Status::NoCard,
            0x81 => Status::SelectFailed,
            other => Status::Other(other),
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Status::Ok => 0x90,
            Status::ItemAbsent => 0x91,
            Status::CardFound => 0x9F,
            Status::ChecksumError => 0x10,
            Status::LengthError => 0x11,
            Status::BadCommand => 0x21,
            Status::NotAllowed => 0x23,
            Status::UnknownError => 0x24,
            Status::CardRejectsSam => 0x31,
            Status::SamRejectsCard => 0x32,
            Status::VerifyFailed => 0x33,
            Status::FingerprintError => 0x37,
            Status::InfoLengthError => 0x3F,
            Status::UnknownCardType => 0x40,
            Status::ReadFailed => 0x41,
            Status::RandomNumberFailed => 0x47,
            Status::SamSelfTestFailed => 0x60,
            Status::SamUnauthorised => 0x66,
            Status::NoCard => 0x80,
            Status::SelectFailed => 0x81,
            Status::Other(byte) => byte,
        }
    }

    /// What the code means, for technicians' logs (never shown to residents).
    pub fn meaning(self) -> &'static str {
        match self {
            Status::Ok => "operation succeeded",
            Status::ItemAbsent => "the card has no such item",
            Status::CardFound => "a card was found",
            Status::ChecksumError => "the module received a bad checksum",
            Status::LengthError => "the module received a bad length",
            Status::BadCommand => "unknown command",
            Status::NotAllowed => "command not allowed now",
            Status::UnknownError => "unknown error",
            Status::CardRejectsSam => "the card rejects the SAM",
            Status::SamRejectsCard => "the SAM rejects the card",
            Status::VerifyFailed => "information verification failed",
            Status::FingerprintError => "fingerprint information error",
            Status::InfoLengthError => "information length error",
            Status::UnknownCardType => "unknown card type",
            Status::ReadFailed => "reading the card failed",
            Status::RandomNumberFailed => "taking a random number failed",
            Status::SamSelfTestFailed => "the SAM's self-test failed",
            Status::SamUnauthorised => "the SAM is not authorised",
            Status::NoCard => "no card found",
            Status::SelectFailed => "selecting the card failed",
            Status::Other(_) => "not a code the module sends",
        }
    }

    /// 90 and 9F: the two success codes.
    pub fn is_success(self) -> bool {
        matches!(self, Status::Ok | Status::CardFound)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02X} ({})", self.byte(), self.meaning())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_its_own_meaning() {
        let mut meanings = std::collections::HashSet::new();
        for status in Status::ALL {
            assert_eq!(Status::from_byte(status.byte()), status);
            assert!(meanings.insert(status.meaning()), "{status:?}");
        }
        for byte in 0..=255u8 {
            assert_eq!(Status::from_byte(byte).byte(), byte);
        }
        for dll_only in [0x01, 0x02, 0x03, 0x05, 0x09] {
            assert_eq!(Status::from_byte(dll_only), Status::Other(dll_only));
        }
        assert_eq!(Status::NoCard.to_string(), "80 (no card found)");
    }
}
