//! The audit log on a real database: entries written with their action, integrated into one
//! dense tree, signed, verified from scratch, and every kind of tampering detected.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_audit::{Action, SignerKey, verify_bundle};
use ac_mandates::*;
use ac_storage::audit::{self, Verification};
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::mandates::NewMandate;
use ac_storage::testing::{TestDatabase, count, drop_audit_log_guards};
use ac_storage::{
    Backend, Database, DbConnection, aidants, mandates, organisations, usagers, write,
};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use std::collections::BTreeSet;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-03-10 14:30 UTC);
const ORIGIN: &str = "aidants-connect.test/audit";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, [7; 32]).unwrap()
}

fn each(test: impl Fn(&TestDatabase)) {
    for db in TestDatabase::each().expect("test database") {
        eprintln!("backend: {:?}", db.backend());
        test(&db);
    }
}

fn actions(conn: &mut DbConnection) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
    }
    diesel::sql_query("SELECT action FROM audit_log ORDER BY seq")
        .load::<Row>(conn)
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect()
}

struct World {
    org: OrganisationId,
    aidant: AidantId,
    usager: UsagerId,
}

fn world(conn: &mut DbConnection) -> World {
    let ctx = AuditContext::cli();
    let org = Organisation {
        id: OrganisationId::new("org-a"),
        name: "Médiathèque".into(),
        kind: OrganisationKind::Bibliotheque,
        address: "1 rue des Lettres".into(),
        departement: "29".parse().unwrap(),
        siret: "13002526500013".parse().unwrap(),
        allowed_demarches: Demarche::ALL.into_iter().collect(),
        is_active: true,
        renewal_requires_identification: true,
    };
    organisations::insert(conn, &org, &ctx, NOW).unwrap();
    let aidant = Aidant {
        id: AidantId::new("aidant-1"),
        email: "camille@exemple.fr".parse().unwrap(),
        first_name: "Camille".into(),
        last_name: "Martin".into(),
        profession: "Conseillère numérique".into(),
        organisations: BTreeSet::from([org.id.clone()]),
        current_organisation: org.id.clone(),
        can_create_mandates: true,
        referent_of: BTreeSet::new(),
        coordinator_scopes: vec![],
        is_active: true,
    };
    aidants::insert(conn, &aidant, &ctx, NOW).unwrap();
    let identity = PivotIdentity {
        given_name: "Angela".into(),
        family_name: "DUBOIS".into(),
        birthdate: date!(1962 - 08 - 24),
        gender: Gender::Female,
        birthplace: Some("75107".into()),
        birthcountry: FRANCE_INSEE_CODE.into(),
        email: None,
        preferred_username: None,
    };
    let (usager, _) =
        usagers::upsert_identified(conn, &"e".repeat(64), &identity, &ctx, NOW).unwrap();
    World {
        org: org.id,
        aidant: aidant.id,
        usager: usager.id,
    }
}

fn create(
    conn: &mut DbConnection,
    w: &World,
    demarches: &[Demarche],
    at: OffsetDateTime,
) -> Result<ac_mandates::rules::MandatePlan, ac_storage::StorageError> {
    let new = NewMandate {
        aidant: &w.aidant,
        organisation: &w.org,
        usager: &w.usager,
        demarches,
        duration: MandateDuration::OneYear,
        legal_text_version: "2026-01",
        renewal_of: None,
    };
    mandates::create(
        conn,
        &new,
        &AuditContext::aidant(&w.aidant, Some("req-1".into())),
        at,
    )
}

/// A log of `n` mandates, integrated, with a checkpoint after every 3 mandates.
fn populated(db: &TestDatabase, n: usize) -> World {
    let conn = &mut *db.db.conn().unwrap();
    let w = world(conn);
    for i in 0..n {
        let demarche = Demarche::ALL[i % 10];
        create(conn, &w, &[demarche], NOW + Duration::minutes(i as i64)).unwrap();
        if i % 3 == 2 {
            audit::integrate_all(conn, 100, NOW).unwrap();
            audit::sign_checkpoint(conn, &key(), false, NOW).unwrap();
        }
    }
    audit::integrate_all(conn, 7, NOW).unwrap();
    audit::sign_checkpoint(conn, &key(), false, NOW).unwrap();
    w
}

fn verify(db: &TestDatabase) -> Verification {
    audit::verify(&db.db, &[key().verifier()], &[], &expect()).unwrap()
}

fn expect() -> audit::Expectations {
    audit::Expectations::new(NOW, time::Duration::minutes(15))
}

fn drop_append_only_triggers(db: &TestDatabase) {
    db.execute_raw(drop_audit_log_guards(db.backend())).unwrap();
}

