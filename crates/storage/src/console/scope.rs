//! What an account may see, and the record of a refused attempt to see more.

use ac_audit::Action;
use ac_mandates::{Aidant, AidantId, CoordinatorScope, Organisation, OrganisationId};
use diesel::prelude::*;
use std::collections::BTreeSet;
use time::{Date, OffsetDateTime};

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::{aidant_organisations, mandates, organisations, usagers};
use crate::{DbConnection, organisations as organisation_records, write};

/// The structures one console may show. Always derived from the account's stored roles (the
/// session reloads them at every request), never from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every structure: national coordination.
    All,
    /// These structures only: a référent's structure, a département's, a list.
    Organisations(BTreeSet<OrganisationId>),
}

/// A request reached for something outside the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfScope {
    /// What kind of thing was asked for: `structure`, `aidant`, `usager`, `entry`…
    pub resource: &'static str,
    /// The id asked for, as [`safe_target`] keeps it.
    pub target: String,
}

impl OutOfScope {
    pub fn new(resource: &'static str, requested: &str) -> Self {
        Self {
            resource,
            target: safe_target(requested),
        }
    }
}

/// Keeps a requested id for the journal only if it looks like an id (so a name typed into a URL
/// never reaches the journal); anything else becomes `invalid`.
pub fn safe_target(requested: &str) -> String {
    let plausible = !requested.is_empty()
        && requested.len() <= 64
        && requested
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if plausible {
        requested.to_owned()
    } else {
        "invalid".to_owned()
    }
}

impl Scope {
    /// The référent scope on one structure, if the account is its référent.
    pub fn referent(aidant: &Aidant, organisation: &OrganisationId) -> Option<Scope> {
        aidant
            .referent_of
            .contains(organisation)
            .then(|| Scope::Organisations(BTreeSet::from([organisation.clone()])))
    }

    /// The coordination scope of an account: the union of its coordinator scopes, départements
    /// resolved to their structures now (a structure opened later joins at the next request).
    /// `None` for an account that coordinates nothing.
    pub fn coordinator(
        conn: &mut DbConnection,
        aidant: &Aidant,
    ) -> Result<Option<Scope>, StorageError> {
        if aidant.coordinator_scopes.is_empty() {
            return Ok(None);
        }
        if aidant
            .coordinator_scopes
            .contains(&CoordinatorScope::National)
        {
            return Ok(Some(Scope::All));
        }
        let mut set = BTreeSet::new();
        let mut departements = Vec::new();
        for scope in &aidant.coordinator_scopes {
            match scope {
                CoordinatorScope::National => {}
                CoordinatorScope::Departement(d) => departements.push(d.as_str().to_owned()),
                CoordinatorScope::Organisation(o) => {
                    set.insert(o.clone());
                }
            }
        }
        if !departements.is_empty() {
            let ids: Vec<String> = organisations::table
                .filter(organisations::departement.eq_any(&departements))
                .select(organisations::id)
                .load(conn)?;
            set.extend(ids.into_iter().map(OrganisationId::new));
        }
        Ok(Some(Scope::Organisations(set)))
    }

    pub fn contains(&self, organisation: &OrganisationId) -> bool {
        match self {
            Scope::All => true,
            Scope::Organisations(set) => set.contains(organisation),
        }
    }

    /// The structure ids as text, `None` meaning every structure.
    pub(crate) fn ids(&self) -> Option<Vec<String>> {
        match self {
            Scope::All => None,
            Scope::Organisations(set) => Some(set.iter().map(|o| o.as_str().to_owned()).collect()),
        }
    }

    /// The structures in scope, ordered by département then name.
    pub fn organisations(
        &self,
        conn: &mut DbConnection,
    ) -> Result<Vec<Organisation>, StorageError> {
        Ok(organisation_records::list(conn)?
            .into_iter()
            .filter(|o| self.contains(&o.id))
            .collect())
    }

    /// Refuses a structure outside the scope (or unknown).
    pub fn check_organisation(&self, organisation: &OrganisationId) -> Result<(), OutOfScope> {
        if self.contains(organisation) {
            Ok(())
        } else {
            Err(OutOfScope::new("structure", organisation.as_str()))
        }
    }

