//! The self-test: every part of the terminal looked at, each finding a typed [`Check`] —
//! the part, what was looked at (a port, a reader's name, a route; never anything of a
//! resident), ok / warning / failure, a short detail for a technician and, for anything
//! not ok, the likely fix in plain words. `renshe-kiosk diag` ([`cli`]) runs all of them
//! over SSH; the technician page of the running kiosk shows the same [`Report`].
//!
//! # The seam for the running kiosk
//!
//! Each check is a function that takes only what it needs — a configuration section, a
//! path, a `&Store` — and opens what it looks at itself:
//!
//! - [`devices::card_reader`], [`devices::psam`] (PC/SC: a context of their own, so they run
//!   beside the kiosk's reader service), [`devices::id_card_reader`] and
//!   [`devices::receipt_printer`] (they open the serial port: the running kiosk holds its
//!   ports open, so there these report "in use" — use the builders below instead),
//!   [`devices::a4_printer`], [`devices::camera`], [`devices::voice`];
//! - [`backend::probe_routes`] (a fresh request per endpoint; pass the engine's
//!   `availability()` to add each route's breaker), [`backend::certificate`];
//! - [`system::disk`], [`system::file_modes`], [`system::clock`];
//! - [`records::open`] then [`records::journal`] (read-only, no writer lock: it runs beside
//!   the kiosk; the kiosk can pass its own `&Store` to [`records::journal`] instead).
//!
//! For the parts the kiosk holds open, it builds checks from its adapters' live state with
//! the same wording: [`devices::printer_check`] (a `PrinterStatus`),
//! [`devices::id_card_check`] (the watcher's `ReaderHealth`),
//! [`devices::card_reader_check`] (the reader service's `Status`). [`run_all`] is what
//! `diag` runs; the technician page composes its own list from the same pieces.

pub mod backend;
pub mod cli;
pub mod devices;
pub mod records;
pub mod system;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::config::Config;

/// Which part of the terminal a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    CardReader,
    /// The PSAM that authenticates 3rd-generation social security cards.
    Psam,
    IdCardReader,
    ReceiptPrinter,
    A4Printer,
    Camera,
    Voice,
    BackendRoute,
    /// The terminal's client certificate for mTLS.
    Certificate,
    Disk,
    Clock,
    /// The journal, the outbox and the quarantine in `kiosk.db`.
    Records,
}

impl Part {
    /// How the part is named in a human line.
    pub fn label(self) -> &'static str {
        match self {
            Part::CardReader => "card reader",
            Part::Psam => "PSAM",
            Part::IdCardReader => "ID-card reader",
            Part::ReceiptPrinter => "printer",
            Part::A4Printer => "A4 printer",
            Part::Camera => "camera",
            Part::Voice => "voice",
            Part::BackendRoute => "route",
            Part::Certificate => "client certificate",
            Part::Disk => "disk",
            Part::Clock => "clock",
            Part::Records => "records",
        }
    }
}

/// Ordered by gravity: a report's status is its worst check's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but a technician should look (paper near its end, a failover endpoint down,
    /// the certificate expiring soon). `diag` still exits 0.
    Warning,
    /// The part cannot do its job; the services that need it are off.
    Failure,
}

impl Status {
    fn tag(self) -> &'static str {
        match self {
            Status::Ok => "ok  ",
            Status::Warning => "WARN",
            Status::Failure => "FAIL",
        }
    }
}

/// One finding. `Display` is the technician's line: `printer on /dev/ttyS1: paper out —
/// load a roll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub part: Part,
    /// What was looked at: a port, a reader's name, a route, a path. Never personal data.
    pub target: String,
    pub status: Status,
    pub detail: String,
    /// The likely fix, for anything not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Numbers worth graphing: `latency_ms`, `free_bytes`, `outbox_pending`, ...
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<&'static str, i64>,
}

impl Check {
    pub fn ok(part: Part, target: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            part,
            target: target.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
            figures: BTreeMap::new(),
        }
    }

    pub fn warning(
        part: Part,
        target: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Warning,
            fix: Some(fix.into()),
            ..Check::ok(part, target, detail)
        }
    }

    pub fn failure(
        part: Part,
        target: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Failure,
            fix: Some(fix.into()),
            ..Check::ok(part, target, detail)
        }
    }

    /// Adds a figure (builder style).
    pub fn with(mut self, name: &'static str, value: i64) -> Check {
        self.figures.insert(name, value);
        self
    }

    /// `printer on /dev/ttyS1`, `route "insurance"`, `card reader "Virtual PCD 00 00"`.
    pub fn subject(&self) -> String {
        let label = self.part.label();
        if self.target.is_empty() {
            return label.to_owned();
        }
        match self.part {
            Part::ReceiptPrinter | Part::IdCardReader => format!("{label} on {}", self.target),
            Part::Disk | Part::Records | Part::Camera | Part::Voice | Part::Certificate => {
                format!("{label} {}", self.target)
            }
            _ => format!("{label} \"{}\"", self.target),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject(), self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, " — {fix}")?;
        }
        Ok(())
    }
}

/// Version of the JSON schema of [`Report::to_json`] (README, "Self-test and diag").
pub const SCHEMA_VERSION: u32 = 1;

/// Every check of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema: u32,
    pub terminal: String,
    pub version: String,
    pub status: Status,
    pub counts: Counts,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub ok: usize,
    pub warning: usize,
    pub failure: usize,
}

