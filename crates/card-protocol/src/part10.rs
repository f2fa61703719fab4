//! PC/SC Part 10 secure PIN entry: readers with their own keypad let the PIN go from the
//! keypad to the card without passing through the host. This module is pure: it reads the
//! reader's answer to `CM_IOCTL_GET_FEATURE_REQUEST` and builds the `PIN_VERIFY_STRUCTURE`
//! for `FEATURE_VERIFY_PIN_DIRECT`; `pcsc.rs` sends them with `SCardControl`.
//!
//! vsmartcard's vpcd offers no features, so the kiosk's tests and demo use the screen's pad.

/// `SCARD_CTL_CODE(code)` as pcsc-lite defines it on Linux.
pub const fn ctl_code(code: u32) -> u32 {
    0x4200_0000 + code
}

/// Asks a reader which Part 10 features it has.
pub const CM_IOCTL_GET_FEATURE_REQUEST: u32 = ctl_code(3400);
/// The feature tag of PIN verification on the reader's keypad.
pub const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
/// The feature tag of PIN modification on the reader's keypad.
pub const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;

/// The control codes a reader gave for the features the kiosk can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    pub verify_pin_direct: Option<u32>,
    pub modify_pin_direct: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    #[error("feature TLV at byte {offset}: length {length}, a control code has 4 bytes")]
    BadLength { offset: usize, length: u8 },
    #[error("feature TLV at byte {offset} is cut short")]
    Truncated { offset: usize },
}

/// Parses the reader's TLV list: tag (1 byte), length (1 byte, always 4), control code (4
/// bytes, big-endian). Unknown tags are skipped; an empty answer means no features.
pub fn parse_features(bytes: &[u8]) -> Result<Features, FeatureError> {
    let mut features = Features::default();
    let mut offset = 0;
    while offset < bytes.len() {
        let (Some(&tag), Some(&length)) = (bytes.get(offset), bytes.get(offset + 1)) else {
            return Err(FeatureError::Truncated { offset });
        };
        if length != 4 {
            return Err(FeatureError::BadLength { offset, length });
        }
        let Some(value) = bytes.get(offset + 2..offset + 6) else {
            return Err(FeatureError::Truncated { offset });
        };
        let code = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
        match tag {
            FEATURE_VERIFY_PIN_DIRECT => features.verify_pin_direct = Some(code),
            FEATURE_MODIFY_PIN_DIRECT => features.modify_pin_direct = Some(code),
            _ => {}
        }
        offset += 6;
    }
    Ok(features)
}

/// Chinese (PRC), for the reader's own display messages.
const LANG_ZH_CN: u16 = 0x0804;

/// The `PIN_VERIFY_STRUCTURE` for VERIFY `00 20 00 00 03` with a packed-BCD PIN of 6 digits
/// (how social security cards take it, see `protocol::verify_pin`): the reader waits up to
/// `timeout_s` seconds, accepts 4 to 6 digits, and sends the APDU when the resident presses
/// its OK key. The PIN block is pre-filled with `FF`, so a shorter PIN stays `F`-padded.
pub fn verify_pin_structure(timeout_s: u8) -> Vec<u8> {
    const APDU: [u8; 8] = [0x00, 0x20, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF];
    let mut structure = vec![
        timeout_s, // bTimerOut
        timeout_s, // bTimerOut2
        // bmFormatString: units in bytes, PIN at offset 0 of the data, left-justified, BCD.
        0x81, // bmPINBlockString: no length field in the block; a 3-byte block.
        0x03, 0x00, // bmPINLengthFormat
        6,    // wPINMaxExtraDigit: maximum …
        4,    // … and minimum digits (XXYY, sent as YY XX)
        0x02, // bEntryValidationCondition: the OK key
        0x01, // bNumberMessage
    ];
    structure.extend(LANG_ZH_CN.to_le_bytes()); // wLangId
    structure.push(0x00); // bMsgIndex
    structure.extend([0x00, 0x00, 0x00]); // bTeoPrologue
    structure.extend((APDU.len() as u32).to_le_bytes()); // ulDataLength
    structure.extend(APDU);
    structure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_with_a_pin_pad_lists_its_control_codes() {
        // As a CCID reader with a keypad answers (GemPC Pinpad-like): VERIFY, MODIFY,
        // and IFD_PIN_PROPERTIES (0x0A), which the kiosk does not use.
        let answer = [
            0x06, 0x04, 0x42, 0x33, 0x00, 0x06, //
            0x07, 0x04, 0x42, 0x33, 0x00, 0x07, //
            0x0A, 0x04, 0x42, 0x33, 0x00, 0x0A,
        ];
        assert_eq!(
            parse_features(&answer),
            Ok(Features {
                verify_pin_direct: Some(0x4233_0006),
                modify_pin_direct: Some(0x4233_0007),
            })
        );
    }

    #[test]
    fn no_features_and_broken_lists() {
        assert_eq!(parse_features(&[]), Ok(Features::default()));
        assert_eq!(
            parse_features(&[0x06, 0x02, 0x00, 0x00]),
            Err(FeatureError::BadLength {
                offset: 0,
                length: 2
            })
        );
        assert_eq!(
            parse_features(&[0x06, 0x04, 0x42]),
            Err(FeatureError::Truncated { offset: 0 })
        );
        assert_eq!(
            parse_features(&[0x06]),
            Err(FeatureError::Truncated { offset: 0 })
        );
    }

    #[test]
    fn the_verify_structure_carries_the_bcd_verify_apdu() {
        let structure = verify_pin_structure(30);
        assert_eq!(structure.len(), 19 + 8);
        assert_eq!(&structure[15..19], &8u32.to_le_bytes());
        assert_eq!(
            &structure[19..],
            &[0x00, 0x20, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(structure[2], 0x81, "BCD, in bytes, at the data's start");
        assert_eq!(&structure[5..7], &[6, 4], "4 to 6 digits");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x1234_5678_u32;
        for length in 0..200 {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (state >> 16) as u8
                })
                .collect();
            let _ = parse_features(&bytes);
        }
    }
}
