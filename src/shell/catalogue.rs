//! The service-point catalogue on a terminal: synced from the back end into SQLite
//! (incrementally, by version) and loaded from that copy, so the finder works offline.

use std::path::Path;

use crate::backend::api::{CataloguePage, Operation, Reply};
use crate::backend::engine::{Engine, Outcome};
#[cfg(feature = "demo")]
use crate::backend::sim::CatalogueProvider;
#[cfg(feature = "demo")]
use crate::locator::catalogue::{generate, DEFAULT_SEED};
use crate::locator::catalogue::{CatalogueUpdate, ServicePoint};
use crate::store::Store;

/// The demo back end's catalogue: the generated 13,357 points, all at version 1.
#[cfg(feature = "demo")]
pub struct GeneratedCatalogue {
    items: Vec<serde_json::Value>,
}

#[cfg(feature = "demo")]
impl GeneratedCatalogue {
    pub fn new() -> GeneratedCatalogue {
        let items = generate(DEFAULT_SEED, 1)
            .iter()
            .filter_map(|point| serde_json::to_value(point).ok())
            .collect();
        GeneratedCatalogue { items }
    }
}

#[cfg(feature = "demo")]
impl Default for GeneratedCatalogue {
    fn default() -> Self {
        GeneratedCatalogue::new()
    }
}

#[cfg(feature = "demo")]
impl CatalogueProvider for GeneratedCatalogue {
    fn page(&self, since_version: u64) -> CataloguePage {
        let items = if since_version >= 1 {
            Vec::new()
        } else {
            self.items.clone()
        };
        CataloguePage {
            version: 1,
            items,
            removed: Vec::new(),
            more: false,
        }
    }
}

/// Brings the stored copy up to the back end's version, then returns the stored copy. When
/// the back end cannot be reached, the stored copy is used as it is.
pub async fn sync_and_load(
    engine: &Engine,
    database: &Path,
    key: &crate::store::KeySource,
) -> anyhow::Result<Option<(u64, Vec<ServicePoint>)>> {
    let mut store = Store::open_with(database, key)?;
    let since = store.catalogue_version()?.unwrap_or(0);
    let reference = format!("catalogue-sync-{}", uuid::Uuid::new_v4());
    match engine
        .execute(
            &reference,
            Operation::CatalogueSync {
                since_version: since,
            },
        )
        .await
    {
        Ok(Outcome::Applied {
            reply: Reply::Catalogue(page),
            ..
        }) => apply(&mut store, since, page)?,
        Ok(other) => {
            tracing::warn!(outcome = ?std::mem::discriminant(&other), "catalogue sync not applied; using the stored copy")
        }
        Err(error) => tracing::warn!(%error, "catalogue sync failed; using the stored copy"),
    }
    Ok(store.load_catalogue()?)
}

fn apply(store: &mut Store, since: u64, page: CataloguePage) -> anyhow::Result<()> {
    if page.version <= since {
        return Ok(());
    }
    let upserts: Vec<ServicePoint> = page
        .items
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .map_err(|error| anyhow::anyhow!("the back end sent a malformed service point: {error}"))?;
    if since == 0 {
        store.replace_catalogue(page.version, &upserts)?;
    } else {
        let deletions = page
            .removed
            .iter()
            .filter_map(|id| id.parse().ok())
            .collect();
        store.apply_catalogue_update(&CatalogueUpdate {
            from_version: since,
            to_version: page.version,
            upserts,
            deletions,
        })?;
    }
    tracing::info!(version = page.version, "service-point catalogue synced");
    Ok(())
}
