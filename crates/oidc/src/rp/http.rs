//! Back-channel HTTP: no redirects (a 3xx is an error, never followed), timeouts, bounded bodies.

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};

use super::HttpSettings;
use crate::OidcError;

/// Largest body read from the provider (discovery, JWKS, userinfo).
const MAX_BODY: usize = 256 * 1024;

pub(crate) fn client(settings: &HttpSettings) -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        // RFC 9700 §4.11 and the FranceConnect checklist: back-channel calls follow no redirect,
        // so a compromised endpoint cannot send our credentials or requests elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout)
        .https_only(!settings.allow_http)
        .user_agent(concat!("aidants-connect/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| OidcError::Config(format!("client HTTP : {e}")))
}

/// A successful (2xx) response, read whole.
pub(crate) struct Body {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The media type without parameters, lower-cased: `application/jwt; charset=utf-8` →
/// `application/jwt`.
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub(crate) async fn read(
    step: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Body, OidcError> {
    let mut response = request
        .header(ACCEPT, "application/json, application/jwt")
        .send()
        .await
        .map_err(|e| OidcError::Unreachable {
            step,
            cause: e.without_url().to_string(),
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(OidcError::BadResponse {
            step,
            cause: format!("HTTP {status}"),
        });
    }
    let content_type = media_type(response.headers());
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| OidcError::Unreachable {
        step,
        cause: e.without_url().to_string(),
    })? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(OidcError::BadResponse {
                step,
                cause: "réponse trop grande".into(),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        content_type,
        bytes,
    })
}
