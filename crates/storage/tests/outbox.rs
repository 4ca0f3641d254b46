//! The mail outbox and the expiry reminders it carries, on a fresh SQLite file and (when
//! `AC_TEST_DATABASE_URL` is set) a fresh PostgreSQL schema.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_mandates::*;
use ac_storage::journal::AuditContext;
use ac_storage::mandates::{self, NewMandate, RevocationConsent};
use ac_storage::outbox::{self, NewMail, Queued};
use ac_storage::reminders;
use ac_storage::testing::{TestDatabase, aidant_of, count, pivot_identity, structure};
use ac_storage::{DbConnection, StorageError, aidants, organisations, usagers, write};
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-03-10 14:30:00 UTC);
const LEASE: Duration = Duration::minutes(1);

fn each(test: impl Fn(&TestDatabase)) {
    for db in TestDatabase::each().expect("test database") {
        eprintln!("backend: {:?}", db.backend());
        test(&db);
    }
}

fn mail<'a>(key: Option<&'a str>, to: &'a str) -> NewMail<'a> {
    NewMail {
        kind: "test",
        dedupe_key: key,
        recipient: to,
        subject: "Objet",
        text: "Texte",
        html: "<p>Texte</p>",
    }
}

fn ids(mails: &[outbox::QueuedMail]) -> BTreeSet<String> {
    mails.iter().map(|m| m.id.clone()).collect()
}

#[test]
fn a_message_is_claimed_by_one_node_retried_after_a_failure_and_sent_once() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let Queued::Queued(first) =
            outbox::enqueue(conn, &mail(Some("k1"), "a@x.fr"), NOW).unwrap()
        else {
            panic!("queued")
        };
        assert_eq!(
            outbox::enqueue(conn, &mail(Some("k1"), "a@x.fr"), NOW).unwrap(),
            Queued::Duplicate,
            "the dedupe key holds"
        );
        let Queued::Queued(second) = outbox::enqueue(conn, &mail(None, "b@x.fr"), NOW).unwrap()
        else {
            panic!("queued")
        };

        let claimed = outbox::claim(conn, "node-a", NOW, LEASE, 10).unwrap();
        assert_eq!(
            ids(&claimed),
            BTreeSet::from([first.clone(), second.clone()])
        );
        assert!(claimed.iter().all(|m| m.attempts == 1));
        assert!(
            outbox::claim(conn, "node-b", NOW, LEASE, 10)
                .unwrap()
                .is_empty(),
            "claimed messages are not claimed twice"
        );

        // The first fails (SMTP down), the second goes.
        let retry = NOW + outbox::retry_delay(1);
        assert!(outbox::failed(conn, &first, "node-a", "connexion refusée", retry).unwrap());
        assert!(outbox::sent(conn, &second, "node-a", NOW).unwrap());
        assert!(
            outbox::claim(conn, "node-b", retry - Duration::seconds(1), LEASE, 10)
                .unwrap()
                .is_empty(),
            "not before its retry time"
        );
        let again = outbox::claim(conn, "node-b", retry, LEASE, 10).unwrap();
        assert_eq!(ids(&again), BTreeSet::from([first.clone()]));
        assert_eq!(again[0].attempts, 2);
        assert!(outbox::sent(conn, &first, "node-b", retry).unwrap());
        assert!(
            outbox::claim(conn, "node-a", retry + Duration::hours(2), LEASE, 10)
                .unwrap()
                .is_empty(),
            "a sent message is never claimed again"
        );
        assert_eq!(outbox::backlog(conn).unwrap(), (0, None));
    });
}

