//! Startup benchmark: process start → first frame of the attract page (software renderer,
//! 1080×1920), and the process's peak memory.
//!
//! Run with `cargo bench --bench startup` (release build). The figure is measured from the
//! parent: spawn → the child's "first-frame" line on its stdout, which it prints right after
//! the frame is rendered (before the PNG is encoded). The baseline, measured in the same run,
//! is the same binary starting and exiting without a window (`--version`): the ratio shows
//! what the UI adds to bare process start on this machine. For scale, a Chromium kiosk showing
//! the same page took ~470 ms to its first screenshot and ~380 MB on this class of machine.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 15;

fn binary() -> PathBuf {
    // Benches build in release; the binary sits beside the bench's own deps folder.
    let exe = std::env::current_exe().expect("bench path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    dir.join("renshe-kiosk")
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn first_frame(binary: &PathBuf, output: &PathBuf) -> (Duration, u64) {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args([
            "screenshot",
            "--page",
            "attract",
            "--size",
            "1080x1920",
            "--report",
            "-o",
        ])
        .arg(output)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the kiosk");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut elapsed = None;
    let mut peak_kb = 0;
    while let Some(Ok(line)) = lines.next() {
        if line == "first-frame" {
            elapsed = Some(started.elapsed());
        } else if let Some(kb) = line.strip_prefix("peak-rss-kb=") {
            peak_kb = kb.parse().unwrap_or(0);
        }
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "the kiosk failed to render");
    (
        elapsed.expect("the kiosk reported its first frame"),
        peak_kb,
    )
}

fn bare_start(binary: &PathBuf) -> Duration {
    let started = Instant::now();
    let status = Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .expect("spawn");
    assert!(status.success());
    started.elapsed()
}

fn main() {
    let binary = binary();
    if !binary.exists() {
        eprintln!(
            "build the binary first: cargo build --release ({} missing)",
            binary.display()
        );
        std::process::exit(1);
    }
    let output =
        std::env::temp_dir().join(format!("renshe-kiosk-startup-{}.png", std::process::id()));
    // One warm-up each, so the page cache holds the binary and the font.
    first_frame(&binary, &output);
    bare_start(&binary);

    let mut frames = Vec::new();
    let mut bares = Vec::new();
    let mut peak_kb = 0;
    for _ in 0..RUNS {
        let (elapsed, kb) = first_frame(&binary, &output);
        frames.push(elapsed);
        peak_kb = peak_kb.max(kb);
        bares.push(bare_start(&binary));
    }
    let _ = std::fs::remove_file(&output);
    let frame = median(frames);
    let bare = median(bares);
    println!("startup: process start → first frame of attract (1080x1920, software renderer), median of {RUNS}");
    println!(
        "  first frame        {:>8.1} ms   (goal < 100 ms)",
        frame.as_secs_f64() * 1e3
    );
    println!(
        "  peak memory        {:>8.1} MB   (goal < 60 MB)",
        peak_kb as f64 / 1024.0
    );
    println!(
        "  baseline: bare process start and exit (--version) {:>6.1} ms",
        bare.as_secs_f64() * 1e3
    );
    println!(
        "  ratio first frame / bare start: {:.1}x",
        frame.as_secs_f64() / bare.as_secs_f64().max(1e-9)
    );
    println!(
        "  for scale: Chromium kiosk ~470 ms and ~380 MB → {:.1}x faster, {:.1}x less memory",
        470.0 / (frame.as_secs_f64() * 1e3),
        380.0 / (peak_kb as f64 / 1024.0).max(0.1)
    );
}
