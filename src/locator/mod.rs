//! The service-point finder of the 15+5 circle: an in-memory index over the catalogue with
//! nearest-first search, filters (district, tier, service item, open now, 24-hour) and a fuzzy
//! name search (part of the name, a typo, full pinyin or initials).
//!
//! Pure: no I/O and no clock. The caller passes the terminal's location and the local time;
//! the catalogue comes from the store (or the generator in demo mode).

pub mod catalogue;
pub mod cli;
pub mod coverage;
pub mod geo;
mod grid;
pub(crate) mod points;
mod postings;
pub mod text;

use std::cmp::Ordering;
use std::collections::HashMap;

pub use catalogue::{
    Area, LocalTime, OpeningHours, PartnerKind, ServiceCode, ServicePoint, Tier, WeeklyInterval,
};
pub use geo::{distance_m, parse_near, walk_minutes, GeoError, GeoPoint};
pub use text::{MatchClass, PinyinKeys, PreparedText};

use grid::Grid;
use points::PointStore;
use postings::Postings;

/// What the resident asked for. `Default` is "everything, nearest first, 10 results".
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Where to measure from (the terminal's configured location); `None` = no distances.
    pub near: Option<GeoPoint>,
    /// Whether the terminal stands in town (walking minutes are given) or in the countryside.
    pub area: Area,
    /// Fuzzy name text; empty = no text condition.
    pub text: String,
    /// Exact district or county name.
    pub district: Option<String>,
    /// Allowed tiers; empty = all.
    pub tiers: Vec<Tier>,
    /// The point must offer this item.
    pub service: Option<ServiceCode>,
    /// The point must be open at this local time.
    pub open_at: Option<LocalTime>,
    /// Only points with a 24-hour self-service zone.
    pub always_open_only: bool,
    /// Only points within this distance of `near`.
    pub max_distance_m: Option<f64>,
    pub limit: usize,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            near: None,
            area: Area::Urban,
            text: String::new(),
            district: None,
            tiers: Vec::new(),
            service: None,
            open_at: None,
            always_open_only: false,
            max_distance_m: None,
            limit: 10,
        }
    }
}

/// One result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Position of the point in [`Locator::points`].
    pub index: usize,
    pub id: u32,
    /// Great-circle distance from the query's `near`.
    pub distance_m: Option<f64>,
    /// Minutes on foot at 4.5 km/h, for terminals in town.
    pub walk_minutes: Option<u32>,
    /// The name match's score ([`MatchClass::score`]), 0 without text.
    pub score: f64,
    pub class: Option<MatchClass>,
}

/// The compact per-point facts the filters look at, kept apart from the full records so
/// scans touch little memory.
#[derive(Debug, Clone, Copy)]
struct PointFacts {
    lat: f64,
    lon: f64,
    services: u64,
    district: u32,
    tier: Tier,
    always_open: bool,
}

/// The index. Build once per catalogue version; searching never allocates more than its result.
pub struct Locator {
    points: PointStore,
    facts: Vec<PointFacts>,
    keys: Vec<PinyinKeys>,
    district_ids: HashMap<String, u32>,
    grid: Grid,
    /// Points whose name contains a character.
    char_postings: HashMap<char, Box<[u32]>>,
    /// Points whose full pinyin contains a trigram (alphabet a-z0-9).
    full_trigrams: Postings,
    /// Points whose full pinyin has a trigram ending where a syllable ends: tells whole-syllable
    /// matches from unfinished ones ("jiefang" from "jiefangb") without classifying each.
    end_trigrams: Postings,
    /// Points whose initials contain a bigram.
    initial_bigrams: Postings,
    /// Point indexes sorted by name, for exact-name lookups.
    by_name: Vec<u32>,
    /// Point indexes per district id.
    district_points: Postings,
}

const ALPHABET: usize = 36;

fn symbol(byte: u8) -> Option<usize> {
    match byte {
        b'a'..=b'z' => Some(usize::from(byte - b'a')),
        b'0'..=b'9' => Some(26 + usize::from(byte - b'0')),
        _ => None,
    }
}

