//! The public verification page (docs/domain.md, "Journeys" 5): anyone holding a printed mandate types its
//! code, or scans its QR code, and sees whether it is valid, expired or revoked, with its
//! structure, démarches and dates — and nothing about the aidé (no name, birth date, usager id
//! or pseudonym), because anyone may hold the paper.
//!
//! No sign-in. Lookups are counted per client IP in the database (`ac_storage::rate_limits`,
//! shared by every node), so trying codes costs a window per handful of guesses on top of the
//! 160 bits of the code. An unknown code and a malformed one get the same 404 page.

use ac_audit::Actor;
use ac_mandates::{Mandate, MandateStatus, VerificationCode};
use ac_storage::journal::AuditContext;
use ac_storage::rate_limits::{self, Limit};
use ac_storage::{StorageError, mandate_verifications, mandates, organisations};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::Deserialize;
use tracing::instrument;

use crate::auth::request_id;
use crate::mandate_copy::{authorization_views, written_date};
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

/// The mandate's status in the words the page shows (the colour only repeats them).
fn status_word(status: MandateStatus) -> (&'static str, &'static str) {
    match status {
        MandateStatus::Active { .. } => ("valid", "Valide"),
        MandateStatus::Expired => ("expired", "Expiré"),
        MandateStatus::Revoked => ("revoked", "Révoqué"),
    }
}

/// What the form page shows: the field, with its error tied to it when there is one.
fn render_form(
    state: &AppState,
    status: HttpResponseBuilder,
    typed: &str,
    error: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let body = state.templates.render(
        "identification/verification_form.html",
        &serde_json::json!({ "typed": typed, "error": error }),
    )?;
    Ok(private(page(status, body)))
}

/// The code is in the address: it goes to no other site.
fn private(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

#[derive(Deserialize)]
pub(crate) struct Typed {
    code: Option<String>,
}

/// The form (GET: it changes nothing). A well-formed code is sent on to its page, where the
/// lookup is counted; a malformed one is shown again with its error, without any lookup.
pub(crate) async fn form_page(
    state: web::Data<AppState>,
    query: web::Query<Typed>,
) -> Result<HttpResponse, WebError> {
    let Some(typed) = query.into_inner().code else {
        return render_form(&state, HttpResponse::Ok(), "", None);
    };
    match VerificationCode::parse(&typed) {
        Some(code) => Ok(private(
            see_other(&format!("/verification/{}", code.as_str())).finish(),
        )),
        None => {
            // Shown back only when short enough to be a mistyped code.
            let shown: String = typed.chars().take(64).collect();
            render_form(
                &state,
                HttpResponse::UnprocessableEntity(),
                &shown,
                Some(
                    "Ce code n'a pas la bonne forme : il compte 32 caractères, lettres et \
                     chiffres, souvent écrits par groupes de 4.",
                ),
            )
        }
    }
}

/// The visitor, in the journal's first refusal of a window: nobody signed in, so the service.
fn public_context(req: &HttpRequest) -> AuditContext {
    AuditContext {
        actor: Actor::system(),
        request_id: request_id(req),
    }
}

#[instrument(skip_all)]
pub(crate) async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let found = counted_lookup(&state, &req, &code, now)
        .await?
        .map_err(|()| WebError::too_many(ac_mandates::JourneyRefusal::TooManyVerifications))?;
    let (mandate, organisation) = match found {
        Lookup::Found(found) => *found,
        Lookup::Unknown => {
            let body = state.templates.render(
                "identification/verification_unknown.html",
                &serde_json::json!({}),
            )?;
            return Ok(private(page(HttpResponse::NotFound(), body)));
        }
        // 410: the mandate existed and is gone for good (RFC 9110 §15.5.11).
        Lookup::Deleted => {
            let body = state.templates.render(
                "identification/verification_deleted.html",
                &serde_json::json!({}),
            )?;
            return Ok(private(page(HttpResponse::Gone(), body)));
        }
    };
    let body = state.templates.render(
        "identification/verification.html",
        &result_view(&mandate, &organisation, &state.local_times, now),
    )?;
    Ok(private(page(HttpResponse::Ok(), body)))
}

/// What the code in the address names, once the lookup is counted for the client's IP; `Err`
/// when the IP is over its limit (its first refusal in a window is journaled).
async fn counted_lookup(
    state: &AppState,
    req: &HttpRequest,
    code: &str,
    now: time::OffsetDateTime,
) -> Result<Result<Lookup, ()>, WebError> {
    let settings = &state.settings.mandates;
    let limit = Limit {
        max: i32::try_from(settings.verification_lookups_per_ip).unwrap_or(i32::MAX),
        window: settings.verification_window,
    };
    // Counted before the code is even read: a malformed guess costs the same as any other.
    let (db, key, context) = (
        state.db.clone(),
        format!("verification:ip:{}", state.auth.client_ip(req)),
        public_context(req),
    );
    let code = VerificationCode::parse(code);
    blocking(move || {
        let conn = &mut *db.conn()?;
        if !rate_limits::enforce(conn, &key, "verification_per_ip", limit, &context, now)? {
            return Ok(Err(()));
        }
        let Some(code) = code else {
            return Ok(Ok(Lookup::Unknown));
        };
        let id = match mandate_verifications::mandate_for_code(conn, &code) {
            Ok(id) => id,
            Err(StorageError::NotFound) if mandate_verifications::is_retired(conn, &code)? => {
                return Ok(Ok(Lookup::Deleted));
            }
            Err(StorageError::NotFound) => return Ok(Ok(Lookup::Unknown)),
            Err(other) => return Err(other),
        };
        let mandate = mandates::get(conn, &id)?;
        let organisation = organisations::get(conn, &mandate.organisation_id)?;
        Ok(Ok(Lookup::Found(Box::new((mandate, organisation)))))
    })
    .await
}

/// What a code names.
enum Lookup {
    Found(Box<(Mandate, ac_mandates::Organisation)>),
    /// Printed on a mandate deleted at the end of its retention period (`ac_storage::retention`).
    Deleted,
    Unknown,
}

/// Only what the page may show: built field by field from the mandate, so nothing about the
/// aidé can slip in with a new field.
fn result_view(
    mandate: &Mandate,
    organisation: &ac_mandates::Organisation,
    times: &ac_localtime::LocalTimes,
    now: time::OffsetDateTime,
) -> serde_json::Value {
    let departement = organisation.departement.as_str();
    let (status_key, status) = status_word(mandate.status_at(now));
    serde_json::json!({
        "status_key": status_key,
        "status": status,
        "organisation": organisation.name,
        "created": written_date(times, departement, mandate.created_at),
        "until": written_date(times, departement, mandate.expires_at),
        "demarches": authorization_views(mandate, now),
    })
}
