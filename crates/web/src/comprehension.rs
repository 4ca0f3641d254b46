//! The comprehension check's page part (the rules are `ac_mandates::comprehension`):
//! reading what a person posted on a question's page, moving their check one step, and what the
//! question's partial (`identification/comprehension_question.html`) shows — the question, its
//! three pictured answers in this consent's order, that point's explanation after a wrong
//! answer, and « Passer » once an explanation was shown.
//!
//! Part of the web kit, so any consent flow can ask the questions with its own pending state:
//! the consent recap (`identification::comprehension`) keeps it with the pending consent, and
//! consent at a distance (on the person's phone) can keep it with its own. Nothing here trusts
//! the form: the state comes from the caller's storage, the form only names a question and an
//! answer, both checked against the keys the rules know.

use ac_localtime::LocalTimes;
use ac_mandates::comprehension::{Answered, Check, Question, other_duration};
use ac_mandates::{MandateDuration, MandateError};
use serde::Serialize;
use time::OffsetDateTime;

use crate::WebError;
use crate::i18n::Language;

/// The longest question or answer key a form may post (the longest key is 23 characters): a
/// longer value is refused before anything looks it up.
const MAX_KEY: usize = 32;

/// What a question's page posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Posted<'a> {
    /// Nothing answered (the way in from the recap): the current question.
    Show,
    /// An answer (`reponse`) to the question the page showed (`question`).
    Answer { question: Question, answer: &'a str },
    /// « Passer » (`passer=oui`).
    Skip,
}

/// Reads the fields `question`, `reponse` and `passer`. An unknown or oversized key is MND015.
pub(crate) fn read<'a>(
    question: &str,
    answer: &'a str,
    skip: &str,
) -> Result<Posted<'a>, WebError> {
    if skip == "oui" {
        return Ok(Posted::Skip);
    }
    if question.is_empty() && answer.is_empty() {
        return Ok(Posted::Show);
    }
    let unknown = || refused(MandateError::UnknownComprehensionAnswer);
    if question.len() > MAX_KEY || answer.len() > MAX_KEY {
        return Err(unknown());
    }
    let question = Question::from_key(question).ok_or_else(unknown)?;
    Ok(Posted::Answer { question, answer })
}

/// A rule's refusal as the page shows it: its code and message.
pub(crate) fn refused(error: MandateError) -> WebError {
    WebError::invalid(error)
}

/// One step of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moved {
    pub before: Check,
    pub after: Check,
    /// A wrong answer to this question: its explanation is shown again.
    pub explain: Option<Question>,
    /// The previous question was answered right (« Bonne réponse »).
    pub right: bool,
}

impl Moved {
    /// The same state, shown again (nothing posted, or a stale answer).
    pub(crate) fn unchanged(check: Check) -> Self {
        Moved {
            before: check,
            after: check,
            explain: None,
            right: false,
        }
    }
}

/// Moves `check` by what was posted: MND015 for an answer the question does not offer, MND016
/// for « Passer » before any explanation.
pub(crate) fn apply(check: Check, posted: Posted<'_>) -> Result<Moved, WebError> {
    let moved = match posted {
        Posted::Show => Moved::unchanged(check),
        Posted::Skip => Moved {
            after: check.skip().map_err(refused)?,
            ..Moved::unchanged(check)
        },
        Posted::Answer { question, answer } => match check.answer(question, answer) {
            Ok(Answered::Right(after)) => Moved {
                after,
                right: true,
                ..Moved::unchanged(check)
            },
            Ok(Answered::Wrong(after)) => Moved {
                after,
                explain: Some(question),
                ..Moved::unchanged(check)
            },
            Ok(Answered::Stale) => Moved::unchanged(check),
            Err(error) => return Err(refused(error)),
        },
    };
    Ok(moved)
}

/// What the right answers are built from: this mandate's structure and end date, and the end
/// date of another duration for the wrong date.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Facts {
    organisation: String,
    until: String,
    until_duration: String,
    other_until: String,
    other_duration: String,
}

