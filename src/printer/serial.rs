//! The serial adapter: the only code that opens a printer port.
//!
//! Writes go in chunks that end on command boundaries, so a status query is never sent inside
//! another command's data. A write blocked by XOFF (or a full buffer) times out in `serialport`;
//! the writer keeps retrying while the printer is merely pausing and gives up only after
//! `stall_limit` without progress. Each chunk is followed by a status query, whose answer comes
//! back only once the printer has read the chunk, so no more than one chunk is ever in flight.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use serialport::SerialPort;

use crate::core::receipt::Receipt;
use crate::printer::escpos::{encode_receipt, status_query, EscPosJob};
use crate::printer::profile::{FlowControl, Profile};
use crate::printer::status::{apply_realtime, PaperLevel, PrinterState, StatusQuery};
use crate::printer::{
    Capabilities, DeviceStatus, JobOutcome, PaperStatus, PrintError, PrinterEvent, PrinterStatus,
    ReceiptPrinter, Refusal,
};

/// How to reach the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSettings {
    pub path: String,
    pub baud: u32,
    pub flow_control: FlowControl,
    /// Timeout of a single read or write call.
    pub io_timeout: Duration,
    /// How long the printer may hold us off (XOFF, CTS low) before the job is abandoned.
    pub stall_limit: Duration,
    /// How long to wait for a status answer beyond the wire time of data still in flight.
    pub status_timeout: Duration,
}

impl PortSettings {
    /// The profile's default baud rate and flow control on `path`.
    pub fn for_profile(path: &str, profile: &Profile) -> PortSettings {
        PortSettings {
            path: path.to_string(),
            baud: profile.baud,
            flow_control: profile.flow_control,
            io_timeout: Duration::from_millis(100),
            stall_limit: Duration::from_secs(10),
            status_timeout: Duration::from_millis(500),
        }
    }

    /// Seconds the wire needs for `bytes` bytes at 8N1 (10 bits per byte).
    pub fn wire_time(&self, bytes: usize) -> Duration {
        Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(self.baud.max(1)))
    }
}

/// All four real-time queries in one write: each is a complete command, answered in order.
fn full_status_query() -> Vec<u8> {
    StatusQuery::ALL
        .iter()
        .flat_map(|query| status_query(*query as u8))
        .collect()
}

enum WriteFailure {
    /// Held off longer than the stall limit after writing `written` bytes.
    Stalled {
        written: usize,
    },
    Gone(std::io::Error),
}

/// Why the last status check found no usable printer, for a technician (the self-test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The port cannot be opened: the reason as the system gives it.
    Open(String),
    /// The port broke off while in use (the cable or USB adapter pulled).
    Lost(String),
    /// The port opened but nothing answered the status query in time.
    Silent,
    /// The answers were garbage: usually a wrong baud rate or flow control.
    Garbled,
    /// The printer held the query off (XOFF or CTS) past the stall limit.
    HeldOff,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreachable::Open(reason) => write!(f, "cannot open the port: {reason}"),
            Unreachable::Lost(reason) => write!(f, "the port broke off: {reason}"),
            Unreachable::Silent => f.write_str("nothing answers the status query"),
            Unreachable::Garbled => f.write_str("the status answers are garbled"),
            Unreachable::HeldOff => f.write_str("the printer holds the line (XOFF / CTS) too long"),
        }
    }
}

/// A receipt printer on a serial port.
pub struct SerialPrinter {
    settings: PortSettings,
    profile: Profile,
    port: Option<Box<dyn SerialPort>>,
    last: Option<PrinterStatus>,
    events: Vec<PrinterEvent>,
    /// Bytes still owed to a command that an abandoned job left half-sent. Until they are sent
    /// (as zeros: white dots, ignored text) the printer would swallow our next bytes as data.
    unfinished_command: usize,
    /// Why the last status check failed, if it did.
    unreachable: Option<Unreachable>,
}

impl SerialPrinter {
    /// Does not open the port yet: the first status check does, and reopens after a failure.
    pub fn new(settings: PortSettings, profile: Profile) -> SerialPrinter {
        SerialPrinter {
            settings,
            profile,
            port: None,
            last: None,
            events: Vec::new(),
            unfinished_command: 0,
            unreachable: None,
        }
    }

