//! Aidant accounts, their memberships, référent roles and coordinator scopes.

use ac_mandates::{Aidant, AidantId, CoordinatorScope, Email, OrganisationId};
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

use crate::error::{StorageError, corrupt};
use crate::journal::{self, AuditContext, Event};
use crate::schema::{aidant_organisations, aidants, coordinator_scopes};
use crate::{DbConnection, new_id, to_db, write};
use ac_audit::Action;

#[derive(Queryable, Selectable)]
#[diesel(table_name = aidants)]
pub(crate) struct AidantRow {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    profession: String,
    current_organisation_id: String,
    can_create_mandates: bool,
    is_active: bool,
}

#[derive(Queryable)]
pub(crate) struct ScopeRow {
    pub(crate) aidant_id: String,
    pub(crate) kind: String,
    pub(crate) departement: Option<String>,
    pub(crate) organisation_id: Option<String>,
}

impl ScopeRow {
    fn into_domain(self) -> Result<CoordinatorScope, StorageError> {
        match (self.kind.as_str(), self.departement, self.organisation_id) {
            ("national", None, None) => Ok(CoordinatorScope::National),
            ("departement", Some(d), None) => Ok(CoordinatorScope::Departement(
                d.parse()
                    .map_err(corrupt("coordinator_scopes.departement"))?,
            )),
            ("organisation", None, Some(o)) => {
                Ok(CoordinatorScope::Organisation(OrganisationId::new(o)))
            }
            _ => Err(StorageError::Corrupt(format!(
                "coordinator_scopes.kind {}",
                self.kind
            ))),
        }
    }
}

/// Memberships and scopes of a set of aidants, keyed by aidant id.
#[derive(Default)]
pub(crate) struct Relations {
    memberships: BTreeMap<String, BTreeSet<OrganisationId>>,
    referent_of: BTreeMap<String, BTreeSet<OrganisationId>>,
    scopes: BTreeMap<String, Vec<CoordinatorScope>>,
}

impl Relations {
    pub(crate) fn add_membership(&mut self, aidant: String, organisation: String, referent: bool) {
        let organisation = OrganisationId::new(organisation);
        if referent {
            self.referent_of
                .entry(aidant.clone())
                .or_default()
                .insert(organisation.clone());
        }
        self.memberships
            .entry(aidant)
            .or_default()
            .insert(organisation);
    }

    pub(crate) fn add_scope(&mut self, scope: ScopeRow) -> Result<(), StorageError> {
        let aidant = scope.aidant_id.clone();
        self.scopes
            .entry(aidant)
            .or_default()
            .push(scope.into_domain()?);
        Ok(())
    }
}

fn load_relations(conn: &mut DbConnection, ids: &[&str]) -> Result<Relations, StorageError> {
    let mut relations = Relations::default();
    let memberships: Vec<(String, String, bool)> = aidant_organisations::table
        .filter(aidant_organisations::aidant_id.eq_any(ids))
        .select((
            aidant_organisations::aidant_id,
            aidant_organisations::organisation_id,
            aidant_organisations::is_referent,
        ))
        .load(conn)?;
    for (aidant, organisation, is_referent) in memberships {
        relations.add_membership(aidant, organisation, is_referent);
    }
    let scopes: Vec<ScopeRow> = coordinator_scopes::table
        .filter(coordinator_scopes::aidant_id.eq_any(ids))
        .select((
            coordinator_scopes::aidant_id,
            coordinator_scopes::kind,
            coordinator_scopes::departement,
            coordinator_scopes::organisation_id,
        ))
        .load(conn)?;
    for scope in scopes {
        relations.add_scope(scope)?;
    }
    Ok(relations)
}

