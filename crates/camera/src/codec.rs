//! Bytes in and out: a camera's YUYV and MJPG buffers to RGB frames, and frames to the JPEG
//! still the back end takes. Everything here reads outside bytes, so it returns errors and
//! never panics (fuzzed: `fuzz/fuzz_targets/camera_buffers.rs`).

use std::mem;

use zeroize::Zeroizing;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::error::{CameraError, DecodeError};
use crate::frame::{check_size, Capture, Frame, MAX_SIDE};

/// libjpeg's scale: 85 keeps skin texture and eye detail for the matcher at ~40–80 KB for
/// 640×480, far under the back ends' limits (Tencent 3 MB base64, Alibaba < 1 MB).
pub const JPEG_QUALITY: u8 = 85;
/// Alibaba's photo advice: under 1 MB. A still that comes out larger is encoded again at a
/// lower quality rather than sent.
pub const MAX_CAPTURE_BYTES: usize = 1_000_000;
const FALLBACK_QUALITIES: [u8; 2] = [70, 55];

/// YUYV 4:2:2 (Y0 U Y1 V per two pixels, BT.601 studio range as UVC cameras send it) to RGB8.
/// `stride` is the driver's bytes per line (≥ width × 2); the buffer may be longer than the
/// image (drivers report `sizeimage` with padding) but not shorter.
pub fn yuyv_to_rgb(
    bytes: &[u8],
    width: u32,
    height: u32,
    stride: usize,
) -> Result<Frame, DecodeError> {
    let pixels = check_size(width, height)?;
    if width % 2 != 0 {
        return Err(DecodeError::OddWidth(width));
    }
    let line = width as usize * 2;
    if stride < line {
        return Err(DecodeError::BadStride { stride, line });
    }
    // The last line needs only its pixels, not the padding after them.
    let needed = stride
        .checked_mul(height as usize - 1)
        .and_then(|n| n.checked_add(line))
        .ok_or(DecodeError::BadStride { stride, line })?;
    if bytes.len() < needed {
        return Err(DecodeError::ShortBuffer {
            width,
            height,
            stride,
            needed,
            got: bytes.len(),
        });
    }
    let mut rgb = Zeroizing::new(Vec::with_capacity(pixels * 3));
    for row in 0..height as usize {
        let start = row * stride;
        let Some(source) = bytes.get(start..start + line) else {
            return Err(DecodeError::ShortBuffer {
                width,
                height,
                stride,
                needed,
                got: bytes.len(),
            });
        };
        for quad in source.chunks_exact(4) {
            let (u, v) = (i32::from(quad[1]) - 128, i32::from(quad[3]) - 128);
            for y in [quad[0], quad[2]] {
                let c = 298 * (i32::from(y) - 16);
                rgb.push(clamp((c + 409 * v + 128) >> 8));
                rgb.push(clamp((c - 100 * u - 208 * v + 128) >> 8));
                rgb.push(clamp((c + 516 * u + 128) >> 8));
            }
        }
    }
    Frame::from_rgb(width, height, mem::take(&mut *rgb))
}

fn clamp(value: i32) -> u8 {
    value.clamp(0, 255) as u8
}

/// One MJPG frame (a JPEG, often without its Huffman tables, which UVC leaves out and the
/// decoder fills in) to RGB8. Sizes above [`MAX_SIDE`] are refused before allocating.
pub fn decode_mjpg(bytes: &[u8]) -> Result<Frame, DecodeError> {
    decode(bytes, None)
}

/// [`decode_mjpg`] for a stream whose size was negotiated: a frame whose header claims
/// another size is refused before anything is allocated or decoded.
pub fn decode_mjpg_sized(bytes: &[u8], width: u32, height: u32) -> Result<Frame, DecodeError> {
    decode(bytes, Some((width, height)))
}

