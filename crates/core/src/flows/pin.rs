//! PIN entry and card verification, shared by every flow that touches the holder's records or
//! the card: a pad that asks for one PIN, and the VERIFY round trip to the card behind it.
//! A PIN verified once holds for the card until it leaves or the session ends
//! ([`FlowContext::pin_verified`]).

use super::FlowContext;
use crate::failure::PinProblem;
use crate::identity::{Pin, WeakPin};
use crate::pinpad::{PinPad, PinPadView};
use crate::ticket::Ticket;
use crate::Command;

/// Which PIN the pad asks for; the page's words follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinPrompt {
    /// The card's service PIN (服务密码), to verify the holder.
    Service,
    /// The PIN the card was issued with (初始密码), before activation.
    Issuing,
    /// The current PIN, to change it.
    Old,
    /// A new six-digit PIN.
    New,
    /// The new PIN again.
    Repeat,
}

/// Why the last entry was not taken, shown above the pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinNotice {
    /// The card refused it.
    Wrong { retries_left: u8 },
    /// The card could not be asked (try again).
    CardFailed,
    /// Refused before the card: a new PIN anyone could guess.
    Weak(WeakPin),
    /// The repeat differs from the new PIN: enter the new one again.
    Mismatch,
}

impl PinNotice {
    /// What the pad says when it appears again after the card refused a PIN; `None` when the
    /// card blocked it (no pad appears then).
    pub fn after(problem: PinProblem) -> Option<PinNotice> {
        match problem {
            PinProblem::Wrong { retries_left } => Some(PinNotice::Wrong { retries_left }),
            PinProblem::CardFailed => Some(PinNotice::CardFailed),
            PinProblem::Blocked => None,
        }
    }
}

/// A tap on the pad. Keys come as positions: the digit under a position is known only to
/// the core's [`PinPad`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinInput {
    Key(usize),
    Delete,
    Confirm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinEntryView {
    pub prompt: PinPrompt,
    pub pad: PinPadView,
    pub notice: Option<PinNotice>,
}

/// One appearance of the pad: a fresh layout, asking for one PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinEntry {
    prompt: PinPrompt,
    pad: PinPad,
    notice: Option<PinNotice>,
}

impl PinEntry {
    pub fn new(prompt: PinPrompt, notice: Option<PinNotice>, ctx: &mut FlowContext) -> PinEntry {
        let (min, max) = match prompt {
            // New PINs are six digits; an existing one may be anything the card took.
            PinPrompt::New | PinPrompt::Repeat => (Pin::TYPICAL_DIGITS, Pin::TYPICAL_DIGITS),
            _ => (Pin::MIN_DIGITS, Pin::TYPICAL_DIGITS),
        };
        PinEntry {
            prompt,
            pad: PinPad::new(ctx.next_seed(), min, max),
            notice,
        }
    }

    /// A key, delete or confirm; the PIN once confirmed with enough digits.
    pub fn input(&mut self, input: PinInput) -> Option<Pin> {
        match input {
            PinInput::Key(position) => self.pad.press(position),
            PinInput::Delete => self.pad.delete(),
            PinInput::Confirm => return self.pad.submit(),
        }
        None
    }

    pub fn prompt(&self) -> PinPrompt {
        self.prompt
    }

    pub fn view(&self) -> PinEntryView {
        PinEntryView {
            prompt: self.prompt,
            pad: self.pad.view(),
            notice: self.notice,
        }
    }
}

/// Where a verification of the service PIN is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinCheck {
    Entering(PinEntry),
    Checking {
        ticket: Ticket,
    },
    /// The reader has its own keypad (PC/SC Part 10): the PIN goes from it to the card and
    /// never through the kiosk; the screen only says where to type.
    OnReader {
        ticket: Ticket,
        notice: Option<PinNotice>,
    },
    /// Six wrong PINs: the card refuses until a counter unblocks it.
    Blocked,
}

/// What a PIN check came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Still entering or waiting for the card.
    Pending,
    Verified,
    Blocked,
}

