//! Redacting journal entries past the journal's period: the payload goes, the leaf hash stays
//! (docs/security/audit-log.md "Redaction").
//!
//! An entry's own time is inside its payload, so after redaction nothing in the row proves its
//! age. The proof is a signed checkpoint: an entry below the size of a checkpoint whose
//! `checkpoint.signed` entry is at or before the cutoff existed at that time. Redaction stops at
//! the newest such checkpoint (the horizon), spares the checkpoint entries, and `audit verify`
//! recomputes the same horizon to refuse a redaction younger than the period.

use ac_audit::Action;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamp};
use time::OffsetDateTime;

use super::permit::with_permit;
use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::audit_log;
use crate::{DbConnection, to_db};

/// The horizon at `older_than`: the size of the newest signed checkpoint journaled at or before
/// it, or `None` when there is none. Entries below it provably existed at `older_than`.
pub fn horizon(
    conn: &mut DbConnection,
    older_than: OffsetDateTime,
) -> Result<Option<u64>, StorageError> {
    let target: Option<Option<String>> = audit_log::table
        .filter(audit_log::action.eq(Action::CheckpointSigned.as_str()))
        .filter(audit_log::redacted_at.is_null())
        .filter(audit_log::at.le(to_db(older_than)))
        .order(audit_log::seq.desc())
        .select(audit_log::target)
        .first(conn)
        .optional()?;
    target
        .flatten()
        .map(|size| {
            size.parse::<u64>()
                .map_err(|_| StorageError::Corrupt(format!("checkpoint.signed target {size}")))
        })
        .transpose()
}

/// Where redaction resumes: after the last redacted entry. Asked as the newest redacted entry
/// rather than `max(seq)`: PostgreSQL then reads one entry of the partial index
/// `audit_log_redacted` backwards, whereas the aggregate, planned with statistics from before the
/// run (an index estimated empty), read the whole index at every batch (docs/performance.md
/// "Retention").
fn resume_from(conn: &mut DbConnection) -> Result<i64, StorageError> {
    let last: Option<i64> = audit_log::table
        .filter(audit_log::redacted_at.is_not_null())
        .order(audit_log::seq.desc())
        .select(audit_log::seq)
        .first(conn)
        .optional()?;
    Ok(last.map_or(0, |l| l.saturating_add(1)))
}

/// Entries the next batches would redact, below `horizon`.
fn due(from: i64, horizon: i64) -> audit_log::BoxedQuery<'static, crate::backend::MultiBackend> {
    audit_log::table
        .filter(audit_log::seq.ge(from))
        .filter(audit_log::seq.lt(horizon))
        .filter(audit_log::redacted_at.is_null())
        .filter(audit_log::action.ne(Action::CheckpointSigned.as_str()))
        .into_boxed()
}

/// How many entries are due at `older_than`, by month of their time.
pub(crate) fn count_due(
    conn: &mut DbConnection,
    older_than: OffsetDateTime,
) -> Result<Vec<(String, i64)>, StorageError> {
    let Some(horizon) = horizon(conn, older_than)? else {
        return Ok(Vec::new());
    };
    let horizon = i64::try_from(horizon).unwrap_or(i64::MAX);
    let from = resume_from(conn)?;
    let times: Vec<time::PrimitiveDateTime> =
        due(from, horizon).select(audit_log::at).load(conn)?;
    let mut by_month = std::collections::BTreeMap::<String, i64>::new();
    for at in times {
        *by_month
            .entry(super::policy::month(crate::from_db(at)))
            .or_default() += 1;
    }
    Ok(by_month.into_iter().collect())
}

/// Redacts one batch of at most `limit` entries and journals it, in one permit transaction.
/// Returns how many were redacted (0: nothing is due).
pub(crate) fn redact_batch(
    conn: &mut DbConnection,
    holder: &str,
    older_than: OffsetDateTime,
    limit: u32,
    now: OffsetDateTime,
) -> Result<u64, StorageError> {
    let Some(horizon) = horizon(conn, older_than)? else {
        return Ok(0);
    };
    let horizon = i64::try_from(horizon).unwrap_or(i64::MAX);
    with_permit(conn, holder, now, |tx| {
        let from = resume_from(tx)?;
        let redacted = match tx {
            DbConnection::Pg(pg) => {
                #[derive(QueryableByName)]
                struct Redacted {
                    #[diesel(sql_type = BigInt)]
                    redacted: i64,
                }
                diesel::sql_query("SELECT retention_redact_journal($1, $2, $3, $4) AS redacted")
                    .bind::<BigInt, _>(from)
                    .bind::<Timestamp, _>(to_db(older_than))
                    .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
                    .bind::<Timestamp, _>(to_db(now))
                    .get_result::<Redacted>(pg)?
                    .redacted
            }
            DbConnection::Sqlite(_) => {
                let seqs: Vec<i64> = due(from, horizon)
                    .order(audit_log::seq)
                    .limit(i64::from(limit))
                    .select(audit_log::seq)
                    .load(tx)?;
                let none = None::<String>;
                let changed = diesel::update(audit_log::table.filter(audit_log::seq.eq_any(&seqs)))
                    .set((
                        audit_log::entry.eq(""),
                        audit_log::actor_id.eq(&none),
                        audit_log::organisation_id.eq(&none),
                        audit_log::usager.eq(&none),
                        audit_log::demarche.eq(&none),
                        audit_log::client_id.eq(&none),
                        audit_log::target.eq(&none),
                        audit_log::redacted_at.eq(Some(to_db(now))),
                    ))
                    .execute(tx)?;
                i64::try_from(changed).unwrap_or(i64::MAX)
            }
        };
        if redacted > 0 {
            journal::record(
                tx,
                &AuditContext::system(),
                Event::new(Action::JournalRedacted)
                    .detail("entries", redacted)
                    .detail("from_seq", from)
                    .detail("below_seq", horizon),
                now,
            )?;
        }
        Ok(u64::try_from(redacted).unwrap_or(0))
    })
}
