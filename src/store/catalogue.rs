//! The kiosk's copy of the service-point catalogue: replaced whole or updated incrementally
//! by version, and loaded whole into the in-memory locator so the finder works offline.
//! Also the SQL-only search used as the benchmark's baseline.

use rusqlite::{params, params_from_iter, OptionalExtension};

use super::{Store, StoreError};
use crate::locator::catalogue::{
    validate_point, validate_update, CatalogueError, CatalogueUpdate, ServicePoint, UpdateError,
};
use crate::locator::text::{pinyin_keys, PreparedText};
use crate::locator::Query;

#[derive(Debug, thiserror::Error)]
pub enum CatalogueStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored service point {id} cannot be read back: {source}")]
    Corrupt { id: i64, source: serde_json::Error },
    #[error("the update starts at version {from}, but the stored catalogue is at {stored:?}")]
    VersionMismatch { from: u64, stored: Option<u64> },
    #[error("catalogue version {0} does not fit the store")]
    VersionRange(u64),
    #[error(transparent)]
    Invalid(#[from] CatalogueError),
    #[error(transparent)]
    Update(#[from] UpdateError),
}

impl From<rusqlite::Error> for CatalogueStoreError {
    fn from(error: rusqlite::Error) -> Self {
        CatalogueStoreError::Store(StoreError::from(error))
    }
}

fn to_sql_version(version: u64) -> Result<i64, CatalogueStoreError> {
    i64::try_from(version).map_err(|_| CatalogueStoreError::VersionRange(version))
}

fn tier_key(point: &ServicePoint) -> &'static str {
    point.tier.name_en()
}

/// `,3,5,7,` so a SQL `LIKE '%,5,%'` tests one item.
fn services_column(point: &ServicePoint) -> String {
    let mut column = String::from(",");
    for code in &point.services {
        column.push_str(&code.to_string());
        column.push(',');
    }
    column
}

