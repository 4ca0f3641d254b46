#![doc = include_str!("../README.md")]

use std::fmt;

mod opening;
pub use opening::OpeningHours;

use jiff::tz::TimeZone;
use time::{Month, OffsetDateTime, UtcOffset};

/// The IANA zone of metropolitan France and Corsica.
pub const METROPOLE: &str = "Europe/Paris";

/// The overseas départements (INSEE codes) and their IANA zones.
pub const OVERSEAS: [(&str, &str); 6] = [
    ("971", "America/Guadeloupe"),
    ("972", "America/Martinique"),
    ("973", "America/Cayenne"),
    ("974", "Indian/Reunion"),
    ("975", "America/Miquelon"),
    ("976", "Indian/Mayotte"),
];

#[derive(Debug, thiserror::Error)]
pub enum LocalTimeError {
    #[error("TZ001 fuseau horaire absent de la base tz : {0}")]
    UnknownZone(&'static str),
}

/// How an instant is written for a person or a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// « 3 mars 2027 »
    Date,
    /// « 3 mars 2027 à 14 h 05 »
    DateTime,
    /// « 03/03/2027 14:05 », for tables.
    Short,
    /// « 03/03/2027 14:05:09 », for the journal, where seconds tell entries apart.
    Seconds,
    /// `2027-03-03T14:05:00+01:00`, for exports (ISO 8601 / RFC 3339 with the local offset).
    Iso,
}

/// The zones of every département, loaded once.
#[derive(Clone)]
pub struct LocalTimes {
    metropole: TimeZone,
    overseas: Vec<(&'static str, TimeZone)>,
}

impl fmt::Debug for LocalTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalTimes").finish_non_exhaustive()
    }
}

fn zone(name: &'static str) -> Result<TimeZone, LocalTimeError> {
    TimeZone::get(name).map_err(|_| LocalTimeError::UnknownZone(name))
}

impl LocalTimes {
    /// Loads the zones from the bundled tz database.
    pub fn load() -> Result<Self, LocalTimeError> {
        let mut overseas = Vec::with_capacity(OVERSEAS.len());
        for (departement, name) in OVERSEAS {
            overseas.push((departement, zone(name)?));
        }
        Ok(Self {
            metropole: zone(METROPOLE)?,
            overseas,
        })
    }

    /// The zone of a département (an INSEE code such as "29", "2A" or "974"); metropolitan
    /// time for every code that is not overseas.
    fn zone_of(&self, departement: &str) -> &TimeZone {
        self.overseas
            .iter()
            .find(|(code, _)| *code == departement)
            .map_or(&self.metropole, |(_, zone)| zone)
    }

    /// The offset from UTC in force at `at` in the département.
    pub fn offset(&self, departement: &str, at: OffsetDateTime) -> UtcOffset {
        jiff::Timestamp::from_second(at.unix_timestamp())
            .ok()
            .map(|t| self.zone_of(departement).to_offset(t).seconds())
            .and_then(|seconds| UtcOffset::from_whole_seconds(seconds).ok())
            // Outside the tz database's range (see the README): UTC.
            .unwrap_or(UtcOffset::UTC)
    }

    /// `at` as a clock on the wall of a structure of the département shows it.
    pub fn local(&self, departement: &str, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(self.offset(departement, at))
    }

    /// `at` in the département's local time, written in `format`.
    pub fn format(&self, departement: &str, at: OffsetDateTime, format: Format) -> String {
        write(self.local(departement, at), format)
    }

    /// [`Self::format`] in metropolitan time: for what belongs to no structure (a coordinator's
    /// national view, the service's own events).
    pub fn format_metropole(&self, at: OffsetDateTime, format: Format) -> String {
        self.format(METROPOLE_DEPARTEMENT, at, format)
    }

    /// [`Self::format`] in the département's time when it is known, else metropolitan time.
    pub fn format_in(
        &self,
        departement: Option<&str>,
        at: OffsetDateTime,
        format: Format,
    ) -> String {
        self.format(departement.unwrap_or(METROPOLE_DEPARTEMENT), at, format)
    }
}

/// A département code in metropolitan time, for [`LocalTimes::format_metropole`].
const METROPOLE_DEPARTEMENT: &str = "75";

fn month_name(month: Month) -> &'static str {
    match month {
        Month::January => "janvier",
        Month::February => "février",
        Month::March => "mars",
        Month::April => "avril",
        Month::May => "mai",
        Month::June => "juin",
        Month::July => "juillet",
        Month::August => "août",
        Month::September => "septembre",
        Month::October => "octobre",
        Month::November => "novembre",
        Month::December => "décembre",
    }
}

/// A calendar day written out as people write it: « 1er mars 2027 », « 22 novembre 2027 ». For
/// days that are not instants (a birth date), so no zone applies.
pub fn written_day(day: time::Date) -> String {
    let number = match day.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!("{number} {} {}", month_name(day.month()), day.year())
}

