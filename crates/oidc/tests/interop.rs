//! The relying party against panva's certified `oidc-provider` (npm), configured like FranceConnect
//! v2 (ES256), with RS256, and like FranceConnect v1 (HS256 + JSON userinfo). The test is the
//! browser: authorize → our interaction form at the provider (account and acr) → redirect back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use ac_clock::{Clock, SystemClock};
use ac_mandates::Gender;
use ac_oidc::rp::{PendingLogin, ProtocolVersion, RelyingParty, state_key};
use ac_oidc::{Acr, OidcError, ProviderErrorCode, SigningAlg};
use std::collections::HashMap;
use support::*;
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    SystemClock.now()
}

fn jwt_header(token: &str) -> serde_json::Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap()
}

fn profile(name: &str) -> (ProtocolVersion, Vec<SigningAlg>) {
    match name {
        "fc2" => (
            ProtocolVersion::V2,
            vec![SigningAlg::ES256, SigningAlg::RS256],
        ),
        "rs256" => (
            ProtocolVersion::V2,
            vec![SigningAlg::ES256, SigningAlg::RS256],
        ),
        "fc1" => (ProtocolVersion::V1Legacy, vec![SigningAlg::HS256]),
        other => panic!("{other}"),
    }
}

async fn rp_for(op: &Op, name: &str) -> RelyingParty {
    let (version, algorithms) = profile(name);
    RelyingParty::discover(rp_config(&op.issuer, version, algorithms), now())
        .await
        .unwrap()
}

/// What the web layer will do: pending logins stored server-side under (browser, state hash),
/// removed at first use.
#[derive(Default)]
struct Store(HashMap<(String, String), PendingLogin>);

impl Store {
    fn put(&mut self, pending: PendingLogin) {
        self.0.insert(
            (pending.browser_binding.clone(), pending.state_hash.clone()),
            pending,
        );
    }

    fn take(&mut self, browser: &str, state: Option<&str>) -> Option<PendingLogin> {
        let key = state_key(state?)?;
        self.0.remove(&(browser.to_owned(), key))
    }
}

/// The whole journey with one provider profile: identification of a person born in France with
/// several given names and of a person born abroad, single use of state and code, end-session.
async fn full_journey(name: &str) {
    let op = Op::start(name);
    let rp = rp_for(&op, name).await;
    let mut store = Store::default();

    let browser = browser();
    let (authorize, pending) = rp.begin(None, "browser-1", now()).unwrap();
    // What FranceConnect requires on the authorization request.
    let query: HashMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert!(query["state"].len() >= 32 && query["nonce"].len() >= 32);
    assert_ne!(query["state"], query["nonce"]);
    assert_eq!(query["acr_values"], "eidas1");
    assert_eq!(query["prompt"], "login");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["scope"].split(' ').any(|s| s == "identite_pivot"));
    assert!(rp.uses_pkce());
    store.put(pending);

    let back = sign_in(&browser, authorize, "angela-dubois", "eidas2").await;
    let params = callback_params(&back);
    assert_eq!(
        params.iss.as_deref(),
        Some(op.issuer.as_str()),
        "RFC 9207 iss sent"
    );
    let stored = store.take("browser-1", params.state.as_deref());
    let code = rp
        .validate_callback(&params, stored.as_ref(), "browser-1", now())
        .unwrap();
    let code_again = ac_oidc::rp::AuthorizationCode::new(code.secret().clone());
    let who = rp
        .complete(code, stored.as_ref().unwrap(), now())
        .await
        .unwrap();
    let expected_alg = match name {
        "fc2" => "ES256",
        "rs256" => "RS256",
        _ => "HS256",
    };
    assert_eq!(jwt_header(who.id_token_hint.expose())["alg"], expected_alg);
    assert_eq!(who.subject.len(), 64);
    assert!(!who.subject.contains("angela"));
    assert_eq!(who.acr, Acr::Eidas2);
    assert_eq!(who.identity.given_name, "Angela Claire Louise");
    assert_eq!(who.identity.family_name, "DUBOIS");
    assert_eq!(who.identity.gender, Gender::Female);
    assert_eq!(who.identity.birthplace.as_deref(), Some("75107"));
    assert_eq!(who.identity.birthcountry, "99100");
    assert_eq!(
        who.identity.email.as_ref().map(|e| e.as_str()),
        Some("angela.dubois@example.fr")
    );
    assert_eq!(who.identity.preferred_username, None);

    // The same callback again: its pending login is gone (single use).
    let replay = store.take("browser-1", params.state.as_deref());
    assert!(matches!(
        rp.validate_callback(&params, replay.as_ref(), "browser-1", now()),
        Err(OidcError::StateUnknown)
    ));
    // The same code again: the provider refuses it (single-use codes, RFC 6749 §4.1.2).
    assert!(matches!(
        rp.complete(code_again, stored.as_ref().unwrap(), now())
            .await,
        Err(OidcError::TokenRefused { .. })
    ));

    // End-session: redirect with id_token_hint, state and the registered URI; state checked back.
    let (logout, pending_logout) = rp
        .end_session(&who.id_token_hint, "browser-1", now())
        .unwrap();
    let query: HashMap<String, String> = logout.query_pairs().into_owned().collect();
    assert_eq!(query["id_token_hint"], who.id_token_hint.expose());
    assert_eq!(query["post_logout_redirect_uri"], POST_LOGOUT_URI);
    let returned = confirm_logout(&browser, logout).await;
    let state = returned
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned());
    rp.check_end_session_return(state.as_deref(), Some(&pending_logout), "browser-1", now())
        .unwrap();
    assert!(matches!(
        rp.check_end_session_return(state.as_deref(), Some(&pending_logout), "browser-2", now()),
        Err(OidcError::LogoutState)
    ));
    assert!(
        rp.check_end_session_return(None, Some(&pending_logout), "browser-1", now())
            .is_err()
    );

    // Someone born abroad: empty birthplace at the provider, none here. The same person twice
    // gets the same pseudonym; another person another one.
    let mut subjects = Vec::new();
    for _ in 0..2 {
        let (authorize, pending) = rp.begin(None, "browser-1", now()).unwrap();
        let back = sign_in(&browser, authorize, "karim-benali", "eidas1").await;
        let params = callback_params(&back);
        let code = rp
            .validate_callback(&params, Some(&pending), "browser-1", now())
            .unwrap();
        let karim = rp.complete(code, &pending, now()).await.unwrap();
        assert_eq!(karim.identity.birthplace, None);
        assert_eq!(karim.identity.birthcountry, "99350");
        assert_eq!(karim.identity.gender, Gender::Male);
        subjects.push(karim.subject);
    }
    assert_eq!(subjects[0], subjects[1]);
    assert_ne!(subjects[0], who.subject);
}

