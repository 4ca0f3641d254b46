//! The audit log proper: integrating pending entries into the Merkle tree, signing checkpoints,
//! verifying everything from scratch, proving inclusion and exporting.
//!
//! The tree maths and formats live in the pure `ac-audit` crate; this module only moves bytes
//! between it and the database.

use ac_audit::merkle::{self, Hash};
use ac_audit::replay::Difference;
use ac_audit::{
    Action, Checkpoint, Entry, EntryView, Frontier, InclusionBundle, SignerKey, VerifierKey,
};
use diesel::prelude::*;
use std::collections::BTreeMap;
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

/// What verification found wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper {
    /// The first sequence number known to be bad, when it can be pinned down.
    pub seq: Option<u64>,
    pub what: String,
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
    pub fn new(now: OffsetDateTime, pending_max_age_secs: u64) -> Self {
        Self {
            now,
            pending_max_age: time::Duration::seconds(
                i64::try_from(pending_max_age_secs).unwrap_or(i64::MAX),
            ),
            journal_cutoff: crate::retention::Policy::default().journal_cutoff(now),
        }
    }

    /// With the configured retention (`[retention] journal_days` may shorten the period).
    pub fn with_retention(mut self, policy: &crate::retention::Policy) -> Self {
        self.journal_cutoff = policy.journal_cutoff(self.now);
        self
    }
}

type LogRowRead = (
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

fn tamper(seq: Option<u64>, what: String) -> Tamper {
    Tamper { seq, what }
}

/// A row once checked: its leaf hash, and whether it was redacted.
struct CheckedRow {
    leaf: Hash,
    redacted: bool,
}

/// Checks one stored row against the entry it holds. A redacted row has no entry left to check:
/// its stored leaf hash goes into the tree as it is, where any change to it shows at the next
/// checkpoint's root, and its age is checked once the tree is rebuilt ([`verify`]).
fn check_row(expected_seq: u64, row: &LogRowRead) -> Result<CheckedRow, Tamper> {
    let (
        seq,
        text,
        leaf,
        at,
        action,
        actor_kind,
        actor_id,
        (organisation_id, usager, demarche, client_id, target),
        redacted_at,
    ) = row;
    let here = Some(expected_seq);
    if u64::try_from(*seq).ok() != here {
        return Err(tamper(
            here,
            format!("l'entrée {expected_seq} manque (la suivante porte le numéro {seq})"),
        ));
    }
    if redacted_at.is_some() {
        let erased = text.is_empty()
            && actor_id.is_none()
            && organisation_id.is_none()
            && usager.is_none()
            && demarche.is_none()
            && client_id.is_none()
            && target.is_none();
        let leaf = to_hash(leaf).ok().filter(|_| erased).ok_or_else(|| {
            tamper(
                here,
                format!(
                    "l'entrée {expected_seq} est marquée caviardée mais garde une partie de son contenu"
                ),
            )
        })?;
        return Ok(CheckedRow {
            leaf,
            redacted: true,
        });
    }
    let entry = EntryView::read_str(text).map_err(|e| {
        tamper(
            here,
            format!("l'entrée {expected_seq} est illisible ou non canonique : {e}"),
        )
    })?;
    if entry.seq != expected_seq {
        return Err(tamper(
            here,
            format!(
                "l'entrée à la position {expected_seq} porte le numéro {} (entrées déplacées)",
                entry.seq
            ),
        ));
    }
    let computed = merkle::leaf_hash(text.as_bytes());
    if leaf.as_slice() != computed.as_slice() {
        return Err(tamper(
            here,
            format!("l'entrée {expected_seq} ne correspond plus à son empreinte (contenu modifié)"),
        ));
    }
    let columns_match = to_db(entry.at) == *at
        && entry.action.as_str() == action
        && entry.actor_kind.as_str() == actor_kind
        && entry.actor_id.as_deref() == actor_id.as_deref()
        && entry.organisation_id.as_deref() == organisation_id.as_deref()
        && entry.usager.as_deref() == usager.as_deref()
        && entry.demarche.as_deref() == demarche.as_deref()
        && entry.client_id.as_deref() == client_id.as_deref()
        && entry.target.as_deref() == target.as_deref();
    if !columns_match {
        return Err(tamper(
            here,
            format!(
                "les colonnes de recherche de l'entrée {expected_seq} ne correspondent pas à l'entrée signée"
            ),
        ));
    }
    Ok(CheckedRow {
        leaf: computed,
        redacted: false,
    })
}

/// The rows from `seq >= from`, in order, as many as `from..to` should hold. The query has no
/// upper bound on purpose: with one, PostgreSQL may plan a bitmap scan and a sort that spills to
/// disk (five times slower, seen on a freshly loaded log); with a `LIMIT` only, it walks the
/// primary key. A row missing in the page shows as a later one in its place.
fn load_page(conn: &mut DbConnection, from: u64, to: u64) -> Result<Vec<LogRowRead>, StorageError> {
    Ok(audit_log::table
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
        .load(conn)?)
}

/// A page of the log once checked: the leaf hashes of its rows up to the first problem, and
/// that problem. The leaves before it still go into the tree, so that a root which disagrees
/// earlier is reported first.
struct CheckedPage {
    leaves: Vec<Hash>,
    problem: Option<Tamper>,
    redacted: u64,
    last_redacted: Option<u64>,
}

/// Checks the rows of the page `from..to`, in order, stopping at the first problem. A row
/// missing at the end of the page is reported here; one missing before another shows as a
/// sequence number out of place in [`check_row`].
fn check_page(from: u64, to: u64, rows: &[LogRowRead]) -> CheckedPage {
    let mut page = CheckedPage {
        leaves: Vec::with_capacity(rows.len()),
        problem: None,
        redacted: 0,
        last_redacted: None,
    };
    for (row, seq) in rows.iter().zip(from..) {
        match check_row(seq, row) {
            Ok(checked) => {
                page.leaves.push(checked.leaf);
                if checked.redacted {
                    page.redacted += 1;
                    page.last_redacted = Some(seq);
                }
            }
            Err(problem) => {
                page.problem = Some(problem);
                return page;
            }
        }
    }
    let next = from + page.leaves.len() as u64;
    page.problem = (next < to).then(|| tamper(Some(next), format!("l'entrée {next} manque")));
    page
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
        let checked = load_page(conn, from, to).map(|rows| check_page(from, to, &rows));
        let last = !matches!(&checked, Ok(page) if page.problem.is_none());
        if out.send(checked).is_err() || last {
            return;
        }
        from = from.saturating_add(stride * page);
    }
}

