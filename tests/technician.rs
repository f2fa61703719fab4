//! Technician mode on the whole kiosk (see `support`): the hidden corner's gesture, the
//! sign-in against the demo configuration's argon2id hash (technician 1001, PIN 802461), the
//! lockout on a hand-set wall clock and its expiry, the self-test and test page on the demo
//! devices, the defaults kept in the store, and the audit trail in the journal.

mod support;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use renshe_kiosk::ui::{PageId, TechnicianAdapter, TechnicianStep};
use slint::{ComponentHandle, Model};
use support::Rig;

// Neither occurs in the generated demo catalogue (its coordinates are digits too), so
// finding either in the data directory would mean a PIN was written.
const PIN: &str = "802461";
const WRONG: &str = "740162";

fn corner_tap(rig: &mut Rig, hold_seconds: u64) {
    rig.app.invoke_technician_corner(true);
    if hold_seconds > 0 {
        rig.advance(hold_seconds);
    }
    rig.app.invoke_technician_corner(false);
    rig.lay_out();
}

fn gesture(rig: &mut Rig) {
    for _ in 0..4 {
        corner_tap(rig, 0);
    }
    corner_tap(rig, 3);
}

fn step(rig: &Rig) -> TechnicianStep {
    rig.app.global::<TechnicianAdapter>().get_step()
}

fn notice(rig: &Rig) -> (String, String) {
    let adapter = rig.app.global::<TechnicianAdapter>();
    (
        adapter.get_notice_key().to_string(),
        adapter.get_notice_number().to_string(),
    )
}

/// Types the id and `pin` on the sign-in keypad and signs in; waits for the verdict.
fn sign_in(rig: &mut Rig, pin: &str) {
    rig.tap("工号");
    for _ in 0..8 {
        rig.tap("删除");
    }
    for digit in "1001".chars() {
        rig.tap(&digit.to_string());
    }
    rig.tap("密码");
    for digit in pin.chars() {
        rig.tap(&digit.to_string());
    }
    assert_eq!(
        rig.app
            .global::<TechnicianAdapter>()
            .get_pin_dots()
            .chars()
            .count(),
        pin.len(),
        "a dot per digit"
    );
    rig.tap("登录");
    rig.until("the sign-in to be checked", |app| {
        !app.global::<TechnicianAdapter>().get_checking()
    });
}

/// The technician lines of the journal, oldest first; the chain must verify.
fn audit_trail(engine: &renshe_kiosk::backend::engine::Engine) -> Vec<String> {
    let (entries, chain) = tokio::runtime::Handle::current()
        .block_on(engine.journal_audit())
        .expect("journal");
    assert!(chain.is_ok(), "the chain verifies: {chain:?}");
    entries
        .iter()
        .filter(|e| e.kind == renshe_kiosk::store::journal::EntryKind::Intent)
        .filter_map(|e| e.operation.strip_prefix("technician.").map(str::to_owned))
        .collect()
}

