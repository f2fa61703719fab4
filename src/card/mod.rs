//! Social security cards (社会保障卡) over PC/SC.
//!
//! - [`protocol`]: APDUs, status words, field decoding and the read flow over a [`protocol::Transmit`]. Pure.
//! - [`sam`]: where the 3rd-generation external-authentication cryptogram comes from (PSAM, test SAM, later HSM).
//! - [`pcsc`]: the reader service: hot-plug monitoring, reads and PIN operations on a thread of its own.
//!   The only module that calls the `pcsc` crate.
//! - [`sim`]: virtual card and PSAM behind pcscd's vpcd driver, for tests, technicians and demo mode.
//! - [`cli`]: `renshe-kiosk card read` and `renshe-kiosk card sim`.

pub mod cli;
pub mod part10;
pub mod pcsc;
pub mod protocol;
pub mod sam;
#[cfg(feature = "demo")]
pub mod sim;

pub use protocol::{CardSession, IssuerData, ProtocolError, SwError, Transmit, TransportError};
pub use sam::{LocalTestSam, PcscPsam, Sam, SamError};
