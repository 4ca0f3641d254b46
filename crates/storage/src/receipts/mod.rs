//! Receipts to the aidé (docs/security/aide-space.md, "Receipts").
//!
//! - The person's choice ([`Choice`]) and address, sealed like the TOTP seeds
//!   ([`set_preference_in`]).
//! - A receipt is written by [`record_in`] **in the transaction of the event it reports**
//!   (mandate created, démarche or mandate revoked, each delegated use) with the pending id of
//!   that event's journal entry, or by [`remind_due`] thirty days before a mandate ends. Rows
//!   are facts, not messages: rendering (templates, local time, names) and the single-use
//!   « Ce n'était pas moi » links belong above storage. A channel of the web layer then
//!   [`dispatch`]es each receipt — the person's message queued in the outbox, its report
//!   tokens and the receipt marked dispatched, in one transaction that only one node can win.
//!   So a receipt exists if and only if its event happened, and is sent once.
//! - [`by_code`] answers the public page `/recu/{code}`.

pub mod reports;

use ac_audit::{Action, ActorKind};
use ac_auth::{KeyRing, Secret, TokenHash};
use ac_mandates::{
    AuthorizationId, Demarche, Email, MandateId, OrganisationId, UsagerId, VerificationCode,
};
use diesel::prelude::*;
use ring::rand::SecureRandom;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::outbox::{self, NewMail};
use crate::schema::{
    aidants, aide_notification_preferences as prefs, audit_log, authorizations, mandates,
    oidc_clients, organisations, receipt_report_tokens, receipts, usagers,
};
use crate::{DbConnection, from_db, new_id, to_db, write};

/// How the person wants to hear of what is done in their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// « À chaque utilisation »: every receipt as it happens.
    EachUse,
    /// « Un résumé par semaine »: delegated uses in a weekly digest; the rest as it happens.
    Weekly,
    /// « Jamais ».
    Never,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::EachUse, Choice::Weekly, Choice::Never];

    pub const fn key(self) -> &'static str {
        match self {
            Choice::EachUse => "each_use",
            Choice::Weekly => "weekly",
            Choice::Never => "never",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }

    /// The words of the form.
    pub const fn label(self) -> &'static str {
        match self {
            Choice::EachUse => "À chaque utilisation",
            Choice::Weekly => "Un résumé par semaine",
            Choice::Never => "Jamais",
        }
    }
}

/// What a receipt reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    MandateCreated,
    DemarcheRevoked,
    MandateRevoked,
    DelegatedUse,
    /// Thirty days before the mandate ends.
    ExpiryReminder,
}

impl ReceiptKind {
    pub const ALL: [ReceiptKind; 5] = [
        ReceiptKind::MandateCreated,
        ReceiptKind::DemarcheRevoked,
        ReceiptKind::MandateRevoked,
        ReceiptKind::DelegatedUse,
        ReceiptKind::ExpiryReminder,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            ReceiptKind::MandateCreated => "mandate_created",
            ReceiptKind::DemarcheRevoked => "demarche_revoked",
            ReceiptKind::MandateRevoked => "mandate_revoked",
            ReceiptKind::DelegatedUse => "delegated_use",
            ReceiptKind::ExpiryReminder => "expiry_reminder",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    /// In a sentence of the public page: « Ce reçu porte sur … ».
    pub const fn label(self) -> &'static str {
        match self {
            ReceiptKind::MandateCreated => "la création d'un mandat",
            ReceiptKind::DemarcheRevoked => "la révocation d'une démarche",
            ReceiptKind::MandateRevoked => "la révocation d'un mandat",
            ReceiptKind::DelegatedUse => "une utilisation d'un mandat",
            ReceiptKind::ExpiryReminder => "la fin prochaine d'un mandat",
        }
    }
}

/// The sealed address's associated data: a sealed address copied onto another person's row no
/// longer opens.
fn address_aad(usager: &UsagerId) -> String {
    format!("aide-email:{}", usager.as_str())
}

/// `c•••@exemple.fr`: what an aidant may see of an address once it is entered.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

