//! The A4 printer for proofs (`devices.a4_printer`): a CUPS queue asked for its readiness
//! every few seconds on a thread of its own (IPP calls block; never on the UI thread), each
//! change sent as [`Event::A4PrinterChanged`]; a proof rendered to PDF (renshe-proof), checked
//! again, sent with Print-Job and followed until CUPS says how the job ended.
//!
//! `sim` keeps the PDF in memory, draws its pages with `pdftoppm` (fed on stdin) into a
//! private temporary directory and shows the first on screen, as the demo receipts are; the
//! pictures go with the session. No PDF and no proof data is ever logged or written to disk.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use renshe_cups::{A4PrinterSpec, JobOutcome, Readiness, Reason};

use crate::core::records::{insurance_kind_key, insurance_status_key};
use crate::core::{
    A4Status, DeviceHealth, Event, Language, PrintProblem, ProofAnswer, ProofKind, Ticket,
};
use crate::i18n::Translator;
use crate::shell::events::EventSink;

/// How often readiness is asked.
const POLL_EVERY: Duration = Duration::from_secs(3);
/// How long a job may take before its outcome counts as unconfirmed.
const JOB_TIMEOUT: Duration = Duration::from_secs(90);
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// Shows the simulated printer's first page (a PNG in the session's temporary directory).
pub type DemoPages = Arc<dyn Fn(PathBuf) + Send + Sync>;
/// Tests only: a copy of every PDF as it is sent to CUPS (or the simulator).
pub type SubmittedHook = Arc<dyn Fn(&[u8]) + Send + Sync>;

pub struct A4Adapter {
    spec: A4PrinterSpec,
    queue_uri: Option<String>,
    events: EventSink,
    demo_pages: DemoPages,
    /// The simulator's page pictures of this session.
    pictures: Arc<Mutex<Option<tempfile::TempDir>>>,
    submitted: Arc<Mutex<Option<SubmittedHook>>>,
    stop: Arc<AtomicBool>,
}

impl A4Adapter {
    /// Starts the readiness poll (for a queue) and says what the printer is now.
    pub fn start(
        spec: A4PrinterSpec,
        cups_host: &str,
        events: EventSink,
        demo_pages: DemoPages,
    ) -> A4Adapter {
        let queue_uri = spec.queue_uri_on(cups_host);
        let stop = Arc::new(AtomicBool::new(false));
        match (&spec, &queue_uri) {
            (A4PrinterSpec::None, _) => events.send(Event::A4PrinterChanged(A4Status {
                health: DeviceHealth::NoDevice,
                problem: None,
            })),
            (A4PrinterSpec::Sim, _) => events.send(Event::A4PrinterChanged(A4Status {
                health: DeviceHealth::Online,
                problem: None,
            })),
            (A4PrinterSpec::Queue { .. }, Some(uri)) => {
                let (uri, events, stop) = (uri.clone(), events.clone(), stop.clone());
                let spawned = std::thread::Builder::new()
                    .name("a4-readiness".into())
                    .spawn(move || poll(&uri, &events, &stop));
                if let Err(error) = spawned {
                    tracing::warn!(%error, "the A4 printer's readiness poll did not start");
                }
            }
            (A4PrinterSpec::Queue { .. }, None) => {}
        }
        A4Adapter {
            spec,
            queue_uri,
            events,
            demo_pages,
            pictures: Arc::default(),
            submitted: Arc::default(),
            stop,
        }
    }

    /// Tests only: `hook` gets a copy of each PDF as it is submitted.
    pub fn on_submitted(&self, hook: SubmittedHook) {
        if let Ok(mut slot) = self.submitted.lock() {
            *slot = Some(hook);
        }
    }