#[actix_web::test]
async fn franceconnect_v2_es256_with_signed_userinfo() {
    full_journey("fc2").await;
}

#[actix_web::test]
async fn rs256_with_signed_userinfo() {
    full_journey("rs256").await;
}

#[actix_web::test]
async fn franceconnect_v1_hs256_with_json_userinfo() {
    full_journey("fc1").await;
}

#[actix_web::test]
async fn an_acr_below_the_level_requested_is_refused() {
    for name in ["fc2", "fc1"] {
        let op = Op::start(name);
        let rp = rp_for(&op, name).await;
        let (authorize, pending) = rp.begin(Some(Acr::Eidas2), "b", now()).unwrap();
        assert!(authorize.as_str().contains("acr_values=eidas2"));
        let back = sign_in(&browser(), authorize, "angela-dubois", "eidas1").await;
        let code = rp
            .validate_callback(&callback_params(&back), Some(&pending), "b", now())
            .unwrap();
        match rp.complete(code, &pending, now()).await {
            Err(OidcError::AcrTooLow { requested, got }) => {
                assert_eq!(requested, "eidas2");
                assert_eq!(got.as_deref(), Some("eidas1"));
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[actix_web::test]
async fn a_provider_error_return_is_typed_with_a_french_message() {
    let op = Op::start("fc2");
    let rp = rp_for(&op, "fc2").await;
    let (authorize, pending) = rp.begin(None, "b", now()).unwrap();
    let back = cancel(&browser(), authorize).await;
    let params = callback_params(&back);
    assert_eq!(params.error.as_deref(), Some("access_denied"));
    let err = rp
        .validate_callback(&params, Some(&pending), "b", now())
        .unwrap_err();
    assert!(matches!(
        &err,
        OidcError::Provider {
            code: ProviderErrorCode::AccessDenied,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "OIDC014 la connexion FranceConnect a été annulée"
    );
    assert!(err.is_retryable());
}

#[actix_web::test]
async fn state_missing_or_from_another_browser_is_refused() {
    let op = Op::start("fc2");
    let rp = rp_for(&op, "fc2").await;
    let mut store = Store::default();
    let (authorize, pending) = rp.begin(None, "browser-a", now()).unwrap();
    store.put(pending.clone());
    let back = sign_in(&browser(), authorize, "angela-dubois", "eidas1").await;
    let params = callback_params(&back);

    // Another browser brings this callback: nothing is stored under its session.
    let found = store.take("browser-b", params.state.as_deref());
    assert!(found.is_none());
    assert!(matches!(
        rp.validate_callback(&params, found.as_ref(), "browser-b", now()),
        Err(OidcError::StateUnknown)
    ));
    // Even if a lookup by state alone found the row, the binding is checked again.
    assert!(matches!(
        rp.validate_callback(&params, Some(&pending), "browser-b", now()),
        Err(OidcError::StateUnknown)
    ));
    let mut without_state = params.clone();
    without_state.state = None;
    assert!(matches!(
        rp.validate_callback(&without_state, Some(&pending), "browser-a", now()),
        Err(OidcError::StateMissing)
    ));
    // The right browser still completes: the refusals above consumed nothing of its own.
    let stored = store.take("browser-a", params.state.as_deref()).unwrap();
    let code = rp
        .validate_callback(&params, Some(&stored), "browser-a", now())
        .unwrap();
    rp.complete(code, &stored, now()).await.unwrap();
}

async fn identify(rp: &RelyingParty) -> ac_oidc::rp::Identification {
    let (authorize, pending) = rp.begin(None, "b", now()).unwrap();
    let back = sign_in(&browser(), authorize, "angela-dubois", "eidas1").await;
    let code = rp
        .validate_callback(&callback_params(&back), Some(&pending), "b", now())
        .unwrap();
    rp.complete(code, &pending, now()).await.unwrap()
}

#[actix_web::test]
async fn an_unknown_kid_after_key_rotation_is_fetched_once_then_accepted() {
    for name in ["fc2", "rs256"] {
        let op = Op::start(name);
        let rp = rp_for(&op, name).await;
        let before = identify(&rp).await;
        assert_eq!(rp.jwks_fetches(), 0, "{name}: the keys came with discovery");
        let new_kid = op.rotate_key().await;
        assert_ne!(
            jwt_header(before.id_token_hint.expose())["kid"],
            new_kid.as_str()
        );
        let after = identify(&rp).await;
        assert_eq!(
            jwt_header(after.id_token_hint.expose())["kid"],
            new_kid.as_str()
        );
        assert_eq!(rp.jwks_fetches(), 1, "{name}: one refetch for the new kid");
        identify(&rp).await;
        assert_eq!(rp.jwks_fetches(), 1, "{name}: then cached");
    }
}
