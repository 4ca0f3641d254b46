//! The usagers list, the delegated-use history, the renewal setting and renewal consents (issue
//! 7), run on a fresh SQLite file and (when AC_TEST_DATABASE_URL is set) on a fresh PostgreSQL
//! schema: the same body on both.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_audit::Action;
use ac_mandates::comprehension::{Answered, Check, Question};
use ac_mandates::*;
use ac_storage::console::journal::Cursor;
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::mandate_consents::{self, Identification, PendingConsent};
use ac_storage::mandates::NewMandate;
use ac_storage::structure_usagers::{self, PAGE_SIZE, Search, Tab};
use ac_storage::testing::TestDatabase;
use ac_storage::{DbConnection, aidants, audit, mandates, organisations, usagers, write};
use std::collections::BTreeSet;
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-03-10 14:30 UTC);
/// A one-month mandate made now ends in 31 days: inside this window.
const WINDOW: Duration = Duration::days(31);

fn ctx() -> AuditContext {
    AuditContext::cli()
}

fn organisation(id: &str) -> Organisation {
    Organisation {
        id: OrganisationId::new(id),
        name: format!("Structure {id}"),
        kind: OrganisationKind::FranceServices,
        address: "2 place de la Mairie".into(),
        departement: "29".parse().unwrap(),
        siret: "13002526500013".parse().unwrap(),
        allowed_demarches: Demarche::ALL.into_iter().collect(),
        is_active: true,
        renewal_requires_identification: true,
    }
}

fn aidant(id: &str, organisation: &str) -> Aidant {
    Aidant {
        id: AidantId::new(id),
        email: format!("{id}@exemple.fr").parse().unwrap(),
        first_name: "Camille".into(),
        last_name: "Martin".into(),
        profession: "Conseillère numérique".into(),
        organisations: BTreeSet::from([OrganisationId::new(organisation)]),
        current_organisation: OrganisationId::new(organisation),
        can_create_mandates: true,
        referent_of: BTreeSet::new(),
        coordinator_scopes: vec![],
        is_active: true,
    }
}

/// A person with a mandate of `org` for `social`, created at `at` for `duration`.
fn person(
    conn: &mut DbConnection,
    org: &str,
    (given, family, birthdate): (&str, &str, Date),
    duration: MandateDuration,
    at: OffsetDateTime,
) -> (Usager, Mandate) {
    let identity = PivotIdentity {
        given_name: given.into(),
        family_name: family.into(),
        birthdate,
        gender: Gender::Female,
        birthplace: Some("75107".into()),
        birthcountry: FRANCE_INSEE_CODE.into(),
        email: None,
        preferred_username: None,
    };
    // A pseudonym of its own per person (64 hex characters, like the keyed ones).
    let subject = format!(
        "{}{}",
        hex(&format!("{given}|{family}")),
        hex(&format!("{family}|{given}"))
    );
    let (usager, _) = usagers::upsert_identified(conn, &subject, &identity, &ctx(), at).unwrap();
    let plan = mandates::create(
        conn,
        &NewMandate {
            aidant: &AidantId::new(format!("aidant-{org}")),
            organisation: &OrganisationId::new(org),
            usager: &usager.id,
            demarches: &[Demarche::Social],
            duration,
            legal_text_version: "2026-01",
            renewal_of: None,
        },
        &ctx(),
        at,
    )
    .unwrap();
    (usager, plan.mandate)
}

/// 32 hex characters from a name, so each person has their own pseudonym.
fn hex(text: &str) -> String {
    let mut h: u128 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u128::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:032x}")
}

fn setup(conn: &mut DbConnection) {
    for org in ["org-a", "org-b"] {
        organisations::insert(conn, &organisation(org), &ctx(), NOW).unwrap();
        aidants::insert(conn, &aidant(&format!("aidant-{org}"), org), &ctx(), NOW).unwrap();
    }
}

fn names(listing: &structure_usagers::Listing) -> Vec<String> {
    listing
        .people
        .iter()
        .map(|p| format!("{} {}", p.family_name, p.given_name))
        .collect()
}

