//! RFC 6238 time-based one-time passwords over RFC 4226 HOTP, as authenticator apps and hardware
//! cards compute them: HMAC-SHA-1, 6 digits, T0 = 0, a step of 30 s (apps) or 60 s (cards).

use ring::hmac;
use ring::rand::SecureRandom;

use crate::AuthError;
use crate::secret::{Secret, ct_eq};

/// Digits of every code we accept.
pub const DIGITS: u32 = 6;
/// Steps of clock drift accepted on each side (RFC 6238 §5.2 recommends at most one).
pub const DRIFT_STEPS: i64 = 1;
/// Bytes of a generated seed: 160 bits, the length RFC 4226 §4 (R6) recommends.
pub const SEED_BYTES: usize = 20;

/// The time step of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpStep {
    /// Authenticator apps: 30 s.
    App,
    /// Hardware cards: 60 s.
    Card,
}

impl TotpStep {
    pub const fn secs(self) -> i64 {
        match self {
            TotpStep::App => 30,
            TotpStep::Card => 60,
        }
    }

    pub fn from_secs(secs: i64) -> Result<Self, AuthError> {
        match secs {
            30 => Ok(TotpStep::App),
            60 => Ok(TotpStep::Card),
            _ => Err(AuthError::InvalidStep),
        }
    }

    /// RFC 6238 §4.2: T = floor((unix time - T0) / X), with T0 = 0.
    pub fn counter_at(self, unix_time: i64) -> i64 {
        unix_time.div_euclid(self.secs())
    }
}

/// A new random seed for an authenticator app.
pub fn generate_seed(rng: &dyn SecureRandom) -> Result<Secret, AuthError> {
    let mut seed = vec![0u8; SEED_BYTES];
    rng.fill(&mut seed).map_err(|_| AuthError::Random)?;
    Ok(Secret::new(seed))
}

/// A seed given in hexadecimal, as card manufacturers ship them (16 to 64 bytes).
pub fn seed_from_hex(text: &str) -> Result<Secret, AuthError> {
    let bytes =
        hex::decode(text.trim()).map_err(|_| AuthError::InvalidSeed("pas en hexadécimal"))?;
    if !(16..=64).contains(&bytes.len()) {
        return Err(AuthError::InvalidSeed("longueur hors de 16 à 64 octets"));
    }
    Ok(Secret::new(bytes))
}

/// RFC 4226 §5.3: HMAC-SHA-1 of the 8-byte big-endian counter, dynamic truncation (§5.4),
/// modulo 10^digits. `digits` is at most 9 so the result fits.
pub fn hotp(seed: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let hash = tag.as_ref();
    // §5.4: the low 4 bits of the last byte give the offset of 4 bytes, top bit masked.
    let offset = usize::from(hash.last().copied().unwrap_or(0) & 0x0f);
    let word = hash
        .get(offset..offset + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_be_bytes);
    (word & 0x7fff_ffff) % 10u32.pow(digits.min(9))
}

/// The code a device shows at `unix_time`, zero-padded.
pub fn code_at(seed: &[u8], step: TotpStep, unix_time: i64, digits: u32) -> String {
    let counter = u64::try_from(step.counter_at(unix_time)).unwrap_or(0);
    format_code(hotp(seed, counter, digits), digits)
}

fn format_code(value: u32, digits: u32) -> String {
    format!("{value:0width$}", width = digits as usize)
}

/// What checking a code concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpCheck {
    /// Valid, for this counter; store it so the code cannot be used again.
    Accepted {
        counter: i64,
    },
    /// Valid for a counter already used: a replay (or a second submission of the same code).
    Replayed,
    Wrong,
}

