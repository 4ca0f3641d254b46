//! A person's own FranceConnect login, begun in their browser with no aidant session: the
//! aidé's space (`aide_space::signin`) and consent at a distance (`remote_consent::person`).
//! Part of the web kit so the two journeys start the login one way: the pending login waits in
//! `aide_logins` under its state's hash, bound to a random cookie of the browser that began it
//! (OIDC Core §3.1.2.1, `state` tied to the user agent), then the browser goes to FranceConnect.
//! Its return is checked one way too ([`returned`]).

use std::sync::Arc;

use ac_auth::Token;
use ac_oidc::OidcError;
use ac_oidc::rp::{CallbackParams, Identification, PendingLogin, RelyingParty, state_key};
use ac_storage::aide_space;
use ac_storage::franceconnect_logins::Kind;
use actix_web::cookie::SameSite;
use actix_web::{HttpRequest, HttpResponse};
use time::OffsetDateTime;

use crate::respond::{blocking, see_other};
use crate::{AppState, WebError};

/// The browser binding of a login in progress: the hash of its random login cookie.
pub(crate) fn binding(token: &Token) -> String {
    token.hash().as_str().to_owned()
}

/// Begins the login with `rp`: stores what `payload` makes of the pending login (the journey's
/// own JSON), sets the random cookie `cookie` it is bound to, and redirects to FranceConnect.
pub(crate) async fn begin(
    state: &AppState,
    rp: &RelyingParty,
    cookie: &'static str,
    payload: impl FnOnce(PendingLogin) -> serde_json::Result<String>,
    now: OffsetDateTime,
) -> Result<HttpResponse, WebError> {
    let browser = Token::generate(state.auth.rng()).map_err(WebError::internal)?;
    let (authorize, pending) = rp
        .begin(None, &binding(&browser), now)
        .map_err(|e| WebError::Unavailable(e.to_string()))?;
    let key = pending.state_hash.clone();
    let payload = payload(pending).map_err(WebError::internal)?;
    keep(state, key, Kind::Login, payload, now).await?;
    let cookie = state
        .auth
        .cookie(cookie, browser.expose().to_owned(), SameSite::Lax);
    Ok(see_other(authorize.as_str()).cookie(cookie).finish())
}

/// A login (or logout) waiting for FranceConnect's return under its state's hash, for as long as
/// a login may take; [`take`] takes it back.
pub(crate) async fn keep(
    state: &AppState,
    key: String,
    kind: Kind,
    payload: String,
    now: OffsetDateTime,
) -> Result<(), WebError> {
    let (db, expires) = (
        state.db.clone(),
        now.saturating_add(state.franceconnect.login_ttl()),
    );
    blocking(move || aide_space::insert_login(&mut *db.conn()?, &key, kind, &payload, now, expires))
        .await
}

/// The login (or logout) waiting under the state FranceConnect sent back, taken: it serves once.
/// An unknown or unreadable state is no login at all.
pub(crate) async fn take<T: serde::de::DeserializeOwned>(
    state: &AppState,
    returned_state: Option<&str>,
    kind: Kind,
) -> Result<Option<T>, WebError> {
    let Some(key) = returned_state.and_then(state_key) else {
        return Ok(None);
    };
    let db = state.db.clone();
    let text = blocking(move || aide_space::take_login(&mut *db.conn()?, &key, kind)).await?;
    Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
}

/// What FranceConnect's return to a person's login comes to.
pub(crate) enum Returned<T> {
    /// Every check of the relying party passed: the person, and the journey's own JSON that
    /// waited with the login.
    Identified(Identification, T),
    /// The relying party could not be discovered.
    Unavailable(OidcError),
    /// A check of the return failed, or no login waited under its state.
    Refused(OidcError),
}

/// FranceConnect's return to a login begun by [`begin`] (OIDC Core §3.1.2.5–6): the login
/// waiting under the returned state is taken (it serves once), then `rp` checks the return
/// against it (`pending` finds it in the journey's JSON) and against this browser's `cookie`.
pub(crate) async fn returned<T: serde::de::DeserializeOwned>(
    state: &AppState,
    req: &HttpRequest,
    cookie: &'static str,
    params: &CallbackParams,
    rp: impl Future<Output = Result<Arc<RelyingParty>, OidcError>>,
    pending: impl Fn(&T) -> &PendingLogin,
    now: OffsetDateTime,
) -> Result<Returned<T>, WebError> {
    let browser = state.auth.read_cookie(req, cookie);
    let stored: Option<T> = take(state, params.state.as_deref(), Kind::Login).await?;
    let rp = match rp.await {
        Ok(rp) => rp,
        Err(e) => return Ok(Returned::Unavailable(e)),
    };
    let bound_to = browser.as_ref().map(binding).unwrap_or_default();
    let identified = rp
        .identify(params, stored.as_ref().map(pending), &bound_to, now)
        .await;
    Ok(match (identified, stored) {
        (Ok(identification), Some(stored)) => Returned::Identified(identification, stored),
        (Ok(_), None) => Returned::Refused(OidcError::StateUnknown),
        (Err(e), _) => Returned::Refused(e),
    })
}