#[test]
fn the_list_sorts_people_into_tabs_searches_and_pages() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        setup(conn);
        let org = OrganisationId::new("org-a");
        let earlier = NOW - Duration::days(40);
        person(
            conn,
            "org-a",
            ("Hélène", "LEFÈVRE", date!(1980 - 01 - 02)),
            MandateDuration::OneYear,
            NOW,
        );
        // A month from 40 days ago: expired; a new month from now: active, ending soon.
        let (_, old) = person(
            conn,
            "org-a",
            ("Jean-Pierre", "DUBOIS", date!(1962 - 08 - 24)),
            MandateDuration::OneMonth,
            earlier,
        );
        person(
            conn,
            "org-a",
            ("Jean-Pierre", "DUBOIS", date!(1962 - 08 - 24)),
            MandateDuration::OneMonth,
            NOW,
        );
        let (_, revoked) = person(
            conn,
            "org-a",
            ("Marc", "MARTIN", date!(1970 - 05 - 06)),
            MandateDuration::OneYear,
            NOW,
        );
        mandates::revoke_mandate(
            conn,
            &AidantId::new("aidant-org-a"),
            &revoked.id,
            mandates::RevocationConsent::NotRecorded,
            &ctx(),
            NOW,
        )
        .unwrap();
        person(
            conn,
            "org-a",
            ("Zoé", "ZORN", date!(1990 - 03 - 04)),
            MandateDuration::OneDay,
            earlier,
        );
        // Known to org-b only.
        person(
            conn,
            "org-b",
            ("Secret", "AUTRE", date!(1962 - 08 - 24)),
            MandateDuration::OneYear,
            NOW,
        );
        assert!(old.expires_at < NOW);

        let list = |conn: &mut DbConnection, search: &Search, tab: Tab, page: usize| {
            structure_usagers::list(conn, &org, search, tab, page, NOW, WINDOW).unwrap()
        };
        let active = list(conn, &Search::Everyone, Tab::Active, 1);
        assert_eq!(names(&active), ["DUBOIS Jean-Pierre", "LEFÈVRE Hélène"]);
        assert_eq!(
            active
                .people
                .iter()
                .map(|p| p.expiring_soon)
                .collect::<Vec<_>>(),
            [true, false]
        );
        assert_eq!(active.counts[&Tab::Active], 2);
        assert_eq!(active.counts[&Tab::Expired], 1);
        assert_eq!(active.counts[&Tab::Revoked], 1);
        assert_eq!(
            names(&list(conn, &Search::Everyone, Tab::Expired, 1)),
            ["ZORN Zoé"]
        );
        assert_eq!(
            names(&list(conn, &Search::Everyone, Tab::Revoked, 1)),
            ["MARTIN Marc"]
        );
        // A narrower window: no badge.
        let narrow = structure_usagers::list(
            conn,
            &org,
            &Search::Everyone,
            Tab::Active,
            1,
            NOW,
            Duration::days(7),
        )
        .unwrap();
        assert!(narrow.people.iter().all(|p| !p.expiring_soon));

        let by_date = Search::parse("24/08/1962").unwrap();
        assert_eq!(
            names(&list(conn, &by_date, Tab::Active, 1)),
            ["DUBOIS Jean-Pierre"],
            "not org-b's AUTRE"
        );
        let by_name = Search::parse("helene lefevre").unwrap();
        assert_eq!(
            names(&list(conn, &by_name, Tab::Active, 1)),
            ["LEFÈVRE Hélène"]
        );
        let nobody = Search::parse("autre").unwrap();
        assert!(
            list(conn, &nobody, Tab::Active, 1)
                .counts
                .values()
                .all(|n| *n == 0)
        );

        // Pages: a stable order, the last page when asked beyond it.
        for i in 0..PAGE_SIZE {
            person(
                conn,
                "org-a",
                (&format!("P{i:02}"), "PAGE", date!(2000 - 01 - 01)),
                MandateDuration::OneYear,
                NOW,
            );
        }
        let first = list(conn, &Search::Everyone, Tab::Active, 1);
        assert_eq!(
            (first.page, first.pages, first.people.len()),
            (1, 2, PAGE_SIZE)
        );
        let second = list(conn, &Search::Everyone, Tab::Active, 2);
        assert_eq!(names(&second), ["PAGE P18", "PAGE P19"]);
        assert_eq!(list(conn, &Search::Everyone, Tab::Active, 50), second);
    }
}

