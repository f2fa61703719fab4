//! The WAV header of an installed clip or of espeak-ng's output: any bytes give a header
//! or an error naming the field, never a panic; a header found lies within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_voice::wav;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = wav::parse_header(data) {
        assert!(header.data_offset <= data.len());
        assert!(header.format.channels == 1 || header.format.channels == 2);
        let _ = wav::samples(&data[header.data_offset..]);
    }
});
