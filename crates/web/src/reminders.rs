//! Expiry reminders (`ac_storage::reminders`): every node looks hourly for authorizations that
//! crossed a threshold of `reminders.thresholds_days`, and queues one message per aidant of the
//! structure who may act for others, in the transaction that records the reminders. A reminder
//! is given once per authorization and threshold, whichever node gets there first; the outbox
//! worker sends it (docs/operations.md, "Mail"). The message names démarches and dates, never a
//! person: the list of usagers, behind sign-in, does.

use ac_localtime::{Format, LocalTimes};
use ac_mail::{MailError, ReminderLine};
use ac_mandates::Demarche;
use ac_storage::reminders::{self, Due};
use std::time::Duration;

use crate::periodic::{self, Periodic};
use crate::{AppState, WebError};

const EVERY: Duration = Duration::from_secs(3600);

/// The rendered message of each recipient of a structure's reminders.
fn render(
    state: &AppState,
    times: &LocalTimes,
    due: &Due,
) -> Result<Vec<(String, ac_mail::Rendered)>, MailError> {
    let lines: Vec<ReminderLine> = due
        .items
        .iter()
        .map(|item| ReminderLine {
            demarche: item
                .demarche
                .parse::<Demarche>()
                .map_or_else(|_| item.demarche.clone(), |d| d.title().to_owned()),
            ends_on: times.format(&due.departement, item.expires_at, Format::Date),
            days: item.threshold_days,
        })
        .collect();
    let list_url = format!("{}/usagers", state.settings.server.public_url);
    due.recipients
        .iter()
        .map(|r| {
            let rendered = state.mailer.expiry_reminder(
                &r.first_name,
                &due.organisation_name,
                &lines,
                &list_url,
            )?;
            Ok((r.email.clone(), rendered))
        })
        .collect()
}

/// One round; returns how many messages were queued.
pub fn run_once(state: &AppState, times: &LocalTimes) -> Result<usize, WebError> {
    let thresholds = &state.settings.reminders.thresholds_days;
    let now = state.clock.now();
    let conn = &mut *state.db.conn()?;
    let mut queued = 0;
    for due in reminders::due(conn, thresholds, now)? {
        let rendered = render(state, times, &due).map_err(WebError::internal)?;
        let messages = crate::mail_worker::outbox_rows("expiry_reminder", &rendered);
        if reminders::record(conn, &due, &messages, now)? {
            queued += messages.len();
        }
    }
    if queued > 0 {
        tracing::info!(queued, "expiry reminders queued");
    }
    Ok(queued)
}

pub fn spawn(state: AppState) -> std::io::Result<Periodic> {
    let times = LocalTimes::load().map_err(std::io::Error::other)?;
    periodic::spawn("reminders", EVERY, move || {
        if let Err(e) = run_once(&state, &times) {
            tracing::error!(error = ?e, "expiry reminders round failed");
        }
    })
}
