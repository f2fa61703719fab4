//! The service-point catalogue on a terminal: synced from the back end into SQLite
//! (incrementally, by version, in bounded pages) and loaded from that copy, so the finder
//! works offline.

use std::path::Path;

#[cfg(feature = "demo")]
use crate::backend::api::CataloguePage;
use crate::backend::api::{Operation, Reply};
use crate::backend::engine::{Engine, Outcome};
#[cfg(feature = "demo")]
use crate::backend::sim::CatalogueProvider;
#[cfg(feature = "demo")]
use crate::locator::catalogue::{generate_each, DEFAULT_SEED};
#[cfg(feature = "demo")]
use crate::locator::points::PointStore;
use crate::locator::Locator;
use crate::store::Store;

/// How many points the kiosk asks for in one page of the sync (about 0.35 MB of JSON).
pub const SYNC_PAGE: u32 = 500;
/// A sync that needs more pages than this is refused: a back end that never stops saying
/// `more` does not keep the kiosk busy forever (13,357 points take 27 pages).
const MAX_PAGES: usize = 10_000;

/// The demo back end's catalogue: the generated 13,357 points, all at version 1. Nothing is
/// generated until a full sync asks for its first page; the points are then kept, compactly,
/// only until the sync's last page is served.
#[cfg(feature = "demo")]
#[derive(Default)]
pub struct GeneratedCatalogue {
    during_sync: std::sync::Mutex<Option<PointStore>>,
}

#[cfg(feature = "demo")]
impl GeneratedCatalogue {
    pub fn new() -> GeneratedCatalogue {
        GeneratedCatalogue::default()
    }
}

#[cfg(feature = "demo")]
impl CatalogueProvider for GeneratedCatalogue {
    fn page(&self, since_version: u64, after: Option<u32>, limit: usize) -> CataloguePage {
        let mut page = CataloguePage {
            version: 1,
            items: Vec::new(),
            removed: Vec::new(),
            more: false,
        };
        if since_version >= 1 {
            return page;
        }
        let mut during_sync = self
            .during_sync
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let points = during_sync.get_or_insert_with(|| {
            let mut points = PointStore::default();
            generate_each(DEFAULT_SEED, 1, |point| {
                points.push(&point);
            });
            points.shrink_to_fit();
            // Each generated point was a record of small allocations, gone now.
            crate::shell::trim_heap();
            points
        });
        // The generated points are in id order.
        let start = after.map_or(0, |after| points.count_through(after));
        let end = start.saturating_add(limit).min(points.len());
        page.items = (start..end)
            .filter_map(|index| points.point(index))
            .collect();
        page.more = end < points.len();
        if !page.more {
            *during_sync = None;
        }
        page
    }
}

/// A stored catalogue: its version and the finder's index of its points.
pub type StoredCatalogue = (u64, Locator);

/// Brings the stored copy up to the back end's version, then builds the finder's index from
/// the stored copy, point by point as they are read (never all of them as records at once),
/// and returns it with whether the sync reached the back end. When it cannot be reached,
/// the stored copy is used as it is.
pub async fn sync_and_load(
    engine: &Engine,
    database: &Path,
    key: &crate::store::KeySource,
) -> anyhow::Result<(bool, Option<StoredCatalogue>)> {
    let mut store = Store::open_with(database, key)?;
    let synced = match sync(engine, &mut store).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "catalogue sync failed; using the stored copy");
            false
        }
    };
    // The sync's pages are gone: give their memory back before the index is built.
    crate::shell::trim_heap();
    Ok((
        synced,
        store.load_catalogue_with(|points| Locator::new(points))?,
    ))
}

/// Brings the stored catalogue up to the back end's version, one page at a time: each page
/// is parsed into typed points and written in its own transaction, so no more than a page is
/// ever held in memory. The version is stored with the last page only, so a sync cut off
/// half-way is never taken for a complete copy (the next start asks again from the stored
/// version, and the pages already written are written again).
pub async fn sync(engine: &Engine, store: &mut Store) -> anyhow::Result<()> {
    let since = store.catalogue_version()?.unwrap_or(0);
    let mut after: Option<u32> = None;
    // The version of the first page: if the back end's catalogue changes during the sync,
    // the next sync starts from the earlier version and so picks up the change.
    let mut version: Option<u64> = None;
    let mut points = 0usize;
    for page_number in 0..MAX_PAGES {
        let reference = format!("catalogue-sync-{}", uuid::Uuid::new_v4());
        let page = match engine
            .execute(
                &reference,
                Operation::CatalogueSync {
                    since_version: since,
                    after,
                    limit: Some(SYNC_PAGE),
                },
            )
            .await?
        {
            Outcome::Applied {
                reply: Reply::Catalogue(page),
                ..
            } => page,
            other => anyhow::bail!(
                "catalogue page {page_number} not applied ({:?})",
                std::mem::discriminant(&other)
            ),
        };
        let synced = *version.get_or_insert(page.version);
        if synced <= since {
            // Already up to date.
            return Ok(());
        }
        let last = page.items.last().map(|point| point.id);
        if page.more {
            match (last, after) {
                (None, _) => anyhow::bail!("the back end sent an empty catalogue page with more"),
                (Some(last), Some(before)) if last <= before => {
                    anyhow::bail!(
                        "the back end's catalogue pages do not advance ({last} after {before})"
                    )
                }
                _ => {}
            }
        }
        if page_number == 0 && since == 0 {
            store.begin_catalogue_replace()?;
        }
        let deletions: Vec<u32> = page
            .removed
            .iter()
            .filter_map(|id| id.parse().ok())
            .collect();
        points += page.items.len();
        let finished = !page.more;
        store.write_catalogue_page(&page.items, &deletions, finished.then_some(synced))?;
        if finished {
            tracing::info!(
                version = synced,
                points,
                pages = page_number + 1,
                "service-point catalogue synced"
            );
            return Ok(());
        }
        after = last;
    }
    anyhow::bail!("the catalogue sync did not finish within {MAX_PAGES} pages")
}
