//! `renshe-kiosk locate`, `renshe-kiosk coverage` and `renshe-kiosk catalogue-seed`.
//!
//! Both searches use the catalogue copy in the store when the kiosk has one, else the
//! generated demo catalogue, and say which.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::catalogue::{
    self, find_service, Area, LocalTime, ServiceCode, ServicePoint, Tier, DEFAULT_SEED,
};
use super::{coverage, navigation_url, parse_near, GeoPoint, Locator, Query};
use crate::store::Store;

#[derive(clap::Args, Debug, Clone)]
pub struct LocateArgs {
    /// Where to search from, LAT,LON in WGS-84 degrees (e.g. 29.556,106.568).
    #[arg(long, value_name = "LAT,LON", value_parser = parse_near_arg)]
    pub near: GeoPoint,
    /// Part of a point's name, a typo of it, its full pinyin or its pinyin initials.
    #[arg(long, value_name = "Q")]
    pub query: Option<String>,
    /// Only this district or county (e.g. 渝中区).
    #[arg(long, value_name = "D")]
    pub district: Option<String>,
    /// Only points offering this service item: a code, or its Chinese or English name.
    #[arg(long, value_name = "S")]
    pub service: Option<String>,
    /// Only these tiers (city, district, town, village, partner); repeatable.
    #[arg(long, value_parser = parse_tier_arg)]
    pub tier: Vec<Tier>,
    /// Only points open at this local time: "DAY HH:MM", DAY 1 (Monday) … 7 or mon … sun.
    #[arg(long, value_name = "DAY HH:MM", value_parser = parse_local_time)]
    pub open_at: Option<LocalTime>,
    /// Only points with a 24-hour self-service zone.
    #[arg(long)]
    pub all_day: bool,
    /// The terminal's setting: urban (walking minutes) or rural (distance only).
    #[arg(long, default_value = "urban", value_parser = parse_area_arg)]
    pub area: Area,
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
    /// The kiosk database holding the catalogue copy.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CoverageArgs {
    /// The service item to check; without it, a count of gaps for every item.
    #[arg(long, value_name = "S")]
    pub service: Option<String>,
    /// How many new sites to suggest.
    #[arg(long, default_value_t = 10)]
    pub suggestions: usize,
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CatalogueSeedArgs {
    /// The kiosk database to write the generated catalogue into.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Catalogue version to record.
    #[arg(long, default_value_t = 1)]
    pub version: u64,
    #[arg(long, default_value_t = 1)]
    pub scale: usize,
}

fn parse_near_arg(text: &str) -> Result<GeoPoint, String> {
    parse_near(text).map_err(|e| e.to_string())
}

fn parse_tier_arg(text: &str) -> Result<Tier, String> {
    Tier::parse(text)
        .ok_or_else(|| format!("\"{text}\" is not one of city, district, town, village, partner"))
}

fn parse_area_arg(text: &str) -> Result<Area, String> {
    match text.trim() {
        "urban" | "town" => Ok(Area::Urban),
        "rural" | "countryside" => Ok(Area::Rural),
        _ => Err(format!("\"{text}\" is not urban or rural")),
    }
}

/// Parses "DAY HH:MM" with DAY 1..=7 (Monday = 1) or a three-letter English day.
pub fn parse_local_time(text: &str) -> Result<LocalTime, String> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let bad = || format!("\"{text}\" is not DAY HH:MM, e.g. \"mon 09:30\" or \"1 09:30\"");
    let (day, time) = text.trim().split_once(' ').ok_or_else(bad)?;
    let day = day.trim().to_ascii_lowercase();
    let weekday = match day.parse::<u8>() {
        Ok(n @ 1..=7) => n - 1,
        Ok(_) => return Err(bad()),
        Err(_) => DAYS.iter().position(|d| *d == day).ok_or_else(bad)? as u8,
    };
    let (hours, minutes) = time.trim().split_once(':').ok_or_else(bad)?;
    let hours: u16 = hours.parse().map_err(|_| bad())?;
    let minutes: u16 = minutes.parse().map_err(|_| bad())?;
    if hours > 23 || minutes > 59 {
        return Err(bad());
    }
    Ok(LocalTime {
        weekday,
        minute: hours * 60 + minutes,
    })
}

/// Where the catalogue came from, for the output's first line.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CatalogueSource {
    Store { path: PathBuf, version: u64 },
    Generated { seed: u64 },
}

impl std::fmt::Display for CatalogueSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogueSource::Store { path, version } => {
                write!(
                    f,
                    "catalogue from the store {} (version {version})",
                    path.display()
                )
            }
            CatalogueSource::Generated { seed } => {
                write!(
                    f,
                    "generated demo catalogue (seed {seed:#x}; the store has none)"
                )
            }
        }
    }
}

/// The stored catalogue when `db` exists and holds one, else the generated one.
pub fn load_catalogue(db: Option<&Path>) -> anyhow::Result<(CatalogueSource, Vec<ServicePoint>)> {
    if let Some(path) = db.filter(|p| p.exists()) {
        // Read-only: `locate` over SSH runs beside the kiosk, which holds the writer lock.
        let store =
            Store::open_read_only(path).with_context(|| format!("opening {}", path.display()))?;
        if let Some((version, points)) = store.load_catalogue()? {
            let source = CatalogueSource::Store {
                path: path.to_path_buf(),
                version,
            };
            return Ok((source, points));
        }
    }
    Ok((
        CatalogueSource::Generated { seed: DEFAULT_SEED },
        catalogue::generate(DEFAULT_SEED, 1),
    ))
}

