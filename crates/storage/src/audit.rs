//! The audit log proper: integrating pending entries into the Merkle tree, signing checkpoints,
//! verifying everything from scratch, proving inclusion and exporting.
//!
//! The tree maths and formats live in the pure `ac-audit` crate; this module only moves bytes
//! between it and the database.

use ac_audit::merkle::{self, Hash};
use ac_audit::replay::Difference;
pub use ac_audit::verify::Tamper;
use ac_audit::verify::{
    CheckedPage, ExpectedRoots, Rebuild, StoredCheckpoint, StoredRow, check_page, tamper,
};
use ac_audit::{Action, Checkpoint, Entry, Frontier, InclusionBundle, SignerKey, VerifierKey};
use diesel::prelude::*;
use std::io::Write;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::schema::{audit_checkpoints, audit_heads, audit_log, audit_pending};
use crate::{Database, DbConnection, from_db, to_db, write};

/// Rows read per round trip when streaming the log.
const PAGE: i64 = 10_000;
/// Key of the PostgreSQL advisory lock that serialises integrators and checkpoint signers
/// across every app node ("acaudit" in ASCII).
const LOG_LOCK: i64 = 0x61_63_61_75_64_69_74;

fn to_u64(v: i64) -> Result<u64, StorageError> {
    u64::try_from(v).map_err(|_| StorageError::Corrupt(format!("negative audit size {v}")))
}

fn to_i64(v: u64) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Corrupt(format!("audit size {v} too large")))
}

fn to_hash(bytes: &[u8]) -> Result<Hash, StorageError> {
    Hash::try_from(bytes).map_err(|_| StorageError::Corrupt("audit hash is not 32 bytes".into()))
}

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

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    pub tree_size: u64,
    pub root: Hash,
    /// The C2SP signed note, as published.
    pub signed_note: String,
    pub signed_at: OffsetDateTime,
}

type CheckpointRow = (i64, Vec<u8>, String, PrimitiveDateTime);

fn checkpoint_record(row: CheckpointRow) -> Result<CheckpointRecord, StorageError> {
    Ok(CheckpointRecord {
        tree_size: to_u64(row.0)?,
        root: to_hash(&row.1)?,
        signed_note: row.2,
        signed_at: from_db(row.3),
    })
}

fn checkpoint_columns() -> (
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

/// The outcome of a full verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub entries: u64,
    /// Entries whose payload was erased at the end of the journal's period (their leaf hash
    /// still counts in the tree).
    pub redacted: u64,
    pub checkpoints: u64,
    pub pending: u64,
    pub root: Hash,
    /// The first problem of the log itself (entries, heads, checkpoints, pending entries).
    pub problem: Option<Tamper>,
    /// Every row of `mandates` and `authorizations` the journal's mandate events contradict
    /// (replayed once the log itself verified).
    pub differences: Vec<Difference>,
    /// The newest redacted entry, checked against the redaction horizon.
    last_redacted: Option<u64>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none() && self.differences.is_empty()
    }
}

/// What verification holds the log to beyond its own maths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectations {
    pub now: OffsetDateTime,
    /// A pending entry older than this means the integrator is stopped or stuck
    /// (`audit.pending_max_age_secs`).
    pub pending_max_age: time::Duration,
    /// Entries may have been redacted only if they existed at this instant
    /// (`retention::Policy::journal_cutoff`).
    pub journal_cutoff: OffsetDateTime,
}

impl Expectations {
    /// At `now`, with the configured `audit.pending_max_age_secs`.
    pub fn new(now: OffsetDateTime, pending_max_age: time::Duration) -> Self {
        Self {
            now,
            pending_max_age,
            journal_cutoff: crate::retention::Policy::default().journal_cutoff(now),
        }
    }

    /// With the configured retention (`[retention] journal_days` may shorten the period).
    pub fn with_retention(mut self, policy: &crate::retention::Policy) -> Self {
        self.journal_cutoff = policy.journal_cutoff(self.now);
        self
    }
}

