//! Structures, aidants and usagers (docs/domain.md).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use time::Date;

use crate::Demarche;
use crate::error::FieldError;
use crate::fields::{Departement, Email, Siret};
use crate::ids::{AidantId, OrganisationId, UsagerId};

/// The kind of partner structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Bibliotheque,
    CentreSocial,
    SecretariatMairie,
    FranceServices,
    Association,
    Autre,
}

impl OrganisationKind {
    pub const ALL: [OrganisationKind; 6] = [
        OrganisationKind::Bibliotheque,
        OrganisationKind::CentreSocial,
        OrganisationKind::SecretariatMairie,
        OrganisationKind::FranceServices,
        OrganisationKind::Association,
        OrganisationKind::Autre,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            OrganisationKind::Bibliotheque => "bibliotheque",
            OrganisationKind::CentreSocial => "centre_social",
            OrganisationKind::SecretariatMairie => "secretariat_mairie",
            OrganisationKind::FranceServices => "france_services",
            OrganisationKind::Association => "association",
            OrganisationKind::Autre => "autre",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            OrganisationKind::Bibliotheque => "Bibliothèque",
            OrganisationKind::CentreSocial => "Centre social (CCAS)",
            OrganisationKind::SecretariatMairie => "Secrétariat de mairie",
            OrganisationKind::FranceServices => "France Services",
            OrganisationKind::Association => "Association",
            OrganisationKind::Autre => "Autre",
        }
    }
}

impl FromStr for OrganisationKind {
    type Err = FieldError;
    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.key() == key)
            .ok_or(FieldError::UnknownOrganisationKind)
    }
}

impl fmt::Display for OrganisationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A partner structure. Mandates are given to the structure, not to one aidant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub kind: OrganisationKind,
    pub address: String,
    pub departement: Departement,
    pub siret: Siret,
    /// The démarches this structure's aidants may be mandated for (default: all).
    pub allowed_demarches: BTreeSet<Demarche>,
    pub is_active: bool,
    /// Whether renewing a mandate asks the aidé to identify again through FranceConnect
    /// (default: yes). Without it, the aidé's consent on screen is the only proof of presence.
    pub renewal_requires_identification: bool,
}

/// What a coordinator may audit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum CoordinatorScope {
    /// The whole pilot.
    National,
    Departement(Departement),
    Organisation(OrganisationId),
}

impl CoordinatorScope {
    /// Whether a structure falls inside this scope.
    pub fn covers(&self, organisation: &Organisation) -> bool {
        match self {
            CoordinatorScope::National => true,
            CoordinatorScope::Departement(d) => organisation.departement == *d,
            CoordinatorScope::Organisation(id) => organisation.id == *id,
        }
    }
}

/// An account: an aidant, and possibly also a référent or a coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aidant {
    pub id: AidantId,
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    pub profession: String,
    /// Structures the person works for (at least one).
    pub organisations: BTreeSet<OrganisationId>,
    /// The structure they currently act for; always one of `organisations`.
    pub current_organisation: OrganisationId,
    /// An aidant habilité; false for a référent or coordinator who does not help people.
    pub can_create_mandates: bool,
    pub referent_of: BTreeSet<OrganisationId>,
    pub coordinator_scopes: Vec<CoordinatorScope>,
    pub is_active: bool,
}

impl Aidant {
    pub fn is_member_of(&self, organisation: &OrganisationId) -> bool {
        self.organisations.contains(organisation)
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub const fn key(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

impl FromStr for Gender {
    type Err = FieldError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "male" => Ok(Gender::Male),
            "female" => Ok(Gender::Female),
            _ => Err(FieldError::InvalidGender),
        }
    }
}

/// INSEE country code for France in the `birthcountry` claim.
pub const FRANCE_INSEE_CODE: &str = "99100";

/// FranceConnect's *identité pivot*, plus the optional claims we keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PivotIdentity {
    /// Space-separated given names, as FranceConnect sends them.
    pub given_name: String,
    /// Birth name, upper-case.
    pub family_name: String,
    pub birthdate: Date,
    pub gender: Gender,
    /// INSEE commune code; `None` when born abroad.
    pub birthplace: Option<String>,
    /// INSEE country code (99100 = France).
    pub birthcountry: String,
    pub email: Option<Email>,
    pub preferred_username: Option<String>,
}

fn is_insee_code(value: &str) -> bool {
    // Commune codes are 5 characters: digits, or 2A/2B for Corsica.
    value.len() == 5
        && value
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i == 1 && matches!(c, 'A' | 'B')))
}

impl PivotIdentity {
    /// Checks the claims' formats and their coherence: a person born in France has a birthplace,
    /// a person born abroad has none.
    pub fn validate(&self) -> Result<(), FieldError> {
        crate::fields::text(&self.given_name)?;
        crate::fields::text(&self.family_name)?;
        if let Some(username) = &self.preferred_username {
            crate::fields::text(username)?;
        }
        if !is_insee_code(&self.birthcountry) || !self.birthcountry.starts_with("99") {
            return Err(FieldError::InvalidInseeCode);
        }
        match (&self.birthplace, self.birthcountry == FRANCE_INSEE_CODE) {
            (Some(place), true) if is_insee_code(place) => Ok(()),
            (None, false) => Ok(()),
            _ => Err(FieldError::InvalidInseeCode),
        }
    }
}

/// A person helped. Keyed by a pseudonymous subject, never the upstream `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usager {
    pub id: UsagerId,
    /// Keyed hash of (issuer, upstream sub): stable across sign-ins, useless to anyone without the key.
    pub subject: String,
    pub identity: PivotIdentity,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn identity() -> PivotIdentity {
        PivotIdentity {
            given_name: "Angela Claire Louise".into(),
            family_name: "DUBOIS".into(),
            birthdate: date!(1962 - 08 - 24),
            gender: Gender::Female,
            birthplace: Some("75107".into()),
            birthcountry: FRANCE_INSEE_CODE.into(),
            email: None,
            preferred_username: None,
        }
    }

    #[test]
    fn birthplace_rules() {
        assert_eq!(identity().validate(), Ok(()));
        let abroad = PivotIdentity {
            birthplace: None,
            birthcountry: "99217".into(),
            ..identity()
        };
        assert_eq!(abroad.validate(), Ok(()));
        let missing = PivotIdentity {
            birthplace: None,
            ..identity()
        };
        assert_eq!(missing.validate(), Err(FieldError::InvalidInseeCode));
        let abroad_with_place = PivotIdentity {
            birthcountry: "99217".into(),
            ..identity()
        };
        assert_eq!(
            abroad_with_place.validate(),
            Err(FieldError::InvalidInseeCode)
        );
        let corsica = PivotIdentity {
            birthplace: Some("2A004".into()),
            ..identity()
        };
        assert_eq!(corsica.validate(), Ok(()));
    }

    #[test]
    fn kinds_round_trip() {
        for kind in OrganisationKind::ALL {
            assert_eq!(kind.key().parse(), Ok(kind));
        }
        assert_eq!(
            "mairie".parse::<OrganisationKind>(),
            Err(FieldError::UnknownOrganisationKind)
        );
    }
}
