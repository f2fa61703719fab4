//! The terminal's configuration file (`kiosk-config/*.toml`).
//!
//! Every problem is reported with the file, the line, the field and what would be valid, so a
//! technician on site can fix the file without reading code. Unknown keys are errors: a typo
//! must never silently fall back to a default.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::{Language, Millis};
pub use crate::printer::FlowControl;

/// Where the demo configuration lives in the source tree (tests and `./dev` use it).
pub const DEMO_CONFIG_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/kiosk-config/demo.toml");

/// The demo configuration, compiled into the binary: used when no `--config` is given, so an
/// installed binary does not depend on the machine it was built on.
pub const BUNDLED_DEMO_CONFIG: &str = include_str!("../kiosk-config/demo.toml");

/// How the bundled demo configuration is named in messages.
pub const BUNDLED_DEMO_NAME: &str = "<bundled demo.toml>";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub terminal: Terminal,
    pub location: Location,
    pub display: Display,
    pub language: Languages,
    pub accessibility: Accessibility,
    pub idle: Idle,
    pub devices: Devices,
    /// Voice guidance: when it speaks, how loud, the operator's clips.
    #[serde(default)]
    pub voice: Voice,
    pub data: Data,
    /// The fleet's view of the terminal: the Prometheus endpoint and `/health` on loopback.
    #[serde(default)]
    pub metrics: Metrics,
    /// Where each back-end service lives (failover order), timeouts, retries, TLS.
    pub backend: crate::backend::config::BackendConfig,
    /// Only in demo configurations: what demo mode starts in-process.
    pub demo: Option<Demo>,
    /// Technician mode: who may sign in on the terminal. Without accounts nobody can.
    #[serde(default)]
    pub technician: Technician,
}

/// The technicians who may sign in on this terminal (技术员账号).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Technician {
    #[serde(default)]
    pub accounts: Vec<TechnicianAccount>,
}

/// One technician: an id of up to eight digits and the argon2id hash of their PIN
/// (`renshe-kiosk technician hash` makes one). The PIN itself is never in a file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TechnicianAccount {
    pub id: String,
    pub pin_hash: String,
}

