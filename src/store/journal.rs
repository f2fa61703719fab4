//! The transaction journal: an append-only, keyed hash chain of every back-end mutation.
//!
//! Each business operation leaves `intent → sent → result | unknown → completed` entries under
//! one idempotency key; the current state of an operation is its latest entry. A row holds no
//! personal data: its payload (the request's parameters, needed for a byte-identical retry,
//! or the answer) is sealed in `journal_payloads` and the row keeps only its keyed MAC, so
//! the payload can be purged once the operation is completed and the back end has the
//! entries, and the chain still verifies. Rows are never updated; only a verified prefix is
//! ever deleted, after the anchor has moved past it (triggers enforce both).

use std::fmt;

use hmac::Mac;
use rusqlite::{params, OptionalExtension, Row, Transaction, TransactionBehavior};
use zeroize::Zeroizing;

use super::seal::KeyRing;
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

/// An entry to append; the store assigns its sequence number and chain link and seals its
/// payload.
#[derive(Clone)]
pub struct NewEntry<'a> {
    pub kind: EntryKind,
    pub terminal_id: &'a str,
    pub idempotency_key: &'a str,
    /// The business reference the operation belongs to (e.g. session id + step).
    pub reference: &'a str,
    pub service: &'a str,
    pub operation: &'a str,
    /// For a result: `applied`, `rejected`, `void` or `failed`, kept in the clear for the
    /// daily reconciliation after the payload is purged.
    pub outcome: Option<&'a str>,
    /// JSON: the request parameters for an intent, the answer for a result, a reason
    /// otherwise. Sealed; `""` or `{}` store nothing.
    pub payload: &'a str,
    pub recorded_at_ms: i64,
}

/// A journal entry's payload as read back.
#[derive(Clone, PartialEq, Eq)]
pub enum Payload {
    /// The entry had nothing to keep (`{}`).
    Empty,
    /// Opened and matching its MAC.
    Kept(Zeroizing<String>),
    /// Purged after completion: only its MAC remains.
    Purged,
    /// Present but it does not open or match its MAC (another key, a flipped byte).
    Unreadable,
}

impl Payload {
    /// The payload's JSON, if it is still there and readable.
    pub fn text(&self) -> Option<&str> {
        match self {
            Payload::Empty => Some("{}"),
            Payload::Kept(text) => Some(text.as_str()),
            Payload::Purged | Payload::Unreadable => None,
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Empty => f.write_str("Empty"),
            Payload::Kept(text) => write!(f, "Kept(<{} bytes>)", text.len()),
            Payload::Purged => f.write_str("Purged"),
            Payload::Unreadable => f.write_str("Unreadable"),
        }
    }
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
    pub outcome: Option<String>,
    pub payload: Payload,
    pub payload_mac: Option<[u8; 32]>,
    pub recorded_at_ms: i64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

impl fmt::Debug for JournalEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournalEntry")
            .field("seq", &self.seq)
            .field("kind", &self.kind)
            .field("idempotency_key", &self.idempotency_key)
            .field("reference", &self.reference)
            .field("service", &self.service)
            .field("operation", &self.operation)
            .field("outcome", &self.outcome)
            .field("payload", &self.payload)
            .finish()
    }
}

/// Why the chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("journal entry {seq} does not link to the entry before it (or to the anchor)")]
    BrokenLink { seq: i64 },
    #[error(
        "journal entry {seq} does not match its own keyed hash (altered, or another records key)"
    )]
    BadHash { seq: i64 },
    #[error("journal entry {seq} has an unreadable kind or hash")]
    Corrupt { seq: i64 },
}

impl ChainError {
    /// The first entry that does not verify.
    pub fn seq(&self) -> i64 {
        match *self {
            ChainError::BrokenLink { seq }
            | ChainError::BadHash { seq }
            | ChainError::Corrupt { seq } => seq,
        }
    }
}

/// Where the kept part of the chain starts: everything up to `pruned_through` was deleted
/// by retention, and `head_hash` is the hash of that last deleted entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub pruned_through: i64,
    pub head_hash: [u8; 32],
}

