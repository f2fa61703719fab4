//! 养老待遇资格认证: a pensioner certifies once a year by face, at the terminal — for oneself,
//! or (帮你认) with a relative who identifies and types the pensioner's number and name.
//!
//! The core never sees a face. It says which liveness action to show and when to capture
//! (`Command::Capture`); the shell holds the stills for the flow and attaches them to the one
//! `Request::Certify` the journal sends. The back end alone compares faces and judges
//! liveness: the kiosk shows its verdict and never a score.
//!
//! Its inputs are the card services' ([`CardServiceInput`]): identifying is the same
//! (card and PIN, ID card, the keypads), and so are confirm, try again and print.

use super::identify::{Identifying, IdentifyingView, Progress};
use super::pin::{PinEntryView, PinNotice};
use super::{FlowContext, PrintJob, PrintState};
use crate::entry::{IdEntryState, IdNumberEntry, TypedName};
use crate::failure::{BackendProblem, NextStep, PinProblem, PrintProblem};
use crate::flows::card::{CardServiceInput, Identification};
use crate::identity::IdNumber;
use crate::ticket::Ticket;
use crate::{Command, Date, Document, Request, ServiceId};

/// Whose face is certified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pensioner {
    /// The resident who identified.
    Holder,
    /// 帮你认: the pensioner's number and name, typed by the helper who identified.
    Relative {
        id_number: IdNumber,
        name: TypedName,
    },
}

impl Pensioner {
    pub fn is_relative(&self) -> bool {
        matches!(self, Pensioner::Relative { .. })
    }
}

/// One liveness action the back end asks for, shown as a picture and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LivenessAction {
    Blink,
    OpenMouth,
    Nod,
    Turn,
}

impl LivenessAction {
    pub const ALL: [LivenessAction; 4] = [
        LivenessAction::Blink,
        LivenessAction::OpenMouth,
        LivenessAction::Nod,
        LivenessAction::Turn,
    ];

    /// The contract's name, and the stem of its Fluent keys.
    pub fn key(self) -> &'static str {
        match self {
            LivenessAction::Blink => "blink",
            LivenessAction::OpenMouth => "open-mouth",
            LivenessAction::Nod => "nod",
            LivenessAction::Turn => "turn",
        }
    }
}

/// The actions for one attempt, in the back end's order, under its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivenessChallenge {
    pub id: String,
    pub actions: Vec<LivenessAction>,
}

/// Where the pensioner stands in this year's cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleState {
    /// Not certified this cycle yet; due by this date.
    Due { by: Date },
    /// Certified for this cycle; valid until this date.
    Certified { until: Date },
    /// Not drawing a pension that needs certification.
    NotEntitled,
}

/// The back end's answer to a status request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationStatus {
    /// The pensioner's name, masked by the shell.
    pub masked_name: String,
    pub cycle_year: u16,
    pub state: CycleState,
    pub last_certified: Option<Date>,
    pub challenge: LivenessChallenge,
    /// Face attempts the back end still allows today.
    pub attempts_left: u8,
}

/// Why the back end did not certify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The liveness check failed (the actions were not seen).
    NotLive,
    /// The face did not match the pensioner's photo.
    NoMatch,
    /// The pictures could not be used (dark, blurred, no face).
    PoorImage,
}

impl RejectReason {
    pub fn key(self) -> &'static str {
        match self {
            RejectReason::NotLive => "not-live",
            RejectReason::NoMatch => "no-match",
            RejectReason::PoorImage => "poor-image",
        }
    }
}

/// The back end's verdict on one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Certified {
        until: Date,
        /// The 流水号: the journal entry's reference.
        reference: String,
        verification_code: Option<String>,
        verify_url: Option<String>,
    },
    Rejected {
        reason: RejectReason,
        attempts_left: u8,
        /// The actions for the next attempt, when one is allowed.
        next: Option<LivenessChallenge>,
    },
    /// The certification route is down: the capture is queued in the outbox and the verdict
    /// will come by SMS and in the records (the receipt says so).
    Received { reference: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificationReply {
    Status(CertificationStatus),
    Verdict(Verdict),
}

/// Why a capture could not be used; the screen says what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureProblem {
    TooDark,
    TooBright,
    Blurred,
    NoFace,
    /// The camera failed: the service cannot go on here.
    CameraFailed,
}

