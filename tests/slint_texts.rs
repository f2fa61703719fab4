//! No `.slint` file shows a literal string to a resident, and every Fluent key the UI names
//! exists in every locale.

use std::path::{Path, PathBuf};

use regex::Regex;
use renshe_kiosk::core::Language;
use renshe_kiosk::i18n::Translator;

fn slint_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("ui folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            slint_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "slint") {
            found.push(path);
        }
    }
}

fn all_slint() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    slint_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ui"),
        &mut files,
    );
    assert!(files.len() >= 8, "found only {files:?}");
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            (path, text)
        })
        .collect()
}

#[test]
fn no_slint_file_shows_a_literal_string() {
    // Allowed: import paths; the key (and argument name) of an `I18n.tr` call, also when built
    // with `+`; SVG path data; device and state names used to build keys; the default
    // language tag; the font family; the empty string.
    let allowed = [
        r#"^\s*import .* from "[^"]*";"#,
        r#"I18n\.tr\("[^"]*""#,
        r#"I18n\.tr-arg\("[^"]*", I18n\.lang, "[a-z]+""#,
        r#"I18n\.tr-arg\([A-Za-z.-]+, I18n\.lang, "[a-z]+""#,
        // A page in every language at once (out of service) loops over the tags.
        r#"I18n\.tr-arg\("[^"]*", lang, "[a-z]+""#,
        r#"commands: "[^"]*""#,
        r#"device: "[a-z-]+""#,
        r#"default-font-family: "[^"]*""#,
        r#"\+ "-[a-z-]+", I18n\.lang"#,
        r#"state [!=]= "[a-z-]+""#,
        r#"lang(:| ==) "[a-z]{2}-[A-Z]{2}""#,
        // A property that names a Fluent key (`key:`, `label-key:`, `button-key:` …).
        r#"(^|[\s{])([a-z]+-)?key: "[a-z-]+""#,
        r#"-key [!=]= "[a-z-]+""#,
        r#""""#,
    ]
    .map(|pattern| Regex::new(pattern).expect("pattern"));
    let literal = Regex::new(r#""[^"]*""#).expect("pattern");
    let mut offenders = Vec::new();
    for (path, text) in all_slint() {
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let mut rest = line.to_string();
            for pattern in &allowed {
                rest = pattern.replace_all(&rest, "").into_owned();
            }
            if literal.is_match(&rest) {
                offenders.push(format!(
                    "{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "literal strings shown to residents:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_key_the_ui_names_exists_in_every_locale() {
    let translator = Translator::new().expect("locales");
    // Whole keys: `tr("key", ...`; prefixes built with `+` are checked by the core's tests.
    let key = Regex::new(r#"I18n\.tr(?:-arg)?\("([a-z0-9-]+)","#).expect("pattern");
    // And keys handed to widgets by property (`button-key: "query-print"`); a key ending in
    // "-" is a prefix, completed with `+`.
    let key_property =
        Regex::new(r#"(?:^|[\s{])(?:[a-z]+-)?key: "([a-z0-9-]*[a-z0-9])"[;\s]"#).expect("pattern");
    let mut checked = 0;
    for (path, text) in all_slint() {
        for capture in key
            .captures_iter(&text)
            .chain(key_property.captures_iter(&text))
        {
            let key = &capture[1];
            for language in Language::ALL {
                let text = translator.tr(language, key);
                assert_ne!(
                    text,
                    key,
                    "{}: `{key}` is missing in {}",
                    path.display(),
                    language.tag()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 30,
        "only {checked} keys found: is the pattern still right?"
    );
    // Keys built from device and state names.
    for device in ["card-reader", "printer", "network"] {
        for language in Language::ALL {
            let key = format!("device-{device}");
            assert_ne!(translator.tr(language, &key), key);
        }
    }
    // Keys the Rust side hands to the screens (finder rows and chips, query rows, errors).
    let handed_over = vec![
        "finder-walk",
        "finder-km",
        "finder-open-now",
        "finder-closed-now",
        "finder-open-24h",
        "finder-loading",
        "finder-no-results",
        "filter-open-now",
        "filter-24h",
        "filter-this-district",
        "filter-certification",
        "filter-card-replacement",
        "filter-card-activation",
        "tier-city",
        "tier-district",
        "tier-town",
        "tier-village",
        "tier-partner-bank",
        "tier-partner-post",
        "tier-partner-hospital",
        "finder-print-printed",
        "list-separator",
        "hours-day-range",
        "hours-24h",
        "weekday-0",
        "weekday-1",
        "weekday-2",
        "weekday-3",
        "weekday-4",
        "weekday-5",
        "weekday-6",
    ]
    .into_iter()
    .chain(renshe_kiosk::core::records::KEYS.iter().copied())
    .chain(
        renshe_kiosk::core::Filter::ALL
            .iter()
            .map(|filter| filter.key()),
    )
    .chain(renshe_kiosk::ui::failure_keys());
    for key in handed_over {
        for language in Language::ALL {
            assert_ne!(
                translator.tr(language, key),
                key,
                "{} lacks {key}",
                language.tag()
            );
        }
    }
    for key in renshe_kiosk::ui::technician::keys() {
        for language in Language::ALL {
            assert_ne!(
                translator.tr(language, &key),
                key,
                "{} lacks {key}",
                language.tag()
            );
        }
    }
    for state in [
        "online",
        "offline",
        "no-device",
        "hardware-error",
        "unknown",
    ] {
        for language in Language::ALL {
            let key = format!("device-state-{state}");
            assert_ne!(translator.tr(language, &key), key);
        }
    }
}
