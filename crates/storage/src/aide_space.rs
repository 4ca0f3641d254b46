//! The aidé's own space (`/mon-espace`, docs/security/aide-space.md): their FranceConnect sign-in
//! in progress, their sessions, and what they may read — every query keyed by the person's
//! pseudonym (`usagers.subject`) taken from their session on the server, never from a request.

use ac_audit::Action;
use ac_auth::TokenHash;
use ac_mandates::{AuthorizationId, Mandate, MandateId};
use diesel::prelude::*;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::error::StorageError;
use crate::franceconnect_logins::Kind;
use crate::purge::KEPT_AFTER_EXPIRY;
use crate::schema::{aidants, aide_logins, aide_sessions, audit_log, oidc_clients, organisations};
use crate::{DbConnection, from_db, to_db, write};

/// A person's session ends after this long without a request…
pub const IDLE: Duration = Duration::minutes(15);
/// …and this long after sign-in, whatever happens.
pub const MAX_LIFETIME: Duration = Duration::hours(1);

/// Stores a sign-in or logout in progress under the hash of its `state`, sweeping rows expired
/// for more than [`KEPT_AFTER_EXPIRY`].
pub fn insert_login(
    conn: &mut DbConnection,
    state_hash: &str,
    kind: Kind,
    payload: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let before = now.checked_sub(KEPT_AFTER_EXPIRY).unwrap_or(now);
        diesel::delete(aide_logins::table.filter(aide_logins::expires_at.le(to_db(before))))
            .execute(tx)?;
        diesel::insert_into(aide_logins::table)
            .values((
                aide_logins::state_hash.eq(state_hash),
                aide_logins::kind.eq(kind.key()),
                aide_logins::payload.eq(payload),
                aide_logins::created_at.eq(to_db(now)),
                aide_logins::expires_at.eq(to_db(expires_at)),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        Ok(())
    })
}

/// Takes (reads and deletes) the row of `state_hash` if it is of this kind, expired or not (the
/// relying party tells "too late" from "unknown"); the browser binding inside the payload is
/// the relying party's check. Single use on every node.
pub fn take_login(
    conn: &mut DbConnection,
    state_hash: &str,
    kind: Kind,
) -> Result<Option<String>, StorageError> {
    write(conn, |tx| {
        let row: Option<(String, String)> = aide_logins::table
            .find(state_hash)
            .select((aide_logins::kind, aide_logins::payload))
            .first(tx)
            .optional()?;
        let Some((row_kind, payload)) = row else {
            return Ok(None);
        };
        let deleted = diesel::delete(aide_logins::table.find(state_hash)).execute(tx)?;
        Ok((deleted == 1 && row_kind == kind.key()).then_some(payload))
    })
}

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AideSession {
    /// Their pseudonym: the key of every query of the space.
    pub subject: String,
    pub id_token_hint: String,
    pub expires_at: OffsetDateTime,
}

/// Opens a session for `subject`; sweeps sessions over.
pub fn open_session(
    conn: &mut DbConnection,
    hash: &TokenHash,
    subject: &str,
    id_token_hint: &str,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        diesel::delete(aide_sessions::table.filter(aide_sessions::expires_at.le(to_db(now))))
            .execute(tx)?;
        diesel::insert_into(aide_sessions::table)
            .values((
                aide_sessions::token_hash.eq(hash.as_str()),
                aide_sessions::subject.eq(subject),
                aide_sessions::id_token_hint.eq(id_token_hint),
                aide_sessions::created_at.eq(to_db(now)),
                aide_sessions::idle_until.eq(to_db(now.saturating_add(IDLE))),
                aide_sessions::expires_at.eq(to_db(now.saturating_add(MAX_LIFETIME))),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        Ok(())
    })
}