#[test]
fn every_change_is_journaled_in_its_own_transaction_and_a_refused_one_leaves_no_entry() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let w = world(conn);
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM audit_pending").unwrap(),
            3,
            "structure, aidant, usager"
        );
        create(conn, &w, &[Demarche::Social, Demarche::Argent], NOW).unwrap();
        create(conn, &w, &[Demarche::Social], NOW + Duration::hours(1)).unwrap();
        assert!(create(conn, &w, &[], NOW).is_err());
        audit::integrate_all(conn, 1000, NOW).unwrap();
        assert_eq!(
            actions(conn),
            [
                "organisation.created",
                "aidant.created",
                "usager.identified",
                "mandate.created",
                "authorization.created",
                "authorization.created",
                "mandate.created",
                "authorization.created",
                "authorization.superseded",
            ]
        );
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM audit_pending").unwrap(),
            0
        );
        // No personal data in the log: the usager appears only as a pseudonym.
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM audit_log WHERE entry LIKE '%DUBOIS%' OR entry LIKE '%camille@%'").unwrap(),
            0
        );
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM audit_log WHERE usager = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'").unwrap(),
            7,
            "identification and the six mandate entries"
        );
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) AS n FROM audit_log WHERE entry LIKE '%\"request_id\":\"req-1\"%'"
            )
            .unwrap(),
            6
        );
    });
}

#[test]
fn no_audit_no_action() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let w = world(conn);
        // The journal cannot be written: the action must fail and leave nothing behind.
        db.execute_raw("DROP TABLE audit_pending").unwrap();
        assert!(create(conn, &w, &[Demarche::Social], NOW).is_err());
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM mandates").unwrap(),
            0
        );
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM authorizations").unwrap(),
            0
        );
        assert!(aidants::deactivate(conn, &w.aidant, &AuditContext::cli(), NOW).is_err());
        assert!(aidants::get(conn, &w.aidant).unwrap().is_active);
    });
}

#[test]
fn the_database_refuses_to_rewrite_the_journal() {
    each(|db| {
        populated(db, 2);
        let conn = &mut *db.db.conn().unwrap();
        journal::record(
            conn,
            &AuditContext::system(),
            Event::new(Action::ExportMade),
            NOW,
        )
        .unwrap();
        for sql in [
            "UPDATE audit_log SET action = 'x' WHERE seq = 0",
            "DELETE FROM audit_log WHERE seq = 0",
            "UPDATE audit_heads SET tree_size = 99",
            "DELETE FROM audit_heads",
            "UPDATE audit_checkpoints SET signed_note = ''",
            "DELETE FROM audit_checkpoints",
            "UPDATE audit_pending SET entry = '{}'",
            // A pending entry may go only once it is in the tree.
            "DELETE FROM audit_pending",
        ] {
            let result = conn.batch_execute(sql);
            assert!(result.is_err(), "accepted: {sql}");
        }
        if db.backend() == Backend::Postgres {
            assert!(conn.batch_execute("TRUNCATE audit_log").is_err());
        }
        assert!(verify(db).problem.is_none());
    });
}

#[test]
fn an_untouched_log_verifies_and_proofs_check_offline() {
    each(|db| {
        populated(db, 8);
        let report = verify(db);
        assert_eq!(report.problem, None, "{report:?}");
        assert!(report.entries > 20);
        assert!(report.checkpoints >= 3);

        let conn = &mut *db.db.conn().unwrap();
        let latest = audit::latest_checkpoint(conn).unwrap().unwrap();
        assert!(latest.signed_note.starts_with(&format!("{ORIGIN}\n")));
        for seq in [0, 5, latest.tree_size - 1] {
            let bundle = audit::prove(conn, seq).unwrap();
            let verified = verify_bundle(&bundle, &[key().verifier()]).unwrap();
            assert_eq!(verified.entry.seq, seq);
        }
        assert!(
            audit::prove(conn, latest.tree_size).is_err(),
            "not yet under a checkpoint"
        );

        let mut out = Vec::new();
        let n = audit::export(
            conn,
            NOW - Duration::days(1),
            NOW + Duration::days(1),
            &mut out,
        )
        .unwrap();
        assert_eq!(n, report.entries);
        assert_eq!(String::from_utf8(out).unwrap().lines().count() as u64, n);
    });
}

#[test]
fn a_field_edited_after_dropping_the_trigger_is_detected_at_its_sequence_number() {
    each(|db| {
        populated(db, 4);
        drop_append_only_triggers(db);
        db.execute_raw(
            "UPDATE audit_log SET entry = replace(entry, 'papiers', 'famille') WHERE seq = 4",
        )
        .unwrap();
        let problem = verify(db).problem.expect("tampering detected");
        assert_eq!(problem.seq, Some(4), "{problem:?}");
        assert!(problem.what.contains("empreinte"), "{problem:?}");
    });
}

