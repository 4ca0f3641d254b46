//! What the signed-in person sees and does: « Mes mandats », « Ce qui a été fait pour moi » with
//! a proof per line, and revoking alone. Every read is keyed by the session's pseudonym; an id
//! from the URL that is not theirs gets 404 and an `access.denied` entry, like a missing one.

use ac_audit::Action;
use ac_localtime::{Format, LocalTimes};
use ac_mandates::{AuthorizationId, Demarche, Mandate, MandateId};
use ac_storage::aide_space::{self, HistoryLine, OwnMandate};
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::mandates::PersonRevokes;
use ac_storage::{audit, mandate_verifications};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use fluent_templates::fluent_bundle::FluentValue;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{SignedIn, signed_in};
use crate::i18n::{Language, PageLanguage};
use crate::respond::{blocking, page, see_other};
use crate::{AppState, WebError};

/// History lines per page.
const PAGE: i64 = 20;

/// The signed-in person, or the entry page.
pub(super) async fn require(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Result<SignedIn, HttpResponse>, WebError> {
    Ok(signed_in(state, req)
        .await?
        .ok_or_else(|| see_other("/mon-espace").finish()))
}

/// « 3 mars 2027 à 14 h 05 », at the structure (its département's local time).
fn spoken_time(times: &LocalTimes, departement: &str, at: OffsetDateTime) -> String {
    times.format(departement, at, Format::DateTime)
}

#[derive(Serialize)]
struct DemarcheLine {
    key: &'static str,
    /// `active`, `expiring`, `expired`, `revoked`, `suspended`: the page words it (`state-*`
    /// messages).
    state: &'static str,
    badge: &'static str,
    revocable: bool,
}

#[derive(Serialize)]
struct MandateView {
    id: String,
    organisation: String,
    created_on: String,
    ends_on: String,
    legal_text_version: String,
    verification_code: Option<String>,
    demarches: Vec<DemarcheLine>,
    revocable: bool,
}

fn demarche_state(
    mandate: &Mandate,
    revoked: bool,
    suspended: bool,
    now: OffsetDateTime,
    soon: time::Duration,
) -> (&'static str, &'static str) {
    if revoked {
        ("revoked", "error")
    } else if now >= mandate.expires_at {
        ("expired", "warning")
    } else if suspended {
        // Under the person's own « Ce n'était pas moi »: no aidant can use it until the
        // structure closes the report; the person may still stop it for good.
        ("suspended", "warning")
    } else if mandate.expires_at - now <= soon {
        ("expiring", "new")
    } else {
        ("active", "success")
    }
}

fn mandate_view(
    own: &OwnMandate,
    code: Option<String>,
    times: &LocalTimes,
    language: Language,
    now: OffsetDateTime,
    soon: time::Duration,
) -> MandateView {
    let m = &own.mandate;
    let demarches: Vec<DemarcheLine> = m
        .authorizations
        .iter()
        .map(|a| {
            let revoked = a.is_revoked_at(now);
            let suspended = own.suspended.contains(&a.id);
            let (state, badge) = demarche_state(m, revoked, suspended, now, soon);
            DemarcheLine {
                key: a.demarche.key(),
                state,
                badge,
                revocable: !revoked && now < m.expires_at,
            }
        })
        .collect();
    let day = |at| language.day(times.local(&own.departement, at).date());
    MandateView {
        id: m.id.as_str().to_owned(),
        organisation: own.organisation_name.clone(),
        created_on: day(m.created_at),
        ends_on: day(m.expires_at),
        legal_text_version: m.legal_text_version.clone(),
        verification_code: code,
        revocable: demarches.iter().any(|d| d.revocable),
        demarches,
    }
}

#[derive(Serialize)]
struct MandatesView {
    csrf: String,
    mandates: Vec<MandateView>,
}

pub(crate) async fn mandates_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    language: PageLanguage,
) -> Result<HttpResponse, WebError> {
    let current = match require(&state, &req).await? {
        Ok(current) => current,
        Err(entry) => return Ok(entry),
    };
    let now = state.clock.now();
    let (db, subject) = (state.db.clone(), current.subject().to_owned());
    let context = current.audit_context(&req);
    let owned = blocking(move || {
        let conn = &mut *db.conn()?;
        let mandates = aide_space::mandates_of(conn, &subject)?;
        let mut with_codes = Vec::with_capacity(mandates.len());
        for own in mandates {
            // A mandate from before verification codes gets one now, journaled as on print.
            let code = mandate_verifications::code_for_print(conn, &own.mandate.id, &context, now)
                .ok()
                .map(|c| c.as_str().to_owned());
            with_codes.push((own, code));
        }
        Ok(with_codes)
    })
    .await?;
    let soon = crate::durations::expiring_window(&state);
    let view = MandatesView {
        csrf: current.csrf(),
        mandates: owned
            .iter()
            .map(|(own, code)| {
                mandate_view(
                    own,
                    code.clone(),
                    &state.local_times,
                    language.language,
                    now,
                    soon,
                )
            })
            .collect(),
    };
    let body = state
        .templates
        .render_in(&language.view(), "aide/mandates.html", &view)?;
    Ok(private(page(HttpResponse::Ok(), body)))
}

