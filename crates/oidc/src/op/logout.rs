//! RP-Initiated Logout 1.0 at the provider: a redirect back to the client only with a valid
//! `id_token_hint` we issued to it and a `post_logout_redirect_uri` it registered; otherwise the
//! person is asked, never redirected silently (§2, §3; RFC 9700 §4.11 on open redirectors).

use serde_json::Value;
use std::collections::BTreeMap;

use super::authorize::MAX_STATE_LEN;
use super::client::Client;
use super::jws::{self, Claims, PublicKey};

/// The request's parameters (GET query or POST form, §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

impl EndSessionRequest {
    pub fn parse(encoded: &str) -> Self {
        let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(encoded.as_bytes()) {
            // A repeated parameter counts as absent (RFC 6749 §3.1 spirit): never guess.
            seen.entry(name.into_owned())
                .and_modify(|v| *v = None)
                .or_insert_with(|| Some(value.into_owned()).filter(|v| !v.is_empty()));
        }
        let mut take = |name: &str| seen.remove(name).flatten();
        Self {
            id_token_hint: take("id_token_hint"),
            post_logout_redirect_uri: take("post_logout_redirect_uri"),
            state: take("state")
                .filter(|s| s.len() <= MAX_STATE_LEN && !s.chars().any(char::is_control)),
            client_id: take("client_id"),
        }
    }

    /// The client the request is about: the hint's `aud` (read unverified, only to pick the
    /// key; [`decide`] verifies) or the `client_id` parameter.
    pub fn claimed_client(&self) -> Option<String> {
        let from_hint = self
            .id_token_hint
            .as_deref()
            .and_then(jws::peek_claims)
            .and_then(|claims| audience(&claims));
        from_hint.or_else(|| self.client_id.clone())
    }
}

fn audience(claims: &Claims) -> Option<String> {
    match claims.get("aud") {
        Some(Value::String(aud)) => Some(aud.clone()),
        Some(Value::Array(auds)) if auds.len() == 1 => {
            auds.first().and_then(Value::as_str).map(str::to_owned)
        }
        _ => None,
    }
}

/// What to do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSessionOutcome {
    /// Back to the client's registered URI, with `state` (§3).
    Redirect(String),
    /// A page: signed out of nothing here, the person may go back through a link when the URI
    /// is registered for the named client (`return_to`).
    Confirm { return_to: Option<String> },
}

/// Where the request is allowed to go back to, with `state` appended.
fn back(uri: &str, state: Option<&str>) -> String {
    match (url::Url::parse(uri), state) {
        (Ok(mut url), Some(state)) => {
            url.query_pairs_mut().append_pair("state", state);
            url.into()
        }
        _ => uri.to_owned(),
    }
}

