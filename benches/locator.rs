//! p50/p99 latency of a mixed query set (nearest, filtered, fuzzy Chinese, typo, full pinyin,
//! initials) on the 13,357-point catalogue and on a 1.3-million-point national-scale one,
//! against the same queries answered by SQLite (FTS5 trigram + distance computed and sorted in
//! SQL) in the same run. Scales: `LOCATOR_BENCH_SCALES=1,100` (the default).

use std::time::{Duration, Instant};

use renshe_kiosk::locator::catalogue::{generate, SplitMix64, Tier, DEFAULT_SEED};
use renshe_kiosk::locator::text::pinyin_keys;
use renshe_kiosk::locator::{GeoPoint, Locator, Query};
use renshe_kiosk::store::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Nearest,
    Filtered,
    Chinese,
    Typo,
    FullPinyin,
    Initials,
}

const KINDS: [Kind; 6] = [
    Kind::Nearest,
    Kind::Filtered,
    Kind::Chinese,
    Kind::Typo,
    Kind::FullPinyin,
    Kind::Initials,
];

fn query_set(locator: &Locator, count: usize) -> Vec<(Kind, Query)> {
    let mut rng = SplitMix64::new(42);
    let points: Vec<_> = locator.points().collect();
    (0..count)
        .map(|n| {
            let kind = KINDS[n % KINDS.len()];
            let here = &points[rng.below(points.len())];
            let near = Some(GeoPoint {
                lat: here.lat + (rng.next_f64() - 0.5) * 0.02,
                lon: here.lon + (rng.next_f64() - 0.5) * 0.02,
            });
            let target = &points[rng.below(points.len())];
            let chars: Vec<char> = target.name.chars().collect();
            let keys = pinyin_keys(&target.name);
            let cut = |text: &[char], rng: &mut SplitMix64, len: usize| -> String {
                let len = len.min(text.len());
                let start = rng.below(text.len() - len + 1);
                text[start..start + len].iter().collect()
            };
            let mut query = Query {
                near,
                limit: 10,
                ..Query::default()
            };
            match kind {
                Kind::Nearest => {}
                Kind::Filtered => {
                    query.district = Some(here.district.clone());
                    query.service = Some([3, 18, 26, 37][rng.below(4)]);
                    query.tiers = vec![Tier::Town, Tier::Village, Tier::Partner];
                }
                // The distinctive part of a name: its place name (the first 2-4 characters).
                Kind::Chinese => {
                    query.text = chars[..(2 + rng.below(3)).min(chars.len())]
                        .iter()
                        .collect()
                }
                Kind::Typo => {
                    let mut text: Vec<char> = chars[..4.min(chars.len())].to_vec();
                    let at = rng.below(text.len());
                    text[at] = '错';
                    query.text = text.into_iter().collect();
                }
                Kind::FullPinyin => {
                    let letters: Vec<char> = keys.full.chars().collect();
                    query.text = cut(&letters, &mut rng, 8);
                }
                Kind::Initials => {
                    let letters: Vec<char> = keys.initials.chars().collect();
                    query.text = cut(&letters, &mut rng, 4);
                }
            }
            (kind, query)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Figures {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn measure(mut run: impl FnMut(usize), count: usize) -> Figures {
    let mut times: Vec<Duration> = (0..count)
        .map(|i| {
            let start = Instant::now();
            run(i);
            start.elapsed()
        })
        .collect();
    let total: Duration = times.iter().sum();
    times.sort();
    Figures {
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        mean: total / count as u32,
    }
}

fn main() {
    let scales: Vec<usize> = std::env::var("LOCATOR_BENCH_SCALES")
        .unwrap_or_else(|_| "1,100".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for scale in scales {
        let started = Instant::now();
        let points = generate(DEFAULT_SEED, scale);
        let generated = started.elapsed();
        let n = points.len();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("bench.db")).expect("store");
        let started = Instant::now();
        store
            .replace_catalogue(1, &points)
            .expect("store catalogue");
        let stored = started.elapsed();
        // The SQL baseline's own index (a terminal's database has none).
        store.build_baseline_index().expect("the baseline's index");
        let started = Instant::now();
        let locator = Locator::new(points);
        let indexed = started.elapsed();
        println!(
            "\n== {n} points: generated in {:.1} s, index built in {:.1} s, SQLite copy written in {:.1} s",
            generated.as_secs_f64(),
            indexed.as_secs_f64(),
            stored.as_secs_f64()
        );
        let ours_count = if n > 100_000 { 600 } else { 3_000 };
        let sql_count = if n > 100_000 { 120 } else { 600 };
        let queries = query_set(&locator, ours_count);
        // Warm both sides once.
        for (_, query) in queries.iter().take(12) {
            std::hint::black_box(locator.search(query));
            std::hint::black_box(store.baseline_search(query).expect("baseline"));
        }
        let mut found = 0usize;
        let ours = measure(
            |i| found += std::hint::black_box(locator.search(&queries[i].1)).len(),
            ours_count,
        );
        let sql = measure(
            |i| {
                std::hint::black_box(store.baseline_search(&queries[i].1).expect("baseline"));
            },
            sql_count,
        );
        println!(
            "locator : p50 {:.3} ms  p99 {:.3} ms  mean {:.3} ms  ({ours_count} queries, {:.1} hits each)",
            ms(ours.p50),
            ms(ours.p99),
            ms(ours.mean),
            found as f64 / ours_count as f64
        );
        println!(
            "SQLite  : p50 {:.3} ms  p99 {:.3} ms  mean {:.3} ms  ({sql_count} queries)",
            ms(sql.p50),
            ms(sql.p99),
            ms(sql.mean)
        );
        println!(
            "ratio   : p50 {:.0}x  p99 {:.0}x  mean {:.0}x faster than SQLite",
            sql.p50.as_secs_f64() / ours.p50.as_secs_f64(),
            sql.p99.as_secs_f64() / ours.p99.as_secs_f64(),
            sql.mean.as_secs_f64() / ours.mean.as_secs_f64()
        );
        for kind in KINDS {
            let indexes: Vec<usize> = (0..ours_count).filter(|&i| queries[i].0 == kind).collect();
            let figures = measure(
                |i| {
                    std::hint::black_box(locator.search(&queries[indexes[i]].1));
                },
                indexes.len(),
            );
            let sql_indexes: Vec<usize> =
                indexes.iter().copied().filter(|&i| i < sql_count).collect();
            let sql_figures = measure(
                |i| {
                    std::hint::black_box(
                        store
                            .baseline_search(&queries[sql_indexes[i]].1)
                            .expect("baseline"),
                    );
                },
                sql_indexes.len(),
            );
            println!(
                "  {kind:<10?} locator p50 {:.3} ms p99 {:.3} ms | SQLite p50 {:.3} ms p99 {:.3} ms | {:.0}x",
                ms(figures.p50),
                ms(figures.p99),
                ms(sql_figures.p50),
                ms(sql_figures.p99),
                sql_figures.p50.as_secs_f64() / figures.p50.as_secs_f64()
            );
        }
        let mut slowest: Vec<(Duration, usize)> = (0..ours_count)
            .map(|i| {
                let start = Instant::now();
                std::hint::black_box(locator.search(&queries[i].1));
                (start.elapsed(), i)
            })
            .collect();
        slowest.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        let worst: Vec<String> = slowest
            .iter()
            .take(3)
            .map(|(d, i)| {
                format!(
                    "{:?} {:?} {:.2} ms",
                    queries[*i].0,
                    queries[*i].1.text,
                    ms(*d)
                )
            })
            .collect();
        println!("slowest : {}", worst.join(", "));
        let goal = if n > 100_000 { 20.0 } else { 1.0 };
        println!(
            "goal    : p99 <= {goal} ms: {}; >= 10x faster (p50): {}",
            if ms(ours.p99) <= goal {
                "met"
            } else {
                "MISSED"
            },
            if sql.p50.as_secs_f64() >= 10.0 * ours.p50.as_secs_f64() {
                "met"
            } else {
                "MISSED"
            }
        );
    }
}
