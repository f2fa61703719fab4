//! Headless screen tests: every page rendered by Slint's software renderer at 1080×1920 in
//! both languages and both modes, elements found by id, and navigation driven by taps.
//! One test function: the testing backend can be installed once per process.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use renshe_kiosk::config::{Config, DEMO_CONFIG_PATH};
use renshe_kiosk::core::{Command, Event, Language, Millis, ServiceId};
use renshe_kiosk::shell::screenshot::{page_names, sample_answer, Renderer, Shot};
use renshe_kiosk::ui::{FinderAdapter, PageId, QueryAdapter};
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
    // two languages give different pictures (the texts really change). Every page has
    // something to say, too.
    let mut spoken = Vec::new();
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
                let view = renderer.last_view().expect("a view");
                let Some(prompt) = renshe_kiosk::core::voice::prompt(&view) else {
                    // A technician's pages are the only silent ones (residents hear the
                    // out-of-service screen).
                    assert!(
                        matches!(
                            &view.technician,
                            Some(t) if *t != renshe_kiosk::core::technician::TechnicianView::OutOfService
                        ),
                        "{} has nothing to say",
                        shot.file_name()
                    );
                    continue;
                };
                if !elderly {
                    spoken.push((
                        shot.file_name(),
                        renshe_kiosk::shell::voice::utterance(
                            renderer.translator(),
                            &config.voice,
                            &prompt,
                            &view,
                        ),
                    ));
                }
            }
            // The out-of-service screen says it in every language at once.
            if page != "technician-out-of-service" {
                assert_ne!(
                    pictures[0], pictures[1],
                    "{page}: zh-CN and en-US render the same"
                );
            }
        }
    }
    every_prompt_sounds(spoken);

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
    let controller = renderer.controller(now.clone());
    let tickets = Rc::new(RefCell::new(Vec::new()));
    let recorder = tickets.clone();
    let pin_checks = Rc::new(RefCell::new(Vec::new()));
    let pin_recorder = pin_checks.clone();
    controller.add_effects(Box::new(move |command, _| match command {
        Command::Fetch { ticket, .. } => recorder.borrow_mut().push(*ticket),
        Command::VerifyPin { ticket, .. } => pin_recorder.borrow_mut().push(*ticket),
        _ => {}
    }));
    // The resident types the PIN on the pad shown, by its keys' labels, and the card says yes.
    let prove_pin = || {
        element(app, "PinPad::confirm-key").expect("the PIN pad");
        for digit in ["1", "2", "3", "4", "5", "6"] {
            click_label(app, digit);
        }
        click_label(app, "确认");
        let ticket = *pin_checks
            .borrow()
            .last()
            .expect("the PIN went to the card");
        controller.dispatch(Event::PinAnswered {
            ticket,
            result: Ok(()),
        });
    };
    let page = || app.get_page();

    assert_eq!(page(), PageId::Attract);
    assert!(element(app, "AttractPage::start-button").is_some());
    assert!(
        element(app, "NavBar::back-button").is_none(),
        "attract has no back button"
    );
    click(app, "AttractPage::start-button");
    assert_eq!(page(), PageId::Home);
    assert!(element(app, "HomePage::help-button").is_some());

    // 打印证明 without a card asks for the card first.
    click_label(app, "打印证明");
    assert_eq!(page(), PageId::Proof);
    assert!(element(app, "ProofPage::needs-card").is_some());
    click(app, "NavBar::back-button");
    assert_eq!(page(), PageId::Home);

    // A query without a card asks for the card first.
    click_label(app, "缴费记录");
    assert_eq!(page(), PageId::Query);
    assert!(element(app, "QueryPage::needs-card").is_some());
    assert!(element(app, "PrintStatus::print-button").is_none());
    click(app, "NavBar::back-button");
    assert_eq!(page(), PageId::Home);
    click(app, "HomePage::help-button");
    assert_eq!(page(), PageId::Help);
    click(app, "NavBar::home-button");
    assert_eq!(page(), PageId::Home);

    // The finder: tile → type on the on-screen keyboard → results change → a point → back.
    // The finder's tile is below the fold: press it as a screen reader would.
    ElementHandle::find_by_accessible_label(app, "附近服务网点")
        .next()
        .expect("finder tile")
        .invoke_accessible_default_action();
    assert_eq!(page(), PageId::Finder);
    let finder = app.global::<FinderAdapter>();
    let results = || -> Vec<String> {
        finder
            .get_results()
            .iter()
            .map(|row| row.name.to_string())
            .collect()
    };
    let nearest = results();
    assert!(!nearest.is_empty(), "results without typing");
    click(app, "FinderPage::search-field");
    for key in ["j", "f", "b"] {
        click_label(app, key);
    }
    assert_eq!(finder.get_query(), "jfb");
    let typed_results = results();
    assert_ne!(typed_results, nearest, "typing changed the results");
    let typed = typed_results.first().cloned().expect("results for jfb");
    assert!(typed.contains("解放碑"), "jfb finds 解放碑: {typed}");
    click(app, "Keyboard::done-key");
    click_label(app, &typed);
    assert_eq!(page(), PageId::ServicePoint);
    assert_eq!(finder.get_point().name.to_string(), typed);
    assert!(element(app, "ServicePointPage::qr-code").is_some());
    assert!(finder.get_qr().size().width > 100, "a QR code is drawn");
    click(app, "NavBar::back-button");
    assert_eq!(page(), PageId::Finder);
    assert_eq!(
        finder.get_query(),
        "jfb",
        "back from a point keeps the search"
    );
    click(app, "NavBar::home-button");
    assert_eq!(
        finder.get_query(),
        "",
        "leaving the finder forgets what was typed"
    );

    // The language switch re-translates what is on screen at once.
    click(app, "Header::language-button");
    assert_eq!(controller.view().language, Language::EnUs);
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
    assert!(controller.view().elderly);
    assert!(element(app, "HomePage::all-services-button").is_some());
    click(app, "HomePage::all-services-button");
    assert!(element(app, "HomePage::all-services-button").is_none());

    // Idle: a warning with a countdown and "continue", then attract with everything reset.
    now.set(Millis::from_secs(70));
    controller.dispatch(Event::Tick);
    assert!(element(app, "IdleOverlay::continue-button").is_some());
    assert_eq!(app.get_idle_seconds(), 20);
    click(app, "IdleOverlay::continue-button");
    assert!(element(app, "IdleOverlay::continue-button").is_none());
    assert_eq!(page(), PageId::Home);
    now.set(Millis::from_secs(71 + 60 + 30));
    controller.dispatch(Event::Tick);
    assert_eq!(page(), PageId::Attract);
    let view = controller.view();
    assert_eq!(view.language, Language::ZhCn);
    assert!(!view.elderly);
    assert!(element(app, "AttractPage::start-button").is_some());
    assert!(element(app, "IdleOverlay::continue-button").is_none());

    // The leak, as a new user met it: resident A opens 缴费记录, the back end is slow, A takes
    // the card out; the next person taps 缴费记录 without a card, and A's answer arrives.
    let holder = renshe_kiosk::card::sim::demo_residents()[0].summary();
    controller.dispatch(Event::CardIdentified(holder.clone()));
    click_label(app, "缴费记录");
    prove_pin();
    let asked_for_a = *tickets.borrow().last().expect("a query was sent for A");
    assert!(element(app, "QueryPage::loading").is_some());
    controller.dispatch(Event::CardRemoved);
    assert_eq!(page(), PageId::Attract);
    click(app, "AttractPage::start-button");
    click_label(app, "缴费记录");
    let late = sample_answer(ServiceId::ContributionQuery);
    controller.dispatch(Event::Answered {
        ticket: asked_for_a,
        result: Ok(late.clone()),
    });
    assert!(element(app, "QueryPage::needs-card").is_some());
    let query = app.global::<QueryAdapter>();
    assert_eq!(
        query.get_rows().row_count(),
        0,
        "none of A's rows are drawn"
    );
    assert!(
        element(app, "PrintStatus::print-button").is_none(),
        "nothing to print"
    );
    assert!(
        ElementHandle::find_by_accessible_label(app, "416.00")
            .next()
            .is_none(),
        "none of A's amounts are on screen"
    );
    // Even when the next person identifies and waits for their own answer.
    controller.dispatch(Event::CardIdentified(holder));
    prove_pin();
    controller.dispatch(Event::Answered {
        ticket: asked_for_a,
        result: Ok(late.clone()),
    });
    assert!(element(app, "QueryPage::loading").is_some());
    assert_eq!(query.get_rows().row_count(), 0);
    let asked_for_b = *tickets.borrow().last().expect("a query was sent for B");
    assert_ne!(asked_for_a, asked_for_b);
    controller.dispatch(Event::Answered {
        ticket: asked_for_b,
        result: Ok(late),
    });
    assert!(
        query.get_rows().row_count() > 0,
        "their own answer is drawn"
    );
    assert!(element(app, "PrintStatus::print-button").is_some());
}

