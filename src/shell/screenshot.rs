//! Headless rendering of any page to PNG with Slint's software renderer: for people (the
//! `screenshot` subcommand), for the startup benchmark, and for reviewing screens in CI.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{bail, Context};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize};

use crate::config::Config;
use crate::core::identity::{CardGeneration, Gender, HolderSummary, IdCardSummary};
use std::cell::RefCell;

use crate::core::records::{
    CardState, ContributionMonth, Insurance, InsuranceKind, InsuranceStatus, MedicalAccount,
    MedicalSpending, PensionPayment, Records, YearMonth,
};
use crate::core::{
    A4Status, EnrollmentLine, ProofAnswer, ProofInput, ProofKind, ProofMonth, ProofYear, YearSpan,
};
use crate::core::{
    Answer, BackendProblem, CardProblem, CardReply, CardServiceInput, CardServiceView, CardStep,
    Command, Confirmation, Date, DeviceHealth, DeviceKind, Event, FinderInput, FlowInput, FlowView,
    Language, Millis, PersonFound, PinInput, PinProblem, PrintProblem, QueryInput, Rejection,
    ServiceId, SessionSettings,
};
use crate::i18n::Translator;
use crate::shell::controller::Controller;
use crate::shell::session_settings;
use crate::ui::finder::Finder;
use crate::ui::{self, AppWindow};

/// Drives the proof flow to `page`: card, PIN, choice, answer, print.
fn proof_page(
    page: &str,
    controller: &Controller,
    send: &dyn Fn(Event),
    last_ticket: &dyn Fn() -> Option<crate::core::Ticket>,
) {
    let receipt_copy = page.starts_with("proof-receipt-copy");
    if page != "proof-checking-printer" {
        let status = if receipt_copy {
            A4Status {
                health: DeviceHealth::HardwareError,
                problem: Some(PrintProblem::Jammed),
            }
        } else {
            A4Status {
                health: DeviceHealth::Online,
                problem: None,
            }
        };
        send(Event::A4PrinterChanged(status));
    }
    send(Event::CardIdentified(sample_holder()));
    send(Event::ServiceTapped(ServiceId::ProofPrint));
    enter_pin(controller, send, "123456");
    if let Some(ticket) = last_ticket() {
        send(Event::PinAnswered {
            ticket,
            result: Ok(()),
        });
    }
    let input = |input| send(Event::Flow(FlowInput::Proof(input)));
    let contributions = matches!(page, "proof-years" | "proof-preview-contributions");
    match page {
        "proof-checking-printer" | "proof-choose" | "proof-receipt-copy-choose" => return,
        _ if contributions => {
            input(ProofInput::Choose(ProofKind::Contributions));
            if page == "proof-years" {
                return;
            }
            input(ProofInput::Years(YearSpan::LastThree));
        }
        _ => input(ProofInput::Choose(ProofKind::Enrollment)),
    }
    if page == "proof-loading" {
        return;
    }
    let Some(ticket) = last_ticket() else {
        return;
    };
    let kind = if contributions {
        ProofKind::Contributions
    } else {
        ProofKind::Enrollment
    };
    let result = if page == "proof-failed" {
        Err(BackendProblem::RouteUnavailable)
    } else {
        Ok(Box::new(sample_proof(kind)))
    };
    send(Event::ProofAnswered { ticket, result });
    if !matches!(
        page,
        "proof-printing" | "proof-printed" | "proof-print-failed"
    ) {
        return;
    }
    input(ProofInput::Print);
    let result = match page {
        "proof-printed" => Ok(()),
        "proof-print-failed" => Err(PrintProblem::Jammed),
        _ => return,
    };
    if let Some(ticket) = last_ticket() {
        send(Event::Printed { ticket, result });
    }
}

/// A proof as the demo back end would issue it.
pub fn sample_proof(kind: ProofKind) -> ProofAnswer {
    let months = |year: i32| ProofYear {
        year,
        months: (1..=12)
            .map(|month| ProofMonth {
                month,
                base_fen: 612_300,
                personal_fen: 48_984,
                employer_fen: 97_968,
                employer: "重庆某某信息技术有限公司".into(),
            })
            .collect(),
    };
    let line = |kind, status| EnrollmentLine {
        kind,
        status,
        since: "2015-07".into(),
        place: "重庆市渝中区".into(),
    };
    ProofAnswer {
        kind,
        masked_name: "张*芳".into(),
        masked_id_number: "500103********1220".into(),
        enrollment: vec![
            line(InsuranceKind::Pension, InsuranceStatus::Paying),
            line(InsuranceKind::Medical, InsuranceStatus::Paying),
            line(InsuranceKind::Unemployment, InsuranceStatus::Paying),
            line(InsuranceKind::WorkInjury, InsuranceStatus::Suspended),
        ],
        years: if kind == ProofKind::Contributions {
            vec![months(2024), months(2025), months(2026)]
        } else {
            Vec::new()
        },
        verification_code: "K7Q2-9XMA".into(),
        verify_url: "https://rlsbj.cq.gov.cn.example/verify/K7Q2-9XMA".into(),
        issued_at: "2026-12-01 10:30".into(),
        seal_png: None,
        pages: if kind == ProofKind::Contributions {
            2
        } else {
            1
        },
        reference: "3F9A2C1B".into(),
    }
}

