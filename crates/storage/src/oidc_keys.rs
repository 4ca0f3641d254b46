//! The provider's signing keys and their rotation. A key is published as `next` before it signs:
//! clients that cache the key set (OIDC Core §10.1.1) already know it when it becomes `current`.
//! The previous `current` becomes `retired` and stays published for a while, so the tokens it
//! signed (and `id_token_hint`s at logout) still verify. The key material comes from the caller
//! (`ac-oidc` makes and seals it); storage keeps states and times, one transaction per rotation.

use ac_audit::Action;
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::oidc_signing_keys;
use crate::{DbConnection, from_db, to_db, write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signs new tokens; one per algorithm.
    Current,
    /// Published for a while after rotation, signs nothing.
    Retired,
}

impl KeyState {
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
        }
    }

    fn parse(text: &str) -> Result<Self, StorageError> {
        match text {
            "next" => Ok(KeyState::Next),
            "current" => Ok(KeyState::Current),
            "retired" => Ok(KeyState::Retired),
            other => Err(StorageError::Corrupt(format!(
                "oidc_signing_keys.state {other}"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub public_jwk: String,
    pub sealed_private_key: String,
    pub created_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
    pub retired_at: Option<OffsetDateTime>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oidc_signing_keys)]
struct Row {
    kid: String,
    alg: String,
    state: String,
    public_jwk: String,
    sealed_private_key: String,
    created_at: PrimitiveDateTime,
    activated_at: Option<PrimitiveDateTime>,
    retired_at: Option<PrimitiveDateTime>,
}

impl Row {
    fn into_record(self) -> Result<KeyRecord, StorageError> {
        Ok(KeyRecord {
            state: KeyState::parse(&self.state)?,
            kid: self.kid,
            alg: self.alg,
            public_jwk: self.public_jwk,
            sealed_private_key: self.sealed_private_key,
            created_at: from_db(self.created_at),
            activated_at: self.activated_at.map(from_db),
            retired_at: self.retired_at.map(from_db),
        })
    }
}

/// Every key, oldest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<KeyRecord>, StorageError> {
    let mut keys = oidc_signing_keys::table
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_record)
        .collect::<Result<Vec<_>, _>>()?;
    // Oldest first; keys made in the same instant (a rotation inserts two) in lifecycle order,
    // not in the random order of their ids.
    let lifecycle = |state: KeyState| match state {
        KeyState::Retired => 0,
        KeyState::Current => 1,
        KeyState::Next => 2,
    };
    keys.sort_by(|a, b| {
        (a.created_at, lifecycle(a.state), &a.kid).cmp(&(b.created_at, lifecycle(b.state), &b.kid))
    });
    Ok(keys)
}

/// A new key to add; `kid` is its RFC 7638 thumbprint.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub public_jwk: &'a str,
    pub sealed_private_key: &'a str,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new key and the state it was added in.
    pub added: (String, KeyState),
    /// The former `next`, now signing.
    pub promoted: Option<String>,
    /// The former `current`, now retired.
    pub retired: Option<String>,
}

fn find_in_state(
    tx: &mut DbConnection,
    alg: &str,
    state: KeyState,
) -> Result<Option<String>, StorageError> {
    Ok(oidc_signing_keys::table
        .filter(oidc_signing_keys::alg.eq(alg))
        .filter(oidc_signing_keys::state.eq(state.as_str()))
        .select(oidc_signing_keys::kid)
        .first(tx)
        .optional()?)
}

/// One step of the rotation for `new.alg`, in one transaction with its journal entries:
/// - a `next` key exists: the `current` one is retired, `next` becomes `current`, and the new key
///   is the new `next`;
/// - only a `current` key: the new key becomes `next` (published, not yet used);
/// - no key at all (first start): the new key is `current` straight away, nothing having been
///   signed before.
///
/// The partial unique indexes (one `current`, one `next` per algorithm) make two concurrent
/// rotations fail rather than both succeed.
pub fn rotate(
    conn: &mut DbConnection,
    new: &NewKey<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Rotation, StorageError> {
    write(conn, |tx| {
        let current = find_in_state(tx, new.alg, KeyState::Current)?;
        let next = find_in_state(tx, new.alg, KeyState::Next)?;
        let mut rotation = Rotation {
            added: (new.kid.to_owned(), KeyState::Next),
            promoted: None,
            retired: None,
        };
        if let Some(next) = next {
            if let Some(current) = &current {
                diesel::update(oidc_signing_keys::table.find(current))
                    .set((
                        oidc_signing_keys::state.eq(KeyState::Retired.as_str()),
                        oidc_signing_keys::retired_at.eq(Some(to_db(now))),
                    ))
                    .execute(tx)?;
            }
            diesel::update(oidc_signing_keys::table.find(&next))
                .set((
                    oidc_signing_keys::state.eq(KeyState::Current.as_str()),
                    oidc_signing_keys::activated_at.eq(Some(to_db(now))),
                ))
                .execute(tx)?;
            rotation.promoted = Some(next);
            rotation.retired = current;
        } else if current.is_none() {
            rotation.added.1 = KeyState::Current;
        }
        let state = rotation.added.1;
        diesel::insert_into(oidc_signing_keys::table)
            .values((
                oidc_signing_keys::kid.eq(new.kid),
                oidc_signing_keys::alg.eq(new.alg),
                oidc_signing_keys::state.eq(state.as_str()),
                oidc_signing_keys::public_jwk.eq(new.public_jwk),
                oidc_signing_keys::sealed_private_key.eq(new.sealed_private_key),
                oidc_signing_keys::created_at.eq(to_db(now)),
                oidc_signing_keys::activated_at
                    .eq((state == KeyState::Current).then(|| to_db(now))),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        journal::record(
            tx,
            context,
            Event::new(Action::SigningKeyCreated)
                .target(new.kid)
                .detail("alg", new.alg)
                .detail("state", state.as_str()),
            now,
        )?;
        if let Some(promoted) = &rotation.promoted {
            let mut event = Event::new(Action::SigningKeyRotated)
                .target(promoted)
                .detail("alg", new.alg)
                .detail("next", new.kid);
            if let Some(retired) = &rotation.retired {
                event = event.detail("retired", retired);
            }
            journal::record(tx, context, event, now)?;
        }
        Ok(rotation)
    })
}
