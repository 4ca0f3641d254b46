//! `[provider]`: the identity provider partner websites reach through FranceConnect.
//! Its issuer is `server.public_url`.

use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use time::Duration;

use crate::ConfigError;
use crate::durations::seconds;

/// Where the demonstration partner website is mounted in dev mode.
pub const DEMO_PARTNER_PATH: &str = "/demo/service-public";
/// The demonstration partner's client id at our provider.
pub const DEMO_PARTNER_CLIENT_ID: &str = "demo-service-public";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderSettings {
    /// Lifetime of an authorization code, at most 30 s (FranceConnect).
    #[serde(rename = "code_ttl_secs", with = "seconds")]
    pub code_ttl: Duration,
    /// Lifetime of an access token and of the id_token issued with it, at most 60 s.
    #[serde(rename = "access_token_ttl_secs", with = "seconds")]
    pub access_token_ttl: Duration,
    /// Time the aidant has to choose the person and the démarche.
    #[serde(rename = "interaction_ttl_secs", with = "seconds")]
    pub interaction_ttl: Duration,
    /// AES-256-GCM key ring (`ID:BASE64URL` lines, current first) sealing the signing keys and
    /// the secrets of HS256 clients in the database.
    pub key_ring_file: PathBuf,
    /// Create the key ring, and a first ES256 key pair, at start-up when missing. Dev mode only.
    pub generate_missing_key: bool,
    /// How often each node reloads the signing keys from the database (after a rotation).
    #[serde(rename = "key_reload_secs", with = "seconds")]
    pub key_reload: Duration,
    /// How long a retired key stays published (and verifies `id_token_hint`s).
    #[serde(rename = "retired_key_publish_secs", with = "seconds")]
    pub retired_key_publish: Duration,
    /// Register the demonstration partner website as a client at start-up. Dev mode only.
    pub demo_partner_enabled: bool,
    /// Its client secret, created in dev mode when missing.
    pub demo_partner_secret_file: PathBuf,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            code_ttl: Duration::seconds(30),
            access_token_ttl: Duration::seconds(60),
            interaction_ttl: Duration::minutes(10),
            key_ring_file: PathBuf::from("var/keys/provider-keys.key"),
            generate_missing_key: false,
            key_reload: Duration::MINUTE,
            retired_key_publish: Duration::WEEK,
            demo_partner_enabled: false,
            demo_partner_secret_file: PathBuf::from("var/keys/demo-partner-client.secret"),
        }
    }
}

const CODE_TTL: RangeInclusive<Duration> = Duration::SECOND..=Duration::seconds(30);
const ACCESS_TOKEN_TTL: RangeInclusive<Duration> = Duration::SECOND..=Duration::MINUTE;
const INTERACTION_TTL: RangeInclusive<Duration> = Duration::MINUTE..=Duration::minutes(30);
const KEY_RELOAD: RangeInclusive<Duration> = Duration::SECOND..=Duration::HOUR;

impl ProviderSettings {
    pub(crate) fn validate(&self, dev_mode: bool) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(format!("provider.{m}")));
        if !CODE_TTL.contains(&self.code_ttl) {
            return invalid("code_ttl_secs doit être entre 1 et 30 (un code vit 30 s au plus)");
        }
        if !ACCESS_TOKEN_TTL.contains(&self.access_token_ttl) {
            return invalid(
                "access_token_ttl_secs doit être entre 1 et 60 (un jeton vit 60 s au plus)",
            );
        }
        if !INTERACTION_TTL.contains(&self.interaction_ttl) {
            return invalid("interaction_ttl_secs doit être entre 60 et 1800");
        }
        if !KEY_RELOAD.contains(&self.key_reload) {
            return invalid("key_reload_secs doit être entre 1 et 3600");
        }
        if self.retired_key_publish < self.access_token_ttl {
            return invalid("retired_key_publish_secs doit couvrir au moins la vie d'un jeton");
        }
        if self.generate_missing_key && !dev_mode {
            return invalid(
                "generate_missing_key n'est permis qu'en mode dev : créez la clé avec `aidants-connect keys keygen` puis `keys rotate`",
            );
        }
        if self.demo_partner_enabled && !dev_mode {
            return invalid("demo_partner_enabled n'est permis qu'en mode dev");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_capped_and_dev_only_options_refused_in_production() {
        assert!(ProviderSettings::default().validate(false).is_ok());
        let bad = [
            ProviderSettings {
                code_ttl: Duration::seconds(31),
                ..Default::default()
            },
            ProviderSettings {
                access_token_ttl: Duration::HOUR,
                ..Default::default()
            },
            ProviderSettings {
                generate_missing_key: true,
                ..Default::default()
            },
            ProviderSettings {
                demo_partner_enabled: true,
                ..Default::default()
            },
        ];
        for settings in bad {
            assert!(settings.validate(false).is_err(), "{settings:?}");
        }
        let dev = ProviderSettings {
            generate_missing_key: true,
            demo_partner_enabled: true,
            ..Default::default()
        };
        assert!(dev.validate(true).is_ok());
    }
}