#[test]
fn an_edit_with_a_recomputed_leaf_hash_is_caught_by_the_signed_root() {
    each(|db| {
        populated(db, 4);
        drop_append_only_triggers(db);
        // Rewrite entry 1 consistently (entry, hash, search columns) as a careful attacker would.
        let conn = &mut *db.db.conn().unwrap();
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            entry: String,
        }
        let entry = diesel::sql_query("SELECT entry FROM audit_log WHERE seq = 1")
            .get_result::<Row>(conn)
            .unwrap()
            .entry;
        let forged = entry.replace(
            "\"can_create_mandates\":\"true\"",
            "\"can_create_mandates\":\"fals\"",
        );
        assert_ne!(entry, forged);
        let leaf = ac_audit::merkle::leaf_hash(forged.as_bytes());
        let literal = match db.backend() {
            Backend::Sqlite => format!("X'{}'", hex(&leaf)),
            Backend::Postgres => format!("'\\x{}'::bytea", hex(&leaf)),
        };
        conn.batch_execute(&format!(
            "UPDATE audit_log SET entry = '{}', leaf_hash = {literal} WHERE seq = 1",
            forged.replace('\'', "''")
        ))
        .unwrap();
        let problem = verify(db).problem.expect("tampering detected");
        assert!(problem.what.contains("racine"), "{problem:?}");
        assert_eq!(problem.seq, Some(0), "the first checkpoint range is blamed");
    });
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_deleted_row_is_detected() {
    each(|db| {
        populated(db, 4);
        drop_append_only_triggers(db);
        db.execute_raw("DELETE FROM audit_log WHERE seq = 6")
            .unwrap();
        let problem = verify(db).problem.expect("tampering detected");
        assert_eq!(problem.seq, Some(6), "{problem:?}");
        assert!(problem.what.contains("manque"), "{problem:?}");
    });
}

/// Verification reads pages of 10,000 rows over several connections at once and puts them back
/// in order: a log of several pages must verify whole, also while other entries are being
/// integrated (each reader sees them, verification must not), and a row missing at the end of a
/// page (where nothing after it in that page looks out of place) must still be named.
#[test]
fn a_log_of_several_pages_verifies_during_integration_and_a_row_missing_at_a_page_end_is_named() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let entries = 25_000;
        write(conn, |tx| {
            for i in 0..entries {
                let event = Event::new(Action::DelegationCompleted).target(format!("authz-{i}"));
                journal::record(tx, &AuditContext::system(), event, NOW)?;
            }
            Ok::<_, ac_storage::StorageError>(())
        })
        .unwrap();
        audit::integrate_all(conn, 5_000, NOW).unwrap();
        let signed = audit::sign_checkpoint(conn, &key(), true, NOW)
            .unwrap()
            .unwrap();
        let report = verify(db);
        assert_eq!(report.problem, None);
        assert_eq!(report.entries, entries);
        assert_eq!(report.root, signed.root);

        let integrating = std::sync::atomic::AtomicBool::new(true);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let conn = &mut *db.db.conn().unwrap();
                // Bounded, so that a failed assertion below cannot leave this thread running.
                for i in 0..5_000 {
                    let event = Event::new(Action::ExportMade).target(format!("late-{i}"));
                    write(conn, |tx| {
                        journal::record(tx, &AuditContext::system(), event, NOW)
                    })
                    .unwrap();
                    audit::integrate(conn, 10, NOW).unwrap();
                    if !integrating.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                }
            });
            for _ in 0..3 {
                let report = verify(db);
                assert_eq!(report.problem, None);
                assert!(report.entries >= entries);
            }
            integrating.store(false, std::sync::atomic::Ordering::Relaxed);
        });
        let grown = verify(db);
        assert_eq!(grown.problem, None);
        assert!(
            grown.entries > entries,
            "integration went on during verification"
        );

        drop_append_only_triggers(db);
        db.execute_raw("DELETE FROM audit_log WHERE seq = 19999")
            .unwrap();
        let problem = verify(db).problem.expect("tampering detected");
        assert_eq!(problem.seq, Some(19_999), "{problem:?}");
        assert!(problem.what.contains("manque"), "{problem:?}");
    });
}

#[test]
fn a_truncated_tail_is_detected() {
    each(|db| {
        populated(db, 4);
        let entries = verify(db).entries;
        drop_append_only_triggers(db);
        db.execute_raw(&format!(
            "DELETE FROM audit_log WHERE seq >= {}",
            entries - 3
        ))
        .unwrap();
        let problem = verify(db).problem.expect("tampering detected");
        assert_eq!(problem.seq, Some(entries - 3), "{problem:?}");
        assert!(problem.what.contains("s'arrête"), "{problem:?}");
    });
}

