//! Technician mode (维护模式): the hidden gesture that opens it, the sign-in with a technician
//! id and PIN (the shell checks them against argon2id hashes and keeps the lockout on disk), the
//! maintenance pages, and the "temporarily out of service" screen residents see meanwhile.
//!
//! Pure like the rest of the core: the monotonic `now` and the wall clock (for a lockout that
//! must survive a restart) arrive as arguments. The session owns one [`Technician`] and routes
//! [`TechnicianInput`]s to it; what the shell must do comes back as [`TechnicianCommand`]s.

use std::fmt;

use zeroize::Zeroizing;

use crate::{Language, Millis};

/// Taps in the hidden corner that open the sign-in; the last one is held.
pub const GESTURE_TAPS: usize = 5;
/// All of the gesture's taps start within this span.
pub const GESTURE_WINDOW: Millis = Millis(4_000);
/// How long the last tap is held.
pub const GESTURE_HOLD: Millis = Millis(2_000);
/// A tap held longer than this, before the last, is not part of the gesture.
const TAP_AT_MOST: Millis = Millis(700);

/// The sign-in page gives up (back to where it was opened from) after this long untouched.
pub const SIGN_IN_IDLE: Millis = Millis::from_secs(60);
/// A signed-in technician's pages give way to the out-of-service screen after this long
/// untouched (the technician may be working inside the cabinet).
pub const SIGNED_IN_IDLE: Millis = Millis::from_secs(180);
/// Maintenance ends on its own after this long on the out-of-service screen: a terminal in an
/// unattended zone must not stay out of service because someone forgot to leave.
pub const PAUSED_AT_MOST: Millis = Millis::from_secs(30 * 60);

/// Wrong sign-ins in a row before the terminal locks technician sign-in.
pub const TRIES_BEFORE_LOCKOUT: u32 = 5;
/// The first lockout; every further one doubles, up to [`LONGEST_LOCKOUT_MS`].
pub const FIRST_LOCKOUT_MS: i64 = 15 * 60 * 1000;
pub const LONGEST_LOCKOUT_MS: i64 = 24 * 60 * 60 * 1000;

/// Digits of a technician id.
pub const ID_MAX_DIGITS: usize = 8;
/// Digits of a technician PIN.
pub const PIN_MIN_DIGITS: usize = 6;
pub const PIN_MAX_DIGITS: usize = 12;

/// Recognizes five fast taps in the hidden corner with the last one held. Ordinary use cannot
/// trigger it: the corner has no visible target, single taps there do nothing, and a long press
/// counts only as the fifth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CornerGesture {
    /// When each recent tap in the corner began (at most [`GESTURE_TAPS`]).
    downs: Vec<Millis>,
    /// When the finger now in the corner went down.
    held_since: Option<Millis>,
}

impl CornerGesture {
    pub fn pressed(&mut self, now: Millis) {
        self.downs
            .retain(|down| now.saturating_sub(*down) < GESTURE_WINDOW);
        if self.downs.len() == GESTURE_TAPS {
            self.downs.remove(0);
        }
        self.downs.push(now);
        self.held_since = Some(now);
    }

    /// The finger left the corner; true when that completed the gesture.
    pub fn released(&mut self, now: Millis) -> bool {
        let complete = self.held_long_enough(now);
        if let Some(since) = self.held_since.take() {
            if !complete
                && self.downs.len() < GESTURE_TAPS
                && now.saturating_sub(since) > TAP_AT_MOST
            {
                // A long press before the fifth tap: start again.
                self.downs.clear();
            }
        }
        if complete {
            *self = CornerGesture::default();
        }
        complete
    }

    /// Time passed; true when the held fifth tap has now been held long enough.
    pub fn tick(&mut self, now: Millis) -> bool {
        let complete = self.held_long_enough(now);
        if complete {
            *self = CornerGesture::default();
        }
        complete
    }

    fn held_long_enough(&self, now: Millis) -> bool {
        self.downs.len() == GESTURE_TAPS
            && self
                .held_since
                .is_some_and(|since| now.saturating_sub(since) >= GESTURE_HOLD)
    }
}

