//! Card services end to end, as a resident meets them: the whole kiosk assembled on a window
//! of Slint's testing backend, the demo tray's virtual cards in real pcscd + vpcd, the demo
//! back end on loopback (real HTTP, a real SQLite journal), the virtual printer on a real
//! pty. The test taps the screen by the labels a screen reader would use and checks what the
//! window shows and what the back end's ledger holds.
//!
//! One test function: the testing backend can be installed once per process, and the demo
//! tray owns vpcd's ports.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use renshe_kiosk::card::sim::PIN_TRIES;
use renshe_kiosk::config::{Config, BUNDLED_DEMO_CONFIG};
use renshe_kiosk::core::{Event, Millis};
use renshe_kiosk::i18n::Translator;
use renshe_kiosk::shell::events::EventSink;
use renshe_kiosk::shell::{session_settings, Kiosk};
use renshe_kiosk::store::Store;
use renshe_kiosk::ui::{
    AppWindow, CardServiceAdapter, CardServiceStep, PageId, PinPadAdapter, QueryAdapter, QueryStep,
};
use slint::ComponentHandle;
use tokio::sync::mpsc::UnboundedReceiver;

const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
const WAIT: Duration = Duration::from_secs(20);

fn ensure_pcscd() {
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
fn config(dir: &tempfile::TempDir) -> Config {
    let port = 30_000 + (std::process::id() % 10_000) as u16;
    let text = BUNDLED_DEMO_CONFIG
        .replace("127.0.0.1:18333", &format!("127.0.0.1:{port}"))
        .replace(
            "directory = \"../target/kiosk-demo-data\"",
            &format!("directory = {:?}", dir.path().display().to_string()),
        );
    Config::parse(&text, Path::new("demo.toml")).expect("demo config")
}

/// The operations the demo back end applied, in order.
fn ledger(config: &Config) -> Vec<String> {
    let address = config.demo.as_ref().expect("[demo]").backend_listen;
    let mut stream = TcpStream::connect(address).expect("connect to the demo back end");
    write!(
        stream,
        "GET /admin/ledger HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("[]");
    let entries: Vec<serde_json::Value> = serde_json::from_str(body).expect("ledger JSON");
    entries
        .iter()
        .filter_map(|entry| entry["op"].as_str().map(str::to_owned))
        .filter(|op| op != "heartbeat")
        .collect()
}

struct Rig {
    app: AppWindow,
    kiosk: Kiosk,
    incoming: UnboundedReceiver<Event>,
    /// What the window showed when it was last laid out.
    laid_out: String,
}

impl Rig {
    /// Lays the page out when what it shows may have changed: conditional elements appear
    /// then. A software render of the whole window is the slow part of this test, so not
    /// for every digit typed.
    fn lay_out(&mut self) {
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
        );
        if shown != self.laid_out {
            self.app.window().take_snapshot().expect("render");
            self.laid_out = shown;
        }
    }

    /// Feeds the adapters' events to the session until `done` holds.
    fn until(&mut self, what: &str, done: impl Fn(&AppWindow) -> bool) {
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
    fn tap(&mut self, label: &str) {
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
    fn type_pin(&mut self, digits: &str) {
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

    fn pad_layout(&self) -> Vec<i32> {
        use slint::Model;
        self.app
            .global::<PinPadAdapter>()
            .get_labels()
            .iter()
            .collect()
    }

    fn insert(&mut self, index: usize) {
        self.kiosk.card_reader.demo_insert(index);
        self.until("the card to be read", |app| {
            !app.get_holder_name().is_empty()
        });
    }

    fn take_out(&mut self) {
        self.kiosk.card_reader.demo_take_out();
        self.until("the session to end", |app| {
            app.get_page() == PageId::Attract && app.get_holder_name().is_empty()
        });
    }

    fn card_step(&self) -> CardServiceStep {
        self.app.global::<CardServiceAdapter>().get_step()
    }

    fn home(&mut self) {
        self.tap("首页");
        assert_eq!(self.app.get_page(), PageId::Home);
    }
}

#[test]
fn card_services_through_pcscd_and_the_demo_back_end() {
    ensure_pcscd();
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .expect("the testing backend is installed once");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(&dir);
    std::fs::create_dir_all(&config.data.directory).expect("data dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let store = Store::open(&config.database_path()).expect("store");
    let (events, incoming) = EventSink::channel();
    let app = AppWindow::new().expect("window");
    app.window().set_size(slint::PhysicalSize::new(1080, 1920));
    app.show().expect("show");
    let started = Instant::now();
    let kiosk = Kiosk::assemble(
        &config,
        &app,
        store,
        &runtime,
        events,
        Rc::new(Translator::new().expect("translator")),
        session_settings(&config),
        Rc::new(move || Millis(started.elapsed().as_millis() as u64)),
    )
    .expect("the kiosk assembles");
    let mut rig = Rig {
        app,
        kiosk,
        incoming,
        laid_out: String::new(),
    };
    rig.until("the back end to be ready", |app| {
        app.get_network_state() == "online"
    });

    // Queries ask for the PIN first, on the card itself (VERIFY through pcscd).
    rig.insert(0);
    assert_eq!(rig.app.get_page(), PageId::Home);
    rig.tap("缴费记录");
    assert_eq!(
        rig.app.global::<QueryAdapter>().get_step(),
        QueryStep::EnterPin
    );
    let first_layout = rig.pad_layout();
    rig.type_pin("654321");
    rig.until("the wrong PIN's tries left", |app| {
        app.global::<PinPadAdapter>().get_notice_key() == "pin-wrong"
    });
    assert_eq!(
        rig.app.global::<PinPadAdapter>().get_retries_left(),
        i32::from(PIN_TRIES) - 1
    );
    assert_ne!(rig.pad_layout(), first_layout, "the pad is reshuffled");
    rig.type_pin("123456");
    rig.until("the records", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::Answered
    });

    // A PIN verified once holds for the card: another query asks for none.
    rig.home();
    rig.tap("社保卡状态");
    rig.until("the second query's records", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::Answered
    });

    // PIN change: old (wrong, then right), a trivial new one refused, then twice alike.
    rig.home();
    rig.tap("修改密码");
    assert_eq!(rig.card_step(), CardServiceStep::EnterPin);
    rig.type_pin("111222");
    rig.type_pin("802211");
    rig.type_pin("802211");
    rig.until("the wrong old PIN", |app| {
        app.global::<PinPadAdapter>().get_notice_key() == "pin-wrong"
    });
    rig.type_pin("123456");
    rig.type_pin("123456");
    assert_eq!(
        rig.app.global::<PinPadAdapter>().get_notice_key(),
        "pin-weak-sequence"
    );
    rig.type_pin("802211");
    rig.type_pin("802211");
    rig.until("the changed PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::PinChanged
    });

    // The card pulled in the middle of a service ends it safely: nothing half-done, and the
    // attract page says so.
    rig.take_out();
    rig.insert(2);
    rig.tap("社保卡启用");
    rig.until("the issuing PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::EnterPin
    });
    rig.take_out();
    assert_eq!(rig.app.get_farewell(), "farewell-interrupted");
    assert!(ledger(&config).is_empty(), "nothing was sent");

    // Activation of the not-activated card: issuing PIN, new PIN twice, CHANGE PIN on the
    // card, `activate` at the back end once, a receipt with its verification code.
    rig.insert(2);
    rig.tap("社保卡启用");
    rig.until("the issuing PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::EnterPin
    });
    rig.type_pin("123456");
    rig.until("the new PIN's pad", |app| {
        app.global::<PinPadAdapter>().get_prompt_key() == "pin-prompt-new"
    });
    rig.type_pin("135790");
    rig.type_pin("135790");
    rig.until("the activation", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    let code = rig
        .app
        .global::<CardServiceAdapter>()
        .get_verification_code();
    assert_eq!(code.len(), 9, "a code like K7Q2-9XMA: {code}");
    assert_eq!(ledger(&config), ["activate_card"]);
    // An active card is told so.
    rig.home();
    rig.tap("社保卡启用");
    rig.until("the card's state", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Unsuitable
    });
    assert_eq!(
        rig.app.global::<CardServiceAdapter>().get_message_key(),
        "card-unsuitable-already-active"
    );

    // Loss report without the card: the ID number typed (checked as it comes in) and the
    // name in pinyin; the back end's answer must match both.
    rig.take_out();
    rig.tap("点击开始");
    rig.tap("临时挂失");
    assert_eq!(rig.card_step(), CardServiceStep::ChooseIdentification);
    rig.tap("输入身份证号码");
    for key in "500103199003071221".chars() {
        rig.tap(&key.to_string());
    }
    assert_eq!(
        rig.app
            .global::<CardServiceAdapter>()
            .get_typed_problem_key(),
        "loss-report-id-bad-checksum"
    );
    rig.tap("退格");
    rig.tap("0");
    assert!(rig.app.global::<CardServiceAdapter>().get_typed_complete());
    rig.tap("下一步");
    assert_eq!(rig.card_step(), CardServiceStep::TypeName);
    for key in "zhangxiaofan".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("完成");
    rig.until("the mismatch", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Failed
    });
    assert_eq!(
        rig.app.global::<CardServiceAdapter>().get_message_key(),
        "card-service-not-found",
        "a name that does not match says no more than 'not found'"
    );
    rig.home();
    rig.tap("临时挂失");
    rig.tap("输入身份证号码");
    for key in "500103199003071220".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("下一步");
    for key in "zhangxiaofang".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("完成");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    assert_eq!(
        rig.app
            .global::<CardServiceAdapter>()
            .get_masked_card_number(),
        "******345"
    );
    rig.tap("确认办理");
    rig.until("the loss report", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    assert_eq!(ledger(&config), ["activate_card", "report_loss"]);

    // Release with the card and its PIN.
    rig.home();
    rig.insert(0);
    rig.tap("挂失解除");
    rig.until("the PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::EnterPin
    });
    rig.type_pin("123456");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    rig.tap("确认办理");
    rig.until("the release", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    assert_eq!(
        ledger(&config),
        ["activate_card", "report_loss", "release_loss"],
        "each mutation once"
    );

    // Loss report and release by the ID card on the reader (the virtual reader on a pty,
    // through the real serial adapter): no social security card needed.
    rig.take_out();
    rig.kiosk.id_card.demo_place(1);
    rig.until("the ID card to be read", |app| {
        app.get_page() == PageId::Home
    });
    rig.tap("临时挂失");
    rig.tap("用身份证核实");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    assert_eq!(
        rig.app
            .global::<CardServiceAdapter>()
            .get_masked_card_number(),
        "******890"
    );
    rig.tap("确认办理");
    rig.until("the loss report", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    rig.home();
    rig.tap("挂失解除");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    rig.tap("确认办理");
    rig.until("the release", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    assert_eq!(
        ledger(&config),
        [
            "activate_card",
            "report_loss",
            "release_loss",
            "report_loss",
            "release_loss"
        ]
    );
    rig.kiosk.id_card.demo_take();
    rig.home();

    // A PIN entered wrongly until the card blocks it: what it means, and where to go.
    rig.insert(1);
    rig.tap("参保信息");
    for _ in 0..PIN_TRIES {
        rig.until("the pad", |app| {
            app.global::<QueryAdapter>().get_step() == QueryStep::EnterPin
                || app.global::<QueryAdapter>().get_step() == QueryStep::PinBlocked
        });
        if rig.app.global::<QueryAdapter>().get_step() == QueryStep::PinBlocked {
            break;
        }
        rig.type_pin("000000");
    }
    rig.until("the blocked PIN", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::PinBlocked
    });
    rig.take_out();

    // After all that, no resident's name or ID number is anywhere in the data directory
    // (queries and identification are not journaled; receipts print masked).
    drop(rig);
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
    assert!(!bytes.is_empty(), "the journal was written");
    for holder in renshe_kiosk::card::sim::demo_residents() {
        for secret in [holder.name.as_str(), holder.id_number.as_str()] {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "a resident's name or ID number is on disk in plain text"
            );
        }
    }
}