#[test]
fn two_swapped_rows_are_detected() {
    each(|db| {
        populated(db, 4);
        drop_append_only_triggers(db);
        db.execute_raw(
            "UPDATE audit_log SET seq = -1 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = -1;",
        )
        .unwrap_or_else(|_| {
            // PostgreSQL's CHECK (seq >= 0) forbids the temporary -1: use a large number instead.
            db.execute_raw(
                "UPDATE audit_log SET seq = 1000000 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = 1000000;",
            )
            .unwrap()
        });
        let problem = verify(db).problem.expect("tampering detected");
        assert_eq!(problem.seq, Some(3), "{problem:?}");
        assert!(problem.what.contains("déplacées"), "{problem:?}");
    });
}

#[test]
fn a_checkpoint_forged_with_another_key_is_detected() {
    each(|db| {
        populated(db, 2);
        let conn = &mut *db.db.conn().unwrap();
        let latest = audit::latest_checkpoint(conn).unwrap().unwrap();
        let forger = SignerKey::from_seed(ORIGIN, [9; 32]).unwrap();
        let forged = ac_audit::Checkpoint {
            origin: ORIGIN.into(),
            size: latest.tree_size + 1,
            root: [1; 32],
        }
        .sign(&forger)
        .unwrap();
        let literal = match db.backend() {
            Backend::Sqlite => format!("X'{}'", "01".repeat(32)),
            Backend::Postgres => format!("'\\x{}'::bytea", "01".repeat(32)),
        };
        conn.batch_execute(&format!(
            "INSERT INTO audit_checkpoints (tree_size, root_hash, signed_note, signed_at) VALUES ({}, {literal}, '{forged}', '2026-03-10 15:00:00')",
            latest.tree_size + 1
        ))
        .unwrap();
        let problem = verify(db).problem.expect("forgery detected");
        assert!(problem.what.contains("clé de confiance"), "{problem:?}");
    });
}

#[test]
fn a_proof_with_one_hash_flipped_is_refused() {
    each(|db| {
        populated(db, 5);
        let mut bundle = audit::prove(&mut db.db.conn().unwrap(), 2).unwrap();
        assert!(verify_bundle(&bundle, &[key().verifier()]).is_ok());
        let (head, rest) = bundle.proof[0].split_at(1);
        bundle.proof[0] = format!("{}{rest}", if head == "0" { "1" } else { "0" });
        assert!(verify_bundle(&bundle, &[key().verifier()]).is_err());
    });
}

#[test]
fn checkpoints_are_signed_only_when_something_happened() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        world(conn);
        audit::integrate_all(conn, 100, NOW).unwrap();
        let first = audit::sign_checkpoint(conn, &key(), false, NOW)
            .unwrap()
            .expect("new entries");
        assert_eq!(first.tree_size, 3);
        // The checkpoint's own journal entry does not call for another checkpoint.
        audit::integrate_all(conn, 100, NOW).unwrap();
        assert_eq!(
            audit::sign_checkpoint(conn, &key(), false, NOW).unwrap(),
            None
        );
        // On demand, it does.
        let forced = audit::sign_checkpoint(conn, &key(), true, NOW)
            .unwrap()
            .expect("forced");
        assert_eq!(forced.tree_size, 4);
        assert_eq!(verify(db).problem, None);
    });
}

