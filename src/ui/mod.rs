//! Rust-side adapters between the core's plain data and the Slint window: the generated
//! components, the translation callbacks, and the mapping of a [`View`] onto properties.

pub mod certification;
pub mod finder;
pub mod icons;
pub mod proxies;
pub mod technician;

use std::rc::Rc;

use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use crate::core::entry::IdEntryState;
use crate::core::flows::card::Work;
use crate::core::identity::WeakPin;
use crate::core::records::CardState;
use crate::core::records::Cell;
use crate::core::services::home_layout;
use crate::core::{
    BackendProblem, Blocker, CardProblem, CardServiceInput, CardServiceView, CardStep,
    DeviceHealth, Event, FinderInput, FlowInput, FlowView, Language, NextStep, Page, Paper,
    PinEntryView, PinInput, PinNotice, PinPrompt, PrintProblem, PrintState, ProofInput, ProofKind,
    ProofStepView, ProofView, QueryInput, QueryStepView, QueryView, Rejection, ServiceId, View,
    YearSpan,
};
use crate::i18n::Translator;

/// The code Slint generates from `ui/*.slint`; its style is Slint's, not ours.
#[allow(clippy::all, clippy::unwrap_used)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;

/// Answers the window's `I18n.tr` callbacks from the Fluent bundles. Globals belong to one
/// component instance, so every top-level window needs this once.
pub fn install_translator<W>(window: &W, translator: Rc<Translator>)
where
    W: ComponentHandle,
    for<'a> I18n<'a>: slint::Global<'a, W>,
{
    let i18n = window.global::<I18n>();
    let plain = translator.clone();
    i18n.on_tr(move |key, lang| {
        let language = Language::from_tag(&lang).unwrap_or_default();
        SharedString::from(plain.tr(language, &key))
    });
    i18n.on_tr_arg(move |key, lang, name, value| {
        let language = Language::from_tag(&lang).unwrap_or_default();
        SharedString::from(translator.tr_with(language, &key, &name, &value))
    });
}

/// Connects the window's and the page adapters' callbacks to `send` as core events.
pub fn wire_callbacks(app: &AppWindow, send: Rc<dyn Fn(Event)>) {
    let on = send.clone();
    app.on_start(move || on(Event::Start));
    let on = send.clone();
    app.on_service_tapped(move |id| {
        if let Some(service) = ServiceId::from_key(&id) {
            on(Event::ServiceTapped(service));
        }
    });
    let on = send.clone();
    app.on_all_services_tapped(move || on(Event::AllServicesTapped));
    let on = send.clone();
    app.on_help_tapped(move || on(Event::HelpTapped));
    let on = send.clone();
    app.on_back_tapped(move || on(Event::BackTapped));
    let on = send.clone();
    app.on_home_tapped(move || on(Event::HomeTapped));
    let on = send.clone();
    app.on_continue_tapped(move || on(Event::ContinueTapped));
    let on = send.clone();
    app.on_elderly_tapped(move || on(Event::ElderlyModeToggled));
    let on = send.clone();
    app.on_speak_tapped(move || on(Event::SpeakTapped));
    technician::wire(app, send.clone());

    let proof = app.global::<ProofAdapter>();
    let tap = |send: &Rc<dyn Fn(Event)>, input: ProofInput| {
        let send = send.clone();
        move || send(Event::Flow(FlowInput::Proof(input)))
    };
    proof.on_choose_enrollment(tap(&send, ProofInput::Choose(ProofKind::Enrollment)));
    proof.on_choose_contributions(tap(&send, ProofInput::Choose(ProofKind::Contributions)));
    proof.on_years_this(tap(&send, ProofInput::Years(YearSpan::ThisYear)));
    proof.on_years_last(tap(&send, ProofInput::Years(YearSpan::LastYear)));
    proof.on_years_three(tap(&send, ProofInput::Years(YearSpan::LastThree)));
    proof.on_print_tapped(tap(&send, ProofInput::Print));
    proof.on_print_receipt_copy(tap(&send, ProofInput::PrintReceiptCopy));
    proof.on_try_again(tap(&send, ProofInput::TryAgain));
    let on = send.clone();
    proof.on_find_counter(move || on(Event::ServiceTapped(ServiceId::ServicePointFinder)));

    let query = app.global::<QueryAdapter>();
    let input = |send: &Rc<dyn Fn(Event)>, input: QueryInput| {
        let send = send.clone();
        move || send(Event::Flow(FlowInput::Query(input)))
    };
    query.on_print_tapped(input(&send, QueryInput::Print));
    query.on_next_page(input(&send, QueryInput::NextPage));
    query.on_previous_page(input(&send, QueryInput::PreviousPage));
    query.on_older_year(input(&send, QueryInput::OlderYear));
    query.on_newer_year(input(&send, QueryInput::NewerYear));
    query.on_try_again(input(&send, QueryInput::TryAgain));
    let on = send.clone();
    query.on_find_counter(move || on(Event::ServiceTapped(ServiceId::ServicePointFinder)));

    wire_card_services(app, &send);

    let finder = app.global::<FinderAdapter>();
    let finder_input = move |input: FinderInput| send(Event::Flow(FlowInput::Finder(input)));
    let on = finder_input.clone();
    finder.on_key(move |key| {
        // The keyboard's keys are single letters and digits; anything else is not a key.
        let mut chars = key.chars();
        if let (Some(key), None) = (chars.next(), chars.next()) {
            on(FinderInput::Key(key));
        }
    });
    let on = finder_input.clone();
    finder.on_backspace(move || on(FinderInput::Backspace));
    let on = finder_input.clone();
    finder.on_clear(move || on(FinderInput::Clear));
    let on = finder_input.clone();
    finder.on_keyboard_toggled(move || on(FinderInput::KeyboardToggled));
    let on = finder_input.clone();
    finder.on_chip_toggled(move |index| {
        if let Ok(index) = usize::try_from(index) {
            on(FinderInput::FilterToggled(index));
        }
    });
    let on = finder_input.clone();
    finder.on_point_tapped(move |index| {
        if let Ok(index) = u32::try_from(index) {
            on(FinderInput::PointTapped(index));
        }
    });
    finder.on_print_tapped(move || finder_input(FinderInput::Print));
}

