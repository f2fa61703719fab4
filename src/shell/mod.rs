//! The imperative shell: owns the tokio runtime and the Slint event loop, feeds events to the
//! core and carries out its commands. The only place where the parts meet.

pub mod a4;
pub mod backend;
pub mod camera;
pub mod card;
pub mod catalogue;
pub mod controller;
pub mod demo_tray;
pub mod events;
pub mod finder;
mod heap;
pub mod id_card;
pub mod lockdown;
pub mod out_of_service;
pub mod printer;
#[cfg(feature = "demo")]
pub mod proof_cli;
pub mod receipts;
pub mod screenshot;
pub mod supervisor;
pub mod technician;
pub mod voice;

pub use heap::{configure_allocator, heap_use, trim_heap, HeapUse};

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use slint::ComponentHandle;

use crate::config::Config;
use crate::core::entry::TypedName;
use crate::core::identity::IdNumber;
use crate::core::{
    Command, Document, Event, Identification, Millis, Pensioner, ProxyChange, Request,
    SessionSettings, View,
};
use crate::i18n::Translator;
use crate::store::Store;
use crate::ui::finder::Finder;
use crate::ui::{self, AppWindow};
use controller::{Clock, Controller};
use events::EventSink;

/// The session settings a terminal's configuration asks for.
pub fn session_settings(config: &Config) -> SessionSettings {
    SessionSettings {
        default_language: config.default_language(),
        offered_languages: config.offered_languages(),
        elderly_by_default: config.accessibility.elderly_mode_default,
        idle_timeout: config.idle_timeout(),
        idle_warning: config.idle_warning(),
        // A new PIN-pad layout sequence every start, from the OS's randomness.
        keypad_seed: rand::random(),
        voice_always: config.voice.always_on,
    }
}

/// `settings` with the default language and elderly mode a technician set on this terminal
/// (kept in the store; the configuration file is read-only on a terminal), where one did.
pub fn with_stored_defaults(mut settings: SessionSettings, store: &Store) -> SessionSettings {
    match store.terminal_defaults() {
        Ok(Some((tag, elderly))) => {
            match crate::core::Language::from_tag(&tag)
                .filter(|language| settings.offered_languages.contains(language))
            {
                Some(language) => settings.default_language = language,
                None => {
                    tracing::warn!(%tag, "the stored default language is not offered; the configured one stays")
                }
            }
            settings.elderly_by_default = elderly;
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "the terminal's stored defaults are unreadable"),
    }
    settings
}

