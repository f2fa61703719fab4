//! The serial adapter: the only code that opens an ID card reader's port.
//!
//! One command at a time: stale input is dropped, the frame written, then the reply read as
//! its 7-byte header and exactly LEN more bytes, within the command timeout plus the wire
//! time of what is still to come. A port error or a command left unanswered closes the port;
//! the next command reopens it.

use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};

use serialport::SerialPort;

use crate::core::identity::{mask_name, IdNumber, IdNumberError};
use crate::idcard::protocol::{
    decode_reply, frame_len, mask_id, parse_read_data, CardKind, CardRead, CardText, Command,
    FrameError, Photo, Reply, Status, TextError, HEADER_LEN,
};

/// SAM_A modules talk at 115200 8N1.
pub const DEFAULT_BAUD: u32 = 115_200;

/// How to reach the reader and how patient to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSettings {
    pub path: String,
    pub baud: u32,
    /// How long a reply may take beyond its own wire time (hev-idcard-reader allows 5 s;
    /// a module answers in tens of milliseconds, so 1 s tells a dead one sooner).
    pub command_timeout: Duration,
    /// Tries of `find → select → read` before giving up: a card being laid down is still
    /// moving, and the first try often misses it.
    pub attempts: u32,
    /// Pause between tries.
    pub retry_pause: Duration,
}

impl ReaderSettings {
    pub fn new(path: &str, baud: u32) -> ReaderSettings {
        ReaderSettings {
            path: path.to_string(),
            baud,
            command_timeout: Duration::from_secs(1),
            attempts: 3,
            retry_pause: Duration::from_millis(200),
        }
    }

    /// Time the wire needs for `bytes` bytes at 8N1 (10 bits per byte).
    pub fn wire_time(&self, bytes: usize) -> Duration {
        Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(self.baud.max(1)))
    }
}

/// Why a card could not be read, typed for the shell (the UI turns it into words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadFailure {
    #[error("no card on the reader (find answered 80)")]
    NoCard,
    #[error("the card could not be selected (81)")]
    SelectFailed,
    #[error("reading the card failed (41)")]
    ReadFailed,
    #[error("the reader answered {command:?} with {status}")]
    Status { command: Command, status: Status },
    #[error("the reader's reply is garbled: {0}")]
    Frame(FrameError),
    #[error("the card's data cannot be parsed: {0}")]
    Text(TextError),
    #[error("the card's ID number is not valid: {0}")]
    BadIdNumber(IdNumberError),
    #[error("the reader did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the reader's port {path} cannot be used: {message}")]
    Port { path: String, message: String },
}

impl ReadFailure {
    /// Worth another `find → select → read`: the card moved, or the line garbled a reply.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ReadFailure::NoCard
                | ReadFailure::SelectFailed
                | ReadFailure::ReadFailed
                | ReadFailure::Frame(_)
        )
    }

    /// The reader itself is unreachable (not the card's fault).
    pub fn is_device_problem(&self) -> bool {
        matches!(self, ReadFailure::Timeout(_) | ReadFailure::Port { .. })
    }
}

/// A card that was read: its text (zeroized on drop), the opaque photo and, for cards with a
/// GB 11643 number (resident and `J` cards), the checked ID number. `Debug` is masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCard {
    pub read: CardRead,
    pub id_number: Option<IdNumber>,
}

impl IdCard {
    /// Checks what the card says beyond its layout: a resident or `J` card's ID number must
    /// pass GB 11643's check character.
    pub fn from_read(read: CardRead) -> Result<IdCard, ReadFailure> {
        let id_number = match read.text.kind {
            CardKind::Resident | CardKind::HkMacaoTaiwanResidence => {
                Some(IdNumber::parse(&read.text.id_number).map_err(ReadFailure::BadIdNumber)?)
            }
            CardKind::ForeignPermanentResidence => None,
        };
        Ok(IdCard { read, id_number })
    }

    pub fn text(&self) -> &CardText {
        &self.read.text
    }

