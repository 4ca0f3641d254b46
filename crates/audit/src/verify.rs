//! Verification of a stored log, as pure rules: each row against the entry it holds, the tree
//! rebuilt leaf by leaf against every known root (signed checkpoints, published copies, tree
//! heads). Storage reads the rows page by page and hands them here; nothing here touches a
//! database, and memory stays bounded by the tree's frontier (O(log n) hashes), not the log.
//!
//! Consistency between checkpoints (RFC 9162 §2.1.4) needs no proof here: every checkpoint's
//! root is compared with the root of the same leaves rebuilt in order, so two checkpoints that
//! both match are prefixes of one log.

use std::collections::BTreeMap;
use time::OffsetDateTime;

use crate::merkle::{self, Frontier, Hash};
use crate::{AuditError, Checkpoint, EntryView, VerifierKey};

/// What verification found wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper {
    /// The first sequence number known to be bad, when it can be pinned down.
    pub seq: Option<u64>,
    pub what: String,
}

pub fn tamper(seq: Option<u64>, what: String) -> Tamper {
    Tamper { seq, what }
}

/// A stored row of the log as read: the entry's text, the stored leaf hash, the copies of its
/// fields kept for search, and whether it was redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    pub seq: i64,
    pub text: String,
    pub leaf: Vec<u8>,
    pub at: OffsetDateTime,
    pub action: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub usager: Option<String>,
    pub demarche: Option<String>,
    pub client_id: Option<String>,
    pub target: Option<String>,
    pub redacted: bool,
}

/// A row once checked: its leaf hash, and whether it was redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedRow {
    pub leaf: Hash,
    pub redacted: bool,
}

