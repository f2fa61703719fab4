//! The transaction journal: an append-only, keyed hash chain of every back-end mutation.
//!
//! Each business operation leaves `intent → sent → result | unknown → completed` entries under
//! one idempotency key; the current state of an operation is its latest entry. A row holds no
//! personal data: its payload (the request's parameters, needed for a byte-identical retry,
//! or the answer) is sealed in `journal_payloads` and the row keeps only its keyed MAC, so
//! the payload can be purged once the operation is completed and the back end has the
//! entries, and the chain still verifies. Rows are never updated; only a verified prefix is
//! ever deleted, after the anchor has moved past it (triggers enforce both).
//!
//! Rows are compact (schema version 5): what is the same for every entry of an operation —
//! its idempotency key (a UUID as its 16 bytes), reference, service, operation name and
//! terminal — is stored once, on the operation's first entry; every entry keeps `op`, the
//! sequence number of that first entry, its kind as a small integer, the outcome code, the
//! payload's MAC, its time and its own hash. The two lookup indexes (key, reference) hold
//! first entries only, and an append after the intent touches no index. The link to the
//! entry before (`prev_hash`) is not stored: it is that entry's hash, or the anchor's, and
//! the keyed hash covers it, so verification recomputes it. An operation's entries are read
//! from its first entry onwards; retention never cuts an operation in two, so a kept entry's
//! first entry is always kept.

use std::fmt;

use hmac::Mac;
use rusqlite::types::{Value, ValueRef};
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

    /// How the kind is stored in the journal row (schema version 5). 0 is never written: a
    /// row that has it (or any other number) reads as corrupt.
    pub(super) fn code(self) -> i64 {
        match self {
            EntryKind::Intent => 1,
            EntryKind::Sent => 2,
            EntryKind::Result => 3,
            EntryKind::Unknown => 4,
            EntryKind::Completed => 5,
        }
    }

    fn from_code(code: i64) -> Option<EntryKind> {
        Some(match code {
            1 => EntryKind::Intent,
            2 => EntryKind::Sent,
            3 => EntryKind::Result,
            4 => EntryKind::Unknown,
            5 => EntryKind::Completed,
            _ => return None,
        })
    }

    pub(super) fn parse(text: &str) -> Option<EntryKind> {
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
pub(super) fn payload_context(seq: i64, key: &str) -> Vec<u8> {
    format!("journal:{seq}:{key}").into_bytes()
}

pub(super) fn has_payload(payload: &str) -> bool {
    !matches!(payload, "" | "{}")
}

/// The keyed hash of one entry, linked to the one before (`prev`). Unchanged since schema
/// version 4: the hashes already shipped to the back end stay the chain's.
pub(super) fn entry_hash(
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

/// An idempotency key as the journal stores it: a canonical (lower-case, hyphenated) UUID,
/// which is what the engine makes, as its 16 bytes; anything else as its text. Reads give
/// back exactly the text that was written.
pub(super) fn stored_key(key: &str) -> Value {
    match uuid::Uuid::try_parse(key) {
        Ok(uuid) if uuid.hyphenated().to_string() == key => Value::Blob(uuid.as_bytes().to_vec()),
        _ => Value::Text(key.to_owned()),
    }
}

fn key_text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Blob(bytes) => uuid::Uuid::from_slice(bytes)
            .ok()
            .map(|uuid| uuid.hyphenated().to_string()),
        ValueRef::Text(text) => std::str::from_utf8(text).ok().map(str::to_owned),
        _ => None,
    }
}

pub(super) fn anchor(tx: &rusqlite::Connection) -> Result<Anchor, StoreError> {
    let (pruned_through, head): (i64, Vec<u8>) = tx
        .prepare_cached("SELECT pruned_through, head_hash FROM journal_anchor WHERE id = 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(Anchor {
        pruned_through,
        head_hash: to_hash(&head).unwrap_or([0; 32]),
    })
}

