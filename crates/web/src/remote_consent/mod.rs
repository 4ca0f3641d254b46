//! Consent at a distance (docs/domain.md "Journeys" 2b), for a person who cannot come to the
//! structure. The aidant prepares the mandate and sends a single-use link by SMS or e-mail
//! (`aidant`); the person opens it on their own phone, identifies with FranceConnect, reads the
//! mandate and consents or refuses (`person`); the aidant confirms with a TOTP code within a
//! bounded time and the mandate is created (`aidant`). The number or address is used to send
//! and never stored; the link's token is stored as its hash only (`ac_storage::remote_consents`).

pub(crate) mod aidant;
pub(crate) mod person;

use ac_mandates::{Demarche, MandateDuration};
use ac_storage::remote_consents::Status;
use time::OffsetDateTime;

use crate::WebError;

/// The mandate the aidant prepares: démarches and duration, from the form's pairs (`demarche`
/// repeated, `duree` in days), as on the on-site journey.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Choices {
    demarches: Vec<Demarche>,
    duration: Option<MandateDuration>,
}

impl Choices {
    fn from_pairs<'a>(
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<Self, WebError> {
        let invalid = |e: ac_mandates::FieldError| WebError::invalid(e);
        let mut choices = Choices::default();
        for (key, value) in pairs {
            match key.as_ref() {
                "demarche" => {
                    let d: Demarche = value.parse().map_err(invalid)?;
                    if !choices.demarches.contains(&d) {
                        choices.demarches.push(d);
                    }
                }
                "duree" => {
                    let days: u16 = value
                        .parse()
                        .map_err(|_| invalid(ac_mandates::FieldError::UnknownDuration))?;
                    choices.duration = Some(MandateDuration::from_days(days).map_err(invalid)?);
                }
                _ => {}
            }
        }
        choices.demarches.sort_unstable();
        Ok(choices)
    }
}

/// The status as the aidant reads it. `now` turns what ran out into « expiré » before the
/// sweep writes it.
fn status_words(status: Status, deadline_passed: bool) -> &'static str {
    match status {
        Status::Sent | Status::Opened | Status::Consented if deadline_passed => "expiré",
        Status::Sent => "envoyé",
        Status::Opened => "ouvert",
        Status::Consented => "accordé — à confirmer",
        Status::Refused => "refusé",
        Status::Confirmed => "confirmé — mandat créé",
        Status::Expired => "expiré",
    }
}

/// Whether the consent's current deadline (the link's, or the aidant's confirmation's) passed.
fn deadline_passed(
    found: &ac_storage::remote_consents::RemoteConsent,
    now: OffsetDateTime,
) -> bool {
    match found.status {
        Status::Sent | Status::Opened => found.link_expires_at <= now,
        Status::Consented => found.confirm_by.is_some_and(|by| by <= now),
        _ => false,
    }
}
