//! The mandate rules as pure functions of their inputs and `now` (docs/domain.md, "Invariants").
//! Storage loads what a rule needs, calls it, and writes the result with its journal entries in
//! one transaction.

use std::collections::BTreeSet;
use time::OffsetDateTime;

use crate::Demarche;
use crate::error::{MandateError, Refusal};
use crate::ids::{AuthorizationId, MandateId, OrganisationId, UsagerId};
use crate::mandate::{
    Authorization, Mandate, MandateDuration, Revocation, RevocationReason, content_hash,
};
use crate::people::{Aidant, Organisation};

/// What an aidant asks for when creating (or renewing) a mandate.
#[derive(Debug, Clone)]
pub struct MandateRequest<'a> {
    pub organisation: &'a Organisation,
    pub aidant: &'a Aidant,
    pub usager_id: &'a UsagerId,
    pub demarches: &'a [Demarche],
    pub duration: MandateDuration,
    pub legal_text_version: &'a str,
}

/// A validated mandate, ready to store, and the older authorizations it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandatePlan {
    pub mandate: Mandate,
    /// Authorizations of the same structure and person for the same démarches, to be revoked with
    /// reason [`RevocationReason::Superseded`] at the mandate's creation instant.
    pub superseded: Vec<AuthorizationId>,
}

/// Databases keep microseconds; rounding here keeps the stored record and its hash identical.
pub fn to_stored_precision(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}

/// May this aidant create, renew or revoke mandates of this structure now? Only for their
/// *current* structure, so that a person working in two places cannot mix them up.
pub fn check_can_manage(
    aidant: &Aidant,
    organisation: &OrganisationId,
) -> Result<(), MandateError> {
    if !aidant.is_active {
        return Err(MandateError::AidantInactive);
    }
    if !aidant.can_create_mandates {
        return Err(MandateError::AidantNotHabilitated);
    }
    if !aidant.is_member_of(organisation) {
        return Err(MandateError::NotAMember);
    }
    if aidant.current_organisation != *organisation {
        return Err(MandateError::NotCurrentOrganisation);
    }
    Ok(())
}

/// Checks a creation request and builds the mandate.
///
/// `current` holds the structure's authorizations for this person that are not yet revoked
/// (expired ones included): any of them covering a requested démarche is superseded, which keeps
/// "one active authorization per (structure, usager, démarche)".
pub fn plan_mandate(
    request: &MandateRequest<'_>,
    current: &[Authorization],
    new_id: &mut dyn FnMut() -> String,
    now: OffsetDateTime,
) -> Result<MandatePlan, MandateError> {
    let organisation = request.organisation;
    check_can_manage(request.aidant, &organisation.id)?;
    if !organisation.is_active {
        return Err(MandateError::OrganisationInactive);
    }
    if request.demarches.is_empty() {
        return Err(MandateError::NoDemarche);
    }
    let mut seen = BTreeSet::new();
    for &demarche in request.demarches {
        if !seen.insert(demarche) {
            return Err(MandateError::DuplicateDemarche);
        }
        if !organisation.allowed_demarches.contains(&demarche) {
            return Err(MandateError::DemarcheNotAllowed(demarche));
        }
    }

    let created_at = to_stored_precision(now);
    let expires_at = request.duration.expiry(created_at);
    let mandate_id = MandateId::new(new_id());
    let authorizations = seen
        .iter()
        .map(|&demarche| Authorization {
            id: AuthorizationId::new(new_id()),
            mandate_id: mandate_id.clone(),
            organisation_id: organisation.id.clone(),
            usager_id: request.usager_id.clone(),
            demarche,
            expires_at,
            revocation: None,
        })
        .collect();
    let superseded = current
        .iter()
        .filter(|a| {
            a.organisation_id == organisation.id
                && a.usager_id == *request.usager_id
                && a.revocation.is_none()
                && seen.contains(&a.demarche)
        })
        .map(|a| a.id.clone())
        .collect();
    let demarches: Vec<Demarche> = seen.into_iter().collect();
    let mandate = Mandate {
        content_hash: content_hash(
            &organisation.id,
            request.usager_id,
            &demarches,
            created_at,
            expires_at,
            request.legal_text_version,
        ),
        id: mandate_id,
        organisation_id: organisation.id.clone(),
        usager_id: request.usager_id.clone(),
        created_by: request.aidant.id.clone(),
        created_at,
        expires_at,
        duration: request.duration,
        legal_text_version: request.legal_text_version.to_owned(),
        renewal_of: None,
        authorizations,
    };
    Ok(MandatePlan {
        mandate,
        superseded,
    })
}

