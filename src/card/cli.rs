//! `renshe-kiosk card …`: tools for technicians.
//!
//! - `card read [--reader NAME] [--sam-reader NAME] [--json] [--unmasked] [--wait SECS]`: waits for a card,
//!   reads it, prints the fields (ID number, name and card number masked unless `--unmasked`), the
//!   generation, the APDU count and the time taken.
//! - `card sim [--resident N] [--generation 2|3] [--no-psam] [--ssse-6a82]`: runs a virtual card (vpcd slot 0)
//!   and a virtual PSAM (slot 1) until killed.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::card::pcsc::{self, CardEvent, ReadReport, ReaderConfig, ReaderService, ServiceError};
use crate::card::protocol::IssuerData;
#[cfg(feature = "demo")]
use crate::card::sim::{self, CardProfile, SimRig};
#[cfg(feature = "demo")]
use crate::core::identity::CardGeneration;
use crate::core::identity::{mask_card_number, mask_name, Holder};

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Read the card in the reader and print its fields.
    Read(ReadArgs),
    /// Run a virtual card (and PSAM) through pcscd's vpcd driver until killed.
    #[cfg(feature = "demo")]
    Sim(SimArgs),
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Reader name or part of it; "sim" is the virtual reader.
    #[arg(long, default_value = "sim")]
    pub reader: String,
    /// The PSAM's reader, needed for 3rd-generation cards; "sim" is the virtual PSAM's reader.
    #[arg(long)]
    pub sam_reader: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Show name, ID number and card number in full.
    #[arg(long)]
    pub unmasked: bool,
    /// Seconds to wait for a card.
    #[arg(long, default_value_t = 10)]
    pub wait: u64,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Which demo resident (0-based).
    #[arg(long, default_value_t = 0)]
    pub resident: usize,
    /// Override the card generation (2 or 3).
    #[arg(long)]
    pub generation: Option<u8>,
    /// Run without the virtual PSAM in slot 1.
    #[arg(long)]
    pub no_psam: bool,
    /// Make SELECT SSSE answer 6A82 (some real cards do).
    #[arg(long)]
    pub ssse_6a82: bool,
}

pub fn run(command: CardCommand) -> anyhow::Result<()> {
    match command {
        CardCommand::Read(args) => read(&args),
        #[cfg(feature = "demo")]
        CardCommand::Sim(args) => run_sim(&args),
    }
}

#[derive(Serialize)]
struct CardJson {
    reader: String,
    generation: u8,
    name: String,
    id_number: String,
    card_number: String,
    gender: &'static str,
    birth_date: Option<String>,
    nationality: u8,
    birthplace: String,
    issue_date: Option<String>,
    expiry_date: Option<String>,
    region_code: String,
    apdus: usize,
    elapsed_ms: f64,
}

impl CardJson {
    fn new(report: &ReadReport, unmasked: bool) -> CardJson {
        let holder: &Holder = &report.holder;
        let (name, id_number, card_number) = if unmasked {
            (
                holder.name.clone(),
                holder.id_number.as_str().to_owned(),
                holder.card_number.clone(),
            )
        } else {
            (
                mask_name(&holder.name),
                holder.id_number.masked(),
                mask_card_number(&holder.card_number),
            )
        };
        CardJson {
            reader: report.reader.clone(),
            generation: holder.generation.number(),
            name,
            id_number,
            card_number,
            gender: holder.gender.code(),
            birth_date: holder.birth_date.map(|date| date.to_string()),
            nationality: holder.nationality,
            birthplace: holder.birthplace.clone(),
            issue_date: holder.issue_date.map(|date| date.to_string()),
            expiry_date: holder.expiry_date.map(|date| date.to_string()),
            region_code: holder.region_code.clone(),
            apdus: report.apdus,
            elapsed_ms: report.elapsed.as_secs_f64() * 1000.0,
        }
    }
}

