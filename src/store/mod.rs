//! The terminal's memory: one SQLite file in the data directory.
//!
//! This is the only module that writes SQL. Other modules call the typed functions of its
//! submodules (one per concern); none of them sees a `rusqlite` type.

pub mod catalogue;
pub mod journal;
mod migrations;
pub mod outbox;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use migrations::SCHEMA_VERSION;

/// Why the store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the database {path} has schema version {found}, newer than this program's {supported}; install a newer kiosk build")]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("migration to schema version {version} failed: {source}")]
    Migration {
        version: u32,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// An open kiosk database, migrated to [`SCHEMA_VERSION`].
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `path`, switches it to WAL with full synchronous commits and
    /// applies every migration it has not seen yet, each in its own transaction.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::configure(conn, path)
    }

    /// A private in-memory store, for unit tests of code that needs one.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::configure(conn, Path::new(":memory:"))
    }

    fn configure(conn: Connection, path: &Path) -> Result<Store, StoreError> {
        // WAL lets readers (diagnostics over SSH) run beside the kiosk; FULL makes a commit
        // survive power loss, which the journal's promise depends on.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        migrations::migrate(&mut store.conn, &store.path)?;
        Ok(store)
    }

    /// The schema version the file is at now.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        migrations::current_version(&self.conn)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_migrated_to_the_latest_version_in_wal_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.db");
        let store = Store::open(&path).expect("open");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("pragma");
        assert_eq!(mode, "wal");
        drop(store);
        // Opening again applies nothing twice.
        let again = Store::open(&path).expect("reopen");
        assert_eq!(again.schema_version().expect("version"), SCHEMA_VERSION);
    }

    #[test]
    fn a_file_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.db");
        drop(Store::open(&path).expect("open"));
        let conn = Connection::open(&path).expect("raw open");
        conn.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, 'future')",
            [SCHEMA_VERSION + 1],
        )
        .expect("insert");
        drop(conn);
        match Store::open(&path) {
            Err(StoreError::TooNew { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
            other => panic!("expected TooNew, got {:?}", other.err()),
        }
    }
}
