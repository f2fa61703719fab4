//! The reader service: the only code that calls the `pcsc` crate.
//!
//! Two threads, each with its own PC/SC context (a blocked `get_status_change` holds its context's
//! lock, so card calls on the same context would stall behind it):
//! - the *monitor* waits on the configured reader plus the PnP notification and emits [`CardEvent`]s;
//!   when pcscd goes away (every call then answers `NoService`) it drops the context and establishes
//!   a new one until pcscd is back;
//! - the *worker* executes requests (read, PIN) one at a time on a connection it keeps while the card
//!   stays in. Callers wait for the answer at most their timeout.
//!
//! Every wait is bounded: status changes by the poll interval, requests by the caller's timeout,
//! removal checks after a failed transmit by [`REMOVAL_CHECK`].

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};

use crate::card::part10::{
    parse_features, verify_pin_structure, Features, CM_IOCTL_GET_FEATURE_REQUEST,
};
use crate::card::protocol::{CardSession, IssuerData, ProtocolError, Transmit, TransportError};
use crate::card::sam::{PcscPsam, Sam};
use crate::core::identity::{Holder, Pin};

/// After a transmit fails, how long to watch for pcscd noticing that the card was pulled.
pub const REMOVAL_CHECK: Duration = Duration::from_millis(1500);
/// Longest short-APDU response plus status word.
const RECEIVE_BUFFER: usize = 258;

/// Which readers to use. Reader names match by substring; `"sim"` stands for the virtual readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderConfig {
    pub reader: String,
    /// The PSAM's reader, if the terminal has one.
    pub sam_reader: Option<String>,
    /// How long one `get_status_change` waits before the monitor looks at its stop flag again.
    pub poll_interval: Duration,
    /// Pause before establishing a new context after pcscd went away.
    pub reconnect_backoff: Duration,
}

impl ReaderConfig {
    pub fn new(reader: impl Into<String>) -> ReaderConfig {
        ReaderConfig {
            reader: reader.into(),
            sam_reader: None,
            poll_interval: Duration::from_millis(500),
            reconnect_backoff: Duration::from_millis(250),
        }
    }

    pub fn with_sam_reader(mut self, sam_reader: impl Into<String>) -> ReaderConfig {
        self.sam_reader = Some(sam_reader.into());
        self
    }

    /// The PSAM named by `sam_reader`, ready to hand to [`ReaderService::spawn`]. An HSM-backed
    /// [`Sam`] from the back end replaces this where terminals have no PSAM.
    pub fn psam(&self) -> Option<Box<dyn Sam>> {
        self.sam_reader
            .as_deref()
            .map(|reader| Box::new(pcsc_psam(reader)) as Box<dyn Sam>)
    }
}

/// The reader pcscd shows for vpcd's slot 0 (what the config value `"sim"` stands for).
pub const SIM_CARD_READER: &str = "Virtual PCD 00 00";
/// The reader pcscd shows for vpcd's slot 1.
pub const SIM_PSAM_READER: &str = "Virtual PCD 00 01";

/// The substring a configured reader name stands for (`"sim"` → the vpcd reader of the user card).
pub fn reader_pattern(configured: &str) -> &str {
    match configured {
        "sim" => SIM_CARD_READER,
        other => other,
    }
}