impl CaptureProblem {
    pub fn key(self) -> &'static str {
        match self {
            CaptureProblem::TooDark => "too-dark",
            CaptureProblem::TooBright => "too-bright",
            CaptureProblem::Blurred => "blurred",
            CaptureProblem::NoFace => "no-face",
            CaptureProblem::CameraFailed => "camera-failed",
        }
    }
}

/// Where a certification page is, as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificationStep {
    /// The social security card (with its PIN) or the ID card, of the pensioner or helper.
    NeedsCardOrIdCard,
    EnterPin(PinEntryView),
    PinOnReader(Option<PinNotice>),
    CheckingPin,
    PinBlocked,
    /// 帮你认: the pensioner's number, then name.
    TypeIdNumber {
        masked: String,
        state: IdEntryState,
    },
    TypeName {
        letters: String,
    },
    LookingUp,
    /// Due date and last certification; "start" goes to the camera.
    Status(CertificationStatus),
    /// Certified already this cycle, or not entitled: nothing to do.
    NothingToDo(CertificationStatus),
    /// The live preview with the face outline: "ready" starts the actions.
    Preview,
    /// One action, shown while the shell captures.
    Action {
        action: LivenessAction,
        number: usize,
        of: usize,
    },
    /// The last capture could not be used: what to fix, then again.
    Retake {
        action: LivenessAction,
        problem: CaptureProblem,
    },
    Sending,
    Verdict(Verdict),
    Failed {
        problem: BackendProblem,
        offers: &'static [NextStep],
    },
}

impl CertificationStep {
    /// The pensioner faces the camera: its preview runs.
    pub fn camera_on(&self) -> bool {
        matches!(
            self,
            CertificationStep::Preview
                | CertificationStep::Action { .. }
                | CertificationStep::Retake { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationView {
    pub service: ServiceId,
    /// 帮你认: the page reminds that the face must be the pensioner's.
    pub for_relative: bool,
    pub step: CertificationStep,
    pub print: Option<PrintState>,
}

/// What the receipt of a certification carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationOutcome {
    pub for_relative: bool,
    pub masked_pensioner: String,
    pub cycle_year: u16,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Identifying(Identifying),
    TypeId(IdNumberEntry),
    TypeName {
        id_number: IdNumber,
        name: TypedName,
    },
    LookingUp {
        ticket: Ticket,
    },
    LookUpFailed(BackendProblem),
    Status(CertificationStatus),
    Preview {
        status: CertificationStatus,
        challenge: LivenessChallenge,
    },
    Action {
        status: CertificationStatus,
        challenge: LivenessChallenge,
        index: usize,
        ticket: Ticket,
    },
    Retake {
        status: CertificationStatus,
        challenge: LivenessChallenge,
        index: usize,
        problem: CaptureProblem,
    },
    Sending {
        status: CertificationStatus,
        challenge: LivenessChallenge,
        ticket: Ticket,
    },
    SendFailed {
        status: CertificationStatus,
        challenge: LivenessChallenge,
        ticket: Ticket,
        problem: BackendProblem,
    },
    Verdict {
        status: CertificationStatus,
        verdict: Verdict,
    },
}

impl Step {
    /// Nothing identified yet (also the placeholder while a step is taken apart).
    const WAITING: Step = Step::Identifying(Identifying::Waiting);
}

/// Pension certification, for oneself or for a relative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationFlow {
    service: ServiceId,
    /// Who identified (the helper, for a relative); set once they have.
    who: Option<Identification>,
    /// For a relative: typed after the helper identified.
    pensioner: Option<Pensioner>,
    /// Counts face attempts in this flow: the shell keys its stills by it.
    attempt: u8,
    step: Step,
    print: PrintJob,
}

impl CertificationFlow {
    pub fn start(service: ServiceId, ctx: &mut FlowContext) -> (CertificationFlow, Vec<Command>) {
        let mut flow = CertificationFlow {
            service,
            who: None,
            pensioner: None,
            attempt: 0,
            step: Step::WAITING,
            print: PrintJob::default(),
        };
        let (identifying, progress) = Identifying::start(ctx);
        flow.step = Step::Identifying(identifying);
        let commands = flow.progress(progress, ctx);
        (flow, commands)
    }

    fn for_relative(&self) -> bool {
        self.service == ServiceId::ProxyCertification
    }

    /// The card in the reader identifies, after its PIN.
    pub fn card_identified(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        match &mut self.step {
            Step::Identifying(identifying) => {
                let progress = identifying.card_identified(ctx);
                self.progress(progress, ctx)
            }
            _ => Vec::new(),
        }
    }

    /// An ID card on the reader identifies, where the flow is waiting for one.
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
            Progress::Identified(who) => self.identified(who, ctx),
            Progress::Pending(commands) => commands,
        }
    }