/// The store error in `error`'s chain, if it is a full disk.
fn disk_full_cause(error: &anyhow::Error) -> Option<&crate::store::StoreError> {
    error.chain().find_map(|cause| {
        let store = cause
            .downcast_ref::<crate::store::StoreError>()
            .or_else(
                || match cause.downcast_ref::<crate::backend::engine::EngineError>() {
                    Some(crate::backend::engine::EngineError::Store(store)) => Some(store),
                    _ => None,
                },
            )?;
        store.is_disk_full().then_some(store)
    })
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
    tracing::info!(
        event = crate::logging::event::KIOSK_STARTED,
        version = crate::LONG_VERSION,
        demo = config.demo.is_some(),
        "kiosk starting"
    );
    // Served from the start, so the post-upgrade gate sees 503 through recovery and an
    // out-of-service page alike.
    let metrics = crate::metrics::Metrics::new();
    let _metrics_server = serve_metrics(config, &metrics, runtime.handle());

    crate::store::private_directory(&config.data.directory).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data.directory.display()
        )
    })?;
    let store = match config.open_store() {
        Ok(store) => store,
        Err(error) if out_of_service::applies_to(&error) => {
            metrics.set_mode(crate::backend::api::TerminalMode::OutOfService);
            return out_of_service::show(config, &error);
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(
        event = crate::logging::event::STORE_OPENED,
        path = %store.path().display(),
        version = store.schema_version()?,
        "store open"
    );

    // Device threads and back-end tasks send core events here; a task on the UI thread's
    // event loop receives them (see `events`).
    let (events, incoming) = EventSink::channel();
    let translator = Rc::new(Translator::new()?);
    let app = AppWindow::new().context("cannot create the kiosk window")?;
    lockdown::guard(app.window());
    let started = Instant::now();
    let clock: Clock = Rc::new(move || Millis(started.elapsed().as_millis() as u64));
    let settings = with_stored_defaults(session_settings(config), &store);
    supervisor::status("recovering journal");
    let kiosk = match Kiosk::assemble(
        config,
        &app,
        store,
        &runtime,
        events,
        translator,
        settings,
        clock,
        metrics.clone(),
    ) {
        Ok(kiosk) => kiosk,
        // Start-up's checks and recovery write too: a full disk there is out of service,
        // not an exit that systemd turns into a restart loop.
        Err(error) => match disk_full_cause(&error) {
            Some(full) => {
                metrics.set_mode(crate::backend::api::TerminalMode::OutOfService);
                return out_of_service::show(config, full);
            }
            None => return Err(error),
        },
    };
    let controller = kiosk.controller.clone();
    events::deliver_on_ui_thread(incoming, {
        let controller = controller.clone();
        move |event| controller.dispatch(event)
    })
    .context("cannot start the event delivery")?;

    // The idle clock and the header's clock: twice a second is enough for a countdown in
    // whole seconds; the date is sent again when it changes.
    let weak = app.as_weak();
    let ticker = controller.clone();
    let timer = slint::Timer::default();
    let mut date = today();
    let mut tick = move || {
        ticker.dispatch(Event::Tick);
        let now = today();
        if now != date {
            date = now;
            ticker.dispatch(Event::Today(now));
        }
        if let Some(app) = weak.upgrade() {
            let language = ticker.language();
            let text = ui::clock_text(
                language,
                chrono::Local::now().naive_local(),
                ticker.elderly(),
            );
            if app.get_clock() != text.as_str() {
                app.set_clock(text.into());
                // A new minute: "open now" in the finder may have changed.
                ticker.refresh();
            }
        }
    };
    tick();
    timer.start(slint::TimerMode::Repeated, Duration::from_millis(500), tick);

    // READY after the first frame; watchdog pings while both the UI and the back end live.
    let supervisor = supervisor::supervise(&app, Some(kiosk.backend.check_in()), "serving");
    app.run().context("the kiosk window failed")?;
    drop(supervisor);
    drop(timer);
    Ok(())
}

/// Starts the metrics endpoint of `[metrics]`, if on. A port already taken is logged, not
/// fatal: the kiosk serves residents without it.
fn serve_metrics(
    config: &Config,
    metrics: &crate::metrics::Metrics,
    runtime: &tokio::runtime::Handle,
) -> Option<crate::metrics::server::Server> {
    let address = config.metrics.address()?;
    crate::metrics::server::start(address, metrics.clone(), runtime)
        .map_err(|error| {
            tracing::error!(event = crate::logging::event::METRICS_FAILED, %error, "no metrics endpoint")
        })
        .ok()
}

/// Shows a demo printer's picture (a receipt, an A4 page) in the window's overlay. The PNG is
/// decoded here, off the UI thread, into pixels the overlay's image owns: they go when the
/// overlay closes. (`Image::load_from_path` would keep every picture in Slint's image
/// cache, keyed by its path, and each receipt has a new one.)
fn show_demo_picture(window: &slint::Weak<AppWindow>, path: &std::path::Path) {
    let pixels = match decode_png(path) {
        Ok(pixels) => pixels,
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "demo picture not shown");
            return;
        }
    };
    let _ = window.upgrade_in_event_loop(move |app| {
        app.set_demo_receipt(slint::Image::from_rgb8(pixels));
        app.set_demo_receipt_visible(true);
    });
}

/// A PNG (grey or colour, 8 or 16 bits, with or without alpha) as RGB pixels; alpha is
/// dropped (the demo printers draw on white).
pub fn decode_png(
    path: &std::path::Path,
) -> anyhow::Result<slint::SharedPixelBuffer<slint::Rgb8Pixel>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info()?;
    let size = reader
        .output_buffer_size()
        .context("the picture is too large")?;
    let mut buffer = vec![0; size];
    let info = reader.next_frame(&mut buffer)?;
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => anyhow::bail!("an indexed picture was not expanded"),
    };
    let mut pixels = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(info.width, info.height);
    let stride = info.line_size;
    for (y, row) in pixels
        .make_mut_slice()
        .chunks_exact_mut(info.width as usize)
        .enumerate()
    {
        let line = buffer
            .get(y * stride..y * stride + info.width as usize * channels)
            .context("a short picture row")?;
        for (pixel, source) in row.iter_mut().zip(line.chunks_exact(channels)) {
            *pixel = match source {
                [grey] | [grey, _] => slint::Rgb8Pixel::new(*grey, *grey, *grey),
                [r, g, b, ..] => slint::Rgb8Pixel::new(*r, *g, *b),
                [] => slint::Rgb8Pixel::default(),
            };
        }
    }
    Ok(pixels)
}

