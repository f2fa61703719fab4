//! The terminal's records: `kiosk.db` opened read-only (beside a running kiosk too), its
//! integrity, the journal's keyed chain, operations still open, the quarantine and the
//! outbox — counts and ages only, never an entry's contents.

use std::path::Path;

use crate::selftest::{Check, Part};
use crate::store::{KeyError, KeySource, Store, StoreError};

/// An outbox whose oldest message waits longer than this is a warning.
pub const OUTBOX_AGE_WARNING_MS: i64 = 3_600_000;

/// What [`open`] found.
pub enum Opened {
    /// The database, read-only; `held_by` is the running kiosk's pid when it has it open.
    Store {
        store: Box<Store>,
        held_by: Option<u32>,
    },
    /// No database yet: the first start makes it (an ok check saying so).
    NotYet(Check),
}

/// Opens the database read-only with its records key, without the writer lock: nothing is
/// created, migrated or written. A problem is the failing check.
pub fn open(database: &Path, key: &KeySource) -> Result<Opened, Check> {
    let target = database.display().to_string();
    if !database.exists() {
        return Ok(Opened::NotYet(Check::ok(
            Part::Records,
            target,
            "no database yet (the first start makes it)",
        )));
    }
    match Store::open_for_inspection(database, key) {
        Ok(store) => Ok(Opened::Store {
            store: Box::new(store),
            held_by: Store::writer(database),
        }),
        Err(error) => Err(open_failure(target, &error)),
    }
}

fn open_failure(target: String, error: &StoreError) -> Check {
    match error {
        StoreError::Key(KeyError::Missing { path }) => Check::failure(
            Part::Records,
            target,
            format!("the records key {} is missing", path.display()),
            "restore the key from the terminal's backup (README, \"The records key\"); without it no sealed payload opens",
        ),
        StoreError::Key(KeyError::Exposed { path, mode }) => Check::failure(
            Part::Records,
            target,
            format!("the records key {} is open to other users ({mode:o})", path.display()),
            format!("chmod 600 {}", path.display()),
        ),
        StoreError::TooNew { found, supported, .. } => Check::failure(
            Part::Records,
            target,
            format!("schema version {found}, newer than this program's {supported}"),
            "install the kiosk build that wrote it (or a newer one)",
        ),
        other => Check::failure(
            Part::Records,
            target,
            format!("cannot be opened ({other})"),
            "move the file aside and restart the kiosk (the back end keeps the shipped journal)",
        ),
    }
}

