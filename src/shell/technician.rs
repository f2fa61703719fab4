//! Technician mode in the running kiosk: checks a sign-in against the configured argon2id
//! hashes under the terminal's lockout (kept in the store, on the wall clock, so a restart
//! does not lift it), writes every entry, exit, failure and action to the journal's audit
//! trail, and carries out the actions (self-test, test page, catalogue sync, restart). The
//! state machine and the pages' logic are the core's (`core::technician`).

use std::cell::RefCell;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use zeroize::Zeroizing;

use std::rc::Rc;

use crate::backend::engine::Engine;
use crate::config::{Config, TechnicianAccount};
use crate::core::technician::{
    ActionResult, Admission, Lockout, SignInOutcome, TechnicianAction, TechnicianCommand,
    TechnicianInput, TechnicianPin, PIN_MAX_DIGITS, PIN_MIN_DIGITS,
};
use crate::core::{DeviceHealth, Event, View};
use crate::selftest::{self, devices, system, Check, Part, Report, Status};
use crate::shell::events::EventSink;
use crate::shell::printer::PrinterAdapter;
use crate::store::technician::AuditEntry;
use crate::ui::{self, AppWindow, CheckRow};

/// Milliseconds since the Unix epoch: the system clock in the kiosk, a hand-set one in tests.
pub type WallClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Told when maintenance starts (`true`) and ends: heartbeats, metrics and the health
/// endpoint say `maintenance` meanwhile.
pub type ModeHook = Box<dyn Fn(bool)>;

/// Starts a catalogue sync and calls back with whether it worked.
pub type CatalogueSync = Box<dyn Fn(Box<dyn FnOnce(bool) + Send>)>;

/// A self-test's summary line and its rows.
type FinishedSelfTest = (String, Vec<Check>);

/// Whether `hash` is an argon2id PHC string this build can check.
pub fn check_pin_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|_| "not a PHC password hash".to_string())?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "the algorithm is {}, not argon2id",
            parsed.algorithm.as_str()
        ));
    }
    argon2::Params::try_from(&parsed)
        .map_err(|_| "its argon2 parameters are invalid".to_string())?;
    Ok(())
}

/// An argon2id hash of `pin` for the configuration (`renshe-kiosk technician hash`).
pub fn hash_pin(pin: &[u8]) -> Result<String, String> {
    if !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&pin.len())
        || !pin.iter().all(u8::is_ascii_digit)
    {
        return Err(format!(
            "a technician PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits"
        ));
    }
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|error| format!("salt: {error}"))?;
    Argon2::default()
        .hash_password(pin, &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| format!("hash: {error}"))
}