/// The pages that can be rendered, by name. Services are named by their key.
pub fn page_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "attract",
        "attract-offline",
        "home",
        "home-all",
        "home-offline",
        "help",
        "idle",
        "card-holder",
        "card-error",
        "take-card",
        "query-needs-card",
        "query-loading",
        "query-answered",
        "query-answered-page-2",
        "query-older-year",
        "query-pension",
        "query-medical",
        "query-enrollment",
        "query-card-status",
        "query-failed",
        "query-rejected",
        "query-printed",
        "query-print-failed",
        "finder",
        "finder-keyboard",
        "finder-results",
        "service-point",
        "service-point-printed",
        "attract-farewell",
        "home-a4-down",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    names.extend(CARD_SERVICE_PAGES.iter().map(|s| s.to_string()));
    names.extend(CERTIFICATION_PAGES.iter().map(|s| s.to_string()));
    names.extend(PROXY_PAGES.iter().map(|s| s.to_string()));
    names.extend(PROOF_PAGES.iter().map(|s| s.to_string()));
    names.extend(TECHNICIAN_PAGES.iter().map(|s| s.to_string()));
    names.extend(ServiceId::ALL.iter().map(|s| s.key().to_string()));
    names
}

/// Technician mode's pages, and the out-of-service screen residents see meanwhile.
pub const TECHNICIAN_PAGES: [&str; 6] = [
    "technician-sign-in",
    "technician-sign-in-refused",
    "technician-locked",
    "technician-status",
    "technician-actions",
    "technician-out-of-service",
];

/// Opens technician mode as a technician would (the hidden corner's gesture on the hand-set
/// clock), then walks to `page`.
fn technician_page(
    page: &str,
    app: &AppWindow,
    now: &Cell<Millis>,
    send: &dyn Fn(Event),
    language: Language,
    elderly: bool,
    defaults: (Language, bool),
) {
    // The corner is live only with nobody in a session: undo the shot's language and mode.
    send(Event::LanguageSelected(defaults.0));
    if elderly != defaults.1 {
        send(Event::ElderlyModeToggled);
    }
    use crate::core::technician::{
        ActionResult, SignInOutcome, TechnicianAction, TechnicianInput as Input, TechnicianPage,
    };
    crate::shell::show_offered_languages(app, &Language::ALL, "渝中区");
    let tech = |input| send(Event::Technician(input));
    for tap in 0..5u64 {
        now.set(Millis(1_000 + tap * 300));
        tech(Input::CornerPressed);
        now.set(Millis(1_100 + tap * 300 + if tap == 4 { 2_100 } else { 0 }));
        tech(Input::CornerReleased);
    }
    // Entering maintenance ended the session: the shot's language and mode again.
    send(Event::LanguageSelected(language));
    if elderly != defaults.1 {
        send(Event::ElderlyModeToggled);
    }
    for digit in [1, 0, 0, 1] {
        tech(Input::Digit(digit));
    }
    if page == "technician-sign-in" {
        tech(Input::Field(crate::core::technician::SignInField::Pin));
        for digit in [2, 4, 6] {
            tech(Input::Digit(digit));
        }
        return;
    }
    tech(Input::Field(crate::core::technician::SignInField::Pin));
    for digit in [2, 4, 6, 8, 1, 3] {
        tech(Input::Digit(digit));
    }
    tech(Input::SignIn);
    tech(Input::SignInChecked(match page {
        "technician-sign-in-refused" => SignInOutcome::Refused { tries_left: 4 },
        "technician-locked" => SignInOutcome::Locked { minutes: 15 },
        _ => SignInOutcome::Accepted,
    }));
    match page {
        "technician-status" => {
            tech(Input::Run(TechnicianAction::SelfTest));
            tech(Input::ActionDone(
                TechnicianAction::SelfTest,
                ActionResult::Problem,
            ));
            crate::ui::technician::show_checks(
                app,
                "CQ-500103-0042 · 0.1.0 · 2026-12-01 10:30:00",
                sample_checks(),
            );
        }
        "technician-actions" => {
            tech(Input::Page(TechnicianPage::Actions));
            tech(Input::Run(TechnicianAction::TestPrint));
            tech(Input::ActionDone(
                TechnicianAction::TestPrint,
                ActionResult::Done,
            ));
        }
        "technician-out-of-service" => tech(Input::Pause),
        _ => {}
    }
}

/// Self-test rows as a terminal with an empty printer and an unreachable route would show.
fn sample_checks() -> Vec<crate::ui::CheckRow> {
    let row = crate::ui::technician::check_row;
    vec![
        row(
            "receipt printer",
            "/dev/ttyS1",
            "failure",
            "paper out",
            "load a roll of 80 mm paper",
        ),
        row(
            "back end",
            "pension",
            "failure",
            "unreachable (connection refused)",
            "check the network or VPN",
        ),
        row(
            "card reader",
            "ACS ACR39U 00 00",
            "ok",
            "online; card present, ATR 3B 6C ...",
            "",
        ),
        row("ID-card reader", "/dev/ttyUSB0", "ok", "SAM 05.01.2026", ""),
        row("A4 printer", "cups-pdf", "ok", "idle, ready", ""),
        row(
            "journal",
            "",
            "warning",
            "0 open operations, 1 quarantined",
            "compare it with the back end",
        ),
        row("outbox", "", "ok", "empty", ""),
        row("disk", "/var/lib/renshe-kiosk", "ok", "41.2 GB free", ""),
        row(
            "clock",
            "",
            "ok",
            "2026-12-01 10:30:00 CST; NTP synchronised",
            "",
        ),
    ]
}

