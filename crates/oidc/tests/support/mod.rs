//! Test support: the certified provider (panva's oidc-provider, started with Node on loopback), a
//! cookie-keeping "browser", a forging provider for tokens no honest provider would send, and keys.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: fail loudly

use ac_auth::Secret;
use ac_oidc::rp::{CallbackParams, HttpSettings, ProtocolVersion, RpConfig};
use ac_oidc::{Acr, PseudonymKey, SigningAlg};
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

pub const CLIENT_ID: &str = "aidants-connect";
pub const CLIENT_SECRET: &str = "interop-client-secret-0123456789-abcdefghijklmnop";
/// Never contacted: the "browser" stops at the redirect and hands its query to the RP.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/mandats/franceconnect/retour";
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/mandats/franceconnect/deconnexion";

pub fn rp_config(issuer: &str, version: ProtocolVersion, algorithms: Vec<SigningAlg>) -> RpConfig {
    RpConfig {
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET.as_bytes().to_vec()),
        version,
        algorithms,
        acr: Acr::Eidas1,
        scopes: ["openid", "identite_pivot", "email", "preferred_username"]
            .map(String::from)
            .to_vec(),
        redirect_uri: REDIRECT_URI.into(),
        post_logout_redirect_uri: POST_LOGOUT_URI.into(),
        pseudonym_key: PseudonymKey::new(&[42; 32]).unwrap(),
        http: HttpSettings {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            allow_http: true,
        },
        leeway: Duration::from_secs(30),
        max_token_age: Duration::from_secs(600),
        login_ttl: Duration::from_secs(600),
        jwks_max_age: Duration::from_secs(3600),
    }
}

// ---------------------------------------------------------------------------------------------
// The certified provider.

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

static NPM: Mutex<bool> = Mutex::new(false);

/// `npm ci` once when node_modules is missing (`make test` does it before, through
/// `make interop-deps`). No Node, no npm: the test fails, it never skips.
fn ensure_node_modules() {
    let mut done = NPM.lock().unwrap_or_else(|p| p.into_inner());
    let dir = interop_dir();
    if *done || dir.join("node_modules/oidc-provider/package.json").exists() {
        *done = true;
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .status()
        .unwrap_or_else(|e| {
            panic!("npm is needed for the OIDC interop tests (tests/interop) and could not run: {e}. Install Node.js 20+ and npm.")
        });
    assert!(
        status.success(),
        "`npm ci --prefix tests/interop` failed: {status}"
    );
    *done = true;
}

/// One oidc-provider process on a loopback port, ended (by its pid) when dropped.
pub struct Op {
    child: Child,
    pub issuer: String,
    stderr: Arc<Mutex<String>>,
}

impl Op {
    /// `profile`: `fc2` (ES256, signed userinfo), `rs256`, or `fc1` (HS256, JSON userinfo).
    pub fn start(profile: &str) -> Op {
        ensure_node_modules();
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(interop_dir())
            .env("OP_PROFILE", profile)
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", REDIRECT_URI)
            .env("POST_LOGOUT_REDIRECT_URI", POST_LOGOUT_URI)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("node is needed for the OIDC interop tests and could not start: {e}")
            });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err_pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Ok(started) = serde_json::from_str::<Value>(&line) else {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "oidc-provider ({profile}) did not start: {line:?}\n{}",
                stderr.lock().unwrap()
            );
        };
        Op {
            child,
            issuer: started["issuer"].as_str().unwrap().to_owned(),
            stderr,
        }
    }

    /// Publishes a new signing key in front of the old one; the provider signs with it from now.
    pub async fn rotate_key(&self) -> String {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/__rotate", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["kid"].as_str().unwrap().to_owned()
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The browser.

/// A browser: keeps cookies, follows no redirect by itself so each hop can be checked.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> Url {
    let status = response.status();
    assert!(status.is_redirection(), "expected a redirect, got {status}");
    let to = response.headers()["location"].to_str().unwrap();
    response.url().join(to).unwrap()
}

/// Follows redirects until one leaves for `stop_at` (the RP, never contacted); returns it.
pub async fn follow_until(browser: &reqwest::Client, mut url: Url, stop_at: &str) -> Url {
    for _ in 0..10 {
        if url.as_str().starts_with(stop_at) {
            return url;
        }
        let response = browser.get(url.clone()).send().await.unwrap();
        if !response.status().is_redirection() {
            let status = response.status();
            panic!(
                "stopped at {url} with {status}: {}",
                response.text().await.unwrap()
            );
        }
        url = location(&response);
    }
    panic!("too many redirects");
}

/// The callback query the provider redirected to.
pub fn callback_params(url: &Url) -> CallbackParams {
    serde_json::from_value(Value::Object(
        url.query_pairs()
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    ))
    .unwrap()
}

