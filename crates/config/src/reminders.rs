//! `[reminders]`: when the aidants of a structure are told that authorizations are ending
//! (`ac_storage::reminders`, docs/operations.md "Mail").

use serde::{Deserialize, Serialize};

use crate::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemindersSettings {
    /// Days before an authorization's end when its structure's aidants are told; each is
    /// reminded once. Empty: no reminders.
    pub thresholds_days: Vec<i32>,
}

impl Default for RemindersSettings {
    fn default() -> Self {
        Self {
            thresholds_days: vec![30, 7],
        }
    }
}

impl RemindersSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = self.thresholds_days.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != self.thresholds_days.len()
            || self.thresholds_days.len() > 4
            || self.thresholds_days.iter().any(|d| !(1..=365).contains(d))
        {
            return Err(ConfigError::Invalid(
                "reminders.thresholds_days : au plus 4 nombres de jours distincts, de 1 à 365"
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
    fn thresholds_are_distinct_days_within_a_year() {
        let with = |t: Vec<i32>| RemindersSettings { thresholds_days: t }.validate().is_ok();
        assert!(with(vec![30, 7]));
        assert!(with(vec![]));
        assert!(!with(vec![7, 7]));
        assert!(!with(vec![0]));
        assert!(!with(vec![366]));
        assert!(!with(vec![1, 2, 3, 4, 5]));
    }
}