/// The terminal's technician sign-in lockout: per terminal, not per id, so trying other ids
/// does not help. Wall-clock milliseconds, so a restart does not lift it; the shell keeps it in
/// the store ([`Lockout::encode`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lockout {
    /// Wrong sign-ins since the last success or the last lockout.
    failures: u32,
    /// Lockouts since the last success: each doubles the next.
    lockouts: u32,
    locked_until_ms: Option<i64>,
}

/// Whether a sign-in may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Open { tries_left: u32 },
    Locked { until_ms: i64 },
}

impl Lockout {
    pub fn admission(&self, now_ms: i64) -> Admission {
        match self.locked_until_ms {
            Some(until_ms) if now_ms < until_ms => Admission::Locked { until_ms },
            _ => Admission::Open {
                tries_left: TRIES_BEFORE_LOCKOUT.saturating_sub(self.failures),
            },
        }
    }

    /// A wrong id or PIN: counts it, and locks when the tries are used up.
    pub fn failed(&mut self, now_ms: i64) -> Admission {
        if let Admission::Locked { .. } = self.admission(now_ms) {
            return self.admission(now_ms);
        }
        if self.locked_until_ms.is_some() {
            // The last lockout has run out: a new round of tries.
            self.locked_until_ms = None;
            self.failures = 0;
        }
        self.failures += 1;
        if self.failures >= TRIES_BEFORE_LOCKOUT {
            let length = FIRST_LOCKOUT_MS
                .saturating_mul(1_i64 << self.lockouts.min(20))
                .min(LONGEST_LOCKOUT_MS);
            self.lockouts += 1;
            self.failures = 0;
            self.locked_until_ms = Some(now_ms.saturating_add(length));
        }
        self.admission(now_ms)
    }

    pub fn succeeded(&mut self) {
        *self = Lockout::default();
    }

    /// `failures lockouts until` as decimal numbers (until 0 for none), for the store.
    pub fn encode(&self) -> String {
        format!(
            "{} {} {}",
            self.failures,
            self.lockouts,
            self.locked_until_ms.unwrap_or(0)
        )
    }

    pub fn decode(text: &str) -> Option<Lockout> {
        let mut parts = text.split(' ');
        let failures = parts.next()?.parse().ok()?;
        let lockouts = parts.next()?.parse().ok()?;
        let until: i64 = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Lockout {
            failures,
            lockouts,
            locked_until_ms: (until != 0).then_some(until),
        })
    }
}

/// A technician PIN while it is typed: digits in one pre-sized zeroizing buffer, never shown,
/// never in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct TechnicianPin(Zeroizing<Vec<u8>>);

impl TechnicianPin {
    fn empty() -> TechnicianPin {
        TechnicianPin(Zeroizing::new(Vec::with_capacity(PIN_MAX_DIGITS)))
    }

    /// A PIN typed elsewhere (the `technician hash` command): digits only, at most
    /// [`PIN_MAX_DIGITS`].
    pub fn from_digits(digits: &str) -> Option<TechnicianPin> {
        let bytes = digits.as_bytes();
        (bytes.len() <= PIN_MAX_DIGITS && bytes.iter().all(u8::is_ascii_digit)).then(|| {
            let mut pin = TechnicianPin::empty();
            pin.0.extend_from_slice(bytes);
            pin
        })
    }

    /// The digits, for the password hash only.
    pub fn expose_digits(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for TechnicianPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TechnicianPin({} digits)", self.0.len())
    }
}

/// Which field of the sign-in the keypad types into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInField {
    Id,
    Pin,
}

/// What the sign-in page says under its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInNotice {
    /// The id or the PIN is too short to try.
    Incomplete,
    /// Wrong id or PIN (which of the two is not said).
    Refused { tries_left: u32 },
    /// Sign-in is locked for this many more minutes (rounded up).
    Locked { minutes: u32 },
    /// The terminal has no technician accounts configured.
    NoAccounts,
}

/// The shell's verdict on a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInOutcome {
    Accepted,
    Refused { tries_left: u32 },
    Locked { minutes: u32 },
    NoAccounts,
}

/// The pages of a signed-in technician.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TechnicianPage {
    /// Device status and the self-test.
    #[default]
    Status,
    /// Sync, test print, defaults, restart, leave.
    Actions,
}

/// What a technician can ask the terminal to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TechnicianAction {
    SelfTest,
    TestPrint,
    SyncCatalogue,
    Restart,
}

