//! The aidant's usagers: the people their current structure holds or held mandates
//! for — searched, in tabs, in pages — and each person's page with their mandates and the
//! delegated uses made for them, read from the journal.
//!
//! Everything is read for the aidant's *current* structure only: a person known to another
//! structure is neither listed nor reachable by URL (403, journaled). Both pages show personal
//! data, so both take [`PersonalDataAccess`]: the second factor typed within the step-up window.

use ac_localtime::LocalTimes;
use ac_mandates::{
    Demarche, JourneyRefusal, Mandate, MandateStatus, Organisation, OrganisationId, Usager,
    UsagerId,
};
use ac_storage::console::journal::{Cursor, JournalRow, Page};
use ac_storage::console::{self, Names, OutOfScope, Scope};
use ac_storage::receipts::Preference;
use ac_storage::structure_usagers::{self, Listing, MAX_PAGE, Person, Search, SearchError, Tab};
use ac_storage::{StorageError, mandates, usagers};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::{Duration, OffsetDateTime};

use crate::auth::PersonalDataAccess;
use crate::dates::{date, entry_time};
use crate::denied::refuse;
use crate::menu::Menu;
use crate::respond::{blocking, page};
use crate::status::{self, Badge};
use crate::{AppState, WebError};

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    q: Option<String>,
    onglet: Option<String>,
    page: Option<String>,
}

#[derive(Serialize)]
struct TabView {
    label: &'static str,
    count: usize,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct PersonView {
    href: String,
    given_name: String,
    family_name: String,
    birthdate: String,
    until: Option<String>,
    expiring_soon: bool,
}

impl PersonView {
    fn of(p: &Person) -> Self {
        PersonView {
            href: format!("/usagers/{}", p.id),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            birthdate: date(p.birthdate),
            until: p.next_end.map(|e| date(e.date())),
            expiring_soon: p.expiring_soon,
        }
    }
}

/// The list's URL for a search, tab and page (the search is percent-encoded).
fn list_href(q: &str, tab: Tab, page: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    query.append_pair("onglet", tab.key());
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    format!("/usagers?{}", query.finish())
}

/// What the list's address asks for, read and bounded.
struct ListRequest {
    tab: Tab,
    page: usize,
    q: String,
    search: Search,
    /// Why the search cannot run, for the field's message; nothing is listed then.
    search_error: Option<&'static str>,
}

impl ListRequest {
    fn read(query: ListQuery) -> Result<Self, WebError> {
        let tab = match query.onglet.as_deref() {
            None | Some("") => Tab::Active,
            Some(key) => {
                Tab::from_key(key).ok_or_else(|| WebError::invalid(JourneyRefusal::UnknownTab))?
            }
        };
        let page = match query.page.as_deref() {
            None | Some("") => 1,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| WebError::invalid(JourneyRefusal::UnknownPage))?,
        };
        let q = query.q.unwrap_or_default();
        let (search, search_error) = match Search::parse(&q) {
            Ok(search) => (search, None),
            Err(SearchError::TooLong) => (
                Search::Everyone,
                Some("La recherche est trop longue : 100 caractères au plus."),
            ),
            Err(SearchError::BadDate) => (
                Search::Everyone,
                Some(
                    "Écrivez la date de naissance sous la forme JJ/MM/AAAA, par exemple 24/08/1962.",
                ),
            ),
        };
        Ok(Self {
            tab,
            page,
            q,
            search,
            search_error,
        })
    }
}

