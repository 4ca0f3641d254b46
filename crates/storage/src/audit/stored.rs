//! Reading what the audit tables store, shared by integration, verification and proofs: sizes
//! and hashes as the columns hold them, and the signed checkpoints.

use ac_audit::merkle::Hash;
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::StorageError;
use crate::schema::audit_checkpoints;
use crate::{DbConnection, from_db};

/// Rows read per round trip when streaming the log.
pub(super) const PAGE: i64 = 10_000;

pub(super) fn to_u64(v: i64) -> Result<u64, StorageError> {
    u64::try_from(v).map_err(|_| StorageError::Corrupt(format!("negative audit size {v}")))
}

pub(super) fn to_i64(v: u64) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Corrupt(format!("audit size {v} too large")))
}

pub(super) fn to_hash(bytes: &[u8]) -> Result<Hash, StorageError> {
    Hash::try_from(bytes).map_err(|_| StorageError::Corrupt("audit hash is not 32 bytes".into()))
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    pub tree_size: u64,
    pub root: Hash,
    /// The C2SP signed note, as published.
    pub signed_note: String,
    pub signed_at: OffsetDateTime,
}

pub(super) type CheckpointRow = (i64, Vec<u8>, String, PrimitiveDateTime);

pub(super) fn checkpoint_record(row: CheckpointRow) -> Result<CheckpointRecord, StorageError> {
    Ok(CheckpointRecord {
        tree_size: to_u64(row.0)?,
        root: to_hash(&row.1)?,
        signed_note: row.2,
        signed_at: from_db(row.3),
    })
}

pub(super) fn checkpoint_columns() -> (
    audit_checkpoints::tree_size,
    audit_checkpoints::root_hash,
    audit_checkpoints::signed_note,
    audit_checkpoints::signed_at,
) {
    (
        audit_checkpoints::tree_size,
        audit_checkpoints::root_hash,
        audit_checkpoints::signed_note,
        audit_checkpoints::signed_at,
    )
}

pub fn latest_checkpoint(
    conn: &mut DbConnection,
) -> Result<Option<CheckpointRecord>, StorageError> {
    audit_checkpoints::table
        .order(audit_checkpoints::tree_size.desc())
        .select(checkpoint_columns())
        .first::<CheckpointRow>(conn)
        .optional()?
        .map(checkpoint_record)
        .transpose()
}

pub fn checkpoint(
    conn: &mut DbConnection,
    tree_size: u64,
) -> Result<Option<CheckpointRecord>, StorageError> {
    audit_checkpoints::table
        .find(to_i64(tree_size)?)
        .select(checkpoint_columns())
        .first::<CheckpointRow>(conn)
        .optional()?
        .map(checkpoint_record)
        .transpose()
}
