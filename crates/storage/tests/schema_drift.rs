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
        aide_notification_preferences,
        receipts,
        receipt_report_tokens,
        receipt_reports,
        remote_consents,
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

/// The tables the retention job deletes rows from (crates/storage/src/retention).
const DELETED_BY_RETENTION: [&str; 6] = [
    "mandates",
    "authorizations",
    "usagers",
    "mandate_verifications",
    "oidc_authorization_codes",
    "oidc_access_tokens",
];

/// One column of a foreign key (`name` its constraint) or of an index (`name` the index), at
/// position `ord`; `parent` is the table a foreign key refers to (empty for an index).
#[derive(QueryableByName)]
struct KeyColumn {
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    col: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    ord: i64,
}

/// `(table, name) → (parent, columns in order)`.
fn keys(conn: &mut DbConnection, sql: &str) -> BTreeMap<(String, String), (String, Vec<String>)> {
    let mut rows = diesel::sql_query(sql).load::<KeyColumn>(conn).unwrap();
    rows.sort_by_key(|r| r.ord);
    let mut keys: BTreeMap<(String, String), (String, Vec<String>)> = BTreeMap::new();
    for r in rows {
        keys.entry((r.tbl, r.name))
            .or_insert_with(|| (r.parent, Vec::new()))
            .1
            .push(r.col);
    }
    keys
}

/// Deleting a row makes the database look up the rows that refer to it (the foreign key's
/// check), and the retention job looks them up itself: without an index on the referring
/// columns, each lookup reads the whole table (docs/performance.md "Retention").
#[test]
fn every_reference_to_a_row_retention_deletes_is_indexed() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        let (foreign_keys, indexes) = match db.backend() {
            Backend::Sqlite => (
                "SELECT m.name AS tbl, CAST(f.id AS TEXT) AS name, f.\"table\" AS parent, \
                   f.\"from\" AS col, f.seq AS ord \
                 FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
                "SELECT m.name AS tbl, l.name AS name, '' AS parent, \
                   COALESCE(i.name, '(expression)') AS col, i.seqno AS ord \
                 FROM sqlite_master m JOIN pragma_index_list(m.name) l JOIN pragma_index_info(l.name) i \
                 WHERE m.type = 'table'",
            ),
            Backend::Postgres => (
                "SELECT c.conrelid::regclass::text AS tbl, c.conname::text AS name, \
                   c.confrelid::regclass::text AS parent, a.attname::text AS col, k.ord AS ord \
                 FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                 WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
                "SELECT t.relname::text AS tbl, i.relname::text AS name, '' AS parent, \
                   a.attname::text AS col, k.ord AS ord \
                 FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid \
                 JOIN pg_class i ON i.oid = x.indexrelid \
                 CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE t.relnamespace = current_schema()::regnamespace",
            ),
        };
        let foreign_keys = keys(conn, foreign_keys);
        let indexes = keys(conn, indexes);
        let mut checked = 0;
        for ((table, _), (parent, columns)) in &foreign_keys {
            if !DELETED_BY_RETENTION.contains(&parent.as_str()) {
                continue;
            }
            checked += 1;
            // An index that starts with one of the key's columns makes the lookup a search
            // (`authorizations (mandate_id)` serves its four-column key to `mandates`).
            let indexed = indexes.iter().any(|((t, _), (_, index))| {
                t == table && index.first().is_some_and(|first| columns.contains(first))
            });
            assert!(
                indexed,
                "{:?}: {table} ({}) refers to {parent} without an index that starts with one of those columns",
                db.backend(),
                columns.join(", ")
            );
        }
        assert!(
            checked >= 10,
            "{:?}: only {checked} references found",
            db.backend()
        );
    }
}
