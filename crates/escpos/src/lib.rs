//! The receipt printer's protocol, pure: no I/O, no clock, no serial port. Its parsers of
//! outside bytes return errors, never panic, and each has a fuzz target (`fuzz/`).
//!
//! - [`escpos`]: receipt → ESC/POS bytes (GB18030 text, native or raster QR codes).
//! - [`decode`]: ESC/POS bytes → commands → [`decode::Paper`], as the virtual printer reads them.
//! - [`status`]: `DLE EOT` real-time replies and automatic status back frames.
//! - [`profile`]: printer models from `kiosk-config/printers.toml`.
//!
//! The app (`renshe-kiosk`) re-exports these as `printer::{escpos, status, profile}` and
//! `printer::sim`; the serial adapter and the virtual printer on a pty stay there.

pub mod decode;
pub mod escpos;
pub mod profile;
pub mod status;

pub use escpos::{encode_receipt, EscPosJob};
pub use profile::{CutKind, FlowControl, Profile, Profiles};
pub use status::{PaperLevel, PrinterState};
