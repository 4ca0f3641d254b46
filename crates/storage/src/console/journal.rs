//! The journal explorer: integrated entries of a scope, filtered, newest first, in pages keyed on
//! `seq` (never `OFFSET`, whose cost grows with the page number).
//!
//! A page must stay fast at 10 million entries (docs/performance.md). Which index can serve it
//! depends on the filters, so [`plan`] picks the query shape:
//!
//! - a usager or aidant filter is selective on its own: one query, with the scope as an `IN` list;
//! - one structure, or every structure: one query walking `(organisation_id, seq)` or the primary
//!   key backwards;
//! - several structures: one query per structure, each walking its own `(organisation_id, seq)`
//!   (or `(organisation_id, action, seq)`) range, merged on `seq` here. A single `IN` query
//!   would make the database read and sort every entry of every structure to find the newest 50.
//!
//! Exports and anomaly rules read the same streams forwards, so the same code serves all three.

use ac_audit::Action;
use ac_mandates::{AidantId, Demarche, OrganisationId};
use diesel::prelude::*;
use std::collections::VecDeque;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::Scope;
use crate::error::StorageError;
use crate::schema::audit_log;
use crate::{DbConnection, from_db, to_db};

/// Entries per page of the explorer.
pub const PAGE_SIZE: usize = 50;
/// Rows fetched per round trip when streaming forwards (exports, anomaly rules).
const STREAM_BATCH: i64 = 2_000;
/// Above this many structures in scope, one query per structure costs more round trips than it
/// saves; the scope is then applied as an `IN` list.
const MAX_FAN_OUT: usize = 400;

/// The explorer's filters, already checked against the scope by the caller. Empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    pub organisation: Option<OrganisationId>,
    /// The aidant who acted.
    pub aidant: Option<AidantId>,
    /// Usager pseudonyms; `Some(empty)` matches nothing (a name that found nobody in scope).
    pub usagers: Option<Vec<String>>,
    pub action: Option<Action>,
    pub demarche: Option<Demarche>,
    /// The website (OIDC client id).
    pub client_id: Option<String>,
    /// Inclusive.
    pub from: Option<OffsetDateTime>,
    /// Exclusive.
    pub to: Option<OffsetDateTime>,
}

/// One integrated entry with its search columns.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct JournalRow {
    pub seq: i64,
    pub at: PrimitiveDateTime,
    pub action: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub usager: Option<String>,
    pub demarche: Option<String>,
    pub client_id: Option<String>,
    pub target: Option<String>,
    /// The canonical entry exactly as hashed (details, request id).
    pub entry: String,
}

impl JournalRow {
    pub fn at(&self) -> OffsetDateTime {
        from_db(self.at)
    }

    pub fn entry(&self) -> Result<ac_audit::Entry, StorageError> {
        Ok(ac_audit::Entry::from_canonical_bytes(
            self.entry.as_bytes(),
        )?)
    }
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Newest,
    /// Entries older than this `seq`.
    Before(i64),
    /// Entries newer than this `seq` (the "newer" link).
    After(i64),
}

/// A page, newest first, with the cursors of its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub rows: Vec<JournalRow>,
    /// `Cursor::After` this for newer entries, if there are any.
    pub newer: Option<i64>,
    /// `Cursor::Before` this for older entries, if there are any.
    pub older: Option<i64>,
}

/// The structure condition of one query.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Any entry filed under a structure (national scope).
    AnyOrganisation,
    One(String),
    Many(Vec<String>),
}