    /// Renders, checks readiness again, prints, and reports [`Event::Printed`] with `ticket`;
    /// only a job CUPS calls completed counts as printed.
    pub fn print(&self, ticket: Ticket, proof: renshe_proof::Proof) {
        let spec = self.spec.clone();
        let queue_uri = self.queue_uri.clone();
        let events = self.events.clone();
        let demo_pages = self.demo_pages.clone();
        let pictures = self.pictures.clone();
        let submitted = self.submitted.lock().ok().and_then(|hook| hook.clone());
        let spawned = std::thread::Builder::new()
            .name("a4-print".into())
            .spawn(move || {
                let result = print_proof(&spec, queue_uri.as_deref(), &proof, submitted, |pdf| {
                    show_pages(pdf, &pictures, &demo_pages)
                });
                drop(proof);
                if let Some(uri) = &queue_uri {
                    events.send(Event::A4PrinterChanged(status_of(uri)));
                }
                events.send(Event::Printed { ticket, result });
            });
        if spawned.is_err() {
            self.events.send(Event::Printed {
                ticket,
                result: Err(PrintProblem::Offline),
            });
        }
    }

    /// The session ended: the simulator's pictures go.
    pub fn forget(&self) {
        if let Ok(mut pictures) = self.pictures.lock() {
            *pictures = None;
        }
    }
}

