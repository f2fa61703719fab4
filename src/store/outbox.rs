//! The transactional outbox: deferrable messages (heartbeats, certification uploads, journal
//! shipping) wait here until the back end acknowledges them.
//!
//! A message is enqueued in the same SQLite transaction as the journal entries that explain it,
//! and marked sent only after an acknowledgement; the receiver dedupes on `message_id`. Its
//! body is sealed with the records key and dropped once the message is finished.

use std::fmt;

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use zeroize::Zeroizing;

use super::journal::{append_in, NewEntry};
use super::seal::KeyRing;
use super::{Store, StoreError};

/// The associated data binding a sealed body to its message.
pub(super) fn body_context(message_id: &str) -> Vec<u8> {
    format!("outbox:{message_id}").into_bytes()
}

/// A message to enqueue.
pub struct NewMessage<'a> {
    /// Unique id; sent as the idempotency key so the receiver can drop duplicates.
    pub message_id: &'a str,
    pub kind: &'a str,
    /// The route (service name) the relay sends it through.
    pub service: &'a str,
    /// The request path at the back end, e.g. `/v1/heartbeats`.
    pub path: &'a str,
    /// The JSON body (sealed at rest).
    pub body: &'a str,
    pub now_ms: i64,
    /// Latest wins (heartbeats): a pending message of the same kind is replaced, not queued
    /// behind; a terminal offline for a day sends one heartbeat, not 2,880.
    pub latest_wins: bool,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    Pending,
    /// Acknowledged by the back end.
    Sent,
    /// Refused by the back end for good (a 4xx); kept for a technician.
    Rejected,
}

impl MessageState {
    fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sent => "sent",
            MessageState::Rejected => "rejected",
        }
    }
}

/// A stored message.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub message_id: String,
    pub kind: String,
    pub service: String,
    pub path: String,
    /// The opened body while the message is pending; `None` once finished, or if it does
    /// not open (another records key).
    pub body: Option<Zeroizing<String>>,
    pub state: MessageState,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("message_id", &self.message_id)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field(
                "body",
                &format_args!("<{} bytes>", self.body.as_ref().map_or(0, |b| b.len())),
            )
            .finish()
    }
}

/// Counts for `outbox status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub rejected: u64,
    /// Creation time of the oldest pending message, if any.
    pub oldest_pending_ms: Option<i64>,
}

fn read_message(keys: &KeyRing, row: &Row<'_>) -> rusqlite::Result<OutboxMessage> {
    let state: String = row.get(7)?;
    let id: i64 = row.get(0)?;
    let message_id: String = row.get(1)?;
    let nonce: Option<Vec<u8>> = row.get(5)?;
    let sealed: Option<Vec<u8>> = row.get(6)?;
    let body = match (nonce, sealed) {
        (Some(nonce), Some(sealed)) => keys
            .open(&body_context(&message_id), &nonce, &sealed)
            .and_then(|plain| String::from_utf8(plain.to_vec()).ok())
            .map(Zeroizing::new),
        _ => None,
    };
    Ok(OutboxMessage {
        id,
        message_id,
        kind: row.get(2)?,
        service: row.get(3)?,
        path: row.get(4)?,
        body,
        state: match state.as_str() {
            "pending" => MessageState::Pending,
            "sent" => MessageState::Sent,
            "rejected" => MessageState::Rejected,
            _ => return Err(rusqlite::Error::IntegralValueOutOfRange(6, id)),
        },
        attempts: row.get(8)?,
        next_attempt_ms: row.get(9)?,
        last_error: row.get(10)?,
    })
}

const COLUMNS: &str = "id, message_id, kind, service, path, body_nonce, body_sealed, state,
                       attempts, next_attempt_ms, last_error";