/// The rows from `seq >= from`, in order, as many as `from..to` should hold. The query has no
/// upper bound on purpose: with one, PostgreSQL may plan a bitmap scan and a sort that spills to
/// disk (five times slower, seen on a freshly loaded log); with a `LIMIT` only, it walks the
/// primary key. A row missing in the page shows as a later one in its place.
fn load_page(conn: &mut DbConnection, from: u64, to: u64) -> Result<Vec<StoredRow>, StorageError> {
    type Read = (
        i64,
        String,
        Vec<u8>,
        PrimitiveDateTime,
        String,
        String,
        Option<String>,
        (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ),
        Option<PrimitiveDateTime>,
    );
    let rows: Vec<Read> = audit_log::table
        .filter(audit_log::seq.ge(to_i64(from)?))
        .order(audit_log::seq)
        .limit(to_i64(to.saturating_sub(from))?)
        .select((
            audit_log::seq,
            audit_log::entry,
            audit_log::leaf_hash,
            audit_log::at,
            audit_log::action,
            audit_log::actor_kind,
            audit_log::actor_id,
            (
                audit_log::organisation_id,
                audit_log::usager,
                audit_log::demarche,
                audit_log::client_id,
                audit_log::target,
            ),
            audit_log::redacted_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                seq,
                text,
                leaf,
                at,
                action,
                actor_kind,
                actor_id,
                (organisation_id, usager, demarche, client_id, target),
                redacted_at,
            )| StoredRow {
                seq,
                text,
                leaf,
                at: from_db(at),
                action,
                actor_kind,
                actor_id,
                organisation_id,
                usager,
                demarche,
                client_id,
                target,
                redacted: redacted_at.is_some(),
            },
        )
        .collect())
}

/// One of verification's reading threads: on its own connection, reads and checks the pages
/// `first`, `first + stride`, … of the log's first `size` entries and sends them on, in order.
/// Each row is read, checked and dropped on this thread. Stops after the last page, a problem
/// or a failed read, or when verification stops listening.
fn read_and_check(
    conn: &mut DbConnection,
    size: u64,
    first: u64,
    stride: u64,
    out: &std::sync::mpsc::SyncSender<Result<CheckedPage, StorageError>>,
) {
    let page = PAGE.unsigned_abs();
    let mut from = first * page;
    while from < size {
        let to = from.saturating_add(page).min(size);
        let checked = load_page(conn, from, to).and_then(|rows| {
            let mut page = check_page(from, to, &rows);
            page.heads = heads_in(conn, from.saturating_add(1), to)?;
            Ok(page)
        });
        let last = !matches!(&checked, Ok(page) if page.problem.is_none());
        if out.send(checked).is_err() || last {
            return;
        }
        from = from.saturating_add(stride * page);
    }
}

/// The tree heads stored at sizes `from..=to`, by size: at most one per entry of a page.
fn heads_in(conn: &mut DbConnection, from: u64, to: u64) -> Result<Vec<(u64, Hash)>, StorageError> {
    audit_heads::table
        .filter(audit_heads::tree_size.between(to_i64(from)?, to_i64(to)?))
        .order(audit_heads::tree_size)
        .select((audit_heads::tree_size, audit_heads::root_hash))
        .load::<(i64, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(size, root)| Ok((to_u64(size)?, to_hash(&root)?)))
        .collect()
}

/// Takes the checked pages back in order, one reader after the other, until a problem or the
/// first reader with nothing more to send (it hangs up after its last page).
fn grow(
    tree: &mut Rebuild<'_>,
    readers: &[std::sync::mpsc::Receiver<Result<CheckedPage, StorageError>>],
) -> Result<Option<Tamper>, StorageError> {
    for reader in readers.iter().cycle() {
        let Ok(page) = reader.recv() else {
            break;
        };
        if let Some(problem) = tree.take(page?)? {
            return Ok(Some(problem));
        }
    }
    Ok(None)
}