#[test]
fn concurrent_writers_and_integrators_on_several_pools_give_one_dense_valid_tree() {
    each(|db| {
        let threads = 6;
        let per_thread = 150;
        let pools: Vec<Database> = (0..3)
            .map(|_| {
                ac_storage::Database::open(
                    &db.url,
                    ac_storage::OpenMode::MustExist,
                    &ac_storage::PoolOptions::default(),
                )
                .unwrap()
            })
            .collect();
        std::thread::scope(|scope| {
            for t in 0..threads {
                let pool = pools[t % pools.len()].clone();
                scope.spawn(move || {
                    let mut conn = pool.conn().unwrap();
                    for i in 0..per_thread {
                        write(&mut conn, |tx| {
                            journal::record(
                                tx,
                                &AuditContext::system(),
                                Event::new(Action::ExportMade).target(format!("{t}-{i}")),
                                NOW,
                            )
                        })
                        .unwrap();
                        if i % 25 == 0 {
                            audit::integrate(&mut conn, 40, NOW).unwrap();
                        }
                    }
                });
            }
            for pool in &pools {
                let pool = pool.clone();
                scope.spawn(move || {
                    let mut conn = pool.conn().unwrap();
                    for _ in 0..30 {
                        audit::integrate(&mut conn, 50, NOW).unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                });
            }
        });
        let conn = &mut *db.db.conn().unwrap();
        audit::integrate_all(conn, 500, NOW).unwrap();
        audit::sign_checkpoint(conn, &key(), false, NOW).unwrap();
        let report = verify(db);
        assert_eq!(report.problem, None);
        assert_eq!(report.entries, (threads * per_thread) as u64);
        assert_eq!(
            count(conn, "SELECT COUNT(DISTINCT target) AS n FROM audit_log").unwrap(),
            (threads * per_thread) as i64
        );
        assert_eq!(
            count(conn, "SELECT MAX(seq) + 1 AS n FROM audit_log").unwrap(),
            (threads * per_thread) as i64,
            "dense"
        );
    });
}

#[test]
fn published_checkpoints_catch_a_truncation_that_also_removed_the_checkpoint_rows() {
    each(|db| {
        populated(db, 4);
        let conn = &mut *db.db.conn().unwrap();
        let published = audit::latest_checkpoint(conn).unwrap().unwrap();
        let sql = match db.backend() {
            Backend::Sqlite => {
                "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_checkpoints_no_delete; DROP TRIGGER audit_heads_no_delete;"
            }
            Backend::Postgres => {
                "DROP TRIGGER audit_log_no_delete ON audit_log; DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints; DROP TRIGGER audit_heads_append_only ON audit_heads;"
            }
        };
        db.execute_raw(sql).unwrap();
        // Cut at a tree head, so that what is left has no row beyond its last head.
        let cut = count(
            conn,
            &format!(
                "SELECT MAX(tree_size) AS n FROM audit_heads WHERE tree_size < {}",
                published.tree_size
            ),
        )
        .unwrap() as u64;
        db.execute_raw(&format!(
            "DELETE FROM audit_log WHERE seq >= {cut}; DELETE FROM audit_checkpoints WHERE tree_size > {cut}; DELETE FROM audit_heads WHERE tree_size > {cut};"
        ))
        .unwrap();
        // Without the published copy, the database alone looks consistent.
        assert_eq!(verify(db).problem, None);
        let report = audit::verify(
            &db.db,
            &[key().verifier()],
            &[published.signed_note],
            &expect(),
        )
        .unwrap();
        let problem = report.problem.expect("truncation detected");
        assert_eq!(problem.seq, Some(cut), "{problem:?}");
    });
}

// ---------------------------------------------------------------------------------------------
// Foreign rows, pending entries, deleted checkpoints, and the mandate tables under the journal.

fn integrity_alarm(result: Result<usize, ac_storage::StorageError>) -> String {
    match result {
        Err(ac_storage::StorageError::JournalIntegrity(why)) => why,
        other => panic!("expected the integrity alarm, got {other:?}"),
    }
}

#[test]
fn a_row_forged_after_the_last_head_stops_the_integrator_and_fails_verification() {
    each(|db| {
        populated(db, 3);
        let conn = &mut *db.db.conn().unwrap();
        audit::integrate_all(conn, 100, NOW).unwrap();
        let forged = ac_storage::testing::forge_row_after_last_head(conn).unwrap();
        let problem = verify(db).problem.expect("forged row detected");
        assert_eq!(problem.seq, Some(forged), "{problem:?}");
        assert!(problem.what.contains("tête d'arbre"), "{problem:?}");

        // A later action gives the integrator work: it stops with the alarm, not a key error,
        // and leaves the pending entry where it is.
        journal::record(
            conn,
            &AuditContext::system(),
            Event::new(Action::ExportMade),
            NOW,
        )
        .unwrap();
        let why = integrity_alarm(audit::integrate(conn, 100, NOW));
        assert!(why.contains("tête d'arbre"), "{why}");
        assert_eq!(
            count(conn, "SELECT COUNT(*) AS n FROM audit_pending").unwrap(),
            1
        );
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) AS n FROM audit_log WHERE target = 'forged'"
            )
            .unwrap(),
            1,
            "never sealed into the tree"
        );
    });
}

