//! Chongqing's 38 districts and counties, the only valid values of a terminal's district.

/// One district or county and its seat.
#[derive(Debug, Clone, PartialEq)]
pub struct District {
    pub name: &'static str,
    pub is_county: bool,
    pub latitude: f64,
    pub longitude: f64,
    /// One of the nine districts of the urban core, where service points are densest.
    pub urban_core: bool,
}

const CSV: &str = include_str!("districts.csv");

/// Every district, in the order of the bundled table. The table is compiled in and checked by
/// a test, so a malformed row is a build defect, not a run-time condition.
pub fn all() -> Vec<District> {
    CSV.lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("name,"))
        .filter_map(|line| {
            let mut fields = line.split(',');
            let name = fields.next()?;
            let kind = fields.next()?;
            let latitude = fields.next()?.parse().ok()?;
            let longitude = fields.next()?.parse().ok()?;
            let urban_core = fields.next()? == "1";
            Some(District {
                name,
                is_county: kind == "county",
                latitude,
                longitude,
                urban_core,
            })
        })
        .collect()
}

pub fn is_known(name: &str) -> bool {
    all().iter().any(|district| district.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_all_38_rows_parsed() {
        let rows = all();
        assert_eq!(rows.len(), 38);
        assert_eq!(rows.iter().filter(|d| d.urban_core).count(), 9);
        assert!(is_known("渝中区") && is_known("彭水苗族土家族自治县"));
        assert!(!is_known("朝阳区"));
    }
}
