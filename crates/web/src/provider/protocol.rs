//! The back-channel and metadata endpoints: discovery, JWKS, token, userinfo; and end-session.
//! Errors are RFC 6749 §5.2 / RFC 6750 §3 JSON (the error pages keep JSON bodies as they are).

use ac_auth::{Token, TokenHash};
use ac_oidc::op::{
    self, Actor, CodeFacts, EndSessionOutcome, EndSessionRequest, ErrorCode, IdTokenFacts,
    TokenError, UserinfoFormat,
};
use ac_oidc::{Acr, SigningAlg};
use ac_storage::oidc_grants::{self, NewAccessToken, Redemption, UserinfoGrant};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::fmt;
use tracing::instrument;

use super::{ProviderRuntime, find_client, hs256_secret};
use crate::auth::request_id;
use crate::respond::page;
use crate::{AppState, WebError};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(op::DISCOVERY_PATH).get(discovery))
        .service(web::resource(op::JWKS_PATH).get(jwks))
        .service(web::resource(op::TOKEN_PATH).post(token))
        .service(
            web::resource(op::USERINFO_PATH)
                .get(userinfo)
                .post(userinfo),
        )
        .service(
            web::resource(op::END_SESSION_PATH)
                .get(end_session)
                .post(end_session),
        );
}

async fn discovery(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let provider = &state.provider;
    let keys = provider.keys(&state.db, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(op::discovery_document(&provider.issuer, &keys.algorithms())))
}

/// Clients may cache the set for five minutes; keys are published as `next` long before they
/// sign (`keys rotate`), so a cached set always holds the signing key.
async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let keys = state.provider.keys(&state.db, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(keys.jwks().to_string()))
}

/// RFC 6749 §5.1–5.2: JSON, never cached; `invalid_client` after HTTP Basic carries the
/// challenge.
fn token_error(error: TokenError, basic: bool) -> HttpResponse {
    let mut response = HttpResponse::build(
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
    );
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if basic && error.error == ErrorCode::InvalidClient {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"aidants-connect\""));
    }
    if error.error == ErrorCode::TemporarilyUnavailable {
        response.insert_header((
            header::RETRY_AFTER,
            crate::error::RETRY_AFTER_SECS.to_string(),
        ));
    }
    response.json(error.body())
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

fn storage_failed(error: ac_storage::StorageError) -> TokenError {
    web_failed(WebError::from(error))
}

fn server_error(cause: impl fmt::Display) -> TokenError {
    tracing::error!(error = %cause, "token endpoint failed");
    TokenError {
        error: ErrorCode::ServerError,
        description: "internal error",
    }
}

/// A protocol refusal carried through storage, which journals its description.
struct CodeRefused(TokenError);

impl fmt::Display for CodeRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.description)
    }
}

fn is_form(req: &HttpRequest) -> bool {
    crate::security::is_form(req.headers())
}

/// The token endpoint (RFC 6749 §4.1.3–4.1.4, OIDC Core §3.1.3). Neither the code, the secret
/// nor the tokens reach a log: arguments are skipped, and only the client id is recorded.
#[instrument(skip_all, fields(client_id))]
async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let basic = authorization.is_some();
    match exchange(&state, &req, &body, authorization.as_deref()).await {
        Ok(response) => response,
        Err(error) => token_error(error, basic),
    }
}