/// Like [`reader_pattern`] for the PSAM reader (`"sim"` → vpcd slot 1).
pub fn sam_reader_pattern(configured: &str) -> &str {
    match configured {
        "sim" => SIM_PSAM_READER,
        other => other,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardEvent {
    /// pcscd answers (at start and after it came back).
    ServiceUp,
    /// pcscd stopped answering; readers and cards are reported gone first.
    ServiceDown,
    ReaderAvailable {
        reader: String,
    },
    ReaderGone {
        reader: String,
    },
    Inserted {
        reader: String,
        atr: Vec<u8>,
    },
    Removed {
        reader: String,
    },
}

/// XFS4IoT-style device status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Online,
    /// The smart card service is not running.
    Offline,
    /// No reader matches the configuration.
    NoDevice,
    /// The reader reports a card it cannot talk to (mute).
    HardwareError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Present,
    NotPresent,
}

/// What this card unit can do, XFS4IoT-style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub read_holder: bool,
    /// A SAM is configured: 3rd-generation holder data can be read.
    pub third_generation: bool,
    pub pin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub device: DeviceStatus,
    pub media: Media,
    /// The matched reader's full name.
    pub reader: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the card was removed")]
    Removed,
    #[error("no card in the reader")]
    NoCard,
    #[error("no reader matching {0:?}")]
    NoReader(String),
    #[error("the smart card service (pcscd) is not available")]
    ServiceUnavailable,
    #[error("the card reader did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the reader service has stopped")]
    Stopped,
    /// A 3rd-generation card and no SAM: the issuer data is here, the holder data needs the module.
    #[error("this card needs the authentication module (PSAM or HSM) to read the holder data")]
    NeedsAuthenticationModule { issuer: Box<IssuerData> },
    #[error(transparent)]
    Protocol(ProtocolError),
}

impl From<ProtocolError> for ServiceError {
    fn from(error: ProtocolError) -> ServiceError {
        match error {
            ProtocolError::Transport(TransportError::CardRemoved) => ServiceError::Removed,
            ProtocolError::Transport(TransportError::ServiceUnavailable) => {
                ServiceError::ServiceUnavailable
            }
            ProtocolError::NeedsAuthenticationModule { issuer } => {
                ServiceError::NeedsAuthenticationModule { issuer }
            }
            other => ServiceError::Protocol(other),
        }
    }
}

fn transport_error(error: pcsc::Error) -> TransportError {
    use pcsc::Error as E;
    match error {
        E::RemovedCard | E::ResetCard | E::NoSmartcard | E::UnpoweredCard => {
            TransportError::CardRemoved
        }
        E::ReaderUnavailable | E::UnknownReader | E::NoReadersAvailable => {
            TransportError::ReaderGone
        }
        E::NoService | E::ServiceStopped | E::InvalidHandle | E::Shutdown => {
            TransportError::ServiceUnavailable
        }
        E::Timeout => TransportError::Timeout,
        other => TransportError::Other(other.to_string()),
    }
}

fn is_service_gone(error: pcsc::Error) -> bool {
    transport_error(error) == TransportError::ServiceUnavailable
}

fn matching_reader(context: &Context, pattern: &str) -> Result<Option<CString>, pcsc::Error> {
    match context.list_readers_owned() {
        Ok(readers) => Ok(readers
            .into_iter()
            .find(|name| name.to_string_lossy().contains(pattern))),
        Err(pcsc::Error::NoReadersAvailable) => Ok(None),
        Err(error) => Err(error),
    }
}

/// How long a reader's keypad waits for the PIN.
pub const SECURE_PIN_TIMEOUT_S: u8 = 30;

/// A connected card, as a [`Transmit`]. Counts the APDUs it carried.
pub struct PcscTransport {
    card: pcsc::Card,
    reader: String,
    apdus: usize,
}

impl PcscTransport {
    pub fn reader(&self) -> &str {
        &self.reader
    }

    pub fn apdus(&self) -> usize {
        self.apdus
    }

    /// The reader's Part 10 features; a reader that does not answer the request has none
    /// (vpcd, most readers without a keypad).
    pub fn features(&self) -> Features {
        let mut buffer = [0u8; 256];
        match self
            .card
            .control(u64::from(CM_IOCTL_GET_FEATURE_REQUEST), &[], &mut buffer)
        {
            Ok(answer) => parse_features(answer).unwrap_or_else(|error| {
                tracing::warn!(reader = %self.reader, %error, "reader's feature list unreadable");
                Features::default()
            }),
            Err(_) => Features::default(),
        }
    }

