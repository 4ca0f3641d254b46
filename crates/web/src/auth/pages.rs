//! The sign-in pages and the signed-in aidant's space.
//!
//! Every handler that sees a token or a code is `#[instrument(skip_all)]`: neither reaches a log.

use ac_auth::{SignInRefusal, Token, TokenHash};
use ac_mandates::{Email, OrganisationId};
use ac_storage::sessions::{self, EndReason};
use ac_storage::sign_in::{self, LinkRequest, SignIn};
use ac_storage::{organisations, rate_limits};
use actix_web::cookie::SameSite;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::session::safe_return_path;
use super::{
    CurrentAidant, RecentStepUp, SESSION_COOKIE, StepUpCheck, csrf, request_id, too_many,
    totp_ip_allowed,
};
use crate::error::Said;
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

/// Sign-in pages are never cached: they carry CSRF tokens and, for one, a link token.
/// A 4xx here is a form shown again with its error, not an error page.
// ---------------------------------------------------------------------------------------------
// Step 1: the e-mail address.

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    email: String,
    csrf: String,
}

#[derive(Serialize)]
struct SignInView<'a> {
    csrf: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    error_code: Option<&'a str>,
}

fn render_sign_in(
    state: &AppState,
    req: &HttpRequest,
    status: HttpResponseBuilder,
    email: &str,
    error: Option<Said>,
) -> Result<HttpResponse, WebError> {
    let (token, cookie) = csrf::browser_token(&state.auth, req)?;
    let body = state.templates.render(
        "auth/sign_in.html",
        &SignInView {
            csrf: &token,
            email,
            error: error.as_ref().map(Said::words),
            error_code: error.as_ref().map(Said::code),
        },
    )?;
    let mut response = page(status, body);
    if let Some(cookie) = cookie {
        response.add_cookie(&cookie).map_err(WebError::internal)?;
    }
    Ok(response)
}

pub(crate) async fn sign_in_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    render_sign_in(&state, &req, HttpResponse::Ok(), "", None)
}

/// Always the same page, whether the address is known, unknown or deactivated; the e-mail goes
/// out after the response, so the response time does not tell either.
#[instrument(skip_all)]
pub(crate) async fn request_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, WebError> {
    let auth = state.auth.clone();
    csrf::check_browser(&auth, &req, &form.csrf)?;
    let Ok(email) = form.email.parse::<Email>() else {
        return render_sign_in(
            &state,
            &req,
            HttpResponse::UnprocessableEntity(),
            &form.email,
            Some(SignInRefusal::InvalidEmail.into()),
        );
    };
    let now = state.clock.now();
    let ip = auth.client_ip(&req);
    let rid = request_id(&req);
    let token = Token::generate(auth.rng()).map_err(WebError::internal)?;
    let (db, hash, address) = (state.db.clone(), token.hash(), email.clone());
    let runtime = auth.clone();
    let outcome = blocking(move || {
        let conn = &mut *db.conn()?;
        let context = sign_in::anonymous(rid.clone());
        let limits = runtime.limits;
        for (key, label, limit) in [
            (format!("link:ip:{ip}"), "link_per_ip", limits.link_per_ip),
            (
                format!("link:address:{address}"),
                "link_per_address",
                limits.link_per_address,
            ),
        ] {
            if !rate_limits::enforce(conn, &key, label, limit, &context, now)? {
                return Ok(None);
            }
        }
        sign_in::request_link(conn, &address, &hash, &runtime.policy, rid, now).map(Some)
    })
    .await?;
    let Some(outcome) = outcome else {
        return Err(too_many());
    };
    if let LinkRequest::Created { .. } = outcome {
        let mailer = state.mailer.clone();
        let link = auth.link_url(&token);
        let minutes = auth.policy.link_ttl.whole_minutes().unsigned_abs();
        actix_web::rt::spawn(async move {
            if let Err(e) = mailer.send_sign_in_link(&email, &link, minutes).await {
                tracing::error!(code = e.code(), error = %e, "sign-in link not sent");
            }
        });
    }
    let body = state.templates.render(
        "auth/link_sent.html",
        &serde_json::json!({ "minutes": auth.policy.link_ttl.whole_minutes() }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

// ---------------------------------------------------------------------------------------------
// Step 2: the link, opened through a form so that mail scanners following links consume nothing.

#[instrument(skip_all)]
pub(crate) async fn confirm_link_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (csrf_token, cookie) = csrf::browser_token(&state.auth, &req)?;
    // A malformed token is not echoed back; the form then fails like any bad link.
    let token = Token::parse(&path.into_inner());
    let body = state.templates.render(
        "auth/confirm_link.html",
        &serde_json::json!({
            "csrf": csrf_token,
            "token": token.as_ref().map(Token::expose).unwrap_or_default(),
        }),
    )?;
    let mut response = page(HttpResponse::Ok(), body);
    // The link page must not leak its own address through the Referer of anything it loads.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    if let Some(cookie) = cookie {
        response.add_cookie(&cookie).map_err(WebError::internal)?;
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct OpenLinkForm {
    token: String,
    csrf: String,
}

/// Consumes the link and starts the code stage under a fresh stage token. A bad link still gets
/// a stage cookie and the code page: the refusal comes after the code, in the same words.
#[instrument(skip_all)]
pub(crate) async fn open_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<OpenLinkForm>,
) -> Result<HttpResponse, WebError> {
    let auth = state.auth.clone();
    csrf::check_browser(&auth, &req, &form.csrf)?;
    let link = Token::parse(&form.token)
        .map_or_else(|| TokenHash::of(form.token.as_bytes()), |t| t.hash());
    let stage = Token::generate(auth.rng()).map_err(WebError::internal)?;
    let (db, stage_hash, rid, now) = (
        state.db.clone(),
        stage.hash(),
        request_id(&req),
        state.clock.now(),
    );
    let runtime = auth.clone();
    blocking(move || {
        sign_in::open_link(
            &mut *db.conn()?,
            &link,
            &stage_hash,
            &runtime.policy,
            rid,
            now,
        )
    })
    .await?;
    let cookie = auth.cookie(SESSION_COOKIE, stage.expose().to_owned(), SameSite::Lax);
    Ok(see_other("/connexion/code").cookie(cookie).finish())
}

// ---------------------------------------------------------------------------------------------
// Step 3: the TOTP code.

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    code: String,
    csrf: String,
}

fn render_code(
    state: &AppState,
    stage: &Token,
    status: HttpResponseBuilder,
    error: Option<Said>,
) -> Result<HttpResponse, WebError> {
    let body = state.templates.render(
        "auth/code.html",
        &serde_json::json!({
            "csrf": csrf::session_token(stage),
            "error": error.as_ref().map(Said::words),
            "error_code": error.as_ref().map(Said::code),
        }),
    )?;
    Ok(page(status, body))
}

pub(crate) async fn code_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let Some(stage) = state.auth.read_cookie(&req, SESSION_COOKIE) else {
        return Ok(see_other("/connexion").finish());
    };
    render_code(&state, &stage, HttpResponse::Ok(), None)
}

