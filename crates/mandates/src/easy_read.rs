//! The easy-to-read rendering (« facile à lire et à comprendre », FALC) of each legal text
//! version: short sentences, one idea per line, common words, a pictogram per idea. The full
//! text (`crate::legal`) is the one that binds; this one helps the aidé understand it, and the
//! journal records which of the two was shown at consent.
//!
//! Each version is a reviewable file in `legal/<version>.facile.txt`, compiled in: the first
//! `# ` line is the title, other `# ` lines are comments, and each other line is
//! `clause | pictogram | sentence`, where `clause` is the heading of the full text's section the
//! sentence renders. `docs/easy-read.md` maps every line to its clause for review, and the tests
//! hold both the files and that table to the rules below.

use crate::legal::UnknownLegalText;

const TEXTS: &[(&str, &str)] = &[
    ("2025-01", include_str!("../legal/2025-01.facile.txt")),
    ("2026-01", include_str!("../legal/2026-01.facile.txt")),
];

/// The languages a consent's pages are offered in (BCP 47 codes, RFC 5646; docs/languages.md),
/// French first: the journal records one of them with each consent, and storage reads a stored
/// language back against this list. The web layer's `i18n::Language` offers exactly these (a
/// test there holds the two together).
pub const PAGE_LANGUAGES: [&str; 6] = ["fr", "en", "ar", "es", "pt", "ro"];

/// Translations of the easy-to-read texts, in the languages the aidé's pages are offered in
/// (docs/languages.md): `legal/translations/<version>.facile.<language>.txt`, each line
/// `pictogram | sentence`, line N rendering line N of the French file. A help to understand:
/// the French text binds, and the page shows it beside the translation.
const TRANSLATIONS: &[(&str, &str, &str)] = &[
    (
        "2026-01",
        "en",
        include_str!("../legal/translations/2026-01.facile.en.txt"),
    ),
    (
        "2026-01",
        "ar",
        include_str!("../legal/translations/2026-01.facile.ar.txt"),
    ),
    (
        "2026-01",
        "es",
        include_str!("../legal/translations/2026-01.facile.es.txt"),
    ),
    (
        "2026-01",
        "pt",
        include_str!("../legal/translations/2026-01.facile.pt.txt"),
    ),
    (
        "2026-01",
        "ro",
        include_str!("../legal/translations/2026-01.facile.ro.txt"),
    ),
];

/// The pictograms a line may show: names from the State design system's pictogram library
/// (`@gouvfr/dsfr`, `dist/artwork/pictograms/<category>/<name>.svg`).
pub const PICTOGRAMS: &[&str] = &[
    "buildings/city-hall",
    "digital/calendar",
    "digital/internet",
    "digital/self-training",
    "digital/smartphone",
    "document/archive",
    "document/binders",
    "document/contract",
    "document/document",
    "document/document-add",
    "document/document-download",
    "document/document-search",
    "document/document-signature",
    "document/national-identity-card",
    "document/sign-document",
    "environment/human-cooperation",
    "institutions/justice",
    "institutions/money",
    "system/error",
    "system/information",
    "system/padlock",
    "system/success",
    "system/warning",
];

/// The longest sentence a line may hold, in words (the European easy-to-read guidelines ask for
/// short sentences; 15 words is the usual bound).
pub const MAX_WORDS: usize = 15;

/// One idea: the full text's section it renders, its pictogram and its sentence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EasyLine {
    pub clause: String,
    pub pictogram: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EasyRead {
    pub version: &'static str,
    pub title: String,
    pub lines: Vec<EasyLine>,
}

/// The easy-to-read text of `version`, or a refusal naming the version.
pub fn easy_read(version: &str) -> Result<EasyRead, UnknownLegalText> {
    let (version, source) = TEXTS
        .iter()
        .find(|(v, _)| *v == version)
        .ok_or_else(|| UnknownLegalText(version.to_owned()))?;
    Ok(parse(version, source))
}

/// One line of a translation, with the French line it renders (shown beside it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TranslatedLine {
    pub pictogram: String,
    pub french: String,
    pub text: String,
}

/// The easy-to-read text of a version in another language, beside the French.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EasyReadTranslation {
    pub version: &'static str,
    /// The BCP 47 code (RFC 5646) of the translation.
    pub language: &'static str,
    pub title: String,
    pub lines: Vec<TranslatedLine>,
}

/// The translation of `version`'s easy-to-read text into `language`, if there is one.
pub fn easy_read_translation(version: &str, language: &str) -> Option<EasyReadTranslation> {
    let (version, language, source) = TRANSLATIONS
        .iter()
        .find(|(v, l, _)| *v == version && *l == language)?;
    let french = easy_read(version).ok()?;
    let mut title = String::new();
    let mut translated = Vec::new();
    for line in source.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(heading) = line.strip_prefix("# ") {
            if title.is_empty() {
                title = heading.to_owned();
            }
            continue;
        }
        if let Some((pictogram, text)) = line.split_once(" | ") {
            translated.push((pictogram.trim().to_owned(), text.trim().to_owned()));
        }
    }
    let lines = french
        .lines
        .into_iter()
        .zip(translated)
        .map(|(french, (pictogram, text))| TranslatedLine {
            pictogram,
            french: french.text,
            text,
        })
        .collect();
    Some(EasyReadTranslation {
        version,
        language,
        title,
        lines,
    })
}

