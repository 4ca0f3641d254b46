//! The coordination space: dashboard, journal, anomaly flags and integrity panel of a
//! coordinator's scope (`coordinator_scopes`: départements, structures, or the whole pilot).

use ac_localtime::OpeningHours;
use ac_mandates::{CoordinatorScope, Demarche, OrganisationId};
use ac_storage::audit;
use ac_storage::console::anomalies::{self, Anomalies, Rules};
use ac_storage::console::dashboard::{self, Dashboard, Figures};
use ac_storage::console::{Names, OutOfScope, Scope, names, verifications};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use time::macros::format_description;
use time::{Duration, Time};

use super::charts;
use super::explorer::{self, Space};
use super::{Frame, date, datetime, refuse};
use crate::auth::{CurrentAidant, RecentStepUp};
use crate::respond::{blocking, fields, page, see_other};
use crate::{AppState, WebError};

/// Weeks of use figures on the dashboard.
const DASHBOARD_WEEKS: u32 = 12;
/// A verification run not finished after this long is considered dead (the node stopped).
const RUN_STALE_AFTER: Duration = Duration::hours(2);

const LINKS: &[(&str, &str)] = &[
    ("/coordination", "Tableau de bord"),
    ("/coordination/journal", "Journal"),
    ("/coordination/anomalies", "Signalements"),
    ("/coordination/integrite", "Intégrité du journal"),
    (
        "/coordination/signalements-personnes",
        "Signalements des personnes",
    ),
];