/// The associated data binding a sealed journal payload to its row.
fn payload_context(seq: i64, key: &str) -> Vec<u8> {
    format!("journal:{seq}:{key}").into_bytes()
}

fn has_payload(payload: &str) -> bool {
    !matches!(payload, "" | "{}")
}

fn entry_hash(
    keys: &KeyRing,
    prev: &[u8; 32],
    seq: i64,
    e: &NewEntry<'_>,
    payload_mac: Option<&[u8; 32]>,
) -> [u8; 32] {
    let mut h = keys.chain_link();
    h.update(prev);
    h.update(&seq.to_be_bytes());
    for field in [
        e.kind.as_str(),
        e.terminal_id,
        e.idempotency_key,
        e.reference,
        e.service,
        e.operation,
        e.outcome.unwrap_or(""),
    ] {
        h.update(&(field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.update(payload_mac.unwrap_or(&[0; 32]));
    h.update(&e.recorded_at_ms.to_be_bytes());
    h.finalize().into_bytes().into()
}

pub(super) fn anchor(tx: &rusqlite::Connection) -> Result<Anchor, StoreError> {
    let (pruned_through, head): (i64, Vec<u8>) = tx.query_row(
        "SELECT pruned_through, head_hash FROM journal_anchor WHERE id = 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(Anchor {
        pruned_through,
        head_hash: to_hash(&head).unwrap_or([0; 32]),
    })
}

/// Appends inside an open transaction, so callers can commit other records atomically with it.
pub(super) fn append_in(
    tx: &Transaction<'_>,
    keys: &KeyRing,
    entry: &NewEntry<'_>,
) -> Result<i64, StoreError> {
    // Cached statements: an append is on every resident's path, and preparing costs more
    // than sealing.
    let last: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, to_hash(&hash).unwrap_or([0; 32])),
        None => {
            let anchor = anchor(tx)?;
            (anchor.pruned_through + 1, anchor.head_hash)
        }
    };
    let sealed = has_payload(entry.payload).then(|| {
        let context = payload_context(seq, entry.idempotency_key);
        let mac = keys.payload_mac(&context, entry.payload.as_bytes());
        let (nonce, sealed) = keys.seal(&context, entry.payload.as_bytes());
        (mac, nonce, sealed)
    });
    let mac = sealed.as_ref().map(|(mac, _, _)| *mac);
    let hash = entry_hash(keys, &prev, seq, entry, mac.as_ref());
    tx.prepare_cached(
        "INSERT INTO journal (seq, kind, terminal_id, idempotency_key, reference, service,
                              operation, outcome, payload_mac, recorded_at_ms, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
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
    ])?;
    if let Some((_, nonce, sealed)) = sealed {
        tx.prepare_cached("INSERT INTO journal_payloads (seq, nonce, sealed) VALUES (?1, ?2, ?3)")?
            .execute(params![seq, &nonce[..], sealed])?;
    }
    Ok(seq)
}

