//! The printer adapter against the virtual printer, over real pseudo-terminals.
//!
//! Every test starts its own `VirtualPrinter` (pty pairs are created under the library's lock,
//! as `TTYPort::pair` is not thread-safe), so the tests run in parallel with each other.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use renshe_kiosk::core::receipt::{Receipt, ReceiptLabels, ReceiptLine, ReceiptReference};
use renshe_kiosk::printer::escpos::{encode_receipt, qr_image, qr_module_size, status_query};
use renshe_kiosk::printer::sim::{decode_all, PaperItem, PrinterOp, RenderPaper};
use renshe_kiosk::printer::{
    DeviceStatus, JobOutcome, PaperStatus, PortSettings, PrintError, PrinterEvent, PrinterStatus,
    Profile, Profiles, ReceiptPrinter, Refusal, SerialPrinter, SimCondition, VirtualPrinter,
};

fn profile(name: &str) -> Profile {
    Profiles::bundled()
        .expect("bundled printers.toml")
        .get(name)
        .expect("profile exists")
        .clone()
}

fn sample_receipt() -> Receipt {
    Receipt {
        labels: ReceiptLabels {
            title: "重庆人社自助服务".into(),
            terminal: "终端编号".into(),
            location: "地点".into(),
            service: "业务".into(),
            time: "时间".into(),
            holder: "姓名".into(),
            id_number: "证件号码".into(),
            result: "结果".into(),
            reference: "流水号".into(),
            verify_hint: "微信扫码核验本凭证".into(),
            hotline: "咨询电话".into(),
        },
        terminal_id: "CQ-500103-0042".into(),
        location: "渝中区解放碑街道社区服务中心一楼大厅".into(),
        service: "养老保险缴费证明".into(),
        time: "2026-11-28 17:30:05".into(),
        holder_masked: Some("张*".into()),
        id_masked: Some("500103********1234".into()),
        result: Some("办理成功".into()),
        reference: Some(ReceiptReference {
            journal_sequence: Some(42),
            backend_serial: "BK20261128000917".into(),
        }),
        verify_url: Some("https://rs.cq.gov.cn/v/CQ-500103-0042/00000042".into()),
        extra_lines: vec![ReceiptLine {
            label: "缴费金额".into(),
            value: "¥1,234.50".into(),
        }],
    }
}

fn settings(sim: &VirtualPrinter, profile: &Profile) -> PortSettings {
    let mut settings = PortSettings::for_profile(sim.path(), profile);
    settings.io_timeout = Duration::from_millis(50);
    settings.stall_limit = Duration::from_secs(5);
    // Generous: a loaded CI machine may be slow to schedule the virtual printer's thread.
    settings.status_timeout = Duration::from_secs(2);
    settings
}

fn connect(name: &str) -> (VirtualPrinter, SerialPrinter) {
    let profile = profile(name);
    let sim = VirtualPrinter::start(&profile).expect("virtual printer on a pty");
    let printer = SerialPrinter::new(settings(&sim, &profile), profile);
    (sim, printer)
}

fn full_query() -> Vec<u8> {
    (1..=4).flat_map(status_query).collect()
}

/// Bytes as text: printable ASCII as is, everything else `\xNN`, a line break after each LF.
fn escaped(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7E => out.push(char::from(byte)),
            0x0A => out.push_str("\\x0A\n"),
            _ => out.push_str(&format!("\\x{byte:02X}")),
        }
    }
    out
}

/// Compares with `tests/snapshots/<name>`; `UPDATE_SNAPSHOTS=1` writes it instead.
fn check_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "snapshot {name} changed; review and run with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn sample_receipts_match_byte_exact_snapshots_on_both_widths() {
    for (name, width) in [("generic-58", 58), ("generic-80", 80)] {
        let (sim, mut printer) = connect(name);
        let job = encode_receipt(&sample_receipt(), printer.profile()).expect("encodes");
        let outcome = printer.print(&job).expect("printer ready");
        assert_eq!(
            outcome,
            JobOutcome::Complete {
                bytes: job.bytes.len()
            }
        );

        // On the wire: a status check, the job, a status check; nothing else, nothing inside.
        let expected_wire = [full_query(), job.bytes.clone(), full_query()].concat();
        assert_eq!(sim.received(), expected_wire);
        check_snapshot(
            &format!("receipt-{width}mm.escpos.txt"),
            &escaped(&job.bytes),
        );
        check_snapshot(
            &format!("receipt-{width}mm.transcript.txt"),
            &(sim.transcript().join("\n") + "\n"),
        );
        assert!(sim.errors().is_empty(), "{:?}", sim.errors());
    }
}

