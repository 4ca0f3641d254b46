//! `[franceconnect]`: the upstream identity provider that identifies the aidé.

use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use time::Duration;

use crate::ConfigError;
use crate::durations::{millis, seconds};

/// Where the demonstration provider is mounted, under `server.public_url`.
pub const DEMO_PROVIDER_PATH: &str = "/demo/franceconnect";

/// The client secret of the demonstration provider, which runs in the same process (dev mode
/// only, never accepted by a real provider).
pub const DEMO_CLIENT_SECRET: &str = "demo-franceconnect-secret-not-a-secret-000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FranceConnectVersion {
    /// ES256 or RS256 id_token and signed userinfo.
    V2,
    /// Legacy: HS256 with the client secret, JSON userinfo.
    V1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FranceConnectSettings {
    /// Use the built-in demonstration provider at `{public_url}/demo/franceconnect` instead of
    /// `issuer`. Dev mode only.
    pub demo_provider_enabled: bool,
    /// The provider's issuer, e.g. `https://oidc.franceconnect.gouv.fr/api/v2`. Ignored (may be
    /// empty) when the demonstration provider is on.
    pub issuer: String,
    pub client_id: String,
    /// Name of the environment variable that holds the client secret…
    pub client_secret_env: String,
    /// …or a file that holds it (one of the two). Neither is read with the demonstration provider.
    pub client_secret_file: PathBuf,
    pub version: FranceConnectVersion,
    /// Accepted JWS algorithms: `ES256` and/or `RS256` in v2, `HS256` alone in v1.
    pub algorithms: Vec<String>,
    /// Level asked for by default: `eidas1`, `eidas2` or `eidas3`.
    pub acr: String,
    pub scopes: Vec<String>,
    /// Absolute, or a path under `server.public_url`; registered at the provider.
    pub redirect_uri: String,
    pub post_logout_redirect_uri: String,
    /// The same two for the aidé's own space (`/mon-espace`), registered beside them.
    #[serde(default = "default_aide_redirect_uri")]
    pub aide_redirect_uri: String,
    #[serde(default = "default_aide_post_logout_redirect_uri")]
    pub aide_post_logout_redirect_uri: String,
    /// The return of the person identifying on their own phone for a consent at a distance
    /// (`/accord/…`), registered beside them. No logout return: it is the person's own device.
    #[serde(default = "default_remote_redirect_uri")]
    pub remote_redirect_uri: String,
    /// HMAC key of the usagers' pseudonyms (32 random bytes, hex). Losing it orphans every usager.
    pub pseudonym_key_file: PathBuf,
    /// Create the pseudonym key at start-up when missing. Dev mode only.
    pub generate_missing_key: bool,
    /// Back-channel timeouts (token, userinfo, discovery, keys): connecting, and the whole
    /// request.
    #[serde(rename = "connect_timeout_ms", with = "millis")]
    pub connect_timeout: Duration,
    #[serde(rename = "timeout_ms", with = "millis")]
    pub timeout: Duration,
    /// Clock skew tolerated on the provider's `exp` and `iat`.
    #[serde(rename = "clock_leeway_secs", with = "seconds")]
    pub clock_leeway: Duration,
    /// How long an identification may wait for the provider's callback.
    #[serde(rename = "login_ttl_secs", with = "seconds")]
    pub login_ttl: Duration,
    /// Keys are refetched after this long even when no unknown `kid` shows up.
    #[serde(rename = "jwks_max_age_secs", with = "seconds")]
    pub jwks_max_age: Duration,
}

fn default_aide_redirect_uri() -> String {
    "/mon-espace/franceconnect/retour".to_owned()
}

fn default_aide_post_logout_redirect_uri() -> String {
    "/mon-espace/franceconnect/deconnexion".to_owned()
}

fn default_remote_redirect_uri() -> String {
    "/accord/franceconnect/retour".to_owned()
}