/// Recomputes everything from the stored entries: every leaf hash, the dense sequence, each tree
/// head, each checkpoint's signature and root, and the consistency between consecutive
/// checkpoints; then that no row follows the last tree head, that every checkpoint journaled or
/// published still has its row, and that pending entries are readable, not already integrated
/// and have not waited too long. `published` are checkpoints kept outside the database (files, copies held by
/// auditors): they anchor the log even if its checkpoint rows were removed. Stops at the first
/// problem of the log. When the log verifies, replays its mandate events against the mandate
/// tables and lists every difference (`ac_audit::replay`).
pub fn verify(
    db: &Database,
    verifiers: &[VerifierKey],
    published: &[String],
    expect: &Expectations,
) -> Result<Verification, StorageError> {
    let mut report = verify_log(db, verifiers, published)?;
    if report.problem.is_none()
        && let Some(last) = report.last_redacted
    {
        report.problem = redacted_too_young(&mut *db.conn()?, last, expect)?;
    }
    if report.problem.is_none() {
        report.problem = after_the_tree(
            &mut *db.conn()?,
            report.entries,
            verifiers,
            published,
            expect,
        )?;
    }
    if report.problem.is_none() {
        report.differences = crate::audit_replay::mandate_differences(&mut *db.conn()?)?;
    }
    Ok(report)
}

/// Redaction goes in sequence order and only below the horizon at the journal's cutoff
/// (`retention::journal`): a redacted entry at or above it was erased before its time. The
/// horizon is read from `checkpoint.signed` entries, whose times the rebuild has just checked.
fn redacted_too_young(
    conn: &mut DbConnection,
    last_redacted: u64,
    expect: &Expectations,
) -> Result<Option<Tamper>, StorageError> {
    let horizon = crate::retention::journal::horizon(conn, expect.journal_cutoff)?;
    if horizon.is_some_and(|h| last_redacted < h) {
        return Ok(None);
    }
    Ok(Some(tamper(
        Some(last_redacted),
        format!(
            "l'entrée {last_redacted} a été caviardée avant la fin de la durée de conservation du journal (aucun point de contrôle signé avant le {} ne la couvre)",
            expect.journal_cutoff.date()
        ),
    )))
}

