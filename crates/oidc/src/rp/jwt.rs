//! Signature and claim checks of the provider's JWTs (id_token, signed userinfo), done here with
//! `jsonwebtoken` rather than by `openidconnect`, whose userinfo path only accepts RS256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;
use time::OffsetDateTime;

use super::jwks::JwksCache;
use crate::{OidcError, SigningAlg};

pub(crate) type Claims = Map<String, Value>;

/// Everything needed to check a signature: the allow-list, the published keys, and the client
/// secret for the legacy HS256 mode.
pub(crate) struct Verifier<'a> {
    pub algorithms: &'a [SigningAlg],
    pub jwks: &'a JwksCache,
    pub http: &'a reqwest::Client,
    pub client_secret: &'a [u8],
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

/// The one place a JWT is read before its signature is checked: its header, to refuse an
/// algorithm outside the allow-list (`none` included, RFC 8725 §3.1) and to find the key.
fn header(token: &str, allowed: &[SigningAlg]) -> Result<(SigningAlg, Option<String>), OidcError> {
    let mut parts = token.split('.');
    let (Some(encoded), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OidcError::MalformedToken("pas un JWS compact".into()));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|e| OidcError::MalformedToken(e.to_string()))?;
    let header: Header =
        serde_json::from_slice(&bytes).map_err(|e| OidcError::MalformedToken(e.to_string()))?;
    // RFC 7515 §4.1.11: extensions we do not understand make the token invalid.
    if header.crit.is_some() {
        return Err(OidcError::MalformedToken("en-tête crit".into()));
    }
    match header.alg.parse::<SigningAlg>() {
        Ok(alg) if allowed.contains(&alg) => Ok((alg, header.kid)),
        _ => Err(OidcError::AlgorithmRefused { alg: header.alg }),
    }
}

impl Verifier<'_> {
    /// The claims of a token whose signature holds with an allowed algorithm and the right key.
    pub(crate) async fn verify(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Claims, OidcError> {
        let (alg, kid) = header(token, self.algorithms)?;
        let key = if alg.is_symmetric() {
            // HS256 (FC v1): the key is the client secret, never bytes found in a JWKS, so a
            // token MACed with the provider's public key cannot pass (RFC 8725 §2.1).
            DecodingKey::from_secret(self.client_secret)
        } else {
            self.jwks.key(self.http, kid.as_deref(), alg, now).await?
        };
        // Signature only: the claims are checked below with the `now` we were given.
        let mut validation = Validation::new(alg.jsonwebtoken());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => OidcError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    OidcError::AlgorithmRefused {
                        alg: alg.to_string(),
                    }
                }
                ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidRsaKey(_)
                | ErrorKind::InvalidKeyFormat => OidcError::UnknownKey { kid: kid.clone() },
                _ => OidcError::MalformedToken(e.to_string()),
            })
    }
}

/// What a token's claims must match.
pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: OffsetDateTime,
    pub leeway: Duration,
}

pub(crate) fn string<'c>(claims: &'c Claims, name: &'static str) -> Option<&'c str> {
    claims.get(name).and_then(Value::as_str)
}

fn seconds(claims: &Claims, name: &'static str) -> Result<Option<i64>, OidcError> {
    match claims.get(name) {
        None => Ok(None),
        // RFC 7519 §2 NumericDate: seconds, possibly fractional.
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite() && f.abs() < 1e12)
            .map(|f| Some(f.floor() as i64))
            .ok_or_else(|| OidcError::MalformedToken(format!("{name} invalide"))),
        Some(_) => Err(OidcError::MalformedToken(format!("{name} invalide"))),
    }
}

