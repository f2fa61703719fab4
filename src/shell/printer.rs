//! The receipt printer in the running kiosk: jobs run on a thread of their own (serial writes
//! block), their outcome comes back as a core event; in demo mode the printer is the virtual
//! one on a pseudo-terminal and every receipt is saved as a picture.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::shell::events::EventSink;

use anyhow::Context;

use crate::config::Config;
use crate::core::receipt::Receipt;
use crate::core::{DeviceHealth, DeviceKind, Event, PrintProblem, Ticket};
use crate::printer::serial::{PortSettings, SerialPrinter};
#[cfg(feature = "demo")]
use crate::printer::sim::{RenderPaper, VirtualPrinter};

/// Demo mode's virtual printer; a terminal's build has none (a value of it cannot exist).
#[cfg(feature = "demo")]
type Virtual = Arc<VirtualPrinter>;
#[cfg(not(feature = "demo"))]
type Virtual = Arc<NoVirtualPrinter>;

/// A terminal's build has no virtual printer: no value of this exists.
#[cfg(not(feature = "demo"))]
enum NoVirtualPrinter {}
use crate::printer::{JobOutcome, Profiles, ReceiptPrinter, Refusal};

/// Shows a saved demo receipt; called from the printing thread.
pub type DemoReceipts = Arc<dyn Fn(PathBuf) + Send + Sync>;

/// How often an idle printer is asked for its status: a printer unplugged, switched off or
/// out of paper between receipts is seen within this, and one plugged back in, switched on
/// or refilled re-attaches on its own (the services that need it come back without a
/// restart).
pub const STATUS_EVERY: Duration = Duration::from_secs(3);

pub struct PrinterAdapter {
    printer: Arc<Mutex<SerialPrinter>>,
    /// The health last told to the core, shared by the poll and the print jobs.
    health: Arc<Mutex<Option<DeviceHealth>>>,
    /// Ends the status poll when the adapter goes.
    stop: Arc<AtomicBool>,
    /// Demo mode's virtual printer; kept alive for as long as the kiosk runs.
    virtual_printer: Option<Virtual>,
    receipts_dir: PathBuf,
    events: EventSink,
    /// Demo mode: where each saved receipt picture is announced, for the screen to show it.
    demo_receipts: DemoReceipts,
    /// The paper sensor's state goes here.
    metrics: crate::metrics::Metrics,
}

impl PrinterAdapter {
    pub fn start(
        config: &Config,
        events: EventSink,
        demo_receipts: DemoReceipts,
        metrics: crate::metrics::Metrics,
    ) -> anyhow::Result<PrinterAdapter> {
        let settings = &config.devices.printer;
        let profiles = Profiles::bundled()?;
        let profile = profiles
            .get(&settings.profile)
            .cloned()
            .with_context(|| format!("no printer profile \"{}\"", settings.profile))?;
        let virtual_printer = if settings.port == "sim" {
            Some(start_virtual(&profile)?)
        } else {
            None
        };
        let path = virtual_printer
            .as_ref()
            .map_or(settings.port.clone(), virtual_path);
        let mut port = PortSettings::for_profile(&path, &profile);
        port.baud = settings.baud;
        port.flow_control = settings.flow_control;
        let mut printer = SerialPrinter::new(port, profile);
        let status = printer.status();
        metrics.set_paper(crate::metrics::paper_state(status.paper));
        let health = health_of(status.refusal());
        events.send(Event::DeviceChanged(DeviceKind::Printer, health));
        let receipts_dir = config.data.directory.join("receipts");
        let printer = Arc::new(Mutex::new(printer));
        let health = Arc::new(Mutex::new(Some(health)));
        let stop = Arc::new(AtomicBool::new(false));
        let poll = {
            let (printer, health, stop, events) = (
                printer.clone(),
                health.clone(),
                stop.clone(),
                events.clone(),
            );
            std::thread::Builder::new()
                .name("printer-status".into())
                .spawn(move || poll_status(&printer, &health, &stop, &events))
        };
        if let Err(error) = poll {
            tracing::error!(%error, "the printer's status poll did not start");
        }
        Ok(PrinterAdapter {
            printer,
            health,
            stop,
            virtual_printer,
            receipts_dir,
            events,
            demo_receipts,
            metrics,
        })
    }