/// Aidants from their rows and relations. Scopes are sorted and deduplicated: a caller that
/// read them joined with the memberships sees each scope once per membership.
pub(crate) fn assemble(
    rows: Vec<AidantRow>,
    mut relations: Relations,
) -> Result<Vec<Aidant>, StorageError> {
    rows.into_iter()
        .map(|row| {
            let mut scopes = relations.scopes.remove(&row.id).unwrap_or_default();
            scopes.sort();
            scopes.dedup();
            Ok(Aidant {
                email: row.email.parse().map_err(corrupt("aidants.email"))?,
                first_name: row.first_name,
                last_name: row.last_name,
                profession: row.profession,
                organisations: relations.memberships.remove(&row.id).unwrap_or_default(),
                current_organisation: OrganisationId::new(row.current_organisation_id),
                can_create_mandates: row.can_create_mandates,
                referent_of: relations.referent_of.remove(&row.id).unwrap_or_default(),
                coordinator_scopes: scopes,
                is_active: row.is_active,
                id: AidantId::new(row.id),
            })
        })
        .collect()
}

fn load(conn: &mut DbConnection, rows: Vec<AidantRow>) -> Result<Vec<Aidant>, StorageError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let relations = load_relations(conn, &ids)?;
    assemble(rows, relations)
}

/// Inserts an account with its memberships (référent flags from `referent_of`) and coordinator
/// scopes, in one transaction. The e-mail must be unused.
pub fn insert(
    conn: &mut DbConnection,
    aidant: &Aidant,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    if aidant.organisations.is_empty() || !aidant.is_member_of(&aidant.current_organisation) {
        return Err(StorageError::Rule(ac_mandates::MandateError::NotAMember));
    }
    write(conn, |tx| {
        diesel::insert_into(aidants::table)
            .values((
                aidants::id.eq(aidant.id.as_str()),
                aidants::email.eq(aidant.email.as_str()),
                aidants::first_name.eq(&aidant.first_name),
                aidants::last_name.eq(&aidant.last_name),
                aidants::profession.eq(&aidant.profession),
                aidants::current_organisation_id.eq(aidant.current_organisation.as_str()),
                aidants::can_create_mandates.eq(aidant.can_create_mandates),
                aidants::is_active.eq(aidant.is_active),
                aidants::created_at.eq(to_db(now)),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        for organisation in &aidant.organisations {
            diesel::insert_into(aidant_organisations::table)
                .values((
                    aidant_organisations::aidant_id.eq(aidant.id.as_str()),
                    aidant_organisations::organisation_id.eq(organisation.as_str()),
                    aidant_organisations::is_referent.eq(aidant.referent_of.contains(organisation)),
                ))
                .execute(tx)
                .map_err(StorageError::from_query)?;
        }
        insert_scopes(tx, &aidant.id, &aidant.coordinator_scopes)?;
        // Ids and roles only: the e-mail and names stay out of the journal.
        let mut event = Event::new(Action::AidantCreated)
            .organisation(&aidant.current_organisation)
            .target(&aidant.id)
            .detail("can_create_mandates", aidant.can_create_mandates)
            .detail("organisations", join(&aidant.organisations));
        if !aidant.referent_of.is_empty() {
            event = event.detail("referent_of", join(&aidant.referent_of));
        }
        if !aidant.coordinator_scopes.is_empty() {
            event = event.detail(
                "coordinator_scopes",
                scope_labels(&aidant.coordinator_scopes),
            );
        }
        journal::record(tx, context, event, now)
    })
}

/// Replaces an account's coordinator scopes (none: it no longer coordinates), journaled as
/// `aidant.updated`. Roles are read with the session at each request, so the change applies
/// from the account's next request. `NotFound` for an unknown id.
pub fn set_coordinator_scopes(
    conn: &mut DbConnection,
    id: &AidantId,
    scopes: &[CoordinatorScope],
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let known: i64 = aidants::table
            .filter(aidants::id.eq(id.as_str()))
            .count()
            .get_result(tx)?;
        if known == 0 {
            return Err(StorageError::NotFound);
        }
        diesel::delete(
            coordinator_scopes::table.filter(coordinator_scopes::aidant_id.eq(id.as_str())),
        )
        .execute(tx)?;
        insert_scopes(tx, id, scopes)?;
        // The journal takes no empty detail: an account without scopes reads "none".
        let labels = if scopes.is_empty() {
            "none".to_owned()
        } else {
            scope_labels(scopes)
        };
        let event = Event::new(Action::AidantUpdated)
            .target(id)
            .detail("coordinator_scopes", labels);
        journal::record(tx, context, event, now)
    })
}

