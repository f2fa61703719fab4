//! Receipt printers: ESC/POS over serial.
//!
//! - [`escpos`] and [`status`] are pure protocol code (bytes out, status bytes in), and
//!   [`profile`] describes printer models (`kiosk-config/printers.toml`): all three live in the
//!   `renshe-escpos` crate (with the virtual printer's ESC/POS decoder) and are re-exported
//!   here, so that crate's fuzz targets build without the app.
//! - [`serial`] is the only code that opens a port; [`sim`] is the virtual printer on a pty
//!   that tests and demo mode talk to through the same serial adapter.
//!
//! The device model follows XFS4IoT: a [`DeviceStatus`], a paper status, [`Capabilities`] and
//! [`PrinterEvent`]s, behind the [`ReceiptPrinter`] trait.

pub mod cli;
pub mod serial;
#[cfg(feature = "demo")]
pub mod sim;

pub use renshe_escpos::{escpos, profile, status};

use serde::Serialize;

pub use escpos::{encode_receipt, EscPosJob};
pub use profile::{CutKind, FlowControl, Profile, Profiles};
pub use serial::{PortSettings, SerialPrinter};
#[cfg(feature = "demo")]
pub use sim::{SimCondition, VirtualPrinter};
pub use status::{PaperLevel, PrinterState};

/// XFS4IoT `Common.Status.Device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DeviceStatus {
    Online,
    Offline,
    NoDevice,
    HardwareError,
}

/// XFS4IoT `Printer.Status.Paper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PaperStatus {
    Full,
    Low,
    Out,
    Unknown,
}

/// A printer's status as the kiosk sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterStatus {
    pub device: DeviceStatus,
    pub paper: PaperStatus,
    pub cover_open: bool,
    /// The decoded status bytes, when the printer answered.
    pub detail: Option<PrinterState>,
}

impl PrinterStatus {
    pub const NO_DEVICE: PrinterStatus = PrinterStatus {
        device: DeviceStatus::NoDevice,
        paper: PaperStatus::Unknown,
        cover_open: false,
        detail: None,
    };

    /// The reason a job must not start now, if any: the UI says so before a resident begins
    /// something that promises a receipt.
    pub fn refusal(&self) -> Option<Refusal> {
        match self.device {
            DeviceStatus::NoDevice => Some(Refusal::NoDevice),
            DeviceStatus::HardwareError => Some(Refusal::HardwareError),
            _ if self.cover_open => Some(Refusal::CoverOpen),
            _ if self.paper == PaperStatus::Out => Some(Refusal::PaperOut),
            DeviceStatus::Offline => Some(Refusal::Offline),
            DeviceStatus::Online => None,
        }
    }
}

/// Why printing is impossible (before a job) or stopped (during one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub enum Refusal {
    #[error("the printer is out of paper")]
    PaperOut,
    #[error("the printer's cover is open")]
    CoverOpen,
    #[error("the printer is offline")]
    Offline,
    #[error("no printer answers on the port")]
    NoDevice,
    #[error("the printer reports a hardware error")]
    HardwareError,
    #[error("the printer stopped accepting data (flow control held too long)")]
    Stalled,
}

/// What the printer can do (XFS4IoT `Printer.Capabilities`, the parts a receipt needs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    pub profile: String,
    pub columns: u16,
    pub dots: u16,
    pub native_qr: bool,
    pub near_end_sensor: bool,
    pub cut: CutKind,
    pub presenter: bool,
}

impl Capabilities {
    pub fn of(profile: &Profile) -> Capabilities {
        Capabilities {
            profile: profile.name.clone(),
            columns: profile.columns,
            dots: profile.dots,
            native_qr: profile.native_qr,
            near_end_sensor: profile.near_end_sensor,
            cut: profile.cut,
            presenter: profile.presenter,
        }
    }
}

/// XFS4IoT-style events: `Common.StatusChangedEvent` and `Printer.PaperThresholdEvent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PrinterEvent {
    DeviceStatusChanged(DeviceStatus),
    PaperThreshold(PaperStatus),
    CoverChanged { open: bool },
}

/// How a job ended once it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum JobOutcome {
    Complete {
        bytes: usize,
    },
    /// Stopped or spoiled part-way: the journal offers a reprint once the printer is fixed.
    Incomplete {
        sent: usize,
        total: usize,
        reason: Refusal,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("printing refused: {0}")]
    Refused(Refusal),
    #[error(transparent)]
    Encode(#[from] escpos::EncodeError),
}

/// A receipt printer as the shell uses it.
pub trait ReceiptPrinter {
    /// Asks the printer now; also records events for changes since the last call.
    fn status(&mut self) -> PrinterStatus;
    fn capabilities(&self) -> Capabilities;
    /// Checks status, sends the job, and checks again.
    fn print(&mut self, job: &EscPosJob) -> Result<JobOutcome, PrintError>;
    /// Events since the last call, oldest first.
    fn take_events(&mut self) -> Vec<PrinterEvent>;
}
