//! The out-of-service page: what the terminal shows, instead of restarting in a loop, when
//! its records cannot be opened — a damaged database, a full disk, a records key that is
//! missing or readable by others. Nothing can be journaled, so nothing may be served.

use std::rc::Rc;

use slint::ComponentHandle;

use crate::config::Config;
use crate::i18n::Translator;
use crate::locator::catalogue::Tier;
use crate::locator::geo::distance_m;
use crate::store::{Store, StoreError};
use crate::ui::OutOfServiceWindow;

/// Whether `error` leaves the terminal out of service rather than ending the process: a
/// second process on the database (`Busy`) is the one case where exiting is right.
pub fn applies_to(error: &StoreError) -> bool {
    !matches!(error, StoreError::Busy { .. })
}

/// Logs what happened and shows the page until the process is stopped.
pub fn show(config: &Config, error: &StoreError) -> anyhow::Result<()> {
    tracing::error!(
        %error,
        disk_full = error.is_disk_full(),
        "the terminal's records cannot be opened: out of service until a technician acts"
    );
    // A deliberate state, not a crash: systemd is told it is up and kept from restarting it.
    let reason = if error.is_disk_full() {
        "out of service: disk full"
    } else {
        "out of service: the records cannot be opened"
    };
    let window = page(config)?;
    let _supervisor = super::supervisor::supervise(&window, None, reason);
    window.run()?;
    Ok(())
}

/// While the kiosk runs, a journal write found the disk full: the kiosk's window gives way to
/// the page, which stays until the process is stopped (a technician frees space and
/// restarts the service). Called on the UI thread.
pub fn show_instead_of(app: &crate::ui::AppWindow, config: &Config) -> anyhow::Result<()> {
    tracing::error!(
        disk_full = true,
        "the disk holding the terminal's records is full: out of service until a technician frees space"
    );
    let window = page(config)?;
    window.show()?;
    app.hide()?;
    // The kiosk's supervisor keeps pinging: the page is a deliberate state, not a crash.
    super::supervisor::status("out of service: disk full");
    // Shown for the rest of the process: the handle must outlive this call.
    std::mem::forget(window);
    Ok(())
}

fn page(config: &Config) -> anyhow::Result<OutOfServiceWindow> {
    let window = OutOfServiceWindow::new()?;
    super::lockdown::guard(window.window());
    crate::ui::install_translator(&window, Rc::new(Translator::new()?));
    window.set_languages(every_language());
    window.set_terminal_id(config.terminal.id.as_str().into());
    window.set_district(config.location.district.as_str().into());
    if let Some((name, address)) = nearest_counter(config) {
        window.set_counter_name(name.into());
        window.set_counter_address(address.into());
    }
    Ok(window)
}

/// Every language's tag, for a page that shows them all.
pub fn every_language() -> slint::ModelRc<slint::SharedString> {
    let tags: Vec<slint::SharedString> = crate::core::Language::ALL
        .iter()
        .map(|language| language.tag().into())
        .collect();
    slint::ModelRc::new(slint::VecModel::from(tags))
}

/// The nearest staffed counter from the stored catalogue, if the file can still be read.
fn nearest_counter(config: &Config) -> Option<(String, String)> {
    let store = Store::open_read_only(&config.database_path()).ok()?;
    let (_, points) = store.load_catalogue().ok()??;
    let (lat, lon) = (config.location.latitude, config.location.longitude);
    points
        .into_iter()
        .filter(|p| matches!(p.tier, Tier::City | Tier::District | Tier::Town))
        .min_by(|a, b| {
            distance_m(lat, lon, a.lat, a.lon).total_cmp(&distance_m(lat, lon, b.lat, b.lon))
        })
        .map(|p| (p.name, p.address))
}
