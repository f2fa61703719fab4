//! The imperative shell: owns the tokio runtime and the Slint event loop, feeds events to the
//! core and carries out its commands. The only place where the parts meet.

pub mod controller;
pub mod screenshot;

use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use slint::ComponentHandle;

use crate::config::Config;
use crate::core::{DeviceHealth, DeviceKind, Event, Millis, SessionSettings};
use crate::i18n::Translator;
use crate::store::Store;
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

    let translator = Rc::new(Translator::new()?);
    let app = AppWindow::new().context("cannot create the kiosk window")?;
    ui::install_translator(&app, translator);
    app.set_terminal_id(config.terminal.id.as_str().into());
    app.set_landscape(config.display.orientation == crate::config::Orientation::Landscape);
    app.window().set_size(slint::PhysicalSize::new(
        config.display.width,
        config.display.height,
    ));

    let started = Instant::now();
    let clock: Clock = Rc::new(move || Millis(started.elapsed().as_millis() as u64));
    let controller = Controller::attach(&app, session_settings(config), clock);

    // Simulated devices are always present; real adapters report their own state.
    for (kind, simulated) in [
        (
            DeviceKind::CardReader,
            config.devices.card_reader.reader == "sim",
        ),
        (DeviceKind::Printer, config.devices.printer.port == "sim"),
    ] {
        if simulated {
            controller
                .borrow_mut()
                .dispatch(Event::DeviceChanged(kind, DeviceHealth::Online));
        }
    }

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
    drop(timer);
    Ok(())
}
