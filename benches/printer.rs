//! Receipt printing cost: bytes on the wire and time over a serial link.
//!
//! 1. Bytes per standard receipt with native text and QR, against the same receipt sent as one
//!    raster image (rendered by the virtual printer, banded as a serial link needs). Goal ≤ 1/20.
//! 2. Time to print over a pseudo-terminal at 9600 and 115200 baud, with the virtual printer
//!    consuming at wire speed (a pty does not enforce baud), against the wire limit
//!    bytes × 10 / baud. The time is `SerialPrinter::print` end to end: status check, job, and
//!    the status check that returns once the printer has read the last byte. Goal ≤ 1.1×.

use std::time::{Duration, Instant};

use renshe_kiosk::core::receipt::{Receipt, ReceiptLabels, ReceiptReference};
use renshe_kiosk::printer::escpos::{encode_raster_page, encode_receipt};
use renshe_kiosk::printer::sim::{decode_all, Paper, RenderPaper};
use renshe_kiosk::printer::{
    JobOutcome, PortSettings, Profile, Profiles, ReceiptPrinter, SerialPrinter, VirtualPrinter,
};

fn standard_receipt() -> Receipt {
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
        location: "渝中区解放碑街道社区服务中心".into(),
        service: "社保缴费记录查询".into(),
        time: "2026-11-28 17:30:05".into(),
        holder_masked: Some("张*".into()),
        id_masked: Some("500103********1234".into()),
        result: Some("办理成功".into()),
        reference: Some(ReceiptReference {
            journal_sequence: Some(42),
            backend_serial: "BK20261128000917".into(),
        }),
        verify_url: Some("https://rs.cq.gov.cn/v/CQ-500103-0042/00000042".into()),
        extra_lines: vec![],
    }
}

fn profile(name: &str) -> Profile {
    Profiles::bundled()
        .expect("bundled profiles")
        .get(name)
        .expect("profile")
        .clone()
}

fn bytes_figures(profile: &Profile) {
    let receipt = standard_receipt();
    let native = encode_receipt(&receipt, profile).expect("encodes");
    let mut paper = Paper::for_profile(profile);
    for op in decode_all(&native.bytes).expect("decodes") {
        paper.apply(op);
    }
    let picture = paper.render().expect("renders (needs a CJK font)");
    let raster = encode_raster_page(&picture.to_mono(16, usize::from(profile.dots)), profile)
        .expect("raster");
    let ratio = native.bytes.len() as f64 / raster.bytes.len() as f64;
    println!(
        "bytes  {:<22} native text+QR {:>6} B | whole receipt as raster {:>6} B ({}x{} dots) | ratio 1/{:.0} = {:.4} (goal <= 0.05) {}",
        profile.name,
        native.bytes.len(),
        raster.bytes.len(),
        profile.dots,
        picture.height,
        1.0 / ratio,
        ratio,
        if ratio <= 0.05 { "OK" } else { "MISSED" }
    );
}

fn time_figures(profile: &Profile, baud: u32, runs: usize) {
    let job = encode_receipt(&standard_receipt(), profile).expect("encodes");
    let mut times = Vec::new();
    for _ in 0..runs {
        let sim = VirtualPrinter::start(profile).expect("virtual printer");
        sim.pace_at_baud(Some(baud));
        let mut settings = PortSettings::for_profile(sim.path(), profile);
        settings.baud = baud;
        let mut printer = SerialPrinter::new(settings, profile.clone());
        let started = Instant::now();
        let outcome = printer.print(&job).expect("prints");
        let elapsed = started.elapsed();
        assert_eq!(
            outcome,
            JobOutcome::Complete {
                bytes: job.bytes.len()
            }
        );
        assert_eq!(
            sim.received_len(),
            job.bytes.len() + 24,
            "job plus two status checks"
        );
        times.push(elapsed);
    }
    times.sort();
    let median = times[times.len() / 2];
    let wire = Duration::from_secs_f64(job.bytes.len() as f64 * 10.0 / f64::from(baud));
    let wire_with_checks =
        Duration::from_secs_f64((job.bytes.len() + 24) as f64 * 10.0 / f64::from(baud));
    let ratio = median.as_secs_f64() / wire.as_secs_f64();
    println!(
        "time   {:<22} {:>6} baud: {:>5} B, median {:>8.2} ms over {runs} runs | wire limit {:>8.2} ms ({:>8.2} ms incl. 24 B of status checks) | ratio {:.3} (goal <= 1.1) {}",
        profile.name,
        baud,
        job.bytes.len(),
        median.as_secs_f64() * 1e3,
        wire.as_secs_f64() * 1e3,
        wire_with_checks.as_secs_f64() * 1e3,
        ratio,
        if ratio <= 1.1 { "OK" } else { "MISSED" }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    for name in ["generic-58", "generic-80"] {
        bytes_figures(&profile(name));
    }
    let raster_qr = profile("generic-58-raster-qr");
    let fallback = encode_receipt(&standard_receipt(), &raster_qr).expect("encodes");
    println!(
        "bytes  {:<22} native text + banded raster QR fallback {:>6} B",
        raster_qr.name,
        fallback.bytes.len()
    );
    for (name, baud, runs) in [
        ("generic-58", 9600, 3),
        ("generic-80", 9600, 3),
        ("generic-80", 115200, 9),
    ] {
        time_figures(&profile(name), baud, runs);
    }
}
