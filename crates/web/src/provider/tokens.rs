//! The back channel's work, without HTTP: a token request becomes tokens or an RFC 6749 §5.2
//! error; an access token becomes the userinfo answer. `protocol.rs` parses the requests and
//! writes these outcomes as HTTP responses.

use ac_auth::{Token, TokenHash};
use ac_oidc::Acr;
use ac_oidc::op::{self, Actor, CodeFacts, ErrorCode, IdTokenFacts, TokenError, UserinfoFormat};
use ac_storage::journal::AuditContext;
use ac_storage::oidc_grants::{self, CodeRecord, NewAccessToken, Redemption, UserinfoGrant};
use std::fmt;
use time::OffsetDateTime;

use super::{FoundClient, find_client};
use crate::respond::blocking;
use crate::{AppState, WebError};

/// What the token endpoint hands the client (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug)]
pub(super) struct Tokens {
    pub access_token: Token,
    /// The real lifetime, which the database also enforces.
    pub expires_in: i64,
    pub id_token: String,
    pub scope: String,
}

/// The database unreachable is `temporarily_unavailable` (503, `Retry-After`), as on every
/// other endpoint; any other failure is `server_error`.
fn web_failed(error: WebError) -> TokenError {
    match error {
        WebError::Unavailable(cause) => {
            tracing::error!(error = %cause, "token endpoint: a dependency is unavailable");
            TokenError {
                error: ErrorCode::TemporarilyUnavailable,
                description: "the service is temporarily unavailable",
            }
        }
        other => server_error(other),
    }
}

fn server_error(cause: impl fmt::Display) -> TokenError {
    tracing::error!(error = %cause, "token endpoint failed");
    TokenError {
        error: ErrorCode::ServerError,
        description: "internal error",
    }
}

fn invalid_grant(description: &'static str) -> TokenError {
    TokenError {
        error: ErrorCode::InvalidGrant,
        description,
    }
}

/// A protocol refusal carried through storage, which journals its description.
struct CodeRefused(TokenError);

impl fmt::Display for CodeRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.description)
    }
}

