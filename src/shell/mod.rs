//! The imperative shell: owns the tokio runtime and the Slint event loop, feeds events to the
//! core and carries out its commands. The only place where the parts meet.

pub mod backend;
pub mod card;
pub mod catalogue;
pub mod controller;
pub mod finder;
pub mod printer;
pub mod receipts;
pub mod screenshot;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use slint::ComponentHandle;

use crate::config::Config;
use crate::core::{Command, Event, Millis, SessionSettings, View};
use crate::i18n::Translator;
use crate::store::Store;
use crate::ui::finder::Finder;
use crate::ui::{self, AppWindow};
use controller::{Clock, Controller};

/// The session settings a terminal's configuration asks for.
pub fn session_settings(config: &Config) -> SessionSettings {
    SessionSettings {
        default_language: config.default_language(),
        offered_languages: config.offered_languages(),
        elderly_by_default: config.accessibility.elderly_mode_default,
        idle_timeout: config.idle_timeout(),
        idle_warning: config.idle_warning(),
    }
}

/// Runs the kiosk UI until the window closes.
pub fn run(config: &Config) -> anyhow::Result<()> {
    // The runtime outlives the window; device and back-end tasks run on it, and hop back to
    // the UI thread with `slint::invoke_from_event_loop`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("kiosk-io")
        .build()
        .context("cannot start the I/O runtime")?;
    let _runtime_guard = runtime.enter();

    std::fs::create_dir_all(&config.data.directory).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data.directory.display()
        )
    })?;
    let store = Store::open(&config.database_path())?;
    tracing::info!(path = %store.path().display(), version = store.schema_version()?, "store open");

    // Device threads and back-end tasks send core events here; the UI thread drains them.
    let (events, incoming) = std::sync::mpsc::channel();
    // Every unknown outcome is resolved before anyone is served.
    let backend = Rc::new(backend::BackendAdapter::start(
        config,
        store,
        &runtime,
        events.clone(),
    )?);
    let (demo_receipts, printed_receipts) = std::sync::mpsc::channel();
    let printer = printer::PrinterAdapter::start(config, events.clone(), demo_receipts)?;

    let translator = Rc::new(Translator::new()?);
    let app = AppWindow::new().context("cannot create the kiosk window")?;
    ui::install_translator(&app, translator.clone());
    app.set_terminal_id(config.terminal.id.as_str().into());
    app.set_landscape(config.display.orientation == crate::config::Orientation::Landscape);
    app.window().set_size(slint::PhysicalSize::new(
        config.display.width,
        config.display.height,
    ));

    let started = Instant::now();
    let clock: Clock = Rc::new(move || Millis(started.elapsed().as_millis() as u64));
    let controller = Controller::attach(&app, session_settings(config), clock);

    let card_reader = Rc::new(card::CardReaderAdapter::start(
        &config.devices.card_reader,
        events.clone(),
    ));
    app.set_demo_mode(card_reader.is_demo());
    let labels: Vec<ui::DemoCard> = card_reader
        .demo_labels()
        .into_iter()
        .map(|label| ui::DemoCard {
            label: label.into(),
        })
        .collect();
    app.set_demo_cards(slint::ModelRc::new(slint::VecModel::from(labels)));
    let tray = card_reader.clone();
    let weak = app.as_weak();
    app.on_demo_insert(move |index| {
        if let Ok(index) = usize::try_from(index) {
            tray.demo_insert(index);
        }
        if let Some(app) = weak.upgrade() {
            app.set_demo_card_inserted(index);
        }
    });
    let tray = card_reader.clone();
    let weak = app.as_weak();
    app.on_demo_take_out(move || {
        tray.demo_take_out();
        if let Some(app) = weak.upgrade() {
            app.set_demo_card_inserted(-1);
        }
    });
    let finder = Rc::new(RefCell::new(Finder::new(finder::terminal(config))));
    finder::wire(&app, &controller, &finder);
    let (locators, ready_locators) = std::sync::mpsc::channel();
    backend.load_service_points(config.database_path(), move |points| {
        // Building the index (pinyin for every name) happens here, off the UI thread.
        let _ = locators.send(crate::locator::Locator::new(points));
    });

    let mut effects = Effects {
        card_reader: card_reader.clone(),
        backend: backend.clone(),
        printer,
        finder: finder.clone(),
        translator,
        config: config.clone(),
        session_id: uuid::Uuid::new_v4().to_string(),
    };
    controller
        .borrow_mut()
        .add_effects(Box::new(move |command, view| effects.run(command, view)));
    let weak = Rc::downgrade(&controller);
    app.on_print_tapped(move || {
        if let Some(controller) = weak.upgrade() {
            controller.borrow_mut().dispatch(Event::PrintTapped);
        }
    });

    let device_events = controller.clone();
    let receipt_window = app.as_weak();
    let device_finder = finder.clone();
    let device_timer = slint::Timer::default();
    device_timer.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(50),
        move || {
            while let Ok(event) = incoming.try_recv() {
                let device_changed = matches!(event, Event::DeviceChanged(..));
                device_events.borrow_mut().dispatch(event);
                if device_changed {
                    // The heartbeat reports what the header shows.
                    let controller = device_events.borrow();
                    let view = controller.view();
                    backend.report_devices(view.card_reader, view.printer);
                }
            }
            if let Ok(locator) = ready_locators.try_recv() {
                if let Some(app) = receipt_window.upgrade() {
                    let mut finder = device_finder.borrow_mut();
                    finder.set_locator(locator);
                    finder.apply(&app, now_local());
                }
            }
            // Demo mode shows each printed receipt as the virtual printer drew it.
            while let Ok(path) = printed_receipts.try_recv() {
                if let (Some(app), Ok(picture)) = (
                    receipt_window.upgrade(),
                    slint::Image::load_from_path(&path),
                ) {
                    app.set_demo_receipt(picture);
                    app.set_demo_receipt_visible(true);
                }
            }
        },
    );

    let weak = app.as_weak();
    let ticker = controller.clone();
    let timer = slint::Timer::default();
    let tick = move || {
        ticker.borrow_mut().dispatch(Event::Tick);
        if let Some(app) = weak.upgrade() {
            let language = ticker.borrow().view().language;
            app.set_clock(ui::clock_text(language, chrono::Local::now().naive_local()).into());
        }
    };
    tick();
    timer.start(slint::TimerMode::Repeated, Duration::from_millis(500), tick);

    app.run().context("the kiosk window failed")?;
    drop(device_timer);
    drop(timer);
    Ok(())
}

