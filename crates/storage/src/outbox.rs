//! Mail that must not be lost (docs/operations.md, "Mail").
//!
//! A message is written here with [`enqueue`] in the same transaction as the event it reports:
//! no event, no message; no message, no event. A worker on any node then [`claim`]s due
//! messages, sends them and marks each [`sent`] or [`failed`] (retried later with a growing
//! delay, [`retry_delay`]). A claim is a conditional `UPDATE` that only one node can win, and it
//! lasts a lease: a node that dies while sending loses its claim when the lease ends, and the
//! message is sent again by another. That crash window (the SMTP server accepted the message,
//! the node died before `sent`) is the only way a message goes twice; the Message-ID is the
//! row's id, so a receiving system can tell.

use ac_mandates::FieldError;
use diesel::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::backend::write_or_join;
use crate::error::StorageError;
use crate::schema::mail_outbox;
use crate::{DbConnection, from_db, new_id, to_db, write};

/// Limits of the columns (the migration checks them too).
const MAX_SUBJECT: usize = 256;
const MAX_TEXT: usize = 65_536;
const MAX_HTML: usize = 131_072;
const MAX_ERROR: usize = 1024;

/// A rendered message to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewMail<'a> {
    /// What it reports (`expiry_reminder`, …): for the operator's counts, never for logic.
    pub kind: &'a str,
    /// When set, a second message with the same key is not queued.
    pub dedupe_key: Option<&'a str>,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

/// What [`enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    /// Queued under this id.
    Queued(String),
    /// A message with the same dedupe key was queued before: nothing was added.
    Duplicate,
}