/// Decides, given the client the request claims (`client`, with its HS256 secret when it uses
/// one) and the published keys. An expired hint is acceptable (§2: the RP may send one whose
/// session has ended); its signature, `iss` and `aud` are not negotiable.
pub fn decide(
    request: &EndSessionRequest,
    client: Option<(&Client, Option<&[u8]>)>,
    keys: &[PublicKey],
    issuer: &str,
) -> EndSessionOutcome {
    let registered = |c: &Client| {
        request
            .post_logout_redirect_uri
            .as_deref()
            .filter(|uri| c.has_post_logout_redirect_uri(uri))
            .map(|uri| back(uri, request.state.as_deref()))
    };
    let Some((client, secret)) = client else {
        return EndSessionOutcome::Confirm { return_to: None };
    };
    let hint_valid = request.id_token_hint.as_deref().is_some_and(|hint| {
        jws::verify(hint, keys, secret).is_ok_and(|claims| {
            claims.get("iss").and_then(Value::as_str) == Some(issuer)
                && audience(&claims).as_deref() == Some(client.id.as_str())
        })
    });
    // §2: a client_id that contradicts the hint makes the request suspect.
    let consistent = request
        .client_id
        .as_deref()
        .is_none_or(|id| id == client.id);
    match registered(client) {
        Some(uri) if hint_valid && consistent => EndSessionOutcome::Redirect(uri),
        Some(uri) if consistent => EndSessionOutcome::Confirm {
            return_to: Some(uri),
        },
        _ => EndSessionOutcome::Confirm { return_to: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::client::tests::client;
    use crate::op::jws::{SigningKey, sign_hs256};
    use serde_json::json;

    const ISSUER: &str = "https://ac.example";
    const OUT: &str = "https://fc.example/api/v2/logout-callback";

    fn hint(key: &SigningKey, iss: &str, aud: &str, exp: i64) -> String {
        let claims = json!({"iss": iss, "aud": aud, "sub": "s", "exp": exp, "iat": 0});
        key.sign("JWT", claims.as_object().unwrap()).unwrap()
    }

    fn request(hint: Option<String>, uri: Option<&str>) -> EndSessionRequest {
        EndSessionRequest {
            id_token_hint: hint,
            post_logout_redirect_uri: uri.map(str::to_owned),
            state: Some("st".into()),
            client_id: None,
        }
    }

    #[test]
    fn a_valid_even_expired_hint_and_a_registered_uri_redirect_with_state() {
        let (key, _) = SigningKey::generate_es256(&ring::rand::SystemRandom::new()).unwrap();
        let keys = [key.public().clone()];
        let c = client();
        let req = request(Some(hint(&key, ISSUER, "franceconnect", 1)), Some(OUT));
        assert_eq!(req.claimed_client().as_deref(), Some("franceconnect"));
        assert_eq!(
            decide(&req, Some((&c, None)), &keys, ISSUER),
            EndSessionOutcome::Redirect(format!("{OUT}?state=st"))
        );
    }

    #[test]
    fn anything_less_asks_the_person() {
        let rng = ring::rand::SystemRandom::new();
        let (key, _) = SigningKey::generate_es256(&rng).unwrap();
        let (stranger, _) = SigningKey::generate_es256(&rng).unwrap();
        let keys = [key.public().clone()];
        let c = client();
        let confirm_back = EndSessionOutcome::Confirm {
            return_to: Some(format!("{OUT}?state=st")),
        };
        for (req, expected) in [
            (request(None, Some(OUT)), confirm_back.clone()),
            (
                request(Some("garbage".into()), Some(OUT)),
                confirm_back.clone(),
            ),
            (
                request(Some(hint(&stranger, ISSUER, "franceconnect", 1)), Some(OUT)),
                confirm_back.clone(),
            ),
            (
                request(
                    Some(hint(&key, "https://other.example", "franceconnect", 1)),
                    Some(OUT),
                ),
                confirm_back.clone(),
            ),
            (
                request(
                    Some(hint(&key, ISSUER, "franceconnect", 1)),
                    Some("https://evil.example/"),
                ),
                EndSessionOutcome::Confirm { return_to: None },
            ),
            (
                request(Some(hint(&key, ISSUER, "franceconnect", 1)), None),
                EndSessionOutcome::Confirm { return_to: None },
            ),
        ] {
            assert_eq!(
                decide(&req, Some((&c, None)), &keys, ISSUER),
                expected,
                "{req:?}"
            );
        }
        let mut contradicting = request(Some(hint(&key, ISSUER, "franceconnect", 1)), Some(OUT));
        contradicting.client_id = Some("other".into());
        assert_eq!(
            decide(&contradicting, Some((&c, None)), &keys, ISSUER),
            EndSessionOutcome::Confirm { return_to: None }
        );
        assert_eq!(
            decide(&request(None, Some(OUT)), None, &keys, ISSUER),
            EndSessionOutcome::Confirm { return_to: None }
        );
    }

    #[test]
    fn hs256_hints_need_the_clients_secret() {
        let c = client();
        let claims = json!({"iss": ISSUER, "aud": "franceconnect", "sub": "s"});
        let token = sign_hs256(b"the-client-secret", "JWT", claims.as_object().unwrap()).unwrap();
        let req = request(Some(token), Some(OUT));
        assert!(matches!(
            decide(&req, Some((&c, Some(b"the-client-secret"))), &[], ISSUER),
            EndSessionOutcome::Redirect(_)
        ));
        assert!(matches!(
            decide(&req, Some((&c, None)), &[], ISSUER),
            EndSessionOutcome::Confirm { .. }
        ));
    }

    #[test]
    fn parameters_are_parsed_once() {
        let req = EndSessionRequest::parse("state=a&state=b&client_id=c&post_logout_redirect_uri=");
        assert_eq!(req.state, None);
        assert_eq!(req.client_id.as_deref(), Some("c"));
        assert_eq!(req.post_logout_redirect_uri, None);
        assert_eq!(req.claimed_client().as_deref(), Some("c"));
    }
}
