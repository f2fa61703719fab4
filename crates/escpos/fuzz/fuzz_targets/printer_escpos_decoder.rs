//! The virtual printer's ESC/POS decoder, fed in two arbitrary pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_escpos::decode::{EscPosDecoder, Paper};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut decoder = EscPosDecoder::new();
    let mut paper = Paper::new(32, 384);
    let mut ops = decoder.push(&data[..split]);
    ops.extend(decoder.push(&data[split..]));
    ops.extend(decoder.finish());
    for op in ops.into_iter().flatten() {
        paper.apply(op);
    }
    let _ = paper.transcript();
});
