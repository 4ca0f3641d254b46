//! The sign-in journey (docs/domain.md, "Journeys" 1): an e-mail link, opened through a confirmation page,
//! then a TOTP code. Each step is one write transaction with its journal entry, failures included.

use ac_audit::{Action, Actor, ActorKind};
use ac_auth::{KeyRing, Policy, TokenHash};
use ac_mandates::{AidantId, Email, OrganisationId};
use diesel::prelude::*;
use time::OffsetDateTime;

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::rate_limits::{self, Limit};
use crate::schema::{aidants, auth_sessions, auth_sign_in_links};
use crate::sessions::{self, STAGE_ACTIVE, STAGE_TOTP};
use crate::totp_devices::{self, CodeCheck};
use crate::{DbConnection, from_db, to_db, write};

/// Someone at the sign-in pages, not yet identified: an aidant actor without an id.
pub fn anonymous(request_id: Option<String>) -> AuditContext {
    AuditContext {
        actor: Actor {
            kind: ActorKind::Aidant,
            id: None,
        },
        request_id,
    }
}

/// Whether a link was written. The web layer answers the same page either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRequest {
    /// Send `token` (whose hash was stored) to this address.
    Created { aidant: AidantId },
    /// Unknown or deactivated address: nothing to send.
    NoAccount,
}

/// Stores a sign-in link for the account with this address, if there is an active one.
/// Journaled either way (without the address).
pub fn request_link(
    conn: &mut DbConnection,
    email: &Email,
    token: &TokenHash,
    policy: &Policy,
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<LinkRequest, StorageError> {
    write(conn, |tx| {
        let account: Option<(String, bool)> = aidants::table
            .filter(aidants::email.eq(email.as_str()))
            .select((aidants::id, aidants::is_active))
            .first(tx)
            .optional()?;
        let context = anonymous(request_id);
        let event = Event::new(Action::LinkRequested);
        match account {
            Some((id, true)) => {
                let aidant = AidantId::new(id);
                diesel::insert_into(auth_sign_in_links::table)
                    .values((
                        auth_sign_in_links::token_hash.eq(token.as_str()),
                        auth_sign_in_links::aidant_id.eq(aidant.as_str()),
                        auth_sign_in_links::created_at.eq(to_db(now)),
                        auth_sign_in_links::expires_at
                            .eq(to_db(now.saturating_add(policy.link_ttl))),
                    ))
                    .execute(tx)
                    .map_err(StorageError::from_query)?;
                journal::record(
                    tx,
                    &context,
                    event.target(&aidant).detail("outcome", "sent"),
                    now,
                )?;
                Ok(LinkRequest::Created { aidant })
            }
            Some((id, false)) => {
                journal::record(
                    tx,
                    &context,
                    event.target(id).detail("outcome", "aidant_inactive"),
                    now,
                )?;
                Ok(LinkRequest::NoAccount)
            }
            None => {
                journal::record(
                    tx,
                    &context,
                    event.detail("outcome", "unknown_address"),
                    now,
                )?;
                Ok(LinkRequest::NoAccount)
            }
        }
    })
}

/// Opens a link: consumes it (single use, before its expiry) and starts the TOTP stage under
/// `stage_session`. An unknown, used or expired link starts nothing, but the caller shows the
/// code page anyway, so the person never learns which factor failed.
pub fn open_link(
    conn: &mut DbConnection,
    link: &TokenHash,
    stage_session: &TokenHash,
    policy: &Policy,
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    write(conn, |tx| {
        // One conditional update: two nodes opening the same link cannot both succeed.
        let consumed = diesel::update(
            auth_sign_in_links::table
                .filter(auth_sign_in_links::token_hash.eq(link.as_str()))
                .filter(auth_sign_in_links::used_at.is_null())
                .filter(auth_sign_in_links::expires_at.gt(to_db(now))),
        )
        .set(auth_sign_in_links::used_at.eq(to_db(now)))
        .execute(tx)?;
        let row: Option<(
            String,
            Option<time::PrimitiveDateTime>,
            time::PrimitiveDateTime,
        )> = auth_sign_in_links::table
            .find(link.as_str())
            .select((
                auth_sign_in_links::aidant_id,
                auth_sign_in_links::used_at,
                auth_sign_in_links::expires_at,
            ))
            .first(tx)
            .optional()?;
        let context = anonymous(request_id);
        let Some((aidant, used_at, expires_at)) = row else {
            journal::record(
                tx,
                &context,
                Event::new(Action::SigninFailed).detail("reason", "unknown_link"),
                now,
            )?;
            return Ok(false);
        };
        let aidant = AidantId::new(aidant);
        if consumed == 1 {
            sessions::insert(
                tx,
                stage_session,
                &aidant,
                STAGE_TOTP,
                now.saturating_add(policy.totp_stage_ttl),
                now,
            )?;
            return Ok(true);
        }
        let reason = if from_db(expires_at) <= now && used_at.is_none() {
            "expired_link"
        } else {
            "used_link"
        };
        journal::record(
            tx,
            &context,
            Event::new(Action::SigninFailed)
                .target(&aidant)
                .detail("reason", reason),
            now,
        )?;
        Ok(false)
    })
}

/// How the last step of sign-in ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in under the new session token (never the stage token: fixation).
    SignedIn { aidant: AidantId },
    /// Wrong or replayed code, no stage, expired stage, locked or missing device. The person
    /// sees one message for all of these.
    Refused,
    /// Too many attempts for this account in the current window.
    RateLimited,
    /// Every second-factor device of the account is locked after too many wrong codes (by this
    /// attempt or before): only a référent can unlock it.
    Locked,
}

