//! The coordinators' dashboard: mandates by status, delegated uses by démarche and by week,
//! active aidants, per structure and overall. Every figure is computed in SQL over the scope.

use ac_mandates::{Demarche, OrganisationId};
use diesel::dsl::{count, count_star, exists, not};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime};

use super::USE_ACTION;
use crate::error::StorageError;
use crate::schema::{aidant_organisations, aidants, audit_log, authorizations, mandates};
use crate::{DbConnection, to_db};

/// Figures of one structure, or of the whole scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Mandates ever created.
    pub mandates_created: i64,
    /// At least one démarche not revoked, not expired (docs/domain.md).
    pub mandates_active: i64,
    /// Past their end, not wholly revoked before it.
    pub mandates_expired: i64,
    /// Every démarche revoked (or superseded) before the end.
    pub mandates_revoked: i64,
    /// Active accounts of the structure that may act for usagers.
    pub active_aidants: i64,
    /// Aidants who used a mandate during the period.
    pub aidants_who_acted: i64,
    /// Delegated uses during the period.
    pub uses: i64,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.mandates_created += other.mandates_created;
        self.mandates_active += other.mandates_active;
        self.mandates_expired += other.mandates_expired;
        self.mandates_revoked += other.mandates_revoked;
        self.active_aidants += other.active_aidants;
        self.aidants_who_acted += other.aidants_who_acted;
        self.uses += other.uses;
    }
}

/// The dashboard of a scope (or of one structure of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// Start of the period of the use figures: the Monday, 00:00 UTC, `weeks` weeks back.
    pub since: OffsetDateTime,
    pub per_structure: Vec<(OrganisationId, Figures)>,
    pub total: Figures,
    /// Uses per démarche over the period, every démarche listed (zeros included), catalogue order.
    pub uses_by_demarche: Vec<(Demarche, i64)>,
    /// Uses per ISO week (Monday, UTC) over the period, oldest first, every week listed.
    pub uses_by_week: Vec<(Date, i64)>,
}

fn monday_of(date: Date) -> Date {
    date - Duration::days(i64::from(date.weekday().number_days_from_monday()))
}

/// Computes the dashboard of `structures` (the scope's, or one of them) at `now`, with use
/// figures over the last `weeks` weeks (the current one included).
pub fn dashboard(
    conn: &mut DbConnection,
    structures: &[OrganisationId],
    now: OffsetDateTime,
    weeks: u32,
) -> Result<Dashboard, StorageError> {
    let ids: Vec<String> = structures.iter().map(|o| o.as_str().to_owned()).collect();
    let first_week = monday_of(now.date()) - Duration::weeks(i64::from(weeks.max(1)) - 1);
    let since = first_week.midnight().assume_utc();
    let now_db = to_db(now);

    let created: Vec<(String, i64)> = mandates::table
        .filter(mandates::organisation_id.eq_any(&ids))
        .group_by(mandates::organisation_id)
        .select((mandates::organisation_id, count_star()))
        .load(conn)?;
    // An authorization still counts for its mandate unless it was revoked by now and before
    // the mandate's end (`Mandate::status_at`).
    let live = authorizations::table
        .filter(authorizations::mandate_id.eq(mandates::id))
        .filter(
            authorizations::revoked_at
                .is_null()
                .or(authorizations::revoked_at.gt(now_db))
                .or(authorizations::revoked_at.ge(authorizations::expires_at.nullable())),
        );
    let any = authorizations::table.filter(authorizations::mandate_id.eq(mandates::id));
    let revoked: Vec<(String, i64)> = mandates::table
        .filter(mandates::organisation_id.eq_any(&ids))
        .filter(exists(any))
        .filter(not(exists(live)))
        .group_by(mandates::organisation_id)
        .select((mandates::organisation_id, count_star()))
        .load(conn)?;
    let expired: Vec<(String, i64)> = mandates::table
        .filter(mandates::organisation_id.eq_any(&ids))
        .filter(mandates::expires_at.le(now_db))
        .filter(exists(live))
        .group_by(mandates::organisation_id)
        .select((mandates::organisation_id, count_star()))
        .load(conn)?;
    let active_aidants: Vec<(String, i64)> = aidant_organisations::table
        .inner_join(aidants::table)
        .filter(aidant_organisations::organisation_id.eq_any(&ids))
        .filter(aidants::is_active.eq(true))
        .filter(aidants::can_create_mandates.eq(true))
        .group_by(aidant_organisations::organisation_id)
        .select((aidant_organisations::organisation_id, count_star()))
        .load(conn)?;
    let acted: Vec<(Option<String>, i64)> = audit_log::table
        .filter(audit_log::action.eq(USE_ACTION.as_str()))
        .filter(audit_log::organisation_id.eq_any(&ids))
        .filter(audit_log::at.ge(to_db(since)))
        .group_by(audit_log::organisation_id)
        .select((
            audit_log::organisation_id,
            count(audit_log::actor_id).aggregate_distinct(),
        ))
        .load(conn)?;
    let buckets = use_buckets(conn, &ids, since)?;

    let mut per: BTreeMap<String, Figures> = ids
        .iter()
        .map(|id| (id.clone(), Figures::default()))
        .collect();
    let mut set = |rows: Vec<(String, i64)>, field: fn(&mut Figures) -> &mut i64| {
        for (org, n) in rows {
            if let Some(f) = per.get_mut(&org) {
                *field(f) = n;
            }
        }
    };
    set(created, |f| &mut f.mandates_created);
    set(revoked, |f| &mut f.mandates_revoked);
    set(expired, |f| &mut f.mandates_expired);
    set(active_aidants, |f| &mut f.active_aidants);
    set(
        acted
            .into_iter()
            .filter_map(|(o, n)| o.map(|o| (o, n)))
            .collect(),
        |f| &mut f.aidants_who_acted,
    );
    let mut by_demarche: BTreeMap<Demarche, i64> = Demarche::ALL.iter().map(|d| (*d, 0)).collect();
    let mut by_week: BTreeMap<Date, i64> = (0..weeks.max(1))
        .map(|w| (first_week + Duration::weeks(i64::from(w)), 0))
        .collect();
    for bucket in buckets {
        if let Some(f) = per.get_mut(&bucket.organisation_id) {
            f.uses += bucket.uses;
        }
        if let Some(d) = bucket.demarche.as_deref().and_then(|d| d.parse().ok()) {
            *by_demarche.entry(d).or_default() += bucket.uses;
        }
        let day = Date::parse(
            &bucket.day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| StorageError::Corrupt(format!("day {}", bucket.day)))?;
        if let Some(n) = by_week.get_mut(&monday_of(day)) {
            *n += bucket.uses;
        }
    }
    for f in per.values_mut() {
        f.mandates_active = f.mandates_created - f.mandates_revoked - f.mandates_expired;
    }
    let mut total = Figures::default();
    let per_structure: Vec<(OrganisationId, Figures)> = structures
        .iter()
        .filter_map(|o| per.remove(o.as_str()).map(|f| (o.clone(), f)))
        .collect();
    for (_, f) in &per_structure {
        total.add(f);
    }
    Ok(Dashboard {
        since,
        per_structure,
        total,
        uses_by_demarche: by_demarche.into_iter().collect(),
        uses_by_week: by_week.into_iter().collect(),
    })
}