#[test]
fn a_node_that_dies_while_sending_loses_its_claim_when_the_lease_ends() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let Queued::Queued(id) = outbox::enqueue(conn, &mail(None, "a@x.fr"), NOW).unwrap() else {
            panic!("queued")
        };
        assert_eq!(
            outbox::claim(conn, "node-a", NOW, LEASE, 10).unwrap().len(),
            1
        );
        // node-a dies; within its lease nobody takes the message, after it node-b does.
        assert!(
            outbox::claim(
                conn,
                "node-b",
                NOW + LEASE - Duration::seconds(1),
                LEASE,
                10
            )
            .unwrap()
            .is_empty()
        );
        let later = NOW + LEASE;
        assert_eq!(
            outbox::claim(conn, "node-b", later, LEASE, 10)
                .unwrap()
                .len(),
            1
        );
        assert!(
            !outbox::sent(conn, &id, "node-a", later).unwrap(),
            "the old claim no longer counts"
        );
        assert!(outbox::sent(conn, &id, "node-b", later).unwrap());
        let (waiting, _) = outbox::backlog(conn).unwrap();
        assert_eq!(waiting, 0);
    });
}

#[test]
fn a_message_is_queued_with_its_event_or_not_at_all() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let result: Result<(), StorageError> = write(conn, |tx| {
            outbox::enqueue(tx, &mail(Some("k"), "a@x.fr"), NOW)?;
            // The event fails after the message was written.
            Err(StorageError::NotFound)
        });
        assert!(result.is_err());
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM mail_outbox").unwrap(),
            0
        );
        let long = "x".repeat(70_000);
        let refused = outbox::enqueue(
            conn,
            &NewMail {
                text: &long,
                ..mail(None, "a@x.fr")
            },
            NOW,
        );
        assert!(matches!(
            refused,
            Err(StorageError::Field(FieldError::TooLong))
        ));
    });
}