impl std::fmt::Debug for TechnicianAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TechnicianAccount")
            .field("id", &self.id)
            .field("pin_hash", &"<argon2id>")
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demo {
    /// Loopback address the bundled demo back end listens on (the routes point here).
    pub backend_listen: std::net::SocketAddr,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terminal {
    /// The terminal's id, as registered with the back end (e.g. "CQ-500103-0042").
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub district: String,
    pub latitude: f64,
    pub longitude: f64,
    pub address: String,
    pub setting: Setting,
}

/// Whether the terminal stands in a town (walking distances) or in the countryside (kilometres).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    Urban,
    Rural,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Display {
    pub orientation: Orientation,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Orientation {
    Portrait,
    Landscape,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Languages {
    pub default: String,
    pub offered: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accessibility {
    pub elderly_mode_default: bool,
}

/// Voice guidance (语音播报).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Voice {
    /// Speak every page for everyone; otherwise only in elderly mode or after the header's
    /// 🔊 was tapped.
    pub always_on: bool,
    /// 0–100.
    pub volume: u8,
    /// Local times "HH:MM-HH:MM" (may pass midnight) when `quiet_volume` applies instead.
    pub quiet_hours: Option<String>,
    pub quiet_volume: u8,
    /// The operator's recordings: `<clips>/<language>/<fluent key>.wav`, 16-bit PCM. A
    /// prompt without a clip is synthesized with espeak-ng.
    pub clips: Option<PathBuf>,
    /// How often "please take your card" is said again while the card stays in.
    pub reminder_repeat_seconds: u32,
    /// Speech speed; elderly mode speaks slower.
    pub words_per_minute: u16,
    pub elderly_words_per_minute: u16,
}

impl Default for Voice {
    fn default() -> Voice {
        Voice {
            always_on: false,
            volume: 80,
            quiet_hours: None,
            quiet_volume: 40,
            clips: None,
            reminder_repeat_seconds: 5,
            words_per_minute: 170,
            elderly_words_per_minute: 130,
        }
    }
}

impl Voice {
    /// The quiet hours as minutes after midnight (start, end), if set and well-formed.
    pub fn quiet_minutes(&self) -> Option<(u16, u16)> {
        parse_quiet_hours(self.quiet_hours.as_deref()?).ok()
    }

    /// The volume at `minute` of the local day (0–1439).
    pub fn volume_at(&self, minute: u16) -> u8 {
        let quiet = self.quiet_minutes().is_some_and(|(start, end)| {
            if start <= end {
                (start..end).contains(&minute)
            } else {
                minute >= start || minute < end
            }
        });
        if quiet {
            self.quiet_volume.min(self.volume)
        } else {
            self.volume
        }
    }
}

/// "22:00-07:00" → (1320, 420).
fn parse_quiet_hours(text: &str) -> Result<(u16, u16), String> {
    let minute = |part: &str| -> Option<u16> {
        let (h, m) = part.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && m.to_string().len() <= 2).then_some(h * 60 + m)
    };
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| format!("\"{text}\": expected \"HH:MM-HH:MM\", e.g. \"22:00-07:00\""))?;
    match (minute(start), minute(end)) {
        (Some(start), Some(end)) if start != end => Ok((start, end)),
        _ => Err(format!(
            "\"{text}\": expected \"HH:MM-HH:MM\" with two different times, e.g. \"22:00-07:00\""
        )),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idle {
    /// Seconds without a touch before the "are you still there?" warning.
    pub timeout_seconds: u32,
    /// Seconds the warning counts down before the session ends (WCAG 2.2.1: at least 20).
    pub warning_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Devices {
    pub card_reader: CardReader,
    pub printer: Printer,
    /// Absent: no ID card reader (`port = "none"`).
    #[serde(default)]
    pub id_card_reader: IdCardReader,
    /// The face camera of pension certification: a V4L2 device path such as "/dev/video0",
    /// "sim" (or "sim:<scenario>") for the simulator, or "none" (the default).
    #[serde(default = "Devices::no_camera")]
    pub camera: String,
    /// The A4 printer for proofs (打印证明): a CUPS queue name, "sim" for the simulated one,
    /// or "none" (the default: the proof tile is greyed).
    #[serde(default = "Devices::no_a4_printer")]
    pub a4_printer: String,
    /// Where the CUPS scheduler of `a4_printer` listens (host:port).
    #[serde(default = "Devices::default_cups_host")]
    pub cups_host: String,
    /// The speaker of voice guidance: "alsa" (the default PCM), "alsa:<pcm>" (e.g.
    /// "alsa:plughw:CARD=Headset"), "file:<folder>" (WAV files, for tests), or "none" (the
    /// default).
    #[serde(default = "Devices::no_voice")]
    pub voice: String,
}

impl Devices {
    fn no_camera() -> String {
        "none".to_owned()
    }

    fn no_a4_printer() -> String {
        "none".to_owned()
    }

    fn no_voice() -> String {
        "none".to_owned()
    }

    /// The configured speaker; `config check` has refused a value that does not parse.
    pub fn voice_spec(&self) -> renshe_voice::VoiceSpec {
        renshe_voice::VoiceSpec::parse(&self.voice).unwrap_or(renshe_voice::VoiceSpec::None)
    }

    fn default_cups_host() -> String {
        renshe_cups::DEFAULT_CUPS_HOST.to_owned()
    }

    /// The configured A4 printer; `config check` has refused a value that does not parse.
    pub fn a4_printer_spec(&self) -> renshe_cups::A4PrinterSpec {
        renshe_cups::A4PrinterSpec::parse(self.a4_printer.trim())
            .unwrap_or(renshe_cups::A4PrinterSpec::None)
    }

    /// The configured camera; `config check` has refused a value that does not parse.
    pub fn camera_spec(&self) -> renshe_camera::CameraSpec {
        renshe_camera::CameraSpec::parse(self.camera.trim())
            .unwrap_or(renshe_camera::CameraSpec::None)
    }
}

/// The 二代居民身份证 reader (a SAM_A module on a serial line).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdCardReader {
    /// A serial device path such as "/dev/ttyUSB0", "sim" for the built-in virtual reader,
    /// or "none".
    #[serde(default = "IdCardReader::no_port")]
    pub port: String,
    #[serde(default = "IdCardReader::default_baud")]
    pub baud: u32,
}

impl IdCardReader {
    fn no_port() -> String {
        "none".to_owned()
    }

    fn default_baud() -> u32 {
        crate::idcard::DEFAULT_BAUD
    }

    /// Whether the terminal has one.
    pub fn is_configured(&self) -> bool {
        self.port != "none"
    }
}

impl Default for IdCardReader {
    fn default() -> IdCardReader {
        IdCardReader {
            port: IdCardReader::no_port(),
            baud: IdCardReader::default_baud(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardReader {
    /// A substring of the PC/SC reader name, or "sim" for the built-in virtual card.
    pub reader: String,
    /// The reader holding the PSAM that authenticates 3rd-generation cards: a substring of its
    /// name, "sim" for the virtual PSAM, or "none" (3rd-generation holder data then needs the
    /// back end's HSM).
    pub sam_reader: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Printer {
    /// A serial device path such as "/dev/ttyS0", or "sim" for the built-in virtual printer.
    pub port: String,
    pub baud: u32,
    pub flow_control: FlowControl,
    pub profile: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Where the database and saved receipts live; relative paths are relative to the
    /// configuration file's folder.
    pub directory: PathBuf,
    /// The records key that seals the journal's payloads. Unset: `kiosk.key` in the data
    /// directory, created on first start. On a terminal with a TPM: the systemd credential
    /// it unseals (README, "The records key"), which must exist.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// `[metrics]`: where the metrics and health endpoint listens (`src/metrics/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    /// `false` serves nothing (the endpoint is on by default).
    pub enabled: bool,
    /// A loopback `address:port`; the fleet's agent on the terminal scrapes it. `""` serves
    /// nothing.
    pub listen: String,
}

/// Where the endpoint listens when the file does not say (9464: the usual port of an
/// application's Prometheus exporter).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            enabled: true,
            listen: DEFAULT_METRICS_LISTEN.to_owned(),
        }
    }
}

impl Metrics {
    /// Where to serve, or `None` when switched off. `config check` has refused an address
    /// that does not parse or is not loopback.
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        if !self.enabled || self.listen.trim().is_empty() {
            return None;
        }
        parse_metrics_listen(&self.listen).ok()
    }
}

/// A loopback socket address, or why not.
fn parse_metrics_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    let address: std::net::SocketAddr = text.trim().parse().map_err(|_| {
        format!(
            "\"{text}\" is not address:port; use a loopback address such as \"{DEFAULT_METRICS_LISTEN}\" or \"[::1]:9464\", or \"\" to serve nothing"
        )
    })?;
    if !address.ip().is_loopback() {
        return Err(format!(
            "{address} is not a loopback address: the endpoint has no authentication and must not face a network (the fleet's agent scrapes it on the terminal); use 127.0.0.1:PORT"
        ));
    }
    Ok(address)
}

/// One thing wrong with a configuration file, located precisely.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    pub file: PathBuf,
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// Dotted field path, e.g. `idle.warning_seconds`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: ", self.file.display(), line)?,
            None => write!(f, "{}: ", self.file.display())?,
        }
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.field, self.message)
        }
    }
}

