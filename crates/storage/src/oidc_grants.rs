//! Delegated uses through the identity provider: the usagers an aidant may pick, the single-use
//! authorization code, its exchange for an access token, and userinfo. **The mandate is checked
//! again (`mandates::can_act`) at each of the three steps**, just before the step's writes, which
//! commit together with its journal entry (a write transaction on SQLite; one statement on
//! PostgreSQL, see `oidc_writes`; at userinfo, the entry alone): a mandate revoked or expired
//! between two steps stops the use.
//!
//! Codes and tokens are stored by their SHA-256 only; the protocol decisions (what a valid
//! request is) are `ac_oidc::op`'s and reach this module as closures or plain values.

use ac_audit::{Action, Actor, ActorKind};
use ac_auth::TokenHash;
use ac_mandates::{
    AidantId, Authorization, AuthorizationId, Demarche, OrganisationId, Refusal, Usager, UsagerId,
};
use diesel::prelude::*;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Text, Timestamp};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::backend::write_or_join;
use crate::error::{StorageError, corrupt};
use crate::journal::{self, AuditContext, Event};
use crate::oidc_writes::{self, AnsweredRequest, CodeValues, TokenValues};
use crate::schema::{
    authorizations, oidc_access_tokens, oidc_authorization_codes, organisation_demarches, usagers,
};
use crate::usagers::{self as usager_records, UsagerRow};
use crate::{DbConnection, from_db, mandates, to_db, write};

/// Who acts at the token and userinfo endpoints: the client, for the journal.
pub fn client_context(client_id: &str, request_id: Option<String>) -> AuditContext {
    AuditContext {
        actor: Actor {
            kind: ActorKind::Client,
            id: Some(client_id.to_owned()),
        },
        request_id,
    }
}

// ---------------------------------------------------------------------------------------------
// Choosing the usager.

/// A usager the aidant may act for, with just what the choice page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligible {
    pub usager_id: UsagerId,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: Date,
    /// Démarches covered now by an open authorization of the structure, in catalogue order.
    pub demarches: Vec<Demarche>,
}

/// `%` and `_` are LIKE wildcards: the search text is matched literally.
fn like_pattern(search: &str) -> String {
    let mut pattern = String::from("%");
    for c in search.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// An open authorization as the person lists read it: usager id, given name, family name,
/// birth date, démarche.
type EligibleRow = (String, String, String, Date, String);

/// Most usagers a structure-wide list returns; a search narrows it.
pub const LIST_MAX: usize = 50;

/// Rows the structure-wide list reads at most: one per open authorization, at most ten per
/// usager (one per démarche).
const LIST_ROWS: usize = LIST_MAX * 10;

/// The structure-wide list (the person page, with or without a search), in name order.
///
/// A statement of its own, rather than diesel's DSL or `sql_query`, for two reasons measured on
/// PostgreSQL (docs/performance.md):
/// - its `LIMIT` is written out. PostgreSQL keeps a prepared statement's generic plan, made
///   without the parameters' values; with a bound limit, it expects to stop after a row or two,
///   walks every usager in name order and joins each with the structure's authorizations (2–7 ms
///   per list in the bench, growing with the whole usagers table). With the limit written out,
///   it joins the structure's authorizations to their usagers and sorts them.
/// - its text is fixed, one per `SEARCH`, so diesel prepares it once per connection, as it
///   does its DSL statements. `sql_query` is never cached: PostgreSQL planned the list again at
///   every call, which took longer (about 0.5–1 ms) than running it.
struct StructureList<'a, const SEARCH: bool> {
    organisation: &'a str,
    at: PrimitiveDateTime,
    /// The LIKE pattern (with `SEARCH` only).
    pattern: &'a str,
}

/// The prepared-statement cache key of [`StructureList`]: one statement per form.
struct StructureListId<const SEARCH: bool>;

impl<const SEARCH: bool> diesel::query_builder::QueryId for StructureList<'_, SEARCH> {
    type QueryId = StructureListId<SEARCH>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const SEARCH: bool> diesel::query_builder::Query for StructureList<'_, SEARCH> {
    type SqlType = (Text, Text, Text, diesel::sql_types::Date, Text);
}

impl<Conn, const SEARCH: bool> RunQueryDsl<Conn> for StructureList<'_, SEARCH> {}

