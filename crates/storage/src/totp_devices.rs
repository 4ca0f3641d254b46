//! TOTP devices: authenticator apps (30 s) and hardware cards (60 s). Seeds are sealed with the
//! key ring from configuration before they reach the database, and opened only to check a code.

use ac_audit::Action;
use ac_auth::totp::{self, TotpCheck, TotpStep};
use ac_auth::{KeyRing, Secret};
use ac_mandates::{AidantId, OrganisationId};
use diesel::prelude::*;
use ring::rand::SecureRandom;
use time::OffsetDateTime;

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::totp_devices;
use crate::{DbConnection, from_db, new_id, to_db, write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    App,
    Card,
}

impl DeviceKind {
    fn as_str(self) -> &'static str {
        match self {
            DeviceKind::App => "app",
            DeviceKind::Card => "card",
        }
    }

    fn step(self) -> TotpStep {
        match self {
            DeviceKind::App => TotpStep::App,
            DeviceKind::Card => TotpStep::Card,
        }
    }
}

/// A device as listed to administrators: never its seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub aidant_id: Option<AidantId>,
    pub kind: DeviceKind,
    pub serial: Option<String>,
    pub failures: i32,
    pub locked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = totp_devices)]
struct DeviceRow {
    id: String,
    aidant_id: Option<String>,
    kind: String,
    serial: Option<String>,
    sealed_seed: String,
    step_secs: i32,
    last_counter: Option<i64>,
    failures: i32,
    locked_at: Option<time::PrimitiveDateTime>,
    created_at: time::PrimitiveDateTime,
}

impl DeviceRow {
    fn kind(&self) -> Result<DeviceKind, StorageError> {
        match self.kind.as_str() {
            "app" => Ok(DeviceKind::App),
            "card" => Ok(DeviceKind::Card),
            other => Err(StorageError::Corrupt(format!("totp_devices.kind {other}"))),
        }
    }

    fn into_device(self) -> Result<Device, StorageError> {
        Ok(Device {
            kind: self.kind()?,
            id: self.id,
            aidant_id: self.aidant_id.map(AidantId::new),
            serial: self.serial,
            failures: self.failures,
            locked_at: self.locked_at.map(from_db),
            created_at: from_db(self.created_at),
        })
    }
}

fn insert_sealed(
    tx: &mut DbConnection,
    id: &str,
    aidant: Option<&AidantId>,
    kind: DeviceKind,
    serial: Option<&str>,
    sealed: &str,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(totp_devices::table)
        .values((
            totp_devices::id.eq(id),
            totp_devices::aidant_id.eq(aidant.map(AidantId::as_str)),
            totp_devices::kind.eq(kind.as_str()),
            totp_devices::serial.eq(serial),
            totp_devices::sealed_seed.eq(sealed),
            totp_devices::step_secs.eq(kind.step().secs() as i32),
            totp_devices::failures.eq(0),
            totp_devices::created_at.eq(to_db(now)),
        ))
        .execute(tx)
        .map_err(StorageError::from_query)?;
    Ok(())
}

