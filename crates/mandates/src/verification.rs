//! The verification code printed on a mandate: what anyone holding the paper types (or scans)
//! to check the mandate's status on the public page.
//!
//! 160 random bits, so it cannot be guessed (the issue asks for ≥ 128), written in Crockford
//! base32 (<https://www.crockford.com/base32.html>): digits and capitals without I, L, O and U,
//! so a code copied by hand from paper does not confuse 0/O or 1/I/L. The random bytes come
//! from the caller: this crate does no I/O.

use std::fmt;

/// Random bytes behind a code.
pub const VERIFICATION_CODE_BYTES: usize = 20;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters of a code: 160 bits at 5 bits a character.
const LENGTH: usize = VERIFICATION_CODE_BYTES * 8 / 5;

/// A well-formed code, in its canonical form (32 characters of the alphabet above).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// Entropy of a code, in bits.
    pub const BITS: usize = VERIFICATION_CODE_BYTES * 8;

    /// Encodes random bytes; every 5 bytes make 8 characters, so nothing is padded.
    pub fn from_random(bytes: [u8; VERIFICATION_CODE_BYTES]) -> Self {
        let mut out = String::with_capacity(LENGTH);
        for chunk in bytes.chunks(5) {
            let bits = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            for i in (0..8).rev() {
                let index = usize::try_from((bits >> (i * 5)) & 0x1f).unwrap_or(0);
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'0')));
            }
        }
        Self(out)
    }

    /// Reads a code as a person may type it: spaces and hyphens ignored, lower case accepted,
    /// O read as 0 and I or L as 1 (Crockford). `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        // Bounded before any work: a form field may hold anything.
        if text.len() > 4 * LENGTH {
            return None;
        }
        let mut out = String::with_capacity(LENGTH);
        for c in text.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return None;
            }
            out.push(c);
        }
        (out.len() == LENGTH).then_some(Self(out))
    }

    /// The canonical form: in URLs and in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Groups of four separated by hyphens, as printed on paper: `ABCD-EFGH-…`.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// Not the code itself: it opens a mandate's status, so it stays out of logs.
impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_known_bytes() {
        assert_eq!(
            VerificationCode::from_random([0; 20]).as_str(),
            "00000000000000000000000000000000"
        );
        assert_eq!(
            VerificationCode::from_random([0xff; 20]).as_str(),
            "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
        );
        // 0x00 0x44 0x32 0x14 0xC7 = 00000 00001 00010 00011 00100 00101 00110 00111
        let mut bytes = [0u8; 20];
        bytes[..5].copy_from_slice(&[0x00, 0x44, 0x32, 0x14, 0xc7]);
        assert!(
            VerificationCode::from_random(bytes)
                .as_str()
                .starts_with("01234567")
        );
    }

    #[test]
    fn reads_what_people_type() {
        let code = VerificationCode::from_random([0x5a; 20]);
        let typed = code.grouped().to_lowercase();
        assert_eq!(VerificationCode::parse(&typed), Some(code.clone()));
        let spaced = code.grouped().replace('-', " ");
        assert_eq!(VerificationCode::parse(&spaced), Some(code));
        let with_letters = "O".repeat(16) + &"il".repeat(8);
        assert_eq!(
            VerificationCode::parse(&with_letters).unwrap().as_str(),
            "0".repeat(16) + &"1".repeat(16)
        );
    }

    #[test]
    fn refuses_malformed_codes() {
        for bad in [
            "",
            "ABCD",
            &"A".repeat(31),
            &"A".repeat(33),
            &"U".repeat(32),
            &"É".repeat(32),
            &format!("{}/", "A".repeat(31)),
            &" ".repeat(1000),
        ] {
            assert_eq!(VerificationCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn grouped_for_paper() {
        let grouped = VerificationCode::from_random([7; 20]).grouped();
        assert_eq!(grouped.len(), 32 + 7);
        assert_eq!(grouped.split('-').count(), 8);
    }

    proptest! {
        #[test]
        fn every_code_round_trips(bytes in proptest::array::uniform20(any::<u8>())) {
            let code = VerificationCode::from_random(bytes);
            prop_assert_eq!(code.as_str().len(), 32);
            prop_assert_eq!(VerificationCode::parse(code.as_str()), Some(code.clone()));
            prop_assert_eq!(VerificationCode::parse(&code.grouped()), Some(code));
        }

        #[test]
        fn distinct_bytes_give_distinct_codes(
            a in proptest::array::uniform20(any::<u8>()),
            b in proptest::array::uniform20(any::<u8>()),
        ) {
            prop_assume!(a != b);
            prop_assert_ne!(VerificationCode::from_random(a), VerificationCode::from_random(b));
        }
    }
}