/// The PIN pad's and the card-service page's callbacks. The pad sends key *positions*; the
/// digit under a position is known only to the core.
fn wire_card_services(app: &AppWindow, send: &Rc<dyn Fn(Event)>) {
    let card = |send: &Rc<dyn Fn(Event)>, input: CardServiceInput| {
        let send = send.clone();
        move || send(Event::Flow(FlowInput::Card(input)))
    };
    let pad = app.global::<PinPadAdapter>();
    let on = send.clone();
    pad.on_key(move |position| {
        if let Ok(position) = usize::try_from(position) {
            on(Event::Flow(FlowInput::Card(CardServiceInput::Pin(
                PinInput::Key(position),
            ))));
        }
    });
    pad.on_delete(card(send, CardServiceInput::Pin(PinInput::Delete)));
    pad.on_confirm(card(send, CardServiceInput::Pin(PinInput::Confirm)));
    let adapter = app.global::<CardServiceAdapter>();
    adapter.on_use_id_card(card(send, CardServiceInput::UseIdCard));
    adapter.on_type_id_number(card(send, CardServiceInput::TypeIdNumber));
    adapter.on_id_delete(card(send, CardServiceInput::IdDelete));
    adapter.on_name_delete(card(send, CardServiceInput::NameDelete));
    adapter.on_entry_confirm(card(send, CardServiceInput::EntryConfirm));
    adapter.on_confirm(card(send, CardServiceInput::Confirm));
    adapter.on_try_again(card(send, CardServiceInput::TryAgain));
    adapter.on_print_tapped(card(send, CardServiceInput::Print));
    let on = send.clone();
    adapter.on_id_key(move |key| {
        if let Some(key) = single_char(&key) {
            on(Event::Flow(FlowInput::Card(CardServiceInput::IdKey(key))));
        }
    });
    let on = send.clone();
    adapter.on_name_key(move |key| {
        if let Some(key) = single_char(&key) {
            on(Event::Flow(FlowInput::Card(CardServiceInput::NameKey(key))));
        }
    });
    let on = send.clone();
    adapter.on_find_counter(move || on(Event::ServiceTapped(ServiceId::ServicePointFinder)));
    let certification = app.global::<CertificationAdapter>();
    certification.on_confirm(card(send, CardServiceInput::Confirm));
    certification.on_try_again(card(send, CardServiceInput::TryAgain));
    certification.on_print_tapped(card(send, CardServiceInput::Print));
    let on = send.clone();
    certification.on_find_counter(move || on(Event::ServiceTapped(ServiceId::ServicePointFinder)));
    let proxies = app.global::<ProxiesAdapter>();
    proxies.on_add(card(send, CardServiceInput::AddProxy));
    proxies.on_confirm(card(send, CardServiceInput::Confirm));
    proxies.on_print_tapped(card(send, CardServiceInput::Print));
    let on = send.clone();
    proxies.on_remove(move |slot| {
        if let Ok(slot) = u8::try_from(slot) {
            on(Event::Flow(FlowInput::Card(CardServiceInput::RemoveProxy(
                slot,
            ))));
        }
    });
}