pub(crate) async fn list(
    state: web::Data<AppState>,
    current: PersonalDataAccess,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let ListRequest {
        tab,
        page: requested_page,
        q,
        search,
        search_error,
    } = ListRequest::read(query.into_inner())?;
    // A search that cannot run shows nothing rather than everyone.
    let asked = search_error
        .is_none()
        .then_some((search, tab, requested_page));
    let (listing, organisation) = listing_of(&state, &current, asked).await?;
    let (people, page_number, pages) = match &listing {
        Some(l) => (
            l.people.iter().map(PersonView::of).collect(),
            l.page,
            l.pages,
        ),
        None => (Vec::new(), 1, 1),
    };
    let body = state.templates.render_for(
        &current.menu(),
        "usagers/list.html",
        &serde_json::json!({
            "organisation": organisation.name,
            "q": q,
            "tab": tab.key(),
            "tab_label": tab.label(),
            "tabs": tab_views(listing.as_ref(), &q, tab),
            "people": people,
            "page": page_number,
            "pages": pages,
            "previous_href": (page_number > 1).then(|| list_href(&q, tab, page_number - 1)),
            "next_href": (page_number < pages).then(|| list_href(&q, tab, page_number + 1)),
            "search_error": search_error,
            "expiring_soon_days": state.settings.mandates.expiring_soon_days,
        }),
    )?;
    let status = if search_error.is_some() {
        HttpResponse::UnprocessableEntity()
    } else {
        HttpResponse::Ok()
    };
    Ok(page(status, body))
}

/// One page of the structure's people for a search and tab (none when asked for nothing), and
/// the structure.
async fn listing_of(
    state: &AppState,
    current: &PersonalDataAccess,
    asked: Option<(Search, Tab, usize)>,
) -> Result<(Option<Listing>, Organisation), WebError> {
    let (db, organisation, now, window) = (
        state.db.clone(),
        current.aidant.current_organisation.clone(),
        state.clock.now(),
        crate::durations::expiring_window(state),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        let listing = asked
            .map(|(search, tab, page)| {
                structure_usagers::list(conn, &organisation, &search, tab, page, now, window)
            })
            .transpose()?;
        Ok((
            listing,
            ac_storage::organisations::get(conn, &organisation)?,
        ))
    })
    .await
}

