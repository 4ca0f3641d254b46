//! The keyed pseudonym that identifies a usager without keeping the upstream `sub`.

use ring::hmac;
use std::fmt;

/// Length of a pseudonym: 64 hex characters (HMAC-SHA256), what `usagers.subject` requires.
pub const SUBJECT_LEN: usize = 64;

/// The HMAC key. Losing it changes every pseudonym; leaking it lets someone who also knows
/// upstream `sub` values link them to our records.
pub struct PseudonymKey(hmac::Key);

impl PseudonymKey {
    /// At least 32 bytes (256 bits), the HMAC-SHA256 block-independent security level.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        (bytes.len() >= 32).then(|| Self(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    /// The key file's text form: 64 hex characters (surrounding whitespace ignored).
    pub fn from_text(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() == 64)
            .then(|| hex::decode(text).ok())
            .flatten()
            .and_then(|bytes| Self::new(&bytes))
    }

    /// A new random key in text form, to write to `franceconnect.pseudonym_key_file`.
    pub fn generate_text(rng: &dyn ring::rand::SecureRandom) -> Result<String, crate::OidcError> {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes).map_err(|_| crate::OidcError::Random)?;
        Ok(hex::encode(bytes))
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey([redacted])")
    }
}

/// `hex(HMAC-SHA256(key, len(issuer) ‖ issuer ‖ len(sub) ‖ sub))`, lengths as 8-byte big-endian:
/// the length prefixes keep (`ab`, `c`) and (`a`, `bc`) apart. The issuer is part of the input so
/// the same `sub` at two providers gives two pseudonyms.
pub fn usager_subject(key: &PseudonymKey, issuer: &str, upstream_sub: &str) -> String {
    let mut ctx = hmac::Context::with_key(&key.0);
    for part in [issuer, upstream_sub] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    hex::encode(ctx.sign().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PseudonymKey {
        PseudonymKey::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn stable_hex_of_the_right_length() {
        let a = usager_subject(&key(1), "https://fc.example", "sub-1");
        assert_eq!(a.len(), SUBJECT_LEN);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(a, usager_subject(&key(1), "https://fc.example", "sub-1"));
        assert!(!a.contains("sub-1"));
    }

    #[test]
    fn key_issuer_and_sub_all_matter_and_do_not_run_together() {
        let base = usager_subject(&key(1), "https://fc.example", "sub-1");
        assert_ne!(base, usager_subject(&key(2), "https://fc.example", "sub-1"));
        assert_ne!(
            base,
            usager_subject(&key(1), "https://other.example", "sub-1")
        );
        assert_ne!(base, usager_subject(&key(1), "https://fc.example", "sub-2"));
        assert_ne!(
            usager_subject(&key(1), "ab", "c"),
            usager_subject(&key(1), "a", "bc")
        );
    }

    #[test]
    fn known_answer() {
        // Python: hmac.new(bytes([7]*32), b"\0"*7+b"\1i"+b"\0"*7+b"\1s", sha256).hexdigest()
        assert_eq!(
            usager_subject(&key(7), "i", "s"),
            "b08d3935c270862e222a071842c3af661714432a6edef6baa2706084f2958c0f"
        );
    }

    #[test]
    fn text_form() {
        let text = PseudonymKey::generate_text(&ring::rand::SystemRandom::new()).unwrap();
        let key = PseudonymKey::from_text(&format!("{text}\n")).unwrap();
        let again = PseudonymKey::from_text(&text).unwrap();
        assert_eq!(
            usager_subject(&key, "i", "s"),
            usager_subject(&again, "i", "s")
        );
        assert!(PseudonymKey::from_text(&text[..62]).is_none());
        assert!(PseudonymKey::from_text(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn short_keys_and_debug() {
        assert!(PseudonymKey::new(&[1; 31]).is_none());
        assert_eq!(format!("{:?}", key(1)), "PseudonymKey([redacted])");
    }
}
