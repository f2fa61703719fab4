//! The 10,000-session soak (issue 13): sessions through the real `Session` and the whole
//! demo kiosk — the controller, every adapter, the demo tray's virtual cards in real pcscd +
//! vpcd, the virtual printer on a pty, the demo back end on loopback with its SQLite journal
//! — on a window of Slint's testing backend running a real event loop (real timers; pages
//! rendered with the software renderer whenever what they show changes).
//!
//! It prints the process's resident memory (`Rss` and `Pss` of `/proc/self/smaps_rollup`)
//! after a warm-up (the catalogue's first sync and the first sessions' caches), after 1,000
//! sessions and at the end, with the growth (goal: ≤ 2 MB from start to end), and the gaps
//! between consecutive ticks of the kiosk's 500 ms UI timer (the timer the watchdog's pings
//! will ride on): the largest, and how many exceeded 1 s (goal: none over half a 20 s
//! watchdog interval, 10 s).
//!
//! What a session is: a resident with a card (card in — read over PC/SC, PIN typed on the
//! screen's pad and verified by the card, the contributions query at the back end, its
//! receipt printed, card out) every `SOAK_CARD_EVERY`th session (default 10); the others
//! without a card, which is what keeps 10,000 within reach: pcscd notices a virtual card
//! only every 400 ms, so a card session takes over a second. A session without a card taps
//! 点击开始, 临时挂失 by typed ID (18 key taps, each checked as typed) and pinyin name, the
//! back end identifies the person and the confirmation page shows the masked card number (or,
//! for the not-activated card, that it cannot be reported lost yet);
//! then 首页, and the session ends by the idle timeout (the kiosk's clock is moved on).
//!
//! `cargo bench --bench soak` (release). `SOAK_SESSIONS=N` shortens it (default 10,000).
//! Nothing else may use vpcd meanwhile (the demo tray owns its ports).

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use renshe_kiosk::config::{Config, BUNDLED_DEMO_CONFIG};
use renshe_kiosk::core::{Event, Millis};
use renshe_kiosk::i18n::Translator;
use renshe_kiosk::shell::events::EventSink;
use renshe_kiosk::shell::{session_settings, Kiosk};
use renshe_kiosk::store::Store;
use renshe_kiosk::ui::{
    AppWindow, CardServiceAdapter, CardServiceStep, PageId, PinPadAdapter, PrintStep, QueryAdapter,
    QueryStep,
};
use slint::ComponentHandle;

const WAIT: Duration = Duration::from_secs(30);
const WARM_UP: usize = 20;
const GOAL_GROWTH_MB: f64 = 2.0;
/// Half of a 20 s watchdog interval.
const GOAL_GAP: Duration = Duration::from_secs(10);

/// What lives on the UI thread; the driver thread reaches it through the event loop.
struct Ui {
    app: AppWindow,
    kiosk: Kiosk,
    skipped: Rc<Cell<u64>>,
    idle_ms: u64,
    laid_out: String,
}

thread_local! {
    static UI: RefCell<Option<Ui>> = const { RefCell::new(None) };
}

impl Ui {
    /// Renders the window when what it shows changed: conditional elements exist then.
    fn lay_out(&mut self) {
        let shown = format!(
            "{:?} {:?} {:?} {} {:?} {}",
            self.app.get_page(),
            self.app.global::<CardServiceAdapter>().get_step(),
            self.app.global::<QueryAdapter>().get_step(),
            self.app.global::<PinPadAdapter>().get_prompt_key(),
            self.app.global::<QueryAdapter>().get_print_step(),
            self.app.get_holder_name(),
        );
        if shown != self.laid_out {
            let _ = self.app.window().take_snapshot();
            self.laid_out = shown;
        }
    }

    fn tap(&mut self, label: &str) {
        self.lay_out();
        match ElementHandle::find_by_accessible_label(&self.app, label).next() {
            Some(element) => element.invoke_accessible_default_action(),
            None => panic!(
                "nothing labelled {label:?} on page {:?}",
                self.app.get_page()
            ),
        }
    }
}

