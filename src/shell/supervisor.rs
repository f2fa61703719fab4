//! Supervision by systemd (`Type=notify`, see `packaging/systemd/renshe-kiosk.service`):
//! `READY=1` once the journal is recovered and the first frame is on screen, `STATUS=` lines a
//! technician reads in `systemctl status` (never personal data), and watchdog pings sent from
//! the UI thread — only while the back-end task has checked in recently too. A frozen UI
//! sends no ping; a back-end task that died or hangs stops them as well; either way systemd
//! kills and restarts the kiosk. Without `NOTIFY_SOCKET` (a developer's desktop) every call
//! here does nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use std::cell::Cell;
use std::rc::Rc;

use sd_notify::NotifyState;
use slint::winit_030::{winit, EventResult, WinitWindowAccessor};

/// After this many watchdog timeouts without a check-in the back-end task counts as dead.
/// Its loop checks in every couple of seconds, but a heartbeat round may wait for the
/// back end's timeouts on every route: long enough for that, and short enough that a dead
/// task is restarted within minutes (5 min with the unit's `WatchdogSec=30`).
pub const STALE_AFTER_WATCHDOG_TIMEOUTS: u32 = 10;

/// Without winit (linuxkms) there is no event to see the first frame by: READY comes this
/// long after the loop started, when the calloop loop has long drawn its first frame.
const FIRST_FRAME_WITHOUT_WINIT: Duration = Duration::from_secs(1);

/// The moment the process first asked for the time; check-ins are milliseconds since then.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64
}

/// The back-end task's last check-in, shared with the UI thread's watchdog timer.
#[derive(Clone, Debug)]
pub struct CheckIn(Arc<AtomicU64>);

impl Default for CheckIn {
    fn default() -> Self {
        CheckIn(Arc::new(AtomicU64::new(now_ms())))
    }
}

impl CheckIn {
    /// "Still alive": called by the back-end task on every turn of its loop.
    pub fn stamp(&self) {
        self.0.store(now_ms(), Ordering::Relaxed);
    }

    /// How long ago the task last checked in.
    pub fn age(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.0.load(Ordering::Relaxed)))
    }
}

/// Whether the UI thread, running this, may tell systemd all is well: the back-end task (if
/// one runs) checked in within [`STALE_AFTER_WATCHDOG_TIMEOUTS`] watchdog timeouts.
pub fn should_ping(back_end_age: Option<Duration>, watchdog: Duration) -> bool {
    back_end_age.is_none_or(|age| age < watchdog * STALE_AFTER_WATCHDOG_TIMEOUTS)
}

/// Sends `STATUS=text`: what the kiosk is doing, in words for `systemctl status`.
pub fn status(text: &str) {
    send(&[NotifyState::Status(text)]);
}

fn send(states: &[NotifyState]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot notify the service manager");
    }
}

/// The timers of a supervised event loop; supervision stops when this is dropped.
pub struct Supervisor {
    _watchdog: Option<slint::Timer>,
}

/// Supervises the event loop about to run: `READY=1` and `STATUS=ready_status` once
/// `component`'s window has drawn its first frame, then a watchdog ping every half watchdog
/// timeout while `back_end` (if any) is fresh. Call on the UI thread before the window is
/// shown.
pub fn supervise<C: slint::ComponentHandle + 'static>(
    component: &C,
    back_end: Option<CheckIn>,
    ready_status: &'static str,
) -> Supervisor {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return Supervisor { _watchdog: None };
    }
    let watchdog = sd_notify::watchdog_enabled();
    let ready = Rc::new(Cell::new(false));
    let say_ready = move |ready: &Cell<bool>| {
        if !ready.replace(true) {
            send(&[NotifyState::Ready, NotifyState::Status(ready_status)]);
            tracing::info!(status = ready_status, "ready: told the service manager");
        }
    };
    // The software renderer has no rendering notifier. On winit it draws when it handles
    // RedrawRequested, right after this filter sees it; a zero timer fires at the start of
    // the next turn of the loop, after that frame.
    let seen = ready.clone();
    component.window().on_winit_window_event(move |_, event| {
        if matches!(event, winit::event::WindowEvent::RedrawRequested) && !seen.get() {
            let seen = seen.clone();
            slint::Timer::single_shot(Duration::ZERO, move || say_ready(&seen));
        }
        EventResult::Propagate
    });
    let weak = component.as_weak();
    slint::Timer::single_shot(FIRST_FRAME_WITHOUT_WINIT, move || {
        // Not a winit window (linuxkms): no RedrawRequested will come.
        if weak
            .upgrade()
            .is_some_and(|shown| !shown.window().has_winit_window())
        {
            say_ready(&ready);
        }
    });
    let timer = watchdog.map(|timeout| {
        let timer = slint::Timer::default();
        let mut stale_reported = false;
        timer.start(slint::TimerMode::Repeated, timeout / 2, move || {
            let age = back_end.as_ref().map(CheckIn::age);
            if should_ping(age, timeout) {
                stale_reported = false;
                send(&[NotifyState::Watchdog]);
            } else if !stale_reported {
                // No more pings: systemd restarts the kiosk when the timeout runs out.
                stale_reported = true;
                tracing::error!(
                    seconds = age.unwrap_or_default().as_secs(),
                    "the back-end task has not checked in: watchdog pings stop"
                );
                status("back-end task stalled: waiting for the watchdog to restart the kiosk");
            }
        });
        timer
    });
    Supervisor { _watchdog: timer }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_only_while_the_back_end_checked_in_within_ten_timeouts() {
        let timeout = Duration::from_secs(30);
        assert!(
            should_ping(None, timeout),
            "no back end: the UI alone decides"
        );
        assert!(should_ping(Some(Duration::from_secs(2)), timeout));
        assert!(should_ping(Some(Duration::from_secs(299)), timeout));
        assert!(!should_ping(Some(Duration::from_secs(300)), timeout));
        assert!(!should_ping(Some(Duration::from_secs(3_600)), timeout));
    }

    #[test]
    fn a_check_in_ages_until_stamped_again() {
        let check_in = CheckIn::default();
        std::thread::sleep(Duration::from_millis(60));
        assert!(check_in.age() >= Duration::from_millis(50));
        check_in.stamp();
        assert!(check_in.age() < Duration::from_millis(50));
    }
}
