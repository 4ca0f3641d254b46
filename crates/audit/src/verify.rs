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

/// A page of the log once checked: the leaf hashes of its rows up to the first problem, and that
/// problem. The leaves before it still go into the tree, so that a root which disagrees earlier
/// is reported first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPage {
    pub leaves: Vec<Hash>,
    pub problem: Option<Tamper>,
    pub redacted: u64,
    pub last_redacted: Option<u64>,
    /// The tree heads stored at the sizes this page's leaves reach (`from + 1..=to`), by size.
    /// Read with the page rather than all at once: a quiet service writes about one head per
    /// entry, so holding them all would grow with the log.
    pub heads: Vec<(u64, Hash)>,
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
        heads: Vec::new(),
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

/// The signed roots the rebuilt tree must meet, by tree size; the tree heads come with the
/// pages ([`CheckedPage::heads`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedRoots {
    roots: BTreeMap<u64, (Hash, RootSource)>,
    /// Signed checkpoints (stored and published), for the count in the report.
    pub checkpoints: u64,
    /// The largest tree head stored: entries removed from the end show against it too.
    largest_head: Option<u64>,
}

/// A stored checkpoint row: its size and root columns, and its signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub root: Hash,
    pub signed_note: String,
}

impl ExpectedRoots {
    /// From the stored checkpoints (each signature checked, and its columns against its note)
    /// and the checkpoints published outside the database (each signature checked, none
    /// contradicting a stored one). A bad signature means nothing below can be trusted: the
    /// first problem is returned. `largest_head` is the size of the last tree head stored.
    pub fn build(
        stored: &[StoredCheckpoint],
        published: &[String],
        largest_head: Option<u64>,
        verifiers: &[VerifierKey],
    ) -> Result<Self, Tamper> {
        let mut expected = Self::default();
        for record in stored {
            let signed = Checkpoint::verify(&record.signed_note, verifiers).map_err(|e| {
                tamper(
                    None,
                    format!(
                        "le point de contrôle de taille {} n'est pas signé par une clé de confiance : {e}",
                        record.tree_size
                    ),
                )
            })?;
            if signed.size != record.tree_size || signed.root != record.root {
                return Err(tamper(
                    None,
                    format!(
                        "le point de contrôle de taille {} ne correspond pas à sa note signée",
                        record.tree_size
                    ),
                ));
            }
            expected
                .roots
                .insert(signed.size, (signed.root, RootSource::SignedCheckpoint));
            expected.checkpoints += 1;
        }
        for note in published {
            let signed = Checkpoint::verify(note, verifiers).map_err(|e| {
                tamper(
                    None,
                    format!(
                        "un point de contrôle publié n'est pas signé par une clé de confiance : {e}"
                    ),
                )
            })?;
            match expected.roots.get(&signed.size) {
                Some((root, _)) if *root != signed.root => {
                    return Err(tamper(
                        None,
                        format!(
                            "le point de contrôle publié de taille {} contredit celui de la base",
                            signed.size
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    expected
                        .roots
                        .insert(signed.size, (signed.root, RootSource::SignedCheckpoint));
                    expected.checkpoints += 1;
                }
            }
        }
        if let Some((root, _)) = expected.roots.get(&0)
            && *root != merkle::empty_root()
        {
            return Err(tamper(None, "la racine de l'arbre vide est fausse".into()));
        }
        expected.largest_head = largest_head;
        Ok(expected)
    }

    /// The largest size any known root speaks of.
    pub fn largest(&self) -> Option<u64> {
        self.roots
            .keys()
            .next_back()
            .copied()
            .max(self.largest_head)
    }
}

/// The tree as verification rebuilds it, held against every known root as it grows.
#[derive(Debug)]
pub struct Rebuild<'a> {
    expected: &'a ExpectedRoots,
    frontier: Frontier,
    last_good_checkpoint: u64,
    pub redacted: u64,
    pub last_redacted: Option<u64>,
}

impl<'a> Rebuild<'a> {
    pub fn new(expected: &'a ExpectedRoots) -> Self {
        Self {
            expected,
            frontier: Frontier::new(),
            last_good_checkpoint: 0,
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
        let mut heads = page.heads.iter().peekable();
        for leaf in page.leaves {
            self.frontier.push(leaf)?;
            let size = self.frontier.size();
            let mut head = None;
            while let Some((at, root)) = heads.next_if(|(at, _)| *at <= size) {
                head = (*at == size).then_some(*root);
            }
            if let Some(problem) = self.meet(size, head) {
                return Ok(Some(problem));
            }
        }
        Ok(page.problem)
    }

    /// The tree heads stored at the current size (the empty tree's, before any page): each must
    /// be the rebuilt root.
    pub fn meet_heads(&mut self, heads: &[(u64, Hash)]) -> Option<Tamper> {
        let size = self.frontier.size();
        heads
            .iter()
            .filter(|(at, _)| *at == size)
            .find_map(|(_, root)| self.meet(size, Some(*root)))
    }

    /// The rebuilt root at `size` against the signed root there, else against the tree head.
    fn meet(&mut self, size: u64, head: Option<Hash>) -> Option<Tamper> {
        let signed = self.expected.roots.get(&size).copied();
        let (root, source) = signed.or(head.map(|h| (h, RootSource::TreeHead)))?;
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
        let expected = ExpectedRoots::build(checkpoints, &[], None, &[key.verifier()]).unwrap();
        let mut tree = Rebuild::new(&expected);
        let page = check_page(0, rows.len() as u64, rows);
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
        assert!(ExpectedRoots::build(&[forged], &[], None, &[key.verifier()]).is_err());
        let mut moved = signed(&key, &rows);
        moved.tree_size = 2;
        assert!(ExpectedRoots::build(&[moved], &[], None, &[key.verifier()]).is_err());
    }
}