/// Checks one stored row against the entry it holds. A redacted row has no entry left to check:
/// its stored leaf hash goes into the tree as it is, where any change to it shows at the next
/// checkpoint's root; its age is checked against the redaction horizon by the caller.
pub fn check_row(expected_seq: u64, row: &StoredRow) -> Result<CheckedRow, Tamper> {
    let here = Some(expected_seq);
    if u64::try_from(row.seq).ok() != here {
        return Err(tamper(
            here,
            format!(
                "l'entrée {expected_seq} manque (la suivante porte le numéro {})",
                row.seq
            ),
        ));
    }
    if row.redacted {
        let erased = row.text.is_empty()
            && row.actor_id.is_none()
            && row.organisation_id.is_none()
            && row.usager.is_none()
            && row.demarche.is_none()
            && row.client_id.is_none()
            && row.target.is_none();
        let leaf = Hash::try_from(row.leaf.as_slice())
            .ok()
            .filter(|_| erased)
            .ok_or_else(|| {
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
    let entry = EntryView::read_str(&row.text).map_err(|e| {
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
    let computed = merkle::leaf_hash(row.text.as_bytes());
    if row.leaf.as_slice() != computed.as_slice() {
        return Err(tamper(
            here,
            format!("l'entrée {expected_seq} ne correspond plus à son empreinte (contenu modifié)"),
        ));
    }
    let columns_match = entry.at == row.at
        && entry.action.as_str() == row.action
        && entry.actor_kind.as_str() == row.actor_kind
        && entry.actor_id.as_deref() == row.actor_id.as_deref()
        && entry.organisation_id.as_deref() == row.organisation_id.as_deref()
        && entry.usager.as_deref() == row.usager.as_deref()
        && entry.demarche.as_deref() == row.demarche.as_deref()
        && entry.client_id.as_deref() == row.client_id.as_deref()
        && entry.target.as_deref() == row.target.as_deref();
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

/// The roots stored at the sizes a page's leaves reach (`from + 1..=to`), by size, read with the
/// page rather than all at once: a quiet service writes about one tree head per entry and signs
/// about one checkpoint per two (each checkpoint's own entry follows it), so holding them all
/// would grow with the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredRoots {
    pub heads: Vec<(u64, Hash)>,
    /// Each stored checkpoint once [`check_checkpoint`]ed: the root it signs, or why it cannot
    /// be trusted.
    pub checkpoints: Vec<(u64, Result<Hash, Tamper>)>,
}

/// A page of the log once checked: the leaf hashes of its rows up to the first problem, and that
/// problem. The leaves before it still go into the tree, so that a root which disagrees earlier
/// is reported first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPage {
    pub leaves: Vec<Hash>,
    pub problem: Option<Tamper>,
    pub redacted: u64,
    pub last_redacted: Option<u64>,
    pub roots: StoredRoots,
}

/// Checks the rows read for positions `from..to`, in order, stopping at the first problem. A row
/// missing at the end of the page is reported here; one missing before another shows as a
/// sequence number out of place in [`check_row`].
pub fn check_page(from: u64, to: u64, rows: &[StoredRow]) -> CheckedPage {
    let mut page = CheckedPage {
        leaves: Vec::with_capacity(rows.len()),
        problem: None,
        redacted: 0,
        last_redacted: None,
        roots: StoredRoots::default(),
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

/// Where a checkpoint's existence is known from, as a report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointWitness {
    /// Its own `checkpoint.signed` entry in the log.
    Journal,
    /// A copy published outside the database.
    Published,
}

/// The sizes of the checkpoints that the `checkpoint.signed` entries among `rows` journal (their
/// target); the page's first row is at `first_seq`. Checkpoint rows never go (append-only), so each
/// must still have its row; a redacted entry has no target left and names none.
pub fn journaled_checkpoints(first_seq: u64, rows: &[StoredRow]) -> Result<Vec<u64>, Tamper> {
    let signed = crate::Action::CheckpointSigned.as_str();
    rows.iter()
        .zip(first_seq..)
        .filter(|(row, _)| row.action == signed)
        .filter_map(|(row, seq)| Some((row.target.as_deref()?, seq)))
        .map(|(target, seq)| {
            target.parse::<u64>().map_err(|_| {
                tamper(
                    Some(seq),
                    format!("l'entrée {seq} journalise un point de contrôle sans taille lisible"),
                )
            })
        })
        .collect()
}

/// A checkpoint known from `witness` whose row is gone.
pub fn checkpoint_row_deleted(size: u64, witness: CheckpointWitness) -> Tamper {
    let how = match witness {
        CheckpointWitness::Journal => "journalisé",
        CheckpointWitness::Published => "publié",
    };
    tamper(
        None,
        format!(
            "le point de contrôle de taille {size} ({how}) n'a plus de ligne dans audit_checkpoints : elle a été supprimée"
        ),
    )
}

/// Where a known root comes from, as a report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    SignedCheckpoint,
    TreeHead,
}

impl RootSource {
    fn label(self) -> &'static str {
        match self {
            RootSource::SignedCheckpoint => "point de contrôle signé",
            RootSource::TreeHead => "tête d'arbre",
        }
    }
}

/// A stored checkpoint row: its size and root columns, and its signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub root: Hash,
    pub signed_note: String,
}

/// A stored checkpoint's signature, and its columns against its note: the root it signs, at its
/// size. A bad signature means nothing the checkpoint covers can be trusted.
pub fn check_checkpoint(
    record: &StoredCheckpoint,
    verifiers: &[VerifierKey],
) -> (u64, Result<Hash, Tamper>) {
    let size = record.tree_size;
    let checked = match Checkpoint::verify(&record.signed_note, verifiers) {
        Err(e) => Err(tamper(
            None,
            format!(
                "le point de contrôle de taille {size} n'est pas signé par une clé de confiance : {e}"
            ),
        )),
        Ok(signed) if signed.size != size || signed.root != record.root => Err(tamper(
            None,
            format!("le point de contrôle de taille {size} ne correspond pas à sa note signée"),
        )),
        Ok(signed) => Ok(signed.root),
    };
    (size, checked)
}

/// What the rebuilt tree is held to beyond the roots that come with the pages: the checkpoints
/// published outside the database (few, given by the caller), and the largest size any stored
/// root speaks of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedRoots {
    published: BTreeMap<u64, Hash>,
    /// The largest tree head or checkpoint stored: entries removed from the end show against it.
    largest_stored: Option<u64>,
}

impl ExpectedRoots {
    /// From the checkpoints published outside the database (each signature checked, none
    /// contradicting another) and the size of the last tree head or checkpoint stored.
    pub fn build(
        published: &[String],
        largest_stored: Option<u64>,
        verifiers: &[VerifierKey],
    ) -> Result<Self, Tamper> {
        let mut expected = Self {
            published: BTreeMap::new(),
            largest_stored,
        };
        for note in published {
            let signed = Checkpoint::verify(note, verifiers).map_err(|e| {
                tamper(
                    None,
                    format!(
                        "un point de contrôle publié n'est pas signé par une clé de confiance : {e}"
                    ),
                )
            })?;
            if *expected.published.entry(signed.size).or_insert(signed.root) != signed.root {
                return Err(tamper(
                    None,
                    format!(
                        "deux points de contrôle publiés de taille {} se contredisent",
                        signed.size
                    ),
                ));
            }
        }
        if expected
            .published
            .get(&0)
            .is_some_and(|root| *root != merkle::empty_root())
        {
            return Err(tamper(None, "la racine de l'arbre vide est fausse".into()));
        }
        Ok(expected)
    }

    /// The sizes of the published checkpoints, their signatures checked by [`Self::build`].
    pub fn published_sizes(&self) -> impl Iterator<Item = u64> + '_ {
        self.published.keys().copied()
    }

    /// The largest size any known root speaks of.
    pub fn largest(&self) -> Option<u64> {
        self.published
            .keys()
            .next_back()
            .copied()
            .max(self.largest_stored)
    }
}

