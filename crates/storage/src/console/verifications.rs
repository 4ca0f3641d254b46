//! Full verifications of the audit log, recorded for the integrity panel.

use ac_audit::VerifierKey;
use ac_mandates::AidantId;
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::audit::{self, Expectations, Verification};
use crate::error::StorageError;
use crate::schema::audit_verifications;
use crate::{Database, DbConnection, from_db, new_id, to_db};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every entry and checkpoint verified.
    Intact,
    /// Verification found tampering (see the problem).
    Tampered,
    /// The run could not complete (database error, unreadable data).
    Failed,
}

impl Outcome {
    fn key(self) -> &'static str {
        match self {
            Outcome::Intact => "intact",
            Outcome::Tampered => "tampered",
            Outcome::Failed => "failed",
        }
    }

    fn from_key(key: &str) -> Result<Self, StorageError> {
        match key {
            "intact" => Ok(Outcome::Intact),
            "tampered" => Ok(Outcome::Tampered),
            "failed" => Ok(Outcome::Failed),
            other => Err(StorageError::Corrupt(format!(
                "audit_verifications.outcome {other}"
            ))),
        }
    }
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: String,
    pub requested_by: Option<AidantId>,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub outcome: Option<Outcome>,
    pub entries: Option<i64>,
    pub checkpoints: Option<i64>,
    pub root_hash: Option<String>,
    pub problem_seq: Option<i64>,
    pub problem: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_verifications)]
struct RunRow {
    id: String,
    requested_by: Option<String>,
    started_at: PrimitiveDateTime,
    finished_at: Option<PrimitiveDateTime>,
    outcome: Option<String>,
    entries: Option<i64>,
    checkpoints: Option<i64>,
    root_hash: Option<String>,
    problem_seq: Option<i64>,
    problem: Option<String>,
}

impl RunRow {
    fn into_run(self) -> Result<Run, StorageError> {
        Ok(Run {
            outcome: self.outcome.as_deref().map(Outcome::from_key).transpose()?,
            id: self.id,
            requested_by: self.requested_by.map(AidantId::new),
            started_at: from_db(self.started_at),
            finished_at: self.finished_at.map(from_db),
            entries: self.entries,
            checkpoints: self.checkpoints,
            root_hash: self.root_hash,
            problem_seq: self.problem_seq,
            problem: self.problem,
        })
    }
}

/// Records that a run starts; returns its id.
pub fn start(
    conn: &mut DbConnection,
    requested_by: Option<&AidantId>,
    now: OffsetDateTime,
) -> Result<String, StorageError> {
    let id = new_id();
    diesel::insert_into(audit_verifications::table)
        .values((
            audit_verifications::id.eq(&id),
            audit_verifications::requested_by.eq(requested_by.map(AidantId::as_str)),
            audit_verifications::started_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(id)
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The differences between the journal and the mandate tables, one per line, for the panel.
fn differences_text(differences: &[ac_audit::replay::Difference]) -> String {
    let mut text = format!(
        "{} ligne(s) des tables de mandats contredisent le journal :",
        differences.len()
    );
    for d in differences {
        text.push('\n');
        text.push_str(&d.to_string());
    }
    text
}

/// Records how a run ended.
pub fn finish(
    conn: &mut DbConnection,
    id: &str,
    result: &Result<Verification, StorageError>,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    let (outcome, entries, checkpoints, root, seq, problem) = match result {
        Ok(report) => {
            let entries = i64::try_from(report.entries).ok();
            let checkpoints = i64::try_from(report.checkpoints).ok();
            match &report.problem {
                None if !report.differences.is_empty() => (
                    Outcome::Tampered,
                    entries,
                    checkpoints,
                    None,
                    None,
                    Some(truncate(&differences_text(&report.differences), 2000)),
                ),
                None => (
                    Outcome::Intact,
                    entries,
                    checkpoints,
                    Some(hex::encode(report.root)),
                    None,
                    None,
                ),
                Some(t) => (
                    Outcome::Tampered,
                    entries,
                    checkpoints,
                    None,
                    t.seq.and_then(|s| i64::try_from(s).ok()),
                    Some(truncate(&t.what, 2000)),
                ),
            }
        }
        // The cause goes to the panel by its code only; details are in the logs.
        Err(e) => (
            Outcome::Failed,
            None,
            None,
            None,
            None,
            Some(format!(
                "{} la vérification n'a pas pu aller au bout",
                e.code()
            )),
        ),
    };
    diesel::update(audit_verifications::table.find(id))
        .set((
            audit_verifications::finished_at.eq(to_db(now)),
            audit_verifications::outcome.eq(outcome.key()),
            audit_verifications::entries.eq(entries),
            audit_verifications::checkpoints.eq(checkpoints),
            audit_verifications::root_hash.eq(root),
            audit_verifications::problem_seq.eq(seq),
            audit_verifications::problem.eq(problem),
        ))
        .execute(conn)?;
    Ok(())
}

/// Runs a full verification ([`audit::verify`]) and records it from start to end. `now` is read
/// twice, at the start and at the end.
pub fn run(
    db: &Database,
    verifiers: &[VerifierKey],
    published: &[String],
    requested_by: Option<&AidantId>,
    pending_max_age: time::Duration,
    retention: &crate::retention::Policy,
    now: &dyn Fn() -> OffsetDateTime,
) -> Result<Verification, StorageError> {
    let started = now();
    let id = start(&mut *db.conn()?, requested_by, started)?;
    let expect = Expectations::new(started, pending_max_age).with_retention(retention);
    let result = audit::verify(db, verifiers, published, &expect);
    finish(&mut *db.conn()?, &id, &result, now())?;
    result
}

/// The latest finished run.
pub fn latest_finished(conn: &mut DbConnection) -> Result<Option<Run>, StorageError> {
    audit_verifications::table
        .filter(audit_verifications::finished_at.is_not_null())
        .order(audit_verifications::started_at.desc())
        .select(RunRow::as_select())
        .first(conn)
        .optional()?
        .map(RunRow::into_run)
        .transpose()
}

/// A run started after `since` and not finished yet.
pub fn in_progress(
    conn: &mut DbConnection,
    since: OffsetDateTime,
) -> Result<Option<Run>, StorageError> {
    audit_verifications::table
        .filter(audit_verifications::finished_at.is_null())
        .filter(audit_verifications::started_at.ge(to_db(since)))
        .order(audit_verifications::started_at.desc())
        .select(RunRow::as_select())
        .first(conn)
        .optional()?
        .map(RunRow::into_run)
        .transpose()
}
