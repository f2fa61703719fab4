//! Glue between one window and the session: window callbacks become core events, the core's
//! view becomes window properties, the core's commands go to the adapters' effects — after
//! the session's borrow has ended, so an effect may feed the session again.

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use crate::core::{Command, Event, Language, Millis, ServiceId, Session, SessionSettings, View};
use crate::ui::{self, AppWindow};

/// Where the controller gets "now" from: the monotonic clock in the kiosk, a hand-set
/// clock in tests.
pub type Clock = Rc<dyn Fn() -> Millis>;

/// Carries out one command the core returned, with the view as it was drawn.
pub type Effects = Box<dyn FnMut(&Command, &View)>;

/// Draws a part of the window that needs more than the view (the finder's catalogue).
pub type Drawer = Box<dyn FnMut(&AppWindow, &View)>;

pub struct Controller {
    session: RefCell<Session>,
    window: slint::Weak<AppWindow>,
    clock: Clock,
    effects: RefCell<Vec<Effects>>,
    drawers: RefCell<Vec<Drawer>>,
    /// The view last drawn: an event that changes nothing (most ticks) redraws nothing, so
    /// page models are not rebuilt twice a second.
    drawn: RefCell<Option<View>>,
    /// Where ended sessions are counted (the kiosk's; screenshots have none).
    metrics: RefCell<Option<crate::metrics::Metrics>>,
}

impl Controller {
    /// Connects `app`'s callbacks to a new session and draws its first view.
    pub fn attach(app: &AppWindow, settings: SessionSettings, clock: Clock) -> Rc<Controller> {
        app.set_idle_total_seconds((settings.idle_warning.0 / 1000) as i32);
        app.set_show_language_switch(settings.offered_languages.len() > 1);
        let session = Session::new(settings, clock());
        let controller = Rc::new(Controller {
            session: RefCell::new(session),
            window: app.as_weak(),
            clock,
            effects: RefCell::new(Vec::new()),
            drawers: RefCell::new(Vec::new()),
            drawn: RefCell::new(None),
            metrics: RefCell::new(None),
        });
        ui::wire_callbacks(app, controller.sender());
        let weak = Rc::downgrade(&controller);
        app.on_language_tapped(move || {
            if let Some(controller) = weak.upgrade() {
                let next = controller.next_language();
                controller.dispatch(Event::LanguageSelected(next));
            }
        });
        let weak = Rc::downgrade(&controller);
        app.on_find_counter_tapped(move || {
            if let Some(controller) = weak.upgrade() {
                controller.dispatch(Event::ServiceTapped(ServiceId::ServicePointFinder));
            }
        });
        controller.refresh();
        controller
    }

    /// A function that feeds events to this controller while it lives.
    pub fn sender(self: &Rc<Self>) -> Rc<dyn Fn(Event)> {
        let weak = Rc::downgrade(self);
        Rc::new(move |event| {
            if let Some(controller) = weak.upgrade() {
                controller.dispatch(event);
            }
        })
    }

    /// Feeds one event to the session at the clock's "now", redraws, then carries out what
    /// the session asked for.
    pub fn dispatch(&self, event: Event) {
        let now = (self.clock)();
        let cause = ended_by(&event);
        let (commands, view) = {
            let mut session = self.session.borrow_mut();
            let commands = session.handle(event, now);
            (commands, session.view())
        };
        if self.drawn.borrow().as_ref() != Some(&view) {
            self.redraw(&view);
        }
        if commands.is_empty() {
            return;
        }
        // Effects may add effects or dispatch again: neither borrow is held across them.
        if commands.contains(&Command::WipeSessionData) {
            if let Some(metrics) = self.metrics.borrow().as_ref() {
                metrics.session_ended(cause, view.farewell);
            }
        }
        let mut effects = std::mem::take(&mut *self.effects.borrow_mut());
        for command in &commands {
            log(command, cause);
            for effect in &mut effects {
                effect(command, &view);
            }
        }
        let mut slot = self.effects.borrow_mut();
        effects.append(&mut slot);
        *slot = effects;
        drop(slot);
        if commands.contains(&Command::WipeSessionData) {
            // What the session allocated and freed goes back to the system between residents,
            // not only what was live (glibc keeps freed blocks in its arenas otherwise).
            crate::shell::trim_heap();
        }
    }

    /// Adds something that carries out commands (each adapter adds its own); without any
    /// (screenshots) the commands are only logged.
    pub fn add_effects(&self, effects: Effects) {
        self.effects.borrow_mut().push(effects);
    }

    /// Counts ended sessions and drawn views into `metrics`, and hands it every drawn view
    /// (the devices' states).
    pub fn attach_metrics(&self, metrics: crate::metrics::Metrics) {
        *self.metrics.borrow_mut() = Some(metrics.clone());
        self.add_drawer(Box::new(move |_, view| metrics.observe_view(view)));
    }