impl TechnicianAction {
    /// A stable name for the journal and the logs.
    pub fn key(self) -> &'static str {
        match self {
            TechnicianAction::SelfTest => "self-test",
            TechnicianAction::TestPrint => "test-print",
            TechnicianAction::SyncCatalogue => "sync-catalogue",
            TechnicianAction::Restart => "restart",
        }
    }
}

/// How an action went, as the page says it (the shell's self-test rows carry the details).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionResult {
    Done,
    /// Done, with something a technician must look at (a failing check, a refused print).
    Problem,
}

/// Why maintenance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaveReason {
    /// The technician tapped "leave".
    Left,
    /// The sign-in page was opened and abandoned (cancelled or untouched).
    SignInAbandoned,
    /// Nobody came back to the out-of-service screen for [`PAUSED_AT_MOST`].
    TimedOut,
}

impl LeaveReason {
    pub fn key(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::SignInAbandoned => "sign-in-abandoned",
            LeaveReason::TimedOut => "timed-out",
        }
    }
}

/// A tap or answer for technician mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TechnicianInput {
    /// A finger went down in the hidden corner.
    CornerPressed,
    CornerReleased,
    Digit(u8),
    Erase,
    Field(SignInField),
    SignIn,
    /// Cancel on the sign-in page.
    Cancel,
    SignInChecked(SignInOutcome),
    Page(TechnicianPage),
    Run(TechnicianAction),
    ActionDone(TechnicianAction, ActionResult),
    /// The next offered language becomes the terminal's default.
    CycleDefaultLanguage,
    ToggleDefaultElderly,
    /// Show residents the out-of-service screen while working on the terminal.
    Pause,
    Leave,
}

/// What the shell must do for technician mode. It writes each to the journal's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TechnicianCommand {
    /// The gesture opened the sign-in: nobody is served from now on (heartbeats say
    /// `maintenance`) until [`TechnicianCommand::Left`].
    Entered,
    /// Check `id` and `pin` (argon2id), apply the lockout, answer with
    /// [`TechnicianInput::SignInChecked`].
    CheckSignIn { id: String, pin: TechnicianPin },
    /// Carry out the action and answer with [`TechnicianInput::ActionDone`].
    Run {
        technician: String,
        action: TechnicianAction,
    },
    /// Keep these as the terminal's defaults from now on (across restarts).
    SaveDefaults {
        technician: String,
        language: Language,
        elderly: bool,
    },
    /// Maintenance ended; residents are served again.
    Left {
        technician: Option<String>,
        reason: LeaveReason,
    },
}

/// What the technician pages show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TechnicianView {
    SignIn {
        /// The id as typed (technician ids are not secret).
        id: String,
        pin_digits: usize,
        field: SignInField,
        notice: Option<SignInNotice>,
        checking: bool,
    },
    SignedIn {
        technician: String,
        page: TechnicianPage,
        running: Option<TechnicianAction>,
        last: Option<(TechnicianAction, ActionResult)>,
        /// The terminal's default language and elderly mode, as the actions page changes
        /// them.
        default_language: Language,
        default_elderly: bool,
    },
    /// "暂停服务": what residents see while the terminal is in maintenance.
    OutOfService,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    SignIn {
        id: String,
        pin: TechnicianPin,
        field: SignInField,
        notice: Option<SignInNotice>,
        checking: bool,
    },
    SignedIn {
        technician: String,
        page: TechnicianPage,
        running: Option<TechnicianAction>,
        last: Option<(TechnicianAction, ActionResult)>,
    },
    OutOfService,
}

/// One stretch of maintenance, from the gesture to leaving.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Maintenance {
    step: Step,
    /// Who signed in last in this stretch (kept on the out-of-service screen).
    technician: Option<String>,
    last_input: Millis,
}

/// The terminal's defaults as the actions page changes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub language: Language,
    /// The offered language after `language` (the button cycles through them).
    pub next_language: Language,
    pub elderly: bool,
}

/// What to do once the step's borrow has ended.
enum Then {
    Stay(Outcome),
    OutOfService,
    AbandonSignIn,
    Leave(LeaveReason),
}

/// The technician chose new terminal defaults: they are saved, the page stays.
fn save_defaults(technician: &str, language: Language, elderly: bool) -> Then {
    Then::Stay(Outcome::command(TechnicianCommand::SaveDefaults {
        technician: technician.to_owned(),
        language,
        elderly,
    }))
}

