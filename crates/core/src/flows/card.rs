//! Card services: PIN change, activation (社保功能启用), temporary loss report (临时挂失) and its
//! release (解挂). They share one page shape — identify, PIN, confirm, send, receipt — so they
//! share the view and the tail that sends a mutation exactly once and prints its receipt.

use super::pin::{
    CheckOutcome, NewPin, PinCheck, PinEntry, PinEntryView, PinInput, PinNotice, PinPrompt,
};
use super::{FlowContext, PrintJob, PrintState};
use crate::entry::{IdEntryState, IdNumberEntry, TypedName};
use crate::failure::{BackendProblem, NextStep, PinProblem, PrintProblem};
use crate::identity::{IdNumber, Pin};
use crate::records::CardState;
use crate::ticket::Ticket;
use crate::{Command, Document, Request, ServiceId};

/// A change to the card's state at the back end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardAction {
    Activate,
    ReportLoss,
    ReleaseLoss,
}

/// Who a request is for. The shell holds the card's and the ID card's data; the core names
/// only which of them to use, or carries what the resident typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identification {
    /// The social security card in the reader.
    Card,
    /// The 二代身份证 on the ID-card reader.
    IdCard,
    /// Typed on the keypads: the back end's name for the number must match.
    Typed {
        id_number: IdNumber,
        name: TypedName,
    },
}

/// Whom the back end found, masked, and the state of their card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFound {
    pub masked_name: String,
    pub masked_card_number: String,
    pub state: CardState,
}

/// A mutation the back end applied: what the receipt carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub state: CardState,
    pub masked_card_number: String,
    /// The 流水号: the journal entry's reference.
    pub reference: String,
    /// The back end's code that anyone can check at `verify_url` (the receipt's QR code).
    pub verification_code: Option<String>,
    pub verify_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardReply {
    Found(PersonFound),
    Done(Confirmation),
}

/// A resident's input on a card-service page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardServiceInput {
    Pin(PinInput),
    /// Identify by the ID card on the reader / by typing the number.
    UseIdCard,
    TypeIdNumber,
    IdKey(char),
    IdDelete,
    NameKey(char),
    NameDelete,
    /// Done typing (the ID number or the name).
    EntryConfirm,
    /// Yes, do it (after seeing whose card).
    Confirm,
    TryAgain,
    Print,
    /// 亲情代办: bind another relative; unbind the one in this slot of the list.
    AddProxy,
    RemoveProxy(u8),
}

/// What is being waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    CheckingPin,
    ChangingPin,
    LookingUp,
    /// A mutation is at the back end: if the card is pulled now, the journal finishes it.
    Sending,
}

/// Where a card-service page is, as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardStep {
    NeedsCard,
    /// Loss report: identify by ID card or by typing.
    ChooseIdentification,
    NeedsIdCard,
    /// Loss release: the card (with its PIN) or the ID card.
    NeedsCardOrIdCard,
    TypeIdNumber {
        masked: String,
        state: IdEntryState,
    },
    TypeName {
        letters: String,
    },
    EnterPin(PinEntryView),
    /// The reader's keypad takes the PIN; what the last try came to.
    PinOnReader(Option<PinNotice>),
    Working(Work),
    /// Whose card, before the mutation is sent.
    Confirm(PersonFound),
    /// The card is in a state this service cannot act on (already active, not lost…).
    Unsuitable(CardState),
    PinBlocked,
    /// The PIN was changed (no back-end record: the PIN lives on the card only).
    PinChanged,
    Done(Confirmation),
    Failed {
        problem: BackendProblem,
        offers: &'static [NextStep],
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardServiceView {
    pub service: ServiceId,
    pub step: CardStep,
    pub print: Option<PrintState>,
}

/// The tail every back-end card service shares: confirm whose card, send the mutation
/// (a retry reuses the ticket, so the journal sends it once), the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tail {
    LookingUp {
        ticket: Ticket,
    },
    Confirm(PersonFound),
    Sending {
        ticket: Ticket,
    },
    Done(Confirmation),
    Unsuitable(CardState),
    /// The lookup failed: trying again looks up again.
    LookUpFailed(BackendProblem),
    /// The mutation failed: trying again resends under the same ticket.
    SendFailed {
        ticket: Ticket,
        problem: BackendProblem,
    },
}

impl Tail {
    fn look_up(who: &Identification, ctx: &mut FlowContext) -> (Tail, Vec<Command>) {
        let ticket = ctx.tickets.issue();
        (
            Tail::LookingUp { ticket },
            vec![Command::Fetch {
                ticket,
                request: Request::LookUp(who.clone()),
            }],
        )
    }

