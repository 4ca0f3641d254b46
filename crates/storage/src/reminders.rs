//! Expiry reminders (docs/operations.md, "Mail"): the aidants who may act for others in a
//! structure are told which authorizations end within each threshold (30 and 7 days by
//! default), once per authorization and threshold, in one message per aidant per round.
//!
//! [`due`] reads what crossed a threshold and was not reminded yet; the caller renders the
//! messages; [`record`] writes the reminder rows and queues the messages in one transaction,
//! and does nothing when another node recorded any of them first. A mandate not longer than a
//! threshold is not reminded at it (a one-day mandate is never "ending in 7 days" news).

use ac_mandates::{AidantId, AuthorizationId, OrganisationId};
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use time::{Duration, OffsetDateTime};

use crate::error::StorageError;
use crate::outbox::{self, NewMail};
use crate::schema::{
    aidant_organisations, aidants, authorizations, expiry_reminders, mandates, organisations,
};
use crate::{DbConnection, from_db, to_db, write};

/// An authorization to remind, at the smallest threshold it crossed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    pub authorization: AuthorizationId,
    pub demarche: String,
    pub expires_at: OffsetDateTime,
    /// The smallest threshold crossed: the one the message speaks of.
    pub threshold_days: i32,
    /// Every threshold crossed (all recorded, so none is reminded later).
    pub thresholds: Vec<i32>,
}

/// Who is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub aidant: AidantId,
    pub email: String,
    pub first_name: String,
}

/// A structure's reminders of one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub organisation: OrganisationId,
    pub organisation_name: String,
    pub departement: String,
    pub items: Vec<DueItem>,
    pub recipients: Vec<Recipient>,
}

/// What crossed a threshold at `now` and was not reminded yet, structure by structure (active
/// structures only; revoked or ended authorizations never). `thresholds` in days, each 1–365.
pub fn due(
    conn: &mut DbConnection,
    thresholds: &[i32],
    now: OffsetDateTime,
) -> Result<Vec<Due>, StorageError> {
    let Some(&longest) = thresholds.iter().max() else {
        return Ok(Vec::new());
    };
    let horizon = now.saturating_add(Duration::days(i64::from(longest)));
    type Row = (
        String,
        String,
        time::PrimitiveDateTime,
        i32,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = authorizations::table
        .inner_join(mandates::table)
        .inner_join(organisations::table.on(organisations::id.eq(authorizations::organisation_id)))
        .filter(authorizations::revoked_at.is_null())
        .filter(authorizations::expires_at.gt(to_db(now)))
        .filter(authorizations::expires_at.le(to_db(horizon)))
        .filter(organisations::is_active.eq(true))
        .select((
            authorizations::id,
            authorizations::demarche,
            authorizations::expires_at,
            mandates::duration_days,
            organisations::id,
            organisations::name,
            organisations::departement,
        ))
        .order((organisations::id, authorizations::expires_at))
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut reminded: BTreeSet<(String, i32)> = BTreeSet::new();
    for chunk in ids.chunks(500) {
        let done: Vec<(String, i32)> = expiry_reminders::table
            .filter(expiry_reminders::authorization_id.eq_any(chunk))
            .select((
                expiry_reminders::authorization_id,
                expiry_reminders::threshold_days,
            ))
            .load(conn)?;
        reminded.extend(done);
    }

    let mut by_structure: BTreeMap<String, Due> = BTreeMap::new();
    for (id, demarche, expires_at, duration_days, org, name, departement) in rows {
        let expires_at = from_db(expires_at);
        let crossed: Vec<i32> = thresholds
            .iter()
            .copied()
            .filter(|&n| duration_days > n)
            .filter(|&n| expires_at <= now.saturating_add(Duration::days(i64::from(n))))
            .filter(|&n| !reminded.contains(&(id.clone(), n)))
            .collect();
        let Some(&smallest) = crossed.iter().min() else {
            continue;
        };
        by_structure
            .entry(org.clone())
            .or_insert_with(|| Due {
                organisation: OrganisationId::new(org),
                organisation_name: name,
                departement,
                items: Vec::new(),
                recipients: Vec::new(),
            })
            .items
            .push(DueItem {
                authorization: AuthorizationId::new(id),
                demarche,
                expires_at,
                threshold_days: smallest,
                thresholds: crossed,
            });
    }
    for due in by_structure.values_mut() {
        let recipients: Vec<(String, String, String)> = aidants::table
            .inner_join(aidant_organisations::table)
            .filter(aidant_organisations::organisation_id.eq(due.organisation.as_str()))
            .filter(aidants::is_active.eq(true))
            .filter(aidants::can_create_mandates.eq(true))
            .order(aidants::id)
            .select((aidants::id, aidants::email, aidants::first_name))
            .load(conn)?;
        due.recipients = recipients
            .into_iter()
            .map(|(aidant, email, first_name)| Recipient {
                aidant: AidantId::new(aidant),
                email,
                first_name,
            })
            .collect();
    }
    Ok(by_structure.into_values().collect())
}

/// Records a structure's reminders and queues `messages` (rendered from `due`), in one
/// transaction. `false`, with nothing written, when any of them was recorded meanwhile (by
/// another node).
pub fn record(
    conn: &mut DbConnection,
    due: &Due,
    messages: &[NewMail<'_>],
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    write(conn, |tx| {
        // Two nodes recording the same structure wait for each other here (SQLite's write
        // transactions are serialised already).
        if let DbConnection::Pg(pg) = tx {
            diesel::sql_query("SELECT id FROM organisations WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Text, _>(due.organisation.as_str())
                .execute(pg)?;
        }
        for item in &due.items {
            let seen: i64 = expiry_reminders::table
                .filter(expiry_reminders::authorization_id.eq(item.authorization.as_str()))
                .filter(expiry_reminders::threshold_days.eq_any(&item.thresholds))
                .count()
                .get_result(tx)?;
            if seen > 0 {
                return Ok(false);
            }
        }
        for item in &due.items {
            for &threshold in &item.thresholds {
                diesel::insert_into(expiry_reminders::table)
                    .values((
                        expiry_reminders::authorization_id.eq(item.authorization.as_str()),
                        expiry_reminders::threshold_days.eq(threshold),
                        expiry_reminders::reminded_at.eq(to_db(now)),
                    ))
                    .execute(tx)?;
            }
        }
        for message in messages {
            outbox::enqueue(tx, message, now)?;
        }
        Ok(true)
    })
}

/// How many people of a structure have an authorization in force that ends within `window`
/// of `now`: the count the aidant's home page shows ("Expire bientôt" in the usagers list).
pub fn people_expiring_soon(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    window: Duration,
    now: OffsetDateTime,
) -> Result<i64, StorageError> {
    Ok(authorizations::table
        .filter(authorizations::organisation_id.eq(organisation.as_str()))
        .filter(authorizations::revoked_at.is_null())
        .filter(authorizations::expires_at.gt(to_db(now)))
        .filter(authorizations::expires_at.le(to_db(now.saturating_add(window))))
        .select(diesel::dsl::count(authorizations::usager_id).aggregate_distinct())
        .first(conn)?)
}
