//! Verification of the stored log from scratch: storage reads the rows, tree heads and
//! checkpoints page by page on a few threads and hands them to the pure rules of
//! `ac_audit::verify`; nothing here holds the log, its heads or its checkpoints whole
//! (docs/performance.md, "Memory").

use ac_audit::merkle::{self, Hash};
use ac_audit::replay::Difference;
use ac_audit::verify::{
    self, CheckedPage, CheckpointWitness, ExpectedRoots, Rebuild, StoredCheckpoint, StoredRoots,
    StoredRow, Tamper, check_page, tamper,
};
use ac_audit::{Entry, VerifierKey};
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::stored::{
    CheckpointRow, PAGE, checkpoint_columns, checkpoint_record, to_hash, to_i64, to_u64,
};
use crate::error::StorageError;
use crate::schema::{audit_checkpoints, audit_heads, audit_log, audit_pending};
use crate::{Database, DbConnection, from_db};

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
    /// The sizes of the checkpoints published outside the database, each signature checked
    /// once, before the rebuild: each must still have its row.
    published_sizes: Vec<u64>,
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
/// Each row is read, checked and dropped on this thread, with the roots stored at the page's
/// sizes (checkpoint signatures checked here too). Stops after the last page, a problem or a
/// failed read, or when verification stops listening.
fn read_and_check(
    conn: &mut DbConnection,
    size: u64,
    (first, stride): (u64, u64),
    verifiers: &[VerifierKey],
    out: &std::sync::mpsc::SyncSender<Result<CheckedPage, StorageError>>,
) {
    let page = PAGE.unsigned_abs();
    let mut from = first * page;
    while from < size {
        let to = from.saturating_add(page).min(size);
        let checked = read_page(conn, from, to, verifiers);
        let last = !matches!(&checked, Ok(page) if page.problem.is_none());
        if out.send(checked).is_err() || last {
            return;
        }
        from = from.saturating_add(stride * page);
    }
}

/// The rows of positions `from..to` checked, with the roots stored at their sizes; a
/// checkpoint the page's entries journal and whose row is gone is the page's problem.
fn read_page(
    conn: &mut DbConnection,
    from: u64,
    to: u64,
    verifiers: &[VerifierKey],
) -> Result<CheckedPage, StorageError> {
    let rows = load_page(conn, from, to)?;
    let mut page = check_page(from, to, &rows);
    page.roots = stored_roots(conn, from.saturating_add(1), to, verifiers)?;
    if page.problem.is_none() {
        let accepted = rows.get(..page.leaves.len()).unwrap_or_default();
        page.problem = match verify::journaled_checkpoints(from, accepted) {
            Ok(sizes) => first_deleted(conn, &sizes, CheckpointWitness::Journal)?,
            Err(problem) => Some(problem),
        };
    }
    Ok(page)
}

/// The tree heads and signed checkpoints stored at sizes `from..=to`, by size (at most one of
/// each per size), each checkpoint's signature checked.
fn stored_roots(
    conn: &mut DbConnection,
    from: u64,
    to: u64,
    verifiers: &[VerifierKey],
) -> Result<StoredRoots, StorageError> {
    let heads = audit_heads::table
        .filter(audit_heads::tree_size.between(to_i64(from)?, to_i64(to)?))
        .order(audit_heads::tree_size)
        .select((audit_heads::tree_size, audit_heads::root_hash))
        .load::<(i64, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(size, root)| Ok((to_u64(size)?, to_hash(&root)?)))
        .collect::<Result<_, StorageError>>()?;
    let checkpoints = checkpoints_in(conn, from, to)?
        .iter()
        .map(|stored| verify::check_checkpoint(stored, verifiers))
        .collect();
    Ok(StoredRoots { heads, checkpoints })
}

/// The checkpoint rows at sizes `from..=to`, by size, at most a page of them.
fn checkpoints_in(
    conn: &mut DbConnection,
    from: u64,
    to: u64,
) -> Result<Vec<StoredCheckpoint>, StorageError> {
    audit_checkpoints::table
        .filter(audit_checkpoints::tree_size.between(to_i64(from)?, to_i64(to)?))
        .order(audit_checkpoints::tree_size)
        .limit(PAGE)
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
        .collect()
}

/// The first of `sizes` (a page's worth at most) that has no checkpoint row any more.
fn first_deleted(
    conn: &mut DbConnection,
    sizes: &[u64],
    witness: CheckpointWitness,
) -> Result<Option<Tamper>, StorageError> {
    if sizes.is_empty() {
        return Ok(None);
    }
    let wanted = sizes
        .iter()
        .map(|size| to_i64(*size))
        .collect::<Result<Vec<_>, _>>()?;
    let present: std::collections::BTreeSet<i64> = audit_checkpoints::table
        .filter(audit_checkpoints::tree_size.eq_any(&wanted))
        .select(audit_checkpoints::tree_size)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    Ok(sizes
        .iter()
        .zip(&wanted)
        .find(|(_, size)| !present.contains(size))
        .map(|(size, _)| verify::checkpoint_row_deleted(*size, witness)))
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
        report.problem = after_the_tree(&mut *db.conn()?, &report.published_sizes, expect)?;
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

/// The checks of [`verify`] that follow the tree's rebuild.
fn after_the_tree(
    conn: &mut DbConnection,
    published_sizes: &[u64],
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

    // Checkpoint rows never go (append-only): one published without its row had it deleted.
    // Those journaled were checked with their pages.
    for sizes in published_sizes.chunks(PAGE.unsigned_abs() as usize) {
        if let Some(problem) = first_deleted(conn, sizes, CheckpointWitness::Published)? {
            return Ok(Some(problem));
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
        published_sizes: Vec::new(),
    };

    // Only the largest sizes here; the heads and checkpoints themselves are read with the pages
    // they cover. Read before the log's size, so a head or checkpoint written meanwhile cannot
    // pass for entries removed.
    let largest_head: Option<i64> = audit_heads::table
        .select(diesel::dsl::max(audit_heads::tree_size))
        .first(conn)?;
    let largest_checkpoint: Option<i64> = audit_checkpoints::table
        .select(diesel::dsl::max(audit_checkpoints::tree_size))
        .first(conn)?;
    let largest_stored = largest_head
        .max(largest_checkpoint)
        .map(to_u64)
        .transpose()?;
    let expected = match ExpectedRoots::build(published, largest_stored, verifiers) {
        Ok(expected) => expected,
        Err(problem) => {
            report.problem = Some(problem);
            return Ok(report);
        }
    };

    // The entries integrated when verification starts; later ones wait for the next run.
    let last: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first(conn)?;
    let size = last.map_or(Ok(0), |last| to_u64(last).map(|l| l.saturating_add(1)))?;

    // A checkpoint beyond the log's end: none in a log written by the service, so checked first
    // (a bad signature names a forgery; a good one, entries removed from the end).
    let beyond = checkpoints_in(conn, size.saturating_add(1), i64::MAX.unsigned_abs())?;
    if let Some(problem) = beyond
        .iter()
        .find_map(|stored| verify::check_checkpoint(stored, verifiers).1.err())
    {
        report.problem = Some(problem);
        return Ok(report);
    }
    let mut tree = Rebuild::new(&expected);
    if let Some(problem) = tree.meet_here(stored_roots(conn, 0, 0, verifiers)?) {
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
                let thread = scope
                    .spawn(move || read_and_check(reader, size, (first, stride), verifiers, &out));
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
    report.checkpoints = tree.checkpoints;
    report.published_sizes = expected.published_sizes().collect();
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