/// Renewal: a new mandate for a person the structure already holds a mandate for. It follows
/// the creation rules and records which mandate it renews.
pub fn plan_renewal(
    previous: &Mandate,
    request: &MandateRequest<'_>,
    current: &[Authorization],
    new_id: &mut dyn FnMut() -> String,
    now: OffsetDateTime,
) -> Result<MandatePlan, MandateError> {
    if previous.organisation_id != request.organisation.id {
        return Err(MandateError::OtherOrganisation);
    }
    if previous.usager_id != *request.usager_id {
        return Err(MandateError::OtherUsager);
    }
    let mut plan = plan_mandate(request, current, new_id, now)?;
    plan.mandate.renewal_of = Some(previous.id.clone());
    Ok(plan)
}

fn check_revocable(
    mandate: &Mandate,
    aidant: &Aidant,
    now: OffsetDateTime,
) -> Result<(), MandateError> {
    check_can_manage(aidant, &mandate.organisation_id).map_err(|e| match e {
        MandateError::NotAMember | MandateError::NotCurrentOrganisation => {
            MandateError::OtherOrganisation
        }
        other => other,
    })?;
    check_not_expired(mandate, now)
}

/// Revokes one démarche of a mandate, effective at `now`.
pub fn revoke_authorization(
    mandate: &Mandate,
    authorization: &AuthorizationId,
    aidant: &Aidant,
    now: OffsetDateTime,
) -> Result<Revocation, MandateError> {
    check_revocable(mandate, aidant, now)?;
    revoke_one(mandate, authorization, now)
}

/// [`revoke_authorization`] asked by the person the mandate represents, signed in as themselves
/// (the caller has checked the mandate is theirs): no structure rule applies to them.
pub fn revoke_authorization_by_person(
    mandate: &Mandate,
    authorization: &AuthorizationId,
    now: OffsetDateTime,
) -> Result<Revocation, MandateError> {
    check_not_expired(mandate, now)?;
    revoke_one(mandate, authorization, now)
}

fn check_not_expired(mandate: &Mandate, now: OffsetDateTime) -> Result<(), MandateError> {
    if now >= mandate.expires_at {
        return Err(MandateError::MandateExpired);
    }
    Ok(())
}

fn revoke_one(
    mandate: &Mandate,
    authorization: &AuthorizationId,
    now: OffsetDateTime,
) -> Result<Revocation, MandateError> {
    let target = mandate
        .authorization(authorization)
        .ok_or(MandateError::UnknownAuthorization)?;
    if target.revocation.is_some() {
        return Err(MandateError::AlreadyRevoked);
    }
    Ok(Revocation {
        at: to_stored_precision(now),
        reason: RevocationReason::Revoked,
    })
}

/// Revokes every démarche still in force; returns the authorizations to revoke.
pub fn revoke_mandate(
    mandate: &Mandate,
    aidant: &Aidant,
    now: OffsetDateTime,
) -> Result<(Vec<AuthorizationId>, Revocation), MandateError> {
    check_revocable(mandate, aidant, now)?;
    revoke_all(mandate, now)
}

/// [`revoke_mandate`] asked by the person the mandate represents (see
/// [`revoke_authorization_by_person`]).
pub fn revoke_mandate_by_person(
    mandate: &Mandate,
    now: OffsetDateTime,
) -> Result<(Vec<AuthorizationId>, Revocation), MandateError> {
    check_not_expired(mandate, now)?;
    revoke_all(mandate, now)
}