/// The person's stored choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preference {
    pub choice: Choice,
    /// The masked address, when one is given.
    pub email_masked: Option<String>,
}

/// The person's choice, if they made one.
pub fn preference(
    conn: &mut DbConnection,
    usager: &UsagerId,
) -> Result<Option<Preference>, StorageError> {
    let row: Option<(String, Option<String>)> = prefs::table
        .find(usager.as_str())
        .select((prefs::choice, prefs::email_masked))
        .first(conn)
        .optional()?;
    row.map(|(choice, email_masked)| {
        Ok(Preference {
            choice: Choice::from_key(&choice).ok_or_else(|| {
                StorageError::Corrupt("aide_notification_preferences.choice".into())
            })?,
            email_masked,
        })
    })
    .transpose()
}

/// Opens the person's address, for a channel about to write to them.
pub fn open_address(
    keys: &KeyRing,
    usager: &UsagerId,
    sealed: &str,
) -> Result<Option<Email>, StorageError> {
    let secret = keys.open(sealed, &address_aad(usager))?;
    Ok(std::str::from_utf8(secret.expose())
        .ok()
        .and_then(|text| text.parse().ok()))
}

/// The key ring and random source that seal an address.
#[derive(Clone, Copy)]
pub struct Sealer<'a> {
    pub keys: &'a KeyRing,
    pub rng: &'a dyn SecureRandom,
}

/// A choice to record with a mandate's consent (`mandates::create_from_consent`).
#[derive(Clone, Copy)]
pub struct NewPreference<'a> {
    pub sealer: Sealer<'a>,
    pub choice: Choice,
    /// A new address; `None` keeps the one stored.
    pub email: Option<&'a Email>,
}

/// Records the person's choice and address (sealed, `email` `None` keeps the one stored, if
/// any), journaled without the address, inside the caller's transaction (the consent, or the
/// person's own space). `Never` without an address is allowed; other choices need one.
pub fn set_preference_in(
    tx: &mut DbConnection,
    sealer: Sealer<'_>,
    usager: &UsagerId,
    choice: Choice,
    email: Option<&Email>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    let subject = crate::usagers::subject(tx, usager)?.ok_or(StorageError::NotFound)?;
    let sealed = email
        .map(|e| {
            let sealed = sealer.keys.seal(
                sealer.rng,
                &Secret::new(e.as_str().as_bytes().to_vec()),
                &address_aad(usager),
            )?;
            Ok::<_, StorageError>((sealed, mask_email(e.as_str())))
        })
        .transpose()?;
    let existing: Option<(Option<String>, Option<String>)> = prefs::table
        .find(usager.as_str())
        .select((prefs::email_sealed, prefs::email_masked))
        .first(tx)
        .optional()?;
    let (email_sealed, email_masked) = match (sealed, &existing) {
        (Some((sealed, masked)), _) => (Some(sealed), Some(masked)),
        (None, Some((sealed, masked))) => (sealed.clone(), masked.clone()),
        (None, None) => (None, None),
    };
    if choice != Choice::Never && email_sealed.is_none() {
        return Err(ac_mandates::FieldError::InvalidEmail.into());
    }
    let values = (
        prefs::choice.eq(choice.key()),
        prefs::email_sealed.eq(&email_sealed),
        prefs::email_masked.eq(&email_masked),
        prefs::updated_at.eq(to_db(now)),
    );
    if existing.is_some() {
        diesel::update(prefs::table.find(usager.as_str()))
            .set(values)
            .execute(tx)?;
    } else {
        diesel::insert_into(prefs::table)
            .values((prefs::usager_id.eq(usager.as_str()), values))
            .execute(tx)
            .map_err(StorageError::from_query)?;
    }
    let event = Event::new(Action::NotificationsChanged)
        .usager(&subject)
        .detail("choice", choice.key())
        .detail("address_changed", email.is_some());
    journal::record(tx, context, event, now)
}

