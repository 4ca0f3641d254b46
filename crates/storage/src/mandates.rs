//! Mandates and authorizations: each operation loads what its rule needs, applies the pure rule
//! from `ac_mandates::rules`, and writes the outcome in one transaction.

use ac_mandates::comprehension::Check;
use ac_mandates::rules::{self, MandatePlan, MandateRequest, Standing};
use ac_mandates::{
    AidantId, Authorization, AuthorizationId, Demarche, Mandate, MandateDuration, MandateId,
    OrganisationId, Refusal, Revocation, RevocationReason, UsagerId,
};
use diesel::prelude::*;
use std::collections::BTreeMap;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::error::{StorageError, corrupt};
use crate::journal::{self, AuditContext, Event};
use crate::mandate_consents::Identification;
use crate::schema::{audit_log, audit_pending, authorizations, mandates};
use crate::{
    DbConnection, aidants, from_db, mandate_consents, mandate_verifications, new_id, organisations,
    to_db, write,
};
use ac_audit::{Action, ActorKind};

#[derive(Queryable, Selectable)]
#[diesel(table_name = mandates)]
struct MandateRow {
    id: String,
    organisation_id: String,
    usager_id: String,
    created_by: String,
    created_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
    duration_days: i32,
    legal_text_version: String,
    content_hash: String,
    renewal_of: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = authorizations)]
struct AuthorizationRow {
    id: String,
    mandate_id: String,
    organisation_id: String,
    usager_id: String,
    demarche: String,
    expires_at: PrimitiveDateTime,
    revoked_at: Option<PrimitiveDateTime>,
    revocation_reason: Option<String>,
}

impl AuthorizationRow {
    fn into_domain(self) -> Result<Authorization, StorageError> {
        let revocation = match (self.revoked_at, self.revocation_reason) {
            (None, None) => None,
            (Some(at), Some(reason)) => Some(Revocation {
                at: from_db(at),
                reason: RevocationReason::from_key(&reason)
                    .ok_or_else(|| StorageError::Corrupt(format!("revocation_reason {reason}")))?,
            }),
            _ => return Err(StorageError::Corrupt("authorizations.revoked_at".into())),
        };
        Ok(Authorization {
            id: AuthorizationId::new(self.id),
            mandate_id: MandateId::new(self.mandate_id),
            organisation_id: OrganisationId::new(self.organisation_id),
            usager_id: UsagerId::new(self.usager_id),
            demarche: self
                .demarche
                .parse()
                .map_err(corrupt("authorizations.demarche"))?,
            expires_at: from_db(self.expires_at),
            revocation,
        })
    }
}

impl MandateRow {
    fn into_domain(self, authorizations: Vec<Authorization>) -> Result<Mandate, StorageError> {
        let days = u16::try_from(self.duration_days)
            .map_err(|_| StorageError::Corrupt("mandates.duration_days".into()))?;
        Ok(Mandate {
            id: MandateId::new(self.id),
            organisation_id: OrganisationId::new(self.organisation_id),
            usager_id: UsagerId::new(self.usager_id),
            created_by: AidantId::new(self.created_by),
            created_at: from_db(self.created_at),
            expires_at: from_db(self.expires_at),
            duration: MandateDuration::from_days(days)
                .map_err(corrupt("mandates.duration_days"))?,
            legal_text_version: self.legal_text_version,
            content_hash: self.content_hash,
            renewal_of: self.renewal_of.map(MandateId::new),
            authorizations,
        })
    }
}

fn assemble(conn: &mut DbConnection, rows: Vec<MandateRow>) -> Result<Vec<Mandate>, StorageError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let authorizations = authorizations::table
        .filter(authorizations::mandate_id.eq_any(&ids))
        .select(AuthorizationRow::as_select())
        .load(conn)?;
    assemble_with(rows, authorizations)
}