/// Pension certification's pages, for oneself and 帮你认.
const CERTIFICATION_PAGES: [&str; 13] = [
    "certification-status",
    "certification-already",
    "certification-preview",
    "certification-action",
    "certification-retake",
    "certification-sending",
    "certification-certified",
    "certification-received",
    "certification-rejected",
    "certification-no-attempts",
    "certification-failed",
    "relative-id",
    "relative-name",
];

/// The proof service's pages: every step a resident can meet.
const PROOF_PAGES: [&str; 12] = [
    "proof-checking-printer",
    "proof-choose",
    "proof-years",
    "proof-loading",
    "proof-preview",
    "proof-preview-contributions",
    "proof-printing",
    "proof-printed",
    "proof-print-failed",
    "proof-failed",
    "proof-receipt-copy-choose",
    "proof-receipt-copy-preview",
];

/// 亲情代办's own pages (identifying and typing are the card-service page's).
const PROXY_PAGES: [&str; 5] = [
    "proxies-none",
    "proxies-list",
    "proxies-full",
    "proxies-confirm-remove",
    "proxies-added",
];

/// The card services' pages: every step a resident can meet.
const CARD_SERVICE_PAGES: [&str; 29] = [
    "query-pin",
    "query-pin-on-reader",
    "query-pin-wrong",
    "query-pin-blocked",
    "pin-change-old",
    "pin-change-weak",
    "pin-change-repeat",
    "pin-change-changing",
    "pin-change-wrong",
    "pin-change-done",
    "activation-issuing",
    "activation-new",
    "activation-sending",
    "activation-done",
    "activation-already-active",
    "activation-being-confirmed",
    "loss-report-choose",
    "loss-report-id-card",
    "loss-report-by-id-card",
    "loss-report-id",
    "loss-report-id-bad",
    "loss-report-name",
    "loss-report-confirm",
    "loss-report-done",
    "loss-report-not-found",
    "loss-release-choose",
    "loss-release-pin",
    "loss-release-confirm",
    "loss-release-not-lost",
];

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
    /// Made on first use, its catalogue loaded only when a page needs it ([`Self::loaded_finder`]).
    finder: std::cell::OnceCell<Rc<RefCell<Finder>>>,
    translator: Rc<Translator>,
    /// The session's view behind the last picture (what voice guidance says for it).
    last_view: RefCell<Option<crate::core::View>>,
    /// The window of the headless platform, when this renderer installed it: pictures are
    /// drawn on it directly (see [`headless_snapshot`]).
    headless: Option<Rc<MinimalSoftwareWindow>>,
}