/// The tree as verification rebuilds it, held against every known root as it grows.
#[derive(Debug)]
pub struct Rebuild<'a> {
    expected: &'a ExpectedRoots,
    frontier: Frontier,
    last_good_checkpoint: u64,
    /// Signed checkpoints met (stored, or published only).
    pub checkpoints: u64,
    pub redacted: u64,
    pub last_redacted: Option<u64>,
}

impl<'a> Rebuild<'a> {
    pub fn new(expected: &'a ExpectedRoots) -> Self {
        Self {
            expected,
            frontier: Frontier::new(),
            last_good_checkpoint: 0,
            checkpoints: 0,
            redacted: 0,
            last_redacted: None,
        }
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Takes a checked page in order: its leaves, each size met against its signed root or
    /// its tree head, then the page's problem if it had one.
    pub fn take(&mut self, page: CheckedPage) -> Result<Option<Tamper>, AuditError> {
        self.redacted += page.redacted;
        self.last_redacted = page.last_redacted.or(self.last_redacted);
        let mut heads = page.roots.heads.into_iter().peekable();
        let mut checkpoints = page.roots.checkpoints.into_iter().peekable();
        for leaf in page.leaves {
            self.frontier.push(leaf)?;
            let size = self.frontier.size();
            let head = at_size(&mut heads, size, |(at, _)| *at);
            let checkpoint = at_size(&mut checkpoints, size, |(at, _)| *at);
            if let Some(problem) = self.meet(size, head.map(|(_, h)| h), checkpoint.map(|(_, c)| c))
            {
                return Ok(Some(problem));
            }
        }
        Ok(page.problem)
    }

    /// The roots stored at the current size (the empty tree's, before any page): each must be
    /// the rebuilt root.
    pub fn meet_here(&mut self, roots: StoredRoots) -> Option<Tamper> {
        let size = self.frontier.size();
        let head = at_size(&mut roots.heads.into_iter().peekable(), size, |(at, _)| *at);
        let checkpoint = at_size(
            &mut roots.checkpoints.into_iter().peekable(),
            size,
            |(at, _)| *at,
        );
        self.meet(size, head.map(|(_, h)| h), checkpoint.map(|(_, c)| c))
    }

    /// The rebuilt root at `size` against the signed root there (stored, else published), else
    /// against the tree head.
    fn meet(
        &mut self,
        size: u64,
        head: Option<Hash>,
        stored: Option<Result<Hash, Tamper>>,
    ) -> Option<Tamper> {
        let published = self.expected.published.get(&size).copied();
        let signed = match stored {
            Some(Err(problem)) => return Some(problem),
            Some(Ok(root)) if published.is_some_and(|p| p != root) => {
                return Some(tamper(
                    None,
                    format!(
                        "le point de contrôle publié de taille {size} contredit celui de la base"
                    ),
                ));
            }
            Some(Ok(root)) => Some(root),
            None => published,
        };
        if signed.is_some() {
            self.checkpoints += 1;
        }
        let known = signed
            .map(|root| (root, RootSource::SignedCheckpoint))
            .or(head.map(|h| (h, RootSource::TreeHead)));
        let (root, source) = known?;
        if root != self.frontier.root() {
            if size == 0 {
                return Some(tamper(None, "la racine de l'arbre vide est fausse".into()));
            }
            let good = self.last_good_checkpoint;
            return Some(tamper(
                Some(good),
                format!(
                    "la racine recalculée des {size} premières entrées diffère de la {} : une entrée entre {good} et {} a été modifiée",
                    source.label(),
                    size - 1
                ),
            ));
        }
        if source == RootSource::SignedCheckpoint {
            self.last_good_checkpoint = size;
        }
        None
    }

    /// Once every row is in: a known root beyond the rebuilt size means entries were removed
    /// from the end.
    pub fn finish(&self) -> Option<Tamper> {
        let size = self.frontier.size();
        self.expected
            .largest()
            .filter(|largest| *largest > size)
            .map(|largest| {
                tamper(
                    Some(size),
                    format!(
                        "le journal s'arrête à {size} entrées mais un état signé ou intégré en couvre {largest} (entrées supprimées en fin de journal)"
                    ),
                )
            })
    }
}

/// The last of the items sorted by size up to `size`, if it is at `size`; the ones before were
/// at sizes no leaf reached (stored out of the page's range) and are passed over.
fn at_size<T>(
    items: &mut std::iter::Peekable<impl Iterator<Item = T>>,
    size: u64,
    size_of: impl Fn(&T) -> u64,
) -> Option<T> {
    let mut found = None;
    while let Some(item) = items.next_if(|item| size_of(item) <= size) {
        found = (size_of(&item) == size).then_some(item);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Actor, Entry, SignerKey};
    use time::macros::datetime;

    const ORIGIN: &str = "test.example/audit";

    fn row(seq: u64) -> StoredRow {
        let entry = Entry {
            seq,
            at: datetime!(2026-03-10 14:30 UTC),
            action: Action::ExportMade,
            actor: Actor::system(),
            organisation_id: Some("o1".into()),
            usager: None,
            demarche: None,
            client_id: None,
            target: Some(format!("t{seq}")),
            request_id: None,
            details: Default::default(),
        };
        let text = String::from_utf8(entry.canonical_bytes().unwrap()).unwrap();
        StoredRow {
            seq: i64::try_from(seq).unwrap(),
            leaf: merkle::leaf_hash(text.as_bytes()).to_vec(),
            text,
            at: entry.at,
            action: entry.action.as_str().into(),
            actor_kind: "system".into(),
            actor_id: None,
            organisation_id: Some("o1".into()),
            usager: None,
            demarche: None,
            client_id: None,
            target: Some(format!("t{seq}")),
            redacted: false,
        }
    }

    fn redact(mut r: StoredRow) -> StoredRow {
        r.text.clear();
        r.organisation_id = None;
        r.target = None;
        r.redacted = true;
        r
    }

    fn signed(key: &SignerKey, rows: &[StoredRow]) -> StoredCheckpoint {
        let leaves: Vec<Hash> = rows
            .iter()
            .map(|r| Hash::try_from(r.leaf.as_slice()).unwrap())
            .collect();
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size: leaves.len() as u64,
            root: merkle::root(&leaves),
        };
        StoredCheckpoint {
            tree_size: checkpoint.size,
            root: checkpoint.root,
            signed_note: checkpoint.sign(key).unwrap(),
        }
    }

