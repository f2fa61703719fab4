//! The transaction journal: an append-only, hash-chained record of every back-end operation.
//!
//! Each business operation leaves `intent → sent → result | unknown → completed` entries under
//! one idempotency key. Entries are never updated or deleted (triggers refuse it); the current
//! state of an operation is its latest entry.

use std::fmt;

use rusqlite::{params, OptionalExtension, Row, Transaction, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// The stage of an operation a journal entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Written, with its idempotency key, before anything is sent.
    Intent,
    /// A send is about to start (the back end may apply the operation from here on).
    Sent,
    /// The back end gave a definite answer (applied, rejected, or void).
    Result,
    /// The outcome is not known: a timeout, reset or garbled answer after sending.
    Unknown,
    /// The kiosk has acted on the result; nothing more will happen under this key.
    Completed,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Intent => "intent",
            EntryKind::Sent => "sent",
            EntryKind::Result => "result",
            EntryKind::Unknown => "unknown",
            EntryKind::Completed => "completed",
        }
    }

    fn parse(text: &str) -> Option<EntryKind> {
        Some(match text {
            "intent" => EntryKind::Intent,
            "sent" => EntryKind::Sent,
            "result" => EntryKind::Result,
            "unknown" => EntryKind::Unknown,
            "completed" => EntryKind::Completed,
            _ => return None,
        })
    }
}

/// An entry to append; the store assigns its sequence number and hash.
#[derive(Clone)]
pub struct NewEntry<'a> {
    pub kind: EntryKind,
    pub terminal_id: &'a str,
    pub idempotency_key: &'a str,
    /// The business reference the operation belongs to (e.g. session id + step).
    pub reference: &'a str,
    pub service: &'a str,
    pub operation: &'a str,
    /// JSON: the request parameters for an intent, the answer for a result, a reason otherwise.
    pub payload: &'a str,
    pub recorded_at_ms: i64,
}

/// A stored journal entry.
#[derive(Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: i64,
    pub kind: EntryKind,
    pub terminal_id: String,
    pub idempotency_key: String,
    pub reference: String,
    pub service: String,
    pub operation: String,
    pub payload: String,
    pub recorded_at_ms: i64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

// The payload may hold ID numbers and names: keep it out of Debug output.
impl fmt::Debug for JournalEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournalEntry")
            .field("seq", &self.seq)
            .field("kind", &self.kind)
            .field("idempotency_key", &self.idempotency_key)
            .field("reference", &self.reference)
            .field("service", &self.service)
            .field("operation", &self.operation)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .finish()
    }
}

/// Why the hash chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("journal entry {seq} does not link to the hash of the entry before it")]
    BrokenLink { seq: i64 },
    #[error("journal entry {seq} does not match its own hash")]
    BadHash { seq: i64 },
    #[error("journal entry {seq} has an unreadable kind or hash")]
    Corrupt { seq: i64 },
}

const GENESIS: [u8; 32] = [0; 32];

fn entry_hash(prev: &[u8; 32], seq: i64, e: &NewEntry<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    for field in [
        e.kind.as_str(),
        e.terminal_id,
        e.idempotency_key,
        e.reference,
        e.service,
        e.operation,
        e.payload,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.update(e.recorded_at_ms.to_be_bytes());
    h.finalize().into()
}

/// Appends inside an open transaction, so callers can commit other records atomically with it.
pub(super) fn append_in(tx: &Transaction<'_>, entry: &NewEntry<'_>) -> Result<i64, StoreError> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row(
            "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, to_hash(&hash).unwrap_or(GENESIS)),
        None => (1, GENESIS),
    };
    let hash = entry_hash(&prev, seq, entry);
    tx.execute(
        "INSERT INTO journal (seq, kind, terminal_id, idempotency_key, reference, service,
                              operation, payload, recorded_at_ms, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            seq,
            entry.kind.as_str(),
            entry.terminal_id,
            entry.idempotency_key,
            entry.reference,
            entry.service,
            entry.operation,
            entry.payload,
            entry.recorded_at_ms,
            &prev[..],
            &hash[..],
        ],
    )?;
    Ok(seq)
}

