//! Ordered schema migrations. Append only: a shipped migration is never edited, because
//! terminals in the field have already applied it.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::journal::{self, EntryKind, NewEntry};
use super::seal::KeyRing;
use super::StoreError;

/// One step of the schema: the version it brings the file to, the SQL that does it, and
/// for a step that must move data through the records key, the code that does that after
/// the SQL, in the same transaction.
struct Migration {
    version: u32,
    sql: &'static str,
    data: Option<DataStep>,
}

/// Moves a step's data through the records key, in the migration's transaction.
type DataStep = fn(&Transaction<'_>, &KeyRing) -> Result<(), StoreError>;

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "CREATE TABLE settings (
              key   TEXT PRIMARY KEY,
              value TEXT NOT NULL
          );",
        data: None,
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
        data: None,
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
        data: None,
    },
    Migration {
        version: 4,
        // Records private at rest: payloads and outbox bodies sealed apart from the keyed
        // chain, which keeps only their MACs; a chain anchor so retention can delete an old,
        // acknowledged prefix; inserts that are not the next sequence number refused (also
        // `INSERT OR REPLACE`, whose implicit delete fires no trigger); quarantine for
        // entries recovery cannot read or resolve. The version-3 tables are rewritten
        // through the key (`seal_version_3`) and dropped.
        sql: "DROP TRIGGER journal_no_update;
          DROP TRIGGER journal_no_delete;
          DROP INDEX journal_by_key;
          DROP INDEX journal_by_reference;
          ALTER TABLE journal RENAME TO journal_v3;
          DROP INDEX outbox_due;
          ALTER TABLE outbox RENAME TO outbox_v3;
          CREATE TABLE journal (
              seq             INTEGER PRIMARY KEY,
              kind            TEXT NOT NULL,
              terminal_id     TEXT NOT NULL,
              idempotency_key TEXT NOT NULL,
              reference       TEXT NOT NULL,
              service         TEXT NOT NULL,
              operation       TEXT NOT NULL,
              outcome         TEXT,
              payload_mac     BLOB,
              recorded_at_ms  INTEGER NOT NULL,
              prev_hash       BLOB NOT NULL,
              hash            BLOB NOT NULL
          );
          CREATE INDEX journal_by_key ON journal (idempotency_key, seq);
          CREATE INDEX journal_by_reference ON journal (reference, seq);
          CREATE TABLE journal_payloads (
              seq    INTEGER PRIMARY KEY,
              nonce  BLOB NOT NULL,
              sealed BLOB NOT NULL
          );
          CREATE TABLE journal_anchor (
              id             INTEGER PRIMARY KEY CHECK (id = 1),
              pruned_through INTEGER NOT NULL,
              head_hash      BLOB NOT NULL
          );
          INSERT INTO journal_anchor (id, pruned_through, head_hash) VALUES (1, 0, zeroblob(32));
          CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
              BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
          CREATE TRIGGER journal_only_pruned_prefix BEFORE DELETE ON journal
              WHEN old.seq > (SELECT pruned_through FROM journal_anchor WHERE id = 1)
              BEGIN SELECT RAISE(ABORT, 'the journal is append-only: only a pruned prefix may go'); END;
          CREATE TRIGGER journal_next_seq_only BEFORE INSERT ON journal
              WHEN new.seq IS NOT 1 + MAX(COALESCE((SELECT MAX(seq) FROM journal), 0),
                                          (SELECT pruned_through FROM journal_anchor WHERE id = 1))
              BEGIN SELECT RAISE(ABORT, 'journal entries are appended in sequence only'); END;
          CREATE TRIGGER journal_anchor_forward BEFORE UPDATE ON journal_anchor
              WHEN new.pruned_through < old.pruned_through
              BEGIN SELECT RAISE(ABORT, 'the journal anchor only moves forward'); END;
          CREATE TABLE outbox (
              id              INTEGER PRIMARY KEY,
              message_id      TEXT NOT NULL UNIQUE,
              kind            TEXT NOT NULL,
              service         TEXT NOT NULL,
              path            TEXT NOT NULL,
              body_nonce      BLOB,
              body_sealed     BLOB,
              state           TEXT NOT NULL DEFAULT 'pending',
              attempts        INTEGER NOT NULL DEFAULT 0,
              next_attempt_ms INTEGER NOT NULL,
              last_error      TEXT,
              created_at_ms   INTEGER NOT NULL,
              acked_at_ms     INTEGER
          );
          CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
          CREATE TABLE quarantine (
              idempotency_key TEXT PRIMARY KEY,
              operation       TEXT NOT NULL,
              reason          TEXT NOT NULL,
              at_ms           INTEGER NOT NULL
          );",
        data: Some(seal_version_3),
    },
    Migration {
        version: 5,
        // Compact journal rows: what every entry of an operation shares (its key, reference,
        // service, name and terminal) is stored once, on its first entry; every entry keeps
        // `op`, its first entry's sequence number, and its kind as a number (1 intent, 2 sent,
        // 3 result, 4 unknown, 5 completed), outcome, payload MAC, time and hash. The lookup
        // indexes hold first entries only. `prev_hash` is not stored (it is the entry
        // before's hash, or the anchor's); the hashes themselves are unchanged, so what was
        // shipped still links. The version-4 rows are copied by `compact_version_4`, which
        // stores a UUID key as its 16 bytes, and dropped. Payloads, anchor and outbox stay.
        sql: "DROP TRIGGER journal_no_update;
          DROP TRIGGER journal_only_pruned_prefix;
          DROP TRIGGER journal_next_seq_only;
          DROP INDEX journal_by_key;
          DROP INDEX journal_by_reference;
          ALTER TABLE journal RENAME TO journal_v4;
          CREATE TABLE journal (
              seq             INTEGER PRIMARY KEY,
              op              INTEGER NOT NULL,
              kind            INTEGER NOT NULL,
              idempotency_key BLOB,
              reference       TEXT,
              service         TEXT,
              operation       TEXT,
              terminal_id     TEXT,
              outcome         TEXT,
              payload_mac     BLOB,
              recorded_at_ms  INTEGER NOT NULL,
              hash            BLOB NOT NULL
          );
          CREATE INDEX journal_by_key ON journal (idempotency_key)
              WHERE idempotency_key IS NOT NULL;
          CREATE INDEX journal_by_reference ON journal (reference) WHERE reference IS NOT NULL;
          CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
              BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
          CREATE TRIGGER journal_only_pruned_prefix BEFORE DELETE ON journal
              WHEN old.seq > (SELECT pruned_through FROM journal_anchor WHERE id = 1)
              BEGIN SELECT RAISE(ABORT, 'the journal is append-only: only a pruned prefix may go'); END;
          CREATE TRIGGER journal_next_seq_only BEFORE INSERT ON journal
              WHEN new.seq IS NOT 1 + MAX(COALESCE((SELECT MAX(seq) FROM journal), 0),
                                          (SELECT pruned_through FROM journal_anchor WHERE id = 1))
              BEGIN SELECT RAISE(ABORT, 'journal entries are appended in sequence only'); END;
          CREATE TRIGGER journal_entry_of_an_operation BEFORE INSERT ON journal
              WHEN NOT (
                  (new.op = new.seq AND new.idempotency_key IS NOT NULL
                   AND new.reference IS NOT NULL AND new.service IS NOT NULL
                   AND new.operation IS NOT NULL AND new.terminal_id IS NOT NULL)
                  OR (new.op < new.seq AND new.idempotency_key IS NULL AND new.reference IS NULL
                      AND new.service IS NULL AND new.operation IS NULL AND new.terminal_id IS NULL
                      AND EXISTS (SELECT 1 FROM journal f WHERE f.seq = new.op AND f.op = f.seq)))
              BEGIN SELECT RAISE(ABORT, 'a journal entry begins an operation or continues a kept one'); END;",
        data: Some(compact_version_4),
    },
    Migration {
        version: 6,
        // The FTS5 trigram index on the service points served only the locator bench's SQL
        // baseline (the finder keeps its own index in memory), yet it took 4.1 of the 17.3 MB
        // file after the first sync of 13,357 points, and its writes 2 MB of the WAL. The
        // bench builds it in its own database (`Store::build_baseline_index`).
        sql: "DROP TRIGGER service_points_ai;
          DROP TRIGGER service_points_ad;
          DROP TRIGGER service_points_au;
          DROP TABLE service_points_fts;",
        data: None,
    },
];

