//! The virtual ID card reader: the other end of a pseudo-terminal, playing a SAM_A module.
//!
//! Tests and demo mode open [`VirtualIdReader::path`] through the real serial adapter. A card
//! is [`place`](VirtualIdReader::place)d or [`take`](VirtualIdReader::take)n at run time;
//! find answers 9F while a card lies on the reader and 80 otherwise. Faults ([`Fault`]) and
//! link quirks (replies split into small chunks, a slow answer, pacing at a baud rate, since a
//! pty carries bytes at memory speed) reproduce what real modules and cables do.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serialport::SerialPort;
use zeroize::Zeroizing;

use crate::card::sim::demo_residents;
use crate::core::identity::{Gender, Holder, IdNumber};
use crate::idcard::protocol::{
    encode_read_data, encode_reply, CardDay, CardKind, CardRead, CardText, Command, FrameDecoder,
    FrameError, Nation, Photo, Request, Sex, Status, Validity,
};

/// What the virtual module does wrong, until cleared (or once, with
/// [`VirtualIdReader::fault_once`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Find answers 80 although a card lies there.
    NoCard,
    /// Select answers 81.
    SelectFails,
    /// Read answers 41.
    ReadFails,
    /// The read reply (the long one, where line errors land) has a wrong checksum.
    BadChecksum,
    /// The SAM status answers 60.
    SamSelfTestFails,
    /// Nothing is answered at all (a module without power on a live USB adapter).
    Silent,
}

#[derive(Default)]
struct Shared {
    card: Option<CardRead>,
    fault: Option<Fault>,
    once: Option<Fault>,
    chunk: Option<usize>,
    delay: Option<Duration>,
    pacing_baud: Option<u32>,
    commands: Vec<Command>,
    bytes_in: usize,
    bytes_out: usize,
}

