//! PKCE (RFC 7636) on the provider side: S256 only, and no downgrade (RFC 9700 §2.1.1).

use ac_auth::ct_eq;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A code challenge as S256 produces it: base64url of a SHA-256 digest, 43 characters
/// (RFC 7636 §4.2).
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A code verifier: 43 to 128 unreserved characters (RFC 7636 §4.1).
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Why the token request's PKCE part is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceRefusal {
    /// The authorization request had a challenge, the token request has no verifier.
    MissingVerifier,
    /// The token request has a verifier for a code issued without a challenge: a downgrade
    /// (RFC 9700 §2.1.1: "MUST ensure that if there was no code_challenge in the authorization
    /// request, a request to the token endpoint containing a code_verifier is rejected").
    Downgrade,
    /// The verifier is malformed or does not hash to the challenge (RFC 7636 §4.6).
    Mismatch,
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`, compared in
/// constant time.
pub fn check(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), PkceRefusal> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(PkceRefusal::MissingVerifier),
        (None, Some(_)) => Err(PkceRefusal::Downgrade),
        (Some(challenge), Some(verifier)) => {
            if !valid_verifier(verifier) {
                return Err(PkceRefusal::Mismatch);
            }
            let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
            let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
            if ct_eq(computed.as_bytes(), challenge.as_bytes()) {
                Ok(())
            } else {
                Err(PkceRefusal::Mismatch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b() {
        assert!(valid_challenge(CHALLENGE));
        assert!(valid_verifier(VERIFIER));
        assert_eq!(check(Some(CHALLENGE), Some(VERIFIER)), Ok(()));
    }

    #[test]
    fn downgrade_missing_and_wrong_verifiers_are_refused() {
        assert_eq!(check(None, None), Ok(()));
        assert_eq!(
            check(Some(CHALLENGE), None),
            Err(PkceRefusal::MissingVerifier)
        );
        assert_eq!(check(None, Some(VERIFIER)), Err(PkceRefusal::Downgrade));
        let other = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            check(Some(CHALLENGE), Some(other)),
            Err(PkceRefusal::Mismatch)
        );
        // `plain` would accept the challenge itself as verifier: S256 does not.
        assert_eq!(
            check(Some(CHALLENGE), Some(CHALLENGE)),
            Err(PkceRefusal::Mismatch)
        );
        assert_eq!(
            check(Some(CHALLENGE), Some("short")),
            Err(PkceRefusal::Mismatch)
        );
    }

    #[test]
    fn shapes() {
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"
        ));
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(valid_verifier(&"a~.-_".repeat(25)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}é", "a".repeat(43))));
    }
}
