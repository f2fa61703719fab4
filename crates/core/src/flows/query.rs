//! A query of the card holder's records: waits for the card, asks the back end, shows the
//! answer a year and a page at a time, prints it.

use super::pin::{CheckOutcome, PinCheck, PinEntryView, PinInput, PinNotice, PinPrompt};
use super::{FlowContext, PrintJob, PrintState};
use crate::failure::{BackendProblem, NextStep, PinProblem, PrintProblem};
use crate::records::{Cell, Layout, Records, SummaryLine};
use crate::ticket::Ticket;
use crate::{Command, Date, Document, Request, ServiceId};

/// The records a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryKind {
    CardStatus,
    Enrollment,
    /// Every month up to the end of `through_year` (today's year: the core never guesses it).
    Contributions {
        through_year: i32,
    },
    PensionPayments,
    MedicalAccount,
}

impl QueryKind {
    pub fn for_service(service: ServiceId, today: Date) -> Option<QueryKind> {
        Some(match service {
            ServiceId::CardStatus => QueryKind::CardStatus,
            ServiceId::EnrollmentQuery => QueryKind::Enrollment,
            ServiceId::ContributionQuery => QueryKind::Contributions {
                through_year: today.year,
            },
            ServiceId::PensionPaymentQuery => QueryKind::PensionPayments,
            ServiceId::MedicalAccountQuery => QueryKind::MedicalAccount,
            _ => return None,
        })
    }
}

/// The back end's answer to a records query, with the journal's reference for the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub records: Records,
    /// The 流水号 a resident quotes when calling about it.
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    NeedsCard,
    /// Records are released only to whoever knows the card's PIN.
    Pin(PinCheck),
    Loading {
        ticket: Ticket,
    },
    Answered(Box<Answer>),
    Failed(BackendProblem),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFlow {
    service: ServiceId,
    step: Step,
    /// The year shown, for records read by year.
    year: Option<i32>,
    /// The page of the table shown, from 0.
    page: usize,
    print: PrintJob,
}

/// Where the query page is, as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStepView {
    NeedsCard,
    EnterPin(PinEntryView),
    /// The reader's keypad takes the PIN; what the last try came to.
    PinOnReader(Option<PinNotice>),
    CheckingPin,
    PinBlocked,
    Loading,
    Answered,
    Failed {
        problem: BackendProblem,
        offers: &'static [NextStep],
    },
}

/// The year chooser: the year shown and whether there is an older / newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearChoice {
    pub year: i32,
    pub has_older: bool,
    pub has_newer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryView {
    pub service: ServiceId,
    pub step: QueryStepView,
    pub year: Option<YearChoice>,
    pub summary: Vec<SummaryLine>,
    pub columns: Vec<&'static str>,
    /// The rows of the current page only.
    pub rows: Vec<Vec<Cell>>,
    /// The page shown (from 1) and how many there are; 1 of 1 when everything fits.
    pub page: usize,
    pub pages: usize,
    pub print: Option<PrintState>,
}

/// Resident inputs a query understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryInput {
    NextPage,
    PreviousPage,
    OlderYear,
    NewerYear,
    TryAgain,
    Print,
}

/// How many table rows fit on one page: fewer in elderly mode, whose rows are taller.
pub fn rows_per_page(elderly: bool) -> usize {
    if elderly {
        3
    } else {
        8
    }
}

impl QueryFlow {
    pub fn start(service: ServiceId, ctx: &mut FlowContext) -> (QueryFlow, Vec<Command>) {
        let mut flow = QueryFlow {
            service,
            step: Step::NeedsCard,
            year: None,
            page: 0,
            print: PrintJob::default(),
        };
        let commands = flow.fetch_if_identified(ctx);
        (flow, commands)
    }

