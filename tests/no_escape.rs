//! No way out of the kiosk: the real binary on Xvfb with a terminal's configuration gets the
//! usual key combinations (xdotool, through XTEST, into its focused window) and close
//! requests (`WM_DELETE_WINDOW`, `_NET_CLOSE_WINDOW`), and it and its window stay. With
//! `--allow-exit` the same close request ends it, which shows the request does arrive.

mod desktop;

use std::process::Command;
use std::time::Duration;

use desktop::{kiosk, terminal_config, Running, Xvfb, X};

const DISPLAY_NUMBER: u32 = 91;
/// A debug build's first start (the store, migrations, the first frame) on a busy machine.
const START: Duration = Duration::from_secs(90);

/// The combinations that leave an ordinary program or desktop session.
const ESCAPES: &[&str] = &[
    "alt+F4",
    "ctrl+q",
    "ctrl+w",
    "Escape",
    "alt+Tab",
    "ctrl+alt+BackSpace",
    "F11",
    "ctrl+c",
    "ctrl+z",
    "alt+F2",
    "super",
    "ctrl+alt+Delete",
    "ctrl+alt+F1",
];

fn xdotool(display: &str, args: &[&str]) {
    let status = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .status()
        .expect("xdotool is installed (./dev setup)");
    assert!(status.success(), "xdotool {args:?} failed");
}

#[test]
fn a_terminal_ignores_close_requests_and_escape_keys_and_allow_exit_lets_it_close() {
    let xvfb = Xvfb::start(DISPLAY_NUMBER);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = terminal_config(dir.path());
    let x = X::connect(&xvfb.display);

    let mut terminal = Running(
        kiosk(&xvfb.display, &config)
            .spawn()
            .expect("start the kiosk"),
    );
    let window = x
        .window_of(terminal.pid(), START)
        .expect("the kiosk's window appears");

    xdotool(
        &xvfb.display,
        &["windowfocus", "--sync", &window.to_string()],
    );
    for keys in ESCAPES {
        xdotool(&xvfb.display, &["key", "--clearmodifiers", keys]);
        std::thread::sleep(Duration::from_millis(150));
        assert!(terminal.alive(), "the kiosk ended after {keys}");
    }
    for _ in 0..3 {
        x.request_close(window);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        terminal.exited_within(Duration::from_secs(3)).is_none(),
        "the kiosk ended after close requests"
    );
    assert!(x.mapped(window), "the kiosk's window is gone");
    assert_eq!(
        x.window_of(terminal.pid(), Duration::ZERO),
        Some(window),
        "the kiosk's window is not on screen any more"
    );

    // The same request, allowed: the window closes and the kiosk ends cleanly. (Its own
    // data directory: one process per database.)
    let other = tempfile::tempdir().expect("tempdir");
    let other_config = terminal_config(other.path());
    let mut allowed = Running(
        kiosk(&xvfb.display, &other_config)
            .arg("--allow-exit")
            .spawn()
            .expect("start the kiosk"),
    );
    let allowed_window = x
        .window_of(allowed.pid(), START)
        .expect("the second kiosk's window appears");
    x.request_close(allowed_window);
    let status = allowed
        .exited_within(Duration::from_secs(15))
        .expect("with --allow-exit a close request ends the kiosk");
    assert!(status.success(), "the kiosk ended with {status}");
    assert!(terminal.alive(), "the terminal-like kiosk is still running");
}