/// The kiosk's parts wired together on one window: the adapters, the session's controller
/// and the effects that carry out its commands. [`run`] drives it with Slint's event loop;
/// tests drive it with the testing backend, feeding the events from `EventSink` themselves.
pub struct Kiosk {
    pub controller: Rc<Controller>,
    pub card_reader: Rc<card::CardReaderAdapter>,
    pub id_card: Rc<id_card::IdCardAdapter>,
    pub backend: Rc<backend::BackendAdapter>,
    pub camera: Rc<camera::CameraAdapter>,
    pub a4: Rc<a4::A4Adapter>,
    pub voice: Rc<voice::VoiceAdapter>,
    pub technician: Rc<technician::TechnicianAdapter>,
    /// The fleet's view of this kiosk; technician mode sets its mode
    /// ([`crate::metrics::Metrics::set_mode`]).
    pub metrics: crate::metrics::Metrics,
}

impl Kiosk {
    #[allow(clippy::too_many_arguments)]
    pub fn assemble(
        config: &Config,
        app: &AppWindow,
        store: Store,
        runtime: &tokio::runtime::Runtime,
        events: EventSink,
        translator: Rc<Translator>,
        settings: SessionSettings,
        clock: Clock,
        metrics: crate::metrics::Metrics,
    ) -> anyhow::Result<Kiosk> {
        // A full disk while running: the out-of-service page instead of the kiosk.
        let full_window = app.as_weak();
        let full_config = config.clone();
        let disk_full: backend::DiskFull = std::sync::Arc::new(move || {
            let config = full_config.clone();
            let _ = full_window.upgrade_in_event_loop(move |app| {
                if let Err(error) = out_of_service::show_instead_of(&app, &config) {
                    tracing::error!(%error, "cannot show the out-of-service page");
                }
            });
        });
        // Every unknown outcome is resolved before anyone is served.
        let backend = Rc::new(backend::BackendAdapter::start(
            config,
            store,
            runtime,
            events.clone(),
            disk_full,
            metrics.clone(),
        )?);

        ui::install_translator(app, translator.clone());
        app.set_terminal_id(config.terminal.id.as_str().into());
        // The out-of-service screen of technician mode says it in every offered language.
        show_offered_languages(app, &config.offered_languages(), &config.location.district);
        app.set_landscape(config.display.orientation == crate::config::Orientation::Landscape);
        app.window().set_size(slint::PhysicalSize::new(
            config.display.width,
            config.display.height,
        ));

        // Demo mode shows each printed receipt as the virtual printer drew it.
        let receipt_window = app.as_weak();
        let demo_receipts: printer::DemoReceipts = std::sync::Arc::new(move |path| {
            show_demo_picture(&receipt_window, &path);
        });
        let printer = Rc::new(printer::PrinterAdapter::start(
            config,
            events.clone(),
            demo_receipts,
            metrics.clone(),
        )?);
        // The simulated A4 printer's first page, in the same overlay.
        let page_window = app.as_weak();
        let demo_pages: a4::DemoPages = std::sync::Arc::new(move |path| {
            show_demo_picture(&page_window, &path);
        });
        let a4 = Rc::new(a4::A4Adapter::start(
            config.devices.a4_printer_spec(),
            config.devices.cups_host.trim(),
            events.clone(),
            demo_pages,
        ));

        let controller = Controller::attach(app, settings, clock);
        controller.attach_metrics(metrics.clone());
        controller.dispatch(Event::Today(today()));

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
        let id_card = Rc::new(id_card::IdCardAdapter::start(
            &config.devices.id_card_reader,
            events.clone(),
        ));
        let id_labels: Vec<ui::DemoCard> = id_card
            .demo_labels()
            .into_iter()
            .map(|label| ui::DemoCard {
                label: label.into(),
            })
            .collect();
        app.set_demo_id_cards(slint::ModelRc::new(slint::VecModel::from(id_labels)));
        let tray = id_card.clone();
        let weak = app.as_weak();
        app.on_demo_place_id(move |index| {
            if let Ok(index) = usize::try_from(index) {
                tray.demo_place(index);
            }
            if let Some(app) = weak.upgrade() {
                app.set_demo_id_placed(index);
            }
        });
        let tray = id_card.clone();
        let weak = app.as_weak();
        app.on_demo_take_id(move || {
            tray.demo_take();
            if let Some(app) = weak.upgrade() {
                app.set_demo_id_placed(-1);
            }
        });
        let finder = Rc::new(RefCell::new(Finder::new(
            finder::terminal(config),
            translator.clone(),
        )));
        finder::attach(app, &controller, &finder);
        load_finder(config, &backend, &finder, &controller, |_| {});
        // The camera's preview frames go to the certification page; it runs while the view
        // shows the camera.
        let frame_window = app.as_weak();
        let frames: camera::FrameSink = std::sync::Arc::new(move |frame| {
            let _ = frame_window.upgrade_in_event_loop(move |app| {
                let pixels = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::clone_from_slice(
                    frame.as_rgb(),
                    frame.width(),
                    frame.height(),
                );
                app.global::<ui::CertificationAdapter>()
                    .set_camera_frame(slint::Image::from_rgb8(pixels));
            });
        });
        let camera = Rc::new(camera::CameraAdapter::start(
            &config.devices.camera_spec(),
            events.clone(),
            frames,
            camera::ACTION_TIME,
        ));
        let preview = camera.clone();
        controller.add_drawer(Box::new(move |_, view| {
            preview.show_preview(view.camera_on())
        }));
        let voice = Rc::new(voice::VoiceAdapter::start(
            config,
            events.clone(),
            translator.clone(),
        ));
        let speaker = voice.clone();
        controller.add_drawer(Box::new(move |_, view| speaker.drawn(view)));
        let technician = Rc::new(technician::TechnicianAdapter::new(
            config,
            backend.engine().clone(),
            runtime.handle().clone(),
            events.clone(),
            app.as_weak(),
            {
                // "Sync now": the same sync and hand-over as at start, reported back.
                let config = config.clone();
                let backend = backend.clone();
                let finder = finder.clone();
                let controller = Rc::downgrade(&controller);
                Box::new(move |done| {
                    if let Some(controller) = controller.upgrade() {
                        load_finder(&config, &backend, &finder, &controller, done);
                    }
                })
            },
            printer.clone(),
        ));
        // Heartbeats, metrics, /health and systemd's status say "maintenance" meanwhile.
        let fleet = metrics.clone();
        technician.on_mode(Box::new(move |maintenance| {
            use crate::metrics::TerminalMode;
            fleet.set_mode(if maintenance {
                TerminalMode::Maintenance
            } else {
                TerminalMode::InService
            });
            supervisor::status(if maintenance {
                "maintenance: a technician is signed in; residents see out of service"
            } else {
                "serving"
            });
        }));
        let drawer = technician.clone();
        controller.add_drawer(Box::new(move |app, _| drawer.drawn(app)));
        let mut effects = Effects {
            card_reader: card_reader.clone(),
            id_card: id_card.clone(),
            backend: backend.clone(),
            camera: camera.clone(),
            printer,
            a4: a4.clone(),
            voice: voice.clone(),
            technician: technician.clone(),
            app: app.as_weak(),
            finder: finder.clone(),
            translator,
            config: config.clone(),
            events: events.clone(),
        };
        controller.add_effects(Box::new(move |command, view| effects.run(command, view)));
        Ok(Kiosk {
            controller,
            card_reader,
            id_card,
            backend,
            camera,
            a4,
            voice,
            technician,
            metrics,
        })
    }
}

