//! Identifying by the social security card in the reader (after its service PIN, unless the
//! session verified it already) or by the 二代身份证 on its reader: the first step of the
//! services that need to know who, not the card itself (certification, 亲情代办).

use super::card::Identification;
use super::pin::{CheckOutcome, PinCheck, PinEntryView, PinInput, PinNotice, PinPrompt};
use super::FlowContext;
use crate::failure::PinProblem;
use crate::ticket::Ticket;
use crate::Command;

/// Where identifying is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifying {
    /// Neither a card nor an ID card yet.
    Waiting,
    /// The card is in: its PIN.
    Pin(PinCheck),
}

/// What a step of identifying came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Identified(Identification),
    /// Still identifying; these go out meanwhile.
    Pending(Vec<Command>),
}

/// Identifying as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentifyingView {
    NeedsCardOrIdCard,
    EnterPin(PinEntryView),
    PinOnReader(Option<PinNotice>),
    CheckingPin,
    PinBlocked,
}

impl Identifying {
    /// Starts from what is there already: a card, else an ID card, else waits.
    pub fn start(ctx: &mut FlowContext) -> (Identifying, Progress) {
        let mut identifying = Identifying::Waiting;
        let progress = match identifying.card_identified(ctx) {
            Progress::Pending(commands)
                if commands.is_empty() && identifying == Identifying::Waiting =>
            {
                identifying.id_card_read(ctx)
            }
            progress => progress,
        };
        (identifying, progress)
    }

    /// The card in the reader identifies, after its PIN.
    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Progress {
        if *self != Identifying::Waiting || !ctx.identified {
            return Progress::Pending(Vec::new());
        }
        if *ctx.pin_verified {
            return Progress::Identified(Identification::Card);
        }
        let (check, commands) = PinCheck::start(PinPrompt::Service, ctx);
        *self = Identifying::Pin(check);
        Progress::Pending(commands)
    }

    /// An ID card on the reader identifies, while nothing else has.
    pub fn id_card_read(&mut self, ctx: &mut FlowContext) -> Progress {
        if *self == Identifying::Waiting && ctx.id_card {
            return Progress::Identified(Identification::IdCard);
        }
        Progress::Pending(Vec::new())
    }

    pub fn pin_input(&mut self, tap: PinInput, ctx: &mut FlowContext) -> Vec<Command> {
        match self {
            Identifying::Pin(check) => check.input(tap, ctx),
            Identifying::Waiting => Vec::new(),
        }
    }

    /// The card's answer to the PIN, taken only for the ticket the check waits for.
    pub fn pin_answered(
        &mut self,
        ticket: Ticket,
        result: Result<(), PinProblem>,
        ctx: &mut FlowContext,
    ) -> Progress {
        let Identifying::Pin(check) = self else {
            return Progress::Pending(Vec::new());
        };
        match check.answered(ticket, result, ctx) {
            (CheckOutcome::Verified, _) => Progress::Identified(Identification::Card),
            (CheckOutcome::Pending | CheckOutcome::Blocked, commands) => {
                Progress::Pending(commands)
            }
        }
    }

    pub fn view(&self) -> IdentifyingView {
        match self {
            Identifying::Waiting => IdentifyingView::NeedsCardOrIdCard,
            Identifying::Pin(PinCheck::Entering(entry)) => IdentifyingView::EnterPin(entry.view()),
            Identifying::Pin(PinCheck::Checking { .. }) => IdentifyingView::CheckingPin,
            Identifying::Pin(PinCheck::OnReader { notice, .. }) => {
                IdentifyingView::PinOnReader(*notice)
            }
            Identifying::Pin(PinCheck::Blocked) => IdentifyingView::PinBlocked,
        }
    }
}
