//! The 15+5 coverage check on a tiny hand-made catalogue with a known answer.

use renshe_kiosk::locator::catalogue::{Area, OpeningHours, ServicePoint, Tier};
use renshe_kiosk::locator::coverage;
use renshe_kiosk::locator::Locator;

const CARD_REPLACEMENT: u16 = 3;
/// Metres per degree of latitude (haversine, mean radius).
const M_PER_DEG: f64 = 111_195.08;

fn point(id: u32, tier: Tier, area: Area, north_m: f64, services: &[u16]) -> ServicePoint {
    ServicePoint {
        id,
        name: format!("测试点{id}"),
        tier,
        partner_kind: None,
        district: "测试区".into(),
        address: String::new(),
        lat: 29.0 + north_m / M_PER_DEG,
        lon: 106.0,
        area,
        hours: OpeningHours::default(),
        phone: String::new(),
        photo: String::new(),
        services: services.to_vec(),
    }
}

/// All points on one meridian, positions in metres north of 29°N:
/// - town T (offers the item) at 0; community C1 at 1.0 km (covered, within 1.2 km);
///   community C2 at 1.5 km (a gap: town reach is 1.2 km);
/// - villages V3 at 30 km, V4 at 33 km, V5 at 26 km: gaps; V3's site covers all three
///   (3 and 4 km ≤ 5 km), V4's and V5's sites only two each (they are 7 km apart);
/// - a district hall far south that offers the item but reaches nobody, and is no target.
fn catalogue() -> Vec<ServicePoint> {
    vec![
        point(1, Tier::Town, Area::Urban, 0.0, &[1, CARD_REPLACEMENT]),
        point(2, Tier::Village, Area::Urban, 1_000.0, &[1]),
        point(3, Tier::Village, Area::Urban, 1_500.0, &[1]),
        point(4, Tier::Village, Area::Rural, 30_000.0, &[1]),
        point(5, Tier::Village, Area::Rural, 33_000.0, &[1]),
        point(6, Tier::Village, Area::Rural, 26_000.0, &[1]),
        point(
            7,
            Tier::District,
            Area::Urban,
            -50_000.0,
            &[1, CARD_REPLACEMENT],
        ),
    ]
}

#[test]
fn gaps_and_greedy_suggestions_match_the_hand_worked_answer() {
    let locator = Locator::new(catalogue());
    let report = coverage::check(&locator, CARD_REPLACEMENT, 10);
    assert_eq!(report.targets, 6, "towns and villages only");
    let gap_ids: Vec<u32> = report.gaps.iter().map(|g| g.id).collect();
    assert_eq!(gap_ids, vec![3, 4, 5, 6]);
    assert_eq!(report.suggestions.len(), 2);
    let first = &report.suggestions[0];
    assert_eq!(
        locator
            .point(first.at_index)
            .map(|p| p.id)
            .unwrap_or_default(),
        4,
        "V3 covers all three villages"
    );
    let mut covered: Vec<u32> = first
        .covers
        .iter()
        .filter_map(|&i| locator.point(i).map(|p| p.id))
        .collect();
    covered.sort_unstable();
    assert_eq!(covered, vec![4, 5, 6]);
    let second: Vec<u32> = report.suggestions[1]
        .covers
        .iter()
        .filter_map(|&i| locator.point(i).map(|p| p.id))
        .collect();
    assert_eq!(second, vec![3]);
    assert_eq!(report.gaps_left, 0);

    let one = coverage::check(&locator, CARD_REPLACEMENT, 1);
    assert_eq!(one.suggestions.len(), 1);
    assert_eq!(one.gaps_left, 1);
}

#[test]
fn a_point_offering_the_item_covers_itself_and_an_item_nobody_offers_leaves_every_target_open() {
    let mut points = catalogue();
    points[2].services.push(CARD_REPLACEMENT); // C2 now offers it itself
    let locator = Locator::new(points);
    let report = coverage::check(&locator, CARD_REPLACEMENT, 0);
    let gap_ids: Vec<u32> = report.gaps.iter().map(|g| g.id).collect();
    assert_eq!(gap_ids, vec![4, 5, 6]);
    assert!(report.suggestions.is_empty());
    assert_eq!(report.gaps_left, 3);
    assert_eq!(coverage::check(&locator, 30, 0).gaps.len(), 6);
}
