//! Every parser of outside text or bytes returns an error instead of panicking.

use std::sync::LazyLock;

use proptest::prelude::*;
use renshe_kiosk::locator::catalogue::{
    catalogue_from_json, catalogue_to_json, generate, update_from_json, CatalogueUpdate,
    DEFAULT_SEED,
};
use renshe_kiosk::locator::cli::parse_local_time;
use renshe_kiosk::locator::{parse_near, Locator, Query};

static SAMPLE_JSON: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let points: Vec<_> = generate(DEFAULT_SEED, 1).into_iter().take(3).collect();
    catalogue_to_json(&points).into_bytes()
});

static SMALL: LazyLock<Locator> =
    LazyLock::new(|| Locator::new(generate(DEFAULT_SEED, 1).into_iter().take(2_000)));

proptest! {
    #[test]
    fn near_parsing_never_panics_and_accepts_only_valid_coordinates(text in any::<String>()) {
        if let Ok(point) = parse_near(&text) {
            prop_assert!((-90.0..=90.0).contains(&point.lat));
            prop_assert!((-180.0..=180.0).contains(&point.lon));
        }
    }

    #[test]
    fn near_parsing_round_trips_valid_coordinates(lat in -90.0f64..=90.0, lon in -180.0f64..=180.0) {
        let point = parse_near(&format!("{lat},{lon}")).expect("valid");
        prop_assert_eq!((point.lat, point.lon), (lat, lon));
    }

    #[test]
    fn local_time_parsing_never_panics(text in any::<String>()) {
        if let Ok(time) = parse_local_time(&text) {
            prop_assert!(time.weekday < 7 && time.minute < 1440);
        }
    }

    #[test]
    fn catalogue_json_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = catalogue_from_json(&bytes);
        let _ = update_from_json(&bytes);
    }

    #[test]
    fn mangled_catalogue_json_is_rejected_or_valid(cut in 0usize..4_000, byte in any::<u8>()) {
        let mut json = SAMPLE_JSON.clone();
        let at = cut % json.len();
        json[at] = byte;
        if let Ok(parsed) = catalogue_from_json(&json) {
            for point in parsed {
                prop_assert!(point.lat.is_finite() && point.lon.is_finite());
            }
        }
    }

    #[test]
    fn any_query_text_is_searchable_without_panicking(text in any::<String>(), limit in 0usize..20) {
        let hits = SMALL.search(&Query { text, limit, ..Query::default() });
        prop_assert!(hits.len() <= limit);
    }
}

#[test]
fn catalogue_json_round_trips_and_rejects_bad_points() {
    let points: Vec<_> = generate(DEFAULT_SEED, 1).into_iter().take(50).collect();
    let json = catalogue_to_json(&points);
    assert!(catalogue_from_json(json.as_bytes()).expect("valid") == points);
    let bad_lat = json.replacen("\"lat\":", "\"lat\":1", 1);
    assert!(catalogue_from_json(bad_lat.as_bytes()).is_err());
    let unknown_item = json.replacen("\"services\":[1", "\"services\":[63", 1);
    assert!(catalogue_from_json(unknown_item.as_bytes()).is_err());
    let duplicated = catalogue_to_json(&[points[0].clone(), points[0].clone()]);
    assert!(catalogue_from_json(duplicated.as_bytes()).is_err());
    let backwards = serde_json::to_vec(&CatalogueUpdate {
        from_version: 3,
        to_version: 2,
        upserts: Vec::new(),
        deletions: vec![1],
    })
    .expect("json");
    assert!(update_from_json(&backwards).is_err());
}
