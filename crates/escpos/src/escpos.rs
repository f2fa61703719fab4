//! Receipt → ESC/POS bytes. Pure: no I/O, no clock.
//!
//! Text goes as GB18030 in Chinese mode, QR codes natively (`GS ( k`) or, for profiles without
//! native QR, as raster bands small enough for a serial link. The job also records the offsets
//! where each command ends, so the serial writer only ever pauses (and asks for status) between
//! commands, never inside one.

use qrcode::{Color, EcLevel, QrCode};

use crate::profile::{CutKind, Profile};
use renshe_core::receipt::{Align, Receipt, ReceiptBlock, TextStyle};

pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;
pub const DLE: u8 = 0x10;
pub const EOT: u8 = 0x04;
pub const LF: u8 = 0x0A;

/// Rows per raster band: small bands keep each command short over a slow link.
pub const RASTER_BAND_ROWS: usize = 24;
/// The QR module size we aim for (dots); the profile may allow less.
pub const PREFERRED_QR_MODULE: u8 = 6;
/// Dots a normal text line advances (24-dot font).
pub const LINE_DOTS: u8 = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("QR payload of {0} bytes does not fit in a QR code")]
    QrTooLong(usize),
    #[error("raster image of {width}x{height} dots is too large for one command")]
    RasterTooLarge { width: usize, height: usize },
}

/// Encoded bytes plus the command boundaries inside them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EscPosJob {
    pub bytes: Vec<u8>,
    /// Offsets (ascending, the last equal to `bytes.len()`) where a command ends.
    pub boundaries: Vec<usize>,
}

impl EscPosJob {
    fn command(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
        self.boundaries.push(self.bytes.len());
    }

    /// How many bytes the command containing `offset` still needs after it (0 on a boundary).
    pub fn bytes_to_finish_command(&self, offset: usize) -> usize {
        self.boundaries
            .iter()
            .find(|&&end| end >= offset)
            .map_or(0, |end| end - offset)
    }

    /// Splits the job into chunks of at most `limit` bytes that end on command boundaries (a
    /// single command longer than `limit` becomes its own chunk).
    pub fn chunks(&self, limit: usize) -> Vec<&[u8]> {
        let mut chunks = Vec::new();
        let mut start = 0;
        let mut last_fit = 0;
        for &end in &self.boundaries {
            if end - start > limit && last_fit > start {
                chunks.push(&self.bytes[start..last_fit]);
                start = last_fit;
            }
            if end - start > limit {
                chunks.push(&self.bytes[start..end]);
                start = end;
            }
            last_fit = end;
        }
        if start < self.bytes.len() {
            chunks.push(&self.bytes[start..]);
        }
        chunks
    }
}

/// A 1-bit image, MSB first, `width_bytes` per row; `true`/1 = a black dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonoImage {
    pub width: usize,
    pub height: usize,
    pub rows: Vec<u8>,
}

impl MonoImage {
    pub fn new(width: usize, height: usize) -> MonoImage {
        MonoImage {
            width,
            height,
            rows: vec![0; width.div_ceil(8) * height],
        }
    }

    pub fn width_bytes(&self) -> usize {
        self.width.div_ceil(8)
    }

    pub fn set(&mut self, x: usize, y: usize) {
        if x < self.width && y < self.height {
            let index = y * self.width_bytes() + x / 8;
            self.rows[index] |= 0x80 >> (x % 8);
        }
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.height
            && self.rows[y * self.width_bytes() + x / 8] & (0x80 >> (x % 8)) != 0
    }
}

/// The QR symbol for `payload` as modules (true = dark), error correction M (as sent natively).
pub fn qr_modules(payload: &str) -> Result<(usize, Vec<bool>), EncodeError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|_| EncodeError::QrTooLong(payload.len()))?;
    let modules = code
        .to_colors()
        .into_iter()
        .map(|color| color == Color::Dark)
        .collect();
    Ok((code.width(), modules))
}