fn single_char(text: &str) -> Option<char> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Draws `view`: sets only the properties that depend on it, so an unchanged view costs
/// little to re-apply. The finder's results are drawn by [`finder::Finder`], which holds
/// the catalogue.
pub fn apply_view(app: &AppWindow, view: &View) {
    let i18n = app.global::<I18n>();
    if i18n.get_lang() != view.language.tag() {
        i18n.set_lang(view.language.tag().into());
    }
    let theme = app.global::<Theme>();
    theme.set_elderly(view.elderly);
    let expanded = view.all_services || !view.elderly;
    let groups = home_groups(expanded, view);
    if !same_groups(&app.get_home_groups(), &groups) {
        app.set_home_groups(ModelRc::new(VecModel::from(groups)));
    }
    app.set_show_all_services_button(!expanded);
    let (page, service) = match (&view.page, &view.flow) {
        (Page::Attract, _) => (PageId::Attract, ""),
        (Page::Home, _) => (PageId::Home, ""),
        (Page::Help, _) => (PageId::Help, ""),
        (Page::Flow, Some(FlowView::Query(query))) => (PageId::Query, query.service.key()),
        (Page::Flow, Some(FlowView::Card(card))) => (PageId::CardService, card.service.key()),
        (Page::Flow, Some(FlowView::Certification(cert))) => {
            match certification::identifying(cert) {
                Some(_) => (PageId::CardService, cert.service.key()),
                None => (PageId::Certification, cert.service.key()),
            }
        }
        (Page::Flow, Some(FlowView::Proxies(proxy))) => {
            match proxies::on_card_service_page(proxy) {
                Some(_) => (PageId::CardService, ServiceId::ProxyBindings.key()),
                None => (PageId::Proxies, ServiceId::ProxyBindings.key()),
            }
        }
        (Page::Flow, Some(FlowView::Finder(finder))) if finder.point.is_some() => {
            (PageId::ServicePoint, "")
        }
        (Page::Flow, Some(FlowView::Finder(_))) => (PageId::Finder, ""),
        (Page::Flow, Some(FlowView::Proof(_))) => (PageId::Proof, ServiceId::ProofPrint.key()),
        (Page::Flow, Some(FlowView::Unavailable(service))) => (PageId::Unavailable, service.key()),
        (Page::Flow, None) => (PageId::Home, ""),
    };
    app.set_page(page);
    app.set_service_id(service.into());
    technician::apply(app, view.technician.as_ref());
    app.set_idle_seconds(view.idle_warning_seconds.map_or(-1, |s| s as i32));
    app.set_card_reader_state(health_name(view.card_reader).into());
    app.set_printer_state(health_name(view.printer).into());
    app.set_network_state(health_name(view.network).into());
    app.set_camera_state(health_name(view.camera).into());
    app.set_voice_state(health_name(view.voice_device).into());
    let (name, id) = view
        .holder
        .as_ref()
        .map_or(("", ""), |h| (h.masked_name.as_str(), h.masked_id.as_str()));
    app.set_holder_name(name.into());
    app.set_holder_id(id.into());
    app.set_card_notice(view.card_notice.map_or("", card_problem_key).into());
    app.set_take_card_reminder(view.take_card_reminder);
    app.set_offline_services(offline_services_text(app, view).into());
    app.set_farewell(view.farewell.map_or("", farewell_key).into());
    match &view.flow {
        Some(FlowView::Query(query)) => apply_query(app, query),
        // Nothing of an ended query stays in the page's model.
        _ => clear_query(app),
    }
    let identifying = match &view.flow {
        Some(FlowView::Certification(cert)) => certification::identifying(cert),
        Some(FlowView::Proxies(proxy)) => proxies::on_card_service_page(proxy),
        _ => None,
    };
    match (&view.flow, &identifying) {
        (Some(FlowView::Card(card)), _) => apply_card_service(app, card, view.elderly),
        (_, Some(card)) => apply_card_service(app, card, view.elderly),
        _ => clear_card_service(app),
    }
    match &view.flow {
        Some(FlowView::Certification(cert)) => certification::apply(app, cert, view.language),
        _ => certification::clear(app),
    }
    match &view.flow {
        Some(FlowView::Proxies(proxy)) => proxies::apply(app, proxy),
        _ => proxies::clear(app),
    }
    match &view.flow {
        Some(FlowView::Proof(proof)) => apply_proof(app, proof, view.today),
        // Nothing of an ended proof stays in the page's adapter.
        _ => clear_proof(app),
    }
}

