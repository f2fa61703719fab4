//! Against a real cupsd (the tests' private one, `./dev cupsd`) with cups-pdf queues: a proof
//! printed and read back from cups-pdf's file, stopped and rejecting queues refused, and
//! media-empty from a stub IPP responder (cups-pdf always says `none`).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use ipp::attribute::IppAttribute;
use ipp::model::{DelimiterTag, IppVersion, StatusCode};
use ipp::request::IppRequestResponse;
use ipp::value::{IppKeyword, IppValue};
use renshe_cups::{
    print_pdf, printer_status, readiness, wait_for_job, CupsError, JobId, JobOutcome, PrinterState,
    Readiness, Reason,
};

use common::*;

#[test]
fn a_proof_prints_through_cups_pdf_and_completes() {
    let uri = cups_pdf_queue("KIOSK_T_PRINT");
    let status = printer_status(&uri).unwrap();
    assert_eq!(status.state, PrinterState::Idle, "{status:?}");
    assert!(status.accepting);
    assert_eq!(readiness(&status), Readiness::Ready, "{status:?}");

    let pdf = proof_pdf();
    let title = unique_title("KIOSKT");
    let job = print_pdf(&uri, &title, &pdf).unwrap();
    assert_eq!(
        wait_for_job(&uri, job, Duration::from_secs(60)),
        JobOutcome::Completed
    );

    let out = find_output(&title, Duration::from_secs(10));
    let text = Command::new("pdftotext")
        .args([out.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let _ = std::fs::remove_file(&out);
    assert!(
        text.contains(CODE),
        "verification code not in cups-pdf's output:\n{text}"
    );
}

#[test]
fn a_stopped_queue_is_refused() {
    let uri = cups_pdf_queue("KIOSK_T_STOPPED");
    lp_cmd("cupsdisable", "KIOSK_T_STOPPED");
    let status = printer_status(&uri).unwrap();
    lp_cmd("cupsenable", "KIOSK_T_STOPPED");
    assert_eq!(status.state, PrinterState::Stopped, "{status:?}");
    assert_eq!(
        readiness(&status),
        Readiness::Refused(vec![Reason::Stopped])
    );
}

#[test]
fn a_rejecting_queue_is_refused() {
    let uri = cups_pdf_queue("KIOSK_T_REJECT");
    lp_cmd("cupsreject", "KIOSK_T_REJECT");
    let status = printer_status(&uri).unwrap();
    let refused_print = print_pdf(&uri, "KIOSKT_rejected", b"%PDF-1.4\n");
    lp_cmd("cupsaccept", "KIOSK_T_REJECT");
    assert!(!status.accepting, "{status:?}");
    assert_eq!(
        readiness(&status),
        Readiness::Refused(vec![Reason::NotAccepting])
    );
    assert!(
        matches!(
            refused_print,
            Err(CupsError::Status {
                operation: "Print-Job",
                ..
            })
        ),
        "{refused_print:?}"
    );
}

#[test]
fn an_unknown_queue_is_an_error_and_its_job_unknown() {
    let host = cups_host();
    let uri = format!("ipp://{host}/printers/KIOSK_T_NO_SUCH_QUEUE");
    assert!(matches!(
        printer_status(&uri),
        Err(CupsError::Status { .. })
    ));
    assert_eq!(
        wait_for_job(&uri, JobId(999_999), Duration::from_millis(600)),
        JobOutcome::Unknown
    );
}

#[test]
fn nobody_listening_is_a_transport_error_and_unknown() {
    // A port just freed: nothing answers there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("ipp://127.0.0.1:{port}/printers/X");
    assert!(matches!(printer_status(&uri), Err(CupsError::Transport(_))));
    assert_eq!(
        wait_for_job(&uri, JobId(1), Duration::from_millis(500)),
        JobOutcome::Unknown
    );
    assert!(matches!(
        printer_status("not a uri"),
        Err(CupsError::Uri(_))
    ));
}

/// An IPP printer that says it is out of paper: answers every request once with
/// printer-state-reasons media-empty-error, built with the ipp crate's own types.
fn media_empty_stub() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            read_http_request(&mut stream);
            let mut resp =
                IppRequestResponse::new_response(IppVersion::v1_1(), StatusCode::SuccessfulOk, 1)
                    .unwrap();
            let attrs = resp.attributes_mut();
            let tag = DelimiterTag::PrinterAttributes;
            attrs.add(
                tag,
                IppAttribute::with_name("printer-state", IppValue::Enum(3)).unwrap(),
            );
            attrs.add(
                tag,
                IppAttribute::with_name("printer-is-accepting-jobs", IppValue::Boolean(true))
                    .unwrap(),
            );
            attrs.add(
                tag,
                IppAttribute::with_name(
                    "printer-state-reasons",
                    IppValue::Keyword(IppKeyword::new("media-empty-error").unwrap()),
                )
                .unwrap(),
            );
            let body = resp.to_bytes();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("ipp://127.0.0.1:{port}/printers/stub")
}

/// Reads one request to its end (Content-Length or chunked), so closing the socket after the
/// answer does not reset it under the client.
fn read_http_request(stream: &mut std::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let done = |b: &[u8]| -> bool {
        if let Some(len) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            b.len() >= head_end + len
        } else if head.contains("transfer-encoding: chunked") {
            b[head_end..].ends_with(b"0\r\n\r\n")
        } else {
            true
        }
    };
    while !done(&buf) {
        let n = stream.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn media_empty_from_a_stub_printer_is_refused() {
    let uri = media_empty_stub();
    let status = printer_status(&uri).unwrap();
    assert_eq!(status.reasons, ["media-empty-error"]);
    assert_eq!(
        readiness(&status),
        Readiness::Refused(vec![Reason::MediaEmpty])
    );
}
