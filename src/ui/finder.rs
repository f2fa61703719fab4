//! The service-point finder on screen: the core's [`FinderView`] (what the resident typed and
//! chose) turned into a search of the terminal's catalogue and drawn. The locator's index is
//! the terminal's data; nothing of the resident is kept here beyond the last search's key.

use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedPixelBuffer, SharedString, VecModel};

use crate::config::Setting;
use crate::core::{Filter, FinderView, Language};
use crate::i18n::Translator;
use crate::locator::catalogue::{service_item, Area, LocalTime, PartnerKind, ServicePoint, Tier};
use crate::locator::{GeoPoint, Hit, Locator, Query};

use super::{AppWindow, FilterChip, FinderAdapter, KeyRow, PointDetail, PointRow};

/// How many results the list shows.
const RESULTS: usize = 20;

/// Where the terminal stands: distances are measured from here.
#[derive(Debug, Clone)]
pub struct Terminal {
    pub location: GeoPoint,
    pub setting: Setting,
    pub district: String,
}

/// What the last search was for, so an unchanged finder is not searched again.
#[derive(Debug, Clone, PartialEq)]
struct SearchKey {
    text: String,
    filters: Vec<(Filter, bool)>,
    now: LocalTime,
    ready: bool,
}

pub struct Finder {
    locator: Option<Locator>,
    terminal: Terminal,
    translator: Rc<Translator>,
    last_search: Option<SearchKey>,
    shown_point: Option<(u32, Language)>,
}

impl Finder {
    pub fn new(terminal: Terminal, translator: Rc<Translator>) -> Finder {
        Finder {
            locator: None,
            terminal,
            translator,
            last_search: None,
            shown_point: None,
        }
    }

    pub fn set_locator(&mut self, locator: Locator) {
        self.locator = Some(locator);
        self.last_search = None;
    }

