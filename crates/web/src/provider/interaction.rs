//! The request being served, between the authorize endpoint and the code.
//!
//! - While the aidant picks the person and the démarche, the checked request travels in the
//!   pages' links and forms, MAC'd (HMAC-SHA256) with a key derived from the aidant's session
//!   token: it can neither be altered nor carried into another session, and no server-side row
//!   is written before the code (a form that does not verify is refused and journaled).
//! - While the aidant signs in (or types their code again), the raw request parameters wait in
//!   an HttpOnly cookie (`crate::waiting`); they are checked again from scratch when the aidant
//!   comes back, so the cookie grants nothing a link to the authorize endpoint would not.

use ac_auth::Token;
use ac_oidc::op::AuthorizationRequest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::WebError;

const PURPOSE: &str = "ac-oidc-interaction-v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Interaction {
    /// This request's random id: the code stores it, and the database lets a request have
    /// one code only (a second submission of the choice, even for another démarche, is
    /// refused), whatever node serves it.
    pub id: String,
    pub request: AuthorizationRequest,
    /// When the request arrived (Unix seconds).
    pub created_at: i64,
    /// When this session's sign-in completed: the default `auth_time` (Unix seconds).
    pub signed_in_at: i64,
    /// When the aidant typed their second factor after the request arrived (signing in, or the
    /// step-up that made their session usable again): `prompt=login` is then satisfied.
    pub fresh_auth_at: Option<i64>,
}

fn mac_key(session: &Token) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, session.derive(PURPOSE).as_bytes())
}

impl Interaction {
    /// A request that just arrived (or came back from the sign-in), with a fresh id.
    pub(crate) fn new(
        rng: &ring::rand::SystemRandom,
        request: AuthorizationRequest,
        created_at: i64,
        signed_in_at: i64,
        fresh_auth_at: Option<i64>,
    ) -> Result<Self, WebError> {
        let id = Token::generate(rng).map_err(WebError::internal)?;
        Ok(Self {
            id: id.expose().to_owned(),
            request,
            created_at,
            signed_in_at,
            fresh_auth_at,
        })
    }

    /// `BASE64URL(json) "." BASE64URL(HMAC)`.
    pub(crate) fn seal(&self, session: &Token) -> Result<String, WebError> {
        let json = serde_json::to_vec(self).map_err(WebError::internal)?;
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = ring::hmac::sign(&mac_key(session), payload.as_bytes());
        Ok(format!(
            "{payload}.{}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        ))
    }

    /// The interaction, if it was sealed in this session and not altered since.
    pub(crate) fn open(text: &str, session: &Token) -> Option<Self> {
        let (payload, tag) = text.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        ring::hmac::verify(&mac_key(session), payload.as_bytes(), &tag).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }

    /// When the request stops being accepted (saturating: a stored time is in range).
    pub(crate) fn expires_at(&self, ttl: time::Duration) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.created_at)
            .ok()
            .and_then(|at| at.checked_add(ttl))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub(crate) fn expired(&self, now: OffsetDateTime, ttl: time::Duration) -> bool {
        let age = now.unix_timestamp().saturating_sub(self.created_at);
        age < 0 || age > ttl.whole_seconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ac_oidc::Acr;

    fn interaction() -> Interaction {
        Interaction {
            id: "request-1".into(),
            request: AuthorizationRequest {
                client_id: "fc".into(),
                redirect_uri: "https://fc.example/cb".into(),
                state: Some("s".into()),
                nonce: Some("n".into()),
                scopes: vec!["openid".into()],
                code_challenge: None,
                prompt_login: true,
                max_age: None,
                demarches: None,
                wants_rep_scope: false,
                acr: Acr::Eidas1,
            },
            created_at: 1_000,
            signed_in_at: 900,
            fresh_auth_at: None,
        }
    }

    #[test]
    fn sealed_for_one_session_and_tamper_evident() {
        let rng = ring::rand::SystemRandom::new();
        let session = Token::generate(&rng).unwrap();
        let other = Token::generate(&rng).unwrap();
        let sealed = interaction().seal(&session).unwrap();
        assert_eq!(Interaction::open(&sealed, &session), Some(interaction()));
        assert_eq!(Interaction::open(&sealed, &other), None, "another session");
        let mut changed = interaction();
        changed.request.redirect_uri = "https://evil.example/cb".into();
        let forged_payload = changed.seal(&other).unwrap();
        let (payload, _) = forged_payload.split_once('.').unwrap();
        let (_, tag) = sealed.split_once('.').unwrap();
        assert_eq!(
            Interaction::open(&format!("{payload}.{tag}"), &session),
            None
        );
        assert_eq!(Interaction::open("garbage", &session), None);
    }

    #[test]
    fn expiry() {
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap();
        let ttl = time::Duration::seconds(600);
        assert!(!interaction().expired(at(1_600), ttl));
        assert!(interaction().expired(at(1_601), ttl));
        assert!(interaction().expired(at(999), ttl));
    }
}
