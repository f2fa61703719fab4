//! The 二代居民身份证 (resident ID card) reader protocol: a SAM_A module on a serial line
//! (GA/T 467), as the kiosk's adapter and its virtual reader both speak it.
//!
//! Pure code, no I/O: [`frame`] encodes and decodes frames (`AA AA AA 96 69 | LEN | … | CHK`)
//! in both directions, [`status`] names every SW3 code, [`command`] the commands, and
//! [`text`] parses (and, for the virtual reader, builds) the card's 256-byte text block.
//!
//! Personal data (the text block, the photo) lives in zeroizing types whose `Debug` shows a
//! masked ID number and lengths only.

pub mod command;
pub mod frame;
pub mod status;
pub mod text;

pub use command::{Command, Request};
pub use frame::{
    decode_reply, encode_command, encode_reply, frame_len, Frame, FrameDecoder, FrameError, Reply,
    ReplyDecoder, HEADER_LEN, MAX_LEN, PREAMBLE,
};
pub use status::Status;
pub use text::{
    encode_read_data, mask_id, parse_read_data, parse_text, CardDay, CardKind, CardRead, CardText,
    Fingerprint, Nation, Photo, Sex, TextError, Validity, PHOTO_LEN, TEXT_LEN,
};
