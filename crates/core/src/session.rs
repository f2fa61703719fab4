//! The resident's session: which page is shown, in which language and mode, which flow is
//! active, and when an idle session ends. A pure state machine: `handle(event, now)` in, a
//! [`View`] and [`Command`]s out.
//!
//! The session keeps only what is global — the idle clock, language, elderly mode, device
//! health, card presence, history — and hands flow inputs to the active flow. Every request
//! leaves with a [`Ticket`]; an answer that comes back with another session's or flow's
//! ticket is dropped, so one resident's late answer can never be drawn for the next.

use crate::failure::{BackendProblem, CardProblem, PinProblem, PrintProblem};
use crate::flows::card::{CardAction, CardReply, Confirmation, Identification};
use crate::flows::certification::{
    CaptureProblem, CertificationOutcome, CertificationReply, LivenessAction, Pensioner,
};
use crate::flows::proof::{A4Status, ProofAnswer, ProofDocument, ProofKind};
use crate::flows::proxy::{ProxyChange, ProxyReceipt, ProxyReply};
use crate::flows::query::{Answer, QueryKind};
use crate::flows::{Flow, FlowContext, FlowInput, FlowView, Needs};
use crate::identity::{HolderSummary, IdCardSummary, Pin};
use crate::records::Layout;
use crate::services::ServiceId;
use crate::technician::{
    self, Defaults, Technician, TechnicianCommand, TechnicianInput, TechnicianView,
};
use crate::ticket::{Ticket, TicketBook};
use crate::{Date, Language, Millis, SeedStream};

/// What the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// "Insert your card, or tap a service": shown when nobody is using the kiosk.
    Attract,
    Home,
    Help,
    /// The active flow's page; [`View::flow`] says which and where it is.
    Flow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    CardReader,
    Printer,
    /// The back end, as the route availability shows it.
    Network,
    /// The 二代身份证 reader (`NoDevice` where the terminal has none).
    IdCardReader,
    Camera,
    /// The A4 printer for proofs (through CUPS); its refusal reason comes with
    /// [`Event::A4PrinterChanged`].
    A4Printer,
    /// The speaker of voice guidance (`NoDevice` where the terminal has none).
    Voice,
}

/// A device's health in the XFS4IoT vocabulary, reduced to what the header shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum DeviceHealth {
    #[default]
    Unknown,
    Online,
    Offline,
    NoDevice,
    HardwareError,
}

impl DeviceHealth {
    /// Known to be unusable (unknown is not: at start-up nothing is known yet).
    pub fn is_down(self) -> bool {
        matches!(
            self,
            DeviceHealth::Offline | DeviceHealth::NoDevice | DeviceHealth::HardwareError
        )
    }
}

/// Why a service cannot be started now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Blocker {
    CardReader,
    Printer,
    BackEnd,
    Camera,
    /// No A4 printer, or it refuses (with why, when known) and the receipt printer cannot
    /// stand in either.
    A4Printer(Option<PrintProblem>),
}

/// Something that happened: a tap, the passing of time, a device, a card or an answer.
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
    /// The header's 🔊: say the page again, and keep voice guidance on for this session.
    SpeakTapped,
    DeviceChanged(DeviceKind, DeviceHealth),
    /// The A4 printer's readiness, with why it refuses (the adapter's poll).
    A4PrinterChanged(A4Status),
    /// Today's local date: sent at start and when the date changes. The core never assumes a
    /// year.
    Today(Date),
    /// A card was read and its holder identified (already masked for the screen).
    CardIdentified(HolderSummary),
    /// Whether the card reader has its own PIN keypad (learnt when a card is read).
    SecurePinEntry(bool),
    /// A card is in the reader but cannot be used.
    CardUnreadable(CardProblem),
    /// The card left the reader.
    CardRemoved,
    /// An ID card was read on the ID-card reader (masked; the shell holds the rest).
    IdCardRead(IdCardSummary),
    /// The ID card was taken off the reader.
    IdCardTaken,
    /// The card's answer to a [`Command::VerifyPin`] or [`Command::ChangePin`].
    PinAnswered {
        ticket: Ticket,
        result: Result<(), PinProblem>,
    },
    /// The back end's answer to a card service's [`Command::Fetch`].
    CardServiceAnswered {
        ticket: Ticket,
        result: Result<CardReply, BackendProblem>,
    },
    /// The back end's answer to a certification's [`Command::Fetch`].
    CertificationAnswered {
        ticket: Ticket,
        result: Result<CertificationReply, BackendProblem>,
    },
    /// The back end's answer to a proxy bindings' [`Command::Fetch`].
    ProxiesAnswered {
        ticket: Ticket,
        result: Result<ProxyReply, BackendProblem>,
    },
    /// The camera's still for a [`Command::Capture`] was taken (the shell holds it) or could
    /// not be used.
    Captured {
        ticket: Ticket,
        result: Result<(), CaptureProblem>,
    },
    /// A tap inside the active flow.
    Flow(FlowInput),
    /// The back end's answer to a [`Command::Fetch`], with the ticket it went out with.
    Answered {
        ticket: Ticket,
        result: Result<Answer, BackendProblem>,
    },
    /// The back end's proof for a [`Request::Proof`].
    ProofAnswered {
        ticket: Ticket,
        // Boxed: a proof's rows would make every event that large.
        result: Result<Box<ProofAnswer>, BackendProblem>,
    },
    /// The printer's result for a [`Command::Print`].
    Printed {
        ticket: Ticket,
        result: Result<(), PrintProblem>,
    },
    /// Time passed; sent by the shell about once a second.
    Tick,
    /// The hidden corner, the technician's sign-in and pages.
    Technician(TechnicianInput),
}

/// A request to the back end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The identified holder's records.
    Records(QueryKind),
    /// Whom the back end has for this identification, and their card's state; answered with
    /// [`Event::CardServiceAnswered`].
    LookUp(Identification),
    /// A change to the card's state, sent exactly once per ticket (a retry with the same
    /// ticket is the same operation in the journal).
    Card {
        action: CardAction,
        who: Identification,
    },
    /// The pensioner's certification status this cycle, and the liveness actions to show;
    /// answered with [`Event::CertificationAnswered`].
    CertificationStatus {
        who: Identification,
        pensioner: Pensioner,
    },
    /// The identified pensioner's bound relatives (`change` None), or one change to them,
    /// sent exactly once per ticket; answered with [`Event::ProxiesAnswered`].
    Proxies {
        who: Identification,
        change: Option<ProxyChange>,
    },
    /// The attempt's stills (held by the shell under `attempt`) for the back end's verdict,
    /// sent exactly once per ticket.
    Certify {
        who: Identification,
        pensioner: Pensioner,
        cycle_year: u16,
        challenge_id: String,
        attempt: u8,
    },
    /// A proof for the card holder, issued (with its verification code) by the back end;
    /// `years` for contributions, oldest first. Answered with [`Event::ProofAnswered`].
    Proof { kind: ProofKind, years: Vec<i32> },
}

/// Something to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// A records answer, as the page laid it out (for records read by year: that year).
    Records {
        service: ServiceId,
        year: Option<i32>,
        layout: Layout,
        reference: String,
    },
    /// A slip with a service point's address and navigation QR code.
    ServicePointSlip(u32),
    /// A card service's receipt: what was done, its reference and verification code. Never
    /// a digit of a PIN.
    CardService {
        service: ServiceId,
        confirmation: Option<Confirmation>,
    },
    /// A certification's receipt: whose, the verdict, the reference.
    Certification(CertificationOutcome),
    /// A change to the bindings: whom, added or removed, how many now.
    Proxies(ProxyReceipt),
    /// An A4 proof (or its receipt copy).
    Proof(Box<ProofDocument>),
}

/// A flow within the kiosk's life: the part of a ticket that names who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowId {
    pub session: u32,
    pub flow: u32,
}

impl Ticket {
    pub fn flow_id(&self) -> FlowId {
        FlowId {
            session: self.session,
            flow: self.flow,
        }
    }
}

