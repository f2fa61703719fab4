//! The `renshe-kiosk` command: the kiosk itself and the technicians' tools.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use renshe_kiosk::backend::cli::{BackendContext, OutboxArgs};
#[cfg(feature = "demo")]
use renshe_kiosk::backend::demo_cli::{BackendSimArgs, SoakArgs};
use renshe_kiosk::card::cli::CardCommand;
use renshe_kiosk::config::{Config, BUNDLED_DEMO_NAME};
use renshe_kiosk::core::Language;
use renshe_kiosk::idcard::cli::{IdCardCommand, IdCardDefaults};
use renshe_kiosk::locator::cli::{CatalogueSeedArgs, CoverageArgs, LocateArgs};
use renshe_kiosk::printer::cli::{PrinterCommand, PrinterDefaults};
use renshe_kiosk::shell::{self, screenshot};

#[derive(Parser)]
#[command(
    name = "renshe-kiosk",
    version = renshe_kiosk::LONG_VERSION,
    about = "Chongqing 人社 self-service terminal"
)]
struct Cli {
    /// The terminal's configuration file (default: the bundled demo configuration).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Let a close request (the window's close button, Alt+F4) end the kiosk. Without it only
    /// a demo configuration (one with `[demo]`) can be closed; a terminal's never can.
    #[arg(long, global = true)]
    allow_exit: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk UI (the default).
    Run,
    /// Check configuration files.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Render pages to PNG with the software renderer, without a display.
    Screenshot(ScreenshotArgs),
    /// Social security card tools: read a card, or run a virtual card for trials.
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
    /// Resident ID card (二代居民身份证) tools: read the card on the reader.
    Idcard {
        #[command(subcommand)]
        command: IdCardCommand,
    },
    /// Run the demo back end (the contract of docs/backend-api.md) over HTTP or HTTPS.
    #[cfg(feature = "demo")]
    BackendSim(BackendSimArgs),
    /// The store-and-forward outbox: what waits to be sent, and sending it now.
    Outbox(OutboxArgs),
    /// Run scripted resident sessions through the transaction engine against the configured
    /// back end; reports throughput and proves nothing was lost or done twice.
    #[cfg(feature = "demo")]
    Soak(SoakArgs),
    /// Find service points: nearest first, by district, service item, name or pinyin.
    Locate(LocateArgs),
    /// The 15+5 coverage check: which villages and towns lack a point offering a service
    /// within reach, and where new points would cover most of them.
    Coverage(CoverageArgs),
    /// Write the generated demo catalogue into a database (a stand-in for the first sync on
    /// terminals installed without a back end).
    CatalogueSeed(CatalogueSeedArgs),
    /// A4 proofs: render a demo resident's 参保证明 or 个人权益记录 to PDF for review.
    #[cfg(feature = "demo")]
    Proof {
        #[command(subcommand)]
        command: renshe_kiosk::shell::proof_cli::ProofCommand,
    },
    /// The self-test: every device, route, the disk, the clock and the records, each with
    /// the likely fix; exits 1 on any failure (0 with only warnings).
    Diag(renshe_kiosk::selftest::cli::DiagArgs),
    /// Receipt printer tools: status and a test page, on the configured port or any other.
    Printer {
        #[command(subcommand)]
        command: PrinterCommand,
    },
    /// Technician mode's accounts.
    Technician {
        #[command(subcommand)]
        action: TechnicianAction,
    },
}

