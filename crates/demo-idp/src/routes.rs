//! The provider's endpoints. Errors: a French page before the redirect URI is known to be
//! registered, the RFC 6749 `error` redirect after, RFC 6749 §5.2 JSON at the token endpoint and
//! RFC 6750 §3 at userinfo.

use ac_auth::{Token, ct_eq};
use ac_oidc::Acr;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use time::Duration;
use url::Url;

use crate::identities::IDENTITIES;
// The same scope → claims table as our own provider: FranceConnect defines it once.
use crate::store::{Grant, Kind, Request};
use crate::{DemoIdp, page};
use ac_oidc::op::claims_of_scope;

/// FranceConnect's lifetimes: codes 30 s, access tokens 60 s.
const CODE_TTL: Duration = Duration::seconds(30);
const TOKEN_TTL: Duration = Duration::seconds(60);
const INTERACTION_TTL: Duration = Duration::minutes(10);

impl DemoIdp {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0.settings.issuer)
    }

    fn now(&self) -> time::OffsetDateTime {
        self.0.clock.now()
    }
}

/// Form or query parameters; a repeated parameter is refused (RFC 6749 §3.1).
fn params(text: &str) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return None;
        }
    }
    Some(out)
}

fn random() -> Option<Token> {
    Token::generate(&ring::rand::SystemRandom::new()).ok()
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Back to the client's registered redirect URI with these parameters and `iss` (RFC 9207).
fn back_to_client(idp: &DemoIdp, redirect_uri: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return page::refused("Adresse de retour invalide.");
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        query.append_pair("iss", idp.issuer());
    }
    see_other(url.as_str())
}

fn oauth_error(
    status: actix_web::http::StatusCode,
    error: &str,
    description: &str,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": error, "error_description": description }))
}

pub(crate) async fn discovery(idp: web::Data<DemoIdp>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "issuer": idp.issuer(),
        "authorization_endpoint": idp.url("/authorize"),
        "token_endpoint": idp.url("/token"),
        "userinfo_endpoint": idp.url("/userinfo"),
        "jwks_uri": idp.url("/jwks"),
        "end_session_endpoint": idp.url("/session/end"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "userinfo_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": ["eidas1", "eidas2", "eidas3"],
        "scopes_supported": ["openid", "profile", "birth", "identite_pivot", "email",
            "given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry",
            "preferred_username"],
        "claims_supported": ["sub", "given_name", "family_name", "birthdate", "gender",
            "birthplace", "birthcountry", "email", "preferred_username", "acr"],
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["login", "consent"],
    }))
}

pub(crate) async fn jwks(idp: web::Data<DemoIdp>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .json(json!({ "keys": [idp.0.key.jwk()] }))
}

#[tracing::instrument(skip_all)]
pub(crate) async fn authorize(idp: web::Data<DemoIdp>, req: HttpRequest) -> HttpResponse {
    let Some(p) = params(req.query_string()) else {
        return page::refused("Paramètre répété dans la demande.");
    };
    let get = |name: &str| p.get(name).map(String::as_str).unwrap_or_default();
    let settings = &idp.0.settings;
    // RFC 6749 §4.1.2.1: an unknown client or unregistered redirect URI gets a page here, never
    // a redirect. The redirect URI is compared exactly.
    let registered = settings
        .redirect_uris
        .iter()
        .find(|uri| uri.as_str() == get("redirect_uri"));
    let (true, Some(redirect)) = (get("client_id") == settings.client_id, registered) else {
        return page::refused("Service inconnu ou adresse de retour non enregistrée.");
    };
    let redirect = redirect.as_str();
    let state = get("state");
    let fail = |error: &str| back_to_client(&idp, redirect, &[("error", error), ("state", state)]);
    if get("response_type") != "code" {
        return fail("unsupported_response_type");
    }
    let scopes: Vec<String> = get("scope")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return fail("invalid_scope");
    }
    // FranceConnect requires state and nonce of at least 32 characters.
    if state.len() < 32 || get("nonce").len() < 32 {
        return fail("invalid_request");
    }
    let code_challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) => None,
        (Some(c), Some(m)) if m == "S256" && c.len() == 43 => Some(c.clone()),
        _ => return fail("invalid_request"),
    };
    let acr = get("acr_values")
        .split(' ')
        .find_map(|v| v.parse::<Acr>().ok())
        .unwrap_or(Acr::Eidas1);
    let Some(interaction) = random() else {
        return fail("server_error");
    };
    let now = idp.now();
    let request = Request {
        redirect_uri: redirect.to_owned(),
        state: state.to_owned(),
        nonce: get("nonce").to_owned(),
        scopes,
        acr,
        code_challenge,
    };
    idp.0
        .store
        .put_interaction(&interaction, request, now + INTERACTION_TTL, now);
    page::choose(
        &format!("{}/authorize/choix", crate::PATH),
        interaction.expose(),
        acr.as_str(),
    )
}

