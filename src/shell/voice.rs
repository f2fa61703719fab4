//! Voice guidance on the kiosk: each drawn view's prompt (see `core::voice`) in the
//! resident's language, through the configured speaker. The device plays on its own thread,
//! so speaking never holds up a frame; a new prompt cuts the previous one short.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use renshe_voice::{Clips, DeviceState, Segment, Utterance, VoiceDevice};

use crate::config::Config;
use crate::core::voice::{self, Prompt, PromptKind, Said};
use crate::core::{DeviceHealth, DeviceKind, Event, Language, View};
use crate::i18n::Translator;
use crate::shell::events::EventSink;

/// The reminder's beep: high enough to be heard in a hall, short enough not to startle.
const REMINDER_TONE: Segment = Segment::Tone {
    hertz: 880,
    millis: 250,
};

pub struct VoiceAdapter {
    device: VoiceDevice,
    translator: Rc<Translator>,
    settings: crate::config::Voice,
    /// What was last asked for (said, or kept silent), with its language and mode: a view
    /// that asks for the same again says nothing.
    last: RefCell<Option<(Prompt, Language, bool)>>,
}

impl VoiceAdapter {
    pub fn start(config: &Config, events: EventSink, translator: Rc<Translator>) -> VoiceAdapter {
        let clips = config
            .voice
            .clips
            .as_deref()
            .map(Clips::index)
            .unwrap_or_default();
        let spec = config.devices.voice_spec();
        tracing::info!(
            voice = %config.devices.voice,
            clips = clips.len(),
            "voice guidance"
        );
        let device = VoiceDevice::from_spec(
            &spec,
            clips,
            Box::new(move |status| {
                if status.state != DeviceState::Online {
                    tracing::warn!(state = status.state.as_str(), detail = %status.detail, "voice device");
                } else if !status.detail.is_empty() {
                    tracing::info!(detail = %status.detail, "voice device");
                }
                events.send(Event::DeviceChanged(
                    DeviceKind::Voice,
                    health(status.state),
                ));
            }),
        );
        VoiceAdapter {
            device,
            translator,
            settings: config.voice.clone(),
            last: RefCell::new(None),
        }
    }

    /// Speaks `view`'s prompt if it is new; silences the speaker when the new view has
    /// nothing to say (or guidance is off), so a reminder never outlives its card.
    pub fn drawn(&self, view: &View) {
        let prompt = voice::prompt(view);
        let key = prompt.clone().map(|p| (p, view.language, view.elderly));
        if *self.last.borrow() == key {
            return;
        }
        *self.last.borrow_mut() = key;
        match prompt {
            Some(prompt) if view.voice || prompt.kind == PromptKind::TakeCard => {
                self.device.speak(self.utterance(&prompt, view));
            }
            _ => self.device.stop(),
        }
    }

    /// The 🔊 button: the current prompt again, from the start.
    pub fn speak_again(&self, view: &View) {
        if let Some(prompt) = voice::prompt(view) {
            *self.last.borrow_mut() = Some((prompt.clone(), view.language, view.elderly));
            self.device.speak(self.utterance(&prompt, view));
        }
    }

    fn utterance(&self, prompt: &Prompt, view: &View) -> Utterance {
        utterance(&self.translator, &self.settings, prompt, view)
    }

    /// For the technician: the device and what is wrong with it.
    pub fn status(&self) -> renshe_voice::VoiceStatus {
        self.device.status()
    }
}

/// What `prompt` sounds like for `view`: its texts in the view's language (arguments said as
/// words), the reminder's tone and repeat, the volume for now and the mode's speed.
pub fn utterance(
    translator: &Translator,
    settings: &crate::config::Voice,
    prompt: &Prompt,
    view: &View,
) -> Utterance {
    let language = view.language;
    let mut segments = Vec::new();
    let repeat_every = (prompt.kind == PromptKind::TakeCard).then(|| {
        segments.push(REMINDER_TONE);
        Duration::from_secs(u64::from(settings.reminder_repeat_seconds.max(1)))
    });
    for phrase in &prompt.phrases {
        let text = match &phrase.arg {
            None => translator.tr(language, &phrase.key),
            Some(said) => {
                let value = match said {
                    Said::Text(key) => translator.tr(language, key),
                    said => voice::words(said, language).unwrap_or_default(),
                };
                translator.tr_with(language, &phrase.key, "value", &value)
            }
        };
        segments.push(Segment::Speech {
            key: phrase.key.clone(),
            text,
            // A recorded clip cannot say a number that changes.
            clip: phrase.arg.is_none(),
        });
    }
    Utterance {
        language: language.tag().to_owned(),
        segments,
        volume: settings.volume_at(minute_of_day()),
        repeat_every,
        words_per_minute: if view.elderly {
            settings.elderly_words_per_minute
        } else {
            settings.words_per_minute
        },
    }
}

fn health(state: DeviceState) -> DeviceHealth {
    match state {
        DeviceState::Online => DeviceHealth::Online,
        DeviceState::HardwareError => DeviceHealth::HardwareError,
        DeviceState::NoDevice => DeviceHealth::NoDevice,
    }
}

fn minute_of_day() -> u16 {
    use chrono::Timelike;
    let now = chrono::Local::now();
    (now.hour() * 60 + now.minute()) as u16
}