/// Whether `id` and `pin` match an account. Every try costs one argon2 check, whether the id
/// exists or not, so the time taken does not tell which ids are real.
fn verify(accounts: &[TechnicianAccount], id: &str, pin: &TechnicianPin) -> bool {
    // A hash of a random PIN nobody knows, checked when the id is unknown.
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let account = accounts.iter().find(|account| account.id == id);
    let hash = match account {
        Some(account) => account.pin_hash.as_str(),
        None => DECOY.get_or_init(|| {
            let digits = format!("{:012}", rand::random::<u64>() % 1_000_000_000_000);
            hash_pin(digits.as_bytes()).unwrap_or_default()
        }),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(pin.expose_digits(), &parsed)
        .is_ok()
        && account.is_some()
}

pub struct TechnicianAdapter {
    accounts: Arc<Vec<TechnicianAccount>>,
    terminal_id: String,
    engine: Engine,
    runtime: tokio::runtime::Handle,
    events: EventSink,
    wall_clock: RefCell<WallClock>,
    app: slint::Weak<AppWindow>,
    catalogue_sync: CatalogueSync,
    printer: Rc<PrinterAdapter>,
    config: Config,
    mode_hooks: RefCell<Vec<ModeHook>>,
    /// The last self-test's summary and rows, until the next drawing shows them.
    finished_checks: Arc<std::sync::Mutex<Option<FinishedSelfTest>>>,
}

impl TechnicianAdapter {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: &Config,
        engine: Engine,
        runtime: tokio::runtime::Handle,
        events: EventSink,
        app: slint::Weak<AppWindow>,
        catalogue_sync: CatalogueSync,
        printer: Rc<PrinterAdapter>,
    ) -> TechnicianAdapter {
        TechnicianAdapter {
            accounts: Arc::new(config.technician.accounts.clone()),
            terminal_id: config.terminal.id.clone(),
            engine,
            runtime,
            events,
            wall_clock: RefCell::new(Arc::new(system_time_ms)),
            app,
            catalogue_sync,
            printer,
            config: config.clone(),
            mode_hooks: RefCell::new(Vec::new()),
            finished_checks: Arc::default(),
        }
    }

    /// Draws a finished self-test's rows (the action's end redraws the view).
    pub fn drawn(&self, app: &AppWindow) {
        let finished = self
            .finished_checks
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        if let Some((summary, checks)) = finished {
            let rows: Vec<CheckRow> = checks.into_iter().map(CheckRow::from).collect();
            ui::technician::show_checks(app, &summary, rows);
        }
    }

    /// Tests set the lockout's clock by hand.
    pub fn set_wall_clock(&self, clock: WallClock) {
        *self.wall_clock.borrow_mut() = clock;
    }

    pub fn on_mode(&self, hook: ModeHook) {
        self.mode_hooks.borrow_mut().push(hook);
    }

    /// Carries out one of the core's technician commands.
    pub fn run(&self, command: &TechnicianCommand, view: &View) {
        match command {
            TechnicianCommand::Entered => {
                tracing::info!(
                    event = "technician.entered",
                    "technician mode: sign-in opened; residents see out of service"
                );
                self.audit(None, "entered", "");
                self.tell_mode(true);
            }
            TechnicianCommand::Left { technician, reason } => {
                tracing::info!(
                    event = "technician.left",
                    reason = reason.key(),
                    "technician mode left; serving residents again"
                );
                self.audit(technician.as_deref(), &format!("left.{}", reason.key()), "");
                if let Some(app) = self.app.upgrade() {
                    ui::technician::clear_checks(&app);
                }
                self.tell_mode(false);
            }
            TechnicianCommand::CheckSignIn { id, pin } => {
                self.check_sign_in(id.clone(), pin.clone())
            }
            TechnicianCommand::SaveDefaults {
                technician,
                language,
                elderly,
            } => {
                let tag = language.tag();
                let elderly = *elderly;
                self.audit(
                    Some(technician),
                    "defaults",
                    &format!("language {tag}, elderly {elderly}"),
                );
                let engine = self.engine.clone();
                self.runtime.spawn(async move {
                    if let Err(error) = engine
                        .with_store(move |store| store.set_terminal_defaults(tag, elderly))
                        .await
                    {
                        tracing::warn!(%error, "the terminal's defaults were not saved");
                    }
                });
            }
            TechnicianCommand::Run { technician, action } => {
                tracing::info!(event = "technician.action", action = action.key(), %technician, "technician action");
                let journaled =
                    self.audit(Some(technician), &format!("action.{}", action.key()), "");
                self.act(*action, view, journaled);
            }
        }
    }

    fn tell_mode(&self, maintenance: bool) {
        for hook in self.mode_hooks.borrow().iter() {
            hook(maintenance);
        }
    }

    /// Journals one audit line in the background (the page does not wait for the disk); the
    /// handle says when it is written.
    fn audit(
        &self,
        technician: Option<&str>,
        event: &str,
        detail: &str,
    ) -> tokio::task::JoinHandle<()> {
        let now = (self.wall_clock.borrow())();
        self.runtime.spawn(journal_audit(
            self.engine.clone(),
            AuditLine {
                terminal_id: self.terminal_id.clone(),
                technician: technician.map(str::to_owned),
                event: event.to_owned(),
                detail: detail.to_owned(),
                recorded_at_ms: now,
            },
        ))
    }

    fn check_sign_in(&self, id: String, pin: TechnicianPin) {
        let engine = self.engine.clone();
        let accounts = self.accounts.clone();
        let events = self.events.clone();
        let clock = self.wall_clock.borrow().clone();
        let terminal_id = self.terminal_id.clone();
        self.runtime.spawn(async move {
            let outcome = sign_in(&engine, accounts, &terminal_id, id, pin, clock).await;
            events.send(Event::Technician(TechnicianInput::SignInChecked(outcome)));
        });
    }

    /// Carries out `action`; `journaled` is its audit line being written.
    fn act(&self, action: TechnicianAction, view: &View, journaled: tokio::task::JoinHandle<()>) {
        let events = self.events.clone();
        let done = move |ok: bool| {
            let result = if ok {
                ActionResult::Done
            } else {
                ActionResult::Problem
            };
            events.send(Event::Technician(TechnicianInput::ActionDone(
                action, result,
            )));
        };
        match action {
            TechnicianAction::SelfTest => self.self_test(view, done),
            TechnicianAction::TestPrint => self.printer.test_page(Box::new(done)),
            TechnicianAction::SyncCatalogue => (self.catalogue_sync)(Box::new(done)),
            TechnicianAction::Restart => {
                // The audit line goes first: the restart must not outrun it.
                self.runtime.spawn(async move {
                    let _ = journaled.await;
                    restart();
                    done(false);
                });
            }
        }
    }

    /// The self-test as the running kiosk sees it: `diag`'s checks (`crate::selftest`) for
    /// what the kiosk does not hold open, and for the serial devices it holds, their state
    /// as the adapters see it (the printer asked now, between jobs). Never a resident's data.
    fn self_test(&self, view: &View, done: impl FnOnce(bool) + Send + 'static) {
        let mut checks = vec![self.printer.self_test()];
        checks.extend(held_devices(&self.config, view));
        let engine = self.engine.clone();
        let finished = self.finished_checks.clone();
        let config = self.config.clone();
        self.runtime.spawn(async move {
            let probes = {
                let config = config.clone();
                tokio::task::spawn_blocking(move || {
                    let card = &config.devices.card_reader;
                    let directory = &config.data.directory;
                    let mut checks = vec![
                        devices::card_reader(card),
                        devices::psam(card),
                        devices::a4_printer(
                            &config.devices.a4_printer_spec(),
                            config.devices.cups_host.trim(),
                        ),
                        system::disk(directory, system::DiskThresholds::default()),
                        system::clock(std::time::SystemTime::now(), system::ntp_synchronized()),
                    ];
                    checks.extend(system::file_modes(directory, &config.key_source()));
                    checks
                })
                .await
            };
            checks.extend(probes.unwrap_or_default());
            let breakers = engine.availability();
            checks.extend(
                selftest::backend::probe_routes(
                    &config.backend,
                    &config.terminal.id,
                    Some(&breakers),
                )
                .await,
            );
            checks.extend(selftest::backend::certificate(
                config.backend.tls.as_ref(),
                std::time::SystemTime::now(),
            ));
            let now = system_time_ms();
            match engine
                .with_store(move |store| Ok(selftest::records::journal(store, None, now)))
                .await
            {
                Ok(journal) => checks.extend(journal),
                Err(error) => checks.push(Check::failure(
                    Part::Records,
                    "",
                    error.to_string(),
                    "see the log; the records may need repair",
                )),
            }
            let report = Report::new(&config.terminal.id, checks);
            let summary = format!(
                "{} · {} · {}",
                config.terminal.id,
                crate::VERSION,
                chrono::Local::now().format("%Y-%m-%d %H:%M:%S")
            );
            let problem = report.status == Status::Failure;
            let rows = report.by_gravity().into_iter().cloned().collect();
            if let Ok(mut slot) = finished.lock() {
                *slot = Some((summary, rows));
            }
            done(!problem);
        });
    }
}

