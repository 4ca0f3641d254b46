//! One identification at the provider: what the caller keeps between the redirect and the
//! callback ([`PendingLogin`]), and the callback's checks.

use ac_auth::{Token, ct_eq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::OffsetDateTime;

use crate::{Acr, OidcError};

/// Kept server-side by the caller between the redirect and the callback, looked up by
/// [`PendingLogin::state_hash`] and deleted at first use (single use). It never goes to the
/// browser; the browser only carries `state`.
///
/// It holds short-lived secrets (the nonce and the PKCE verifier): store it no longer than the
/// login's time to live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// SHA-256 of `state`, hex: the lookup key. `state` itself is not kept.
    pub state_hash: String,
    #[serde(serialize_with = "token_out", deserialize_with = "token_in")]
    pub nonce: Token,
    #[serde(serialize_with = "opt_token_out", deserialize_with = "opt_token_in")]
    pub pkce_verifier: Option<Token>,
    pub requested_acr: Acr,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The caller's opaque tie to the browser session (e.g. the session id's hash), checked again
    /// at the callback: a `state` from another browser is refused even if its row is found.
    pub browser_binding: String,
}

fn token_out<S: Serializer>(token: &Token, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(token.expose())
}

fn token_in<'de, D: Deserializer<'de>>(d: D) -> Result<Token, D::Error> {
    let text = String::deserialize(d)?;
    Token::parse(&text).ok_or_else(|| serde::de::Error::custom("jeton mal formé"))
}

fn opt_token_out<S: Serializer>(token: &Option<Token>, s: S) -> Result<S::Ok, S::Error> {
    match token {
        Some(t) => s.serialize_some(t.expose()),
        None => s.serialize_none(),
    }
}

fn opt_token_in<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Token>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|text| Token::parse(&text).ok_or_else(|| serde::de::Error::custom("jeton mal formé")))
        .transpose()
}

/// The storage key of a `state` received at the callback: [`PendingLogin::state_hash`] of the
/// login it belongs to, or `None` when the text is not shaped like a state we issue.
pub fn state_key(state: &str) -> Option<String> {
    Token::parse(state).map(|t| t.hash().as_str().to_owned())
}

/// The query of the redirect back from the provider (OIDC Core §3.1.2.5–6, RFC 9207).
#[derive(Clone, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// What the callback checks besides the provider's own parameters.
pub(crate) struct CallbackContext<'a> {
    pub issuer: &'a str,
    pub iss_parameter_supported: bool,
    pub login_ttl: time::Duration,
}

pub(crate) fn new_token() -> Result<Token, OidcError> {
    Token::generate(&ring::rand::SystemRandom::new()).map_err(|_| OidcError::Random)
}

