//! Pension certification through the session, as the shell drives it: identify, status,
//! the actions with their captures, one certification per ticket, the verdict, the receipt.

use renshe_core::flows::card::CardServiceInput;
use renshe_core::identity::{CardGeneration, Gender, HolderSummary, IdCardSummary};
use renshe_core::{
    CaptureProblem, CertificationReply, CertificationStatus, CertificationStep, Command,
    CycleState, Date, DeviceHealth, DeviceKind, Document, Event, FlowInput, FlowView,
    Identification, Language, LivenessAction, LivenessChallenge, Millis, Pensioner, PinInput,
    RejectReason, Request, ServiceId, Session, SessionSettings, Ticket, Verdict,
};

fn at(seconds: u64) -> Millis {
    Millis::from_secs(seconds)
}

fn session() -> Session {
    let mut session = Session::new(
        SessionSettings {
            default_language: Language::ZhCn,
            offered_languages: Language::ALL.to_vec(),
            elderly_by_default: true,
            idle_timeout: Millis::from_secs(60),
            idle_warning: Millis::from_secs(30),
            keypad_seed: 7,
            voice_always: false,
        },
        at(0),
    );
    session.handle(
        Event::Today(Date {
            year: 2026,
            month: 12,
            day: 1,
        }),
        at(0),
    );
    session.handle(
        Event::DeviceChanged(DeviceKind::Camera, DeviceHealth::Online),
        at(0),
    );
    session
}

fn holder() -> HolderSummary {
    HolderSummary {
        masked_name: "王*国".into(),
        masked_id: "500101********0017".into(),
        generation: CardGeneration::Second,
        gender: Gender::Male,
        region_code: "500101".into(),
        expiry_date: None,
    }
}

fn step(session: &Session) -> CertificationStep {
    match session.view().flow {
        Some(FlowView::Certification(view)) => view.step,
        other => panic!("not on a certification page: {other:?}"),
    }
}

fn tap(session: &mut Session, input: CardServiceInput) -> Vec<Command> {
    session.handle(Event::Flow(FlowInput::Card(input)), at(5))
}

fn type_pin(session: &mut Session, digits: &str) -> Vec<Command> {
    let CertificationStep::EnterPin(entry) = step(session) else {
        panic!("no PIN pad");
    };
    let labels = entry.pad.layout.labels();
    for digit in digits.bytes() {
        let position = labels
            .iter()
            .position(|label| *label == digit - b'0')
            .expect("every digit is on the pad");
        tap(session, CardServiceInput::Pin(PinInput::Key(position)));
    }
    tap(session, CardServiceInput::Pin(PinInput::Confirm))
}

