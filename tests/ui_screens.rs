//! Headless screen tests: every page rendered by Slint's software renderer at 1080×1920 in
//! both languages and both modes, elements found by id, and navigation driven by taps.
//! One test function: the testing backend can be installed once per process.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use renshe_kiosk::config::{Config, DEMO_CONFIG_PATH};
use renshe_kiosk::core::{Event, Language, Millis, Page, ServiceId};
use renshe_kiosk::locator::catalogue::{generate, DEFAULT_SEED};
use renshe_kiosk::locator::Locator;
use renshe_kiosk::shell::controller::Controller;
use renshe_kiosk::shell::screenshot::{page_names, Renderer, Shot};
use renshe_kiosk::shell::session_settings;
use renshe_kiosk::ui::finder::Finder;
use slint::platform::PointerEventButton;
use slint::{ComponentHandle, Model, PhysicalSize};

fn element(app: &renshe_kiosk::ui::AppWindow, id: &str) -> Option<ElementHandle> {
    // Draw first, the way the event loop would before a person sees the page: conditional
    // elements are created when the tree is laid out.
    app.window().take_snapshot().expect("render");
    ElementHandle::find_by_element_id(app, id).next()
}

fn click(app: &renshe_kiosk::ui::AppWindow, id: &str) {
    element(app, id)
        .unwrap_or_else(|| panic!("no element {id} on this page"))
        .mock_single_click(PointerEventButton::Left);
}

fn click_label(app: &renshe_kiosk::ui::AppWindow, label: &str) {
    ElementHandle::find_by_accessible_label(app, label)
        .next()
        .unwrap_or_else(|| panic!("nothing labelled {label:?} on this page"))
        .mock_single_click(PointerEventButton::Left);
}

