//! The identity provider through HTTP: discovery and keys, the aidant's pages, codes,
//! tokens, userinfo, end-session, and the mandate checked at each step. Each test runs on SQLite
//! and, when AC_TEST_DATABASE_URL is set, PostgreSQL. The certified client's view is in
//! `provider_interop.rs`.

use ac_e2e::{
    CLIENT_ID, CLIENT_SECRET, ClientSetup, POST_LOGOUT_URI, REDIRECT_URI, TestApp, extract_csrf,
    hidden, links, person_path, query_param,
};
use ac_mandates::{AidantId, Demarche, MandateId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Map, Value};
use time::Duration;

pub(crate) const EMAIL: &str = "camille.martin@mediatheque.exemple.fr";
pub(crate) const STRUCTURE: &str = "mediatheque";
const STATE: &str = "state-0123456789-0123456789-0123456789-abc";
const NONCE: &str = "nonce-0123456789-0123456789-0123456789-abc";
// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub(crate) struct Setup {
    pub(crate) app: TestApp,
    pub(crate) aidant: AidantId,
    pub(crate) mandate: MandateId,
}

/// An aidant signed in, FranceConnect registered, and Angela DUBOIS with a mandate of the
/// aidant's structure for `social` and `argent`.
pub(crate) async fn signed_in(app: TestApp) -> Setup {
    let aidant = app.with_aidant(EMAIL, &[STRUCTURE]);
    app.with_client(&ClientSetup::default());
    let (_, mandate) = app.with_mandate(
        &aidant,
        STRUCTURE,
        "Angela Claire",
        "DUBOIS",
        &[Demarche::Social, Demarche::Argent],
    );
    app.sign_in(EMAIL).await;
    Setup {
        app,
        aidant,
        mandate,
    }
}

