//! Storage behaviour, run on a fresh SQLite file and (when AC_TEST_DATABASE_URL is set) on a fresh
//! PostgreSQL schema: the same body on both.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_mandates::*;
use ac_storage::journal::AuditContext;
use ac_storage::mandates::NewMandate;
use ac_storage::testing::{TestDatabase, count};
use ac_storage::usagers::IdentityChange;
use ac_storage::{
    Backend, DbConnection, StorageError, aidants, mandate_verifications, mandates, organisations,
    usagers,
};
use diesel::connection::SimpleConnection;
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

fn ctx() -> AuditContext {
    AuditContext::cli()
}

const NOW: OffsetDateTime = datetime!(2026-03-10 14:30:00.5 UTC);

fn each(test: impl Fn(&TestDatabase)) {
    for db in TestDatabase::each().expect("test database") {
        eprintln!("backend: {:?}", db.backend());
        test(&db);
    }
}

fn organisation(id: &str, departement: &str) -> Organisation {
    Organisation {
        id: OrganisationId::new(id),
        name: format!("Structure {id}"),
        kind: OrganisationKind::FranceServices,
        address: "2 place de la Mairie".into(),
        departement: departement.parse().unwrap(),
        siret: "13002526500013".parse().unwrap(),
        allowed_demarches: Demarche::ALL
            .into_iter()
            .filter(|d| *d != Demarche::Justice)
            .collect(),
        is_active: true,
        renewal_requires_identification: true,
    }
}

fn aidant(id: &str, organisations: &[&str]) -> Aidant {
    Aidant {
        id: AidantId::new(id),
        email: format!("{id}@Exemple.fr").parse().unwrap(),
        first_name: "Camille".into(),
        last_name: id.to_uppercase(),
        profession: "Conseillère numérique".into(),
        organisations: organisations
            .iter()
            .map(|o| OrganisationId::new(*o))
            .collect(),
        current_organisation: OrganisationId::new(organisations[0]),
        can_create_mandates: true,
        referent_of: BTreeSet::new(),
        coordinator_scopes: vec![],
        is_active: true,
    }
}

fn identity(given: &str) -> PivotIdentity {
    PivotIdentity {
        given_name: given.into(),
        family_name: "DUBOIS".into(),
        birthdate: date!(1962 - 08 - 24),
        gender: Gender::Female,
        birthplace: Some("75107".into()),
        birthcountry: FRANCE_INSEE_CODE.into(),
        email: None,
        preferred_username: None,
    }
}

/// One structure with two aidants and one usager.
struct Fixture {
    org: OrganisationId,
    alice: AidantId,
    bob: AidantId,
    usager: UsagerId,
}

fn fixture(conn: &mut DbConnection) -> Fixture {
    organisations::insert(conn, &organisation("org-a", "29"), &ctx(), NOW).unwrap();
    organisations::insert(conn, &organisation("org-b", "56"), &ctx(), NOW).unwrap();
    aidants::insert(conn, &aidant("alice", &["org-a"]), &ctx(), NOW).unwrap();
    aidants::insert(conn, &aidant("bob", &["org-a", "org-b"]), &ctx(), NOW).unwrap();
    let (usager, change) =
        usagers::upsert_identified(conn, &"a".repeat(64), &identity("Angela"), &ctx(), NOW)
            .unwrap();
    assert_eq!(change, IdentityChange::Created);
    Fixture {
        org: OrganisationId::new("org-a"),
        alice: AidantId::new("alice"),
        bob: AidantId::new("bob"),
        usager: usager.id,
    }
}

fn new_mandate<'a>(
    f: &'a Fixture,
    aidant: &'a AidantId,
    demarches: &'a [Demarche],
) -> NewMandate<'a> {
    NewMandate {
        aidant,
        organisation: &f.org,
        usager: &f.usager,
        demarches,
        duration: MandateDuration::OneYear,
        legal_text_version: "2026-01",
        renewal_of: None,
    }
}

