//! The Chromium side of the benches' side-by-side figures: the same attract picture the
//! kiosk draws, shown by a headless Chromium as a static page. Shared by `startup` (time
//! to a screenshot) and `memory` (Pss on the page); included with `#[path]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The first Chromium on `PATH`, if any.
pub fn installed() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// Writes `attract.html` beside `picture` (a PNG of the kiosk's attract page), the page
/// Chromium is measured on: the picture at the kiosk's size, nothing else.
pub fn attract_page(picture: &Path) -> Option<PathBuf> {
    let name = picture.file_name()?.to_str()?;
    let page = picture.with_file_name("attract.html");
    std::fs::write(
        &page,
        format!(
            "<!doctype html><html><body style=\"margin:0\">\
             <img src=\"{name}\" width=\"1080\" height=\"1920\"></body></html>"
        ),
    )
    .ok()?;
    Some(page)
}

/// A headless Chromium at the kiosk's size on `page`, with its own profile in `profile`
/// and the caller's `extra` switches (a screenshot to write, say) before the page.
pub fn headless(chromium: &str, page: &Path, profile: &Path, extra: &[String]) -> Command {
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless=new",
            "--no-sandbox",
            "--no-first-run",
            "--disable-gpu",
            "--window-size=1080,1920",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}