/// Each character's points (names lowercased, each point once a character), every list
/// exactly as long as it needs: a count first, then the lists.
fn char_postings(points: &PointStore) -> HashMap<char, Box<[u32]>> {
    let chars_of = |index: usize, out: &mut Vec<char>| {
        out.clear();
        out.extend(points.name(index).chars().map(|c| c.to_ascii_lowercase()));
        out.sort_unstable();
        out.dedup();
    };
    let mut scratch = Vec::new();
    let mut counts: HashMap<char, usize> = HashMap::new();
    for index in 0..points.len() {
        chars_of(index, &mut scratch);
        for &c in &scratch {
            *counts.entry(c).or_default() += 1;
        }
    }
    let mut lists: HashMap<char, Vec<u32>> = counts
        .into_iter()
        .map(|(c, count)| (c, Vec::with_capacity(count)))
        .collect();
    for index in 0..points.len() {
        chars_of(index, &mut scratch);
        for c in &scratch {
            if let Some(list) = lists.get_mut(c) {
                list.push(index as u32);
            }
        }
    }
    lists
        .into_iter()
        .map(|(c, list)| (c, list.into_boxed_slice()))
        .collect()
}

fn gram_id(gram: &[u8]) -> Option<usize> {
    gram.iter()
        .try_fold(0usize, |acc, &b| Some(acc * ALPHABET + symbol(b)?))
}

fn bit(code: ServiceCode) -> u64 {
    if code < 64 {
        1u64 << code
    } else {
        0
    }
}

impl Locator {
    /// Builds the index: pinyin keys, postings and the spatial grid. The points are kept
    /// compactly, each once; they may come one by one (from the store).
    pub fn new(points: impl IntoIterator<Item = ServicePoint>) -> Locator {
        let points = points.into_iter();
        // The upper bound: a store's rows give their count, and may stop early on an error.
        let expected = points.size_hint().1.unwrap_or(points.size_hint().0);
        let mut facts = Vec::with_capacity(expected);
        let mut keys = Vec::with_capacity(expected);
        let mut store = PointStore::default();
        for point in points {
            let district = store.push(&point);
            facts.push(PointFacts {
                lat: point.lat,
                lon: point.lon,
                services: point.services.iter().fold(0, |mask, &c| mask | bit(c)),
                district,
                tier: point.tier,
                always_open: point.hours.always_open,
            });
            keys.push(text::pinyin_keys(&point.name));
        }
        store.shrink_to_fit();
        facts.shrink_to_fit();
        keys.shrink_to_fit();
        let points = store;
        let count = points.len();
        // The lookup tables, each built in two passes over what is kept (the names and
        // their pinyin keys): no table holds more than it ends with while it is built.
        let grams = |key: &str, n: usize, out: &mut Vec<usize>| {
            out.extend(key.as_bytes().windows(n).filter_map(gram_id))
        };
        let full_trigrams = Postings::build(ALPHABET.pow(3), count, |index, out| {
            grams(&keys[index].full, 3, out)
        });
        let initial_bigrams = Postings::build(ALPHABET.pow(2), count, |index, out| {
            grams(&keys[index].initials, 2, out)
        });
        let end_trigrams = Postings::build(ALPHABET.pow(3), count, |index, out| {
            let point_keys = &keys[index];
            let full = point_keys.full.as_bytes();
            out.extend(
                point_keys
                    .syllable_ends()
                    .filter_map(|end| full.get(end.checked_sub(3)?..end))
                    .filter_map(gram_id),
            );
        });
        let char_postings = char_postings(&points);
        let district_ids: HashMap<String, u32> = (points.districts().iter())
            .enumerate()
            .map(|(id, name)| (name.to_string(), id as u32))
            .collect();
        let grid = Grid::new(facts.iter().map(|f| (f.lat, f.lon)));
        let mut by_name: Vec<u32> = (0..count as u32).collect();
        by_name.sort_by(|&a, &b| points.name(a as usize).cmp(points.name(b as usize)));
        let district_points = Postings::build(district_ids.len(), count, |index, out| {
            out.push(facts[index].district as usize)
        });
        Locator {
            by_name,
            district_points,
            points,
            facts,
            keys,
            district_ids,
            grid,
            char_postings,
            full_trigrams,
            end_trigrams,
            initial_bigrams,
        }
    }

