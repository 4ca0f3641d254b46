//! The service's public face outside any journey: the home page, the liveness and readiness
//! probes, the style sheets and print script, and the journal's public notes (its verifier keys
//! and signed checkpoints, which anyone may fetch and keep).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::CurrentAidant;
use crate::{AppState, WebError};

pub(crate) async fn not_found() -> Result<HttpResponse, WebError> {
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
pub(crate) async fn home(
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
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// Readiness: the database answers and is migrated, so a load balancer may send traffic here;
/// and the journal-integrity alarm is down. A raised alarm answers 503 with its reason, so the
/// monitoring that watches readiness sees it (docs/operations.md).
pub(crate) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
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

pub(crate) async fn stylesheet() -> HttpResponse {
    css(include_str!("../static/style.css"))
}

/// Paper rules for the printable documents (mandate, revocation attestation).
pub(crate) async fn print_stylesheet() -> HttpResponse {
    css(include_str!("../static/print.css"))
}

/// The « Imprimer » button's script (a file: the CSP allows no inline script).
pub(crate) async fn print_script() -> HttpResponse {
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
pub(crate) async fn audit_key(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let keys: Vec<String> = state
        .trusted_audit_keys()?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(note(keys.join("\n") + "\n"))
}

/// The latest signed checkpoint. It holds no personal data, so anyone may fetch and keep it:
/// every copy kept elsewhere makes a later rewrite of the log detectable.
pub(crate) async fn latest_checkpoint(
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let db = state.db.clone();
    let latest =
        web::block(move || ac_storage::audit::latest_checkpoint(&mut *db.conn()?)).await??;
    latest
        .map(|c| note(c.signed_note))
        .ok_or(WebError::NotFound)
}

pub(crate) async fn checkpoint_at(
    state: web::Data<AppState>,
    size: web::Path<u64>,
) -> Result<HttpResponse, WebError> {
    let db = state.db.clone();
    let size = size.into_inner();
    let found = web::block(move || ac_storage::audit::checkpoint(&mut *db.conn()?, size)).await??;
    found.map(|c| note(c.signed_note)).ok_or(WebError::NotFound)
}
