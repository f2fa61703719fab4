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
    #[error(
        "the database {path} can be read by other users (mode {mode:o}); it holds residents' \
         transactions: `chmod 600 {path}` (and its -wal/-shm files), owned by the kiosk's user"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("cannot create the database {path} private to the kiosk's user: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Creates `directory` (and its parents) readable only by the kiosk's user, or makes an
/// existing one so: the data directory holds the journal and printed receipts.
pub fn private_directory(directory: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)?;
    let mode = std::fs::metadata(directory)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(directory = %directory.display(), mode = format!("{mode:o}"), "data directory was open to others: made 0700");
        std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A new database file is created 0600 before SQLite opens it (SQLite gives its -wal and -shm
/// files the same mode); an existing one that others can read is refused, not used.
fn private_database_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::metadata(path) {
        Ok(metadata) => {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(StoreError::Exposed {
                    path: path.to_path_buf(),
                    mode,
                });
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map(drop)
            .map_err(|source| StoreError::Create {
                path: path.to_path_buf(),
                source,
            }),
        Err(source) => Err(StoreError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
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
        private_database_file(path)?;
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
    fn the_data_stays_private_to_the_kiosk_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("dir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        private_directory(&data).expect("private");
        let mode =
            |path: &Path| std::fs::metadata(path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        let path = data.join("kiosk.db");
        let store = Store::open(&path).expect("open");
        store
            .conn
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .expect("write");
        assert_eq!(mode(&path), 0o600);
        let wal = data.join("kiosk.db-wal");
        assert_eq!(mode(&wal), 0o600, "SQLite's WAL takes the database's mode");
        drop(store);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        match Store::open(&path) {
            Err(error @ StoreError::Exposed { .. }) => {
                let message = error.to_string();
                assert!(message.contains("kiosk.db"), "{message}");
                assert!(message.contains("chmod 600"), "{message}");
            }
            other => panic!("expected Exposed, got {:?}", other.err()),
        }
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
