//! « Ce n'était pas moi / je n'étais pas d'accord » (docs/security/aide-space.md, "Receipts").
//!
//! Each receipt's message carries a random token whose SHA-256 only is stored
//! (`receipt_report_tokens`): single use, expiring. Using it opens a report that **suspends at
//! once** what the receipt names — its authorization, or every authorization of its mandate —
//! because `mandates::can_act` refuses an authorization under an open report
//! (`ac_mandates::rules::unless_suspended`). The report is journaled and listed in the
//! consoles of the structure's référents and the coordinators in scope; a référent closes it
//! by revoking, or by restoring with the person present. A report on what already ended
//! (revoked or expired) says so and changes nothing.

use ac_audit::{Action, ActorKind};
use ac_auth::TokenHash;
use ac_mandates::rules;
use ac_mandates::{AidantId, AuthorizationId, MandateId, OrganisationId, UsagerId};
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::ReceiptKind;
use crate::console::Scope;
use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::outbox::{self, NewMail};
use crate::schema::{
    aidant_organisations, aidants, organisations, receipt_report_tokens, receipt_reports, receipts,
    usagers,
};
use crate::{DbConnection, from_db, mandates, new_id, to_db, write};

/// What a token names, for the confirmation page (no personal data beyond the structure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reportable {
    pub receipt_id: String,
    pub kind: ReceiptKind,
    pub organisation: OrganisationId,
    pub organisation_name: String,
    pub departement: String,
    pub mandate: MandateId,
    pub authorization: Option<AuthorizationId>,
    pub usager: UsagerId,
    pub demarches: String,
    pub at: OffsetDateTime,
}

/// Why a token opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Unknown (never given, or its mandate is gone).
    Unknown,
    /// Used already.
    Used,
    Expired,
}

type TokenRow = (
    (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        String,
    ),
    (
        PrimitiveDateTime,
        PrimitiveDateTime,
        Option<PrimitiveDateTime>,
    ),
    (String, String),
);

/// The receipt of a token, if it may still be used at `now`.
pub fn peek(
    conn: &mut DbConnection,
    hash: &TokenHash,
    now: OffsetDateTime,
) -> Result<Result<Reportable, TokenRefusal>, StorageError> {
    let row: Option<TokenRow> = receipt_report_tokens::table
        .inner_join(receipts::table.inner_join(organisations::table))
        .filter(receipt_report_tokens::token_hash.eq(hash.as_str()))
        .select((
            (
                receipts::id,
                receipts::kind,
                receipts::organisation_id,
                receipts::usager_id,
                receipts::mandate_id,
                receipts::authorization_id,
                receipts::demarches,
                receipts::code,
            ),
            (
                receipts::created_at,
                receipt_report_tokens::expires_at,
                receipt_report_tokens::used_at,
            ),
            (organisations::name, organisations::departement),
        ))
        .first(conn)
        .optional()?;
    let Some((
        (id, kind, organisation, usager, mandate, authorization, demarches, _code),
        (at, expires_at, used_at),
        (organisation_name, departement),
    )) = row
    else {
        return Ok(Err(TokenRefusal::Unknown));
    };
    if used_at.is_some() {
        return Ok(Err(TokenRefusal::Used));
    }
    if now >= from_db(expires_at) {
        return Ok(Err(TokenRefusal::Expired));
    }
    Ok(Ok(Reportable {
        receipt_id: id,
        kind: ReceiptKind::from_key(&kind)
            .ok_or_else(|| StorageError::Corrupt("receipts.kind".into()))?,
        organisation: OrganisationId::new(organisation),
        organisation_name,
        departement,
        mandate: MandateId::new(mandate),
        authorization: authorization.map(AuthorizationId::new),
        usager: UsagerId::new(usager),
        demarches,
        at: from_db(at),
    }))
}

/// What a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// Opened: what it names is suspended from now on.
    Opened {
        report: String,
    },
    /// What it names had already ended (revoked or expired): nothing changed, the token stays
    /// unused.
    AlreadyEnded,
    /// A report of the person's on the same thing is open already: nothing changed.
    AlreadyReported,
    Refused(TokenRefusal),
}

