//! Removes what has outlived its use: expired codes and access tokens, answered requests' ids, sessions, sign-in links,
//! FranceConnect logins, pending consents, and rate-limit counters whose window is over.
//!
//! They hold personal data (who acted for whom, from where) that the journal already keeps in
//! the form it should be kept, and every check compares times, so an expired row only grows its
//! table. Each row stays for [`KEPT_AFTER_EXPIRY`] after it expired: a code replayed within that
//! day is still recognised as a replay, and journaled as one.

use diesel::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::error::StorageError;
use crate::schema::{
    auth_rate_limits, auth_sessions, auth_sign_in_links, franceconnect_logins, mandate_consents,
    oidc_access_tokens, oidc_answered_requests, oidc_authorization_codes,
};
use crate::{DbConnection, to_db, write};

/// How long an expired row is kept.
pub const KEPT_AFTER_EXPIRY: Duration = Duration::days(1);

/// How many rows each kind lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub access_tokens: usize,
    pub codes: usize,
    pub answered_requests: usize,
    pub sessions: usize,
    pub sign_in_links: usize,
    pub franceconnect_logins: usize,
    pub consents: usize,
    pub rate_limits: usize,
}

impl Purged {
    pub fn total(&self) -> usize {
        self.access_tokens
            + self.codes
            + self.answered_requests
            + self.sessions
            + self.sign_in_links
            + self.franceconnect_logins
            + self.consents
            + self.rate_limits
    }
}

/// Deletes, in one transaction, every row that expired more than [`KEPT_AFTER_EXPIRY`] before
/// `now`. A rate-limit counter counts as expired when its window is over: `longest_window` must
/// be at least the longest window any limit uses.
pub fn expired(
    conn: &mut DbConnection,
    longest_window: Duration,
    now: OffsetDateTime,
) -> Result<Purged, StorageError> {
    let before = to_db(now.saturating_sub(KEPT_AFTER_EXPIRY));
    let window_started_before =
        to_db(now.saturating_sub(KEPT_AFTER_EXPIRY.saturating_add(longest_window)));
    write(conn, |tx| {
        let access_tokens = diesel::delete(
            oidc_access_tokens::table.filter(oidc_access_tokens::expires_at.le(before)),
        )
        .execute(tx)?;
        // A code goes only with its tokens: one still referenced waits for them.
        let codes = diesel::delete(
            oidc_authorization_codes::table
                .filter(oidc_authorization_codes::expires_at.le(before))
                .filter(diesel::dsl::not(diesel::dsl::exists(
                    oidc_access_tokens::table.filter(
                        oidc_access_tokens::code_hash.eq(oidc_authorization_codes::code_hash),
                    ),
                ))),
        )
        .execute(tx)?;
        Ok(Purged {
            access_tokens,
            codes,
            answered_requests: diesel::delete(
                oidc_answered_requests::table.filter(oidc_answered_requests::expires_at.le(before)),
            )
            .execute(tx)?,
            sessions: diesel::delete(
                auth_sessions::table.filter(auth_sessions::expires_at.le(before)),
            )
            .execute(tx)?,
            sign_in_links: diesel::delete(
                auth_sign_in_links::table.filter(auth_sign_in_links::expires_at.le(before)),
            )
            .execute(tx)?,
            franceconnect_logins: diesel::delete(
                franceconnect_logins::table.filter(franceconnect_logins::expires_at.le(before)),
            )
            .execute(tx)?,
            consents: diesel::delete(
                mandate_consents::table.filter(mandate_consents::expires_at.le(before)),
            )
            .execute(tx)?,
            rate_limits: diesel::delete(
                auth_rate_limits::table
                    .filter(auth_rate_limits::window_start.le(window_started_before)),
            )
            .execute(tx)?,
        })
    })
}
