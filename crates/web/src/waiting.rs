//! A partner's request waiting while the aidant signs in (or types their code again): its raw
//! parameters in an HttpOnly cookie, checked again from scratch at `RESUME_PATH` when the
//! aidant comes back, so the cookie grants nothing a link to the authorize endpoint would not.
//! The sign-in pages (which send the aidant back) and the identity provider (which serves the
//! request) both use it; neither imports the other.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use time::OffsetDateTime;

/// Where the waiting request is served again.
pub(crate) const RESUME_PATH: &str = "/oidc/reprise";

const RESUME_COOKIE: &str = "ac_oidc_reprise";

/// Largest request kept while the aidant signs in: cookies hold about 4 KB.
const MAX_RESUME_LEN: usize = 3500;

fn cookie_name(dev_mode: bool) -> String {
    if dev_mode {
        RESUME_COOKIE.to_owned()
    } else {
        format!("__Host-{RESUME_COOKIE}")
    }
}

/// `UNIX_TIME "|" QUERY`; `None` when the request is too large to wait in a cookie.
pub(crate) fn resume_cookie(
    dev_mode: bool,
    now: OffsetDateTime,
    query: &str,
    ttl: time::Duration,
) -> Option<Cookie<'static>> {
    let value = format!("{}|{query}", now.unix_timestamp());
    (value.len() <= MAX_RESUME_LEN).then(|| {
        Cookie::build(cookie_name(dev_mode), value)
            .path("/")
            .http_only(true)
            .secure(!dev_mode)
            // Lax: the aidant comes back by a top-level navigation after signing in.
            .same_site(SameSite::Lax)
            .max_age(ttl)
            .finish()
    })
}

pub(crate) fn clear_resume(dev_mode: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(cookie_name(dev_mode), "")
        .path("/")
        .http_only(true)
        .secure(!dev_mode)
        .same_site(SameSite::Lax)
        .finish();
    cookie.make_removal();
    cookie
}

/// The waiting request: when it arrived, and its parameters.
pub(crate) fn read_resume(req: &HttpRequest, dev_mode: bool) -> Option<(i64, String)> {
    let cookie = req.cookie(&cookie_name(dev_mode))?;
    let (at, query) = cookie.value().split_once('|')?;
    Some((at.parse().ok()?, query.to_owned()))
}

/// Where the aidant goes once signed in, when a partner's request was waiting for the sign-in
/// (the sign-in pages call this; `None`: their usual destination).
pub(crate) fn after_sign_in(req: &HttpRequest, dev_mode: bool) -> Option<&'static str> {
    read_resume(req, dev_mode).is_some().then_some(RESUME_PATH)
}