#[test]
fn organisations_round_trip_and_allowed_demarches() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let org = organisation("org-a", "2A");
        organisations::insert(conn, &org, &ctx(), NOW).unwrap();
        assert_eq!(organisations::get(conn, &org.id).unwrap(), org);
        let allowed = BTreeSet::from([Demarche::Social, Demarche::Logement]);
        organisations::set_allowed_demarches(conn, &org.id, &allowed, &ctx(), NOW).unwrap();
        assert_eq!(
            organisations::get(conn, &org.id).unwrap().allowed_demarches,
            allowed
        );
        assert_eq!(organisations::list(conn).unwrap().len(), 1);
        assert!(matches!(
            organisations::set_allowed_demarches(
                conn,
                &OrganisationId::new("nope"),
                &allowed,
                &ctx(),
                NOW
            ),
            Err(StorageError::NotFound)
        ));
        assert!(matches!(
            organisations::insert(conn, &org, &ctx(), NOW),
            Err(StorageError::Conflict)
        ));
    });
}

#[test]
fn aidants_round_trip_with_memberships_and_scopes() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        organisations::insert(conn, &organisation("org-a", "29"), &ctx(), NOW).unwrap();
        organisations::insert(conn, &organisation("org-b", "56"), &ctx(), NOW).unwrap();
        let mut coordinator = aidant("coord", &["org-a", "org-b"]);
        coordinator.can_create_mandates = false;
        coordinator.referent_of = BTreeSet::from([OrganisationId::new("org-b")]);
        coordinator.coordinator_scopes = vec![
            CoordinatorScope::National,
            CoordinatorScope::Departement("29".parse().unwrap()),
            CoordinatorScope::Organisation(OrganisationId::new("org-b")),
        ];
        aidants::insert(conn, &coordinator, &ctx(), NOW).unwrap();
        assert_eq!(aidants::get(conn, &coordinator.id).unwrap(), coordinator);
        let found = aidants::find_by_email(conn, &"COORD@exemple.FR".parse().unwrap()).unwrap();
        assert_eq!(found.map(|a| a.id), Some(coordinator.id.clone()));
        assert_eq!(
            aidants::list(conn, Some(&OrganisationId::new("org-b")))
                .unwrap()
                .len(),
            1
        );

        let mut same_email = aidant("other", &["org-a"]);
        same_email.email = coordinator.email.clone();
        assert!(matches!(
            aidants::insert(conn, &same_email, &ctx(), NOW),
            Err(StorageError::Conflict)
        ));
        aidants::deactivate(conn, &coordinator.id, &ctx(), NOW).unwrap();
        assert!(!aidants::get(conn, &coordinator.id).unwrap().is_active);
        assert!(matches!(
            aidants::deactivate(conn, &AidantId::new("nope"), &ctx(), NOW),
            Err(StorageError::NotFound)
        ));
    });
}

#[test]
fn coordinator_scopes_are_replaced_whole_and_journaled() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        organisations::insert(conn, &organisation("org-a", "29"), &ctx(), NOW).unwrap();
        let mut coordinator = aidant("coord", &["org-a"]);
        coordinator.coordinator_scopes = vec![CoordinatorScope::National];
        aidants::insert(conn, &coordinator, &ctx(), NOW).unwrap();
        let scopes = vec![
            CoordinatorScope::Departement("56".parse().unwrap()),
            CoordinatorScope::Organisation(OrganisationId::new("org-a")),
        ];
        aidants::set_coordinator_scopes(conn, &coordinator.id, &scopes, &ctx(), NOW).unwrap();
        assert_eq!(
            aidants::get(conn, &coordinator.id)
                .unwrap()
                .coordinator_scopes,
            scopes
        );
        let journaled = |conn: &mut DbConnection, scopes: &str| {
            ac_storage::testing::count(
                conn,
                &format!(
                    "SELECT COUNT(*) AS n FROM audit_pending WHERE entry LIKE '%\"aidant.updated\"%' \
                     AND entry LIKE '%\"coordinator_scopes\":\"{scopes}\"%'"
                ),
            )
            .unwrap()
        };
        assert_eq!(journaled(conn, "departement:56,organisation:org-a"), 1);
        // None: the account no longer coordinates.
        aidants::set_coordinator_scopes(conn, &coordinator.id, &[], &ctx(), NOW).unwrap();
        assert!(
            aidants::get(conn, &coordinator.id)
                .unwrap()
                .coordinator_scopes
                .is_empty()
        );
        assert_eq!(journaled(conn, "none"), 1);
        assert!(matches!(
            aidants::set_coordinator_scopes(conn, &AidantId::new("nope"), &scopes, &ctx(), NOW),
            Err(StorageError::NotFound)
        ));
        // A scope on an unknown structure is refused whole: the earlier (empty) scopes stay.
        let unknown = [CoordinatorScope::Organisation(OrganisationId::new("org-z"))];
        assert!(
            aidants::set_coordinator_scopes(conn, &coordinator.id, &unknown, &ctx(), NOW).is_err()
        );
        assert!(
            aidants::get(conn, &coordinator.id)
                .unwrap()
                .coordinator_scopes
                .is_empty()
        );
    });
}

