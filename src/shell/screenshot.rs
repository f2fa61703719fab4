//! Headless rendering of any page to PNG with Slint's software renderer: for people (the
//! `screenshot` subcommand), for the startup benchmark, and for reviewing screens in CI.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{bail, Context};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize};

use crate::card::sim::demo_residents;
use crate::config::Config;
use crate::core::identity::mask_name;
use crate::core::{Event, Language, Millis, QueryRow, ServiceId, SessionSettings};
use crate::i18n::Translator;
use crate::shell::controller::Controller;
use crate::shell::session_settings;
use crate::ui::finder::Finder;
use crate::ui::{self, AppWindow};

/// The pages that can be rendered, by name. Services are named by their key.
pub fn page_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "attract",
        "home",
        "home-all",
        "help",
        "idle",
        "card-holder",
        "card-error",
        "take-card",
        "query-needs-card",
        "query-loading",
        "query-answered",
        "query-failed",
        "query-printed",
        "finder",
        "finder-keyboard",
        "finder-results",
        "service-point",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    names.extend(ServiceId::ALL.iter().map(|s| s.key().to_string()));
    names
}

/// What to render: a page in a language and mode at a size.
#[derive(Debug, Clone)]
pub struct Shot {
    pub page: String,
    pub language: Language,
    pub elderly: bool,
    pub size: PhysicalSize,
}

impl Shot {
    /// A file name that says what the picture shows, e.g. `home.zh-CN.elderly.png`.
    pub fn file_name(&self) -> String {
        let mode = if self.elderly { "elderly" } else { "normal" };
        format!("{}.{}.{}.png", self.page, self.language.tag(), mode)
    }
}

struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }
}

/// Renders shots one after another in this process, on whatever Slint platform is installed.
pub struct Renderer {
    app: AppWindow,
    settings: SessionSettings,
    terminal: crate::ui::finder::Terminal,
    /// Built on first use: the finder pages need the generated catalogue's index.
    finder: std::cell::OnceCell<std::cell::RefCell<Finder>>,
}

