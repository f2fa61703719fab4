//! Quarantine: operations start-up recovery could not read or resolve. Each is set aside
//! with the reason, reported in heartbeats and to technicians, and the kiosk serves
//! everything that does not depend on it instead of failing recovery (and restarting
//! forever) on one bad entry.

use rusqlite::params;

use super::{Store, StoreError};

/// One quarantined operation; no payload, only what a technician needs to find it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quarantined {
    pub idempotency_key: String,
    pub operation: String,
    pub reason: String,
    pub at_ms: i64,
}

impl Store {
    /// Sets the operation under `key` aside; quarantining it again keeps the first reason.
    pub fn quarantine(
        &mut self,
        key: &str,
        operation: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO quarantine (idempotency_key, operation, reason, at_ms)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (idempotency_key) DO NOTHING",
            params![key, operation, reason, now_ms],
        )?;
        Ok(())
    }

    /// Every quarantined operation, oldest first.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT idempotency_key, operation, reason, at_ms FROM quarantine ORDER BY at_ms",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(Quarantined {
                idempotency_key: row.get(0)?,
                operation: row.get(1)?,
                reason: row.get(2)?,
                at_ms: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether `key` is quarantined.
    pub fn is_quarantined(&self, key: &str) -> Result<bool, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM quarantine WHERE idempotency_key = ?1",
            [key],
            |row| row.get(0),
        )?;
        Ok(n > 0)
    }
}
