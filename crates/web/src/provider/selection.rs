//! The front channel: the authorization request, the aidant's sign-in if needed, the choice of
//! the person and the démarche, and the code sent back to the partner website.
//!
//! `form-action 'self'` in our CSP also applies to the redirects that follow a form submission
//! (Chromium enforces it on the whole chain), and the démarche form ends in a 303 to the
//! client's redirect URI. So the page holding that form gets its own policy, adding the origin
//! of the client's registered redirect URI (after a redirect, browsers compare origins only,
//! CSP3 §6.7.2.8) and nothing else; every other page keeps the strict default. The alternative,
//! a GET hop on our origin carrying the code, would put the code in our own URLs and logs.

use ac_mandates::UsagerId;
use ac_oidc::op::{
    self, AuthorizationRequest, AuthorizeParams, AuthorizeRefusal, ErrorCode, ErrorRedirect,
};
use ac_storage::oidc_grants::Eligible;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::instrument;

use super::choice::{
    self, ChoiceInput, ChoiceOutcome, Refusal, eligible, offered_demarches, open_interaction,
    proof_needed, tampered,
};
use super::find_client;
use super::interaction::Interaction;
use crate::auth::{CurrentAidant, PersonalDataAccess};
use crate::error::Said;
use crate::respond::{page, see_other};
use crate::waiting::{self, RESUME_PATH};
use crate::{AppState, WebError, security};

pub(crate) const SELECTION_PATH: &str = "/oidc/selection";
pub(crate) const DEMARCHE_PATH: &str = "/oidc/selection/demarche";
pub(crate) const CHOICE_PATH: &str = "/oidc/choix";
pub(crate) const CANCEL_PATH: &str = "/oidc/annuler";

fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    out.extend_pairs(pairs);
    out.finish()
}

/// A refusal shown to the aidant, with a way back to the partner when there is a safe one.
fn refused(state: &AppState, refusal: Refusal) -> Result<HttpResponse, WebError> {
    let body = state.templates.render(
        "provider/refused.html",
        &serde_json::json!({
            "code": refusal.said.code(),
            "message": refusal.said.words(),
            "back": refusal.back,
        }),
    )?;
    Ok(page(HttpResponseBuilder::new(refusal.status), body))
}

fn redirect(location: &str) -> HttpResponse {
    see_other(location).finish()
}

/// Checks a request's parameters against its (active) client.
async fn check_request(
    state: &AppState,
    params: &AuthorizeParams,
) -> Result<Result<AuthorizationRequest, HttpResponse>, WebError> {
    let found = find_client(state, params.client_id()).await?;
    match op::validate_authorization(params, found.as_ref().map(|(client, _)| client)) {
        Ok(request) => Ok(Ok(request)),
        Err(AuthorizeRefusal::Page(reason)) => Ok(Err(refused(
            state,
            Refusal::new(StatusCode::BAD_REQUEST, reason),
        )?)),
        Err(AuthorizeRefusal::Redirect(error)) => {
            Ok(Err(redirect(&error.location(&state.provider.issuer))))
        }
    }
}

/// The authorization endpoint (OIDC Core §3.1.2.1). Unknown parameters are ignored; a refusal
/// goes back to the client only once its redirect URI is known to be registered.
#[instrument(skip_all)]
pub(crate) async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    current: Option<CurrentAidant>,
) -> Result<HttpResponse, WebError> {
    let params = AuthorizeParams::parse(req.query_string());
    let request = match check_request(&state, &params).await? {
        Ok(request) => request,
        Err(response) => return Ok(response),
    };
    let now = state.clock.now();
    match current.map(|c| c.personal_data(op::AUTHORIZE_PATH)) {
        Some(Ok(current)) => {
            let interaction = Interaction::new(
                state.provider.rng(),
                request,
                now.unix_timestamp(),
                current.signed_in_at.unix_timestamp(),
                None,
            )?;
            usagers_response(&state, &current, &interaction, None, now).await
        }
        // Sign in, or type the code again, then come back (`RESUME_PATH`).
        current => {
            let provider = &state.provider;
            let Some(cookie) = waiting::resume_cookie(
                provider.dev_mode,
                now,
                &params.to_query(),
                provider.interaction_ttl,
            ) else {
                let error = request.error(ErrorCode::InvalidRequest, "request too large");
                return Ok(redirect(&error.location(&provider.issuer)));
            };
            let next = if current.is_some() {
                format!("/connexion/verification?suite={RESUME_PATH}")
            } else {
                "/connexion".to_owned()
            };
            Ok(see_other(&next).cookie(cookie).finish())
        }
    }
}

/// OIDC Core §3.1.2.1 allows POST: the same parameters, moved to a GET so that the aidant's
/// session cookie (`SameSite=Lax`) comes with them on a request started by another site.
#[instrument(skip_all)]
pub(crate) async fn authorize_post(body: web::Bytes) -> HttpResponse {
    let params = AuthorizeParams::parse(&String::from_utf8_lossy(&body));
    redirect(&format!("{}?{}", op::AUTHORIZE_PATH, params.to_query()))
}