/// Runs `f` on the UI thread and waits for its answer.
fn on_ui<R: Send + 'static>(f: impl FnOnce(&mut Ui) -> R + Send + 'static) -> R {
    let (answer, answered) = std::sync::mpsc::channel();
    slint::invoke_from_event_loop(move || {
        let result = UI.with(|ui| f(ui.borrow_mut().as_mut().expect("the kiosk is up")));
        let _ = answer.send(result);
    })
    .expect("the event loop runs");
    answered.recv().expect("the UI thread answered")
}

fn until(what: &str, done: fn(&AppWindow) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        if on_ui(move |ui| {
            ui.lay_out();
            done(&ui.app)
        }) {
            return;
        }
        if Instant::now() > deadline {
            let shown = on_ui(|ui| {
                format!(
                    "page {:?}, card step {:?}, query step {:?}, message {}",
                    ui.app.get_page(),
                    ui.app.global::<CardServiceAdapter>().get_step(),
                    ui.app.global::<QueryAdapter>().get_step(),
                    ui.app.global::<CardServiceAdapter>().get_message_key(),
                )
            });
            panic!("timed out waiting for {what}: {shown}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn tap(label: &str) {
    let label = label.to_owned();
    on_ui(move |ui| ui.tap(&label));
}

/// Card in, PIN, the contributions query, its receipt, card out.
fn card_session(card: usize) {
    on_ui(move |ui| ui.kiosk.card_reader.demo_insert(card));
    until("the card to be read", |app| {
        !app.get_holder_name().is_empty()
    });
    tap("缴费记录");
    until("the PIN pad", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::EnterPin
    });
    for digit in renshe_kiosk::card::sim::DEMO_PIN.chars() {
        tap(&digit.to_string());
    }
    tap("确认");
    until("the records", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::Answered
    });
    tap("打印凭证");
    until("the receipt", |app| {
        app.global::<QueryAdapter>().get_print_step() == PrintStep::Printed
    });
    on_ui(|ui| ui.kiosk.card_reader.demo_take_out());
    until("the session to end", |app| {
        app.get_page() == PageId::Attract && app.get_holder_name().is_empty()
    });
}

/// 临时挂失 by typed ID number and pinyin name, to the confirmation; home; the idle
/// timeout ends the session.
fn typed_session(id_number: &str, pinyin: &str) {
    tap("点击开始");
    tap("临时挂失");
    tap("输入身份证号码");
    for key in id_number.chars() {
        tap(&key.to_string());
    }
    tap("下一步");
    for key in pinyin.chars() {
        tap(&key.to_string());
    }
    tap("完成");
    // The not-activated card's holder is told it cannot be reported lost yet: also an answer.
    until("whose card", |app| {
        matches!(
            app.global::<CardServiceAdapter>().get_step(),
            CardServiceStep::Confirm | CardServiceStep::Unsuitable
        )
    });
    tap("首页");
    on_ui(|ui| {
        ui.skipped.set(ui.skipped.get() + ui.idle_ms);
        ui.kiosk.controller.dispatch(Event::Tick);
    });
    until("the idle timeout", |app| app.get_page() == PageId::Attract);
}

/// This process's memory, in MB (`/proc/self/smaps_rollup`).
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss: f64,
    pss: f64,
    /// Of `pss`: the heap and other anonymous memory, and file pages (code, fonts).
    anon: f64,
    file: f64,
    /// glibc's count: live allocations, and what it holds for them (MB).
    heap_in_use: f64,
    heap_held: f64,
}

