//! No resident's data in any log line: the whole demo kiosk (pcscd + vpcd cards, the virtual
//! ID-card reader and printer, the demo back end on loopback) runs sessions of the demo
//! residents — the canaries — with every log line of every module captured at TRACE through
//! the kiosk's own line format into a file. Then every line is searched for each resident's
//! name (characters and pinyin), ID number, card number, address and the PINs typed.
//! Masked forms (张*芳, 500103********1220, ******345) are allowed; whole values are not.
//!
//! The search must be able to fail: a canary planted through the same subscriber first is
//! found, and is the only hit allowed.

mod support;

use std::path::Path;

use renshe_kiosk::ui::{CardServiceAdapter, CardServiceStep, PageId, PrintStep, QueryAdapter};
use slint::ComponentHandle;
use support::Rig;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

const PLANTED: &str = "planted-canary";
const NEW_PIN: &str = "802211";

/// What must never be logged: every demo resident's data and the PINs the test types.
fn secrets() -> Vec<String> {
    let mut secrets = Vec::new();
    for holder in renshe_kiosk::card::sim::demo_residents() {
        secrets.push(holder.name.clone());
        secrets.push(renshe_kiosk::locator::text::pinyin_keys(&holder.name).full);
        secrets.push(holder.id_number.as_str().to_owned());
        secrets.push(holder.card_number.clone());
    }
    for card in renshe_kiosk::idcard::sim::demo_id_cards() {
        secrets.push(card.text.name.clone());
        secrets.push(card.text.id_number.clone());
        secrets.push(card.text.address.clone());
    }
    secrets.sort();
    secrets.dedup();
    secrets
}

/// Every (line number, secret) where a line holds a secret. A PIN counts only standing
/// alone (not inside a longer run of digits or hex, such as a key or a timestamp).
fn leaks(log: &str, secrets: &[String]) -> Vec<(usize, String)> {
    let pins = regex::Regex::new(&format!(
        "(^|[^0-9A-Fa-f])({}|{NEW_PIN})([^0-9A-Fa-f]|$)",
        renshe_kiosk::card::sim::DEMO_PIN
    ))
    .expect("regex");
    let mut found = Vec::new();
    for (number, line) in log.lines().enumerate() {
        let lower = line.to_lowercase();
        for secret in secrets {
            if lower.contains(&secret.to_lowercase()) {
                found.push((number + 1, secret.clone()));
            }
        }
        if let Some(pin) = pins.captures(line).and_then(|c| c.get(2)) {
            found.push((number + 1, pin.as_str().to_owned()));
        }
    }
    found
}

/// Captures every line of every module at TRACE into `path`, in the kiosk's text format.
fn capture_logs(path: &Path) {
    let file = std::fs::File::create(path).expect("log file");
    let config = support::config(&tempfile::tempdir().expect("tempdir"));
    tracing_subscriber::registry()
        .with(
            renshe_kiosk::logging::text_layer(
                renshe_kiosk::logging::Identity::of(&config),
                std::sync::Mutex::new(file),
                false,
            )
            .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
        )
        .init();
}

#[test]
fn no_log_line_holds_a_residents_name_id_number_card_number_or_pin() {
    let logs = tempfile::tempdir().expect("tempdir");
    let path = logs.path().join("kiosk.log");
    capture_logs(&path);
    let secrets = secrets();
    let residents = renshe_kiosk::card::sim::demo_residents();
    tracing::info!(
        marker = PLANTED,
        card = %residents[0].card_number,
        "a canary the search must find"
    );

    let (mut rig, _config, _dir) = Rig::start();
    // Each card holder: a query behind the PIN on the screen's pad, its receipt, card out.
    for (index, service) in [(0, "缴费记录"), (1, "参保信息"), (3, "缴费记录")] {
        rig.insert(index);
        rig.tap(service);
        rig.type_pin(renshe_kiosk::card::sim::DEMO_PIN);
        rig.until("the records", |app| {
            app.global::<QueryAdapter>().get_step() == renshe_kiosk::ui::QueryStep::Answered
        });
        rig.tap("打印凭证");
        rig.until("the receipt", |app| {
            app.global::<QueryAdapter>().get_print_step() == PrintStep::Printed
        });
        rig.take_out();
    }
    // A PIN change: the old PIN, then a new one twice.
    rig.insert(0);
    rig.tap("修改密码");
    rig.type_pin(renshe_kiosk::card::sim::DEMO_PIN);
    rig.type_pin(NEW_PIN);
    rig.type_pin(NEW_PIN);
    rig.until("the changed PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::PinChanged
    });
    rig.take_out();
    // A loss report by the ID number and name typed on the keypads, and its receipt.
    let typed = &residents[1];
    rig.tap("点击开始");
    rig.tap("临时挂失");
    rig.tap("输入身份证号码");
    for key in typed.id_number.as_str().chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("下一步");
    for key in renshe_kiosk::locator::text::pinyin_keys(&typed.name)
        .full
        .chars()
    {
        rig.tap(&key.to_string());
    }
    rig.tap("完成");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    rig.tap("确认办理");
    rig.until("the loss report", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    // Its release by the ID card on the reader, then the ID card of the resident without a
    // social security card; the last session ends by the idle timeout.
    rig.kiosk.id_card.demo_place(1);
    let reader = rig.kiosk.id_card.clone();
    rig.until("the ID card to be read", move |_| {
        reader.claimant().is_some()
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    rig.until("its event to be handled", |_| true);
    rig.home();
    rig.tap("挂失解除");
    if rig.card_step() == CardServiceStep::ChooseIdentification {
        rig.tap("用身份证核实");
    }
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    rig.tap("确认办理");
    rig.until("the release", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    rig.kiosk.id_card.demo_take();
    rig.home();
    rig.kiosk.id_card.demo_place(4);
    rig.until("the ID card to be read", |app| {
        app.get_page() == PageId::Home
    });
    rig.advance(200);
    rig.kiosk.id_card.demo_take();
    rig.until("the attract page", |app| app.get_page() == PageId::Attract);
    drop(rig);

    let log = std::fs::read_to_string(&path).expect("the captured log");
    let lines = log.lines().count();
    eprintln!(
        "{lines} log lines captured, {} secrets searched",
        secrets.len()
    );
    if let Some(keep) = std::env::var_os("LOG_PRIVACY_KEEP") {
        let _ = std::fs::copy(&path, keep);
    }
    assert!(lines > 200, "TRACE captured the run: {lines} lines");
    assert!(
        log.contains("event=\"session.ended\"") && log.contains("terminal=CQ-DEMO-0001"),
        "the kiosk's own lines are in the capture"
    );
    let (planted, others): (Vec<_>, Vec<_>) =
        leaks(&log, &secrets).into_iter().partition(|(line, _)| {
            log.lines()
                .nth(line - 1)
                .is_some_and(|l| l.contains(PLANTED))
        });
    assert_eq!(
        planted,
        [(
            planted.first().map_or(0, |p| p.0),
            residents[0].card_number.clone()
        )],
        "the search finds the planted canary"
    );
    let shown: Vec<String> = others
        .iter()
        .take(10)
        .map(|(line, secret)| {
            format!(
                "line {line} holds {secret:?}: {}",
                log.lines().nth(line - 1).unwrap_or_default()
            )
        })
        .collect();
    assert!(
        others.is_empty(),
        "{} log lines hold a resident's data:\n{}",
        others.len(),
        shown.join("\n")
    );
}
