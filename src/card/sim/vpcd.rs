//! The vpcd side of a virtual card: a TCP client of pcscd's vpcd driver.
//!
//! Framing: 2-byte big-endian length, then the payload. A 1-byte payload is a control code
//! (0 power off, 1 power on, 2 reset, 4 get ATR); anything longer is a command APDU. vpcd starts
//! every exchange; the card answers GET ATR and APDUs with length + payload.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::card::sim::ApduResponder;

const CTRL_POWER_OFF: u8 = 0;
const CTRL_POWER_ON: u8 = 1;
const CTRL_RESET: u8 = 2;
const CTRL_GET_ATR: u8 = 4;
/// How often the slot thread looks at insert/remove requests while waiting for vpcd.
const POLL: Duration = Duration::from_millis(20);

struct SlotState {
    inserted: bool,
    connected: bool,
    shutdown: bool,
    card: Box<dyn ApduResponder>,
    apdus_answered: u64,
    /// Pull the card when this APDU number arrives, before answering it.
    pull_at_apdu: Option<u64>,
}

struct Shared {
    state: Mutex<SlotState>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // A panic while holding the lock leaves plain flags behind: still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One vpcd slot with a virtual card in it. `insert()` connects, `remove()` disconnects; while
/// inserted, a lost connection (pcscd restarted) is re-established. Dropping the slot removes the card.
pub struct SimSlot {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    port: u16,
}

enum Ended {
    Removed,
    Lost,
}

impl SimSlot {
    pub fn start(port: u16, card: Box<dyn ApduResponder>, inserted: bool) -> SimSlot {
        let shared = Arc::new(Shared {
            state: Mutex::new(SlotState {
                inserted,
                connected: false,
                shutdown: false,
                card,
                apdus_answered: 0,
                pull_at_apdu: None,
            }),
            changed: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("vpcd-slot-{port}"))
            .spawn(move || run_slot(&thread_shared, port))
            .ok();
        SimSlot {
            shared,
            thread,
            port,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn insert(&self) {
        self.shared.lock().inserted = true;
        self.shared.changed.notify_all();
    }

    /// Inserts and waits until vpcd has the connection; false if it did not within `timeout`.
    pub fn insert_and_wait(&self, timeout: Duration) -> bool {
        self.insert();
        self.wait_connected(true, timeout)
    }

    /// Removes the card and waits (up to 2 s) until the connection is closed.
    pub fn remove(&self) {
        self.shared.lock().inserted = false;
        self.shared.changed.notify_all();
        self.wait_connected(false, Duration::from_secs(2));
    }

    /// Swaps the card in the slot (the demo tray picking another resident). Remove first for a realistic swap.
    pub fn replace_card(&self, card: Box<dyn ApduResponder>) {
        self.shared.lock().card = card;
    }

    pub fn is_inserted(&self) -> bool {
        self.shared.lock().inserted
    }

    pub fn is_connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// APDUs answered since the slot started.
    pub fn apdus_answered(&self) -> u64 {
        self.shared.lock().apdus_answered
    }

    /// Pulls the card out when the `n`-th APDU from now arrives, without answering it: a card yanked mid-read.
    pub fn pull_after(&self, n: u64) {
        let mut state = self.shared.lock();
        state.pull_at_apdu = Some(state.apdus_answered + n);
    }

    pub fn wait_connected(&self, connected: bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.connected != connected {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.changed.wait_timeout(state, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }
}

impl Drop for SimSlot {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.shutdown = true;
            state.inserted = false;
        }
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run_slot(shared: &Shared, port: u16) {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        {
            let mut state = shared.lock();
            while !state.inserted && !state.shutdown {
                state = match shared.changed.wait_timeout(state, POLL * 5) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            if state.shutdown {
                return;
            }
        }
        let stream = match TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            Ok(stream) => stream,
            Err(_) => {
                // vpcd not listening yet (pcscd starting or restarting): try again shortly.
                std::thread::sleep(POLL * 5);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        quick_ack(&stream);
        if stream.set_read_timeout(Some(POLL)).is_err() {
            continue;
        }
        {
            let mut state = shared.lock();
            state.card.reset();
            state.connected = true;
        }
        shared.changed.notify_all();
        tracing::debug!(port, "virtual card connected to vpcd");
        let ended = serve(shared, stream);
        shared.lock().connected = false;
        shared.changed.notify_all();
        tracing::debug!(
            port,
            removed = matches!(ended, Ended::Removed),
            "virtual card disconnected"
        );
        if matches!(ended, Ended::Lost) {
            std::thread::sleep(POLL * 5);
        }
    }
}

/// vpcd writes a frame's length and payload separately; with Nagle on its side, a delayed ACK on
/// ours would hold every response back ~40 ms. Acknowledge at once (Linux re-arms delayed ACKs, so after every read).
fn quick_ack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

fn serve(shared: &Shared, mut stream: TcpStream) -> Ended {
    let mut buffer = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        {
            let state = shared.lock();
            if !state.inserted || state.shutdown {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                return Ended::Removed;
            }
        }
        let read = stream.read(&mut chunk);
        quick_ack(&stream);
        match read {
            Ok(0) => return Ended::Lost,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                continue
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Ended::Lost,
        }
        while buffer.len() >= 2 {
            let length = usize::from(u16::from_be_bytes([buffer[0], buffer[1]]));
            if buffer.len() < 2 + length {
                break;
            }
            let payload: Vec<u8> = buffer.drain(..2 + length).skip(2).collect();
            let answer = {
                let mut state = shared.lock();
                match payload.as_slice() {
                    [] => None,
                    [CTRL_POWER_OFF | CTRL_POWER_ON | CTRL_RESET] => {
                        state.card.reset();
                        None
                    }
                    [CTRL_GET_ATR] => Some(state.card.atr()),
                    [_] => None,
                    apdu => {
                        state.apdus_answered += 1;
                        if state
                            .pull_at_apdu
                            .is_some_and(|at| state.apdus_answered >= at)
                        {
                            state.pull_at_apdu = None;
                            state.inserted = false;
                            drop(state);
                            shared.changed.notify_all();
                            let _ = stream.shutdown(std::net::Shutdown::Both);
                            return Ended::Removed;
                        }
                        Some(state.card.respond(apdu))
                    }
                }
            };
            if let Some(answer) = answer {
                let length = u16::try_from(answer.len()).unwrap_or(u16::MAX);
                let mut frame = Vec::with_capacity(2 + answer.len());
                frame.extend_from_slice(&length.to_be_bytes());
                frame.extend_from_slice(&answer);
                if stream.write_all(&frame).is_err() {
                    return Ended::Lost;
                }
            }
        }
    }
}