/// Writes a local instant (already at its offset).
fn write(local: OffsetDateTime, format: Format) -> String {
    let date = written_day(local.date());
    match format {
        Format::Date => date,
        Format::DateTime => format!("{date} à {} h {:02}", local.hour(), local.minute()),
        Format::Short => format!(
            "{:02}/{:02}/{} {:02}:{:02}",
            local.day(),
            u8::from(local.month()),
            local.year(),
            local.hour(),
            local.minute()
        ),
        Format::Seconds => format!(
            "{:02}/{:02}/{} {:02}:{:02}:{:02}",
            local.day(),
            u8::from(local.month()),
            local.year(),
            local.hour(),
            local.minute(),
            local.second()
        ),
        Format::Iso => {
            let offset = local.offset();
            let sign = if offset.is_negative() { '-' } else { '+' };
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
                local.year(),
                u8::from(local.month()),
                local.day(),
                local.hour(),
                local.minute(),
                local.second(),
                offset.whole_hours().unsigned_abs(),
                offset.minutes_past_hour().unsigned_abs()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn times() -> LocalTimes {
        LocalTimes::load().unwrap()
    }

    #[test]
    fn metropolitan_time_changes_on_the_last_sundays_of_march_and_october_at_one_utc() {
        let t = times();
        // 2027: the last Sunday of March is the 28th, of October the 31st.
        let cases = [
            (
                datetime!(2027-03-28 00:59:59 UTC),
                "2027-03-28T01:59:59+01:00",
            ),
            (
                datetime!(2027-03-28 01:00:00 UTC),
                "2027-03-28T03:00:00+02:00",
            ),
            (
                datetime!(2027-10-31 00:59:59 UTC),
                "2027-10-31T02:59:59+02:00",
            ),
            (
                datetime!(2027-10-31 01:00:00 UTC),
                "2027-10-31T02:00:00+01:00",
            ),
        ];
        for departement in ["29", "75", "2A", "2B", "95"] {
            for (at, expected) in cases {
                assert_eq!(
                    t.format(departement, at, Format::Iso),
                    expected,
                    "{departement}"
                );
            }
        }
    }

    #[test]
    fn overseas_departements_keep_their_own_zones() {
        let t = times();
        let winter = datetime!(2027-01-15 12:00 UTC);
        let summer = datetime!(2027-07-15 12:00 UTC);
        let cases = [
            ("971", "T08:00:00-04:00", "T08:00:00-04:00"),
            ("972", "T08:00:00-04:00", "T08:00:00-04:00"),
            ("973", "T09:00:00-03:00", "T09:00:00-03:00"),
            ("974", "T16:00:00+04:00", "T16:00:00+04:00"),
            // Saint-Pierre-et-Miquelon follows North American summer time.
            ("975", "T09:00:00-03:00", "T10:00:00-02:00"),
            ("976", "T15:00:00+03:00", "T15:00:00+03:00"),
        ];
        for (departement, in_winter, in_summer) in cases {
            let iso = |at| t.format(departement, at, Format::Iso);
            assert!(
                iso(winter).ends_with(in_winter),
                "{departement}: {}",
                iso(winter)
            );
            assert!(
                iso(summer).ends_with(in_summer),
                "{departement}: {}",
                iso(summer)
            );
        }
    }

    #[test]
    fn french_formats_read_as_people_write_dates() {
        let t = times();
        let at = datetime!(2027-03-03 13:05 UTC);
        assert_eq!(t.format("35", at, Format::Date), "3 mars 2027");
        assert_eq!(
            t.format("35", at, Format::DateTime),
            "3 mars 2027 à 14 h 05"
        );
        assert_eq!(t.format("35", at, Format::Short), "03/03/2027 14:05");
        assert_eq!(t.format("35", at, Format::Seconds), "03/03/2027 14:05:00");
        let first = datetime!(2026-08-01 07:30 UTC);
        assert_eq!(
            t.format("13", first, Format::DateTime),
            "1er août 2026 à 9 h 30"
        );
        assert_eq!(t.format_metropole(first, Format::Date), "1er août 2026");
        // A UTC evening is already the next day in Paris.
        let late = datetime!(2026-12-31 23:30 UTC);
        assert_eq!(t.format("29", late, Format::Date), "1er janvier 2027");
        assert_eq!(t.format("974", late, Format::Short), "01/01/2027 03:30");
    }

    #[test]
    fn instants_beyond_the_tz_database_are_written_in_utc_without_failing() {
        let t = times();
        let far = OffsetDateTime::new_utc(
            time::Date::from_calendar_date(-9999, Month::January, 1).unwrap(),
            time::Time::MIDNIGHT,
        );
        assert_eq!(t.offset("29", far), UtcOffset::UTC);
        assert_eq!(t.format("29", far, Format::Date), "1er janvier -9999");
    }

    proptest! {
        /// The local time is the same instant: only the offset changes, and it is one of the
        /// zone's (+1 h or +2 h in metropolitan France).
        #[test]
        fn local_time_is_the_same_instant(seconds in 0i64..4_102_444_800) {
            let t = times();
            let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap();
            let local = t.local("29", at);
            prop_assert_eq!(local, at);
            prop_assert!([3600, 7200].contains(&local.offset().whole_seconds()));
        }
    }
}
