//! The finder in the window: the terminal's catalogue is searched for what the core's finder
//! flow holds, and drawn after every view.

use std::cell::RefCell;
use std::rc::Rc;

use crate::config::Config;
use crate::core::FlowView;
use crate::locator::GeoPoint;
use crate::shell::controller::Controller;
use crate::shell::now_local;
use crate::ui::finder::{Finder, Terminal};
use crate::ui::{AppWindow, CounterInfo};
use slint::ComponentHandle;

/// Where the terminal stands, from its configuration.
pub fn terminal(config: &Config) -> Terminal {
    Terminal {
        location: GeoPoint {
            lat: config.location.latitude,
            lon: config.location.longitude,
        },
        setting: config.location.setting,
        district: config.location.district.clone(),
    }
}

/// Draws the finder's results with every view of the session.
pub fn attach(app: &AppWindow, controller: &Controller, finder: &Rc<RefCell<Finder>>) {
    Finder::install_keyboard(app);
    let finder = finder.clone();
    controller.add_drawer(Box::new(move |app, view| {
        let finder_view = match &view.flow {
            Some(FlowView::Finder(finder_view)) => Some(finder_view),
            _ => None,
        };
        let mut finder = finder.borrow_mut();
        finder.apply(app, finder_view, view.language, now_local());
        // Once the catalogue is there, failure pages name the nearest staffed counter.
        let counter = app.global::<CounterInfo>();
        if counter.get_nearest_name().is_empty() {
            if let Some(point) = finder.nearest_counter() {
                counter.set_nearest_name(point.name.as_str().into());
                counter.set_nearest_address(point.address.as_str().into());
            }
        }
    }));
}
