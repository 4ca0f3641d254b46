//! When structures are open, in their own local time: the rule behind the coordinators'
//! « hors des heures d'ouverture » flag. The hour is read in the structure's département's zone
//! (tz database, so summer time and the overseas zones come with it).

use std::collections::{BTreeMap, BTreeSet};
use time::{OffsetDateTime, Time};

use crate::LocalTimes;

/// Opening days and hours, with exceptions by structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    /// ISO weekdays, 1 = Monday … 7 = Sunday.
    pub days: BTreeSet<u8>,
    pub opens: Time,
    pub closes: Time,
    /// Hours of particular structures, by id, instead of `opens`–`closes`.
    pub structure_hours: BTreeMap<String, (Time, Time)>,
}

impl OpeningHours {
    /// Whether structure `structure` of département `departement` is open at `at`.
    pub fn is_open(
        &self,
        times: &LocalTimes,
        departement: &str,
        structure: &str,
        at: OffsetDateTime,
    ) -> bool {
        let local = times.local(departement, at);
        let (opens, closes) = self
            .structure_hours
            .get(structure)
            .copied()
            .unwrap_or((self.opens, self.closes));
        self.days.contains(&local.weekday().number_from_monday())
            && local.time() >= opens
            && local.time() < closes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, time};

    fn hours() -> OpeningHours {
        OpeningHours {
            days: (1..=6).collect(),
            opens: time!(08:00),
            closes: time!(19:00),
            structure_hours: BTreeMap::from([("late".to_owned(), (time!(10:00), time!(22:00)))]),
        }
    }

    #[test]
    fn the_hour_is_the_structures_across_summer_time_and_overseas() {
        let times = LocalTimes::load().unwrap();
        let h = hours();
        // 06:30 UTC is 07:30 in Paris in winter (closed), 08:30 in summer (open).
        assert!(!h.is_open(&times, "29", "s", datetime!(2026-01-15 06:30 UTC)));
        assert!(h.is_open(&times, "29", "s", datetime!(2026-07-15 06:30 UTC)));
        // The switch, on the last Sunday of March at 01:00 UTC — a Sunday, closed anyway; the
        // Monday after, 06:30 UTC is 08:30.
        assert!(h.is_open(&times, "29", "s", datetime!(2026-03-30 06:30 UTC)));
        // Guadeloupe: UTC−4 all year; 12:00 UTC is 08:00 there.
        assert!(h.is_open(&times, "971", "s", datetime!(2026-07-01 12:00 UTC)));
        assert!(!h.is_open(&times, "971", "s", datetime!(2026-07-01 11:59 UTC)));
        // A structure of its own hours; Sunday closed.
        assert!(!h.is_open(&times, "29", "late", datetime!(2026-07-15 07:30 UTC)));
        assert!(h.is_open(&times, "29", "late", datetime!(2026-07-15 19:30 UTC)));
        assert!(!h.is_open(&times, "29", "s", datetime!(2026-07-19 10:00 UTC)));
    }
}
