//! Sends the mail outbox (`ac_storage::outbox`) on every node: every few seconds a node claims
//! the messages that are due, sends each through the configured transport and records the
//! outcome; a failure is retried later with a doubling delay. Claims are leases, so nodes never
//! send the same row at once and a node that dies mid-send leaves its messages to the others
//! (docs/operations.md, "Mail").

use ac_storage::StorageError;
use ac_storage::outbox::{self, QueuedMail};
use std::time::Duration;

use crate::AppState;
use crate::periodic::{self, Periodic};

const EVERY: Duration = Duration::from_secs(5);
/// Longer than a send may take (`mail.smtp.timeout_secs` is at most a minute).
const LEASE: time::Duration = time::Duration::minutes(2);
const BATCH: i64 = 20;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub failed: usize,
}

/// The outbox rows of rendered messages (`(recipient, message)`), each of `kind`: what an event
/// queues in its own transaction (`ac_storage::outbox`).
pub(crate) fn outbox_rows<'a>(
    kind: &'a str,
    rendered: &'a [(String, ac_mail::Rendered)],
) -> Vec<ac_storage::outbox::NewMail<'a>> {
    rendered
        .iter()
        .map(|(to, m)| ac_storage::outbox::NewMail {
            kind,
            dedupe_key: None,
            recipient: to,
            subject: &m.subject,
            text: &m.text,
            html: &m.html,
        })
        .collect()
}

/// This node's name in the claims: random, so two processes on one host never share it.
pub fn node_name() -> String {
    let random = ac_auth::Token::generate(&ring::rand::SystemRandom::new())
        .map(|t| t.expose().chars().take(16).collect::<String>())
        .unwrap_or_default();
    format!("node-{random}")
}

/// One round: claim, send, record. Storage errors end the round (the claims then lapse with
/// their lease); a message that cannot be sent is released for a later attempt.
pub fn run_once(
    state: &AppState,
    runtime: &tokio::runtime::Runtime,
    node: &str,
) -> Result<Round, StorageError> {
    let mut round = Round::default();
    let claimed = outbox::claim(
        &mut *state.db.conn()?,
        node,
        state.clock.now(),
        LEASE,
        BATCH,
    )?;
    for mail in claimed {
        let QueuedMail {
            id,
            kind,
            recipient,
            subject,
            text,
            html,
            attempts,
        } = mail;
        let rendered = ac_mail::Rendered {
            subject,
            text,
            html,
        };
        let outcome = runtime.block_on(state.mailer.deliver(&id, &recipient, rendered));
        let now = state.clock.now();
        let conn = &mut *state.db.conn()?;
        match outcome {
            Ok(()) => {
                outbox::sent(conn, &id, node, now)?;
                round.sent += 1;
            }
            Err(error) => {
                // The address is personal data: the log names the row, not the recipient.
                tracing::warn!(%id, %kind, attempts, code = error.code(), %error, "mail not sent, retried later");
                let retry_at = now.saturating_add(outbox::retry_delay(attempts));
                outbox::failed(conn, &id, node, &error.to_string(), retry_at)?;
                round.failed += 1;
            }
        }
    }
    Ok(round)
}

pub fn spawn(state: AppState) -> std::io::Result<Periodic> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let node = node_name();
    periodic::spawn("mail-outbox", EVERY, move || {
        if let Err(e) = run_once(&state, &runtime, &node) {
            tracing::error!(error = ?e, code = e.code(), "mail outbox round failed");
        }
    })
}