fn to_hash(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

const COLUMNS: &str = "j.seq, j.kind, j.terminal_id, j.idempotency_key, j.reference, j.service,
                       j.operation, j.outcome, j.payload_mac, j.recorded_at_ms, j.prev_hash,
                       j.hash, p.nonce, p.sealed";
const FROM: &str = "journal j LEFT JOIN journal_payloads p ON p.seq = j.seq";

fn read_entry(keys: &KeyRing, row: &Row<'_>) -> rusqlite::Result<JournalEntry> {
    let seq: i64 = row.get(0)?;
    let kind: String = row.get(1)?;
    let key: String = row.get(3)?;
    let mac: Option<Vec<u8>> = row.get(8)?;
    let prev: Vec<u8> = row.get(10)?;
    let hash: Vec<u8> = row.get(11)?;
    let nonce: Option<Vec<u8>> = row.get(12)?;
    let sealed: Option<Vec<u8>> = row.get(13)?;
    let corrupt = || rusqlite::Error::IntegralValueOutOfRange(0, seq);
    let payload_mac = match mac {
        Some(mac) => Some(to_hash(&mac).ok_or_else(corrupt)?),
        None => None,
    };
    let payload = match (payload_mac, nonce, sealed) {
        (None, _, _) => Payload::Empty,
        (Some(_), None, _) | (Some(_), _, None) => Payload::Purged,
        (Some(mac), Some(nonce), Some(sealed)) => {
            let context = payload_context(seq, &key);
            match keys.open(&context, &nonce, &sealed) {
                Some(plain) if keys.payload_mac(&context, &plain) == mac => {
                    match String::from_utf8(plain.to_vec()) {
                        Ok(text) => Payload::Kept(Zeroizing::new(text)),
                        Err(_) => Payload::Unreadable,
                    }
                }
                _ => Payload::Unreadable,
            }
        }
    };
    Ok(JournalEntry {
        seq,
        kind: EntryKind::parse(&kind).ok_or_else(corrupt)?,
        terminal_id: row.get(2)?,
        idempotency_key: key,
        reference: row.get(4)?,
        service: row.get(5)?,
        operation: row.get(6)?,
        outcome: row.get(7)?,
        payload,
        payload_mac,
        recorded_at_ms: row.get(9)?,
        prev_hash: to_hash(&prev).ok_or_else(corrupt)?,
        hash: to_hash(&hash).ok_or_else(corrupt)?,
    })
}

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// Payloads of completed, acknowledged operations deleted (their MACs stay).
    pub payloads: u64,
    /// Entries of the chain's oldest prefix deleted (the anchor moved past them).
    pub entries: u64,
}

/// How long the journal keeps what (README, "The terminal's records").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// A completed operation's payloads stay this long after completion (reprints), if the
    /// back end has acknowledged its entries.
    pub payload_ms: i64,
    /// Entries older than this go, once every operation before them is completed and shipped.
    pub entry_ms: i64,
    /// And never more than this many entries are kept (oldest first, same condition).
    pub max_entries: i64,
}

impl Retention {
    pub const DEFAULT: Retention = Retention {
        payload_ms: 24 * 3_600_000,
        entry_ms: 30 * 24 * 3_600_000,
        max_entries: 100_000,
    };
}

/// The last entry's sequence number and hash.
pub type Head = (i64, [u8; 32]);