/// Pages about one person: never cached, never sent as a referrer.
pub(super) fn private(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The person's mandate `id`, or 404 with an `access.denied` entry when it is not theirs (or
/// does not exist: the two look the same).
pub(super) async fn own_mandate(
    state: &AppState,
    current: &SignedIn,
    req: &HttpRequest,
    id: &str,
) -> Result<OwnMandate, WebError> {
    let (db, subject, id, now) = (
        state.db.clone(),
        current.subject().to_owned(),
        id.to_owned(),
        state.clock.now(),
    );
    let context = current.audit_context(req);
    blocking(move || {
        let conn = &mut *db.conn()?;
        match aide_space::own_mandate(conn, &subject, &MandateId::new(id))? {
            Some(own) => Ok(own),
            None => {
                denied(conn, &context, "not_own_mandate", now)?;
                Err(ac_storage::StorageError::NotFound)
            }
        }
    })
    .await
}

/// Journals a refused access of the person's space (no id from the request is written).
fn denied(
    conn: &mut ac_storage::DbConnection,
    context: &AuditContext,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), ac_storage::StorageError> {
    journal::record(
        conn,
        context,
        Event::new(Action::AccessDenied)
            .detail("reason", reason)
            .detail("space", "aide"),
        now,
    )
}

#[derive(Deserialize)]
pub(crate) struct RevokeQuery {
    demarche: Option<String>,
}

#[derive(Serialize)]
struct RevokeView {
    csrf: String,
    mandate: MandateView,
    /// The démarche revoked, or `None` for the whole mandate.
    demarche: Option<(&'static str, &'static str)>,
    done: bool,
    revoked_at: Option<String>,
}

/// What the form or the link names: one of the mandate's open démarches, or all of it.
fn target(
    own: &OwnMandate,
    demarche: Option<&str>,
) -> Result<Option<(AuthorizationId, Demarche)>, WebError> {
    let Some(key) = demarche.filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    let demarche: Demarche = key.parse().map_err(|_| WebError::NotFound)?;
    own.mandate
        .authorizations
        .iter()
        .find(|a| a.demarche == demarche)
        .map(|a| Some((a.id.clone(), demarche)))
        .ok_or(WebError::NotFound)
}

pub(crate) async fn revoke_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<RevokeQuery>,
    language: PageLanguage,
) -> Result<HttpResponse, WebError> {
    let current = match require(&state, &req).await? {
        Ok(current) => current,
        Err(entry) => return Ok(entry),
    };
    let own = own_mandate(&state, &current, &req, &path).await?;
    let target = target(&own, query.demarche.as_deref())?;
    let now = state.clock.now();
    let view = RevokeView {
        csrf: current.csrf(),
        mandate: mandate_view(
            &own,
            None,
            &state.local_times,
            language.language,
            now,
            crate::durations::expiring_window(&state),
        ),
        demarche: target.map(|(_, d)| (d.key(), d.title())),
        done: false,
        revoked_at: None,
    };
    let body = state
        .templates
        .render_in(&language.view(), "aide/revoke.html", &view)?;
    Ok(private(page(HttpResponse::Ok(), body)))
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    csrf: String,
    demarche: Option<String>,
}

