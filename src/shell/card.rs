//! The card reader in the running kiosk: the PC/SC reader service's events and reads become
//! core events; in demo mode, the simulated card tray puts virtual cards into the real reader.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::card::pcsc::{CardEvent, ReaderConfig, ReaderService, ServiceError};
use crate::card::protocol::ProtocolError;
use crate::config::CardReader;
use crate::core::identity::{Holder, Pin};
use crate::core::{CardProblem, DeviceHealth, DeviceKind, Event, PinProblem, Ticket};
use crate::shell::demo_tray::DemoTray;
use crate::shell::events::EventSink;

/// How long one holder read may take before the resident is told the card is unreadable.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long VERIFY or CHANGE PIN may take.
const PIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The reader service plus, in demo mode, the simulated tray. Events for the core arrive on
/// `events`; the shell drains them on the UI thread.
pub struct CardReaderAdapter {
    service: Arc<ReaderService>,
    sender: EventSink,
    /// The holder read from the card in the reader, unmasked, for back-end calls only.
    /// Never shown, never logged; dropped when the card leaves or the session ends.
    holder: Arc<Mutex<Option<Holder>>>,
    tray: Option<DemoTray>,
}

impl CardReaderAdapter {
    pub fn start(config: &CardReader, sender: EventSink) -> CardReaderAdapter {
        let holder: Arc<Mutex<Option<Holder>>> = Arc::default();
        let mut reader_config = ReaderConfig::new(config.reader.clone());
        if config.sam_reader != "none" {
            reader_config = reader_config.with_sam_reader(config.sam_reader.clone());
        }
        let tray = DemoTray::start(config);
        let sam = reader_config.psam();
        let service_slot: Arc<std::sync::OnceLock<std::sync::Weak<ReaderService>>> = Arc::default();
        let on_event = {
            let sender = sender.clone();
            let service_slot = service_slot.clone();
            let holder = holder.clone();
            move |event: CardEvent| {
                let core_event = match event {
                    // pcscd answering is not a reader yet: the configured one, when it is
                    // there, is announced right after (`ReaderAvailable`), also after pcscd
                    // restarts or the reader is plugged back in.
                    CardEvent::ServiceUp => Some(Event::DeviceChanged(
                        DeviceKind::CardReader,
                        DeviceHealth::NoDevice,
                    )),
                    CardEvent::ReaderAvailable { .. } => Some(Event::DeviceChanged(
                        DeviceKind::CardReader,
                        DeviceHealth::Online,
                    )),
                    CardEvent::ServiceDown => Some(Event::DeviceChanged(
                        DeviceKind::CardReader,
                        DeviceHealth::Offline,
                    )),
                    CardEvent::ReaderGone { .. } => Some(Event::DeviceChanged(
                        DeviceKind::CardReader,
                        DeviceHealth::NoDevice,
                    )),
                    CardEvent::Removed { .. } => {
                        forget(&holder);
                        Some(Event::CardRemoved)
                    }
                    CardEvent::Inserted { .. } => {
                        // Read on a thread of its own: the monitor thread must keep watching.
                        if let Some(service) = service_slot.get().and_then(|weak| weak.upgrade()) {
                            read_in_background(service, holder.clone(), sender.clone());
                        }
                        None
                    }
                };
                if let Some(core_event) = core_event {
                    sender.send(core_event);
                }
            }
        };
        let service = Arc::new(ReaderService::spawn(reader_config, sam, on_event));
        let _ = service_slot.set(Arc::downgrade(&service));
        CardReaderAdapter {
            service,
            sender,
            holder,
            tray,
        }
    }

    /// The demo tray's buttons: the residents' masked names.
    pub fn demo_labels(&self) -> Vec<String> {
        self.tray.as_ref().map(DemoTray::labels).unwrap_or_default()
    }

    pub fn is_demo(&self) -> bool {
        self.tray.is_some()
    }

    /// Puts demo resident `index`'s card into the reader (taking out any other first).
    pub fn demo_insert(&self, index: usize) {
        if let Some(tray) = &self.tray {
            tray.insert(index);
        }
    }

    pub fn demo_take_out(&self) {
        if let Some(tray) = &self.tray {
            tray.take_out();
        }
    }

    /// Asks for a fresh read of the card in the reader.
    pub fn reread(&self) {
        read_in_background(
            self.service.clone(),
            self.holder.clone(),
            self.sender.clone(),
        );
    }