impl Store {
    /// Appends `entries` in one durable transaction and returns their sequence numbers.
    pub fn journal_append(&mut self, entries: &[NewEntry<'_>]) -> Result<Vec<i64>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut seqs = Vec::with_capacity(entries.len());
        for entry in entries {
            seqs.push(append_in(&tx, &self.keys, entry)?);
        }
        tx.commit()?;
        Ok(seqs)
    }

    /// Appends `intent` for its reference unless the reference already has entries: the
    /// check and the write are one `IMMEDIATE` transaction, so two tasks (or a recovery
    /// beside a session) cannot both start an operation for one reference. Returns the
    /// reference's history instead when it has one.
    pub fn journal_begin(
        &mut self,
        intent: &NewEntry<'_>,
    ) -> Result<Result<i64, Vec<JournalEntry>>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let history = {
            let keys = &self.keys;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM {FROM} WHERE j.reference = ?1 ORDER BY j.seq"
            ))?;
            let rows = stmt.query_map([intent.reference], |row| read_entry(keys, row))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let reusable = history.last().is_none_or(|last| {
            last.kind == EntryKind::Completed
                && matches!(
                    last_outcome(&history, &last.idempotency_key),
                    Some("void" | "failed")
                )
        });
        if !reusable {
            return Ok(Err(history));
        }
        let seq = append_in(&tx, &self.keys, intent)?;
        tx.commit()?;
        Ok(Ok(seq))
    }

    fn query_entries(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let keys = &self.keys;
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} {filter}"))?;
        let rows = stmt.query_map(params, |row| read_entry(keys, row))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every entry recorded under `key`, oldest first.
    pub fn journal_for_key(&self, key: &str) -> Result<Vec<JournalEntry>, StoreError> {
        self.query_entries("WHERE j.idempotency_key = ?1 ORDER BY j.seq", [key])
    }

    /// Every entry recorded under the business `reference`, oldest first.
    pub fn journal_for_reference(&self, reference: &str) -> Result<Vec<JournalEntry>, StoreError> {
        self.query_entries("WHERE j.reference = ?1 ORDER BY j.seq", [reference])
    }

    /// The latest entry of every operation that has not completed, oldest operation first.
    pub fn journal_open_operations(&self) -> Result<Vec<JournalEntry>, StoreError> {
        self.query_entries(
            "WHERE j.seq IN (SELECT MAX(seq) FROM journal GROUP BY idempotency_key)
             AND j.kind <> 'completed' ORDER BY j.seq",
            [],
        )
    }

    /// Entries with a sequence number above `after`, at most `limit` of them (journal shipping).
    pub fn journal_after(&self, after: i64, limit: u32) -> Result<Vec<JournalEntry>, StoreError> {
        self.query_entries(
            "WHERE j.seq > ?1 ORDER BY j.seq LIMIT ?2",
            params![after, limit],
        )
    }

    /// The chain's anchor (where the kept entries start) and its head (the last entry's
    /// sequence number and hash), shipped with journal batches.
    pub fn journal_head(&self) -> Result<(Anchor, Option<Head>), StoreError> {
        let anchor = anchor(&self.conn)?;
        let head: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok((
            anchor,
            head.map(|(seq, hash)| (seq, to_hash(&hash).unwrap_or([0; 32]))),
        ))
    }

    /// Recomputes the keyed chain from the anchor; returns the number of entries.
    pub fn journal_verify_chain(&self) -> Result<Result<u64, ChainError>, StoreError> {
        let anchor = anchor(&self.conn)?;
        let mut stmt = self.conn.prepare(
            "SELECT seq, kind, terminal_id, idempotency_key, reference, service, operation,
                    outcome, payload_mac, recorded_at_ms, prev_hash, hash
             FROM journal ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut prev = anchor.head_hash;
        let mut expected = anchor.pruned_through + 1;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let fields = (|| -> rusqlite::Result<_> {
                let kind: String = row.get(1)?;
                let mac: Option<Vec<u8>> = row.get(8)?;
                let prev_hash: Vec<u8> = row.get(10)?;
                let hash: Vec<u8> = row.get(11)?;
                Ok((
                    EntryKind::parse(&kind),
                    mac.map(|m| to_hash(&m)),
                    to_hash(&prev_hash),
                    to_hash(&hash),
                ))
            })();
            let Ok((Some(kind), mac, Some(prev_hash), Some(hash))) = fields else {
                return Ok(Err(ChainError::Corrupt { seq }));
            };
            let mac = match mac {
                Some(Some(mac)) => Some(mac),
                Some(None) => return Ok(Err(ChainError::Corrupt { seq })),
                None => None,
            };
            if seq != expected || prev_hash != prev {
                return Ok(Err(ChainError::BrokenLink { seq }));
            }
            let text = |i| row.get::<_, String>(i);
            let (terminal, key, reference, service, operation) =
                match (text(2), text(3), text(4), text(5), text(6)) {
                    (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => (a, b, c, d, e),
                    _ => return Ok(Err(ChainError::Corrupt { seq })),
                };
            let outcome: Option<String> = row.get(7).unwrap_or(None);
            let recomputed = entry_hash(
                &self.keys,
                &prev,
                seq,
                &NewEntry {
                    kind,
                    terminal_id: &terminal,
                    idempotency_key: &key,
                    reference: &reference,
                    service: &service,
                    operation: &operation,
                    outcome: outcome.as_deref(),
                    payload: "",
                    recorded_at_ms: row.get(9)?,
                },
                mac.as_ref(),
            );
            if recomputed != hash {
                return Ok(Err(ChainError::BadHash { seq }));
            }
            prev = hash;
            expected += 1;
            count += 1;
        }
        Ok(Ok(count))
    }

    /// The highest sequence number already queued in a journal batch.
    pub fn journal_queued_through(&self) -> Result<i64, StoreError> {
        self.setting_i64("journal.queued_through")
    }

    /// Records that every entry up to `seq` is queued for shipping.
    pub fn journal_set_queued_through(&mut self, seq: i64) -> Result<(), StoreError> {
        self.set_setting_i64("journal.queued_through", seq)
    }

    /// The highest sequence number the back end has acknowledged in a journal batch.
    pub fn journal_acknowledged_through(&self) -> Result<i64, StoreError> {
        self.setting_i64("journal.acknowledged_through")
    }

    /// Records that the back end holds every entry up to `seq` (a batch was acknowledged).
    pub fn journal_acknowledge_through(&mut self, seq: i64) -> Result<(), StoreError> {
        self.raise_setting_i64("journal.acknowledged_through", seq)
    }

    /// Everything recorded before this time (ms) was in a daily reconciliation that matched.
    pub fn journal_reconciled_through_ms(&self) -> Result<i64, StoreError> {
        self.setting_i64("journal.reconciled_through_ms")
    }

    /// Records a daily reconciliation that matched: everything before `through_ms` agrees
    /// with the back end. The mark only moves forward.
    pub fn journal_mark_reconciled(&mut self, through_ms: i64) -> Result<(), StoreError> {
        self.raise_setting_i64("journal.reconciled_through_ms", through_ms)
    }

    /// One retention pass at `now_ms`: purges the payloads of operations completed before
    /// `retention.payload_ms`, acknowledged by the back end and inside a matched daily
    /// reconciliation, then deletes the chain's oldest prefix beyond the age or size limit —
    /// never past an operation that is still open, nor entries not acknowledged or not
    /// reconciled. The chain still verifies.
    pub fn journal_prune(
        &mut self,
        now_ms: i64,
        retention: Retention,
    ) -> Result<Pruned, StoreError> {
        let acknowledged = self.journal_acknowledged_through()?;
        let reconciled = self.journal_reconciled_through_ms()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let payloads = tx.execute(
            "DELETE FROM journal_payloads WHERE seq IN (
                 SELECT j.seq FROM journal j JOIN (
                     SELECT idempotency_key AS k, MAX(seq) AS last FROM journal
                     GROUP BY idempotency_key
                 ) ops ON ops.k = j.idempotency_key
                 JOIN journal done ON done.seq = ops.last
                 WHERE done.kind = 'completed' AND ops.last <= ?1 AND done.recorded_at_ms <= ?2)",
            params![
                acknowledged,
                (now_ms - retention.payload_ms).min(reconciled - 1)
            ],
        )? as u64;
        // The prefix may end before the first entry of any open operation and must be
        // acknowledged; within that, what is too old or beyond the size limit goes.
        let first_open: Option<i64> = tx.query_row(
            "SELECT MIN(j.seq) FROM journal j JOIN (
                 SELECT idempotency_key AS k, MAX(seq) AS last FROM journal GROUP BY idempotency_key
             ) ops ON ops.k = j.idempotency_key
             JOIN journal tip ON tip.seq = ops.last WHERE tip.kind <> 'completed'",
            [],
            |row| row.get(0),
        )?;
        let last_reconciled: Option<i64> = tx.query_row(
            "SELECT MAX(seq) FROM journal WHERE recorded_at_ms < ?1",
            [reconciled],
            |row| row.get(0),
        )?;
        let limit = first_open
            .map_or(acknowledged, |open| acknowledged.min(open - 1))
            .min(last_reconciled.unwrap_or(0));
        let too_old: Option<i64> = tx.query_row(
            "SELECT MAX(seq) FROM journal WHERE recorded_at_ms < ?1",
            [now_ms - retention.entry_ms],
            |row| row.get(0),
        )?;
        let newest: Option<i64> =
            tx.query_row("SELECT MAX(seq) FROM journal", [], |row| row.get(0))?;
        let too_many = newest.map(|n| n - retention.max_entries);
        let through = too_old.max(too_many).map(|t| t.min(limit));
        let mut entries = 0;
        if let Some(through) = through {
            let current = anchor(&tx)?;
            if through > current.pruned_through {
                let head: Option<Vec<u8>> = tx
                    .query_row(
                        "SELECT hash FROM journal WHERE seq = ?1",
                        [through],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(head) = head {
                    tx.execute(
                        "UPDATE journal_anchor SET pruned_through = ?1, head_hash = ?2 WHERE id = 1",
                        params![through, head],
                    )?;
                    tx.execute("DELETE FROM journal_payloads WHERE seq <= ?1", [through])?;
                    entries = tx.execute("DELETE FROM journal WHERE seq <= ?1", [through])? as u64;
                }
            }
        }
        tx.commit()?;
        // Give the freed pages back (a file made with auto_vacuum = INCREMENTAL); the pragma
        // frees pages as it is stepped, so it is stepped to the end.
        let mut vacuum = self.conn.prepare("PRAGMA incremental_vacuum")?;
        let mut rows = vacuum.query([])?;
        while rows.next()?.is_some() {}
        Ok(Pruned { payloads, entries })
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

/// The clear outcome code of the result under `key` in `history`, if any.
pub fn last_outcome<'h>(history: &'h [JournalEntry], key: &str) -> Option<&'h str> {
    history
        .iter()
        .rev()
        .find(|e| e.idempotency_key == key && e.kind == EntryKind::Result)
        .and_then(|e| e.outcome.as_deref())
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
            outcome: None,
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
    fn a_payload_is_sealed_on_disk_and_opens_only_with_the_records_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.db");
        let mut store = Store::open(&path).expect("open");
        let params = r#"{"id_number":"500101195801300170","name":"WANG JIANGUO"}"#;
        store
            .journal_append(&[entry(EntryKind::Intent, "a", params)])
            .expect("append");
        let read = store.journal_for_key("a").expect("read");
        assert_eq!(read[0].payload.text(), Some(params));
        assert!(!format!("{read:?}").contains("5001011958"), "Debug redacts");
        drop(store);
        let mut bytes = std::fs::read(&path).expect("db");
        bytes.extend(std::fs::read(dir.path().join("k.db-wal")).unwrap_or_default());
        for needle in [&b"500101195801300170"[..], b"WANG JIANGUO"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plain text on disk"
            );
        }
        // Another key: the payload is unreadable and the chain does not verify.
        std::fs::write(dir.path().join("k.key"), format!("{}\n", "cd".repeat(32))).expect("key");
        let store = Store::open(&path).expect("reopen");
        assert_eq!(
            store.journal_for_key("a").expect("read")[0].payload,
            Payload::Unreadable
        );
        assert_eq!(
            store.journal_verify_chain().expect("sql"),
            Err(ChainError::BadHash { seq: 1 })
        );
    }

    #[test]
    fn the_journal_refuses_updates_deletes_replaces_and_out_of_order_inserts() {
        let mut store = Store::open_in_memory().expect("open");
        store
            .journal_append(&[
                entry(EntryKind::Intent, "a", "{}"),
                entry(EntryKind::Sent, "a", "{}"),
            ])
            .expect("append");
        assert!(store
            .conn
            .execute("UPDATE journal SET operation = 'x'", [])
            .is_err());
        assert!(store.conn.execute("DELETE FROM journal", []).is_err());
        let copy = "INSERT OR REPLACE INTO journal (seq, kind, terminal_id, idempotency_key,
                        reference, service, operation, recorded_at_ms, prev_hash, hash)
                    SELECT ?1, kind, terminal_id, idempotency_key, reference, service, 'forged',
                           recorded_at_ms, prev_hash, hash FROM journal WHERE seq = 1";
        assert!(store.conn.execute(copy, [1]).is_err(), "replace");
        assert!(store.conn.execute(copy, [5]).is_err(), "a gap");
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(2));
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
                 UPDATE journal SET operation = 'report_loss' WHERE seq = 1;",
            )
            .expect("tamper");
        assert_eq!(
            store.journal_verify_chain().expect("sql"),
            Err(ChainError::BadHash { seq: 1 })
        );
    }

    #[test]
    fn beginning_a_reference_twice_returns_its_history_instead_of_a_second_intent() {
        let mut store = Store::open_in_memory().expect("open");
        let first = entry(EntryKind::Intent, "a", "{\"p\":1}");
        assert!(store.journal_begin(&first).expect("sql").is_ok());
        let again = entry(EntryKind::Intent, "b", "{\"p\":1}");
        let history = store.journal_begin(&again).expect("sql").expect_err("open");
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].idempotency_key, "a");
        // Once voided, the reference may start again under a new key.
        store
            .journal_append(&[
                NewEntry {
                    outcome: Some("void"),
                    ..entry(EntryKind::Result, "a", "{}")
                },
                entry(EntryKind::Completed, "a", "{}"),
            ])
            .expect("append");
        assert!(store.journal_begin(&again).expect("sql").is_ok());
    }

    #[test]
    fn retention_purges_acknowledged_payloads_and_prefixes_and_the_chain_still_verifies() {
        let mut store = Store::open_in_memory().expect("open");
        let at = |ms, e: NewEntry<'static>| NewEntry {
            recorded_at_ms: ms,
            ..e
        };
        store
            .journal_append(&[
                at(0, entry(EntryKind::Intent, "old", "{\"p\":1}")),
                at(0, entry(EntryKind::Sent, "old", "{}")),
                at(0, entry(EntryKind::Result, "old", "{\"answer\":1}")),
                at(0, entry(EntryKind::Completed, "old", "{}")),
                at(0, entry(EntryKind::Intent, "open", "{\"p\":2}")),
                at(10, entry(EntryKind::Intent, "new", "{\"p\":3}")),
                at(10, entry(EntryKind::Completed, "new", "{}")),
            ])
            .expect("append");
        let retention = Retention {
            payload_ms: 5,
            entry_ms: 5,
            max_entries: 1_000,
        };
        // Nothing acknowledged by the back end and reconciled yet: nothing goes.
        assert_eq!(
            store.journal_prune(20, retention).expect("prune"),
            Pruned::default()
        );
        store.journal_acknowledge_through(7).expect("ack");
        assert_eq!(
            store.journal_prune(20, retention).expect("prune"),
            Pruned::default()
        );
        store.journal_mark_reconciled(11).expect("reconciled");
        let pruned = store.journal_prune(20, retention).expect("prune");
        // Payloads of both completed operations go; the old operation's entries go, but
        // not past the open one.
        assert_eq!(
            pruned,
            Pruned {
                payloads: 3,
                entries: 4
            }
        );
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(3));
        let open = store.journal_for_key("open").expect("read");
        assert_eq!(
            open[0].payload.text(),
            Some("{\"p\":2}"),
            "open payload kept"
        );
        let new = store.journal_for_key("new").expect("read");
        assert_eq!(new[0].payload, Payload::Purged);
        // The chain goes on from the kept part.
        store
            .journal_append(&[entry(EntryKind::Sent, "open", "{}")])
            .expect("append");
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(4));
        assert!(store
            .conn
            .execute("DELETE FROM journal WHERE seq = 5", [])
            .is_err());
    }

    #[test]
    fn pruned_pages_go_back_to_the_file_system() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("k.db")).expect("open");
        let big = format!("{{\"p\":\"{}\"}}", "x".repeat(2_000));
        for i in 0..300 {
            let key = format!("k{i}");
            store
                .journal_append(&[
                    NewEntry {
                        idempotency_key: &key,
                        ..entry(EntryKind::Intent, "", &big)
                    },
                    NewEntry {
                        idempotency_key: &key,
                        ..entry(EntryKind::Completed, "", "{}")
                    },
                ])
                .expect("append");
        }
        let full = store.file_bytes().expect("size");
        store.journal_acknowledge_through(i64::MAX).expect("ack");
        store.journal_mark_reconciled(i64::MAX).expect("reconciled");
        let retention = Retention {
            payload_ms: 0,
            entry_ms: 0,
            max_entries: 1_000,
        };
        let pruned = store.journal_prune(10, retention).expect("prune");
        assert_eq!(pruned.payloads, 300);
        let after = store.file_bytes().expect("size");
        assert!(after * 2 < full, "{full} bytes before, {after} after");
    }
}
