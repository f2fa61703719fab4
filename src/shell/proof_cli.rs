//! `renshe-kiosk proof render`: a demo resident's proof as the kiosk would print it, from
//! the demo back end's data in this process (no network, no printer), for review.

use std::path::PathBuf;

use anyhow::Context;

use crate::core::identity::{mask_name, IdNumber};
use crate::core::{Language, ProofKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    /// 参保证明
    Enrollment,
    /// 个人权益记录
    Contributions,
}

#[derive(clap::Subcommand)]
pub enum ProofCommand {
    /// Render a demo resident's proof to a PDF file.
    Render(RenderArgs),
}

#[derive(clap::Args)]
pub struct RenderArgs {
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// The demo resident, from 0 (the demo card tray's order first).
    #[arg(long, default_value_t = 0)]
    pub resident: usize,
    /// Contribution years, e.g. 2024,2025 (default: the latest three with records).
    #[arg(long, value_delimiter = ',')]
    pub years: Vec<u16>,
    /// Language tag of the proof's words.
    #[arg(long, default_value = "zh-CN")]
    pub lang: String,
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
}

pub fn run(command: &ProofCommand) -> anyhow::Result<()> {
    let ProofCommand::Render(args) = command;
    let language = Language::from_tag(&args.lang)
        .with_context(|| format!("\"{}\" is not a supported language", args.lang))?;
    let residents = crate::backend::sim::demo_residents_with(&super::backend::demo_known_people());
    let resident = residents.get(args.resident).with_context(|| {
        format!(
            "no demo resident {}; there are {} (0..{})",
            args.resident,
            residents.len(),
            residents.len().saturating_sub(1)
        )
    })?;
    let (kind, key) = match args.kind {
        KindArg::Enrollment => (ProofKind::Enrollment, "enrollment"),
        KindArg::Contributions => (ProofKind::Contributions, "contributions"),
    };
    let years = if kind == ProofKind::Enrollment {
        Vec::new()
    } else if args.years.is_empty() {
        // The back end's data decides which years exist.
        let mut years: Vec<u16> = resident
            .contributions
            .iter()
            .filter_map(|m| m.month.get(..4)?.parse().ok())
            .collect();
        years.sort_unstable();
        years.dedup();
        years.split_off(years.len().saturating_sub(3))
    } else {
        args.years.clone()
    };
    let reply = crate::backend::sim::review_proof(resident, key, &years)
        .with_context(|| format!("demo resident {} has no records for that", args.resident))?;
    let masked_id = IdNumber::parse(&resident.id_number)
        .map(|id| id.masked())
        .unwrap_or_default();
    let mut answer =
        super::backend::proof_answer(reply, kind, mask_name(&resident.name), masked_id);
    answer.reference = "REVIEW".into();
    let translator = crate::i18n::Translator::new()?;
    let pdf = super::a4::render(&answer, language, &translator)?;
    std::fs::write(&args.output, &pdf)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "wrote {} ({} bytes, {} rows)",
        args.output.display(),
        pdf.len(),
        answer.rows()
    );
    Ok(())
}