/// The session of `hash` if it is still open at `now`, its idle deadline pushed back; `None`
/// (and the row gone) when it is over.
pub fn session(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: OffsetDateTime,
) -> Result<Option<AideSession>, StorageError> {
    write(conn, |tx| {
        let row: Option<(String, String, PrimitiveDateTime, PrimitiveDateTime)> =
            aide_sessions::table
                .find(hash.as_str())
                .select((
                    aide_sessions::subject,
                    aide_sessions::id_token_hint,
                    aide_sessions::idle_until,
                    aide_sessions::expires_at,
                ))
                .first(tx)
                .optional()?;
        let Some((subject, id_token_hint, idle_until, expires_at)) = row else {
            return Ok(None);
        };
        let (idle_until, expires_at) = (from_db(idle_until), from_db(expires_at));
        if now >= idle_until || now >= expires_at {
            diesel::delete(aide_sessions::table.find(hash.as_str())).execute(tx)?;
            return Ok(None);
        }
        diesel::update(aide_sessions::table.find(hash.as_str()))
            .set(aide_sessions::idle_until.eq(to_db(now.saturating_add(IDLE).min(expires_at))))
            .execute(tx)?;
        Ok(Some(AideSession {
            subject,
            id_token_hint,
            expires_at,
        }))
    })
}

/// Ends the session of `hash`; returns what FranceConnect's logout needs, if it was open.
pub fn end_session(
    conn: &mut DbConnection,
    hash: &TokenHash,
) -> Result<Option<String>, StorageError> {
    write(conn, |tx| {
        let hint: Option<String> = aide_sessions::table
            .find(hash.as_str())
            .select(aide_sessions::id_token_hint)
            .first(tx)
            .optional()?;
        diesel::delete(aide_sessions::table.find(hash.as_str())).execute(tx)?;
        Ok(hint)
    })
}

/// A mandate of the person, with what their page shows of its structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnMandate {
    pub mandate: Mandate,
    pub organisation_name: String,
    pub departement: String,
    /// The mandate's démarches suspended by an open « Ce n'était pas moi » report: no aidant
    /// can use them until the structure closes it (docs/security/aide-space.md "Receipts").
    pub suspended: Vec<AuthorizationId>,
}

/// The authorizations of `mandates` under an open report: a report on the whole mandate
/// (no authorization) suspends each of its démarches.
fn suspended_of(
    conn: &mut DbConnection,
    mandates: &[&Mandate],
) -> Result<Vec<AuthorizationId>, StorageError> {
    use crate::schema::receipt_reports;
    let ids: Vec<&str> = mandates.iter().map(|m| m.id.as_str()).collect();
    let open: Vec<(String, Option<String>)> = receipt_reports::table
        .filter(receipt_reports::mandate_id.eq_any(&ids))
        .filter(receipt_reports::closed_at.is_null())
        .select((
            receipt_reports::mandate_id,
            receipt_reports::authorization_id,
        ))
        .load(conn)?;
    Ok(mandates
        .iter()
        .flat_map(|m| m.authorizations.iter().map(move |a| (m, a)))
        .filter(|(m, a)| {
            open.iter().any(|(mandate, authorization)| {
                mandate == m.id.as_str()
                    && authorization
                        .as_deref()
                        .is_none_or(|id| id == a.id.as_str())
            })
        })
        .map(|(_, a)| a.id.clone())
        .collect())
}

/// Every mandate of the person `subject`, in every structure, newest first.
pub fn mandates_of(
    conn: &mut DbConnection,
    subject: &str,
) -> Result<Vec<OwnMandate>, StorageError> {
    let Some(usager) = crate::usagers::find_by_subject(conn, subject)? else {
        return Ok(Vec::new());
    };
    let mandates = crate::mandates::for_person(conn, &usager.id)?;
    let suspended = suspended_of(conn, &mandates.iter().collect::<Vec<_>>())?;
    let ids: Vec<&str> = mandates
        .iter()
        .map(|m| m.organisation_id.as_str())
        .collect();
    let structures: std::collections::BTreeMap<String, (String, String)> = organisations::table
        .filter(organisations::id.eq_any(&ids))
        .select((
            organisations::id,
            (organisations::name, organisations::departement),
        ))
        .load::<(String, (String, String))>(conn)?
        .into_iter()
        .collect();
    mandates
        .into_iter()
        .map(|mandate| {
            let (organisation_name, departement) = structures
                .get(mandate.organisation_id.as_str())
                .cloned()
                .ok_or_else(|| StorageError::Corrupt("mandate without its structure".into()))?;
            let suspended = mandate
                .authorizations
                .iter()
                .filter(|a| suspended.contains(&a.id))
                .map(|a| a.id.clone())
                .collect();
            Ok(OwnMandate {
                mandate,
                organisation_name,
                departement,
                suspended,
            })
        })
        .collect()
}

