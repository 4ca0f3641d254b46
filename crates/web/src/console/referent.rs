//! The référent space: the structures an account is référent of (`referent_of`), their team,
//! second factors, allowed démarches and journal. Every change goes through the storage
//! operation the command line uses, journaled under the structure.

use ac_auth::{otpauth, totp};
use ac_mandates::{Aidant, AidantId, Demarche, Email, Organisation, OrganisationId};
use ac_storage::console::team::{self, CARD_ASSIGN_REASONS, DEVICE_REMOVE_REASONS, Invitation};
use ac_storage::console::{OutOfScope, Scope};
use ac_storage::journal::AuditContext;
use ac_storage::totp_devices::{self, Device, DeviceKind};
use ac_storage::{DbConnection, StorageError, aidants, organisations, sessions};
use actix_web::{HttpResponse, HttpResponseBuilder, web};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

use super::explorer::{self, Space};
use super::{Frame, datetime, invalid, refuse};
use crate::auth::{CurrentAidant, RecentStepUp};
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    // `…/aidants/nouveau` before `…/aidants/{aidant}`: resources match in this order.
    cfg.service(web::resource("/referent").get(index))
        .service(web::resource("/referent/{org}").get(structure))
        .service(web::resource("/referent/{org}/demarches").post(set_demarches))
        .service(web::resource("/referent/{org}/renouvellement").post(set_renewal))
        .service(
            web::resource("/referent/{org}/aidants/nouveau")
                .get(new_aidant_page)
                .post(invite),
        )
        .service(web::resource("/referent/{org}/aidants/{aidant}").get(aidant_page))
        .service(web::resource("/referent/{org}/aidants/{aidant}/desactiver").post(deactivate))
        .service(web::resource("/referent/{org}/aidants/{aidant}/deverrouiller").post(unlock))
        .service(web::resource("/referent/{org}/aidants/{aidant}/application").post(enrol_app))
        .service(web::resource("/referent/{org}/aidants/{aidant}/carte").post(assign_card))
        .service(web::resource("/referent/{org}/aidants/{aidant}/retirer").post(remove_device));
    explorer::mount::<Referent>(cfg);
}

/// The structure of the path, if the account is its référent; 403 (journaled) otherwise.
struct Here {
    scope: Scope,
    organisation: Organisation,
    frame: Frame,
}

async fn here(
    state: &AppState,
    current: &CurrentAidant,
    org: &str,
    page_suffix: &str,
) -> Result<Here, WebError> {
    let id = OrganisationId::new(org);
    let Some(scope) = Scope::referent(&current.aidant, &id) else {
        return Err(refuse(
            state,
            current,
            OutOfScope::new("structure", org),
            Some(id),
            "referent.structure",
        )
        .await);
    };
    let db = state.db.clone();
    let lookup = id.clone();
    let organisation = blocking(move || organisations::get(&mut *db.conn()?, &lookup)).await?;
    let base = format!("/referent/{id}");
    let mut links = vec![
        (base.clone(), "Équipe et démarches".to_owned()),
        (
            format!("{base}/journal"),
            "Journal de la structure".to_owned(),
        ),
    ];
    if current.aidant.referent_of.len() > 1 {
        links.push(("/referent".into(), "Mes structures".into()));
    }
    let frame = Frame::new(
        "Espace référent",
        organisation.name.clone(),
        links,
        &format!("{base}{page_suffix}"),
        current,
    );
    Ok(Here {
        scope,
        organisation,
        frame,
    })
}

/// The aidant of the path, if they work for the structure; 403 (journaled) otherwise.
async fn member(
    state: &AppState,
    current: &CurrentAidant,
    here: &Here,
    aidant: &str,
) -> Result<Aidant, WebError> {
    let (db, id) = (state.db.clone(), AidantId::new(aidant));
    let found = blocking(move || match aidants::get(&mut *db.conn()?, &id) {
        Ok(a) => Ok(Some(a)),
        Err(StorageError::NotFound) => Ok(None),
        Err(e) => Err(e),
    })
    .await?;
    match found {
        Some(a) if a.is_member_of(&here.organisation.id) => Ok(a),
        _ => Err(refuse(
            state,
            current,
            OutOfScope::new("aidant", aidant),
            Some(here.organisation.id.clone()),
            "referent.aidant",
        )
        .await),
    }
}

/// What a référent's action on one aidant (a form posted to `/referent/{org}/aidants/{id}/…`)
/// acts on: the form's CSRF token checked, the structure in the référent's scope, and the aidant
/// a member of it (403, journaled, otherwise).
async fn acted_on(
    state: &AppState,
    current: &CurrentAidant,
    path: web::Path<(String, String)>,
    csrf: &str,
) -> Result<(Here, Aidant), WebError> {
    current.check_csrf(csrf)?;
    let (org, aidant) = path.into_inner();
    let here = here(state, current, &org, "").await?;
    let aidant = member(state, current, &here, &aidant).await?;
    Ok((here, aidant))
}

