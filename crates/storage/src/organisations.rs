//! Partner structures and their allowed démarches.

use ac_mandates::{Demarche, Organisation, OrganisationId};
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

use crate::error::{StorageError, corrupt};
use crate::journal::{self, AuditContext, Event};
use crate::schema::{organisation_demarches, organisations};
use crate::{DbConnection, to_db, write};
use ac_audit::Action;

#[derive(Queryable, Selectable)]
#[diesel(table_name = organisations)]
struct OrganisationRow {
    id: String,
    name: String,
    kind: String,
    address: String,
    departement: String,
    siret: String,
    is_active: bool,
    renewal_requires_identification: bool,
}

impl OrganisationRow {
    fn into_domain(
        self,
        allowed_demarches: BTreeSet<Demarche>,
    ) -> Result<Organisation, StorageError> {
        Ok(Organisation {
            id: OrganisationId::new(self.id),
            name: self.name,
            kind: self.kind.parse().map_err(corrupt("organisations.kind"))?,
            address: self.address,
            departement: self
                .departement
                .parse()
                .map_err(corrupt("organisations.departement"))?,
            siret: self.siret.parse().map_err(corrupt("organisations.siret"))?,
            allowed_demarches,
            is_active: self.is_active,
            renewal_requires_identification: self.renewal_requires_identification,
        })
    }
}

fn parse_demarche(key: &str) -> Result<Demarche, StorageError> {
    key.parse().map_err(corrupt("demarche"))
}

/// Inserts a structure with its allowed démarches, in one transaction.
pub fn insert(
    conn: &mut DbConnection,
    organisation: &Organisation,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        diesel::insert_into(organisations::table)
            .values((
                organisations::id.eq(organisation.id.as_str()),
                organisations::name.eq(&organisation.name),
                organisations::kind.eq(organisation.kind.key()),
                organisations::address.eq(&organisation.address),
                organisations::departement.eq(organisation.departement.as_str()),
                organisations::siret.eq(organisation.siret.as_str()),
                organisations::is_active.eq(organisation.is_active),
                organisations::created_at.eq(to_db(now)),
                organisations::renewal_requires_identification
                    .eq(organisation.renewal_requires_identification),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        insert_demarches(tx, &organisation.id, &organisation.allowed_demarches)?;
        journal::record(
            tx,
            context,
            Event::new(Action::OrganisationCreated)
                .organisation(&organisation.id)
                .target(&organisation.id)
                .detail("kind", organisation.kind)
                .detail("departement", &organisation.departement)
                .detail("demarches", demarche_list(&organisation.allowed_demarches)),
            now,
        )
    })
}

fn demarche_list(demarches: &BTreeSet<Demarche>) -> String {
    demarches
        .iter()
        .map(|d| d.key())
        .collect::<Vec<_>>()
        .join(",")
}

fn insert_demarches(
    tx: &mut DbConnection,
    id: &OrganisationId,
    demarches: &BTreeSet<Demarche>,
) -> Result<(), StorageError> {
    // One statement per row: batch inserts are outside MultiConnection's common subset.
    for demarche in demarches {
        diesel::insert_into(organisation_demarches::table)
            .values((
                organisation_demarches::organisation_id.eq(id.as_str()),
                organisation_demarches::demarche.eq(demarche.key()),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
    }
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &OrganisationId) -> Result<Organisation, StorageError> {
    let row: OrganisationRow = organisations::table
        .find(id.as_str())
        .select(OrganisationRow::as_select())
        .first(conn)
        .map_err(StorageError::from_query)?;
    let allowed = organisation_demarches::table
        .filter(organisation_demarches::organisation_id.eq(id.as_str()))
        .select(organisation_demarches::demarche)
        .load::<String>(conn)?
        .iter()
        .map(|k| parse_demarche(k))
        .collect::<Result<_, _>>()?;
    row.into_domain(allowed)
}

/// Every structure, ordered by département then name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Organisation>, StorageError> {
    let rows: Vec<OrganisationRow> = organisations::table
        .order((organisations::departement, organisations::name))
        .select(OrganisationRow::as_select())
        .load(conn)?;
    let mut allowed: BTreeMap<String, BTreeSet<Demarche>> = BTreeMap::new();
    for (org, key) in organisation_demarches::table
        .select((
            organisation_demarches::organisation_id,
            organisation_demarches::demarche,
        ))
        .load::<(String, String)>(conn)?
    {
        allowed
            .entry(org)
            .or_default()
            .insert(parse_demarche(&key)?);
    }
    rows.into_iter()
        .map(|row| {
            let set = allowed.remove(&row.id).unwrap_or_default();
            row.into_domain(set)
        })
        .collect()
}

/// Replaces the structure's allowed démarches. Existing authorizations stay on record, but
/// `can_act` refuses a démarche the structure no longer allows.
pub fn set_allowed_demarches(
    conn: &mut DbConnection,
    id: &OrganisationId,
    demarches: &BTreeSet<Demarche>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let exists = organisations::table
            .find(id.as_str())
            .count()
            .get_result::<i64>(tx)?;
        if exists == 0 {
            return Err(StorageError::NotFound);
        }
        diesel::delete(
            organisation_demarches::table
                .filter(organisation_demarches::organisation_id.eq(id.as_str())),
        )
        .execute(tx)?;
        insert_demarches(tx, id, demarches)?;
        journal::record(
            tx,
            context,
            Event::new(Action::OrganisationAllowedDemarchesChanged)
                .organisation(id)
                .target(id)
                .detail("demarches", demarche_list(demarches)),
            now,
        )
    })
}

/// Sets whether renewing a mandate asks the aidé to identify again through FranceConnect.
pub fn set_renewal_requires_identification(
    conn: &mut DbConnection,
    id: &OrganisationId,
    required: bool,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let updated = diesel::update(organisations::table.find(id.as_str()))
            .set(organisations::renewal_requires_identification.eq(required))
            .execute(tx)?;
        if updated == 0 {
            return Err(StorageError::NotFound);
        }
        journal::record(
            tx,
            context,
            Event::new(Action::OrganisationUpdated)
                .organisation(id)
                .target(id)
                .detail("renewal_requires_identification", required),
            now,
        )
    })
}