impl Memory {
    /// Sampled after giving freed memory back: the window's snapshots are this bench's own
    /// full-frame renders (8 MB each), not the kiosk's, and glibc would otherwise keep
    /// whichever were freed last; the kiosk itself trims when a session ends.
    fn now() -> Memory {
        renshe_kiosk::shell::trim_heap();
        let kb = |field| renshe_kiosk::metrics::smaps_rollup_kb(field).unwrap_or(0) as f64 / 1024.0;
        let heap = renshe_kiosk::shell::heap_use();
        let mb = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        Memory {
            rss: kb("Rss:"),
            pss: kb("Pss:"),
            anon: kb("Pss_Anon:"),
            file: kb("Pss_File:"),
            heap_in_use: heap.map_or(0.0, |h| mb(h.in_use)),
            heap_held: heap.map_or(0.0, |h| mb(h.held)),
        }
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Rss {:.1} MB, Pss {:.1} MB (anonymous {:.1}, file {:.1}); heap in use {:.1} of {:.1} MB held",
            self.rss, self.pss, self.anon, self.file, self.heap_in_use, self.heap_held
        )
    }
}

/// The UI timer's ticks: the largest gap between two, and how many were over 1 s.
#[derive(Default)]
struct Gaps {
    last: Option<Instant>,
    largest: Duration,
    over_a_second: u64,
    ticks: u64,
}