#[test]
fn an_aidant_whose_current_structure_is_not_a_membership_is_refused_whole() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        organisations::insert(conn, &organisation("org-a", "29"), &ctx(), NOW).unwrap();
        organisations::insert(conn, &organisation("org-b", "56"), &ctx(), NOW).unwrap();
        let mut wrong = aidant("wrong", &["org-a"]);
        wrong.current_organisation = OrganisationId::new("org-b");
        assert!(aidants::insert(conn, &wrong, &ctx(), NOW).is_err());
        // And the database refuses it too, even when the application check is bypassed.
        let raw = "INSERT INTO aidants (id, email, first_name, last_name, profession, current_organisation_id, can_create_mandates, is_active, created_at) \
                   VALUES ('x', 'x@exemple.fr', 'X', 'X', 'X', 'org-b', TRUE, TRUE, '2026-01-01 00:00:00')";
        assert!(conn.batch_execute(&format!("BEGIN; {raw}; INSERT INTO aidant_organisations VALUES ('x', 'org-a', FALSE); COMMIT;")).is_err());
        let _ = conn.batch_execute("ROLLBACK");
        assert_eq!(count(conn, "SELECT COUNT(*) AS n FROM aidants").unwrap(), 0);
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM aidant_organisations").unwrap(),
            0
        );
    });
}

#[test]
fn usager_identity_is_created_refreshed_or_left_alone() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let subject = "b".repeat(64);
        let (first, change) =
            usagers::upsert_identified(conn, &subject, &identity("Angela"), &ctx(), NOW).unwrap();
        assert_eq!(change, IdentityChange::Created);
        let (same, change) =
            usagers::upsert_identified(conn, &subject, &identity("Angela"), &ctx(), NOW).unwrap();
        assert_eq!(
            (same.id.clone(), change),
            (first.id.clone(), IdentityChange::Unchanged)
        );
        let (updated, change) =
            usagers::upsert_identified(conn, &subject, &identity("Angela Claire"), &ctx(), NOW)
                .unwrap();
        assert_eq!(change, IdentityChange::Updated);
        assert_eq!(updated.identity.given_name, "Angela Claire");
        assert_eq!(usagers::get(conn, &first.id).unwrap(), updated);
        let abroad_with_place = PivotIdentity {
            birthcountry: "99217".into(),
            ..identity("X")
        };
        assert!(matches!(
            usagers::upsert_identified(conn, &"c".repeat(64), &abroad_with_place, &ctx(), NOW),
            Err(StorageError::Field(FieldError::InvalidInseeCode))
        ));
        assert_eq!(count(conn, "SELECT COUNT(*) AS n FROM usagers").unwrap(), 1);
    });
}