/// Why a configuration could not be used: one or more located problems.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            problems: vec![ConfigProblem {
                file: path.to_path_buf(),
                line: None,
                field: String::new(),
                message: format!("cannot read the file: {error}"),
            }],
        })?;
        let mut config = Self::parse(&text, path)?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        if config.data.directory.is_relative() {
            config.data.directory = base.join(&config.data.directory);
        }
        if let Some(key) = config
            .data
            .key_file
            .as_mut()
            .filter(|key| key.is_relative())
        {
            *key = base.join(&*key);
        }
        Ok(config)
    }

    /// The bundled demo configuration. Its data directory is the source tree's
    /// `target/kiosk-demo-data` when run from a checkout, else `renshe-kiosk-demo` in the
    /// user's state directory (`$XDG_STATE_HOME`, or `~/.local/state`).
    pub fn bundled_demo() -> Result<Config, ConfigError> {
        let mut config = Self::parse(BUNDLED_DEMO_CONFIG, Path::new(BUNDLED_DEMO_NAME))?;
        let source_tree = Path::new(DEMO_CONFIG_PATH);
        config.data.directory = match source_tree.parent() {
            Some(dir) if source_tree.exists() => dir.join(&config.data.directory),
            _ => std::env::var_os("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
                })
                .unwrap_or_else(std::env::temp_dir)
                .join("renshe-kiosk-demo"),
        };
        Ok(config)
    }

    /// Parses and validates configuration text; `path` only names the file in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|error| ConfigError {
            problems: vec![syntax_problem(&error, text, path)],
        })?;
        let problems = config.validate(text, path);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }

    pub fn default_language(&self) -> Language {
        Language::from_tag(&self.language.default).unwrap_or_default()
    }

    pub fn offered_languages(&self) -> Vec<Language> {
        self.language
            .offered
            .iter()
            .filter_map(|tag| Language::from_tag(tag))
            .collect()
    }

    pub fn idle_timeout(&self) -> Millis {
        Millis::from_secs(u64::from(self.idle.timeout_seconds))
    }

    pub fn idle_warning(&self) -> Millis {
        Millis::from_secs(u64::from(self.idle.warning_seconds))
    }

    pub fn database_path(&self) -> PathBuf {
        self.data.directory.join("kiosk.db")
    }

    /// Where the records key comes from (`data.key_file`).
    pub fn key_source(&self) -> crate::store::KeySource {
        match &self.data.key_file {
            Some(path) => crate::store::KeySource::File(path.clone()),
            None => crate::store::KeySource::BesideDatabase,
        }
    }

    /// Opens the terminal's database with its records key, as the kiosk's one writer.
    pub fn open_store(&self) -> Result<crate::store::Store, crate::store::StoreError> {
        crate::store::Store::open_with(&self.database_path(), &self.key_source())
    }

    /// An endpoint on this machine (`127.0.0.1`, `::1`, `localhost`).
    pub fn is_loopback_url(endpoint: &str) -> bool {
        match url::Url::parse(endpoint)
            .ok()
            .and_then(|url| url.host().map(|h| h.to_owned()))
        {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        }
    }

    /// Checks the values that parse but make no sense; every problem is returned, not just the first.
    fn validate(&self, text: &str, path: &Path) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut problem = |section: &str, key: &str, message: String| {
            problems.push(ConfigProblem {
                file: path.to_path_buf(),
                line: line_of(text, section, key),
                field: format!("{section}.{key}"),
                message,
            });
        };
        if self.terminal.id.trim().is_empty() {
            problem("terminal", "id", "must not be empty".into());
        }
        if !crate::core::districts::is_known(&self.location.district) {
            problem(
                "location",
                "district",
                format!(
                    "\"{}\" is not one of Chongqing's 38 districts and counties (e.g. \"渝中区\", \"万州区\", \"城口县\")",
                    self.location.district
                ),
            );
        }
        if !(-90.0..=90.0).contains(&self.location.latitude) {
            problem(
                "location",
                "latitude",
                format!("{} is outside -90..90", self.location.latitude),
            );
        }
        if !(-180.0..=180.0).contains(&self.location.longitude) {
            problem(
                "location",
                "longitude",
                format!("{} is outside -180..180", self.location.longitude),
            );
        }
        let (short, long) = match self.display.orientation {
            Orientation::Portrait => (self.display.width, self.display.height),
            Orientation::Landscape => (self.display.height, self.display.width),
        };
        if short > long {
            problem(
                "display",
                "orientation",
                format!(
                    "{:?} does not match the size {}x{}: portrait needs width < height, landscape width > height",
                    self.display.orientation, self.display.width, self.display.height
                )
                .to_lowercase(),
            );
        }
        if !(320..=7680).contains(&self.display.width) {
            problem(
                "display",
                "width",
                format!("{} is outside 320..7680 pixels", self.display.width),
            );
        }
        if !(320..=7680).contains(&self.display.height) {
            problem(
                "display",
                "height",
                format!("{} is outside 320..7680 pixels", self.display.height),
            );
        }
        let supported = Language::ALL.map(Language::tag).join("\", \"");
        for tag in &self.language.offered {
            if Language::from_tag(tag).is_none() {
                problem(
                    "language",
                    "offered",
                    format!("\"{tag}\" is not a supported language; valid: \"{supported}\""),
                );
            }
        }
        if self.language.offered.is_empty() {
            problem(
                "language",
                "offered",
                format!("must offer at least one language; valid: \"{supported}\""),
            );
        }
        if !self.language.offered.contains(&self.language.default) {
            problem(
                "language",
                "default",
                format!(
                    "\"{}\" must be one of `language.offered`",
                    self.language.default
                ),
            );
        }
        if !(15..=600).contains(&self.idle.timeout_seconds) {
            problem(
                "idle",
                "timeout_seconds",
                format!("{} is outside 15..600 seconds", self.idle.timeout_seconds),
            );
        }
        if !(20..=120).contains(&self.idle.warning_seconds) {
            problem(
                "idle",
                "warning_seconds",
                format!(
                    "{} is outside 20..120 seconds (a resident must get at least 20 s to continue, WCAG 2.2.1)",
                    self.idle.warning_seconds
                ),
            );
        }
        // A terminal's build has no simulators: say so at `config check`, not at start-up.
        if !cfg!(feature = "demo") {
            const NO_SIM: &str =
                "\"sim\" needs a build with the demo feature; name the real device";
            if self.devices.card_reader.reader == "sim" {
                problem("devices.card_reader", "reader", NO_SIM.into());
            }
            if self.devices.card_reader.sam_reader == "sim" {
                problem("devices.card_reader", "sam_reader", NO_SIM.into());
            }
            if self.devices.printer.port == "sim" {
                problem("devices.printer", "port", NO_SIM.into());
            }
            if self.devices.id_card_reader.port == "sim" {
                problem("devices.id_card_reader", "port", NO_SIM.into());
            }
            if self.devices.camera.trim().starts_with("sim") {
                problem("devices", "camera", NO_SIM.into());
            }
            if self.devices.a4_printer.trim() == "sim" {
                problem("devices", "a4_printer", NO_SIM.into());
            }
            if self.demo.is_some() {
                problem(
                    "demo",
                    "backend_listen",
                    "this build has no demo back end (built without the demo feature): remove [demo]"
                        .into(),
                );
            }
        }
        // Demo stays demo: its back end has /admin endpoints (fault injection, the ledger)
        // that must never face a network, and a demo configuration must never reach real
        // devices or a real back end by accident.
        if let Some(demo) = &self.demo {
            if !demo.backend_listen.ip().is_loopback() {
                problem(
                    "demo",
                    "backend_listen",
                    format!(
                        "{} is not a loopback address: the demo back end's /admin endpoints must not face a network; use 127.0.0.1:PORT",
                        demo.backend_listen
                    ),
                );
            }
            const REAL_DEVICE: &str =
                "a [demo] configuration uses simulated devices only: set \"sim\", or remove [demo]";
            // (An empty value has its own problem below.)
            if !matches!(self.devices.card_reader.reader.trim(), "sim" | "") {
                problem("devices.card_reader", "reader", REAL_DEVICE.into());
            }
            if !matches!(self.devices.printer.port.trim(), "sim" | "") {
                problem("devices.printer", "port", REAL_DEVICE.into());
            }
            if !matches!(self.devices.id_card_reader.port.trim(), "sim" | "none" | "") {
                problem("devices.id_card_reader", "port", REAL_DEVICE.into());
            }
            if self.devices.camera.trim().starts_with("/dev/") {
                problem("devices", "camera", REAL_DEVICE.into());
            }
            if !matches!(self.devices.a4_printer.trim(), "sim" | "none") {
                problem(
                    "devices",
                    "a4_printer",
                    "a [demo] configuration uses simulated devices only: set \"sim\" or \"none\", or remove [demo]".into(),
                );
            }
            for (service, route) in &self.backend.routes {
                if let Some(endpoint) = route.endpoints.iter().find(|e| !Self::is_loopback_url(e)) {
                    let section = format!("backend.routes.{}", service.as_str());
                    problem(
                        &section,
                        "endpoints",
                        format!(
                            "{endpoint} leaves this machine: a [demo] configuration talks only to the demo back end on loopback"
                        ),
                    );
                }
            }
        }
        if self.devices.card_reader.reader.trim().is_empty() {
            problem(
                "devices.card_reader",
                "reader",
                "must be \"sim\" or a part of the reader's PC/SC name".into(),
            );
        }
        const BAUDS: [u32; 6] = [9600, 19200, 38400, 57600, 115200, 230400];
        if !BAUDS.contains(&self.devices.printer.baud) {
            problem(
                "devices.printer",
                "baud",
                format!(
                    "{} is not a printer baud rate; valid: {BAUDS:?}",
                    self.devices.printer.baud
                ),
            );
        }
        if self.devices.printer.port.trim().is_empty() {
            problem(
                "devices.printer",
                "port",
                "must be \"sim\" or a serial device path such as \"/dev/ttyS0\"".into(),
            );
        }
        if let Err(error) = renshe_cups::A4PrinterSpec::parse(self.devices.a4_printer.trim()) {
            problem("devices", "a4_printer", error.to_string());
        }
        if self.devices.cups_host.trim().is_empty() || self.devices.cups_host.contains('/') {
            problem(
                "devices",
                "cups_host",
                format!(
                    "\"{}\" is not host:port, e.g. \"{}\"",
                    self.devices.cups_host,
                    renshe_cups::DEFAULT_CUPS_HOST
                ),
            );
        }
        if let Err(error) = renshe_voice::VoiceSpec::parse(&self.devices.voice) {
            problem("devices", "voice", error.to_string());
        }
        if self.voice.volume > 100 {
            problem(
                "voice",
                "volume",
                format!("{} is above 100", self.voice.volume),
            );
        }
        if self.voice.quiet_volume > 100 {
            problem(
                "voice",
                "quiet_volume",
                format!("{} is above 100", self.voice.quiet_volume),
            );
        }
        if let Some(hours) = &self.voice.quiet_hours {
            if let Err(message) = parse_quiet_hours(hours) {
                problem("voice", "quiet_hours", message);
            }
        }
        if !(1..=60).contains(&self.voice.reminder_repeat_seconds) {
            problem(
                "voice",
                "reminder_repeat_seconds",
                format!("{} is outside 1..60", self.voice.reminder_repeat_seconds),
            );
        }
        for (key, wpm) in [
            ("words_per_minute", self.voice.words_per_minute),
            (
                "elderly_words_per_minute",
                self.voice.elderly_words_per_minute,
            ),
        ] {
            if !(80..=260).contains(&wpm) {
                problem("voice", key, format!("{wpm} is outside 80..260"));
            }
        }
        let mut ids = std::collections::HashSet::new();
        for account in &self.technician.accounts {
            let id = account.id.as_str();
            if id.is_empty()
                || id.len() > crate::core::technician::ID_MAX_DIGITS
                || !id.bytes().all(|b| b.is_ascii_digit())
            {
                problem(
                    "technician.accounts",
                    "id",
                    format!("\"{id}\" is not a technician id: 1 to 8 digits (typed on the sign-in keypad)"),
                );
            } else if !ids.insert(id) {
                problem(
                    "technician.accounts",
                    "id",
                    format!("\"{id}\" appears twice"),
                );
            }
            if let Err(message) = crate::shell::technician::check_pin_hash(&account.pin_hash) {
                problem(
                    "technician.accounts",
                    "pin_hash",
                    format!("technician \"{id}\": {message} — make one with `renshe-kiosk technician hash`"),
                );
            }
        }
        if let Err(error) = renshe_camera::CameraSpec::parse(self.devices.camera.trim()) {
            problem("devices", "camera", error.to_string());
        }
        let id_reader = &self.devices.id_card_reader;
        if !BAUDS.contains(&id_reader.baud) {
            problem(
                "devices.id_card_reader",
                "baud",
                format!(
                    "{} is not a serial baud rate; valid: {BAUDS:?} (SAM_A modules use 115200)",
                    id_reader.baud
                ),
            );
        }
        let port = id_reader.port.trim();
        if port.is_empty() || (port != "none" && port != "sim" && !port.starts_with('/')) {
            problem(
                "devices.id_card_reader",
                "port",
                format!(
                    "\"{}\" must be a serial device path such as \"/dev/ttyUSB0\", \"sim\" or \"none\"",
                    id_reader.port
                ),
            );
        }
        if let Ok(profiles) = crate::printer::Profiles::bundled() {
            if profiles.get(&self.devices.printer.profile).is_none() {
                let names = profiles.names();
                problem(
                    "devices.printer",
                    "profile",
                    format!(
                        "\"{}\" is not a printer profile in kiosk-config/printers.toml; valid: {}",
                        self.devices.printer.profile,
                        names.join(", ")
                    ),
                );
            }
        }
        if self.data.directory.as_os_str().is_empty() {
            problem("data", "directory", "must name a folder".into());
        }
        if self.metrics.enabled && !self.metrics.listen.trim().is_empty() {
            if let Err(message) = parse_metrics_listen(&self.metrics.listen) {
                problem("metrics", "listen", message);
            }
        }
        if let Err(error) = self.backend.validate() {
            let message = error.to_string();
            // The back end's messages name their field (`backend.routes.<service>...`).
            let field = message
                .split(|c: char| c.is_whitespace() || c == ':')
                .find(|word| word.starts_with("backend."))
                .unwrap_or("backend")
                .trim_end_matches(',')
                .to_string();
            let section = field
                .rsplit_once('.')
                .map_or("backend", |(section, _)| section);
            let key = field.rsplit_once('.').map_or("", |(_, key)| key);
            problems.push(ConfigProblem {
                file: path.to_path_buf(),
                line: line_of(text, section, key).or_else(|| section_line(text, section)),
                field,
                message,
            });
        }
        problems
    }
}