#[derive(Subcommand)]
enum TechnicianAction {
    /// Read a PIN (6 to 12 digits) from standard input and print its argon2id hash, for
    /// `pin_hash` under `[[technician.accounts]]` in terminal.toml. Type it without echo:
    /// `read -rs PIN && echo "$PIN" | renshe-kiosk technician hash`.
    Hash,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Validate a configuration file; prints every problem with its line and exits non-zero.
    Check {
        /// The file to check (default: --config, else the demo configuration).
        path: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct ScreenshotArgs {
    /// The page: attract, home, home-all, help, idle, or a service key such as contribution-query.
    #[arg(long, required_unless_present = "all")]
    page: Option<String>,
    /// Language tag.
    #[arg(long, default_value = "zh-CN")]
    lang: String,
    /// Render in elderly mode (长辈模式).
    #[arg(long)]
    elderly: bool,
    /// Size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1080x1920", value_parser = parse_size)]
    size: (u32, u32),
    /// Output PNG file.
    #[arg(short = 'o', long = "output", required_unless_present = "all")]
    output: Option<PathBuf>,
    /// Render every page in every language and mode into this folder.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["page", "output"])]
    all: Option<PathBuf>,
    /// Print when the first frame is rendered and the peak memory (for the startup benchmark).
    #[arg(long, hide = true)]
    report: bool,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (width, height) = text
        .split_once('x')
        .ok_or_else(|| format!("\"{text}\" is not WIDTHxHEIGHT, e.g. 1080x1920"))?;
    let parse = |part: &str| {
        part.parse::<u32>()
            .ok()
            .filter(|v| (100..=8000).contains(v))
            .ok_or_else(|| format!("\"{part}\" in \"{text}\" is not a size between 100 and 8000"))
    };
    Ok((parse(width)?, parse(height)?))
}

/// sysexits' EX_CONFIG: the configuration file is unusable; restarting cannot help.
const EX_CONFIG: u8 = 78;

fn main() -> ExitCode {
    // Before any thread starts: see `heap::configure_allocator`.
    renshe_kiosk::shell::configure_allocator();
    let cli = Cli::parse();
    // Every log line names the terminal and its district: the configuration is read first
    // (a broken one is reported by the command itself).
    let identity = load_config(cli.config.as_ref())
        .ok()
        .map(|config| renshe_kiosk::logging::Identity::of(&config));
    renshe_kiosk::logging::init(identity);
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration at `path`, or the bundled demo configuration.
fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    match path {
        Some(path) => Config::load(path),
        None => Config::bundled_demo(),
    }
    .map_err(|error| anyhow::anyhow!("{error}"))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            let config = match load_config(cli.config.as_ref()) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    // EX_CONFIG: the unit does not restart for it (RestartPreventExitStatus).
                    return Ok(ExitCode::from(EX_CONFIG));
                }
            };
            shell::lockdown::set_exit_allowed(shell::lockdown::exit_allowed(
                &config,
                cli.allow_exit,
            ));
            shell::run(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            action: ConfigAction::Check { path },
        } => {
            let path = path.or(cli.config);
            let checked = match &path {
                Some(path) => Config::load(path),
                None => Config::bundled_demo(),
            };
            let path = path.unwrap_or_else(|| PathBuf::from(BUNDLED_DEMO_NAME));
            match checked {
                Ok(_) => {
                    println!("{}: ok", path.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    for problem in &error.problems {
                        eprintln!("{problem}");
                    }
                    eprintln!("{} problem(s) in {}", error.problems.len(), path.display());
                    Ok(ExitCode::from(2))
                }
            }
        }
        #[cfg(feature = "demo")]
        Command::BackendSim(args) => {
            renshe_kiosk::backend::demo_cli::run_backend_sim(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Outbox(args) => {
            let config = load_config(cli.config.as_ref())?;
            renshe_kiosk::backend::cli::run_outbox(&args, &backend_context(&config)?)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Soak(args) => {
            let config = load_config(cli.config.as_ref())?;
            renshe_kiosk::backend::demo_cli::run_soak(&args, &backend_context(&config)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Locate(mut args) => {
            let config = load_config(cli.config.as_ref())?;
            args.db = args.db.or_else(|| stored_catalogue(&config));
            renshe_kiosk::locator::cli::run_locate(&args, &mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Coverage(mut args) => {
            let config = load_config(cli.config.as_ref())?;
            args.db = args.db.or_else(|| stored_catalogue(&config));
            renshe_kiosk::locator::cli::run_coverage(&args, &mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CatalogueSeed(args) => {
            renshe_kiosk::locator::cli::run_catalogue_seed(&args, &mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Card { command } => {
            renshe_kiosk::card::cli::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Idcard { command } => {
            let config = load_config(cli.config.as_ref())?;
            let reader = &config.devices.id_card_reader;
            let defaults = IdCardDefaults {
                port: reader.port.clone(),
                baud: reader.baud,
            };
            renshe_kiosk::idcard::cli::run(&command, &defaults)?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Proof { command } => {
            renshe_kiosk::shell::proof_cli::run(&command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Technician {
            action: TechnicianAction::Hash,
        } => {
            let pin = shell::technician::read_pin(&mut std::io::stdin().lock())
                .map_err(anyhow::Error::msg)?;
            let hash = shell::technician::hash_pin(pin.as_bytes()).map_err(anyhow::Error::msg)?;
            println!("{hash}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Diag(args) => {
            let config = match load_config(cli.config.as_ref()) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    return Ok(ExitCode::from(2));
                }
            };
            let status = renshe_kiosk::selftest::cli::run(&args, &config)?;
            Ok(match status {
                renshe_kiosk::selftest::Status::Failure => ExitCode::FAILURE,
                _ => ExitCode::SUCCESS,
            })
        }
        Command::Printer { command } => {
            let config = load_config(cli.config.as_ref())?;
            let printer = &config.devices.printer;
            let defaults = PrinterDefaults {
                port: printer.port.clone(),
                baud: Some(printer.baud),
                flow: Some(printer.flow_control),
                profile: printer.profile.clone(),
            };
            renshe_kiosk::printer::cli::run(&command, &defaults)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Screenshot(args) => {
            let config = load_config(cli.config.as_ref())?;
            let renderer = screenshot::Renderer::headless(&config)?;
            let size = slint::PhysicalSize::new(args.size.0, args.size.1);
            if let Some(dir) = args.all {
                let written = screenshot::render_all(&renderer, size, &dir)?;
                println!("wrote {} pictures to {}", written.len(), dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            let language = Language::from_tag(&args.lang).with_context(|| {
                format!("unknown language \"{}\"; valid: zh-CN, en-US", args.lang)
            })?;
            let shot = screenshot::Shot {
                page: args.page.unwrap_or_default(),
                language,
                elderly: args.elderly,
                size,
            };
            let pixels = renderer.render(&shot)?;
            if args.report {
                println!("first-frame");
                println!("peak-rss-kb={}", peak_rss_kb().unwrap_or(0));
            }
            let output = args
                .output
                .unwrap_or_else(|| PathBuf::from(shot.file_name()));
            screenshot::write_png(&pixels, &output)?;
            if !args.report {
                println!("wrote {}", output.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The terminal's back end, identity and database, as the back-end tools need them.
fn backend_context(config: &Config) -> anyhow::Result<BackendContext> {
    renshe_kiosk::store::private_directory(&config.data.directory).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data.directory.display()
        )
    })?;
    Ok(BackendContext {
        config: config.backend.clone(),
        terminal_id: config.terminal.id.clone(),
        db: config.database_path(),
        key: config.key_source(),
    })
}

/// The terminal's database, when it exists: the locator then uses its synced catalogue.
fn stored_catalogue(config: &Config) -> Option<PathBuf> {
    let path = config.database_path();
    path.exists().then_some(path)
}

/// This process's peak resident memory (VmHWM), in KiB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
