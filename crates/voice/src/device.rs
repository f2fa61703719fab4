//! The voice device: one worker thread that plays utterances, cut short by the next one.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};

use crate::sink::{NullSink, Sink};
use crate::synth::{ClipPcm, Clips, Pcm, Synthesizer, TonePcm};
use crate::{DeviceState, Segment, Utterance, VoiceSpec};

/// 20 ms at 22,050 Hz: how often the worker looks for a newer prompt while playing.
const CHUNK: usize = 441;

/// The device's state and, when it is not online, what a technician should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceStatus {
    pub state: DeviceState,
    pub detail: String,
}

/// Told of every change of the device's state (from the worker thread).
pub type StateListener = Box<dyn Fn(&VoiceStatus) + Send>;

enum Order {
    Speak(Utterance),
    Stop,
}

/// Speaks utterances off the caller's thread. Dropping it ends the worker after the chunk
/// it is playing.
pub struct VoiceDevice {
    orders: Sender<Order>,
    status: Arc<Mutex<VoiceStatus>>,
}

impl VoiceDevice {
    /// The device a terminal's `voice = "…"` names. ALSA is probed once here, so a missing
    /// sound card shows at start; it is tried again with every utterance.
    pub fn from_spec(spec: &VoiceSpec, clips: Clips, on_change: StateListener) -> VoiceDevice {
        let synthesizer = Synthesizer::default();
        match spec {
            VoiceSpec::None => VoiceDevice::start_with(
                Box::new(NullSink),
                clips,
                synthesizer,
                VoiceStatus {
                    state: DeviceState::NoDevice,
                    detail: "voice = \"none\"".into(),
                },
                on_change,
            ),
            VoiceSpec::Files(folder) => VoiceDevice::start(
                Box::new(crate::FileSink::new(folder)),
                clips,
                synthesizer,
                on_change,
            ),
            #[cfg(feature = "alsa")]
            VoiceSpec::Alsa(device) => {
                let sink = crate::AlsaSink::new(device);
                let status = match sink.probe() {
                    Ok(()) => initial_status(&clips, &synthesizer),
                    Err(error) => VoiceStatus {
                        state: DeviceState::HardwareError,
                        detail: error.to_string(),
                    },
                };
                VoiceDevice::start_with(Box::new(sink), clips, synthesizer, status, on_change)
            }
            #[cfg(not(feature = "alsa"))]
            VoiceSpec::Alsa(device) => VoiceDevice::start_with(
                Box::new(NullSink),
                clips,
                synthesizer,
                VoiceStatus {
                    state: DeviceState::HardwareError,
                    detail: format!("ALSA {device}: this build plays no sound"),
                },
                on_change,
            ),
        }
    }

    /// A device on any sink (benches and tests bring their own).
    pub fn start(
        sink: Box<dyn Sink>,
        clips: Clips,
        synthesizer: Synthesizer,
        on_change: StateListener,
    ) -> VoiceDevice {
        let status = initial_status(&clips, &synthesizer);
        VoiceDevice::start_with(sink, clips, synthesizer, status, on_change)
    }

    fn start_with(
        sink: Box<dyn Sink>,
        clips: Clips,
        synthesizer: Synthesizer,
        status: VoiceStatus,
        on_change: StateListener,
    ) -> VoiceDevice {
        on_change(&status);
        let shared = Arc::new(Mutex::new(status));
        let (orders, incoming) = mpsc::channel();
        let worker = Worker {
            sink,
            clips,
            synthesizer,
            status: shared.clone(),
            on_change,
            no_device: matches!(shared.lock().map(|s| s.state), Ok(DeviceState::NoDevice)),
        };
        let spawned = std::thread::Builder::new()
            .name("kiosk-voice".into())
            .spawn(move || worker.run(incoming));
        if let Err(error) = spawned {
            if let Ok(mut status) = shared.lock() {
                *status = VoiceStatus {
                    state: DeviceState::HardwareError,
                    detail: format!("cannot start the voice thread: {error}"),
                };
            }
        }
        VoiceDevice {
            orders,
            status: shared,
        }
    }

    /// Plays `utterance` after cutting short whatever plays now. Returns at once.
    pub fn speak(&self, utterance: Utterance) {
        let _ = self.orders.send(Order::Speak(utterance));
    }

    /// Silence, now (and no more repeats).
    pub fn stop(&self) {
        let _ = self.orders.send(Order::Stop);
    }

    pub fn status(&self) -> VoiceStatus {
        self.status
            .lock()
            .map(|status| status.clone())
            .unwrap_or(VoiceStatus {
                state: DeviceState::HardwareError,
                detail: "the voice thread failed".into(),
            })
    }
}

fn initial_status(clips: &Clips, synthesizer: &Synthesizer) -> VoiceStatus {
    if synthesizer.available() {
        VoiceStatus {
            state: DeviceState::Online,
            detail: String::new(),
        }
    } else if !clips.is_empty() {
        VoiceStatus {
            state: DeviceState::Online,
            detail: "espeak-ng is missing: only recorded clips are played".into(),
        }
    } else {
        VoiceStatus {
            state: DeviceState::HardwareError,
            detail: "espeak-ng is missing and no clips are installed: install espeak-ng".into(),
        }
    }
}