    /// Adds a drawer, and draws with it at once.
    pub fn add_drawer(&self, mut drawer: Drawer) {
        if let Some(app) = self.window.upgrade() {
            drawer(&app, &self.view());
        }
        self.drawers.borrow_mut().push(drawer);
    }

    /// Draws the current view again (the clock turned a minute, the catalogue arrived).
    pub fn refresh(&self) {
        self.redraw(&self.view());
    }

    pub fn view(&self) -> View {
        self.session.borrow().view()
    }

    /// The resident's language, without building a whole view.
    pub fn language(&self) -> Language {
        self.session.borrow().language()
    }

    /// Whether elderly mode is on, without building a whole view (the header's clock).
    pub fn elderly(&self) -> bool {
        self.session.borrow().elderly()
    }

    /// The header's language button cycles through the offered languages.
    fn next_language(&self) -> Language {
        let session = self.session.borrow();
        let offered = &session.settings().offered_languages;
        let current = session.language();
        let position = offered.iter().position(|l| *l == current).unwrap_or(0);
        offered
            .get((position + 1) % offered.len().max(1))
            .copied()
            .unwrap_or(current)
    }

    fn redraw(&self, view: &View) {
        *self.drawn.borrow_mut() = Some(view.clone());
        if let Some(app) = self.window.upgrade() {
            ui::apply_view(&app, view);
            if let Ok(mut drawers) = self.drawers.try_borrow_mut() {
                for drawer in drawers.iter_mut() {
                    drawer(&app, view);
                }
            }
        }
    }
}

/// What ended the session, if `event` ends one: the core ends sessions on a tick (idle)
/// and on the card leaving.
fn ended_by(event: &Event) -> crate::metrics::EndedBy {
    match event {
        Event::Tick => crate::metrics::EndedBy::Idle,
        Event::CardRemoved => crate::metrics::EndedBy::CardRemoved,
        _ => crate::metrics::EndedBy::Other,
    }
}

/// What the log says of a command: what kind, never whose.
fn log(command: &Command, cause: crate::metrics::EndedBy) {
    match command {
        Command::WipeSessionData => tracing::info!(
            event = crate::logging::event::SESSION_ENDED,
            ended_by = cause.as_str(),
            "session ended; session data wiped"
        ),
        Command::RemindToTakeCard => tracing::info!("card left in the reader: reminding"),
        Command::SpeakAgain => tracing::debug!("speak the page again"),
        Command::Cancel(flow) => {
            tracing::debug!(session = flow.session, flow = flow.flow, "flow ended")
        }
        Command::Fetch { ticket, request } => {
            // Which kind of request only: a typed identification carries the person.
            let kind = match request {
                crate::core::Request::Records(kind) => format!("{kind:?}"),
                crate::core::Request::LookUp(_) => "look-up".into(),
                crate::core::Request::Card { action, .. } => format!("{action:?}"),
                crate::core::Request::CertificationStatus { .. } => "certification-status".into(),
                crate::core::Request::Certify { attempt, .. } => format!("certify #{attempt}"),
                crate::core::Request::Proxies { change: None, .. } => "proxies".into(),
                crate::core::Request::Proxies {
                    change: Some(crate::core::ProxyChange::Add { .. }),
                    ..
                } => "proxy-add".into(),
                crate::core::Request::Proxies {
                    change: Some(crate::core::ProxyChange::Remove { .. }),
                    ..
                } => "proxy-remove".into(),
                crate::core::Request::Proof { kind, years } => {
                    format!("proof {kind:?} {} years", years.len())
                }
            };
            tracing::info!(ticket = %ticket.reference(), %kind, "fetch")
        }
        Command::Print { ticket, .. } => tracing::info!(ticket = %ticket.reference(), "print"),
        // Never the PIN: only that the card was asked.
        Command::VerifyPin { ticket, .. } => {
            tracing::info!(ticket = %ticket.reference(), "verify PIN")
        }
        Command::VerifyPinOnReader { ticket } => {
            tracing::info!(ticket = %ticket.reference(), "verify PIN on the reader's keypad")
        }
        Command::ChangePin { ticket, .. } => {
            tracing::info!(ticket = %ticket.reference(), "change PIN")
        }
        Command::Capture {
            ticket,
            index,
            action,
            ..
        } => {
            tracing::info!(ticket = %ticket.reference(), index, action = action.key(), "capture")
        }
        Command::ReportDevices { .. } => {}
        // The technician adapter logs and journals these itself; never the PIN.
        Command::Technician(_) => {}
    }
}
