//! Retention on every node (`ac_storage::retention`, docs/operations.md "Retention"): once a day
//! each node tries the run; the database lease lets one of them do it while the others skip,
//! and a node that dies mid-run leaves consistent batches behind for the next run to resume.

use ac_config::RetentionSettings;
use ac_storage::retention::{self, Outcome, Policy};
use std::time::Duration;

use crate::periodic::{self, Periodic};
use crate::{AppState, WebError};

/// The first run is at start-up, then daily: retention counts in years, so a day late is
/// nothing, while a node restarted daily still runs it.
const EVERY: Duration = Duration::from_secs(24 * 3600);

/// The job's rules from `[retention]` (the legal texts' periods, shortened where configured).
pub fn policy(settings: &RetentionSettings) -> Policy {
    Policy {
        days_after_end: settings.days_after_end,
        journal_days: settings.journal_days,
        batch: settings.batch,
    }
}

/// One run as `holder`.
pub fn run_once(state: &AppState, holder: &str) -> Result<Outcome, WebError> {
    let policy = policy(&state.settings.retention);
    let outcome = retention::run(&state.db, &policy, holder, state.clock.now())?;
    if outcome.ran {
        tracing::info!(
            mandates = outcome.mandates,
            identities = outcome.identities,
            unused_identities = outcome.unused_identities,
            journal_entries = outcome.journal_entries,
            batches = outcome.batches,
            "retention run finished"
        );
    }
    Ok(outcome)
}

/// The daily run, unless `[retention] daily = false`.
pub fn spawn(state: AppState) -> std::io::Result<Option<Periodic>> {
    if !state.settings.retention.daily {
        return Ok(None);
    }
    let holder = crate::mail_worker::node_name();
    periodic::spawn("retention", EVERY, move || {
        if let Err(e) = run_once(&state, &holder) {
            tracing::error!(error = ?e, "retention run failed");
        }
    })
    .map(Some)
}
