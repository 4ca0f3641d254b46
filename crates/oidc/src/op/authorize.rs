//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), checked in the order that
//! decides where an error may go: until the client and its redirect URI are known, a refusal is a
//! page for the person, never a redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.11); after, it goes
//! back to that URI with `error`, `error_description`, `state` and `iss` (RFC 9207).

use ac_mandates::Demarche;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use url::Url;

use super::client::Client;
use super::error::ErrorCode;
use super::pkce;
use super::scope::{granted_scopes, parse_scopes};
use crate::Acr;

/// Longest `state` and `nonce` accepted. FranceConnect sends 32 to 64 characters; the bound
/// keeps a pending request small enough for a cookie while the aidant signs in.
pub const MAX_STATE_LEN: usize = 512;

/// Request parameters as received (query string or form body).
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    pairs: BTreeMap<String, String>,
    repeated: BTreeSet<String>,
}

impl AuthorizeParams {
    /// `application/x-www-form-urlencoded` text, from the query or the POST body.
    pub fn parse(encoded: &str) -> Self {
        let mut params = Self::default();
        for (name, value) in url::form_urlencoded::parse(encoded.as_bytes()) {
            match params.pairs.entry(name.into_owned()) {
                std::collections::btree_map::Entry::Occupied(taken) => {
                    params.repeated.insert(taken.key().clone());
                }
                std::collections::btree_map::Entry::Vacant(free) => {
                    free.insert(value.into_owned());
                }
            }
        }
        params
    }

    /// A parameter sent once; `None` when absent, empty or repeated. RFC 6749 §3.1: parameters
    /// "MUST NOT be included more than once"; an empty value is treated as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        if self.repeated.contains(name) {
            return None;
        }
        self.pairs
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn client_id(&self) -> Option<&str> {
        self.get("client_id")
    }

    /// The same parameters, encoded again (to move a POST request to a GET, or to keep it while
    /// the aidant signs in).
    pub fn to_query(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.pairs {
            out.append_pair(name, value);
        }
        out.finish()
    }
}

/// Why a request is refused with a page: nothing in it can be trusted as a place to redirect to.
/// Its message is the French text the person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageRefusal {
    #[error("{code} Le site d'où vous venez n'est pas un partenaire connu d'Aidants Connect.", code = self.code())]
    MissingClient,
    #[error("{code} Le site d'où vous venez n'est pas un partenaire connu d'Aidants Connect.", code = self.code())]
    UnknownClient,
    #[error("{code} Le site d'où vous venez a demandé un retour vers une adresse qu'il n'a pas enregistrée : par sécurité, nous ne vous y renvoyons pas.", code = self.code())]
    MissingRedirectUri,
    #[error("{code} Le site d'où vous venez a demandé un retour vers une adresse qu'il n'a pas enregistrée : par sécurité, nous ne vous y renvoyons pas.", code = self.code())]
    UnregisteredRedirectUri,
    #[error("{code} La demande du site partenaire est mal formée (paramètre répété).", code = self.code())]
    RepeatedParameter,
}

impl PageRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            PageRefusal::MissingClient | PageRefusal::UnknownClient => "OIDC110",
            PageRefusal::MissingRedirectUri | PageRefusal::UnregisteredRedirectUri => "OIDC111",
            PageRefusal::RepeatedParameter => "OIDC112",
        }
    }
}

/// An error for the client, at its validated redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: ErrorCode,
    pub description: &'static str,
    pub state: Option<String>,
}

impl ErrorRedirect {
    /// RFC 6749 §4.1.2.1 with RFC 9207 §2 `iss`.
    pub fn location(&self, issuer: &str) -> String {
        let mut pairs = vec![
            ("error", self.error.as_str()),
            ("error_description", self.description),
        ];
        if let Some(state) = &self.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", issuer));
        with_query(&self.redirect_uri, &pairs)
    }
}

/// The successful response (RFC 6749 §4.1.2): `code`, `state` when sent, and `iss` (RFC 9207).
pub fn code_location(redirect_uri: &str, code: &str, state: Option<&str>, issuer: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    with_query(redirect_uri, &pairs)
}

