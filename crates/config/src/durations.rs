//! The settings' durations. The TOML keys keep their unit (`link_ttl_secs = 300`,
//! `integrate_interval_ms = 500`: docs/operations.md names them, and existing files keep
//! loading); the structs hold a `time::Duration` under a name without the unit.
//!
//! `time::Duration` rather than `std::time::Duration`: most settings are added to an
//! `OffsetDateTime` (expiries, rate-limit windows, key caches), which takes a `time::Duration`
//! (`checked_add`, `saturating_add`). The few I/O timeouts that want a `std::time::Duration` take
//! `.unsigned_abs()`, exact here: a setting is read from an unsigned integer, never negative.
//!
//! A number that does not fit (beyond `i64::MAX` units, reachable through an `AC__…` variable)
//! is refused with a message, never wrapped; serialising writes the integer back, and refuses a
//! negative duration or one with a finer part than the unit rather than rounding it.

use serde::de::{Error as _, Unexpected};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use time::Duration;

/// `#[serde(with = "seconds")]`: a whole number of seconds.
pub(crate) mod seconds {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let whole = u64::try_from(value.whole_seconds())
            .ok()
            .filter(|_| value.subsec_nanoseconds() == 0)
            .ok_or_else(|| {
                S::Error::custom(format!("{value} : pas un nombre entier de secondes"))
            })?;
        serializer.serialize_u64(whole)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let value = u64::deserialize(deserializer)?;
        i64::try_from(value).map(Duration::seconds).map_err(|_| {
            D::Error::invalid_value(
                Unexpected::Unsigned(value),
                &"un nombre de secondes d'au plus 9223372036854775807",
            )
        })
    }
}

/// `#[serde(with = "millis")]`: a whole number of milliseconds.
pub(crate) mod millis {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let whole = u64::try_from(value.whole_milliseconds())
            .ok()
            .filter(|_| value.subsec_nanoseconds() % 1_000_000 == 0)
            .ok_or_else(|| {
                S::Error::custom(format!("{value} : pas un nombre entier de millisecondes"))
            })?;
        serializer.serialize_u64(whole)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let value = u64::deserialize(deserializer)?;
        i64::try_from(value)
            .map(Duration::milliseconds)
            .map_err(|_| {
                D::Error::invalid_value(
                    Unexpected::Unsigned(value),
                    &"un nombre de millisecondes d'au plus 9223372036854775807",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Figment;
    use figment::providers::Serialized;
    use serde::Serialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Settings {
        #[serde(with = "seconds")]
        secs: Duration,
        #[serde(with = "millis")]
        ms: Duration,
    }

    /// The same keys as the operators write them.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Written {
        secs: u64,
        ms: u64,
    }

    fn read<T: Serialize>(value: T) -> Result<Settings, String> {
        Figment::from(Serialized::defaults(value))
            .extract()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integers_become_durations_and_back() {
        let settings = read(Written {
            secs: 300,
            ms: 1500,
        })
        .unwrap();
        assert_eq!(settings.secs, Duration::minutes(5));
        assert_eq!(settings.ms, Duration::milliseconds(1500));
        let written: Written = Figment::from(Serialized::defaults(&settings))
            .extract()
            .unwrap();
        assert_eq!(
            written,
            Written {
                secs: 300,
                ms: 1500
            }
        );
    }

    #[test]
    fn a_number_that_does_not_fit_is_refused_not_wrapped() {
        let largest = i64::MAX.unsigned_abs();
        let settings = read(Written {
            secs: largest,
            ms: largest,
        })
        .unwrap();
        assert_eq!(settings.secs, Duration::seconds(i64::MAX));
        assert_eq!(settings.ms, Duration::milliseconds(i64::MAX));
        for (secs, ms) in [(largest + 1, 1), (1, largest + 1), (u64::MAX, 1)] {
            let err = read(Written { secs, ms }).unwrap_err();
            assert!(err.contains("d'au plus 9223372036854775807"), "{err}");
        }
    }

    #[test]
    fn writing_back_refuses_what_the_integer_cannot_say() {
        for settings in [
            Settings {
                secs: Duration::milliseconds(1500),
                ms: Duration::SECOND,
            },
            Settings {
                secs: Duration::SECOND,
                ms: Duration::microseconds(1500),
            },
            Settings {
                secs: Duration::seconds(-1),
                ms: Duration::SECOND,
            },
            Settings {
                secs: Duration::SECOND,
                ms: Duration::milliseconds(-1),
            },
        ] {
            let written: Result<Written, _> =
                Figment::from(Serialized::defaults(&settings)).extract();
            assert!(written.is_err(), "{settings:?}");
        }
    }
}
