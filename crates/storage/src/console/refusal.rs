//! What the consoles tell a référent or a coordinator when they refuse a request.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsoleRefusal {
    /// Outside the account's scope: the attempt is journaled (`access.denied`).
    #[error("{code} Ces données sont hors de votre périmètre. La tentative a été enregistrée dans le journal.", code = self.code())]
    OutOfScope,
    #[error("{code} Cette entrée n'est pas encore couverte par un point de contrôle signé. Réessayez dans une minute.", code = self.code())]
    NotYetCheckpointed,
    /// A filter or a form field the console cannot take, named in the message.
    #[error("{code} {0}", code = self.code())]
    Invalid(String),
    #[error("{code} Ce compte ne peut pas être désactivé d'ici : c'est le vôtre, ou il exerce aussi dans une structure dont vous n'êtes pas référent. Adressez-vous à l'administrateur du service.", code = self.code())]
    MayNotDeactivate,
    #[error("{code} Aucune carte libre ne porte ce numéro de série. Vérifiez le numéro imprimé au dos de la carte.", code = self.code())]
    NoFreeCard,
}

impl ConsoleRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            ConsoleRefusal::OutOfScope => "CON403",
            ConsoleRefusal::NotYetCheckpointed => "CON409",
            ConsoleRefusal::Invalid(_) => "CON422",
            ConsoleRefusal::MayNotDeactivate => "CON423",
            ConsoleRefusal::NoFreeCard => "CON424",
        }
    }
}
