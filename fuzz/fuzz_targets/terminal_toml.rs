//! Arbitrary text as `terminal.toml`: `Config::parse` returns a located error or a config,
//! never panics; an accepted config answers the questions the kiosk asks it at start-up.
//!
//! It links the whole app (config.rs depends on much of it), so it builds for many minutes:
//! `./dev fuzz` runs it, CI (`./dev fuzz-ci`) does not.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use renshe_kiosk::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, Path::new("terminal.toml")) {
        Ok(config) => {
            let _ = config.default_language();
            let _ = config.offered_languages();
            let _ = config.idle_timeout();
            let _ = config.idle_warning();
            let _ = config.database_path();
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
