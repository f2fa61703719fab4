//! The voice device with real espeak-ng (Debian's `espeak-ng`) into WAV files and into a
//! sink that plays in real time, as a speaker does.

// Tests may unwrap (the lint is on for the library).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use renshe_voice::wav::{self, Format};
use renshe_voice::{
    Clips, DeviceState, FileSink, Segment, Sink, SinkError, Synthesizer, Utterance, VoiceDevice,
    VoiceStatus,
};

fn speech(key: &str, text: &str) -> Segment {
    Segment::Speech {
        key: key.into(),
        text: text.into(),
        clip: true,
    }
}

fn utterance(language: &str, segments: Vec<Segment>) -> Utterance {
    Utterance {
        language: language.into(),
        segments,
        volume: 100,
        repeat_every: None,
        words_per_minute: 175,
    }
}

/// The WAV files in `dir`, in the order written, with their samples.
/// The files the sink wrote, in name order (the order they were played).
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn played(dir: &Path) -> Vec<(String, Format, Vec<i16>)> {
    file_names(dir)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).expect("read");
            let header = wav::parse_header(&bytes).expect("a valid WAV");
            let samples = wav::samples(&bytes[header.data_offset..]);
            (name, header.format, samples)
        })
        .collect()
}

/// Whether the `n`th file (in name order) is complete: the sink writes its data length into
/// the header only when the prompt has ended.
fn finished(dir: &Path, n: usize) -> bool {
    file_names(dir).get(n).is_some_and(|name| {
        std::fs::read(dir.join(name)).is_ok_and(|bytes| {
            wav::parse_header(&bytes).is_ok_and(|header| header.data_len.is_some_and(|len| len > 0))
        })
    })
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

fn quiet() -> renshe_voice::StateListener {
    Box::new(|_| {})
}

#[test]
fn mandarin_and_english_prompts_are_spoken_with_their_own_voices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let device = VoiceDevice::start(
        Box::new(FileSink::new(dir.path())),
        Clips::none(),
        Synthesizer::default(),
        quiet(),
    );
    assert_eq!(
        device.status().state,
        DeviceState::Online,
        "espeak-ng is installed"
    );
    device.speak(utterance(
        "zh-CN",
        vec![speech("voice-attract", "请插入社会保障卡")],
    ));
    // To its end: a new prompt would cut it short.
    wait_for("the Mandarin prompt to end", || finished(dir.path(), 0));
    device.speak(utterance(
        "en-US",
        vec![speech(
            "voice-attract",
            "Please insert your social security card",
        )],
    ));
    wait_for("the English prompt", || played(dir.path()).len() == 2);
    wait_for("the English prompt to end", || finished(dir.path(), 1));
    let files = played(dir.path());
    assert_eq!(files[0].0, "000001-zh-CN-voice-attract.wav");
    assert_eq!(files[1].0, "000002-en-US-voice-attract.wav");
    for (name, format, samples) in &files {
        assert_eq!(*format, Format::SPEECH, "{name}");
        let seconds = samples.len() as f64 / f64::from(format.sample_rate);
        // Eight syllables or seven words: about one to five seconds, not a click.
        assert!((0.8..6.0).contains(&seconds), "{name}: {seconds:.2} s");
        assert!(
            rms(samples) > 300.0,
            "{name} is silent: rms {}",
            rms(samples)
        );
    }
    assert_ne!(
        files[0].2, files[1].2,
        "two languages, two different sounds"
    );
}

#[test]
fn an_installed_clip_is_played_instead_of_synthesis_and_volume_scales_it() {
    let clips_dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(clips_dir.path().join("zh-CN")).expect("mkdir");
    let recorded: Vec<i16> = (0..2205)
        .map(|i| if i % 20 < 10 { 8000 } else { -8000 })
        .collect();
    let mut bytes = wav::header(Format::SPEECH, recorded.len()).to_vec();
    bytes.extend(recorded.iter().flat_map(|s| s.to_le_bytes()));
    std::fs::write(clips_dir.path().join("zh-CN/voice-home.wav"), bytes).expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let device = VoiceDevice::start(
        Box::new(FileSink::new(out.path())),
        Clips::index(clips_dir.path()),
        // No synthesizer on this "terminal": the clip must be what plays.
        Synthesizer::new("/nonexistent/espeak-ng"),
        quiet(),
    );
    let mut half = utterance("zh-CN", vec![speech("voice-home", "请选择业务")]);
    half.volume = 50;
    device.speak(half);
    wait_for("the clip", || {
        played(out.path())
            .first()
            .is_some_and(|f| f.2.len() == recorded.len())
    });
    let (_, _, samples) = &played(out.path())[0];
    assert_eq!(samples[0], 4000, "half volume");
    assert_eq!(samples[10], -4000);
}

