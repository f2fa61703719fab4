//! The A4 printer through CUPS over IPP (RFC 8011): is it fit to take a resident's print
//! ([`printer_status`], [`readiness`]), send a PDF ([`print_pdf`]) and learn how the job ended
//! ([`wait_for_job`]).
//!
//! The `ipp` crate's blocking client over plain http to the local cupsd: no TLS stack, and
//! the calls block, so the app makes them from a worker thread. Document contents are never
//! logged or put in an error; the job title is the caller's (a reference number, not a name).

mod client;
mod readiness;
mod spec;
pub mod wire;

pub use client::{print_pdf, printer_status, wait_for_job, JobId, JobOutcome};
pub use readiness::{readiness, Readiness, Reason};
pub use spec::{A4PrinterSpec, BadSpec, DEFAULT_CUPS_HOST};

/// `printer-state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrinterState {
    /// 3
    Idle,
    /// 4
    Processing,
    /// 5
    Stopped,
}

/// What Get-Printer-Attributes said about the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterStatus {
    pub state: PrinterState,
    /// `printer-is-accepting-jobs`.
    pub accepting: bool,
    /// `printer-state-reasons` as sent (`none` included), for a technician's alert.
    pub reasons: Vec<String>,
}

/// Why talking to CUPS failed. No variant carries document contents.
#[derive(Debug, thiserror::Error)]
pub enum CupsError {
    #[error("bad printer URI {0:?}")]
    Uri(String),
    #[error("could not reach CUPS: {0}")]
    Transport(String),
    #[error("CUPS answered {operation} with status 0x{status:04x}")]
    Status {
        operation: &'static str,
        status: u16,
    },
    #[error("the IPP request could not be built: {0}")]
    Request(String),
    #[error("CUPS's answer is not IPP: {0}")]
    Parse(String),
    #[error("CUPS's answer lacks {0}")]
    Missing(&'static str),
    #[error("CUPS's answer has {name} = {value}, not a value RFC 8011 allows")]
    Invalid { name: &'static str, value: i64 },
}
