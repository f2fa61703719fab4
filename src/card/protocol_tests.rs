//! The card protocol's tests that need the virtual card (`card::sim`, in the app): the
//! protocol itself is in `renshe-card-protocol` (crates/card-protocol).

use std::collections::VecDeque;

use proptest::prelude::*;

use crate::card::protocol::*;
use crate::card::sam::PcscPsam;
use crate::card::sam::{LocalTestSam, Sam};
use crate::card::sim::{demo_residents, CardProfile, InMemoryCard, VirtualCard, VirtualPsam};
use crate::core::identity::{CardDate, CardGeneration, Holder, Pin};

fn resident(generation: CardGeneration) -> Holder {
    let mut holder = demo_residents()
        .into_iter()
        .next()
        .expect("a demo resident");
    holder.generation = generation;
    holder
}

fn card(generation: CardGeneration) -> Recorder<InMemoryCard<VirtualCard>> {
    Recorder::new(InMemoryCard(VirtualCard::new(&CardProfile::demo(
        resident(generation),
    ))))
}

/// Answers from a list, records what it was sent.
struct Scripted {
    answers: VecDeque<Vec<u8>>,
    sent: Vec<String>,
}

impl Scripted {
    fn new(answers: &[&[u8]]) -> Scripted {
        Scripted {
            answers: answers.iter().map(|a| a.to_vec()).collect(),
            sent: Vec::new(),
        }
    }
}

impl Transmit for Scripted {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(hex(command));
        self.answers.pop_front().ok_or(TransportError::CardRemoved)
    }
}

#[test]
fn reads_a_second_generation_card_with_the_minimal_apdu_sequence() {
    let mut session = CardSession::new(card(CardGeneration::Second));
    let holder = session.read_holder(None).expect("2nd-gen read");
    assert_eq!(holder, resident(CardGeneration::Second));
    assert_eq!(session.algorithm_flag(), 2);
    let recorder = session.into_transport();
    assert_eq!(recorder.exchanges(), 15);
    insta::assert_snapshot!("second_generation_read", recorder.transcript());
}

#[test]
fn reads_a_third_generation_card_after_external_authentication() {
    let mut session = CardSession::new(card(CardGeneration::Third));
    let mut sam = LocalTestSam::with_test_key();
    let holder = session.read_holder(Some(&mut sam)).expect("3rd-gen read");
    assert_eq!(holder, resident(CardGeneration::Third));
    let recorder = session.into_transport();
    assert_eq!(recorder.exchanges(), 17);
    insta::assert_snapshot!("third_generation_read", recorder.transcript());
}

#[test]
fn psam_protocol_gives_the_same_cryptogram_as_the_local_sam() {
    let mut session = CardSession::new(card(CardGeneration::Third));
    let mut psam = PcscPsam::new(Recorder::new(InMemoryCard(VirtualPsam::new(
        crate::card::sam::TEST_RKSSSE_MASTER_KEY,
    ))));
    session
        .read_holder(Some(&mut psam))
        .expect("3rd-gen read through the PSAM protocol");
    assert_eq!(psam.transport_mut().exchanges(), 2);
}

#[test]
fn third_generation_without_sam_yields_the_issuer_data_and_a_clear_error() {
    let mut session = CardSession::new(card(CardGeneration::Third));
    match session.read_holder(None) {
        Err(ProtocolError::NeedsAuthenticationModule { issuer }) => {
            assert_eq!(issuer.generation, CardGeneration::Third);
            assert_eq!(issuer.spec_version, "3.00");
            assert_eq!(issuer.region_code(), "500100");
            assert_eq!(issuer.card_number, "A00012345");
        }
        other => panic!("expected NeedsAuthenticationModule, got {other:?}"),
    }
    // Only SELECT SSSE, SELECT EF05 and the five EF05 records: EF06 is not even tried.
    assert_eq!(session.into_transport().exchanges(), 7);
}

#[test]
fn errors_and_debug_output_do_not_leak_the_card_number() {
    let mut session = CardSession::new(card(CardGeneration::Third));
    let error = session.read_holder(None).expect_err("needs the module");
    let shown = format!("{error:?} {error}");
    assert!(!shown.contains("A00012345"), "{shown}");
    assert!(shown.contains("******345"), "{shown}");
}

#[test]
fn a_sam_with_the_wrong_key_is_rejected_by_the_card() {
    let mut session = CardSession::new(card(CardGeneration::Third));
    let mut sam = LocalTestSam::new([0x55; 16]);
    let error = session.read_holder(Some(&mut sam)).expect_err("wrong key");
    assert!(
        matches!(
            error,
            ProtocolError::AuthenticationRejected(SwError::SecurityStatusNotSatisfied)
        ),
        "{error:?}"
    );
}

