//! Durations the pages derive from the settings. The settings' own durations are already
//! `time::Duration`s (`ac_config`'s `durations` module reads the TOML's seconds and milliseconds).

use time::Duration;

/// The "Expire bientôt" window (`mandates.expiring_soon_days`): the usagers' list and the aidé's
/// own space flag an authorization ending within it.
pub(crate) fn expiring_window(state: &crate::AppState) -> Duration {
    Duration::days(i64::from(state.settings.mandates.expiring_soon_days))
}
