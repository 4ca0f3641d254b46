//! The receipts' background jobs (docs/operations.md, "Mail"):
//! - every few seconds on every node, receipts due one by one are sent through their channel
//!   (a conditional dispatch: each goes once, whichever node gets there first);
//! - hourly, under the database lease `receipts-weekly` (one node at a time), the 30-day
//!   reminders are written and the weekly digests whose week is over are sent.

use ac_storage::{leases, receipts};
use std::time::Duration;

use super::channel::{self, Email};
use crate::periodic::{self, Periodic};
use crate::{AppState, WebError};

const EVERY: Duration = Duration::from_secs(5);
const WEEKLY_EVERY: Duration = Duration::from_secs(3600);
const LEASE: &str = "receipts-weekly";
const LEASE_TTL: time::Duration = time::Duration::minutes(10);
const BATCH: i64 = 50;

/// Sends the receipts due now; returns how many messages were queued.
pub fn run_once(state: &AppState) -> Result<usize, WebError> {
    let now = state.clock.now();
    let due = receipts::due_now(&mut *state.db.conn()?, BATCH)?;
    let email = Email { state };
    let mut sent = 0;
    for receipt in due {
        match channel::send(state, &email, std::slice::from_ref(&receipt), false, now) {
            Ok(true) => sent += 1,
            Ok(false) => {}
            // One receipt that cannot be sent (an address sealed under a key since removed, a
            // template error) must not hold back the others: logged by id, tried next round.
            Err(e) => tracing::error!(receipt = %receipt.id, error = ?e, "receipt not sent"),
        }
    }
    Ok(sent)
}

/// What one weekly round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeeklyRound {
    /// `false` when another node holds the lease.
    pub ran: bool,
    pub reminders: usize,
    pub digests: usize,
}

/// The reminders and the digests due, as `holder` of the lease.
pub fn run_weekly(state: &AppState, holder: &str) -> Result<WeeklyRound, WebError> {
    let now = state.clock.now();
    if !leases::acquire(&mut *state.db.conn()?, LEASE, holder, LEASE_TTL, now)? {
        return Ok(WeeklyRound::default());
    }
    let within = time::Duration::days(i64::from(state.settings.receipts.reminder_days));
    let reminders = receipts::remind_due(&mut *state.db.conn()?, within, now)?;
    let email = Email { state };
    let mut digests = 0;
    for person in receipts::due_digests(&mut *state.db.conn()?, now, BATCH)? {
        match channel::send(state, &email, &person, true, now) {
            Ok(true) => digests += 1,
            Ok(false) => {}
            Err(e) => {
                let first = person.first().map(|p| p.id.as_str()).unwrap_or_default();
                tracing::error!(receipt = %first, error = ?e, "weekly digest not sent");
            }
        }
    }
    leases::release(&mut *state.db.conn()?, LEASE, holder)?;
    if reminders + digests > 0 {
        tracing::info!(reminders, digests, "receipts: reminders and digests queued");
    }
    Ok(WeeklyRound {
        ran: true,
        reminders,
        digests,
    })
}

/// Both jobs of this node.
pub fn spawn(state: AppState) -> std::io::Result<(Periodic, Periodic)> {
    let each = state.clone();
    let now = periodic::spawn("receipts", EVERY, move || {
        if let Err(e) = run_once(&each) {
            tracing::error!(error = ?e, "receipts round failed");
        }
    })?;
    let holder = crate::mail_worker::node_name();
    let weekly = periodic::spawn("receipts-weekly", WEEKLY_EVERY, move || {
        if let Err(e) = run_weekly(&state, &holder) {
            tracing::error!(error = ?e, "receipts weekly round failed");
        }
    })?;
    Ok((now, weekly))
}
