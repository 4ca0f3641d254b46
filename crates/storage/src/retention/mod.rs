//! Retention: keeping each record no longer than the legal text the person consented to says
//! (docs/operations.md "Retention").
//!
//! - A person's mandate records in a structure (mandates, authorizations, verification codes,
//!   delegation codes and tokens, reminders) go once every mandate of theirs there ended more
//!   than the promised period ago; their identity goes when nothing of theirs is kept anywhere.
//!   An identity fetched for a mandate never given goes a day after it was fetched.
//! - Journal entries older than the journal's period are redacted ([`journal`]).
//!
//! Everything goes in small batches, each one transaction that also journals what it removed,
//! through the one narrow path the database allows ([`permit`]), so a run killed at any point
//! leaves a consistent database and the next run resumes. One node at a time runs it (a lease,
//! [`crate::leases`]). [`report`] says what a run would do, without doing it.

pub mod journal;
mod mandates;
mod permit;
pub mod policy;

use ac_audit::Action;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

pub use policy::Policy;

use crate::error::StorageError;
use crate::journal::{AuditContext, Event};
use crate::{Database, DbConnection, leases, write};

/// The lease every node competes for before a run.
pub const LEASE: &str = "retention";
/// How long a lease lasts without renewal; renewed before every batch.
pub const LEASE_TTL: Duration = Duration::minutes(10);

/// What a run deletes or deleted, by category and month (of the mandate's end, of the identity's
/// last identification, of the journal entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub mandates: BTreeMap<String, u64>,
    pub identities: BTreeMap<String, u64>,
    pub unused_identities: BTreeMap<String, u64>,
    pub journal_entries: BTreeMap<String, u64>,
}

impl Counts {
    pub fn total(map: &BTreeMap<String, u64>) -> u64 {
        map.values().sum()
    }
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub mandates: u64,
    pub identities: u64,
    pub unused_identities: u64,
    pub journal_entries: u64,
    pub batches: u64,
    /// `false` when another node held the lease, or this one lost it mid-run.
    pub ran: bool,
}

/// What a run at `now` would delete, without deleting anything.
pub fn report(
    conn: &mut DbConnection,
    policy: &Policy,
    now: OffsetDateTime,
) -> Result<Counts, StorageError> {
    let mut counts = Counts::default();
    let loosest = policy.loosest_mandate_cutoff(now);
    let mut after = mandates::Group {
        organisation_id: String::new(),
        usager_id: String::new(),
    };
    let mut people = BTreeMap::<String, (u64, OffsetDateTime)>::new();
    loop {
        let groups = mandates::candidates(conn, &after, loosest, policy.batch)?;
        let Some(last) = groups.last().cloned() else {
            break;
        };
        for group in &groups {
            if let Some(lives) = mandates::decide(conn, policy, group, now)? {
                mandates::count_due(&lives, &mut counts);
                let latest = lives
                    .iter()
                    .map(|(_, l)| l.end())
                    .max()
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let person = people.entry(group.usager_id.clone()).or_insert((0, latest));
                person.0 += lives.len() as u64;
                person.1 = person.1.max(latest);
            }
        }
        after = last;
    }
    // A person's identity goes with their last kept mandates.
    for (usager, (due_mandates, latest)) in people {
        let kept: i64 = {
            use crate::schema::mandates as m;
            use diesel::prelude::*;
            m::table
                .filter(m::usager_id.eq(&usager))
                .count()
                .get_result(conn)?
        };
        if u64::try_from(kept).unwrap_or(u64::MAX) == due_mandates {
            *counts.identities.entry(policy::month(latest)).or_default() += 1;
        }
    }
    for (_, _, updated) in mandates::unused_identities(conn, now, u32::MAX)? {
        *counts
            .unused_identities
            .entry(policy::month(crate::from_db(updated)))
            .or_default() += 1;
    }
    for (month, count) in journal::count_due(conn, policy.journal_cutoff(now))? {
        counts
            .journal_entries
            .insert(month, u64::try_from(count).unwrap_or(0));
    }
    Ok(counts)
}

/// Runs retention at `now` as `holder` (a node or the CLI), if it gets the lease: mandate
/// records, unused identities, then the journal, batch by batch. Journals the run's totals.
/// `now` is a parameter so that tests move the clock.
pub fn run(
    db: &Database,
    policy: &Policy,
    holder: &str,
    now: OffsetDateTime,
) -> Result<Outcome, StorageError> {
    let mut conn = db.conn()?;
    let conn = &mut *conn;
    if !leases::acquire(conn, LEASE, holder, LEASE_TTL, now)? {
        return Ok(Outcome::default());
    }
    let outcome = run_holding_lease(conn, policy, holder, now);
    // Given back even after a failure: the next run need not wait for the lease to expire.
    let released = leases::release(conn, LEASE, holder);
    let outcome = outcome?;
    released?;
    Ok(outcome)
}

fn run_holding_lease(
    conn: &mut DbConnection,
    policy: &Policy,
    holder: &str,
    now: OffsetDateTime,
) -> Result<Outcome, StorageError> {
    let mut outcome = Outcome {
        ran: true,
        ..Outcome::default()
    };
    let still_ours = |conn: &mut DbConnection| leases::acquire(conn, LEASE, holder, LEASE_TTL, now);

    let loosest = policy.loosest_mandate_cutoff(now);
    let mut after = mandates::Group {
        organisation_id: String::new(),
        usager_id: String::new(),
    };
    loop {
        if !still_ours(conn)? {
            outcome.ran = false;
            return Ok(outcome);
        }
        let groups = mandates::candidates(conn, &after, loosest, policy.batch)?;
        let Some(last) = groups.last().cloned() else {
            break;
        };
        let (mandates_deleted, identities) = permit::with_permit(conn, holder, now, |tx| {
            let (mut deleted, mut identities) = (0u64, 0u64);
            for group in &groups {
                // Decided again inside the transaction: a renewal since the search keeps it.
                if let Some(lives) = mandates::decide(tx, policy, group, now)? {
                    deleted += lives.len() as u64;
                    if mandates::delete_group(tx, group, &lives, policy, now)? {
                        identities += 1;
                    }
                }
            }
            Ok((deleted, identities))
        })?;
        outcome.mandates += mandates_deleted;
        outcome.identities += identities;
        outcome.batches += 1;
        after = last;
    }
    loop {
        if !still_ours(conn)? {
            outcome.ran = false;
            return Ok(outcome);
        }
        let unused = mandates::unused_identities(conn, now, policy.batch)?;
        if unused.is_empty() {
            break;
        }
        let deleted = mandates::delete_unused_identities(conn, holder, &unused, now)?;
        outcome.unused_identities += deleted as u64;
        outcome.batches += 1;
        if deleted == 0 {
            break;
        }
    }
    let older_than = policy.journal_cutoff(now);
    loop {
        if !still_ours(conn)? {
            outcome.ran = false;
            return Ok(outcome);
        }
        let redacted = journal::redact_batch(conn, holder, older_than, policy.batch, now)?;
        if redacted == 0 {
            break;
        }
        outcome.journal_entries += redacted;
        outcome.batches += 1;
    }
    write(conn, |tx| {
        crate::journal::record(
            tx,
            &AuditContext::system(),
            Event::new(Action::RetentionRun)
                .detail("mandates", outcome.mandates)
                .detail("identities", outcome.identities)
                .detail("unused_identities", outcome.unused_identities)
                .detail("journal_entries", outcome.journal_entries),
            now,
        )
    })?;
    Ok(outcome)
}