impl Expected<'_> {
    fn leeway_secs(&self) -> i64 {
        i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX)
    }

    /// `iss` is exactly our provider's issuer (OIDC Core §3.1.3.7 step 2, §5.3.2).
    pub(crate) fn issuer(&self, claims: &Claims) -> Result<(), OidcError> {
        (string(claims, "iss") == Some(self.issuer))
            .then_some(())
            .ok_or(OidcError::WrongIssuer)
    }

    /// `aud` names us and nobody else; `azp`, when present, is us (OIDC Core §3.1.3.7 steps 3–5).
    pub(crate) fn audience(&self, claims: &Claims) -> Result<(), OidcError> {
        let ok = match claims.get("aud") {
            Some(Value::String(aud)) => aud == self.client_id,
            Some(Value::Array(auds)) => {
                !auds.is_empty() && auds.iter().all(|a| a.as_str() == Some(self.client_id))
            }
            _ => false,
        };
        let azp_ok = match claims.get("azp") {
            None => true,
            Some(azp) => azp.as_str() == Some(self.client_id),
        };
        (ok && azp_ok).then_some(()).ok_or(OidcError::WrongAudience)
    }

    /// `exp` is in the future and `iat` not in the future, both within the leeway; `iat` is not
    /// older than `max_age` (OIDC Core §3.1.3.7 steps 9–10). With `require` false (userinfo),
    /// absent claims are accepted but present ones are checked.
    pub(crate) fn times(
        &self,
        claims: &Claims,
        require: bool,
        max_age: Duration,
    ) -> Result<(), OidcError> {
        let now = self.now.unix_timestamp();
        let leeway = self.leeway_secs();
        match seconds(claims, "exp")? {
            Some(exp) if exp.saturating_add(leeway) <= now => return Err(OidcError::Expired),
            None if require => return Err(OidcError::MalformedToken("exp absent".into())),
            _ => {}
        }
        let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        match seconds(claims, "iat")? {
            Some(iat) if iat > now.saturating_add(leeway) => Err(OidcError::IssuedAt),
            Some(iat) if now.saturating_sub(iat) > max_age.saturating_add(leeway) => {
                Err(OidcError::IssuedAt)
            }
            None if require => Err(OidcError::MalformedToken("iat absent".into())),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://fc.example",
            client_id: "client",
            now: NOW,
            leeway: Duration::from_secs(30),
        }
    }

    fn claims(value: Value) -> Claims {
        value.as_object().unwrap().clone()
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn header_refuses_none_unknown_lowercase_and_crit() {
        let allowed = [SigningAlg::ES256, SigningAlg::RS256];
        for alg in ["none", "HS256", "es256", "ES384", "PS256"] {
            let token = format!("{}.{}.", b64(&json!({"alg": alg})), b64(&json!({})));
            assert!(
                matches!(
                    header(&token, &allowed),
                    Err(OidcError::AlgorithmRefused { .. })
                ),
                "{alg}"
            );
        }
        let token = format!("{}.e30.sig", b64(&json!({"alg":"ES256","kid":"k"})));
        assert_eq!(
            header(&token, &allowed).unwrap(),
            (SigningAlg::ES256, Some("k".into()))
        );
        let crit = format!("{}.e30.sig", b64(&json!({"alg":"ES256","crit":["exp"]})));
        assert!(matches!(
            header(&crit, &allowed),
            Err(OidcError::MalformedToken(_))
        ));
        for shape in ["a.b", "a.b.c.d", "", "!!.e30.x"] {
            assert!(header(shape, &allowed).is_err(), "{shape}");
        }
    }

    #[test]
    fn issuer_must_match_exactly() {
        let e = expected();
        assert!(
            e.issuer(&claims(json!({"iss":"https://fc.example"})))
                .is_ok()
        );
        for iss in [
            json!("https://fc.example/"),
            json!("https://FC.example"),
            json!(null),
        ] {
            assert!(matches!(
                e.issuer(&claims(json!({"iss": iss}))),
                Err(OidcError::WrongIssuer)
            ));
        }
    }

    #[test]
    fn audience_and_authorized_party() {
        let e = expected();
        for ok in [
            json!({"aud":"client"}),
            json!({"aud":["client"]}),
            json!({"aud":"client","azp":"client"}),
        ] {
            assert!(e.audience(&claims(ok)).is_ok());
        }
        for bad in [
            json!({"aud":"other"}),
            json!({"aud":["client","other"]}),
            json!({"aud":[]}),
            json!({}),
            json!({"aud":"client","azp":"other"}),
        ] {
            assert!(matches!(
                e.audience(&claims(bad)),
                Err(OidcError::WrongAudience)
            ));
        }
    }

    #[test]
    fn times_with_leeway() {
        let e = expected();
        let now = NOW.unix_timestamp();
        let age = Duration::from_secs(600);
        let check =
            |exp: i64, iat: i64| e.times(&claims(json!({"exp": exp, "iat": iat})), true, age);
        assert!(check(now + 60, now).is_ok());
        assert!(check(now - 10, now - 100).is_ok(), "within leeway");
        assert!(matches!(
            check(now - 30, now - 100),
            Err(OidcError::Expired)
        ));
        assert!(matches!(
            check(now + 60, now + 31),
            Err(OidcError::IssuedAt)
        ));
        assert!(matches!(
            check(now + 60, now - 631),
            Err(OidcError::IssuedAt)
        ));
        assert!(e.times(&claims(json!({})), false, age).is_ok());
        assert!(e.times(&claims(json!({})), true, age).is_err());
        assert!(
            e.times(&claims(json!({"exp":"soon","iat":now})), true, age)
                .is_err()
        );
        assert!(check(now + 60, now).is_ok());
        assert!(
            e.times(&claims(json!({"exp": 1.0e300, "iat": now})), true, age)
                .is_err()
        );
    }
}
