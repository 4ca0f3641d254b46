//! Deleting a person's mandate records in a structure once every mandate there is past its
//! retention period, and their identity once no mandate of theirs is kept anywhere.

use ac_audit::Action;
use ac_mandates::OrganisationId;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

use super::policy::{MandateLife, Policy, all_due, month};
use super::{Counts, permit::with_permit};
use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::{
    authorizations, expiry_reminders, mandate_consents, mandate_verifications, mandates,
    oidc_access_tokens, oidc_authorization_codes, retired_verification_codes, usagers,
};
use crate::{DbConnection, from_db, to_db};

/// A person in a structure: the unit that is kept or deleted whole.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, QueryableByName)]
pub(crate) struct Group {
    #[diesel(sql_type = Text)]
    pub organisation_id: String,
    #[diesel(sql_type = Text)]
    pub usager_id: String,
}

/// `?1` on SQLite, `$1` on PostgreSQL: numbered so that one bind list serves both.
fn marker(conn: &DbConnection) -> char {
    match conn {
        DbConnection::Sqlite(_) => '?',
        DbConnection::Pg(_) => '$',
    }
}

/// Up to `limit` groups after `after` (in key order) none of whose mandates was in force after
/// `cutoff`. A prefilter: [`decide`] applies each version's own period. The key is compared as a
/// row value, which both backends search in the `(organisation_id, usager_id)` index; written as
/// `a > x OR (a = x AND b > y)`, PostgreSQL read the index from its start at every batch.
pub(crate) fn candidates(
    conn: &mut DbConnection,
    after: &Group,
    cutoff: OffsetDateTime,
    limit: u32,
) -> Result<Vec<Group>, StorageError> {
    let p = marker(conn);
    let sql = format!(
        "SELECT DISTINCT m.organisation_id, m.usager_id FROM mandates m \
         WHERE (m.organisation_id, m.usager_id) > ({p}1, {p}2) \
           AND NOT EXISTS (SELECT 1 FROM mandates live \
             WHERE live.organisation_id = m.organisation_id AND live.usager_id = m.usager_id \
               AND live.expires_at > {p}3 \
               AND EXISTS (SELECT 1 FROM authorizations a WHERE a.mandate_id = live.id \
                 AND (a.revoked_at IS NULL OR a.revoked_at > {p}3))) \
         ORDER BY m.organisation_id, m.usager_id LIMIT {p}4"
    );
    let query = diesel::sql_query(sql)
        .bind::<Text, _>(&after.organisation_id)
        .bind::<Text, _>(&after.usager_id)
        .bind::<Timestamp, _>(to_db(cutoff))
        .bind::<BigInt, _>(i64::from(limit));
    Ok(match conn {
        DbConnection::Sqlite(c) => query.load(c)?,
        DbConnection::Pg(c) => query.load(c)?,
    })
}

/// A group's mandates: id, version and life.
pub(crate) fn lives(
    conn: &mut DbConnection,
    group: &Group,
) -> Result<Vec<(String, MandateLife)>, StorageError> {
    let rows: Vec<(String, String, time::PrimitiveDateTime)> = mandates::table
        .filter(mandates::organisation_id.eq(&group.organisation_id))
        .filter(mandates::usager_id.eq(&group.usager_id))
        .select((
            mandates::id,
            mandates::legal_text_version,
            mandates::expires_at,
        ))
        .load(conn)?;
    let auths: Vec<(String, Option<time::PrimitiveDateTime>)> = authorizations::table
        .filter(authorizations::organisation_id.eq(&group.organisation_id))
        .filter(authorizations::usager_id.eq(&group.usager_id))
        .select((authorizations::mandate_id, authorizations::revoked_at))
        .load(conn)?;
    let mut lives: BTreeMap<String, MandateLife> = rows
        .into_iter()
        .map(|(id, version, expires)| {
            let life = MandateLife {
                legal_text_version: version,
                expires_at: from_db(expires),
                open_authorizations: 0,
                last_revocation: None,
            };
            (id, life)
        })
        .collect();
    for (mandate, revoked) in auths {
        if let Some(life) = lives.get_mut(&mandate) {
            match revoked.map(from_db) {
                None => life.open_authorizations += 1,
                Some(at) => {
                    life.last_revocation = Some(life.last_revocation.map_or(at, |l| l.max(at)))
                }
            }
        }
    }
    Ok(lives.into_iter().collect())
}

