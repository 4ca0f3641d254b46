//! Typed refusals. Each variant carries a stable code (shown to people next to a French message,
//! and used by tests and logs), so wording can change without breaking anything that matches on it.

use thiserror::Error;

/// A field that does not meet its format or length rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FieldError {
    #[error("MND101 adresse e-mail invalide")]
    InvalidEmail,
    #[error("MND102 code département INSEE invalide")]
    InvalidDepartement,
    #[error("MND103 numéro SIRET invalide")]
    InvalidSiret,
    #[error("MND104 champ obligatoire vide")]
    Empty,
    #[error("MND105 champ trop long")]
    TooLong,
    #[error("MND106 caractère de contrôle interdit")]
    ControlCharacter,
    #[error("MND107 démarche inconnue")]
    UnknownDemarche,
    #[error("MND108 durée de mandat inconnue")]
    UnknownDuration,
    #[error("MND109 type de structure inconnu")]
    UnknownOrganisationKind,
    #[error("MND110 code INSEE de lieu de naissance invalide")]
    InvalidInseeCode,
    #[error("MND111 genre invalide")]
    InvalidGender,
    #[error("MND112 date de naissance invalide")]
    InvalidBirthdate,
}

impl FieldError {
    /// The stable code, e.g. `MND101`.
    pub fn code(self) -> &'static str {
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
    #[error("MND001 aucune démarche choisie")]
    NoDemarche,
    #[error("MND002 démarche non autorisée pour cette structure : {0}")]
    DemarcheNotAllowed(crate::Demarche),
    #[error("MND003 structure inactive")]
    OrganisationInactive,
    #[error("MND004 compte aidant inactif")]
    AidantInactive,
    #[error("MND005 l'aidant n'est pas habilité à créer des mandats")]
    AidantNotHabilitated,
    #[error("MND006 l'aidant ne travaille pas dans cette structure")]
    NotAMember,
    #[error("MND007 ce mandat appartient à une autre structure")]
    OtherOrganisation,
    #[error("MND008 autorisation introuvable dans ce mandat")]
    UnknownAuthorization,
    #[error("MND009 autorisation déjà révoquée")]
    AlreadyRevoked,
    #[error("MND010 mandat expiré")]
    MandateExpired,
    #[error("MND011 la structure courante de l'aidant est une autre structure")]
    NotCurrentOrganisation,
    #[error("MND012 démarche en double")]
    DuplicateDemarche,
    #[error("MND013 le mandat renouvelé concerne une autre personne")]
    OtherUsager,
    /// The consent came before the comprehension check was passed or skipped
    /// (`crate::comprehension`).
    #[error(
        "MND014 la personne accompagnée répond d'abord aux trois questions (ou les passe après une explication), puis donne son accord"
    )]
    ComprehensionNotDone,
    #[error(
        "MND015 cette réponse ne fait pas partie des réponses proposées : touchez une des réponses de la question"
    )]
    UnknownComprehensionAnswer,
    #[error(
        "MND016 les questions ne peuvent être passées qu'après une explication : répondez d'abord à la question"
    )]
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
    #[error("ACT001 compte aidant inactif")]
    AidantInactive,
    #[error("ACT002 structure inactive")]
    OrganisationInactive,
    #[error("ACT003 l'aidant ne travaille pas dans cette structure")]
    NotAMember,
    #[error("ACT004 l'aidant n'est pas habilité à agir pour autrui")]
    AidantNotHabilitated,
    #[error("ACT005 démarche non autorisée pour cette structure")]
    DemarcheNotAllowed,
    #[error("ACT006 aucun mandat ne couvre cette démarche")]
    DemarcheNotCovered,
    #[error("ACT007 mandat expiré")]
    Expired,
    #[error("ACT008 autorisation révoquée")]
    Revoked,
    #[error("ACT009 autorisation suspendue : la personne a signalé un usage")]
    Suspended,
}

impl Refusal {
    pub fn code(self) -> &'static str {
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
