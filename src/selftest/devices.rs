//! The devices: the card reader and its PSAM (PC/SC), the ID-card reader (SAM_A on serial),
//! the receipt printer (DLE EOT), the A4 printer (CUPS), the camera and the speaker.

use std::time::Duration;

use crate::card::pcsc::{self, SurveyError};
use crate::config::{self, Config};
use crate::idcard::serial::{IdCardReader, ReadFailure, ReaderSettings};
use crate::idcard::watcher::ReaderHealth;
use crate::printer::serial::{PortSettings, SerialPrinter, Unreachable};
use crate::printer::{DeviceStatus, PaperStatus, PrinterStatus, Profiles, ReceiptPrinter};
use crate::selftest::{Check, Part};

/// What `diag` passes besides the configuration: the ports its simulated devices stand on,
/// and the running kiosk, whose serial ports must not be touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ports {
    /// The virtual printer's pty, when `devices.printer.port` is `sim`.
    pub printer: Option<String>,
    /// The virtual ID-card reader's pty, when `devices.id_card_reader.port` is `sim`.
    pub id_card_reader: Option<String>,
    /// The pid of a running kiosk holding the records (its serial ports are its own: a
    /// status query from here could land in the middle of a receipt).
    pub kiosk: Option<u32>,
}

/// How long the PSAM's reader may take to show the card (vpcd polls every 400 ms).
const PSAM_SETTLE: Duration = Duration::from_secs(3);

/// The social security card reader: pcscd answers, readers are listed, the configured one
/// is among them, and the card in it (if any) answers with its ATR.
pub fn card_reader(config: &config::CardReader) -> Check {
    let pattern = pcsc::reader_pattern(&config.reader);
    match pcsc::survey(&config.reader, Duration::ZERO) {
        Err(error) => pcsc_down(Part::CardReader, &error),
        Ok(survey) => match survey.matched {
            None => no_such_reader(Part::CardReader, pattern, &survey.readers),
            Some(reader) if reader.mute => Check::warning(
                Part::CardReader,
                reader.name,
                "a card is in but does not answer (mute)",
                "take the card out; if every card is mute, the reader needs service",
            ),
            Some(reader) => {
                let detail = match &reader.atr {
                    Some(atr) => format!("present; a card is in (ATR {})", hex(atr)),
                    None => "present, no card in".to_owned(),
                };
                Check::ok(Part::CardReader, reader.name, detail)
                    .with("readers_seen", survey.readers.len() as i64)
            }
        },
    }
}

/// The reader service's live state as a check (the running kiosk's technician page).
pub fn card_reader_check(configured: &str, status: &pcsc::Status) -> Check {
    let target = status
        .reader
        .clone()
        .unwrap_or_else(|| pcsc::reader_pattern(configured).to_owned());
    match status.device {
        pcsc::DeviceStatus::Online => Check::ok(
            Part::CardReader,
            target,
            match status.media {
                pcsc::Media::Present => "present; a card is in",
                pcsc::Media::NotPresent => "present, no card in",
            },
        ),
        pcsc::DeviceStatus::Offline => pcsc_down(Part::CardReader, &SurveyError::ServiceUnavailable),
        pcsc::DeviceStatus::NoDevice => Check::failure(
            Part::CardReader,
            target,
            "not among the readers pcscd sees",
            "plug the reader in (check its USB cable, `pcsc_scan`) or fix devices.card_reader.reader",
        ),
        pcsc::DeviceStatus::HardwareError => Check::warning(
            Part::CardReader,
            target,
            "a card is in but does not answer (mute)",
            "take the card out; if every card is mute, the reader needs service",
        ),
    }
}

