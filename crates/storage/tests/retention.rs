//! Retention on both backends, with the clock moved forward (docs/operations.md "Retention"):
//! mandate records kept for the mandate's life plus the legal text's year, then gone with the
//! person's identity when nothing of theirs is left; the journal redacted at five years and
//! still verifiable; every other way to delete or redact refused by the database; a batch that
//! cannot journal deletes nothing. On PostgreSQL the code runs as the runtime role.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_audit::SignerKey;
use ac_mandates::*;
use ac_storage::journal::AuditContext;
use ac_storage::mandates::{NewMandate, RevocationConsent};
use ac_storage::retention::{self, Policy};
use ac_storage::testing::{
    TestDatabase, aidant_of, count, drop_audit_log_guards, pivot_identity, refuse_journal_writes,
    structure,
};
use ac_storage::{
    Backend, DbConnection, aidants, audit, leases, mandate_verifications, mandates, organisations,
    usagers,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-03-10 14:30 UTC);
const ORIGIN: &str = "aidants-connect.test/audit";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, [7; 32]).unwrap()
}

fn each(test: impl Fn(&TestDatabase)) {
    for db in TestDatabase::each_as_runtime_role().expect("test database") {
        eprintln!("backend: {:?}", db.backend());
        test(&db);
    }
}

fn ctx() -> AuditContext {
    AuditContext::cli()
}

struct World {
    aidant: AidantId,
    usager: UsagerId,
}

/// Two structures, an aidant in each, one person.
fn world(conn: &mut DbConnection) -> World {
    for (id, name) in [("o1", "Médiathèque"), ("o2", "Centre social")] {
        organisations::insert(conn, &structure(id, name).unwrap(), &ctx(), NOW).unwrap();
    }
    // One aidant per structure, each acting for their own.
    for (aidant, org) in [("a1", "o1"), ("a2", "o2")] {
        let email = format!("{aidant}@exemple.fr").parse().unwrap();
        let record = aidant_of(aidant, email, &OrganisationId::new(org));
        aidants::insert(conn, &record, &ctx(), NOW).unwrap();
    }
    let aidant = AidantId::new("a1");
    let (usager, _) =
        usagers::upsert_identified(conn, &"e".repeat(64), &pivot_identity(), &ctx(), NOW).unwrap();
    World {
        aidant,
        usager: usager.id,
    }
}

fn give(conn: &mut DbConnection, w: &World, org: &str, at: OffsetDateTime) -> MandateId {
    let aidant = if org == "o1" {
        w.aidant.clone()
    } else {
        AidantId::new("a2")
    };
    let org = OrganisationId::new(org);
    mandates::create(
        conn,
        &NewMandate {
            aidant: &aidant,
            organisation: &org,
            usager: &w.usager,
            demarches: &[Demarche::Social],
            duration: MandateDuration::OneYear,
            legal_text_version: "2026-01",
            renewal_of: None,
        },
        &ctx(),
        at,
    )
    .unwrap()
    .mandate
    .id
}

fn n(conn: &mut DbConnection, sql: &str) -> i64 {
    count(conn, sql).unwrap()
}

fn run(db: &TestDatabase, at: OffsetDateTime) -> retention::Outcome {
    retention::run(&db.db, &Policy::default(), "test-node", at).unwrap()
}