/// The authorizations a report names that are still usable at `now`.
fn usable_targets(
    mandate: &ac_mandates::Mandate,
    authorization: Option<&AuthorizationId>,
    now: OffsetDateTime,
) -> Vec<AuthorizationId> {
    mandate
        .authorizations
        .iter()
        .filter(|a| authorization.is_none_or(|id| *id == a.id))
        .filter(|a| a.is_usable_at(now))
        .map(|a| a.id.clone())
        .collect()
}

/// What a report names: the receipt's mandate and authorization; but a delegated use whose
/// authorization was since replaced by a renewal names the authorization in force now for the
/// same structure, person and démarche (the use being disputed, it is that démarche's delegation
/// that must stop).
fn named(
    tx: &mut DbConnection,
    reportable: &Reportable,
    now: OffsetDateTime,
) -> Result<(MandateId, Option<AuthorizationId>), StorageError> {
    use crate::schema::authorizations;
    let Some(authorization) = reportable
        .authorization
        .as_ref()
        .filter(|_| reportable.kind == ReceiptKind::DelegatedUse)
    else {
        return Ok((reportable.mandate.clone(), reportable.authorization.clone()));
    };
    let still_open: bool = diesel::select(diesel::dsl::exists(
        authorizations::table
            .filter(authorizations::id.eq(authorization.as_str()))
            .filter(authorizations::revoked_at.is_null()),
    ))
    .get_result(tx)?;
    if still_open {
        return Ok((reportable.mandate.clone(), Some(authorization.clone())));
    }
    let replaced: Option<(String, String)> = authorizations::table
        .filter(authorizations::organisation_id.eq(reportable.organisation.as_str()))
        .filter(authorizations::usager_id.eq(reportable.usager.as_str()))
        .filter(authorizations::demarche.eq(&reportable.demarches))
        .filter(authorizations::revoked_at.is_null())
        .filter(authorizations::expires_at.gt(to_db(now)))
        .select((authorizations::mandate_id, authorizations::id))
        .first(tx)
        .optional()?;
    Ok(match replaced {
        Some((mandate, id)) => (MandateId::new(mandate), Some(AuthorizationId::new(id))),
        None => (reportable.mandate.clone(), Some(authorization.clone())),
    })
}

/// Whether an open report already suspends one of `targets`.
fn already_suspended(
    tx: &mut DbConnection,
    mandate: &MandateId,
    targets: &[AuthorizationId],
) -> Result<bool, StorageError> {
    let open: Vec<Option<String>> = receipt_reports::table
        .filter(receipt_reports::mandate_id.eq(mandate.as_str()))
        .filter(receipt_reports::closed_at.is_null())
        .select(receipt_reports::authorization_id)
        .load(tx)?;
    Ok(open.iter().any(|named| match named {
        None => true,
        Some(id) => targets.iter().any(|t| t.as_str() == id),
    }))
}