#[test]
fn card_without_ssse_df_is_read_through_ef05_directly() {
    let mut profile = CardProfile::demo(resident(CardGeneration::Second));
    profile.ssse_select_fails = true;
    let mut session = CardSession::new(Recorder::new(InMemoryCard(VirtualCard::new(&profile))));
    assert_eq!(
        session.read_holder(None).expect("read via EF05"),
        profile.holder
    );
}

#[test]
fn a_card_that_is_not_a_social_security_card_is_named_as_such() {
    let mut scripted = Scripted::new(&[&[0x6A, 0x82], &[0x6A, 0x82]]);
    let error = CardSession::new(&mut scripted)
        .read_holder(None)
        .expect_err("no SSSE");
    assert!(
        matches!(error, ProtocolError::NotSocialSecurityCard),
        "{error:?}"
    );
}

#[test]
fn long_names_continue_in_the_extension_record() {
    let mut holder = resident(CardGeneration::Second);
    holder.name = "玉苏甫江·艾合买提江·阿不都热合曼".into();
    let mut session = CardSession::new(InMemoryCard(VirtualCard::new(&CardProfile::demo(
        holder.clone(),
    ))));
    assert_eq!(
        session.read_holder(None).expect("long name").name,
        holder.name
    );
}

#[test]
fn follows_61xx_with_get_response_and_6cxx_with_the_right_le() {
    let mut scripted = Scripted::new(&[&[0x61, 0x04], &[1, 2, 3, 4, 0x90, 0x00]]);
    let response = exchange(&mut scripted, &select_ssse(), Step::SelectSsse).expect("61xx");
    assert_eq!(response.data, vec![1, 2, 3, 4]);
    assert_eq!(scripted.sent[1], "00C0000004");

    let mut scripted = Scripted::new(&[
        &[0x6C, 0x06],
        &[0x03, 0x04, b'3', b'.', b'0', b'0', 0x90, 0x00],
    ]);
    let response =
        exchange(&mut scripted, &read_record_by_tag(3, 10), Step::Response).expect("6Cxx");
    assert_eq!(response.sw, StatusWord::OK);
    assert_eq!(scripted.sent, vec!["00B203000C", "00B2030006"]);

    // A card that keeps asking for another Le is broken, not a loop.
    let mut scripted = Scripted::new(&[&[0x6C, 0x06], &[0x6C, 0x07], &[0x90, 0x00]]);
    let response =
        exchange(&mut scripted, &read_record_by_tag(3, 4), Step::Response).expect("one resend");
    assert_eq!(response.sw, StatusWord(0x6C07));
    let endless: Vec<&[u8]> = vec![&[0x61, 0x01]; 20];
    let mut scripted = Scripted::new(&endless);
    assert!(matches!(
        exchange(&mut scripted, &select_ssse(), Step::SelectSsse),
        Err(ProtocolError::Malformed { .. })
    ));
}

#[test]
fn pin_right_wrong_and_blocked() {
    let mut session = CardSession::new(card(CardGeneration::Third));
    session
        .verify_pin(&Pin::new("123456").expect("pin"))
        .expect("right PIN");
    let wrong = Pin::new("654321").expect("pin");
    for expected_left in (1..=5).rev() {
        match session.verify_pin(&wrong) {
            Err(ProtocolError::PinWrong { retries_left }) => {
                assert_eq!(retries_left, expected_left)
            }
            other => panic!("expected PinWrong, got {other:?}"),
        }
    }
    assert!(matches!(
        session.verify_pin(&wrong),
        Err(ProtocolError::PinBlocked)
    ));
    assert!(matches!(
        session.verify_pin(&Pin::new("123456").expect("pin")),
        Err(ProtocolError::PinBlocked)
    ));
    let transcript = session.into_transport().transcript();
    assert!(transcript.contains("> 00200000 <redacted>"), "{transcript}");
    assert!(
        !transcript.contains("123456") && !transcript.contains("654321"),
        "{transcript}"
    );
}

#[test]
fn change_pin_then_verify_the_new_one() {
    let mut session = CardSession::new(card(CardGeneration::Second));
    let old = Pin::new("123456").expect("pin");
    let new = Pin::new("802211").expect("pin");
    session.change_pin(&old, &new).expect("change");
    assert!(matches!(
        session.verify_pin(&old),
        Err(ProtocolError::PinWrong { retries_left: 5 })
    ));
    session.verify_pin(&new).expect("new PIN works");
    assert_eq!(
        hex(change_pin(&old, &new).as_bytes()),
        "805E010007123456FF802211"
    );
}

