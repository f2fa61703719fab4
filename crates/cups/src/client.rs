//! The three IPP operations the kiosk needs, each a blocking request to cupsd.

use std::fmt;
use std::io::Cursor;
use std::time::{Duration, Instant};

use ipp::client::blocking::IppClient;
use ipp::operation::builder::IppOperationBuilder;
use ipp::operation::IppOperation;
use ipp::payload::IppPayload;
use ipp::request::IppRequestResponse;

use crate::wire::{check_status, contain_panic, job_id_from, job_state_from, printer_status_from};
use crate::{CupsError, PrinterStatus};

/// Any one request: cupsd is local, so more than this means it is hung.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(200);
/// `requesting-user-name`: not a local account, so cups-pdf files land in its ANONYMOUS
/// folder, and no resident's name is ever a user name.
const USER: &str = "renshe-kiosk";

/// A CUPS job on the queue it was sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobId(pub i32);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How a job ended, as far as CUPS says in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// job-state 9: the only success.
    Completed,
    /// 7
    Canceled,
    /// 8
    Aborted,
    /// No final state before the deadline (still pending or processing — a stuck job is a
    /// fault too), or no answer: the outcome is unknown, not failed.
    Unknown,
}

fn uri(queue_uri: &str) -> Result<http::Uri, CupsError> {
    queue_uri
        .parse::<http::Uri>()
        .map_err(|_| CupsError::Uri(queue_uri.to_string()))
}

fn send(
    uri: &http::Uri,
    op: impl IppOperation,
    timeout: Duration,
) -> Result<IppRequestResponse, CupsError> {
    let client = IppClient::builder(uri.clone())
        .request_timeout(timeout)
        .build();
    // send() parses the answer with the same parser: contain its panics here too.
    // Nothing outlives a panic here but the error: the client and request are dropped.
    contain_panic(std::panic::AssertUnwindSafe(move || {
        client
            .send(op)
            .map_err(|e| CupsError::Transport(e.to_string()))
    }))
}

fn built<T>(op: Result<T, ipp::parser::IppParseError>) -> Result<T, CupsError> {
    op.map_err(|e| CupsError::Request(e.to_string()))
}

/// Get-Printer-Attributes: state, accepting, reasons. Ask before showing the print menu and
/// again right before [`print_pdf`].
pub fn printer_status(queue_uri: &str) -> Result<PrinterStatus, CupsError> {
    let uri = uri(queue_uri)?;
    let op = built(
        IppOperationBuilder::get_printer_attributes(uri.clone())
            .attributes([
                "printer-state",
                "printer-is-accepting-jobs",
                "printer-state-reasons",
            ])
            .build(),
    )?;
    let resp = send(&uri, op, REQUEST_TIMEOUT)?;
    check_status(&resp, "Get-Printer-Attributes")?;
    printer_status_from(&resp)
}

/// Print-Job with the PDF as it is (a signed PDF stays signed). `title` becomes the job's
/// name: give a reference number, never a resident's name. Returns when CUPS has accepted
/// (spooled) the job, not when it is printed: then [`wait_for_job`].
pub fn print_pdf(queue_uri: &str, title: &str, pdf: &[u8]) -> Result<JobId, CupsError> {
    let uri = uri(queue_uri)?;
    let payload = IppPayload::new(Cursor::new(pdf.to_vec()));
    let op = built(
        IppOperationBuilder::print_job(uri.clone(), payload)
            .document_format("application/pdf")
            .job_title(title)
            .user_name(USER)
            .build(),
    )?;
    let resp = send(&uri, op, REQUEST_TIMEOUT)?;
    check_status(&resp, "Print-Job")?;
    Ok(JobId(job_id_from(&resp)?))
}

/// Polls Get-Job-Attributes until job-state is final (7–9) or `timeout` has passed. A request
/// that fails is retried until the deadline: only the deadline makes an outcome unknown.
pub fn wait_for_job(queue_uri: &str, job: JobId, timeout: Duration) -> JobOutcome {
    let Ok(uri) = uri(queue_uri) else {
        return JobOutcome::Unknown;
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return JobOutcome::Unknown;
        }
        let state = built(
            IppOperationBuilder::get_job_attributes(uri.clone(), job.0)
                .user_name(USER)
                .build(),
        )
        .and_then(|op| send(&uri, op, left.min(REQUEST_TIMEOUT)))
        .and_then(|resp| {
            check_status(&resp, "Get-Job-Attributes")?;
            job_state_from(&resp)
        });
        match state {
            Ok(9) => return JobOutcome::Completed,
            Ok(7) => return JobOutcome::Canceled,
            Ok(8) => return JobOutcome::Aborted,
            Ok(_) | Err(_) => {}
        }
        std::thread::sleep(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now())));
    }
}
