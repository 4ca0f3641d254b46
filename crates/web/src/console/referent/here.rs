//! What every page of the référent space stands on: the structure of the path checked against
//! the account (`here`), the aidant of the path checked against the structure (`member`), and
//! the journaled changes to one aidant or to the structure that end back on their page.

use ac_mandates::{Aidant, AidantId, Organisation, OrganisationId};
use ac_storage::console::{OutOfScope, Scope};
use ac_storage::journal::AuditContext;
use ac_storage::{DbConnection, StorageError, aidants, organisations, sessions};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::auth::CurrentAidant;
use crate::console::{Frame, refuse};
use crate::respond::{blocking, see_other};
use crate::{AppState, WebError};

/// The structure of the path, if the account is its référent; 403 (journaled) otherwise.
pub(super) struct Here {
    pub(super) scope: Scope,
    pub(super) organisation: Organisation,
    pub(super) frame: Frame,
}

pub(super) async fn here(
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
    let page = format!("/referent/{id}{page_suffix}");
    let frame = referent_frame(current, &id, organisation.name.clone(), &page);
    Ok(Here {
        scope,
        organisation,
        frame,
    })
}

/// The référent space's frame for structure `id` (shown as `name`), on page `page`: one menu
/// for every page of the space, the reports' included (`console::reports`).
pub(in crate::console) fn referent_frame(
    current: &CurrentAidant,
    id: &OrganisationId,
    name: String,
    page: &str,
) -> Frame {
    let base = format!("/referent/{id}");
    let mut links = vec![
        (base.clone(), "Équipe et démarches".to_owned()),
        (
            format!("{base}/journal"),
            "Journal de la structure".to_owned(),
        ),
        (
            format!("{base}/signalements"),
            "Signalements des personnes".to_owned(),
        ),
    ];
    if current.aidant.referent_of.len() > 1 {
        links.push(("/referent".into(), "Mes structures".into()));
    }
    Frame::new("Espace référent", name, links, page, current)
}

/// The aidant of the path, if they work for the structure; 403 (journaled) otherwise.
pub(super) async fn member(
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
pub(super) async fn acted_on(
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
pub(super) async fn record_activity(
    state: &AppState,
    current: &CurrentAidant,
) -> Result<(), WebError> {
    let (db, hash, now) = (state.db.clone(), current.session_hash(), state.clock.now());
    blocking(move || sessions::record_activity(&mut *db.conn()?, &hash, now)).await
}

/// A message shown after a change (`?fait=…`), from a fixed list: nothing from the URL is
/// echoed.
pub(super) fn done_message(done: Option<&str>) -> Option<&'static str> {
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
pub(crate) struct DoneQuery {
    pub(super) fait: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub(super) csrf: String,
}

pub(super) fn back_to(here: &Here, aidant: &Aidant, done: &str) -> HttpResponse {
    see_other(&format!(
        "/referent/{}/aidants/{}?fait={done}",
        here.organisation.id, aidant.id
    ))
    .finish()
}

/// A journaled change to one aidant of the structure, attributed to the structure; then the
/// step-up clock restarts and the référent is back on the aidant's page, told what was `done`.
pub(super) async fn change_member<T: Send + 'static>(
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

/// A journaled change to the structure's own settings; then the step-up clock restarts and the
/// référent is back on the structure's page, told what was `done`.
pub(super) async fn change_structure<T: Send + 'static>(
    state: &AppState,
    current: &CurrentAidant,
    here: &Here,
    done: &str,
    change: impl FnOnce(
        &mut DbConnection,
        &OrganisationId,
        &AuditContext,
        OffsetDateTime,
    ) -> Result<T, StorageError>
    + Send
    + 'static,
) -> Result<HttpResponse, WebError> {
    let (db, id, context, now) = (
        state.db.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
    );
    blocking(move || change(&mut *db.conn()?, &id, &context, now)).await?;
    record_activity(state, current).await?;
    Ok(see_other(&format!("/referent/{}?fait={done}", here.organisation.id)).finish())
}
