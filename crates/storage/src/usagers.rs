//! Usagers, keyed by their pseudonymous subject.

use ac_mandates::{PivotIdentity, Usager, UsagerId};
use diesel::prelude::*;
use time::{Date, OffsetDateTime};

use crate::error::{StorageError, corrupt};
use crate::journal::{self, AuditContext, Event};
use crate::schema::usagers;
use crate::{DbConnection, new_id, to_db, write};
use ac_audit::Action;

#[derive(Queryable, Selectable)]
#[diesel(table_name = usagers)]
pub(crate) struct UsagerRow {
    id: String,
    subject: String,
    given_name: String,
    family_name: String,
    birthdate: Date,
    gender: String,
    birthplace: Option<String>,
    birthcountry: String,
    email: Option<String>,
    preferred_username: Option<String>,
}

impl UsagerRow {
    pub(crate) fn into_domain(self) -> Result<Usager, StorageError> {
        Ok(Usager {
            id: UsagerId::new(self.id),
            subject: self.subject,
            identity: PivotIdentity {
                given_name: self.given_name,
                family_name: self.family_name,
                birthdate: self.birthdate,
                gender: self.gender.parse().map_err(corrupt("usagers.gender"))?,
                birthplace: self.birthplace,
                birthcountry: self.birthcountry,
                email: self
                    .email
                    .map(|e| e.parse())
                    .transpose()
                    .map_err(corrupt("usagers.email"))?,
                preferred_username: self.preferred_username,
            },
        })
    }
}

/// What identifying a person did to their record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityChange {
    Created,
    Updated,
    Unchanged,
}

pub fn get(conn: &mut DbConnection, id: &UsagerId) -> Result<Usager, StorageError> {
    usagers::table
        .find(id.as_str())
        .select(UsagerRow::as_select())
        .first(conn)
        .map_err(StorageError::from_query)?
        .into_domain()
}

/// A usager's pseudonym alone (what journal entries name).
pub fn subject(conn: &mut DbConnection, id: &UsagerId) -> Result<Option<String>, StorageError> {
    Ok(usagers::table
        .find(id.as_str())
        .select(usagers::subject)
        .first(conn)
        .optional()?)
}

pub fn find_by_subject(
    conn: &mut DbConnection,
    subject: &str,
) -> Result<Option<Usager>, StorageError> {
    usagers::table
        .filter(usagers::subject.eq(subject))
        .select(UsagerRow::as_select())
        .first(conn)
        .optional()?
        .map(UsagerRow::into_domain)
        .transpose()
}

/// The identity claims as columns, written on creation and on refresh. `None` clears a column:
/// a claim the provider stopped sending is not kept.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = usagers, treat_none_as_null = true)]
struct IdentityColumns<'a> {
    given_name: &'a str,
    family_name: &'a str,
    birthdate: Date,
    gender: &'static str,
    birthplace: Option<&'a str>,
    birthcountry: &'a str,
    email: Option<&'a str>,
    preferred_username: Option<&'a str>,
}

fn identity_columns(identity: &PivotIdentity) -> IdentityColumns<'_> {
    IdentityColumns {
        given_name: &identity.given_name,
        family_name: &identity.family_name,
        birthdate: identity.birthdate,
        gender: identity.gender.key(),
        birthplace: identity.birthplace.as_deref(),
        birthcountry: &identity.birthcountry,
        email: identity.email.as_ref().map(|e| e.as_str()),
        preferred_username: identity.preferred_username.as_deref(),
    }
}

fn changed_fields(before: &PivotIdentity, after: &PivotIdentity) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut check = |name, changed: bool| {
        if changed {
            fields.push(name);
        }
    };
    check("given_name", before.given_name != after.given_name);
    check("family_name", before.family_name != after.family_name);
    check("birthdate", before.birthdate != after.birthdate);
    check("gender", before.gender != after.gender);
    check("birthplace", before.birthplace != after.birthplace);
    check("birthcountry", before.birthcountry != after.birthcountry);
    check("email", before.email != after.email);
    check(
        "preferred_username",
        before.preferred_username != after.preferred_username,
    );
    fields
}

/// Creates the usager on first identification, or refreshes their identity from the provider.
pub fn upsert_identified(
    conn: &mut DbConnection,
    subject: &str,
    identity: &PivotIdentity,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(Usager, IdentityChange), StorageError> {
    identity.validate()?;
    write(conn, |tx| {
        let existing = find_by_subject(tx, subject)?;
        let change = match &existing {
            None => {
                diesel::insert_into(usagers::table)
                    .values((
                        usagers::id.eq(new_id()),
                        usagers::subject.eq(subject),
                        identity_columns(identity),
                        usagers::created_at.eq(to_db(now)),
                        usagers::updated_at.eq(to_db(now)),
                    ))
                    .execute(tx)
                    .map_err(StorageError::from_query)?;
                IdentityChange::Created
            }
            Some(usager) if usager.identity == *identity => IdentityChange::Unchanged,
            Some(usager) => {
                diesel::update(usagers::table.find(usager.id.as_str()))
                    .set((
                        identity_columns(identity),
                        usagers::updated_at.eq(to_db(now)),
                    ))
                    .execute(tx)?;
                IdentityChange::Updated
            }
        };
        let usager = find_by_subject(tx, subject)?.ok_or(StorageError::NotFound)?;
        let identified = Event::new(Action::UsagerIdentified)
            .usager(subject)
            .target(&usager.id);
        journal::record(
            tx,
            context,
            identified.detail("first_time", change == IdentityChange::Created),
            now,
        )?;
        if let (IdentityChange::Updated, Some(before)) = (change, &existing) {
            // Which claims changed, never their values.
            let updated = Event::new(Action::UsagerIdentityUpdated)
                .usager(subject)
                .target(&usager.id)
                .detail(
                    "fields",
                    changed_fields(&before.identity, identity).join(","),
                );
            journal::record(tx, context, updated, now)?;
        }
        Ok((usager, change))
    })
}

/// Deletes a person's identity when nothing refers to it any more (no mandate, no consent in
/// progress, no delegated-use code), journaled under their pseudonym only with `reason`
/// (`retention`: past its period; `consent_refused`: fetched for a mandate the person refused).
/// Runs inside the caller's transaction; `false` when the identity is still in use.
pub(crate) fn forget_if_unused(
    tx: &mut DbConnection,
    usager_id: &str,
    subject: &str,
    context: &AuditContext,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    use crate::schema::{mandate_consents, mandates, oidc_authorization_codes, remote_consents};
    let still_used = diesel::select(
        diesel::dsl::exists(mandates::table.filter(mandates::usager_id.eq(usager_id)))
            .or(diesel::dsl::exists(
                mandate_consents::table.filter(mandate_consents::usager_id.eq(usager_id)),
            ))
            .or(diesel::dsl::exists(
                oidc_authorization_codes::table
                    .filter(oidc_authorization_codes::usager_id.eq(usager_id)),
            ))
            .or(diesel::dsl::exists(
                remote_consents::table.filter(remote_consents::usager_id.eq(usager_id)),
            )),
    )
    .get_result::<bool>(tx)?;
    if still_used {
        return Ok(false);
    }
    diesel::delete(usagers::table.find(usager_id)).execute(tx)?;
    journal::record(
        tx,
        context,
        Event::new(Action::UsagerDeleted)
            .usager(subject)
            .detail("reason", reason),
        now,
    )?;
    Ok(true)
}