#[test]
fn mandate_lifecycle_create_supersede_revoke_and_can_act() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let first = mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Social, Demarche::Logement]),
            &ctx(),
            NOW,
        )
        .unwrap();
        let stored = mandates::get(conn, &first.mandate.id).unwrap();
        assert_eq!(
            stored, first.mandate,
            "what was planned is what was stored, hash included"
        );
        assert_eq!(stored.created_at, datetime!(2026-03-10 14:30:00.5 UTC));

        let ok = mandates::can_act(conn, &f.bob, &f.org, &f.usager, Demarche::Social, NOW).unwrap();
        assert_eq!(ok.map(|a| a.mandate_id), Ok(first.mandate.id.clone()));

        // A second mandate covering Social supersedes the first one's Social authorization.
        let later = NOW + Duration::days(1);
        let second = mandates::create(
            conn,
            &new_mandate(&f, &f.bob, &[Demarche::Social]),
            &ctx(),
            later,
        )
        .unwrap();
        assert_eq!(second.superseded.len(), 1);
        let first_now = mandates::get(conn, &first.mandate.id).unwrap();
        let social = first_now
            .authorizations
            .iter()
            .find(|a| a.demarche == Demarche::Social)
            .unwrap();
        assert_eq!(
            social.revocation.map(|r| r.reason),
            Some(RevocationReason::Superseded)
        );
        let via = mandates::can_act(conn, &f.alice, &f.org, &f.usager, Demarche::Social, later)
            .unwrap()
            .unwrap();
        assert_eq!(via.mandate_id, second.mandate.id);

        // Revoke the second mandate: Social is now refused as revoked, Logement still works.
        let revoked = mandates::revoke_mandate(
            conn,
            &f.alice,
            &second.mandate.id,
            mandates::RevocationConsent::NotRecorded,
            &ctx(),
            later + Duration::hours(1),
        )
        .unwrap();
        assert_eq!(revoked.len(), 1);
        let refused = mandates::can_act(
            conn,
            &f.alice,
            &f.org,
            &f.usager,
            Demarche::Social,
            later + Duration::hours(1),
        )
        .unwrap();
        assert_eq!(refused.map(|_| ()), Err(Refusal::Revoked));
        assert!(
            mandates::can_act(conn, &f.alice, &f.org, &f.usager, Demarche::Logement, later)
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            mandates::can_act(
                conn,
                &f.alice,
                &f.org,
                &f.usager,
                Demarche::Logement,
                first.mandate.expires_at
            )
            .unwrap()
            .map(|_| ()),
            Err(Refusal::Expired)
        );
        assert_eq!(
            mandates::can_act(conn, &f.alice, &f.org, &f.usager, Demarche::Famille, later)
                .unwrap()
                .map(|_| ()),
            Err(Refusal::DemarcheNotCovered)
        );
        assert_eq!(
            mandates::can_act(
                conn,
                &f.alice,
                &OrganisationId::new("org-b"),
                &f.usager,
                Demarche::Logement,
                later
            )
            .unwrap()
            .map(|_| ()),
            Err(Refusal::NotAMember)
        );
        aidants::deactivate(conn, &f.alice, &ctx(), NOW).unwrap();
        assert_eq!(
            mandates::can_act(conn, &f.alice, &f.org, &f.usager, Demarche::Logement, later)
                .unwrap()
                .map(|_| ()),
            Err(Refusal::AidantInactive)
        );

        // Revoking one démarche of the first mandate, then again: typed refusal.
        let logement = first_now
            .authorizations
            .iter()
            .find(|a| a.demarche == Demarche::Logement)
            .unwrap();
        mandates::revoke_authorization(
            conn,
            &f.bob,
            &first.mandate.id,
            &logement.id,
            mandates::RevocationConsent::NotRecorded,
            &ctx(),
            later,
        )
        .unwrap();
        assert!(matches!(
            mandates::revoke_authorization(
                conn,
                &f.bob,
                &first.mandate.id,
                &logement.id,
                mandates::RevocationConsent::NotRecorded,
                &ctx(),
                later
            ),
            Err(StorageError::Rule(MandateError::AlreadyRevoked))
        ));
        assert_eq!(
            mandates::get(conn, &first.mandate.id)
                .unwrap()
                .status_at(later),
            MandateStatus::Revoked
        );
    });
}

