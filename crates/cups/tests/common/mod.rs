//! The private cupsd (started by `./dev cupsd`, the one place that knows how), cups-pdf
//! queues on it, and a proof to print. Shared by the tests and the bench.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report
#![allow(dead_code)] // each of the tests and the bench uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const PPD: &str = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd";
pub const CODE: &str = "CQ7K4M2P9XTA";

/// host:port of the tests' cupsd, started if it is not running. Fails (never skips) when it
/// cannot start.
pub fn cups_host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let dev = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dev");
        let out = Command::new(&dev)
            .arg("cupsd")
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", dev.display()));
        assert!(
            out.status.success(),
            "the tests' cupsd did not start (`./dev cupsd`; needs root or sudo and the packages of \
             `./dev setup`):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout.lines().last().unwrap_or_default().trim().to_string()
    })
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .env("LANG", "C")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A cups-pdf queue on the tests' cupsd, enabled and accepting (whatever a previous run left).
pub fn cups_pdf_queue(name: &str) -> String {
    let host = cups_host();
    run(
        "lpadmin",
        &["-h", host, "-p", name, "-E", "-v", "cups-pdf:/", "-P", PPD],
    );
    run("cupsenable", &["-h", host, name]);
    run("cupsaccept", &["-h", host, name]);
    format!("ipp://{host}/printers/{name}")
}

pub fn lp_cmd(cmd: &str, queue: &str) {
    run(cmd, &["-h", cups_host(), queue]);
}

/// A 个人权益记录 as the kiosk would print it.
pub fn proof_pdf() -> Vec<u8> {
    use renshe_proof::*;
    let font = Font::from_collection(
        std::fs::read("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
            .expect("fonts-wqy-microhei"),
        0,
    )
    .expect("the font parses");
    let proof = Proof {
        language: Language::Zh,
        issuer: "重庆市人力资源和社会保障局".into(),
        masked_name: "张*华".into(),
        masked_id_number: "500***********1234".into(),
        body: ProofBody::Contributions(vec![YearRecord {
            year: 2023,
            rows: (1..=12)
                .map(|month| ContributionRow {
                    month,
                    base_fen: 612_300,
                    personal_fen: 48_984,
                    employer_fen: 97_968,
                    employer: "重庆某某信息技术有限公司".into(),
                })
                .collect(),
        }]),
        issued_at: "2024-05-20 10:30".into(),
        verification_code: CODE.into(),
        verify_url: format!("https://rlsbj.cq.gov.cn/verify?code={CODE}"),
        seal_png: None,
    };
    render(&proof, &font).expect("the proof renders")
}

/// Where cups-pdf writes a job of a user with no local account (ours, `renshe-kiosk`):
/// `AnonDirName` of /etc/cups/cups-pdf.conf, by default /var/spool/cups-pdf/ANONYMOUS.
pub fn cups_pdf_out_dir() -> PathBuf {
    let conf = std::fs::read_to_string("/etc/cups/cups-pdf.conf").unwrap_or_default();
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("AnonDirName"))
        .map(|v| PathBuf::from(v.trim()))
        .next_back()
        .unwrap_or_else(|| PathBuf::from("/var/spool/cups-pdf/ANONYMOUS"))
}

/// The file cups-pdf made for the job titled `title` (its name starts with the title).
pub fn find_output(title: &str, within: Duration) -> PathBuf {
    let dir = cups_pdf_out_dir();
    let deadline = Instant::now() + within;
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(title) && name.ends_with(".pdf") {
                    return e.path();
                }
            }
        }
        if Instant::now() > deadline {
            let listing: Vec<_> = std::fs::read_dir(&dir)
                .map(|r| r.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            panic!(
                "no cups-pdf output for {title} in {}: {listing:?}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A title cups-pdf keeps as it is (letters, digits, '_') and no other run shares.
pub fn unique_title(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{nanos}", std::process::id())
}
