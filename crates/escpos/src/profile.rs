//! Printer profiles (`kiosk-config/printers.toml`): what one printer model can do.
//!
//! Modelled on escpos-printer-db: paper geometry, cut kinds, QR support, sensors and the serial
//! defaults. Every problem names the file, the line and the field; unknown keys are errors so a
//! typo never silently falls back to a default.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The profiles bundled with the kiosk (the app's `kiosk-config/printers.toml`, two levels up
/// from this crate).
pub const DEFAULT_PROFILES_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../kiosk-config/printers.toml"
);

/// How the printer cuts paper, as the model allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CutKind {
    None,
    Full,
    Partial,
    /// Feed, then cut fully (`GS V 65 n`).
    FeedFull,
    /// Feed, then cut partially (`GS V 66 n`).
    FeedPartial,
}

/// Serial flow control the adapter can drive (`serialport` has no DTR/DSR flow control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[cfg_attr(
    feature = "clap",
    derive(clap::ValueEnum),
    value(rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    #[default]
    None,
    Xonxoff,
    Rtscts,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Printable dots per line (203 dpi: 384 on 58 mm paper, 576 on 80 mm).
    pub dots: u16,
    /// Normal-size columns per line; a CJK character takes two.
    pub columns: u16,
    pub cut: CutKind,
    pub feed_before_cut: u8,
    pub native_qr: bool,
    pub qr_module_max: u8,
    pub near_end_sensor: bool,
    pub chinese_mode: bool,
    pub baud: u32,
    pub flow_control: FlowControl,
    pub buffer_bytes: u32,
    /// Has a presenter/ejector with its own (vendor-specific) sensor.
    pub presenter: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfilesFile {
    profile: Vec<Profile>,
}

/// One thing wrong with a profiles file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProfileError {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// e.g. `profile[2].baud`
    pub field: String,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: ", self.file.display())?,
            None => write!(f, "{}: ", self.file.display())?,
        }
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.field, self.message)
        }
    }
}

/// All profiles of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profiles {
    pub profiles: Vec<Profile>,
}

const BAUDS: [u32; 7] = [2400, 4800, 9600, 19200, 38400, 57600, 115200];

impl Profiles {
    pub fn load(path: &Path) -> Result<Profiles, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|error| ProfileError {
            file: path.to_path_buf(),
            line: None,
            field: String::new(),
            message: format!("cannot read the file: {error}"),
        })?;
        Profiles::parse(&text, path)
    }

    /// The bundled profiles, compiled in so an installed binary has them without the repository.
    pub fn bundled() -> Result<Profiles, ProfileError> {
        Profiles::parse(
            include_str!("../../../kiosk-config/printers.toml"),
            Path::new(DEFAULT_PROFILES_PATH),
        )
    }

    /// Parses profiles text; `path` only names the file in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Profiles, ProfileError> {
        let file: ProfilesFile = toml::from_str(text).map_err(|error| {
            let line = error
                .span()
                // Bytes, not a `str` slice: a span off a character boundary cannot panic here.
                .map(|span| {
                    let before = text.as_bytes().get(..span.start).unwrap_or(text.as_bytes());
                    before.iter().filter(|&&byte| byte == b'\n').count() + 1
                });
            ProfileError {
                file: path.to_path_buf(),
                line,
                field: line
                    .map(|line| field_at_line(text, line))
                    .unwrap_or_default(),
                message: error.message().trim().to_string(),
            }
        })?;
        for (index, profile) in file.profile.iter().enumerate() {
            let problem = |key: &str, message: String| ProfileError {
                file: path.to_path_buf(),
                line: line_of(text, index, key),
                field: format!("profile[{index}].{key}"),
                message,
            };
            if !BAUDS.contains(&profile.baud) {
                return Err(problem(
                    "baud",
                    format!(
                        "{} is not a serial baud rate; valid: {BAUDS:?}",
                        profile.baud
                    ),
                ));
            }
            if !(64..=1024).contains(&profile.dots) {
                return Err(problem(
                    "dots",
                    format!(
                        "{} dots is not a receipt width (384 or 576 usual)",
                        profile.dots
                    ),
                ));
            }
            if !(16..=64).contains(&profile.columns) {
                return Err(problem(
                    "columns",
                    format!(
                        "{} columns is not a receipt width (32 or 48 usual)",
                        profile.columns
                    ),
                ));
            }
            if !(1..=16).contains(&profile.qr_module_max) {
                return Err(problem("qr_module_max", "must be 1 to 16".into()));
            }
            if profile.buffer_bytes < 64 {
                return Err(problem("buffer_bytes", "must be at least 64".into()));
            }
            if file.profile[..index]
                .iter()
                .any(|earlier| earlier.name == profile.name)
            {
                return Err(problem(
                    "name",
                    format!("\"{}\" is defined twice", profile.name),
                ));
            }
        }
        Ok(Profiles {
            profiles: file.profile,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|profile| profile.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.profiles
            .iter()
            .map(|profile| profile.name.as_str())
            .collect()
    }
}

