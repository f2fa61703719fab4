//! Voice guidance (语音播报) for the kiosk: every page's prompt spoken, for residents who
//! cannot read the screen well.
//!
//! # How the app uses it
//!
//! - Parse the terminal's `voice = "…"` with [`VoiceSpec::parse`] (`none`, `alsa`,
//!   `alsa:<pcm>`, `file:<dir>`) and [`VoiceDevice::start`] it with the clips folder (if any)
//!   and a callback for device-state changes.
//! - For each prompt, build an [`Utterance`] of [`Segment`]s — a [`Segment::Tone`], or a
//!   [`Segment::Speech`] with its Fluent key and the words to say — and
//!   [`VoiceDevice::speak`] it. The call returns at once: one worker thread plays, and a new
//!   utterance (or [`VoiceDevice::stop`]) cuts the one playing short, between two 20 ms
//!   chunks.
//! - Sound comes, per speech segment, from the operator's recorded clip
//!   `<clips>/<language>/<key>.wav` (16-bit PCM) when the segment allows it and the file
//!   exists, else from espeak-ng (Mandarin `cmn`, English `en-us`), run as a child process
//!   whose streamed WAV is read as it comes, so the first sound does not wait for the whole
//!   sentence.
//! - A failing sink or synthesizer never blocks or panics: that utterance is silent, the
//!   state becomes `hardwareError` with a technician's detail, and the next utterance tries
//!   again (a headset or USB speaker plugged back in heals on its own).
//!
//! # Privacy
//!
//! Speech text is the prompt as heard, which the app builds without PIN digits, ID numbers
//! or names; still, [`Segment`]'s `Debug` prints keys and lengths only, and the file sink
//! names its files by key, never by text.

// Tests may unwrap; the library may not (the lint is on for it in Cargo.toml).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod device;
mod sink;
mod synth;
pub mod wav;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use device::{StateListener, Voice, VoiceDevice, VoiceStatus};
pub use sink::{FileSink, NullSink, Sink, SinkError};
pub use synth::{espeak_voice, Clips, Synthesizer};
pub use wav::{Format, WavError};

#[cfg(feature = "alsa")]
pub use sink::AlsaSink;

/// The device's state in the XFS4IoT vocabulary, as heartbeats and the header show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceState {
    Online,
    HardwareError,
    NoDevice,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Online => "online",
            DeviceState::HardwareError => "hardwareError",
            DeviceState::NoDevice => "noDevice",
        }
    }
}

/// Where sound goes, as the terminal's configuration names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceSpec {
    None,
    /// An ALSA PCM: `default`, or a named one such as `plughw:CARD=Headset`.
    Alsa(String),
    /// One WAV file per segment into this folder: tests, and checking prompts by ear.
    Files(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("voice = {0:?}: expected \"none\", \"alsa\", \"alsa:<pcm>\" or \"file:<folder>\"")]
    Unknown(String),
    #[error("voice = {0:?}: the folder after \"file:\" is empty")]
    EmptyFolder(String),
    #[error("voice = {0:?}: this build has no ALSA playback (feature \"alsa\")")]
    NoAlsa(String),
}

impl VoiceSpec {
    pub fn parse(value: &str) -> Result<VoiceSpec, SpecError> {
        let value = value.trim();
        let spec = match value {
            "none" => VoiceSpec::None,
            "alsa" => VoiceSpec::Alsa("default".into()),
            _ => {
                if let Some(pcm) = value.strip_prefix("alsa:").filter(|p| !p.is_empty()) {
                    VoiceSpec::Alsa(pcm.into())
                } else if let Some(folder) = value.strip_prefix("file:") {
                    if folder.trim().is_empty() {
                        return Err(SpecError::EmptyFolder(value.into()));
                    }
                    VoiceSpec::Files(PathBuf::from(folder))
                } else {
                    return Err(SpecError::Unknown(value.into()));
                }
            }
        };
        if matches!(spec, VoiceSpec::Alsa(_)) && !cfg!(feature = "alsa") {
            return Err(SpecError::NoAlsa(value.into()));
        }
        Ok(spec)
    }
}

/// Something to play: segments one after another, at a volume, perhaps again and again.
#[derive(Clone, PartialEq, Eq)]
pub struct Utterance {
    /// BCP 47: `zh-CN` or `en-US` (the clip folder's name; picks espeak-ng's voice).
    pub language: String,
    pub segments: Vec<Segment>,
    /// 0–100, applied to the samples.
    pub volume: u8,
    /// Played again after this pause until something else is spoken or [`VoiceDevice::stop`]
    /// (the "take your card" reminder).
    pub repeat_every: Option<Duration>,
    /// espeak-ng's speed in words per minute (slower for elderly mode).
    pub words_per_minute: u16,
}

impl fmt::Debug for Utterance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Utterance")
            .field("language", &self.language)
            .field("segments", &self.segments)
            .field("volume", &self.volume)
            .field("repeat_every", &self.repeat_every)
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum Segment {
    /// A beep that draws attention before a reminder.
    Tone { hertz: u16, millis: u16 },
    /// Words: the operator's clip for `key` if `clip` allows and one is installed, else
    /// synthesized from `text`. A text with a spoken number cannot come from a clip.
    Speech {
        key: String,
        text: String,
        clip: bool,
    },
}

impl Segment {
    /// What the segment is called in file names and logs.
    pub fn name(&self) -> &str {
        match self {
            Segment::Tone { .. } => "tone",
            Segment::Speech { key, .. } => key,
        }
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Tone { hertz, millis } => write!(f, "Tone({hertz} Hz, {millis} ms)"),
            Segment::Speech { key, text, clip } => write!(
                f,
                "Speech({key}, {} chars{})",
                text.chars().count(),
                if *clip { ", clip allowed" } else { "" }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(VoiceSpec::parse("none"), Ok(VoiceSpec::None));
        assert_eq!(
            VoiceSpec::parse("file:/tmp/voice"),
            Ok(VoiceSpec::Files("/tmp/voice".into()))
        );
        assert_eq!(
            VoiceSpec::parse("file:"),
            Err(SpecError::EmptyFolder("file:".into()))
        );
        let error = VoiceSpec::parse("speaker").unwrap_err().to_string();
        assert!(error.contains("\"alsa:<pcm>\""), "{error}");
        if cfg!(feature = "alsa") {
            assert_eq!(
                VoiceSpec::parse("alsa:plughw:1"),
                Ok(VoiceSpec::Alsa("plughw:1".into()))
            );
        }
    }

    #[test]
    fn debug_shows_no_words() {
        let segment = Segment::Speech {
            key: "voice-pin-entered".into(),
            text: "已输入三位".into(),
            clip: false,
        };
        let shown = format!("{segment:?}");
        assert!(!shown.contains("三"), "{shown}");
        assert!(shown.contains("voice-pin-entered"), "{shown}");
    }
}