#[tracing::instrument(skip_all)]
pub(crate) async fn choose(idp: web::Data<DemoIdp>, body: web::Bytes) -> HttpResponse {
    let form = params(&String::from_utf8_lossy(&body)).unwrap_or_default();
    let now = idp.now();
    let Some(request) = form
        .get("interaction")
        .and_then(|i| idp.0.store.take_interaction(i, now))
    else {
        return page::refused(
            "Cette demande de connexion a expiré ou a déjà servi : recommencez depuis le service.",
        );
    };
    if form.contains_key("cancel") {
        return back_to_client(
            &idp,
            &request.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "annulé par l'usager"),
                ("state", &request.state),
            ],
        );
    }
    let Some(identity) = form
        .get("identity")
        .and_then(|i| i.parse::<usize>().ok())
        .filter(|i| *i < IDENTITIES.len())
    else {
        return page::refused("Personne inconnue.");
    };
    let Some(code) = random() else {
        return page::refused("Erreur interne.");
    };
    let state = request.state.clone();
    let redirect = request.redirect_uri.clone();
    idp.0.store.put_grant(
        Kind::Code,
        &code,
        Grant { request, identity },
        now + CODE_TTL,
        now,
    );
    back_to_client(
        &idp,
        &redirect,
        &[("code", code.expose()), ("state", &state)],
    )
}

/// The `sub` of the person at `identity` for `client_id` ([`crate::subject_of`]).
fn subject(identity: usize, client_id: &str) -> String {
    let key = IDENTITIES.get(identity).map(|i| i.key).unwrap_or_default();
    crate::subject_of(key, client_id)
}

/// OIDC Core §3.1.3.6: base64url of the left half of SHA-256(access token).
fn at_hash(access_token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref().get(..16).unwrap_or_default())
}

#[tracing::instrument(skip_all)]
pub(crate) async fn token(idp: web::Data<DemoIdp>, body: web::Bytes) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Some(form) = params(&String::from_utf8_lossy(&body)) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "paramètre répété",
        );
    };
    let get = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let settings = &idp.0.settings;
    // client_secret_post (RFC 6749 §2.3.1), compared in constant time.
    let client_ok = get("client_id") == settings.client_id
        && ct_eq(
            get("client_secret").as_bytes(),
            settings.client_secret.expose(),
        );
    if !client_ok {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client inconnu");
    }
    if get("grant_type") != "authorization_code" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "code seulement",
        );
    }
    let now = idp.now();
    let Some(grant) = idp.0.store.take_code(get("code"), now) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code inconnu, expiré ou déjà utilisé",
        );
    };
    if get("redirect_uri") != grant.request.redirect_uri {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri différente",
        );
    }
    // RFC 7636 §4.6, and no downgrade: a verifier without a challenge is refused too.
    let pkce_ok = match (&grant.request.code_challenge, form.get("code_verifier")) {
        (None, None) => true,
        (Some(challenge), Some(verifier)) => {
            let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
            ct_eq(
                URL_SAFE_NO_PAD.encode(digest.as_ref()).as_bytes(),
                challenge.as_bytes(),
            )
        }
        _ => false,
    };
    if !pkce_ok {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code_verifier invalide",
        );
    }
    let Some(access_token) = random() else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "");
    };
    let id_token = idp.0.key.sign(&json!({
        "iss": idp.issuer(),
        "sub": subject(grant.identity, &settings.client_id),
        "aud": settings.client_id,
        "exp": (now + TOKEN_TTL).unix_timestamp(),
        "iat": now.unix_timestamp(),
        "nonce": grant.request.nonce,
        "acr": grant.request.acr.as_str(),
        "amr": ["pwd"],
        "at_hash": at_hash(access_token.expose()),
    }));
    let Ok(id_token) = id_token else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "");
    };
    idp.0.store.put_grant(
        Kind::AccessToken,
        &access_token,
        grant,
        now + TOKEN_TTL,
        now,
    );
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "access_token": access_token.expose(),
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL.whole_seconds(),
            "id_token": id_token,
        }))
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
        .finish()
}

