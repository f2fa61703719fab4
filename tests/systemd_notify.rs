//! systemd's side of the kiosk (`Type=notify`, `WatchdogSec=`): the real binary on Xvfb with
//! `NOTIFY_SOCKET` pointing at a datagram socket this test reads, and `WATCHDOG_USEC` set.
//! READY=1 comes after journal recovery and once the window has been drawn; pings come every
//! half timeout; and they stop — so systemd would restart the kiosk — when the UI thread is
//! really stalled (ptrace stops that one thread, nothing else), or when the back-end task's
//! threads are, once its check-in is older than ten timeouts.

mod desktop;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use desktop::{kiosk, terminal_config, Running, Xvfb, X};
use nix::sys::ptrace;
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

const DISPLAY_NUMBER: u32 = 92;
const WATCHDOG: Duration = Duration::from_secs(2);
/// `STALE_AFTER_WATCHDOG_TIMEOUTS` in `src/shell/supervisor.rs`.
const STALE_AFTER: Duration = Duration::from_secs(20);
const START: Duration = Duration::from_secs(90);

/// What the kiosk told "systemd", line by line, with when it arrived.
struct Notifications {
    socket: UnixDatagram,
}

impl Notifications {
    fn bind(dir: &std::path::Path) -> (Notifications, std::path::PathBuf) {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        (Notifications { socket }, path)
    }

    /// The lines that arrive within `limit`.
    fn during(&self, limit: Duration) -> Vec<(Instant, String)> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            self.socket.set_read_timeout(Some(left)).expect("timeout");
            match self.socket.recv(&mut buffer) {
                Ok(n) => {
                    let at = Instant::now();
                    for line in String::from_utf8_lossy(&buffer[..n]).lines() {
                        lines.push((at, line.to_owned()));
                    }
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(error) => panic!("notify socket: {error}"),
            }
        }
        lines
    }

    /// Every line up to `wanted`, within `limit`, and whatever came with it (a datagram may
    /// hold several, as `READY=1` with its `STATUS=`).
    fn until(&self, wanted: &str, limit: Duration) -> Vec<(Instant, String)> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let batch = self.during(Duration::from_millis(200));
            let done = batch.iter().any(|(_, line)| line == wanted);
            seen.extend(batch);
            if done {
                return seen;
            }
        }
        panic!("no {wanted} within {limit:?}; got {seen:?}");
    }
}

fn pings(lines: &[(Instant, String)]) -> Vec<Instant> {
    lines
        .iter()
        .filter(|(_, line)| line == "WATCHDOG=1")
        .map(|(at, _)| *at)
        .collect()
}

/// The kiosk started as systemd would start it: `NOTIFY_SOCKET` and `WATCHDOG_USEC` set.
fn under_systemd(xvfb: &Xvfb, config: &std::path::Path, socket: &std::path::Path) -> Running {
    Running(
        kiosk(&xvfb.display, config)
            .env("NOTIFY_SOCKET", socket)
            .env("WATCHDOG_USEC", WATCHDOG.as_micros().to_string())
            .spawn()
            .expect("start the kiosk"),
    )
}

/// The kiosk, supervised, up to its READY=1; the window is on screen and drawn by then.
fn supervised(xvfb: &Xvfb, dir: &std::path::Path) -> (Running, Notifications) {
    let (notifications, socket) = Notifications::bind(dir);
    let config = terminal_config(dir);
    let kiosk = under_systemd(xvfb, &config, &socket);
    let start = notifications.until("READY=1", START);
    let x = X::connect(&xvfb.display);
    let window = x
        .window_of(kiosk.pid(), Duration::ZERO)
        .expect("the window is on screen at READY=1");
    let colours = x.colours(window);
    assert!(
        colours > 3,
        "READY=1 came before the first frame was drawn ({colours} colours)"
    );
    let lines: Vec<&str> = start.iter().map(|(_, line)| line.as_str()).collect();
    let recovering = lines.iter().position(|l| *l == "STATUS=recovering journal");
    assert!(
        recovering.is_some_and(|at| at < lines.len() - 1),
        "STATUS=recovering journal before READY=1: {lines:?}"
    );
    (kiosk, notifications)
}

/// Stops `tid` alone (a ptrace interrupt holds one thread; the others run on); the thread
/// runs again when detached or when the tracing thread ends.
fn stall(tid: i32) {
    let tid = Pid::from_raw(tid);
    ptrace::seize(tid, ptrace::Options::empty()).expect("ptrace seize");
    ptrace::interrupt(tid).expect("ptrace interrupt");
    waitpid(tid, Some(WaitPidFlag::__WALL)).expect("the thread stops");
}