#[test]
fn encode_decode_round_trip_matches_the_preview() {
    for name in ["generic-58", "generic-80", "snbc-bk-t680"] {
        let (sim, mut printer) = connect(name);
        let profile = printer.profile().clone();
        let receipt = sample_receipt();
        printer.print_receipt(&receipt).expect("prints");
        let transcript = sim.transcript();
        let preview = receipt.preview_lines(usize::from(profile.columns));
        assert_eq!(
            &transcript[..preview.len()],
            &preview[..],
            "{name}: paper differs from the preview"
        );
        let tail: Vec<&str> = transcript[preview.len()..]
            .iter()
            .map(String::as_str)
            .collect();
        let cut = if matches!(
            profile.cut,
            renshe_kiosk::printer::CutKind::Partial | renshe_kiosk::printer::CutKind::FeedPartial
        ) {
            "[cut partial]"
        } else {
            "[cut full]"
        };
        assert_eq!(tail.last(), Some(&cut), "{name}: {tail:?}");
        assert!(
            transcript
                .iter()
                .any(|line| line.contains("缴费金额: ￥1,234.50")),
            "¥ must print as ￥"
        );

        // The picture of the paper: full width plus margins, and ink on it.
        let picture = sim.paper().render().expect("renders with a CJK font");
        assert_eq!(picture.width, usize::from(profile.dots) + 32);
        let dark = picture.pixels.iter().filter(|&&p| p < 128).count();
        assert!(
            dark > picture.pixels.len() / 50,
            "{name}: {dark} dark pixels"
        );
        if let Some(dir) = std::env::var_os("PRINTER_SAMPLE_DIR") {
            sim.save(std::path::Path::new(&dir), &format!("receipt-{name}"))
                .expect("save sample");
        }
    }
}

#[test]
fn raster_qr_fallback_decodes_to_the_same_symbol() {
    let (sim, mut printer) = connect("generic-58-raster-qr");
    let profile = printer.profile().clone();
    let receipt = sample_receipt();
    let job = encode_receipt(&receipt, &profile).expect("encodes");
    assert!(
        !job.bytes.windows(3).any(|w| w == [0x1D, b'(', b'k']),
        "no native QR for this profile"
    );
    assert_eq!(
        printer.print(&job).expect("prints"),
        JobOutcome::Complete {
            bytes: job.bytes.len()
        }
    );
    let expected = qr_image(
        receipt.verify_url.as_deref().expect("url"),
        usize::from(qr_module_size(&profile)),
    )
    .expect("qr");
    let printed = sim
        .paper()
        .items
        .into_iter()
        .find_map(|item| match item {
            PaperItem::Raster { image, .. } => Some(image),
            _ => None,
        })
        .expect("a raster image on paper");
    assert_eq!(printed.height, expected.height);
    for y in 0..expected.height {
        for x in 0..expected.width {
            assert_eq!(printed.get(x, y), expected.get(x, y), "dot {x},{y}");
        }
    }
    // The whole job also decodes cleanly offline.
    let ops = decode_all(&job.bytes).expect("valid ESC/POS");
    assert!(
        ops.iter()
            .filter(|op| matches!(op, PrinterOp::Raster(_)))
            .count()
            > 1,
        "sent in bands"
    );
}

#[test]
fn paper_out_before_a_job_refuses_it_and_sends_nothing() {
    let (sim, mut printer) = connect("generic-80");
    sim.set_condition(SimCondition::PaperOut);
    let status = printer.status();
    assert_eq!(status.paper, PaperStatus::Out);
    assert_eq!(status.refusal(), Some(Refusal::PaperOut));
    sim.clear();
    match printer.print_receipt(&sample_receipt()) {
        Err(PrintError::Refused(Refusal::PaperOut)) => {}
        other => panic!("expected a paper-out refusal, got {other:?}"),
    }
    assert_eq!(
        sim.received(),
        full_query(),
        "only the status check reached the printer"
    );
}

#[test]
fn paper_out_during_a_job_marks_it_incomplete() {
    // A single-chunk job: the printer runs out while printing it.
    let (sim, mut printer) = connect("generic-80");
    sim.paper_out_after(200);
    let job = encode_receipt(&sample_receipt(), printer.profile()).expect("encodes");
    let outcome = printer.print(&job).expect("started");
    assert_eq!(
        outcome,
        JobOutcome::Incomplete {
            sent: job.bytes.len(),
            total: job.bytes.len(),
            reason: Refusal::PaperOut
        }
    );
    assert!(sim
        .transcript()
        .iter()
        .any(|line| line.starts_with("[not printed: paper out")));
    assert!(printer
        .take_events()
        .contains(&PrinterEvent::PaperThreshold(PaperStatus::Out)));

    // A multi-chunk job stops sending at the next command boundary.
    let (sim, mut printer) = connect("generic-58-raster-qr");
    let job = encode_receipt(&sample_receipt(), printer.profile()).expect("encodes");
    sim.paper_out_after(600);
    match printer.print(&job).expect("started") {
        JobOutcome::Incomplete {
            sent,
            total,
            reason: Refusal::PaperOut,
        } => {
            assert!(sent < total, "stopped early: {sent} of {total}");
            assert!(
                job.boundaries.contains(&sent),
                "stopped on a command boundary"
            );
        }
        other => panic!("expected an incomplete job, got {other:?}"),
    }
}