#[test]
fn technician_mode_from_the_gesture_to_leaving() {
    // This machine has no sound card: the self-test would rightly call the speaker faulty.
    let (mut rig, config, _dir) =
        Rig::start_with(|text| text.replace("voice = \"alsa\"", "voice = \"none\""));
    let wall = Arc::new(AtomicI64::new(1_790_000_000_000));
    let clock = wall.clone();
    rig.kiosk
        .technician
        .set_wall_clock(Arc::new(move || clock.load(Ordering::SeqCst)));

    // Ordinary taps in the corner do nothing.
    for _ in 0..6 {
        corner_tap(&mut rig, 0);
    }
    assert!(!rig.app.get_maintenance());
    assert_eq!(rig.app.get_page(), PageId::Attract);

    gesture(&mut rig);
    assert!(rig.app.get_maintenance(), "the gesture opens the sign-in");
    assert_eq!(
        rig.kiosk.metrics.mode(),
        renshe_kiosk::metrics::TerminalMode::Maintenance,
        "heartbeats, metrics and /health say maintenance"
    );
    assert_eq!(step(&rig), TechnicianStep::SignIn);

    // Four wrong PINs say how many tries are left; the fifth locks sign-in.
    for left in (1..=4).rev() {
        sign_in(&mut rig, WRONG);
        assert_eq!(
            notice(&rig),
            ("tech-notice-refused".into(), left.to_string())
        );
    }
    sign_in(&mut rig, WRONG);
    assert_eq!(notice(&rig), ("tech-notice-locked".into(), "15".into()));
    // Locked: even the right PIN is refused, and the lock says how long is left.
    wall.fetch_add(10 * 60_000, Ordering::SeqCst);
    sign_in(&mut rig, PIN);
    assert_eq!(notice(&rig), ("tech-notice-locked".into(), "5".into()));
    assert_eq!(step(&rig), TechnicianStep::SignIn);
    // The lock runs out on the wall clock.
    wall.fetch_add(5 * 60_000 + 1, Ordering::SeqCst);
    sign_in(&mut rig, PIN);
    assert_eq!(
        step(&rig),
        TechnicianStep::Status,
        "signed in after the lockout"
    );

    // A resident's tap under the technician's pages starts nothing.
    rig.app.invoke_service_tapped("contribution-query".into());
    rig.lay_out();
    assert!(rig.app.get_maintenance());
    assert_eq!(rig.app.get_page(), PageId::Attract);

    // The self-test on the demo devices: every row ok or unknown, the routes' included.
    rig.tap("运行自检");
    rig.until("the self-test", |app| {
        app.global::<TechnicianAdapter>()
            .get_running_key()
            .is_empty()
    });
    let checks: Vec<_> = rig
        .app
        .global::<TechnicianAdapter>()
        .get_checks()
        .iter()
        .collect();
    let titles: Vec<String> = checks.iter().map(|c| c.title.to_string()).collect();
    for part in [
        "card reader",
        "printer",
        "route",
        "records",
        "disk",
        "clock",
    ] {
        assert!(
            titles.iter().any(|title| title.starts_with(part)),
            "{part} in {titles:?}"
        );
    }
    for check in &checks {
        assert_ne!(check.state, "failure", "{check:?}");
    }
    assert_eq!(
        rig.app.global::<TechnicianAdapter>().get_last_key(),
        "tech-done-self-test"
    );
    assert!(!rig.app.global::<TechnicianAdapter>().get_last_problem());

    // The test page on the virtual printer, and elderly mode by default from now on.
    rig.tap("维护操作");
    assert_eq!(step(&rig), TechnicianStep::Actions);
    rig.tap("打印测试页");
    rig.until("the test page", |app| {
        app.global::<TechnicianAdapter>().get_last_key() == "tech-done-test-print"
    });
    assert!(!rig.app.global::<TechnicianAdapter>().get_last_problem());
    rig.tap("默认长辈模式：关（点按开启）");
    assert!(rig.app.global::<TechnicianAdapter>().get_default_elderly());

    rig.tap("退出维护，恢复服务");
    assert!(!rig.app.get_maintenance());
    assert_eq!(rig.app.get_page(), PageId::Attract);
    assert_eq!(
        rig.kiosk.metrics.mode(),
        renshe_kiosk::metrics::TerminalMode::InService
    );
    assert!(
        rig.kiosk.controller.elderly(),
        "the next resident starts in elderly mode"
    );

    // The audit trail: every entry, failure, action and exit, in the chained journal.
    let engine = rig.kiosk.backend.engine().clone();
    // Audit lines are journaled in the background: the last one may still be on its way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut trail = audit_trail(&engine);
    while trail.last().map(String::as_str) != Some("left.left")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
        trail = audit_trail(&engine);
    }
    assert_eq!(
        trail,
        [
            "entered",
            "sign-in-refused",
            "sign-in-refused",
            "sign-in-refused",
            "sign-in-refused",
            "sign-in-locked",
            "sign-in-locked",
            "sign-in",
            "action.self-test",
            "action.test-print",
            "defaults",
            "left.left",
        ]
    );
    // The defaults survive a restart: they are in the store.
    let stored = renshe_kiosk::store::Store::open_read_only(&config.database_path())
        .and_then(|store| store.terminal_defaults())
        .expect("defaults");
    assert_eq!(stored, Some(("zh-CN".into(), true)));
    // No PIN anywhere on disk.
    let bytes = support::data_bytes(&config);
    for pin in [PIN, WRONG] {
        assert!(!support::contains(&bytes, pin.as_bytes()), "{pin} on disk");
    }
}
