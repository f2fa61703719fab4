//! Where log lines go and what every line carries: `tracing` into journald when systemd
//! runs the kiosk (structured fields, queryable with `journalctl -o json` or
//! `journalctl EVENT=journal.recovered`), stderr otherwise (development), with the terminal's
//! id and district on every line and a stable [`event`] id on the lines that matter.
//!
//! `RENSHE_LOG_TARGET=journald|stderr` overrides the choice; `RUST_LOG` the filter (default
//! `info`). Never a name, ID number, card number or PIN in a line: the log-privacy test
//! scans every line of a TRACE-level run for the demo residents' data.

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// One stable code per kind of event, in the `event` field: fleet dashboards and alerts
/// select on these, so a code is never reused for another meaning.
pub mod event {
    pub const KIOSK_STARTED: &str = "kiosk.started";
    pub const STORE_OPENED: &str = "store.opened";
    pub const STORE_DISK_FULL: &str = "store.disk_full";
    pub const JOURNAL_CHAIN_VERIFIED: &str = "journal.chain_verified";
    pub const JOURNAL_CHAIN_BROKEN: &str = "journal.chain_broken";
    pub const JOURNAL_RECOVERED: &str = "journal.recovered";
    pub const JOURNAL_QUARANTINED: &str = "journal.quarantined";
    pub const JOURNAL_WRITE_FAILED: &str = "journal.write_failed";
    pub const RETENTION: &str = "journal.retention";
    pub const OUTBOX_RELAY_FAILED: &str = "outbox.relay_failed";
    pub const HEARTBEAT_QUEUED: &str = "heartbeat.queued";
    pub const HEARTBEAT_FAILED: &str = "heartbeat.failed";
    pub const RECONCILIATION_MATCHED: &str = "reconciliation.matched";
    pub const RECONCILIATION_DIFFERENCES: &str = "reconciliation.differences";
    pub const RECONCILIATION_FAILED: &str = "reconciliation.failed";
    pub const DEVICE_CHANGED: &str = "device.changed";
    pub const PAPER_CHANGED: &str = "printer.paper";
    pub const PRINTER_JOB: &str = "printer.job";
    pub const SESSION_ENDED: &str = "session.ended";
    pub const TERMINAL_MODE: &str = "terminal.mode";
    pub const METRICS_LISTENING: &str = "metrics.listening";
    pub const METRICS_FAILED: &str = "metrics.failed";
    pub const CATALOGUE_LOADED: &str = "catalogue.loaded";
    pub const CATALOGUE_FAILED: &str = "catalogue.failed";

    /// Every code, for the README's table and the test that keeps them unique.
    pub const ALL: [&str; 24] = [
        KIOSK_STARTED,
        STORE_OPENED,
        STORE_DISK_FULL,
        JOURNAL_CHAIN_VERIFIED,
        JOURNAL_CHAIN_BROKEN,
        JOURNAL_RECOVERED,
        JOURNAL_QUARANTINED,
        JOURNAL_WRITE_FAILED,
        RETENTION,
        OUTBOX_RELAY_FAILED,
        HEARTBEAT_QUEUED,
        HEARTBEAT_FAILED,
        RECONCILIATION_MATCHED,
        RECONCILIATION_DIFFERENCES,
        RECONCILIATION_FAILED,
        DEVICE_CHANGED,
        PAPER_CHANGED,
        PRINTER_JOB,
        SESSION_ENDED,
        TERMINAL_MODE,
        METRICS_LISTENING,
        METRICS_FAILED,
        CATALOGUE_LOADED,
        CATALOGUE_FAILED,
    ];
}

/// Which terminal the lines come from: on every line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub terminal: String,
    pub district: String,
}

impl Identity {
    pub fn of(config: &crate::config::Config) -> Identity {
        Identity {
            terminal: config.terminal.id.clone(),
            district: config.location.district.clone(),
        }
    }
}

/// Where the lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Journald,
    Stderr,
}

