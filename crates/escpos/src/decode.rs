//! ESC/POS bytes → commands → paper, as the virtual printer reads them. Pure and fuzzable:
//! every malformed input is a [`DecodeError`], never a panic.
//!
//! [`EscPosDecoder`] turns bytes into [`PrinterOp`]s; [`Paper`] applies them and yields a text
//! transcript (the same shape as `Receipt::preview_lines`). Drawing the paper as a picture needs
//! a font from the file system and stays in the app (`printer::sim`).

use renshe_core::receipt::{align_line, Align, TextSize, TextStyle};

use crate::escpos::{MonoImage, DLE, EOT, ESC, FS, GS, LF};
use crate::profile::Profile;

/// Largest raster band the decoder accepts; real printers cap far lower.
const MAX_RASTER_BYTES: usize = 1 << 20;

/// Text that came off the wire. It is receipt content (masked names and ID numbers), so its
/// `Debug` shows only its length: decoded commands may end up in logs and test output.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PrintedText(pub String);

impl std::fmt::Debug for PrintedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrintedText(<{} chars>)", self.0.chars().count())
    }
}

impl From<&str> for PrintedText {
    fn from(text: &str) -> PrintedText {
        PrintedText(text.to_string())
    }
}

impl std::ops::Deref for PrintedText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// One decoded ESC/POS command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterOp {
    Init,
    ChineseMode(bool),
    /// Printable text up to the next control byte, decoded.
    Text(PrintedText),
    LineFeed,
    Align(Align),
    Size(TextSize),
    Bold(bool),
    /// `ESC d n`: feed n lines.
    Feed(u8),
    /// `ESC 2` (None) / `ESC 3 n`.
    LineSpacing(Option<u8>),
    QrModel(u8),
    QrModuleSize(u8),
    QrErrorCorrection(u8),
    QrStore(Vec<u8>),
    QrPrint,
    Raster(MonoImage),
    Cut {
        partial: bool,
        feed: u8,
    },
    StatusQuery(u8),
    AutoStatusBack(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown command {0:02X?}")]
    UnknownCommand(Vec<u8>),
    #[error("command {command:02X?} has a bad argument {argument:#04x}")]
    BadArgument { command: Vec<u8>, argument: u8 },
    #[error("raster band of {width_bytes}x{rows} bytes is too large")]
    RasterTooLarge { width_bytes: usize, rows: usize },
    #[error("the data ends inside a command ({0} bytes left over)")]
    Truncated(usize),
}

enum Step {
    Op(PrinterOp, usize),
    Skip(usize),
    Need,
    Fail(DecodeError, usize),
}

/// Incremental decoder: bytes arrive in arbitrary pieces, commands come out whole.
#[derive(Debug, Default)]
pub struct EscPosDecoder {
    buffer: Vec<u8>,
    chinese: bool,
}

impl EscPosDecoder {
    pub fn new() -> EscPosDecoder {
        EscPosDecoder::default()
    }

    /// Feeds bytes; returns every command (or error) completed by them, in order. Errors skip
    /// the offending bytes, so decoding continues like a printer that ignores garbage.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<PrinterOp, DecodeError>> {
        self.buffer.extend_from_slice(bytes);
        self.drain(false)
    }

    /// The end of the stream: flushes trailing text; an unfinished command is an error.
    pub fn finish(&mut self) -> Vec<Result<PrinterOp, DecodeError>> {
        let mut out = self.drain(true);
        if !self.buffer.is_empty() {
            out.push(Err(DecodeError::Truncated(self.buffer.len())));
            self.buffer.clear();
        }
        out
    }

    fn drain(&mut self, at_end: bool) -> Vec<Result<PrinterOp, DecodeError>> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < self.buffer.len() {
            match parse_one(&self.buffer[start..], self.chinese, at_end) {
                Step::Op(op, used) => {
                    if let PrinterOp::ChineseMode(on) = op {
                        self.chinese = on;
                    }
                    if op == PrinterOp::Init {
                        self.chinese = false;
                    }
                    out.push(Ok(op));
                    start += used;
                }
                Step::Skip(used) => start += used,
                Step::Fail(error, used) => {
                    out.push(Err(error));
                    start += used.max(1);
                }
                Step::Need => break,
            }
        }
        self.buffer.drain(..start);
        out
    }
}

