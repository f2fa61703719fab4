//! Catalogue and catalogue-update JSON from the back end must never panic the kiosk, and what
//! is accepted must be searchable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_kiosk::locator::catalogue::{catalogue_from_json, update_from_json};
use renshe_kiosk::locator::{GeoPoint, Locator, Query};

fuzz_target!(|data: &[u8]| {
    if let Ok(points) = catalogue_from_json(data) {
        let locator = Locator::new(points);
        let _ = locator.search(&Query {
            near: Some(GeoPoint { lat: 29.5, lon: 106.5 }),
            ..Query::default()
        });
    }
    let _ = update_from_json(data);
});