/// On success the session id changes: the stage token is dropped and a new token is set, so a
/// token planted in the browser before sign-in (fixation) is never a signed-in session.
#[instrument(skip_all)]
pub(crate) async fn submit_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let auth = state.auth.clone();
    let Some(stage) = auth.read_cookie(&req, SESSION_COOKIE) else {
        return Err(csrf::refused());
    };
    csrf::check_session(&stage, &form.csrf)?;
    if !totp_ip_allowed(&state, &req).await? {
        return Err(too_many());
    }
    let session = Token::generate(auth.rng()).map_err(WebError::internal)?;
    let (db, stage_hash, session_hash, code, rid, now) = (
        state.db.clone(),
        stage.hash(),
        session.hash(),
        form.into_inner().code,
        request_id(&req),
        state.clock.now(),
    );
    let runtime = auth.clone();
    let outcome = blocking(move || {
        sign_in::complete_with_totp(
            &mut *db.conn()?,
            &stage_hash,
            &session_hash,
            &code,
            &runtime.keys,
            &runtime.policy,
            runtime.limits.totp_per_aidant,
            rid,
            now,
        )
    })
    .await?;
    match outcome {
        SignIn::SignedIn { .. } => {
            let cookie = auth.cookie(SESSION_COOKIE, session.expose().to_owned(), SameSite::Lax);
            // A partner website's request may be waiting for this sign-in.
            let next = crate::waiting::after_sign_in(&req, auth.dev_mode).unwrap_or("/espace");
            Ok(see_other(next).cookie(cookie).finish())
        }
        SignIn::Refused => render_code(
            &state,
            &stage,
            HttpResponse::UnprocessableEntity(),
            Some(SignInRefusal::Refused.into()),
        ),
        SignIn::Locked => render_code(
            &state,
            &stage,
            HttpResponse::UnprocessableEntity(),
            Some(SignInRefusal::Locked.into()),
        ),
        SignIn::RateLimited => Err(too_many()),
    }
}

// ---------------------------------------------------------------------------------------------
// Step-up: the code again, after 15 minutes without audited activity or before a sensitive action.