/// Checks a callback against the login stored under its `state` (`stored` is `None` when no
/// row was found: unknown, already used, or never started). Returns the authorization code.
pub(crate) fn validate_callback(
    ctx: &CallbackContext<'_>,
    params: &CallbackParams,
    stored: Option<&PendingLogin>,
    browser_binding: &str,
    now: OffsetDateTime,
) -> Result<openidconnect::AuthorizationCode, OidcError> {
    // OIDC Core §3.1.2.7 / RFC 6749 §10.12: the state must be the one this browser was given.
    let state = params.state.as_deref().ok_or(OidcError::StateMissing)?;
    let state_hash = Token::parse(state)
        .map(|t| t.hash())
        .ok_or(OidcError::StateUnknown)?;
    let pending = stored.ok_or(OidcError::StateUnknown)?;
    let same_state = ct_eq(
        state_hash.as_str().as_bytes(),
        pending.state_hash.as_bytes(),
    );
    let same_browser = ct_eq(
        browser_binding.as_bytes(),
        pending.browser_binding.as_bytes(),
    );
    if !(same_state && same_browser) {
        return Err(OidcError::StateUnknown);
    }
    if now >= pending.created_at + ctx.login_ttl || now < pending.created_at {
        return Err(OidcError::LoginExpired);
    }
    // RFC 9207 §2.4: compare `iss` when sent; require it when the provider says it sends it.
    match params.iss.as_deref() {
        Some(iss) if iss != ctx.issuer => return Err(OidcError::IssuerParameter),
        None if ctx.iss_parameter_supported => return Err(OidcError::IssuerParameter),
        _ => {}
    }
    if let Some(error) = params.error.as_deref() {
        return Err(OidcError::Provider {
            code: crate::ProviderErrorCode::parse(error),
            description: params
                .error_description
                .as_deref()
                .map(|d| d.chars().filter(|c| !c.is_control()).take(200).collect()),
        });
    }
    match params.code.as_deref() {
        Some(code) if !code.is_empty() => {
            Ok(openidconnect::AuthorizationCode::new(code.to_owned()))
        }
        _ => Err(OidcError::CodeMissing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProviderErrorCode;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn ctx() -> CallbackContext<'static> {
        CallbackContext {
            issuer: "https://fc.example",
            iss_parameter_supported: true,
            login_ttl: time::Duration::minutes(10),
        }
    }

    fn started() -> (Token, PendingLogin) {
        let state = new_token().unwrap();
        let pending = PendingLogin {
            state_hash: state.hash().as_str().to_owned(),
            nonce: new_token().unwrap(),
            pkce_verifier: Some(new_token().unwrap()),
            requested_acr: Acr::Eidas1,
            created_at: NOW,
            browser_binding: "session-a".into(),
        };
        (state, pending)
    }

    fn params(state: &Token) -> CallbackParams {
        CallbackParams {
            code: Some("the-code".into()),
            state: Some(state.expose().to_owned()),
            iss: Some("https://fc.example".into()),
            ..CallbackParams::default()
        }
    }

    #[test]
    fn a_good_callback_yields_the_code() {
        let (state, pending) = started();
        let code =
            validate_callback(&ctx(), &params(&state), Some(&pending), "session-a", NOW).unwrap();
        assert_eq!(code.secret(), "the-code");
        assert_eq!(state_key(state.expose()), Some(pending.state_hash.clone()));
    }

    #[test]
    fn state_missing_unknown_reused_or_from_another_browser() {
        let (state, pending) = started();
        let missing = CallbackParams {
            state: None,
            ..params(&state)
        };
        assert!(matches!(
            validate_callback(&ctx(), &missing, Some(&pending), "session-a", NOW),
            Err(OidcError::StateMissing)
        ));
        // Reused: the caller deleted the row at first use, so nothing is found.
        assert!(matches!(
            validate_callback(&ctx(), &params(&state), None, "session-a", NOW),
            Err(OidcError::StateUnknown)
        ));
        assert!(matches!(
            validate_callback(&ctx(), &params(&state), Some(&pending), "session-b", NOW),
            Err(OidcError::StateUnknown)
        ));
        let (other_state, _) = started();
        assert!(matches!(
            validate_callback(
                &ctx(),
                &params(&other_state),
                Some(&pending),
                "session-a",
                NOW
            ),
            Err(OidcError::StateUnknown)
        ));
        let garbage = CallbackParams {
            state: Some("' or 1=1 --".into()),
            ..params(&state)
        };
        assert!(matches!(
            validate_callback(&ctx(), &garbage, Some(&pending), "session-a", NOW),
            Err(OidcError::StateUnknown)
        ));
    }

    #[test]
    fn expired_logins_and_rfc9207_issuer() {
        let (state, pending) = started();
        let late = NOW + time::Duration::minutes(10);
        assert!(matches!(
            validate_callback(&ctx(), &params(&state), Some(&pending), "session-a", late),
            Err(OidcError::LoginExpired)
        ));
        let wrong_iss = CallbackParams {
            iss: Some("https://evil.example".into()),
            ..params(&state)
        };
        assert!(matches!(
            validate_callback(&ctx(), &wrong_iss, Some(&pending), "session-a", NOW),
            Err(OidcError::IssuerParameter)
        ));
        let no_iss = CallbackParams {
            iss: None,
            ..params(&state)
        };
        assert!(matches!(
            validate_callback(&ctx(), &no_iss, Some(&pending), "session-a", NOW),
            Err(OidcError::IssuerParameter)
        ));
        let not_advertised = CallbackContext {
            iss_parameter_supported: false,
            ..ctx()
        };
        assert!(
            validate_callback(&not_advertised, &no_iss, Some(&pending), "session-a", NOW).is_ok()
        );
    }

    #[test]
    fn provider_errors_are_typed_and_codes_required() {
        let (state, pending) = started();
        let denied = CallbackParams {
            code: None,
            error: Some("access_denied".into()),
            error_description: Some("User\ncancelled".into()),
            ..params(&state)
        };
        match validate_callback(&ctx(), &denied, Some(&pending), "session-a", NOW) {
            Err(e @ OidcError::Provider { .. }) => {
                assert_eq!(
                    e.to_string(),
                    "OIDC014 la connexion FranceConnect a été annulée"
                );
                let OidcError::Provider { code, description } = e else {
                    unreachable!()
                };
                assert_eq!(code, ProviderErrorCode::AccessDenied);
                assert_eq!(description.as_deref(), Some("Usercancelled"));
            }
            other => panic!("{other:?}"),
        }
        let no_code = CallbackParams {
            code: None,
            ..params(&state)
        };
        assert!(matches!(
            validate_callback(&ctx(), &no_code, Some(&pending), "session-a", NOW),
            Err(OidcError::CodeMissing)
        ));
    }

    #[test]
    fn pending_logins_round_trip_as_json_and_debug_hides_secrets() {
        let (_, pending) = started();
        let json = serde_json::to_string(&pending).unwrap();
        assert_eq!(
            serde_json::from_str::<PendingLogin>(&json).unwrap(),
            pending
        );
        let shown = format!("{pending:?}");
        assert!(!shown.contains(pending.nonce.expose()));
        let params = params(&new_token().unwrap());
        assert!(!format!("{params:?}").contains("the-code"));
    }
}