/// `RENSHE_LOG_TARGET` if set, else journald when systemd connected stderr to the journal
/// (`JOURNAL_STREAM` names stderr's device and inode), else stderr.
pub fn target() -> Target {
    match std::env::var("RENSHE_LOG_TARGET").as_deref() {
        Ok("journald") => Target::Journald,
        Ok("stderr") => Target::Stderr,
        _ if stderr_is_journal() => Target::Journald,
        _ => Target::Stderr,
    }
}

fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(stderr) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    stream == format!("{}:{}", stderr.dev(), stderr.ino())
}

/// Installs the process's logging; `identity` is `None` when the configuration could not
/// be read (the command then reports why). Call once, early in `main`.
pub fn init(identity: Option<Identity>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let identity = identity.unwrap_or_default();
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut fallback = None;
    let output: Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync> = match target() {
        Target::Journald => match journald_layer(&identity) {
            Ok(layer) => Box::new(layer),
            Err(error) => {
                fallback = Some(error);
                Box::new(text_layer(identity, std::io::stderr, ansi))
            }
        },
        Target::Stderr => Box::new(text_layer(identity, std::io::stderr, ansi)),
    };
    let installed = tracing_subscriber::registry()
        .with(output.with_filter(filter))
        .try_init();
    if let Some(error) = fallback {
        tracing::warn!(%error, "journald not reachable; logging to stderr");
    }
    if let Err(error) = installed {
        eprintln!("logging was set up already: {error}");
    }
}

/// journald's native protocol: each field its own journal field (`EVENT`, `TERMINAL`,
/// `DISTRICT`, …; no prefix), `SYSLOG_IDENTIFIER=renshe-kiosk`.
fn journald_layer(identity: &Identity) -> std::io::Result<tracing_journald::Layer> {
    Ok(tracing_journald::layer()?
        .with_field_prefix(None)
        .with_syslog_identifier("renshe-kiosk".into())
        .with_custom_fields([
            ("TERMINAL", identity.terminal.as_str()),
            ("DISTRICT", identity.district.as_str()),
        ]))
}

/// Human-readable lines, each beginning `terminal=… district=…`, to `writer` (stderr; a
/// file in the log-privacy test); coloured only when `ansi` (a terminal).
pub fn text_layer<S, W>(identity: Identity, writer: W, ansi: bool) -> impl Layer<S> + Send + Sync
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .event_format(Identified {
            prefix: format!(
                "terminal={} district={} ",
                identity.terminal, identity.district
            ),
            inner: tracing_subscriber::fmt::format::Format::default(),
        })
}

/// The default format, after the terminal's fields.
struct Identified<F> {
    prefix: String,
    inner: F,
}

impl<S, N, F> FormatEvent<S, N> for Identified<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        writer.write_str(&self.prefix)?;
        self.inner.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn event_codes_are_unique_and_dotted() {
        let mut seen = std::collections::BTreeSet::new();
        for code in event::ALL {
            assert!(seen.insert(code), "{code} twice");
            let (kind, what) = code.split_once('.').expect("kind.what");
            assert!(!kind.is_empty() && !what.is_empty(), "{code}");
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn every_text_line_carries_the_terminal_and_district() {
        let lines = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = lines.clone();
        let writer = move || Sink(sink.clone());
        let subscriber = tracing_subscriber::registry().with(text_layer(
            Identity {
                terminal: "CQ-500103-0042".into(),
                district: "渝中区".into(),
            },
            writer,
            false,
        ));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                event = event::JOURNAL_RECOVERED,
                applied = 2,
                "journal recovered"
            );
            tracing::warn!("a line without an event id");
        });
        let text = String::from_utf8(lines.lock().expect("lines").clone()).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for line in &lines {
            assert!(
                line.starts_with("terminal=CQ-500103-0042 district=渝中区 "),
                "{line}"
            );
        }
        assert!(
            lines[0].contains("event=\"journal.recovered\""),
            "{}",
            lines[0]
        );
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
