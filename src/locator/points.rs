//! The finder's copy of the catalogue, stored compactly (issue 14): every point's text in one
//! string, its hours and service items in shared arrays, district names interned. A
//! [`ServicePoint`] is put together only for the few points a screen shows; as separate
//! records the 13,357 points took about 9 MB of small allocations, here about 3 MB.

use super::catalogue::{
    Area, OpeningHours, PartnerKind, ServiceCode, ServicePoint, Tier, WeeklyInterval,
};

/// One point: its place in the shared arrays and its small fields. (The locator keeps the
/// fields its filters scan in `PointFacts` as well, packed for the scan; the demo back end
/// keeps a store without a locator.)
#[derive(Debug, Clone, Copy)]
struct Record {
    id: u32,
    /// Where the point's name, address, phone and photo end in `text` (each starts where the
    /// one before ends; the name where the previous record's photo ends).
    ends: [u32; 4],
    services: Span,
    hours: Span,
    district: u32,
    tier: Tier,
    partner_kind: Option<PartnerKind>,
    area: Area,
    always_open: bool,
    lat: f64,
    lon: f64,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of<T>(list: &[T], start: usize) -> Span {
        Span {
            start: start as u32,
            len: list.len() as u32,
        }
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

/// The catalogue's points, in catalogue order; indexes are the locator's point indexes.
#[derive(Debug, Default)]
pub struct PointStore {
    records: Vec<Record>,
    text: String,
    services: Vec<ServiceCode>,
    hours: Vec<WeeklyInterval>,
    /// District names by id (ids in order of first appearance).
    districts: Vec<Box<str>>,
}

impl PointStore {
    /// A store of `points`, in their order.
    #[cfg(test)]
    pub fn from_points(points: impl IntoIterator<Item = ServicePoint>) -> PointStore {
        let mut store = PointStore::default();
        for point in points {
            store.push(&point);
        }
        store.shrink_to_fit();
        store
    }

    /// Adds a point and returns its district's id (ids in order of first appearance; a
    /// catalogue has a few dozen districts, so a scan finds one).
    pub fn push(&mut self, point: &ServicePoint) -> u32 {
        let district = match self.districts.iter().position(|d| **d == *point.district) {
            Some(id) => id as u32,
            None => {
                self.districts.push(point.district.as_str().into());
                (self.districts.len() - 1) as u32
            }
        };
        let mut ends = [0u32; 4];
        for (end, field) in
            ends.iter_mut()
                .zip([&point.name, &point.address, &point.phone, &point.photo])
        {
            self.text.push_str(field);
            *end = self.text.len() as u32;
        }
        let services = Span::of(&point.services, self.services.len());
        self.services.extend_from_slice(&point.services);
        let hours = Span::of(&point.hours.weekly, self.hours.len());
        self.hours.extend_from_slice(&point.hours.weekly);
        self.records.push(Record {
            id: point.id,
            ends,
            services,
            hours,
            district,
            tier: point.tier,
            partner_kind: point.partner_kind,
            area: point.area,
            always_open: point.hours.always_open,
            lat: point.lat,
            lon: point.lon,
        });
        district
    }

    /// District names by id.
    pub fn districts(&self) -> &[Box<str>] {
        &self.districts
    }

    /// How many points have an id up to `id` (points are in id order when the catalogue
    /// is): where a page after `id` begins.
    #[cfg(any(test, feature = "demo"))]
    pub fn count_through(&self, id: u32) -> usize {
        self.records.partition_point(|record| record.id <= id)
    }

    /// Gives back the growth slack of the shared arrays once every point is in.
    pub fn shrink_to_fit(&mut self) {
        self.records.shrink_to_fit();
        self.text.shrink_to_fit();
        self.services.shrink_to_fit();
        self.hours.shrink_to_fit();
        self.districts.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn id(&self, index: usize) -> u32 {
        self.records[index].id
    }

    /// The point's fields in `text`: name, address, phone, photo.
    fn fields(&self, index: usize) -> [&str; 4] {
        let record = &self.records[index];
        let start = index
            .checked_sub(1)
            .map_or(0, |before| self.records[before].ends[3]) as usize;
        let mut from = start;
        record.ends.map(|end| {
            let field = &self.text[from..end as usize];
            from = end as usize;
            field
        })
    }

    pub fn name(&self, index: usize) -> &str {
        self.fields(index)[0]
    }

    pub fn hours(&self, index: usize) -> &[WeeklyInterval] {
        &self.hours[self.records[index].hours.range()]
    }

    /// The point as the catalogue gave it.
    pub fn point(&self, index: usize) -> Option<ServicePoint> {
        let record = self.records.get(index)?;
        let [name, address, phone, photo] = self.fields(index);
        Some(ServicePoint {
            id: record.id,
            name: name.to_owned(),
            tier: record.tier,
            partner_kind: record.partner_kind,
            district: self
                .districts
                .get(record.district as usize)
                .map_or_else(String::new, |d| d.to_string()),
            address: address.to_owned(),
            lat: record.lat,
            lon: record.lon,
            area: record.area,
            hours: OpeningHours {
                always_open: record.always_open,
                weekly: self.hours(index).to_vec(),
            },
            phone: phone.to_owned(),
            photo: photo.to_owned(),
            services: self.services[record.services.range()].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locator::catalogue::{generate, DEFAULT_SEED};

    #[test]
    fn every_point_comes_back_as_it_went_in() {
        let points = generate(DEFAULT_SEED, 1);
        let store = PointStore::from_points(points.clone());
        assert_eq!(store.len(), points.len());
        let mut districts: Vec<&str> = Vec::new();
        for point in &points {
            if !districts.contains(&point.district.as_str()) {
                districts.push(&point.district);
            }
        }
        let interned: Vec<&str> = store.districts().iter().map(|d| &**d).collect();
        assert_eq!(interned, districts);
        assert_eq!(store.count_through(0), 0);
        assert_eq!(store.count_through(points[9].id), 10);
        for (index, point) in points.iter().enumerate() {
            assert_eq!(store.point(index).as_ref(), Some(point), "point {index}");
            assert_eq!(store.name(index), point.name);
        }
        assert_eq!(store.point(points.len()), None);
    }
}
