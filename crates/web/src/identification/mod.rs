//! Identifying the aidé with their own FranceConnect account (docs/domain.md, "Journeys" 2).
//!
//! The aidant starts it from the mandate form; the aidé signs in at the provider; every check of
//! the answer is `ac_oidc::rp`'s; the usager is created or refreshed under a keyed pseudonym (with
//! its journal entries); then the aidé's FranceConnect session is closed at once, because the
//! tablet is shared. The pending login and logout live in the database, bound to the aidant's
//! session and used once, so any app node can serve the provider's return.

use ac_auth::Secret;
use ac_config::{FranceConnectVersion, Settings, secret_file};
use ac_mandates::{Demarche, MandateDuration, MandateId, UsagerId};
use ac_oidc::rp::{
    CallbackParams, HttpSettings, PendingLogin, PendingLogout, ProtocolVersion, RelyingParty,
    RpConfig, state_key,
};
use ac_oidc::{Acr, OidcError, PseudonymKey, SigningAlg};
use ac_storage::franceconnect_logins::{self, Kind};
use ac_storage::mandate_consents::Identification;
use ac_storage::usagers;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tracing::instrument;

use crate::auth::{CurrentAidant, RecentStepUp};
use crate::error::Said;
use crate::mandate_copy::written_date;
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError, security};

pub(crate) mod comprehension;
pub(crate) mod consent;
pub(crate) mod print;
pub(crate) mod refusal;
pub(crate) mod renewal;
pub(crate) mod revocation;
pub(crate) mod verification;

/// How old an id_token's `iat` may be when we check it: FranceConnect tokens are used at once.
const MAX_TOKEN_AGE: Duration = Duration::from_secs(600);

/// The relying party, discovered on first use (the demonstration provider is served by this very
/// server, which is not listening yet at start-up) and kept; a failed discovery is retried.
pub struct FranceConnect {
    settings: ac_config::FranceConnectSettings,
    public_url: String,
    dev_mode: bool,
    client_secret: Secret,
    pseudonym_key: Secret,
    provider_origin: String,
    relying_party: tokio::sync::OnceCell<Arc<RelyingParty>>,
    /// The same client, returning to the aidé's own space (`/mon-espace`).
    aide_relying_party: tokio::sync::OnceCell<Arc<RelyingParty>>,
    /// The same client, returning to the person's own phone for a consent at a distance.
    remote_relying_party: tokio::sync::OnceCell<Arc<RelyingParty>>,
}

impl fmt::Debug for FranceConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FranceConnect")
            .field("provider_origin", &self.provider_origin)
            .finish_non_exhaustive()
    }
}

fn config_error(e: impl fmt::Display) -> WebError {
    WebError::Internal(format!("franceconnect: {e}"))
}

impl FranceConnect {
    /// Reads the client secret and the pseudonym key (created in dev mode when missing).
    pub fn from_settings(settings: &Settings) -> Result<Self, WebError> {
        let fc = &settings.franceconnect;
        let public_url = settings.server.public_url.clone();
        let client_secret = fc.client_secret().map_err(config_error)?;
        let (key, _) =
            secret_file::read_or_create(&fc.pseudonym_key_file, fc.generate_missing_key, || {
                PseudonymKey::generate_text(&ring::rand::SystemRandom::new())
                    .map_err(|e| e.to_string())
            })
            .map_err(config_error)?;
        PseudonymKey::from_text(&key)
            .ok_or_else(|| config_error("clé de pseudonymisation illisible"))?;
        let issuer = url::Url::parse(&fc.issuer_url(&public_url)).map_err(config_error)?;
        Ok(Self {
            settings: fc.clone(),
            dev_mode: settings.server.dev_mode,
            client_secret: Secret::new(client_secret.into_bytes()),
            pseudonym_key: Secret::new(key.into_bytes()),
            provider_origin: issuer.origin().ascii_serialization(),
            public_url,
            relying_party: tokio::sync::OnceCell::new(),
            aide_relying_party: tokio::sync::OnceCell::new(),
            remote_relying_party: tokio::sync::OnceCell::new(),
        })
    }

