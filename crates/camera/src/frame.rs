//! Pixels in memory: the preview [`Frame`] and the still [`Capture`] for the back end. Both
//! hold a face, so their buffers are zeroized on drop and their `Debug` shows sizes only.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::DecodeError;

/// The largest side accepted from outside (a camera's claimed size, a JPEG header): above the
/// 1920×1080 the back ends take at most, and small enough that a lying header costs at most
/// 12 MB (2048² RGB), not gigabytes.
pub const MAX_SIDE: u32 = 2048;

/// The preview's size: 4:3 like the camera's 640×480, small enough to convert, check and hand
/// to Slint ten times a second on a 2-core terminal.
pub const PREVIEW_WIDTH: u32 = 480;
pub const PREVIEW_HEIGHT: u32 = 360;

/// An RGB8 image, rows top to bottom, 3 bytes per pixel, no padding.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    rgb: Zeroizing<Vec<u8>>,
}

pub(crate) fn check_size(width: u32, height: u32) -> Result<usize, DecodeError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(DecodeError::BadSize { width, height });
    }
    // Cannot overflow: both sides are at most MAX_SIDE.
    Ok(width as usize * height as usize)
}

impl Frame {
    /// Wraps RGB8 pixels; the buffer must hold exactly `width × height × 3` bytes.
    pub fn from_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Result<Frame, DecodeError> {
        let rgb = Zeroizing::new(rgb);
        let pixels = check_size(width, height)?;
        if rgb.len() != pixels * 3 {
            return Err(DecodeError::WrongLength {
                width,
                height,
                expected: pixels * 3,
                got: rgb.len(),
            });
        }
        Ok(Frame { width, height, rgb })
    }

    /// A frame of the given size whose pixels come from `paint(x, y)`. Sizes are ours, not
    /// outside data: callers pass constants or sizes of frames that already exist.
    pub(crate) fn paint(
        width: u32,
        height: u32,
        mut paint: impl FnMut(u32, u32) -> [u8; 3],
    ) -> Frame {
        let mut rgb = Zeroizing::new(Vec::with_capacity(width as usize * height as usize * 3));
        for y in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(&paint(x, y));
            }
        }
        Frame { width, height, rgb }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, for `SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(frame.as_rgb(), w, h)`.
    pub fn as_rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The pixel at (x, y); the caller keeps x < width and y < height.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let at = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]]
    }

    /// Left and right swapped, as a mirror shows a face: what the resident expects to see.
    pub fn mirrored(&self) -> Frame {
        let row = self.width as usize * 3;
        let mut rgb = Zeroizing::new(Vec::with_capacity(self.rgb.len()));
        for line in self.rgb.chunks_exact(row) {
            for pixel in line.chunks_exact(3).rev() {
                rgb.extend_from_slice(pixel);
            }
        }
        Frame {
            width: self.width,
            height: self.height,
            rgb,
        }
    }

    /// Scaled to `width × height` by averaging each target pixel's footprint (a box filter:
    /// no aliasing when shrinking 640×480 to the preview, and cheap).
    pub fn resized(&self, width: u32, height: u32) -> Result<Frame, DecodeError> {
        check_size(width, height)?;
        let (sw, sh) = (self.width as usize, self.height as usize);
        let (dw, dh) = (width as usize, height as usize);
        let span = |d: usize, dn: usize, sn: usize| {
            let start = d * sn / dn;
            let end = ((d + 1) * sn / dn).max(start + 1).min(sn);
            (start, end)
        };
        let columns: Vec<(usize, usize)> = (0..dw).map(|x| span(x, dw, sw)).collect();
        let mut rgb = Zeroizing::new(Vec::with_capacity(dw * dh * 3));
        for y in 0..dh {
            let (y0, y1) = span(y, dh, sh);
            for &(x0, x1) in &columns {
                let mut sum = [0u32; 3];
                for sy in y0..y1 {
                    let line = &self.rgb[(sy * sw + x0) * 3..(sy * sw + x1) * 3];
                    for pixel in line.chunks_exact(3) {
                        sum[0] += u32::from(pixel[0]);
                        sum[1] += u32::from(pixel[1]);
                        sum[2] += u32::from(pixel[2]);
                    }
                }
                let n = ((y1 - y0) * (x1 - x0)) as u32;
                rgb.extend(sum.iter().map(|s| ((s + n / 2) / n) as u8));
            }
        }
        Ok(Frame { width, height, rgb })
    }

    /// BT.601 luma per pixel, in a zeroizing buffer (a grey face is still a face).
    pub(crate) fn luma(&self) -> Zeroizing<Vec<u8>> {
        let mut luma = Zeroizing::new(Vec::with_capacity(self.rgb.len() / 3));
        luma.extend(self.rgb.chunks_exact(3).map(|p| {
            ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128) >> 8) as u8
        }));
        luma
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({}×{} RGB8)", self.width, self.height)
    }
}