/// The devices the kiosk's adapters hold, from the health they last reported.
fn held_devices(config: &Config, view: &View) -> Vec<Check> {
    let check = |part, target: &str, health, fix: &str| match health {
        DeviceHealth::Online => Check::ok(part, target, "online"),
        DeviceHealth::NoDevice => Check::ok(part, target, "none on this terminal"),
        DeviceHealth::Unknown => Check::warning(part, target, "not reported yet", fix),
        DeviceHealth::Offline => Check::failure(part, target, "offline", fix),
        DeviceHealth::HardwareError => Check::failure(part, target, "hardware error", fix),
    };
    vec![
        check(
            Part::IdCardReader,
            &config.devices.id_card_reader.port,
            view.id_card_reader,
            "check the reader's serial cable and power",
        ),
        check(
            Part::Camera,
            &config.devices.camera,
            view.camera,
            "check the camera's USB cable",
        ),
        check(
            Part::Voice,
            &config.devices.voice,
            view.voice_device,
            "check the speaker and `aplay -l`",
        ),
    ]
}

/// One line of the technicians' audit trail, owned: it is written on the runtime.
struct AuditLine {
    terminal_id: String,
    technician: Option<String>,
    event: String,
    detail: String,
    recorded_at_ms: i64,
}

/// Writes `line` to the hash-chained journal; a failure is logged (the action goes on).
async fn journal_audit(engine: Engine, line: AuditLine) {
    let result = engine
        .with_store(move |store| {
            store.technician_audit(&AuditEntry {
                terminal_id: &line.terminal_id,
                technician: line.technician.as_deref(),
                event: &line.event,
                detail: &line.detail,
                recorded_at_ms: line.recorded_at_ms,
            })
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "a technician audit line was not journaled");
    }
}

