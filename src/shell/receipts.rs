//! Receipt content from what the screen showed: the same layout, translated into the
//! resident's language, with the holder masked.

use crate::config::Config;
use crate::core::receipt::{Receipt, ReceiptLabels, ReceiptLine, ReceiptReference};
use crate::core::records::{Cell, Layout};
use crate::core::{CertificationOutcome, Confirmation, ProxyReceipt, ServiceId, Verdict, View};
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

/// A cell as text: its data followed by its key's words.
fn cell_text(translator: &Translator, view: &View, cell: &Cell) -> String {
    if cell.key.is_empty() {
        cell.text.clone()
    } else {
        format!("{}{}", cell.text, translator.tr(view.language, cell.key))
    }
}

/// A records answer on paper: the summary lines, then one line per table row (its first
/// cell as the label, the others after it), and the 流水号.
pub fn records_receipt(
    translator: &Translator,
    config: &Config,
    view: &View,
    service: ServiceId,
    year: Option<i32>,
    layout: &Layout,
    reference: &str,
) -> Receipt {
    let tr = |key: &str| translator.tr(view.language, key);
    let mut extra_lines = Vec::new();
    if let Some(year) = year {
        extra_lines.push(ReceiptLine {
            label: tr("query-year"),
            value: year.to_string(),
        });
    }
    extra_lines.extend(layout.summary.iter().map(|line| ReceiptLine {
        label: tr(line.label_key),
        value: cell_text(translator, view, &line.value),
    }));
    extra_lines.extend(layout.rows.iter().map(|row| {
        let mut cells = row.iter().map(|cell| cell_text(translator, view, cell));
        ReceiptLine {
            label: cells.next().unwrap_or_default(),
            value: cells
                .filter(|text| !text.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }));
    let now = chrono::Local::now();
    Receipt {
        labels: labels(translator, view),
        terminal_id: config.terminal.id.clone(),
        location: config.location.address.clone(),
        service: tr(&format!("service-{}", service.key())),
        time: now.format("%Y-%m-%d %H:%M:%S").to_string(),
        holder_masked: view.holder.as_ref().map(|h| h.masked_name.clone()),
        id_masked: view.holder.as_ref().map(|h| h.masked_id.clone()),
        result: Some(tr("receipt-result-ok")),
        reference: Some(ReceiptReference {
            journal_sequence: None,
            backend_serial: reference.to_string(),
        }),
        verify_url: Some(format!("{VERIFY_BASE}/{}/{reference}", config.terminal.id)),
        extra_lines,
    }
}

/// The enrollment proof on the receipt printer while the A4 printer is down: its lines,
/// the back end's code and address, and on top that it is not an official proof.
pub fn proof_receipt_copy(
    translator: &Translator,
    config: &Config,
    view: &View,
    proof: &crate::core::ProofAnswer,
) -> Receipt {
    let tr = |key: &str| translator.tr(view.language, key);
    let mut extra_lines = vec![ReceiptLine {
        label: String::new(),
        value: tr("proof-receipt-copy-note"),
    }];
    extra_lines.extend(proof.enrollment.iter().map(|line| ReceiptLine {
        label: tr(crate::core::records::insurance_kind_key(line.kind)),
        value: format!(
            "{} {} {}",
            tr(crate::core::records::insurance_status_key(line.status)),
            line.since,
            line.place
        ),
    }));
    extra_lines.push(ReceiptLine {
        label: tr("proof-verification-code"),
        value: proof.verification_code.clone(),
    });
    Receipt {
        labels: labels(translator, view),
        terminal_id: config.terminal.id.clone(),
        location: config.location.address.clone(),
        service: tr("proof-receipt-copy-title"),
        time: proof.issued_at.clone(),
        holder_masked: Some(proof.masked_name.clone()),
        id_masked: Some(proof.masked_id_number.clone()),
        result: Some(tr("proof-receipt-copy-note")),
        reference: Some(ReceiptReference {
            journal_sequence: None,
            backend_serial: proof.reference.clone(),
        }),
        verify_url: Some(proof.verify_url.clone()),
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
    let hours = crate::ui::finder::hours_text(translator, view.language, point);
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

/// A card service's receipt: what was done, the card (masked), the 流水号 and the back end's
/// verification code, whose address is the QR code. Never a digit of a PIN.
pub fn card_service_receipt(
    translator: &Translator,
    config: &Config,
    view: &View,
    service: ServiceId,
    confirmation: Option<&Confirmation>,
) -> Receipt {
    let tr = |key: &str| translator.tr(view.language, key);
    let mut extra_lines = Vec::new();
    if let Some(confirmation) = confirmation {
        extra_lines.push(ReceiptLine {
            label: tr("receipt-card-number"),
            value: confirmation.masked_card_number.clone(),
        });
        extra_lines.push(ReceiptLine {
            label: tr("receipt-card-state"),
            value: tr(crate::core::records::card_state_key(confirmation.state)),
        });
        if let Some(code) = &confirmation.verification_code {
            extra_lines.push(ReceiptLine {
                label: tr("receipt-verification-code"),
                value: code.clone(),
            });
        }
    }
    let (holder_masked, id_masked) = present(view);
    Receipt {
        labels: labels(translator, view),
        terminal_id: config.terminal.id.clone(),
        location: config.location.address.clone(),
        service: tr(&format!("service-{}", service.key())),
        time: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        holder_masked,
        id_masked,
        result: Some(tr("receipt-result-done")),
        reference: confirmation.map(|confirmation| ReceiptReference {
            journal_sequence: None,
            backend_serial: confirmation.reference.clone(),
        }),
        verify_url: confirmation.and_then(|confirmation| confirmation.verify_url.clone()),
        extra_lines,
    }
}

/// Who identified at the terminal, masked: the card's holder, else the ID card's bearer.
fn present(view: &View) -> (Option<String>, Option<String>) {
    match (&view.holder, &view.id_card) {
        (Some(holder), _) => (
            Some(holder.masked_name.clone()),
            Some(holder.masked_id.clone()),
        ),
        (None, Some(id_card)) => (
            Some(id_card.masked_name.clone()),
            Some(id_card.masked_id.clone()),
        ),
        (None, None) => (None, None),
    }
}

/// A certification's receipt: whose (for 帮你认 the pensioner and the helper, both masked),
/// the cycle, certified until when — or that it was received and how the verdict comes —
/// the 流水号 and the verification code.
pub fn certification_receipt(
    translator: &Translator,
    config: &Config,
    view: &View,
    outcome: &CertificationOutcome,
) -> Receipt {
    let tr = |key: &str| translator.tr(view.language, key);
    let (holder_masked, id_masked) = present(view);
    let mut extra_lines = vec![ReceiptLine {
        label: tr("receipt-certification-cycle"),
        value: outcome.cycle_year.to_string(),
    }];
    if outcome.for_relative {
        extra_lines.insert(
            0,
            ReceiptLine {
                label: tr("receipt-pensioner"),
                value: outcome.masked_pensioner.clone(),
            },
        );
        if let Some(helper) = &holder_masked {
            extra_lines.insert(
                1,
                ReceiptLine {
                    label: tr("receipt-helper"),
                    value: helper.clone(),
                },
            );
        }
    }
    let (result, reference, verify_url) = match &outcome.verdict {
        Verdict::Certified {
            until,
            reference,
            verification_code,
            verify_url,
        } => {
            extra_lines.push(ReceiptLine {
                label: tr("receipt-certified-until"),
                value: crate::ui::date_text(view.language, *until),
            });
            if let Some(code) = verification_code {
                extra_lines.push(ReceiptLine {
                    label: tr("receipt-verification-code"),
                    value: code.clone(),
                });
            }
            (
                tr("receipt-result-certified"),
                Some(reference.clone()),
                verify_url.clone(),
            )
        }
        Verdict::Received { reference } => {
            (tr("receipt-result-received"), Some(reference.clone()), None)
        }
        Verdict::Rejected { .. } => (tr("receipt-result-not-certified"), None, None),
    };
    Receipt {
        labels: labels(translator, view),
        terminal_id: config.terminal.id.clone(),
        location: config.location.address.clone(),
        service: tr(&format!(
            "service-{}",
            if outcome.for_relative {
                ServiceId::ProxyCertification
            } else {
                ServiceId::PensionCertification
            }
            .key()
        )),
        time: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        // For oneself the pensioner is who identified; for a relative the header names the
        // pensioner and the lines name the helper.
        holder_masked: if outcome.for_relative {
            Some(outcome.masked_pensioner.clone())
        } else {
            holder_masked
        },
        id_masked: if outcome.for_relative {
            None
        } else {
            id_masked
        },
        result: Some(result),
        reference: reference.map(|reference| ReceiptReference {
            journal_sequence: None,
            backend_serial: reference,
        }),
        verify_url,
        extra_lines,
    }
}

/// A binding change's receipt: the pensioner, the relative added or removed (masked), how
/// many are bound now, the 流水号.
pub fn proxies_receipt(
    translator: &Translator,
    config: &Config,
    view: &View,
    receipt: &ProxyReceipt,
) -> Receipt {
    let tr = |key: &str| translator.tr(view.language, key);
    let (_, id_masked) = present(view);
    Receipt {
        labels: labels(translator, view),
        terminal_id: config.terminal.id.clone(),
        location: config.location.address.clone(),
        service: tr("service-proxy-bindings"),
        time: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        holder_masked: Some(receipt.masked_name.clone()),
        id_masked,
        result: Some(tr(if receipt.added {
            "receipt-result-proxy-added"
        } else {
            "receipt-result-proxy-removed"
        })),
        reference: Some(ReceiptReference {
            journal_sequence: None,
            backend_serial: receipt.reference.clone(),
        }),
        verify_url: None,
        extra_lines: vec![
            ReceiptLine {
                label: tr("receipt-proxy"),
                value: receipt.changed.clone(),
            },
            ReceiptLine {
                label: tr("receipt-proxy-count"),
                value: receipt.count.to_string(),
            },
        ],
    }
}
