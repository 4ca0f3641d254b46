#![doc = include_str!("../README.md")]

use ac_auth::{Secret, Token};
use ac_clock::Clock;
use ac_config::{DEMO_PARTNER_CLIENT_ID, Settings};
use ac_mandates::Demarche;
use ac_oidc::rp::{
    CallbackParams, HttpSettings, IdTokenHint, PendingLogin, PendingLogout, ProtocolVersion,
    RelyingParty, RpConfig, state_key,
};
use ac_oidc::{Acr, OidcError, PseudonymKey, SigningAlg};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
// The escaping of the service's own pages (tera's), for text and double-quoted attributes.
use tera::escape_html as escape;

pub use ac_config::DEMO_PARTNER_PATH as PATH;

const COOKIE: &str = "demo_partner";

/// The demonstration partner; cheap to clone, shared by every worker.
#[derive(Clone)]
pub struct DemoPartner(Arc<Inner>);

struct Inner {
    issuer: String,
    base: String,
    client_secret: Secret,
    dev_cookie: bool,
    clock: Arc<dyn Clock>,
    relying_party: tokio::sync::OnceCell<Arc<RelyingParty>>,
    /// Pending logins by state hash, logouts by state hash, and what each browser saw last.
    logins: Mutex<HashMap<String, PendingLogin>>,
    logouts: Mutex<HashMap<String, PendingLogout>>,
    shown: Mutex<HashMap<String, Shown>>,
}

#[derive(Clone)]
struct Shown {
    claims: Map<String, Value>,
    identity: Vec<(&'static str, String)>,
    hint: IdTokenHint,
}

impl fmt::Debug for DemoPartner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoPartner")
            .field("base", &self.0.base)
            .finish_non_exhaustive()
    }
}

impl DemoPartner {
    /// The partner the settings ask for: `None` outside dev mode or when turned off. `secret`
    /// is the one registered for it at the provider.
    pub fn from_settings(settings: &Settings, secret: &str, clock: Arc<dyn Clock>) -> Option<Self> {
        if !(settings.server.dev_mode && settings.provider.demo_partner_enabled) {
            return None;
        }
        let public_url = &settings.server.public_url;
        Some(Self(Arc::new(Inner {
            issuer: public_url.clone(),
            base: format!("{public_url}{PATH}"),
            client_secret: Secret::new(secret.trim().as_bytes().to_vec()),
            dev_cookie: true,
            clock,
            relying_party: tokio::sync::OnceCell::new(),
            logins: Mutex::new(HashMap::new()),
            logouts: Mutex::new(HashMap::new()),
            shown: Mutex::new(HashMap::new()),
        })))
    }

    /// Discovered on first use: the provider is this very server, not listening at start-up.
    async fn relying_party(&self) -> Result<Arc<RelyingParty>, OidcError> {
        let inner = &self.0;
        inner
            .relying_party
            .get_or_try_init(|| async {
                let mut key = [0u8; 32];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
                    .map_err(|_| OidcError::Random)?;
                let config = RpConfig {
                    issuer: inner.issuer.clone(),
                    client_id: DEMO_PARTNER_CLIENT_ID.to_owned(),
                    client_secret: inner.client_secret.clone(),
                    version: ProtocolVersion::V2,
                    algorithms: vec![SigningAlg::ES256],
                    acr: Acr::Eidas1,
                    scopes: ["openid", "profile", "birth", "email"]
                        .map(String::from)
                        .to_vec(),
                    redirect_uri: format!("{}/retour", inner.base),
                    post_logout_redirect_uri: format!("{}/deconnexion", inner.base),
                    pseudonym_key: PseudonymKey::new(&key)
                        .ok_or_else(|| OidcError::Config("clé".into()))?,
                    // Dev mode only: the service may run on plain HTTP on this machine.
                    http: HttpSettings {
                        allow_http: true,
                        ..HttpSettings::default()
                    },
                    leeway: Duration::from_secs(30),
                    max_token_age: Duration::from_secs(120),
                    login_ttl: Duration::from_secs(900),
                    jwks_max_age: Duration::from_secs(300),
                };
                RelyingParty::discover(config, inner.clock.now())
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
    }
}

/// Mounts the partner under [`PATH`].
pub fn configure(cfg: &mut web::ServiceConfig, partner: &DemoPartner) {
    cfg.service(
        web::scope(PATH)
            .app_data(web::Data::new(partner.clone()))
            .service(web::resource("").get(home))
            .service(web::resource("/connexion").get(sign_in))
            .service(web::resource("/retour").get(callback))
            .service(web::resource("/deconnexion").get(after_logout).post(logout)),
    );
}

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!(
            "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} - service public de démonstration</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head>\
<body><main class=\"page\">\
<p class=\"notice\" role=\"note\"><strong>DÉMONSTRATION</strong> - ce site imite un service public en ligne \
qui accepte FranceConnect ; il n'existe qu'en mode développement. Les personnes sont fictives.</p>\
<h1>{title}</h1>{body}</main></body></html>",
            title = escape(title),
        ))
}