fn url_ok(value: &str, dev_mode: bool) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| dev_mode.then(|| value.strip_prefix("http://")).flatten());
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && !value.contains(['#', ' ', '?'])
        && !value.contains(char::is_control)
}

fn resolve(public_url: &str, value: &str) -> String {
    if value.starts_with('/') {
        format!("{public_url}{value}")
    } else {
        value.to_owned()
    }
}

const CONNECT_TIMEOUT: RangeInclusive<Duration> =
    Duration::milliseconds(100)..=Duration::seconds(30);
const TIMEOUT: RangeInclusive<Duration> = Duration::milliseconds(500)..=Duration::MINUTE;
const CLOCK_LEEWAY: RangeInclusive<Duration> = Duration::ZERO..=Duration::minutes(2);
const LOGIN_TTL: RangeInclusive<Duration> = Duration::MINUTE..=Duration::minutes(30);
const JWKS_MAX_AGE: RangeInclusive<Duration> = Duration::MINUTE..=Duration::DAY;

impl FranceConnectSettings {
    /// The issuer the relying party talks to.
    pub fn issuer_url(&self, public_url: &str) -> String {
        if self.demo_provider_enabled {
            format!("{public_url}{DEMO_PROVIDER_PATH}")
        } else {
            self.issuer.clone()
        }
    }

    pub fn redirect_url(&self, public_url: &str) -> String {
        resolve(public_url, &self.redirect_uri)
    }

    pub fn post_logout_redirect_url(&self, public_url: &str) -> String {
        resolve(public_url, &self.post_logout_redirect_uri)
    }

    pub fn aide_redirect_url(&self, public_url: &str) -> String {
        resolve(public_url, &self.aide_redirect_uri)
    }

    pub fn aide_post_logout_redirect_url(&self, public_url: &str) -> String {
        resolve(public_url, &self.aide_post_logout_redirect_uri)
    }

    pub fn remote_redirect_url(&self, public_url: &str) -> String {
        resolve(public_url, &self.remote_redirect_uri)
    }

    /// The client secret, from the environment variable or the file named in the settings (the
    /// fixed demonstration secret when the demonstration provider is on).
    pub fn client_secret(&self) -> Result<String, ConfigError> {
        if self.demo_provider_enabled {
            return Ok(DEMO_CLIENT_SECRET.to_owned());
        }
        let secret = if !self.client_secret_env.is_empty() {
            std::env::var(&self.client_secret_env).map_err(|_| {
                ConfigError::Invalid(format!(
                    "franceconnect : la variable d'environnement {} (secret client) est absente",
                    self.client_secret_env
                ))
            })?
        } else {
            std::fs::read_to_string(&self.client_secret_file).map_err(|e| ConfigError::Read {
                path: self.client_secret_file.clone(),
                message: e.to_string(),
            })?
        };
        let secret = secret.trim().to_owned();
        if secret.len() < 32 {
            return Err(ConfigError::Invalid(
                "franceconnect : le secret client doit faire au moins 32 caractères".into(),
            ));
        }
        Ok(secret)
    }