/// Something the shell must do beyond drawing the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The session ended (idle timeout or the card taken out): every adapter drops what it
    /// held for the resident and abandons the session's requests still in flight.
    WipeSessionData,
    /// The flow ended (home, another service, back out of it): its requests still in flight
    /// may be abandoned; their answers would be dropped anyway.
    Cancel(FlowId),
    /// The session ended with the card still in the reader: play the "take your card"
    /// sound until it is taken (the screen shows the reminder from the view).
    RemindToTakeCard,
    /// Say the current view's prompt again, even if it was said already (the 🔊 button).
    SpeakAgain,
    /// Ask the back end, for the identified holder; answer with [`Event::Answered`].
    Fetch { ticket: Ticket, request: Request },
    /// VERIFY `pin` on the card in the reader; answer with [`Event::PinAnswered`].
    VerifyPin { ticket: Ticket, pin: Pin },
    /// VERIFY with the PIN typed on the card reader's own keypad; answer with
    /// [`Event::PinAnswered`].
    VerifyPinOnReader { ticket: Ticket },
    /// CHANGE PIN on the card; answer with [`Event::PinAnswered`].
    ChangePin { ticket: Ticket, old: Pin, new: Pin },
    /// Print; answer with [`Event::Printed`].
    Print { ticket: Ticket, document: Document },
    /// Take a still of the pensioner doing `action` (the `index`th of attempt `attempt`),
    /// after showing it long enough to be done; keep it for the flow's [`Request::Certify`];
    /// answer with [`Event::Captured`].
    Capture {
        ticket: Ticket,
        attempt: u8,
        index: u8,
        action: LivenessAction,
    },
    /// The card reader's or printer's health changed: what the heartbeat reports.
    ReportDevices(ReportedDevices),
    /// Technician mode: sign-in checks, actions, defaults, entering and leaving (each one
    /// audited by the shell).
    Technician(TechnicianCommand),
}

/// The devices' health as heartbeats report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportedDevices {
    pub card_reader: DeviceHealth,
    pub printer: DeviceHealth,
    pub camera: DeviceHealth,
    pub a4_printer: DeviceHealth,
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
    /// Seeds the PIN pad's layouts: random in the kiosk, fixed in tests.
    pub keypad_seed: u64,
    /// Voice guidance speaks for everyone, not only in elderly mode or after a 🔊 tap.
    pub voice_always: bool,
}

/// What the attract page says to a resident who just left in the middle of something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Farewell {
    /// The card was taken out before the service finished: nothing was done.
    Interrupted,
    /// A change had been sent: the terminal is confirming it; do not repeat it.
    BeingConfirmed,
}

/// How long a farewell stays on the attract page.
const FAREWELL_FOR: Millis = Millis::from_secs(20);

/// Everything the screen needs to draw, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub page: Page,
    /// The active flow's view, when the page is [`Page::Flow`].
    pub flow: Option<FlowView>,
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
    /// The last card problem, until the next tap.
    pub card_notice: Option<CardProblem>,
    pub today: Date,
    pub id_card_reader: DeviceHealth,
    /// Who the ID card on the reader belongs to, masked.
    pub id_card: Option<IdCardSummary>,
    pub farewell: Option<Farewell>,
    pub camera: DeviceHealth,
    pub a4_printer: A4Status,
    /// Voice guidance speaks each page: always on (configured), in elderly mode, or after
    /// the resident tapped 🔊.
    pub voice: bool,
    pub voice_device: DeviceHealth,
    /// In maintenance: the technician's pages, or the out-of-service screen residents see.
    /// Drawn instead of `page` while set.
    pub technician: Option<TechnicianView>,
}

impl View {
    /// Why `service` cannot start now, or `None` when it can.
    pub fn blocker(&self, service: ServiceId) -> Option<Blocker> {
        blocker(service, self.devices())
    }

    fn devices(&self) -> Devices {
        Devices {
            card_reader: self.card_reader,
            printer: self.printer,
            network: self.network,
            camera: self.camera,
            a4: self.a4_printer,
        }
    }

    /// The camera's preview should run: a pensioner is facing it.
    pub fn camera_on(&self) -> bool {
        matches!(&self.flow, Some(FlowView::Certification(view)) if view.step.camera_on())
    }

    /// The back end is unreachable: the attract page says which services still work.
    pub fn back_end_down(&self) -> bool {
        self.network.is_down()
    }

    /// The services that work without the back end.
    pub fn offline_services(&self) -> Vec<ServiceId> {
        ServiceId::ALL
            .into_iter()
            .filter(|service| service.is_built() && !Needs::of(*service).back_end)
            .collect()
    }
}

/// The devices a service may need, as the session last heard of them.
#[derive(Debug, Clone, Copy)]
struct Devices {
    card_reader: DeviceHealth,
    printer: DeviceHealth,
    network: DeviceHealth,
    camera: DeviceHealth,
    a4: A4Status,
}

fn blocker(service: ServiceId, devices: Devices) -> Option<Blocker> {
    let needs = Needs::of(service);
    let a4_blocks = service == ServiceId::ProofPrint
        && (devices.a4.health == DeviceHealth::NoDevice
            || (devices.a4.health.is_down() && devices.printer.is_down()));
    if needs.card_reader && devices.card_reader.is_down() {
        Some(Blocker::CardReader)
    } else if needs.back_end && devices.network.is_down() {
        Some(Blocker::BackEnd)
    } else if needs.camera && devices.camera.is_down() {
        Some(Blocker::Camera)
    } else if needs.printer && devices.printer.is_down() {
        Some(Blocker::Printer)
    } else if a4_blocks {
        Some(Blocker::A4Printer(devices.a4.problem))
    } else {
        None
    }
}

/// What belongs to the resident now at the kiosk; replaced whole when the session ends.
#[derive(Debug, Clone, PartialEq)]
struct Resident {
    page: Page,
    /// Pages to return to with "back"; never holds the current page.
    history: Vec<Page>,
    flow: Option<Flow>,
    tickets: TicketBook,
    language: Language,
    elderly: bool,
    all_services: bool,
    idle_warning_seconds: Option<u32>,
    holder: Option<HolderSummary>,
    card_notice: Option<CardProblem>,
    /// The card's PIN was verified in this session.
    pin_verified: bool,
    id_card: Option<IdCardSummary>,
    /// Tapped 🔊: voice guidance stays on until the session ends.
    voice_requested: bool,
}

/// What belongs to the terminal and survives sessions.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Terminal {
    card_reader: DeviceHealth,
    printer: DeviceHealth,
    network: DeviceHealth,
    card_present: bool,
    take_card_reminder: bool,
    today: Date,
    id_card_reader: DeviceHealth,
    /// Keeps advancing across sessions, so no two pads repeat a layout by design.
    seeds: SeedStream,
    farewell: Option<(Farewell, Millis)>,
    secure_pin_entry: bool,
    camera: DeviceHealth,
    a4_printer: A4Status,
    voice: DeviceHealth,
}

/// The state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    settings: SessionSettings,
    /// Counts sessions since start; part of every ticket.
    number: u32,
    /// Counts flows started since start; part of every ticket.
    flows_started: u32,
    resident: Resident,
    terminal: Terminal,
    last_activity: Millis,
    technician: Technician,
}