/// Checks a 6-digit code against the counters T-1, T and T+1 (§5.2 drift), refusing any counter
/// at or below `last_used` (§5.2: a verifier must not accept the second attempt of a valid OTP).
/// All candidates are computed and compared in constant time, so the response time says nothing
/// about which step, if any, matched.
pub fn verify(
    seed: &[u8],
    step: TotpStep,
    code: &str,
    unix_time: i64,
    last_used: Option<i64>,
) -> TotpCheck {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return TotpCheck::Wrong;
    }
    let now = step.counter_at(unix_time);
    let mut fresh: Option<i64> = None;
    let mut replayed = false;
    for counter in (now - DRIFT_STEPS)..=(now + DRIFT_STEPS) {
        let Ok(unsigned) = u64::try_from(counter) else {
            continue;
        };
        let expected = format_code(hotp(seed, unsigned, DIGITS), DIGITS);
        if ct_eq(expected.as_bytes(), code.as_bytes()) {
            if last_used.is_some_and(|used| counter <= used) {
                replayed = true;
            } else {
                fresh = Some(fresh.map_or(counter, |f| f.max(counter)));
            }
        }
    }
    match (fresh, replayed) {
        (Some(counter), _) => TotpCheck::Accepted { counter },
        (None, true) => TotpCheck::Replayed,
        (None, false) => TotpCheck::Wrong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6238 Appendix B and RFC 4226 Appendix D use this ASCII seed for SHA-1.
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_4226_appendix_d_hotp_values() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(
                hotp(RFC_SEED, counter as u64, 6),
                value,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        // (time, T in hex, 8-digit TOTP) from the table of Appendix B, SHA1 rows.
        let vectors = [
            (59_i64, 0x1_u64, "94287082"),
            (1_111_111_109, 0x23523EC, "07081804"),
            (1_111_111_111, 0x23523ED, "14050471"),
            (1_234_567_890, 0x273EF07, "89005924"),
            (2_000_000_000, 0x3F940AA, "69279037"),
            (20_000_000_000, 0x27BC86AA, "65353130"),
        ];
        for (time, t, code) in vectors {
            assert_eq!(TotpStep::App.counter_at(time), t as i64, "T at {time}");
            assert_eq!(code_at(RFC_SEED, TotpStep::App, time, 8), code, "{time}");
        }
    }

    #[test]
    fn six_digit_codes_with_drift_of_one_step() {
        let t = 1_111_111_111;
        let code = code_at(RFC_SEED, TotpStep::App, t, 6);
        assert_eq!(code, "050471"); // the low 6 digits of the 8-digit vector
        let counter = TotpStep::App.counter_at(t);
        for (at, ok) in [
            (t, true),
            (t - 30, true),
            (t + 30, true),
            (t - 60, false),
            (t + 60, false),
        ] {
            let check = verify(RFC_SEED, TotpStep::App, &code, at, None);
            assert_eq!(
                check == (TotpCheck::Accepted { counter }),
                ok,
                "at {at}: {check:?}"
            );
        }
        assert_eq!(
            verify(RFC_SEED, TotpStep::App, "050 471", t, None),
            TotpCheck::Accepted { counter },
            "spaces typed between groups are ignored"
        );
    }

    #[test]
    fn a_used_code_is_refused_a_second_time() {
        let t = 1_234_567_890;
        let code = code_at(RFC_SEED, TotpStep::App, t, 6);
        let TotpCheck::Accepted { counter } = verify(RFC_SEED, TotpStep::App, &code, t, None)
        else {
            panic!("first use must pass");
        };
        assert_eq!(
            verify(RFC_SEED, TotpStep::App, &code, t, Some(counter)),
            TotpCheck::Replayed
        );
        // An older code (previous step) after a newer one was used is a replay too.
        let older = code_at(RFC_SEED, TotpStep::App, t - 30, 6);
        assert_eq!(
            verify(RFC_SEED, TotpStep::App, &older, t, Some(counter)),
            TotpCheck::Replayed
        );
        // The next step's code is still accepted.
        let next = code_at(RFC_SEED, TotpStep::App, t + 30, 6);
        assert_eq!(
            verify(RFC_SEED, TotpStep::App, &next, t + 30, Some(counter)),
            TotpCheck::Accepted {
                counter: counter + 1
            }
        );
    }

    #[test]
    fn cards_use_a_60_second_step() {
        let t = 1_234_567_890;
        let code = code_at(RFC_SEED, TotpStep::Card, t, 6);
        assert_eq!(code, format!("{:06}", hotp(RFC_SEED, (t / 60) as u64, 6)));
        assert!(matches!(
            verify(RFC_SEED, TotpStep::Card, &code, t + 60, None),
            TotpCheck::Accepted { .. }
        ));
        assert_eq!(TotpStep::from_secs(60), Ok(TotpStep::Card));
        assert_eq!(TotpStep::from_secs(45), Err(AuthError::InvalidStep));
    }

    #[test]
    fn malformed_codes_are_wrong() {
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "-12345"] {
            assert_eq!(
                verify(RFC_SEED, TotpStep::App, bad, 59, None),
                TotpCheck::Wrong,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hex_seeds() {
        assert_eq!(
            seed_from_hex("3132333435363738393031323334353637383930")
                .unwrap()
                .expose(),
            RFC_SEED
        );
        assert!(seed_from_hex("zz").is_err());
        assert!(seed_from_hex("00").is_err(), "too short");
    }

    proptest! {
        #[test]
        fn the_current_code_passes_once_then_never_again(
            seed in proptest::collection::vec(any::<u8>(), 16..40),
            t in 0i64..4_000_000_000,
            card in any::<bool>(),
        ) {
            let step = if card { TotpStep::Card } else { TotpStep::App };
            let code = code_at(&seed, step, t, DIGITS);
            let check = verify(&seed, step, &code, t, None);
            let TotpCheck::Accepted { counter } = check else {
                return Err(TestCaseError::fail(format!("{check:?}")));
            };
            prop_assert!(counter >= step.counter_at(t));
            // A second submission never reuses a counter (another step's code may collide by
            // chance, one in a million; that is a different counter, hence not a replay).
            let again = verify(&seed, step, &code, t, Some(counter));
            prop_assert!(
                !matches!(again, TotpCheck::Accepted { counter: c } if c <= counter),
                "{again:?}"
            );
        }
    }
}