/// The version a fully migrated file has.
pub const SCHEMA_VERSION: u32 = 6;

pub(super) fn current_version(conn: &Connection) -> Result<u32, StoreError> {
    let version: Option<u32> =
        conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| {
            row.get(0)
        })?;
    Ok(version.unwrap_or(0))
}

pub(super) fn migrate(
    conn: &mut Connection,
    path: &Path,
    keys: &KeyRing,
    until: u32,
) -> Result<(), StoreError> {
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
    for migration in MIGRATIONS
        .iter()
        .filter(|m| m.version > found && m.version <= until)
    {
        let tx = conn.transaction()?;
        let failed = |source| StoreError::Migration {
            version: migration.version,
            source,
        };
        tx.execute_batch(migration.sql).map_err(failed)?;
        if let Some(data) = migration.data {
            data(&tx, keys)?;
        }
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, datetime('now'))",
            [migration.version],
        )
        .map_err(failed)?;
        tx.commit()?;
    }
    Ok(())
}

/// Version 3 kept payloads and bodies in the clear: each entry is appended again, in order,
/// to the new keyed chain with its payload sealed, each pending message sealed; a finished
/// message keeps no body. The old tables are dropped (`secure_delete` zeroes their pages).
fn seal_version_3(tx: &Transaction<'_>, keys: &KeyRing) -> Result<(), StoreError> {
    struct OldEntry {
        kind: String,
        terminal: String,
        key: String,
        reference: String,
        service: String,
        operation: String,
        payload: zeroize::Zeroizing<String>,
        at: i64,
    }
    let entries: Vec<OldEntry> = {
        let mut stmt = tx.prepare(
            "SELECT kind, terminal_id, idempotency_key, reference, service, operation, payload,
                    recorded_at_ms FROM journal_v3 ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(OldEntry {
                kind: row.get(0)?,
                terminal: row.get(1)?,
                key: row.get(2)?,
                reference: row.get(3)?,
                service: row.get(4)?,
                operation: row.get(5)?,
                payload: zeroize::Zeroizing::new(row.get(6)?),
                at: row.get(7)?,
            })
        })?;
        rows.collect::<Result<_, _>>()?
    };
    for old in &entries {
        let kind = match old.kind.as_str() {
            "intent" => EntryKind::Intent,
            "sent" => EntryKind::Sent,
            "result" => EntryKind::Result,
            "unknown" => EntryKind::Unknown,
            _ => EntryKind::Completed,
        };
        let outcome = (kind == EntryKind::Result)
            .then(|| {
                serde_json::from_str::<serde_json::Value>(&old.payload)
                    .ok()
                    .and_then(|v| v.get("outcome")?.as_str().map(str::to_owned))
            })
            .flatten();
        append_v4(
            tx,
            keys,
            &NewEntry {
                kind,
                terminal_id: &old.terminal,
                idempotency_key: &old.key,
                reference: &old.reference,
                service: &old.service,
                operation: &old.operation,
                outcome: outcome.as_deref(),
                payload: &old.payload,
                recorded_at_ms: old.at,
            },
        )?;
    }
    {
        let mut stmt = tx.prepare(
            "SELECT id, message_id, kind, service, path, body, state, attempts, next_attempt_ms,
                    last_error, created_at_ms, acked_at_ms FROM outbox_v3 ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let message_id: String = row.get(1)?;
            let state: String = row.get(6)?;
            let body = zeroize::Zeroizing::new(row.get::<_, String>(5)?);
            let sealed = (state == "pending")
                .then(|| keys.seal(&super::outbox::body_context(&message_id), body.as_bytes()));
            tx.execute(
                "INSERT INTO outbox (id, message_id, kind, service, path, body_nonce, body_sealed,
                                     state, attempts, next_attempt_ms, last_error, created_at_ms,
                                     acked_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                rusqlite::params![
                    row.get::<_, i64>(0)?,
                    message_id,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    sealed.as_ref().map(|(nonce, _)| nonce.to_vec()),
                    sealed.map(|(_, body)| body),
                    state,
                    row.get::<_, i64>(7)?,
                    row.get::<_, i64>(8)?,
                    row.get::<_, Option<String>>(9)?,
                    row.get::<_, i64>(10)?,
                    row.get::<_, Option<i64>>(11)?,
                ],
            )?;
        }
    }
    tx.execute_batch("DROP TABLE journal_v3; DROP TABLE outbox_v3;")?;
    Ok(())
}

