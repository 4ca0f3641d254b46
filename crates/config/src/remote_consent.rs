//! `[remote_consent]`: consent at a distance (docs/domain.md "Journeys" 2b, docs/operations.md
//! "Consent at a distance"): how long a link works, how long the aidant has to confirm, the
//! limits on sending and on opening links, and the SMS transport.

use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use time::Duration;

use crate::ConfigError;
use crate::durations::seconds;

/// The longest a link may work (a day, docs/operations.md "Consent at a distance"), checked at
/// start-up.
pub const MAX_LINK_TTL: Duration = Duration::DAY;
const LINK_TTL: RangeInclusive<Duration> = Duration::minutes(5)..=MAX_LINK_TTL;
const CONFIRM_TTL: RangeInclusive<Duration> = Duration::MINUTE..=MAX_LINK_TTL;
const WINDOW: RangeInclusive<Duration> = Duration::SECOND..=Duration::DAY;
const SMS_TIMEOUT: RangeInclusive<Duration> = Duration::SECOND..=Duration::MINUTE;

/// Where text messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsTransport {
    /// Brevo's transactional SMS API (docs/operations.md explains the choice).
    Brevo,
    /// Dev mode only: written beside the mail file outbox, listed at /dev/courriels.
    Outbox,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteConsentSettings {
    /// How long a link sent to the person works (at most a day).
    #[serde(rename = "link_ttl_secs", with = "seconds")]
    pub link_ttl: Duration,
    /// How long the aidant has to confirm with a TOTP code once the person consented.
    #[serde(rename = "confirm_ttl_secs", with = "seconds")]
    pub confirm_ttl: Duration,
    /// Links an aidant may send per window, and a structure (all its aidants together).
    pub sends_per_aidant: u32,
    pub sends_per_structure: u32,
    /// Uses of the public link pages per client IP per window.
    pub opens_per_ip: u32,
    #[serde(rename = "window_secs", with = "seconds")]
    pub window: Duration,
    pub sms_transport: SmsTransport,
    /// The sender name shown on the phone (1–11 letters or digits, Brevo's rule).
    pub sms_sender: String,
    /// Brevo's endpoint (changed only by the tests, to their local fake).
    pub brevo_url: String,
    /// The Brevo API key, read from this file (never from the settings themselves).
    pub brevo_api_key_file: PathBuf,
    /// Connect and request timeout of an SMS send.
    #[serde(rename = "sms_timeout_secs", with = "seconds")]
    pub sms_timeout: Duration,
}

impl Default for RemoteConsentSettings {
    fn default() -> Self {
        Self {
            link_ttl: Duration::hours(2),
            confirm_ttl: Duration::minutes(30),
            sends_per_aidant: 10,
            sends_per_structure: 50,
            opens_per_ip: 30,
            window: Duration::HOUR,
            sms_transport: SmsTransport::Outbox,
            sms_sender: "AidantsCnct".to_owned(),
            brevo_url: "https://api.brevo.com/v3/transactionalSMS/send".to_owned(),
            brevo_api_key_file: PathBuf::new(),
            sms_timeout: Duration::seconds(10),
        }
    }
}

impl RemoteConsentSettings {
    pub(crate) fn validate(&self, dev_mode: bool) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(format!("remote_consent : {m}")));
        if !LINK_TTL.contains(&self.link_ttl) {
            return invalid("link_ttl_secs de 300 à 86400 (un lien ne vit pas plus de 24 h)");
        }
        if !CONFIRM_TTL.contains(&self.confirm_ttl) {
            return invalid("confirm_ttl_secs de 60 à 86400");
        }
        if !(1..=10_000).contains(&self.sends_per_aidant)
            || !(1..=10_000).contains(&self.sends_per_structure)
            || !(1..=10_000).contains(&self.opens_per_ip)
            || !WINDOW.contains(&self.window)
        {
            return invalid(
                "sends_per_aidant, sends_per_structure, opens_per_ip de 1 à 10000, window_secs de 1 à 86400",
            );
        }
        if !SMS_TIMEOUT.contains(&self.sms_timeout) {
            return invalid("sms_timeout_secs de 1 à 60");
        }
        let sender_ok = (1..=11).contains(&self.sms_sender.len())
            && self.sms_sender.bytes().all(|b| b.is_ascii_alphanumeric());
        if !sender_ok {
            return invalid("sms_sender : de 1 à 11 lettres ou chiffres, sans espace ni accent");
        }
        match self.sms_transport {
            SmsTransport::Outbox if !dev_mode => {
                invalid("sms_transport = \"outbox\" est réservé au mode développement")
            }
            SmsTransport::Brevo => {
                let url_ok = self.brevo_url.starts_with("https://")
                    || (dev_mode && self.brevo_url.starts_with("http://"));
                if !url_ok || self.brevo_url.contains(char::is_whitespace) {
                    return invalid("brevo_url doit être une adresse https://");
                }
                if self.brevo_api_key_file.as_os_str().is_empty() {
                    return invalid("brevo_api_key_file est requis avec sms_transport = \"brevo\"");
                }
                Ok(())
            }
            SmsTransport::Outbox => Ok(()),
        }
    }

    /// The Brevo API key, read from its file (trimmed).
    pub fn brevo_api_key(&self) -> Result<String, ConfigError> {
        let text =
            std::fs::read_to_string(&self.brevo_api_key_file).map_err(|e| ConfigError::Read {
                path: self.brevo_api_key_file.clone(),
                message: e.to_string(),
            })?;
        let key = text.trim().to_owned();
        if key.is_empty() {
            return Err(ConfigError::Invalid(
                "remote_consent.brevo_api_key_file est vide".to_owned(),
            ));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_lives_a_day_at_most() {
        assert!(RemoteConsentSettings::default().validate(false).is_err()); // outbox outside dev
        assert!(RemoteConsentSettings::default().validate(true).is_ok());
        // Literal values: the bound is the (24 h), not whatever the constant says.
        let day_and_a_second = RemoteConsentSettings {
            link_ttl: Duration::seconds(86_401),
            ..RemoteConsentSettings::default()
        };
        assert!(day_and_a_second.validate(true).is_err());
        let day = RemoteConsentSettings {
            link_ttl: Duration::seconds(86_400),
            ..RemoteConsentSettings::default()
        };
        assert!(day.validate(true).is_ok());
    }

    #[test]
    fn brevo_needs_https_and_a_key_file() {
        let brevo = RemoteConsentSettings {
            sms_transport: SmsTransport::Brevo,
            ..RemoteConsentSettings::default()
        };
        assert!(brevo.validate(false).is_err());
        let with_key = RemoteConsentSettings {
            brevo_api_key_file: "/etc/aidants-connect/brevo.key".into(),
            ..brevo
        };
        assert!(with_key.validate(false).is_ok());
        let plain = RemoteConsentSettings {
            brevo_url: "http://api.brevo.com/v3/transactionalSMS/send".into(),
            ..with_key.clone()
        };
        assert!(plain.validate(false).is_err());
        let sender = RemoteConsentSettings {
            sms_sender: "Aidants Connect".into(),
            ..with_key
        };
        assert!(sender.validate(false).is_err());
    }
}