/// The proof page's adapter from the core's view.
fn apply_proof(app: &AppWindow, view: &ProofView, today: crate::core::Date) {
    let adapter = app.global::<ProofAdapter>();
    let lang = app.global::<I18n>().get_lang();
    let (mut problem, mut detail, mut offers): (&str, String, &[NextStep]) =
        ("", String::new(), &[]);
    let print_step = match view.print {
        Some(PrintState::Printing) => Some(ProofStep::Printing),
        Some(PrintState::Printed) => Some(ProofStep::Printed),
        Some(PrintState::Failed(_)) => Some(ProofStep::PrintFailed),
        None => None,
    };
    let step = match &view.step {
        ProofStepView::NeedsCard => ProofStep::NeedsCard,
        ProofStepView::EnterPin(entry) => {
            apply_pad(app, entry);
            ProofStep::EnterPin
        }
        ProofStepView::PinOnReader(notice) => {
            apply_pad_on_reader(app, *notice);
            ProofStep::EnterPin
        }
        ProofStepView::CheckingPin => ProofStep::CheckingPin,
        ProofStepView::PinBlocked => {
            offers = &[NextStep::FindCounter];
            ProofStep::PinBlocked
        }
        ProofStepView::CheckingPrinter => ProofStep::CheckingPrinter,
        ProofStepView::ChooseKind => ProofStep::ChooseKind,
        ProofStepView::ChooseYears => ProofStep::ChooseYears,
        ProofStepView::Loading => ProofStep::Loading,
        ProofStepView::Preview => print_step.unwrap_or(ProofStep::Preview),
        ProofStepView::Failed {
            problem: failure,
            offers: next,
        } => {
            problem = backend_problem_key(failure);
            detail = backend_detail(failure, &lang);
            offers = next;
            ProofStep::Failed
        }
    };
    adapter.set_step(step);
    adapter.set_receipt_copy_only(view.receipt_copy_only);
    adapter.set_contributions_offered(view.contributions_offered);
    adapter.set_this_year(today.year);
    let summary = view.proof.as_ref();
    adapter.set_kind_key(
        match summary.map(|p| p.kind).or(view.kind) {
            Some(ProofKind::Contributions) => "proof-kind-contributions",
            _ if view.receipt_copy_only => "proof-kind-receipt-copy",
            _ => "proof-kind-enrollment",
        }
        .into(),
    );
    adapter.set_masked_name(summary.map_or("", |p| p.masked_name.as_str()).into());
    adapter.set_masked_id(summary.map_or("", |p| p.masked_id_number.as_str()).into());
    let comma = if Language::from_tag(&lang) == Some(Language::EnUs) {
        ", "
    } else {
        "、"
    };
    let years = summary.map_or(String::new(), |p| {
        p.years
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(comma)
    });
    adapter.set_years_text(years.into());
    adapter.set_rows(summary.map_or(0, |p| i32::try_from(p.rows).unwrap_or(i32::MAX)));
    adapter.set_pages(summary.map_or(0, |p| i32::from(p.pages)));
    adapter.set_verification_code(summary.map_or("", |p| p.verification_code.as_str()).into());
    adapter.set_reference(summary.map_or("", |p| p.reference.as_str()).into());
    adapter.set_receipt_copy(view.paper == Paper::ReceiptCopy);
    let copy_only = view.receipt_copy_only;
    let on_receipt = view.paper == Paper::ReceiptCopy;
    let pick = |yes: bool, a: &'static str, b: &'static str| if yes { a } else { b };
    adapter.set_notice_key(
        view.a4_problem
            .map_or("proof-a4-down", print_problem_key)
            .into(),
    );
    adapter.set_enrollment_title_key(
        pick(
            copy_only,
            "proof-kind-receipt-copy",
            "proof-kind-enrollment",
        )
        .into(),
    );
    adapter.set_enrollment_hint_key(
        pick(
            copy_only,
            "proof-receipt-copy-note",
            "proof-kind-enrollment-hint",
        )
        .into(),
    );
    adapter.set_contributions_hint_key(
        pick(
            view.contributions_offered,
            "proof-kind-contributions-hint",
            "proof-contributions-needs-a4",
        )
        .into(),
    );
    adapter.set_printing_key(pick(on_receipt, "print-printing", "proof-printing").into());
    adapter.set_done_key(pick(on_receipt, "proof-done-receipt", "proof-done-a4").into());
    adapter.set_print_key(pick(copy_only, "proof-print-receipt-copy", "proof-print").into());
    adapter.set_print_again_key(
        pick(copy_only, "proof-print-receipt-copy", "proof-print-again").into(),
    );
    adapter.set_print_possible(view.print_possible);
    adapter.set_receipt_copy_offered(view.receipt_copy_offered && !copy_only);
    adapter.set_print_message_key(print_message(view.print).into());
    adapter.set_problem_key(problem.into());
    adapter.set_problem_detail(detail.into());
    adapter.set_offer_try_again(offers.contains(&NextStep::TryAgain));
    adapter.set_offer_find_counter(offers.contains(&NextStep::FindCounter));
}

fn clear_proof(app: &AppWindow) {
    let adapter = app.global::<ProofAdapter>();
    if !adapter.get_masked_name().is_empty() || !adapter.get_verification_code().is_empty() {
        adapter.set_masked_name("".into());
        adapter.set_masked_id("".into());
        adapter.set_verification_code("".into());
        adapter.set_reference("".into());
        adapter.set_years_text("".into());
        adapter.set_step(ProofStep::NeedsCard);
    }
}

fn farewell_key(farewell: crate::core::session::Farewell) -> &'static str {
    match farewell {
        crate::core::session::Farewell::Interrupted => "farewell-interrupted",
        crate::core::session::Farewell::BeingConfirmed => "farewell-being-confirmed",
    }
}

/// The PIN pad's adapter from an entry's view: labels by position, a count, never a digit
/// typed.
fn apply_pad(app: &AppWindow, entry: &PinEntryView) {
    let pad = app.global::<PinPadAdapter>();
    pad.set_prompt_key(pin_prompt_key(entry.prompt).into());
    let (notice, retries) = match entry.notice {
        None => ("", 0),
        Some(notice) => pin_notice_key(notice),
    };
    pad.set_notice_key(notice.into());
    pad.set_retries_left(retries);
    let labels: Vec<i32> = entry
        .pad
        .layout
        .labels()
        .iter()
        .map(|d| i32::from(*d))
        .collect();
    let current: Vec<i32> = pad.get_labels().iter().collect();
    if current != labels {
        pad.set_labels(ModelRc::new(VecModel::from(labels)));
    }
    pad.set_entered(entry.pad.entered as i32);
    pad.set_max(entry.pad.max as i32);
    pad.set_can_confirm(entry.pad.can_confirm);
    pad.set_on_reader(false);
}

/// The reader's own keypad takes the PIN: the screen says where, and what the last try
/// came to.
fn apply_pad_on_reader(app: &AppWindow, notice: Option<PinNotice>) {
    let pad = app.global::<PinPadAdapter>();
    pad.set_on_reader(true);
    pad.set_prompt_key("pin-prompt-on-reader".into());
    let (notice, retries) = notice.map_or(("", 0), pin_notice_key);
    pad.set_notice_key(notice.into());
    pad.set_retries_left(retries);
}

