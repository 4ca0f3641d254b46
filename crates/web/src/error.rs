//! One error type for every handler. 4xx pages show a fixed French message and a stable code;
//! 5xx pages are constant and show only the request id, while the cause goes to the logs.
//!
//! The web layer declares only the codes of HTTP itself (`WEB…`, in [`WebError::code`]). Every
//! other refusal comes typed from the crate that owns its rule and its code ([`Coded`]), so a
//! handler cannot write a code of its own (docs/architecture.md, "Error codes").

use ac_storage::StorageError;
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{BlockingError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use std::fmt::Display;
use tracing_actix_web::RequestId;

use crate::AppState;

/// An error its crate declares with a code (its own `code()`): a page shows the code and the
/// words after it.
pub(crate) trait Coded: Display {
    fn code(&self) -> &'static str;

    /// The words a page shows beside the code.
    fn words(&self) -> String {
        let text = self.to_string();
        match text.strip_prefix(self.code()) {
            Some(rest) => rest.trim_start().to_owned(),
            None => text,
        }
    }
}

// `<E>::code` by path, never `self.code()`: a method call could pick `Coded::code` itself.
macro_rules! coded {
    ($($error:ty),* $(,)?) => {$(
        impl Coded for $error {
            fn code(&self) -> &'static str {
                <$error>::code(self)
            }
        }
    )*};
}

coded!(
    ac_mandates::MandateError,
    ac_mandates::FieldError,
    ac_mandates::Refusal,
    ac_mandates::JourneyRefusal,
    ac_mandates::legal::UnknownLegalText,
    ac_auth::SignInRefusal,
    ac_oidc::op::ChoiceRefusal,
    ac_oidc::op::PageRefusal,
    ac_oidc::OidcError,
    ac_storage::console::ConsoleRefusal,
);

/// A refusal as a page shows it: a code and its words, taken from a [`Coded`] error only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    code: &'static str,
    words: String,
}

impl Said {
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn words(&self) -> &str {
        &self.words
    }

    /// The same refusal with a sentence after it (what became of the attempt).
    pub(crate) fn then(mut self, sentence: &str) -> Self {
        self.words = format!("{}. {sentence}", self.words.trim_end_matches('.'));
        self
    }
}

impl Said {
    /// What a page shows of `error`.
    pub(crate) fn of(error: &impl Coded) -> Self {
        Said {
            code: error.code(),
            words: error.words(),
        }
    }
}

impl<E: Coded> From<E> for Said {
    fn from(error: E) -> Self {
        Said::of(&error)
    }
}

/// As the pages' templates read a refusal: `[code, words]`.
impl serde::Serialize for Said {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.code, &self.words).serialize(serializer)
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.words)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{code} page introuvable", code = self.code())]
    NotFound,
    /// A refusal of a rule: 422.
    #[error("{0}")]
    Invalid(Said),
    #[error("{code} requête trop volumineuse", code = self.code())]
    PayloadTooLarge,
    /// Text no field of the service may hold (a NUL or another control character): refused
    /// where it enters, before any query sees it.
    #[error("{code} caractère non permis dans la demande", code = self.code())]
    ControlCharacter,
    /// A form body that is not a form (or lacks a field the handler needs to read it).
    #[error("{code} formulaire illisible", code = self.code())]
    UnreadableForm,
    /// A request the framework could not read (a path or query value of the wrong type).
    #[error("{code} demande incomprise", code = self.code())]
    Malformed,
    #[error("{code} méthode non permise", code = self.code())]
    MethodNotAllowed,
    /// Not an error page: a 303 to another page (sign-in required, step-up required).
    #[error("{code} redirection", code = self.code())]
    Redirect(String),
    #[error("{0}")]
    Forbidden(Said),
    #[error("{0}")]
    TooManyRequests(Said),
    #[error("{code} service momentanément indisponible", code = self.code())]
    Unavailable(String),
    #[error("{code} erreur interne", code = self.code())]
    Internal(String),
}

/// What a 503 tells clients to wait before trying again: about the time the storage layer keeps
/// a database it could not reach marked as down (`ac_storage::DOWN_FOR`).
pub(crate) const RETRY_AFTER_SECS: u64 = 5;

/// What a 4xx page shows; attached to the response for the error page renderer.
#[derive(Debug, Clone)]
struct ErrorInfo {
    code: &'static str,
    message: String,
}

impl WebError {
    pub fn internal(cause: impl Display) -> Self {
        WebError::Internal(cause.to_string())
    }

    /// A rule's refusal (422), with its crate's code and words.
    pub(crate) fn invalid(refusal: impl Into<Said>) -> Self {
        WebError::Invalid(refusal.into())
    }

    pub(crate) fn forbidden(refusal: impl Into<Said>) -> Self {
        WebError::Forbidden(refusal.into())
    }