/// The tree as verification rebuilds it, held against every known root as it grows.
struct Rebuilt<'a> {
    expected_roots: &'a BTreeMap<u64, (Hash, &'static str)>,
    frontier: Frontier,
    leaves: Vec<Hash>,
    last_good_checkpoint: u64,
    redacted: u64,
    last_redacted: Option<u64>,
}

impl<'a> Rebuilt<'a> {
    fn new(expected_roots: &'a BTreeMap<u64, (Hash, &'static str)>) -> Self {
        Self {
            expected_roots,
            frontier: Frontier::new(),
            leaves: Vec::new(),
            last_good_checkpoint: 0,
            redacted: 0,
            last_redacted: None,
        }
    }

    /// Takes the checked pages back in order, one reader after the other, until a problem or
    /// the first reader with nothing more to send (it hangs up after its last page).
    fn grow(
        &mut self,
        readers: &[std::sync::mpsc::Receiver<Result<CheckedPage, StorageError>>],
    ) -> Result<Option<Tamper>, StorageError> {
        for reader in readers.iter().cycle() {
            let Ok(page) = reader.recv() else {
                break;
            };
            let page = page?;
            self.redacted += page.redacted;
            self.last_redacted = page.last_redacted.or(self.last_redacted);
            for leaf in page.leaves {
                if let Some(problem) = self.push(leaf)? {
                    return Ok(Some(problem));
                }
            }
            if page.problem.is_some() {
                return Ok(page.problem);
            }
        }
        Ok(None)
    }

    fn push(&mut self, leaf: Hash) -> Result<Option<Tamper>, StorageError> {
        self.frontier.push(leaf)?;
        self.leaves.push(leaf);
        let size = self.frontier.size();
        let Some((root, source)) = self.expected_roots.get(&size) else {
            return Ok(None);
        };
        if *root != self.frontier.root() {
            let good = self.last_good_checkpoint;
            return Ok(Some(tamper(
                Some(good),
                format!(
                    "la racine recalculée des {size} premières entrées diffère de la {source} : une entrée entre {good} et {} a été modifiée",
                    size - 1
                ),
            )));
        }
        if *source == "point de contrôle signé" {
            self.last_good_checkpoint = size;
        }
        Ok(None)
    }
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

