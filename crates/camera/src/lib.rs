//! The face camera of 养老待遇资格认证 (pension eligibility certification) and 人证比对: a
//! live preview for the resident, a quality check that says what to fix, and one JPEG still
//! for the back end, which alone judges liveness and the match.
//!
//! # How the app uses it
//!
//! - Parse the terminal's `camera = "…"` with [`CameraSpec::parse`] (`none`, `sim`,
//!   `sim:<scenario>`, `/dev/video0`, `/dev/v4l/by-id/…`) and [`CameraSpec::open`] it.
//! - Move the `Box<dyn Camera>` to one worker thread (it is `Send`, not `Sync`; one thread
//!   owns it). On the face page: [`Camera::start_preview`], then a loop at ~10 fps of
//!   [`Camera::next_frame`] → [`assess`] → send both to the event loop, where the frame
//!   becomes `SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(frame.as_rgb(), frame.width(),
//!   frame.height())` for an `Image`, with the oval outline drawn at [`GUIDE_OVAL`]. Frames
//!   arrive already mirrored, as a mirror shows a face (the elderly expect it; the guide is
//!   symmetric). Ten frames a second is enough for a face to follow and leaves the second
//!   core for Slint; `next_frame` blocks until the camera delivers, so pace the loop with a
//!   sleep rather than spinning.
//! - Map [`Quality`] to one instruction at a time (TooDark → 光线太暗, NoSubject → 请正对屏幕 /
//!   靠近一点, Blurred → 请保持不动); the core decides when to ask.
//! - On the last liveness challenge, [`Camera::capture`] takes the still: not mirrored (the
//!   back end compares with the authority photo), baseline JPEG, quality ~85, 640×480,
//!   < 1 MB. Base64 it into a zeroizing buffer, send it once, drop it. Then
//!   [`Camera::stop_preview`].
//! - [`Camera::status`] gives the XFS4IoT device state and a technician's detail for the
//!   health page and heartbeats; a camera that is `noDevice` blocks the face services.
//!
//! # Privacy
//!
//! A face never reaches a log or the disk: [`Frame`] and [`Capture`] zeroize their buffers
//! on drop and their `Debug` prints sizes only; errors and status details name paths,
//! formats and sizes, never pixels. Copies outside this crate are out of its reach: the
//! Slint pixel buffer, the JPEG encoder's and decoder's scratch memory, and the driver's
//! mmap buffers, which the kernel reuses for the next frame.
//!
//! # Real cameras
//!
//! [`V4l2Camera`] (cargo feature `v4l2`, Linux) asks for MJPG 640×480 (YUYV at that size
//! fills most of a USB 2 bus), falls back to YUYV, decodes in pure Rust. The `v4l` crate
//! generates its bindings with bindgen when built, so the feature needs libclang at build
//! time (Debian: `apt-get install libclang1-14`, 6 MB; libllvm14 comes with it); it is off
//! by default so the workspace builds without it. Terminals build with `--features v4l2`.

// Tests may unwrap; the library may not (the lint is on for it in Cargo.toml).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod codec;
mod error;
mod frame;
mod quality;
mod sim;
#[cfg(all(feature = "v4l2", target_os = "linux"))]
mod v4l2;

use std::fmt;

pub use codec::{
    decode_mjpg, decode_mjpg_sized, encode_jpeg, yuyv_to_rgb, JPEG_QUALITY, MAX_CAPTURE_BYTES,
};
pub use error::{CameraError, DecodeError, SpecError};
pub use frame::{Capture, Frame, MAX_SIDE, PREVIEW_HEIGHT, PREVIEW_WIDTH};
pub use quality::{
    assess, measure, Measures, Oval, Quality, BLURRED_BELOW, GUIDE_OVAL, SUBJECT_BELOW,
    TOO_BRIGHT_ABOVE, TOO_DARK_BELOW,
};
pub use sim::{Scenario, SimCamera, SIM_HEIGHT, SIM_WIDTH};
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub use v4l2::V4l2Camera;

/// Which camera a terminal has, from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSpec {
    /// No camera: the face services are not offered.
    None,
    /// The simulator (demo, tests), with the scenario it plays.
    Sim(Scenario),
    /// A V4L2 device node.
    Device(String),
}

impl CameraSpec {
    pub fn parse(value: &str) -> Result<CameraSpec, SpecError> {
        match value {
            "none" => return Ok(CameraSpec::None),
            "sim" => return Ok(CameraSpec::Sim(Scenario::Face)),
            _ => {}
        }
        if let Some(name) = value.strip_prefix("sim:") {
            return Scenario::from_name(name)
                .map(CameraSpec::Sim)
                .ok_or_else(|| SpecError::UnknownScenario {
                    value: value.into(),
                    scenario: name.into(),
                });
        }
        if let Some(rest) = value.strip_prefix("/dev/") {
            // Something must follow, and no way back out of /dev.
            if !rest.is_empty() && !rest.split('/').any(|part| part.is_empty() || part == "..") {
                return Ok(CameraSpec::Device(value.into()));
            }
            return Err(SpecError::NotUnderDev(value.into()));
        }
        if value.contains('/') || value.starts_with("video") {
            return Err(SpecError::NotUnderDev(value.into()));
        }
        Err(SpecError::Unknown(value.into()))
    }

    /// The camera, or `None` for `none`. A device that is not there is an error naming it.
    pub fn open(&self) -> Result<Option<Box<dyn Camera>>, CameraError> {
        match self {
            CameraSpec::None => Ok(None),
            CameraSpec::Sim(scenario) => Ok(Some(Box::new(SimCamera::new(*scenario)))),
            #[cfg(all(feature = "v4l2", target_os = "linux"))]
            CameraSpec::Device(path) => Ok(Some(Box::new(V4l2Camera::open(path)?))),
            #[cfg(not(all(feature = "v4l2", target_os = "linux")))]
            CameraSpec::Device(path) => Err(CameraError::NoV4l2Support { path: path.clone() }),
        }
    }
}