    pub(crate) fn too_many(refusal: impl Into<Said>) -> Self {
        WebError::TooManyRequests(refusal.into())
    }

    /// The code a page, a log or a client sees. The `WEB` codes are HTTP's own; the others
    /// come from the crate that refused.
    pub fn code(&self) -> &'static str {
        match self {
            WebError::NotFound => "WEB404",
            WebError::PayloadTooLarge => "WEB413",
            WebError::ControlCharacter => "WEB400",
            WebError::Malformed => "WEB402",
            WebError::MethodNotAllowed => "WEB405",
            WebError::UnreadableForm => "WEB422",
            WebError::Redirect(_) => "WEB303",
            WebError::Unavailable(_) => "WEB503",
            WebError::Internal(_) => "WEB500",
            WebError::Invalid(said)
            | WebError::Forbidden(said)
            | WebError::TooManyRequests(said) => said.code(),
        }
    }

    fn info(&self) -> ErrorInfo {
        let message = match self {
            WebError::Invalid(said)
            | WebError::Forbidden(said)
            | WebError::TooManyRequests(said) => said.words(),
            WebError::NotFound => "Cette page n'existe pas.",
            WebError::PayloadTooLarge => "Les données envoyées sont trop volumineuses.",
            WebError::ControlCharacter => {
                "La demande contient un caractère non permis (caractère de contrôle). \
                 Vérifiez l'adresse ou le texte saisi."
            }
            WebError::UnreadableForm => "Formulaire illisible.",
            WebError::Malformed => "La demande n'a pas pu être comprise.",
            WebError::MethodNotAllowed => "Cette action n'est pas permise ici.",
            // Never shown: a redirection has no page, a 5xx has the constant one.
            WebError::Redirect(_) | WebError::Unavailable(_) | WebError::Internal(_) => "",
        };
        ErrorInfo {
            code: self.code(),
            message: message.to_owned(),
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Invalid(_) | WebError::UnreadableForm => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::ControlCharacter | WebError::Malformed => StatusCode::BAD_REQUEST,
            WebError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            WebError::Redirect(_) => StatusCode::SEE_OTHER,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
            }
            WebError::Unavailable(cause) => {
                tracing::error!(error = %cause, "request failed: a dependency is unavailable");
                let mut response = HttpResponse::ServiceUnavailable()
                    .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()))
                    .finish();
                response.extensions_mut().insert(self.info());
                return response;
            }
            WebError::Redirect(location) => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, location.as_str()))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish();
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code()).finish();
        response.extensions_mut().insert(self.info());
        response
    }
}

impl From<StorageError> for WebError {
    /// Every storage error by name, so a new one must be placed here: a rule's refusal is the
    /// person's to read (422); a lost or unreachable database is a 503 to retry; the rest is a
    /// fault of the service, logged with its code.
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound => WebError::NotFound,
            StorageError::Rule(e) => WebError::invalid(e),
            StorageError::Field(e) => WebError::invalid(e),
            StorageError::Unreachable(_) => WebError::Unavailable(error.to_string()),
            // The server went away under an open connection (restart, outage): the same 503.
            StorageError::Query(_) if error.is_connection_lost() => {
                WebError::Unavailable(format!("{} {error:?}", error.code()))
            }
            StorageError::UnknownScheme
            | StorageError::MissingSqliteFile(_)
            | StorageError::Connect(_)
            | StorageError::Pool(_)
            | StorageError::Migration(_)
            | StorageError::Query(_)
            | StorageError::Conflict
            | StorageError::Corrupt(_)
            | StorageError::JournalIntegrity(_)
            | StorageError::Io(_)
            | StorageError::Audit(_)
            | StorageError::Auth(_) => WebError::Internal(format!("{} {error:?}", error.code())),
        }
    }
}

impl From<BlockingError> for WebError {
    fn from(error: BlockingError) -> Self {
        WebError::internal(error)
    }
}

impl From<tera::Error> for WebError {
    fn from(error: tera::Error) -> Self {
        // tera's Display hides the cause chain; Debug keeps it for the log.
        WebError::Internal(format!("template: {error:?}"))
    }
}

/// Form bodies: too large is 413, anything else malformed is 400-ish with a French message.
pub fn form_error(error: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    match error {
        UrlencodedError::Overflow { .. } | UrlencodedError::UnknownLength => {
            WebError::PayloadTooLarge.into()
        }
        _ => WebError::UnreadableForm.into(),
    }
}

fn html(res: ServiceResponse, body: String) -> ServiceResponse<EitherBody<BoxBody>> {
    let (req, mut res) = res.into_parts();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let res = res.set_body(body).map_into_boxed_body();
    ServiceResponse::new(req, res).map_into_right_body()
}

/// Marks a 4xx response whose body is already the page to show (a form re-displayed with its
/// error, e.g. a refused sign-in code), so the error page does not replace it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeepBody;