impl<DB, const SEARCH: bool> diesel::query_builder::QueryFragment<DB> for StructureList<'_, SEARCH>
where
    DB: diesel::backend::Backend + HasSqlType<Text> + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    PrimitiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql(
            "SELECT usagers.id, usagers.given_name, usagers.family_name, usagers.birthdate, \
             authorizations.demarche \
             FROM authorizations \
             JOIN usagers ON usagers.id = authorizations.usager_id \
             JOIN organisation_demarches \
             ON organisation_demarches.organisation_id = authorizations.organisation_id \
             AND organisation_demarches.demarche = authorizations.demarche \
             WHERE authorizations.organisation_id = ",
        );
        out.push_bind_param::<Text, _>(self.organisation)?;
        out.push_sql(" AND authorizations.revoked_at IS NULL AND authorizations.expires_at > ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        if SEARCH {
            out.push_sql(" AND (lower(usagers.family_name) LIKE ");
            out.push_bind_param::<Text, _>(self.pattern)?;
            out.push_sql(" ESCAPE '\\' OR lower(usagers.given_name) LIKE ");
            out.push_bind_param::<Text, _>(self.pattern)?;
            out.push_sql(" ESCAPE '\\')");
        }
        out.push_sql(" ORDER BY usagers.family_name, usagers.given_name, usagers.id LIMIT ");
        out.push_sql(&LIST_ROWS.to_string());
        Ok(())
    }
}

