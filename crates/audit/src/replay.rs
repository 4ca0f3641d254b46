//! Replaying the journal's mandate events against the mandate tables.
//!
//! Every mandate and authorization is written with its journal entries in one transaction
//! (docs/security/audit-log.md), so the journal alone says which mandates exist, for what, until
//! when, and which démarches were revoked, when and why. The log's Merkle tree makes the journal
//! tamper-evident; this replay extends that to the tables, which the tree does not cover: a row
//! extended, un-revoked, added or wiped behind the service's back contradicts the journal. Pure:
//! storage reads the rows and the entries, [`compare`] decides.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use time::OffsetDateTime;

use crate::{Action, Entry, canonical_time};

/// Where an entry sits: integrated (its sequence number) or still pending (its pending row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryRef {
    Integrated(u64),
    Pending(i64),
}

impl fmt::Display for EntryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryRef::Integrated(seq) => write!(f, "entrée {seq}"),
            EntryRef::Pending(id) => write!(f, "entrée en attente n° {id}"),
        }
    }
}

/// A row of `mandates`, with its usager's pseudonym (`usagers.subject`, as journaled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateRow {
    pub id: String,
    pub organisation_id: String,
    /// `None` when the usager row is gone.
    pub usager: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A row of `authorizations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRow {
    pub id: String,
    pub mandate_id: String,
    pub demarche: String,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<String>,
}

/// One disagreement between the journal and a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `mandates`, `authorizations`, or `journal` when the journal contradicts itself.
    pub table: &'static str,
    /// The row's id (a mandate or authorization id).
    pub row: String,
    /// The entry the row contradicts; `None` when no entry speaks of the row at all.
    pub entry: Option<EntryRef>,
    pub what: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} : {}", self.table, self.row, self.what)?;
        match self.entry {
            Some(entry) => write!(f, " ({entry})"),
            None => Ok(()),
        }
    }
}

/// The actions the replay reads; storage loads only these.
pub const MANDATE_ACTIONS: [Action; 5] = [
    Action::MandateCreated,
    Action::AuthorizationCreated,
    Action::AuthorizationSuperseded,
    Action::AuthorizationRevoked,
    Action::MandateDeleted,
];

struct ExpectedMandate {
    by: EntryRef,
    organisation_id: Option<String>,
    usager: Option<String>,
    created_at: OffsetDateTime,
    /// Unix seconds, as journaled (`expires_at` detail).
    expires_at: Option<i64>,
    demarches: BTreeSet<String>,
}

struct Revoked {
    by: EntryRef,
    at: OffsetDateTime,
    reason: &'static str,
}

struct ExpectedAuthorization {
    by: EntryRef,
    mandate_id: Option<String>,
    demarche: Option<String>,
    revoked: Option<Revoked>,
}

/// What the journal says the tables hold, built entry by entry ([`Replay::apply`]) so that the
/// journal can be streamed; [`Replay::compare`] then holds the rows to it.
#[derive(Default)]
pub struct Replay {
    mandates: BTreeMap<String, ExpectedMandate>,
    authorizations: BTreeMap<String, ExpectedAuthorization>,
    /// Mandates the retention job deleted, with the entry saying so: their rows, and their
    /// authorizations' rows, must be gone.
    deleted: BTreeMap<String, EntryRef>,
    /// The journal contradicting itself (a revocation of an authorization never created…).
    inconsistencies: Vec<Difference>,
}

fn difference(table: &'static str, row: &str, entry: Option<EntryRef>, what: String) -> Difference {
    Difference {
        table,
        row: row.to_owned(),
        entry,
        what,
    }
}

impl Replay {
    /// Takes one entry into account (entries of other actions are ignored), in journal order:
    /// the integrated ones by sequence number, then the pending ones.
    pub fn apply(&mut self, at: EntryRef, entry: &Entry) {
        let Some(target) = entry.target.clone() else {
            return;
        };
        match entry.action {
            Action::MandateCreated => {
                let demarches = entry
                    .details
                    .get("demarches")
                    .map(|d| d.split(',').filter(|s| !s.is_empty()).map(str::to_owned))
                    .into_iter()
                    .flatten()
                    .collect();
                let expected = ExpectedMandate {
                    by: at,
                    organisation_id: entry.organisation_id.clone(),
                    usager: entry.usager.clone(),
                    created_at: entry.at,
                    expires_at: entry.details.get("expires_at").and_then(|s| s.parse().ok()),
                    demarches,
                };
                if let Some(first) = self.mandates.insert(target.clone(), expected) {
                    self.inconsistencies.push(difference(
                        "journal",
                        &target,
                        Some(at),
                        format!(
                            "mandat créé une seconde fois (déjà créé par l'{})",
                            first.by
                        ),
                    ));
                }
            }
            Action::AuthorizationCreated => {
                let expected = ExpectedAuthorization {
                    by: at,
                    mandate_id: entry.details.get("mandate").cloned(),
                    demarche: entry.demarche.clone(),
                    revoked: None,
                };
                if let Some(first) = self.authorizations.insert(target.clone(), expected) {
                    self.inconsistencies.push(difference(
                        "journal",
                        &target,
                        Some(at),
                        format!(
                            "autorisation créée une seconde fois (déjà créée par l'{})",
                            first.by
                        ),
                    ));
                }
            }
            Action::AuthorizationSuperseded | Action::AuthorizationRevoked => {
                let reason = if entry.action == Action::AuthorizationSuperseded {
                    "superseded"
                } else {
                    "revoked"
                };
                match self.authorizations.get_mut(&target) {
                    Some(auth) if auth.revoked.is_none() => {
                        auth.revoked = Some(Revoked {
                            by: at,
                            at: entry.at,
                            reason,
                        });
                    }
                    Some(_) => self.inconsistencies.push(difference(
                        "journal",
                        &target,
                        Some(at),
                        "autorisation révoquée une seconde fois".into(),
                    )),
                    None => self.inconsistencies.push(difference(
                        "journal",
                        &target,
                        Some(at),
                        "révocation d'une autorisation dont la création n'est pas au journal"
                            .into(),
                    )),
                }
            }
            Action::MandateDeleted => {
                // Its creation may be redacted already (the journal outlives the mandate by
                // years): the deletion alone says the rows must be gone.
                if let Some(mandate) = self.mandates.remove(&target) {
                    self.authorizations
                        .retain(|_, auth| auth.mandate_id.as_deref() != Some(target.as_str()));
                    drop(mandate);
                }
                if self.deleted.insert(target.clone(), at).is_some() {
                    self.inconsistencies.push(difference(
                        "journal",
                        &target,
                        Some(at),
                        "mandat supprimé une seconde fois".into(),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Rows store whatever precision the database keeps; entries keep the microsecond.
fn same_instant(row: OffsetDateTime, journaled: OffsetDateTime) -> bool {
    canonical_time(row).is_ok_and(|row| row == journaled)
}

fn show(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {}", at.date(), at.time())
}

fn show_unix(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs).map_or_else(|_| secs.to_string(), show)
}

fn compare_mandate(row: &MandateRow, expected: &ExpectedMandate, out: &mut Vec<Difference>) {
    let mut differs =
        |what: String| out.push(difference("mandates", &row.id, Some(expected.by), what));
    if expected.organisation_id.as_deref() != Some(row.organisation_id.as_str()) {
        differs(format!(
            "structure {} en base, le journal dit {}",
            row.organisation_id,
            expected.organisation_id.as_deref().unwrap_or("—")
        ));
    }
    if expected.usager != row.usager {
        differs("la personne accompagnée en base n'est pas celle du journal".into());
    }
    if !same_instant(row.created_at, expected.created_at) {
        differs(format!(
            "créé le {} en base, le journal dit {}",
            show(row.created_at),
            show(expected.created_at)
        ));
    }
    if expected.expires_at != Some(row.expires_at.unix_timestamp()) {
        differs(format!(
            "expire le {} en base, le journal dit {}",
            show(row.expires_at),
            expected.expires_at.map_or_else(|| "—".into(), show_unix)
        ));
    }
}

fn compare_authorization(
    row: &AuthorizationRow,
    expected: &ExpectedAuthorization,
    mandates: &BTreeMap<String, ExpectedMandate>,
    out: &mut Vec<Difference>,
) {
    let mut differs = |entry: EntryRef, what: String| {
        out.push(difference("authorizations", &row.id, Some(entry), what))
    };
    if expected.mandate_id.as_deref() != Some(row.mandate_id.as_str()) {
        differs(
            expected.by,
            format!(
                "rattachée au mandat {} en base, le journal dit {}",
                row.mandate_id,
                expected.mandate_id.as_deref().unwrap_or("—")
            ),
        );
    }
    if expected.demarche.as_deref() != Some(row.demarche.as_str()) {
        differs(
            expected.by,
            format!(
                "démarche {} en base, le journal dit {}",
                row.demarche,
                expected.demarche.as_deref().unwrap_or("—")
            ),
        );
    }
    if let Some(mandate) = expected.mandate_id.as_ref().and_then(|m| mandates.get(m))
        && mandate.expires_at != Some(row.expires_at.unix_timestamp())
    {
        differs(
            mandate.by,
            format!(
                "expire le {} en base, le journal dit {}",
                show(row.expires_at),
                mandate.expires_at.map_or_else(|| "—".into(), show_unix)
            ),
        );
    }
    match (&expected.revoked, row.revoked_at) {
        (None, None) => {}
        (None, Some(at)) => differs(
            expected.by,
            format!(
                "révoquée le {} en base, mais aucune entrée du journal ne la révoque",
                show(at)
            ),
        ),
        (Some(revoked), None) => differs(
            revoked.by,
            "le journal la révoque mais elle est ouverte en base (révocation annulée)".into(),
        ),
        (Some(revoked), Some(at)) => {
            if !same_instant(at, revoked.at) {
                differs(
                    revoked.by,
                    format!(
                        "révoquée le {} en base, le journal dit {}",
                        show(at),
                        show(revoked.at)
                    ),
                );
            }
            if row.revocation_reason.as_deref() != Some(revoked.reason) {
                differs(
                    revoked.by,
                    format!(
                        "motif de révocation {} en base, le journal dit {}",
                        row.revocation_reason.as_deref().unwrap_or("—"),
                        revoked.reason
                    ),
                );
            }
        }
    }
}

/// Every difference between the journal's mandate events (`entries`, in journal order: the
/// integrated ones, then the pending ones) and the rows of `mandates` and `authorizations`, each
/// naming its row and, where one exists, the entry it contradicts. Empty when they agree.
pub fn compare<'a>(
    entries: impl IntoIterator<Item = (EntryRef, &'a Entry)>,
    mandates: &[MandateRow],
    authorizations: &[AuthorizationRow],
) -> Vec<Difference> {
    let mut replay = Replay::default();
    for (at, entry) in entries {
        replay.apply(at, entry);
    }
    replay.compare(mandates, authorizations)
}

impl Replay {
    /// Every difference between what the entries applied so far say and these rows.
    pub fn compare(
        self,
        mandates: &[MandateRow],
        authorizations: &[AuthorizationRow],
    ) -> Vec<Difference> {
        let mut replayed = self;
        let mut out = std::mem::take(&mut replayed.inconsistencies);
        let mut demarches_in_rows: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for row in authorizations {
            demarches_in_rows
                .entry(row.mandate_id.as_str())
                .or_default()
                .insert(row.demarche.as_str());
        }
        let mut seen = BTreeSet::new();
        for row in mandates {
            seen.insert(row.id.as_str());
            if let Some(by) = replayed.deleted.get(&row.id) {
                out.push(difference(
                    "mandates",
                    &row.id,
                    Some(*by),
                    "le journal dit ce mandat supprimé (fin de conservation) mais il est en base"
                        .into(),
                ));
                continue;
            }
            let Some(expected) = replayed.mandates.get(&row.id) else {
                out.push(difference(
                    "mandates",
                    &row.id,
                    None,
                    "aucune entrée mandate.created du journal n'atteste ce mandat".into(),
                ));
                continue;
            };
            compare_mandate(row, expected, &mut out);
            let held: BTreeSet<&str> = demarches_in_rows
                .get(row.id.as_str())
                .cloned()
                .unwrap_or_default();
            let journaled: BTreeSet<&str> = expected.demarches.iter().map(String::as_str).collect();
            if held != journaled {
                let list = |s: &BTreeSet<&str>| s.iter().copied().collect::<Vec<_>>().join(",");
                out.push(difference(
                    "mandates",
                    &row.id,
                    Some(expected.by),
                    format!(
                        "démarches en base [{}], le journal dit [{}]",
                        list(&held),
                        list(&journaled)
                    ),
                ));
            }
        }
        for (id, expected) in &replayed.mandates {
            if !seen.contains(id.as_str()) {
                out.push(difference(
                    "mandates",
                    id,
                    Some(expected.by),
                    "mandat absent de la table (supprimé ?)".into(),
                ));
            }
        }

        let mut seen = BTreeSet::new();
        for row in authorizations {
            seen.insert(row.id.as_str());
            match replayed.authorizations.get(&row.id) {
                Some(expected) => {
                    compare_authorization(row, expected, &replayed.mandates, &mut out)
                }
                None => out.push(difference(
                    "authorizations",
                    &row.id,
                    None,
                    "aucune entrée authorization.created du journal n'atteste cette autorisation"
                        .into(),
                )),
            }
        }
        for (id, expected) in &replayed.authorizations {
            if !seen.contains(id.as_str()) {
                out.push(difference(
                    "authorizations",
                    id,
                    Some(expected.by),
                    "autorisation absente de la table (supprimée ?)".into(),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Actor;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-03-10 14:30:00.123456 UTC);
    const EXPIRES: OffsetDateTime = datetime!(2027-03-10 14:30:00.123456 UTC);

    fn entry(action: Action, target: &str, details: &[(&str, &str)], at: OffsetDateTime) -> Entry {
        Entry {
            seq: 0,
            at,
            action,
            actor: Actor::aidant("aidant-1"),
            organisation_id: Some("org-a".into()),
            usager: Some("e".repeat(64)),
            demarche: (action != Action::MandateCreated).then(|| "social".to_owned()),
            client_id: None,
            target: Some(target.into()),
            request_id: None,
            details: details
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn journal() -> Vec<Entry> {
        let expires = EXPIRES.unix_timestamp().to_string();
        vec![
            entry(
                Action::MandateCreated,
                "m1",
                &[("expires_at", &expires), ("demarches", "social")],
                AT,
            ),
            entry(Action::AuthorizationCreated, "a1", &[("mandate", "m1")], AT),
        ]
    }

    fn rows() -> (Vec<MandateRow>, Vec<AuthorizationRow>) {
        (
            vec![MandateRow {
                id: "m1".into(),
                organisation_id: "org-a".into(),
                usager: Some("e".repeat(64)),
                // A database may keep more precision than the entry: same microsecond.
                created_at: AT + time::Duration::nanoseconds(500),
                expires_at: EXPIRES,
            }],
            vec![AuthorizationRow {
                id: "a1".into(),
                mandate_id: "m1".into(),
                demarche: "social".into(),
                expires_at: EXPIRES,
                revoked_at: None,
                revocation_reason: None,
            }],
        )
    }

    fn run(entries: &[Entry], m: &[MandateRow], a: &[AuthorizationRow]) -> Vec<Difference> {
        compare(
            entries
                .iter()
                .zip(0u64..)
                .map(|(e, seq)| (EntryRef::Integrated(seq), e)),
            m,
            a,
        )
    }

    #[test]
    fn a_journaled_deletion_wants_the_rows_gone_and_nothing_else() {
        let (m, a) = rows();
        let mut entries = journal();
        entries.push(entry(
            Action::MandateDeleted,
            "m1",
            &[("reason", "retention")],
            AT,
        ));
        assert_eq!(run(&entries, &[], &[]), vec![], "deleted and gone");
        let kept = run(&entries, &m, &a);
        assert!(
            kept.iter()
                .any(|d| d.table == "mandates" && d.entry == Some(EntryRef::Integrated(2))),
            "{kept:?}"
        );
        // Without the deletion entry, the same empty tables are a wipe.
        assert!(!run(&journal(), &[], &[]).is_empty());
        // Its creation redacted long ago: the deletion alone still holds.
        assert_eq!(run(&entries[2..], &[], &[]), vec![]);
    }

    #[test]
    fn agreeing_tables_have_no_difference() {
        let (m, a) = rows();
        assert_eq!(run(&journal(), &m, &a), vec![]);
    }

    #[test]
    fn an_extended_mandate_is_named_with_its_entry() {
        let (mut m, mut a) = rows();
        m[0].expires_at = EXPIRES + time::Duration::days(3650);
        a[0].expires_at = m[0].expires_at;
        let found = run(&journal(), &m, &a);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].table, "mandates");
        assert_eq!(found[0].row, "m1");
        assert_eq!(found[0].entry, Some(EntryRef::Integrated(0)));
        assert!(found[0].what.contains("expire"), "{}", found[0]);
        assert_eq!(found[1].table, "authorizations");
    }

    #[test]
    fn an_undone_revocation_and_an_unjournaled_one_are_reported() {
        let (m, mut a) = rows();
        let mut entries = journal();
        entries.push(entry(
            Action::AuthorizationRevoked,
            "a1",
            &[],
            AT + time::Duration::days(1),
        ));
        let found = run(&entries, &m, &a);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].entry, Some(EntryRef::Integrated(2)));
        assert!(found[0].what.contains("révocation annulée"));

        a[0].revoked_at = Some(AT + time::Duration::days(1));
        a[0].revocation_reason = Some("revoked".into());
        assert_eq!(run(&entries, &m, &a), vec![]);
        a[0].revocation_reason = Some("superseded".into());
        assert_eq!(run(&entries, &m, &a).len(), 1);
        assert_eq!(run(&journal(), &m, &a).len(), 1, "revoked without entry");
    }

    #[test]
    fn wiped_and_unattested_rows_are_reported() {
        let (m, a) = rows();
        let found = run(&journal(), &[], &[]);
        assert_eq!(
            found.iter().map(|d| d.row.as_str()).collect::<Vec<_>>(),
            ["m1", "a1"]
        );
        let found = run(&[], &m, &a);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|d| d.entry.is_none()));
    }

    #[test]
    fn a_changed_demarche_or_creation_date_is_reported() {
        let (mut m, mut a) = rows();
        a[0].demarche = "argent".into();
        m[0].created_at = AT - time::Duration::days(1);
        let found = run(&journal(), &m, &a);
        let what: Vec<&str> = found.iter().map(|d| d.what.as_str()).collect();
        assert_eq!(found.len(), 3, "{what:?}");
    }

    #[test]
    fn the_journal_contradicting_itself_is_reported() {
        let (m, a) = rows();
        let mut entries = journal();
        entries.push(entry(Action::AuthorizationRevoked, "nope", &[], AT));
        let found = run(&entries, &m, &a);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].table, "journal");
    }
}