/// Turns a TOML or serde error into a located problem: the line from the error's span, the
/// field from the table headers and key before it.
fn syntax_problem(error: &toml::de::Error, text: &str, path: &Path) -> ConfigProblem {
    let line = error
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let field = line
        .map(|line| field_at_line(text, line))
        .unwrap_or_default();
    ConfigProblem {
        file: path.to_path_buf(),
        line,
        field,
        message: error.message().trim().to_string(),
    }
}

/// The dotted path of the key on `line` (1-based), from the nearest `[table]` header above it.
fn field_at_line(text: &str, line: usize) -> String {
    let mut section = String::new();
    let mut key = String::new();
    for (index, raw) in text.lines().enumerate().take(line) {
        let trimmed = raw.trim();
        if let Some(header) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section = header.trim().to_string();
            key.clear();
        } else if index + 1 == line {
            key = trimmed.split('=').next().unwrap_or("").trim().to_string();
        }
    }
    match (section.is_empty(), key.is_empty()) {
        (_, true) => section,
        (true, false) => key,
        (false, false) => format!("{section}.{key}"),
    }
}

/// The 1-based line of the `[section]` header.
fn section_line(text: &str, section: &str) -> Option<usize> {
    let header = format!("[{section}]");
    text.lines()
        .position(|line| line.trim() == header)
        .map(|index| index + 1)
}