pub(crate) fn authorize_url(app: &TestApp, changes: &[(&str, Option<&str>)]) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid profile birth email"),
        ("state", STATE),
        ("nonce", NONCE),
        ("acr_values", "eidas1"),
    ];
    for (name, value) in changes {
        pairs.retain(|(k, _)| k != name);
        if let Some(v) = value {
            pairs.push((name, v));
        }
    }
    let mut url = reqwest::Url::parse(&app.url("/oidc/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.into()
}

async fn token(app: &TestApp, code: &str, changes: &[(&str, Option<&str>)]) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    for (name, value) in changes {
        form.retain(|(k, _)| k != name);
        if let Some(v) = value {
            form.push((name, v));
        }
    }
    app.client
        .post(app.url("/oidc/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// GETs an absolute URL.
async fn open(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(url).send().await.unwrap()
}

pub(crate) async fn tok(
    app: &TestApp,
    code: &str,
    changes: &[(&str, Option<&str>)],
) -> (StatusCode, Value) {
    json(token(app, code, changes).await).await
}

async fn json(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap())
}

fn payload(jwt: &str) -> Map<String, Value> {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Checks a JWT's signature against the published JWKS with `jsonwebtoken` (not our code), and
/// `iss` and `aud`. Returns the claims.
async fn verify_with_jwks(app: &TestApp, jwt: &str) -> Map<String, Value> {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let kid = header.kid.clone().unwrap();
    let jwks: Value = app.get("/oidc/jwks").await.json().await.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} not published"));
    let key = match header.alg {
        Algorithm::ES256 => {
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
        }
        Algorithm::RS256 => {
            DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
        }
        other => panic!("unexpected {other:?}"),
    }
    .unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[app.base_url.as_str()]);
    validation.set_audience(&[CLIENT_ID]);
    // The test clock is not the wall clock: lifetimes are checked by hand below.
    validation.validate_exp = false;
    jsonwebtoken::decode::<Map<String, Value>>(jwt, &key, &validation)
        .unwrap()
        .claims
}

fn at_hash(access_token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

pub(crate) async fn userinfo_get(app: &TestApp, access_token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// A code for Angela's `social` démarche.
pub(crate) async fn code(s: &Setup, changes: &[(&str, Option<&str>)]) -> String {
    let picked = s
        .app
        .pick(
            &authorize_url(&s.app, changes),
            "DUBOIS",
            Demarche::Social,
            None,
        )
        .await;
    picked
        .code
        .unwrap_or_else(|| panic!("no code: {}", picked.location))
}

#[actix_web::test]
async fn discovery_lists_every_endpoint_and_keys_are_published_before_use() {
    for app in TestApp::each().await {
        let res = app.get("/.well-known/openid-configuration").await;
        assert_eq!(res.status(), StatusCode::OK);
        let doc: Value = res.json().await.unwrap();
        let base = app.base_url.clone();
        assert_eq!(doc["issuer"], base.as_str());
        for (field, path) in [
            ("authorization_endpoint", "/oidc/authorize"),
            ("token_endpoint", "/oidc/token"),
            ("userinfo_endpoint", "/oidc/userinfo"),
            ("jwks_uri", "/oidc/jwks"),
            ("end_session_endpoint", "/oidc/session/end"),
        ] {
            assert_eq!(doc[field], format!("{base}{path}"), "{field}");
        }
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(doc["acr_values_supported"], serde_json::json!(["eidas1"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        let res = app.get("/oidc/jwks").await;
        assert_eq!(res.headers()["content-type"], "application/jwk-set+json");
        let jwks: Value = res.json().await.unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        // Dev-mode start-up: a current key and the next one, published before it signs.
        assert_eq!(keys.len(), 2);
        for key in keys {
            assert_eq!(key["kty"], "EC");
            assert_eq!(key["use"], "sig");
            assert!(key.get("d").is_none());
        }
        let actions = app.journal_actions();
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "signing_key.created")
                .count(),
            2
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_delegated_flow_from_the_partner_to_the_identity() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        // The list: Angela, with her démarches; the search runs on the server.
        let res = open(app, &authorize_url(app, &[("x-unknown", Some("ignored"))])).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let list = res.text().await.unwrap();
        assert!(list.contains("Angela Claire DUBOIS"), "{list}");
        assert!(list.contains("FranceConnect (tests)"));
        let search = format!("/oidc/selection?i={}&q=zzz", hidden(&list, "i"));
        let none = app.get(&search).await.text().await.unwrap();
        assert!(
            !none.contains("DUBOIS") || none.contains("Résultats pour"),
            "{none}"
        );
        assert!(none.contains("Aucune personne ne correspond"));
        // The démarche page: the argent warning, and a policy that lets its form end at the
        // partner's redirect URI (and nowhere else).
        let person = person_path(&list, "DUBOIS").unwrap();
        let res = app.get(&person).await;
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("form-action 'self' https://fc.example;"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        let page = res.text().await.unwrap();
        assert!(page.contains("surendettement"), "argent warning");
        assert!(
            !page.contains("name=\"code\""),
            "no prompt=login: no code asked"
        );
        let picked = app.choose(&page, Demarche::Social, None).await;
        assert!(
            picked
                .location
                .starts_with(&format!("{REDIRECT_URI}?code=")),
            "{}",
            picked.location
        );
        assert_eq!(
            query_param(&picked.location, "state").as_deref(),
            Some(STATE)
        );
        assert_eq!(
            query_param(&picked.location, "iss").as_deref(),
            Some(app.base_url.as_str())
        );
        let code = picked.code.unwrap();

        let res = token(app, &code, &[]).await;
        assert_eq!(res.headers()["cache-control"], "no-store");
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 60);
        assert_eq!(body["scope"], "openid profile birth email");
        let access_token = body["access_token"].as_str().unwrap().to_owned();
        let id_token = body["id_token"].as_str().unwrap();
        let claims = verify_with_jwks(app, id_token).await;
        let now = app.clock_now().unix_timestamp();
        assert_eq!(claims["iat"], now);
        assert_eq!(claims["exp"], now + 60);
        assert_eq!(claims["nonce"], NONCE);
        assert_eq!(claims["acr"], "eidas1");
        assert_eq!(claims["at_hash"], at_hash(&access_token));
        assert_eq!(
            claims["sub"].as_str().unwrap().len(),
            64,
            "the usager's pseudonym"
        );
        assert!(claims["auth_time"].as_i64().unwrap() <= now);
        assert!(!claims.contains_key("act"), "off by default");

        let res = userinfo_get(app, &access_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/jwt");
        let jwt = res.text().await.unwrap();
        let info = verify_with_jwks(app, &jwt).await;
        assert_eq!(info["sub"], claims["sub"]);
        assert_eq!(info["given_name"], "Angela Claire");
        assert_eq!(info["family_name"], "DUBOIS");
        assert_eq!(info["birthdate"], "1962-08-24");
        assert_eq!(info["birthplace"], "75107");
        assert_eq!(info["email"], "angela.dubois@exemple.fr");
        // POST with the header, and with the token in the form body (RFC 6750 §2.1–2.2).
        let res = app
            .client
            .post(app.url("/oidc/userinfo"))
            .bearer_auth(&access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .client
            .post(app.url("/oidc/userinfo"))
            .form(&[("access_token", access_token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.get("/oidc/userinfo").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );

        let journal = app.journal();
        let find = |action: &str| {
            journal
                .iter()
                .find(|e| e["action"] == action)
                .unwrap_or_else(|| panic!("{action}"))
                .clone()
        };
        let started = find("delegation.started");
        assert_eq!(started["actor"]["id"], s.aidant.as_str());
        assert_eq!(started["organisation_id"], STRUCTURE);
        assert_eq!(started["demarche"], "social");
        assert_eq!(started["client_id"], CLIENT_ID);
        assert_eq!(started["usager"], claims["sub"]);
        let completed = find("delegation.completed");
        assert_eq!(completed["actor"]["kind"], "client");
        assert_eq!(
            completed["target"], started["target"],
            "the same authorization"
        );
        find("delegation.token_issued");
        let text = serde_json::to_string(&journal).unwrap();
        for secret in [code.as_str(), access_token.as_str(), "Angela", "DUBOIS"] {
            assert!(!text.contains(secret), "{secret} must not be journaled");
        }
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn userinfo_releases_only_the_granted_scopes() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let code = code(&s, &[("scope", Some("openid birth phone"))]).await;
        let (_, body) = tok(&s.app, &code, &[]).await;
        assert_eq!(body["scope"], "openid birth", "unknown scopes are dropped");
        let jwt = userinfo_get(&s.app, body["access_token"].as_str().unwrap())
            .await
            .text()
            .await
            .unwrap();
        let info = payload(&jwt);
        let mut names: Vec<&str> = info.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "aud",
                "birthcountry",
                "birthplace",
                "exp",
                "iat",
                "iss",
                "sub"
            ]
        );
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn an_aidant_not_signed_in_signs_in_and_comes_back_to_the_request() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &[STRUCTURE]);
        app.with_client(&ClientSetup::default());
        app.with_mandate(&aidant, STRUCTURE, "Angela", "DUBOIS", &[Demarche::Social]);
        let url = authorize_url(&app, &[("prompt", Some("login"))]);
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/connexion");
        assert!(app.cookie("ac_oidc_reprise").is_some());
        // The sign-in (link + TOTP) ends back at the waiting request.
        app.request_link(EMAIL).await;
        let link = app.wait_for_link(1).await;
        app.open_link(link.expose()).await;
        let res = app.submit_code(&app.totp_now()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/oidc/reprise");
        let res = app.get("/oidc/reprise").await;
        assert_eq!(res.status(), StatusCode::OK);
        let list = res.text().await.unwrap();
        assert!(list.contains("DUBOIS"));
        assert!(app.cookie("ac_oidc_reprise").is_none(), "used once");
        // prompt=login is satisfied by this fresh sign-in: no code asked again.
        let person = person_path(&list, "DUBOIS").unwrap();
        let page = app.get(&person).await.text().await.unwrap();
        assert!(!page.contains("name=\"code\""));
        let picked = app.choose(&page, Demarche::Social, None).await;
        let (_, body) = tok(&app, &picked.code.unwrap(), &[]).await;
        let claims = payload(body["id_token"].as_str().unwrap());
        assert_eq!(claims["auth_time"], app.clock_now().unix_timestamp());
        app.stop().await;
    }
}

#[actix_web::test]
async fn prompt_login_asks_for_the_second_factor_again() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        app.clock.advance(Duration::minutes(5));
        let res = open(app, &authorize_url(app, &[("prompt", Some("login"))])).await;
        let list = res.text().await.unwrap();
        let person = person_path(&list, "DUBOIS").unwrap();
        let page = app.get(&person).await.text().await.unwrap();
        assert!(page.contains("name=\"code\""), "the code is asked");
        for (code, expected) in [("", "OIDC115"), ("000000", "AUTH005")] {
            let form = [
                ("csrf", extract_csrf(&page)),
                ("i", hidden(&page, "i")),
                ("usager", hidden(&page, "usager")),
                ("demarche", "social".to_owned()),
                ("code", code.to_owned()),
            ];
            let res = app
                .client
                .post(app.url("/oidc/choix"))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(res.text().await.unwrap().contains(expected), "{expected}");
        }
        app.next_totp_step();
        let picked = app
            .choose(&page, Demarche::Social, Some(&app.totp_now()))
            .await;
        let (_, body) = tok(app, &picked.code.unwrap(), &[]).await;
        let claims = payload(body["id_token"].as_str().unwrap());
        assert_eq!(
            claims["auth_time"],
            app.clock_now().unix_timestamp(),
            "just now"
        );
        assert!(
            app.journal_actions()
                .contains(&"auth.stepup.succeeded".to_owned())
        );
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn requests_that_cannot_be_trusted_never_redirect() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        for redirect in [
            "https://fc.example/api/v2/oidc-callback/",
            "https://fc.example/api/v2/oidc-callback?x=1",
            "https://evil.example/api/v2/oidc-callback",
            "http://fc.example/api/v2/oidc-callback",
        ] {
            let res = open(
                app,
                &authorize_url(app, &[("redirect_uri", Some(redirect))]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{redirect}");
            assert!(res.headers().get("location").is_none());
            assert!(res.text().await.unwrap().contains("OIDC111"));
        }
        let res = open(app, &authorize_url(app, &[("client_id", Some("inconnu"))])).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.text().await.unwrap().contains("OIDC110"));
        for (changes, error) in [
            (
                vec![("response_type", Some("token"))],
                "unsupported_response_type",
            ),
            (vec![("scope", Some("profile"))], "invalid_scope"),
            (
                vec![
                    ("code_challenge", Some(CHALLENGE)),
                    ("code_challenge_method", Some("plain")),
                ],
                "invalid_request",
            ),
            (vec![("prompt", Some("none"))], "interaction_required"),
        ] {
            let res = open(app, &authorize_url(app, &changes)).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{changes:?}");
            let location = res.headers()["location"].to_str().unwrap();
            assert!(location.starts_with(REDIRECT_URI));
            assert_eq!(query_param(location, "error").as_deref(), Some(error));
            assert_eq!(query_param(location, "state").as_deref(), Some(STATE));
            assert_eq!(
                query_param(location, "iss").as_deref(),
                Some(app.base_url.as_str())
            );
        }
        // POST is accepted (OIDC Core §3.1.2.1): moved to a GET with the same parameters.
        let query = authorize_url(app, &[])
            .split_once('?')
            .unwrap()
            .1
            .to_owned();
        let res = app
            .client
            .post(app.url("/oidc/authorize"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(query)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/oidc/authorize?")
        );
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn tampered_choices_are_refused_and_journaled() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        app.with_aidant("autre@ailleurs.exemple.fr", &["ailleurs"]);
        let other_aidant = AidantId::new("aidant-autre-ailleurs-exemple-fr");
        let (elsewhere, _) = app.with_mandate(
            &other_aidant,
            "ailleurs",
            "Paul",
            "BERNARD",
            &[Demarche::Social],
        );
        let (housing, _) =
            app.with_mandate(&s.aidant, STRUCTURE, "Zoé", "MARTIN", &[Demarche::Logement]);
        let rep_scope =
            r#"{"id_token":{"rep_scope":{"essential":true,"values":["social_sante"]}}}"#;
        let list = open(app, &authorize_url(app, &[("claims", Some(rep_scope))]))
            .await
            .text()
            .await
            .unwrap();
        assert!(list.contains("DUBOIS"));
        assert!(!list.contains("MARTIN"), "logement is outside rep_scope");
        assert!(!list.contains("BERNARD"), "another structure's usager");
        let person = person_path(&list, "DUBOIS").unwrap();
        let page = app.get(&person).await.text().await.unwrap();
        assert!(
            !page.contains("value=\"argent\""),
            "argent is outside rep_scope"
        );
        let post = |changes: Vec<(&'static str, String)>| {
            let mut form = vec![
                ("csrf", extract_csrf(&page)),
                ("i", hidden(&page, "i")),
                ("usager", hidden(&page, "usager")),
                ("demarche", "social".to_owned()),
            ];
            for (k, v) in changes {
                form.retain(|(name, _)| *name != k);
                form.push((k, v));
            }
            app.client.post(app.url("/oidc/choix")).form(&form).send()
        };
        let mut tampered_i = hidden(&page, "i");
        tampered_i.insert(5, 'x');
        for (changes, reason) in [
            (vec![("i", tampered_i)], "tampered_interaction"),
            (vec![("demarche", "argent".to_owned())], "outside_rep_scope"),
            (
                vec![("usager", elsewhere.to_string())],
                "usager_not_offered",
            ),
            (vec![("usager", housing.to_string())], "usager_not_offered"),
            (vec![("demarche", "impots".to_owned())], "unknown_demarche"),
        ] {
            let res = post(changes).await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{reason}");
            assert!(res.headers().get("location").is_none());
            assert!(res.text().await.unwrap().contains("OIDC114"), "{reason}");
            let refusal = app
                .journal()
                .into_iter()
                .rev()
                .find(|e| e["action"] == "delegation.refused")
                .unwrap();
            assert_eq!(refusal["details"]["reason"], reason);
            assert_eq!(refusal["actor"]["id"], s.aidant.as_str());
        }
        let res = app
            .get(&format!(
                "/oidc/selection/demarche?i={}&usager={elsewhere}",
                hidden(&page, "i")
            ))
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("OIDC114"));
        // A wrong CSRF token is refused before anything else.
        let res = post(vec![("csrf", "x".into())]).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));
        // Cancelling sends access_denied back.
        let cancel = links(&page, "/oidc/annuler").remove(0);
        let res = app.get(&cancel).await;
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("access_denied")
        );
        assert_eq!(query_param(&location, "state").as_deref(), Some(STATE));
        // The genuine choice still works.
        let picked = app.choose(&page, Demarche::Social, None).await;
        assert!(picked.code.is_some());
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn codes_are_single_use_short_lived_and_bound_to_their_request() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        let first = code(&s, &[]).await;
        let (status, body) = tok(app, &first, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let access_token = body["access_token"].as_str().unwrap().to_owned();
        let (status, body) = tok(app, &first, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        let res = userinfo_get(app, &access_token).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "revoked by the replay"
        );
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );

        let late = code(&s, &[]).await;
        app.clock.advance(Duration::seconds(31));
        let (_, body) = tok(app, &late, &[]).await;
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_description"], "code expired");

        let moved = code(&s, &[]).await;
        let (_, body) = tok(
            app,
            &moved,
            &[("redirect_uri", Some("https://fc.example/other"))],
        )
        .await;
        assert_eq!(body["error"], "invalid_grant");
        let (_, body) = tok(app, &moved, &[]).await;
        assert_eq!(
            body["error"], "invalid_grant",
            "consumed by the failed attempt"
        );
        let (_, body) = tok(app, "never-issued", &[]).await;
        assert_eq!(body["error"], "invalid_grant");
        s.app.stop().await;
    }
}

/// The démarche page of DUBOIS for a new request.
pub(crate) async fn demarche_page(s: &Setup, changes: &[(&str, Option<&str>)]) -> String {
    let res = open(&s.app, &authorize_url(&s.app, changes)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list = res.text().await.unwrap();
    let res = s.app.get(&person_path(&list, "DUBOIS").unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

#[actix_web::test]
async fn one_request_yields_one_code_even_when_its_choice_is_submitted_twice_at_once() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        for round in 0..3 {
            let page = demarche_page(&s, &[]).await;
            let form = |demarche: Demarche| {
                vec![
                    ("csrf", extract_csrf(&page)),
                    ("i", hidden(&page, "i")),
                    ("usager", hidden(&page, "usager")),
                    ("demarche", demarche.key().to_owned()),
                ]
            };
            // A double click, and the same request's form for another démarche, at once.
            let (social, argent) = (form(Demarche::Social), form(Demarche::Argent));
            let (a, b) = tokio::join!(
                app.client.post(app.url("/oidc/choix")).form(&social).send(),
                app.client.post(app.url("/oidc/choix")).form(&argent).send(),
            );
            let mut answers = Vec::new();
            for res in [a.unwrap(), b.unwrap()] {
                let status = res.status();
                let location = res
                    .headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_owned());
                answers.push((status, location, res.text().await.unwrap()));
            }
            let codes: Vec<String> = answers
                .iter()
                .filter_map(|(_, l, _)| l.as_deref().and_then(|l| query_param(l, "code")))
                .collect();
            assert_eq!(codes.len(), 1, "round {round}: {answers:?}");
            let refused = answers
                .iter()
                .find(|(status, _, _)| *status == StatusCode::CONFLICT)
                .unwrap_or_else(|| panic!("no refusal: {answers:?}"));
            assert!(refused.1.is_none(), "no redirect with the refusal");
            assert!(refused.2.contains("OIDC116"), "{}", refused.2);
            assert!(refused.2.contains("déjà été envoyé"));
            let (status, _) = tok(app, &codes[0], &[]).await;
            assert_eq!(status, StatusCode::OK);
            // The back button, later: the same form again gets the page, no code.
            let again = app.post_form("/oidc/choix", &as_pairs(&social)).await;
            assert_eq!(again.status(), StatusCode::CONFLICT);
            assert!(again.headers().get("location").is_none());
            assert!(again.text().await.unwrap().contains("OIDC116"));
        }
        assert_eq!(app.count_rows("oidc_authorization_codes"), 3);
        let refusals = ac_storage::testing::count(
            &mut app.db.db.conn().unwrap(),
            "SELECT COUNT(*) AS n FROM audit_pending WHERE entry LIKE '%delegation.refused%' \
             AND entry LIKE '%request_already_answered%'",
        )
        .unwrap();
        assert_eq!(refusals, 6, "each second submission is journaled");
        s.app.stop().await;
    }
}

fn as_pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[actix_web::test]
async fn an_essential_acr_that_cannot_be_met_is_a_failed_authentication() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        let essential = r#"{"id_token":{"acr":{"essential":true,"value":"eidas3"}}}"#;
        let res = open(app, &authorize_url(app, &[("claims", Some(essential))])).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("unmet_authentication_requirements")
        );
        assert_eq!(query_param(&location, "state").as_deref(), Some(STATE));
        assert_eq!(query_param(&location, "code"), None);
        assert_eq!(app.count_rows("oidc_authorization_codes"), 0);

        // Asked for voluntarily, eidas3 is a wish: the flow goes on and states eidas1.
        let voluntary = r#"{"id_token":{"acr":{"essential":false,"value":"eidas3"}}}"#;
        let issued = code(
            &s,
            &[("claims", Some(voluntary)), ("acr_values", Some("eidas3"))],
        )
        .await;
        let (status, body) = tok(app, &issued, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let claims = payload(body["id_token"].as_str().unwrap());
        assert_eq!(claims["acr"], "eidas1");
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn clients_authenticate_and_pkce_cannot_be_downgraded() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        let c = code(&s, &[]).await;
        let res = token(app, &c, &[("client_secret", Some("wrong-secret"))]).await;
        assert_eq!(res.headers()["cache-control"], "no-store");
        let (status, body) = json(res).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client"))
        );
        // The code was not consumed by an unauthenticated request.
        let (status, _) = tok(app, &c, &[]).await;
        assert_eq!(status, StatusCode::OK);

        // HTTP Basic: the challenge comes back with the refusal.
        let res = app
            .client
            .post(app.url("/oidc/token"))
            .basic_auth(CLIENT_ID, Some("wrong"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", REDIRECT_URI),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        // A client registered for client_secret_post cannot use Basic, even with the secret.
        let c = code(&s, &[]).await;
        let res = app
            .client
            .post(app.url("/oidc/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", c.as_str()),
                ("redirect_uri", REDIRECT_URI),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        let pkce = [
            ("code_challenge", Some(CHALLENGE)),
            ("code_challenge_method", Some("S256")),
        ];
        let missing = code(&s, &pkce).await;
        let (_, body) = tok(app, &missing, &[]).await;
        assert_eq!(body["error_description"], "code_verifier missing");
        let downgrade = code(&s, &[]).await;
        let (_, body) = tok(app, &downgrade, &[("code_verifier", Some(VERIFIER))]).await;
        assert_eq!(body["error"], "invalid_grant");
        let wrong = code(&s, &pkce).await;
        let (_, body) = tok(app, &wrong, &[("code_verifier", Some(&"a".repeat(43)))]).await;
        assert_eq!(body["error"], "invalid_grant");
        let right = code(&s, &pkce).await;
        let (status, _) = tok(app, &right, &[("code_verifier", Some(VERIFIER))]).await;
        assert_eq!(status, StatusCode::OK);
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn the_mandate_is_checked_again_at_token_and_userinfo_time() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        // Between the code and the token.
        let c = code(&s, &[]).await;
        s.app.revoke(&s.aidant, &s.mandate);
        let (_, body) = tok(app, &c, &[]).await;
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(
            body["error_description"],
            "the mandate no longer covers this use"
        );

        // Between the token and userinfo.
        let (_, mandate) = app.with_mandate(
            &s.aidant,
            STRUCTURE,
            "Angela Claire",
            "DUBOIS",
            &[Demarche::Social],
        );
        let c = code(&s, &[]).await;
        let (_, body) = tok(app, &c, &[]).await;
        let access_token = body["access_token"].as_str().unwrap().to_owned();
        app.revoke(&s.aidant, &mandate);
        let res = userinfo_get(app, &access_token).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let steps: Vec<String> = app
            .journal()
            .iter()
            .filter(|e| e["action"] == "delegation.refused")
            .map(|e| e["details"]["step"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(steps, ["token", "userinfo"]);
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn end_session_redirects_only_with_a_valid_hint() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        let c = code(&s, &[]).await;
        let (_, body) = tok(app, &c, &[]).await;
        let hint = body["id_token"].as_str().unwrap().to_owned();
        // Expired hints are acceptable (RP-Initiated Logout §2).
        app.clock.advance(Duration::hours(2));
        let end = |pairs: Vec<(&str, &str)>| {
            let mut url = reqwest::Url::parse(&app.url("/oidc/session/end")).unwrap();
            url.query_pairs_mut().extend_pairs(pairs);
            app.client.get(url).send()
        };
        let res = end(vec![
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "bye"),
        ])
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()["location"],
            format!("{POST_LOGOUT_URI}?state=bye")
        );
        // Another signature of the same length: the hint still names the client, but does not verify.
        let mut forged = hint.clone().into_bytes();
        let at = forged.len() - 20;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        for (pairs, link) in [
            (
                vec![
                    ("post_logout_redirect_uri", POST_LOGOUT_URI),
                    ("client_id", CLIENT_ID),
                ],
                true,
            ),
            (
                vec![
                    ("id_token_hint", forged.as_str()),
                    ("post_logout_redirect_uri", POST_LOGOUT_URI),
                ],
                true,
            ),
            (
                vec![
                    ("id_token_hint", "garbage"),
                    ("post_logout_redirect_uri", POST_LOGOUT_URI),
                ],
                false,
            ),
            (
                vec![
                    ("id_token_hint", &hint),
                    ("post_logout_redirect_uri", "https://evil.example/"),
                ],
                false,
            ),
        ] {
            let res = end(pairs.clone()).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{pairs:?}");
            let page = res.text().await.unwrap().replace("&#x2F;", "/");
            assert!(page.contains("Déconnexion du site partenaire"));
            assert_eq!(page.contains(POST_LOGOUT_URI), link, "{pairs:?}");
            assert!(!page.contains("evil.example"));
        }
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn legacy_hs256_and_rs256_clients() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        // FranceConnect v1: HS256 with the secret, JSON userinfo, the `act` claim on.
        let legacy = ClientSetup {
            id: "fc-v1".into(),
            secret: "legacy-secret-0123456789-0123456789-0123456789".into(),
            id_token_alg: "HS256",
            userinfo_alg: None,
            act_claim: true,
            ..ClientSetup::default()
        };
        app.with_client(&legacy);
        let url = authorize_url(app, &[("client_id", Some("fc-v1"))]);
        let c = app
            .pick(&url, "DUBOIS", Demarche::Social, None)
            .await
            .code
            .unwrap();
        let (status, body) = tok(
            app,
            &c,
            &[
                ("client_id", Some("fc-v1")),
                ("client_secret", Some(&legacy.secret)),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id_token = body["id_token"].as_str().unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&["fc-v1"]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(
            id_token,
            &DecodingKey::from_secret(legacy.secret.as_bytes()),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["act"]["sub"], s.aidant.as_str());
        assert_eq!(claims["act"]["structure"], STRUCTURE);
        let res = userinfo_get(app, body["access_token"].as_str().unwrap()).await;
        assert_eq!(res.headers()["content-type"], "application/json");
        let info: Value = res.json().await.unwrap();
        assert_eq!(info["family_name"], "DUBOIS");
        assert!(info.get("iss").is_none());

        // RS256: an operator's PKCS#8 key, published as next, then promoted.
        let pem = include_str!("../../crates/oidc/src/op/testdata/rsa-2048.pem");
        let provider = &app.state.provider;
        let key = ac_web::provider::keys::PreparedKey::import_rsa(
            pem.as_bytes(),
            provider.key_ring_for_rotation(),
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        let rotation = ac_web::provider::keys::rotate(
            &mut app.db.db.conn().unwrap(),
            &key,
            &ac_storage::journal::AuditContext::cli(),
            app.clock_now(),
        )
        .unwrap();
        // The first RS256 key signs at once: nothing was signed with RS256 before.
        assert_eq!(rotation.added.1, ac_storage::oidc_keys::KeyState::Current);
        provider.reload_keys(&app.db.db, app.clock_now()).unwrap();
        let doc: Value = app
            .get("/.well-known/openid-configuration")
            .await
            .json()
            .await
            .unwrap();
        assert!(
            doc["id_token_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from("RS256"))
        );
        let rsa = ClientSetup {
            id: "rs256-client".into(),
            id_token_alg: "RS256",
            userinfo_alg: Some("RS256"),
            ..ClientSetup::default()
        };
        app.with_client(&rsa);
        let url = authorize_url(app, &[("client_id", Some("rs256-client"))]);
        let c = app
            .pick(&url, "DUBOIS", Demarche::Social, None)
            .await
            .code
            .unwrap();
        let (status, body) = tok(app, &c, &[("client_id", Some("rs256-client"))]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id_token = body["id_token"].as_str().unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(id_token).unwrap().alg,
            Algorithm::RS256
        );
        let header = jsonwebtoken::decode_header(id_token).unwrap();
        let jwks: Value = app.get("/oidc/jwks").await.json().await.unwrap();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header.kid.clone().unwrap().as_str())
            .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["rs256-client"]);
        validation.validate_exp = false;
        jsonwebtoken::decode::<Map<String, Value>>(
            id_token,
            &DecodingKey::from_rsa_components(
                jwk["n"].as_str().unwrap(),
                jwk["e"].as_str().unwrap(),
            )
            .unwrap(),
            &validation,
        )
        .unwrap();
        s.app.stop().await;
    }
}

#[path = "provider_interop.rs"]
mod interop;

#[actix_web::test]
async fn the_demonstration_partner_shows_the_whole_loop() {
    for db in ac_storage::testing::TestDatabase::each().unwrap() {
        let mut settings = ac_e2e::test_settings();
        settings.provider.demo_partner_enabled = true;
        let app = TestApp::spawn(db, settings).await;
        let aidant = app.with_aidant(EMAIL, &[STRUCTURE]);
        app.with_mandate(&aidant, STRUCTURE, "Angela", "DUBOIS", &[Demarche::Social]);
        app.sign_in(EMAIL).await;
        let home = app.get("/demo/service-public").await.text().await.unwrap();
        assert!(home.contains("Service public de démonstration"));
        assert!(home.contains("DÉMONSTRATION"));
        // The partner starts like FranceConnect: PKCE, state, nonce, acr, prompt=login, rep_scope.
        let res = app
            .get("/demo/service-public/connexion?rep_scope=social_sante")
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let authorize = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            authorize.starts_with(&app.url("/oidc/authorize?")),
            "{authorize}"
        );
        for (name, value) in [
            ("client_id", "demo-service-public"),
            ("acr_values", "eidas1"),
            ("prompt", "login"),
            ("code_challenge_method", "S256"),
        ] {
            assert_eq!(
                query_param(&authorize, name).as_deref(),
                Some(value),
                "{name}"
            );
        }
        assert!(
            query_param(&authorize, "claims")
                .unwrap()
                .contains("social_sante")
        );
        app.next_totp_step();
        let picked = app
            .pick(
                &authorize,
                "DUBOIS",
                Demarche::Social,
                Some(&app.totp_now()),
            )
            .await;
        assert!(
            picked
                .location
                .starts_with(&app.url("/demo/service-public/retour?code="))
        );
        // The partner exchanges the code and checks everything with the workspace's RP.
        let res = app.client.get(&picked.location).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{}",
            res.text().await.unwrap()
        );
        let shown = app.get("/demo/service-public").await.text().await.unwrap();
        assert!(
            shown.contains("Angela") && shown.contains("DUBOIS"),
            "{shown}"
        );
        assert!(shown.contains("social_sante"), "rep_scope in the id_token");
        // Logout through the provider, back to the partner with its state.
        let res = app
            .client
            .post(app.url("/demo/service-public/deconnexion"))
            .send()
            .await
            .unwrap();
        let end = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(end.starts_with(&app.url("/oidc/session/end?")));
        let res = app.client.get(&end).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let back = res.headers()["location"].to_str().unwrap().to_owned();
        let res = app.client.get(&back).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.text().await.unwrap().contains("déconnecté"));
        app.stop().await;
    }
}

/// In Chromium: the pages pass axe-core, and the démarche form's submission reaches the
/// partner, on another origin, despite `form-action 'self'` everywhere else (the page's own
/// policy adds the partner's origin). Without it, Chromium refuses the redirect after the POST.
#[actix_web::test]
async fn in_a_real_browser_the_choice_reaches_the_partner_on_another_origin() {
    let app = TestApp::each().await.into_iter().next().unwrap();
    let aidant = app.with_aidant(EMAIL, &[STRUCTURE]);
    // Another origin (localhost, not 127.0.0.1) that answers a page: the home page.
    let port = app.base_url.rsplit(':').next().unwrap().to_owned();
    let partner = format!("http://localhost:{port}/");
    app.with_client(&ClientSetup {
        redirect_uris: vec![partner.clone()],
        ..ClientSetup::default()
    });
    app.with_mandate(
        &aidant,
        STRUCTURE,
        "Angela",
        "DUBOIS",
        &[Demarche::Social, Demarche::Argent],
    );
    app.sign_in(EMAIL).await;
    let cookie = app.cookie("ac_session").unwrap();
    let url = authorize_url(&app, &[("redirect_uri", Some(&partner))]);
    let path = url.strip_prefix(&app.base_url).unwrap().to_owned();
    let report = ac_e2e::browser::run_plan(
        &app,
        "provider",
        vec![ac_e2e::browser::on_tablet(ac_e2e::browser::session(
            "aidant",
            &cookie,
            vec![
                serde_json::json!({ "name": "personnes", "goto": path }),
                serde_json::json!({ "name": "demarche", "press": "Continuer avec cette personne" }),
                serde_json::json!({ "name": "partenaire", "press": "Transmettre l'identité" }),
            ],
        ), ac_e2e::browser::PORTRAIT)],
    )
    .await;
    assert!(report.success, "{}", report.output);
    let pages = report.report["pages"].as_array().unwrap();
    let last = pages.last().unwrap()["url"].as_str().unwrap();
    assert!(last.starts_with(&format!("{partner}?code=")), "{last}");
    assert_eq!(query_param(last, "state").as_deref(), Some(STATE));
    app.stop().await;
}
