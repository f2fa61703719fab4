//! Bytes from the camera: an MJPG frame, and a YUYV buffer with a claimed width, height and
//! stride (the first 6 bytes). Nothing may panic, and what decodes must be a whole frame
//! that the preview, the quality check and the encoder accept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_camera::{
    assess, decode_mjpg, decode_mjpg_sized, encode_jpeg, preview_of, yuyv_to_rgb, Frame,
};

fn check(frame: &Frame) {
    assert_eq!(
        frame.as_rgb().len(),
        frame.width() as usize * frame.height() as usize * 3
    );
    // Small frames only: the fuzzer's time is better spent in the parsers.
    if frame.width() as usize * frame.height() as usize <= 64 * 64 {
        if let Ok(preview) = preview_of(frame) {
            let _ = assess(&preview);
        }
        let _ = encode_jpeg(frame);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = decode_mjpg(data) {
        check(&frame);
    }
    let Some((header, bytes)) = data.split_first_chunk::<6>() else {
        return;
    };
    // As a V4L2 stream set to 640×480 (and to the claimed size) would decode it.
    let _ = decode_mjpg_sized(data, 640, 480);
    let width = u32::from(u16::from_le_bytes([header[0], header[1]]) % 1024);
    let height = u32::from(u16::from_le_bytes([header[2], header[3]]) % 1024);
    let stride = usize::from(u16::from_le_bytes([header[4], header[5]]));
    if let Ok(frame) = yuyv_to_rgb(bytes, width, height, stride) {
        check(&frame);
    }
    if let Ok(frame) = decode_mjpg_sized(bytes, width, height) {
        check(&frame);
    }
    // A claimed size far beyond the buffer must be refused, not allocated.
    let _ = yuyv_to_rgb(bytes, width * 4, height * 4, stride * 4);
});