    /// Every point, in catalogue order (each put together as it comes).
    pub fn points(&self) -> impl Iterator<Item = ServicePoint> + '_ {
        (0..self.points.len()).filter_map(|index| self.points.point(index))
    }

    /// The point at `index`, put together from the compact copy.
    pub fn point(&self, index: usize) -> Option<ServicePoint> {
        self.points.point(index)
    }

    /// A point's position (WGS-84 degrees), without putting the point together.
    pub fn position(&self, index: usize) -> Option<(f64, f64)> {
        self.facts.get(index).map(|facts| (facts.lat, facts.lon))
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The pinyin keys computed for a point's name.
    pub fn keys(&self, index: usize) -> Option<&PinyinKeys> {
        self.keys.get(index)
    }

    /// Runs a query. Results are ordered by match score (best first) when there is text,
    /// then by distance, then by catalogue position; never more than `query.limit`.
    pub fn search(&self, query: &Query) -> Vec<Hit> {
        if query.limit == 0 {
            return Vec::new();
        }
        let Some(filter) = Filter::new(self, query) else {
            return Vec::new();
        };
        let prepared = PreparedText::new(&query.text);
        let mut hits = match (&prepared, query.near) {
            (Some(prepared), _) => self.text_hits(prepared, &filter, query),
            (None, Some(near)) => self.nearest_hits(near, &filter, query),
            (None, None) => self
                .facts
                .iter()
                .enumerate()
                .filter(|(index, _)| filter.accepts(self, *index))
                .take(query.limit)
                .map(|(index, _)| self.hit(index, None, None))
                .collect(),
        };
        hits.iter_mut().for_each(|hit| {
            hit.walk_minutes = match (query.area, hit.distance_m) {
                (Area::Urban, Some(d)) => Some(walk_minutes(d)),
                _ => None,
            }
        });
        hits
    }

    fn hit(&self, index: usize, distance_m: Option<f64>, class: Option<MatchClass>) -> Hit {
        Hit {
            index,
            id: self.points.id(index),
            distance_m,
            walk_minutes: None,
            score: class.map_or(0.0, MatchClass::score),
            class,
        }
    }

    fn distance_from(&self, near: Option<GeoPoint>, index: usize) -> Option<f64> {
        let facts = &self.facts[index];
        near.map(|p| distance_m(p.lat, p.lon, facts.lat, facts.lon))
    }

    fn nearest_hits(&self, near: GeoPoint, filter: &Filter, query: &Query) -> Vec<Hit> {
        let max = query.max_distance_m.unwrap_or(f64::INFINITY);
        let mut found: Vec<(f64, u32)> = Vec::new();
        if let Some(district) = filter.district {
            // A district holds a few hundred points: reading them all beats walking the map
            // from a terminal that may stand in another district.
            for &index in self.district_points.list(district as usize) {
                if filter.accepts(self, index as usize) {
                    let facts = &self.facts[index as usize];
                    let d = distance_m(near.lat, near.lon, facts.lat, facts.lon);
                    if d <= max {
                        found.push((d, index));
                    }
                }
            }
            if found.len() > query.limit {
                kth_smallest(&mut found, query.limit - 1);
                found.truncate(query.limit);
            }
        } else {
            let completed = self.grid.walk(near, self.walk_budget(), |step| match step {
                grid::Step::Cell(cell_points) => {
                    for &index in cell_points {
                        let index = index as usize;
                        if !filter.accepts(self, index) {
                            continue;
                        }
                        let facts = &self.facts[index];
                        let d = distance_m(near.lat, near.lon, facts.lat, facts.lon);
                        if d <= max {
                            found.push((d, index as u32));
                        }
                    }
                    false
                }
                grid::Step::RingDone(None) => true,
                grid::Step::RingDone(Some(bound)) => {
                    if bound > max {
                        return true;
                    }
                    found.len() >= query.limit && kth_smallest(&mut found, query.limit - 1) <= bound
                }
            });
            if !completed {
                // A rare filter far from anything: scan every point instead.
                found.clear();
                for index in 0..self.points.len() {
                    if filter.accepts(self, index) {
                        let facts = &self.facts[index];
                        let d = distance_m(near.lat, near.lon, facts.lat, facts.lon);
                        if d <= max {
                            found.push((d, index as u32));
                        }
                    }
                }
            }
        }
        found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        found.truncate(query.limit);
        found
            .into_iter()
            .map(|(d, index)| self.hit(index as usize, Some(d), None))
            .collect()
    }

    fn text_hits(&self, prepared: &PreparedText, filter: &Filter, query: &Query) -> Vec<Hit> {
        let max = query.max_distance_m.unwrap_or(f64::INFINITY);
        let mut seen = vec![false; self.points.len()];
        let mut hits: Vec<Hit> = Vec::new();
        let consider = |index: usize, seen: &mut Vec<bool>, hits: &mut Vec<Hit>| {
            if std::mem::replace(&mut seen[index], true) || !filter.accepts(self, index) {
                return;
            }
            let Some(class) = text::classify(prepared, self.points.name(index), &self.keys[index])
            else {
                return;
            };
            let distance = self.distance_from(query.near, index);
            if distance.is_some_and(|d| d > max) {
                return;
            }
            hits.push(self.hit(index, distance, Some(class)));
        };
        // Each path of candidate generation is answered from its posting lists when they are
        // short; a common word ("人社", "fuwu") makes them long, and then, with a location, we
        // walk outwards from the resident instead and stop once nothing unvisited can outrank
        // the results (unvisited points reach at most the best class of a long path).
        let mut dense_best: Option<MatchClass> = None;
        let read = |lists: Vec<&[u32]>| {
            let rarest = lists.iter().map(|list| list.len()).min().unwrap_or(0);
            match query.near {
                None => Some(intersect(lists)),
                Some(_) if rarest <= INTERSECT_LIMIT => intersect_at_most(lists, DENSE_CANDIDATES),
                Some(_) => None,
            }
        };
        for path in self.exact_paths(prepared) {
            let rarest = path.lists.iter().map(|list| list.len()).min().unwrap_or(0);
            if let (Some((better, extra)), Some(_)) = (path.better, query.near) {
                // Only a path too dense to read needs its stricter part: that may be sparse
                // ("rensh" ends no syllable anywhere), and then the bound stays at the
                // path's own class. A short list means the path is read whole anyway.
                if rarest > DENSE_CANDIDATES {
                    let mut strict = path.lists.clone();
                    strict.push(extra);
                    let Some(candidates) = read(strict) else {
                        // Its points are among the path's, which is then too dense as well.
                        dense_best = dense_best.max(Some(better));
                        continue;
                    };
                    for candidate in candidates {
                        consider(candidate as usize, &mut seen, &mut hits);
                    }
                }
            }
            match read(path.lists) {
                Some(candidates) => {
                    for candidate in candidates {
                        consider(candidate as usize, &mut seen, &mut hits);
                    }
                }
                None => dense_best = dense_best.max(Some(path.class)),
            }
        }
        if let (Some(near), Some(mut best_rest)) = (query.near, dense_best) {
            if let PreparedText::Chinese { chars, .. } = prepared {
                // Exact names are few: take them first so the walk's bound drops a class.
                for index in self.points_named(&chars.iter().collect::<String>()) {
                    consider(index, &mut seen, &mut hits);
                }
                best_rest = best_rest.min(MatchClass::NameContains);
            }
            self.walk_for_text(
                prepared, near, best_rest, query, &mut seen, &mut hits, consider,
            );
        } else {
            // Stage 2: typos rank last, so they only matter when stage 1 left room.
            let better = hits
                .iter()
                .filter(|h| h.class > Some(MatchClass::Typo))
                .count();
            if better < query.limit {
                let cap = if query.near.is_some() {
                    DENSE_CANDIDATES
                } else {
                    usize::MAX
                };
                match (query.near, self.typo_candidates(prepared, cap)) {
                    (_, Some(candidates)) => {
                        for candidate in candidates {
                            consider(candidate as usize, &mut seen, &mut hits);
                        }
                    }
                    (Some(near), None) => {
                        let typo = MatchClass::Typo;
                        self.walk_for_text(
                            prepared, near, typo, query, &mut seen, &mut hits, consider,
                        );
                    }
                    (None, None) => {}
                }
            }
        }
        if hits.len() > query.limit {
            hits.select_nth_unstable_by(query.limit - 1, rank);
            hits.truncate(query.limit);
        }
        hits.sort_unstable_by(rank);
        hits
    }

    /// Classifies the points not seen yet ring by ring from `near` until the `limit`-th best
    /// hit outranks every unvisited point: those are farther than the ring bound and can reach
    /// `best_rest` at most.
    #[allow(clippy::too_many_arguments)]
    fn walk_for_text(
        &self,
        prepared: &PreparedText,
        near: GeoPoint,
        best_rest: MatchClass,
        query: &Query,
        seen: &mut Vec<bool>,
        hits: &mut Vec<Hit>,
        consider: impl Fn(usize, &mut Vec<bool>, &mut Vec<Hit>),
    ) {
        let max = query.max_distance_m.unwrap_or(f64::INFINITY);
        let completed = self.grid.walk(near, self.walk_budget(), |step| match step {
            grid::Step::Cell(cell_points) => {
                for &index in cell_points {
                    consider(index as usize, seen, hits);
                }
                false
            }
            grid::Step::RingDone(None) => true,
            grid::Step::RingDone(Some(bound)) => {
                if bound > max {
                    return true;
                }
                if hits.len() < query.limit {
                    return false;
                }
                hits.select_nth_unstable_by(query.limit - 1, rank);
                let kth = &hits[query.limit - 1];
                kth.class > Some(best_rest)
                    || (kth.class == Some(best_rest) && kth.distance_m.is_some_and(|d| d <= bound))
            }
        });
        if !completed {
            // Matches are sparse here after all (or far away): classify every candidate.
            let exact: Vec<Vec<u32>> = self
                .exact_paths(prepared)
                .into_iter()
                .map(|path| intersect(path.lists))
                .collect();
            for index in union(exact) {
                consider(index as usize, seen, hits);
            }
            // As in stage 2: typos only matter when the better classes left room.
            let better = hits
                .iter()
                .filter(|h| h.class > Some(MatchClass::Typo))
                .count();
            if better < query.limit {
                for index in self
                    .typo_candidates(prepared, usize::MAX)
                    .unwrap_or_default()
                {
                    consider(index as usize, seen, hits);
                }
            }
        }
    }

    /// How many grid cells a walk may visit before a full scan is the cheaper way on.
    fn walk_budget(&self) -> usize {
        self.points.len() / 8 + 256
    }

    /// Indexes of the points whose name is exactly `name`.
    fn points_named(&self, name: &str) -> Vec<usize> {
        let start = self
            .by_name
            .partition_point(|&i| self.points.name(i as usize) < name);
        self.by_name[start..]
            .iter()
            .map(|&i| i as usize)
            .take_while(|&i| self.points.name(i) == name)
            .collect()
    }

    fn char_list(&self, c: char) -> &[u32] {
        self.char_postings.get(&c).map_or(&[][..], |list| &list[..])
    }

    /// The candidate paths for every class except [`MatchClass::Typo`]. Together they are
    /// complete: every point of such a class is in the intersection of its class's path, so
    /// the points a walk leaves unread reach at most the best class of a path it did not read.
    fn exact_paths(&self, prepared: &PreparedText) -> Vec<Path<'_>> {
        let mut paths = Vec::new();
        match prepared {
            PreparedText::Chinese { chars, pinyin } => {
                // The name classes need every query character in the name.
                let lists = chars.iter().map(|c| self.char_list(*c)).collect();
                paths.push(Path::new(MatchClass::NameExact, lists));
                if chars.len() >= 2 && pinyin.len() >= text::MIN_FULL_PINYIN_LEN {
                    let lists = self.gram_lists(&self.full_trigrams, pinyin.as_bytes(), 3);
                    paths.push(Path::new(MatchClass::Homophone, lists));
                }
            }
            PreparedText::Latin(letters) => {
                let bytes = letters.as_bytes();
                if letters.len() >= text::MIN_FULL_PINYIN_LEN {
                    let lists = self.gram_lists(&self.full_trigrams, bytes, 3);
                    // A whole-syllable match also ends with a trigram that ends a syllable.
                    let last = gram_id(&bytes[bytes.len() - 3..]);
                    let ending = last.map_or(&[][..], |id| self.end_trigrams.list(id));
                    paths.push(Path {
                        class: MatchClass::PinyinPrefix,
                        lists,
                        better: Some((MatchClass::FullPinyin, ending)),
                    });
                }
                if letters.len() >= text::MIN_INITIALS_LEN {
                    let lists = self.gram_lists(&self.initial_bigrams, bytes, 2);
                    paths.push(Path::new(MatchClass::Initials, lists));
                }
                self.swap_paths(bytes, &mut paths);
            }
        }
        paths
    }

    /// Paths for [`MatchClass::Swapped`]: one per swap variant of the query, whose grams the
    /// name must hold (full pinyin from 6 letters on, initials from 3). A variant one of whose
    /// new grams no name has is left out before anything is allocated for it.
    fn swap_paths<'a>(&'a self, bytes: &[u8], paths: &mut Vec<Path<'a>>) {
        let kinds = [
            (text::MIN_LATIN_TYPO_LEN, &self.full_trigrams, 3),
            (text::MIN_INITIALS_SWAP_LEN, &self.initial_bigrams, 2),
        ];
        let mut variant = bytes.to_vec();
        for (min_len, postings, n) in kinds {
            if bytes.len() < min_len {
                continue;
            }
            for i in 0..bytes.len() - 1 {
                if bytes[i] == bytes[i + 1] {
                    continue;
                }
                variant.swap(i, i + 1);
                // The grams that overlap the swapped pair start at i + 2 - n ..= i + 1.
                let first = (i + 2).saturating_sub(n);
                let last = (i + 1).min(bytes.len() - n);
                let possible = (first..=last).all(|at| {
                    gram_id(&variant[at..at + n]).is_some_and(|id| !postings.list(id).is_empty())
                });
                if possible {
                    let lists = self.gram_lists(postings, &variant, n);
                    paths.push(Path::new(MatchClass::Swapped, lists));
                }
                variant.swap(i, i + 1);
            }
        }
    }

    fn gram_lists<'a>(&self, postings: &'a Postings, letters: &[u8], n: usize) -> Vec<&'a [u32]> {
        letters
            .windows(n)
            .map(|g| gram_id(g).map_or(&[][..], |id| postings.list(id)))
            .collect()
    }

    /// Candidates for a one-edit match, or `None` when there are more than `cap`. Pigeonhole:
    /// one edit leaves one half of the query intact, so the name holds every character (or
    /// full-pinyin trigram) of that half; and the other half, with at most that one edit,
    /// still has one of any two of its characters (or one of two pieces of 3+ letters).
    fn typo_candidates(&self, prepared: &PreparedText, cap: usize) -> Option<Vec<u32>> {
        // Each group: lists whose intersection is one part of the candidate union.
        let mut groups: Vec<Vec<&[u32]>> = Vec::new();
        match prepared {
            PreparedText::Chinese { chars, .. } if chars.len() >= text::MIN_CHINESE_TYPO_LEN => {
                let (left, right) = chars.split_at(chars.len() / 2);
                for (intact, other) in [(left, right), (right, left)] {
                    let base: Vec<&[u32]> = intact.iter().map(|c| self.char_list(*c)).collect();
                    let mut rest: Vec<&[u32]> = other.iter().map(|c| self.char_list(*c)).collect();
                    rest.sort_by_key(|list| list.len());
                    if rest.len() >= 2 {
                        for one in &rest[..2] {
                            groups.push(base.iter().copied().chain([*one]).collect());
                        }
                    } else {
                        groups.push(base);
                    }
                }
            }
            PreparedText::Latin(letters) if letters.len() >= text::MIN_LATIN_TYPO_LEN => {
                let bytes = letters.as_bytes();
                let (left, right) = bytes.split_at(bytes.len() / 2);
                for (intact, other) in [(left, right), (right, left)] {
                    let base = self.gram_lists(&self.full_trigrams, intact, 3);
                    let (a, b) = other.split_at(other.len() / 2);
                    if a.len() >= 3 && b.len() >= 3 {
                        for piece in [a, b] {
                            let mut lists = base.clone();
                            lists.extend(self.gram_lists(&self.full_trigrams, piece, 3));
                            groups.push(lists);
                        }
                    } else {
                        groups.push(base);
                    }
                }
            }
            _ => return Some(Vec::new()),
        }
        let mut found = Vec::new();
        for lists in groups {
            let rarest = lists.iter().map(|list| list.len()).min().unwrap_or(0);
            if cap != usize::MAX && rarest > INTERSECT_LIMIT {
                return None;
            }
            found.push(intersect_at_most(lists, cap)?);
        }
        Some(union(found))
    }
}