/// The mandate `id` if it is the person `subject`'s; `None` when it is another's or does not
/// exist (the two look the same).
pub fn own_mandate(
    conn: &mut DbConnection,
    subject: &str,
    id: &MandateId,
) -> Result<Option<OwnMandate>, StorageError> {
    let mandate = match crate::mandates::get(conn, id) {
        Ok(mandate) => mandate,
        Err(StorageError::NotFound) => return Ok(None),
        Err(other) => return Err(other),
    };
    if crate::usagers::subject(conn, &mandate.usager_id)?.as_deref() != Some(subject) {
        return Ok(None);
    }
    let (organisation_name, departement): (String, String) = organisations::table
        .find(mandate.organisation_id.as_str())
        .select((organisations::name, organisations::departement))
        .first(conn)?;
    let suspended = suspended_of(conn, &[&mandate])?;
    Ok(Some(OwnMandate {
        mandate,
        organisation_name,
        departement,
        suspended,
    }))
}

/// Whether the person `subject` has any mandate kept, in any structure.
pub fn has_mandates(conn: &mut DbConnection, subject: &str) -> Result<bool, StorageError> {
    use crate::schema::{mandates, usagers};
    Ok(diesel::select(diesel::dsl::exists(
        mandates::table
            .inner_join(usagers::table)
            .filter(usagers::subject.eq(subject)),
    ))
    .get_result(conn)?)
}

/// The journal actions the person's history shows.
pub const HISTORY_ACTIONS: [Action; 8] = [
    Action::DelegationCompleted,
    Action::MandateCreated,
    Action::MandateRenewed,
    Action::MandateRevoked,
    Action::AuthorizationRevoked,
    Action::MandateDeleted,
    Action::ReportOpened,
    Action::ReportClosed,
];

/// One line of the person's history, with the names it is told in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub action: String,
    pub actor_kind: String,
    /// The aidant's first name, when an aidant acted.
    pub aidant_first_name: Option<String>,
    pub organisation_name: Option<String>,
    pub departement: Option<String>,
    pub demarche: Option<String>,
    /// The partner website's display name.
    pub site: Option<String>,
}

/// The person's history, newest first: up to `limit` integrated entries about them (their
/// pseudonym) before `before` (a sequence number; keyset pagination on the journal's
/// `(usager, seq)` index). Redacted entries hold no pseudonym any more and never show.
pub fn history(
    conn: &mut DbConnection,
    subject: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<HistoryLine>, StorageError> {
    let actions: Vec<&str> = HISTORY_ACTIONS.iter().map(|a| a.as_str()).collect();
    let mut query = audit_log::table
        .left_join(aidants::table.on(aidants::id.nullable().eq(audit_log::actor_id)))
        .left_join(
            organisations::table.on(organisations::id.nullable().eq(audit_log::organisation_id)),
        )
        .left_join(oidc_clients::table.on(oidc_clients::id.nullable().eq(audit_log::client_id)))
        .filter(audit_log::usager.eq(subject))
        .filter(audit_log::action.eq_any(actions))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(audit_log::seq.lt(before));
    }
    type Row = (
        i64,
        PrimitiveDateTime,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = query
        .order(audit_log::seq.desc())
        .limit(limit)
        .select((
            audit_log::seq,
            audit_log::at,
            audit_log::action,
            audit_log::actor_kind,
            aidants::first_name.nullable(),
            organisations::name.nullable(),
            organisations::departement.nullable(),
            audit_log::demarche,
            oidc_clients::name.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                seq,
                at,
                action,
                actor_kind,
                first_name,
                organisation,
                departement,
                demarche,
                site,
            )| {
                HistoryLine {
                    seq,
                    at: from_db(at),
                    action,
                    aidant_first_name: first_name.filter(|_| actor_kind == "aidant"),
                    actor_kind,
                    organisation_name: organisation,
                    departement,
                    demarche,
                    site,
                }
            },
        )
        .collect())
}

/// Whether entry `seq` is about the person `subject` (before handing out its proof).
pub fn entry_is_about(
    conn: &mut DbConnection,
    subject: &str,
    seq: i64,
) -> Result<bool, StorageError> {
    Ok(diesel::select(diesel::dsl::exists(
        audit_log::table
            .filter(audit_log::seq.eq(seq))
            .filter(audit_log::usager.eq(subject)),
    ))
    .get_result(conn)?)
}