/// `mandates::can_act` reads the aidant's and the structure's standing in one statement; it must
/// decide exactly as the pure rule does on the fully loaded aidant and structure, refusal by
/// refusal.
#[test]
fn can_act_in_one_statement_decides_as_the_rule_on_the_loaded_records() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let closed = Organisation {
            is_active: false,
            ..organisation("org-c", "35")
        };
        organisations::insert(conn, &closed, &ctx(), NOW).unwrap();
        let inactive = Aidant {
            is_active: false,
            ..aidant("inactive", &["org-a"])
        };
        let not_habilitated = Aidant {
            can_create_mandates: false,
            ..aidant("nohab", &["org-a"])
        };
        for a in [inactive, not_habilitated, aidant("carol", &["org-c"])] {
            aidants::insert(conn, &a, &ctx(), NOW).unwrap();
        }
        mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Social]),
            &ctx(),
            NOW,
        )
        .unwrap();
        let later = NOW + Duration::days(1);
        let cases = [
            ("alice", "org-a", Demarche::Social),    // permitted
            ("alice", "org-a", Demarche::Famille),   // not covered
            ("alice", "org-a", Demarche::Justice),   // not allowed by the structure
            ("alice", "org-b", Demarche::Social),    // not a member
            ("bob", "org-b", Demarche::Social),      // member, but no mandate there
            ("inactive", "org-a", Demarche::Social), // aidant deactivated
            ("nohab", "org-a", Demarche::Social),    // aidant without mandates
            ("carol", "org-c", Demarche::Social),    // structure closed
        ];
        let mut refusals = BTreeSet::new();
        for (aidant_id, org_id, demarche) in cases {
            let (aidant_id, org_id) = (AidantId::new(aidant_id), OrganisationId::new(org_id));
            let fast =
                mandates::can_act(conn, &aidant_id, &org_id, &f.usager, demarche, later).unwrap();
            let aidant = aidants::get(conn, &aidant_id).unwrap();
            let organisation = organisations::get(conn, &org_id).unwrap();
            let candidates: Vec<Authorization> = mandates::for_usager(conn, &org_id, &f.usager)
                .unwrap()
                .into_iter()
                .flat_map(|m| m.authorizations)
                .collect();
            let reference = rules::can_act(
                &aidant,
                &organisation,
                &f.usager,
                demarche,
                &candidates,
                later,
            )
            .cloned();
            assert_eq!(fast, reference, "{aidant_id} {org_id} {demarche:?}");
            if let Err(refusal) = fast {
                refusals.insert(format!("{refusal:?}"));
            }
        }
        assert_eq!(
            refusals.len(),
            6,
            "every refusal is exercised: {refusals:?}"
        );
        for (aidant_id, org_id) in [("nobody", "org-a"), ("alice", "org-z")] {
            let missing = mandates::can_act(
                conn,
                &AidantId::new(aidant_id),
                &OrganisationId::new(org_id),
                &f.usager,
                Demarche::Social,
                later,
            );
            assert!(
                matches!(missing, Err(StorageError::NotFound)),
                "{missing:?}"
            );
        }
    });
}

#[test]
fn who_revoked_is_read_back_from_the_journal_pending_or_integrated() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let plan = mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Social, Demarche::Logement]),
            &ctx(),
            NOW,
        )
        .unwrap();
        let social = plan.mandate.authorizations[0].id.clone();
        // Revoked by Alice with the aidé on screen; superseded ones are not revocations.
        mandates::revoke_authorization(
            conn,
            &f.alice,
            &plan.mandate.id,
            &social,
            mandates::RevocationConsent::OnScreen,
            &AuditContext::aidant(&f.alice, None),
            NOW + Duration::minutes(1),
        )
        .unwrap();
        let expected = std::collections::BTreeMap::from([(social.clone(), f.alice.clone())]);
        let mandate = mandates::get(conn, &plan.mandate.id).unwrap();
        assert_eq!(mandates::revoked_by(conn, &mandate).unwrap(), expected);
        ac_storage::audit::integrate_all(conn, 100, NOW + Duration::minutes(2)).unwrap();
        assert_eq!(mandates::revoked_by(conn, &mandate).unwrap(), expected);
        // Revoked from the command line: no aidant to name.
        mandates::revoke_mandate(
            conn,
            &f.alice,
            &plan.mandate.id,
            mandates::RevocationConsent::NotRecorded,
            &ctx(),
            NOW + Duration::minutes(3),
        )
        .unwrap();
        let mandate = mandates::get(conn, &plan.mandate.id).unwrap();
        assert_eq!(mandates::revoked_by(conn, &mandate).unwrap(), expected);
    });
}

