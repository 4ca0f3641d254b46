//! The front channel's work, without HTTP: the interaction a page carries, the people an aidant
//! may act for, and the aidant's choice checked again entirely before the code is issued.
//! `selection.rs` parses the requests and renders these outcomes as pages and redirects.

use ac_auth::{SignInRefusal, Token, TokenHash};
use ac_mandates::{Demarche, OrganisationId, UsagerId};
use ac_oidc::op::{self, AuthorizationRequest, ChoiceRefusal, ErrorCode};
use ac_storage::oidc_grants::{self, CodeIssue, Delegation, Eligible, NewCode, Refused};
use actix_web::http::StatusCode;
use time::OffsetDateTime;

use super::find_client;
use super::interaction::Interaction;
use crate::auth::{CurrentAidant, StepUpCheck};
use crate::error::Said;
use crate::respond::blocking;
use crate::{AppState, WebError};

/// A refusal shown to the aidant, with a way back to the partner when there is a safe one.
#[derive(Debug)]
pub(super) struct Refusal {
    pub status: StatusCode,
    pub said: Said,
    pub back: Option<String>,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, said: impl Into<Said>) -> Self {
        Self {
            status,
            said: said.into(),
            back: None,
        }
    }

    /// The client is no longer registered (or disabled) since the request arrived.
    pub(super) fn unknown_client() -> Self {
        Self::new(StatusCode::BAD_REQUEST, op::PageRefusal::UnknownClient)
    }
}

/// The `access_denied` answer to the partner (RFC 6749 §4.1.2.1), as a link for the aidant.
pub(super) fn back_to_client(
    issuer: &str,
    request: &AuthorizationRequest,
    description: &'static str,
) -> String {
    request
        .error(ErrorCode::AccessDenied, description)
        .location(issuer)
}

/// A selection form or link that does not verify: the refusal is journaled.
pub(super) async fn tampered(
    state: &AppState,
    current: &CurrentAidant,
    client_id: Option<&str>,
    usager: Option<&UsagerId>,
    demarche: Option<Demarche>,
    reason: &'static str,
) -> Result<Refusal, WebError> {
    let (db, context, now) = (state.db.clone(), current.audit_context(), state.clock.now());
    let organisation = current.aidant.current_organisation.clone();
    let (client_id, usager) = (client_id.map(str::to_owned), usager.cloned());
    blocking(move || {
        oidc_grants::record_refusal(
            &mut *db.conn()?,
            &Refused {
                client_id: client_id.as_deref(),
                organisation: &organisation,
                usager: usager.as_ref(),
                demarche,
                reason,
            },
            &context,
            now,
        )
    })
    .await?;
    tracing::warn!(reason, "provider selection refused");
    Ok(Refusal::new(
        StatusCode::FORBIDDEN,
        ChoiceRefusal::NotCovered,
    ))
}

/// The interaction a link or form carries (sealed for this session), or its refusal.
pub(super) async fn open_interaction(
    state: &AppState,
    current: &CurrentAidant,
    sealed: &str,
    now: OffsetDateTime,
) -> Result<Result<Interaction, Refusal>, WebError> {
    let Some(interaction) = Interaction::open(sealed, current.token()) else {
        return Ok(Err(tampered(
            state,
            current,
            None,
            None,
            None,
            "tampered_interaction",
        )
        .await?));
    };
    if interaction.expired(now, state.provider.interaction_ttl) {
        let back = back_to_client(
            &state.provider.issuer,
            &interaction.request,
            "the aidant took too long",
        );
        return Ok(Err(Refusal {
            back: Some(back),
            ..Refusal::new(StatusCode::BAD_REQUEST, ChoiceRefusal::RequestExpired)
        }));
    }
    Ok(Ok(interaction))
}

/// The démarches the client may receive (the structure's allowed ones are applied by the
/// eligibility query itself).
pub(super) fn offered_demarches(request: &AuthorizationRequest) -> Vec<Demarche> {
    Demarche::ALL
        .into_iter()
        .filter(|d| request.allows(*d))
        .collect()
}

/// The people the structure may act for with one of `demarches` now (`only`: that one person).
pub(super) async fn eligible(
    state: &AppState,
    organisation: &OrganisationId,
    demarches: Vec<Demarche>,
    search: Option<String>,
    only: Option<UsagerId>,
    now: OffsetDateTime,
) -> Result<Vec<Eligible>, WebError> {
    let (db, organisation) = (state.db.clone(), organisation.clone());
    let limit = if only.is_some() {
        1
    } else {
        oidc_grants::LIST_MAX
    };
    blocking(move || {
        oidc_grants::eligible_usagers(
            &mut *db.conn()?,
            &organisation,
            &demarches,
            search.as_deref(),
            only.as_ref(),
            now,
            limit,
        )
    })
    .await
}

