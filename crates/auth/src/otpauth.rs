//! Enrolment of an authenticator app: the `otpauth://` key URI and its QR code (SVG).
//!
//! Format: the Key Uri Format that authenticator apps read,
//! `otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`.

use qrcode::QrCode;
use qrcode::render::svg;

use crate::AuthError;
use crate::secret::Secret;
use crate::totp::{DIGITS, TotpStep};

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 §6 base32, without `=` padding (authenticator apps expect none).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_char(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(base32_char(buffer << (5 - bits)));
    }
    out
}

fn base32_char(index: u32) -> char {
    BASE32_ALPHABET
        .get((index & 31) as usize)
        .map_or('A', |&b| char::from(b))
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The key URI an authenticator app scans. `account` is what the app displays under the issuer
/// (the aidant's e-mail address). The URI contains the seed: show it once, never store or log it.
pub fn key_uri(issuer: &str, account: &str, seed: &Secret, step: TotpStep) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={}",
        percent_encode(account),
        base32(seed.expose()),
        step.secs()
    )
}

/// The URI as a QR code, in SVG (no script, no style element: safe to serve under the CSP).
pub fn qr_svg(uri: &str) -> Result<String, AuthError> {
    let code = QrCode::new(uri.as_bytes()).map_err(|_| AuthError::QrCode)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_base32_vectors() {
        // RFC 4648 §10, without padding.
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn key_uri_is_what_apps_expect() {
        let seed = Secret::new(b"12345678901234567890".to_vec());
        let uri = key_uri(
            "Aidants Connect",
            "marie.dupont@exemple.fr",
            &seed,
            TotpStep::App,
        );
        assert_eq!(
            uri,
            "otpauth://totp/Aidants%20Connect:marie.dupont%40exemple.fr?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Aidants%20Connect&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        assert!(!svg.contains("<script") && !svg.contains("<style"));
    }
}
