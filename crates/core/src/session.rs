//! The resident's session: which page is shown, in which language and mode, and when an idle
//! session ends. A pure state machine: `handle(event, now)` in, a [`View`] and [`Command`]s out.

use super::identity::HolderSummary;
use super::services::ServiceId;
use super::{Language, Millis};

/// What the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// "Insert your card, or tap a service": shown when nobody is using the kiosk.
    Attract,
    Home,
    Help,
    /// A service whose flow is not built yet: the page says so honestly and points to help.
    Unavailable(ServiceId),
    /// A query of the holder's records (contributions, pension, medical account, …).
    Query(ServiceId),
    /// The service-point finder: search, filters, results.
    Finder,
    /// One service point's details, by its index in the terminal's catalogue.
    ServicePoint(u32),
}

/// One line of a query's answer. The label is a Fluent key or plain data (a month, a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRow {
    pub label_key: &'static str,
    pub label: String,
    pub value: String,
    /// A Fluent key shown after `value`: a unit ("元") or a state ("paying").
    pub value_key: &'static str,
}

/// Where a query page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryState {
    /// The service needs the resident's card first.
    NeedsCard,
    Loading,
    Answered(Vec<QueryRow>),
    /// Why it failed, as a Fluent key the resident can act on.
    Failed(&'static str),
}

/// Where printing the page's receipt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintState {
    Printing,
    Printed,
    /// A Fluent key saying what went wrong and what to do.
    Failed(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    CardReader,
    Printer,
    Network,
}

/// A device's health in the XFS4IoT vocabulary, reduced to what the header shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceHealth {
    #[default]
    Unknown,
    Online,
    Offline,
    NoDevice,
    HardwareError,
}

/// Something that happened: a tap, the passing of time, a device changing state.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The attract page was tapped anywhere.
    Start,
    ServiceTapped(ServiceId),
    /// Elderly mode's home shows the most-used services; this shows all of them.
    AllServicesTapped,
    HelpTapped,
    BackTapped,
    HomeTapped,
    /// "Continue" on the idle warning.
    ContinueTapped,
    LanguageSelected(Language),
    ElderlyModeToggled,
    DeviceChanged(DeviceKind, DeviceHealth),
    /// A card was read and its holder identified (already masked for the screen).
    CardIdentified(HolderSummary),
    /// A card is in the reader but could not be read; the key names the Fluent message.
    CardUnreadable {
        message_key: &'static str,
    },
    /// The card left the reader.
    CardRemoved,
    /// A tap the core need not interpret (a key of the on-screen keyboard, a filter chip):
    /// the resident is still there.
    Activity,
    /// A result of the finder was tapped.
    ServicePointTapped(u32),
    /// The back end answered a query.
    QueryAnswered {
        service: ServiceId,
        rows: Vec<QueryRow>,
    },
    QueryFailed {
        service: ServiceId,
        message_key: &'static str,
    },
    /// "Print a receipt" on an answered query.
    PrintTapped,
    ReceiptPrinted,
    ReceiptFailed {
        message_key: &'static str,
    },
    /// Time passed; sent by the shell about once a second.
    Tick,
}

/// Something the shell must do beyond drawing the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The session ended (idle timeout or the card taken out): every adapter drops what it
    /// held for the resident (page models, entered digits, read card data).
    WipeSessionData,
    /// The session ended with the card still in the reader: play the "take your card"
    /// sound until it is taken (the screen shows the reminder from the view).
    RemindToTakeCard,
    /// Ask the back end for the identified holder's records of this service.
    RunQuery(ServiceId),
    /// Print the answered query as a receipt.
    PrintQueryReceipt {
        service: ServiceId,
        rows: Vec<QueryRow>,
    },
    /// Print a slip with a service point's address and navigation QR code.
    PrintServicePointSlip(u32),
}

/// The settings a session starts from; they come from the terminal's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    pub default_language: Language,
    pub offered_languages: Vec<Language>,
    pub elderly_by_default: bool,
    /// Time without a touch before the warning appears.
    pub idle_timeout: Millis,
    /// How long the warning counts down before the session ends.
    pub idle_warning: Millis,
}