/// What technician mode's out-of-service screen needs of the terminal: its languages and
/// district.
pub fn show_offered_languages(
    app: &AppWindow,
    languages: &[crate::core::Language],
    district: &str,
) {
    let tags: Vec<slint::SharedString> = languages.iter().map(|l| l.tag().into()).collect();
    app.set_offered_languages(slint::ModelRc::new(slint::VecModel::from(tags)));
    app.set_district(district.into());
}

/// Syncs the catalogue and hands the finder an index built from the stored copy (off the UI
/// thread); `finished` hears whether the sync reached the back end.
fn load_finder(
    config: &Config,
    backend: &backend::BackendAdapter,
    finder: &Rc<RefCell<Finder>>,
    controller: &Rc<Controller>,
    finished: impl FnOnce(bool) + Send + 'static,
) {
    let (locator_ready, locator) = tokio::sync::oneshot::channel();
    backend.load_service_points(
        config.database_path(),
        config.key_source(),
        move |locator| {
            // The index (pinyin for every name) was built off the UI thread, as it was read.
            let _ = locator_ready.send(locator);
        },
        finished,
    );
    let finder = finder.clone();
    let controller = Rc::downgrade(controller);
    let handed_over = slint::spawn_local(async move {
        if let Ok(locator) = locator.await {
            finder.borrow_mut().set_locator(locator);
            if let Some(controller) = controller.upgrade() {
                controller.refresh();
            }
        }
    });
    // Only a platform without an event loop (the screen tests') refuses: there the finder
    // stays empty, which no such test looks at.
    if let Err(error) = handed_over {
        tracing::warn!(%error, "the finder's catalogue cannot be handed over");
    }
}