#[test]
fn a_pending_entry_replayed_or_unreadable_stops_the_integrator_and_fails_verification() {
    each(|db| {
        populated(db, 2);
        let conn = &mut *db.db.conn().unwrap();
        let (id, text): (i64, String) = {
            #[derive(diesel::QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                pending_id: i64,
                #[diesel(sql_type = diesel::sql_types::Text)]
                entry: String,
            }
            let row: Row = diesel::sql_query(
                "SELECT pending_id, entry FROM audit_log ORDER BY seq DESC LIMIT 1",
            )
            .get_result(conn)
            .unwrap();
            (row.pending_id, row.entry)
        };
        // The last integrated entry, written again under its pending id.
        let overriding = match db.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => "OVERRIDING SYSTEM VALUE",
        };
        conn.batch_execute(&format!(
            "INSERT INTO audit_pending (id, entry, created_at) {overriding} VALUES ({id}, '{text}', '2026-03-10 14:30:00')"
        ))
        .unwrap();
        let problem = verify(db).problem.expect("replayed pending entry detected");
        assert!(problem.what.contains("déjà au journal"), "{problem:?}");
        let why = integrity_alarm(audit::integrate(conn, 100, NOW));
        assert!(why.contains("déjà au journal"), "{why}");
    });
    each(|db| {
        populated(db, 2);
        let conn = &mut *db.db.conn().unwrap();
        conn.batch_execute(
            "INSERT INTO audit_pending (entry, created_at) VALUES ('{\"x\":1}', '2026-03-10 14:30:00')",
        )
        .unwrap();
        let problem = verify(db)
            .problem
            .expect("unreadable pending entry detected");
        assert!(problem.what.contains("illisible"), "{problem:?}");
        let why = integrity_alarm(audit::integrate(conn, 100, NOW));
        assert!(why.contains("illisible"), "{why}");
    });
}

#[test]
fn a_pending_entry_waiting_longer_than_the_bound_fails_verification() {
    each(|db| {
        populated(db, 1);
        let conn = &mut *db.db.conn().unwrap();
        let record = |conn: &mut DbConnection, at| {
            journal::record(
                conn,
                &AuditContext::system(),
                Event::new(Action::ExportMade),
                at,
            )
            .unwrap()
        };
        record(conn, NOW - Duration::seconds(899));
        assert_eq!(verify(db).problem, None, "within the bound");
        record(conn, NOW - Duration::seconds(901));
        let problem = verify(db).problem.expect("stuck integrator detected");
        assert!(problem.what.contains("plus de 900 s"), "{problem:?}");
        audit::integrate_all(conn, 100, NOW).unwrap();
        assert_eq!(verify(db).problem, None, "integrated: nothing waits");
    });
}

fn drop_checkpoint_delete_trigger(db: &TestDatabase) {
    db.execute_raw(match db.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_checkpoints_no_delete;",
        Backend::Postgres => "DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints;",
    })
    .unwrap();
}

#[test]
fn a_deleted_checkpoint_row_is_reported_from_the_journal_or_the_published_file() {
    each(|db| {
        populated(db, 6);
        let conn = &mut *db.db.conn().unwrap();
        audit::integrate_all(conn, 100, NOW).unwrap();
        let first = count(conn, "SELECT MIN(tree_size) AS n FROM audit_checkpoints").unwrap();
        drop_checkpoint_delete_trigger(db);
        // An early checkpoint: its own `checkpoint.signed` entry is in the tree.
        db.execute_raw(&format!(
            "DELETE FROM audit_checkpoints WHERE tree_size = {first}"
        ))
        .unwrap();
        let problem = verify(db).problem.expect("deleted checkpoint detected");
        assert!(
            problem
                .what
                .contains(&format!("taille {first} (journalisé)")),
            "{problem:?}"
        );
    });
    each(|db| {
        populated(db, 6);
        let conn = &mut *db.db.conn().unwrap();
        // A checkpoint whose own entry is still pending: only its file tells.
        journal::record(
            conn,
            &AuditContext::system(),
            Event::new(Action::ExportMade),
            NOW,
        )
        .unwrap();
        audit::integrate_all(conn, 100, NOW).unwrap();
        let latest = audit::sign_checkpoint(conn, &key(), false, NOW)
            .unwrap()
            .unwrap();
        drop_checkpoint_delete_trigger(db);
        db.execute_raw(&format!(
            "DELETE FROM audit_checkpoints WHERE tree_size = {}",
            latest.tree_size
        ))
        .unwrap();
        let report = audit::verify(
            &db.db,
            &[key().verifier()],
            &[latest.signed_note],
            &expect(),
        )
        .unwrap();
        let problem = report.problem.expect("deleted checkpoint detected");
        assert!(problem.what.contains("(publié)"), "{problem:?}");
    });
}

/// Drops the row triggers that keep mandates immutable, as a database superuser could.
fn drop_mandate_triggers(db: &TestDatabase) {
    db.execute_raw(match db.backend() {
        Backend::Sqlite => {
            "DROP TRIGGER mandates_are_immutable; DROP TRIGGER mandates_are_not_deleted; DROP TRIGGER authorizations_only_revoke; DROP TRIGGER authorizations_are_not_deleted;"
        }
        Backend::Postgres => {
            "DROP TRIGGER mandates_are_immutable ON mandates; DROP TRIGGER authorizations_only_revoke ON authorizations; DROP TRIGGER IF EXISTS mandates_no_truncate ON mandates; DROP TRIGGER IF EXISTS authorizations_no_truncate ON authorizations;"
        }
    })
    .unwrap();
}