impl Store {
    /// Enqueues `message` and appends `journal` in one durable transaction.
    pub fn outbox_enqueue(
        &mut self,
        message: &NewMessage<'_>,
        journal: &[NewEntry<'_>],
    ) -> Result<i64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for entry in journal {
            append_in(&tx, &self.keys, entry)?;
        }
        if message.latest_wins {
            tx.execute(
                "DELETE FROM outbox WHERE kind = ?1 AND state = 'pending'",
                [message.kind],
            )?;
        }
        let (nonce, sealed) = self
            .keys
            .seal(&body_context(message.message_id), message.body.as_bytes());
        tx.execute(
            "INSERT INTO outbox (message_id, kind, service, path, body_nonce, body_sealed,
                                 next_attempt_ms, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![
                message.message_id,
                message.kind,
                message.service,
                message.path,
                &nonce[..],
                sealed,
                message.now_ms
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Pending messages whose next attempt is due at `now_ms`, oldest first.
    pub fn outbox_due(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ?1
             ORDER BY id LIMIT ?2"
        ))?;
        let keys = &self.keys;
        let rows = stmt.query_map(params![now_ms, limit], |row| read_message(keys, row))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// All messages, oldest first (status and tests).
    pub fn outbox_all(&self) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id"))?;
        let keys = &self.keys;
        let rows = stmt.query_map([], |row| read_message(keys, row))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Looks a message up by its id.
    pub fn outbox_get(&self, message_id: &str) -> Result<Option<OutboxMessage>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM outbox WHERE message_id = ?1"),
                [message_id],
                |row| read_message(&self.keys, row),
            )
            .optional()?)
    }

    /// Records the final answer for a message (sent or rejected) together with its journal
    /// entries. Only a still-pending message changes; returns whether it did.
    pub fn outbox_finish(
        &mut self,
        id: i64,
        state: MessageState,
        now_ms: i64,
        error: Option<&str>,
        journal: &[NewEntry<'_>],
    ) -> Result<bool, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE outbox SET state = ?2, acked_at_ms = ?3, last_error = ?4,
                               attempts = attempts + 1, body_nonce = NULL, body_sealed = NULL
             WHERE id = ?1 AND state = 'pending'",
            params![id, state.as_str(), now_ms, error],
        )?;
        if changed == 1 {
            for entry in journal {
                append_in(&tx, &self.keys, entry)?;
            }
        }
        tx.commit()?;
        Ok(changed == 1)
    }

    /// Records a failed attempt and when to try again.
    pub fn outbox_retry_later(
        &mut self,
        id: i64,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3
             WHERE id = ?1 AND state = 'pending'",
            params![id, next_attempt_ms, error],
        )?;
        Ok(())
    }

    /// Makes every pending message due now (`outbox flush`).
    pub fn outbox_make_all_due(&mut self, now_ms: i64) -> Result<u64, StoreError> {
        let n = self.conn.execute(
            "UPDATE outbox SET next_attempt_ms = ?1 WHERE state = 'pending'",
            [now_ms],
        )?;
        Ok(n as u64)
    }

    /// Retention: finished messages go `sent_ms` after their acknowledgement, refused ones
    /// (kept for a technician) after `rejected_ms`; pending ones are never touched.
    pub fn outbox_prune(
        &mut self,
        now_ms: i64,
        sent_ms: i64,
        rejected_ms: i64,
    ) -> Result<u64, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM outbox WHERE (state = 'sent' AND acked_at_ms < ?1)
                                   OR (state = 'rejected' AND acked_at_ms < ?2)",
            params![now_ms - sent_ms, now_ms - rejected_ms],
        )?;
        Ok(n as u64)
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut counts = OutboxCounts::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT state, COUNT(*), MIN(created_at_ms) FROM outbox GROUP BY state",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let state: String = row.get(0)?;
            let n: i64 = row.get(1)?;
            let n = n.max(0) as u64;
            match state.as_str() {
                "pending" => {
                    counts.pending = n;
                    counts.oldest_pending_ms = row.get(2)?;
                }
                "sent" => counts.sent = n,
                _ => counts.rejected += n,
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::journal::EntryKind;

    #[test]
    fn a_message_commits_with_its_journal_entry_and_finishes_once() {
        let mut store = Store::open_in_memory().expect("open");
        let entry = NewEntry {
            kind: EntryKind::Intent,
            terminal_id: "T",
            idempotency_key: "m1",
            reference: "r",
            service: "terminal",
            operation: "heartbeat",
            outcome: None,
            payload: "{}",
            recorded_at_ms: 0,
        };
        let id = store
            .outbox_enqueue(
                &NewMessage {
                    message_id: "m1",
                    kind: "heartbeat",
                    service: "terminal",
                    path: "/v1/heartbeats",
                    body: "{\"status\":\"ok\"}",
                    now_ms: 10,
                    latest_wins: false,
                },
                std::slice::from_ref(&entry),
            )
            .expect("enqueue");
        assert_eq!(store.outbox_due(9, 10).expect("due").len(), 0);
        let due = store.outbox_due(10, 10).expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(
            due[0].body.as_deref().map(String::as_str),
            Some("{\"status\":\"ok\"}")
        );
        assert_eq!(store.journal_for_key("m1").expect("journal").len(), 1);
        let done = NewEntry {
            kind: EntryKind::Completed,
            ..entry
        };
        assert!(store
            .outbox_finish(
                id,
                MessageState::Sent,
                20,
                None,
                std::slice::from_ref(&done)
            )
            .expect("finish"));
        assert!(!store
            .outbox_finish(id, MessageState::Sent, 21, None, &[done])
            .expect("finish again"));
        assert_eq!(store.journal_for_key("m1").expect("journal").len(), 2);
        let counts = store.outbox_counts().expect("counts");
        assert_eq!((counts.pending, counts.sent), (0, 1));
        let finished = store.outbox_get("m1").expect("get").expect("kept");
        assert!(finished.body.is_none(), "a finished message keeps no body");
        assert_eq!(
            store.outbox_prune(20 + 999, 1_000, 1_000).expect("prune"),
            0
        );
        assert_eq!(
            store.outbox_prune(20 + 1_001, 1_000, 1_000).expect("prune"),
            1
        );
    }

    #[test]
    fn a_latest_wins_message_replaces_the_pending_one_of_its_kind() {
        let mut store = Store::open_in_memory().expect("open");
        for (id, body) in [("h1", "{\"n\":1}"), ("h2", "{\"n\":2}")] {
            store
                .outbox_enqueue(
                    &NewMessage {
                        message_id: id,
                        kind: "heartbeat",
                        service: "terminal",
                        path: "/v1/heartbeats",
                        body,
                        now_ms: 0,
                        latest_wins: true,
                    },
                    &[],
                )
                .expect("enqueue");
        }
        let pending = store.outbox_due(0, 10).expect("due");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].message_id, "h2");
    }

    #[test]
    fn a_duplicate_message_id_is_refused_and_nothing_of_it_is_committed() {
        let mut store = Store::open_in_memory().expect("open");
        let msg = NewMessage {
            message_id: "same",
            kind: "heartbeat",
            service: "terminal",
            path: "/v1/heartbeats",
            body: "{}",
            now_ms: 0,
            latest_wins: false,
        };
        store.outbox_enqueue(&msg, &[]).expect("first");
        let entry = NewEntry {
            kind: EntryKind::Intent,
            terminal_id: "T",
            idempotency_key: "same",
            reference: "r",
            service: "terminal",
            operation: "heartbeat",
            outcome: None,
            payload: "{}",
            recorded_at_ms: 0,
        };
        assert!(store.outbox_enqueue(&msg, &[entry]).is_err());
        assert!(store.journal_for_key("same").expect("journal").is_empty());
    }
}
