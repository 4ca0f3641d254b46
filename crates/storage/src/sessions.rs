//! Server-side sessions of signed-in aidants. The browser holds a random token; the database
//! holds its SHA-256, so any node can serve any request and a database copy opens no session.

use ac_audit::Action;
use ac_auth::{KeyRing, Policy, SessionState, SessionTimes, TokenHash};
use ac_mandates::{Aidant, AidantId, OrganisationId};
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::aidants::{self as aidant_records, AidantRow, Relations, ScopeRow};
use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::{
    aidant_organisations, aidants, auth_sessions, coordinator_scopes, organisations,
};
use crate::totp_devices::{self, CodeCheck};
use crate::{DbConnection, from_db, to_db, write};

/// A membership as read with the session: structure id, référent.
type Membership = (String, bool);
/// A coordinator scope as read with the session: kind, département, structure id.
type Scope = (String, Option<String>, Option<String>);
/// A row of `authenticate`'s read: the session, its aidant, the current structure's name, one
/// membership and one scope.
type SessionRead = (
    SessionRow,
    AidantRow,
    String,
    Option<Membership>,
    Option<Scope>,
);

pub(crate) const STAGE_TOTP: &str = "totp";
pub(crate) const STAGE_ACTIVE: &str = "active";

#[derive(Queryable, Selectable)]
#[diesel(table_name = auth_sessions)]
pub(crate) struct SessionRow {
    pub(crate) aidant_id: String,
    pub(crate) stage: String,
    pub(crate) created_at: PrimitiveDateTime,
    pub(crate) expires_at: PrimitiveDateTime,
    pub(crate) last_seen_at: PrimitiveDateTime,
    pub(crate) last_activity_at: PrimitiveDateTime,
}

impl SessionRow {
    fn times(&self) -> SessionTimes {
        SessionTimes {
            created_at: from_db(self.created_at),
            last_seen_at: from_db(self.last_seen_at),
            last_activity_at: from_db(self.last_activity_at),
        }
    }
}

/// Why a session ended; written in the journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Logout,
    IdleTimeout,
    LifetimeExpired,
    AidantDeactivated,
    DeviceLocked,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::LifetimeExpired => "lifetime_expired",
            EndReason::AidantDeactivated => "aidant_deactivated",
            EndReason::DeviceLocked => "device_locked",
        }
    }
}

/// A signed-in session, as the web layer's `CurrentAidant` sees it.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub aidant: Aidant,
    /// The name of the aidant's current structure.
    pub structure_name: String,
    /// The TOTP must be typed again (15 minutes without audited activity).
    pub needs_step_up: bool,
    /// When the sign-in completed (its TOTP): the default `auth_time` of a delegated use.
    pub signed_in_at: OffsetDateTime,
    /// The last audited activity (sign-in, step-up or audited action).
    pub last_activity_at: OffsetDateTime,
}

/// What a session token is worth right now.
#[derive(Debug, Clone)]
pub enum Authentication {
    Active(Box<ActiveSession>),
    /// No such session, or it has just been ended (idle, too old, aidant deactivated).
    None,
}

pub(crate) fn insert(
    tx: &mut DbConnection,
    hash: &TokenHash,
    aidant: &AidantId,
    stage: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(auth_sessions::table)
        .values((
            auth_sessions::id_hash.eq(hash.as_str()),
            auth_sessions::aidant_id.eq(aidant.as_str()),
            auth_sessions::stage.eq(stage),
            auth_sessions::created_at.eq(to_db(now)),
            auth_sessions::expires_at.eq(to_db(expires_at)),
            auth_sessions::last_seen_at.eq(to_db(now)),
            auth_sessions::last_activity_at.eq(to_db(now)),
        ))
        .execute(tx)
        .map_err(StorageError::from_query)?;
    Ok(())
}