pub fn pin_prompt_key(prompt: PinPrompt) -> &'static str {
    match prompt {
        PinPrompt::Service => "pin-prompt-service",
        PinPrompt::Issuing => "pin-prompt-issuing",
        PinPrompt::Old => "pin-prompt-old",
        PinPrompt::New => "pin-prompt-new",
        PinPrompt::Repeat => "pin-prompt-repeat",
    }
}

/// A notice's key and the tries left it names (0 when it names none).
pub fn pin_notice_key(notice: PinNotice) -> (&'static str, i32) {
    match notice {
        PinNotice::Wrong { retries_left } => ("pin-wrong", i32::from(retries_left)),
        PinNotice::CardFailed => ("pin-card-failed", 0),
        PinNotice::Mismatch => ("pin-mismatch", 0),
        PinNotice::Weak(WeakPin::NotSixDigits) => ("pin-weak-length", 0),
        PinNotice::Weak(WeakPin::AllSame) => ("pin-weak-same", 0),
        PinNotice::Weak(WeakPin::Sequence) => ("pin-weak-sequence", 0),
        PinNotice::Weak(WeakPin::Unchanged) => ("pin-weak-unchanged", 0),
    }
}

fn work_key(work: Work) -> &'static str {
    match work {
        Work::CheckingPin => "pin-checking",
        Work::ChangingPin => "pin-changing",
        Work::LookingUp => "card-service-looking-up",
        Work::Sending => "card-service-sending",
    }
}

/// What a card in `state` means for `service`, which cannot act on it.
pub fn unsuitable_key(service: ServiceId, state: CardState) -> &'static str {
    match (service, state) {
        (_, CardState::Blocked) => "card-unsuitable-blocked",
        (ServiceId::CardActivation, CardState::Active) => "card-unsuitable-already-active",
        (ServiceId::CardActivation, CardState::TemporarilyLost) => "card-unsuitable-lost",
        (ServiceId::LossReport, CardState::TemporarilyLost) => "card-unsuitable-already-lost",
        (ServiceId::LossReport, CardState::NotActivated) => "card-unsuitable-not-activated",
        (ServiceId::LossRelease, CardState::NotActivated | CardState::Active) => {
            "card-unsuitable-not-lost"
        }
        _ => "card-unsuitable-other",
    }
}

fn done_key(service: ServiceId) -> &'static str {
    match service {
        ServiceId::CardActivation => "card-service-done-card-activation",
        ServiceId::LossReport => "card-service-done-loss-report",
        ServiceId::LossRelease => "card-service-done-loss-release",
        _ => "card-service-done-pin-change",
    }
}

/// The card-service page's adapter from the core's view.
fn apply_card_service(app: &AppWindow, view: &CardServiceView, elderly: bool) {
    let adapter = app.global::<CardServiceAdapter>();
    adapter.set_service_id(view.service.key().into());
    let lang = app.global::<I18n>().get_lang();
    let mut message = "";
    let mut detail = String::new();
    let mut offers: &[NextStep] = &[];
    let (mut typed, mut typed_problem, mut typed_complete) = (String::new(), "", false);
    let (mut name, mut card_number, mut reference, mut code) =
        (String::new(), String::new(), String::new(), String::new());
    let step = match &view.step {
        CardStep::NeedsCard => CardServiceStep::NeedsCard,
        CardStep::ChooseIdentification => CardServiceStep::ChooseIdentification,
        CardStep::NeedsIdCard => CardServiceStep::NeedsIdCard,
        CardStep::NeedsCardOrIdCard => CardServiceStep::NeedsCardOrIdCard,
        CardStep::TypeIdNumber { masked, state } => {
            typed = masked.clone();
            typed_problem = match state {
                IdEntryState::BadCharacter => "loss-report-id-bad-character",
                IdEntryState::BadChecksum => "loss-report-id-bad-checksum",
                IdEntryState::Incomplete | IdEntryState::Valid => "",
            };
            typed_complete = *state == IdEntryState::Valid;
            CardServiceStep::TypeIdNumber
        }
        CardStep::TypeName { letters } => {
            typed = letters.clone();
            typed_complete = !letters.is_empty();
            CardServiceStep::TypeName
        }
        CardStep::EnterPin(entry) => {
            apply_pad(app, entry);
            CardServiceStep::EnterPin
        }
        CardStep::PinOnReader(notice) => {
            apply_pad_on_reader(app, *notice);
            CardServiceStep::EnterPin
        }
        CardStep::Working(work) => {
            message = work_key(*work);
            CardServiceStep::Working
        }
        CardStep::Confirm(found) => {
            name = found.masked_name.clone();
            card_number = found.masked_card_number.clone();
            CardServiceStep::Confirm
        }
        CardStep::Unsuitable(state) => {
            message = unsuitable_key(view.service, *state);
            offers = &[NextStep::FindCounter];
            CardServiceStep::Unsuitable
        }
        CardStep::PinBlocked => {
            message = "pin-blocked";
            offers = &[NextStep::FindCounter];
            CardServiceStep::PinBlocked
        }
        CardStep::PinChanged => {
            message = done_key(view.service);
            CardServiceStep::PinChanged
        }
        CardStep::Done(confirmation) => {
            message = done_key(view.service);
            card_number = confirmation.masked_card_number.clone();
            reference = confirmation.reference.clone();
            code = confirmation.verification_code.clone().unwrap_or_default();
            CardServiceStep::Done
        }
        CardStep::Failed {
            problem,
            offers: next,
        } => {
            message = card_service_problem_key(problem);
            detail = backend_detail(problem, lang.as_str());
            offers = next;
            CardServiceStep::Failed
        }
    };
    adapter.set_step(step);
    adapter.set_message_key(message.into());
    adapter.set_problem_detail(detail.into());
    adapter.set_typed(typed.into());
    adapter.set_typed_problem_key(typed_problem.into());
    adapter.set_typed_complete(typed_complete);
    adapter.set_typed_prompt_key(
        match (view.service, &view.step) {
            (ServiceId::ProxyCertification, CardStep::TypeName { .. }) => {
                "certification-relative-name-prompt"
            }
            (ServiceId::ProxyCertification, _) => "certification-relative-id-prompt",
            (ServiceId::ProxyBindings, CardStep::TypeName { .. }) => "proxies-name-prompt",
            (ServiceId::ProxyBindings, _) => "proxies-id-prompt",
            (_, CardStep::TypeName { .. }) => "loss-report-name-prompt",
            _ => "loss-report-id-prompt",
        }
        .into(),
    );
    if adapter.get_id_rows().row_count() == 0 {
        adapter.set_id_rows(id_key_rows());
    }
    if adapter.get_letter_rows().row_count() == 0 || elderly != adapter.get_letters_elderly() {
        // Six big keys a row in elderly mode: five rows, so the page keeps its navigation bar.
        adapter.set_letter_rows(finder::letter_rows(if elderly { 6 } else { 7 }));
        adapter.set_letters_elderly(elderly);
    }
    adapter.set_masked_name(name.into());
    adapter.set_masked_card_number(card_number.into());
    adapter.set_reference(reference.into());
    adapter.set_verification_code(code.into());
    adapter.set_offer_try_again(offers.contains(&NextStep::TryAgain));
    adapter.set_offer_find_counter(offers.contains(&NextStep::FindCounter));
    adapter.set_print_step(print_step(view.print));
    adapter.set_print_message_key(print_message(view.print).into());
}