/// The revocation itself: immediate everywhere (a delegated sign-in in progress fails at its
/// next step), journaled with the person as the actor; the page is the attestation.
pub(crate) async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<RevokeForm>,
    language: PageLanguage,
) -> Result<HttpResponse, WebError> {
    let current = match require(&state, &req).await? {
        Ok(current) => current,
        Err(entry) => return Ok(entry),
    };
    current.check_csrf(&form.csrf)?;
    let own = own_mandate(&state, &current, &req, &path).await?;
    let target = target(&own, form.demarche.as_deref())?;
    let now = state.clock.now();
    let refreshed = record_revocation(&state, &current, &req, &own, target.as_ref(), now).await?;
    let view = RevokeView {
        csrf: current.csrf(),
        mandate: mandate_view(
            &refreshed,
            None,
            &state.local_times,
            language.language,
            now,
            crate::durations::expiring_window(&state),
        ),
        demarche: target.map(|(_, d)| (d.key(), d.title())),
        done: true,
        revoked_at: Some(
            language
                .language
                .moment(state.local_times.local(&own.departement, now)),
        ),
    };
    let body = state
        .templates
        .render_in(&language.view(), "aide/revoke.html", &view)?;
    Ok(private(page(HttpResponse::Ok(), body)))
}

/// The person's revocation, with its notices to the aidants' structure, in one transaction;
/// then the mandate as it now stands.
async fn record_revocation(
    state: &AppState,
    current: &SignedIn,
    req: &HttpRequest,
    own: &OwnMandate,
    target: Option<&(AuthorizationId, Demarche)>,
    now: OffsetDateTime,
) -> Result<OwnMandate, WebError> {
    let what = match target {
        Some((id, _)) => PersonRevokes::Demarche(id.clone()),
        None => PersonRevokes::Mandate,
    };
    let notices = notices(state, own, target.map(|(_, d)| *d), now).await?;
    let (db, subject, id, context) = (
        state.db.clone(),
        current.subject().to_owned(),
        own.mandate.id.clone(),
        current.audit_context(req),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        let mails = crate::mail_worker::outbox_rows("revoked_by_person", &notices);
        let mandate = MandateId::new(id.as_str());
        ac_storage::mandates::revoke_by_person(
            conn, &subject, &mandate, &what, &mails, &context, now,
        )?;
        aide_space::own_mandate(conn, &subject, &id)?.ok_or(ac_storage::StorageError::NotFound)
    })
    .await
}

/// The notices to the structure's référents and the mandate's aidant, rendered: which démarches
/// stopped and when, never who (docs/security/aide-space.md).
async fn notices(
    state: &AppState,
    own: &OwnMandate,
    demarche: Option<Demarche>,
    now: OffsetDateTime,
) -> Result<Vec<(String, ac_mail::Rendered)>, WebError> {
    let stopped: Vec<String> = match demarche {
        Some(d) => vec![d.title().to_owned()],
        None => own
            .mandate
            .authorizations
            .iter()
            .filter(|a| !a.is_revoked_at(now))
            .map(|a| a.demarche.title().to_owned())
            .collect(),
    };
    let (db, mandate) = (state.db.clone(), own.mandate.clone());
    let recipients = blocking(move || {
        ac_storage::mandates::person_revocation_recipients(&mut *db.conn()?, &mandate)
    })
    .await?;
    let at = spoken_time(&state.local_times, &own.departement, now);
    let list_url = format!("{}/usagers", state.settings.server.public_url);
    recipients
        .into_iter()
        .map(|(email, first_name)| {
            let rendered = state
                .mailer
                .revoked_by_person(
                    &first_name,
                    &own.organisation_name,
                    &stopped,
                    &at,
                    &list_url,
                )
                .map_err(WebError::internal)?;
            Ok((email, rendered))
        })
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    avant: Option<i64>,
}

#[derive(Serialize)]
struct HistoryLineView {
    seq: i64,
    sentence: String,
}

#[derive(Serialize)]
struct HistoryView {
    csrf: String,
    lines: Vec<HistoryLineView>,
    next: Option<i64>,
}

