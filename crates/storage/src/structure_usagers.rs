//! The people a structure holds or held mandates for: the aidant's usagers list, with
//! its search, tabs and pages, and the history of delegated uses on a usager's page.
//!
//! Only the structure's own records are read: the list starts from the structure's mandates, so
//! it never shows or reveals someone known only to another structure.

use ac_mandates::{Mandate, MandateStatus, OrganisationId, UsagerId};
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use time::{Date, Duration, OffsetDateTime};

use crate::DbConnection;
use crate::console::Scope;
use crate::console::journal::{self as console_journal, Cursor, JournalFilter, Page};
use crate::error::StorageError;
use crate::mandates;
use crate::schema::usagers;

/// People per page of the list.
pub const PAGE_SIZE: usize = 20;
/// The longest search accepted, in characters: longer than any name, short enough to bound
/// the work.
pub const MAX_SEARCH_CHARS: usize = 100;
/// The last page that may be asked for: beyond any real structure, and keeps the arithmetic
/// bounded.
pub const MAX_PAGE: usize = 10_000;

/// The list's tabs. A person is in exactly one:
///
/// - **active** when at least one of the structure's authorizations for them is usable now
///   (neither revoked nor expired): the aidant may act for them today;
/// - otherwise by their **latest** mandate with the structure: **revoked** when it ended by
///   revocation ([`Mandate::status_at`]), **expired** otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tab {
    Active,
    Expired,
    Revoked,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Active, Tab::Expired, Tab::Revoked];

    /// The value in the page's URL (`?onglet=`).
    pub fn key(self) -> &'static str {
        match self {
            Tab::Active => "actifs",
            Tab::Expired => "expires",
            Tab::Revoked => "revoques",
        }
    }

    pub fn from_key(key: &str) -> Option<Tab> {
        Tab::ALL.into_iter().find(|t| t.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::Active => "Mandats actifs",
            Tab::Expired => "Expirés",
            Tab::Revoked => "Révoqués",
        }
    }
}

/// What the aidant typed in the search field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    Everyone,
    /// Words that must all begin a word of the given or family name, folded (see [`fold`]).
    Name(Vec<String>),
    Birthdate(Date),
}

/// A search that cannot be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchError {
    TooLong,
    /// Looks like a date (digits and slashes) but is not a JJ/MM/AAAA date.
    BadDate,
}

impl Search {
    /// A JJ/MM/AAAA date is a birth date; anything else is words of a name.
    pub fn parse(text: &str) -> Result<Search, SearchError> {
        let text = text.trim();
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(SearchError::TooLong);
        }
        if text.is_empty() {
            return Ok(Search::Everyone);
        }
        if text.chars().all(|c| c.is_ascii_digit() || c == '/') {
            let format = time::macros::format_description!("[day]/[month]/[year]");
            return Date::parse(text, format)
                .map(Search::Birthdate)
                .map_err(|_| SearchError::BadDate);
        }
        let words: Vec<String> = fold(text).split_whitespace().map(str::to_owned).collect();
        Ok(if words.is_empty() {
            Search::Everyone
        } else {
            Search::Name(words)
        })
    }

    fn matches(&self, person: &Person) -> bool {
        match self {
            Search::Everyone => true,
            Search::Birthdate(date) => person.birthdate == *date,
            Search::Name(words) => {
                let name = fold(&format!("{} {}", person.given_name, person.family_name));
                let name_words: Vec<&str> = name.split_whitespace().collect();
                words
                    .iter()
                    .all(|w| name_words.iter().any(|n| n.starts_with(w.as_str())))
            }
        }
    }
}

/// Lower case without accents, apostrophes and hyphens as spaces: « Hélène » finds « HELENE »,
/// « d'Églantine » finds « D'EGLANTINE », « jean » finds « Jean-Pierre ». Done here rather than
/// in SQL because SQLite's `lower()` folds ASCII only and PostgreSQL needs the `unaccent`
/// extension: this way both backends give the same answer. Names are in the Latin script
/// (FranceConnect's pivot identity); other letters are only lower-cased.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            '-' | '\'' | '’' | '.' | ',' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A person of the structure, with their standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: UsagerId,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: Date,
    pub tab: Tab,
    /// The soonest end among the authorizations usable now (active people only).
    pub next_end: Option<OffsetDateTime>,
    /// An authorization usable now ends within the "expire bientôt" window.
    pub expiring_soon: bool,
}

/// One page of one tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub people: Vec<Person>,
    /// People matching the search, per tab (for the tab labels).
    pub counts: BTreeMap<Tab, usize>,
    /// 1-based, clamped to the last page.
    pub page: usize,
    pub pages: usize,
}

/// How a person stands with the structure, from their mandates with it (any order).
pub fn standing(
    mandates: &[&Mandate],
    now: OffsetDateTime,
    expiring_within: Duration,
) -> (Tab, Option<OffsetDateTime>, bool) {
    let next_end = mandates
        .iter()
        .flat_map(|m| m.authorizations.iter())
        .filter(|a| a.is_usable_at(now))
        .map(|a| a.expires_at)
        .min();
    if let Some(end) = next_end {
        return (Tab::Active, Some(end), end - now <= expiring_within);
    }
    let latest = mandates
        .iter()
        .max_by_key(|m| (m.created_at, m.id.as_str()));
    let tab = match latest.map(|m| m.status_at(now)) {
        Some(MandateStatus::Revoked) => Tab::Revoked,
        _ => Tab::Expired,
    };
    (tab, None, false)
}

