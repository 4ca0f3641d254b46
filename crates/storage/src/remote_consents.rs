//! Consent at a distance (docs/domain.md "Journeys" 2b; the migration
//! `2026-12-09-000300_remote_consents`). The aidant prepares a mandate and sends the person a
//! single-use link; the person identifies with FranceConnect on their own phone and consents or
//! refuses; the aidant then confirms with a TOTP code within a bounded time, and the mandate is
//! created. Every change of state and its journal entry are one transaction.
//!
//! What is kept: the link's token as its SHA-256 only; never the phone number or address the
//! link went to. The journal names the channel, never the address.

use ac_audit::Action;
use ac_mandates::comprehension::{Check, Outcome};
use ac_mandates::easy_read::PAGE_LANGUAGES;
use ac_mandates::rules::MandatePlan;
use ac_mandates::{AidantId, Demarche, MandateDuration, OrganisationId, UsagerId};
use diesel::prelude::*;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::error::{StorageError, corrupt};
use crate::journal::{self, AuditContext, Event};
use crate::mandates::{self, NewMandate, RemoteConsentGiven, TextShown};
use crate::schema::{remote_consents, usagers};
use crate::{DbConnection, from_db, new_id, to_db, write};

/// Rows are kept this long after they were sent, for the aidant's list, then deleted (a link
/// lives a day at most, the confirmation as long again).
const KEPT: Duration = Duration::days(7);

/// How the link reached the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub const fn key(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// Where a remote consent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The link was sent; nobody has used it yet.
    Sent,
    /// The person pressed « Je m'identifie avec FranceConnect » (and, once identified, reads).
    Opened,
    /// The person consented: the aidant's TOTP confirmation is awaited.
    Consented,
    Refused,
    /// The aidant confirmed: the mandate exists.
    Confirmed,
    /// The link went unused in time, or the aidant did not confirm in time.
    Expired,
}

impl Status {
    pub const fn key(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Opened => "opened",
            Status::Consented => "consented",
            Status::Refused => "refused",
            Status::Confirmed => "confirmed",
            Status::Expired => "expired",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "sent" => Status::Sent,
            "opened" => Status::Opened,
            "consented" => Status::Consented,
            "refused" => Status::Refused,
            "confirmed" => Status::Confirmed,
            "expired" => Status::Expired,
            _ => return None,
        })
    }
}

/// A remote consent as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConsent {
    pub id: String,
    pub aidant: AidantId,
    pub organisation: OrganisationId,
    pub demarches: Vec<Demarche>,
    pub duration: MandateDuration,
    pub channel: Channel,
    pub status: Status,
    pub created_at: OffsetDateTime,
    pub link_expires_at: OffsetDateTime,
    /// The person FranceConnect identified on their phone, once they did.
    pub usager: Option<UsagerId>,
    pub identified: bool,
    /// What the person read and went through: the text shown, its language, the
    /// comprehension check (stored as `reading`).
    pub reading: Reading,
    pub consented_at: Option<OffsetDateTime>,
    pub confirm_by: Option<OffsetDateTime>,
    pub mandate: Option<String>,
}

impl RemoteConsent {
    /// The link still leads somewhere: not answered, not expired, and nobody identified yet.
    pub fn link_usable(&self, now: OffsetDateTime) -> bool {
        matches!(self.status, Status::Sent | Status::Opened)
            && !self.identified
            && self.link_expires_at > now
    }

    /// The identified person may still consent or refuse.
    pub fn awaiting_person(&self, now: OffsetDateTime) -> bool {
        self.status == Status::Opened && self.usager.is_some() && self.link_expires_at > now
    }
}

/// What the person's consent carries besides their tick: the text they were shown, the
/// language of the pages, and the comprehension check (its state, never an answer), kept as
/// JSON text in `remote_consents.reading`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub text_shown: TextShown,
    /// A BCP 47 code of the pages' language (docs/languages.md).
    pub language: &'static str,
    pub comprehension: Check,
}

impl Reading {
    /// Before the person read anything: the full text, French, the check not begun.
    pub const fn new() -> Self {
        Reading {
            text_shown: TextShown::Full,
            language: "fr",
            comprehension: Check::new(),
        }
    }

