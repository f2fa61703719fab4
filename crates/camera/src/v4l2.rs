//! Real cameras: a UVC webcam as `/dev/videoN` through V4L2 (the `v4l` crate, mmap
//! streaming). MJPG 640×480 first — YUYV at that size and 30 fps needs 18.4 MB/s of USB 2's
//! ~24.6 — then YUYV. Decoding and conversion are this crate's pure, fuzzed functions.

use std::io;
use std::path::Path;
use std::time::Duration;

use v4l::buffer::Type;
use v4l::capability::Flags;
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::capture::Parameters;
use v4l::video::Capture as _;
use v4l::{Device, FourCC};

use crate::codec::{decode_mjpg_sized, encode_jpeg, yuyv_to_rgb};
use crate::error::CameraError;
use crate::frame::{check_size, Capture, Frame};
use crate::{preview_of, Camera, CameraStatus, DeviceState};

const MJPG: [u8; 4] = *b"MJPG";
const YUYV: [u8; 4] = *b"YUYV";
const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
/// 15 fps leaves exposure room in a dim hall and is still more than the 10 fps preview.
const FPS: u32 = 15;
const BUFFERS: u32 = 4;
/// A camera that stops delivering must not hang the worker thread for ever.
const FRAME_TIMEOUT: Duration = Duration::from_secs(2);
/// Frames dropped after starting a stream only for a still, while auto exposure settles.
const WARM_UP_FRAMES: usize = 5;

// Linux errno values (asm-generic), to tell an unplugged camera from a broken one.
const ENOENT: i32 = 2;
const ENXIO: i32 = 6;
const EACCES: i32 = 13;
const ENODEV: i32 = 19;
/// Some character devices that are not V4L2 answer an unknown ioctl with EINVAL.
const EINVAL: i32 = 22;
const ENOTTY: i32 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Mjpg,
    Yuyv { stride: usize },
}

pub struct V4l2Camera {
    path: String,
    device: Device,
    wire: Wire,
    width: u32,
    height: u32,
    /// Driver and product name (`uvcvideo "HD Pro Webcam C920"`), for the technician.
    model: String,
    stream: Option<Stream<'static>>,
    state: DeviceState,
    problem: Option<String>,
}

impl std::fmt::Debug for V4l2Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "V4l2Camera({})", self.detail())
    }
}

impl V4l2Camera {
    /// Opens and configures the camera; errors name the path and what to check.
    pub fn open(path: &str) -> Result<V4l2Camera, CameraError> {
        let device = Device::with_path(path).map_err(|e| open_error(path, &e))?;
        let caps = device.query_caps().map_err(|e| match e.raw_os_error() {
            // Not a V4L2 node at all (a tty, /dev/null): the ioctl is unknown to it.
            Some(ENOTTY) | Some(EINVAL) => CameraError::NotCapture { path: path.into() },
            _ => io_error(path, "VIDIOC_QUERYCAP", &e),
        })?;
        if !caps.capabilities.contains(Flags::VIDEO_CAPTURE) {
            return Err(CameraError::NotCapture { path: path.into() });
        }
        let offered: Vec<FourCC> = device
            .enum_formats()
            .map_err(|e| io_error(path, "VIDIOC_ENUM_FMT", &e))?
            .into_iter()
            .map(|description| description.fourcc)
            .collect();
        let wanted = [MJPG, YUYV]
            .into_iter()
            .map(|code| FourCC::new(&code))
            .find(|code| offered.contains(code))
            .ok_or_else(|| CameraError::NoUsableFormat {
                path: path.into(),
                offered: names(&offered),
            })?;
        let mut format = device
            .format()
            .map_err(|e| io_error(path, "VIDIOC_G_FMT", &e))?;
        format.width = WIDTH;
        format.height = HEIGHT;
        format.fourcc = wanted;
        // The driver answers with what it will really send (the nearest size it has).
        let format = device
            .set_format(&format)
            .map_err(|e| io_error(path, "VIDIOC_S_FMT", &e))?;
        if format.fourcc != wanted {
            return Err(CameraError::NoUsableFormat {
                path: path.into(),
                offered: names(&offered),
            });
        }
        check_size(format.width, format.height)?;
        let wire = if wanted == FourCC::new(&MJPG) {
            Wire::Mjpg
        } else {
            Wire::Yuyv {
                stride: (format.stride as usize).max(format.width as usize * 2),
            }
        };
        // Not every camera lets the rate be set; the default rate works too.
        let _ = device.set_params(&Parameters::with_fps(FPS));
        Ok(V4l2Camera {
            path: path.into(),
            model: format!("{} {:?}", caps.driver, caps.card),
            device,
            wire,
            width: format.width,
            height: format.height,
            stream: None,
            state: DeviceState::Online,
            problem: None,
        })
    }

    fn detail(&self) -> String {
        let wire = match self.wire {
            Wire::Mjpg => "MJPG",
            Wire::Yuyv { .. } => "YUYV",
        };
        match &self.problem {
            Some(problem) => format!("{}: {problem}", self.path),
            None => format!(
                "{} {} {wire} {}×{}",
                self.path, self.model, self.width, self.height
            ),
        }
    }

