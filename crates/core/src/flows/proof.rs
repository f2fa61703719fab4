//! 打印证明: an A4 proof — 参保证明 (enrollment) or 个人权益记录 (contributions for chosen
//! years) — behind the card's PIN. The back end issues the proof's data and its verification
//! code (never made here); the A4 printer's readiness is known before anything is promised.
//! With the A4 printer down and the receipt printer up, the enrollment proof is offered as a
//! receipt copy, which says it is not an official proof.

use std::fmt;

use super::pin::{CheckOutcome, PinCheck, PinEntryView, PinInput, PinNotice, PinPrompt};
use super::{FlowContext, PrintJob, PrintState};
use crate::failure::{BackendProblem, NextStep, PinProblem, PrintProblem};
use crate::records::{InsuranceKind, InsuranceStatus};
use crate::session::DeviceHealth;
use crate::ticket::Ticket;
use crate::{Command, Date, Document, Request};

/// Which proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofKind {
    /// 参保证明.
    Enrollment,
    /// 个人权益记录.
    Contributions,
}

/// The years of a 个人权益记录 the resident can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YearSpan {
    ThisYear,
    LastYear,
    LastThree,
}

impl YearSpan {
    pub const ALL: [YearSpan; 3] = [YearSpan::ThisYear, YearSpan::LastYear, YearSpan::LastThree];

    /// The calendar years asked for, oldest first (the core never guesses the year: today
    /// comes from the shell).
    pub fn years(self, today: Date) -> Vec<i32> {
        let y = today.year;
        match self {
            YearSpan::ThisYear => vec![y],
            YearSpan::LastYear => vec![y - 1],
            YearSpan::LastThree => vec![y - 2, y - 1, y],
        }
    }
}

/// Where a proof is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Paper {
    /// The official proof, on the A4 printer.
    A4,
    /// The enrollment proof on the receipt printer, marked "凭条版，非正式证明".
    ReceiptCopy,
}

/// The A4 printer as the kiosk last heard of it, and why it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct A4Status {
    pub health: DeviceHealth,
    /// What keeps it from printing, when it refuses (out of paper, jammed, …).
    pub problem: Option<PrintProblem>,
}

impl A4Status {
    pub fn is_ready(self) -> bool {
        self.health == DeviceHealth::Online
    }
}

/// One insurance line of a 参保证明.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrollmentLine {
    pub kind: InsuranceKind,
    pub status: InsuranceStatus,
    /// `YYYY-MM` (as the back end sent it).
    pub since: String,
    /// Where the insurance is held, e.g. "重庆市渝中区".
    pub place: String,
}

/// One month of a 个人权益记录, amounts in fen.
#[derive(Clone, PartialEq, Eq)]
pub struct ProofMonth {
    pub month: u8,
    pub base_fen: u64,
    pub personal_fen: u64,
    pub employer_fen: u64,
    pub employer: String,
}

/// The months of one year.
#[derive(Clone, PartialEq, Eq)]
pub struct ProofYear {
    pub year: i32,
    pub months: Vec<ProofMonth>,
}

/// The back end's proof: its data, already masked, and the code it issued. Kept only by the
/// flow (and the print job) for the session.
#[derive(Clone, PartialEq, Eq)]
pub struct ProofAnswer {
    pub kind: ProofKind,
    pub masked_name: String,
    pub masked_id_number: String,
    pub enrollment: Vec<EnrollmentLine>,
    /// The chosen years that have records, oldest first.
    pub years: Vec<ProofYear>,
    /// Issued by the back end; anyone can check it at `verify_url`.
    pub verification_code: String,
    pub verify_url: String,
    /// `YYYY-MM-DD HH:MM`, the back end's time of issue.
    pub issued_at: String,
    /// The issuer's seal as PNG, from the back end (never stored).
    pub seal_png: Option<Vec<u8>>,
    /// Pages the A4 proof takes (the shell lays it out).
    pub pages: u8,
    /// The 流水号.
    pub reference: String,
}

