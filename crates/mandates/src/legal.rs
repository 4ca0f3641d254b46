//! The legal text of a mandate, by version. A mandate records the version shown when it was
//! given (`Mandate::legal_text_version`) and prints with that version's text, word for word, for
//! as long as it is kept: a text, once a mandate was given under it, is never edited; a change
//! is a new version.
//!
//! Each version is a reviewable file in `legal/`, compiled in: `# ` starts the title, `## ` a
//! section, and blank lines separate paragraphs.

use thiserror::Error;

/// How long a version promises to keep what it covers, declared next to its words: the consent
/// recap, the printed mandate and the retention job all read these values, and a test holds
/// each version's text to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Retention {
    /// The person's identity and the mandate records are kept while the mandate is in force,
    /// then this many years after its end or revocation.
    pub years_after_end: u8,
    /// The journal (which holds no name) is kept this many years, then redacted.
    pub journal_years: u8,
}

/// Every version, oldest first. 2026-01 is the one in force by default. 2025-01 is a shorter,
/// earlier wording written with this feature: no deployment is known to have given mandates
/// under it; it is kept so that printing by version is exercised by the tests (a mandate given
/// under it prints its own words), and like any version it can never be edited. Its text names
/// no period for the journal; the five years of the journal, which holds no name, apply to it as
/// to every later version.
const TEXTS: &[(&str, &str, Retention)] = &[
    (
        "2025-01",
        include_str!("../legal/2025-01.txt"),
        Retention {
            years_after_end: 1,
            journal_years: 5,
        },
    ),
    (
        "2026-01",
        include_str!("../legal/2026-01.txt"),
        Retention {
            years_after_end: 1,
            journal_years: 5,
        },
    ),
];

/// The versions that have a text.
pub fn legal_text_versions() -> impl Iterator<Item = &'static str> {
    TEXTS.iter().map(|(version, _, _)| *version)
}

/// The retention periods `version` promises.
pub fn retention(version: &str) -> Result<Retention, UnknownLegalText> {
    TEXTS
        .iter()
        .find(|(v, _, _)| *v == version)
        .map(|(_, _, retention)| *retention)
        .ok_or_else(|| UnknownLegalText(version.to_owned()))
}

/// The shortest periods any version promises: what a configuration may shorten them to must
/// stay within these (a shorter keep is allowed, never a longer one).
pub fn shortest_retention() -> Retention {
    Retention {
        years_after_end: TEXTS
            .iter()
            .map(|(_, _, r)| r.years_after_end)
            .min()
            .unwrap_or(0),
        journal_years: TEXTS
            .iter()
            .map(|(_, _, r)| r.journal_years)
            .min()
            .unwrap_or(0),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code} aucun texte légal pour la version « {0} »", code = self.code())]
pub struct UnknownLegalText(pub String);

impl UnknownLegalText {
    pub fn code(&self) -> &'static str {
        "MND030"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LegalSection {
    pub heading: String,
    pub paragraphs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LegalText {
    pub version: &'static str,
    pub retention: Retention,
    pub title: String,
    pub sections: Vec<LegalSection>,
}

/// The text of `version`, or a refusal naming the version: a mandate never prints another
/// version's words.
pub fn legal_text(version: &str) -> Result<LegalText, UnknownLegalText> {
    let (version, source, retention) = TEXTS
        .iter()
        .find(|(v, _, _)| *v == version)
        .ok_or_else(|| UnknownLegalText(version.to_owned()))?;
    Ok(parse(version, source, *retention))
}

fn parse(version: &'static str, source: &str, retention: Retention) -> LegalText {
    let mut text = LegalText {
        version,
        retention,
        title: String::new(),
        sections: Vec::new(),
    };
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, sections: &mut Vec<LegalSection>| {
        if let Some(section) = sections.last_mut()
            && !paragraph.is_empty()
        {
            section.paragraphs.push(std::mem::take(paragraph));
        }
        paragraph.clear();
    };
    for line in source.lines().map(str::trim) {
        if let Some(title) = line.strip_prefix("# ") {
            text.title = title.to_owned();
        } else if let Some(heading) = line.strip_prefix("## ") {
            flush(&mut paragraph, &mut text.sections);
            text.sections.push(LegalSection {
                heading: heading.to_owned(),
                paragraphs: Vec::new(),
            });
        } else if line.is_empty() {
            flush(&mut paragraph, &mut text.sections);
        } else {
            if !paragraph.is_empty() {
                paragraph.push(' ');
            }
            paragraph.push_str(line);
        }
    }
    flush(&mut paragraph, &mut text.sections);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_has_a_title_and_sections_with_paragraphs() {
        for version in legal_text_versions() {
            let text = legal_text(version).unwrap();
            assert!(text.title.contains(version), "{version}: {}", text.title);
            assert!(text.sections.len() >= 4, "{version}");
            for section in &text.sections {
                assert!(!section.heading.is_empty(), "{version}");
                assert!(
                    !section.paragraphs.is_empty(),
                    "{version}: {}",
                    section.heading
                );
            }
        }
    }

    #[test]
    fn the_current_text_covers_what_the_aide_must_know() {
        let text = legal_text("2026-01").unwrap();
        let all: String = text
            .sections
            .iter()
            .flat_map(|s| std::iter::once(&s.heading).chain(&s.paragraphs))
            .map(|s| format!("{s}\n"))
            .collect();
        for needed in [
            "structure",
            "ne peut pas",
            "Durée",
            "quand vous voulez",
            "conservation",
            "RGPD",
            "CNIL",
        ] {
            assert!(all.contains(needed), "{needed}");
        }
    }

    #[test]
    fn versions_keep_their_own_words() {
        let old = legal_text("2025-01").unwrap();
        let new = legal_text("2026-01").unwrap();
        assert_ne!(old.sections, new.sections);
        assert_eq!(old.version, "2025-01");
    }

    /// The declared periods are the ones the words promise: a version whose text said « deux
    /// ans » while declaring one year would fail here.
    #[test]
    fn each_version_says_the_periods_it_declares() {
        let years = |n: u8| match n {
            1 => "un an",
            5 => "cinq ans",
            _ => "?",
        };
        for (version, source, retention) in TEXTS {
            let said = source.replace('\n', " ");
            let after_end = format!("puis {}", years(retention.years_after_end));
            assert!(said.contains(&after_end), "{version}: {after_end}");
            if *version != "2025-01" {
                let journal = format!("gardé {}", years(retention.journal_years));
                assert!(said.contains(&journal), "{version}: {journal}");
            }
        }
        assert_eq!(retention("2026-01").unwrap().years_after_end, 1);
        assert!(retention("2099-01").is_err());
        assert_eq!(shortest_retention().journal_years, 5);
    }

    #[test]
    fn an_unknown_version_is_refused_by_name() {
        let error = legal_text("2099-01").unwrap_err();
        assert_eq!(error.code(), "MND030");
        assert!(error.to_string().contains("2099-01"));
        assert!(legal_text("").is_err());
    }

    #[test]
    fn lines_of_a_paragraph_are_joined_and_blank_lines_split() {
        let retention = Retention {
            years_after_end: 1,
            journal_years: 5,
        };
        let text = parse("v", "# T\n## A\none\ntwo\n\nthree\n## B\nfour\n", retention);
        assert_eq!(text.title, "T");
        assert_eq!(text.sections[0].paragraphs, ["one two", "three"]);
        assert_eq!(text.sections[1].paragraphs, ["four"]);
    }
}
