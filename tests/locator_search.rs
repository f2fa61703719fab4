//! The locator against a brute-force reference, and the query kinds residents use.

use std::sync::LazyLock;

use proptest::prelude::*;
use renshe_kiosk::config::Config;
use renshe_kiosk::locator::catalogue::{
    generate, LocalTime, SplitMix64, Tier, DEFAULT_SEED, SERVICE_ITEMS,
};
use renshe_kiosk::locator::text::{classify, pinyin_keys, PreparedText};
use renshe_kiosk::locator::{
    distance_m, walk_minutes, Area, GeoPoint, Hit, Locator, MatchClass, Query,
};

static LOCATOR: LazyLock<Locator> = LazyLock::new(|| Locator::new(generate(DEFAULT_SEED, 1)));

/// The definition of a search, point by point: filters, text class, distance, order, limit.
fn brute_force(locator: &Locator, query: &Query) -> Vec<(usize, Option<f64>, f64)> {
    let prepared = PreparedText::new(&query.text);
    let mut hits = Vec::new();
    for (index, point) in locator.points().enumerate() {
        let accepted = query.district.as_ref().is_none_or(|d| &point.district == d)
            && (query.tiers.is_empty() || query.tiers.contains(&point.tier))
            && query.service.is_none_or(|s| point.services.contains(&s))
            && query.open_at.is_none_or(|now| point.hours.is_open_at(now))
            && (!query.always_open_only || point.hours.always_open);
        if !accepted {
            continue;
        }
        let class = match &prepared {
            Some(text) => match classify(text, &point.name, &pinyin_keys(&point.name)) {
                Some(class) => Some(class),
                None => continue,
            },
            None => None,
        };
        let distance = query
            .near
            .map(|near| distance_m(near.lat, near.lon, point.lat, point.lon));
        if let (Some(d), Some(max)) = (distance, query.max_distance_m) {
            if d > max {
                continue;
            }
        }
        hits.push((index, distance, class.map_or(0.0, MatchClass::score)));
    }
    hits.sort_by(|a, b| {
        b.2.total_cmp(&a.2)
            .then_with(|| match (a.1, b.1) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => std::cmp::Ordering::Equal,
            })
            .then(a.0.cmp(&b.0))
    });
    hits.truncate(query.limit);
    hits
}

fn as_tuples(hits: &[Hit]) -> Vec<(usize, Option<f64>, f64)> {
    hits.iter()
        .map(|h| (h.index, h.distance_m, h.score))
        .collect()
}

