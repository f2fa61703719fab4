//! The service-point finder: what the resident typed, the filters chosen, the keyboard, and
//! an open point with its printed slip. The search itself runs outside the core (the
//! locator's index is the terminal's data, not the session's); this flow holds only what
//! the resident did, which goes with the session.

use super::{FlowContext, PrintJob, PrintState};
use crate::failure::PrintProblem;
use crate::ticket::Ticket;
use crate::{Command, Document};

/// The longest text the finder accepts: a place name in pinyin, not an essay.
pub const MAX_TEXT: usize = 24;

/// A filter chip and what it narrows the results to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    OpenNow,
    AllDay,
    ThisDistrict,
    /// A service item code of the catalogue ("points that can do X").
    Service(u16),
}

impl Filter {
    /// The chips in the order they are shown.
    pub const ALL: [Filter; 6] = [
        Filter::OpenNow,
        Filter::AllDay,
        Filter::ThisDistrict,
        Filter::Service(1),
        Filter::Service(3),
        Filter::Service(2),
    ];

    pub fn key(self) -> &'static str {
        match self {
            Filter::OpenNow => "filter-open-now",
            Filter::AllDay => "filter-24h",
            Filter::ThisDistrict => "filter-this-district",
            Filter::Service(1) => "filter-certification",
            Filter::Service(3) => "filter-card-replacement",
            Filter::Service(2) => "filter-card-activation",
            Filter::Service(_) => "filter-service",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinderFlow {
    text: String,
    selected: [bool; Filter::ALL.len()],
    keyboard: bool,
    /// The open point, by its index in the terminal's catalogue.
    point: Option<u32>,
    print: PrintJob,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinderView {
    pub text: String,
    pub filters: Vec<(Filter, bool)>,
    pub keyboard: bool,
    pub point: Option<u32>,
    pub print: Option<PrintState>,
}

impl FinderView {
    pub fn is_selected(&self, filter: Filter) -> bool {
        self.filters.iter().any(|(f, on)| *f == filter && *on)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinderInput {
    /// A key of the on-screen keyboard (letters and digits only).
    Key(char),
    Backspace,
    Clear,
    KeyboardToggled,
    FilterToggled(usize),
    PointTapped(u32),
    Print,
}

impl FinderFlow {
    pub fn start() -> FinderFlow {
        FinderFlow {
            text: String::new(),
            selected: [false; Filter::ALL.len()],
            keyboard: false,
            point: None,
            print: PrintJob::default(),
        }
    }

    pub fn input(&mut self, input: FinderInput, ctx: &mut FlowContext) -> Vec<Command> {
        match input {
            FinderInput::Key(key) => {
                if self.text.chars().count() < MAX_TEXT && key.is_ascii_alphanumeric() {
                    self.text.push(key.to_ascii_lowercase());
                }
            }
            FinderInput::Backspace => {
                self.text.pop();
            }
            FinderInput::Clear => self.text.clear(),
            FinderInput::KeyboardToggled => self.keyboard = !self.keyboard,
            FinderInput::FilterToggled(index) => self.toggle_filter(index),
            FinderInput::PointTapped(index) => {
                if self.point.is_none() {
                    self.point = Some(index);
                    self.print = PrintJob::default();
                }
            }
            FinderInput::Print => {
                if let Some(index) = self.point {
                    if !self.print.is_printing() {
                        let ticket = ctx.tickets.issue();
                        self.print.start(ticket);
                        return vec![Command::Print {
                            ticket,
                            document: Document::ServicePointSlip(index),
                        }];
                    }
                }
            }
        }
        Vec::new()
    }

    fn toggle_filter(&mut self, index: usize) {
        let Some(selected) = self.selected.get_mut(index) else {
            return;
        };
        *selected = !*selected;
        // One service item at a time: the chips read as "points that can do X".
        if matches!(Filter::ALL.get(index), Some(Filter::Service(_))) {
            for (other, filter) in Filter::ALL.iter().enumerate() {
                if other != index && matches!(filter, Filter::Service(_)) {
                    self.selected[other] = false;
                }
            }
        }
    }

    /// "Back" from a point returns to the results; from the results it leaves the finder.
    pub fn back(&mut self) -> bool {
        if self.point.take().is_some() {
            self.print = PrintJob::default();
            true
        } else {
            false
        }
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        self.print.printed(ticket, result);
    }

    pub fn view(&self) -> FinderView {
        FinderView {
            text: self.text.clone(),
            filters: Filter::ALL.into_iter().zip(self.selected).collect(),
            keyboard: self.keyboard,
            point: self.point,
            print: self.print.state(),
        }
    }
}
