//! One error type for every handler. 4xx pages show a fixed French message and a stable code;
//! 5xx pages are constant and show only the request id, while the cause goes to the logs.

use ac_storage::StorageError;
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{BlockingError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use tracing_actix_web::RequestId;

use crate::AppState;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("WEB404 page introuvable")]
    NotFound,
    #[error("{code} {message}")]
    Invalid { code: &'static str, message: String },
    #[error("WEB413 requête trop volumineuse")]
    PayloadTooLarge,
    /// Text no field of the service may hold (a NUL or another control character): refused
    /// where it enters, before any query sees it.
    #[error("WEB400 caractère non permis dans la demande")]
    ControlCharacter,
    /// Not an error page: a 303 to another page (sign-in required, step-up required).
    #[error("redirection")]
    Redirect(String),
    #[error("{code} {message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{code} {message}")]
    TooManyRequests { code: &'static str, message: String },
    #[error("WEB503 service momentanément indisponible")]
    Unavailable(String),
    #[error("WEB500 erreur interne")]
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
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        WebError::Internal(cause.to_string())
    }

    fn info(&self) -> ErrorInfo {
        match self {
            WebError::NotFound => ErrorInfo {
                code: "WEB404",
                message: "Cette page n'existe pas.".into(),
            },
            WebError::Invalid { code, message } => ErrorInfo {
                code,
                message: message.clone(),
            },
            WebError::PayloadTooLarge => ErrorInfo {
                code: "WEB413",
                message: "Les données envoyées sont trop volumineuses.".into(),
            },
            WebError::ControlCharacter => ErrorInfo {
                code: "WEB400",
                message: "La demande contient un caractère non permis (caractère de contrôle). \
                          Vérifiez l'adresse ou le texte saisi."
                    .into(),
            },
            WebError::Forbidden { code, message } | WebError::TooManyRequests { code, message } => {
                ErrorInfo {
                    code,
                    message: message.clone(),
                }
            }
            WebError::Redirect(_) | WebError::Unavailable(_) | WebError::Internal(_) => ErrorInfo {
                code: "WEB500",
                message: String::new(),
            },
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::ControlCharacter => StatusCode::BAD_REQUEST,
            WebError::Redirect(_) => StatusCode::SEE_OTHER,
            WebError::Forbidden { .. } => StatusCode::FORBIDDEN,
            WebError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
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
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound => WebError::NotFound,
            StorageError::Rule(e) => WebError::Invalid {
                code: e.code(),
                message: e.to_string(),
            },
            StorageError::Field(e) => WebError::Invalid {
                code: e.code(),
                message: e.to_string(),
            },
            StorageError::Unreachable(_) => WebError::Unavailable(error.to_string()),
            // The server went away under an open connection (restart, outage): the same 503.
            lost if lost.is_connection_lost() => {
                WebError::Unavailable(format!("{} {lost:?}", lost.code()))
            }
            other => WebError::Internal(format!("{} {other:?}", other.code())),
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
        _ => WebError::Invalid {
            code: "WEB400",
            message: "Formulaire illisible.".into(),
        }
        .into(),
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
        .unwrap_or_else(|| match status {
            StatusCode::NOT_FOUND => WebError::NotFound.info(),
            StatusCode::PAYLOAD_TOO_LARGE => WebError::PayloadTooLarge.info(),
            StatusCode::METHOD_NOT_ALLOWED => ErrorInfo {
                code: "WEB405",
                message: "Cette action n'est pas permise ici.".into(),
            },
            _ => ErrorInfo {
                code: "WEB400",
                message: "La demande n'a pas pu être comprise.".into(),
            },
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
