//! When a record's retention period is over: pure date arithmetic, tested on its own.
//!
//! A mandate ends at its expiry, or earlier when every démarche it gave was revoked (the last
//! revocation). Its records go once the period its legal text version promises (`years after
//! end`, in calendar years) has passed since that end, or the configured number of days when
//! that is shorter (`[retention]`, which may only shorten). The journal's entries lose their
//! payload after the journal period.

use ac_mandates::legal::{self, Retention};
use time::{Duration, Month, OffsetDateTime};

use crate::error::StorageError;

/// What the configuration asks on top of the legal texts' periods (each may only shorten them;
/// `ac_config` refuses a longer value at start-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub days_after_end: Option<u32>,
    pub journal_days: Option<u32>,
    /// Rows per transaction.
    pub batch: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            days_after_end: None,
            journal_days: None,
            batch: 200,
        }
    }
}

/// `at`, `years` calendar years earlier. A 29 February becomes the 28th: the earlier day, so a
/// record is never deleted before its full period.
pub(crate) fn years_before(at: OffsetDateTime, years: u8) -> OffsetDateTime {
    let date = at.date();
    let year = date.year().saturating_sub(i32::from(years));
    let day = if date.month() == Month::February && date.day() == 29 {
        28
    } else {
        date.day()
    };
    time::Date::from_calendar_date(year, date.month(), day)
        .map(|d| at.replace_date(d))
        // Only below year -9999, which no clock reaches: nothing is old enough then.
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The later of two cutoffs: the shorter keep wins.
fn shortened(promised: OffsetDateTime, days: Option<u32>, now: OffsetDateTime) -> OffsetDateTime {
    match days {
        Some(days) => promised.max(now.saturating_sub(Duration::days(i64::from(days)))),
        None => promised,
    }
}

impl Policy {
    /// Records of a mandate given under `version` go if it ended at or before this instant.
    pub fn mandate_cutoff(
        &self,
        version: &str,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, StorageError> {
        let Retention {
            years_after_end, ..
        } = legal::retention(version)
            .map_err(|e| StorageError::Corrupt(format!("mandates.legal_text_version: {e}")))?;
        Ok(shortened(
            years_before(now, years_after_end),
            self.days_after_end,
            now,
        ))
    }

    /// The latest of every version's mandate cutoff: no record ending after it can be due, so the
    /// search for candidates starts there.
    pub(crate) fn loosest_mandate_cutoff(&self, now: OffsetDateTime) -> OffsetDateTime {
        shortened(
            years_before(now, legal::shortest_retention().years_after_end),
            self.days_after_end,
            now,
        )
    }

    /// Journal entries that existed at or before this instant lose their payload. Entries do
    /// not say under which legal text they were written, so the longest journal period any
    /// version promises applies.
    pub fn journal_cutoff(&self, now: OffsetDateTime) -> OffsetDateTime {
        let years = legal::legal_text_versions()
            .filter_map(|v| legal::retention(v).ok())
            .map(|r| r.journal_years)
            .max()
            .unwrap_or(u8::MAX);
        shortened(years_before(now, years), self.journal_days, now)
    }
}

/// A mandate as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateLife {
    pub legal_text_version: String,
    pub expires_at: OffsetDateTime,
    /// Démarches still open (not revoked).
    pub open_authorizations: usize,
    pub last_revocation: Option<OffsetDateTime>,
}

impl MandateLife {
    /// When it stopped being usable: its expiry, or its last revocation when every démarche
    /// was revoked before it.
    pub fn end(&self) -> OffsetDateTime {
        match self.last_revocation {
            Some(revoked) if self.open_authorizations == 0 => revoked.min(self.expires_at),
            _ => self.expires_at,
        }
    }
}

/// Whether every one of a person's mandates in one structure is past its retention period at
/// `now`: they go together, or not at all (the oldest are the history of the newest).
pub(crate) fn all_due(
    policy: &Policy,
    mandates: &[MandateLife],
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    for mandate in mandates {
        if mandate.end() > policy.mandate_cutoff(&mandate.legal_text_version, now)? {
            return Ok(false);
        }
    }
    Ok(!mandates.is_empty())
}

/// "2026-03": the month a report counts a record under.
pub(crate) fn month(at: OffsetDateTime) -> String {
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn life(expires: OffsetDateTime, open: usize, revoked: Option<OffsetDateTime>) -> MandateLife {
        MandateLife {
            legal_text_version: "2026-01".into(),
            expires_at: expires,
            open_authorizations: open,
            last_revocation: revoked,
        }
    }

    #[test]
    fn a_year_before_a_29_february_is_the_28th() {
        assert_eq!(
            years_before(datetime!(2028-02-29 10:00 UTC), 1),
            datetime!(2027-02-28 10:00 UTC)
        );
        assert_eq!(
            years_before(datetime!(2027-03-01 00:00 UTC), 5),
            datetime!(2022-03-01 00:00 UTC)
        );
    }

    #[test]
    fn a_mandate_goes_one_year_after_its_end_and_not_a_second_before() {
        let policy = Policy::default();
        let expired = life(datetime!(2026-06-01 12:00 UTC), 1, None);
        let due = |now| all_due(&policy, std::slice::from_ref(&expired), now).unwrap();
        assert!(!due(datetime!(2027-06-01 11:59:59 UTC)));
        assert!(due(datetime!(2027-06-01 12:00 UTC)));
    }

    #[test]
    fn a_revoked_mandate_ends_at_its_last_revocation() {
        let revoked = life(
            datetime!(2027-01-01 00:00 UTC),
            0,
            Some(datetime!(2026-02-01 00:00 UTC)),
        );
        assert_eq!(revoked.end(), datetime!(2026-02-01 00:00 UTC));
        let partly = life(
            datetime!(2027-01-01 00:00 UTC),
            1,
            Some(datetime!(2026-02-01 00:00 UTC)),
        );
        assert_eq!(partly.end(), datetime!(2027-01-01 00:00 UTC));
    }

    #[test]
    fn a_person_keeps_every_mandate_of_a_structure_while_one_is_not_due() {
        let policy = Policy::default();
        let now = datetime!(2028-01-01 00:00 UTC);
        let old = life(datetime!(2026-01-01 00:00 UTC), 1, None);
        let recent = life(datetime!(2027-06-01 00:00 UTC), 1, None);
        assert!(all_due(&policy, std::slice::from_ref(&old), now).unwrap());
        assert!(!all_due(&policy, &[old, recent], now).unwrap());
        assert!(!all_due(&policy, &[], now).unwrap());
    }

    #[test]
    fn configuration_shortens_and_unknown_versions_are_refused() {
        let now = datetime!(2028-01-01 00:00 UTC);
        let short = Policy {
            days_after_end: Some(30),
            journal_days: Some(100),
            ..Policy::default()
        };
        assert_eq!(
            short.mandate_cutoff("2026-01", now).unwrap(),
            datetime!(2027-12-02 00:00 UTC)
        );
        assert_eq!(short.journal_cutoff(now), now - Duration::days(100));
        assert_eq!(
            Policy::default().journal_cutoff(now),
            datetime!(2023-01-01 00:00 UTC)
        );
        assert!(Policy::default().mandate_cutoff("1999-01", now).is_err());
    }
}
