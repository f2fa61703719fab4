//! Whether a print service may be offered, from the printer's state and reasons — the refusal
//! rules of docs a4-proofs.md, "Refusing a print service".

use crate::{PrinterState, PrinterStatus};

/// One thing wrong (or worth a technician's look) with the printer, so the caller can say it
/// in words. The suffix (`-error`, `-warning`, `-report`) is stripped before matching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `printer-state` 5.
    Stopped,
    /// `printer-is-accepting-jobs` false.
    NotAccepting,
    MediaEmpty,
    MediaNeeded,
    MediaJam,
    MediaLow,
    CoverOpen,
    DoorOpen,
    TonerEmpty,
    TonerLow,
    MarkerSupplyEmpty,
    MarkerSupplyLow,
    InputTrayMissing,
    /// `offline-report` (or `offline` with any suffix).
    Offline,
    /// Any other keyword, as sent (with its suffix).
    Other(String),
}

/// What the kiosk may do with the A4 printer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Print, and alert a technician about these.
    ReadyWithWarnings(Vec<Reason>),
    /// Do not offer printing: tell the resident, alert a technician. Only the refusing
    /// reasons are listed; the raw keywords stay in [`PrinterStatus::reasons`].
    Refused(Vec<Reason>),
}

/// Refuse on state 5, not accepting, any `-error`, or a refusing base keyword (media-empty,
/// media-needed, media-jam, cover-open, door-open, toner-empty, marker-supply-empty,
/// offline) whatever its suffix; every other keyword but `none` only warns.
pub fn readiness(status: &PrinterStatus) -> Readiness {
    let mut refused = Vec::new();
    let mut warnings = Vec::new();
    if status.state == PrinterState::Stopped {
        refused.push(Reason::Stopped);
    }
    if !status.accepting {
        refused.push(Reason::NotAccepting);
    }
    for keyword in &status.reasons {
        let keyword = keyword.trim();
        if keyword.is_empty() || keyword == "none" {
            continue;
        }
        let (base, error) = if let Some(b) = keyword.strip_suffix("-error") {
            (b, true)
        } else if let Some(b) = keyword.strip_suffix("-warning") {
            (b, false)
        } else if let Some(b) = keyword.strip_suffix("-report") {
            (b, false)
        } else {
            (keyword, false)
        };
        let (reason, refuses) = match base {
            "media-empty" => (Reason::MediaEmpty, true),
            "media-needed" => (Reason::MediaNeeded, true),
            "media-jam" => (Reason::MediaJam, true),
            "cover-open" => (Reason::CoverOpen, true),
            "door-open" => (Reason::DoorOpen, true),
            "toner-empty" => (Reason::TonerEmpty, true),
            "marker-supply-empty" => (Reason::MarkerSupplyEmpty, true),
            "offline" => (Reason::Offline, true),
            "media-low" => (Reason::MediaLow, false),
            "toner-low" => (Reason::TonerLow, false),
            "marker-supply-low" => (Reason::MarkerSupplyLow, false),
            "input-tray-missing" => (Reason::InputTrayMissing, false),
            _ => (Reason::Other(keyword.to_string()), false),
        };
        let list = if refuses || error {
            &mut refused
        } else {
            &mut warnings
        };
        if !list.contains(&reason) {
            list.push(reason);
        }
    }
    if !refused.is_empty() {
        Readiness::Refused(refused)
    } else if !warnings.is_empty() {
        Readiness::ReadyWithWarnings(warnings)
    } else {
        Readiness::Ready
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn status(state: PrinterState, accepting: bool, reasons: &[&str]) -> PrinterStatus {
        PrinterStatus {
            state,
            accepting,
            reasons: reasons.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn idle(reasons: &[&str]) -> Readiness {
        readiness(&status(PrinterState::Idle, true, reasons))
    }

    #[test]
    fn none_is_ready() {
        assert_eq!(idle(&["none"]), Readiness::Ready);
        assert_eq!(idle(&[]), Readiness::Ready);
        assert_eq!(
            readiness(&status(PrinterState::Processing, true, &["none"])),
            Readiness::Ready
        );
    }

    #[test]
    fn stopped_and_not_accepting_refuse() {
        assert_eq!(
            readiness(&status(PrinterState::Stopped, true, &["paused"])),
            Readiness::Refused(vec![Reason::Stopped])
        );
        assert_eq!(
            readiness(&status(PrinterState::Idle, false, &["none"])),
            Readiness::Refused(vec![Reason::NotAccepting])
        );
        assert_eq!(
            readiness(&status(PrinterState::Stopped, false, &[])),
            Readiness::Refused(vec![Reason::Stopped, Reason::NotAccepting])
        );
    }

    #[test]
    fn listed_keywords_refuse_with_any_suffix() {
        let cases = [
            ("media-empty", Reason::MediaEmpty),
            ("media-empty-error", Reason::MediaEmpty),
            ("media-needed-warning", Reason::MediaNeeded),
            ("media-jam-error", Reason::MediaJam),
            ("cover-open", Reason::CoverOpen),
            ("door-open-report", Reason::DoorOpen),
            ("toner-empty-error", Reason::TonerEmpty),
            ("marker-supply-empty-warning", Reason::MarkerSupplyEmpty),
            ("offline-report", Reason::Offline),
        ];
        for (keyword, reason) in cases {
            assert_eq!(
                idle(&[keyword]),
                Readiness::Refused(vec![reason]),
                "{keyword}"
            );
        }
    }

    #[test]
    fn any_error_refuses() {
        assert_eq!(
            idle(&["toner-low-error"]),
            Readiness::Refused(vec![Reason::TonerLow])
        );
        assert_eq!(
            idle(&["fuser-over-temp-error"]),
            Readiness::Refused(vec![Reason::Other("fuser-over-temp-error".into())])
        );
    }

    #[test]
    fn low_supplies_and_warnings_only_warn() {
        assert_eq!(
            idle(&[
                "toner-low-warning",
                "media-low",
                "cups-insecure-filter-warning"
            ]),
            Readiness::ReadyWithWarnings(vec![
                Reason::TonerLow,
                Reason::MediaLow,
                Reason::Other("cups-insecure-filter-warning".into())
            ])
        );
    }

    #[test]
    fn refusal_lists_only_refusing_reasons_once() {
        assert_eq!(
            idle(&[
                "media-low-warning",
                "media-empty-error",
                "media-empty-report"
            ]),
            Readiness::Refused(vec![Reason::MediaEmpty])
        );
    }
}
