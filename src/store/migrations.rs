//! Ordered schema migrations. Append only: a shipped migration is never edited, because
//! terminals in the field have already applied it.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// One step of the schema: the version it brings the file to and the SQL that does it.
struct Migration {
    version: u32,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "CREATE TABLE settings (
              key   TEXT PRIMARY KEY,
              value TEXT NOT NULL
          );",
    },
    Migration {
        version: 2,
        // The transaction journal is append-only (the triggers refuse UPDATE and DELETE) and
        // hash-chained; the outbox holds deferrable messages until the back end acknowledges them.
        sql: "CREATE TABLE journal (
              seq             INTEGER PRIMARY KEY,
              kind            TEXT NOT NULL,
              terminal_id     TEXT NOT NULL,
              idempotency_key TEXT NOT NULL,
              reference       TEXT NOT NULL,
              service         TEXT NOT NULL,
              operation       TEXT NOT NULL,
              payload         TEXT NOT NULL,
              recorded_at_ms  INTEGER NOT NULL,
              prev_hash       BLOB NOT NULL,
              hash            BLOB NOT NULL
          );
          CREATE INDEX journal_by_key ON journal (idempotency_key, seq);
          CREATE INDEX journal_by_reference ON journal (reference, seq);
          CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
              BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
          CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
              BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
          CREATE TABLE outbox (
              id              INTEGER PRIMARY KEY,
              message_id      TEXT NOT NULL UNIQUE,
              kind            TEXT NOT NULL,
              service         TEXT NOT NULL,
              path            TEXT NOT NULL,
              body            TEXT NOT NULL,
              state           TEXT NOT NULL DEFAULT 'pending',
              attempts        INTEGER NOT NULL DEFAULT 0,
              next_attempt_ms INTEGER NOT NULL,
              last_error      TEXT,
              created_at_ms   INTEGER NOT NULL,
              acked_at_ms     INTEGER
          );
          CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);",
    },
    Migration {
        version: 3,
        sql: "CREATE TABLE catalogue_meta (
              id      INTEGER PRIMARY KEY CHECK (id = 1),
              version INTEGER NOT NULL
          );
          CREATE TABLE service_points (
              id       INTEGER PRIMARY KEY,
              name     TEXT NOT NULL,
              tier     TEXT NOT NULL,
              district TEXT NOT NULL,
              lat      REAL NOT NULL,
              lon      REAL NOT NULL,
              services TEXT NOT NULL,
              pinyin   TEXT NOT NULL,
              initials TEXT NOT NULL,
              record   TEXT NOT NULL
          );
          CREATE INDEX service_points_district ON service_points (district);
          CREATE VIRTUAL TABLE service_points_fts USING fts5 (
              name, pinyin, initials,
              content = 'service_points', content_rowid = 'id', tokenize = 'trigram'
          );
          CREATE TRIGGER service_points_ai AFTER INSERT ON service_points BEGIN
              INSERT INTO service_points_fts (rowid, name, pinyin, initials)
              VALUES (new.id, new.name, new.pinyin, new.initials);
          END;
          CREATE TRIGGER service_points_ad AFTER DELETE ON service_points BEGIN
              INSERT INTO service_points_fts (service_points_fts, rowid, name, pinyin, initials)
              VALUES ('delete', old.id, old.name, old.pinyin, old.initials);
          END;
          CREATE TRIGGER service_points_au AFTER UPDATE ON service_points BEGIN
              INSERT INTO service_points_fts (service_points_fts, rowid, name, pinyin, initials)
              VALUES ('delete', old.id, old.name, old.pinyin, old.initials);
              INSERT INTO service_points_fts (rowid, name, pinyin, initials)
              VALUES (new.id, new.name, new.pinyin, new.initials);
          END;",
    },
];

/// The version a fully migrated file has.
pub const SCHEMA_VERSION: u32 = 3;

pub(super) fn current_version(conn: &Connection) -> Result<u32, StoreError> {
    let version: Option<u32> =
        conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| {
            row.get(0)
        })?;
    Ok(version.unwrap_or(0))
}

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL
         );",
    )?;
    let found = current_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration.sql)
            .and_then(|()| {
                tx.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?1, datetime('now'))",
                    [migration.version],
                )
            })
            .map_err(|source| StoreError::Migration {
                version: migration.version,
                source,
            })?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_strictly_ordered_and_end_at_the_schema_version() {
        let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(
            versions.windows(2).all(|w| w[0] + 1 == w[1]),
            "{versions:?}"
        );
        assert_eq!(versions.first(), Some(&1));
        assert_eq!(versions.last(), Some(&SCHEMA_VERSION));
    }
}