/// Endpoints whose every answer, success or failure, is for a program: the OIDC back channel
/// and metadata, and the audit log's public files. Whatever fails there (the framework's own
/// 405/413/415 and a 500 included) is answered in JSON, never with an HTML page.
pub(crate) fn is_protocol_path(path: &str) -> bool {
    use ac_oidc::op::{DISCOVERY_PATH, JWKS_PATH, TOKEN_PATH, USERINFO_PATH};
    matches!(
        path,
        DISCOVERY_PATH | JWKS_PATH | TOKEN_PATH | USERINFO_PATH
    ) || path.starts_with("/audit/")
}

fn is_json(res: &ServiceResponse) -> bool {
    res.response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

/// RFC 6749 §5.2 (and RFC 6750 §3 for userinfo): `error` and `error_description`, never
/// cached. A body the endpoint already wrote in JSON is kept; only `no-store` is made sure of.
fn protocol_error(res: ServiceResponse) -> ServiceResponse<EitherBody<BoxBody>> {
    if is_json(&res) {
        let mut res = res;
        no_store(res.headers_mut());
        return res.map_into_left_body();
    }
    let status = res.status();
    let (error, description) = match status {
        StatusCode::SERVICE_UNAVAILABLE => (
            "temporarily_unavailable",
            "the service is temporarily unavailable",
        ),
        s if s.is_server_error() => ("server_error", "internal error"),
        StatusCode::METHOD_NOT_ALLOWED => ("invalid_request", "method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request", "request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("invalid_request", "unsupported media type"),
        StatusCode::NOT_FOUND => ("invalid_request", "not found"),
        _ => ("invalid_request", "malformed request"),
    };
    let body = serde_json::json!({ "error": error, "error_description": description });
    let (req, mut res) = res.into_parts();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(headers);
    let res = res.set_body(body.to_string()).map_into_boxed_body();
    ServiceResponse::new(req, res).map_into_right_body()
}

fn no_store(headers: &mut header::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Renders every 4xx as the French error page, except bodies that are already the answer: a
/// re-displayed form (`KeepBody`), or any answer of a protocol endpoint (JSON).
pub fn client_error_page(res: ServiceResponse) -> actix_web::Result<ErrorHandlerResponse<BoxBody>> {
    if is_protocol_path(res.request().path()) {
        return Ok(ErrorHandlerResponse::Response(protocol_error(res)));
    }
    if res.response().extensions().get::<KeepBody>().is_some() || is_json(&res) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let info = res
        .response()
        .extensions()
        .get::<ErrorInfo>()
        .cloned()
        .unwrap_or_else(|| {
            match status {
                StatusCode::NOT_FOUND => WebError::NotFound,
                StatusCode::PAYLOAD_TOO_LARGE => WebError::PayloadTooLarge,
                StatusCode::METHOD_NOT_ALLOWED => WebError::MethodNotAllowed,
                _ => WebError::Malformed,
            }
            .info()
        });
    let state = res.request().app_data::<web::Data<AppState>>().cloned();
    let body = state.and_then(|state| {
        state
            .templates
            .error_page(status.as_u16(), info.code, &info.message)
            .map_err(|e| tracing::error!(error = ?e, "error page template failed"))
            .ok()
    });
    Ok(ErrorHandlerResponse::Response(html(
        res,
        body.unwrap_or_else(|| format!("{} {}", info.code, status)),
    )))
}

/// Every 5xx gets the same body, with only the request id: the cause is in the logs. Two
/// exceptions: a page the handler built itself (`KeepBody`, e.g. the identification page saying
/// FranceConnect cannot be reached, with the aidant's choices kept), and protocol endpoints
/// (JSON).
pub fn constant_server_error(
    res: ServiceResponse,
) -> actix_web::Result<ErrorHandlerResponse<BoxBody>> {
    if is_protocol_path(res.request().path()) {
        return Ok(ErrorHandlerResponse::Response(protocol_error(res)));
    }
    let request_id = res
        .request()
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    // The reference a person may quote, next to the status: the cause was logged where it
    // happened, in the same request's span.
    tracing::error!(
        status = res.status().as_u16(),
        reference = %request_id,
        "server error answered"
    );
    if res.response().extensions().get::<KeepBody>().is_some() {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let body = server_error_page(&request_id);
    Ok(ErrorHandlerResponse::Response(html(res, body)))
}

/// The 5xx page: fixed text, plain HTML, no template (it must work when templates do not).
fn server_error_page(request_id: &str) -> String {
    let id: String = request_id
        .chars()
        .filter(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Erreur du service - Aidants Connect</title>\
         <link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main class=\"page\">\
         <h1>Le service a rencontré une erreur</h1><p>Rien n'a été enregistré. Réessayez dans un instant.</p>\
         <p>Si le problème continue, communiquez cette référence à votre référent : <code>{id}</code></p></main></body></html>"
    )
}