#[test]
fn cover_open_refuses_and_raises_events() {
    let (sim, mut printer) = connect("generic-80");
    assert_eq!(printer.status().device, DeviceStatus::Online);
    sim.set_condition(SimCondition::CoverOpen);
    let status = printer.status();
    assert!(status.cover_open);
    assert_eq!(status.device, DeviceStatus::Offline);
    assert!(matches!(
        printer.print_receipt(&sample_receipt()),
        Err(PrintError::Refused(Refusal::CoverOpen))
    ));
    let events = printer.take_events();
    assert!(
        events.contains(&PrinterEvent::CoverChanged { open: true }),
        "{events:?}"
    );
    assert!(
        events.contains(&PrinterEvent::DeviceStatusChanged(DeviceStatus::Offline)),
        "{events:?}"
    );

    sim.set_condition(SimCondition::Ready);
    let outcome = printer
        .print_receipt(&sample_receipt())
        .expect("cover closed again");
    assert!(
        matches!(outcome, JobOutcome::Complete { .. }),
        "{outcome:?}"
    );
}

#[test]
fn near_end_is_reported_only_with_a_sensor() {
    let (sim, mut printer) = connect("generic-80");
    sim.set_condition(SimCondition::NearEnd);
    let status = printer.status();
    assert_eq!(
        (status.device, status.paper),
        (DeviceStatus::Online, PaperStatus::Low)
    );
    assert_eq!(status.refusal(), None, "low paper still prints");

    let (sim, mut printer) = connect("generic-58");
    sim.set_condition(SimCondition::NearEnd);
    assert_eq!(
        printer.status().paper,
        PaperStatus::Full,
        "no sensor: near-end bits are not trusted"
    );
}

#[test]
fn offline_and_silent_printers() {
    let (sim, mut printer) = connect("generic-80");
    sim.set_condition(SimCondition::Offline);
    assert_eq!(printer.status().device, DeviceStatus::Offline);
    assert!(matches!(
        printer.print_receipt(&sample_receipt()),
        Err(PrintError::Refused(Refusal::Offline))
    ));
    sim.set_condition(SimCondition::Silent);
    assert_eq!(printer.status(), PrinterStatus::NO_DEVICE);
}

#[test]
fn the_port_disappearing_is_no_device() {
    let (sim, mut printer) = connect("generic-80");
    assert_eq!(printer.status().device, DeviceStatus::Online);
    drop(sim);
    assert_eq!(printer.status(), PrinterStatus::NO_DEVICE);
    assert!(matches!(
        printer.print_receipt(&sample_receipt()),
        Err(PrintError::Refused(Refusal::NoDevice))
    ));
    assert!(printer
        .take_events()
        .contains(&PrinterEvent::DeviceStatusChanged(DeviceStatus::NoDevice)));
}

#[test]
fn the_port_disappearing_mid_job_leaves_it_incomplete() {
    let (sim, mut printer) = connect("generic-58-raster-qr");
    sim.pace_at_baud(Some(9600));
    let job = encode_receipt(&sample_receipt(), printer.profile()).expect("encodes");
    let total = job.bytes.len();
    let worker = std::thread::spawn(move || printer.print(&job));
    assert!(
        sim.wait_for_bytes(300, Duration::from_secs(10)),
        "job started"
    );
    drop(sim);
    match worker.join().expect("no panic").expect("started") {
        JobOutcome::Incomplete {
            sent,
            reason: Refusal::NoDevice,
            ..
        } => assert!(sent < total),
        other => panic!("expected NoDevice mid-job, got {other:?}"),
    }
}

