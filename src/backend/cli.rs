//! Subcommands: `backend-sim`, `outbox status|flush`, `soak`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use anyhow::Context;

use super::api;
use super::config::BackendConfig;
use super::engine::Engine;
use crate::store::journal::EntryKind;
use crate::store::Store;

/// What the back-end subcommands need from the kiosk configuration.
#[derive(Debug, Clone)]
pub struct BackendContext {
    pub config: BackendConfig,
    pub terminal_id: String,
    /// The kiosk database (journal and outbox).
    pub db: PathBuf,
    /// Its records key.
    pub key: crate::store::KeySource,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum OutboxCommand {
    /// Counts of pending, sent and rejected messages.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Relay every pending message now.
    Flush {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub command: OutboxCommand,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run_outbox(args: &OutboxArgs, ctx: &BackendContext) -> anyhow::Result<()> {
    let rt = runtime()?;
    rt.block_on(async {
        let store = Store::open_with(&ctx.db, &ctx.key)?;
        let engine = Engine::new(store, ctx.config.clone(), &ctx.terminal_id)?;
        match args.command {
            OutboxCommand::Status { json } => {
                let counts = engine.outbox_counts().await?;
                if json {
                    println!("{}", serde_json::to_string(&counts)?);
                } else {
                    println!(
                        "pending {}  sent {}  rejected {}",
                        counts.pending, counts.sent, counts.rejected
                    );
                }
            }
            OutboxCommand::Flush { json } => {
                let report = engine.flush_outbox().await?;
                let counts = engine.outbox_counts().await?;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({ "relay": report, "outbox": counts })
                    );
                } else {
                    println!(
                        "sent {}  rejected {}  will retry {}  (still pending {})",
                        report.sent, report.rejected, report.retry_later, counts.pending
                    );
                }
            }
        }
        Ok(())
    })
}

/// The outcome of comparing a journal with a ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Journal says applied, ledger does not have it.
    pub lost: u32,
    /// A key in the ledger twice, or a business reference applied under two keys, or a
    /// ledger key the journal does not know as applied.
    pub duplicated: u32,
    /// Mutation references applied exactly once.
    pub applied_once: u32,
    pub open_operations: u32,
}

/// Compares journal entries with ledger entries for `terminal_id`.
pub fn reconcile(
    entries: &[crate::store::journal::JournalEntry],
    ledger: &[api::LedgerEntry],
    terminal_id: &str,
) -> Reconciliation {
    let mut verdict = Reconciliation::default();
    let ledger: Vec<&api::LedgerEntry> = ledger
        .iter()
        .filter(|e| e.terminal_id == terminal_id && e.op != "journal_batch")
        .collect();
    let mut ledger_keys: HashMap<&str, u32> = HashMap::new();
    for e in &ledger {
        *ledger_keys.entry(e.idempotency_key.as_str()).or_default() += 1;
    }
    verdict.duplicated += ledger_keys.values().filter(|n| **n > 1).count() as u32;
    let mut reference_of: HashMap<&str, &str> = HashMap::new();
    let mut applied_keys: HashSet<&str> = HashSet::new();
    let mut last_kind: HashMap<&str, EntryKind> = HashMap::new();
    let mut mutation_refs: BTreeMap<&str, u32> = BTreeMap::new();
    for e in entries {
        reference_of.insert(&e.idempotency_key, &e.reference);
        last_kind.insert(&e.idempotency_key, e.kind);
        if e.kind == EntryKind::Result && e.outcome.as_deref() == Some("applied") {
            applied_keys.insert(&e.idempotency_key);
        }
        if e.kind == EntryKind::Intent && api::is_mutation_name(&e.operation) {
            mutation_refs.entry(&e.reference).or_default();
        }
    }
    verdict.open_operations = last_kind
        .values()
        .filter(|k| **k != EntryKind::Completed)
        .count() as u32;
    for key in &applied_keys {
        let Some(reference) = reference_of.get(key) else {
            continue;
        };
        if let Some(count) = mutation_refs.get_mut(reference) {
            *count += 1;
            if !ledger_keys.contains_key(key) {
                verdict.lost += 1;
            }
        }
    }
    for key in ledger_keys.keys() {
        if !applied_keys.contains(key) {
            // Applied at the back end, but the journal never learned it.
            // (Keys this journal does not know belong to another database or terminal.)
            if last_kind.get(key) == Some(&EntryKind::Completed) {
                verdict.duplicated += 1;
            }
        }
        if let Some(reference) = reference_of.get(key) {
            let keys_for_reference = ledger_keys
                .keys()
                .filter(|k| reference_of.get(*k) == Some(reference))
                .count();
            if keys_for_reference > 1 {
                verdict.duplicated += 1;
            }
        }
    }
    verdict.applied_once = mutation_refs.values().filter(|n| **n == 1).count() as u32;
    verdict
}