/// Everything the screen needs to draw, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub page: Page,
    pub language: Language,
    pub elderly: bool,
    /// Elderly mode's home: the full service list instead of the most-used six.
    pub all_services: bool,
    /// Whole seconds left before the session ends, while the warning is shown.
    pub idle_warning_seconds: Option<u32>,
    pub card_reader: DeviceHealth,
    pub printer: DeviceHealth,
    pub network: DeviceHealth,
    /// Who is identified by the card in the reader, masked.
    pub holder: Option<HolderSummary>,
    /// A card is in the reader (read or not).
    pub card_present: bool,
    /// The session ended with the card still in: "please take your card" until it is taken.
    pub take_card_reminder: bool,
    /// A message for the resident about the last card event (a Fluent key), until the next tap.
    pub card_notice: Option<&'static str>,
    pub query: Option<QueryState>,
    pub print: Option<PrintState>,
}

/// The state machine. Device health survives the end of a session; everything a resident did
/// does not.
#[derive(Debug, Clone)]
pub struct Session {
    settings: SessionSettings,
    view: View,
    /// Pages to return to with "back"; never holds the current page.
    history: Vec<Page>,
    last_activity: Millis,
}

impl Session {
    pub fn new(settings: SessionSettings, now: Millis) -> Session {
        let view = View {
            page: Page::Attract,
            language: settings.default_language,
            elderly: settings.elderly_by_default,
            all_services: false,
            idle_warning_seconds: None,
            card_reader: DeviceHealth::Unknown,
            printer: DeviceHealth::Unknown,
            network: DeviceHealth::Unknown,
            holder: None,
            card_present: false,
            take_card_reminder: false,
            card_notice: None,
            query: None,
            print: None,
        };
        Session {
            settings,
            view,
            history: Vec::new(),
            last_activity: now,
        }
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// True while a resident has changed anything: then the idle clock runs.
    pub fn is_in_use(&self) -> bool {
        self.view.page != Page::Attract
            || self.view.holder.is_some()
            || self.view.card_notice.is_some()
            || self.view.language != self.settings.default_language
            || self.view.elderly != self.settings.elderly_by_default
    }

    pub fn handle(&mut self, event: Event, now: Millis) -> Vec<Command> {
        if let Event::DeviceChanged(kind, health) = event {
            match kind {
                DeviceKind::CardReader => self.view.card_reader = health,
                DeviceKind::Printer => self.view.printer = health,
                DeviceKind::Network => self.view.network = health,
            }
            return Vec::new();
        }
        if event == Event::Tick {
            return self.tick(now);
        }
        match event {
            Event::CardIdentified(holder) => return self.card_identified(holder, now),
            Event::CardUnreadable { message_key } => {
                self.view.card_present = true;
                self.view.card_notice = Some(message_key);
                self.last_activity = now;
                return Vec::new();
            }
            Event::CardRemoved => return self.card_removed(now),
            Event::QueryAnswered { service, rows } => {
                if self.view.page == Page::Query(service) {
                    self.view.query = Some(QueryState::Answered(rows));
                }
                return Vec::new();
            }
            Event::QueryFailed {
                service,
                message_key,
            } => {
                if self.view.page == Page::Query(service) {
                    self.view.query = Some(QueryState::Failed(message_key));
                }
                return Vec::new();
            }
            Event::ReceiptPrinted => {
                if self.view.print == Some(PrintState::Printing) {
                    self.view.print = Some(PrintState::Printed);
                }
                return Vec::new();
            }
            Event::ReceiptFailed { message_key } => {
                if self.view.print == Some(PrintState::Printing) {
                    self.view.print = Some(PrintState::Failed(message_key));
                }
                return Vec::new();
            }
            _ => {}
        }
        // While the idle warning is up it is modal: only "continue" does anything, so a
        // stray touch cannot start something the resident did not see.
        if self.view.idle_warning_seconds.is_some() {
            if event == Event::ContinueTapped {
                self.view.idle_warning_seconds = None;
                self.last_activity = now;
            }
            return Vec::new();
        }
        self.last_activity = now;
        self.view.card_notice = None;
        match event {
            Event::Start => {
                if self.view.page == Page::Attract {
                    self.go(Page::Home);
                }
            }
            Event::ServiceTapped(ServiceId::ServicePointFinder) => self.go(Page::Finder),
            Event::ServicePointTapped(index) => {
                if self.view.page == Page::Finder {
                    self.view.print = None;
                    self.go(Page::ServicePoint(index));
                }
            }
            Event::Activity => {}
            Event::ServiceTapped(service) if service.is_query() => {
                self.go(Page::Query(service));
                return self.start_query(service);
            }
            Event::ServiceTapped(service) => self.go(Page::Unavailable(service)),
            Event::PrintTapped if matches!(self.view.page, Page::ServicePoint(_)) => {
                if let Page::ServicePoint(index) = self.view.page {
                    if !matches!(self.view.print, Some(PrintState::Printing)) {
                        self.view.print = Some(PrintState::Printing);
                        return vec![Command::PrintServicePointSlip(index)];
                    }
                }
            }
            Event::PrintTapped => {
                if let (Page::Query(service), Some(QueryState::Answered(rows))) =
                    (self.view.page, &self.view.query)
                {
                    if !matches!(
                        self.view.print,
                        Some(PrintState::Printing | PrintState::Printed)
                    ) {
                        self.view.print = Some(PrintState::Printing);
                        return vec![Command::PrintQueryReceipt {
                            service,
                            rows: rows.clone(),
                        }];
                    }
                }
            }
            Event::AllServicesTapped => {
                if self.view.page == Page::Home {
                    self.view.all_services = true;
                }
            }
            Event::HelpTapped => {
                if self.view.page != Page::Help {
                    self.go(Page::Help);
                }
            }
            Event::BackTapped => {
                self.view.query = None;
                self.view.print = None;
                if self.view.page == Page::Home && self.view.all_services {
                    self.view.all_services = false;
                } else {
                    let previous = self.history.pop().unwrap_or(Page::Attract);
                    self.view.page = previous;
                }
            }
            Event::HomeTapped => {
                self.view.query = None;
                self.view.print = None;
                self.history.clear();
                self.view.all_services = false;
                self.view.page = Page::Home;
            }
            Event::LanguageSelected(language) => {
                if self.settings.offered_languages.contains(&language) {
                    self.view.language = language;
                }
            }
            Event::ElderlyModeToggled => {
                self.view.elderly = !self.view.elderly;
                self.view.all_services = false;
            }
            Event::ContinueTapped
            | Event::Tick
            | Event::DeviceChanged(..)
            | Event::CardIdentified(_)
            | Event::CardUnreadable { .. }
            | Event::CardRemoved
            | Event::QueryAnswered { .. }
            | Event::QueryFailed { .. }
            | Event::ReceiptPrinted
            | Event::ReceiptFailed { .. } => {}
        }
        Vec::new()
    }

    /// A query runs for the identified holder; without a card the page asks for it first.
    fn start_query(&mut self, service: ServiceId) -> Vec<Command> {
        self.view.print = None;
        if self.view.holder.is_some() {
            self.view.query = Some(QueryState::Loading);
            vec![Command::RunQuery(service)]
        } else {
            self.view.query = Some(QueryState::NeedsCard);
            Vec::new()
        }
    }

    /// A card read on attract or home identifies the resident and opens the home page;
    /// inside a service the flow decides what the card means, so the page stays.
    fn card_identified(&mut self, holder: HolderSummary, now: Millis) -> Vec<Command> {
        self.view.card_present = true;
        self.view.card_notice = None;
        if self.view.take_card_reminder {
            // A card left from the last session is not a new resident.
            return Vec::new();
        }
        self.view.holder = Some(holder);
        self.view.idle_warning_seconds = None;
        self.last_activity = now;
        if self.view.page == Page::Attract {
            self.go(Page::Home);
        }
        if let Page::Query(service) = self.view.page {
            if self.view.query == Some(QueryState::NeedsCard) {
                return self.start_query(service);
            }
        }
        Vec::new()
    }

    /// Taking the card out ends the resident's session: nothing of theirs stays on screen.
    fn card_removed(&mut self, now: Millis) -> Vec<Command> {
        let was_identified = self.view.holder.is_some();
        self.view.card_present = false;
        self.view.take_card_reminder = false;
        self.view.card_notice = None;
        if was_identified {
            self.end_session(now);
            return vec![Command::WipeSessionData];
        }
        Vec::new()
    }

    fn go(&mut self, page: Page) {
        self.history.push(self.view.page);
        self.view.page = page;
    }

    fn tick(&mut self, now: Millis) -> Vec<Command> {
        if !self.is_in_use() {
            self.last_activity = now;
            return Vec::new();
        }
        let idle = now.saturating_sub(self.last_activity);
        let end = self
            .settings
            .idle_timeout
            .saturating_add(self.settings.idle_warning);
        if idle >= end {
            self.end_session(now);
            let mut commands = vec![Command::WipeSessionData];
            if self.view.take_card_reminder {
                commands.push(Command::RemindToTakeCard);
            }
            return commands;
        }
        if idle >= self.settings.idle_timeout {
            let left_ms = end.saturating_sub(idle).0;
            self.view.idle_warning_seconds = Some(left_ms.div_ceil(1000) as u32);
        }
        Vec::new()
    }

    /// Back to attract with nothing of the resident left: defaults restored, history gone.
    fn end_session(&mut self, now: Millis) {
        let mut fresh = Session::new(self.settings.clone(), now);
        fresh.view.card_reader = self.view.card_reader;
        fresh.view.printer = self.view.printer;
        fresh.view.network = self.view.network;
        fresh.view.card_present = self.view.card_present;
        fresh.view.take_card_reminder = self.view.card_present;
        *self = fresh;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn settings() -> SessionSettings {
        SessionSettings {
            default_language: Language::ZhCn,
            offered_languages: Language::ALL.to_vec(),
            elderly_by_default: false,
            idle_timeout: Millis::from_secs(60),
            idle_warning: Millis::from_secs(30),
        }
    }

    fn at(seconds: u64) -> Millis {
        Millis::from_secs(seconds)
    }

    #[test]
    fn tile_page_back_home_navigation() {
        let mut session = Session::new(settings(), at(0));
        session.handle(Event::Start, at(1));
        assert_eq!(session.view().page, Page::Home);
        session.handle(Event::ServiceTapped(ServiceId::ProofPrint), at(2));
        assert_eq!(
            session.view().page,
            Page::Unavailable(ServiceId::ProofPrint)
        );
        session.handle(Event::HelpTapped, at(3));
        assert_eq!(session.view().page, Page::Help);
        session.handle(Event::BackTapped, at(4));
        assert_eq!(
            session.view().page,
            Page::Unavailable(ServiceId::ProofPrint)
        );
        session.handle(Event::HomeTapped, at(5));
        assert_eq!(session.view().page, Page::Home);
        session.handle(Event::BackTapped, at(6));
        assert_eq!(session.view().page, Page::Attract);
    }

    #[test]
    fn the_finder_opens_a_point_and_back_returns_to_the_results() {
        let mut session = Session::new(settings(), at(0));
        session.handle(Event::Start, at(0));
        session.handle(Event::ServiceTapped(ServiceId::ServicePointFinder), at(1));
        assert_eq!(session.view().page, Page::Finder);
        session.handle(Event::Activity, at(50));
        session.handle(Event::Tick, at(100));
        assert_eq!(
            session.view().idle_warning_seconds,
            None,
            "typing keeps the session alive"
        );
        session.handle(Event::ServicePointTapped(7), at(101));
        assert_eq!(session.view().page, Page::ServicePoint(7));
        let commands = session.handle(Event::PrintTapped, at(101));
        assert_eq!(commands, vec![Command::PrintServicePointSlip(7)]);
        assert!(
            session.handle(Event::PrintTapped, at(101)).is_empty(),
            "not twice while printing"
        );
        session.handle(Event::BackTapped, at(102));
        assert_eq!(session.view().page, Page::Finder);
    }

    #[test]
    fn idle_warns_with_a_countdown_then_returns_to_attract_wiped() {
        let mut session = Session::new(settings(), at(0));
        session.handle(Event::Start, at(0));
        session.handle(Event::LanguageSelected(Language::EnUs), at(0));
        session.handle(Event::ElderlyModeToggled, at(0));
        session.handle(Event::Tick, at(59));
        assert_eq!(session.view().idle_warning_seconds, None);
        session.handle(Event::Tick, at(60));
        assert_eq!(session.view().idle_warning_seconds, Some(30));
        // A stray touch while warned does nothing.
        session.handle(Event::ServiceTapped(ServiceId::ProofPrint), at(61));
        assert_eq!(session.view().page, Page::Home);
        session.handle(Event::Tick, at(81));
        assert_eq!(session.view().idle_warning_seconds, Some(9));
        let commands = session.handle(Event::Tick, at(90));
        assert_eq!(commands, vec![Command::WipeSessionData]);
        let view = session.view();
        assert_eq!(view.page, Page::Attract);
        assert_eq!(view.language, Language::ZhCn);
        assert!(!view.elderly);
        assert_eq!(view.idle_warning_seconds, None);
    }

    #[test]
    fn continue_gives_the_full_timeout_again() {
        let mut session = Session::new(settings(), at(0));
        session.handle(Event::Start, at(0));
        session.handle(Event::Tick, at(70));
        assert!(session.view().idle_warning_seconds.is_some());
        session.handle(Event::ContinueTapped, at(71));
        assert_eq!(session.view().idle_warning_seconds, None);
        session.handle(Event::Tick, at(130));
        assert_eq!(session.view().idle_warning_seconds, None);
        assert_eq!(session.view().page, Page::Home);
    }

    #[test]
    fn device_health_survives_the_end_of_a_session() {
        let mut session = Session::new(settings(), at(0));
        session.handle(
            Event::DeviceChanged(DeviceKind::Printer, DeviceHealth::Offline),
            at(0),
        );
        session.handle(Event::Start, at(0));
        session.handle(Event::Tick, at(1000));
        assert_eq!(session.view().page, Page::Attract);
        assert_eq!(session.view().printer, DeviceHealth::Offline);
    }

    #[test]
    fn a_language_not_offered_is_ignored() {
        let mut only_chinese = settings();
        only_chinese.offered_languages = vec![Language::ZhCn];
        let mut session = Session::new(only_chinese, at(0));
        session.handle(Event::LanguageSelected(Language::EnUs), at(1));
        assert_eq!(session.view().language, Language::ZhCn);
    }

    fn holder() -> HolderSummary {
        use crate::identity::{CardGeneration, Gender};
        HolderSummary {
            masked_name: "张*芳".into(),
            masked_id: "500103********1234".into(),
            generation: CardGeneration::Third,
            gender: Gender::Female,
            region_code: "500100".into(),
            expiry_date: None,
        }
    }

    #[test]
    fn a_card_on_attract_identifies_the_holder_and_taking_it_out_ends_the_session() {
        let mut session = Session::new(settings(), at(0));
        session.handle(Event::CardIdentified(holder()), at(1));
        assert_eq!(session.view().page, Page::Home);
        assert_eq!(session.view().holder, Some(holder()));
        session.handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(2));
        let commands = session.handle(Event::CardRemoved, at(3));
        assert_eq!(commands, vec![Command::WipeSessionData]);
        assert_eq!(session.view().page, Page::Attract);
        assert_eq!(session.view().holder, None);
        assert!(!session.view().take_card_reminder);
    }

    #[test]
    fn a_card_left_behind_brings_a_reminder_until_it_is_taken() {
        let mut session = Session::new(settings(), at(0));
        session.handle(Event::CardIdentified(holder()), at(0));
        let commands = session.handle(Event::Tick, at(90));
        assert_eq!(
            commands,
            vec![Command::WipeSessionData, Command::RemindToTakeCard]
        );
        let view = session.view();
        assert_eq!((view.page, view.holder.clone()), (Page::Attract, None));
        assert!(view.take_card_reminder && view.card_present);
        // The same card read again is not a new resident while the reminder is up.
        session.handle(Event::CardIdentified(holder()), at(91));
        assert_eq!(session.view().holder, None);
        session.handle(Event::CardRemoved, at(95));
        assert!(!session.view().take_card_reminder);
        assert!(!session.is_in_use());
    }

    #[test]
    fn an_unreadable_card_says_why_until_the_next_tap() {
        let mut session = Session::new(settings(), at(0));
        session.handle(
            Event::CardUnreadable {
                message_key: "card-error-unreadable",
            },
            at(0),
        );
        assert_eq!(session.view().card_notice, Some("card-error-unreadable"));
        session.handle(Event::Start, at(1));
        assert_eq!(session.view().card_notice, None);
    }

    #[test]
    fn a_query_waits_for_the_card_then_runs_and_its_answer_can_be_printed_once() {
        let mut session = Session::new(settings(), at(0));
        session.handle(Event::Start, at(0));
        let commands = session.handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(1));
        assert!(commands.is_empty());
        assert_eq!(session.view().query, Some(QueryState::NeedsCard));
        let commands = session.handle(Event::CardIdentified(holder()), at(2));
        assert_eq!(
            commands,
            vec![Command::RunQuery(ServiceId::ContributionQuery)]
        );
        assert_eq!(session.view().query, Some(QueryState::Loading));
        let rows = vec![QueryRow {
            label_key: "",
            label: "2026-10".into(),
            value: "812.40".into(),
            value_key: "unit-yuan",
        }];
        // An answer for another page is ignored.
        session.handle(
            Event::QueryAnswered {
                service: ServiceId::MedicalAccountQuery,
                rows: vec![],
            },
            at(3),
        );
        assert_eq!(session.view().query, Some(QueryState::Loading));
        session.handle(
            Event::QueryAnswered {
                service: ServiceId::ContributionQuery,
                rows: rows.clone(),
            },
            at(3),
        );
        assert_eq!(
            session.view().query,
            Some(QueryState::Answered(rows.clone()))
        );
        let commands = session.handle(Event::PrintTapped, at(4));
        assert_eq!(
            commands,
            vec![Command::PrintQueryReceipt {
                service: ServiceId::ContributionQuery,
                rows
            }]
        );
        assert!(
            session.handle(Event::PrintTapped, at(5)).is_empty(),
            "a second tap does not print twice"
        );
        session.handle(Event::ReceiptPrinted, at(6));
        assert_eq!(session.view().print, Some(PrintState::Printed));
    }