#[test]
fn xoff_stalls_the_writer_which_resumes_on_xon_without_losing_bytes() {
    let profile = profile("generic-58-raster-qr");
    assert_eq!(
        profile.flow_control,
        renshe_kiosk::printer::FlowControl::Xonxoff
    );
    let sim = VirtualPrinter::start(&profile).expect("virtual printer");
    sim.pace_at_baud(Some(38400));
    let mut printer = SerialPrinter::new(settings(&sim, &profile), profile.clone());
    let job = encode_receipt(&sample_receipt(), &profile).expect("encodes");
    let expected_job = job.bytes.clone();
    // Chunks of a quarter of the printer's buffer, each followed by a status check.
    let mut expected_wire = full_query();
    for chunk in job.chunks(profile.buffer_bytes as usize / 4) {
        expected_wire.extend_from_slice(chunk);
        expected_wire.extend_from_slice(&full_query());
    }
    let started = Instant::now();
    let worker = std::thread::spawn(move || printer.print(&job));

    assert!(
        sim.wait_for_bytes(800, Duration::from_secs(10)),
        "job under way"
    );
    sim.send_flow(false).expect("XOFF");
    // Bytes already in the pty's buffer still drain; then the line must go quiet.
    let settle_deadline = Instant::now() + Duration::from_secs(10);
    let mut during_stall = sim.received_len();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = sim.received_len();
        if now == during_stall || Instant::now() > settle_deadline {
            break;
        }
        during_stall = now;
    }
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        sim.received_len(),
        during_stall,
        "nothing may arrive while XOFF holds"
    );
    assert!(
        during_stall < expected_wire.len(),
        "the stall happened mid-job"
    );
    sim.send_flow(true).expect("XON");

    let outcome = worker.join().expect("no panic").expect("started");
    assert_eq!(
        outcome,
        JobOutcome::Complete {
            bytes: expected_job.len()
        }
    );
    assert!(started.elapsed() >= Duration::from_millis(500));
    // Every job byte arrived once, in order, with status queries only between chunks.
    assert_eq!(sim.received(), expected_wire);
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());
}

#[test]
fn printer_test_command_writes_transcript_and_png() {
    let out = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
        .args([
            "printer",
            "test",
            "--port",
            "sim",
            "--profile",
            "generic-58",
            "--out",
        ])
        .arg(out.path())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let transcript =
        std::fs::read_to_string(out.path().join("printer-test.txt")).expect("transcript");
    assert!(transcript.contains("打印测试页"), "{transcript}");
    assert!(transcript.contains("[QR] https://"));
    assert!(transcript.contains("[cut partial]"));
    let png = std::fs::read(out.path().join("printer-test.png")).expect("png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
        .args([
            "printer",
            "status",
            "--port",
            "sim",
            "--json",
            "--sim-state",
            "paper-out",
        ])
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["status"]["paper"], "out");
    assert_eq!(report["canPrint"], false);

    // Technician overrides win over the profile's defaults.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
        .args([
            "printer",
            "status",
            "--port",
            "sim",
            "--json",
            "--profile",
            "generic-58",
        ])
        .args(["--baud", "19200", "--flow", "none"])
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["baud"], 19200);
    assert_eq!(report["flowControl"], "none");
    assert_eq!(report["capabilities"]["columns"], 32);
    assert_eq!(report["status"]["device"], "online");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"))
        .args([
            "printer",
            "status",
            "--port",
            "sim",
            "--profile",
            "no-such-printer",
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("generic-80"),
        "lists known profiles"
    );
}

#[test]
fn xoff_held_past_the_stall_limit_abandons_the_job_and_the_printer_recovers() {
    let profile = profile("generic-58-raster-qr");
    let sim = VirtualPrinter::start(&profile).expect("virtual printer");
    let mut settings = settings(&sim, &profile);
    settings.stall_limit = Duration::from_millis(300);
    let mut printer = SerialPrinter::new(settings, profile.clone());
    let job = encode_receipt(&sample_receipt(), &profile).expect("encodes");
    let total = job.bytes.len();

    sim.pace_at_baud(Some(38400));
    let worker = std::thread::spawn(move || {
        let outcome = printer.print(&job);
        (printer, outcome)
    });
    assert!(
        sim.wait_for_bytes(800, Duration::from_secs(10)),
        "job under way"
    );
    sim.send_flow(false).expect("XOFF");
    let (mut printer, outcome) = worker.join().expect("no panic");
    match outcome.expect("started") {
        JobOutcome::Incomplete {
            sent,
            reason: Refusal::Stalled,
            ..
        } => assert!(sent < total),
        other => panic!("expected a stalled job, got {other:?}"),
    }

    sim.send_flow(true).expect("XON");
    sim.pace_at_baud(None);
    assert_eq!(
        printer.status().device,
        DeviceStatus::Online,
        "status answers line up again"
    );
    sim.clear();
    let outcome = printer
        .print_receipt(&sample_receipt())
        .expect("prints after recovery");
    assert_eq!(outcome, JobOutcome::Complete { bytes: total });
    assert!(sim.transcript().iter().any(|line| line.contains("12333")));
}