    /// How this relying party names the people of the demonstration provider, so that the pilot
    /// `demo load` writes holds the usagers they become when they sign in there.
    #[cfg(feature = "demo")]
    pub fn demo_pseudonyms(&self) -> Result<ac_demo::Pseudonyms, WebError> {
        let key_text = std::str::from_utf8(self.pseudonym_key.expose()).map_err(config_error)?;
        Ok(ac_demo::Pseudonyms {
            key: PseudonymKey::from_text(key_text)
                .ok_or_else(|| config_error("clé de pseudonymisation illisible"))?,
            issuer: self.settings.issuer_url(&self.public_url),
            client_id: self.settings.client_id.clone(),
        })
    }

    /// The relying party's settings, returning to `returns` (redirect URI, post-logout URI).
    fn rp_config(&self, returns: Returns) -> Result<RpConfig, WebError> {
        let fc = &self.settings;
        let algorithms = fc
            .algorithms
            .iter()
            .map(|a| {
                a.parse::<SigningAlg>()
                    .map_err(|()| config_error(format!("algorithme inconnu {a}")))
            })
            .collect::<Result<_, _>>()?;
        let key_text = std::str::from_utf8(self.pseudonym_key.expose()).map_err(config_error)?;
        Ok(RpConfig {
            issuer: fc.issuer_url(&self.public_url),
            client_id: fc.client_id.clone(),
            client_secret: Secret::new(self.client_secret.expose().to_vec()),
            version: match fc.version {
                FranceConnectVersion::V2 => ProtocolVersion::V2,
                FranceConnectVersion::V1 => ProtocolVersion::V1Legacy,
            },
            algorithms,
            acr: fc
                .acr
                .parse::<Acr>()
                .map_err(|()| config_error("acr inconnu"))?,
            scopes: fc.scopes.clone(),
            redirect_uri: match returns {
                Returns::MandateJourney => fc.redirect_url(&self.public_url),
                Returns::AideSpace => fc.aide_redirect_url(&self.public_url),
                Returns::RemoteConsent => fc.remote_redirect_url(&self.public_url),
            },
            post_logout_redirect_uri: match returns {
                Returns::MandateJourney => fc.post_logout_redirect_url(&self.public_url),
                // The remote consent never logs out (the person's own phone): unused there.
                Returns::AideSpace | Returns::RemoteConsent => {
                    fc.aide_post_logout_redirect_url(&self.public_url)
                }
            },
            pseudonym_key: PseudonymKey::from_text(key_text)
                .ok_or_else(|| config_error("clé de pseudonymisation illisible"))?,
            http: HttpSettings {
                connect_timeout: fc.connect_timeout.unsigned_abs(),
                timeout: fc.timeout.unsigned_abs(),
                // Plain HTTP only for the demonstration provider on a developer's machine.
                allow_http: self.dev_mode,
            },
            leeway: fc.clock_leeway.unsigned_abs(),
            max_token_age: MAX_TOKEN_AGE,
            login_ttl: fc.login_ttl.unsigned_abs(),
            jwks_max_age: fc.jwks_max_age.unsigned_abs(),
        })
    }

    async fn relying_party(&self, now: OffsetDateTime) -> Result<Arc<RelyingParty>, OidcError> {
        self.discovered(&self.relying_party, Returns::MandateJourney, now)
            .await
    }

    /// The relying party of the aidé's own space: same client, same checks, its own returns.
    pub(crate) async fn aide_relying_party(
        &self,
        now: OffsetDateTime,
    ) -> Result<Arc<RelyingParty>, OidcError> {
        self.discovered(&self.aide_relying_party, Returns::AideSpace, now)
            .await
    }

    /// The relying party of a consent at a distance, on the person's own phone.
    pub(crate) async fn remote_relying_party(
        &self,
        now: OffsetDateTime,
    ) -> Result<Arc<RelyingParty>, OidcError> {
        self.discovered(&self.remote_relying_party, Returns::RemoteConsent, now)
            .await
    }

    async fn discovered(
        &self,
        cell: &tokio::sync::OnceCell<Arc<RelyingParty>>,
        returns: Returns,
        now: OffsetDateTime,
    ) -> Result<Arc<RelyingParty>, OidcError> {
        cell.get_or_try_init(|| async {
            let config = self
                .rp_config(returns)
                .map_err(|e| OidcError::Config(e.to_string()))?;
            RelyingParty::discover(config, now).await.map(Arc::new)
        })
        .await
        .cloned()
    }

