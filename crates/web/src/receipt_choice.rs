//! The receipts part of the consent recap (docs/security/aide-space.md "Receipts"): the aidé
//! may give an e-mail address and choose « À chaque utilisation », « Un résumé par semaine » or
//! « Jamais ». Optional: nothing chosen changes nothing. Once entered, an address is never
//! shown again in full on the aidant's screen (not even when the recap comes back with an
//! error): only masked. Part of the web kit: the consent recap (`identification`) and the
//! receipts' own pages both use it, and neither feature imports the other.

use ac_mandates::{Email, UsagerId};
use ac_storage::receipts::{self, Choice, Preference};
use serde::Serialize;

use crate::respond::blocking;
use crate::{AppState, WebError};

/// One choice of the form.
#[derive(Debug, Serialize)]
pub(crate) struct ChoiceView {
    key: &'static str,
    label: &'static str,
    checked: bool,
}

/// What the recap shows of the person's receipts.
#[derive(Debug, Serialize)]
pub(crate) struct NotificationsView {
    choices: Vec<ChoiceView>,
    /// The address already stored, masked.
    masked: Option<String>,
}

/// The person's stored choice, if any.
pub(crate) async fn stored(
    state: &AppState,
    usager: &UsagerId,
) -> Result<Option<Preference>, WebError> {
    let (db, usager) = (state.db.clone(), usager.clone());
    blocking(move || receipts::preference(&mut *db.conn()?, &usager)).await
}

/// The form's part, with the stored choice ticked.
pub(crate) fn view(stored: Option<&Preference>) -> NotificationsView {
    NotificationsView {
        choices: Choice::ALL
            .iter()
            .map(|c| ChoiceView {
                key: c.key(),
                label: c.label(),
                checked: stored.is_some_and(|p| p.choice == *c),
            })
            .collect(),
        masked: stored.and_then(|p| p.email_masked.clone()),
    }
}

/// What the form asks: `None` when the person chose nothing (nothing changes), else the choice
/// and a new address if one was typed. `Err` is the message shown on the field `courriel`.
pub(crate) fn read(
    choice: &str,
    typed: &str,
    stored: Option<&Preference>,
) -> Result<Option<(Choice, Option<Email>)>, &'static str> {
    let typed = typed.trim();
    if choice.is_empty() && typed.is_empty() {
        return Ok(None);
    }
    let email: Option<Email> = if typed.is_empty() {
        None
    } else {
        Some(
            typed
                .parse()
                .map_err(|_| "Cette adresse électronique n'a pas la bonne forme. Retapez-la.")?,
        )
    };
    let choice = match Choice::from_key(choice) {
        Some(choice) => choice,
        // An address alone: receipts at each use, the plainest reading of giving one.
        None if choice.is_empty() => Choice::EachUse,
        None => return Err("Choisissez quand recevoir un reçu."),
    };
    let has_address = email.is_some() || stored.is_some_and(|p| p.email_masked.is_some());
    if choice != Choice::Never && !has_address {
        return Err("Pour recevoir des reçus, donnez une adresse électronique.");
    }
    Ok(Some((choice, email)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_optional_and_receipts_need_an_address() {
        assert_eq!(read("", "", None), Ok(None));
        assert_eq!(read("never", "", None), Ok(Some((Choice::Never, None))));
        assert!(read("weekly", "", None).is_err());
        assert!(read("each_use", "pas une adresse", None).is_err());
        assert!(read("sometimes", "a@b.fr", None).is_err());
        let email: Email = "a@exemple.fr".parse().unwrap();
        assert_eq!(
            read("", " a@exemple.fr ", None),
            Ok(Some((Choice::EachUse, Some(email.clone()))))
        );
        let stored = Preference {
            choice: Choice::EachUse,
            email_masked: Some("a•••@exemple.fr".into()),
        };
        assert_eq!(
            read("weekly", "", Some(&stored)),
            Ok(Some((Choice::Weekly, None)))
        );
    }
}
