//! `aidants-connect retention` as an operator uses it, on both backends: the report counts what
//! a run would delete and deletes nothing; a run killed with SIGKILL in the middle leaves every
//! batch whole (each deleted mandate journaled, no permit left, no orphan row), holds its lease
//! until it expires, and the next run finishes the work; `audit verify` passes after it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_mandates::*;
use ac_storage::journal::AuditContext;
use ac_storage::mandates::NewMandate;
use ac_storage::testing::{TestDatabase, aidant_of, count, structure};
use ac_storage::{aidants, mandates, organisations, usagers};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::macros::datetime;

const BIN: &str = env!("CARGO_BIN_EXE_aidants-connect");
/// Long enough ago that every mandate given then is past its year of retention.
const THEN: OffsetDateTime = datetime!(2020-01-06 10:00 UTC);
const PEOPLE: usize = 400;

fn command(url: &str, dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .args(["--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml"))
        .args(args)
        .env("DATABASE_URL", url)
        // Small batches, so the kill lands between many of them.
        .env("AC__RETENTION__BATCH", "2")
        .env("AC__AUDIT__SIGNING_KEY_FILE", dir.join("keys/audit.key"))
        .env("AC__AUDIT__CHECKPOINT_DIR", dir.join("checkpoints"))
        .env("RUST_LOG", "error");
    command
}

fn output(url: &str, dir: &Path, args: &[&str]) -> Output {
    command(url, dir, args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One structure and `PEOPLE` people, each with a one-year mandate given at `THEN`.
fn old_mandates(db: &TestDatabase) {
    let conn = &mut *db.db.conn().unwrap();
    let ctx = AuditContext::cli();
    let org = OrganisationId::new("o1");
    organisations::insert(conn, &structure("o1", "Médiathèque").unwrap(), &ctx, THEN).unwrap();
    let aidant = AidantId::new("a1");
    aidants::insert(
        conn,
        &aidant_of("a1", "camille@exemple.fr".parse().unwrap(), &org),
        &ctx,
        THEN,
    )
    .unwrap();
    for person in 0..PEOPLE {
        let subject = format!("{person:064x}");
        let identity = ac_storage::testing::pivot_identity();
        let (usager, _) =
            usagers::upsert_identified(conn, &subject, &identity, &ctx, THEN).unwrap();
        mandates::create(
            conn,
            &NewMandate {
                aidant: &aidant,
                organisation: &org,
                usager: &usager.id,
                demarches: &[Demarche::Social, Demarche::Logement],
                duration: MandateDuration::OneYear,
                legal_text_version: "2026-01",
                renewal_of: None,
            },
            &ctx,
            THEN,
        )
        .unwrap();
    }
}

fn n(db: &TestDatabase, sql: &str) -> i64 {
    count(&mut db.db.conn().unwrap(), sql).unwrap()
}

/// Every batch whole: each mandate gone has its journal entry, its authorizations and its
/// person went with it, and no permit survived.
fn assert_consistent(db: &TestDatabase) {
    let kept = n(db, "SELECT COUNT(*) AS n FROM mandates");
    let journaled = n(
        db,
        "SELECT (SELECT COUNT(*) FROM audit_pending WHERE entry LIKE '%\"mandate.deleted\"%') \
         + (SELECT COUNT(*) FROM audit_log WHERE action = 'mandate.deleted') AS n",
    );
    assert_eq!(kept + journaled, PEOPLE as i64, "deleted = journaled");
    assert_eq!(n(db, "SELECT COUNT(*) AS n FROM authorizations"), 2 * kept);
    assert_eq!(n(db, "SELECT COUNT(*) AS n FROM usagers"), kept);
    assert_eq!(n(db, "SELECT COUNT(*) AS n FROM retention_permits"), 0);
}

#[test]
fn a_run_killed_midway_leaves_whole_batches_and_the_next_run_finishes() {
    for db in TestDatabase::each().unwrap() {
        eprintln!("backend: {:?}", db.backend());
        let url = db.url.expose();
        let dir = tempfile::tempdir().unwrap();
        old_mandates(&db);

        let report = output(&url, dir.path(), &["retention", "report"]);
        assert!(report.status.success(), "{}", text(&report.stderr));
        let said = text(&report.stdout);
        assert!(
            said.contains(&format!(
                "Mandats supprimés (mois de fin du mandat) : {PEOPLE}"
            )),
            "{said}"
        );
        assert!(
            said.contains("2021-01"),
            "by month of the mandates' end: {said}"
        );
        assert_eq!(
            n(&db, "SELECT COUNT(*) AS n FROM mandates"),
            PEOPLE as i64,
            "a report deletes nothing"
        );

        // A run, killed once it has deleted some but far from all.
        let mut child = command(&url, dir.path(), &["retention", "run"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            let kept = n(&db, "SELECT COUNT(*) AS n FROM mandates");
            if kept < (PEOPLE as i64) - 20 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the run never started deleting"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let left = n(&db, "SELECT COUNT(*) AS n FROM mandates");
        assert!(left > 0, "killed before the end ({left} left)");
        assert_consistent(&db);

        // The dead run still holds the lease: a new one is refused until it expires.
        let refused = output(&url, dir.path(), &["retention", "run"]);
        assert!(!refused.status.success());
        assert!(
            text(&refused.stderr).contains("RET001"),
            "{}",
            text(&refused.stderr)
        );
        db.execute_raw("UPDATE job_leases SET expires_at = '2000-01-01 00:00:00'")
            .unwrap();

        let resumed = output(&url, dir.path(), &["retention", "run"]);
        assert!(resumed.status.success(), "{}", text(&resumed.stderr));
        assert!(
            text(&resumed.stdout).contains(&format!("Mandats supprimés : {left}")),
            "{}",
            text(&resumed.stdout)
        );
        assert_eq!(n(&db, "SELECT COUNT(*) AS n FROM mandates"), 0);
        assert_consistent(&db);

        // The journal, integrated and signed, still verifies against the emptied tables.
        assert!(
            output(&url, dir.path(), &["audit", "keygen"])
                .status
                .success()
        );
        let signed = output(&url, dir.path(), &["audit", "checkpoint"]);
        assert!(signed.status.success(), "{}", text(&signed.stderr));
        let verified = output(&url, dir.path(), &["audit", "verify"]);
        assert!(
            verified.status.success(),
            "{}{}",
            text(&verified.stdout),
            text(&verified.stderr)
        );
    }
}
