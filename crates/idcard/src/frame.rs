//! Frames: `AA AA AA 96 69 | LEN_H LEN_L | body | CHK`.
//!
//! LEN is big-endian and counts the body and CHK; CHK is the XOR of LEN_H through the last
//! body byte. A command's body is `CMD PARA data`, a reply's `SW1 SW2 SW3 data` with
//! SW1 SW2 = `00 00`. The same codec serves the host (commands out, replies in) and the
//! virtual reader (commands in, replies out).

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::status::Status;

pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
/// Preamble and LEN: read these first, then LEN more bytes.
pub const HEADER_LEN: usize = 7;
/// The longest LEN accepted. The largest real reply (30 10 with a 1024-byte fingerprint) has
/// LEN 0x090A; anything far beyond is line noise, not a frame worth waiting for.
pub const MAX_LEN: usize = 4096;
/// Shortest LEN: two body bytes (CMD PARA) and CHK.
const MIN_LEN: usize = 3;
/// Shortest reply LEN: SW1 SW2 SW3 and CHK.
const MIN_REPLY_LEN: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{skipped} byte(s) before the frame preamble AA AA AA 96 69")]
    BadPreamble { skipped: usize },
    #[error("frame length {0} is outside {MIN_LEN}..={MAX_LEN}")]
    BadLength(usize),
    #[error("frame checksum {found:#04x}, computed {expected:#04x}")]
    BadChecksum { expected: u8, found: u8 },
    #[error("reply status words {sw1:02X} {sw2:02X}, expected 00 00")]
    BadStatusWords { sw1: u8, sw2: u8 },
    #[error("a reply needs at least {MIN_REPLY_LEN} length bytes, this one has {0}")]
    ShortReply(usize),
    #[error("the frame is incomplete: {got} of {needed} bytes")]
    Truncated { needed: usize, got: usize },
    #[error("{0} byte(s) after the end of the frame")]
    TrailingBytes(usize),
}

/// XOR of `bytes`.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Wraps a body into a frame (preamble, LEN, body, CHK). Bodies longer than [`MAX_LEN`] - 1
/// are the caller's bug; they are encoded anyway, and a decoder will refuse them.
fn encode_frame(body: &[u8]) -> Vec<u8> {
    let len = body.len() + 1;
    let len_bytes = [(len >> 8) as u8, len as u8];
    let mut out = Vec::with_capacity(HEADER_LEN + len);
    out.extend_from_slice(&PREAMBLE);
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(body);
    out.push(checksum(&len_bytes) ^ checksum(body));
    out
}

/// A command frame: `CMD PARA data`.
pub fn encode_command(cmd: u8, para: u8, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(2 + data.len());
    body.extend_from_slice(&[cmd, para]);
    body.extend_from_slice(data);
    encode_frame(&body)
}

/// A reply frame as the reader sends it: `00 00 SW3 data`. The result may hold a card's
/// text and photo, so it zeroizes on drop.
pub fn encode_reply(status: Status, data: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::with_capacity(3 + data.len()));
    body.extend_from_slice(&[0, 0, status.byte()]);
    body.extend_from_slice(data);
    Zeroizing::new(encode_frame(&body))
}

/// The whole frame's length (7 + LEN) from its first 7 bytes.
pub fn frame_len(header: &[u8]) -> Result<usize, FrameError> {
    if header.len() < HEADER_LEN {
        return Err(FrameError::Truncated {
            needed: HEADER_LEN,
            got: header.len(),
        });
    }
    if header[..5] != PREAMBLE {
        let skipped = header[1..]
            .iter()
            .position(|&b| b == PREAMBLE[0])
            .map_or(header.len(), |p| p + 1);
        return Err(FrameError::BadPreamble { skipped });
    }
    let len = usize::from(header[5]) << 8 | usize::from(header[6]);
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(FrameError::BadLength(len));
    }
    Ok(HEADER_LEN + len)
}

/// A checked frame's body (between LEN and CHK).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub body: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame(<{} body bytes>)", self.body.len())
    }
}

fn check_frame(bytes: &[u8], len: usize) -> Result<Frame, FrameError> {
    let total = HEADER_LEN + len;
    let expected = checksum(&bytes[5..total - 1]);
    let found = bytes[total - 1];
    if expected != found {
        return Err(FrameError::BadChecksum { expected, found });
    }
    Ok(Frame {
        body: Zeroizing::new(bytes[HEADER_LEN..total - 1].to_vec()),
    })
}

/// A reply: its status and data (which may be a card's text and photo: zeroized on drop,
/// never shown by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: Status,
    pub data: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Reply({:?}, <{} data bytes>)",
            self.status,
            self.data.len()
        )
    }
}

impl Reply {
    pub fn from_frame(frame: &Frame) -> Result<Reply, FrameError> {
        let body = &frame.body;
        if body.len() + 1 < MIN_REPLY_LEN {
            return Err(FrameError::ShortReply(body.len() + 1));
        }
        if body[0] != 0 || body[1] != 0 {
            return Err(FrameError::BadStatusWords {
                sw1: body[0],
                sw2: body[1],
            });
        }
        Ok(Reply {
            status: Status::from_byte(body[2]),
            data: Zeroizing::new(body[3..].to_vec()),
        })
    }
}