/// One line in plain words, in the person's language (`history-*` messages).
fn sentence(line: &HistoryLine, times: &LocalTimes, language: Language) -> String {
    let departement = line.departement.as_deref().unwrap_or("75");
    let text = |key: &str, args: &[(&'static str, FluentValue<'static>)]| language.text(key, args);
    let value = |v: &str| FluentValue::from(v.to_owned());
    let when = language.moment(times.local(departement, line.at));
    let who = match (&line.aidant_first_name, &line.organisation_name) {
        (Some(name), Some(structure)) => text(
            "history-who-aidant",
            &[("name", value(name)), ("structure", value(structure))],
        ),
        (None, Some(structure)) if line.actor_kind == "usager" => {
            text("history-who-yourself", &[("structure", value(structure))])
        }
        (None, Some(structure)) => structure.clone(),
        (_, None) => text("history-who-service", &[]),
    };
    let site = match line.site.as_deref() {
        Some(site) => site.to_owned(),
        None => text("history-a-partner-site", &[]),
    };
    let what = match line.action.as_str() {
        "delegation.completed" => text("history-delegation-completed", &[("site", value(&site))]),
        "mandate.created" => text("history-mandate-created", &[]),
        "mandate.renewed" => text("history-mandate-renewed", &[]),
        "mandate.revoked" => text("history-mandate-revoked", &[]),
        "authorization.revoked" => text("history-authorization-revoked", &[]),
        "mandate.deleted" => text("history-mandate-deleted", &[]),
        "report.opened" => text("history-report-opened", &[]),
        "report.closed" => text("history-report-closed", &[]),
        other => text("history-other", &[("action", value(other))]),
    };
    let mut args = vec![
        ("when", value(&when)),
        ("who", value(&who)),
        ("what", value(&what)),
    ];
    match line
        .demarche
        .as_deref()
        .and_then(|d| d.parse::<Demarche>().ok())
    {
        Some(demarche) => {
            let title = text(&format!("demarche-{}", demarche.key()), &[]);
            args.push(("demarche", value(&title)));
            text("history-line-demarche", &args)
        }
        None => text("history-line", &args),
    }
}

pub(crate) async fn history_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HistoryQuery>,
    language: PageLanguage,
) -> Result<HttpResponse, WebError> {
    let current = match require(&state, &req).await? {
        Ok(current) => current,
        Err(entry) => return Ok(entry),
    };
    let before = query.avant.filter(|s| *s > 0);
    let (db, subject) = (state.db.clone(), current.subject().to_owned());
    let lines = blocking(move || {
        aide_space::history(&mut *db.conn()?, &subject, before, PAGE.saturating_add(1))
    })
    .await?;
    let more = lines.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    let shown: Vec<HistoryLineView> = lines
        .iter()
        .take(usize::try_from(PAGE).unwrap_or(usize::MAX))
        .map(|line| HistoryLineView {
            seq: line.seq,
            sentence: sentence(line, &state.local_times, language.language),
        })
        .collect();
    let view = HistoryView {
        csrf: current.csrf(),
        next: if more {
            shown.last().map(|l| l.seq)
        } else {
            None
        },
        lines: shown,
    };
    let body = state
        .templates
        .render_in(&language.view(), "aide/history.html", &view)?;
    Ok(private(page(HttpResponse::Ok(), body)))
}

/// The inclusion proof of one line against the latest signed checkpoint, as the offline bundle
/// `aidants-connect audit verify-proof` accepts. Only for an entry about the person.
pub(crate) async fn proof(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let current = match require(&state, &req).await? {
        Ok(current) => current,
        Err(entry) => return Ok(entry),
    };
    let seq: u64 = path.parse().map_err(|_| WebError::NotFound)?;
    let seq_db = i64::try_from(seq).map_err(|_| WebError::NotFound)?;
    let (db, subject, now) = (
        state.db.clone(),
        current.subject().to_owned(),
        state.clock.now(),
    );
    let context = current.audit_context(&req);
    let bundle = blocking(move || {
        let conn = &mut *db.conn()?;
        if !aide_space::entry_is_about(conn, &subject, seq_db)? {
            denied(conn, &context, "not_own_entry", now)?;
            return Err(ac_storage::StorageError::NotFound);
        }
        audit::prove(conn, seq)
    })
    .await?;
    let json = serde_json::to_vec_pretty(&bundle).map_err(WebError::internal)?;
    Ok(private(
        HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"preuve-{seq}.json\""),
            ))
            .body(json),
    ))
}
