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
    #[error("OIDC001 configuration FranceConnect invalide : {0}")]
    Config(String),
    #[error("OIDC002 FranceConnect est injoignable, réessayez dans un instant")]
    Unreachable { step: &'static str, cause: String },
    #[error("OIDC003 réponse inattendue de FranceConnect")]
    BadResponse { step: &'static str, cause: String },
    #[error("OIDC004 la configuration publiée par FranceConnect est invalide")]
    Discovery(String),
    #[error("OIDC005 tirage aléatoire impossible")]
    Random,

    #[error("OIDC010 retour de FranceConnect sans paramètre state : recommencez l'identification")]
    StateMissing,
    #[error(
        "OIDC011 cette identification est inconnue, déjà utilisée ou commencée dans un autre navigateur : recommencez"
    )]
    StateUnknown,
    #[error("OIDC012 l'identification a pris trop de temps : recommencez")]
    LoginExpired,
    #[error("OIDC013 le retour ne vient pas du fournisseur d'identité attendu")]
    IssuerParameter,
    #[error("OIDC014 {}", .code.message())]
    Provider {
        code: ProviderErrorCode,
        description: Option<String>,
    },
    #[error("OIDC015 retour de FranceConnect sans code d'autorisation")]
    CodeMissing,
    #[error("OIDC016 FranceConnect a refusé l'échange du code : recommencez l'identification")]
    TokenRefused { error: String },
    #[error("OIDC017 FranceConnect n'a pas renvoyé de jeton d'identité")]
    NoIdToken,
    #[error("OIDC018 jeton d'accès sans lien avec le jeton d'identité (at_hash)")]
    AccessTokenHash,

    #[error("OIDC020 jeton illisible")]
    MalformedToken(String),
    #[error("OIDC021 algorithme de signature refusé")]
    AlgorithmRefused { alg: String },
    #[error("OIDC022 clé de signature inconnue")]
    UnknownKey { kid: Option<String> },
    #[error("OIDC023 signature invalide")]
    BadSignature,
    #[error("OIDC024 émetteur du jeton inattendu")]
    WrongIssuer,
    #[error("OIDC025 jeton destiné à un autre service")]
    WrongAudience,
    #[error("OIDC026 jeton expiré")]
    Expired,
    #[error("OIDC027 date d'émission du jeton invalide")]
    IssuedAt,
    #[error("OIDC028 jeton rejoué ou d'une autre identification (nonce)")]
    NonceMismatch,
    #[error("OIDC029 niveau de garantie insuffisant")]
    AcrTooLow {
        requested: &'static str,
        got: Option<String>,
    },

    #[error("OIDC030 les informations d'identité ne sont pas signées")]
    UserinfoNotSigned,
    #[error("OIDC031 les informations d'identité concernent une autre personne")]
    SubjectMismatch,
    #[error("OIDC032 identité pivot incomplète ou invalide ({field})")]
    Identity { field: &'static str },

    #[error("OIDC040 déconnexion de FranceConnect non proposée par le fournisseur")]
    NoEndSession,
    #[error("OIDC041 retour de déconnexion FranceConnect inattendu")]
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