/// The ID-number keypad's rows: a telephone layout, with X beside 0 for the last place.
fn id_key_rows() -> ModelRc<KeyRow> {
    let rows: Vec<KeyRow> = [
        ["1", "2", "3"],
        ["4", "5", "6"],
        ["7", "8", "9"],
        ["X", "0", ""],
    ]
    .iter()
    .map(|row| KeyRow {
        keys: ModelRc::new(VecModel::from(
            row.iter()
                .filter(|key| !key.is_empty())
                .map(|key| SharedString::from(*key))
                .collect::<Vec<_>>(),
        )),
    })
    .collect();
    ModelRc::new(VecModel::from(rows))
}

/// Nothing of an ended card service (typed letters, whose card) stays in the page's model.
fn clear_card_service(app: &AppWindow) {
    let adapter = app.global::<CardServiceAdapter>();
    if !adapter.get_typed().is_empty()
        || !adapter.get_masked_name().is_empty()
        || !adapter.get_masked_card_number().is_empty()
    {
        adapter.set_typed("".into());
        adapter.set_masked_name("".into());
        adapter.set_masked_card_number("".into());
        adapter.set_reference("".into());
        adapter.set_verification_code("".into());
        adapter.set_problem_detail("".into());
    }
}

/// A card service's failure: a mutation whose outcome is unknown is "being confirmed, do not
/// repeat it", not "try later".
pub fn card_service_problem_key(problem: &BackendProblem) -> &'static str {
    match problem {
        BackendProblem::OutcomeUnknown => "card-service-being-confirmed",
        BackendProblem::Rejected {
            reason: Rejection::NotFound,
            ..
        } => "card-service-not-found",
        other => backend_problem_key(other),
    }
}

