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
pub mod logging;
pub mod metrics;
pub mod printer;
pub mod selftest;
pub mod shell;
pub mod store;
pub mod ui;

/// The version and the git commit this binary was built from (`-dirty` when the tree had
/// uncommitted changes): what `--version` prints and every heartbeat carries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = env!("RENSHE_GIT_COMMIT");
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RENSHE_GIT_COMMIT"),
    ")"
);
