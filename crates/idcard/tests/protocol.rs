//! The codec against the frames captured from real modules (docs: id-card-reader.md), every
//! status code, replies split at every byte, and arbitrary bytes.

use renshe_idcard::{
    decode_reply, encode_read_data, encode_reply, parse_read_data, parse_text, CardDay, CardKind,
    CardText, Command, FrameError, Nation, Photo, ReplyDecoder, Sex, Status, Validity,
};

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect()
}

const PRE: &str = "AA AA AA 96 69";

fn captured(tail: &str) -> Vec<u8> {
    hex(&format!("{PRE} {tail}"))
}

#[test]
fn captured_replies_decode() {
    let find_ok = decode_reply(&captured("00 08 00 00 9F 00 00 00 00 97")).expect("find ok");
    assert_eq!(find_ok.status, Status::CardFound);
    assert_eq!(find_ok.data.as_slice(), [0, 0, 0, 0]);
    let none = decode_reply(&captured("00 04 00 00 80 84")).expect("none");
    assert_eq!(none.status, Status::NoCard);
    assert!(none.data.is_empty());
    let select =
        decode_reply(&captured("00 0C 00 00 90 00 00 00 00 00 00 00 00 9C")).expect("select");
    assert_eq!(select.status, Status::Ok);
    assert_eq!(select.data.len(), 8);
    let status = decode_reply(&captured("00 04 00 00 90 94")).expect("status");
    assert_eq!(status.status, Status::Ok);
}

#[test]
fn the_reader_side_encoder_reproduces_the_captures() {
    assert_eq!(
        encode_reply(Status::CardFound, &[0; 4]).as_slice(),
        captured("00 08 00 00 9F 00 00 00 00 97")
    );
    assert_eq!(
        encode_reply(Status::NoCard, &[]).as_slice(),
        captured("00 04 00 00 80 84")
    );
    assert_eq!(
        encode_reply(Status::Ok, &[0; 8]).as_slice(),
        captured("00 0C 00 00 90 00 00 00 00 00 00 00 00 9C")
    );
    assert_eq!(
        encode_reply(Status::Ok, &[]).as_slice(),
        captured("00 04 00 00 90 94")
    );
}

fn demo_text() -> CardText {
    CardText {
        kind: CardKind::Resident,
        name: "李明".into(),
        english_name: String::new(),
        sex: Sex::Male,
        nation: Nation::new(1),
        birth: CardDay::new(1985, 11, 21).expect("date"),
        address: "重庆市沙坪坝区小龙坎正街1号".into(),
        id_number: "500106198511211356".into(),
        authority: "重庆市公安局沙坪坝区分局".into(),
        valid_from: CardDay::new(2016, 3, 1).expect("date"),
        valid_to: Validity::LongTerm,
        pass_number: String::new(),
        issue_count: String::new(),
        nationality: String::new(),
        version: String::new(),
    }
}

fn read_reply() -> Vec<u8> {
    let text = demo_text().encode().expect("fits");
    let photo: Vec<u8> = (0..1024u32).map(|i| (i * 7) as u8).collect();
    encode_reply(Status::Ok, &encode_read_data(&text, &photo, None)).to_vec()
}

#[test]
fn a_text_and_photo_reply_has_the_captured_header_and_size() {
    let frame = read_reply();
    assert_eq!(frame.len(), 1295);
    assert_eq!(frame[..12], captured("05 08 00 00 90 01 00 04 00")[..12]);
    let reply = decode_reply(&frame).expect("decodes");
    let read = parse_read_data(&reply.data, false).expect("parses");
    assert_eq!(read.text, demo_text());
    assert_eq!(
        read.photo,
        Photo::new((0..1024u32).map(|i| (i * 7) as u8).collect())
    );
    // The text block sits at reply byte 14.
    assert_eq!(
        parse_text(&frame[14..270]).expect("text at 14"),
        demo_text()
    );
}

#[test]
fn a_fingerprint_reply_has_its_documented_sizes() {
    let text = demo_text().encode().expect("fits");
    let photo = vec![0u8; 1024];
    for (fingerprint, total) in [(1024, 2321), (512, 1809), (0, 1297)] {
        let data = encode_read_data(&text, &photo, Some(&vec![0u8; fingerprint]));
        let frame = encode_reply(Status::Ok, &data);
        assert_eq!(frame.len(), total);
        if fingerprint == 1024 {
            assert_eq!(frame[5..13], hex("09 0A 00 00 90 01 00 04"));
        }
        assert_eq!(
            parse_text(&frame[16..272]).expect("text at 16"),
            demo_text()
        );
        let reply = decode_reply(&frame).expect("decodes");
        let read = parse_read_data(&reply.data, true).expect("parses");
        assert_eq!(read.fingerprint.map(|f| f.len()), Some(fingerprint));
    }
}

