//! Printer status bytes (DLE EOT replies and automatic status back frames) from the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_escpos::status::{decode_asb, decode_realtime};

fuzz_target!(|data: &[u8]| {
    let sensor = data.first().is_some_and(|b| b & 1 == 1);
    let body = data.get(1..).unwrap_or_default();
    let _ = decode_realtime(body, sensor);
    let _ = decode_asb(body, sensor);
});
