//! The step between identification and consent (see the migration): single use, bound to the
//! aidant, expiring.

use ac_mandates::comprehension::{Check, Outcome};
use ac_mandates::{AidantId, MandateId, OrganisationId, UsagerId};
use diesel::prelude::*;
use time::OffsetDateTime;

use crate::error::StorageError;
use crate::schema::mandate_consents;
use crate::{DbConnection, from_db, to_db, write};

/// What waits for consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingConsent {
    pub organisation: OrganisationId,
    pub usager: UsagerId,
    /// The mandate choices, as the web layer serialised them.
    pub draft: String,
    /// Set for a renewal: the mandate renewed.
    pub renewal_of: Option<MandateId>,
    pub identification: Identification,
    /// Where the aidé is in the comprehension check (`ac_mandates::comprehension`): kept here,
    /// never in the form, and required before the consent is used up.
    pub comprehension: Check,
}

/// How the aidé was identified for this consent: recorded with the mandate, so the journal
/// tells a fresh FranceConnect identification from a renewal the structure lets go without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identification {
    FranceConnect,
    /// A renewal, where the structure's setting does not ask for a new identification.
    NotRequired,
}

impl Identification {
    pub fn key(self) -> &'static str {
        match self {
            Identification::FranceConnect => "franceconnect",
            Identification::NotRequired => "not_required",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "franceconnect" => Some(Identification::FranceConnect),
            "not_required" => Some(Identification::NotRequired),
            _ => None,
        }
    }
}

/// Stores a pending consent; expired ones are swept on the way.
pub fn insert(
    conn: &mut DbConnection,
    token_hash: &str,
    aidant: &AidantId,
    pending: &PendingConsent,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        diesel::delete(mandate_consents::table.filter(mandate_consents::expires_at.le(to_db(now))))
            .execute(tx)?;
        diesel::insert_into(mandate_consents::table)
            .values((
                mandate_consents::token_hash.eq(token_hash),
                mandate_consents::aidant_id.eq(aidant.as_str()),
                mandate_consents::organisation_id.eq(pending.organisation.as_str()),
                mandate_consents::usager_id.eq(pending.usager.as_str()),
                mandate_consents::draft.eq(&pending.draft),
                mandate_consents::created_at.eq(to_db(now)),
                mandate_consents::expires_at.eq(to_db(expires_at)),
                mandate_consents::renewal_of.eq(pending.renewal_of.as_ref().map(MandateId::as_str)),
                mandate_consents::identification.eq(pending.identification.key()),
                mandate_consents::comprehension_question
                    .eq(i32::from(pending.comprehension.answered())),
                mandate_consents::comprehension_tries.eq(i32::from(pending.comprehension.tries())),
                mandate_consents::comprehension
                    .eq(pending.comprehension.outcome().map(Outcome::key)),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        Ok(())
    })
}

/// Reads a pending consent without using it (to show the recap again after a wrong code).
pub fn peek(
    conn: &mut DbConnection,
    token_hash: &str,
    aidant: &AidantId,
    now: OffsetDateTime,
) -> Result<Option<PendingConsent>, StorageError> {
    #[derive(Queryable)]
    struct Row {
        aidant_id: String,
        organisation_id: String,
        usager_id: String,
        draft: String,
        expires_at: time::PrimitiveDateTime,
        renewal_of: Option<String>,
        identification: String,
        comprehension_question: i32,
        comprehension_tries: i32,
        comprehension: Option<String>,
    }
    let row: Option<Row> = mandate_consents::table
        .find(token_hash)
        .select((
            mandate_consents::aidant_id,
            mandate_consents::organisation_id,
            mandate_consents::usager_id,
            mandate_consents::draft,
            mandate_consents::expires_at,
            mandate_consents::renewal_of,
            mandate_consents::identification,
            mandate_consents::comprehension_question,
            mandate_consents::comprehension_tries,
            mandate_consents::comprehension,
        ))
        .first(conn)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    if row.aidant_id != aidant.as_str() || from_db(row.expires_at) <= now {
        return Ok(None);
    }
    let identification = Identification::from_key(&row.identification)
        .ok_or_else(|| StorageError::Corrupt("mandate_consents.identification".into()))?;
    let comprehension = stored_check(
        row.comprehension_question,
        row.comprehension_tries,
        row.comprehension.as_deref(),
    )
    .ok_or_else(|| StorageError::Corrupt("mandate_consents.comprehension".into()))?;
    Ok(Some(PendingConsent {
        organisation: OrganisationId::new(row.organisation_id),
        usager: UsagerId::new(row.usager_id),
        draft: row.draft,
        renewal_of: row.renewal_of.map(MandateId::new),
        identification,
        comprehension,
    }))
}

fn stored_check(answered: i32, tries: i32, outcome: Option<&str>) -> Option<Check> {
    let outcome = match outcome {
        None => None,
        Some(key) => Some(Outcome::from_key(key)?),
    };
    Check::from_parts(
        u8::try_from(answered).ok()?,
        u8::try_from(tries).ok()?,
        outcome,
    )
}

