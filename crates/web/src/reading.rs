//! What a person reads before consenting: which text of the mandate is shown (the
//! full text or its easy-to-read rendering) and in which language the page is, as every form of
//! a consent page posts them back (`texte`, `langue`), and the legal-text part of a recap built
//! from them (partial `identification/_legal_text.html`).
//!
//! Part of the web kit: the tablet's recap (`identification::consent`) and the phone's, for a
//! consent at a distance (`remote_consent::person`), show the same text the same way, and the
//! journal records the same two facts for both (docs/languages.md, docs/easy-read.md).

use ac_mandates::easy_read::{EasyRead, EasyReadTranslation, easy_read, easy_read_translation};
use ac_mandates::legal::{LegalText, legal_text};
use ac_storage::mandates::TextShown;
use serde::Serialize;

use crate::audio::{self, RecordingView};
use crate::i18n::Language;

/// The text shown and the page's language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    pub text: TextShown,
    pub language: Language,
}

impl Reading {
    /// The reading a consent page's form posted; an unknown word is the default (full text,
    /// French).
    pub(crate) fn posted(field: impl Fn(&str) -> String) -> Self {
        Self {
            text: text_shown(&field("texte")),
            language: Language::parse(&field("langue")).unwrap_or_default(),
        }
    }
}

impl From<TextShown> for Reading {
    fn from(text: TextShown) -> Self {
        Self {
            text,
            language: Language::Fr,
        }
    }
}

/// The forms' word for the text shown.
pub(crate) fn text_key(shown: TextShown) -> &'static str {
    match shown {
        TextShown::Full => "complet",
        TextShown::EasyRead => "facile",
    }
}

/// The text a form's word names; anything else is the full text.
pub(crate) fn text_shown(key: &str) -> TextShown {
    match key {
        "facile" => TextShown::EasyRead,
        _ => TextShown::Full,
    }
}

/// The legal-text part of a recap, for `identification/_legal_text.html`.
#[derive(Serialize)]
pub(crate) struct TextView {
    /// The text shown, as the forms post it (`complet`/`facile`).
    pub text: &'static str,
    /// The full text of the version being signed (collapsed while the easy-to-read one is not
    /// asked for; always there, as the one that binds).
    pub legal: Option<LegalText>,
    pub easy: Option<EasyRead>,
    /// The easy-to-read text in the page's language, shown beside the French (which binds).
    pub translation: Option<EasyReadTranslation>,
    /// The recording of the text shown (« Écouter », docs/audio.md).
    pub audio: Option<RecordingView>,
}

impl TextView {
    /// The part for legal text `version` (the setting, checked at start-up) read as `reading`.
    pub(crate) fn new(version: &str, reading: Reading) -> Self {
        let easy_read_shown = reading.text == TextShown::EasyRead;
        Self {
            text: text_key(reading.text),
            legal: legal_text(version).ok(),
            easy: easy_read_shown.then(|| easy_read(version).ok()).flatten(),
            translation: easy_read_shown
                .then(|| easy_read_translation(version, reading.language.code()))
                .flatten(),
            audio: audio::for_recap(version, reading.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_words_name_the_text_both_ways() {
        for shown in [TextShown::Full, TextShown::EasyRead] {
            assert_eq!(text_shown(text_key(shown)), shown);
        }
        assert_eq!(text_shown("autre"), TextShown::Full);
    }

    #[test]
    fn the_translation_beside_the_french_is_there_only_for_the_easy_to_read_text() {
        let easy_in_arabic = Reading {
            text: TextShown::EasyRead,
            language: Language::Ar,
        };
        let view = TextView::new("2026-01", easy_in_arabic);
        assert!(view.easy.is_some() && view.legal.is_some());
        assert_eq!(view.translation.map(|t| t.language), Some("ar"));
        let full_in_arabic = Reading {
            text: TextShown::Full,
            ..easy_in_arabic
        };
        let view = TextView::new("2026-01", full_in_arabic);
        assert!(view.easy.is_none() && view.translation.is_none() && view.legal.is_some());
        let view = TextView::new("2026-01", TextShown::EasyRead.into());
        assert!(view.translation.is_none(), "no translation of French");
    }
}