    pub fn photo(&self) -> &Photo {
        &self.read.photo
    }

    /// For the screen: `张*芳` (the English name on an `I` card without a Chinese one).
    pub fn masked_name(&self) -> String {
        let text = &self.read.text;
        if text.name.is_empty() {
            mask_name(&text.english_name)
        } else {
            mask_name(&text.name)
        }
    }

    /// For the screen: `500103********1234`.
    pub fn masked_id(&self) -> String {
        match &self.id_number {
            Some(id) => id.masked(),
            None => mask_id(&self.read.text.id_number),
        }
    }
}

/// A SAM_A reader on a serial port. Opens the port on first use.
pub struct IdCardReader {
    settings: ReaderSettings,
    port: Option<Box<dyn SerialPort>>,
}

impl IdCardReader {
    pub fn new(settings: ReaderSettings) -> IdCardReader {
        IdCardReader {
            settings,
            port: None,
        }
    }

    pub fn settings(&self) -> &ReaderSettings {
        &self.settings
    }

    pub fn is_open(&self) -> bool {
        self.port.is_some()
    }

    /// Opens the port now (commands do it themselves when needed).
    pub fn open(&mut self) -> Result<(), ReadFailure> {
        if self.port.is_none() {
            let port = serialport::new(&self.settings.path, self.settings.baud)
                .data_bits(serialport::DataBits::Eight)
                .parity(serialport::Parity::None)
                .stop_bits(serialport::StopBits::One)
                .flow_control(serialport::FlowControl::None)
                // Short reads, so deadlines are checked often; a read returns as soon as
                // bytes are there.
                .timeout(Duration::from_millis(20))
                .open()
                .map_err(|error| self.port_failure(&error))?;
            tracing::info!(path = %self.settings.path, baud = self.settings.baud, "ID card reader port opened");
            self.port = Some(port);
        }
        Ok(())
    }

    /// Closes the port (the next command reopens it).
    pub fn close(&mut self) {
        if self.port.take().is_some() {
            tracing::debug!(path = %self.settings.path, "ID card reader port closed");
        }
    }

    fn port_failure(&self, error: &dyn std::fmt::Display) -> ReadFailure {
        ReadFailure::Port {
            path: self.settings.path.clone(),
            message: error.to_string(),
        }
    }

    /// Sends one command and reads its reply.
    pub fn transact(&mut self, command: Command) -> Result<Reply, ReadFailure> {
        self.open()?;
        let timeout = self.settings.command_timeout;
        let started = Instant::now();
        let frame = command.frame();
        let mut deadline = started + timeout + self.settings.wire_time(frame.len() + HEADER_LEN);
        let result = (|| {
            let port = self
                .port
                .as_mut()
                .ok_or(IoStep::Gone(ErrorKind::NotConnected.into()))?;
            // A late answer to an abandoned command would pass for this one's.
            if port.bytes_to_read().unwrap_or(0) > 0 {
                let _ = port.clear(serialport::ClearBuffer::Input);
            }
            port.write_all(&frame).map_err(IoStep::Gone)?;
            port.flush().map_err(IoStep::Gone)?;
            // The reply may be a card's text and photo.
            let mut reply = zeroize::Zeroizing::new(vec![0u8; HEADER_LEN]);
            read_exact_by(port.as_mut(), &mut reply, deadline)?;
            let total = frame_len(&reply).map_err(IoStep::Frame)?;
            deadline += self.settings.wire_time(total);
            reply.resize(total, 0);
            read_exact_by(port.as_mut(), &mut reply[HEADER_LEN..], deadline)?;
            decode_reply(&reply).map_err(IoStep::Frame)
        })();
        match result {
            Ok(reply) => Ok(reply),
            Err(IoStep::Timeout) => {
                tracing::debug!(?command, "ID card reader did not answer in time");
                // Reopened by the next command: a USB adapter unplugged and plugged back in
                // is a new device behind the same path, and the old descriptor stays mute.
                self.close();
                Err(ReadFailure::Timeout(timeout))
            }
            Err(IoStep::Frame(error)) => {
                // Whatever follows a garbled header belongs to no command.
                if let Some(port) = self.port.as_mut() {
                    let _ = port.clear(serialport::ClearBuffer::Input);
                }
                tracing::debug!(?command, %error, "ID card reader reply garbled");
                Err(ReadFailure::Frame(error))
            }
            Err(IoStep::Gone(error)) => {
                let failure = self.port_failure(&error);
                tracing::warn!(path = %self.settings.path, %error, "ID card reader port lost");
                self.close();
                Err(failure)
            }
        }
    }

