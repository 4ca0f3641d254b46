//! The audit log proper: integrating pending entries into the Merkle tree, signing checkpoints,
//! verifying everything from scratch, proving inclusion and exporting.
//!
//! The tree maths and formats live in the pure `ac-audit` crate; this module only moves bytes
//! between it and the database.

mod stored;
mod verify;

pub use ac_audit::verify::Tamper;
pub use stored::{CheckpointRecord, checkpoint, latest_checkpoint};
pub use verify::{Expectations, Verification, verify};

use ac_audit::merkle::{self, Hash};
use ac_audit::{Action, Checkpoint, Entry, Frontier, InclusionBundle, SignerKey};
use diesel::prelude::*;
use std::io::Write;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::{audit_checkpoints, audit_heads, audit_log, audit_pending};
use crate::{DbConnection, to_db, write};
use stored::{PAGE, to_hash, to_i64, to_u64};

/// Key of the PostgreSQL advisory lock that serialises integrators and checkpoint signers
/// across every app node ("acaudit" in ASCII).
const LOG_LOCK: i64 = 0x61_63_61_75_64_69_74;

/// One integrator or signer at a time, on every node. On SQLite, `BEGIN IMMEDIATE` already holds
/// the database's single write lock.
fn lock_log(tx: &mut DbConnection) -> Result<(), StorageError> {
    if let DbConnection::Pg(pg) = tx {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(LOG_LOCK)
            .execute(pg)?;
    }
    Ok(())
}

