//! `renshe-kiosk diag [--json]`: the self-test from SSH. On a demo configuration it first
//! starts what demo mode starts — the virtual card tray over vpcd (its PSAM in slot 1), the
//! virtual printer and ID-card reader on ptys, the demo back end — so the checks meet the
//! same parts the demo kiosk would. Beside a running kiosk (it holds the records' writer
//! lock) nothing is started and its serial ports are left alone.

use crate::config::Config;
use crate::selftest::devices::Ports;
use crate::selftest::{run_all, Report, Status};

#[derive(Debug, clap::Args)]
pub struct DiagArgs {
    /// Print the report as JSON (schema in the README, "Self-test and diag").
    #[arg(long)]
    pub json: bool,
}

/// Runs every check and prints the report; returns its overall status (the exit code:
/// non-zero only on a failure).
pub fn run(args: &DiagArgs, config: &Config) -> anyhow::Result<Status> {
    let report = diagnose(config)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.human());
    }
    Ok(report.status)
}

/// The self-test against `config`, with demo mode's stand-ins started first when it asks
/// for them and no kiosk is running.
pub fn diagnose(config: &Config) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("diag-io")
        .build()?;
    let kiosk = crate::store::Store::writer(&config.database_path());
    let mut ports = Ports {
        kiosk,
        ..Ports::default()
    };
    // Kept alive until the checks are done.
    let _stand_ins = match kiosk {
        Some(pid) => {
            tracing::info!(pid, "a kiosk is running: its devices are its own");
            None
        }
        None => Some(stand_ins::start(config, &runtime, &mut ports)?),
    };
    Ok(run_all(config, &ports, &runtime))
}

#[cfg(feature = "demo")]
mod stand_ins {
    use anyhow::Context;

    use crate::config::Config;
    use crate::idcard::sim::VirtualIdReader;
    use crate::printer::sim::VirtualPrinter;
    use crate::printer::Profiles;
    use crate::selftest::devices::Ports;
    use crate::shell::demo_tray::DemoTray;

    /// Demo mode's simulated parts, for as long as the checks run.
    pub struct StandIns {
        _tray: Option<DemoTray>,
        _printer: Option<VirtualPrinter>,
        _id_reader: Option<VirtualIdReader>,
        _backend: Option<crate::backend::sim::SimHandle>,
    }

    pub fn start(
        config: &Config,
        runtime: &tokio::runtime::Runtime,
        ports: &mut Ports,
    ) -> anyhow::Result<StandIns> {
        let devices = &config.devices;
        let printer = if devices.printer.port == "sim" {
            let profiles = Profiles::bundled()?;
            let profile = profiles
                .get(&devices.printer.profile)
                .with_context(|| format!("no printer profile \"{}\"", devices.printer.profile))?;
            let printer = VirtualPrinter::start(profile)?;
            ports.printer = Some(printer.path().to_owned());
            Some(printer)
        } else {
            None
        };
        let id_reader = if devices.id_card_reader.port == "sim" {
            let reader = VirtualIdReader::start()?;
            ports.id_card_reader = Some(reader.path().to_owned());
            Some(reader)
        } else {
            None
        };
        let backend = match crate::shell::backend::start_demo_backend(config, runtime) {
            Ok(backend) => backend,
            // A demo kiosk of another data directory may serve it already: probe that one.
            Err(error)
                if error.chain().any(|cause| {
                    cause
                        .downcast_ref::<crate::backend::sim::SimError>()
                        .is_some_and(|sim| {
                            matches!(sim, crate::backend::sim::SimError::Io(io)
                                if io.kind() == std::io::ErrorKind::AddrInUse)
                        })
                }) =>
            {
                tracing::warn!(%error, "the demo back end's address is taken; probing what listens there");
                None
            }
            Err(error) => return Err(error),
        };
        Ok(StandIns {
            _tray: DemoTray::start(&devices.card_reader),
            _printer: printer,
            _id_reader: id_reader,
            _backend: backend,
        })
    }
}

#[cfg(not(feature = "demo"))]
mod stand_ins {
    use crate::config::Config;
    use crate::selftest::devices::Ports;

    /// A terminal's build has no simulators (its configuration check refuses `sim`).
    pub struct StandIns;

    pub fn start(
        _config: &Config,
        _runtime: &tokio::runtime::Runtime,
        _ports: &mut Ports,
    ) -> anyhow::Result<StandIns> {
        Ok(StandIns)
    }
}