/// The QR module size used for `profile`.
pub fn qr_module_size(profile: &Profile) -> u8 {
    PREFERRED_QR_MODULE.min(profile.qr_module_max).max(1)
}

/// The QR symbol as a 1-bit image, `module` dots per module, without a quiet zone (the white
/// paper around it is one), matching what the printer draws natively.
pub fn qr_image(payload: &str, module: usize) -> Result<MonoImage, EncodeError> {
    let (width, modules) = qr_modules(payload)?;
    let mut image = MonoImage::new(width * module, width * module);
    for (index, dark) in modules.iter().enumerate() {
        if *dark {
            let (mx, my) = (index % width, index / width);
            for dy in 0..module {
                for dx in 0..module {
                    image.set(mx * module + dx, my * module + dy);
                }
            }
        }
    }
    Ok(image)
}

/// GB18030 bytes of `text` for a Chinese-mode printer. `¥` has no GBK code and becomes `￥`;
/// characters outside GBK (4-byte GB18030) become a full-width `？` so the column count holds;
/// control characters become spaces so text can never smuggle in a command.
pub fn encode_text(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buffer = [0u8; 4];
    for c in text.chars() {
        let c = match c {
            '\u{a5}' => '￥',
            c if c.is_control() => ' ',
            c => c,
        };
        if c.is_ascii() {
            out.push(c as u8);
            continue;
        }
        let (bytes, _, _) = encoding_rs::GB18030.encode(c.encode_utf8(&mut buffer));
        if bytes.len() == 2 {
            out.extend_from_slice(&bytes);
        } else {
            out.extend_from_slice(&[0xA3, 0xBF]);
        }
    }
    out
}

/// Builds a job command by command, sending style commands only when the style changes.
pub struct Encoder<'a> {
    profile: &'a Profile,
    job: EscPosJob,
    style: TextStyle,
}

