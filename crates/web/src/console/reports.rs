//! The reports of the people helped (« Ce n'était pas moi », docs/security/aide-space.md
//! "Receipts") in both consoles:
//! - `/referent/{structure}/signalements`: the structure's open reports; the référent closes
//!   one by revoking what it names, or restores it with the person present
//!   (`…/{id}/retablir`: the person's own tick on the screen and the référent's TOTP code, as a
//!   revocation on the tablet);
//! - `/coordination/signalements-personnes`: the open reports of the coordinator's scope, to
//!   read.
//!
//! Lists name no one; the restore page, where the person is present, shows their name (a
//! personal-data page: `PersonalDataAccess`). Every id is checked against the scope in the
//! storage query itself (another structure's report is 404).

use ac_localtime::Format;
use ac_mandates::OrganisationId;
use ac_storage::console::{OutOfScope, Scope};
use ac_storage::receipts::reports::{self, Closing, OpenReport};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::{Frame, refuse};
use crate::auth::{CurrentAidant, PersonalDataAccess, RecentStepUp, StepUpCheck};
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

#[derive(Serialize)]
struct ReportView {
    id: String,
    organisation: String,
    organisation_id: String,
    what: &'static str,
    demarches: String,
    whole_mandate: bool,
    reported_at: String,
    receipt_at: String,
}

fn view(report: &OpenReport, times: &ac_localtime::LocalTimes) -> ReportView {
    let demarches: Vec<&str> = report
        .demarches
        .split(',')
        .filter_map(|d| d.parse::<ac_mandates::Demarche>().ok())
        .map(|d| d.title())
        .collect();
    ReportView {
        id: report.id.clone(),
        organisation: report.organisation_name.clone(),
        organisation_id: report.organisation.as_str().to_owned(),
        what: report.kind.label(),
        demarches: demarches.join(", "),
        whole_mandate: report.authorization.is_none(),
        reported_at: times.format(&report.departement, report.reported_at, Format::DateTime),
        receipt_at: times.format(&report.departement, report.receipt_at, Format::DateTime),
    }
}

/// The référent's scope on `org`, or 403 (journaled).
async fn referent_scope(
    state: &AppState,
    current: &CurrentAidant,
    org: &str,
) -> Result<(OrganisationId, Scope), WebError> {
    let id = OrganisationId::new(org);
    match Scope::referent(&current.aidant, &id) {
        Some(scope) => Ok((id, scope)),
        None => Err(refuse(
            state,
            current,
            OutOfScope::new("structure", org),
            Some(id),
            "referent.reports",
        )
        .await),
    }
}

/// The référent space's frame on a reports page (the structure shown by its id).
fn referent_frame(current: &CurrentAidant, org: &OrganisationId, here: &str) -> Frame {
    super::referent::referent_frame(current, org, org.as_str().to_owned(), here)
}

async fn open_reports(state: &AppState, scope: Scope) -> Result<Vec<ReportView>, WebError> {
    let db = state.db.clone();
    let open = blocking(move || reports::open_in_scope(&mut *db.conn()?, &scope)).await?;
    Ok(open.iter().map(|r| view(r, &state.local_times)).collect())
}

