//! What can go wrong with a device or the back end, as the core sees it. Adapters turn their
//! own errors into these; only `ui/` turns them into words, and the flows decide what the
//! resident is offered next.

/// Why a card in the reader could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardProblem {
    /// The chip did not answer as a card should (dirty, damaged, put in the wrong way round).
    Unreadable,
    /// A third-generation card whose files need the terminal's authentication module (PSAM).
    NeedsAuthenticationModule,
    /// A chip card, but not a social security card (a bank card, a transport card).
    NotSocialSecurityCard,
    /// The reader itself is missing or its service is down.
    ReaderUnavailable,
}

/// Why the card did not accept a PIN, or could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinProblem {
    /// The card refused the PIN; it allows `retries_left` more tries before it blocks.
    Wrong { retries_left: u8 },
    /// No tries left: only a staffed counter can unblock the PIN.
    Blocked,
    /// The card did not answer (taken out, unreadable): nothing was checked.
    CardFailed,
}

/// Why a receipt was not printed (completely).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrintProblem {
    PaperOut,
    CoverOpen,
    /// Paper stuck in the printer (the A4 printer says `media-jam`).
    Jammed,
    /// Sent, but the printer never said it finished: the page may or may not be in the
    /// tray.
    Unconfirmed,
    /// The printer does not answer, is missing, or reports a hardware fault.
    Offline,
}

/// A reason the back end gave for refusing, reduced to what the core acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// The back end has no records for this card or person.
    NotFound,
    /// The card is blocked or reported lost: it cannot be used for this.
    CardBlocked,
    CardNotActivated,
    /// Any other code: the back end's own message says what it means.
    Other,
}

/// The back end's message for residents, in both languages, as it sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BilingualMessage {
    pub zh: String,
    pub en: String,
}

/// Why a back-end request gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BackendProblem {
    /// The route is down (breaker open, unreachable) or the terminal is still confirming
    /// earlier transactions after a restart: nothing was done.
    RouteUnavailable,
    /// Sent, but no answer came in time: the outcome is not known yet. For a query nothing
    /// changed; for a mutation the journal will find out.
    OutcomeUnknown,
    /// The back end refused, with its code and message.
    Rejected {
        reason: Rejection,
        message: Option<BilingualMessage>,
    },
}

/// What a flow offers after a failure, besides "back" and "home".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextStep {
    /// Send the same request again (a new attempt, under a new ticket).
    TryAgain,
    /// Open the service-point finder for a staffed counter.
    FindCounter,
}

impl BackendProblem {
    /// What makes sense to try after this problem, most useful first.
    pub fn next_steps(&self) -> &'static [NextStep] {
        match self {
            BackendProblem::RouteUnavailable | BackendProblem::OutcomeUnknown => {
                &[NextStep::TryAgain, NextStep::FindCounter]
            }
            BackendProblem::Rejected { .. } => &[NextStep::FindCounter],
        }
    }
}