    pub(crate) fn validate(&self, dev_mode: bool) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(format!("franceconnect.{m}")));
        if self.demo_provider_enabled && !dev_mode {
            return invalid(
                "demo_provider_enabled n'est permis qu'en mode dev : configurez le vrai fournisseur (issuer)",
            );
        }
        if !self.demo_provider_enabled {
            if !url_ok(&self.issuer, dev_mode) {
                return invalid("issuer doit être une URL https:// (http:// admis en mode dev)");
            }
            if self.client_secret_env.is_empty() == self.client_secret_file.as_os_str().is_empty() {
                return invalid(
                    "client_secret_env ou client_secret_file : l'un des deux exactement",
                );
            }
        }
        if self.client_id.is_empty()
            || self.client_id.len() > 200
            || self.client_id.contains(char::is_control)
        {
            return invalid("client_id doit faire de 1 à 200 caractères");
        }
        let algs: Vec<&str> = self.algorithms.iter().map(String::as_str).collect();
        let algs_ok = match self.version {
            FranceConnectVersion::V2 => {
                !algs.is_empty() && algs.iter().all(|a| matches!(*a, "ES256" | "RS256"))
            }
            FranceConnectVersion::V1 => algs == ["HS256"],
        };
        if !algs_ok {
            return invalid(
                "algorithms : [\"ES256\", \"RS256\"] (ou l'un des deux) en v2, [\"HS256\"] en v1 ; jamais none",
            );
        }
        if !matches!(self.acr.as_str(), "eidas1" | "eidas2" | "eidas3") {
            return invalid("acr doit valoir eidas1, eidas2 ou eidas3");
        }
        let scope_ok =
            |s: &String| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !self.scopes.iter().any(|s| s == "openid") || !self.scopes.iter().all(scope_ok) {
            return invalid("scopes doit contenir openid et des noms de scope simples");
        }
        for (name, value) in [
            ("redirect_uri", &self.redirect_uri),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("aide_redirect_uri", &self.aide_redirect_uri),
            (
                "aide_post_logout_redirect_uri",
                &self.aide_post_logout_redirect_uri,
            ),
            ("remote_redirect_uri", &self.remote_redirect_uri),
        ] {
            let path_ok = value.starts_with('/')
                && !value.starts_with("//")
                && !value.contains(['?', '#', ' ']);
            if !path_ok && !url_ok(value, dev_mode) {
                return invalid(&format!(
                    "{name} doit être un chemin (/…) ou une URL https://"
                ));
            }
        }
        if self.pseudonym_key_file.as_os_str().is_empty() {
            return invalid("pseudonym_key_file est requis");
        }
        if self.generate_missing_key && !dev_mode {
            return invalid("generate_missing_key n'est permis qu'en mode dev");
        }
        let ranges = [
            (
                self.connect_timeout,
                CONNECT_TIMEOUT,
                "connect_timeout_ms (100–30000)",
            ),
            (self.timeout, TIMEOUT, "timeout_ms (500–60000)"),
            (self.clock_leeway, CLOCK_LEEWAY, "clock_leeway_secs (0–120)"),
            (self.login_ttl, LOGIN_TTL, "login_ttl_secs (60–1800)"),
            (
                self.jwks_max_age,
                JWKS_MAX_AGE,
                "jwks_max_age_secs (60–86400)",
            ),
        ];
        for (value, bounds, what) in ranges {
            if !bounds.contains(&value) {
                return invalid(&format!("{what} hors limites"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> FranceConnectSettings {
        FranceConnectSettings {
            demo_provider_enabled: true,
            issuer: String::new(),
            client_id: "aidants-connect".into(),
            client_secret_env: String::new(),
            client_secret_file: PathBuf::new(),
            version: FranceConnectVersion::V2,
            algorithms: vec!["ES256".into(), "RS256".into()],
            acr: "eidas1".into(),
            scopes: vec!["openid".into(), "identite_pivot".into()],
            redirect_uri: "/mandats/franceconnect/retour".into(),
            post_logout_redirect_uri: "/mandats/franceconnect/deconnexion".into(),
            aide_redirect_uri: default_aide_redirect_uri(),
            aide_post_logout_redirect_uri: default_aide_post_logout_redirect_uri(),
            remote_redirect_uri: default_remote_redirect_uri(),
            pseudonym_key_file: "var/keys/usager-pseudonym.key".into(),
            generate_missing_key: true,
            connect_timeout: Duration::milliseconds(3000),
            timeout: Duration::milliseconds(10_000),
            clock_leeway: Duration::seconds(30),
            login_ttl: Duration::seconds(600),
            jwks_max_age: Duration::seconds(3600),
        }
    }

    fn real() -> FranceConnectSettings {
        FranceConnectSettings {
            demo_provider_enabled: false,
            issuer: "https://oidc.franceconnect.gouv.fr/api/v2".into(),
            client_secret_env: "AC_FRANCECONNECT_CLIENT_SECRET".into(),
            generate_missing_key: false,
            ..demo()
        }
    }

    #[test]
    fn shipped_files_turn_the_demonstration_provider_on_in_dev_only() {
        use figment::Figment;
        use figment::providers::{Format, Toml};
        let load = |text: &str| {
            crate::Settings::from_figment(Figment::from(Toml::string(text)), &Default::default())
                .unwrap()
                .franceconnect
        };
        assert!(load(include_str!("../../../config/default.toml")).demo_provider_enabled);
        assert!(load(include_str!("../../../config/test.toml")).demo_provider_enabled);
        let production = load(include_str!("../../../config/production.example.toml"));
        assert!(!production.demo_provider_enabled);
        assert!(!production.generate_missing_key);
        assert!(production.issuer.starts_with("https://"));
    }

    #[test]
    fn demo_provider_only_in_dev_mode() {
        assert!(demo().validate(true).is_ok());
        assert!(demo().validate(false).is_err());
        assert!(real().validate(false).is_ok());
        let d = demo();
        assert_eq!(
            d.issuer_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/demo/franceconnect"
        );
        assert_eq!(d.client_secret().unwrap(), DEMO_CLIENT_SECRET);
        assert_eq!(
            d.redirect_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/mandats/franceconnect/retour"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let cases: Vec<(FranceConnectSettings, &str)> = vec![
            (
                FranceConnectSettings {
                    issuer: "http://fc.example".into(),
                    ..real()
                },
                "issuer",
            ),
            (
                FranceConnectSettings {
                    client_secret_env: String::new(),
                    ..real()
                },
                "client_secret",
            ),
            (
                FranceConnectSettings {
                    client_secret_file: "/etc/x".into(),
                    ..real()
                },
                "client_secret",
            ),
            (
                FranceConnectSettings {
                    algorithms: vec!["none".into()],
                    ..real()
                },
                "algorithms",
            ),
            (
                FranceConnectSettings {
                    algorithms: vec!["HS256".into()],
                    ..real()
                },
                "algorithms",
            ),
            (
                FranceConnectSettings {
                    version: FranceConnectVersion::V1,
                    algorithms: vec!["HS256".into(), "RS256".into()],
                    ..real()
                },
                "algorithms",
            ),
            (
                FranceConnectSettings {
                    acr: "eidas4".into(),
                    ..real()
                },
                "acr",
            ),
            (
                FranceConnectSettings {
                    scopes: vec!["profile".into()],
                    ..real()
                },
                "scopes",
            ),
            (
                FranceConnectSettings {
                    redirect_uri: "//evil.example/x".into(),
                    ..real()
                },
                "redirect_uri",
            ),
            (
                FranceConnectSettings {
                    generate_missing_key: true,
                    ..real()
                },
                "generate_missing_key",
            ),
            (
                FranceConnectSettings {
                    clock_leeway: Duration::seconds(600),
                    ..real()
                },
                "clock_leeway_secs",
            ),
        ];
        for (settings, name) in cases {
            let err = settings.validate(false).unwrap_err().to_string();
            assert!(err.contains(name), "{name}: {err}");
        }
        let v1 = FranceConnectSettings {
            version: FranceConnectVersion::V1,
            algorithms: vec!["HS256".into()],
            ..real()
        };
        assert!(v1.validate(false).is_ok());
    }

    #[test]
    fn the_secret_comes_from_a_file_and_must_be_long_enough() {
        let dir = std::env::temp_dir().join(format!("ac-config-fc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        let from_file = |text: &str| {
            std::fs::write(&file, text).unwrap();
            FranceConnectSettings {
                client_secret_env: String::new(),
                client_secret_file: file.clone(),
                ..real()
            }
            .client_secret()
        };
        assert_eq!(
            from_file(&format!("{}\n", "s".repeat(40))).unwrap(),
            "s".repeat(40)
        );
        assert!(from_file("short").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