/// The first entry of the operation `entry` continues: the newest first entry with its key
/// and the same reference, service, operation and terminal. `None`: `entry` begins one.
pub(super) fn first_entry_of(
    tx: &Transaction<'_>,
    entry: &NewEntry<'_>,
) -> Result<Option<i64>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT seq FROM journal
             WHERE idempotency_key = ?1 AND reference = ?2 AND service = ?3 AND operation = ?4
                   AND terminal_id = ?5
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(
            params![
                stored_key(entry.idempotency_key),
                entry.reference,
                entry.service,
                entry.operation,
                entry.terminal_id
            ],
            |row| row.get(0),
        )
        .optional()?)
}

/// Writes one row as schema version 5 keeps it: an operation's first entry (`op` `None`)
/// with the fields its entries share, any other with only its first entry's sequence number.
pub(super) fn insert_row(
    tx: &Transaction<'_>,
    seq: i64,
    op: Option<i64>,
    kind: i64,
    entry: &NewEntry<'_>,
    payload_mac: Option<&[u8]>,
    hash: &[u8],
) -> Result<(), StoreError> {
    match op {
        Some(op) => tx
            .prepare_cached(
                "INSERT INTO journal (seq, op, kind, outcome, payload_mac, recorded_at_ms, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                seq,
                op,
                kind,
                entry.outcome,
                payload_mac,
                entry.recorded_at_ms,
                hash
            ])?,
        None => tx
            .prepare_cached(
                "INSERT INTO journal (seq, op, kind, idempotency_key, reference, service,
                                      operation, terminal_id, outcome, payload_mac,
                                      recorded_at_ms, hash)
                 VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                seq,
                kind,
                stored_key(entry.idempotency_key),
                entry.reference,
                entry.service,
                entry.operation,
                entry.terminal_id,
                entry.outcome,
                payload_mac,
                entry.recorded_at_ms,
                hash
            ])?,
    };
    Ok(())
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
    let op = first_entry_of(tx, entry)?;
    insert_row(
        tx,
        seq,
        op,
        entry.kind.code(),
        entry,
        mac.as_ref().map(|m| &m[..]),
        &hash,
    )?;
    if let Some((_, nonce, sealed)) = sealed {
        tx.prepare_cached("INSERT INTO journal_payloads (seq, nonce, sealed) VALUES (?1, ?2, ?3)")?
            .execute(params![seq, &nonce[..], sealed])?;
    }
    Ok(seq)
}

pub(super) fn to_hash(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// An entry's link, recomputed: the hash of the entry before it, or the anchor's when the
/// entry before was pruned.
const PREV_HASH: &str = "COALESCE(
        (SELECT b.hash FROM journal b WHERE b.seq = j.seq - 1),
        (SELECT a.head_hash FROM journal_anchor a WHERE a.id = 1 AND a.pruned_through = j.seq - 1))";
/// An entry's own columns and, from its operation's first entry (`f`), the shared ones.
const COLUMNS: &str = "j.seq, j.kind, f.terminal_id, f.idempotency_key, f.reference, f.service,
                       f.operation, j.outcome, j.payload_mac, j.recorded_at_ms";
const FROM: &str = "journal j LEFT JOIN journal f ON f.seq = j.op
                    LEFT JOIN journal_payloads p ON p.seq = j.seq";

fn select(filter: &str) -> String {
    format!("SELECT {COLUMNS}, {PREV_HASH}, j.hash, p.nonce, p.sealed FROM {FROM} {filter}")
}

/// The entries of the operations whose `column` is `?1`, oldest first: from the first such
/// operation's first entry onwards (the index holds first entries only).
fn of_operations(column: &str) -> String {
    format!(
        "WHERE j.seq >= (SELECT MIN(seq) FROM journal WHERE {column} = ?1)
           AND j.op IN (SELECT seq FROM journal WHERE {column} = ?1)
         ORDER BY j.seq"
    )
}