/// Back from the sign-in (or step-up) with the request that waited in a cookie: checked again
/// from scratch. The second factor was typed after the request arrived: `prompt=login` holds.
#[instrument(skip_all)]
pub(crate) async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
    current: Option<CurrentAidant>,
) -> Result<HttpResponse, WebError> {
    let provider = state.provider.clone();
    let Some((arrived, query)) = waiting::read_resume(&req, provider.dev_mode) else {
        return Ok(redirect("/espace"));
    };
    let Some(current) = current else {
        return Ok(redirect("/connexion"));
    };
    let current = match current.personal_data(RESUME_PATH) {
        Ok(access) => access,
        Err(redirect_to_step_up) => return Err(redirect_to_step_up),
    };
    let clear = waiting::clear_resume(provider.dev_mode);
    let now = state.clock.now();
    let age = now.unix_timestamp().saturating_sub(arrived);
    if !(0..=provider.interaction_ttl.whole_seconds()).contains(&age) {
        let mut response = refused(
            &state,
            Refusal::new(StatusCode::BAD_REQUEST, op::ChoiceRefusal::RequestExpired),
        )?;
        response.add_cookie(&clear).map_err(WebError::internal)?;
        return Ok(response);
    }
    let params = AuthorizeParams::parse(&query);
    let mut response = match check_request(&state, &params).await? {
        Err(response) => response,
        Ok(request) => {
            let fresh_auth_at =
                Some(current.last_activity_at.unix_timestamp()).filter(|at| *at >= arrived);
            let interaction = Interaction::new(
                provider.rng(),
                request,
                arrived,
                current.signed_in_at.unix_timestamp(),
                fresh_auth_at,
            )?;
            usagers_response(&state, &current, &interaction, None, now).await?
        }
    };
    response.add_cookie(&clear).map_err(WebError::internal)?;
    Ok(response)
}

fn birthdate(e: &Eligible) -> String {
    let d = e.birthdate;
    format!("{:02}/{:02}/{:04}", d.day(), u8::from(d.month()), d.year())
}

#[derive(Serialize)]
struct UsagerView {
    id: String,
    name: String,
    birthdate: String,
    demarches: String,
}

/// The list of people the aidant may act for (search on the server, not in the page).
async fn usagers_response(
    state: &AppState,
    current: &PersonalDataAccess,
    interaction: &Interaction,
    search: Option<&str>,
    now: OffsetDateTime,
) -> Result<HttpResponse, WebError> {
    let request = &interaction.request;
    let Some((_, record)) = find_client(state, Some(&request.client_id)).await? else {
        return refused(state, Refusal::unknown_client());
    };
    let organisation = current.aidant.current_organisation.clone();
    let demarches = offered_demarches(request);
    let search = search.map(|s| s.trim().chars().take(100).collect::<String>());
    let people = if current.aidant.can_create_mandates {
        eligible(state, &organisation, demarches, search.clone(), None, now).await?
    } else {
        Vec::new()
    };
    let sealed = interaction.seal(current.token())?;
    let usagers: Vec<UsagerView> = people
        .iter()
        .map(|e| UsagerView {
            name: format!("{} {}", e.given_name, e.family_name),
            birthdate: birthdate(e),
            demarches: e
                .demarches
                .iter()
                .map(|d| d.title())
                .collect::<Vec<_>>()
                .join(", "),
            id: e.usager_id.to_string(),
        })
        .collect();
    let body = state.templates.render_for(
        &current.menu(),
        "provider/usagers.html",
        &serde_json::json!({
            "client_name": record.name,
            "structure": current.structure_name,
            "usagers": usagers,
            "search": search.unwrap_or_default(),
            "i": sealed,
            "habilitated": current.aidant.can_create_mandates,
            "cancel": format!("{CANCEL_PATH}?{}", query(&[("i", &sealed)])),
        }),
    )?;
    Ok(page(HttpResponse::Ok(), body))
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    i: String,
    q: Option<String>,
}

/// The selection pages show people's names and birth dates: a stale session types its code
/// again first. The step-up page cannot come back here (the request travels in the query, which
/// return paths never carry), so it goes to the aidant's space; the partner's request is started
/// again from the partner.
fn selection_access(current: CurrentAidant) -> Result<PersonalDataAccess, WebError> {
    current.personal_data("/espace")
}

pub(crate) async fn usagers_page(
    state: web::Data<AppState>,
    current: CurrentAidant,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let current = selection_access(current)?;
    let now = state.clock.now();
    let interaction = match open_interaction(&state, &current, &query.i, now).await? {
        Ok(interaction) => interaction,
        Err(refusal) => return refused(&state, refusal),
    };
    usagers_response(&state, &current, &interaction, query.q.as_deref(), now).await
}

#[derive(Serialize)]
struct DemarcheView {
    key: &'static str,
    title: &'static str,
    examples: &'static str,
    warning: bool,
}

struct DemarchePage<'a> {
    interaction: &'a Interaction,
    person: &'a Eligible,
    needs_code: bool,
    error: Option<&'a Said>,
}

