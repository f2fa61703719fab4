//! Where sound goes: the terminal's speaker through ALSA, WAV files for tests, or nowhere.

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

use crate::wav::{self, Format};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{device}: {reason}")]
    Device { device: String, reason: String },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Plays one segment at a time: `begin`, `write`s (each may block for as long as the sound
/// takes), then `end` to let it finish, or `abort` to cut it off.
pub trait Sink: Send {
    fn begin(&mut self, name: &str, language: &str, format: Format) -> Result<(), SinkError>;
    fn write(&mut self, samples: &[i16]) -> Result<(), SinkError>;
    fn end(&mut self) -> Result<(), SinkError>;
    fn abort(&mut self);
    /// For the technician: which device.
    fn describe(&self) -> String;
}

/// Plays nothing (`voice = "none"` and the state of a device that failed at start).
#[derive(Debug, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn begin(&mut self, _: &str, _: &str, _: Format) -> Result<(), SinkError> {
        Ok(())
    }
    fn write(&mut self, _: &[i16]) -> Result<(), SinkError> {
        Ok(())
    }
    fn end(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    fn abort(&mut self) {}
    fn describe(&self) -> String {
        "none".into()
    }
}

/// Each segment as `<folder>/<six-digit number>-<language>-<key>.wav`, numbered in the
/// order played. Named by key, never by words.
#[derive(Debug)]
pub struct FileSink {
    folder: PathBuf,
    next: u32,
    open: Option<OpenFile>,
}

#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    file: File,
    format: Format,
    samples: usize,
}

impl FileSink {
    pub fn new(folder: &Path) -> FileSink {
        FileSink {
            folder: folder.to_path_buf(),
            next: 1,
            open: None,
        }
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        let header = wav::header(open.format, open.samples);
        let result = open
            .file
            .seek(io::SeekFrom::Start(0))
            .and_then(|_| open.file.write_all(&header))
            .and_then(|_| open.file.flush());
        result.map_err(|source| SinkError::File {
            path: open.path,
            source,
        })
    }
}

impl Sink for FileSink {
    fn begin(&mut self, name: &str, language: &str, format: Format) -> Result<(), SinkError> {
        self.finish()?;
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        let path = self.folder.join(format!(
            "{:06}-{}-{}.wav",
            self.next,
            safe(language),
            safe(name)
        ));
        self.next += 1;
        let file_error = |source| SinkError::File {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.folder).map_err(file_error)?;
        let mut file = File::create(&path).map_err(file_error)?;
        file.write_all(&wav::header(format, 0))
            .map_err(file_error)?;
        self.open = Some(OpenFile {
            path,
            file,
            format,
            samples: 0,
        });
        Ok(())
    }

    fn write(&mut self, samples: &[i16]) -> Result<(), SinkError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        open.file
            .write_all(&bytes)
            .map_err(|source| SinkError::File {
                path: open.path.clone(),
                source,
            })?;
        open.samples += samples.len();
        Ok(())
    }

    fn end(&mut self) -> Result<(), SinkError> {
        self.finish()
    }

    /// What was played so far stays: a cut-short prompt is a short file.
    fn abort(&mut self) {
        let _ = self.finish();
    }

    fn describe(&self) -> String {
        format!("file:{}", self.folder.display())
    }
}

/// An ALSA PCM, opened per segment at the segment's rate (the `plug` layer of `default`
/// converts for the hardware), drained at its end and dropped when cut short.
#[cfg(feature = "alsa")]
pub struct AlsaSink {
    device: String,
    pcm: Option<alsa::pcm::PCM>,
}

#[cfg(feature = "alsa")]
impl AlsaSink {
    pub fn new(device: &str) -> AlsaSink {
        AlsaSink {
            device: device.to_owned(),
            pcm: None,
        }
    }

    /// Opens and closes the device once: whether it is there at all.
    pub fn probe(&self) -> Result<(), SinkError> {
        self.open(Format::SPEECH).map(drop)
    }

    fn error(&self, error: alsa::Error) -> SinkError {
        SinkError::Device {
            device: format!("ALSA {}", self.device),
            reason: error.to_string(),
        }
    }

    fn open(&self, format: Format) -> Result<alsa::pcm::PCM, SinkError> {
        use alsa::pcm::{Access, HwParams, PCM};
        use alsa::{Direction, ValueOr};
        let pcm = PCM::new(&self.device, Direction::Playback, false).map_err(|e| self.error(e))?;
        {
            let params = HwParams::any(&pcm).map_err(|e| self.error(e))?;
            params
                .set_channels(u32::from(format.channels))
                .and_then(|_| params.set_rate(format.sample_rate, ValueOr::Nearest))
                .and_then(|_| params.set_format(alsa::pcm::Format::s16()))
                .and_then(|_| params.set_access(Access::RWInterleaved))
                .map_err(|e| self.error(e))?;
            // Short periods: a new prompt cuts the old one off within ~50 ms.
            let _ = params.set_period_time_near(20_000, ValueOr::Nearest);
            let _ = params.set_buffer_time_near(100_000, ValueOr::Nearest);
            pcm.hw_params(&params).map_err(|e| self.error(e))?;
        }
        Ok(pcm)
    }
}

#[cfg(feature = "alsa")]
impl Sink for AlsaSink {
    fn begin(&mut self, _: &str, _: &str, format: Format) -> Result<(), SinkError> {
        self.abort();
        self.pcm = Some(self.open(format)?);
        Ok(())
    }

    fn write(&mut self, samples: &[i16]) -> Result<(), SinkError> {
        let Some(pcm) = self.pcm.as_ref() else {
            return Ok(());
        };
        let channels = pcm
            .hw_params_current()
            .and_then(|p| p.get_channels())
            .unwrap_or(1)
            .max(1) as usize;
        let io = pcm.io_i16().map_err(|e| self.error(e))?;
        let mut at = 0;
        while at < samples.len() {
            match io.writei(&samples[at..]) {
                Ok(frames) => at += frames * channels,
                // An underrun (the worker was slow): recover and go on.
                Err(error) => pcm.try_recover(error, true).map_err(|e| self.error(e))?,
            }
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), SinkError> {
        if let Some(pcm) = self.pcm.take() {
            pcm.drain().map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    fn abort(&mut self) {
        if let Some(pcm) = self.pcm.take() {
            let _ = pcm.drop();
        }
    }

    fn describe(&self) -> String {
        format!("ALSA {}", self.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_sink_numbers_files_and_writes_valid_wavs() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FileSink::new(dir.path());
        sink.begin("voice-attract", "zh-CN", Format::SPEECH)
            .unwrap();
        sink.write(&[1, -1, 2]).unwrap();
        sink.end().unwrap();
        sink.begin("tone", "en-US", Format::SPEECH).unwrap();
        sink.abort();
        let first = std::fs::read(dir.path().join("000001-zh-CN-voice-attract.wav")).unwrap();
        let header = wav::parse_header(&first).unwrap();
        assert_eq!(header.data_len, Some(6));
        assert_eq!(wav::samples(&first[44..]), vec![1, -1, 2]);
        assert!(dir.path().join("000002-en-US-tone.wav").exists());
    }
}
