//! The provider's errors: the protocol codes sent to clients (RFC 6749 §4.1.2.1 and §5.2,
//! RFC 6750 §3.1, OIDC Core §3.1.2.6), and [`OpError`] for everything that is ours (keys,
//! registrations), each with a stable code and a French message.

use thiserror::Error;

/// An `error` value of the protocol. The descriptions that go with them are fixed ASCII phrases
/// for the client's developers (RFC 6749 §4.1.2.1 restricts their characters, so no accents),
/// never an echo of the request, which would let a request inject text into the client's pages
/// or logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
    /// OIDC Core §3.1.2.6: `prompt=none` when the aidant must still choose.
    InteractionRequired,
    LoginRequired,
    /// OIDC Core §5.5.1.1 with OpenID Connect Core Error Code unmet_authentication_requirements
    /// 1.0: an essential `acr` this service cannot reach.
    UnmetAuthenticationRequirements,
    /// OIDC Core §6: request objects are not supported.
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 6749 §5.2.
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    /// RFC 6750 §3.1.
    InvalidToken,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidToken => "invalid_token",
        }
    }
}

/// A refusal at the token endpoint (RFC 6749 §5.2): `invalid_client` is a 401 (with a
/// `WWW-Authenticate` challenge when the client used HTTP Basic), everything else a 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenError {
    pub error: ErrorCode,
    pub description: &'static str,
}

impl TokenError {
    pub(crate) const fn new(error: ErrorCode, description: &'static str) -> Self {
        Self { error, description }
    }

    pub const fn status(&self) -> u16 {
        match self.error {
            ErrorCode::InvalidClient => 401,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The JSON body (RFC 6749 §5.2).
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.error.as_str(), "error_description": self.description })
    }
}

/// Failures of the provider's own machinery, for operators (CLI, start-up) and logs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OpError {
    #[error("{code} clé de signature illisible ou refusée : {0}", code = self.code())]
    Key(String),
    #[error("{code} signature impossible", code = self.code())]
    Signing,
    #[error("{code} tirage aléatoire impossible", code = self.code())]
    Random,
    #[error("{code} enregistrement du client invalide : {0}", code = self.code())]
    Registration(String),
    #[error("{code} aucune clé de signature active pour {0}", code = self.code())]
    NoCurrentKey(&'static str),
    #[error("{code} jeton illisible ou signature invalide", code = self.code())]
    BadToken,
}

impl OpError {
    pub fn code(&self) -> &'static str {
        match self {
            OpError::Key(_) => "OIDC101",
            OpError::Signing => "OIDC102",
            OpError::Random => "OIDC103",
            OpError::Registration(_) => "OIDC104",
            OpError::NoCurrentKey(_) => "OIDC105",
            OpError::BadToken => "OIDC106",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_errors_have_rfc_statuses_and_bodies() {
        let client = TokenError::new(ErrorCode::InvalidClient, "client authentication failed");
        assert_eq!(client.status(), 401);
        let grant = TokenError::new(ErrorCode::InvalidGrant, "code invalid");
        assert_eq!(grant.status(), 400);
        assert_eq!(grant.body()["error"], "invalid_grant");
        assert_eq!(grant.body()["error_description"], "code invalid");
    }

    #[test]
    fn messages_start_with_their_code() {
        for e in [
            OpError::Key("x".into()),
            OpError::Signing,
            OpError::Random,
            OpError::Registration("x".into()),
            OpError::NoCurrentKey("ES256"),
            OpError::BadToken,
        ] {
            assert!(e.to_string().starts_with(e.code()), "{e}");
        }
    }
}