/// Today's local date, for the core (which never assumes a year).
pub fn today() -> crate::core::Date {
    use chrono::Datelike;
    let now = chrono::Local::now().date_naive();
    crate::core::Date {
        year: now.year(),
        month: now.month() as u8,
        day: now.day() as u8,
    }
}

/// Someone identified by the number and name typed on the keypads.
fn typed(id_number: &IdNumber, name: &TypedName) -> backend::Claimant {
    backend::Claimant::new(
        id_number.as_str().to_owned(),
        None,
        backend::NameCheck::Pinyin(name.letters().to_owned()),
    )
}

/// Carries out the core's commands with the adapters.
struct Effects {
    card_reader: Rc<card::CardReaderAdapter>,
    id_card: Rc<id_card::IdCardAdapter>,
    backend: Rc<backend::BackendAdapter>,
    camera: Rc<camera::CameraAdapter>,
    printer: Rc<printer::PrinterAdapter>,
    a4: Rc<a4::A4Adapter>,
    voice: Rc<voice::VoiceAdapter>,
    technician: Rc<technician::TechnicianAdapter>,
    app: slint::Weak<AppWindow>,
    finder: Rc<RefCell<Finder>>,
    translator: Rc<Translator>,
    config: Config,
    events: EventSink,
}

impl Effects {
    /// Who a request is for: the card's holder, the ID card's bearer, or what was typed.
    fn claimant(&self, request: &Request) -> Option<backend::Claimant> {
        let who = match request {
            Request::Records(_) | Request::Proof { .. } => &Identification::Card,
            Request::LookUp(who)
            | Request::Card { who, .. }
            | Request::CertificationStatus { who, .. }
            | Request::Certify { who, .. }
            | Request::Proxies { who, .. } => who,
        };
        let mut claimant = match who {
            Identification::Card => self.card_reader.holder().map(|holder| (&holder).into()),
            Identification::IdCard => self.id_card.claimant(),
            Identification::Typed { id_number, name } => Some(typed(id_number, name)),
        }?;
        if let Request::CertificationStatus { pensioner, .. } | Request::Certify { pensioner, .. } =
            request
        {
            if let Pensioner::Relative { id_number, name } = pensioner {
                claimant.relative = Some(Box::new(typed(id_number, name)));
            }
        }
        if let Request::Proxies {
            change: Some(ProxyChange::Add { id_number, name }),
            ..
        } = request
        {
            claimant.relative = Some(Box::new(typed(id_number, name)));
        }
        if let Request::Certify { attempt, .. } = request {
            claimant.stills = self.camera.take_stills(*attempt);
        }
        Some(claimant)
    }

