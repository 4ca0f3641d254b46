//! Leases on scheduled jobs: every node runs the daily jobs, and the one holding a job's
//! unexpired lease does the work while the others skip it (docs/operations.md "Scaling").
//!
//! A lease is a row, taken by a conditional UPDATE that only succeeds when the row is free
//! (expired) or already ours, so two nodes can never both hold it; a holder that dies simply
//! lets it expire. A job longer than the lease renews it between batches, and stops if it lost it.

use diesel::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::error::StorageError;
use crate::schema::job_leases;
use crate::{DbConnection, to_db};

/// Takes or renews the lease `name` for `holder` until `now + ttl`. `false`: another holder has
/// it.
pub fn acquire(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    ttl: Duration,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let until = to_db(now.saturating_add(ttl));
    // Each statement is atomic on its own: no transaction, so a lost race on the INSERT is a
    // plain answer rather than an aborted transaction.
    let taken = diesel::update(
        job_leases::table.filter(job_leases::name.eq(name)).filter(
            job_leases::holder
                .eq(holder)
                .or(job_leases::expires_at.le(to_db(now))),
        ),
    )
    .set((
        job_leases::holder.eq(holder),
        job_leases::expires_at.eq(until),
    ))
    .execute(conn)?;
    if taken == 1 {
        return Ok(true);
    }
    let inserted = diesel::insert_into(job_leases::table)
        .values((
            job_leases::name.eq(name),
            job_leases::holder.eq(holder),
            job_leases::expires_at.eq(until),
        ))
        .execute(conn)
        .map_err(StorageError::from_query);
    match inserted {
        Ok(_) => Ok(true),
        // The row exists and is someone else's (or was just taken by another node).
        Err(StorageError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives the lease back if `holder` has it, so the next run need not wait for it to expire.
pub fn release(conn: &mut DbConnection, name: &str, holder: &str) -> Result<(), StorageError> {
    diesel::delete(
        job_leases::table
            .filter(job_leases::name.eq(name))
            .filter(job_leases::holder.eq(holder)),
    )
    .execute(conn)?;
    Ok(())
}