    /// The resident is identified: for oneself the status is looked up; for a relative the
    /// pensioner's number is typed first.
    fn identified(&mut self, who: Identification, ctx: &mut FlowContext) -> Vec<Command> {
        self.who = Some(who);
        if self.for_relative() {
            self.step = Step::TypeId(IdNumberEntry::new());
            return Vec::new();
        }
        self.pensioner = Some(Pensioner::Holder);
        self.look_up(ctx)
    }

    fn look_up(&mut self, ctx: &mut FlowContext) -> Vec<Command> {
        let (Some(who), Some(pensioner)) = (self.who.clone(), self.pensioner.clone()) else {
            return Vec::new();
        };
        let ticket = ctx.tickets.issue();
        self.step = Step::LookingUp { ticket };
        vec![Command::Fetch {
            ticket,
            request: Request::CertificationStatus { who, pensioner },
        }]
    }

    /// The first action of an attempt: the shell captures while it is shown.
    fn act(
        &mut self,
        status: CertificationStatus,
        challenge: LivenessChallenge,
        index: usize,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        let Some(&action) = challenge.actions.get(index) else {
            return self.send(status, challenge, ctx);
        };
        let ticket = ctx.tickets.issue();
        self.step = Step::Action {
            status,
            challenge,
            index,
            ticket,
        };
        vec![Command::Capture {
            ticket,
            attempt: self.attempt,
            index: index as u8,
            action,
        }]
    }

    fn send(
        &mut self,
        status: CertificationStatus,
        challenge: LivenessChallenge,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        let ticket = ctx.tickets.issue();
        let commands = self.certify(&status, &challenge, ticket);
        self.step = Step::Sending {
            status,
            challenge,
            ticket,
        };
        commands
    }

    /// The one mutation of an attempt; a retry reuses the ticket, so the journal sends it once.
    fn certify(
        &self,
        status: &CertificationStatus,
        challenge: &LivenessChallenge,
        ticket: Ticket,
    ) -> Vec<Command> {
        let (Some(who), Some(pensioner)) = (self.who.clone(), self.pensioner.clone()) else {
            return Vec::new();
        };
        vec![Command::Fetch {
            ticket,
            request: Request::Certify {
                who,
                pensioner,
                cycle_year: status.cycle_year,
                challenge_id: challenge.id.clone(),
                attempt: self.attempt,
            },
        }]
    }

    pub fn input(&mut self, input: CardServiceInput, ctx: &mut FlowContext) -> Vec<Command> {
        let step = std::mem::replace(&mut self.step, Step::WAITING);
        let (step, commands) = self.next(step, input, ctx);
        // `next` returns the step to keep when the input changed nothing; a step it set
        // itself (a request went out) is already in place.
        if let Some(step) = step {
            self.step = step;
        }
        commands
    }

