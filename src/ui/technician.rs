//! Technician mode on the window: the sign-in, the status and actions pages and the
//! out-of-service screen, from the core's `TechnicianView`; the pages' taps as core events.
//! The self-test's rows come from the shell (`shell::technician`), not from the view.

use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::core::technician::{
    ActionResult, SignInField, SignInNotice, TechnicianAction, TechnicianInput, TechnicianPage,
    TechnicianView,
};
use crate::core::{Event, Language};

use super::{AppWindow, CheckRow, TechnicianAdapter, TechnicianStep};

/// Connects the hidden corner and the technician pages to `send`.
pub fn wire(app: &AppWindow, send: Rc<dyn Fn(Event)>) {
    let input = |send: &Rc<dyn Fn(Event)>, input: TechnicianInput| {
        let send = send.clone();
        move || send(Event::Technician(input.clone()))
    };
    let on = send.clone();
    app.on_technician_corner(move |down| {
        on(Event::Technician(if down {
            TechnicianInput::CornerPressed
        } else {
            TechnicianInput::CornerReleased
        }))
    });
    let adapter = app.global::<TechnicianAdapter>();
    let on = send.clone();
    adapter.on_digit(move |digit| {
        if let Ok(digit) = u8::try_from(digit) {
            on(Event::Technician(TechnicianInput::Digit(digit)));
        }
    });
    adapter.on_erase(input(&send, TechnicianInput::Erase));
    let on = send.clone();
    adapter.on_field(move |pin| {
        on(Event::Technician(TechnicianInput::Field(if pin {
            SignInField::Pin
        } else {
            SignInField::Id
        })))
    });
    adapter.on_sign_in(input(&send, TechnicianInput::SignIn));
    adapter.on_cancel(input(&send, TechnicianInput::Cancel));
    let on = send.clone();
    adapter.on_show_actions(move |actions| {
        on(Event::Technician(TechnicianInput::Page(if actions {
            TechnicianPage::Actions
        } else {
            TechnicianPage::Status
        })))
    });
    adapter.on_run_self_test(input(
        &send,
        TechnicianInput::Run(TechnicianAction::SelfTest),
    ));
    adapter.on_run_test_print(input(
        &send,
        TechnicianInput::Run(TechnicianAction::TestPrint),
    ));
    adapter.on_run_sync_catalogue(input(
        &send,
        TechnicianInput::Run(TechnicianAction::SyncCatalogue),
    ));
    adapter.on_run_restart(input(
        &send,
        TechnicianInput::Run(TechnicianAction::Restart),
    ));
    adapter.on_cycle_language(input(&send, TechnicianInput::CycleDefaultLanguage));
    adapter.on_toggle_elderly(input(&send, TechnicianInput::ToggleDefaultElderly));
    adapter.on_pause(input(&send, TechnicianInput::Pause));
    adapter.on_leave(input(&send, TechnicianInput::Leave));
}

/// Draws the technician part of a view (or hides it).
pub fn apply(app: &AppWindow, view: Option<&TechnicianView>) {
    app.set_maintenance(view.is_some());
    let Some(view) = view else {
        return;
    };
    let adapter = app.global::<TechnicianAdapter>();
    match view {
        TechnicianView::SignIn {
            id,
            pin_digits,
            field,
            notice,
            checking,
        } => {
            adapter.set_step(TechnicianStep::SignIn);
            adapter.set_technician_id(id.as_str().into());
            adapter.set_pin_dots("●".repeat(*pin_digits).into());
            adapter.set_pin_field(*field == SignInField::Pin);
            adapter.set_checking(*checking);
            let (key, number) = match notice {
                None => ("", String::new()),
                Some(SignInNotice::Incomplete) => ("tech-notice-incomplete", String::new()),
                Some(SignInNotice::Refused { tries_left }) => {
                    ("tech-notice-refused", tries_left.to_string())
                }
                Some(SignInNotice::Locked { minutes }) => {
                    ("tech-notice-locked", minutes.to_string())
                }
                Some(SignInNotice::NoAccounts) => ("tech-notice-no-accounts", String::new()),
            };
            adapter.set_notice_key(key.into());
            adapter.set_notice_number(number.into());
        }
        TechnicianView::SignedIn {
            technician,
            page,
            running,
            last,
            default_language,
            default_elderly,
        } => {
            adapter
                .set_default_language(format!("tech-language-{}", default_language.tag()).into());
            adapter.set_default_elderly(*default_elderly);
            adapter.set_step(match page {
                TechnicianPage::Status => TechnicianStep::Status,
                TechnicianPage::Actions => TechnicianStep::Actions,
            });
            adapter.set_technician_id(technician.as_str().into());
            adapter.set_pin_dots(SharedString::default());
            adapter.set_checking(false);
            adapter.set_notice_key(SharedString::default());
            adapter.set_running_key(running.map_or("", TechnicianAction::key).into());
            match last {
                Some((action, result)) => {
                    let problem = *result == ActionResult::Problem;
                    adapter.set_last_key(done_key(*action, problem).into());
                    adapter.set_last_problem(problem);
                }
                None => adapter.set_last_key(SharedString::default()),
            }
        }
        TechnicianView::OutOfService => {
            adapter.set_step(TechnicianStep::OutOfService);
            adapter.set_checking(false);
        }
    }
}

/// The Fluent key saying how `action` went.
fn done_key(action: TechnicianAction, problem: bool) -> String {
    if problem {
        format!("tech-done-problem-{}", action.key())
    } else {
        format!("tech-done-{}", action.key())
    }
}

/// One self-test line as the page shows it.
pub fn check_row(part: &str, target: &str, state: &str, detail: &str, fix: &str) -> CheckRow {
    CheckRow {
        title: if target.is_empty() {
            part.into()
        } else {
            format!("{part} · {target}").into()
        },
        state: state.into(),
        detail: detail.into(),
        fix: if fix.is_empty() {
            SharedString::default()
        } else {
            format!("→ {fix}").into()
        },
    }
}

/// Shows the self-test's rows and the summary above them.
pub fn show_checks(app: &AppWindow, summary: &str, rows: Vec<CheckRow>) {
    let adapter = app.global::<TechnicianAdapter>();
    adapter.set_summary(summary.into());
    adapter.set_checks(ModelRc::new(VecModel::from(rows)));
}

/// Forgets the self-test's rows (when maintenance ends).
pub fn clear_checks(app: &AppWindow) {
    show_checks(app, "", Vec::new());
}

/// The Fluent keys the technician pages build at run time.
pub fn keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "tech-notice-incomplete",
        "tech-notice-refused",
        "tech-notice-locked",
        "tech-notice-no-accounts",
        "tech-state-ok",
        "tech-state-warning",
        "tech-state-failure",
        "tech-state-unknown",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    keys.extend(
        Language::ALL
            .iter()
            .map(|language| format!("tech-language-{}", language.tag())),
    );
    for action in [
        TechnicianAction::SelfTest,
        TechnicianAction::TestPrint,
        TechnicianAction::SyncCatalogue,
        TechnicianAction::Restart,
    ] {
        keys.push(done_key(action, false));
        keys.push(done_key(action, true));
    }
    keys
}
