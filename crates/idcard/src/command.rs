//! The commands a host sends to the SAM_A module.

use crate::frame::{encode_command, Frame, FrameError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// 10 FF: reset the SAM.
    ResetSam,
    /// 11 FF: the SAM's status (90 ok, 60 self-test failed).
    SamStatus,
    /// 12 FF: the SAM's 16-byte id.
    SamId,
    /// 20 01: is a card in the field (9F found, 80 none)?
    FindCard,
    /// 20 02: select the card (90, 81 failed).
    SelectCard,
    /// 30 01: read text and photo (90, 41 failed).
    ReadText,
    /// 30 10: read text, photo and fingerprint.
    ReadWithFingerprint,
    /// 61 FF 50: the largest RF frame (hev sends it first; purpose unconfirmed).
    MaxRfBytes,
}

impl Command {
    pub const ALL: [Command; 8] = [
        Command::ResetSam,
        Command::SamStatus,
        Command::SamId,
        Command::FindCard,
        Command::SelectCard,
        Command::ReadText,
        Command::ReadWithFingerprint,
        Command::MaxRfBytes,
    ];

    /// CMD and PARA.
    pub fn code(self) -> (u8, u8) {
        match self {
            Command::ResetSam => (0x10, 0xFF),
            Command::SamStatus => (0x11, 0xFF),
            Command::SamId => (0x12, 0xFF),
            Command::FindCard => (0x20, 0x01),
            Command::SelectCard => (0x20, 0x02),
            Command::ReadText => (0x30, 0x01),
            Command::ReadWithFingerprint => (0x30, 0x10),
            Command::MaxRfBytes => (0x61, 0xFF),
        }
    }

    fn data(self) -> &'static [u8] {
        match self {
            Command::MaxRfBytes => &[0x50],
            _ => &[],
        }
    }

    pub fn from_code(cmd: u8, para: u8) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.code() == (cmd, para))
    }

    /// The complete frame, e.g. `AA AA AA 96 69 00 03 20 01 22` for find card.
    pub fn frame(self) -> Vec<u8> {
        let (cmd, para) = self.code();
        encode_command(cmd, para, self.data())
    }
}

/// A command frame as the reader receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub cmd: u8,
    pub para: u8,
    /// The known command, if it is one.
    pub command: Option<Command>,
    pub data_len: usize,
}

impl Request {
    pub fn from_frame(frame: &Frame) -> Result<Request, FrameError> {
        match frame.body.as_slice() {
            [cmd, para, data @ ..] => Ok(Request {
                cmd: *cmd,
                para: *para,
                command: Command::from_code(*cmd, *para),
                data_len: data.len(),
            }),
            _ => Err(FrameError::BadLength(frame.body.len() + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameDecoder;

    #[test]
    fn frames_match_the_captured_bytes() {
        let tail = |c: Command| c.frame()[5..].to_vec();
        assert_eq!(tail(Command::ResetSam), [0x00, 0x03, 0x10, 0xFF, 0xEC]);
        assert_eq!(tail(Command::SamStatus), [0x00, 0x03, 0x11, 0xFF, 0xED]);
        assert_eq!(tail(Command::SamId), [0x00, 0x03, 0x12, 0xFF, 0xEE]);
        assert_eq!(tail(Command::FindCard), [0x00, 0x03, 0x20, 0x01, 0x22]);
        assert_eq!(tail(Command::SelectCard), [0x00, 0x03, 0x20, 0x02, 0x21]);
        assert_eq!(tail(Command::ReadText), [0x00, 0x03, 0x30, 0x01, 0x32]);
        assert_eq!(
            tail(Command::ReadWithFingerprint),
            [0x00, 0x03, 0x30, 0x10, 0x23]
        );
        assert_eq!(
            tail(Command::MaxRfBytes),
            [0x00, 0x04, 0x61, 0xFF, 0x50, 0xCA]
        );
        for command in Command::ALL {
            assert_eq!(command.frame()[..5], crate::PREAMBLE);
        }
    }

    #[test]
    fn the_reader_side_decodes_every_command() {
        let mut decoder = FrameDecoder::new();
        for command in Command::ALL {
            decoder.push(&command.frame());
        }
        for command in Command::ALL {
            let frame = decoder.next_frame().expect("frame").expect("valid");
            assert_eq!(
                Request::from_frame(&frame).expect("request").command,
                Some(command)
            );
        }
        assert!(decoder.next_frame().is_none());
    }
}
