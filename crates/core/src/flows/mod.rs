//! Flows: one state machine per resident service, each with its own steps, hidden state and
//! view. The [`Session`](crate::Session) owns at most one active flow and hands it the
//! flow's inputs; everything a flow holds goes when it ends.
//!
//! Adding a flow: a module here with `start`, `input`, `view` (and `answered` / `printed` if
//! it sends requests), a variant in [`Flow`], [`FlowInput`] and [`FlowView`], and one line in
//! [`Flow::start`]. See ARCHITECTURE.md, "How to add a flow".

pub mod card;
pub mod certification;
pub mod finder;
pub mod identify;
pub mod pin;
pub mod proof;
pub mod proxy;
pub mod query;

use crate::failure::{BackendProblem, PinProblem, PrintProblem};
use crate::session::DeviceHealth;
use crate::ticket::{Ticket, TicketBook};
use crate::{Command, Date, SeedStream, ServiceId};
use card::{ActivationFlow, CardReply, CardServiceInput, CardServiceView, LossFlow, PinChangeFlow};
use certification::{CaptureProblem, CertificationFlow, CertificationReply, CertificationView};
use finder::{FinderFlow, FinderInput, FinderView};
use proof::{A4Status, ProofAnswer, ProofFlow, ProofInput, ProofView};
use proxy::{ProxyFlow, ProxyReply, ProxyView};
use query::{Answer, QueryFlow, QueryInput, QueryView};

/// What a flow may know of the session around it.
#[derive(Debug)]
pub struct FlowContext<'a> {
    /// A card holder is identified (the flow never sees who: the shell holds that).
    pub identified: bool,
    pub today: Date,
    pub elderly: bool,
    pub tickets: &'a mut TicketBook,
    /// The card's service PIN was verified in this session (it holds until the card leaves).
    pub pin_verified: &'a mut bool,
    /// Seeds for the PIN pad's layouts.
    pub seeds: &'a mut SeedStream,
    /// The terminal has a working ID-card reader (else the number is typed).
    pub id_card_reader: bool,
    /// An ID card was read on it in this session (the shell holds whose).
    pub id_card: bool,
    /// The card reader has its own PIN keypad (PC/SC Part 10): the service PIN is typed there.
    pub secure_pin_entry: bool,
    /// The A4 printer as last heard of (proofs).
    pub a4_printer: A4Status,
    /// The receipt printer's health (a proof's receipt copy).
    pub receipt_printer: DeviceHealth,
}

impl FlowContext<'_> {
    pub fn next_seed(&mut self) -> u64 {
        self.seeds.next_seed()
    }
}

/// Where printing a flow's document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintState {
    Printing,
    Printed,
    Failed(PrintProblem),
}

/// A flow's document on its way to the printer: where it is, and the ticket its result must
/// bring back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrintJob {
    state: Option<PrintState>,
    ticket: Option<Ticket>,
}

impl PrintJob {
    pub fn state(&self) -> Option<PrintState> {
        self.state
    }

    /// Printing now (a second tap must not print twice).
    pub fn is_printing(&self) -> bool {
        self.state == Some(PrintState::Printing)
    }

    pub fn start(&mut self, ticket: Ticket) {
        self.state = Some(PrintState::Printing);
        self.ticket = Some(ticket);
    }

    /// The printer's result, taken only for the job that is printing.
    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        if self.ticket != Some(ticket) || !self.is_printing() {
            return;
        }
        self.state = Some(match result {
            Ok(()) => PrintState::Printed,
            Err(problem) => PrintState::Failed(problem),
        });
    }
}

/// The active flow. Enum dispatch keeps flows `Clone + PartialEq + Debug`, so the whole
/// session can be compared and driven by property tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Query(QueryFlow),
    Finder(FinderFlow),
    PinChange(PinChangeFlow),
    Activation(ActivationFlow),
    Loss(LossFlow),
    Certification(CertificationFlow),
    Proxies(ProxyFlow),
    Proof(ProofFlow),
    /// A service whose flow is not built yet: its page says so and points to help.
    Unavailable(ServiceId),
}

/// A resident's input for the active flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowInput {
    Query(QueryInput),
    Finder(FinderInput),
    Card(CardServiceInput),
    Proof(ProofInput),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowView {
    Query(QueryView),
    Finder(FinderView),
    Card(CardServiceView),
    Certification(CertificationView),
    Proxies(ProxyView),
    Proof(ProofView),
    Unavailable(ServiceId),
}

/// What a service needs to work; its tile is disabled, with the reason, while one is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    pub card_reader: bool,
    pub printer: bool,
    pub back_end: bool,
    pub camera: bool,
}

