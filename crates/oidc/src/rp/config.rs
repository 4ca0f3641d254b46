//! What the relying party needs to know about its provider and itself.

use ac_auth::Secret;
use std::time::Duration;
use url::Url;

use crate::{Acr, OidcError, PseudonymKey, SigningAlg};

/// Which FranceConnect generation the provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolVersion {
    /// FranceConnect v2: id_token and userinfo are JWTs signed with a published key (ES256 or
    /// RS256); userinfo is `application/jwt`.
    V2,
    /// FranceConnect v1 (legacy): id_token signed HS256 with the client secret; userinfo is plain
    /// JSON, trusted because it comes over TLS from the endpoint the discovery document named.
    V1Legacy,
}

/// Back-channel HTTP limits (token, userinfo, discovery, JWKS).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    /// Plain `http://` to the provider: the demo provider and tests on loopback only.
    pub allow_http: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            allow_http: false,
        }
    }
}

#[derive(Debug)]
pub struct RpConfig {
    /// The provider's issuer, compared byte for byte with `iss` everywhere (OIDC Core §3.1.3.7).
    pub issuer: String,
    pub client_id: String,
    /// Sent in the token request body (`client_secret_post`), and the HS256 key in v1 mode.
    pub client_secret: Secret,
    pub version: ProtocolVersion,
    /// Accepted JWS algorithms for id_token and userinfo, in this exact list and no other.
    pub algorithms: Vec<SigningAlg>,
    /// The level asked for by default (`acr_values`).
    pub acr: Acr,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub post_logout_redirect_uri: String,
    pub pseudonym_key: PseudonymKey,
    pub http: HttpSettings,
    /// Clock skew tolerated on `exp` and `iat`.
    pub leeway: Duration,
    /// How old an id_token's `iat` may be when we check it.
    pub max_token_age: Duration,
    /// How long a started identification may wait for its callback.
    pub login_ttl: Duration,
    /// Keys are refetched after this long even without an unknown `kid`.
    pub jwks_max_age: Duration,
}

impl RpConfig {
    /// Checks what types alone cannot; an error names the offending setting.
    pub fn validate(&self) -> Result<(), OidcError> {
        let invalid = |m: &str| Err(OidcError::Config(m.to_owned()));
        for (name, value) in [
            ("issuer", &self.issuer),
            ("redirect_uri", &self.redirect_uri),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
        ] {
            let Ok(url) = Url::parse(value) else {
                return invalid(&format!("{name} n'est pas une URL"));
            };
            let scheme_ok =
                url.scheme() == "https" || (self.http.allow_http && url.scheme() == "http");
            if !scheme_ok || url.fragment().is_some() || url.host().is_none() {
                return invalid(&format!("{name} doit être une URL https:// sans fragment"));
            }
        }
        if self.issuer.contains('?') {
            return invalid("issuer ne doit pas avoir de paramètres");
        }
        if self.client_id.is_empty() || self.client_id.contains(char::is_control) {
            return invalid("client_id est vide");
        }
        // FranceConnect issues secrets of at least 32 characters; HS256 needs 256 bits of key.
        if self.client_secret.len() < 32 {
            return invalid("client_secret doit faire au moins 32 caractères");
        }
        let allowed = match self.version {
            ProtocolVersion::V2 => {
                !self.algorithms.is_empty() && self.algorithms.iter().all(|a| !a.is_symmetric())
            }
            ProtocolVersion::V1Legacy => self.algorithms == [SigningAlg::HS256],
        };
        if !allowed {
            return invalid(
                "algorithms : ES256 et/ou RS256 en v2, HS256 seul en v1 (jamais none, jamais HS256 en v2)",
            );
        }
        if !self.scopes.iter().any(|s| s == "openid")
            || self
                .scopes
                .iter()
                .any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return invalid("scopes doit contenir openid et des noms de scope simples");
        }
        if self.leeway > Duration::from_secs(120) {
            return invalid("la tolérance d'horloge ne doit pas dépasser 120 s");
        }
        if self.login_ttl < Duration::from_secs(60) || self.login_ttl > Duration::from_secs(1800) {
            return invalid("la durée d'une identification doit être entre 60 et 1800 s");
        }
        if self.http.timeout.is_zero() || self.http.connect_timeout.is_zero() {
            return invalid("les délais HTTP doivent être positifs");
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn config() -> RpConfig {
        RpConfig {
            issuer: "https://fc.example".into(),
            client_id: "client".into(),
            client_secret: Secret::new(vec![b's'; 32]),
            version: ProtocolVersion::V2,
            algorithms: vec![SigningAlg::ES256, SigningAlg::RS256],
            acr: Acr::Eidas1,
            scopes: vec!["openid".into(), "identite_pivot".into()],
            redirect_uri: "https://ac.example/callback".into(),
            post_logout_redirect_uri: "https://ac.example/logout-callback".into(),
            pseudonym_key: PseudonymKey::new(&[9; 32]).unwrap(),
            http: HttpSettings::default(),
            leeway: Duration::from_secs(30),
            max_token_age: Duration::from_secs(600),
            login_ttl: Duration::from_secs(600),
            jwks_max_age: Duration::from_secs(3600),
        }
    }

    #[test]
    fn algorithm_lists_follow_the_protocol_version() {
        assert!(config().validate().is_ok());
        let bad = [
            vec![],
            vec![SigningAlg::HS256],
            vec![SigningAlg::ES256, SigningAlg::HS256],
        ];
        for algorithms in bad {
            let c = RpConfig {
                algorithms,
                ..config()
            };
            assert!(matches!(c.validate(), Err(OidcError::Config(_))));
        }
        let v1 = RpConfig {
            version: ProtocolVersion::V1Legacy,
            algorithms: vec![SigningAlg::HS256],
            ..config()
        };
        assert!(v1.validate().is_ok());
        let v1_with_rsa = RpConfig {
            algorithms: vec![SigningAlg::HS256, SigningAlg::RS256],
            ..v1
        };
        assert!(v1_with_rsa.validate().is_err());
    }

    #[test]
    fn urls_secrets_and_scopes_are_checked() {
        let http = RpConfig {
            issuer: "http://fc.example".into(),
            ..config()
        };
        assert!(http.validate().is_err());
        let http_allowed = RpConfig {
            http: HttpSettings {
                allow_http: true,
                ..HttpSettings::default()
            },
            ..http
        };
        assert!(http_allowed.validate().is_ok());
        let short = RpConfig {
            client_secret: Secret::new(vec![b's'; 31]),
            ..config()
        };
        assert!(short.validate().is_err());
        let no_openid = RpConfig {
            scopes: vec!["profile".into()],
            ..config()
        };
        assert!(no_openid.validate().is_err());
        let fragment = RpConfig {
            redirect_uri: "https://ac.example/cb#x".into(),
            ..config()
        };
        assert!(fragment.validate().is_err());
    }
}