impl Session {
    pub fn new(settings: SessionSettings, now: Millis) -> Session {
        let resident = Resident::fresh(&settings, 0);
        let seeds = SeedStream::new(settings.keypad_seed);
        Session {
            settings,
            number: 0,
            flows_started: 0,
            resident,
            terminal: Terminal {
                card_reader: DeviceHealth::Unknown,
                printer: DeviceHealth::Unknown,
                network: DeviceHealth::Unknown,
                card_present: false,
                take_card_reminder: false,
                today: Date::default(),
                id_card_reader: DeviceHealth::Unknown,
                seeds,
                farewell: None,
                secure_pin_entry: false,
                camera: DeviceHealth::Unknown,
                a4_printer: A4Status::default(),
                voice: DeviceHealth::Unknown,
            },
            last_activity: now,
            technician: Technician::default(),
        }
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    pub fn language(&self) -> Language {
        self.resident.language
    }

    pub fn elderly(&self) -> bool {
        self.resident.elderly
    }

    /// Which session this is (0 for the first since start).
    pub fn number(&self) -> u32 {
        self.number
    }

    pub fn view(&self) -> View {
        let resident = &self.resident;
        View {
            page: resident.page,
            flow: match (resident.page, &resident.flow) {
                (Page::Flow, Some(flow)) => Some(flow.view(self.terminal.today, resident.elderly)),
                _ => None,
            },
            language: resident.language,
            elderly: resident.elderly,
            all_services: resident.all_services,
            idle_warning_seconds: resident.idle_warning_seconds,
            card_reader: self.terminal.card_reader,
            printer: self.terminal.printer,
            network: self.terminal.network,
            holder: resident.holder.clone(),
            card_present: self.terminal.card_present,
            take_card_reminder: self.terminal.take_card_reminder,
            card_notice: resident.card_notice,
            today: self.terminal.today,
            id_card_reader: self.terminal.id_card_reader,
            id_card: resident.id_card.clone(),
            farewell: self.terminal.farewell.map(|(farewell, _)| farewell),
            camera: self.terminal.camera,
            a4_printer: self.terminal.a4_printer,
            voice: self.settings.voice_always || resident.elderly || resident.voice_requested,
            voice_device: self.terminal.voice,
            technician: self.technician.view((
                self.settings.default_language,
                self.settings.elderly_by_default,
            )),
        }
    }

    /// True while a resident has changed anything: then the idle clock runs.
    pub fn is_in_use(&self) -> bool {
        let resident = &self.resident;
        resident.page != Page::Attract
            || !resident.history.is_empty()
            || resident.flow.is_some()
            || resident.holder.is_some()
            || resident.card_notice.is_some()
            || resident.id_card.is_some()
            || resident.all_services
            || resident.language != self.settings.default_language
            || resident.elderly != self.settings.elderly_by_default
            || resident.voice_requested
    }

    pub fn handle(&mut self, event: Event, now: Millis) -> Vec<Command> {
        if let Event::Technician(input) = event {
            return self.technician_input(input, now);
        }
        if self.technician.active() {
            // Nobody is served in maintenance: only the terminal's own state moves.
            match event {
                // The technician's pages follow the language and elderly mode too; both
                // go back to the defaults when maintenance ends.
                Event::DeviceChanged(..)
                | Event::A4PrinterChanged(_)
                | Event::Today(_)
                | Event::SecurePinEntry(_)
                | Event::LanguageSelected(_)
                | Event::ElderlyModeToggled => {}
                Event::Tick => return self.technician_tick(now),
                Event::CardIdentified(_) | Event::CardUnreadable(_) => {
                    self.terminal.card_present = true;
                    return Vec::new();
                }
                Event::CardRemoved => {
                    self.terminal.card_present = false;
                    self.terminal.take_card_reminder = false;
                    return Vec::new();
                }
                _ => return Vec::new(),
            }
        }
        match event {
            Event::DeviceChanged(kind, health) => return self.device_changed(kind, health),
            Event::A4PrinterChanged(status) => {
                let changed = self.terminal.a4_printer.health != status.health;
                self.terminal.a4_printer = status;
                self.printers_changed();
                return if changed {
                    vec![self.report_devices()]
                } else {
                    Vec::new()
                };
            }
            Event::ProofAnswered { ticket, result } => {
                if ticket.session == self.number {
                    if let Some(flow) = &mut self.resident.flow {
                        flow.proof_answered(ticket, result);
                    }
                }
                return Vec::new();
            }
            Event::Today(date) => {
                self.terminal.today = date;
                return Vec::new();
            }
            Event::Tick => return self.tick(now),
            Event::CardIdentified(holder) => return self.card_identified(holder, now),
            Event::CardUnreadable(problem) => {
                self.terminal.card_present = true;
                self.resident.card_notice = Some(problem);
                self.last_activity = now;
                return Vec::new();
            }
            Event::CardRemoved => return self.card_removed(now),
            Event::SecurePinEntry(available) => {
                self.terminal.secure_pin_entry = available;
                return Vec::new();
            }
            Event::IdCardRead(summary) => {
                self.resident.id_card = Some(summary);
                self.terminal.farewell = None;
                self.last_activity = now;
                match self.resident.page {
                    Page::Flow => return self.with_flow(|flow, ctx| flow.id_card_read(ctx)),
                    Page::Attract => self.go(Page::Home),
                    _ => {}
                }
                return Vec::new();
            }
            Event::IdCardTaken => {
                // The ID card identified whom it had to when it was read; taking it away
                // changes nothing already looked up.
                self.resident.id_card = None;
                return Vec::new();
            }
            Event::Answered { ticket, result } => {
                if ticket.session == self.number {
                    self.with_flow(|flow, ctx| {
                        flow.answered(ticket, result, ctx);
                        Vec::new()
                    });
                }
                return Vec::new();
            }
            Event::CardServiceAnswered { ticket, result } => {
                if ticket.session == self.number {
                    self.with_flow(|flow, ctx| {
                        flow.card_service_answered(ticket, result, ctx);
                        Vec::new()
                    });
                }
                return Vec::new();
            }
            Event::CertificationAnswered { ticket, result } => {
                if ticket.session == self.number {
                    self.with_flow(|flow, _| {
                        flow.certification_answered(ticket, result);
                        Vec::new()
                    });
                }
                return Vec::new();
            }
            Event::ProxiesAnswered { ticket, result } => {
                if ticket.session == self.number {
                    self.with_flow(|flow, _| {
                        flow.proxies_answered(ticket, result);
                        Vec::new()
                    });
                }
                return Vec::new();
            }
            Event::Captured { ticket, result } => {
                if ticket.session != self.number {
                    return Vec::new();
                }
                // The pensioner is doing the actions: that is activity, though nothing is tapped.
                self.last_activity = now;
                return self.with_flow(|flow, ctx| flow.captured(ticket, result, ctx));
            }
            Event::PinAnswered { ticket, result } => {
                if ticket.session == self.number {
                    return self.with_flow(|flow, ctx| flow.pin_answered(ticket, result, ctx));
                }
                return Vec::new();
            }
            Event::Printed { ticket, result } => {
                if ticket.session == self.number {
                    if let Some(flow) = &mut self.resident.flow {
                        flow.printed(ticket, result);
                    }
                }
                return Vec::new();
            }
            _ => {}
        }
        // While the idle warning is up it is modal: only "continue" does anything, so a
        // stray touch cannot start something the resident did not see.
        if self.resident.idle_warning_seconds.is_some() {
            if event == Event::ContinueTapped {
                self.resident.idle_warning_seconds = None;
                self.last_activity = now;
            }
            return Vec::new();
        }
        self.last_activity = now;
        self.resident.card_notice = None;
        self.terminal.farewell = None;
        match event {
            Event::Start => {
                if self.resident.page == Page::Attract {
                    self.go(Page::Home);
                }
                Vec::new()
            }
            Event::ServiceTapped(service) => self.start_flow(service),
            Event::Flow(input) => {
                if self.resident.page != Page::Flow {
                    return Vec::new();
                }
                self.with_flow(|flow, ctx| flow.input(input, ctx))
            }
            Event::AllServicesTapped => {
                if self.resident.page == Page::Home {
                    self.resident.all_services = true;
                }
                Vec::new()
            }
            Event::HelpTapped => {
                if self.resident.page != Page::Help {
                    self.go(Page::Help);
                }
                Vec::new()
            }
            Event::BackTapped => self.back(),
            Event::HomeTapped => {
                self.resident.history.clear();
                self.resident.all_services = false;
                self.resident.page = Page::Home;
                self.end_flow()
            }
            Event::LanguageSelected(language) => {
                if self.settings.offered_languages.contains(&language) {
                    self.resident.language = language;
                }
                Vec::new()
            }
            Event::ElderlyModeToggled => {
                self.resident.elderly = !self.resident.elderly;
                self.resident.all_services = false;
                Vec::new()
            }
            Event::SpeakTapped => {
                self.resident.voice_requested = true;
                vec![Command::SpeakAgain]
            }
            Event::ContinueTapped
            | Event::Tick
            | Event::Technician(_)
            | Event::DeviceChanged(..)
            | Event::A4PrinterChanged(_)
            | Event::ProofAnswered { .. }
            | Event::Today(_)
            | Event::CardIdentified(_)
            | Event::CardUnreadable(_)
            | Event::CardRemoved
            | Event::IdCardRead(_)
            | Event::IdCardTaken
            | Event::SecurePinEntry(_)
            | Event::PinAnswered { .. }
            | Event::CardServiceAnswered { .. }
            | Event::CertificationAnswered { .. }
            | Event::ProxiesAnswered { .. }
            | Event::Captured { .. }
            | Event::Answered { .. }
            | Event::Printed { .. } => Vec::new(),
        }
    }

    fn device_changed(&mut self, kind: DeviceKind, health: DeviceHealth) -> Vec<Command> {
        let slot = match kind {
            DeviceKind::CardReader => &mut self.terminal.card_reader,
            DeviceKind::Printer => &mut self.terminal.printer,
            DeviceKind::Network => &mut self.terminal.network,
            DeviceKind::IdCardReader => &mut self.terminal.id_card_reader,
            DeviceKind::Camera => &mut self.terminal.camera,
            DeviceKind::A4Printer => &mut self.terminal.a4_printer.health,
            DeviceKind::Voice => &mut self.terminal.voice,
        };
        let changed = *slot != health;
        *slot = health;
        if kind == DeviceKind::A4Printer && health == DeviceHealth::Online {
            self.terminal.a4_printer.problem = None;
        }
        if matches!(kind, DeviceKind::A4Printer | DeviceKind::Printer) {
            self.printers_changed();
        }
        if changed
            && matches!(
                kind,
                DeviceKind::CardReader
                    | DeviceKind::Printer
                    | DeviceKind::Camera
                    | DeviceKind::A4Printer
            )
        {
            vec![self.report_devices()]
        } else {
            Vec::new()
        }
    }

    fn report_devices(&self) -> Command {
        Command::ReportDevices(ReportedDevices {
            card_reader: self.terminal.card_reader,
            printer: self.terminal.printer,
            camera: self.terminal.camera,
            a4_printer: self.terminal.a4_printer.health,
        })
    }

    fn printers_changed(&mut self) {
        if let Some(flow) = &mut self.resident.flow {
            flow.printers_changed(self.terminal.a4_printer, self.terminal.printer);
        }
    }

    /// Runs `act` on the active flow with what a flow may know of the session.
    fn with_flow(
        &mut self,
        act: impl FnOnce(&mut Flow, &mut FlowContext) -> Vec<Command>,
    ) -> Vec<Command> {
        let Resident {
            flow,
            tickets,
            elderly,
            holder,
            pin_verified,
            id_card,
            ..
        } = &mut self.resident;
        let Some(flow) = flow else {
            return Vec::new();
        };
        let mut ctx = FlowContext {
            identified: holder.is_some(),
            today: self.terminal.today,
            elderly: *elderly,
            tickets,
            pin_verified,
            seeds: &mut self.terminal.seeds,
            id_card_reader: !self.terminal.id_card_reader.is_down(),
            id_card: id_card.is_some(),
            secure_pin_entry: self.terminal.secure_pin_entry,
            a4_printer: self.terminal.a4_printer,
            receipt_printer: self.terminal.printer,
        };
        act(flow, &mut ctx)
    }

    /// A tile starts its service's flow, unless something it needs is down (the tile says
    /// so; this is the guard behind it).
    fn start_flow(&mut self, service: ServiceId) -> Vec<Command> {
        let devices = Devices {
            card_reader: self.terminal.card_reader,
            printer: self.terminal.printer,
            network: self.terminal.network,
            camera: self.terminal.camera,
            a4: self.terminal.a4_printer,
        };
        if blocker(service, devices).is_some() {
            return Vec::new();
        }
        let mut commands = self.end_flow();
        self.flows_started = self.flows_started.saturating_add(1);
        self.resident.tickets = TicketBook::new(self.number, self.flows_started);
        let mut ctx = FlowContext {
            identified: self.resident.holder.is_some(),
            today: self.terminal.today,
            elderly: self.resident.elderly,
            tickets: &mut self.resident.tickets,
            pin_verified: &mut self.resident.pin_verified,
            seeds: &mut self.terminal.seeds,
            id_card_reader: !self.terminal.id_card_reader.is_down(),
            id_card: self.resident.id_card.is_some(),
            secure_pin_entry: self.terminal.secure_pin_entry,
            a4_printer: self.terminal.a4_printer,
            receipt_printer: self.terminal.printer,
        };
        let (flow, started) = Flow::start(service, &mut ctx);
        self.resident.flow = Some(flow);
        // One flow at a time: an earlier flow's page leaves the history with it.
        self.resident.history.retain(|page| *page != Page::Flow);
        if self.resident.page != Page::Flow {
            self.go(Page::Flow);
        }
        commands.extend(started);
        commands
    }

    /// The active flow ends; whatever it still waits for is abandoned.
    fn end_flow(&mut self) -> Vec<Command> {
        match self.resident.flow.take() {
            Some(_) => vec![Command::Cancel(FlowId {
                session: self.number,
                flow: self.flows_started,
            })],
            None => Vec::new(),
        }
    }

    fn back(&mut self) -> Vec<Command> {
        if self.resident.page == Page::Flow {
            let mut consumed = false;
            self.with_flow(|flow, ctx| {
                consumed = flow.back(ctx);
                Vec::new()
            });
            if consumed {
                return Vec::new();
            }
        }
        if self.resident.page == Page::Home && self.resident.all_services {
            self.resident.all_services = false;
            return Vec::new();
        }
        self.resident.page = self.resident.history.pop().unwrap_or(Page::Attract);
        let flow_still_reachable =
            self.resident.page == Page::Flow || self.resident.history.contains(&Page::Flow);
        if flow_still_reachable {
            Vec::new()
        } else {
            self.end_flow()
        }
    }

    /// A card read on attract or home identifies the resident and opens the home page;
    /// inside a service the flow decides what the card means, so the page stays.
    fn card_identified(&mut self, holder: HolderSummary, now: Millis) -> Vec<Command> {
        self.terminal.card_present = true;
        self.resident.card_notice = None;
        if self.terminal.take_card_reminder {
            // A card left from the last session is not a new resident.
            return Vec::new();
        }
        self.resident.holder = Some(holder);
        self.resident.idle_warning_seconds = None;
        self.terminal.farewell = None;
        self.last_activity = now;
        if self.resident.page == Page::Attract {
            self.go(Page::Home);
        }
        if self.resident.page == Page::Flow {
            return self.with_flow(|flow, ctx| flow.card_identified(ctx));
        }
        Vec::new()
    }

    /// Taking the card out ends the resident's session: nothing of theirs stays on screen.
    fn card_removed(&mut self, now: Millis) -> Vec<Command> {
        let was_identified = self.resident.holder.is_some();
        self.terminal.card_present = false;
        self.terminal.take_card_reminder = false;
        self.resident.card_notice = None;
        if was_identified {
            self.end_session(now);
            return vec![Command::WipeSessionData];
        }
        Vec::new()
    }

    fn go(&mut self, page: Page) {
        self.resident.history.push(self.resident.page);
        self.resident.page = page;
    }

    /// The hidden corner is live on the attract page with nobody using the kiosk, and on
    /// the out-of-service screen.
    fn corner_open(&self) -> bool {
        match self.technician.view((Language::ZhCn, false)) {
            Some(view) => view == TechnicianView::OutOfService,
            None => !self.is_in_use() && !self.terminal.take_card_reminder,
        }
    }

    fn technician_input(&mut self, input: TechnicianInput, now: Millis) -> Vec<Command> {
        let offered = &self.settings.offered_languages;
        let language = self.settings.default_language;
        let position = offered.iter().position(|l| *l == language).unwrap_or(0);
        let defaults = Defaults {
            language,
            next_language: offered
                .get((position + 1) % offered.len().max(1))
                .copied()
                .unwrap_or(language),
            elderly: self.settings.elderly_by_default,
        };
        let outcome = self
            .technician
            .input(input, now, self.corner_open(), defaults);
        self.technician_outcome(outcome, now)
    }

    fn technician_tick(&mut self, now: Millis) -> Vec<Command> {
        let outcome = self.technician.tick(now, self.corner_open());
        self.technician_outcome(outcome, now)
    }

    /// Entering or leaving maintenance ends whatever session there was: nothing of a resident
    /// is on the technician's pages, and nothing of maintenance is left for the next resident.
    fn technician_outcome(&mut self, outcome: technician::Outcome, now: Millis) -> Vec<Command> {
        let mut commands = Vec::new();
        if outcome.entered || outcome.left {
            self.end_session(now);
            commands.push(Command::WipeSessionData);
        }
        for command in outcome.commands {
            if let TechnicianCommand::SaveDefaults {
                language, elderly, ..
            } = &command
            {
                self.settings.default_language = *language;
                self.settings.elderly_by_default = *elderly;
            }
            commands.push(Command::Technician(command));
        }
        commands
    }

    fn tick(&mut self, now: Millis) -> Vec<Command> {
        if self.corner_open() {
            let opened = self.technician_tick(now);
            if !opened.is_empty() {
                return opened;
            }
        }
        if self
            .terminal
            .farewell
            .is_some_and(|(_, since)| now.saturating_sub(since) >= FAREWELL_FOR)
        {
            self.terminal.farewell = None;
        }
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
            if self.terminal.take_card_reminder {
                commands.push(Command::RemindToTakeCard);
            }
            return commands;
        }
        if idle >= self.settings.idle_timeout {
            let left_ms = end.saturating_sub(idle).0;
            self.resident.idle_warning_seconds = Some(left_ms.div_ceil(1000) as u32);
        }
        Vec::new()
    }