impl Renderer {
    /// Installs the software-rendering headless platform (once per process) and makes a renderer.
    pub fn headless(config: &Config) -> anyhow::Result<Renderer> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: window.clone(),
        }))
        .map_err(|error| anyhow::anyhow!("cannot install the headless platform: {error:?}"))?;
        let mut renderer = Renderer::new(config)?;
        renderer.headless = Some(window);
        Ok(renderer)
    }

    /// The picture `window` shows now.
    fn snapshot(
        &self,
        window: &slint::Window,
    ) -> anyhow::Result<slint::SharedPixelBuffer<slint::Rgba8Pixel>> {
        match &self.headless {
            Some(headless) => Ok(headless_snapshot(headless, window.size())),
            None => window.take_snapshot().context("cannot render the window"),
        }
    }

    /// A renderer on the platform already installed (the testing backend in screen tests).
    pub fn new(config: &Config) -> anyhow::Result<Renderer> {
        let app = AppWindow::new().context("cannot create the kiosk window")?;
        let translator = Rc::new(Translator::new()?);
        ui::install_translator(&app, translator.clone());
        app.set_terminal_id(config.terminal.id.as_str().into());
        // Demo terminals show their simulated card tray; so do their pictures.
        #[cfg(feature = "demo")]
        if config.devices.card_reader.reader == "sim" {
            let labels: Vec<ui::DemoCard> = crate::card::sim::demo_residents()
                .iter()
                .map(|holder| ui::DemoCard {
                    label: crate::core::identity::mask_name(&holder.name).into(),
                })
                .collect();
            app.set_demo_mode(true);
            app.set_demo_cards(slint::ModelRc::new(slint::VecModel::from(labels)));
        }
        #[cfg(feature = "demo")]
        if config.devices.id_card_reader.port == "sim" {
            let labels: Vec<ui::DemoCard> = crate::idcard::sim::demo_id_cards()
                .iter()
                .map(|card| ui::DemoCard {
                    label: crate::core::identity::mask_name(&card.text.name).into(),
                })
                .collect();
            app.set_demo_id_cards(slint::ModelRc::new(slint::VecModel::from(labels)));
        }
        Ok(Renderer {
            app,
            // A fixed pad layout sequence: pictures of the same build are identical.
            settings: SessionSettings {
                keypad_seed: 0x2026_1201,
                voice_always: false,
                ..session_settings(config)
            },
            terminal: crate::shell::finder::terminal(config),
            finder: std::cell::OnceCell::new(),
            translator,
            last_view: RefCell::new(None),
            headless: None,
        })
    }

    pub fn app(&self) -> &AppWindow {
        &self.app
    }

    /// The view the last [`Renderer::render`] drew.
    pub fn last_view(&self) -> Option<crate::core::View> {
        self.last_view.borrow().clone()
    }

    pub fn translator(&self) -> &Translator {
        &self.translator
    }

    /// The pictures' finder, its catalogue not necessarily loaded (see [`Self::loaded_finder`]).
    fn finder(&self) -> Rc<RefCell<Finder>> {
        self.finder
            .get_or_init(|| {
                Rc::new(RefCell::new(Finder::new(
                    self.terminal.clone(),
                    self.translator.clone(),
                )))
            })
            .clone()
    }

    /// The finder over the generated catalogue (the one the demo back end serves), built on
    /// first need. The attract pages do without it: the kiosk builds its index after its
    /// first frame, so the attract picture (the startup bench's) must not wait for one.
    fn loaded_finder(&self) -> Rc<RefCell<Finder>> {
        let finder = self.finder();
        if finder.borrow().is_empty() {
            let points =
                crate::locator::catalogue::generate(crate::locator::catalogue::DEFAULT_SEED, 1);
            finder
                .borrow_mut()
                .set_locator(crate::locator::Locator::new(points));
        }
        finder
    }

    /// How many service points the pictures' catalogue holds.
    pub fn catalogue_len(&self) -> usize {
        self.loaded_finder().borrow().len()
    }

    /// A controller on this window with a hand-set clock and today's date fixed, as the
    /// screenshots and screen tests drive it.
    pub fn controller(&self, now: Rc<Cell<Millis>>) -> Rc<Controller> {
        self.controller_on(now, &self.loaded_finder())
    }

    fn controller_on(&self, now: Rc<Cell<Millis>>, finder: &Rc<RefCell<Finder>>) -> Rc<Controller> {
        let controller =
            Controller::attach(&self.app, self.settings.clone(), Rc::new(move || now.get()));
        controller.dispatch(Event::Today(sample_today()));
        crate::shell::finder::attach(&self.app, &controller, finder);
        controller
    }

    /// The catalogue index of the finder's first result for what the finder flow holds now.
    pub fn first_result(&self, controller: &Controller) -> Option<usize> {
        let Some(FlowView::Finder(finder_view)) = controller.view().flow else {
            return None;
        };
        let now = crate::ui::finder::local_time(sample_time());
        self.loaded_finder()
            .borrow()
            .search(&finder_view, now)
            .first()
            .map(|hit| hit.index)
    }

    pub fn render(
        &self,
        shot: &Shot,
    ) -> anyhow::Result<slint::SharedPixelBuffer<slint::Rgba8Pixel>> {
        if shot.page == OUT_OF_SERVICE {
            return self.render_out_of_service(shot);
        }
        let finder = if shot.page.starts_with("attract") {
            self.finder()
        } else {
            self.loaded_finder()
        };
        let now = Rc::new(Cell::new(Millis(0)));
        let controller = self.controller_on(now.clone(), &finder);
        // The tickets of the requests the session sends, to answer them as the back end and
        // the printer would.
        let tickets = Rc::new(RefCell::new(Vec::new()));
        let recorder = tickets.clone();
        controller.add_effects(Box::new(move |command, _| {
            if let Command::Fetch { ticket, .. }
            | Command::Print { ticket, .. }
            | Command::VerifyPin { ticket, .. }
            | Command::ChangePin { ticket, .. }
            | Command::Capture { ticket, .. } = command
            {
                recorder.borrow_mut().push(*ticket);
            }
        }));
        let last_ticket = || tickets.borrow().last().copied();
        let send = |event| controller.dispatch(event);
        send(Event::LanguageSelected(shot.language));
        if shot.elderly != self.settings.elderly_by_default {
            send(Event::ElderlyModeToggled);
        }
        let page = shot.page.as_str();
        match page {
            "attract" => {}
            "attract-offline" => send(Event::DeviceChanged(
                DeviceKind::Network,
                DeviceHealth::Offline,
            )),
            "home" => send(Event::Start),
            "home-all" => {
                send(Event::Start);
                send(Event::AllServicesTapped);
            }
            "home-offline" => {
                send(Event::DeviceChanged(
                    DeviceKind::Network,
                    DeviceHealth::Offline,
                ));
                send(Event::Start);
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
            "card-error" => send(Event::CardUnreadable(
                CardProblem::NeedsAuthenticationModule,
            )),
            "take-card" => {
                send(Event::CardIdentified(sample_holder()));
                now.set(Millis::from_secs(3600));
                send(Event::Tick);
            }
            page if CARD_SERVICE_PAGES.contains(&page) => {
                card_service_page(page, &controller, &send, &last_ticket)
            }
            page if PROXY_PAGES.contains(&page) => proxy_page(page, &send, &last_ticket),
            page if TECHNICIAN_PAGES.contains(&page) => {
                let defaults = (
                    self.settings.default_language,
                    self.settings.elderly_by_default,
                );
                technician_page(
                    page,
                    &self.app,
                    &now,
                    &send,
                    shot.language,
                    shot.elderly,
                    defaults,
                )
            }
            "home-a4-down" => {
                send(Event::DeviceChanged(
                    DeviceKind::Printer,
                    DeviceHealth::Offline,
                ));
                send(Event::A4PrinterChanged(A4Status {
                    health: DeviceHealth::HardwareError,
                    problem: Some(PrintProblem::PaperOut),
                }));
                send(Event::Start);
            }
            page if PROOF_PAGES.contains(&page) => {
                proof_page(page, &controller, &send, &last_ticket)
            }
            page if CERTIFICATION_PAGES.contains(&page) => {
                certification_page(page, &controller, &send, &last_ticket);
                // The simulated camera's picture where the live preview would be.
                let scene = renshe_camera::SimCamera::scene(renshe_camera::Scenario::Face, 12);
                if let Ok(frame) = renshe_camera::preview_of(&scene) {
                    let pixels = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::clone_from_slice(
                        frame.as_rgb(),
                        frame.width(),
                        frame.height(),
                    );
                    self.app
                        .global::<ui::CertificationAdapter>()
                        .set_camera_frame(slint::Image::from_rgb8(pixels));
                }
            }
            "attract-farewell" => {
                send(Event::CardIdentified(sample_holder()));
                send(Event::ServiceTapped(ServiceId::CardActivation));
                send(Event::CardRemoved);
            }
            "query-needs-card" => {
                send(Event::Start);
                send(Event::ServiceTapped(ServiceId::MedicalAccountQuery));
            }
            query if query.starts_with("query-") => {
                let service = match query {
                    "query-pension" => ServiceId::PensionPaymentQuery,
                    "query-medical" => ServiceId::MedicalAccountQuery,
                    "query-enrollment" => ServiceId::EnrollmentQuery,
                    "query-card-status" => ServiceId::CardStatus,
                    _ => ServiceId::ContributionQuery,
                };
                send(Event::CardIdentified(sample_holder()));
                send(Event::ServiceTapped(service));
                enter_pin(&controller, &send, "123456");
                if let Some(ticket) = last_ticket() {
                    send(Event::PinAnswered {
                        ticket,
                        result: Ok(()),
                    });
                }
                let asked = last_ticket();
                let answer = |result| {
                    if let Some(ticket) = asked {
                        send(Event::Answered { ticket, result });
                    }
                };
                let input = |input| send(Event::Flow(FlowInput::Query(input)));
                match query {
                    "query-loading" => {}
                    "query-failed" => answer(Err(BackendProblem::OutcomeUnknown)),
                    "query-rejected" => answer(Err(BackendProblem::Rejected {
                        reason: Rejection::NotFound,
                        message: None,
                    })),
                    _ => {
                        answer(Ok(sample_answer(service)));
                        match query {
                            "query-answered-page-2" => input(QueryInput::NextPage),
                            "query-older-year" => input(QueryInput::OlderYear),
                            "query-printed" | "query-print-failed" => {
                                input(QueryInput::Print);
                                if let Some(ticket) = last_ticket() {
                                    let result = if query == "query-printed" {
                                        Ok(())
                                    } else {
                                        Err(PrintProblem::PaperOut)
                                    };
                                    send(Event::Printed { ticket, result });
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            "finder"
            | "finder-keyboard"
            | "finder-results"
            | "service-point"
            | "service-point-printed" => {
                send(Event::Start);
                send(Event::ServiceTapped(ServiceId::ServicePointFinder));
                let input = |input| send(Event::Flow(FlowInput::Finder(input)));
                if page == "finder-keyboard" {
                    input(FinderInput::KeyboardToggled);
                    input(FinderInput::Key('j'));
                    input(FinderInput::Key('f'));
                }
                if page != "finder" && page != "finder-keyboard" {
                    for key in ['j', 'f', 'b'] {
                        input(FinderInput::Key(key));
                    }
                    input(FinderInput::FilterToggled(0));
                }
                if page.starts_with("service-point") {
                    if let Some(index) = self.first_result(&controller) {
                        input(FinderInput::PointTapped(index as u32));
                    }
                    if page == "service-point-printed" {
                        input(FinderInput::Print);
                        if let Some(ticket) = last_ticket() {
                            send(Event::Printed {
                                ticket,
                                result: Ok(()),
                            });
                        }
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
        *self.last_view.borrow_mut() = Some(controller.view());
        self.app
            .set_clock(ui::clock_text(shot.language, sample_time(), shot.elderly).into());
        self.app.set_landscape(shot.size.width > shot.size.height);
        self.app.window().set_size(shot.size);
        self.app.show().context("cannot show the window")?;
        self.snapshot(self.app.window())
    }
}

/// Draws what the headless window shows straight into opaque RGB and widens it to RGBA.
/// Slint's own `take_snapshot` draws into premultiplied RGBA and divides every pixel back
/// out, which took about a third of the `screenshot` command's whole run; the kiosk's
/// pages are opaque, so there is nothing to divide.
fn headless_snapshot(
    window: &MinimalSoftwareWindow,
    size: PhysicalSize,
) -> slint::SharedPixelBuffer<slint::Rgba8Pixel> {
    let (width, height) = (size.width as usize, size.height as usize);
    let mut rgb = vec![slint::Rgb8Pixel::default(); width * height];
    window.window().request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.render(&mut rgb, width);
    });
    let mut pixels = slint::SharedPixelBuffer::<slint::Rgba8Pixel>::new(size.width, size.height);
    for (out, pixel) in pixels.make_mut_slice().iter_mut().zip(&rgb) {
        *out = slint::Rgba8Pixel::new(pixel.r, pixel.g, pixel.b, u8::MAX);
    }
    pixels
}

/// The out-of-service page's name. It is one picture in both languages, so it is not among
/// [`page_names`] (whose pictures differ by language).
pub const OUT_OF_SERVICE: &str = "out-of-service";

impl Renderer {
    fn render_out_of_service(
        &self,
        shot: &Shot,
    ) -> anyhow::Result<slint::SharedPixelBuffer<slint::Rgba8Pixel>> {
        let window = ui::OutOfServiceWindow::new().context("cannot create the page")?;
        ui::install_translator(&window, self.translator.clone());
        window.set_languages(crate::shell::out_of_service::every_language());
        window.set_terminal_id(self.app.get_terminal_id());
        window.set_district("渝中区".into());
        window.set_counter_name("渝中区人力资源和社会保障局服务大厅".into());
        window.set_counter_address("重庆市渝中区解放碑民族路 168 号".into());
        window.global::<ui::Theme>().set_elderly(shot.elderly);
        window.window().set_size(shot.size);
        window.show().context("cannot show the page")?;
        let pixels = self.snapshot(window.window())?;
        window.hide().context("cannot hide the page")?;
        Ok(pixels)
    }
}

/// Types `digits` on the PIN pad the window shows (by the positions of the core's layout)
/// and confirms.
pub fn enter_pin(controller: &Controller, send: &dyn Fn(Event), digits: &str) {
    let pad = match controller.view().flow {
        Some(FlowView::Query(crate::core::QueryView {
            step: crate::core::QueryStepView::EnterPin(entry),
            ..
        }))
        | Some(FlowView::Card(CardServiceView {
            step: CardStep::EnterPin(entry),
            ..
        }))
        | Some(FlowView::Certification(crate::core::CertificationView {
            step: crate::core::CertificationStep::EnterPin(entry),
            ..
        }))
        | Some(FlowView::Proof(crate::core::ProofView {
            step: crate::core::ProofStepView::EnterPin(entry),
            ..
        })) => entry.pad,
        _ => return,
    };
    let labels = pad.layout.labels();
    for digit in digits.bytes() {
        if let Some(position) = labels.iter().position(|label| *label + b'0' == digit) {
            send(Event::Flow(FlowInput::Card(CardServiceInput::Pin(
                PinInput::Key(position),
            ))));
        }
    }
    send(Event::Flow(FlowInput::Card(CardServiceInput::Pin(
        PinInput::Confirm,
    ))));
}

/// Drives pension certification to the step `page` names, answering as the card, the camera
/// and the back end.
fn certification_page(
    page: &str,
    controller: &Controller,
    send: &dyn Fn(Event),
    last_ticket: &dyn Fn() -> Option<crate::core::Ticket>,
) {
    use crate::core::{
        CertificationReply, CertificationStatus, CycleState, Date, LivenessAction,
        LivenessChallenge, RejectReason, Verdict,
    };
    let card = |input| send(Event::Flow(FlowInput::Card(input)));
    let answer = |result| {
        if let Some(ticket) = last_ticket() {
            send(Event::CertificationAnswered { ticket, result });
        }
    };
    let captured = |result| {
        if let Some(ticket) = last_ticket() {
            send(Event::Captured { ticket, result });
        }
    };
    let date = |year, month, day| Date { year, month, day };
    let status = |state, attempts_left| {
        Ok(CertificationReply::Status(CertificationStatus {
            masked_name: "王*国".into(),
            cycle_year: 2026,
            state,
            last_certified: Some(date(2025, 3, 15)),
            challenge: LivenessChallenge {
                id: "CH000001".into(),
                actions: vec![LivenessAction::Blink, LivenessAction::OpenMouth],
            },
            attempts_left,
        }))
    };
    let due = CycleState::Due {
        by: date(2026, 12, 31),
    };
    send(Event::Start);
    if page.starts_with("relative") {
        send(Event::IdCardRead(IdCardSummary {
            masked_name: "张*芳".into(),
            masked_id: "500103********1220".into(),
        }));
        send(Event::ServiceTapped(ServiceId::ProxyCertification));
        if page == "relative-name" {
            for key in "500101195801300170".chars() {
                card(CardServiceInput::IdKey(key));
            }
            card(CardServiceInput::EntryConfirm);
            for key in "wangjian".chars() {
                card(CardServiceInput::NameKey(key));
            }
        } else {
            for key in "50010119580".chars() {
                card(CardServiceInput::IdKey(key));
            }
        }
        return;
    }
    send(Event::CardIdentified(sample_holder()));
    send(Event::ServiceTapped(ServiceId::PensionCertification));
    enter_pin(controller, send, "123456");
    if let Some(ticket) = last_ticket() {
        send(Event::PinAnswered {
            ticket,
            result: Ok(()),
        });
    }
    match page {
        "certification-already" => {
            return answer(status(
                CycleState::Certified {
                    until: date(2027, 6, 30),
                },
                3,
            ))
        }
        "certification-failed" => return answer(Err(BackendProblem::RouteUnavailable)),
        _ => answer(status(due, 3)),
    }
    if page == "certification-status" {
        return;
    }
    card(CardServiceInput::Confirm);
    if page == "certification-preview" {
        return;
    }
    card(CardServiceInput::Confirm);
    match page {
        "certification-action" => return,
        "certification-retake" => return captured(Err(crate::core::CaptureProblem::TooDark)),
        _ => {}
    }
    captured(Ok(()));
    captured(Ok(()));
    match page {
        "certification-certified" => answer(Ok(CertificationReply::Verdict(Verdict::Certified {
            until: date(2027, 6, 30),
            reference: "5B7C2D10".into(),
            verification_code: Some("R4T8-2KQM".into()),
            verify_url: Some("http://127.0.0.1:18333/verify/R4T8-2KQM".into()),
        }))),
        // The route went down before the upload: the attempt waits in the outbox.
        "certification-received" => answer(Ok(CertificationReply::Verdict(Verdict::Received {
            reference: "5B7C2D10".into(),
        }))),
        "certification-rejected" | "certification-no-attempts" => {
            let left = if page == "certification-rejected" {
                2
            } else {
                0
            };
            answer(Ok(CertificationReply::Verdict(Verdict::Rejected {
                reason: RejectReason::NotLive,
                attempts_left: left,
                next: (left > 0).then(|| LivenessChallenge {
                    id: "CH000002".into(),
                    actions: vec![LivenessAction::Nod, LivenessAction::Turn],
                }),
            })))
        }
        _ => {}
    }
}

/// Drives 亲情代办 to the step `page` names, answering as the back end.
fn proxy_page(
    page: &str,
    send: &dyn Fn(Event),
    last_ticket: &dyn Fn() -> Option<crate::core::Ticket>,
) {
    use crate::core::{ProxyEntry, ProxyReply};
    let answer = |result| {
        if let Some(ticket) = last_ticket() {
            send(Event::ProxiesAnswered { ticket, result });
        }
    };
    let names = [
        ("李*", "500106********1351"),
        ("张*芳", "500103********1220"),
        ("王*", "500101********2213"),
        ("欧**娜", "500112********0640"),
    ];
    let count = match page {
        "proxies-none" => 0,
        "proxies-full" => 4,
        _ => 2,
    };
    let proxies = |count: usize| -> Vec<ProxyEntry> {
        names[..count]
            .iter()
            .enumerate()
            .map(|(slot, (name, id))| ProxyEntry {
                masked_name: (*name).into(),
                masked_id: (*id).into(),
                slot: slot as u8,
            })
            .collect()
    };
    send(Event::Start);
    send(Event::IdCardRead(IdCardSummary {
        masked_name: "王*国".into(),
        masked_id: "500101********0170".into(),
    }));
    send(Event::ServiceTapped(ServiceId::ProxyBindings));
    answer(Ok(ProxyReply::List {
        masked_name: "王*国".into(),
        proxies: proxies(count),
    }));
    let card = |input| send(Event::Flow(FlowInput::Card(input)));
    match page {
        "proxies-confirm-remove" => card(CardServiceInput::RemoveProxy(1)),
        "proxies-added" => {
            card(CardServiceInput::AddProxy);
            for key in "500106198511211351".chars() {
                card(CardServiceInput::IdKey(key));
            }
            card(CardServiceInput::EntryConfirm);
            for key in "liming".chars() {
                card(CardServiceInput::NameKey(key));
            }
            card(CardServiceInput::EntryConfirm);
            card(CardServiceInput::Confirm);
            answer(Ok(ProxyReply::Changed {
                masked_name: "王*国".into(),
                proxies: proxies(3),
                reference: "7C3E91A0".into(),
            }));
        }
        _ => {}
    }
}

/// Drives a card service to the step `page` names, answering as the card and the back end.
fn card_service_page(
    page: &str,
    controller: &Controller,
    send: &dyn Fn(Event),
    last_ticket: &dyn Fn() -> Option<crate::core::Ticket>,
) {
    let card = |input| send(Event::Flow(FlowInput::Card(input)));
    let pin_answer = |result| {
        if let Some(ticket) = last_ticket() {
            send(Event::PinAnswered { ticket, result });
        }
    };
    let answer = |result| {
        if let Some(ticket) = last_ticket() {
            send(Event::CardServiceAnswered { ticket, result });
        }
    };
    let found = |state| {
        Ok(CardReply::Found(PersonFound {
            masked_name: "张*芳".into(),
            masked_card_number: "******345".into(),
            state,
        }))
    };
    let done = |state| {
        Ok(CardReply::Done(Confirmation {
            state,
            masked_card_number: "******345".into(),
            reference: "3F2A9C1E".into(),
            verification_code: Some("K7Q2-9XMA".into()),
            verify_url: Some("http://127.0.0.1:18333/verify/K7Q2-9XMA".into()),
        }))
    };
    let service = if page.starts_with("query-") {
        ServiceId::ContributionQuery
    } else if page.starts_with("pin-change") {
        ServiceId::PinChange
    } else if page.starts_with("activation") {
        ServiceId::CardActivation
    } else if page.starts_with("loss-report") {
        ServiceId::LossReport
    } else {
        ServiceId::LossRelease
    };
    send(Event::Start);
    if page == "query-pin-on-reader" {
        send(Event::SecurePinEntry(true));
    }
    if page != "loss-release-choose" && !page.starts_with("loss-report") {
        send(Event::CardIdentified(sample_holder()));
    }
    send(Event::ServiceTapped(service));
    match page {
        "query-pin-wrong" | "pin-change-wrong" => {
            if page == "pin-change-wrong" {
                enter_pin(controller, send, "123456");
                enter_pin(controller, send, "802211");
            }
            enter_pin(controller, send, "802211");
            pin_answer(Err(PinProblem::Wrong { retries_left: 2 }));
        }
        "query-pin-blocked" => {
            enter_pin(controller, send, "802211");
            pin_answer(Err(PinProblem::Blocked));
        }
        "pin-change-weak" => {
            enter_pin(controller, send, "123456");
            enter_pin(controller, send, "111111");
        }
        "pin-change-repeat" | "pin-change-changing" | "pin-change-done" => {
            enter_pin(controller, send, "123456");
            enter_pin(controller, send, "802211");
            if page != "pin-change-repeat" {
                enter_pin(controller, send, "802211");
            }
            if page == "pin-change-done" {
                pin_answer(Ok(()));
            }
        }
        "activation-already-active" => answer(found(CardState::Active)),
        page if page.starts_with("activation") => {
            answer(found(CardState::NotActivated));
            if page != "activation-issuing" {
                enter_pin(controller, send, "123456");
                pin_answer(Ok(()));
            }
            if page != "activation-issuing" && page != "activation-new" {
                enter_pin(controller, send, "802211");
                enter_pin(controller, send, "802211");
                pin_answer(Ok(()));
            }
            match page {
                "activation-done" => answer(done(CardState::Active)),
                "activation-being-confirmed" => answer(Err(BackendProblem::OutcomeUnknown)),
                _ => {}
            }
        }
        "loss-report-id-card" => card(CardServiceInput::UseIdCard),
        "loss-report-by-id-card" => {
            card(CardServiceInput::UseIdCard);
            send(Event::IdCardRead(IdCardSummary {
                masked_name: "张*芳".into(),
                masked_id: "500103********1220".into(),
            }));
            answer(found(CardState::Active));
        }
        page if page.starts_with("loss-report") && page != "loss-report-choose" => {
            card(CardServiceInput::TypeIdNumber);
            let typed = if page == "loss-report-id-bad" {
                "500103199003071221"
            } else if page == "loss-report-id" {
                "50010319900"
            } else {
                "500103199003071220"
            };
            for key in typed.chars() {
                card(CardServiceInput::IdKey(key));
            }
            if !matches!(page, "loss-report-id" | "loss-report-id-bad") {
                card(CardServiceInput::EntryConfirm);
                for key in "zhangxiaofang".chars() {
                    card(CardServiceInput::NameKey(key));
                }
            }
            if !matches!(
                page,
                "loss-report-id" | "loss-report-id-bad" | "loss-report-name"
            ) {
                card(CardServiceInput::EntryConfirm);
                if page == "loss-report-not-found" {
                    answer(Err(BackendProblem::Rejected {
                        reason: Rejection::NotFound,
                        message: None,
                    }));
                } else {
                    answer(found(CardState::Active));
                }
            }
            if page == "loss-report-done" {
                card(CardServiceInput::Confirm);
                answer(done(CardState::TemporarilyLost));
            }
        }
        "loss-release-pin" => {}
        "loss-release-confirm" | "loss-release-not-lost" => {
            enter_pin(controller, send, "123456");
            pin_answer(Ok(()));
            answer(found(if page == "loss-release-confirm" {
                CardState::TemporarilyLost
            } else {
                CardState::Active
            }));
        }
        _ => {}
    }
}

/// A card holder as the screen shows one (masked): the first demo resident.
pub fn sample_holder() -> HolderSummary {
    HolderSummary {
        masked_name: "张*芳".into(),
        masked_id: "500103********1220".into(),
        generation: CardGeneration::Third,
        gender: Gender::Female,
        region_code: "500103".into(),
        expiry_date: None,
    }
}

/// Today, as the pictures show it: fixed, so pictures of the same build are identical.
pub fn sample_today() -> Date {
    Date {
        year: 2026,
        month: 11,
        day: 28,
    }
}

/// Records as the demo back end answers them.
pub fn sample_answer(service: ServiceId) -> Answer {
    let month = |year, month| YearMonth { year, month };
    let records = match service {
        ServiceId::PensionPaymentQuery => Records::PensionPayments(
            (1..=12)
                .map(|m| PensionPayment {
                    month: month(2025, m),
                    amount_fen: 312_450,
                })
                .chain((1..=11).map(|m| PensionPayment {
                    month: month(2026, m),
                    amount_fen: 325_880,
                }))
                .collect(),
        ),
        ServiceId::MedicalAccountQuery => Records::MedicalAccount(MedicalAccount {
            balance_fen: 1_284_630,
            year_in_fen: 120_000,
            year_out_fen: 35_210,
            recent: vec![
                MedicalSpending {
                    date: "2026-11-20".into(),
                    place: "桐君阁大药房（解放碑店）".into(),
                    amount_fen: 4_850,
                },
                MedicalSpending {
                    date: "2026-10-08".into(),
                    place: "重庆医科大学附属第一医院".into(),
                    amount_fen: 26_300,
                },
                MedicalSpending {
                    date: "2026-09-15".into(),
                    place: "和平药房（较场口店）".into(),
                    amount_fen: 4_060,
                },
            ],
        }),
        ServiceId::EnrollmentQuery => Records::Enrollment(vec![
            Insurance {
                kind: InsuranceKind::Pension,
                status: InsuranceStatus::Paying,
                since: "2008-07".into(),
            },
            Insurance {
                kind: InsuranceKind::Medical,
                status: InsuranceStatus::Paying,
                since: "2008-07".into(),
            },
            Insurance {
                kind: InsuranceKind::Unemployment,
                status: InsuranceStatus::Suspended,
                since: "2010-01".into(),
            },
        ]),
        ServiceId::CardStatus => Records::CardStatus {
            masked_name: sample_holder().masked_name,
            masked_card_number: "CQ*****017".into(),
            state: CardState::Active,
        },
        _ => Records::Contributions(
            (2008..=2026)
                .flat_map(|year| (1..=12).map(move |m| (year, m)))
                // Two months unpaid this year (a change of job), to show both states.
                .filter(|(year, m)| *year < 2026 || (*m <= 10 && *m != 4 && *m != 5))
                .map(|(year, m)| ContributionMonth {
                    month: month(year, m),
                    base_fen: 520_000,
                    personal_fen: 41_600,
                    employer_fen: 83_200,
                })
                .collect(),
        ),
    };
    Answer {
        records,
        reference: "3F2A9C1E".into(),
    }
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
    // fdeflate's fastest mode with the Up filter: a 1080×1920 page in a few ms instead of
    // ~50 (the startup bench's whole-process figure), for files a little larger: these
    // pictures are for people and tests to look at, not to archive.
    encoder.set_compression(png::Compression::Fastest);
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
