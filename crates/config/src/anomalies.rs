//! `[anomalies]`: the rules that flag unusual delegated uses in the coordinators' console.
//! Every threshold is here so a pilot can tune them without a release.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalySettings {
    /// How far back the rules look, in days.
    pub lookback_days: u32,
    /// Opening days of the structures, ISO numbers: 1 = Monday … 7 = Sunday.
    pub opening_days: Vec<u8>,
    /// Opening and closing times, `HH:MM`, in each structure's local time (its département's
    /// zone in the tz database: `ac_localtime`).
    pub opening_time: String,
    pub closing_time: String,
    /// Opening hours of particular structures, by id: `"HH:MM-HH:MM"`.
    pub structure_hours: BTreeMap<String, String>,
    /// Flag an aidant whose uses exceed this percentage of their structure's median…
    pub aidant_median_percent: u32,
    /// …and reach at least this many uses over the period.
    pub aidant_min_uses: u32,
    /// Flag a usager whose mandates were used by at least this many structures…
    pub same_usager_structures: u32,
    /// …within this many hours.
    pub same_usager_window_hours: u32,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        Self {
            lookback_days: 30,
            opening_days: vec![1, 2, 3, 4, 5, 6],
            opening_time: "08:00".into(),
            closing_time: "19:00".into(),
            structure_hours: BTreeMap::new(),
            aidant_median_percent: 300,
            aidant_min_uses: 20,
            same_usager_structures: 2,
            same_usager_window_hours: 24,
        }
    }
}

/// `HH:MM` (24-hour clock) as (hour, minute).
pub fn parse_hhmm(text: &str) -> Option<(u8, u8)> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some((h, m))
}

/// `HH:MM-HH:MM`, opening before closing.
pub fn parse_range(text: &str) -> Option<((u8, u8), (u8, u8))> {
    let (open, close) = text.split_once('-')?;
    let (open, close) = (parse_hhmm(open.trim())?, parse_hhmm(close.trim())?);
    (open < close).then_some((open, close))
}

impl AnomalySettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if !(1..=366).contains(&self.lookback_days) {
            return invalid("anomalies.lookback_days doit être entre 1 et 366");
        }
        if self.opening_days.is_empty() || self.opening_days.iter().any(|d| !(1..=7).contains(d)) {
            return invalid("anomalies.opening_days : des jours de 1 (lundi) à 7 (dimanche)");
        }
        let range = format!("{}-{}", self.opening_time, self.closing_time);
        if parse_range(&range).is_none() {
            return invalid(
                "anomalies.opening_time et closing_time : HH:MM, l'ouverture avant la fermeture",
            );
        }
        if self
            .structure_hours
            .values()
            .any(|r| parse_range(r).is_none())
        {
            return invalid("anomalies.structure_hours : des plages \"HH:MM-HH:MM\"");
        }
        if !(100..=10_000).contains(&self.aidant_median_percent) || self.aidant_min_uses == 0 {
            return invalid(
                "anomalies.aidant_median_percent (100–10000) ou aidant_min_uses (au moins 1) hors limites",
            );
        }
        if !(2..=50).contains(&self.same_usager_structures)
            || !(1..=168).contains(&self.same_usager_window_hours)
        {
            return invalid(
                "anomalies.same_usager_structures (2–50) ou same_usager_window_hours (1–168) hors limites",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ranges() {
        assert_eq!(parse_hhmm("08:30"), Some((8, 30)));
        for bad in ["8:30", "24:00", "12:60", "", "ab:cd", "12-30"] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
        assert_eq!(parse_range("09:00-17:30"), Some(((9, 0), (17, 30))));
        assert_eq!(parse_range("17:30-09:00"), None);
        assert!(AnomalySettings::default().validate().is_ok());
        let bad = AnomalySettings {
            opening_days: vec![0],
            ..AnomalySettings::default()
        };
        assert!(bad.validate().is_err());
    }
}