/// Enrols an authenticator app for an aidant, with a seed the caller generated (and shows once
/// as an otpauth URI). Returns the device id.
pub fn enrol_app(
    conn: &mut DbConnection,
    aidant: &AidantId,
    seed: &Secret,
    keys: &KeyRing,
    rng: &dyn SecureRandom,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<String, StorageError> {
    enrol_app_in(conn, aidant, None, seed, keys, rng, context, now)
}

/// [`enrol_app`], journaled under the structure whose référent acted.
#[allow(clippy::too_many_arguments)] // the arguments of `enrol_app` plus the structure
pub fn enrol_app_in(
    conn: &mut DbConnection,
    aidant: &AidantId,
    organisation: Option<&OrganisationId>,
    seed: &Secret,
    keys: &KeyRing,
    rng: &dyn SecureRandom,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<String, StorageError> {
    let id = new_id();
    let sealed = keys.seal(rng, seed, &id)?;
    write(conn, |tx| {
        insert_sealed(tx, &id, Some(aidant), DeviceKind::App, None, &sealed, now)?;
        journal::record(
            tx,
            context,
            Event::new(Action::TotpDeviceAdded)
                .in_organisation(organisation)
                .target(&id)
                .detail("aidant", aidant)
                .detail("kind", "app"),
            now,
        )
    })?;
    Ok(id)
}

/// One line of a card manufacturer's file.
#[derive(Debug)]
pub struct CardSeed {
    pub serial: String,
    pub seed: Secret,
}

/// Imports hardware cards, unassigned, all or nothing (a serial already known is a `Conflict`).
pub fn import_cards(
    conn: &mut DbConnection,
    cards: &[CardSeed],
    keys: &KeyRing,
    rng: &dyn SecureRandom,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    let mut sealed = Vec::with_capacity(cards.len());
    for card in cards {
        let id = new_id();
        let seed = keys.seal(rng, &card.seed, &id)?;
        sealed.push((id, card.serial.as_str(), seed));
    }
    write(conn, |tx| {
        for (id, serial, seed) in &sealed {
            insert_sealed(tx, id, None, DeviceKind::Card, Some(serial), seed, now)?;
            // The serial is printed on a card, not personal data.
            journal::record(
                tx,
                context,
                Event::new(Action::TotpDeviceAdded)
                    .target(id)
                    .detail("kind", "card")
                    .detail("serial", serial),
                now,
            )?;
        }
        Ok(sealed.len())
    })
}

/// Hands an imported card to an aidant. `NotFound` if no free card has this serial.
pub fn assign_card(
    conn: &mut DbConnection,
    serial: &str,
    aidant: &AidantId,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<String, StorageError> {
    assign_card_in(conn, serial, aidant, None, None, context, now)
}

/// [`assign_card`] by a référent: journaled under their structure, with the reason they chose
/// (a fixed code, never free text, so no personal data reaches the journal).
pub fn assign_card_in(
    conn: &mut DbConnection,
    serial: &str,
    aidant: &AidantId,
    organisation: Option<&OrganisationId>,
    reason: Option<&str>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<String, StorageError> {
    write(conn, |tx| {
        let id: String = totp_devices::table
            .filter(totp_devices::serial.eq(serial))
            .filter(totp_devices::aidant_id.is_null())
            .select(totp_devices::id)
            .first(tx)
            .map_err(StorageError::from_query)?;
        diesel::update(totp_devices::table.find(&id))
            .set(totp_devices::aidant_id.eq(aidant.as_str()))
            .execute(tx)?;
        let mut event = Event::new(Action::TotpDeviceAdded)
            .in_organisation(organisation)
            .target(&id)
            .detail("aidant", aidant)
            .detail("kind", "card")
            .detail("serial", serial);
        if let Some(reason) = reason {
            event = event.detail("reason", reason);
        }
        journal::record(tx, context, event, now)?;
        Ok(id)
    })
}

/// Whether an imported card with this serial is still unassigned.
pub fn find_free_card(conn: &mut DbConnection, serial: &str) -> Result<bool, StorageError> {
    let free: i64 = totp_devices::table
        .filter(totp_devices::serial.eq(serial))
        .filter(totp_devices::aidant_id.is_null())
        .count()
        .get_result(conn)?;
    Ok(free > 0)
}

pub fn list_for_aidant(
    conn: &mut DbConnection,
    aidant: &AidantId,
) -> Result<Vec<Device>, StorageError> {
    totp_devices::table
        .filter(totp_devices::aidant_id.eq(aidant.as_str()))
        .order(totp_devices::created_at)
        .select(DeviceRow::as_select())
        .load(conn)?
        .into_iter()
        .map(DeviceRow::into_device)
        .collect()
}

/// Unlocks every locked device of an aidant (a référent's or an admin's decision) and resets the
/// failure counters. Returns how many were locked.
pub fn unlock(
    conn: &mut DbConnection,
    aidant: &AidantId,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    unlock_in(conn, aidant, None, context, now)
}

/// [`unlock`], journaled under the structure whose référent acted.
pub fn unlock_in(
    conn: &mut DbConnection,
    aidant: &AidantId,
    organisation: Option<&OrganisationId>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    write(conn, |tx| {
        let locked: Vec<String> = totp_devices::table
            .filter(totp_devices::aidant_id.eq(aidant.as_str()))
            .filter(totp_devices::locked_at.is_not_null())
            .select(totp_devices::id)
            .load(tx)?;
        diesel::update(totp_devices::table.filter(totp_devices::aidant_id.eq(aidant.as_str())))
            .set((
                totp_devices::locked_at.eq(None::<time::PrimitiveDateTime>),
                totp_devices::failures.eq(0),
            ))
            .execute(tx)?;
        for id in &locked {
            journal::record(
                tx,
                context,
                Event::new(Action::TotpUnlocked)
                    .in_organisation(organisation)
                    .target(id)
                    .detail("aidant", aidant),
                now,
            )?;
        }
        Ok(locked.len())
    })
}

/// What checking a code against an aidant's devices concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted {
        device: String,
    },
    Wrong,
    Replayed,
    /// Every device of the aidant is locked (possibly by this very attempt).
    Locked,
    /// The aidant has no device at all.
    NoDevice,
}

impl CodeCheck {
    /// A short non-personal label for the journal.
    pub fn reason(&self) -> &'static str {
        match self {
            CodeCheck::Accepted { .. } => "accepted",
            CodeCheck::Wrong => "wrong_code",
            CodeCheck::Replayed => "replayed_code",
            CodeCheck::Locked => "device_locked",
            CodeCheck::NoDevice => "no_device",
        }
    }
}

/// Checks a code against every unlocked device of the aidant, inside the caller's write
/// transaction. A success stores the counter (so the code cannot be used again, even on another
/// node: the update only applies if the stored counter is lower) and resets the failure counts;
/// a failure counts against every unlocked device, and locks those reaching `lockout_failures`.
/// A lock is journaled under `organisation` (the aidant's current structure), so the référent's
/// journal shows it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_code(
    tx: &mut DbConnection,
    aidant: &AidantId,
    organisation: &OrganisationId,
    code: &str,
    keys: &KeyRing,
    lockout_failures: i32,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<CodeCheck, StorageError> {
    let rows: Vec<DeviceRow> = totp_devices::table
        .filter(totp_devices::aidant_id.eq(aidant.as_str()))
        .select(DeviceRow::as_select())
        .load(tx)?;
    if rows.is_empty() {
        return Ok(CodeCheck::NoDevice);
    }
    let usable: Vec<&DeviceRow> = rows.iter().filter(|r| r.locked_at.is_none()).collect();
    if usable.is_empty() {
        return Ok(CodeCheck::Locked);
    }
    let unix = now.unix_timestamp();
    let mut accepted: Option<(&DeviceRow, i64)> = None;
    let mut replayed = false;
    // Every device is checked, whatever an earlier one said, so timing does not tell which
    // device exists or matched.
    for row in &usable {
        let step = TotpStep::from_secs(i64::from(row.step_secs))?;
        let seed = keys.open(&row.sealed_seed, &row.id)?;
        match totp::verify(seed.expose(), step, code, unix, row.last_counter) {
            TotpCheck::Accepted { counter } => {
                if accepted.is_none() {
                    accepted = Some((row, counter));
                }
            }
            TotpCheck::Replayed => replayed = true,
            TotpCheck::Wrong => {}
        }
    }
    let usable_ids: Vec<&str> = usable.iter().map(|r| r.id.as_str()).collect();
    if let Some((row, counter)) = accepted {
        let stored = diesel::update(
            totp_devices::table
                .filter(totp_devices::id.eq(&row.id))
                .filter(
                    totp_devices::last_counter
                        .is_null()
                        .or(totp_devices::last_counter.lt(counter)),
                ),
        )
        .set(totp_devices::last_counter.eq(counter))
        .execute(tx)?;
        if stored == 1 {
            diesel::update(totp_devices::table.filter(totp_devices::id.eq_any(&usable_ids)))
                .set(totp_devices::failures.eq(0))
                .execute(tx)?;
            return Ok(CodeCheck::Accepted {
                device: row.id.clone(),
            });
        }
        // Another node stored this counter between our read and our write: a replay.
        replayed = true;
    }
    diesel::update(totp_devices::table.filter(totp_devices::id.eq_any(&usable_ids)))
        .set(totp_devices::failures.eq(totp_devices::failures + 1))
        .execute(tx)?;
    let newly_locked: Vec<(String, i32)> = totp_devices::table
        .filter(totp_devices::id.eq_any(&usable_ids))
        .filter(totp_devices::failures.ge(lockout_failures))
        .select((totp_devices::id, totp_devices::failures))
        .load(tx)?;
    if !newly_locked.is_empty() {
        let ids: Vec<&str> = newly_locked.iter().map(|(id, _)| id.as_str()).collect();
        diesel::update(totp_devices::table.filter(totp_devices::id.eq_any(&ids)))
            .set(totp_devices::locked_at.eq(to_db(now)))
            .execute(tx)?;
        for (id, failures) in &newly_locked {
            journal::record(
                tx,
                context,
                Event::new(Action::TotpLocked)
                    .organisation(organisation)
                    .target(id)
                    .detail("aidant", aidant)
                    .detail("failures", failures),
                now,
            )?;
        }
    }
    if newly_locked.len() == usable.len() {
        Ok(CodeCheck::Locked)
    } else if replayed {
        Ok(CodeCheck::Replayed)
    } else {
        Ok(CodeCheck::Wrong)
    }
}

/// What becomes of a device taken from an aidant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Deleted: an app on a lost or changed phone, a lost or broken card. Its seed is gone.
    Retire,
    /// A working card handed back: it returns to the stock of free cards, to be assigned again.
    ReturnToStock,
}