impl Needs {
    pub fn of(service: ServiceId) -> Needs {
        match service {
            service if service.is_query() => Needs {
                card_reader: true,
                back_end: true,
                ..Needs::default()
            },
            ServiceId::CardActivation => Needs {
                card_reader: true,
                back_end: true,
                ..Needs::default()
            },
            // The PIN lives on the card: changing it needs no back end.
            ServiceId::PinChange => Needs {
                card_reader: true,
                ..Needs::default()
            },
            // Reported without the card (ID card or typed); released with either.
            ServiceId::LossReport | ServiceId::LossRelease => Needs {
                back_end: true,
                ..Needs::default()
            },
            // By card or ID card; the face goes to the back end (or its outbox).
            ServiceId::ProxyBindings => Needs {
                back_end: true,
                ..Needs::default()
            },
            ServiceId::PensionCertification | ServiceId::ProxyCertification => Needs {
                back_end: true,
                camera: true,
                ..Needs::default()
            },
            // The printers are judged in `blocker`: a receipt copy may stand in for A4.
            ServiceId::ProofPrint => Needs {
                card_reader: true,
                back_end: true,
                ..Needs::default()
            },
            // The finder works offline from the terminal's copy of the catalogue; services
            // not built yet need nothing, their page only says so.
            _ => Needs::default(),
        }
    }
}

impl Flow {
    /// The flow a service tile starts, and what it asks for at once.
    pub fn start(service: ServiceId, ctx: &mut FlowContext) -> (Flow, Vec<Command>) {
        match service {
            ServiceId::ServicePointFinder => (Flow::Finder(FinderFlow::start()), Vec::new()),
            service if service.is_query() => {
                let (flow, commands) = QueryFlow::start(service, ctx);
                (Flow::Query(flow), commands)
            }
            ServiceId::PinChange => (Flow::PinChange(PinChangeFlow::start(ctx)), Vec::new()),
            ServiceId::CardActivation => {
                let (flow, commands) = ActivationFlow::start(ctx);
                (Flow::Activation(flow), commands)
            }
            ServiceId::LossReport => {
                let (flow, commands) = LossFlow::report(ctx);
                (Flow::Loss(flow), commands)
            }
            ServiceId::LossRelease => {
                let (flow, commands) = LossFlow::release(ctx);
                (Flow::Loss(flow), commands)
            }
            ServiceId::PensionCertification | ServiceId::ProxyCertification => {
                let (flow, commands) = CertificationFlow::start(service, ctx);
                (Flow::Certification(flow), commands)
            }
            ServiceId::ProxyBindings => {
                let (flow, commands) = ProxyFlow::start(ctx);
                (Flow::Proxies(flow), commands)
            }
            ServiceId::ProofPrint => {
                let (flow, commands) = ProofFlow::start(ctx);
                (Flow::Proof(flow), commands)
            }
            service => (Flow::Unavailable(service), Vec::new()),
        }
    }

