//! Mandates, their per-démarche authorizations, and the statuses derived from them.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::Demarche;
use crate::error::FieldError;
use crate::ids::{AidantId, AuthorizationId, MandateId, OrganisationId, UsagerId};

/// A mandate is "expiring soon" within this window before its end.
pub const EXPIRING_SOON: Duration = Duration::days(30);

/// The four durations offered. A mandate never lasts more than 365 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum MandateDuration {
    OneDay,
    OneMonth,
    SixMonths,
    OneYear,
}

impl MandateDuration {
    pub const ALL: [MandateDuration; 4] = [
        MandateDuration::OneDay,
        MandateDuration::OneMonth,
        MandateDuration::SixMonths,
        MandateDuration::OneYear,
    ];

    pub const fn days(self) -> u16 {
        match self {
            MandateDuration::OneDay => 1,
            MandateDuration::OneMonth => 31,
            MandateDuration::SixMonths => 182,
            MandateDuration::OneYear => 365,
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            MandateDuration::OneDay => "1 jour",
            MandateDuration::OneMonth => "1 mois (31 jours)",
            MandateDuration::SixMonths => "6 mois (182 jours)",
            MandateDuration::OneYear => "1 an (365 jours)",
        }
    }

    pub fn from_days(days: u16) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|d| d.days() == days)
            .ok_or(FieldError::UnknownDuration)
    }

    /// Expiry is the creation instant plus N whole days.
    pub fn expiry(self, created_at: OffsetDateTime) -> OffsetDateTime {
        created_at + Duration::days(i64::from(self.days()))
    }
}

impl TryFrom<u16> for MandateDuration {
    type Error = FieldError;
    fn try_from(days: u16) -> Result<Self, Self::Error> {
        Self::from_days(days)
    }
}

impl From<MandateDuration> for u16 {
    fn from(d: MandateDuration) -> u16 {
        d.days()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// Revoked by a person (the aidé, through an aidant).
    Revoked,
    /// Replaced by a newer mandate covering the same démarche for the same person and structure.
    Superseded,
}

impl RevocationReason {
    pub const fn key(self) -> &'static str {
        match self {
            RevocationReason::Revoked => "revoked",
            RevocationReason::Superseded => "superseded",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "revoked" => Some(RevocationReason::Revoked),
            "superseded" => Some(RevocationReason::Superseded),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub at: OffsetDateTime,
    pub reason: RevocationReason,
}

/// Permission for one démarche within a mandate. It repeats its mandate's structure, usager and
/// expiry so that `can_act` and the database's uniqueness rule need no join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    pub id: AuthorizationId,
    pub mandate_id: MandateId,
    pub organisation_id: OrganisationId,
    pub usager_id: UsagerId,
    pub demarche: Demarche,
    pub expires_at: OffsetDateTime,
    pub revocation: Option<Revocation>,
}

impl Authorization {
    /// Revoked at or before `at` (a revocation recorded later has no effect on earlier instants).
    pub fn is_revoked_at(&self, at: OffsetDateTime) -> bool {
        matches!(self.revocation, Some(r) if r.at <= at)
    }

    pub fn is_expired_at(&self, at: OffsetDateTime) -> bool {
        at >= self.expires_at
    }

    /// Usable for a delegated action at `at`: neither revoked nor expired.
    pub fn is_usable_at(&self, at: OffsetDateTime) -> bool {
        !self.is_revoked_at(at) && !self.is_expired_at(at)
    }

    /// Ended early: revoked before its natural end.
    fn ended_by_revocation_at(&self, at: OffsetDateTime) -> bool {
        matches!(self.revocation, Some(r) if r.at <= at && r.at < self.expires_at)
    }
}

/// Derived status; there is no status column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MandateStatus {
    Active { expiring_soon: bool },
    Expired,
    Revoked,
}

impl MandateStatus {
    pub const fn key(self) -> &'static str {
        match self {
            MandateStatus::Active { .. } => "active",
            MandateStatus::Expired => "expired",
            MandateStatus::Revoked => "revoked",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            MandateStatus::Active {
                expiring_soon: true,
            } => "Actif, expire bientôt",
            MandateStatus::Active {
                expiring_soon: false,
            } => "Actif",
            MandateStatus::Expired => "Expiré",
            MandateStatus::Revoked => "Révoqué",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mandate {
    pub id: MandateId,
    pub organisation_id: OrganisationId,
    pub usager_id: UsagerId,
    pub created_by: AidantId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub duration: MandateDuration,
    /// Version of the legal text shown and printed, so old mandates print with their own text.
    pub legal_text_version: String,
    /// Hex SHA-256 of the mandate's content (see [`content_hash`]).
    pub content_hash: String,
    pub renewal_of: Option<MandateId>,
    pub authorizations: Vec<Authorization>,
}

impl Mandate {
    /// Revoked when every authorization was revoked before the mandate's end; expired once
    /// `expires_at` is reached; active otherwise.
    pub fn status_at(&self, at: OffsetDateTime) -> MandateStatus {
        let all_revoked = !self.authorizations.is_empty()
            && self
                .authorizations
                .iter()
                .all(|a| a.ended_by_revocation_at(at));
        if all_revoked {
            MandateStatus::Revoked
        } else if at >= self.expires_at {
            MandateStatus::Expired
        } else {
            MandateStatus::Active {
                expiring_soon: self.expires_at - at <= EXPIRING_SOON,
            }
        }
    }

    pub fn authorization(&self, id: &AuthorizationId) -> Option<&Authorization> {
        self.authorizations.iter().find(|a| a.id == *id)
    }

    /// Démarches still usable at `at`.
    pub fn active_demarches_at(&self, at: OffsetDateTime) -> Vec<Demarche> {
        self.authorizations
            .iter()
            .filter(|a| a.is_usable_at(at))
            .map(|a| a.demarche)
            .collect()
    }
}

/// The fields that make a mandate what it is, hashed so a printed mandate can be checked against
/// the record: structure, person, démarches, dates and legal text version.
pub fn content_hash(
    organisation_id: &OrganisationId,
    usager_id: &UsagerId,
    demarches: &[Demarche],
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    legal_text_version: &str,
) -> String {
    let mut sorted: Vec<&str> = demarches.iter().map(|d| d.key()).collect();
    sorted.sort_unstable();
    // One field per line; no field can contain a newline (ids are UUIDs, keys are fixed).
    let text = format!(
        "aidants-connect mandate v1\norganisation={}\nusager={}\ndemarches={}\ncreated_at={}\nexpires_at={}\nlegal_text={}\n",
        organisation_id,
        usager_id,
        sorted.join(","),
        created_at.unix_timestamp_nanos() / 1_000,
        expires_at.unix_timestamp_nanos() / 1_000,
        legal_text_version.replace('\n', " "),
    );
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn durations_are_the_four_offered_and_never_exceed_a_year() {
        let days: Vec<u16> = MandateDuration::ALL.iter().map(|d| d.days()).collect();
        assert_eq!(days, vec![1, 31, 182, 365]);
        assert_eq!(
            MandateDuration::from_days(30),
            Err(FieldError::UnknownDuration)
        );
        let start = datetime!(2026-02-28 10:00 UTC);
        assert_eq!(
            MandateDuration::OneYear.expiry(start),
            datetime!(2027-02-28 10:00 UTC)
        );
        assert_eq!(
            MandateDuration::OneDay.expiry(start),
            datetime!(2026-03-01 10:00 UTC)
        );
    }
}
