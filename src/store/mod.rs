//! The terminal's memory: one SQLite file in the data directory.
//!
//! This is the only module that writes SQL. Other modules call the typed functions of its
//! submodules (one per concern); none of them sees a `rusqlite` type.

pub mod catalogue;
pub mod journal;
mod lock;
mod migrations;
pub mod outbox;
pub mod quarantine;
pub mod seal;
pub mod technician;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

pub use migrations::SCHEMA_VERSION;
pub use seal::{KeyError, KeyRing, KeySource};

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
    Sql(rusqlite::Error),
    /// A write found the disk full (`SQLITE_FULL`), at start or while running: nothing more
    /// can be journaled, so nothing may be sent; the shell shows the out-of-service page.
    #[error(
        "the disk holding the terminal's records is full ({0}): nothing can be journaled, so \
         nothing is served until a technician frees space in the data directory"
    )]
    DiskFull(rusqlite::Error),
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
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error(
        "the database {path} is in use by another process{}: only one may write the journal. \
         Stop it first (`systemctl stop renshe-kiosk` on a terminal), or ask the running kiosk",
        holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    Busy { path: PathBuf, holder: Option<u32> },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the database {path} is damaged ({detail}): the kiosk serves nothing until a \
         technician restores it (move it aside; the back end keeps the shipped journal)"
    )]
    Damaged { path: PathBuf, detail: String },
}

/// Every SQLite error the store passes on: a full disk becomes [`StoreError::DiskFull`],
/// whichever write found it.
impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        if matches!(
            error.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DiskFull)
        ) {
            StoreError::DiskFull(error)
        } else {
            StoreError::Sql(error)
        }
    }
}

impl StoreError {
    /// The disk is full: nothing can be journaled, so nothing may be sent.
    pub fn is_disk_full(&self) -> bool {
        let sql = match self {
            StoreError::DiskFull(_) => return true,
            StoreError::Sql(e) | StoreError::Open { source: e, .. } => e,
            StoreError::Migration { source, .. } => source,
            _ => return false,
        };
        matches!(sql.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull))
    }
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

/// The page cache of each connection the kiosk writes through, in KiB.
const PAGE_CACHE_KIB: i64 = 512;

/// An open kiosk database, migrated to [`SCHEMA_VERSION`], with the records key that
/// seals its payloads and keys its chain. While one is open, this process is the database's
/// only writer.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    keys: KeyRing,
    _writer: Option<Arc<lock::WriterLock>>,
}