    fn stream_error(&mut self, operation: &'static str, error: &io::Error) -> CameraError {
        self.stream = None;
        let gone = matches!(
            error.raw_os_error(),
            Some(ENODEV) | Some(ENXIO) | Some(ENOENT)
        );
        self.state = if gone {
            DeviceState::NoDevice
        } else {
            DeviceState::HardwareError
        };
        self.problem = Some(format!("{operation}: {error}"));
        if gone {
            CameraError::NoDevice {
                path: self.path.clone(),
            }
        } else {
            io_error(&self.path, operation, error)
        }
    }

    fn start(&mut self) -> Result<(), CameraError> {
        if self.stream.is_none() {
            match Stream::with_buffers(&self.device, Type::VideoCapture, BUFFERS) {
                Ok(mut stream) => {
                    stream.set_timeout(FRAME_TIMEOUT);
                    self.stream = Some(stream);
                }
                Err(e) => return Err(self.stream_error("VIDIOC_REQBUFS", &e)),
            }
        }
        Ok(())
    }

    /// The next frame as the camera sent it, full size, not mirrored. A frame that does not
    /// decode (a USB hiccup) is an error for that frame only; the stream goes on.
    fn next_raw(&mut self) -> Result<Frame, CameraError> {
        let (wire, width, height) = (self.wire, self.width, self.height);
        let Some(stream) = self.stream.as_mut() else {
            return Err(CameraError::NotStreaming);
        };
        let decoded = match stream.next() {
            Ok((buffer, meta)) => {
                let used = (meta.bytesused as usize).min(buffer.len());
                let bytes = &buffer[..used];
                match wire {
                    Wire::Mjpg => decode_mjpg_sized(bytes, width, height),
                    Wire::Yuyv { stride } => yuyv_to_rgb(bytes, width, height, stride),
                }
            }
            Err(e) => return Err(self.stream_error("VIDIOC_DQBUF", &e)),
        };
        self.state = DeviceState::Online;
        self.problem = None;
        Ok(decoded?)
    }
}

impl Camera for V4l2Camera {
    fn status(&self) -> CameraStatus {
        // Unplugged while idle: the node disappears before any ioctl could tell.
        if !Path::new(&self.path).exists() {
            return CameraStatus {
                device: DeviceState::NoDevice,
                detail: format!("{}: gone (USB cable?)", self.path),
            };
        }
        CameraStatus {
            device: self.state,
            detail: self.detail(),
        }
    }

    fn start_preview(&mut self) -> Result<(), CameraError> {
        self.start()
    }

    fn stop_preview(&mut self) -> Result<(), CameraError> {
        // Dropping the stream stops it (VIDIOC_STREAMOFF) and unmaps the buffers.
        self.stream = None;
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        let raw = self.next_raw()?;
        Ok(preview_of(&raw)?)
    }

    fn capture(&mut self) -> Result<Capture, CameraError> {
        let temporary = self.stream.is_none();
        if temporary {
            self.start()?;
            for _ in 0..WARM_UP_FRAMES {
                // Exposure settling: only a dead stream matters here.
                if let Err(e @ (CameraError::NoDevice { .. } | CameraError::Io { .. })) =
                    self.next_raw()
                {
                    return Err(e);
                }
            }
        }
        let raw = self.next_raw();
        if temporary {
            self.stream = None;
        }
        encode_jpeg(&raw?)
    }
}

fn open_error(path: &str, error: &io::Error) -> CameraError {
    match error.raw_os_error() {
        Some(ENOENT) | Some(ENODEV) | Some(ENXIO) => CameraError::NoDevice { path: path.into() },
        Some(EACCES) => CameraError::PermissionDenied { path: path.into() },
        _ => io_error(path, "open", error),
    }
}

fn io_error(path: &str, operation: &'static str, error: &io::Error) -> CameraError {
    CameraError::Io {
        path: path.into(),
        operation,
        message: error.to_string(),
    }
}

fn names(codes: &[FourCC]) -> String {
    if codes.is_empty() {
        return "nothing".into();
    }
    codes
        .iter()
        .map(|code| code.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // This container has no /dev/video*: only the paths that need no camera are tested here.

    #[test]
    fn a_missing_device_names_the_path_and_the_fix() {
        let error = V4l2Camera::open("/dev/video0").unwrap_err();
        assert_eq!(
            error,
            CameraError::NoDevice {
                path: "/dev/video0".into()
            }
        );
        let message = error.to_string();
        assert!(message.contains("no /dev/video0"), "{message}");
        assert!(message.contains("USB cable"), "{message}");
        assert!(message.contains("v4l2-ctl --list-devices"), "{message}");
    }

    #[test]
    fn a_node_that_is_not_a_camera_is_refused() {
        let error = V4l2Camera::open("/dev/null").unwrap_err();
        assert_eq!(
            error,
            CameraError::NotCapture {
                path: "/dev/null".into()
            }
        );
    }

    #[test]
    fn the_spec_opens_a_v4l2_camera() {
        let error = crate::CameraSpec::parse("/dev/video7")
            .unwrap()
            .open()
            .err()
            .unwrap();
        assert!(matches!(error, CameraError::NoDevice { .. }), "{error}");
    }

    #[test]
    fn the_camera_is_send() {
        fn send<T: Send>() {}
        send::<V4l2Camera>();
    }
}
