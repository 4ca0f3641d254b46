//! What the provider's selection pages tell the aidant when they refuse a choice (the usager and
//! the démarche sent to a partner site), beside the protocol's own errors in [`super::OpError`].

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ChoiceRefusal {
    /// The partner's request waited too long (while the aidant signed in, or on the page).
    #[error("{code} La demande du site partenaire a expiré : recommencez depuis ce site.", code = self.code())]
    RequestExpired,
    /// A usager or a démarche the structure's mandates do not cover, or a page altered.
    #[error("{code} Ce choix n'est pas possible : la page a été modifiée ou ne correspond pas aux mandats de votre structure. Le refus est enregistré.", code = self.code())]
    NotCovered,
    #[error("{code} Saisissez le code à 6 chiffres de votre application ou de votre carte.", code = self.code())]
    CodeMissing,
    /// One request gives one answer to the partner (the authorization code is single-use).
    #[error("{code} Ce choix a déjà été envoyé au site partenaire : une demande ne donne lieu qu'à un seul envoi. Pour une autre démarche ou une autre personne, recommencez depuis le site partenaire.", code = self.code())]
    AlreadySent,
}

impl ChoiceRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            ChoiceRefusal::RequestExpired => "OIDC113",
            ChoiceRefusal::NotCovered => "OIDC114",
            ChoiceRefusal::CodeMissing => "OIDC115",
            ChoiceRefusal::AlreadySent => "OIDC116",
        }
    }
}