impl Report {
    pub fn new(terminal: &str, checks: Vec<Check>) -> Report {
        let mut counts = Counts::default();
        for check in &checks {
            match check.status {
                Status::Ok => counts.ok += 1,
                Status::Warning => counts.warning += 1,
                Status::Failure => counts.failure += 1,
            }
        }
        Report {
            schema: SCHEMA_VERSION,
            terminal: terminal.to_owned(),
            version: crate::LONG_VERSION.to_owned(),
            status: checks
                .iter()
                .map(|check| check.status)
                .max()
                .unwrap_or(Status::Ok),
            counts,
            checks,
        }
    }

    /// The checks, failures first, then warnings, then the rest (each group in run order).
    pub fn by_gravity(&self) -> Vec<&Check> {
        let mut sorted: Vec<&Check> = self.checks.iter().collect();
        sorted.sort_by_key(|check| std::cmp::Reverse(check.status));
        sorted
    }

    /// One line per check, failures first, and a summary.
    pub fn human(&self) -> String {
        let mut text = String::new();
        for check in self.by_gravity() {
            text.push_str(check.status.tag());
            text.push_str("  ");
            text.push_str(&check.to_string());
            text.push('\n');
        }
        text.push_str(&format!(
            "{}: {} failure(s), {} warning(s), {} ok\n",
            self.terminal, self.counts.failure, self.counts.warning, self.counts.ok
        ));
        text
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|error| {
            format!("{{\"schema\":{SCHEMA_VERSION},\"error\":\"{error}\"}}")
        })
    }
}

/// Every check `diag` runs, against the devices and paths `config` names (simulated
/// devices must already stand in: `cli` starts them and passes their ports in `ports`).
pub fn run_all(
    config: &Config,
    ports: &devices::Ports,
    runtime: &tokio::runtime::Runtime,
) -> Report {
    let mut checks = Vec::new();
    let card = &config.devices.card_reader;
    checks.push(devices::card_reader(card));
    checks.push(devices::psam(card));
    checks.push(devices::id_card_reader(
        &config.devices.id_card_reader,
        ports,
    ));
    checks.push(devices::receipt_printer(&config.devices.printer, ports));
    checks.push(devices::a4_printer(
        &config.devices.a4_printer_spec(),
        config.devices.cups_host.trim(),
    ));
    checks.push(devices::camera(&config.devices.camera_spec()));
    checks.push(devices::voice(config));
    checks.extend(runtime.block_on(backend::probe_routes(
        &config.backend,
        &config.terminal.id,
        None,
    )));
    checks.extend(backend::certificate(
        config.backend.tls.as_ref(),
        std::time::SystemTime::now(),
    ));
    let directory = &config.data.directory;
    checks.push(system::disk(directory, system::DiskThresholds::default()));
    checks.extend(system::file_modes(directory, &config.key_source()));
    checks.push(system::clock(
        std::time::SystemTime::now(),
        system::ntp_synchronized(),
    ));
    match records::open(&config.database_path(), &config.key_source()) {
        Ok(records::Opened::Store { store, held_by }) => {
            checks.extend(records::journal(&store, held_by, now_ms()));
        }
        Ok(records::Opened::NotYet(check)) | Err(check) => checks.push(check),
    }
    Report::new(&config.terminal.id, checks)
}

/// Wall-clock milliseconds since the epoch (the outbox stores its times so).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_as_bad_as_its_worst_check_and_lists_failures_first() {
        let report = Report::new(
            "T-1",
            vec![
                Check::ok(Part::Clock, "", "2026-12-01 10:00 UTC"),
                Check::failure(
                    Part::ReceiptPrinter,
                    "/dev/ttyS1",
                    "paper out",
                    "load a roll",
                ),
                Check::warning(Part::Voice, "alsa", "no sound card", "check the speaker"),
            ],
        );
        assert_eq!(report.status, Status::Failure);
        assert_eq!(
            report.counts,
            Counts {
                ok: 1,
                warning: 1,
                failure: 1
            }
        );
        let human = report.human();
        let lines: Vec<&str> = human.lines().collect();
        assert_eq!(
            lines[0],
            "FAIL  printer on /dev/ttyS1: paper out — load a roll"
        );
        assert!(lines[1].starts_with("WARN  voice alsa: no sound card"));
        assert!(lines[2].starts_with("ok    clock: "));
        assert_eq!(lines[3], "T-1: 1 failure(s), 1 warning(s), 1 ok");
        let warnings_only = Report::new(
            "T-1",
            vec![Check::warning(Part::Disk, "/d", "low", "free space")],
        );
        assert_eq!(warnings_only.status, Status::Warning);
        assert_eq!(Report::new("T-1", vec![]).status, Status::Ok);
    }

    #[test]
    fn the_json_names_parts_and_statuses_in_its_stable_spelling() {
        let report = Report::new(
            "T-1",
            vec![Check::failure(
                Part::BackendRoute,
                "insurance",
                "unreachable (connection refused)",
                "check the network / VPN",
            )
            .with("latency_ms", 3)],
        );
        let value: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
        assert_eq!(value["schema"], 1);
        assert_eq!(value["status"], "failure");
        assert_eq!(value["counts"]["failure"], 1);
        let check = &value["checks"][0];
        assert_eq!(check["part"], "backend-route");
        assert_eq!(check["target"], "insurance");
        assert_eq!(check["status"], "failure");
        assert_eq!(check["fix"], "check the network / VPN");
        assert_eq!(check["figures"]["latency_ms"], 3);
        let ok = serde_json::to_value(Check::ok(Part::Clock, "", "fine")).expect("json");
        assert!(
            ok.get("fix").is_none() && ok.get("figures").is_none(),
            "{ok}"
        );
    }
}