    pub fn settings(&self) -> &PortSettings {
        &self.settings
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Why the last status check found no usable printer (`None` after one that answered).
    pub fn unreachable(&self) -> Option<&Unreachable> {
        self.unreachable.as_ref()
    }

    /// Encodes and prints a receipt for this printer's profile.
    pub fn print_receipt(&mut self, receipt: &Receipt) -> Result<JobOutcome, PrintError> {
        let job = encode_receipt(receipt, &self.profile)?;
        self.print(&job)
    }

    fn open(&mut self) -> Result<&mut Box<dyn SerialPort>, serialport::Error> {
        if self.port.is_none() {
            let flow = match self.settings.flow_control {
                FlowControl::None => serialport::FlowControl::None,
                FlowControl::Xonxoff => serialport::FlowControl::Software,
                FlowControl::Rtscts => serialport::FlowControl::Hardware,
            };
            let port = serialport::new(&self.settings.path, self.settings.baud)
                .flow_control(flow)
                .timeout(self.settings.io_timeout)
                .open()?;
            tracing::info!(path = %self.settings.path, baud = self.settings.baud, flow = ?self.settings.flow_control, "printer port opened");
            self.port = Some(port);
        }
        match self.port.as_mut() {
            Some(port) => Ok(port),
            None => Err(serialport::Error::new(
                serialport::ErrorKind::NoDevice,
                "port not open",
            )),
        }
    }

    fn drop_port(&mut self, why: &dyn std::fmt::Display) {
        if self.port.take().is_some() {
            tracing::warn!(path = %self.settings.path, %why, "printer port lost");
        }
    }

    /// Sends the four status queries and reads the four answers. `in_flight` bytes may still
    /// be ahead of the queries on the wire, so the wait allows for their transmission.
    fn query(&mut self, in_flight: usize) -> PrinterStatus {
        let result = self.ask(in_flight);
        match result {
            Ok(status) => {
                self.unreachable = None;
                status
            }
            Err((status, why)) => {
                self.unreachable = Some(why);
                status
            }
        }
    }

    fn ask(&mut self, in_flight: usize) -> Result<PrinterStatus, (PrinterStatus, Unreachable)> {
        let deadline =
            Instant::now() + self.settings.status_timeout + self.settings.wire_time(in_flight + 16);
        let near_end_sensor = self.profile.near_end_sensor;
        let stall_limit = self.settings.stall_limit;
        let owed = std::mem::take(&mut self.unfinished_command);
        let port = match self.open() {
            Ok(port) => port,
            Err(error) => {
                tracing::debug!(%error, "printer port cannot be opened");
                return Err((
                    PrinterStatus::NO_DEVICE,
                    Unreachable::Open(error.to_string()),
                ));
            }
        };
        // Stale bytes (a late answer from an abandoned query) would shift every answer.
        if port.bytes_to_read().unwrap_or(0) > 0 {
            let _ = port.clear(serialport::ClearBuffer::Input);
        }
        let mut query = vec![0; owed];
        query.extend_from_slice(&full_status_query());
        match write_patiently(port.as_mut(), &query, stall_limit) {
            Ok(()) => {}
            Err(WriteFailure::Stalled { written }) => {
                self.unfinished_command = owed.saturating_sub(written);
                tracing::warn!("printer held off the status query");
                return Err((
                    PrinterStatus {
                        device: DeviceStatus::Offline,
                        ..PrinterStatus::NO_DEVICE
                    },
                    Unreachable::HeldOff,
                ));
            }
            Err(WriteFailure::Gone(error)) => {
                self.drop_port(&error);
                return Err((
                    PrinterStatus::NO_DEVICE,
                    Unreachable::Lost(error.to_string()),
                ));
            }
        }
        let mut answers = [0u8; 4];
        let mut got = 0;
        while got < answers.len() {
            match port.read(&mut answers[got..]) {
                Ok(count) => got += count,
                Err(error)
                    if error.kind() == ErrorKind::TimedOut
                        || error.kind() == ErrorKind::Interrupted => {}
                Err(error) => {
                    self.drop_port(&error);
                    return Err((
                        PrinterStatus::NO_DEVICE,
                        Unreachable::Lost(error.to_string()),
                    ));
                }
            }
            if got < answers.len() && Instant::now() >= deadline {
                // Said once, not at every poll while it stays silent.
                if self.unreachable != Some(Unreachable::Silent) {
                    tracing::warn!(answered = got, "printer did not answer the status query");
                }
                // Reopen next time: an adapter unplugged and plugged back in is a new device
                // behind the same path, and the old descriptor may stay silent for ever.
                self.port = None;
                return Err((PrinterStatus::NO_DEVICE, Unreachable::Silent));
            }
        }
        let mut state = PrinterState::READY;
        for (query, byte) in StatusQuery::ALL.into_iter().zip(answers) {
            if let Err(error) = apply_realtime(&mut state, query, byte, near_end_sensor) {
                // Usually a wrong baud rate: the bytes arrive, but as garbage.
                tracing::warn!(%error, "printer status garbled; check baud rate and flow control");
                let _ = self
                    .port
                    .as_mut()
                    .map(|port| port.clear(serialport::ClearBuffer::Input));
                return Err((
                    PrinterStatus {
                        device: DeviceStatus::HardwareError,
                        ..PrinterStatus::NO_DEVICE
                    },
                    Unreachable::Garbled,
                ));
            }
        }
        Ok(status_from_state(state))
    }

    fn record(&mut self, status: PrinterStatus) -> PrinterStatus {
        let previous = self.last.replace(status);
        if previous.map(|p| p.device) != Some(status.device) {
            self.events
                .push(PrinterEvent::DeviceStatusChanged(status.device));
        }
        if status.paper != PaperStatus::Unknown && previous.map(|p| p.paper) != Some(status.paper) {
            self.events.push(PrinterEvent::PaperThreshold(status.paper));
        }
        if previous.is_some_and(|p| p.cover_open != status.cover_open) {
            self.events.push(PrinterEvent::CoverChanged {
                open: status.cover_open,
            });
        }
        status
    }

    fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), WriteFailure> {
        let stall_limit = self.settings.stall_limit;
        let port = self
            .open()
            .map_err(|error| WriteFailure::Gone(error.into()))?;
        write_patiently(port.as_mut(), chunk, stall_limit)
    }

