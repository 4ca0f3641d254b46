use thiserror::Error;

/// Failures of the sign-in primitives, each with a stable `AUT` code. None of them carries a
/// secret: messages name what went wrong, never the value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("{code} générateur aléatoire indisponible", code = self.code())]
    Random,
    #[error("{code} clé de chiffrement des graines TOTP illisible : {0}", code = self.code())]
    InvalidKey(&'static str),
    #[error("{code} graine TOTP chiffrée illisible ou altérée", code = self.code())]
    Unseal,
    #[error("{code} graine TOTP chiffrée avec une clé inconnue ({0})", code = self.code())]
    UnknownKeyId(String),
    #[error("{code} graine TOTP invalide : {0}", code = self.code())]
    InvalidSeed(&'static str),
    #[error("{code} pas TOTP non pris en charge (30 ou 60 secondes)", code = self.code())]
    InvalidStep,
    #[error("{code} QR code impossible pour cette URI", code = self.code())]
    QrCode,
    #[error("{code} chiffrement impossible", code = self.code())]
    Seal,
    /// The key ring's file could not be read or created (its path and the cause).
    #[error("{code} fichier de la clé des graines TOTP illisible : {0}", code = self.code())]
    KeyFile(String),
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
            AuthError::KeyFile(_) => "AUT009",
        }
    }
}