/// From the authorization URL to the provider's interaction page.
async fn open_interaction(browser: &reqwest::Client, authorize: Url) -> Url {
    let response = browser.get(authorize).send().await.unwrap();
    let interaction = location(&response);
    assert!(
        interaction.path().starts_with("/interaction/"),
        "{interaction}"
    );
    let page = browser.get(interaction.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    interaction
}

/// Signs in at the provider as `account`, choosing `acr` in our interaction form, and returns
/// the redirect back to us.
pub async fn sign_in(browser: &reqwest::Client, authorize: Url, account: &str, acr: &str) -> Url {
    let interaction = open_interaction(browser, authorize).await;
    let response = browser
        .post(interaction)
        .form(&[("account", account), ("acr", acr)])
        .send()
        .await
        .unwrap();
    follow_until(browser, location(&response), REDIRECT_URI).await
}

/// Presses "Annuler" at the provider.
pub async fn cancel(browser: &reqwest::Client, authorize: Url) -> Url {
    let interaction = open_interaction(browser, authorize).await;
    let response = browser
        .post(format!("{interaction}/abort"))
        .send()
        .await
        .unwrap();
    follow_until(browser, location(&response), REDIRECT_URI).await
}

/// RP-initiated logout at oidc-provider: it asks for confirmation (a form with an `xsrf` field);
/// confirm it and return the redirect to the post-logout URI.
pub async fn confirm_logout(browser: &reqwest::Client, end_session: Url) -> Url {
    let response = browser.get(end_session.clone()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let action = between(&page, "action=\"", "\"");
    let xsrf = between(&page, "name=\"xsrf\" value=\"", "\"");
    let response = browser
        .post(end_session.join(&action).unwrap())
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .unwrap();
    follow_until(browser, location(&response), POST_LOGOUT_URI).await
}

pub fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in {text}"))
        + start.len();
    let len = text[from..].find(end).unwrap();
    text[from..from + len].to_owned()
}

// ---------------------------------------------------------------------------------------------
// Keys and forged tokens.

/// An ES256 key made with ring; tokens signed with jsonwebtoken.
pub struct EcKey {
    pub kid: String,
    pkcs8: Vec<u8>,
    /// Uncompressed SEC1 point (0x04 ‖ x ‖ y).
    pub public: Vec<u8>,
}

impl EcKey {
    pub fn generate(kid: &str) -> EcKey {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        EcKey {
            kid: kid.to_owned(),
            pkcs8: pkcs8.as_ref().to_vec(),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    pub fn jwk(&self) -> Value {
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&self.public[33..65]),
        })
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .unwrap()
    }
}

pub fn sign_hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// An unsigned JWS (RFC 7519 §6): `alg: none`, empty signature.
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    )
}

// ---------------------------------------------------------------------------------------------
// The forging provider: discovery, JWKS, token and userinfo that return whatever the test set.

pub struct Forged {
    pub jwks: Value,
    pub id_token: String,
    pub userinfo_type: &'static str,
    pub userinfo: String,
    pub jwks_hits: u32,
    /// 0: normal; otherwise the token endpoint answers with a redirect elsewhere.
    pub token_redirect: bool,
    pub token_delay: Duration,
    pub advertised_issuer: Option<String>,
}

pub struct ForgingOp {
    pub issuer: String,
    pub state: web::Data<Mutex<Forged>>,
    handle: ServerHandle,
}

impl ForgingOp {
    pub async fn start(jwks: Value) -> ForgingOp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = web::Data::new(Mutex::new(Forged {
            jwks,
            id_token: String::new(),
            userinfo_type: "application/jwt",
            userinfo: String::new(),
            jwks_hits: 0,
            token_redirect: false,
            token_delay: Duration::ZERO,
            advertised_issuer: None,
        }));
        let (data, base) = (state.clone(), issuer.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::Data::new(base.clone()))
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks_route))
                .route("/token", web::post().to(token))
                .route("/userinfo", web::get().to(userinfo))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        ForgingOp {
            issuer,
            state,
            handle,
        }
    }

    pub fn set(&self, change: impl FnOnce(&mut Forged)) {
        change(&mut self.state.lock().unwrap());
    }

    pub fn jwks_hits(&self) -> u32 {
        self.state.lock().unwrap().jwks_hits
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn discovery(state: web::Data<Mutex<Forged>>, base: web::Data<String>) -> HttpResponse {
    let base = base.as_str();
    let issuer = state
        .lock()
        .unwrap()
        .advertised_issuer
        .clone()
        .unwrap_or_else(|| base.to_string());
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "end_session_endpoint": format!("{base}/session/end"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256", "HS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

async fn jwks_route(state: web::Data<Mutex<Forged>>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    s.jwks_hits += 1;
    HttpResponse::Ok().json(s.jwks.clone())
}

async fn token(state: web::Data<Mutex<Forged>>) -> HttpResponse {
    let (redirect, delay, id_token) = {
        let s = state.lock().unwrap();
        (s.token_redirect, s.token_delay, s.id_token.clone())
    };
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    if redirect {
        return HttpResponse::TemporaryRedirect()
            .insert_header(("location", "http://127.0.0.1:9/elsewhere"))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(json!({
            "access_token": "forged-access-token",
            "token_type": "Bearer",
            "expires_in": 60,
            "id_token": id_token,
        }))
}

async fn userinfo(state: web::Data<Mutex<Forged>>) -> HttpResponse {
    let s = state.lock().unwrap();
    HttpResponse::Ok()
        .content_type(s.userinfo_type)
        .body(s.userinfo.clone())
}