    fn verify(
        rows: &[StoredRow],
        checkpoints: &[StoredCheckpoint],
        key: &SignerKey,
    ) -> Option<Tamper> {
        let largest = checkpoints.iter().map(|c| c.tree_size).max();
        let expected = ExpectedRoots::build(&[], largest, &[key.verifier()]).unwrap();
        let mut tree = Rebuild::new(&expected);
        let mut page = check_page(0, rows.len() as u64, rows);
        page.roots.checkpoints = checkpoints
            .iter()
            .map(|c| check_checkpoint(c, &[key.verifier()]))
            .collect();
        tree.take(page).unwrap().or_else(|| tree.finish())
    }

    #[test]
    fn an_intact_log_and_a_redacted_one_both_verify_against_the_same_checkpoint() {
        let key = SignerKey::from_seed(ORIGIN, [1; 32]).unwrap();
        let rows: Vec<StoredRow> = (0..5).map(row).collect();
        let checkpoint = signed(&key, &rows);
        assert_eq!(verify(&rows, std::slice::from_ref(&checkpoint), &key), None);
        let mut redacted = rows.clone();
        redacted[1] = redact(redacted[1].clone());
        assert_eq!(
            verify(&redacted, std::slice::from_ref(&checkpoint), &key),
            None
        );
    }