    /// VERIFY with the PIN typed on the reader's own keypad; [`Event::PinAnswered`] comes
    /// back when the resident has typed it (or the keypad timed out).
    pub fn pin_on_reader(&self, ticket: Ticket) {
        let service = self.service.clone();
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            let timeout =
                Duration::from_secs(u64::from(crate::card::pcsc::SECURE_PIN_TIMEOUT_S) + 5);
            let result = service.verify_pin_on_reader(timeout).map_err(pin_problem);
            sender.send(Event::PinAnswered { ticket, result });
        });
    }

    /// VERIFY (`new` = `None`) or CHANGE PIN on the card, off the UI thread; the card's
    /// answer comes back as [`Event::PinAnswered`]. The PINs are moved into the reader
    /// service's request and zeroized when it is done with them.
    pub fn pin(&self, ticket: Ticket, pin: Pin, new: Option<Pin>) {
        let service = self.service.clone();
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            let result = match new {
                None => service.verify_pin(pin, PIN_TIMEOUT),
                Some(new) => service.change_pin(pin, new, PIN_TIMEOUT),
            };
            sender.send(Event::PinAnswered {
                ticket,
                result: result.map_err(pin_problem),
            });
        });
    }

    /// The identified holder, for a back-end call of the current session.
    pub fn holder(&self) -> Option<Holder> {
        self.holder.lock().ok().and_then(|holder| holder.clone())
    }

    /// The session ended: nothing of the resident stays in memory.
    pub fn forget_holder(&self) {
        forget(&self.holder);
    }
}

/// The card's refusal as the core's; anything else means the card could not be asked.
fn pin_problem(error: ServiceError) -> PinProblem {
    match error {
        ServiceError::Protocol(ProtocolError::PinWrong { retries_left }) => {
            PinProblem::Wrong { retries_left }
        }
        ServiceError::Protocol(ProtocolError::PinBlocked) => PinProblem::Blocked,
        error => {
            tracing::warn!(%error, "the card did not answer a PIN command");
            PinProblem::CardFailed
        }
    }
}

fn forget(holder: &Mutex<Option<Holder>>) {
    if let Ok(mut holder) = holder.lock() {
        *holder = None;
    }
}

fn read_in_background(
    service: Arc<ReaderService>,
    holder: Arc<Mutex<Option<Holder>>>,
    sender: EventSink,
) {
    std::thread::spawn(move || {
        let secure = std::sync::atomic::AtomicBool::new(false);
        let event = read_event(service.read_holder(READ_TIMEOUT), &holder, &secure);
        let identified = matches!(event, Event::CardIdentified(_));
        if identified {
            // Before the holder: a flow that asks for the PIN at once knows where to ask.
            sender.send(Event::SecurePinEntry(
                secure.load(std::sync::atomic::Ordering::SeqCst),
            ));
        }
        sender.send(event);
    });
}

/// What a read means for the session. Only masked data leaves this function; the full
/// holder goes to `slot` for back-end calls.
fn read_event(
    result: Result<crate::card::pcsc::ReadReport, ServiceError>,
    slot: &Mutex<Option<Holder>>,
    secure_pin_entry: &std::sync::atomic::AtomicBool,
) -> Event {
    match result {
        Ok(report) => {
            tracing::info!(
                apdus = report.apdus,
                elapsed_ms = report.elapsed.as_millis() as u64,
                "card read"
            );
            let summary = report.holder.summary();
            secure_pin_entry.store(report.secure_pin_entry, std::sync::atomic::Ordering::SeqCst);
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(report.holder);
            }
            Event::CardIdentified(summary)
        }
        Err(ServiceError::Removed | ServiceError::NoCard) => Event::CardRemoved,
        Err(error) => {
            tracing::warn!(%error, "card not readable");
            let problem = match error {
                ServiceError::NeedsAuthenticationModule { .. } => {
                    CardProblem::NeedsAuthenticationModule
                }
                ServiceError::Protocol(ProtocolError::NotSocialSecurityCard) => {
                    CardProblem::NotSocialSecurityCard
                }
                ServiceError::NoReader(_)
                | ServiceError::ServiceUnavailable
                | ServiceError::Stopped => CardProblem::ReaderUnavailable,
                _ => CardProblem::Unreadable,
            };
            Event::CardUnreadable(problem)
        }
    }
}