/// A still for the back end: baseline JPEG, what `ImageBase64` / `FaceContrastPicture` take.
#[derive(Clone, PartialEq, Eq)]
pub struct Capture {
    width: u32,
    height: u32,
    jpeg: Zeroizing<Vec<u8>>,
}

impl Capture {
    pub(crate) fn new(width: u32, height: u32, jpeg: Zeroizing<Vec<u8>>) -> Capture {
        Capture {
            width,
            height,
            jpeg,
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The JPEG file's bytes. Base64 them into a zeroizing string, send once, drop.
    pub fn as_jpeg(&self) -> &[u8] {
        &self.jpeg
    }

    pub fn len(&self) -> usize {
        self.jpeg.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jpeg.is_empty()
    }
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Capture({}×{} JPEG, {} bytes)",
            self.width,
            self.height,
            self.jpeg.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(width: u32, height: u32) -> Frame {
        Frame::paint(width, height, |x, y| [x as u8, y as u8, (x + y) as u8])
    }

    #[test]
    fn from_rgb_checks_the_length_and_the_size() {
        assert!(Frame::from_rgb(2, 2, vec![0; 12]).is_ok());
        assert_eq!(
            Frame::from_rgb(2, 2, vec![0; 11]),
            Err(DecodeError::WrongLength {
                width: 2,
                height: 2,
                expected: 12,
                got: 11
            })
        );
        assert_eq!(
            Frame::from_rgb(0, 2, vec![]),
            Err(DecodeError::BadSize {
                width: 0,
                height: 2
            })
        );
        assert!(Frame::from_rgb(MAX_SIDE + 1, 1, vec![]).is_err());
    }

    #[test]
    fn mirrored_swaps_left_and_right_and_twice_is_the_original() {
        let frame = ramp(5, 3);
        let mirror = frame.mirrored();
        assert_eq!(mirror.pixel(0, 1), frame.pixel(4, 1));
        assert_eq!(mirror.pixel(4, 2), frame.pixel(0, 2));
        assert_eq!(mirror.mirrored(), frame);
    }

    #[test]
    fn resized_averages_and_keeps_flat_colours() {
        let flat = Frame::paint(640, 480, |_, _| [10, 200, 30]);
        let small = flat.resized(480, 360).unwrap();
        assert_eq!((small.width(), small.height()), (480, 360));
        assert!(small.as_rgb().chunks(3).all(|p| p == [10, 200, 30]));
        // 2×2 → 1×1 is the mean of four pixels.
        let four = Frame::from_rgb(
            2,
            2,
            vec![0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100],
        )
        .unwrap();
        assert_eq!(four.resized(1, 1).unwrap().pixel(0, 0), [100, 100, 100]);
        // Growing repeats pixels.
        assert_eq!(four.resized(4, 4).unwrap().pixel(3, 0), [100, 100, 100]);
    }

    #[test]
    fn debug_shows_only_sizes() {
        let frame = Frame::from_rgb(1, 1, vec![0xAB, 0xCD, 0xEF]).unwrap();
        assert_eq!(format!("{frame:?}"), "Frame(1×1 RGB8)");
        let capture = Capture::new(1, 1, Zeroizing::new(vec![0xFF, 0xD8, 0x42]));
        assert_eq!(format!("{capture:?}"), "Capture(1×1 JPEG, 3 bytes)");
    }

    #[test]
    fn luma_follows_bt601() {
        let frame = Frame::from_rgb(3, 1, vec![255, 255, 255, 0, 0, 0, 255, 0, 0]).unwrap();
        assert_eq!(*frame.luma(), vec![255, 0, 77]);
    }
}
