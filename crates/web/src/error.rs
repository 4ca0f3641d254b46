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
            WebError::Redirect(_) => StatusCode::SEE_OTHER,
            WebError::Forbidden { .. } => StatusCode::FORBIDDEN,
            WebError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::Internal(cause) | WebError::Unavailable(cause) => {
                tracing::error!(error = %cause, "request failed");
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

/// Protocol endpoints (OIDC token, userinfo…) answer RFC 6749 JSON errors, which must reach the
/// client as they are.
fn is_protocol_error(res: &ServiceResponse) -> bool {
    res.response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Renders every 4xx as the French error page, except bodies that are already the answer: a
/// re-displayed form (`KeepBody`) or a protocol error in JSON.
pub fn client_error_page(res: ServiceResponse) -> actix_web::Result<ErrorHandlerResponse<BoxBody>> {
    if res.response().extensions().get::<KeepBody>().is_some() || is_protocol_error(&res) {
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

/// Every 5xx gets the same body, with only the request id: the cause is in the logs.
pub fn constant_server_error(
    res: ServiceResponse,
) -> actix_web::Result<ErrorHandlerResponse<BoxBody>> {
    // A body built on purpose for a 5xx (readiness saying why it is degraded) is the answer.
    if res.response().extensions().get::<KeepBody>().is_some() {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let request_id = res
        .request()
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default();
    let body = crate::templates::server_error_page(&request_id);
    Ok(ErrorHandlerResponse::Response(html(res, body)))
}
