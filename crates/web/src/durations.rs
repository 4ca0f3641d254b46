//! The settings' durations, written in whole seconds, as `time` durations.

use time::Duration;

/// A configured number of seconds as a `time` duration (saturating: the configuration bounds
/// it, see `ac_config`'s validation).
pub(crate) fn secs(value: u64) -> Duration {
    Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX))
}

/// The "Expire bientôt" window (`mandates.expiring_soon_days`): the usagers' list and the aidé's
/// own space flag an authorization ending within it.
pub(crate) fn expiring_window(state: &crate::AppState) -> Duration {
    Duration::days(i64::from(state.settings.mandates.expiring_soon_days))
}