/// The PSAM of 3rd-generation cards: its reader is there and the PSAM in it answers.
pub fn psam(config: &config::CardReader) -> Check {
    if config.sam_reader == "none" {
        return Check::ok(
            Part::Psam,
            "none",
            "not fitted (sam_reader = \"none\"): 3rd-generation cards use the back end's HSM",
        );
    }
    let pattern = pcsc::sam_reader_pattern(&config.sam_reader);
    // `survey` maps "sim" through the user card's pattern; the PSAM has its own.
    match pcsc::survey(pattern, PSAM_SETTLE) {
        Err(error) => pcsc_down(Part::Psam, &error),
        Ok(survey) => match survey.matched {
            None => no_such_reader(Part::Psam, pattern, &survey.readers),
            Some(reader) => match reader.atr {
                Some(atr) => Check::ok(
                    Part::Psam,
                    reader.name,
                    format!("in and answering (ATR {})", hex(&atr)),
                ),
                None => Check::failure(
                    Part::Psam,
                    reader.name,
                    if reader.mute {
                        "the PSAM does not answer (mute)"
                    } else {
                        "no PSAM in the reader"
                    },
                    "seat the PSAM in its slot; without it 3rd-generation cards cannot be read",
                ),
            },
        },
    }
}

fn pcsc_down(part: Part, error: &SurveyError) -> Check {
    match error {
        SurveyError::ServiceUnavailable => {
            Check::failure(part, "", "pcscd is not running", "systemctl start pcscd")
        }
        SurveyError::Other(detail) => Check::failure(
            part,
            "",
            format!("pcscd answered an error ({detail})"),
            "systemctl restart pcscd; if it persists, see journalctl -u pcscd",
        ),
    }
}