/// Technician mode as the session holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Technician {
    gesture: CornerGesture,
    maintenance: Option<Maintenance>,
}

/// What an input did, for the session: whether maintenance started or ended (the session
/// then ends the resident's session), and the commands for the shell.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub entered: bool,
    pub left: bool,
    pub commands: Vec<TechnicianCommand>,
}

impl Outcome {
    fn command(command: TechnicianCommand) -> Outcome {
        Outcome {
            commands: vec![command],
            ..Outcome::default()
        }
    }
}

impl Technician {
    /// In maintenance: residents are not served.
    pub fn active(&self) -> bool {
        self.maintenance.is_some()
    }

    /// `defaults`: the terminal's default language and elderly mode.
    pub fn view(&self, defaults: (Language, bool)) -> Option<TechnicianView> {
        let maintenance = self.maintenance.as_ref()?;
        Some(match &maintenance.step {
            Step::SignIn {
                id,
                pin,
                field,
                notice,
                checking,
            } => TechnicianView::SignIn {
                id: id.clone(),
                pin_digits: pin.len(),
                field: *field,
                notice: *notice,
                checking: *checking,
            },
            Step::SignedIn {
                technician,
                page,
                running,
                last,
            } => TechnicianView::SignedIn {
                technician: technician.clone(),
                page: *page,
                running: *running,
                last: *last,
                default_language: defaults.0,
                default_elderly: defaults.1,
            },
            Step::OutOfService => TechnicianView::OutOfService,
        })
    }

    /// The technician signed in now, if any.
    fn signed_in(&self) -> Option<&str> {
        match &self.maintenance.as_ref()?.step {
            Step::SignedIn { technician, .. } => Some(technician),
            _ => None,
        }
    }