#[test]
fn refused_creations_write_nothing() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Social]),
            &ctx(),
            NOW,
        )
        .unwrap();
        let before = count(
            conn,
            "SELECT COUNT(*) AS n FROM authorizations WHERE revoked_at IS NULL",
        )
        .unwrap();
        // Social is listed first, so it would be superseded before the refusal if the rule ran late.
        for (demarches, expected) in [
            (
                vec![Demarche::Social, Demarche::Justice],
                MandateError::DemarcheNotAllowed(Demarche::Justice),
            ),
            (vec![], MandateError::NoDemarche),
            (
                vec![Demarche::Social, Demarche::Social],
                MandateError::DuplicateDemarche,
            ),
        ] {
            match mandates::create(conn, &new_mandate(&f, &f.alice, &demarches), &ctx(), NOW) {
                Err(StorageError::Rule(e)) => assert_eq!(e, expected),
                other => panic!("expected {expected:?}, got {other:?}"),
            }
        }
        // Bob's current structure is org-a, so org-b is refused for him.
        let org_b = OrganisationId::new("org-b");
        let elsewhere = NewMandate {
            organisation: &org_b,
            ..new_mandate(&f, &f.bob, &[Demarche::Social])
        };
        assert!(matches!(
            mandates::create(conn, &elsewhere, &ctx(), NOW),
            Err(StorageError::Rule(MandateError::NotCurrentOrganisation))
        ));
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM mandates").unwrap(),
            1
        );
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) AS n FROM authorizations WHERE revoked_at IS NULL"
            )
            .unwrap(),
            before
        );
        let unknown = UsagerId::new("nobody");
        let ghost = NewMandate {
            usager: &unknown,
            ..new_mandate(&f, &f.alice, &[Demarche::Social])
        };
        assert!(matches!(
            mandates::create(conn, &ghost, &ctx(), NOW),
            Err(StorageError::NotFound)
        ));
    });
}

#[test]
fn every_mandate_gets_its_own_unguessable_verification_code() {
    // The issue asks for ≥ 128 bits; checked at compile time.
    const { assert!(VerificationCode::BITS >= 128) };
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let first = mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Social]),
            &ctx(),
            NOW,
        )
        .unwrap()
        .mandate;
        let renewal = mandates::create(
            conn,
            &NewMandate {
                renewal_of: Some(&first.id),
                ..new_mandate(&f, &f.alice, &[Demarche::Social, Demarche::Logement])
            },
            &ctx(),
            NOW + Duration::days(1),
        )
        .unwrap()
        .mandate;
        let created = |conn: &mut DbConnection| {
            count(
                conn,
                "SELECT COUNT(*) AS n FROM audit_pending \
                 WHERE entry LIKE '%mandate.verification_code_created%'",
            )
            .unwrap()
        };
        let mut codes = BTreeSet::new();
        for mandate in [&first, &renewal] {
            // Created with the mandate: printing it reads the same code and journals nothing.
            let code =
                mandate_verifications::code_for_print(conn, &mandate.id, &ctx(), NOW).unwrap();
            // 32 characters of a 32-letter alphabet: 160 bits.
            assert_eq!(code.as_str().len() * 5, VerificationCode::BITS);
            assert_eq!(
                mandate_verifications::mandate_for_code(conn, &code).unwrap(),
                mandate.id
            );
            assert_eq!(
                mandate_verifications::code_for_print(conn, &mandate.id, &ctx(), NOW).unwrap(),
                code
            );
            codes.insert(code.as_str().to_owned());
        }
        assert_eq!(codes.len(), 2, "one code per mandate, all different");
        assert_eq!(created(conn), 0);
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM mandate_verifications").unwrap(),
            count(conn, "SELECT COUNT(*) AS n FROM mandates").unwrap()
        );

        // A mandate from before codes existed gets one on its first print, journaled once.
        conn.batch_execute(&format!(
            "DELETE FROM mandate_verifications WHERE mandate_id = '{}'",
            first.id
        ))
        .unwrap();
        let late = mandate_verifications::code_for_print(conn, &first.id, &ctx(), NOW).unwrap();
        assert!(
            !codes.contains(late.as_str()),
            "a fresh code, not the old one"
        );
        assert_eq!(
            mandate_verifications::code_for_print(conn, &first.id, &ctx(), NOW).unwrap(),
            late
        );
        assert_eq!(created(conn), 1);

        let unknown = VerificationCode::from_random([0; VERIFICATION_CODE_BYTES]);
        assert!(matches!(
            mandate_verifications::mandate_for_code(conn, &unknown),
            Err(StorageError::NotFound)
        ));
        // The database refuses a second code for a mandate, and a code that is not 32 characters.
        assert!(
            conn.batch_execute(&format!(
                "INSERT INTO mandate_verifications (mandate_id, code, created_at) \
                 VALUES ('{}', '{}', '2026-03-10 14:30:00')",
                first.id,
                "A".repeat(32)
            ))
            .is_err()
        );
        conn.batch_execute(&format!(
            "DELETE FROM mandate_verifications WHERE mandate_id = '{}'",
            renewal.id
        ))
        .unwrap();
        assert!(
            conn.batch_execute(&format!(
                "INSERT INTO mandate_verifications (mandate_id, code, created_at) \
                 VALUES ('{}', 'SHORT', '2026-03-10 14:30:00')",
                renewal.id
            ))
            .is_err()
        );
    });
}

