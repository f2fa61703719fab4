//! Arbitrary bytes as `kiosk-config/printers.toml`: the profile parser returns a located error
//! or profiles, never panics; and a profile it accepts must work: a small receipt encodes for it
//! and the virtual printer's decoder reads the bytes back without an error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use renshe_core::receipt::{Align, ReceiptBlock, TextSize, TextStyle};
use renshe_escpos::decode::{decode_all, Paper};
use renshe_escpos::escpos::encode_blocks;
use renshe_escpos::profile::Profiles;

fuzz_target!(|data: &[u8]| {
    // Lossy, so invalid UTF-8 still reaches the TOML parser (as U+FFFD) instead of being dropped.
    let text = String::from_utf8_lossy(data);
    let profiles = match Profiles::parse(&text, Path::new("printers.toml")) {
        Ok(profiles) => profiles,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let _ = profiles.names();
    let blocks = [
        ReceiptBlock::Line {
            text: "重庆市社会保险 ¥12.50".into(),
            style: TextStyle {
                align: Align::Center,
                size: TextSize::DOUBLE,
                bold: true,
            },
        },
        ReceiptBlock::Rule,
        ReceiptBlock::Qr {
            payload: "https://example.invalid/verify?r=0123456789".into(),
        },
        ReceiptBlock::Feed(2),
    ];
    for profile in &profiles.profiles {
        let job = encode_blocks(&blocks, profile)
            .expect("a short receipt encodes for an accepted profile");
        let ops = decode_all(&job.bytes).expect("the decoder reads what the encoder wrote");
        let mut paper = Paper::for_profile(profile);
        for op in ops {
            paper.apply(op);
        }
        let _ = paper.transcript();
    }
});
