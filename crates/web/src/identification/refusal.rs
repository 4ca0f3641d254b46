//! « Je refuse » and « Annuler » during a mandate creation (docs/domain.md, "Journeys" 2): on
//! the screen before FranceConnect and on the recap. Nothing is created; on the recap the pending
//! consent is used up and the identity fetched for it is forgotten when nothing else of the
//! person's is kept (`ac_storage::mandate_consents::refuse`); a `mandate.refused` entry, without
//! personal data, tells the structure's journal that a creation ended this way.

use std::collections::HashMap;

use ac_auth::Token;
use ac_storage::mandate_consents::{self, RefusalStep, RefusedBy};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use tracing::instrument;

use crate::auth::CurrentAidant;
use crate::respond::{blocking, page};
use crate::{AppState, WebError};

#[derive(Serialize)]
struct RefusedView {
    by_usager: bool,
    recap: bool,
    identity_forgotten: bool,
    renewal: bool,
}

fn malformed() -> WebError {
    WebError::invalid(ac_mandates::JourneyRefusal::IncompleteStop)
}

/// Ends the creation. The aidant's session suffices (no step-up): stopping must always be
/// possible, and it reveals nothing about the person.
#[instrument(skip_all)]
pub(crate) async fn refuse(
    state: web::Data<AppState>,
    current: CurrentAidant,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    current.check_csrf(field("csrf"))?;
    let by = match field("par") {
        "usager" => RefusedBy::Usager,
        "aidant" => RefusedBy::Aidant,
        _ => return Err(malformed()),
    };
    let token = match field("etape") {
        "identification" => None,
        "recapitulatif" => Some(Token::parse(field("token")).ok_or_else(malformed)?),
        _ => return Err(malformed()),
    };
    let now = state.clock.now();
    let (db, hash, aidant, organisation, context) = (
        state.db.clone(),
        token.as_ref().map(Token::hash),
        current.aidant.id.clone(),
        current.aidant.current_organisation.clone(),
        current.audit_context(),
    );
    let refused = blocking(move || {
        let step = match &hash {
            Some(hash) => RefusalStep::Recap {
                token_hash: hash.as_str(),
            },
            None => RefusalStep::Identification,
        };
        mandate_consents::refuse(
            &mut *db.conn()?,
            step,
            by,
            &aidant,
            &organisation,
            &context,
            now,
        )
    })
    .await?;
    let Some(refused) = refused else {
        return Err(WebError::invalid(
            ac_mandates::JourneyRefusal::ValidationGone,
        ));
    };
    let view = RefusedView {
        by_usager: by == RefusedBy::Usager,
        recap: token.is_some(),
        identity_forgotten: refused.identity_forgotten,
        renewal: refused.renewal,
    };
    let body = state
        .templates
        .render_for(&current.menu(), "identification/refused.html", &view)?;
    Ok(page(HttpResponse::Ok(), body))
}
