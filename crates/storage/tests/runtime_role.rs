//! Least privilege on PostgreSQL: the role `serve` runs as, given its grants by `migrate`, does
//! the service's work but can neither change the schema, disable a trigger, truncate, nor update
//! or delete what the audit and mandate tables keep. Runs when AC_TEST_DATABASE_URL is set (the
//! roles are PostgreSQL's); on SQLite, granting is refused with a clear message.

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
use ac_storage::testing::{TestDatabase, aidant_of, pivot_identity, structure};
use ac_storage::{Backend, aidants, audit, migrations, organisations, usagers};
use diesel::connection::SimpleConnection;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-22 09:00:10 UTC);

#[test]
fn the_runtime_role_serves_but_cannot_rewrite_history_or_the_schema() {
    for db in TestDatabase::each().unwrap() {
        if db.backend() == Backend::Sqlite {
            let refused = migrations::grant_runtime_role(&mut db.db.conn().unwrap(), "ac_runtime");
            assert!(format!("{refused:?}").contains("PostgreSQL"), "{refused:?}");
            continue;
        }
        let role = db.runtime_role().unwrap();
        let runtime = role.db().unwrap();
        let conn = &mut *runtime.conn().unwrap();
        assert!(runtime.ping().is_ok(), "readiness");
        {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Who {
                #[diesel(sql_type = diesel::sql_types::Text)]
                who: String,
            }
            let who: Who = diesel::sql_query("SELECT current_user::text AS who")
                .get_result(conn)
                .unwrap();
            assert_eq!(who.who, role.name, "connected as the runtime role");
        }
        assert_eq!(migrations::pending(conn).unwrap(), Vec::<String>::new());

        // The service's work, as the runtime role.
        let ctx = AuditContext::cli();
        let org = OrganisationId::new("o1");
        organisations::insert(conn, &structure("o1", "Médiathèque").unwrap(), &ctx, NOW).unwrap();
        let aidant = AidantId::new("a1");
        let camille = aidant_of("a1", "camille@exemple.fr".parse().unwrap(), &org);
        aidants::insert(conn, &camille, &ctx, NOW).unwrap();
        let (usager, _) =
            usagers::upsert_identified(conn, &"e".repeat(64), &pivot_identity(), &ctx, NOW)
                .unwrap();
        let as_aidant = AuditContext::aidant(&aidant, None);
        let m = ac_storage::mandates::create(
            conn,
            &NewMandate {
                aidant: &aidant,
                organisation: &org,
                usager: &usager.id,
                demarches: &[Demarche::Social, Demarche::Argent],
                duration: MandateDuration::OneYear,
                legal_text_version: "2026-01",
                renewal_of: None,
            },
            &as_aidant,
            NOW,
        )
        .unwrap()
        .mandate;
        ac_storage::mandates::revoke_authorization(
            conn,
            &aidant,
            &m.id,
            &m.authorizations[0].id,
            RevocationConsent::OnScreen,
            &as_aidant,
            NOW,
        )
        .unwrap();
        let key = SignerKey::from_seed("aidants-connect.test/audit", [7; 32]).unwrap();
        audit::integrate_all(conn, 100, NOW).unwrap();
        audit::sign_checkpoint(conn, &key, false, NOW)
            .unwrap()
            .unwrap();
        audit::integrate_all(conn, 100, NOW).unwrap();
        let report = audit::verify(
            runtime,
            &[key.verifier()],
            &[],
            &audit::Expectations::new(NOW, time::Duration::minutes(15)),
        )
        .unwrap();
        assert!(report.is_intact(), "{report:?}");
        ac_storage::purge::expired(conn, time::Duration::hours(1), NOW).unwrap();

        // What it may not do, each refused by PostgreSQL's privileges.
        for sql in [
            "ALTER TABLE audit_log DISABLE TRIGGER ALL",
            "ALTER TABLE mandates DISABLE TRIGGER mandates_are_immutable",
            "ALTER TABLE authorizations DISABLE TRIGGER USER",
            "TRUNCATE audit_log",
            "TRUNCATE mandates CASCADE",
            "DELETE FROM audit_log",
            "DELETE FROM audit_checkpoints",
            "UPDATE audit_heads SET integrated_at = integrated_at",
            "UPDATE audit_pending SET entry = entry",
            "UPDATE mandates SET expires_at = expires_at",
            "DELETE FROM authorizations",
            "DELETE FROM __diesel_schema_migrations",
            "CREATE TABLE intruder (id INT)",
            "DROP TABLE audit_verifications",
            "CREATE FUNCTION intruder() RETURNS INT LANGUAGE sql AS 'SELECT 1'",
        ] {
            let refused = format!("{:?}", conn.batch_execute(sql).unwrap_err());
            assert!(
                refused.contains("permission denied") || refused.contains("must be owner"),
                "{sql}: {refused}"
            );
        }
        // A revocation is the one UPDATE authorizations takes (the trigger checks its shape).
        assert!(
            conn.batch_execute(&format!(
                "UPDATE authorizations SET revoked_at = '2026-11-23 00:00:00', revocation_reason = 'revoked' WHERE id = '{}'",
                m.authorizations[1].id
            ))
            .is_ok()
        );
    }
}
