//! The person's side of a consent at a distance, on their own phone with no aidant session: the
//! link's page, FranceConnect with their own account (the same checks as everywhere,
//! `ac_oidc::rp`), the mandate to read (full text or easy-to-read, « Écouter », in the person's
//! language), the comprehension check, and « Je donne mon accord » or « Je refuse » — the same
//! kit as on the tablet (`reading`, `comprehension`, `i18n`). The browser that completed
//! FranceConnect is bound to the consent by a random cookie; from then on the link itself no
//! longer works (single use).

use std::collections::HashMap;

use ac_auth::Token;
use ac_mandates::JourneyRefusal;
use ac_oidc::rp::{CallbackParams, Identification, PendingLogin};
use ac_storage::journal::AuditContext;
use ac_storage::rate_limits::{self, Limit};
use ac_storage::remote_consents::{self, RemoteConsent, Status};
use ac_storage::{aidants, organisations, usagers};
use actix_web::cookie::SameSite;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use crate::comprehension::{self, Facts, Moved, QuestionView};
use crate::error::Said;
use crate::i18n::{Language, LanguageView, PageLanguage};
use crate::person_login::{self, Returned};
use crate::reading::{Reading, TextView, text_key, text_shown};
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError, security};

/// Binds a FranceConnect login in progress to the browser that began it.
const LOGIN_COOKIE: &str = "ac_accord_login";
/// Binds the identified person's browser to their consent, until they answer.
const SESSION_COOKIE: &str = "ac_accord";

/// Why a link leads nowhere, as the person reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Dead {
    Unknown,
    Expired,
    Used,
}

fn dead(found: Option<&RemoteConsent>, now: time::OffsetDateTime) -> Option<Dead> {
    match found {
        None => Some(Dead::Unknown),
        Some(f) if f.link_usable(now) => None,
        Some(f) if f.status == Status::Expired || f.link_expires_at <= now => Some(Dead::Expired),
        Some(_) => Some(Dead::Used),
    }
}

/// The per-IP limit on the public pages (`remote_consent.opens_per_ip`); its first refusal in
/// a window is journaled.
async fn within_limit(state: &AppState, req: &HttpRequest) -> Result<(), WebError> {
    let settings = &state.settings.remote_consent;
    let (db, key, limit, context, now) = (
        state.db.clone(),
        format!("remote:ip:{}", state.auth.client_ip(req)),
        Limit {
            max: i32::try_from(settings.opens_per_ip).unwrap_or(i32::MAX),
            window: settings.window,
        },
        anonymous(req),
        state.clock.now(),
    );
    let allowed = blocking(move || {
        rate_limits::enforce(
            &mut *db.conn()?,
            &key,
            "remote_opens_per_ip",
            limit,
            &context,
            now,
        )
    })
    .await?;
    if allowed {
        Ok(())
    } else {
        Err(WebError::too_many(JourneyRefusal::RemoteTooManyOpenings))
    }
}

fn anonymous(req: &HttpRequest) -> AuditContext {
    AuditContext {
        actor: ac_audit::Actor::system(),
        request_id: crate::auth::request_id(req),
    }
}

/// The journal's actor for what the identified person does: the person, by pseudonym.
fn person_context(req: &HttpRequest, subject: &str) -> AuditContext {
    AuditContext {
        actor: ac_audit::Actor {
            kind: ac_audit::ActorKind::Usager,
            id: Some(subject.to_owned()),
        },
        request_id: crate::auth::request_id(req),
    }
}

#[derive(Serialize)]
struct AboutView {
    aidant: String,
    structure: String,
    /// The démarches' keys: the pages word them in their language (`demarche-<key>`).
    demarches: Vec<&'static str>,
    /// The duration in days: the pages word it (`duration-<days>`).
    duration_days: u16,
    link_until: String,
    departement: String,
}

