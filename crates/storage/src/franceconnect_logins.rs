//! Identifications in progress at FranceConnect: what the relying party keeps between the
//! redirect and the provider's return. Single use: [`take`] deletes the row it returns.

use ac_mandates::AidantId;
use diesel::prelude::*;
use time::OffsetDateTime;

use crate::error::StorageError;
use crate::purge::KEPT_AFTER_EXPIRY;
use crate::schema::franceconnect_logins;
use crate::{DbConnection, to_db, write};

/// Which return the row waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Login,
    Logout,
}

impl Kind {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Logout => "logout",
        }
    }
}

/// Stores a pending login or logout under the hash of its `state`. Rows expired for longer than
/// [`KEPT_AFTER_EXPIRY`] are swept on the way; a row expired more recently stays, so that a
/// return after the deadline is told "too late" rather than "unknown".
pub fn insert(
    conn: &mut DbConnection,
    state_hash: &str,
    kind: Kind,
    aidant: &AidantId,
    payload: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let before = now.checked_sub(KEPT_AFTER_EXPIRY).unwrap_or(now);
        diesel::delete(
            franceconnect_logins::table.filter(franceconnect_logins::expires_at.le(to_db(before))),
        )
        .execute(tx)?;
        diesel::insert_into(franceconnect_logins::table)
            .values((
                franceconnect_logins::state_hash.eq(state_hash),
                franceconnect_logins::kind.eq(kind.key()),
                franceconnect_logins::aidant_id.eq(aidant.as_str()),
                franceconnect_logins::payload.eq(payload),
                franceconnect_logins::created_at.eq(to_db(now)),
                franceconnect_logins::expires_at.eq(to_db(expires_at)),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        Ok(())
    })
}

/// Takes (reads and deletes) the row for `state_hash`, if it is of this kind and belongs to this
/// aidant. An expired row is returned too: its age is the relying party's check
/// (`ac_oidc::rp`, OIDC012 "l'identification a pris trop de temps"), which must see it to say
/// so. A second call for the same state finds nothing: that is what makes a `state` single use,
/// on every node.
pub fn take(
    conn: &mut DbConnection,
    state_hash: &str,
    kind: Kind,
    aidant: &AidantId,
) -> Result<Option<String>, StorageError> {
    write(conn, |tx| {
        let row: Option<(String, String, String)> = franceconnect_logins::table
            .find(state_hash)
            .select((
                franceconnect_logins::kind,
                franceconnect_logins::aidant_id,
                franceconnect_logins::payload,
            ))
            .first(tx)
            .optional()?;
        let Some((row_kind, row_aidant, payload)) = row else {
            return Ok(None);
        };
        // Deleted whatever the outcome: a state shown to the wrong session is burnt too.
        let deleted = diesel::delete(franceconnect_logins::table.find(state_hash)).execute(tx)?;
        let valid = deleted == 1 && row_kind == kind.key() && row_aidant == aidant.as_str();
        Ok(valid.then_some(payload))
    })
}