    fn expect(&mut self, command: Command, ok: Status) -> Result<Reply, ReadFailure> {
        let reply = self.transact(command)?;
        if reply.status == ok {
            return Ok(reply);
        }
        Err(match (command, reply.status) {
            (Command::FindCard, Status::NoCard) => ReadFailure::NoCard,
            (Command::SelectCard, Status::SelectFailed) => ReadFailure::SelectFailed,
            (Command::ReadText | Command::ReadWithFingerprint, Status::ReadFailed) => {
                ReadFailure::ReadFailed
            }
            (command, status) => ReadFailure::Status { command, status },
        })
    }

    /// The SAM's status (90 healthy, 60 self-test failed).
    pub fn sam_status(&mut self) -> Result<Status, ReadFailure> {
        Ok(self.transact(Command::SamStatus)?.status)
    }

    /// Whether a card is in the field (9F yes, 80 no).
    pub fn find(&mut self) -> Result<bool, ReadFailure> {
        match self.expect(Command::FindCard, Status::CardFound) {
            Ok(_) => Ok(true),
            Err(ReadFailure::NoCard) => Ok(false),
            Err(other) => Err(other),
        }
    }

    pub fn select(&mut self) -> Result<(), ReadFailure> {
        self.expect(Command::SelectCard, Status::Ok).map(|_| ())
    }

    /// 30 01: text and photo of the selected card.
    pub fn read_selected(&mut self) -> Result<IdCard, ReadFailure> {
        let reply = self.expect(Command::ReadText, Status::Ok)?;
        let read = parse_read_data(&reply.data, false).map_err(ReadFailure::Text)?;
        IdCard::from_read(read)
    }

    /// One `find → select → read`, no retries.
    pub fn read_once(&mut self) -> Result<IdCard, ReadFailure> {
        if !self.find()? {
            return Err(ReadFailure::NoCard);
        }
        self.select()?;
        self.read_selected()
    }

    /// `find → select → read`, tried up to `attempts` times while the failure is one a moving
    /// card or a noisy line explains; the last failure otherwise.
    pub fn read_card(&mut self) -> Result<IdCard, ReadFailure> {
        let mut last = ReadFailure::NoCard;
        for attempt in 0..self.settings.attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(self.settings.retry_pause);
            }
            match self.read_once() {
                Ok(card) => return Ok(card),
                Err(failure) if failure.is_retryable() => last = failure,
                Err(failure) => return Err(failure),
            }
        }
        Err(last)
    }
}

enum IoStep {
    Timeout,
    Frame(FrameError),
    Gone(std::io::Error),
}

/// Fills `buffer` from the port before `deadline`.
fn read_exact_by(
    port: &mut dyn SerialPort,
    buffer: &mut [u8],
    deadline: Instant,
) -> Result<(), IoStep> {
    let mut got = 0;
    while got < buffer.len() {
        match port.read(&mut buffer[got..]) {
            // A pty whose other side is gone reads 0 bytes; so does a dead USB adapter.
            Ok(0) => std::thread::sleep(Duration::from_millis(1)),
            Ok(count) => got += count,
            Err(error)
                if error.kind() == ErrorKind::TimedOut
                    || error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(IoStep::Gone(error)),
        }
        if got < buffer.len() && Instant::now() >= deadline {
            return Err(IoStep::Timeout);
        }
    }
    Ok(())
}
