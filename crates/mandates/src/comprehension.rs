//! The comprehension check before consent (docs/domain.md, "Journeys" 2): before
//! ticking « Je donne mon accord », the aidé answers three questions by tapping one of three
//! pictured answers — who will be able to act for them, until when, and how to stop it.
//!
//! This module holds the rules only, no words: the questions and answers are keys, their French
//! wording and pictograms live in the template (`identification/comprehension_question.html`),
//! and the right answer's wording is built there from the mandate (its structure, its end date).
//! The state ([`Check`]) is kept server-side with the pending consent and moved one step at a
//! time by [`Check::answer`] and [`Check::skip`]; nothing posted is trusted but the answer's key.
//!
//! - A wrong answer counts a try and shows that point's explanation again; the same question is
//!   asked again.
//! - After one explanation, the person may skip the rest (« Passer »), never before.
//! - The consent is refused until the check was passed or skipped
//!   ([`MandateError::ComprehensionNotDone`]); no setting turns it off.
//! - The journal records the outcome and the tries, never an answer.

use crate::{MandateDuration, MandateError};

/// The three questions, asked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// « Qui pourra faire des démarches pour vous ? »
    Who,
    /// « Jusqu'à quand ? »
    Until,
    /// « Comment arrêter le mandat ? »
    Stop,
}

impl Question {
    pub const ALL: [Question; 3] = [Question::Who, Question::Until, Question::Stop];

    /// The form's and the template's name of the question.
    pub const fn key(self) -> &'static str {
        match self {
            Question::Who => "qui",
            Question::Until => "jusqu-a-quand",
            Question::Stop => "arreter",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.key() == key)
    }

    /// Its place in the check, from 1.
    pub const fn number(self) -> u8 {
        match self {
            Question::Who => 1,
            Question::Until => 2,
            Question::Stop => 3,
        }
    }

    /// The answers offered, the right one first (the page shows them in [`Question::offered`]'s
    /// order).
    pub const fn answers(self) -> [Answer; 3] {
        match self {
            Question::Who => [Answer::Structure, Answer::Family, Answer::Anyone],
            Question::Until => [Answer::EndDate, Answer::OtherDate, Answer::Forever],
            Question::Stop => [
                Answer::StructureOrSpace,
                Answer::TearUpPaper,
                Answer::CannotStop,
            ],
        }
    }

    pub const fn right(self) -> Answer {
        let [right, ..] = self.answers();
        right
    }

    /// The answers in the order shown: one of the six orders, chosen by `seed` (a byte of the
    /// pending consent's token hash), so the right answer is not always in the same place, and
    /// stays in its place when the question is asked again.
    pub fn offered(self, seed: u8) -> [Answer; 3] {
        let [a, b, c] = self.answers();
        match seed % 6 {
            0 => [a, b, c],
            1 => [b, a, c],
            2 => [b, c, a],
            3 => [c, a, b],
            4 => [a, c, b],
            _ => [c, b, a],
        }
    }

    /// The answer of this question that `key` names, or MND015 (a key this question does not
    /// offer: a forged form).
    pub fn answer_named(self, key: &str) -> Result<Answer, MandateError> {
        self.answers()
            .into_iter()
            .find(|a| a.key() == key)
            .ok_or(MandateError::UnknownComprehensionAnswer)
    }
}

/// One pictured answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The aidants of the structure the mandate is given to (right).
    Structure,
    Family,
    Anyone,
    /// The mandate's end date (right).
    EndDate,
    /// The end date of another duration ([`other_duration`]).
    OtherDate,
    Forever,
    /// At the structure, or oneself in « Mon espace » (right).
    StructureOrSpace,
    TearUpPaper,
    CannotStop,
}

impl Answer {
    /// The form's and the template's name of the answer.
    pub const fn key(self) -> &'static str {
        match self {
            Answer::Structure => "la-structure",
            Answer::Family => "la-famille",
            Answer::Anyone => "tout-le-monde",
            Answer::EndDate => "date-du-mandat",
            Answer::OtherDate => "autre-date",
            Answer::Forever => "pour-toujours",
            Answer::StructureOrSpace => "structure-ou-mon-espace",
            Answer::TearUpPaper => "dechirer-le-papier",
            Answer::CannotStop => "impossible",
        }
    }
}

/// The duration whose end date is offered as the wrong date of [`Question::Until`]: the longest
/// one offered, or the shortest for a mandate of the longest, so the two dates are far apart.
pub fn other_duration(duration: MandateDuration) -> MandateDuration {
    if duration == MandateDuration::OneYear {
        MandateDuration::OneDay
    } else {
        MandateDuration::OneYear
    }
}