/// The structure's people in `tab` matching `search`, by family name, given name, birth date
/// and id (a stable order), page `page` of [`PAGE_SIZE`].
pub fn list(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    search: &Search,
    tab: Tab,
    page: usize,
    now: OffsetDateTime,
    expiring_within: Duration,
) -> Result<Listing, StorageError> {
    let mandates = mandates::for_organisation(conn, organisation)?;
    let mut by_usager: BTreeMap<&str, Vec<&Mandate>> = BTreeMap::new();
    for m in &mandates {
        by_usager.entry(m.usager_id.as_str()).or_default().push(m);
    }
    let rows: Vec<(String, String, String, Date)> = usagers::table
        .filter(
            usagers::id.eq_any(
                crate::schema::mandates::table
                    .filter(crate::schema::mandates::organisation_id.eq(organisation.as_str()))
                    .select(crate::schema::mandates::usager_id),
            ),
        )
        .order((
            usagers::family_name,
            usagers::given_name,
            usagers::birthdate,
            usagers::id,
        ))
        .select((
            usagers::id,
            usagers::given_name,
            usagers::family_name,
            usagers::birthdate,
        ))
        .load(conn)?;
    let mut counts: BTreeMap<Tab, usize> = Tab::ALL.into_iter().map(|t| (t, 0)).collect();
    let mut shown = Vec::new();
    for (id, given_name, family_name, birthdate) in rows {
        let (person_tab, next_end, expiring_soon) = standing(
            by_usager.get(id.as_str()).map_or(&[][..], Vec::as_slice),
            now,
            expiring_within,
        );
        let person = Person {
            id: UsagerId::new(id),
            given_name,
            family_name,
            birthdate,
            tab: person_tab,
            next_end,
            expiring_soon,
        };
        if !search.matches(&person) {
            continue;
        }
        *counts.entry(person_tab).or_default() += 1;
        if person_tab == tab {
            shown.push(person);
        }
    }
    let pages = shown.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.clamp(1, pages.min(MAX_PAGE));
    let people = shown
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    Ok(Listing {
        people,
        counts,
        page,
        pages,
    })
}

/// The delegated uses made for a person (their pseudonym) by the structure's aidants, newest
/// first, one explorer page from `cursor`: the journal's `delegation.started` entries (see
/// [`crate::console::USE_ACTION`]), filed under the structure. The `(usager, seq)` index of the
/// journal serves it.
pub fn delegated_uses(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    subject: &str,
    cursor: Cursor,
) -> Result<Page, StorageError> {
    let scope = Scope::Organisations(BTreeSet::from([organisation.clone()]));
    let filter = JournalFilter {
        organisation: Some(organisation.clone()),
        usagers: Some(vec![subject.to_owned()]),
        action: Some(crate::console::USE_ACTION),
        ..JournalFilter::default()
    };
    console_journal::page(conn, &scope, &filter, cursor)
}

/// The display names of the websites (OIDC clients) with these ids.
pub fn client_names<'a>(
    conn: &mut DbConnection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, String>, StorageError> {
    use crate::schema::oidc_clients;
    let ids: BTreeSet<&str> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(oidc_clients::table
        .filter(oidc_clients::id.eq_any(ids))
        .select((oidc_clients::id, oidc_clients::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn searches_are_names_or_birth_dates() {
        assert_eq!(Search::parse("  ").unwrap(), Search::Everyone);
        assert_eq!(
            Search::parse("24/08/1962").unwrap(),
            Search::Birthdate(date!(1962 - 08 - 24))
        );
        assert_eq!(Search::parse("31/02/1962"), Err(SearchError::BadDate));
        assert_eq!(Search::parse("1962"), Err(SearchError::BadDate));
        assert_eq!(
            Search::parse("Hélène d'Églantine").unwrap(),
            Search::Name(vec!["helene".into(), "d".into(), "eglantine".into()])
        );
        assert_eq!(
            Search::parse(&"a".repeat(MAX_SEARCH_CHARS + 1)),
            Err(SearchError::TooLong)
        );
    }

    #[test]
    fn names_match_without_case_or_accents_from_the_start_of_a_word() {
        let person = Person {
            id: UsagerId::new("u"),
            given_name: "Angela Claire Louise".into(),
            family_name: "DUBOIS-LEFÈVRE".into(),
            birthdate: date!(1962 - 08 - 24),
            tab: Tab::Active,
            next_end: None,
            expiring_soon: false,
        };
        for found in ["dubois", "lefevre", "LEFÈVRE", "claire dub", "ang"] {
            assert!(Search::parse(found).unwrap().matches(&person), "{found}");
        }
        for missed in ["bois", "martin", "angela martin"] {
            assert!(!Search::parse(missed).unwrap().matches(&person), "{missed}");
        }
        assert!(Search::parse("24/08/1962").unwrap().matches(&person));
        assert!(!Search::parse("25/08/1962").unwrap().matches(&person));
    }
}
