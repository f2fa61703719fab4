//! The 15+5 coverage check: which village/community and town points have no point offering a
//! service within reach (1.2 km in town, 5 km in the countryside), and where new points would
//! close the most gaps (greedy maximum coverage over the gaps' own sites).

use serde::Serialize;

use super::catalogue::{Area, ServiceCode, Tier};
use super::geo::{distance_m, GeoPoint};
use super::grid::{Grid, Step};
use super::{Locator, Query};

/// A town or village point with no provider of the service within reach.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub index: usize,
    pub id: u32,
    pub area: Area,
    pub reach_m: f64,
}

/// A proposed new point: at the site of a gap, covering the listed gaps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub lat: f64,
    pub lon: f64,
    /// The gap whose site is proposed.
    pub at_index: usize,
    /// Indexes of the gaps it would close (including its own).
    pub covers: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    pub service: ServiceCode,
    /// Town and village points checked.
    pub targets: usize,
    pub gaps: Vec<Gap>,
    /// Best first; each covers the most gaps not covered by the earlier ones.
    pub suggestions: Vec<Suggestion>,
    /// Gaps left after all suggestions.
    pub gaps_left: usize,
}

/// Whether a point is a target of the rule: the village/community and town tiers.
fn is_target(tier: Tier) -> bool {
    matches!(tier, Tier::Town | Tier::Village)
}

/// Checks one service over the whole catalogue and proposes up to `max_suggestions` new sites.
pub fn check(locator: &Locator, service: ServiceCode, max_suggestions: usize) -> CoverageReport {
    let mut targets = 0;
    let mut gaps = Vec::new();
    for (index, point) in locator.points().enumerate() {
        if !is_target(point.tier) {
            continue;
        }
        targets += 1;
        let reach_m = point.area.reach_m();
        let query = Query {
            near: Some(GeoPoint {
                lat: point.lat,
                lon: point.lon,
            }),
            service: Some(service),
            max_distance_m: Some(reach_m),
            limit: 1,
            ..Query::default()
        };
        if locator.search(&query).is_empty() {
            gaps.push(Gap {
                index,
                id: point.id,
                area: point.area,
                reach_m,
            });
        }
    }
    let (suggestions, gaps_left) = suggest(locator, &gaps, max_suggestions);
    CoverageReport {
        service,
        targets,
        gaps,
        suggestions,
        gaps_left,
    }
}

/// Greedy maximum coverage: a new point at gap `c`'s site closes gap `g` when `g` is within
/// `g`'s own reach of it. Candidate sites are the gaps themselves (they are inhabited places).
fn suggest(locator: &Locator, gaps: &[Gap], max_suggestions: usize) -> (Vec<Suggestion>, usize) {
    let position = |gap: &Gap| locator.position(gap.index).unwrap_or_default();
    let grid = Grid::new(gaps.iter().map(position));
    let farthest_reach = Area::Rural.reach_m().max(Area::Urban.reach_m());
    // covers[c] = the gaps (positions in `gaps`) a point at gap c's site would close.
    let covers: Vec<Vec<u32>> = gaps
        .iter()
        .map(|site| {
            let (lat, lon) = position(site);
            let mut closed = Vec::new();
            grid.walk(GeoPoint { lat, lon }, usize::MAX, |step| match step {
                Step::Cell(cell) => {
                    for &g in cell {
                        let gap = &gaps[g as usize];
                        let (glat, glon) = position(gap);
                        if distance_m(lat, lon, glat, glon) <= gap.reach_m {
                            closed.push(g);
                        }
                    }
                    false
                }
                Step::RingDone(bound) => bound.is_none_or(|b| b > farthest_reach),
            });
            closed.sort_unstable();
            closed
        })
        .collect();
    let mut open = vec![true; gaps.len()];
    let mut left = gaps.len();
    let mut suggestions = Vec::new();
    while suggestions.len() < max_suggestions && left > 0 {
        let best = covers
            .iter()
            .enumerate()
            .map(|(c, list)| (list.iter().filter(|&&g| open[g as usize]).count(), c))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let Some((count, site)) = best else { break };
        if count == 0 {
            break;
        }
        let closed: Vec<usize> = covers[site]
            .iter()
            .filter(|&&g| std::mem::replace(&mut open[g as usize], false))
            .map(|&g| gaps[g as usize].index)
            .collect();
        left -= closed.len();
        let (lat, lon) = position(&gaps[site]);
        suggestions.push(Suggestion {
            lat,
            lon,
            at_index: gaps[site].index,
            covers: closed,
        });
    }
    (suggestions, left)
}

/// The number of gaps for every item of the catalogue, for the overview.
pub fn summary(locator: &Locator) -> Vec<(ServiceCode, usize)> {
    super::catalogue::SERVICE_ITEMS
        .iter()
        .map(|item| (item.code, check(locator, item.code, 0).gaps.len()))
        .collect()
}
