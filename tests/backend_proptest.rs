//! Property tests: the back-end parsers never panic on arbitrary bytes, and the outbox never
//! loses or duplicates a message whatever the order of acks, failures and crashes.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use renshe_kiosk::backend::api::{self, ApiError, Operation, TxStatus};
use renshe_kiosk::backend::config::BackendConfig;
use renshe_kiosk::store::outbox::{MessageState, NewMessage};
use renshe_kiosk::store::Store;

const PATHS: &[&str] = &[
    "holders/identify",
    "enrollment",
    "contributions",
    "pension-payments",
    "medical-account",
    "cards/activate",
    "cards/loss-report",
    "cards/loss-release",
    "certifications",
    "proxies/list",
    "proxies/add",
    "proxies/remove",
    "hsm/card-auth",
    "catalogue/sync",
    "heartbeats",
    "reconciliation",
    "nope",
];

fn sample_ops() -> Vec<Operation> {
    let p = || "P1".to_string();
    vec![
        Operation::IdentifyHolder {
            id_number: p(),
            card_number: None,
        },
        Operation::QueryEnrollment { person_id: p() },
        Operation::QueryContributions {
            person_id: p(),
            from_year: 1,
            to_year: 2,
        },
        Operation::QueryPensionPayments { person_id: p() },
        Operation::QueryMedicalAccount { person_id: p() },
        Operation::ActivateCard {
            person_id: p(),
            card_number: p(),
        },
        Operation::SubmitCertification {
            person_id: p(),
            year: 1,
            method: p(),
            challenge_id: p(),
            capture_id: p(),
            helper_person_id: Some(p()),
        },
        Operation::QueryCertification { person_id: p() },
        Operation::UploadCapture {
            person_id: p(),
            challenge_id: p(),
            frames: vec![p()],
        },
        Operation::ListProxies { person_id: p() },
        Operation::CardCryptogram {
            card_id: p(),
            challenge: "0011223344556677".into(),
        },
        Operation::CatalogueSync {
            since_version: 0,
            after: None,
            limit: None,
        },
        Operation::Reconciliation { date: p() },
    ]
}

/// Bytes that are often almost-JSON, so the parsers get past the first character.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "\\{\"[a-z_]{1,12}\": ?(\"[a-zA-Z0-9]{0,40}\"|[0-9]{1,5}|true|null|\\[\\]|\\{\\})(, ?\"[a-z_]{1,12}\": ?\"[0-9A-F]{0,34}\"){0,4}\\}"
            .prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn backend_json_parsers_return_errors_and_never_panic(bytes in jsonish(), path in 0..PATHS.len()) {
        for op in sample_ops() {
            let _ = api::parse_reply(&op, &bytes);
        }
        let _ = ApiError::parse(&bytes);
        let _ = TxStatus::parse(&bytes);
        let _ = Operation::from_request(PATHS[path], &bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Operation::from_journal(&text);
        let _ = BackendConfig::from_toml(&text);
    }
}

#[derive(Debug, Clone)]
enum Step {
    Enqueue,
    /// Deliver the oldest due message; the receiver gets it, then:
    Deliver(Ack),
    /// The process dies: reopen the database file.
    Crash,
}

#[derive(Debug, Clone, Copy)]
enum Ack {
    /// The acknowledgement arrives and is recorded.
    Received,
    /// The receiver got the message, but the ack was lost (timeout).
    Lost,
    /// The receiver never got it.
    Failed,
    /// The ack arrived but the process died before recording it.
    CrashBeforeRecording,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Enqueue),
        2 => Just(Step::Deliver(Ack::Received)),
        1 => Just(Step::Deliver(Ack::Lost)),
        1 => Just(Step::Deliver(Ack::Failed)),
        1 => Just(Step::Deliver(Ack::CrashBeforeRecording)),
        1 => Just(Step::Crash),
    ]
}

/// The receiver dedupes on the message id, as the contract requires.
#[derive(Default)]
struct Receiver {
    deliveries: HashMap<String, u32>,
    applied: Vec<String>,
}

impl Receiver {
    fn receive(&mut self, id: &str) {
        let n = self.deliveries.entry(id.to_string()).or_default();
        *n += 1;
        if *n == 1 {
            self.applied.push(id.to_string());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_outbox_never_loses_or_duplicates_a_message(steps in proptest::collection::vec(step(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.db");
        let mut store = Store::open(&path).expect("open");
        let mut receiver = Receiver::default();
        let mut enqueued = Vec::new();
        let mut marked_sent = HashSet::new();
        let deliver = |store: &mut Store, receiver: &mut Receiver, ack: Ack, marked: &mut HashSet<String>| -> bool {
            let Some(m) = store.outbox_due(i64::MAX, 1).expect("due").into_iter().next() else {
                return false;
            };
            if !matches!(ack, Ack::Failed) {
                receiver.receive(&m.message_id);
            }
            match ack {
                Ack::Received => {
                    let changed = store
                        .outbox_finish(m.id, MessageState::Sent, 1, None, &[])
                        .expect("finish");
                    assert!(changed, "a pending message finishes once");
                    assert!(marked.insert(m.message_id.clone()), "marked sent twice");
                }
                Ack::Lost | Ack::Failed => store.outbox_retry_later(m.id, 0, "no ack").expect("retry"),
                Ack::CrashBeforeRecording => {}
            }
            true
        };
        for step in steps {
            match step {
                Step::Enqueue => {
                    let id = format!("m{}", enqueued.len());
                    store
                        .outbox_enqueue(
                            &NewMessage { message_id: &id, kind: "journal_batch", service: "terminal",
                                          path: "/v1/journal-batches", body: "{}", now_ms: 0,
                                          latest_wins: false },
                            &[],
                        )
                        .expect("enqueue");
                    enqueued.push(id);
                }
                Step::Deliver(ack) => {
                    deliver(&mut store, &mut receiver, ack, &mut marked_sent);
                    if matches!(ack, Ack::CrashBeforeRecording) {
                        drop(store);
                        store = Store::open(&path).expect("reopen");
                    }
                }
                Step::Crash => {
                    drop(store);
                    store = Store::open(&path).expect("reopen");
                }
            }
            // Never marked sent without the receiver having it.
            for id in &marked_sent {
                prop_assert!(receiver.deliveries.contains_key(id));
            }
        }
        // Drain: everything pending is eventually acknowledged.
        while deliver(&mut store, &mut receiver, Ack::Received, &mut marked_sent) {}
        let counts = store.outbox_counts().expect("counts");
        prop_assert_eq!(counts.pending, 0);
        prop_assert_eq!(counts.sent as usize, enqueued.len());
        let mut applied = receiver.applied.clone();
        applied.sort();
        let mut expected = enqueued.clone();
        expected.sort();
        prop_assert_eq!(applied, expected, "every message applied exactly once");
    }
}