#[test]
fn the_database_itself_guards_the_records() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let plan = mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Social]),
            &ctx(),
            NOW,
        )
        .unwrap();
        let m = &plan.mandate;
        let a = &m.authorizations[0];
        let refused = [
            format!(
                "UPDATE mandates SET expires_at = created_at WHERE id = '{}'",
                m.id
            ),
            format!("DELETE FROM mandates WHERE id = '{}'", m.id),
            format!("DELETE FROM authorizations WHERE id = '{}'", a.id),
            format!(
                "UPDATE authorizations SET demarche = 'famille' WHERE id = '{}'",
                a.id
            ),
            // A second open authorization for the same triple, bypassing the rules.
            format!(
                "INSERT INTO authorizations (id, mandate_id, organisation_id, usager_id, demarche, expires_at) \
                 SELECT 'dup', mandate_id, organisation_id, usager_id, 'famille', expires_at FROM authorizations WHERE id = '{0}'; \
                 INSERT INTO authorizations (id, mandate_id, organisation_id, usager_id, demarche, expires_at) \
                 SELECT 'dup2', 'other', organisation_id, usager_id, demarche, expires_at FROM authorizations WHERE id = '{0}'",
                a.id
            ),
            "UPDATE authorizations SET revoked_at = '2026-01-01 00:00:00'".into(),
        ];
        for sql in &refused {
            let result = conn.batch_execute(&format!("BEGIN; {sql}; COMMIT;"));
            let _ = conn.batch_execute("ROLLBACK");
            assert!(result.is_err(), "accepted: {sql}");
        }
        // Revocation is allowed once, and never undone.
        conn.batch_execute(&format!("UPDATE authorizations SET revoked_at = '2026-04-01 00:00:00', revocation_reason = 'revoked' WHERE id = '{}'", a.id)).unwrap();
        for sql in [
            format!(
                "UPDATE authorizations SET revoked_at = NULL, revocation_reason = NULL WHERE id = '{}'",
                a.id
            ),
            format!(
                "UPDATE authorizations SET revocation_reason = 'superseded' WHERE id = '{}'",
                a.id
            ),
        ] {
            assert!(conn.batch_execute(&sql).is_err(), "accepted: {sql}");
        }
        assert_eq!(mandates::get(conn, &m.id).unwrap().authorizations.len(), 1);
    });
}

#[test]
fn one_open_authorization_per_demarche_even_under_concurrent_creation() {
    each(|db| {
        let f = fixture(&mut db.db.conn().unwrap());
        let threads = 8;
        let rounds = 5;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let db = db.db.clone();
                let barrier = barrier.clone();
                let (org, usager) = (f.org.clone(), f.usager.clone());
                let aidant = if i % 2 == 0 {
                    f.alice.clone()
                } else {
                    f.bob.clone()
                };
                std::thread::spawn(move || {
                    let mut conn = db.conn().unwrap();
                    let demarches = [Demarche::Social, Demarche::Argent];
                    for _ in 0..rounds {
                        barrier.wait();
                        let new = NewMandate {
                            aidant: &aidant,
                            organisation: &org,
                            usager: &usager,
                            demarches: &demarches,
                            duration: MandateDuration::OneMonth,
                            legal_text_version: "2026-01",
                            renewal_of: None,
                        };
                        // The same instant for everyone: the worst case for the invariant.
                        mandates::create(&mut conn, &new, &ctx(), NOW).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let conn = &mut *db.db.conn().unwrap();
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM mandates").unwrap(),
            (threads * rounds) as i64
        );
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) AS n FROM authorizations WHERE revoked_at IS NULL"
            )
            .unwrap(),
            2
        );
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) AS n FROM authorizations WHERE revocation_reason = 'superseded'"
            )
            .unwrap(),
            (threads * rounds * 2 - 2) as i64
        );
        let open =
            mandates::can_act(conn, &f.alice, &f.org, &f.usager, Demarche::Argent, NOW).unwrap();
        assert!(open.is_ok());
        let _ = db.backend() == Backend::Postgres;
    });
}

