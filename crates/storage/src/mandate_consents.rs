//! The step between identification and consent (see the migration): single use, bound to the
//! aidant, expiring.

use ac_mandates::{AidantId, OrganisationId, UsagerId};
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
    let row: Option<(String, String, String, String, time::PrimitiveDateTime)> =
        mandate_consents::table
            .find(token_hash)
            .select((
                mandate_consents::aidant_id,
                mandate_consents::organisation_id,
                mandate_consents::usager_id,
                mandate_consents::draft,
                mandate_consents::expires_at,
            ))
            .first(conn)
            .optional()?;
    Ok(
        row.and_then(|(owner, organisation, usager, draft, expires_at)| {
            (owner == aidant.as_str() && from_db(expires_at) > now).then(|| PendingConsent {
                organisation: OrganisationId::new(organisation),
                usager: UsagerId::new(usager),
                draft,
            })
        }),
    )
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