/// [`set_preference_in`] in a transaction of its own.
pub fn set_preference(
    conn: &mut DbConnection,
    sealer: Sealer<'_>,
    usager: &UsagerId,
    choice: Choice,
    email: Option<&Email>,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        set_preference_in(tx, sealer, usager, choice, email, context, now)
    })
}

/// An event to report to the person, as the operation that journals it knows it.
#[derive(Debug, Clone)]
pub(crate) struct Reported<'a> {
    pub kind: ReceiptKind,
    pub usager: &'a UsagerId,
    pub organisation: &'a OrganisationId,
    pub mandate: &'a MandateId,
    pub authorization: Option<&'a AuthorizationId>,
    pub demarches: Vec<Demarche>,
    pub context: &'a AuditContext,
    pub client: Option<&'a str>,
    /// The pending id of the event's journal entry (`journal::record_id`).
    pub pending_id: i64,
}

/// How a person with this choice gets a receipt of this kind; `None`: not at all.
fn delivery(choice: Choice, kind: ReceiptKind) -> Option<Choice> {
    match (choice, kind) {
        (Choice::Never, _) => None,
        (Choice::Weekly, ReceiptKind::DelegatedUse) => Some(Choice::Weekly),
        _ => Some(Choice::EachUse),
    }
}

/// Writes the receipt of `reported` inside the event's transaction, if the person asked for
/// receipts. Returns its verification code.
pub(crate) fn record_in(
    tx: &mut DbConnection,
    reported: &Reported<'_>,
    now: OffsetDateTime,
) -> Result<Option<VerificationCode>, StorageError> {
    let Some(choice) = preference(tx, reported.usager)? else {
        return Ok(None);
    };
    let Some(delivery) = delivery(choice.choice, reported.kind) else {
        return Ok(None);
    };
    let code = crate::mandate_verifications::generate()?;
    let demarches: Vec<&str> = reported.demarches.iter().map(|d| d.key()).collect();
    let actor = &reported.context.actor;
    let aidant = (actor.kind == ActorKind::Aidant)
        .then(|| actor.id.clone())
        .flatten();
    diesel::insert_into(receipts::table)
        .values((
            receipts::id.eq(new_id()),
            receipts::code.eq(code.as_str()),
            receipts::kind.eq(reported.kind.key()),
            receipts::usager_id.eq(reported.usager.as_str()),
            receipts::organisation_id.eq(reported.organisation.as_str()),
            receipts::mandate_id.eq(reported.mandate.as_str()),
            receipts::authorization_id.eq(reported.authorization.map(AuthorizationId::as_str)),
            receipts::demarches.eq(demarches.join(",")),
            receipts::actor_kind.eq(actor.kind.as_str()),
            receipts::aidant_id.eq(aidant),
            receipts::client_id.eq(reported.client),
            receipts::pending_id.eq(reported.pending_id),
            receipts::delivery.eq(delivery.key()),
            receipts::created_at.eq(to_db(now)),
        ))
        .execute(tx)
        .map_err(StorageError::from_query)?;
    Ok(Some(code))
}

/// What the userinfo step reads for a use's receipt, with the grant (`oidc_grants::live_code`):
/// no query of its own on the delegated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UseReceipt {
    mandate: MandateId,
    /// The person asked for receipts (a choice other than « jamais »).
    wanted: bool,
}

impl UseReceipt {
    pub(crate) fn new(mandate: String, choice: Option<&str>) -> Self {
        Self {
            mandate: MandateId::new(mandate),
            wanted: choice.is_some_and(|c| c != Choice::Never.key()),
        }
    }
}