/// The list's tabs with their counts (none while a search cannot run).
fn tab_views(listing: Option<&Listing>, q: &str, current: Tab) -> Vec<TabView> {
    Tab::ALL
        .into_iter()
        .map(|t| TabView {
            label: t.label(),
            count: listing.and_then(|l| l.counts.get(&t).copied()).unwrap_or(0),
            href: list_href(q, t, 1),
            current: t == current,
        })
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct UsagerQuery {
    /// The history page: uses older than this journal position.
    avant: Option<String>,
}

#[derive(Serialize)]
struct MandateView {
    href: String,
    renew_href: String,
    created: String,
    until: String,
    status: Badge,
    demarches: String,
}

#[derive(Serialize)]
struct UseView {
    at: String,
    aidant: String,
    demarche: String,
    website: String,
}

impl MandateView {
    fn of(m: &Mandate, now: OffsetDateTime, window: Duration) -> Self {
        MandateView {
            href: format!("/mandats/{}", m.id),
            renew_href: format!("/mandats/{}/renouveler", m.id),
            created: date(m.created_at.date()),
            until: date(m.expires_at.date()),
            // "Expire bientôt" with the list's window, not the domain's default.
            status: status::mandate(match m.status_at(now) {
                MandateStatus::Active { .. } => MandateStatus::Active {
                    expiring_soon: m.expires_at - now <= window,
                },
                other => other,
            }),
            demarches: m
                .authorizations
                .iter()
                .map(|a| a.demarche.title())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl UseView {
    /// A delegated use, with the names of its aidant and website and its structure's local time.
    fn of(
        r: &JournalRow,
        local_times: &LocalTimes,
        names: &Names,
        websites: &BTreeMap<String, String>,
    ) -> Self {
        let aidant = r.actor_id.as_deref().unwrap_or_default();
        let website = r.client_id.as_deref().unwrap_or_default();
        UseView {
            at: entry_time(local_times, names, r),
            aidant: names
                .aidants
                .get(aidant)
                .cloned()
                .unwrap_or_else(|| aidant.to_owned()),
            demarche: r
                .demarche
                .as_deref()
                .and_then(|d| d.parse::<Demarche>().ok())
                .map(|d| d.title().to_owned())
                .unwrap_or_default(),
            website: websites
                .get(website)
                .cloned()
                .unwrap_or_else(|| website.to_owned()),
        }
    }
}

/// A person of the aidant's current structure: 403 (journaled) for anyone the structure never
/// held a mandate for, whether they exist elsewhere or not at all — the answer is the same, so
/// it tells nothing.
pub(crate) async fn usager_page(
    state: web::Data<AppState>,
    current: PersonalDataAccess,
    id: web::Path<String>,
    query: web::Query<UsagerQuery>,
) -> Result<HttpResponse, WebError> {
    let requested = id.into_inner();
    let cursor = match query.avant.as_deref() {
        None | Some("") => Cursor::Newest,
        Some(text) => Cursor::Before(
            text.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| WebError::invalid(JourneyRefusal::UnknownHistoryPage))?,
        ),
    };
    let organisation = current.aidant.current_organisation.clone();
    let (db, wanted, scope_of) = (
        state.db.clone(),
        UsagerId::new(requested.clone()),
        organisation.clone(),
    );
    let found: Option<Usager> = blocking(move || {
        let conn = &mut *db.conn()?;
        let usager = match usagers::get(conn, &wanted) {
            Ok(u) => u,
            Err(StorageError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let scope = Scope::Organisations(BTreeSet::from([scope_of]));
        Ok(scope
            .check_usager(conn, &usager.subject)?
            .ok()
            .map(|_| usager))
    })
    .await?;
    let Some(usager) = found else {
        return Err(refuse(
            &state,
            &current,
            OutOfScope::new("usager", &requested),
            None,
            "usagers.usager",
        )
        .await);
    };
    render_usager(&state, &current.menu(), &organisation, usager, cursor).await
}

/// What the person's page shows from storage, for the aidant's structure.
struct Record {
    mandates: Vec<Mandate>,
    /// A page of the delegated uses made for the person.
    uses: Page,
    /// The names of the uses' aidants, and of their websites by client id.
    names: Names,
    websites: BTreeMap<String, String>,
    organisation_name: String,
    /// The person's receipts choice, the address masked (docs/security/aide-space.md).
    receipts: Option<Preference>,
}

/// The person's [`Record`], with the page of uses `cursor` asks for.
async fn record_of(
    state: &AppState,
    organisation: &OrganisationId,
    usager: &Usager,
    cursor: Cursor,
) -> Result<Record, WebError> {
    let (db, organisation, usager_id, subject) = (
        state.db.clone(),
        organisation.clone(),
        usager.id.clone(),
        usager.subject.clone(),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        let receipts = ac_storage::receipts::preference(conn, &usager_id)?;
        let mandates = mandates::for_usager(conn, &organisation, &usager_id)?;
        let uses = structure_usagers::delegated_uses(conn, &organisation, &subject, cursor)?;
        let names = console::names(
            conn,
            uses.rows.iter().filter_map(|r| r.actor_id.as_deref()),
            [],
        )?;
        let websites = structure_usagers::client_names(
            conn,
            uses.rows.iter().filter_map(|r| r.client_id.as_deref()),
        )?;
        let organisation_name = ac_storage::organisations::get(conn, &organisation)?.name;
        Ok(Record {
            mandates,
            uses,
            names,
            websites,
            organisation_name,
            receipts,
        })
    })
    .await
}

async fn render_usager(
    state: &AppState,
    menu: &Menu,
    organisation: &OrganisationId,
    usager: Usager,
    cursor: Cursor,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let window = crate::durations::expiring_window(state);
    let record = record_of(state, organisation, &usager, cursor).await?;
    let mandate_views: Vec<MandateView> = record
        .mandates
        .iter()
        .map(|m| MandateView::of(m, now, window))
        .collect();
    let use_views: Vec<UseView> = record
        .uses
        .rows
        .iter()
        .map(|r| UseView::of(r, &state.local_times, &record.names, &record.websites))
        .collect();
    let base = format!("/usagers/{}", usager.id);
    let body = state.templates.render_for(
        menu,
        "usagers/usager.html",
        &serde_json::json!({
            "organisation": record.organisation_name,
            "given_name": usager.identity.given_name,
            "family_name": usager.identity.family_name,
            "birthdate": date(usager.identity.birthdate),
            "receipts": record.receipts.map(|p| serde_json::json!({
                "choice": p.choice.label(),
                "masked": p.email_masked,
            })),
            "mandates": mandate_views,
            "uses": use_views,
            "newest_href": (!matches!(cursor, Cursor::Newest)).then(|| base.clone()),
            "older_href": record.uses.older.map(|seq| format!("{base}?avant={seq}")),
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}