/// Mandate rows with their authorization rows (any superset: the others are ignored).
fn assemble_with(
    rows: Vec<MandateRow>,
    authorizations: Vec<AuthorizationRow>,
) -> Result<Vec<Mandate>, StorageError> {
    let mut by_mandate: BTreeMap<String, Vec<Authorization>> = BTreeMap::new();
    for row in authorizations {
        by_mandate
            .entry(row.mandate_id.clone())
            .or_default()
            .push(row.into_domain()?);
    }
    rows.into_iter()
        .map(|row| {
            let mut auths = by_mandate.remove(&row.id).unwrap_or_default();
            auths.sort_by_key(|a| a.demarche); // catalogue order, as planned
            row.into_domain(auths)
        })
        .collect()
}

pub fn get(conn: &mut DbConnection, id: &MandateId) -> Result<Mandate, StorageError> {
    let row = mandates::table
        .find(id.as_str())
        .select(MandateRow::as_select())
        .first(conn)
        .map_err(StorageError::from_query)?;
    assemble(conn, vec![row])?
        .pop()
        .ok_or(StorageError::NotFound)
}

/// Every mandate of one person, in every structure, newest first: two queries, whatever the
/// number of mandates.
pub fn for_person(
    conn: &mut DbConnection,
    usager: &UsagerId,
) -> Result<Vec<Mandate>, StorageError> {
    let rows = mandates::table
        .filter(mandates::usager_id.eq(usager.as_str()))
        .order(mandates::created_at.desc())
        .select(MandateRow::as_select())
        .load(conn)?;
    assemble(conn, rows)
}

/// A structure's mandates for one person, newest first.
pub fn for_usager(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    usager: &UsagerId,
) -> Result<Vec<Mandate>, StorageError> {
    let rows = mandates::table
        .filter(mandates::organisation_id.eq(organisation.as_str()))
        .filter(mandates::usager_id.eq(usager.as_str()))
        .order(mandates::created_at.desc())
        .select(MandateRow::as_select())
        .load(conn)?;
    assemble(conn, rows)
}

/// Every mandate of a structure with its authorizations, newest first: two queries on the
/// structure's indexes, whatever the number of people.
pub fn for_organisation(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
) -> Result<Vec<Mandate>, StorageError> {
    let rows = mandates::table
        .filter(mandates::organisation_id.eq(organisation.as_str()))
        .order(mandates::created_at.desc())
        .select(MandateRow::as_select())
        .load(conn)?;
    let authorizations = authorizations::table
        .filter(authorizations::organisation_id.eq(organisation.as_str()))
        .select(AuthorizationRow::as_select())
        .load(conn)?;
    assemble_with(rows, authorizations)
}

/// The structure's not-yet-revoked authorizations for one person (expired ones included).
fn open_authorizations(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    usager: &UsagerId,
) -> Result<Vec<Authorization>, StorageError> {
    authorizations::table
        .filter(authorizations::organisation_id.eq(organisation.as_str()))
        .filter(authorizations::usager_id.eq(usager.as_str()))
        .filter(authorizations::revoked_at.is_null())
        .select(AuthorizationRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AuthorizationRow::into_domain)
        .collect()
}

/// Serialises mandate changes for one person, and returns their pseudonym for the journal. On
/// SQLite `BEGIN IMMEDIATE` already serialises; on PostgreSQL the row lock makes a concurrent
/// creation wait, then see this one's authorizations and supersede them, instead of failing on
/// the unique index.
pub(crate) fn lock_usager(
    conn: &mut DbConnection,
    usager: &UsagerId,
) -> Result<String, StorageError> {
    if let DbConnection::Pg(pg) = conn {
        diesel::sql_query("SELECT id FROM usagers WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(usager.as_str())
            .execute(pg)?;
    }
    crate::usagers::subject(conn, usager)?.ok_or(StorageError::NotFound)
}

fn revoke_rows(
    tx: &mut DbConnection,
    ids: &[AuthorizationId],
    revocation: Revocation,
) -> Result<(), StorageError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = ids.iter().map(AuthorizationId::as_str).collect();
    let updated = diesel::update(
        authorizations::table
            .filter(authorizations::id.eq_any(&ids))
            .filter(authorizations::revoked_at.is_null()),
    )
    .set((
        authorizations::revoked_at.eq(to_db(revocation.at)),
        authorizations::revocation_reason.eq(revocation.reason.key()),
    ))
    .execute(tx)?;
    // Everything was read under the same lock, so a mismatch means the data moved underneath us.
    if updated == ids.len() {
        Ok(())
    } else {
        Err(StorageError::Conflict)
    }
}

