//! Reads what the journal's mandate replay needs (`ac_audit::replay`): the mandate events, the
//! mandate and authorization rows, all from one snapshot of the database, so that a mandate
//! created during the read is either wholly in it (rows and entries) or wholly out.

use ac_audit::Entry;
use ac_audit::replay::{self, AuthorizationRow, Difference, EntryRef, MandateRow, Replay};
use diesel::connection::Connection;
use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::error::StorageError;
use crate::schema::{audit_log, audit_pending, authorizations, mandates, usagers};
use crate::{DbConnection, from_db};

/// Every difference between the journal's mandate events and the `mandates` and
/// `authorizations` tables (see `ac_audit::replay::compare`).
pub fn mandate_differences(conn: &mut DbConnection) -> Result<Vec<Difference>, StorageError> {
    conn.transaction(|tx| {
        if let DbConnection::Pg(pg) = tx {
            // The first statement of the transaction: one snapshot for every read below.
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(pg)?;
        }
        read_and_compare(tx)
    })
}

/// Mandate entries read per round trip: the replay keeps only what they say, never the entries.
const PAGE: i64 = 10_000;

fn read_and_compare(tx: &mut DbConnection) -> Result<Vec<Difference>, StorageError> {
    let actions: Vec<&str> = replay::MANDATE_ACTIONS.iter().map(|a| a.as_str()).collect();
    let mut replayed = Replay::default();
    // Integrated entries, page by page in sequence order (verification has checked that the
    // `action` column matches each entry).
    let mut next = 0i64;
    loop {
        let page: Vec<(i64, String)> = audit_log::table
            .filter(audit_log::seq.ge(next))
            .filter(audit_log::action.eq_any(&actions))
            // A redacted entry says nothing any more; the mandates it spoke of went years
            // before (docs/operations.md "Retention").
            .filter(audit_log::redacted_at.is_null())
            .order(audit_log::seq)
            .limit(PAGE)
            .select((audit_log::seq, audit_log::entry))
            .load(tx)?;
        let Some((last, _)) = page.last() else { break };
        next = last.saturating_add(1);
        for (seq, text) in &page {
            let seq = u64::try_from(*seq)
                .map_err(|_| StorageError::Corrupt(format!("negative audit seq {seq}")))?;
            let entry = Entry::from_canonical_bytes(text.as_bytes())?;
            replayed.apply(EntryRef::Integrated(seq), &entry);
        }
    }
    // Pending entries have no search columns; they are few (the integrator runs every second).
    let pending: Vec<(i64, String)> = audit_pending::table
        .order(audit_pending::id)
        .select((audit_pending::id, audit_pending::entry))
        .load(tx)?;
    for (id, text) in pending {
        let entry = Entry::from_canonical_bytes(text.as_bytes())?;
        replayed.apply(EntryRef::Pending(id), &entry);
    }

    type Mandate = (
        String,
        String,
        Option<String>,
        PrimitiveDateTime,
        PrimitiveDateTime,
    );
    let mandate_rows: Vec<Mandate> = mandates::table
        .left_join(usagers::table.on(usagers::id.eq(mandates::usager_id)))
        .select((
            mandates::id,
            mandates::organisation_id,
            usagers::subject.nullable(),
            mandates::created_at,
            mandates::expires_at,
        ))
        .load(tx)?;
    let mandate_rows: Vec<MandateRow> = mandate_rows
        .into_iter()
        .map(
            |(id, organisation_id, usager, created_at, expires_at)| MandateRow {
                id,
                organisation_id,
                usager,
                created_at: from_db(created_at),
                expires_at: from_db(expires_at),
            },
        )
        .collect();
    type Authorization = (
        String,
        String,
        String,
        PrimitiveDateTime,
        Option<PrimitiveDateTime>,
        Option<String>,
    );
    let authorization_rows: Vec<Authorization> = authorizations::table
        .select((
            authorizations::id,
            authorizations::mandate_id,
            authorizations::demarche,
            authorizations::expires_at,
            authorizations::revoked_at,
            authorizations::revocation_reason,
        ))
        .load(tx)?;
    let authorization_rows: Vec<AuthorizationRow> = authorization_rows
        .into_iter()
        .map(
            |(id, mandate_id, demarche, expires_at, revoked_at, revocation_reason)| {
                AuthorizationRow {
                    id,
                    mandate_id,
                    demarche,
                    expires_at: from_db(expires_at),
                    revoked_at: revoked_at.map(from_db),
                    revocation_reason,
                }
            },
        )
        .collect();
    Ok(replayed.compare(&mandate_rows, &authorization_rows))
}