fn list_page(
    state: &AppState,
    current: &CurrentAidant,
    frame: Frame,
    reports: Vec<ReportView>,
    referent: bool,
) -> Result<HttpResponse, WebError> {
    let body = state.templates.render_for(
        &current.menu(),
        "console/reports.html",
        &serde_json::json!({
            "frame": frame,
            "reports": reports,
            "referent": referent,
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

pub(crate) async fn referent_list(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (org, scope) = referent_scope(&state, &current, &path).await?;
    let here = format!("/referent/{org}/signalements");
    let reports = open_reports(&state, scope).await?;
    let frame = referent_frame(&current, &org, &here);
    list_page(&state, &current, frame, reports, true)
}

pub(crate) async fn coordination_list(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
) -> Result<HttpResponse, WebError> {
    let (scope, frame) =
        super::coordination::space(&state, &current, "/coordination/signalements-personnes")
            .await?;
    let reports = open_reports(&state, scope).await?;
    list_page(&state, &current, frame, reports, false)
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    csrf: String,
}

/// Closes a report by revoking what it names, at once.
#[instrument(skip_all)]
pub(crate) async fn revoke(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<(String, String)>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    let (org, id) = path.into_inner();
    let (org, _) = referent_scope(&state, &current, &org).await?;
    close(&state, &current, &org, id, Closing::Revoke).await?;
    Ok(see_other(&format!("/referent/{org}/signalements")).finish())
}

async fn close(
    state: &AppState,
    current: &CurrentAidant,
    org: &OrganisationId,
    id: String,
    closing: Closing,
) -> Result<(), WebError> {
    let (db, org, referent, context, now, session) = (
        state.db.clone(),
        org.clone(),
        current.aidant.id.clone(),
        current.audit_context(),
        state.clock.now(),
        current.session_hash(),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        reports::close(conn, &id, &org, &referent, closing, &context, now)?;
        ac_storage::sessions::record_activity(conn, &session, now)
    })
    .await
}

/// The restore page: the person, present, reads what is restored and ticks their agreement;
/// the référent types a TOTP code.
fn restore_response(
    state: &AppState,
    current: &CurrentAidant,
    org: &OrganisationId,
    id: &str,
    person: &str,
    status: HttpResponseBuilder,
    error: Option<(&str, &str)>,
) -> Result<HttpResponse, WebError> {
    let here = format!("/referent/{org}/signalements");
    let body = state.templates.render_for(
        &current.menu(),
        "console/report_restore.html",
        &serde_json::json!({
            "frame": referent_frame(current, org, &here),
            "id": id,
            "org": org.as_str(),
            "person": person,
            "error_field": error.map(|e| e.0),
            "error": error.map(|e| e.1),
        }),
    )?;
    Ok(page(status, body))
}

/// The person the report is about, in the référent's structure only (404 otherwise).
async fn person(state: &AppState, org: &OrganisationId, id: &str) -> Result<String, WebError> {
    let (db, org, id) = (state.db.clone(), org.clone(), id.to_owned());
    let (_, given, family) =
        blocking(move || reports::usager_of(&mut *db.conn()?, &id, &org)).await?;
    Ok(format!("{given} {family}"))
}

pub(crate) async fn restore_page(
    state: web::Data<AppState>,
    current: PersonalDataAccess,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (org, id) = path.into_inner();
    let (org, _) = referent_scope(&state, &current, &org).await?;
    let person = person(&state, &org, &id).await?;
    restore_response(
        &state,
        &current,
        &org,
        &id,
        &person,
        HttpResponse::Ok(),
        None,
    )
}

#[derive(Deserialize)]
pub(crate) struct RestoreForm {
    csrf: String,
    /// The person's own control: "oui" when they ticked it.
    confirmation: Option<String>,
    /// The référent's TOTP code.
    code: Option<String>,
}

#[instrument(skip_all)]
pub(crate) async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    current: PersonalDataAccess,
    path: web::Path<(String, String)>,
    form: web::Form<RestoreForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    let (org, id) = path.into_inner();
    let (org, _) = referent_scope(&state, &current, &org).await?;
    let person = person(&state, &org, &id).await?;
    let again = |field, message| {
        restore_response(
            &state,
            &current,
            &org,
            &id,
            &person,
            HttpResponse::UnprocessableEntity(),
            Some((field, message)),
        )
    };
    if form.confirmation.as_deref() != Some("oui") {
        return again(
            "confirmation",
            "La personne coche elle-même « Je suis d'accord pour rétablir mon mandat ».",
        );
    }
    let code = form.code.clone().unwrap_or_default();
    if code.trim().is_empty() {
        return again(
            "code",
            "Saisissez le code à 6 chiffres de votre application.",
        );
    }
    let now = state.clock.now();
    match current.step_up(&state, &req, &code, now).await? {
        StepUpCheck::Accepted => {}
        StepUpCheck::RateLimited => {
            return Err(crate::auth::too_many());
        }
        StepUpCheck::Refused => {
            return again(
                "code",
                "Le code n'est pas valide : saisissez le code affiché en ce moment.",
            );
        }
        StepUpCheck::SessionEnded => return Err(WebError::Redirect("/connexion".into())),
    }
    close(&state, &current, &org, id, Closing::Restore).await?;
    Ok(see_other(&format!("/referent/{org}/signalements")).finish())
}
