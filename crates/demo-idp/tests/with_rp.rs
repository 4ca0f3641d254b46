//! The demonstration provider end to end with our relying party (`ac-oidc`): the test is the
//! browser, the provider runs on a loopback port, and both read one manual clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ac_auth::Secret;
use ac_clock::{Clock, ManualClock};
use ac_demo_idp::{DemoIdp, DemoIdpSettings, IDENTITIES, PATH};
use ac_oidc::rp::{
    AuthorizationCode, CallbackParams, HttpSettings, PendingLogin, ProtocolVersion, RelyingParty,
    RpConfig,
};
use ac_oidc::{Acr, OidcError, ProviderErrorCode, PseudonymKey, SigningAlg};
use actix_web::{App, HttpServer};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;
use url::Url;

const SECRET: &str = "demo-idp-test-secret-0123456789-abcdefghij";
const REDIRECT: &str = "http://127.0.0.1:9/mandats/franceconnect/retour";
const AFTER_LOGOUT: &str = "http://127.0.0.1:9/mandats/franceconnect/deconnexion";

struct Demo {
    base: String,
    clock: Arc<ManualClock>,
    rp: RelyingParty,
    browser: reqwest::Client,
}

async fn start() -> Demo {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-22 09:00 UTC)));
    let idp = DemoIdp::new(
        DemoIdpSettings {
            issuer: format!("{base}{PATH}"),
            client_id: "aidants-connect".into(),
            client_secret: Secret::new(SECRET.as_bytes().to_vec()),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![AFTER_LOGOUT.into()],
        },
        clock.clone(),
    )
    .unwrap();
    let server =
        HttpServer::new(move || App::new().configure(|cfg| ac_demo_idp::configure(cfg, &idp)))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
    actix_web::rt::spawn(server);
    let config = RpConfig {
        issuer: format!("{base}{PATH}"),
        client_id: "aidants-connect".into(),
        client_secret: Secret::new(SECRET.as_bytes().to_vec()),
        version: ProtocolVersion::V2,
        algorithms: vec![SigningAlg::ES256],
        acr: Acr::Eidas1,
        scopes: ["openid", "identite_pivot", "email", "preferred_username"]
            .map(String::from)
            .to_vec(),
        redirect_uri: REDIRECT.into(),
        post_logout_redirect_uri: AFTER_LOGOUT.into(),
        pseudonym_key: PseudonymKey::new(&[5; 32]).unwrap(),
        http: HttpSettings {
            allow_http: true,
            ..HttpSettings::default()
        },
        leeway: Duration::from_secs(30),
        max_token_age: Duration::from_secs(600),
        login_ttl: Duration::from_secs(600),
        jwks_max_age: Duration::from_secs(3600),
    };
    let rp = RelyingParty::discover(config, clock.now()).await.unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Demo {
        base,
        clock,
        rp,
        browser,
    }
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).unwrap() + start.len();
    let len = text[from..].find(end).unwrap();
    text[from..from + len].to_owned()
}

fn params(url: &Url) -> CallbackParams {
    serde_json::from_value(Value::Object(
        url.query_pairs()
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    ))
    .unwrap()
}

impl Demo {
    /// Opens the choice page, checks it says "démonstration", and submits `form`.
    async fn at_provider(&self, authorize: Url, form: &[(&str, &str)]) -> Url {
        let page = self.browser.get(authorize).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("DÉMONSTRATION") && html.contains("Ce n'est pas FranceConnect"));
        assert!(html.contains("Angela Claire Louise DUBOIS"));
        let interaction = between(&html, "name=\"interaction\" value=\"", "\"");
        let mut fields = vec![("interaction", interaction.as_str())];
        fields.extend_from_slice(form);
        let answer = self
            .browser
            .post(format!("{}{PATH}/authorize/choix", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303);
        let to = answer.headers()["location"].to_str().unwrap();
        assert!(to.starts_with(REDIRECT), "{to}");
        Url::parse(to).unwrap()
    }

    async fn sign_in(&self, identity: usize) -> (PendingLogin, AuthorizationCode) {
        let now = self.clock.now();
        let (authorize, pending) = self.rp.begin(None, "tablet", now).unwrap();
        let index = identity.to_string();
        let back = self.at_provider(authorize, &[("identity", &index)]).await;
        let code = self
            .rp
            .validate_callback(&params(&back), Some(&pending), "tablet", now)
            .unwrap();
        (pending, code)
    }
}

#[actix_web::test]
async fn every_test_identity_is_identified_with_its_identite_pivot() {
    let demo = start().await;
    let mut subjects = Vec::new();
    for (index, person) in IDENTITIES.iter().enumerate() {
        let (pending, code) = demo.sign_in(index).await;
        let who = demo
            .rp
            .complete(code, &pending, demo.clock.now())
            .await
            .unwrap();
        assert_eq!(who.identity.given_name, person.given_name);
        assert_eq!(who.identity.family_name, person.family_name);
        assert_eq!(who.identity.birthdate.to_string(), person.birthdate);
        assert_eq!(
            who.identity.birthplace.as_deref(),
            Some(person.birthplace).filter(|p| !p.is_empty())
        );
        assert_eq!(who.identity.birthcountry, person.birthcountry);
        assert_eq!(
            who.identity.email.as_ref().map(|e| e.as_str().to_owned()),
            Some(person.email.to_owned()).filter(|e| !e.is_empty())
        );
        assert_eq!(who.acr, Acr::Eidas1);
        subjects.push(who.subject);
    }
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), IDENTITIES.len(), "one pseudonym per person");
    assert!(IDENTITIES.iter().any(|p| p.given_name.contains(' ')));
    assert!(
        IDENTITIES
            .iter()
            .filter(|p| p.birthplace.is_empty())
            .count()
            >= 2
    );
}