/// `profile[i].key` for the key on `line` (1-based).
fn field_at_line(text: &str, line: usize) -> String {
    let mut index: Option<usize> = None;
    let mut key = String::new();
    for (number, raw) in text.lines().enumerate().take(line) {
        let trimmed = raw.trim();
        if trimmed == "[[profile]]" {
            index = Some(index.map_or(0, |i| i + 1));
        } else if number + 1 == line {
            key = trimmed.split('=').next().unwrap_or("").trim().to_string();
        }
    }
    match index {
        Some(index) => format!("profile[{index}].{key}"),
        None => key,
    }
}

/// The line of `key` inside the `index`-th `[[profile]]` table.
fn line_of(text: &str, index: usize, key: &str) -> Option<usize> {
    let mut current: Option<usize> = None;
    for (number, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed == "[[profile]]" {
            current = Some(current.map_or(0, |i| i + 1));
        } else if current == Some(index) && trimmed.split('=').next().map(str::trim) == Some(key) {
            return Some(number + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_profiles_load() {
        let profiles = Profiles::bundled().expect("bundled printers.toml is valid");
        let narrow = profiles.get("generic-58").expect("58 mm generic profile");
        assert_eq!((narrow.dots, narrow.columns), (384, 32));
        let wide = profiles.get("generic-80").expect("80 mm generic profile");
        assert_eq!((wide.dots, wide.columns), (576, 48));
        assert!(profiles.profiles.len() >= 5);
    }

    #[test]
    fn unknown_key_names_file_line_and_field() {
        let text = std::fs::read_to_string(DEFAULT_PROFILES_PATH)
            .expect("bundled file")
            .replacen("near_end_sensor = true", "near_end_sensr = true", 1);
        let error =
            Profiles::parse(&text, Path::new("printers.toml")).expect_err("typo must be rejected");
        let expected_line = text
            .lines()
            .position(|line| line.starts_with("near_end_sensr"))
            .map(|i| i + 1);
        assert_eq!(error.line, expected_line);
        assert_eq!(error.field, "profile[1].near_end_sensr");
        assert!(error.to_string().starts_with("printers.toml:"), "{error}");
    }

    #[test]
    fn bad_values_are_located() {
        let text = std::fs::read_to_string(DEFAULT_PROFILES_PATH)
            .expect("bundled file")
            .replacen("baud = 115200", "baud = 12345", 1);
        let error = Profiles::parse(&text, Path::new("p.toml")).expect_err("bad baud");
        assert_eq!(error.field, "profile[1].baud");
        assert!(error.line.is_some());
        let text = text.replacen("cut = \"partial\"", "cut = \"sideways\"", 1);
        let error = Profiles::parse(&text, Path::new("p.toml")).expect_err("bad cut");
        assert_eq!(error.field, "profile[0].cut");
    }
}
