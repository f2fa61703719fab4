//! Glue between one window and the session: window callbacks become core events, the core's
//! view becomes window properties, the core's commands become actions.

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use crate::core::{Command, Event, Language, Millis, ServiceId, Session, SessionSettings, View};
use crate::ui::{self, AppWindow};

/// Where the controller gets "now" from: the monotonic clock in the kiosk, a hand-set
/// clock in tests.
pub type Clock = Rc<dyn Fn() -> Millis>;

/// Carries out the commands the core returns (queries, printing, wiping adapters).
pub type Effects = Box<dyn FnMut(&Command, &View)>;

pub struct Controller {
    session: Session,
    window: slint::Weak<AppWindow>,
    clock: Clock,
    effects: Vec<Effects>,
}

impl Controller {
    /// Connects `app`'s callbacks to a new session and draws its first view.
    pub fn attach(
        app: &AppWindow,
        settings: SessionSettings,
        clock: Clock,
    ) -> Rc<RefCell<Controller>> {
        app.set_idle_total_seconds((settings.idle_warning.0 / 1000) as i32);
        app.set_show_language_switch(settings.offered_languages.len() > 1);
        let session = Session::new(settings, clock());
        let controller = Rc::new(RefCell::new(Controller {
            session,
            window: app.as_weak(),
            clock,
            effects: Vec::new(),
        }));
        let weak = Rc::downgrade(&controller);
        let send = move |event: Event| {
            if let Some(controller) = weak.upgrade() {
                controller.borrow_mut().dispatch(event);
            }
        };
        let on = send.clone();
        app.on_start(move || on(Event::Start));
        let on = send.clone();
        app.on_service_tapped(move |id| {
            if let Some(service) = ServiceId::from_key(&id) {
                on(Event::ServiceTapped(service));
            }
        });
        let on = send.clone();
        app.on_find_counter_tapped(move || on(Event::ServiceTapped(ServiceId::ServicePointFinder)));
        let on = send.clone();
        app.on_all_services_tapped(move || on(Event::AllServicesTapped));
        let on = send.clone();
        app.on_help_tapped(move || on(Event::HelpTapped));
        let on = send.clone();
        app.on_back_tapped(move || on(Event::BackTapped));
        let on = send.clone();
        app.on_home_tapped(move || on(Event::HomeTapped));
        let on = send.clone();
        app.on_continue_tapped(move || on(Event::ContinueTapped));
        let on = send.clone();
        let weak_for_language = Rc::downgrade(&controller);
        app.on_language_tapped(move || {
            let next = weak_for_language
                .upgrade()
                .map(|c| c.borrow().next_language())
                .unwrap_or_default();
            on(Event::LanguageSelected(next));
        });
        app.on_elderly_tapped(move || send(Event::ElderlyModeToggled));
        controller.borrow().redraw();
        controller
    }

    /// Feeds one event to the session at the clock's "now", then redraws and carries out
    /// what the session asked for.
    pub fn dispatch(&mut self, event: Event) {
        let now = (self.clock)();
        let commands = self.session.handle(event, now);
        for command in &commands {
            match command {
                Command::WipeSessionData => tracing::info!("session ended; session data wiped"),
                // The sound hook: terminals with a speaker play the reminder here.
                Command::RemindToTakeCard => tracing::info!("card left in the reader: reminding"),
                Command::RunQuery(service) => tracing::info!(service = service.key(), "query"),
                Command::PrintQueryReceipt { service, .. } => {
                    tracing::info!(service = service.key(), "print receipt")
                }
                Command::PrintServicePointSlip(index) => tracing::info!(index, "print slip"),
            }
            for effects in &mut self.effects {
                effects(command, self.session.view());
            }
        }
        self.redraw();
    }

    /// Adds something that carries out commands (each adapter adds its own); without any
    /// (screenshots) the commands are only logged.
    pub fn add_effects(&mut self, effects: Effects) {
        self.effects.push(effects);
    }

    pub fn view(&self) -> &View {
        self.session.view()
    }

    /// The header's language button cycles through the offered languages.
    fn next_language(&self) -> Language {
        let offered = &self.session.settings().offered_languages;
        let current = self.session.view().language;
        let position = offered.iter().position(|l| *l == current).unwrap_or(0);
        offered
            .get((position + 1) % offered.len().max(1))
            .copied()
            .unwrap_or(current)
    }

    fn redraw(&self) {
        if let Some(app) = self.window.upgrade() {
            ui::apply_view(&app, self.session.view());
        }
    }
}
