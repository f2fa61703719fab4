//! Which A4 printer a terminal has, as its configuration names it.

use std::fmt;

/// Where CUPS listens on a terminal.
pub const DEFAULT_CUPS_HOST: &str = "localhost:631";

/// `none` (no A4 printer: the proof services are hidden), `sim` (the demo's simulated
/// printer) or the name of a CUPS queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum A4PrinterSpec {
    None,
    Sim,
    Queue { name: String },
}

/// A value that is neither `none`, `sim` nor a CUPS queue name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadSpec(pub String);

impl fmt::Display for BadSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "A4 printer {:?} is not \"none\", \"sim\" or a CUPS queue name \
             (letters, digits, '_', '-', '.'; at most 127)",
            self.0
        )
    }
}

impl std::error::Error for BadSpec {}

impl A4PrinterSpec {
    pub fn parse(value: &str) -> Result<A4PrinterSpec, BadSpec> {
        match value {
            "none" => Ok(A4PrinterSpec::None),
            "sim" => Ok(A4PrinterSpec::Sim),
            // CUPS allows more, but a name that needs no escaping in a URI is all a
            // terminal needs, and it keeps the URI below unambiguous.
            name if !name.is_empty()
                && name.len() <= 127
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) =>
            {
                Ok(A4PrinterSpec::Queue {
                    name: name.to_string(),
                })
            }
            other => Err(BadSpec(other.to_string())),
        }
    }

    /// `ipp://localhost:631/printers/NAME` for a queue.
    pub fn queue_uri(&self) -> Option<String> {
        self.queue_uri_on(DEFAULT_CUPS_HOST)
    }

    /// The queue's URI on another cupsd (`host:port`), e.g. the tests' private one.
    pub fn queue_uri_on(&self, host: &str) -> Option<String> {
        match self {
            A4PrinterSpec::Queue { name } => Some(format!("ipp://{host}/printers/{name}")),
            A4PrinterSpec::None | A4PrinterSpec::Sim => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(A4PrinterSpec::parse("none"), Ok(A4PrinterSpec::None));
        assert_eq!(A4PrinterSpec::parse("sim"), Ok(A4PrinterSpec::Sim));
        let q = A4PrinterSpec::parse("HP_LaserJet-M404").unwrap();
        assert_eq!(
            q.queue_uri().as_deref(),
            Some("ipp://localhost:631/printers/HP_LaserJet-M404")
        );
        assert_eq!(
            q.queue_uri_on("127.0.0.1:8631").as_deref(),
            Some("ipp://127.0.0.1:8631/printers/HP_LaserJet-M404")
        );
        assert_eq!(A4PrinterSpec::Sim.queue_uri(), None);
    }

    #[test]
    fn errors_name_the_value() {
        for bad in ["", "a b", "x/y", "q#1", "队列", &"x".repeat(128)] {
            let err = A4PrinterSpec::parse(bad).unwrap_err();
            assert_eq!(err.0, bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}