/// The journal event for one authorization of a mandate.
fn authorization_event(action: Action, authorization: &Authorization, subject: &str) -> Event {
    Event::new(action)
        .organisation(&authorization.organisation_id)
        .usager(subject)
        .demarche(authorization.demarche)
        .target(&authorization.id)
        .detail("mandate", &authorization.mandate_id)
}

/// What an aidant asks for; the records are loaded inside the transaction.
#[derive(Debug, Clone)]
pub struct NewMandate<'a> {
    pub aidant: &'a AidantId,
    pub organisation: &'a OrganisationId,
    pub usager: &'a UsagerId,
    pub demarches: &'a [Demarche],
    pub duration: MandateDuration,
    pub legal_text_version: &'a str,
    /// Set for a renewal: the mandate being renewed.
    pub renewal_of: Option<&'a MandateId>,
}

/// Creates (or renews) a mandate: its authorizations are inserted and the older authorizations
/// it supersedes are revoked, with their journal entries, all in one transaction.
pub fn create(
    conn: &mut DbConnection,
    new: &NewMandate<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<MandatePlan, StorageError> {
    write(conn, |tx| create_in(tx, new, None, None, context, now))
}

/// A consent given at a distance (`ac_storage::remote_consents`): the person's « Je donne mon
/// accord » on their own phone, then the aidant's TOTP confirmation. Recorded on
/// `mandate.created` as `consent=remote` with the channel and both times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteConsentGiven<'a> {
    /// `sms` or `email`: how the link reached the person (never the address).
    pub channel: &'a str,
    pub text_shown: TextShown,
    /// The comprehension check the person went through on their phone (required, as on site).
    pub comprehension: Check,
    /// The language of the pages the person consented on (docs/languages.md).
    pub language: &'a str,
    pub consented_at: OffsetDateTime,
    pub confirmed_at: OffsetDateTime,
}

