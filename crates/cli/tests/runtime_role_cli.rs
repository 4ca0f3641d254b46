//! `migrate` as the owner grants the runtime role its privileges; the everyday commands then run
//! as that role. The real binary, on PostgreSQL (the roles are PostgreSQL's); on SQLite the
//! setting is refused at start-up.

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

fn run(dir: &Path, url: &str, role: Option<&str>, args: &[&str]) -> Output {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "error");
    if let Some(role) = role {
        command.env("AC__DATABASE__RUNTIME_ROLE", role);
    }
    command.output().unwrap()
}

#[test]
fn migrate_grants_the_runtime_role_and_the_commands_run_as_it() {
    for db in TestDatabase::each().unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let owner = db.url.expose();
        if db.backend() == Backend::Sqlite {
            let out = run(dir.path(), &owner, Some("ac_runtime"), &["migrate"]);
            assert_eq!(out.status.code(), Some(2));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("database.runtime_role"), "{stderr}");
            continue;
        }
        let role = db.login_role().unwrap();
        let runtime = role.url.expose();
        // Before the grants, the role can read nothing.
        let out = run(dir.path(), &runtime, None, &["structure", "list"]);
        assert_eq!(out.status.code(), Some(1));

        let out = run(dir.path(), &owner, Some(&role.name), &["migrate"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("« {} » accordés", role.name)),
            "{stdout}"
        );

        // The everyday commands, as the runtime role: demo data, a checkpoint, a verification.
        for args in [
            &["demo", "load"][..],
            &["audit", "checkpoint"],
            &["audit", "verify"],
            &["structure", "list"],
        ] {
            let out = run(dir.path(), &runtime, None, args);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A runtime role that would bypass every protection is refused.
        let out = run(dir.path(), &owner, Some("postgres"), &["migrate"]);
        assert_eq!(out.status.code(), Some(1), "a superuser is refused");
        assert!(String::from_utf8_lossy(&out.stderr).contains("superutilisateur"));
    }
}