/// Decodes a complete byte stream, failing on the first error.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<PrinterOp>, DecodeError> {
    let mut decoder = EscPosDecoder::new();
    let mut ops = decoder.push(bytes);
    ops.extend(decoder.finish());
    ops.into_iter().collect()
}

fn parse_one(data: &[u8], chinese: bool, at_end: bool) -> Step {
    let Some(&first) = data.first() else {
        return Step::Need;
    };
    let arg = |index: usize| data.get(index).copied();
    let need = |len: usize| data.len() < len;
    match first {
        LF => Step::Op(PrinterOp::LineFeed, 1),
        b'\r' => Step::Skip(1),
        DLE => {
            if need(3) {
                return Step::Need;
            }
            match (data[1], data[2]) {
                (EOT, n @ 1..=4) => Step::Op(PrinterOp::StatusQuery(n), 3),
                (EOT, n) => Step::Fail(
                    DecodeError::BadArgument {
                        command: vec![DLE, EOT],
                        argument: n,
                    },
                    3,
                ),
                _ => Step::Fail(DecodeError::UnknownCommand(data[..2].to_vec()), 1),
            }
        }
        ESC => parse_esc(data),
        FS => match arg(1) {
            None => Step::Need,
            Some(b'&') => Step::Op(PrinterOp::ChineseMode(true), 2),
            Some(b'.') => Step::Op(PrinterOp::ChineseMode(false), 2),
            Some(other) => Step::Fail(DecodeError::UnknownCommand(vec![FS, other]), 2),
        },
        GS => parse_gs(data),
        0x20.. => {
            let end = data.iter().position(|&b| b < 0x20).unwrap_or(data.len());
            if end == data.len() && !at_end {
                return Step::Need;
            }
            Step::Op(
                PrinterOp::Text(PrintedText(decode_text(&data[..end], chinese))),
                end,
            )
        }
        other => Step::Fail(DecodeError::UnknownCommand(vec![other]), 1),
    }
}

fn decode_text(bytes: &[u8], chinese: bool) -> String {
    if chinese {
        let (text, _) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
        text.into_owned()
    } else {
        bytes
            .iter()
            .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
            .collect()
    }
}

fn parse_esc(data: &[u8]) -> Step {
    let Some(&command) = data.get(1) else {
        return Step::Need;
    };
    let with_arg = |make: fn(u8) -> Option<PrinterOp>| match data.get(2) {
        None => Step::Need,
        Some(&n) => match make(n) {
            Some(op) => Step::Op(op, 3),
            None => Step::Fail(
                DecodeError::BadArgument {
                    command: vec![ESC, command],
                    argument: n,
                },
                3,
            ),
        },
    };
    match command {
        b'@' => Step::Op(PrinterOp::Init, 2),
        b'2' => Step::Op(PrinterOp::LineSpacing(None), 2),
        b'3' => with_arg(|n| Some(PrinterOp::LineSpacing(Some(n)))),
        b'E' => with_arg(|n| Some(PrinterOp::Bold(n & 1 == 1))),
        b'd' => with_arg(|n| Some(PrinterOp::Feed(n))),
        b'a' => with_arg(|n| match n {
            0 | b'0' => Some(PrinterOp::Align(Align::Left)),
            1 | b'1' => Some(PrinterOp::Align(Align::Center)),
            2 | b'2' => Some(PrinterOp::Align(Align::Right)),
            _ => None,
        }),
        other => Step::Fail(DecodeError::UnknownCommand(vec![ESC, other]), 2),
    }
}