/// [`create`] for a remote consent, inside the caller's transaction (the one that marks the
/// remote consent confirmed). The person was identified with FranceConnect on their phone.
pub(crate) fn create_remote_in(
    tx: &mut DbConnection,
    new: &NewMandate<'_>,
    remote: &RemoteConsentGiven<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<MandatePlan, StorageError> {
    let given = GivenConsent {
        identification: Identification::FranceConnect,
        text_shown: remote.text_shown,
        comprehension: remote.comprehension,
        language: remote.language,
    };
    create_in(tx, new, Some(given), Some(remote), context, now)
}

/// [`create`] inside the caller's write transaction. `consent`: how the aidé, present, was
/// identified before consenting on screen (`None` for records made outside the journey).
fn create_in(
    tx: &mut DbConnection,
    new: &NewMandate<'_>,
    consent: Option<GivenConsent<'_>>,
    remote: Option<&RemoteConsentGiven<'_>>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<MandatePlan, StorageError> {
    let subject = lock_usager(tx, new.usager)?;
    let aidant = aidants::get(tx, new.aidant)?;
    let organisation = organisations::get(tx, new.organisation)?;
    let current = open_authorizations(tx, new.organisation, new.usager)?;
    let request = MandateRequest {
        organisation: &organisation,
        aidant: &aidant,
        usager_id: new.usager,
        demarches: new.demarches,
        duration: new.duration,
        legal_text_version: new.legal_text_version,
    };
    let mut ids = new_id;
    let plan = match new.renewal_of {
        None => rules::plan_mandate(&request, &current, &mut ids, now)?,
        Some(previous) => {
            let previous = get(tx, previous)?;
            rules::plan_renewal(&previous, &request, &current, &mut ids, now)?
        }
    };
    let m = &plan.mandate;
    revoke_rows(
        tx,
        &plan.superseded,
        Revocation {
            at: m.created_at,
            reason: RevocationReason::Superseded,
        },
    )?;
    diesel::insert_into(mandates::table)
        .values((
            mandates::id.eq(m.id.as_str()),
            mandates::organisation_id.eq(m.organisation_id.as_str()),
            mandates::usager_id.eq(m.usager_id.as_str()),
            mandates::created_by.eq(m.created_by.as_str()),
            mandates::created_at.eq(to_db(m.created_at)),
            mandates::expires_at.eq(to_db(m.expires_at)),
            mandates::duration_days.eq(i32::from(m.duration.days())),
            mandates::legal_text_version.eq(&m.legal_text_version),
            mandates::content_hash.eq(&m.content_hash),
            mandates::renewal_of.eq(m.renewal_of.as_ref().map(MandateId::as_str)),
        ))
        .execute(tx)
        .map_err(StorageError::from_query)?;
    for a in &m.authorizations {
        diesel::insert_into(authorizations::table)
            .values((
                authorizations::id.eq(a.id.as_str()),
                authorizations::mandate_id.eq(a.mandate_id.as_str()),
                authorizations::organisation_id.eq(a.organisation_id.as_str()),
                authorizations::usager_id.eq(a.usager_id.as_str()),
                authorizations::demarche.eq(a.demarche.key()),
                authorizations::expires_at.eq(to_db(a.expires_at)),
            ))
            .execute(tx)
            .map_err(StorageError::from_query)?;
    }
    // Here, so every way a mandate is made (creation, renewal, demo data) prints with a code.
    mandate_verifications::insert_in(tx, &m.id, now)?;

    let demarches: Vec<&str> = m.authorizations.iter().map(|a| a.demarche.key()).collect();
    let mut created = Event::new(Action::MandateCreated)
        .organisation(&m.organisation_id)
        .usager(&subject)
        .target(&m.id)
        .detail("duration_days", m.duration.days())
        .detail("expires_at", m.expires_at.unix_timestamp())
        .detail("demarches", demarches.join(","))
        .detail("legal_text_version", &m.legal_text_version)
        .detail("content_hash", &m.content_hash);
    if let Some(previous) = &m.renewal_of {
        created = created.detail("renewal_of", previous);
    }
    if let Some(GivenConsent {
        identification,
        text_shown,
        comprehension: check,
        language,
    }) = consent
    {
        // The comprehension check's outcome and tries, never its answers.
        let comprehension = check.required()?;
        created = created
            .detail("comprehension", comprehension.key())
            .detail("comprehension_tries", check.tries());
        // The aidé's own "Je donne mon accord" on the recap, how they were identified, and
        // which text of the mandate they read there.
        created = created
            .detail(
                "consent",
                if remote.is_some() {
                    "remote"
                } else {
                    "aide_on_screen"
                },
            )
            .detail("identification", identification.key())
            .detail("text_shown", text_shown.key())
            .detail("language", language);
    }
    if let Some(remote) = remote {
        // Consent at a distance: how the link went, the person's consent on their phone and
        // the aidant's confirmation, both as instants (docs/domain.md "Journeys" 2b).
        created = created
            .detail("channel", remote.channel)
            .detail("consented_at", remote.consented_at.unix_timestamp())
            .detail("confirmed_at", remote.confirmed_at.unix_timestamp());
    }
    let pending_id = journal::record_id(tx, context, created, now)?;
    crate::receipts::record_in(
        tx,
        &crate::receipts::Reported {
            kind: crate::receipts::ReceiptKind::MandateCreated,
            usager: &m.usager_id,
            organisation: &m.organisation_id,
            mandate: &m.id,
            authorization: None,
            demarches: m.authorizations.iter().map(|a| a.demarche).collect(),
            context,
            client: None,
            pending_id,
        },
        now,
    )?;
    if let Some(previous) = &m.renewal_of {
        let renewed = Event::new(Action::MandateRenewed)
            .organisation(&m.organisation_id)
            .usager(&subject)
            .target(previous)
            .detail("renewed_by", &m.id);
        journal::record(tx, context, renewed, now)?;
    }
    for a in &m.authorizations {
        journal::record(
            tx,
            context,
            authorization_event(Action::AuthorizationCreated, a, &subject),
            now,
        )?;
    }
    for old in current.iter().filter(|a| plan.superseded.contains(&a.id)) {
        let event = authorization_event(Action::AuthorizationSuperseded, old, &subject)
            .detail("superseded_by", &m.id);
        journal::record(tx, context, event, now)?;
    }
    Ok(plan)
}

/// Which text of the mandate the aidé read on the recap before their tick (recorded on
/// `mandate.created`): the full text, which binds, or its easy-to-read rendering
/// (`ac_mandates::easy_read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextShown {
    #[default]
    Full,
    EasyRead,
}