/// Appends to the URI's own query, which RFC 6749 §3.1.2 says must be kept.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.into()
        }
        // Registered URIs always parse (client::check_uri); keep a total function anyway.
        Err(_) => uri.to_owned(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeRefusal {
    Page(PageRefusal),
    Redirect(ErrorRedirect),
}

/// A request that passed every check: what the selection pages and the code carry forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The granted scopes (requested ∩ known ∩ allowed for the client).
    pub scopes: Vec<String>,
    /// S256 only.
    pub code_challenge: Option<String>,
    /// `prompt=login` or `max_age=0`: the aidant proves their identity again in this flow.
    pub prompt_login: bool,
    /// OIDC Core §3.1.2.1 `max_age`, in seconds.
    pub max_age: Option<u32>,
    /// The démarches the client may receive (from `claims.id_token.rep_scope`); `None` is any.
    pub demarches: Option<Vec<Demarche>>,
    /// The client asked for the `rep_scope` claim in the id_token.
    pub wants_rep_scope: bool,
    /// The level the id_token states; this service authenticates at eIDAS low.
    pub acr: Acr,
}

impl AuthorizationRequest {
    /// An error for the client of this request.
    pub fn error(&self, error: ErrorCode, description: &'static str) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description,
            state: self.state.clone(),
        }
    }

    /// Whether the démarche may be offered to this client.
    pub fn allows(&self, demarche: Demarche) -> bool {
        self.demarches
            .as_ref()
            .is_none_or(|d| d.contains(&demarche))
    }
}

fn printable(value: &str) -> bool {
    value.len() <= MAX_STATE_LEN && !value.chars().any(char::is_control)
}

/// `claims` (OIDC Core §5.5): only `id_token.rep_scope` matters here. Returns whether it was
/// asked for and the démarches its `values` (or `value`) name; names we do not know are dropped.
fn rep_scope(claims: &str) -> Result<(bool, Option<Vec<Demarche>>), ()> {
    let value: Value = serde_json::from_str(claims).map_err(|_| ())?;
    let Some(request) = value.get("id_token").and_then(|t| t.get("rep_scope")) else {
        return Ok((false, None));
    };
    let names: Option<Vec<&str>> = match (request.get("values"), request.get("value")) {
        (Some(Value::Array(values)), _) => Some(values.iter().filter_map(Value::as_str).collect()),
        (None, Some(Value::String(one))) => Some(vec![one.as_str()]),
        (None, None) => None,
        _ => return Err(()),
    };
    let demarches = names.map(|names| {
        Demarche::ALL
            .into_iter()
            .filter(|d| names.contains(&d.franceconnect_scope()))
            .collect()
    });
    Ok((true, demarches))
}