/// The queries that together return exactly the filtered scope.
fn plan(scope: &Scope, filter: &JournalFilter) -> Vec<Part> {
    if let Some(organisation) = &filter.organisation {
        return if scope.contains(organisation) {
            vec![Part::One(organisation.as_str().to_owned())]
        } else {
            Vec::new()
        };
    }
    if filter.usagers.as_ref().is_some_and(Vec::is_empty) {
        return Vec::new();
    }
    match scope.ids() {
        None => vec![Part::AnyOrganisation],
        Some(ids) if ids.is_empty() => Vec::new(),
        Some(mut ids) if ids.len() == 1 => ids.pop().map(Part::One).into_iter().collect(),
        Some(ids)
            if filter.usagers.is_some() || filter.aidant.is_some() || ids.len() > MAX_FAN_OUT =>
        {
            vec![Part::Many(ids)]
        }
        Some(ids) => ids.into_iter().map(Part::One).collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Newest first, below the cursor.
    Down,
    /// Oldest first, above the cursor.
    Up,
}

/// One query of a plan: up to `limit` rows beyond `cursor` in `direction`, below `bound`.
fn fetch(
    conn: &mut DbConnection,
    part: &Part,
    filter: &JournalFilter,
    direction: Direction,
    cursor: Option<i64>,
    bound: Option<i64>,
    limit: i64,
) -> Result<Vec<JournalRow>, StorageError> {
    let mut query = audit_log::table
        .select(JournalRow::as_select())
        .into_boxed();
    query = match part {
        Part::AnyOrganisation => query.filter(audit_log::organisation_id.is_not_null()),
        Part::One(id) => query.filter(audit_log::organisation_id.eq(id.clone())),
        Part::Many(ids) => query.filter(audit_log::organisation_id.eq_any(ids.clone())),
    };
    if let Some(aidant) = &filter.aidant {
        query = query
            .filter(audit_log::actor_kind.eq(ac_audit::ActorKind::Aidant.as_str()))
            .filter(audit_log::actor_id.eq(aidant.as_str().to_owned()));
    }
    if let Some(usagers) = &filter.usagers {
        query = query.filter(audit_log::usager.eq_any(usagers.clone()));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_log::action.eq(action.as_str()));
    }
    if let Some(demarche) = filter.demarche {
        query = query.filter(audit_log::demarche.eq(demarche.key()));
    }
    if let Some(client) = &filter.client_id {
        query = query.filter(audit_log::client_id.eq(client.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(to_db(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::at.lt(to_db(to)));
    }
    if let Some(bound) = bound {
        query = query.filter(audit_log::seq.lt(bound));
    }
    query = match (direction, cursor) {
        (Direction::Down, Some(c)) => query.filter(audit_log::seq.lt(c)),
        (Direction::Up, Some(c)) => query.filter(audit_log::seq.gt(c)),
        (_, None) => query,
    };
    query = match direction {
        Direction::Down => query.order(audit_log::seq.desc()),
        Direction::Up => query.order(audit_log::seq.asc()),
    };
    Ok(query.limit(limit).load(conn)?)
}

/// Several ordered queries read as one ordered stream, each refilled in batches as it drains.
pub(crate) struct Stream {
    parts: Vec<Source>,
    filter: JournalFilter,
    direction: Direction,
    bound: Option<i64>,
    batch: i64,
}

struct Source {
    part: Part,
    buffer: VecDeque<JournalRow>,
    cursor: Option<i64>,
    exhausted: bool,
}

impl Stream {
    fn new(
        scope: &Scope,
        filter: &JournalFilter,
        direction: Direction,
        cursor: Option<i64>,
        bound: Option<i64>,
        batch: i64,
    ) -> Self {
        Self {
            parts: plan(scope, filter)
                .into_iter()
                .map(|part| Source {
                    part,
                    buffer: VecDeque::new(),
                    cursor,
                    exhausted: false,
                })
                .collect(),
            filter: filter.clone(),
            direction,
            bound,
            batch,
        }
    }

    /// Forwards from the first entry, up to (excluding) `bound`.
    pub(crate) fn forwards(scope: &Scope, filter: &JournalFilter, bound: Option<i64>) -> Self {
        Self::new(scope, filter, Direction::Up, None, bound, STREAM_BATCH)
    }

    /// The next row in order, or `None` at the end.
    pub(crate) fn next(
        &mut self,
        conn: &mut DbConnection,
    ) -> Result<Option<JournalRow>, StorageError> {
        for source in &mut self.parts {
            if source.buffer.is_empty() && !source.exhausted {
                let rows = fetch(
                    conn,
                    &source.part,
                    &self.filter,
                    self.direction,
                    source.cursor,
                    self.bound,
                    self.batch,
                )?;
                source.exhausted = (rows.len() as i64) < self.batch;
                if let Some(last) = rows.last() {
                    source.cursor = Some(last.seq);
                }
                source.buffer.extend(rows);
            }
        }
        let direction = self.direction;
        let best = self
            .parts
            .iter_mut()
            .filter_map(|s| s.buffer.front().map(|r| r.seq).map(|seq| (seq, s)))
            .reduce(|a, b| {
                let a_first = match direction {
                    Direction::Down => a.0 > b.0,
                    Direction::Up => a.0 < b.0,
                };
                if a_first { a } else { b }
            });
        Ok(best.and_then(|(_, source)| source.buffer.pop_front()))
    }
}

/// One page of the explorer.
pub fn page(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &JournalFilter,
    cursor: Cursor,
) -> Result<Page, StorageError> {
    // One row more than a page tells whether there is another page.
    let wanted = PAGE_SIZE + 1;
    let batch = i64::try_from(wanted).unwrap_or(i64::MAX);
    let (direction, start) = match cursor {
        Cursor::Newest => (Direction::Down, None),
        Cursor::Before(seq) => (Direction::Down, Some(seq)),
        Cursor::After(seq) => (Direction::Up, Some(seq)),
    };
    let mut stream = Stream::new(scope, filter, direction, start, None, batch);
    let mut rows = Vec::with_capacity(wanted);
    while rows.len() < wanted {
        match stream.next(conn)? {
            Some(row) => rows.push(row),
            None => break,
        }
    }
    let more = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    match direction {
        Direction::Down => Ok(Page {
            newer: match cursor {
                Cursor::Before(_) => rows.first().map(|r| r.seq),
                _ => None,
            },
            older: if more {
                rows.last().map(|r| r.seq)
            } else {
                None
            },
            rows,
        }),
        Direction::Up => {
            if rows.is_empty() {
                // Nothing newer any more (e.g. a stale link): show the newest page.
                return page(conn, scope, filter, Cursor::Newest);
            }
            rows.reverse();
            Ok(Page {
                newer: if more {
                    rows.first().map(|r| r.seq)
                } else {
                    None
                },
                older: rows.last().map(|r| r.seq),
                rows,
            })
        }
    }
}

/// One entry, if it is in scope. `Ok(None)`: no such entry; `Err(OutOfScope)` through the
/// inner result: it exists but belongs to no structure of the scope.
pub fn entry(
    conn: &mut DbConnection,
    scope: &Scope,
    seq: i64,
) -> Result<Option<Result<JournalRow, super::OutOfScope>>, StorageError> {
    let row: Option<JournalRow> = audit_log::table
        .find(seq)
        .select(JournalRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(|row| {
        let inside = row
            .organisation_id
            .as_ref()
            .is_some_and(|o| scope.contains(&OrganisationId::new(o.clone())));
        if inside {
            Ok(row)
        } else {
            Err(super::OutOfScope::new("entry", &seq.to_string()))
        }
    }))
}

/// The démarches the people represented stopped themselves in `organisation` since `since`
/// (`authorization.revoked` whose actor is the usager: one entry per démarche, for a whole
/// mandate too; docs/domain.md "Revocation"), newest first, at most `limit`: the notice on the
/// référent's page of the structure. Integrated entries only: the audit worker
/// integrates within seconds, and the référent was also told by e-mail in the same transaction.
pub fn self_revocations(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    since: OffsetDateTime,
    limit: i64,
) -> Result<Vec<JournalRow>, StorageError> {
    Ok(audit_log::table
        .filter(audit_log::action.eq(Action::AuthorizationRevoked.as_str()))
        .filter(audit_log::organisation_id.eq(organisation.as_str()))
        .filter(audit_log::at.ge(to_db(since)))
        .filter(audit_log::actor_kind.eq(ac_audit::ActorKind::Usager.as_str()))
        .order(audit_log::seq.desc())
        .limit(limit)
        .select(JournalRow::as_select())
        .load(conn)?)
}

/// The size of the integrated log: entries with `seq` below it exist.
pub fn log_size(conn: &mut DbConnection) -> Result<i64, StorageError> {
    let max: Option<i64> = audit_log::table
        .select(diesel::dsl::max(audit_log::seq))
        .first(conn)?;
    Ok(max.map_or(0, |m| m + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn orgs(ids: &[&str]) -> Scope {
        Scope::Organisations(ids.iter().map(|i| OrganisationId::new(*i)).collect())
    }

    #[test]
    fn plans_never_leave_the_scope() {
        let filter = JournalFilter::default();
        assert_eq!(plan(&Scope::All, &filter), vec![Part::AnyOrganisation]);
        assert_eq!(plan(&orgs(&[]), &filter), Vec::<Part>::new());
        assert_eq!(plan(&orgs(&["a"]), &filter), vec![Part::One("a".into())]);
        assert_eq!(
            plan(&orgs(&["a", "b"]), &filter),
            vec![Part::One("a".into()), Part::One("b".into())]
        );
        let by_aidant = JournalFilter {
            aidant: Some(AidantId::new("x")),
            ..JournalFilter::default()
        };
        assert_eq!(
            plan(&orgs(&["a", "b"]), &by_aidant),
            vec![Part::Many(vec!["a".into(), "b".into()])]
        );
        let outside = JournalFilter {
            organisation: Some(OrganisationId::new("c")),
            ..JournalFilter::default()
        };
        assert!(plan(&orgs(&["a", "b"]), &outside).is_empty());
        let nobody = JournalFilter {
            usagers: Some(vec![]),
            ..JournalFilter::default()
        };
        assert!(plan(&Scope::All, &nobody).is_empty());
        let _ = BTreeSet::<String>::new();
    }
}