/// The 1-based line where `key` is set inside `[section]`.
fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if let Some(header) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            current = header.trim().to_string();
        } else if current == section && trimmed.split('=').next().map(str::trim) == Some(key) {
            return Some(index + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_text() -> String {
        std::fs::read_to_string(DEMO_CONFIG_PATH).expect("demo.toml is part of the repository")
    }

    fn problems(text: &str) -> Vec<ConfigProblem> {
        Config::parse(text, Path::new("t.toml"))
            .expect_err("must be rejected")
            .problems
    }

    #[test]
    fn the_metrics_endpoint_listens_on_loopback_only_and_can_be_switched_off() {
        let demo = Config::parse(&demo_text(), Path::new("t.toml")).expect("demo parses");
        assert_eq!(
            demo.metrics.address(),
            Some("127.0.0.1:9464".parse().expect("address"))
        );
        let without = demo_text().replace("[metrics]\nlisten = \"127.0.0.1:9464\"\n", "");
        assert_ne!(without, demo_text(), "demo.toml has a [metrics] table");
        let defaulted = Config::parse(&without, Path::new("t.toml")).expect("parses");
        assert_eq!(defaulted.metrics.address(), demo.metrics.address());
        for off in ["listen = \"\"", "enabled = false"] {
            let text = without.clone() + "\n[metrics]\n" + off + "\n";
            let config = Config::parse(&text, Path::new("t.toml")).expect("parses");
            assert_eq!(config.metrics.address(), None, "{off}");
        }
        for bad in ["0.0.0.0:9464", "192.168.1.5:9464", "localhost:9464", "9464"] {
            let text = without.clone() + "\n[metrics]\nlisten = \"" + bad + "\"\n";
            let found = problems(&text);
            assert_eq!(found.len(), 1, "{bad}: {found:?}");
            assert_eq!(found[0].field, "metrics.listen");
            assert_eq!(found[0].line, Some(text.lines().count()), "{bad}");
            assert!(
                found[0].message.contains("127.0.0.1:"),
                "{}",
                found[0].message
            );
        }
    }

    #[test]
    fn a_demo_configuration_stays_on_this_machine_with_simulated_devices() {
        let text = demo_text()
            .replace(
                "backend_listen = \"127.0.0.1:18333\"",
                "backend_listen = \"0.0.0.0:18333\"",
            )
            .replacen("port = \"sim\"", "port = \"/dev/ttyS0\"", 1)
            .replacen(
                "endpoints = [\"http://127.0.0.1:18333\"]",
                "endpoints = [\"https://rs.example.cn\"]",
                1,
            );
        let fields: Vec<String> = problems(&text).into_iter().map(|p| p.field).collect();
        assert!(
            fields.contains(&"demo.backend_listen".to_string()),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"devices.printer.port".to_string()),
            "{fields:?}"
        );
        assert!(
            fields
                .iter()
                .any(|f| f.starts_with("backend.routes.") && f.ends_with(".endpoints")),
            "{fields:?}"
        );
        assert!(Config::is_loopback_url("http://localhost:8480"));
        assert!(Config::is_loopback_url("http://[::1]:8480"));
        assert!(!Config::is_loopback_url("https://10.1.2.3"));
    }

    #[test]
    fn the_a4_printer_is_a_queue_sim_or_none_and_demo_allows_no_queue() {
        let text = demo_text().replace("a4_printer = \"sim\"", "a4_printer = \"KIOSK_A4\"");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, "devices.a4_printer");
        let text = demo_text().replace("a4_printer = \"sim\"", "a4_printer = \"no such/queue\"");
        let fields: Vec<String> = problems(&text).into_iter().map(|p| p.field).collect();
        assert!(
            fields.iter().all(|f| f == "devices.a4_printer"),
            "{fields:?}"
        );
        let text = demo_text().replace("a4_printer = \"sim\"", "a4_printer = \"none\"");
        Config::parse(&text, Path::new("demo.toml")).expect("none is fine in a demo");
    }

    #[test]
    fn the_bundled_files_are_valid() {
        Config::parse(&demo_text(), Path::new("demo.toml")).expect("demo.toml");
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/kiosk-config/terminal.example.toml"
        );
        Config::load(Path::new(example)).expect("terminal.example.toml");
    }

    #[test]
    fn an_unknown_key_names_its_line_and_field() {
        let text = demo_text().replace("[idle]\n", "[idle]\ntimeout_secnds = 3\n");
        let found = problems(&text);
        assert_eq!(found.len(), 1);
        let expected_line = text
            .lines()
            .position(|l| l.starts_with("timeout_secnds"))
            .map(|i| i + 1);
        assert_eq!(found[0].line, expected_line);
        assert_eq!(found[0].field, "idle.timeout_secnds");
        assert!(
            found[0].message.contains("unknown field"),
            "{}",
            found[0].message
        );
        assert!(
            found[0].message.contains("timeout_seconds"),
            "names the valid keys: {}",
            found[0].message
        );
    }

    #[test]
    fn a_wrong_value_names_what_would_be_valid() {
        let text = demo_text().replace("warning_seconds = 30", "warning_seconds = 5");
        let found = problems(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "idle.warning_seconds");
        assert!(found[0].message.contains("20..120"));
        let expected_line = text
            .lines()
            .position(|l| l.starts_with("warning_seconds"))
            .map(|i| i + 1);
        assert_eq!(found[0].line, expected_line);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = demo_text()
            .replace("baud = 9600", "baud = 9601")
            .replace("district = \"渝中区\"", "district = \"朝阳区\"");
        let fields: Vec<String> = problems(&text).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["location.district", "devices.printer.baud"]);
    }

    #[test]
    fn a_bad_enum_value_is_located() {
        let text = demo_text().replace("flow_control = \"xonxoff\"", "flow_control = \"dtr\"");
        let found = problems(&text);
        assert_eq!(found[0].field, "devices.printer.flow_control");
        assert!(found[0].message.contains("rtscts"), "{}", found[0].message);
    }

    #[test]
    fn the_id_card_reader_defaults_to_none_and_is_checked() {
        let config = Config::parse(
            &demo_text().replace("[devices.id_card_reader]\nport = \"sim\"\n", ""),
            Path::new("t.toml"),
        )
        .expect("valid without the table");
        assert_eq!(config.devices.id_card_reader.port, "none");
        assert_eq!(config.devices.id_card_reader.baud, 115200);
        assert!(!config.devices.id_card_reader.is_configured());

        let text = demo_text().replace(
            "[devices.id_card_reader]\nport = \"sim\"\n",
            "[devices.id_card_reader]\nport = \"\"\nbaud = 115201\n",
        );
        let found = problems(&text);
        let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["devices.id_card_reader.baud", "devices.id_card_reader.port"]
        );
        let line = |needle: &str| {
            let start = text.find("[devices.id_card_reader]").expect("table");
            Some(
                text[..start].lines().count()
                    + text[start..]
                        .lines()
                        .position(|l| l.starts_with(needle))
                        .expect("key")
                    + 1,
            )
        };
        assert_eq!(found[0].line, line("baud"));
        assert_eq!(found[1].line, line("port"));
        let text = demo_text().replace("port = \"sim\"\n\n[data]", "port = \"ttyUSB0\"\n\n[data]");
        assert_eq!(problems(&text)[0].field, "devices.id_card_reader.port");
    }

    #[test]
    fn the_default_language_must_be_offered() {
        let text = demo_text().replace("offered = [\"zh-CN\", \"en-US\"]", "offered = [\"en-US\"]");
        let found = problems(&text);
        assert_eq!(found[0].field, "language.default");
    }
}