impl ProofAnswer {
    /// Lines (enrollment) or months (contributions) on the proof.
    pub fn rows(&self) -> usize {
        match self.kind {
            ProofKind::Enrollment => self.enrollment.len(),
            ProofKind::Contributions => self.years.iter().map(|y| y.months.len()).sum(),
        }
    }
}

// A proof holds the resident's (masked) identity and records: Debug shows the shape only,
// and Debug output ends up in logs.
impl fmt::Debug for ProofAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofAnswer")
            .field("kind", &self.kind)
            .field("rows", &self.rows())
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for EnrollmentLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnrollmentLine { .. }")
    }
}

impl fmt::Debug for ProofMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProofMonth {{ month: {}, .. }}", self.month)
    }
}

impl fmt::Debug for ProofYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ProofYear {{ year: {}, months: {} }}",
            self.year,
            self.months.len()
        )
    }
}

/// A proof on its way to a printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofDocument {
    pub paper: Paper,
    pub proof: ProofAnswer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    NeedsCard,
    Pin(PinCheck),
    ChooseKind,
    ChooseYears,
    Loading { ticket: Ticket },
    Preview(Box<ProofAnswer>),
    Failed(BackendProblem),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFlow {
    step: Step,
    kind: Option<ProofKind>,
    span: Option<YearSpan>,
    a4: A4Status,
    receipt_printer: DeviceHealth,
    print: PrintJob,
    /// The paper of the last print (what the done / failed page talks about).
    paper: Paper,
}

/// Resident inputs the proof flow understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofInput {
    Choose(ProofKind),
    Years(YearSpan),
    /// 打印 on the preview (or again after a failure): on A4 when it is ready, else the
    /// receipt copy where one is allowed.
    Print,
    /// After an A4 failure: the enrollment proof on the receipt printer instead.
    PrintReceiptCopy,
    TryAgain,
}

