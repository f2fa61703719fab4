//! The virtual printer: the other end of a pseudo-terminal, playing an ESC/POS printer.
//!
//! [`EscPosDecoder`] (pure, fuzzable) turns bytes into [`PrinterOp`]s; [`Paper`] applies them
//! and yields a text transcript (the same shape as [`Receipt::preview_lines`]) and a PNG picture
//! of the paper. [`VirtualPrinter`] holds the master side of a pty pair, answers `DLE EOT`
//! status queries from a state that tests and demo mode change at run time, and can stall the
//! sender with XOFF or consume at a paced baud rate like a real printer.
//!
//! [`Receipt::preview_lines`]: crate::core::receipt::Receipt::preview_lines

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use serialport::SerialPort;

use crate::core::receipt::{align_line, Align, TextSize, TextStyle};
use crate::printer::escpos::{qr_image, MonoImage, DLE, EOT, ESC, FS, GS, LF};
use crate::printer::profile::Profile;
use crate::printer::status::{encode_asb, encode_realtime, PaperLevel, PrinterState, StatusQuery};

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

    /// Draws the paper as an 8-bit grayscale picture (`dots` wide plus margins).
    pub fn render(&self) -> Result<GrayImage, RenderError> {
        let font = cjk_font()?;
        let margin = 16;
        let width = self.dots + 2 * margin;
        let mut canvas = GrayImage {
            width,
            height: 0,
            pixels: Vec::new(),
        };
        let mut y = margin;
        for item in &self.items {
            match item {
                PaperItem::Text { text, style } => {
                    let height = usize::from(style.size.height) * 24 + 6;
                    canvas.grow(y + height);
                    draw_text(&mut canvas, font, text, *style, self.dots, margin, y);
                    y += height;
                }
                PaperItem::Qr {
                    payload,
                    module,
                    align,
                } => {
                    let image =
                        qr_image(payload, usize::from(*module)).map_err(|_| RenderError::BadQr)?;
                    y = draw_mono(&mut canvas, &image, *align, self.dots, margin, y);
                }
                PaperItem::Raster { image, align } => {
                    y = draw_mono(&mut canvas, image, *align, self.dots, margin, y)
                }
                PaperItem::Feed(lines) => {
                    y += usize::from(*lines) * 30;
                    canvas.grow(y);
                }
                PaperItem::Cut { partial } => {
                    y += 8;
                    canvas.grow(y + 8);
                    let step = if *partial { 6 } else { 12 };
                    for x in (0..width).filter(|x| x % (2 * step) < step) {
                        canvas.pixels[y * width + x] = 96;
                    }
                    y += 16;
                }
                PaperItem::NotPrinted { .. } => {}
            }
        }
        canvas.grow(y + margin);
        Ok(canvas)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no CJK TrueType font found (install fonts-wqy-microhei)")]
    NoFont,
    #[error("a QR payload could not be re-encoded")]
    BadQr,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// An 8-bit grayscale picture, 255 = white.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl GrayImage {
    fn grow(&mut self, height: usize) {
        if height > self.height {
            self.pixels.resize(height * self.width, 255);
            self.height = height;
        }
    }

    fn darken(&mut self, x: usize, y: usize, value: u8) {
        if x < self.width && y < self.height {
            let pixel = &mut self.pixels[y * self.width + x];
            *pixel = (*pixel).min(value);
        }
    }

    /// The picture as a 1-bit image (threshold at half grey), e.g. to send it as raster.
    pub fn to_mono(&self, x_offset: usize, width: usize) -> MonoImage {
        let mut mono = MonoImage::new(width, self.height);
        for y in 0..self.height {
            for x in 0..width {
                if self
                    .pixels
                    .get(y * self.width + x + x_offset)
                    .is_some_and(|&p| p < 128)
                {
                    mono.set(x, y);
                }
            }
        }
        mono
    }

    pub fn write_png(&self, path: &Path) -> Result<(), RenderError> {
        let write_error = |source| RenderError::Write {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::create(path).map_err(write_error)?;
        let mut encoder = png::Encoder::new(
            std::io::BufWriter::new(file),
            self.width as u32,
            self.height as u32,
        );
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.pixels)?;
        writer.finish()?;
        Ok(())
    }
}

const FONT_CANDIDATES: [&str; 3] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
];