fn demarche_response(
    state: &AppState,
    current: &CurrentAidant,
    view: &DemarchePage<'_>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let sealed = view.interaction.seal(current.token())?;
    let demarches: Vec<DemarcheView> = view
        .person
        .demarches
        .iter()
        .map(|d| DemarcheView {
            key: d.key(),
            title: d.title(),
            examples: d.examples(),
            warning: d.needs_dictation_warning(),
        })
        .collect();
    let body = state.templates.render_for(
        &current.menu(),
        "provider/demarche.html",
        &serde_json::json!({
            "name": format!("{} {}", view.person.given_name, view.person.family_name),
            "birthdate": birthdate(view.person),
            "usager": view.person.usager_id.as_str(),
            "demarches": demarches,
            "needs_code": view.needs_code,
            "csrf": current.csrf_token(),
            "i": sealed,
            "error": view.error.map(Said::words),
            "error_code": view.error.map(Said::code),
            "back": format!("{SELECTION_PATH}?{}", query(&[("i", &sealed)])),
            "cancel": format!("{CANCEL_PATH}?{}", query(&[("i", &sealed)])),
        }),
    )?;
    let mut response = page(HttpResponseBuilder::new(status), body);
    // See the module's comment: this form's submission ends at the client's redirect URI. Its
    // origin alone goes in the policy (what browsers compare after a redirect), so no character
    // of a registered URI can reach the header's syntax.
    let origin = url::Url::parse(&view.interaction.request.redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .map_err(WebError::internal)?;
    let csp = security::csp_with_form_action(&origin);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_str(&csp).map_err(WebError::internal)?,
    );
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct DemarcheQuery {
    i: String,
    usager: String,
}

pub(crate) async fn demarche_page(
    state: web::Data<AppState>,
    current: CurrentAidant,
    query: web::Query<DemarcheQuery>,
) -> Result<HttpResponse, WebError> {
    let current = selection_access(current)?;
    let now = state.clock.now();
    let interaction = match open_interaction(&state, &current, &query.i, now).await? {
        Ok(interaction) => interaction,
        Err(refusal) => return refused(&state, refusal),
    };
    let usager = UsagerId::new(query.usager.chars().take(64).collect::<String>());
    let organisation = current.aidant.current_organisation.clone();
    let demarches = offered_demarches(&interaction.request);
    let found = eligible(
        &state,
        &organisation,
        demarches,
        None,
        Some(usager.clone()),
        now,
    )
    .await?;
    let Some(person) = found.first() else {
        let client = interaction.request.client_id.clone();
        let refusal = tampered(
            &state,
            &current,
            Some(&client),
            Some(&usager),
            None,
            "usager_not_offered",
        )
        .await?;
        return refused(&state, refusal);
    };
    let view = DemarchePage {
        interaction: &interaction,
        person,
        needs_code: proof_needed(&interaction, &current, now).is_none(),
        error: None,
    };
    demarche_response(&state, &current, &view, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct ChoiceForm {
    csrf: String,
    i: String,
    usager: String,
    demarche: String,
    code: Option<String>,
}

/// The aidant's choice (`choice::choose` checks it again entirely and issues the code), then
/// back to the partner (RFC 6749 §4.1.2, RFC 9207 `iss`), or the page again, or a refusal.
#[instrument(skip_all)]
pub(crate) async fn choose(
    state: web::Data<AppState>,
    req: HttpRequest,
    current: CurrentAidant,
    form: web::Form<ChoiceForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let now = state.clock.now();
    let input = ChoiceInput {
        sealed: form.i,
        usager: form.usager,
        demarche: form.demarche,
        code: form.code,
    };
    let step_up = async |code: &str| current.step_up(&state, &req, code, now).await;
    match choice::choose(&state, &current, input, step_up, now).await? {
        ChoiceOutcome::Redirect(location) => Ok(redirect(&location)),
        ChoiceOutcome::AskCode {
            interaction,
            person,
            error,
            status,
        } => {
            let view = DemarchePage {
                interaction: &interaction,
                person: &person,
                needs_code: true,
                error: Some(&error),
            };
            demarche_response(&state, &current, &view, status)
        }
        ChoiceOutcome::Refused(refusal) => refused(&state, refusal),
        ChoiceOutcome::SessionEnded => Ok(redirect("/connexion")),
    }
}

#[derive(Deserialize)]
pub(crate) struct CancelQuery {
    i: String,
}

/// The aidant gives up: the partner gets `access_denied` (RFC 6749 §4.1.2.1).
pub(crate) async fn cancel(
    state: web::Data<AppState>,
    current: CurrentAidant,
    query: web::Query<CancelQuery>,
) -> Result<HttpResponse, WebError> {
    let Some(interaction) = Interaction::open(&query.i, current.token()) else {
        let refusal = tampered(&state, &current, None, None, None, "tampered_interaction").await?;
        return refused(&state, refusal);
    };
    let error: ErrorRedirect = interaction
        .request
        .error(ErrorCode::AccessDenied, "cancelled by the aidant");
    Ok(redirect(&error.location(&state.provider.issuer)))
}