/// Where the proof page is, as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofStepView {
    NeedsCard,
    EnterPin(PinEntryView),
    PinOnReader(Option<PinNotice>),
    CheckingPin,
    PinBlocked,
    /// The A4 printer's state is not known yet: nothing is offered until it is.
    CheckingPrinter,
    ChooseKind,
    ChooseYears,
    Loading,
    Preview,
    Failed {
        problem: BackendProblem,
        offers: &'static [NextStep],
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofView {
    pub step: ProofStepView,
    /// The kinds that can be printed now (contributions need the A4 printer).
    pub contributions_offered: bool,
    /// The A4 printer is down: the enrollment proof would be a receipt copy.
    pub receipt_copy_only: bool,
    /// Why the A4 printer refuses, when it does.
    pub a4_problem: Option<PrintProblem>,
    pub kind: Option<ProofKind>,
    pub span: Option<YearSpan>,
    /// The chosen years, oldest first.
    pub years: Vec<i32>,
    /// The preview's summary (and the done page's code).
    pub proof: Option<ProofSummary>,
    pub print: Option<PrintState>,
    pub paper: Paper,
    /// After a failed A4 print: the receipt copy can still be had.
    pub receipt_copy_offered: bool,
    /// "Print" would print now (on A4, or as the receipt copy when only that is possible).
    pub print_possible: bool,
}

/// What the preview shows: whose (masked), what, how long.
#[derive(Clone, PartialEq, Eq)]
pub struct ProofSummary {
    pub kind: ProofKind,
    pub masked_name: String,
    pub masked_id_number: String,
    /// The years with records (contributions), oldest first.
    pub years: Vec<i32>,
    pub rows: usize,
    pub pages: u8,
    pub verification_code: String,
    pub reference: String,
}

impl fmt::Debug for ProofSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofSummary")
            .field("kind", &self.kind)
            .field("rows", &self.rows)
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

impl ProofFlow {
    pub fn start(ctx: &mut FlowContext) -> (ProofFlow, Vec<Command>) {
        let mut flow = ProofFlow {
            step: Step::NeedsCard,
            kind: None,
            span: None,
            a4: ctx.a4_printer,
            receipt_printer: ctx.receipt_printer,
            print: PrintJob::default(),
            paper: Paper::A4,
        };
        let commands = flow.identify(ctx);
        (flow, commands)
    }

    fn identify(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        if !ctx.identified {
            self.step = Step::NeedsCard;
            return Vec::new();
        }
        if !*ctx.pin_verified {
            let (check, commands) = PinCheck::start(PinPrompt::Service, ctx);
            self.step = Step::Pin(check);
            return commands;
        }
        self.step = Step::ChooseKind;
        Vec::new()
    }

    fn receipt_copy_possible(&self) -> bool {
        !self.receipt_printer.is_down()
    }

    /// The A4 printer (or the receipt printer) changed.
    pub fn printers_changed(&mut self, a4: A4Status, receipt_printer: DeviceHealth) {
        self.a4 = a4;
        self.receipt_printer = receipt_printer;
    }

    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        if self.step == Step::NeedsCard {
            self.identify(ctx)
        } else {
            Vec::new()
        }
    }

    pub fn pin_input(&mut self, tap: PinInput, ctx: &mut FlowContext) -> Vec<Command> {
        match &mut self.step {
            Step::Pin(check) => check.input(tap, ctx),
            _ => Vec::new(),
        }
    }

    pub fn pin_answered(
        &mut self,
        ticket: Ticket,
        result: Result<(), PinProblem>,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        let Step::Pin(check) = &mut self.step else {
            return Vec::new();
        };
        match check.answered(ticket, result, ctx) {
            (CheckOutcome::Verified, _) => {
                self.step = Step::ChooseKind;
                Vec::new()
            }
            (CheckOutcome::Pending | CheckOutcome::Blocked, commands) => commands,
        }
    }

    fn fetch(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        let Some(kind) = self.kind else {
            return Vec::new();
        };
        let years = match (kind, self.span) {
            (ProofKind::Enrollment, _) => Vec::new(),
            (ProofKind::Contributions, Some(span)) => span.years(ctx.today),
            (ProofKind::Contributions, None) => return Vec::new(),
        };
        let ticket = ctx.tickets.issue();
        self.step = Step::Loading { ticket };
        self.print = PrintJob::default();
        vec![Command::Fetch {
            ticket,
            request: Request::Proof { kind, years },
        }]
    }

    /// The back end's proof, taken only if it is the one this flow waits for.
    pub fn answered(&mut self, ticket: Ticket, result: Result<Box<ProofAnswer>, BackendProblem>) {
        if self.step != (Step::Loading { ticket }) {
            return;
        }
        self.step = match result {
            Ok(answer) => Step::Preview(answer),
            Err(problem) => Step::Failed(problem),
        };
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        self.print.printed(ticket, result);
    }

    pub fn input(&mut self, input: ProofInput, ctx: &mut FlowContext) -> Vec<Command> {
        match input {
            ProofInput::Choose(kind) => {
                if self.step != Step::ChooseKind || self.checking_printer() {
                    return Vec::new();
                }
                if kind == ProofKind::Contributions && !self.a4.is_ready() {
                    // Only the A4 printer prints a 个人权益记录.
                    return Vec::new();
                }
                if kind == ProofKind::Enrollment
                    && !self.a4.is_ready()
                    && !self.receipt_copy_possible()
                {
                    return Vec::new();
                }
                self.kind = Some(kind);
                match kind {
                    ProofKind::Enrollment => self.fetch(ctx),
                    ProofKind::Contributions => {
                        self.step = Step::ChooseYears;
                        Vec::new()
                    }
                }
            }
            ProofInput::Years(span) => {
                if self.step != Step::ChooseYears {
                    return Vec::new();
                }
                self.span = Some(span);
                self.fetch(ctx)
            }
            ProofInput::TryAgain => {
                if matches!(self.step, Step::Failed(_)) {
                    return self.fetch(ctx);
                }
                Vec::new()
            }
            ProofInput::Print => {
                let paper = if self.a4.is_ready() {
                    Paper::A4
                } else {
                    Paper::ReceiptCopy
                };
                self.print_on(paper, ctx)
            }
            ProofInput::PrintReceiptCopy => self.print_on(Paper::ReceiptCopy, ctx),
        }
    }

    fn print_on(&mut self, paper: Paper, ctx: &mut FlowContext) -> Vec<Command> {
        let Step::Preview(answer) = &self.step else {
            return Vec::new();
        };
        if matches!(
            self.print.state(),
            Some(PrintState::Printing | PrintState::Printed)
        ) {
            return Vec::new();
        }
        let allowed = match paper {
            // The A4 adapter checks again right before it prints.
            Paper::A4 => !self.a4.health.is_down(),
            Paper::ReceiptCopy => {
                answer.kind == ProofKind::Enrollment && self.receipt_copy_possible()
            }
        };
        if !allowed {
            return Vec::new();
        }
        let ticket = ctx.tickets.issue();
        self.print.start(ticket);
        self.paper = paper;
        vec![Command::Print {
            ticket,
            document: Document::Proof(Box::new(ProofDocument {
                paper,
                proof: (**answer).clone(),
            })),
        }]
    }

    fn checking_printer(&self) -> bool {
        self.a4.health == DeviceHealth::Unknown
    }

    /// "Back" inside the flow: from the years to the kinds, from a preview or a failure to
    /// the choice. False when there is nothing earlier (or a print is under way).
    pub fn back(&mut self) -> bool {
        if self.print.is_printing() {
            return true;
        }
        match self.step {
            Step::ChooseYears => {
                self.step = Step::ChooseKind;
                true
            }
            Step::Preview(_) | Step::Failed(_) | Step::Loading { .. } => {
                self.step = if self.kind == Some(ProofKind::Contributions) {
                    Step::ChooseYears
                } else {
                    Step::ChooseKind
                };
                self.print = PrintJob::default();
                true
            }
            _ => false,
        }
    }

    pub fn view(&self, today: Date) -> ProofView {
        let step = match &self.step {
            Step::NeedsCard => ProofStepView::NeedsCard,
            Step::Pin(PinCheck::Entering(entry)) => ProofStepView::EnterPin(entry.view()),
            Step::Pin(PinCheck::Checking { .. }) => ProofStepView::CheckingPin,
            Step::Pin(PinCheck::OnReader { notice, .. }) => ProofStepView::PinOnReader(*notice),
            Step::Pin(PinCheck::Blocked) => ProofStepView::PinBlocked,
            Step::ChooseKind if self.checking_printer() => ProofStepView::CheckingPrinter,
            Step::ChooseKind => ProofStepView::ChooseKind,
            Step::ChooseYears => ProofStepView::ChooseYears,
            Step::Loading { .. } => ProofStepView::Loading,
            Step::Preview(_) => ProofStepView::Preview,
            Step::Failed(problem) => ProofStepView::Failed {
                problem: problem.clone(),
                offers: problem.next_steps(),
            },
        };
        let proof = match &self.step {
            Step::Preview(answer) => Some(ProofSummary {
                kind: answer.kind,
                masked_name: answer.masked_name.clone(),
                masked_id_number: answer.masked_id_number.clone(),
                years: answer.years.iter().map(|y| y.year).collect(),
                rows: answer.rows(),
                pages: answer.pages,
                verification_code: answer.verification_code.clone(),
                reference: answer.reference.clone(),
            }),
            _ => None,
        };
        let print = self.print.state();
        let receipt_copy_offered = matches!(print, Some(PrintState::Failed(_)))
            && self.paper == Paper::A4
            && proof
                .as_ref()
                .is_some_and(|p| p.kind == ProofKind::Enrollment)
            && self.receipt_copy_possible();
        let print_possible =
            proof.as_ref().is_some_and(|p| {
                !self.a4.health.is_down()
                    || (p.kind == ProofKind::Enrollment && self.receipt_copy_possible())
            }) && !matches!(print, Some(PrintState::Printing | PrintState::Printed));
        ProofView {
            step,
            contributions_offered: self.a4.is_ready(),
            receipt_copy_only: !self.a4.is_ready() && !self.checking_printer(),
            a4_problem: if self.a4.is_ready() {
                None
            } else {
                self.a4.problem
            },
            kind: self.kind,
            span: self.span,
            years: match (self.kind, self.span) {
                (Some(ProofKind::Contributions), Some(span)) => span.years(today),
                _ => Vec::new(),
            },
            proof,
            print,
            paper: self.paper,
            receipt_copy_offered,
            print_possible,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::flows::card::CardServiceInput;
    use crate::flows::{FlowInput, FlowView};
    use crate::identity::{CardGeneration, Gender, HolderSummary};
    use crate::session::{Blocker, DeviceKind, Event, Session, SessionSettings};
    use crate::{Language, Millis, ServiceId};

    const TODAY: Date = Date {
        year: 2027,
        month: 2,
        day: 10,
    };

    fn at(s: u64) -> Millis {
        Millis::from_secs(s)
    }

    fn session() -> Session {
        let mut s = Session::new(
            SessionSettings {
                default_language: Language::ZhCn,
                offered_languages: Language::ALL.to_vec(),
                elderly_by_default: false,
                idle_timeout: Millis::from_secs(60),
                idle_warning: Millis::from_secs(30),
                keypad_seed: 7,
                voice_always: false,
            },
            at(0),
        );
        s.handle(Event::Today(TODAY), at(0));
        for kind in [
            DeviceKind::CardReader,
            DeviceKind::Printer,
            DeviceKind::Network,
        ] {
            s.handle(Event::DeviceChanged(kind, DeviceHealth::Online), at(0));
        }
        s
    }

    fn a4(s: &mut Session, health: DeviceHealth, problem: Option<PrintProblem>) {
        s.handle(Event::A4PrinterChanged(A4Status { health, problem }), at(1));
    }

    fn holder() -> HolderSummary {
        HolderSummary {
            masked_name: "张*".into(),
            masked_id: "500103********1234".into(),
            generation: CardGeneration::Third,
            gender: Gender::Female,
            region_code: "500100".into(),
            expiry_date: None,
        }
    }

    fn view(s: &Session) -> ProofView {
        match s.view().flow {
            Some(FlowView::Proof(v)) => v,
            other => panic!("not the proof page: {other:?}"),
        }
    }

    fn tap(s: &mut Session, input: ProofInput) -> Vec<Command> {
        s.handle(Event::Flow(FlowInput::Proof(input)), at(2))
    }

    /// Card in, the tile, the PIN typed and verified: the choice is shown.
    fn to_choice(s: &mut Session) {
        s.handle(Event::CardIdentified(holder()), at(1));
        s.handle(Event::ServiceTapped(ServiceId::ProofPrint), at(1));
        let Some(ProofStepView::EnterPin(entry)) = Some(view(s).step) else {
            panic!("the PIN comes first");
        };
        let labels = entry.pad.layout.labels();
        for digit in b"123456" {
            let position = labels.iter().position(|l| *l == digit - b'0').unwrap();
            s.handle(
                Event::Flow(FlowInput::Card(CardServiceInput::Pin(PinInput::Key(
                    position,
                )))),
                at(1),
            );
        }
        let commands = s.handle(
            Event::Flow(FlowInput::Card(CardServiceInput::Pin(PinInput::Confirm))),
            at(1),
        );
        let ticket = commands
            .iter()
            .find_map(|c| match c {
                Command::VerifyPin { ticket, .. } => Some(*ticket),
                _ => None,
            })
            .expect("the PIN goes to the card");
        let after = s.handle(
            Event::PinAnswered {
                ticket,
                result: Ok(()),
            },
            at(1),
        );
        assert!(after.is_empty(), "nothing is asked before a choice");
    }

    fn fetch_of(commands: &[Command]) -> (Ticket, Request) {
        commands
            .iter()
            .find_map(|c| match c {
                Command::Fetch { ticket, request } => Some((*ticket, request.clone())),
                _ => None,
            })
            .expect("a request to the back end")
    }

    fn answer(kind: ProofKind) -> ProofAnswer {
        ProofAnswer {
            kind,
            masked_name: "张*".into(),
            masked_id_number: "500103********1234".into(),
            enrollment: vec![EnrollmentLine {
                kind: InsuranceKind::Pension,
                status: InsuranceStatus::Paying,
                since: "2015-07".into(),
                place: "重庆市渝中区".into(),
            }],
            years: vec![ProofYear {
                year: 2026,
                months: vec![ProofMonth {
                    month: 1,
                    base_fen: 500_000,
                    personal_fen: 40_000,
                    employer_fen: 80_000,
                    employer: "重庆某公司".into(),
                }],
            }],
            verification_code: "K7Q2-9XMA".into(),
            verify_url: "https://v.example/verify/K7Q2-9XMA".into(),
            issued_at: "2027-02-10 10:00".into(),
            seal_png: None,
            pages: 1,
            reference: "AB12".into(),
        }
    }

    fn print_of(commands: &[Command]) -> (Ticket, ProofDocument) {
        commands
            .iter()
            .find_map(|c| match c {
                Command::Print {
                    ticket,
                    document: Document::Proof(doc),
                } => Some((*ticket, (**doc).clone())),
                _ => None,
            })
            .expect("a proof to print")
    }

    #[test]
    fn the_pin_comes_before_any_choice_and_nothing_is_fetched_before_it() {
        let mut s = session();
        a4(&mut s, DeviceHealth::Online, None);
        s.handle(Event::CardIdentified(holder()), at(1));
        let commands = s.handle(Event::ServiceTapped(ServiceId::ProofPrint), at(1));
        assert!(!commands.iter().any(|c| matches!(c, Command::Fetch { .. })));
        assert!(matches!(view(&s).step, ProofStepView::EnterPin(_)));
        // A choice tapped now means nothing.
        assert!(tap(&mut s, ProofInput::Choose(ProofKind::Enrollment)).is_empty());
    }

    #[test]
    fn without_a_card_the_page_asks_for_one() {
        let mut s = session();
        a4(&mut s, DeviceHealth::Online, None);
        s.handle(Event::Start, at(1));
        s.handle(Event::ServiceTapped(ServiceId::ProofPrint), at(1));
        assert_eq!(view(&s).step, ProofStepView::NeedsCard);
    }

    #[test]
    fn enrollment_is_asked_for_and_printed_on_a4() {
        let mut s = session();
        a4(&mut s, DeviceHealth::Online, None);
        to_choice(&mut s);
        assert_eq!(view(&s).step, ProofStepView::ChooseKind);
        let (ticket, request) = fetch_of(&tap(&mut s, ProofInput::Choose(ProofKind::Enrollment)));
        assert_eq!(
            request,
            Request::Proof {
                kind: ProofKind::Enrollment,
                years: Vec::new()
            }
        );
        assert_eq!(view(&s).step, ProofStepView::Loading);
        s.handle(
            Event::ProofAnswered {
                ticket,
                result: Ok(Box::new(answer(ProofKind::Enrollment))),
            },
            at(3),
        );
        let v = view(&s);
        assert_eq!(v.step, ProofStepView::Preview);
        let summary = v.proof.expect("a summary");
        assert_eq!((summary.rows, summary.pages), (1, 1));
        assert_eq!(summary.masked_name, "张*");
        let (print, doc) = print_of(&tap(&mut s, ProofInput::Print));
        assert_eq!(doc.paper, Paper::A4);
        assert_eq!(doc.proof.verification_code, "K7Q2-9XMA");
        // A second tap while printing prints nothing more.
        assert!(tap(&mut s, ProofInput::Print).is_empty());
        s.handle(
            Event::Printed {
                ticket: print,
                result: Ok(()),
            },
            at(4),
        );
        assert_eq!(view(&s).print, Some(PrintState::Printed));
        assert!(tap(&mut s, ProofInput::Print).is_empty(), "printed once");
    }

    #[test]
    fn contributions_ask_for_the_chosen_years() {
        let mut s = session();
        a4(&mut s, DeviceHealth::Online, None);
        to_choice(&mut s);
        assert!(tap(&mut s, ProofInput::Choose(ProofKind::Contributions)).is_empty());
        assert_eq!(view(&s).step, ProofStepView::ChooseYears);
        let (_, request) = fetch_of(&tap(&mut s, ProofInput::Years(YearSpan::LastThree)));
        assert_eq!(
            request,
            Request::Proof {
                kind: ProofKind::Contributions,
                years: vec![2025, 2026, 2027]
            }
        );
        assert_eq!(view(&s).years, vec![2025, 2026, 2027]);
        // Back goes to the years, then to the kinds.
        s.handle(Event::BackTapped, at(3));
        assert_eq!(view(&s).step, ProofStepView::ChooseYears);
        s.handle(Event::BackTapped, at(3));
        assert_eq!(view(&s).step, ProofStepView::ChooseKind);
        assert_eq!(YearSpan::LastYear.years(TODAY), vec![2026]);
        assert_eq!(YearSpan::ThisYear.years(TODAY), vec![2027]);
    }

    #[test]
    fn nothing_is_offered_while_the_a4_printer_is_unknown() {
        let mut s = session();
        to_choice(&mut s);
        assert_eq!(view(&s).step, ProofStepView::CheckingPrinter);
        assert!(tap(&mut s, ProofInput::Choose(ProofKind::Enrollment)).is_empty());
        a4(&mut s, DeviceHealth::Online, None);
        assert_eq!(view(&s).step, ProofStepView::ChooseKind);
    }

    #[test]
    fn a_refusing_a4_printer_with_the_receipt_printer_up_offers_the_receipt_copy() {
        let mut s = session();
        a4(
            &mut s,
            DeviceHealth::HardwareError,
            Some(PrintProblem::PaperOut),
        );
        assert_eq!(s.view().blocker(ServiceId::ProofPrint), None);
        to_choice(&mut s);
        let v = view(&s);
        assert!(v.receipt_copy_only && !v.contributions_offered);
        assert_eq!(v.a4_problem, Some(PrintProblem::PaperOut));
        assert!(tap(&mut s, ProofInput::Choose(ProofKind::Contributions)).is_empty());
        let (ticket, _) = fetch_of(&tap(&mut s, ProofInput::Choose(ProofKind::Enrollment)));
        s.handle(
            Event::ProofAnswered {
                ticket,
                result: Ok(Box::new(answer(ProofKind::Enrollment))),
            },
            at(3),
        );
        let (_, doc) = print_of(&tap(&mut s, ProofInput::Print));
        assert_eq!(doc.paper, Paper::ReceiptCopy);
    }

    #[test]
    fn both_printers_down_grey_the_tile_with_the_a4_reason() {
        let mut s = session();
        a4(
            &mut s,
            DeviceHealth::HardwareError,
            Some(PrintProblem::Jammed),
        );
        s.handle(
            Event::DeviceChanged(DeviceKind::Printer, DeviceHealth::Offline),
            at(1),
        );
        assert_eq!(
            s.view().blocker(ServiceId::ProofPrint),
            Some(Blocker::A4Printer(Some(PrintProblem::Jammed)))
        );
        s.handle(Event::CardIdentified(holder()), at(1));
        s.handle(Event::ServiceTapped(ServiceId::ProofPrint), at(1));
        assert!(s.view().flow.is_none(), "the service does not start");
        // No A4 printer at all: the tile is greyed whatever the receipt printer does.
        let mut s = session();
        a4(&mut s, DeviceHealth::NoDevice, None);
        assert_eq!(
            s.view().blocker(ServiceId::ProofPrint),
            Some(Blocker::A4Printer(None))
        );
    }

    #[test]
    fn a_failed_print_says_why_and_may_be_retried_or_taken_as_a_receipt_copy() {
        let mut s = session();
        a4(&mut s, DeviceHealth::Online, None);
        to_choice(&mut s);
        let (ticket, _) = fetch_of(&tap(&mut s, ProofInput::Choose(ProofKind::Enrollment)));
        s.handle(
            Event::ProofAnswered {
                ticket,
                result: Ok(Box::new(answer(ProofKind::Enrollment))),
            },
            at(3),
        );
        let (print, _) = print_of(&tap(&mut s, ProofInput::Print));
        s.handle(
            Event::Printed {
                ticket: print,
                result: Err(PrintProblem::Jammed),
            },
            at(4),
        );
        let v = view(&s);
        assert_eq!(v.print, Some(PrintState::Failed(PrintProblem::Jammed)));
        assert!(v.receipt_copy_offered);
        // The same proof (the same code) again, under a new ticket.
        let (again, doc) = print_of(&tap(&mut s, ProofInput::Print));
        assert_ne!(again, print);
        assert_eq!(doc.proof.verification_code, "K7Q2-9XMA");
        s.handle(
            Event::Printed {
                ticket: again,
                result: Err(PrintProblem::PaperOut),
            },
            at(5),
        );
        let (_, doc) = print_of(&tap(&mut s, ProofInput::PrintReceiptCopy));
        assert_eq!(doc.paper, Paper::ReceiptCopy);
    }

    #[test]
    fn a_contributions_proof_is_never_a_receipt_copy() {
        let mut s = session();
        a4(&mut s, DeviceHealth::Online, None);
        to_choice(&mut s);
        tap(&mut s, ProofInput::Choose(ProofKind::Contributions));
        let (ticket, _) = fetch_of(&tap(&mut s, ProofInput::Years(YearSpan::LastYear)));
        s.handle(
            Event::ProofAnswered {
                ticket,
                result: Ok(Box::new(answer(ProofKind::Contributions))),
            },
            at(3),
        );
        a4(&mut s, DeviceHealth::Offline, None);
        assert!(tap(&mut s, ProofInput::Print).is_empty());
        assert!(tap(&mut s, ProofInput::PrintReceiptCopy).is_empty());
        let v = view(&s);
        assert!(!v.receipt_copy_offered && !v.print_possible);
    }

    #[test]
    fn late_answers_and_print_results_are_dropped_by_ticket() {
        let mut s = session();
        a4(&mut s, DeviceHealth::Online, None);
        to_choice(&mut s);
        let (first, _) = fetch_of(&tap(&mut s, ProofInput::Choose(ProofKind::Enrollment)));
        // The resident goes back and chooses again: the first answer is late.
        s.handle(Event::BackTapped, at(3));
        let (second, _) = fetch_of(&tap(&mut s, ProofInput::Choose(ProofKind::Enrollment)));
        assert_ne!(first, second);
        s.handle(
            Event::ProofAnswered {
                ticket: first,
                result: Ok(Box::new(answer(ProofKind::Enrollment))),
            },
            at(3),
        );
        assert_eq!(view(&s).step, ProofStepView::Loading);
        s.handle(
            Event::ProofAnswered {
                ticket: second,
                result: Err(BackendProblem::RouteUnavailable),
            },
            at(3),
        );
        assert!(matches!(view(&s).step, ProofStepView::Failed { .. }));
        let (third, _) = fetch_of(&tap(&mut s, ProofInput::TryAgain));
        s.handle(
            Event::ProofAnswered {
                ticket: third,
                result: Ok(Box::new(answer(ProofKind::Enrollment))),
            },
            at(3),
        );
        let (print, _) = print_of(&tap(&mut s, ProofInput::Print));
        // The card is taken out: a print result of that session changes nothing later.
        s.handle(Event::CardRemoved, at(4));
        to_choice(&mut s);
        s.handle(
            Event::Printed {
                ticket: print,
                result: Ok(()),
            },
            at(5),
        );
        let v = view(&s);
        assert_eq!((v.step, v.print), (ProofStepView::ChooseKind, None));
    }

    #[test]
    fn debug_shows_no_personal_data() {
        let a = answer(ProofKind::Contributions);
        let text = format!(
            "{a:?} {:?}",
            ProofDocument {
                paper: Paper::A4,
                proof: a.clone()
            }
        );
        for secret in ["张", "1234", "K7Q2", "重庆"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
