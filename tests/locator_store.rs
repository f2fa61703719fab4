//! The catalogue copy in a real SQLite file: offline search, incremental updates, the baseline.

use std::process::Command;

use renshe_kiosk::locator::catalogue::{
    generate, CatalogueUpdate, ServicePoint, Tier, DEFAULT_SEED,
};
use renshe_kiosk::locator::{GeoPoint, Locator, Query};
use renshe_kiosk::store::catalogue::CatalogueStoreError;
use renshe_kiosk::store::Store;

fn queries() -> Vec<Query> {
    let near = Some(GeoPoint {
        lat: 29.5577,
        lon: 106.5770,
    });
    vec![
        Query {
            near,
            ..Query::default()
        },
        Query {
            near,
            text: "jfb".into(),
            ..Query::default()
        },
        Query {
            near,
            text: "磁器口".into(),
            service: Some(3),
            ..Query::default()
        },
        Query {
            near,
            district: Some("黔江区".into()),
            tiers: vec![Tier::Partner],
            ..Query::default()
        },
    ]
}

#[test]
fn the_finder_works_offline_from_the_stored_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kiosk.db");
    let points = generate(DEFAULT_SEED, 1);
    {
        let mut store = Store::open(&path).expect("open");
        assert_eq!(store.catalogue_version().expect("version"), None);
        assert!(store.load_catalogue().expect("load").is_none());
        store.replace_catalogue(7, &points).expect("store");
    }
    let reopened = Store::open(&path).expect("reopen");
    let (version, loaded) = reopened
        .load_catalogue()
        .expect("load")
        .expect("a catalogue");
    assert_eq!(version, 7);
    assert!(loaded == points, "every field survives the round trip");
    let from_store = Locator::new(loaded);
    let in_memory = Locator::new(points);
    for query in queries() {
        let hits = from_store.search(&query);
        assert!(!hits.is_empty(), "{query:?}");
        assert_eq!(hits, in_memory.search(&query));
    }
}

fn small_catalogue() -> Vec<ServicePoint> {
    generate(DEFAULT_SEED, 1).into_iter().take(300).collect()
}

#[test]
fn incremental_updates_apply_in_order_and_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kiosk.db");
    let points = small_catalogue();
    let mut store = Store::open(&path).expect("open");
    store.replace_catalogue(1, &points).expect("store");

    let mut renamed = points[10].clone();
    renamed.name = "渝中区新华路社银服务点".into();
    let mut added = points[20].clone();
    added.id = 99_999;
    added.name = "两江新区礼嘉街道人社服务站".into();
    let update = CatalogueUpdate {
        from_version: 1,
        to_version: 2,
        upserts: vec![renamed.clone(), added.clone()],
        deletions: vec![points[0].id, points[1].id],
    };
    store.apply_catalogue_update(&update).expect("apply");
    drop(store);

    let store = Store::open(&path).expect("reopen");
    let (version, loaded) = store.load_catalogue().expect("load").expect("catalogue");
    assert_eq!(version, 2);
    assert_eq!(loaded.len(), points.len() - 2 + 1);
    assert!(!loaded
        .iter()
        .any(|p| p.id == points[0].id || p.id == points[1].id));
    let locator = Locator::new(loaded);
    let found = |text: &str| {
        locator
            .search(&Query {
                text: text.into(),
                ..Query::default()
            })
            .first()
            .map(|hit| locator.point(hit.index).expect("a listed point").id)
    };
    assert_eq!(found("新华路社银"), Some(renamed.id));
    assert_eq!(found("liangjiangxinqu"), Some(99_999));
    assert_eq!(
        found(&points[10].name.clone()).filter(|&id| id == renamed.id),
        None
    );

    // The same update again does not start at the stored version.
    let mut store = store;
    match store.apply_catalogue_update(&update) {
        Err(CatalogueStoreError::VersionMismatch {
            from: 1,
            stored: Some(2),
        }) => {}
        other => panic!("expected a version mismatch, got {other:?}"),
    }
    // An update with one invalid point changes nothing.
    let mut broken = points[30].clone();
    broken.lat = 123.0;
    let bad = CatalogueUpdate {
        from_version: 2,
        to_version: 3,
        upserts: vec![added.clone(), broken],
        deletions: vec![points[5].id],
    };
    assert!(matches!(
        store.apply_catalogue_update(&bad),
        Err(CatalogueStoreError::Update(_))
    ));
    assert_eq!(store.catalogue_version().expect("version"), Some(2));
    let (_, unchanged) = store.load_catalogue().expect("load").expect("catalogue");
    assert!(unchanged.iter().any(|p| p.id == points[5].id));
}

#[test]
fn the_sql_baseline_answers_the_same_kinds_of_query() {
    let mut store = Store::open_in_memory().expect("store");
    let points = generate(DEFAULT_SEED, 1);
    store.replace_catalogue(1, &points).expect("store");
    store.build_baseline_index().expect("the baseline's index");
    let locator = Locator::new(points);
    for query in queries() {
        let ours = locator.search(&query);
        let baseline = store.baseline_search(&query).expect("baseline");
        assert_eq!(baseline.len(), ours.len(), "{query:?}");
        // The baseline's flat-earth distance agrees with ours to well under 1% here.
        let (our_first, their_first) = (ours[0].distance_m.expect("d"), baseline[0].1);
        assert!(
            (our_first - their_first).abs() <= our_first * 0.01 + 1.0,
            "{query:?}"
        );
    }
    let text_only = store
        .baseline_search(&Query {
            text: "解放碑".into(),
            limit: 100,
            ..Query::default()
        })
        .expect("baseline");
    assert!(text_only.len() > 5);
    for (id, _) in text_only {
        let point = &locator.point(id as usize - 1).expect("a listed point");
        assert!(point.name.contains("解放碑"), "{}", point.name);
    }
}

#[test]
fn the_command_line_says_which_catalogue_it_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("kiosk.db");
    let binary = env!("CARGO_BIN_EXE_renshe-kiosk");
    // A terminal whose data folder is this test's: its database is `db`, not there yet.
    let config = dir.path().join("terminal.toml");
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/kiosk-config/demo.toml"
    ))
    .expect("demo.toml");
    std::fs::write(
        &config,
        demo.replace(
            "directory = \"../target/kiosk-demo-data\"",
            "directory = \".\"",
        ),
    )
    .expect("write config");
    let locate = |with_db: bool| {
        let mut command = Command::new(binary);
        command.arg("--config").arg(&config);
        command.args([
            "locate",
            "--near",
            "29.5577,106.5770",
            "--query",
            "jfb",
            "--json",
        ]);
        if with_db {
            command.arg("--db").arg(&db);
        }
        let output = command.output().expect("run locate");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("json")
    };
    let generated = locate(false);
    assert_eq!(generated["source"]["kind"], "generated");
    let seeded = Command::new(binary)
        .args(["catalogue-seed", "--version", "5", "--db"])
        .arg(&db)
        .output()
        .expect("seed");
    assert!(seeded.status.success());
    let stored = locate(true);
    assert_eq!(stored["source"]["kind"], "store");
    // Without --db, the configured terminal's database is used.
    assert_eq!(locate(false)["source"]["kind"], "store");
    assert_eq!(stored["source"]["version"], 5);
    assert_eq!(stored["hits"], generated["hits"]);
    assert!(stored["hits"][0]["name"]
        .as_str()
        .expect("name")
        .contains("解放碑"));
    let bad = Command::new(binary)
        .args(["locate", "--near", "29.5,abc"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a number"));
}
