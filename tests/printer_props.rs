//! Property tests of the parsers of printer bytes: arbitrary input never panics, and the
//! decoders accept exactly what the protocol allows.

use proptest::prelude::*;
use renshe_kiosk::core::receipt::{text_columns, wrap};
use renshe_kiosk::printer::sim::{decode_all, EscPosDecoder};
use renshe_kiosk::printer::status::{
    decode_asb, decode_realtime, encode_asb, encode_realtime, StatusQuery,
};

fn realtime_shaped(byte: u8) -> bool {
    byte & 0b1001_0011 == 0b0001_0010
}

proptest! {
    #[test]
    fn realtime_decoder_accepts_exactly_well_shaped_replies(bytes in proptest::collection::vec(any::<u8>(), 0..8), sensor in any::<bool>()) {
        let result = decode_realtime(&bytes, sensor);
        let valid = bytes.len() == 4 && bytes.iter().all(|b| realtime_shaped(*b));
        prop_assert_eq!(result.is_ok(), valid);
        if let Ok(state) = result {
            // Re-encoding the decoded state gives bytes that decode to the same state.
            let again: Vec<u8> = StatusQuery::ALL.iter().map(|q| encode_realtime(&state, *q, sensor)).collect();
            prop_assert_eq!(decode_realtime(&again, sensor), Ok(state));
        }
    }

    #[test]
    fn asb_decoder_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..8), sensor in any::<bool>()) {
        if let Ok(state) = decode_asb(&bytes, sensor) {
            prop_assert_eq!(bytes.len(), 4);
            prop_assert_eq!(decode_asb(&encode_asb(&state, sensor), sensor), Ok(state));
        }
    }

    #[test]
    fn escpos_decoder_survives_any_bytes_and_any_split(bytes in proptest::collection::vec(any::<u8>(), 0..512), split in any::<prop::sample::Index>()) {
        let whole = {
            let mut decoder = EscPosDecoder::new();
            let mut out = decoder.push(&bytes);
            out.extend(decoder.finish());
            out
        };
        let at = if bytes.is_empty() { 0 } else { split.index(bytes.len()) };
        let mut decoder = EscPosDecoder::new();
        let mut parts = decoder.push(&bytes[..at]);
        parts.extend(decoder.push(&bytes[at..]));
        parts.extend(decoder.finish());
        // Text waits for its end, so where the bytes were cut makes no difference at all.
        prop_assert_eq!(whole, parts);
        let _ = decode_all(&bytes);
    }

    #[test]
    fn wrapped_lines_fit(text in "[a-z 重庆市人社¥\\n]{0,80}", columns in 2usize..50) {
        for line in wrap(&text, columns) {
            prop_assert!(text_columns(&line) <= columns, "{:?} > {}", line, columns);
        }
    }
}
