//! The aidant's side of a consent at a distance: the form that sends the link, the list of
//! their remote consents with where each stands, and the TOTP confirmation that creates the
//! mandate once the person consented (docs/domain.md "Journeys" 2b).

use std::collections::HashMap;

use ac_auth::{Token, TokenHash};
use ac_localtime::Format;
use ac_mandates::{Demarche, Email, JourneyRefusal, MandateDuration, Organisation};
use ac_storage::journal::AuditContext;
use ac_storage::rate_limits::{self, Limit};
use ac_storage::remote_consents::{
    self, Channel, NewRemoteConsent, NotConfirmed, RemoteConsent, Status,
};
use ac_storage::{organisations, usagers};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::instrument;

use super::{Choices, deadline_passed, status_words};
use crate::auth::{CurrentAidant, RecentStepUp, StepUpCheck, too_many};
use crate::respond::{blocking, page, see_other};
use crate::sms::PhoneNumber;
use crate::{AppState, WebError};

#[derive(Serialize)]
struct DemarcheView {
    key: &'static str,
    title: &'static str,
}

#[derive(Serialize)]
struct NewView<'a> {
    csrf: String,
    organisation: &'a str,
    demarches: Vec<DemarcheView>,
    duration_days: u16,
    duration_label: &'static str,
    link_hours: i64,
    channel: &'a str,
    error: Option<String>,
}

fn incomplete() -> WebError {
    WebError::invalid(JourneyRefusal::IncompleteChoice)
}

/// The démarches the structure does not allow, refused before anything is sent.
fn check_allowed(organisation: &Organisation, choices: &Choices) -> Result<(), WebError> {
    match choices
        .demarches
        .iter()
        .find(|d| !organisation.allowed_demarches.contains(d))
    {
        Some(d) => Err(WebError::invalid(
            ac_mandates::MandateError::DemarcheNotAllowed(*d),
        )),
        None => Ok(()),
    }
}

async fn organisation_of(
    state: &AppState,
    current: &CurrentAidant,
) -> Result<Organisation, WebError> {
    let (db, id) = (
        state.db.clone(),
        current.aidant.current_organisation.clone(),
    );
    blocking(move || organisations::get(&mut *db.conn()?, &id)).await
}

/// The mandate being prepared: the structure's, with its checked choices.
struct Prepared {
    organisation: Organisation,
    choices: Choices,
    duration: MandateDuration,
}

/// Reads and checks the choices (`demarche`, `duree`) against the aidant's structure.
async fn prepared(
    state: &AppState,
    current: &CurrentAidant,
    pairs: &[u8],
) -> Result<Prepared, WebError> {
    // The rule the mandate's creation applies at confirmation, checked before anything is sent:
    // an account that may not create mandates (a référent only) sends no link.
    if let Err(refusal) =
        ac_mandates::rules::check_can_manage(&current.aidant, &current.aidant.current_organisation)
    {
        return Err(WebError::forbidden(refusal));
    }
    let choices = Choices::from_pairs(url::form_urlencoded::parse(pairs))?;
    let duration = choices.duration.ok_or_else(incomplete)?;
    if choices.demarches.is_empty() {
        return Err(incomplete());
    }
    let organisation = organisation_of(state, current).await?;
    check_allowed(&organisation, &choices)?;
    Ok(Prepared {
        organisation,
        choices,
        duration,
    })
}

fn new_response(
    state: &AppState,
    current: &CurrentAidant,
    prepared: &Prepared,
    channel: &str,
    error: Option<String>,
    status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let Prepared {
        organisation,
        choices,
        duration,
    } = prepared;
    let view = NewView {
        csrf: current.csrf_token(),
        organisation: &organisation.name,
        demarches: choices
            .demarches
            .iter()
            .map(|d| DemarcheView {
                key: d.key(),
                title: d.title(),
            })
            .collect(),
        duration_days: duration.days(),
        duration_label: duration.label(),
        link_hours: state.settings.remote_consent.link_ttl.whole_hours(),
        channel,
        error,
    };
    let body = state
        .templates
        .render_for(&current.menu(), "remote/new.html", &view)?;
    Ok(page(status, body))
}

/// « La personne ne peut pas venir » from the identification screen: the same choices, and
/// where to send the link.
pub(crate) async fn new_page(
    state: web::Data<AppState>,
    current: RecentStepUp,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let current = current.0;
    let prepared = prepared(&state, &current, req.query_string().as_bytes()).await?;
    new_response(&state, &current, &prepared, "sms", None, HttpResponse::Ok())
}

