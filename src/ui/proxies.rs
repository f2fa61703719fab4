//! 亲情代办 on screen. Identifying, typing the relative's number and name, waiting and
//! failures look as in the card services and are drawn by the card-service page; the list,
//! the confirmation and the result by the proxies page.

use slint::{ComponentHandle, ModelRc, VecModel};

use super::{print_message, print_step, AppWindow, ProxiesAdapter, ProxiesStep, ProxyRow};
use crate::core::flows::card::Work;
use crate::core::{CardServiceView, CardStep, ProxyStep, ProxyView, ServiceId};

/// The card-service page's view of a step it draws; `None` for the proxies page's own.
pub fn on_card_service_page(view: &ProxyView) -> Option<CardServiceView> {
    let step = match &view.step {
        ProxyStep::NeedsCardOrIdCard => CardStep::NeedsCardOrIdCard,
        ProxyStep::EnterPin(entry) => CardStep::EnterPin(*entry),
        ProxyStep::PinOnReader(notice) => CardStep::PinOnReader(*notice),
        ProxyStep::CheckingPin => CardStep::Working(Work::CheckingPin),
        ProxyStep::PinBlocked => CardStep::PinBlocked,
        ProxyStep::LookingUp => CardStep::Working(Work::LookingUp),
        ProxyStep::Sending => CardStep::Working(Work::Sending),
        ProxyStep::TypeIdNumber { masked, state } => CardStep::TypeIdNumber {
            masked: masked.clone(),
            state: *state,
        },
        ProxyStep::TypeName { letters } => CardStep::TypeName {
            letters: letters.clone(),
        },
        ProxyStep::Failed { problem, offers } => CardStep::Failed {
            problem: problem.clone(),
            offers,
        },
        ProxyStep::List { .. } | ProxyStep::Confirm { .. } | ProxyStep::Done(_) => return None,
    };
    Some(CardServiceView {
        service: ServiceId::ProxyBindings,
        step,
        print: None,
    })
}

/// Every Fluent key this module hands to the page, for the locale test.
pub fn keys() -> [&'static str; 4] {
    [
        "proxies-confirm-add",
        "proxies-confirm-remove",
        "proxies-added",
        "proxies-removed",
    ]
}

pub fn apply(app: &AppWindow, view: &ProxyView) {
    let adapter = app.global::<ProxiesAdapter>();
    match &view.step {
        ProxyStep::List {
            masked_name,
            proxies,
            full,
        } => {
            adapter.set_step(ProxiesStep::List);
            adapter.set_masked_name(masked_name.as_str().into());
            let rows: Vec<ProxyRow> = proxies
                .iter()
                .map(|entry| ProxyRow {
                    name: entry.masked_name.as_str().into(),
                    id: entry.masked_id.as_str().into(),
                    slot: i32::from(entry.slot),
                })
                .collect();
            adapter.set_rows(ModelRc::new(VecModel::from(rows)));
            adapter.set_full(*full);
        }
        ProxyStep::Confirm { added, who } => {
            adapter.set_step(ProxiesStep::Confirm);
            adapter.set_message_key(
                if *added {
                    "proxies-confirm-add"
                } else {
                    "proxies-confirm-remove"
                }
                .into(),
            );
            adapter.set_who(who.as_str().into());
        }
        ProxyStep::Done(receipt) => {
            adapter.set_step(ProxiesStep::Done);
            adapter.set_message_key(
                if receipt.added {
                    "proxies-added"
                } else {
                    "proxies-removed"
                }
                .into(),
            );
            adapter.set_who(receipt.changed.as_str().into());
            adapter.set_count(receipt.count as i32);
            adapter.set_reference(receipt.reference.as_str().into());
        }
        _ => {}
    }
    adapter.set_print_step(print_step(view.print));
    adapter.set_print_message_key(print_message(view.print).into());
}

/// Nothing of an ended binding stays in the page's model.
pub fn clear(app: &AppWindow) {
    let adapter = app.global::<ProxiesAdapter>();
    if !adapter.get_masked_name().is_empty() || !adapter.get_who().is_empty() {
        adapter.set_masked_name("".into());
        adapter.set_rows(ModelRc::default());
        adapter.set_who("".into());
        adapter.set_reference("".into());
    }
}