impl Renderer {
    /// Installs the software-rendering headless platform (once per process) and makes a renderer.
    pub fn headless(config: &Config) -> anyhow::Result<Renderer> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        slint::platform::set_platform(Box::new(HeadlessPlatform { window }))
            .map_err(|error| anyhow::anyhow!("cannot install the headless platform: {error:?}"))?;
        Renderer::new(config)
    }

    /// A renderer on the platform already installed (the testing backend in screen tests).
    pub fn new(config: &Config) -> anyhow::Result<Renderer> {
        let app = AppWindow::new().context("cannot create the kiosk window")?;
        ui::install_translator(&app, Rc::new(Translator::new()?));
        app.set_terminal_id(config.terminal.id.as_str().into());
        // Demo terminals show their simulated card tray; so do their pictures.
        if config.devices.card_reader.reader == "sim" {
            let labels: Vec<ui::DemoCard> = demo_residents()
                .iter()
                .map(|holder| ui::DemoCard {
                    label: mask_name(&holder.name).into(),
                })
                .collect();
            app.set_demo_mode(true);
            app.set_demo_cards(slint::ModelRc::new(slint::VecModel::from(labels)));
        }
        Ok(Renderer {
            app,
            settings: session_settings(config),
            terminal: crate::shell::finder::terminal(config),
            finder: std::cell::OnceCell::new(),
        })
    }

    pub fn app(&self) -> &AppWindow {
        &self.app
    }

    /// The finder over the generated catalogue (the one the demo back end serves).
    fn finder(&self) -> &std::cell::RefCell<Finder> {
        self.finder.get_or_init(|| {
            let mut finder = Finder::new(self.terminal.clone());
            let points =
                crate::locator::catalogue::generate(crate::locator::catalogue::DEFAULT_SEED, 1);
            finder.set_locator(crate::locator::Locator::new(points));
            Finder::install_keyboard(&self.app);
            std::cell::RefCell::new(finder)
        })
    }

    /// Drives a fresh session to the page, the way a resident would, and renders it.
    pub fn render(
        &self,
        shot: &Shot,
    ) -> anyhow::Result<slint::SharedPixelBuffer<slint::Rgba8Pixel>> {
        let now = Rc::new(Cell::new(Millis(0)));
        let clock_source = now.clone();
        let controller = Controller::attach(
            &self.app,
            self.settings.clone(),
            Rc::new(move || clock_source.get()),
        );
        let send = |event| controller.borrow_mut().dispatch(event);
        send(Event::LanguageSelected(shot.language));
        if shot.elderly != self.settings.elderly_by_default {
            send(Event::ElderlyModeToggled);
        }
        match shot.page.as_str() {
            "attract" => {}
            "home" => send(Event::Start),
            "home-all" => {
                send(Event::Start);
                send(Event::AllServicesTapped);
            }
            "help" => {
                send(Event::Start);
                send(Event::HelpTapped);
            }
            "idle" => {
                send(Event::Start);
                now.set(
                    self.settings
                        .idle_timeout
                        .saturating_add(Millis::from_secs(7)),
                );
                send(Event::Tick);
            }
            "card-holder" => send(Event::CardIdentified(sample_holder())),
            "card-error" => send(Event::CardUnreadable {
                message_key: "card-error-needs-sam",
            }),
            "take-card" => {
                send(Event::CardIdentified(sample_holder()));
                now.set(Millis::from_secs(3600));
                send(Event::Tick);
            }
            "query-needs-card" => {
                send(Event::Start);
                send(Event::ServiceTapped(ServiceId::MedicalAccountQuery));
            }
            "query-loading" | "query-answered" | "query-failed" | "query-printed" => {
                let service = ServiceId::ContributionQuery;
                send(Event::CardIdentified(sample_holder()));
                send(Event::ServiceTapped(service));
                match shot.page.as_str() {
                    "query-answered" | "query-printed" => {
                        send(Event::QueryAnswered {
                            service,
                            rows: sample_rows(),
                        });
                        if shot.page == "query-printed" {
                            send(Event::PrintTapped);
                            send(Event::ReceiptPrinted);
                        }
                    }
                    "query-failed" => send(Event::QueryFailed {
                        service,
                        message_key: "query-error-unavailable",
                    }),
                    _ => {}
                }
            }
            "finder" | "finder-keyboard" | "finder-results" | "service-point" => {
                let finder = self.finder();
                let mut finder = finder.borrow_mut();
                finder.wipe();
                send(Event::Start);
                send(Event::ServiceTapped(ServiceId::ServicePointFinder));
                let now = crate::ui::finder::local_time(sample_time());
                if shot.page == "finder-keyboard" {
                    finder.toggle_keyboard();
                    finder.type_key("j");
                    finder.type_key("f");
                }
                if shot.page == "finder-results" || shot.page == "service-point" {
                    for key in ["j", "f", "b"] {
                        finder.type_key(key);
                    }
                    finder.toggle_filter(0);
                }
                finder.apply(&self.app, now);
                if shot.page == "service-point" {
                    if let Some(hit) = finder.search(now).first() {
                        finder.show_point(&self.app, hit.index, now);
                        send(Event::ServicePointTapped(hit.index as u32));
                    }
                }
            }
            other => match ServiceId::from_key(other) {
                Some(service) => {
                    send(Event::Start);
                    send(Event::ServiceTapped(service));
                }
                None => bail!(
                    "unknown page \"{other}\"; valid pages: {}",
                    page_names().join(", ")
                ),
            },
        }
        self.app
            .set_clock(ui::clock_text(shot.language, sample_time()).into());
        self.app.set_landscape(shot.size.width > shot.size.height);
        self.app.window().set_size(shot.size);
        self.app.show().context("cannot show the window")?;
        let pixels = self
            .app
            .window()
            .take_snapshot()
            .context("cannot render the window")?;
        Ok(pixels)
    }
}

/// The first demo resident, masked as the screen shows a holder.
fn sample_holder() -> crate::core::identity::HolderSummary {
    let residents = demo_residents();
    residents
        .first()
        .map(|holder| holder.summary())
        .unwrap_or_else(|| unreachable!("the demo residents are compiled in"))
}

/// Contribution rows as the demo back end answers them.
fn sample_rows() -> Vec<QueryRow> {
    let mut rows = vec![QueryRow {
        label_key: "row-months-paid",
        label: String::new(),
        value: "214".into(),
        value_key: "",
    }];
    rows.extend((1..=10).rev().map(|month| QueryRow {
        label_key: "",
        label: format!("2026-{month:02}"),
        value: "812.40".into(),
        value_key: "unit-yuan",
    }));
    rows
}

/// A fixed time for the header clock, so pictures of the same build are identical.
fn sample_time() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
        .and_then(|date| date.and_hms_opt(9, 30, 0))
        .unwrap_or_default()
}

pub fn write_png(
    pixels: &slint::SharedPixelBuffer<slint::Rgba8Pixel>,
    path: &Path,
) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        pixels.width(),
        pixels.height(),
    );
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels.as_bytes())?;
    writer.finish()?;
    Ok(())
}

/// Every page × language × mode into `dir`; returns the files written.
pub fn render_all(
    renderer: &Renderer,
    size: PhysicalSize,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for page in page_names() {
        for language in Language::ALL {
            for elderly in [false, true] {
                let shot = Shot {
                    page: page.clone(),
                    language,
                    elderly,
                    size,
                };
                let path = dir.join(shot.file_name());
                write_png(&renderer.render(&shot)?, &path)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}
