//! One error type for the broker. Each variant has a stable code (`OIDC001`…) and a French message
//! meant for people; protocol details go to the logs only, through the fields.

use thiserror::Error;

/// An `error` value returned by the provider on the redirect (RFC 6749 §4.1.2.1, OIDC Core
/// §3.1.2.6), kept only when it is a well-formed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderErrorCode {
    AccessDenied,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    ServerError,
    TemporarilyUnavailable,
    /// Any other code (`invalid_request`, `invalid_scope`, `invalid_acr`…), restricted to
    /// `[a-z0-9_]` and 64 characters.
    Other(String),
}

impl ProviderErrorCode {
    pub fn parse(value: &str) -> Self {
        match value {
            "access_denied" => Self::AccessDenied,
            "login_required" => Self::LoginRequired,
            "consent_required" => Self::ConsentRequired,
            "interaction_required" => Self::InteractionRequired,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            other => Self::Other(
                other
                    .chars()
                    .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .take(64)
                    .collect(),
            ),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(code) => code,
        }
    }

    /// What the aidant reads, back on the mandate form.
    pub fn message(&self) -> &'static str {
        match self {
            Self::AccessDenied => "la connexion FranceConnect a été annulée",
            Self::LoginRequired | Self::InteractionRequired | Self::ConsentRequired => {
                "la connexion FranceConnect n'a pas abouti"
            }
            Self::ServerError | Self::TemporarilyUnavailable => {
                "FranceConnect est momentanément indisponible"
            }
            Self::Other(_) => "FranceConnect a refusé la demande",
        }
    }
}

