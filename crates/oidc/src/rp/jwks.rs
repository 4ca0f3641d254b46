//! The provider's published keys, cached, refetched once when a token names a `kid` we do not
//! know (key rotation, OIDC Core §10.1.1) and when the cache is older than its maximum age.

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;
use url::Url;

use super::http;
use crate::{OidcError, SigningAlg};

/// Smallest RSA modulus accepted: 2048 bits (ANSSI RGS B1, RFC 7518 §3.3).
const MIN_RSA_MODULUS_BYTES: usize = 256;

#[derive(Debug)]
pub(crate) struct JwksCache {
    uri: Url,
    max_age: time::Duration,
    cached: RwLock<Option<Cached>>,
    fetches: AtomicU64,
}

#[derive(Debug, Clone)]
struct Cached {
    keys: Arc<Vec<Jwk>>,
    fetched_at: OffsetDateTime,
}

impl JwksCache {
    pub(crate) fn new(uri: Url, max_age: time::Duration) -> Self {
        Self {
            uri,
            max_age,
            cached: RwLock::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the key set was downloaded after the seed (tests and metrics).
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The key to check a signature made with `alg`, named by `kid` when the token names one.
    pub(crate) async fn key(
        &self,
        client: &reqwest::Client,
        kid: Option<&str>,
        alg: SigningAlg,
        now: OffsetDateTime,
    ) -> Result<DecodingKey, OidcError> {
        let (keys, fresh) = match self.current(now) {
            Some(keys) => (keys, false),
            None => (self.fetch(client, now).await?, true),
        };
        if let Some(key) = select(&keys, kid, alg) {
            return Ok(key);
        }
        if fresh {
            return Err(OidcError::UnknownKey {
                kid: kid.map(str::to_owned),
            });
        }
        // Unknown kid: the provider may have published a new key since we fetched. Once only, so
        // a token naming a key that does not exist costs one request, not a loop.
        let keys = self.fetch(client, now).await?;
        select(&keys, kid, alg).ok_or_else(|| OidcError::UnknownKey {
            kid: kid.map(str::to_owned),
        })
    }

    /// Starts from the key set downloaded during discovery (by `openidconnect`), so discovery
    /// costs one JWKS request, not two.
    pub(crate) fn seed(
        &self,
        set: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), OidcError> {
        let keys = Arc::new(parse_key_set(set)?);
        if let Ok(mut cached) = self.cached.write() {
            *cached = Some(Cached {
                keys,
                fetched_at: now,
            });
        }
        Ok(())
    }

    fn current(&self, now: OffsetDateTime) -> Option<Arc<Vec<Jwk>>> {
        let cached = self.cached.read().ok()?.clone()?;
        (now - cached.fetched_at < self.max_age && now >= cached.fetched_at).then_some(cached.keys)
    }

    #[tracing::instrument(skip_all, fields(uri = %self.uri))]
    async fn fetch(
        &self,
        client: &reqwest::Client,
        now: OffsetDateTime,
    ) -> Result<Arc<Vec<Jwk>>, OidcError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let body = http::read("jwks", client.get(self.uri.clone())).await?;
        let set = serde_json::from_slice(&body.bytes).map_err(|e| OidcError::BadResponse {
            step: "jwks",
            cause: e.to_string(),
        })?;
        let keys = Arc::new(parse_key_set(set)?);
        tracing::info!(keys = keys.len(), "clés FranceConnect chargées");
        if let Ok(mut cached) = self.cached.write() {
            *cached = Some(Cached {
                keys: keys.clone(),
                fetched_at: now,
            });
        }
        Ok(keys)
    }
}

/// RFC 7517 §5: a set of keys. Keys we cannot read (other types, private parts) are skipped, not
/// fatal, so a provider adding an Ed25519 key does not break the others.
fn parse_key_set(set: serde_json::Value) -> Result<Vec<Jwk>, OidcError> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_value(set).map_err(|e| OidcError::BadResponse {
        step: "jwks",
        cause: e.to_string(),
    })?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .collect())
}

