//! The virtual printer: the other end of a pseudo-terminal, playing an ESC/POS printer.
//!
//! The decoder and the paper are pure protocol code in `renshe-escpos` (re-exported here):
//! [`EscPosDecoder`] turns bytes into [`PrinterOp`]s; [`Paper`] applies them and yields a text
//! transcript (the same shape as [`Receipt::preview_lines`]); [`RenderPaper`] draws it as a PNG
//! picture with a CJK font. [`VirtualPrinter`] holds the master side of a pty pair, answers
//! `DLE EOT` status queries from a state that tests and demo mode change at run time, and can
//! stall the sender with XOFF or consume at a paced baud rate like a real printer.
//!
//! [`Receipt::preview_lines`]: crate::core::receipt::Receipt::preview_lines

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use serialport::SerialPort;

pub use renshe_escpos::decode::{
    decode_all, DecodeError, EscPosDecoder, Paper, PaperItem, PrintedText, PrinterOp,
};

use crate::core::receipt::{Align, TextStyle};
use crate::printer::escpos::{qr_image, MonoImage};
use crate::printer::profile::Profile;
use crate::printer::status::{encode_asb, encode_realtime, PaperLevel, PrinterState, StatusQuery};

/// Drawing a [`Paper`] as a picture (a font from the file system, so not in the pure crate).
pub trait RenderPaper {
    /// Draws the paper as an 8-bit grayscale picture (`dots` wide plus margins).
    fn render(&self) -> Result<GrayImage, RenderError>;
}

impl RenderPaper for Paper {
    fn render(&self) -> Result<GrayImage, RenderError> {
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

/// A CJK font, loaded once: a known path, else whatever fontconfig offers for Chinese. The
/// file is memory-mapped, not read: its pages are the page cache's, shared with the window's
/// own mapping of the same font, and only those a receipt touches are resident.
pub(crate) fn cjk_font() -> Result<&'static FontRef<'static>, RenderError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
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
        paths.into_iter().find_map(|path| map_font(&path))
    })
    .as_ref()
    .ok_or(RenderError::NoFont)
}

/// The font in the file, if it has Chinese glyphs: mapped read-only for the rest of the
/// process (a file that is not such a font is unmapped at once).
#[allow(unsafe_code)]
fn map_font(path: &std::path::Path) -> Option<FontRef<'static>> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: a mapping is undefined behaviour only if the file changes while mapped. These
    // are system font files, replaced (new inode) rather than rewritten when a package
    // updates them, so the mapped bytes stay as they were.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let probe = FontRef::try_from_slice_and_index(&map, 0).ok()?;
    // Only a font that really has Chinese glyphs will do.
    if probe.glyph_id('人').0 == 0 {
        return None;
    }
    let data: &'static [u8] = Box::leak(Box::new(map));
    FontRef::try_from_slice_and_index(data, 0).ok()
}

fn draw_text(
    canvas: &mut GrayImage,
    font: &FontRef<'static>,
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
