//! The service-point finder's screen state: what was typed, which filters are on, the
//! results and the open point — resident data, wiped with the session. The search itself is
//! the pure `locator`.

use slint::{ModelRc, SharedPixelBuffer, SharedString, VecModel};

use crate::config::Setting;
use crate::locator::catalogue::{service_item, Area, LocalTime, PartnerKind, ServicePoint, Tier};
use crate::locator::{GeoPoint, Hit, Locator, Query};

use super::{AppWindow, FilterChip, KeyRow, PointDetail, PointRow};

/// How many results the list shows.
const RESULTS: usize = 20;

/// A filter chip and what it does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Filter {
    OpenNow,
    AllDay,
    ThisDistrict,
    /// A service item code of the catalogue.
    Service(u16),
}

const FILTERS: [(&str, Filter); 6] = [
    ("filter-open-now", Filter::OpenNow),
    ("filter-24h", Filter::AllDay),
    ("filter-this-district", Filter::ThisDistrict),
    ("filter-certification", Filter::Service(1)),
    ("filter-card-replacement", Filter::Service(3)),
    ("filter-card-activation", Filter::Service(2)),
];

/// Where the terminal stands: distances are measured from here.
#[derive(Debug, Clone)]
pub struct Terminal {
    pub location: GeoPoint,
    pub setting: Setting,
    pub district: String,
}

pub struct Finder {
    locator: Option<Locator>,
    terminal: Terminal,
    query: String,
    selected: [bool; FILTERS.len()],
    keyboard: bool,
}

impl Finder {
    pub fn new(terminal: Terminal) -> Finder {
        Finder {
            locator: None,
            terminal,
            query: String::new(),
            selected: [false; FILTERS.len()],
            keyboard: false,
        }
    }

    pub fn set_locator(&mut self, locator: Locator) {
        self.locator = Some(locator);
    }

    /// Everything the resident typed or chose goes.
    pub fn wipe(&mut self) {
        self.query.clear();
        self.selected = [false; FILTERS.len()];
        self.keyboard = false;
    }

    pub fn type_key(&mut self, key: &str) {
        // Only what the keyboard offers, and not without end.
        if self.query.chars().count() < 24 && key.chars().all(|c| c.is_ascii_alphanumeric()) {
            self.query.push_str(&key.to_ascii_lowercase());
        }
    }

    pub fn backspace(&mut self) {
        self.query.pop();
    }

    pub fn clear(&mut self) {
        self.query.clear();
    }

    pub fn toggle_keyboard(&mut self) {
        self.keyboard = !self.keyboard;
    }

    pub fn toggle_filter(&mut self, index: usize) {
        if let Some(selected) = self.selected.get_mut(index) {
            *selected = !*selected;
            // One service item at a time: the chips read as "points that can do X".
            if let Some((_, Filter::Service(_))) = FILTERS.get(index) {
                for (other, (_, filter)) in FILTERS.iter().enumerate() {
                    if other != index && matches!(filter, Filter::Service(_)) {
                        self.selected[other] = false;
                    }
                }
            }
        }
    }