    /// Handles one input. `corner_open` says whether the hidden corner is live now (the
    /// attract page with nobody in a session, or the out-of-service screen).
    pub fn input(
        &mut self,
        input: TechnicianInput,
        now: Millis,
        corner_open: bool,
        defaults: Defaults,
    ) -> Outcome {
        match input {
            TechnicianInput::CornerPressed => {
                if corner_open {
                    self.gesture.pressed(now);
                }
                return Outcome::default();
            }
            TechnicianInput::CornerReleased => {
                return if corner_open && self.gesture.released(now) {
                    self.open_sign_in(now)
                } else {
                    Outcome::default()
                };
            }
            _ => {}
        }
        let Some(maintenance) = &mut self.maintenance else {
            return Outcome::default();
        };
        if !matches!(
            input,
            TechnicianInput::SignInChecked(_) | TechnicianInput::ActionDone(..)
        ) {
            maintenance.last_input = now;
        }
        let mut signed_in_as = None;
        let outcome = match (&mut maintenance.step, input) {
            (
                Step::SignIn {
                    id,
                    field,
                    notice,
                    checking,
                    ..
                },
                TechnicianInput::SignInChecked(outcome),
            ) if *checking => {
                *checking = false;
                match outcome {
                    SignInOutcome::Accepted => signed_in_as = Some(id.clone()),
                    SignInOutcome::Refused { tries_left } => {
                        *notice = Some(SignInNotice::Refused { tries_left });
                        *field = SignInField::Pin;
                    }
                    SignInOutcome::Locked { minutes } => {
                        *notice = Some(SignInNotice::Locked { minutes });
                        id.clear();
                        *field = SignInField::Id;
                    }
                    SignInOutcome::NoAccounts => {
                        *notice = Some(SignInNotice::NoAccounts);
                        id.clear();
                        *field = SignInField::Id;
                    }
                }
                Then::Stay(Outcome::default())
            }
            (Step::SignIn { checking: true, .. }, _) => Then::Stay(Outcome::default()),
            (
                Step::SignIn {
                    id,
                    pin,
                    field,
                    notice,
                    checking,
                },
                input,
            ) => match input {
                TechnicianInput::Digit(digit) if digit <= 9 => {
                    *notice = None;
                    match field {
                        SignInField::Id if id.len() < ID_MAX_DIGITS => {
                            id.push(char::from(b'0' + digit))
                        }
                        SignInField::Pin if pin.len() < PIN_MAX_DIGITS => pin.0.push(b'0' + digit),
                        _ => {}
                    }
                    Then::Stay(Outcome::default())
                }
                TechnicianInput::Erase => {
                    match field {
                        SignInField::Id => {
                            id.pop();
                        }
                        SignInField::Pin => {
                            pin.0.pop();
                        }
                    }
                    Then::Stay(Outcome::default())
                }
                TechnicianInput::Field(next) => {
                    *field = next;
                    Then::Stay(Outcome::default())
                }
                TechnicianInput::SignIn => {
                    if id.is_empty() || pin.len() < PIN_MIN_DIGITS {
                        *notice = Some(SignInNotice::Incomplete);
                        *field = if id.is_empty() {
                            SignInField::Id
                        } else {
                            SignInField::Pin
                        };
                        Then::Stay(Outcome::default())
                    } else {
                        let typed = std::mem::replace(pin, TechnicianPin::empty());
                        *notice = None;
                        *checking = true;
                        *field = SignInField::Pin;
                        Then::Stay(Outcome::command(TechnicianCommand::CheckSignIn {
                            id: id.clone(),
                            pin: typed,
                        }))
                    }
                }
                TechnicianInput::Cancel => Then::AbandonSignIn,
                _ => Then::Stay(Outcome::default()),
            },
            (
                Step::SignedIn {
                    technician,
                    page,
                    running,
                    last,
                },
                input,
            ) => match input {
                TechnicianInput::Page(next) => {
                    *page = next;
                    Then::Stay(Outcome::default())
                }
                TechnicianInput::Run(action) if running.is_none() => {
                    *running = Some(action);
                    *last = None;
                    Then::Stay(Outcome::command(TechnicianCommand::Run {
                        technician: technician.clone(),
                        action,
                    }))
                }
                TechnicianInput::ActionDone(action, result) if *running == Some(action) => {
                    *running = None;
                    *last = Some((action, result));
                    Then::Stay(Outcome::default())
                }
                TechnicianInput::CycleDefaultLanguage => {
                    save_defaults(technician, defaults.next_language, defaults.elderly)
                }
                TechnicianInput::ToggleDefaultElderly => {
                    save_defaults(technician, defaults.language, !defaults.elderly)
                }
                TechnicianInput::Pause => Then::OutOfService,
                TechnicianInput::Leave => Then::Leave(LeaveReason::Left),
                _ => Then::Stay(Outcome::default()),
            },
            (Step::OutOfService, _) => Then::Stay(Outcome::default()),
        };
        if let Some(technician) = signed_in_as {
            maintenance.technician = Some(technician.clone());
            maintenance.step = Step::SignedIn {
                technician,
                page: TechnicianPage::Status,
                running: None,
                last: None,
            };
        }
        match outcome {
            Then::Stay(outcome) => outcome,
            Then::OutOfService => {
                maintenance.step = Step::OutOfService;
                Outcome::default()
            }
            Then::AbandonSignIn => self.abandon_sign_in(now),
            Then::Leave(reason) => self.leave(reason),
        }
    }

    /// Time passed: the held gesture, and the pages' idle limits.
    pub fn tick(&mut self, now: Millis, corner_open: bool) -> Outcome {
        if corner_open && self.gesture.tick(now) {
            return self.open_sign_in(now);
        }
        let Some(maintenance) = &mut self.maintenance else {
            return Outcome::default();
        };
        let idle = now.saturating_sub(maintenance.last_input);
        match &maintenance.step {
            Step::SignIn { checking: true, .. } => Outcome::default(),
            Step::SignIn { .. } if idle >= SIGN_IN_IDLE => self.abandon_sign_in(now),
            Step::SignedIn { running: None, .. } if idle >= SIGNED_IN_IDLE => {
                maintenance.step = Step::OutOfService;
                maintenance.last_input = now;
                Outcome::default()
            }
            Step::OutOfService if idle >= PAUSED_AT_MOST => self.leave(LeaveReason::TimedOut),
            _ => Outcome::default(),
        }
    }

    fn open_sign_in(&mut self, now: Millis) -> Outcome {
        let entered = self.maintenance.is_none();
        let technician = self.maintenance.take().and_then(|m| m.technician);
        self.maintenance = Some(Maintenance {
            step: Step::SignIn {
                id: String::new(),
                pin: TechnicianPin::empty(),
                field: SignInField::Id,
                notice: None,
                checking: false,
            },
            technician,
            last_input: now,
        });
        Outcome {
            entered,
            left: false,
            commands: if entered {
                vec![TechnicianCommand::Entered]
            } else {
                Vec::new()
            },
        }
    }

