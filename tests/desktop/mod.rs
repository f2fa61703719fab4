//! The real `renshe-kiosk` binary on a real X server (Xvfb), as the window system and systemd
//! meet it: a terminal-like configuration (no `[demo]`, no simulators, the back end
//! unreachable), the kiosk's X window found by its process id, close requests sent the way
//! a window manager sends them (`WM_DELETE_WINDOW`), and the window's pixels read back.

// Each test binary uses the part it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ClientMessageEvent, ConnectionExt as _, EventMask, ImageFormat, MapState, Window,
};

/// One X server per test binary, its display number given by the binary; its tests take
/// turns (keyboard focus is per server).
static TURN: Mutex<()> = Mutex::new(());

/// An Xvfb this process started (stopped when dropped), or one already running there.
pub struct Xvfb {
    pub display: String,
    child: Option<Child>,
    _turn: MutexGuard<'static, ()>,
}

impl Xvfb {
    pub fn start(number: u32) -> Xvfb {
        let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let display = format!(":{number}");
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        if x11rb::connect(Some(&display)).is_ok() {
            return Xvfb {
                display,
                child: None,
                _turn: turn,
            };
        }
        // A lock file left by an Xvfb that was killed would stop a new one from starting.
        let _ = std::fs::remove_file(format!("/tmp/.X{number}-lock"));
        let _ = std::fs::remove_file(&socket);
        // -noreset: by default the server resets when its last client leaves, and the probe
        // below is a client; a connection made during that reset is refused ("connection
        // reset by peer"), which failed the escape test once.
        let child = Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                "1280x2000x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (./dev setup)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while x11rb::connect(Some(&display)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Xvfb did not come up on {display}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Xvfb {
            display,
            child: Some(child),
            _turn: turn,
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The demo configuration turned into a terminal's: no `[demo]` section, no simulated
/// device, the back end on a loopback port where nothing listens, data in `dir`.
pub fn terminal_config(dir: &Path) -> PathBuf {
    let demo = std::fs::read_to_string(renshe_kiosk::config::DEMO_CONFIG_PATH).expect("demo.toml");
    let without_demo = demo
        .split("\n[demo]")
        .next()
        .expect("text before [demo]")
        .to_owned()
        + &demo[demo.find("\n[backend]").expect("a [backend] section")..];
    let text = without_demo
        .replace("127.0.0.1:18333", "127.0.0.1:9")
        .replace("camera = \"sim\"", "camera = \"none\"")
        .replace("a4_printer = \"sim\"", "a4_printer = \"none\"")
        .replace("voice = \"alsa\"", "voice = \"none\"")
        .replace("sam_reader = \"sim\"", "sam_reader = \"none\"")
        .replace("reader = \"sim\"", "reader = \"no such reader\"")
        .replace(
            "port = \"sim\"\nbaud = 9600",
            "port = \"/nonexistent/ttyS9\"\nbaud = 9600",
        )
        .replace(
            "[devices.id_card_reader]\nport = \"sim\"",
            "[devices.id_card_reader]\nport = \"none\"",
        )
        .replace(
            "directory = \"../target/kiosk-demo-data\"",
            &format!("directory = \"{}\"", dir.join("data").display()),
        );
    assert!(
        !text.contains("\"sim\""),
        "a simulated device is left:\n{text}"
    );
    let path = dir.join("terminal.toml");
    std::fs::write(&path, text).expect("write the configuration");
    path
}

/// The kiosk binary on `display` with `config`; pcscd is pointed at a socket that does not
/// exist (the machine's pcscd and its virtual reader belong to other tests).
pub fn kiosk(display: &str, config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_renshe-kiosk"));
    command
        .args(["run", "--config"])
        .arg(config)
        .env("DISPLAY", display)
        .env("PCSCLITE_CSOCK_NAME", "/tmp/nonexistent.comm")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .env_remove("SLINT_FULLSCREEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// A running kiosk, killed when dropped.
pub struct Running(pub Child);

impl Running {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    /// Waits up to `limit` for the process to end.
    pub fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An X connection to look at the kiosk's window.
pub struct X {
    pub conn: x11rb::rust_connection::RustConnection,
    pub root: Window,
}

impl X {
    pub fn connect(display: &str) -> X {
        let (conn, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        X { conn, root }
    }

    fn atom(&self, name: &str) -> u32 {
        self.conn
            .intern_atom(false, name.as_bytes())
            .expect("intern_atom")
            .reply()
            .expect("atom")
            .atom
    }

    /// The mapped top-level window whose `_NET_WM_PID` is `pid`, waiting up to `limit`.
    pub fn window_of(&self, pid: u32, limit: Duration) -> Option<Window> {
        let deadline = Instant::now() + limit;
        let net_wm_pid = self.atom("_NET_WM_PID");
        loop {
            let tree = self.conn.query_tree(self.root).ok()?.reply().ok()?;
            for window in tree.children {
                let owner = self
                    .conn
                    .get_property(false, window, net_wm_pid, 6u32 /* CARDINAL */, 0, 1)
                    .ok()
                    .and_then(|cookie| cookie.reply().ok())
                    .and_then(|reply| reply.value32().and_then(|mut values| values.next()));
                if owner == Some(pid) && self.mapped(window) {
                    return Some(window);
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether `window` exists and is on screen.
    pub fn mapped(&self, window: Window) -> bool {
        self.conn
            .get_window_attributes(window)
            .ok()
            .and_then(|cookie| cookie.reply().ok())
            .is_some_and(|attributes| attributes.map_state == MapState::VIEWABLE)
    }

    /// Asks the window to close the way a window manager does on Alt+F4 or its close
    /// button: a `WM_PROTOCOLS` client message carrying `WM_DELETE_WINDOW`.
    pub fn request_close(&self, window: Window) {
        let protocols = self.atom("WM_PROTOCOLS");
        let delete = self.atom("WM_DELETE_WINDOW");
        let event = ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
        self.conn
            .send_event(false, window, EventMask::NO_EVENT, event)
            .expect("send WM_DELETE_WINDOW");
        // And the EWMH request a pager or `wmctrl -c` sends to the root window (a window
        // manager would turn it into the message above).
        let net_close = self.atom("_NET_CLOSE_WINDOW");
        let event = ClientMessageEvent::new(32, window, net_close, [0, 2, 0, 0, 0]);
        self.conn
            .send_event(
                false,
                self.root,
                EventMask::SUBSTRUCTURE_REDIRECT | EventMask::SUBSTRUCTURE_NOTIFY,
                event,
            )
            .expect("send _NET_CLOSE_WINDOW");
        self.conn.flush().expect("flush");
    }

    /// How many distinct colours a grid of the window's pixels shows: 1 for a window
    /// nothing was drawn into yet.
    pub fn colours(&self, window: Window) -> usize {
        let geometry = self
            .conn
            .get_geometry(window)
            .expect("get_geometry")
            .reply()
            .expect("geometry");
        let mut seen = std::collections::HashSet::new();
        let (width, height) = (geometry.width, geometry.height);
        for row in 0..16u16 {
            let y = (height / 16) * row + height / 32;
            let image = self
                .conn
                .get_image(ImageFormat::Z_PIXMAP, window, 0, y as i16, width, 1, !0)
                .expect("get_image")
                .reply()
                .expect("image");
            for pixel in image.data.chunks_exact(4).step_by(7) {
                seen.insert([pixel[0], pixel[1], pixel[2]]);
            }
        }
        seen.len()
    }
}