    /// Checks the printer, prints, and reports [`Event::Printed`] with `ticket`. Only a
    /// complete job counts as printed.
    pub fn print(&self, ticket: Ticket, receipt: Receipt) {
        let events = self.events.clone();
        self.run_job(
            move |printer| match printer.status().refusal() {
                Some(refusal) => Err(problem(refusal)),
                None => match printer.print_receipt(&receipt) {
                    Ok(JobOutcome::Complete { .. }) => {
                        tracing::info!(
                            event = crate::logging::event::PRINTER_JOB,
                            ticket = %ticket.reference(),
                            "receipt printed"
                        );
                        Ok(())
                    }
                    Ok(JobOutcome::Incomplete { reason, .. }) => Err(problem(reason)),
                    Err(error) => {
                        tracing::warn!(
                            event = crate::logging::event::PRINTER_JOB,
                            %error,
                            "receipt not printed"
                        );
                        Err(PrintProblem::Offline)
                    }
                },
            },
            Err(PrintProblem::Offline),
            move |result| events.send(Event::Printed { ticket, result }),
        );
    }

    /// Prints the technicians' test page (every size, CJK, a QR code, a cut); `done` hears
    /// whether it printed whole.
    pub fn test_page(&self, done: Box<dyn FnOnce(bool) + Send>) {
        self.run_job(
            |printer| match printer.status().refusal() {
                Some(refusal) => {
                    tracing::warn!(?refusal, "test page refused");
                    false
                }
                None => {
                    let blocks = crate::printer::cli::test_page_blocks(printer.profile());
                    match crate::printer::escpos::encode_blocks(&blocks, printer.profile()) {
                        Ok(job) => matches!(printer.print(&job), Ok(JobOutcome::Complete { .. })),
                        Err(error) => {
                            tracing::warn!(%error, "test page not encoded");
                            false
                        }
                    }
                }
            },
            false,
            done,
        );
    }

    /// Runs one job on a thread of its own (serial writes block), then does what follows
    /// every job: the paper sensor to the metrics, the printer's health to the core (when it
    /// changed), `finish` with the job's outcome (`unreachable` when the printer's lock is
    /// poisoned), and in demo mode the virtual printer's pictures saved and shown.
    fn run_job<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut SerialPrinter) -> T + Send + 'static,
        unreachable: T,
        finish: impl FnOnce(T) + Send + 'static,
    ) {
        let printer = self.printer.clone();
        let told = self.health.clone();
        let events = self.events.clone();
        let virtual_printer = self.virtual_printer.clone();
        let receipts_dir = self.receipts_dir.clone();
        let demo_receipts = self.demo_receipts.clone();
        let metrics = self.metrics.clone();
        std::thread::spawn(move || {
            let Ok(mut printer) = printer.lock() else {
                finish(unreachable);
                return;
            };
            let outcome = job(&mut printer);
            let status = printer.status();
            metrics.set_paper(crate::metrics::paper_state(status.paper));
            tell(&told, &events, health_of(status.refusal()));
            finish(outcome);
            if let Some(sim) = virtual_printer {
                for path in save_demo_receipts(&sim, &receipts_dir) {
                    demo_receipts(path);
                }
            }
        });
    }

    /// The printer's state now, as the self-test words it (the technician page): asked
    /// between jobs, never inside one.
    pub fn self_test(&self) -> crate::selftest::Check {
        let target = self.virtual_printer.as_ref().map_or_else(
            || self.port_path(),
            |sim| format!("sim ({})", virtual_path(sim)),
        );
        match self.printer.lock() {
            Ok(mut printer) => {
                let status = printer.status();
                crate::selftest::devices::printer_check(&target, &status, printer.unreachable())
            }
            Err(_) => crate::selftest::Check::failure(
                crate::selftest::Part::ReceiptPrinter,
                target,
                "the printing thread failed",
                "restart the kiosk",
            ),
        }
    }

    fn port_path(&self) -> String {
        self.printer
            .lock()
            .map(|printer| printer.settings().path.clone())
            .unwrap_or_default()
    }
}