    #[test]
    fn each_tampering_is_named() {
        let key = SignerKey::from_seed(ORIGIN, [1; 32]).unwrap();
        let rows: Vec<StoredRow> = (0..5).map(row).collect();
        let checkpoint = [signed(&key, &rows)];
        let mut edited = rows.clone();
        edited[2].text = edited[2].text.replace("t2", "t9");
        assert_eq!(verify(&edited, &checkpoint, &key).unwrap().seq, Some(2));
        let mut leaf = rows.clone();
        leaf[3] = redact(leaf[3].clone());
        leaf[3].leaf = vec![0; 32];
        assert!(
            verify(&leaf, &checkpoint, &key)
                .unwrap()
                .what
                .contains("racine")
        );
        let mut kept = rows.clone();
        kept[3] = redact(kept[3].clone());
        kept[3].usager = Some("x".into());
        assert!(
            verify(&kept, &checkpoint, &key)
                .unwrap()
                .what
                .contains("caviardée")
        );
        let missing: Vec<StoredRow> = rows.iter().filter(|r| r.seq != 1).cloned().collect();
        assert_eq!(verify(&missing, &checkpoint, &key).unwrap().seq, Some(1));
        let truncated = &rows[..3];
        assert!(
            verify(truncated, &checkpoint, &key)
                .unwrap()
                .what
                .contains("s'arrête")
        );
        let mut columns = rows.clone();
        columns[4].organisation_id = Some("o2".into());
        assert!(
            verify(&columns, &checkpoint, &key)
                .unwrap()
                .what
                .contains("colonnes")
        );
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_or_not_matching_its_columns_is_refused() {
        let key = SignerKey::from_seed(ORIGIN, [1; 32]).unwrap();
        let forger = SignerKey::from_seed(ORIGIN, [2; 32]).unwrap();
        let rows: Vec<StoredRow> = (0..3).map(row).collect();
        let forged = signed(&forger, &rows);
        assert!(check_checkpoint(&forged, &[key.verifier()]).1.is_err());
        assert_eq!(verify(&rows, &[forged], &key).unwrap().seq, None);
        let mut moved = signed(&key, &rows);
        moved.tree_size = 2;
        assert!(check_checkpoint(&moved, &[key.verifier()]).1.is_err());
        let good = signed(&key, &rows);
        assert_eq!(
            check_checkpoint(&good, &[key.verifier()]),
            (3, Ok(good.root))
        );
    }

    #[test]
    fn a_published_checkpoint_that_contradicts_a_stored_one_or_another_published_is_named() {
        let key = SignerKey::from_seed(ORIGIN, [1; 32]).unwrap();
        let rows: Vec<StoredRow> = (0..3).map(row).collect();
        let stored = signed(&key, &rows);
        let other = Checkpoint {
            origin: ORIGIN.into(),
            size: 3,
            root: [7; 32],
        }
        .sign(&key)
        .unwrap();
        let verifiers = [key.verifier()];
        let expected =
            ExpectedRoots::build(std::slice::from_ref(&other), None, &verifiers).unwrap();
        let mut tree = Rebuild::new(&expected);
        let mut page = check_page(0, 3, &rows);
        page.roots.checkpoints = vec![check_checkpoint(&stored, &verifiers)];
        let problem = tree.take(page).unwrap().unwrap();
        assert!(
            problem.what.contains("contredit celui de la base"),
            "{problem:?}"
        );
        let twice = [stored.signed_note.clone(), other];
        let problem = ExpectedRoots::build(&twice, None, &verifiers).unwrap_err();
        assert!(problem.what.contains("se contredisent"), "{problem:?}");
        // Published alone (its row gone), it still anchors the rebuild, and is counted.
        let expected =
            ExpectedRoots::build(std::slice::from_ref(&stored.signed_note), None, &verifiers)
                .unwrap();
        let mut tree = Rebuild::new(&expected);
        assert_eq!(tree.take(check_page(0, 3, &rows)).unwrap(), None);
        assert_eq!((tree.checkpoints, tree.finish()), (1, None));
    }

    #[test]
    fn journaled_checkpoints_are_read_from_the_page_s_checkpoint_entries() {
        let mut rows: Vec<StoredRow> = (10..14).map(row).collect();
        rows[1].action = Action::CheckpointSigned.as_str().into();
        rows[1].target = Some("9".into());
        rows[3].action = Action::CheckpointSigned.as_str().into();
        rows[3].target = None; // redacted: names none
        assert_eq!(journaled_checkpoints(10, &rows), Ok(vec![9]));
        rows[1].target = Some("neuf".into());
        assert_eq!(journaled_checkpoints(10, &rows).unwrap_err().seq, Some(11));
    }
}
