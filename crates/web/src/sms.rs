//! Text messages (docs/operations.md "Consent at a distance"): the [`SmsTransport`] interface,
//! Brevo's transactional SMS API for production, and the development outbox for `make run`.
//! The phone number is used to send and dropped: no transport keeps it, no log names it.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use ac_auth::Secret;
use ac_config::{RemoteConsentSettings, SmsTransport as Configured};
use serde::{Deserialize, Serialize};

/// A phone number in international form (E.164 digits after `+`), parsed from what the aidant
/// typed: `06 12 34 56 78` (France), `+33 6…`, `0033 6…`, `+590 690…`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PhoneNumber(String);

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(…)")
    }
}

impl PhoneNumber {
    /// `None` for anything that is not a plausible number (E.164: at most 15 digits).
    pub(crate) fn parse(typed: &str) -> Option<Self> {
        if typed.len() > 32 {
            return None;
        }
        let compact: String = typed
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}'))
            .collect();
        let international = if let Some(rest) = compact.strip_prefix('+') {
            rest.to_owned()
        } else if let Some(rest) = compact.strip_prefix("00") {
            rest.to_owned()
        } else if let Some(rest) = compact.strip_prefix('0') {
            // A French national number: ten digits, the leading 0 becomes +33.
            if rest.len() != 9 {
                return None;
            }
            format!("33{rest}")
        } else {
            return None;
        };
        let plausible = (8..=15).contains(&international.len())
            && international.bytes().all(|b| b.is_ascii_digit())
            && !international.starts_with('0');
        plausible.then_some(Self(international))
    }

    /// Digits with the country code, no `+` (Brevo's `recipient`).
    pub(crate) fn digits(&self) -> &str {
        &self.0
    }

    /// The number with all but its last two digits hidden, for the development outbox.
    fn masked(&self) -> String {
        let shown: String = self
            .0
            .chars()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!(
            "+{}•••••{shown}",
            self.0.chars().take(2).collect::<String>()
        )
    }
}

/// Why a text message was not sent. Never carries the number.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SmsError {
    #[error("{own} fournisseur SMS injoignable : {0}", own = self.code())]
    Unreachable(String),
    #[error("{own} fournisseur SMS : refus {status} ({code})", own = self.code())]
    Refused { status: u16, code: String },
    #[error("{own} boîte d'envoi locale : {0}", own = self.code())]
    Outbox(String),
    #[error("{own} configuration SMS : {0}", own = self.code())]
    Config(String),
}

impl SmsError {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            SmsError::Unreachable(_) => "SMS001",
            SmsError::Refused { .. } => "SMS002",
            SmsError::Outbox(_) => "SMS003",
            SmsError::Config(_) => "SMS004",
        }
    }
}

pub(crate) type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

/// Something that delivers a text message to a phone.
pub(crate) trait SmsTransport: Send + Sync + fmt::Debug {
    fn send<'a>(&'a self, to: &'a PhoneNumber, text: &'a str) -> Sending<'a>;
}

/// The transport the settings choose.
pub(crate) fn from_settings(
    settings: &RemoteConsentSettings,
    outbox_dir: PathBuf,
) -> Result<Box<dyn SmsTransport>, SmsError> {
    Ok(match settings.sms_transport {
        Configured::Outbox => Box::new(DevOutbox {
            dir: outbox_dir,
            sender: settings.sms_sender.clone(),
        }),
        Configured::Brevo => {
            let key = settings
                .brevo_api_key()
                .map_err(|e| SmsError::Config(e.to_string()))?;
            Box::new(Brevo::new(
                settings.brevo_url.clone(),
                Secret::new(key.into_bytes()),
                settings.sms_sender.clone(),
                settings.sms_timeout.unsigned_abs(),
            )?)
        }
    })
}

/// Brevo's transactional SMS API (`POST /v3/transactionalSMS/send`, header `api-key`, JSON
/// `sender`/`recipient`/`content`/`type`; `201 {"messageId": …}` on success, a JSON
/// `{"code", "message"}` with 400, 401 or 402 on refusal). Why Brevo: docs/operations.md.
pub(crate) struct Brevo {
    client: reqwest::Client,
    url: String,
    api_key: Secret,
    sender: String,
}