/// How a finished check ended (journaled as `comprehension`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every question answered right (after explanations, perhaps).
    Passed,
    /// « Passer », after at least one explanation.
    Skipped,
}

impl Outcome {
    pub const fn key(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Skipped => "skipped",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [Outcome::Passed, Outcome::Skipped]
            .into_iter()
            .find(|o| o.key() == key)
    }
}

/// Tries are counted up to this (a pending consent lives 15 minutes; the bound keeps the stored
/// number small whatever is posted).
pub const MAX_TRIES: u8 = 99;

/// Where a person is in the check: how many questions they answered right, how many tries they
/// took (1, plus one per wrong answer, each followed by an explanation), and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    answered: u8,
    tries: u8,
    outcome: Option<Outcome>,
}

impl Default for Check {
    fn default() -> Self {
        Self::new()
    }
}

/// What one answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// Right: the next question, or the end of the check.
    Right(Check),
    /// Wrong: a try counted; the page explains this point again and asks again.
    Wrong(Check),
    /// Not the question being asked (a double tap, a page left open): nothing changes.
    Stale,
}

impl Check {
    /// A check not started.
    pub const fn new() -> Self {
        Check {
            answered: 0,
            tries: 1,
            outcome: None,
        }
    }

    /// A stored check, `None` when its parts do not fit together (a row nobody wrote through
    /// this module).
    pub fn from_parts(answered: u8, tries: u8, outcome: Option<Outcome>) -> Option<Self> {
        let fits = answered <= 3
            && (1..=MAX_TRIES).contains(&tries)
            && match outcome {
                None => answered < 3,
                Some(Outcome::Passed) => answered == 3,
                Some(Outcome::Skipped) => answered < 3 && tries > 1,
            };
        fits.then_some(Check {
            answered,
            tries,
            outcome,
        })
    }

    /// Questions answered right so far.
    pub const fn answered(self) -> u8 {
        self.answered
    }

    /// 1, plus one per wrong answer.
    pub const fn tries(self) -> u8 {
        self.tries
    }

    pub const fn outcome(self) -> Option<Outcome> {
        self.outcome
    }

    /// The question to ask now; `None` once the check is over.
    pub fn current(self) -> Option<Question> {
        if self.outcome.is_some() {
            return None;
        }
        Question::ALL.get(usize::from(self.answered)).copied()
    }

    /// Whether an explanation was shown (a wrong answer came): from then on, « Passer » is
    /// offered.
    pub const fn explained(self) -> bool {
        self.tries > 1
    }

    pub const fn may_skip(self) -> bool {
        self.explained() && self.outcome.is_none()
    }

    /// The answer named `key` to `asked`. An unknown key is MND015, whatever the state.
    pub fn answer(self, asked: Question, key: &str) -> Result<Answered, MandateError> {
        let answer = asked.answer_named(key)?;
        if self.current() != Some(asked) {
            return Ok(Answered::Stale);
        }
        if answer == asked.right() {
            let answered = self.answered.saturating_add(1);
            let outcome = (answered == 3).then_some(Outcome::Passed);
            Ok(Answered::Right(Check {
                answered,
                outcome,
                ..self
            }))
        } else {
            Ok(Answered::Wrong(Check {
                tries: self.tries.saturating_add(1).min(MAX_TRIES),
                ..self
            }))
        }
    }

    /// « Passer »: ends the check as skipped, only after an explanation (else MND016). Skipping
    /// a check already over changes nothing.
    pub fn skip(self) -> Result<Check, MandateError> {
        if self.outcome.is_some() {
            return Ok(self);
        }
        if !self.explained() {
            return Err(MandateError::ComprehensionSkipTooEarly);
        }
        Ok(Check {
            outcome: Some(Outcome::Skipped),
            ..self
        })
    }