impl TextShown {
    pub const fn key(self) -> &'static str {
        match self {
            TextShown::Full => "full",
            TextShown::EasyRead => "easy_read",
        }
    }
}

/// How the aidé consented on screen, as the consent's journal entry records it.
struct GivenConsent<'a> {
    identification: Identification,
    text_shown: TextShown,
    comprehension: Check,
    /// The recap's language (docs/languages.md).
    language: &'a str,
}

/// What the aidé's consent on the recap carries besides the pending choices.
pub struct Consent<'a> {
    /// The version of the legal text consented to.
    pub legal_text_version: &'a str,
    pub text_shown: TextShown,
    /// The language of the recap the aidé consented on (BCP 47 code, docs/languages.md).
    pub language: &'a str,
    /// The receipts the aidé asked for, if any.
    pub notifications: Option<&'a crate::receipts::NewPreference<'a>>,
}

/// Creates (or renews) the mandate the aidé consented to on screen: the pending consent
/// (identified usager, choices, the mandate renewed if any) is used in the same transaction as the creation, so a double submission creates
/// one mandate, and a refused creation leaves the consent usable. `NotFound` when the consent
/// is unknown, used, expired or another aidant's.
///
/// `consent.notifications`: the receipts the aidé chose on the recap, if they chose; recorded
/// first, so the mandate's own creation is their first receipt (docs/security/aide-space.md
/// "Receipts").
pub fn create_from_consent(
    conn: &mut DbConnection,
    token_hash: &str,
    aidant: &AidantId,
    read_draft: impl FnOnce(&str) -> Option<(Vec<Demarche>, MandateDuration)>,
    consent: &Consent<'_>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<MandatePlan, StorageError> {
    write(conn, |tx| {
        let pending = mandate_consents::take_in(tx, token_hash, aidant, now)?
            .ok_or(StorageError::NotFound)?;
        // No consent before the comprehension check was passed or skipped (MND014): refused
        // here, in the transaction that uses the consent up, whatever the page did.
        pending.comprehension.required()?;
        if let Some(chosen) = consent.notifications {
            crate::receipts::set_preference_in(
                tx,
                chosen.sealer,
                &pending.usager,
                chosen.choice,
                chosen.email,
                context,
                now,
            )?;
        }
        let (demarches, duration) = read_draft(&pending.draft)
            .ok_or_else(|| StorageError::Corrupt("mandate_consents.draft".into()))?;
        let new = NewMandate {
            aidant,
            organisation: &pending.organisation,
            usager: &pending.usager,
            demarches: &demarches,
            duration,
            legal_text_version: consent.legal_text_version,
            renewal_of: pending.renewal_of.as_ref(),
        };
        // The check as stored with the pending consent, in this transaction: not passed or
        // skipped, the consent is refused (MND014) and nothing is written.
        let given = GivenConsent {
            identification: pending.identification,
            text_shown: consent.text_shown,
            comprehension: pending.comprehension,
            language: consent.language,
        };
        create_in(tx, &new, Some(given), None, context, now)
    })
}

/// How the aidé agreed to a revocation, written on its journal entries (`confirmation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationConsent {
    /// The aidé pressed "Je confirme la révocation" themselves, and the aidant typed a TOTP
    /// code: the web journey.
    OnScreen,
    /// Recorded without the aidé's on-screen confirmation (demonstration data, tests of rules).
    NotRecorded,
}

impl RevocationConsent {
    pub const fn key(self) -> &'static str {
        match self {
            RevocationConsent::OnScreen => "usager_on_screen",
            RevocationConsent::NotRecorded => "not_recorded",
        }
    }
}

