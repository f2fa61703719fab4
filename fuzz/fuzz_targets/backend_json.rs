//! Arbitrary bytes into every parser of back-end JSON: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_kiosk::backend::api::{self, ApiError, Operation, TxStatus};

fuzz_target!(|data: &[u8]| {
    let p = || "P1".to_string();
    let ops = [
        Operation::IdentifyHolder { id_number: p(), card_number: None },
        Operation::QueryEnrollment { person_id: p() },
        Operation::QueryContributions { person_id: p(), from_year: 1, to_year: 2 },
        Operation::QueryPensionPayments { person_id: p() },
        Operation::QueryMedicalAccount { person_id: p() },
        Operation::ActivateCard { person_id: p(), card_number: p() },
        Operation::SubmitCertification { person_id: p(), year: 1, method: p() },
        Operation::ListProxies { person_id: p() },
        Operation::CardCryptogram { card_id: p(), challenge: "0011223344556677".into() },
        Operation::CatalogueSync { since_version: 0 },
        Operation::Reconciliation { date: p() },
    ];
    for op in &ops {
        let _ = api::parse_reply(op, data);
    }
    let _ = ApiError::parse(data);
    let _ = TxStatus::parse(data);
    // The first byte picks a request path for the back end's own request parser.
    if let Some((&selector, rest)) = data.split_first() {
        let paths = ["holders/identify", "cards/activate", "hsm/card-auth", "proxies/add", "heartbeats"];
        let _ = Operation::from_request(paths[usize::from(selector) % paths.len()], rest);
    }
    let _ = Operation::from_journal(&String::from_utf8_lossy(data));
});
