//! `[retention]`: how long the service keeps a person's identity, their mandate records and the
//! journal (`ac_storage::retention`, docs/operations.md "Retention").
//!
//! The periods themselves are declared by each legal text version, next to its words
//! (`ac_mandates::legal::Retention`): a person was promised those. This section may only shorten
//! them, never lengthen them; a value longer than what every version promises is refused at
//! start-up.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Whether each node runs the job daily (a database lease makes one node work at a time).
    pub daily: bool,
    /// Keep identity and mandate records this many days after a mandate's end, when shorter
    /// than the legal text's period; unset: the legal text's period.
    pub days_after_end: Option<u32>,
    /// Redact journal entries older than this many days, when shorter than the legal text's
    /// period; unset: the legal text's period.
    pub journal_days: Option<u32>,
    /// Rows per transaction: a batch is small so that a kill leaves the database consistent and
    /// the delegated sign-ins running beside the job wait little for it.
    pub batch: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            daily: true,
            days_after_end: None,
            journal_days: None,
            batch: 200,
        }
    }
}

/// The fewest days in `years` calendar years.
fn shortest_days(years: u8) -> u32 {
    u32::from(years) * 365 + u32::from(years) / 4
}

impl RetentionSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let promised = ac_mandates::legal::shortest_retention();
        let invalid = |what: String| Err(ConfigError::Invalid(what));
        if let Some(days) = self.days_after_end
            && !(1..=shortest_days(promised.years_after_end)).contains(&days)
        {
            return invalid(format!(
                "retention.days_after_end : de 1 à {} jours ; les textes légaux promettent {} an(s) après la fin du mandat, la configuration peut raccourcir cette durée, jamais l'allonger",
                shortest_days(promised.years_after_end),
                promised.years_after_end
            ));
        }
        if let Some(days) = self.journal_days
            && !(1..=shortest_days(promised.journal_years)).contains(&days)
        {
            return invalid(format!(
                "retention.journal_days : de 1 à {} jours ; les textes légaux promettent {} ans pour le journal, la configuration peut raccourcir cette durée, jamais l'allonger",
                shortest_days(promised.journal_years),
                promised.journal_years
            ));
        }
        if !(1..=10_000).contains(&self.batch) {
            return invalid("retention.batch : de 1 à 10000 lignes par transaction".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_may_shorten_the_promised_periods_never_lengthen_them() {
        let with = |days_after_end, journal_days| {
            RetentionSettings {
                days_after_end,
                journal_days,
                ..RetentionSettings::default()
            }
            .validate()
            .is_ok()
        };
        assert!(with(None, None));
        assert!(with(Some(30), Some(365)));
        assert!(with(Some(365), Some(1826)));
        assert!(!with(Some(366), None), "longer than one year");
        assert!(!with(None, Some(1827)), "longer than five years");
        assert!(!with(Some(0), None));
    }

    #[test]
    fn batches_are_bounded() {
        let batch = |batch| {
            RetentionSettings {
                batch,
                ..RetentionSettings::default()
            }
            .validate()
            .is_ok()
        };
        assert!(batch(200));
        assert!(!batch(0));
        assert!(!batch(10_001));
    }
}
