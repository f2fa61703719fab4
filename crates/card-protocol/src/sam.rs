//! Secure access modules: where the RKSSSE external-authentication cryptogram comes from.
//!
//! Production keys never leave a SAM: a PSAM card in a second reader ([`PcscPsam`]) or, later, the
//! back end's hardware security module. [`LocalTestSam`] holds a *test* key in memory for unit tests
//! and demo mode.
//!
//! # Extension point: the back-end HSM
//! Implement [`Sam`] for a type that posts `{card_identification, challenge}` to the back end's
//! HSM endpoint and returns the 16-byte cryptogram (map HTTP failures to [`SamError::Unavailable`],
//! refusals to [`SamError::Refused`]). The card code only ever sees `&mut dyn Sam`.
//!
//! # The cryptogram
//! `key = SM4(master, card_identification)` (the 16-byte EF05 tag 01 as one block: per-card
//! diversification), `cryptogram = SM4(key, challenge ‖ 00×8)`. The virtual card, the virtual
//! PSAM and [`LocalTestSam`] all compute it this way.
//!
//! # PSAM APDUs (this project's PSAM application; the virtual PSAM in `sim` implements them)
//! 1. DELIVER KEY — diversify RKSSSE for this card: `80 1A 27 <key id 0A> 10 <card identification, 16 bytes>`
//!    → `9000`. Wrong length → `6700`; unknown key id → `6A88`.
//! 2. CIPHER DATA — encrypt with the delivered key: `80 FA 00 00 10 <challenge ‖ 00×8> 10`
//!    → `<16-byte cryptogram> 9000` (or `61 10`, then GET RESPONSE). Without DELIVER KEY first → `6985`.

use std::fmt;

use sm4::cipher::{Array, BlockCipherEncrypt, KeyInit};
use sm4::Sm4;
use zeroize::Zeroizing;

use crate::protocol::{self, CommandApdu, ProtocolError, Step, SwOutcome, Transmit};

/// The SM4 key used by the virtual card, the virtual PSAM and [`LocalTestSam`]. A test key: it opens nothing real.
pub const TEST_RKSSSE_MASTER_KEY: [u8; 16] = *b"renshe-test-key!";

#[derive(Debug, thiserror::Error)]
pub enum SamError {
    #[error("no authentication module is available: {0}")]
    Unavailable(String),
    #[error("the authentication module refused: {0}")]
    Refused(String),
    #[error("the authentication module answered badly: {0}")]
    Malformed(String),
}

/// Gives the 16-byte RKSSSE external-authentication cryptogram for a card's challenge.
pub trait Sam: Send {
    fn external_auth_cryptogram(
        &mut self,
        card_identification: &[u8],
        challenge: &[u8; 8],
    ) -> Result<[u8; 16], SamError>;
}

impl<S: Sam + ?Sized> Sam for Box<S> {
    fn external_auth_cryptogram(
        &mut self,
        card_identification: &[u8],
        challenge: &[u8; 8],
    ) -> Result<[u8; 16], SamError> {
        (**self).external_auth_cryptogram(card_identification, challenge)
    }
}

fn sm4_encrypt_block(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let cipher = Sm4::new(&Array::from(*key));
    let mut block = Array::from(*block);
    cipher.encrypt_block(&mut block);
    block.into()
}

/// The per-card RKSSSE key: SM4 of the card identification (padded/truncated to one block) under the master key.
pub fn diversify(master_key: &[u8; 16], card_identification: &[u8]) -> Zeroizing<[u8; 16]> {
    let mut block = [0xFF; 16];
    let length = card_identification.len().min(16);
    block[..length].copy_from_slice(&card_identification[..length]);
    Zeroizing::new(sm4_encrypt_block(master_key, &block))
}

/// `SM4(card key, challenge ‖ 00×8)`.
pub fn cryptogram(card_key: &[u8; 16], challenge: &[u8; 8]) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..8].copy_from_slice(challenge);
    sm4_encrypt_block(card_key, &block)
}

/// A SAM in memory with a test key. For tests and demo mode only.
pub struct LocalTestSam {
    master_key: Zeroizing<[u8; 16]>,
}

impl LocalTestSam {
    pub fn new(master_key: [u8; 16]) -> LocalTestSam {
        LocalTestSam {
            master_key: Zeroizing::new(master_key),
        }
    }