/// The one request or command with a ticket among `commands`.
fn ticketed(commands: &[Command]) -> (Ticket, Command) {
    let found: Vec<_> = commands
        .iter()
        .filter_map(|command| match command {
            Command::Fetch { ticket, .. }
            | Command::VerifyPin { ticket, .. }
            | Command::Capture { ticket, .. }
            | Command::Print { ticket, .. } => Some((*ticket, command.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one ticketed command: {commands:?}");
    found.into_iter().next().expect("one")
}

fn status(state: CycleState, attempts_left: u8) -> CertificationStatus {
    CertificationStatus {
        masked_name: "王*国".into(),
        cycle_year: 2026,
        state,
        last_certified: Some(Date {
            year: 2025,
            month: 3,
            day: 15,
        }),
        challenge: LivenessChallenge {
            id: "CH1".into(),
            actions: vec![LivenessAction::Blink, LivenessAction::Nod],
        },
        attempts_left,
    }
}

const DUE: CycleState = CycleState::Due {
    by: Date {
        year: 2026,
        month: 12,
        day: 31,
    },
};

/// Card in, PIN verified, the status answered: the status page.
fn at_status(session: &mut Session, state: CycleState, attempts_left: u8) {
    session.handle(Event::CardIdentified(holder()), at(1));
    session.handle(Event::ServiceTapped(ServiceId::PensionCertification), at(2));
    let (pin_ticket, _) = ticketed(&type_pin(session, "123456"));
    let commands = session.handle(
        Event::PinAnswered {
            ticket: pin_ticket,
            result: Ok(()),
        },
        at(3),
    );
    let (ticket, command) = ticketed(&commands);
    assert_eq!(
        command,
        Command::Fetch {
            ticket,
            request: Request::CertificationStatus {
                who: Identification::Card,
                pensioner: Pensioner::Holder,
            },
        }
    );
    session.handle(
        Event::CertificationAnswered {
            ticket,
            result: Ok(CertificationReply::Status(status(state, attempts_left))),
        },
        at(4),
    );
}

/// From the status page through both actions: the commands that follow the last capture.
fn through_the_actions(session: &mut Session, attempt: u8) -> Vec<Command> {
    tap(session, CardServiceInput::Confirm);
    assert_eq!(step(session), CertificationStep::Preview);
    assert!(session.view().camera_on(), "the preview runs");
    let mut commands = tap(session, CardServiceInput::Confirm);
    for index in 0..2u8 {
        let (ticket, command) = ticketed(&commands);
        let Command::Capture {
            attempt: of,
            index: at_index,
            ..
        } = command
        else {
            panic!("a capture: {command:?}");
        };
        assert_eq!((of, at_index), (attempt, index));
        commands = session.handle(
            Event::Captured {
                ticket,
                result: Ok(()),
            },
            at(6),
        );
    }
    commands
}

#[test]
fn a_pensioner_certifies_by_card_and_gets_a_receipt() {
    let mut session = session();
    at_status(&mut session, DUE, 3);
    assert!(matches!(step(&session), CertificationStep::Status(_)));
    let commands = through_the_actions(&mut session, 0);
    let (ticket, command) = ticketed(&commands);
    let Command::Fetch {
        request:
            Request::Certify {
                who,
                pensioner,
                cycle_year,
                challenge_id,
                attempt,
            },
        ..
    } = command
    else {
        panic!("the certification: {command:?}");
    };
    assert_eq!(
        (who, pensioner, cycle_year, challenge_id.as_str(), attempt),
        (Identification::Card, Pensioner::Holder, 2026, "CH1", 0)
    );
    assert_eq!(step(&session), CertificationStep::Sending);
    assert!(!session.view().camera_on(), "the camera stops once sent");
    let until = Date {
        year: 2027,
        month: 6,
        day: 30,
    };
    session.handle(
        Event::CertificationAnswered {
            ticket,
            result: Ok(CertificationReply::Verdict(Verdict::Certified {
                until,
                reference: "AB12".into(),
                verification_code: Some("V1".into()),
                verify_url: None,
            })),
        },
        at(7),
    );
    assert!(matches!(
        step(&session),
        CertificationStep::Verdict(Verdict::Certified { .. })
    ));
    let (_, print) = ticketed(&tap(&mut session, CardServiceInput::Print));
    let Command::Print {
        document: Document::Certification(outcome),
        ..
    } = print
    else {
        panic!("a certification receipt: {print:?}");
    };
    assert!(!outcome.for_relative);
    assert_eq!(outcome.masked_pensioner, "王*国");
    assert!(
        tap(&mut session, CardServiceInput::Print).is_empty(),
        "a second tap while printing prints nothing"
    );
}

#[test]
fn a_capture_that_cannot_be_used_says_what_to_fix_and_takes_it_again() {
    let mut session = session();
    at_status(&mut session, DUE, 3);
    tap(&mut session, CardServiceInput::Confirm);
    let (ticket, _) = ticketed(&tap(&mut session, CardServiceInput::Confirm));
    session.handle(
        Event::Captured {
            ticket,
            result: Err(CaptureProblem::TooDark),
        },
        at(6),
    );
    assert_eq!(
        step(&session),
        CertificationStep::Retake {
            action: LivenessAction::Blink,
            problem: CaptureProblem::TooDark,
        }
    );
    let (again, command) = ticketed(&tap(&mut session, CardServiceInput::TryAgain));
    assert_ne!(again, ticket);
    assert!(matches!(
        command,
        Command::Capture {
            index: 0,
            action: LivenessAction::Blink,
            ..
        }
    ));
    // The old capture's late answer is not this one's.
    session.handle(
        Event::Captured {
            ticket,
            result: Ok(()),
        },
        at(7),
    );
    assert!(matches!(
        step(&session),
        CertificationStep::Action { number: 1, .. }
    ));
}

#[test]
fn a_rejection_allows_the_back_ends_retries_then_sends_to_a_counter() {
    let mut session = session();
    at_status(&mut session, DUE, 2);
    for attempt in 0..2u8 {
        let (ticket, _) = ticketed(&through_the_actions(&mut session, attempt));
        let left = 1 - attempt;
        session.handle(
            Event::CertificationAnswered {
                ticket,
                result: Ok(CertificationReply::Verdict(Verdict::Rejected {
                    reason: RejectReason::NotLive,
                    attempts_left: left,
                    next: (left > 0).then(|| LivenessChallenge {
                        id: format!("CH{}", attempt + 2),
                        actions: vec![LivenessAction::OpenMouth, LivenessAction::Turn],
                    }),
                })),
            },
            at(8),
        );
        let commands = tap(&mut session, CardServiceInput::TryAgain);
        assert!(commands.is_empty(), "trying again opens the preview first");
        if left == 0 {
            assert!(
                matches!(
                    step(&session),
                    CertificationStep::Verdict(Verdict::Rejected {
                        attempts_left: 0,
                        ..
                    })
                ),
                "no attempt left: the page stays with the counter and 12333"
            );
        } else {
            assert_eq!(step(&session), CertificationStep::Preview);
            // The next attempt shows the back end's new actions.
            tap(&mut session, CardServiceInput::Confirm);
            assert!(matches!(
                step(&session),
                CertificationStep::Action {
                    action: LivenessAction::OpenMouth,
                    ..
                }
            ));
            // Back to the status page, so the loop's helper starts from there: the new
            // actions stay.
            session.handle(Event::BackTapped, at(9));
            assert!(matches!(
                step(&session),
                CertificationStep::Status(CertificationStatus {
                    attempts_left: 1,
                    ..
                })
            ));
        }
    }
}

#[test]
fn a_certification_whose_outcome_is_unknown_is_resent_under_the_same_ticket() {
    let mut session = session();
    at_status(&mut session, DUE, 3);
    let (ticket, first) = ticketed(&through_the_actions(&mut session, 0));
    session.handle(
        Event::CertificationAnswered {
            ticket,
            result: Err(renshe_core::BackendProblem::OutcomeUnknown),
        },
        at(8),
    );
    let (again, resent) = ticketed(&tap(&mut session, CardServiceInput::TryAgain));
    assert_eq!(again, ticket, "the journal sends it once");
    assert_eq!(resent, first);
}

#[test]
fn nothing_to_do_when_certified_already_or_out_of_attempts() {
    for (state, attempts) in [
        (
            CycleState::Certified {
                until: Date {
                    year: 2027,
                    month: 6,
                    day: 30,
                },
            },
            3,
        ),
        (CycleState::NotEntitled, 3),
        (DUE, 0),
    ] {
        let mut session = session();
        at_status(&mut session, state, attempts);
        assert!(matches!(step(&session), CertificationStep::NothingToDo(_)));
        assert!(tap(&mut session, CardServiceInput::Confirm).is_empty());
        assert!(matches!(step(&session), CertificationStep::NothingToDo(_)));
    }
}

#[test]
fn a_helper_with_an_id_card_certifies_a_relative_typed_on_the_keypads() {
    let mut session = session();
    session.handle(
        Event::IdCardRead(IdCardSummary {
            masked_name: "张*芳".into(),
            masked_id: "500103********1222".into(),
        }),
        at(1),
    );
    session.handle(Event::ServiceTapped(ServiceId::ProxyCertification), at(2));
    assert!(matches!(
        step(&session),
        CertificationStep::TypeIdNumber { .. }
    ));
    for key in "500101195801300170".chars() {
        tap(&mut session, CardServiceInput::IdKey(key));
    }
    tap(&mut session, CardServiceInput::EntryConfirm);
    assert!(matches!(step(&session), CertificationStep::TypeName { .. }));
    for key in "wangjianguo".chars() {
        tap(&mut session, CardServiceInput::NameKey(key));
    }
    let (_, command) = ticketed(&tap(&mut session, CardServiceInput::EntryConfirm));
    let Command::Fetch {
        request: Request::CertificationStatus { who, pensioner },
        ..
    } = command
    else {
        panic!("the status: {command:?}");
    };
    assert_eq!(who, Identification::IdCard);
    let Pensioner::Relative { id_number, name } = pensioner else {
        panic!("for a relative");
    };
    assert_eq!(id_number.as_str(), "500101195801300170");
    assert_eq!(name.letters(), "wangjianguo");
}

#[test]
fn without_a_camera_the_tiles_say_why_and_do_not_start() {
    let mut session = session();
    let commands = session.handle(
        Event::DeviceChanged(DeviceKind::Camera, DeviceHealth::NoDevice),
        at(1),
    );
    assert!(
        matches!(
            commands.as_slice(),
            [Command::ReportDevices(renshe_core::ReportedDevices {
                camera: DeviceHealth::NoDevice,
                ..
            })]
        ),
        "the heartbeat hears of it: {commands:?}"
    );
    session.handle(Event::Start, at(1));
    assert_eq!(
        session.view().blocker(ServiceId::PensionCertification),
        Some(renshe_core::Blocker::Camera)
    );
    assert!(session
        .handle(Event::ServiceTapped(ServiceId::ProxyCertification), at(2))
        .is_empty());
    assert!(session.view().flow.is_none());
}

#[test]
fn the_card_taken_out_mid_capture_ends_the_session_and_its_stills() {
    let mut session = session();
    at_status(&mut session, DUE, 3);
    tap(&mut session, CardServiceInput::Confirm);
    let (ticket, _) = ticketed(&tap(&mut session, CardServiceInput::Confirm));
    let commands = session.handle(Event::CardRemoved, at(6));
    assert!(commands.contains(&Command::WipeSessionData));
    assert!(!session.view().camera_on());
    // A capture that finishes after the resident left reaches no one.
    assert!(session
        .handle(
            Event::Captured {
                ticket,
                result: Ok(())
            },
            at(7)
        )
        .is_empty());
    assert!(session.view().flow.is_none());
}
