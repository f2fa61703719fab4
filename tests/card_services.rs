//! Card services end to end, as a resident meets them: the whole kiosk assembled on a window
//! of Slint's testing backend, the demo tray's virtual cards in real pcscd + vpcd, the demo
//! back end on loopback (real HTTP, a real SQLite journal), the virtual printer on a real
//! pty. The test taps the screen by the labels a screen reader would use and checks what the
//! window shows and what the back end's ledger holds.
//!
//! One test function: the testing backend can be installed once per process, and the demo
//! tray owns vpcd's ports.

mod support;

use renshe_kiosk::card::sim::PIN_TRIES;
use renshe_kiosk::ui::{
    CardServiceAdapter, CardServiceStep, PageId, PinPadAdapter, QueryAdapter, QueryStep,
};
use slint::ComponentHandle;
use support::{contains, data_bytes, ledger, Rig};

#[test]
fn card_services_through_pcscd_and_the_demo_back_end() {
    let (mut rig, config, _dir) = Rig::start();

    // Queries ask for the PIN first, on the card itself (VERIFY through pcscd).
    rig.insert(0);
    assert_eq!(rig.app.get_page(), PageId::Home);
    rig.tap("缴费记录");
    assert_eq!(
        rig.app.global::<QueryAdapter>().get_step(),
        QueryStep::EnterPin
    );
    let first_layout = rig.pad_layout();
    rig.type_pin("654321");
    rig.until("the wrong PIN's tries left", |app| {
        app.global::<PinPadAdapter>().get_notice_key() == "pin-wrong"
    });
    assert_eq!(
        rig.app.global::<PinPadAdapter>().get_retries_left(),
        i32::from(PIN_TRIES) - 1
    );
    assert_ne!(rig.pad_layout(), first_layout, "the pad is reshuffled");
    rig.type_pin("123456");
    rig.until("the records", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::Answered
    });

    // A PIN verified once holds for the card: another query asks for none.
    rig.home();
    rig.tap("社保卡状态");
    rig.until("the second query's records", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::Answered
    });

    // PIN change: old (wrong, then right), a trivial new one refused, then twice alike.
    rig.home();
    rig.tap("修改密码");
    assert_eq!(rig.card_step(), CardServiceStep::EnterPin);
    rig.type_pin("111222");
    rig.type_pin("802211");
    rig.type_pin("802211");
    rig.until("the wrong old PIN", |app| {
        app.global::<PinPadAdapter>().get_notice_key() == "pin-wrong"
    });
    rig.type_pin("123456");
    rig.type_pin("123456");
    assert_eq!(
        rig.app.global::<PinPadAdapter>().get_notice_key(),
        "pin-weak-sequence"
    );
    rig.type_pin("802211");
    rig.type_pin("802211");
    rig.until("the changed PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::PinChanged
    });

    // The card pulled in the middle of a service ends it safely: nothing half-done, and the
    // attract page says so.
    rig.take_out();
    rig.insert(2);
    rig.tap("社保卡启用");
    rig.until("the issuing PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::EnterPin
    });
    rig.take_out();
    assert_eq!(rig.app.get_farewell(), "farewell-interrupted");
    assert!(ledger(&config).is_empty(), "nothing was sent");

    // Activation of the not-activated card: issuing PIN, new PIN twice, CHANGE PIN on the
    // card, `activate` at the back end once, a receipt with its verification code.
    rig.insert(2);
    rig.tap("社保卡启用");
    rig.until("the issuing PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::EnterPin
    });
    rig.type_pin("123456");
    rig.until("the new PIN's pad", |app| {
        app.global::<PinPadAdapter>().get_prompt_key() == "pin-prompt-new"
    });
    rig.type_pin("135790");
    rig.type_pin("135790");
    rig.until("the activation", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    let code = rig
        .app
        .global::<CardServiceAdapter>()
        .get_verification_code();
    assert_eq!(code.len(), 9, "a code like K7Q2-9XMA: {code}");
    assert_eq!(ledger(&config), ["activate_card"]);
    // An active card is told so.
    rig.home();
    rig.tap("社保卡启用");
    rig.until("the card's state", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Unsuitable
    });
    assert_eq!(
        rig.app.global::<CardServiceAdapter>().get_message_key(),
        "card-unsuitable-already-active"
    );

    // Loss report without the card: the ID number typed (checked as it comes in) and the
    // name in pinyin; the back end's answer must match both.
    rig.take_out();
    rig.tap("点击开始");
    rig.tap("临时挂失");
    assert_eq!(rig.card_step(), CardServiceStep::ChooseIdentification);
    rig.tap("输入身份证号码");
    for key in "500103199003071221".chars() {
        rig.tap(&key.to_string());
    }
    assert_eq!(
        rig.app
            .global::<CardServiceAdapter>()
            .get_typed_problem_key(),
        "loss-report-id-bad-checksum"
    );
    rig.tap("退格");
    rig.tap("0");
    assert!(rig.app.global::<CardServiceAdapter>().get_typed_complete());
    rig.tap("下一步");
    assert_eq!(rig.card_step(), CardServiceStep::TypeName);
    for key in "zhangxiaofan".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("完成");
    rig.until("the mismatch", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Failed
    });
    assert_eq!(
        rig.app.global::<CardServiceAdapter>().get_message_key(),
        "card-service-not-found",
        "a name that does not match says no more than 'not found'"
    );
    rig.home();
    rig.tap("临时挂失");
    rig.tap("输入身份证号码");
    for key in "500103199003071220".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("下一步");
    for key in "zhangxiaofang".chars() {
        rig.tap(&key.to_string());
    }
    rig.tap("完成");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    assert_eq!(
        rig.app
            .global::<CardServiceAdapter>()
            .get_masked_card_number(),
        "******345"
    );
    rig.tap("确认办理");
    rig.until("the loss report", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    assert_eq!(ledger(&config), ["activate_card", "report_loss"]);

    // Release with the card and its PIN.
    rig.home();
    rig.insert(0);
    rig.tap("挂失解除");
    rig.until("the PIN", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::EnterPin
    });
    rig.type_pin("123456");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    rig.tap("确认办理");
    rig.until("the release", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    assert_eq!(
        ledger(&config),
        ["activate_card", "report_loss", "release_loss"],
        "each mutation once"
    );

    // Loss report and release by the ID card on the reader (the virtual reader on a pty,
    // through the real serial adapter): no social security card needed.
    rig.take_out();
    rig.kiosk.id_card.demo_place(1);
    rig.until("the ID card to be read", |app| {
        app.get_page() == PageId::Home
    });
    rig.tap("临时挂失");
    rig.tap("用身份证核实");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    assert_eq!(
        rig.app
            .global::<CardServiceAdapter>()
            .get_masked_card_number(),
        "******890"
    );
    rig.tap("确认办理");
    rig.until("the loss report", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    rig.home();
    rig.tap("挂失解除");
    rig.until("whose card", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Confirm
    });
    rig.tap("确认办理");
    rig.until("the release", |app| {
        app.global::<CardServiceAdapter>().get_step() == CardServiceStep::Done
    });
    assert_eq!(
        ledger(&config),
        [
            "activate_card",
            "report_loss",
            "release_loss",
            "report_loss",
            "release_loss"
        ]
    );
    rig.kiosk.id_card.demo_take();
    rig.home();

    // A PIN entered wrongly until the card blocks it: what it means, and where to go.
    rig.insert(1);
    rig.tap("参保信息");
    for _ in 0..PIN_TRIES {
        rig.until("the pad", |app| {
            app.global::<QueryAdapter>().get_step() == QueryStep::EnterPin
                || app.global::<QueryAdapter>().get_step() == QueryStep::PinBlocked
        });
        if rig.app.global::<QueryAdapter>().get_step() == QueryStep::PinBlocked {
            break;
        }
        rig.type_pin("000000");
    }
    rig.until("the blocked PIN", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::PinBlocked
    });
    rig.take_out();

    // After all that, no resident's name or ID number is anywhere in the data directory
    // (queries and identification are not journaled; receipts print masked).
    drop(rig);
    let bytes = data_bytes(&config);
    assert!(!bytes.is_empty(), "the journal was written");
    for holder in renshe_kiosk::card::sim::demo_residents() {
        for secret in [holder.name.as_str(), holder.id_number.as_str()] {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "a resident's name or ID number is on disk in plain text"
            );
        }
    }
}