/// Revokes one démarche of a mandate, effective immediately.
pub fn revoke_authorization(
    conn: &mut DbConnection,
    aidant: &AidantId,
    mandate: &MandateId,
    authorization: &AuthorizationId,
    consent: RevocationConsent,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Revocation, StorageError> {
    write(conn, |tx| {
        let current = get(tx, mandate)?;
        let subject = lock_usager(tx, &current.usager_id)?;
        let aidant = aidants::get(tx, aidant)?;
        let revocation = rules::revoke_authorization(&current, authorization, &aidant, now)?;
        record_revocation(
            tx,
            &current,
            &subject,
            authorization,
            revocation,
            consent.key(),
            context,
            now,
        )?;
        Ok(revocation)
    })
}

/// Writes one démarche's revocation and its journal entry, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_revocation(
    tx: &mut DbConnection,
    current: &Mandate,
    subject: &str,
    authorization: &AuthorizationId,
    revocation: Revocation,
    confirmation: &str,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    revoke_rows(tx, std::slice::from_ref(authorization), revocation)?;
    if let Some(a) = current.authorization(authorization) {
        let event = authorization_event(Action::AuthorizationRevoked, a, subject)
            .detail("confirmation", confirmation);
        let pending_id = journal::record_id(tx, context, event, now)?;
        crate::receipts::record_in(
            tx,
            &crate::receipts::Reported {
                kind: crate::receipts::ReceiptKind::DemarcheRevoked,
                usager: &current.usager_id,
                organisation: &current.organisation_id,
                mandate: &current.id,
                authorization: Some(authorization),
                demarches: vec![a.demarche],
                context,
                client: None,
                pending_id,
            },
            now,
        )?;
    }
    Ok(())
}

/// Writes a whole mandate's revocation (the démarches `ids`) and its journal entries.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_mandate_revocation(
    tx: &mut DbConnection,
    current: &Mandate,
    subject: &str,
    ids: &[AuthorizationId],
    revocation: Revocation,
    confirmation: &str,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    revoke_rows(tx, ids, revocation)?;
    let revoked = Event::new(Action::MandateRevoked)
        .organisation(&current.organisation_id)
        .usager(subject)
        .target(&current.id)
        .detail("confirmation", confirmation);
    let pending_id = journal::record_id(tx, context, revoked, now)?;
    crate::receipts::record_in(
        tx,
        &crate::receipts::Reported {
            kind: crate::receipts::ReceiptKind::MandateRevoked,
            usager: &current.usager_id,
            organisation: &current.organisation_id,
            mandate: &current.id,
            authorization: None,
            demarches: current
                .authorizations
                .iter()
                .filter(|a| ids.contains(&a.id))
                .map(|a| a.demarche)
                .collect(),
            context,
            client: None,
            pending_id,
        },
        now,
    )?;
    for a in current
        .authorizations
        .iter()
        .filter(|a| ids.contains(&a.id))
    {
        let event = authorization_event(Action::AuthorizationRevoked, a, subject)
            .detail("confirmation", confirmation);
        journal::record(tx, context, event, now)?;
    }
    Ok(())
}

/// Who is told when the person revokes alone: the structure's référents and the aidant who made
/// the mandate, if still active; each once (e-mail, first name).
pub fn person_revocation_recipients(
    conn: &mut DbConnection,
    mandate: &Mandate,
) -> Result<Vec<(String, String)>, StorageError> {
    use crate::schema::{aidant_organisations, aidants};
    let referents = aidant_organisations::table
        .filter(aidant_organisations::organisation_id.eq(mandate.organisation_id.as_str()))
        .filter(aidant_organisations::is_referent.eq(true))
        .select(aidant_organisations::aidant_id);
    let rows: Vec<(String, String)> = aidants::table
        .filter(aidants::is_active.eq(true))
        .filter(
            aidants::id
                .eq_any(referents)
                .or(aidants::id.eq(mandate.created_by.as_str())),
        )
        .order(aidants::email)
        .select((aidants::email, aidants::first_name))
        .load(conn)?;
    Ok(rows)
}

/// What the person revokes from their own space: one démarche, or the whole mandate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonRevokes {
    Demarche(AuthorizationId),
    Mandate,
}

