//! `renshe-kiosk idcard …`: tools for technicians.
//!
//! - `idcard read [--port P] [--baud B] [--json] [--unmasked]`: reads the ID card on the
//!   reader (`find → select → read`, retried while the card settles) and prints its fields;
//!   name, ID number and address masked unless `--unmasked`. `--port sim` (demo builds)
//!   starts the virtual reader with a demo card on it (`--sim-card N`, or `none`). Exits
//!   non-zero with the reason when there is no card or the read fails.

use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::core::identity::mask_name;
use crate::idcard::protocol::CardKind;
use crate::idcard::serial::{IdCard, IdCardReader, ReadFailure, ReaderSettings};

#[derive(Debug, Subcommand)]
pub enum IdCardCommand {
    /// Read the ID card on the reader and print its fields.
    Read(ReadArgs),
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Serial port of the reader (default: devices.id_card_reader.port); "sim" is the
    /// virtual reader.
    #[arg(long)]
    pub port: Option<String>,
    /// Baud rate (default: devices.id_card_reader.baud).
    #[arg(long)]
    pub baud: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Show name, ID number and address in full.
    #[arg(long)]
    pub unmasked: bool,
    /// Tries of find → select → read before giving up.
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    /// With --port sim: which demo ID card lies on the virtual reader (0-based), or "none".
    #[cfg(feature = "demo")]
    #[arg(long, default_value = "0")]
    pub sim_card: String,
}

/// What the configuration says, for options not given.
#[derive(Debug, Clone)]
pub struct IdCardDefaults {
    pub port: String,
    pub baud: u32,
}

pub fn run(command: &IdCardCommand, defaults: &IdCardDefaults) -> anyhow::Result<()> {
    match command {
        IdCardCommand::Read(args) => read(args, defaults),
    }
}

#[derive(Serialize)]
struct CardJson {
    port: String,
    card_type: &'static str,
    name: String,
    english_name: String,
    sex: &'static str,
    nation: Option<&'static str>,
    birth_date: String,
    address: String,
    id_number: String,
    authority: String,
    valid_from: String,
    valid_to: String,
    photo_bytes: usize,
    elapsed_ms: f64,
}

/// The address for the screen: the city and district, the rest starred.
fn mask_address(address: &str) -> String {
    address
        .chars()
        .enumerate()
        .map(|(index, c)| if index < 6 { c } else { '*' })
        .collect()
}

impl CardJson {
    fn new(port: &str, card: &IdCard, unmasked: bool, elapsed_ms: f64) -> CardJson {
        let text = card.text();
        let (name, english_name, id_number, address) = if unmasked {
            (
                text.name.clone(),
                text.english_name.clone(),
                text.id_number.clone(),
                text.address.clone(),
            )
        } else {
            (
                mask_name(&text.name),
                mask_name(&text.english_name),
                card.masked_id(),
                mask_address(&text.address),
            )
        };
        CardJson {
            port: port.to_owned(),
            card_type: match text.kind {
                CardKind::Resident => "resident",
                CardKind::HkMacaoTaiwanResidence => "hk_macao_taiwan_residence",
                CardKind::ForeignPermanentResidence => "foreign_permanent_residence",
            },
            name,
            english_name,
            sex: text.sex.name_zh(),
            nation: text.nation.map(|n| n.name_zh()),
            birth_date: text.birth.to_string(),
            address,
            id_number,
            authority: text.authority.clone(),
            valid_from: text.valid_from.to_string(),
            valid_to: text.valid_to.to_string(),
            photo_bytes: card.photo().len(),
            elapsed_ms,
        }
    }
}

fn read(args: &ReadArgs, defaults: &IdCardDefaults) -> anyhow::Result<()> {
    let port = args.port.clone().unwrap_or_else(|| defaults.port.clone());
    let baud = args.baud.unwrap_or(defaults.baud);
    if port == "none" {
        bail!("no ID card reader is configured (devices.id_card_reader.port = \"none\"); name one with --port");
    }
    #[cfg(feature = "demo")]
    let _sim;
    #[cfg(feature = "demo")]
    let path = if port == "sim" {
        let sim = crate::idcard::sim::VirtualIdReader::start()
            .context("starting the virtual ID card reader")?;
        if args.sim_card != "none" {
            let cards = crate::idcard::sim::demo_id_cards();
            let card = args
                .sim_card
                .parse::<usize>()
                .ok()
                .and_then(|index| cards.get(index).cloned());
            let Some(card) = card else {
                bail!(
                    "--sim-card {}: there are {} demo ID cards (0..{}), or \"none\"",
                    args.sim_card,
                    cards.len(),
                    cards.len().saturating_sub(1)
                );
            };
            sim.place(card);
        }
        let path = sim.path().to_owned();
        _sim = sim;
        path
    } else {
        port.clone()
    };
    #[cfg(not(feature = "demo"))]
    let path = if port == "sim" {
        bail!("\"sim\" needs a build with the demo feature; name the reader's serial port");
    } else {
        port.clone()
    };
    let mut settings = ReaderSettings::new(&path, baud);
    settings.attempts = args.attempts.max(1);
    let mut reader = IdCardReader::new(settings);
    let started = Instant::now();
    let card = match reader.read_card() {
        Ok(card) => card,
        Err(ReadFailure::NoCard) => {
            bail!("no ID card on the reader at {port}: 请将身份证平放在读卡区")
        }
        Err(failure) => return Err(failure).context(format!("reading the ID card at {port}")),
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let json = CardJson::new(&port, &card, args.unmasked, elapsed_ms);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!("port          {}", json.port);
    println!("card          {}", card.text().kind.name_zh());
    if !json.name.is_empty() {
        println!("name          {}", json.name);
    }
    if !json.english_name.is_empty() {
        println!("English name  {}", json.english_name);
    }
    println!("sex           {}", json.sex);
    if let Some(nation) = json.nation {
        println!("nation        {nation}");
    }
    println!("birth date    {}", json.birth_date);
    if !json.address.is_empty() {
        println!("address       {}", json.address);
    }
    println!("ID number     {}", json.id_number);
    println!("authority     {}", json.authority);
    println!("valid         {} – {}", json.valid_from, json.valid_to);
    println!(
        "photo         {} bytes (WLT, not decoded)",
        json.photo_bytes
    );
    println!("read in       {:.1} ms", json.elapsed_ms);
    Ok(())
}
