//! Revoking one démarche or a whole mandate (docs/domain.md, "Journeys" 4). A confirmation page says
//! in short sentences what stops; the aidé confirms with their own control and the aidant types
//! a TOTP code; the revocation and its journal entries (which record the aidé's confirmation) are
//! written in one transaction. It takes effect at once: the identity provider re-checks
//! `can_act` when a website redeems a code and when it reads userinfo. Then a printable
//! attestation is given.

use ac_mandates::{Authorization, AuthorizationId, Mandate, MandateId, RevocationReason};
use ac_storage::mandates::{self, RevocationConsent};
use ac_storage::{StorageError, aidants};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use tracing::instrument;

use super::consent::{StructureMandate, structure_mandate};
use super::written_date;
use crate::auth::{CurrentAidant, PersonalDataAccess, StepUpCheck, too_many};
use crate::error::Said;
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

/// Authorization ids are UUIDs; anything longer is not one of ours.
const MAX_ID_LEN: usize = 64;

/// What the aidé is asked to stop: one démarche, or every démarche still in force.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    One(AuthorizationId),
    Whole,
}

impl Scope {
    /// From the optional `autorisation` parameter; empty means the whole mandate.
    fn parse(raw: Option<&str>) -> Result<Self, WebError> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Scope::Whole),
            Some(id) if id.len() <= MAX_ID_LEN => Ok(Scope::One(AuthorizationId::new(id))),
            Some(_) => Err(unknown_authorization()),
        }
    }

    fn parameter(&self) -> Option<&str> {
        match self {
            Scope::One(id) => Some(id.as_str()),
            Scope::Whole => None,
        }
    }
}

fn unknown_authorization() -> WebError {
    WebError::invalid(ac_mandates::MandateError::UnknownAuthorization)
}