/// Restarts the step-up clock after an audited change, as audited handlers do.
async fn record_activity(state: &AppState, current: &CurrentAidant) -> Result<(), WebError> {
    let (db, hash, now) = (state.db.clone(), current.session_hash(), state.clock.now());
    blocking(move || sessions::record_activity(&mut *db.conn()?, &hash, now)).await
}

// ---------------------------------------------------------------------------------------------
// Pages

async fn index(
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
struct DeviceView {
    id: String,
    kind: &'static str,
    serial: String,
    locked: bool,
    since: String,
}

fn device_view(times: &ac_localtime::LocalTimes, d: &Device) -> DeviceView {
    DeviceView {
        id: d.id.clone(),
        kind: match d.kind {
            DeviceKind::App => "Application",
            DeviceKind::Card => "Carte",
        },
        serial: d.serial.clone().unwrap_or_default(),
        locked: d.locked_at.is_some(),
        since: datetime(times, None, d.created_at),
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

/// A message shown after a change (`?fait=…`), from a fixed list: nothing from the URL is
/// echoed.
fn done_message(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "ajoute" => {
            "Compte créé et invitation envoyée. Remettez maintenant un second facteur : application ou carte."
        }
        "desactive" => "Compte désactivé ; ses sessions sont fermées.",
        "deverrouille" => "Second facteur débloqué.",
        "carte" => "Carte remise à l'aidant.",
        "retire" => "Second facteur retiré.",
        "demarches" => "Démarches permises enregistrées.",
        "renouvellement" => "Réglage du renouvellement enregistré.",
        _ => return None,
    })
}

#[derive(Deserialize)]
struct DoneQuery {
    fait: Option<String>,
}

async fn structure(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    org: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let here = here(&state, &current, &org, "").await?;
    let (db, id) = (state.db.clone(), here.organisation.id.clone());
    let team = blocking(move || {
        let conn = &mut *db.conn()?;
        let team = aidants::list(conn, Some(&id))?;
        team.into_iter()
            .map(|a| {
                let devices = totp_devices::list_for_aidant(conn, &a.id)?;
                Ok((a, devices))
            })
            .collect::<Result<Vec<_>, StorageError>>()
    })
    .await?;
    let base = format!("/referent/{}", here.organisation.id);
    let members: Vec<MemberView> = team
        .iter()
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
        .collect();
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
            "members": members,
            "demarches": demarches,
            "done": done_message(query.fait.as_deref()),
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

// ---------------------------------------------------------------------------------------------
// Adding an aidant

#[derive(Deserialize, Default, Serialize)]
struct NewAidantForm {
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

async fn new_aidant_page(
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

async fn invite(
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
    let Ok(email) = form.email.trim().to_lowercase().parse::<Email>() else {
        return refuse_form("Cette adresse e-mail n'est pas valide.");
    };
    let fields = [&form.first_name, &form.last_name, &form.profession];
    if fields
        .iter()
        .any(|f| ac_mandates::fields::text(f.trim()).is_err())
    {
        return refuse_form(
            "Le prénom, le nom et la profession sont requis (200 caractères au plus, sans caractère de contrôle).",
        );
    }
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
    let created = blocking(move || {
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
    .await?;
    let aidant = match created {
        Ok(aidant) => aidant,
        Err(team::InvitationRefused::AddressTaken) => {
            return refuse_form(
                "Un compte existe déjà avec cette adresse. Pour qu'il exerce aussi dans votre structure, adressez-vous à l'administrateur du service.",
            );
        }
    };
    record_activity(&state, &current).await?;
    // Sent after the response, like the sign-in link: a slow relay does not hold the page.
    let (mailer, structure, url) = (
        state.mailer.clone(),
        here.organisation.name.clone(),
        format!("{}/connexion", state.settings.server.public_url),
    );
    let first_name = aidant.first_name.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = mailer
            .send_invitation(&email, &first_name, &structure, &url)
            .await
        {
            tracing::error!(code = e.code(), error = %e, "invitation not sent");
        }
    });
    Ok(see_other(&format!(
        "/referent/{}/aidants/{}?fait=ajoute",
        here.organisation.id, aidant.id
    ))
    .finish())
}

// ---------------------------------------------------------------------------------------------
// One aidant

async fn aidant_page(
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

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

fn back_to(here: &Here, aidant: &Aidant, done: &str) -> HttpResponse {
    see_other(&format!(
        "/referent/{}/aidants/{}?fait={done}",
        here.organisation.id, aidant.id
    ))
    .finish()
}

/// A journaled change to one aidant of the structure, attributed to the structure; then the
/// step-up clock restarts and the référent is back on the aidant's page, told what was `done`.
async fn change_member<T: Send + 'static>(
    state: &AppState,
    current: &CurrentAidant,
    here: &Here,
    aidant: &Aidant,
    done: &str,
    change: impl FnOnce(
        &mut DbConnection,
        &AidantId,
        Option<&OrganisationId>,
        &AuditContext,
        OffsetDateTime,
    ) -> Result<T, StorageError>
    + Send
    + 'static,
) -> Result<HttpResponse, WebError> {
    let (db, id, organisation, context, now) = (
        state.db.clone(),
        aidant.id.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
    );
    blocking(move || change(&mut *db.conn()?, &id, Some(&organisation), &context, now)).await?;
    record_activity(state, current).await?;
    Ok(back_to(here, aidant, done))
}

async fn deactivate(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    let (here, aidant) = acted_on(&state, &current, path, &form.csrf).await?;
    if !team::may_deactivate(&current.aidant, &aidant) {
        return Err(WebError::Invalid {
            code: "CON423",
            message: "Ce compte ne peut pas être désactivé d'ici : c'est le vôtre, ou il exerce aussi dans une structure dont vous n'êtes pas référent. Adressez-vous à l'administrateur du service.".into(),
        });
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

async fn unlock(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    let (here, aidant) = acted_on(&state, &current, path, &form.csrf).await?;
    change_member(
        &state,
        &current,
        &here,
        &aidant,
        "deverrouille",
        totp_devices::unlock_in,
    )
    .await
}

/// Enrols a new authenticator app and shows its QR code once, in this response only (never
/// cached, never stored in clear): the aidant scans it beside the référent.
async fn enrol_app(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    let (here, aidant) = acted_on(&state, &current, path, &form.csrf).await?;
    if !aidant.is_active {
        return Err(invalid("Ce compte est désactivé."));
    }
    let seed = totp::generate_seed(state.auth.rng()).map_err(WebError::internal)?;
    let uri = otpauth::key_uri(
        &state.auth.totp_issuer,
        aidant.email.as_str(),
        &seed,
        totp::TotpStep::App,
    );
    let svg = otpauth::qr_svg(&uri).map_err(WebError::internal)?;
    let manual_key = otpauth::base32(seed.expose());
    let (db, id, organisation, context, now, auth) = (
        state.db.clone(),
        aidant.id.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
        state.auth.clone(),
    );
    blocking(move || {
        totp_devices::enrol_app_in(
            &mut *db.conn()?,
            &id,
            Some(&organisation),
            &seed,
            &auth.keys,
            auth.rng(),
            &context,
            now,
        )
    })
    .await?;
    record_activity(&state, &current).await?;
    // The QR code as an image: an SVG in an <img> runs nothing and needs no `| safe`.
    let qr = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    );
    let grouped: Vec<String> = manual_key
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let body = state.templates.render_for(
        &current.menu(),
        "console/referent_totp_app.html",
        &serde_json::json!({
            "frame": here.frame,
            "back": format!("/referent/{}/aidants/{}", here.organisation.id, aidant.id),
            "name": aidant.full_name(),
            "qr": qr,
            "manual_key": grouped.join(" "),
            "issuer": state.auth.totp_issuer,
            "account": aidant.email.to_string(),
        }),
    )?;
    let mut response = page(HttpResponse::Ok(), body);
    // The page holds the seed: not even its address goes to another site.
    response.headers_mut().insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct CardForm {
    serial: String,
    reason: String,
    csrf: String,
}

async fn assign_card(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<(String, String)>,
    form: web::Form<CardForm>,
) -> Result<HttpResponse, WebError> {
    let (here, aidant) = acted_on(&state, &current, path, &form.csrf).await?;
    let form = form.into_inner();
    let Some((reason, _)) = CARD_ASSIGN_REASONS.iter().find(|(k, _)| *k == form.reason) else {
        return Err(invalid("Choisissez un motif dans la liste."));
    };
    let serial = form.serial.trim().to_owned();
    let serial_ok = !serial.is_empty()
        && serial.len() <= 64
        && serial
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !serial_ok {
        return Err(invalid(
            "Numéro de série illisible : lettres, chiffres, tirets.",
        ));
    }
    let (db, id, organisation, context, now) = (
        state.db.clone(),
        aidant.id.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
    );
    let assigned = blocking(move || {
        match totp_devices::assign_card_in(
            &mut *db.conn()?,
            &serial,
            &id,
            Some(&organisation),
            Some(reason),
            &context,
            now,
        ) {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    })
    .await?;
    if !assigned {
        return Err(WebError::Invalid {
            code: "CON424",
            message: "Aucune carte libre ne porte ce numéro de série. Vérifiez le numéro imprimé au dos de la carte.".into(),
        });
    }
    record_activity(&state, &current).await?;
    Ok(back_to(&here, &aidant, "carte"))
}

#[derive(Deserialize)]
struct RemoveForm {
    device: String,
    reason: String,
    csrf: String,
}

async fn remove_device(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    path: web::Path<(String, String)>,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, WebError> {
    let (here, aidant) = acted_on(&state, &current, path, &form.csrf).await?;
    let form = form.into_inner();
    let Some((reason, _, removal)) = DEVICE_REMOVE_REASONS
        .iter()
        .find(|(k, _, _)| *k == form.reason)
    else {
        return Err(invalid("Choisissez un motif dans la liste."));
    };
    let (db, id, organisation, context, now, device) = (
        state.db.clone(),
        aidant.id.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
        form.device.clone(),
    );
    let removed = blocking(move || {
        match totp_devices::remove_device(
            &mut *db.conn()?,
            &device,
            &id,
            *removal,
            Some(&organisation),
            reason,
            &context,
            now,
        ) {
            Ok(()) => Ok(true),
            Err(StorageError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    })
    .await?;
    if !removed {
        // Someone else's device id in the form: outside what this page showed.
        return Err(refuse(
            &state,
            &current,
            OutOfScope::new("device", &form.device),
            Some(here.organisation.id.clone()),
            "referent.device",
        )
        .await);
    }
    record_activity(&state, &current).await?;
    Ok(back_to(&here, &aidant, "retire"))
}

// ---------------------------------------------------------------------------------------------
// Allowed démarches

async fn set_demarches(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    org: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    // Repeated checkbox names: read the pairs by hand (a typed form keeps only one value).
    let mut csrf = String::new();
    let mut chosen = BTreeSet::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "csrf" => csrf = value.into_owned(),
            "demarche" => {
                chosen.insert(
                    value
                        .parse::<Demarche>()
                        .map_err(|_| invalid("Démarche inconnue."))?,
                );
            }
            _ => {}
        }
    }
    current.check_csrf(&csrf)?;
    let here = here(&state, &current, &org, "").await?;
    if chosen.is_empty() {
        return Err(invalid(
            "Cochez au moins une démarche : sans démarche permise, la structure ne peut plus créer de mandat.",
        ));
    }
    let (db, id, context, now) = (
        state.db.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
    );
    blocking(move || {
        organisations::set_allowed_demarches(&mut *db.conn()?, &id, &chosen, &context, now)
    })
    .await?;
    record_activity(&state, &current).await?;
    Ok(see_other(&format!(
        "/referent/{}?fait=demarches",
        here.organisation.id
    ))
    .finish())
}

// ---------------------------------------------------------------------------------------------
// Renewal setting

#[derive(Deserialize)]
struct RenewalForm {
    csrf: String,
    /// `oui`: the aidé identifies again through FranceConnect to renew; `non`: they do not.
    identification: String,
}

async fn set_renewal(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    org: web::Path<String>,
    form: web::Form<RenewalForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    let required = match form.identification.as_str() {
        "oui" => true,
        "non" => false,
        _ => return Err(invalid("Choisissez « oui » ou « non ».")),
    };
    let here = here(&state, &current, &org, "").await?;
    let (db, id, context, now) = (
        state.db.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
    );
    blocking(move || {
        organisations::set_renewal_requires_identification(
            &mut *db.conn()?,
            &id,
            required,
            &context,
            now,
        )
    })
    .await?;
    record_activity(&state, &current).await?;
    Ok(see_other(&format!(
        "/referent/{}?fait=renouvellement",
        here.organisation.id
    ))
    .finish())
}

// ---------------------------------------------------------------------------------------------
// Journal

/// The référent's explorer: one structure, named by the path.
struct Referent;

impl explorer::Console for Referent {
    const BASE: &'static str = "/referent/{org}";

    async fn space(
        state: &AppState,
        current: &CurrentAidant,
        org: Option<&str>,
    ) -> Result<Space, WebError> {
        let here = here(state, current, org.unwrap_or_default(), "/journal").await?;
        Ok(Space {
            scope: here.scope,
            base: format!("/referent/{}", here.organisation.id),
            frame: here.frame,
            pick_structure: false,
            page_label: "referent.journal",
        })
    }
}
