//! The demonstration provider's ES256 key: generated at start-up, kept in memory.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt;

use crate::DemoIdpError;

pub(crate) struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    x: String,
    y: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, [redacted])", self.kid)
    }
}

impl SigningKey {
    pub(crate) fn generate() -> Result<Self, DemoIdpError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| DemoIdpError::Key)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| DemoIdpError::Key)?;
        // Uncompressed SEC1 point: 0x04 ‖ x (32 bytes) ‖ y (32 bytes).
        let point = pair.public_key().as_ref();
        let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
            return Err(DemoIdpError::Key);
        };
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        let digest = ring::digest::digest(&ring::digest::SHA256, point);
        let kid = format!(
            "demo-{}",
            hex::encode(digest.as_ref().get(..8).unwrap_or_default())
        );
        let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|_| DemoIdpError::Key)?;
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            decoding,
            x,
            y,
        })
    }

    /// RFC 7517 public key, with `kid`, `use` and `alg`.
    pub(crate) fn jwk(&self) -> Value {
        json!({
            "kty": "EC", "crv": "P-256", "x": self.x, "y": self.y,
            "kid": self.kid, "use": "sig", "alg": "ES256",
        })
    }

    pub(crate) fn sign(&self, claims: &impl Serialize) -> Result<String, DemoIdpError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|_| DemoIdpError::Key)
    }

    /// Claims of a token this key signed (any age: an `id_token_hint` may have expired).
    pub(crate) fn verify_own(
        &self,
        token: &str,
        issuer: &str,
    ) -> Option<serde_json::Map<String, Value>> {
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}
