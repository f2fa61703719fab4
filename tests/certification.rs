//! Pension certification and its proxy bindings (亲情代办) end to end on the whole kiosk (see `support`): the simulated camera
//! on its thread, the demo back end's certification desk, the virtual ID-card reader and
//! cards. 帮你认 with a failed attempt first, then the pensioner's own card finds the year
//! certified; one ledger entry per attempt, and no face or name on disk.

mod support;

use renshe_kiosk::ui::{
    CertificationAdapter, CertificationStep, PageId, ProxiesAdapter, ProxiesStep,
};
use slint::ComponentHandle;
use slint::Model;
use support::{contains, data_bytes, ledger, set_faults, Rig};

/// The demo tray: 李明's ID card, 王建国's social security card (born 1958, a pensioner).
const LI_MING_ID_CARD: usize = 1;
const WANG_JIANGUO_CARD: usize = 3;

fn step(rig: &Rig) -> CertificationStep {
    rig.app.global::<CertificationAdapter>().get_step()
}

#[test]
fn certification_for_a_relative_and_for_oneself_then_proxy_bindings() {
    let (mut rig, config, _dir) = Rig::start();

    // 帮你认: 李明 identifies with his ID card and types his father's number and name.
    rig.kiosk.id_card.demo_place(LI_MING_ID_CARD);
    rig.until("the ID card to be read", |app| {
        app.get_page() == PageId::Home
    });
    rig.tap("帮亲人认证");
    for key in "500101195801300170".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("下一步");
    for key in "wangjianguo".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("完成");
    rig.until("the pensioner's status", |app| {
        app.get_page() == PageId::Certification
            && app.global::<CertificationAdapter>().get_step() == CertificationStep::Status
    });
    let adapter = rig.app.global::<CertificationAdapter>();
    assert_eq!(adapter.get_masked_name(), "王*国");
    assert!(adapter.get_for_relative());
    assert!(!adapter.get_due_by().is_empty(), "due this year");

    // The first attempt fails liveness at the back end: why, and the attempts left.
    set_faults(&config, r#"{"certification_verdict": "not_live"}"#);
    rig.tap("开始刷脸认证");
    assert_eq!(step(&rig), CertificationStep::Preview);
    rig.tap("准备好了");
    assert_eq!(step(&rig), CertificationStep::Action);
    rig.until("the verdict", |app| {
        app.global::<CertificationAdapter>().get_step() == CertificationStep::Rejected
    });
    let adapter = rig.app.global::<CertificationAdapter>();
    assert_eq!(adapter.get_message_key(), "certification-rejected-not-live");
    assert_eq!(adapter.get_attempts_left(), 2);
    assert_eq!(ledger(&config), ["submit_certification"]);

    // Again, with the back end's new actions: certified, once.
    set_faults(&config, "{}");
    rig.tap("再试一次");
    assert_eq!(step(&rig), CertificationStep::Preview);
    rig.tap("准备好了");
    rig.until("the certification", |app| {
        app.global::<CertificationAdapter>().get_step() == CertificationStep::Certified
    });
    let adapter = rig.app.global::<CertificationAdapter>();
    assert!(!adapter.get_certified_until().is_empty());
    assert_eq!(adapter.get_verification_code().len(), 9);
    assert_eq!(
        ledger(&config),
        ["submit_certification", "submit_certification"],
        "one entry per attempt"
    );
    rig.tap("打印凭条");
    rig.until("the receipt", |app| {
        app.global::<CertificationAdapter>().get_print_step()
            == renshe_kiosk::ui::PrintStep::Printed
    });
    rig.kiosk.id_card.demo_take();
    rig.home();

    // The pensioner's own card and PIN: certified already this year, nothing to do.
    rig.insert(WANG_JIANGUO_CARD);
    rig.tap("养老资格认证");
    rig.type_pin("123456");
    rig.until("the status", |app| {
        app.global::<CertificationAdapter>().get_step() == CertificationStep::NothingToDo
    });
    assert_eq!(
        rig.app.global::<CertificationAdapter>().get_message_key(),
        "certification-already"
    );
    assert_eq!(ledger(&config).len(), 2, "nothing more was sent");

    // 亲情代办 with the same card (its PIN holds): bind 李明, then unbind him, each once.
    rig.home();
    rig.tap("亲情代办");
    rig.until("the list", |app| {
        app.get_page() == PageId::Proxies
            && app.global::<ProxiesAdapter>().get_step() == ProxiesStep::List
    });
    assert_eq!(rig.app.global::<ProxiesAdapter>().get_rows().row_count(), 0);
    rig.tap("添加代办亲属");
    for key in "500106198511211351".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("下一步");
    for key in "liming".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("完成");
    rig.tap("确认办理");
    rig.until("the binding", |app| {
        app.global::<ProxiesAdapter>().get_step() == ProxiesStep::Done
    });
    assert_eq!(rig.app.global::<ProxiesAdapter>().get_count(), 1);
    rig.tap("返回");
    rig.until("the list again", |app| {
        app.global::<ProxiesAdapter>().get_step() == ProxiesStep::List
    });
    let rows = rig.app.global::<ProxiesAdapter>().get_rows();
    assert_eq!(rows.row_count(), 1);
    assert_eq!(
        rows.row_data(0).map(|row| row.name.to_string()),
        Some("李*".to_string())
    );
    rig.tap("解除");
    rig.tap("确认办理");
    rig.until("the unbinding", |app| {
        app.global::<ProxiesAdapter>().get_step() == ProxiesStep::Done
    });
    assert_eq!(rig.app.global::<ProxiesAdapter>().get_count(), 0);
    assert_eq!(
        ledger(&config),
        [
            "submit_certification",
            "submit_certification",
            "add_proxy",
            "remove_proxy"
        ]
    );
    rig.take_out();

    // No still, no name and no ID number reached the disk.
    drop(rig);
    let bytes = data_bytes(&config);
    use renshe_camera::Camera;
    let still = renshe_camera::SimCamera::new(renshe_camera::Scenario::Face)
        .capture()
        .expect("a still");
    // Every still of this encoder starts with the same header and quantisation tables.
    let header = &still.as_jpeg()[..160];
    assert!(!contains(&bytes, header), "a face still is on disk");
    for holder in renshe_kiosk::card::sim::demo_residents() {
        for secret in [holder.name.as_str(), holder.id_number.as_str()] {
            assert!(!contains(&bytes, secret.as_bytes()), "plain text on disk");
        }
    }
}