fn read_entry(keys: &KeyRing, row: &Row<'_>) -> rusqlite::Result<JournalEntry> {
    let seq: i64 = row.get(0)?;
    let corrupt = || rusqlite::Error::IntegralValueOutOfRange(0, seq);
    let kind: i64 = row.get(1)?;
    let key = key_text(row.get_ref(3)?).ok_or_else(corrupt)?;
    let mac: Option<Vec<u8>> = row.get(8)?;
    let prev: Option<Vec<u8>> = row.get(10)?;
    let hash: Vec<u8> = row.get(11)?;
    let nonce: Option<Vec<u8>> = row.get(12)?;
    let sealed: Option<Vec<u8>> = row.get(13)?;
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
    let text =
        |i| -> rusqlite::Result<String> { row.get::<_, Option<String>>(i)?.ok_or_else(corrupt) };
    Ok(JournalEntry {
        seq,
        kind: EntryKind::from_code(kind).ok_or_else(corrupt)?,
        terminal_id: text(2)?,
        idempotency_key: key,
        reference: text(4)?,
        service: text(5)?,
        operation: text(6)?,
        outcome: row.get(7)?,
        payload,
        payload_mac,
        recorded_at_ms: row.get(9)?,
        prev_hash: prev.as_deref().and_then(to_hash).ok_or_else(corrupt)?,
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
            let mut stmt = tx.prepare_cached(&select(&of_operations("reference")))?;
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
        let mut stmt = self.conn.prepare_cached(&select(filter))?;
        let rows = stmt.query_map(params, |row| read_entry(keys, row))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every entry recorded under `key`, oldest first.
    pub fn journal_for_key(&self, key: &str) -> Result<Vec<JournalEntry>, StoreError> {
        self.query_entries(&of_operations("idempotency_key"), [stored_key(key)])
    }

    /// Every entry recorded under the business `reference`, oldest first.
    pub fn journal_for_reference(&self, reference: &str) -> Result<Vec<JournalEntry>, StoreError> {
        self.query_entries(&of_operations("reference"), [reference])
    }

    /// The latest entry of every operation that has not completed, oldest operation first.
    pub fn journal_open_operations(&self) -> Result<Vec<JournalEntry>, StoreError> {
        self.query_entries(
            // 5: completed.
            "WHERE j.seq IN (SELECT MAX(e.seq) FROM journal e
                             JOIN journal ef ON ef.seq = e.op
                             GROUP BY ef.idempotency_key)
             AND j.kind <> 5 ORDER BY j.seq",
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

    /// Recomputes the keyed chain from the anchor; returns the number of entries. Each entry
    /// links to the hash of the one before (or the anchor's): a gap in the sequence is a
    /// broken link, a changed row or a changed stored hash a bad hash.
    pub fn journal_verify_chain(&self) -> Result<Result<u64, ChainError>, StoreError> {
        let anchor = anchor(&self.conn)?;
        Ok(self
            .verify_after(anchor.pruned_through, anchor.head_hash)?
            .map(|(count, _)| count))
    }

    /// Verifies the chain from where the last check that passed ended (a mark in settings,
    /// keyed so it cannot be moved forward without the records key) and moves the mark to
    /// the head: at start-up, only what was appended since is recomputed. Without a mark that
    /// opens, one behind the anchor, or one whose entry's hash changed, the whole chain is
    /// checked. Entries before the mark are not re-read: `journal_verify_chain` checks all.
    /// Returns the number of entries checked.
    pub fn journal_verify_chain_since_mark(
        &mut self,
    ) -> Result<Result<u64, ChainError>, StoreError> {
        let anchor = anchor(&self.conn)?;
        let mut from = (anchor.pruned_through, anchor.head_hash);
        if let Some((seq, hash)) = self.verified_mark()? {
            let still: Option<Vec<u8>> = self
                .conn
                .query_row("SELECT hash FROM journal WHERE seq = ?1", [seq], |row| {
                    row.get(0)
                })
                .optional()?;
            let holds = if seq == anchor.pruned_through {
                hash == anchor.head_hash
            } else {
                seq > anchor.pruned_through && still.as_deref() == Some(&hash[..])
            };
            if holds {
                from = (seq, hash);
            }
        }
        let (count, head) = match self.verify_after(from.0, from.1)? {
            Ok(checked) => checked,
            Err(error) => return Ok(Err(error)),
        };
        let (seq, hash) = head.unwrap_or(from);
        let mark = self.keys.verified_mark(seq, &hash);
        // Not keeping the mark (a full disk) only means the next start checks more.
        if let Err(error) = self.conn.execute(
            "INSERT INTO settings (key, value) VALUES ('journal.verified_mark', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [format!("{seq}:{}:{}", hex(&hash), hex(&mark))],
        ) {
            tracing::warn!(%error, "the journal's verified head was not marked");
        }
        Ok(Ok(count))
    }

    /// The last verified head, if its mark is there and opens with the records key.
    fn verified_mark(&self) -> Result<Option<Head>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'journal.verified_mark'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        let Some(text) = text else { return Ok(None) };
        let mut parts = text.split(':');
        let (Some(seq), Some(hash), Some(mark), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let (Ok(seq), Some(hash), Some(mark)) = (seq.parse::<i64>(), unhex(hash), unhex(mark))
        else {
            return Ok(None);
        };
        Ok((self.keys.verified_mark(seq, &hash) == mark).then_some((seq, hash)))
    }

    /// Recomputes the chain after `after`, whose hash is `prev`: the number of entries and the
    /// last one's sequence number and hash.
    fn verify_after(
        &self,
        after: i64,
        mut prev: [u8; 32],
    ) -> Result<Result<(u64, Option<Head>), ChainError>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, j.hash FROM journal j
             LEFT JOIN journal f ON f.seq = j.op WHERE j.seq > ?1 ORDER BY j.seq"
        ))?;
        let mut rows = stmt.query([after])?;
        let mut expected = after + 1;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            if seq != expected {
                return Ok(Err(ChainError::BrokenLink { seq }));
            }
            let fields = (|| -> rusqlite::Result<_> {
                let kind: i64 = row.get(1)?;
                let key = row.get_ref(3).map(key_text)?;
                let text = |i| row.get::<_, Option<String>>(i);
                let mac: Option<Vec<u8>> = row.get(8)?;
                let hash: Vec<u8> = row.get(10)?;
                Ok((
                    EntryKind::from_code(kind),
                    key,
                    (text(2)?, text(4)?, text(5)?, text(6)?),
                    text(7)?,
                    mac.map(|m| to_hash(&m)),
                    row.get::<_, i64>(9)?,
                    to_hash(&hash),
                ))
            })();
            let Ok((
                Some(kind),
                Some(key),
                (Some(terminal), Some(reference), Some(service), Some(operation)),
                outcome,
                mac,
                at,
                Some(hash),
            )) = fields
            else {
                return Ok(Err(ChainError::Corrupt { seq }));
            };
            let mac = match mac {
                Some(Some(mac)) => Some(mac),
                Some(None) => return Ok(Err(ChainError::Corrupt { seq })),
                None => None,
            };
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
                    recorded_at_ms: at,
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
        Ok(Ok((count, (count > 0).then_some((expected - 1, prev)))))
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
        // An operation's tip is its key's latest entry (a key has more than one operation
        // row only if its terminal, reference, service or name changed between entries).
        const TIPS: &str = "WITH tips AS (
                 SELECT f.idempotency_key AS k, MAX(e.seq) AS last
                 FROM journal e JOIN journal f ON f.seq = e.op
                 GROUP BY f.idempotency_key)";
        let payloads = tx.execute(
            &format!(
                "{TIPS}, done AS (
                     SELECT tips.k FROM tips JOIN journal tip ON tip.seq = tips.last
                     WHERE tip.kind = 5 AND tips.last <= ?1 AND tip.recorded_at_ms <= ?2)
                 DELETE FROM journal_payloads WHERE seq IN (
                     SELECT j.seq FROM journal j JOIN journal f ON f.seq = j.op
                     WHERE f.idempotency_key IN (SELECT k FROM done))"
            ),
            params![
                acknowledged,
                (now_ms - retention.payload_ms).min(reconciled - 1)
            ],
        )? as u64;
        // The prefix may end before the first entry of any open operation and must be
        // acknowledged; within that, what is too old or beyond the size limit goes.
        let first_open: Option<i64> = tx.query_row(
            &format!(
                "{TIPS} SELECT MIN(j.seq) FROM journal j
                 JOIN journal f ON f.seq = j.op
                 JOIN tips ON tips.k = f.idempotency_key
                 JOIN journal tip ON tip.seq = tips.last WHERE tip.kind <> 5"
            ),
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
        let mut through = too_old.max(too_many).map(|t| t.min(limit));
        // Never cut an operation in two: its later entries need its first one. The prefix
        // ends before the first entry of any operation that has entries beyond it.
        while let Some(t) = through {
            let cut: Option<i64> = tx.query_row(
                "SELECT MIN(op) FROM journal WHERE seq > ?1 AND op <= ?1",
                [t],
                |row| row.get(0),
            )?;
            match cut {
                Some(first) if first <= t => through = Some(first - 1),
                _ => break,
            }
        }
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
        // Cached statements, as the journal's own: the baseline pays no parsing either.
        self.conn
            .prepare_cached(
                "CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY, payload TEXT)",
            )?
            .execute([])?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("INSERT INTO bench_baseline (payload) VALUES (?1)")?
            .execute([payload])?;
        tx.commit()?;
        Ok(())
    }

    /// An intent's records without the journal's protection: the same four b-tree pages
    /// an intent writes (its row, its payload's row, the key and reference indexes), in
    /// plain text, with no seal, MAC, chain or triggers. The journal benchmark's second
    /// baseline: it shows what sealing and chaining cost apart from what the pages cost.
    pub fn baseline_plain_intent(
        &mut self,
        key: &str,
        reference: &str,
        payload: &str,
    ) -> Result<(), StoreError> {
        for create in [
            "CREATE TABLE IF NOT EXISTS bench_plain_entries (
                 seq INTEGER PRIMARY KEY, idempotency_key BLOB, reference TEXT)",
            "CREATE INDEX IF NOT EXISTS bench_plain_by_key ON bench_plain_entries (idempotency_key)",
            "CREATE INDEX IF NOT EXISTS bench_plain_by_reference ON bench_plain_entries (reference)",
            "CREATE TABLE IF NOT EXISTS bench_plain_payloads (seq INTEGER PRIMARY KEY, payload TEXT)",
        ] {
            self.conn.prepare_cached(create)?.execute([])?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO bench_plain_entries (idempotency_key, reference) VALUES (?1, ?2)",
        )?
        .execute(params![stored_key(key), reference])?;
        tx.prepare_cached(
            "INSERT INTO bench_plain_payloads (seq, payload) VALUES (last_insert_rowid(), ?1)",
        )?
        .execute([payload])?;
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
        let refused = |sql: &str| store.conn.execute(sql, []).is_err();
        assert!(refused("UPDATE journal SET kind = 5"));
        assert!(refused("DELETE FROM journal"));
        let copy = |seq: i64, op: i64| {
            format!(
                "INSERT OR REPLACE INTO journal (seq, op, kind, outcome, recorded_at_ms, hash)
                 SELECT {seq}, {op}, 5, 'forged', recorded_at_ms, hash FROM journal WHERE seq = 1"
            )
        };
        assert!(refused(&copy(1, 1)), "replace");
        assert!(refused(&copy(5, 1)), "a gap");
        assert!(refused(&copy(3, 7)), "an operation that does not exist");
        assert!(
            refused(&copy(3, 2)),
            "an entry that does not begin an operation"
        );
        // A first entry must carry the operation's fields, a later one none of them.
        assert!(refused(
            "INSERT INTO journal (seq, op, kind, recorded_at_ms, hash)
             VALUES (3, 3, 1, 1, zeroblob(32))"
        ));
        assert!(refused(
            "INSERT INTO journal (seq, op, kind, idempotency_key, reference, service, operation,
                                  terminal_id, recorded_at_ms, hash)
             VALUES (3, 1, 2, 'a', 'ref-1', 'card', 'report_loss', 'T-1', 1, zeroblob(32))"
        ));
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(2));
    }

    #[test]
    fn a_tampered_entry_breaks_the_chain() {
        let mut store = Store::open_in_memory().expect("open");
        store
            .journal_append(&[
                entry(EntryKind::Intent, "a", "{\"x\":1}"),
                entry(EntryKind::Sent, "a", "{}"),
                entry(EntryKind::Intent, "b", "{}"),
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
        // A stored hash rewritten, or an entry taken out of the middle.
        let mut store = Store::open_in_memory().expect("open");
        store
            .journal_append(&[
                entry(EntryKind::Intent, "a", "{}"),
                entry(EntryKind::Sent, "a", "{}"),
                entry(EntryKind::Completed, "a", "{}"),
            ])
            .expect("append");
        store
            .conn
            .execute_batch(
                "DROP TRIGGER journal_no_update;
                 UPDATE journal SET hash = zeroblob(32) WHERE seq = 2;",
            )
            .expect("tamper");
        assert_eq!(
            store.journal_verify_chain().expect("sql"),
            Err(ChainError::BadHash { seq: 2 })
        );
        store
            .conn
            .execute_batch(
                "DROP TRIGGER journal_only_pruned_prefix;
                 DELETE FROM journal WHERE seq = 2;",
            )
            .expect("tamper");
        assert_eq!(
            store.journal_verify_chain().expect("sql"),
            Err(ChainError::BrokenLink { seq: 3 })
        );
    }

    #[test]
    fn read_entries_carry_the_link_they_continue_from_and_keys_read_back_as_written() {
        let mut store = Store::open_in_memory().expect("open");
        let uuid = "3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b";
        // Not canonical (upper case): kept as text, read back as written.
        let upper = "3F2B8C1E-9A4D-4E6F-8B1A-2C3D4E5F6A7C";
        store
            .journal_append(&[
                entry(EntryKind::Intent, uuid, "{\"p\":1}"),
                entry(EntryKind::Intent, upper, "{}"),
                entry(EntryKind::Sent, uuid, "{}"),
            ])
            .expect("append");
        let stored: Vec<String> = store
            .conn
            .prepare(
                "SELECT typeof(idempotency_key) FROM journal
                 WHERE idempotency_key IS NOT NULL ORDER BY seq",
            )
            .expect("sql")
            .query_map([], |row| row.get(0))
            .expect("sql")
            .collect::<Result<_, _>>()
            .expect("sql");
        assert_eq!(stored, ["blob", "text"], "a UUID key is its 16 bytes");
        let all = store.journal_after(0, 10).expect("read");
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0].prev_hash, [0; 32],
            "the first links to the empty anchor"
        );
        assert_eq!(all[1].prev_hash, all[0].hash);
        assert_eq!(all[2].prev_hash, all[1].hash);
        assert_eq!(all[1].idempotency_key, upper);
        let by_key = store.journal_for_key(uuid).expect("read");
        assert_eq!(
            by_key.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 3],
            "{by_key:?}"
        );
        assert_eq!(by_key[0].payload.text(), Some("{\"p\":1}"));
        assert_eq!(by_key[1].prev_hash, all[1].hash);
        // The same UUID in other letters is another key, as text always was.
        assert!(store
            .journal_for_key(&uuid.to_uppercase())
            .expect("read")
            .is_empty());
        assert_eq!(store.journal_for_key(upper).expect("read").len(), 1);
        assert!(store.journal_for_key("nothing").expect("read").is_empty());
    }

    #[test]
    fn an_operation_whose_entries_differ_in_terminal_is_still_one_operation_by_its_key() {
        let mut store = Store::open_in_memory().expect("open");
        // The terminal was renamed between the intent and the completion.
        store
            .journal_append(&[
                entry(EntryKind::Intent, "a", "{}"),
                entry(EntryKind::Intent, "b", "{}"),
            ])
            .expect("append");
        store
            .journal_append(&[
                NewEntry {
                    terminal_id: "T-2",
                    ..entry(EntryKind::Sent, "a", "{}")
                },
                NewEntry {
                    terminal_id: "T-2",
                    ..entry(EntryKind::Completed, "a", "{}")
                },
            ])
            .expect("append");
        let history = store.journal_for_key("a").expect("read");
        assert_eq!(
            history
                .iter()
                .map(|e| (e.seq, e.terminal_id.as_str()))
                .collect::<Vec<_>>(),
            [(1, "T-1"), (3, "T-2"), (4, "T-2")]
        );
        let open = store.journal_open_operations().expect("open");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].idempotency_key, "b");
        assert_eq!(store.journal_for_reference("ref-1").expect("read").len(), 4);
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(4));
    }

    #[test]
    fn the_start_up_check_goes_on_from_the_last_verified_head() {
        let mut store = Store::open_in_memory().expect("open");
        let three = [
            entry(EntryKind::Intent, "a", "{}"),
            entry(EntryKind::Sent, "a", "{}"),
            entry(EntryKind::Completed, "a", "{}"),
        ];
        store.journal_append(&three).expect("append");
        assert_eq!(store.journal_verify_chain_since_mark().expect("sql"), Ok(3));
        assert_eq!(
            store.journal_verify_chain_since_mark().expect("sql"),
            Ok(0),
            "nothing new"
        );
        store
            .journal_append(&[entry(EntryKind::Intent, "b", "{}")])
            .expect("append");
        assert_eq!(store.journal_verify_chain_since_mark().expect("sql"), Ok(1));
        // What is appended after the mark is checked: a changed entry there is found, and
        // the mark stays where the check last passed.
        store
            .journal_append(&[entry(EntryKind::Sent, "b", "{}")])
            .expect("append");
        store
            .conn
            .execute_batch(
                "DROP TRIGGER journal_no_update;
                 UPDATE journal SET recorded_at_ms = 99 WHERE seq = 5;",
            )
            .expect("tamper");
        for _ in 0..2 {
            assert_eq!(
                store.journal_verify_chain_since_mark().expect("sql"),
                Err(ChainError::BadHash { seq: 5 })
            );
        }
        // A mark moved forward without the records key is not taken: all is checked again.
        let mut store = Store::open_in_memory().expect("open");
        store.journal_append(&three).expect("append");
        store
            .conn
            .execute_batch(
                "DROP TRIGGER journal_no_update;
                 UPDATE journal SET recorded_at_ms = 99 WHERE seq = 1;",
            )
            .expect("tamper");
        let head = hex(&store.journal_head().expect("head").1.expect("head").1);
        store
            .conn
            .execute(
                "INSERT INTO settings (key, value) VALUES ('journal.verified_mark', ?1)",
                [format!("3:{head}:{}", "00".repeat(32))],
            )
            .expect("forge");
        assert_eq!(
            store.journal_verify_chain_since_mark().expect("sql"),
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
        // The first kept entry links to the anchor.
        let (anchor, _) = store.journal_head().expect("head");
        assert_eq!(anchor.pruned_through, 4);
        assert_eq!(
            store.journal_after(0, 1).expect("read")[0].prev_hash,
            anchor.head_hash
        );
        assert!(store.journal_for_key("old").expect("read").is_empty());
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
    fn retention_never_cuts_an_operation_in_two() {
        let mut store = Store::open_in_memory().expect("open");
        let at = |ms, e: NewEntry<'static>| NewEntry {
            recorded_at_ms: ms,
            ..e
        };
        // `a` began before `b` and completed after it: the old prefix ends inside `a`.
        store
            .journal_append(&[
                at(0, entry(EntryKind::Intent, "a", "{}")),
                at(0, entry(EntryKind::Intent, "b", "{}")),
                at(0, entry(EntryKind::Completed, "b", "{}")),
                at(10, entry(EntryKind::Completed, "a", "{}")),
                at(10, entry(EntryKind::Intent, "c", "{}")),
                at(10, entry(EntryKind::Completed, "c", "{}")),
            ])
            .expect("append");
        store.journal_acknowledge_through(6).expect("ack");
        store.journal_mark_reconciled(100).expect("reconciled");
        let retention = Retention {
            payload_ms: 0,
            entry_ms: 5,
            max_entries: 1_000,
        };
        assert_eq!(store.journal_prune(9, retention).expect("prune").entries, 0);
        assert_eq!(store.journal_for_key("a").expect("read").len(), 2);
        // Beyond the size limit, the prefix ends where an operation ends.
        let retention = Retention {
            max_entries: 2,
            ..retention
        };
        assert_eq!(store.journal_prune(9, retention).expect("prune").entries, 4);
        assert!(store.journal_for_key("a").expect("read").is_empty());
        assert_eq!(store.journal_for_key("c").expect("read").len(), 2);
        assert_eq!(store.journal_verify_chain().expect("sql"), Ok(2));
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