/// The tree after the latest integration batch.
fn latest_frontier(tx: &mut DbConnection) -> Result<Frontier, StorageError> {
    let frontier: Option<Vec<u8>> = audit_heads::table
        .order(audit_heads::tree_size.desc())
        .select(audit_heads::frontier)
        .first(tx)
        .optional()?;
    match frontier {
        Some(bytes) => Ok(Frontier::from_bytes(&bytes)?),
        None => Ok(Frontier::new()),
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct LogRow {
    seq: i64,
    pending_id: i64,
    entry: String,
    leaf_hash: Vec<u8>,
    at: PrimitiveDateTime,
    action: String,
    actor_kind: String,
    actor_id: Option<String>,
    organisation_id: Option<String>,
    usager: Option<String>,
    demarche: Option<String>,
    client_id: Option<String>,
    target: Option<String>,
}

impl LogRow {
    fn new(
        pending_id: i64,
        entry: &Entry,
        canonical: String,
        leaf: Hash,
    ) -> Result<Self, StorageError> {
        Ok(Self {
            seq: to_i64(entry.seq)?,
            pending_id,
            entry: canonical,
            leaf_hash: leaf.to_vec(),
            at: to_db(entry.at),
            action: entry.action.as_str().to_owned(),
            actor_kind: entry.actor.kind.as_str().to_owned(),
            actor_id: entry.actor.id.clone(),
            organisation_id: entry.organisation_id.clone(),
            usager: entry.usager.clone(),
            demarche: entry.demarche.clone(),
            client_id: entry.client_id.clone(),
            target: entry.target.clone(),
        })
    }
}

/// Only the integrator writes `audit_log`, always with the tree head that covers the rows, and
/// it deletes the pending rows it integrates in the same transaction. A row after the last head,
/// or a pending row already integrated, was written by someone else: integrating on top of it
/// would either fail on a key forever or seal it into the tree, so integration stops and says
/// why (docs/security/audit-log.md, "Integrity alarm"). Pending ids are not compared with the
/// last integrated one: on PostgreSQL an identity is taken at insert time, not at commit, so a
/// slower transaction legitimately commits a smaller id after a larger one was integrated.
fn check_chain(
    tx: &mut DbConnection,
    frontier: &Frontier,
    pending: &[i64],
) -> Result<(), StorageError> {
    let last_seq: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first(tx)?;
    let logged = last_seq.map_or(Ok(0), |s| to_u64(s).map(|s| s.saturating_add(1)))?;
    if logged != frontier.size() {
        return Err(StorageError::JournalIntegrity(format!(
            "audit_log compte {logged} entrées mais la dernière tête d'arbre en couvre {} : des lignes ont été écrites ou supprimées hors de l'intégrateur",
            frontier.size()
        )));
    }
    let replayed: Option<i64> = audit_log::table
        .filter(audit_log::pending_id.eq_any(pending))
        .select(audit_log::pending_id)
        .first(tx)
        .optional()?;
    if let Some(id) = replayed {
        return Err(StorageError::JournalIntegrity(format!(
            "l'entrée en attente n° {id} figure déjà au journal intégré : elle n'a pas été écrite par le service"
        )));
    }
    Ok(())
}

/// Moves up to `batch` pending entries into the tree, in one transaction: each gets the next
/// sequence number, its leaf hash, and the new tree head is appended. Returns how many.
pub fn integrate(
    conn: &mut DbConnection,
    batch: i64,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    write(conn, |tx| {
        lock_log(tx)?;
        let pending: Vec<(i64, String)> = audit_pending::table
            .order(audit_pending::id)
            .limit(batch)
            .select((audit_pending::id, audit_pending::entry))
            .load(tx)?;
        if pending.is_empty() {
            return Ok(0);
        }
        let mut frontier = latest_frontier(tx)?;
        let ids: Vec<i64> = pending.iter().map(|(id, _)| *id).collect();
        check_chain(tx, &frontier, &ids)?;
        let mut rows = Vec::with_capacity(pending.len());
        for (id, text) in &pending {
            let mut entry = Entry::from_canonical_bytes(text.as_bytes()).map_err(|e| {
                StorageError::JournalIntegrity(format!(
                    "l'entrée en attente n° {id} est illisible ou non canonique : {e}"
                ))
            })?;
            entry.seq = frontier.size();
            let canonical = String::from_utf8(entry.canonical_bytes()?)
                .map_err(|_| StorageError::Corrupt("canonical entry is not UTF-8".into()))?;
            let leaf = merkle::leaf_hash(canonical.as_bytes());
            frontier.push(leaf)?;
            rows.push(LogRow::new(*id, &entry, canonical, leaf)?);
        }
        // Multi-row inserts are outside MultiConnection's common subset, so go to each backend.
        for chunk in rows.chunks(500) {
            match tx {
                DbConnection::Sqlite(c) => diesel::insert_into(audit_log::table)
                    .values(chunk)
                    .execute(c)?,
                DbConnection::Pg(c) => diesel::insert_into(audit_log::table)
                    .values(chunk)
                    .execute(c)?,
            };
        }
        diesel::insert_into(audit_heads::table)
            .values((
                audit_heads::tree_size.eq(to_i64(frontier.size())?),
                audit_heads::root_hash.eq(frontier.root().to_vec()),
                audit_heads::frontier.eq(frontier.to_bytes()),
                audit_heads::integrated_at.eq(to_db(now)),
            ))
            .execute(tx)?;
        diesel::delete(audit_pending::table.filter(audit_pending::id.eq_any(&ids))).execute(tx)?;
        Ok(pending.len())
    })
}

/// Integrates until nothing is pending; returns the total.
pub fn integrate_all(
    conn: &mut DbConnection,
    batch: i64,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    let mut total = 0;
    loop {
        let n = integrate(conn, batch, now)?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

/// Signs a checkpoint of the current tree if it has grown since the last one by anything other
/// than checkpoint records (otherwise each checkpoint's own entry would call for another).
/// `force` signs whenever the tree has grown at all (on demand). The signature is journaled in
/// the same transaction.
pub fn sign_checkpoint(
    conn: &mut DbConnection,
    key: &SignerKey,
    force: bool,
    now: OffsetDateTime,
) -> Result<Option<CheckpointRecord>, StorageError> {
    write(conn, |tx| {
        lock_log(tx)?;
        let frontier = latest_frontier(tx)?;
        let last: i64 = audit_checkpoints::table
            .select(diesel::dsl::max(audit_checkpoints::tree_size))
            .first::<Option<i64>>(tx)?
            .unwrap_or(-1);
        let size = to_i64(frontier.size())?;
        if size <= last.max(0) && !(last < 0 && size == 0 && force) {
            return Ok(None);
        }
        if !force {
            let meaningful: i64 = audit_log::table
                .filter(audit_log::seq.ge(last.max(0)))
                .filter(audit_log::action.ne(Action::CheckpointSigned.as_str()))
                .count()
                .get_result(tx)?;
            if meaningful == 0 {
                return Ok(None);
            }
        }
        let checkpoint = Checkpoint {
            origin: key.name().to_owned(),
            size: frontier.size(),
            root: frontier.root(),
        };
        let note = checkpoint.sign(key)?;
        diesel::insert_into(audit_checkpoints::table)
            .values((
                audit_checkpoints::tree_size.eq(size),
                audit_checkpoints::root_hash.eq(checkpoint.root.to_vec()),
                audit_checkpoints::signed_note.eq(&note),
                audit_checkpoints::signed_at.eq(to_db(now)),
            ))
            .execute(tx)?;
        journal::record(
            tx,
            &AuditContext::system(),
            Event::new(Action::CheckpointSigned)
                .target(checkpoint.size)
                .detail("root", hex::encode(checkpoint.root))
                .detail("key", key.verifier()),
            now,
        )?;
        Ok(Some(CheckpointRecord {
            tree_size: checkpoint.size,
            root: checkpoint.root,
            signed_note: note,
            signed_at: now,
        }))
    })
}

/// The Merkle Tree Hash of the entries at positions `range`, their leaf hashes streamed page by
/// page into a frontier: memory stays O(log n) however large the range.
fn range_root(conn: &mut DbConnection, range: std::ops::Range<u64>) -> Result<Hash, StorageError> {
    let mut frontier = Frontier::new();
    let end = to_i64(range.end)?;
    let mut next = to_i64(range.start)?;
    while next < end {
        // Keyset form without an upper bound, as verification's `load_page`.
        let page: Vec<(i64, Vec<u8>)> = audit_log::table
            .filter(audit_log::seq.ge(next))
            .order(audit_log::seq)
            .limit((PAGE * 10).min(end - next))
            .select((audit_log::seq, audit_log::leaf_hash))
            .load(conn)?;
        for (seq, leaf) in &page {
            // A gap: what follows cannot be the checkpoint's leaves.
            if *seq != next {
                break;
            }
            frontier.push(to_hash(leaf)?)?;
            next += 1;
        }
        if page.last().is_none_or(|(seq, _)| *seq >= next) {
            break;
        }
    }
    if next != end {
        return Err(StorageError::Corrupt(format!(
            "the log lacks entry {next} of the {} its checkpoint covers",
            range.end
        )));
    }
    Ok(frontier.root())
}

/// An inclusion proof of entry `seq` against the latest signed checkpoint, verifiable offline
/// with only the public key. Each hash of the proof is a subtree's root, hashed from its leaves
/// as they are read (RFC 9162 §2.1.3.1): every leaf is read once, none is held.
pub fn prove(conn: &mut DbConnection, seq: u64) -> Result<InclusionBundle, StorageError> {
    let checkpoint = latest_checkpoint(conn)?.ok_or(StorageError::NotFound)?;
    if seq >= checkpoint.tree_size {
        return Err(StorageError::NotFound);
    }
    let text: String = audit_log::table
        .find(to_i64(seq)?)
        .select(audit_log::entry)
        .first(conn)
        .map_err(StorageError::from_query)?;
    // A redacted entry has nothing left to prove.
    if text.is_empty() {
        return Err(StorageError::NotFound);
    }
    let entry = Entry::from_canonical_bytes(text.as_bytes())?;
    let proof = merkle::inclusion_ranges(seq, checkpoint.tree_size)?
        .into_iter()
        .map(|range| range_root(conn, range))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InclusionBundle::new(
        &entry,
        checkpoint.tree_size,
        &proof,
        checkpoint.signed_note,
    )?)
}

/// Writes the integrated entries with `from <= at < to` as JSON lines (their canonical form);
/// returns how many. Redacted entries have no form left and are not written. Streams page by page, never holding the log in memory.
pub fn export(
    conn: &mut DbConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
    out: &mut dyn Write,
) -> Result<u64, StorageError> {
    let mut count = 0;
    let mut next = 0i64;
    loop {
        let page: Vec<(i64, String)> = audit_log::table
            .filter(audit_log::seq.ge(next))
            .filter(
                audit_log::at
                    .ge(to_db(from))
                    .and(audit_log::at.lt(to_db(to))),
            )
            .filter(audit_log::redacted_at.is_null())
            .order(audit_log::seq)
            .limit(PAGE)
            .select((audit_log::seq, audit_log::entry))
            .load(conn)?;
        let Some(last) = page.last() else {
            return Ok(count);
        };
        next = last.0 + 1;
        for (_, entry) in &page {
            out.write_all(entry.as_bytes())?;
            out.write_all(b"\n")?;
            count += 1;
        }
    }
}
