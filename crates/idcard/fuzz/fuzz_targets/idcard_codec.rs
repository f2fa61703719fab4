//! The codec pieces `idcard_reply` leaves out. Nothing may panic, and what decodes must
//! round-trip:
//! - command frames as the virtual reader receives them (the streaming [`FrameDecoder`], split
//!   where the first byte says, then [`Request::from_frame`]); a decoded command re-encodes to
//!   a frame that decodes to the same body;
//! - the 256-byte text block: a block [`parse_text`] accepts encodes back
//!   ([`CardText::encode`]) to a block that parses to the same text;
//! - reply frames built from any status byte and data decode back to them;
//! - [`mask_id`] and [`CardDay::from_digits`] on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_idcard::{
    decode_reply, encode_command, encode_reply, mask_id, parse_text, CardDay, FrameDecoder,
    Request, Status, MAX_LEN, TEXT_LEN,
};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };

    let mut decoder = FrameDecoder::new();
    for piece in bytes.chunks(usize::from(chunk).max(1)) {
        decoder.push(piece);
        while let Some(frame) = decoder.next_frame() {
            let Ok(frame) = frame else { continue };
            let Ok(request) = Request::from_frame(&frame) else {
                continue;
            };
            let again = encode_command(request.cmd, request.para, &frame.body[2..]);
            let mut check = FrameDecoder::new();
            check.push(&again);
            match check.next_frame() {
                Some(Ok(decoded)) => assert_eq!(decoded.body, frame.body),
                other => panic!("a re-encoded command does not decode: {other:?}"),
            }
            if let Some(command) = request.command {
                assert_eq!(command.code(), (request.cmd, request.para));
            }
        }
    }

    if let Some(block) = bytes.get(..TEXT_LEN) {
        if let Ok(text) = parse_text(block) {
            let encoded = text.encode().expect("a parsed text block encodes again");
            let again = parse_text(&encoded).expect("an encoded text block parses again");
            assert!(again == text, "the text block does not round-trip");
            let _ = mask_id(&text.id_number);
        }
    }

    let status = Status::from_byte(chunk);
    let reply_data = &bytes[..bytes.len().min(MAX_LEN.saturating_sub(4))];
    let reply = decode_reply(&encode_reply(status, reply_data)).expect("a reply frame decodes");
    assert_eq!(reply.status, status);
    assert_eq!(reply.data.as_slice(), reply_data);

    let text = String::from_utf8_lossy(bytes);
    let _ = mask_id(&text);
    let _ = CardDay::from_digits(&text);
});