    /// FEATURE_VERIFY_PIN_DIRECT: the reader asks for the PIN on its keypad and sends VERIFY
    /// itself; the card's response comes back.
    fn verify_pin_direct(&mut self, timeout_s: u8) -> Result<Vec<u8>, TransportError> {
        let code = self
            .features()
            .verify_pin_direct
            .ok_or_else(|| TransportError::Other("the reader has no PIN pad".into()))?;
        self.apdus += 1;
        let mut buffer = [0u8; 64];
        match self.card.control(
            u64::from(code),
            &verify_pin_structure(timeout_s),
            &mut buffer,
        ) {
            Ok(response) => Ok(response.to_vec()),
            Err(error) => Err(self.failure_after_transmit(error)),
        }
    }

    /// pcscd reports a pulled card as a generic failure first; wait (bounded) for its presence poll.
    fn failure_after_transmit(&self, error: pcsc::Error) -> TransportError {
        let mapped = transport_error(error);
        if !matches!(mapped, TransportError::Other(_)) {
            return mapped;
        }
        let deadline = Instant::now() + REMOVAL_CHECK;
        while Instant::now() < deadline {
            match self.card.status2_owned() {
                Ok(status) if status.status().contains(pcsc::Status::PRESENT) => {}
                Ok(_) => return TransportError::CardRemoved,
                Err(error) => match transport_error(error) {
                    TransportError::Other(_) => {}
                    known => return known,
                },
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        mapped
    }
}

impl Transmit for PcscTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.apdus += 1;
        let mut buffer = [0u8; RECEIVE_BUFFER];
        match self.card.transmit(command, &mut buffer) {
            // vpcd answers an empty response when the card vanished mid-exchange.
            Ok(response) if response.len() < 2 => {
                Err(self.failure_after_transmit(pcsc::Error::NotTransacted))
            }
            Ok(response) => Ok(response.to_vec()),
            Err(error) => Err(self.failure_after_transmit(error)),
        }
    }
}

/// Connects to the first reader matching `pattern` (shared mode, T=0 or T=1).
pub fn connect(context: &Context, pattern: &str) -> Result<PcscTransport, TransportError> {
    let reader = matching_reader(context, pattern)
        .map_err(transport_error)?
        .ok_or(TransportError::ReaderGone)?;
    let card = context
        .connect(&reader, ShareMode::Shared, Protocols::ANY)
        .map_err(transport_error)?;
    Ok(PcscTransport {
        card,
        reader: reader.to_string_lossy().into_owned(),
        apdus: 0,
    })
}

/// A reader connection made on first use and made again after failures (context included): for the PSAM.
pub struct LazyReader {
    pattern: String,
    context: Option<Context>,
    connection: Option<PcscTransport>,
}

impl LazyReader {
    pub fn new(pattern: impl Into<String>) -> LazyReader {
        LazyReader {
            pattern: pattern.into(),
            context: None,
            connection: None,
        }
    }

    fn connection(&mut self) -> Result<&mut PcscTransport, TransportError> {
        if self.connection.is_none() {
            let context = match self.context.take() {
                Some(context) => context,
                None => Context::establish(Scope::User).map_err(transport_error)?,
            };
            match connect(&context, &self.pattern) {
                Ok(connection) => self.connection = Some(connection),
                Err(TransportError::ServiceUnavailable) => {
                    return Err(TransportError::ServiceUnavailable)
                }
                Err(error) => {
                    self.context = Some(context);
                    return Err(error);
                }
            }
            self.context = Some(context);
        }
        self.connection.as_mut().ok_or(TransportError::ReaderGone)
    }
}

impl Transmit for LazyReader {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let result = self.connection()?.transmit(command);
        if let Err(error) = &result {
            self.connection = None;
            if *error == TransportError::ServiceUnavailable {
                self.context = None;
            }
        }
        result
    }
}

/// The PSAM in the reader matching `configured` (`"sim"` → vpcd slot 1).
pub fn pcsc_psam(configured: &str) -> PcscPsam<LazyReader> {
    PcscPsam::new(LazyReader::new(sam_reader_pattern(configured)))
}

/// What a successful read returns besides the holder.
#[derive(Debug, Clone)]
pub struct ReadReport {
    pub holder: Holder,
    pub reader: String,
    /// APDUs sent to the user card for this read (the SAM's are not counted).
    pub apdus: usize,
    pub elapsed: Duration,
    /// The reader has a keypad for secure PIN entry (PC/SC Part 10 VERIFY_PIN_DIRECT).
    pub secure_pin_entry: bool,
}

