//! The journal explorer, its entry pages, inclusion proofs and streamed exports, shared by the
//! référent space (one structure) and the coordination space (a scope).
// Every date here is typed by a person: arithmetic on it is checked (bounded dates, then
// `next_day`), and the lint keeps it so.
#![deny(clippy::arithmetic_side_effects)]

use ac_audit::Action;
use ac_mandates::{AidantId, Demarche, OrganisationId};
use ac_storage::console::ConsoleRefusal;
use ac_storage::console::export::{self, Format};
use ac_storage::console::journal::{self, Cursor, JournalFilter, JournalRow};
use ac_storage::console::{Names, OutOfScope, Scope, UsagerMatch, names};
use ac_storage::{DbConnection, StorageError, audit};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::marker::PhantomData;
use std::pin::Pin;
use time::Date;
use time::macros::format_description;

use super::stream::channel;
use super::{Frame, invalid, labels, refuse};
use crate::auth::{CurrentAidant, RecentStepUp};
use crate::dates::entry_time;
use crate::respond::{blocking, fields, page};
use crate::{AppState, WebError};

/// A console the explorer is mounted in (`routes::journal_explorer`, once for each): how it
/// finds the space of a request.
pub(crate) trait Console: 'static {
    /// The explorer's pages are under `{BASE}/journal`.
    const BASE: &'static str;

    /// The space of a request whose path may name a structure (`org`), or the journaled 403.
    async fn space(
        state: &AppState,
        current: &CurrentAidant,
        org: Option<&str>,
    ) -> Result<Space, WebError>;
}

/// The explorer's routes in a console: the journal, its two exports, an entry and its proof.
/// A request of the explorer in console `C`: the signed-in account with a recent step-up, and
/// the space the path resolves to (or the journaled 403), so no page can skip either.
pub(crate) struct InSpace<C> {
    current: CurrentAidant,
    space: Space,
    console: PhantomData<C>,
}

impl<C: Console> FromRequest for InSpace<C> {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let step_up = RecentStepUp::from_request(req, payload);
        let (req, state) = (req.clone(), req.app_data::<web::Data<AppState>>().cloned());
        Box::pin(async move {
            let RecentStepUp(current) = step_up.await?;
            let state = state.ok_or_else(|| WebError::internal("no application state"))?;
            // `/referent/{org}/…` names the structure; the coordination's paths name none.
            let space = C::space(&state, &current, req.match_info().get("org")).await?;
            Ok(Self {
                current,
                space,
                console: PhantomData,
            })
        })
    }
}

/// An entry's path: its position in the log (the structure, if any, is read by `InSpace`).
#[derive(Deserialize)]
pub(crate) struct EntryPath {
    seq: i64,
}

pub(crate) async fn list_page<C: Console>(
    state: web::Data<AppState>,
    here: InSpace<C>,
    query: web::Query<Query>,
) -> Result<HttpResponse, WebError> {
    explorer(&state, &here.current, here.space, &query).await
}

pub(crate) async fn entry_page<C: Console>(
    state: web::Data<AppState>,
    here: InSpace<C>,
    path: web::Path<EntryPath>,
) -> Result<HttpResponse, WebError> {
    entry(&state, &here.current, here.space, path.seq).await
}

pub(crate) async fn proof_file<C: Console>(
    state: web::Data<AppState>,
    here: InSpace<C>,
    path: web::Path<EntryPath>,
) -> Result<HttpResponse, WebError> {
    proof(&state, &here.current, here.space, path.seq).await
}

/// Both exports, told apart by the constant: `JSON_LINES` or CSV.
pub(crate) async fn export_file<C: Console, const JSON_LINES: bool>(
    state: web::Data<AppState>,
    here: InSpace<C>,
    query: web::Query<Query>,
) -> Result<HttpResponse, WebError> {
    let format = if JSON_LINES {
        Format::JsonLines
    } else {
        Format::Csv
    };
    export(&state, &here.current, here.space, &query, format).await
}

/// Where the explorer runs: the scope, the URL prefix of its pages and the frame around them.
pub(crate) struct Space {
    pub scope: Scope,
    /// `/referent/ID` or `/coordination`.
    pub base: String,
    pub frame: Frame,
    /// Whether the structure filter is offered (several structures in scope).
    pub pick_structure: bool,
    /// Labels of the pages, for `access.denied` entries.
    pub page_label: &'static str,
}

