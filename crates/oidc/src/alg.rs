//! The JWS algorithms the broker may accept, and nothing else: no `none`, no family it cannot
//! pin to one key type.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4): FranceConnect v2's recommended algorithm.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3): allowed by FranceConnect v2.
    RS256,
    /// HMAC-SHA256 keyed by the client secret (RFC 7518 §3.2): FranceConnect v1 (legacy) only.
    HS256,
}

impl SigningAlg {
    pub const fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
            SigningAlg::HS256 => "HS256",
        }
    }

    /// Whether the key is the shared client secret rather than a published public key.
    pub const fn is_symmetric(self) -> bool {
        matches!(self, SigningAlg::HS256)
    }

    pub(crate) const fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlg::HS256 => jsonwebtoken::Algorithm::HS256,
        }
    }
}

impl FromStr for SigningAlg {
    type Err = ();
    /// Exact, case-sensitive names (RFC 7518 §3.1); `none` and everything else are refused.
    fn from_str(value: &str) -> Result<Self, ()> {
        match value {
            "ES256" => Ok(SigningAlg::ES256),
            "RS256" => Ok(SigningAlg::RS256),
            "HS256" => Ok(SigningAlg::HS256),
            _ => Err(()),
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_three_exact_names_parse() {
        for alg in [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::HS256] {
            assert_eq!(alg.as_str().parse(), Ok(alg));
        }
        for refused in ["none", "None", "es256", "HS384", "PS256", "EdDSA", ""] {
            assert!(refused.parse::<SigningAlg>().is_err(), "{refused}");
        }
    }
}
