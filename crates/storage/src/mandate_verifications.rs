//! The verification code of each mandate (`ac_mandates::VerificationCode`): created with the
//! mandate, printed on it, and looked up by the public verification page.
//!
//! Mandates created before this table existed get their code when first printed
//! ([`code_for_print`]) rather than in the migration: SQL has no portable cryptographic random
//! source on both backends, and a code matters only once it is on paper.

use ac_audit::Action;
use ac_mandates::{MandateId, VERIFICATION_CODE_BYTES, VerificationCode};
use diesel::prelude::*;
use ring::rand::SecureRandom;
use time::OffsetDateTime;

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::{mandate_verifications, mandates};
use crate::{DbConnection, to_db, write};

pub(crate) fn generate() -> Result<VerificationCode, StorageError> {
    let mut bytes = [0u8; VERIFICATION_CODE_BYTES];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ac_auth::AuthError::Random)?;
    Ok(VerificationCode::from_random(bytes))
}

/// Gives `mandate` a fresh code, inside the caller's transaction (the mandate's creation).
pub(crate) fn insert_in(
    tx: &mut DbConnection,
    mandate: &MandateId,
    now: OffsetDateTime,
) -> Result<VerificationCode, StorageError> {
    let code = generate()?;
    diesel::insert_into(mandate_verifications::table)
        .values((
            mandate_verifications::mandate_id.eq(mandate.as_str()),
            mandate_verifications::code.eq(code.as_str()),
            mandate_verifications::created_at.eq(to_db(now)),
        ))
        .execute(tx)
        .map_err(StorageError::from_query)?;
    Ok(code)
}

fn code_of(
    conn: &mut DbConnection,
    mandate: &MandateId,
) -> Result<Option<VerificationCode>, StorageError> {
    let stored: Option<String> = mandate_verifications::table
        .find(mandate.as_str())
        .select(mandate_verifications::code)
        .first(conn)
        .optional()?;
    stored
        .map(|text| {
            VerificationCode::parse(&text)
                .ok_or_else(|| StorageError::Corrupt("mandate_verifications.code".into()))
        })
        .transpose()
}

/// The code to print on `mandate`; one is created (and journaled) for a mandate from before
/// codes existed. The row of the mandate's usager is locked on PostgreSQL, as every mandate
/// change for that person does (SQLite's `BEGIN IMMEDIATE` already serialises), so two first
/// prints at once agree on one code. Not the mandate's own row: `FOR UPDATE` needs the UPDATE
/// privilege, which the runtime role has not on `mandates` (docs/operations.md).
pub fn code_for_print(
    conn: &mut DbConnection,
    mandate: &MandateId,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<VerificationCode, StorageError> {
    if let Some(code) = code_of(conn, mandate)? {
        return Ok(code);
    }
    write(conn, |tx| {
        if let DbConnection::Pg(pg) = tx {
            diesel::sql_query(
                "SELECT u.id FROM usagers u JOIN mandates m ON m.usager_id = u.id \
                 WHERE m.id = $1 FOR UPDATE OF u",
            )
            .bind::<diesel::sql_types::Text, _>(mandate.as_str())
            .execute(pg)?;
        }
        if let Some(code) = code_of(tx, mandate)? {
            return Ok(code);
        }
        let organisation: String = mandates::table
            .find(mandate.as_str())
            .select(mandates::organisation_id)
            .first(tx)
            .map_err(StorageError::from_query)?;
        let code = insert_in(tx, mandate, now)?;
        // The code itself stays out of the journal: the journal is read by more people than
        // the paper is shown to.
        let event = Event::new(Action::MandateVerificationCodeCreated)
            .organisation(&ac_mandates::OrganisationId::new(organisation))
            .target(mandate);
        journal::record(tx, context, event, now)?;
        Ok(code)
    })
}

/// The mandate a code names; `NotFound` for a code nobody was given.
pub fn mandate_for_code(
    conn: &mut DbConnection,
    code: &VerificationCode,
) -> Result<MandateId, StorageError> {
    mandate_verifications::table
        .filter(mandate_verifications::code.eq(code.as_str()))
        .select(mandate_verifications::mandate_id)
        .first::<String>(conn)
        .map(MandateId::new)
        .map_err(StorageError::from_query)
}

/// Whether `code` was printed on a mandate deleted at the end of its retention period
/// (`retention`), so the public page can say so rather than « inconnu ».
pub fn is_retired(conn: &mut DbConnection, code: &VerificationCode) -> Result<bool, StorageError> {
    use crate::schema::retired_verification_codes;
    Ok(diesel::select(diesel::dsl::exists(
        retired_verification_codes::table.find(code.as_str()),
    ))
    .get_result(conn)?)
}