/// Plays in real time, as a speaker's blocking writes do, and keeps what it was given.
#[derive(Clone, Default)]
struct Speaker {
    heard: Arc<Mutex<Vec<(String, usize, bool)>>>,
}

impl Sink for Speaker {
    fn begin(&mut self, name: &str, _: &str, _: Format) -> Result<(), SinkError> {
        self.heard.lock().unwrap().push((name.into(), 0, false));
        Ok(())
    }
    fn write(&mut self, samples: &[i16]) -> Result<(), SinkError> {
        std::thread::sleep(Duration::from_secs_f64(samples.len() as f64 / 22_050.0));
        if let Some(last) = self.heard.lock().unwrap().last_mut() {
            last.1 += samples.len();
        }
        Ok(())
    }
    fn end(&mut self) -> Result<(), SinkError> {
        if let Some(last) = self.heard.lock().unwrap().last_mut() {
            last.2 = true;
        }
        Ok(())
    }
    fn abort(&mut self) {}
    fn describe(&self) -> String {
        "speaker".into()
    }
}

#[test]
fn a_new_prompt_cuts_the_playing_one_short_and_a_reminder_repeats_until_stopped() {
    let speaker = Speaker::default();
    let device = VoiceDevice::start(
        Box::new(speaker.clone()),
        Clips::none(),
        Synthesizer::default(),
        quiet(),
    );
    device.speak(utterance(
        "zh-CN",
        vec![speech(
            "voice-help",
            "这是一段很长的说明，它会被下一页的提示打断，不会说完。",
        )],
    ));
    std::thread::sleep(Duration::from_millis(300));
    let mut reminder = utterance(
        "zh-CN",
        vec![
            Segment::Tone {
                hertz: 880,
                millis: 150,
            },
            speech("voice-take-card", "请取走您的卡片"),
        ],
    );
    reminder.repeat_every = Some(Duration::from_millis(200));
    device.speak(reminder);
    wait_for("the reminder three times", || {
        speaker
            .heard
            .lock()
            .unwrap()
            .iter()
            .filter(|(name, _, done)| name == "voice-take-card" && *done)
            .count()
            >= 3
    });
    device.stop();
    let heard = speaker.heard.lock().unwrap().clone();
    let (name, samples, finished) = &heard[0];
    assert_eq!(name, "voice-help");
    assert!(!finished, "the long prompt was cut short");
    assert!(*samples < 22_050, "cut within a second: {samples} samples");
    assert_eq!(heard[1].0, "tone", "the reminder starts with its tone");
    std::thread::sleep(Duration::from_millis(800));
    let after = speaker.heard.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        speaker.heard.lock().unwrap().len(),
        after,
        "stop ends the repeats"
    );
}

/// A speaker that was unplugged.
struct Unplugged;

impl Sink for Unplugged {
    fn begin(&mut self, _: &str, _: &str, _: Format) -> Result<(), SinkError> {
        Err(SinkError::Device {
            device: "ALSA default".into(),
            reason: "No such device".into(),
        })
    }
    fn write(&mut self, _: &[i16]) -> Result<(), SinkError> {
        Ok(())
    }
    fn end(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    fn abort(&mut self) {}
    fn describe(&self) -> String {
        "unplugged".into()
    }
}

#[test]
fn a_failing_speaker_reports_a_hardware_error_and_never_blocks_the_caller() {
    let states: Arc<Mutex<Vec<VoiceStatus>>> = Arc::default();
    let seen = states.clone();
    let device = VoiceDevice::start(
        Box::new(Unplugged),
        Clips::none(),
        Synthesizer::default(),
        Box::new(move |status| seen.lock().unwrap().push(status.clone())),
    );
    let started = Instant::now();
    for _ in 0..50 {
        device.speak(utterance("zh-CN", vec![speech("voice-home", "请选择业务")]));
    }
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "speak never waits"
    );
    wait_for("the hardware error", || {
        device.status().state == DeviceState::HardwareError
    });
    let detail = device.status().detail;
    assert!(
        detail.contains("ALSA default") && detail.contains("No such device"),
        "{detail}"
    );
    let states = states.lock().unwrap();
    assert_eq!(states[0].state, DeviceState::Online);
    assert_eq!(
        states
            .iter()
            .filter(|s| s.state == DeviceState::HardwareError)
            .count(),
        1,
        "told once, not per prompt"
    );
}