async fn sign_in(
    engine: &Engine,
    accounts: Arc<Vec<TechnicianAccount>>,
    terminal_id: &str,
    id: String,
    pin: TechnicianPin,
    clock: WallClock,
) -> SignInOutcome {
    if accounts.is_empty() {
        return SignInOutcome::NoAccounts;
    }
    let now = clock();
    let mut lockout = match engine.with_store(|store| store.technician_lockout()).await {
        Ok(stored) => stored
            .as_deref()
            .and_then(Lockout::decode)
            .unwrap_or_default(),
        Err(error) => {
            // Without the lockout's state, no sign-in: guessing must not get easier when
            // the store fails.
            tracing::error!(%error, "technician lockout unreadable: sign-in refused");
            return SignInOutcome::Locked { minutes: 1 };
        }
    };
    let audit = |event: &'static str, detail: String| {
        journal_audit(
            engine.clone(),
            AuditLine {
                terminal_id: terminal_id.to_owned(),
                technician: Some(id.clone()),
                event: event.to_owned(),
                detail,
                recorded_at_ms: now,
            },
        )
    };
    if let Admission::Locked { until_ms } = lockout.admission(now) {
        audit("sign-in-locked", format!("locked until {until_ms}")).await;
        return SignInOutcome::Locked {
            minutes: minutes_until(now, until_ms),
        };
    }
    let checked = {
        let accounts = accounts.clone();
        let id = id.clone();
        tokio::task::spawn_blocking(move || verify(&accounts, &id, &pin)).await
    };
    let accepted = checked.unwrap_or(false);
    let outcome = if accepted {
        lockout.succeeded();
        SignInOutcome::Accepted
    } else {
        match lockout.failed(now) {
            Admission::Open { tries_left } => SignInOutcome::Refused { tries_left },
            Admission::Locked { until_ms } => SignInOutcome::Locked {
                minutes: minutes_until(now, until_ms),
            },
        }
    };
    let encoded = lockout.encode();
    if let Err(error) = engine
        .with_store(move |store| store.set_technician_lockout(&encoded))
        .await
    {
        tracing::error!(%error, "technician lockout not saved");
    }
    match outcome {
        SignInOutcome::Accepted => {
            tracing::info!(event = "technician.signed-in", technician = %id, "technician signed in");
            audit("sign-in", String::new()).await;
        }
        SignInOutcome::Refused { tries_left } => {
            tracing::warn!(
                event = "technician.sign-in-refused",
                tries_left,
                "technician sign-in refused"
            );
            audit("sign-in-refused", format!("tries left {tries_left}")).await;
        }
        SignInOutcome::Locked { minutes } => {
            tracing::warn!(
                event = "technician.locked-out",
                minutes,
                "technician sign-in locked"
            );
            audit("sign-in-locked", format!("locked for {minutes} min")).await;
        }
        SignInOutcome::NoAccounts => {}
    }
    outcome
}

