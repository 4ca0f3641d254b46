//! A registered client (a partner website, in practice FranceConnect) as the protocol checks see
//! it. Storage keeps the same facts as columns; the secret itself is never part of this type.

use std::fmt;
use std::str::FromStr;
use url::Url;

use super::OpError;
use super::scope::SUPPORTED_SCOPES;
use crate::SigningAlg;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1). One per client, so a
/// client registered for one method cannot use the other (RFC 6749 §2.3: "MUST NOT use more than
/// one authentication method in each request").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// Credentials in the form body: what FranceConnect uses.
    ClientSecretPost,
    /// HTTP Basic with the form-urlencoded id and secret.
    ClientSecretBasic,
}

impl ClientAuthMethod {
    pub const ALL: [ClientAuthMethod; 2] = [Self::ClientSecretPost, Self::ClientSecretBasic];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
        }
    }
}

impl FromStr for ClientAuthMethod {
    type Err = OpError;
    fn from_str(value: &str) -> Result<Self, OpError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == value)
            .ok_or_else(|| OpError::Registration(format!("méthode d'authentification {value}")))
    }
}

impl fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The userinfo response's form (OIDC Core §5.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserinfoFormat {
    /// `application/json`.
    Json,
    /// `application/jwt`, signed, with `iss` and `aud`: FranceConnect v2.
    Signed(SigningAlg),
}

/// What the provider needs to know about a client to check its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    /// Compared byte for byte with the request's `redirect_uri` (RFC 9700 §2.1, OIDC Core
    /// §3.1.2.1): no pattern, no prefix, no normalisation.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: ClientAuthMethod,
    pub id_token_alg: SigningAlg,
    pub userinfo: UserinfoFormat,
    /// Scopes the client may be granted; `openid` is always among them.
    pub allowed_scopes: Vec<String>,
    /// Add an RFC 8693 §4.1 `act` claim naming the acting aidant and structure.
    pub act_claim: bool,
}

impl Client {
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether the client needs its secret kept (sealed) to key HS256 signatures.
    pub fn uses_hs256(&self) -> bool {
        self.id_token_alg == SigningAlg::HS256
            || self.userinfo == UserinfoFormat::Signed(SigningAlg::HS256)
    }

    /// The registration rules: checked by `client add`, so what is stored is always usable.
    pub fn validate(&self, allow_http: bool) -> Result<(), OpError> {
        let bad = |m: String| Err(OpError::Registration(m));
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !id_ok {
            return bad("client_id : 1 à 64 caractères parmi [A-Za-z0-9._-]".into());
        }
        if self.redirect_uris.is_empty() {
            return bad("au moins une adresse de retour (redirect_uri)".into());
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            check_uri(uri, allow_http)?;
        }
        if !self.allowed_scopes.iter().any(|s| s == "openid") {
            return bad("les scopes permis doivent contenir openid".into());
        }
        if let Some(unknown) = self
            .allowed_scopes
            .iter()
            .find(|s| !SUPPORTED_SCOPES.contains(&s.as_str()))
        {
            return bad(format!("scope inconnu : {unknown}"));
        }
        Ok(())
    }
}

/// A registrable redirect URI: absolute, `https://` (plain `http://` only when allowed, i.e. dev
/// mode and tests), with a host, no fragment (RFC 6749 §3.1.2), no user information, and in the
/// normalised form the `url` crate prints, so that the exact comparison cannot be defeated by two
/// spellings of one address.
pub fn check_uri(uri: &str, allow_http: bool) -> Result<(), OpError> {
    let bad = |m: &str| Err(OpError::Registration(format!("{m} : {uri}")));
    let Ok(url) = Url::parse(uri) else {
        return bad("adresse invalide");
    };
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok {
        return bad("adresse https:// attendue");
    }
    if url.host().is_none() || url.fragment().is_some() || !url.username().is_empty() {
        return bad("adresse sans hôte, avec fragment ou identifiants");
    }
    if url.as_str() != uri || uri.len() > 512 {
        return bad("adresse à écrire sous sa forme normalisée (512 caractères au plus)");
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn client() -> Client {
        Client {
            id: "franceconnect".into(),
            redirect_uris: vec!["https://fc.example/api/v2/oidc-callback".into()],
            post_logout_redirect_uris: vec!["https://fc.example/api/v2/logout-callback".into()],
            auth_method: ClientAuthMethod::ClientSecretPost,
            id_token_alg: SigningAlg::ES256,
            userinfo: UserinfoFormat::Signed(SigningAlg::ES256),
            allowed_scopes: ["openid", "profile", "birth", "email", "identite_pivot"]
                .map(String::from)
                .to_vec(),
            act_claim: false,
        }
    }

    #[test]
    fn registrations_are_checked() {
        assert_eq!(client().validate(false), Ok(()));
        let bad = [
            Client {
                id: "a b".into(),
                ..client()
            },
            Client {
                redirect_uris: vec![],
                ..client()
            },
            Client {
                redirect_uris: vec!["http://fc.example/cb".into()],
                ..client()
            },
            Client {
                redirect_uris: vec!["https://fc.example/cb#x".into()],
                ..client()
            },
            Client {
                redirect_uris: vec!["https://FC.example/cb".into()],
                ..client()
            },
            Client {
                redirect_uris: vec!["https://user@fc.example/cb".into()],
                ..client()
            },
            Client {
                post_logout_redirect_uris: vec!["fc.example/out".into()],
                ..client()
            },
            Client {
                allowed_scopes: vec!["profile".into()],
                ..client()
            },
            Client {
                allowed_scopes: vec!["openid".into(), "phone".into()],
                ..client()
            },
        ];
        for c in bad {
            assert!(c.validate(false).is_err(), "{c:?}");
        }
        let local = Client {
            redirect_uris: vec!["http://127.0.0.1:8080/retour".into()],
            ..client()
        };
        assert!(local.validate(true).is_ok());
        assert!(local.validate(false).is_err());
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let c = client();
        assert!(c.has_redirect_uri("https://fc.example/api/v2/oidc-callback"));
        for variant in [
            "https://fc.example/api/v2/oidc-callback/",
            "https://fc.example/api/v2/oidc-callback?x=1",
            "https://fc.example/api/v2/oidc-callbac",
            "https://FC.example/api/v2/oidc-callback",
            "http://fc.example/api/v2/oidc-callback",
            "https://fc.example:443/api/v2/oidc-callback",
            "https://fc.example/api/v2/OIDC-callback",
        ] {
            assert!(!c.has_redirect_uri(variant), "{variant}");
        }
    }

    #[test]
    fn hs256_needs_the_sealed_secret() {
        assert!(!client().uses_hs256());
        let legacy = Client {
            id_token_alg: SigningAlg::HS256,
            userinfo: UserinfoFormat::Json,
            ..client()
        };
        assert!(legacy.uses_hs256());
        assert_eq!(
            "client_secret_basic".parse(),
            Ok(ClientAuthMethod::ClientSecretBasic)
        );
        assert!("private_key_jwt".parse::<ClientAuthMethod>().is_err());
    }
}
