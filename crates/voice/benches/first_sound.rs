//! Tap → first sound: from `VoiceDevice::speak` to the first samples reaching the sink, the
//! way the kiosk's drawer asks for a page's prompt. With synthesis (espeak-ng in a child
//! process, streamed) and with an installed clip. Baseline in the same run: espeak-ng run
//! by hand, from spawn to the first byte of sound on its stdout (what any wrapper pays).
//! Goals: p99 ≤ 150 ms with synthesis, ≤ 30 ms with a clip.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use renshe_voice::wav::{self, Format};
use renshe_voice::{Clips, Segment, Sink, SinkError, Synthesizer, Utterance, VoiceDevice};

const RUNS: usize = 60;
const TEXT: &str = "欢迎使用人社自助服务。请插入社会保障卡，或点击屏幕开始";

/// Tells the bench when the first samples of each segment arrive.
struct FirstSamples {
    tell: mpsc::Sender<Instant>,
    told: bool,
}

impl Sink for FirstSamples {
    fn begin(&mut self, _: &str, _: &str, _: Format) -> Result<(), SinkError> {
        self.told = false;
        Ok(())
    }
    fn write(&mut self, samples: &[i16]) -> Result<(), SinkError> {
        if !self.told && !samples.is_empty() {
            self.told = true;
            let _ = self.tell.send(Instant::now());
        }
        Ok(())
    }
    fn end(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    fn abort(&mut self) {}
    fn describe(&self) -> String {
        "bench".into()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn through_device(clips: Clips, clip: bool) -> Vec<Duration> {
    let (tell, told) = mpsc::channel();
    let device = VoiceDevice::start(
        Box::new(FirstSamples { tell, told: false }),
        clips,
        Synthesizer::default(),
        Box::new(|_| {}),
    );
    let mut times = Vec::new();
    for i in 0..RUNS + 3 {
        let asked = Instant::now();
        device.speak(Utterance {
            language: "zh-CN".into(),
            segments: vec![Segment::Speech {
                key: "voice-attract".into(),
                text: TEXT.into(),
                clip,
            }],
            volume: 80,
            repeat_every: None,
            words_per_minute: 170,
        });
        let first = told
            .recv_timeout(Duration::from_secs(5))
            .expect("sound within 5 s");
        // The first few warm the page cache; they are not what a resident meets daily.
        if i >= 3 {
            times.push(first - asked);
        }
        device.stop();
        std::thread::sleep(Duration::from_millis(30));
        while told.try_recv().is_ok() {}
    }
    times.sort();
    times
}

fn espeak_by_hand() -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut child = Command::new("espeak-ng")
            .args(["--stdout", "-v", "cmn", "-s", "170"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("espeak-ng is installed");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(TEXT.as_bytes())
            .expect("text");
        let mut out = child.stdout.take().expect("stdout");
        let mut head = [0u8; 46];
        out.read_exact(&mut head).expect("a header and a sample");
        times.push(started.elapsed());
        let _ = child.kill();
        let _ = child.wait();
    }
    times.sort();
    times
}

fn main() {
    let clips_dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(clips_dir.path().join("zh-CN")).expect("mkdir");
    // A recorded clip of the welcome: espeak-ng's own rendering, as an operator might start.
    let recorded = Command::new("espeak-ng")
        .args(["--stdout", "-v", "cmn", TEXT])
        .output()
        .expect("espeak-ng is installed")
        .stdout;
    let header = wav::parse_header(&recorded).expect("espeak-ng writes WAV");
    let samples = &recorded[header.data_offset..];
    let mut clip = wav::header(Format::SPEECH, samples.len() / 2).to_vec();
    clip.extend_from_slice(samples);
    std::fs::write(clips_dir.path().join("zh-CN/voice-attract.wav"), clip).expect("write");

    let baseline = espeak_by_hand();
    let synthesis = through_device(Clips::none(), false);
    let clip = through_device(Clips::index(clips_dir.path()), true);
    let line = |name: &str, times: &[Duration], goal: Option<f64>| {
        let (p50, p99) = (percentile(times, 0.5), percentile(times, 0.99));
        let against = percentile(&baseline, 0.5);
        println!(
            "voice {name}: tap → first sample p50 {:.1} ms, p99 {:.1} ms over {} runs | {:.2}× espeak-ng by hand (p50 {:.1} ms){}",
            ms(p50),
            ms(p99),
            times.len(),
            p50.as_secs_f64() / against.as_secs_f64(),
            ms(against),
            goal.map_or(String::new(), |g| format!(
                " | goal p99 <= {g} ms: {}",
                if ms(p99) <= g { "met" } else { "NOT met" }
            )),
        );
    };
    line("synthesis", &synthesis, Some(150.0));
    line("clip", &clip, Some(30.0));
    line("espeak-ng by hand", &baseline, None);
}
