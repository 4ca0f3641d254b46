//! Migrations are embedded in the binary: one tree per backend, with the same folder names.
//!
//! On PostgreSQL two roles are supported (docs/operations.md, "Database roles"): the owner runs
//! `migrate` and owns every table; the runtime role that `serve` connects as gets only the
//! privileges the service needs ([`grant_runtime_role`]), so it cannot change the schema,
//! disable a trigger (only an owner may `ALTER TABLE`), truncate, or update or delete the rows
//! the audit and mandate tables keep forever.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel::{OptionalExtension, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::backend::DbConnection;
use crate::error::StorageError;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRESQL: EmbeddedMigrations = embed_migrations!("../../migrations/postgresql");

/// Applies pending migrations; returns the names of those applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, StorageError> {
    let applied = match conn {
        DbConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE),
        DbConnection::Pg(conn) => conn.run_pending_migrations(POSTGRESQL),
    }
    .map_err(|e| StorageError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// The versions of the embedded migrations not applied yet, read without creating anything:
/// diesel's own check first creates its bookkeeping table, which the runtime role may not do.
pub fn pending(conn: &mut DbConnection) -> Result<Vec<String>, StorageError> {
    #[derive(diesel::QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let applied: Vec<String> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load::<Applied>(conn)
        .map_err(|e| StorageError::Migration(e.to_string()))?
        .into_iter()
        .map(|a| a.version)
        .collect();
    let embedded: Vec<String> = match conn {
        DbConnection::Sqlite(_) => MigrationSource::<Sqlite>::migrations(&SQLITE)
            .map(|all| all.iter().map(|m| m.name().version().to_string()).collect()),
        DbConnection::Pg(_) => MigrationSource::<Pg>::migrations(&POSTGRESQL)
            .map(|all| all.iter().map(|m| m.name().version().to_string()).collect()),
    }
    .map_err(|e| StorageError::Migration(e.to_string()))?;
    Ok(embedded
        .into_iter()
        .filter(|v| !applied.contains(v))
        .collect())
}

/// Tables whose rows are written once and never updated or deleted by the service (their
/// triggers refuse it too; the missing privilege refuses it even with a trigger disabled).
const APPEND_ONLY: &[&str] = &["audit_log", "audit_heads", "audit_checkpoints", "mandates"];

/// Whether `role` is a plain PostgreSQL identifier (grants cannot take it as a parameter).
pub fn is_role_name(role: &str) -> bool {
    let mut chars = role.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && role.len() <= 63
}

/// Gives `role` what `serve` needs on the current schema, and nothing more: SELECT, INSERT,
/// UPDATE and DELETE on the working tables; on the audit tables and `mandates`, SELECT and
/// INSERT only; on `audit_pending`, no UPDATE (the integrator deletes what it integrated);
/// on `authorizations`, no DELETE (a revocation is an UPDATE); on the migrations' bookkeeping,
/// SELECT (readiness); EXECUTE on the two retention functions, the only way it deletes a
/// mandate or redacts an audit entry (migrations/postgresql/2026-12-07-000001_retention). No TRUNCATE, no DDL: the role owns nothing. Refused for a superuser or
/// the connected (owner) role, which would bypass all of it. Run by `migrate` after the
/// migrations, so tables added later get their grants too. PostgreSQL only.
pub fn grant_runtime_role(conn: &mut DbConnection, role: &str) -> Result<(), StorageError> {
    let DbConnection::Pg(pg) = conn else {
        return Err(StorageError::Migration(
            "database.runtime_role ne s'applique qu'à PostgreSQL".into(),
        ));
    };
    if !is_role_name(role) {
        return Err(StorageError::Migration(format!(
            "database.runtime_role « {role} » n'est pas un nom de rôle simple (minuscules, chiffres, _)"
        )));
    }
    #[derive(diesel::QueryableByName)]
    struct Role {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        rolsuper: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        is_owner: bool,
    }
    let found: Option<Role> = diesel::sql_query(
        "SELECT rolsuper, rolname = current_user AS is_owner FROM pg_roles WHERE rolname = $1",
    )
    .bind::<diesel::sql_types::Text, _>(role)
    .get_result(pg)
    .optional()
    .map_err(|e| StorageError::Migration(e.to_string()))?;
    match found {
        None => {
            return Err(StorageError::Migration(format!(
                "le rôle d'exécution « {role} » n'existe pas : créez-le (CREATE ROLE {role} LOGIN) avant `migrate`"
            )));
        }
        Some(r) if r.rolsuper || r.is_owner => {
            return Err(StorageError::Migration(format!(
                "le rôle d'exécution « {role} » est superutilisateur ou propriétaire des tables : il contournerait les protections"
            )));
        }
        Some(_) => {}
    }
    let append_only = APPEND_ONLY.join(", ");
    pg.batch_execute(&format!(
        r#"DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO "{role}"', current_schema()); END $$;
        DO $$ BEGIN EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO "{role}"', current_schema()); END $$;
        DO $$ BEGIN EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO "{role}"', current_schema()); END $$;
        REVOKE UPDATE, DELETE, TRUNCATE ON {append_only} FROM "{role}";
        REVOKE UPDATE, TRUNCATE ON audit_pending FROM "{role}";
        REVOKE DELETE, TRUNCATE ON authorizations FROM "{role}";
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON __diesel_schema_migrations FROM "{role}";
        GRANT EXECUTE ON FUNCTION retention_delete_mandates(TEXT, TEXT, TIMESTAMP) TO "{role}";
        GRANT EXECUTE ON FUNCTION retention_redact_journal(BIGINT, TIMESTAMP, INTEGER, TIMESTAMP) TO "{role}";"#
    ))
    .map_err(|e| StorageError::Migration(e.to_string()))
}