#[test]
fn the_history_holds_the_structures_delegated_uses_for_that_person_only() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        setup(conn);
        let (helene, _) = person(
            conn,
            "org-a",
            ("Hélène", "LEFÈVRE", date!(1980 - 01 - 02)),
            MandateDuration::OneYear,
            NOW,
        );
        let (marc, _) = person(
            conn,
            "org-a",
            ("Marc", "MARTIN", date!(1970 - 05 - 06)),
            MandateDuration::OneYear,
            NOW,
        );
        let aidant = AuditContext::aidant(&AidantId::new("aidant-org-a"), None);
        let uses = [
            (Action::DelegationStarted, "org-a", &helene.subject),
            (Action::DelegationStarted, "org-a", &helene.subject),
            // Not a use of Hélène's mandate with org-a: another action, another person, another
            // structure.
            (Action::DelegationCompleted, "org-a", &helene.subject),
            (Action::DelegationStarted, "org-a", &marc.subject),
            (Action::DelegationStarted, "org-b", &helene.subject),
        ];
        for (i, (action, org, subject)) in uses.into_iter().enumerate() {
            write(conn, |tx| {
                let event = Event::new(action)
                    .organisation(&OrganisationId::new(org))
                    .usager(subject)
                    .demarche(Demarche::Social)
                    .client("site-impots");
                journal::record(
                    tx,
                    &aidant,
                    event,
                    NOW + Duration::minutes(i64::try_from(i).unwrap()),
                )
            })
            .unwrap();
        }
        audit::integrate_all(conn, 1000, NOW).unwrap();
        let page = structure_usagers::delegated_uses(
            conn,
            &OrganisationId::new("org-a"),
            &helene.subject,
            Cursor::Newest,
        )
        .unwrap();
        assert_eq!(page.rows.len(), 2);
        assert!(page.rows[0].seq > page.rows[1].seq, "newest first");
        assert!(page.older.is_none());
        assert!(
            page.rows
                .iter()
                .all(|r| r.actor_id.as_deref() == Some("aidant-org-a")
                    && r.client_id.as_deref() == Some("site-impots"))
        );
        let names = structure_usagers::client_names(conn, ["site-impots", "inconnu"]).unwrap();
        assert!(names.is_empty(), "no such client registered");
    }
}

