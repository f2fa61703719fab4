//! The whole kiosk on a window of Slint's testing backend, as the end-to-end tests drive it:
//! the demo tray's virtual cards in real pcscd + vpcd, the demo back end on loopback (real
//! HTTP, a real SQLite journal), the virtual printer and ID-card reader on real ptys. Taps go
//! by the labels a screen reader would use.
//!
//! One rig per test binary: the testing backend can be installed once per process, and the
//! demo tray owns vpcd's ports (cargo runs test binaries one after another).

// Each test binary uses the part of the rig it needs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use renshe_kiosk::config::{Config, BUNDLED_DEMO_CONFIG};
use renshe_kiosk::core::{Event, Millis};
use renshe_kiosk::i18n::Translator;
use renshe_kiosk::shell::events::EventSink;
use renshe_kiosk::shell::{session_settings, Kiosk};
use renshe_kiosk::store::Store;
use renshe_kiosk::ui::{
    AppWindow, CardServiceAdapter, CardServiceStep, PageId, PinPadAdapter, QueryAdapter,
};
use slint::ComponentHandle;
use tokio::sync::mpsc::UnboundedReceiver;

const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
const WAIT: Duration = Duration::from_secs(20);

pub fn ensure_pcscd() {
    if std::os::unix::net::UnixStream::connect(PCSCD_SOCKET).is_ok() {
        return;
    }
    let started = std::process::Command::new("sh")
        .args(["-c", "pcscd -f -a </dev/null >/dev/null 2>&1 &"])
        .status()
        .expect("sh");
    assert!(started.success(), "could not start pcscd");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(PCSCD_SOCKET).is_err() {
        assert!(Instant::now() < deadline, "pcscd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The demo configuration with its own data directory and demo back-end port.
pub fn config(dir: &tempfile::TempDir) -> Config {
    config_with(dir, |text| text)
}

/// [`config`], with the demo configuration's text changed by `edit` first.
pub fn config_with(dir: &tempfile::TempDir, edit: impl FnOnce(String) -> String) -> Config {
    let port = demo_backend_port();
    let text = edit(BUNDLED_DEMO_CONFIG.to_owned())
        .replace("127.0.0.1:18333", &format!("127.0.0.1:{port}"))
        .replace(
            "directory = \"../target/kiosk-demo-data\"",
            &format!("directory = {:?}", dir.path().display().to_string()),
        );
    Config::parse(&text, Path::new("demo.toml")).expect("demo config")
}

/// The demo back end's port for this test process: one the system had free when first asked
/// (a port made from the process id once collided with another process's socket), the same
/// for every configuration the process makes, as before.
fn demo_backend_port() -> u16 {
    static PORT: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
    *PORT.get_or_init(|| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_or(30_000 + (std::process::id() % 10_000) as u16, |address| {
                address.port()
            })
    })
}

/// One HTTP/1.1 exchange with the demo back end (`body` sent as JSON when given): the whole
/// answer, status line first.
pub fn demo_http(config: &Config, method: &str, path: &str, body: Option<&str>) -> String {
    let address = config.demo.as_ref().expect("[demo]").backend_listen;
    let mut stream = TcpStream::connect(address).expect("connect to the demo back end");
    let body_headers = body.map_or(String::new(), |body| {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    });
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{body_headers}Connection: close\r\n\r\n{}",
        body.unwrap_or("")
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
}

/// The resident operations the demo back end applied, in order.
pub fn ledger(config: &Config) -> Vec<String> {
    let answer = demo_http(config, "GET", "/admin/ledger", None);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("[]");
    let entries: Vec<serde_json::Value> = serde_json::from_str(body).expect("ledger JSON");
    entries
        .iter()
        .filter_map(|entry| entry["op"].as_str().map(str::to_owned))
        // The terminal's own shipping of its journal is not a resident's operation.
        .filter(|op| op != "heartbeat" && op != "journal_batch")
        .collect()
}

pub struct Rig {
    pub app: AppWindow,
    pub kiosk: Kiosk,
    incoming: UnboundedReceiver<Event>,
    /// What the window showed when it was last laid out.
    laid_out: String,
    /// Added to the kiosk's clock: time passes at once for idle timeouts.
    skipped: Rc<std::cell::Cell<u64>>,
}

impl Rig {
    /// The demo kiosk assembled on the testing backend, its back end ready; with its
    /// configuration and the data directory it writes to (removed when dropped).
    pub fn start() -> (Rig, Config, tempfile::TempDir) {
        Rig::start_with(|text| text)
    }

    /// [`Rig::start`] on the demo configuration's text changed by `edit`.
    pub fn start_with(edit: impl FnOnce(String) -> String) -> (Rig, Config, tempfile::TempDir) {
        ensure_pcscd();
        slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
            mock_time: true,
            threading: false,
            renderer_name: Some("software".into()),
        })))
        .expect("the testing backend is installed once");
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config_with(&dir, edit);
        // As `shell::run` makes it: 0700.
        renshe_kiosk::store::private_directory(&config.data.directory).expect("data dir");
        // The kiosk's tasks run until the process ends, as in the real kiosk.
        let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime"),
        ));
        std::mem::forget(runtime.enter());
        let store = Store::open(&config.database_path()).expect("store");
        let (events, incoming) = EventSink::channel();
        let app = AppWindow::new().expect("window");
        app.window().set_size(slint::PhysicalSize::new(1080, 1920));
        app.show().expect("show");
        let started = Instant::now();
        let skipped = Rc::new(std::cell::Cell::new(0u64));
        let skip = skipped.clone();
        let kiosk = Kiosk::assemble(
            &config,
            &app,
            store,
            runtime,
            events,
            Rc::new(Translator::new().expect("translator")),
            session_settings(&config),
            Rc::new(move || Millis(started.elapsed().as_millis() as u64 + skip.get())),
            renshe_kiosk::metrics::Metrics::new(),
        )
        .expect("the kiosk assembles");
        let mut rig = Rig {
            app,
            kiosk,
            incoming,
            laid_out: String::new(),
            skipped,
        };
        rig.until("the back end to be ready", |app| {
            app.get_network_state() == "online"
        });
        (rig, config, dir)
    }

    /// Lays the page out when what it shows may have changed: conditional elements appear
    /// then. A software render of the whole window is the slow part of this test, so not
    /// for every digit typed.
    pub fn lay_out(&mut self) {
        let shown = format!(
            "{:?} {:?} {:?} {} {} {}",
            self.app.get_page(),
            self.app.global::<CardServiceAdapter>().get_step(),
            self.app.global::<QueryAdapter>().get_step(),
            self.app.global::<PinPadAdapter>().get_prompt_key(),
            self.app.global::<PinPadAdapter>().get_notice_key(),
            self.app
                .global::<CardServiceAdapter>()
                .get_typed_problem_key(),
        ) + &format!(
            " {:?}",
            self.app
                .global::<renshe_kiosk::ui::CertificationAdapter>()
                .get_step()
        ) + &format!(
            " {:?}",
            self.app
                .global::<renshe_kiosk::ui::ProxiesAdapter>()
                .get_step()
        ) + &format!(
            " {} {:?}",
            self.app.get_maintenance(),
            self.app
                .global::<renshe_kiosk::ui::TechnicianAdapter>()
                .get_step()
        );
        if shown != self.laid_out {
            self.app.window().take_snapshot().expect("render");
            self.laid_out = shown;
        }
    }

    /// Feeds the adapters' events to the session until `done` holds.
    pub fn until(&mut self, what: &str, done: impl Fn(&AppWindow) -> bool) {
        let deadline = Instant::now() + WAIT;
        let mut changed = true;
        loop {
            while let Ok(event) = self.incoming.try_recv() {
                self.kiosk.controller.dispatch(event);
                changed = true;
            }
            if changed {
                self.lay_out();
                changed = false;
            }
            if done(&self.app) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; page {:?}, card step {:?}, query step {:?}, pad notice {:?}",
                self.app.get_page(),
                self.app.global::<CardServiceAdapter>().get_step(),
                self.app.global::<QueryAdapter>().get_step(),
                self.app.global::<PinPadAdapter>().get_notice_key(),
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Taps what carries `label` (a button's words, a key's digit).
    pub fn tap(&mut self, label: &str) {
        self.lay_out();
        ElementHandle::find_by_accessible_label(&self.app, label)
            .next()
            .unwrap_or_else(|| {
                panic!(
                    "nothing labelled {label:?} on page {:?}",
                    self.app.get_page()
                )
            })
            .invoke_accessible_default_action();
    }

    /// Types a PIN on the pad as it is laid out now, and confirms.
    pub fn type_pin(&mut self, digits: &str) {
        let before: Vec<i32> = self.pad_layout();
        for digit in digits.chars() {
            self.tap(&digit.to_string());
        }
        assert_eq!(
            self.app.global::<PinPadAdapter>().get_entered(),
            digits.len() as i32,
            "a dot per digit"
        );
        assert_eq!(
            before,
            self.pad_layout(),
            "the pad keeps its layout while typing"
        );
        self.tap("确认");
    }

    pub fn pad_layout(&self) -> Vec<i32> {
        use slint::Model;
        self.app
            .global::<PinPadAdapter>()
            .get_labels()
            .iter()
            .collect()
    }

    pub fn insert(&mut self, index: usize) {
        self.kiosk.card_reader.demo_insert(index);
        self.until("the card to be read", |app| {
            !app.get_holder_name().is_empty()
        });
    }

    pub fn take_out(&mut self) {
        self.kiosk.card_reader.demo_take_out();
        self.until("the session to end", |app| {
            app.get_page() == PageId::Attract && app.get_holder_name().is_empty()
        });
    }

    /// Lets `seconds` pass on the kiosk's clock at once, and ticks.
    pub fn advance(&mut self, seconds: u64) {
        self.skipped.set(self.skipped.get() + seconds * 1000);
        self.kiosk.controller.dispatch(Event::Tick);
        self.lay_out();
    }

    pub fn card_step(&self) -> CardServiceStep {
        self.app.global::<CardServiceAdapter>().get_step()
    }

    pub fn home(&mut self) {
        self.tap("首页");
        assert_eq!(self.app.get_page(), PageId::Home);
    }
}

/// Every byte the kiosk wrote to its data directory (the journal, the outbox, receipts).
pub fn data_bytes(config: &Config) -> Vec<u8> {
    let mut files = vec![config.data.directory.clone()];
    let mut bytes = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("read dir")
                    .map(|entry| entry.expect("entry").path()),
            );
        } else {
            bytes.extend(std::fs::read(&path).expect("read"));
        }
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Sets the demo back end's fault plan (`/admin/faults`), e.g. `{"certification_verdict": "not_live"}`.
pub fn set_faults(config: &Config, plan: &str) {
    let answer = demo_http(config, "POST", "/admin/faults", Some(plan));
    assert!(answer.starts_with("HTTP/1.1 2"), "faults not set: {answer}");
}