/// Integrity, chain, open operations, quarantine and outbox of an open store. `now_ms` is
/// the wall clock (the outbox keeps its creation times so).
pub fn journal(store: &Store, held_by: Option<u32>, now_ms: i64) -> Vec<Check> {
    let target = store.path().display().to_string();
    let mut checks = Vec::new();
    let beside = held_by
        .map(|pid| format!("; in use by the running kiosk (pid {pid}), looked at read-only"))
        .unwrap_or_default();
    let damaged = |detail: String| {
        Check::failure(
            Part::Records,
            target.clone(),
            detail,
            "the kiosk shows the out-of-service page: move the file aside and restart (the back end keeps the shipped journal)",
        )
    };
    match store.quick_check() {
        Ok(None) => {
            let version = store.schema_version().unwrap_or(0);
            checks.push(Check::ok(
                Part::Records,
                target.clone(),
                format!("quick_check ok, schema version {version}{beside}"),
            ));
        }
        Ok(Some(problem)) => {
            checks.push(damaged(format!("damaged ({problem})")));
            return checks;
        }
        Err(error) => {
            checks.push(damaged(format!("unreadable ({error})")));
            return checks;
        }
    }
    let unreadable = |what: &str, error: StoreError| {
        Check::failure(
            Part::Records,
            target.clone(),
            format!("{what} cannot be read ({error})"),
            "run diag again; if it persists, move the database aside and restart",
        )
    };
    checks.push(match store.journal_verify_chain() {
        Ok(Ok(entries)) => Check::ok(
            Part::Records,
            target.clone(),
            format!("the journal's chain verifies over {entries} entries"),
        )
        .with("journal_entries", entries as i64),
        Ok(Err(broken)) => Check::failure(
            Part::Records,
            target.clone(),
            format!("the journal's chain is broken at entry {}: {broken}", broken.seq()),
            "change nothing: compare the journal with the back end's copy (heartbeats report the break)",
        )
        .with("chain_broken_at", broken.seq()),
        Err(error) => unreadable("the journal", error),
    });
    checks.push(match store.journal_open_operations() {
        Ok(open) if open.is_empty() => Check::ok(
            Part::Records,
            target.clone(),
            "no operation waits for its outcome",
        )
        .with("open_operations", 0),
        Ok(open) => Check::warning(
            Part::Records,
            target.clone(),
            format!(
                "{} operation(s) without a final outcome yet (resolved with the back end before anyone is served)",
                open.len()
            ),
            "make sure the back end is reachable; they resolve on their own",
        )
        .with("open_operations", open.len() as i64),
        Err(error) => unreadable("the open operations", error),
    });
    checks.push(match store.quarantined() {
        Ok(set_aside) if set_aside.is_empty() => {
            Check::ok(Part::Records, target.clone(), "nothing quarantined").with("quarantined", 0)
        }
        Ok(set_aside) => Check::warning(
            Part::Records,
            target.clone(),
            format!(
                "{} operation(s) quarantined by recovery (unreadable or too old to void)",
                set_aside.len()
            ),
            "compare them with the back end's records (the heartbeats report the count)",
        )
        .with("quarantined", set_aside.len() as i64),
        Err(error) => unreadable("the quarantine", error),
    });
    checks.push(match store.outbox_counts() {
        Ok(counts) => {
            let age = counts
                .oldest_pending_ms
                .map(|at| (now_ms - at).max(0))
                .unwrap_or(0);
            let detail = match counts.pending {
                0 => "the outbox is empty".to_owned(),
                n => format!("{n} message(s) wait in the outbox, the oldest for {}", minutes(age)),
            };
            let check = if counts.pending > 0 && age > OUTBOX_AGE_WARNING_MS {
                Check::warning(
                    Part::Records,
                    target.clone(),
                    detail,
                    "check the back end's reachability (routes above); `renshe-kiosk outbox flush` sends them now when the kiosk is stopped",
                )
            } else {
                Check::ok(Part::Records, target.clone(), detail)
            };
            check
                .with("outbox_pending", counts.pending as i64)
                .with("outbox_oldest_age_ms", age)
        }
        Err(error) => unreadable("the outbox", error),
    });
    checks
}

fn minutes(ms: i64) -> String {
    let minutes = ms / 60_000;
    if minutes < 1 {
        "under a minute".to_owned()
    } else if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{} h", minutes / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selftest::Status;

    #[test]
    fn a_fresh_database_is_all_ok_and_a_missing_one_is_not_yet() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.db");
        assert!(matches!(
            open(&path, &KeySource::BesideDatabase),
            Ok(Opened::NotYet(check)) if check.status == Status::Ok
        ));
        drop(Store::open(&path).expect("create"));
        let Ok(Opened::Store { store, held_by }) = open(&path, &KeySource::BesideDatabase) else {
            panic!("opens read-only");
        };
        assert_eq!(held_by, None, "the writer has closed it");
        let checks = journal(&store, held_by, 0);
        assert_eq!(checks.len(), 5);
        assert!(
            checks.iter().all(|check| check.status == Status::Ok),
            "{checks:?}"
        );
        assert_eq!(checks[4].figures["outbox_pending"], 0);
    }

    #[test]
    fn a_database_held_by_a_writer_is_read_beside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.db");
        let _writer = Store::open(&path).expect("create");
        let Ok(Opened::Store { store, .. }) = open(&path, &KeySource::BesideDatabase) else {
            panic!("opens read-only beside the writer");
        };
        assert_eq!(journal(&store, Some(4242), 0)[0].status, Status::Ok);
        assert!(journal(&store, Some(4242), 0)[0]
            .detail
            .contains("pid 4242"));
    }

    #[test]
    fn a_missing_key_is_a_failure_that_says_restore_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.db");
        drop(Store::open(&path).expect("create"));
        std::fs::remove_file(path.with_extension("key")).expect("remove the key");
        let Err(check) = open(&path, &KeySource::BesideDatabase) else {
            panic!("no key, no look");
        };
        assert_eq!(check.status, Status::Failure);
        assert!(check.detail.contains("missing"), "{check}");
        assert!(!path.with_extension("key").exists(), "never made here");
    }
}