/// The words of services that work offline, for the attract page; empty while the back end
/// is reachable.
fn offline_services_text(app: &AppWindow, view: &View) -> String {
    if !view.back_end_down() {
        return String::new();
    }
    let i18n = app.global::<I18n>();
    let lang = SharedString::from(view.language.tag());
    view.offline_services()
        .into_iter()
        .map(|service| {
            i18n.invoke_tr(format!("service-{}", service.key()).into(), lang.clone())
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(
            i18n.invoke_tr("list-separator".into(), lang.clone())
                .as_str(),
        )
}

fn cell(cell: &Cell) -> CellData {
    CellData {
        text: cell.text.as_str().into(),
        key: cell.key.into(),
    }
}

/// The query page's adapter from the core's query view.
fn apply_query(app: &AppWindow, view: &QueryView) {
    let adapter = app.global::<QueryAdapter>();
    adapter.set_service_id(view.service.key().into());
    let (step, problem_key, detail, offers): (QueryStep, &str, String, &[NextStep]) =
        match &view.step {
            QueryStepView::NeedsCard => (QueryStep::NeedsCard, "", String::new(), &[]),
            QueryStepView::EnterPin(entry) => {
                apply_pad(app, entry);
                (QueryStep::EnterPin, "", String::new(), &[])
            }
            QueryStepView::PinOnReader(notice) => {
                apply_pad_on_reader(app, *notice);
                (QueryStep::EnterPin, "", String::new(), &[])
            }
            QueryStepView::CheckingPin => (QueryStep::CheckingPin, "", String::new(), &[]),
            QueryStepView::PinBlocked => (QueryStep::PinBlocked, "", String::new(), &[]),
            QueryStepView::Loading => (QueryStep::Loading, "", String::new(), &[]),
            QueryStepView::Answered => (QueryStep::Answered, "", String::new(), &[]),
            QueryStepView::Failed { problem, offers } => (
                QueryStep::Failed,
                backend_problem_key(problem),
                backend_detail(problem, app.global::<I18n>().get_lang().as_str()),
                offers,
            ),
        };
    adapter.set_step(step);
    adapter.set_problem_key(problem_key.into());
    adapter.set_problem_detail(detail.into());
    adapter.set_offer_try_again(offers.contains(&NextStep::TryAgain));
    adapter.set_offer_find_counter(offers.contains(&NextStep::FindCounter));
    adapter.set_has_year(view.year.is_some());
    if let Some(year) = view.year {
        adapter.set_year(year.year);
        adapter.set_has_older_year(year.has_older);
        adapter.set_has_newer_year(year.has_newer);
    }
    let summary: Vec<SummaryLine> = view
        .summary
        .iter()
        .map(|line| SummaryLine {
            label_key: line.label_key.into(),
            value: cell(&line.value),
        })
        .collect();
    adapter.set_summary(ModelRc::new(VecModel::from(summary)));
    let columns: Vec<SharedString> = view.columns.iter().map(|c| (*c).into()).collect();
    adapter.set_columns(ModelRc::new(VecModel::from(columns)));
    let rows: Vec<TableRow> = view
        .rows
        .iter()
        .map(|row| TableRow {
            cells: ModelRc::new(VecModel::from(row.iter().map(cell).collect::<Vec<_>>())),
        })
        .collect();
    adapter.set_rows(ModelRc::new(VecModel::from(rows)));
    adapter.set_page(view.page as i32);
    adapter.set_pages(view.pages as i32);
    adapter.set_print_step(print_step(view.print));
    adapter.set_print_message_key(print_message(view.print).into());
}

fn clear_query(app: &AppWindow) {
    let adapter = app.global::<QueryAdapter>();
    if adapter.get_rows().row_count() > 0 || adapter.get_summary().row_count() > 0 {
        adapter.set_summary(ModelRc::default());
        adapter.set_rows(ModelRc::default());
        adapter.set_problem_detail("".into());
    }
}

pub fn print_step(print: Option<PrintState>) -> PrintStep {
    match print {
        None => PrintStep::Idle,
        Some(PrintState::Printing) => PrintStep::Printing,
        Some(PrintState::Printed) => PrintStep::Printed,
        Some(PrintState::Failed(_)) => PrintStep::Failed,
    }
}

/// What a failed print says, as a Fluent key.
pub fn print_message(print: Option<PrintState>) -> &'static str {
    match print {
        Some(PrintState::Failed(problem)) => print_problem_key(problem),
        _ => "",
    }
}

pub fn print_problem_key(problem: PrintProblem) -> &'static str {
    match problem {
        PrintProblem::PaperOut => "print-error-paper-out",
        PrintProblem::CoverOpen => "print-error-cover-open",
        PrintProblem::Jammed => "print-error-jammed",
        PrintProblem::Unconfirmed => "print-error-unconfirmed",
        PrintProblem::Offline => "print-error-unavailable",
    }
}

pub fn card_problem_key(problem: CardProblem) -> &'static str {
    match problem {
        CardProblem::Unreadable => "card-error-unreadable",
        CardProblem::NeedsAuthenticationModule => "card-error-needs-sam",
        CardProblem::NotSocialSecurityCard => "card-error-not-social-security",
        CardProblem::ReaderUnavailable => "card-error-reader",
    }
}

pub fn backend_problem_key(problem: &BackendProblem) -> &'static str {
    match problem {
        BackendProblem::RouteUnavailable => "query-error-unavailable",
        BackendProblem::OutcomeUnknown => "query-error-unknown",
        BackendProblem::Rejected { reason, .. } => match reason {
            Rejection::NotFound => "query-error-not-found",
            Rejection::CardBlocked => "query-error-card-blocked",
            Rejection::CardNotActivated => "query-error-card-not-activated",
            Rejection::Other => "query-error-rejected",
        },
    }
}

/// The back end's own words, in the resident's language, where our text cannot say it.
pub fn backend_detail(problem: &BackendProblem, lang: &str) -> String {
    match problem {
        BackendProblem::Rejected {
            reason: Rejection::Other,
            message: Some(message),
        } => match Language::from_tag(lang) {
            Some(Language::EnUs) => message.en.clone(),
            _ => message.zh.clone(),
        },
        _ => String::new(),
    }
}

/// The keys `apply_proof` hands the proof page.
const PROOF_KEYS: [&str; 13] = [
    "proof-print-again",
    "proof-a4-down",
    "proof-kind-receipt-copy",
    "proof-kind-enrollment",
    "proof-receipt-copy-note",
    "proof-kind-enrollment-hint",
    "proof-kind-contributions-hint",
    "proof-contributions-needs-a4",
    "proof-printing",
    "proof-done-receipt",
    "proof-done-a4",
    "proof-print-receipt-copy",
    "proof-print",
];

