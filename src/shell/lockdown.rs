//! No way out of the kiosk: its windows refuse the window system's close requests (the
//! close button, Alt+F4 and `WM_DELETE_WINDOW` from a window manager, `xdotool`, `wmctrl -c`).
//! The kiosk has no key binding of its own that quits, so no key combination leaves it
//! either. A developer's demo keeps a way out: a `[demo]` configuration, or `--allow-exit`.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;

/// Set once at start from the command line and the configuration; read by every window the
/// kiosk opens (the kiosk's and the out-of-service page's), wherever it is opened.
static EXIT_ALLOWED: AtomicBool = AtomicBool::new(false);

/// Whether closing the window may end the process: only for a demo configuration (a
/// terminal's build refuses `[demo]`) or when asked for explicitly.
pub fn exit_allowed(config: &Config, allow_exit_flag: bool) -> bool {
    allow_exit_flag || config.demo.is_some()
}

/// Records the decision of [`exit_allowed`] for the windows opened from now on.
pub fn set_exit_allowed(allowed: bool) {
    EXIT_ALLOWED.store(allowed, Ordering::SeqCst);
}

/// Makes `window` ignore close requests unless exit is allowed. Call it on every top-level
/// window before it is shown.
pub fn guard(window: &slint::Window) {
    window.on_close_requested(|| {
        if EXIT_ALLOWED.load(Ordering::SeqCst) {
            slint::CloseRequestResponse::HideWindow
        } else {
            tracing::info!("close request ignored: the kiosk stays on screen");
            slint::CloseRequestResponse::KeepWindowShown
        }
    });
}