fn seq_of(conn: &mut DbConnection, action: &str, target: &str) -> u64 {
    count(
        conn,
        &format!(
            "SELECT seq AS n FROM audit_log WHERE action = '{action}' AND target = '{target}'"
        ),
    )
    .unwrap() as u64
}

/// A mandate of two démarches, one of them revoked, all integrated: the tables agree with the
/// journal. Returns the mandate, the open and the revoked authorization.
fn mandate_with_a_revocation(db: &TestDatabase) -> (MandateId, AuthorizationId, AuthorizationId) {
    let conn = &mut *db.db.conn().unwrap();
    let w = world(conn);
    let plan = create(conn, &w, &[Demarche::Social, Demarche::Argent], NOW).unwrap();
    let m = plan.mandate;
    let (open, revoked) = (
        m.authorizations[0].id.clone(),
        m.authorizations[1].id.clone(),
    );
    mandates::revoke_authorization(
        conn,
        &w.aidant,
        &m.id,
        &revoked,
        mandates::RevocationConsent::OnScreen,
        &AuditContext::aidant(&w.aidant, None),
        NOW + Duration::hours(1),
    )
    .unwrap();
    audit::integrate_all(conn, 100, NOW).unwrap();
    let report = verify(db);
    assert!(report.is_intact(), "{report:?}");
    (m.id, open, revoked)
}

#[test]
fn a_mandate_extended_in_sql_is_named_with_the_entry_it_contradicts() {
    each(|db| {
        let (mandate, open, _) = mandate_with_a_revocation(db);
        drop_mandate_triggers(db);
        // Ten more years, on the mandate and (through the composite key) its authorizations.
        let later = "2037-03-10 14:30:00";
        db.execute_raw(&match db.backend() {
            Backend::Sqlite => format!(
                "PRAGMA foreign_keys = OFF; UPDATE mandates SET expires_at = '{later}' WHERE id = '{mandate}'; UPDATE authorizations SET expires_at = '{later}' WHERE mandate_id = '{mandate}'; PRAGMA foreign_keys = ON;"
            ),
            Backend::Postgres => format!(
                "SET session_replication_role = replica; UPDATE mandates SET expires_at = '{later}' WHERE id = '{mandate}'; UPDATE authorizations SET expires_at = '{later}' WHERE mandate_id = '{mandate}'; SET session_replication_role = origin;"
            ),
        })
        .unwrap();
        let report = verify(db);
        assert_eq!(report.problem, None, "the log itself is intact");
        let conn = &mut *db.db.conn().unwrap();
        let created = seq_of(conn, "mandate.created", mandate.as_str());
        let on_mandate = report
            .differences
            .iter()
            .find(|d| d.table == "mandates" && d.row == mandate.as_str())
            .expect("the mandate is named");
        assert_eq!(
            on_mandate.entry,
            Some(ac_audit::replay::EntryRef::Integrated(created))
        );
        assert!(on_mandate.what.contains("2037"), "{on_mandate}");
        assert!(
            report
                .differences
                .iter()
                .any(|d| d.table == "authorizations" && d.row == open.as_str()),
            "{:?}",
            report.differences
        );
    });
}

#[test]
fn an_undone_revocation_is_named_with_its_revocation_entry() {
    each(|db| {
        let (_, _, revoked) = mandate_with_a_revocation(db);
        drop_mandate_triggers(db);
        db.execute_raw(&format!(
            "UPDATE authorizations SET revoked_at = NULL, revocation_reason = NULL WHERE id = '{revoked}'"
        ))
        .unwrap();
        let report = verify(db);
        let conn = &mut *db.db.conn().unwrap();
        let revocation = seq_of(conn, "authorization.revoked", revoked.as_str());
        assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
        let d = &report.differences[0];
        assert_eq!(
            (d.table, d.row.as_str()),
            ("authorizations", revoked.as_str())
        );
        assert_eq!(
            d.entry,
            Some(ac_audit::replay::EntryRef::Integrated(revocation))
        );
        assert!(d.what.contains("révocation annulée"), "{d}");
    });
}

