//! Fixed-window counters in the database, shared by every app node: link requests per address
//! and per client IP, TOTP attempts per aidant and per client IP.
//!
//! Counting is bookkeeping, not an action on records, so a hit is not journaled; the first
//! refusal in each window is (see [`Verdict::first_refusal`]).

use ac_auth::TokenHash;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};
use time::{Duration, OffsetDateTime};

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::{DbConnection, to_db, write};
use ac_audit::Action;

/// At most `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: i32,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Hits in the current window, this one included.
    pub hits: i32,
    pub max: i32,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.hits <= self.max
    }

    /// The first refused hit of a window: journal that one only, so a flood cannot flood the
    /// journal too.
    pub fn first_refusal(&self) -> bool {
        self.hits == self.max.saturating_add(1)
    }
}

#[derive(QueryableByName)]
struct Hits {
    #[diesel(sql_type = Integer)]
    hits: i32,
}

/// Counts one hit for `key` (e.g. `link:ip:192.0.2.1`) and says whether it is within the limit.
/// The key is stored as its SHA-256 only. One atomic upsert, so two nodes counting at the same
/// instant both count; SET expressions read the old row on both backends.
pub fn hit(
    conn: &mut DbConnection,
    key: &str,
    limit: Limit,
    now: OffsetDateTime,
) -> Result<Verdict, StorageError> {
    let key_hash = TokenHash::of(key.as_bytes());
    let now_db = to_db(now);
    let window_over = to_db(now - limit.window);
    let upsert = |p: [&str; 4]| {
        format!(
            "INSERT INTO auth_rate_limits (key_hash, window_start, hits) VALUES ({}, {}, 1) \
             ON CONFLICT (key_hash) DO UPDATE SET \
             hits = CASE WHEN auth_rate_limits.window_start <= {} THEN 1 ELSE auth_rate_limits.hits + 1 END, \
             window_start = CASE WHEN auth_rate_limits.window_start <= {} THEN excluded.window_start ELSE auth_rate_limits.window_start END \
             RETURNING hits",
            p[0], p[1], p[2], p[3]
        )
    };
    // MultiConnection has no ON CONFLICT: the same statement is sent through each backend with
    // its own placeholders.
    let row: Hits = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(upsert(["?", "?", "?", "?"]))
            .bind::<Text, _>(key_hash.as_str())
            .bind::<Timestamp, _>(now_db)
            .bind::<Timestamp, _>(window_over)
            .bind::<Timestamp, _>(window_over)
            .get_result(c)?,
        DbConnection::Pg(c) => diesel::sql_query(upsert(["$1", "$2", "$3", "$4"]))
            .bind::<Text, _>(key_hash.as_str())
            .bind::<Timestamp, _>(now_db)
            .bind::<Timestamp, _>(window_over)
            .bind::<Timestamp, _>(window_over)
            .get_result(c)?,
    };
    Ok(Verdict {
        hits: row.hits,
        max: limit.max,
    })
}

/// [`hit`] in its own write transaction, journaling the first refusal of the window as
/// `access.denied` with `label` (e.g. `link_per_ip`), never the key itself.
pub fn enforce(
    conn: &mut DbConnection,
    key: &str,
    label: &str,
    limit: Limit,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    write(conn, |tx| {
        let verdict = hit(tx, key, limit, now)?;
        if verdict.first_refusal() {
            journal::record(
                tx,
                context,
                Event::new(Action::AccessDenied)
                    .detail("reason", "rate_limited")
                    .detail("limit", label),
                now,
            )?;
        }
        Ok(verdict.allowed())
    })
}
