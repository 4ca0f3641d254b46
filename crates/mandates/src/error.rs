//! Typed refusals. Each variant carries a stable code (shown to people next to a French message,
//! and used by tests and logs), so wording can change without breaking anything that matches on it.

use thiserror::Error;

/// A field that does not meet its format or length rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FieldError {
    #[error("{code} adresse e-mail invalide", code = self.code())]
    InvalidEmail,
    #[error("{code} code département INSEE invalide", code = self.code())]
    InvalidDepartement,
    #[error("{code} numéro SIRET invalide", code = self.code())]
    InvalidSiret,
    #[error("{code} champ obligatoire vide", code = self.code())]
    Empty,
    #[error("{code} champ trop long", code = self.code())]
    TooLong,
    #[error("{code} caractère de contrôle interdit", code = self.code())]
    ControlCharacter,
    #[error("{code} démarche inconnue", code = self.code())]
    UnknownDemarche,
    #[error("{code} durée de mandat inconnue", code = self.code())]
    UnknownDuration,
    #[error("{code} type de structure inconnu", code = self.code())]
    UnknownOrganisationKind,
    #[error("{code} code INSEE de lieu de naissance invalide", code = self.code())]
    InvalidInseeCode,
    #[error("{code} genre invalide", code = self.code())]
    InvalidGender,
    #[error("{code} date de naissance invalide", code = self.code())]
    InvalidBirthdate,
}

impl FieldError {
    /// The stable code, e.g. `MND101`.
    pub fn code(&self) -> &'static str {
        match self {
            FieldError::InvalidEmail => "MND101",
            FieldError::InvalidDepartement => "MND102",
            FieldError::InvalidSiret => "MND103",
            FieldError::Empty => "MND104",
            FieldError::TooLong => "MND105",
            FieldError::ControlCharacter => "MND106",
            FieldError::UnknownDemarche => "MND107",
            FieldError::UnknownDuration => "MND108",
            FieldError::UnknownOrganisationKind => "MND109",
            FieldError::InvalidInseeCode => "MND110",
            FieldError::InvalidGender => "MND111",
            FieldError::InvalidBirthdate => "MND112",
        }
    }
}

/// Why a mandate cannot be created, renewed or revoked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MandateError {
    #[error("{code} aucune démarche choisie", code = self.code())]
    NoDemarche,
    #[error("{code} La démarche « {title} » n'est pas permise à cette structure.", code = self.code(), title = .0.title())]
    DemarcheNotAllowed(crate::Demarche),
    #[error("{code} structure inactive", code = self.code())]
    OrganisationInactive,
    #[error("{code} compte aidant inactif", code = self.code())]
    AidantInactive,
    #[error("{code} l'aidant n'est pas habilité à créer des mandats", code = self.code())]
    AidantNotHabilitated,
    #[error("{code} l'aidant ne travaille pas dans cette structure", code = self.code())]
    NotAMember,
    #[error("{code} ce mandat appartient à une autre structure", code = self.code())]
    OtherOrganisation,
    #[error("{code} autorisation introuvable dans ce mandat", code = self.code())]
    UnknownAuthorization,
    #[error("{code} autorisation déjà révoquée", code = self.code())]
    AlreadyRevoked,
    #[error("{code} mandat expiré", code = self.code())]
    MandateExpired,
    #[error("{code} la structure courante de l'aidant est une autre structure", code = self.code())]
    NotCurrentOrganisation,
    #[error("{code} démarche en double", code = self.code())]
    DuplicateDemarche,
    #[error("{code} le mandat renouvelé concerne une autre personne", code = self.code())]
    OtherUsager,
    /// The consent came before the comprehension check was passed or skipped
    /// (`crate::comprehension`).
    #[error("{code} la personne accompagnée répond d'abord aux trois questions (ou les passe après une explication), puis donne son accord", code = self.code())]
    ComprehensionNotDone,
    #[error("{code} cette réponse ne fait pas partie des réponses proposées : touchez une des réponses de la question", code = self.code())]
    UnknownComprehensionAnswer,
    #[error("{code} les questions ne peuvent être passées qu'après une explication : répondez d'abord à la question", code = self.code())]
    ComprehensionSkipTooEarly,
}

impl MandateError {
    pub fn code(&self) -> &'static str {
        match self {
            MandateError::NoDemarche => "MND001",
            MandateError::DemarcheNotAllowed(_) => "MND002",
            MandateError::OrganisationInactive => "MND003",
            MandateError::AidantInactive => "MND004",
            MandateError::AidantNotHabilitated => "MND005",
            MandateError::NotAMember => "MND006",
            MandateError::OtherOrganisation => "MND007",
            MandateError::UnknownAuthorization => "MND008",
            MandateError::AlreadyRevoked => "MND009",
            MandateError::MandateExpired => "MND010",
            MandateError::NotCurrentOrganisation => "MND011",
            MandateError::DuplicateDemarche => "MND012",
            MandateError::OtherUsager => "MND013",
            MandateError::ComprehensionNotDone => "MND014",
            MandateError::UnknownComprehensionAnswer => "MND015",
            MandateError::ComprehensionSkipTooEarly => "MND016",
        }
    }
}

/// Why an aidant may not act for a usager at a given instant (`can_act`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("{code} compte aidant inactif", code = self.code())]
    AidantInactive,
    #[error("{code} structure inactive", code = self.code())]
    OrganisationInactive,
    #[error("{code} l'aidant ne travaille pas dans cette structure", code = self.code())]
    NotAMember,
    #[error("{code} l'aidant n'est pas habilité à agir pour autrui", code = self.code())]
    AidantNotHabilitated,
    #[error("{code} démarche non autorisée pour cette structure", code = self.code())]
    DemarcheNotAllowed,
    #[error("{code} aucun mandat ne couvre cette démarche", code = self.code())]
    DemarcheNotCovered,
    #[error("{code} mandat expiré", code = self.code())]
    Expired,
    #[error("{code} autorisation révoquée", code = self.code())]
    Revoked,
    #[error("{code} autorisation suspendue : la personne a signalé un usage", code = self.code())]
    Suspended,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::AidantInactive => "ACT001",
            Refusal::OrganisationInactive => "ACT002",
            Refusal::NotAMember => "ACT003",
            Refusal::AidantNotHabilitated => "ACT004",
            Refusal::DemarcheNotAllowed => "ACT005",
            Refusal::DemarcheNotCovered => "ACT006",
            Refusal::Expired => "ACT007",
            Refusal::Revoked => "ACT008",
            Refusal::Suspended => "ACT009",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_with_their_code() {
        for e in [
            FieldError::InvalidEmail,
            FieldError::InvalidBirthdate,
            FieldError::TooLong,
        ] {
            assert!(e.to_string().starts_with(e.code()));
        }
        for e in [
            MandateError::NoDemarche,
            MandateError::OtherUsager,
            MandateError::ComprehensionNotDone,
            MandateError::UnknownComprehensionAnswer,
            MandateError::ComprehensionSkipTooEarly,
        ] {
            assert!(e.to_string().starts_with(e.code()));
        }
        for e in [
            Refusal::AidantInactive,
            Refusal::Revoked,
            Refusal::Suspended,
        ] {
            assert!(e.to_string().starts_with(e.code()));
        }
    }
}
