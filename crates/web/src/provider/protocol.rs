//! The back-channel and metadata endpoints: discovery, JWKS, token, userinfo; and end-session.
//! Errors are RFC 6749 §5.2 / RFC 6750 §3 JSON (the error pages keep JSON bodies as they are).

use ac_oidc::op::{self, EndSessionOutcome, EndSessionRequest, ErrorCode, TokenError};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use tracing::instrument;

use super::tokens::{self, UserinfoAnswer};
use super::{find_client, hs256_secret};
use crate::auth::request_id;
use crate::respond::page;
use crate::{AppState, WebError};

pub(crate) async fn discovery(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let provider = &state.provider;
    let keys = provider.keys(&state.db, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(op::discovery_document(&provider.issuer, &keys.algorithms())))
}

/// Clients may cache the set for five minutes; keys are published as `next` long before they
/// sign (`keys rotate`), so a cached set always holds the signing key.
pub(crate) async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
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

fn is_form(req: &HttpRequest) -> bool {
    crate::security::is_form(req.headers())
}

/// The token endpoint (RFC 6749 §4.1.3–4.1.4, OIDC Core §3.1.3). Neither the code, the secret
/// nor the tokens reach a log: arguments are skipped, and only the client id is recorded.
#[instrument(skip_all, fields(client_id))]
pub(crate) async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let invalid = |description| TokenError {
        error: ErrorCode::InvalidRequest,
        description,
    };
    let body = if is_form(&req) {
        std::str::from_utf8(&body).map_err(|_| invalid("body is not UTF-8"))
    } else {
        Err(invalid("form-urlencoded body expected"))
    };
    let now = state.clock.now();
    let exchanged = match body {
        Ok(body) => tokens::exchange(&state, body, authorization, request_id(&req), now).await,
        Err(error) => Err(error),
    };
    match exchanged {
        Ok(tokens) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(json!({
                "access_token": tokens.access_token.expose(),
                "token_type": "Bearer",
                "expires_in": tokens.expires_in,
                "id_token": tokens.id_token,
                "scope": tokens.scope,
            })),
        Err(error) => token_error(error, authorization.is_some()),
    }
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
pub(crate) async fn userinfo(
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
    let answer = |content_type: &str, body: String| {
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body)
    };
    let now = state.clock.now();
    Ok(
        match tokens::userinfo(&state, &token, request_id(&req), now).await? {
            UserinfoAnswer::Json(claims) => answer("application/json", claims),
            UserinfoAnswer::Jwt(jwt) => answer("application/jwt", jwt),
            UserinfoAnswer::InvalidToken(description) => {
                bearer_error(Some(ErrorCode::InvalidToken), description)
            }
        },
    )
}

/// RP-Initiated Logout 1.0 (GET and POST, §2). The aidant's own session is not ended here: the
/// partner's logout ends the partner's session; closing Aidants Connect stays the aidant's act
/// (a shared computer shows the logout button on the page).
#[instrument(skip_all)]
pub(crate) async fn end_session(
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