type Reply<T> = mpsc::Sender<Result<T, ServiceError>>;

enum Request {
    ReadHolder(Reply<ReadReport>),
    VerifyPin(Pin, Reply<()>),
    VerifyPinOnReader(Reply<()>),
    ChangePin(Pin, Pin, Reply<()>),
}

struct Shared {
    status: Mutex<Status>,
    stop: AtomicBool,
    /// Bumped on every insertion/removal, so the worker never reuses a session across cards.
    card_changes: AtomicU64,
    monitor_context: Mutex<Option<Context>>,
}

impl Shared {
    fn status(&self) -> MutexGuard<'_, Status> {
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Handle to the reader service threads. Dropping it stops them.
pub struct ReaderService {
    shared: Arc<Shared>,
    requests: Option<mpsc::Sender<Request>>,
    threads: Vec<JoinHandle<()>>,
    capabilities: Capabilities,
}

impl ReaderService {
    /// Starts monitoring and the request worker. `on_event` runs on the monitor thread: keep it short
    /// (forward into a channel or the UI's event loop).
    pub fn spawn(
        config: ReaderConfig,
        sam: Option<Box<dyn Sam>>,
        on_event: impl Fn(CardEvent) + Send + 'static,
    ) -> ReaderService {
        let shared = Arc::new(Shared {
            status: Mutex::new(Status {
                device: DeviceStatus::Offline,
                media: Media::NotPresent,
                reader: None,
            }),
            stop: AtomicBool::new(false),
            card_changes: AtomicU64::new(0),
            monitor_context: Mutex::new(None),
        });
        let capabilities = Capabilities {
            read_holder: true,
            third_generation: sam.is_some(),
            pin: true,
        };
        let (requests, inbox) = mpsc::channel();
        let mut threads = Vec::new();
        let monitor_shared = Arc::clone(&shared);
        let monitor_config = config.clone();
        match std::thread::Builder::new()
            .name("card-monitor".into())
            .spawn(move || Monitor::new(monitor_config, monitor_shared, Box::new(on_event)).run())
        {
            Ok(thread) => threads.push(thread),
            Err(error) => tracing::error!(%error, "could not start the card monitor thread"),
        }
        let worker_shared = Arc::clone(&shared);
        let pattern = reader_pattern(&config.reader).to_owned();
        match std::thread::Builder::new()
            .name("card-worker".into())
            .spawn(move || {
                Worker {
                    pattern,
                    shared: worker_shared,
                    context: None,
                    connection: None,
                    sam,
                }
                .run(&inbox)
            }) {
            Ok(thread) => threads.push(thread),
            Err(error) => tracing::error!(%error, "could not start the card worker thread"),
        }
        ReaderService {
            shared,
            requests: Some(requests),
            threads,
            capabilities,
        }
    }

    pub fn status(&self) -> Status {
        self.shared.status().clone()
    }

    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn ask<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
        timeout: Duration,
    ) -> Result<T, ServiceError> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .as_ref()
            .ok_or(ServiceError::Stopped)?
            .send(make(reply))
            .map_err(|_| ServiceError::Stopped)?;
        match answer.recv_timeout(timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(ServiceError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(ServiceError::Stopped),
        }
    }

    /// Reads the holder from the card in the reader (authenticating 3rd-generation cards with the SAM).
    pub fn read_holder(&self, timeout: Duration) -> Result<ReadReport, ServiceError> {
        self.ask(Request::ReadHolder, timeout)
    }

    pub fn verify_pin(&self, pin: Pin, timeout: Duration) -> Result<(), ServiceError> {
        self.ask(|reply| Request::VerifyPin(pin, reply), timeout)
    }

    /// VERIFY with the PIN entered on the reader's keypad (only where the read said
    /// `secure_pin_entry`); waits up to `timeout` for the resident.
    pub fn verify_pin_on_reader(&self, timeout: Duration) -> Result<(), ServiceError> {
        self.ask(Request::VerifyPinOnReader, timeout)
    }

