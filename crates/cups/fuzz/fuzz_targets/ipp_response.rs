//! Bytes from cupsd (or anything answering on its port): the ipp crate's parser and our
//! reading of its result into a printer status, a job id and a job state, and readiness on
//! whatever status comes out. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_cups::{readiness, wire};

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys's panic hook aborts even on a panic that is caught. renshe-cups contains
    // the ipp parser's known panics (wire::contain_panic), so a quiet hook lets those count as
    // the errors they become; a panic that escapes still aborts (libfuzzer-sys catches it).
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Ok(status) = wire::printer_status_from_body(data) {
        let _ = readiness(&status);
    }
    let _ = wire::job_state_from_body(data);
    if let Ok(resp) = wire::parse_response(data) {
        let _ = wire::job_id_from(&resp);
    }
});
