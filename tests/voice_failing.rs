//! A speaker that fails (a PCM that does not exist) on the whole kiosk (see `support`): the
//! header says 语音 故障, guidance is asked for and cannot sound, and the resident's service
//! still goes through.

mod support;

use renshe_kiosk::ui::{QueryAdapter, QueryStep};
use slint::ComponentHandle;
use support::Rig;

#[test]
fn a_failing_speaker_is_shown_and_does_not_stop_a_session() {
    let (mut rig, _config, _dir) = Rig::start_with(|text| {
        text.replace("voice = \"alsa\"", "voice = \"alsa:renshe-no-such-pcm\"")
    });
    rig.until("the speaker's fault", |app| {
        app.get_voice_state() == "hardware-error"
    });
    rig.insert(0);
    rig.tap("朗读");
    rig.tap("社保卡状态");
    rig.type_pin("123456");
    rig.until("the card's status", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::Answered
    });
    rig.take_out();
    assert_eq!(rig.app.get_voice_state(), "hardware-error");
}
