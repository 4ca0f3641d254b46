//! From the identified person to the stored mandate (docs/domain.md, "Journeys" 2): the aidant's choices, the
//! recap the aidé reads, the aidé's own "Je donne mon accord", the aidant's TOTP, and the
//! mandate's page. The identified usager waits server-side (`mandate_consents`), never in the
//! form, so the recap cannot be pointed at someone else.

use ac_audit::Action;
use ac_auth::Token;
use ac_mandates::rules::MandatePlan;
use ac_mandates::{
    Demarche, Email, JourneyRefusal, Mandate, MandateDuration, MandateId, Organisation,
    RevocationReason, Usager,
};
use ac_storage::journal::{self, Event};
use ac_storage::mandate_consents::{self, Identification, PendingConsent};
use ac_storage::mandates::TextShown;
use ac_storage::receipts::Choice;
use ac_storage::{StorageError, mandates, organisations, usagers, write};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::instrument;

use super::{DraftView, MandateDraft, draft_view};
use crate::auth::{CurrentAidant, PersonalDataAccess, RecentStepUp, StepUpCheck, too_many};
use crate::i18n::{Language, LanguageView};
use crate::mandate_copy::{authorization_views, written_date};
use crate::menu::Menu;
use crate::reading::{Reading, TextView};
use crate::respond::{blocking, page, see_other};
use crate::status;
use crate::{AppState, WebError};

/// How long the recap waits for consent.
const CONSENT_TTL: time::Duration = time::Duration::minutes(15);

#[derive(Serialize)]
struct ChoiceView {
    key: &'static str,
    title: &'static str,
    examples: &'static str,
    dictation_warning: bool,
    checked: bool,
}

#[derive(Serialize)]
struct DurationView {
    days: u16,
    label: &'static str,
    checked: bool,
}

/// Step 1: the aidant chooses démarches (those the structure allows) and a duration.
pub(crate) async fn new_mandate_page(
    state: web::Data<AppState>,
    current: RecentStepUp,
) -> Result<HttpResponse, WebError> {
    let current = current.0;
    let (db, id) = (
        state.db.clone(),
        current.aidant.current_organisation.clone(),
    );
    let organisation = blocking(move || organisations::get(&mut *db.conn()?, &id)).await?;
    choices_page(
        &state,
        &current.menu(),
        &organisation,
        &MandateDraft::default(),
    )
}

