//! Every route of the service, in one place.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::CurrentAidant;
use crate::{AppState, WebError};

/// The features' own templates, registered with the shared ones by `Templates::load`.
pub(crate) const TEMPLATES: &[&[(&str, &str)]] = &[
    crate::console::TEMPLATES,
    crate::provider::TEMPLATES,
    crate::usagers::TEMPLATES,
    crate::information::TEMPLATES,
    crate::remote_consent::TEMPLATES,
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Resources answer 405 to other methods instead of falling through to 404.
    cfg.service(web::resource("/").get(home))
        .service(web::resource("/healthz").get(healthz))
        .service(web::resource("/readyz").get(readyz))
        .service(web::resource("/static/style.css").get(stylesheet))
        .service(web::resource("/static/print.css").get(print_stylesheet))
        .service(web::resource("/static/imprimer.js").get(print_script))
        .service(web::resource("/static/dsfr/{bundle}/{path:.*}").get(crate::dsfr::file))
        .service(web::resource("/static/audio/{digest}/{file}").get(crate::audio::file))
        .service(web::resource("/audit/key").get(audit_key))
        .service(web::resource("/audit/checkpoint").get(latest_checkpoint))
        .service(web::resource("/audit/checkpoints/{size}").get(checkpoint_at));
    crate::auth::configure(cfg);
    crate::console::configure(cfg);
    // Before the identification journey, whose `/mandats/{id}` would take `/mandats/a-distance`.
    crate::remote_consent::configure(cfg);
    crate::identification::configure(cfg);
    crate::aide_space::configure(cfg);
    crate::information::configure(cfg);
    crate::i18n::configure(cfg);
    crate::provider::configure(cfg);
    crate::receipts::configure(cfg);
    crate::usagers::configure(cfg);
}

pub async fn not_found() -> Result<HttpResponse, WebError> {
    Err(WebError::NotFound)
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

#[derive(Serialize)]
struct DemarcheView {
    title: &'static str,
    examples: &'static str,
}

/// The home page; a signed-in person gets their menu and a way to their space instead of the
/// sign-in button (no session, or an ended one, is simply the anonymous page).
async fn home(
    state: web::Data<AppState>,
    current: Option<CurrentAidant>,
) -> Result<HttpResponse, WebError> {
    let demarches: Vec<DemarcheView> = ac_mandates::Demarche::ALL
        .iter()
        .map(|d| DemarcheView {
            title: d.title(),
            examples: d.examples(),
        })
        .collect();
    let context = serde_json::json!({
        "demarches": demarches,
        "dev_mode": state.settings.server.dev_mode,
        "signed_in": current.is_some(),
    });
    let body = match current {
        Some(current) => state
            .templates
            .render_for(&current.menu(), "home.html", &context)?,
        None => state.templates.render("home.html", &context)?,
    };
    Ok(html(body))
}

/// Liveness: the process answers. No dependency is checked, so a database outage does not get
/// every node restarted.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// Readiness: the database answers and is migrated, so a load balancer may send traffic here;
/// and the journal-integrity alarm is down. A raised alarm answers 503 with its reason, so the
/// monitoring that watches readiness sees it (docs/operations.md).
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    if let Some(why) = state.journal_alarm.raised() {
        let mut degraded = HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(format!(
                "degraded: journal integrity alarm, audit integration stopped: {why}\n"
            ));
        degraded.extensions_mut().insert(crate::error::KeepBody);
        return Ok(degraded);
    }
    let db = state.db.clone();
    web::block(move || db.ping())
        .await?
        .map_err(|e| WebError::Unavailable(format!("{} {e:?}", e.code())))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ready"))
}

fn css(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

async fn stylesheet() -> HttpResponse {
    css(include_str!("../static/style.css"))
}

/// Paper rules for the printable documents (mandate, revocation attestation).
async fn print_stylesheet() -> HttpResponse {
    css(include_str!("../static/print.css"))
}

/// The « Imprimer » button's script (a file: the CSP allows no inline script).
async fn print_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(include_str!("../static/imprimer.js"))
}

fn note(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// The public keys that sign checkpoints, one per line (C2SP verifier key form).
async fn audit_key(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let keys: Vec<String> = state
        .trusted_audit_keys()?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(note(keys.join("\n") + "\n"))
}

/// The latest signed checkpoint. It holds no personal data, so anyone may fetch and keep it:
/// every copy kept elsewhere makes a later rewrite of the log detectable.
async fn latest_checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let db = state.db.clone();
    let latest =
        web::block(move || ac_storage::audit::latest_checkpoint(&mut *db.conn()?)).await??;
    latest
        .map(|c| note(c.signed_note))
        .ok_or(WebError::NotFound)
}

async fn checkpoint_at(
    state: web::Data<AppState>,
    size: web::Path<u64>,
) -> Result<HttpResponse, WebError> {
    let db = state.db.clone();
    let size = size.into_inner();
    let found = web::block(move || ac_storage::audit::checkpoint(&mut *db.conn()?, size)).await??;
    found.map(|c| note(c.signed_note)).ok_or(WebError::NotFound)
}
