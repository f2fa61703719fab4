//! 亲情代办 through the session: the list, add (typed, checked), remove, at most four, each
//! change once per ticket, late answers dropped.

use renshe_core::flows::card::CardServiceInput;
use renshe_core::identity::IdCardSummary;
use renshe_core::{
    Command, Event, FlowView, Identification, Language, Millis, ProxyChange, ProxyEntry,
    ProxyReply, ProxyStep, Request, ServiceId, Session, SessionSettings, Ticket,
};

fn at(seconds: u64) -> Millis {
    Millis::from_secs(seconds)
}

fn step(session: &Session) -> ProxyStep {
    match session.view().flow {
        Some(FlowView::Proxies(view)) => view.step,
        other => panic!("not on the proxies page: {other:?}"),
    }
}

fn tap(session: &mut Session, input: CardServiceInput) -> Vec<Command> {
    session.handle(Event::Flow(renshe_core::FlowInput::Card(input)), at(3))
}

fn fetch(commands: &[Command]) -> (Ticket, Request) {
    match commands {
        [Command::Fetch { ticket, request }] => (*ticket, request.clone()),
        other => panic!("one request: {other:?}"),
    }
}

fn entries(count: u8) -> Vec<ProxyEntry> {
    (0..count)
        .map(|slot| ProxyEntry {
            masked_name: format!("李*{slot}"),
            masked_id: format!("500106********113{slot}"),
            slot,
        })
        .collect()
}

/// An ID card on the reader, the tile tapped, the list answered with `count` relatives.
fn at_list(count: u8) -> Session {
    let mut session = Session::new(
        SessionSettings {
            default_language: Language::ZhCn,
            offered_languages: Language::ALL.to_vec(),
            elderly_by_default: false,
            idle_timeout: Millis::from_secs(60),
            idle_warning: Millis::from_secs(30),
            keypad_seed: 3,
            voice_always: false,
        },
        at(0),
    );
    session.handle(
        Event::IdCardRead(IdCardSummary {
            masked_name: "王*国".into(),
            masked_id: "500101********0170".into(),
        }),
        at(1),
    );
    let (ticket, request) =
        fetch(&session.handle(Event::ServiceTapped(ServiceId::ProxyBindings), at(2)));
    assert_eq!(
        request,
        Request::Proxies {
            who: Identification::IdCard,
            change: None
        }
    );
    session.handle(
        Event::ProxiesAnswered {
            ticket,
            result: Ok(ProxyReply::List {
                masked_name: "王*国".into(),
                proxies: entries(count),
            }),
        },
        at(2),
    );
    session
}

#[test]
fn a_relative_is_added_once_and_the_receipt_says_how_many() {
    let mut session = at_list(1);
    assert!(matches!(
        step(&session),
        ProxyStep::List { full: false, .. }
    ));
    tap(&mut session, CardServiceInput::AddProxy);
    for key in "500106198511211357".chars() {
        tap(&mut session, CardServiceInput::IdKey(key));
    }
    tap(&mut session, CardServiceInput::EntryConfirm);
    assert!(
        matches!(step(&session), ProxyStep::TypeIdNumber { .. }),
        "a wrong check character does not go on"
    );
    tap(&mut session, CardServiceInput::IdDelete);
    tap(&mut session, CardServiceInput::IdKey('1'));
    tap(&mut session, CardServiceInput::EntryConfirm);
    assert!(matches!(step(&session), ProxyStep::TypeName { .. }));
    for key in "liming".chars() {
        tap(&mut session, CardServiceInput::NameKey(key));
    }
    assert!(tap(&mut session, CardServiceInput::EntryConfirm).is_empty());
    assert!(matches!(
        step(&session),
        ProxyStep::Confirm { added: true, .. }
    ));
    let (ticket, request) = fetch(&tap(&mut session, CardServiceInput::Confirm));
    let Request::Proxies {
        change: Some(ProxyChange::Add { name, .. }),
        ..
    } = request
    else {
        panic!("an add: {request:?}");
    };
    assert_eq!(name.letters(), "liming");
    assert_eq!(step(&session), ProxyStep::Sending);
    // Unknown outcome: trying again is the same request under the same ticket.
    session.handle(
        Event::ProxiesAnswered {
            ticket,
            result: Err(renshe_core::BackendProblem::OutcomeUnknown),
        },
        at(4),
    );
    let (again, _) = fetch(&tap(&mut session, CardServiceInput::TryAgain));
    assert_eq!(again, ticket);
    session.handle(
        Event::ProxiesAnswered {
            ticket,
            result: Ok(ProxyReply::Changed {
                masked_name: "王*国".into(),
                proxies: entries(2),
                reference: "9A1B".into(),
            }),
        },
        at(5),
    );
    let ProxyStep::Done(receipt) = step(&session) else {
        panic!("done");
    };
    assert!(receipt.added);
    assert_eq!(receipt.count, 2);
    assert!(matches!(
        tap(&mut session, CardServiceInput::Print).as_slice(),
        [Command::Print { .. }]
    ));
}

#[test]
fn removing_names_the_entry_seen_and_four_is_the_most() {
    let mut session = at_list(4);
    assert!(matches!(step(&session), ProxyStep::List { full: true, .. }));
    assert!(tap(&mut session, CardServiceInput::AddProxy).is_empty());
    assert!(
        matches!(step(&session), ProxyStep::List { .. }),
        "a fifth cannot be started"
    );
    tap(&mut session, CardServiceInput::RemoveProxy(2));
    assert!(matches!(
        step(&session),
        ProxyStep::Confirm { added: false, .. }
    ));
    let (ticket, request) = fetch(&tap(&mut session, CardServiceInput::Confirm));
    assert_eq!(
        request,
        Request::Proxies {
            who: Identification::IdCard,
            change: Some(ProxyChange::Remove {
                slot: 2,
                masked_id: "500106********1132".into()
            })
        }
    );
    // Another flow's late answer changes nothing.
    let stranger = Ticket {
        session: ticket.session,
        flow: ticket.flow + 1,
        step: ticket.step,
    };
    session.handle(
        Event::ProxiesAnswered {
            ticket: stranger,
            result: Ok(ProxyReply::Changed {
                masked_name: "王*国".into(),
                proxies: entries(0),
                reference: "X".into(),
            }),
        },
        at(4),
    );
    assert_eq!(step(&session), ProxyStep::Sending);
}