fn no_such_reader(part: Part, pattern: &str, readers: &[String]) -> Check {
    if readers.is_empty() {
        return Check::failure(
            part,
            pattern,
            "pcscd sees no readers at all",
            "plug the reader in (check its USB cable; `pcsc_scan` lists what pcscd sees)",
        );
    }
    let field = match part {
        Part::Psam => "devices.card_reader.sam_reader",
        _ => "devices.card_reader.reader",
    };
    Check::failure(
        part,
        pattern,
        format!(
            "no reader matches; pcscd sees {}",
            readers
                .iter()
                .map(|name| format!("\"{name}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("plug the reader in, or set {field} to a part of one of those names"),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `sim (/dev/pts/3)` for a simulated device, else the configured port.
fn port_target(configured: &str, standing_in: Option<&str>) -> (String, String) {
    match standing_in {
        Some(path) if configured == "sim" => (path.to_owned(), format!("sim ({path})")),
        _ => (configured.to_owned(), configured.to_owned()),
    }
}

/// The ID-card reader: the port opens and the module's SAM passes its self-test.
pub fn id_card_reader(config: &config::IdCardReader, ports: &Ports) -> Check {
    if !config.is_configured() {
        return Check::ok(
            Part::IdCardReader,
            "none",
            "not fitted (port = \"none\"): loss reports ask for the ID number to be typed",
        );
    }
    let (path, target) = port_target(&config.port, ports.id_card_reader.as_deref());
    if let Some(pid) = ports.kiosk {
        return held_by_kiosk(Part::IdCardReader, target, pid);
    }
    let mut reader = IdCardReader::new(ReaderSettings::new(&path, config.baud));
    match reader.sam_status() {
        Ok(crate::idcard::protocol::Status::Ok) => Check::ok(
            Part::IdCardReader,
            target,
            "the module answers; its SAM passed the self-test",
        ),
        Ok(status) => Check::failure(
            Part::IdCardReader,
            target,
            format!("the module's SAM reports {status}"),
            "power-cycle the reader; if the SAM still fails its self-test, replace the module",
        ),
        Err(failure) => id_card_failure(target, config.baud, &failure),
    }
}

fn id_card_failure(target: String, baud: u32, failure: &ReadFailure) -> Check {
    match failure {
        ReadFailure::Port { message, .. } => port_problem(
            Part::IdCardReader,
            target,
            message,
            "devices.id_card_reader.port",
        ),
        ReadFailure::Timeout(_) => Check::failure(
            Part::IdCardReader,
            target,
            "the port opens but the module does not answer",
            format!(
                "check the reader's power and cable, and that it talks at {baud} baud (devices.id_card_reader.baud)"
            ),
        ),
        ReadFailure::Frame(_) => Check::failure(
            Part::IdCardReader,
            target,
            "the module's answers are garbled",
            format!("check devices.id_card_reader.baud ({baud}; SAM_A modules use 115200)"),
        ),
        other => Check::failure(
            Part::IdCardReader,
            target,
            other.to_string(),
            "power-cycle the reader; if it persists, replace the module",
        ),
    }
}

/// The watcher's live health as a check (the running kiosk's technician page).
pub fn id_card_check(target: &str, health: ReaderHealth) -> Check {
    match health {
        ReaderHealth::Online => Check::ok(
            Part::IdCardReader,
            target,
            "the module answers; its SAM passed the self-test",
        ),
        ReaderHealth::Offline => Check::failure(
            Part::IdCardReader,
            target,
            "the module does not answer, answers garbage, or its SAM failed",
            "power-cycle the reader; check its cable and devices.id_card_reader.baud",
        ),
        ReaderHealth::NoDevice => Check::failure(
            Part::IdCardReader,
            target,
            "the port cannot be opened",
            "check the reader's cable (a USB adapter comes back under the same /dev/serial/by-id name) and devices.id_card_reader.port",
        ),
    }
}

/// A serial port that does not open, in words: gone, busy, or not allowed.
fn port_problem(part: Part, target: String, message: &str, field: &str) -> Check {
    let lower = message.to_lowercase();
    if lower.contains("no such file") || lower.contains("not found") {
        Check::failure(
            part,
            target,
            "the port does not exist",
            format!("check the cable (a USB adapter must be plugged in) and {field}"),
        )
    } else if lower.contains("busy") {
        Check::warning(
            part,
            target,
            "the port is in use by another process",
            "stop whatever holds it (`fuser` on the port); the kiosk's own use shows on its technician page",
        )
    } else if lower.contains("permission") {
        Check::failure(
            part,
            target,
            format!("the port cannot be opened ({message})"),
            "the kiosk's user needs the port: add it to the dialout group",
        )
    } else {
        Check::failure(
            part,
            target,
            format!("the port cannot be opened ({message})"),
            format!("check the cable and {field}"),
        )
    }
}

fn held_by_kiosk(part: Part, target: String, pid: u32) -> Check {
    Check::ok(
        part,
        target,
        format!(
            "in use by the running kiosk (pid {pid}); its technician page shows the live state"
        ),
    )
}

/// The receipt printer: the port opens and the DLE EOT status says it can print.
pub fn receipt_printer(config: &config::Printer, ports: &Ports) -> Check {
    let (path, target) = port_target(&config.port, ports.printer.as_deref());
    let profile = match Profiles::bundled().map(|p| p.get(&config.profile).cloned()) {
        Ok(Some(profile)) => profile,
        Ok(None) => {
            return Check::failure(
                Part::ReceiptPrinter,
                target,
                format!("no printer profile \"{}\"", config.profile),
                "set devices.printer.profile to one of kiosk-config/printers.toml",
            )
        }
        Err(error) => {
            return Check::failure(
                Part::ReceiptPrinter,
                target,
                format!("the bundled printer profiles do not load ({error})"),
                "reinstall the kiosk package",
            )
        }
    };
    if let Some(pid) = ports.kiosk {
        return held_by_kiosk(Part::ReceiptPrinter, target, pid);
    }
    let mut settings = PortSettings::for_profile(&path, &profile);
    settings.baud = config.baud;
    settings.flow_control = config.flow_control;
    let mut printer = SerialPrinter::new(settings, profile);
    let status = printer.status();
    printer_check(&target, &status, printer.unreachable())
}

/// A printer status as a check; `why` says what the serial adapter ran into when there is no
/// usable printer. The running kiosk passes its adapter's last status here.
pub fn printer_check(target: &str, status: &PrinterStatus, why: Option<&Unreachable>) -> Check {
    let failure =
        |detail: String, fix: &str| Check::failure(Part::ReceiptPrinter, target, detail, fix);
    match status.device {
        DeviceStatus::NoDevice | DeviceStatus::HardwareError if why.is_some() => {
            return match why {
                Some(Unreachable::Open(message)) => port_problem(
                    Part::ReceiptPrinter,
                    target.to_owned(),
                    message,
                    "devices.printer.port",
                ),
                Some(Unreachable::Lost(message)) => failure(
                    format!("the port broke off ({message})"),
                    "check the printer's cable; the kiosk reopens the port on its own",
                ),
                Some(Unreachable::Garbled) => failure(
                    "the status answers are garbled".into(),
                    "check devices.printer.baud and flow_control against the printer's settings page",
                ),
                Some(Unreachable::HeldOff) => failure(
                    "the printer holds the line (XOFF / CTS) and does not answer".into(),
                    "switch the printer off and on; check its flow-control setting",
                ),
                Some(Unreachable::Silent) | None => failure(
                    "the port opens but the printer does not answer".into(),
                    "switch the printer on; check its cable, devices.printer.baud and flow_control",
                ),
            };
        }
        DeviceStatus::NoDevice => {
            return failure(
                "no printer answers on the port".into(),
                "switch the printer on; check its cable and devices.printer.port",
            )
        }
        DeviceStatus::HardwareError => {
            return failure(
                "the printer reports a hardware error (cutter or mechanism)".into(),
                "open the cover, clear any jammed paper, switch the printer off and on",
            )
        }
        DeviceStatus::Offline | DeviceStatus::Online => {}
    }
    if status.cover_open {
        return failure("cover open".into(), "close the printer's cover");
    }
    if status.paper == PaperStatus::Out {
        return failure("paper out".into(), "load a roll");
    }
    if status.device == DeviceStatus::Offline {
        return failure(
            "offline".into(),
            "look at the printer's panel for an error; press its online/feed button",
        );
    }
    if status.paper == PaperStatus::Low {
        return Check::warning(
            Part::ReceiptPrinter,
            target,
            "paper near its end",
            "load a new roll soon",
        );
    }
    Check::ok(Part::ReceiptPrinter, target, "online, paper ok")
}

/// The A4 printer for proofs: CUPS's state, accepting and state reasons for the queue.
pub fn a4_printer(spec: &renshe_cups::A4PrinterSpec, cups_host: &str) -> Check {
    use renshe_cups::{A4PrinterSpec, Readiness};
    let name = match spec {
        A4PrinterSpec::None => {
            return Check::ok(
                Part::A4Printer,
                "none",
                "not fitted (a4_printer = \"none\"): the proof tile is greyed",
            )
        }
        A4PrinterSpec::Sim => {
            return if which("pdftoppm") {
                Check::ok(Part::A4Printer, "sim", "simulated: pages shown on screen")
            } else {
                Check::warning(
                    Part::A4Printer,
                    "sim",
                    "simulated, but pdftoppm is missing: pages cannot be drawn",
                    "apt-get install poppler-utils",
                )
            }
        }
        A4PrinterSpec::Queue { name } => name.clone(),
    };
    let Some(uri) = spec.queue_uri_on(cups_host) else {
        return Check::failure(
            Part::A4Printer,
            name,
            "no queue URI",
            "check devices.a4_printer",
        );
    };
    let status = match renshe_cups::printer_status(&uri) {
        Ok(status) => status,
        // client-error-not-found
        Err(renshe_cups::CupsError::Status { status: 0x0406, .. }) => {
            return Check::failure(
                Part::A4Printer,
                name.clone(),
                format!("CUPS at {cups_host} has no queue \"{name}\""),
                "create the queue (lpadmin) or fix devices.a4_printer",
            )
        }
        Err(error) => {
            return Check::failure(
                Part::A4Printer,
                name,
                format!("cannot ask CUPS at {cups_host} ({error})"),
                "systemctl start cups; check devices.cups_host",
            )
        }
    };
    match renshe_cups::readiness(&status) {
        Readiness::Ready => Check::ok(Part::A4Printer, name, "ready"),
        Readiness::ReadyWithWarnings(reasons) => Check::warning(
            Part::A4Printer,
            &name,
            format!("ready, but {}", reason_words(&reasons)),
            reason_fix(&reasons, &name),
        ),
        Readiness::Refused(reasons) => Check::failure(
            Part::A4Printer,
            &name,
            reason_words(&reasons),
            reason_fix(&reasons, &name),
        ),
    }
}

fn reason_words(reasons: &[renshe_cups::Reason]) -> String {
    use renshe_cups::Reason as R;
    reasons
        .iter()
        .map(|reason| match reason {
            R::Stopped => "the queue is stopped".to_owned(),
            R::NotAccepting => "the queue does not accept jobs".to_owned(),
            R::MediaEmpty | R::MediaNeeded => "out of paper".to_owned(),
            R::MediaJam => "paper jam".to_owned(),
            R::MediaLow => "paper low".to_owned(),
            R::CoverOpen | R::DoorOpen => "cover open".to_owned(),
            R::TonerEmpty | R::MarkerSupplyEmpty => "out of toner".to_owned(),
            R::TonerLow | R::MarkerSupplyLow => "toner low".to_owned(),
            R::InputTrayMissing => "a paper tray is missing".to_owned(),
            R::Offline => "offline".to_owned(),
            R::Other(keyword) => keyword.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn reason_fix(reasons: &[renshe_cups::Reason], queue: &str) -> String {
    use renshe_cups::Reason as R;
    let mut fixes: Vec<String> = Vec::new();
    for reason in reasons {
        let fix = match reason {
            R::Stopped => format!("cupsenable {queue}"),
            R::NotAccepting => format!("cupsaccept {queue}"),
            R::MediaEmpty | R::MediaNeeded | R::MediaLow => "load A4 paper".into(),
            R::MediaJam => "open the printer and clear the jam".into(),
            R::CoverOpen | R::DoorOpen => "close the printer's cover".into(),
            R::TonerEmpty | R::MarkerSupplyEmpty | R::TonerLow | R::MarkerSupplyLow => {
                "replace the toner".into()
            }
            R::InputTrayMissing => "put the paper tray back".into(),
            R::Offline => "switch the printer on; check its cable or network".into(),
            R::Other(_) => format!("see the printer's page in CUPS (lpstat -l -p {queue})"),
        };
        if !fixes.contains(&fix) {
            fixes.push(fix);
        }
    }
    fixes.join("; ")
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The face camera: it opens and reports itself online.
pub fn camera(spec: &renshe_camera::CameraSpec) -> Check {
    let target = spec.to_string();
    match spec.open() {
        Ok(None) => Check::ok(
            Part::Camera,
            target,
            "not fitted (camera = \"none\"): the certification tiles say why they are off",
        ),
        Ok(Some(camera)) => {
            let status = camera.status();
            let detail = if status.detail.is_empty() {
                status.device.as_str().to_owned()
            } else {
                format!("{} ({})", status.device.as_str(), status.detail)
            };
            match status.device {
                renshe_camera::DeviceState::Online => Check::ok(Part::Camera, target, detail),
                _ => Check::failure(
                    Part::Camera,
                    target,
                    detail,
                    "check the camera's USB cable (`v4l2-ctl --list-devices`) and devices.camera",
                ),
            }
        }
        Err(error) => Check::failure(
            Part::Camera,
            target,
            error.to_string(),
            "check the camera's USB cable (`v4l2-ctl --list-devices`) and devices.camera",
        ),
    }
}

/// The speaker of voice guidance. Not a failure when broken: the kiosk serves silently.
pub fn voice(config: &Config) -> Check {
    let spec = config.devices.voice_spec();
    let target = config.devices.voice.trim().to_owned();
    if spec == renshe_voice::VoiceSpec::None {
        return Check::ok(Part::Voice, target, "not fitted (voice = \"none\")");
    }
    let clips = config
        .voice
        .clips
        .as_deref()
        .map(renshe_voice::Clips::index)
        .unwrap_or_default();
    let device = renshe_voice::VoiceDevice::from_spec(
        &spec,
        clips,
        Box::new(|_: &renshe_voice::VoiceStatus| {}),
    );
    let status = device.status();
    match status.state {
        renshe_voice::DeviceState::Online if status.detail.is_empty() => {
            Check::ok(Part::Voice, target, "the speaker opens; espeak-ng is there")
        }
        renshe_voice::DeviceState::Online => Check::ok(Part::Voice, target, status.detail),
        _ => Check::warning(
            Part::Voice,
            target,
            format!("{} (the kiosk serves without voice)", status.detail),
            "check the speaker and sound card (`aplay -l`), devices.voice, and that espeak-ng is installed",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(device: DeviceStatus, paper: PaperStatus, cover_open: bool) -> PrinterStatus {
        PrinterStatus {
            device,
            paper,
            cover_open,
            detail: None,
        }
    }

    #[test]
    fn each_printer_condition_is_named_with_its_fix() {
        let line = |s: PrinterStatus, why: Option<Unreachable>| {
            printer_check("/dev/ttyS1", &s, why.as_ref()).to_string()
        };
        assert_eq!(
            line(status(DeviceStatus::Offline, PaperStatus::Out, false), None),
            "printer on /dev/ttyS1: paper out — load a roll"
        );
        assert_eq!(
            line(status(DeviceStatus::Offline, PaperStatus::Full, true), None),
            "printer on /dev/ttyS1: cover open — close the printer's cover"
        );
        assert!(line(
            status(DeviceStatus::Offline, PaperStatus::Full, false),
            None
        )
        .starts_with("printer on /dev/ttyS1: offline — "));
        let low = printer_check(
            "/dev/ttyS1",
            &status(DeviceStatus::Online, PaperStatus::Low, false),
            None,
        );
        assert_eq!(low.status, crate::selftest::Status::Warning);
        assert_eq!(
            low.to_string(),
            "printer on /dev/ttyS1: paper near its end — load a new roll soon"
        );
        assert_eq!(
            line(
                PrinterStatus::NO_DEVICE,
                Some(Unreachable::Open("No such file or directory".into()))
            ),
            "printer on /dev/ttyS1: the port does not exist — check the cable (a USB adapter must be plugged in) and devices.printer.port"
        );
        assert!(line(PrinterStatus::NO_DEVICE, Some(Unreachable::Silent))
            .contains("the port opens but the printer does not answer"));
        let ok = printer_check(
            "/dev/ttyS1",
            &status(DeviceStatus::Online, PaperStatus::Full, false),
            None,
        );
        assert_eq!(ok.status, crate::selftest::Status::Ok);
    }

    #[test]
    fn cups_reasons_become_words_and_commands() {
        use renshe_cups::Reason as R;
        assert_eq!(
            reason_words(&[R::MediaEmpty, R::CoverOpen]),
            "out of paper, cover open"
        );
        assert_eq!(
            reason_fix(
                &[R::Stopped, R::NotAccepting, R::MediaEmpty, R::MediaLow],
                "A4"
            ),
            "cupsenable A4; cupsaccept A4; load A4 paper"
        );
    }
}