/// The authorization code grant (RFC 6749 §4.1.3–4.1.4, OIDC Core §3.1.3): the client
/// authenticated, the signer chosen before the code is consumed (a missing key must not burn
/// it), the code redeemed once with `can_act` again and the access token stored, then the
/// id_token signed. `body` is the form, `authorization` the `Authorization` header.
pub(super) async fn exchange(
    state: &AppState,
    body: &str,
    authorization: Option<&str>,
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<Tokens, TokenError> {
    let request = op::parse_token_request(body, authorization)?;
    let client_id = request.credentials.client_id.clone();
    tracing::Span::current().record("client_id", client_id.as_str());
    let (client, record) = authenticated(state, &request).await?;
    let provider = &state.provider;
    let signer = provider
        .signer_for(&state.db, now, client.id_token_alg, &record)
        .await
        .map_err(server_error)?;
    let access_token = Token::generate(provider.rng()).map_err(server_error)?;
    let context = oidc_grants::client_context(&client_id, request_id);
    let expires_at = now.saturating_add(provider.access_token_ttl);
    let (code, subject) = redeem(
        state,
        request,
        access_token.hash(),
        expires_at,
        context,
        now,
    )
    .await?;
    let claims = op::id_token_claims(&IdTokenFacts {
        issuer: &provider.issuer,
        subject: &subject,
        client_id: &client.id,
        nonce: code.nonce.as_deref(),
        auth_time: code.auth_time,
        acr: code.acr.parse().unwrap_or(Acr::Eidas1),
        access_token: access_token.expose(),
        now,
        ttl: provider.access_token_ttl,
        rep_scope: code
            .rep_scope_claim
            .then(|| code.demarche.franceconnect_scope()),
        actor: client.act_claim.then(|| Actor {
            aidant_id: code.aidant_id.as_str(),
            organisation_id: code.organisation_id.as_str(),
        }),
    });
    Ok(Tokens {
        id_token: signer.sign(&claims).map_err(server_error)?,
        access_token,
        expires_in: provider.access_token_ttl.whole_seconds(),
        scope: code.scopes.join(" "),
    })
}

/// The client the token request names, once its credentials are checked.
async fn authenticated(
    state: &AppState,
    request: &op::TokenRequest,
) -> Result<FoundClient, TokenError> {
    let client_id = &request.credentials.client_id;
    let found = find_client(state, Some(client_id))
        .await
        .map_err(web_failed)?;
    op::authenticate_client(
        &request.credentials,
        found.as_ref().map(|(c, r)| (c, r.secret_hash.as_str())),
    )?;
    found.ok_or_else(|| server_error("authenticated without a client"))
}

/// The code's single use (a replay revokes what it gave), its protocol checks and `can_act`
/// again, and the access token stored, in storage's one transaction; the code and the
/// usager's pseudonym when granted.
async fn redeem(
    state: &AppState,
    request: op::TokenRequest,
    token_hash: TokenHash,
    expires_at: OffsetDateTime,
    context: AuditContext,
    now: OffsetDateTime,
) -> Result<(Box<CodeRecord>, String), TokenError> {
    let (db, code_hash) = (state.db.clone(), TokenHash::of(request.code.as_bytes()));
    let redeemed = blocking(move || {
        oidc_grants::redeem_code(
            &mut *db.conn()?,
            &code_hash,
            &request.credentials.client_id,
            |code| {
                let facts = CodeFacts {
                    client_id: &code.client_id,
                    redirect_uri: &code.redirect_uri,
                    code_challenge: code.code_challenge.as_deref(),
                    expires_at: code.expires_at,
                };
                op::check_code(&facts, &request, now).map_err(CodeRefused)
            },
            &NewAccessToken {
                token_hash: &token_hash,
                expires_at,
            },
            &context,
            now,
        )
    })
    .await
    .map_err(web_failed)?;
    match redeemed {
        Redemption::Granted { code, subject } => Ok((code, subject)),
        Redemption::Unknown => Err(invalid_grant("code unknown")),
        Redemption::Replayed { .. } => Err(invalid_grant(
            "code already used; tokens issued from it are revoked",
        )),
        Redemption::Refused(CodeRefused(error)) => Err(error),
        Redemption::MandateRefused(_) => {
            Err(invalid_grant("the mandate no longer covers this use"))
        }
    }
}

/// What userinfo answers for an access token (OIDC Core §5.3).
#[derive(Debug)]
pub(super) enum UserinfoAnswer {
    /// The granted claims as a JSON object.
    Json(String),
    /// The granted claims as a JWT signed for the client.
    Jwt(String),
    /// RFC 6750 §3.1 `invalid_token`, with its description.
    InvalidToken(&'static str),
}

/// The claims of the scopes granted with `token`, after `can_act` again and the use journaled
/// (in storage), as JSON or as a JWT signed for the client.
pub(super) async fn userinfo(
    state: &AppState,
    token: &str,
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<UserinfoAnswer, WebError> {
    let (db, hash) = (state.db.clone(), TokenHash::of(token.as_bytes()));
    let grant =
        blocking(move || oidc_grants::userinfo(&mut *db.conn()?, &hash, request_id, now)).await?;
    let (code, usager) = match grant {
        UserinfoGrant::Served { code, usager } => (code, usager),
        UserinfoGrant::InvalidToken => {
            return Ok(UserinfoAnswer::InvalidToken(
                "token unknown, expired or revoked",
            ));
        }
        UserinfoGrant::MandateRefused { .. } => {
            return Ok(UserinfoAnswer::InvalidToken(
                "the mandate no longer covers this use",
            ));
        }
    };
    let provider = &state.provider;
    let Some((client, record)) = find_client(state, Some(&code.client_id)).await? else {
        return Ok(UserinfoAnswer::InvalidToken("client no longer registered"));
    };
    let signed = match client.userinfo {
        UserinfoFormat::Json => None,
        UserinfoFormat::Signed(alg) => Some(alg),
    };
    let claims = op::userinfo_claims(
        &usager.subject,
        &code.scopes,
        &usager.identity,
        signed.map(|_| {
            (
                provider.issuer.as_str(),
                client.id.as_str(),
                now,
                provider.access_token_ttl,
            )
        }),
    );
    match signed {
        None => Ok(UserinfoAnswer::Json(
            serde_json::Value::Object(claims).to_string(),
        )),
        Some(alg) => {
            let signer = provider.signer_for(&state.db, now, alg, &record).await?;
            Ok(UserinfoAnswer::Jwt(
                signer.sign(&claims).map_err(WebError::internal)?,
            ))
        }
    }
}