/// Whether the group goes now: every mandate past its own version's period, and no consent in
/// progress for the person (a mandate about to be given must find their identity).
pub(crate) fn decide(
    conn: &mut DbConnection,
    policy: &Policy,
    group: &Group,
    now: OffsetDateTime,
) -> Result<Option<Vec<(String, MandateLife)>>, StorageError> {
    let lives = lives(conn, group)?;
    let only_lives: Vec<MandateLife> = lives.iter().map(|(_, l)| l.clone()).collect();
    if !all_due(policy, &only_lives, now)? {
        return Ok(None);
    }
    let consent_in_progress: i64 = mandate_consents::table
        .filter(mandate_consents::usager_id.eq(&group.usager_id))
        .count()
        .get_result(conn)?;
    Ok((consent_in_progress == 0).then_some(lives))
}

/// Counts what a run would delete for these due groups, by month of the mandates' end.
pub(crate) fn count_due(lives: &[(String, MandateLife)], counts: &mut Counts) {
    for (_, life) in lives {
        *counts.mandates.entry(month(life.end())).or_default() += 1;
    }
}

/// Deletes a due group, inside the caller's permit transaction: its tokens, codes, reminders,
/// verification codes (kept as retired, so the public page can say why the mandate is gone),
/// authorizations and mandates; journals each mandate's deletion; then the person's identity if
/// nothing of theirs is left. Returns whether the identity went too.
pub(crate) fn delete_group(
    tx: &mut DbConnection,
    group: &Group,
    lives: &[(String, MandateLife)],
    policy: &Policy,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let mandate_ids: Vec<&str> = lives.iter().map(|(id, _)| id.as_str()).collect();
    let authorization_ids: Vec<String> = authorizations::table
        .filter(authorizations::mandate_id.eq_any(&mandate_ids))
        .select(authorizations::id)
        .load(tx)?;
    let codes = oidc_authorization_codes::table
        .filter(oidc_authorization_codes::authorization_id.eq_any(&authorization_ids))
        .select(oidc_authorization_codes::code_hash);
    diesel::delete(oidc_access_tokens::table.filter(oidc_access_tokens::code_hash.eq_any(codes)))
        .execute(tx)?;
    diesel::delete(
        oidc_authorization_codes::table
            .filter(oidc_authorization_codes::authorization_id.eq_any(&authorization_ids)),
    )
    .execute(tx)?;
    diesel::delete(
        expiry_reminders::table
            .filter(expiry_reminders::authorization_id.eq_any(&authorization_ids)),
    )
    .execute(tx)?;
    let verification_codes: Vec<String> = mandate_verifications::table
        .filter(mandate_verifications::mandate_id.eq_any(&mandate_ids))
        .select(mandate_verifications::code)
        .load(tx)?;
    for code in &verification_codes {
        diesel::insert_into(retired_verification_codes::table)
            .values((
                retired_verification_codes::code.eq(code),
                retired_verification_codes::retired_at.eq(to_db(now)),
            ))
            .execute(tx)?;
    }
    diesel::delete(
        mandate_verifications::table.filter(mandate_verifications::mandate_id.eq_any(&mandate_ids)),
    )
    .execute(tx)?;
    delete_mandates(tx, group, lives, policy, now)?;

    let subject: String = usagers::table
        .find(&group.usager_id)
        .select(usagers::subject)
        .first(tx)?;
    for (id, life) in lives {
        journal::record(
            tx,
            &AuditContext::system(),
            Event::new(Action::MandateDeleted)
                .target(id)
                .organisation(&OrganisationId::new(group.organisation_id.as_str()))
                .usager(&subject)
                .detail("reason", "retention")
                .detail("ended", month(life.end())),
            now,
        )?;
    }
    crate::usagers::forget_if_unused(
        tx,
        &group.usager_id,
        &subject,
        &AuditContext::system(),
        "retention",
        now,
    )
}

