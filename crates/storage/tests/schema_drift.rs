//! `schema.rs` must describe exactly what the migrations build, on both backends: every table,
//! every column, in order, and nothing more. A migration changed without `schema.rs` (or the
//! reverse) fails here instead of at the first query that touches the difference.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_storage::schema::*;
use ac_storage::testing::TestDatabase;
use ac_storage::{Backend, DbConnection};
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::collections::BTreeMap;

/// Column names of a `table!`, read from the SQL diesel generates for `SELECT` of all columns.
macro_rules! declared {
    ($($table:ident),* $(,)?) => {{
        let mut tables = BTreeMap::new();
        $(
            let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(
                &$table::table.select($table::all_columns),
            )
            .to_string();
            let list = sql.split(" FROM ").next().unwrap().trim_start_matches("SELECT ");
            let columns: Vec<String> = list
                .split(", ")
                .map(|c| c.rsplit('.').next().unwrap().trim_matches('`').to_owned())
                .collect();
            tables.insert(stringify!($table).to_owned(), columns);
        )*
        tables
    }};
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// What the migrated database holds, table by table, columns in declaration order.
fn actual(conn: &mut DbConnection, backend: Backend) -> BTreeMap<String, Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations' \
             ORDER BY m.name, p.cid"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '__diesel_schema_migrations' ORDER BY table_name, ordinal_position"
        }
    };
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in diesel::sql_query(sql).load::<Column>(conn).unwrap() {
        tables.entry(c.table_name).or_default().push(c.column_name);
    }
    tables
}

#[test]
fn schema_rs_matches_the_migrations_on_both_backends() {
    let declared = declared!(
        organisations,
        organisation_demarches,
        aidants,
        aidant_organisations,
        coordinator_scopes,
        usagers,
        mandates,
        authorizations,
        audit_pending,
        audit_log,
        audit_heads,
        audit_checkpoints,
        auth_sign_in_links,
        totp_devices,
        auth_sessions,
        auth_rate_limits,
        franceconnect_logins,
        audit_verifications,
        oidc_clients,
        oidc_signing_keys,
        oidc_authorization_codes,
        oidc_access_tokens,
        oidc_answered_requests,
        mandate_consents,
        mandate_verifications,
        mail_outbox,
        expiry_reminders,
        retention_permits,
        retired_verification_codes,
        job_leases,
        aide_logins,
        aide_sessions,
    );
    for db in TestDatabase::each().unwrap() {
        let actual = actual(&mut db.db.conn().unwrap(), db.backend());
        for (table, columns) in &actual {
            assert_eq!(
                declared.get(table),
                Some(columns),
                "{:?}: table {table} differs from schema.rs",
                db.backend()
            );
        }
        for table in declared.keys() {
            assert!(
                actual.contains_key(table),
                "{:?}: schema.rs declares {table}, no migration creates it",
                db.backend()
            );
        }
    }
}