    /// How many points the catalogue holds (0 before it has arrived).
    pub fn len(&self) -> usize {
        self.locator.as_ref().map_or(0, |locator| locator.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The locator's query for what the resident typed and chose.
    pub fn query_for(&self, view: &FinderView, now: LocalTime) -> Query {
        let mut query = Query {
            near: Some(self.terminal.location),
            area: match self.terminal.setting {
                Setting::Urban => Area::Urban,
                Setting::Rural => Area::Rural,
            },
            text: view.text.clone(),
            limit: RESULTS,
            ..Query::default()
        };
        for (filter, selected) in &view.filters {
            if !selected {
                continue;
            }
            match filter {
                Filter::OpenNow => query.open_at = Some(now),
                Filter::AllDay => query.always_open_only = true,
                Filter::ThisDistrict => query.district = Some(self.terminal.district.clone()),
                Filter::Service(code) => query.service = Some(*code),
            }
        }
        query
    }

    pub fn search(&self, view: &FinderView, now: LocalTime) -> Vec<Hit> {
        match &self.locator {
            Some(locator) => locator.search(&self.query_for(view, now)),
            None => Vec::new(),
        }
    }

    /// The nearest staffed 人社 office (city, district or town level: partners and village
    /// points cannot unblock a PIN or replace a card), for every failure page's help line.
    pub fn nearest_counter(&self) -> Option<ServicePoint> {
        let locator = self.locator.as_ref()?;
        let query = Query {
            near: Some(self.terminal.location),
            tiers: vec![
                crate::locator::catalogue::Tier::City,
                crate::locator::catalogue::Tier::District,
                crate::locator::catalogue::Tier::Town,
            ],
            limit: 1,
            ..Query::default()
        };
        let hit = locator.search(&query).into_iter().next()?;
        locator.point(hit.index)
    }

    pub fn point(&self, index: usize) -> Option<ServicePoint> {
        self.locator
            .as_ref()
            .and_then(|locator| locator.point(index))
    }

    /// Draws the finder: `None` when the finder is not the active flow (its drawn state is
    /// cleared, so nothing typed outlives the flow).
    pub fn apply(
        &mut self,
        app: &AppWindow,
        view: Option<&FinderView>,
        language: Language,
        now: LocalTime,
    ) {
        let adapter = app.global::<FinderAdapter>();
        let Some(view) = view else {
            if self.last_search.is_some() || self.shown_point.is_some() {
                self.last_search = None;
                self.shown_point = None;
                adapter.set_query("".into());
                adapter.set_keyboard_visible(false);
                adapter.set_results(ModelRc::default());
                adapter.set_point(PointDetail::default());
            }
            return;
        };
        adapter.set_keyboard_visible(view.keyboard);
        adapter.set_print_step(super::print_step(view.print));
        adapter.set_print_message(super::print_message(view.print).into());
        let key = SearchKey {
            text: view.text.clone(),
            filters: view.filters.clone(),
            now,
            ready: self.locator.is_some(),
        };
        if self.last_search.as_ref() != Some(&key) {
            adapter.set_query(view.text.as_str().into());
            let chips: Vec<FilterChip> = view
                .filters
                .iter()
                .map(|(filter, selected)| FilterChip {
                    key: filter.key().into(),
                    selected: *selected,
                })
                .collect();
            adapter.set_chips(ModelRc::new(VecModel::from(chips)));
            let hits = self.search(view, now);
            let rows: Vec<PointRow> = hits
                .iter()
                .filter_map(|hit| {
                    let point = &self.point(hit.index)?;
                    let (distance_key, distance) = distance_text(hit);
                    Some(PointRow {
                        index: i32::try_from(hit.index).ok()?,
                        name: point.name.as_str().into(),
                        tier_key: tier_key(point).into(),
                        distance_key: distance_key.into(),
                        distance: distance.into(),
                        open_key: open_key(point, now).into(),
                    })
                })
                .collect();
            let status = if self.locator.is_none() {
                "finder-loading"
            } else if rows.is_empty() {
                "finder-no-results"
            } else {
                ""
            };
            adapter.set_status(status.into());
            adapter.set_results(ModelRc::new(VecModel::from(rows)));
            self.last_search = Some(key);
        }
        match view.point {
            Some(index) if self.shown_point != Some((index, language)) => {
                self.show_point(app, index as usize, language, now);
                self.shown_point = Some((index, language));
            }
            Some(_) => {}
            None => self.shown_point = None,
        }
    }

    /// The on-screen keyboard's rows; they never change, so they are set once per window.
    pub fn install_keyboard(app: &AppWindow) {
        let adapter = app.global::<FinderAdapter>();
        adapter.set_key_rows(key_rows(7, Some(5)));
        adapter.set_key_rows_elderly(key_rows(6, None));
    }

    /// Draws one point's page, with its navigation QR code.
    fn show_point(&self, app: &AppWindow, index: usize, language: Language, now: LocalTime) {
        let Some(point) = &self.point(index) else {
            return;
        };
        let here = self.terminal.location;
        let distance_m = crate::locator::distance_m(here.lat, here.lon, point.lat, point.lon);
        let hit = Hit {
            index,
            id: point.id,
            distance_m: Some(distance_m),
            walk_minutes: match self.terminal.setting {
                Setting::Urban => Some(crate::locator::walk_minutes(distance_m)),
                Setting::Rural => None,
            },
            score: 0.0,
            class: None,
        };
        let (distance_key, distance) = distance_text(&hit);
        let services = point
            .services
            .iter()
            .filter_map(|code| service_item(*code))
            .map(|item| match language {
                Language::ZhCn => item.name_zh,
                Language::EnUs => item.name_en,
            })
            .collect::<Vec<_>>()
            .join(&self.translator.tr(language, "list-separator"));
        let adapter = app.global::<FinderAdapter>();
        adapter.set_point(PointDetail {
            name: point.name.as_str().into(),
            tier_key: tier_key(point).into(),
            distance_key: distance_key.into(),
            distance: distance.into(),
            open_key: open_key(point, now).into(),
            address: point.address.as_str().into(),
            hours: hours_text(&self.translator, language, point).into(),
            phone: point.phone.as_str().into(),
            services: services.into(),
        });
        adapter.set_qr(qr_image(&crate::locator::navigation_url(point)));
    }
}

/// Opening hours in the resident's language: days grouped where their hours are the same,
/// "Mon–Fri 09:00-12:00 14:00-17:30", with day names from Fluent.
pub fn hours_text(translator: &Translator, language: Language, point: &ServicePoint) -> String {
    let tr = |key: &str| translator.tr(language, key);
    if point.hours.always_open {
        return tr("hours-24h");
    }
    let groups = point.hours.day_groups();
    groups
        .iter()
        .map(|(first, last, spans)| {
            let days = if first == last {
                tr(&format!("weekday-{first}"))
            } else {
                format!(
                    "{}{}{}",
                    tr(&format!("weekday-{first}")),
                    tr("hours-day-range"),
                    tr(&format!("weekday-{last}"))
                )
            };
            format!("{days} {spans}")
        })
        .collect::<Vec<_>>()
        .join(&tr("list-separator"))
}

fn tier_key(point: &ServicePoint) -> &'static str {
    match (point.tier, point.partner_kind) {
        (Tier::City, _) => "tier-city",
        (Tier::District, _) => "tier-district",
        (Tier::Town, _) => "tier-town",
        (Tier::Village, _) => "tier-village",
        (_, Some(PartnerKind::PostOffice)) => "tier-partner-post",
        (_, Some(PartnerKind::Hospital)) => "tier-partner-hospital",
        _ => "tier-partner-bank",
    }
}

fn open_key(point: &ServicePoint, now: LocalTime) -> &'static str {
    if point.hours.always_open {
        "finder-open-24h"
    } else if point.hours.is_open_at(now) {
        "finder-open-now"
    } else {
        "finder-closed-now"
    }
}

