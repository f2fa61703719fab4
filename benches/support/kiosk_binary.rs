//! Where the benches that run the kiosk as a process find it; included with `#[path]`.

use std::path::PathBuf;

/// `KIOSK_BINARY` if set (a build copied aside, to compare two), otherwise the release
/// binary beside the bench's own `deps` folder (benches build in release).
pub fn path() -> PathBuf {
    if let Some(path) = std::env::var_os("KIOSK_BINARY") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("bench path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    dir.join("renshe-kiosk")
}
