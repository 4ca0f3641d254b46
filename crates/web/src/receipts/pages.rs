//! The public pages of receipts, without sign-in:
//! - `/recu/{code}`: whether a receipt is genuine and which journal entry it reports (index and
//!   leaf hash), and nothing about the person;
//! - `/signalement/{token}`: « Ce n'était pas moi », a confirmation page, then the report that
//!   suspends the mandate at once (`ac_storage::receipts::reports`).
//!
//! Both are counted per client IP in the database (`ac_storage::rate_limits`, every node), like
//! `/verification`: guessing costs a window per handful of tries on top of the codes' 160 and
//! the tokens' 256 bits. Addresses carrying a code or a token go to no other site.

use ac_audit::Actor;
use ac_auth::Token;
use ac_localtime::Format;
use ac_mandates::VerificationCode;
use ac_storage::journal::AuditContext;
use ac_storage::rate_limits::{self, Limit};
use ac_storage::receipts::reports::{self, Reportable, Reported, TokenRefusal};
use ac_storage::receipts::{self, Genuine};
use ac_storage::{DbConnection, StorageError};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::Deserialize;
use time::OffsetDateTime;
use tracing::instrument;

use crate::auth::{check_csrf_browser, csrf_browser_token, request_id};
use crate::i18n::{Language, PageLanguage};
use crate::respond::{blocking, page};
use crate::{AppState, WebError};

/// No cache, no referrer: the address holds a code or a token.
fn private(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn too_many() -> WebError {
    WebError::too_many(ac_mandates::JourneyRefusal::TooManyReceiptLookups)
}

/// The per-IP limit of both pages, and the journal's actor of its first refusal.
fn limited(state: &AppState, req: &HttpRequest) -> (String, Limit, AuditContext) {
    let settings = &state.settings.receipts;
    (
        format!("receipts:ip:{}", state.auth.client_ip(req)),
        Limit {
            max: i32::try_from(settings.lookups_per_ip).unwrap_or(i32::MAX),
            window: settings.window,
        },
        AuditContext {
            actor: Actor::system(),
            request_id: request_id(req),
        },
    )
}

/// `lookup` run on the blocking pool once it is counted against the client's IP; over the
/// limit, nothing is looked up and the answer is 429.
async fn counted<T: Send + 'static>(
    state: &AppState,
    req: &HttpRequest,
    now: OffsetDateTime,
    lookup: impl FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
) -> Result<T, WebError> {
    let (key, limit, context) = limited(state, req);
    let db = state.db.clone();
    blocking(move || {
        let conn = &mut *db.conn()?;
        if !rate_limits::enforce(conn, &key, "receipts_per_ip", limit, &context, now)? {
            return Ok(Err(()));
        }
        lookup(conn).map(Ok)
    })
    .await?
    .map_err(|()| too_many())
}

#[instrument(skip_all)]
pub(crate) async fn receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    language: PageLanguage,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let code = VerificationCode::parse(&code.into_inner());
    let found = counted(&state, &req, now, move |conn| match code {
        Some(code) => receipts::by_code(conn, &code),
        None => Ok(None),
    })
    .await?;
    let (status, view) = match found {
        Some(Genuine { kind, at, entry }) => (
            HttpResponse::Ok(),
            serde_json::json!({
                "genuine": true,
                "kind": kind.key(),
                // The service's reference time: the page says nothing of where the person is.
                "day": language.language.day(state.local_times.local("75", at).date()),
                "entry": entry.map(|(seq, hash)| serde_json::json!({ "seq": seq, "hash": hash })),
            }),
        ),
        None => (
            HttpResponse::NotFound(),
            serde_json::json!({ "genuine": false }),
        ),
    };
    let body = state
        .templates
        .render_in(&language.view(), "aide/receipt.html", &view)?;
    Ok(private(page(status, body)))
}

/// `title`: the key of the page's title (`report-title-*` messages).
fn report_page(
    state: &AppState,
    language: &PageLanguage,
    status: HttpResponseBuilder,
    title: &str,
    view: serde_json::Value,
) -> Result<HttpResponse, WebError> {
    let mut view = view;
    if let Some(map) = view.as_object_mut() {
        map.insert("title".into(), language.language.text(title, &[]).into());
    }
    let body = state
        .templates
        .render_in(&language.view(), "aide/report.html", &view)?;
    Ok(private(page(status, body)))
}

fn refused_page(
    state: &AppState,
    language: &PageLanguage,
    refusal: TokenRefusal,
) -> Result<HttpResponse, WebError> {
    let message = language.language.text(
        match refusal {
            TokenRefusal::Unknown => "report-link-unknown",
            TokenRefusal::Used => "report-link-used",
            TokenRefusal::Expired => "report-link-expired",
        },
        &[],
    );
    let status = match refusal {
        TokenRefusal::Unknown => HttpResponse::NotFound(),
        TokenRefusal::Used | TokenRefusal::Expired => HttpResponse::Gone(),
    };
    report_page(
        state,
        language,
        status,
        "report-title-refused",
        serde_json::json!({ "state": "refused", "message": message }),
    )
}