fn minutes_until(now: i64, until_ms: i64) -> u32 {
    // Rounded up: "1 minute" until the last millisecond has passed.
    u32::try_from((until_ms - now).max(1).saturating_add(59_999) / 60_000).unwrap_or(u32::MAX)
}

fn system_time_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Restarts the kiosk: under systemd, exits and lets `Restart=always` start it again; by
/// hand, runs itself again in place (same arguments, same process id).
fn restart() {
    if std::env::var_os("INVOCATION_ID").is_some() {
        tracing::info!(
            event = "technician.restart",
            "restarting: exiting for systemd"
        );
        std::process::exit(0);
    }
    use std::os::unix::process::CommandExt;
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(error) => {
            tracing::error!(%error, "restart failed: the kiosk's own path is unknown");
            return;
        }
    };
    tracing::info!(event = "technician.restart", "restarting in place");
    let error = std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .exec();
    tracing::error!(%error, "restart failed");
}

impl From<Check> for CheckRow {
    fn from(check: Check) -> CheckRow {
        let state = match check.status {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Failure => "failure",
        };
        ui::technician::check_row(
            &check.subject(),
            "",
            state,
            &check.detail,
            check.fix.as_deref().unwrap_or(""),
        )
    }
}

/// Reads a technician PIN from standard input for `technician hash` (one line; digits only).
pub fn read_pin(input: &mut dyn std::io::BufRead) -> Result<Zeroizing<String>, String> {
    let mut line = Zeroizing::new(String::new());
    input
        .read_line(&mut line)
        .map_err(|error| format!("cannot read the PIN: {error}"))?;
    let trimmed = Zeroizing::new(line.trim().to_owned());
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, pin: &str) -> TechnicianAccount {
        TechnicianAccount {
            id: id.into(),
            pin_hash: hash_pin(pin.as_bytes()).expect("hash"),
        }
    }

    fn pin(digits: &str) -> TechnicianPin {
        TechnicianPin::from_digits(digits).expect("digits")
    }

    #[test]
    fn a_hash_checks_its_own_pin_only() {
        let accounts = vec![account("1001", "246813")];
        assert!(check_pin_hash(&accounts[0].pin_hash).is_ok());
        assert!(verify(&accounts, "1001", &pin("246813")));
        assert!(!verify(&accounts, "1001", &pin("246814")));
        assert!(!verify(&accounts, "1002", &pin("246813")));
        assert!(hash_pin(b"12345").is_err());
        assert!(hash_pin(b"12345a").is_err());
    }

    #[test]
    fn only_argon2id_hashes_are_taken() {
        assert!(check_pin_hash("plain").is_err());
        let salt = SaltString::encode_b64(b"renshe-kiosk-tst").expect("salt");
        let argon2i = Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x13,
            argon2::Params::default(),
        )
        .hash_password(b"246813", &salt)
        .expect("hash")
        .to_string();
        assert!(check_pin_hash(&argon2i)
            .expect_err("argon2i")
            .contains("argon2id"));
    }

    #[test]
    fn the_pin_is_read_as_one_trimmed_line() {
        let mut input: &[u8] = b"246813\n";
        assert_eq!(read_pin(&mut input).expect("pin").as_str(), "246813");
    }
}