    pub fn change_pin(&self, old: Pin, new: Pin, timeout: Duration) -> Result<(), ServiceError> {
        self.ask(|reply| Request::ChangePin(old, new, reply), timeout)
    }

    /// Stops both threads and waits for them (at most about one poll interval).
    pub fn shutdown(mut self) {
        self.stop_threads();
    }

    fn stop_threads(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.requests = None;
        if let Some(context) = self
            .shared
            .monitor_context
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = context.cancel();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for ReaderService {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

struct Worker {
    pattern: String,
    shared: Arc<Shared>,
    context: Option<Context>,
    connection: Option<Connection>,
    sam: Option<Box<dyn Sam>>,
}

struct Connection {
    session: CardSession<PcscTransport>,
    /// `card_changes` when connected: a different value means another card (or none) by now.
    card_changes: u64,
}

impl Worker {
    fn run(mut self, inbox: &mpsc::Receiver<Request>) {
        while let Ok(request) = inbox.recv() {
            match request {
                Request::ReadHolder(reply) => {
                    let started = Instant::now();
                    let result = self
                        .with_session(|session, sam| {
                            let holder = session.read_holder(sam)?;
                            let features = session.transport_mut().features();
                            Ok((holder, features.verify_pin_direct.is_some()))
                        })
                        .map(|((holder, secure_pin_entry), reader, apdus)| ReadReport {
                            holder,
                            reader,
                            apdus,
                            elapsed: started.elapsed(),
                            secure_pin_entry,
                        });
                    let _ = reply.send(result);
                }
                Request::VerifyPin(pin, reply) => {
                    let result = self
                        .with_session(|session, _| session.verify_pin(&pin))
                        .map(drop);
                    let _ = reply.send(result);
                }
                Request::VerifyPinOnReader(reply) => {
                    let result = self
                        .with_session(|session, _| {
                            session.verify_pin_on_reader(|transport| {
                                transport.verify_pin_direct(SECURE_PIN_TIMEOUT_S)
                            })
                        })
                        .map(drop);
                    let _ = reply.send(result);
                }
                Request::ChangePin(old, new, reply) => {
                    let result = self
                        .with_session(|session, _| session.change_pin(&old, &new))
                        .map(drop);
                    let _ = reply.send(result);
                }
            }
        }
    }

    fn connect(&mut self) -> Result<Connection, ServiceError> {
        for _ in 0..2 {
            let context = match self.context.take() {
                Some(context) => context,
                None => {
                    Context::establish(Scope::User).map_err(|_| ServiceError::ServiceUnavailable)?
                }
            };
            let card_changes = self.shared.card_changes.load(Ordering::SeqCst);
            match connect(&context, &self.pattern) {
                Ok(transport) => {
                    self.context = Some(context);
                    return Ok(Connection {
                        session: CardSession::new(transport),
                        card_changes,
                    });
                }
                // The context predates a pcscd restart: establish a new one and try once more.
                Err(TransportError::ServiceUnavailable) => continue,
                Err(error) => {
                    self.context = Some(context);
                    return Err(match error {
                        TransportError::CardRemoved => ServiceError::NoCard,
                        TransportError::ReaderGone => ServiceError::NoReader(self.pattern.clone()),
                        other => ServiceError::Protocol(ProtocolError::Transport(other)),
                    });
                }
            }
        }
        Err(ServiceError::ServiceUnavailable)
    }

    /// Runs `operation` on the card's session, connecting if needed. A connection whose first APDU
    /// finds the card gone (card swapped between requests) is replaced once.
    fn with_session<T>(
        &mut self,
        mut operation: impl FnMut(
            &mut CardSession<PcscTransport>,
            Option<&mut dyn Sam>,
        ) -> Result<T, ProtocolError>,
    ) -> Result<(T, String, usize), ServiceError> {
        let current_changes = self.shared.card_changes.load(Ordering::SeqCst);
        if self
            .connection
            .as_ref()
            .is_some_and(|connection| connection.card_changes != current_changes)
        {
            self.connection = None;
        }
        for attempt in 0..2 {
            let mut connection = match self.connection.take() {
                Some(connection) => connection,
                None => self.connect()?,
            };
            let apdus_before = connection.session.transport_mut().apdus();
            let sam = self.sam.as_deref_mut().map(|sam| sam as &mut dyn Sam);
            let result = operation(&mut connection.session, sam);
            let apdus = connection.session.transport_mut().apdus() - apdus_before;
            match result {
                Ok(value) => {
                    let reader = connection.session.transport_mut().reader().to_owned();
                    self.connection = Some(connection);
                    return Ok((value, reader, apdus));
                }
                Err(ProtocolError::Transport(TransportError::CardRemoved))
                    if apdus <= 1 && attempt == 0 =>
                {
                    // Nothing reached the card yet: a kept connection to a card swapped since, or
                    // pcscd catching up with a quick swap. One fresh connection settles it.
                    tracing::debug!("card connection was stale, reconnecting");
                }
                Err(error @ ProtocolError::Transport(_)) => {
                    if matches!(
                        error,
                        ProtocolError::Transport(TransportError::ServiceUnavailable)
                    ) {
                        self.context = None;
                    }
                    return Err(error.into());
                }
                // Card-level failures leave the connection usable.
                Err(error) => {
                    self.connection = Some(connection);
                    return Err(error.into());
                }
            }
        }
        Err(ServiceError::Removed)
    }
}

#[derive(Debug, Clone, Copy)]
struct ReaderMemory {
    present: bool,
    event_count: u32,
}

struct Monitor {
    config: ReaderConfig,
    pattern: String,
    shared: Arc<Shared>,
    emit: Box<dyn Fn(CardEvent) + Send>,
    service_up: bool,
    readers: BTreeMap<String, ReaderMemory>,
}

enum WatchEnd {
    Stopped,
    ServiceLost,
}

impl Monitor {
    fn new(
        config: ReaderConfig,
        shared: Arc<Shared>,
        emit: Box<dyn Fn(CardEvent) + Send>,
    ) -> Monitor {
        let pattern = reader_pattern(&config.reader).to_owned();
        Monitor {
            config,
            pattern,
            shared,
            emit,
            service_up: false,
            readers: BTreeMap::new(),
        }
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    fn run(mut self) {
        let mut first_failure = true;
        while !self.stopping() {
            let context = match Context::establish(Scope::User) {
                Ok(context) => context,
                Err(error) => {
                    if first_failure {
                        tracing::warn!(%error, "smart card service unavailable");
                        first_failure = false;
                        self.set_status(DeviceStatus::Offline, None);
                    }
                    std::thread::sleep(self.config.reconnect_backoff);
                    continue;
                }
            };
            *self
                .shared
                .monitor_context
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(context.clone());
            if !self.service_up {
                self.service_up = true;
                first_failure = true;
                tracing::info!("smart card service available");
                (self.emit)(CardEvent::ServiceUp);
            }
            let end = self.watch(&context);
            *self
                .shared
                .monitor_context
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = None;
            if let WatchEnd::ServiceLost = end {
                self.service_lost();
                std::thread::sleep(self.config.reconnect_backoff);
            }
        }
    }

    fn service_lost(&mut self) {
        tracing::warn!("smart card service went away; establishing a new context");
        for (reader, memory) in std::mem::take(&mut self.readers) {
            self.forget_reader(&reader, memory);
        }
        self.service_up = false;
        self.set_status(DeviceStatus::Offline, None);
        (self.emit)(CardEvent::ServiceDown);
    }

    fn forget_reader(&self, reader: &str, memory: ReaderMemory) {
        if memory.present {
            self.shared.card_changes.fetch_add(1, Ordering::SeqCst);
            (self.emit)(CardEvent::Removed {
                reader: reader.to_owned(),
            });
        }
        (self.emit)(CardEvent::ReaderGone {
            reader: reader.to_owned(),
        });
    }

    fn set_status(&self, device: DeviceStatus, media: Option<Media>) {
        let mut status = self.shared.status();
        status.device = device;
        status.media = media.unwrap_or(Media::NotPresent);
        status.reader = self.readers.keys().next().cloned();
    }

    fn refresh_status(&self, mute: bool) {
        let device = match (self.readers.is_empty(), mute) {
            (true, _) => DeviceStatus::NoDevice,
            (false, true) => DeviceStatus::HardwareError,
            (false, false) => DeviceStatus::Online,
        };
        let present = self.readers.values().any(|memory| memory.present);
        self.set_status(
            device,
            Some(if present {
                Media::Present
            } else {
                Media::NotPresent
            }),
        );
    }

    /// Lists readers, reports the differences, then waits for changes until the reader set changes.
    fn watch(&mut self, context: &Context) -> WatchEnd {
        loop {
            if self.stopping() {
                return WatchEnd::Stopped;
            }
            let names = match context.list_readers_owned() {
                Ok(names) => names,
                Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
                Err(error) if is_service_gone(error) => return WatchEnd::ServiceLost,
                Err(error) => {
                    tracing::warn!(%error, "listing readers failed");
                    return WatchEnd::ServiceLost;
                }
            };
            let matched: Vec<String> = names
                .iter()
                .map(|name| name.to_string_lossy().into_owned())
                .filter(|name| name.contains(&self.pattern))
                .collect();
            let gone: Vec<String> = self
                .readers
                .keys()
                .filter(|known| !matched.contains(known))
                .cloned()
                .collect();
            for reader in gone {
                if let Some(memory) = self.readers.remove(&reader) {
                    self.forget_reader(&reader, memory);
                }
            }
            for reader in &matched {
                if !self.readers.contains_key(reader) {
                    self.readers.insert(
                        reader.clone(),
                        ReaderMemory {
                            present: false,
                            event_count: 0,
                        },
                    );
                    (self.emit)(CardEvent::ReaderAvailable {
                        reader: reader.clone(),
                    });
                }
            }
            self.refresh_status(false);
            match self.wait_for_changes(context, &matched) {
                Some(end) => return end,
                None => continue,
            }
        }
    }

    /// Returns `None` when the reader list must be read again.
    fn wait_for_changes(&mut self, context: &Context, matched: &[String]) -> Option<WatchEnd> {
        let mut states = vec![ReaderState::new(pcsc::PNP_NOTIFICATION(), State::UNAWARE)];
        for reader in matched {
            let name = CString::new(reader.as_bytes()).ok()?;
            states.push(ReaderState::new(name, State::UNAWARE));
        }
        let mut first_round = true;
        loop {
            if self.stopping() {
                return Some(WatchEnd::Stopped);
            }
            match context.get_status_change(self.config.poll_interval, &mut states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout | pcsc::Error::Cancelled) => continue,
                Err(pcsc::Error::UnknownReader) => return None,
                Err(error) => {
                    tracing::debug!(%error, "status change wait failed");
                    return Some(WatchEnd::ServiceLost);
                }
            }
            let mut relist = false;
            let mut reader_vanished = false;
            let mut mute = false;
            for state in &mut states {
                let event = state.event_state();
                if state.name() == pcsc::PNP_NOTIFICATION() {
                    relist |= !first_round && event.contains(State::CHANGED);
                } else if event.intersects(State::UNKNOWN | State::IGNORE) {
                    // The reader went away between listing and waiting.
                    relist = true;
                    reader_vanished = true;
                } else {
                    mute |= event.intersects(State::MUTE | State::UNAVAILABLE);
                    self.note_reader_state(state.name(), event, state.event_count(), state.atr());
                }
                state.sync_current_state();
            }
            first_round = false;
            self.refresh_status(mute);
            if relist {
                if reader_vanished {
                    // pcscd may list a dying reader a moment longer: don't spin on it.
                    std::thread::sleep(Duration::from_millis(50));
                }
                return None;
            }
        }
    }

    fn note_reader_state(&mut self, name: &CStr, event: State, event_count: u32, atr: &[u8]) {
        let reader = name.to_string_lossy().into_owned();
        let present = event.contains(State::PRESENT) && !event.contains(State::MUTE);
        let Some(memory) = self.readers.get_mut(&reader) else {
            return;
        };
        let was_present = memory.present;
        // Same presence but another event count: the card was swapped between two waits.
        let swapped = present && was_present && event_count != memory.event_count;
        *memory = ReaderMemory {
            present,
            event_count,
        };
        if was_present && (!present || swapped) {
            self.shared.card_changes.fetch_add(1, Ordering::SeqCst);
            tracing::info!(%reader, "card removed");
            (self.emit)(CardEvent::Removed {
                reader: reader.clone(),
            });
        }
        if present && (!was_present || swapped) {
            self.shared.card_changes.fetch_add(1, Ordering::SeqCst);
            tracing::info!(%reader, "card inserted");
            (self.emit)(CardEvent::Inserted {
                reader,
                atr: atr.to_vec(),
            });
        }
    }
}

/// Connects to the first reader matching `pattern` on a context of its own (for one-shot tools and tests).
pub fn connect_reader(pattern: &str) -> Result<PcscTransport, TransportError> {
    let context = Context::establish(Scope::User).map_err(transport_error)?;
    connect(&context, pattern)
}

impl PcscTransport {
    /// Sends raw bytes without any protocol handling: the baseline the benchmark compares against.
    pub fn transmit_raw(&self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut buffer = [0u8; RECEIVE_BUFFER];
        self.card
            .transmit(command, &mut buffer)
            .map(<[u8]>::to_vec)
            .map_err(transport_error)
    }
}

/// What the self-test learns from pcscd about the readers (names only; no card data but
/// the ATR, which names the card's type, not its holder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSurvey {
    /// Every reader pcscd lists.
    pub readers: Vec<String>,
    /// The first reader matching the pattern, with its card's ATR when one is in.
    pub matched: Option<SurveyedReader>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyedReader {
    pub name: String,
    /// The card's ATR (`None`: no card in).
    pub atr: Option<Vec<u8>>,
    /// pcscd calls the card mute or unpowerable.
    pub mute: bool,
}

/// Why pcscd could not be asked at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurveyError {
    #[error("the smart card service (pcscd) is not running")]
    ServiceUnavailable,
    #[error("pcscd answered: {0}")]
    Other(String),
}

/// Lists the readers on a context of its own and looks at the first one matching `pattern`
/// (`"sim"` → the virtual reader). A reader without a card is watched for up to `settle`
/// for one to appear (a PSAM is always in; vpcd's card shows after its first poll).
pub fn survey(pattern: &str, settle: Duration) -> Result<ReaderSurvey, SurveyError> {
    let failed = |error: pcsc::Error| match transport_error(error) {
        TransportError::ServiceUnavailable => SurveyError::ServiceUnavailable,
        _ => SurveyError::Other(error.to_string()),
    };
    let context = Context::establish(Scope::User).map_err(failed)?;
    let readers = match context.list_readers_owned() {
        Ok(readers) => readers,
        Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
        Err(error) => return Err(failed(error)),
    };
    let pattern = reader_pattern(pattern);
    let matched = readers
        .iter()
        .find(|name| name.to_string_lossy().contains(pattern))
        .cloned();
    let names = readers
        .iter()
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let Some(reader) = matched else {
        return Ok(ReaderSurvey {
            readers: names,
            matched: None,
        });
    };
    let mut states = [ReaderState::new(reader.clone(), State::UNAWARE)];
    let deadline = Instant::now() + settle;
    loop {
        match context.get_status_change(Duration::from_millis(100), &mut states) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(error) => return Err(failed(error)),
        }
        let event = states[0].event_state();
        let present = event.contains(State::PRESENT);
        if present || Instant::now() >= deadline {
            let mute = event.intersects(State::MUTE | State::UNPOWERED);
            return Ok(ReaderSurvey {
                readers: names,
                matched: Some(SurveyedReader {
                    name: reader.to_string_lossy().into_owned(),
                    atr: (present && !mute).then(|| states[0].atr().to_vec()),
                    mute: present && mute,
                }),
            });
        }
        states[0].sync_current_state();
    }
}