    fn fetch_if_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        if !ctx.identified {
            self.step = Step::NeedsCard;
            return Vec::new();
        }
        if !*ctx.pin_verified {
            let (check, commands) = PinCheck::start(PinPrompt::Service, ctx);
            self.step = Step::Pin(check);
            return commands;
        }
        self.fetch(ctx)
    }

    fn fetch(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        let Some(kind) = QueryKind::for_service(self.service, ctx.today) else {
            return Vec::new();
        };
        let ticket = ctx.tickets.issue();
        self.step = Step::Loading { ticket };
        self.print = PrintJob::default();
        vec![Command::Fetch {
            ticket,
            request: Request::Records(kind),
        }]
    }

    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        if self.step == Step::NeedsCard {
            self.fetch_if_identified(ctx)
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
            (CheckOutcome::Verified, _) => self.fetch(ctx),
            (CheckOutcome::Pending | CheckOutcome::Blocked, commands) => commands,
        }
    }

    /// An answer is taken only if it is the one this flow is waiting for.
    pub fn answered(
        &mut self,
        ticket: Ticket,
        result: Result<Answer, BackendProblem>,
        today: Date,
    ) {
        if self.step != (Step::Loading { ticket }) {
            return;
        }
        match result {
            Ok(answer) => {
                self.year = answer.records.years(today).first().copied();
                self.page = 0;
                self.step = Step::Answered(Box::new(answer));
            }
            Err(problem) => self.step = Step::Failed(problem),
        }
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        self.print.printed(ticket, result);
    }

    pub fn input(&mut self, input: QueryInput, ctx: &mut FlowContext) -> Vec<Command> {
        match input {
            QueryInput::TryAgain => {
                if matches!(self.step, Step::Failed(_)) {
                    return self.fetch_if_identified(ctx);
                }
            }
            QueryInput::NextPage => {
                let pages = self.pages(ctx.today, ctx.elderly);
                if self.page + 1 < pages {
                    self.page += 1;
                }
            }
            QueryInput::PreviousPage => self.page = self.page.saturating_sub(1),
            QueryInput::OlderYear | QueryInput::NewerYear => {
                let Step::Answered(answer) = &self.step else {
                    return Vec::new();
                };
                let years = answer.records.years(ctx.today);
                let Some(position) = self.year.and_then(|y| years.iter().position(|x| *x == y))
                else {
                    return Vec::new();
                };
                // Years run newest first: older is further down the list.
                let next = if input == QueryInput::OlderYear {
                    years.get(position + 1)
                } else {
                    position.checked_sub(1).and_then(|p| years.get(p))
                };
                if let Some(year) = next {
                    self.year = Some(*year);
                    self.page = 0;
                    // A receipt is of one year: another year may be printed again.
                    self.print = PrintJob::default();
                }
            }
            QueryInput::Print => {
                let Step::Answered(answer) = &self.step else {
                    return Vec::new();
                };
                if matches!(
                    self.print.state(),
                    Some(PrintState::Printing | PrintState::Printed)
                ) {
                    return Vec::new();
                }
                let layout = self.layout(answer, ctx.today);
                let ticket = ctx.tickets.issue();
                self.print.start(ticket);
                return vec![Command::Print {
                    ticket,
                    document: Document::Records {
                        service: self.service,
                        year: self.year,
                        layout,
                        reference: answer.reference.clone(),
                    },
                }];
            }
        }
        Vec::new()
    }

    fn layout(&self, answer: &Answer, today: Date) -> Layout {
        answer
            .records
            .layout(self.year.unwrap_or(today.year), today)
    }

    fn pages(&self, today: Date, elderly: bool) -> usize {
        match &self.step {
            Step::Answered(answer) => self
                .layout(answer, today)
                .rows
                .len()
                .div_ceil(rows_per_page(elderly))
                .max(1),
            _ => 1,
        }
    }

    pub fn view(&self, today: Date, elderly: bool) -> QueryView {
        let mut view = QueryView {
            service: self.service,
            step: QueryStepView::NeedsCard,
            year: None,
            summary: Vec::new(),
            columns: Vec::new(),
            rows: Vec::new(),
            page: 1,
            pages: 1,
            print: self.print.state(),
        };
        match &self.step {
            Step::NeedsCard => {}
            Step::Pin(PinCheck::Entering(entry)) => {
                view.step = QueryStepView::EnterPin(entry.view())
            }
            Step::Pin(PinCheck::Checking { .. }) => view.step = QueryStepView::CheckingPin,
            Step::Pin(PinCheck::OnReader { notice, .. }) => {
                view.step = QueryStepView::PinOnReader(*notice)
            }
            Step::Pin(PinCheck::Blocked) => view.step = QueryStepView::PinBlocked,
            Step::Loading { .. } => view.step = QueryStepView::Loading,
            Step::Failed(problem) => {
                view.step = QueryStepView::Failed {
                    problem: problem.clone(),
                    offers: problem.next_steps(),
                }
            }
            Step::Answered(answer) => {
                view.step = QueryStepView::Answered;
                let layout = self.layout(answer, today);
                let per_page = rows_per_page(elderly);
                view.pages = layout.rows.len().div_ceil(per_page).max(1);
                // Elderly mode toggled on a later page: stay on the last one that exists.
                let page = self.page.min(view.pages - 1);
                view.page = page + 1;
                view.rows = layout
                    .rows
                    .into_iter()
                    .skip(page * per_page)
                    .take(per_page)
                    .collect();
                view.summary = layout.summary;
                view.columns = layout.columns;
                if let Some(year) = self.year {
                    let years = answer.records.years(today);
                    view.year = Some(YearChoice {
                        year,
                        has_older: years.last().is_some_and(|oldest| *oldest < year),
                        has_newer: years.first().is_some_and(|newest| *newest > year),
                    });
                }
            }
        }
        view
    }
}