impl Store {
    /// Opens (creating if needed) `path` with the records key beside it (`<path>.key`,
    /// created on first use). See [`Store::open_with`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, &KeySource::BesideDatabase)
    }

    /// Opens (creating if needed) `path`: takes the writer lock, checks the file's integrity,
    /// switches it to WAL with full synchronous commits and applies every migration it has
    /// not seen yet, each in its own transaction.
    pub fn open_with(path: &Path, key: &KeySource) -> Result<Store, StoreError> {
        private_database_file(path)?;
        let writer = lock::acquire(path)?;
        let keys = KeyRing::load(key, path)?;
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::configure(conn, path, keys, Some(writer))
    }

    /// Opens `path` read-only without the writer lock or the records key, for reading the
    /// catalogue beside a running kiosk (`locate`). Journal payloads read as unreadable.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        use aes_gcm::aead::rand_core::RngCore;
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let found = migrations::current_version(&conn).unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        // A throwaway key: nothing sealed can be opened through this store.
        let mut master = zeroize::Zeroizing::new([0u8; 32]);
        aes_gcm::aead::OsRng.fill_bytes(master.as_mut());
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            keys: KeyRing::from_master(&master),
            _writer: None,
        })
    }

    /// Opens `path` read-only with its records key, without the writer lock and without
    /// creating, checking or migrating anything: the self-test looks at the journal this way,
    /// beside a running kiosk or not. The key must exist (it is never made here).
    pub fn open_for_inspection(path: &Path, key: &KeySource) -> Result<Store, StoreError> {
        let keys = KeyRing::load_existing(key, path)?;
        let mut store = Self::open_read_only(path)?;
        store.keys = keys;
        Ok(store)
    }

    /// `PRAGMA quick_check`: `None` when the file is sound, else SQLite's first complaint.
    pub fn quick_check(&self) -> Result<Option<String>, StoreError> {
        let check: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |row| row.get(0))?;
        Ok((check != "ok").then_some(check))
    }

    /// The other process that has `path` open as its writer (the running kiosk), if any:
    /// asked of the kernel's lock list, without trying the lock.
    pub fn writer(path: &Path) -> Option<u32> {
        lock::holder(path)
    }

    /// A private in-memory store, for unit tests of code that needs one.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::configure(
            conn,
            Path::new(":memory:"),
            KeyRing::from_master(&[0x5a; 32]),
            None,
        )
    }

    fn configure(
        conn: Connection,
        path: &Path,
        keys: KeyRing,
        writer: Option<Arc<lock::WriterLock>>,
    ) -> Result<Store, StoreError> {
        let damaged = |detail: String| StoreError::Damaged {
            path: path.to_path_buf(),
            detail,
        };
        // A file that is not a database at all fails here, before anything writes to it.
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
                    damaged(e.to_string())
                }
                _ => StoreError::Sql(e),
            })?;
        if check != "ok" {
            return Err(damaged(check));
        }
        // Retention's deletions give pages back to the file system. Only a new, empty file
        // takes it, and only before WAL writes the header; an existing one keeps its mode.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        // WAL lets readers (diagnostics over SSH) run beside the kiosk; FULL makes a commit
        // survive power loss, which the journal's promise depends on; deleted payloads are
        // overwritten with zeros, not left in free pages.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        // A checkpoint leaves the WAL file at its largest size (4.5 MB after the first
        // sync) unless this asks SQLite to cut it back.
        conn.pragma_update(None, "journal_size_limit", 1_048_576)?;
        // SQLite's default page cache (2 MB) filled over the first hundred transactions of
        // a kiosk's life and read as growth; the journal's working set is a few pages at the
        // tails of its tables and indexes, and the file system caches the rest.
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        // The query planner's stability guarantee: without it SQLite marks some statements
        // to be planned again whenever a parameter gets a new value, and the journal's
        // lookup of an operation's first entry was parsed and planned afresh on every
        // append (a new key each time), the larger part of an append's own CPU time.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            keys,
            _writer: writer,
        };
        migrations::migrate(&mut store.conn, &store.path, &store.keys, SCHEMA_VERSION)?;
        Ok(store)
    }

    /// The database file's size in bytes (pages times page size; the WAL not counted).
    pub fn file_bytes(&self) -> Result<u64, StoreError> {
        let pages: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |row| row.get(0))?;
        let size: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))?;
        Ok((pages.max(0) * size.max(0)) as u64)
    }

    fn set_setting_i64(&self, key: &str, value: i64) -> Result<(), StoreError> {
        put_setting(&self.conn, key, value)
    }

    fn set_setting_text(&self, key: &str, value: &str) -> Result<(), StoreError> {
        put_setting(&self.conn, key, value)
    }

    /// Like [`Store::set_setting_i64`], but a mark that only moves forward.
    fn raise_setting_i64(&self, key: &str, value: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), excluded.value)",
            params![key, value],
        )?;
        Ok(())
    }

    fn setting_i64(&self, key: &str) -> Result<i64, StoreError> {
        Ok(self
            .setting_text(key)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    fn setting_text(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()?)
    }

    /// Tests of a full disk: the file may not grow past its size now (SQLite then answers
    /// `SQLITE_FULL`, as on a full disk).
    #[cfg(test)]
    pub(crate) fn stop_growing(&self) -> Result<(), StoreError> {
        let pages: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |row| row.get(0))?;
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        Ok(())
    }

    /// The schema version the file is at now.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        migrations::current_version(&self.conn)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Sets one of the store's own settings, in `conn`'s transaction if it has one.
fn put_setting(
    conn: &rusqlite::Connection,
    key: &str,
    value: impl rusqlite::ToSql,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
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
        // The page cache stays small (negative: KiB), so a long-running kiosk does not grow
        // into SQLite's default 2 MB.
        let cache: i64 = store
            .conn
            .query_row("PRAGMA cache_size", [], |row| row.get(0))
            .expect("pragma");
        assert_eq!(cache, -PAGE_CACHE_KIB);
        // Plans do not depend on bound values, so an append is not planned again per key.
        let stable = store
            .conn
            .db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG)
            .expect("db config");
        assert!(stable);
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
    fn a_full_disk_while_running_is_its_own_error_and_leaves_nothing_half_written() {
        use crate::store::journal::{EntryKind, NewEntry};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("kiosk.db")).expect("open");
        let entry = |key, payload| NewEntry {
            kind: EntryKind::Intent,
            terminal_id: "T-1",
            idempotency_key: key,
            reference: key,
            service: "card",
            operation: "activate_card",
            outcome: None,
            payload,
            recorded_at_ms: 1,
        };
        store.journal_append(&[entry("a", "{}")]).expect("append");
        // The file may not grow any more: SQLite answers SQLITE_FULL, as on a full disk.
        let pages: i64 = store
            .conn
            .query_row("PRAGMA page_count", [], |row| row.get(0))
            .expect("pages");
        store
            .conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .expect("limit");
        let big = format!("{{\"p\":\"{}\"}}", "x".repeat(64 * 1024));
        let error = store
            .journal_append(&[entry("b", &big), entry("b", &big)])
            .expect_err("full");
        assert!(matches!(error, StoreError::DiskFull(_)), "{error:?}");
        assert!(error.is_disk_full());
        assert!(error.to_string().contains("full"), "{error}");
        assert!(store.journal_for_key("b").expect("read").is_empty());
        store
            .conn
            .query_row("PRAGMA max_page_count = 1000000", [], |_| Ok(()))
            .expect("space again");
        store.journal_append(&[entry("b", &big)]).expect("append");
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(2));
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