    pub fn input(&mut self, input: FlowInput, ctx: &mut FlowContext) -> Vec<Command> {
        match (self, input) {
            (Flow::Query(flow), FlowInput::Query(input)) => flow.input(input, ctx),
            (Flow::Finder(flow), FlowInput::Finder(input)) => flow.input(input, ctx),
            (Flow::Query(flow), FlowInput::Card(CardServiceInput::Pin(tap))) => {
                flow.pin_input(tap, ctx)
            }
            (Flow::PinChange(flow), FlowInput::Card(input)) => flow.input(input, ctx),
            (Flow::Activation(flow), FlowInput::Card(input)) => flow.input(input, ctx),
            (Flow::Loss(flow), FlowInput::Card(input)) => flow.input(input, ctx),
            (Flow::Certification(flow), FlowInput::Card(input)) => flow.input(input, ctx),
            (Flow::Proxies(flow), FlowInput::Card(input)) => flow.input(input, ctx),
            (Flow::Proof(flow), FlowInput::Proof(input)) => flow.input(input, ctx),
            (Flow::Proof(flow), FlowInput::Card(CardServiceInput::Pin(tap))) => {
                flow.pin_input(tap, ctx)
            }
            // An input for another flow (a tap that raced a page change) means nothing here.
            _ => Vec::new(),
        }
    }

    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        match self {
            Flow::Query(flow) => flow.card_identified(ctx),
            Flow::PinChange(flow) => flow.card_identified(ctx),
            Flow::Activation(flow) => flow.card_identified(ctx),
            Flow::Loss(flow) => flow.card_identified(ctx),
            Flow::Certification(flow) => flow.card_identified(ctx),
            Flow::Proxies(flow) => flow.card_identified(ctx),
            Flow::Proof(flow) => flow.card_identified(ctx),
            Flow::Finder(_) | Flow::Unavailable(_) => Vec::new(),
        }
    }

    pub fn id_card_read(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        match self {
            Flow::Loss(flow) => flow.id_card_read(ctx),
            Flow::Certification(flow) => flow.id_card_read(ctx),
            Flow::Proxies(flow) => flow.id_card_read(ctx),
            _ => Vec::new(),
        }
    }

    pub fn answered(
        &mut self,
        ticket: Ticket,
        result: Result<Answer, BackendProblem>,
        ctx: &mut FlowContext,
    ) {
        if let Flow::Query(flow) = self {
            flow.answered(ticket, result, ctx.today);
        }
    }

    pub fn card_service_answered(
        &mut self,
        ticket: Ticket,
        result: Result<CardReply, BackendProblem>,
        ctx: &mut FlowContext,
    ) {
        match self {
            Flow::Activation(flow) => flow.answered(ticket, result, ctx),
            Flow::Loss(flow) => flow.answered(ticket, result),
            _ => {}
        }
    }

    pub fn proof_answered(
        &mut self,
        ticket: Ticket,
        result: Result<Box<ProofAnswer>, BackendProblem>,
    ) {
        if let Flow::Proof(flow) = self {
            flow.answered(ticket, result);
        }
    }

    /// A printer changed: only the proof flow decides by it once started.
    pub fn printers_changed(&mut self, a4: A4Status, receipt_printer: DeviceHealth) {
        if let Flow::Proof(flow) = self {
            flow.printers_changed(a4, receipt_printer);
        }
    }

    pub fn certification_answered(
        &mut self,
        ticket: Ticket,
        result: Result<CertificationReply, BackendProblem>,
    ) {
        if let Flow::Certification(flow) = self {
            flow.answered(ticket, result);
        }
    }

    pub fn proxies_answered(&mut self, ticket: Ticket, result: Result<ProxyReply, BackendProblem>) {
        if let Flow::Proxies(flow) = self {
            flow.answered(ticket, result);
        }
    }

    pub fn captured(
        &mut self,
        ticket: Ticket,
        result: Result<(), CaptureProblem>,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        match self {
            Flow::Certification(flow) => flow.captured(ticket, result, ctx),
            _ => Vec::new(),
        }
    }

    /// The card's answer to a VERIFY or CHANGE PIN.
    pub fn pin_answered(
        &mut self,
        ticket: Ticket,
        result: Result<(), PinProblem>,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        match self {
            Flow::Query(flow) => flow.pin_answered(ticket, result, ctx),
            Flow::PinChange(flow) => flow.pin_answered(ticket, result, ctx),
            Flow::Activation(flow) => flow.pin_answered(ticket, result, ctx),
            Flow::Loss(flow) => flow.pin_answered(ticket, result, ctx),
            Flow::Certification(flow) => flow.pin_answered(ticket, result, ctx),
            Flow::Proxies(flow) => flow.pin_answered(ticket, result, ctx),
            Flow::Proof(flow) => flow.pin_answered(ticket, result, ctx),
            Flow::Finder(_) | Flow::Unavailable(_) => Vec::new(),
        }
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        match self {
            Flow::Query(flow) => flow.printed(ticket, result),
            Flow::Finder(flow) => flow.printed(ticket, result),
            Flow::PinChange(flow) => flow.printed(ticket, result),
            Flow::Activation(flow) => flow.printed(ticket, result),
            Flow::Loss(flow) => flow.printed(ticket, result),
            Flow::Certification(flow) => flow.printed(ticket, result),
            Flow::Proxies(flow) => flow.printed(ticket, result),
            Flow::Proof(flow) => flow.printed(ticket, result),
            Flow::Unavailable(_) => {}
        }
    }

    /// "Back" inside the flow; false when the flow has no earlier step and should be left.
    pub fn back(&mut self, ctx: &FlowContext) -> bool {
        match self {
            Flow::Finder(flow) => flow.back(),
            Flow::Loss(flow) => flow.back(ctx),
            Flow::Certification(flow) => flow.back(),
            Flow::Proxies(flow) => flow.back(),
            Flow::Proof(flow) => flow.back(),
            _ => false,
        }
    }

    /// A mutation was sent and its outcome is not known yet: a resident who leaves now is
    /// told it is being confirmed and not to repeat it.
    pub fn mutation_in_flight(&self) -> bool {
        match self {
            Flow::Activation(flow) => flow.in_flight(),
            Flow::Loss(flow) => flow.in_flight(),
            Flow::PinChange(flow) => flow.in_flight(),
            Flow::Certification(flow) => flow.in_flight(),
            Flow::Proxies(flow) => flow.in_flight(),
            _ => false,
        }
    }

    /// A card service was started and not finished: a resident who leaves now is told
    /// nothing was done.
    pub fn in_progress(&self) -> bool {
        match self {
            Flow::Activation(flow) => flow.in_progress(),
            Flow::Loss(flow) => flow.in_progress(),
            Flow::PinChange(flow) => flow.in_progress(),
            Flow::Certification(flow) => flow.in_progress(),
            Flow::Proxies(flow) => flow.in_progress(),
            _ => false,
        }
    }

    pub fn view(&self, today: Date, elderly: bool) -> FlowView {
        match self {
            Flow::Query(flow) => FlowView::Query(flow.view(today, elderly)),
            Flow::Finder(flow) => FlowView::Finder(flow.view()),
            Flow::PinChange(flow) => FlowView::Card(flow.view()),
            Flow::Activation(flow) => FlowView::Card(flow.view()),
            Flow::Loss(flow) => FlowView::Card(flow.view()),
            Flow::Certification(flow) => FlowView::Certification(flow.view()),
            Flow::Proxies(flow) => FlowView::Proxies(flow.view()),
            Flow::Proof(flow) => FlowView::Proof(flow.view(today)),
            Flow::Unavailable(service) => FlowView::Unavailable(*service),
        }
    }
}