    /// The step after `input`: `(Some(step), _)` to put back, `(None, _)` when `self.step`
    /// was set on the way.
    fn next(
        &mut self,
        step: Step,
        input: CardServiceInput,
        ctx: &mut FlowContext,
    ) -> (Option<Step>, Vec<Command>) {
        use CardServiceInput as In;
        match (step, input) {
            (Step::Identifying(identifying), In::UseIdCard) => {
                self.step = Step::Identifying(identifying);
                (None, self.id_card_read(ctx))
            }
            (Step::Identifying(mut identifying), In::Pin(tap)) => {
                let commands = identifying.pin_input(tap, ctx);
                (Some(Step::Identifying(identifying)), commands)
            }
            (Step::TypeId(mut entry), In::IdKey(key)) => {
                entry.press(key);
                (Some(Step::TypeId(entry)), Vec::new())
            }
            (Step::TypeId(mut entry), In::IdDelete) => {
                entry.delete();
                (Some(Step::TypeId(entry)), Vec::new())
            }
            (Step::TypeId(entry), In::EntryConfirm) => match entry.number() {
                Some(id_number) => (
                    Some(Step::TypeName {
                        id_number,
                        name: TypedName::new(),
                    }),
                    Vec::new(),
                ),
                None => (Some(Step::TypeId(entry)), Vec::new()),
            },
            (
                Step::TypeName {
                    id_number,
                    mut name,
                },
                In::NameKey(key),
            ) => {
                name.press(key);
                (Some(Step::TypeName { id_number, name }), Vec::new())
            }
            (
                Step::TypeName {
                    id_number,
                    mut name,
                },
                In::NameDelete,
            ) => {
                name.delete();
                (Some(Step::TypeName { id_number, name }), Vec::new())
            }
            (Step::TypeName { id_number, name }, In::EntryConfirm) if !name.is_empty() => {
                self.pensioner = Some(Pensioner::Relative { id_number, name });
                (None, self.look_up(ctx))
            }
            (Step::LookUpFailed(problem), In::TryAgain)
                if problem.next_steps().contains(&NextStep::TryAgain) =>
            {
                (None, self.look_up(ctx))
            }
            (Step::Status(status), In::Confirm)
                if matches!(status.state, CycleState::Due { .. }) && status.attempts_left > 0 =>
            {
                let challenge = status.challenge.clone();
                (Some(Step::Preview { status, challenge }), Vec::new())
            }
            (Step::Preview { status, challenge }, In::Confirm) => {
                (None, self.act(status, challenge, 0, ctx))
            }
            (
                Step::Retake {
                    status,
                    challenge,
                    index,
                    problem,
                },
                In::TryAgain,
            ) if problem != CaptureProblem::CameraFailed => {
                (None, self.act(status, challenge, index, ctx))
            }
            (
                Step::SendFailed {
                    status,
                    challenge,
                    ticket,
                    problem,
                },
                In::TryAgain,
            ) if problem.next_steps().contains(&NextStep::TryAgain) => {
                let commands = self.certify(&status, &challenge, ticket);
                (
                    Some(Step::Sending {
                        status,
                        challenge,
                        ticket,
                    }),
                    commands,
                )
            }
            (
                Step::Verdict {
                    status,
                    verdict:
                        Verdict::Rejected {
                            attempts_left,
                            next: Some(next),
                            ..
                        },
                },
                In::TryAgain,
            ) if attempts_left > 0 => {
                // A new attempt: new stills under a new attempt number, the new actions (kept
                // with the status, so "back" and "start" again use them too).
                self.attempt = self.attempt.saturating_add(1);
                let status = CertificationStatus {
                    attempts_left,
                    challenge: next.clone(),
                    ..status
                };
                (
                    Some(Step::Preview {
                        status,
                        challenge: next,
                    }),
                    Vec::new(),
                )
            }
            (Step::Verdict { status, verdict }, In::Print)
                if !matches!(verdict, Verdict::Rejected { .. }) =>
            {
                let commands = self.print_receipt(&status, &verdict, ctx);
                (Some(Step::Verdict { status, verdict }), commands)
            }
            (step, _) => (Some(step), Vec::new()),
        }
    }