impl Drop for A4Adapter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn poll(uri: &str, events: &EventSink, stop: &AtomicBool) {
    let mut last = None;
    while !stop.load(Ordering::SeqCst) {
        let status = status_of(uri);
        if last != Some(status) {
            events.send(Event::A4PrinterChanged(status));
            last = Some(status);
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// The queue's readiness as the core's A4 status; warnings are for a technician only.
pub fn status_of(uri: &str) -> A4Status {
    match renshe_cups::printer_status(uri) {
        Ok(status) => match renshe_cups::readiness(&status) {
            Readiness::Ready => A4Status {
                health: DeviceHealth::Online,
                problem: None,
            },
            Readiness::ReadyWithWarnings(reasons) => {
                tracing::warn!(?reasons, "the A4 printer needs a technician soon");
                A4Status {
                    health: DeviceHealth::Online,
                    problem: None,
                }
            }
            Readiness::Refused(reasons) => {
                tracing::warn!(?reasons, "the A4 printer refuses");
                A4Status {
                    health: DeviceHealth::HardwareError,
                    problem: Some(problem_of(&reasons)),
                }
            }
        },
        Err(error) => {
            tracing::warn!(%error, "the A4 printer does not answer");
            A4Status {
                health: DeviceHealth::Offline,
                problem: Some(PrintProblem::Offline),
            }
        }
    }
}

/// The refusal a resident can act on first: paper, a jam, a cover; else "out of service".
fn problem_of(reasons: &[Reason]) -> PrintProblem {
    let has = |wanted: &[Reason]| reasons.iter().any(|r| wanted.contains(r));
    if has(&[Reason::MediaEmpty, Reason::MediaNeeded]) {
        PrintProblem::PaperOut
    } else if has(&[Reason::MediaJam]) {
        PrintProblem::Jammed
    } else if has(&[Reason::CoverOpen, Reason::DoorOpen]) {
        PrintProblem::CoverOpen
    } else {
        PrintProblem::Offline
    }
}

fn print_proof(
    spec: &A4PrinterSpec,
    queue_uri: Option<&str>,
    proof: &renshe_proof::Proof,
    submitted: Option<SubmittedHook>,
    simulate: impl FnOnce(&[u8]) -> Result<(), PrintProblem>,
) -> Result<(), PrintProblem> {
    let font = proof_font().ok_or(PrintProblem::Offline)?;
    let pdf = zeroize::Zeroizing::new(renshe_proof::render(proof, font).map_err(|error| {
        tracing::warn!(%error, "the proof could not be rendered");
        PrintProblem::Offline
    })?);
    if let Some(hook) = submitted {
        hook(&pdf);
    }
    match (spec, queue_uri) {
        (A4PrinterSpec::Sim, _) => simulate(&pdf),
        (A4PrinterSpec::Queue { .. }, Some(uri)) => {
            // Asked again right before Print-Job: the poll may be seconds old.
            let now = status_of(uri);
            if !now.is_ready() {
                return Err(now.problem.unwrap_or(PrintProblem::Offline));
            }
            // The job's title is a fixed word: never a name, a code or a number.
            let job = renshe_cups::print_pdf(uri, "renshe-proof", &pdf).map_err(|error| {
                tracing::warn!(%error, "the proof was not accepted by CUPS");
                PrintProblem::Offline
            })?;
            match renshe_cups::wait_for_job(uri, job, JOB_TIMEOUT) {
                JobOutcome::Completed => Ok(()),
                JobOutcome::Canceled | JobOutcome::Aborted => {
                    tracing::warn!(%job, "the proof's job did not complete");
                    Err(status_of(uri).problem.unwrap_or(PrintProblem::Offline))
                }
                JobOutcome::Unknown => Err(PrintProblem::Unconfirmed),
            }
        }
        _ => Err(PrintProblem::Offline),
    }
}

/// The simulator: the pages drawn from the PDF on stdin (it never touches the disk), the
/// first shown.
fn show_pages(
    pdf: &[u8],
    pictures: &Mutex<Option<tempfile::TempDir>>,
    demo_pages: &DemoPages,
) -> Result<(), PrintProblem> {
    let dir = tempfile::Builder::new()
        .prefix("renshe-a4-")
        .tempdir()
        .map_err(|_| PrintProblem::Offline)?;
    let mut child = Process::new("pdftoppm")
        .args(["-png", "-r", "60", "-", "page"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| {
            tracing::warn!(%error, "pdftoppm (poppler-utils) is missing: the sim cannot draw");
            PrintProblem::Offline
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(pdf).map_err(|_| PrintProblem::Offline)?;
    }
    let finished = child.wait().map_err(|_| PrintProblem::Offline)?;
    if !finished.success() {
        return Err(PrintProblem::Offline);
    }
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .map_err(|_| PrintProblem::Offline)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pages.sort();
    let first = pages.first().cloned().ok_or(PrintProblem::Offline)?;
    if let Ok(mut slot) = pictures.lock() {
        // The last proof's pictures are replaced (and deleted) by this one's.
        *slot = Some(dir);
    }
    demo_pages(first);
    Ok(())
}

/// The proofs' CJK face, loaded once.
pub fn proof_font() -> Option<&'static renshe_proof::Font> {
    static FONT: OnceLock<Option<renshe_proof::Font>> = OnceLock::new();
    FONT.get_or_init(|| {
        let bytes = std::fs::read(FONT_PATH)
            .inspect_err(|error| tracing::warn!(%error, path = FONT_PATH, "no proof font"))
            .ok()?;
        renshe_proof::Font::from_collection(bytes, 0)
            .inspect_err(|error| tracing::warn!(%error, "the proof font does not parse"))
            .ok()
    })
    .as_ref()
}

/// How the issuer is named on a proof.
fn issuer(language: renshe_proof::Language) -> &'static str {
    match language {
        renshe_proof::Language::Zh => "重庆市人力资源和社会保障局",
        renshe_proof::Language::En => {
            "Chongqing Municipal Human Resources and Social Security Bureau"
        }
    }
}

/// The core's proof as renshe-proof's, its words through `words` (a Fluent key → text).
pub fn proof_of(
    answer: &ProofAnswer,
    language: Language,
    words: impl Fn(&str) -> String,
) -> renshe_proof::Proof {
    let language = match language {
        Language::EnUs => renshe_proof::Language::En,
        _ => renshe_proof::Language::Zh,
    };
    let body = match answer.kind {
        ProofKind::Enrollment => renshe_proof::ProofBody::Enrollment(
            answer
                .enrollment
                .iter()
                .map(|line| renshe_proof::EnrollmentRow {
                    insurance: words(insurance_kind_key(line.kind)),
                    status: words(insurance_status_key(line.status)),
                    since: line.since.clone(),
                    place: line.place.clone(),
                })
                .collect(),
        ),
        ProofKind::Contributions => renshe_proof::ProofBody::Contributions(
            answer
                .years
                .iter()
                .map(|year| renshe_proof::YearRecord {
                    year: u16::try_from(year.year).unwrap_or_default(),
                    rows: year
                        .months
                        .iter()
                        .map(|m| renshe_proof::ContributionRow {
                            month: m.month,
                            base_fen: i64::try_from(m.base_fen).unwrap_or(i64::MAX),
                            personal_fen: i64::try_from(m.personal_fen).unwrap_or(i64::MAX),
                            employer_fen: i64::try_from(m.employer_fen).unwrap_or(i64::MAX),
                            employer: m.employer.clone(),
                        })
                        .collect(),
                })
                .collect(),
        ),
    };
    renshe_proof::Proof {
        language,
        issuer: issuer(language).into(),
        masked_name: answer.masked_name.clone(),
        masked_id_number: answer.masked_id_number.clone(),
        body,
        issued_at: answer.issued_at.clone(),
        verification_code: answer.verification_code.clone(),
        verify_url: answer.verify_url.clone(),
        seal_png: answer.seal_png.clone(),
    }
}

/// Pages the Chinese proof takes, for the preview. Off the UI thread, so without Fluent:
/// insurance names stand as their keys, which only the one-page enrollment proof shows.
pub fn page_count(answer: &ProofAnswer) -> Option<u8> {
    let font = proof_font()?;
    let proof = proof_of(answer, Language::ZhCn, |key| key.to_string());
    renshe_proof::page_count(&proof, font)
        .ok()
        .and_then(|n| u8::try_from(n).ok())
}

/// The PDF of a proof, with its words from Fluent (the CLI's `proof render`).
pub fn render(
    answer: &ProofAnswer,
    language: Language,
    translator: &Translator,
) -> anyhow::Result<Vec<u8>> {
    let font = proof_font().ok_or_else(|| anyhow::anyhow!("no proof font at {FONT_PATH}"))?;
    let proof = proof_of(answer, language, |key| translator.tr(language, key));
    Ok(renshe_proof::render(&proof, font)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "demo")]
    #[test]
    fn the_simulator_draws_the_pages_shows_the_first_and_forgets_them() {
        let translator = Translator::new().expect("locales");
        let answer = crate::shell::screenshot::sample_proof(ProofKind::Contributions);
        let proof = proof_of(&answer, Language::ZhCn, |key| {
            translator.tr(Language::ZhCn, key)
        });
        let shown: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
        let seen = shown.clone();
        let demo_pages: DemoPages = Arc::new(move |path| {
            if let Ok(mut all) = seen.lock() {
                all.push(path);
            }
        });
        let pictures = Mutex::new(None);
        let result = print_proof(&A4PrinterSpec::Sim, None, &proof, None, |pdf| {
            show_pages(pdf, &pictures, &demo_pages)
        });
        assert_eq!(result, Ok(()));
        let first = shown
            .lock()
            .expect("shown")
            .first()
            .cloned()
            .expect("a page shown");
        assert!(first.exists() && first.extension().is_some_and(|x| x == "png"));
        let dir = first.parent().expect("its folder").to_path_buf();
        // Only pictures: the PDF went to pdftoppm on stdin.
        let files: Vec<_> = std::fs::read_dir(&dir).expect("dir").flatten().collect();
        assert_eq!(files.len(), usize::from(answer.pages), "{files:?}");
        assert!(files
            .iter()
            .all(|f| f.path().extension().is_some_and(|x| x == "png")));
        *pictures.lock().expect("pictures") = None;
        assert!(!dir.exists(), "the session's pictures are gone");
    }

    #[test]
    fn refusals_a_resident_can_act_on_come_first() {
        assert_eq!(
            problem_of(&[Reason::Stopped, Reason::MediaEmpty]),
            PrintProblem::PaperOut
        );
        assert_eq!(problem_of(&[Reason::MediaJam]), PrintProblem::Jammed);
        assert_eq!(problem_of(&[Reason::DoorOpen]), PrintProblem::CoverOpen);
        assert_eq!(problem_of(&[Reason::Stopped]), PrintProblem::Offline);
    }
}
