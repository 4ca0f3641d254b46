//! Receipts on both backends: written with the event they report (and only for a person who
//! asked), naming its journal entry; a « Ce n'était pas moi » token opens one report that
//! suspends the authorization at once — `can_act` refuses — until a référent restores it; a
//! report on what already ended changes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_auth::{KeyRing, Token};
use ac_mandates::*;
use ac_storage::journal::AuditContext;
use ac_storage::mandates::{self, NewMandate, RevocationConsent};
use ac_storage::receipts::reports::{self, Closing, Reported, TokenRefusal};
use ac_storage::receipts::{self, Choice, NewReportToken, ReceiptKind, Sealer};
use ac_storage::testing::{TestDatabase, aidant_of, count, pivot_identity, structure};
use ac_storage::{DbConnection, aidants, audit, organisations, usagers};
use ring::rand::SystemRandom;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-03-10 14:30:00 UTC);

struct Fixture {
    org: OrganisationId,
    aidant: AidantId,
    usager: UsagerId,
    keys: KeyRing,
}

fn fixture(conn: &mut DbConnection) -> Fixture {
    let ctx = AuditContext::cli();
    let org = structure("org-a", "Médiathèque").unwrap();
    organisations::insert(conn, &org, &ctx, NOW).unwrap();
    let aidant = aidant_of("alice", "alice@exemple.fr".parse().unwrap(), &org.id);
    aidants::insert(conn, &aidant, &ctx, NOW).unwrap();
    let (usager, _) =
        usagers::upsert_identified(conn, &"a".repeat(64), &pivot_identity(), &ctx, NOW).unwrap();
    let rng = SystemRandom::new();
    Fixture {
        org: org.id,
        aidant: aidant.id,
        usager: usager.id,
        keys: KeyRing::parse(&KeyRing::generate_file_text(&rng).unwrap()).unwrap(),
    }
}

fn create(conn: &mut DbConnection, f: &Fixture, demarches: &[Demarche]) -> Mandate {
    mandates::create(
        conn,
        &NewMandate {
            aidant: &f.aidant,
            organisation: &f.org,
            usager: &f.usager,
            demarches,
            duration: MandateDuration::OneYear,
            legal_text_version: "2026-01",
            renewal_of: None,
        },
        &AuditContext::aidant(&f.aidant, None),
        NOW,
    )
    .unwrap()
    .mandate
}

/// Dispatches every receipt due now with one token each; returns the tokens by receipt kind.
fn dispatch_all(conn: &mut DbConnection, at: OffsetDateTime) -> Vec<(ReceiptKind, Token)> {
    let due = receipts::due_now(conn, 100).unwrap();
    let rng = SystemRandom::new();
    let tokens: Vec<(String, ReceiptKind, Token)> = due
        .iter()
        .map(|p| (p.id.clone(), p.kind, Token::generate(&rng).unwrap()))
        .collect();
    let hashes: Vec<_> = tokens.iter().map(|(_, _, t)| t.hash()).collect();
    let new: Vec<NewReportToken<'_>> = tokens
        .iter()
        .zip(&hashes)
        .map(|((id, _, _), hash)| NewReportToken {
            receipt_id: id,
            hash,
        })
        .collect();
    let ids: Vec<&str> = due.iter().map(|p| p.id.as_str()).collect();
    assert!(receipts::dispatch(conn, &ids, &new, &[], Duration::days(30), at).unwrap());
    assert!(
        !receipts::dispatch(conn, &ids, &[], &[], Duration::days(30), at).unwrap(),
        "dispatched once"
    );
    tokens.into_iter().map(|(_, k, t)| (k, t)).collect()
}

fn can_act(conn: &mut DbConnection, f: &Fixture, at: OffsetDateTime) -> Result<(), Refusal> {
    mandates::can_act(conn, &f.aidant, &f.org, &f.usager, Demarche::Social, at)
        .unwrap()
        .map(|_| ())
}