impl PinCheck {
    /// The pad on screen, or the reader's keypad where it has one (then VERIFY is asked at
    /// once).
    pub fn start(prompt: PinPrompt, ctx: &mut FlowContext) -> (PinCheck, Vec<Command>) {
        if ctx.secure_pin_entry {
            return PinCheck::on_reader(None, ctx);
        }
        (
            PinCheck::Entering(PinEntry::new(prompt, None, ctx)),
            Vec::new(),
        )
    }

    fn on_reader(notice: Option<PinNotice>, ctx: &mut FlowContext) -> (PinCheck, Vec<Command>) {
        let ticket = ctx.tickets.issue();
        (
            PinCheck::OnReader { ticket, notice },
            vec![Command::VerifyPinOnReader { ticket }],
        )
    }

    /// A pad tap; on confirm, the PIN goes to the card to be verified.
    pub fn input(&mut self, input: PinInput, ctx: &mut FlowContext) -> Vec<Command> {
        let PinCheck::Entering(entry) = self else {
            return Vec::new();
        };
        match entry.input(input) {
            Some(pin) => {
                let ticket = ctx.tickets.issue();
                *self = PinCheck::Checking { ticket };
                vec![Command::VerifyPin { ticket, pin }]
            }
            None => Vec::new(),
        }
    }

    /// The card's answer, taken only for the ticket this check waits for; on the reader's
    /// keypad a wrong PIN is asked for again at once.
    pub fn answered(
        &mut self,
        ticket: Ticket,
        result: Result<(), PinProblem>,
        ctx: &mut FlowContext,
    ) -> (CheckOutcome, Vec<Command>) {
        let on_reader = match self {
            PinCheck::Checking { ticket: waiting } if *waiting == ticket => false,
            PinCheck::OnReader {
                ticket: waiting, ..
            } if *waiting == ticket => true,
            PinCheck::Blocked => return (CheckOutcome::Blocked, Vec::new()),
            _ => return (CheckOutcome::Pending, Vec::new()),
        };
        let problem = match result {
            Ok(()) => {
                *ctx.pin_verified = true;
                return (CheckOutcome::Verified, Vec::new());
            }
            Err(problem) => problem,
        };
        let Some(notice) = PinNotice::after(problem) else {
            *self = PinCheck::Blocked;
            return (CheckOutcome::Blocked, Vec::new());
        };
        if on_reader {
            let (check, commands) = PinCheck::on_reader(Some(notice), ctx);
            *self = check;
            return (CheckOutcome::Pending, commands);
        }
        *self = PinCheck::Entering(PinEntry::new(PinPrompt::Service, Some(notice), ctx));
        (CheckOutcome::Pending, Vec::new())
    }

    /// Where the reader's keypad takes the PIN: what the last try came to.
    pub fn on_reader_view(&self) -> Option<Option<PinNotice>> {
        match self {
            PinCheck::OnReader { notice, .. } => Some(*notice),
            _ => None,
        }
    }

    pub fn entry_view(&self) -> Option<PinEntryView> {
        match self {
            PinCheck::Entering(entry) => Some(entry.view()),
            _ => None,
        }
    }
}

/// A new PIN entered twice: the first is held (zeroizing) until the repeat matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPin {
    entry: PinEntry,
    first: Option<Pin>,
}

impl NewPin {
    pub fn start(ctx: &mut FlowContext) -> NewPin {
        NewPin {
            entry: PinEntry::new(PinPrompt::New, None, ctx),
            first: None,
        }
    }

