//! Receipt content from what the screen showed: the same rows, translated into the
//! resident's language, with the holder masked.

use crate::config::Config;
use crate::core::receipt::{Receipt, ReceiptLabels, ReceiptLine};
use crate::core::{QueryRow, ServiceId, View};
use crate::i18n::Translator;

/// The verification address printed as a QR code; the back end's verification page.
const VERIFY_BASE: &str = "https://rs.cq.gov.cn.example/verify";

pub fn labels(translator: &Translator, view: &View) -> ReceiptLabels {
    let tr = |key: &str| translator.tr(view.language, key);
    ReceiptLabels {
        title: tr("receipt-title"),
        terminal: tr("receipt-terminal"),
        location: tr("receipt-location"),
        service: tr("receipt-service"),
        time: tr("receipt-time"),
        holder: tr("receipt-holder"),
        id_number: tr("receipt-id"),
        result: tr("receipt-result"),
        reference: tr("receipt-reference"),
        verify_hint: tr("receipt-verify"),
        hotline: tr("receipt-hotline"),
    }
}

pub fn query_receipt(
    translator: &Translator,
    config: &Config,
    view: &View,
    service: ServiceId,
    rows: &[QueryRow],
) -> Receipt {
    let tr = |key: &str| translator.tr(view.language, key);
    let extra_lines = rows
        .iter()
        .map(|row| ReceiptLine {
            label: if row.label_key.is_empty() {
                row.label.clone()
            } else {
                tr(row.label_key)
            },
            value: if row.value_key.is_empty() {
                row.value.clone()
            } else {
                format!("{}{}", row.value, tr(row.value_key))
            },
        })
        .collect();
    let now = chrono::Local::now();
    let serial = now.format("%Y%m%d%H%M%S").to_string();
    Receipt {
        labels: labels(translator, view),
        terminal_id: config.terminal.id.clone(),
        location: config.location.address.clone(),
        service: tr(&format!("service-{}", service.key())),
        time: now.format("%Y-%m-%d %H:%M:%S").to_string(),
        holder_masked: view.holder.as_ref().map(|h| h.masked_name.clone()),
        id_masked: view.holder.as_ref().map(|h| h.masked_id.clone()),
        result: Some(tr("receipt-result-ok")),
        reference: None,
        verify_url: Some(format!("{VERIFY_BASE}/{}/{serial}", config.terminal.id)),
        extra_lines,
    }
}

/// A slip with a service point's name, address, hours and phone, and its navigation QR code.
pub fn service_point_slip(
    translator: &Translator,
    config: &Config,
    view: &View,
    point: &crate::locator::catalogue::ServicePoint,
) -> Receipt {
    let tr = |key: &str| translator.tr(view.language, key);
    let line = |key: &str, value: &str| ReceiptLine {
        label: tr(key),
        value: value.to_string(),
    };
    let hours = if point.hours.always_open {
        tr("hours-24h")
    } else {
        point.hours.summary()
    };
    Receipt {
        labels: labels(translator, view),
        terminal_id: config.terminal.id.clone(),
        location: config.location.address.clone(),
        service: tr("slip-title"),
        time: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        holder_masked: None,
        id_masked: None,
        result: None,
        reference: None,
        verify_url: Some(crate::locator::navigation_url(point)),
        extra_lines: vec![
            ReceiptLine {
                label: String::new(),
                value: point.name.clone(),
            },
            line("finder-address", &point.address),
            line("finder-hours", &hours),
            line("finder-phone", &point.phone),
        ],
    }
}
