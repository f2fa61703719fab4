//! Pension certification when the certification route goes down between the status and
//! the upload, on the whole kiosk (see `support`): the resident is told the attempt was
//! received and how the result will come, gets a receipt, and the attempt waits sealed in
//! the outbox — no still in the clear on disk.

mod support;

use renshe_kiosk::ui::{CertificationAdapter, CertificationStep, PageId};
use slint::ComponentHandle;
use support::{contains, data_bytes, ledger, set_faults, Rig};

/// The demo tray: 王建国's social security card (born 1958, a pensioner due this year).
const WANG_JIANGUO_CARD: usize = 3;

#[test]
fn an_attempt_is_received_and_queued_when_the_route_goes_down_before_the_upload() {
    let (mut rig, config, _dir) = Rig::start();
    rig.insert(WANG_JIANGUO_CARD);
    rig.tap("养老资格认证");
    rig.type_pin("123456");
    rig.until("the status", |app| {
        app.get_page() == PageId::Certification
            && app.global::<CertificationAdapter>().get_step() == CertificationStep::Status
    });
    // The certification route goes down after the status, before the stills go up.
    set_faults(&config, r#"{"unavailable": ["/v1/certifications"]}"#);
    rig.tap("开始刷脸认证");
    rig.tap("准备好了");
    rig.until("the attempt to be received", |app| {
        app.global::<CertificationAdapter>().get_step() == CertificationStep::Received
    });
    assert!(ledger(&config).is_empty(), "nothing reached the back end");
    rig.tap("打印凭条");
    rig.until("the receipt", |app| {
        app.global::<CertificationAdapter>().get_print_step()
            == renshe_kiosk::ui::PrintStep::Printed
    });
    rig.take_out();
    // It waits in the outbox, sealed.
    let store = renshe_kiosk::store::Store::open(&config.database_path()).expect("store");
    let queued: Vec<_> = store
        .outbox_all()
        .expect("outbox")
        .into_iter()
        .filter(|m| m.kind == "queue_certification")
        .collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        queued[0].state,
        renshe_kiosk::store::outbox::MessageState::Pending
    );
    drop(store);
    drop(rig);
    let bytes = data_bytes(&config);
    use renshe_camera::Camera;
    let still = renshe_camera::SimCamera::new(renshe_camera::Scenario::Face)
        .capture()
        .expect("a still");
    assert!(
        !contains(&bytes, &still.as_jpeg()[..160]),
        "a face still is on disk"
    );
    // Nor as the base64 the queued message carries.
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&still.as_jpeg()[..156]);
    assert!(
        !contains(&bytes, encoded.as_bytes()),
        "a queued still is on disk in the clear"
    );
}