#[test]
fn wiped_mandate_rows_are_each_named_and_truncate_is_refused() {
    each(|db| {
        let (mandate, open, revoked) = mandate_with_a_revocation(db);
        if db.backend() == Backend::Postgres {
            for sql in [
                "TRUNCATE mandates CASCADE",
                "TRUNCATE authorizations CASCADE",
                "TRUNCATE usagers CASCADE",
            ] {
                let refused = format!("{:?}", db.execute_raw(sql).unwrap_err());
                assert!(refused.contains("never truncated"), "{sql}: {refused}");
            }
        }
        drop_mandate_triggers(db);
        db.execute_raw(match db.backend() {
            Backend::Sqlite => "PRAGMA foreign_keys = OFF; DELETE FROM authorizations; DELETE FROM mandate_verifications; DELETE FROM mandates; PRAGMA foreign_keys = ON;",
            Backend::Postgres => "TRUNCATE mandates CASCADE",
        })
        .unwrap();
        let report = verify(db);
        let mut named: Vec<(&str, &str)> = report
            .differences
            .iter()
            .map(|d| (d.table, d.row.as_str()))
            .collect();
        named.sort_unstable();
        let mut expected = vec![
            ("authorizations", open.as_str()),
            ("authorizations", revoked.as_str()),
            ("mandates", mandate.as_str()),
        ];
        expected.sort_unstable();
        assert_eq!(named, expected, "{:?}", report.differences);
        assert!(report.differences.iter().all(|d| d.entry.is_some()));
    });
}

/// Tree heads are read with the pages they cover, not all at once (docs/performance.md, "Audit
/// log: append and verify"): a head whose root was altered where no checkpoint speaks is still
/// met, and named.
#[test]
fn an_altered_tree_head_between_checkpoints_is_found() {
    each(|db| {
        let w = populated(db, 3);
        let conn = &mut *db.db.conn().unwrap();
        // Two more mandates integrated two entries at a time, with no checkpoint over them.
        for i in 0..2 {
            create(conn, &w, &[Demarche::ALL[i]], NOW + Duration::hours(1)).unwrap();
        }
        audit::integrate_all(conn, 2, NOW).unwrap();
        let size = count(
            conn,
            "SELECT MIN(tree_size) AS n FROM audit_heads WHERE tree_size > 0 \
             AND tree_size NOT IN (SELECT tree_size FROM audit_checkpoints)",
        )
        .unwrap();
        assert!(size > 0, "the log has a head no checkpoint speaks for");
        assert_eq!(verify(db).problem, None);
        let sql = match db.backend() {
            Backend::Sqlite => "DROP TRIGGER audit_heads_no_update;",
            Backend::Postgres => "DROP TRIGGER audit_heads_append_only ON audit_heads;",
        };
        db.execute_raw(sql).unwrap();
        db.execute_raw(&format!(
            "UPDATE audit_heads SET root_hash = (SELECT root_hash FROM audit_heads \
             WHERE tree_size = {size} + 1 OR tree_size > {size} ORDER BY tree_size LIMIT 1) \
             WHERE tree_size = {size}"
        ))
        .unwrap();
        let problem = verify(db).problem.expect("the altered head is found");
        assert!(problem.what.contains("tête d'arbre"), "{problem:?}");
        assert!(
            problem.what.contains(&format!("des {size} premières")),
            "{problem:?}"
        );
    });
}

/// Checkpoints are read and their signatures checked with the pages they cover, not all at once
/// (docs/performance.md, "Memory"): a checkpoint in the middle of the log re-signed with another
/// key, over the same size and root, is still refused, and named.
#[test]
fn a_checkpoint_re_signed_with_another_key_in_the_middle_of_the_log_is_found() {
    each(|db| {
        populated(db, 9);
        let conn = &mut *db.db.conn().unwrap();
        audit::integrate_all(conn, 100, NOW).unwrap();
        let size = count(
            conn,
            "SELECT tree_size AS n FROM audit_checkpoints ORDER BY tree_size LIMIT 1 OFFSET 1",
        )
        .unwrap();
        let genuine = audit::checkpoint(conn, size.try_into().unwrap())
            .unwrap()
            .unwrap();
        let forged = ac_audit::Checkpoint {
            origin: ORIGIN.into(),
            size: genuine.tree_size,
            root: genuine.root,
        }
        .sign(&SignerKey::from_seed(ORIGIN, [9; 32]).unwrap())
        .unwrap();
        assert_eq!(verify(db).problem, None);
        let sql = match db.backend() {
            Backend::Sqlite => "DROP TRIGGER audit_checkpoints_no_update;",
            Backend::Postgres => "DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints;",
        };
        db.execute_raw(sql).unwrap();
        db.execute_raw(&format!(
            "UPDATE audit_checkpoints SET signed_note = '{forged}' WHERE tree_size = {size}"
        ))
        .unwrap();
        let report = verify(db);
        let problem = report
            .problem
            .clone()
            .expect("the re-signed checkpoint is found");
        assert!(problem.what.contains("clé de confiance"), "{problem:?}");
        assert!(
            problem.what.contains(&format!("taille {size} ")),
            "{problem:?}"
        );
        // Found as the rebuild reached it, its earlier sizes met.
        assert_eq!(report.entries, u64::try_from(size).unwrap(), "{report:?}");
    });
}