fn parse(version: &'static str, source: &str) -> EasyRead {
    let mut read = EasyRead {
        version,
        title: String::new(),
        lines: Vec::new(),
    };
    for line in source.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(heading) = line.strip_prefix("# ") {
            if read.title.is_empty() {
                read.title = heading.to_owned();
            }
            continue;
        }
        let mut fields = line.splitn(3, " | ");
        if let (Some(clause), Some(pictogram), Some(text)) =
            (fields.next(), fields.next(), fields.next())
        {
            read.lines.push(EasyLine {
                clause: clause.trim().to_owned(),
                pictogram: pictogram.trim().to_owned(),
                text: text.trim().to_owned(),
            });
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::{legal_text, legal_text_versions};

    /// Sentences end at a '.', '!' or '?' followed by a space or the end (not inside
    /// « www.cnil.fr »).
    fn sentences(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            current.push(c);
            if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()) {
                out.push(current.trim().to_owned());
                current.clear();
            }
        }
        if !current.trim().is_empty() {
            out.push(current.trim().to_owned());
        }
        out
    }

    #[test]
    fn every_translation_renders_the_french_line_by_line() {
        for (version, language, source) in TRANSLATIONS {
            let french = easy_read(version).unwrap();
            let translation = easy_read_translation(version, language).unwrap();
            let written = source
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("# "))
                .count();
            // As many lines as the French, none malformed, each with the French line's
            // pictogram: a line left out or two swapped fail here.
            assert_eq!(
                written,
                french.lines.len(),
                "{version}.{language}: line count"
            );
            assert_eq!(
                translation.lines.len(),
                french.lines.len(),
                "{version}.{language}"
            );
            for (n, (line, fr)) in translation.lines.iter().zip(&french.lines).enumerate() {
                assert_eq!(
                    line.pictogram,
                    fr.pictogram,
                    "{version}.{language} line {}",
                    n + 1
                );
                assert_eq!(line.french, fr.text);
                assert!(!line.text.is_empty());
                for sentence in sentences(&line.text) {
                    assert!(
                        sentence.split_whitespace().count() <= MAX_WORDS + 3,
                        "{version}.{language} line {}: too long: {sentence}",
                        n + 1
                    );
                }
            }
            assert!(!translation.title.is_empty());
        }
    }

    #[test]
    fn the_current_text_is_translated_into_every_offered_language() {
        for language in ["en", "ar", "es", "pt", "ro"] {
            assert!(
                easy_read_translation("2026-01", language).is_some(),
                "{language}"
            );
        }
        assert!(easy_read_translation("2026-01", "de").is_none());
    }

    #[test]
    fn every_version_has_an_easy_read_that_renders_it_point_by_point() {
        for version in legal_text_versions() {
            let full = legal_text(version).unwrap();
            let easy = easy_read(version).unwrap();
            assert!(!easy.title.is_empty(), "{version}");
            // Every line of the source file parsed (none lost to a missing separator).
            let (_, source) = TEXTS.iter().find(|(v, _)| *v == version).unwrap();
            let expected = source
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("# "))
                .count();
            assert_eq!(easy.lines.len(), expected, "{version}: malformed lines");
            let headings: Vec<&str> = full.sections.iter().map(|s| s.heading.as_str()).collect();
            for line in &easy.lines {
                assert!(
                    headings.contains(&line.clause.as_str()),
                    "{version}: « {} » renders no section of the full text",
                    line.clause
                );
            }
            for heading in headings {
                assert!(
                    easy.lines.iter().any(|l| l.clause == heading),
                    "{version}: the section « {heading} » has no easy-to-read line"
                );
            }
        }
    }

    #[test]
    fn lines_are_short_sentences_with_a_known_pictogram() {
        for version in legal_text_versions() {
            for line in easy_read(version).unwrap().lines {
                assert!(
                    PICTOGRAMS.contains(&line.pictogram.as_str()),
                    "{version}: unknown pictogram {}",
                    line.pictogram
                );
                let sentences = sentences(&line.text);
                assert!(
                    (1..=2).contains(&sentences.len()),
                    "{version}: one idea per line: « {} »",
                    line.text
                );
                for sentence in sentences {
                    let words = sentence.split_whitespace().count();
                    assert!(
                        words <= MAX_WORDS,
                        "{version}: {words} words in « {sentence} »"
                    );
                }
            }
        }
    }

    /// `docs/easy-read.md` shows every line beside the clause it renders, for review: the table
    /// and the files cannot drift apart.
    #[test]
    fn the_review_table_lists_every_line_with_its_clause() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/easy-read.md"),
        )
        .unwrap();
        for version in legal_text_versions() {
            assert!(doc.contains(&format!("## Version {version}")), "{version}");
            let section = doc
                .split(&format!("## Version {version}"))
                .nth(1)
                .unwrap()
                .split("\n## ")
                .next()
                .unwrap();
            for line in easy_read(version).unwrap().lines {
                let row = format!("| {} | {} |", line.clause, line.text);
                assert!(section.contains(&row), "{version}: missing row {row}");
            }
        }
    }

    #[test]
    fn an_unknown_version_is_refused_by_name() {
        assert_eq!(
            easy_read("1999-01").unwrap_err(),
            UnknownLegalText("1999-01".into())
        );
    }
}
