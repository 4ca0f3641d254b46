use ac_mandates::{FieldError, MandateError};
use thiserror::Error;

/// Storage failures. A rule refusal passes through unchanged, so callers match on the domain
/// error; everything else is the database's and gets a stable `STO` code.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("{code} URL de base de données non reconnue (attendu sqlite://CHEMIN ou postgres://…)", code = self.code())]
    UnknownScheme,
    #[error("{code} la base SQLite {0} n'existe pas : lancez `aidants-connect migrate` pour la créer", code = self.code())]
    MissingSqliteFile(String),
    #[error("{code} connexion à la base impossible", code = self.code())]
    Connect(#[source] diesel::ConnectionError),
    #[error("{code} pool de connexions indisponible", code = self.code())]
    Pool(#[source] diesel::r2d2::PoolError),
    #[error("{code} échec des migrations : {0}", code = self.code())]
    Migration(String),
    #[error("{code} erreur de la base de données", code = self.code())]
    Query(#[from] diesel::result::Error),
    #[error("{code} enregistrement introuvable", code = self.code())]
    NotFound,
    #[error("{code} une valeur identique existe déjà", code = self.code())]
    Conflict,
    #[error("{code} donnée stockée illisible : {0}", code = self.code())]
    Corrupt(String),
    /// The journal holds a row the service did not write where it writes (a foreign entry after
    /// the last tree head, a pending entry out of order or unreadable): integration stops.
    #[error("{code} intégrité du journal compromise : {0}", code = self.code())]
    JournalIntegrity(String),
    #[error(transparent)]
    Rule(#[from] MandateError),
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A connection could not be opened a moment ago: the database is down or unreachable.
    #[error("{code} base de données injoignable : {0}", code = self.code())]
    Unreachable(String),
    #[error("{code} impossible de créer le dossier de la base : {0}", code = self.code())]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Audit(#[from] ac_audit::AuditError),
    #[error(transparent)]
    Auth(#[from] ac_auth::AuthError),
}

impl StorageError {
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::UnknownScheme => "STO001",
            StorageError::MissingSqliteFile(_) => "STO002",
            StorageError::Connect(_) => "STO003",
            StorageError::Pool(_) => "STO004",
            StorageError::Migration(_) => "STO005",
            StorageError::Query(_) => "STO006",
            StorageError::NotFound => "STO007",
            StorageError::Conflict => "STO008",
            StorageError::Corrupt(_) => "STO009",
            StorageError::JournalIntegrity(_) => "STO011",
            StorageError::Rule(e) => e.code(),
            StorageError::Field(e) => e.code(),
            StorageError::Io(_) => "STO010",
            StorageError::Unreachable(_) => "STO012",
            StorageError::Audit(e) => e.code(),
            StorageError::Auth(e) => e.code(),
        }
    }

    /// The database could not be reached, or closed the connection under a query: nothing the
    /// request did is at fault, and trying again later may work.
    pub fn is_connection_lost(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            StorageError::Unreachable(_)
                | StorageError::Query(Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _
                ))
        )
    }

    /// Maps "no row" and unique violations to their own variants.
    pub(crate) fn from_query(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => StorageError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StorageError::Conflict,
            other => StorageError::Query(other),
        }
    }
}

/// Turns a stored value that no longer parses into a storage error rather than a panic.
pub(crate) fn corrupt(what: &str) -> impl FnOnce(FieldError) -> StorageError + '_ {
    move |e| StorageError::Corrupt(format!("{what}: {e}"))
}