/// A published key usable for `alg`: right type (and curve), not marked for encryption, `alg`
/// equal when the key states one, and the named `kid` (RFC 7515 §4.1.4). Without a `kid`, only
/// an unambiguous single candidate is used.
fn select(keys: &[Jwk], kid: Option<&str>, alg: SigningAlg) -> Option<DecodingKey> {
    let mut candidates = keys.iter().filter(|jwk| {
        let kid_ok = kid.is_none_or(|kid| jwk.common.key_id.as_deref() == Some(kid));
        let use_ok = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption));
        let alg_ok = matches!(
            (jwk.common.key_algorithm, alg),
            (None, _)
                | (Some(KeyAlgorithm::ES256), SigningAlg::ES256)
                | (Some(KeyAlgorithm::RS256), SigningAlg::RS256)
        );
        let type_ok = match (&jwk.algorithm, alg) {
            (AlgorithmParameters::EllipticCurve(ec), SigningAlg::ES256) => {
                ec.curve == EllipticCurve::P256
            }
            (AlgorithmParameters::RSA(rsa), SigningAlg::RS256) => {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(rsa.n.as_bytes())
                    .is_ok_and(|n| {
                        n.iter().skip_while(|b| **b == 0).count() >= MIN_RSA_MODULUS_BYTES
                    })
            }
            // Symmetric keys are never taken from a published set: HS256 uses the client secret.
            _ => false,
        };
        kid_ok && use_ok && alg_ok && type_ok
    });
    let first = candidates.next()?;
    if kid.is_none() && candidates.next().is_some() {
        return None;
    }
    DecodingKey::from_jwk(first).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ec(kid: &str) -> serde_json::Value {
        // A valid P-256 point (RFC 7515 appendix A.3).
        json!({"kty":"EC","crv":"P-256","kid":kid,"use":"sig",
               "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
               "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
    }

    fn keys(values: &[serde_json::Value]) -> Vec<Jwk> {
        parse_key_set(json!({ "keys": values })).unwrap()
    }

    #[test]
    fn selects_by_kid_type_and_use() {
        let set = keys(&[
            ec("a"),
            json!({"kty":"oct","kid":"h","k":"c2VjcmV0"}),
            json!({"kty":"OKP","crv":"X25519","kid":"x","x":"abc","use":"enc"}),
            json!({"kty":"weird"}),
        ]);
        assert!(select(&set, Some("a"), SigningAlg::ES256).is_some());
        assert!(select(&set, Some("b"), SigningAlg::ES256).is_none());
        // An RS256 token cannot use an EC key, and nothing ever yields a symmetric key.
        assert!(select(&set, Some("a"), SigningAlg::RS256).is_none());
        assert!(select(&set, Some("h"), SigningAlg::HS256).is_none());
        assert!(select(&set, None, SigningAlg::ES256).is_some());
    }

    #[test]
    fn encryption_keys_other_alg_and_ambiguity_are_refused() {
        let mut enc = ec("e");
        enc["use"] = json!("enc");
        let mut es384 = ec("f");
        es384["alg"] = json!("ES384");
        let set = keys(&[enc, es384]);
        assert!(select(&set, Some("e"), SigningAlg::ES256).is_none());
        assert!(select(&set, Some("f"), SigningAlg::ES256).is_none());
        let two = keys(&[ec("a"), ec("b")]);
        assert!(select(&two, None, SigningAlg::ES256).is_none());
    }

    #[test]
    fn short_rsa_keys_are_refused() {
        use base64::Engine;
        let b64 = |n: usize| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vec![0xc5; n]);
        let set = keys(&[
            json!({"kty":"RSA","kid":"small","n":b64(128),"e":"AQAB"}),
            json!({"kty":"RSA","kid":"ok","n":b64(256),"e":"AQAB"}),
        ]);
        assert!(select(&set, Some("small"), SigningAlg::RS256).is_none());
        assert!(select(&set, Some("ok"), SigningAlg::RS256).is_some());
    }
}