#[test]
fn every_status_code_travels_in_a_reply() {
    for status in Status::ALL {
        let frame = encode_reply(status, &[]);
        let reply = decode_reply(&frame).expect("decodes");
        assert_eq!(reply.status, status, "{}", status.meaning());
    }
}

#[test]
fn replies_split_at_every_byte_decode_like_whole_ones() {
    let mut stream = captured("00 08 00 00 9F 00 00 00 00 97");
    stream.extend(captured("00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"));
    stream.extend(read_reply());
    stream.extend(captured("00 04 00 00 80 84"));
    for chunk in [1, 2, 3, 7, 11, 64, 1000] {
        let mut decoder = ReplyDecoder::new();
        let mut statuses = Vec::new();
        for piece in stream.chunks(chunk) {
            decoder.push(piece);
            while let Some(reply) = decoder.next_reply() {
                statuses.push(reply.expect("valid").status);
            }
        }
        assert_eq!(
            statuses,
            [Status::CardFound, Status::Ok, Status::Ok, Status::NoCard],
            "chunk {chunk}"
        );
        assert_eq!(decoder.buffered(), 0);
    }
    // Every single split point of the big reply.
    let frame = read_reply();
    for split in 0..=frame.len() {
        let mut decoder = ReplyDecoder::new();
        decoder.push(&frame[..split]);
        let early = decoder.next_reply();
        decoder.push(&frame[split..]);
        let reply = match early {
            Some(reply) => reply,
            None => decoder.next_reply().expect("complete"),
        };
        assert_eq!(reply.expect("valid").status, Status::Ok, "split at {split}");
    }
}

#[test]
fn a_broken_checksum_is_reported_and_the_next_frame_still_decodes() {
    let mut broken = captured("00 04 00 00 90 94");
    broken[10] ^= 0x01;
    assert_eq!(
        decode_reply(&broken),
        Err(FrameError::BadChecksum {
            expected: 0x94,
            found: 0x95
        })
    );
    let mut decoder = ReplyDecoder::new();
    decoder.push(&broken);
    decoder.push(&captured("00 04 00 00 80 84"));
    assert!(matches!(
        decoder.next_reply(),
        Some(Err(FrameError::BadChecksum { .. }))
    ));
    assert_eq!(
        decoder.next_reply().map(|r| r.map(|r| r.status)),
        Some(Ok(Status::NoCard))
    );
}

#[test]
fn command_frames_are_the_captured_ones() {
    assert_eq!(Command::FindCard.frame(), captured("00 03 20 01 22"));
    assert_eq!(Command::ReadText.frame(), captured("00 03 30 01 32"));
}

/// Every way through the decoder and parsers with arbitrary input ends in a value or an
/// error, never a panic.
fn exercise(bytes: &[u8], chunk: usize) {
    let _ = decode_reply(bytes);
    let _ = renshe_idcard::frame_len(bytes);
    let mut decoder = ReplyDecoder::new();
    for piece in bytes.chunks(chunk.max(1)) {
        decoder.push(piece);
        while let Some(reply) = decoder.next_reply() {
            if let Ok(reply) = reply {
                let _ = parse_read_data(&reply.data, false);
                let _ = parse_read_data(&reply.data, true);
            }
        }
    }
    let _ = parse_read_data(bytes, false);
    let _ = parse_read_data(bytes, true);
    if bytes.len() >= 256 {
        let _ = parse_text(&bytes[..256]);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..1600),
        chunk in 1usize..64,
    ) {
        exercise(&bytes, chunk);
    }

    #[test]
    fn framed_noise_never_panics(
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..1400),
        chunk in 1usize..64,
    ) {
        // Valid frames around arbitrary data reach the parsers' inner paths.
        let mut data = vec![0x01, 0x00, 0x04, 0x00];
        data.extend_from_slice(&body);
        let frame = encode_reply(Status::Ok, &data);
        exercise(&frame, chunk);
    }

    #[test]
    fn text_blocks_with_arbitrary_fields_never_panic(
        noise in proptest::collection::vec(proptest::num::u8::ANY, 256),
        kind in 0usize..4,
    ) {
        let mut block = noise;
        let mark: &[u8] = [&b" \0"[..], b"J\0", b"I\0", b"Y\0"][kind];
        block[248..250].copy_from_slice(mark);
        let _ = parse_text(&block);
    }
}