    /// Back to attract with nothing of the resident left: defaults restored, history and
    /// flow gone, and a new session number, so nothing sent for this one is taken back.
    fn end_session(&mut self, now: Millis) {
        let farewell = match &self.resident.flow {
            Some(flow) if flow.mutation_in_flight() => Some(Farewell::BeingConfirmed),
            Some(flow) if flow.in_progress() => Some(Farewell::Interrupted),
            _ => None,
        };
        self.terminal.farewell = farewell.map(|farewell| (farewell, now));
        self.number = self.number.wrapping_add(1);
        self.resident = Resident::fresh(&self.settings, self.number);
        self.terminal.take_card_reminder = self.terminal.card_present;
        self.last_activity = now;
    }
}

impl Resident {
    fn fresh(settings: &SessionSettings, session: u32) -> Resident {
        Resident {
            page: Page::Attract,
            history: Vec::new(),
            flow: None,
            tickets: TicketBook::new(session, 0),
            language: settings.default_language,
            elderly: settings.elderly_by_default,
            all_services: false,
            idle_warning_seconds: None,
            holder: None,
            card_notice: None,
            pin_verified: false,
            id_card: None,
            voice_requested: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::card::CardServiceInput;
    use crate::flows::finder::FinderInput;
    use crate::flows::pin::PinInput;
    use crate::flows::query::{QueryInput, QueryStepView, YearChoice};
    use crate::flows::PrintState;
    use crate::identity::{CardGeneration, Gender};
    use crate::records::{ContributionMonth, Records, YearMonth};
    use proptest::prelude::*;

    fn settings() -> SessionSettings {
        SessionSettings {
            default_language: Language::ZhCn,
            offered_languages: Language::ALL.to_vec(),
            elderly_by_default: false,
            idle_timeout: Millis::from_secs(60),
            idle_warning: Millis::from_secs(30),
            keypad_seed: 42,
            voice_always: false,
        }
    }

    fn at(seconds: u64) -> Millis {
        Millis::from_secs(seconds)
    }

    const TODAY: Date = Date {
        year: 2027,
        month: 2,
        day: 10,
    };

    fn session() -> Session {
        let mut session = Session::new(settings(), at(0));
        session.handle(Event::Today(TODAY), at(0));
        session
    }

    /// The pad the active flow shows, if any.
    fn pad_of(session: &Session) -> Option<crate::flows::pin::PinEntryView> {
        match session.view().flow {
            Some(FlowView::Query(crate::flows::query::QueryView {
                step: QueryStepView::EnterPin(entry),
                ..
            })) => Some(entry),
            Some(FlowView::Card(crate::flows::card::CardServiceView {
                step: crate::flows::card::CardStep::EnterPin(entry),
                ..
            })) => Some(entry),
            _ => None,
        }
    }

    /// Types `digits` on the pad shown and confirms; the commands of the confirm.
    fn type_pin(session: &mut Session, digits: &str, now: Millis) -> Vec<Command> {
        let Some(entry) = pad_of(session) else {
            return Vec::new();
        };
        let labels = entry.pad.layout.labels();
        for digit in digits.bytes() {
            let position = labels
                .iter()
                .position(|label| *label == digit - b'0')
                .expect("every digit is on the pad");
            session.handle(
                Event::Flow(FlowInput::Card(CardServiceInput::Pin(PinInput::Key(
                    position,
                )))),
                now,
            );
        }
        session.handle(
            Event::Flow(FlowInput::Card(CardServiceInput::Pin(PinInput::Confirm))),
            now,
        )
    }

    /// The holder types the PIN and the card accepts it; the commands that follow.
    fn prove_pin(session: &mut Session, now: Millis) -> Vec<Command> {
        let commands = type_pin(session, "123456", now);
        let Some(ticket) = commands.iter().find_map(|command| match command {
            Command::VerifyPin { ticket, .. } => Some(*ticket),
            _ => None,
        }) else {
            return Vec::new();
        };
        session.handle(
            Event::PinAnswered {
                ticket,
                result: Ok(()),
            },
            now,
        )
    }

    /// The card is read and its PIN proven: what a query asks next.
    fn identify(session: &mut Session, name: &str, now: Millis) -> Vec<Command> {
        let mut commands = session.handle(Event::CardIdentified(holder(name)), now);
        commands.extend(prove_pin(session, now));
        commands
    }

    fn holder(name: &str) -> HolderSummary {
        HolderSummary {
            masked_name: name.into(),
            masked_id: "500103********1234".into(),
            generation: CardGeneration::Third,
            gender: Gender::Female,
            region_code: "500100".into(),
            expiry_date: None,
        }
    }

    /// Contributions whose amounts carry `marker`, so a test can tell whose they are.
    fn contributions(marker: u64) -> Answer {
        let months = (1..=12)
            .map(|month| ContributionMonth {
                month: YearMonth { year: 2026, month },
                base_fen: 500_000,
                personal_fen: 40_000 + marker,
                employer_fen: 80_000,
            })
            .collect();
        Answer {
            records: Records::Contributions(months),
            reference: format!("ref-{marker}"),
        }
    }

    fn query_view(session: &Session) -> crate::flows::query::QueryView {
        match session.view().flow {
            Some(FlowView::Query(view)) => view,
            other => panic!("not on a query page: {other:?}"),
        }
    }

    fn fetched(commands: &[Command]) -> Option<Ticket> {
        commands.iter().find_map(|command| match command {
            Command::Fetch { ticket, .. } => Some(*ticket),
            _ => None,
        })
    }

    #[test]
    fn tile_page_back_home_navigation() {
        let mut session = session();
        session.handle(Event::Start, at(1));
        assert_eq!(session.view().page, Page::Home);
        session.handle(Event::ServiceTapped(ServiceId::ProofPrint), at(2));
        assert!(matches!(session.view().flow, Some(FlowView::Proof(_))));
        session.handle(Event::HelpTapped, at(3));
        assert_eq!(session.view().page, Page::Help);
        session.handle(Event::BackTapped, at(4));
        assert!(matches!(session.view().flow, Some(FlowView::Proof(_))));
        session.handle(Event::HomeTapped, at(5));
        assert_eq!(session.view().page, Page::Home);
        session.handle(Event::BackTapped, at(6));
        assert_eq!(session.view().page, Page::Attract);
    }

    #[test]
    fn the_finder_keeps_what_was_typed_and_back_returns_from_a_point_to_the_results() {
        let mut session = session();
        session.handle(Event::Start, at(0));
        session.handle(Event::ServiceTapped(ServiceId::ServicePointFinder), at(1));
        for key in ['J', 'f', '-', 'b'] {
            session.handle(
                Event::Flow(FlowInput::Finder(FinderInput::Key(key))),
                at(50),
            );
        }
        session.handle(
            Event::Flow(FlowInput::Finder(FinderInput::FilterToggled(3))),
            at(51),
        );
        session.handle(
            Event::Flow(FlowInput::Finder(FinderInput::FilterToggled(4))),
            at(52),
        );
        session.handle(Event::Tick, at(100));
        assert_eq!(
            session.view().idle_warning_seconds,
            None,
            "typing keeps the session alive"
        );
        let Some(FlowView::Finder(finder)) = session.view().flow else {
            panic!("not the finder")
        };
        assert_eq!(finder.text, "jfb", "letters only, lower case");
        let selected: Vec<bool> = finder.filters.iter().map(|(_, on)| *on).collect();
        assert_eq!(
            selected,
            [false, false, false, false, true, false],
            "one service chip at a time"
        );
        session.handle(
            Event::Flow(FlowInput::Finder(FinderInput::PointTapped(7))),
            at(101),
        );
        let commands = session.handle(Event::Flow(FlowInput::Finder(FinderInput::Print)), at(101));
        let [Command::Print {
            ticket,
            document: Document::ServicePointSlip(7),
        }] = commands.as_slice()
        else {
            panic!("no slip printed: {commands:?}")
        };
        assert!(
            session
                .handle(Event::Flow(FlowInput::Finder(FinderInput::Print)), at(101))
                .is_empty(),
            "not twice while printing"
        );
        session.handle(
            Event::Printed {
                ticket: *ticket,
                result: Err(PrintProblem::PaperOut),
            },
            at(102),
        );
        let Some(FlowView::Finder(finder)) = session.view().flow else {
            panic!("not the finder")
        };
        assert_eq!(
            finder.print,
            Some(PrintState::Failed(PrintProblem::PaperOut))
        );
        session.handle(Event::BackTapped, at(102));
        let Some(FlowView::Finder(finder)) = session.view().flow else {
            panic!("back left the finder")
        };
        assert_eq!((finder.point, finder.text.as_str()), (None, "jfb"));
        session.handle(Event::BackTapped, at(103));
        assert_eq!(session.view().page, Page::Home);
        assert_eq!(
            session.resident.flow, None,
            "leaving the finder forgets what was typed"
        );
    }

    #[test]
    fn idle_warns_with_a_countdown_then_returns_to_attract_wiped() {
        let mut session = session();
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
        assert_eq!(
            view.today, TODAY,
            "the date is the terminal's, not the resident's"
        );
    }

    #[test]
    fn continue_gives_the_full_timeout_again() {
        let mut session = session();
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
    fn device_health_survives_the_session_and_is_reported_for_heartbeats() {
        let mut session = session();
        let commands = session.handle(
            Event::DeviceChanged(DeviceKind::Printer, DeviceHealth::Offline),
            at(0),
        );
        assert_eq!(
            commands,
            vec![Command::ReportDevices(ReportedDevices {
                card_reader: DeviceHealth::Unknown,
                printer: DeviceHealth::Offline,
                camera: DeviceHealth::Unknown,
                a4_printer: DeviceHealth::Unknown,
            })]
        );
        assert!(
            session
                .handle(
                    Event::DeviceChanged(DeviceKind::Printer, DeviceHealth::Offline),
                    at(0)
                )
                .is_empty(),
            "no report without a change"
        );
        session.handle(Event::Start, at(0));
        session.handle(Event::Tick, at(1000));
        assert_eq!(session.view().page, Page::Attract);
        assert_eq!(session.view().printer, DeviceHealth::Offline);
    }

    fn prompt_keys(session: &Session) -> Vec<String> {
        crate::voice::prompt(&session.view())
            .map(|prompt| prompt.phrases.into_iter().map(|p| p.key).collect())
            .unwrap_or_default()
    }

    #[test]
    fn voice_guidance_is_on_in_elderly_mode_and_after_the_speaker_button_until_the_session_ends() {
        let mut session = session();
        assert!(!session.view().voice);
        assert_eq!(prompt_keys(&session), ["voice-attract"]);
        session.handle(Event::Start, at(1));
        assert_eq!(prompt_keys(&session), ["voice-home"]);
        session.handle(Event::ElderlyModeToggled, at(2));
        assert!(session.view().voice);
        session.handle(Event::ElderlyModeToggled, at(3));
        assert!(!session.view().voice);
        assert_eq!(
            session.handle(Event::SpeakTapped, at(4)),
            vec![Command::SpeakAgain]
        );
        assert!(session.view().voice);
        session.handle(Event::Tick, at(200));
        assert_eq!(session.view().page, Page::Attract);
        assert!(
            !session.view().voice,
            "the next resident starts with the default"
        );
        let mut always = settings();
        always.voice_always = true;
        assert!(Session::new(always, at(0)).view().voice);
    }

    #[test]
    fn the_pin_pad_says_how_many_digits_never_which() {
        let mut session = session();
        session.handle(Event::CardIdentified(holder("张*芳")), at(0));
        session.handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(1));
        assert_eq!(prompt_keys(&session), ["voice-pin-service"]);
        let labels = pad_of(&session).expect("a pad").pad.layout.labels();
        for (typed, digit) in [3u8, 7, 3].into_iter().enumerate() {
            let position = labels.iter().position(|l| *l == digit).expect("on the pad");
            session.handle(
                Event::Flow(FlowInput::Card(CardServiceInput::Pin(PinInput::Key(
                    position,
                )))),
                at(2),
            );
            let prompt = crate::voice::prompt(&session.view()).expect("a prompt");
            assert_eq!(
                prompt.phrases,
                vec![crate::voice::Phrase {
                    key: "voice-pin-entered".into(),
                    arg: Some(crate::voice::Said::Number(typed as u64 + 1)),
                }]
            );
        }
    }

    #[test]
    fn a_forgotten_card_is_said_before_anything_else_and_the_idle_warning_counts_down_once() {
        let mut session = session();
        session.handle(Event::CardIdentified(holder("张*芳")), at(0));
        session.handle(Event::Tick, at(61));
        assert!(session.view().idle_warning_seconds.is_some());
        assert_eq!(prompt_keys(&session), ["voice-idle-warning"]);
        session.handle(Event::Tick, at(81));
        let ten = crate::voice::prompt(&session.view());
        session.handle(Event::Tick, at(85));
        assert_eq!(
            crate::voice::prompt(&session.view()),
            ten,
            "said once, not every second"
        );
        assert_eq!(prompt_keys(&session), ["voice-idle-seconds-left"]);
        session.handle(Event::Tick, at(95));
        let reminder = crate::voice::prompt(&session.view()).expect("the reminder");
        assert_eq!(reminder.kind, crate::voice::PromptKind::TakeCard);
        assert_eq!(prompt_keys(&session), ["voice-take-card"]);
        session.handle(Event::CardRemoved, at(96));
        assert_eq!(prompt_keys(&session), ["voice-attract"]);
    }

    #[test]
    fn a_language_not_offered_is_ignored() {
        let mut only_chinese = settings();
        only_chinese.offered_languages = vec![Language::ZhCn];
        let mut session = Session::new(only_chinese, at(0));
        session.handle(Event::LanguageSelected(Language::EnUs), at(1));
        assert_eq!(session.view().language, Language::ZhCn);
    }

    #[test]
    fn a_card_on_attract_identifies_the_holder_and_taking_it_out_ends_the_session() {
        let mut session = session();
        session.handle(Event::CardIdentified(holder("张*芳")), at(1));
        assert_eq!(session.view().page, Page::Home);
        assert_eq!(session.view().holder, Some(holder("张*芳")));
        session.handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(2));
        let commands = session.handle(Event::CardRemoved, at(3));
        assert_eq!(commands, vec![Command::WipeSessionData]);
        assert_eq!(session.view().page, Page::Attract);
        assert_eq!(session.view().holder, None);
        assert!(!session.view().take_card_reminder);
    }

    #[test]
    fn a_card_left_behind_brings_a_reminder_until_it_is_taken() {
        let mut session = session();
        session.handle(Event::CardIdentified(holder("张*芳")), at(0));
        let commands = session.handle(Event::Tick, at(90));
        assert_eq!(
            commands,
            vec![Command::WipeSessionData, Command::RemindToTakeCard]
        );
        let view = session.view();
        assert_eq!((view.page, view.holder.clone()), (Page::Attract, None));
        assert!(view.take_card_reminder && view.card_present);
        // The same card read again is not a new resident while the reminder is up.
        session.handle(Event::CardIdentified(holder("张*芳")), at(91));
        assert_eq!(session.view().holder, None);
        session.handle(Event::CardRemoved, at(95));
        assert!(!session.view().take_card_reminder);
        assert!(!session.is_in_use());
    }

    #[test]
    fn an_unreadable_card_says_why_until_the_next_tap() {
        let mut session = session();
        session.handle(
            Event::CardUnreadable(CardProblem::NeedsAuthenticationModule),
            at(0),
        );
        assert_eq!(
            session.view().card_notice,
            Some(CardProblem::NeedsAuthenticationModule)
        );
        session.handle(Event::Start, at(1));
        assert_eq!(session.view().card_notice, None);
    }

    #[test]
    fn a_query_waits_for_the_card_then_runs_pages_by_year_and_prints_once() {
        let mut session = session();
        session.handle(Event::Start, at(0));
        let commands = session.handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(1));
        assert!(fetched(&commands).is_none());
        assert_eq!(query_view(&session).step, QueryStepView::NeedsCard);
        let commands = identify(&mut session, "张*芳", at(2));
        let Some(ticket) = fetched(&commands) else {
            panic!("no request: {commands:?}")
        };
        assert!(
            commands.contains(&Command::Fetch {
                ticket,
                request: Request::Records(QueryKind::Contributions { through_year: 2027 })
            }),
            "this year comes from today's date"
        );
        assert_eq!(query_view(&session).step, QueryStepView::Loading);
        // An answer with another ticket is not this page's.
        let stray = Ticket {
            step: ticket.step + 1,
            ..ticket
        };
        session.handle(
            Event::Answered {
                ticket: stray,
                result: Ok(contributions(1)),
            },
            at(3),
        );
        assert_eq!(query_view(&session).step, QueryStepView::Loading);
        session.handle(
            Event::Answered {
                ticket,
                result: Ok(contributions(7)),
            },
            at(3),
        );
        let view = query_view(&session);
        assert_eq!(view.step, QueryStepView::Answered);
        assert_eq!(
            view.year,
            Some(YearChoice {
                year: 2027,
                has_older: true,
                has_newer: false
            })
        );
        assert_eq!(
            (view.page, view.pages, view.rows.len()),
            (1, 1, 2),
            "January and February"
        );
        session.handle(Event::Flow(FlowInput::Query(QueryInput::OlderYear)), at(4));
        let view = query_view(&session);
        assert_eq!(view.year.map(|y| y.year), Some(2026));
        assert_eq!((view.page, view.pages, view.rows.len()), (1, 2, 8));
        session.handle(Event::Flow(FlowInput::Query(QueryInput::NextPage)), at(4));
        session.handle(Event::Flow(FlowInput::Query(QueryInput::NextPage)), at(4));
        let view = query_view(&session);
        assert_eq!(
            (view.page, view.rows.len()),
            (2, 4),
            "no page after the last"
        );
        assert_eq!(view.rows[0][0].text, "2026-04");
        session.handle(Event::ElderlyModeToggled, at(5));
        let view = query_view(&session);
        assert_eq!((view.page, view.pages), (2, 4), "elderly pages are shorter");
        let commands = session.handle(Event::Flow(FlowInput::Query(QueryInput::Print)), at(6));
        let [Command::Print {
            ticket: print_ticket,
            document:
                Document::Records {
                    year,
                    layout,
                    reference,
                    ..
                },
        }] = commands.as_slice()
        else {
            panic!("not printed: {commands:?}")
        };
        assert_eq!(
            (*year, layout.rows.len(), reference.as_str()),
            (Some(2026), 12, "ref-7"),
            "the whole year, with the journal reference"
        );
        assert!(
            session
                .handle(Event::Flow(FlowInput::Query(QueryInput::Print)), at(7))
                .is_empty(),
            "a second tap does not print twice"
        );
        session.handle(
            Event::Printed {
                ticket: *print_ticket,
                result: Ok(()),
            },
            at(8),
        );
        assert_eq!(query_view(&session).print, Some(PrintState::Printed));
    }