/// A random but realistic query: texts are cut from real names, their pinyin or initials,
/// sometimes with one character changed.
fn random_query(seed: u64) -> Query {
    let mut rng = SplitMix64::new(seed);
    let points: Vec<_> = LOCATOR.points().collect();
    let some_point = |rng: &mut SplitMix64| &points[rng.below(points.len())];
    let near = match rng.below(5) {
        0 => None,
        1 => Some(GeoPoint {
            lat: 28.0 + rng.next_f64() * 4.5,
            lon: 105.0 + rng.next_f64() * 5.5,
        }),
        2 => Some(GeoPoint {
            lat: -60.0 + rng.next_f64() * 130.0,
            lon: -180.0 + rng.next_f64() * 360.0,
        }),
        _ => {
            let p = some_point(&mut rng);
            Some(GeoPoint {
                lat: p.lat + (rng.next_f64() - 0.5) * 0.01,
                lon: p.lon + (rng.next_f64() - 0.5) * 0.01,
            })
        }
    };
    let cut = |text: &[char], rng: &mut SplitMix64, len: usize| -> String {
        let len = len.min(text.len());
        let start = rng.below(text.len() - len + 1);
        text[start..start + len].iter().collect()
    };
    let text = match rng.below(11) {
        0 | 1 => String::new(),
        2 => {
            let chars: Vec<char> = some_point(&mut rng).name.chars().collect();
            let len = 2 + rng.below(4);
            cut(&chars, &mut rng, len)
        }
        3 => {
            let chars: Vec<char> = pinyin_keys(&some_point(&mut rng).name)
                .full
                .chars()
                .collect();
            let len = 3 + rng.below(10);
            cut(&chars, &mut rng, len)
        }
        4 => {
            let chars: Vec<char> = pinyin_keys(&some_point(&mut rng).name)
                .initials
                .chars()
                .collect();
            let len = 2 + rng.below(4);
            cut(&chars, &mut rng, len)
        }
        5 => {
            // A Chinese typo: one character replaced by one from another name.
            let mut chars: Vec<char> = some_point(&mut rng).name.chars().collect();
            let other: Vec<char> = some_point(&mut rng).name.chars().collect();
            let at = rng.below(chars.len());
            chars[at] = other[rng.below(other.len())];
            let len = 3 + rng.below(3);
            cut(&chars, &mut rng, len)
        }
        6 => {
            // A pinyin typo: one letter dropped.
            let mut letters: Vec<char> = pinyin_keys(&some_point(&mut rng).name)
                .full
                .chars()
                .collect();
            let start = rng.below(letters.len().saturating_sub(10).max(1));
            letters = letters[start..(start + 10).min(letters.len())].to_vec();
            let at = rng.below(letters.len());
            letters.remove(at);
            letters.into_iter().collect()
        }
        7 | 8 => {
            // Two adjacent letters swapped, in full pinyin (6-12 letters) or initials (3-5).
            let keys = pinyin_keys(&some_point(&mut rng).name);
            let (source, len) = if rng.chance(0.5) {
                (keys.full, 6 + rng.below(7))
            } else {
                (keys.initials, 3 + rng.below(3))
            };
            let chars: Vec<char> = source.chars().collect();
            let mut letters: Vec<char> = cut(&chars, &mut rng, len).chars().collect();
            if letters.len() >= 2 {
                let at = rng.below(letters.len() - 1);
                letters.swap(at, at + 1);
            }
            letters.into_iter().collect()
        }
        9 => {
            // Typing in progress: the full pinyin from a syllable's start, cut short.
            let name = &some_point(&mut rng).name;
            let chars: Vec<char> = name.chars().collect();
            let from = rng.below(chars.len());
            let rest: String = chars[from..].iter().collect();
            let letters = pinyin_keys(&rest).full;
            letters[..(3 + rng.below(8)).min(letters.len())].to_string()
        }
        _ => (0..2 + rng.below(4))
            .map(|_| char::from(b'a' + rng.below(26) as u8))
            .collect(),
    };
    let district = match rng.below(6) {
        0 => Some(some_point(&mut rng).district.clone()),
        1 => Some("朝阳区".to_string()),
        _ => None,
    };
    let tiers = if rng.chance(0.3) {
        Tier::ALL.into_iter().filter(|_| rng.chance(0.5)).collect()
    } else {
        Vec::new()
    };
    let service = rng
        .chance(0.3)
        .then(|| SERVICE_ITEMS[rng.below(SERVICE_ITEMS.len())].code);
    let open_at = rng.chance(0.2).then(|| LocalTime {
        weekday: rng.below(7) as u8,
        minute: rng.below(1440) as u16,
    });
    Query {
        near,
        area: if rng.chance(0.5) {
            Area::Urban
        } else {
            Area::Rural
        },
        text,
        district,
        tiers,
        service,
        open_at,
        always_open_only: rng.chance(0.1),
        max_distance_m: rng.chance(0.2).then(|| 500.0 + rng.next_f64() * 50_000.0),
        limit: 1 + rng.below(30),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn search_equals_brute_force(seed in any::<u64>()) {
        let query = random_query(seed);
        let fast = LOCATOR.search(&query);
        let slow = brute_force(&LOCATOR, &query);
        prop_assert_eq!(as_tuples(&fast), slow, "query {:?}", query);
        for hit in &fast {
            let expected = match (query.area, hit.distance_m) {
                (Area::Urban, Some(d)) => Some((d / 75.0).ceil() as u32),
                _ => None,
            };
            prop_assert_eq!(hit.walk_minutes, expected);
        }
    }
}

fn jiefangbei() -> GeoPoint {
    GeoPoint {
        lat: 29.5577,
        lon: 106.5770,
    }
}

fn town_query(text: &str) -> Query {
    Query {
        near: Some(jiefangbei()),
        text: text.to_string(),
        tiers: vec![Tier::Town],
        limit: 3,
        ..Query::default()
    }
}

fn first_name(query: &Query) -> (String, Option<MatchClass>) {
    let hits = LOCATOR.search(query);
    let hit = hits.first().expect("at least one hit");
    (
        LOCATOR
            .point(hit.index)
            .expect("a listed point")
            .name
            .clone(),
        hit.class,
    )
}

const STREET: &str = "渝中区解放碑街道人社服务站";

#[test]
fn pinyin_initials_find_the_point() {
    assert_eq!(
        first_name(&town_query("jfb")),
        (STREET.into(), Some(MatchClass::Initials))
    );
    assert_eq!(first_name(&town_query("JFB")).0, STREET);
}

#[test]
fn full_pinyin_finds_the_point_with_or_without_spaces() {
    assert_eq!(
        first_name(&town_query("jiefangbei")),
        (STREET.into(), Some(MatchClass::FullPinyin))
    );
    assert_eq!(first_name(&town_query("jie fang bei")).0, STREET);
}

#[test]
fn typos_in_chinese_and_in_pinyin_still_find_it() {
    assert_eq!(
        first_name(&town_query("解放牌")),
        (STREET.into(), Some(MatchClass::Typo))
    );
    assert_eq!(
        first_name(&town_query("解放杯")),
        (STREET.into(), Some(MatchClass::Homophone))
    );
    assert_eq!(
        first_name(&town_query("jiefangbai")),
        (STREET.into(), Some(MatchClass::Typo))
    );
    assert_eq!(
        first_name(&town_query("jefangbei")),
        (STREET.into(), Some(MatchClass::Typo))
    );
}

#[test]
fn swapped_letters_find_it_below_the_exact_matches() {
    for typed in ["jeifangbei", "jiefangbie", "jbf"] {
        assert_eq!(
            first_name(&town_query(typed)),
            (STREET.into(), Some(MatchClass::Swapped)),
            "{typed}"
        );
    }
    // Near the terminal, with no tier filter: whatever holds "jbf" exactly comes first.
    let hits = LOCATOR.search(&Query {
        tiers: Vec::new(),
        limit: 200,
        ..town_query("fjb")
    });
    assert!(hits.iter().any(|h| h.class == Some(MatchClass::Swapped)));
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn an_unfinished_last_syllable_finds_it_and_whole_syllables_rank_first() {
    for typed in ["jiefangb", "jiefangbe", "jiefang be"] {
        assert_eq!(
            first_name(&town_query(typed)),
            (STREET.into(), Some(MatchClass::PinyinPrefix)),
            "{typed}"
        );
    }
    // "xian": 县 (xian) and 仙 (xian) are whole syllables, 香 (xiang) is not.
    let hits = LOCATOR.search(&Query {
        near: Some(jiefangbei()),
        text: "xian".into(),
        limit: LOCATOR.len(),
        ..Query::default()
    });
    let classes: Vec<_> = hits.iter().map(|h| h.class).collect();
    let first_prefix = classes
        .iter()
        .position(|c| *c == Some(MatchClass::PinyinPrefix))
        .expect("some 香 among the results");
    assert!(first_prefix > 0, "whole syllables come first");
    assert!(classes[first_prefix..]
        .iter()
        .all(|c| *c <= Some(MatchClass::PinyinPrefix)));
}

#[test]
fn part_of_the_name_finds_it_and_exact_matches_rank_first() {
    assert_eq!(
        first_name(&town_query("解放碑")),
        (STREET.into(), Some(MatchClass::NameContains))
    );
    assert_eq!(
        first_name(&town_query("解放碑服务站")),
        (STREET.into(), Some(MatchClass::NameInOrder))
    );
    assert_eq!(
        first_name(&town_query(STREET)),
        (STREET.into(), Some(MatchClass::NameExact))
    );
    let mixed = Query {
        tiers: Vec::new(),
        limit: 50,
        ..town_query("解放碑街道人社服务站")
    };
    let hits = LOCATOR.search(&mixed);
    assert_eq!(
        LOCATOR.point(hits[0].index).expect("a listed point").name,
        STREET
    );
    assert_eq!(hits[0].class, Some(MatchClass::NameContains));
    assert_eq!(
        hits[1].class,
        Some(MatchClass::NameInOrder),
        "a community of the street"
    );
    assert!(hits.len() > 5);
    assert!(
        hits.windows(2).all(|w| w[0].score >= w[1].score),
        "ranked by score"
    );
    let same_class: Vec<_> = hits.iter().filter(|h| h.score == hits[1].score).collect();
    assert!(same_class.len() > 2);
    assert!(
        same_class
            .windows(2)
            .all(|w| w[0].distance_m <= w[1].distance_m),
        "then by distance"
    );
}

#[test]
fn the_demo_terminal_finds_the_points_named_after_its_street_round_the_corner() {
    // Where the demo terminal stands, from its configuration (at 解放碑, in 渝中区).
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk-config/demo.toml");
    let config = Config::load(&path).expect("the demo configuration loads");
    let here = GeoPoint {
        lat: config.location.latitude,
        lon: config.location.longitude,
    };
    let nearest = LOCATOR
        .points()
        .filter(|p| p.name.contains("解放碑"))
        .map(|p| distance_m(here.lat, here.lon, p.lat, p.lon))
        .min_by(f64::total_cmp)
        .expect("points named after 解放碑");
    assert!(walk_minutes(nearest) <= 15, "{nearest:.0} m away");
    // And as the finder asks: 解放碑's desks and communities first, all within a short walk.
    let hits = LOCATOR.search(&Query {
        near: Some(here),
        text: "解放碑".into(),
        limit: 5,
        ..Query::default()
    });
    assert_eq!(hits.len(), 5);
    for hit in &hits {
        assert!(hit.walk_minutes.is_some_and(|m| m <= 15), "{hit:?}");
    }
}

#[test]
fn nearest_results_are_sorted_and_carry_walking_time_in_town_only() {
    let query = Query {
        near: Some(jiefangbei()),
        limit: 20,
        ..Query::default()
    };
    let hits = LOCATOR.search(&query);
    assert_eq!(hits.len(), 20);
    assert!(hits.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    assert!(
        hits[0].distance_m.expect("distance") < 1_000.0,
        "the core is dense"
    );
    assert!(hits.iter().all(|h| h.walk_minutes.is_some()));
    let rural = LOCATOR.search(&Query {
        area: Area::Rural,
        ..query
    });
    assert!(rural
        .iter()
        .all(|h| h.walk_minutes.is_none() && h.distance_m.is_some()));
}

#[test]
fn district_service_tier_and_24_hour_filters_hold() {
    let query = Query {
        near: Some(jiefangbei()),
        district: Some("万州区".into()),
        service: Some(26),
        limit: 15,
        ..Query::default()
    };
    let hits = LOCATOR.search(&query);
    assert!(!hits.is_empty());
    for hit in &hits {
        let point = &LOCATOR.point(hit.index).expect("a listed point");
        assert_eq!(point.district, "万州区");
        assert!(point.offers(26), "only post offices deliver cards");
        assert!(
            hit.distance_m.expect("distance") > 150_000.0,
            "万州 is far from 解放碑"
        );
    }
    let all_day = LOCATOR.search(&Query {
        near: Some(jiefangbei()),
        always_open_only: true,
        tiers: vec![Tier::Partner],
        limit: 10,
        ..Query::default()
    });
    assert_eq!(all_day.len(), 10);
    assert!(all_day.iter().all(|h| {
        let p = &LOCATOR.point(h.index).expect("a listed point");
        p.hours.always_open && p.tier == Tier::Partner
    }));
    let unknown = Query {
        district: Some("朝阳区".into()),
        ..query
    };
    assert!(LOCATOR.search(&unknown).is_empty());
}

#[test]
fn open_now_depends_on_the_time_the_caller_passes() {
    let at = |weekday, minute| Query {
        near: Some(jiefangbei()),
        open_at: Some(LocalTime { weekday, minute }),
        limit: 30,
        ..Query::default()
    };
    let monday_morning = LOCATOR.search(&at(0, 10 * 60));
    assert_eq!(monday_morning.len(), 30);
    let sunday_night = LOCATOR.search(&at(6, 3 * 60));
    assert!(!sunday_night.is_empty());
    assert!(sunday_night.iter().all(|h| LOCATOR
        .point(h.index)
        .expect("a listed point")
        .hours
        .always_open));
    let monday_lunch = LOCATOR.search(&at(0, 12 * 60 + 30));
    assert!(
        monday_lunch
            .iter()
            .all(|h| LOCATOR.point(h.index).expect("a listed point").tier != Tier::Town),
        "towns close for lunch"
    );
    // The nearest point overall is a town or community desk, closed at lunch.
    assert_ne!(monday_lunch[0].index, monday_morning[0].index);
}

#[test]
fn the_random_queries_mostly_find_something() {
    // Guards the property test above against comparing empty lists.
    let non_empty = (0..300u64)
        .filter(|&seed| !LOCATOR.search(&random_query(seed)).is_empty())
        .count();
    assert!(non_empty > 120, "{non_empty} of 300");
}
