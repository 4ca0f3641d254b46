//! The référent's operations on their structure's team. Each one reuses the storage operation
//! the command line uses, journaled under the structure so it shows in its journal.

use ac_mandates::{Aidant, AidantId, Email, OrganisationId, fields};
use std::collections::BTreeSet;
use time::OffsetDateTime;

use crate::error::StorageError;
use crate::journal::AuditContext;
use crate::{DbConnection, aidants, new_id};

/// What a référent types to add someone.
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    pub email: &'a Email,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub profession: &'a str,
}

/// Why an invitation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationRefused {
    /// An account already uses this address. Joining a second structure changes who manages
    /// the account's second factor, so it is left to an administrator.
    AddressTaken,
}

/// Creates an active account in the structure, habilitated to help people, without a second
/// factor yet (the référent enrols an app or hands a card next). Journaled as `aidant.created`
/// under the structure, without the address or names.
pub fn invite(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    invitation: &Invitation<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Result<Aidant, InvitationRefused>, StorageError> {
    if aidants::find_by_email(conn, invitation.email)?.is_some() {
        return Ok(Err(InvitationRefused::AddressTaken));
    }
    let aidant = Aidant {
        id: AidantId::new(new_id()),
        email: invitation.email.clone(),
        first_name: fields::text(invitation.first_name)?,
        last_name: fields::text(invitation.last_name)?,
        profession: fields::text(invitation.profession)?,
        organisations: BTreeSet::from([organisation.clone()]),
        current_organisation: organisation.clone(),
        can_create_mandates: true,
        referent_of: BTreeSet::new(),
        coordinator_scopes: Vec::new(),
        is_active: true,
    };
    match aidants::insert(conn, &aidant, context, now) {
        Ok(()) => Ok(Ok(aidant)),
        // Created by someone else between the check and the insert.
        Err(StorageError::Conflict) => Ok(Err(InvitationRefused::AddressTaken)),
        Err(e) => Err(e),
    }
}

/// Whether a référent may deactivate this account: it works only for structures the référent
/// manages (deactivating it would otherwise cut off another structure's aidant), and it is not
/// the référent's own.
pub fn may_deactivate(referent: &Aidant, aidant: &Aidant) -> bool {
    referent.id != aidant.id
        && aidant
            .organisations
            .iter()
            .all(|o| referent.referent_of.contains(o))
}

/// Reasons a référent gives for handing a card (fixed codes: no free text reaches the journal).
pub const CARD_ASSIGN_REASONS: &[(&str, &str)] = &[
    ("first_card", "Première carte de l'aidant"),
    (
        "replacement",
        "Remplacement d'une carte perdue ou défectueuse",
    ),
    (
        "additional",
        "Carte supplémentaire (second poste de travail)",
    ),
];

/// Reasons for taking a device back, and what becomes of it.
pub const DEVICE_REMOVE_REASONS: &[(&str, &str, crate::totp_devices::Removal)] = &[
    (
        "lost",
        "Perdu ou volé (l'appareil est retiré définitivement)",
        crate::totp_devices::Removal::Retire,
    ),
    (
        "broken",
        "Défectueux ou téléphone changé (l'appareil est retiré définitivement)",
        crate::totp_devices::Removal::Retire,
    ),
    (
        "returned",
        "Carte rendue en bon état (départ, changement de poste) : elle revient dans le stock",
        crate::totp_devices::Removal::ReturnToStock,
    ),
];
