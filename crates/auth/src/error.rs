use thiserror::Error;

/// Failures of the sign-in primitives, each with a stable `AUT` code. None of them carries a
/// secret: messages name what went wrong, never the value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("AUT001 générateur aléatoire indisponible")]
    Random,
    #[error("AUT002 clé de chiffrement des graines TOTP illisible : {0}")]
    InvalidKey(&'static str),
    #[error("AUT003 graine TOTP chiffrée illisible ou altérée")]
    Unseal,
    #[error("AUT004 graine TOTP chiffrée avec une clé inconnue ({0})")]
    UnknownKeyId(String),
    #[error("AUT005 graine TOTP invalide : {0}")]
    InvalidSeed(&'static str),
    #[error("AUT006 pas TOTP non pris en charge (30 ou 60 secondes)")]
    InvalidStep,
    #[error("AUT007 QR code impossible pour cette URI")]
    QrCode,
    #[error("AUT008 chiffrement impossible")]
    Seal,
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Random => "AUT001",
            AuthError::InvalidKey(_) => "AUT002",
            AuthError::Unseal => "AUT003",
            AuthError::UnknownKeyId(_) => "AUT004",
            AuthError::InvalidSeed(_) => "AUT005",
            AuthError::InvalidStep => "AUT006",
            AuthError::QrCode => "AUT007",
            AuthError::Seal => "AUT008",
        }
    }
}
