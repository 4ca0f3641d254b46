//! Secret bytes and constant-time comparison.

use std::fmt;

/// Bytes that must never reach a log: `Debug` prints only their length.
///
/// The buffer is not wiped on drop: doing that reliably needs `unsafe` volatile writes, which the
/// workspace forbids. Secrets live in memory only for the request that needs them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for the one computation that needs them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted; {} bytes])", self.0.len())
    }
}

/// Equality whose duration does not depend on where the inputs first differ (only on their
/// lengths), so a code or token cannot be guessed byte by byte from response times.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    // ring marks this module deprecated because it plans to move it to another crate, not
    // because it is unsound; it is ring's constant-time comparison, used by its own HMAC verify.
    #[allow(deprecated)]
    ring::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_bytes() {
        let s = Secret::new(b"hunter2".to_vec());
        let shown = format!("{s:?}");
        assert_eq!(shown, "Secret([redacted; 7 bytes])");
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"123456", b"123456"));
        assert!(!ct_eq(b"123456", b"123457"));
        assert!(!ct_eq(b"123456", b"12345"));
        assert!(ct_eq(b"", b""));
    }
}
