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

/// A unit the TOML writes durations in.
struct Unit {
    /// As the messages name it: "secondes", "millisecondes".
    name: &'static str,
    /// A whole number of units as a duration.
    from: fn(i64) -> Duration,
    /// The whole units in a duration.
    whole: fn(Duration) -> i128,
    /// Nanoseconds in one unit: a finer part is refused, never rounded.
    nanos: i32,
}

const SECONDS: Unit = Unit {
    name: "secondes",
    from: Duration::seconds,
    whole: |d| i128::from(d.whole_seconds()),
    nanos: 1_000_000_000,
};

const MILLIS: Unit = Unit {
    name: "millisecondes",
    from: Duration::milliseconds,
    whole: Duration::whole_milliseconds,
    nanos: 1_000_000,
};

fn write<S: Serializer>(unit: &Unit, value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    let whole = u64::try_from((unit.whole)(*value))
        .ok()
        .filter(|_| value.subsec_nanoseconds() % unit.nanos == 0)
        .ok_or_else(|| {
            S::Error::custom(format!("{value} : pas un nombre entier de {}", unit.name))
        })?;
    serializer.serialize_u64(whole)
}

fn read<'de, D: Deserializer<'de>>(unit: &Unit, deserializer: D) -> Result<Duration, D::Error> {
    let value = u64::deserialize(deserializer)?;
    i64::try_from(value).map(unit.from).map_err(|_| {
        let expected = format!("un nombre de {} d'au plus {}", unit.name, i64::MAX);
        D::Error::invalid_value(Unexpected::Unsigned(value), &expected.as_str())
    })
}

/// `#[serde(with = "seconds")]`: a whole number of seconds.
pub(crate) mod seconds {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        write(&SECONDS, value, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        read(&SECONDS, d)
    }
}

/// `#[serde(with = "millis")]`: a whole number of milliseconds.
pub(crate) mod millis {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        write(&MILLIS, value, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        read(&MILLIS, d)
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