/// The choices form, with `prefill`'s choices ticked (a renewal's). Only démarches the
/// structure allows are offered, so a démarche it withdrew is not renewed.
pub(super) fn choices_page(
    state: &AppState,
    menu: &Menu,
    organisation: &Organisation,
    prefill: &MandateDraft,
) -> Result<HttpResponse, WebError> {
    let choices: Vec<ChoiceView> = organisation
        .allowed_demarches
        .iter()
        .map(|d| ChoiceView {
            key: d.key(),
            title: d.title(),
            examples: d.examples(),
            dictation_warning: d.needs_dictation_warning(),
            checked: prefill.demarches.contains(d),
        })
        .collect();
    let durations: Vec<DurationView> = MandateDuration::ALL
        .iter()
        .map(|d| DurationView {
            days: d.days(),
            label: d.label(),
            checked: prefill.duration == Some(*d),
        })
        .collect();
    let action = match &prefill.renewal_of {
        Some(id) => format!("/mandats/{id}/renouveler/resume"),
        None => "/mandats/identification".to_owned(),
    };
    let body = state.templates.render_for(
        menu,
        "identification/new.html",
        &serde_json::json!({
            "organisation": organisation.name,
            "choices": choices,
            "durations": durations,
            "action": action,
            "renewal": prefill.renewal_of.is_some(),
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

#[derive(Serialize)]
struct RecapView {
    csrf: String,
    token: String,
    given_name: String,
    family_name: String,
    birthdate: String,
    born_abroad: bool,
    organisation: String,
    until: String,
    draft: DraftView,
    error: Option<String>,
    /// The field the error is about (`accord`, `code`), tied to the message by
    /// `aria-describedby`; none for an error about the whole mandate.
    error_field: Option<&'static str>,
    /// The aidé identified through FranceConnect for this consent (else: a renewal without).
    identified: bool,
    renewal: bool,
    /// How the comprehension check ended (`passed`/`skipped`); none while it goes on: the page
    /// shows the way to the questions instead of the accord form (`comprehension.rs`).
    comprehension: Option<&'static str>,
    /// The receipts the aidé may ask for (optional; a stored address shown masked only).
    notifications: crate::receipt_choice::NotificationsView,
    /// The text shown, in the aidé's language; posted back with the consent so the journal
    /// records both.
    #[serde(flatten)]
    reading: TextView,
}

/// An error shown on the recap, and the field it is about (see [`RecapView::error_field`]).
type RecapError = (String, Option<&'static str>);

pub(super) async fn recap_response(
    state: &AppState,
    current: &CurrentAidant,
    token: &Token,
    pending: PendingConsent,
    reading: impl Into<Reading>,
    error: Option<RecapError>,
    status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let reading = reading.into();
    let language = reading.language;
    let draft: MandateDraft = serde_json::from_str(&pending.draft).map_err(WebError::internal)?;
    let (usager, organisation) = people_of(state, &pending).await?;
    let until = draft
        .duration
        .map(|d| last_day(state, language, &organisation, d))
        .unwrap_or_default();
    let identity = &usager.identity;
    let (error, error_field) = error.map_or((None, None), |(m, f)| (Some(m), f));
    let stored = crate::receipt_choice::stored(state, &usager.id).await?;
    let view = RecapView {
        csrf: current.csrf_token(),
        token: token.expose().to_owned(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        birthdate: identity
            .birthdate
            .format(time::macros::format_description!("[day]/[month]/[year]"))
            .map_err(WebError::internal)?,
        born_abroad: identity.birthplace.is_none(),
        organisation: organisation.name,
        until,
        draft: draft_view(&draft),
        error,
        error_field,
        identified: pending.identification == Identification::FranceConnect,
        renewal: pending.renewal_of.is_some(),
        comprehension: pending.comprehension.outcome().map(|o| o.key()),
        notifications: crate::receipt_choice::view(stored.as_ref()),
        // The version `accord` records (the setting is checked at start-up).
        reading: TextView::new(&state.settings.mandates.legal_text_version, reading),
    };
    Ok(page(
        status,
        state.templates.render_for_in(
            &current.menu(),
            &LanguageView::new(language, None),
            "identification/recap.html",
            &view,
        )?,
    ))
}

/// The person and the structure a consent waits for.
async fn people_of(
    state: &AppState,
    pending: &PendingConsent,
) -> Result<(Usager, Organisation), WebError> {
    let (db, usager_id, organisation_id) = (
        state.db.clone(),
        pending.usager.clone(),
        pending.organisation.clone(),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        Ok((
            usagers::get(conn, &usager_id)?,
            organisations::get(conn, &organisation_id)?,
        ))
    })
    .await
}

/// The last day of a mandate of `duration` made now, in the structure's local time, as the
/// person reads it in `language`.
fn last_day(
    state: &AppState,
    language: Language,
    organisation: &Organisation,
    duration: MandateDuration,
) -> String {
    let end = duration.expiry(state.clock.now());
    language.day(
        state
            .local_times
            .local(organisation.departement.as_str(), end)
            .date(),
    )
}

/// After identification (or, for a renewal, without it when the structure allows): the person,
/// the choices and the mandate renewed wait for consent; the recap is shown to both people.
pub(super) async fn show_recap(
    state: &AppState,
    current: &CurrentAidant,
    usager: ac_mandates::UsagerId,
    draft: &MandateDraft,
    identification: Identification,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let token = Token::generate(state.auth.rng()).map_err(WebError::internal)?;
    // The mandate renewed has its own column; the draft keeps the choices only.
    let choices = MandateDraft {
        renewal_of: None,
        ..draft.clone()
    };
    let pending = PendingConsent {
        organisation: current.aidant.current_organisation.clone(),
        usager,
        draft: serde_json::to_string(&choices).map_err(WebError::internal)?,
        renewal_of: draft.renewal_of.clone(),
        identification,
        comprehension: ac_mandates::comprehension::Check::new(),
    };
    let (db, hash, aidant, stored) = (
        state.db.clone(),
        token.hash(),
        current.aidant.id.clone(),
        pending.clone(),
    );
    blocking(move || {
        mandate_consents::insert(
            &mut *db.conn()?,
            hash.as_str(),
            &aidant,
            &stored,
            now,
            now.saturating_add(CONSENT_TTL),
        )
    })
    .await?;
    recap_response(
        state,
        current,
        &token,
        pending,
        TextShown::Full,
        None,
        HttpResponse::Ok(),
    )
    .await
}

/// The pending consent the posted form names, with its CSRF token checked, or MND020.
pub(super) async fn posted_consent(
    state: &AppState,
    current: &CurrentAidant,
    field: impl Fn(&str) -> String,
) -> Result<(Token, PendingConsent), WebError> {
    current.check_csrf(&field("csrf"))?;
    let gone = || WebError::invalid(JourneyRefusal::ValidationGone);
    let token = Token::parse(&field("token")).ok_or_else(gone)?;
    let now = state.clock.now();
    let (db, hash, aidant) = (state.db.clone(), token.hash(), current.aidant.id.clone());
    let pending =
        blocking(move || mandate_consents::peek(&mut *db.conn()?, hash.as_str(), &aidant, now))
            .await?
            .ok_or_else(gone)?;
    Ok((token, pending))
}

/// « Lire en facile à lire » / « Lire le texte complet » on the recap: the same recap with the
/// other text; nothing is written.
pub(crate) async fn switch_text(
    state: web::Data<AppState>,
    current: CurrentAidant,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let (token, pending) = posted_consent(&state, &current, field).await?;
    let shown = Reading::posted(|name| form.get(name).cloned().unwrap_or_default());
    recap_response(
        &state,
        &current,
        &token,
        pending,
        shown,
        None,
        HttpResponse::Ok(),
    )
    .await
}

fn read_draft(text: &str) -> Option<(Vec<Demarche>, MandateDuration)> {
    let draft: MandateDraft = serde_json::from_str(text).ok()?;
    Some((draft.demarches, draft.duration?))
}

/// Step 3: the aidé gives their consent (their own tick), the aidant confirms with a TOTP code,
/// and the mandate is stored with its journal entries, using up the pending consent.
#[instrument(skip_all)]
pub(crate) async fn accord(
    state: web::Data<AppState>,
    req: HttpRequest,
    current: CurrentAidant,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let (token, pending) = posted_consent(&state, &current, |name| field(name).to_owned()).await?;
    let shown = Reading::posted(|name| field(name).to_owned());
    let now = state.clock.now();
    let on_recap = OnRecap {
        state: &state,
        current: &current,
        token: &token,
        shown,
    };
    // Everything the page can refuse, before the aidant's code is spent.
    let notifications = match before_the_code(&state, &pending, &form).await? {
        Ok(notifications) => notifications,
        Err(error) => return on_recap.refused(pending, error).await,
    };
    match current.step_up(&state, &req, field("code"), now).await? {
        StepUpCheck::Accepted => {}
        StepUpCheck::RateLimited => return Err(too_many()),
        StepUpCheck::Refused => {
            let message = "Le code n'est pas valide : l'aidant saisit un nouveau code.".to_owned();
            return on_recap.refused(pending, (message, Some("code"))).await;
        }
        StepUpCheck::SessionEnded => return Err(WebError::Redirect("/connexion".into())),
    }
    let created = create(&state, &current, &token, shown, notifications, now).await;
    match created {
        Ok(plan) => Ok(see_other(&format!("/mandats/{}", plan.mandate.id)).finish()),
        Err(WebError::Invalid(refusal)) => {
            on_recap
                .refused(pending, (refusal.words().to_owned(), None))
                .await
        }
        Err(other) => Err(other),
    }
}

/// The mandate created from the consent the token names, with the receipts the aidé chose, in
/// one transaction with its journal entries.
async fn create(
    state: &AppState,
    current: &CurrentAidant,
    token: &Token,
    shown: Reading,
    notifications: Option<(Choice, Option<Email>)>,
    now: OffsetDateTime,
) -> Result<MandatePlan, WebError> {
    let (db, hash, aidant, context, version, auth) = (
        state.db.clone(),
        token.hash(),
        current.aidant.id.clone(),
        current.audit_context(),
        state.settings.mandates.legal_text_version.clone(),
        state.auth.clone(),
    );
    blocking(move || {
        let chosen =
            notifications
                .as_ref()
                .map(|(choice, email)| ac_storage::receipts::NewPreference {
                    sealer: ac_storage::receipts::Sealer {
                        keys: &auth.keys,
                        rng: auth.rng(),
                    },
                    choice: *choice,
                    email: email.as_ref(),
                });
        let consent = mandates::Consent {
            legal_text_version: &version,
            text_shown: shown.text,
            language: shown.language.code(),
            notifications: chosen.as_ref(),
        };
        mandates::create_from_consent(
            &mut *db.conn()?,
            hash.as_str(),
            &aidant,
            read_draft,
            &consent,
            &context,
            now,
        )
    })
    .await
}

/// The receipts the aidé chose, if nothing on the recap stops the consent before the aidant's
/// code is spent: the three questions passed or skipped (the storage layer refuses it again in
/// the transaction that uses the consent up), the aidé's own tick, a valid receipts choice.
async fn before_the_code(
    state: &AppState,
    pending: &PendingConsent,
    form: &std::collections::HashMap<String, String>,
) -> Result<Result<Option<(Choice, Option<Email>)>, RecapError>, WebError> {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if let Err(refused) = pending.comprehension.required() {
        return Ok(Err((refused.to_string(), None)));
    }
    if field("accord") != "oui" {
        let message =
            "La personne accompagnée doit cocher « Je donne mon accord » elle-même.".to_owned();
        return Ok(Err((message, Some("accord"))));
    }
    let stored = crate::receipt_choice::stored(state, &pending.usager).await?;
    Ok(
        crate::receipt_choice::read(field("choix"), field("courriel"), stored.as_ref())
            .map_err(|message| (message.to_owned(), Some("courriel"))),
    )
}

/// The recap shown again with an error (422), the aidé's reading kept.
struct OnRecap<'a> {
    state: &'a AppState,
    current: &'a CurrentAidant,
    token: &'a Token,
    shown: Reading,
}

impl OnRecap<'_> {
    async fn refused(
        &self,
        pending: PendingConsent,
        error: RecapError,
    ) -> Result<HttpResponse, WebError> {
        recap_response(
            self.state,
            self.current,
            self.token,
            pending,
            self.shown,
            Some(error),
            HttpResponse::UnprocessableEntity(),
        )
        .await
    }
}

/// A mandate with the person and the structure it names.
pub(super) struct StructureMandate {
    pub mandate: Mandate,
    pub usager: Usager,
    pub organisation: Organisation,
}

/// A mandate with its usager's identity, for the aidants of its structure only, whose second
/// factor is recent (the identity is personal data: the access type proves the step-up).
pub(super) async fn structure_mandate(
    state: &AppState,
    access: &PersonalDataAccess,
    id: MandateId,
    now: OffsetDateTime,
) -> Result<StructureMandate, WebError> {
    let mandate = mandate_of_structure(state, access, id, now).await?;
    let (db, usager_id, organisation_id) = (
        state.db.clone(),
        mandate.usager_id.clone(),
        mandate.organisation_id.clone(),
    );
    let (usager, organisation) = blocking(move || {
        let conn = &mut *db.conn()?;
        Ok::<_, StorageError>((
            usagers::get(conn, &usager_id)?,
            organisations::get(conn, &organisation_id)?,
        ))
    })
    .await?;
    Ok(StructureMandate {
        mandate,
        usager,
        organisation,
    })
}

/// A mandate (its démarches and dates, no identity), for the aidants of its structure only.
/// Anyone else — even with the right URL — gets 403, and the attempt is journaled.
pub(super) async fn mandate_of_structure(
    state: &AppState,
    current: &CurrentAidant,
    id: MandateId,
    now: OffsetDateTime,
) -> Result<Mandate, WebError> {
    let (db, wanted) = (state.db.clone(), id.clone());
    let mandate: Mandate = blocking(move || mandates::get(&mut *db.conn()?, &wanted)).await?;
    if !current.aidant.is_member_of(&mandate.organisation_id) {
        let (db, context, organisation, target) = (
            state.db.clone(),
            current.audit_context(),
            mandate.organisation_id.clone(),
            id,
        );
        blocking(move || {
            write(&mut *db.conn()?, |tx| {
                let event = Event::new(Action::AccessDenied)
                    .organisation(&organisation)
                    .target(&target)
                    .detail("reason", "mandate_of_another_structure");
                journal::record(tx, &context, event, now)
            })
        })
        .await?;
        return Err(WebError::forbidden(JourneyRefusal::OtherStructure));
    }
    Ok(mandate)
}

/// A mandate, for the aidants of its structure only.
pub(crate) async fn mandate_page(
    state: web::Data<AppState>,
    current: PersonalDataAccess,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let StructureMandate {
        mandate,
        usager,
        organisation,
    } = structure_mandate(&state, &current, MandateId::new(id.into_inner()), now).await?;
    let authorizations = authorization_views(&mandate, now);
    let revoked = mandate.authorizations.iter().any(|a| {
        a.revocation
            .is_some_and(|r| r.reason == RevocationReason::Revoked)
    });
    let body = state.templates.render_for(&current.menu(),
        "identification/mandate.html",
        &serde_json::json!({
            "id": mandate.id.as_str(),
            "status": status::mandate(mandate.status_at(now)),
            "organisation": organisation.name,
            "given_name": usager.identity.given_name,
            "family_name": usager.identity.family_name,
            "created": written_date(&state.local_times, organisation.departement.as_str(), mandate.created_at),
            "until": written_date(&state.local_times, organisation.departement.as_str(), mandate.expires_at),
            "duration": mandate.duration.label(),
            "legal_text_version": mandate.legal_text_version,
            "content_hash": mandate.content_hash,
            "revocable": authorizations.iter().any(|a| a.in_force),
            "revoked": revoked,
            "authorizations": authorizations,
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}