impl<'a> Encoder<'a> {
    /// Starts a job: initialize, and Chinese mode if the profile needs it.
    pub fn new(profile: &'a Profile) -> Encoder<'a> {
        let mut job = EscPosJob::default();
        job.command(&[ESC, b'@']);
        if profile.chinese_mode {
            job.command(&[FS, b'&']);
        }
        Encoder {
            profile,
            job,
            style: TextStyle::default(),
        }
    }

    fn set_style(&mut self, style: TextStyle) {
        if style.align != self.style.align {
            self.job.command(&[ESC, b'a', align_code(style.align)]);
        }
        if style.size != self.style.size {
            let width = style.size.width.clamp(1, 8) - 1;
            let height = style.size.height.clamp(1, 8) - 1;
            self.job.command(&[GS, b'!', (width << 4) | height]);
        }
        if style.bold != self.style.bold {
            self.job.command(&[ESC, b'E', u8::from(style.bold)]);
        }
        self.style = style;
    }

    /// One line of text (the caller wraps it to the paper's width).
    pub fn line(&mut self, text: &str, style: TextStyle) {
        self.set_style(style);
        let mut bytes = encode_text(text);
        bytes.push(LF);
        self.job.command(&bytes);
    }

    pub fn rule(&mut self) {
        let columns = usize::from(self.profile.columns);
        self.line(&"-".repeat(columns), TextStyle::default());
    }

    /// A centred QR code: native where the profile has it, raster bands otherwise.
    pub fn qr(&mut self, payload: &str) -> Result<(), EncodeError> {
        let module = qr_module_size(self.profile);
        self.set_style(TextStyle {
            align: Align::Center,
            ..TextStyle::default()
        });
        if self.profile.native_qr {
            // Fail early on payloads that no QR version can hold, as the printer would silently.
            qr_modules(payload)?;
            self.job
                .command(&[GS, b'(', b'k', 4, 0, 0x31, 0x41, 0x32, 0x00]);
            self.job
                .command(&[GS, b'(', b'k', 3, 0, 0x31, 0x43, module]);
            self.job.command(&[GS, b'(', b'k', 3, 0, 0x31, 0x45, 0x31]);
            let length = payload.len() + 3;
            let mut store = vec![
                GS,
                b'(',
                b'k',
                (length & 0xFF) as u8,
                (length >> 8) as u8,
                0x31,
                0x50,
                0x30,
            ];
            store.extend_from_slice(payload.as_bytes());
            self.job.command(&store);
            self.job.command(&[GS, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
        } else {
            let image = qr_image(payload, usize::from(module))?;
            self.raster(&image)?;
        }
        self.job.command(&[LF]);
        Ok(())
    }

    /// A 1-bit image as `GS v 0` bands of [`RASTER_BAND_ROWS`] rows.
    pub fn raster(&mut self, image: &MonoImage) -> Result<(), EncodeError> {
        let width_bytes = image.width_bytes();
        if width_bytes > 0xFFFF || image.width > usize::from(self.profile.dots) {
            return Err(EncodeError::RasterTooLarge {
                width: image.width,
                height: image.height,
            });
        }
        for band_start in (0..image.height).step_by(RASTER_BAND_ROWS) {
            let rows = RASTER_BAND_ROWS.min(image.height - band_start);
            let mut command = vec![
                GS,
                b'v',
                b'0',
                0,
                (width_bytes & 0xFF) as u8,
                (width_bytes >> 8) as u8,
                (rows & 0xFF) as u8,
                (rows >> 8) as u8,
            ];
            command.extend_from_slice(
                &image.rows[band_start * width_bytes..(band_start + rows) * width_bytes],
            );
            self.job.command(&command);
        }
        Ok(())
    }

    pub fn feed(&mut self, lines: u8) {
        if lines > 0 {
            self.job.command(&[ESC, b'd', lines]);
        }
    }

    /// Feeds past the cutter and cuts as the profile allows, then finishes the job.
    pub fn finish(mut self) -> EscPosJob {
        let feed = self.profile.feed_before_cut;
        match self.profile.cut {
            CutKind::None => self.feed(feed),
            CutKind::Full => {
                self.feed(feed);
                self.job.command(&[GS, b'V', 0]);
            }
            CutKind::Partial => {
                self.feed(feed);
                self.job.command(&[GS, b'V', 1]);
            }
            CutKind::FeedFull => self
                .job
                .command(&[GS, b'V', 65, feed.saturating_mul(LINE_DOTS)]),
            CutKind::FeedPartial => {
                self.job
                    .command(&[GS, b'V', 66, feed.saturating_mul(LINE_DOTS)])
            }
        }
        self.job
    }
}

fn align_code(align: Align) -> u8 {
    match align {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    }
}

/// Encodes laid-out blocks (see [`Receipt::layout`]) into one job ending in a cut.
pub fn encode_blocks(blocks: &[ReceiptBlock], profile: &Profile) -> Result<EscPosJob, EncodeError> {
    let mut encoder = Encoder::new(profile);
    for block in blocks {
        match block {
            ReceiptBlock::Line { text, style } => encoder.line(text, *style),
            ReceiptBlock::Rule => encoder.rule(),
            ReceiptBlock::Qr { payload } => encoder.qr(payload)?,
            ReceiptBlock::Feed(lines) => encoder.feed(*lines),
        }
    }
    Ok(encoder.finish())
}

/// A receipt laid out for the profile's width and encoded.
pub fn encode_receipt(receipt: &Receipt, profile: &Profile) -> Result<EscPosJob, EncodeError> {
    encode_blocks(&receipt.layout(usize::from(profile.columns)), profile)
}

/// A whole page sent as one raster image (in bands): the baseline that native text and QR beat.
pub fn encode_raster_page(image: &MonoImage, profile: &Profile) -> Result<EscPosJob, EncodeError> {
    let mut encoder = Encoder::new(profile);
    encoder.raster(image)?;
    Ok(encoder.finish())
}

/// `DLE EOT n`: the real-time status query.
pub fn status_query(n: u8) -> [u8; 3] {
    [DLE, EOT, n]
}

/// `GS a n`: enable (n ≠ 0) or disable automatic status back.
pub fn automatic_status_back(n: u8) -> [u8; 3] {
    [GS, b'a', n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profiles;
    use renshe_core::receipt::TextSize;

    fn profile(name: &str) -> Profile {
        Profiles::bundled()
            .expect("bundled")
            .get(name)
            .expect("profile")
            .clone()
    }

    #[test]
    fn yen_and_cjk_encode_as_gbk() {
        assert_eq!(encode_text("¥1"), vec![0xA3, 0xA4, b'1']);
        assert_eq!(encode_text("人"), vec![0xC8, 0xCB]);
        assert_eq!(encode_text("a\x1bb"), b"a b".to_vec());
        // An emoji is 4 bytes in GB18030, which GBK printers cannot print.
        assert_eq!(encode_text("😀"), vec![0xA3, 0xBF]);
    }

    #[test]
    fn size_bold_align_bytes() {
        let profile = profile("generic-58");
        let mut encoder = Encoder::new(&profile);
        encoder.line(
            "A",
            TextStyle {
                align: Align::Center,
                size: TextSize::DOUBLE,
                bold: true,
            },
        );
        let job = encoder.finish();
        let expected_start = [
            0x1B, 0x40, 0x1C, 0x26, 0x1B, 0x61, 1, 0x1D, 0x21, 0x11, 0x1B, 0x45, 1, b'A', LF,
        ];
        assert_eq!(&job.bytes[..expected_start.len()], &expected_start);
        assert_eq!(
            &job.bytes[job.bytes.len() - 6..],
            &[0x1B, 0x64, 3, 0x1D, 0x56, 1]
        );
    }

    #[test]
    fn native_qr_store_length() {
        let profile = profile("generic-80");
        let mut encoder = Encoder::new(&profile);
        encoder.qr("abc").expect("short payload");
        let job = encoder.finish();
        let store = [0x1D, 0x28, 0x6B, 6, 0, 0x31, 0x50, 0x30, b'a', b'b', b'c'];
        assert!(job.bytes.windows(store.len()).any(|w| w == store));
        assert_eq!(&job.bytes[job.bytes.len() - 4..], &[0x1D, 0x56, 66, 72]);
    }

    #[test]
    fn raster_fallback_is_banded() {
        let profile = profile("generic-58-raster-qr");
        let mut encoder = Encoder::new(&profile);
        encoder.qr("https://rs.cq.gov.cn/v/1").expect("fits");
        let job = encoder.finish();
        let bands = job
            .bytes
            .windows(3)
            .filter(|w| w == &[GS, b'v', b'0'])
            .count();
        assert!(bands > 1, "{bands} bands");
        assert!(!job.bytes.windows(3).any(|w| w == [GS, b'(', b'k']));
    }

    #[test]
    fn bytes_to_finish_a_half_sent_command() {
        let profile = profile("generic-58");
        let mut encoder = Encoder::new(&profile);
        encoder.line("abc", TextStyle::default());
        let job = encoder.finish();
        // ESC @, FS &, then "abc\n" ends at 8.
        assert_eq!(job.bytes_to_finish_command(4), 0);
        assert_eq!(job.bytes_to_finish_command(5), 3);
        assert_eq!(job.bytes_to_finish_command(job.bytes.len()), 0);
        assert_eq!(job.bytes_to_finish_command(job.bytes.len() + 9), 0);
    }

    #[test]
    fn chunks_end_on_boundaries() {
        let profile = profile("generic-58-raster-qr");
        let mut encoder = Encoder::new(&profile);
        encoder.qr("https://rs.cq.gov.cn/v/1").expect("fits");
        encoder.line("end", TextStyle::default());
        let job = encoder.finish();
        let chunks = job.chunks(512);
        assert_eq!(chunks.concat(), job.bytes);
        let mut offset = 0;
        for chunk in chunks {
            offset += chunk.len();
            assert!(job.boundaries.contains(&offset));
        }
    }
}