    fn send(action: CardAction, who: &Identification, ticket: Ticket) -> Vec<Command> {
        vec![Command::Fetch {
            ticket,
            request: Request::Card {
                action,
                who: who.clone(),
            },
        }]
    }

    /// The state a card must be in for `action`.
    fn suits(action: CardAction, state: CardState) -> bool {
        matches!(
            (action, state),
            (CardAction::Activate, CardState::NotActivated)
                | (CardAction::ReportLoss, CardState::Active)
                | (CardAction::ReleaseLoss, CardState::TemporarilyLost)
        )
    }

    fn answered(
        &mut self,
        ticket: Ticket,
        result: Result<CardReply, BackendProblem>,
        action: CardAction,
    ) {
        match (&*self, result) {
            (Tail::LookingUp { ticket: waiting }, result) if *waiting == ticket => {
                *self = match result {
                    Ok(CardReply::Found(found)) if Tail::suits(action, found.state) => {
                        Tail::Confirm(found)
                    }
                    Ok(CardReply::Found(found)) => Tail::Unsuitable(found.state),
                    Ok(CardReply::Done(_)) => Tail::LookUpFailed(BackendProblem::RouteUnavailable),
                    Err(problem) => Tail::LookUpFailed(problem),
                }
            }
            (Tail::Sending { ticket: waiting }, result) if *waiting == ticket => {
                *self = match result {
                    Ok(CardReply::Done(confirmation)) => Tail::Done(confirmation),
                    Ok(CardReply::Found(_)) => Tail::SendFailed {
                        ticket,
                        problem: BackendProblem::OutcomeUnknown,
                    },
                    Err(problem) => Tail::SendFailed { ticket, problem },
                }
            }
            _ => {}
        }
    }

    fn input(
        &mut self,
        input: CardServiceInput,
        action: CardAction,
        who: &Identification,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        match (&*self, input) {
            (Tail::Confirm(_), CardServiceInput::Confirm) => {
                let ticket = ctx.tickets.issue();
                *self = Tail::Sending { ticket };
                Tail::send(action, who, ticket)
            }
            (Tail::LookUpFailed(problem), CardServiceInput::TryAgain)
                if problem.next_steps().contains(&NextStep::TryAgain) =>
            {
                let (tail, commands) = Tail::look_up(who, ctx);
                *self = tail;
                commands
            }
            (Tail::SendFailed { ticket, problem }, CardServiceInput::TryAgain)
                if problem.next_steps().contains(&NextStep::TryAgain) =>
            {
                let ticket = *ticket;
                *self = Tail::Sending { ticket };
                Tail::send(action, who, ticket)
            }
            _ => Vec::new(),
        }
    }

    fn step(&self) -> CardStep {
        match self {
            Tail::LookingUp { .. } => CardStep::Working(Work::LookingUp),
            Tail::Confirm(found) => CardStep::Confirm(found.clone()),
            Tail::Sending { .. } => CardStep::Working(Work::Sending),
            Tail::Done(confirmation) => CardStep::Done(confirmation.clone()),
            Tail::Unsuitable(state) => CardStep::Unsuitable(*state),
            Tail::LookUpFailed(problem) | Tail::SendFailed { problem, .. } => CardStep::Failed {
                problem: problem.clone(),
                offers: problem.next_steps(),
            },
        }
    }

    /// Not at an end: a result, a state that stops it, or a failure.
    fn in_progress(&self) -> bool {
        matches!(
            self,
            Tail::LookingUp { .. } | Tail::Confirm(_) | Tail::Sending { .. }
        )
    }

    fn sending(&self) -> bool {
        matches!(self, Tail::Sending { .. })
            || matches!(
                self,
                Tail::SendFailed {
                    problem: BackendProblem::OutcomeUnknown,
                    ..
                }
            )
    }
}

/// Prints a card service's receipt once (a second tap does nothing while printing).
fn print_receipt(
    print: &mut PrintJob,
    service: ServiceId,
    confirmation: Option<&Confirmation>,
    ctx: &mut FlowContext,
) -> Vec<Command> {
    if matches!(
        print.state(),
        Some(PrintState::Printing | PrintState::Printed)
    ) {
        return Vec::new();
    }
    let ticket = ctx.tickets.issue();
    print.start(ticket);
    vec![Command::Print {
        ticket,
        document: Document::CardService {
            service,
            confirmation: confirmation.cloned(),
        },
    }]
}

