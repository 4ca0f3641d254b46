//! What the « Écouter » recording of a legal text says: the words the recap shows, in the order
//! it shows them, taken from the same source (`crate::legal`, `crate::easy_read`), so the audio
//! and the page cannot drift apart. `make audio` has espeak-ng read this text
//! (`examples/speech_text.rs` prints it) and records the SHA-256 of these exact bytes beside each
//! recording; a test of the web crate fails when a text changes and its recording does not
//! (docs/audio.md).

use crate::easy_read::{EasyRead, easy_read};
use crate::legal::{LegalText, UnknownLegalText, legal_text, legal_text_versions};

/// The two forms of a version's text the aidé may read on the recap, and hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpokenForm {
    /// The full text, the one that binds.
    Full,
    /// The easy-to-read rendering (FALC).
    EasyRead,
}

impl SpokenForm {
    pub const ALL: [SpokenForm; 2] = [SpokenForm::Full, SpokenForm::EasyRead];

    /// The word the recap's form and the recordings' file names use.
    pub fn key(self) -> &'static str {
        match self {
            SpokenForm::Full => "complet",
            SpokenForm::EasyRead => "facile",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|form| form.key() == key)
    }
}

/// Every (version, form) that must have a recording.
pub fn spoken_texts() -> impl Iterator<Item = (&'static str, SpokenForm)> {
    legal_text_versions().flat_map(|version| SpokenForm::ALL.map(|form| (version, form)))
}

/// The text espeak-ng reads for `version` in `form`.
pub fn speech_text(version: &str, form: SpokenForm) -> Result<String, UnknownLegalText> {
    Ok(match form {
        SpokenForm::Full => full_speech(&legal_text(version)?),
        SpokenForm::EasyRead => easy_speech(&easy_read(version)?),
    })
}

/// The title, then each heading followed by its paragraphs: one paragraph of speech each,
/// separated by a blank line (espeak-ng pauses at a sentence's end).
fn full_speech(text: &LegalText) -> String {
    let mut parts = vec![sentence(&text.title)];
    for section in &text.sections {
        parts.push(sentence(&section.heading));
        parts.extend(section.paragraphs.iter().cloned());
    }
    join(parts)
}

/// The title, then each line, one idea after the other.
fn easy_speech(text: &EasyRead) -> String {
    let mut parts = vec![sentence(&text.title)];
    parts.extend(text.lines.iter().map(|line| line.text.clone()));
    join(parts)
}

/// A title or heading has no final stop; one is added so the voice pauses before what follows
/// instead of running the heading into the first sentence.
fn sentence(words: &str) -> String {
    let words = words.trim();
    if words.ends_with(['.', '!', '?', ':']) {
        words.to_owned()
    } else {
        format!("{words}.")
    }
}

fn join(parts: Vec<String>) -> String {
    let mut out = parts.join("\n\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_speech_says_every_heading_and_paragraph_in_order() {
        for version in legal_text_versions() {
            let text = legal_text(version).unwrap();
            let speech = speech_text(version, SpokenForm::Full).unwrap();
            let mut from = 0;
            for section in &text.sections {
                for part in std::iter::once(&section.heading).chain(&section.paragraphs) {
                    let at = speech[from..]
                        .find(part.as_str())
                        .unwrap_or_else(|| panic!("{version}: « {part} » missing or out of order"));
                    from += at + part.len();
                }
            }
            assert!(speech.starts_with(&text.title), "{version}");
        }
    }

    #[test]
    fn the_easy_speech_says_every_line_in_order() {
        for version in legal_text_versions() {
            let easy = easy_read(version).unwrap();
            let speech = speech_text(version, SpokenForm::EasyRead).unwrap();
            let expected: Vec<String> = std::iter::once(sentence(&easy.title))
                .chain(easy.lines.iter().map(|l| l.text.clone()))
                .collect();
            assert_eq!(
                speech.trim_end().split("\n\n").collect::<Vec<_>>(),
                expected
            );
        }
    }

    #[test]
    fn headings_get_a_stop_and_sentences_keep_theirs() {
        assert_eq!(sentence("Durée"), "Durée.");
        assert_eq!(sentence("Vos droits ?"), "Vos droits ?");
        assert_eq!(sentence(" Fin. "), "Fin.");
    }

    #[test]
    fn every_version_has_both_forms_and_keys_round_trip() {
        assert_eq!(spoken_texts().count(), legal_text_versions().count() * 2);
        for form in SpokenForm::ALL {
            assert_eq!(SpokenForm::from_key(form.key()), Some(form));
        }
        assert_eq!(SpokenForm::from_key("autre"), None);
        assert!(speech_text("1999-01", SpokenForm::Full).is_err());
    }
}