fn structure_list(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    search: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<EligibleRow>, StorageError> {
    let (organisation, at) = (organisation.as_str(), to_db(now));
    Ok(match search {
        Some(search) => StructureList::<true> {
            organisation,
            at,
            pattern: &like_pattern(search),
        }
        .load(conn)?,
        None => StructureList::<false> {
            organisation,
            at,
            pattern: "",
        }
        .load(conn)?,
    })
}

/// The usagers with an authorization of `organisation` in force at `now` for one of `demarches`
/// (what the client may receive) that the structure still allows, optionally only those whose
/// name contains `search` (case-insensitive), sorted by name, at most `limit` (and never more
/// than [`LIST_MAX`]). `only` restricts the search to one usager (the démarche page). One
/// statement.
pub fn eligible_usagers(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    demarches: &[Demarche],
    search: Option<&str>,
    only: Option<&UsagerId>,
    now: OffsetDateTime,
    limit: usize,
) -> Result<Vec<Eligible>, StorageError> {
    let limit = limit.min(LIST_MAX);
    // At most ten open authorizations per usager (one per démarche).
    let rows_limit = limit.saturating_mul(10);
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let rows: Vec<EligibleRow> = match only {
        // One usager, found by key: one fixed statement, which PostgreSQL plans once per
        // connection (diesel's prepared statement cache). It runs on every démarche page and
        // choice; sent through `structure_list`'s SQL instead, the bench ran about 10 % fewer
        // flows per second. The démarches the client may receive are filtered below.
        Some(usager) => authorizations::table
            .inner_join(usagers::table.on(usagers::id.eq(authorizations::usager_id)))
            .inner_join(
                organisation_demarches::table.on(organisation_demarches::organisation_id
                    .eq(authorizations::organisation_id)
                    .and(organisation_demarches::demarche.eq(authorizations::demarche))),
            )
            .filter(authorizations::organisation_id.eq(organisation.as_str()))
            .filter(authorizations::revoked_at.is_null())
            .filter(authorizations::expires_at.gt(to_db(now)))
            .filter(usagers::id.eq(usager.as_str()))
            .select((
                usagers::id,
                usagers::given_name,
                usagers::family_name,
                usagers::birthdate,
                authorizations::demarche,
            ))
            .order((usagers::family_name, usagers::given_name, usagers::id))
            .limit(i64::try_from(rows_limit).unwrap_or(i64::MAX))
            .load(conn)?,
        None => structure_list(conn, organisation, search, now)?,
    };
    let wanted: Vec<&str> = demarches.iter().map(|d| d.key()).collect();
    let rows = rows
        .into_iter()
        .filter(|row| wanted.contains(&row.4.as_str()));
    let mut out: Vec<Eligible> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (id, given_name, family_name, birthdate, demarche) in rows {
        let demarche: Demarche = demarche
            .parse()
            .map_err(corrupt("authorizations.demarche"))?;
        let at = match index.get(&id) {
            Some(at) => *at,
            None => {
                if out.len() == limit {
                    continue;
                }
                index.insert(id.clone(), out.len());
                out.push(Eligible {
                    usager_id: UsagerId::new(id),
                    given_name,
                    family_name,
                    birthdate,
                    demarches: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let Some(entry) = out.get_mut(at) {
            entry.demarches.push(demarche);
        }
    }
    for entry in &mut out {
        entry.demarches.sort();
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The code.

/// Who acts for whom, for what.
#[derive(Debug, Clone, Copy)]
pub struct Delegation<'a> {
    pub aidant: &'a AidantId,
    pub organisation: &'a OrganisationId,
    pub usager: &'a UsagerId,
    pub demarche: Demarche,
}

/// The protocol facts bound to a code (OIDC Core §3.1.3.2, RFC 7636 §4.4).
#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    pub code_hash: &'a TokenHash,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub scopes: &'a [String],
    pub rep_scope_claim: bool,
    pub auth_time: OffsetDateTime,
    pub acr: &'a str,
    pub expires_at: OffsetDateTime,
    /// The id of the authorization request this code answers (random, carried by the sealed
    /// interaction): at most one code per request.
    pub interaction_id: &'a str,
    /// When that request expires: its id is kept until then (and a day more, `purge`).
    pub interaction_expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeIssue {
    /// Stored, with its `delegation.started` entry; the authorization that permits the use.
    Issued(AuthorizationId),
    /// `can_act` refused (journaled as `delegation.refused`).
    Refused(Refusal),
    /// The request already has its code (a second submission of its choice: double click,
    /// back button, replay). Nothing was written.
    AlreadyAnswered,
}

fn delegation_event(
    action: Action,
    client_id: &str,
    aidant: &str,
    organisation: &OrganisationId,
    subject: &str,
    demarche: Demarche,
) -> Event {
    Event::new(action)
        .organisation(organisation)
        .usager(subject)
        .demarche(demarche)
        .client(client_id)
        .detail("aidant", aidant)
}

/// Issues a code for a delegated use, if `can_act` allows it at `now` and the request has no
/// code yet. The aidant's session records audited activity (restarting its step-up clock) with
/// the code, and the code its `delegation.started` entry: all three commit together
/// (`oidc_writes`). A request's second code is refused by the unique index on
/// `interaction_id`, in that same statement or transaction: of two parallel choices on any
/// nodes, exactly one inserts, and the other writes nothing.
pub fn issue_code(
    conn: &mut DbConnection,
    who: &Delegation<'_>,
    code: &NewCode<'_>,
    session: &TokenHash,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<CodeIssue, StorageError> {
    oidc_writes::step(conn, |conn| {
        let subject = usager_records::subject(conn, who.usager)?.ok_or(StorageError::NotFound)?;
        let event = |action| {
            delegation_event(
                action,
                code.client_id,
                who.aidant.as_str(),
                who.organisation,
                &subject,
                who.demarche,
            )
        };
        let authorization = match mandates::can_act(
            conn,
            who.aidant,
            who.organisation,
            who.usager,
            who.demarche,
            now,
        )? {
            Ok(authorization) => authorization,
            Err(refusal) => {
                let refused = event(Action::DelegationRefused)
                    .detail("step", "authorize")
                    .detail("reason", refusal.code());
                journal::record(conn, context, refused, now)?;
                return Ok(CodeIssue::Refused(refusal));
            }
        };
        let started = event(Action::DelegationStarted)
            .target(&authorization.id)
            .detail("mandate", &authorization.mandate_id);
        let stored = oidc_writes::store_code(
            conn,
            &CodeValues {
                code_hash: code.code_hash.as_str(),
                client_id: code.client_id,
                redirect_uri: code.redirect_uri,
                code_challenge: code.code_challenge,
                nonce: code.nonce,
                scopes: code.scopes.join(" "),
                aidant_id: who.aidant.as_str(),
                usager_id: who.usager.as_str(),
                authorization_id: authorization.id.as_str(),
                demarche: who.demarche.key(),
                rep_scope_claim: code.rep_scope_claim,
                auth_time: to_db(code.auth_time),
                acr: code.acr,
                created_at: to_db(now),
                expires_at: to_db(code.expires_at),
            },
            &AnsweredRequest {
                interaction_id: code.interaction_id,
                expires_at: to_db(code.interaction_expires_at),
            },
            session,
            &journal::entry_text(context, started, now)?,
            now,
        );
        match stored {
            Ok(()) => Ok(CodeIssue::Issued(authorization.id)),
            // The only unique key a fresh code can meet is its request's (the code's own hash
            // is of 256 random bits).
            Err(StorageError::Conflict) => Ok(CodeIssue::AlreadyAnswered),
            Err(other) => Err(other),
        }
    })
}

/// A refusal the web layer decided alone (a tampered selection form, a démarche outside what the
/// client may receive), journaled in its own transaction.
#[derive(Debug, Clone)]
pub struct Refused<'a> {
    /// `None` when the request naming it could not be trusted.
    pub client_id: Option<&'a str>,
    pub organisation: &'a OrganisationId,
    /// The usager named by the request, when it names one that exists.
    pub usager: Option<&'a UsagerId>,
    pub demarche: Option<Demarche>,
    pub reason: &'a str,
}

pub fn record_refusal(
    conn: &mut DbConnection,
    refused: &Refused<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let mut event = Event::new(Action::DelegationRefused)
            .organisation(refused.organisation)
            .detail("step", "selection")
            .detail("reason", refused.reason);
        let subject = match refused.usager {
            Some(usager) => usager_records::subject(tx, usager)?,
            None => None,
        };
        if let Some(subject) = subject {
            event = event.usager(&subject);
        }
        if let Some(demarche) = refused.demarche {
            event = event.demarche(demarche);
        }
        if let Some(client) = refused.client_id {
            event = event.client(client);
        }
        journal::record(tx, context, event, now)
    })
}

// ---------------------------------------------------------------------------------------------
// The token.

/// A stored code, as the token endpoint checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub aidant_id: AidantId,
    pub organisation_id: OrganisationId,
    pub usager_id: UsagerId,
    pub authorization_id: AuthorizationId,
    pub demarche: Demarche,
    pub rep_scope_claim: bool,
    pub auth_time: OffsetDateTime,
    pub acr: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

impl CodeRecord {
    /// A journal entry about this grant's delegated use (the token and userinfo steps).
    fn event(&self, action: Action, subject: &str) -> Event {
        delegation_event(
            action,
            &self.client_id,
            self.aidant_id.as_str(),
            &self.organisation_id,
            subject,
            self.demarche,
        )
        .target(&self.authorization_id)
    }

    /// `can_act` again, for this grant's aidant, structure, usager and démarche.
    fn can_act_now(
        &self,
        conn: &mut DbConnection,
        now: OffsetDateTime,
    ) -> Result<Result<Authorization, Refusal>, StorageError> {
        mandates::can_act(
            conn,
            &self.aidant_id,
            &self.organisation_id,
            &self.usager_id,
            self.demarche,
            now,
        )
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oidc_authorization_codes)]
struct CodeRow {
    client_id: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    nonce: Option<String>,
    scopes: String,
    aidant_id: String,
    usager_id: String,
    authorization_id: String,
    demarche: String,
    rep_scope_claim: bool,
    auth_time: PrimitiveDateTime,
    acr: String,
    created_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
    used_at: Option<PrimitiveDateTime>,
}

impl CodeRow {
    /// With the structure, which is the authorization's.
    fn into_record(self, organisation_id: String) -> Result<CodeRecord, StorageError> {
        Ok(CodeRecord {
            demarche: self
                .demarche
                .parse()
                .map_err(corrupt("oidc_authorization_codes.demarche"))?,
            scopes: self
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            client_id: self.client_id,
            redirect_uri: self.redirect_uri,
            code_challenge: self.code_challenge,
            nonce: self.nonce,
            aidant_id: AidantId::new(self.aidant_id),
            organisation_id: OrganisationId::new(organisation_id),
            usager_id: UsagerId::new(self.usager_id),
            authorization_id: AuthorizationId::new(self.authorization_id),
            rep_scope_claim: self.rep_scope_claim,
            auth_time: from_db(self.auth_time),
            acr: self.acr,
            created_at: from_db(self.created_at),
            expires_at: from_db(self.expires_at),
            used_at: self.used_at.map(from_db),
        })
    }
}

/// A code with the usager's pseudonym (`usagers.subject`), which the token names.
fn find_code(
    conn: &mut DbConnection,
    code_hash: &TokenHash,
) -> Result<Option<(CodeRecord, String)>, StorageError> {
    oidc_authorization_codes::table
        .inner_join(authorizations::table)
        .inner_join(usagers::table.on(usagers::id.eq(oidc_authorization_codes::usager_id)))
        .filter(oidc_authorization_codes::code_hash.eq(code_hash.as_str()))
        .select((
            CodeRow::as_select(),
            authorizations::organisation_id,
            usagers::subject,
        ))
        .first::<(CodeRow, String, String)>(conn)
        .optional()?
        .map(|(row, organisation, subject)| Ok((row.into_record(organisation)?, subject)))
        .transpose()
}

/// What the token endpoint gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption<E> {
    /// First use, every check passed, the mandate still covers the use: the access token is
    /// stored (journaled as `delegation.token_issued`). `subject` is the usager's pseudonym.
    Granted {
        code: Box<CodeRecord>,
        subject: String,
    },
    /// No such code, or one issued to another client (not consumed: it is not theirs).
    Unknown,
    /// The code was already used: the tokens issued from it are revoked now (RFC 6749 §4.1.2,
    /// RFC 9700 §4.5), journaled.
    Replayed { revoked_tokens: usize },
    /// The caller's protocol checks refused the first use (expired, other redirect URI, PKCE);
    /// the code is consumed all the same, and the refusal journaled.
    Refused(E),
    /// `can_act` refused at exchange time (journaled).
    MandateRefused(Refusal),
}

/// The new access token to store with the grant.
#[derive(Debug, Clone)]
pub struct NewAccessToken<'a> {
    pub token_hash: &'a TokenHash,
    pub expires_at: OffsetDateTime,
}

/// Exchanges a code. Single use is a conditional update (`used_at IS NULL`), atomic across
/// nodes: of two concurrent requests, one wins, and the other is a replay. The mark, the access
/// token and the journal entry commit together (`oidc_writes`).
pub fn redeem_code<E: std::fmt::Display>(
    conn: &mut DbConnection,
    code_hash: &TokenHash,
    client_id: &str,
    check: impl FnOnce(&CodeRecord) -> Result<(), E>,
    token: &NewAccessToken<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Redemption<E>, StorageError> {
    // Unknown codes end here, without a write (on SQLite, without taking the write lock).
    let Some(found) = find_code(conn, code_hash)?.filter(|(c, _)| c.client_id == client_id) else {
        return Ok(Redemption::Unknown);
    };
    oidc_writes::step(conn, |tx| {
        redeem(tx, code_hash, found, check, token, context, now)
    })
}

/// What the checks decided about a code's first use.
enum Verdict<E> {
    Granted,
    Refused(E),
    MandateRefused(Refusal),
}

fn redeem<E: std::fmt::Display>(
    conn: &mut DbConnection,
    code_hash: &TokenHash,
    (code, subject): (CodeRecord, String),
    check: impl FnOnce(&CodeRecord) -> Result<(), E>,
    token: &NewAccessToken<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Redemption<E>, StorageError> {
    let event = |action| code.event(action, &subject);
    let refused = |reason: &dyn std::fmt::Display| {
        event(Action::DelegationRefused)
            .detail("step", "token")
            .detail("reason", reason)
    };
    if code.used_at.is_some() {
        return replayed(conn, code_hash, refused(&"code_replayed"), context, now);
    }
    // A refused first use consumes the code all the same, journaled.
    let (entry, verdict) = if let Err(refusal) = check(&code) {
        (refused(&refusal), Verdict::Refused(refusal))
    } else if let Err(refusal) = code.can_act_now(conn, now)? {
        (refused(&refusal.code()), Verdict::MandateRefused(refusal))
    } else {
        (event(Action::DelegationTokenIssued), Verdict::Granted)
    };
    let new_token = TokenValues {
        token_hash: token.token_hash.as_str(),
        expires_at: to_db(token.expires_at),
    };
    let first = oidc_writes::first_use(
        conn,
        code_hash,
        matches!(verdict, Verdict::Granted).then_some(&new_token),
        &journal::entry_text(context, entry, now)?,
        now,
    )?;
    if !first {
        // Another exchange of the same code won the conditional update since it was read.
        return replayed(conn, code_hash, refused(&"code_replayed"), context, now);
    }
    Ok(match verdict {
        Verdict::Granted => Redemption::Granted {
            code: Box::new(code),
            subject,
        },
        Verdict::Refused(refusal) => Redemption::Refused(refusal),
        Verdict::MandateRefused(refusal) => Redemption::MandateRefused(refusal),
    })
}

/// A replayed code: the tokens issued from it are revoked, with the refusal's entry, together.
fn replayed<E>(
    conn: &mut DbConnection,
    code_hash: &TokenHash,
    entry: Event,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Redemption<E>, StorageError> {
    write_or_join(conn, |tx| {
        let revoked = diesel::update(
            oidc_access_tokens::table
                .filter(oidc_access_tokens::code_hash.eq(code_hash.as_str()))
                .filter(oidc_access_tokens::revoked_at.is_null()),
        )
        .set(oidc_access_tokens::revoked_at.eq(Some(to_db(now))))
        .execute(tx)?;
        journal::record(tx, context, entry.detail("revoked_tokens", revoked), now)?;
        Ok(Redemption::Replayed {
            revoked_tokens: revoked,
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Userinfo.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserinfoGrant {
    /// Served (journaled as `delegation.completed`): the usager and the grant's facts.
    Served {
        code: Box<CodeRecord>,
        usager: Box<Usager>,
    },
    /// Unknown, expired or revoked token (RFC 6750 §3.1 `invalid_token`).
    InvalidToken,
    /// `can_act` refused at userinfo time (journaled).
    MandateRefused { client_id: String, refusal: Refusal },
}

/// The grant behind a live access token, with its usager, and what its receipt needs (the
/// mandate, whether the person wants receipts), read in the same statement.
fn live_code(
    conn: &mut DbConnection,
    token_hash: &TokenHash,
    now: OffsetDateTime,
) -> Result<Option<(CodeRecord, Usager, crate::receipts::UseReceipt)>, StorageError> {
    use crate::schema::aide_notification_preferences as prefs;
    oidc_access_tokens::table
        .inner_join(oidc_authorization_codes::table.inner_join(authorizations::table))
        .inner_join(usagers::table.on(usagers::id.eq(oidc_authorization_codes::usager_id)))
        .left_join(prefs::table.on(prefs::usager_id.eq(oidc_authorization_codes::usager_id)))
        .filter(oidc_access_tokens::token_hash.eq(token_hash.as_str()))
        .filter(oidc_access_tokens::revoked_at.is_null())
        .filter(oidc_access_tokens::expires_at.gt(to_db(now)))
        .select((
            CodeRow::as_select(),
            authorizations::organisation_id,
            UsagerRow::as_select(),
            authorizations::mandate_id,
            prefs::choice.nullable(),
        ))
        .first::<(CodeRow, String, UsagerRow, String, Option<String>)>(conn)
        .optional()?
        .map(|(row, organisation, usager, mandate, choice)| {
            Ok((
                row.into_record(organisation)?,
                usager.into_domain()?,
                crate::receipts::UseReceipt::new(mandate, choice.as_deref()),
            ))
        })
        .transpose()
}

/// The identity behind an access token, if the token is live and the mandate still covers the
/// use at `now`.
///
/// No explicit transaction: the journal entry is the step's only write, and a single statement
/// commits alone. The reads before it see what is committed at their own start, as they would
/// inside a read-committed transaction (PostgreSQL's level here), so a transaction would add
/// two round trips and no guarantee. If the entry cannot be written, nothing is served.
pub fn userinfo(
    conn: &mut DbConnection,
    token_hash: &TokenHash,
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<UserinfoGrant, StorageError> {
    let Some((code, usager, receipt)) = live_code(conn, token_hash, now)? else {
        return Ok(UserinfoGrant::InvalidToken);
    };
    let context = client_context(&code.client_id, request_id);
    let event = |action| code.event(action, &usager.subject);
    if let Err(refusal) = code.can_act_now(conn, now)? {
        let refused = event(Action::DelegationRefused)
            .detail("step", "userinfo")
            .detail("reason", refusal.code());
        journal::record(conn, &context, refused, now)?;
        return Ok(UserinfoGrant::MandateRefused {
            client_id: code.client_id.clone(),
            refusal,
        });
    }
    // With its receipt, in one transaction, when the person asked for receipts.
    crate::receipts::record_use(
        conn,
        &context,
        event(Action::DelegationCompleted),
        &receipt,
        &code,
        now,
    )?;
    Ok(UserinfoGrant::Served {
        code: Box::new(code),
        usager: Box::new(usager),
    })
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn search_text_is_literal() {
        assert_eq!(like_pattern(" Dubois "), "%dubois%");
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }
}