#[test]
fn receipts_go_with_their_event_and_only_to_people_who_asked() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        create(conn, &f, &[Demarche::Argent]);
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM receipts").unwrap(),
            0
        );

        let email: Email = "angela.dubois@exemple.fr".parse().unwrap();
        receipts::set_preference(
            conn,
            Sealer {
                keys: &f.keys,
                rng: &SystemRandom::new(),
            },
            &f.usager,
            Choice::EachUse,
            Some(&email),
            &AuditContext::cli(),
            NOW,
        )
        .unwrap();
        let stored = receipts::preference(conn, &f.usager).unwrap().unwrap();
        assert_eq!(stored.email_masked.as_deref(), Some("a•••@exemple.fr"));
        let sealed = count(
            conn,
            "SELECT COUNT(*) AS n FROM aide_notification_preferences \
             WHERE email_sealed LIKE '%angela%'",
        )
        .unwrap();
        assert_eq!(sealed, 0, "the address is sealed");

        let m = create(conn, &f, &[Demarche::Social]);
        let due = receipts::due_now(conn, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].kind, ReceiptKind::MandateCreated);
        assert_eq!(due[0].demarches, [Demarche::Social]);
        assert_eq!(due[0].aidant_first_name.as_deref(), Some("Camille"));
        let opened =
            receipts::open_address(&f.keys, &f.usager, due[0].email_sealed.as_ref().unwrap())
                .unwrap();
        assert_eq!(opened, Some(email));

        // The receipt names its event's journal entry, once integrated.
        let code = due[0].code.clone();
        assert_eq!(receipts::by_code(conn, &code).unwrap().unwrap().entry, None);
        audit::integrate_all(conn, 100, NOW).unwrap();
        let genuine = receipts::by_code(conn, &code).unwrap().unwrap();
        let (seq, _) = genuine.entry.unwrap();
        let action = count(
            conn,
            &format!(
                "SELECT COUNT(*) AS n FROM audit_log WHERE seq = {seq} \
                 AND action = 'mandate.created' AND target = '{}'",
                m.id.as_str()
            ),
        )
        .unwrap();
        assert_eq!(action, 1);
        let forged = VerificationCode::parse(&"7".repeat(32)).unwrap();
        assert_eq!(receipts::by_code(conn, &forged).unwrap(), None);

        // A revocation writes its receipt; a failed one (already revoked) writes none.
        let social = m.authorizations[0].id.clone();
        mandates::revoke_authorization(
            conn,
            &f.aidant,
            &m.id,
            &social,
            RevocationConsent::OnScreen,
            &AuditContext::aidant(&f.aidant, None),
            NOW + Duration::hours(1),
        )
        .unwrap();
        assert!(
            mandates::revoke_authorization(
                conn,
                &f.aidant,
                &m.id,
                &social,
                RevocationConsent::OnScreen,
                &AuditContext::aidant(&f.aidant, None),
                NOW + Duration::hours(2),
            )
            .is_err()
        );
        let kinds: Vec<ReceiptKind> = receipts::due_now(conn, 10)
            .unwrap()
            .iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(
            kinds,
            [ReceiptKind::MandateCreated, ReceiptKind::DemarcheRevoked]
        );
    }
}

#[test]
fn a_report_suspends_at_once_until_the_referent_restores_and_tokens_are_single_use() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        receipts::set_preference(
            conn,
            Sealer {
                keys: &f.keys,
                rng: &SystemRandom::new(),
            },
            &f.usager,
            Choice::EachUse,
            Some(&"angela@exemple.fr".parse().unwrap()),
            &AuditContext::cli(),
            NOW,
        )
        .unwrap();
        let m = create(conn, &f, &[Demarche::Social, Demarche::Argent]);
        let later = NOW + Duration::days(1);
        let tokens = dispatch_all(conn, NOW);
        let (_, token) = &tokens[0];
        assert!(can_act(conn, &f, later).is_ok());

        // The key guarantee: once reported, no delegated use.
        let opened = reports::open(conn, &token.hash(), &[], None, later).unwrap();
        assert!(matches!(opened, Reported::Opened { .. }), "{opened:?}");
        assert_eq!(can_act(conn, &f, later), Err(Refusal::Suspended));
        // The person reads their report in their own history.
        audit::integrate_all(conn, 100, later).unwrap();
        let history = ac_storage::aide_space::history(conn, &"a".repeat(64), None, 5).unwrap();
        assert_eq!(history[0].action, "report.opened");
        assert_eq!(
            mandates::can_act(conn, &f.aidant, &f.org, &f.usager, Demarche::Argent, later)
                .unwrap()
                .map(|_| ()),
            Err(Refusal::Suspended),
            "a report on the mandate's creation suspends all of it"
        );
        assert_eq!(
            reports::open(conn, &token.hash(), &[], None, later).unwrap(),
            Reported::Refused(TokenRefusal::Used)
        );
        let unknown = Token::generate(&SystemRandom::new()).unwrap();
        assert_eq!(
            reports::open(conn, &unknown.hash(), &[], None, later).unwrap(),
            Reported::Refused(TokenRefusal::Unknown)
        );

        // Listed for the structure, not for another.
        let scope = ac_storage::console::Scope::Organisations([f.org.clone()].into());
        let open = reports::open_in_scope(conn, &scope).unwrap();
        assert_eq!(open.len(), 1);
        let other =
            ac_storage::console::Scope::Organisations([OrganisationId::new("org-z")].into());
        assert!(reports::open_in_scope(conn, &other).unwrap().is_empty());
        assert!(matches!(
            reports::close(
                conn,
                &open[0].id,
                &OrganisationId::new("org-z"),
                &f.aidant,
                Closing::Restore,
                &AuditContext::aidant(&f.aidant, None),
                later,
            ),
            Err(ac_storage::StorageError::NotFound)
        ));
        reports::close(
            conn,
            &open[0].id,
            &f.org,
            &f.aidant,
            Closing::Restore,
            &AuditContext::aidant(&f.aidant, None),
            later,
        )
        .unwrap();
        assert!(can_act(conn, &f, later).is_ok(), "restored");
        assert!(reports::open_in_scope(conn, &scope).unwrap().is_empty());

        // Revoked démarche: a report says so and changes nothing; its token stays unused.
        mandates::revoke_authorization(
            conn,
            &f.aidant,
            &m.id,
            &m.authorizations[1].id,
            RevocationConsent::OnScreen,
            &AuditContext::aidant(&f.aidant, None),
            later,
        )
        .unwrap();
        let tokens = dispatch_all(conn, later);
        let (kind, revoked_token) = &tokens[0];
        assert_eq!(*kind, ReceiptKind::DemarcheRevoked);
        assert_eq!(
            reports::open(conn, &revoked_token.hash(), &[], None, later).unwrap(),
            Reported::AlreadyEnded
        );
        assert!(can_act(conn, &f, later).is_ok());

        // Expired tokens open nothing.
        assert_eq!(
            reports::open(
                conn,
                &revoked_token.hash(),
                &[],
                None,
                later + Duration::days(31)
            )
            .unwrap(),
            Reported::Refused(TokenRefusal::Expired)
        );
        audit::integrate_all(conn, 100, later).unwrap();
        let actions = count(
            conn,
            "SELECT COUNT(*) AS n FROM audit_log \
             WHERE action IN ('report.opened', 'report.closed')",
        )
        .unwrap();
        assert_eq!(actions, 2, "opened and closed, journaled");
    }
}

