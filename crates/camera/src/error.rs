//! What can go wrong, in words a technician can act on. No message carries pixels, and none
//! names a person: only paths, sizes and formats.

use crate::frame::MAX_SIDE;

/// A `camera = "…"` value that is not `none`, `sim`, `sim:<scenario>` or a path under /dev/.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("camera {0:?}: expected \"none\", \"sim\", \"sim:<scenario>\" or a device such as \"/dev/video0\"")]
    Unknown(String),
    #[error("camera {0:?}: a camera device is a path under /dev/, such as /dev/video0 or /dev/v4l/by-id/…")]
    NotUnderDev(String),
    #[error("camera {value:?}: no simulator scenario {scenario:?}; one of face, noface, dark, blurred, unplugged")]
    UnknownScenario { value: String, scenario: String },
}

/// Bytes from outside (a camera's buffer, a JPEG) that do not make a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame size {width}×{height} is outside 1..={MAX_SIDE} on a side")]
    BadSize { width: u32, height: u32 },
    #[error("{width}×{height} RGB8 needs {expected} bytes, got {got}")]
    WrongLength {
        width: u32,
        height: u32,
        expected: usize,
        got: usize,
    },
    #[error("YUYV needs an even width, got {0}")]
    OddWidth(u32),
    #[error("YUYV line stride {stride} is shorter than a line of {line} bytes")]
    BadStride { stride: usize, line: usize },
    #[error(
        "YUYV {width}×{height} at {stride} bytes a line needs {needed} bytes, the buffer has {got}"
    )]
    ShortBuffer {
        width: u32,
        height: u32,
        stride: usize,
        needed: usize,
        got: usize,
    },
    #[error("MJPG frame does not decode: {0}")]
    Jpeg(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    #[error(
        "no {path}: is the camera's USB cable in? `v4l2-ctl --list-devices` lists the cameras"
    )]
    NoDevice { path: String },
    #[error("{path}: permission denied: add the kiosk's user to the `video` group")]
    PermissionDenied { path: String },
    #[error("{path} is not a video capture device: `v4l2-ctl -d {path} --all` shows what it is")]
    NotCapture { path: String },
    #[error("{path} offers neither MJPG nor YUYV (it offers {offered}): `v4l2-ctl -d {path} --list-formats-ext`")]
    NoUsableFormat { path: String, offered: String },
    #[error("{path}: {operation} failed: {message}")]
    Io {
        path: String,
        operation: &'static str,
        message: String,
    },
    #[error("the preview is not running: start_preview first")]
    NotStreaming,
    #[error("the simulated camera is unplugged")]
    Unplugged,
    #[error("{path}: this build has no camera support (cargo feature `v4l2` of renshe-camera)")]
    NoV4l2Support { path: String },
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("JPEG encoding failed: {0}")]
    Encode(String),
}