pub(crate) fn find(
    conn: &mut DbConnection,
    hash: &TokenHash,
) -> Result<Option<SessionRow>, StorageError> {
    Ok(auth_sessions::table
        .find(hash.as_str())
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

fn delete(tx: &mut DbConnection, hash: &TokenHash) -> Result<usize, StorageError> {
    Ok(diesel::delete(auth_sessions::table.find(hash.as_str())).execute(tx)?)
}

/// Ends one session, with its journal entry. Returns false if there was none.
fn end_in(
    tx: &mut DbConnection,
    hash: &TokenHash,
    reason: EndReason,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let Some(row) = find(tx, hash)? else {
        return Ok(false);
    };
    delete(tx, hash)?;
    if row.stage == STAGE_ACTIVE {
        let aidant = AidantId::new(row.aidant_id);
        if reason == EndReason::Logout {
            // Links sent before the logout must not open a new session on this computer later.
            crate::sign_in::void_unused_links(tx, &aidant, now)?;
        }
        journal::record(
            tx,
            context,
            Event::new(Action::SignedOut)
                .target(&aidant)
                .detail("reason", reason.as_str()),
            now,
        )?;
    }
    Ok(true)
}

/// Logout, or the end of a session found idle or too old.
pub fn end(
    conn: &mut DbConnection,
    hash: &TokenHash,
    reason: EndReason,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    write(conn, |tx| end_in(tx, hash, reason, context, now))
}

/// Ends every session of an aidant, inside the caller's transaction (deactivation, lock).
pub fn end_all_for_aidant(
    tx: &mut DbConnection,
    aidant: &AidantId,
    reason: EndReason,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    let active = auth_sessions::table
        .filter(auth_sessions::aidant_id.eq(aidant.as_str()))
        .filter(auth_sessions::stage.eq(STAGE_ACTIVE))
        .count()
        .get_result::<i64>(tx)?;
    diesel::delete(auth_sessions::table.filter(auth_sessions::aidant_id.eq(aidant.as_str())))
        .execute(tx)?;
    if active > 0 {
        journal::record(
            tx,
            context,
            Event::new(Action::SignedOut)
                .target(aidant)
                .detail("reason", reason.as_str())
                .detail("sessions", active),
            now,
        )?;
    }
    usize::try_from(active).map_err(|_| StorageError::Corrupt("session count".into()))
}

/// Resolves a session token: ends the session (journaled) if it is idle, too old, or its aidant
/// was deactivated; otherwise refreshes `last_seen_at` (at most once a minute) and returns the
/// aidant with whether a step-up is due.
pub fn authenticate(
    conn: &mut DbConnection,
    hash: &TokenHash,
    policy: &Policy,
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<Authentication, StorageError> {
    // One round trip, as this runs on every signed-in request: the session, its aidant, the
    // current structure's name, and the memberships and scopes (one row per pair of them).
    let rows: Vec<SessionRead> = auth_sessions::table
        .find(hash.as_str())
        .inner_join(aidants::table)
        .inner_join(organisations::table.on(organisations::id.eq(aidants::current_organisation_id)))
        .left_join(aidant_organisations::table.on(aidant_organisations::aidant_id.eq(aidants::id)))
        .left_join(coordinator_scopes::table.on(coordinator_scopes::aidant_id.eq(aidants::id)))
        .select((
            SessionRow::as_select(),
            AidantRow::as_select(),
            organisations::name,
            (
                aidant_organisations::organisation_id,
                aidant_organisations::is_referent,
            )
                .nullable(),
            (
                coordinator_scopes::kind,
                coordinator_scopes::departement,
                coordinator_scopes::organisation_id,
            )
                .nullable(),
        ))
        .load(conn)?;
    let mut relations = Relations::default();
    let mut found = None;
    for (session, aidant, structure_name, membership, scope) in rows {
        if let Some((organisation, referent)) = membership {
            relations.add_membership(session.aidant_id.clone(), organisation, referent);
        }
        if let Some((kind, departement, organisation_id)) = scope {
            relations.add_scope(ScopeRow {
                aidant_id: session.aidant_id.clone(),
                kind,
                departement,
                organisation_id,
            })?;
        }
        found.get_or_insert((session, aidant, structure_name));
    }
    let Some((row, aidant, structure_name)) = found else {
        return Ok(Authentication::None);
    };
    if row.stage != STAGE_ACTIVE {
        return Ok(Authentication::None);
    }
    let aidant_id = AidantId::new(row.aidant_id.clone());
    let context = AuditContext::aidant(&aidant_id, request_id);
    let state = if now >= from_db(row.expires_at) {
        SessionState::LifetimeExpired
    } else {
        policy.session_state(&row.times(), now)
    };
    let ended = match state {
        SessionState::LifetimeExpired => Some(EndReason::LifetimeExpired),
        SessionState::IdleExpired => Some(EndReason::IdleTimeout),
        SessionState::Active | SessionState::NeedsStepUp => None,
    };
    if let Some(reason) = ended {
        end(conn, hash, reason, &context, now)?;
        return Ok(Authentication::None);
    }
    let aidant = aidant_records::assemble(vec![aidant], relations)?
        .pop()
        .ok_or(StorageError::NotFound)?;
    if !aidant.is_active {
        // Deactivation ends sessions itself; this covers a deactivation written by other means.
        write(conn, |tx| {
            end_all_for_aidant(tx, &aidant_id, EndReason::AidantDeactivated, &context, now)
        })?;
        return Ok(Authentication::None);
    }
    if policy.should_touch(from_db(row.last_seen_at), now) {
        // Bookkeeping, not an action: not journaled.
        diesel::update(auth_sessions::table.find(hash.as_str()))
            .set(auth_sessions::last_seen_at.eq(to_db(now)))
            .execute(conn)?;
    }
    Ok(Authentication::Active(Box::new(ActiveSession {
        aidant,
        structure_name,
        needs_step_up: state == SessionState::NeedsStepUp,
        signed_in_at: from_db(row.created_at),
        last_activity_at: from_db(row.last_activity_at),
    })))
}

/// Marks audited activity on a session, inside the transaction of the audited action, so the
/// 15-minute step-up clock restarts. Handlers of audited actions call it.
pub fn record_activity(
    tx: &mut DbConnection,
    hash: &TokenHash,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    diesel::update(auth_sessions::table.find(hash.as_str()))
        .set((
            auth_sessions::last_activity_at.eq(to_db(now)),
            auth_sessions::last_seen_at.eq(to_db(now)),
        ))
        .execute(tx)?;
    Ok(())
}

/// What a TOTP re-check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUp {
    Accepted,
    Refused,
    /// The device locked on this attempt: every session of the aidant is over.
    SessionEnded,
}

/// Step-up: the TOTP typed again during a session (after 15 minutes without audited activity,
/// or before a sensitive action). Success restarts the activity clock.
pub fn step_up(
    conn: &mut DbConnection,
    hash: &TokenHash,
    code: &str,
    keys: &KeyRing,
    policy: &Policy,
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<StepUp, StorageError> {
    write(conn, |tx| {
        let Some(row) = find(tx, hash)?.filter(|r| r.stage == STAGE_ACTIVE) else {
            return Ok(StepUp::SessionEnded);
        };
        let aidant = AidantId::new(row.aidant_id);
        let context = AuditContext::aidant(&aidant, request_id);
        let organisation = OrganisationId::new(
            aidants::table
                .find(aidant.as_str())
                .select(aidants::current_organisation_id)
                .first::<String>(tx)?,
        );
        let check = totp_devices::check_code(
            tx,
            &aidant,
            &organisation,
            code,
            keys,
            policy.lockout_failures,
            &context,
            now,
        )?;
        if let CodeCheck::Accepted { device } = &check {
            record_activity(tx, hash, now)?;
            journal::record(
                tx,
                &context,
                Event::new(Action::StepUpSucceeded)
                    .target(&aidant)
                    .detail("device", device),
                now,
            )?;
            return Ok(StepUp::Accepted);
        }
        journal::record(
            tx,
            &context,
            Event::new(Action::StepUpFailed)
                .organisation(&organisation)
                .target(&aidant)
                .detail("reason", check.reason()),
            now,
        )?;
        if check == CodeCheck::Locked {
            end_all_for_aidant(tx, &aidant, EndReason::DeviceLocked, &context, now)?;
            return Ok(StepUp::SessionEnded);
        }
        Ok(StepUp::Refused)
    })
}

/// The aidant now acts for another of their structures. Refused (`NotAMember`) unless they
/// belong to it and it is active.
pub fn switch_structure(
    conn: &mut DbConnection,
    hash: &TokenHash,
    aidant: &AidantId,
    organisation: &OrganisationId,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let member: i64 = aidant_organisations::table
            .inner_join(organisations::table)
            .filter(aidant_organisations::aidant_id.eq(aidant.as_str()))
            .filter(aidant_organisations::organisation_id.eq(organisation.as_str()))
            .filter(organisations::is_active.eq(true))
            .count()
            .get_result(tx)?;
        if member == 0 {
            return Err(StorageError::Rule(ac_mandates::MandateError::NotAMember));
        }
        let previous: String = aidants::table
            .find(aidant.as_str())
            .select(aidants::current_organisation_id)
            .first(tx)?;
        diesel::update(aidants::table.find(aidant.as_str()))
            .set(aidants::current_organisation_id.eq(organisation.as_str()))
            .execute(tx)?;
        record_activity(tx, hash, now)?;
        journal::record(
            tx,
            context,
            Event::new(Action::StructureSwitched)
                .organisation(organisation)
                .target(aidant)
                .detail("from", previous),
            now,
        )
    })
}