/// Carries out the core's commands with the adapters.
struct Effects {
    card_reader: Rc<card::CardReaderAdapter>,
    backend: Rc<backend::BackendAdapter>,
    printer: printer::PrinterAdapter,
    finder: Rc<RefCell<Finder>>,
    translator: Rc<Translator>,
    config: Config,
    /// Names this session's business operations in the journal; new for every session.
    session_id: String,
}

impl Effects {
    fn run(&mut self, command: &Command, view: &View) {
        match command {
            Command::WipeSessionData => {
                self.card_reader.forget_holder();
                self.session_id = uuid::Uuid::new_v4().to_string();
            }
            Command::RemindToTakeCard => {}
            Command::RunQuery(service) => match self.card_reader.holder() {
                Some(holder) => {
                    let reference = format!("{}/{}", self.session_id, service.key());
                    self.backend.run_query(*service, holder, reference);
                }
                None => self.card_reader.reread(),
            },
            Command::PrintServicePointSlip(index) => {
                let finder = self.finder.borrow();
                match finder.point(*index as usize) {
                    Some(point) => {
                        let slip = receipts::service_point_slip(
                            &self.translator,
                            &self.config,
                            view,
                            point,
                        );
                        self.printer.print(slip);
                    }
                    None => tracing::warn!(index, "no such service point to print"),
                }
            }
            Command::PrintQueryReceipt { service, rows } => {
                let receipt =
                    receipts::query_receipt(&self.translator, &self.config, view, *service, rows);
                self.printer.print(receipt);
            }
        }
    }
}

/// The local wall-clock time, as the finder's "open now" needs it.
pub fn now_local() -> crate::locator::catalogue::LocalTime {
    crate::ui::finder::local_time(chrono::Local::now().naive_local())
}
