//! `[receipts]`: the aidé's receipts (docs/security/aide-space.md "Receipts", docs/operations.md
//! "Mail"): how long a « Ce n'était pas moi » link works, and the per-IP limits of the public
//! receipt page and of those links.

use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use time::Duration;

use crate::ConfigError;
use crate::durations::seconds;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiptsSettings {
    /// Days a « Ce n'était pas moi » link works after its message is queued.
    pub report_link_days: u32,
    /// Days before a mandate's end when the person is reminded (once).
    pub reminder_days: u32,
    /// Lookups of `/recu/{code}` and uses of report links per client IP per window.
    pub lookups_per_ip: u32,
    #[serde(rename = "window_secs", with = "seconds")]
    pub window: Duration,
}

impl Default for ReceiptsSettings {
    fn default() -> Self {
        Self {
            report_link_days: 30,
            reminder_days: 30,
            lookups_per_ip: 20,
            window: Duration::minutes(10),
        }
    }
}

const WINDOW: RangeInclusive<Duration> = Duration::SECOND..=Duration::DAY;

impl ReceiptsSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=90).contains(&self.report_link_days)
            || !(1..=90).contains(&self.reminder_days)
            || !(1..=10_000).contains(&self.lookups_per_ip)
            || !WINDOW.contains(&self.window)
        {
            return Err(ConfigError::Invalid(
                "receipts : report_link_days et reminder_days de 1 à 90, lookups_per_ip de 1 à \
                 10000, window_secs de 1 à 86400"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        assert!(ReceiptsSettings::default().validate().is_ok());
        let zero = ReceiptsSettings {
            report_link_days: 0,
            ..ReceiptsSettings::default()
        };
        assert!(zero.validate().is_err());
        let year = ReceiptsSettings {
            reminder_days: 365,
            ..ReceiptsSettings::default()
        };
        assert!(year.validate().is_err());
    }
}