/// A CJK font, loaded once: a known path, else whatever fontconfig offers for Chinese.
pub(crate) fn cjk_font() -> Result<&'static FontVec, RenderError> {
    static FONT: OnceLock<Option<FontVec>> = OnceLock::new();
    FONT.get_or_init(|| {
        let mut paths: Vec<PathBuf> = FONT_CANDIDATES.iter().map(PathBuf::from).collect();
        if let Ok(output) = std::process::Command::new("fc-match")
            .args(["-f", "%{file}", "sans:lang=zh-cn"])
            .output()
        {
            paths.push(PathBuf::from(
                String::from_utf8_lossy(&output.stdout).into_owned(),
            ));
        }
        paths.into_iter().find_map(|path| {
            let data = std::fs::read(&path).ok()?;
            let font = FontVec::try_from_vec_and_index(data, 0).ok()?;
            // Only a font that really has Chinese glyphs will do.
            (font.glyph_id('人').0 != 0).then_some(font)
        })
    })
    .as_ref()
    .ok_or(RenderError::NoFont)
}

fn draw_text(
    canvas: &mut GrayImage,
    font: &FontVec,
    text: &str,
    style: TextStyle,
    dots: usize,
    margin: usize,
    top: usize,
) {
    let (sx, sy) = (
        usize::from(style.size.width.max(1)),
        usize::from(style.size.height.max(1)),
    );
    let cell = 12 * sx;
    let columns = crate::core::receipt::text_columns(text);
    let free = dots.saturating_sub(columns * cell);
    let mut x = margin
        + match style.align {
            Align::Left => 0,
            Align::Center => free / 2,
            Align::Right => free,
        };
    let scale = PxScale {
        x: (24 * sx) as f32,
        y: (24 * sy) as f32,
    };
    let scaled = font.as_scaled(scale);
    let baseline =
        top as f32 + scaled.ascent() * (24.0 * sy as f32) / (scaled.ascent() - scaled.descent());
    for c in text.chars() {
        let width = crate::core::receipt::char_columns(c) * cell;
        let glyph_id = font.glyph_id(c);
        let advance = scaled.h_advance(glyph_id);
        let left = x as f32 + (width as f32 - advance).max(0.0) / 2.0;
        let glyph = glyph_id.with_scale_and_position(scale, ab_glyph::point(left, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            let passes = if style.bold { 2 } else { 1 };
            outlined.draw(|gx, gy, coverage| {
                let value = (255.0 * (1.0 - coverage.clamp(0.0, 1.0))) as u8;
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                for pass in 0..passes {
                    if let (Ok(px), Ok(py)) = (usize::try_from(px + pass), usize::try_from(py)) {
                        canvas.darken(px, py, value);
                    }
                }
            });
        }
        x += width;
    }
}

fn draw_mono(
    canvas: &mut GrayImage,
    image: &MonoImage,
    align: Align,
    dots: usize,
    margin: usize,
    top: usize,
) -> usize {
    let free = dots.saturating_sub(image.width);
    let left = margin
        + match align {
            Align::Left => 0,
            Align::Center => free / 2,
            Align::Right => free,
        };
    canvas.grow(top + image.height);
    for y in 0..image.height {
        for x in 0..image.width {
            if image.get(x, y) {
                canvas.darken(left + x, top + y, 0);
            }
        }
    }
    top + image.height
}

/// What the virtual printer reports, set by a test or demo mode at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimCondition {
    Ready,
    NearEnd,
    PaperOut,
    CoverOpen,
    Offline,
    /// Connected but answering nothing (a powered-off printer on a live cable).
    Silent,
}

impl SimCondition {
    fn state(self) -> PrinterState {
        match self {
            SimCondition::Ready | SimCondition::Silent => PrinterState::READY,
            SimCondition::NearEnd => PrinterState {
                paper: PaperLevel::Low,
                ..PrinterState::READY
            },
            SimCondition::PaperOut => PrinterState {
                online: false,
                paper: PaperLevel::Out,
                ..PrinterState::READY
            },
            SimCondition::CoverOpen => PrinterState {
                online: false,
                cover_open: true,
                ..PrinterState::READY
            },
            SimCondition::Offline => PrinterState {
                online: false,
                ..PrinterState::READY
            },
        }
    }

    fn prints(self) -> bool {
        matches!(self, SimCondition::Ready | SimCondition::NearEnd)
    }
}

struct Shared {
    condition: SimCondition,
    paper_out_after: Option<usize>,
    pacing_baud: Option<u32>,
    paper: Paper,
    received: Vec<u8>,
    errors: Vec<String>,
    asb: bool,
    queries_answered: usize,
}