/// A message a worker has claimed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct QueuedMail {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// Queues a message, in the caller's transaction when one is open (the event's), else in one of
/// its own.
pub fn enqueue(
    conn: &mut DbConnection,
    mail: &NewMail<'_>,
    now: OffsetDateTime,
) -> Result<Queued, StorageError> {
    let too_long = mail.subject.len() > MAX_SUBJECT
        || mail.text.len() > MAX_TEXT
        || mail.html.len() > MAX_HTML
        || mail.dedupe_key.is_some_and(|k| k.len() > 256)
        || mail.recipient.len() > 320
        || mail.kind.len() > 64;
    if too_long {
        return Err(FieldError::TooLong.into());
    }
    write_or_join(conn, |tx| {
        if let Some(key) = mail.dedupe_key {
            let seen: i64 = mail_outbox::table
                .filter(mail_outbox::dedupe_key.eq(key))
                .count()
                .get_result(tx)?;
            if seen > 0 {
                return Ok(Queued::Duplicate);
            }
        }
        let id = new_id();
        diesel::insert_into(mail_outbox::table)
            .values((
                mail_outbox::id.eq(&id),
                mail_outbox::kind.eq(mail.kind),
                mail_outbox::dedupe_key.eq(mail.dedupe_key),
                mail_outbox::recipient.eq(mail.recipient),
                mail_outbox::subject.eq(mail.subject),
                mail_outbox::body_text.eq(mail.text),
                mail_outbox::body_html.eq(mail.html),
                mail_outbox::created_at.eq(to_db(now)),
                mail_outbox::attempts.eq(0),
                mail_outbox::next_attempt_at.eq(to_db(now)),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        Ok(Queued::Queued(id))
    })
}

/// Claims up to `limit` due messages for `node` until `now + lease`, oldest due first. Each is
/// claimed by a conditional `UPDATE`: when two nodes reach for the same row, one gets it and
/// the other skips it.
pub fn claim(
    conn: &mut DbConnection,
    node: &str,
    now: OffsetDateTime,
    lease: Duration,
    limit: i64,
) -> Result<Vec<QueuedMail>, StorageError> {
    let now_db = to_db(now);
    let until = to_db(now.saturating_add(lease));
    let free = mail_outbox::claimed_until
        .is_null()
        .or(mail_outbox::claimed_until.le(now_db));
    let due: Vec<String> = mail_outbox::table
        .filter(mail_outbox::sent_at.is_null())
        .filter(mail_outbox::next_attempt_at.le(now_db))
        .filter(free)
        .order(mail_outbox::next_attempt_at)
        .limit(limit)
        .select(mail_outbox::id)
        .load(conn)?;
    let mut claimed = Vec::with_capacity(due.len());
    for id in due {
        let won = write(conn, |tx| {
            let updated = diesel::update(
                mail_outbox::table
                    .filter(mail_outbox::id.eq(&id))
                    .filter(mail_outbox::sent_at.is_null())
                    .filter(
                        mail_outbox::claimed_until
                            .is_null()
                            .or(mail_outbox::claimed_until.le(now_db)),
                    ),
            )
            .set((
                mail_outbox::claimed_by.eq(node),
                mail_outbox::claimed_until.eq(until),
                mail_outbox::attempts.eq(mail_outbox::attempts + 1),
            ))
            .execute(tx)?;
            if updated == 0 {
                return Ok::<_, StorageError>(None);
            }
            let mail = mail_outbox::table
                .filter(mail_outbox::id.eq(&id))
                .select((
                    mail_outbox::id,
                    mail_outbox::kind,
                    mail_outbox::recipient,
                    mail_outbox::subject,
                    mail_outbox::body_text,
                    mail_outbox::body_html,
                    mail_outbox::attempts,
                ))
                .first::<QueuedMail>(tx)?;
            Ok(Some(mail))
        })?;
        claimed.extend(won);
    }
    Ok(claimed)
}

/// Marks a claimed message sent. `false` when `node` no longer holds the claim (its lease ran
/// out and another node took the message): the send happened all the same, and is not undone.
pub fn sent(
    conn: &mut DbConnection,
    id: &str,
    node: &str,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let updated = diesel::update(
        mail_outbox::table
            .filter(mail_outbox::id.eq(id))
            .filter(mail_outbox::claimed_by.eq(node))
            .filter(mail_outbox::sent_at.is_null()),
    )
    .set((
        mail_outbox::sent_at.eq(Some(to_db(now))),
        mail_outbox::claimed_until.eq(None::<time::PrimitiveDateTime>),
        mail_outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Releases a claimed message after a failed attempt, to be tried again at `retry_at`.
pub fn failed(
    conn: &mut DbConnection,
    id: &str,
    node: &str,
    error: &str,
    retry_at: OffsetDateTime,
) -> Result<bool, StorageError> {
    let error: String = error.chars().take(MAX_ERROR / 4).collect();
    let updated = diesel::update(
        mail_outbox::table
            .filter(mail_outbox::id.eq(id))
            .filter(mail_outbox::claimed_by.eq(node))
            .filter(mail_outbox::sent_at.is_null()),
    )
    .set((
        mail_outbox::claimed_until.eq(None::<time::PrimitiveDateTime>),
        mail_outbox::next_attempt_at.eq(to_db(retry_at)),
        mail_outbox::last_error.eq(Some(error)),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The wait after the `attempts`-th failed attempt: 30 s, doubling, at most an hour. An SMTP
/// server down for an hour is tried about eight times meanwhile, and within the hour after.
pub fn retry_delay(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 7)).unwrap_or(0);
    Duration::seconds(30)
        .saturating_mul(2_i32.saturating_pow(doublings))
        .min(Duration::hours(1))
}

/// How many messages wait to be sent, and since when the oldest does.
pub fn backlog(conn: &mut DbConnection) -> Result<(i64, Option<OffsetDateTime>), StorageError> {
    let waiting = mail_outbox::table.filter(mail_outbox::sent_at.is_null());
    let count: i64 = waiting.count().get_result(conn)?;
    let oldest: Option<time::PrimitiveDateTime> = waiting
        .select(diesel::dsl::min(mail_outbox::created_at))
        .first(conn)?;
    Ok((count, oldest.map(from_db)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_and_at_most_an_hour() {
        let waits: Vec<i64> = (1..=10).map(|n| retry_delay(n).whole_seconds()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(retry_delay(0).whole_seconds(), 30);
        assert_eq!(retry_delay(i32::MAX).whole_seconds(), 3600);
    }
}