/// Whether this use needs the second factor now: `prompt=login` (or `max_age` exceeded)
/// without a sign-in or step-up since the request arrived, or a session idle past the step-up
/// delay. When not, the time of the last proof, for `auth_time`.
pub(super) fn proof_needed(
    interaction: &Interaction,
    current: &CurrentAidant,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if let Some(at) = interaction
        .fresh_auth_at
        .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok())
    {
        return Some(at);
    }
    let request = &interaction.request;
    let signed_in_at = OffsetDateTime::from_unix_timestamp(interaction.signed_in_at)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let too_old = request
        .max_age
        .is_some_and(|max| now - signed_in_at > time::Duration::seconds(i64::from(max)));
    (!(current.needs_step_up || request.prompt_login || too_old)).then_some(signed_in_at)
}

/// What the aidant sent from the démarche page.
#[derive(Debug)]
pub(super) struct ChoiceInput {
    /// The sealed interaction.
    pub sealed: String,
    pub usager: String,
    pub demarche: String,
    /// The second factor, when the page asked for it.
    pub code: Option<String>,
}

/// What the aidant's choice comes to.
#[derive(Debug)]
pub(super) enum ChoiceOutcome {
    /// Back to the partner with the code (RFC 6749 §4.1.2, RFC 9207 `iss`).
    Redirect(String),
    /// The démarche page again, with every démarche the person may be helped with, asking for
    /// the second factor (`error`: its code and French message).
    AskCode {
        interaction: Box<Interaction>,
        person: Eligible,
        error: Said,
        status: StatusCode,
    },
    Refused(Refusal),
    /// The device locked on this attempt: every session of the aidant is over.
    SessionEnded,
}

/// The aidant's choice: checked again entirely (interaction, person, démarche, second factor
/// when due, through `step_up`), then the code is issued if `can_act` allows it.
pub(super) async fn choose(
    state: &AppState,
    current: &CurrentAidant,
    input: ChoiceInput,
    step_up: impl AsyncFnOnce(&str) -> Result<StepUpCheck, WebError>,
    now: OffsetDateTime,
) -> Result<ChoiceOutcome, WebError> {
    let interaction = match open_interaction(state, current, &input.sealed, now).await? {
        Ok(interaction) => interaction,
        Err(refusal) => return Ok(ChoiceOutcome::Refused(refusal)),
    };
    let usager = UsagerId::new(input.usager.chars().take(64).collect::<String>());
    let (demarche, person) =
        match checked_choice(state, current, &interaction, &usager, &input.demarche, now).await? {
            Ok(chosen) => chosen,
            Err(refusal) => return Ok(ChoiceOutcome::Refused(refusal)),
        };
    let auth_time = match proof(&interaction, current, input.code, step_up, now).await? {
        Proof::Given(at) => at,
        Proof::SessionEnded => return Ok(ChoiceOutcome::SessionEnded),
        Proof::Wanted(error, status) => {
            // The page again, with every démarche the person may be helped with.
            let demarches = offered_demarches(&interaction.request);
            let organisation = &current.aidant.current_organisation;
            let all = eligible(state, organisation, demarches, None, Some(usager), now).await?;
            return Ok(ChoiceOutcome::AskCode {
                person: all.into_iter().next().unwrap_or(person),
                interaction: Box::new(interaction),
                error,
                status,
            });
        }
    };
    issue(
        state,
        current,
        &interaction,
        &person.usager_id,
        demarche,
        auth_time,
        now,
    )
    .await
}

/// The démarche and the person chosen, checked against the request and against whom the
/// aidant's structure may act for; anything else is tampering, refused and journaled.
async fn checked_choice(
    state: &AppState,
    current: &CurrentAidant,
    interaction: &Interaction,
    usager: &UsagerId,
    demarche: &str,
    now: OffsetDateTime,
) -> Result<Result<(Demarche, Eligible), Refusal>, WebError> {
    let request = &interaction.request;
    let refuse = async |demarche, reason| {
        let client_id = Some(request.client_id.as_str());
        tampered(state, current, client_id, Some(usager), demarche, reason)
            .await
            .map(Err)
    };
    let Ok(demarche) = demarche.parse::<Demarche>() else {
        return refuse(None, "unknown_demarche").await;
    };
    if !request.allows(demarche) {
        return refuse(Some(demarche), "outside_rep_scope").await;
    }
    let organisation = &current.aidant.current_organisation;
    let found = eligible(
        state,
        organisation,
        vec![demarche],
        None,
        Some(usager.clone()),
        now,
    )
    .await?;
    match found.into_iter().next() {
        Some(person) => Ok(Ok((demarche, person))),
        None => refuse(Some(demarche), "usager_not_offered").await,
    }
}

/// Where the second factor stands for a choice.
enum Proof {
    /// Not due, or typed and accepted: the time of the last proof, for `auth_time`.
    Given(OffsetDateTime),
    /// Due and missing, refused or rate limited: the code and message to show, and the status.
    Wanted(Said, StatusCode),
    /// The device locked on this attempt.
    SessionEnded,
}