    /// The provider's origin, which the page sending a browser there allows in `form-action`.
    pub(crate) fn provider_origin(&self) -> &str {
        &self.provider_origin
    }

    pub(crate) fn login_ttl(&self) -> time::Duration {
        self.settings.login_ttl
    }
}

/// Where the provider sends the browser back: both are registered at the provider.
#[derive(Debug, Clone, Copy)]
enum Returns {
    MandateJourney,
    AideSpace,
    RemoteConsent,
}

/// The mandate choices the identification is for, kept across the provider's round trip so that
/// the aidant comes back to them whatever happens there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateDraft {
    pub demarches: Vec<Demarche>,
    pub duration: Option<MandateDuration>,
    /// For a renewal, the mandate renewed: set by the server once it checked the mandate is the
    /// structure's, never read from a form ([`Self::from_pairs`] ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_of: Option<MandateId>,
}

impl MandateDraft {
    /// From form or query pairs: `demarche` (repeated) and `duree` (days). Unknown keys are
    /// ignored; unknown values are refused.
    fn from_pairs<'a>(
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<Self, WebError> {
        let mut draft = MandateDraft::default();
        for (key, value) in pairs {
            match key.as_ref() {
                "demarche" => {
                    let d: Demarche = value.parse().map_err(invalid_choice)?;
                    if !draft.demarches.contains(&d) {
                        draft.demarches.push(d);
                    }
                }
                "duree" => {
                    let days: u16 = value
                        .parse()
                        .map_err(|_| invalid_choice(ac_mandates::FieldError::UnknownDuration))?;
                    draft.duration =
                        Some(MandateDuration::from_days(days).map_err(invalid_choice)?);
                }
                _ => {}
            }
        }
        draft.demarches.sort_unstable();
        Ok(draft)
    }

    fn is_complete(&self) -> bool {
        !self.demarches.is_empty() && self.duration.is_some()
    }
}

fn invalid_choice(e: ac_mandates::FieldError) -> WebError {
    WebError::invalid(e)
}

#[derive(Serialize, Deserialize)]
struct LoginPayload {
    pending: PendingLogin,
    draft: MandateDraft,
}

#[derive(Serialize, Deserialize)]
struct LogoutPayload {
    pending: PendingLogout,
    usager: UsagerId,
    draft: MandateDraft,
}

#[derive(Serialize)]
struct DemarcheView {
    key: &'static str,
    title: &'static str,
    examples: &'static str,
    dictation_warning: bool,
}

#[derive(Serialize)]
struct DraftView {
    demarches: Vec<DemarcheView>,
    duration_days: Option<u16>,
    duration_label: Option<&'static str>,
}

fn draft_view(draft: &MandateDraft) -> DraftView {
    DraftView {
        demarches: draft
            .demarches
            .iter()
            .map(|d| DemarcheView {
                key: d.key(),
                title: d.title(),
                examples: d.examples(),
                dictation_warning: d.needs_dictation_warning(),
            })
            .collect(),
        duration_days: draft.duration.map(MandateDuration::days),
        duration_label: draft.duration.map(MandateDuration::label),
    }
}

#[derive(Serialize)]
struct StartView<'a> {
    csrf: String,
    draft: DraftView,
    complete: bool,
    error: Option<Said>,
    /// The request id, shown with a refusal and logged with its cause, so a person can quote it.
    reference: Option<String>,
    organisation: &'a str,
    /// The mandate's end, written out as the aidé reads it.
    until: Option<String>,
    /// Where the button posts the choices.
    action: String,
    /// The button leads to FranceConnect (else, a renewal the structure lets go without a new
    /// identification, straight to the recap).
    identify: bool,
    renewal: bool,
}

/// A refusal shown on the aidé's screen: its code and its French message.
type ScreenError = Said;

fn oidc_refusal(e: &OidcError) -> ScreenError {
    Said::of(e)
}