/// The explorer's query string; every field optional, empty fields ignored (forms send them).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Query {
    structure: Option<String>,
    aidant: Option<String>,
    /// A pseudonym (from a link): `nom` is what people type.
    usager: Option<String>,
    nom: Option<String>,
    action: Option<String>,
    demarche: Option<String>,
    site: Option<String>,
    du: Option<String>,
    au: Option<String>,
    avant: Option<String>,
    apres: Option<String>,
}

fn clean(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The query, parsed; nothing checked against the scope yet.
#[derive(Debug, Clone)]
struct Parsed {
    structure: Option<OrganisationId>,
    aidant: Option<AidantId>,
    usager: Option<String>,
    nom: Option<String>,
    action: Option<Action>,
    demarche: Option<Demarche>,
    site: Option<String>,
    from: Option<Date>,
    to: Option<Date>,
    cursor: Cursor,
}

/// The dates a filter may name: the journal starts with the service, and nothing is dated after
/// this century. Bounding them keeps every date arithmetic below (and the databases' own
/// timestamp ranges) far from overflow.
const FIRST_DAY: Date = time::macros::date!(2000 - 01 - 01);
const LAST_DAY: Date = time::macros::date!(2099 - 12 - 31);

fn parse_date(text: &str) -> Result<Date, WebError> {
    let day = Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| invalid("Date illisible : utilisez le format AAAA-MM-JJ."))?;
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return Err(invalid(
            "Date hors limites : choisissez une date entre le 01/01/2000 et le 31/12/2099.",
        ));
    }
    Ok(day)
}

fn parse_seq(text: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|s| *s >= 0)
        .ok_or_else(|| invalid("Position de page illisible."))
}

/// An id or a site typed in a filter: no stored one is longer than a journal entry's strings
/// (an export journals its filters), so a longer one is refused here rather than failing there.
fn parse_id<'a>(value: &'a Option<String>, what: &str) -> Result<Option<&'a str>, WebError> {
    match clean(value) {
        Some(id) if id.len() > ac_audit::entry::MAX_STRING_BYTES => {
            Err(invalid(&format!("{what} trop long.")))
        }
        other => Ok(other),
    }
}

fn parse(query: &Query) -> Result<Parsed, WebError> {
    let from = clean(&query.du).map(parse_date).transpose()?;
    let to = clean(&query.au).map(parse_date).transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(invalid("La date de début doit précéder la date de fin."));
    }
    let site = parse_id(&query.site, "Identifiant de site")?.map(str::to_owned);
    let nom = clean(&query.nom).map(str::to_owned);
    if nom.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(invalid("Nom trop long."));
    }
    Ok(Parsed {
        structure: parse_id(&query.structure, "Identifiant de structure")?.map(OrganisationId::new),
        aidant: parse_id(&query.aidant, "Identifiant d'aidant")?.map(AidantId::new),
        usager: parse_id(&query.usager, "Identifiant d'usager")?.map(str::to_owned),
        nom,
        action: clean(&query.action)
            .map(|a| a.parse::<Action>())
            .transpose()
            .map_err(|_| invalid("Action inconnue."))?,
        demarche: clean(&query.demarche)
            .map(|d| d.parse::<Demarche>())
            .transpose()
            .map_err(|_| invalid("Démarche inconnue."))?,
        site,
        from,
        to,
        cursor: match (clean(&query.avant), clean(&query.apres)) {
            (Some(before), _) => Cursor::Before(parse_seq(before)?),
            (None, Some(after)) => Cursor::After(parse_seq(after)?),
            (None, None) => Cursor::Newest,
        },
    })
}