fn decode(bytes: &[u8], expected: Option<(u32, u32)>) -> Result<Frame, DecodeError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_SIDE as usize)
        .set_max_height(MAX_SIDE as usize);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|e| DecodeError::Jpeg(e.to_string()))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| DecodeError::Jpeg("no frame header".into()))?;
    let (width, height) = (
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    );
    let pixels = check_size(width, height)?;
    if let Some((want_width, want_height)) = expected {
        if (width, height) != (want_width, want_height) {
            return Err(DecodeError::Jpeg(format!(
                "frame is {width}×{height}, the stream was set to {want_width}×{want_height}"
            )));
        }
    }
    if decoder.output_buffer_size() != Some(pixels * 3) {
        return Err(DecodeError::Jpeg("unexpected output size".into()));
    }
    // Decoded straight into a zeroizing buffer: no unzeroized copy of the face of ours.
    let mut rgb = Zeroizing::new(vec![0u8; pixels * 3]);
    decoder
        .decode_into(&mut rgb)
        .map_err(|e| DecodeError::Jpeg(e.to_string()))?;
    Frame::from_rgb(width, height, mem::take(&mut *rgb))
}

/// The still for the back end: baseline JPEG at [`JPEG_QUALITY`], lower if it would reach
/// [`MAX_CAPTURE_BYTES`].
pub fn encode_jpeg(frame: &Frame) -> Result<Capture, CameraError> {
    for quality in std::iter::once(JPEG_QUALITY).chain(FALLBACK_QUALITIES) {
        let jpeg = encode_at(frame, quality)?;
        if jpeg.len() < MAX_CAPTURE_BYTES {
            return Ok(Capture::new(frame.width(), frame.height(), jpeg));
        }
    }
    Err(CameraError::Encode(format!(
        "{}×{} is still over {MAX_CAPTURE_BYTES} bytes at quality {}",
        frame.width(),
        frame.height(),
        FALLBACK_QUALITIES[FALLBACK_QUALITIES.len() - 1]
    )))
}

