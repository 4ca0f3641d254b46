//! Random bearer tokens (session ids, sign-in links) and their stored form.
//!
//! A token is 256 random bits in base64url. Only its SHA-256 ([`TokenHash`]) is stored, so a copy
//! of the database does not let anyone sign in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SecureRandom;
use ring::{digest, hmac};
use std::fmt;

use crate::AuthError;
use crate::secret::ct_eq;

/// Random bytes per token: 256 bits, well above the 128 bits sessions need.
pub const TOKEN_BYTES: usize = 32;
/// Length of a token's base64url text.
pub const TOKEN_CHARS: usize = 43;

/// A bearer secret as sent to the browser (cookie) or by e-mail (link).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, AuthError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        rng.fill(&mut bytes).map_err(|_| AuthError::Random)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts only text shaped like a token we issued, so arbitrary input never reaches a query.
    pub fn parse(text: &str) -> Option<Self> {
        let shaped = text.len() == TOKEN_CHARS
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self(text.to_owned()))
    }

    /// The value to hand out (cookie value, link path segment).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.as_bytes())
    }

    /// A value bound to this token for one purpose (e.g. the CSRF token of a session): an
    /// HMAC-SHA256 keyed by the token, so it is unguessable without the token and changes with it.
    pub fn derive(&self, purpose: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(hmac::sign(&key, purpose.as_bytes()).as_ref())
    }

    /// Whether `candidate` is [`Self::derive`]`(purpose)`, in constant time.
    pub fn verify_derived(&self, purpose: &str, candidate: &str) -> bool {
        ct_eq(self.derive(purpose).as_bytes(), candidate.as_bytes())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// SHA-256 of a token, in lower-case hex: what the database stores and looks up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(digest::digest(&digest::SHA256, bytes)))
    }

    /// A hash read back from the database.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use std::collections::BTreeSet;

    #[test]
    fn tokens_are_random_well_formed_and_hashed() {
        let rng = SystemRandom::new();
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            let token = Token::generate(&rng).unwrap();
            assert_eq!(token.expose().len(), TOKEN_CHARS);
            assert_eq!(Token::parse(token.expose()), Some(token.clone()));
            assert_eq!(token.hash().as_str().len(), 64);
            assert_ne!(token.hash().as_str(), token.expose());
            assert!(seen.insert(token.expose().to_owned()));
        }
    }

    #[test]
    fn sha256_of_a_known_value() {
        // FIPS 180-2 test vector "abc".
        assert_eq!(
            TokenHash::of(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "short",
            "a".repeat(42).as_str(),
            "a".repeat(44).as_str(),
            &format!("{}=", "a".repeat(42)),
            &format!("{} ", "a".repeat(42)),
            &format!("{}é", "a".repeat(41)),
        ] {
            assert!(Token::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn derived_values_are_bound_to_the_token_and_the_purpose() {
        let rng = SystemRandom::new();
        let a = Token::generate(&rng).unwrap();
        let b = Token::generate(&rng).unwrap();
        let csrf = a.derive("csrf");
        assert!(a.verify_derived("csrf", &csrf));
        assert!(!b.verify_derived("csrf", &csrf));
        assert!(!a.verify_derived("other", &csrf));
        assert!(!a.verify_derived("csrf", ""));
    }

    #[test]
    fn debug_is_redacted() {
        let token = Token::generate(&SystemRandom::new()).unwrap();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
