//! Where sound comes from: an operator's recorded clips, espeak-ng, or a generated tone,
//! each as a stream of 16-bit samples read in chunks.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::wav::{self, Format, WavError};

/// A stream of samples: its format, then chunks until `Ok(0)`.
pub(crate) trait Pcm {
    fn format(&self) -> Format;
    fn read(&mut self, samples: &mut [i16]) -> io::Result<usize>;
}

/// Why a segment could not be sounded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    #[error("clip {path}: {source}")]
    Clip {
        path: PathBuf,
        #[source]
        source: WavError,
    },
    #[error("clip {path}: {source}")]
    ClipIo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("speech synthesis ({program}) cannot start: {source} — install espeak-ng")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("speech synthesis ({program}) gave no usable sound: {reason}")]
    Output { program: String, reason: String },
}

/// The operator's recordings: `<folder>/<language>/<key>.wav`, indexed once at start so a
/// prompt never waits for a directory listing.
#[derive(Debug, Default, Clone)]
pub struct Clips {
    folder: Option<PathBuf>,
    present: HashSet<(String, String)>,
}

impl Clips {
    pub fn none() -> Clips {
        Clips::default()
    }

    /// Indexes `folder` (a missing folder is an empty index: clips are optional).
    pub fn index(folder: &Path) -> Clips {
        let mut present = HashSet::new();
        if let Ok(languages) = std::fs::read_dir(folder) {
            for language in languages.flatten() {
                let Ok(files) = std::fs::read_dir(language.path()) else {
                    continue;
                };
                let language = language.file_name().to_string_lossy().into_owned();
                for file in files.flatten() {
                    let path = file.path();
                    if path.extension().is_some_and(|e| e == "wav") {
                        if let Some(key) = path.file_stem() {
                            present.insert((language.clone(), key.to_string_lossy().into_owned()));
                        }
                    }
                }
            }
        }
        Clips {
            folder: Some(folder.to_path_buf()),
            present,
        }
    }

    pub fn len(&self) -> usize {
        self.present.len()
    }

    pub fn is_empty(&self) -> bool {
        self.present.is_empty()
    }

    /// The clip for `key` in `language`, if installed.
    pub fn path(&self, language: &str, key: &str) -> Option<PathBuf> {
        let folder = self.folder.as_ref()?;
        self.present
            .contains(&(language.to_owned(), key.to_owned()))
            .then(|| folder.join(language).join(format!("{key}.wav")))
    }
}

/// A clip file, streamed from disk.
pub(crate) struct ClipPcm {
    format: Format,
    file: File,
    left: Option<u64>,
}

impl ClipPcm {
    pub(crate) fn open(path: &Path) -> Result<ClipPcm, SourceError> {
        let io_error = |source| SourceError::ClipIo {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_error)?;
        let mut head = Vec::with_capacity(4096);
        (&mut file)
            .take(wav::MAX_HEADER as u64)
            .read_to_end(&mut head)
            .map_err(io_error)?;
        let header = wav::parse_header(&head).map_err(|source| SourceError::Clip {
            path: path.to_path_buf(),
            source,
        })?;
        use std::io::Seek;
        file.seek(io::SeekFrom::Start(header.data_offset as u64))
            .map_err(io_error)?;
        Ok(ClipPcm {
            format: header.format,
            file,
            left: header.data_len.map(u64::from),
        })
    }
}

impl Pcm for ClipPcm {
    fn format(&self) -> Format {
        self.format
    }

    fn read(&mut self, samples: &mut [i16]) -> io::Result<usize> {
        read_samples(&mut self.file, &mut self.left, samples)
    }
}