    /// The outcome a consent may be given with, or MND014.
    pub fn required(self) -> Result<Outcome, MandateError> {
        self.outcome.ok_or(MandateError::ComprehensionNotDone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn right(check: Check, q: Question) -> Check {
        match check.answer(q, q.right().key()) {
            Ok(Answered::Right(next)) => next,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn three_right_answers_pass_in_one_try() {
        let mut check = Check::new();
        for q in Question::ALL {
            assert_eq!(check.current(), Some(q));
            assert!(!check.may_skip());
            check = right(check, q);
        }
        assert_eq!(check.outcome(), Some(Outcome::Passed));
        assert_eq!(check.tries(), 1);
        assert_eq!(check.current(), None);
        assert_eq!(check.required(), Ok(Outcome::Passed));
    }

    #[test]
    fn a_wrong_answer_counts_a_try_asks_again_and_opens_the_skip() {
        let check = Check::new();
        let Ok(Answered::Wrong(check)) = check.answer(Question::Who, "la-famille") else {
            panic!("wrong")
        };
        assert_eq!((check.current(), check.tries()), (Some(Question::Who), 2));
        assert!(check.may_skip());
        let check = right(
            right(right(check, Question::Who), Question::Until),
            Question::Stop,
        );
        assert_eq!((check.outcome(), check.tries()), (Some(Outcome::Passed), 2));
    }

    #[test]
    fn the_skip_needs_an_explanation_first() {
        assert_eq!(
            Check::new().skip(),
            Err(MandateError::ComprehensionSkipTooEarly)
        );
        let after_one = right(Check::new(), Question::Who);
        assert_eq!(
            after_one.skip(),
            Err(MandateError::ComprehensionSkipTooEarly)
        );
        let Ok(Answered::Wrong(explained)) = after_one.answer(Question::Until, "pour-toujours")
        else {
            panic!("wrong")
        };
        let skipped = explained.skip().unwrap();
        assert_eq!(skipped.outcome(), Some(Outcome::Skipped));
        assert_eq!(skipped.required(), Ok(Outcome::Skipped));
        assert_eq!(skipped.current(), None);
    }

    #[test]
    fn no_consent_before_the_end_of_the_check() {
        let halfway = right(right(Check::new(), Question::Who), Question::Until);
        assert_eq!(halfway.required(), Err(MandateError::ComprehensionNotDone));
        assert_eq!(
            Check::new().required(),
            Err(MandateError::ComprehensionNotDone)
        );
    }

    #[test]
    fn unknown_and_stale_answers() {
        let check = Check::new();
        // Another question's answer, or a made-up one: refused.
        for key in ["pour-toujours", "", "la-structure ", "LA-STRUCTURE"] {
            assert_eq!(
                check.answer(Question::Who, key),
                Err(MandateError::UnknownComprehensionAnswer),
                "{key:?}"
            );
        }
        // The first question again after it was answered (a double tap): nothing changes.
        let next = right(check, Question::Who);
        assert_eq!(
            next.answer(Question::Who, "la-famille"),
            Ok(Answered::Stale)
        );
        assert_eq!(
            next.answer(Question::Stop, "impossible"),
            Ok(Answered::Stale)
        );
    }

    #[test]
    fn tries_stop_counting_at_the_bound() {
        let mut check = Check::new();
        for _ in 0..300 {
            check = match check.answer(Question::Who, "tout-le-monde") {
                Ok(Answered::Wrong(next)) => next,
                other => panic!("{other:?}"),
            };
        }
        assert_eq!(check.tries(), MAX_TRIES);
    }

    #[test]
    fn stored_parts_must_fit_together() {
        assert_eq!(Check::from_parts(0, 1, None), Some(Check::new()));
        assert!(Check::from_parts(3, 1, Some(Outcome::Passed)).is_some());
        assert!(Check::from_parts(1, 2, Some(Outcome::Skipped)).is_some());
        assert!(Check::from_parts(3, 1, None).is_none());
        assert!(Check::from_parts(2, 1, Some(Outcome::Passed)).is_none());
        assert!(Check::from_parts(1, 1, Some(Outcome::Skipped)).is_none());
        assert!(Check::from_parts(4, 1, None).is_none());
        assert!(Check::from_parts(0, 0, None).is_none());
        assert!(Check::from_parts(0, MAX_TRIES + 1, None).is_none());
    }

    #[test]
    fn every_order_keeps_the_three_answers_and_moves_the_right_one() {
        for q in Question::ALL {
            let mut places = std::collections::BTreeSet::new();
            for seed in 0..=u8::MAX {
                let offered = q.offered(seed);
                for a in q.answers() {
                    assert!(offered.contains(&a));
                }
                places.insert(offered.iter().position(|a| *a == q.right()));
            }
            assert_eq!(places.len(), 3, "{q:?}");
        }
        for q in Question::ALL {
            assert_eq!(Question::from_key(q.key()), Some(q));
        }
        for o in [Outcome::Passed, Outcome::Skipped] {
            assert_eq!(Outcome::from_key(o.key()), Some(o));
        }
        assert_eq!(
            other_duration(MandateDuration::OneYear),
            MandateDuration::OneDay
        );
        assert_eq!(
            other_duration(MandateDuration::OneDay),
            MandateDuration::OneYear
        );
    }
}