/// The second factor when `proof_needed` says it is due, checked by `step_up`.
async fn proof(
    interaction: &Interaction,
    current: &CurrentAidant,
    code: Option<String>,
    step_up: impl AsyncFnOnce(&str) -> Result<StepUpCheck, WebError>,
    now: OffsetDateTime,
) -> Result<Proof, WebError> {
    if let Some(at) = proof_needed(interaction, current, now) {
        return Ok(Proof::Given(at));
    }
    let code = code.unwrap_or_default();
    if code.trim().is_empty() {
        return Ok(Proof::Wanted(
            ChoiceRefusal::CodeMissing.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    Ok(match step_up(&code).await? {
        StepUpCheck::Accepted => Proof::Given(now),
        StepUpCheck::RateLimited => Proof::Wanted(
            SignInRefusal::TooManyAttempts.into(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        StepUpCheck::Refused => Proof::Wanted(
            SignInRefusal::CodeRefused.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        StepUpCheck::SessionEnded => Proof::SessionEnded,
    })
}

/// The code for the choice, with its `delegation.started` entry, if `can_act` allows it.
async fn issue(
    state: &AppState,
    current: &CurrentAidant,
    interaction: &Interaction,
    usager: &UsagerId,
    demarche: Demarche,
    auth_time: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<ChoiceOutcome, WebError> {
    let provider = state.provider.clone();
    let request = interaction.request.clone();
    if find_client(state, Some(&request.client_id))
        .await?
        .is_none()
    {
        return Ok(ChoiceOutcome::Refused(Refusal::unknown_client()));
    }
    let code = Token::generate(provider.rng()).map_err(WebError::internal)?;
    let chosen = (usager, demarche);
    let issued = store_code(
        state,
        current,
        interaction,
        chosen,
        code.hash(),
        auth_time,
        now,
    )
    .await?;
    Ok(match issued {
        CodeIssue::Issued(_) => ChoiceOutcome::Redirect(op::code_location(
            &request.redirect_uri,
            code.expose(),
            request.state.as_deref(),
            &provider.issuer,
        )),
        CodeIssue::AlreadyAnswered => {
            ChoiceOutcome::Refused(already_answered(state, current, &request, usager).await?)
        }
        CodeIssue::Refused(refusal) => ChoiceOutcome::Refused(Refusal {
            status: StatusCode::FORBIDDEN,
            said: Said::from(refusal).then("Le refus est enregistré."),
            back: Some(back_to_client(
                &provider.issuer,
                &request,
                "no mandate covers this use",
            )),
        }),
    })
}

/// The code stored with its delegation, under the rules' check (`can_act`) and journaled: the
/// storage's answer says whether it was issued, refused or already answered.
async fn store_code(
    state: &AppState,
    current: &CurrentAidant,
    interaction: &Interaction,
    (usager, demarche): (&UsagerId, Demarche),
    hash: TokenHash,
    auth_time: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<CodeIssue, WebError> {
    let provider = &state.provider;
    let (db, session, context) = (
        state.db.clone(),
        current.session_hash(),
        current.audit_context(),
    );
    let (aidant, organisation, usager_id) = (
        current.aidant.id.clone(),
        current.aidant.current_organisation.clone(),
        usager.clone(),
    );
    let expires_at = now.saturating_add(provider.code_ttl);
    let stored = interaction.request.clone();
    let interaction_id = interaction.id.clone();
    let interaction_expires_at = interaction.expires_at(provider.interaction_ttl);
    blocking(move || {
        oidc_grants::issue_code(
            &mut *db.conn()?,
            &Delegation {
                aidant: &aidant,
                organisation: &organisation,
                usager: &usager_id,
                demarche,
            },
            &NewCode {
                code_hash: &hash,
                client_id: &stored.client_id,
                redirect_uri: &stored.redirect_uri,
                code_challenge: stored.code_challenge.as_deref(),
                nonce: stored.nonce.as_deref(),
                scopes: &stored.scopes,
                rep_scope_claim: stored.wants_rep_scope,
                auth_time,
                acr: stored.acr.as_str(),
                expires_at,
                interaction_id: &interaction_id,
                interaction_expires_at,
            },
            &session,
            &context,
            now,
        )
    })
    .await
}

/// A second submission of a request's choice (double click, back button, replay): the partner
/// already has this request's answer, so no second code and no way back with another answer.
/// Journaled like the other refusals of the selection.
async fn already_answered(
    state: &AppState,
    current: &CurrentAidant,
    request: &AuthorizationRequest,
    usager: &UsagerId,
) -> Result<Refusal, WebError> {
    let (db, context, now) = (state.db.clone(), current.audit_context(), state.clock.now());
    let organisation = current.aidant.current_organisation.clone();
    let (client_id, usager) = (request.client_id.clone(), usager.clone());
    blocking(move || {
        oidc_grants::record_refusal(
            &mut *db.conn()?,
            &Refused {
                client_id: Some(&client_id),
                organisation: &organisation,
                usager: Some(&usager),
                demarche: None,
                reason: "request_already_answered",
            },
            &context,
            now,
        )
    })
    .await?;
    Ok(Refusal::new(
        StatusCode::CONFLICT,
        ChoiceRefusal::AlreadySent,
    ))
}