/// The delegated use served at userinfo (`oidc_grants::userinfo`): its `delegation.completed`
/// entry alone when the person wants no receipt (one statement, as before), else the entry and
/// the receipt in one transaction.
pub(crate) fn record_use(
    conn: &mut DbConnection,
    context: &AuditContext,
    event: Event,
    receipt: &UseReceipt,
    code: &crate::oidc_grants::CodeRecord,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    if !receipt.wanted {
        return journal::record(conn, context, event, now);
    }
    write(conn, |tx| {
        let pending_id = journal::record_id(tx, context, event, now)?;
        // The receipt names the aidant who acted (the journal's actor is the website).
        let acting = AuditContext::aidant(&code.aidant_id, context.request_id.clone());
        record_in(
            tx,
            &Reported {
                kind: ReceiptKind::DelegatedUse,
                usager: &code.usager_id,
                organisation: &code.organisation_id,
                mandate: &receipt.mandate,
                authorization: Some(&code.authorization_id),
                demarches: vec![code.demarche],
                context: &acting,
                client: Some(&code.client_id),
                pending_id,
            },
            now,
        )?;
        Ok(())
    })
}

/// Writes the 30-day reminder of every mandate of a person who wants receipts, ending within
/// `within` of `now` with a démarche still usable, longer than `within`, not reminded yet. The
/// receipt names the mandate's `mandate.created` entry; a mandate whose entry is not integrated
/// yet waits for the next round. Returns how many were written.
pub fn remind_due(
    conn: &mut DbConnection,
    within: Duration,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    let horizon = to_db(now.saturating_add(within));
    let days = i32::try_from(within.whole_days()).unwrap_or(i32::MAX);
    let reminded = receipts::table
        .filter(receipts::kind.eq(ReceiptKind::ExpiryReminder.key()))
        .select(receipts::mandate_id);
    let usable = authorizations::table
        .filter(authorizations::revoked_at.is_null())
        .filter(authorizations::expires_at.gt(to_db(now)))
        .select(authorizations::mandate_id);
    let due: Vec<(String, String, String, String)> = mandates::table
        .inner_join(prefs::table.on(prefs::usager_id.eq(mandates::usager_id)))
        .filter(prefs::choice.ne(Choice::Never.key()))
        .filter(mandates::expires_at.gt(to_db(now)))
        .filter(mandates::expires_at.le(horizon))
        .filter(mandates::duration_days.gt(days))
        .filter(mandates::id.ne_all(reminded))
        .filter(mandates::id.eq_any(usable))
        .select((
            mandates::id,
            mandates::usager_id,
            mandates::organisation_id,
            mandates::created_by,
        ))
        .load(conn)?;
    let mut written = 0;
    for (mandate, usager, organisation, created_by) in due {
        let entry: Option<i64> = audit_log::table
            .filter(audit_log::organisation_id.eq(&organisation))
            .filter(audit_log::action.eq(Action::MandateCreated.as_str()))
            .filter(audit_log::target.eq(&mandate))
            .select(audit_log::pending_id)
            .first(conn)
            .optional()?;
        let Some(pending_id) = entry else {
            continue;
        };
        let open: Vec<String> = authorizations::table
            .filter(authorizations::mandate_id.eq(&mandate))
            .filter(authorizations::revoked_at.is_null())
            .select(authorizations::demarche)
            .load(conn)?;
        let demarches: Vec<Demarche> = open.iter().filter_map(|d| d.parse().ok()).collect();
        let context = AuditContext::aidant(&ac_mandates::AidantId::new(created_by), None);
        let done = write(conn, |tx| {
            record_in(
                tx,
                &Reported {
                    kind: ReceiptKind::ExpiryReminder,
                    usager: &UsagerId::new(usager.as_str()),
                    organisation: &OrganisationId::new(organisation.as_str()),
                    mandate: &MandateId::new(mandate.as_str()),
                    authorization: None,
                    demarches,
                    context: &context,
                    client: None,
                    pending_id,
                },
                now,
            )
        });
        match done {
            Ok(Some(_)) => written += 1,
            Ok(None) => {}
            // Another node wrote it first (the unique index on the mandate's reminder).
            Err(StorageError::Conflict) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(written)
}

/// A receipt ready for its message: the facts, with what the message names them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: String,
    pub code: VerificationCode,
    pub kind: ReceiptKind,
    pub usager: UsagerId,
    pub mandate: MandateId,
    pub demarches: Vec<Demarche>,
    pub actor_kind: String,
    /// The aidant's first name, when an aidant acted.
    pub aidant_first_name: Option<String>,
    pub organisation_name: String,
    pub departement: String,
    /// The partner website's display name.
    pub site: Option<String>,
    pub at: OffsetDateTime,
    pub mandate_expires_at: OffsetDateTime,
    /// The person's sealed address (`None`: they no longer want messages).
    pub email_sealed: Option<String>,
}

type PendingRow = (
    (String, String, String, String, String, String, String),
    (Option<String>, String, String, Option<String>),
    (PrimitiveDateTime, PrimitiveDateTime),
    (Option<String>, Option<String>),
);

fn pending_rows(
    conn: &mut DbConnection,
    delivery: Choice,
    filter_usager: Option<&UsagerId>,
    limit: i64,
) -> Result<Vec<Pending>, StorageError> {
    let mut query = receipts::table
        .inner_join(organisations::table)
        .inner_join(mandates::table.on(mandates::id.eq(receipts::mandate_id)))
        .left_join(aidants::table.on(aidants::id.nullable().eq(receipts::aidant_id)))
        .left_join(oidc_clients::table.on(oidc_clients::id.nullable().eq(receipts::client_id)))
        .left_join(prefs::table.on(prefs::usager_id.eq(receipts::usager_id)))
        .filter(receipts::dispatched_at.is_null())
        .filter(receipts::delivery.eq(delivery.key()))
        .into_boxed();
    if let Some(usager) = filter_usager {
        query = query.filter(receipts::usager_id.eq(usager.as_str()));
    }
    let rows: Vec<PendingRow> = query
        .order(receipts::created_at)
        .limit(limit)
        .select((
            (
                receipts::id,
                receipts::code,
                receipts::kind,
                receipts::usager_id,
                receipts::mandate_id,
                receipts::demarches,
                receipts::actor_kind,
            ),
            (
                aidants::first_name.nullable(),
                organisations::name,
                organisations::departement,
                oidc_clients::name.nullable(),
            ),
            (receipts::created_at, mandates::expires_at),
            (prefs::email_sealed.nullable(), prefs::choice.nullable()),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(
                (id, code, kind, usager, mandate, demarches, actor_kind),
                (first_name, organisation_name, departement, site),
                (at, expires_at),
                (email_sealed, choice),
            )| {
                let wants = choice.as_deref().is_some_and(|c| c != Choice::Never.key());
                Ok(Pending {
                    id,
                    code: VerificationCode::parse(&code)
                        .ok_or_else(|| StorageError::Corrupt("receipts.code".into()))?,
                    kind: ReceiptKind::from_key(&kind)
                        .ok_or_else(|| StorageError::Corrupt("receipts.kind".into()))?,
                    usager: UsagerId::new(usager),
                    mandate: MandateId::new(mandate),
                    demarches: demarches
                        .split(',')
                        .filter_map(|d| d.parse().ok())
                        .collect(),
                    aidant_first_name: first_name.filter(|_| actor_kind == "aidant"),
                    actor_kind,
                    organisation_name,
                    departement,
                    site,
                    at: from_db(at),
                    mandate_expires_at: from_db(expires_at),
                    email_sealed: email_sealed.filter(|_| wants),
                })
            },
        )
        .collect()
}

/// Up to `limit` receipts to send one by one, oldest first.
pub fn due_now(conn: &mut DbConnection, limit: i64) -> Result<Vec<Pending>, StorageError> {
    pending_rows(conn, Choice::EachUse, None, limit)
}

/// How long the weekly digest gathers: a person's digest is due when their oldest receipt
/// waiting for it is this old.
pub const DIGEST_PERIOD: Duration = Duration::days(7);

/// The people whose weekly digest is due at `now`, each with every receipt it gathers (at most
/// `limit` people a round, at most 500 receipts a digest).
pub fn due_digests(
    conn: &mut DbConnection,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Vec<Pending>>, StorageError> {
    let cutoff = to_db(now.checked_sub(DIGEST_PERIOD).unwrap_or(now));
    let people: Vec<String> = receipts::table
        .filter(receipts::dispatched_at.is_null())
        .filter(receipts::delivery.eq(Choice::Weekly.key()))
        .group_by(receipts::usager_id)
        .having(diesel::dsl::min(receipts::created_at).le(cutoff))
        .select(receipts::usager_id)
        .limit(limit)
        .load(conn)?;
    people
        .iter()
        .map(|usager| {
            pending_rows(
                conn,
                Choice::Weekly,
                Some(&UsagerId::new(usager.as_str())),
                500,
            )
        })
        .collect()
}

/// A « Ce n'était pas moi » token to store with its receipt's dispatch.
#[derive(Debug, Clone)]
pub struct NewReportToken<'a> {
    pub receipt_id: &'a str,
    pub hash: &'a TokenHash,
}

/// Marks `receipt_ids` dispatched, stores their report tokens (valid `token_ttl`) and queues
/// `mails`, in one transaction: `false`, with nothing written, when another node dispatched any
/// of them first.
pub fn dispatch(
    conn: &mut DbConnection,
    receipt_ids: &[&str],
    tokens: &[NewReportToken<'_>],
    mails: &[NewMail<'_>],
    token_ttl: Duration,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    let done = write(conn, |tx| {
        let updated = diesel::update(
            receipts::table
                .filter(receipts::id.eq_any(receipt_ids))
                .filter(receipts::dispatched_at.is_null()),
        )
        .set(receipts::dispatched_at.eq(Some(to_db(now))))
        .execute(tx)?;
        if updated != receipt_ids.len() {
            return Err(StorageError::Conflict);
        }
        for token in tokens {
            diesel::insert_into(receipt_report_tokens::table)
                .values((
                    receipt_report_tokens::token_hash.eq(token.hash.as_str()),
                    receipt_report_tokens::receipt_id.eq(token.receipt_id),
                    receipt_report_tokens::created_at.eq(to_db(now)),
                    receipt_report_tokens::expires_at.eq(to_db(now.saturating_add(token_ttl))),
                ))
                .execute(tx)
                .map_err(StorageError::from_query)?;
        }
        for mail in mails {
            outbox::enqueue(tx, mail, now)?;
        }
        Ok(())
    });
    match done {
        Ok(()) => Ok(true),
        Err(StorageError::Conflict) => Ok(false),
        Err(other) => Err(other),
    }
}

/// What the public page may say of a receipt: nothing about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genuine {
    pub kind: ReceiptKind,
    pub at: OffsetDateTime,
    /// The journal entry it reports, once integrated: its index (`seq`) and leaf hash (hex).
    pub entry: Option<(i64, String)>,
}

/// The receipt a code names; `None` for a code nobody was given (or whose mandate is gone).
pub fn by_code(
    conn: &mut DbConnection,
    code: &VerificationCode,
) -> Result<Option<Genuine>, StorageError> {
    let row: Option<(String, PrimitiveDateTime, i64)> = receipts::table
        .filter(receipts::code.eq(code.as_str()))
        .select((receipts::kind, receipts::created_at, receipts::pending_id))
        .first(conn)
        .optional()?;
    let Some((kind, at, pending_id)) = row else {
        return Ok(None);
    };
    let entry: Option<(i64, Vec<u8>)> = audit_log::table
        .filter(audit_log::pending_id.eq(pending_id))
        .select((audit_log::seq, audit_log::leaf_hash))
        .first(conn)
        .optional()?;
    Ok(Some(Genuine {
        kind: ReceiptKind::from_key(&kind)
            .ok_or_else(|| StorageError::Corrupt("receipts.kind".into()))?,
        at: from_db(at),
        entry: entry.map(|(seq, hash)| (seq, hex::encode(hash))),
    }))
}

/// The usager record of the person signed in with pseudonym `subject`.
pub fn usager_of_subject(
    conn: &mut DbConnection,
    subject: &str,
) -> Result<Option<UsagerId>, StorageError> {
    Ok(usagers::table
        .filter(usagers::subject.eq(subject))
        .select(usagers::id)
        .first::<String>(conn)
        .optional()?
        .map(UsagerId::new))
}