/// One segment played: its name, its samples, and whether it ended.
type Played = (String, Vec<i16>, bool);

/// Keeps what the voice device plays, segment by segment, as fast as it comes.
#[derive(Clone, Default)]
struct Recorder {
    segments: std::sync::Arc<std::sync::Mutex<Vec<Played>>>,
}

impl renshe_voice::Sink for Recorder {
    fn begin(
        &mut self,
        name: &str,
        _: &str,
        format: renshe_voice::Format,
    ) -> Result<(), renshe_voice::SinkError> {
        assert_eq!(format.sample_rate, 22_050, "espeak-ng's rate");
        self.segments
            .lock()
            .expect("the recorder")
            .push((name.into(), Vec::new(), false));
        Ok(())
    }
    fn write(&mut self, samples: &[i16]) -> Result<(), renshe_voice::SinkError> {
        if let Some(last) = self.segments.lock().expect("the recorder").last_mut() {
            last.1.extend_from_slice(samples);
        }
        Ok(())
    }
    fn end(&mut self) -> Result<(), renshe_voice::SinkError> {
        if let Some(last) = self.segments.lock().expect("the recorder").last_mut() {
            last.2 = true;
        }
        Ok(())
    }
    fn abort(&mut self) {}
    fn describe(&self) -> String {
        "recorder".into()
    }
}