#[derive(QueryableByName)]
struct UseBucket {
    #[diesel(sql_type = Text)]
    organisation_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    demarche: Option<String>,
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = BigInt)]
    uses: i64,
}

/// Uses per (structure, démarche, UTC day) since `since`. The day expression differs between
/// the engines, so this one query is written for each.
fn use_buckets(
    conn: &mut DbConnection,
    ids: &[String],
    since: OffsetDateTime,
) -> Result<Vec<UseBucket>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let since = to_db(since);
    let query = |day: &str, placeholder: &dyn Fn(usize) -> String| {
        let list: Vec<String> = (0..ids.len()).map(|i| placeholder(i + 3)).collect();
        format!(
            "SELECT organisation_id, demarche, {day} AS day, COUNT(*) AS uses FROM audit_log \
             WHERE action = {} AND at >= {} AND organisation_id IN ({}) \
             GROUP BY organisation_id, demarche, {day}",
            placeholder(1),
            placeholder(2),
            list.join(", ")
        )
    };
    Ok(match conn {
        DbConnection::Sqlite(c) => {
            let sql = query("substr(at, 1, 10)", &|_| "?".to_owned());
            let mut q = diesel::sql_query(sql)
                .into_boxed::<diesel::sqlite::Sqlite>()
                .bind::<Text, _>(USE_ACTION.as_str())
                .bind::<Timestamp, _>(since);
            for id in ids {
                q = q.bind::<Text, _>(id.as_str());
            }
            q.load(c)?
        }
        DbConnection::Pg(c) => {
            let sql = query("to_char(at, 'YYYY-MM-DD')", &|i| format!("${i}"));
            let mut q = diesel::sql_query(sql)
                .into_boxed::<diesel::pg::Pg>()
                .bind::<Text, _>(USE_ACTION.as_str())
                .bind::<Timestamp, _>(since);
            for id in ids {
                q = q.bind::<Text, _>(id.as_str());
            }
            q.load(c)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::monday_of;
    use time::macros::date;

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(monday_of(date!(2026 - 11 - 22)), date!(2026 - 11 - 16));
        assert_eq!(monday_of(date!(2026 - 11 - 16)), date!(2026 - 11 - 16));
        assert_eq!(monday_of(date!(2026 - 11 - 23)), date!(2026 - 11 - 23));
    }
}
