//! The finder's window callbacks: keys, filters and taps change the finder's state and are
//! also activity for the session (so typing never times out); a tapped point opens its page.

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use crate::config::Config;
use crate::core::{Command, Event};
use crate::locator::GeoPoint;
use crate::shell::controller::Controller;
use crate::shell::now_local;
use crate::ui::finder::{Finder, Terminal};
use crate::ui::AppWindow;

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

/// Connects the finder's callbacks on `app`.
pub fn wire(app: &AppWindow, controller: &Rc<RefCell<Controller>>, finder: &Rc<RefCell<Finder>>) {
    Finder::install_keyboard(app);
    // Every finder change: tell the session the resident is there, then redraw the finder.
    let change = {
        let controller = Rc::downgrade(controller);
        let finder = finder.clone();
        let window = app.as_weak();
        move |edit: &dyn Fn(&mut Finder)| {
            edit(&mut finder.borrow_mut());
            if let Some(controller) = controller.upgrade() {
                controller.borrow_mut().dispatch(Event::Activity);
            }
            if let Some(app) = window.upgrade() {
                finder.borrow().apply(&app, now_local());
            }
        }
    };
    let on = change.clone();
    app.on_finder_key(move |key| on(&|finder| finder.type_key(&key)));
    let on = change.clone();
    app.on_finder_backspace(move || on(&|finder| finder.backspace()));
    let on = change.clone();
    app.on_finder_clear(move || on(&|finder| finder.clear()));
    let on = change.clone();
    app.on_finder_keyboard_toggled(move || on(&|finder| finder.toggle_keyboard()));
    app.on_finder_chip_toggled(move |index| {
        if let Ok(index) = usize::try_from(index) {
            change(&|finder| finder.toggle_filter(index));
        }
    });
    let controller_for_points = Rc::downgrade(controller);
    let finder_for_points = finder.clone();
    let window = app.as_weak();
    app.on_point_tapped(move |index| {
        let (Ok(index), Some(app)) = (u32::try_from(index), window.upgrade()) else {
            return;
        };
        finder_for_points
            .borrow()
            .show_point(&app, index as usize, now_local());
        if let Some(controller) = controller_for_points.upgrade() {
            controller
                .borrow_mut()
                .dispatch(Event::ServicePointTapped(index));
        }
    });
    let controller_for_print = Rc::downgrade(controller);
    app.on_point_print_tapped(move || {
        if let Some(controller) = controller_for_print.upgrade() {
            controller.borrow_mut().dispatch(Event::PrintTapped);
        }
    });
    // What the resident typed and chose goes with their session.
    let finder_for_wipe = finder.clone();
    let window = app.as_weak();
    controller
        .borrow_mut()
        .add_effects(Box::new(move |command, _view| {
            if *command == Command::WipeSessionData {
                finder_for_wipe.borrow_mut().wipe();
                if let Some(app) = window.upgrade() {
                    finder_for_wipe.borrow().apply(&app, now_local());
                }
            }
        }));
    finder.borrow().apply(app, now_local());
}