/// An append to the version-4 journal, as that version made it: the version 3 → 4 step
/// rewrites into that schema, which version 5 then compacts. Frozen with the step.
fn append_v4(tx: &Transaction<'_>, keys: &KeyRing, entry: &NewEntry<'_>) -> Result<(), StoreError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, journal::to_hash(&hash).unwrap_or([0; 32])),
        None => {
            let anchor = journal::anchor(tx)?;
            (anchor.pruned_through + 1, anchor.head_hash)
        }
    };
    let sealed = journal::has_payload(entry.payload).then(|| {
        let context = journal::payload_context(seq, entry.idempotency_key);
        let mac = keys.payload_mac(&context, entry.payload.as_bytes());
        let (nonce, sealed) = keys.seal(&context, entry.payload.as_bytes());
        (mac, nonce, sealed)
    });
    let mac = sealed.as_ref().map(|(mac, _, _)| *mac);
    let hash = journal::entry_hash(keys, &prev, seq, entry, mac.as_ref());
    tx.execute(
        "INSERT INTO journal (seq, kind, terminal_id, idempotency_key, reference, service,
                              operation, outcome, payload_mac, recorded_at_ms, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        rusqlite::params![
            seq,
            entry.kind.as_str(),
            entry.terminal_id,
            entry.idempotency_key,
            entry.reference,
            entry.service,
            entry.operation,
            entry.outcome,
            mac.as_ref().map(|m| &m[..]),
            entry.recorded_at_ms,
            &prev[..],
            &hash[..],
        ],
    )?;
    if let Some((_, nonce, sealed)) = sealed {
        tx.execute(
            "INSERT INTO journal_payloads (seq, nonce, sealed) VALUES (?1, ?2, ?3)",
            rusqlite::params![seq, &nonce[..], sealed],
        )?;
    }
    Ok(())
}

