//! 亲情代办: a pensioner binds up to four relatives who may certify for them (帮你认), and
//! unbinds them. Identify (card and PIN, or ID card), the list, then one change at a time —
//! add (the relative's ID number and name typed) or remove — each sent exactly once, with a
//! receipt.

use super::identify::{Identifying, IdentifyingView, Progress};
use super::{FlowContext, PrintJob, PrintState};
use crate::entry::{IdEntryState, IdNumberEntry, TypedName};
use crate::failure::{BackendProblem, NextStep, PinProblem, PrintProblem};
use crate::flows::card::{CardServiceInput, Identification};
use crate::flows::pin::PinEntryView;
use crate::identity::IdNumber;
use crate::ticket::Ticket;
use crate::{Command, Document, Request};

/// How many relatives a pensioner may bind (the contract's limit).
pub const MAX_PROXIES: usize = 4;

/// A bound relative, masked for the screen; `slot` names it to the shell, which holds who.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyEntry {
    pub masked_name: String,
    pub masked_id: String,
    pub slot: u8,
}

/// A change to the bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyChange {
    Add {
        id_number: IdNumber,
        name: TypedName,
    },
    /// The entry the list showed in `slot`, with its masked ID number so the shell removes
    /// exactly the one the resident saw.
    Remove { slot: u8, masked_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyReply {
    /// The pensioner (masked) and their relatives.
    List {
        masked_name: String,
        proxies: Vec<ProxyEntry>,
    },
    /// The change was applied: the new list and the 流水号.
    Changed {
        masked_name: String,
        proxies: Vec<ProxyEntry>,
        reference: String,
    },
}

/// What the receipt of a change carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyReceipt {
    pub masked_name: String,
    /// The relative added or removed, masked.
    pub changed: String,
    pub added: bool,
    pub count: usize,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyStep {
    NeedsCardOrIdCard,
    EnterPin(PinEntryView),
    PinOnReader(Option<super::pin::PinNotice>),
    CheckingPin,
    PinBlocked,
    LookingUp,
    List {
        masked_name: String,
        proxies: Vec<ProxyEntry>,
        /// Four bound already: adding is refused until one is removed.
        full: bool,
    },
    TypeIdNumber {
        masked: String,
        state: IdEntryState,
    },
    TypeName {
        letters: String,
    },
    /// Before the change is sent: whom it adds or removes.
    Confirm {
        added: bool,
        who: String,
    },
    Sending,
    Done(ProxyReceipt),
    Failed {
        problem: BackendProblem,
        offers: &'static [NextStep],
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyView {
    pub step: ProxyStep,
    pub print: Option<PrintState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Identifying(Identifying),
    LookingUp {
        ticket: Ticket,
    },
    List,
    TypeId(IdNumberEntry),
    TypeName {
        id_number: IdNumber,
        name: TypedName,
    },
    Confirm(ProxyChange),
    Sending {
        ticket: Ticket,
        change: ProxyChange,
    },
    Done(ProxyReceipt),
    /// A failed lookup (`change` None) or change; trying again resends under the same ticket.
    Failed {
        problem: BackendProblem,
        retry: Option<(Ticket, ProxyChange)>,
    },
}

impl Step {
    /// Nothing identified yet (also the placeholder while a step is taken apart).
    const WAITING: Step = Step::Identifying(Identifying::Waiting);
}

/// The bindings of the pensioner who identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyFlow {
    who: Option<Identification>,
    masked_name: String,
    proxies: Vec<ProxyEntry>,
    step: Step,
    print: PrintJob,
}

impl ProxyFlow {
    pub fn start(ctx: &mut FlowContext) -> (ProxyFlow, Vec<Command>) {
        let mut flow = ProxyFlow {
            who: None,
            masked_name: String::new(),
            proxies: Vec::new(),
            step: Step::WAITING,
            print: PrintJob::default(),
        };
        let (identifying, progress) = Identifying::start(ctx);
        flow.step = Step::Identifying(identifying);
        let commands = flow.progress(progress, ctx);
        (flow, commands)
    }

    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        match &mut self.step {
            Step::Identifying(identifying) => {
                let progress = identifying.card_identified(ctx);
                self.progress(progress, ctx)
            }
            _ => Vec::new(),
        }
    }

    pub fn id_card_read(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        match &mut self.step {
            Step::Identifying(identifying) => {
                let progress = identifying.id_card_read(ctx);
                self.progress(progress, ctx)
            }
            _ => Vec::new(),
        }
    }

    fn progress(&mut self, progress: Progress, ctx: &mut FlowContext) -> Vec<Command> {
        match progress {
            Progress::Identified(who) => self.look_up(who, ctx),
            Progress::Pending(commands) => commands,
        }
    }

    fn look_up(&mut self, who: Identification, ctx: &mut FlowContext) -> Vec<Command> {
        self.who = Some(who.clone());
        let ticket = ctx.tickets.issue();
        self.step = Step::LookingUp { ticket };
        vec![Command::Fetch {
            ticket,
            request: Request::Proxies { who, change: None },
        }]
    }

    fn send(&self, ticket: Ticket, change: &ProxyChange) -> Vec<Command> {
        let Some(who) = self.who.clone() else {
            return Vec::new();
        };
        vec![Command::Fetch {
            ticket,
            request: Request::Proxies {
                who,
                change: Some(change.clone()),
            },
        }]
    }

    pub fn input(&mut self, input: CardServiceInput, ctx: &mut FlowContext) -> Vec<Command> {
        use CardServiceInput as In;
        let step = std::mem::replace(&mut self.step, Step::WAITING);
        let (step, commands) = match (step, input) {
            (Step::Identifying(identifying), In::UseIdCard) => {
                self.step = Step::Identifying(identifying);
                return self.id_card_read(ctx);
            }
            (Step::Identifying(mut identifying), In::Pin(tap)) => {
                let commands = identifying.pin_input(tap, ctx);
                (Step::Identifying(identifying), commands)
            }
            (Step::List, In::AddProxy) if self.proxies.len() < MAX_PROXIES => {
                (Step::TypeId(IdNumberEntry::new()), Vec::new())
            }
            (Step::List, In::RemoveProxy(slot)) => {
                match self.proxies.iter().find(|entry| entry.slot == slot) {
                    Some(entry) => (
                        Step::Confirm(ProxyChange::Remove {
                            slot,
                            masked_id: entry.masked_id.clone(),
                        }),
                        Vec::new(),
                    ),
                    None => (Step::List, Vec::new()),
                }
            }
            (Step::TypeId(mut entry), In::IdKey(key)) => {
                entry.press(key);
                (Step::TypeId(entry), Vec::new())
            }
            (Step::TypeId(mut entry), In::IdDelete) => {
                entry.delete();
                (Step::TypeId(entry), Vec::new())
            }
            (Step::TypeId(entry), In::EntryConfirm) => match entry.number() {
                Some(id_number) => (
                    Step::TypeName {
                        id_number,
                        name: TypedName::new(),
                    },
                    Vec::new(),
                ),
                None => (Step::TypeId(entry), Vec::new()),
            },
            (
                Step::TypeName {
                    id_number,
                    mut name,
                },
                In::NameKey(key),
            ) => {
                name.press(key);
                (Step::TypeName { id_number, name }, Vec::new())
            }
            (
                Step::TypeName {
                    id_number,
                    mut name,
                },
                In::NameDelete,
            ) => {
                name.delete();
                (Step::TypeName { id_number, name }, Vec::new())
            }
            (Step::TypeName { id_number, name }, In::EntryConfirm) if !name.is_empty() => (
                Step::Confirm(ProxyChange::Add { id_number, name }),
                Vec::new(),
            ),
            (Step::Confirm(change), In::Confirm) => {
                let ticket = ctx.tickets.issue();
                let commands = self.send(ticket, &change);
                (Step::Sending { ticket, change }, commands)
            }
            (
                Step::Failed {
                    problem,
                    retry: Some((ticket, change)),
                },
                In::TryAgain,
            ) if problem.next_steps().contains(&NextStep::TryAgain) => {
                let commands = self.send(ticket, &change);
                (Step::Sending { ticket, change }, commands)
            }
            (
                Step::Failed {
                    problem,
                    retry: None,
                },
                In::TryAgain,
            ) if problem.next_steps().contains(&NextStep::TryAgain) => match self.who.clone() {
                Some(who) => return self.look_up(who, ctx),
                None => (
                    Step::Failed {
                        problem,
                        retry: None,
                    },
                    Vec::new(),
                ),
            },
            (Step::Done(receipt), In::Print) => {
                let commands = self.print_receipt(&receipt, ctx);
                (Step::Done(receipt), commands)
            }
            (step, _) => (step, Vec::new()),
        };
        self.step = step;
        commands
    }

    fn print_receipt(&mut self, receipt: &ProxyReceipt, ctx: &mut FlowContext) -> Vec<Command> {
        if matches!(
            self.print.state(),
            Some(PrintState::Printing | PrintState::Printed)
        ) {
            return Vec::new();
        }
        let ticket = ctx.tickets.issue();
        self.print.start(ticket);
        vec![Command::Print {
            ticket,
            document: Document::Proxies(receipt.clone()),
        }]
    }

    pub fn pin_answered(
        &mut self,
        ticket: Ticket,
        result: Result<(), PinProblem>,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        let Step::Identifying(identifying) = &mut self.step else {
            return Vec::new();
        };
        let progress = identifying.pin_answered(ticket, result, ctx);
        self.progress(progress, ctx)
    }

    /// The back end's answer, taken only for the request the flow waits for.
    pub fn answered(&mut self, ticket: Ticket, result: Result<ProxyReply, BackendProblem>) {
        let step = std::mem::replace(&mut self.step, Step::WAITING);
        self.step = match (step, result) {
            (Step::LookingUp { ticket: waiting }, result) if waiting == ticket => match result {
                Ok(ProxyReply::List {
                    masked_name,
                    proxies,
                }) => {
                    self.masked_name = masked_name;
                    self.proxies = proxies;
                    Step::List
                }
                Ok(ProxyReply::Changed { .. }) => Step::Failed {
                    problem: BackendProblem::RouteUnavailable,
                    retry: None,
                },
                Err(problem) => Step::Failed {
                    problem,
                    retry: None,
                },
            },
            (
                Step::Sending {
                    ticket: waiting,
                    change,
                },
                result,
            ) if waiting == ticket => match result {
                Ok(ProxyReply::Changed {
                    masked_name,
                    proxies,
                    reference,
                }) => {
                    let (added, changed) = match &change {
                        ProxyChange::Add { id_number, .. } => (true, id_number.masked()),
                        ProxyChange::Remove { masked_id, .. } => (false, masked_id.clone()),
                    };
                    let receipt = ProxyReceipt {
                        masked_name: masked_name.clone(),
                        changed,
                        added,
                        count: proxies.len(),
                        reference,
                    };
                    self.masked_name = masked_name;
                    self.proxies = proxies;
                    Step::Done(receipt)
                }
                Ok(ProxyReply::List { .. }) => Step::Failed {
                    problem: BackendProblem::OutcomeUnknown,
                    retry: Some((ticket, change)),
                },
                Err(problem) => Step::Failed {
                    problem,
                    retry: Some((ticket, change)),
                },
            },
            (step, _) => step,
        };
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        self.print.printed(ticket, result);
    }

    /// "Back": from typing or confirming to the list; from the name to the number.
    pub fn back(&mut self) -> bool {
        let step = std::mem::replace(&mut self.step, Step::WAITING);
        let (step, moved) = match step {
            Step::TypeName { .. } => (Step::TypeId(IdNumberEntry::new()), true),
            Step::TypeId(_) | Step::Confirm(_) | Step::Done(_) => (Step::List, true),
            step => (step, false),
        };
        self.step = step;
        moved
    }

    pub fn view(&self) -> ProxyView {
        let step = match &self.step {
            Step::Identifying(identifying) => match identifying.view() {
                IdentifyingView::NeedsCardOrIdCard => ProxyStep::NeedsCardOrIdCard,
                IdentifyingView::EnterPin(entry) => ProxyStep::EnterPin(entry),
                IdentifyingView::PinOnReader(notice) => ProxyStep::PinOnReader(notice),
                IdentifyingView::CheckingPin => ProxyStep::CheckingPin,
                IdentifyingView::PinBlocked => ProxyStep::PinBlocked,
            },
            Step::LookingUp { .. } => ProxyStep::LookingUp,
            Step::List => ProxyStep::List {
                masked_name: self.masked_name.clone(),
                proxies: self.proxies.clone(),
                full: self.proxies.len() >= MAX_PROXIES,
            },
            Step::TypeId(entry) => ProxyStep::TypeIdNumber {
                masked: entry.masked(),
                state: entry.state(),
            },
            Step::TypeName { name, .. } => ProxyStep::TypeName {
                letters: name.letters().to_owned(),
            },
            Step::Confirm(change) => match change {
                ProxyChange::Add { id_number, .. } => ProxyStep::Confirm {
                    added: true,
                    who: id_number.masked(),
                },
                ProxyChange::Remove { slot, masked_id } => ProxyStep::Confirm {
                    added: false,
                    who: self
                        .proxies
                        .iter()
                        .find(|entry| entry.slot == *slot)
                        .map_or_else(
                            || masked_id.clone(),
                            |entry| format!("{} {}", entry.masked_name, entry.masked_id),
                        ),
                },
            },
            Step::Sending { .. } => ProxyStep::Sending,
            Step::Done(receipt) => ProxyStep::Done(receipt.clone()),
            Step::Failed { problem, .. } => ProxyStep::Failed {
                problem: problem.clone(),
                offers: problem.next_steps(),
            },
        };
        ProxyView {
            step,
            print: self.print.state(),
        }
    }

    pub fn in_flight(&self) -> bool {
        matches!(self.step, Step::Sending { .. })
            || matches!(
                self.step,
                Step::Failed {
                    problem: BackendProblem::OutcomeUnknown,
                    retry: Some(_),
                }
            )
    }

    pub fn in_progress(&self) -> bool {
        matches!(
            self.step,
            Step::TypeId(_) | Step::TypeName { .. } | Step::Confirm(_) | Step::Sending { .. }
        )
    }
}