fn insert_scopes(
    tx: &mut DbConnection,
    aidant: &AidantId,
    scopes: &[CoordinatorScope],
) -> Result<(), StorageError> {
    for scope in scopes {
        let (kind, departement, organisation) = match scope {
            CoordinatorScope::National => ("national", None, None),
            CoordinatorScope::Departement(d) => ("departement", Some(d.as_str()), None),
            CoordinatorScope::Organisation(o) => ("organisation", None, Some(o.as_str())),
        };
        diesel::insert_into(coordinator_scopes::table)
            .values((
                coordinator_scopes::id.eq(new_id()),
                coordinator_scopes::aidant_id.eq(aidant.as_str()),
                coordinator_scopes::kind.eq(kind),
                coordinator_scopes::departement.eq(departement),
                coordinator_scopes::organisation_id.eq(organisation),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
    }
    Ok(())
}

fn join(ids: &BTreeSet<OrganisationId>) -> String {
    ids.iter()
        .map(OrganisationId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// The journal's form of a list of scopes: `national,departement:29,organisation:ID`.
fn scope_labels(scopes: &[CoordinatorScope]) -> String {
    scopes
        .iter()
        .map(|scope| match scope {
            CoordinatorScope::National => "national".to_owned(),
            CoordinatorScope::Departement(d) => format!("departement:{d}"),
            CoordinatorScope::Organisation(o) => format!("organisation:{o}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn get(conn: &mut DbConnection, id: &AidantId) -> Result<Aidant, StorageError> {
    let row = aidants::table
        .find(id.as_str())
        .select(AidantRow::as_select())
        .first(conn)
        .map_err(StorageError::from_query)?;
    load(conn, vec![row])?.pop().ok_or(StorageError::NotFound)
}

pub fn find_by_email(
    conn: &mut DbConnection,
    email: &Email,
) -> Result<Option<Aidant>, StorageError> {
    let rows = aidants::table
        .filter(aidants::email.eq(email.as_str()))
        .select(AidantRow::as_select())
        .load(conn)?;
    Ok(load(conn, rows)?.pop())
}

/// Accounts, optionally only those working for one structure, ordered by name.
pub fn list(
    conn: &mut DbConnection,
    organisation: Option<&OrganisationId>,
) -> Result<Vec<Aidant>, StorageError> {
    let mut query = aidants::table
        .select(AidantRow::as_select())
        .order((aidants::last_name, aidants::first_name))
        .into_boxed();
    if let Some(organisation) = organisation {
        query = query.filter(
            aidants::id.eq_any(
                aidant_organisations::table
                    .filter(aidant_organisations::organisation_id.eq(organisation.as_str()))
                    .select(aidant_organisations::aidant_id),
            ),
        );
    }
    let rows = query.load(conn)?;
    load(conn, rows)
}

/// Deactivates an account. Idempotent; `NotFound` for an unknown id.
pub fn deactivate(
    conn: &mut DbConnection,
    id: &AidantId,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    deactivate_in(conn, id, None, context, now)
}

/// [`deactivate`], journaled under the structure whose référent acted, so the entry shows in
/// that structure's journal.
pub fn deactivate_in(
    conn: &mut DbConnection,
    id: &AidantId,
    organisation: Option<&OrganisationId>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let updated = diesel::update(aidants::table.find(id.as_str()))
            .set(aidants::is_active.eq(false))
            .execute(tx)?;
        if updated == 0 {
            return Err(StorageError::NotFound);
        }
        journal::record(
            tx,
            context,
            Event::new(Action::AidantDeactivated)
                .in_organisation(organisation)
                .target(id),
            now,
        )?;
        // A deactivated aidant is signed out everywhere, in the same transaction.
        crate::sessions::end_all_for_aidant(
            tx,
            id,
            crate::sessions::EndReason::AidantDeactivated,
            context,
            now,
        )
        .map(drop)
    })
}
