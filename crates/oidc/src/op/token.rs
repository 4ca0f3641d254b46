//! The token request (RFC 6749 §4.1.3): client authentication (§2.3.1), then the code's checks
//! (§4.1.3, RFC 7636 §4.6). Storage does the single use; this module decides.

use ac_auth::{Secret, TokenHash, ct_eq};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

use super::client::{Client, ClientAuthMethod};
use super::error::{ErrorCode, TokenError};
use super::pkce::{self, PkceRefusal};

/// The credentials a client presented, and how.
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Secret,
    pub method: ClientAuthMethod,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// A parsed token request. The code and verifier are secrets: `Debug` hides them.
pub struct TokenRequest {
    pub credentials: ClientCredentials,
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("credentials", &self.credentials)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

fn invalid(description: &'static str) -> TokenError {
    TokenError::new(ErrorCode::InvalidRequest, description)
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

/// Parses the form body and the `Authorization` header.
pub fn parse_token_request(
    body: &str,
    authorization: Option<&str>,
) -> Result<TokenRequest, TokenError> {
    let mut form: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        // RFC 6749 §3.2: parameters "MUST NOT be included more than once".
        if form.insert(name.into_owned(), value.into_owned()).is_some() {
            return Err(invalid("repeated parameter"));
        }
    }
    let take = |name: &str| form.get(name).filter(|v| !v.is_empty()).cloned();
    let credentials = match (
        authorization.and_then(basic_credentials),
        take("client_secret"),
    ) {
        (Some(_), Some(_)) => {
            // RFC 6749 §2.3: one authentication method per request.
            return Err(invalid("more than one client authentication method"));
        }
        (Some((id, secret)), None) => {
            if take("client_id").is_some_and(|body_id| body_id != id) {
                return Err(invalid("client_id differs from the authenticated client"));
            }
            ClientCredentials {
                client_id: id,
                secret: Secret::new(secret.into_bytes()),
                method: ClientAuthMethod::ClientSecretBasic,
            }
        }
        (None, Some(secret)) => ClientCredentials {
            client_id: take("client_id").ok_or_else(|| {
                TokenError::new(ErrorCode::InvalidClient, "client authentication failed")
            })?,
            secret: Secret::new(secret.into_bytes()),
            method: ClientAuthMethod::ClientSecretPost,
        },
        (None, None) => {
            return Err(TokenError::new(
                ErrorCode::InvalidClient,
                "client authentication failed",
            ));
        }
    };
    match take("grant_type").as_deref() {
        Some("authorization_code") => {}
        Some(_) => {
            return Err(TokenError::new(
                ErrorCode::UnsupportedGrantType,
                "only authorization_code is supported",
            ));
        }
        None => return Err(invalid("grant_type missing")),
    }
    Ok(TokenRequest {
        credentials,
        code: take("code").ok_or_else(|| invalid("code missing"))?,
        redirect_uri: take("redirect_uri"),
        code_verifier: take("code_verifier"),
    })
}

/// Compared against when the client is unknown, so that an unknown id costs the same work as a
/// wrong secret.
const NO_CLIENT_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// RFC 6749 §2.3.1 with a constant-time comparison of SHA-256 hashes: the secret is 256 random
/// bits, so a fast hash is enough and the stored value is useless to a reader of the database.
/// `registered` is the client and its stored secret hash, when the id is known. The method must
/// be the registered one.
pub fn authenticate(
    credentials: &ClientCredentials,
    registered: Option<(&Client, &str)>,
) -> Result<(), TokenError> {
    let presented = TokenHash::of(credentials.secret.expose());
    let stored = registered.map_or(NO_CLIENT_HASH, |(_, hash)| hash);
    let secret_ok = ct_eq(presented.as_str().as_bytes(), stored.as_bytes());
    let client_ok = registered.is_some_and(|(client, _)| {
        client.id == credentials.client_id && client.auth_method == credentials.method
    });
    if secret_ok && client_ok {
        Ok(())
    } else {
        Err(TokenError::new(
            ErrorCode::InvalidClient,
            "client authentication failed",
        ))
    }
}

/// What storage knows about a code, for the checks of §4.1.3.
#[derive(Debug, Clone)]
pub struct CodeFacts<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: Option<&'a str>,
    pub expires_at: OffsetDateTime,
}