/// The mandates and authorizations themselves: through the SECURITY DEFINER function on
/// PostgreSQL (the runtime role has no DELETE on them), directly on SQLite, where the row
/// triggers let the DELETE through only under the permit.
fn delete_mandates(
    tx: &mut DbConnection,
    group: &Group,
    lives: &[(String, MandateLife)],
    policy: &Policy,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    match tx {
        DbConnection::Pg(pg) => {
            // The function checks again that nothing of the group was in force after this
            // instant: the latest of the group's versions' cutoffs, which every mandate's own
            // cutoff (checked by `decide`) is at most.
            let mut latest = OffsetDateTime::UNIX_EPOCH;
            for (_, life) in lives {
                latest = latest.max(policy.mandate_cutoff(&life.legal_text_version, now)?);
            }
            #[derive(QueryableByName)]
            struct Deleted {
                #[diesel(sql_type = BigInt)]
                #[allow(dead_code)]
                deleted: i64,
            }
            diesel::sql_query("SELECT retention_delete_mandates($1, $2, $3) AS deleted")
                .bind::<Text, _>(&group.organisation_id)
                .bind::<Text, _>(&group.usager_id)
                .bind::<Timestamp, _>(to_db(latest))
                .get_result::<Deleted>(pg)?;
        }
        DbConnection::Sqlite(_) => {
            diesel::delete(
                authorizations::table
                    .filter(authorizations::organisation_id.eq(&group.organisation_id))
                    .filter(authorizations::usager_id.eq(&group.usager_id)),
            )
            .execute(tx)?;
            diesel::delete(
                mandates::table
                    .filter(mandates::organisation_id.eq(&group.organisation_id))
                    .filter(mandates::usager_id.eq(&group.usager_id)),
            )
            .execute(tx)?;
        }
    }
    Ok(())
}

/// An identity fetched for a mandate that was never given (the person refused, or the aidant
/// gave up) is kept no longer than the consent it was fetched for: gone a day after its last
/// identification.
pub(crate) const UNUSED_IDENTITY_KEPT: Duration = Duration::days(1);

/// Up to `limit` identities with no mandate, no consent in progress and no code, last
/// identified before `now - UNUSED_IDENTITY_KEPT`.
pub(crate) fn unused_identities(
    conn: &mut DbConnection,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<(String, String, time::PrimitiveDateTime)>, StorageError> {
    use diesel::dsl::{exists, not};
    Ok(usagers::table
        .filter(usagers::updated_at.le(to_db(now.saturating_sub(UNUSED_IDENTITY_KEPT))))
        .filter(not(exists(
            mandates::table.filter(mandates::usager_id.eq(usagers::id)),
        )))
        .filter(not(exists(
            mandate_consents::table.filter(mandate_consents::usager_id.eq(usagers::id)),
        )))
        .filter(not(exists(
            oidc_authorization_codes::table
                .filter(oidc_authorization_codes::usager_id.eq(usagers::id)),
        )))
        .order(usagers::id)
        .limit(i64::from(limit))
        .select((usagers::id, usagers::subject, usagers::updated_at))
        .load(conn)?)
}

/// Deletes a batch of unused identities in one permit transaction (no permit is needed for
/// `usagers`, but the batch is one transaction like every other). Returns how many went.
pub(crate) fn delete_unused_identities(
    conn: &mut DbConnection,
    holder: &str,
    batch: &[(String, String, time::PrimitiveDateTime)],
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    with_permit(conn, holder, now, |tx| {
        let mut deleted = 0;
        for (id, subject, _) in batch {
            if crate::usagers::forget_if_unused(
                tx,
                id,
                subject,
                &AuditContext::system(),
                "retention",
                now,
            )? {
                deleted += 1;
            }
        }
        Ok(deleted)
    })
}
