//! Rust-side adapters between the core's plain data and the Slint window: the generated
//! components, the translation callbacks, and the mapping of a [`View`] onto properties.

pub mod finder;
pub mod icons;

use std::rc::Rc;

use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use crate::core::services::home_layout;
use crate::core::{DeviceHealth, Language, Page, PrintState, QueryState, View};
use crate::i18n::Translator;

/// The code Slint generates from `ui/*.slint`; its style is Slint's, not ours.
#[allow(clippy::all, clippy::unwrap_used)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;

/// Answers the window's `I18n.tr` callbacks from the Fluent bundles. Globals belong to one
/// component instance, so every top-level window needs this once.
pub fn install_translator(app: &AppWindow, translator: Rc<Translator>) {
    let i18n = app.global::<I18n>();
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

/// Draws `view`: sets only the properties that depend on it, so an unchanged view costs
/// nothing to re-apply.
pub fn apply_view(app: &AppWindow, view: &View) {
    let i18n = app.global::<I18n>();
    if i18n.get_lang() != view.language.tag() {
        i18n.set_lang(view.language.tag().into());
    }
    let theme = app.global::<Theme>();
    let layout_changed = theme.get_elderly() != view.elderly
        || app.get_show_all_services_button() == (view.all_services || !view.elderly)
        || app.get_home_groups().row_count() == 0;
    theme.set_elderly(view.elderly);
    if layout_changed {
        let expanded = view.all_services || !view.elderly;
        app.set_home_groups(home_groups(expanded));
        app.set_show_all_services_button(!expanded);
    }
    let (page, service) = match view.page {
        Page::Attract => (PageId::Attract, ""),
        Page::Home => (PageId::Home, ""),
        Page::Help => (PageId::Help, ""),
        Page::Unavailable(service) => (PageId::Unavailable, service.key()),
        Page::Query(service) => (PageId::Query, service.key()),
        Page::Finder => (PageId::Finder, ""),
        Page::ServicePoint(_) => (PageId::ServicePoint, ""),
    };
    app.set_page(page);
    app.set_service_id(service.into());
    app.set_idle_seconds(view.idle_warning_seconds.map_or(-1, |s| s as i32));
    app.set_card_reader_state(health_name(view.card_reader).into());
    app.set_printer_state(health_name(view.printer).into());
    app.set_network_state(health_name(view.network).into());
    let (name, id) = view
        .holder
        .as_ref()
        .map_or(("", ""), |h| (h.masked_name.as_str(), h.masked_id.as_str()));
    app.set_holder_name(name.into());
    app.set_holder_id(id.into());
    app.set_card_notice(view.card_notice.unwrap_or("").into());
    app.set_take_card_reminder(view.take_card_reminder);
    apply_query(app, view);
}

/// The query page: its state by name, the answer's rows, the printing state.
fn apply_query(app: &AppWindow, view: &View) {
    let (state, message, rows): (&str, &str, Vec<QueryRowData>) = match &view.query {
        None => ("", "", Vec::new()),
        Some(QueryState::NeedsCard) => ("needs-card", "", Vec::new()),
        Some(QueryState::Loading) => ("loading", "", Vec::new()),
        Some(QueryState::Failed(key)) => ("failed", key, Vec::new()),
        Some(QueryState::Answered(rows)) => (
            "answered",
            "",
            rows.iter()
                .map(|row| QueryRowData {
                    label_key: row.label_key.into(),
                    label: row.label.as_str().into(),
                    value: row.value.as_str().into(),
                    value_key: row.value_key.into(),
                })
                .collect(),
        ),
    };
    app.set_query_state(state.into());
    app.set_query_message(message.into());
    app.set_query_rows(ModelRc::new(VecModel::from(rows)));
    let (print_state, print_message) = match view.print {
        None => ("", ""),
        Some(PrintState::Printing) => ("printing", ""),
        Some(PrintState::Printed) => ("printed", ""),
        Some(PrintState::Failed(key)) => ("failed", key),
    };
    app.set_print_state(print_state.into());
    app.set_print_message(print_message.into());
    app.set_point_print_state(print_state.into());
}

fn home_groups(expanded: bool) -> ModelRc<TileGroup> {
    let groups: Vec<TileGroup> = home_layout(!expanded)
        .into_iter()
        .map(|(group, services)| {
            let tiles: Vec<TileData> = services
                .into_iter()
                .map(|service| TileData {
                    id: service.key().into(),
                    icon: icons::for_service(service).into(),
                })
                .collect();
            TileGroup {
                key: group.map_or("", |g| g.key()).into(),
                tiles: ModelRc::new(VecModel::from(tiles)),
            }
        })
        .collect();
    ModelRc::new(VecModel::from(groups))
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

/// The header clock, in the resident's language.
pub fn clock_text(language: Language, now: chrono::NaiveDateTime) -> String {
    match language {
        Language::ZhCn => now.format("%Y年%-m月%-d日 %H:%M").to_string(),
        Language::EnUs => now.format("%Y-%m-%d %H:%M").to_string(),
    }
}