#[actix_web::test]
async fn codes_are_single_use_and_short_lived() {
    let demo = start().await;
    let (pending, code) = demo.sign_in(0).await;
    let again = AuthorizationCode::new(code.secret().clone());
    demo.rp
        .complete(code, &pending, demo.clock.now())
        .await
        .unwrap();
    assert!(matches!(
        demo.rp.complete(again, &pending, demo.clock.now()).await,
        Err(OidcError::TokenRefused { error }) if error == "invalid_grant"
    ));

    let (pending, code) = demo.sign_in(1).await;
    demo.clock.advance(time::Duration::seconds(31));
    assert!(matches!(
        demo.rp.complete(code, &pending, demo.clock.now()).await,
        Err(OidcError::TokenRefused { error }) if error == "invalid_grant"
    ));
}

#[actix_web::test]
async fn a_wrong_pkce_verifier_is_refused() {
    let demo = start().await;
    assert!(demo.rp.uses_pkce());
    let (pending, code) = demo.sign_in(0).await;
    let (_, other) = demo.rp.begin(None, "tablet", demo.clock.now()).unwrap();
    let swapped = PendingLogin {
        pkce_verifier: other.pkce_verifier,
        ..pending
    };
    assert!(matches!(
        demo.rp.complete(code, &swapped, demo.clock.now()).await,
        Err(OidcError::TokenRefused { error }) if error == "invalid_grant"
    ));
}

#[actix_web::test]
async fn cancelling_returns_access_denied() {
    let demo = start().await;
    let now = demo.clock.now();
    let (authorize, pending) = demo.rp.begin(None, "tablet", now).unwrap();
    let back = demo.at_provider(authorize, &[("cancel", "1")]).await;
    let err = demo
        .rp
        .validate_callback(&params(&back), Some(&pending), "tablet", now)
        .unwrap_err();
    assert!(matches!(
        err,
        OidcError::Provider {
            code: ProviderErrorCode::AccessDenied,
            ..
        }
    ));
}

#[actix_web::test]
async fn end_session_redirects_only_with_our_hint_to_the_registered_uri() {
    let demo = start().await;
    let (pending, code) = demo.sign_in(2).await;
    let who = demo
        .rp
        .complete(code, &pending, demo.clock.now())
        .await
        .unwrap();
    let now = demo.clock.now();
    let (logout, pending_logout) = demo
        .rp
        .end_session(&who.id_token_hint, "tablet", now)
        .unwrap();
    let answer = demo.browser.get(logout.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let back = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(back.as_str().starts_with(AFTER_LOGOUT));
    let state = back
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    demo.rp
        .check_end_session_return(Some(&state), Some(&pending_logout), "tablet", now)
        .unwrap();

    // Another return URI, or no hint: a page, never a redirect.
    let mut elsewhere = logout.clone();
    let pairs: Vec<(String, String)> = logout
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "post_logout_redirect_uri" {
                (k, "https://evil.example/".into())
            } else {
                (k, v)
            }
        })
        .collect();
    elsewhere.query_pairs_mut().clear().extend_pairs(pairs);
    let no_hint = format!(
        "{}{PATH}/session/end?post_logout_redirect_uri={AFTER_LOGOUT}&state=x",
        demo.base
    );
    for url in [elsewhere.to_string(), no_hint] {
        let answer = demo.browser.get(url).send().await.unwrap();
        assert_eq!(answer.status(), 400);
        assert!(answer.headers().get("location").is_none());
    }
}

#[actix_web::test]
async fn unregistered_clients_and_redirects_get_a_page_and_bad_secrets_invalid_client() {
    let demo = start().await;
    let (authorize, _) = demo.rp.begin(None, "tablet", demo.clock.now()).unwrap();
    let tampered = authorize.as_str().replace("127.0.0.1%3A9", "evil.example");
    let answer = demo.browser.get(tampered).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.headers().get("location").is_none());
    assert!(answer.text().await.unwrap().contains("DÉMONSTRATION"));

    let answer = demo
        .browser
        .post(format!("{}{PATH}/token", demo.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "aidants-connect"),
            ("client_secret", "wrong-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

#[test]
fn the_settings_turn_it_on_in_dev_mode_only() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/test.toml");
    let mut settings = ac_config::Settings::load(&path, &ac_config::Overrides::default()).unwrap();
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-22 09:00 UTC)));
    let idp = DemoIdp::from_settings(&settings, clock.clone())
        .unwrap()
        .unwrap();
    assert_eq!(
        idp.issuer(),
        format!("{}/demo/franceconnect", settings.server.public_url)
    );
    settings.franceconnect.demo_provider_enabled = false;
    assert!(
        DemoIdp::from_settings(&settings, clock.clone())
            .unwrap()
            .is_none()
    );
    settings.franceconnect.demo_provider_enabled = true;
    settings.server.dev_mode = false;
    assert!(DemoIdp::from_settings(&settings, clock).unwrap().is_none());
}