/// Who asks and for what, with the link's end written in `language`: shown on the link's page
/// and on the recap.
fn about(
    state: &AppState,
    found: &RemoteConsent,
    language: Language,
) -> Result<AboutView, WebError> {
    let conn = &mut *state.db.conn()?;
    let aidant = aidants::get(conn, &found.aidant)?;
    let organisation = organisations::get(conn, &found.organisation)?;
    let departement = organisation.departement.as_str().to_owned();
    Ok(AboutView {
        aidant: aidant.first_name,
        structure: organisation.name,
        demarches: found.demarches.iter().map(|d| d.key()).collect(),
        duration_days: found.duration.days(),
        link_until: language.moment(state.local_times.local(&departement, found.link_expires_at)),
        departement,
    })
}

/// [`about`] off the async runtime.
async fn about_of(
    state: &AppState,
    found: &RemoteConsent,
    language: Language,
) -> Result<AboutView, WebError> {
    let (state, found) = (state.clone(), found.clone());
    web::block(move || about(&state, &found, language)).await?
}

#[derive(Serialize)]
struct LandingView {
    csrf: String,
    token: String,
    dead: Option<Dead>,
    about: Option<AboutView>,
    error: Option<(&'static str, String)>,
}

/// A page of the person's journey, in their language: no aidant menu, never cached, never
/// indexed.
fn person_page(
    state: &AppState,
    language: &LanguageView,
    template: &str,
    view: &impl Serialize,
    status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let body = state.templates.render_in(language, template, view)?;
    let mut response = page(status, body);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn landing_response(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    error: Option<(&'static str, String)>,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let parsed = Token::parse(token);
    let found = match &parsed {
        Some(token) => {
            let (db, hash) = (state.db.clone(), token.hash());
            blocking(move || remote_consents::by_token(&mut *db.conn()?, hash.as_str())).await?
        }
        None => None,
    };
    let dead = dead(found.as_ref(), now);
    let language = PageLanguage::of(req).language;
    let about = match (&found, dead) {
        (Some(found), None) => Some(about_of(state, found, language).await?),
        _ => None,
    };
    let (csrf, cookie) = crate::auth::csrf_browser_token(&state.auth, req)?;
    let status = match (dead, &error) {
        (Some(Dead::Unknown), _) => HttpResponse::NotFound(),
        (Some(_), _) => HttpResponse::Gone(),
        (None, Some(_)) => HttpResponse::ServiceUnavailable(),
        (None, None) => HttpResponse::Ok(),
    };
    // The language switcher comes back to the link's page (never to the form's address).
    let here = parsed.as_ref().map(|t| format!("/accord/{}", t.expose()));
    let view = LandingView {
        csrf,
        token: parsed.map(|t| t.expose().to_owned()).unwrap_or_default(),
        dead,
        about,
        error,
    };
    let mut response = person_page(
        state,
        &LanguageView::new(language, here.as_deref()),
        "remote/landing.html",
        &view,
        status,
    )?;
    if let Some(cookie) = cookie {
        response.add_cookie(&cookie).map_err(WebError::internal)?;
    }
    // The button's form ends in a redirect to FranceConnect (`form-action`).
    let csp = security::csp_with_form_action(state.franceconnect.provider_origin());
    if let Ok(value) = header::HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

/// The link's page. Opening it changes nothing (message apps fetch links to preview them):
/// only the FranceConnect button does. The person who already identified in this browser and
/// opens the message's link again goes back to their recap.
pub(crate) async fn landing(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    within_limit(&state, &req).await?;
    let token = token.into_inner();
    if let (Some((_, mine)), Some(parsed)) = (bound(&state, &req).await?, Token::parse(&token)) {
        let (db, hash) = (state.db.clone(), parsed.hash());
        let named =
            blocking(move || remote_consents::by_token(&mut *db.conn()?, hash.as_str())).await?;
        if named.is_some_and(|n| n.id == mine.id) {
            return Ok(see_other("/accord/recapitulatif").finish());
        }
    }
    landing_response(&state, &req, &token, None).await
}

#[derive(Deserialize)]
pub(crate) struct BeginForm {
    csrf: String,
    token: String,
}

#[derive(Serialize, Deserialize)]
struct LoginPayload {
    pending: PendingLogin,
    remote: String,
}

/// « Je m'identifie avec FranceConnect »: the consent becomes « ouvert » for the aidant, and
/// the person goes to FranceConnect.
#[instrument(skip_all)]
pub(crate) async fn begin(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<BeginForm>,
) -> Result<HttpResponse, WebError> {
    within_limit(&state, &req).await?;
    crate::auth::check_csrf_browser(&state.auth, &req, &form.csrf)?;
    let now = state.clock.now();
    let Some(token) = Token::parse(&form.token) else {
        return landing_response(&state, &req, &form.token, None).await;
    };
    let (db, hash) = (state.db.clone(), token.hash());
    let found = blocking(move || {
        let conn = &mut *db.conn()?;
        if !remote_consents::mark_opened(conn, hash.as_str(), now)? {
            return Ok(None);
        }
        remote_consents::by_token(conn, hash.as_str())
    })
    .await?;
    let Some(found) = found else {
        return landing_response(&state, &req, &form.token, None).await;
    };
    let rp = match state.franceconnect.remote_relying_party(now).await {
        Ok(rp) => rp,
        Err(e) => {
            tracing::error!(code = e.code(), error = ?e, "FranceConnect discovery failed");
            return landing_response(&state, &req, &form.token, Some((e.code(), e.to_string())))
                .await;
        }
    };
    person_login::begin(
        &state,
        &rp,
        LOGIN_COOKIE,
        |pending| {
            serde_json::to_string(&LoginPayload {
                pending,
                remote: found.id,
            })
        },
        now,
    )
    .await
}

#[derive(Serialize)]
struct AnsweredView {
    outcome: &'static str,
    code: Option<&'static str>,
    message: Option<String>,
    aidant: Option<String>,
    structure: Option<String>,
    confirm_until: Option<String>,
}

/// The journey cannot go on: the code and its message (in French, marked so on the page), in
/// a page of the person's `language`.
fn ended(
    state: &AppState,
    language: Language,
    refusal: Said,
    status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let view = AnsweredView {
        outcome: "error",
        code: Some(refusal.code()),
        message: Some(refusal.words().to_owned()),
        aidant: None,
        structure: None,
        confirm_until: None,
    };
    person_page(
        state,
        &LanguageView::new(language, None),
        "remote/answered.html",
        &view,
        status,
    )
}

/// FranceConnect's return (OIDC Core §3.1.2.5–6): the state and every check of the relying
/// party, then the person is stored (or refreshed) and bound, with this browser, to the
/// consent — if nobody was bound first.
#[instrument(skip_all)]
pub(crate) async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    language: Language,
    params: web::Query<CallbackParams>,
) -> Result<HttpResponse, WebError> {
    let params = params.into_inner();
    let now = state.clock.now();
    let rp = state.franceconnect.remote_relying_party(now);
    let returned = person_login::returned(
        &state,
        &req,
        LOGIN_COOKIE,
        &params,
        rp,
        |stored: &LoginPayload| &stored.pending,
        now,
    );
    let (identification, stored) = match returned.await? {
        Returned::Identified(identification, stored) => (identification, stored),
        Returned::Unavailable(e) | Returned::Refused(e) => {
            tracing::warn!(code = e.code(), error = %e, "identification à distance refusée");
            return ended(
                &state,
                language,
                Said::from(e).then("Rouvrez le lien reçu pour recommencer."),
                HttpResponse::BadRequest(),
            );
        }
    };
    let session = Token::generate(state.auth.rng()).map_err(WebError::internal)?;
    let bound = bind(&state, &req, &identification, stored.remote, &session, now).await?;
    let login_gone = state.auth.removal(LOGIN_COOKIE);
    if !bound {
        let mut response = ended(
            &state,
            language,
            JourneyRefusal::RemoteLinkGone.into(),
            HttpResponse::Gone(),
        )?;
        response
            .add_cookie(&login_gone)
            .map_err(WebError::internal)?;
        return Ok(response);
    }
    let cookie = state
        .auth
        .cookie(SESSION_COOKIE, session.expose().to_owned(), SameSite::Lax);
    Ok(see_other("/accord/recapitulatif")
        .cookie(cookie)
        .cookie(login_gone)
        .finish())
}

/// The identified person stored (or refreshed), then bound with the browser's `session` to the
/// consent `remote`; false when somebody was bound first.
async fn bind(
    state: &AppState,
    req: &HttpRequest,
    identification: &Identification,
    remote: String,
    session: &Token,
    now: time::OffsetDateTime,
) -> Result<bool, WebError> {
    let (db, subject, identity, context, session_hash) = (
        state.db.clone(),
        identification.subject.clone(),
        identification.identity.clone(),
        person_context(req, &identification.subject),
        session.hash(),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        let (usager, _) = usagers::upsert_identified(conn, &subject, &identity, &context, now)?;
        remote_consents::bind_person(conn, &remote, &usager.id, session_hash.as_str(), now)
    })
    .await
}

/// The consent this browser is bound to, if it still awaits the person.
async fn bound(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<(Token, RemoteConsent)>, WebError> {
    let Some(token) = state.auth.read_cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let (db, hash, now) = (state.db.clone(), token.hash(), state.clock.now());
    let found =
        blocking(move || remote_consents::by_session(&mut *db.conn()?, hash.as_str())).await?;
    Ok(found
        .filter(|f| f.awaiting_person(now))
        .map(|found| (token, found)))
}

fn nothing_pending(state: &AppState, language: Language) -> Result<HttpResponse, WebError> {
    ended(
        state,
        language,
        JourneyRefusal::RemoteNothingPending.into(),
        HttpResponse::NotFound(),
    )
}

/// What a form of the person's pages posted: the text shown (`texte`) and the language
/// (`langue`; when a form lacks it, the browser's, as for a page).
fn posted_reading(req: &HttpRequest, field: impl Fn(&str) -> String) -> Reading {
    Reading {
        text: text_shown(&field("texte")),
        language: Language::parse(&field("langue"))
            .unwrap_or_else(|| PageLanguage::of(req).language),
    }
}

/// The recap's address for the text shown: where the language switcher's links come back to
/// (they add the language themselves).
fn recap_path(reading: Reading) -> String {
    format!("/accord/recapitulatif?texte={}", text_key(reading.text))
}

/// The recap after the questions, in the language they were answered in (which a `?langue=` may
/// have chosen without the switcher's cookie).
fn back_to_recap(reading: Reading) -> String {
    format!("{}&langue={}", recap_path(reading), reading.language.code())
}

#[derive(Serialize)]
struct RecapView {
    csrf: String,
    given_name: String,
    family_name: String,
    about: AboutView,
    until: String,
    /// How the comprehension check ended (`passed`/`skipped`); none while it goes on: the page
    /// shows the way to the questions instead of the accord form.
    comprehension: Option<&'static str>,
    /// The text shown, with its translation and recording, as on the tablet (`reading`).
    #[serde(flatten)]
    reading: TextView,
    error: Option<String>,
}

async fn recap_response(
    state: &AppState,
    token: &Token,
    found: RemoteConsent,
    reading: Reading,
    error: Option<String>,
    status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let language = reading.language;
    let Some(usager_id) = found.usager.clone() else {
        return nothing_pending(state, language);
    };
    let about = about_of(state, &found, language).await?;
    let db = state.db.clone();
    let usager = blocking(move || usagers::get(&mut *db.conn()?, &usager_id)).await?;
    let end = found.duration.expiry(state.clock.now());
    let view = RecapView {
        csrf: crate::auth::csrf_session_token(token),
        given_name: usager.identity.given_name,
        family_name: usager.identity.family_name,
        until: language.day(state.local_times.local(&about.departement, end).date()),
        about,
        comprehension: found.reading.comprehension.outcome().map(|o| o.key()),
        reading: TextView::new(&state.settings.mandates.legal_text_version, reading),
        error,
    };
    person_page(
        state,
        &LanguageView::new(language, Some(&recap_path(reading))),
        "remote/recap.html",
        &view,
        status,
    )
}

/// The mandate to read, full text or easy-to-read (`?texte=facile`), in the page's language.
pub(crate) async fn recap(
    state: web::Data<AppState>,
    req: HttpRequest,
    page_language: PageLanguage,
) -> Result<HttpResponse, WebError> {
    let language = page_language.language;
    let Some((token, found)) = bound(&state, &req).await? else {
        return nothing_pending(&state, language);
    };
    let text = text_shown(
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "texte")
            .map(|(_, v)| v.into_owned())
            .as_deref()
            .unwrap_or_default(),
    );
    let reading = Reading { text, language };
    recap_response(&state, &token, found, reading, None, HttpResponse::Ok()).await
}

#[derive(Serialize)]
struct QuestionsView {
    csrf: String,
    texte: &'static str,
    check: QuestionView,
}

/// `POST /accord/questions`, the comprehension check on the phone, as on the
/// tablet (`identification::comprehension`): nothing answered shows the current question, an
/// answer moves the check (a wrong one shows its explanation and asks again), « Passer » ends
/// it after an explanation. The state waits with the consent (`remote_consents.reading`),
/// never an answer; once over, back to the recap and its accord form.
#[instrument(skip_all)]
pub(crate) async fn questions(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let reading = posted_reading(&req, |name| field(name).to_owned());
    let Some((token, found)) = bound(&state, &req).await? else {
        return nothing_pending(&state, reading.language);
    };
    crate::auth::check_csrf_session(&token, field("csrf"))?;
    let posted = comprehension::read(field("question"), field("reponse"), field("passer"))?;
    let mut moved = comprehension::apply(found.reading.comprehension, posted)?;
    if moved.after != moved.before {
        let (db, hash, now) = (state.db.clone(), token.hash(), state.clock.now());
        let (before, after) = (moved.before, moved.after);
        let saved = blocking(move || {
            remote_consents::save_check(&mut *db.conn()?, hash.as_str(), before, after, now)
        })
        .await?;
        if !saved {
            // Moved meanwhile (a double tap): the state as it is now, nothing counted twice.
            let Some((_, fresh)) = bound(&state, &req).await? else {
                return nothing_pending(&state, reading.language);
            };
            moved = Moved::unchanged(fresh.reading.comprehension);
        }
    }
    if moved.after.outcome().is_some() {
        return Ok(see_other(&back_to_recap(reading)).finish());
    }
    let about = about_of(&state, &found, reading.language).await?;
    let facts = Facts::new(
        &state.local_times,
        &about.structure,
        &about.departement,
        found.duration,
        state.clock.now(),
        reading.language,
    )?;
    let hash = token.hash();
    let check = comprehension::view(&moved, facts, hash.as_str().as_bytes())
        .ok_or_else(|| WebError::internal("comprehension page for a finished check"))?;
    let view = QuestionsView {
        csrf: crate::auth::csrf_session_token(&token),
        texte: text_key(reading.text),
        check,
    };
    person_page(
        &state,
        &LanguageView::new(reading.language, None),
        "remote/questions.html",
        &view,
        HttpResponse::Ok(),
    )
}

/// « Je donne mon accord » (with its tick, after the comprehension check) or « Je refuse ».
/// Either way the browser's binding ends; the aidant sees the answer on their list.
#[instrument(skip_all)]
pub(crate) async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let reading = posted_reading(&req, |name| field(name).to_owned());
    let language = reading.language;
    let Some((token, found)) = bound(&state, &req).await? else {
        return nothing_pending(&state, language);
    };
    crate::auth::check_csrf_session(&token, field("csrf"))?;
    let Some(usager_id) = found.usager.clone() else {
        return nothing_pending(&state, language);
    };
    let db = state.db.clone();
    let subject = blocking(move || usagers::get(&mut *db.conn()?, &usager_id))
        .await?
        .subject;
    let answered = Answered {
        context: person_context(&req, &subject),
        token,
        reading,
    };
    let view = match field("reponse") {
        "accord" => {
            if let Some(message) = not_yet(field("accord") == "oui", &found, language) {
                return recap_response(
                    &state,
                    &answered.token,
                    found,
                    reading,
                    Some(message),
                    HttpResponse::UnprocessableEntity(),
                )
                .await;
            }
            consent(&state, answered).await?
        }
        "refus" => decline(&state, answered).await?,
        _ => {
            return Err(WebError::invalid(JourneyRefusal::RemoteIncompleteAnswer));
        }
    };
    let Some(view) = view else {
        return nothing_pending(&state, language);
    };
    let mut response = person_page(
        &state,
        &LanguageView::new(language, None),
        "remote/answered.html",
        &view,
        HttpResponse::Ok(),
    )?;
    response
        .add_cookie(&state.auth.removal(SESSION_COOKIE))
        .map_err(WebError::internal)?;
    Ok(response)
}

/// Why the recap cannot take the consent yet, in the person's language: the box left unticked,
/// or the comprehension check neither passed nor skipped (MND014; the storage layer refuses it
/// too, in the transaction that records the consent).
fn not_yet(ticked: bool, found: &RemoteConsent, language: Language) -> Option<String> {
    if !ticked {
        return Some(language.text("remote-tick-needed", &[]));
    }
    found
        .reading
        .comprehension
        .required()
        .err()
        .map(|e| e.to_string())
}

/// What an answer acts with: the person (the journal's actor), their browser's binding, and
/// what they read.
struct Answered {
    context: AuditContext,
    token: Token,
    reading: Reading,
}

/// The person's accord, recorded (`remote_consents::give`); `None` when nothing awaited them.
async fn consent(state: &AppState, answered: Answered) -> Result<Option<AnsweredView>, WebError> {
    let Answered {
        context,
        token,
        reading,
    } = answered;
    let language = reading.language;
    let ttl = state.settings.remote_consent.confirm_ttl;
    let (db, hash, now) = (state.db.clone(), token.hash(), state.clock.now());
    let shown = (reading.text, language.code());
    let given = blocking(move || {
        remote_consents::give(&mut *db.conn()?, hash.as_str(), shown, ttl, &context, now)
    })
    .await?;
    let Some(given) = given else {
        return Ok(None);
    };
    let about = about_of(state, &given, language).await?;
    Ok(Some(AnsweredView {
        outcome: "sent",
        code: None,
        message: None,
        confirm_until: given
            .confirm_by
            .map(|by| language.moment(state.local_times.local(&about.departement, by))),
        aidant: Some(about.aidant),
        structure: Some(about.structure),
    }))
}

/// The person's « Je refuse » (`remote_consents::refuse`); `None` when nothing awaited them.
async fn decline(state: &AppState, answered: Answered) -> Result<Option<AnsweredView>, WebError> {
    let Answered { context, token, .. } = answered;
    let (db, hash, now) = (state.db.clone(), token.hash(), state.clock.now());
    let refused =
        blocking(move || remote_consents::refuse(&mut *db.conn()?, hash.as_str(), &context, now))
            .await?;
    Ok(refused.map(|_| AnsweredView {
        outcome: "refused",
        code: None,
        message: None,
        aidant: None,
        structure: None,
        confirm_until: None,
    }))
}