impl Drop for PrinterAdapter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Tells the core the printer's health when it changed.
fn tell(told: &Mutex<Option<DeviceHealth>>, events: &EventSink, health: DeviceHealth) {
    let Ok(mut last) = told.lock() else { return };
    if *last != Some(health) {
        if last.is_some() {
            tracing::info!(?health, "receipt printer");
        }
        *last = Some(health);
        events.send(Event::DeviceChanged(DeviceKind::Printer, health));
    }
}

/// Asks the idle printer every [`STATUS_EVERY`]; a job in progress holds the printer and
/// is its own status check, so that round is skipped.
fn poll_status(
    printer: &Mutex<SerialPrinter>,
    told: &Mutex<Option<DeviceHealth>>,
    stop: &AtomicBool,
    events: &EventSink,
) {
    let tick = Duration::from_millis(100);
    loop {
        let mut waited = Duration::ZERO;
        while waited < STATUS_EVERY {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(tick);
            waited += tick;
        }
        let health = match printer.try_lock() {
            Ok(mut printer) => health_of(printer.status().refusal()),
            Err(std::sync::TryLockError::WouldBlock) => continue,
            Err(std::sync::TryLockError::Poisoned(_)) => return,
        };
        tell(told, events, health);
    }
}

fn problem(refusal: Refusal) -> PrintProblem {
    tracing::warn!(
        event = crate::logging::event::PRINTER_JOB,
        %refusal,
        "printer refused the receipt"
    );
    match refusal {
        Refusal::PaperOut => PrintProblem::PaperOut,
        Refusal::CoverOpen => PrintProblem::CoverOpen,
        _ => PrintProblem::Offline,
    }
}

fn health_of(refusal: Option<Refusal>) -> DeviceHealth {
    match refusal {
        None => DeviceHealth::Online,
        Some(Refusal::NoDevice) => DeviceHealth::NoDevice,
        Some(Refusal::HardwareError) => DeviceHealth::HardwareError,
        Some(_) => DeviceHealth::Offline,
    }
}

#[cfg(feature = "demo")]
fn start_virtual(profile: &crate::printer::Profile) -> anyhow::Result<Virtual> {
    Ok(Arc::new(VirtualPrinter::start(profile)?))
}

#[cfg(not(feature = "demo"))]
fn start_virtual(_profile: &crate::printer::Profile) -> anyhow::Result<Virtual> {
    anyhow::bail!("this build has no virtual printer (it was built without the demo feature)")
}

#[cfg(feature = "demo")]
fn virtual_path(sim: &Virtual) -> String {
    sim.path().to_string()
}

#[cfg(not(feature = "demo"))]
fn virtual_path(sim: &Virtual) -> String {
    match **sim {}
}

#[cfg(not(feature = "demo"))]
fn save_demo_receipts(sim: &Virtual, _dir: &std::path::Path) -> Vec<PathBuf> {
    match **sim {}
}

/// Demo mode: each cut receipt as a PNG in `<data>/receipts/`; returns the files written.
#[cfg(feature = "demo")]
fn save_demo_receipts(sim: &VirtualPrinter, dir: &std::path::Path) -> Vec<PathBuf> {
    let mut saved = Vec::new();
    if crate::store::private_directory(dir).is_err() {
        return saved;
    }
    for paper in sim.take_receipts() {
        let stem = chrono::Local::now()
            .format("receipt-%Y%m%d-%H%M%S%3f")
            .to_string();
        let path = dir.join(format!("{stem}.png"));
        match paper.render().and_then(|image| image.write_png(&path)) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "demo receipt saved");
                saved.push(path);
            }
            Err(error) => tracing::warn!(%error, "demo receipt not saved"),
        }
    }
    saved
}