async fn exchange(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<HttpResponse, TokenError> {
    let invalid = |d| TokenError {
        error: ErrorCode::InvalidRequest,
        description: d,
    };
    if !is_form(req) {
        return Err(invalid("form-urlencoded body expected"));
    }
    let body = std::str::from_utf8(body).map_err(|_| invalid("body is not UTF-8"))?;
    let request = op::parse_token_request(body, authorization)?;
    let client_id = request.credentials.client_id.clone();
    tracing::Span::current().record("client_id", client_id.as_str());
    let found = find_client(state, Some(&client_id))
        .await
        .map_err(web_failed)?;
    op::authenticate_client(
        &request.credentials,
        found.as_ref().map(|(c, r)| (c, r.secret_hash.as_str())),
    )?;
    let Some((client, record)) = found else {
        return Err(server_error("authenticated without a client"));
    };
    let provider: &ProviderRuntime = &state.provider;
    let now = state.clock.now();
    // Before the code is consumed: the key that will sign must exist.
    let keys = provider.keys(&state.db, now).await.map_err(server_error)?;
    let hs_secret = hs256_secret(provider, &record).map_err(server_error)?;
    let signable = match client.id_token_alg {
        SigningAlg::HS256 => hs_secret.is_some(),
        alg => keys.signer(alg).is_some(),
    };
    if !signable {
        return Err(server_error(format!(
            "no current {} key for client {}",
            client.id_token_alg, client.id
        )));
    }
    let access_token = Token::generate(provider.rng()).map_err(server_error)?;
    let token_hash = access_token.hash();
    let code_hash = TokenHash::of(request.code.as_bytes());
    let expires_at = now + provider.access_token_ttl;
    let context = oidc_grants::client_context(&client_id, request_id(req));
    let db = state.db.clone();
    let redeemed = web::block(move || {
        oidc_grants::redeem_code(
            &mut *db.conn()?,
            &code_hash,
            &client_id,
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
    .map_err(server_error)?
    .map_err(storage_failed)?;
    let grant = |d| TokenError {
        error: ErrorCode::InvalidGrant,
        description: d,
    };
    let (code, subject) = match redeemed {
        Redemption::Granted { code, subject } => (code, subject),
        Redemption::Unknown => return Err(grant("code unknown")),
        Redemption::Replayed { .. } => {
            return Err(grant(
                "code already used; tokens issued from it are revoked",
            ));
        }
        Redemption::Refused(CodeRefused(error)) => return Err(error),
        Redemption::MandateRefused(_) => {
            return Err(grant("the mandate no longer covers this use"));
        }
    };
    let facts = IdTokenFacts {
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
    };
    let claims = op::id_token_claims(&facts);
    let id_token = match client.id_token_alg {
        SigningAlg::HS256 => hs_secret
            .as_ref()
            .ok_or_else(|| server_error("HS256 secret"))
            .and_then(|s| op::sign_hs256(s.expose(), "JWT", &claims).map_err(server_error)),
        alg => keys
            .signer(alg)
            .ok_or_else(|| server_error("key"))
            .and_then(|k| k.sign("JWT", &claims).map_err(server_error)),
    }?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "access_token": access_token.expose(),
            "token_type": "Bearer",
            // The real lifetime, which the database also enforces.
            "expires_in": provider.access_token_ttl.whole_seconds(),
            "id_token": id_token,
            "scope": code.scopes.join(" "),
        })))
}

/// RFC 6750 §3: the challenge in `WWW-Authenticate`, and the same facts in a JSON body (which
/// the error pages leave as it is).
fn bearer_error(error: Option<ErrorCode>, description: &'static str) -> HttpResponse {
    let (status, challenge, code) = match error {
        None => (
            StatusCode::UNAUTHORIZED,
            "Bearer realm=\"aidants-connect\"".to_owned(),
            ErrorCode::InvalidRequest,
        ),
        Some(ErrorCode::InvalidRequest) => (
            StatusCode::BAD_REQUEST,
            format!(
                "Bearer realm=\"aidants-connect\", error=\"invalid_request\", error_description=\"{description}\""
            ),
            ErrorCode::InvalidRequest,
        ),
        Some(code) => (
            StatusCode::UNAUTHORIZED,
            format!(
                "Bearer realm=\"aidants-connect\", error=\"{}\", error_description=\"{description}\"",
                code.as_str()
            ),
            code,
        ),
    };
    HttpResponse::build(status)
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": code.as_str(), "error_description": description }))
}