impl Parsed {
    /// The filters as a query string (no cursor), for pagination and export links.
    fn query_string(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        let day = |d: &Date| {
            d.format(format_description!("[year]-[month]-[day]"))
                .unwrap_or_default()
        };
        let pairs = [
            (
                "structure",
                self.structure.as_ref().map(ToString::to_string),
            ),
            ("aidant", self.aidant.as_ref().map(ToString::to_string)),
            ("usager", self.usager.clone()),
            ("nom", self.nom.clone()),
            ("action", self.action.map(|a| a.as_str().to_owned())),
            ("demarche", self.demarche.map(|d| d.key().to_owned())),
            ("site", self.site.clone()),
            ("du", self.from.as_ref().map(day)),
            ("au", self.to.as_ref().map(day)),
        ];
        for (key, value) in pairs {
            if let Some(value) = value {
                out.append_pair(key, &value);
            }
        }
        out.finish()
    }
}

/// The filter after checking every id against the scope.
struct Resolved {
    filter: JournalFilter,
    /// People found by name (or the one chosen by pseudonym), to tell homonyms apart.
    usagers: Vec<UsagerMatch>,
}

type Refusal = (OutOfScope, Option<OrganisationId>);

/// Checks the structure, aidant and usager of the query against the scope, and resolves a name
/// to pseudonyms inside it. `Err` through the inner result: something outside the scope.
fn resolve(
    conn: &mut DbConnection,
    scope: &Scope,
    parsed: &Parsed,
) -> Result<Result<Resolved, Refusal>, StorageError> {
    if let Some(structure) = &parsed.structure
        && let Err(out) = scope.check_organisation(structure)
    {
        return Ok(Err((out, Some(structure.clone()))));
    }
    if let Some(aidant) = &parsed.aidant
        && let Err(out) = scope.check_aidant(conn, aidant)?
    {
        return Ok(Err((out, None)));
    }
    // A name typed in the form wins over a person chosen earlier (kept in a hidden field).
    let (usagers, subjects) = match (&parsed.nom, &parsed.usager) {
        (Some(name), _) => {
            let found = scope.find_usagers(conn, name)?;
            let subjects = found.iter().map(|u| u.subject.clone()).collect();
            (found, Some(subjects))
        }
        (None, Some(subject)) => match scope.check_usager(conn, subject)? {
            Ok(found) => (vec![found.clone()], Some(vec![found.subject])),
            Err(out) => return Ok(Err((out, None))),
        },
        (None, None) => (Vec::new(), None),
    };
    let midnight = |d: Date| d.midnight().assume_utc();
    // The end of the last day asked for: the next midnight (bounded dates always have one).
    let end = |d: Date| d.next_day().map(midnight);
    Ok(Ok(Resolved {
        filter: JournalFilter {
            organisation: parsed.structure.clone(),
            aidant: parsed.aidant.clone(),
            usagers: subjects,
            action: parsed.action,
            demarche: parsed.demarche,
            client_id: parsed.site.clone(),
            from: parsed.from.map(midnight),
            to: parsed.to.and_then(end),
        },
        usagers,
    }))
}

#[derive(Debug, Serialize)]
struct RowView {
    seq: i64,
    at: String,
    action: String,
    action_code: String,
    actor: String,
    structure: String,
    usager: String,
    demarche: String,
    site: String,
    target: String,
    details: Vec<(String, String)>,
    request_id: String,
    href: String,
    proof_href: Option<String>,
}

impl RowView {
    /// A journal entry as the explorer shows it, its ids named with `names`; the links start
    /// at `base`, and the proof is offered for entries the latest checkpoint covers.
    fn of(
        row: &JournalRow,
        names: &RowNames,
        times: &ac_localtime::LocalTimes,
        base: &str,
        checkpoint_size: i64,
    ) -> Self {
        let entry = row.entry().ok();
        let actor = labels::actor(
            &row.actor_kind,
            row.actor_id.as_deref(),
            |id| names.names.aidants.get(id).cloned(),
            |id| names.partners.get(id).cloned(),
        );
        RowView {
            seq: row.seq,
            at: entry_time(times, &names.names, row),
            action: labels::action_code(&row.action),
            action_code: row.action.clone(),
            actor,
            structure: row
                .organisation_id
                .as_deref()
                .map(|o| names.structure(o))
                .unwrap_or_default(),
            usager: row
                .usager
                .as_deref()
                .map(|u| names.usager(u))
                .unwrap_or_default(),
            demarche: row
                .demarche
                .as_deref()
                .map(|d| d.parse::<Demarche>().map_or(d, |d| d.title()).to_owned())
                .unwrap_or_default(),
            site: row
                .client_id
                .as_deref()
                .map(|c| names.site(c))
                .unwrap_or_default(),
            target: row.target.clone().unwrap_or_default(),
            details: entry.as_ref().map(detail_words).unwrap_or_default(),
            request_id: entry.and_then(|e| e.request_id).unwrap_or_default(),
            href: format!("{base}/journal/{}", row.seq),
            proof_href: (row.seq < checkpoint_size)
                .then(|| format!("{base}/journal/{}/preuve", row.seq)),
        }
    }
}

