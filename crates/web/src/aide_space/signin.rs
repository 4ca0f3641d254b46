//! The aidé's sign-in and sign-out through FranceConnect: the same relying party and checks as
//! the mandate journey (`ac_oidc::rp`, `prompt=login`), returning to the space's own registered
//! addresses. The login in progress is bound to a random cookie of the browser that began it,
//! kept in the database (`aide_logins`) and used once, so any node serves the return.

use ac_auth::Token;
use ac_oidc::OidcError;
use ac_oidc::rp::{CallbackParams, IdTokenHint, PendingLogin, PendingLogout};
use ac_storage::aide_space;
use ac_storage::franceconnect_logins::Kind;
use actix_web::cookie::SameSite;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::{SESSION_COOKIE, signed_in};
use crate::i18n::{LanguageView, PageLanguage};
use crate::person_login::{self, Returned, binding};
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError, security};

/// The cookie binding a sign-in in progress to this browser.
const LOGIN_COOKIE: &str = "ac_aide_login";

#[derive(Serialize)]
struct EntryView {
    csrf: String,
    error: Option<(&'static str, String)>,
}

/// The entry page: plain French, one FranceConnect button. Its form ends in a redirect to the
/// provider, so this page alone also allows the provider's origin in `form-action`.
async fn entry_page(
    state: &AppState,
    req: &HttpRequest,
    error: Option<(&'static str, String)>,
    status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let (csrf, cookie) = crate::auth::csrf_browser_token(&state.auth, req)?;
    let body = state.templates.render_in(
        &PageLanguage::of(req).view(),
        "aide/entry.html",
        &EntryView { csrf, error },
    )?;
    let mut response = page(status, body);
    if let Some(cookie) = cookie {
        response.add_cookie(&cookie).map_err(WebError::internal)?;
    }
    let csp = security::csp_with_form_action(state.franceconnect.provider_origin());
    if let Ok(value) = header::HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

pub(crate) async fn entry(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    if signed_in(&state, &req).await?.is_some() {
        return Ok(see_other("/mon-espace/mandats").finish());
    }
    entry_page(&state, &req, None, HttpResponse::Ok()).await
}

fn refusal(e: &OidcError) -> (&'static str, String) {
    (e.code(), e.to_string())
}

#[derive(Deserialize)]
pub(crate) struct BeginForm {
    csrf: String,
}

#[derive(Serialize, Deserialize)]
struct LoginPayload {
    pending: PendingLogin,
}

#[derive(Serialize, Deserialize)]
struct LogoutPayload {
    pending: PendingLogout,
}

#[instrument(skip_all)]
pub(crate) async fn begin(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<BeginForm>,
) -> Result<HttpResponse, WebError> {
    crate::auth::check_csrf_browser(&state.auth, &req, &form.csrf)?;
    let now = state.clock.now();
    let rp = match state.franceconnect.aide_relying_party(now).await {
        Ok(rp) => rp,
        Err(e) => {
            tracing::error!(code = e.code(), error = ?e, "FranceConnect discovery failed");
            return entry_page(
                &state,
                &req,
                Some(refusal(&e)),
                HttpResponse::ServiceUnavailable(),
            )
            .await;
        }
    };
    person_login::begin(
        &state,
        &rp,
        LOGIN_COOKIE,
        |pending| serde_json::to_string(&LoginPayload { pending }),
        now,
    )
    .await
}

#[derive(Serialize)]
struct NoMandateView {}

/// FranceConnect's return (OIDC Core §3.1.2.5–6): the state first, then every check of the
/// relying party. A person with no mandate anywhere is told so, and nothing is created.
#[instrument(skip_all)]
pub(crate) async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<CallbackParams>,
) -> Result<HttpResponse, WebError> {
    let params = params.into_inner();
    let now = state.clock.now();
    let rp = state.franceconnect.aide_relying_party(now);
    let returned = person_login::returned(
        &state,
        &req,
        LOGIN_COOKIE,
        &params,
        rp,
        |stored: &LoginPayload| &stored.pending,
        now,
    );
    let refuse = async |e: OidcError, status| {
        tracing::warn!(code = e.code(), error = %e, "connexion de la personne refusée");
        entry_page(&state, &req, Some(refusal(&e)), status).await
    };
    let identification = match returned.await? {
        Returned::Identified(identification, _) => identification,
        Returned::Unavailable(e) => return refuse(e, HttpResponse::ServiceUnavailable()).await,
        Returned::Refused(e) => return refuse(e, HttpResponse::BadRequest()).await,
    };
    let (db, subject) = (state.db.clone(), identification.subject.clone());
    let has_mandates =
        blocking(move || aide_space::has_mandates(&mut *db.conn()?, &subject)).await?;
    let login_gone = state.auth.removal(LOGIN_COOKIE);
    if !has_mandates {
        // The provider's return cannot be replayed: the switcher comes back to the entry.
        let language = LanguageView::new(PageLanguage::of(&req).language, Some("/mon-espace"));
        let body =
            state
                .templates
                .render_in(&language, "aide/no_mandate.html", &NoMandateView {})?;
        let mut response = page(HttpResponse::Ok(), body);
        response
            .add_cookie(&login_gone)
            .map_err(WebError::internal)?;
        return Ok(response);
    }
    let session = Token::generate(state.auth.rng()).map_err(WebError::internal)?;
    let (db, hash, subject, hint) = (
        state.db.clone(),
        session.hash(),
        identification.subject.clone(),
        identification.id_token_hint.expose().to_owned(),
    );
    blocking(move || aide_space::open_session(&mut *db.conn()?, &hash, &subject, &hint, now))
        .await?;
    let cookie = state
        .auth
        .cookie(SESSION_COOKIE, session.expose().to_owned(), SameSite::Lax);
    Ok(see_other("/mon-espace/mandats")
        .cookie(cookie)
        .cookie(login_gone)
        .finish())
}

#[derive(Deserialize)]
pub(crate) struct SignOutForm {
    csrf: String,
}

/// « Se déconnecter »: ends the session here, then closes the FranceConnect session too
/// (RP-Initiated Logout §2).
#[instrument(skip_all)]
pub(crate) async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignOutForm>,
) -> Result<HttpResponse, WebError> {
    let Some(current) = signed_in(&state, &req).await? else {
        return Ok(see_other("/mon-espace").finish());
    };
    current.check_csrf(&form.csrf)?;
    let now = state.clock.now();
    let (db, hash) = (state.db.clone(), current.token.hash());
    let hint = blocking(move || aide_space::end_session(&mut *db.conn()?, &hash)).await?;
    let gone = state.auth.removal(SESSION_COOKIE);
    let ended_here = || {
        see_other("/mon-espace?deconnecte=1")
            .cookie(gone.clone())
            .finish()
    };
    let (Some(hint), Ok(rp)) = (hint, state.franceconnect.aide_relying_party(now).await) else {
        return Ok(ended_here());
    };
    let browser = Token::generate(state.auth.rng()).map_err(WebError::internal)?;
    let Ok((logout, pending)) =
        rp.end_session(&IdTokenHint::from_stored(hint), &binding(&browser), now)
    else {
        return Ok(ended_here());
    };
    let key = pending.state_hash.clone();
    let payload = serde_json::to_string(&LogoutPayload { pending }).map_err(WebError::internal)?;
    person_login::keep(&state, key, Kind::Logout, payload, now).await?;
    let login = state
        .auth
        .cookie(LOGIN_COOKIE, browser.expose().to_owned(), SameSite::Lax);
    Ok(see_other(logout.as_str())
        .cookie(gone)
        .cookie(login)
        .finish())
}

#[derive(Deserialize)]
pub(crate) struct LogoutReturn {
    state: Option<String>,
}

#[derive(Serialize)]
struct SignedOutView {
    closed_at_franceconnect: bool,
}

/// Back from FranceConnect's logout: the state is checked; the page says whether FranceConnect
/// confirmed (the session here is over either way).
pub(crate) async fn after_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LogoutReturn>,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let returned = query.into_inner().state;
    let stored: Option<LogoutPayload> =
        person_login::take(&state, returned.as_deref(), Kind::Logout).await?;
    let binding = state
        .auth
        .read_cookie(&req, LOGIN_COOKIE)
        .as_ref()
        .map(binding)
        .unwrap_or_default();
    let confirmed = match state.franceconnect.aide_relying_party(now).await {
        Ok(rp) => rp
            .check_end_session_return(
                returned.as_deref(),
                stored.as_ref().map(|s| &s.pending),
                &binding,
                now,
            )
            .is_ok(),
        Err(_) => false,
    };
    let language = LanguageView::new(PageLanguage::of(&req).language, Some("/mon-espace"));
    let body = state.templates.render_in(
        &language,
        "aide/signed_out.html",
        &SignedOutView {
            closed_at_franceconnect: confirmed && stored.is_some(),
        },
    )?;
    let mut response = page(HttpResponse::Ok(), body);
    response
        .add_cookie(&state.auth.removal(LOGIN_COOKIE))
        .map_err(WebError::internal)?;
    Ok(response)
}
