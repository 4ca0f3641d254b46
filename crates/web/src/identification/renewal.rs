//! Renewing a mandate (docs/domain.md, "Journeys"): a new mandate for the same person, its choices
//! pre-filled from the mandate renewed, through the same consent steps — the aidé's screen, the
//! recap where the aidé gives their own accord, the aidant's TOTP.
//!
//! Whether the aidé identifies again through FranceConnect is the structure's setting
//! (`organisations.renewal_requires_identification`, yes by default). When they do, the person
//! identified must be the person of the mandate renewed (same pseudonym), or the renewal stops.
//! The mandate renewed travels server-side only: in the pending login, then in the pending
//! consent; the recap form never carries it.

use ac_audit::Action;
use ac_mandates::{JourneyRefusal, Mandate, MandateId, UsagerId};
use ac_storage::journal::{self, Event};
use ac_storage::mandate_consents::Identification;
use ac_storage::{organisations, usagers, write};
use actix_web::{HttpRequest, HttpResponse, web};
use tracing::instrument;

use super::consent::{choices_page, mandate_of_structure, show_recap};
use super::{MandateDraft, begin_identification, posted_draft, start_response};
use crate::auth::{CurrentAidant, RecentStepUp};
use crate::error::Said;
use crate::respond::blocking;
use crate::{AppState, WebError};

/// The mandate to renew: one of the aidant's current structure (another structure's: 403,
/// journaled; one of their other structures: they switch first, as the new mandate is given to
/// the current one).
async fn renewable(
    state: &AppState,
    current: &CurrentAidant,
    id: String,
) -> Result<Mandate, WebError> {
    let now = state.clock.now();
    let mandate = mandate_of_structure(state, current, MandateId::new(id), now).await?;
    if mandate.organisation_id != current.aidant.current_organisation {
        return Err(WebError::invalid(JourneyRefusal::RenewFromItsStructure));
    }
    Ok(mandate)
}

/// Step 1: the choices, pre-filled from the mandate renewed.
pub(crate) async fn choices(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let mandate = renewable(&state, &current, id.into_inner()).await?;
    let (db, organisation_id) = (state.db.clone(), mandate.organisation_id.clone());
    let organisation =
        blocking(move || organisations::get(&mut *db.conn()?, &organisation_id)).await?;
    let prefill = MandateDraft {
        demarches: mandate
            .authorizations
            .iter()
            .map(|a| a.demarche)
            .filter(|d| organisation.allowed_demarches.contains(d))
            .collect(),
        duration: Some(mandate.duration),
        renewal_of: Some(mandate.id),
    };
    choices_page(&state, &current.menu(), &organisation, &prefill)
}

/// Step 2: the aidé's screen for the chosen renewal.
pub(crate) async fn aide_screen(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let mandate = renewable(&state, &current, id.into_inner()).await?;
    let mut draft =
        MandateDraft::from_pairs(url::form_urlencoded::parse(req.query_string().as_bytes()))?;
    draft.renewal_of = Some(mandate.id);
    start_response(&state, &current, &draft, None, HttpResponse::Ok()).await
}

/// Step 3, from the aidé's screen: to FranceConnect when the structure asks for a new
/// identification, else straight to the recap.
#[instrument(skip_all)]
pub(crate) async fn proceed(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let mut draft = posted_draft(&current, &body)?;
    let mandate = renewable(&state, &current, id.into_inner()).await?;
    draft.renewal_of = Some(mandate.id.clone());
    let (db, organisation_id) = (state.db.clone(), mandate.organisation_id.clone());
    let organisation =
        blocking(move || organisations::get(&mut *db.conn()?, &organisation_id)).await?;
    // A démarche forced into the form is refused here, before the aidé goes through anything.
    if let Some(refused) = draft
        .demarches
        .iter()
        .find(|d| !organisation.allowed_demarches.contains(d))
    {
        return Err(WebError::invalid(
            JourneyRefusal::RenewalDemarcheNotAllowed(refused.title()),
        ));
    }
    if organisation.renewal_requires_identification {
        begin_identification(&state, &current, draft).await
    } else {
        show_recap(
            &state,
            &current,
            mandate.usager_id,
            &draft,
            Identification::NotRequired,
        )
        .await
    }
}

/// After a renewal's identification: the person identified must be the mandate's. Otherwise
/// the refusal is journaled (both pseudonyms, no name) and explained on the aidé's screen.
pub(super) async fn check_same_person(
    state: &AppState,
    current: &CurrentAidant,
    renewed: &MandateId,
    identified: &UsagerId,
) -> Result<Result<(), Said>, WebError> {
    let mandate = renewable(state, current, renewed.as_str().to_owned()).await?;
    if mandate.usager_id == *identified {
        return Ok(Ok(()));
    }
    let (db, context, now, identified) = (
        state.db.clone(),
        current.audit_context(),
        state.clock.now(),
        identified.clone(),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        let expected = usagers::get(conn, &mandate.usager_id)?.subject;
        let found = usagers::get(conn, &identified)?.subject;
        write(conn, |tx| {
            let event = Event::new(Action::AccessDenied)
                .organisation(&mandate.organisation_id)
                .usager(&expected)
                .target(&mandate.id)
                .detail("reason", "renewal_other_person")
                .detail("identified", &found);
            journal::record(tx, &context, event, now)
        })
    })
    .await?;
    Ok(Err(JourneyRefusal::RenewalOtherPerson.into()))
}
