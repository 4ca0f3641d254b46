#![doc = include_str!("../README.md")]

mod backend;
mod error;
pub mod migrations;
pub mod schema;

pub mod aidants;
pub mod aide_space;
pub mod audit;
pub mod audit_replay;
pub mod console;
pub mod franceconnect_logins;
pub mod journal;
pub mod leases;
pub mod mandate_consents;
pub mod mandate_verifications;
pub mod mandates;
pub mod oidc_clients;
pub mod oidc_grants;
pub mod oidc_keys;
mod oidc_writes;
pub mod organisations;
pub mod outbox;
pub mod purge;
pub mod rate_limits;
pub mod receipts;
pub mod reminders;
pub mod remote_consents;
pub mod retention;
pub mod sessions;
pub mod sign_in;
pub mod structure_usagers;
pub mod totp_devices;
pub mod usagers;

#[cfg(feature = "testing")]
pub mod testing;

pub use backend::{
    Backend, DOWN_FOR, Database, DatabaseUrl, DbConnection, OpenMode, PoolOptions, Pooled, write,
};
pub use error::StorageError;

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Columns are UTC `TIMESTAMP` without zone, the common ground of both backends.
pub(crate) fn to_db(at: OffsetDateTime) -> PrimitiveDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(at.date(), at.time())
}

pub(crate) fn from_db(at: PrimitiveDateTime) -> OffsetDateTime {
    at.assume_utc()
}

/// New record ids: random UUIDs, so they reveal neither volume nor order.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
