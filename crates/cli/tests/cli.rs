//! The binary as an administrator uses it: real process, real database, French output.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_storage::testing::TestDatabase;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_aidants-connect");

fn config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/default.toml")
        .display()
        .to_string()
}

/// Where the commands run: relative paths of the dev config (keys, outbox, checkpoints under
/// `var/`) land in a temporary folder, never in the source tree; one per test (its thread), so
/// tests running in parallel never share a `var/`.
fn scratch() -> std::path::PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().expect("scratch folder");
    }
    DIR.with(|dir| dir.path().to_owned())
}

fn run(database_url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(scratch())
        .args(["--config", &config()])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("run aidants-connect")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unknown_database_schemes_and_missing_files_are_refused_without_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("aidnats.db");

    let out = run(&format!("sqlit://{}", typo.display()), &["migrate"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("CFG002"), "{}", stderr(&out));

    for command in [&["serve"][..], &["demo", "load"], &["structure", "list"]] {
        let out = run(&format!("sqlite://{}", typo.display()), command);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        assert!(stderr(&out).contains("STO002"), "{}", stderr(&out));
    }
    assert!(!typo.exists(), "no stray SQLite file");

    let out = run(&format!("sqlite://{}", typo.display()), &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(typo.exists());
}

#[test]
fn bad_configuration_stops_start_up_with_a_clear_message() {
    let out = Command::new(BIN)
        .current_dir(scratch())
        .args(["--config", &config(), "migrate"])
        .env("AC__SERVER__MAX_BODY_BYTE", "10")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("max_body_byte"), "{}", stderr(&out));

    let out = Command::new(BIN)
        .current_dir(scratch())
        .args(["--config", "/nonexistent.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CFG001"), "{}", stderr(&out));
}

#[test]
fn structures_and_aidants_are_administered_from_the_command_line() {
    for db in TestDatabase::each().unwrap() {
        let url = db.url.expose();
        let out = run(
            &url,
            &[
                "structure",
                "add",
                "--name",
                "Médiathèque de Brest",
                "--kind",
                "bibliotheque",
                "--address",
                "2 rue de Siam, 29200 Brest",
                "--departement",
                "29",
                "--siret",
                "13002526500013",
                "--demarche",
                "social",
                "--demarche",
                "logement",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let id = stdout(&out).trim().rsplit(' ').next().unwrap().to_owned();

        let refused = run(
            &url,
            &[
                "structure",
                "add",
                "--name",
                "X",
                "--kind",
                "bibliotheque",
                "--address",
                "Y",
                "--departement",
                "29",
                "--siret",
                "13002526500014",
            ],
        );
        assert_eq!(refused.status.code(), Some(1));
        assert!(stderr(&refused).contains("MND103"), "{}", stderr(&refused));
        let refused = run(
            &url,
            &[
                "structure",
                "add",
                "--name",
                "X",
                "--kind",
                "mairie",
                "--address",
                "Y",
                "--departement",
                "29",
                "--siret",
                "13002526500013",
            ],
        );
        assert!(stderr(&refused).contains("MND109"), "{}", stderr(&refused));

        let listed = stdout(&run(&url, &["structure", "list"]));
        assert_eq!(
            listed.lines().count(),
            1,
            "refused structures were not written: {listed}"
        );
        assert!(listed.contains("Médiathèque de Brest") && listed.contains("social,logement"));

        let out = run(
            &url,
            &["structure", "set-allowed", &id, "--demarche", "argent"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&run(&url, &["structure", "list"])).contains("\targent"));
        assert!(
            stdout(&run(&url, &["structure", "list"])).contains("\trenouvellement:franceconnect"),
            "re-identification to renew by default"
        );
        let out = run(
            &url,
            &["structure", "set-renewal", &id, "--identification", "non"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&run(&url, &["structure", "list"]))
                .contains("\trenouvellement:sans-identification")
        );
        let out = run(
            &url,
            &[
                "structure",
                "set-renewal",
                &id,
                "--identification",
                "peut-etre",
            ],
        );
        assert!(!out.status.success(), "only oui or non");
        let out = run(
            &url,
            &["structure", "set-allowed", &id, "--demarche", "impots"],
        );
        assert!(stderr(&out).contains("MND107"));

        let add = |email: &str| {
            run(
                &url,
                &[
                    "aidant",
                    "add",
                    "--email",
                    email,
                    "--first-name",
                    "Léa",
                    "--last-name",
                    "Guével",
                    "--profession",
                    "Médiatrice numérique",
                    "--structure",
                    &id,
                    "--referent-of",
                    &id,
                ],
            )
        };
        let out = add("Lea.Guevel@Brest.example");
        assert!(out.status.success(), "{}", stderr(&out));
        let dup = add("lea.guevel@brest.example");
        assert_eq!(dup.status.code(), Some(1));
        assert!(stderr(&dup).contains("STO008"), "{}", stderr(&dup));
        let bad = add("pas-une-adresse");
        assert!(stderr(&bad).contains("MND101"), "{}", stderr(&bad));

        let listed = stdout(&run(&url, &["aidant", "list", "--structure", &id]));
        assert!(
            listed.contains("lea.guevel@brest.example")
                && listed.contains("aidant+référent\tactif"),
            "{listed}"
        );
        // Coordination given, then taken back whole.
        let coordination = |args: &[&str]| {
            let mut all = vec!["aidant", "coordination", "lea.guevel@brest.example"];
            all.extend_from_slice(args);
            run(&url, &all)
        };
        let out = coordination(&["--coordinator-departement", "29"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&run(&url, &["aidant", "list"])).contains("aidant+référent+coordination\tactif")
        );
        assert!(
            !coordination(&["--coordinator-departement", "999"])
                .status
                .success()
        );
        let out = coordination(&[]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&run(&url, &["aidant", "list"])).contains("aidant+référent\tactif"));
        let out = run(&url, &["aidant", "coordination", "personne@brest.example"]);
        assert!(!out.status.success());

        let out = run(&url, &["aidant", "deactivate", "LEA.GUEVEL@brest.example"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&run(&url, &["aidant", "list"])).contains("\tinactif"));

        let out = run(&url, &["demo", "load"]);
        assert!(
            stdout(&out).contains("rien n'a été chargé"),
            "demo data never mixes with real data"
        );
    }
}

#[test]
fn demo_load_fills_an_empty_database() {
    for db in TestDatabase::each().unwrap() {
        let url = db.url.expose();
        let out = run(&url, &["demo", "load"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("13 structures"), "{}", stdout(&out));
        assert_eq!(
            stdout(&run(&url, &["structure", "list"])).lines().count(),
            13
        );
    }
}

/// Runs the binary with the audit key and checkpoints in `dir`.
fn run_audit(database_url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(scratch())
        .args(["--config", &config()])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("AC__AUDIT__SIGNING_KEY_FILE", dir.join("keys/audit.key"))
        .env("AC__AUDIT__CHECKPOINT_DIR", dir.join("checkpoints"))
        .env("RUST_LOG", "error")
        .output()
        .expect("run aidants-connect")
}

#[test]
fn the_audit_log_is_verified_proved_and_exported_from_the_command_line() {
    for db in TestDatabase::each().unwrap() {
        let url = db.url.expose();
        let dir = tempfile::tempdir().unwrap();
        let audit = |args: &[&str]| run_audit(&url, dir.path(), args);

        let keygen = audit(&["audit", "keygen"]);
        assert!(keygen.status.success(), "{}", stderr(&keygen));
        let public = stdout(&keygen)
            .lines()
            .find_map(|l| l.strip_prefix("Clé publique (à publier) : "))
            .unwrap()
            .to_owned();
        let again = audit(&["audit", "keygen"]);
        assert_eq!(again.status.code(), Some(1));
        assert!(
            stderr(&again).contains("AUD103"),
            "a key is never overwritten"
        );

        assert!(audit(&["demo", "load"]).status.success());
        let signed = audit(&["audit", "checkpoint"]);
        assert!(signed.status.success(), "{}", stderr(&signed));
        assert!(dir.path().join("checkpoints/latest").exists());

        let verified = audit(&["audit", "verify"]);
        assert!(verified.status.success(), "{}", stderr(&verified));
        assert!(
            stdout(&verified).contains("Journal intègre"),
            "{}",
            stdout(&verified)
        );

        let proof = audit(&["audit", "prove", "3"]);
        assert!(proof.status.success(), "{}", stderr(&proof));
        let proof_file = dir.path().join("proof.json");
        std::fs::write(&proof_file, &proof.stdout).unwrap();
        // Offline: only the public key, no database.
        let offline = run_audit(
            "sqlite:///nonexistent/none.db",
            dir.path(),
            &[
                "audit",
                "verify-proof",
                proof_file.to_str().unwrap(),
                "--key",
                &public,
            ],
        );
        assert!(offline.status.success(), "{}", stderr(&offline));
        assert!(
            stdout(&offline).contains("Preuve valide : l'entrée 3"),
            "{}",
            stdout(&offline)
        );
        // One hash flipped.
        let mut bundle: serde_json::Value = serde_json::from_slice(&proof.stdout).unwrap();
        let first = bundle["proof"][0].as_str().unwrap().to_owned();
        let flipped = format!(
            "{}{}",
            if first.starts_with('f') { "0" } else { "f" },
            &first[1..]
        );
        bundle["proof"][0] = serde_json::Value::String(flipped);
        std::fs::write(&proof_file, bundle.to_string()).unwrap();
        let refused = audit(&[
            "audit",
            "verify-proof",
            proof_file.to_str().unwrap(),
            "--key",
            &public,
        ]);
        assert_eq!(refused.status.code(), Some(1));
        assert!(stderr(&refused).contains("AUD106"), "{}", stderr(&refused));

        let export = audit(&[
            "audit",
            "export",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
        ]);
        assert!(export.status.success(), "{}", stderr(&export));
        let lines = stdout(&export).lines().count();
        assert!(lines > 50, "{lines} entries exported");
        assert!(
            stdout(&export)
                .lines()
                .all(|l| l.starts_with('{') && l.contains("\"seq\":"))
        );

        // Tampering with one entry's text makes `audit verify` fail and name it.
        db.execute_raw(ac_storage::testing::drop_audit_log_guards(db.backend()))
            .unwrap();
        db.execute_raw("UPDATE audit_log SET entry = entry || ' ' WHERE seq = 7")
            .unwrap();
        let tampered = audit(&["audit", "verify"]);
        assert_eq!(tampered.status.code(), Some(1));
        assert!(
            stderr(&tampered).contains("AUD104") && stderr(&tampered).contains(": 7 —"),
            "{}",
            stderr(&tampered)
        );
    }
}

/// The command line speaks French to an administrator who mistypes, like the rest of the
/// service, and exits with status 2; its help is in French too.
#[test]
fn command_line_mistakes_and_help_are_in_french() {
    let out = Command::new(BIN)
        .current_dir(scratch())
        .args(["structure", "ajouter-nimporte-quoi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("erreur : commande inconnue « ajouter-nimporte-quoi »"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Pour l'aide : aidants-connect structure --help")
            || stderr.contains("Pour l'aide :"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Usage:") && !stderr.contains("error:"),
        "{stderr}"
    );

    let out = Command::new(BIN).args(["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Utilisation :") && help.contains("Commandes"),
        "{help}"
    );
    assert!(
        !help.contains("Print help") && !help.contains("Usage:"),
        "{help}"
    );
}