    #[test]
    fn a_failed_query_offers_to_try_again_under_a_new_ticket() {
        let mut session = session();
        session.handle(Event::CardIdentified(holder("张*芳")), at(0));
        session.handle(Event::ServiceTapped(ServiceId::MedicalAccountQuery), at(1));
        let first = fetched(&prove_pin(&mut session, at(1)));
        let Some(first) = first else {
            panic!("no request")
        };
        session.handle(
            Event::Answered {
                ticket: first,
                result: Err(BackendProblem::OutcomeUnknown),
            },
            at(2),
        );
        let QueryStepView::Failed { offers, .. } = query_view(&session).step else {
            panic!("not failed")
        };
        assert_eq!(
            offers,
            &[crate::NextStep::TryAgain, crate::NextStep::FindCounter]
        );
        let again =
            fetched(&session.handle(Event::Flow(FlowInput::Query(QueryInput::TryAgain)), at(3)));
        assert!(
            again.is_some_and(|ticket| ticket != first),
            "a new attempt is a new step"
        );
    }

    #[test]
    fn a_service_whose_device_is_down_cannot_start_and_says_why() {
        let mut session = session();
        session.handle(
            Event::DeviceChanged(DeviceKind::Network, DeviceHealth::Offline),
            at(0),
        );
        session.handle(Event::Start, at(0));
        let view = session.view();
        assert_eq!(
            view.blocker(ServiceId::ContributionQuery),
            Some(Blocker::BackEnd)
        );
        assert_eq!(
            view.blocker(ServiceId::ServicePointFinder),
            None,
            "the finder works offline"
        );
        assert!(view.back_end_down());
        assert_eq!(
            view.offline_services(),
            vec![ServiceId::PinChange, ServiceId::ServicePointFinder],
            "the PIN lives on the card, the finder's catalogue on the terminal"
        );
        assert!(session
            .handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(1))
            .is_empty());
        assert_eq!(session.view().page, Page::Home);
        session.handle(
            Event::DeviceChanged(DeviceKind::CardReader, DeviceHealth::NoDevice),
            at(2),
        );
        assert_eq!(
            session.view().blocker(ServiceId::CardStatus),
            Some(Blocker::CardReader)
        );
    }

    /// The card pulled at every step of an activation: the session ends and is wiped, and
    /// the attract page tells the next person what became of it — nothing done before the
    /// change was sent, being confirmed once it was, nothing to say once it was done.
    #[test]
    fn the_card_pulled_at_each_step_of_an_activation_ends_it_safely() {
        use crate::flows::card::{CardReply, CardServiceView, CardStep, Confirmation, PersonFound};
        use crate::records::CardState;
        let steps = [
            "looking-up",
            "issuing",
            "checking",
            "new",
            "repeat",
            "changing",
            "sending",
            "unknown",
            "done",
        ];
        for (stop, name) in steps.iter().enumerate() {
            let mut session = session();
            session.handle(Event::CardIdentified(holder("欧**娜")), at(0));
            let mut last = session.handle(Event::ServiceTapped(ServiceId::CardActivation), at(1));
            let ticket_of = |commands: &[Command]| {
                commands.iter().find_map(|command| match command {
                    Command::Fetch { ticket, .. }
                    | Command::VerifyPin { ticket, .. }
                    | Command::ChangePin { ticket, .. } => Some(*ticket),
                    _ => None,
                })
            };
            type Step<'a> = dyn Fn(&mut Session, &[Command]) -> Vec<Command> + 'a;
            let script: [&Step; 8] = [
                &|s, c| {
                    let result = Ok(CardReply::Found(PersonFound {
                        masked_name: "欧**娜".into(),
                        masked_card_number: "******680".into(),
                        state: CardState::NotActivated,
                    }));
                    let ticket = ticket_of(c).expect("look-up");
                    s.handle(Event::CardServiceAnswered { ticket, result }, at(2))
                },
                &|s, _| type_pin(s, "123456", at(2)),
                &|s, c| {
                    let ticket = ticket_of(c).expect("verify");
                    s.handle(
                        Event::PinAnswered {
                            ticket,
                            result: Ok(()),
                        },
                        at(2),
                    )
                },
                &|s, _| type_pin(s, "135790", at(2)),
                &|s, _| type_pin(s, "135790", at(2)),
                &|s, c| {
                    let ticket = ticket_of(c).expect("change");
                    s.handle(
                        Event::PinAnswered {
                            ticket,
                            result: Ok(()),
                        },
                        at(2),
                    )
                },
                &|s, c| {
                    let ticket = ticket_of(c).expect("activate");
                    let result = Err(BackendProblem::OutcomeUnknown);
                    let mut commands =
                        s.handle(Event::CardServiceAnswered { ticket, result }, at(2));
                    // Tried again: the same ticket, so the journal resolves, never resends.
                    commands.extend(s.handle(
                        Event::Flow(FlowInput::Card(CardServiceInput::TryAgain)),
                        at(2),
                    ));
                    assert_eq!(ticket_of(&commands), Some(ticket));
                    commands
                },
                &|s, c| {
                    let ticket = ticket_of(c).expect("activate again");
                    let result = Ok(CardReply::Done(Confirmation {
                        state: CardState::Active,
                        masked_card_number: "******680".into(),
                        reference: "R".into(),
                        verification_code: None,
                        verify_url: None,
                    }));
                    s.handle(Event::CardServiceAnswered { ticket, result }, at(2))
                },
            ];
            for act in script.iter().take(stop) {
                last = act(&mut session, &last);
            }
            if *name == "done" {
                assert!(matches!(
                    session.view().flow,
                    Some(FlowView::Card(CardServiceView {
                        step: CardStep::Done(_),
                        ..
                    }))
                ));
            }
            let commands = session.handle(Event::CardRemoved, at(3));
            assert_eq!(commands, vec![Command::WipeSessionData], "{name}");
            let view = session.view();
            assert_eq!(view.page, Page::Attract, "{name}");
            let expected = match *name {
                "sending" | "unknown" => Some(Farewell::BeingConfirmed),
                "done" => None,
                _ => Some(Farewell::Interrupted),
            };
            assert_eq!(view.farewell, expected, "{name}");
            session.handle(Event::Tick, at(30));
            assert_eq!(session.view().farewell, None, "{name}: the farewell goes");
        }
    }

    /// The scenario of the leak: resident A asks, takes the card out before the slow answer
    /// arrives; the next person taps the same service without a card.
    #[test]
    fn a_late_answer_for_the_last_resident_is_never_shown_to_the_next() {
        let mut session = session();
        session.handle(Event::CardIdentified(holder("甲*")), at(0));
        session.handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(1));
        let commands = prove_pin(&mut session, at(1));
        let Some(ticket) = fetched(&commands) else {
            panic!("no request")
        };
        assert_eq!(
            session.handle(Event::CardRemoved, at(2)),
            vec![Command::WipeSessionData]
        );
        session.handle(Event::Start, at(3));
        session.handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(4));
        session.handle(
            Event::Answered {
                ticket,
                result: Ok(contributions(4242)),
            },
            at(5),
        );
        let view = query_view(&session);
        assert_eq!(view.step, QueryStepView::NeedsCard);
        assert!(!format!("{:?}", session.view()).contains("4242"));
        assert!(session
            .handle(Event::Flow(FlowInput::Query(QueryInput::Print)), at(6))
            .is_empty());
        // The next person identifies and waits for their own answer: A's, arriving again
        // (a retry, a duplicate), is still not theirs.
        let commands = identify(&mut session, "乙*", at(7));
        let Some(own) = fetched(&commands) else {
            panic!("no request for the next person")
        };
        session.handle(
            Event::Answered {
                ticket,
                result: Ok(contributions(4242)),
            },
            at(8),
        );
        assert_eq!(query_view(&session).step, QueryStepView::Loading);
        session.handle(
            Event::Answered {
                ticket: own,
                result: Ok(contributions(5)),
            },
            at(9),
        );
        assert!(!format!("{:?}", session.view()).contains("4242"));
        assert_eq!(query_view(&session).step, QueryStepView::Answered);
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
        let query_input = proptest::sample::select(vec![
            QueryInput::NextPage,
            QueryInput::PreviousPage,
            QueryInput::OlderYear,
            QueryInput::NewerYear,
            QueryInput::TryAgain,
            QueryInput::Print,
        ]);
        let finder_input = prop_oneof![
            proptest::char::range('a', 'z').prop_map(FinderInput::Key),
            Just(FinderInput::Backspace),
            Just(FinderInput::Clear),
            Just(FinderInput::KeyboardToggled),
            (0usize..8).prop_map(FinderInput::FilterToggled),
            (0u32..20).prop_map(FinderInput::PointTapped),
            Just(FinderInput::Print),
        ];
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
            Just(Event::CardIdentified(holder("张*芳"))),
            Just(Event::CardUnreadable(CardProblem::Unreadable)),
            Just(Event::CardRemoved),
            query_input.prop_map(|input| Event::Flow(FlowInput::Query(input))),
            finder_input.prop_map(|input| Event::Flow(FlowInput::Finder(input))),
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
            prop_assert!(session.resident.history.is_empty());
            prop_assert_eq!(&session.resident.flow, &None);
            prop_assert_eq!(&view.holder, &None);
            prop_assert_eq!(view.card_notice, None);
            prop_assert_eq!(&view.flow, &None);
            prop_assert!(!view.take_card_reminder || view.card_present);
            prop_assert!(!session.is_in_use());
        }
    }

    /// A step of the two-resident interleaving: resident inputs, and the outside world
    /// answering any request ever sent — late, twice, or in any order.
    #[derive(Debug, Clone)]
    enum Step {
        Resident(Event),
        /// Deliver an answer to the n-th request sent so far (modulo their number).
        Answer {
            request: usize,
            fails: bool,
        },
        /// Deliver a print result to the n-th print sent so far.
        PrintResult {
            print: usize,
        },
        /// The resident types the PIN on the pad shown and the card accepts it.
        ProvePin,
    }

    fn any_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => any_event().prop_map(Step::Resident),
            // What makes requests and ends sessions, more often than at random.
            2 => Just(Step::Resident(Event::CardIdentified(holder("张*芳")))),
            2 => Just(Step::ProvePin),
            2 => Just(Step::Resident(Event::CardRemoved)),
            2 => proptest::sample::select(vec![ServiceId::ContributionQuery, ServiceId::PensionPaymentQuery])
                .prop_map(|service| Step::Resident(Event::ServiceTapped(service))),
            2 => (0usize..64, any::<bool>()).prop_map(|(request, fails)| Step::Answer { request, fails }),
            1 => (0usize..64).prop_map(|print| Step::PrintResult { print }),
        ]
    }

    /// Every text a view or a print command holds, to look for another session's marker.
    fn texts_of(view: &View, commands: &[Command]) -> String {
        format!("{view:?} {commands:?}")
    }

    proptest! {
        /// The leak property: whatever the interleaving of residents, cards, idle, and late
        /// or duplicated answers, no view and no print command ever holds data answered for
        /// a session other than the current one. Each answer is marked with the number of
        /// the session that asked (in its amounts and reference), which a reference count of
        /// `WipeSessionData` commands tracks independently of the session's own counter.
        #[test]
        fn no_view_or_print_ever_holds_a_previous_sessions_answer(
            steps in proptest::collection::vec((any_step(), 0u64..20_000), 0..120)
        ) {
            let mut session = session();
            let mut now = Millis(0);
            // The model: which session we are in, and who asked for each request.
            let mut current = 0u64;
            let mut requests: Vec<(Ticket, u64)> = Vec::new();
            let mut prints: Vec<Ticket> = Vec::new();
            for (step, gap) in steps {
                now = now.saturating_add(Millis(gap));
                let commands = match step {
                    Step::Resident(event) => session.handle(event, now),
                    Step::Answer { request, fails } => {
                        if requests.is_empty() { continue; }
                        let (ticket, asked_in) = requests[request % requests.len()];
                        let result = if fails { Err(BackendProblem::RouteUnavailable) } else { Ok(contributions(900_000 + asked_in)) };
                        session.handle(Event::Answered { ticket, result }, now)
                    }
                    Step::ProvePin => prove_pin(&mut session, now),
                    Step::PrintResult { print } => {
                        if prints.is_empty() { continue; }
                        let ticket = prints[print % prints.len()];
                        session.handle(Event::Printed { ticket, result: Ok(()) }, now)
                    }
                };
                for command in &commands {
                    match command {
                        Command::WipeSessionData => current += 1,
                        Command::Fetch { ticket, .. } => requests.push((*ticket, current)),
                        Command::Print { ticket, .. } => prints.push(*ticket),
                        _ => {}
                    }
                }
                let texts = texts_of(&session.view(), &commands);
                for earlier in 0..current {
                    let marker = format!("ref-{}", 900_000 + earlier);
                    prop_assert!(!texts.contains(&marker), "session {} shows session {}'s answer", current, earlier);
                }
            }
        }
    }

    /// The reference model of a query flow: what the page should show after each input,
    /// from a handful of facts, not from the flow's own code.
    #[derive(Debug, Default)]
    struct QueryModel {
        identified: bool,
        /// The request the page waits for.
        waiting: Option<Ticket>,
        answered: bool,
        failed: bool,
        printing: bool,
        /// The answer covers 2026 and this year (2027): the year shown, newest first.
        older_year_shown: bool,
    }

    proptest! {
        #[test]
        fn the_query_flow_agrees_with_its_reference_model(
            inputs in proptest::collection::vec((0u8..8, any::<bool>()), 0..60)
        ) {
            let mut session = session();
            session.handle(Event::Start, at(0));
            session.handle(Event::ServiceTapped(ServiceId::ContributionQuery), at(0));
            let mut model = QueryModel::default();
            let mut sent: Vec<Ticket> = Vec::new();
            for (input, flag) in inputs {
                let commands = match input {
                    0 => {
                        model.identified = true;
                        identify(&mut session, "张*芳", at(1))
                    }
                    1 | 2 => {
                        let Some(ticket) = sent.last().copied() else { continue };
                        // Sometimes an old ticket (a duplicate), sometimes the latest.
                        let ticket = if flag { ticket } else { sent[0] };
                        let fails = input == 2;
                        if model.waiting == Some(ticket) {
                            model.waiting = None;
                            model.older_year_shown = false;
                            model.answered = !fails;
                            model.failed = fails;
                        }
                        let result = if fails { Err(BackendProblem::OutcomeUnknown) } else { Ok(contributions(1)) };
                        session.handle(Event::Answered { ticket, result }, at(1))
                    }
                    3 => session.handle(Event::Flow(FlowInput::Query(QueryInput::TryAgain)), at(1)),
                    4 => {
                        let commands = session.handle(Event::Flow(FlowInput::Query(QueryInput::Print)), at(1));
                        prop_assert_eq!(commands.len(), usize::from(model.answered && !model.printing), "prints only an answer, once");
                        if model.answered { model.printing = true; }
                        commands
                    }
                    5 => session.handle(Event::Flow(FlowInput::Query(QueryInput::NextPage)), at(1)),
                    6 => session.handle(Event::Flow(FlowInput::Query(QueryInput::OlderYear)), at(1)),
                    _ => session.handle(Event::ElderlyModeToggled, at(1)),
                };
                if let Some(ticket) = fetched(&commands) {
                    prop_assert!(model.identified, "asks only for an identified holder");
                    prop_assert!(!sent.contains(&ticket), "every request has a new ticket");
                    sent.push(ticket);
                    model.waiting = Some(ticket);
                    model.answered = false;
                    model.failed = false;
                    model.printing = false;
                }
                if input == 6 && model.answered && !model.older_year_shown {
                    // Another year is another receipt.
                    model.older_year_shown = true;
                    model.printing = false;
                }
                let view = query_view(&session);
                let expected = if model.waiting.is_some() {
                    QueryStepView::Loading
                } else if model.answered {
                    QueryStepView::Answered
                } else if model.failed {
                    QueryStepView::Failed { problem: BackendProblem::OutcomeUnknown, offers: BackendProblem::OutcomeUnknown.next_steps() }
                } else {
                    QueryStepView::NeedsCard
                };
                prop_assert_eq!(&view.step, &expected);
                prop_assert!(view.page >= 1 && view.page <= view.pages);
                prop_assert!(view.rows.len() <= crate::flows::query::rows_per_page(session.view().elderly));
            }
        }
    }
}