fn to_hash(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

const COLUMNS: &str = "seq, kind, terminal_id, idempotency_key, reference, service, operation,
                       payload, recorded_at_ms, prev_hash, hash";

fn read_entry(row: &Row<'_>) -> rusqlite::Result<JournalEntry> {
    let seq: i64 = row.get(0)?;
    let kind: String = row.get(1)?;
    let prev: Vec<u8> = row.get(9)?;
    let hash: Vec<u8> = row.get(10)?;
    let corrupt = || rusqlite::Error::IntegralValueOutOfRange(0, seq);
    Ok(JournalEntry {
        seq,
        kind: EntryKind::parse(&kind).ok_or_else(corrupt)?,
        terminal_id: row.get(2)?,
        idempotency_key: row.get(3)?,
        reference: row.get(4)?,
        service: row.get(5)?,
        operation: row.get(6)?,
        payload: row.get(7)?,
        recorded_at_ms: row.get(8)?,
        prev_hash: to_hash(&prev).ok_or_else(corrupt)?,
        hash: to_hash(&hash).ok_or_else(corrupt)?,
    })
}

impl Store {
    /// Appends `entries` in one durable transaction and returns their sequence numbers.
    pub fn journal_append(&mut self, entries: &[NewEntry<'_>]) -> Result<Vec<i64>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut seqs = Vec::with_capacity(entries.len());
        for entry in entries {
            seqs.push(append_in(&tx, entry)?);
        }
        tx.commit()?;
        Ok(seqs)
    }

    /// Every entry recorded under `key`, oldest first.
    pub fn journal_for_key(&self, key: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM journal WHERE idempotency_key = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map([key], read_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every entry recorded under the business `reference`, oldest first.
    pub fn journal_for_reference(&self, reference: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM journal WHERE reference = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map([reference], read_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest entry of every operation that has not completed, oldest operation first.
    pub fn journal_open_operations(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM journal WHERE seq IN
                 (SELECT MAX(seq) FROM journal GROUP BY idempotency_key)
             AND kind <> 'completed' ORDER BY seq"
        ))?;
        let rows = stmt.query_map([], read_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Entries with a sequence number above `after`, at most `limit` of them (journal shipping).
    pub fn journal_after(&self, after: i64, limit: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, limit], read_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Recomputes the hash chain over the whole journal; returns the number of entries.
    pub fn journal_verify_chain(&self) -> Result<Result<u64, ChainError>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM journal ORDER BY seq"))?;
        let mut rows = stmt.query([])?;
        let mut prev = GENESIS;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let Ok(e) = read_entry(row) else {
                return Ok(Err(ChainError::Corrupt { seq }));
            };
            if e.prev_hash != prev {
                return Ok(Err(ChainError::BrokenLink { seq }));
            }
            let recomputed = entry_hash(
                &prev,
                e.seq,
                &NewEntry {
                    kind: e.kind,
                    terminal_id: &e.terminal_id,
                    idempotency_key: &e.idempotency_key,
                    reference: &e.reference,
                    service: &e.service,
                    operation: &e.operation,
                    payload: &e.payload,
                    recorded_at_ms: e.recorded_at_ms,
                },
            );
            if recomputed != e.hash {
                return Ok(Err(ChainError::BadHash { seq }));
            }
            prev = e.hash;
            count += 1;
        }
        Ok(Ok(count))
    }

    /// Raw durable inserts into a scratch table with the journal's durability: the baseline the
    /// journal benchmark compares against.
    pub fn baseline_durable_insert(&mut self, payload: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY, payload TEXT)",
        )?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO bench_baseline (payload) VALUES (?1)",
            [payload],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(kind: EntryKind, key: &'a str, payload: &'a str) -> NewEntry<'a> {
        NewEntry {
            kind,
            terminal_id: "T-1",
            idempotency_key: key,
            reference: "ref-1",
            service: "card",
            operation: "activate_card",
            payload,
            recorded_at_ms: 1,
        }
    }

    #[test]
    fn entries_chain_and_open_operations_are_those_not_completed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("k.db")).expect("open");
        store
            .journal_append(&[
                entry(EntryKind::Intent, "a", "{}"),
                entry(EntryKind::Intent, "b", "{}"),
            ])
            .expect("append");
        store
            .journal_append(&[
                entry(EntryKind::Result, "a", "{}"),
                entry(EntryKind::Completed, "a", "{}"),
            ])
            .expect("append");
        let open = store.journal_open_operations().expect("open ops");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].idempotency_key, "b");
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(4));
        assert_eq!(store.journal_for_key("a").expect("key").len(), 3);
    }

    #[test]
    fn the_journal_refuses_updates_and_deletes() {
        let mut store = Store::open_in_memory().expect("open");
        store
            .journal_append(&[entry(EntryKind::Intent, "a", "{}")])
            .expect("append");
        assert!(store
            .conn
            .execute("UPDATE journal SET payload = 'x'", [])
            .is_err());
        assert!(store.conn.execute("DELETE FROM journal", []).is_err());
    }

    #[test]
    fn a_tampered_entry_breaks_the_chain() {
        let mut store = Store::open_in_memory().expect("open");
        store
            .journal_append(&[
                entry(EntryKind::Intent, "a", "{\"x\":1}"),
                entry(EntryKind::Sent, "a", "{}"),
            ])
            .expect("append");
        store
            .conn
            .execute_batch(
                "DROP TRIGGER journal_no_update;
                 UPDATE journal SET payload = '{\"x\":2}' WHERE seq = 1;",
            )
            .expect("tamper");
        assert_eq!(
            store.journal_verify_chain().expect("sql"),
            Err(ChainError::BadHash { seq: 1 })
        );
    }
}