fn revoke_all(
    mandate: &Mandate,
    now: OffsetDateTime,
) -> Result<(Vec<AuthorizationId>, Revocation), MandateError> {
    let open: Vec<AuthorizationId> = mandate
        .authorizations
        .iter()
        .filter(|a| a.revocation.is_none())
        .map(|a| a.id.clone())
        .collect();
    if open.is_empty() {
        return Err(MandateError::AlreadyRevoked);
    }
    Ok((
        open,
        Revocation {
            at: to_stored_precision(now),
            reason: RevocationReason::Revoked,
        },
    ))
}

/// What [`can_act`] checks about the aidant and the structure before any authorization. Storage
/// reads these five facts in one statement on the delegated-use path (three times per delegated
/// sign-in), instead of loading the whole aidant and structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub aidant_active: bool,
    pub organisation_active: bool,
    /// The aidant is a member of the structure.
    pub member: bool,
    /// The aidant may create and use mandates.
    pub habilitated: bool,
    /// The structure allows the démarche.
    pub demarche_allowed: bool,
}

impl Standing {
    pub fn of(aidant: &Aidant, organisation: &Organisation, demarche: Demarche) -> Self {
        Self {
            aidant_active: aidant.is_active,
            organisation_active: organisation.is_active,
            member: aidant.is_member_of(&organisation.id),
            habilitated: aidant.can_create_mandates,
            demarche_allowed: organisation.allowed_demarches.contains(&demarche),
        }
    }
}

/// May `aidant`, acting for `organisation`, act for `usager` on `demarche` at instant `at`?
///
/// `authorizations` are the candidates loaded by storage; any that do not match the
/// (structure, usager, démarche) triple are ignored. Returns the authorization that permits the
/// action, or the most telling refusal.
pub fn can_act<'a>(
    aidant: &Aidant,
    organisation: &Organisation,
    usager: &UsagerId,
    demarche: Demarche,
    authorizations: &'a [Authorization],
    at: OffsetDateTime,
) -> Result<&'a Authorization, Refusal> {
    let standing = Standing::of(aidant, organisation, demarche);
    can_act_with(
        standing,
        &organisation.id,
        usager,
        demarche,
        authorizations,
        at,
    )
}

/// [`can_act`] from the aidant's and the structure's [`Standing`].
pub fn can_act_with<'a>(
    standing: Standing,
    organisation: &OrganisationId,
    usager: &UsagerId,
    demarche: Demarche,
    authorizations: &'a [Authorization],
    at: OffsetDateTime,
) -> Result<&'a Authorization, Refusal> {
    if !standing.aidant_active {
        return Err(Refusal::AidantInactive);
    }
    if !standing.organisation_active {
        return Err(Refusal::OrganisationInactive);
    }
    if !standing.member {
        return Err(Refusal::NotAMember);
    }
    if !standing.habilitated {
        return Err(Refusal::AidantNotHabilitated);
    }
    if !standing.demarche_allowed {
        return Err(Refusal::DemarcheNotAllowed);
    }
    let mut matching = authorizations.iter().filter(|a| {
        a.organisation_id == *organisation && a.usager_id == *usager && a.demarche == demarche
    });
    let mut latest: Option<&Authorization> = None;
    for candidate in matching.by_ref() {
        if candidate.is_usable_at(at) {
            return Ok(candidate);
        }
        if latest.is_none_or(|l| candidate.expires_at > l.expires_at) {
            latest = Some(candidate);
        }
    }
    match latest {
        None => Err(Refusal::DemarcheNotCovered),
        Some(a) if a.is_revoked_at(at) => Err(Refusal::Revoked),
        Some(_) => Err(Refusal::Expired),
    }
}

/// [`can_act_with`]'s answer once suspensions are known: an authorization that would permit the
/// use is refused while a report of the person holds it suspended (`suspended`: whether an open
/// report names it or its mandate, docs/security/aide-space.md "Receipts"). A suspension never
/// turns another refusal into a permission.
pub fn unless_suspended(
    allowed: Result<&Authorization, Refusal>,
    suspended: impl FnOnce(&Authorization) -> bool,
) -> Result<&Authorization, Refusal> {
    match allowed {
        Ok(authorization) if suspended(authorization) => Err(Refusal::Suspended),
        other => other,
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