impl Facts {
    /// The facts of a mandate of `duration` given now to `organisation` (in `departement`,
    /// whose local day the dates are written in, as on the recap).
    /// The dates and durations are written in `language` (the recap's, docs/languages.md).
    pub(crate) fn new(
        times: &LocalTimes,
        organisation: &str,
        departement: &str,
        duration: MandateDuration,
        now: OffsetDateTime,
        language: Language,
    ) -> Result<Self, WebError> {
        let other = other_duration(duration);
        let end = |d: MandateDuration| {
            now.checked_add(time::Duration::days(i64::from(d.days())))
                .map(|at| language.day(times.local(departement, at).date()))
                .ok_or_else(|| WebError::internal("comprehension: end date out of range"))
        };
        let label = |d: MandateDuration| language.text(&format!("duration-{}", d.days()), &[]);
        Ok(Facts {
            organisation: organisation.to_owned(),
            until: end(duration)?,
            until_duration: label(duration),
            other_until: end(other)?,
            other_duration: label(other),
        })
    }
}

/// What the question's partial shows; `None` once the check is over.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct QuestionView {
    /// The question's key (`qui`, `jusqu-a-quand`, `arreter`): the template words it.
    question: &'static str,
    number: u8,
    /// The answers' keys, in the order shown.
    answers: Vec<&'static str>,
    /// This question's explanation is shown (after a wrong answer).
    explain: bool,
    /// The previous answer was right.
    right: bool,
    may_skip: bool,
    facts: Facts,
}

/// The page for the state after `moved`. `seed`: bytes that pick each question's order of
/// answers (the pending consent's token hash), so it stays the same when asked again.
pub(crate) fn view(moved: &Moved, facts: Facts, seed: &[u8]) -> Option<QuestionView> {
    let question = moved.after.current()?;
    let order = seed
        .get(usize::from(question.number()))
        .copied()
        .unwrap_or_default();
    Some(QuestionView {
        question: question.key(),
        number: question.number(),
        answers: question.offered(order).iter().map(|a| a.key()).collect(),
        explain: moved.explain == Some(question),
        right: moved.right,
        may_skip: moved.after.may_skip(),
        facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_durations_read_as_the_catalogue_writes_them() {
        for duration in MandateDuration::ALL {
            assert_eq!(
                Language::Fr.text(&format!("duration-{}", duration.days()), &[]),
                duration.label()
            );
        }
    }

    #[test]
    fn the_form_names_a_known_question_and_a_short_answer() {
        assert_eq!(read("", "", "").unwrap(), Posted::Show);
        assert_eq!(read("qui", "whatever", "oui").unwrap(), Posted::Skip);
        assert_eq!(
            read("qui", "la-famille", "").unwrap(),
            Posted::Answer {
                question: Question::Who,
                answer: "la-famille"
            }
        );
        for (q, a) in [
            ("quoi", "x"),
            ("qui", &"a".repeat(33)),
            (&"q".repeat(40), ""),
        ] {
            let Err(WebError::Invalid(refused)) = read(q, a, "") else {
                panic!("{q} {a}")
            };
            assert_eq!(refused.code(), "MND015");
        }
    }

    #[test]
    fn a_wrong_answer_is_explained_and_skip_comes_after() {
        let check = Check::new();
        let Err(WebError::Invalid(refused)) = apply(check, Posted::Skip) else {
            panic!("skip before an explanation")
        };
        assert_eq!(refused.code(), "MND016");
        let wrong = apply(
            check,
            Posted::Answer {
                question: Question::Until,
                answer: "pour-toujours",
            },
        )
        .unwrap();
        assert_eq!(wrong, Moved::unchanged(check), "not the question asked");
        let wrong = apply(
            check,
            Posted::Answer {
                question: Question::Who,
                answer: "tout-le-monde",
            },
        )
        .unwrap();
        assert_eq!(wrong.explain, Some(Question::Who));
        let facts = Facts {
            organisation: "Médiathèque".into(),
            until: "6 décembre 2027".into(),
            until_duration: "1 an".into(),
            other_until: "7 décembre 2026".into(),
            other_duration: "1 jour".into(),
        };
        let shown = view(&wrong, facts, b"abcd").unwrap();
        assert!(shown.explain && shown.may_skip && !shown.right);
        assert_eq!(shown.answers.len(), 3);
        let skipped = apply(wrong.after, Posted::Skip).unwrap();
        assert!(skipped.after.outcome().is_some());
    }
}
