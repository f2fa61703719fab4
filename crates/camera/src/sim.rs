//! The simulated camera: scenes drawn in code (no image files), so the demo, the screens and
//! the tests run anywhere. A drawn face — oval, hair, eyes, brows, mouth, shoulders — in front
//! of a wall whose stripes drift a little from frame to frame, so the preview visibly moves.
//! Time is the frame index, never the clock: frame N of a scenario is always the same image.

use std::fmt;

use crate::codec::encode_jpeg;
use crate::error::CameraError;
use crate::frame::{Capture, Frame};
use crate::{preview_of, Camera, CameraStatus, DeviceState};

/// The simulator's frames are the size the real camera is asked for (MJPG 640×480).
pub const SIM_WIDTH: u32 = 640;
pub const SIM_HEIGHT: u32 = 480;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// One frontal face, lit, sharp: `assess` says Good.
    Face,
    /// The wall only: NoSubject.
    NoFace,
    /// The face at a third of the light: TooDark.
    Dark,
    /// The face out of focus: Blurred.
    Blurred,
    /// No camera: status noDevice, every call fails.
    Unplugged,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::Face,
        Scenario::NoFace,
        Scenario::Dark,
        Scenario::Blurred,
        Scenario::Unplugged,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Face => "face",
            Scenario::NoFace => "noface",
            Scenario::Dark => "dark",
            Scenario::Blurred => "blurred",
            Scenario::Unplugged => "unplugged",
        }
    }

    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug)]
pub struct SimCamera {
    scenario: Scenario,
    index: u64,
    previewing: bool,
}

impl SimCamera {
    pub fn new(scenario: Scenario) -> SimCamera {
        SimCamera {
            scenario,
            index: 0,
            previewing: false,
        }
    }

    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// How many frames (preview or still) this camera has produced.
    pub fn frame_index(&self) -> u64 {
        self.index
    }

    /// Frame `index` of a scenario as the camera sees it (not mirrored), 640×480.
    /// `Unplugged` draws the empty wall; its camera never shows it.
    pub fn scene(scenario: Scenario, index: u64) -> Frame {
        let t = index as f32;
        let drift = 0.012 * (t * 0.3).sin();
        let face = Face {
            cx: 0.5 + 0.01 * (t * 0.21).sin(),
            cy: 0.46 + 0.005 * (t * 0.13).sin(),
        };
        let with_face = !matches!(scenario, Scenario::NoFace | Scenario::Unplugged);
        let frame = Frame::paint(SIM_WIDTH, SIM_HEIGHT, |x, y| {
            let u = (x as f32 + 0.5) / SIM_WIDTH as f32;
            let v = (y as f32 + 0.5) / SIM_HEIGHT as f32;
            let colour = with_face
                .then(|| face.colour(u, v))
                .flatten()
                .unwrap_or_else(|| wall(u, v, drift));
            // Sensor grain, the same for the same frame index.
            let grain = (hash(x, y, index) % 9) as f32 - 4.0;
            colour.map(|c| (c + grain).clamp(0.0, 255.0) as u8)
        });
        match scenario {
            Scenario::Dark => darken(&frame, 0.3),
            Scenario::Blurred => blur(&blur(&frame, 10), 10),
            _ => frame,
        }
    }

    fn check_plugged(&self) -> Result<(), CameraError> {
        if self.scenario == Scenario::Unplugged {
            return Err(CameraError::Unplugged);
        }
        Ok(())
    }
}

impl Camera for SimCamera {
    fn status(&self) -> CameraStatus {
        match self.scenario {
            Scenario::Unplugged => CameraStatus {
                device: DeviceState::NoDevice,
                detail: "simulator: unplugged".into(),
            },
            scenario => CameraStatus {
                device: DeviceState::Online,
                detail: format!("simulator: {scenario}, {SIM_WIDTH}×{SIM_HEIGHT}"),
            },
        }
    }

    fn start_preview(&mut self) -> Result<(), CameraError> {
        self.check_plugged()?;
        self.previewing = true;
        Ok(())
    }

    fn stop_preview(&mut self) -> Result<(), CameraError> {
        self.check_plugged()?;
        self.previewing = false;
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        self.check_plugged()?;
        if !self.previewing {
            return Err(CameraError::NotStreaming);
        }
        let frame = preview_of(&SimCamera::scene(self.scenario, self.index))?;
        self.index += 1;
        Ok(frame)
    }