#[test]
fn every_named_status_word_has_its_own_error() {
    let named = [
        (0x63C3, SwError::PinWrong { retries_left: 3 }),
        (0x6700, SwError::WrongLength),
        (0x6982, SwError::SecurityStatusNotSatisfied),
        (0x6983, SwError::PinBlocked),
        (0x6985, SwError::ConditionsNotSatisfied),
        (0x6A82, SwError::FileNotFound),
        (0x6A83, SwError::RecordNotFound),
        (0x6A86, SwError::WrongP1P2),
        (0x6A88, SwError::KeyNotFound),
        (0x6E00, SwError::ClassNotSupported),
        (0x9303, SwError::ApplicationLocked),
    ];
    for (sw, error) in named {
        assert_eq!(StatusWord(sw).outcome(), SwOutcome::Failed(error));
        assert_eq!(error.status_word(), StatusWord(sw));
    }
    assert_eq!(StatusWord(0x6123).outcome(), SwOutcome::MoreData(0x23));
    assert_eq!(StatusWord(0x6C12).outcome(), SwOutcome::WrongLe(0x12));
    assert_eq!(StatusWord(0x9000).outcome(), SwOutcome::Ok);
    assert_eq!(SwError::SecurityStatusNotSatisfied.ministry_code(), -27010);
    assert_eq!(
        StatusWord(0x6F00).outcome(),
        SwOutcome::Failed(SwError::Other(StatusWord(0x6F00)))
    );
}

#[test]
fn decodes_card_field_formats() {
    assert_eq!(decode_cn(&[0x50, 0x01, 0x03]).as_deref(), Some("500103"));
    assert_eq!(decode_cn(&[0x50, 0x0F, 0xFF]).as_deref(), Some("500"));
    assert_eq!(decode_cn(&[0x5F, 0x01]), None, "digit after padding");
    assert_eq!(decode_cn(&[0xD1]), None);
    assert_eq!(decode_an(b"3.00").as_deref(), Some("3.00"));
    assert_eq!(decode_an(b"A12\0\0").as_deref(), Some("A12"));
    assert_eq!(decode_an(&[0xC9, 0xE7]), None);
    assert_eq!(
        decode_bcd_date(&[0x19, 0x90, 0x03, 0x07]),
        CardDate::new(1990, 3, 7)
    );
    assert_eq!(decode_bcd_date(&[0x19, 0x90, 0x13, 0x07]), None);
    assert_eq!(
        decode_gbk(&[0xD5, 0xC5, 0xC8, 0xFD, 0, 0]).as_deref(),
        Some("张三")
    );
    assert_eq!(decode_gbk(&[0xD5]), None, "half a character");
    assert_eq!(
        algorithm_flag(&[0x6F, 0x05, 0x9F, 0x0C, 0x03, 0x86, 0x01, 0x04]),
        4
    );
    assert_eq!(algorithm_flag(&[]), 1);
    let real = [
        0x01, 0x10, 0x33, 0x03, 0x00, 0xD1, 0x56, 0, 0, 5, 0x99, 0x11, 0x01, 0x45, 0xFF, 0xFF,
        0xFF, 0xFF,
    ];
    let value = parse_tagged_record(0x01, &real, Step::Response).expect("public sample");
    assert_eq!(value.len(), 16);
    assert!(parse_tagged_record(0x02, &real, Step::Response).is_err());
    assert!(parse_tagged_record(0x01, &real[..10], Step::Response).is_err());
}

/// Replays arbitrary answers to whatever the session sends.
struct Replay(VecDeque<Vec<u8>>);

impl Transmit for Replay {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.pop_front().ok_or(TransportError::CardRemoved)
    }
}

proptest! {
    #[test]
    fn arbitrary_card_answers_never_panic(
        answers in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..30),
        with_sam in any::<bool>(),
    ) {
        let mut session = CardSession::new(Replay(answers.into_iter().collect()));
        let mut sam = LocalTestSam::with_test_key();
        let _ = session.read_holder(with_sam.then_some(&mut sam as &mut dyn Sam));
        let _ = session.verify_pin(&Pin::new("123456").expect("pin"));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = ResponseApdu::parse(&bytes);
        let _ = parse_tagged_record(bytes.first().copied().unwrap_or(0), &bytes, Step::Response);
        let _ = decode_cn(&bytes);
        let _ = decode_an(&bytes);
        let _ = decode_gbk(&bytes);
        let _ = decode_bcd_date(&bytes);
        let _ = algorithm_flag(&bytes);
    }

    #[test]
    fn any_status_word_to_select_is_an_answer_not_a_panic(sw in any::<u16>()) {
        // Whatever one status word the card gives to SELECT SSSE, the session answers with a value or an error.
        let mut scripted = Scripted::new(&[&sw.to_be_bytes()]);
        let _ = CardSession::new(&mut scripted).read_issuer();
    }
}
