//! What the mandate pages tell a person when they refuse a step of a journey (the tablet's, the
//! phone's consent at a distance, renewal, revocation, verification, receipts), beside the rules'
//! own refusals in [`crate::MandateError`].

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JourneyRefusal {
    /// The demarches or the duration of a mandate left unchosen on the form.
    #[error("{code} Choisissez au moins une démarche et une durée.", code = self.code())]
    IncompleteChoice,
    /// A consent or a refusal posted for a validation that is gone: recorded, stopped or expired.
    #[error("{code} Ce mandat a déjà été enregistré ou arrêté, ou sa validation a expiré : recommencez le mandat.", code = self.code())]
    ValidationGone,
    #[error("{code} Ce mandat appartient à une autre structure.", code = self.code())]
    OtherStructure,
    #[error("{code} Aucune démarche de ce mandat n'a été révoquée : il n'y a pas d'attestation de révocation.", code = self.code())]
    NothingRevoked,
    #[error("{code} Trop de vérifications depuis cette adresse : réessayez dans quelques minutes.", code = self.code())]
    TooManyVerifications,
    #[error("{code} Ce mandat est celui d'une autre de vos structures : choisissez-la dans votre espace avant de le renouveler.", code = self.code())]
    RenewFromItsStructure,
    #[error("{code} La personne identifiée par FranceConnect n'est pas celle du mandat à renouveler : rien n'a été enregistré. Pour une autre personne, créez un nouveau mandat.", code = self.code())]
    RenewalOtherPerson,
    /// The démarche's title, as the page names it.
    #[error("{code} La structure ne permet pas la démarche « {0} » : elle ne peut pas être renouvelée.", code = self.code())]
    RenewalDemarcheNotAllowed(&'static str),
    #[error("{code} Cette demande d'arrêt n'est pas complète : revenez à l'écran précédent.", code = self.code())]
    IncompleteStop,
    #[error("{code} Trop de demandes depuis cette adresse : réessayez dans quelques minutes.", code = self.code())]
    TooManyReceiptLookups,
    #[error("{code} Cette réponse n'est pas complète : revenez à l'écran précédent.", code = self.code())]
    RemoteIncompleteAnswer,
    #[error("{code} Aucun mandat n'attend votre réponse sur ce téléphone : ouvrez le lien reçu, ou demandez-en un nouveau à la structure.", code = self.code())]
    RemoteNothingPending,
    #[error("{code} Ce lien a déjà servi ou a expiré : demandez un nouveau lien à la structure.", code = self.code())]
    RemoteLinkGone,
    #[error("{code} Trop de liens envoyés : réessayez dans une heure.", code = self.code())]
    RemoteTooManyLinks,
    #[error("{code} Trop de demandes depuis cette adresse : réessayez dans quelques minutes.", code = self.code())]
    RemoteTooManyOpenings,
    /// The list of people helped: a tab, or a page of the list or of a person's history, that
    /// does not exist (a hand-edited address).
    #[error("{code} Cet onglet n'existe pas.", code = self.code())]
    UnknownTab,
    #[error("{code} Ce numéro de page n'existe pas.", code = self.code())]
    UnknownPage,
    #[error("{code} Cette page de l'historique n'existe pas.", code = self.code())]
    UnknownHistoryPage,
}

impl JourneyRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            JourneyRefusal::IncompleteChoice => "MND023",
            JourneyRefusal::ValidationGone => "MND020",
            JourneyRefusal::OtherStructure => "MND021",
            JourneyRefusal::NothingRevoked => "MND022",
            JourneyRefusal::TooManyVerifications => "MND032",
            JourneyRefusal::RenewFromItsStructure => "MND033",
            JourneyRefusal::RenewalOtherPerson => "MND034",
            JourneyRefusal::RenewalDemarcheNotAllowed(_) => "MND035",
            JourneyRefusal::IncompleteStop => "MND036",
            JourneyRefusal::TooManyReceiptLookups => "RCP429",
            JourneyRefusal::RemoteIncompleteAnswer => "RMT400",
            JourneyRefusal::RemoteNothingPending => "RMT404",
            JourneyRefusal::RemoteLinkGone => "RMT410",
            JourneyRefusal::RemoteTooManyLinks => "RMT429",
            JourneyRefusal::RemoteTooManyOpenings => "RMT430",
            JourneyRefusal::UnknownTab => "USG001",
            JourneyRefusal::UnknownPage => "USG002",
            JourneyRefusal::UnknownHistoryPage => "USG003",
        }
    }
}