impl Shared {
    /// Whether `fault` applies now; a one-shot fault is used up.
    fn faulty(&mut self, fault: Fault) -> bool {
        if self.once == Some(fault) {
            self.once = None;
            return true;
        }
        self.fault == Some(fault)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot create a pseudo-terminal pair: {0}")]
    Pty(#[from] serialport::Error),
    #[error("the pseudo-terminal has no slave path")]
    NoPath,
    #[error("cannot start the virtual reader: {0}")]
    Io(#[from] std::io::Error),
}

/// A virtual SAM_A reader on a pseudo-terminal. Dropping it closes the master side: to the
/// application that looks like the reader's cable being pulled.
pub struct VirtualIdReader {
    path: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VirtualIdReader {
    /// Starts an empty reader; the application opens [`VirtualIdReader::path`].
    pub fn start() -> Result<VirtualIdReader, SimError> {
        let (master, slave) = {
            let _guard = crate::printer::sim::PAIR_LOCK
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            serialport::TTYPort::pair()?
        };
        let path = slave.name().ok_or(SimError::NoPath)?;
        // The application opens the slave itself; our copy would hold its exclusive lock.
        drop(slave);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("virtual-idcard-reader".into())
                .spawn(move || run_reader(master, shared, stop))?
        };
        tracing::debug!(%path, "virtual ID card reader started");
        Ok(VirtualIdReader {
            path,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// Starts a reader with `card` already on it.
    pub fn with_card(card: CardRead) -> Result<VirtualIdReader, SimError> {
        let reader = VirtualIdReader::start()?;
        reader.place(card);
        Ok(reader)
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lays a card on the reader (replacing any other).
    pub fn place(&self, card: CardRead) {
        self.lock().card = Some(card);
    }

    /// Takes the card away.
    pub fn take(&self) {
        self.lock().card = None;
    }

    pub fn has_card(&self) -> bool {
        self.lock().card.is_some()
    }

    /// A fault that lasts until changed; `None` clears it.
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.lock().fault = fault;
    }

    /// A fault for the next command it applies to only.
    pub fn fault_once(&self, fault: Fault) {
        self.lock().once = Some(fault);
    }

    /// Sends every reply in chunks of `bytes` with a short gap between them.
    pub fn split_replies(&self, bytes: Option<usize>) {
        self.lock().chunk = bytes.map(|b| b.max(1));
    }

    /// Waits this long before each reply.
    pub fn slow_answers(&self, delay: Option<Duration>) {
        self.lock().delay = delay;
    }

    /// Carries bytes in both directions no faster than a real 8N1 link at `baud`.
    pub fn pace_at_baud(&self, baud: Option<u32>) {
        self.lock().pacing_baud = baud;
    }

    /// The commands received so far, oldest first.
    pub fn commands(&self) -> Vec<Command> {
        self.lock().commands.clone()
    }

    /// Bytes received from and sent to the application so far.
    pub fn bytes_on_wire(&self) -> (usize, usize) {
        let shared = self.lock();
        (shared.bytes_in, shared.bytes_out)
    }

    /// Forgets the command log and byte counts.
    pub fn clear_log(&self) {
        let mut shared = self.lock();
        shared.commands.clear();
        shared.bytes_in = 0;
        shared.bytes_out = 0;
    }
}

impl Drop for VirtualIdReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How the reply to one command goes out.
struct Outgoing {
    frame: Zeroizing<Vec<u8>>,
    /// The command's own frame length, for pacing.
    request_len: usize,
    delay: Option<Duration>,
    chunk: Option<usize>,
    pacing_baud: Option<u32>,
}

fn answer(shared: &mut Shared, request: &Request) -> Option<Zeroizing<Vec<u8>>> {
    if shared.faulty(Fault::Silent) {
        return None;
    }
    let Some(command) = request.command else {
        return Some(encode_reply(Status::BadCommand, &[]));
    };
    shared.commands.push(command);
    let reply = match command {
        Command::ResetSam | Command::MaxRfBytes => encode_reply(Status::Ok, &[]),
        Command::SamStatus if shared.faulty(Fault::SamSelfTestFails) => {
            encode_reply(Status::SamSelfTestFailed, &[])
        }
        Command::SamStatus => encode_reply(Status::Ok, &[]),
        Command::SamId => encode_reply(Status::Ok, &SAM_ID),
        Command::FindCard if shared.card.is_none() || shared.faulty(Fault::NoCard) => {
            encode_reply(Status::NoCard, &[])
        }
        Command::FindCard => encode_reply(Status::CardFound, &[0; 4]),
        Command::SelectCard if shared.card.is_none() => encode_reply(Status::SelectFailed, &[]),
        Command::SelectCard if shared.faulty(Fault::SelectFails) => {
            encode_reply(Status::SelectFailed, &[])
        }
        Command::SelectCard => encode_reply(Status::Ok, &[0; 8]),
        Command::ReadText | Command::ReadWithFingerprint => {
            if shared.faulty(Fault::ReadFails) {
                return Some(encode_reply(Status::ReadFailed, &[]));
            }
            let Some(card) = shared.card.as_ref() else {
                return Some(encode_reply(Status::ReadFailed, &[]));
            };
            let Ok(text) = card.text.encode() else {
                return Some(encode_reply(Status::InfoLengthError, &[]));
            };
            let fingerprint = (command == Command::ReadWithFingerprint).then_some(&[][..]);
            let data = encode_read_data(&text, card.photo.as_bytes(), fingerprint);
            let mut frame = encode_reply(Status::Ok, &data);
            if shared.faulty(Fault::BadChecksum) {
                if let Some(last) = frame.last_mut() {
                    *last ^= 0x5A;
                }
            }
            frame
        }
    };
    Some(reply)
}

/// A SAM id of the documented shape (16 bytes: ids at 10, 12, 14, 18, 22).
const SAM_ID: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0x20, 0x19, 0x10, 0x01, 1, 0];

fn wire_time(bytes: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(baud.max(1)))
}

fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        std::thread::sleep(at - now);
    }
}

fn send(port: &mut serialport::TTYPort, out: &Outgoing) {
    if let Some(delay) = out.delay {
        std::thread::sleep(delay);
    }
    let bytes = out.frame.as_slice();
    match (out.pacing_baud, out.chunk) {
        (Some(baud), chunk) => {
            // Each piece leaves when its last byte would have crossed a real line.
            let piece = chunk.unwrap_or(8);
            let started = Instant::now();
            let mut sent = 0;
            for part in bytes.chunks(piece) {
                sent += part.len();
                sleep_until(started + wire_time(sent, baud));
                let _ = port.write_all(part);
            }
        }
        (None, Some(chunk)) => {
            for part in bytes.chunks(chunk) {
                let _ = port.write_all(part);
                let _ = port.flush();
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        (None, None) => {
            let _ = port.write_all(bytes);
        }
    }
    let _ = port.flush();
}

fn run_reader(mut port: serialport::TTYPort, shared: Arc<Mutex<Shared>>, stop: Arc<AtomicBool>) {
    let _ = port.set_timeout(Duration::from_millis(5));
    let mut decoder = FrameDecoder::new();
    let mut buffer = [0u8; 64];
    let mut first_byte_at: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let count = match port.read(&mut buffer) {
            Ok(0) => continue,
            Ok(count) => count,
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => continue,
            // EIO: no application has the port open right now.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        first_byte_at.get_or_insert_with(Instant::now);
        decoder.push(&buffer[..count]);
        let mut replies = Vec::new();
        {
            let Ok(mut guard) = shared.lock() else { return };
            let state = &mut *guard;
            state.bytes_in += count;
            while let Some(frame) = decoder.next_frame() {
                let mut request_len = 0;
                let reply = match frame {
                    Ok(frame) => match Request::from_frame(&frame) {
                        Ok(request) => {
                            request_len = frame.body.len() + 8;
                            answer(state, &request)
                        }
                        Err(_) => Some(encode_reply(Status::LengthError, &[])),
                    },
                    Err(FrameError::BadChecksum { .. }) => {
                        Some(encode_reply(Status::ChecksumError, &[]))
                    }
                    Err(FrameError::BadLength(_)) => Some(encode_reply(Status::LengthError, &[])),
                    Err(_) => None,
                };
                if let Some(frame) = reply {
                    state.bytes_out += frame.len();
                    replies.push(Outgoing {
                        frame,
                        request_len,
                        delay: state.delay,
                        chunk: state.chunk,
                        pacing_baud: state.pacing_baud,
                    });
                }
            }
        }
        for out in &replies {
            // Paced: the command itself took its wire time to arrive.
            if let (Some(baud), Some(first)) = (out.pacing_baud, first_byte_at) {
                sleep_until(first + wire_time(out.request_len, baud));
            }
            send(&mut port, out);
        }
        if decoder.buffered() == 0 {
            first_byte_at = None;
        }
    }
}

fn sex_of(gender: Gender) -> Sex {
    match gender {
        Gender::Male => Sex::Male,
        Gender::Female => Sex::Female,
        Gender::Unknown => Sex::Unknown,
    }
}

/// Where a demo resident lives, by the region code of their ID number.
fn district_of(id: &IdNumber) -> (&'static str, &'static str) {
    match id.region_code() {
        "500101" => ("万州区", "高笋塘街道白岩路12号"),
        "500103" => ("渝中区", "解放碑街道民族路168号3单元5-2"),
        "500105" => ("江北区", "观音桥街道建新北路66号"),
        "500106" => ("沙坪坝区", "小龙坎街道小龙坎正街88号"),
        "500112" => ("渝北区", "龙溪街道红锦大道56号2栋8-1"),
        _ => ("渝中区", "七星岗街道中山一路1号"),
    }
}

fn day(year: u16, month: u8, day: u8) -> CardDay {
    CardDay::new(year, month, day).unwrap_or_default()
}

/// A WLT-sized photo: opaque bytes, different per card.
fn demo_photo(seed: u32) -> Photo {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let bytes = (0..crate::idcard::protocol::PHOTO_LEN)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    Photo::new(bytes)
}

fn card_for(
    holder: &Holder,
    nation: u8,
    valid_from: CardDay,
    valid_to: Validity,
    seed: u32,
) -> CardRead {
    let (district, street) = district_of(&holder.id_number);
    CardRead {
        text: CardText {
            kind: CardKind::Resident,
            name: holder.name.clone(),
            english_name: String::new(),
            sex: sex_of(holder.gender),
            nation: Nation::new(nation),
            birth: holder
                .birth_date
                .and_then(|d| CardDay::new(d.year, d.month, d.day))
                .unwrap_or_default(),
            address: format!("重庆市{district}{street}"),
            id_number: holder.id_number.as_str().to_owned(),
            authority: format!("重庆市公安局{district}分局"),
            valid_from,
            valid_to,
            pass_number: String::new(),
            issue_count: String::new(),
            nationality: String::new(),
            version: String::new(),
        },
        photo: demo_photo(seed),
        fingerprint: None,
    }
}

/// The demo ID cards: one for each demo resident (`card::sim::demo_residents()`, same index,
/// same name, ID number, sex and birth date), then 陈永川 (index 4), who has an ID card but
/// no social security card in the demo tray.
pub fn demo_id_cards() -> Vec<CardRead> {
    let validity: [(u8, CardDay, Validity); 4] = [
        (1, day(2012, 4, 18), Validity::Until(day(2032, 4, 18))),
        (1, day(2019, 9, 3), Validity::Until(day(2039, 9, 3))),
        // 土家族, a 16–25-year-old's ten-year card.
        (15, day(2021, 7, 1), Validity::Until(day(2031, 7, 1))),
        // Issued at 56: 长期.
        (1, day(2014, 5, 20), Validity::LongTerm),
    ];
    let mut cards: Vec<CardRead> = demo_residents()
        .iter()
        .zip(validity)
        .zip(1u32..)
        .map(|((holder, (nation, from, to)), seed)| card_for(holder, nation, from, to, seed))
        .collect();
    if let Some(extra) = extra_holder() {
        cards.push(card_for(
            &extra,
            1,
            day(2010, 11, 2),
            Validity::Until(day(2030, 11, 2)),
            99,
        ));
    }
    cards
}

/// 陈永川 of 江北区: a resident with an ID card only.
fn extra_holder() -> Option<Holder> {
    let id_number = IdNumber::from_body("50010519790816173").ok()?;
    let mut holder = demo_residents().into_iter().next()?;
    holder.name = "陈永川".to_owned();
    holder.gender = Gender::Male;
    holder.birth_date = crate::core::identity::CardDate::new(1979, 8, 16);
    holder.id_number = id_number;
    Some(holder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_id_cards_match_the_demo_residents_and_add_one() {
        let cards = demo_id_cards();
        let residents = demo_residents();
        assert_eq!(cards.len(), residents.len() + 1);
        for (card, resident) in cards.iter().zip(&residents) {
            assert_eq!(card.text.name, resident.name);
            assert_eq!(card.text.id_number, resident.id_number.as_str());
            assert!(card.text.address.starts_with("重庆市"));
            assert!(card.text.authority.starts_with("重庆市公安局"));
            card.text.encode().expect("every field fits");
        }
        let extra = &cards[residents.len()];
        assert!(IdNumber::parse(&extra.text.id_number).is_ok());
        assert!(residents
            .iter()
            .all(|r| r.id_number.as_str() != extra.text.id_number));
        assert!(cards.iter().any(|c| c.text.valid_to == Validity::LongTerm));
    }
}
