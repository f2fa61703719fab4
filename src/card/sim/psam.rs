//! A virtual PSAM implementing the DELIVER KEY / CIPHER DATA pair documented in `card::sam`.

use zeroize::Zeroizing;

use crate::card::protocol::RKSSSE_KEY_ID;
use crate::card::sam::{cryptogram, diversify};
use crate::card::sim::card::split_apdu;
use crate::card::sim::ApduResponder;

/// A PSAM-looking ATR (T=0), distinct from the user card's.
pub const PSAM_ATR: [u8; 13] = [
    0x3B, 0x69, 0x00, 0x00, 0x50, 0x53, 0x41, 0x4D, 0x2D, 0x53, 0x49, 0x4D, 0x01,
];

pub struct VirtualPsam {
    master_key: Zeroizing<[u8; 16]>,
    delivered: Option<Zeroizing<[u8; 16]>>,
}

impl VirtualPsam {
    pub fn new(master_key: [u8; 16]) -> VirtualPsam {
        VirtualPsam {
            master_key: Zeroizing::new(master_key),
            delivered: None,
        }
    }
}

impl ApduResponder for VirtualPsam {
    fn atr(&self) -> Vec<u8> {
        PSAM_ATR.to_vec()
    }

    fn reset(&mut self) {
        self.delivered = None;
    }

    fn respond(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Some(([cla, ins, p1, p2], data, le)) = split_apdu(apdu) else {
            return vec![0x67, 0x00];
        };
        match (cla, ins) {
            (0x80, 0x1A) if p1 == 0x27 => {
                if p2 != RKSSSE_KEY_ID {
                    return vec![0x6A, 0x88];
                }
                if data.len() != 16 {
                    return vec![0x67, 0x00];
                }
                self.delivered = Some(diversify(&self.master_key, data));
                vec![0x90, 0x00]
            }
            (0x80, 0xFA) => {
                let Some(key) = &self.delivered else {
                    return vec![0x69, 0x85];
                };
                let (Ok(block), Some(16)) = (<[u8; 16]>::try_from(data), le) else {
                    return vec![0x67, 0x00];
                };
                let challenge: [u8; 8] = block[..8].try_into().unwrap_or([0; 8]);
                let mut answer = cryptogram(key, &challenge).to_vec();
                answer.extend_from_slice(&[0x90, 0x00]);
                answer
            }
            (0x80 | 0x00, _) => vec![0x6D, 0x00],
            _ => vec![0x6E, 0x00],
        }
    }
}