    pub fn with_test_key() -> LocalTestSam {
        LocalTestSam::new(TEST_RKSSSE_MASTER_KEY)
    }
}

impl fmt::Debug for LocalTestSam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalTestSam(<key redacted>)")
    }
}

impl Sam for LocalTestSam {
    fn external_auth_cryptogram(
        &mut self,
        card_identification: &[u8],
        challenge: &[u8; 8],
    ) -> Result<[u8; 16], SamError> {
        Ok(cryptogram(
            &diversify(&self.master_key, card_identification),
            challenge,
        ))
    }
}

/// `80 1A 27 0A 10 <card identification>`.
pub fn deliver_key(key_id: u8, card_identification: &[u8; 16]) -> CommandApdu {
    protocol::CommandApdu::from_parts([0x80, 0x1A, 0x27, key_id], card_identification, None)
}

/// `80 FA 00 00 10 <challenge ‖ 00×8> 10`.
pub fn cipher_data(challenge: &[u8; 8]) -> CommandApdu {
    let mut block = [0u8; 16];
    block[..8].copy_from_slice(challenge);
    protocol::CommandApdu::from_parts([0x80, 0xFA, 0x00, 0x00], &block, Some(16))
}

/// A PSAM card in a second PC/SC reader, reached through any [`Transmit`] (see `card::pcsc` for the reader side).
pub struct PcscPsam<T: Transmit + Send> {
    transport: T,
}

impl<T: Transmit + Send> PcscPsam<T> {
    pub fn new(transport: T) -> PcscPsam<T> {
        PcscPsam { transport }
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    fn run(&mut self, command: &CommandApdu, name: &str) -> Result<Vec<u8>, SamError> {
        let response = protocol::exchange(&mut self.transport, command, Step::ExternalAuthenticate)
            .map_err(|error| match error {
                ProtocolError::Transport(transport) => SamError::Unavailable(transport.to_string()),
                other => SamError::Malformed(other.to_string()),
            })?;
        match response.sw.outcome() {
            SwOutcome::Ok => Ok(response.data),
            SwOutcome::Failed(error) => Err(SamError::Refused(format!("{name}: {error}"))),
            _ => Err(SamError::Malformed(format!("{name}: unresolved 61xx/6Cxx"))),
        }
    }
}

impl<T: Transmit + Send> Sam for PcscPsam<T> {
    fn external_auth_cryptogram(
        &mut self,
        card_identification: &[u8],
        challenge: &[u8; 8],
    ) -> Result<[u8; 16], SamError> {
        let identification: [u8; 16] = card_identification.try_into().map_err(|_| {
            SamError::Refused(format!(
                "card identification has {} bytes",
                card_identification.len()
            ))
        })?;
        self.run(
            &deliver_key(protocol::RKSSSE_KEY_ID, &identification),
            "DELIVER KEY",
        )?;
        let data = self.run(&cipher_data(challenge), "CIPHER DATA")?;
        data.get(..16)
            .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
            .ok_or_else(|| SamError::Malformed(format!("cryptogram has {} bytes", data.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm4_matches_the_gmt_0002_vector() {
        let key = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54,
            0x32, 0x10,
        ];
        let expected = [
            0x68, 0x1E, 0xDF, 0x34, 0xD2, 0x06, 0x96, 0x5E, 0x86, 0xB3, 0xE9, 0x4F, 0x53, 0x6E,
            0x42, 0x46,
        ];
        assert_eq!(sm4_encrypt_block(&key, &key), expected);
    }

    #[test]
    fn cryptogram_depends_on_card_and_challenge() {
        let mut sam = LocalTestSam::with_test_key();
        let card_a = [0x11u8; 16];
        let card_b = [0x22u8; 16];
        let first = sam
            .external_auth_cryptogram(&card_a, &[1; 8])
            .expect("local sam");
        assert_eq!(
            first,
            cryptogram(&diversify(&TEST_RKSSSE_MASTER_KEY, &card_a), &[1; 8])
        );
        assert_ne!(
            first,
            sam.external_auth_cryptogram(&card_b, &[1; 8])
                .expect("local sam")
        );
        assert_ne!(
            first,
            sam.external_auth_cryptogram(&card_a, &[2; 8])
                .expect("local sam")
        );
        assert_eq!(format!("{sam:?}"), "LocalTestSam(<key redacted>)");
    }
}
