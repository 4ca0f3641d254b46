//! `client` and `keys` as an administrator uses them: real process, real database (SQLite, and
//! PostgreSQL when AC_TEST_DATABASE_URL is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_auth::TokenHash;
use ac_storage::testing::TestDatabase;
use ac_storage::{oidc_clients, oidc_keys};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_aidants-connect");

fn run(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    Command::new(BIN)
        .current_dir(dir)
        .args(["--config", &config.display().to_string()])
        .args(args)
        .env("DATABASE_URL", database_url)
        // Production-like: the key ring must be made with `keys keygen`.
        .env("AC__PROVIDER__GENERATE_MISSING_KEY", "false")
        .env("RUST_LOG", "error")
        .output()
        .expect("run aidants-connect")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn keys_are_rotated_and_clients_registered_and_replaced_with_secrets_shown_once() {
    for db in TestDatabase::each().unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let url = db.url.expose();
        let out = run(dir.path(), &url, &["keys", "rotate"]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("keys keygen"),
            "{}",
            text(&out.stderr)
        );

        let out = run(dir.path(), &url, &["keys", "keygen"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let again = run(dir.path(), &url, &["keys", "keygen"]);
        assert!(!again.status.success(), "never overwritten");

        // First rotation: a current key and a published next one.
        let out = run(dir.path(), &url, &["keys", "rotate"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let conn = &mut *db.db.conn().unwrap();
        let states: Vec<&str> = oidc_keys::list(conn)
            .unwrap()
            .iter()
            .map(|k| k.state.as_str())
            .collect();
        assert_eq!(states, ["current", "next"]);
        let out = run(dir.path(), &url, &["keys", "rotate"]);
        assert!(text(&out.stdout).contains("Signe désormais"));
        let states: Vec<&str> = oidc_keys::list(conn)
            .unwrap()
            .iter()
            .map(|k| k.state.as_str())
            .collect();
        assert_eq!(states, ["retired", "current", "next"]);
        let out = run(dir.path(), &url, &["keys", "rotate", "--alg", "RS256"]);
        assert!(text(&out.stderr).contains("--rsa-key"));
        let pem = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../oidc/src/op/testdata/rsa-2048.pem")
            .display()
            .to_string();
        let out = run(
            dir.path(),
            &url,
            &["keys", "rotate", "--alg", "RS256", "--rsa-key", &pem],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let listed = text(&run(dir.path(), &url, &["keys", "list"]).stdout);
        assert_eq!(listed.lines().count(), 4, "{listed}");
        assert!(listed.contains("RS256\tcurrent"));

        let out = run(
            dir.path(),
            &url,
            &[
                "client",
                "add",
                "--id",
                "franceconnect",
                "--name",
                "FranceConnect",
                "--redirect-uri",
                "https://fc.example/api/v2/oidc-callback",
                "--post-logout-redirect-uri",
                "https://fc.example/api/v2/logout-callback",
                "--scope",
                "profile",
                "--scope",
                "birth",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let secret = stdout.lines().last().unwrap().trim().to_owned();
        assert_eq!(secret.len(), 43);
        let stored = oidc_clients::get(conn, "franceconnect").unwrap().unwrap();
        assert_eq!(
            stored.secret_hash,
            TokenHash::of(secret.as_bytes()).as_str()
        );
        assert_eq!(stored.sealed_secret, None, "kept only for HS256 clients");
        assert_eq!(stored.allowed_scopes, ["openid", "profile", "birth"]);
        let listed = text(&run(dir.path(), &url, &["client", "list"]).stdout);
        assert!(listed.contains("franceconnect") && !listed.contains(&secret));

        let out = run(
            dir.path(),
            &url,
            &[
                "client",
                "add",
                "--id",
                "fc-v1",
                "--name",
                "FranceConnect v1",
                "--redirect-uri",
                "https://fc.example/v1/callback",
                "--id-token-alg",
                "HS256",
                "--userinfo",
                "json",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let legacy = oidc_clients::get(conn, "fc-v1").unwrap().unwrap();
        let sealed = legacy.sealed_secret.unwrap();
        let secret = text(&out.stdout).lines().last().unwrap().trim().to_owned();
        assert!(!sealed.contains(&secret), "sealed, not in clear");

        for bad in [
            &["--redirect-uri", "https://fc.example/cb#fragment"][..],
            &[
                "--redirect-uri",
                "https://fc.example/cb",
                "--id-token-alg",
                "none",
            ],
            &[
                "--redirect-uri",
                "https://fc.example/cb",
                "--scope",
                "phone",
            ],
        ] {
            let mut args = vec!["client", "add", "--id", "other", "--name", "Autre"];
            args.extend_from_slice(bad);
            let out = run(dir.path(), &url, &args);
            assert!(!out.status.success(), "{bad:?}");
        }
        let out = run(dir.path(), &url, &["client", "disable", "franceconnect"]);
        assert!(out.status.success());
        assert!(
            oidc_clients::get_active(conn, "franceconnect")
                .unwrap()
                .is_none()
        );

        // A new registration for the same id: new addresses and a new secret, active again.
        let replace = |id: &str| {
            run(
                dir.path(),
                &url,
                &[
                    "client",
                    "replace",
                    "--id",
                    id,
                    "--name",
                    "FranceConnect",
                    "--redirect-uri",
                    "https://fc.example/api/v2/new-callback",
                ],
            )
        };
        let before = oidc_clients::get(conn, "franceconnect").unwrap().unwrap();
        let out = replace("franceconnect");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let new_secret = text(&out.stdout).lines().last().unwrap().trim().to_owned();
        let stored = oidc_clients::get_active(conn, "franceconnect")
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.secret_hash,
            TokenHash::of(new_secret.as_bytes()).as_str()
        );
        assert_ne!(
            stored.secret_hash, before.secret_hash,
            "the old secret is void"
        );
        assert_eq!(
            stored.redirect_uris,
            ["https://fc.example/api/v2/new-callback"]
        );
        let out = replace("nobody");
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("client add"),
            "{}",
            text(&out.stderr)
        );
    }
}
