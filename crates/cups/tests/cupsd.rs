//! Against a real cupsd (the tests' private one, `./dev cupsd`) with cups-pdf queues: a proof
//! printed and read back from cups-pdf's file, stopped and rejecting queues refused, and
//! media-empty from a stub IPP responder (cups-pdf always says `none`).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

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
    let dir = tempfile::tempdir().unwrap();
    let sent = dir.path().join("sent.pdf");
    std::fs::write(&sent, &pdf).unwrap();
    let printed = dir.path().join("printed.pdf");
    std::fs::copy(&out, &printed).unwrap();
    let _ = std::fs::remove_file(&out);

    // What we sent carries the code as text...
    assert!(pdftotext(&sent).contains(CODE));
    // ...but cups-pdf's file went PDF → PostScript (pdftops) → PDF (Ghostscript), which drops
    // the CJK font's ToUnicode map, so pdftotext reads garbage there (with ps2write too). So
    // the printed page is compared as an image with what was sent: the same A4 page, about as much
    // ink.
    let printed_text = pdftotext(&printed);
    let (a, b) = (raster(&sent), raster(&printed));
    assert_eq!((a.0, a.1), (b.0, b.1), "page size changed in CUPS");
    let ink = |px: &[u8]| px.iter().filter(|v| **v < 128).count();
    let (sent_ink, printed_ink) = (ink(&a.2), ink(&b.2));
    eprintln!(
        "page pixels {}, ink sent {sent_ink}, printed {printed_ink}",
        a.2.len()
    );
    assert!(sent_ink > 1000, "the sent page is blank?");
    // Not pixel for pixel: the filters may scale to the printable area by a few per cent.
    assert!(
        printed_ink * 4 > sent_ink * 3 && printed_ink * 3 < sent_ink * 4,
        "printed page has {printed_ink} ink pixels, the sent one {sent_ink}; its text:\n{printed_text}"
    );
}

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Page 1 as 8-bit grey at 40 dpi: (width, height, pixels), via pdftoppm's PGM.
fn raster(pdf: &std::path::Path) -> (usize, usize, Vec<u8>) {
    let out = Command::new("pdftoppm")
        .args([
            "-gray",
            "-r",
            "40",
            "-f",
            "1",
            "-l",
            "1",
            pdf.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let pgm = out.stdout;
    // "P5\n<w> <h>\n255\n" then w*h bytes.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while pgm[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !pgm[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = pgm[i + 1..].to_vec();
    assert_eq!(pixels.len(), w * h);
    (w, h, pixels)
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