/// One way to find the candidates of a class: every point of `class` is in the intersection
/// of `lists`.
struct Path<'a> {
    class: MatchClass,
    lists: Vec<&'a [u32]>,
    /// A better class whose points are all also in this extra list. Read only when `lists`
    /// are too dense: their intersection holds the better class's points too.
    better: Option<(MatchClass, &'a [u32])>,
}

impl<'a> Path<'a> {
    fn new(class: MatchClass, lists: Vec<&'a [u32]>) -> Path<'a> {
        Path {
            class,
            lists,
            better: None,
        }
    }
}

/// Above this many candidates a text query with a location is answered by walking outwards.
const DENSE_CANDIDATES: usize = 2_048;
/// Posting lists up to this long are intersected (a few milliseconds at most) to learn
/// whether a path is really dense; longer ones are taken as dense.
const INTERSECT_LIMIT: usize = 200_000;

/// Result order for text queries: score, then distance, then catalogue position.
fn rank(a: &Hit, b: &Hit) -> Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| match (a.distance_m, b.distance_m) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => Ordering::Equal,
        })
        .then(a.index.cmp(&b.index))
}

/// Selects so that `found[k]` holds the k-th smallest distance, and returns it.
fn kth_smallest(found: &mut [(f64, u32)], k: usize) -> f64 {
    found.select_nth_unstable_by(k, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    found[k].0
}

/// Intersection of sorted posting lists.
fn intersect(lists: Vec<&[u32]>) -> Vec<u32> {
    intersect_at_most(lists, usize::MAX).unwrap_or_default()
}

/// The intersection, or `None` as soon as it exceeds `cap` elements. Walks the shortest list
/// and gallops through the others, so a sparse intersection of long lists stays cheap.
fn intersect_at_most(mut lists: Vec<&[u32]>, cap: usize) -> Option<Vec<u32>> {
    lists.sort_by_key(|list| list.len());
    let Some((first, mut rest)) = lists.split_first().map(|(f, r)| (*f, r.to_vec())) else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    'candidates: for &wanted in first {
        for list in rest.iter_mut() {
            // Exponential search for the first element >= wanted, then drop what lies before.
            let mut step = 1;
            while step < list.len() && list[step - 1] < wanted {
                step *= 2;
            }
            let end = step.min(list.len());
            let at = list[..end].partition_point(|&x| x < wanted);
            *list = &list[at..];
            if list.first() != Some(&wanted) {
                continue 'candidates;
            }
        }
        out.push(wanted);
        if out.len() > cap {
            return None;
        }
    }
    Some(out)
}

