//! Time from print_pdf's call to CUPS's Print-Job answer (the job accepted and spooled),
//! median of N, on the tests' private cupsd with a cups-pdf queue, a real proof as the PDF.
//!   cargo bench -p renshe-cups --bench print     (starts the cupsd through ./dev cupsd)

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use renshe_cups::{print_pdf, wait_for_job, JobOutcome};

const N: usize = 9;

fn main() {
    let uri = common::cups_pdf_queue("KIOSK_BENCH");
    let pdf = common::proof_pdf();
    let prefix = common::unique_title("KIOSKBENCH");
    let mut times = Vec::with_capacity(N);
    for i in 0..N {
        let t = Instant::now();
        let job = print_pdf(&uri, &format!("{prefix}_{i}"), &pdf).expect("CUPS accepts the job");
        times.push(t.elapsed());
        // One job at a time, as the kiosk prints: the next is timed on an idle queue.
        assert_eq!(
            wait_for_job(&uri, job, Duration::from_secs(60)),
            JobOutcome::Completed
        );
    }
    times.sort();
    println!(
        "print_pdf → accepted: median {:.1} ms of {N} (min {:.1}, max {:.1}); PDF {} bytes",
        times[N / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[N - 1].as_secs_f64() * 1e3,
        pdf.len()
    );
    // cups-pdf's files of this run.
    if let Ok(entries) = std::fs::read_dir(common::cups_pdf_out_dir()) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