/// The scope in words, from the account's coordinator scopes.
fn scope_label(current: &CurrentAidant, names: &BTreeMap<String, String>) -> String {
    let scopes = &current.aidant.coordinator_scopes;
    if scopes.contains(&CoordinatorScope::National) {
        return "Tout le pilote".into();
    }
    let departements: Vec<&str> = scopes
        .iter()
        .filter_map(|s| match s {
            CoordinatorScope::Departement(d) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    let structures: Vec<String> = scopes
        .iter()
        .filter_map(|s| match s {
            CoordinatorScope::Organisation(o) => Some(
                names
                    .get(o.as_str())
                    .cloned()
                    .unwrap_or_else(|| o.to_string()),
            ),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    match departements.as_slice() {
        [] => {}
        [one] => parts.push(format!("Département {one}")),
        many => parts.push(format!("Départements {}", many.join(", "))),
    }
    if !structures.is_empty() {
        parts.push(structures.join(", "));
    }
    parts.join(" ; ")
}

/// The account's coordination scope and page frame; 403 (journaled) without one.
pub(crate) async fn space(
    state: &AppState,
    current: &CurrentAidant,
    here: &str,
) -> Result<(Scope, Frame), WebError> {
    let (db, aidant) = (state.db.clone(), current.aidant.clone());
    let found = blocking(move || {
        let conn = &mut *db.conn()?;
        let scope = Scope::coordinator(conn, &aidant)?;
        let names: BTreeMap<String, String> = ac_storage::organisations::list(conn)?
            .into_iter()
            .map(|o| (o.id.to_string(), o.name))
            .collect();
        Ok((scope, names))
    })
    .await?;
    match found {
        (Some(scope), names) => {
            let frame = Frame::new(
                "Coordination",
                scope_label(current, &names),
                LINKS
                    .iter()
                    .map(|(href, label)| ((*href).to_owned(), (*label).to_owned())),
                here,
                current,
            );
            Ok((scope, frame))
        }
        (None, _) => Err(refuse(
            state,
            current,
            OutOfScope::new("coordination", current.aidant.id.as_str()),
            None,
            "coordination",
        )
        .await),
    }
}

/// The coordinator's explorer: the account's whole coordination scope.
pub(crate) struct Coordination;

impl explorer::Console for Coordination {
    const BASE: &'static str = "/coordination";

    async fn space(
        state: &AppState,
        current: &CurrentAidant,
        _: Option<&str>,
    ) -> Result<Space, WebError> {
        let (scope, frame) = space(state, current, "/coordination/journal").await?;
        Ok(Space {
            pick_structure: !matches!(&scope, Scope::Organisations(s) if s.len() <= 1),
            scope,
            base: "/coordination".into(),
            frame,
            page_label: "coordination.journal",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Dashboard

#[derive(Serialize)]
struct FiguresView {
    name: String,
    departement: String,
    href: Option<String>,
    created: i64,
    active: i64,
    expired: i64,
    revoked: i64,
    active_aidants: i64,
    aidants_who_acted: i64,
    uses: i64,
}

fn figures_view(
    name: String,
    departement: String,
    href: Option<String>,
    f: &Figures,
) -> FiguresView {
    FiguresView {
        name,
        departement,
        href,
        created: f.mandates_created,
        active: f.mandates_active,
        expired: f.mandates_expired,
        revoked: f.mandates_revoked,
        active_aidants: f.active_aidants,
        aidants_who_acted: f.aidants_who_acted,
        uses: f.uses,
    }
}

pub(crate) async fn dashboard_page(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
) -> Result<HttpResponse, WebError> {
    let (scope, frame) = space(&state, &current, "/coordination").await?;
    render_dashboard(&state, frame, scope, None).await
}

pub(crate) async fn structure_page(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (scope, frame) = space(&state, &current, "/coordination").await?;
    let organisation = OrganisationId::new(id.into_inner());
    if let Err(out) = scope.check_organisation(&organisation) {
        return Err(refuse(
            &state,
            &current,
            out,
            Some(organisation),
            "coordination.structure",
        )
        .await);
    }
    render_dashboard(&state, frame, scope, Some(organisation)).await
}

async fn render_dashboard(
    state: &AppState,
    frame: Frame,
    scope: Scope,
    one: Option<OrganisationId>,
) -> Result<HttpResponse, WebError> {
    let (db, now) = (state.db.clone(), state.clock.now());
    let single = one.is_some();
    let (organisations, board) = blocking(move || {
        let conn = &mut *db.conn()?;
        let organisations: Vec<_> = scope
            .organisations(conn)?
            .into_iter()
            .filter(|o| one.as_ref().is_none_or(|id| o.id == *id))
            .collect();
        let ids: Vec<OrganisationId> = organisations.iter().map(|o| o.id.clone()).collect();
        let board = dashboard::dashboard(conn, &ids, now, DASHBOARD_WEEKS)?;
        Ok((organisations, board))
    })
    .await?;
    let by_id: BTreeMap<&str, &ac_mandates::Organisation> =
        organisations.iter().map(|o| (o.id.as_str(), o)).collect();
    let rows: Vec<FiguresView> = board
        .per_structure
        .iter()
        .filter_map(|(id, f)| {
            by_id.get(id.as_str()).map(|o| {
                figures_view(
                    o.name.clone(),
                    o.departement.to_string(),
                    (!single).then(|| format!("/coordination/structures/{}", o.id)),
                    f,
                )
            })
        })
        .collect();
    let total = figures_view("Total".into(), String::new(), None, &board.total);
    let title = match (single, organisations.first()) {
        (true, Some(o)) => o.name.clone(),
        _ => "Tableau de bord".into(),
    };
    let mut context = charts_context(&board);
    context.extend(fields([
        ("frame", json!(frame)),
        ("title", json!(title)),
        ("single", json!(single)),
        ("rows", json!(rows)),
        ("total", json!(total)),
        ("weeks", json!(DASHBOARD_WEEKS)),
    ]));
    let body = state.templates.render_for(
        &frame.menu,
        "console/dashboard.html",
        &serde_json::Value::Object(context),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

/// The dashboard's three charts (statuses, démarches, weeks), each with the table that repeats
/// its values, and the first day they count from.
fn charts_context(board: &Dashboard) -> serde_json::Map<String, serde_json::Value> {
    let statuses = vec![
        ("Actifs".to_owned(), board.total.mandates_active),
        ("Expirés".to_owned(), board.total.mandates_expired),
        ("Révoqués".to_owned(), board.total.mandates_revoked),
    ];
    let demarches: Vec<(String, i64)> = board
        .uses_by_demarche
        .iter()
        .map(|(d, n): &(Demarche, i64)| (d.title().to_owned(), *n))
        .collect();
    let weeks: Vec<(String, i64)> = board
        .uses_by_week
        .iter()
        .map(|(monday, n)| (format!("Semaine du {}", date(*monday)), *n))
        .collect();
    let since = date(board.since.date());
    let status_chart = charts::horizontal(
        "statuts",
        "Mandats par statut".into(),
        format!(
            "{} mandats créés : {} actifs, {} expirés, {} révoqués.",
            board.total.mandates_created,
            board.total.mandates_active,
            board.total.mandates_expired,
            board.total.mandates_revoked
        ),
        &statuses,
    );
    let demarche_chart = charts::horizontal(
        "demarches",
        format!("Utilisations par démarche depuis le {since}"),
        format!(
            "{} utilisations au total ; le tableau qui suit donne chaque valeur.",
            board.total.uses
        ),
        &demarches,
    );
    let week_chart = charts::horizontal(
        "semaines",
        format!("Utilisations par semaine depuis le {since}"),
        format!("{DASHBOARD_WEEKS} semaines ; le tableau qui suit donne chaque valeur."),
        &weeks,
    );
    fields([
        ("since", json!(since)),
        ("status_chart", json!(status_chart)),
        ("statuses", json!(statuses)),
        ("demarche_chart", json!(demarche_chart)),
        ("demarches", json!(demarches)),
        ("week_chart", json!(week_chart)),
        ("week_rows", json!(weeks)),
    ])
}

// ---------------------------------------------------------------------------------------------
// Anomalies

fn time_of(text: &str) -> Option<Time> {
    let (h, m) = ac_config::parse_hhmm(text)?;
    Time::from_hms(h, m, 0).ok()
}

/// The rules of `[anomalies]`, in the storage layer's terms. The settings were validated at
/// start-up, so a value that does not convert falls back to the documented default.
pub(crate) fn rules(settings: &ac_config::AnomalySettings) -> Rules {
    let default_open = Time::from_hms(8, 0, 0).unwrap_or(Time::MIDNIGHT);
    let default_close = Time::from_hms(19, 0, 0).unwrap_or(Time::MIDNIGHT);
    Rules {
        lookback: Duration::days(i64::from(settings.lookback_days)),
        opening_hours: OpeningHours {
            days: settings.opening_days.iter().copied().collect(),
            opens: time_of(&settings.opening_time).unwrap_or(default_open),
            closes: time_of(&settings.closing_time).unwrap_or(default_close),
            structure_hours: settings
                .structure_hours
                .iter()
                .filter_map(|(id, range)| {
                    let (open, close) = range.split_once('-')?;
                    Some((id.clone(), (time_of(open.trim())?, time_of(close.trim())?)))
                })
                .collect(),
        },
        median_percent: settings.aidant_median_percent,
        min_uses: settings.aidant_min_uses,
        same_usager_structures: usize::try_from(settings.same_usager_structures).unwrap_or(2),
        same_usager_window: Duration::hours(i64::from(settings.same_usager_window_hours)),
    }
}

pub(crate) async fn anomalies_page(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
) -> Result<HttpResponse, WebError> {
    let (scope, frame) = space(&state, &current, "/coordination/anomalies").await?;
    let (found, names) = detected(&state, scope).await?;
    let named = Named {
        names: &names,
        times: &state.local_times,
        since_day: found
            .since
            .date()
            .format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_default(),
    };
    let outside = named.outside_hours(&found.outside_hours);
    let above = named.above_median(&found.above_median);
    let same = named.same_usager(&found.same_usager);
    let body = state.templates.render_for(
        &current.menu(),
        "console/anomalies.html",
        &serde_json::json!({
            "frame": frame,
            "since": datetime(&state.local_times, None, found.since),
            "examined": found.uses_examined,
            "outside": outside,
            "outside_total": found.outside_hours_total,
            "above": above,
            "same": same,
            "same_total": found.same_usager_total,
            "listed_max": anomalies::MAX_LISTED,
            "settings": rules_view(&state.settings.anomalies),
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

/// The anomalies found in the scope with the rules of `[anomalies]`, and the names of the
/// people they concern.
async fn detected(state: &AppState, scope: Scope) -> Result<(Anomalies, Names), WebError> {
    let (db, now, rules) = (
        state.db.clone(),
        state.clock.now(),
        rules(&state.settings.anomalies),
    );
    let times = state.local_times.clone();
    blocking(move || {
        let conn = &mut *db.conn()?;
        let found = anomalies::detect(conn, &scope, &rules, &times, now)?;
        let names = names(
            conn,
            found
                .outside_hours
                .iter()
                .filter_map(|f| f.aidant.as_deref())
                .chain(found.above_median.iter().map(|f| f.aidant.as_str())),
            found.same_usager.iter().map(|f| f.usager.as_str()),
        )?;
        Ok((found, names))
    })
    .await
}

/// The rules of `[anomalies]` as the page recalls them.
fn rules_view(settings: &ac_config::AnomalySettings) -> serde_json::Value {
    let days: Vec<&str> = settings
        .opening_days
        .iter()
        .map(|d| weekday_name(*d))
        .collect();
    json!({
        "lookback_days": settings.lookback_days,
        "days": days.join(", "),
        "opening_time": settings.opening_time,
        "closing_time": settings.closing_time,
        "median_percent": settings.aidant_median_percent,
        "min_uses": settings.aidant_min_uses,
        "same_structures": settings.same_usager_structures,
        "same_hours": settings.same_usager_window_hours,
    })
}

/// The anomalies in words, with links into the journal: names for ids, local times.
struct Named<'a> {
    names: &'a Names,
    times: &'a ac_localtime::LocalTimes,
    /// The first day examined, as the journal's `du` filter writes it.
    since_day: String,
}

impl Named<'_> {
    fn aidant(&self, id: &str) -> String {
        self.names.aidant_or_id(id)
    }

    fn structure(&self, id: &str) -> String {
        self.names.organisation_or_id(id)
    }

    fn outside_hours(&self, found: &[anomalies::OutsideHours]) -> Vec<serde_json::Value> {
        found
            .iter()
            .map(|f| {
                let departement = self.names.departements.get(f.organisation.as_str());
                serde_json::json!({
                    "seq": f.seq,
                    "href": format!("/coordination/journal/{}", f.seq),
                    "at": datetime(self.times, departement.map(String::as_str), f.at),
                    "local": f.local.format(format_description!("[weekday repr:long] [day]/[month] [hour]:[minute]")).map(french_weekday).unwrap_or_default(),
                    "structure": self.structure(f.organisation.as_str()),
                    "aidant": f.aidant.as_deref().map(|a| self.aidant(a)).unwrap_or_default(),
                })
            })
            .collect()
    }

    fn above_median(&self, found: &[anomalies::AboveMedian]) -> Vec<serde_json::Value> {
        let use_action = ac_storage::console::USE_ACTION.as_str();
        found
            .iter()
            .map(|f| {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("structure", f.organisation.as_str())
                    .append_pair("aidant", &f.aidant)
                    .append_pair("action", use_action)
                    .append_pair("du", &self.since_day);
                serde_json::json!({
                    "aidant": self.aidant(&f.aidant),
                    "structure": self.structure(f.organisation.as_str()),
                    "uses": f.uses,
                    "median": median_text(f.median_halves),
                    "href": format!("/coordination/journal?{}", q.finish()),
                    "last_href": format!("/coordination/journal/{}", f.last_seq),
                })
            })
            .collect()
    }

    fn same_usager(&self, found: &[anomalies::SameUsager]) -> Vec<serde_json::Value> {
        let use_action = ac_storage::console::USE_ACTION.as_str();
        found
            .iter()
            .map(|f| {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("usager", &f.usager)
                    .append_pair("action", use_action)
                    .append_pair("du", &self.since_day);
                serde_json::json!({
                    "usager": self.names.usagers.get(&f.usager).cloned().unwrap_or_else(|| "usager".into()),
                    "structures": f.structures.iter().map(|o| self.structure(o.as_str())).collect::<Vec<_>>(),
                    "first_at": datetime(self.times, None, f.first_at),
                    "entries": f.seqs.iter().map(|s| serde_json::json!({"seq": s, "href": format!("/coordination/journal/{s}")})).collect::<Vec<_>>(),
                    "href": format!("/coordination/journal?{}", q.finish()),
                })
            })
            .collect()
    }
}

fn median_text(halves: i64) -> String {
    if halves % 2 == 0 {
        (halves / 2).to_string()
    } else {
        format!("{},5", halves / 2)
    }
}

fn weekday_name(day: u8) -> &'static str {
    match day {
        1 => "lundi",
        2 => "mardi",
        3 => "mercredi",
        4 => "jeudi",
        5 => "vendredi",
        6 => "samedi",
        7 => "dimanche",
        _ => "?",
    }
}

fn french_weekday(text: String) -> String {
    [
        ("Monday", "lundi"),
        ("Tuesday", "mardi"),
        ("Wednesday", "mercredi"),
        ("Thursday", "jeudi"),
        ("Friday", "vendredi"),
        ("Saturday", "samedi"),
        ("Sunday", "dimanche"),
    ]
    .iter()
    .fold(text, |t, (en, fr)| t.replace(en, fr))
}

// ---------------------------------------------------------------------------------------------
// Integrity

#[derive(Serialize)]
struct RunView {
    started_at: String,
    finished_at: String,
    outcome: &'static str,
    intact: bool,
    entries: Option<i64>,
    checkpoints: Option<i64>,
    root: String,
    problem_seq: Option<i64>,
    problem: String,
    /// The problem, line by line (the mandate tables' differences, one per line).
    problem_lines: Vec<String>,
    by_console: bool,
}

fn run_view(times: &ac_localtime::LocalTimes, run: &verifications::Run) -> RunView {
    RunView {
        started_at: datetime(times, None, run.started_at),
        finished_at: run
            .finished_at
            .map(|at| datetime(times, None, at))
            .unwrap_or_default(),
        outcome: match run.outcome {
            Some(verifications::Outcome::Intact) => "Journal intègre",
            Some(verifications::Outcome::Tampered) => "Altération détectée",
            Some(verifications::Outcome::Failed) => "Vérification interrompue",
            None => "En cours",
        },
        intact: run.outcome == Some(verifications::Outcome::Intact),
        entries: run.entries,
        checkpoints: run.checkpoints,
        root: run.root_hash.clone().unwrap_or_default(),
        problem_seq: run.problem_seq,
        problem: run.problem.clone().unwrap_or_default(),
        problem_lines: run
            .problem
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
        by_console: run.requested_by.is_some(),
    }
}

pub(crate) async fn integrity_page(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
) -> Result<HttpResponse, WebError> {
    let (_, frame) = space(&state, &current, "/coordination/integrite").await?;
    let (db, now) = (state.db.clone(), state.clock.now());
    let dir = state.settings.audit.checkpoint_dir.clone();
    let (checkpoint, last, running, size, published) = blocking(move || {
        let conn = &mut *db.conn()?;
        Ok((
            audit::latest_checkpoint(conn)?,
            verifications::latest_finished(conn)?,
            verifications::in_progress(conn, now.saturating_sub(RUN_STALE_AFTER))?,
            ac_storage::console::journal::log_size(conn)?,
            crate::audit_worker::count_published(&dir),
        ))
    })
    .await?;
    let keys: Vec<String> = state
        .trusted_audit_keys()?
        .iter()
        .map(ToString::to_string)
        .collect();
    let body = state.templates.render_for(
        &current.menu(),
        "console/integrity.html",
        &serde_json::json!({
            "frame": frame,
            "checkpoint": checkpoint.as_ref().map(|c| serde_json::json!({
                "size": c.tree_size,
                "signed_at": datetime(&state.local_times, None, c.signed_at),
                "root": hex_root(&c.root),
                "note": c.signed_note,
            })),
            "log_size": size,
            "last": last.as_ref().map(|r| run_view(&state.local_times, r)),
            "running": running.as_ref().map(|r| run_view(&state.local_times, r)),
            "keys": keys,
            "checkpoint_dir_files": published,
            "journal_alarm": state.journal_alarm.raised(),
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

fn hex_root(root: &[u8]) -> String {
    root.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

/// Starts a full verification in the background and comes back to the panel, which shows it
/// running, then its result. A verification reads the whole log (about a minute per 10 million
/// entries here), longer than a page should wait.
pub(crate) async fn start_verification(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    space(&state, &current, "/coordination/integrite").await?;
    let verifiers = state.trusted_audit_keys()?;
    let published = crate::audit_worker::read_published(&state.settings.audit.checkpoint_dir)
        .map_err(WebError::internal)?;
    let (db, now, aidant, max_age) = (
        state.db.clone(),
        state.clock.now(),
        current.aidant.id.clone(),
        state.settings.audit.pending_max_age,
    );
    let retention = crate::retention::policy(&state.settings.retention);
    let busy = blocking(move || {
        Ok(
            verifications::in_progress(&mut *db.conn()?, now.saturating_sub(RUN_STALE_AFTER))?
                .is_some(),
        )
    })
    .await?;
    if !busy {
        let (db, clock) = (state.db.clone(), state.clock.clone());
        std::thread::Builder::new()
            .name("audit-verification".into())
            .spawn(move || {
                let ran = verifications::run(
                    &db,
                    &verifiers,
                    &published,
                    Some(&aidant),
                    max_age,
                    &retention,
                    &|| clock.now(),
                );
                match ran {
                    Ok(report) if report.is_intact() => tracing::info!(
                        entries = report.entries,
                        intact = true,
                        "audit verification finished"
                    ),
                    Ok(report) => tracing::error!(
                        entries = report.entries,
                        intact = false,
                        problem = report.problem.as_ref().map(|p| p.what.as_str()),
                        differences = report.differences.len(),
                        "audit verification found the journal or the mandate tables altered"
                    ),
                    Err(e) => {
                        tracing::error!(code = e.code(), error = ?e, "audit verification failed")
                    }
                }
            })
            .map_err(WebError::internal)?;
    }
    Ok(see_other("/coordination/integrite").finish())
}
