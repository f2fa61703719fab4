//! A uniform latitude/longitude grid over the catalogue's bounding box, searched ring by ring
//! outwards from the query, with a provable lower bound on the distance of the next ring.

use super::geo::{GeoPoint, EARTH_RADIUS_M};

/// Cells are square in degrees; about this many points share a cell on average.
const POINTS_PER_CELL: f64 = 16.0;
const MAX_CELLS: f64 = 16_000_000.0;
const MIN_CELL_DEG: f64 = 0.002;
/// The most points the fullest cell may hold before cells are halved.
const FULLEST_CELL: u32 = 48;

pub(super) struct Grid {
    lat0: f64,
    lon0: f64,
    cell_deg: f64,
    rows: usize,
    cols: usize,
    /// `items[starts[c]..starts[c + 1]]` are the points of cell `c` (CSR layout).
    starts: Vec<u32>,
    items: Vec<u32>,
    /// The largest |latitude| of any point, for the longitude part of the lower bound.
    max_abs_lat: f64,
}

pub(super) enum Step<'a> {
    /// The points of one cell of the current ring.
    Cell(&'a [u32]),
    /// The ring is done; every point not visited yet is at least this far (`None`: none left).
    RingDone(Option<f64>),
}

impl Grid {
    pub(super) fn new(positions: impl Iterator<Item = (f64, f64)> + Clone) -> Grid {
        let (mut lat_min, mut lat_max, mut lon_min, mut lon_max) =
            (90.0f64, -90.0f64, 180.0f64, -180.0f64);
        let mut count = 0usize;
        for (lat, lon) in positions.clone() {
            lat_min = lat_min.min(lat);
            lat_max = lat_max.max(lat);
            lon_min = lon_min.min(lon);
            lon_max = lon_max.max(lon);
            count += 1;
        }
        if count == 0 {
            (lat_min, lat_max, lon_min, lon_max) = (0.0, 0.0, 0.0, 0.0);
        }
        let area = ((lat_max - lat_min) * (lon_max - lon_min)).max(1e-6);
        let wanted_cells = (count as f64 / POINTS_PER_CELL).clamp(1.0, MAX_CELLS);
        let mut cell_deg = (area / wanted_cells).sqrt().clamp(MIN_CELL_DEG, 10.0);
        // Cities are far denser than the average: shrink cells until the fullest one is small
        // (or the grid reaches its size cap), so a query in the urban core reads few points.
        loop {
            let finer = cell_deg / 2.0;
            let cells = ((lat_max - lat_min) / finer + 1.0) * ((lon_max - lon_min) / finer + 1.0);
            if finer < MIN_CELL_DEG || cells > MAX_CELLS.min(4.0 * count as f64 + 1024.0) {
                break;
            }
            let mut counts: std::collections::HashMap<(i64, i64), u32> =
                std::collections::HashMap::new();
            let mut fullest = 0;
            for (lat, lon) in positions.clone() {
                let key = (
                    ((lat - lat_min) / cell_deg) as i64,
                    ((lon - lon_min) / cell_deg) as i64,
                );
                let n = counts.entry(key).or_insert(0);
                *n += 1;
                fullest = fullest.max(*n);
            }
            if fullest <= FULLEST_CELL {
                break;
            }
            cell_deg = finer;
        }
        let rows = ((lat_max - lat_min) / cell_deg) as usize + 1;
        let cols = ((lon_max - lon_min) / cell_deg) as usize + 1;
        let mut grid = Grid {
            lat0: lat_min,
            lon0: lon_min,
            cell_deg,
            rows,
            cols,
            starts: vec![0; rows * cols + 1],
            items: vec![0; count],
            max_abs_lat: lat_min.abs().max(lat_max.abs()),
        };
        let cells: Vec<usize> = positions.map(|(lat, lon)| grid.cell_of(lat, lon)).collect();
        for &cell in &cells {
            grid.starts[cell + 1] += 1;
        }
        for c in 0..rows * cols {
            grid.starts[c + 1] += grid.starts[c];
        }
        let mut fill: Vec<u32> = grid.starts[..rows * cols].to_vec();
        for (index, &cell) in cells.iter().enumerate() {
            grid.items[fill[cell] as usize] = index as u32;
            fill[cell] += 1;
        }
        grid
    }

