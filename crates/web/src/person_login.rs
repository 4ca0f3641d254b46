//! A person's own FranceConnect login, begun in their browser with no aidant session: the
//! aidé's space (`aide_space::signin`) and consent at a distance (`remote_consent::person`).
//! Part of the web kit so the two journeys start the login one way: the pending login waits in
//! `aide_logins` under its state's hash, bound to a random cookie of the browser that began it
//! (OIDC Core §3.1.2.1, `state` tied to the user agent), then the browser goes to FranceConnect.

use ac_auth::Token;
use ac_oidc::rp::{PendingLogin, RelyingParty, state_key};
use ac_storage::aide_space;
use ac_storage::franceconnect_logins::Kind;
use actix_web::HttpResponse;
use actix_web::cookie::SameSite;
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