/// The access token: the `Authorization: Bearer` header (RFC 6750 §2.1), or for POST the
/// `access_token` form field (§2.2); never the query string (§2.3 is not offered), never both.
fn bearer(req: &HttpRequest, body: &[u8]) -> Result<Option<String>, &'static str> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let form = (req.method() == actix_web::http::Method::POST && is_form(req))
        .then(|| {
            url::form_urlencoded::parse(body)
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();
    match (header, form) {
        (Some(_), Some(_)) => Err("more than one way of sending the token"),
        (Some(token), None) | (None, Some(token)) => Ok(Some(token)),
        (None, None) => Ok(None),
    }
}

/// Userinfo (OIDC Core §5.3): only the claims of the granted scopes, as JSON or as a JWT signed
/// for the client. The mandate is checked again here (in storage), and the use journaled.
#[instrument(skip_all)]
async fn userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let token = match bearer(&req, &body) {
        Ok(Some(token)) => token,
        Ok(None) => return Ok(bearer_error(None, "access token missing")),
        Err(description) => {
            return Ok(bearer_error(Some(ErrorCode::InvalidRequest), description));
        }
    };
    let now = state.clock.now();
    let (db, hash, rid) = (
        state.db.clone(),
        TokenHash::of(token.as_bytes()),
        request_id(&req),
    );
    let grant =
        web::block(move || oidc_grants::userinfo(&mut *db.conn()?, &hash, rid, now)).await??;
    let invalid = |d| Ok(bearer_error(Some(ErrorCode::InvalidToken), d));
    let (code, usager) = match grant {
        UserinfoGrant::Served { code, usager } => (code, usager),
        UserinfoGrant::InvalidToken => return invalid("token unknown, expired or revoked"),
        UserinfoGrant::MandateRefused { .. } => {
            return invalid("the mandate no longer covers this use");
        }
    };
    let provider = &state.provider;
    let Some((client, record)) = find_client(&state, Some(&code.client_id)).await? else {
        return invalid("client no longer registered");
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
    let response = |content_type: &str, body: String| {
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body)
    };
    match signed {
        None => Ok(response(
            "application/json",
            serde_json::Value::Object(claims).to_string(),
        )),
        Some(SigningAlg::HS256) => {
            let secret = hs256_secret(provider, &record)?
                .ok_or_else(|| WebError::internal("HS256 client without its secret"))?;
            let jwt =
                op::sign_hs256(secret.expose(), "JWT", &claims).map_err(WebError::internal)?;
            Ok(response("application/jwt", jwt))
        }
        Some(alg) => {
            let keys = provider.keys(&state.db, now).await?;
            let key = keys
                .signer(alg)
                .ok_or_else(|| WebError::internal(format!("no current {alg} key")))?;
            Ok(response(
                "application/jwt",
                key.sign("JWT", &claims).map_err(WebError::internal)?,
            ))
        }
    }
}

/// RP-Initiated Logout 1.0 (GET and POST, §2). The aidant's own session is not ended here: the
/// partner's logout ends the partner's session; closing Aidants Connect stays the aidant's act
/// (a shared computer shows the logout button on the page).
#[instrument(skip_all)]
async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let encoded = if req.method() == actix_web::http::Method::POST {
        String::from_utf8_lossy(&body).into_owned()
    } else {
        req.query_string().to_owned()
    };
    let request = EndSessionRequest::parse(&encoded);
    let found = find_client(&state, request.claimed_client().as_deref()).await?;
    let provider = &state.provider;
    let secret = match &found {
        Some((_, record)) => hs256_secret(provider, record)?,
        None => None,
    };
    let keys = provider.keys(&state.db, state.clock.now()).await?;
    let outcome = op::decide_end_session(
        &request,
        found
            .as_ref()
            .map(|(client, _)| (client, secret.as_ref().map(|s| s.expose()))),
        keys.published(),
        &provider.issuer,
    );
    match outcome {
        EndSessionOutcome::Redirect(location) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()),
        EndSessionOutcome::Confirm { return_to } => {
            let body = state
                .templates
                .render("provider/logout.html", &json!({ "return_to": return_to }))?;
            Ok(page(HttpResponse::Ok(), body))
        }
    }
}