// ---------------------------------------------------------------------------------------
// PIN change

#[derive(Debug, Clone, PartialEq, Eq)]
enum PinChangeStep {
    NeedsCard,
    Old(PinEntry),
    New { old: Pin, new: NewPin },
    Changing { ticket: Ticket },
    Changed,
    Blocked,
}

/// Old PIN, new PIN twice, CHANGE PIN on the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinChangeFlow {
    step: PinChangeStep,
    print: PrintJob,
}

impl PinChangeFlow {
    pub fn start(ctx: &mut FlowContext) -> PinChangeFlow {
        let mut flow = PinChangeFlow {
            step: PinChangeStep::NeedsCard,
            print: PrintJob::default(),
        };
        flow.card_identified(ctx);
        flow
    }

    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        if self.step == PinChangeStep::NeedsCard && ctx.identified {
            self.step = PinChangeStep::Old(PinEntry::new(PinPrompt::Old, None, ctx));
        }
        Vec::new()
    }

    pub fn input(&mut self, input: CardServiceInput, ctx: &mut FlowContext) -> Vec<Command> {
        match (&mut self.step, input) {
            (PinChangeStep::Old(entry), CardServiceInput::Pin(tap)) => {
                if let Some(old) = entry.input(tap) {
                    self.step = PinChangeStep::New {
                        old,
                        new: NewPin::start(ctx),
                    };
                }
            }
            (PinChangeStep::New { old, new }, CardServiceInput::Pin(tap)) => {
                if let Some(new_pin) = new.input(tap, old, ctx) {
                    let old = old.clone();
                    let ticket = ctx.tickets.issue();
                    self.step = PinChangeStep::Changing { ticket };
                    return vec![Command::ChangePin {
                        ticket,
                        old,
                        new: new_pin,
                    }];
                }
            }
            (PinChangeStep::Changed, CardServiceInput::Print) => {
                return print_receipt(&mut self.print, ServiceId::PinChange, None, ctx);
            }
            _ => {}
        }
        Vec::new()
    }

    pub fn pin_answered(
        &mut self,
        ticket: Ticket,
        result: Result<(), PinProblem>,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        if self.step != (PinChangeStep::Changing { ticket }) {
            return Vec::new();
        }
        self.step = match result {
            Ok(()) => {
                // The new PIN was just proven to the card.
                *ctx.pin_verified = true;
                PinChangeStep::Changed
            }
            Err(problem) => match PinNotice::after(problem) {
                Some(notice) => {
                    PinChangeStep::Old(PinEntry::new(PinPrompt::Old, Some(notice), ctx))
                }
                None => PinChangeStep::Blocked,
            },
        };
        Vec::new()
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        self.print.printed(ticket, result);
    }

    pub fn view(&self) -> CardServiceView {
        CardServiceView {
            service: ServiceId::PinChange,
            step: match &self.step {
                PinChangeStep::NeedsCard => CardStep::NeedsCard,
                PinChangeStep::Old(entry) => CardStep::EnterPin(entry.view()),
                PinChangeStep::New { new, .. } => CardStep::EnterPin(new.view()),
                PinChangeStep::Changing { .. } => CardStep::Working(Work::ChangingPin),
                PinChangeStep::Changed => CardStep::PinChanged,
                PinChangeStep::Blocked => CardStep::PinBlocked,
            },
            print: self.print.state(),
        }
    }

    /// True while the card is changing the PIN: pulling the card now is the resident's
    /// only way to leave it half-done, and the card itself makes CHANGE PIN atomic.
    pub fn in_flight(&self) -> bool {
        matches!(self.step, PinChangeStep::Changing { .. })
    }

    /// Started and not finished: leaving now leaves it undone.
    pub fn in_progress(&self) -> bool {
        !matches!(
            self.step,
            PinChangeStep::NeedsCard | PinChangeStep::Changed | PinChangeStep::Blocked
        )
    }
}

// ---------------------------------------------------------------------------------------
// Activation

#[derive(Debug, Clone, PartialEq, Eq)]
enum ActivationStep {
    NeedsCard,
    /// The back end says what state the card is in first.
    Tail(Tail),
    Issuing(PinEntry),
    CheckingIssuing {
        ticket: Ticket,
        issuing: Pin,
    },
    New {
        issuing: Pin,
        new: NewPin,
    },
    ChangingPin {
        ticket: Ticket,
    },
    PinBlocked,
}