/// The démarches a revocation would stop now, or why nothing can be stopped. An authorization
/// that is not this mandate's (unknown, or another mandate's) is refused outright.
fn concerned<'a>(
    mandate: &'a Mandate,
    scope: &Scope,
    now: OffsetDateTime,
) -> Result<Result<Vec<&'a Authorization>, &'static str>, WebError> {
    let in_force = |a: &&Authorization| !a.is_revoked_at(now) && !a.is_expired_at(now);
    if now >= mandate.expires_at {
        return Ok(Err(
            "Ce mandat a expiré : il n'y a plus rien à révoquer. Rien n'a été modifié.",
        ));
    }
    Ok(match scope {
        Scope::One(id) => {
            let target = mandate
                .authorization(id)
                .ok_or_else(unknown_authorization)?;
            if in_force(&target) {
                Ok(vec![target])
            } else {
                Err("Cette démarche est déjà révoquée. Rien n'a été modifié.")
            }
        }
        Scope::Whole => {
            let open: Vec<&Authorization> =
                mandate.authorizations.iter().filter(in_force).collect();
            if open.is_empty() {
                Err("Toutes les démarches de ce mandat sont déjà révoquées. Rien n'a été modifié.")
            } else {
                Ok(open)
            }
        }
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct TargetQuery {
    autorisation: Option<String>,
}

/// An error shown next to the field it is about.
#[derive(Serialize)]
struct FieldMessage {
    field: &'static str,
    message: &'static str,
}

/// What the page says besides its content.
enum Feedback<'a> {
    Nothing,
    /// Why nothing was revoked, when a rule said so at the last moment.
    Closed(&'a str),
    Field(FieldMessage),
}

#[derive(Serialize)]
struct ConfirmationView<'a> {
    csrf: String,
    id: &'a str,
    autorisation: Option<&'a str>,
    whole: bool,
    demarches: Vec<&'static str>,
    organisation: &'a str,
    given_name: &'a str,
    family_name: &'a str,
    /// Why nothing can be revoked (then no form is shown).
    closed: Option<&'a str>,
    error: Option<FieldMessage>,
}

fn confirmation_response(
    state: &AppState,
    current: &CurrentAidant,
    request: &Requested,
    feedback: Feedback<'_>,
    status: HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let (closed, error) = match feedback {
        Feedback::Nothing => (None, None),
        Feedback::Closed(message) => (Some(message), None),
        Feedback::Field(message) => (None, Some(message)),
    };
    let (found, scope) = (&request.found, &request.scope);
    let concerned = concerned(&found.mandate, scope, request.now)?;
    let (demarches, closed) = match concerned {
        Ok(list) => (list.iter().map(|a| a.demarche.title()).collect(), closed),
        Err(reason) => (Vec::new(), Some(closed.unwrap_or(reason))),
    };
    let view = ConfirmationView {
        csrf: current.csrf_token(),
        id: found.mandate.id.as_str(),
        autorisation: scope.parameter(),
        whole: *scope == Scope::Whole,
        demarches,
        organisation: &found.organisation.name,
        given_name: &found.usager.identity.given_name,
        family_name: &found.usager.identity.family_name,
        closed,
        error,
    };
    Ok(page(
        status,
        state
            .templates
            .render_for(&current.menu(), "identification/revocation.html", &view)?,
    ))
}

/// What the page or form names: the scope (checked for length before any lookup) and the
/// mandate, if it is the aidant's structure's (403 and journaled otherwise).
async fn requested(
    state: &AppState,
    current: &PersonalDataAccess,
    id: web::Path<String>,
    autorisation: Option<&str>,
) -> Result<Requested, WebError> {
    let now = state.clock.now();
    let scope = Scope::parse(autorisation)?;
    let found = structure_mandate(state, current, MandateId::new(id.into_inner()), now).await?;
    Ok(Requested { now, scope, found })
}

struct Requested {
    now: OffsetDateTime,
    scope: Scope,
    found: StructureMandate,
}

/// The confirmation page, read by both people before anything is revoked.
pub(crate) async fn confirmation_page(
    state: web::Data<AppState>,
    current: PersonalDataAccess,
    id: web::Path<String>,
    query: web::Query<TargetQuery>,
) -> Result<HttpResponse, WebError> {
    let request = requested(&state, &current, id, query.autorisation.as_deref()).await?;
    let ok = HttpResponse::Ok();
    confirmation_response(&state, &current, &request, Feedback::Nothing, ok)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevocationForm {
    csrf: String,
    autorisation: Option<String>,
    /// The aidé's own control: "oui" when they pressed it.
    confirmation: Option<String>,
    /// The aidant's TOTP code.
    code: Option<String>,
}

/// The aidé confirms, the aidant types a code, and the démarches stop at once.
#[instrument(skip_all)]
pub(crate) async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    current: PersonalDataAccess,
    id: web::Path<String>,
    form: web::Form<RevocationForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    current.check_csrf(&form.csrf)?;
    let request = requested(&state, &current, id, form.autorisation.as_deref()).await?;
    let again = |feedback: Feedback<'_>| {
        let status = HttpResponse::UnprocessableEntity();
        confirmation_response(&state, &current, &request, feedback, status)
    };
    let Requested { now, scope, found } = &request;
    let now = *now;
    // Already revoked or expired (a double submission among others): said before asking for
    // anything, and nothing is written.
    if concerned(&found.mandate, scope, now)?.is_err() {
        return again(Feedback::Nothing);
    }
    if let Some(missing) = missing_consent(&form) {
        return again(Feedback::Field(missing));
    }
    let code = form.code.unwrap_or_default();
    match current.step_up(&state, &req, &code, now).await? {
        StepUpCheck::Accepted => {}
        StepUpCheck::RateLimited => return Err(too_many()),
        StepUpCheck::Refused => {
            return again(Feedback::Field(FieldMessage {
                field: "code",
                message: "Le code n'est pas valide : l'aidant saisit le code affiché en ce moment.",
            }));
        }
        StepUpCheck::SessionEnded => return Err(WebError::Redirect("/connexion".into())),
    }
    let revoked = record(&state, &current, &request).await;
    match revoked {
        Ok(()) => Ok(see_other(&format!(
            "/mandats/{}/attestation-revocation",
            found.mandate.id
        ))
        .finish()),
        // A rule refused it under the lock (a concurrent revocation, an aidant no longer
        // habilitated): the page says why, nothing was written.
        Err(WebError::Invalid(refusal)) => again(Feedback::Closed(refusal.words())),
        Err(other) => Err(other),
    }
}

/// What the form lacks before anything is written: the aidé's own confirmation, then the
/// aidant's code.
fn missing_consent(form: &RevocationForm) -> Option<FieldMessage> {
    if form.confirmation.as_deref() != Some("oui") {
        return Some(FieldMessage {
            field: "confirmation",
            message: "La personne accompagnée doit appuyer elle-même sur « Je confirme la révocation ».",
        });
    }
    form.code
        .as_deref()
        .is_none_or(|code| code.trim().is_empty())
        .then_some(FieldMessage {
            field: "code",
            message: "L'aidant saisit le code à 6 chiffres de son application.",
        })
}

/// The revocation, one démarche or the whole mandate, under the rules' lock and journaled.
async fn record(
    state: &AppState,
    current: &PersonalDataAccess,
    request: &Requested,
) -> Result<(), WebError> {
    let (db, aidant, mandate, target, context, now) = (
        state.db.clone(),
        current.aidant.id.clone(),
        request.found.mandate.id.clone(),
        request.scope.clone(),
        current.audit_context(),
        request.now,
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        let consent = RevocationConsent::OnScreen;
        match target {
            Scope::One(authorization) => mandates::revoke_authorization(
                conn,
                &aidant,
                &mandate,
                &authorization,
                consent,
                &context,
                now,
            )
            .map(drop),
            Scope::Whole => {
                mandates::revoke_mandate(conn, &aidant, &mandate, consent, &context, now).map(drop)
            }
        }
    })
    .await
}

