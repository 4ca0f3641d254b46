//! The writes of the provider's two hot steps, each all-or-nothing:
//! - the choice: the code, the session's audited activity and the `delegation.started` entry;
//! - the token: the code's single use, then the access token (if granted) and the entry.
//!
//! On PostgreSQL each is **one statement** (data-modifying `WITH` clauses), which commits alone:
//! no `BEGIN`/`COMMIT` and one round trip instead of five or six, the largest remaining cost of a
//! delegated flow (`docs/performance.md`). A statement is atomic, so the step and its journal
//! entry still commit together or not at all. On SQLite, which has no data-modifying `WITH`, the
//! same rows are written by separate statements inside the caller's write transaction, which
//! holds the database's write lock for the whole step.
//!
//! The PostgreSQL statements are query types of their own with a fixed text, so diesel prepares
//! each once per connection (a `sql_query` or a DSL `UPDATE` is planned again at every call).

use ac_auth::TokenHash;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text, Timestamp};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::StorageError;
use crate::journal;
use crate::schema::{oidc_access_tokens, oidc_answered_requests, oidc_authorization_codes};
use crate::{DbConnection, sessions, to_db, write};

/// Runs a step that reads what decides it, then writes through this module: inside a write
/// transaction on SQLite; without one on PostgreSQL, where each write is one statement that
/// commits alone and the reads before it see what a read-committed transaction would.
pub(crate) fn step<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    match conn {
        DbConnection::Pg(_) => f(conn),
        DbConnection::Sqlite(_) => write(conn, f),
    }
}

/// A code's row, as the choice step stores it. `None` is written as `NULL` rather than
/// `DEFAULT`, so the insert's text does not depend on the values: on PostgreSQL it sits inside
/// a statement prepared once per connection.
#[derive(Insertable)]
#[diesel(table_name = oidc_authorization_codes, treat_none_as_default_value = false)]
pub(crate) struct CodeValues<'a> {
    pub code_hash: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub scopes: String,
    pub aidant_id: &'a str,
    pub usager_id: &'a str,
    pub authorization_id: &'a str,
    pub demarche: &'a str,
    pub rep_scope_claim: bool,
    pub auth_time: PrimitiveDateTime,
    pub acr: &'a str,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
}

/// The authorization request a code answers: its id is inserted with the code, and its
/// primary key refuses a second code for the request.
pub(crate) struct AnsweredRequest<'a> {
    pub interaction_id: &'a str,
    pub expires_at: PrimitiveDateTime,
}

/// Stores a code with the session's audited activity and the journal entry (`entry`, from
/// `journal::entry_text`). On SQLite, call it inside a write transaction.
pub(crate) fn store_code(
    conn: &mut DbConnection,
    code: &CodeValues<'_>,
    request: &AnsweredRequest<'_>,
    session: &TokenHash,
    entry: &str,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    match conn {
        DbConnection::Pg(pg) => {
            StoreCode {
                code: diesel::insert_into(oidc_authorization_codes::table).values(code),
                request,
                session: session.as_str(),
                entry,
                now: to_db(now),
            }
            .execute(pg)
            .map_err(StorageError::from_query)?;
        }
        DbConnection::Sqlite(_) => {
            // First, so a request already answered stops the step before any other write.
            diesel::insert_into(oidc_answered_requests::table)
                .values((
                    oidc_answered_requests::interaction_id.eq(request.interaction_id),
                    oidc_answered_requests::expires_at.eq(request.expires_at),
                ))
                .execute(conn)
                .map_err(StorageError::from_query)?;
            diesel::insert_into(oidc_authorization_codes::table)
                .values(code)
                .execute(conn)
                .map_err(StorageError::from_query)?;
            sessions::record_activity(conn, session, now)?;
            journal::append(conn, entry, now)?;
        }
    }
    Ok(())
}

/// The access token a granted first use stores.
pub(crate) struct TokenValues<'a> {
    pub token_hash: &'a str,
    pub expires_at: PrimitiveDateTime,
}