fn encode_at(frame: &Frame, quality: u8) -> Result<Zeroizing<Vec<u8>>, CameraError> {
    // Sized up front so the vector never reallocates, which would leave a copy of the JPEG
    // in freed memory that zeroizing cannot reach.
    let mut jpeg = Zeroizing::new(Vec::with_capacity(
        frame.as_rgb().len().min(MAX_CAPTURE_BYTES) + 64 * 1024,
    ));
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut *jpeg, quality)
        .encode(
            frame.as_rgb(),
            frame.width(),
            frame.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| CameraError::Encode(e.to_string()))?;
    Ok(jpeg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes RGB as YUYV (BT.601 studio range), two pixels at a time sharing U and V.
    fn to_yuyv(frame: &Frame) -> Vec<u8> {
        let mut out = Vec::new();
        for pair in frame.as_rgb().chunks_exact(6) {
            let yuv = |p: &[u8]| {
                let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
                let y = 16.0 + 0.257 * r + 0.504 * g + 0.098 * b;
                let u = 128.0 - 0.148 * r - 0.291 * g + 0.439 * b;
                let v = 128.0 + 0.439 * r - 0.368 * g - 0.071 * b;
                (y, u, v)
            };
            let (y0, u0, v0) = yuv(&pair[..3]);
            let (y1, u1, v1) = yuv(&pair[3..]);
            out.extend([
                y0.round() as u8,
                ((u0 + u1) / 2.0).round() as u8,
                y1.round() as u8,
                ((v0 + v1) / 2.0).round() as u8,
            ]);
        }
        out
    }

    fn close(a: &[u8], b: &[u8], tolerance: u8) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= tolerance)
    }

    #[test]
    fn yuyv_known_colours() {
        // Studio black (16), white (235), and saturated red (Y 81, U 90, V 240).
        let black_white = [16, 128, 235, 128];
        let frame = yuyv_to_rgb(&black_white, 2, 1, 4).unwrap();
        assert_eq!(frame.as_rgb(), [0, 0, 0, 255, 255, 255]);
        let red = yuyv_to_rgb(&[81, 90, 81, 240], 2, 1, 4).unwrap();
        assert!(
            close(&red.as_rgb()[..3], &[255, 0, 0], 2),
            "{:?}",
            red.as_rgb()
        );
    }

    #[test]
    fn yuyv_round_trips_flat_colour_pairs() {
        let frame = Frame::paint(8, 4, |x, y| {
            [(x / 2 * 30) as u8, (y * 60) as u8, 200 - (x / 2 * 40) as u8]
        });
        let back = yuyv_to_rgb(&to_yuyv(&frame), 8, 4, 16).unwrap();
        assert!(close(back.as_rgb(), frame.as_rgb(), 3));
    }

    #[test]
    fn yuyv_honours_the_stride_and_ignores_padding() {
        let padded = [16, 128, 235, 128, 99, 99, 235, 128, 16, 128];
        let frame = yuyv_to_rgb(&padded, 2, 2, 6).unwrap();
        assert_eq!(
            frame.as_rgb(),
            [0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0]
        );
    }

    #[test]
    fn yuyv_refuses_what_does_not_fit() {
        assert_eq!(
            yuyv_to_rgb(&[0; 8], 640, 480, 1280),
            Err(DecodeError::ShortBuffer {
                width: 640,
                height: 480,
                stride: 1280,
                needed: 614_400,
                got: 8
            })
        );
        assert_eq!(yuyv_to_rgb(&[0; 8], 3, 1, 6), Err(DecodeError::OddWidth(3)));
        assert_eq!(
            yuyv_to_rgb(&[0; 8], 4, 1, 7),
            Err(DecodeError::BadStride { stride: 7, line: 8 })
        );
        assert!(matches!(
            yuyv_to_rgb(&[0; 8], 2, 0, 4),
            Err(DecodeError::BadSize { .. })
        ));
        assert!(yuyv_to_rgb(&[0; 8], 2, 2, usize::MAX).is_err());
    }

    #[test]
    fn our_jpeg_decodes_back_to_nearly_the_same_frame() {
        let frame = Frame::paint(64, 48, |x, y| [(x * 4) as u8, (y * 5) as u8, 128]);
        let capture = encode_jpeg(&frame).unwrap();
        assert_eq!(&capture.as_jpeg()[..2], [0xFF, 0xD8]);
        assert_eq!((capture.width(), capture.height()), (64, 48));
        let back = decode_mjpg(capture.as_jpeg()).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48));
        let worst = back
            .as_rgb()
            .iter()
            .zip(frame.as_rgb())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 16, "worst channel error {worst}");
    }

    #[test]
    fn mjpg_refuses_garbage_and_truncation() {
        assert!(matches!(decode_mjpg(&[]), Err(DecodeError::Jpeg(_))));
        assert!(matches!(
            decode_mjpg(b"not a jpeg"),
            Err(DecodeError::Jpeg(_))
        ));
        let frame = Frame::paint(32, 32, |x, y| [x as u8 * 8, y as u8 * 8, 0]);
        let jpeg = encode_jpeg(&frame).unwrap();
        // Cut in the headers: refused. (Cut in the scan, decoders may pad with grey; fine.)
        assert!(decode_mjpg(&jpeg.as_jpeg()[..20]).is_err());
    }

    #[test]
    fn a_sized_stream_refuses_frames_of_another_size() {
        let frame = Frame::paint(32, 24, |x, y| [x as u8 * 8, y as u8 * 8, 0]);
        let jpeg = encode_jpeg(&frame).unwrap();
        assert!(decode_mjpg_sized(jpeg.as_jpeg(), 32, 24).is_ok());
        let error = decode_mjpg_sized(jpeg.as_jpeg(), 640, 480).unwrap_err();
        assert!(error.to_string().contains("32×24"), "{error}");
    }
}