/// An entry's details, each key and value in words.
fn detail_words(entry: &ac_audit::Entry) -> Vec<(String, String)> {
    entry
        .details
        .iter()
        .map(|(k, v)| (labels::detail_key_words(k), labels::detail_value(k, v)))
        .collect()
}

/// The names behind a page of entries: people and structures (`Names`), and the partner sites
/// by their registered name.
struct RowNames {
    names: Names,
    partners: std::collections::BTreeMap<String, String>,
}

fn names_for(conn: &mut DbConnection, rows: &[JournalRow]) -> Result<RowNames, StorageError> {
    let names = names(
        conn,
        rows.iter()
            .filter(|r| r.actor_kind == "aidant")
            .filter_map(|r| r.actor_id.as_deref()),
        rows.iter().filter_map(|r| r.usager.as_deref()),
    )?;
    let partners = ac_storage::structure_usagers::client_names(
        conn,
        rows.iter().flat_map(|r| {
            let actor = (r.actor_kind == "client")
                .then_some(r.actor_id.as_deref())
                .flatten();
            r.client_id.as_deref().into_iter().chain(actor)
        }),
    )?;
    Ok(RowNames { names, partners })
}

impl RowNames {
    /// A structure by its name, else its id.
    fn structure(&self, id: &str) -> String {
        self.names.organisation_or_id(id)
    }

    /// A person by their name, else the start of their pseudonym.
    fn usager(&self, pseudonym: &str) -> String {
        let start = pseudonym.get(..12).unwrap_or(pseudonym);
        self.names
            .usagers
            .get(pseudonym)
            .cloned()
            .unwrap_or_else(|| format!("pseudonyme {start}…"))
    }

    /// A partner site by its registered name, else its client id.
    fn site(&self, client_id: &str) -> String {
        self.partners
            .get(client_id)
            .cloned()
            .unwrap_or_else(|| client_id.to_owned())
    }
}