#[test]
fn a_mandate_is_kept_until_one_year_after_its_end_then_its_records_and_the_identity_go() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let w = world(conn);
        let mandate = give(conn, &w, "o1", NOW);
        let code = mandate_verifications::code_for_print(conn, &mandate, &ctx(), NOW).unwrap();
        let ends = NOW + Duration::days(365);

        // Expired, then kept a year: a second before the year is over, nothing goes.
        let before = run(db, ends + Duration::days(365) - Duration::seconds(1));
        assert!(before.ran);
        assert_eq!(before.mandates, 0);
        assert_eq!(n(conn, "SELECT COUNT(*) AS n FROM mandates"), 1);

        let report =
            retention::report(conn, &Policy::default(), ends + Duration::days(366)).unwrap();
        assert_eq!(retention::Counts::total(&report.mandates), 1, "{report:?}");
        assert_eq!(
            retention::Counts::total(&report.identities),
            1,
            "{report:?}"
        );
        assert_eq!(
            n(conn, "SELECT COUNT(*) AS n FROM mandates"),
            1,
            "a report deletes nothing"
        );

        let after = run(db, ends + Duration::days(366));
        assert_eq!((after.mandates, after.identities), (1, 1), "{after:?}");
        for table in [
            "mandates",
            "authorizations",
            "mandate_verifications",
            "usagers",
            "retention_permits",
        ] {
            assert_eq!(
                n(conn, &format!("SELECT COUNT(*) AS n FROM {table}")),
                0,
                "{table}"
            );
        }
        // The printed code now says why the mandate is gone.
        assert!(matches!(
            mandate_verifications::mandate_for_code(conn, &code),
            Err(ac_storage::StorageError::NotFound)
        ));
        assert!(mandate_verifications::is_retired(conn, &code).unwrap());
        // Journaled by pseudonym, counts only in the run's entry.
        assert_eq!(
            n(
                conn,
                "SELECT COUNT(*) AS n FROM audit_pending WHERE entry LIKE '%\"mandate.deleted\"%'"
            ),
            1
        );
        assert_eq!(
            n(
                conn,
                "SELECT COUNT(*) AS n FROM audit_pending WHERE entry LIKE '%\"usager.deleted\"%'"
            ),
            1
        );
        assert_eq!(
            n(
                conn,
                "SELECT COUNT(*) AS n FROM audit_pending WHERE entry LIKE '%Angela%' OR entry LIKE '%DUBOIS%'"
            ),
            0,
            "no name in the journal"
        );
        // Idempotent: nothing more to do.
        let again = run(db, ends + Duration::days(367));
        assert_eq!((again.mandates, again.identities), (0, 0));
        // The journal's replay accepts the deletion.
        audit::integrate_all(conn, 1000, ends + Duration::days(367)).unwrap();
        audit::sign_checkpoint(conn, &key(), true, ends + Duration::days(367)).unwrap();
        let verified = audit::verify(
            &db.db,
            &[key().verifier()],
            &[],
            &audit::Expectations::new(ends + Duration::days(367), Duration::HOUR),
        )
        .unwrap();
        assert!(verified.is_intact(), "{verified:?}");
    });
}

#[test]
fn a_person_keeps_their_identity_until_the_period_of_their_last_mandate_ends() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let w = world(conn);
        let first = give(conn, &w, "o1", NOW);
        let second = give(conn, &w, "o2", NOW + Duration::days(200));
        // The first is revoked a month in: it ends then, not at its expiry.
        let revoked = NOW + Duration::days(30);
        mandates::revoke_mandate(
            conn,
            &w.aidant,
            &first,
            RevocationConsent::NotRecorded,
            &ctx(),
            revoked,
        )
        .unwrap();

        let first_gone = run(db, revoked + Duration::days(366));
        assert_eq!((first_gone.mandates, first_gone.identities), (1, 0));
        assert_eq!(n(conn, "SELECT COUNT(*) AS n FROM mandates"), 1);
        assert_eq!(
            n(conn, "SELECT COUNT(*) AS n FROM usagers"),
            1,
            "still has a mandate"
        );
        assert!(mandates::get(conn, &second).is_ok());

        let second_ends = NOW + Duration::days(200 + 365);
        let kept = run(db, second_ends + Duration::days(364));
        assert_eq!(kept.mandates, 0);
        let all_gone = run(db, second_ends + Duration::days(366));
        assert_eq!((all_gone.mandates, all_gone.identities), (1, 1));
        assert_eq!(n(conn, "SELECT COUNT(*) AS n FROM usagers"), 0);
    });
}

