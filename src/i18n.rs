//! Screen texts from Fluent files (`locales/<tag>/*.ftl`), compiled into the binary so a
//! terminal can never start with a missing or half-copied locale folder.

use std::collections::HashMap;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::core::Language;

/// Every locale's Fluent sources, by language. Add a file here when a module adds one.
const SOURCES: &[(Language, &str, &str)] = &[
    (
        Language::ZhCn,
        "kiosk.ftl",
        include_str!("../locales/zh-CN/kiosk.ftl"),
    ),
    (
        Language::EnUs,
        "kiosk.ftl",
        include_str!("../locales/en-US/kiosk.ftl"),
    ),
    (
        Language::ZhCn,
        "voice.ftl",
        include_str!("../locales/zh-CN/voice.ftl"),
    ),
    (
        Language::EnUs,
        "voice.ftl",
        include_str!("../locales/en-US/voice.ftl"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    #[error("locales/{language}/{file}: {message}")]
    Syntax {
        language: &'static str,
        file: &'static str,
        message: String,
    },
}

/// All languages' bundles; looks a key up in the language asked for.
pub struct Translator {
    bundles: HashMap<Language, FluentBundle<FluentResource>>,
}

impl Translator {
    pub fn new() -> Result<Translator, I18nError> {
        let mut bundles = HashMap::new();
        for &(language, file, source) in SOURCES {
            let resource = FluentResource::try_new(source.to_string()).map_err(|(_, errors)| {
                I18nError::Syntax {
                    language: language.tag(),
                    file,
                    message: format!("{errors:?}"),
                }
            })?;
            let bundle = bundles.entry(language).or_insert_with(|| {
                let tag = language.tag().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![tag]);
                // Unicode isolation marks would show up as boxes on the kiosk's renderer.
                bundle.set_use_isolating(false);
                bundle
            });
            bundle
                .add_resource(resource)
                .map_err(|errors| I18nError::Syntax {
                    language: language.tag(),
                    file,
                    message: format!("{errors:?}"),
                })?;
        }
        Ok(Translator { bundles })
    }

    /// The text for `key`; the key itself when missing (a test keeps that from shipping).
    pub fn tr(&self, language: Language, key: &str) -> String {
        self.format(language, key, None)
    }

    /// The text for `key` with one named argument, e.g. `{ $seconds }`.
    pub fn tr_with(&self, language: Language, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        // Numbers stay numbers, so Fluent can choose plural forms.
        match value.parse::<f64>() {
            Ok(number) => args.set(name.to_string(), FluentValue::from(number)),
            Err(_) => args.set(name.to_string(), FluentValue::from(value.to_string())),
        }
        self.format(language, key, Some(&args))
    }

    fn format(&self, language: Language, key: &str, args: Option<&FluentArgs>) -> String {
        let Some(bundle) = self.bundles.get(&language) else {
            return key.to_string();
        };
        let Some(pattern) = bundle.get_message(key).and_then(|message| message.value()) else {
            tracing::warn!(key, language = language.tag(), "missing translation");
            return key.to_string();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, ?errors, "translation formatting errors");
        }
        text.into_owned()
    }

    /// Every message key of one language, for the completeness tests.
    pub fn keys(language: Language) -> Vec<String> {
        SOURCES
            .iter()
            .filter(|(lang, _, _)| *lang == language)
            .flat_map(|(_, _, source)| {
                source.lines().filter_map(|line| {
                    let (key, _) = line.split_once(" =")?;
                    let is_key = !key.is_empty()
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                    is_key.then(|| key.to_string())
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_key_exists_in_every_locale() {
        let reference: BTreeSet<String> = Translator::keys(Language::ZhCn).into_iter().collect();
        assert!(
            reference.len() > 40,
            "the key scan found too little: {reference:?}"
        );
        for language in Language::ALL {
            let keys: BTreeSet<String> = Translator::keys(language).into_iter().collect();
            let missing: Vec<_> = reference.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&reference).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                language.tag()
            );
        }
    }

    #[test]
    fn texts_are_looked_up_per_language_with_arguments() {
        let translator = Translator::new().expect("bundled locales parse");
        assert_eq!(translator.tr(Language::ZhCn, "nav-back"), "返回");
        assert_eq!(translator.tr(Language::EnUs, "nav-back"), "Back");
        assert_eq!(
            translator.tr_with(Language::ZhCn, "idle-countdown", "seconds", "25"),
            "25 秒后将返回首页，您的信息会被清除"
        );
        assert_eq!(translator.tr(Language::EnUs, "no-such-key"), "no-such-key");
    }

    #[test]
    fn every_voice_prompt_has_words_to_be_heard_in_every_language() {
        let translator = Translator::new().expect("bundled locales parse");
        let keys = crate::core::voice::keys();
        assert!(keys.len() > 80, "{} keys", keys.len());
        for language in Language::ALL {
            for key in &keys {
                let text = translator.tr_with(language, key, "value", "三");
                assert_ne!(&text, key, "{} lacks {key}", language.tag());
                // Heard, not read: no digits and no symbols a synthesizer would spell out.
                let bad: Vec<char> = text
                    .chars()
                    .filter(|c| c.is_ascii_digit() || "/()[]{}%#*&@<>|_~$".contains(*c))
                    .collect();
                assert!(
                    bad.is_empty(),
                    "{} {key}: {text:?} has {bad:?}",
                    language.tag()
                );
            }
        }
    }

    #[test]
    fn every_service_and_group_has_its_texts() {
        let translator = Translator::new().expect("bundled locales parse");
        for language in Language::ALL {
            for service in crate::core::ServiceId::ALL {
                for key in [
                    format!("service-{}", service.key()),
                    format!("service-{}-hint", service.key()),
                ] {
                    assert_ne!(
                        translator.tr(language, &key),
                        key,
                        "{} lacks {key}",
                        language.tag()
                    );
                }
            }
            for group in crate::core::ServiceGroup::ALL {
                let key = format!("group-{}", group.key());
                assert_ne!(
                    translator.tr(language, &key),
                    key,
                    "{} lacks {key}",
                    language.tag()
                );
            }
        }
    }
}