    fn capture(&mut self) -> Result<Capture, CameraError> {
        self.check_plugged()?;
        let capture = encode_jpeg(&SimCamera::scene(self.scenario, self.index))?;
        self.index += 1;
        Ok(capture)
    }
}

/// The face's position this frame; shapes are fixed fractions of the frame around it.
struct Face {
    cx: f32,
    cy: f32,
}

/// Inside an ellipse centred on (cx, cy) with radii (rx, ry)?
fn inside(u: f32, v: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> bool {
    let (dx, dy) = ((u - cx) / rx, (v - cy) / ry);
    dx * dx + dy * dy <= 1.0
}

const SKIN: [f32; 3] = [222.0, 178.0, 150.0];
const HAIR: [f32; 3] = [78.0, 70.0, 66.0];
const SCLERA: [f32; 3] = [235.0, 232.0, 228.0];
const PUPIL: [f32; 3] = [40.0, 32.0, 30.0];
const LIPS: [f32; 3] = [178.0, 88.0, 88.0];
const SHIRT: [f32; 3] = [58.0, 92.0, 150.0];

impl Face {
    fn colour(&self, u: f32, v: f32) -> Option<[f32; 3]> {
        let (cx, cy) = (self.cx, self.cy);
        // Shoulders, then neck, then the head on top of them.
        let head = inside(u, v, cx, cy, 0.155, 0.28);
        let hair = inside(u, v, cx, cy - 0.03, 0.17, 0.28) && v < cy - 0.11;
        if !head && !hair {
            if inside(u, v, 0.5, 1.1, 0.4, 0.36) {
                return Some(SHIRT);
            }
            if (u - cx).abs() < 0.06 && v > cy + 0.2 && v < cy + 0.36 {
                return Some(SKIN.map(|c| c * 0.85));
            }
            return None;
        }
        if hair {
            return Some(HAIR);
        }
        let (du, dv) = ((u - cx).abs(), v - cy);
        // Eyes (mirror-symmetric around the face's centre line), with brows above.
        if inside(du, dv, 0.06, -0.04, 0.028, 0.014) {
            return Some(if inside(du, dv, 0.06, -0.04, 0.011, 0.013) {
                PUPIL
            } else {
                SCLERA
            });
        }
        if inside(du, dv, 0.06, -0.085, 0.035, 0.008) {
            return Some(HAIR);
        }
        if inside(du, dv, 0.0, 0.15, 0.05, 0.016) {
            return Some(LIPS);
        }
        // The nose's shadow and a little shading towards the cheeks' edges.
        if du < 0.012 && dv > 0.0 && dv < 0.08 {
            return Some(SKIN.map(|c| c * 0.88));
        }
        let shade = 1.0 - 0.25 * (du / 0.155).powi(2);
        Some(SKIN.map(|c| c * shade))
    }
}

/// The wall: a soft vertical gradient with slow stripes that drift, and a poster at the upper
/// left (asymmetric, so a mirrored preview is visibly mirrored).
fn wall(u: f32, v: f32, drift: f32) -> [f32; 3] {
    if (0.15..0.29).contains(&(u + drift)) && (0.07..0.3).contains(&v) {
        return [196.0, 96.0, 64.0];
    }
    let stripe = 7.0 * ((u + drift) * std::f32::consts::TAU * 5.0).sin();
    let base = 128.0 - 24.0 * v + stripe;
    [base - 6.0, base, base + 8.0]
}

fn hash(x: u32, y: u32, index: u64) -> u32 {
    let mut h = (x.wrapping_mul(0x9E37_79B1))
        ^ (y.wrapping_mul(0x85EB_CA77))
        ^ (index as u32).wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h
}

fn darken(frame: &Frame, factor: f32) -> Frame {
    Frame::paint(frame.width(), frame.height(), |x, y| {
        frame.pixel(x, y).map(|c| (f32::from(c) * factor) as u8)
    })
}

/// A separable box blur of the given radius (twice makes it nearly Gaussian).
fn blur(frame: &Frame, radius: u32) -> Frame {
    let (w, h) = (frame.width(), frame.height());
    let average = |get: &dyn Fn(u32) -> [u8; 3], i: u32, n: u32| {
        let (lo, hi) = (i.saturating_sub(radius), (i + radius).min(n - 1));
        let mut sum = [0u32; 3];
        for j in lo..=hi {
            let p = get(j);
            for c in 0..3 {
                sum[c] += u32::from(p[c]);
            }
        }
        let count = hi - lo + 1;
        sum.map(|s| (s / count) as u8)
    };
    let across = Frame::paint(w, h, |x, y| average(&|j| frame.pixel(j, y), x, w));
    Frame::paint(w, h, |x, y| average(&|j| across.pixel(x, j), y, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::{assess, measure, Quality};

    #[test]
    fn each_scenario_is_assessed_as_intended_over_many_frames() {
        let expected = [
            (Scenario::Face, Quality::Good),
            (Scenario::NoFace, Quality::NoSubject),
            (Scenario::Dark, Quality::TooDark),
            (Scenario::Blurred, Quality::Blurred),
        ];
        for (scenario, quality) in expected {
            let mut camera = SimCamera::new(scenario);
            camera.start_preview().unwrap();
            for _ in 0..6 {
                let frame = camera.next_frame().unwrap();
                assert_eq!(assess(&frame), quality, "{scenario}: {:?}", measure(&frame));
            }
        }
    }

    #[test]
    fn frames_are_deterministic_and_move() {
        let first = SimCamera::scene(Scenario::Face, 7);
        assert_eq!(first, SimCamera::scene(Scenario::Face, 7));
        assert_ne!(first, SimCamera::scene(Scenario::Face, 8));
        let mut a = SimCamera::new(Scenario::Face);
        let mut b = SimCamera::new(Scenario::Face);
        a.start_preview().unwrap();
        b.start_preview().unwrap();
        for _ in 0..3 {
            assert_eq!(a.next_frame().unwrap(), b.next_frame().unwrap());
        }
        assert_eq!(a.frame_index(), 3);
    }

    #[test]
    fn preview_is_the_scene_mirrored_at_preview_size() {
        let mut camera = SimCamera::new(Scenario::NoFace);
        camera.start_preview().unwrap();
        let preview = camera.next_frame().unwrap();
        assert_eq!((preview.width(), preview.height()), (480, 360));
        let expected = SimCamera::scene(Scenario::NoFace, 0)
            .resized(480, 360)
            .unwrap()
            .mirrored();
        assert_eq!(preview, expected);
        // The poster hangs at the scene's upper left, so at the preview's upper right.
        let poster = preview.pixel(480 - 1 - 105, 60);
        assert!(poster[0] > 150 && poster[2] < 110, "{poster:?}");
    }

    #[test]
    fn preview_needs_start_and_stops() {
        let mut camera = SimCamera::new(Scenario::Face);
        assert_eq!(camera.next_frame(), Err(CameraError::NotStreaming));
        camera.start_preview().unwrap();
        assert!(camera.next_frame().is_ok());
        camera.stop_preview().unwrap();
        assert_eq!(camera.next_frame(), Err(CameraError::NotStreaming));
    }

    #[test]
    fn capture_is_a_real_jpeg_of_the_unmirrored_scene() {
        let mut camera = SimCamera::new(Scenario::Face);
        let capture = camera.capture().unwrap();
        assert_eq!((capture.width(), capture.height()), (640, 480));
        assert!(capture.len() < crate::MAX_CAPTURE_BYTES);
        let jpeg = capture.as_jpeg();
        assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
        assert_eq!(&jpeg[jpeg.len() - 2..], [0xFF, 0xD9]);
        let decoded = crate::decode_mjpg(jpeg).unwrap();
        let scene = SimCamera::scene(Scenario::Face, 0);
        // The poster's colour survives at the scene's upper left.
        let (got, want) = (decoded.pixel(140, 80), scene.pixel(140, 80));
        assert!(
            got.iter().zip(want).all(|(g, w)| g.abs_diff(w) < 20),
            "{got:?} {want:?}"
        );
    }

    #[test]
    fn unplugged_reports_no_device_and_every_call_fails() {
        let mut camera = SimCamera::new(Scenario::Unplugged);
        assert_eq!(camera.status().device, DeviceState::NoDevice);
        assert_eq!(camera.start_preview(), Err(CameraError::Unplugged));
        assert_eq!(camera.next_frame(), Err(CameraError::Unplugged));
        assert_eq!(camera.capture(), Err(CameraError::Unplugged));
        assert_eq!(camera.stop_preview(), Err(CameraError::Unplugged));
        assert_eq!(
            SimCamera::new(Scenario::Face).status().device,
            DeviceState::Online
        );
    }

    #[test]
    fn scenario_names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::from_name(scenario.name()), Some(scenario));
        }
        assert_eq!(Scenario::from_name("Face"), None);
    }
}