#[derive(Serialize)]
struct RevokedView {
    demarche: &'static str,
    /// Written date and local time.
    at: String,
    by: String,
}

/// "22 novembre 2026 à 10 h 05", in the structure's local time.
fn written_moment(state: &AppState, departement: &str, at: OffsetDateTime) -> String {
    state
        .local_times
        .format(departement, at, ac_localtime::Format::DateTime)
}

/// The printable attestation of the mandate's revoked démarches, for its structure only.
pub(crate) async fn attestation(
    state: web::Data<AppState>,
    current: PersonalDataAccess,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let Requested { now, found, .. } = requested(&state, &current, id, None).await?;
    let mandate = &found.mandate;
    let revoked: Vec<&Authorization> = mandate
        .authorizations
        .iter()
        .filter(|a| {
            a.revocation
                .is_some_and(|r| r.reason == RevocationReason::Revoked)
        })
        .collect();
    if revoked.is_empty() {
        let nothing = Said::from(ac_mandates::JourneyRefusal::NothingRevoked);
        let body = state
            .templates
            .error_page(404, nothing.code(), nothing.words())?;
        return Ok(page(HttpResponse::NotFound(), body));
    }
    let rows = revoked_views(&state, &found, &revoked).await?;
    let recorded_by: Vec<&str> = rows
        .iter()
        .map(|r| r.by.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let still_in_force: Vec<&str> = mandate
        .authorizations
        .iter()
        .filter(|a| !a.is_revoked_at(now) && !a.is_expired_at(now))
        .map(|a| a.demarche.title())
        .collect();
    let body = state.templates.render_for(
        &current.menu(),
        "identification/revocation_attestation.html",
        &serde_json::json!({
            "id": mandate.id.as_str(),
            "organisation": found.organisation.name,
            "address": found.organisation.address,
            "given_name": found.usager.identity.given_name,
            "family_name": found.usager.identity.family_name,
            "created": written_date(
                &state.local_times,
                found.organisation.departement.as_str(),
                mandate.created_at,
            ),
            "revoked": rows,
            "recorded_by": recorded_by.join(", "),
            "still_in_force": still_in_force,
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

/// Each revocation as the attestation lists it: the démarche, when, and who recorded it.
async fn revoked_views(
    state: &AppState,
    found: &StructureMandate,
    revoked: &[&Authorization],
) -> Result<Vec<RevokedView>, WebError> {
    let (db, wanted) = (state.db.clone(), found.mandate.clone());
    let names: BTreeMap<AuthorizationId, String> = blocking(move || {
        let conn = &mut *db.conn()?;
        let mut names = BTreeMap::new();
        for (authorization, aidant) in mandates::revoked_by(conn, &wanted)? {
            let aidant = aidants::get(conn, &aidant)?;
            names.insert(
                authorization,
                format!("{} {}", aidant.first_name, aidant.last_name),
            );
        }
        Ok::<_, StorageError>(names)
    })
    .await?;
    let departement = found.organisation.departement.as_str();
    Ok(revoked
        .iter()
        .filter_map(|a| {
            let revocation = a.revocation?;
            Some(RevokedView {
                demarche: a.demarche.title(),
                at: written_moment(state, departement, revocation.at),
                by: names
                    .get(&a.id)
                    .cloned()
                    .unwrap_or_else(|| "non renseigné".to_owned()),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_comes_from_the_optional_parameter() {
        assert_eq!(Scope::parse(None).unwrap(), Scope::Whole);
        assert_eq!(Scope::parse(Some("  ")).unwrap(), Scope::Whole);
        assert_eq!(
            Scope::parse(Some("abc")).unwrap(),
            Scope::One(AuthorizationId::new("abc"))
        );
        assert!(Scope::parse(Some(&"a".repeat(MAX_ID_LEN + 1))).is_err());
    }
}
