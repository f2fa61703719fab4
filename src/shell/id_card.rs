//! The 二代身份证 reader in the running kiosk: the watcher's events become core events, and the
//! card read is kept (zeroizing) for the back-end call that needs it — never shown whole,
//! never logged. In demo mode the virtual reader on a pty stands in, and the demo tray lays
//! ID cards on it.

use std::sync::{Arc, Mutex};

use crate::config::IdCardReader as IdCardReaderConfig;
use crate::core::identity::IdCardSummary;
use crate::core::{DeviceHealth, DeviceKind, Event};
use crate::idcard::serial::{IdCard, ReaderSettings};
use crate::idcard::watcher::{IdCardEvent, IdCardWatcher, ReaderHealth, WatcherSettings};
use crate::shell::backend::{Claimant, NameCheck};
use crate::shell::events::EventSink;

pub struct IdCardAdapter {
    card: Arc<Mutex<Option<IdCard>>>,
    _watcher: Option<IdCardWatcher>,
    demo: Option<DemoIdReader>,
}

impl IdCardAdapter {
    /// Starts watching the configured reader; with `none`, tells the core there is none (the
    /// loss report then asks for the number to be typed).
    pub fn start(config: &IdCardReaderConfig, events: EventSink) -> IdCardAdapter {
        let card: Arc<Mutex<Option<IdCard>>> = Arc::default();
        if !config.is_configured() {
            events.send(Event::DeviceChanged(
                DeviceKind::IdCardReader,
                DeviceHealth::NoDevice,
            ));
            return IdCardAdapter {
                card,
                _watcher: None,
                demo: None,
            };
        }
        let demo = DemoIdReader::start(config);
        let path = demo
            .as_ref()
            .map_or(config.port.clone(), |demo| demo.path().to_owned());
        let slot = card.clone();
        let sink = events.clone();
        let on_event = move |event: IdCardEvent| {
            let core_event = match event {
                IdCardEvent::Placed(read) => {
                    let summary = IdCardSummary {
                        masked_name: read.masked_name(),
                        masked_id: read.masked_id(),
                    };
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(*read);
                    }
                    Event::IdCardRead(summary)
                }
                IdCardEvent::Taken => {
                    // What it identified was looked up when it was read.
                    Event::IdCardTaken
                }
                IdCardEvent::Unreadable(failure) => {
                    tracing::warn!(%failure, "ID card not readable");
                    Event::IdCardTaken
                }
                IdCardEvent::Health(health) => Event::DeviceChanged(
                    DeviceKind::IdCardReader,
                    match health {
                        ReaderHealth::Online => DeviceHealth::Online,
                        ReaderHealth::Offline => DeviceHealth::Offline,
                        ReaderHealth::NoDevice => DeviceHealth::NoDevice,
                    },
                ),
            };
            sink.send(core_event);
        };
        let settings = WatcherSettings::new(ReaderSettings::new(&path, config.baud));
        let watcher = match IdCardWatcher::spawn(settings, on_event) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::error!(%error, "cannot start the ID card watcher");
                events.send(Event::DeviceChanged(
                    DeviceKind::IdCardReader,
                    DeviceHealth::HardwareError,
                ));
                None
            }
        };
        IdCardAdapter {
            card,
            _watcher: watcher,
            demo,
        }
    }

    /// Who the ID card read in this session is, for a back-end call: the ID number, and the
    /// name the back end's must equal.
    pub fn claimant(&self) -> Option<Claimant> {
        let slot = self.card.lock().ok()?;
        let card = slot.as_ref()?;
        let id_number = card.id_number.as_ref()?;
        Some(Claimant::new(
            id_number.as_str().to_owned(),
            None,
            NameCheck::Exact(card.text().name.clone()),
        ))
    }

    /// The session ended: the card's data goes (zeroized as it drops).
    pub fn forget(&self) {
        if let Ok(mut slot) = self.card.lock() {
            *slot = None;
        }
    }

    pub fn demo_labels(&self) -> Vec<String> {
        self.demo
            .as_ref()
            .map(DemoIdReader::labels)
            .unwrap_or_default()
    }

    pub fn demo_place(&self, index: usize) {
        if let Some(demo) = &self.demo {
            demo.place(index);
        }
    }

    pub fn demo_take(&self) {
        if let Some(demo) = &self.demo {
            demo.take();
        }
    }
}

#[cfg(feature = "demo")]
use demo_reader::DemoIdReader;
#[cfg(not(feature = "demo"))]
use no_demo_reader::DemoIdReader;

#[cfg(feature = "demo")]
mod demo_reader {
    use crate::config::IdCardReader as IdCardReaderConfig;
    use crate::core::identity::mask_name;
    use crate::idcard::protocol::CardRead;
    use crate::idcard::sim::{demo_id_cards, VirtualIdReader};

    /// The demo tray's ID cards on the virtual reader.
    pub struct DemoIdReader {
        reader: VirtualIdReader,
        cards: Vec<CardRead>,
    }

    impl DemoIdReader {
        pub fn start(config: &IdCardReaderConfig) -> Option<DemoIdReader> {
            if config.port != "sim" {
                return None;
            }
            match VirtualIdReader::start() {
                Ok(reader) => Some(DemoIdReader {
                    reader,
                    cards: demo_id_cards(),
                }),
                Err(error) => {
                    tracing::error!(%error, "cannot start the virtual ID card reader");
                    None
                }
            }
        }

        pub fn path(&self) -> &str {
            self.reader.path()
        }

        pub fn labels(&self) -> Vec<String> {
            self.cards
                .iter()
                .map(|card| mask_name(&card.text.name))
                .collect()
        }

        pub fn place(&self, index: usize) {
            if let Some(card) = self.cards.get(index) {
                self.reader.place(card.clone());
            }
        }

        pub fn take(&self) {
            self.reader.take();
        }
    }
}

#[cfg(not(feature = "demo"))]
mod no_demo_reader {
    use crate::config::IdCardReader as IdCardReaderConfig;

    /// No virtual reader in a terminal's build.
    pub enum DemoIdReader {}

    impl DemoIdReader {
        pub fn start(_config: &IdCardReaderConfig) -> Option<DemoIdReader> {
            None
        }

        pub fn path(&self) -> &str {
            match *self {}
        }

        pub fn labels(&self) -> Vec<String> {
            match *self {}
        }

        pub fn place(&self, _index: usize) {
            match *self {}
        }

        pub fn take(&self) {
            match *self {}
        }
    }
}
