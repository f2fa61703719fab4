//! Pension certification on screen. Identifying (card and PIN, ID card, the pensioner's
//! number and name on the keypads) looks and works as in the card services, so those steps
//! are drawn by the card-service page; the status, the camera and the verdict by the
//! certification page.

use slint::ComponentHandle;

use super::{
    backend_detail, card_service_problem_key, print_message, print_step, AppWindow,
    CertificationAction, CertificationAdapter, CertificationStep as PageStep, I18n,
};
use crate::core::flows::card::Work;
use crate::core::{
    CaptureProblem, CardServiceView, CardStep, CertificationStep, CertificationView, CycleState,
    Language, LivenessAction, NextStep, RejectReason, Verdict,
};

/// The card-service page's view of an identifying step; `None` for the certification
/// page's own steps.
pub fn identifying(view: &CertificationView) -> Option<CardServiceView> {
    let step = match &view.step {
        CertificationStep::NeedsCardOrIdCard => CardStep::NeedsCardOrIdCard,
        CertificationStep::EnterPin(entry) => CardStep::EnterPin(*entry),
        CertificationStep::PinOnReader(notice) => CardStep::PinOnReader(*notice),
        CertificationStep::CheckingPin => CardStep::Working(Work::CheckingPin),
        CertificationStep::PinBlocked => CardStep::PinBlocked,
        CertificationStep::TypeIdNumber { masked, state } => CardStep::TypeIdNumber {
            masked: masked.clone(),
            state: *state,
        },
        CertificationStep::TypeName { letters } => CardStep::TypeName {
            letters: letters.clone(),
        },
        CertificationStep::LookingUp => CardStep::Working(Work::LookingUp),
        _ => return None,
    };
    Some(CardServiceView {
        service: view.service,
        step,
        print: None,
    })
}

pub fn capture_problem_key(problem: CaptureProblem) -> &'static str {
    match problem {
        CaptureProblem::TooDark => "certification-retake-too-dark",
        CaptureProblem::TooBright => "certification-retake-too-bright",
        CaptureProblem::Blurred => "certification-retake-blurred",
        CaptureProblem::NoFace => "certification-retake-no-face",
        CaptureProblem::CameraFailed => "certification-camera-failed",
    }
}

pub fn reject_key(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::NotLive => "certification-rejected-not-live",
        RejectReason::NoMatch => "certification-rejected-no-match",
        RejectReason::PoorImage => "certification-rejected-poor-image",
    }
}

/// Every Fluent key this module hands to the page, for the locale test.
pub fn keys() -> Vec<&'static str> {
    let mut keys = vec![
        "certification-due",
        "certification-already",
        "certification-not-entitled",
        "certification-no-attempts",
        "certification-certified",
        "certification-received",
        "certification-received-hint",
        "certification-attempts-left",
        "certification-last-chance",
        "certification-home-visit",
        "certification-how",
        "certification-how-relative",
        "certification-face",
        "certification-face-relative",
    ];
    keys.extend(
        [
            CaptureProblem::TooDark,
            CaptureProblem::TooBright,
            CaptureProblem::Blurred,
            CaptureProblem::NoFace,
            CaptureProblem::CameraFailed,
        ]
        .map(capture_problem_key),
    );
    keys.extend(
        [
            RejectReason::NotLive,
            RejectReason::NoMatch,
            RejectReason::PoorImage,
        ]
        .map(reject_key),
    );
    keys
}