fn parse_gs(data: &[u8]) -> Step {
    let Some(&command) = data.get(1) else {
        return Step::Need;
    };
    let bad = |argument: u8| DecodeError::BadArgument {
        command: vec![GS, command],
        argument,
    };
    match command {
        b'!' => match data.get(2) {
            None => Step::Need,
            Some(&n) if n & 0x88 == 0 => Step::Op(
                PrinterOp::Size(TextSize {
                    width: (n >> 4) + 1,
                    height: (n & 0x0F) + 1,
                }),
                3,
            ),
            Some(&n) => Step::Fail(bad(n), 3),
        },
        b'a' => match data.get(2) {
            None => Step::Need,
            Some(&n) => Step::Op(PrinterOp::AutoStatusBack(n), 3),
        },
        b'V' => match data.get(2) {
            None => Step::Need,
            Some(0 | b'0') => Step::Op(
                PrinterOp::Cut {
                    partial: false,
                    feed: 0,
                },
                3,
            ),
            Some(1 | b'1') => Step::Op(
                PrinterOp::Cut {
                    partial: true,
                    feed: 0,
                },
                3,
            ),
            Some(&m @ (65 | 66)) => match data.get(3) {
                None => Step::Need,
                Some(&feed) => Step::Op(
                    PrinterOp::Cut {
                        partial: m == 66,
                        feed,
                    },
                    4,
                ),
            },
            Some(&m) => Step::Fail(bad(m), 3),
        },
        b'v' => {
            if data.len() < 8 {
                return Step::Need;
            }
            if data[2] != b'0' {
                return Step::Fail(bad(data[2]), 3);
            }
            let width_bytes = usize::from(data[4]) | usize::from(data[5]) << 8;
            let rows = usize::from(data[6]) | usize::from(data[7]) << 8;
            let size = width_bytes * rows;
            if size > MAX_RASTER_BYTES || width_bytes == 0 {
                return Step::Fail(DecodeError::RasterTooLarge { width_bytes, rows }, 8);
            }
            if data.len() < 8 + size {
                return Step::Need;
            }
            let image = MonoImage {
                width: width_bytes * 8,
                height: rows,
                rows: data[8..8 + size].to_vec(),
            };
            Step::Op(PrinterOp::Raster(image), 8 + size)
        }
        b'(' => {
            if data.len() < 5 {
                return Step::Need;
            }
            if data[2] != b'k' {
                return Step::Fail(DecodeError::UnknownCommand(data[..3].to_vec()), 3);
            }
            let length = usize::from(data[3]) | usize::from(data[4]) << 8;
            if length < 2 {
                return Step::Fail(bad(data[3]), 5);
            }
            if data.len() < 5 + length {
                return Step::Need;
            }
            let body = &data[5..5 + length];
            let used = 5 + length;
            let arg = body.get(2).copied().unwrap_or(0);
            let op = match (body[0], body[1]) {
                (0x31, 0x41) => PrinterOp::QrModel(arg),
                (0x31, 0x43) => PrinterOp::QrModuleSize(arg),
                (0x31, 0x45) => PrinterOp::QrErrorCorrection(arg),
                (0x31, 0x50) if body.len() >= 3 => PrinterOp::QrStore(body[3..].to_vec()),
                (0x31, 0x51) => PrinterOp::QrPrint,
                _ => {
                    return Step::Fail(
                        DecodeError::UnknownCommand(data[..7.min(data.len())].to_vec()),
                        used,
                    )
                }
            };
            Step::Op(op, used)
        }
        other => Step::Fail(DecodeError::UnknownCommand(vec![GS, other]), 2),
    }
}

/// Something that ended up on the paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaperItem {
    Text {
        text: PrintedText,
        style: TextStyle,
    },
    Qr {
        payload: String,
        module: u8,
        align: Align,
    },
    Raster {
        image: MonoImage,
        align: Align,
    },
    Feed(u8),
    Cut {
        partial: bool,
    },
    /// Data that arrived while the printer could not print.
    NotPrinted {
        reason: &'static str,
        bytes: usize,
    },
}

/// The paper coming out of the virtual printer.
#[derive(Debug, Clone)]
pub struct Paper {
    pub columns: usize,
    pub dots: usize,
    pub items: Vec<PaperItem>,
    style: TextStyle,
    line: Option<(PrintedText, TextStyle)>,
    qr_module: u8,
    qr_payload: Vec<u8>,
}

impl Paper {
    pub fn new(columns: usize, dots: usize) -> Paper {
        Paper {
            columns,
            dots,
            items: Vec::new(),
            style: TextStyle::default(),
            line: None,
            qr_module: 3,
            qr_payload: Vec::new(),
        }
    }

    pub fn for_profile(profile: &Profile) -> Paper {
        Paper::new(usize::from(profile.columns), usize::from(profile.dots))
    }

    fn end_line(&mut self) {
        if let Some((text, style)) = self.line.take() {
            self.items.push(PaperItem::Text { text, style });
        }
    }