impl fmt::Display for CameraSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CameraSpec::None => f.write_str("none"),
            CameraSpec::Sim(Scenario::Face) => f.write_str("sim"),
            CameraSpec::Sim(scenario) => write!(f, "sim:{scenario}"),
            CameraSpec::Device(path) => f.write_str(path),
        }
    }
}

/// XFS4IoT `common.status.device`, the values a camera can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceState {
    Online,
    Offline,
    HardwareError,
    NoDevice,
}

impl DeviceState {
    /// The XFS4IoT spelling, for heartbeats and the technician's page.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Online => "online",
            DeviceState::Offline => "offline",
            DeviceState::HardwareError => "hardwareError",
            DeviceState::NoDevice => "noDevice",
        }
    }
}

/// The device state and a short detail for a technician (path, format, driver; never
/// anything of the resident).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraStatus {
    pub device: DeviceState,
    pub detail: String,
}

/// A face camera, owned by one worker thread.
pub trait Camera: Send {
    fn status(&self) -> CameraStatus;
    /// Starts streaming for [`Camera::next_frame`].
    fn start_preview(&mut self) -> Result<(), CameraError>;
    fn stop_preview(&mut self) -> Result<(), CameraError>;
    /// The next preview frame: RGB8, fitted into [`PREVIEW_WIDTH`] × [`PREVIEW_HEIGHT`],
    /// mirrored. Blocks until the camera delivers one (a real camera: up to 2 s).
    fn next_frame(&mut self) -> Result<Frame, CameraError>;
    /// A still at the camera's full size (640×480), not mirrored, as JPEG. Works with or
    /// without the preview running.
    fn capture(&mut self) -> Result<Capture, CameraError>;
}

/// The preview of a camera frame: fitted into 480×360 keeping its shape, then mirrored.
pub fn preview_of(raw: &Frame) -> Result<Frame, DecodeError> {
    let (w, h) = (u64::from(raw.width()), u64::from(raw.height()));
    let (pw, ph) = (u64::from(PREVIEW_WIDTH), u64::from(PREVIEW_HEIGHT));
    // The larger scale that fits both sides: width-bound when the frame is wider than 4:3.
    let (width, height) = if w * ph >= h * pw {
        (pw, (h * pw / w).max(1))
    } else {
        ((w * ph / h).max(1), ph)
    };
    Ok(raw.resized(width as u32, height as u32)?.mirrored())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_the_documented_values() {
        assert_eq!(CameraSpec::parse("none"), Ok(CameraSpec::None));
        assert_eq!(
            CameraSpec::parse("sim"),
            Ok(CameraSpec::Sim(Scenario::Face))
        );
        assert_eq!(
            CameraSpec::parse("sim:dark"),
            Ok(CameraSpec::Sim(Scenario::Dark))
        );
        assert_eq!(
            CameraSpec::parse("/dev/video0"),
            Ok(CameraSpec::Device("/dev/video0".into()))
        );
        let by_id = "/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0";
        assert_eq!(
            CameraSpec::parse(by_id),
            Ok(CameraSpec::Device(by_id.into()))
        );
        for value in ["none", "sim", "sim:blurred", "/dev/video2"] {
            assert_eq!(CameraSpec::parse(value).unwrap().to_string(), value);
        }
    }

    #[test]
    fn spec_errors_name_the_bad_value() {
        for bad in [
            "/tmp/video0",
            "video0",
            "/dev/",
            "/dev/../etc/passwd",
            "dev/video0",
            "/dev//video0",
        ] {
            let error = CameraSpec::parse(bad).unwrap_err();
            assert_eq!(error, SpecError::NotUnderDev(bad.into()));
            assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
            assert!(error.to_string().contains("/dev/"), "{error}");
        }
        let error = CameraSpec::parse("webcam").unwrap_err();
        assert!(error.to_string().contains("\"webcam\""), "{error}");
        let error = CameraSpec::parse("sim:smile").unwrap_err();
        assert!(error.to_string().contains("\"smile\""), "{error}");
        assert!(CameraSpec::parse("").is_err());
        assert!(CameraSpec::parse(" sim").is_err());
    }

    #[test]
    fn open_gives_no_camera_a_simulator_or_an_error_naming_the_device() {
        assert!(CameraSpec::None.open().unwrap().is_none());
        let sim = CameraSpec::Sim(Scenario::Face).open().unwrap().unwrap();
        assert_eq!(sim.status().device, DeviceState::Online);
        let error = CameraSpec::Device("/dev/video0".into())
            .open()
            .err()
            .unwrap();
        assert!(error.to_string().contains("/dev/video0"), "{error}");
    }

    #[test]
    fn device_states_use_the_xfs4iot_spelling() {
        assert_eq!(DeviceState::HardwareError.as_str(), "hardwareError");
        assert_eq!(DeviceState::NoDevice.as_str(), "noDevice");
    }

    #[test]
    fn preview_keeps_the_shape() {
        let wide = Frame::from_rgb(1280, 720, vec![0; 1280 * 720 * 3]).unwrap();
        let preview = preview_of(&wide).unwrap();
        assert_eq!((preview.width(), preview.height()), (480, 270));
        let vga = Frame::from_rgb(640, 480, vec![0; 640 * 480 * 3]).unwrap();
        let preview = preview_of(&vga).unwrap();
        assert_eq!((preview.width(), preview.height()), (480, 360));
    }

    #[test]
    fn cameras_are_send() {
        fn send<T: Send>() {}
        send::<Box<dyn Camera>>();
        send::<SimCamera>();
    }
}
