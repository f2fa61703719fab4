//! Is this frame worth sending? A pure check on a preview frame, so the kiosk can say what to
//! fix ("光线太暗", "请靠近一点") before the back end spends an attempt. It is not a face
//! detector: it measures light, sharpness and whether something differs from the background
//! inside the oval the screen draws. The back end's liveness and match decide the rest.
//!
//! All figures are on BT.601 luma (0–255) of the preview frame (480×360; sharpness depends
//! on scale, so assess the preview, not the still):
//!
//! - **Light**: the mean luma inside [`GUIDE_OVAL`]. Below [`TOO_DARK_BELOW`] → `TooDark`,
//!   above [`TOO_BRIGHT_ABOVE`] → `TooBright` (a face lit from the front sits near 110–180).
//! - **Someone there**: the oval against the border bands (left and right 12 % of the frame,
//!   upper 60 %, where shoulders do not reach): `|mean_oval − mean_border|` plus how much
//!   more the oval varies than the border (eyes, brows, mouth). Below [`SUBJECT_BELOW`] →
//!   `NoSubject`: the oval looks like the wall behind it.
//! - **Sharpness**: the variance of the 4-neighbour Laplacian inside the oval. Below
//!   [`BLURRED_BELOW`] → `Blurred` (moving, too close for the focus, a smeared lens).
//!
//! Checked in that order: a dark frame is also flat and soft, and "too dark" is what to fix.
//! The thresholds are set on the simulator's scenes and rules of thumb for UVC webcams; they
//! want checking against a real terminal's camera and lighting.

use crate::frame::Frame;

/// The face guide, in fractions of the frame's width and height. The screen draws its oval
/// outline here (symmetric, so mirroring does not move it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Oval {
    pub cx: f32,
    pub cy: f32,
    pub rx: f32,
    pub ry: f32,
}

pub const GUIDE_OVAL: Oval = Oval {
    cx: 0.5,
    cy: 0.46,
    rx: 0.2,
    ry: 0.34,
};

impl Oval {
    /// Whether pixel (x, y) of a `width × height` frame lies inside.
    pub fn contains(&self, x: u32, y: u32, width: u32, height: u32) -> bool {
        let dx = ((x as f32 + 0.5) / width as f32 - self.cx) / self.rx;
        let dy = ((y as f32 + 0.5) / height as f32 - self.cy) / self.ry;
        dx * dx + dy * dy <= 1.0
    }
}

pub const TOO_DARK_BELOW: f32 = 70.0;
pub const TOO_BRIGHT_ABOVE: f32 = 210.0;
pub const SUBJECT_BELOW: f32 = 18.0;
pub const BLURRED_BELOW: f32 = 60.0;
/// The border bands: the outer 12 % on each side, over the upper 60 % of the frame.
const BAND: f32 = 0.12;
const BAND_HEIGHT: f32 = 0.6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    Good,
    TooDark,
    TooBright,
    Blurred,
    NoSubject,
}

/// The figures behind a verdict, for a technician's screen or a tuning session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measures {
    pub oval_luma: f32,
    pub border_luma: f32,
    pub oval_spread: f32,
    pub border_spread: f32,
    /// `|oval − border|` + max(0, oval spread − border spread).
    pub subject: f32,
    /// Laplacian variance inside the oval.
    pub sharpness: f32,
}

impl Measures {
    pub fn quality(&self) -> Quality {
        if self.oval_luma < TOO_DARK_BELOW {
            Quality::TooDark
        } else if self.oval_luma > TOO_BRIGHT_ABOVE {
            Quality::TooBright
        } else if self.subject < SUBJECT_BELOW {
            Quality::NoSubject
        } else if self.sharpness < BLURRED_BELOW {
            Quality::Blurred
        } else {
            Quality::Good
        }
    }
}

/// Running mean and variance (sum and sum of squares in f64: 480×360 values fit easily).
#[derive(Default)]
struct Stats {
    n: f64,
    sum: f64,
    squares: f64,
}

impl Stats {
    fn add(&mut self, value: f64) {
        self.n += 1.0;
        self.sum += value;
        self.squares += value * value;
    }

    fn mean(&self) -> f64 {
        if self.n == 0.0 {
            0.0
        } else {
            self.sum / self.n
        }
    }

    fn variance(&self) -> f64 {
        if self.n == 0.0 {
            0.0
        } else {
            (self.squares / self.n - self.mean() * self.mean()).max(0.0)
        }
    }
}