/// The certification page's adapter from the core's view.
pub fn apply(app: &AppWindow, view: &CertificationView, language: Language) {
    let adapter = app.global::<CertificationAdapter>();
    adapter.set_service_id(view.service.key().into());
    adapter.set_for_relative(view.for_relative);
    let lang = app.global::<I18n>().get_lang();
    let date = |date| super::date_text(language, date);
    let mut message = "";
    let mut hint = "";
    let mut detail = String::new();
    let mut offers: &[NextStep] = &[];
    let (mut action, mut number, mut count) = ("", 0, 0);
    let (mut reference, mut code, mut until) = (String::new(), String::new(), String::new());
    let mut attempts_left = 0;
    let step = match &view.step {
        CertificationStep::Status(status) | CertificationStep::NothingToDo(status) => {
            adapter.set_masked_name(status.masked_name.as_str().into());
            adapter.set_cycle_year(status.cycle_year.to_string().into());
            adapter.set_last_certified(status.last_certified.map(date).unwrap_or_default().into());
            let (due, valid) = match status.state {
                CycleState::Due { by } => (date(by), String::new()),
                CycleState::Certified { until } => (String::new(), date(until)),
                CycleState::NotEntitled => (String::new(), String::new()),
            };
            adapter.set_due_by(due.into());
            until = valid;
            message = match status.state {
                CycleState::Due { .. } if status.attempts_left > 0 => "certification-due",
                CycleState::Due { .. } => "certification-no-attempts",
                CycleState::Certified { .. } => "certification-already",
                CycleState::NotEntitled => "certification-not-entitled",
            };
            match &view.step {
                CertificationStep::Status(_) => {
                    hint = if view.for_relative {
                        "certification-how-relative"
                    } else {
                        "certification-how"
                    };
                    PageStep::Status
                }
                _ => {
                    offers = &[NextStep::FindCounter];
                    PageStep::NothingToDo
                }
            }
        }
        CertificationStep::Preview => {
            hint = if view.for_relative {
                "certification-face-relative"
            } else {
                "certification-face"
            };
            PageStep::Preview
        }
        CertificationStep::Action {
            action: doing,
            number: n,
            of,
        } => {
            action = doing.key();
            adapter.set_action_kind(match doing {
                LivenessAction::Blink => CertificationAction::Blink,
                LivenessAction::OpenMouth => CertificationAction::OpenMouth,
                LivenessAction::Nod => CertificationAction::Nod,
                LivenessAction::Turn => CertificationAction::Turn,
            });
            number = *n as i32;
            count = *of as i32;
            PageStep::Action
        }
        CertificationStep::Retake { problem, .. } => {
            message = capture_problem_key(*problem);
            if *problem != CaptureProblem::CameraFailed {
                offers = &[NextStep::TryAgain];
            } else {
                offers = &[NextStep::FindCounter];
            }
            PageStep::Retake
        }
        CertificationStep::Sending => PageStep::Sending,
        CertificationStep::Verdict(Verdict::Certified {
            until: valid,
            reference: serial,
            verification_code,
            ..
        }) => {
            message = "certification-certified";
            until = date(*valid);
            reference = serial.clone();
            code = verification_code.clone().unwrap_or_default();
            PageStep::Certified
        }
        CertificationStep::Verdict(Verdict::Received { reference: serial }) => {
            message = "certification-received";
            hint = "certification-received-hint";
            reference = serial.clone();
            PageStep::Received
        }
        CertificationStep::Verdict(Verdict::Rejected {
            reason,
            attempts_left: left,
            next,
        }) => {
            message = reject_key(*reason);
            attempts_left = i32::from(*left);
            if *left > 0 && next.is_some() {
                hint = if *left == 1 {
                    "certification-last-chance"
                } else {
                    "certification-attempts-left"
                };
                offers = &[NextStep::TryAgain, NextStep::FindCounter];
            } else {
                hint = "certification-home-visit";
                offers = &[NextStep::FindCounter];
            }
            PageStep::Rejected
        }
        CertificationStep::Failed {
            problem,
            offers: next,
        } => {
            message = card_service_problem_key(problem);
            detail = backend_detail(problem, lang.as_str());
            offers = next;
            PageStep::Failed
        }
        // Identifying steps are drawn by the card-service page.
        _ => PageStep::Status,
    };
    adapter.set_step(step);
    adapter.set_message_key(message.into());
    adapter.set_hint_key(hint.into());
    adapter.set_problem_detail(detail.into());
    adapter.set_action(action.into());
    adapter.set_action_number(number);
    adapter.set_action_count(count);
    adapter.set_attempts_left(attempts_left);
    adapter.set_certified_until(until.into());
    adapter.set_reference(reference.into());
    adapter.set_verification_code(code.into());
    adapter.set_offer_try_again(offers.contains(&NextStep::TryAgain));
    adapter.set_offer_find_counter(offers.contains(&NextStep::FindCounter));
    adapter.set_print_step(print_step(view.print));
    adapter.set_print_message_key(print_message(view.print).into());
}

/// Nothing of an ended certification stays in the page's model: not the name, not a frame.
pub fn clear(app: &AppWindow) {
    let adapter = app.global::<CertificationAdapter>();
    if !adapter.get_masked_name().is_empty() || !adapter.get_reference().is_empty() {
        adapter.set_masked_name("".into());
        adapter.set_cycle_year("".into());
        adapter.set_due_by("".into());
        adapter.set_last_certified("".into());
        adapter.set_certified_until("".into());
        adapter.set_reference("".into());
        adapter.set_verification_code("".into());
        adapter.set_problem_detail("".into());
    }
    if adapter.get_camera_frame().size().width != 0 {
        adapter.set_camera_frame(slint::Image::default());
    }
}