/// The partial unique index alone: the duplicate points at a real mandate of the same structure,
/// person and end date (the composite foreign key holds) that has no authorization for this
/// démarche yet (`UNIQUE (mandate_id, demarche)` holds), so only "one open authorization per
/// (structure, usager, démarche)" can refuse it.
#[test]
fn the_partial_unique_index_alone_refuses_a_second_open_authorization() {
    use diesel::RunQueryDsl;
    use diesel::result::{DatabaseErrorKind, Error};
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let social = mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Social]),
            &ctx(),
            NOW,
        )
        .unwrap()
        .mandate;
        let argent = mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Argent]),
            &ctx(),
            NOW + Duration::minutes(1),
        )
        .unwrap()
        .mandate;
        assert!(
            mandates::get(conn, &social.id).unwrap().authorizations[0]
                .revocation
                .is_none(),
            "the social authorization is still open"
        );
        let insert = |id: &str, revoked: &str| {
            format!(
                "INSERT INTO authorizations (id, mandate_id, organisation_id, usager_id, demarche, expires_at, revoked_at, revocation_reason) \
                 SELECT '{id}', id, organisation_id, usager_id, 'social', expires_at, {revoked} FROM mandates WHERE id = '{}'",
                argent.id
            )
        };
        match diesel::sql_query(insert("dup-open", "NULL, NULL")).execute(conn) {
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                let message = info.message();
                assert!(
                    message.contains("authorizations_one_open_per_demarche")
                        || message.contains(
                            "authorizations.organisation_id, authorizations.usager_id, authorizations.demarche"
                        ),
                    "refused by another constraint: {message}"
                );
            }
            other => panic!("a second open authorization was not refused by the index: {other:?}"),
        }
        // The same row, revoked, is accepted: the index is what refused the open one.
        diesel::sql_query(insert("dup-revoked", "'2026-03-10 15:00:00', 'revoked'"))
            .execute(conn)
            .unwrap();
    });
}

/// The person revokes from their own space: only a mandate of theirs (another's answers as
/// missing, and changes nothing), effective at once, journaled with them as the actor.
#[test]
fn a_person_revokes_only_their_own_mandate_and_is_the_journaled_actor() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let mandate = mandates::create(
            conn,
            &new_mandate(&f, &f.alice, &[Demarche::Social, Demarche::Logement]),
            &ctx(),
            NOW,
        )
        .unwrap()
        .mandate;
        let social = mandate.authorizations[0].id.clone();
        let person = AuditContext {
            actor: ac_audit::Actor {
                kind: ac_audit::ActorKind::Usager,
                id: Some("a".repeat(64)),
            },
            request_id: None,
        };
        let later = NOW + Duration::hours(1);
        let someone_else = "b".repeat(64);
        let refused = mandates::revoke_by_person(
            conn,
            &someone_else,
            &mandate.id,
            &mandates::PersonRevokes::Mandate,
            &[],
            &person,
            later,
        );
        assert!(
            matches!(refused, Err(StorageError::NotFound)),
            "{refused:?}"
        );
        assert!(
            mandates::get(conn, &mandate.id)
                .unwrap()
                .authorizations
                .iter()
                .all(|a| a.revocation.is_none())
        );

        let revoked = mandates::revoke_by_person(
            conn,
            &"a".repeat(64),
            &mandate.id,
            &mandates::PersonRevokes::Demarche(social.clone()),
            &[],
            &person,
            later,
        )
        .unwrap();
        assert_eq!(revoked, vec![social]);
        assert!(
            mandates::can_act(conn, &f.alice, &f.org, &f.usager, Demarche::Social, later)
                .unwrap()
                .is_err()
        );
        assert!(
            mandates::can_act(conn, &f.alice, &f.org, &f.usager, Demarche::Logement, later)
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) AS n FROM audit_pending WHERE entry LIKE '%\"authorization.revoked\"%' AND entry LIKE '%\"kind\":\"usager\"%' AND entry LIKE '%usager_self%'"
            )
            .unwrap(),
            1
        );
    });
}