#[test]
fn the_renewal_setting_is_stored_and_journaled_and_consents_keep_the_renewal() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        setup(conn);
        let org = OrganisationId::new("org-a");
        assert!(
            organisations::get(conn, &org)
                .unwrap()
                .renewal_requires_identification
        );
        organisations::set_renewal_requires_identification(conn, &org, false, &ctx(), NOW).unwrap();
        assert!(
            !organisations::get(conn, &org)
                .unwrap()
                .renewal_requires_identification
        );
        {
            use ac_storage::schema::audit_pending;
            use diesel::prelude::*;
            let entries: Vec<String> = audit_pending::table
                .select(audit_pending::entry)
                .load(conn)
                .unwrap();
            assert!(
                entries
                    .iter()
                    .any(|e| e.contains("\"organisation.updated\"")
                        && e.contains("\"renewal_requires_identification\":\"false\""))
            );
        }
        assert!(
            organisations::list(conn)
                .unwrap()
                .iter()
                .any(|o| o.id == org && !o.renewal_requires_identification)
        );
        let unknown = organisations::set_renewal_requires_identification(
            conn,
            &OrganisationId::new("nulle-part"),
            false,
            &ctx(),
            NOW,
        );
        assert!(matches!(unknown, Err(ac_storage::StorageError::NotFound)));

        let (usager, old) = person(
            conn,
            "org-a",
            ("Hélène", "LEFÈVRE", date!(1980 - 01 - 02)),
            MandateDuration::OneYear,
            NOW,
        );
        let aidant = AidantId::new("aidant-org-a");
        let pending = PendingConsent {
            organisation: org.clone(),
            usager: usager.id.clone(),
            draft: "{}".into(),
            renewal_of: Some(old.id.clone()),
            identification: Identification::NotRequired,
            comprehension: Check::new(),
        };
        let hash = "b".repeat(64);
        mandate_consents::insert(
            conn,
            &hash,
            &aidant,
            &pending,
            NOW,
            NOW + Duration::minutes(15),
        )
        .unwrap();
        let later = NOW + Duration::minutes(1);
        assert_eq!(
            mandate_consents::peek(conn, &hash, &aidant, later).unwrap(),
            Some(pending.clone())
        );
        let consent = mandates::Consent {
            legal_text_version: "2026-01",
            text_shown: mandates::TextShown::Full,
            language: "fr",
            notifications: None,
        };
        let create = |conn: &mut DbConnection| {
            mandates::create_from_consent(
                conn,
                &hash,
                &aidant,
                |_| Some((vec![Demarche::Social], MandateDuration::SixMonths)),
                &consent,
                &AuditContext::aidant(&aidant, None),
                later,
            )
        };
        // The comprehension check not done: refused (MND014), nothing written, the consent
        // still waiting.
        let entries = |conn: &mut DbConnection| -> Vec<String> {
            use ac_storage::schema::audit_pending;
            use diesel::prelude::*;
            audit_pending::table
                .select(audit_pending::entry)
                .load(conn)
                .unwrap()
        };
        let written_before = (
            mandates::for_person(conn, &usager.id).unwrap().len(),
            entries(conn).len(),
        );
        let refused = create(conn).unwrap_err();
        assert_eq!(refused.code(), "MND014", "{refused}");
        assert_eq!(
            (
                mandates::for_person(conn, &usager.id).unwrap().len(),
                entries(conn).len()
            ),
            written_before
        );
        // One wrong answer, then three right ones: saved step by step, each only from the
        // state it was read in (a second save from the same state does nothing).
        let mut check = Check::new();
        let mut steps = vec![(Question::Who, "la-famille")];
        steps.extend(Question::ALL.map(|q| (q, q.right().key())));
        for (question, key) in steps {
            let next = match check.answer(question, key).unwrap() {
                Answered::Right(next) | Answered::Wrong(next) => next,
                Answered::Stale => panic!("stale"),
            };
            assert!(
                mandate_consents::save_check(conn, &hash, &aidant, check, next, later).unwrap()
            );
            assert!(
                !mandate_consents::save_check(conn, &hash, &aidant, check, next, later).unwrap()
            );
            check = next;
        }
        let stored = mandate_consents::peek(conn, &hash, &aidant, later)
            .unwrap()
            .unwrap();
        assert_eq!(stored.comprehension, check);
        let plan = create(conn).unwrap();
        let created = entries(conn)
            .into_iter()
            .rfind(|e| e.contains("\"mandate.created\""))
            .unwrap();
        assert!(
            created.contains("\"comprehension\":\"passed\"")
                && created.contains("\"comprehension_tries\":\"2\"")
                && !created.contains("la-famille"),
            "{created}"
        );
        assert_eq!(plan.mandate.renewal_of.as_ref(), Some(&old.id));
        assert_eq!(plan.superseded.len(), 1, "the old social authorization");
        assert_eq!(
            mandates::get(conn, &plan.mandate.id).unwrap().renewal_of,
            Some(old.id.clone())
        );
        // Used once.
        assert!(
            mandate_consents::peek(conn, &hash, &aidant, later)
                .unwrap()
                .is_none()
        );
    }
}
