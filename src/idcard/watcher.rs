//! The watcher: a thread that polls the reader and reports what happens on it.
//!
//! Every `poll` (500 ms, as hev-idcard-reader does) it asks find card; a found card is
//! selected and read once and reported [`IdCardEvent::Placed`]. The card must then leave the
//! field (find answers 80) before another is read: that is [`IdCardEvent::Taken`]. A card
//! that fails `attempts` times in a row is reported [`IdCardEvent::Unreadable`] once, and
//! its leaving is `Taken` too. The SAM's status is checked every `status_every` (3 s) and
//! whenever the reader stopped answering; changes come as [`IdCardEvent::Health`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::idcard::protocol::Status;
use crate::idcard::serial::{IdCard, IdCardReader, ReadFailure, ReaderSettings};

/// The reader as the kiosk's device status shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReaderHealth {
    /// The SAM answers and passed its self-test.
    Online,
    /// The port is there but the module does not answer, answers garbage, or its SAM failed.
    Offline,
    /// The port cannot be opened (unplugged, wrong path, no permission).
    NoDevice,
}

/// What the watcher reports. `Placed` carries the card (zeroized when dropped; `Debug` masked).
#[derive(Debug)]
pub enum IdCardEvent {
    Placed(Box<IdCard>),
    /// The card that was reported (placed or unreadable) has left the field.
    Taken,
    Unreadable(ReadFailure),
    Health(ReaderHealth),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherSettings {
    pub reader: ReaderSettings,
    pub poll: Duration,
    pub status_every: Duration,
}

impl WatcherSettings {
    pub fn new(reader: ReaderSettings) -> WatcherSettings {
        WatcherSettings {
            reader,
            poll: Duration::from_millis(500),
            status_every: Duration::from_secs(3),
        }
    }
}

/// The polling thread; stops when dropped or shut down.
pub struct IdCardWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl IdCardWatcher {
    pub fn spawn(
        settings: WatcherSettings,
        on_event: impl FnMut(IdCardEvent) + Send + 'static,
    ) -> std::io::Result<IdCardWatcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("idcard-watcher".into())
                .spawn(move || Watch::new(settings, on_event).run(&stop))?
        };
        Ok(IdCardWatcher {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops polling and waits for the thread (at most one exchange with the reader).
    pub fn shutdown(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for IdCardWatcher {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

struct Watch<F> {
    reader: IdCardReader,
    settings: WatcherSettings,
    on_event: F,
    health: Option<ReaderHealth>,
    last_status: Option<Instant>,
    /// A card was reported (placed or unreadable) and has not left yet.
    holding: bool,
    failures: u32,
}

impl<F: FnMut(IdCardEvent)> Watch<F> {
    fn new(settings: WatcherSettings, on_event: F) -> Watch<F> {
        Watch {
            reader: IdCardReader::new(settings.reader.clone()),
            settings,
            on_event,
            health: None,
            last_status: None,
            holding: false,
            failures: 0,
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            self.step();
            let until = Instant::now() + self.settings.poll;
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10).min(self.settings.poll));
            }
        }
    }

    fn report_health(&mut self, health: ReaderHealth) {
        if self.health != Some(health) {
            tracing::info!(?health, "ID card reader health");
            self.health = Some(health);
            (self.on_event)(IdCardEvent::Health(health));
        }
    }

    fn health_of(failure: &ReadFailure) -> ReaderHealth {
        match failure {
            ReadFailure::Port { .. } => ReaderHealth::NoDevice,
            _ => ReaderHealth::Offline,
        }
    }

    /// A problem with the reader rather than the card: re-check the SAM on the next poll.
    fn device_trouble(&mut self, failure: &ReadFailure) {
        self.report_health(Self::health_of(failure));
        self.last_status = None;
    }

    fn step(&mut self) {
        let due = self
            .last_status
            .is_none_or(|at| at.elapsed() >= self.settings.status_every);
        if due || self.health != Some(ReaderHealth::Online) {
            self.last_status = Some(Instant::now());
            let health = match self.reader.sam_status() {
                Ok(Status::Ok) => ReaderHealth::Online,
                Ok(status) => {
                    tracing::warn!(%status, "ID card reader's SAM is not healthy");
                    ReaderHealth::Offline
                }
                Err(failure) => Self::health_of(&failure),
            };
            self.report_health(health);
            if health != ReaderHealth::Online {
                return;
            }
        }
        match self.reader.find() {
            Ok(false) => {
                self.failures = 0;
                if self.holding {
                    self.holding = false;
                    (self.on_event)(IdCardEvent::Taken);
                }
            }
            Ok(true) if self.holding => {}
            Ok(true) => {
                let read = self
                    .reader
                    .select()
                    .and_then(|()| self.reader.read_selected());
                match read {
                    Ok(card) => {
                        self.failures = 0;
                        self.holding = true;
                        (self.on_event)(IdCardEvent::Placed(Box::new(card)));
                    }
                    Err(failure) if failure.is_device_problem() => self.device_trouble(&failure),
                    Err(failure) => {
                        self.failures += 1;
                        // A moving card fails a few times; say so only once it keeps failing.
                        if !failure.is_retryable() || self.failures >= self.settings.reader.attempts
                        {
                            tracing::info!(%failure, "ID card unreadable");
                            self.failures = 0;
                            self.holding = true;
                            (self.on_event)(IdCardEvent::Unreadable(failure));
                        }
                    }
                }
            }
            Err(failure) if failure.is_device_problem() => self.device_trouble(&failure),
            // A garbled find answer: ask again next time.
            Err(failure) => tracing::debug!(%failure, "find card failed"),
        }
    }
}