/// Moves a pending consent's comprehension check from `before` (as read by [`peek`]) to `after`,
/// if nobody moved it meanwhile: one conditional `UPDATE` (compare-and-set), so two answers
/// posted at once (a double tap) move it once. `false` when the consent is gone, expired,
/// another aidant's, or its check is no longer at `before`: the caller reads it again.
pub fn save_check(
    conn: &mut DbConnection,
    token_hash: &str,
    aidant: &AidantId,
    before: Check,
    after: Check,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    use mandate_consents::dsl as c;
    if before.outcome().is_some() {
        // A finished check does not change (`Check::answer` and `Check::skip` keep it).
        return Ok(before == after);
    }
    write(conn, |tx| {
        let moved = diesel::update(
            c::mandate_consents
                .filter(c::token_hash.eq(token_hash))
                .filter(c::aidant_id.eq(aidant.as_str()))
                .filter(c::expires_at.gt(to_db(now)))
                .filter(c::comprehension_question.eq(i32::from(before.answered())))
                .filter(c::comprehension_tries.eq(i32::from(before.tries())))
                .filter(c::comprehension.is_null()),
        )
        .set((
            c::comprehension_question.eq(i32::from(after.answered())),
            c::comprehension_tries.eq(i32::from(after.tries())),
            c::comprehension.eq(after.outcome().map(Outcome::key)),
        ))
        .execute(tx)?;
        Ok(moved == 1)
    })
}

/// Uses a pending consent inside the caller's transaction (the one that creates the mandate):
/// deleted there, so if the mandate is not written, the consent is not used up either.
pub fn take_in(
    tx: &mut DbConnection,
    token_hash: &str,
    aidant: &AidantId,
    now: OffsetDateTime,
) -> Result<Option<PendingConsent>, StorageError> {
    let found = peek(tx, token_hash, aidant, now)?;
    if found.is_some() {
        let deleted = diesel::delete(mandate_consents::table.find(token_hash)).execute(tx)?;
        if deleted != 1 {
            return Ok(None);
        }
    }
    Ok(found)
}

/// Where in the mandate creation the refusal came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalStep<'a> {
    /// On the screen before FranceConnect: nobody was identified yet.
    Identification,
    /// On the recap, after identification: the pending consent (its token's hash) is dropped.
    Recap { token_hash: &'a str },
}

impl RefusalStep<'_> {
    pub fn key(self) -> &'static str {
        match self {
            RefusalStep::Identification => "identification",
            RefusalStep::Recap { .. } => "recap",
        }
    }
}

/// Who ended the creation: the aidé (« Je refuse ») or the aidant (« Annuler »).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBy {
    Usager,
    Aidant,
}

impl RefusedBy {
    pub fn key(self) -> &'static str {
        match self {
            RefusedBy::Usager => "usager",
            RefusedBy::Aidant => "aidant",
        }
    }
}

/// What a refusal changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The identity fetched for this creation was deleted (nothing else of the person's is kept).
    pub identity_forgotten: bool,
    /// The refusal ended a renewal: the mandate renewed stays as it was.
    pub renewal: bool,
}

/// Ends a mandate creation without a mandate, in one transaction: on the recap the pending
/// consent the step names is used up (so « Enregistrer » can no longer succeed) and the
/// identity fetched for it is forgotten when nothing else of the person's is kept; either way a
/// `mandate.refused` entry records the step and who refused, without personal data. A recap
/// token that is unknown, expired or another aidant's changes nothing and answers `None`.
pub fn refuse(
    conn: &mut DbConnection,
    step: RefusalStep<'_>,
    by: RefusedBy,
    aidant: &AidantId,
    organisation: &OrganisationId,
    context: &crate::journal::AuditContext,
    now: OffsetDateTime,
) -> Result<Option<Refused>, StorageError> {
    use crate::journal::{self, Event};
    write(conn, |tx| {
        let mut event = Event::new(ac_audit::Action::MandateRefused)
            .organisation(organisation)
            .detail("step", step.key())
            .detail("refused_by", by.key());
        let mut refused = Refused {
            identity_forgotten: false,
            renewal: false,
        };
        if let RefusalStep::Recap { token_hash } = step {
            let Some(pending) = take_in(tx, token_hash, aidant, now)? else {
                return Ok(None);
            };
            if pending.organisation != *organisation {
                // The aidant switched structure meanwhile: the consent was for the other one.
                return Err(StorageError::NotFound);
            }
            if let Some(renewed) = &pending.renewal_of {
                event = event.detail("renewal_of", renewed.as_str());
                refused.renewal = true;
            }
            let subject: String = crate::schema::usagers::table
                .find(pending.usager.as_str())
                .select(crate::schema::usagers::subject)
                .first(tx)?;
            journal::record(tx, context, event, now)?;
            refused.identity_forgotten = crate::usagers::forget_if_unused(
                tx,
                pending.usager.as_str(),
                &subject,
                context,
                "consent_refused",
                now,
            )?;
        } else {
            journal::record(tx, context, event, now)?;
        }
        Ok(Some(refused))
    })
}