    /// Chunk size: a quarter of the printer's buffer, so a chunk always fits even when the
    /// printer is still working through the previous one.
    fn chunk_limit(&self) -> usize {
        (self.profile.buffer_bytes as usize / 4).max(64)
    }
}

/// Writes all of `data`, waiting while the printer holds us off (a write blocked by XOFF or a
/// full buffer times out and is retried) for at most `stall_limit` without progress.
fn write_patiently(
    port: &mut dyn SerialPort,
    data: &[u8],
    stall_limit: Duration,
) -> Result<(), WriteFailure> {
    let mut written = 0;
    let mut last_progress = Instant::now();
    while written < data.len() {
        match port.write(&data[written..]) {
            Ok(count) if count > 0 => {
                written += count;
                last_progress = Instant::now();
            }
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) =>
            {
                tracing::trace!(written, "printer holding us off (XOFF or buffer full)");
            }
            Err(error) => return Err(WriteFailure::Gone(error)),
        }
        if written < data.len() && last_progress.elapsed() > stall_limit {
            return Err(WriteFailure::Stalled { written });
        }
    }
    Ok(())
}

fn status_from_state(state: PrinterState) -> PrinterStatus {
    let device = if state.unrecoverable_error || state.cutter_error {
        DeviceStatus::HardwareError
    } else if state.online {
        DeviceStatus::Online
    } else {
        DeviceStatus::Offline
    };
    let paper = match state.paper {
        PaperLevel::Full => PaperStatus::Full,
        PaperLevel::Low => PaperStatus::Low,
        PaperLevel::Out => PaperStatus::Out,
    };
    PrinterStatus {
        device,
        paper,
        cover_open: state.cover_open,
        detail: Some(state),
    }
}

impl ReceiptPrinter for SerialPrinter {
    fn status(&mut self) -> PrinterStatus {
        let status = self.query(0);
        self.record(status)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&self.profile)
    }

    fn print(&mut self, job: &EscPosJob) -> Result<JobOutcome, PrintError> {
        let before = self.status();
        if let Some(refusal) = before.refusal() {
            tracing::info!(%refusal, "print job refused");
            return Err(PrintError::Refused(refusal));
        }
        let total = job.bytes.len();
        let mut sent = 0;
        for chunk in job.chunks(self.chunk_limit()) {
            match self.write_chunk(chunk) {
                Ok(()) => sent += chunk.len(),
                Err(WriteFailure::Stalled { written }) => {
                    let sent = sent + written;
                    self.unfinished_command = job.bytes_to_finish_command(sent);
                    tracing::warn!(sent, total, "printer held the job off too long");
                    return Ok(JobOutcome::Incomplete {
                        sent,
                        total,
                        reason: Refusal::Stalled,
                    });
                }
                Err(WriteFailure::Gone(error)) => {
                    self.drop_port(&error);
                    self.record(PrinterStatus::NO_DEVICE);
                    return Ok(JobOutcome::Incomplete {
                        sent,
                        total,
                        reason: Refusal::NoDevice,
                    });
                }
            }
            // At a command boundary: ask, which also waits until the printer has this chunk.
            let status = self.query(chunk.len());
            let status = self.record(status);
            if let Some(reason) = status.refusal() {
                tracing::warn!(%reason, sent, total, "print job stopped part-way");
                return Ok(JobOutcome::Incomplete {
                    sent,
                    total,
                    reason,
                });
            }
        }
        tracing::info!(bytes = total, "print job complete");
        Ok(JobOutcome::Complete { bytes: total })
    }

    fn take_events(&mut self) -> Vec<PrinterEvent> {
        std::mem::take(&mut self.events)
    }
}