#[test]
fn concurrent_workers_claim_each_message_once() {
    each(|db| {
        {
            let conn = &mut *db.db.conn().unwrap();
            for _ in 0..40 {
                outbox::enqueue(conn, &mail(None, "a@x.fr"), NOW).unwrap();
            }
        }
        let barrier = Arc::new(Barrier::new(4));
        let claimed: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|n| {
                    let (db, barrier) = (&db.db, barrier.clone());
                    s.spawn(move || {
                        let conn = &mut *db.conn().unwrap();
                        barrier.wait();
                        let mut mine = Vec::new();
                        for _ in 0..10 {
                            let got =
                                outbox::claim(conn, &format!("node-{n}"), NOW, LEASE, 7).unwrap();
                            mine.extend(got.into_iter().map(|m| m.id));
                        }
                        mine
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let distinct: BTreeSet<&String> = claimed.iter().collect();
        assert_eq!(claimed.len(), 40, "every message claimed");
        assert_eq!(distinct.len(), 40, "none claimed twice");
    });
}

// ---------------------------------------------------------------------------------------------
// Expiry reminders.

fn ctx() -> AuditContext {
    AuditContext::cli()
}

struct Pilot {
    org: OrganisationId,
    alice: AidantId,
    usager: UsagerId,
}

fn pilot(conn: &mut DbConnection) -> Pilot {
    let org = OrganisationId::new("org-a");
    let structure = structure("org-a", "Médiathèque des Ursulines").unwrap();
    organisations::insert(conn, &structure, &ctx(), NOW).unwrap();
    let person = |id: &str, can_create: bool| Aidant {
        can_create_mandates: can_create,
        ..aidant_of(id, format!("{id}@exemple.fr").parse().unwrap(), &org)
    };
    aidants::insert(conn, &person("alice", true), &ctx(), NOW).unwrap();
    aidants::insert(conn, &person("accueil", false), &ctx(), NOW).unwrap();
    let (usager, _) =
        usagers::upsert_identified(conn, &"a".repeat(64), &pivot_identity(), &ctx(), NOW).unwrap();
    Pilot {
        org,
        alice: AidantId::new("alice"),
        usager: usager.id,
    }
}

fn mandate(
    conn: &mut DbConnection,
    p: &Pilot,
    demarches: &[Demarche],
    duration: MandateDuration,
) -> Mandate {
    mandates::create(
        conn,
        &NewMandate {
            aidant: &p.alice,
            organisation: &p.org,
            usager: &p.usager,
            demarches,
            duration,
            legal_text_version: "2026-01",
            renewal_of: None,
        },
        &ctx(),
        NOW,
    )
    .unwrap()
    .mandate
}

fn reminder_messages(due: &reminders::Due) -> Vec<(String, String)> {
    due.recipients
        .iter()
        .map(|r| (r.email.clone(), format!("{} élément(s)", due.items.len())))
        .collect()
}

fn record(conn: &mut DbConnection, due: &reminders::Due, at: OffsetDateTime) -> bool {
    let texts = reminder_messages(due);
    let messages: Vec<NewMail<'_>> = texts
        .iter()
        .map(|(to, text)| NewMail {
            kind: "expiry_reminder",
            dedupe_key: None,
            recipient: to,
            subject: "Des mandats arrivent à échéance",
            text,
            html: text,
        })
        .collect();
    reminders::record(conn, due, &messages, at).unwrap()
}

#[test]
fn each_authorization_is_reminded_once_at_30_then_at_7_days_to_those_who_may_act() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let p = pilot(conn);
        let year = mandate(
            conn,
            &p,
            &[Demarche::Social, Demarche::Logement],
            MandateDuration::OneYear,
        );
        let ends = year.expires_at;
        let thresholds = [30, 7];

        let too_early = reminders::due(conn, &thresholds, ends - Duration::days(31)).unwrap();
        assert!(too_early.is_empty(), "{too_early:?}");

        let at_30 = ends - Duration::days(30);
        let due = reminders::due(conn, &thresholds, at_30).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].items.len(), 2);
        assert!(due[0].items.iter().all(|i| i.threshold_days == 30));
        let told: Vec<&str> = due[0].recipients.iter().map(|r| r.email.as_str()).collect();
        assert_eq!(
            told,
            ["alice@exemple.fr"],
            "only those who may act for others"
        );
        assert!(record(conn, &due[0], at_30));
        assert!(
            !record(conn, &due[0], at_30),
            "a second node records nothing"
        );
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM mail_outbox").unwrap(),
            1
        );
        assert!(
            reminders::due(conn, &thresholds, at_30 + Duration::days(10))
                .unwrap()
                .is_empty(),
            "the 30-day reminder is given once"
        );

        // One démarche revoked: only the other is reminded at 7 days.
        mandates::revoke_authorization(
            conn,
            &p.alice,
            &year.id,
            &year.authorizations[0].id,
            RevocationConsent::NotRecorded,
            &ctx(),
            at_30,
        )
        .unwrap();
        let at_7 = ends - Duration::days(7);
        let due = reminders::due(conn, &thresholds, at_7).unwrap();
        assert_eq!(due[0].items.len(), 1);
        assert_eq!(due[0].items[0].threshold_days, 7);
        assert_eq!(due[0].items[0].authorization, year.authorizations[1].id);
        assert!(record(conn, &due[0], at_7));
        assert!(
            reminders::due(conn, &thresholds, ends - Duration::hours(1))
                .unwrap()
                .is_empty()
        );
        assert!(
            reminders::due(conn, &thresholds, ends).unwrap().is_empty(),
            "ended: never"
        );
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM mail_outbox").unwrap(),
            2
        );
    });
}

#[test]
fn a_mandate_no_longer_than_a_threshold_is_not_reminded_at_it_and_missed_thresholds_fold_into_one()
{
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let p = pilot(conn);
        let day = mandate(conn, &p, &[Demarche::Transports], MandateDuration::OneDay);
        assert!(
            reminders::due(conn, &[30, 7], NOW + Duration::hours(1))
                .unwrap()
                .is_empty()
        );
        // A month: 30 days ahead only at its first day; nodes down until 5 days before its end
        // give one reminder, at 7 days, with both thresholds recorded.
        let month = mandate(conn, &p, &[Demarche::Justice], MandateDuration::OneMonth);
        let late = month.expires_at - Duration::days(5);
        let due = reminders::due(conn, &[30, 7], late).unwrap();
        assert_eq!(due[0].items.len(), 1);
        assert_eq!(due[0].items[0].threshold_days, 7);
        assert_eq!(due[0].items[0].thresholds.len(), 2);
        assert!(record(conn, &due[0], late));
        assert!(reminders::due(conn, &[30, 7], late).unwrap().is_empty());
        let _ = day;
    });
}