fn resume(tid: i32) {
    ptrace::detach(Pid::from_raw(tid), None).expect("ptrace detach");
}

/// The threads of `pid` named `name`.
fn threads_named(pid: u32, name: &str) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the kiosk's threads")
        .filter_map(|entry| {
            let tid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).ok()?;
            (comm.trim() == name).then_some(tid)
        })
        .collect()
}

#[test]
fn ready_after_the_first_frame_then_pings_that_stop_while_the_ui_thread_stalls() {
    let xvfb = Xvfb::start(DISPLAY_NUMBER);
    let dir = tempfile::tempdir().expect("tempdir");
    let (kiosk, notifications) = supervised(&xvfb, dir.path());

    let window = Duration::from_secs(7);
    let before = pings(&notifications.during(window));
    let gaps: Vec<Duration> = before.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("pings every {gaps:?}");
    assert!(
        (5..=9).contains(&before.len()),
        "{} pings in {window:?}, expected one every {:?}",
        before.len(),
        WATCHDOG / 2
    );
    assert!(
        gaps.iter().all(|gap| *gap < WATCHDOG),
        "a gap reached the watchdog timeout: {gaps:?}"
    );

    // The UI thread is the main thread: its id is the process id.
    let ui = kiosk.pid() as i32;
    stall(ui);
    let stalled = notifications.during(WATCHDOG * 2);
    resume(ui);
    assert!(
        pings(&stalled).is_empty(),
        "pings while the UI thread was stopped: {stalled:?}"
    );
    let after = pings(&notifications.during(WATCHDOG * 2));
    assert!(!after.is_empty(), "no ping after the UI thread ran again");
}

#[test]
fn pings_stop_once_the_back_end_task_has_not_checked_in_for_ten_timeouts() {
    let xvfb = Xvfb::start(DISPLAY_NUMBER);
    let dir = tempfile::tempdir().expect("tempdir");
    let (kiosk, notifications) = supervised(&xvfb, dir.path());
    let _ = notifications.during(WATCHDOG);

    // The back-end task runs on the runtime's threads, all named kiosk-io.
    let io = threads_named(kiosk.pid(), "kiosk-io");
    assert!(!io.is_empty(), "no kiosk-io threads");
    for tid in &io {
        stall(*tid);
    }
    let stalled_at = Instant::now();
    let lines = notifications.during(STALE_AFTER + WATCHDOG * 3);
    for tid in &io {
        resume(*tid);
    }
    let during = pings(&lines);
    let last = *during
        .last()
        .expect("pings went on at first: the UI is alive");
    let stopped_after = last - stalled_at;
    eprintln!("last ping {stopped_after:?} after the back-end threads stopped");
    // The last check-in was at most one loop turn (2 s) before the stall.
    assert!(
        stopped_after > STALE_AFTER - WATCHDOG * 2 && stopped_after < STALE_AFTER + WATCHDOG,
        "pings stopped {stopped_after:?} after the stall, expected about {STALE_AFTER:?}"
    );
    assert!(
        lines
            .iter()
            .any(|(_, line)| line.starts_with("STATUS=back-end task stalled")),
        "the stall is in the status: {lines:?}"
    );
}

#[test]
fn out_of_service_is_a_ready_state_that_says_why_and_keeps_pinging() {
    use std::os::unix::fs::PermissionsExt;
    let xvfb = Xvfb::start(DISPLAY_NUMBER);
    let dir = tempfile::tempdir().expect("tempdir");
    let (notifications, socket) = Notifications::bind(dir.path());
    let config = terminal_config(dir.path());
    // Records that cannot be opened: a database file that is not one (private, as required).
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data directory");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("0700");
    let database = data.join("kiosk.db");
    std::fs::write(&database, b"not a database\n".repeat(512)).expect("write");
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o600)).expect("0600");
    let mut kiosk = under_systemd(&xvfb, &config, &socket);

    let start = notifications.until("READY=1", START);
    let after = notifications.during(Duration::from_secs(5));
    let lines: Vec<&str> = start
        .iter()
        .chain(&after)
        .map(|(_, line)| line.as_str())
        .collect();
    assert!(
        lines.contains(&"STATUS=out of service: the records cannot be opened"),
        "the status says why: {lines:?}"
    );
    // systemd must not restart it (the page would come back after every start): it pings.
    let pinged = pings(&after);
    assert!(
        pinged.len() >= 3,
        "{} pings in 5 s while out of service: {lines:?}",
        pinged.len()
    );
    assert!(
        kiosk.0.try_wait().expect("the kiosk's state").is_none(),
        "the kiosk exited instead of showing the out-of-service page"
    );
}
