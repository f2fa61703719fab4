//! A few hand-written runs of the machine, spelling out the order of actions.

use renshe_exactly_once::{
    Action, Answer, Backoff, Begin, Breaker, BreakerPolicy, Config, Endpoint, Error, Failure,
    Final, JournalEntry, Key, Machine, Millis, Outcome, QuarantineReason, Record, Reference,
    Report, Standing, TxState,
};

type M = Machine<&'static str, u32>;
type Act = Action<&'static str, u32>;

fn config() -> Config {
    Config {
        endpoints: 2,
        attempts_per_endpoint: 2,
        retry: Backoff {
            base: Millis(100),
            cap: Millis(1_000),
        },
        resolve: Backoff {
            base: Millis(1_000),
            cap: Millis(8_000),
        },
        breaker: BreakerPolicy {
            failure_threshold: 2,
            open: Millis(5_000),
            trial_window: Millis(30_000),
        },
        retention: Millis(60_000),
    }
}

fn key(k: &str) -> Key {
    Key(k.into())
}

fn drain(m: &mut M) -> Vec<Act> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

fn machine() -> M {
    match Machine::new(config(), Millis(0), std::iter::empty()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn journal(k: &str, at: u64, record: Record<&'static str, u32>) -> Act {
    Action::Journal(JournalEntry {
        key: key(k),
        reference: Reference("r".into()),
        at: Millis(at),
        record,
    })
}

/// Begins "r" under k1 and acknowledges intent and `sent`; returns the send's attempt.
fn begun_and_sent(m: &mut M) -> u32 {
    let begun = m.begin(Millis(0), Reference("r".into()), "activate", key("k1"));
    assert_eq!(begun, Ok(Begin::Started(key("k1"))));
    assert_eq!(drain(m), [journal("k1", 0, Record::Intent("activate"))]);
    assert_eq!(m.journaled(Millis(1), &key("k1")), Ok(()));
    // The intent is durable on its own before `sent` is even written; nothing sent yet.
    assert_eq!(drain(m), [journal("k1", 1, Record::Sent)]);
    assert_eq!(m.journaled(Millis(2), &key("k1")), Ok(()));
    match drain(m).as_slice() {
        [Action::Send {
            endpoint: Endpoint(0),
            attempt,
            ..
        }] => *attempt,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_happy_path_journals_before_it_sends_and_reports_after_it_journals() {
    let mut m = machine();
    let attempt = begun_and_sent(&mut m);
    assert_eq!(
        m.answer(Millis(3), &key("k1"), attempt, Answer::Applied(7), 0),
        Ok(())
    );
    assert_eq!(
        drain(&mut m),
        [journal("k1", 3, Record::Completed(Final::Applied(7)))]
    );
    assert_eq!(m.journaled(Millis(4), &key("k1")), Ok(()));
    let report = Action::Report(Report {
        key: key("k1"),
        reference: Reference("r".into()),
        outcome: Outcome::Final(Final::Applied(7)),
    });
    assert_eq!(drain(&mut m), [report]);
    // Again for the same reference: the journaled result, no second key.
    let again = m.begin(Millis(5), Reference("r".into()), "activate", key("k2"));
    assert_eq!(
        again,
        Ok(Begin::Finished {
            key: key("k1"),
            result: Final::Applied(7)
        })
    );
    assert_eq!(m.open_keys().count(), 0);
}

#[test]
fn a_refused_connection_fails_over_at_once_and_a_stale_answer_is_ignored() {
    let mut m = machine();
    let first = begun_and_sent(&mut m);
    assert_eq!(
        m.answer(Millis(3), &key("k1"), first, Answer::ConnectFailed, 0),
        Ok(())
    );
    let second = match drain(&mut m).as_slice() {
        [Action::Send {
            endpoint: Endpoint(1),
            attempt,
            ..
        }] => *attempt,
        other => panic!("{other:?}"),
    };
    // A duplicate of the first answer turns up: ignored.
    assert_eq!(
        m.answer(Millis(4), &key("k1"), first, Answer::Applied(1), 0),
        Ok(())
    );
    assert_eq!(drain(&mut m), []);
    assert_eq!(
        m.answer(Millis(5), &key("k1"), second, Answer::Rejected(9), 0),
        Ok(())
    );
    assert_eq!(
        drain(&mut m),
        [journal("k1", 5, Record::Completed(Final::Rejected(9)))]
    );
}

#[test]
fn a_timeout_pauses_before_the_retry_on_the_monotonic_clock() {
    let mut m = machine();
    let first = begun_and_sent(&mut m);
    assert_eq!(
        m.answer(Millis(10), &key("k1"), first, Answer::Timeout, 0),
        Ok(())
    );
    assert_eq!(drain(&mut m), []);
    // Jitter 0: half of the first pause of 100 ms.
    assert_eq!(m.poll_timeout(), Some(Millis(60)));
    m.handle_timeout(Millis(59), 0);
    assert_eq!(drain(&mut m), []);
    m.handle_timeout(Millis(60), 0);
    assert!(matches!(
        drain(&mut m).as_slice(),
        [Action::Send {
            endpoint: Endpoint(0),
            ..
        }]
    ));
}

#[test]
fn every_try_failing_makes_it_unknown_then_not_found_is_fenced_then_void() {
    let mut m = machine();
    let mut attempt = begun_and_sent(&mut m);
    let mut now = 2;
    // Two tries on each endpoint, all timing out (the breakers open on the way).
    loop {
        now += 1_000;
        assert_eq!(
            m.answer(Millis(now), &key("k1"), attempt, Answer::Timeout, 0),
            Ok(())
        );
        if let Some(t) = m.poll_timeout() {
            now = now.max(t.0);
            m.handle_timeout(Millis(now), 0);
        }
        match drain(&mut m).as_slice() {
            [Action::Send { attempt: a, .. }] => attempt = *a,
            [Action::Journal(JournalEntry {
                record: Record::Unknown,
                ..
            })] => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(m.journaled(Millis(now), &key("k1")), Ok(()));
    let actions = drain(&mut m);
    assert!(matches!(
        &actions[0],
        Action::Report(Report {
            outcome: Outcome::Unknown,
            ..
        })
    ));
    // Both breakers are open now: the query waits for the first to let a trial through.
    assert!(m
        .breakers()
        .iter()
        .all(|b| matches!(b, Breaker::Open { .. })));
    assert_eq!(actions.len(), 1);
    let t = m.poll_timeout().map_or(0, |t| t.0);
    m.handle_timeout(Millis(t), 0);
    let query = match drain(&mut m).as_slice() {
        [Action::QueryStatus { attempt, .. }] => *attempt,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        m.status(Millis(t), &key("k1"), query, Ok(TxState::InProgress), 0),
        Ok(())
    );
    // Still executing: never voided; asked again after a pause.
    assert_eq!(drain(&mut m), []);
    let t = m.poll_timeout().map_or(0, |t| t.0);
    m.handle_timeout(Millis(t), 0);
    let query = match drain(&mut m).as_slice() {
        [Action::QueryStatus { attempt, .. }] => *attempt,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        m.status(Millis(t), &key("k1"), query, Ok(TxState::NotFound), 0),
        Ok(())
    );
    let void = match drain(&mut m).as_slice() {
        [Action::Void { attempt, .. }] => *attempt,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        m.status(Millis(t), &key("k1"), void, Ok(TxState::Void), 0),
        Ok(())
    );
    assert_eq!(
        drain(&mut m),
        [journal("k1", t, Record::Completed(Final::Voided))]
    );
    assert_eq!(m.journaled(Millis(t), &key("k1")), Ok(()));
    drain(&mut m);
    // A voided attempt never happened: the reference may go again, under a new key.
    let again = m.begin(Millis(t), Reference("r".into()), "activate", key("k2"));
    assert_eq!(again, Ok(Begin::Started(key("k2"))));
}

#[test]
fn recovery_voids_unsent_intents_locally_and_quarantines_an_old_unknown() {
    let entry = |k: &str, record| JournalEntry {
        key: key(k),
        reference: Reference(format!("ref-{k}")),
        at: Millis(1_000),
        record,
    };
    let journal = [
        entry("never-sent", Record::Intent("a")),
        entry("old", Record::Intent("b")),
        entry("old", Record::Sent),
        entry("old", Record::Unknown),
    ];
    let now = Millis(1_000 + 60_000);
    let mut m: M = match Machine::new(config(), now, &journal) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let actions = drain(&mut m);
    assert!(actions.contains(&Action::Journal(JournalEntry {
        key: key("never-sent"),
        reference: Reference("ref-never-sent".into()),
        at: now,
        record: Record::Completed(Final::Voided),
    })));
    let query = actions.iter().find_map(|a| match a {
        Action::QueryStatus {
            key: k, attempt, ..
        } if *k == key("old") => Some(*attempt),
        _ => None,
    });
    let Some(query) = query else {
        panic!("{actions:?}")
    };
    assert_eq!(
        m.status(now, &key("old"), query, Ok(TxState::NotFound), 0),
        Ok(())
    );
    assert_eq!(
        drain(&mut m),
        [Action::Quarantine {
            key: key("old"),
            reference: Reference("ref-old".into()),
            reason: QuarantineReason::PastRetention {
                age: Millis(60_000)
            },
        }]
    );
    let again = m.begin(now, Reference("ref-old".into()), "b", key("new"));
    assert_eq!(again, Ok(Begin::Quarantined(key("old"))));
    // A failed status call is an input too (and is ignored once the key is quarantined).
    assert_eq!(
        m.status(now, &key("old"), query, Err(Failure::Timeout), 0),
        Ok(())
    );
}

#[test]
fn a_journal_without_an_intent_is_refused_whole() {
    let journal = [JournalEntry {
        key: key("k"),
        reference: Reference("r".into()),
        at: Millis(0),
        record: Record::<&str, u32>::Sent,
    }];
    let m = Machine::new(config(), Millis(0), &journal);
    assert!(matches!(m, Err(renshe_exactly_once::Error::NoIntent(k)) if k == key("k")));
}

#[test]
fn resolve_now_ends_a_pause_and_finished_or_unwritten_keys_can_be_dropped() {
    let mut m = machine();
    let attempt = begun_and_sent(&mut m);
    // The back end answers "still executing": paused until the resolve backoff is over.
    assert_eq!(
        m.answer(Millis(3), &key("k1"), attempt, Answer::Garbled, 0),
        Ok(())
    );
    assert_eq!(m.standing(&key("k1")), Some(Standing::Exchanging));
    let t = m.poll_timeout().map_or(0, |t| t.0);
    m.handle_timeout(Millis(t), 0);
    let retry = match drain(&mut m).as_slice() {
        [Action::Send { attempt, .. }] => *attempt,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        m.answer(Millis(t), &key("k1"), retry, Answer::InProgress, 0),
        Ok(())
    );
    assert_eq!(drain(&mut m), [journal("k1", t, Record::Unknown)]);
    assert_eq!(m.journaled(Millis(t), &key("k1")), Ok(()));
    let query = match drain(&mut m).as_slice() {
        [Action::Report(_), Action::QueryStatus { attempt, .. }] => *attempt,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        m.status(Millis(t), &key("k1"), query, Ok(TxState::InProgress), 0),
        Ok(())
    );
    let Some(Standing::Paused { until }) = m.standing(&key("k1")) else {
        panic!("{:?}", m.standing(&key("k1")));
    };
    assert!(until.0 > t + 1);
    // Not paused: nothing to do. Paused: the query goes now, not at `until`.
    assert!(!m.resolve_now(Millis(t + 1), &key("nobody")));
    assert!(m.resolve_now(Millis(t + 1), &key("k1")));
    assert!(!m.resolve_now(Millis(t + 1), &key("k1")), "already asking");
    let query = match drain(&mut m).as_slice() {
        [Action::QueryStatus { attempt, .. }] => *attempt,
        other => panic!("{other:?}"),
    };
    assert_eq!(m.forget(&key("k1")), Err(Error::WrongState(key("k1"))));
    assert_eq!(
        m.status(Millis(t + 2), &key("k1"), query, Ok(TxState::Applied(5)), 0),
        Ok(())
    );
    drain(&mut m);
    assert_eq!(m.journaled(Millis(t + 3), &key("k1")), Ok(()));
    assert_eq!(
        m.standing(&key("k1")),
        Some(Standing::Done(Final::Applied(5)))
    );
    assert!(matches!(drain(&mut m).as_slice(), [Action::Report(_)]));
    // Forgotten: the machine no longer answers for it (the caller's journal does).
    assert_eq!(m.forget(&key("k1")), Ok(()));
    assert_eq!(m.standing(&key("k1")), None);
    let fresh = m.begin(Millis(t + 4), Reference("r".into()), "activate", key("k2"));
    assert_eq!(fresh, Ok(Begin::Started(key("k2"))));
    // The intent could not be made durable: abandoned as if never begun.
    assert_eq!(m.abandon(&key("k2")), Ok(()));
    assert_eq!(drain(&mut m), []);
    assert_eq!(m.open_keys().count(), 0);
    let again = m.begin(Millis(t + 5), Reference("r".into()), "activate", key("k3"));
    assert_eq!(again, Ok(Begin::Started(key("k3"))));
    assert_eq!(m.abandon(&key("k1")), Err(Error::UnknownKey(key("k1"))));
}
