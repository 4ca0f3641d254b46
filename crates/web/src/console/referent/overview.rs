//! The référent's structures (`/referent`) and one structure's page: the démarches the people
//! stopped themselves lately, its team, its allowed démarches and its renewal
//! setting.

use ac_localtime::Format;
use ac_mandates::{Aidant, Demarche, OrganisationId};
use ac_storage::console::{OutOfScope, journal};
use ac_storage::totp_devices;
use ac_storage::{StorageError, aidants, organisations};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::here::{DoneQuery, Here, done_message, here};
use crate::auth::RecentStepUp;
use crate::console::{Frame, refuse};
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

pub(crate) async fn index(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
) -> Result<HttpResponse, WebError> {
    let mine: Vec<OrganisationId> = current.aidant.referent_of.iter().cloned().collect();
    match mine.as_slice() {
        [] => Err(refuse(
            &state,
            &current,
            OutOfScope::new("referent", current.aidant.id.as_str()),
            None,
            "referent",
        )
        .await),
        [one] => Ok(see_other(&format!("/referent/{one}")).finish()),
        _ => {
            let db = state.db.clone();
            let all = blocking(move || organisations::list(&mut *db.conn()?)).await?;
            let structures: Vec<serde_json::Value> = all
                .into_iter()
                .filter(|o| mine.contains(&o.id))
                .map(|o| serde_json::json!({"href": format!("/referent/{}", o.id), "name": o.name, "departement": o.departement.to_string()}))
                .collect();
            let frame = Frame::new(
                "Espace référent",
                "Mes structures".into(),
                [("/referent".to_owned(), "Mes structures".to_owned())],
                "/referent",
                &current,
            );
            let body = state.templates.render_for(
                &current.menu(),
                "console/referent_index.html",
                &serde_json::json!({ "frame": frame, "structures": structures }),
            )?;
            Ok(page(HttpResponse::Ok(), body))
        }
    }
}

#[derive(Serialize)]
struct MemberView {
    id: String,
    name: String,
    email: String,
    profession: String,
    roles: String,
    active: bool,
    devices: usize,
    locked: bool,
    href: String,
}

/// How far back the page lists the démarches the people stopped themselves.
const SELF_REVOCATIONS_DAYS: i64 = 30;
/// At most this many lines; the structure's journal has the rest.
const SELF_REVOCATIONS_SHOWN: i64 = 20;

/// A démarche the person represented stopped from « Mon espace ».
#[derive(Serialize)]
struct SelfRevocationView {
    at: String,
    demarche: &'static str,
    href: String,
}

/// The démarches stopped from « Mon espace », as the page lists them (no name).
fn self_revocation_views(
    state: &AppState,
    here: &Here,
    base: &str,
    stopped: &[journal::JournalRow],
) -> Vec<SelfRevocationView> {
    let departement = here.organisation.departement.as_str();
    stopped
        .iter()
        .map(|row| SelfRevocationView {
            at: state
                .local_times
                .format(departement, row.at(), Format::DateTime),
            demarche: row
                .demarche
                .as_deref()
                .and_then(|d| d.parse::<Demarche>().ok())
                .map_or("une démarche", Demarche::title),
            href: format!("{base}/journal/{}", row.seq),
        })
        .collect()
}

/// An account of the structure, with its second factors.
type Member = (Aidant, Vec<totp_devices::Device>);

/// The structure's accounts, with their roles and second factors.
fn member_views(here: &Here, base: &str, team: &[Member]) -> Vec<MemberView> {
    team.iter()
        .map(|(a, devices)| {
            let mut roles = Vec::new();
            if a.can_create_mandates {
                roles.push("aidant");
            }
            if a.referent_of.contains(&here.organisation.id) {
                roles.push("référent");
            }
            if !a.coordinator_scopes.is_empty() {
                roles.push("coordination");
            }
            MemberView {
                id: a.id.to_string(),
                name: a.full_name(),
                email: a.email.to_string(),
                profession: a.profession.clone(),
                roles: roles.join(", "),
                active: a.is_active,
                devices: devices.len(),
                locked: devices.iter().any(|d| d.locked_at.is_some()),
                href: format!("{base}/aidants/{}", a.id),
            }
        })
        .collect()
}

/// The structure's accounts with their second factors, and the démarches its people stopped
/// themselves lately (the latest first, at most `SELF_REVOCATIONS_SHOWN`).
async fn team_and_stopped(
    state: &AppState,
    here: &Here,
) -> Result<(Vec<Member>, Vec<journal::JournalRow>), WebError> {
    let (db, id) = (state.db.clone(), here.organisation.id.clone());
    let since = state
        .clock
        .now()
        .checked_sub(time::Duration::days(SELF_REVOCATIONS_DAYS))
        .ok_or_else(|| WebError::internal("self revocations: date out of range"))?;
    blocking(move || {
        let conn = &mut *db.conn()?;
        let stopped = journal::self_revocations(conn, &id, since, SELF_REVOCATIONS_SHOWN)?;
        let team = aidants::list(conn, Some(&id))?;
        let team = team
            .into_iter()
            .map(|a| {
                let devices = totp_devices::list_for_aidant(conn, &a.id)?;
                Ok((a, devices))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok((team, stopped))
    })
    .await
}

pub(crate) async fn structure(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    org: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let here = here(&state, &current, &org, "").await?;
    let (team, stopped) = team_and_stopped(&state, &here).await?;
    let base = format!("/referent/{}", here.organisation.id);
    let self_revocations = self_revocation_views(&state, &here, &base, &stopped);
    let members = member_views(&here, &base, &team);
    let demarches: Vec<serde_json::Value> = Demarche::ALL
        .iter()
        .map(|d| {
            serde_json::json!({
                "key": d.key(),
                "title": d.title(),
                "examples": d.examples(),
                "allowed": here.organisation.allowed_demarches.contains(d),
            })
        })
        .collect();
    let body = state.templates.render_for(&current.menu(),
        "console/referent_structure.html",
        &serde_json::json!({
            "frame": here.frame,
            "base": base,
            "organisation": {
                "name": here.organisation.name,
                "kind": here.organisation.kind.label(),
                "address": here.organisation.address,
                "departement": here.organisation.departement.to_string(),
                "renewal_requires_identification": here.organisation.renewal_requires_identification,
            },
            "self_revocations": self_revocations,
            "self_revocations_days": SELF_REVOCATIONS_DAYS,
            "members": members,
            "demarches": demarches,
            "done": done_message(query.fait.as_deref()),
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}