fn read(args: &ReadArgs) -> anyhow::Result<()> {
    let mut config = ReaderConfig::new(args.reader.clone());
    config.sam_reader = args.sam_reader.clone();
    let sam = config.psam();
    let (events_tx, events) = mpsc::channel();
    let service = ReaderService::spawn(config, sam, move |event| {
        let _ = events_tx.send(event);
    });
    let deadline = Instant::now() + Duration::from_secs(args.wait);
    let mut told_to_insert = false;
    let report = loop {
        match service.read_holder(Duration::from_secs(10)) {
            Ok(report) => break report,
            Err(
                ServiceError::NoCard | ServiceError::NoReader(_) | ServiceError::ServiceUnavailable,
            ) if Instant::now() < deadline => {
                if !told_to_insert {
                    eprintln!(
                        "waiting for a card in reader {:?}…",
                        pcsc::reader_pattern(&args.reader)
                    );
                    told_to_insert = true;
                }
                // Wake up on the next insertion, or retry after a while anyway.
                let _ = events
                    .recv_timeout(Duration::from_millis(300))
                    .map(|event| {
                        if matches!(event, CardEvent::Inserted { .. }) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    });
            }
            Err(ServiceError::NeedsAuthenticationModule { issuer }) => {
                print_issuer(&issuer, args.json, args.unmasked)?;
                bail!("this is a 3rd-generation card: reading the holder needs the authentication module (--sam-reader)");
            }
            Err(error) => return Err(error).context("reading the card"),
        }
    };
    service.shutdown();
    let json = CardJson::new(&report, args.unmasked);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("reader        {}", json.reader);
        println!("generation    {}", report.holder.generation);
        println!("name          {}", json.name);
        println!("ID number     {}", json.id_number);
        println!("card number   {}", json.card_number);
        println!("gender        {}", json.gender);
        println!(
            "birth date    {}",
            json.birth_date.as_deref().unwrap_or("-")
        );
        println!("nationality   {:02}", json.nationality);
        println!("birthplace    {}", json.birthplace);
        println!(
            "issued        {}",
            json.issue_date.as_deref().unwrap_or("-")
        );
        println!(
            "expires       {}",
            json.expiry_date.as_deref().unwrap_or("-")
        );
        println!("region        {}", json.region_code);
        println!(
            "read in       {:.1} ms, {} APDUs",
            json.elapsed_ms, json.apdus
        );
    }
    Ok(())
}

/// What a partial read got (EF05, the issuer's data): every field, the card number masked
/// unless `--unmasked`.
fn print_issuer(issuer: &IssuerData, json: bool, unmasked: bool) -> anyhow::Result<()> {
    let card_number = if unmasked {
        issuer.card_number.clone()
    } else {
        mask_card_number(&issuer.card_number)
    };
    let date = |date: Option<crate::core::identity::CardDate>| {
        date.map(|date| date.to_string())
            .unwrap_or_else(|| "-".into())
    };
    if json {
        let value = serde_json::json!({
            "generation": issuer.generation.number(),
            "spec_version": issuer.spec_version,
            "card_identification": issuer.card_identification_hex(),
            "region_code": issuer.region_code(),
            "card_number": card_number,
            "issue_date": issuer.issue_date.map(|date| date.to_string()),
            "expiry_date": issuer.expiry_date.map(|date| date.to_string()),
            "error": "needs_authentication_module",
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "generation    {} (spec {})",
            issuer.generation, issuer.spec_version
        );
        println!("card id       {}", issuer.card_identification_hex());
        println!("region        {}", issuer.region_code());
        println!("card number   {card_number}");
        println!("issued        {}", date(issuer.issue_date));
        println!("expires       {}", date(issuer.expiry_date));
    }
    Ok(())
}

#[cfg(feature = "demo")]
fn run_sim(args: &SimArgs) -> anyhow::Result<()> {
    let residents = sim::demo_residents();
    let Some(mut holder) = residents.get(args.resident).cloned() else {
        bail!(
            "there are {} demo residents (0..{})",
            residents.len(),
            residents.len().saturating_sub(1)
        );
    };
    match args.generation {
        None => {}
        Some(2) => holder.generation = CardGeneration::Second,
        Some(3) => holder.generation = CardGeneration::Third,
        Some(other) => bail!("generation {other}: use 2 or 3"),
    }
    let summary = holder.summary();
    let mut profile = CardProfile::demo(holder);
    profile.ssse_select_fails = args.ssse_6a82;
    let rig = SimRig::start(&profile, !args.no_psam);
    eprintln!(
        "virtual card: {} {} ({}), PIN {}, vpcd port {}{}",
        summary.masked_name,
        summary.masked_id,
        summary.generation,
        sim::DEMO_PIN,
        sim::CARD_SLOT_PORT,
        if rig.psam.is_some() {
            format!("; virtual PSAM on port {}", sim::PSAM_SLOT_PORT)
        } else {
            String::new()
        },
    );
    if !rig.card.wait_connected(true, Duration::from_secs(5)) {
        eprintln!("vpcd is not listening yet (is pcscd running?); the card keeps trying");
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
