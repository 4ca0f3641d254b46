//! A minimal RFC 8785 (JCS) writer for the only values entries hold: strings, safe integers
//! and objects of those.
//!
//! It does not rely on `serde_json::Map` ordering, which a `preserve_order` feature anywhere
//! in the build would silently change.

use std::cmp::Ordering;

use crate::AuditError;

/// RFC 8785 §3.2.2.3 / I-JSON (RFC 7493 §2.2): larger integers lose precision in IEEE 754.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

pub enum Value<'a> {
    Str(&'a str),
    Int(u64),
    Object(Vec<(&'a str, Value<'a>)>),
}

/// RFC 8785 §3.2.3: members are sorted by their names as arrays of UTF-16 code units.
fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

impl Value<'_> {
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), AuditError> {
        match self {
            Self::Str(s) => write_str(s, out),
            Self::Int(n) => {
                if *n > MAX_SAFE_INTEGER {
                    return Err(AuditError::NonCanonicalEntry(
                        "integer above 2^53 - 1 is not exact in JSON",
                    ));
                }
                // RFC 8785 §3.2.2.3: an integral Number is written as plain decimal digits.
                out.extend_from_slice(n.to_string().as_bytes());
                Ok(())
            }
            Self::Object(members) => {
                let mut sorted: Vec<_> = members.iter().collect();
                sorted.sort_by(|a, b| utf16_order(a.0, b.0));
                if sorted.windows(2).any(|w| matches!(w, [a, b] if a.0 == b.0)) {
                    return Err(AuditError::NonCanonicalEntry("duplicate member name"));
                }
                // RFC 8785 §3.2.1: no whitespace between tokens.
                out.push(b'{');
                for (i, (name, value)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(name, out)?;
                    out.push(b':');
                    value.write(out)?;
                }
                out.push(b'}');
                Ok(())
            }
        }
    }
}

/// RFC 8785 §3.2.2.2: serde_json escapes exactly what JCS does — `"` and `\`, the short forms
/// `\b \t \n \f \r`, other controls as lower-case `\u00xx` — and writes all else as UTF-8.
/// The tests below pin this against hand-written bytes.
fn write_str(s: &str, out: &mut Vec<u8>) -> Result<(), AuditError> {
    serde_json::to_writer(out, s).map_err(|_| AuditError::NonCanonicalEntry("string encoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(v: &Value<'_>) -> String {
        let mut out = Vec::new();
        v.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_exactly_like_rfc_8785() {
        let cases: &[(&str, &str)] = &[
            ("plain", r#""plain""#),
            (
                "quote\" backslash\\ slash/",
                r#""quote\" backslash\\ slash/""#,
            ),
            ("\u{8}\t\n\u{c}\r", r#""\b\t\n\f\r""#),
            ("\u{0}\u{1}\u{1f}", r#""\u0000\u0001\u001f""#),
            // DEL and C1 controls are not escaped by JCS.
            ("\u{7f}\u{80}\u{9f}", "\"\u{7f}\u{80}\u{9f}\""),
            ("été €𝄞", "\"été €𝄞\""),
            ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""),
            ("<script>", r#""<script>""#),
        ];
        for (input, want) in cases {
            assert_eq!(encode(&Value::Str(input)), *want, "{input:?}");
        }
    }

    #[test]
    fn integers_are_plain_decimal_up_to_2_pow_53() {
        assert_eq!(encode(&Value::Int(0)), "0");
        assert_eq!(encode(&Value::Int(MAX_SAFE_INTEGER)), "9007199254740991");
        assert!(
            Value::Int(MAX_SAFE_INTEGER + 1)
                .write(&mut Vec::new())
                .is_err()
        );
    }

    /// RFC 8785 §3.2.3's own sorting example, reduced to its names.
    #[test]
    fn members_sort_by_utf16_code_units() {
        let v = Value::Object(vec![
            ("\u{20ac}", Value::Str("Euro Sign")),
            ("\r", Value::Str("Carriage Return")),
            ("\u{fb33}", Value::Str("Hebrew Letter Dalet With Dagesh")),
            ("1", Value::Str("One")),
            ("\u{1f600}", Value::Str("Emoji: Grinning Face")),
            ("\u{80}", Value::Str("Control")),
            ("\u{f6}", Value::Str("Latin Small Letter O With Diaeresis")),
        ]);
        let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
            \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
            \"\u{1f600}\":\"Emoji: Grinning Face\",\
            \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(encode(&v), want);
    }

    #[test]
    fn nested_objects_and_duplicates() {
        let v = Value::Object(vec![
            ("b", Value::Int(1)),
            (
                "a",
                Value::Object(vec![("y", Value::Str("")), ("x", Value::Int(2))]),
            ),
        ]);
        assert_eq!(encode(&v), r#"{"a":{"x":2,"y":""},"b":1}"#);
        let dup = Value::Object(vec![("a", Value::Int(1)), ("a", Value::Int(2))]);
        assert!(dup.write(&mut Vec::new()).is_err());
    }
}
