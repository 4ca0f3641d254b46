//! Headers every response carries, the request id header, and the refusal of control
//! characters where text enters.
// Request text is hostile: no arithmetic on it may overflow.
#![deny(clippy::arithmetic_side_effects)]

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, ResponseError};
use tracing_actix_web::RequestId;

use crate::WebError;

/// No inline script or style anywhere, so the policy can stay this strict. `form-action 'self'`
/// stops a tampered page from posting a form elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn headers(dev_mode: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ));
    if dev_mode {
        headers
    } else {
        headers.add((
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ))
    }
}

/// Echoes the request id (the one on the tracing span) so a person reporting an error can quote it.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().map(ToString::to_string);
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// The policy for a page whose form ends in a redirect to another origin (Chromium checks the
/// whole redirect chain of a form submission against `form-action`): that origin alone is added.
pub fn csp_with_form_action(origin: &str) -> String {
    CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    )
}

/// Refuses, once for every route, text that no field of the service holds: a NUL or another
/// control character in the path, the query string or a form body. PostgreSQL refuses a NUL in
/// any text ("invalid byte sequence for encoding UTF8: 0x00"), so such a value must never reach
/// a query; no id, name or filter has any other control character either. Tab, CR and LF stay
/// allowed in form bodies only (multi-line text).
pub async fn refuse_control_characters(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut clean = !has_control(&percent_decode(req.path().as_bytes()), false)
        && url::form_urlencoded::parse(req.query_string().as_bytes())
            .all(|(k, v)| !has_control(k.as_bytes(), false) && !has_control(v.as_bytes(), false));
    if clean && is_form(req.headers()) {
        // Read the body (within the configured limit) and put it back for the handler.
        let body = match req.extract::<Bytes>().await {
            Ok(body) => body,
            // Too large or broken: the same answer the handler would have given (413…).
            Err(e) => {
                let response = e.error_response();
                return Ok(req.into_response(response).map_into_boxed_body());
            }
        };
        clean = url::form_urlencoded::parse(&body)
            .all(|(k, v)| !has_control(k.as_bytes(), true) && !has_control(v.as_bytes(), true));
        req.set_payload(Payload::from(body));
    }
    if clean {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    tracing::warn!("request with a control character refused");
    let response = WebError::ControlCharacter.error_response();
    Ok(req.into_response(response).map_into_boxed_body())
}

/// Media types are case-insensitive (RFC 9110 §8.3.1): `Application/X-WWW-Form-Urlencoded;
/// charset=UTF-8` is a form.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// C0 controls and DEL; with `multi_line`, tab, CR and LF are text.
fn has_control(bytes: &[u8], multi_line: bool) -> bool {
    bytes.iter().any(|&b| match b {
        b'\t' | b'\r' | b'\n' => !multi_line,
        0x00..=0x1f | 0x7f => true,
        _ => false,
    })
}

/// `%XX` decoding of a path (a `+` stays a `+` there); malformed escapes stay as they are.
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%'
            && let [high, low, after @ ..] = tail
            && let (Some(high), Some(low)) = (hex(*high), hex(*low))
        {
            // Two hex digits: at most 0xff.
            out.push(high.wrapping_mul(16) | low);
            rest = after;
            continue;
        }
        out.push(b);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_after_decoding() {
        assert!(has_control(&percent_decode(b"/mandats/%00"), false));
        assert!(has_control(&percent_decode(b"/mandats/a%1Fb"), false));
        assert!(has_control(&percent_decode(b"/a%7f"), false));
        assert!(!has_control(
            &percent_decode(b"/mandats/abc%20d%C3%A9"),
            false
        ));
        assert!(!has_control(&percent_decode(b"/bad%zz%4"), false));
        assert!(has_control(b"a\nb", false));
        assert!(!has_control(b"a\r\n\tb", true));
        assert!(has_control(b"a\0b", true));
    }

    #[test]
    fn media_types_are_case_insensitive() {
        let mut headers = HeaderMap::new();
        for (value, form) in [
            ("Application/X-WWW-Form-Urlencoded; charset=UTF-8", true),
            ("application/x-www-form-urlencoded", true),
            ("application/x-www-form-urlencodedX", false),
            ("application/json", false),
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_form(&headers), form, "{value}");
        }
    }
}
