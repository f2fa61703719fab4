//! Social security cards (社会保障卡) over PC/SC.
//!
//! - [`protocol`]: APDUs, status words, field decoding and the read flow over a [`protocol::Transmit`]. Pure.
//! - [`sam`]: where the 3rd-generation external-authentication cryptogram comes from (PSAM, test SAM, later HSM).
//! - [`part10`]: PC/SC part 10 features (PIN pad). These three live in the `renshe-card-protocol`
//!   crate (crates/card-protocol) and are re-exported here, so its fuzz target builds without the app.
//! - [`pcsc`]: the reader service: hot-plug monitoring, reads and PIN operations on a thread of its own.
//!   The only module that calls the `pcsc` crate.
//! - [`sim`]: virtual card and PSAM behind pcscd's vpcd driver, for tests, technicians and demo mode.
//! - [`cli`]: `renshe-kiosk card read` and `renshe-kiosk card sim`.

pub mod cli;
pub mod pcsc;
#[cfg(feature = "demo")]
pub mod sim;

pub use renshe_card_protocol::{part10, protocol, sam};

#[cfg(test)]
mod protocol_tests;

pub use protocol::{CardSession, IssuerData, ProtocolError, SwError, Transmit, TransportError};
pub use sam::{LocalTestSam, PcscPsam, Sam, SamError};