    fn any_event() -> impl Strategy<Value = Event> {
        let service = proptest::sample::select(ServiceId::ALL.to_vec());
        let language = proptest::sample::select(Language::ALL.to_vec());
        let kind = proptest::sample::select(vec![
            DeviceKind::CardReader,
            DeviceKind::Printer,
            DeviceKind::Network,
        ]);
        let health = proptest::sample::select(vec![
            DeviceHealth::Online,
            DeviceHealth::Offline,
            DeviceHealth::NoDevice,
            DeviceHealth::HardwareError,
        ]);
        prop_oneof![
            Just(Event::Start),
            service.prop_map(Event::ServiceTapped),
            Just(Event::AllServicesTapped),
            Just(Event::HelpTapped),
            Just(Event::BackTapped),
            Just(Event::HomeTapped),
            Just(Event::ContinueTapped),
            language.prop_map(Event::LanguageSelected),
            Just(Event::ElderlyModeToggled),
            (kind, health).prop_map(|(k, h)| Event::DeviceChanged(k, h)),
            Just(Event::CardIdentified(holder())),
            Just(Event::CardUnreadable {
                message_key: "card-error-unreadable"
            }),
            Just(Event::CardRemoved),
            Just(Event::QueryAnswered {
                service: ServiceId::ContributionQuery,
                rows: Vec::new()
            }),
            Just(Event::QueryFailed {
                service: ServiceId::PensionPaymentQuery,
                message_key: "query-error-unavailable"
            }),
            Just(Event::PrintTapped),
            Just(Event::ReceiptPrinted),
            Just(Event::ReceiptFailed {
                message_key: "print-error-paper-out"
            }),
            Just(Event::Activity),
            (0u32..20).prop_map(Event::ServicePointTapped),
            Just(Event::Tick),
        ]
    }

