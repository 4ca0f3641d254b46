//! The per-request root span, without secrets: a sign-in link's path carries its token, and the
//! default span would print the full target on every log line of the request.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// Like tracing-actix-web's default span, with the path redacted under `/connexion/lien/` and
/// without the query string.
pub struct RedactingRootSpan;

/// Path prefixes followed by a secret segment.
const SECRET_PATHS: &[&str] = &["/connexion/lien/"];

pub(crate) fn redact(path: &str) -> String {
    for prefix in SECRET_PATHS {
        if path.starts_with(prefix) {
            return format!("{prefix}[redacted]");
        }
    }
    path.to_owned()
}

impl RootSpanBuilder for RedactingRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %redact(request.path()),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn link_tokens_never_reach_the_span() {
        assert_eq!(
            redact("/connexion/lien/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
            "/connexion/lien/[redacted]"
        );
        assert_eq!(redact("/connexion"), "/connexion");
        assert_eq!(redact("/espace"), "/espace");
    }
}