/// A walking time in town, kilometres in the countryside (the 15+5 rule's two measures).
fn distance_text(hit: &Hit) -> (&'static str, String) {
    match (hit.walk_minutes, hit.distance_m) {
        (Some(minutes), _) => ("finder-walk", minutes.max(1).to_string()),
        (None, Some(metres)) => ("finder-km", format!("{:.1}", metres / 1000.0)),
        (None, None) => ("finder-km", "?".into()),
    }
}

/// Letters, then digits: `per_row` keys a row, digits on rows of their own (`digits_per_row`)
/// or, where height is short (elderly mode's big keys), following the letters.
fn key_rows(per_row: usize, digits_per_row: Option<usize>) -> ModelRc<KeyRow> {
    let letters: Vec<char> = ('a'..='z').collect();
    let digits: Vec<char> = "0123456789".chars().collect();
    let chunks: Vec<&[char]> = match digits_per_row {
        Some(digits_per_row) => letters
            .chunks(per_row)
            .chain(digits.chunks(digits_per_row))
            .collect(),
        None => Vec::new(),
    };
    let all: Vec<char> = letters.iter().chain(&digits).copied().collect();
    let chunks = if chunks.is_empty() {
        all.chunks(per_row).collect()
    } else {
        chunks
    };
    let rows: Vec<KeyRow> = chunks
        .into_iter()
        .map(|chunk| {
            let keys: Vec<SharedString> = chunk
                .iter()
                .map(|c| SharedString::from(c.to_string()))
                .collect();
            KeyRow {
                keys: ModelRc::new(VecModel::from(keys)),
            }
        })
        .collect();
    ModelRc::new(VecModel::from(rows))
}

/// Letters only, `per_row` a row: the name keyboard (names are typed in pinyin).
pub fn letter_rows(per_row: usize) -> ModelRc<KeyRow> {
    let letters: Vec<char> = ('a'..='z').collect();
    let rows: Vec<KeyRow> = letters
        .chunks(per_row)
        .map(|chunk| KeyRow {
            keys: ModelRc::new(VecModel::from(
                chunk
                    .iter()
                    .map(|c| SharedString::from(c.to_string()))
                    .collect::<Vec<_>>(),
            )),
        })
        .collect();
    ModelRc::new(VecModel::from(rows))
}

/// A QR code as a picture: black modules on white, with the quiet zone, 8 pixels a module.
pub fn qr_image(text: &str) -> slint::Image {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return slint::Image::default();
    };
    let modules = code.width();
    let colors = code.to_colors();
    let scale = 8;
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let mut buffer = SharedPixelBuffer::<slint::Rgb8Pixel>::new(side as u32, side as u32);
    let pixels = buffer.make_mut_slice();
    for (index, pixel) in pixels.iter_mut().enumerate() {
        let (x, y) = (index % side / scale, index / side / scale);
        let dark = x >= quiet
            && y >= quiet
            && x < quiet + modules
            && y < quiet + modules
            && colors[(y - quiet) * modules + (x - quiet)] == qrcode::Color::Dark;
        let value = if dark { 0 } else { 255 };
        *pixel = slint::Rgb8Pixel {
            r: value,
            g: value,
            b: value,
        };
    }
    slint::Image::from_rgb8(buffer)
}

/// The local time as the locator's filters need it.
pub fn local_time(now: chrono::NaiveDateTime) -> LocalTime {
    use chrono::{Datelike, Timelike};
    LocalTime {
        weekday: now.weekday().num_days_from_monday() as u8,
        minute: (now.hour() * 60 + now.minute()) as u16,
    }
}