/// The browser's demo cookie: binds pending logins to this browser.
fn browser(partner: &DemoPartner, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(token) = req.cookie(COOKIE).and_then(|c| Token::parse(c.value())) {
        return (token.hash().as_str().to_owned(), None);
    }
    let Ok(token) = Token::generate(&ring::rand::SystemRandom::new()) else {
        return (String::new(), None);
    };
    let cookie = Cookie::build(COOKIE, token.expose().to_owned())
        .path(PATH)
        .http_only(true)
        .secure(!partner.0.dev_cookie)
        .same_site(SameSite::Lax)
        .finish();
    (token.hash().as_str().to_owned(), Some(cookie))
}

fn refused(error: &OidcError) -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "Connexion impossible",
        &format!(
            "<p class=\"error-message\" role=\"alert\">{}</p><p><a class=\"button\" href=\"{PATH}\">Revenir au service</a></p>",
            escape(&error.to_string())
        ),
    )
}

async fn home(partner: web::Data<DemoPartner>, req: HttpRequest) -> HttpResponse {
    let (binding, cookie) = browser(&partner, &req);
    let shown = partner
        .0
        .shown
        .lock()
        .ok()
        .and_then(|s| s.get(&binding).cloned());
    let mut options = String::new();
    for d in Demarche::ALL {
        options.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            d.franceconnect_scope(),
            if d == Demarche::Social {
                " selected"
            } else {
                ""
            },
            escape(d.title())
        ));
    }
    let mut body = format!(
        "<p class=\"lead\">Bienvenue sur le service public de démonstration. Pour faire votre démarche, \
identifiez-vous avec FranceConnect.</p>\
<p>Une personne accompagnée par un aidant : l'aidant choisit Aidants Connect, se connecte, choisit la personne \
et la démarche, et ce site reçoit l'identité de la personne — seulement si un mandat en cours le permet.</p>\
<form method=\"get\" action=\"{PATH}/connexion\">\
<label for=\"rep_scope\">Démarche de ce service (délégation demandée)</label>\
<select id=\"rep_scope\" name=\"rep_scope\">{options}<option value=\"\">Toutes les démarches</option></select>\
<p><button type=\"submit\">S'identifier avec FranceConnect (Aidants Connect)</button></p></form>"
    );
    if let Some(shown) = shown {
        body.push_str("<h2>Identité reçue</h2><dl class=\"identity\">");
        for (label, value) in &shown.identity {
            body.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                escape(label),
                escape(value)
            ));
        }
        body.push_str("</dl><h2>Jeton d'identité (id_token) vérifié</h2><dl>");
        for (name, value) in &shown.claims {
            body.push_str(&format!(
                "<dt><code>{}</code></dt><dd><code>{}</code></dd>",
                escape(name),
                escape(&value.to_string())
            ));
        }
        body.push_str(&format!(
            "</dl><form method=\"post\" action=\"{PATH}/deconnexion\"><p><button type=\"submit\" class=\"secondary\">Se déconnecter</button></p></form>"
        ));
    }
    let mut response = page(StatusCode::OK, "Service public de démonstration", &body);
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[derive(Deserialize)]
struct SignInQuery {
    rep_scope: Option<String>,
}

/// Starts the flow the way FranceConnect does, plus the `claims` parameter naming the
/// delegation scope this service needs.
#[tracing::instrument(skip_all)]
async fn sign_in(
    partner: web::Data<DemoPartner>,
    req: HttpRequest,
    query: web::Query<SignInQuery>,
) -> HttpResponse {
    let rp = match partner.relying_party().await {
        Ok(rp) => rp,
        Err(e) => return refused(&e),
    };
    let (binding, cookie) = browser(&partner, &req);
    let now = partner.0.clock.now();
    let (mut url, pending) = match rp.begin(Some(Acr::Eidas1), &binding, now) {
        Ok(begun) => begun,
        Err(e) => return refused(&e),
    };
    if let Some(scope) = query
        .rep_scope
        .as_deref()
        .and_then(Demarche::from_franceconnect_scope)
    {
        let claims = serde_json::json!({"id_token": {"rep_scope": {
            "essential": true, "values": [scope.franceconnect_scope()]}}});
        url.query_pairs_mut()
            .append_pair("claims", &claims.to_string());
    }
    if let Ok(mut logins) = partner.0.logins.lock() {
        logins.insert(pending.state_hash.clone(), pending);
    }
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.as_str()))
        .finish();
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