fn checkpoint_size(conn: &mut DbConnection) -> Result<i64, StorageError> {
    Ok(audit::latest_checkpoint(conn)?
        .map_or(0, |c| i64::try_from(c.tree_size).unwrap_or(i64::MAX)))
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct PageData {
    rows: Vec<JournalRow>,
    newer: Option<i64>,
    older: Option<i64>,
    names: RowNames,
    checkpoint_size: i64,
    aidants: Vec<(String, String)>,
    structures: Vec<(String, String)>,
    usagers: Vec<UsagerMatch>,
}

/// `GET {base}/journal`.
/// One page of the journal and what its filters offer, read in one blocking call; `Err` through
/// the inner result: the query names something outside the scope.
async fn page_data(
    state: &AppState,
    space: &Space,
    parsed: &Parsed,
) -> Result<Result<PageData, Refusal>, WebError> {
    let (db, scope, for_db, pick) = (
        state.db.clone(),
        space.scope.clone(),
        parsed.clone(),
        space.pick_structure,
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        let resolved = match resolve(conn, &scope, &for_db)? {
            Ok(r) => r,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let page = journal::page(conn, &scope, &resolved.filter, for_db.cursor)?;
        let names = names_for(conn, &page.rows)?;
        let structures = if pick {
            scope
                .organisations(conn)?
                .into_iter()
                .map(|o| (o.id.to_string(), format!("{} ({})", o.name, o.departement)))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Ok(PageData {
            newer: page.newer,
            older: page.older,
            rows: page.rows,
            names,
            checkpoint_size: checkpoint_size(conn)?,
            aidants: scope.aidants(conn, 500)?,
            structures,
            usagers: resolved.usagers,
        }))
    })
    .await
}

/// The people a name search found, each a link to the journal filtered on them.
fn usager_choices(data: &PageData, parsed: &Parsed, base: &str) -> Vec<serde_json::Value> {
    data.usagers
        .iter()
        .map(|u| {
            let mut q = parsed.clone();
            q.nom = None;
            q.usager = Some(u.subject.clone());
            serde_json::json!({
                "name": format!("{} {}", u.given_name, u.family_name),
                "birthdate": super::date(u.birthdate),
                "href": format!("{base}/journal?{}", q.query_string()),
                "chosen": parsed.usager.as_deref() == Some(u.subject.as_str()),
            })
        })
        .collect()
}

async fn explorer(
    state: &AppState,
    current: &CurrentAidant,
    space: Space,
    query: &Query,
) -> Result<HttpResponse, WebError> {
    let parsed = parse(query)?;
    let data = match page_data(state, &space, &parsed).await? {
        Ok(data) => data,
        Err((out, requested)) => {
            return Err(refuse(state, current, out, requested, space.page_label).await);
        }
    };
    let filters = parsed.query_string();
    let rows: Vec<RowView> = data
        .rows
        .iter()
        .map(|r| {
            let times = &state.local_times;
            RowView::of(r, &data.names, times, &space.base, data.checkpoint_size)
        })
        .collect();
    let mut context = filter_fields(&data, &parsed, &space.base);
    context.extend(link_fields(&data, &filters, &space.base));
    context.extend(fields([
        ("frame", json!(space.frame)),
        ("base", json!(space.base)),
        ("rows", json!(rows)),
        ("paged", json!(parsed.cursor != Cursor::Newest)),
        ("filtered", json!(!filters.is_empty())),
        ("checkpoint_size", json!(data.checkpoint_size)),
    ]));
    let body = state.templates.render_for(
        &current.menu(),
        "console/journal.html",
        &serde_json::Value::Object(context),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

/// The page's links, each keeping the request's `filters`: the newer and older pages, the
/// first page, and the exports.
fn link_fields(
    data: &PageData,
    filters: &str,
    base: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let link = |cursor: &str, seq: i64| {
        let mut q = filters.to_owned();
        if !q.is_empty() {
            q.push('&');
        }
        format!("{base}/journal?{q}{cursor}={seq}")
    };
    let export_query = if filters.is_empty() {
        String::new()
    } else {
        format!("?{filters}")
    };
    fields([
        ("newer_href", json!(data.newer.map(|s| link("apres", s)))),
        ("older_href", json!(data.older.map(|s| link("avant", s)))),
        ("first_href", json!(format!("{base}/journal{export_query}"))),
        (
            "csv_href",
            json!(format!("{base}/journal/export.csv{export_query}")),
        ),
        (
            "jsonl_href",
            json!(format!("{base}/journal/export.jsonl{export_query}")),
        ),
    ])
}

/// The filter form as the request filled it: each list's choices with the chosen one marked,
/// the name search and its people, the website and the dates.
fn filter_fields(
    data: &PageData,
    parsed: &Parsed,
    base: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let actions = Action::ALL
        .iter()
        .map(|a| (a.as_str().to_owned(), labels::action(*a).to_owned()));
    let demarches = Demarche::ALL
        .iter()
        .map(|d| (d.key().to_owned(), d.title().to_owned()));
    let day = |d: Option<Date>| {
        d.and_then(|d| d.format(format_description!("[year]-[month]-[day]")).ok())
            .unwrap_or_default()
    };
    let structure = parsed.structure.as_ref().map(ToString::to_string);
    let aidant = parsed.aidant.as_ref().map(ToString::to_string);
    fields([
        (
            "structures",
            json!(choices(data.structures.iter().cloned(), structure)),
        ),
        (
            "aidants",
            json!(choices(data.aidants.iter().cloned(), aidant)),
        ),
        (
            "actions",
            json!(choices(
                actions,
                parsed.action.map(|a| a.as_str().to_owned())
            )),
        ),
        (
            "demarches",
            json!(choices(
                demarches,
                parsed.demarche.map(|d| d.key().to_owned())
            )),
        ),
        ("nom", json!(parsed.nom.clone().unwrap_or_default())),
        ("usager", json!(parsed.usager.clone().unwrap_or_default())),
        ("usager_choices", json!(usager_choices(data, parsed, base))),
        (
            "name_searched",
            json!(parsed.nom.is_some() || parsed.usager.is_some()),
        ),
        ("site", json!(parsed.site.clone().unwrap_or_default())),
        ("du", json!(day(parsed.from))),
        ("au", json!(day(parsed.to))),
    ])
}

/// A select's options, `selected` marked.
fn choices(items: impl Iterator<Item = (String, String)>, selected: Option<String>) -> Vec<Choice> {
    items
        .map(|(value, label)| Choice {
            selected: selected.as_deref() == Some(value.as_str()),
            value,
            label,
        })
        .collect()
}

/// `GET {base}/journal/{seq}`.
async fn entry(
    state: &AppState,
    current: &CurrentAidant,
    space: Space,
    seq: i64,
) -> Result<HttpResponse, WebError> {
    let (db, scope) = (state.db.clone(), space.scope.clone());
    let found = blocking(move || {
        let conn = &mut *db.conn()?;
        match journal::entry(conn, &scope, seq)? {
            None => Ok(None),
            Some(Err(out)) => Ok(Some(Err(out))),
            Some(Ok(row)) => {
                let names = names_for(conn, std::slice::from_ref(&row))?;
                Ok(Some(Ok((row, names, checkpoint_size(conn)?))))
            }
        }
    })
    .await?;
    let (row, names, size) = match found {
        None => return Err(WebError::NotFound),
        Some(Err(out)) => return Err(refuse(state, current, out, None, space.page_label).await),
        Some(Ok(found)) => found,
    };
    let view = RowView::of(&row, &names, &state.local_times, &space.base, size);
    let pretty = serde_json::from_str::<serde_json::Value>(&row.entry)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| row.entry.clone());
    let body = state.templates.render_for(
        &current.menu(),
        "console/journal_entry.html",
        &serde_json::json!({
            "frame": space.frame,
            "base": space.base,
            "row": view,
            "canonical": pretty,
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

/// `GET {base}/journal/{seq}/preuve`: the offline inclusion bundle, as a download.
async fn proof(
    state: &AppState,
    current: &CurrentAidant,
    space: Space,
    seq: i64,
) -> Result<HttpResponse, WebError> {
    let (db, scope) = (state.db.clone(), space.scope.clone());
    let found = blocking(move || {
        let conn = &mut *db.conn()?;
        match journal::entry(conn, &scope, seq)? {
            None => Ok(None),
            Some(Err(out)) => Ok(Some(Err(out))),
            Some(Ok(_)) => {
                let seq = u64::try_from(seq).map_err(|_| StorageError::NotFound)?;
                match audit::prove(conn, seq) {
                    Ok(bundle) => Ok(Some(Ok(Some(bundle)))),
                    // Not yet under a signed checkpoint.
                    Err(StorageError::NotFound) => Ok(Some(Ok(None))),
                    Err(e) => Err(e),
                }
            }
        }
    })
    .await?;
    let bundle = match found {
        None => return Err(WebError::NotFound),
        Some(Err(out)) => return Err(refuse(state, current, out, None, space.page_label).await),
        Some(Ok(None)) => {
            return Err(WebError::invalid(ConsoleRefusal::NotYetCheckpointed));
        }
        Some(Ok(Some(bundle))) => bundle,
    };
    let json = serde_json::to_string_pretty(&bundle).map_err(WebError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"preuve-{seq}.json\""),
        ))
        .body(json))
}

/// `GET {base}/journal/export.csv` and `.jsonl`: journaled first, then streamed.
async fn export(
    state: &AppState,
    current: &CurrentAidant,
    space: Space,
    query: &Query,
    format: Format,
) -> Result<HttpResponse, WebError> {
    let parsed = parse(query)?;
    let now = state.clock.now();
    let outcome = begin_export(state, current, &space.scope, parsed, format, now).await?;
    let (filter, ticket, filed_under) = match outcome {
        Ok(ready) => ready,
        Err((out, requested)) => {
            return Err(refuse(state, current, out, requested, space.page_label).await);
        }
    };
    let job = ExportJob {
        db: state.db.clone(),
        scope: space.scope,
        filter,
        format,
        ticket,
        times: state.local_times.clone(),
        filed_under,
        context: current.audit_context(),
        now,
    };
    let (writer, body) = channel();
    tokio::task::spawn_blocking(move || job.write(writer));
    // Nothing leaves before the export really started: a failure up to its first chunk gets
    // the error page, not a 200 whose body breaks off.
    let body = body
        .started()
        .await
        .map_err(|e| WebError::internal(format!("export failed before its first byte: {e}")))?;
    Ok(attachment(body, format, now))
}

/// The export's filters resolved in the scope and its start journaled (`export::begin`): its
/// filter, its ticket and where it is filed; or what reached outside the scope.
async fn begin_export(
    state: &AppState,
    current: &CurrentAidant,
    scope: &Scope,
    parsed: Parsed,
    format: Format,
    now: time::OffsetDateTime,
) -> Result<Result<(JournalFilter, export::Ticket, OrganisationId), Refusal>, WebError> {
    let filed_under = match scope {
        // The référent's structure; a coordinator's export is filed under the structure it
        // filters on, else under the coordinator's own structure.
        Scope::Organisations(set) if set.len() == 1 => set
            .first()
            .cloned()
            .unwrap_or_else(|| current.aidant.current_organisation.clone()),
        _ => current.aidant.current_organisation.clone(),
    };
    let (db, scope, context) = (state.db.clone(), scope.clone(), current.audit_context());
    blocking(move || {
        let conn = &mut *db.conn()?;
        let resolved = match resolve(conn, &scope, &parsed)? {
            Ok(r) => r,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let ticket = export::begin(
            conn,
            &scope,
            &resolved.filter,
            format,
            &filed_under,
            &context,
            now,
        )?;
        // Where `begin` filed the export, to file its interruption beside it.
        let filed = resolved.filter.organisation.clone().unwrap_or(filed_under);
        Ok(Ok((resolved.filter, ticket, filed)))
    })
    .await
}

/// An export begun and journaled, to stream on a blocking thread.
struct ExportJob {
    db: ac_storage::Database,
    scope: Scope,
    filter: JournalFilter,
    format: Format,
    ticket: export::Ticket,
    times: std::sync::Arc<ac_localtime::LocalTimes>,
    /// Where `begin` filed the export, to file its interruption beside it.
    filed_under: OrganisationId,
    context: ac_storage::journal::AuditContext,
    now: time::OffsetDateTime,
}

impl ExportJob {
    /// Writes the rows into `writer`; an export that breaks off is journaled with what was
    /// delivered.
    fn write(self, mut writer: super::stream::ChannelWriter) {
        let written = self.db.conn().and_then(|mut conn| {
            export::write_in_words(
                &mut conn,
                &self.scope,
                &self.filter,
                self.format,
                &self.ticket,
                &self.times,
                &labels::CsvInWords,
                &mut writer,
            )
        });
        let Err(e) = written else { return };
        // A client that closed the download is not an error of ours; it is journaled all the
        // same, as what was delivered.
        let client_left =
            matches!(&e, StorageError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe);
        if !client_left {
            tracing::error!(code = e.code(), error = ?e, "export interrupted");
        }
        let sent = writer.sent();
        writer.abort();
        let reason = if client_left {
            "client_closed"
        } else {
            e.code()
        };
        let journaled = self.db.conn().and_then(|mut conn| {
            export::interrupted(
                &mut conn,
                &self.filed_under,
                self.format,
                &self.ticket,
                sent,
                reason,
                &self.context,
                self.now,
            )
        });
        if let Err(j) = journaled {
            tracing::error!(code = j.code(), error = ?j, "interrupted export not journaled");
        }
    }
}

/// The download's answer: never cached, named after the instant it was asked for.
fn attachment(
    body: super::stream::ChannelBody,
    format: Format,
    now: time::OffsetDateTime,
) -> HttpResponse {
    let stamp = now
        .format(format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::JsonLines => ("application/x-ndjson; charset=utf-8", "jsonl"),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"journal-{stamp}.{extension}\""),
        ))
        .body(body)
}
