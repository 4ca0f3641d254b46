//! Each node purges what has outlived its use (`ac_storage::purge`) at start and then hourly.
//! Several nodes may run it: a row is deleted once, whichever node gets there first.

use ac_storage::StorageError;
use ac_storage::purge::{self, Purged};
use std::time::Duration;

use crate::AppState;
use crate::periodic::{self, Periodic};

const EVERY: Duration = Duration::from_secs(3600);

/// One round.
pub fn run_once(state: &AppState) -> Result<Purged, StorageError> {
    // Rate-limit counters outlive the longest window of any limit that writes them.
    let longest_window = state
        .settings
        .auth
        .rate_limit_window
        .max(state.settings.mandates.verification_window)
        .max(state.settings.remote_consent.window);
    let conn = &mut *state.db.conn()?;
    let now = state.clock.now();
    let purged = purge::expired(conn, longest_window, now)?;
    // Consents at a distance that ran out: « expiré », with their entry, and the identity fetched
    // for them forgotten even when no aidant opens their list; old rows then go.
    let expired = ac_storage::remote_consents::expire_due(
        conn,
        &ac_storage::journal::AuditContext::system(),
        now,
    )?;
    let old = ac_storage::remote_consents::purge_old(conn, now)?;
    if expired + old > 0 {
        tracing::info!(expired, old, "remote consents expired or purged");
    }
    if purged.total() > 0 {
        tracing::info!(?purged, "expired rows purged");
    }
    Ok(purged)
}

pub fn spawn(state: AppState) -> std::io::Result<Periodic> {
    periodic::spawn("housekeeping", EVERY, move || {
        // Logged and retried at the next round: an expired row does no harm meanwhile.
        if let Err(e) = run_once(&state) {
            tracing::error!(error = ?e, code = e.code(), "housekeeping round failed");
        }
    })
}
