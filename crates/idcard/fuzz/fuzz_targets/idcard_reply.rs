//! Bytes from the serial line: the streaming decoder (split where the first byte says), the
//! one-shot decoder, the read-data and text parsers. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_idcard::{decode_reply, frame_len, parse_read_data, parse_text, ReplyDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let _ = frame_len(bytes);
    let _ = decode_reply(bytes);
    let mut decoder = ReplyDecoder::new();
    for piece in bytes.chunks(usize::from(chunk).max(1)) {
        decoder.push(piece);
        while let Some(reply) = decoder.next_reply() {
            if let Ok(reply) = reply {
                let _ = parse_read_data(&reply.data, false);
                let _ = parse_read_data(&reply.data, true);
            }
        }
    }
    let _ = parse_read_data(bytes, chunk & 1 == 1);
    if let Some(block) = bytes.get(..256) {
        let _ = parse_text(block);
    }
});