/// What playing an utterance came to.
enum Played {
    Done {
        failed: Option<String>,
    },
    /// Something newer arrived (or the device went away).
    Interrupted(Option<Order>),
}

struct Worker {
    sink: Box<dyn Sink>,
    clips: Clips,
    synthesizer: Synthesizer,
    status: Arc<Mutex<VoiceStatus>>,
    on_change: StateListener,
    /// `voice = "none"`: nothing to play, nothing to report.
    no_device: bool,
}

impl Worker {
    fn run(mut self, orders: Receiver<Order>) {
        let mut next: Option<Order> = None;
        loop {
            let order = match next.take() {
                Some(order) => order,
                None => match orders.recv() {
                    Ok(order) => order,
                    Err(_) => return,
                },
            };
            let Order::Speak(utterance) = order else {
                continue;
            };
            if self.no_device {
                continue;
            }
            loop {
                match self.play(&utterance, &orders) {
                    Played::Interrupted(None) => return,
                    Played::Interrupted(order) => {
                        next = order;
                        break;
                    }
                    Played::Done { failed } => self.report(failed),
                }
                let Some(pause) = utterance.repeat_every else {
                    break;
                };
                match orders.recv_timeout(pause) {
                    Ok(order) => {
                        next = Some(order);
                        break;
                    }
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    }

    fn report(&mut self, failed: Option<String>) {
        let now = match failed {
            Some(detail) => VoiceStatus {
                state: DeviceState::HardwareError,
                detail,
            },
            None => VoiceStatus {
                state: DeviceState::Online,
                detail: String::new(),
            },
        };
        let Ok(mut status) = self.status.lock() else {
            return;
        };
        // Online with a note (clips only) stays as it is while it works.
        let changed = status.state != now.state;
        if changed {
            *status = now.clone();
            drop(status);
            (self.on_change)(&now);
        }
    }

    fn source(&self, language: &str, segment: &Segment, wpm: u16) -> Result<Box<dyn Pcm>, String> {
        match segment {
            Segment::Tone { hertz, millis } => Ok(Box::new(TonePcm::new(*hertz, *millis))),
            Segment::Speech { key, text, clip } => {
                if *clip {
                    if let Some(path) = self.clips.path(language, key) {
                        match ClipPcm::open(&path) {
                            Ok(pcm) => return Ok(Box::new(pcm)),
                            // A broken clip: say so, and fall back to synthesis.
                            Err(error) => {
                                let detail = error.to_string();
                                return self
                                    .synthesizer
                                    .speak(language, text, wpm)
                                    .map(|pcm| Box::new(pcm) as Box<dyn Pcm>)
                                    .map_err(|e| format!("{detail}; {e}"));
                            }
                        }
                    }
                }
                self.synthesizer
                    .speak(language, text, wpm)
                    .map(|pcm| Box::new(pcm) as Box<dyn Pcm>)
                    .map_err(|error| error.to_string())
            }
        }
    }

    fn play(&mut self, utterance: &Utterance, orders: &Receiver<Order>) -> Played {
        let gain = f32::from(utterance.volume.min(100)) / 100.0;
        let mut failed = None;
        for segment in &utterance.segments {
            let mut pcm =
                match self.source(&utterance.language, segment, utterance.words_per_minute) {
                    Ok(pcm) => pcm,
                    Err(detail) => {
                        failed = Some(detail);
                        continue;
                    }
                };
            let format = pcm.format();
            if let Err(error) = self.sink.begin(segment.name(), &utterance.language, format) {
                // The speaker is gone: this utterance is silent.
                return Played::Done {
                    failed: Some(error.to_string()),
                };
            }
            let mut chunk = vec![0i16; CHUNK * usize::from(format.channels)];
            loop {
                match orders.try_recv() {
                    Ok(order) => {
                        self.sink.abort();
                        return Played::Interrupted(Some(order));
                    }
                    Err(TryRecvError::Disconnected) => {
                        self.sink.abort();
                        return Played::Interrupted(None);
                    }
                    Err(TryRecvError::Empty) => {}
                }
                let n = match pcm.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(error) => {
                        failed = Some(format!("{}: {error}", segment.name()));
                        break;
                    }
                };
                for sample in &mut chunk[..n] {
                    *sample = (f32::from(*sample) * gain) as i16;
                }
                if let Err(error) = self.sink.write(&chunk[..n]) {
                    self.sink.abort();
                    return Played::Done {
                        failed: Some(error.to_string()),
                    };
                }
            }
            if let Err(error) = self.sink.end() {
                return Played::Done {
                    failed: Some(error.to_string()),
                };
            }
        }
        Played::Done { failed }
    }
}

/// The interface the kiosk's shell speaks through.
pub trait Voice {
    fn speak(&self, utterance: Utterance);
    fn stop(&self);
    fn status(&self) -> VoiceStatus;
}

impl Voice for VoiceDevice {
    fn speak(&self, utterance: Utterance) {
        VoiceDevice::speak(self, utterance)
    }
    fn stop(&self) {
        VoiceDevice::stop(self)
    }
    fn status(&self) -> VoiceStatus {
        VoiceDevice::status(self)
    }
}