/// Reads whole samples (at most `left` bytes when the length is known).
fn read_samples(
    from: &mut impl Read,
    left: &mut Option<u64>,
    samples: &mut [i16],
) -> io::Result<usize> {
    let mut want = samples.len() * 2;
    if let Some(left) = left {
        want = want.min(*left as usize);
    }
    let mut bytes = vec![0u8; want];
    let mut filled = 0;
    // Fill to a whole number of samples; a pipe may hand over odd byte counts.
    while filled < want {
        let n = from.read(&mut bytes[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
        if filled % 2 == 0 {
            break;
        }
    }
    let whole = filled - filled % 2;
    for (sample, pair) in samples.iter_mut().zip(bytes[..whole].chunks_exact(2)) {
        *sample = i16::from_le_bytes([pair[0], pair[1]]);
    }
    if let Some(left) = left {
        *left -= filled as u64;
    }
    Ok(whole / 2)
}

/// espeak-ng's voice for a language tag.
pub fn espeak_voice(language: &str) -> &'static str {
    match language {
        "en-US" | "en" => "en-us",
        // Mandarin; Latin letters (a masked name's pinyin) read as English.
        _ => "cmn",
    }
}

/// Speech synthesis with espeak-ng, one child process per segment: the synthesizer's
/// memory never joins the kiosk's, and a hung one is killed with its segment.
#[derive(Debug, Clone)]
pub struct Synthesizer {
    program: String,
}

impl Default for Synthesizer {
    fn default() -> Synthesizer {
        Synthesizer::new("espeak-ng")
    }
}

impl Synthesizer {
    pub fn new(program: &str) -> Synthesizer {
        Synthesizer {
            program: program.to_owned(),
        }
    }

    /// Whether the program runs at all (for the device's state at start).
    pub fn available(&self) -> bool {
        Command::new(&self.program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    pub(crate) fn speak(
        &self,
        language: &str,
        text: &str,
        words_per_minute: u16,
    ) -> Result<SpeechPcm, SourceError> {
        let spawn_error = |source| SourceError::Spawn {
            program: self.program.clone(),
            source,
        };
        // The text goes in on stdin, never as an argument: it cannot be read as an option,
        // and it does not show in the process list.
        let mut child = Command::new(&self.program)
            .args(["--stdout", "-v", espeak_voice(language), "-s"])
            .arg(words_per_minute.clamp(80, 260).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(spawn_error)?;
        let output = |reason: String| SourceError::Output {
            program: self.program.clone(),
            reason,
        };
        if let Some(mut stdin) = child.stdin.take() {
            if let Err(error) = stdin.write_all(text.as_bytes()) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(output(format!("cannot hand over the text: {error}")));
            }
        }
        let Some(mut stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(output("no output pipe".into()));
        };
        let mut head = [0u8; 44];
        let mut filled = 0;
        while filled < head.len() {
            match stdout.read(&mut head[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(error) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(output(error.to_string()));
                }
            }
        }
        let header = match wav::parse_header(&head[..filled]) {
            // espeak-ng writes the canonical 44-byte header; anything else is not its output.
            Ok(header) if header.data_offset == 44 => header,
            Ok(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(output("a WAV header longer than 44 bytes".into()));
            }
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(output(error.to_string()));
            }
        };
        Ok(SpeechPcm {
            format: header.format,
            child,
            stdout,
            left: header.data_len.map(u64::from),
        })
    }
}

/// espeak-ng's stdout as it is synthesized.
pub(crate) struct SpeechPcm {
    format: Format,
    child: Child,
    stdout: ChildStdout,
    left: Option<u64>,
}

impl Pcm for SpeechPcm {
    fn format(&self) -> Format {
        self.format
    }

    fn read(&mut self, samples: &mut [i16]) -> io::Result<usize> {
        read_samples(&mut self.stdout, &mut self.left, samples)
    }
}

impl Drop for SpeechPcm {
    /// Cut short or finished: the child goes, and is reaped.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sine beep with 10 ms fades (no click), in the speech format.
pub(crate) struct TonePcm {
    hertz: f32,
    total: usize,
    at: usize,
}

impl TonePcm {
    pub(crate) fn new(hertz: u16, millis: u16) -> TonePcm {
        TonePcm {
            hertz: f32::from(hertz.clamp(100, 4000)),
            total: Format::SPEECH.sample_rate as usize * usize::from(millis.min(3000)) / 1000,
            at: 0,
        }
    }
}

impl Pcm for TonePcm {
    fn format(&self) -> Format {
        Format::SPEECH
    }

    fn read(&mut self, samples: &mut [i16]) -> io::Result<usize> {
        let rate = Format::SPEECH.sample_rate as f32;
        let fade = (rate * 0.01) as usize;
        let n = samples.len().min(self.total - self.at);
        for (i, sample) in samples.iter_mut().take(n).enumerate() {
            let t = self.at + i;
            let edge = t.min(self.total - 1 - t).min(fade) as f32 / fade.max(1) as f32;
            let phase = 2.0 * std::f32::consts::PI * self.hertz * t as f32 / rate;
            *sample = (phase.sin() * edge * 12_000.0) as i16;
        }
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_are_indexed_by_language_and_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("zh-CN")).unwrap();
        std::fs::write(dir.path().join("zh-CN/voice-attract.wav"), b"x").unwrap();
        std::fs::write(dir.path().join("zh-CN/notes.txt"), b"x").unwrap();
        let clips = Clips::index(dir.path());
        assert_eq!(clips.len(), 1);
        assert_eq!(
            clips.path("zh-CN", "voice-attract"),
            Some(dir.path().join("zh-CN/voice-attract.wav"))
        );
        assert_eq!(clips.path("en-US", "voice-attract"), None);
        assert!(Clips::index(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn a_clip_streams_exactly_its_data_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.wav");
        let mut bytes = wav::header(Format::SPEECH, 3).to_vec();
        bytes.extend_from_slice(&[1, 0, 2, 0, 3, 0, 9, 9, 9, 9]); // trailing junk chunk
        std::fs::write(&path, bytes).unwrap();
        let mut clip = ClipPcm::open(&path).unwrap();
        let mut samples = [0i16; 8];
        assert_eq!(clip.read(&mut samples).unwrap(), 3);
        assert_eq!(&samples[..3], &[1, 2, 3]);
        assert_eq!(clip.read(&mut samples).unwrap(), 0);
        std::fs::write(&path, b"RIFF").unwrap();
        let error = ClipPcm::open(&path).err().unwrap().to_string();
        assert!(
            error.contains("clip.wav") && error.contains("RIFF"),
            "{error}"
        );
    }

    #[test]
    fn a_tone_fades_in_and_out() {
        let mut tone = TonePcm::new(880, 100);
        let mut samples = vec![0i16; 5000];
        let n = tone.read(&mut samples).unwrap();
        assert_eq!(n, 2205);
        assert_eq!(samples[0], 0);
        assert!(samples[..n].iter().any(|s| s.unsigned_abs() > 10_000));
        assert!(samples[n - 1].unsigned_abs() < 500);
        assert_eq!(tone.read(&mut samples).unwrap(), 0);
    }
}