#[test]
fn every_page_renders_and_navigation_works() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .expect("the testing backend is installed once");
    let config = Config::load(Path::new(DEMO_CONFIG_PATH)).expect("demo config");
    let renderer = Renderer::new(&config).expect("renderer");
    let portrait = PhysicalSize::new(1080, 1920);

    // Every page × language × mode renders to a full-size picture that is not blank, and the
    // two languages give different pictures (the texts really change).
    for page in page_names() {
        for elderly in [false, true] {
            let mut pictures = Vec::new();
            for language in Language::ALL {
                let shot = Shot {
                    page: page.clone(),
                    language,
                    elderly,
                    size: portrait,
                };
                let pixels = renderer.render(&shot).expect("render");
                assert_eq!(
                    (pixels.width(), pixels.height()),
                    (1080, 1920),
                    "{}",
                    shot.file_name()
                );
                let bytes = pixels.as_bytes();
                let distinct: std::collections::HashSet<&[u8]> =
                    bytes.chunks(4).step_by(97).collect();
                assert!(distinct.len() > 8, "{} looks blank", shot.file_name());
                pictures.push(bytes.to_vec());
            }
            assert_ne!(
                pictures[0], pictures[1],
                "{page}: zh-CN and en-US render the same"
            );
        }
    }
    // Landscape is laid out too.
    let landscape = renderer
        .render(&Shot {
            page: "home".into(),
            language: Language::ZhCn,
            elderly: false,
            size: PhysicalSize::new(1920, 1080),
        })
        .expect("landscape");
    assert_eq!((landscape.width(), landscape.height()), (1920, 1080));

    // Navigation by taps: tile → page → back → idle → attract, on a hand-set clock.
    let app = renderer.app();
    app.window().set_size(portrait);
    app.show().expect("show");
    let now = Rc::new(Cell::new(Millis(0)));
    let clock = now.clone();
    let controller =
        Controller::attach(app, session_settings(&config), Rc::new(move || clock.get()));
    let page = || controller.borrow().view().page;

    assert_eq!(page(), Page::Attract);
    assert!(element(app, "AttractPage::start-button").is_some());
    assert!(
        element(app, "NavBar::back-button").is_none(),
        "attract has no back button"
    );
    click(app, "AttractPage::start-button");
    assert_eq!(page(), Page::Home);
    assert!(element(app, "HomePage::help-button").is_some());

    click_label(app, "打印证明");
    assert_eq!(page(), Page::Unavailable(ServiceId::ProofPrint));
    assert!(element(app, "UnavailablePage::find-counter-button").is_some());
    click(app, "NavBar::back-button");
    assert_eq!(page(), Page::Home);

    // A query without a card asks for the card first.
    click_label(app, "缴费记录");
    assert_eq!(page(), Page::Query(ServiceId::ContributionQuery));
    assert!(element(app, "QueryPage::needs-card").is_some());
    assert!(element(app, "QueryPage::print-button").is_none());
    click(app, "NavBar::back-button");
    assert_eq!(page(), Page::Home);
    click(app, "HomePage::help-button");
    assert_eq!(page(), Page::Help);
    click(app, "NavBar::home-button");
    assert_eq!(page(), Page::Home);

    // The finder: tile → type on the on-screen keyboard → results change → a point → back.
    let finder = Rc::new(RefCell::new(Finder::new(
        renshe_kiosk::shell::finder::terminal(&config),
    )));
    finder
        .borrow_mut()
        .set_locator(Locator::new(generate(DEFAULT_SEED, 1)));
    renshe_kiosk::shell::finder::wire(app, &controller, &finder);
    // The finder's tile is below the fold: press it as a screen reader would.
    ElementHandle::find_by_accessible_label(app, "附近服务网点")
        .next()
        .expect("finder tile")
        .invoke_accessible_default_action();
    assert_eq!(page(), Page::Finder);
    let first_result = || {
        app.get_finder_results()
            .row_data(0)
            .map(|row| row.name.to_string())
    };
    let nearest = first_result().expect("results without typing");
    click(app, "FinderPage::search-field");
    for key in ["j", "f", "b"] {
        click_label(app, key);
    }
    assert_eq!(app.get_finder_query(), "jfb");
    let typed = first_result().expect("results for jfb");
    assert_ne!(typed, nearest, "typing changed the results");
    assert!(typed.contains("解放碑"), "jfb finds 解放碑: {typed}");
    click(app, "Keyboard::done-key");
    click_label(app, &typed);
    assert!(matches!(page(), Page::ServicePoint(_)));
    assert_eq!(app.get_point_detail().name.to_string(), typed);
    assert!(element(app, "ServicePointPage::qr-code").is_some());
    assert!(app.get_point_qr().size().width > 100, "a QR code is drawn");
    click(app, "NavBar::back-button");
    assert_eq!(page(), Page::Finder);
    click(app, "NavBar::home-button");

    // The language switch re-translates what is on screen at once.
    click(app, "Header::language-button");
    assert_eq!(controller.borrow().view().language, Language::EnUs);
    assert!(
        ElementHandle::find_by_accessible_label(app, "Contributions")
            .next()
            .is_some()
    );
    assert!(ElementHandle::find_by_accessible_label(app, "缴费记录")
        .next()
        .is_none());

    // Elderly mode: the most-used services first, with "all services" one tap away.
    click(app, "Header::elderly-button");
    assert!(controller.borrow().view().elderly);
    assert!(element(app, "HomePage::all-services-button").is_some());
    click(app, "HomePage::all-services-button");
    assert!(element(app, "HomePage::all-services-button").is_none());

    // Idle: a warning with a countdown and "continue", then attract with everything reset.
    now.set(Millis::from_secs(70));
    controller.borrow_mut().dispatch(Event::Tick);
    assert!(element(app, "IdleOverlay::continue-button").is_some());
    assert_eq!(app.get_idle_seconds(), 20);
    click(app, "IdleOverlay::continue-button");
    assert!(element(app, "IdleOverlay::continue-button").is_none());
    assert_eq!(page(), Page::Home);
    now.set(Millis::from_secs(71 + 60 + 30));
    controller.borrow_mut().dispatch(Event::Tick);
    assert_eq!(page(), Page::Attract);
    let view = controller.borrow().view().clone();
    assert_eq!(view.language, Language::ZhCn);
    assert!(!view.elderly);
    assert!(element(app, "AttractPage::start-button").is_some());
    assert!(element(app, "IdleOverlay::continue-button").is_none());
    // The typed finder query went with the session.
    assert_eq!(app.get_finder_query(), "");
}