    fn run(&mut self, command: &Command, view: &View) {
        match command {
            Command::WipeSessionData => {
                self.card_reader.forget_holder();
                self.id_card.forget();
                self.camera.forget();
                self.a4.forget();
                // A proof's page shown by the simulated A4 printer goes with the session.
                if let Some(app) = self.app.upgrade() {
                    app.set_demo_receipt_visible(false);
                    app.set_demo_receipt(slint::Image::default());
                }
                self.backend.cancel(None);
            }
            Command::Cancel(flow) => {
                self.camera.forget();
                self.backend.cancel(Some(*flow));
            }
            Command::Capture {
                ticket,
                attempt,
                index,
                action,
            } => self.camera.capture(*ticket, *attempt, *index, *action),
            // The voice adapter says it from the view, with a tone, until the card is out.
            Command::RemindToTakeCard => {}
            Command::SpeakAgain => self.voice.speak_again(view),
            // Heartbeats read the devices from the drawn view (`Metrics::observe_view`).
            Command::ReportDevices(_) => {}
            Command::Technician(command) => self.technician.run(command, view),
            Command::VerifyPin { ticket, pin } => self.card_reader.pin(*ticket, pin.clone(), None),
            Command::VerifyPinOnReader { ticket } => self.card_reader.pin_on_reader(*ticket),
            Command::ChangePin { ticket, old, new } => {
                self.card_reader
                    .pin(*ticket, old.clone(), Some(new.clone()))
            }
            Command::Fetch { ticket, request } => match self.claimant(request) {
                Some(who) => self.backend.fetch(*ticket, request.clone(), who),
                None => {
                    if matches!(request, Request::Records(_) | Request::Proof { .. }) {
                        self.card_reader.reread();
                    }
                    self.events.send(backend::unavailable(*ticket, request));
                }
            },
            Command::Print { ticket, document } => {
                let receipt = match document {
                    Document::Proof(doc) => match doc.paper {
                        crate::core::Paper::A4 => {
                            let translator = &self.translator;
                            let proof = a4::proof_of(&doc.proof, view.language, |key| {
                                translator.tr(view.language, key)
                            });
                            self.a4.print(*ticket, proof);
                            return;
                        }
                        crate::core::Paper::ReceiptCopy => receipts::proof_receipt_copy(
                            &self.translator,
                            &self.config,
                            view,
                            &doc.proof,
                        ),
                    },
                    Document::ServicePointSlip(index) => {
                        let finder = self.finder.borrow();
                        let Some(point) = finder.point(*index as usize) else {
                            tracing::warn!(index, "no such service point to print");
                            return;
                        };
                        receipts::service_point_slip(&self.translator, &self.config, view, &point)
                    }
                    Document::CardService {
                        service,
                        confirmation,
                    } => receipts::card_service_receipt(
                        &self.translator,
                        &self.config,
                        view,
                        *service,
                        confirmation.as_ref(),
                    ),
                    Document::Proxies(receipt) => {
                        receipts::proxies_receipt(&self.translator, &self.config, view, receipt)
                    }
                    Document::Certification(outcome) => receipts::certification_receipt(
                        &self.translator,
                        &self.config,
                        view,
                        outcome,
                    ),
                    Document::Records {
                        service,
                        year,
                        layout,
                        reference,
                    } => receipts::records_receipt(
                        &self.translator,
                        &self.config,
                        view,
                        *service,
                        *year,
                        layout,
                        reference,
                    ),
                };
                self.printer.print(*ticket, receipt);
            }
        }
    }
}

/// The local wall-clock time, as the finder's "open now" needs it.
pub fn now_local() -> crate::locator::catalogue::LocalTime {
    crate::ui::finder::local_time(chrono::Local::now().naive_local())
}

#[cfg(test)]
mod start_up_tests {
    use super::*;
    use crate::backend::engine::EngineError;
    use crate::store::StoreError;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_full_disk_at_start_up_is_found_through_the_engine_and_the_context() {
        let full = anyhow::Error::from(EngineError::Store(StoreError::from(sqlite(
            rusqlite::ffi::SQLITE_FULL,
        ))))
        .context("cannot start the back-end adapter");
        assert!(disk_full_cause(&full).is_some_and(StoreError::is_disk_full));
        let direct = anyhow::Error::from(StoreError::from(sqlite(rusqlite::ffi::SQLITE_FULL)));
        assert!(disk_full_cause(&direct).is_some());
        let busy = anyhow::Error::from(StoreError::from(sqlite(rusqlite::ffi::SQLITE_BUSY)));
        assert!(disk_full_cause(&busy).is_none());
    }
}