    /// A pad tap. The new PIN once it was entered twice alike and is not weak; `old` is the
    /// PIN it replaces (a new one must differ).
    pub fn input(&mut self, input: PinInput, old: &Pin, ctx: &mut FlowContext) -> Option<Pin> {
        let pin = self.entry.input(input)?;
        match self.first.take() {
            None => {
                if let Some(weakness) = pin.weakness(Some(old)) {
                    self.entry =
                        PinEntry::new(PinPrompt::New, Some(PinNotice::Weak(weakness)), ctx);
                    return None;
                }
                self.first = Some(pin);
                self.entry = PinEntry::new(PinPrompt::Repeat, None, ctx);
                None
            }
            Some(first) if first == pin => Some(pin),
            Some(_) => {
                self.entry = PinEntry::new(PinPrompt::New, Some(PinNotice::Mismatch), ctx);
                None
            }
        }
    }

    pub fn view(&self) -> PinEntryView {
        self.entry.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::TicketBook;
    use crate::{Date, SeedStream};

    struct Rig {
        tickets: TicketBook,
        verified: bool,
        seeds: SeedStream,
        secure: bool,
    }

    impl Rig {
        fn new() -> Rig {
            Rig {
                tickets: TicketBook::new(0, 1),
                verified: false,
                seeds: SeedStream::new(7),
                secure: false,
            }
        }

        fn ctx(&mut self) -> FlowContext<'_> {
            FlowContext {
                identified: true,
                today: Date::default(),
                elderly: false,
                tickets: &mut self.tickets,
                pin_verified: &mut self.verified,
                seeds: &mut self.seeds,
                id_card_reader: true,
                id_card: false,
                secure_pin_entry: self.secure,
                a4_printer: Default::default(),
                receipt_printer: Default::default(),
            }
        }
    }

    /// Types `digits` on the pad by finding each digit's position in the layout shown.
    fn type_pin(view: PinEntryView, digits: &str) -> Vec<PinInput> {
        let labels = view.pad.layout.labels();
        let mut taps: Vec<PinInput> = digits
            .bytes()
            .map(|d| {
                let position = labels.iter().position(|l| *l == d - b'0').expect("digit");
                PinInput::Key(position)
            })
            .collect();
        taps.push(PinInput::Confirm);
        taps
    }

    #[test]
    fn a_wrong_pin_says_the_tries_left_on_a_reshuffled_pad_and_the_right_one_verifies() {
        let mut rig = Rig::new();
        let (mut check, _) = PinCheck::start(PinPrompt::Service, &mut rig.ctx());
        let first_layout = check.entry_view().expect("pad").pad.layout;
        let mut commands = Vec::new();
        for tap in type_pin(check.entry_view().expect("pad"), "654321") {
            commands = check.input(tap, &mut rig.ctx());
        }
        let [Command::VerifyPin { ticket, pin }] = commands.as_slice() else {
            panic!("expected one VerifyPin, got {commands:?}");
        };
        assert_eq!(*pin, Pin::new("654321").expect("pin"));
        let (outcome, _) = check.answered(
            *ticket,
            Err(PinProblem::Wrong { retries_left: 4 }),
            &mut rig.ctx(),
        );
        assert_eq!(outcome, CheckOutcome::Pending);
        let view = check.entry_view().expect("pad again");
        assert_eq!(view.notice, Some(PinNotice::Wrong { retries_left: 4 }));
        assert_ne!(view.pad.layout, first_layout, "the pad reshuffles");
        assert_eq!(view.pad.entered, 0);
        for tap in type_pin(view, "123456") {
            commands = check.input(tap, &mut rig.ctx());
        }
        let [Command::VerifyPin { ticket, .. }] = commands.as_slice() else {
            panic!("expected VerifyPin");
        };
        assert_eq!(
            check.answered(*ticket, Ok(()), &mut rig.ctx()).0,
            CheckOutcome::Verified
        );
        assert!(rig.verified);
    }