fn identity_rows(identity: &ac_mandates::PivotIdentity) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("Prénoms", identity.given_name.clone()),
        ("Nom de naissance", identity.family_name.clone()),
        ("Date de naissance", identity.birthdate.to_string()),
        (
            "Sexe",
            match identity.gender {
                ac_mandates::Gender::Male => "masculin",
                ac_mandates::Gender::Female => "féminin",
            }
            .to_owned(),
        ),
        (
            "Lieu de naissance (code INSEE)",
            identity
                .birthplace
                .clone()
                .unwrap_or_else(|| "né·e à l'étranger".into()),
        ),
        (
            "Pays de naissance (code INSEE)",
            identity.birthcountry.clone(),
        ),
    ];
    if let Some(email) = &identity.email {
        rows.push(("Adresse électronique", email.as_str().to_owned()));
    }
    rows
}

/// The id_token's claims, for display: `complete` has verified it already.
fn claims_of(hint: &IdTokenHint) -> Map<String, Value> {
    hint.expose()
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

#[tracing::instrument(skip_all)]
async fn callback(
    partner: web::Data<DemoPartner>,
    req: HttpRequest,
    params: web::Query<CallbackParams>,
) -> HttpResponse {
    let rp = match partner.relying_party().await {
        Ok(rp) => rp,
        Err(e) => return refused(&e),
    };
    let (binding, _) = browser(&partner, &req);
    let now = partner.0.clock.now();
    let stored = params
        .state
        .as_deref()
        .and_then(state_key)
        .and_then(|key| partner.0.logins.lock().ok()?.remove(&key));
    let code = match rp.validate_callback(&params, stored.as_ref(), &binding, now) {
        Ok(code) => code,
        Err(e) => return refused(&e),
    };
    let Some(pending) = stored else {
        return refused(&OidcError::StateUnknown);
    };
    match rp.complete(code, &pending, now).await {
        Ok(identification) => {
            let shown = Shown {
                claims: claims_of(&identification.id_token_hint),
                identity: identity_rows(&identification.identity),
                hint: identification.id_token_hint,
            };
            if let Ok(mut all) = partner.0.shown.lock() {
                all.insert(binding, shown);
            }
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, PATH))
                .finish()
        }
        Err(e) => refused(&e),
    }
}

/// Logout through the provider's end-session endpoint, with the id_token as hint.
async fn logout(partner: web::Data<DemoPartner>, req: HttpRequest) -> HttpResponse {
    let rp = match partner.relying_party().await {
        Ok(rp) => rp,
        Err(e) => return refused(&e),
    };
    let (binding, _) = browser(&partner, &req);
    let Some(shown) = partner
        .0
        .shown
        .lock()
        .ok()
        .and_then(|mut s| s.remove(&binding))
    else {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, PATH))
            .finish();
    };
    match rp.end_session(&shown.hint, &binding, partner.0.clock.now()) {
        Ok((url, pending)) => {
            if let Ok(mut logouts) = partner.0.logouts.lock() {
                logouts.insert(pending.state_hash.clone(), pending);
            }
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, url.as_str()))
                .finish()
        }
        Err(e) => refused(&e),
    }
}

#[derive(Deserialize)]
struct LogoutReturn {
    state: Option<String>,
}

async fn after_logout(
    partner: web::Data<DemoPartner>,
    req: HttpRequest,
    query: web::Query<LogoutReturn>,
) -> HttpResponse {
    let rp = match partner.relying_party().await {
        Ok(rp) => rp,
        Err(e) => return refused(&e),
    };
    let (binding, _) = browser(&partner, &req);
    let pending = query
        .state
        .as_deref()
        .and_then(state_key)
        .and_then(|key| partner.0.logouts.lock().ok()?.remove(&key));
    match rp.check_end_session_return(
        query.state.as_deref(),
        pending.as_ref(),
        &binding,
        partner.0.clock.now(),
    ) {
        Ok(()) => page(
            StatusCode::OK,
            "Vous êtes déconnecté·e",
            &format!(
                "<p>La session de ce service est fermée.</p><p><a class=\"button\" href=\"{PATH}\">Revenir au service</a></p>"
            ),
        ),
        Err(e) => refused(&e),
    }
}