fn ensure_pcscd() {
    const SOCKET: &str = "/run/pcscd/pcscd.comm";
    if std::os::unix::net::UnixStream::connect(SOCKET).is_ok() {
        return;
    }
    let started = std::process::Command::new("sh")
        .args(["-c", "pcscd -f -a </dev/null >/dev/null 2>&1 &"])
        .status()
        .expect("sh");
    assert!(started.success(), "could not start pcscd");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(SOCKET).is_err() {
        assert!(Instant::now() < deadline, "pcscd did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // As the kiosk's `main` does, before any thread starts.
    renshe_kiosk::shell::configure_allocator();
    let sessions = env_count("SOAK_SESSIONS", 10_000);
    let card_every = env_count("SOAK_CARD_EVERY", 10).max(1);
    ensure_pcscd();
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: false,
        threading: true,
        renderer_name: Some("software".into()),
    })))
    .expect("the testing backend");

    let dir = tempfile::tempdir().expect("tempdir");
    let port = 40_000 + (std::process::id() % 10_000) as u16;
    let text = BUNDLED_DEMO_CONFIG
        .replace("127.0.0.1:18333", &format!("127.0.0.1:{port}"))
        .replace(
            "directory = \"../target/kiosk-demo-data\"",
            &format!("directory = {:?}", dir.path().display().to_string()),
        )
        // No speaker on a bench machine; the voice adapter is not what is measured.
        .replace("voice = \"alsa\"", "voice = \"none\"");
    let config = Config::parse(&text, Path::new("demo.toml")).expect("demo config");
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
    app.show().expect("show");
    let started = Instant::now();
    let skipped = Rc::new(Cell::new(0u64));
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
    let controller = kiosk.controller.clone();
    renshe_kiosk::shell::events::deliver_on_ui_thread(incoming, move |event| {
        controller.dispatch(event)
    })
    .expect("event delivery");

    // The kiosk's own 500 ms timer (idle clock, header clock), timed.
    let gaps = Arc::new(Mutex::new(Gaps::default()));
    let ticker = kiosk.controller.clone();
    let timed = gaps.clone();
    let timer = slint::Timer::default();
    timer.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(500),
        move || {
            ticker.dispatch(Event::Tick);
            let now = Instant::now();
            if let Ok(mut gaps) = timed.lock() {
                if let Some(last) = gaps.last {
                    let gap = now - last;
                    gaps.largest = gaps.largest.max(gap);
                    gaps.over_a_second += u64::from(gap > Duration::from_secs(1));
                }
                gaps.last = Some(now);
                gaps.ticks += 1;
            }
        },
    );
    let idle_ms =
        u64::from(config.idle.timeout_seconds + config.idle.warning_seconds) * 1000 + 1000;
    UI.with(|ui| {
        *ui.borrow_mut() = Some(Ui {
            app,
            kiosk,
            skipped,
            idle_ms,
            laid_out: String::new(),
        })
    });

    let typed: Vec<(String, String)> = renshe_kiosk::card::sim::demo_residents()
        .iter()
        .filter(|holder| !holder.id_number.as_str().contains('X'))
        .map(|holder| {
            (
                holder.id_number.as_str().to_owned(),
                renshe_kiosk::locator::text::pinyin_keys(&holder.name).full,
            )
        })
        .collect();
    let driver = std::thread::spawn(move || {
        until("the back end to be ready", |app| {
            app.get_network_state() == "online"
        });
        println!("soak: {sessions} sessions, a card session every {card_every}");
        println!("memory after start: {}", Memory::now());
        let cards = [0usize, 1, 3];
        let mut card_sessions = 0;
        let session = |n: usize, card_sessions: &mut usize| {
            if n.is_multiple_of(card_every) {
                card_session(cards[*card_sessions % cards.len()]);
                *card_sessions += 1;
            } else {
                let (id, pinyin) = &typed[n % typed.len()];
                typed_session(id, pinyin);
            }
        };
        for n in 0..WARM_UP {
            session(n, &mut card_sessions);
        }
        let start = Memory::now();
        println!("memory after {WARM_UP} warm-up sessions (the start): {start}");
        let began = Instant::now();
        let mut at_thousand = None;
        for n in 0..sessions {
            session(WARM_UP + n, &mut card_sessions);
            if n + 1 == 1_000 {
                let memory = Memory::now();
                at_thousand = Some(memory);
                println!(
                    "memory after 1,000: {memory} ({:.0} s)",
                    began.elapsed().as_secs_f64()
                );
            }
            if (n + 1).is_multiple_of(500) {
                // The curve, not only its ends: growth that starts late shows where.
                eprintln!(
                    "  {} sessions, {:.0} s: {}",
                    n + 1,
                    began.elapsed().as_secs_f64(),
                    Memory::now()
                );
            }
        }
        let elapsed = began.elapsed();
        let end = Memory::now();
        let gaps = gaps.lock().map(|g| (g.largest, g.over_a_second, g.ticks));
        slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        })
        .expect("quit");
        (
            start,
            at_thousand,
            end,
            elapsed,
            card_sessions,
            gaps.unwrap_or_default(),
        )
    });
    slint::run_event_loop_until_quit().expect("the event loop");
    drop(timer);
    let (start, at_thousand, end, elapsed, card_sessions, gaps) =
        driver.join().expect("the driver");
    let (largest, over_a_second, ticks) = gaps;
    println!(
        "memory at the end: {end} after {sessions} sessions ({} with a card) in {:.0} s ({:.0} ms a session)",
        card_sessions,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / sessions.max(1) as f64
    );
    let growth = end.pss - start.pss;
    println!(
        "growth from start to end: Pss {growth:+.1} MB, Rss {:+.1} MB, heap in use {:+.1} MB (goal ≤ {GOAL_GROWTH_MB} MB): {}",
        end.rss - start.rss,
        end.heap_in_use - start.heap_in_use,
        if growth <= GOAL_GROWTH_MB { "met" } else { "MISSED" }
    );
    if let Some(thousand) = at_thousand {
        println!(
            "growth from 1,000 to the end: Pss {:+.1} MB (anonymous {:+.1}, file {:+.1})",
            end.pss - thousand.pss,
            end.anon - thousand.anon,
            end.file - thousand.file
        );
    }
    println!(
        "UI timer (500 ms): {ticks} ticks, largest gap {:.0} ms, {over_a_second} over 1 s (goal: none over {} s): {}",
        largest.as_secs_f64() * 1000.0,
        GOAL_GAP.as_secs(),
        if largest <= GOAL_GAP { "met" } else { "MISSED" }
    );
    // The records after a real mix of sessions (issue 12 measures the all-mutation worst
    // case in the journal bench): the file and its WAL as they stand.
    let database = config.database_path();
    let bytes = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let wal = database.with_file_name(format!(
        "{}-wal",
        database
            .file_name()
            .map_or_else(Default::default, |n| n.to_string_lossy())
    ));
    println!(
        "database after {sessions} sessions: {:.1} MB (file {:.1} MB, WAL {:.1} MB)",
        (bytes(&database) + bytes(&wal)) as f64 / 1e6,
        bytes(&database) as f64 / 1e6,
        bytes(&wal) as f64 / 1e6
    );
    println!(
        "{} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}