#[test]
fn closing_by_revoking_revokes_what_the_report_names() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        receipts::set_preference(
            conn,
            Sealer {
                keys: &f.keys,
                rng: &SystemRandom::new(),
            },
            &f.usager,
            Choice::Weekly,
            Some(&"angela@exemple.fr".parse().unwrap()),
            &AuditContext::cli(),
            NOW,
        )
        .unwrap();
        create(conn, &f, &[Demarche::Social]);
        let tokens = dispatch_all(conn, NOW);
        let opened = reports::open(conn, &tokens[0].1.hash(), &[], None, NOW).unwrap();
        let Reported::Opened { report } = opened else {
            panic!("{opened:?}");
        };
        reports::close(
            conn,
            &report,
            &f.org,
            &f.aidant,
            Closing::Revoke,
            &AuditContext::aidant(&f.aidant, None),
            NOW,
        )
        .unwrap();
        assert_eq!(can_act(conn, &f, NOW), Err(Refusal::Revoked));
        let kinds: Vec<ReceiptKind> = receipts::due_now(conn, 10)
            .unwrap()
            .iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(kinds, [ReceiptKind::MandateRevoked]);
    }
}

#[test]
fn retention_takes_the_receipts_tokens_reports_and_choice_with_the_mandate_and_the_person() {
    for db in TestDatabase::each_as_runtime_role().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        receipts::set_preference(
            conn,
            Sealer {
                keys: &f.keys,
                rng: &SystemRandom::new(),
            },
            &f.usager,
            Choice::EachUse,
            Some(&"angela@exemple.fr".parse().unwrap()),
            &AuditContext::cli(),
            NOW,
        )
        .unwrap();
        create(conn, &f, &[Demarche::Social]);
        let tokens = dispatch_all(conn, NOW);
        reports::open(conn, &tokens[0].1.hash(), &[], None, NOW).unwrap();
        let ends = NOW + Duration::days(365);
        let outcome = ac_storage::retention::run(
            &db.db,
            &ac_storage::retention::Policy::default(),
            "test-node",
            ends + Duration::days(366),
        )
        .unwrap();
        assert_eq!(
            (outcome.mandates, outcome.identities),
            (1, 1),
            "{outcome:?}"
        );
        for table in [
            "receipts",
            "receipt_report_tokens",
            "receipt_reports",
            "aide_notification_preferences",
            "usagers",
        ] {
            assert_eq!(
                count(conn, &format!("SELECT COUNT(*) AS n FROM {table}")).unwrap(),
                0,
                "{table}"
            );
        }
    }
}

#[test]
fn no_receipt_no_event() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        receipts::set_preference(
            conn,
            Sealer {
                keys: &f.keys,
                rng: &SystemRandom::new(),
            },
            &f.usager,
            Choice::EachUse,
            Some(&"angela@exemple.fr".parse().unwrap()),
            &AuditContext::cli(),
            NOW,
        )
        .unwrap();
        // The receipt cannot be written: the mandate is not created either.
        db.execute_raw("ALTER TABLE receipts RENAME TO receipts_elsewhere")
            .unwrap();
        let refused = mandates::create(
            conn,
            &NewMandate {
                aidant: &f.aidant,
                organisation: &f.org,
                usager: &f.usager,
                demarches: &[Demarche::Social],
                duration: MandateDuration::OneYear,
                legal_text_version: "2026-01",
                renewal_of: None,
            },
            &AuditContext::aidant(&f.aidant, None),
            NOW,
        );
        assert!(refused.is_err());
        db.execute_raw("ALTER TABLE receipts_elsewhere RENAME TO receipts")
            .unwrap();
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM mandates").unwrap(),
            0
        );
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) AS n FROM audit_pending WHERE entry LIKE '%\"mandate.created\"%'"
            )
            .unwrap(),
            0
        );
    }
}