#[derive(Deserialize)]
pub(crate) struct StepUpQuery {
    suite: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct StepUpForm {
    code: String,
    csrf: String,
    suite: Option<String>,
}

fn return_path(suite: Option<&str>) -> String {
    suite
        .and_then(safe_return_path)
        .unwrap_or("/espace")
        .to_owned()
}

fn render_step_up(
    state: &AppState,
    current: &CurrentAidant,
    suite: &str,
    status: HttpResponseBuilder,
    error: Option<Said>,
) -> Result<HttpResponse, WebError> {
    let body = state.templates.render_for(
        &current.menu(),
        "auth/step_up.html",
        &serde_json::json!({
            "csrf": current.csrf_token(),
            "suite": suite,
            "error": error.as_ref().map(Said::words),
            "error_code": error.as_ref().map(Said::code),
        }),
    )?;
    Ok(page(status, body))
}

pub(crate) async fn step_up_page(
    state: web::Data<AppState>,
    current: CurrentAidant,
    query: web::Query<StepUpQuery>,
) -> Result<HttpResponse, WebError> {
    let suite = return_path(query.suite.as_deref());
    render_step_up(&state, &current, &suite, HttpResponse::Ok(), None)
}

#[instrument(skip_all)]
pub(crate) async fn submit_step_up(
    state: web::Data<AppState>,
    req: HttpRequest,
    current: CurrentAidant,
    form: web::Form<StepUpForm>,
) -> Result<HttpResponse, WebError> {
    let auth = state.auth.clone();
    current.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let suite = return_path(form.suite.as_deref());
    let outcome = current
        .step_up(&state, &req, &form.code, state.clock.now())
        .await?;
    match outcome {
        StepUpCheck::Accepted => Ok(see_other(&suite).finish()),
        StepUpCheck::RateLimited => Err(too_many()),
        StepUpCheck::Refused => render_step_up(
            &state,
            &current,
            &suite,
            HttpResponse::UnprocessableEntity(),
            Some(SignInRefusal::CodeRefused.into()),
        ),
        StepUpCheck::SessionEnded => Ok(see_other("/connexion")
            .cookie(auth.removal(SESSION_COOKIE))
            .finish()),
    }
}

// ---------------------------------------------------------------------------------------------
// Logout, the aidant's space, structure switch.

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

/// Destroys the session on the server (not only the cookie), whatever its step-up state.
pub(crate) async fn logout(
    state: web::Data<AppState>,
    current: CurrentAidant,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    let (db, hash, context, now) = (
        state.db.clone(),
        current.token().hash(),
        current.audit_context(),
        state.clock.now(),
    );
    blocking(move || sessions::end(&mut *db.conn()?, &hash, EndReason::Logout, &context, now))
        .await?;
    Ok(see_other("/connexion")
        .cookie(state.auth.removal(SESSION_COOKIE))
        .finish())
}

#[derive(Serialize)]
struct StructureView {
    id: String,
    name: String,
    current: bool,
}

pub(crate) async fn space(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
) -> Result<HttpResponse, WebError> {
    let (db, organisation, now) = (
        state.db.clone(),
        current.aidant.current_organisation.clone(),
        state.clock.now(),
    );
    let window = time::Duration::days(i64::from(state.settings.mandates.expiring_soon_days));
    let (all, expiring) = blocking(move || {
        let conn = &mut *db.conn()?;
        let all = organisations::list(conn)?;
        let expiring =
            ac_storage::reminders::people_expiring_soon(conn, &organisation, window, now)?;
        Ok((all, expiring))
    })
    .await?;
    let aidant = &current.aidant;
    let structures: Vec<StructureView> = all
        .into_iter()
        .filter(|o| aidant.is_member_of(&o.id) && o.is_active)
        .map(|o| StructureView {
            current: o.id == aidant.current_organisation,
            id: o.id.to_string(),
            name: o.name,
        })
        .collect();
    let current_structure = structures
        .iter()
        .find(|s| s.current)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let body = state.templates.render_for(
        &current.menu(),
        "auth/space.html",
        &serde_json::json!({
            "name": aidant.full_name(),
            "current_structure": current_structure,
            "structures": structures,
            "csrf": current.csrf_token(),
            // Links to the consoles; each console checks the roles again.
            "referent": !aidant.referent_of.is_empty(),
            "coordinator": !aidant.coordinator_scopes.is_empty(),
            // The start of the creation journey, for aidants who may create mandates.
            "mandates": aidant.can_create_mandates,
            // People whose mandate ends soon, as the usagers list marks them.
            "expiring": expiring,
            "expiring_soon_days": state.settings.mandates.expiring_soon_days,
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

#[derive(Deserialize)]
pub(crate) struct SwitchForm {
    organisation: String,
    csrf: String,
}

pub(crate) async fn switch_structure(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    let organisation = OrganisationId::new(form.into_inner().organisation);
    let (db, hash, aidant, context, now) = (
        state.db.clone(),
        current.session_hash(),
        current.aidant.id.clone(),
        current.audit_context(),
        state.clock.now(),
    );
    let switched = web::block(move || {
        sessions::switch_structure(
            &mut *db.conn()?,
            &hash,
            &aidant,
            &organisation,
            &context,
            now,
        )
    })
    .await?;
    match switched {
        Ok(()) => Ok(see_other("/espace").finish()),
        Err(ac_storage::StorageError::Rule(_)) => {
            Err(WebError::forbidden(SignInRefusal::NotAtThisStructure))
        }
        Err(other) => Err(other.into()),
    }
}
