//! Migrations are embedded in the binary: one tree per backend, with the same folder names.

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