#[derive(Serialize)]
struct HitOut {
    id: u32,
    name: String,
    tier: Tier,
    district: String,
    address: String,
    lat: f64,
    lon: f64,
    distance_m: Option<f64>,
    walk_minutes: Option<u32>,
    score: f64,
    phone: String,
    hours: String,
    services: Vec<u16>,
    navigation_url: String,
}

/// The `--service` option: a code or a (unique part of a) name.
fn service_arg(text: Option<&str>) -> anyhow::Result<Option<ServiceCode>> {
    text.map(|text| {
        find_service(text)
            .with_context(|| format!("\"{text}\" is not a unique service item code or name"))
    })
    .transpose()
}

pub fn run_locate(args: &LocateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let service = service_arg(args.service.as_deref())?;
    let (source, points) = load_catalogue(args.db.as_deref())?;
    let locator = Locator::new(points);
    let query = Query {
        near: Some(args.near),
        area: args.area,
        text: args.query.clone().unwrap_or_default(),
        district: args.district.clone(),
        tiers: args.tier.clone(),
        service,
        open_at: args.open_at,
        always_open_only: args.all_day,
        max_distance_m: None,
        limit: args.limit,
    };
    let hits = locator.search(&query);
    let rows: Vec<HitOut> = hits
        .iter()
        .filter_map(|hit| {
            let point = locator.point(hit.index)?;
            Some(HitOut {
                id: point.id,
                navigation_url: navigation_url(&point),
                hours: point.hours.summary(),
                name: point.name,
                tier: point.tier,
                district: point.district,
                address: point.address,
                lat: point.lat,
                lon: point.lon,
                distance_m: hit.distance_m.map(|d| d.round()),
                walk_minutes: hit.walk_minutes,
                score: hit.score,
                phone: point.phone,
                services: point.services,
            })
        })
        .collect();
    if args.json {
        let document = serde_json::json!({ "source": source, "hits": rows });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    writeln!(out, "{source}")?;
    if rows.is_empty() {
        writeln!(out, "no service point matches")?;
    }
    for (n, row) in rows.iter().enumerate() {
        let distance = match (row.distance_m, row.walk_minutes) {
            (Some(d), Some(w)) => format!("{d:.0} m, {w} min walk"),
            (Some(d), None) => format!("{:.1} km", d / 1000.0),
            _ => String::new(),
        };
        writeln!(
            out,
            "{:>2}. {} [{}] {distance}",
            n + 1,
            row.name,
            row.tier.name_zh()
        )?;
        writeln!(out, "    {}  {}  {}", row.address, row.phone, row.hours)?;
    }
    Ok(())
}

pub fn run_coverage(args: &CoverageArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let service = service_arg(args.service.as_deref())?;
    let (source, points) = load_catalogue(args.db.as_deref())?;
    let locator = Locator::new(points);
    let Some(service) = service else {
        let summary = coverage::summary(&locator);
        if args.json {
            let items: Vec<_> = summary
                .iter()
                .map(|(code, gaps)| serde_json::json!({ "service": code, "gaps": gaps }))
                .collect();
            let document = serde_json::json!({ "source": source, "items": items });
            writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
            return Ok(());
        }
        writeln!(out, "{source}")?;
        writeln!(out, "town and village points without the item within reach (town 1.2 km, countryside 5 km):")?;
        for (code, gaps) in summary {
            let name = catalogue::service_item(code).map_or("?", |i| i.name_zh);
            writeln!(out, "{code:>3} {name:<16} {gaps}")?;
        }
        return Ok(());
    };
    let report = coverage::check(&locator, service, args.suggestions);
    if args.json {
        let document = serde_json::json!({ "source": source, "report": report });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    let name = catalogue::service_item(service).map_or("?", |i| i.name_zh);
    writeln!(out, "{source}")?;
    writeln!(
        out,
        "{name} ({service}): {} of {} town and village points have no provider within reach",
        report.gaps.len(),
        report.targets
    )?;
    for gap in report.gaps.iter().take(20) {
        if let Some(point) = locator.point(gap.index) {
            writeln!(
                out,
                "  gap: {} ({:?}, reach {} m)",
                point.name, gap.area, gap.reach_m
            )?;
        }
    }
    if report.gaps.len() > 20 {
        writeln!(out, "  … and {} more", report.gaps.len() - 20)?;
    }
    for (n, suggestion) in report.suggestions.iter().enumerate() {
        let site = locator
            .point(suggestion.at_index)
            .map_or_else(|| "?".to_owned(), |p| p.name);
        writeln!(
            out,
            "suggest {}: a point at {:.5},{:.5} (at {site}) would close {} gaps",
            n + 1,
            suggestion.lat,
            suggestion.lon,
            suggestion.covers.len()
        )?;
    }
    writeln!(out, "gaps left after the suggestions: {}", report.gaps_left)?;
    Ok(())
}

/// Writes the generated catalogue into the store (the demo stand-in for the first sync).
pub fn run_catalogue_seed(args: &CatalogueSeedArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let points = catalogue::generate(DEFAULT_SEED, args.scale);
    let mut store =
        Store::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    store.replace_catalogue(args.version, &points)?;
    writeln!(
        out,
        "stored {} service points as catalogue version {} in {}",
        points.len(),
        args.version,
        args.db.display()
    )?;
    Ok(())
}