#[tracing::instrument(skip_all)]
pub(crate) async fn userinfo(idp: web::Data<DemoIdp>, req: HttpRequest) -> HttpResponse {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let now = idp.now();
    let Some(grant) = bearer.and_then(|t| idp.0.store.access(t, now)) else {
        return unauthorized();
    };
    let Some(identity) = IDENTITIES.get(grant.identity) else {
        return unauthorized();
    };
    let client_id = &idp.0.settings.client_id;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(idp.issuer()));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("iat".into(), json!(now.unix_timestamp()));
    claims.insert("exp".into(), json!((now + TOKEN_TTL).unix_timestamp()));
    claims.insert("sub".into(), json!(subject(grant.identity, client_id)));
    for scope in &grant.request.scopes {
        for name in claims_of_scope(scope) {
            if let Some(value) = identity.claim(name) {
                claims.insert((*name).to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    match idp.0.key.sign(&claims) {
        // FranceConnect v2: userinfo is a signed JWT.
        Ok(jwt) => HttpResponse::Ok()
            .content_type("application/jwt")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(jwt),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

#[tracing::instrument(skip_all)]
pub(crate) async fn end_session(idp: web::Data<DemoIdp>, req: HttpRequest) -> HttpResponse {
    let p = params(req.query_string()).unwrap_or_default();
    let settings = &idp.0.settings;
    // RP-Initiated Logout §2–3: a hint we signed for this client, and only the registered URI;
    // otherwise a page, never a redirect.
    let hint_ok = p
        .get("id_token_hint")
        .and_then(|hint| idp.0.key.verify_own(hint, idp.issuer()))
        .is_some_and(|claims| {
            claims.get("aud").and_then(Value::as_str) == Some(settings.client_id.as_str())
        });
    let uri = p.get("post_logout_redirect_uri").and_then(|uri| {
        settings
            .post_logout_redirect_uris
            .iter()
            .find(|registered| *registered == uri)
    });
    let (true, Some(uri)) = (hint_ok, uri) else {
        return page::refused(
            "Déconnexion impossible : demande incomplète ou adresse de retour non enregistrée.",
        );
    };
    let Ok(mut url) = Url::parse(uri) else {
        return page::refused("Adresse de retour invalide.");
    };
    if let Some(state) = p.get("state") {
        url.query_pairs_mut().append_pair("state", state);
    }
    see_other(url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(params("a=1&b=2").is_some());
        assert!(params("a=1&a=2").is_none());
    }

    #[test]
    fn subjects_are_stable_per_person_and_client() {
        assert_eq!(subject(0, "c"), subject(0, "c"));
        assert_ne!(subject(0, "c"), subject(1, "c"));
        assert_ne!(subject(0, "c"), subject(0, "d"));
    }

    #[test]
    fn at_hash_test_vector() {
        // OIDC Core 1.0 Appendix A.4.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