/// Takes a device from an aidant, with the référent's reason (a fixed code, never free text).
/// `NotFound` if the device is not this aidant's. An app can only be retired: its seed was shown
/// on a phone that is no longer trusted.
#[allow(clippy::too_many_arguments)] // who, what, why and where, each needed in the entry
pub fn remove_device(
    conn: &mut DbConnection,
    device: &str,
    aidant: &AidantId,
    removal: Removal,
    organisation: Option<&OrganisationId>,
    reason: &str,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let row: DeviceRow = totp_devices::table
            .filter(totp_devices::id.eq(device))
            .filter(totp_devices::aidant_id.eq(aidant.as_str()))
            .select(DeviceRow::as_select())
            .first(tx)
            .map_err(StorageError::from_query)?;
        let kind = row.kind()?;
        let removal = if kind == DeviceKind::App {
            Removal::Retire
        } else {
            removal
        };
        match removal {
            Removal::Retire => {
                diesel::delete(totp_devices::table.find(device)).execute(tx)?;
            }
            Removal::ReturnToStock => {
                // A fresh holder starts unlocked; the last counter stays, so no code seen by the
                // previous holder becomes valid again.
                diesel::update(totp_devices::table.find(device))
                    .set((
                        totp_devices::aidant_id.eq(None::<String>),
                        totp_devices::failures.eq(0),
                        totp_devices::locked_at.eq(None::<time::PrimitiveDateTime>),
                    ))
                    .execute(tx)?;
            }
        }
        let mut event = Event::new(Action::TotpDeviceRemoved)
            .in_organisation(organisation)
            .target(device)
            .detail("aidant", aidant)
            .detail("kind", kind.as_str())
            .detail("reason", reason)
            .detail(
                "outcome",
                match removal {
                    Removal::Retire => "retired",
                    Removal::ReturnToStock => "returned_to_stock",
                },
            );
        if let Some(serial) = &row.serial {
            event = event.detail("serial", serial);
        }
        journal::record(tx, context, event, now)
    })
}
