//! What the sign-in tells a person when it refuses: the `AUTH` codes, shown on the pages and
//! written in the journal's refusals. (`AUT` codes, in [`crate::AuthError`], are the sign-in's
//! own failures, for the logs.)

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignInRefusal {
    /// A form without its CSRF token, or with another session's (OWASP CSRF cheat sheet).
    #[error("{code} Le formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez.", code = self.code())]
    FormExpired,
    /// The link or the code refused, worded the same whatever the reason, so a page does not
    /// tell which one was wrong.
    #[error("{code} Connexion impossible : le lien a peut-être expiré ou déjà servi, ou le code n'est pas le bon. Demandez un nouveau lien et réessayez. Si cela se reproduit, contactez votre référent.", code = self.code())]
    Refused,
    #[error("{code} Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer.", code = self.code())]
    TooManyAttempts,
    /// A second-factor code typed again (step-up) and not accepted.
    #[error("{code} Ce code n'a pas été accepté. Saisissez le code affiché en ce moment.", code = self.code())]
    CodeRefused,
    #[error("{code} Vous n'exercez pas dans cette structure.", code = self.code())]
    NotAtThisStructure,
    #[error("{code} Cette adresse e-mail n'est pas valide.", code = self.code())]
    InvalidEmail,
    #[error("{code} Votre compte est bloqué : trop de codes faux ont été saisis. Demandez à votre référent de débloquer votre second facteur, puis demandez un nouveau lien de connexion.", code = self.code())]
    Locked,
}

impl SignInRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            SignInRefusal::FormExpired => "AUTH001",
            SignInRefusal::Refused => "AUTH002",
            SignInRefusal::TooManyAttempts => "AUTH003",
            SignInRefusal::CodeRefused => "AUTH005",
            SignInRefusal::NotAtThisStructure => "AUTH006",
            SignInRefusal::InvalidEmail => "AUTH007",
            SignInRefusal::Locked => "AUTH008",
        }
    }
}
