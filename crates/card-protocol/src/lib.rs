//! The social security card's (社会保障卡) protocol, pure: no I/O, no PC/SC. Its parsers of
//! outside bytes return errors, never panic, and have a fuzz target (`fuzz/`).
//!
//! - [`protocol`]: APDUs, status words, field decoding and the read and PIN flows as a
//!   [`protocol::CardSession`] over any [`protocol::Transmit`].
//! - [`sam`]: where the 3rd-generation external-authentication cryptogram comes from (PSAM over
//!   a `Transmit`, the in-memory test SAM).
//! - [`part10`]: PC/SC part 10 features (the reader's PIN pad) and the PIN-verify structure.
//!
//! The app (`renshe-kiosk`) re-exports these as `card::{protocol, sam, part10}`; the reader
//! service and the virtual card stay there.

pub mod part10;
pub mod protocol;
pub mod sam;

pub use protocol::{CardSession, IssuerData, ProtocolError, SwError, Transmit, TransportError};
pub use sam::{LocalTestSam, PcscPsam, Sam, SamError};
