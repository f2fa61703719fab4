//! Memory benchmark: the demo kiosk in a real window (Xvfb), as a resident meets it.
//!
//! Run with `cargo bench --bench memory` (release build). The bench starts the release
//! binary with the bundled demo configuration on a fresh, empty data directory and a demo
//! back-end port of its own, in a window on the display in `DISPLAY`, or on an Xvfb it starts
//! on a free display (1080×1920×24). It prints the kiosk's `Pss` from
//! `/proc/PID/smaps_rollup`:
//!
//! - after start: once the kiosk's window is mapped;
//! - during and after the first catalogue sync: the highest figure sampled while it runs,
//!   and the figure once the finder's index is built ("finder ready");
//! - after 100 and after 1,000 sessions, driven through the window with `xdotool` taps the
//!   way a resident would. Every `FULL_EVERY`th session is a whole transaction: from the
//!   attract page, a loss report (临时挂失) verified with a demo ID card, confirmed, its
//!   receipt printed and the preview closed, then the release of that loss (挂失解除), its
//!   receipt printed and closed, back home, the ID card taken away; the release leaves the
//!   demo card as it was, so every such session does the same work. The others are the
//!   commonest short visit: a social security card put in the demo tray (read over PC/SC by
//!   the real pcscd + vpcd), the greeting, the card taken out, which ends the session and
//!   wipes it. Each step that waits on the kiosk (an answer, a receipt, a card read, a
//!   session's end) is awaited in the log, and the line counts the sessions of each kind that
//!   went as expected. A whole transaction takes about 8 s and a card visit about 1.5 s, so
//!   1,000 sessions take about 40 minutes:
//!   `MEMORY_BENCH_SESSIONS=100` stops after the first checkpoint (`0` skips the sessions);
//!   the checkpoints are comma-separated and ascending (`10,100,1000`).
//!
//! With `chromium` (or `chromium-browser`) installed, it also prints a headless Chromium's
//! Pss (all its processes) showing the attract page (the kiosk's own picture of it, as a
//! static page) and the ratio. Goals (issue 14): ≤ 60 MB at every point, ≤ 1 MB growth from
//! 100 to 1,000 sessions, ≤ 0.16× Chromium.
//!
//! `Pss` shares a page among the processes that map it: nothing else may run the same binary
//! file during the bench, or its code (about 28 MB) counts half.
//!
//! `KIOSK_BINARY` runs another build of the kiosk (e.g. a copy kept aside while others build
//! into a shared target directory); `RENSHE_NO_MALLOC_TRIM=1` is passed through to the kiosk.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/kiosk_binary.rs"]
mod kiosk_binary;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GOAL_MB: f64 = 60.0;
const GOAL_GROWTH_MB: f64 = 1.0;
const GOAL_CHROMIUM_RATIO: f64 = 0.16;

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The display to use, and the Xvfb started for it (if one was).
fn display() -> (String, Option<Killed>) {
    if let Ok(display) = std::env::var("DISPLAY") {
        if !display.is_empty() {
            return (display, None);
        }
    }
    let free = (70..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("a free X display number");
    let xvfb = Command::new("Xvfb")
        .args([
            format!(":{free}").as_str(),
            "-screen",
            "0",
            "1080x1920x24",
            "-nolisten",
            "tcp",
            // No reset when the last client leaves (a probe connection would set one off).
            "-noreset",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (apt-get install xvfb), or set DISPLAY");
    let socket = format!("/tmp/.X11-unix/X{free}");
    let started = Instant::now();
    while !Path::new(&socket).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Xvfb did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (format!(":{free}"), Some(Killed(xvfb)))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// `Pss` of one process in MB, from `smaps_rollup`.
fn pss_mb(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let kb: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The process and every descendant (Chromium's renderer, GPU and utility processes).
fn process_tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    tree
}

fn line(label: &str, mb: f64) {
    let verdict = if mb <= GOAL_MB { "met" } else { "not met" };
    println!("  {label:<34} {mb:>8.1} MB   (goal ≤ {GOAL_MB:.0} MB: {verdict})");
}

/// Waits until the kiosk's window is mapped (`xdotool search --onlyvisible --pid`); false
/// after `timeout` or when the kiosk exited.
fn wait_for_window(display: &str, pid: u32, kiosk: &mut Child, timeout: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < timeout {
        let found = Command::new("xdotool")
            .env("DISPLAY", display)
            .args(["search", "--onlyvisible", "--pid", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("xdotool (apt-get install xdotool)");
        if found.success() {
            return true;
        }
        if matches!(kiosk.try_wait(), Ok(Some(_))) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn count_in_log(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.matches(needle).count())
}

struct Taps<'a> {
    display: &'a str,
}

impl Taps<'_> {
    fn tap(&self, x: u32, y: u32, settle_ms: u64) {
        let status = Command::new("xdotool")
            .env("DISPLAY", self.display)
            .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
            .status()
            .expect("xdotool (apt-get install xdotool)");
        assert!(status.success(), "xdotool failed");
        std::thread::sleep(Duration::from_millis(settle_ms));
    }

    /// A whole transaction from the attract page, at fixed points of the 1080×1920 portrait
    /// layout in zh-CN with the demo tray: 点击开始, a loss report (临时挂失) verified with a
    /// demo ID card, confirmed, its receipt printed and the preview closed, back home, then
    /// the release of that loss (挂失解除, offered on the home page while the ID card lies on
    /// the reader), confirmed, its receipt printed and closed, back home, the ID card taken
    /// away. The release leaves the demo card as it was, so every transaction does the same
    /// work. Each answer and receipt is awaited in the log (at most 3 s), so a slow step
    /// does not make the next tap miss; about 8 s a session. False when an answer or a
    /// receipt did not come.
    fn transaction(&self, n: usize, log: &Path) -> bool {
        // 演示身份证 buttons of the residents whose cards are in use: 张*芳 李* 王*国 (欧**娜's
        // new card is not activated yet, so there is no loss to report).
        const ID_CARDS: [u32; 3] = [184, 328, 604];
        self.tap(540, 1330, 600); // attract: 点击开始
        self.tap(800, 605, 400); // 临时挂失
        self.tap(ID_CARDS[n % ID_CARDS.len()], 1882, 800); // place an ID card
        self.tap(540, 556, 1000); // 用身份证核实
        let reported = self.answered(540, 548, LOSS_REPORT_SENT, log); // 确认办理
        let first_receipt = self.answered(540, 580, RECEIPT_SAVED, log); // 打印凭条
        self.tap(540, 1640, 400); // 关闭 the preview
        self.tap(800, 1712, 600); // 首页
        self.tap(273, 780, 800); // 挂失解除
        let released = self.answered(540, 548, LOSS_RELEASE_SENT, log); // 确认办理
        let second_receipt = self.answered(540, 580, RECEIPT_SAVED, log); // 打印凭条
        self.tap(540, 1640, 400); // 关闭 the preview
        self.tap(800, 1712, 400); // 首页
        self.tap(990, 1882, 400); // 取走身份证
        reported && first_receipt && released && second_receipt
    }

    /// Taps (x, y) and waits for one more `needle` in the log (at most 3 s), then lets the
    /// page settle.
    fn answered(&self, x: u32, y: u32, needle: &str, log: &Path) -> bool {
        let before = count_in_log(log, needle);
        self.tap(x, y, 0);
        let came = wait_for_more(log, needle, before, Duration::from_secs(3));
        std::thread::sleep(Duration::from_millis(700));
        came
    }

    /// A card visit: a social security card into the demo tray, read, then taken out,
    /// which ends the session. Waits (at most 5 s each) for the log to show the read and
    /// the session's end; false when either did not come.
    fn card_visit(&self, n: usize, log: &Path) -> bool {
        // 社保卡 tray buttons of the activated cards: 张*芳 李* 王*国.
        const CARDS: [u32; 3] = [183, 315, 579];
        let read_before = count_in_log(log, CARD_READ);
        let ended_before = count_in_log(log, SESSION_ENDED);
        self.tap(CARDS[n % CARDS.len()], 1821, 0);
        let read = wait_for_more(log, CARD_READ, read_before, Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(300)); // the greeting drawn
        self.tap(1002, 1821, 0); // 取出卡片
        let ended = wait_for_more(log, SESSION_ENDED, ended_before, Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(200));
        read && ended
    }
}

/// Every how many sessions one is a whole transaction (the rest are card visits).
const FULL_EVERY: usize = 10;
const CARD_READ: &str = "card read";
const SESSION_ENDED: &str = "session ended";

/// What the kiosk logs when a loss report or its release goes to the back end (the kind,
/// never whose), and when the demo printer's receipt is saved.
const LOSS_REPORT_SENT: &str = "kind=ReportLoss";
const LOSS_RELEASE_SENT: &str = "kind=ReleaseLoss";
const RECEIPT_SAVED: &str = "demo receipt saved";

/// Waits until `needle` occurs in the log more than `before` times (true), or `timeout`
/// passes (false).
fn wait_for_more(log: &Path, needle: &str, before: usize, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if count_in_log(log, needle) > before {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn checkpoints() -> Vec<usize> {
    let text = std::env::var("MEMORY_BENCH_SESSIONS").unwrap_or_else(|_| "100,1000".into());
    let mut points: Vec<usize> = text
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    points.sort_unstable();
    points.dedup();
    points
}

/// Chromium's Pss (all processes) on a static page of the attract picture, if installed.
fn chromium_pss(binary: &Path, work: &Path, display: &str) -> Option<f64> {
    let chromium = chromium::installed()?;
    let picture = work.join("attract.png");
    let shot = Command::new(binary)
        .args([
            "screenshot",
            "--page",
            "attract",
            "--size",
            "1080x1920",
            "-o",
        ])
        .arg(&picture)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !shot.success() {
        return None;
    }
    let page = chromium::attract_page(&picture)?;
    let child = chromium::headless(chromium, &page, &work.join("chromium"), &[])
        .env("DISPLAY", display)
        .spawn()
        .ok()?;
    let chromium = Killed(child);
    std::thread::sleep(Duration::from_secs(8));
    let total: f64 = process_tree(chromium.0.id())
        .into_iter()
        .filter_map(pss_mb)
        .sum();
    Some(total)
}

fn main() {
    let binary = kiosk_binary::path();
    if !binary.exists() {
        eprintln!(
            "build the binary first: cargo build --release ({} missing)",
            binary.display()
        );
        std::process::exit(1);
    }
    let (display, xvfb) = display();
    let work = tempfile::tempdir().expect("a temporary directory");
    let data = work.path().join("data");
    let port = free_port();
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk-config/demo.toml"),
    )
    .expect("kiosk-config/demo.toml");
    let demo: String = demo
        .lines()
        .map(|line| {
            if line.starts_with("directory = ") {
                format!("directory = {:?}", data.display().to_string())
            } else {
                line.replace("18333", &port.to_string())
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = work.path().join("demo.toml");
    std::fs::write(&config, demo).expect("write the configuration");
    let log = work.path().join("kiosk.log");
    let log_file = std::fs::File::create(&log).expect("the kiosk's log");

    let started = Instant::now();
    let mut kiosk = Killed(
        Command::new(&binary)
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("DISPLAY", &display)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start the kiosk"),
    );
    let pid = kiosk.0.id();
    println!(
        "memory: the demo kiosk in a window (Xvfb {display}, 1080x1920), fresh data directory, Pss from /proc/{pid}/smaps_rollup"
    );
    if !wait_for_window(&display, pid, &mut kiosk.0, Duration::from_secs(30)) {
        eprintln!("the kiosk showed no window; its log:");
        let _ = std::io::stderr().write_all(&std::fs::read(&log).unwrap_or_default());
        // exit() skips destructors: stop the kiosk and the Xvfb first.
        drop(kiosk);
        drop(xvfb);
        std::process::exit(1);
    }
    let window_shown = started.elapsed();
    let at_start = pss_mb(pid).expect("the kiosk's smaps_rollup");

    // The first sync runs in the background from the start: sample until the finder is ready.
    let mut peak = at_start;
    let sync_started = Instant::now();
    let mut ready = false;
    while sync_started.elapsed() < Duration::from_secs(120) {
        if let Some(mb) = pss_mb(pid) {
            peak = peak.max(mb);
        }
        if std::fs::read_to_string(&log).is_ok_and(|text| text.contains("finder ready")) {
            ready = true;
            break;
        }
        if matches!(kiosk.0.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    if !ready {
        eprintln!("the first catalogue sync did not finish; the kiosk's log:");
        let _ = std::io::stderr().write_all(&std::fs::read(&log).unwrap_or_default());
        // exit() skips destructors: stop the kiosk and the Xvfb first.
        drop(kiosk);
        drop(xvfb);
        std::process::exit(1);
    }
    let synced_in = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let after_sync = pss_mb(pid).expect("the kiosk's smaps_rollup");
    line(
        &format!("after start ({} ms)", window_shown.as_millis()),
        at_start,
    );
    line("highest during the first sync", peak);
    line(
        &format!("after the first sync ({:.1} s)", synced_in.as_secs_f64()),
        after_sync,
    );

    let mut figures = vec![("after the first sync".to_string(), after_sync)];
    let checkpoints = checkpoints();
    if !checkpoints.is_empty() {
        let taps = Taps { display: &display };
        let mut done = 0;
        let (mut transactions, mut transactions_ok) = (0, 0);
        let (mut card_visits, mut card_visits_ok) = (0, 0);
        for &checkpoint in &checkpoints {
            while done < checkpoint {
                // The kiosk shows the attract page here: at start, and after a card visit,
                // which ends the session.
                if done % FULL_EVERY == 0 {
                    transactions += 1;
                    transactions_ok += usize::from(taps.transaction(done / FULL_EVERY, &log));
                } else {
                    card_visits += 1;
                    card_visits_ok += usize::from(taps.card_visit(done, &log));
                }
                done += 1;
            }
            std::thread::sleep(Duration::from_secs(1));
            let mb = pss_mb(pid).expect("the kiosk is still running");
            line(
                &format!(
                    "after {checkpoint} sessions ({transactions_ok}/{transactions} transactions, {card_visits_ok}/{card_visits} card visits as expected)"
                ),
                mb,
            );
            figures.push((format!("{checkpoint} sessions"), mb));
        }
        let sessions: Vec<&(String, f64)> = figures.iter().skip(1).collect();
        if let [.., before, last] = sessions.as_slice() {
            let growth = last.1 - before.1;
            let verdict = if growth <= GOAL_GROWTH_MB {
                "met"
            } else {
                "not met"
            };
            println!(
                "  growth {} → {}: {growth:+.1} MB   (goal ≤ {GOAL_GROWTH_MB:.0} MB: {verdict})",
                before.0, last.0
            );
        }
    }
    let highest = figures.iter().map(|(_, mb)| *mb).fold(peak, f64::max);
    drop(kiosk);

    match chromium_pss(&binary, work.path(), &display) {
        Some(chromium) => {
            let ratio = after_sync / chromium.max(0.1);
            let verdict = if ratio <= GOAL_CHROMIUM_RATIO {
                "met"
            } else {
                "not met"
            };
            println!("  headless Chromium on the attract page {chromium:>8.1} MB (all processes)");
            println!(
                "  ratio kiosk after sync / Chromium: {ratio:.2}x   (goal ≤ {GOAL_CHROMIUM_RATIO}x: {verdict})"
            );
        }
        None => println!("  headless Chromium: not installed (chromium), no ratio"),
    }
    println!("  highest figure of the run: {highest:.1} MB");
}