/// Decodes exactly one complete reply frame.
pub fn decode_reply(bytes: &[u8]) -> Result<Reply, FrameError> {
    let total = frame_len(bytes)?;
    if bytes.len() < total {
        return Err(FrameError::Truncated {
            needed: total,
            got: bytes.len(),
        });
    }
    if bytes.len() > total {
        return Err(FrameError::TrailingBytes(bytes.len() - total));
    }
    Reply::from_frame(&check_frame(bytes, total - HEADER_LEN)?)
}

/// Streaming frame decoder: bytes go in split anywhere, checked frames come out. Garbage is
/// reported once per run and skipped up to the next possible preamble, so decoding resumes
/// at the next good frame.
#[derive(Default)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
}

impl fmt::Debug for FrameDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FrameDecoder(<{} bytes buffered>)", self.buffer.len())
    }
}

impl Drop for FrameDecoder {
    fn drop(&mut self) {
        self.buffer.zeroize();
    }
}

impl FrameDecoder {
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes waiting for the rest of their frame.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Forgets buffered bytes (after a timeout, before a new command).
    pub fn clear(&mut self) {
        self.buffer.zeroize();
        self.buffer.clear();
    }

    /// The next frame or error, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        let buffer = &self.buffer;
        if buffer.is_empty() {
            return None;
        }
        // A preamble prefix at the start may still become a frame.
        let prefix = buffer.len().min(PREAMBLE.len());
        if buffer[..prefix] != PREAMBLE[..prefix] {
            let skipped = buffer[1..]
                .iter()
                .position(|&b| b == PREAMBLE[0])
                .map_or(buffer.len(), |p| p + 1);
            self.discard(skipped);
            return Some(Err(FrameError::BadPreamble { skipped }));
        }
        if buffer.len() < HEADER_LEN {
            return None;
        }
        let total = match frame_len(buffer) {
            Ok(total) => total,
            Err(error) => {
                // Not a frame after all: resynchronise one byte on.
                self.discard(1);
                return Some(Err(error));
            }
        };
        if buffer.len() < total {
            return None;
        }
        let result = check_frame(buffer, total - HEADER_LEN);
        self.discard(total);
        Some(result)
    }

    fn discard(&mut self, count: usize) {
        let count = count.min(self.buffer.len());
        self.buffer[..count].zeroize();
        self.buffer.drain(..count);
    }
}

/// [`FrameDecoder`] for the host side: frames come out as [`Reply`]s.
#[derive(Debug, Default)]
pub struct ReplyDecoder {
    frames: FrameDecoder,
}

impl ReplyDecoder {
    pub fn new() -> ReplyDecoder {
        ReplyDecoder::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    pub fn buffered(&self) -> usize {
        self.frames.buffered()
    }

    pub fn clear(&mut self) {
        self.frames.clear();
    }

    pub fn next_reply(&mut self) -> Option<Result<Reply, FrameError>> {
        self.frames
            .next_frame()
            .map(|frame| frame.and_then(|frame| Reply::from_frame(&frame)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex"))
            .collect()
    }

    #[test]
    fn a_bare_command_has_length_three() {
        assert_eq!(
            encode_command(0x20, 0x01, &[]),
            hex("AA AA AA 96 69 00 03 20 01 22")
        );
        assert_eq!(
            encode_command(0x61, 0xFF, &[0x50]),
            hex("AA AA AA 96 69 00 04 61 FF 50 CA")
        );
    }

    #[test]
    fn a_truncated_or_padded_reply_is_an_error() {
        let whole = hex("AA AA AA 96 69 00 04 00 00 80 84");
        assert_eq!(
            decode_reply(&whole[..8]),
            Err(FrameError::Truncated { needed: 11, got: 8 })
        );
        let mut padded = whole.clone();
        padded.push(0);
        assert_eq!(decode_reply(&padded), Err(FrameError::TrailingBytes(1)));
        assert_eq!(
            decode_reply(&whole[..3]),
            Err(FrameError::Truncated { needed: 7, got: 3 })
        );
    }

    #[test]
    fn the_decoder_resynchronises_after_garbage() {
        let mut decoder = ReplyDecoder::new();
        let mut bytes = hex("01 02 AA 03");
        bytes.extend(hex("AA AA AA 96 69 00 04 00 00 90 94"));
        decoder.push(&bytes);
        assert_eq!(
            decoder.next_reply(),
            Some(Err(FrameError::BadPreamble { skipped: 2 }))
        );
        assert_eq!(
            decoder.next_reply(),
            Some(Err(FrameError::BadPreamble { skipped: 2 }))
        );
        let reply = decoder.next_reply().expect("a frame").expect("valid");
        assert_eq!(reply.status, Status::Ok);
        assert_eq!(decoder.next_reply(), None);
        assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn an_absurd_length_is_reported_not_awaited() {
        let mut decoder = ReplyDecoder::new();
        decoder.push(&hex("AA AA AA 96 69 FF FF 00"));
        assert_eq!(
            decoder.next_reply(),
            Some(Err(FrameError::BadLength(0xFFFF)))
        );
    }

    #[test]
    fn a_reply_needs_status_words_zero() {
        let frame = encode_frame(&[0x01, 0x00, 0x90]);
        assert_eq!(
            decode_reply(&frame),
            Err(FrameError::BadStatusWords { sw1: 1, sw2: 0 })
        );
        let short = encode_frame(&[0x00, 0x00]);
        assert_eq!(decode_reply(&short), Err(FrameError::ShortReply(3)));
    }
}
