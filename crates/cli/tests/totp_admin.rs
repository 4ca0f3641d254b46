//! TOTP administration from the command line: enrolment with otpauth URI and QR code, card
//! import and hand-over, unlock, key generation. Real process, real database (both backends).

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

fn run(database_url: &str, dir: &Path, args: &[&str]) -> Output {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    Command::new(BIN)
        .current_dir(dir)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("AC__AUTH__TOTP_KEY_FILE", dir.join("keys/totp.key"))
        .env("RUST_LOG", "error")
        .output()
        .expect("run aidants-connect")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn totp_devices_are_enrolled_imported_assigned_and_unlocked() {
    for db in TestDatabase::each().unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let url = db.url.expose();
        let d = dir.path();
        let structure = ok(run(
            &url,
            d,
            &[
                "structure",
                "add",
                "--name",
                "Médiathèque",
                "--kind",
                "bibliotheque",
                "--address",
                "2 rue de Siam",
                "--departement",
                "29",
                "--siret",
                "13002526500013",
            ],
        ));
        let structure = structure.trim().rsplit(' ').next().unwrap().to_owned();

        // An app at creation: the otpauth URI as text and a QR code file for its owner only.
        let out = ok(run(
            &url,
            d,
            &[
                "aidant",
                "add",
                "--email",
                "lea@brest.example",
                "--first-name",
                "Léa",
                "--last-name",
                "Guével",
                "--profession",
                "Médiatrice",
                "--structure",
                &structure,
                "--totp-app",
            ],
        ));
        assert!(
            out.contains("otpauth://totp/Aidants%20Connect:lea%40brest.example?secret="),
            "{out}"
        );
        assert!(out.contains("&period=30"));
        let svg = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".svg"))
            .expect("a QR code file")
            .path();
        assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&svg).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let mode = std::fs::metadata(d.join("keys/totp.key"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(
                mode, 0o600,
                "the key file is generated for its owner only (dev)"
            );
        }

        // Cards: import from CSV, hand one over at creation, refuse a second import.
        std::fs::write(
            d.join("cartes.csv"),
            "serial,seed\nGALT-0001,3132333435363738393031323334353637383930\nGALT-0002,00112233445566778899aabbccddeeff00112233\n",
        )
        .unwrap();
        let out = ok(run(&url, d, &["aidant", "import-cards", "cartes.csv"]));
        assert!(out.contains("Cartes importées : 2."), "{out}");
        let again = run(&url, d, &["aidant", "import-cards", "cartes.csv"]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("rien n'a été importé"));
        ok(run(
            &url,
            d,
            &[
                "aidant",
                "add",
                "--email",
                "yann@brest.example",
                "--first-name",
                "Yann",
                "--last-name",
                "Le Goff",
                "--profession",
                "Agent",
                "--structure",
                &structure,
                "--card",
                "GALT-0001",
            ],
        ));
        let out = ok(run(
            &url,
            d,
            &["aidant", "assign-card", "lea@brest.example", "GALT-0002"],
        ));
        assert!(out.contains("Carte GALT-0002 remise"), "{out}");
        let taken = run(
            &url,
            d,
            &["aidant", "assign-card", "lea@brest.example", "GALT-0001"],
        );
        assert!(!taken.status.success(), "a card is handed over once");

        // Unlock: lock Léa's devices behind the application's back, then unlock them.
        db.execute_raw(
            "UPDATE totp_devices SET failures = 10, locked_at = '2026-11-22 09:00:00' WHERE aidant_id IS NOT NULL",
        )
        .unwrap();
        let out = ok(run(&url, d, &["aidant", "unlock", "lea@brest.example"]));
        assert!(out.contains("Appareils déverrouillés : 2."), "{out}");
        let out = ok(run(&url, d, &["aidant", "unlock", "lea@brest.example"]));
        assert!(out.contains("Appareils déverrouillés : 0."), "{out}");

        // The key is never overwritten.
        let out = run(&url, d, &["auth", "keygen"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("AUT101"));
    }
}