/// Each page's prompt, spoken by espeak-ng: every segment is sound of a plausible length,
/// and the two languages sound different.
fn every_prompt_sounds(spoken: Vec<(String, renshe_voice::Utterance)>) {
    let recorder = Recorder::default();
    let device = renshe_voice::VoiceDevice::start(
        Box::new(recorder.clone()),
        renshe_voice::Clips::none(),
        renshe_voice::Synthesizer::default(),
        Box::new(|_| {}),
    );
    assert_eq!(
        device.status().state,
        renshe_voice::DeviceState::Online,
        "espeak-ng is installed (./dev setup)"
    );
    for (shot, utterance) in spoken {
        let before = recorder.segments.lock().expect("the recorder").len();
        let count = utterance.segments.len();
        device.speak(utterance);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            {
                let segments = recorder.segments.lock().expect("the recorder");
                if segments.len() == before + count && segments.last().is_some_and(|s| s.2) {
                    for (name, samples, _) in &segments[before..] {
                        let seconds = samples.len() as f64 / 22_050.0;
                        let energy = (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>()
                            / samples.len().max(1) as f64)
                            .sqrt();
                        assert!(
                            (0.2..20.0).contains(&seconds) && energy > 300.0,
                            "{shot} {name}: {seconds:.2} s, rms {energy:.0}"
                        );
                    }
                    break;
                }
            }
            assert!(std::time::Instant::now() < deadline, "{shot}: not spoken");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