/// The person's token, read from the path; a malformed one is just unknown.
fn token(path: &str) -> Option<Token> {
    Token::parse(path)
}

#[instrument(skip_all)]
pub(crate) async fn report_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    language: PageLanguage,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let Some(token) = token(&path) else {
        return refused_page(&state, &language, TokenRefusal::Unknown);
    };
    let hash = token.hash();
    let found = counted(&state, &req, now, move |conn| {
        reports::peek(conn, &hash, now)
    })
    .await?;
    let reportable = match found {
        Ok(reportable) => reportable,
        Err(refusal) => return refused_page(&state, &language, refusal),
    };
    let (csrf, cookie) = csrf_browser_token(&state.auth, &req)?;
    let view = serde_json::json!({
        "state": "confirm",
        "what": what_in(language.language, &reportable),
        "day": language.language.day(
            state.local_times.local(&reportable.departement, reportable.at).date(),
        ),
        "structure": reportable.organisation_name,
        "token": token.expose(),
        "csrf": csrf,
    });
    let mut response = report_page(
        &state,
        &language,
        HttpResponse::Ok(),
        "report-title-confirm",
        view,
    )?;
    if let Some(cookie) = cookie {
        response.add_cookie(&cookie).map_err(WebError::internal)?;
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct ReportForm {
    csrf: String,
}

/// What is reported, in the person's language: « la création d'un mandat (Social - Santé) ».
fn what_in(language: Language, reportable: &Reportable) -> String {
    let demarches: Vec<String> = reportable
        .demarches
        .split(',')
        .filter_map(|d| d.parse::<ac_mandates::Demarche>().ok())
        .map(|d| language.text(&format!("demarche-{}", d.key()), &[]))
        .collect();
    let kind = language.text(&format!("receipt-kind-{}", reportable.kind.key()), &[]);
    format!("{kind} ({})", demarches.join(", "))
}

/// The words of what is reported, for the référents' notice.
fn what(reportable: &Reportable) -> String {
    let demarches: Vec<&str> = reportable
        .demarches
        .split(',')
        .filter_map(|d| d.parse::<ac_mandates::Demarche>().ok())
        .map(|d| d.title())
        .collect();
    format!("{} ({})", reportable.kind.label(), demarches.join(", "))
}

/// The notices to the structure's référents, rendered before the transaction.
fn notices(
    state: &AppState,
    reportable: &Reportable,
    referents: Vec<(String, String)>,
    now: time::OffsetDateTime,
) -> Result<Vec<(String, ac_mail::Rendered)>, WebError> {
    let at = state
        .local_times
        .format(&reportable.departement, now, Format::DateTime);
    let list_url = format!(
        "{}/referent/{}/signalements",
        state.settings.server.public_url,
        reportable.organisation.as_str()
    );
    referents
        .into_iter()
        .map(|(email, first_name)| {
            let rendered = state
                .mailer
                .report_raised(
                    &first_name,
                    &reportable.organisation_name,
                    &what(reportable),
                    &at,
                    &list_url,
                )
                .map_err(WebError::internal)?;
            Ok((email, rendered))
        })
        .collect()
}

#[instrument(skip_all)]
pub(crate) async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReportForm>,
    language: PageLanguage,
) -> Result<HttpResponse, WebError> {
    check_csrf_browser(&state.auth, &req, &form.csrf)?;
    let now = state.clock.now();
    let Some(token) = token(&path) else {
        return refused_page(&state, &language, TokenRefusal::Unknown);
    };
    let hash = token.hash();
    let found = counted(&state, &req, now, move |conn| {
        let found = reports::peek(conn, &hash, now)?;
        let referents = match &found {
            Ok(r) => reports::referents_of(conn, &r.organisation)?,
            Err(_) => Vec::new(),
        };
        Ok((found, referents))
    })
    .await?;
    let (reportable, referents) = match found {
        (Ok(reportable), referents) => (reportable, referents),
        (Err(refusal), _) => return refused_page(&state, &language, refusal),
    };
    let rendered = notices(&state, &reportable, referents, now)?;
    let (db, hash, request) = (state.db.clone(), token.hash(), request_id(&req));
    let outcome = blocking(move || {
        let mails = crate::mail_worker::outbox_rows("report_raised", &rendered);
        reports::open(&mut *db.conn()?, &hash, &mails, request, now)
    })
    .await?;
    let structure = reportable.organisation_name.as_str();
    match outcome {
        Reported::Opened { .. } => report_page(
            &state,
            &language,
            HttpResponse::Ok(),
            "report-title-opened",
            serde_json::json!({ "state": "opened", "structure": structure }),
        ),
        Reported::AlreadyEnded => report_page(
            &state,
            &language,
            HttpResponse::Ok(),
            "report-title-ended",
            serde_json::json!({ "state": "ended" }),
        ),
        Reported::AlreadyReported => report_page(
            &state,
            &language,
            HttpResponse::Ok(),
            "report-title-already",
            serde_json::json!({ "state": "already" }),
        ),
        Reported::Refused(refusal) => refused_page(&state, &language, refusal),
    }
}