    /// Whether the aidant works (or worked: memberships are kept) for a structure in scope.
    pub fn check_aidant(
        &self,
        conn: &mut DbConnection,
        aidant: &AidantId,
    ) -> Result<Result<(), OutOfScope>, StorageError> {
        let mut query = aidant_organisations::table
            .filter(aidant_organisations::aidant_id.eq(aidant.as_str()))
            .select(aidant_organisations::organisation_id)
            .into_boxed();
        if let Some(ids) = self.ids() {
            query = query.filter(aidant_organisations::organisation_id.eq_any(ids));
        }
        let found = query.first::<String>(conn).optional()?;
        Ok(found
            .map(drop)
            .ok_or_else(|| OutOfScope::new("aidant", aidant.as_str())))
    }

    /// The person behind a pseudonym, if a structure in scope holds or held a mandate for them.
    pub fn check_usager(
        &self,
        conn: &mut DbConnection,
        subject: &str,
    ) -> Result<Result<UsagerMatch, OutOfScope>, StorageError> {
        let found = self.usagers_where(conn, UsagerKey::Subject(subject))?;
        Ok(found
            .into_iter()
            .next()
            .ok_or_else(|| OutOfScope::new("usager", subject)))
    }

    /// The people with this birth name (any case) for whom a structure in scope holds or held a
    /// mandate: the name is resolved on the server, and only inside the scope, so a search never
    /// tells whether someone is known elsewhere.
    pub fn find_usagers(
        &self,
        conn: &mut DbConnection,
        family_name: &str,
    ) -> Result<Vec<UsagerMatch>, StorageError> {
        let wanted = family_name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        if wanted.is_empty() || wanted.len() > 200 {
            return Ok(Vec::new());
        }
        self.usagers_where(conn, UsagerKey::FamilyName(&wanted))
    }

    fn usagers_where(
        &self,
        conn: &mut DbConnection,
        key: UsagerKey<'_>,
    ) -> Result<Vec<UsagerMatch>, StorageError> {
        // Two short queries rather than a subquery: the candidates (a name has few holders),
        // then those with a mandate in scope.
        let mut query = usagers::table
            .select((
                usagers::id,
                usagers::subject,
                usagers::given_name,
                usagers::family_name,
                usagers::birthdate,
            ))
            .order((
                usagers::family_name,
                usagers::given_name,
                usagers::birthdate,
            ))
            .limit(200)
            .into_boxed();
        query = match key {
            UsagerKey::Subject(s) => query.filter(usagers::subject.eq(s.to_owned())),
            UsagerKey::FamilyName(n) => query.filter(usagers::family_name.eq(n.to_owned())),
        };
        let candidates: Vec<(String, String, String, String, Date)> = query.load(conn)?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = candidates.iter().map(|c| c.0.as_str()).collect();
        let mut with_mandate = mandates::table
            .filter(mandates::usager_id.eq_any(ids))
            .select(mandates::usager_id)
            .distinct()
            .into_boxed();
        if let Some(scope) = self.ids() {
            with_mandate = with_mandate.filter(mandates::organisation_id.eq_any(scope));
        }
        let in_scope: BTreeSet<String> = with_mandate.load::<String>(conn)?.into_iter().collect();
        Ok(candidates
            .into_iter()
            .filter(|c| in_scope.contains(&c.0))
            .take(50)
            .map(
                |(_, subject, given_name, family_name, birthdate)| UsagerMatch {
                    subject,
                    given_name,
                    family_name,
                    birthdate,
                },
            )
            .collect())
    }
}

enum UsagerKey<'a> {
    Subject(&'a str),
    FamilyName(&'a str),
}

/// A person found in scope: enough to tell homonyms apart, and their pseudonym for the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagerMatch {
    pub subject: String,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: Date,
}

/// A refused access, for the journal.
#[derive(Debug, Clone)]
pub struct Denial<'a> {
    pub out_of_scope: &'a OutOfScope,
    /// The structure the attempt aimed at, when it named one.
    pub requested: Option<&'a OrganisationId>,
    /// The actor's current structure. The entry is filed under the requested structure if it
    /// exists, else under this one, so it shows in a journal someone in charge reads.
    pub actor_organisation: &'a OrganisationId,
    /// The page or export that was asked for (a fixed route label, never the URL).
    pub page: &'static str,
}

