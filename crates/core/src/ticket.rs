//! Tickets: every request the core sends out (to the back end, the printer) carries one, and
//! its answer must bring it back. An answer whose ticket is not the one the active flow is
//! waiting for belongs to someone or something else — an earlier resident, an abandoned
//! step — and is dropped: never drawn, never printed.

/// Who asked: which session, which flow within the kiosk's life, which step of that flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket {
    pub session: u32,
    pub flow: u32,
    pub step: u32,
}

impl Ticket {
    /// A stable text form, used to name the request's business operation in the journal
    /// (so a retry of the same step is the same operation, and a new step a new one).
    pub fn reference(&self) -> String {
        format!("s{}/f{}/t{}", self.session, self.flow, self.step)
    }
}

/// What a flow needs to mint its tickets: the session and flow it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketBook {
    session: u32,
    flow: u32,
    next_step: u32,
}

impl TicketBook {
    pub fn new(session: u32, flow: u32) -> TicketBook {
        TicketBook {
            session,
            flow,
            next_step: 0,
        }
    }

    /// A ticket for a new step; no two calls return the same one.
    pub fn issue(&mut self) -> Ticket {
        let step = self.next_step;
        self.next_step = self.next_step.saturating_add(1);
        Ticket {
            session: self.session,
            flow: self.flow,
            step,
        }
    }
}