fn upsert(
    tx: &rusqlite::Transaction<'_>,
    points: &[ServicePoint],
) -> Result<(), CatalogueStoreError> {
    let mut statement = tx.prepare_cached(
        "INSERT INTO service_points
             (id, name, tier, district, lat, lon, services, pinyin, initials, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET
             name = excluded.name, tier = excluded.tier, district = excluded.district,
             lat = excluded.lat, lon = excluded.lon, services = excluded.services,
             pinyin = excluded.pinyin, initials = excluded.initials, record = excluded.record",
    )?;
    for point in points {
        let keys = pinyin_keys(&point.name);
        let record =
            serde_json::to_string(point).map_err(|source| CatalogueStoreError::Corrupt {
                id: i64::from(point.id),
                source,
            })?;
        statement.execute(params![
            point.id,
            point.name,
            tier_key(point),
            point.district,
            point.lat,
            point.lon,
            services_column(point),
            keys.full,
            keys.initials,
            record
        ])?;
    }
    Ok(())
}

fn set_version(tx: &rusqlite::Transaction<'_>, version: u64) -> Result<(), CatalogueStoreError> {
    tx.execute(
        "INSERT INTO catalogue_meta (id, version) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        [to_sql_version(version)?],
    )?;
    Ok(())
}

impl Store {
    /// The version of the stored catalogue, `None` when the kiosk has none yet.
    pub fn catalogue_version(&self) -> Result<Option<u64>, CatalogueStoreError> {
        let version: Option<i64> = self
            .conn
            .query_row(
                "SELECT version FROM catalogue_meta WHERE id = 1",
                [],
                |row| row.get(0),
            )
            .optional()?;
        Ok(version.and_then(|v| u64::try_from(v).ok()))
    }

    /// Replaces the whole catalogue (first sync, or when the back end says so), atomically.
    pub fn replace_catalogue(
        &mut self,
        version: u64,
        points: &[ServicePoint],
    ) -> Result<(), CatalogueStoreError> {
        for point in points {
            validate_point(point)?;
        }
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM service_points", [])?;
        upsert(&tx, points)?;
        set_version(&tx, version)?;
        tx.commit()?;
        tracing::info!(
            version,
            points = points.len(),
            "service-point catalogue replaced"
        );
        Ok(())
    }

    /// Starts a full copy that arrives in pages: the stored points and the version go, so
    /// until [`Store::write_catalogue_page`] stores the last page with its version the kiosk
    /// has no catalogue (rather than half of one taken for the whole).
    pub fn begin_catalogue_replace(&mut self) -> Result<(), CatalogueStoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM service_points", [])?;
        tx.execute("DELETE FROM catalogue_meta WHERE id = 1", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Writes one page of a sync in its own transaction: `deletions` go, `upserts` are
    /// stored (over any earlier copy of the same id). `version`, given with the last page
    /// only, becomes the stored catalogue's version.
    pub fn write_catalogue_page(
        &mut self,
        upserts: &[ServicePoint],
        deletions: &[u32],
        version: Option<u64>,
    ) -> Result<(), CatalogueStoreError> {
        for point in upserts {
            validate_point(point)?;
        }
        let tx = self.conn.transaction()?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM service_points WHERE id = ?1")?;
            for id in deletions {
                delete.execute([id])?;
            }
        }
        upsert(&tx, upserts)?;
        if let Some(version) = version {
            set_version(&tx, version)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Applies an incremental update atomically; refuses one that does not start at the
    /// stored version (the caller then asks the back end for a full copy).
    pub fn apply_catalogue_update(
        &mut self,
        update: &CatalogueUpdate,
    ) -> Result<(), CatalogueStoreError> {
        validate_update(update)?;
        let stored = self.catalogue_version()?;
        if stored != Some(update.from_version) {
            return Err(CatalogueStoreError::VersionMismatch {
                from: update.from_version,
                stored,
            });
        }
        let tx = self.conn.transaction()?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM service_points WHERE id = ?1")?;
            for id in &update.deletions {
                delete.execute([id])?;
            }
        }
        upsert(&tx, &update.upserts)?;
        set_version(&tx, update.to_version)?;
        tx.commit()?;
        tracing::info!(
            from = update.from_version,
            to = update.to_version,
            upserts = update.upserts.len(),
            deletions = update.deletions.len(),
            "service-point catalogue updated"
        );
        Ok(())
    }

    /// Every stored point in id order, with the catalogue version; `None` without a catalogue.
    pub fn load_catalogue(&self) -> Result<Option<(u64, Vec<ServicePoint>)>, CatalogueStoreError> {
        self.load_catalogue_with(|points| points.collect())
    }

    /// The stored catalogue's version and what `build` made of its points, read one by one
    /// in id order (`build` may keep them in any form: the finder keeps them compactly). A
    /// record that does not parse ends the points `build` sees and makes the load fail.
    pub fn load_catalogue_with<T>(
        &self,
        build: impl FnOnce(&mut dyn Iterator<Item = ServicePoint>) -> T,
    ) -> Result<Option<(u64, T)>, CatalogueStoreError> {
        let Some(version) = self.catalogue_version()? else {
            return Ok(None);
        };
        // How many rows there are, so the finder sizes its tables once instead of doubling.
        let count: usize = self
            .conn
            .query_row("SELECT count(*) FROM service_points", [], |row| {
                row.get::<_, i64>(0)
            })?
            .try_into()
            .unwrap_or(0);
        let mut statement = self
            .conn
            .prepare("SELECT id, record FROM service_points ORDER BY id")?;
        let mut rows = statement.query([])?;
        let mut failed: Option<CatalogueStoreError> = None;
        let rows = std::iter::from_fn(|| {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => return None,
                Err(error) => {
                    failed = Some(error.into());
                    return None;
                }
            };
            let parsed = row
                .get::<_, i64>(0)
                .and_then(|id| Ok((id, row.get::<_, String>(1)?)))
                .map_err(CatalogueStoreError::from)
                .and_then(|(id, record)| {
                    serde_json::from_str(&record)
                        .map_err(|source| CatalogueStoreError::Corrupt { id, source })
                });
            match parsed {
                Ok(point) => Some(point),
                Err(error) => {
                    failed = Some(error);
                    None
                }
            }
        });
        let mut points = AtMost {
            inner: rows,
            left: count,
        };
        let built = build(&mut points);
        match failed {
            Some(error) => Err(error),
            None => Ok(Some((version, built))),
        }
    }

    /// Builds the FTS5 trigram index [`Store::baseline_search`] needs, from the stored points
    /// (again, if it exists). Only the locator bench and its test use it: a terminal's
    /// database has no such index (schema version 6), the finder keeps its own in memory.
    pub fn build_baseline_index(&self) -> Result<(), CatalogueStoreError> {
        self.conn.execute_batch(
            "CREATE VIRTUAL TABLE IF NOT EXISTS service_points_fts USING fts5 (
                 name, pinyin, initials,
                 content = 'service_points', content_rowid = 'id', tokenize = 'trigram'
             );
             INSERT INTO service_points_fts (service_points_fts) VALUES ('rebuild');",
        )?;
        Ok(())
    }

    /// The benchmark's baseline: the query answered by SQLite alone, after
    /// [`Store::build_baseline_index`] (the index is not kept up to date). Text uses the FTS5
    /// trigram index on name, full pinyin and initials (LIKE for queries under 3 characters),
    /// so it finds exact substrings only (no typos, homophones or in-order matches); distance
    /// is the equirectangular approximation, computed and sorted in SQL. `open_at` and
    /// `always_open_only` are not supported (the hours live in the JSON record).
    /// Returns (id, distance in metres or 0).
    pub fn baseline_search(&self, query: &Query) -> Result<Vec<(u32, f64)>, CatalogueStoreError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let bind = |value: rusqlite::types::Value, values: &mut Vec<_>| {
            values.push(value);
            format!("?{}", values.len())
        };
        use rusqlite::types::Value;
        if let Some(prepared) = PreparedText::new(&query.text) {
            let needle = match prepared {
                PreparedText::Chinese { chars, .. } => chars.into_iter().collect::<String>(),
                PreparedText::Latin(letters) => letters,
            };
            if needle.chars().count() >= 3 {
                let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
                let p = bind(Value::Text(phrase), &mut values);
                conditions.push(format!(
                    "id IN (SELECT rowid FROM service_points_fts WHERE service_points_fts MATCH {p})"
                ));
            } else {
                let like = format!("%{needle}%");
                let p = bind(Value::Text(like), &mut values);
                conditions.push(format!(
                    "(name LIKE {p} OR pinyin LIKE {p} OR initials LIKE {p})"
                ));
            }
        }
        if let Some(district) = &query.district {
            let p = bind(Value::Text(district.clone()), &mut values);
            conditions.push(format!("district = {p}"));
        }
        if !query.tiers.is_empty() {
            let list: Vec<String> = query
                .tiers
                .iter()
                .map(|tier| bind(Value::Text(tier.name_en().to_string()), &mut values))
                .collect();
            conditions.push(format!("tier IN ({})", list.join(", ")));
        }
        if let Some(code) = query.service {
            let p = bind(Value::Text(format!("%,{code},%")), &mut values);
            conditions.push(format!("services LIKE {p}"));
        }
        let distance = match query.near {
            Some(near) => {
                let metres_per_degree = 111_195.0;
                let lat = bind(Value::Real(near.lat), &mut values);
                let lon = bind(Value::Real(near.lon), &mut values);
                let ky = bind(Value::Real(metres_per_degree), &mut values);
                let kx = bind(
                    Value::Real(metres_per_degree * near.lat.to_radians().cos()),
                    &mut values,
                );
                format!(
                    "((lat - {lat}) * {ky}) * ((lat - {lat}) * {ky}) + ((lon - {lon}) * {kx}) * ((lon - {lon}) * {kx})"
                )
            }
            None => "0.0".to_string(),
        };
        if let Some(max) = query.max_distance_m.filter(|_| query.near.is_some()) {
            let p = bind(Value::Real(max * max), &mut values);
            conditions.push(format!("{distance} <= {p}"));
        }
        let limit = bind(
            Value::Integer(i64::try_from(query.limit).unwrap_or(i64::MAX)),
            &mut values,
        );
        let sql = format!(
            "SELECT id, {distance} AS d2 FROM service_points {} ORDER BY d2, id LIMIT {limit}",
            if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            }
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params_from_iter(values), |row| {
            Ok((row.get::<_, u32>(0)?, row.get::<_, f64>(1)?.sqrt()))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// An iterator that says it yields at most `left` items (its upper size hint): the rows
/// counted before they are read. It may yield fewer (a read error ends it early).
struct AtMost<I> {
    inner: I,
    left: usize,
}

impl<I: Iterator> Iterator for AtMost<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.left = self.left.saturating_sub(1);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locator::catalogue::{generate, DEFAULT_SEED};

    #[test]
    fn the_points_stream_in_id_order_and_a_corrupt_record_fails_the_load_by_its_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("k.db")).expect("open");
        let points: Vec<ServicePoint> = generate(DEFAULT_SEED, 1).into_iter().take(50).collect();
        store.replace_catalogue(7, &points).expect("stored");

        let (version, ids) = store
            .load_catalogue_with(|stream| stream.map(|p| p.id).collect::<Vec<_>>())
            .expect("load")
            .expect("a catalogue");
        assert_eq!(version, 7);
        assert_eq!(ids, points.iter().map(|p| p.id).collect::<Vec<_>>());

        let broken = points[20].id;
        store
            .conn
            .execute(
                "UPDATE service_points SET record = '{\"id\":' WHERE id = ?1",
                [broken],
            )
            .expect("corrupted");
        let mut seen = 0;
        let result = store.load_catalogue_with(|stream| seen = stream.count());
        assert_eq!(
            seen, 20,
            "the points before the bad record, then the stream ends"
        );
        match result {
            Err(CatalogueStoreError::Corrupt { id, .. }) => assert_eq!(id, i64::from(broken)),
            other => panic!("expected the corrupt record's id, got {other:?}"),
        }
    }
}
