//! renshe-kiosk: the software of Chongqing's 人社 self-service terminals.
//!
//! See `ARCHITECTURE.md` for the map: a pure `core`, device and back-end adapters around it,
//! and one `shell` where they meet.

pub mod backend;
pub mod card;
pub mod config;
pub use renshe_core as core;
pub mod i18n;
pub mod idcard;
pub mod locator;
pub mod printer;
pub mod shell;
pub mod store;
pub mod ui;