#[test]
fn an_identity_fetched_for_a_mandate_never_given_goes_a_day_later() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        world(conn);
        assert_eq!(run(db, NOW + Duration::hours(23)).unused_identities, 0);
        assert_eq!(run(db, NOW + Duration::hours(25)).unused_identities, 1);
        assert_eq!(n(conn, "SELECT COUNT(*) AS n FROM usagers"), 0);
    });
}

#[test]
fn a_batch_that_cannot_journal_deletes_nothing() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let w = world(conn);
        give(conn, &w, "o1", NOW);
        let later = NOW + Duration::days(800);
        refuse_journal_writes(db, true).unwrap();
        assert!(retention::run(&db.db, &Policy::default(), "test-node", later).is_err());
        refuse_journal_writes(db, false).unwrap();
        assert_eq!(n(conn, "SELECT COUNT(*) AS n FROM mandates"), 1);
        assert_eq!(n(conn, "SELECT COUNT(*) AS n FROM usagers"), 1);
        // The lease was given back: the next run need not wait for it.
        assert_eq!(run(db, later).mandates, 1);
    });
}

#[test]
fn one_holder_at_a_time() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let w = world(conn);
        give(conn, &w, "o1", NOW);
        let later = NOW + Duration::days(800);
        assert!(
            leases::acquire(
                conn,
                retention::LEASE,
                "other-node",
                retention::LEASE_TTL,
                later
            )
            .unwrap()
        );
        let skipped = run(db, later);
        assert!(!skipped.ran);
        assert_eq!(n(conn, "SELECT COUNT(*) AS n FROM mandates"), 1);
        // Once the other node's lease expires, this one takes over.
        let taken = run(db, later + retention::LEASE_TTL);
        assert!(taken.ran);
        assert_eq!(taken.mandates, 1);
    });
}

/// Every path but the retention job's is refused by the database itself.
#[test]
fn the_database_refuses_every_other_deletion_and_redaction() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let w = world(conn);
        give(conn, &w, "o1", NOW);
        audit::integrate_all(conn, 1000, NOW).unwrap();
        // Refused by a guard, not by chance: a foreign key would refuse `DELETE FROM mandates`
        // too while its authorizations exist, so the error must be a trigger's, a function's or
        // a missing privilege's.
        let by_a_guard = |error: String| {
            ["retention", "append-only", "permission denied"]
                .iter()
                .any(|guard| error.contains(guard))
                .then_some(())
                .ok_or(error)
        };
        let mut refused = |sql: &str| {
            // As the owner: the triggers refuse without a permit.
            let as_owner = db
                .execute_raw(sql)
                .map_or_else(|e| format!("{e:?}"), |()| "accepted".to_owned());
            by_a_guard(as_owner).unwrap_or_else(|e| panic!("owner: {sql}: {e}"));
            // As the service (the runtime role on PostgreSQL): refused too.
            let as_service = diesel::connection::SimpleConnection::batch_execute(conn, sql)
                .map_or_else(|e| format!("{e:?}"), |()| "accepted".to_owned());
            by_a_guard(as_service).unwrap_or_else(|e| panic!("service: {sql}: {e}"));
            let _ = diesel::connection::SimpleConnection::batch_execute(conn, "ROLLBACK");
        };
        refused("DELETE FROM authorizations");
        refused("DELETE FROM mandates");
        refused("UPDATE audit_log SET entry = '', redacted_at = at WHERE seq = 0");
        refused("DELETE FROM audit_log WHERE seq = 0");
        if db.backend() == Backend::Postgres {
            // The function refuses without a permit, and a permit never outlives its transaction.
            refused("SELECT retention_delete_mandates('o1', 'x', '2100-01-01')");
            refused("SELECT retention_redact_journal(0, '2100-01-01', 10, '2100-01-01')");
            refused("INSERT INTO retention_permits VALUES ('forged', '2026-01-01')");
            // Even with a permit, the service cannot DELETE directly: no privilege (the owner
            // could; it would then meet the foreign keys).
            let with_permit = diesel::connection::SimpleConnection::batch_execute(
                conn,
                "BEGIN; INSERT INTO retention_permits VALUES ('p', '2026-01-01'); \
                 DELETE FROM mandates; DELETE FROM retention_permits; COMMIT",
            )
            .map_or_else(|e| format!("{e:?}"), |()| "accepted".to_owned());
            assert!(with_permit.contains("permission denied"), "{with_permit}");
            let _ = diesel::connection::SimpleConnection::batch_execute(conn, "ROLLBACK");
        }
        // Even under a permit, a redaction must erase and nothing else.
        let shaped = |set: &str| {
            format!(
                "BEGIN; INSERT INTO retention_permits VALUES ('p', '2026-01-01'); \
                 UPDATE audit_log SET {set} WHERE seq = 0; DELETE FROM retention_permits; COMMIT"
            )
        };
        for wrong in [
            "entry = 'x', redacted_at = at",
            "entry = '', leaf_hash = leaf_hash, actor_id = 'a', redacted_at = at",
            "entry = '', actor_id = NULL, organisation_id = NULL, usager = NULL, demarche = NULL, client_id = NULL, target = NULL, redacted_at = at, action = 'x'",
        ] {
            let sql = shaped(wrong);
            assert!(db.execute_raw(&sql).is_err(), "{sql}");
        }
        assert_eq!(n(conn, "SELECT COUNT(*) AS n FROM mandates"), 1);
        assert_eq!(
            n(
                conn,
                "SELECT COUNT(*) AS n FROM audit_log WHERE redacted_at IS NOT NULL"
            ),
            0
        );
    });
}