    fn query_for(&self, now: LocalTime) -> Query {
        let mut query = Query {
            near: Some(self.terminal.location),
            area: match self.terminal.setting {
                Setting::Urban => Area::Urban,
                Setting::Rural => Area::Rural,
            },
            text: self.query.clone(),
            limit: RESULTS,
            ..Query::default()
        };
        for ((_, filter), selected) in FILTERS.iter().zip(self.selected) {
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

    pub fn search(&self, now: LocalTime) -> Vec<Hit> {
        match &self.locator {
            Some(locator) => locator.search(&self.query_for(now)),
            None => Vec::new(),
        }
    }

    pub fn point(&self, index: usize) -> Option<&ServicePoint> {
        self.locator
            .as_ref()
            .and_then(|locator| locator.point(index))
    }

    /// Draws the finder page: the typed text, chips, results and a status line.
    pub fn apply(&self, app: &AppWindow, now: LocalTime) {
        app.set_finder_query(self.query.as_str().into());
        app.set_finder_keyboard_visible(self.keyboard);
        let chips: Vec<FilterChip> = FILTERS
            .iter()
            .zip(self.selected)
            .map(|((key, _), selected)| FilterChip {
                key: (*key).into(),
                selected,
            })
            .collect();
        app.set_finder_chips(ModelRc::new(VecModel::from(chips)));
        let hits = self.search(now);
        let rows: Vec<PointRow> = hits
            .iter()
            .filter_map(|hit| {
                let point = self.point(hit.index)?;
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
        app.set_finder_status(status.into());
        app.set_finder_results(ModelRc::new(VecModel::from(rows)));
    }

    /// The on-screen keyboard's rows; they never change, so they are set once per window.
    pub fn install_keyboard(app: &AppWindow) {
        app.set_finder_key_rows(key_rows(7, Some(5)));
        app.set_finder_key_rows_elderly(key_rows(6, None));
    }

    /// Draws one point's page, with its navigation QR code.
    pub fn show_point(&self, app: &AppWindow, index: usize, now: LocalTime) {
        let Some(point) = self.point(index) else {
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
        let services = |zh: bool| {
            point
                .services
                .iter()
                .filter_map(|code| service_item(*code))
                .map(|item| if zh { item.name_zh } else { item.name_en })
                .collect::<Vec<_>>()
                .join(if zh { "、" } else { ", " })
        };
        let hours_en = if point.hours.always_open {
            "24 hours".to_string()
        } else {
            point.hours.summary()
        };
        app.set_point_detail(PointDetail {
            name: point.name.as_str().into(),
            tier_key: tier_key(point).into(),
            distance_key: distance_key.into(),
            distance: distance.into(),
            open_key: open_key(point, now).into(),
            address: point.address.as_str().into(),
            hours_zh: hours_in_chinese(&hours_en).into(),
            hours_en: hours_en.as_str().into(),
            phone: point.phone.as_str().into(),
            services_zh: services(true).into(),
            services_en: services(false).into(),
        });
        app.set_point_qr(qr_image(&crate::locator::navigation_url(point)));
    }
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

fn hours_in_chinese(summary: &str) -> String {
    [
        ("24 hours", "24小时开放"),
        ("Mon", "周一"),
        ("Tue", "周二"),
        ("Wed", "周三"),
        ("Thu", "周四"),
        ("Fri", "周五"),
        ("Sat", "周六"),
        ("Sun", "周日"),
        ("-周", "至周"),
    ]
    .iter()
    .fold(summary.to_string(), |text, (from, to)| {
        text.replace(from, to)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_hours_read_in_chinese() {
        assert_eq!(
            hours_in_chinese("Mon-Fri 09:00-12:00 14:00-17:30"),
            "周一至周五 09:00-12:00 14:00-17:30"
        );
        assert_eq!(hours_in_chinese("24 hours"), "24小时开放");
    }

    #[test]
    fn typing_keeps_to_letters_and_digits_and_a_bounded_length() {
        let mut finder = Finder::new(Terminal {
            location: GeoPoint {
                lat: 29.55,
                lon: 106.57,
            },
            setting: Setting::Urban,
            district: "渝中区".into(),
        });
        finder.type_key("J");
        finder.type_key("%");
        finder.type_key("f");
        assert_eq!(finder.query, "jf");
        for _ in 0..40 {
            finder.type_key("b");
        }
        assert_eq!(finder.query.len(), 24);
        finder.toggle_filter(3);
        finder.toggle_filter(4);
        assert_eq!(
            finder.selected[3..],
            [false, true, false],
            "one service chip at a time"
        );
        finder.wipe();
        assert!(finder.query.is_empty() && finder.selected.iter().all(|s| !s));
    }
}
