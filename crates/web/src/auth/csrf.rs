//! CSRF protection of every state-changing form, without JavaScript.
//!
//! - Forms of a session (TOTP stage or signed in): a synchronizer token bound to the session, an
//!   HMAC of the session token (`Token::derive`). It cannot be computed without the HttpOnly
//!   session cookie and changes when the session id does.
//! - Forms before any session (asking for a link, confirming it): a double-submit token. The
//!   browser holds a random value in an HttpOnly, `SameSite=Strict` cookie (`__Host-` and
//!   `Secure` outside dev mode) and the form repeats it. Another site can neither read the value
//!   nor, thanks to the `__Host-` prefix over HTTPS, plant its own cookie; so signing the value
//!   would add nothing. In dev mode (plain HTTP, no prefix) this is weaker, which is acceptable
//!   on a developer's machine.

use ac_auth::{Token, ct_eq};
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};

use super::{AuthRuntime, CSRF_PURPOSE};
use crate::WebError;

const BROWSER_COOKIE: &str = "ac_csrf";

pub(crate) fn refused() -> WebError {
    WebError::forbidden(ac_auth::SignInRefusal::FormExpired)
}

/// The pre-session token to put in a form, and the cookie to set when the browser has none.
pub(crate) fn browser_token(
    auth: &AuthRuntime,
    req: &HttpRequest,
) -> Result<(String, Option<Cookie<'static>>), WebError> {
    if let Some(token) = auth.read_cookie(req, BROWSER_COOKIE) {
        return Ok((token.expose().to_owned(), None));
    }
    let token = Token::generate(auth.rng()).map_err(WebError::internal)?;
    let cookie = auth.cookie(BROWSER_COOKIE, token.expose().to_owned(), SameSite::Strict);
    Ok((token.expose().to_owned(), Some(cookie)))
}

/// Checks a pre-session form's token against the browser's cookie, in constant time.
pub(crate) fn check_browser(
    auth: &AuthRuntime,
    req: &HttpRequest,
    submitted: &str,
) -> Result<(), WebError> {
    match auth.read_cookie(req, BROWSER_COOKIE) {
        Some(cookie) if ct_eq(cookie.expose().as_bytes(), submitted.as_bytes()) => Ok(()),
        _ => Err(refused()),
    }
}

/// The token of a session's forms.
pub(crate) fn session_token(session: &Token) -> String {
    session.derive(CSRF_PURPOSE)
}

/// Checks a session form's token, in constant time.
pub(crate) fn check_session(session: &Token, submitted: &str) -> Result<(), WebError> {
    if session.verify_derived(CSRF_PURPOSE, submitted) {
        Ok(())
    } else {
        Err(refused())
    }
}