    /// Cancelled or untouched sign-in: back to the out-of-service screen if a technician
    /// signed in earlier in this stretch, else back to serving residents.
    fn abandon_sign_in(&mut self, now: Millis) -> Outcome {
        match &mut self.maintenance {
            Some(maintenance) if maintenance.technician.is_some() => {
                maintenance.step = Step::OutOfService;
                maintenance.last_input = now;
                Outcome::default()
            }
            _ => self.leave(LeaveReason::SignInAbandoned),
        }
    }

    fn leave(&mut self, reason: LeaveReason) -> Outcome {
        let technician = self.maintenance.take().and_then(|m| m.technician);
        self.gesture = CornerGesture::default();
        Outcome {
            entered: false,
            left: true,
            commands: vec![TechnicianCommand::Left { technician, reason }],
        }
    }

    /// Whether a technician is signed in now (the session lets card events through to the
    /// status page's test read only then).
    pub fn is_signed_in(&self) -> bool {
        self.signed_in().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: Defaults = Defaults {
        language: Language::ZhCn,
        next_language: Language::EnUs,
        elderly: false,
    };

    fn tap(technician: &mut Technician, at: u64, held: u64) -> Outcome {
        technician.input(TechnicianInput::CornerPressed, Millis(at), true, DEFAULTS);
        technician.input(
            TechnicianInput::CornerReleased,
            Millis(at + held),
            true,
            DEFAULTS,
        )
    }

    fn gesture(technician: &mut Technician, start: u64) -> Outcome {
        for i in 0..4 {
            tap(technician, start + i * 300, 100);
        }
        tap(technician, start + 1_200, 2_100)
    }

    fn signed_in() -> Technician {
        let mut technician = Technician::default();
        gesture(&mut technician, 0);
        for digit in [1, 0, 0, 1] {
            technician.input(TechnicianInput::Digit(digit), Millis(4_000), true, DEFAULTS);
        }
        technician.input(
            TechnicianInput::Field(SignInField::Pin),
            Millis(4_000),
            true,
            DEFAULTS,
        );
        for digit in [2, 4, 6, 8, 1, 3] {
            technician.input(TechnicianInput::Digit(digit), Millis(4_000), true, DEFAULTS);
        }
        technician.input(TechnicianInput::SignIn, Millis(4_000), true, DEFAULTS);
        technician.input(
            TechnicianInput::SignInChecked(SignInOutcome::Accepted),
            Millis(4_100),
            true,
            DEFAULTS,
        );
        technician
    }

    #[test]
    fn five_fast_taps_with_the_last_held_open_the_sign_in() {
        let mut technician = Technician::default();
        let outcome = gesture(&mut technician, 10_000);
        assert!(outcome.entered);
        assert_eq!(outcome.commands, vec![TechnicianCommand::Entered]);
        assert!(matches!(
            technician.view((Language::ZhCn, false)),
            Some(TechnicianView::SignIn {
                field: SignInField::Id,
                ..
            })
        ));
    }

    #[test]
    fn holding_the_fifth_tap_opens_it_without_letting_go() {
        let mut technician = Technician::default();
        for i in 0..4 {
            tap(&mut technician, i * 300, 100);
        }
        technician.input(
            TechnicianInput::CornerPressed,
            Millis(1_200),
            true,
            DEFAULTS,
        );
        assert!(!technician.tick(Millis(3_000), true).entered);
        assert!(technician.tick(Millis(3_200), true).entered);
    }

    #[test]
    fn ordinary_taps_do_not_open_it() {
        // Five quick taps, none held.
        let mut technician = Technician::default();
        for i in 0..5 {
            assert!(!tap(&mut technician, i * 300, 100).entered);
        }
        assert!(!technician.active());
        // Four taps and a long press, but too slowly.
        let mut slow = Technician::default();
        for i in 0..4 {
            tap(&mut slow, i * 1_500, 100);
        }
        assert!(!tap(&mut slow, 6_000, 2_500).entered);
        // A held press in the middle starts again.
        let mut interrupted = Technician::default();
        tap(&mut interrupted, 0, 100);
        tap(&mut interrupted, 300, 1_000);
        for i in 0..2 {
            tap(&mut interrupted, 1_500 + i * 300, 100);
        }
        assert!(!tap(&mut interrupted, 2_200, 2_100).entered);
        // The corner closed (a resident's session): nothing counts.
        let mut busy = Technician::default();
        for i in 0..4 {
            busy.input(
                TechnicianInput::CornerPressed,
                Millis(i * 300),
                false,
                DEFAULTS,
            );
            busy.input(
                TechnicianInput::CornerReleased,
                Millis(i * 300 + 100),
                false,
                DEFAULTS,
            );
        }
        busy.input(
            TechnicianInput::CornerPressed,
            Millis(1_200),
            false,
            DEFAULTS,
        );
        assert!(
            !busy
                .input(
                    TechnicianInput::CornerReleased,
                    Millis(3_500),
                    false,
                    DEFAULTS
                )
                .entered
        );
    }

    #[test]
    fn the_pin_leaves_the_page_once_and_is_never_shown() {
        let mut technician = Technician::default();
        gesture(&mut technician, 0);
        let at = Millis(4_000);
        technician.input(TechnicianInput::Digit(7), at, true, DEFAULTS);
        technician.input(TechnicianInput::Field(SignInField::Pin), at, true, DEFAULTS);
        for digit in [9, 8, 7, 6, 5] {
            technician.input(TechnicianInput::Digit(digit), at, true, DEFAULTS);
        }
        // Five digits are too few.
        assert!(technician
            .input(TechnicianInput::SignIn, at, true, DEFAULTS)
            .commands
            .is_empty());
        technician.input(TechnicianInput::Digit(4), at, true, DEFAULTS);
        let view = format!("{:?}", technician.view((Language::ZhCn, false)));
        assert!(!view.contains("987654"), "{view}");
        let outcome = technician.input(TechnicianInput::SignIn, at, true, DEFAULTS);
        let [TechnicianCommand::CheckSignIn { id, pin }] = outcome.commands.as_slice() else {
            panic!("{outcome:?}");
        };
        assert_eq!(id, "7");
        assert_eq!(pin.expose_digits(), b"987654");
        assert!(!format!("{outcome:?}").contains("987654"));
        assert!(matches!(
            technician.view((Language::ZhCn, false)),
            Some(TechnicianView::SignIn {
                checking: true,
                pin_digits: 0,
                ..
            })
        ));
        // While checking, taps do nothing.
        technician.input(TechnicianInput::Digit(1), at, true, DEFAULTS);
        technician.input(
            TechnicianInput::SignInChecked(SignInOutcome::Refused { tries_left: 4 }),
            at,
            true,
            DEFAULTS,
        );
        assert!(matches!(
            technician.view((Language::ZhCn, false)),
            Some(TechnicianView::SignIn {
                notice: Some(SignInNotice::Refused { tries_left: 4 }),
                pin_digits: 0,
                field: SignInField::Pin,
                ..
            })
        ));
    }

    #[test]
    fn signed_in_actions_go_to_the_shell_one_at_a_time() {
        let mut technician = signed_in();
        let at = Millis(5_000);
        let outcome = technician.input(
            TechnicianInput::Run(TechnicianAction::SelfTest),
            at,
            false,
            DEFAULTS,
        );
        assert_eq!(
            outcome.commands,
            vec![TechnicianCommand::Run {
                technician: "1001".into(),
                action: TechnicianAction::SelfTest
            }]
        );
        // A second one waits for the first.
        assert!(technician
            .input(
                TechnicianInput::Run(TechnicianAction::Restart),
                at,
                false,
                DEFAULTS
            )
            .commands
            .is_empty());
        technician.input(
            TechnicianInput::ActionDone(TechnicianAction::SelfTest, ActionResult::Problem),
            at,
            false,
            DEFAULTS,
        );
        assert!(matches!(
            technician.view((Language::ZhCn, false)),
            Some(TechnicianView::SignedIn {
                running: None,
                last: Some((TechnicianAction::SelfTest, ActionResult::Problem)),
                ..
            })
        ));
        let defaults = technician.input(
            TechnicianInput::ToggleDefaultElderly,
            at,
            false,
            Defaults {
                language: Language::EnUs,
                next_language: Language::ZhCn,
                elderly: false,
            },
        );
        assert_eq!(
            defaults.commands,
            vec![TechnicianCommand::SaveDefaults {
                technician: "1001".into(),
                language: Language::EnUs,
                elderly: true
            }]
        );
        let left = technician.input(TechnicianInput::Leave, at, false, DEFAULTS);
        assert!(left.left);
        assert_eq!(
            left.commands,
            vec![TechnicianCommand::Left {
                technician: Some("1001".into()),
                reason: LeaveReason::Left
            }]
        );
        assert!(!technician.active());
    }

    #[test]
    fn untouched_pages_give_way_to_the_out_of_service_screen_and_then_to_service() {
        let mut technician = signed_in();
        let signed = Millis(4_100);
        assert!(
            technician.tick(signed.saturating_add(SIGNED_IN_IDLE), false) == Outcome::default()
        );
        assert_eq!(
            technician.view((Language::ZhCn, false)),
            Some(TechnicianView::OutOfService)
        );
        // The gesture on the out-of-service screen asks for the sign-in again; cancelling it
        // goes back to the out-of-service screen, not to residents.
        let back = 400_000;
        gesture(&mut technician, back);
        assert!(matches!(
            technician.view((Language::ZhCn, false)),
            Some(TechnicianView::SignIn { .. })
        ));
        technician.input(
            TechnicianInput::Cancel,
            Millis(back + 4_000),
            true,
            DEFAULTS,
        );
        assert_eq!(
            technician.view((Language::ZhCn, false)),
            Some(TechnicianView::OutOfService)
        );
        let timeout = technician.tick(Millis(back + 4_000).saturating_add(PAUSED_AT_MOST), true);
        assert!(timeout.left);
        assert_eq!(
            timeout.commands,
            vec![TechnicianCommand::Left {
                technician: Some("1001".into()),
                reason: LeaveReason::TimedOut
            }]
        );
    }

    #[test]
    fn an_abandoned_sign_in_returns_to_service() {
        let mut technician = Technician::default();
        gesture(&mut technician, 0);
        let outcome = technician.tick(Millis(3_300).saturating_add(SIGN_IN_IDLE), true);
        assert!(outcome.left);
        assert_eq!(
            outcome.commands,
            vec![TechnicianCommand::Left {
                technician: None,
                reason: LeaveReason::SignInAbandoned
            }]
        );
    }

    #[test]
    fn the_lockout_escalates_and_expires() {
        let mut lockout = Lockout::default();
        let mut now = 1_000_000;
        for left in (1..TRIES_BEFORE_LOCKOUT).rev() {
            assert_eq!(lockout.failed(now), Admission::Open { tries_left: left });
        }
        let first = lockout.failed(now);
        assert_eq!(
            first,
            Admission::Locked {
                until_ms: now + FIRST_LOCKOUT_MS
            }
        );
        // Locked: a try changes nothing and does not count.
        assert_eq!(lockout.failed(now + 60_000), first);
        // It survives a restart through the store.
        let stored = Lockout::decode(&lockout.encode());
        assert_eq!(stored, Some(lockout));
        now += FIRST_LOCKOUT_MS;
        assert_eq!(
            lockout.admission(now),
            Admission::Open {
                tries_left: TRIES_BEFORE_LOCKOUT
            }
        );
        for _ in 1..TRIES_BEFORE_LOCKOUT {
            lockout.failed(now);
        }
        assert_eq!(
            lockout.failed(now),
            Admission::Locked {
                until_ms: now + 2 * FIRST_LOCKOUT_MS
            }
        );
        lockout.succeeded();
        assert_eq!(lockout, Lockout::default());
        assert_eq!(Lockout::decode("1 2"), None);
        assert_eq!(Lockout::decode("x 0 0"), None);
    }

    #[test]
    fn the_longest_lockout_is_a_day() {
        let mut lockout = Lockout::default();
        let mut now = 0;
        let mut last = 0;
        for _ in 0..40 {
            for _ in 0..TRIES_BEFORE_LOCKOUT {
                if let Admission::Locked { until_ms } = lockout.failed(now) {
                    last = until_ms - now;
                    now = until_ms;
                }
            }
        }
        assert_eq!(last, LONGEST_LOCKOUT_MS);
    }
}