    fn row_col(&self, lat: f64, lon: f64) -> (usize, usize) {
        let clamp = |value: f64, n: usize| -> usize {
            if value.is_nan() || value < 0.0 {
                0
            } else {
                (value as usize).min(n - 1)
            }
        };
        (
            clamp((lat - self.lat0) / self.cell_deg, self.rows),
            clamp((lon - self.lon0) / self.cell_deg, self.cols),
        )
    }

    fn cell_of(&self, lat: f64, lon: f64) -> usize {
        let (row, col) = self.row_col(lat, lon);
        row * self.cols + col
    }

    fn cell(&self, row: usize, col: usize) -> &[u32] {
        let c = row * self.cols + col;
        &self.items[self.starts[c] as usize..self.starts[c + 1] as usize]
    }

    /// A lower bound on the distance from `near` to any point in ring `ring` or beyond: such a
    /// point differs from the query by at least `ring - 1` cells in latitude or in longitude.
    fn ring_bound(&self, near: GeoPoint, ring: usize) -> f64 {
        let steps = ring.saturating_sub(1) as f64;
        let dlat = (steps * self.cell_deg).to_radians();
        let dlon = (steps * self.cell_deg)
            .to_radians()
            .min(std::f64::consts::PI);
        let by_lat = EARTH_RADIUS_M * dlat;
        // hav(d) ≥ cos φ1 cos φ2 hav(Δλ) ≥ cos² φmax hav(Δλ).
        let cos_max = self
            .max_abs_lat
            .max(near.lat.abs())
            .min(90.0)
            .to_radians()
            .cos();
        let by_lon = 2.0 * EARTH_RADIUS_M * (cos_max * (dlon / 2.0).sin()).min(1.0).asin();
        // A hair below, so rounding never turns the bound into an overestimate.
        by_lat.min(by_lon) * (1.0 - 1e-9)
    }

    /// Visits cells ring by ring around `near` until `step` returns true or the grid is done.
    /// Gives up after `cell_budget` cells and returns false: then a plain scan of every point
    /// is cheaper than walking on through empty cells.
    pub(super) fn walk(
        &self,
        near: GeoPoint,
        cell_budget: usize,
        mut step: impl FnMut(Step<'_>) -> bool,
    ) -> bool {
        let mut cells_left = cell_budget;
        let (qr, qc) = self.row_col(near.lat, near.lon);
        let last_ring = qr.max(self.rows - 1 - qr).max(qc).max(self.cols - 1 - qc);
        for ring in 0..=last_ring {
            let row_lo = qr.saturating_sub(ring);
            let row_hi = (qr + ring).min(self.rows - 1);
            let col_lo = qc.saturating_sub(ring);
            let col_hi = (qc + ring).min(self.cols - 1);
            for row in row_lo..=row_hi {
                let on_edge_row = row + ring == qr || row == qr + ring;
                if on_edge_row {
                    for col in col_lo..=col_hi {
                        if step(Step::Cell(self.cell(row, col))) {
                            return true;
                        }
                    }
                } else {
                    for col in [qc.checked_sub(ring), Some(qc + ring)]
                        .into_iter()
                        .flatten()
                    {
                        if col < self.cols && step(Step::Cell(self.cell(row, col))) {
                            return true;
                        }
                    }
                }
            }
            let bound = (ring < last_ring).then(|| self.ring_bound(near, ring + 1));
            if step(Step::RingDone(bound)) {
                return true;
            }
            let ring_cells = (row_hi - row_lo + 1) * (col_hi - col_lo + 1);
            match cells_left.checked_sub(ring_cells) {
                Some(left) => cells_left = left,
                None => return false,
            }
        }
        true
    }
}