#[derive(Debug, Error)]
pub enum OidcError {
    #[error("{code} configuration FranceConnect invalide : {0}", code = self.code())]
    Config(String),
    #[error("{code} FranceConnect est injoignable, réessayez dans un instant", code = self.code())]
    Unreachable { step: &'static str, cause: String },
    #[error("{code} réponse inattendue de FranceConnect", code = self.code())]
    BadResponse { step: &'static str, cause: String },
    #[error("{code} la configuration publiée par FranceConnect est invalide", code = self.code())]
    Discovery(String),
    #[error("{code} tirage aléatoire impossible", code = self.code())]
    Random,

    #[error("{code} retour de FranceConnect sans paramètre state : recommencez l'identification", code = self.code())]
    StateMissing,
    #[error("{code} cette identification est inconnue, déjà utilisée ou commencée dans un autre navigateur : recommencez", code = self.code())]
    StateUnknown,
    #[error("{code} l'identification a pris trop de temps : recommencez", code = self.code())]
    LoginExpired,
    #[error("{code} le retour ne vient pas du fournisseur d'identité attendu", code = self.code())]
    IssuerParameter,
    #[error("{own} {}", .code.message(), own = self.code())]
    Provider {
        code: ProviderErrorCode,
        description: Option<String>,
    },
    #[error("{code} retour de FranceConnect sans code d'autorisation", code = self.code())]
    CodeMissing,
    #[error("{code} FranceConnect a refusé l'échange du code : recommencez l'identification", code = self.code())]
    TokenRefused { error: String },
    #[error("{code} FranceConnect n'a pas renvoyé de jeton d'identité", code = self.code())]
    NoIdToken,
    #[error("{code} jeton d'accès sans lien avec le jeton d'identité (at_hash)", code = self.code())]
    AccessTokenHash,

    #[error("{code} jeton illisible", code = self.code())]
    MalformedToken(String),
    #[error("{code} algorithme de signature refusé", code = self.code())]
    AlgorithmRefused { alg: String },
    #[error("{code} clé de signature inconnue", code = self.code())]
    UnknownKey { kid: Option<String> },
    #[error("{code} signature invalide", code = self.code())]
    BadSignature,
    #[error("{code} émetteur du jeton inattendu", code = self.code())]
    WrongIssuer,
    #[error("{code} jeton destiné à un autre service", code = self.code())]
    WrongAudience,
    #[error("{code} jeton expiré", code = self.code())]
    Expired,
    #[error("{code} date d'émission du jeton invalide", code = self.code())]
    IssuedAt,
    #[error("{code} jeton rejoué ou d'une autre identification (nonce)", code = self.code())]
    NonceMismatch,
    #[error("{code} niveau de garantie insuffisant", code = self.code())]
    AcrTooLow {
        requested: &'static str,
        got: Option<String>,
    },

    #[error("{code} les informations d'identité ne sont pas signées", code = self.code())]
    UserinfoNotSigned,
    #[error("{code} les informations d'identité concernent une autre personne", code = self.code())]
    SubjectMismatch,
    #[error("{code} identité pivot incomplète ou invalide ({field})", code = self.code())]
    Identity { field: &'static str },

    #[error("{code} déconnexion de FranceConnect non proposée par le fournisseur", code = self.code())]
    NoEndSession,
    #[error("{code} retour de déconnexion FranceConnect inattendu", code = self.code())]
    LogoutState,
}

impl OidcError {
    /// The stable code, e.g. `OIDC023`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "OIDC001",
            Self::Unreachable { .. } => "OIDC002",
            Self::BadResponse { .. } => "OIDC003",
            Self::Discovery(_) => "OIDC004",
            Self::Random => "OIDC005",
            Self::StateMissing => "OIDC010",
            Self::StateUnknown => "OIDC011",
            Self::LoginExpired => "OIDC012",
            Self::IssuerParameter => "OIDC013",
            Self::Provider { .. } => "OIDC014",
            Self::CodeMissing => "OIDC015",
            Self::TokenRefused { .. } => "OIDC016",
            Self::NoIdToken => "OIDC017",
            Self::AccessTokenHash => "OIDC018",
            Self::MalformedToken(_) => "OIDC020",
            Self::AlgorithmRefused { .. } => "OIDC021",
            Self::UnknownKey { .. } => "OIDC022",
            Self::BadSignature => "OIDC023",
            Self::WrongIssuer => "OIDC024",
            Self::WrongAudience => "OIDC025",
            Self::Expired => "OIDC026",
            Self::IssuedAt => "OIDC027",
            Self::NonceMismatch => "OIDC028",
            Self::AcrTooLow { .. } => "OIDC029",
            Self::UserinfoNotSigned => "OIDC030",
            Self::SubjectMismatch => "OIDC031",
            Self::Identity { .. } => "OIDC032",
            Self::NoEndSession => "OIDC040",
            Self::LogoutState => "OIDC041",
        }
    }

    /// Whether the aidant can simply start the identification again (a new login at the
    /// provider), as opposed to a fault to report to an administrator.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::StateMissing
                | Self::StateUnknown
                | Self::LoginExpired
                | Self::Provider { .. }
                | Self::CodeMissing
                | Self::TokenRefused { .. }
                | Self::AcrTooLow { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_with_their_code_and_hide_details() {
        let errors = [
            OidcError::Config("x".into()),
            OidcError::Unreachable {
                step: "token",
                cause: "secret-cause".into(),
            },
            OidcError::StateUnknown,
            OidcError::Provider {
                code: ProviderErrorCode::AccessDenied,
                description: Some("secret-description".into()),
            },
            OidcError::AlgorithmRefused { alg: "none".into() },
            OidcError::AcrTooLow {
                requested: "eidas2",
                got: Some("eidas1".into()),
            },
            OidcError::LogoutState,
        ];
        for e in errors {
            let shown = e.to_string();
            assert!(shown.starts_with(e.code()), "{shown}");
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    #[test]
    fn provider_error_codes_are_sanitised() {
        assert_eq!(
            ProviderErrorCode::parse("access_denied"),
            ProviderErrorCode::AccessDenied
        );
        let odd = ProviderErrorCode::parse("<script>invalid_scope</script>");
        assert_eq!(odd.as_str(), "scriptinvalid_scopescript");
        assert_eq!(
            ProviderErrorCode::parse(&"a".repeat(500)).as_str().len(),
            64
        );
    }
}
