//! Voice guidance on the whole kiosk (see `support`), its speaker the file sink: each page
//! speaks in the resident's language once guidance is on, the PIN pad says counts and never
//! digits, and a forgotten card is reminded of, with a tone, until it is taken.

mod support;

use std::path::Path;
use std::time::Duration;

use renshe_kiosk::ui::{PageId, QueryAdapter, QueryStep};
use renshe_voice::wav;
use slint::ComponentHandle;
use support::Rig;

/// The demo tray's first card (PIN 123456).
const CARD: usize = 0;

/// The finished WAV files the kiosk spoke, in order: name and samples.
fn spoken(dir: &Path) -> Vec<(String, Vec<i16>)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let bytes = std::fs::read(dir.join(&name)).ok()?;
            let header = wav::parse_header(&bytes).ok()?;
            // A file still being written has no length in its header yet.
            header.data_len?;
            Some((name, wav::samples(&bytes[header.data_offset..])))
        })
        .collect()
}

/// What was spoken after the first `from` files, by name without the sequence number.
fn keys_after(dir: &Path, from: usize) -> Vec<String> {
    spoken(dir)
        .into_iter()
        .skip(from)
        .map(|(name, _)| name[7..].trim_end_matches(".wav").to_owned())
        .collect()
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

/// Waits until a file `<language>-<key>` is spoken after the first `from`, and gives it.
fn said(rig: &mut Rig, dir: &Path, from: usize, name: &str) -> Vec<i16> {
    let what = format!("{name} to be said (said so far: {:?})", keys_after(dir, 0));
    rig.until(&what, |_| {
        keys_after(dir, from).iter().any(|key| key == name)
    });
    let samples = spoken(dir)
        .into_iter()
        .skip(from)
        .find(|(file, _)| file[7..].trim_end_matches(".wav") == name)
        .map(|(_, samples)| samples)
        .unwrap_or_default();
    samples
}

#[test]
fn pages_speak_in_the_residents_language_pins_as_counts_and_a_forgotten_card_until_taken() {
    let voice = tempfile::tempdir().expect("tempdir");
    let folder = voice.path().to_path_buf();
    let (mut rig, _config, _dir) = Rig::start_with(|text| {
        text.replace(
            "voice = \"alsa\"",
            &format!("voice = \"file:{}\"", folder.display()),
        ) + "\n[voice]\nreminder_repeat_seconds = 1\n"
    });
    let dir = voice.path();
    rig.until("the speaker", |app| app.get_voice_state() == "online");

    // Guidance is off for a resident in standard mode until they ask for it.
    std::thread::sleep(Duration::from_millis(300));
    assert!(spoken(dir).is_empty(), "nothing said unasked");
    rig.tap("朗读");
    let attract = said(&mut rig, dir, 0, "zh-CN-voice-attract");
    let seconds = attract.len() as f64 / 22_050.0;
    assert!(
        (1.5..15.0).contains(&seconds) && rms(&attract) > 300.0,
        "the welcome: {seconds:.1} s, rms {:.0}",
        rms(&attract)
    );

    // From now on, every page speaks: home, then home again in English.
    let n = spoken(dir).len();
    rig.insert(CARD);
    let home_zh = said(&mut rig, dir, n, "zh-CN-voice-home");
    let n = spoken(dir).len();
    rig.tap("English");
    let home_en = said(&mut rig, dir, n, "en-US-voice-home");
    assert!(rms(&home_en) > 300.0);
    assert_ne!(home_zh, home_en, "another language, another voice");
    let n = spoken(dir).len();
    rig.tap("中文");
    said(&mut rig, dir, n, "zh-CN-voice-home");

    // The PIN pad: the same words for one digit whichever digit it was.
    let n = spoken(dir).len();
    rig.tap("缴费记录");
    said(&mut rig, dir, n, "zh-CN-voice-pin-service");
    let n = spoken(dir).len();
    rig.tap("9");
    let nine = said(&mut rig, dir, n, "zh-CN-voice-pin-entered");
    rig.tap("删除");
    let n = spoken(dir).len();
    rig.tap("1");
    let one = said(&mut rig, dir, n, "zh-CN-voice-pin-entered");
    assert!(!nine.is_empty());
    assert_eq!(nine, one, "a count is said, never the digit");
    let n = spoken(dir).len();
    rig.tap("删除");
    said(&mut rig, dir, n, "zh-CN-voice-pin-service");
    let n = spoken(dir).len();
    // Typed fast, each count cuts the one before short: some may never get to be said.
    rig.type_pin("123456");
    rig.until("the records", |app| {
        app.global::<QueryAdapter>().get_step() == QueryStep::Answered
    });
    said(&mut rig, dir, n, "zh-CN-voice-query-answered");
    let typed = keys_after(dir, n);
    let pad: Vec<&String> = typed
        .iter()
        .take_while(|key| *key != "zh-CN-voice-please-wait")
        .collect();
    assert!(
        pad.iter().all(|key| *key == "zh-CN-voice-pin-entered"),
        "typing said only counts: {typed:?}"
    );
    // The summary is read out: the months paid, as words.
    said(&mut rig, dir, n, "zh-CN-voice-row-months-paid");

    // Left with the card in: the idle warning, its last ten seconds, then the reminder.
    let n = spoken(dir).len();
    rig.advance(61);
    said(&mut rig, dir, n, "zh-CN-voice-idle-warning");
    rig.advance(20);
    said(&mut rig, dir, n, "zh-CN-voice-idle-seconds-left");
    rig.advance(15);
    assert_eq!(rig.app.get_page(), PageId::Attract);
    assert!(rig.app.get_take_card_reminder());
    let n = spoken(dir).len();
    rig.until("the reminder, twice", |_| {
        keys_after(dir, n)
            .iter()
            .filter(|key| *key == "zh-CN-voice-take-card")
            .count()
            >= 2
    });
    let reminders = keys_after(dir, n);
    assert_eq!(
        reminders[0], "zh-CN-tone",
        "each reminder starts with a tone"
    );
    rig.kiosk.card_reader.demo_take_out();
    rig.until("the reminder to go", |app| !app.get_take_card_reminder());
    std::thread::sleep(Duration::from_millis(300));
    let after = spoken(dir).len();
    std::thread::sleep(Duration::from_millis(2500));
    rig.lay_out();
    assert_eq!(
        spoken(dir).len(),
        after,
        "the reminder stops with the card out: {:?}",
        keys_after(dir, after)
    );
}
