//! Writing audit entries. Every state-changing operation calls [`record`] inside its own write
//! transaction: if the entry cannot be written, the operation fails with it (no audit, no action).

use ac_audit::{Action, Actor, Entry, canonical_time};
use ac_mandates::{AidantId, Demarche, OrganisationId};
use diesel::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Display;
use time::OffsetDateTime;

use crate::error::StorageError;
use crate::schema::audit_pending;
use crate::{DbConnection, to_db};

/// Who is acting and under which request: the part of an entry that is the same for every
/// entry an operation writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl AuditContext {
    /// The service itself (integrator, scheduled jobs).
    pub fn system() -> Self {
        Self {
            actor: Actor::system(),
            request_id: None,
        }
    }

    /// An administrator at the command line.
    pub fn cli() -> Self {
        Self {
            actor: Actor {
                kind: ac_audit::ActorKind::System,
                id: Some("cli".into()),
            },
            request_id: None,
        }
    }

    pub fn aidant(id: &AidantId, request_id: Option<String>) -> Self {
        Self {
            actor: Actor::aidant(id.as_str()),
            request_id,
        }
    }
}

/// What happened, to what: the part of an entry specific to one event.
#[derive(Debug, Clone)]
pub struct Event {
    action: Action,
    organisation_id: Option<String>,
    usager: Option<String>,
    demarche: Option<String>,
    client_id: Option<String>,
    target: Option<String>,
    details: BTreeMap<String, String>,
}

impl Event {
    pub fn new(action: Action) -> Self {
        Self {
            action,
            organisation_id: None,
            usager: None,
            demarche: None,
            client_id: None,
            target: None,
            details: BTreeMap::new(),
        }
    }

    pub fn organisation(mut self, id: &OrganisationId) -> Self {
        self.organisation_id = Some(id.as_str().to_owned());
        self
    }

    /// The structure the event belongs to, when there is one: an event carries a structure so
    /// that it shows in that structure's journal (référent and coordinator consoles).
    pub fn in_organisation(mut self, id: Option<&OrganisationId>) -> Self {
        if let Some(id) = id {
            self.organisation_id = Some(id.as_str().to_owned());
        }
        self
    }

    /// The usager's keyed pseudonym (`usagers.subject`), never their name.
    pub fn usager(mut self, subject: &str) -> Self {
        self.usager = Some(subject.to_owned());
        self
    }

    pub fn demarche(mut self, demarche: Demarche) -> Self {
        self.demarche = Some(demarche.key().to_owned());
        self
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    pub fn target(mut self, id: impl Display) -> Self {
        self.target = Some(id.to_string());
        self
    }

    /// A non-personal fact: a reason, a duration, an id. Never a name or an address.
    pub fn detail(mut self, key: &str, value: impl Display) -> Self {
        self.details.insert(key.to_owned(), value.to_string());
        self
    }

    fn into_entry(self, context: &AuditContext, at: OffsetDateTime) -> Result<Entry, StorageError> {
        Ok(Entry {
            // The integrator assigns the real position; pending entries all carry 0.
            seq: 0,
            at: canonical_time(at)?,
            action: self.action,
            actor: context.actor.clone(),
            organisation_id: self.organisation_id,
            usager: self.usager,
            demarche: self.demarche,
            client_id: self.client_id,
            target: self.target,
            request_id: context.request_id.clone(),
            details: self.details,
        })
    }
}

/// The pending entry's text (canonical JSON), for a statement that writes it along with the step
/// (`oidc_writes`).
pub(crate) fn entry_text(
    context: &AuditContext,
    event: Event,
    at: OffsetDateTime,
) -> Result<String, StorageError> {
    let bytes = event.into_entry(context, at)?.canonical_bytes()?;
    String::from_utf8(bytes)
        .map_err(|_| StorageError::Corrupt("canonical entry is not UTF-8".into()))
}

/// Appends an entry to the pending journal, inside the caller's transaction (or alone, when the
/// entry is the operation's only write: the statement then commits by itself).
pub fn record(
    tx: &mut DbConnection,
    context: &AuditContext,
    event: Event,
    at: OffsetDateTime,
) -> Result<(), StorageError> {
    append(tx, &entry_text(context, event, at)?, at)
}

/// [`record`], returning the entry's pending id (`audit_log.pending_id` once integrated): what a
/// receipt written in the same transaction names (`receipts`).
pub fn record_id(
    tx: &mut DbConnection,
    context: &AuditContext,
    event: Event,
    at: OffsetDateTime,
) -> Result<i64, StorageError> {
    let text = entry_text(context, event, at)?;
    let values = (
        audit_pending::entry.eq(&text),
        audit_pending::created_at.eq(to_db(at)),
    );
    match tx {
        DbConnection::Pg(pg) => Ok(diesel::insert_into(audit_pending::table)
            .values(values)
            .returning(audit_pending::id)
            .get_result(pg)?),
        DbConnection::Sqlite(lite) => {
            #[derive(QueryableByName)]
            struct Id {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                id: i64,
            }
            diesel::insert_into(audit_pending::table)
                .values(values)
                .execute(lite)?;
            // The connection's own last insert, inside its write transaction.
            Ok(diesel::sql_query("SELECT last_insert_rowid() AS id")
                .get_result::<Id>(lite)?
                .id)
        }
    }
}

/// Appends an entry's text (from [`entry_text`]) to the pending journal.
pub(crate) fn append(
    tx: &mut DbConnection,
    text: &str,
    at: OffsetDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(audit_pending::table)
        .values((
            audit_pending::entry.eq(text),
            audit_pending::created_at.eq(to_db(at)),
        ))
        .execute(tx)?;
    Ok(())
}
