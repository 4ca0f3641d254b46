//! The fixed catalogue of ten procedure domains (docs/domain.md).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::FieldError;

/// A procedure domain a mandate can cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Demarche {
    Papiers,
    Famille,
    Social,
    Travail,
    Logement,
    Transports,
    Argent,
    Justice,
    Etranger,
    Loisirs,
}

struct Entry {
    key: &'static str,
    title: &'static str,
    examples: &'static str,
    franceconnect_scope: &'static str,
}

impl Demarche {
    pub const ALL: [Demarche; 10] = [
        Demarche::Papiers,
        Demarche::Famille,
        Demarche::Social,
        Demarche::Travail,
        Demarche::Logement,
        Demarche::Transports,
        Demarche::Argent,
        Demarche::Justice,
        Demarche::Etranger,
        Demarche::Loisirs,
    ];

    const fn entry(self) -> Entry {
        let (key, title, examples, franceconnect_scope) = match self {
            Demarche::Papiers => (
                "papiers",
                "Papiers - Citoyenneté - Élections",
                "état civil, passeport, carte d'identité, élections",
                "papier_citoyennete_election",
            ),
            Demarche::Famille => (
                "famille",
                "Famille - Scolarité",
                "allocations familiales, naissance, mariage, Pacs, scolarité",
                "famille_scolarite",
            ),
            Demarche::Social => (
                "social",
                "Social - Santé",
                "carte Vitale, chômage, handicap, RSA, personnes âgées",
                "social_sante",
            ),
            Demarche::Travail => (
                "travail",
                "Travail - Formation",
                "CDD, concours, retraite, démission, formation",
                "travail_formation",
            ),
            Demarche::Logement => (
                "logement",
                "Logement",
                "aides au logement, logement social, fin de bail",
                "logement",
            ),
            Demarche::Transports => (
                "transports",
                "Transports - Mobilité",
                "carte grise, permis de conduire, infractions",
                "transports_mobilite",
            ),
            Demarche::Argent => (
                "argent",
                "Argent - Impôts - Consommation",
                "impôts, crédit, assurance, surendettement",
                "argent_impots_consommation",
            ),
            Demarche::Justice => (
                "justice",
                "Justice",
                "casier judiciaire, plainte, aide juridictionnelle",
                "justice",
            ),
            Demarche::Etranger => (
                "etranger",
                "Étranger - Europe",
                "titres de séjour, attestation d'accueil, regroupement familial",
                "etranger_europe",
            ),
            Demarche::Loisirs => (
                "loisirs",
                "Loisirs - Sport - Culture",
                "animaux, permis bateau / chasse, tourisme",
                "loisir_sport_culture",
            ),
        };
        Entry {
            key,
            title,
            examples,
            franceconnect_scope,
        }
    }

    /// Stable key, as stored in the database and sent in forms.
    pub const fn key(self) -> &'static str {
        self.entry().key
    }

    /// French title shown to people.
    pub const fn title(self) -> &'static str {
        self.entry().title
    }

    /// Examples of what the domain covers, in French.
    pub const fn examples(self) -> &'static str {
        self.entry().examples
    }

    /// The FranceConnect delegation scope name (`rep_scope` values).
    pub const fn franceconnect_scope(self) -> &'static str {
        self.entry().franceconnect_scope
    }

    /// For over-indebtedness files the aidant may only type what the person dictates.
    pub const fn needs_dictation_warning(self) -> bool {
        matches!(self, Demarche::Argent)
    }

    pub fn from_franceconnect_scope(scope: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|d| d.franceconnect_scope() == scope)
    }
}

impl FromStr for Demarche {
    type Err = FieldError;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.key() == key)
            .ok_or(FieldError::UnknownDemarche)
    }
}

impl fmt::Display for Demarche {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn catalogue_has_ten_distinct_keys_and_scopes() {
        let keys: BTreeSet<_> = Demarche::ALL.iter().map(|d| d.key()).collect();
        let scopes: BTreeSet<_> = Demarche::ALL
            .iter()
            .map(|d| d.franceconnect_scope())
            .collect();
        assert_eq!(keys.len(), 10);
        assert_eq!(scopes.len(), 10);
    }

    #[test]
    fn keys_and_scopes_round_trip() {
        for d in Demarche::ALL {
            assert_eq!(d.key().parse::<Demarche>(), Ok(d));
            assert_eq!(
                Demarche::from_franceconnect_scope(d.franceconnect_scope()),
                Some(d)
            );
        }
        assert_eq!(
            "impots".parse::<Demarche>(),
            Err(FieldError::UnknownDemarche)
        );
        assert_eq!(Demarche::from_franceconnect_scope("argent"), None);
    }

    #[test]
    fn only_argent_carries_the_dictation_warning() {
        let warned: Vec<_> = Demarche::ALL
            .into_iter()
            .filter(|d| d.needs_dictation_warning())
            .collect();
        assert_eq!(warned, vec![Demarche::Argent]);
    }
}