/// A revocation asked by the person the mandate represents, signed in as themselves: refused as
/// [`StorageError::NotFound`] unless the mandate is theirs (`subject`, their pseudonym), so that
/// another person's mandate id tells nothing. Journaled with the person as the actor
/// (`context`), `confirmation` = `usager_self`. Returns the démarches revoked.
///
/// `notices` (to the structure's référents and the mandate's aidant, [`person_revocation_recipients`])
/// are queued in the outbox in the same transaction: told if and only if it happened.
pub fn revoke_by_person(
    conn: &mut DbConnection,
    subject: &str,
    mandate: &MandateId,
    what: &PersonRevokes,
    notices: &[crate::outbox::NewMail<'_>],
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Vec<AuthorizationId>, StorageError> {
    const CONFIRMATION: &str = "usager_self";
    write(conn, |tx| {
        let current = get(tx, mandate)?;
        let owner = lock_usager(tx, &current.usager_id)?;
        if owner != subject {
            return Err(StorageError::NotFound);
        }
        for notice in notices {
            crate::outbox::enqueue(tx, notice, now)?;
        }
        match what {
            PersonRevokes::Demarche(authorization) => {
                let revocation =
                    rules::revoke_authorization_by_person(&current, authorization, now)?;
                record_revocation(
                    tx,
                    &current,
                    &owner,
                    authorization,
                    revocation,
                    CONFIRMATION,
                    context,
                    now,
                )?;
                Ok(vec![authorization.clone()])
            }
            PersonRevokes::Mandate => {
                let (ids, revocation) = rules::revoke_mandate_by_person(&current, now)?;
                record_mandate_revocation(
                    tx,
                    &current,
                    &owner,
                    &ids,
                    revocation,
                    CONFIRMATION,
                    context,
                    now,
                )?;
                Ok(ids)
            }
        }
    })
}

/// Revokes every démarche of a mandate still in force; returns those revoked.
pub fn revoke_mandate(
    conn: &mut DbConnection,
    aidant: &AidantId,
    mandate: &MandateId,
    consent: RevocationConsent,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Vec<AuthorizationId>, StorageError> {
    write(conn, |tx| {
        let current = get(tx, mandate)?;
        let subject = lock_usager(tx, &current.usager_id)?;
        let aidant = aidants::get(tx, aidant)?;
        let (ids, revocation) = rules::revoke_mandate(&current, &aidant, now)?;
        record_mandate_revocation(
            tx,
            &current,
            &subject,
            &ids,
            revocation,
            consent.key(),
            context,
            now,
        )?;
        Ok(ids)
    })
}

/// Who recorded each revocation (reason [`RevocationReason::Revoked`]) of this mandate's
/// démarches, read back from the journal: the authorization rows keep when, the journal keeps
/// who. Pending entries are read first, then integrated ones, so an entry integrated between
/// the two reads is found in one or the other.
pub fn revoked_by(
    conn: &mut DbConnection,
    mandate: &Mandate,
) -> Result<BTreeMap<AuthorizationId, AidantId>, StorageError> {
    let wanted: Vec<&str> = mandate
        .authorizations
        .iter()
        .filter(|a| matches!(a.revocation, Some(r) if r.reason == RevocationReason::Revoked))
        .map(|a| a.id.as_str())
        .collect();
    let mut found = BTreeMap::new();
    let mut keep = |target: Option<String>, kind: &str, actor: Option<String>| {
        if let (Some(target), Some(actor)) = (target, actor)
            && kind == ActorKind::Aidant.as_str()
            && wanted.contains(&target.as_str())
        {
            found.insert(AuthorizationId::new(target), AidantId::new(actor));
        }
    };
    for id in &wanted {
        // Pending entries have no search columns: the text narrows them down (ids are plain
        // ASCII), and the parsed entry decides.
        let pending: Vec<String> = audit_pending::table
            .filter(audit_pending::entry.like(format!("%\"target\":\"{id}\"%")))
            .select(audit_pending::entry)
            .load(conn)?;
        for text in pending {
            let entry = ac_audit::Entry::from_canonical_bytes(text.as_bytes())?;
            if entry.action == Action::AuthorizationRevoked {
                keep(entry.target, entry.actor.kind.as_str(), entry.actor.id);
            }
        }
    }
    let integrated: Vec<(Option<String>, String, Option<String>)> = audit_log::table
        .filter(audit_log::organisation_id.eq(mandate.organisation_id.as_str()))
        .filter(audit_log::action.eq(Action::AuthorizationRevoked.as_str()))
        .filter(audit_log::target.eq_any(&wanted))
        .select((
            audit_log::target,
            audit_log::actor_kind,
            audit_log::actor_id,
        ))
        .load(conn)?;
    for (target, kind, actor) in integrated {
        keep(target, &kind, actor);
    }
    Ok(found)
}

/// What `can_act` reads per row: the aidant is active, is habilitated, the structure is active
/// (`None`: no such structure), the aidant is a member, the structure allows the démarche; and
/// one authorization of the triple.
type CanActRow = (
    bool,
    bool,
    Option<bool>,
    bool,
    bool,
    Option<AuthorizationRow>,
    bool,
);

/// Whether an open report (`receipts::reports`) suspends the row's authorization: one that
/// names it, or its whole mandate. False when the row has no authorization.
const SUSPENDED: &str = "EXISTS (SELECT 1 FROM receipt_reports r WHERE r.closed_at IS NULL \
     AND r.mandate_id = authorizations.mandate_id \
     AND (r.authorization_id IS NULL OR r.authorization_id = authorizations.id))";

/// The check made on every delegated sign-in (three times each: code, token, userinfo), in one
/// statement: the aidant's and the structure's [`Standing`] for `demarche`, with the
/// authorizations for the (structure, usager, démarche) triple, then `rules::can_act_with`.
/// `NotFound` when the aidant or the structure does not exist.
pub fn can_act(
    conn: &mut DbConnection,
    aidant: &AidantId,
    organisation: &OrganisationId,
    usager: &UsagerId,
    demarche: Demarche,
    at: OffsetDateTime,
) -> Result<Result<Authorization, Refusal>, StorageError> {
    use crate::schema::{aidant_organisations, aidants, organisation_demarches, organisations};
    use diesel::dsl::exists;
    let organisation_active = organisations::table
        .find(organisation.as_str())
        .select(organisations::is_active)
        .single_value();
    let member = exists(
        aidant_organisations::table
            .filter(aidant_organisations::aidant_id.eq(aidant.as_str()))
            .filter(aidant_organisations::organisation_id.eq(organisation.as_str())),
    );
    let demarche_allowed = exists(
        organisation_demarches::table
            .filter(organisation_demarches::organisation_id.eq(organisation.as_str()))
            .filter(organisation_demarches::demarche.eq(demarche.key())),
    );
    // The aidant's row, joined with the open authorization if any (unique index), else the most
    // recent ones, so a refusal can say "expired" or "revoked" rather than "not covered". No
    // authorization: one row whose authorization is `None`.
    let rows: Vec<CanActRow> = aidants::table
        .find(aidant.as_str())
        .left_join(
            authorizations::table.on(authorizations::organisation_id
                .eq(organisation.as_str())
                .and(authorizations::usager_id.eq(usager.as_str()))
                .and(authorizations::demarche.eq(demarche.key()))),
        )
        .order((
            authorizations::revoked_at.is_null().desc(),
            authorizations::expires_at.desc(),
        ))
        .limit(2)
        .select((
            aidants::is_active,
            aidants::can_create_mandates,
            organisation_active,
            member,
            demarche_allowed,
            Option::<AuthorizationRow>::as_select(),
            diesel::dsl::sql::<diesel::sql_types::Bool>(SUSPENDED),
        ))
        .load(conn)?;
    let first = rows.first().ok_or(StorageError::NotFound)?;
    let standing = Standing {
        aidant_active: first.0,
        habilitated: first.1,
        organisation_active: first.2.ok_or(StorageError::NotFound)?,
        member: first.3,
        demarche_allowed: first.4,
    };
    let suspended: Vec<String> = rows
        .iter()
        .filter(|row| row.6)
        .filter_map(|row| row.5.as_ref().map(|a| a.id.clone()))
        .collect();
    let candidates: Vec<Authorization> = rows
        .into_iter()
        .filter_map(|row| row.5)
        .map(AuthorizationRow::into_domain)
        .collect::<Result<_, _>>()?;
    let allowed = rules::can_act_with(standing, organisation, usager, demarche, &candidates, at);
    Ok(rules::unless_suspended(allowed, |a| suspended.iter().any(|s| s == a.id.as_str())).cloned())
}
