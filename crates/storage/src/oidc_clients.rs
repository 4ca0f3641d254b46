//! Clients of the identity provider (partner websites; in practice FranceConnect). The secret is
//! stored as its SHA-256 only, plus sealed for a client that needs it as an HS256 key. The
//! registration rules themselves are `ac_oidc::op::Client::validate`'s; callers check first.

use ac_audit::Action;
use ac_auth::TokenHash;
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::oidc_clients;
use crate::{DbConnection, from_db, to_db, write};

/// A client as stored. Lists are space-separated in the database (URIs and scope names contain
/// no spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    /// SHA-256 (hex) of the secret.
    pub secret_hash: String,
    /// The secret sealed with the provider's key ring, for HS256 clients only.
    pub sealed_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: String,
    pub id_token_alg: String,
    /// `None`: JSON userinfo.
    pub userinfo_alg: Option<String>,
    pub allowed_scopes: Vec<String>,
    pub act_claim: bool,
    pub is_active: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oidc_clients)]
struct Row {
    id: String,
    name: String,
    secret_hash: String,
    sealed_secret: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    auth_method: String,
    id_token_alg: String,
    userinfo_alg: Option<String>,
    allowed_scopes: String,
    act_claim: bool,
    is_active: bool,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

fn split(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl From<Row> for ClientRecord {
    fn from(row: Row) -> Self {
        Self {
            redirect_uris: split(&row.redirect_uris),
            post_logout_redirect_uris: split(&row.post_logout_redirect_uris),
            allowed_scopes: split(&row.allowed_scopes),
            id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            sealed_secret: row.sealed_secret,
            auth_method: row.auth_method,
            id_token_alg: row.id_token_alg,
            userinfo_alg: row.userinfo_alg,
            act_claim: row.act_claim,
            is_active: row.is_active,
            created_at: from_db(row.created_at),
            updated_at: from_db(row.updated_at),
        }
    }
}

/// A registration to store: everything but the timestamps.
#[derive(Debug, Clone)]
pub struct NewClient<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub secret_hash: &'a TokenHash,
    pub sealed_secret: Option<&'a str>,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    pub auth_method: &'a str,
    pub id_token_alg: &'a str,
    pub userinfo_alg: Option<&'a str>,
    pub allowed_scopes: &'a [String],
    pub act_claim: bool,
}

fn registration_event(action: Action, client: &NewClient<'_>) -> Event {
    Event::new(action)
        .client(client.id)
        .target(client.id)
        .detail("auth_method", client.auth_method)
        .detail("id_token_alg", client.id_token_alg)
        .detail("userinfo", client.userinfo_alg.unwrap_or("json"))
        .detail("scopes", client.allowed_scopes.join(" "))
        .detail("redirect_uris", client.redirect_uris.join(" "))
        .detail("act_claim", client.act_claim)
}

/// Registers a client; `Conflict` if the id is taken.
pub fn insert(
    conn: &mut DbConnection,
    client: &NewClient<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        diesel::insert_into(oidc_clients::table)
            .values((
                oidc_clients::id.eq(client.id),
                oidc_clients::name.eq(client.name),
                oidc_clients::secret_hash.eq(client.secret_hash.as_str()),
                oidc_clients::sealed_secret.eq(client.sealed_secret),
                oidc_clients::redirect_uris.eq(client.redirect_uris.join(" ")),
                oidc_clients::post_logout_redirect_uris
                    .eq(client.post_logout_redirect_uris.join(" ")),
                oidc_clients::auth_method.eq(client.auth_method),
                oidc_clients::id_token_alg.eq(client.id_token_alg),
                oidc_clients::userinfo_alg.eq(client.userinfo_alg),
                oidc_clients::allowed_scopes.eq(client.allowed_scopes.join(" ")),
                oidc_clients::act_claim.eq(client.act_claim),
                oidc_clients::is_active.eq(true),
                oidc_clients::created_at.eq(to_db(now)),
                oidc_clients::updated_at.eq(to_db(now)),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        journal::record(
            tx,
            context,
            registration_event(Action::OidcClientCreated, client),
            now,
        )
    })
}

/// Replaces a client's whole registration, secret included (the dev-mode demonstration client is
/// re-registered this way when its address or secret changes). `NotFound` if there is none.
pub fn replace(
    conn: &mut DbConnection,
    client: &NewClient<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let changed = diesel::update(oidc_clients::table.find(client.id))
            .set((
                oidc_clients::name.eq(client.name),
                oidc_clients::secret_hash.eq(client.secret_hash.as_str()),
                oidc_clients::sealed_secret.eq(client.sealed_secret),
                oidc_clients::redirect_uris.eq(client.redirect_uris.join(" ")),
                oidc_clients::post_logout_redirect_uris
                    .eq(client.post_logout_redirect_uris.join(" ")),
                oidc_clients::auth_method.eq(client.auth_method),
                oidc_clients::id_token_alg.eq(client.id_token_alg),
                oidc_clients::userinfo_alg.eq(client.userinfo_alg),
                oidc_clients::allowed_scopes.eq(client.allowed_scopes.join(" ")),
                oidc_clients::act_claim.eq(client.act_claim),
                oidc_clients::is_active.eq(true),
                oidc_clients::updated_at.eq(to_db(now)),
            ))
            .execute(tx)?;
        if changed == 0 {
            return Err(StorageError::NotFound);
        }
        let event =
            registration_event(Action::OidcClientUpdated, client).detail("secret", "replaced");
        journal::record(tx, context, event, now)
    })
}

/// Turns a client off (its requests are then refused as from an unknown client) or back on.
pub fn set_active(
    conn: &mut DbConnection,
    id: &str,
    active: bool,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let changed = diesel::update(oidc_clients::table.find(id))
            .set((
                oidc_clients::is_active.eq(active),
                oidc_clients::updated_at.eq(to_db(now)),
            ))
            .execute(tx)?;
        if changed == 0 {
            return Err(StorageError::NotFound);
        }
        let event = Event::new(Action::OidcClientUpdated)
            .client(id)
            .target(id)
            .detail("is_active", active);
        journal::record(tx, context, event, now)
    })
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Option<ClientRecord>, StorageError> {
    Ok(oidc_clients::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(ClientRecord::from))
}

/// An active client by id: what the protocol endpoints look up.
pub fn get_active(conn: &mut DbConnection, id: &str) -> Result<Option<ClientRecord>, StorageError> {
    Ok(get(conn, id)?.filter(|c| c.is_active))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ClientRecord>, StorageError> {
    Ok(oidc_clients::table
        .order(oidc_clients::id)
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(ClientRecord::from)
        .collect())
}