/// The page with the "Je m'identifie avec FranceConnect" button. Its form ends in a redirect to
/// the provider, which Chromium checks against `form-action`: this page alone also allows the
/// provider's origin there.
async fn start_response(
    state: &AppState,
    current: &CurrentAidant,
    draft: &MandateDraft,
    error: Option<ScreenError>,
    status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let (db, id) = (
        state.db.clone(),
        current.aidant.current_organisation.clone(),
    );
    let organisation =
        blocking(move || ac_storage::organisations::get(&mut *db.conn()?, &id)).await?;
    let reference = current
        .audit_context()
        .request_id
        .filter(|_| error.is_some());
    if let Some(refusal) = &error {
        tracing::warn!(
            code = refusal.code(),
            message = %refusal.words(),
            reference = reference.as_deref().unwrap_or_default(),
            "identification page shown with a refusal"
        );
    }
    let view = StartView {
        csrf: current.csrf_token(),
        draft: draft_view(draft),
        complete: draft.is_complete(),
        error,
        reference,
        organisation: &organisation.name,
        until: draft.duration.map(|d| {
            written_date(
                &state.local_times,
                organisation.departement.as_str(),
                d.expiry(state.clock.now()),
            )
        }),
        action: match &draft.renewal_of {
            Some(id) => format!("/mandats/{id}/renouveler"),
            None => "/mandats/franceconnect".to_owned(),
        },
        identify: draft.renewal_of.is_none() || organisation.renewal_requires_identification,
        renewal: draft.renewal_of.is_some(),
    };
    let body = state
        .templates
        .render_for(&current.menu(), "identification/start.html", &view)?;
    let mut response = page(status, body);
    let csp = security::csp_with_form_action(&state.franceconnect.provider_origin);
    if let Ok(value) = header::HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

pub(crate) async fn start_page(
    state: web::Data<AppState>,
    current: RecentStepUp,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let draft =
        MandateDraft::from_pairs(url::form_urlencoded::parse(req.query_string().as_bytes()))?;
    if let Some(refusal) = not_allowed(&state, &current.0, &draft).await? {
        return start_response(
            &state,
            &current.0,
            &draft,
            Some(refusal),
            HttpResponse::UnprocessableEntity(),
        )
        .await;
    }
    start_response(&state, &current.0, &draft, None, HttpResponse::Ok()).await
}

/// A démarche the structure does not allow (a tampered address, or one the référent removed
/// since the choice was made), refused before the aidé goes to FranceConnect rather than after
/// their identification and tick.
async fn not_allowed(
    state: &AppState,
    current: &CurrentAidant,
    draft: &MandateDraft,
) -> Result<Option<ScreenError>, WebError> {
    let (db, id) = (
        state.db.clone(),
        current.aidant.current_organisation.clone(),
    );
    let organisation =
        blocking(move || ac_storage::organisations::get(&mut *db.conn()?, &id)).await?;
    Ok(draft
        .demarches
        .iter()
        .find(|d| !organisation.allowed_demarches.contains(d))
        .map(|d| {
            Said::from(ac_mandates::MandateError::DemarcheNotAllowed(*d))
                .then("Retirez-la, ou demandez à votre référent de l'ajouter.")
        }))
}

/// The browser binding of a pending identification: the hash of the aidant's session id, so a
/// `state` carried to another browser (or session) is refused.
fn binding(current: &CurrentAidant) -> String {
    current.session_hash().as_str().to_owned()
}

#[instrument(skip_all)]
pub(crate) async fn begin(
    state: web::Data<AppState>,
    current: RecentStepUp,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let current = current.0;
    let draft = posted_draft(&current, &body)?;
    begin_identification(&state, &current, draft).await
}

/// The choices posted from the aidé's screen, with their CSRF token checked.
fn posted_draft(current: &CurrentAidant, body: &[u8]) -> Result<MandateDraft, WebError> {
    let pairs: Vec<_> = url::form_urlencoded::parse(body).collect();
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    current.check_csrf(&csrf)?;
    let draft = MandateDraft::from_pairs(pairs.into_iter())?;
    if !draft.is_complete() {
        return Err(WebError::invalid(
            ac_mandates::JourneyRefusal::IncompleteChoice,
        ));
    }
    Ok(draft)
}

/// Sends the aidé to FranceConnect; the choices (and the mandate renewed, if any) wait
/// server-side for the return.
async fn begin_identification(
    state: &AppState,
    current: &CurrentAidant,
    draft: MandateDraft,
) -> Result<HttpResponse, WebError> {
    if let Some(refusal) = not_allowed(state, current, &draft).await? {
        return start_response(
            state,
            current,
            &draft,
            Some(refusal),
            HttpResponse::UnprocessableEntity(),
        )
        .await;
    }
    let now = state.clock.now();
    let unavailable = async |e: OidcError| {
        let refusal = Some(oidc_refusal(&e));
        let status = HttpResponse::ServiceUnavailable();
        start_response(state, current, &draft, refusal, status).await
    };
    let rp = match state.franceconnect.relying_party(now).await {
        Ok(rp) => rp,
        Err(e) => {
            // The cause (which step, which error) goes to the log only; the page says OIDC002.
            tracing::error!(code = e.code(), error = ?e, "FranceConnect discovery failed");
            return unavailable(e).await;
        }
    };
    let (authorize, pending) = match rp.begin(None, &binding(current), now) {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(code = e.code(), error = ?e, "FranceConnect request not built");
            return unavailable(e).await;
        }
    };
    let key = pending.state_hash.clone();
    let payload =
        serde_json::to_string(&LoginPayload { pending, draft }).map_err(WebError::internal)?;
    keep_pending(state, current, key, Kind::Login, payload, now).await?;
    Ok(see_other(authorize.as_str()).finish())
}