fn union(lists: Vec<Vec<u32>>) -> Vec<u32> {
    let mut all: Vec<u32> = lists.into_iter().flatten().collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The non-text conditions of a query, resolved against the index once.
struct Filter {
    district: Option<u32>,
    tiers: Vec<Tier>,
    service_mask: u64,
    open_at: Option<LocalTime>,
    always_open_only: bool,
}

impl Filter {
    /// `None` when the conditions can match nothing (an unknown district or service code).
    fn new(locator: &Locator, query: &Query) -> Option<Filter> {
        let district = match &query.district {
            Some(name) => Some(*locator.district_ids.get(name.trim())?),
            None => None,
        };
        let service_mask = match query.service {
            Some(code) if bit(code) == 0 => return None,
            Some(code) => bit(code),
            None => 0,
        };
        Some(Filter {
            district,
            tiers: query.tiers.clone(),
            service_mask,
            open_at: query.open_at,
            always_open_only: query.always_open_only,
        })
    }

    fn accepts(&self, locator: &Locator, index: usize) -> bool {
        let facts = &locator.facts[index];
        self.district.is_none_or(|d| d == facts.district)
            && (self.tiers.is_empty() || self.tiers.contains(&facts.tier))
            && facts.services & self.service_mask == self.service_mask
            && (!self.always_open_only || facts.always_open)
            && self.open_at.is_none_or(|now| {
                facts.always_open || locator.points.hours(index).iter().any(|i| i.contains(now))
            })
    }
}

/// A map link for the point's QR code: the AMap (高德地图) URI API "marker" page
/// (`https://uri.amap.com/marker?position=LON,LAT&name=…&coordinate=wgs84&callnative=1`),
/// which opens the AMap app on a phone when installed, else the web map, with a pin and
/// "navigate here". `coordinate=wgs84` tells AMap our coordinates are WGS-84 (it converts to
/// its GCJ-02 itself).
pub fn navigation_url(point: &ServicePoint) -> String {
    format!(
        "https://uri.amap.com/marker?position={:.6},{:.6}&name={}&src=renshe-kiosk&coordinate=wgs84&callnative=1",
        point.lon,
        point.lat,
        percent_encode(&point.name)
    )
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_navigation_url_carries_coordinates_and_the_encoded_name() {
        let point = catalogue::generate(catalogue::DEFAULT_SEED, 1)
            .into_iter()
            .find(|p| p.name == "渝中区解放碑街道人社服务站")
            .expect("known street");
        let url = navigation_url(&point);
        assert!(url.starts_with("https://uri.amap.com/marker?position=106."));
        assert!(url.contains(&format!("{:.6},{:.6}", point.lon, point.lat)));
        assert!(url.contains("name=%E6%B8%9D"), "{url}"); // 渝
        assert!(url.is_ascii());
    }

    #[test]
    fn intersect_and_union_work_on_sorted_lists() {
        assert_eq!(intersect(vec![&[1, 3, 5, 7], &[3, 7, 9]]), vec![3, 7]);
        assert_eq!(intersect(vec![]), Vec::<u32>::new());
        let long: Vec<u32> = (0..1000).collect();
        let odd: Vec<u32> = (0..1000).filter(|x| x % 2 == 1).collect();
        assert_eq!(
            intersect_at_most(vec![&long, &[5, 7, 999, 2000]], 10),
            Some(vec![5, 7, 999])
        );
        assert_eq!(intersect_at_most(vec![&long, &odd], 499), None);
        assert_eq!(
            intersect_at_most(vec![&long, &odd], 500).map(|v| v.len()),
            Some(500)
        );
        assert_eq!(intersect_at_most(vec![&odd, &[]], 5), Some(vec![]));
        assert_eq!(union(vec![vec![5, 1], vec![1, 2]]), vec![1, 2, 5]);
    }
}
