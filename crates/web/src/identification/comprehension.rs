//! The comprehension check on the recap (docs/domain.md, "Journeys" 2): between
//! reading the recap and the aidé's « Je donne mon accord », three questions, one per screen,
//! each answered by tapping one of three pictured answers. The state waits server-side with the
//! pending consent (`mandate_consents`); `consent::accord` refuses a consent whose check was
//! neither passed nor skipped, and so does the storage layer in the transaction that uses the
//! consent up. What a page posts is read and checked by the kit's `comprehension` module.

use ac_auth::Token;
use ac_storage::mandate_consents::{self, PendingConsent};
use ac_storage::organisations;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use tracing::instrument;

use super::MandateDraft;
use super::consent::{posted_consent, recap_response};
use crate::auth::CurrentAidant;
use crate::comprehension::{self, Facts, Moved, QuestionView};
use crate::i18n::LanguageView;
use crate::reading::{Reading, text_key};
use crate::respond::{blocking, page};
use crate::{AppState, WebError};

#[derive(Serialize)]
struct PageView {
    csrf: String,
    token: String,
    /// The text shown on the recap (`complet`/`facile`), carried back to it (the language too,
    /// as the page's own `lang`).
    texte: String,
    check: QuestionView,
    identified: bool,
}

/// `POST /mandats/accord/questions`: nothing answered shows the current question; an answer
/// moves the check (a wrong one shows its explanation and asks again); « Passer » ends it after
/// an explanation. Once the check is over, the recap comes back with the accord form.
#[instrument(skip_all)]
pub(crate) async fn questions(
    state: web::Data<AppState>,
    current: CurrentAidant,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let (token, pending) = posted_consent(&state, &current, |name| field(name).to_owned()).await?;
    let shown = Reading::posted(|name| field(name).to_owned());
    let posted = comprehension::read(field("question"), field("reponse"), field("passer"))?;
    let mut moved = comprehension::apply(pending.comprehension, posted)?;
    let mut pending = pending;
    if moved.after != moved.before {
        let (db, hash, aidant, now) = (
            state.db.clone(),
            token.hash(),
            current.aidant.id.clone(),
            state.clock.now(),
        );
        let (before, after) = (moved.before, moved.after);
        let saved = blocking(move || {
            mandate_consents::save_check(
                &mut *db.conn()?,
                hash.as_str(),
                &aidant,
                before,
                after,
                now,
            )
        })
        .await?;
        if !saved {
            // Moved meanwhile (a double tap): the state as it is now, nothing counted twice.
            let (_, fresh) =
                posted_consent(&state, &current, |name| field(name).to_owned()).await?;
            moved = Moved::unchanged(fresh.comprehension);
            pending = fresh;
        }
    }
    pending.comprehension = moved.after;
    if pending.comprehension.outcome().is_some() {
        return recap_response(
            &state,
            &current,
            &token,
            pending,
            shown,
            None,
            HttpResponse::Ok(),
        )
        .await;
    }
    question_page(&state, &current, &token, &pending, &moved, shown).await
}

/// The page of the current question.
async fn question_page(
    state: &AppState,
    current: &CurrentAidant,
    token: &Token,
    pending: &PendingConsent,
    moved: &Moved,
    reading: Reading,
) -> Result<HttpResponse, WebError> {
    let draft: MandateDraft = serde_json::from_str(&pending.draft).map_err(WebError::internal)?;
    let duration = draft
        .duration
        .ok_or_else(|| WebError::internal("pending consent without a duration"))?;
    let (db, organisation_id) = (state.db.clone(), pending.organisation.clone());
    let organisation =
        blocking(move || organisations::get(&mut *db.conn()?, &organisation_id)).await?;
    let facts = Facts::new(
        &state.local_times,
        &organisation.name,
        organisation.departement.as_str(),
        duration,
        state.clock.now(),
        reading.language,
    )?;
    let hash = token.hash();
    let check = comprehension::view(moved, facts, hash.as_str().as_bytes())
        .ok_or_else(|| WebError::internal("comprehension page for a finished check"))?;
    let view = PageView {
        csrf: current.csrf_token(),
        token: token.expose().to_owned(),
        texte: text_key(reading.text).to_owned(),
        check,
        identified: pending.identification
            == ac_storage::mandate_consents::Identification::FranceConnect,
    };
    Ok(page(
        HttpResponse::Ok(),
        state.templates.render_for_in(
            &current.menu(),
            &LanguageView::new(reading.language, None),
            "identification/comprehension.html",
            &view,
        )?,
    ))
}