/// Where the link goes, read from the form; used to send, then dropped.
enum Address {
    Phone(PhoneNumber),
    Email(Email),
}

impl Address {
    fn channel(&self) -> Channel {
        match self {
            Address::Phone(_) => Channel::Sms,
            Address::Email(_) => Channel::Email,
        }
    }
}

fn read_address(channel: &str, typed: &str) -> Result<Address, String> {
    match channel {
        "sms" => PhoneNumber::parse(typed)
            .map(Address::Phone)
            .ok_or_else(|| {
                "Ce numéro de téléphone n'est pas valide : par exemple 06 12 34 56 78.".to_owned()
            }),
        "courriel" => typed
            .trim()
            .parse::<Email>()
            .map(Address::Email)
            .map_err(|_| {
                "Cette adresse électronique n'est pas valide : par exemple prenom.nom@exemple.fr."
                    .to_owned()
            }),
        _ => Err("Choisissez SMS ou courriel.".to_owned()),
    }
}

/// The per-aidant and per-structure limits on sending links; the first refusal of a window is
/// journaled (`access.denied`, `rate_limited`).
async fn sending_allowed(state: &AppState, current: &CurrentAidant) -> Result<bool, WebError> {
    let settings = &state.settings.remote_consent;
    let window = settings.window;
    let limit = |max: u32| Limit {
        max: i32::try_from(max).unwrap_or(i32::MAX),
        window,
    };
    let checks = [
        (
            format!("remote:aidant:{}", current.aidant.id.as_str()),
            "remote_sends_per_aidant",
            limit(settings.sends_per_aidant),
        ),
        (
            format!(
                "remote:structure:{}",
                current.aidant.current_organisation.as_str()
            ),
            "remote_sends_per_structure",
            limit(settings.sends_per_structure),
        ),
    ];
    let (db, context, now) = (state.db.clone(), current.audit_context(), state.clock.now());
    blocking(move || {
        let conn = &mut *db.conn()?;
        for (key, label, limit) in &checks {
            if !rate_limits::enforce(conn, key, label, *limit, &context, now)? {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
}

/// The text message: who sends it, what it is, until when, the link; nothing about the person.
fn sms_text(first_name: &str, structure: &str, until: &str, link: &str) -> String {
    format!(
        "Aidants Connect : {first_name} ({structure}) vous demande votre accord pour un mandat \
         (faire des démarches en ligne pour vous). Lisez-le et répondez avant le {until} :\n{link}"
    )
}

/// Sends the link, then records it: the address is only ever in this request's memory.
#[instrument(skip_all)]
pub(crate) async fn send(
    state: web::Data<AppState>,
    current: RecentStepUp,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let current = current.0;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    current.check_csrf(field("csrf"))?;
    let prepared = prepared(&state, &current, &body).await?;
    let (organisation, duration) = (&prepared.organisation, prepared.duration);
    let demarches = prepared.choices.demarches.clone();
    let channel = field("canal");
    let refuse = |message: String, status| {
        new_response(&state, &current, &prepared, channel, Some(message), status)
    };
    let address = match read_address(channel, field("adresse")) {
        Ok(address) => address,
        Err(message) => return refuse(message, HttpResponse::UnprocessableEntity()),
    };
    if !sending_allowed(&state, &current).await? {
        return Err(WebError::too_many(JourneyRefusal::RemoteTooManyLinks));
    }
    let now = state.clock.now();
    let settings = &state.settings.remote_consent;
    let expires = now.saturating_add(settings.link_ttl);
    let until =
        state
            .local_times
            .format(organisation.departement.as_str(), expires, Format::DateTime);
    let token = Token::generate(state.auth.rng()).map_err(WebError::internal)?;
    let link = format!(
        "{}/accord/{}",
        state.settings.server.public_url,
        token.expose()
    );
    let sent = deliver(&state, &current, organisation, &address, &link, &until).await;
    if let Err(cause) = sent {
        // The cause names the provider's refusal or the network, never the address.
        tracing::warn!(channel = address.channel().key(), error = %cause, "remote consent link not sent");
        return refuse(
            "L'envoi n'a pas abouti : vérifiez le numéro ou l'adresse, puis réessayez.".to_owned(),
            HttpResponse::BadGateway(),
        );
    }
    let channel = address.channel();
    drop(address);
    let link = NewLink {
        token_hash: token.hash(),
        demarches,
        duration,
        channel,
        expires,
    };
    store(&state, &current, organisation, link, now).await?;
    Ok(see_other("/mandats/a-distance?envoye=1").finish())
}

/// The link sent on its channel: a text message, or an e-mail. The error is the cause (the
/// provider's refusal or the network), never the address.
async fn deliver(
    state: &AppState,
    current: &CurrentAidant,
    organisation: &Organisation,
    address: &Address,
    link: &str,
    until: &str,
) -> Result<(), String> {
    let first_name = &current.aidant.first_name;
    match address {
        Address::Phone(phone) => state
            .sms
            .send(
                phone,
                &sms_text(first_name, &organisation.name, until, link),
            )
            .await
            .map_err(|e| e.to_string()),
        Address::Email(email) => state
            .mailer
            .send_remote_consent_link(email, first_name, &organisation.name, link, until)
            .await
            .map_err(|e| e.to_string()),
    }
}

/// A link sent, as it is kept: its token's hash and what it asks, never the address.
struct NewLink {
    token_hash: TokenHash,
    demarches: Vec<Demarche>,
    duration: MandateDuration,
    channel: Channel,
    expires: OffsetDateTime,
}

/// The consent at a distance waiting for the person, journaled.
async fn store(
    state: &AppState,
    current: &CurrentAidant,
    organisation: &Organisation,
    link: NewLink,
    now: OffsetDateTime,
) -> Result<(), WebError> {
    let (db, aidant, organisation_id, context) = (
        state.db.clone(),
        current.aidant.id.clone(),
        organisation.id.clone(),
        current.audit_context(),
    );
    blocking(move || {
        let new = NewRemoteConsent {
            token_hash: link.token_hash.as_str(),
            aidant: &aidant,
            organisation: &organisation_id,
            demarches: &link.demarches,
            duration: link.duration,
            channel: link.channel,
            link_expires_at: link.expires,
        };
        remote_consents::insert(&mut *db.conn()?, &new, &context, now).map(drop)
    })
    .await
}

#[derive(Serialize)]
struct RowView {
    id: String,
    sent: String,
    channel: &'static str,
    demarches: Vec<&'static str>,
    duration: &'static str,
    status: &'static str,
    /// The status's key, for the page's styles and the tests.
    state: &'static str,
    /// Until when the current step may take place (link, or confirmation).
    deadline: Option<String>,
    /// The person who consented, once they did (their identity came from FranceConnect).
    person: Option<String>,
    confirmable: bool,
    mandate: Option<String>,
}

impl RowView {
    /// A remote consent as the list shows it, its times written with `when`.
    fn of(
        r: &RemoteConsent,
        names: &HashMap<String, String>,
        now: OffsetDateTime,
        when: impl Fn(OffsetDateTime) -> String,
    ) -> Self {
        let passed = deadline_passed(r, now);
        let deadline = match r.status {
            Status::Sent | Status::Opened => Some(r.link_expires_at),
            Status::Consented => r.confirm_by,
            _ => None,
        };
        RowView {
            id: r.id.clone(),
            sent: when(r.created_at),
            channel: match r.channel {
                Channel::Sms => "SMS",
                Channel::Email => "courriel",
            },
            demarches: r.demarches.iter().map(|d| d.title()).collect(),
            duration: r.duration.label(),
            status: status_words(r.status, passed),
            state: if passed { "expired" } else { r.status.key() },
            deadline: deadline.filter(|_| !passed).map(when),
            person: (r.status == Status::Consented || r.status == Status::Confirmed)
                .then(|| names.get(&r.id).cloned())
                .flatten(),
            confirmable: r.status == Status::Consented && !passed,
            mandate: r.mandate.clone(),
        }
    }
}

/// The aidant's remote consents, what ran out expired first (journaled by the system); the name
/// of each person who consented, by consent; and the aidant's structure.
async fn remote_consents_of(
    state: &AppState,
    current: &CurrentAidant,
    now: OffsetDateTime,
) -> Result<(Vec<RemoteConsent>, HashMap<String, String>, Organisation), WebError> {
    let (db, aidant, organisation_id) = (
        state.db.clone(),
        current.aidant.id.clone(),
        current.aidant.current_organisation.clone(),
    );
    let system = AuditContext::system();
    blocking(move || {
        let conn = &mut *db.conn()?;
        remote_consents::expire_due(conn, &system, now)?;
        let rows = remote_consents::for_aidant(conn, &aidant, now)?;
        let mut names = HashMap::new();
        for row in &rows {
            if let Some(usager) = &row.usager {
                let found = usagers::get(conn, usager)?;
                let name = format!(
                    "{} {}",
                    found.identity.given_name, found.identity.family_name
                );
                names.insert(row.id.clone(), name);
            }
        }
        Ok((rows, names, organisations::get(conn, &organisation_id)?))
    })
    .await
}

/// The aidant's remote consents and where each stands; what ran out is marked first.
async fn list_response(
    state: &AppState,
    current: &CurrentAidant,
    sent: bool,
    error: Option<String>,
    status: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let (rows, names, organisation) = remote_consents_of(state, current, now).await?;
    let departement = organisation.departement.as_str();
    let when = |at| state.local_times.format(departement, at, Format::Short);
    let views: Vec<RowView> = rows
        .iter()
        .map(|r| RowView::of(r, &names, now, when))
        .collect();
    let body = state.templates.render_for(
        &current.menu(),
        "remote/list.html",
        &serde_json::json!({
            "csrf": current.csrf_token(),
            "rows": views,
            "sent": sent,
            "error": error,
            "confirm_minutes": state.settings.remote_consent.confirm_ttl.whole_minutes(),
        }),
    )?;
    Ok(page(status, body))
}

pub(crate) async fn list_page(
    state: web::Data<AppState>,
    current: RecentStepUp,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let sent = req.query_string() == "envoye=1";
    list_response(&state, &current.0, sent, None, HttpResponse::Ok()).await
}

/// The aidant's TOTP after the person's consent: the mandate is created (`consent=remote`), or
/// the list says why not.
#[instrument(skip_all)]
pub(crate) async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    current: CurrentAidant,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    current.check_csrf(field("csrf"))?;
    let now = state.clock.now();
    match current.step_up(&state, &req, field("code"), now).await? {
        StepUpCheck::Accepted => {}
        StepUpCheck::RateLimited => return Err(too_many()),
        StepUpCheck::Refused => {
            let message = "Le code n'est pas valide : saisissez un nouveau code.".to_owned();
            return list_response(
                &state,
                &current,
                false,
                Some(message),
                HttpResponse::UnprocessableEntity(),
            )
            .await;
        }
        StepUpCheck::SessionEnded => return Err(WebError::Redirect("/connexion".into())),
    }
    let (db, id, aidant, version, context) = (
        state.db.clone(),
        id.into_inner(),
        current.aidant.id.clone(),
        state.settings.mandates.legal_text_version.clone(),
        current.audit_context(),
    );
    let outcome = blocking(move || {
        remote_consents::confirm(&mut *db.conn()?, &id, &aidant, &version, &context, now)
    })
    .await?;
    let message = match outcome {
        Ok(plan) => return Ok(see_other(&format!("/mandats/{}", plan.mandate.id)).finish()),
        Err(NotConfirmed::TooLate) => {
            "Le délai pour confirmer est passé : rien n'a été créé. Envoyez un nouveau lien à la personne."
        }
        Err(NotConfirmed::NotPending) => {
            "Cet accord n'attend pas de confirmation : il a été confirmé, refusé ou a expiré."
        }
    };
    list_response(
        &state,
        &current,
        false,
        Some(message.to_owned()),
        HttpResponse::Conflict(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_message_says_who_what_and_until_when() {
        let text = sms_text(
            "Camille",
            "France services Brest",
            "6 décembre 2026 à 16 h 30",
            "https://x/accord/t",
        );
        assert!(text.contains("Camille (France services Brest)"));
        assert!(text.contains("mandat"));
        assert!(text.contains("avant le 6 décembre 2026 à 16 h 30"));
        assert!(text.ends_with("\nhttps://x/accord/t"));
    }

    #[test]
    fn addresses_are_read_for_their_channel() {
        assert!(matches!(
            read_address("sms", "06 12 34 56 78"),
            Ok(Address::Phone(_))
        ));
        assert!(read_address("sms", "camille@exemple.fr").is_err());
        assert!(matches!(
            read_address("courriel", "camille@exemple.fr"),
            Ok(Address::Email(_))
        ));
        assert!(read_address("courriel", "06 12").is_err());
        assert!(read_address("pigeon", "x").is_err());
    }
}
