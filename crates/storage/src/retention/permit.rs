//! The retention permit: the row that lets the database delete mandate records and redact old
//! journal entries, inside the retention job's transaction only
//! (migrations/*/2026-12-07-000001_retention). Inserted first, deleted last, in the same
//! transaction, so no other transaction ever sees it; on PostgreSQL a deferred check refuses any
//! commit that would keep it. This module is the only code that writes it.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::error::StorageError;
use crate::schema::retention_permits;
use crate::{DbConnection, to_db, write};

/// Runs `f` in one write transaction holding a permit named `holder`.
pub(crate) fn with_permit<T>(
    conn: &mut DbConnection,
    holder: &str,
    now: OffsetDateTime,
    f: impl FnOnce(&mut DbConnection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    write(conn, |tx| {
        diesel::insert_into(retention_permits::table)
            .values((
                retention_permits::holder.eq(holder),
                retention_permits::granted_at.eq(to_db(now)),
            ))
            .execute(tx)?;
        let value = f(tx)?;
        diesel::delete(retention_permits::table.find(holder)).execute(tx)?;
        Ok(value)
    })
}