    proptest! {
        /// Whatever residents do, in any order and at any pace, nothing panics, the warning
        /// never shows more than the configured seconds, and idleness always ends on a
        /// wiped attract page.
        #[test]
        fn idle_always_returns_to_a_wiped_attract(
            steps in proptest::collection::vec((any_event(), 0u64..40_000), 0..80)
        ) {
            let settings = settings();
            let mut session = Session::new(settings.clone(), Millis(0));
            let mut now = Millis(0);
            for (event, gap) in steps {
                now = now.saturating_add(Millis(gap));
                session.handle(event, now);
                if let Some(seconds) = session.view().idle_warning_seconds {
                    prop_assert!(u64::from(seconds) * 1000 <= settings.idle_warning.0);
                }
            }
            let later = now.saturating_add(settings.idle_timeout).saturating_add(settings.idle_warning);
            session.handle(Event::Tick, later);
            let view = session.view();
            prop_assert_eq!(view.page, Page::Attract);
            prop_assert_eq!(view.language, settings.default_language);
            prop_assert_eq!(view.elderly, settings.elderly_by_default);
            prop_assert!(!view.all_services);
            prop_assert_eq!(view.idle_warning_seconds, None);
            prop_assert!(session.history.is_empty());
            prop_assert_eq!(&view.holder, &None);
            prop_assert_eq!(view.card_notice, None);
            prop_assert_eq!(&view.query, &None);
            prop_assert_eq!(view.print, None);
            prop_assert!(!view.take_card_reminder || view.card_present);
            prop_assert!(!session.is_in_use());
        }
    }
}
