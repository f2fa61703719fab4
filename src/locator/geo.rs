//! Coordinates, great-circle distance and the parser for `--near LAT,LON`.

use serde::{Deserialize, Serialize};

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// 4.5 km/h, the walking speed behind "a 15-minute walk is about 1.2 km".
pub const WALK_METRES_PER_MINUTE: f64 = 75.0;

/// A validated WGS-84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("\"{0}\" is not LAT,LON (e.g. 29.556,106.568)")]
    Format(String),
    #[error("\"{0}\" is not a number")]
    Number(String),
    #[error("latitude {0} is outside -90..90")]
    Latitude(f64),
    #[error("longitude {0} is outside -180..180")]
    Longitude(f64),
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<GeoPoint, GeoError> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(GeoError::Latitude(lat));
        }
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(GeoError::Longitude(lon));
        }
        Ok(GeoPoint { lat, lon })
    }
}

/// Parses "LAT,LON" (a full-width comma and spaces are accepted, as typed on a phone).
pub fn parse_near(text: &str) -> Result<GeoPoint, GeoError> {
    let normalized = text.trim().replace('，', ",");
    let (lat, lon) = normalized
        .split_once(',')
        .ok_or_else(|| GeoError::Format(text.to_string()))?;
    let number = |part: &str| {
        part.trim()
            .parse::<f64>()
            .map_err(|_| GeoError::Number(part.trim().to_string()))
    };
    GeoPoint::new(number(lat)?, number(lon)?)
}

/// Great-circle (haversine) distance in metres.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (lon2 - lon1).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Minutes on foot at 4.5 km/h, rounded up.
pub fn walk_minutes(distance_m: f64) -> u32 {
    (distance_m / WALK_METRES_PER_MINUTE)
        .ceil()
        .min(f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_parses_and_validates() {
        assert_eq!(
            parse_near(" 29.556，106.568 "),
            Ok(GeoPoint {
                lat: 29.556,
                lon: 106.568
            })
        );
        assert!(matches!(parse_near("29.5"), Err(GeoError::Format(_))));
        assert!(matches!(parse_near("x,1"), Err(GeoError::Number(_))));
        assert!(matches!(parse_near("91,1"), Err(GeoError::Latitude(_))));
        assert!(matches!(parse_near("NaN,1"), Err(GeoError::Latitude(_))));
        assert!(matches!(parse_near("1,inf"), Err(GeoError::Longitude(_))));
    }

    #[test]
    fn one_degree_of_latitude_is_about_111_km_and_a_15_minute_walk_is_1_2_km() {
        let d = distance_m(29.0, 106.0, 30.0, 106.0);
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
        assert_eq!(walk_minutes(1_125.0), 15);
        assert_eq!(walk_minutes(1_200.0), 16);
    }
}
