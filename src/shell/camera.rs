//! The face camera in the running kiosk. One worker thread owns the camera: it streams the
//! preview (about ten frames a second, mirrored) while a pensioner faces it, and takes the
//! stills the core asks for, each after its action has been on screen long enough to do.
//! The stills stay here, in zeroizing buffers, until the flow's certification takes them or
//! the flow ends; they never reach a log or the disk.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use renshe_camera::{assess, Camera, CameraSpec, DeviceState, Frame, Quality};
use zeroize::Zeroizing;

use crate::core::{CaptureProblem, DeviceHealth, DeviceKind, Event, LivenessAction, Ticket};
use crate::shell::events::EventSink;

/// How long an action is shown before its still is taken: time to read it and do it.
pub const ACTION_TIME: Duration = Duration::from_millis(2500);
/// The preview's pace: enough for a face to follow, and the second core stays Slint's.
const PREVIEW_EVERY: Duration = Duration::from_millis(100);

/// What the UI thread does with a preview frame (draws it; demo and tests may count it).
pub type FrameSink = Arc<dyn Fn(Frame) + Send + Sync>;

enum Job {
    Preview(bool),
    Capture {
        ticket: Ticket,
        attempt: u8,
        index: u8,
        at: Instant,
    },
}

/// Stills by (attempt, index in the challenge).
type Stills = BTreeMap<(u8, u8), Zeroizing<Vec<u8>>>;

pub struct CameraAdapter {
    jobs: Option<Sender<Job>>,
    stills: Arc<Mutex<Stills>>,
    preview: std::cell::Cell<bool>,
    action_time: Duration,
}

impl CameraAdapter {
    /// Opens the configured camera on its worker thread and tells the core its health; with
    /// `none` (or a camera that cannot be opened) the face services are blocked.
    pub fn start(
        spec: &CameraSpec,
        events: EventSink,
        frames: FrameSink,
        action_time: Duration,
    ) -> CameraAdapter {
        let stills: Arc<Mutex<Stills>> = Arc::default();
        let idle = CameraAdapter {
            jobs: None,
            stills: stills.clone(),
            preview: std::cell::Cell::new(false),
            action_time,
        };
        let camera = match spec.open() {
            Ok(Some(camera)) => camera,
            Ok(None) => {
                events.send(Event::DeviceChanged(
                    DeviceKind::Camera,
                    DeviceHealth::NoDevice,
                ));
                return idle;
            }
            Err(error) => {
                tracing::error!(%error, camera = %spec, "cannot open the camera");
                events.send(Event::DeviceChanged(
                    DeviceKind::Camera,
                    DeviceHealth::HardwareError,
                ));
                return idle;
            }
        };
        events.send(Event::DeviceChanged(
            DeviceKind::Camera,
            health(camera.status().device),
        ));
        let (jobs, incoming) = mpsc::channel();
        let worker_stills = stills.clone();
        let spawned = std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || work(camera, incoming, worker_stills, events, frames));
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the camera thread");
            return idle;
        }
        CameraAdapter {
            jobs: Some(jobs),
            ..idle
        }
    }

    /// Runs the preview while the view shows the camera, and stops it when it does not.
    pub fn show_preview(&self, on: bool) {
        if self.preview.replace(on) != on {
            self.send(Job::Preview(on));
        }
    }

    /// Takes the still for `action` once it has been shown for the action time; the core
    /// hears of it as [`Event::Captured`].
    pub fn capture(&self, ticket: Ticket, attempt: u8, index: u8, action: LivenessAction) {
        let _ = action; // The back end knows the actions; the still is taken the same way.
        self.send(Job::Capture {
            ticket,
            attempt,
            index,
            at: Instant::now() + self.action_time,
        });
    }

    /// The stills of `attempt`, in the challenge's order, handed over (and gone from here).
    pub fn take_stills(&self, attempt: u8) -> Vec<Zeroizing<Vec<u8>>> {
        let Ok(mut stills) = self.stills.lock() else {
            return Vec::new();
        };
        let keys: Vec<(u8, u8)> = stills
            .keys()
            .filter(|(of, _)| *of == attempt)
            .copied()
            .collect();
        keys.into_iter()
            .filter_map(|key| stills.remove(&key))
            .collect()
    }

    /// The flow or session ended: every still goes (zeroized as it drops).
    pub fn forget(&self) {
        if let Ok(mut stills) = self.stills.lock() {
            stills.clear();
        }
    }

    fn send(&self, job: Job) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }
}

fn health(state: DeviceState) -> DeviceHealth {
    match state {
        DeviceState::Online => DeviceHealth::Online,
        DeviceState::Offline => DeviceHealth::Offline,
        DeviceState::HardwareError => DeviceHealth::HardwareError,
        DeviceState::NoDevice => DeviceHealth::NoDevice,
    }
}

/// The camera thread: preview frames while asked, stills when due.
fn work(
    mut camera: Box<dyn Camera>,
    jobs: Receiver<Job>,
    stills: Arc<Mutex<Stills>>,
    events: EventSink,
    frames: FrameSink,
) {
    let mut preview = false;
    let mut due: Vec<(Ticket, u8, u8, Instant)> = Vec::new();
    // The last preview's verdict: a still is judged by the frame the pensioner saw.
    let mut last_quality = Quality::Good;
    loop {
        let wait = if preview || !due.is_empty() {
            PREVIEW_EVERY
        } else {
            Duration::from_secs(3600)
        };
        match jobs.recv_timeout(wait) {
            Ok(Job::Preview(on)) => {
                preview = on;
                let result = if on {
                    camera.start_preview()
                } else {
                    camera.stop_preview()
                };
                if let Err(error) = result {
                    tracing::warn!(%error, "camera preview");
                    events.send(Event::DeviceChanged(
                        DeviceKind::Camera,
                        health(camera.status().device),
                    ));
                }
            }
            Ok(Job::Capture {
                ticket,
                attempt,
                index,
                at,
            }) => due.push((ticket, attempt, index, at)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if preview {
            match camera.next_frame() {
                Ok(frame) => {
                    last_quality = assess(&frame);
                    frames(frame);
                }
                Err(error) => tracing::warn!(%error, "no preview frame"),
            }
        }
        let now = Instant::now();
        let (ready, waiting): (Vec<_>, Vec<_>) = due.into_iter().partition(|job| job.3 <= now);
        due = waiting;
        for (ticket, attempt, index, _) in ready {
            let result = take_still(camera.as_mut(), last_quality).map(|jpeg| {
                if let Ok(mut stills) = stills.lock() {
                    stills.insert((attempt, index), jpeg);
                }
            });
            events.send(Event::Captured { ticket, result });
        }
    }
}

/// One still, or why it cannot be used.
fn take_still(
    camera: &mut dyn Camera,
    quality: Quality,
) -> Result<Zeroizing<Vec<u8>>, CaptureProblem> {
    match quality {
        Quality::Good => {}
        Quality::TooDark => return Err(CaptureProblem::TooDark),
        Quality::TooBright => return Err(CaptureProblem::TooBright),
        Quality::Blurred => return Err(CaptureProblem::Blurred),
        Quality::NoSubject => return Err(CaptureProblem::NoFace),
    }
    match camera.capture() {
        Ok(capture) => Ok(Zeroizing::new(capture.as_jpeg().to_vec())),
        Err(error) => {
            tracing::warn!(%error, "camera capture failed");
            Err(CaptureProblem::CameraFailed)
        }
    }
}