    fn stored(self) -> String {
        serde_json::json!({
            "text": self.text_shown.key(),
            "language": self.language,
            "answered": self.comprehension.answered(),
            "tries": self.comprehension.tries(),
            "outcome": self.comprehension.outcome().map(Outcome::key),
        })
        .to_string()
    }

    fn from_stored(text: &str) -> Option<Self> {
        let stored: serde_json::Value = serde_json::from_str(text).ok()?;
        let small = |key: &str| stored.get(key)?.as_u64().and_then(|n| u8::try_from(n).ok());
        let outcome = match stored.get("outcome")? {
            serde_json::Value::Null => None,
            key => Some(Outcome::from_key(key.as_str()?)?),
        };
        Some(Reading {
            text_shown: match stored.get("text")?.as_str()? {
                "easy_read" => TextShown::EasyRead,
                "full" => TextShown::Full,
                _ => return None,
            },
            language: {
                let code = stored.get("language")?.as_str()?;
                PAGE_LANGUAGES.into_iter().find(|known| *known == code)?
            },
            comprehension: Check::from_parts(small("answered")?, small("tries")?, outcome)?,
        })
    }
}

impl Default for Reading {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = remote_consents)]
struct Row {
    id: String,
    aidant_id: String,
    organisation_id: String,
    demarches: String,
    duration_days: i32,
    channel: String,
    status: String,
    created_at: PrimitiveDateTime,
    link_expires_at: PrimitiveDateTime,
    session_hash: Option<String>,
    usager_id: Option<String>,
    reading: String,
    consented_at: Option<PrimitiveDateTime>,
    confirm_by: Option<PrimitiveDateTime>,
    mandate_id: Option<String>,
}

impl Row {
    fn into_domain(self) -> Result<RemoteConsent, StorageError> {
        let demarches = self
            .demarches
            .split(',')
            .map(str::parse::<Demarche>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt("remote_consents.demarches"))?;
        let days = u16::try_from(self.duration_days)
            .map_err(|_| StorageError::Corrupt("remote_consents.duration_days".into()))?;
        Ok(RemoteConsent {
            id: self.id,
            aidant: AidantId::new(self.aidant_id),
            organisation: OrganisationId::new(self.organisation_id),
            demarches,
            duration: MandateDuration::from_days(days)
                .map_err(corrupt("remote_consents.duration_days"))?,
            channel: Channel::from_key(&self.channel)
                .ok_or_else(|| StorageError::Corrupt("remote_consents.channel".into()))?,
            status: Status::from_key(&self.status)
                .ok_or_else(|| StorageError::Corrupt("remote_consents.status".into()))?,
            created_at: from_db(self.created_at),
            link_expires_at: from_db(self.link_expires_at),
            identified: self.session_hash.is_some() || self.usager_id.is_some(),
            usager: self.usager_id.map(UsagerId::new),
            reading: Reading::from_stored(&self.reading)
                .ok_or_else(|| StorageError::Corrupt("remote_consents.reading".into()))?,
            consented_at: self.consented_at.map(from_db),
            confirm_by: self.confirm_by.map(from_db),
            mandate: self.mandate_id,
        })
    }
}

/// A link about to be recorded (it was sent).
#[derive(Debug, Clone, Copy)]
pub struct NewRemoteConsent<'a> {
    pub token_hash: &'a str,
    pub aidant: &'a AidantId,
    pub organisation: &'a OrganisationId,
    pub demarches: &'a [Demarche],
    pub duration: MandateDuration,
    pub channel: Channel,
    pub link_expires_at: OffsetDateTime,
}