/// A login or logout waiting for FranceConnect's return under its state's hash and the aidant,
/// for as long as a login may take; [`take_pending`] takes it back.
async fn keep_pending(
    state: &AppState,
    current: &CurrentAidant,
    key: String,
    kind: Kind,
    payload: String,
    now: OffsetDateTime,
) -> Result<(), WebError> {
    let (db, aidant, expires) = (
        state.db.clone(),
        current.aidant.id.clone(),
        now.saturating_add(state.franceconnect.login_ttl()),
    );
    blocking(move || {
        franceconnect_logins::insert(
            &mut *db.conn()?,
            &key,
            kind,
            &aidant,
            &payload,
            now,
            expires,
        )
    })
    .await
}

/// Takes the pending login or logout that `state` names, if it is this aidant's, expired or not
/// (the relying party's checks tell "too late" from "unknown"). Read and deleted in one
/// transaction: a `state` works once, on whichever node receives it.
async fn take_pending<T: serde::de::DeserializeOwned>(
    state: &AppState,
    current: &CurrentAidant,
    returned_state: Option<&str>,
    kind: Kind,
) -> Result<Option<T>, WebError> {
    let Some(key) = returned_state.and_then(state_key) else {
        return Ok(None);
    };
    let (db, aidant) = (state.db.clone(), current.aidant.id.clone());
    let text =
        blocking(move || franceconnect_logins::take(&mut *db.conn()?, &key, kind, &aidant)).await?;
    Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
}