pub fn measure(frame: &Frame) -> Measures {
    let (width, height) = (frame.width(), frame.height());
    let luma = frame.luma();
    let at = |x: u32, y: u32| f64::from(luma[y as usize * width as usize + x as usize]);
    let band = (width as f32 * BAND) as u32;
    let band_rows = (height as f32 * BAND_HEIGHT) as u32;
    let (mut oval, mut border, mut laplacian) =
        (Stats::default(), Stats::default(), Stats::default());
    for y in 0..height {
        for x in 0..width {
            let value = at(x, y);
            if GUIDE_OVAL.contains(x, y, width, height) {
                oval.add(value);
                if x > 0 && y > 0 && x + 1 < width && y + 1 < height {
                    let lap =
                        at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * value;
                    laplacian.add(lap);
                }
            } else if y < band_rows && (x < band || x >= width - band) {
                border.add(value);
            }
        }
    }
    let (oval_spread, border_spread) = (oval.variance().sqrt(), border.variance().sqrt());
    let subject = (oval.mean() - border.mean()).abs() + (oval_spread - border_spread).max(0.0);
    Measures {
        oval_luma: oval.mean() as f32,
        border_luma: border.mean() as f32,
        oval_spread: oval_spread as f32,
        border_spread: border_spread as f32,
        subject: subject as f32,
        sharpness: laplacian.variance() as f32,
    }
}

/// What the resident should fix, if anything. See the module documentation for the rules.
pub fn assess(frame: &Frame) -> Quality {
    measure(frame).quality()
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 480;
    const H: u32 = 360;

    /// A plain wall of `wall` luma with, inside the guide, a disc of `face` luma carrying a
    /// checker texture of ±`texture` (features and edges: what makes a face sharp).
    fn scene(wall: u8, face: Option<u8>, texture: i16) -> Frame {
        Frame::paint(W, H, |x, y| {
            let value = match face {
                Some(face) if GUIDE_OVAL.contains(x, y, W, H) => {
                    let sign = if (x / 6 + y / 6) % 2 == 0 { 1 } else { -1 };
                    (i16::from(face) + sign * texture).clamp(0, 255) as u8
                }
                _ => wall,
            };
            [value; 3]
        })
    }

    #[test]
    fn a_lit_textured_subject_is_good() {
        let frame = scene(100, Some(160), 30);
        let measures = measure(&frame);
        assert_eq!(measures.quality(), Quality::Good, "{measures:?}");
    }

    #[test]
    fn light_below_and_above_the_thresholds() {
        assert_eq!(assess(&scene(20, Some(50), 15)), Quality::TooDark);
        assert_eq!(assess(&scene(240, Some(235), 15)), Quality::TooBright);
        // Just inside the limits passes the light check.
        assert_ne!(assess(&scene(30, Some(75), 30)), Quality::TooDark);
        assert_ne!(assess(&scene(120, Some(205), 30)), Quality::TooBright);
    }

    #[test]
    fn an_empty_wall_has_no_subject() {
        assert_eq!(assess(&scene(120, None, 0)), Quality::NoSubject);
        // Same brightness as the wall and no structure: still nobody.
        assert_eq!(assess(&scene(120, Some(122), 0)), Quality::NoSubject);
    }

    #[test]
    fn a_subject_as_bright_as_the_wall_is_found_by_its_structure() {
        let measures = measure(&scene(140, Some(140), 30));
        assert!(measures.subject >= SUBJECT_BELOW, "{measures:?}");
    }

    #[test]
    fn a_smooth_subject_is_blurred() {
        // A soft hill of light in the oval, no edges anywhere: present, lit, but no detail.
        let frame = Frame::paint(W, H, |x, y| {
            let dx = ((x as f32 + 0.5) / W as f32 - GUIDE_OVAL.cx) / GUIDE_OVAL.rx;
            let dy = ((y as f32 + 0.5) / H as f32 - GUIDE_OVAL.cy) / GUIDE_OVAL.ry;
            let hill = (1.0 - (dx * dx + dy * dy) / 2.0).max(0.0);
            [(90.0 + 90.0 * hill) as u8; 3]
        });
        let measures = measure(&frame);
        assert_eq!(measures.quality(), Quality::Blurred, "{measures:?}");
    }

    #[test]
    fn the_guide_is_symmetric_so_a_mirror_keeps_it() {
        for (x, y) in [(100, 100), (150, 60), (240, 180), (300, 300)] {
            assert_eq!(
                GUIDE_OVAL.contains(x, y, W, H),
                GUIDE_OVAL.contains(W - 1 - x, y, W, H)
            );
        }
        assert!(GUIDE_OVAL.contains(W / 2, H / 2, W, H));
        assert!(!GUIDE_OVAL.contains(5, 5, W, H));
    }
}