/// Records a link just sent, with its `remote_consent.sent` entry (the channel, never the
/// address). Old rows are swept on the way.
pub fn insert(
    conn: &mut DbConnection,
    new: &NewRemoteConsent<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<String, StorageError> {
    write(conn, |tx| {
        diesel::delete(
            remote_consents::table
                .filter(remote_consents::created_at.le(to_db(now.saturating_sub(KEPT)))),
        )
        .execute(tx)?;
        let id = new_id();
        let demarches: Vec<&str> = new.demarches.iter().map(|d| d.key()).collect();
        let demarches = demarches.join(",");
        diesel::insert_into(remote_consents::table)
            .values((
                remote_consents::id.eq(&id),
                remote_consents::token_hash.eq(new.token_hash),
                remote_consents::aidant_id.eq(new.aidant.as_str()),
                remote_consents::organisation_id.eq(new.organisation.as_str()),
                remote_consents::demarches.eq(&demarches),
                remote_consents::duration_days.eq(i32::from(new.duration.days())),
                remote_consents::channel.eq(new.channel.key()),
                remote_consents::status.eq(Status::Sent.key()),
                remote_consents::created_at.eq(to_db(now)),
                remote_consents::link_expires_at.eq(to_db(new.link_expires_at)),
                remote_consents::reading.eq(Reading::new().stored()),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        let event = Event::new(Action::RemoteConsentSent)
            .organisation(new.organisation)
            .target(&id)
            .detail("channel", new.channel.key())
            .detail("demarches", &demarches)
            .detail("duration_days", new.duration.days())
            .detail("expires_at", new.link_expires_at.unix_timestamp());
        journal::record(tx, context, event, now)?;
        Ok(id)
    })
}

/// The remote consent a link's token names (by its hash).
pub fn by_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<RemoteConsent>, StorageError> {
    remote_consents::table
        .filter(remote_consents::token_hash.eq(token_hash))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}

/// The remote consent the person's browser is bound to (by the hash of its cookie).
pub fn by_session(
    conn: &mut DbConnection,
    session_hash: &str,
) -> Result<Option<RemoteConsent>, StorageError> {
    remote_consents::table
        .filter(remote_consents::session_hash.eq(session_hash))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}

/// The person pressed the FranceConnect button: « ouvert » for the aidant. `false` when the
/// link no longer leads anywhere.
pub fn mark_opened(
    conn: &mut DbConnection,
    token_hash: &str,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let updated = diesel::update(
        remote_consents::table
            .filter(remote_consents::token_hash.eq(token_hash))
            .filter(remote_consents::status.eq_any([Status::Sent.key(), Status::Opened.key()]))
            .filter(remote_consents::session_hash.is_null())
            .filter(remote_consents::link_expires_at.gt(to_db(now))),
    )
    .set(remote_consents::status.eq(Status::Opened.key()))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Binds the person FranceConnect identified, and their browser, to the remote consent `id`:
/// from here the link itself no longer works (single use). `false` when someone was bound
/// first, or the link expired or was answered meanwhile.
pub fn bind_person(
    conn: &mut DbConnection,
    id: &str,
    usager: &UsagerId,
    session_hash: &str,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let updated = diesel::update(
        remote_consents::table
            .filter(remote_consents::id.eq(id))
            .filter(remote_consents::status.eq_any([Status::Sent.key(), Status::Opened.key()]))
            .filter(remote_consents::session_hash.is_null())
            .filter(remote_consents::usager_id.is_null())
            .filter(remote_consents::link_expires_at.gt(to_db(now))),
    )
    .set((
        remote_consents::status.eq(Status::Opened.key()),
        remote_consents::usager_id.eq(usager.as_str()),
        remote_consents::session_hash.eq(session_hash),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Moves the comprehension check of the consent the person's browser is bound to from `before`
/// to `after`, if nobody moved it meanwhile (a double tap counts once). `false` otherwise.
pub fn save_check(
    conn: &mut DbConnection,
    session_hash: &str,
    before: Check,
    after: Check,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    write(conn, |tx| {
        let Some(found) = by_session(tx, session_hash)? else {
            return Ok(false);
        };
        if !found.awaiting_person(now) || found.reading.comprehension != before {
            return Ok(false);
        }
        let reading = Reading {
            comprehension: after,
            ..found.reading
        };
        let moved = diesel::update(
            remote_consents::table
                .find(&found.id)
                .filter(remote_consents::reading.eq(found.reading.stored())),
        )
        .set(remote_consents::reading.eq(reading.stored()))
        .execute(tx)?;
        Ok(moved == 1)
    })
}

/// The person's « Je donne mon accord » on their phone: « accordé — à confirmer », with the
/// deadline of the aidant's confirmation, and `remote_consent.given` under the person's
/// pseudonym, with the text they read and the language of the page they consented on (one of
/// `PAGE_LANGUAGES`). The browser's binding ends (nothing more can be done from it). `None`
/// when the session names no consent awaiting the person.
pub fn give(
    conn: &mut DbConnection,
    session_hash: &str,
    (text_shown, language): (TextShown, &'static str),
    confirm_ttl: Duration,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Option<RemoteConsent>, StorageError> {
    write(conn, |tx| {
        let Some(found) = by_session(tx, session_hash)? else {
            return Ok(None);
        };
        let Some(usager) = found.usager.clone().filter(|_| found.awaiting_person(now)) else {
            return Ok(None);
        };
        // No consent before the comprehension check was passed or skipped (MND014), as on site.
        found.reading.comprehension.required()?;
        let reading = Reading {
            text_shown,
            language,
            ..found.reading
        };
        let confirm_by = now.saturating_add(confirm_ttl);
        diesel::update(remote_consents::table.find(&found.id))
            .set((
                remote_consents::status.eq(Status::Consented.key()),
                remote_consents::session_hash.eq(None::<String>),
                remote_consents::reading.eq(reading.stored()),
                remote_consents::consented_at.eq(to_db(now)),
                remote_consents::confirm_by.eq(to_db(confirm_by)),
            ))
            .execute(tx)?;
        let subject = subject_of(tx, &usager)?;
        let event = Event::new(Action::RemoteConsentGiven)
            .organisation(&found.organisation)
            .usager(&subject)
            .target(&found.id)
            .detail("channel", found.channel.key())
            .detail("text_shown", text_shown.key())
            .detail("language", reading.language)
            .detail("comprehension", reading.comprehension.required()?.key())
            .detail("comprehension_tries", reading.comprehension.tries())
            .detail("confirm_by", confirm_by.unix_timestamp());
        journal::record(tx, context, event, now)?;
        Ok(Some(RemoteConsent {
            status: Status::Consented,
            consented_at: Some(now),
            confirm_by: Some(confirm_by),
            reading,
            ..found
        }))
    })
}

fn subject_of(tx: &mut DbConnection, usager: &UsagerId) -> Result<String, StorageError> {
    Ok(usagers::table
        .find(usager.as_str())
        .select(usagers::subject)
        .first(tx)?)
}

/// Unbinds the person from a consent that ends without a mandate and forgets the identity
/// fetched for it when nothing else of theirs is kept (`usagers::forget_if_unused`).
fn release_person(
    tx: &mut DbConnection,
    found: &RemoteConsent,
    context: &AuditContext,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let Some(usager) = &found.usager else {
        return Ok(false);
    };
    let subject = subject_of(tx, usager)?;
    diesel::update(remote_consents::table.find(&found.id))
        .set((
            remote_consents::usager_id.eq(None::<String>),
            remote_consents::session_hash.eq(None::<String>),
        ))
        .execute(tx)?;
    crate::usagers::forget_if_unused(tx, usager.as_str(), &subject, context, reason, now)
}

/// The person's « Je refuse » on their phone: nothing is created, the identity fetched for it
/// is forgotten when unused, the aidant sees « refusé », and `mandate.refused` says so (step
/// `remote`, the channel; no personal data). `None` when nothing awaits the person.
pub fn refuse(
    conn: &mut DbConnection,
    session_hash: &str,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Option<bool>, StorageError> {
    write(conn, |tx| {
        let Some(found) = by_session(tx, session_hash)? else {
            return Ok(None);
        };
        if !found.awaiting_person(now) {
            return Ok(None);
        }
        diesel::update(remote_consents::table.find(&found.id))
            .set(remote_consents::status.eq(Status::Refused.key()))
            .execute(tx)?;
        let event = Event::new(Action::MandateRefused)
            .organisation(&found.organisation)
            .target(&found.id)
            .detail("step", "remote")
            .detail("refused_by", "usager")
            .detail("channel", found.channel.key());
        journal::record(tx, context, event, now)?;
        let forgotten = release_person(tx, &found, context, "consent_refused", now)?;
        Ok(Some(forgotten))
    })
}

/// Marks what ran out as « expiré », each with `remote_consent.expired` (`stage`: `link` when
/// the person did not answer in time, `confirmation` when the aidant did not confirm in time),
/// and forgets the identities fetched for them when unused. Returns how many expired.
pub fn expire_due(
    conn: &mut DbConnection,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    let now_db = to_db(now);
    let due: Vec<Row> = remote_consents::table
        .filter(
            remote_consents::status
                .eq_any([Status::Sent.key(), Status::Opened.key()])
                .and(remote_consents::link_expires_at.le(now_db))
                .or(remote_consents::status
                    .eq(Status::Consented.key())
                    .and(remote_consents::confirm_by.le(now_db))),
        )
        .select(Row::as_select())
        .load(conn)?;
    let mut expired = 0;
    for row in due {
        let found = row.into_domain()?;
        let done = write(conn, |tx| {
            let updated = diesel::update(
                remote_consents::table
                    .find(&found.id)
                    .filter(remote_consents::status.eq(found.status.key())),
            )
            .set(remote_consents::status.eq(Status::Expired.key()))
            .execute(tx)?;
            if updated != 1 {
                return Ok::<_, StorageError>(false);
            }
            let stage = if found.status == Status::Consented {
                "confirmation"
            } else {
                "link"
            };
            let event = Event::new(Action::RemoteConsentExpired)
                .organisation(&found.organisation)
                .target(&found.id)
                .detail("channel", found.channel.key())
                .detail("stage", stage);
            journal::record(tx, context, event, now)?;
            release_person(tx, &found, context, "consent_refused", now)?;
            Ok(true)
        })?;
        expired += usize::from(done);
    }
    Ok(expired)
}

/// Deletes the rows sent more than seven days ago (by then every link and confirmation time has
/// run out, and [`expire_due`] released the people). Returns how many.
pub fn purge_old(conn: &mut DbConnection, now: OffsetDateTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        remote_consents::table
            .filter(remote_consents::created_at.le(to_db(now.saturating_sub(KEPT))))
            .filter(remote_consents::status.ne_all([
                Status::Sent.key(),
                Status::Opened.key(),
                Status::Consented.key(),
            ])),
    )
    .execute(conn)?)
}

/// The aidant's remote consents of the last days, newest first.
pub fn for_aidant(
    conn: &mut DbConnection,
    aidant: &AidantId,
    now: OffsetDateTime,
) -> Result<Vec<RemoteConsent>, StorageError> {
    remote_consents::table
        .filter(remote_consents::aidant_id.eq(aidant.as_str()))
        .filter(remote_consents::created_at.gt(to_db(now.saturating_sub(KEPT))))
        .order(remote_consents::created_at.desc())
        .limit(100)
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

/// Why a confirmation did not create a mandate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotConfirmed {
    /// Not this aidant's, or not (or no longer) awaiting confirmation.
    NotPending,
    /// The person consented, but the aidant's time to confirm is over.
    TooLate,
}

/// The aidant's TOTP confirmation (the code was checked by the caller): the mandate is created
/// with `consent=remote`, the channel and both times on `mandate.created`, and the remote
/// consent marked « confirmé », in one transaction.
pub fn confirm(
    conn: &mut DbConnection,
    id: &str,
    aidant: &AidantId,
    legal_text_version: &str,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Result<MandatePlan, NotConfirmed>, StorageError> {
    write(conn, |tx| {
        let found = remote_consents::table
            .find(id)
            .select(Row::as_select())
            .first(tx)
            .optional()?
            .map(Row::into_domain)
            .transpose()?;
        let Some(found) = found.filter(|f| f.aidant == *aidant) else {
            return Ok(Err(NotConfirmed::NotPending));
        };
        if found.status == Status::Expired && found.consented_at.is_some() {
            // The person consented; the sweep marked the aidant's time over.
            return Ok(Err(NotConfirmed::TooLate));
        }
        let (Status::Consented, Some(usager), Some(consented_at), Some(confirm_by)) = (
            found.status,
            &found.usager,
            found.consented_at,
            found.confirm_by,
        ) else {
            return Ok(Err(NotConfirmed::NotPending));
        };
        if confirm_by <= now {
            return Ok(Err(NotConfirmed::TooLate));
        }
        let new = NewMandate {
            aidant,
            organisation: &found.organisation,
            usager,
            demarches: &found.demarches,
            duration: found.duration,
            legal_text_version,
            renewal_of: None,
        };
        let given = RemoteConsentGiven {
            channel: found.channel.key(),
            text_shown: found.reading.text_shown,
            comprehension: found.reading.comprehension,
            language: found.reading.language,
            consented_at,
            confirmed_at: now,
        };
        let plan = mandates::create_remote_in(tx, &new, &given, context, now)?;
        diesel::update(remote_consents::table.find(&found.id))
            .set((
                remote_consents::status.eq(Status::Confirmed.key()),
                remote_consents::mandate_id.eq(plan.mandate.id.as_str()),
            ))
            .execute(tx)?;
        Ok(Ok(plan))
    })
}
