//! Second factors: unlocking a locked code, enrolling an authenticator app (its QR code shown
//! once), handing over and taking back a hardware card, each with a reason from a fixed list.

use ac_auth::{Secret, otpauth, totp};
use ac_mandates::Aidant;
use ac_storage::StorageError;
use ac_storage::console::ConsoleRefusal;
use ac_storage::console::OutOfScope;
use ac_storage::console::team::{CARD_ASSIGN_REASONS, DEVICE_REMOVE_REASONS};
use ac_storage::totp_devices::{self, Device, DeviceKind};
use actix_web::{HttpResponse, web};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::here::{CsrfForm, Here, acted_on, back_to, change_member, record_activity};
use crate::auth::{CurrentAidant, RecentStepUp};
use crate::console::{datetime, invalid, refuse};
use crate::respond::{blocking, page};
use crate::{AppState, WebError};

#[derive(Serialize)]
pub(super) struct DeviceView {
    id: String,
    kind: &'static str,
    serial: String,
    locked: bool,
    since: String,
}

pub(super) fn device_view(times: &ac_localtime::LocalTimes, d: &Device) -> DeviceView {
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

pub(crate) async fn unlock(
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
pub(crate) async fn enrol_app(
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
    let (qr, manual_key) = enrolment_codes(&uri, &seed)?;
    store_app(&state, &current, &here, &aidant, seed).await?;
    record_activity(&state, &current).await?;
    let body = state.templates.render_for(
        &current.menu(),
        "console/referent_totp_app.html",
        &serde_json::json!({
            "frame": here.frame,
            "back": format!("/referent/{}/aidants/{}", here.organisation.id, aidant.id),
            "name": aidant.full_name(),
            "qr": qr,
            "manual_key": manual_key,
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

/// The aidant's new authenticator app stored (its seed sealed) and journaled in the
/// structure's name; its device id.
async fn store_app(
    state: &AppState,
    current: &CurrentAidant,
    here: &Here,
    aidant: &Aidant,
    seed: Secret,
) -> Result<String, WebError> {
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
    .await
}

/// What the authenticator app reads: the key's URI as a QR code image (an SVG in an `<img>`
/// runs nothing and needs no `| safe`), and the key typed by hand, in groups of four.
fn enrolment_codes(uri: &str, seed: &Secret) -> Result<(String, String), WebError> {
    let svg = otpauth::qr_svg(uri).map_err(WebError::internal)?;
    let qr = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    );
    let grouped: Vec<String> = otpauth::base32(seed.expose())
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    Ok((qr, grouped.join(" ")))
}

#[derive(Deserialize)]
pub(crate) struct CardForm {
    serial: String,
    reason: String,
    csrf: String,
}

pub(crate) async fn assign_card(
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
        return Err(WebError::invalid(ConsoleRefusal::NoFreeCard));
    }
    record_activity(&state, &current).await?;
    Ok(back_to(&here, &aidant, "carte"))
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    device: String,
    reason: String,
    csrf: String,
}

pub(crate) async fn remove_device(
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