/// Checks the TOTP code of a TOTP stage. On success the stage session is deleted and a new
/// session is created under `new_session` (a different token), every unused link of the aidant
/// is consumed, and the sign-in is journaled. Failures are journaled and counted.
#[allow(clippy::too_many_arguments)] // one transaction's inputs; a struct would only rename them
pub fn complete_with_totp(
    conn: &mut DbConnection,
    stage_session: &TokenHash,
    new_session: &TokenHash,
    code: &str,
    keys: &KeyRing,
    policy: &Policy,
    per_aidant: Limit,
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<SignIn, StorageError> {
    write(conn, |tx| {
        let stage = sessions::find(tx, stage_session)?
            .filter(|s| s.stage == STAGE_TOTP && from_db(s.expires_at) > now);
        let Some(stage) = stage else {
            journal::record(
                tx,
                &anonymous(request_id),
                Event::new(Action::SigninFailed).detail("reason", "no_link_opened"),
                now,
            )?;
            return Ok(SignIn::Refused);
        };
        let aidant = AidantId::new(stage.aidant_id);
        let context = AuditContext::aidant(&aidant, request_id);
        let verdict = rate_limits::hit(tx, &format!("totp:aidant:{aidant}"), per_aidant, now)?;
        if !verdict.allowed() {
            if verdict.first_refusal() {
                journal::record(
                    tx,
                    &context,
                    Event::new(Action::AccessDenied)
                        .target(&aidant)
                        .detail("reason", "rate_limited")
                        .detail("limit", "totp_per_aidant"),
                    now,
                )?;
            }
            return Ok(SignIn::RateLimited);
        }
        let (current_organisation, is_active): (String, bool) = aidants::table
            .find(aidant.as_str())
            .select((aidants::current_organisation_id, aidants::is_active))
            .first(tx)?;
        let organisation = OrganisationId::new(current_organisation.clone());
        let check = if is_active {
            totp_devices::check_code(
                tx,
                &aidant,
                &organisation,
                code,
                keys,
                policy.lockout_failures,
                &context,
                now,
            )?
        } else {
            CodeCheck::NoDevice
        };
        let CodeCheck::Accepted { device } = check else {
            let reason = if is_active {
                check.reason()
            } else {
                "aidant_inactive"
            };
            if !is_active || check == CodeCheck::Locked {
                // Nothing more can succeed on this stage.
                diesel::delete(auth_sessions::table.find(stage_session.as_str())).execute(tx)?;
            }
            journal::record(
                tx,
                &context,
                Event::new(Action::SigninFailed)
                    .organisation(&organisation)
                    .target(&aidant)
                    .detail("reason", reason),
                now,
            )?;
            // A locked account is told so (the person has the link from their mailbox and
            // typed codes already): only their référent can unlock it.
            return Ok(if is_active && check == CodeCheck::Locked {
                SignIn::Locked
            } else {
                SignIn::Refused
            });
        };
        diesel::delete(auth_sessions::table.find(stage_session.as_str())).execute(tx)?;
        sessions::insert(
            tx,
            new_session,
            &aidant,
            STAGE_ACTIVE,
            now.saturating_add(policy.max_lifetime),
            now,
        )?;
        // Other links sent meanwhile are void: one sign-in per link request burst.
        void_unused_links(tx, &aidant, now)?;
        journal::record(
            tx,
            &context,
            Event::new(Action::SigninSucceeded)
                .organisation(&ac_mandates::OrganisationId::new(current_organisation))
                .target(&aidant)
                .detail("device", device),
            now,
        )?;
        Ok(SignIn::SignedIn { aidant })
    })
}

/// Marks every link the aidant has not used yet as used, so none of them can open a session.
pub(crate) fn void_unused_links(
    tx: &mut DbConnection,
    aidant: &AidantId,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    diesel::update(
        auth_sign_in_links::table
            .filter(auth_sign_in_links::aidant_id.eq(aidant.as_str()))
            .filter(auth_sign_in_links::used_at.is_null()),
    )
    .set(auth_sign_in_links::used_at.eq(to_db(now)))
    .execute(tx)?;
    Ok(())
}