/// Version 4 stored every field on every entry: each entry is copied, in order, to the
/// compact table with its hash as it was (nothing is re-chained or re-sealed: payloads stay
/// where they are, bound to the same sequence number and key). An entry whose operation's
/// first entry was pruned, or whose fields differ from it, begins an operation row of its
/// own. A kind no build wrote is copied as 0, which reads as corrupt, as it did. The old
/// table is dropped (`secure_delete` zeroes its pages).
fn compact_version_4(tx: &Transaction<'_>, _keys: &KeyRing) -> Result<(), StoreError> {
    let mut old = tx.prepare(
        "SELECT seq, kind, terminal_id, idempotency_key, reference, service, operation, outcome,
                payload_mac, recorded_at_ms, hash FROM journal_v4 ORDER BY seq",
    )?;
    let mut rows = old.query([])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let kind: String = row.get(1)?;
        let (terminal, key, reference, service, operation): (
            String,
            String,
            String,
            String,
            String,
        ) = (
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
        );
        let outcome: Option<String> = row.get(7)?;
        let mac: Option<Vec<u8>> = row.get(8)?;
        let hash: Vec<u8> = row.get(10)?;
        let entry = NewEntry {
            kind: EntryKind::Intent,
            terminal_id: &terminal,
            idempotency_key: &key,
            reference: &reference,
            service: &service,
            operation: &operation,
            outcome: outcome.as_deref(),
            payload: "",
            recorded_at_ms: row.get(9)?,
        };
        let op = journal::first_entry_of(tx, &entry)?;
        journal::insert_row(
            tx,
            seq,
            op,
            EntryKind::parse(&kind).map_or(0, EntryKind::code),
            &entry,
            mac.as_deref(),
            &hash,
        )?;
    }
    drop(rows);
    drop(old);
    tx.execute_batch("DROP TABLE journal_v4;")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_3_file_is_rewritten_sealed_and_its_plain_text_is_gone() {
        use crate::store::{KeySource, Store};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.db");
        {
            let keys = KeyRing::load(&KeySource::BesideDatabase, &path).expect("key");
            crate::store::private_database_file(&path).expect("0600");
            let mut conn = Connection::open(&path).expect("open");
            migrate(&mut conn, &path, &keys, 3).expect("to v3");
            conn.execute_batch(
                r#"INSERT INTO journal VALUES
                     (1, 'intent', 'T', 'k1', 'r1', 'card', 'activate_card',
                      '{"op":"activate_card","params":{"id_number":"500101195801300170"}}',
                      5, zeroblob(32), zeroblob(32)),
                     (2, 'result', 'T', 'k1', 'r1', 'card', 'activate_card',
                      '{"outcome":"applied","body":"{\"name\":\"WANG JIANGUO\"}","replayed":false}',
                      6, zeroblob(32), zeroblob(32));
                   INSERT INTO outbox (message_id, kind, service, path, body, next_attempt_ms,
                                       created_at_ms)
                   VALUES ('m1', 'submit_certification', 'certification', '/v1/certifications',
                           '{"person_id":"500101195801300170"}', 0, 0);"#,
            )
            .expect("v3 rows");
        }
        let store = Store::open(&path).expect("migrates");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        let entries = store.journal_for_key("k1").expect("read");
        assert_eq!(entries.len(), 2);
        assert!(entries[0]
            .payload
            .text()
            .is_some_and(|t| t.contains("500101195801300170")));
        assert_eq!(entries[1].outcome.as_deref(), Some("applied"));
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(2));
        let message = store.outbox_get("m1").expect("get").expect("kept");
        assert!(message
            .body
            .as_deref()
            .is_some_and(|b| b.contains("500101195801300170")));
        drop(store);
        let mut bytes = std::fs::read(&path).expect("db");
        bytes.extend(std::fs::read(dir.path().join("kiosk.db-wal")).unwrap_or_default());
        for needle in [&b"5001011958"[..], b"WANG JIANGUO"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plain text left on disk"
            );
        }
    }

    #[test]
    fn a_version_4_file_is_compacted_keeps_its_hashes_and_links_and_no_plain_text() {
        use crate::store::{KeySource, Store};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.db");
        let key = "6c1d7e0a-5b2f-4c3d-9e8f-0a1b2c3d4e5f";
        let params = r#"{"op":"activate_card","params":{"id_number":"500101195801300170"}}"#;
        let answer = r#"{"outcome":"applied","body":"{\"name\":\"WANG JIANGUO\"}"}"#;
        let v4_hashes: Vec<Vec<u8>> = {
            let keys = KeyRing::load(&KeySource::BesideDatabase, &path).expect("key");
            crate::store::private_database_file(&path).expect("0600");
            let mut conn = Connection::open(&path).expect("open");
            migrate(&mut conn, &path, &keys, 4).expect("to v4");
            let tx = conn.transaction().expect("tx");
            let entry = |kind, key, outcome, payload| NewEntry {
                kind,
                terminal_id: "CQ-T-1",
                idempotency_key: key,
                reference: "session-1-step-3",
                service: "card",
                operation: "activate_card",
                outcome,
                payload,
                recorded_at_ms: 7,
            };
            for e in [
                entry(EntryKind::Intent, "pruned", None, "{}"),
                entry(EntryKind::Intent, key, None, params),
                entry(EntryKind::Sent, key, None, "{}"),
                entry(EntryKind::Result, key, Some("applied"), answer),
                entry(EntryKind::Completed, key, None, "{}"),
                entry(EntryKind::Intent, "plain-key", None, "{}"),
            ] {
                append_v4(&tx, &keys, &e).expect("v4 append");
            }
            // Retention had pruned the first entry: the chain starts from the anchor.
            tx.execute_batch(
                "UPDATE journal_anchor SET pruned_through = 1,
                     head_hash = (SELECT hash FROM journal WHERE seq = 1);
                 DELETE FROM journal WHERE seq = 1;",
            )
            .expect("prune");
            tx.commit().expect("commit");
            let mut stmt = conn
                .prepare("SELECT hash FROM journal ORDER BY seq")
                .expect("sql");
            let hashes = stmt
                .query_map([], |row| row.get(0))
                .expect("sql")
                .collect::<Result<_, _>>()
                .expect("sql");
            hashes
        };
        let store = Store::open(&path).expect("migrates");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(5));
        let entries = store.journal_after(0, 100).expect("read");
        assert_eq!(
            entries.iter().map(|e| e.hash.to_vec()).collect::<Vec<_>>(),
            v4_hashes,
            "the hashes the back end has are the chain's still"
        );
        let (anchor, _) = store.journal_head().expect("head");
        assert_eq!(entries[0].prev_hash, anchor.head_hash);
        assert_eq!(entries[1].prev_hash, entries[0].hash);
        assert_eq!(entries[0].idempotency_key, key);
        assert_eq!(entries[4].idempotency_key, "plain-key");
        assert_eq!(entries[2].outcome.as_deref(), Some("applied"));
        assert_eq!(
            entries[0].payload.text(),
            Some(params),
            "payloads still open"
        );
        assert_eq!(entries[2].payload.text(), Some(answer));
        assert_eq!(store.journal_for_key(key).expect("read").len(), 4);
        assert_eq!(store.journal_open_operations().expect("open").len(), 1);
        let leftovers: i64 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE '%v4%'",
                [],
                |row| row.get(0),
            )
            .expect("sql");
        assert_eq!(leftovers, 0);
        let keyed: i64 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM journal WHERE idempotency_key IS NOT NULL",
                [],
                |row| row.get(0),
            )
            .expect("sql");
        assert_eq!(keyed, 2, "the shared fields once per operation");
        drop(store);
        let mut bytes = std::fs::read(&path).expect("db");
        bytes.extend(std::fs::read(dir.path().join("kiosk.db-wal")).unwrap_or_default());
        for needle in [&b"5001011958"[..], b"WANG JIANGUO", key.as_bytes()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plain text left on disk"
            );
        }
    }

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