    fn print_receipt(
        &mut self,
        status: &CertificationStatus,
        verdict: &Verdict,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
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
            document: Document::Certification(CertificationOutcome {
                for_relative: self.for_relative(),
                masked_pensioner: status.masked_name.clone(),
                cycle_year: status.cycle_year,
                verdict: verdict.clone(),
            }),
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
    pub fn answered(&mut self, ticket: Ticket, result: Result<CertificationReply, BackendProblem>) {
        let step = std::mem::replace(&mut self.step, Step::WAITING);
        self.step = match (step, result) {
            (Step::LookingUp { ticket: waiting }, result) if waiting == ticket => match result {
                // The view tells a due pensioner from one with nothing to do.
                Ok(CertificationReply::Status(status)) => Step::Status(status),
                Ok(CertificationReply::Verdict(_)) => {
                    Step::LookUpFailed(BackendProblem::RouteUnavailable)
                }
                Err(problem) => Step::LookUpFailed(problem),
            },
            (
                Step::Sending {
                    status,
                    challenge,
                    ticket: waiting,
                },
                result,
            ) if waiting == ticket => match result {
                Ok(CertificationReply::Verdict(verdict)) => Step::Verdict { status, verdict },
                Ok(CertificationReply::Status(_)) => Step::SendFailed {
                    status,
                    challenge,
                    ticket,
                    problem: BackendProblem::OutcomeUnknown,
                },
                Err(problem) => Step::SendFailed {
                    status,
                    challenge,
                    ticket,
                    problem,
                },
            },
            (step, _) => step,
        };
    }

    /// The shell's capture for an action: the next action, or what to fix.
    pub fn captured(
        &mut self,
        ticket: Ticket,
        result: Result<(), CaptureProblem>,
        ctx: &mut FlowContext,
    ) -> Vec<Command> {
        let step = std::mem::replace(&mut self.step, Step::WAITING);
        match step {
            Step::Action {
                status,
                challenge,
                index,
                ticket: waiting,
            } if waiting == ticket => match result {
                Ok(()) => self.act(status, challenge, index + 1, ctx),
                Err(problem) => {
                    self.step = Step::Retake {
                        status,
                        challenge,
                        index,
                        problem,
                    };
                    Vec::new()
                }
            },
            step => {
                self.step = step;
                Vec::new()
            }
        }
    }

    pub fn printed(&mut self, ticket: Ticket, result: Result<(), PrintProblem>) {
        self.print.printed(ticket, result);
    }

    /// "Back": from the name to the number, from the camera to the status page (a new
    /// start there uses the same attempt: its stills are taken again).
    pub fn back(&mut self) -> bool {
        let step = std::mem::replace(&mut self.step, Step::WAITING);
        let (step, moved) = match step {
            Step::TypeName { .. } => (Step::TypeId(IdNumberEntry::new()), true),
            // Out of the camera: an action's capture still on its way is not this step's.
            Step::Preview { status, .. }
            | Step::Action { status, .. }
            | Step::Retake { status, .. } => (Step::Status(status), true),
            step => (step, false),
        };
        self.step = step;
        moved
    }

    pub fn view(&self) -> CertificationView {
        let step = match &self.step {
            Step::Identifying(identifying) => match identifying.view() {
                IdentifyingView::NeedsCardOrIdCard => CertificationStep::NeedsCardOrIdCard,
                IdentifyingView::EnterPin(entry) => CertificationStep::EnterPin(entry),
                IdentifyingView::PinOnReader(notice) => CertificationStep::PinOnReader(notice),
                IdentifyingView::CheckingPin => CertificationStep::CheckingPin,
                IdentifyingView::PinBlocked => CertificationStep::PinBlocked,
            },
            Step::TypeId(entry) => CertificationStep::TypeIdNumber {
                masked: entry.masked(),
                state: entry.state(),
            },
            Step::TypeName { name, .. } => CertificationStep::TypeName {
                letters: name.letters().to_owned(),
            },
            Step::LookingUp { .. } => CertificationStep::LookingUp,
            Step::LookUpFailed(problem) | Step::SendFailed { problem, .. } => {
                CertificationStep::Failed {
                    problem: problem.clone(),
                    offers: problem.next_steps(),
                }
            }
            Step::Status(status) => match status.state {
                CycleState::Due { .. } if status.attempts_left > 0 => {
                    CertificationStep::Status(status.clone())
                }
                _ => CertificationStep::NothingToDo(status.clone()),
            },
            Step::Preview { .. } => CertificationStep::Preview,
            Step::Action {
                challenge, index, ..
            } => CertificationStep::Action {
                action: challenge.actions[*index],
                number: index + 1,
                of: challenge.actions.len(),
            },
            Step::Retake {
                challenge,
                index,
                problem,
                ..
            } => CertificationStep::Retake {
                action: challenge.actions[*index],
                problem: *problem,
            },
            Step::Sending { .. } => CertificationStep::Sending,
            Step::Verdict { verdict, .. } => CertificationStep::Verdict(verdict.clone()),
        };
        CertificationView {
            service: self.service,
            for_relative: self.for_relative(),
            step,
            print: self.print.state(),
        }
    }

    /// The certification was sent and its verdict is not known yet.
    pub fn in_flight(&self) -> bool {
        matches!(self.step, Step::Sending { .. })
            || matches!(
                self.step,
                Step::SendFailed {
                    problem: BackendProblem::OutcomeUnknown,
                    ..
                }
            )
    }

    /// Started and not finished: leaving now leaves the pensioner uncertified.
    pub fn in_progress(&self) -> bool {
        matches!(
            self.step,
            Step::Status(CertificationStatus {
                state: CycleState::Due { .. },
                ..
            }) | Step::Preview { .. }
                | Step::Action { .. }
                | Step::Retake { .. }
                | Step::Sending { .. }
        )
    }
}