/// Journals a refused access (`access.denied`) in its own transaction.
pub fn deny(
    conn: &mut DbConnection,
    denial: &Denial<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    let organisation = match denial.requested {
        Some(o) if organisation_records::get(conn, o).is_ok() => o,
        _ => denial.actor_organisation,
    };
    write(conn, |tx| {
        let event = Event::new(Action::AccessDenied)
            .organisation(organisation)
            .target(&denial.out_of_scope.target)
            .detail("reason", "out_of_scope")
            .detail("resource", denial.out_of_scope.resource)
            .detail("page", denial.page);
        journal::record(tx, context, event, now)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_id_shaped_targets_reach_the_journal() {
        assert_eq!(safe_target("3f2a-bc_9.x"), "3f2a-bc_9.x");
        for bad in ["", "Jean Dupont", "a/b", "é", &"x".repeat(65)] {
            assert_eq!(safe_target(bad), "invalid", "{bad}");
        }
    }
}

/// Display names for ids met in journal entries of a scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    pub aidants: std::collections::BTreeMap<String, String>,
    pub organisations: std::collections::BTreeMap<String, String>,
    /// Structure id -> its département, for the local time of its entries.
    pub departements: std::collections::BTreeMap<String, String>,
    /// Pseudonym -> "Prénom NOM".
    pub usagers: std::collections::BTreeMap<String, String>,
}

impl Names {
    /// An aidant's name, else their id.
    pub fn aidant_or_id(&self, id: &str) -> String {
        self.aidants
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    /// A structure's name, else its id.
    pub fn organisation_or_id(&self, id: &str) -> String {
        self.organisations
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }
}

/// Resolves the names behind the ids of entries already shown to the reader: the entries are in
/// scope, so are the people they name.
pub fn names<'a>(
    conn: &mut DbConnection,
    aidant_ids: impl IntoIterator<Item = &'a str>,
    usager_subjects: impl IntoIterator<Item = &'a str>,
) -> Result<Names, StorageError> {
    use crate::schema::aidants;
    let aidant_ids: BTreeSet<&str> = aidant_ids.into_iter().collect();
    let subjects: BTreeSet<&str> = usager_subjects.into_iter().collect();
    let mut names = Names::default();
    if !aidant_ids.is_empty() {
        let rows: Vec<(String, String, String)> = aidants::table
            .filter(aidants::id.eq_any(aidant_ids))
            .select((aidants::id, aidants::first_name, aidants::last_name))
            .load(conn)?;
        names.aidants = rows
            .into_iter()
            .map(|(id, first, last)| (id, format!("{first} {last}")))
            .collect();
    }
    if !subjects.is_empty() {
        let rows: Vec<(String, String, String)> = usagers::table
            .filter(usagers::subject.eq_any(subjects))
            .select((usagers::subject, usagers::given_name, usagers::family_name))
            .load(conn)?;
        names.usagers = rows
            .into_iter()
            .map(|(s, given, family)| (s, format!("{given} {family}")))
            .collect();
    }
    for (id, name, departement) in organisations::table
        .select((
            organisations::id,
            organisations::name,
            organisations::departement,
        ))
        .load::<(String, String, String)>(conn)?
    {
        names.departements.insert(id.clone(), departement);
        names.organisations.insert(id, name);
    }
    Ok(names)
}

impl Scope {
    /// The aidants who work for a structure of the scope, as (id, "Prénom Nom"), by name; at
    /// most `limit` (a picker, not a directory).
    pub fn aidants(
        &self,
        conn: &mut DbConnection,
        limit: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        use crate::schema::aidants;
        let mut query = aidants::table
            .inner_join(aidant_organisations::table)
            .select((aidants::id, aidants::first_name, aidants::last_name))
            .distinct()
            .order((aidants::last_name, aidants::first_name, aidants::id))
            .limit(limit)
            .into_boxed();
        if let Some(ids) = self.ids() {
            query = query.filter(aidant_organisations::organisation_id.eq_any(ids));
        }
        Ok(query
            .load::<(String, String, String)>(conn)?
            .into_iter()
            .map(|(id, first, last)| (id, format!("{first} {last}")))
            .collect())
    }
}
