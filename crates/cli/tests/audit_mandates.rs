//! `audit verify` holds the mandate tables to the journal: the real binary, on the demonstration
//! data, exits non-zero and names the row when a mandate is extended behind the service's back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_storage::Backend;
use ac_storage::testing::TestDatabase;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_aidants-connect");

fn run(url: &str, dir: &Path, args: &[&str]) -> Output {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    Command::new(BIN)
        .current_dir(dir)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

#[test]
fn audit_verify_names_a_mandate_extended_in_sql_and_exits_non_zero() {
    for db in TestDatabase::each().unwrap() {
        let url = db.url.expose();
        // Its own folder: keys, outbox and checkpoints of the dev configuration land here.
        let dir = tempfile::tempdir().unwrap();
        let ok = |args: &[&str]| {
            let out = run(&url, dir.path(), args);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        ok(&["demo", "load"]);
        ok(&["audit", "checkpoint"]);
        assert!(ok(&["audit", "verify"]).contains("Journal intègre"));

        let mandate = {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Id {
                #[diesel(sql_type = diesel::sql_types::Text)]
                id: String,
            }
            diesel::sql_query("SELECT id FROM mandates ORDER BY id LIMIT 1")
                .get_result::<Id>(&mut *db.db.conn().unwrap())
                .unwrap()
                .id
        };
        db.execute_raw(&match db.backend() {
            Backend::Sqlite => format!(
                "DROP TRIGGER mandates_are_immutable; PRAGMA foreign_keys = OFF; UPDATE mandates SET expires_at = '2037-01-01 00:00:00' WHERE id = '{mandate}'; PRAGMA foreign_keys = ON;"
            ),
            Backend::Postgres => format!(
                "DROP TRIGGER mandates_are_immutable ON mandates; SET session_replication_role = replica; UPDATE mandates SET expires_at = '2037-01-01 00:00:00' WHERE id = '{mandate}'; SET session_replication_role = origin;"
            ),
        })
        .unwrap();
        let out = run(&url, dir.path(), &["audit", "verify"]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(stderr.contains("AUD107"), "{stderr}");
        assert!(
            stdout.lines().any(|l| l
                .starts_with(&format!("mandates {mandate} : expire le 2037-01-01"))
                && l.contains("(entrée ")),
            "{stdout}"
        );
    }
}
