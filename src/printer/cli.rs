//! `renshe-kiosk printer status|test`: try a printer on any port, or the virtual one.

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::core::receipt::{Align, ReceiptBlock, TextSize, TextStyle};
use crate::printer::escpos::encode_blocks;
use crate::printer::profile::{FlowControl, Profile, Profiles, DEFAULT_PROFILES_PATH};
use crate::printer::serial::{PortSettings, SerialPrinter};
#[cfg(feature = "demo")]
use crate::printer::sim::{SimCondition, VirtualPrinter};
use crate::printer::{JobOutcome, ReceiptPrinter};

#[derive(Debug, clap::Subcommand)]
pub enum PrinterCommand {
    /// Ask the printer for its status.
    Status(StatusArgs),
    /// Print a test page: every size, CJK and ASCII, a QR code, a cut.
    Test(TestArgs),
}

/// Overrides of the terminal configuration, so a technician can try a printer on any port.
#[derive(Debug, Clone, clap::Args)]
pub struct PortArgs {
    /// Serial device (e.g. /dev/ttyS0), or "sim" for the built-in virtual printer.
    #[arg(long)]
    pub port: Option<String>,
    #[arg(long)]
    pub baud: Option<u32>,
    #[arg(long, value_enum)]
    pub flow: Option<FlowControl>,
    /// A profile name from the profiles file.
    #[arg(long)]
    pub profile: Option<String>,
    /// The profiles file.
    #[arg(long, default_value = DEFAULT_PROFILES_PATH)]
    pub profiles: PathBuf,
    /// With `--port sim`: what the virtual printer reports.
    #[arg(long, value_enum, default_value = "ready")]
    pub sim_state: SimState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimState {
    Ready,
    NearEnd,
    PaperOut,
    CoverOpen,
    Offline,
}

#[cfg(feature = "demo")]
impl From<SimState> for SimCondition {
    fn from(state: SimState) -> SimCondition {
        match state {
            SimState::Ready => SimCondition::Ready,
            SimState::NearEnd => SimCondition::NearEnd,
            SimState::PaperOut => SimCondition::PaperOut,
            SimState::CoverOpen => SimCondition::CoverOpen,
            SimState::Offline => SimCondition::Offline,
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub port: PortArgs,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub port: PortArgs,
    /// With `--port sim`: where to write the transcript and the picture of the paper.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// The printer settings from the terminal configuration (`[devices.printer]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterDefaults {
    pub port: String,
    pub baud: Option<u32>,
    pub flow: Option<FlowControl>,
    pub profile: String,
}

impl Default for PrinterDefaults {
    fn default() -> Self {
        PrinterDefaults {
            port: "sim".into(),
            baud: None,
            flow: None,
            profile: "generic-80".into(),
        }
    }
}

/// Runs one `printer` subcommand.
pub fn run(command: &PrinterCommand, defaults: &PrinterDefaults) -> anyhow::Result<()> {
    match command {
        PrinterCommand::Status(args) => status(args, defaults),
        PrinterCommand::Test(args) => test_page(args, defaults),
    }
}

/// A connected printer: the port, and the virtual printer behind it when the port is "sim".
struct Connection {
    printer: SerialPrinter,
    #[cfg(feature = "demo")]
    sim: Option<VirtualPrinter>,
}

fn connect(args: &PortArgs, defaults: &PrinterDefaults) -> anyhow::Result<Connection> {
    let profiles = Profiles::load(&args.profiles)?;
    let name = args.profile.as_deref().unwrap_or(&defaults.profile);
    let profile: Profile = profiles
        .get(name)
        .with_context(|| {
            format!(
                "no printer profile \"{name}\"; known: {}",
                profiles.names().join(", ")
            )
        })?
        .clone();
    let port = args.port.as_deref().unwrap_or(&defaults.port);
    #[cfg(feature = "demo")]
    let sim = if port == "sim" {
        let sim = VirtualPrinter::start(&profile).context("starting the virtual printer")?;
        sim.set_condition(args.sim_state.into());
        Some(sim)
    } else {
        None
    };
    #[cfg(feature = "demo")]
    let path = sim.as_ref().map_or(port, |sim| sim.path());
    #[cfg(not(feature = "demo"))]
    let path = match port {
        "sim" => bail!("this build has no virtual printer (it was built without the demo feature)"),
        port => port,
    };
    let mut settings = PortSettings::for_profile(path, &profile);
    if let Some(baud) = args.baud.or(defaults.baud) {
        settings.baud = baud;
    }
    if let Some(flow) = args.flow.or(defaults.flow) {
        settings.flow_control = flow;
    }
    Ok(Connection {
        printer: SerialPrinter::new(settings, profile),
        #[cfg(feature = "demo")]
        sim,
    })
}

fn status(args: &StatusArgs, defaults: &PrinterDefaults) -> anyhow::Result<()> {
    let mut connection = connect(&args.port, defaults)?;
    let status = connection.printer.status();
    let capabilities = connection.printer.capabilities();
    if args.json {
        let report = serde_json::json!({
            "port": connection.printer.settings().path,
            "baud": connection.printer.settings().baud,
            "flowControl": connection.printer.settings().flow_control,
            "status": status,
            "capabilities": capabilities,
            "canPrint": status.refusal().is_none(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let settings = connection.printer.settings();
        println!(
            "port:     {} ({} baud, flow {:?})",
            settings.path, settings.baud, settings.flow_control
        );
        println!(
            "profile:  {} ({} dots, {} columns)",
            capabilities.profile, capabilities.dots, capabilities.columns
        );
        println!("device:   {:?}", status.device);
        println!("paper:    {:?}", status.paper);
        println!(
            "cover:    {}",
            if status.cover_open { "open" } else { "closed" }
        );
        match status.refusal() {
            None => println!("printing: possible"),
            Some(refusal) => println!("printing: refused ({refusal})"),
        }
    }
    Ok(())
}

/// The test page's content (for technicians; not a resident-facing text).
pub fn test_page_blocks(profile: &Profile) -> Vec<ReceiptBlock> {
    let columns = usize::from(profile.columns);
    let mut blocks = Vec::new();
    let mut text = |text: &str, align: Align, size: TextSize, bold: bool| {
        let usable = columns / usize::from(size.width);
        for line in crate::core::receipt::wrap(text, usable) {
            blocks.push(ReceiptBlock::Line {
                text: line,
                style: TextStyle { align, size, bold },
            });
        }
    };
    text("打印测试页 TEST", Align::Center, TextSize::DOUBLE, true);
    text(
        &format!(
            "{} · {} dots · {} cols",
            profile.name, profile.dots, profile.columns
        ),
        Align::Center,
        TextSize::NORMAL,
        false,
    );
    for (width, height) in [(1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (4, 4)] {
        text(
            &format!("{width}x{height} 字号"),
            Align::Left,
            TextSize { width, height },
            false,
        );
    }
    text("粗体 Bold", Align::Left, TextSize::NORMAL, true);
    text("左 Left", Align::Left, TextSize::NORMAL, false);
    text("中 Center", Align::Center, TextSize::NORMAL, false);
    text("右 Right", Align::Right, TextSize::NORMAL, false);
    text(
        "中文：重庆市人力资源和社会保障局自助服务终端，社保卡查询、缴费与打印。",
        Align::Left,
        TextSize::NORMAL,
        false,
    );
    text(
        "ASCII: The quick brown fox jumps over the lazy dog 0123456789",
        Align::Left,
        TextSize::NORMAL,
        false,
    );
    text("金额 Amount: ¥12.50", Align::Left, TextSize::NORMAL, false);
    blocks.push(ReceiptBlock::Rule);
    blocks.push(ReceiptBlock::Qr {
        payload: "https://rs.cq.gov.cn/printer-test".into(),
    });
    let mut text = |line: &str| {
        blocks.push(ReceiptBlock::Line {
            text: line.into(),
            style: TextStyle {
                align: Align::Center,
                ..TextStyle::default()
            },
        })
    };
    text("12333");
    blocks.push(ReceiptBlock::Feed(1));
    blocks
}

fn test_page(args: &TestArgs, defaults: &PrinterDefaults) -> anyhow::Result<()> {
    let mut connection = connect(&args.port, defaults)?;
    let job = encode_blocks(
        &test_page_blocks(connection.printer.profile()),
        connection.printer.profile(),
    )?;
    let outcome = connection.printer.print(&job)?;
    match outcome {
        JobOutcome::Complete { bytes } => println!("test page sent: {bytes} bytes"),
        JobOutcome::Incomplete {
            sent,
            total,
            reason,
        } => bail!("test page incomplete ({sent} of {total} bytes): {reason}"),
    }
    #[cfg(feature = "demo")]
    if let Some(sim) = &connection.sim {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
        let (text, png) = sim.save(&args.out, "printer-test")?;
        println!("transcript: {}", text.display());
        println!("picture:    {}", png.display());
    }
    Ok(())
}