/// [`verify`]'s rebuild of the tree: entries, heads and checkpoints.
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
    let mut expected_roots: BTreeMap<u64, (Hash, &'static str)> = BTreeMap::new();
    let rows: Vec<CheckpointRow> = audit_checkpoints::table
        .order(audit_checkpoints::tree_size)
        .select(checkpoint_columns())
        .load(conn)?;
    let mut checkpoints: Vec<(u64, Hash)> = Vec::new();
    for row in rows {
        let record = checkpoint_record(row)?;
        let signed = match Checkpoint::verify(&record.signed_note, verifiers) {
            Ok(c) => c,
            Err(e) => {
                report.problem = Some(tamper(
                    None,
                    format!(
                        "le point de contrôle de taille {} n'est pas signé par une clé de confiance : {e}",
                        record.tree_size
                    ),
                ));
                return Ok(report);
            }
        };
        if signed.size != record.tree_size || signed.root != record.root {
            report.problem = Some(tamper(
                None,
                format!(
                    "le point de contrôle de taille {} ne correspond pas à sa note signée",
                    record.tree_size
                ),
            ));
            return Ok(report);
        }
        expected_roots.insert(signed.size, (signed.root, "point de contrôle signé"));
        checkpoints.push((signed.size, signed.root));
    }
    for note in published {
        let signed = match Checkpoint::verify(note, verifiers) {
            Ok(c) => c,
            Err(e) => {
                report.problem = Some(tamper(
                    None,
                    format!(
                        "un point de contrôle publié n'est pas signé par une clé de confiance : {e}"
                    ),
                ));
                return Ok(report);
            }
        };
        match expected_roots.get(&signed.size) {
            Some((root, _)) if *root != signed.root => {
                report.problem = Some(tamper(
                    None,
                    format!(
                        "le point de contrôle publié de taille {} contredit celui de la base",
                        signed.size
                    ),
                ));
                return Ok(report);
            }
            Some(_) => {}
            None => {
                expected_roots.insert(signed.size, (signed.root, "point de contrôle signé"));
                checkpoints.push((signed.size, signed.root));
            }
        }
    }
    checkpoints.sort_unstable();
    report.checkpoints = checkpoints.len() as u64;
    let heads: Vec<(i64, Vec<u8>)> = audit_heads::table
        .select((audit_heads::tree_size, audit_heads::root_hash))
        .load(conn)?;
    for (size, root) in heads {
        expected_roots
            .entry(to_u64(size)?)
            .or_insert((to_hash(&root)?, "tête d'arbre"));
    }

    if let Some((root, _)) = expected_roots.get(&0)
        && *root != merkle::empty_root()
    {
        report.problem = Some(tamper(None, "la racine de l'arbre vide est fausse".into()));
        return Ok(report);
    }
    // The entries integrated when verification starts; later ones wait for the next run.
    let last: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first(conn)?;
    let size = last.map_or(Ok(0), |last| to_u64(last).map(|l| l.saturating_add(1)))?;

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
    let mut tree = Rebuilt::new(&expected_roots);
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
        let grown = tree.grow(&pages);
        drop(pages);
        // A reader that died would look like the end of the log: it must not pass for one.
        let died = threads
            .into_iter()
            .map(std::thread::ScopedJoinHandle::join)
            .filter(Result::is_err)
            .count();
        match grown {
            Ok(None) if died > 0 || tree.frontier.size() < size => Err(StorageError::Corrupt(
                "a verification reader stopped before the end of the log".into(),
            )),
            grown => grown,
        }
    });
    let Rebuilt {
        frontier,
        leaves,
        redacted,
        last_redacted,
        ..
    } = tree;
    report.redacted = redacted;
    report.last_redacted = last_redacted;
    if let Some(problem) = outcome? {
        report.entries = frontier.size();
        report.problem = Some(problem);
        return Ok(report);
    }
    report.entries = frontier.size();
    report.root = frontier.root();
    if let Some((size, _)) = expected_roots
        .iter()
        .next_back()
        .filter(|(s, _)| **s > frontier.size())
    {
        report.problem = Some(tamper(
            Some(frontier.size()),
            format!(
                "le journal s'arrête à {} entrées mais un état signé ou intégré en couvre {size} (entrées supprimées en fin de journal)",
                frontier.size()
            ),
        ));
        return Ok(report);
    }
    // RFC 9162 §2.1.4: each checkpoint extends the previous one.
    for pair in checkpoints.windows(2) {
        if let [(old_size, old_root), (new_size, new_root)] = pair {
            let new_len = usize::try_from(*new_size)
                .map_err(|_| StorageError::Corrupt("tree too large".into()))?;
            let prefix = leaves
                .get(..new_len)
                .ok_or_else(|| StorageError::Corrupt("checkpoint beyond log".into()))?;
            let proof = merkle::consistency_proof(prefix, *old_size)?;
            if merkle::verify_consistency(*old_size, *new_size, old_root, new_root, &proof).is_err()
            {
                report.problem = Some(tamper(
                    Some(*old_size),
                    format!(
                        "le point de contrôle {new_size} ne prolonge pas le point de contrôle {old_size}"
                    ),
                ));
                return Ok(report);
            }
        }
    }
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
