//! 二代居民身份证 (resident ID card) readers: a SAM_A module on a serial line.
//!
//! - The protocol is the pure `renshe-idcard` crate (re-exported as [`protocol`]).
//! - [`serial`] is the only code that opens the reader's port: one exchange at a time, each
//!   reply read as exactly 7 + LEN bytes; `find → select → read` with retries.
//! - [`watcher`] polls the reader on a thread and reports cards placed and taken, unreadable
//!   cards and the reader's health through a callback.
//! - [`sim`] (demo) is the virtual reader on a pty that tests and demo mode talk to through
//!   the same serial adapter, with the demo residents' ID cards.
//!
//! Personal data stays in zeroizing types ([`protocol::CardText`], [`protocol::Photo`]) whose
//! `Debug` is masked; nothing here logs a name, ID number, address or photo.

pub mod cli;
pub mod serial;
#[cfg(feature = "demo")]
pub mod sim;
pub mod watcher;

pub use renshe_idcard as protocol;
pub use serial::{IdCard, IdCardReader, ReadFailure, ReaderSettings, DEFAULT_BAUD};
#[cfg(feature = "demo")]
pub use sim::{demo_id_cards, Fault, VirtualIdReader};
pub use watcher::{IdCardEvent, IdCardWatcher, ReaderHealth, WatcherSettings};