/// A virtual ESC/POS printer on a pseudo-terminal. Dropping it closes the master side, which
/// looks to the application like the printer's cable being pulled.
pub struct VirtualPrinter {
    path: String,
    near_end_sensor: bool,
    shared: Arc<Mutex<Shared>>,
    master: Mutex<serialport::TTYPort>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot create a pseudo-terminal pair: {0}")]
    Pty(#[from] serialport::Error),
    #[error("the pseudo-terminal has no slave path")]
    NoPath,
    #[error("cannot write to the pseudo-terminal: {0}")]
    Io(#[from] std::io::Error),
}

/// `TTYPort::pair` is not thread-safe; every pair in this process is made under this lock.
pub(crate) static PAIR_LOCK: Mutex<()> = Mutex::new(());

impl VirtualPrinter {
    /// Starts a printer of the given profile; the application opens [`VirtualPrinter::path`].
    pub fn start(profile: &Profile) -> Result<VirtualPrinter, SimError> {
        let (master, slave) = {
            let _guard = PAIR_LOCK
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            serialport::TTYPort::pair()?
        };
        let path = slave.name().ok_or(SimError::NoPath)?;
        // The application opens the slave by path itself; keeping our copy open would keep its
        // exclusive lock from being released between opens.
        drop(slave);
        let reader = master.try_clone_native()?;
        let shared = Arc::new(Mutex::new(Shared {
            condition: SimCondition::Ready,
            paper_out_after: None,
            pacing_baud: None,
            paper: Paper::for_profile(profile),
            received: Vec::new(),
            errors: Vec::new(),
            asb: false,
            queries_answered: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let near_end_sensor = profile.near_end_sensor;
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("virtual-printer".into())
                .spawn(move || run_printer(reader, shared, stop, near_end_sensor))?
        };
        tracing::debug!(%path, profile = %profile.name, "virtual printer started");
        Ok(VirtualPrinter {
            path,
            near_end_sensor,
            shared,
            master: Mutex::new(master),
            stop,
            thread: Some(thread),
        })
    }

    /// The serial device path the application opens.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes what the printer reports (and whether it prints) from now on.
    pub fn set_condition(&self, condition: SimCondition) {
        let frame = {
            let mut shared = self.lock();
            shared.condition = condition;
            shared
                .asb
                .then(|| encode_asb(&condition.state(), self.near_end_sensor))
        };
        if let Some(frame) = frame {
            let _ = self.send(&frame);
        }
    }

    pub fn condition(&self) -> SimCondition {
        self.lock().condition
    }

    /// Runs out of paper once `bytes` bytes in total have arrived.
    pub fn paper_out_after(&self, bytes: usize) {
        self.lock().paper_out_after = Some(bytes);
    }

    /// Consumes bytes no faster than a real link at `baud` (8N1), so timing is realistic.
    pub fn pace_at_baud(&self, baud: Option<u32>) {
        self.lock().pacing_baud = baud;
    }

    /// Sends XOFF (`false`) or XON (`true`) to the application, as a printer with a full buffer does.
    pub fn send_flow(&self, resume: bool) -> Result<(), SimError> {
        self.send(&[if resume { 0x11 } else { 0x13 }])
    }

    fn send(&self, bytes: &[u8]) -> Result<(), SimError> {
        let mut master = self
            .master
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        master.write_all(bytes)?;
        Ok(())
    }

    /// Every byte received so far.
    pub fn received(&self) -> Vec<u8> {
        self.lock().received.clone()
    }

    pub fn received_len(&self) -> usize {
        self.lock().received.len()
    }

    pub fn queries_answered(&self) -> usize {
        self.lock().queries_answered
    }

    /// Decoding problems seen so far (garbage on the line).
    pub fn errors(&self) -> Vec<String> {
        self.lock().errors.clone()
    }

    pub fn paper(&self) -> Paper {
        self.lock().paper.clone()
    }

    pub fn transcript(&self) -> Vec<String> {
        self.lock().paper.transcript()
    }

    /// Receipts finished by a cut since the last call, oldest first (demo mode shows and saves
    /// each one); whatever follows the last cut stays on the roll.
    pub fn take_receipts(&self) -> Vec<Paper> {
        let mut shared = self.lock();
        let paper = &mut shared.paper;
        let mut receipts = Vec::new();
        while let Some(cut) = paper
            .items
            .iter()
            .position(|item| matches!(item, PaperItem::Cut { .. }))
        {
            let mut receipt = Paper::new(paper.columns, paper.dots);
            receipt.items = paper.items.drain(..=cut).collect();
            receipts.push(receipt);
        }
        receipts
    }

    /// Forgets the printed paper and received bytes (a new roll, for the next test step).
    pub fn clear(&self) {
        let mut shared = self.lock();
        shared.paper.items.clear();
        shared.received.clear();
        shared.errors.clear();
    }

    /// Waits until `count` bytes have arrived or `timeout` passes; returns whether they did.
    pub fn wait_for_bytes(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.received_len() >= count {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.received_len() >= count
    }

    /// Writes the transcript (`<stem>.txt`) and the paper picture (`<stem>.png`) into `dir`.
    pub fn save(&self, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf), RenderError> {
        let paper = self.paper();
        let text_path = dir.join(format!("{stem}.txt"));
        let png_path = dir.join(format!("{stem}.png"));
        let mut text = paper.transcript().join("\n");
        text.push('\n');
        std::fs::write(&text_path, text).map_err(|source| RenderError::Write {
            path: text_path.clone(),
            source,
        })?;
        paper.render()?.write_png(&png_path)?;
        Ok((text_path, png_path))
    }
}

impl Drop for VirtualPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run_printer(
    mut port: serialport::TTYPort,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    near_end_sensor: bool,
) {
    let _ = port.set_timeout(Duration::from_millis(5));
    let mut decoder = EscPosDecoder::new();
    let mut buffer = [0u8; 64];
    let mut paced_bytes = 0usize;
    let mut paced_since: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let pacing = shared.lock().map(|s| s.pacing_baud).unwrap_or(None);
        // Paced: read at most what the wire could have carried by now, like a real UART.
        let limit = match pacing {
            Some(baud) => {
                let since = *paced_since.get_or_insert_with(Instant::now);
                let allowed = (since.elapsed().as_secs_f64() * f64::from(baud) / 10.0) as usize;
                let budget = allowed.saturating_sub(paced_bytes).min(buffer.len());
                if budget == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                    continue;
                }
                budget
            }
            None => buffer.len(),
        };
        let count = match port.read(&mut buffer[..limit]) {
            Ok(0) => continue,
            Ok(count) => count,
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
                // The line is idle: a paced link restarts its clock with the next byte.
                paced_since = None;
                paced_bytes = 0;
                continue;
            }
            // EIO: no application has the port open right now.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        paced_bytes += count;
        let mut replies = Vec::new();
        {
            let Ok(mut guard) = shared.lock() else { return };
            let state = &mut *guard;
            let before = state.received.len();
            state.received.extend_from_slice(&buffer[..count]);
            if let Some(limit) = state.paper_out_after {
                if before < limit && state.received.len() >= limit {
                    state.condition = SimCondition::PaperOut;
                    if state.asb {
                        replies.extend_from_slice(&encode_asb(
                            &SimCondition::PaperOut.state(),
                            near_end_sensor,
                        ));
                    }
                }
            }
            let mut skipped = false;
            for result in decoder.push(&buffer[..count]) {
                match result {
                    Ok(PrinterOp::StatusQuery(n)) => {
                        if state.condition != SimCondition::Silent {
                            if let Some(query) = StatusQuery::from_n(n) {
                                replies.push(encode_realtime(
                                    &state.condition.state(),
                                    query,
                                    near_end_sensor,
                                ));
                                state.queries_answered += 1;
                            }
                        }
                    }
                    Ok(PrinterOp::AutoStatusBack(n)) => {
                        state.asb = n != 0;
                        if state.asb {
                            replies.extend_from_slice(&encode_asb(
                                &state.condition.state(),
                                near_end_sensor,
                            ));
                        }
                    }
                    Ok(op) if state.condition.prints() => state.paper.apply(op),
                    Ok(_) => skipped = true,
                    Err(error) => state.errors.push(error.to_string()),
                }
            }
            if skipped {
                let reason = match state.condition {
                    SimCondition::PaperOut => "paper out",
                    SimCondition::CoverOpen => "cover open",
                    _ => "offline",
                };
                match state.paper.items.last_mut() {
                    Some(PaperItem::NotPrinted { bytes, .. }) => *bytes += count,
                    _ => state.paper.items.push(PaperItem::NotPrinted {
                        reason,
                        bytes: count,
                    }),
                }
            }
        }
        if !replies.is_empty() {
            let _ = port.write_all(&replies);
        }
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
        crate::printer::escpos::encode_text(text)
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