    pub fn apply(&mut self, op: PrinterOp) {
        match op {
            PrinterOp::Init => {
                self.end_line();
                self.style = TextStyle::default();
                self.qr_module = 3;
            }
            PrinterOp::Text(text) => match &mut self.line {
                Some((line, _)) => line.0.push_str(&text),
                None => self.line = Some((text, self.style)),
            },
            PrinterOp::LineFeed => {
                let (text, style) = self
                    .line
                    .take()
                    .unwrap_or((PrintedText::default(), self.style));
                self.items.push(PaperItem::Text { text, style });
            }
            PrinterOp::Align(align) => self.style.align = align,
            PrinterOp::Size(size) => self.style.size = size,
            PrinterOp::Bold(bold) => self.style.bold = bold,
            PrinterOp::Feed(lines) => {
                self.end_line();
                self.items.push(PaperItem::Feed(lines));
            }
            PrinterOp::QrModuleSize(module) => self.qr_module = module.clamp(1, 16),
            PrinterOp::QrStore(payload) => self.qr_payload = payload,
            PrinterOp::QrPrint => {
                self.end_line();
                let payload = String::from_utf8_lossy(&self.qr_payload).into_owned();
                self.items.push(PaperItem::Qr {
                    payload,
                    module: self.qr_module,
                    align: self.style.align,
                });
            }
            PrinterOp::Raster(image) => {
                self.end_line();
                // Consecutive bands of one image join up, as they do on paper.
                if let Some(PaperItem::Raster {
                    image: previous, ..
                }) = self.items.last_mut()
                {
                    if previous.width == image.width {
                        previous.rows.extend_from_slice(&image.rows);
                        previous.height += image.height;
                        return;
                    }
                }
                self.items.push(PaperItem::Raster {
                    image,
                    align: self.style.align,
                });
            }
            PrinterOp::Cut { partial, .. } => {
                self.end_line();
                self.items.push(PaperItem::Cut { partial });
            }
            PrinterOp::ChineseMode(_)
            | PrinterOp::LineSpacing(_)
            | PrinterOp::QrModel(_)
            | PrinterOp::QrErrorCorrection(_)
            | PrinterOp::StatusQuery(_)
            | PrinterOp::AutoStatusBack(_) => {}
        }
    }

    /// The paper as text lines, in the layout of `Receipt::preview_lines`, plus markers for
    /// images (`[raster WxH]`), cuts and data that was not printed.
    pub fn transcript(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for item in &self.items {
            match item {
                PaperItem::Text { text, style } => {
                    let usable = self.columns / usize::from(style.size.width.max(1));
                    lines.push(align_line(text, style.align, usable));
                }
                PaperItem::Qr { payload, .. } => lines.push(format!("[QR] {payload}")),
                PaperItem::Raster { image, .. } => {
                    lines.push(format!("[raster {}x{}]", image.width, image.height))
                }
                PaperItem::Feed(n) => lines.extend((0..*n).map(|_| String::new())),
                PaperItem::Cut { partial: true } => lines.push("[cut partial]".into()),
                PaperItem::Cut { partial: false } => lines.push("[cut full]".into()),
                PaperItem::NotPrinted { reason, bytes } => {
                    lines.push(format!("[not printed: {reason}, {bytes} bytes]"))
                }
            }
        }
        if let Some((text, style)) = &self.line {
            lines.push(align_line(
                text,
                style.align,
                self.columns / usize::from(style.size.width.max(1)),
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_split_input_like_whole_input() {
        let bytes = [
            &[0x1B, 0x40, 0x1C, 0x26][..],
            &encode_gb("重庆¥"),
            &[LF, 0x10, 0x04, 0x01, 0x1D, 0x56, 0x42, 3],
        ]
        .concat();
        let whole = decode_all(&bytes).expect("valid");
        let mut decoder = EscPosDecoder::new();
        let mut split = Vec::new();
        for byte in &bytes {
            split.extend(decoder.push(&[*byte]));
        }
        split.extend(decoder.finish());
        let split: Vec<PrinterOp> = split.into_iter().collect::<Result<_, _>>().expect("valid");
        assert_eq!(whole, split);
        assert!(whole.contains(&PrinterOp::Text("重庆￥".into())));
        assert!(whole.contains(&PrinterOp::StatusQuery(1)));
        assert!(whole.contains(&PrinterOp::Cut {
            partial: true,
            feed: 3
        }));
    }

    fn encode_gb(text: &str) -> Vec<u8> {
        crate::escpos::encode_text(text)
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_all(&[0x1B, 0x7F]).is_err());
        assert!(decode_all(&[0x1D, 0x76, 0x30, 0, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert_eq!(
            decode_all(&[0x1D, 0x28, 0x6B, 9, 0]),
            Err(DecodeError::Truncated(5))
        );
    }
}
