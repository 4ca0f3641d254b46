//! « Mes avis »: the person chooses how they hear of what is done in their name (each use, a
//! weekly digest, never) and where (an e-mail address, stored sealed; shown back masked). Keyed
//! by the session's pseudonym; journaled without the address.

use ac_mandates::Email;
use ac_storage::receipts::{self, Choice, Sealer};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::Deserialize;

use super::{SignedIn, signed_in};
use crate::i18n::PageLanguage;
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

/// The form with the person's current choice.
async fn render(
    state: &AppState,
    current: &SignedIn,
    language: &PageLanguage,
    status: HttpResponseBuilder,
    saved: bool,
    error: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let (db, subject) = (state.db.clone(), current.subject().to_owned());
    let stored = blocking(move || {
        let conn = &mut *db.conn()?;
        match receipts::usager_of_subject(conn, &subject)? {
            Some(usager) => receipts::preference(conn, &usager),
            None => Ok(None),
        }
    })
    .await?;
    let chosen = stored.as_ref().map_or(Choice::Never, |p| p.choice);
    let choices: Vec<serde_json::Value> = Choice::ALL
        .iter()
        .map(|c| serde_json::json!({ "key": c.key(), "checked": *c == chosen }))
        .collect();
    let view = serde_json::json!({
        "csrf": current.csrf(),
        "choices": choices,
        "masked": stored.and_then(|p| p.email_masked),
        "saved": saved,
        "error": error,
    });
    let body = state
        .templates
        .render_in(&language.view(), "aide/notifications.html", &view)?;
    Ok(super::pages::private(page(status, body)))
}

pub(crate) async fn notifications_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let Some(current) = signed_in(&state, &req).await? else {
        return Ok(see_other("/mon-espace").finish());
    };
    render(
        &state,
        &current,
        &PageLanguage::of(&req),
        HttpResponse::Ok(),
        false,
        None,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct Form {
    csrf: String,
    choix: Option<String>,
    courriel: Option<String>,
}

impl Form {
    /// The choice and the address typed (none when left empty), or what is wrong with them.
    fn read(&self) -> Result<(Choice, Option<Email>), &'static str> {
        let Some(choice) = self.choix.as_deref().and_then(Choice::from_key) else {
            return Err("Choisissez quand recevoir un reçu.");
        };
        let typed = self.courriel.as_deref().map(str::trim).unwrap_or_default();
        if typed.is_empty() {
            return Ok((choice, None));
        }
        match typed.parse() {
            Ok(email) => Ok((choice, Some(email))),
            Err(_) => Err("Cette adresse électronique n'a pas la bonne forme."),
        }
    }
}

/// The person's choice stored (the address sealed), journaled; false when the choice needs an
/// address and none was given.
async fn store(
    state: &AppState,
    current: &SignedIn,
    req: &HttpRequest,
    choice: Choice,
    email: Option<Email>,
) -> Result<bool, WebError> {
    let (db, subject, now, context, auth) = (
        state.db.clone(),
        current.subject().to_owned(),
        state.clock.now(),
        current.audit_context(req),
        state.auth.clone(),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        let usager = receipts::usager_of_subject(conn, &subject)?
            .ok_or(ac_storage::StorageError::NotFound)?;
        let sealer = Sealer {
            keys: &auth.keys,
            rng: auth.rng(),
        };
        match receipts::set_preference(conn, sealer, &usager, choice, email.as_ref(), &context, now)
        {
            Ok(()) => Ok(true),
            Err(ac_storage::StorageError::Field(_)) => Ok(false),
            Err(other) => Err(other),
        }
    })
    .await
}

pub(crate) async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Form>,
) -> Result<HttpResponse, WebError> {
    let Some(current) = signed_in(&state, &req).await? else {
        return Ok(see_other("/mon-espace").finish());
    };
    current.check_csrf(&form.csrf)?;
    let language = PageLanguage::of(&req);
    let invalid = |message| {
        render(
            &state,
            &current,
            &language,
            HttpResponse::UnprocessableEntity(),
            false,
            Some(message),
        )
    };
    let (choice, email) = match form.read() {
        Ok(read) => read,
        Err(message) => return invalid(message).await,
    };
    if store(&state, &current, &req, choice, email).await? {
        render(
            &state,
            &current,
            &PageLanguage::of(&req),
            HttpResponse::Ok(),
            true,
            None,
        )
        .await
    } else {
        invalid("Pour recevoir des reçus, donnez une adresse électronique.").await
    }
}