/// The checks of [`verify`] that follow the tree's rebuild of the first `size` entries.
fn after_the_tree(
    conn: &mut DbConnection,
    size: u64,
    verifiers: &[VerifierKey],
    published: &[String],
    expect: &Expectations,
) -> Result<Option<Tamper>, StorageError> {
    // Read before the heads: the integrator writes rows and their head in one transaction, so
    // a head read later covers at least every row seen here.
    let last: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first(conn)?;
    let logged = last.map_or(Ok(0), |l| to_u64(l).map(|l| l.saturating_add(1)))?;
    let head: Option<i64> = audit_heads::table
        .select(diesel::dsl::max(audit_heads::tree_size))
        .first(conn)?;
    let head = head.map_or(Ok(0), to_u64)?;
    if logged > head {
        return Ok(Some(tamper(
            Some(head),
            format!(
                "audit_log contient {logged} entrées mais la dernière tête d'arbre n'en couvre que {head} : les entrées à partir de {head} n'ont pas été intégrées par le service (insérées à la main, ou têtes d'arbre supprimées)"
            ),
        )));
    }

    // Checkpoint rows never go (append-only): a checkpoint journaled or published without its
    // row had it deleted. Read after the log, so every checkpoint journaled there has its row.
    let journaled: Vec<Option<String>> = audit_log::table
        .filter(audit_log::action.eq(Action::CheckpointSigned.as_str()))
        .filter(audit_log::seq.lt(to_i64(size)?))
        .select(audit_log::target)
        .load(conn)?;
    let rows: std::collections::BTreeSet<i64> = audit_checkpoints::table
        .select(audit_checkpoints::tree_size)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let mut sizes: Vec<(u64, &str)> = Vec::new();
    for target in journaled.iter().flatten() {
        let size = target
            .parse::<u64>()
            .map_err(|_| StorageError::Corrupt(format!("checkpoint.signed target {target}")))?;
        sizes.push((size, "journalisé"));
    }
    for note in published {
        // Each one's signature was checked by `verify_log` already.
        let signed = Checkpoint::verify(note, verifiers)?;
        sizes.push((signed.size, "publié"));
    }
    for (size, how) in sizes {
        if !rows.contains(&to_i64(size)?) {
            return Ok(Some(tamper(
                None,
                format!(
                    "le point de contrôle de taille {size} ({how}) n'a plus de ligne dans audit_checkpoints : elle a été supprimée"
                ),
            )));
        }
    }

    // Pending entries: none already integrated (one statement, so one snapshot of both tables:
    // the integrator moves rows from one to the other in a single transaction), each readable,
    // none waiting too long. Their ids are not ordered against the integrated ones (see
    // `check_chain`).
    let replayed: Option<i64> = audit_pending::table
        .inner_join(audit_log::table.on(audit_log::pending_id.eq(audit_pending::id)))
        .select(audit_pending::id)
        .first(conn)
        .optional()?;
    if let Some(id) = replayed {
        return Ok(Some(tamper(
            None,
            format!(
                "l'entrée en attente n° {id} figure déjà au journal intégré : elle n'a pas été écrite par le service"
            ),
        )));
    }
    let pending: Vec<(i64, String, PrimitiveDateTime)> = audit_pending::table
        .order(audit_pending::id)
        .select((
            audit_pending::id,
            audit_pending::entry,
            audit_pending::created_at,
        ))
        .load(conn)?;
    let too_old = expect.now.checked_sub(expect.pending_max_age);
    for (id, text, created_at) in pending {
        if let Err(e) = Entry::from_canonical_bytes(text.as_bytes()) {
            return Ok(Some(tamper(
                None,
                format!("l'entrée en attente n° {id} est illisible ou non canonique : {e}"),
            )));
        }
        if too_old.is_some_and(|limit| from_db(created_at) < limit) {
            return Ok(Some(tamper(
                None,
                format!(
                    "l'entrée en attente n° {id} attend son intégration depuis plus de {} s (audit.pending_max_age_secs) : l'intégrateur est arrêté ou bloqué",
                    expect.pending_max_age.whole_seconds()
                ),
            )));
        }
    }
    Ok(None)
}

