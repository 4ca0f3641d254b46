//! Closing the aidé's session at the provider right after identification (OpenID Connect
//! RP-Initiated Logout 1.0): on a shared tablet, the next person must not find it open.

use ac_auth::{Token, ct_eq};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;
use url::Url;

use super::login::new_token;
use crate::OidcError;

/// The id_token, kept only to be sent back as `id_token_hint` at logout, then dropped. It holds
/// the upstream `sub`: never store it with the usager.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdTokenHint(String);

impl IdTokenHint {
    pub(crate) fn new(raw: String) -> Self {
        Self(raw)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A hint the relying party kept since the sign-in (the aidé's session keeps it until their
    /// sign-out, to close their FranceConnect session then).
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }
}

impl fmt::Debug for IdTokenHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdTokenHint([redacted])")
    }
}

/// Kept server-side between the logout redirect and the return, like [`super::PendingLogin`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogout {
    pub state_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub browser_binding: String,
}

/// The browser redirect to `end_session_endpoint` (RP-Initiated Logout §2) and what to keep.
pub(crate) fn end_session_url(
    endpoint: &Url,
    hint: &IdTokenHint,
    post_logout_redirect_uri: &str,
    browser_binding: &str,
    now: OffsetDateTime,
) -> Result<(Url, PendingLogout), OidcError> {
    let state = new_token()?;
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("id_token_hint", hint.expose())
        .append_pair("state", state.expose())
        .append_pair("post_logout_redirect_uri", post_logout_redirect_uri);
    let pending = PendingLogout {
        state_hash: state.hash().as_str().to_owned(),
        created_at: now,
        browser_binding: browser_binding.to_owned(),
    };
    Ok((url, pending))
}

/// The `state` back at the post-logout URI must be the one we sent from this browser.
pub(crate) fn check_return(
    state: Option<&str>,
    pending: Option<&PendingLogout>,
    browser_binding: &str,
    ttl: time::Duration,
    now: OffsetDateTime,
) -> Result<(), OidcError> {
    let (Some(state), Some(pending)) = (state.and_then(Token::parse), pending) else {
        return Err(OidcError::LogoutState);
    };
    let same = ct_eq(
        state.hash().as_str().as_bytes(),
        pending.state_hash.as_bytes(),
    ) && ct_eq(
        browser_binding.as_bytes(),
        pending.browser_binding.as_bytes(),
    );
    if !same || now >= pending.created_at + ttl || now < pending.created_at {
        return Err(OidcError::LogoutState);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    #[test]
    fn url_carries_hint_state_and_registered_uri_and_the_state_is_checked() {
        let endpoint = Url::parse("https://fc.example/session/end?x=1").unwrap();
        let hint = IdTokenHint::new("h.p.s".into());
        let (url, pending) =
            end_session_url(&endpoint, &hint, "https://ac.example/fin", "b", NOW).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("x".into(), "1".into()));
        assert_eq!(pairs[1], ("id_token_hint".into(), "h.p.s".into()));
        assert_eq!(
            pairs[3],
            (
                "post_logout_redirect_uri".into(),
                "https://ac.example/fin".into()
            )
        );
        let state = pairs[2].1.clone();
        assert!(state.len() >= 32);
        let ttl = time::Duration::minutes(10);
        assert!(check_return(Some(&state), Some(&pending), "b", ttl, NOW).is_ok());
        assert!(check_return(Some(&state), Some(&pending), "other", ttl, NOW).is_err());
        assert!(check_return(None, Some(&pending), "b", ttl, NOW).is_err());
        assert!(check_return(Some(&state), None, "b", ttl, NOW).is_err());
        assert!(check_return(Some(&state), Some(&pending), "b", ttl, NOW + ttl).is_err());
        let forged = new_token().unwrap();
        assert!(check_return(Some(forged.expose()), Some(&pending), "b", ttl, NOW).is_err());
        assert_eq!(format!("{hint:?}"), "IdTokenHint([redacted])");
    }
}