    #[test]
    fn an_answer_for_another_ticket_is_ignored_and_blocked_stays_blocked() {
        let mut rig = Rig::new();
        let (mut check, _) = PinCheck::start(PinPrompt::Service, &mut rig.ctx());
        let mut commands = Vec::new();
        for tap in type_pin(check.entry_view().expect("pad"), "000000") {
            commands = check.input(tap, &mut rig.ctx());
        }
        let [Command::VerifyPin { ticket, .. }] = commands.as_slice() else {
            panic!("expected VerifyPin");
        };
        let stale = Ticket {
            step: ticket.step + 7,
            ..*ticket
        };
        assert_eq!(
            check.answered(stale, Ok(()), &mut rig.ctx()).0,
            CheckOutcome::Pending
        );
        assert!(!rig.verified, "a stale answer verifies nothing");
        assert_eq!(
            check
                .answered(*ticket, Err(PinProblem::Blocked), &mut rig.ctx())
                .0,
            CheckOutcome::Blocked
        );
        assert!(check.input(PinInput::Confirm, &mut rig.ctx()).is_empty());
        assert_eq!(check.entry_view(), None);
    }

    #[test]
    fn a_reader_with_a_keypad_takes_the_pin_and_asks_again_after_a_wrong_one() {
        let mut rig = Rig::new();
        rig.secure = true;
        let (mut check, commands) = PinCheck::start(PinPrompt::Service, &mut rig.ctx());
        let [Command::VerifyPinOnReader { ticket }] = commands.as_slice() else {
            panic!("expected VerifyPinOnReader, got {commands:?}");
        };
        assert_eq!(check.entry_view(), None, "no pad on screen");
        assert_eq!(check.on_reader_view(), Some(None));
        let (outcome, again) = check.answered(
            *ticket,
            Err(PinProblem::Wrong { retries_left: 3 }),
            &mut rig.ctx(),
        );
        assert_eq!(outcome, CheckOutcome::Pending);
        let [Command::VerifyPinOnReader { ticket: second }] = again.as_slice() else {
            panic!("expected a second VerifyPinOnReader, got {again:?}");
        };
        assert_ne!(second, ticket);
        assert_eq!(
            check.on_reader_view(),
            Some(Some(PinNotice::Wrong { retries_left: 3 }))
        );
        assert_eq!(
            check.answered(*second, Ok(()), &mut rig.ctx()).0,
            CheckOutcome::Verified
        );
    }

    #[test]
    fn a_new_pin_is_refused_when_weak_or_unequal_and_taken_when_entered_twice() {
        let mut rig = Rig::new();
        let old = Pin::new("123456").expect("pin");
        let mut new = NewPin::start(&mut rig.ctx());
        let enter = |new: &mut NewPin, rig: &mut Rig, digits: &str| {
            let mut result = None;
            for tap in type_pin(new.view(), digits) {
                result = new.input(tap, &old, &mut rig.ctx());
            }
            result
        };
        assert_eq!(enter(&mut new, &mut rig, "111111"), None);
        assert_eq!(new.view().notice, Some(PinNotice::Weak(WeakPin::AllSame)));
        assert_eq!(enter(&mut new, &mut rig, "987654"), None);
        assert_eq!(new.view().notice, Some(PinNotice::Weak(WeakPin::Sequence)));
        assert_eq!(enter(&mut new, &mut rig, "802211"), None);
        assert_eq!(new.view().prompt, PinPrompt::Repeat);
        assert_eq!(enter(&mut new, &mut rig, "802212"), None);
        assert_eq!(new.view().notice, Some(PinNotice::Mismatch));
        assert_eq!(new.view().prompt, PinPrompt::New);
        assert_eq!(enter(&mut new, &mut rig, "802211"), None);
        assert_eq!(
            enter(&mut new, &mut rig, "802211"),
            Some(Pin::new("802211").expect("pin"))
        );
    }

    #[test]
    fn the_old_pin_again_is_not_a_new_one() {
        let old = Pin::new("802211").expect("pin");
        assert_eq!(
            Pin::new("802211").expect("pin").weakness(Some(&old)),
            Some(WeakPin::Unchanged)
        );
        assert_eq!(
            Pin::new("8022").expect("pin").weakness(None),
            Some(WeakPin::NotSixDigits)
        );
        assert_eq!(Pin::new("135790").expect("pin").weakness(None), None);
    }
}