/// Marks a code used if it was not, and only then stores `token` (a granted use) and the journal
/// entry. `false`: the code was already used (a replay; nothing written). On SQLite, call it
/// inside a write transaction.
pub(crate) fn first_use(
    conn: &mut DbConnection,
    code_hash: &TokenHash,
    token: Option<&TokenValues<'_>>,
    entry: &str,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let at = to_db(now);
    match conn {
        DbConnection::Pg(pg) => {
            let marked: i64 = match token {
                Some(token) => FirstUse::<true> {
                    code_hash: code_hash.as_str(),
                    token_hash: token.token_hash,
                    token_expires_at: token.expires_at,
                    entry,
                    now: at,
                }
                .get_result(pg)
                .map_err(StorageError::from_query)?,
                // The token fields are not sent: the text follows `TOKEN` alone, as the
                // prepared statement's cache key does.
                None => FirstUse::<false> {
                    code_hash: code_hash.as_str(),
                    token_hash: "",
                    token_expires_at: at,
                    entry,
                    now: at,
                }
                .get_result(pg)
                .map_err(StorageError::from_query)?,
            };
            Ok(marked > 0)
        }
        DbConnection::Sqlite(_) => {
            let marked = diesel::update(
                oidc_authorization_codes::table
                    .find(code_hash.as_str())
                    .filter(oidc_authorization_codes::used_at.is_null()),
            )
            .set(oidc_authorization_codes::used_at.eq(Some(at)))
            .execute(conn)?;
            if marked == 0 {
                return Ok(false);
            }
            if let Some(token) = token {
                diesel::insert_into(oidc_access_tokens::table)
                    .values((
                        oidc_access_tokens::token_hash.eq(token.token_hash),
                        oidc_access_tokens::code_hash.eq(code_hash.as_str()),
                        oidc_access_tokens::created_at.eq(at),
                        oidc_access_tokens::expires_at.eq(token.expires_at),
                    ))
                    .execute(conn)
                    .map_err(StorageError::from_query)?;
            }
            journal::append(conn, entry, now)?;
            Ok(true)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The PostgreSQL statements.

/// Request answered, code, session activity and entry in one statement. `I` is the code's
/// `INSERT`, built by diesel from [`CodeValues`]. A request already answered fails the whole
/// statement on the primary key of `oidc_answered_requests` (a unique violation), so nothing
/// of it is written.
struct StoreCode<'a, I> {
    code: I,
    request: &'a AnsweredRequest<'a>,
    session: &'a str,
    entry: &'a str,
    now: PrimitiveDateTime,
}

impl<I> QueryId for StoreCode<'_, I> {
    // One text for every call (`CodeValues` never renders `DEFAULT`), hence one key.
    type QueryId = StoreCode<'static, ()>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<I> RunQueryDsl<PgConnection> for StoreCode<'_, I> {}

impl<I: QueryFragment<Pg>> QueryFragment<Pg> for StoreCode<'_, I> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH answered AS (INSERT INTO oidc_answered_requests (interaction_id, expires_at) \
             VALUES (",
        );
        out.push_bind_param::<Text, _>(self.request.interaction_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.request.expires_at)?;
        out.push_sql(")), code AS (");
        self.code.walk_ast(out.reborrow())?;
        out.push_sql("), activity AS (UPDATE auth_sessions SET last_activity_at = ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(", last_seen_at = ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" WHERE id_hash = ");
        out.push_bind_param::<Text, _>(self.session)?;
        out.push_sql(") INSERT INTO audit_pending (entry, created_at) VALUES (");
        out.push_bind_param::<Text, _>(self.entry)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(")");
        Ok(())
    }
}

/// The conditional single-use mark, then (only if it marked the code) the token when `TOKEN`,
/// and the entry, in one statement; it returns how many codes it marked (0 or 1).
struct FirstUse<'a, const TOKEN: bool> {
    code_hash: &'a str,
    token_hash: &'a str,
    token_expires_at: PrimitiveDateTime,
    entry: &'a str,
    now: PrimitiveDateTime,
}

impl<const TOKEN: bool> QueryId for FirstUse<'_, TOKEN> {
    type QueryId = FirstUse<'static, TOKEN>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const TOKEN: bool> Query for FirstUse<'_, TOKEN> {
    type SqlType = BigInt;
}

impl<const TOKEN: bool> RunQueryDsl<PgConnection> for FirstUse<'_, TOKEN> {}

impl<const TOKEN: bool> QueryFragment<Pg> for FirstUse<'_, TOKEN> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH used AS (UPDATE oidc_authorization_codes SET used_at = ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" WHERE code_hash = ");
        out.push_bind_param::<Text, _>(self.code_hash)?;
        out.push_sql(" AND used_at IS NULL RETURNING code_hash), ");
        if TOKEN {
            out.push_sql(
                "token AS (INSERT INTO oidc_access_tokens (token_hash, code_hash, created_at, \
                 expires_at) SELECT ",
            );
            out.push_bind_param::<Text, _>(self.token_hash)?;
            out.push_sql(", code_hash, ");
            out.push_bind_param::<Timestamp, _>(&self.now)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&self.token_expires_at)?;
            out.push_sql(" FROM used), ");
        }
        out.push_sql("entry AS (INSERT INTO audit_pending (entry, created_at) SELECT ");
        out.push_bind_param::<Text, _>(self.entry)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" FROM used) SELECT count(*) FROM used");
        Ok(())
    }
}