pub fn blocker_key(blocker: Blocker) -> &'static str {
    match blocker {
        Blocker::CardReader => "blocked-card-reader",
        Blocker::Printer => "blocked-printer",
        Blocker::BackEnd => "blocked-back-end",
        Blocker::Camera => "blocked-camera",
        Blocker::A4Printer(None) => "blocked-a4-printer",
        Blocker::A4Printer(Some(PrintProblem::PaperOut)) => "blocked-a4-paper-out",
        Blocker::A4Printer(Some(PrintProblem::Jammed)) => "blocked-a4-jammed",
        Blocker::A4Printer(Some(PrintProblem::CoverOpen)) => "blocked-a4-cover-open",
        Blocker::A4Printer(Some(_)) => "blocked-a4-printer",
    }
}

/// Every Fluent key the Rust side hands to the screens for failures, for the locale test.
pub fn failure_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = [
        CardProblem::Unreadable,
        CardProblem::NeedsAuthenticationModule,
        CardProblem::NotSocialSecurityCard,
        CardProblem::ReaderUnavailable,
    ]
    .into_iter()
    .map(card_problem_key)
    .collect();
    keys.extend(
        [
            PrintProblem::PaperOut,
            PrintProblem::CoverOpen,
            PrintProblem::Jammed,
            PrintProblem::Unconfirmed,
            PrintProblem::Offline,
        ]
        .into_iter()
        .map(print_problem_key),
    );
    for reason in [
        Rejection::NotFound,
        Rejection::CardBlocked,
        Rejection::CardNotActivated,
        Rejection::Other,
    ] {
        keys.push(backend_problem_key(&BackendProblem::Rejected {
            reason,
            message: None,
        }));
    }
    // And the proof page's words that depend on the printers, chosen in `apply_proof`.
    keys.extend(PROOF_KEYS);
    keys.push(backend_problem_key(&BackendProblem::RouteUnavailable));
    keys.push(backend_problem_key(&BackendProblem::OutcomeUnknown));
    keys.extend(
        [
            Blocker::CardReader,
            Blocker::Printer,
            Blocker::BackEnd,
            Blocker::Camera,
            Blocker::A4Printer(None),
            Blocker::A4Printer(Some(PrintProblem::PaperOut)),
            Blocker::A4Printer(Some(PrintProblem::Jammed)),
            Blocker::A4Printer(Some(PrintProblem::CoverOpen)),
        ]
        .into_iter()
        .map(blocker_key),
    );
    keys.extend(certification::keys());
    keys.extend(proxies::keys());
    keys
}

fn same_groups(current: &ModelRc<TileGroup>, wanted: &[TileGroup]) -> bool {
    current.row_count() == wanted.len()
        && current.iter().zip(wanted).all(|(have, want)| {
            have.key == want.key
                && have.tiles.row_count() == want.tiles.row_count()
                && have
                    .tiles
                    .iter()
                    .zip(want.tiles.iter())
                    .all(|(a, b)| a == b)
        })
}

fn home_groups(expanded: bool, view: &View) -> Vec<TileGroup> {
    home_layout(!expanded, |service| {
        service.applies(view.card_present, view.id_card.is_some())
    })
    .into_iter()
    .map(|(group, services)| {
        let tiles: Vec<TileData> = services
            .into_iter()
            .map(|service| TileData {
                id: service.key().into(),
                icon: icons::for_service(service).into(),
                blocked_key: view.blocker(service).map_or("", blocker_key).into(),
            })
            .collect();
        TileGroup {
            key: group.map_or("", |g| g.key()).into(),
            tiles: ModelRc::new(VecModel::from(tiles)),
        }
    })
    .collect()
}

/// The name a device state has in Fluent keys (`device-state-<name>`).
pub fn health_name(health: DeviceHealth) -> &'static str {
    match health {
        DeviceHealth::Unknown => "unknown",
        DeviceHealth::Online => "online",
        DeviceHealth::Offline => "offline",
        DeviceHealth::NoDevice => "no-device",
        DeviceHealth::HardwareError => "hardware-error",
    }
}

/// A date as residents read it: 2027年6月30日, or 30 June 2027.
pub fn date_text(language: Language, date: crate::core::Date) -> String {
    match language {
        Language::ZhCn => format!("{}年{}月{}日", date.year, date.month, date.day),
        Language::EnUs => {
            let month = date.english_month().unwrap_or("?");
            format!("{} {month} {}", date.day, date.year)
        }
    }
}

/// The header clock, in the resident's language.
pub fn clock_text(language: Language, now: chrono::NaiveDateTime, elderly: bool) -> String {
    // Elderly mode's larger buttons leave room for the date above the time, not beside it.
    let pattern = match (language, elderly) {
        (Language::ZhCn, false) => "%Y年%-m月%-d日 %H:%M",
        (Language::ZhCn, true) => "%-m月%-d日\n%H:%M",
        (Language::EnUs, false) => "%Y-%m-%d %H:%M",
        (Language::EnUs, true) => "%Y-%m-%d\n%H:%M",
    };
    now.format(pattern).to_string()
}