/// The journal five years on: payloads gone, leaf hashes kept, every proof still verifying, and
/// each tampering with what remains still caught.
#[test]
fn the_journal_is_redacted_at_five_years_and_still_verifies() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let w = world(conn);
        give(conn, &w, "o1", NOW);
        audit::integrate_all(conn, 1000, NOW).unwrap();
        audit::sign_checkpoint(conn, &key(), true, NOW).unwrap();
        audit::integrate_all(conn, 1000, NOW).unwrap();
        let old = n(conn, "SELECT COUNT(*) AS n FROM audit_log");
        // A year later, more entries and another checkpoint.
        let year = NOW + Duration::days(365);
        give(conn, &w, "o2", year);
        audit::integrate_all(conn, 1000, year).unwrap();
        audit::sign_checkpoint(conn, &key(), true, year).unwrap();
        audit::integrate_all(conn, 1000, year).unwrap();

        let verify_at = |at: OffsetDateTime| {
            audit::verify(
                &db.db,
                &[key().verifier()],
                &[],
                &audit::Expectations::new(at, Duration::days(365 * 10)),
            )
            .unwrap()
        };
        // Before five years: nothing is redacted.
        let early = NOW + Duration::days(5 * 365);
        let policy = Policy::default();
        assert_eq!(
            retention::journal::horizon(conn, policy.journal_cutoff(early)).unwrap(),
            None
        );

        let five_years = NOW + Duration::days(5 * 365 + 2);
        // Mandates are long gone by then; the journal entries about them stay until now.
        let outcome = run(db, five_years);
        assert!(outcome.journal_entries > 0, "{outcome:?}");
        let redacted = n(
            conn,
            "SELECT COUNT(*) AS n FROM audit_log WHERE redacted_at IS NOT NULL",
        );
        assert_eq!(u64::try_from(redacted).unwrap(), outcome.journal_entries);
        // Everything before the first checkpoint but the checkpoint entry itself.
        assert!(redacted < old && redacted >= old - 2, "{redacted} of {old}");
        assert_eq!(
            n(
                conn,
                "SELECT COUNT(*) AS n FROM audit_log WHERE redacted_at IS NOT NULL AND (entry <> '' OR usager IS NOT NULL)"
            ),
            0
        );
        audit::integrate_all(conn, 1000, five_years).unwrap();
        audit::sign_checkpoint(conn, &key(), true, five_years).unwrap();
        let verified = verify_at(five_years);
        assert!(verified.is_intact(), "{verified:?}");
        assert_eq!(verified.redacted, u64::try_from(redacted).unwrap());
        // Idempotent.
        assert_eq!(run(db, five_years + Duration::hours(1)).journal_entries, 0);
    });
}