/// [`verify`]'s rebuild of the tree: entries, heads and checkpoints, by the rules of
/// `ac_audit::verify`; this function only reads.
fn verify_log(
    db: &Database,
    verifiers: &[VerifierKey],
    published: &[String],
) -> Result<Verification, StorageError> {
    let mut first_reader = db.conn()?;
    let conn = &mut *first_reader;
    let pending: i64 = audit_pending::table.count().get_result(conn)?;
    let mut report = Verification {
        entries: 0,
        redacted: 0,
        last_redacted: None,
        checkpoints: 0,
        pending: to_u64(pending)?,
        root: merkle::empty_root(),
        problem: None,
        differences: Vec::new(),
    };

    // Checkpoints first: a bad signature means nothing below can be trusted.
    let stored = audit_checkpoints::table
        .order(audit_checkpoints::tree_size)
        .select(checkpoint_columns())
        .load::<CheckpointRow>(conn)?
        .into_iter()
        .map(|row| {
            checkpoint_record(row).map(|r| StoredCheckpoint {
                tree_size: r.tree_size,
                root: r.root,
                signed_note: r.signed_note,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Only the last head's size here; the heads themselves are read with the pages they cover.
    // Read before the log's size, so a head written meanwhile cannot pass for entries removed.
    let largest_head: Option<i64> = audit_heads::table
        .select(diesel::dsl::max(audit_heads::tree_size))
        .first(conn)?;
    let largest_head = largest_head.map(to_u64).transpose()?;
    let expected = match ExpectedRoots::build(&stored, published, largest_head, verifiers) {
        Ok(expected) => expected,
        Err(problem) => {
            report.problem = Some(problem);
            return Ok(report);
        }
    };
    report.checkpoints = expected.checkpoints;

    // The entries integrated when verification starts; later ones wait for the next run.
    let last: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first(conn)?;
    let size = last.map_or(Ok(0), |last| to_u64(last).map(|l| l.saturating_add(1)))?;
    let mut tree = Rebuild::new(&expected);
    if let Some(problem) = tree.meet_heads(&heads_in(conn, 0, 0)?) {
        report.problem = Some(problem);
        return Ok(report);
    }

    // Reading a row costs more than checking it (docs/performance.md), so each core gets its
    // own connection and reads and checks every n-th page, while this thread grows the tree
    // from the pages taken back in order.
    let mut readers = vec![first_reader];
    let wanted = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4);
    while readers.len() < wanted
        && let Some(reader) = db.spare_conn()
    {
        readers.push(reader);
    }
    let stride = readers.len() as u64;
    let outcome = std::thread::scope(|scope| {
        let (pages, threads): (Vec<_>, Vec<_>) = readers
            .iter_mut()
            .zip(0u64..)
            .map(|(reader, first)| {
                let (out, pages) = std::sync::mpsc::sync_channel(2);
                let reader = &mut **reader;
                let thread = scope.spawn(move || read_and_check(reader, size, first, stride, &out));
                (pages, thread)
            })
            .unzip();
        let grown = grow(&mut tree, &pages);
        drop(pages);
        // A reader that died would look like the end of the log: it must not pass for one.
        let died = threads
            .into_iter()
            .map(std::thread::ScopedJoinHandle::join)
            .filter(Result::is_err)
            .count();
        match grown {
            Ok(None) if died > 0 || tree.size() < size => Err(StorageError::Corrupt(
                "a verification reader stopped before the end of the log".into(),
            )),
            grown => grown,
        }
    });
    report.entries = tree.size();
    report.redacted = tree.redacted;
    report.last_redacted = tree.last_redacted;
    if let Some(problem) = outcome? {
        report.problem = Some(problem);
        return Ok(report);
    }
    report.root = tree.root();
    report.problem = tree.finish();
    Ok(report)
}

/// Leaf hashes of the first `size` entries, in order.
fn leaf_hashes(conn: &mut DbConnection, size: u64) -> Result<Vec<Hash>, StorageError> {
    let mut leaves = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let end = to_i64(size)?;
    let mut next = 0i64;
    'pages: while next < end {
        // Keyset form without an upper bound, as in `load_page`.
        let page: Vec<(i64, Vec<u8>)> = audit_log::table
            .filter(audit_log::seq.ge(next))
            .order(audit_log::seq)
            .limit((PAGE * 10).min(end - next))
            .select((audit_log::seq, audit_log::leaf_hash))
            .load(conn)?;
        let Some(last) = page.last() else { break };
        next = last.0 + 1;
        for (seq, leaf) in &page {
            // A gap: what follows cannot be the checkpoint's leaves, so stop reading.
            if to_u64(*seq)? != leaves.len() as u64 {
                break 'pages;
            }
            leaves.push(to_hash(leaf)?);
        }
    }
    if leaves.len() as u64 != size {
        return Err(StorageError::Corrupt(format!(
            "the log holds {} of the {size} entries its checkpoint covers",
            leaves.len()
        )));
    }
    Ok(leaves)
}

/// An inclusion proof of entry `seq` against the latest signed checkpoint, verifiable offline
/// with only the public key.
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
    let leaves = leaf_hashes(conn, checkpoint.tree_size)?;
    let proof = merkle::inclusion_proof(&leaves, seq)?;
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
