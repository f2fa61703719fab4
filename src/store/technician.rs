//! What technician mode keeps: its audit trail in the hash-chained journal (each sign-in,
//! failure, action and exit is a completed operation of service `technician`, shipped with the
//! journal batches like any other entry), the sign-in lockout, and the defaults a technician
//! set on the terminal (the configuration file is read-only on a terminal).

use super::journal::{EntryKind, NewEntry};
use super::{Store, StoreError};

const LOCKOUT: &str = "technician_lockout";
const DEFAULT_LANGUAGE: &str = "terminal_default_language";
const DEFAULT_ELDERLY: &str = "terminal_default_elderly";

/// One line of the technician audit trail.
pub struct AuditEntry<'a> {
    pub terminal_id: &'a str,
    /// Who, when known (the id typed at a failed sign-in is kept too: it is not a secret,
    /// and it says who was tried).
    pub technician: Option<&'a str>,
    /// What happened: `entered`, `sign-in`, `sign-in-refused`, `sign-in-locked`,
    /// `action.self-test`, `defaults`, `left.timed-out`, ...
    pub event: &'a str,
    /// A short technician-facing detail (never a resident's data), sealed like any payload.
    pub detail: &'a str,
    pub recorded_at_ms: i64,
}

impl Store {
    /// Appends `entry` to the journal as one completed operation: its intent (the detail as
    /// the sealed payload) and its completion, in one transaction. The operation's name and
    /// the technician id stay in the clear in the chained row, so the trail still reads after
    /// retention purges the payload.
    pub fn technician_audit(&mut self, entry: &AuditEntry<'_>) -> Result<i64, StoreError> {
        let key = uuid::Uuid::new_v4().to_string();
        let reference = format!("technician:{}:{key}", entry.technician.unwrap_or("-"));
        let operation = format!("technician.{}", entry.event);
        let payload = serde_json::json!({ "detail": entry.detail }).to_string();
        let intent = NewEntry {
            kind: EntryKind::Intent,
            terminal_id: entry.terminal_id,
            idempotency_key: &key,
            reference: &reference,
            service: "technician",
            operation: &operation,
            outcome: None,
            payload: &payload,
            recorded_at_ms: entry.recorded_at_ms,
        };
        let completed = NewEntry {
            kind: EntryKind::Completed,
            payload: "{}",
            ..intent.clone()
        };
        let seqs = self.journal_append(&[intent, completed])?;
        Ok(seqs.first().copied().unwrap_or_default())
    }

    /// The technician sign-in lockout as [`renshe_core::technician::Lockout::encode`] wrote
    /// it, if any.
    pub fn technician_lockout(&self) -> Result<Option<String>, StoreError> {
        self.setting_text(LOCKOUT)
    }

    pub fn set_technician_lockout(&self, encoded: &str) -> Result<(), StoreError> {
        self.set_setting_text(LOCKOUT, encoded)
    }

    /// The default language tag and elderly mode a technician set, if one did.
    pub fn terminal_defaults(&self) -> Result<Option<(String, bool)>, StoreError> {
        let language = self.setting_text(DEFAULT_LANGUAGE)?;
        let elderly = self.setting_text(DEFAULT_ELDERLY)?;
        Ok(language
            .zip(elderly)
            .map(|(tag, elderly)| (tag, elderly == "1")))
    }

    pub fn set_terminal_defaults(
        &mut self,
        language: &str,
        elderly: bool,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for (key, value) in [
            (DEFAULT_LANGUAGE, language),
            (DEFAULT_ELDERLY, if elderly { "1" } else { "0" }),
        ] {
            super::put_setting(&tx, key, value)?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(&dir.path().join("kiosk.db")).expect("store")
    }

    #[test]
    fn the_audit_trail_is_chained_completed_and_names_who_and_what() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = store(&dir);
        for (event, technician) in [("entered", None), ("sign-in-refused", Some("1001"))] {
            store
                .technician_audit(&AuditEntry {
                    terminal_id: "CQ-T1",
                    technician,
                    event,
                    detail: "tries left 4",
                    recorded_at_ms: 1_000,
                })
                .expect("audit");
        }
        // Nothing is open for recovery, and the chain still verifies.
        assert!(store.journal_open_operations().expect("open").is_empty());
        assert!(matches!(store.journal_verify_chain(), Ok(Ok(4))));
        let rows = store.journal_after(0, 10).expect("rows");
        let operations: Vec<&str> = rows.iter().map(|e| e.operation.as_str()).collect();
        assert_eq!(
            operations,
            [
                "technician.entered",
                "technician.entered",
                "technician.sign-in-refused",
                "technician.sign-in-refused"
            ]
        );
        assert!(rows[2].reference.starts_with("technician:1001:"));
        assert_eq!(rows[3].kind, EntryKind::Completed);
    }

    #[test]
    fn lockout_and_defaults_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut store = store(&dir);
            assert_eq!(store.technician_lockout().expect("read"), None);
            assert_eq!(store.terminal_defaults().expect("read"), None);
            store.set_technician_lockout("0 1 123").expect("write");
            store.set_terminal_defaults("en-US", true).expect("write");
        }
        let store = store(&dir);
        assert_eq!(
            store.technician_lockout().expect("read").as_deref(),
            Some("0 1 123")
        );
        assert_eq!(
            store.terminal_defaults().expect("read"),
            Some(("en-US".into(), true))
        );
    }
}