/// The provider's return (OIDC Core §3.1.2.5–6). Checks the state first (so a forged `error`
/// cannot cancel someone else's identification), then the code exchange and every token check,
/// then stores the usager and sends the browser to close the FranceConnect session.
#[instrument(skip_all)]
pub(crate) async fn callback(
    state: web::Data<AppState>,
    current: CurrentAidant,
    params: web::Query<CallbackParams>,
) -> Result<HttpResponse, WebError> {
    let params = params.into_inner();
    let now = state.clock.now();
    let stored: Option<LoginPayload> =
        take_pending(&state, &current, params.state.as_deref(), Kind::Login).await?;
    let draft = stored.as_ref().map(|s| s.draft.clone()).unwrap_or_default();
    let (state_ref, current_ref, draft_ref) = (&state, &current, &draft);
    let refuse = |e: OidcError| async move {
        tracing::warn!(code = e.code(), error = %e, "identification FranceConnect refusée");
        start_response(
            state_ref,
            current_ref,
            draft_ref,
            Some(oidc_refusal(&e)),
            HttpResponse::BadRequest(),
        )
        .await
    };
    let rp = match state.franceconnect.relying_party(now).await {
        Ok(rp) => rp,
        Err(e) => return refuse(e).await,
    };
    let pending = stored.as_ref().map(|s| &s.pending);
    let identification = match rp.identify(&params, pending, &binding(&current), now).await {
        Ok(identification) => identification,
        Err(e) => return refuse(e).await,
    };
    let Some(stored) = stored else {
        return refuse(OidcError::StateUnknown).await;
    };
    let (db, context, subject, identity) = (
        state.db.clone(),
        current.audit_context(),
        identification.subject.clone(),
        identification.identity.clone(),
    );
    let (usager, _) = blocking(move || {
        usagers::upsert_identified(&mut *db.conn()?, &subject, &identity, &context, now)
    })
    .await?;

    // Close the aidé's FranceConnect session before anything else (RP-Initiated Logout §2).
    let (logout, pending) =
        match rp.end_session(&identification.id_token_hint, &binding(&current), now) {
            Ok(redirect) => redirect,
            Err(e) => return refuse(e).await,
        };
    let payload = LogoutPayload {
        pending,
        usager: usager.id,
        draft: stored.draft,
    };
    keep_logout(&state, &current, &payload, now).await?;
    Ok(see_other(logout.as_str()).finish())
}

/// The logout waiting for FranceConnect's return, under its state's hash and the aidant, with
/// what the journey needs next (the usager, the draft).
async fn keep_logout(
    state: &AppState,
    current: &CurrentAidant,
    payload: &LogoutPayload,
    now: OffsetDateTime,
) -> Result<(), WebError> {
    let key = payload.pending.state_hash.clone();
    let text = serde_json::to_string(payload).map_err(WebError::internal)?;
    keep_pending(state, current, key, Kind::Logout, text, now).await
}

#[derive(Deserialize)]
pub(crate) struct LogoutReturn {
    state: Option<String>,
}

/// Back from the provider's logout: the state is checked, then the recap is shown for consent.
#[instrument(skip_all)]
pub(crate) async fn after_logout(
    state: web::Data<AppState>,
    current: CurrentAidant,
    query: web::Query<LogoutReturn>,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let returned = query.into_inner().state;
    let stored: Option<LogoutPayload> =
        take_pending(&state, &current, returned.as_deref(), Kind::Logout).await?;
    let rp = state
        .franceconnect
        .relying_party(now)
        .await
        .map_err(|e| WebError::Unavailable(e.to_string()))?;
    let refuse = async |draft: &MandateDraft, refusal, status| {
        start_response(&state, &current, draft, Some(refusal), status).await
    };
    if let Err(e) = rp.check_end_session_return(
        returned.as_deref(),
        stored.as_ref().map(|s| &s.pending),
        &binding(&current),
        now,
    ) {
        let draft = stored.map(|s| s.draft).unwrap_or_default();
        return refuse(&draft, oidc_refusal(&e), HttpResponse::BadRequest()).await;
    }
    let Some(stored) = stored else {
        let refusal = oidc_refusal(&OidcError::LogoutState);
        return refuse(
            &MandateDraft::default(),
            refusal,
            HttpResponse::BadRequest(),
        )
        .await;
    };
    if let Some(renewed) = &stored.draft.renewal_of
        && let Err(refusal) =
            renewal::check_same_person(&state, &current, renewed, &stored.usager).await?
    {
        return refuse(&stored.draft, refusal, HttpResponse::Conflict()).await;
    }
    consent::show_recap(
        &state,
        &current,
        stored.usager,
        &stored.draft,
        Identification::FranceConnect,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mandate_date_is_the_day_at_the_structure() {
        let times = ac_localtime::LocalTimes::load().unwrap();
        // 23:30 UTC is already the next day in Paris, still the same day in Guadeloupe.
        let late = time::macros::datetime!(2026-11-22 23:30 UTC);
        assert_eq!(written_date(&times, "29", late), "23 novembre 2026");
        assert_eq!(written_date(&times, "971", late), "22 novembre 2026");
        let first = time::macros::datetime!(2027-02-28 23:30 UTC);
        assert_eq!(written_date(&times, "75", first), "1er mars 2027");
    }
}
