//! `demo load` outside dev mode: the real binary, on a production configuration, refuses before
//! it opens anything, and the database stays empty.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_storage::testing::{TestDatabase, count};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_aidants-connect");

fn config(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn demo_load_is_refused_outside_dev_mode_with_a_clear_message() {
    for db in TestDatabase::each().unwrap() {
        let url = db.url.expose();
        // Its own folder: nothing the refused command might create is shared with other tests.
        let scratch = tempfile::tempdir().unwrap();
        let run = |config_file: &str| {
            Command::new(BIN)
                .current_dir(scratch.path())
                .args(["--config", &config(config_file), "demo", "load"])
                .env("DATABASE_URL", &url)
                .env("RUST_LOG", "error")
                .output()
                .unwrap()
        };
        let out = run("production.example.toml");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("DEM001") && stderr.contains("mode dev"),
            "{stderr}"
        );
        let conn = &mut *db.db.conn().unwrap();
        for table in ["organisations", "aidants", "totp_devices", "mandates"] {
            assert_eq!(
                count(conn, &format!("SELECT COUNT(*) AS n FROM {table}")).unwrap(),
                0,
                "{table}"
            );
        }
        assert_eq!(
            std::fs::read_dir(scratch.path()).unwrap().count(),
            0,
            "no key or folder created"
        );

        // The same command in dev mode loads (so the refusal above is the mode, not the setup).
        let out = run("default.toml");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(count(conn, "SELECT COUNT(*) AS n FROM organisations").unwrap() > 0);
    }
}