impl fmt::Debug for Brevo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Brevo")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrevoRequest<'a> {
    sender: &'a str,
    recipient: &'a str,
    content: &'a str,
    /// Transactional: sent at any hour (marketing SMS wait for daytime in France).
    #[serde(rename = "type")]
    kind: &'static str,
    tag: &'static str,
    /// The text has French accents outside the GSM alphabet.
    unicode_enabled: bool,
}

#[derive(Deserialize)]
struct BrevoError {
    code: Option<String>,
}

impl Brevo {
    fn new(
        url: String,
        api_key: Secret,
        sender: String,
        timeout: Duration,
    ) -> Result<Self, SmsError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // The API answers directly; a redirect would carry the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsError::Config(e.to_string()))?;
        Ok(Self {
            client,
            url,
            api_key,
            sender,
        })
    }

    async fn deliver(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError> {
        let key = std::str::from_utf8(self.api_key.expose())
            .map_err(|e| SmsError::Config(e.to_string()))?;
        let body = BrevoRequest {
            sender: &self.sender,
            recipient: to.digits(),
            content: text,
            kind: "transactional",
            tag: "remote_consent",
            unicode_enabled: true,
        };
        let answer = self
            .client
            .post(&self.url)
            .header("api-key", key)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            // Without the URL: reqwest's message would carry the endpoint, never the number.
            .map_err(|e| SmsError::Unreachable(e.without_url().to_string()))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let code = answer
            .json::<BrevoError>()
            .await
            .ok()
            .and_then(|e| e.code)
            .unwrap_or_default()
            .chars()
            .take(64)
            .collect();
        Err(SmsError::Refused {
            status: status.as_u16(),
            code,
        })
    }
}

impl SmsTransport for Brevo {
    fn send<'a>(&'a self, to: &'a PhoneNumber, text: &'a str) -> Sending<'a> {
        Box::pin(self.deliver(to, text))
    }
}

/// Development only (`make run`): each message is written as a `.txt` file beside the mail
/// file outbox, so `/dev/courriels` lists it with its link. The number is masked there.
#[derive(Debug)]
pub(crate) struct DevOutbox {
    dir: PathBuf,
    sender: String,
}

impl DevOutbox {
    async fn write(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| SmsError::Outbox(e.to_string()))?;
        let name = ac_auth::Token::generate(&ring::rand::SystemRandom::new())
            .map(|t| t.expose().chars().take(16).collect::<String>())
            .map_err(|e| SmsError::Outbox(e.to_string()))?;
        let copy = format!("SMS à : {}\nDe : {}\n\n{text}\n", to.masked(), self.sender);
        tokio::fs::write(self.dir.join(format!("sms-{name}.txt")), copy)
            .await
            .map_err(|e| SmsError::Outbox(e.to_string()))
    }
}

impl SmsTransport for DevOutbox {
    fn send<'a>(&'a self, to: &'a PhoneNumber, text: &'a str) -> Sending<'a> {
        Box::pin(self.write(to, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_aidants_type_them() {
        let digits = |t: &str| PhoneNumber::parse(t).map(|p| p.digits().to_owned());
        assert_eq!(digits("06 12 34 56 78").as_deref(), Some("33612345678"));
        assert_eq!(digits("+33 6 12 34 56 78").as_deref(), Some("33612345678"));
        assert_eq!(digits("0033612345678").as_deref(), Some("33612345678"));
        assert_eq!(digits("+590 690 12 34 56").as_deref(), Some("590690123456"));
        for bad in [
            "",
            "0612",
            "06 12 34 56 78 9",
            "+33 6 12 AB 56 78",
            "612345678",
            "+0612",
        ] {
            assert_eq!(digits(bad), None, "{bad}");
        }
        let masked = PhoneNumber::parse("06 12 34 56 78").unwrap().masked();
        assert_eq!(masked, "+33•••••78");
        assert!(!format!("{:?}", PhoneNumber::parse("0612345678").unwrap()).contains("612"));
    }
}
