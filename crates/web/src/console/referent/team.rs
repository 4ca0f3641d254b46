//! The team: inviting an aidant (an account and a mailed invitation, no secret), one aidant's
//! page, and deactivating them.

use ac_mandates::{Aidant, Email};
use ac_storage::aidants;
use ac_storage::console::ConsoleRefusal;
use ac_storage::console::team::{self, CARD_ASSIGN_REASONS, DEVICE_REMOVE_REASONS, Invitation};
use ac_storage::totp_devices;
use actix_web::{HttpResponse, HttpResponseBuilder, web};
use serde::{Deserialize, Serialize};

use super::devices::device_view;
use super::here::{
    CsrfForm, DoneQuery, Here, acted_on, change_member, done_message, here, member, record_activity,
};
use crate::auth::{CurrentAidant, RecentStepUp};
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

#[derive(Deserialize, Default, Serialize)]
pub(crate) struct NewAidantForm {
    email: String,
    first_name: String,
    last_name: String,
    profession: String,
    #[serde(skip_serializing)]
    csrf: String,
}

fn render_new_aidant(
    state: &AppState,
    here: &Here,
    status: HttpResponseBuilder,
    form: &NewAidantForm,
    error: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let body = state.templates.render_for(
        &here.frame.menu,
        "console/referent_new_aidant.html",
        &serde_json::json!({
            "frame": here.frame,
            "base": format!("/referent/{}", here.organisation.id),
            "form": form,
            "error": error,
        }),
    )?;
    Ok(page(status, body))
}

pub(crate) async fn new_aidant_page(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    org: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let here = here(&state, &current, &org, "").await?;
    render_new_aidant(
        &state,
        &here,
        HttpResponse::Ok(),
        &NewAidantForm::default(),
        None,
    )
}

pub(crate) async fn invite(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    org: web::Path<String>,
    form: web::Form<NewAidantForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    let here = here(&state, &current, &org, "").await?;
    let form = form.into_inner();
    let refuse_form = |message: &str| {
        render_new_aidant(
            &state,
            &here,
            HttpResponse::UnprocessableEntity(),
            &form,
            Some(message),
        )
    };
    let email = match read_invitation(&form) {
        Ok(email) => email,
        Err(message) => return refuse_form(message),
    };
    let created = create_account(&state, &current, &here, &form, &email).await?;
    let aidant = match created {
        Ok(aidant) => aidant,
        Err(team::InvitationRefused::AddressTaken) => {
            return refuse_form(
                "Un compte existe déjà avec cette adresse. Pour qu'il exerce aussi dans votre structure, adressez-vous à l'administrateur du service.",
            );
        }
    };
    record_activity(&state, &current).await?;
    send_invitation(&state, &here, email, aidant.first_name.clone());
    Ok(see_other(&format!(
        "/referent/{}/aidants/{}?fait=ajoute",
        here.organisation.id, aidant.id
    ))
    .finish())
}

/// The invited aidant's account in the structure, journaled; refused when the address is
/// already an account's.
async fn create_account(
    state: &AppState,
    current: &CurrentAidant,
    here: &Here,
    form: &NewAidantForm,
    email: &Email,
) -> Result<Result<Aidant, team::InvitationRefused>, WebError> {
    let (db, organisation, context, now) = (
        state.db.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
    );
    let (first, last, profession, address) = (
        form.first_name.trim().to_owned(),
        form.last_name.trim().to_owned(),
        form.profession.trim().to_owned(),
        email.clone(),
    );
    blocking(move || {
        team::invite(
            &mut *db.conn()?,
            &organisation,
            &Invitation {
                email: &address,
                first_name: &first,
                last_name: &last,
                profession: &profession,
            },
            &context,
            now,
        )
    })
    .await
}

/// The invitation's address, once every field holds what an account needs; else the form's
/// message.
fn read_invitation(form: &NewAidantForm) -> Result<Email, &'static str> {
    let Ok(email) = form.email.trim().to_lowercase().parse::<Email>() else {
        return Err("Cette adresse e-mail n'est pas valide.");
    };
    let fields = [&form.first_name, &form.last_name, &form.profession];
    if fields
        .iter()
        .any(|f| ac_mandates::fields::text(f.trim()).is_err())
    {
        return Err(
            "Le prénom, le nom et la profession sont requis (200 caractères au plus, sans caractère de contrôle).",
        );
    }
    Ok(email)
}

/// The invitation e-mail, sent after the response like the sign-in link: a slow relay does not
/// hold the page, and a failure is logged by its code.
fn send_invitation(state: &AppState, here: &Here, email: Email, first_name: String) {
    let (mailer, structure, url) = (
        state.mailer.clone(),
        here.organisation.name.clone(),
        format!("{}/connexion", state.settings.server.public_url),
    );
    actix_web::rt::spawn(async move {
        if let Err(e) = mailer
            .send_invitation(&email, &first_name, &structure, &url)
            .await
        {
            tracing::error!(code = e.code(), error = %e, "invitation not sent");
        }
    });
}

pub(crate) async fn aidant_page(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<(String, String)>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let (org, aidant) = path.into_inner();
    let here = here(&state, &current, &org, "").await?;
    let aidant = member(&state, &current, &here, &aidant).await?;
    let (db, id) = (state.db.clone(), aidant.id.clone());
    let devices = blocking(move || totp_devices::list_for_aidant(&mut *db.conn()?, &id)).await?;
    let base = format!("/referent/{}/aidants/{}", here.organisation.id, aidant.id);
    let assign: Vec<serde_json::Value> = CARD_ASSIGN_REASONS
        .iter()
        .map(|(key, label)| serde_json::json!({"key": key, "label": label}))
        .collect();
    let remove: Vec<serde_json::Value> = DEVICE_REMOVE_REASONS
        .iter()
        .map(|(key, label, _)| serde_json::json!({"key": key, "label": label}))
        .collect();
    let others = aidant.organisations.len() > 1;
    let body = state.templates.render_for(&current.menu(),
        "console/referent_aidant.html",
        &serde_json::json!({
            "frame": here.frame,
            "structure_href": format!("/referent/{}", here.organisation.id),
            "base": base,
            "aidant": {
                "name": aidant.full_name(),
                "email": aidant.email.to_string(),
                "profession": aidant.profession,
                "active": aidant.is_active,
                "can_create_mandates": aidant.can_create_mandates,
                "other_structures": others,
            },
            "may_deactivate": aidant.is_active && team::may_deactivate(&current.aidant, &aidant),
            "is_self": current.aidant.id == aidant.id,
            "devices": devices.iter().map(|d| device_view(&state.local_times, d)).collect::<Vec<_>>(),
            "any_locked": devices.iter().any(|d| d.locked_at.is_some()),
            "assign_reasons": assign,
            "remove_reasons": remove,
            "done": done_message(query.fait.as_deref()),
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

pub(crate) async fn deactivate(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    let (here, aidant) = acted_on(&state, &current, path, &form.csrf).await?;
    if !team::may_deactivate(&current.aidant, &aidant) {
        return Err(WebError::invalid(ConsoleRefusal::MayNotDeactivate));
    }
    change_member(
        &state,
        &current,
        &here,
        &aidant,
        "desactive",
        aidants::deactivate_in,
    )
    .await
}