/// `claims` (OIDC Core §5.5.1.1): whether an essential `acr` asks for levels of which none is
/// the one this service reaches (`reached`). A voluntary request, or an essential one naming
/// `reached` (or no value at all), is met by stating `reached`.
fn unmet_essential_acr(claims: &str, reached: Acr) -> Result<bool, ()> {
    let value: Value = serde_json::from_str(claims).map_err(|_| ())?;
    for member in ["id_token", "userinfo"] {
        let Some(request) = value.get(member).and_then(|m| m.get("acr")) else {
            continue;
        };
        if request.get("essential") != Some(&Value::Bool(true)) {
            continue;
        }
        let levels: Vec<&str> = match (request.get("values"), request.get("value")) {
            (Some(Value::Array(values)), _) => values.iter().filter_map(Value::as_str).collect(),
            (None, Some(Value::String(one))) => vec![one.as_str()],
            (None, None) => continue,
            _ => return Err(()),
        };
        if !levels.contains(&reached.as_str()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Checks a request against its client (`None` when `client_id` names no registered client).
pub fn validate(
    params: &AuthorizeParams,
    client: Option<&Client>,
) -> Result<AuthorizationRequest, AuthorizeRefusal> {
    let page = |r| Err(AuthorizeRefusal::Page(r));
    for name in ["client_id", "redirect_uri"] {
        if params.repeated.contains(name) {
            return page(PageRefusal::RepeatedParameter);
        }
    }
    if params.client_id().is_none() {
        return page(PageRefusal::MissingClient);
    }
    let Some(client) = client.filter(|c| Some(c.id.as_str()) == params.client_id()) else {
        return page(PageRefusal::UnknownClient);
    };
    // OIDC Core §3.1.2.1: redirect_uri is required, and "MUST exactly match" a registered one.
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return page(PageRefusal::MissingRedirectUri);
    };
    if !client.has_redirect_uri(redirect_uri) {
        return page(PageRefusal::UnregisteredRedirectUri);
    }

    // From here on, errors go back to the client.
    let state = params.get("state").filter(|s| printable(s));
    let fail = |error, description| {
        Err(AuthorizeRefusal::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.to_owned(),
            error,
            description,
            state: state.map(str::to_owned),
        }))
    };
    if !params.repeated.is_empty() {
        return fail(ErrorCode::InvalidRequest, "repeated parameter");
    }
    if params.get("state").is_some() && state.is_none() {
        return fail(ErrorCode::InvalidRequest, "state too long or not printable");
    }
    // OIDC Core §6: request objects are not supported; ignoring one would silently use other
    // parameters than the client meant.
    if params.get("request").is_some() {
        return fail(
            ErrorCode::RequestNotSupported,
            "request objects not supported",
        );
    }
    if params.get("request_uri").is_some() {
        return fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri not supported",
        );
    }
    match params.get("response_type") {
        None => return fail(ErrorCode::InvalidRequest, "response_type missing"),
        Some("code") => {}
        Some(_) => {
            return fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            );
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return fail(ErrorCode::InvalidRequest, "only response_mode=query");
    }
    let Some(requested) = parse_scopes(params.get("scope").unwrap_or_default()) else {
        return fail(ErrorCode::InvalidScope, "malformed scope");
    };
    if !requested.contains(&"openid") {
        return fail(ErrorCode::InvalidScope, "the openid scope is required");
    }
    let nonce = params.get("nonce");
    if nonce.is_some_and(|n| !printable(n)) {
        return fail(ErrorCode::InvalidRequest, "nonce too long or not printable");
    }
    // RFC 7636 §4.3 defaults a missing method to `plain`: refused, like `plain` itself, so a
    // challenge can never be weakened (RFC 9700 §2.1.1).
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (Some(challenge), Some("S256")) if pkce::valid_challenge(challenge) => {
            Some(challenge.to_owned())
        }
        (Some(_), Some("S256")) => {
            return fail(ErrorCode::InvalidRequest, "malformed code_challenge");
        }
        (Some(_), None) | (Some(_), Some(_)) => {
            return fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            );
        }
        (None, Some(_)) => return fail(ErrorCode::InvalidRequest, "code_challenge missing"),
    };
    // RFC 9700 §2.1.1 / §4.5.3: a code must be bound to this transaction, by PKCE or by the
    // OIDC nonce; FranceConnect always sends the nonce.
    if nonce.is_none() && code_challenge.is_none() {
        return fail(ErrorCode::InvalidRequest, "nonce or PKCE S256 required");
    }
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if prompts.contains(&"none") {
        // OIDC Core §3.1.2.1: `none` with any other value is an error; alone, the aidant must
        // still choose the person and the démarche, which needs a page.
        if prompts.len() > 1 {
            return fail(ErrorCode::InvalidRequest, "prompt=none with other values");
        }
        return fail(
            ErrorCode::InteractionRequired,
            "the aidant must choose the person helped",
        );
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(age) => Some(age),
            Err(_) => return fail(ErrorCode::InvalidRequest, "malformed max_age"),
        },
    };
    let (wants_rep_scope, demarches) = match params.get("claims") {
        None => (false, None),
        Some(claims) => match rep_scope(claims) {
            Ok(found) => found,
            Err(()) => return fail(ErrorCode::InvalidRequest, "malformed claims parameter"),
        },
    };
    if demarches.as_ref().is_some_and(Vec::is_empty) {
        return fail(
            ErrorCode::AccessDenied,
            "rep_scope names no delegation scope of this service",
        );
    }
    // This service authenticates at eIDAS low. OIDC Core §5.5.1.1: an essential `acr` that
    // cannot be met "MUST" be treated as a failed authentication, so the client hears it now
    // (OpenID Connect Core Error Code unmet_authentication_requirements 1.0) rather than
    // receiving a code for a lower level than it required.
    let acr = Acr::Eidas1;
    match params.get("claims").map(|c| unmet_essential_acr(c, acr)) {
        None | Some(Ok(false)) => {}
        Some(Ok(true)) => {
            return fail(
                ErrorCode::UnmetAuthenticationRequirements,
                "essential acr not reached: this service authenticates at eidas1",
            );
        }
        Some(Err(())) => return fail(ErrorCode::InvalidRequest, "malformed claims parameter"),
    }
    Ok(AuthorizationRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.map(str::to_owned),
        nonce: nonce.map(str::to_owned),
        scopes: granted_scopes(&requested, &client.allowed_scopes),
        code_challenge,
        prompt_login: prompts.contains(&"login") || max_age == Some(0),
        max_age,
        demarches,
        wants_rep_scope,
        // `acr_values` and a voluntary `acr` claim are requests only (OIDC Core §3.1.2.1,
        // §5.5.1.1); the level we reach is the one we state, and the client decides whether it
        // is enough.
        acr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::client::tests::client;

    const REDIRECT: &str = "https://fc.example/api/v2/oidc-callback";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn base() -> Vec<(&'static str, String)> {
        vec![
            ("client_id", "franceconnect".into()),
            ("redirect_uri", REDIRECT.into()),
            ("response_type", "code".into()),
            ("scope", "openid profile birth email".into()),
            ("state", "s".repeat(43)),
            ("nonce", "n".repeat(43)),
            ("acr_values", "eidas1".into()),
            ("prompt", "login".into()),
        ]
    }

    fn encode(pairs: &[(&str, String)]) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish()
    }

    fn with(changes: &[(&'static str, Option<&str>)]) -> AuthorizeParams {
        let mut pairs = base();
        for (name, value) in changes {
            pairs.retain(|(k, _)| k != name);
            if let Some(v) = value {
                pairs.push((name, (*v).to_owned()));
            }
        }
        AuthorizeParams::parse(&encode(&pairs))
    }

    fn check(
        changes: &[(&'static str, Option<&str>)],
    ) -> Result<AuthorizationRequest, AuthorizeRefusal> {
        validate(&with(changes), Some(&client()))
    }

    fn redirect_error(changes: &[(&'static str, Option<&str>)]) -> (ErrorCode, Option<String>) {
        match check(changes) {
            Err(AuthorizeRefusal::Redirect(r)) => {
                assert_eq!(r.redirect_uri, REDIRECT);
                (r.error, r.state)
            }
            other => panic!("expected a redirect error, got {other:?}"),
        }
    }

    #[test]
    fn a_franceconnect_request_passes() {
        let request = check(&[]).unwrap();
        assert_eq!(request.scopes, ["openid", "profile", "birth", "email"]);
        assert!(request.prompt_login);
        assert_eq!(request.acr, Acr::Eidas1);
        assert_eq!(request.demarches, None);
        assert!(!request.wants_rep_scope);
        assert_eq!(request.state.as_deref(), Some("s".repeat(43).as_str()));
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let request = check(&[
            ("x-unknown", Some("whatever")),
            ("display", Some("popup")),
            ("ui_locales", Some("fr")),
            ("login_hint", Some("x")),
        ])
        .unwrap();
        assert_eq!(request, check(&[]).unwrap());
    }

    #[test]
    fn no_redirect_before_the_client_and_its_uri_are_known() {
        let cases = [
            (with(&[("client_id", None)]), PageRefusal::MissingClient),
            (
                with(&[("client_id", Some("other"))]),
                PageRefusal::UnknownClient,
            ),
            (
                with(&[("redirect_uri", None)]),
                PageRefusal::MissingRedirectUri,
            ),
        ];
        for (params, expected) in cases {
            assert_eq!(
                validate(&params, Some(&client())),
                Err(AuthorizeRefusal::Page(expected))
            );
        }
        assert_eq!(
            validate(&with(&[]), None),
            Err(AuthorizeRefusal::Page(PageRefusal::UnknownClient))
        );
        for variant in [
            "https://fc.example/api/v2/oidc-callback/",
            "https://fc.example/api/v2/oidc-callback?next=https://evil.example",
            "https://fc.example/api/v2/oidc-callback#",
            "https://evil.example/api/v2/oidc-callback",
            "https://fc.example.evil.example/api/v2/oidc-callback",
            "HTTPS://fc.example/api/v2/oidc-callback",
        ] {
            assert_eq!(
                check(&[("redirect_uri", Some(variant))]),
                Err(AuthorizeRefusal::Page(PageRefusal::UnregisteredRedirectUri)),
                "{variant}"
            );
        }
        let twice = format!(
            "{}&redirect_uri=https%3A%2F%2Fevil.example",
            encode(&base())
        );
        assert_eq!(
            validate(&AuthorizeParams::parse(&twice), Some(&client())),
            Err(AuthorizeRefusal::Page(PageRefusal::RepeatedParameter))
        );
    }

    #[test]
    fn protocol_errors_go_back_with_state() {
        let state = Some("s".repeat(43));
        for (changes, expected) in [
            (
                vec![("response_type", Some("token"))],
                ErrorCode::UnsupportedResponseType,
            ),
            (
                vec![("response_type", Some("code id_token"))],
                ErrorCode::UnsupportedResponseType,
            ),
            (vec![("response_type", None)], ErrorCode::InvalidRequest),
            (
                vec![("scope", Some("profile email"))],
                ErrorCode::InvalidScope,
            ),
            (vec![("scope", None)], ErrorCode::InvalidScope),
            (
                vec![("request", Some("eyJ..."))],
                ErrorCode::RequestNotSupported,
            ),
            (
                vec![("request_uri", Some("https://x"))],
                ErrorCode::RequestUriNotSupported,
            ),
            (
                vec![("prompt", Some("none"))],
                ErrorCode::InteractionRequired,
            ),
            (
                vec![("prompt", Some("none login"))],
                ErrorCode::InvalidRequest,
            ),
            (vec![("max_age", Some("soon"))], ErrorCode::InvalidRequest),
            (
                vec![("claims", Some("{not json"))],
                ErrorCode::InvalidRequest,
            ),
            (
                vec![("response_mode", Some("fragment"))],
                ErrorCode::InvalidRequest,
            ),
        ] {
            assert_eq!(
                redirect_error(&changes),
                (expected, state.clone()),
                "{changes:?}"
            );
        }
    }

    #[test]
    fn pkce_is_s256_only() {
        let ok = check(&[
            ("code_challenge", Some(CHALLENGE)),
            ("code_challenge_method", Some("S256")),
        ])
        .unwrap();
        assert_eq!(ok.code_challenge.as_deref(), Some(CHALLENGE));
        for changes in [
            vec![("code_challenge", Some(CHALLENGE))],
            vec![
                ("code_challenge", Some(CHALLENGE)),
                ("code_challenge_method", Some("plain")),
            ],
            vec![
                ("code_challenge", Some("short")),
                ("code_challenge_method", Some("S256")),
            ],
            vec![("code_challenge_method", Some("S256"))],
        ] {
            assert_eq!(
                redirect_error(&changes).0,
                ErrorCode::InvalidRequest,
                "{changes:?}"
            );
        }
    }

    #[test]
    fn a_code_is_bound_by_nonce_or_pkce() {
        assert_eq!(
            redirect_error(&[("nonce", None)]).0,
            ErrorCode::InvalidRequest
        );
        let pkce_only = check(&[
            ("nonce", None),
            ("code_challenge", Some(CHALLENGE)),
            ("code_challenge_method", Some("S256")),
        ])
        .unwrap();
        assert_eq!(pkce_only.nonce, None);
    }

    #[test]
    fn state_is_echoed_only_when_well_formed() {
        let (error, state) =
            redirect_error(&[("state", Some("a\nb")), ("response_type", Some("x"))]);
        assert_eq!(error, ErrorCode::InvalidRequest);
        assert_eq!(state, None);
        let long = "s".repeat(MAX_STATE_LEN + 1);
        assert_eq!(redirect_error(&[("state", Some(&long))]).1, None);
        // No state at all is allowed (RFC 6749 §4.1.1: RECOMMENDED); FranceConnect sends one.
        assert_eq!(check(&[("state", None)]).unwrap().state, None);
    }

    #[test]
    fn rep_scope_restricts_the_demarches() {
        let claims = r#"{"id_token":{"rep_scope":{"essential":true,"values":["social_sante","logement","inconnu"]}}}"#;
        let request = check(&[("claims", Some(claims))]).unwrap();
        assert_eq!(
            request.demarches,
            Some(vec![Demarche::Social, Demarche::Logement])
        );
        assert!(request.wants_rep_scope);
        assert!(request.allows(Demarche::Social));
        assert!(!request.allows(Demarche::Argent));
        let one = check(&[(
            "claims",
            Some(r#"{"id_token":{"rep_scope":{"value":"justice"}}}"#),
        )])
        .unwrap();
        assert_eq!(one.demarches, Some(vec![Demarche::Justice]));
        let any = check(&[("claims", Some(r#"{"id_token":{"rep_scope":null}}"#))]).unwrap();
        assert_eq!((any.demarches, any.wants_rep_scope), (None, true));
        let other = check(&[("claims", Some(r#"{"userinfo":{"email":null}}"#))]).unwrap();
        assert_eq!((other.demarches, other.wants_rep_scope), (None, false));
        assert_eq!(
            redirect_error(&[(
                "claims",
                Some(r#"{"id_token":{"rep_scope":{"values":["inconnu"]}}}"#)
            )])
            .0,
            ErrorCode::AccessDenied
        );
    }

    #[test]
    fn an_essential_acr_that_cannot_be_met_fails_and_a_voluntary_one_gets_eidas1() {
        for essential in [
            r#"{"id_token":{"acr":{"essential":true,"value":"eidas3"}}}"#,
            r#"{"id_token":{"acr":{"essential":true,"values":["eidas2","eidas3"]}}}"#,
            r#"{"userinfo":{"acr":{"essential":true,"value":"eidas2"}}}"#,
        ] {
            assert_eq!(
                redirect_error(&[("claims", Some(essential))]),
                (
                    ErrorCode::UnmetAuthenticationRequirements,
                    Some("s".repeat(43))
                ),
                "{essential}"
            );
        }
        for met in [
            r#"{"id_token":{"acr":{"value":"eidas3"}}}"#,
            r#"{"id_token":{"acr":{"essential":false,"values":["eidas3"]}}}"#,
            r#"{"id_token":{"acr":{"essential":true,"values":["eidas1","eidas2"]}}}"#,
            r#"{"id_token":{"acr":{"essential":true}}}"#,
            r#"{"id_token":{"acr":null}}"#,
        ] {
            assert_eq!(
                check(&[("claims", Some(met)), ("acr_values", Some("eidas3"))]).map(|r| r.acr),
                Ok(Acr::Eidas1),
                "{met}"
            );
        }
        assert_eq!(
            redirect_error(&[(
                "claims",
                Some(r#"{"id_token":{"acr":{"essential":true,"values":"eidas3"}}}"#)
            )])
            .0,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn prompt_and_max_age() {
        assert!(!check(&[("prompt", None)]).unwrap().prompt_login);
        assert!(
            check(&[("prompt", None), ("max_age", Some("0"))])
                .unwrap()
                .prompt_login
        );
        let aged = check(&[("prompt", Some("consent")), ("max_age", Some("600"))]).unwrap();
        assert_eq!((aged.prompt_login, aged.max_age), (false, Some(600)));
    }

    #[test]
    fn locations_keep_the_registered_query_and_add_iss() {
        let error = ErrorRedirect {
            redirect_uri: "https://fc.example/cb?tenant=1".into(),
            error: ErrorCode::AccessDenied,
            description: "cancelled",
            state: Some("a b&c".into()),
        };
        assert_eq!(
            error.location("https://ac.example"),
            "https://fc.example/cb?tenant=1&error=access_denied&error_description=cancelled&state=a+b%26c&iss=https%3A%2F%2Fac.example"
        );
        assert_eq!(
            code_location("https://fc.example/cb", "C", None, "https://ac.example"),
            "https://fc.example/cb?code=C&iss=https%3A%2F%2Fac.example"
        );
    }

    #[test]
    fn parameters_survive_a_round_trip() {
        let params = with(&[("claims", Some(r#"{"id_token":{"rep_scope":null}}"#))]);
        let again = AuthorizeParams::parse(&params.to_query());
        assert_eq!(
            validate(&again, Some(&client())),
            validate(&params, Some(&client()))
        );
    }
}