/// The checks of a first use of a code by an authenticated client: its client, its lifetime, the
/// same `redirect_uri` (RFC 6749 §4.1.3), and PKCE without downgrade (RFC 7636 §4.6, RFC 9700
/// §2.1.1). Every refusal is `invalid_grant`.
pub fn check_code(
    code: &CodeFacts<'_>,
    request: &TokenRequest,
    now: OffsetDateTime,
) -> Result<(), TokenError> {
    let grant = |d| Err(TokenError::new(ErrorCode::InvalidGrant, d));
    if code.client_id != request.credentials.client_id {
        return grant("code issued to another client");
    }
    if now >= code.expires_at {
        return grant("code expired");
    }
    if request.redirect_uri.as_deref() != Some(code.redirect_uri) {
        return grant("redirect_uri differs from the authorization request");
    }
    match pkce::check(code.code_challenge, request.code_verifier.as_deref()) {
        Ok(()) => Ok(()),
        Err(PkceRefusal::MissingVerifier) => grant("code_verifier missing"),
        Err(PkceRefusal::Downgrade) => grant("code_verifier sent for a code issued without PKCE"),
        Err(PkceRefusal::Mismatch) => grant("code_verifier does not match"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::client::tests::client;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);
    const SECRET: &str = "a-secret-of-at-least-32-characters-0123456789";
    const REDIRECT: &str = "https://fc.example/api/v2/oidc-callback";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn post_body(extra: &str) -> String {
        format!(
            "grant_type=authorization_code&code=C&redirect_uri={}&client_id=franceconnect&client_secret={SECRET}{extra}",
            urlencode(REDIRECT)
        )
    }

    fn urlencode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    fn hash() -> String {
        TokenHash::of(SECRET.as_bytes()).as_str().to_owned()
    }

    fn facts(challenge: Option<&'static str>) -> CodeFacts<'static> {
        CodeFacts {
            client_id: "franceconnect",
            redirect_uri: REDIRECT,
            code_challenge: challenge,
            expires_at: NOW + time::Duration::seconds(30),
        }
    }

    #[test]
    fn client_secret_post_authenticates() {
        let request = parse_token_request(&post_body(""), None).unwrap();
        assert_eq!(
            request.credentials.method,
            ClientAuthMethod::ClientSecretPost
        );
        assert_eq!(request.code, "C");
        let c = client();
        assert_eq!(
            authenticate(&request.credentials, Some((&c, &hash()))),
            Ok(())
        );
        // Debug never shows the secret or the code.
        let shown = format!("{request:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("\"C\""),
            "{shown}"
        );
    }

    #[test]
    fn wrong_secret_unknown_client_and_wrong_method_are_invalid_client() {
        let c = client();
        let wrong = parse_token_request(&post_body("").replace(SECRET, "wrong"), None).unwrap();
        let refused = authenticate(&wrong.credentials, Some((&c, &hash()))).unwrap_err();
        assert_eq!(
            (refused.error, refused.status()),
            (ErrorCode::InvalidClient, 401)
        );
        let right = parse_token_request(&post_body(""), None).unwrap();
        assert!(authenticate(&right.credentials, None).is_err());
        let basic_only = Client {
            auth_method: ClientAuthMethod::ClientSecretBasic,
            ..client()
        };
        assert!(authenticate(&right.credentials, Some((&basic_only, &hash()))).is_err());
        let no_secret = "grant_type=authorization_code&code=C&client_id=franceconnect";
        assert_eq!(
            parse_token_request(no_secret, None).unwrap_err().error,
            ErrorCode::InvalidClient
        );
    }

    #[test]
    fn client_secret_basic_decodes_form_encoding() {
        let basic_client = Client {
            auth_method: ClientAuthMethod::ClientSecretBasic,
            ..client()
        };
        let header = format!(
            "Basic {}",
            STANDARD.encode(format!("franceconnect:{}", urlencode("s:e/c r+t")))
        );
        let body = format!(
            "grant_type=authorization_code&code=C&redirect_uri={}",
            urlencode(REDIRECT)
        );
        let request = parse_token_request(&body, Some(&header)).unwrap();
        assert_eq!(request.credentials.secret.expose(), b"s:e/c r+t");
        let stored = TokenHash::of(b"s:e/c r+t").as_str().to_owned();
        assert_eq!(
            authenticate(&request.credentials, Some((&basic_client, &stored))),
            Ok(())
        );
        // Both methods at once are refused.
        let both = parse_token_request(&post_body(""), Some(&header)).unwrap_err();
        assert_eq!(both.error, ErrorCode::InvalidRequest);
    }

    #[test]
    fn malformed_requests() {
        for (body, expected) in [
            (post_body("&code=D"), ErrorCode::InvalidRequest),
            (
                post_body("").replace("authorization_code", "refresh_token"),
                ErrorCode::UnsupportedGrantType,
            ),
            (
                post_body("").replace("grant_type=authorization_code&", ""),
                ErrorCode::InvalidRequest,
            ),
            (
                post_body("").replace("code=C&", ""),
                ErrorCode::InvalidRequest,
            ),
        ] {
            assert_eq!(
                parse_token_request(&body, None).unwrap_err().error,
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn code_checks() {
        let plain = parse_token_request(&post_body(""), None).unwrap();
        assert_eq!(check_code(&facts(None), &plain, NOW), Ok(()));
        let expired = CodeFacts {
            expires_at: NOW,
            ..facts(None)
        };
        assert_eq!(
            check_code(&expired, &plain, NOW).unwrap_err().description,
            "code expired"
        );
        let other_client = CodeFacts {
            client_id: "other",
            ..facts(None)
        };
        assert!(check_code(&other_client, &plain, NOW).is_err());
        let other_redirect = parse_token_request(
            &post_body("").replace("oidc-callback", "oidc-callback%2F"),
            None,
        )
        .unwrap();
        assert!(check_code(&facts(None), &other_redirect, NOW).is_err());
        let no_redirect = parse_token_request(
            &post_body("").replace(&format!("redirect_uri={}&", urlencode(REDIRECT)), ""),
            None,
        )
        .unwrap();
        assert!(check_code(&facts(None), &no_redirect, NOW).is_err());
        let with_verifier =
            parse_token_request(&post_body(&format!("&code_verifier={VERIFIER}")), None).unwrap();
        assert_eq!(
            check_code(&facts(Some(CHALLENGE)), &with_verifier, NOW),
            Ok(())
        );
        for (code, request, why) in [
            (facts(Some(CHALLENGE)), &plain, "code_verifier missing"),
            (
                facts(None),
                &with_verifier,
                "code_verifier sent for a code issued without PKCE",
            ),
        ] {
            let refused = check_code(&code, request, NOW).unwrap_err();
            assert_eq!(
                (refused.error, refused.description),
                (ErrorCode::InvalidGrant, why)
            );
        }
    }
}