/// A journal with two mandates' entries, a checkpoint now and one a year later, redacted five
/// years on; returns that instant.
fn redacted_journal(db: &TestDatabase) -> OffsetDateTime {
    let conn = &mut *db.db.conn().unwrap();
    let w = world(conn);
    give(conn, &w, "o1", NOW);
    audit::integrate_all(conn, 1000, NOW).unwrap();
    audit::sign_checkpoint(conn, &key(), true, NOW).unwrap();
    let year = NOW + Duration::days(365);
    give(conn, &w, "o2", year);
    audit::integrate_all(conn, 1000, year).unwrap();
    audit::sign_checkpoint(conn, &key(), true, year).unwrap();
    let five_years = NOW + Duration::days(5 * 365 + 2);
    assert!(run(db, five_years).journal_entries > 0);
    audit::integrate_all(conn, 1000, five_years).unwrap();
    audit::sign_checkpoint(conn, &key(), true, five_years).unwrap();
    five_years
}

/// Runs `sql` as the owner with the audit_log triggers out of the way, as a superuser could.
fn behind_the_triggers(db: &TestDatabase, sql: &str) {
    let guards = drop_audit_log_guards(db.backend());
    db.execute_raw(&format!("{guards} {sql}")).unwrap();
}

/// The SQL of one tampering, from the backend, a redacted entry's seq and a young entry's seq.
type Tampering = fn(Backend, i64, i64) -> String;

#[test]
fn tampering_with_a_redacted_journal_is_still_caught() {
    let tamperings: [(&str, Tampering, &str); 3] = [
        (
            "a redacted entry's leaf hash changed",
            |backend, redacted, _| match backend {
                Backend::Sqlite => {
                    format!("UPDATE audit_log SET leaf_hash = zeroblob(32) WHERE seq = {redacted};")
                }
                Backend::Postgres => format!(
                    "UPDATE audit_log SET leaf_hash = decode(repeat('00', 32), 'hex') WHERE seq = {redacted};"
                ),
            },
            "racine",
        ),
        (
            "a redacted entry deleted",
            |_, redacted, _| format!("DELETE FROM audit_log WHERE seq = {redacted};"),
            "manque",
        ),
        (
            "an entry younger than five years redacted",
            |_, _, young| {
                format!(
                    "UPDATE audit_log SET entry = '', actor_id = NULL, organisation_id = NULL, usager = NULL, \
                     demarche = NULL, client_id = NULL, target = NULL, redacted_at = at WHERE seq = {young};"
                )
            },
            "caviardée avant",
        ),
    ];
    for (what, tamper, expected) in tamperings {
        each(|db| {
            let at = redacted_journal(db);
            let conn = &mut *db.db.conn().unwrap();
            let redacted = n(
                conn,
                "SELECT MIN(seq) AS n FROM audit_log WHERE redacted_at IS NOT NULL",
            );
            // An entry of the second mandate, a year after the first: not due yet.
            let young = n(
                conn,
                "SELECT MAX(seq) AS n FROM audit_log WHERE action = 'mandate.created'",
            );
            behind_the_triggers(db, &tamper(db.backend(), redacted, young));
            let verified = audit::verify(
                &db.db,
                &[key().verifier()],
                &[],
                &audit::Expectations::new(at, Duration::days(365 * 10)),
            )
            .unwrap();
            let problem = verified
                .problem
                .unwrap_or_else(|| panic!("{what}: not caught"));
            assert!(problem.what.contains(expected), "{what}: {problem:?}");
        });
    }
}