/// Uses the token `hash`: opens the report, suspends what it names, journals `report.opened`
/// (the person as the actor, by pseudonym) and queues `notices` (to the structure's référents),
/// in one transaction. The token is spent only when a report is opened.
pub fn open(
    conn: &mut DbConnection,
    hash: &TokenHash,
    notices: &[NewMail<'_>],
    request_id: Option<String>,
    now: OffsetDateTime,
) -> Result<Reported, StorageError> {
    write(conn, |tx| {
        let reportable = match peek(tx, hash, now)? {
            Ok(r) => r,
            Err(refusal) => return Ok(Reported::Refused(refusal)),
        };
        let (mandate_id, authorization) = named(tx, &reportable, now)?;
        let mandate = mandates::get(tx, &mandate_id)?;
        let targets = usable_targets(&mandate, authorization.as_ref(), now);
        if targets.is_empty() {
            return Ok(Reported::AlreadyEnded);
        }
        if already_suspended(tx, &mandate_id, &targets)? {
            return Ok(Reported::AlreadyReported);
        }
        let spent = diesel::update(
            receipt_report_tokens::table
                .filter(receipt_report_tokens::token_hash.eq(hash.as_str()))
                .filter(receipt_report_tokens::used_at.is_null()),
        )
        .set(receipt_report_tokens::used_at.eq(Some(to_db(now))))
        .execute(tx)?;
        if spent != 1 {
            return Ok(Reported::Refused(TokenRefusal::Used));
        }
        let id = new_id();
        diesel::insert_into(receipt_reports::table)
            .values((
                receipt_reports::id.eq(&id),
                receipt_reports::receipt_id.eq(&reportable.receipt_id),
                receipt_reports::organisation_id.eq(reportable.organisation.as_str()),
                receipt_reports::mandate_id.eq(mandate_id.as_str()),
                receipt_reports::authorization_id
                    .eq(authorization.as_ref().map(AuthorizationId::as_str)),
                receipt_reports::opened_at.eq(to_db(now)),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
        let subject =
            crate::usagers::subject(tx, &reportable.usager)?.ok_or(StorageError::NotFound)?;
        let context = AuditContext {
            actor: ac_audit::Actor {
                kind: ActorKind::Usager,
                id: Some(subject.clone()),
            },
            request_id,
        };
        let mut event = Event::new(Action::ReportOpened)
            .organisation(&reportable.organisation)
            .usager(&subject)
            .target(&id)
            .detail("mandate", &mandate_id)
            .detail("receipt_kind", reportable.kind.key())
            .detail("suspended", targets.len());
        if let Some(authorization) = &authorization {
            event = event.detail("authorization", authorization);
        }
        journal::record(tx, &context, event, now)?;
        for notice in notices {
            outbox::enqueue(tx, notice, now)?;
        }
        Ok(Reported::Opened { report: id })
    })
}

/// Who is told of a new report by e-mail: the structure's active référents (e-mail, first
/// name). The coordinators see it in their console.
pub fn referents_of(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
) -> Result<Vec<(String, String)>, StorageError> {
    Ok(aidants::table
        .inner_join(aidant_organisations::table)
        .filter(aidant_organisations::organisation_id.eq(organisation.as_str()))
        .filter(aidant_organisations::is_referent.eq(true))
        .filter(aidants::is_active.eq(true))
        .order(aidants::email)
        .select((aidants::email, aidants::first_name))
        .load(conn)?)
}

/// An open report, as the consoles list it: no name of the person (the référent opens the
/// usager's page from the structure's own list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    pub id: String,
    pub organisation: OrganisationId,
    pub organisation_name: String,
    pub departement: String,
    pub kind: ReceiptKind,
    pub mandate: MandateId,
    pub authorization: Option<AuthorizationId>,
    pub demarches: String,
    pub usager: UsagerId,
    pub reported_at: OffsetDateTime,
    pub receipt_at: OffsetDateTime,
}

type OpenRow = (
    (String, String, String, String, Option<String>),
    (String, String, String, String),
    (PrimitiveDateTime, PrimitiveDateTime),
);

/// The open reports of the structures in `scope`, oldest first.
pub fn open_in_scope(
    conn: &mut DbConnection,
    scope: &Scope,
) -> Result<Vec<OpenReport>, StorageError> {
    let mut query = receipt_reports::table
        .inner_join(receipts::table)
        .inner_join(organisations::table.on(organisations::id.eq(receipt_reports::organisation_id)))
        .filter(receipt_reports::closed_at.is_null())
        .into_boxed();
    if let Some(ids) = scope.ids() {
        query = query.filter(receipt_reports::organisation_id.eq_any(ids));
    }
    let rows: Vec<OpenRow> = query
        .order(receipt_reports::opened_at)
        .limit(1000)
        .select((
            (
                receipt_reports::id,
                receipt_reports::organisation_id,
                receipts::kind,
                receipt_reports::mandate_id,
                receipt_reports::authorization_id,
            ),
            (
                organisations::name,
                organisations::departement,
                receipts::demarches,
                receipts::usager_id,
            ),
            (receipt_reports::opened_at, receipts::created_at),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(
                (id, organisation, kind, mandate, authorization),
                (organisation_name, departement, demarches, usager),
                (opened_at, receipt_at),
            )| {
                Ok(OpenReport {
                    id,
                    organisation: OrganisationId::new(organisation),
                    organisation_name,
                    departement,
                    kind: ReceiptKind::from_key(&kind)
                        .ok_or_else(|| StorageError::Corrupt("receipts.kind".into()))?,
                    mandate: MandateId::new(mandate),
                    authorization: authorization.map(AuthorizationId::new),
                    demarches,
                    usager: UsagerId::new(usager),
                    reported_at: from_db(opened_at),
                    receipt_at: from_db(receipt_at),
                })
            },
        )
        .collect()
}

/// How a référent closes a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// What the report names is revoked (what is still in force of it).
    Revoke,
    /// The suspension is lifted: the person, present, ticked their agreement on the screen and
    /// the référent typed a TOTP code (checked by the caller before this call).
    Restore,
}

impl Closing {
    const fn outcome(self) -> &'static str {
        match self {
            Closing::Revoke => "revoked",
            Closing::Restore => "restored",
        }
    }
}

/// Closes the open report `id` of `organisation` as `referent`, in one transaction with its
/// journal entries (and, for [`Closing::Revoke`], the revocation with its own entries and
/// receipts). `NotFound` when no such open report exists in that structure.
pub fn close(
    conn: &mut DbConnection,
    id: &str,
    organisation: &OrganisationId,
    referent: &AidantId,
    closing: Closing,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let row: Option<(String, Option<String>)> = receipt_reports::table
            .filter(receipt_reports::id.eq(id))
            .filter(receipt_reports::organisation_id.eq(organisation.as_str()))
            .filter(receipt_reports::closed_at.is_null())
            .select((
                receipt_reports::mandate_id,
                receipt_reports::authorization_id,
            ))
            .first(tx)
            .optional()?;
        let (mandate_id, authorization) = row.ok_or(StorageError::NotFound)?;
        let mandate_id = MandateId::new(mandate_id);
        let authorization = authorization.map(AuthorizationId::new);
        let current = mandates::get(tx, &mandate_id)?;
        let subject = mandates::lock_usager(tx, &current.usager_id)?;
        let updated = diesel::update(
            receipt_reports::table
                .filter(receipt_reports::id.eq(id))
                .filter(receipt_reports::closed_at.is_null()),
        )
        .set((
            receipt_reports::closed_at.eq(Some(to_db(now))),
            receipt_reports::outcome.eq(Some(closing.outcome())),
            receipt_reports::closed_by.eq(Some(referent.as_str())),
        ))
        .execute(tx)?;
        if updated != 1 {
            return Err(StorageError::NotFound);
        }
        let mut revoked = 0;
        if closing == Closing::Revoke {
            let targets = usable_targets(&current, authorization.as_ref(), now);
            match &authorization {
                Some(one) if !targets.is_empty() => {
                    let revocation = rules::revoke_authorization_by_person(&current, one, now)?;
                    mandates::record_revocation(
                        tx, &current, &subject, one, revocation, "report", context, now,
                    )?;
                    revoked = 1;
                }
                None if !targets.is_empty() => {
                    let (ids, revocation) = rules::revoke_mandate_by_person(&current, now)?;
                    revoked = ids.len();
                    mandates::record_mandate_revocation(
                        tx, &current, &subject, &ids, revocation, "report", context, now,
                    )?;
                }
                // Ended meanwhile (expired): nothing left to revoke.
                _ => {}
            }
        }
        let mut event = Event::new(Action::ReportClosed)
            .organisation(organisation)
            .usager(&subject)
            .target(id)
            .detail("outcome", closing.outcome())
            .detail("mandate", &mandate_id)
            .detail("revoked", revoked);
        if closing == Closing::Restore {
            event = event.detail("confirmation", "usager_on_screen");
        }
        journal::record(tx, context, event, now)
    })
}

/// The usager a report is about, for the restore page (the person is present: the référent's
/// structure holds their identity already). `NotFound` outside `organisation`.
pub fn usager_of(
    conn: &mut DbConnection,
    id: &str,
    organisation: &OrganisationId,
) -> Result<(UsagerId, String, String), StorageError> {
    let (usager, given, family): (String, String, String) = receipt_reports::table
        .inner_join(receipts::table)
        .inner_join(usagers::table.on(usagers::id.eq(receipts::usager_id)))
        .filter(receipt_reports::id.eq(id))
        .filter(receipt_reports::organisation_id.eq(organisation.as_str()))
        .select((usagers::id, usagers::given_name, usagers::family_name))
        .first(conn)
        .map_err(StorageError::from_query)?;
    Ok((UsagerId::new(usager), given, family))
}