impl ActivationStep {
    /// After the card refused the issuing PIN (or the change): the pad again with why, or
    /// blocked.
    fn issuing_again(problem: PinProblem, ctx: &mut FlowContext) -> ActivationStep {
        match PinNotice::after(problem) {
            Some(notice) => {
                ActivationStep::Issuing(PinEntry::new(PinPrompt::Issuing, Some(notice), ctx))
            }
            None => ActivationStep::PinBlocked,
        }
    }
}

/// Activation of a `not_activated` card: the issuing PIN, a new service PIN twice, CHANGE
/// PIN on the card, then `activate` at the back end once, then the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationFlow {
    step: ActivationStep,
    print: PrintJob,
}

impl ActivationFlow {
    pub fn start(ctx: &mut FlowContext) -> (ActivationFlow, Vec<Command>) {
        let mut flow = ActivationFlow {
            step: ActivationStep::NeedsCard,
            print: PrintJob::default(),
        };
        let commands = flow.card_identified(ctx);
        (flow, commands)
    }

    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        if self.step != ActivationStep::NeedsCard || !ctx.identified {
            return Vec::new();
        }
        let (tail, commands) = Tail::look_up(&Identification::Card, ctx);
        self.step = ActivationStep::Tail(tail);
        commands
    }

    pub fn input(&mut self, input: CardServiceInput, ctx: &mut FlowContext) -> Vec<Command> {
        match (&mut self.step, input) {
            (ActivationStep::Issuing(entry), CardServiceInput::Pin(tap)) => {
                if let Some(issuing) = entry.input(tap) {
                    let ticket = ctx.tickets.issue();
                    self.step = ActivationStep::CheckingIssuing {
                        ticket,
                        issuing: issuing.clone(),
                    };
                    return vec![Command::VerifyPin {
                        ticket,
                        pin: issuing,
                    }];
                }
            }
            (ActivationStep::New { issuing, new }, CardServiceInput::Pin(tap)) => {
                if let Some(new_pin) = new.input(tap, issuing, ctx) {
                    let old = issuing.clone();
                    let ticket = ctx.tickets.issue();
                    self.step = ActivationStep::ChangingPin { ticket };
                    return vec![Command::ChangePin {
                        ticket,
                        old,
                        new: new_pin,
                    }];
                }
            }
            (ActivationStep::Tail(Tail::Done(confirmation)), CardServiceInput::Print) => {
                let confirmation = confirmation.clone();
                return print_receipt(
                    &mut self.print,
                    ServiceId::CardActivation,
                    Some(&confirmation),
                    ctx,
                );
            }
            (ActivationStep::Tail(tail), input) => {
                return tail.input(input, CardAction::Activate, &Identification::Card, ctx)
            }
            _ => {}
        }
        Vec::new()
    }

    pub fn answered(
        &mut self,
        ticket: Ticket,
        result: Result<CardReply, BackendProblem>,
        ctx: &mut FlowContext,
    ) {
        let ActivationStep::Tail(tail) = &mut self.step else {
            return;
        };
        tail.answered(ticket, result, CardAction::Activate);
        // A card found not activated goes on to its PINs before the activation is sent.
        if matches!(tail, Tail::Confirm(_)) {
            self.step = ActivationStep::Issuing(PinEntry::new(PinPrompt::Issuing, None, ctx));
        }
    }

    pub fn pin_answered(
        &mut self,
        ticket: Ticket,
        result: Result<(), PinProblem>,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        match &self.step {
            ActivationStep::CheckingIssuing {
                ticket: waiting,
                issuing,
            } if *waiting == ticket => {
                let issuing = issuing.clone();
                self.step = match result {
                    Ok(()) => ActivationStep::New {
                        issuing,
                        new: NewPin::start(ctx),
                    },
                    Err(problem) => ActivationStep::issuing_again(problem, ctx),
                };
                Vec::new()
            }
            ActivationStep::ChangingPin { ticket: waiting } if *waiting == ticket => match result {
                Ok(()) => {
                    *ctx.pin_verified = true;
                    let send = ctx.tickets.issue();
                    self.step = ActivationStep::Tail(Tail::Sending { ticket: send });
                    Tail::send(CardAction::Activate, &Identification::Card, send)
                }
                // The card refused or did not answer: its PIN is unchanged; start the PINs again.
                Err(problem) => {
                    self.step = ActivationStep::issuing_again(problem, ctx);
                    Vec::new()
                }
            },
            _ => Vec::new(),
        }
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        self.print.printed(ticket, result);
    }

    pub fn view(&self) -> CardServiceView {
        CardServiceView {
            service: ServiceId::CardActivation,
            step: match &self.step {
                ActivationStep::NeedsCard => CardStep::NeedsCard,
                ActivationStep::Tail(tail) => tail.step(),
                ActivationStep::Issuing(entry) => CardStep::EnterPin(entry.view()),
                ActivationStep::CheckingIssuing { .. } => CardStep::Working(Work::CheckingPin),
                ActivationStep::New { new, .. } => CardStep::EnterPin(new.view()),
                ActivationStep::ChangingPin { .. } => CardStep::Working(Work::ChangingPin),
                ActivationStep::PinBlocked => CardStep::PinBlocked,
            },
            print: self.print.state(),
        }
    }

    pub fn in_flight(&self) -> bool {
        matches!(&self.step, ActivationStep::Tail(tail) if tail.sending())
    }

    /// Started and not finished: leaving now leaves it undone.
    pub fn in_progress(&self) -> bool {
        match &self.step {
            ActivationStep::NeedsCard | ActivationStep::PinBlocked => false,
            ActivationStep::Tail(tail) => tail.in_progress(),
            _ => true,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Loss report and release

#[derive(Debug, Clone, PartialEq, Eq)]
enum LossStep {
    /// Report: how to identify. Release: the card or the ID card.
    Choose,
    NeedsIdCard,
    TypeId(IdNumberEntry),
    TypeName {
        id_number: IdNumber,
        name: TypedName,
    },
    /// Release by card: the PIN first.
    Pin(PinCheck),
    Tail {
        who: Identification,
        tail: Tail,
    },
}

/// 临时挂失 without the card (by ID card, or the number and name typed), and 解挂 with the
/// card and its PIN or the ID card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossFlow {
    action: CardAction,
    step: LossStep,
    print: PrintJob,
}

impl LossFlow {
    pub fn report(ctx: &mut FlowContext) -> (LossFlow, Vec<Command>) {
        let mut flow = LossFlow {
            action: CardAction::ReportLoss,
            step: if ctx.id_card_reader {
                LossStep::Choose
            } else {
                LossStep::TypeId(IdNumberEntry::new())
            },
            print: PrintJob::default(),
        };
        let commands = flow.id_card_read(ctx);
        (flow, commands)
    }

    pub fn release(ctx: &mut FlowContext) -> (LossFlow, Vec<Command>) {
        let mut flow = LossFlow {
            action: CardAction::ReleaseLoss,
            step: LossStep::Choose,
            print: PrintJob::default(),
        };
        let mut commands = flow.card_identified(ctx);
        if commands.is_empty() && matches!(flow.step, LossStep::Choose) {
            commands = flow.id_card_read(ctx);
        }
        (flow, commands)
    }

    fn service(&self) -> ServiceId {
        match self.action {
            CardAction::ReleaseLoss => ServiceId::LossRelease,
            _ => ServiceId::LossReport,
        }
    }

    /// Release only: a card in the reader identifies, after its PIN.
    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        if self.action != CardAction::ReleaseLoss
            || !matches!(self.step, LossStep::Choose)
            || !ctx.identified
        {
            return Vec::new();
        }
        if *ctx.pin_verified {
            return self.look_up(Identification::Card, ctx);
        }
        let (check, commands) = PinCheck::start(PinPrompt::Service, ctx);
        self.step = LossStep::Pin(check);
        commands
    }

    /// An ID card on the reader identifies, where the flow is waiting for one.
    pub fn id_card_read(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        let waiting = match self.step {
            LossStep::NeedsIdCard => true,
            LossStep::Choose => self.action == CardAction::ReleaseLoss,
            _ => false,
        };
        if waiting && ctx.id_card {
            return self.look_up(Identification::IdCard, ctx);
        }
        Vec::new()
    }

    fn look_up(&mut self, who: Identification, ctx: &mut FlowContext) -> Vec<Command> {
        let (tail, commands) = Tail::look_up(&who, ctx);
        self.step = LossStep::Tail { who, tail };
        commands
    }

    pub fn input(&mut self, input: CardServiceInput, ctx: &mut FlowContext) -> Vec<Command> {
        match (&mut self.step, input) {
            (LossStep::Choose, CardServiceInput::UseIdCard) => {
                self.step = LossStep::NeedsIdCard;
                return self.id_card_read(ctx);
            }
            (LossStep::Choose, CardServiceInput::TypeIdNumber)
                if self.action == CardAction::ReportLoss =>
            {
                self.step = LossStep::TypeId(IdNumberEntry::new());
            }
            (LossStep::TypeId(entry), CardServiceInput::IdKey(key)) => entry.press(key),
            (LossStep::TypeId(entry), CardServiceInput::IdDelete) => entry.delete(),
            (LossStep::TypeId(entry), CardServiceInput::EntryConfirm) => {
                if let Some(id_number) = entry.number() {
                    self.step = LossStep::TypeName {
                        id_number,
                        name: TypedName::new(),
                    };
                }
            }
            (LossStep::TypeName { name, .. }, CardServiceInput::NameKey(key)) => name.press(key),
            (LossStep::TypeName { name, .. }, CardServiceInput::NameDelete) => name.delete(),
            (LossStep::TypeName { id_number, name }, CardServiceInput::EntryConfirm)
                if !name.is_empty() =>
            {
                let who = Identification::Typed {
                    id_number: id_number.clone(),
                    name: name.clone(),
                };
                return self.look_up(who, ctx);
            }
            (LossStep::Pin(check), CardServiceInput::Pin(tap)) => return check.input(tap, ctx),
            (
                LossStep::Tail {
                    tail: Tail::Done(confirmation),
                    ..
                },
                CardServiceInput::Print,
            ) => {
                let confirmation = confirmation.clone();
                let service = self.service();
                return print_receipt(&mut self.print, service, Some(&confirmation), ctx);
            }
            (LossStep::Tail { who, tail }, input) => {
                return tail.input(input, self.action, who, ctx)
            }
            _ => {}
        }
        Vec::new()
    }

    pub fn pin_answered(
        &mut self,
        ticket: Ticket,
        result: Result<(), PinProblem>,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        let LossStep::Pin(check) = &mut self.step else {
            return Vec::new();
        };
        match check.answered(ticket, result, ctx) {
            (CheckOutcome::Verified, _) => self.look_up(Identification::Card, ctx),
            (CheckOutcome::Pending | CheckOutcome::Blocked, commands) => commands,
        }
    }

    pub fn answered(&mut self, ticket: Ticket, result: Result<CardReply, BackendProblem>) {
        if let LossStep::Tail { tail, .. } = &mut self.step {
            tail.answered(ticket, result, self.action);
        }
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        self.print.printed(ticket, result);
    }

    /// "Back" from the name to the number, from typing to the choice.
    pub fn back(&mut self, ctx: &FlowContext) -> bool {
        match &self.step {
            LossStep::TypeName { .. } => {
                self.step = LossStep::TypeId(IdNumberEntry::new());
                true
            }
            LossStep::TypeId(_) | LossStep::NeedsIdCard if ctx.id_card_reader => {
                self.step = LossStep::Choose;
                true
            }
            _ => false,
        }
    }

    pub fn view(&self) -> CardServiceView {
        let step = match &self.step {
            LossStep::Choose => match self.action {
                CardAction::ReleaseLoss => CardStep::NeedsCardOrIdCard,
                _ => CardStep::ChooseIdentification,
            },
            LossStep::NeedsIdCard => CardStep::NeedsIdCard,
            LossStep::TypeId(entry) => CardStep::TypeIdNumber {
                masked: entry.masked(),
                state: entry.state(),
            },
            LossStep::TypeName { name, .. } => CardStep::TypeName {
                letters: name.letters().to_owned(),
            },
            LossStep::Pin(PinCheck::Entering(entry)) => CardStep::EnterPin(entry.view()),
            LossStep::Pin(PinCheck::Checking { .. }) => CardStep::Working(Work::CheckingPin),
            LossStep::Pin(PinCheck::OnReader { notice, .. }) => CardStep::PinOnReader(*notice),
            LossStep::Pin(PinCheck::Blocked) => CardStep::PinBlocked,
            LossStep::Tail { tail, .. } => tail.step(),
        };
        CardServiceView {
            service: self.service(),
            step,
            print: self.print.state(),
        }
    }

    pub fn in_flight(&self) -> bool {
        matches!(&self.step, LossStep::Tail { tail, .. } if tail.sending())
    }

    /// Started and not finished: leaving now leaves it undone.
    pub fn in_progress(&self) -> bool {
        match &self.step {
            LossStep::Choose => false,
            LossStep::Pin(PinCheck::Blocked) => false,
            LossStep::Tail { tail, .. } => tail.in_progress(),
            _ => true,
        }
    }
}
