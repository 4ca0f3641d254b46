//! Choosing and opening the database: the URL scheme picks the backend, and nothing else does.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::StorageError;

/// One connection to either backend. Queries written against it run on both; where the
/// backends differ, code matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Which engine a database runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `DATABASE_URL`: `sqlite://PATH` or `postgres://…` / `postgresql://…`. Any other
/// scheme is refused rather than guessed, so a typo never creates a stray SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for DatabaseUrl {
    type Err = StorageError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StorageError::UnknownScheme);
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_owned()))
        } else {
            Err(StorageError::UnknownScheme)
        }
    }
}

impl DatabaseUrl {
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL as it was given, password included: for the `DATABASE_URL` of a child process
    /// (tests, benches). Never log it; `Display` and `Debug` redact the password.
    pub fn expose(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

/// Never prints a PostgreSQL password.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => {
                let host = url.rsplit_once('@').map_or(url.as_str(), |(_, host)| host);
                let scheme = url.split_once("://").map_or("postgres", |(s, _)| s);
                write!(f, "{scheme}://…@{host}")
            }
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Whether opening may create a missing SQLite file. Only `migrate` (and tests) create one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    MustExist,
    CreateIfMissing,
}

#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// How long SQLite waits for another writer before giving up.
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Per-connection SQLite settings. Foreign keys are off by default in SQLite and must be switched
/// on per connection. `synchronous = NORMAL` in WAL mode never corrupts the database and keeps
/// each action atomic with its journal entry; a power loss may drop the last commits, both
/// together (see docs/operations.md). WAL itself is a property of the file, set once in `open`.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u128,
}

impl CustomizeConnection<Checked, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut Checked) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(conn) = &mut conn.conn {
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                self.busy_timeout_ms
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// How long a connection that answered is trusted without asking again. diesel's manager pings
/// (`SELECT 1`) at every checkout: a whole round trip, about one in five of a delegated flow's
/// statements. Asking at most once per interval still finds a connection the server dropped
/// (restart, failover): for at most this long, a request on it fails with a database error;
/// the first checkout after that pings, fails, and r2d2 opens a new connection instead.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// A pooled connection and when it last answered a ping (or was opened).
struct Checked {
    conn: DbConnection,
    answered_at: Instant,
}

/// How long a database that refused a connection is taken for down: meanwhile a checkout that
/// finds no idle connection fails at once (and the web layer answers 503 with `Retry-After`)
/// instead of every request waiting the whole connect timeout. One checkout per period tries
/// again.
pub const DOWN_FOR: Duration = Duration::from_secs(5);

/// How often a waiting checkout looks whether the database was found down meanwhile.
const DOWN_POLL: Duration = Duration::from_millis(50);

/// What the pool knows of the database: reachable, or down since a connection attempt failed.
#[derive(Debug, Default)]
struct Health {
    down: Mutex<Option<Down>>,
}

#[derive(Debug)]
struct Down {
    cause: String,
    /// Until then, checkouts fail fast; the first one after it tries a connection again.
    retry_at: Instant,
}

impl Health {
    fn state(&self) -> std::sync::MutexGuard<'_, Option<Down>> {
        // The flag is a plain value: a thread that panicked holding it left nothing half-done.
        self.down.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn connected(&self) {
        if self.state().take().is_some() {
            tracing::warn!("database reachable again");
        }
    }

    fn failed(&self, error: &diesel::ConnectionError) {
        let cause = error.to_string().trim().to_owned();
        let mut down = self.state();
        if down.is_none() {
            // Once per outage: the attempts that follow it say nothing new.
            tracing::error!(code = "STO012", error = %cause, "database unreachable: a connection could not be opened");
        }
        *down = Some(Down {
            cause,
            retry_at: Instant::now()
                .checked_add(DOWN_FOR)
                .unwrap_or_else(Instant::now),
        });
    }

    /// The cause while the database is known down.
    fn known_down(&self) -> Option<String> {
        self.state()
            .as_ref()
            .filter(|d| Instant::now() < d.retry_at)
            .map(|d| d.cause.clone())
    }

    /// Like [`Self::known_down`], except that once the period is over the caller is let through
    /// to try again, alone: the others keep failing fast for another period meanwhile.
    fn down_unless_retrying(&self) -> Option<String> {
        let mut down = self.state();
        let d = down.as_mut()?;
        let now = Instant::now();
        if now < d.retry_at {
            return Some(d.cause.clone());
        }
        d.retry_at = now.checked_add(DOWN_FOR).unwrap_or(now);
        None
    }
}

/// Opens connections of one backend (named, so a failure says why: diesel's `MultiConnection`
/// only reports "invalid connection url" when every backend refused), and pings a pooled
/// connection at checkout only if it has not answered within [`TRUSTED_FOR`].
struct Manager {
    url: String,
    backend: Backend,
    health: Arc<Health>,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

fn establish(backend: Backend, url: &str) -> Result<DbConnection, diesel::ConnectionError> {
    match backend {
        Backend::Sqlite => SqliteConnection::establish(url).map(DbConnection::Sqlite),
        Backend::Postgres => PgConnection::establish(url).map(DbConnection::Pg),
    }
}

impl ManageConnection for Manager {
    type Connection = Checked;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Checked, Self::Error> {
        match establish(self.backend, &self.url) {
            Ok(conn) => {
                self.health.connected();
                Ok(Checked {
                    conn,
                    answered_at: Instant::now(),
                })
            }
            Err(error) => {
                self.health.failed(&error);
                Err(diesel::r2d2::Error::ConnectionError(error))
            }
        }
    }

    fn is_valid(&self, checked: &mut Checked) -> Result<(), Self::Error> {
        if checked.answered_at.elapsed() < TRUSTED_FOR {
            return Ok(());
        }
        checked
            .conn
            .ping()
            .map_err(diesel::r2d2::Error::QueryError)?;
        checked.answered_at = Instant::now();
        Ok(())
    }

    fn has_broken(&self, checked: &mut Checked) -> bool {
        checked.conn.is_broken()
    }
}

/// A connection checked out of the pool; it goes back when dropped.
pub struct Pooled(PooledConnection<Manager>);

impl Deref for Pooled {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.0.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0.conn
    }
}

/// How long [`Database::spare_conn`] waits for a connection the pool said it could open.
const SPARE_WAIT: Duration = Duration::from_millis(200);

/// A connection pool on one database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool<Manager>,
    backend: Backend,
    health: Arc<Health>,
    connect_timeout: Duration,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    pub fn open(
        url: &DatabaseUrl,
        mode: OpenMode,
        options: &PoolOptions,
    ) -> Result<Self, StorageError> {
        let connection_string = match url {
            DatabaseUrl::Sqlite(path) => sqlite_path(path, mode)?,
            DatabaseUrl::Postgres(url) => url.clone(),
        };
        // Fail fast with the real cause (r2d2 alone would only report a timeout), and switch the
        // file to WAL once, before several pooled connections race to do it.
        let mut first =
            establish(url.backend(), &connection_string).map_err(StorageError::Connect)?;
        if let DbConnection::Sqlite(conn) = &mut first {
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
                options.sqlite_busy_timeout.as_millis()
            ))?;
        }
        drop(first);
        let health = Arc::new(Health::default());
        let manager = Manager {
            url: connection_string,
            backend: url.backend(),
            health: health.clone(),
        };
        let pool = Pool::builder()
            .max_size(options.max_connections)
            // Connections open on demand, never on r2d2's background thread: a command that exits
            // while that thread is inside libpq's connect gets killed by a signal (seen in tests).
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout)
            .connection_customizer(Box::new(SqlitePragmas {
                busy_timeout_ms: options.sqlite_busy_timeout.as_millis(),
            }))
            .build(manager)
            .map_err(StorageError::Pool)?;
        Ok(Self {
            pool,
            backend: url.backend(),
            health,
            connect_timeout: options.connect_timeout,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection, waiting for one at most the connect timeout; at once
    /// [`StorageError::Unreachable`] while the database is known down (a connection already
    /// open and idle is still handed out: it may well work).
    pub fn conn(&self) -> Result<Pooled, StorageError> {
        if let Some(cause) = self.health.down_unless_retrying() {
            return self
                .pool
                .try_get()
                .map(Pooled)
                .ok_or(StorageError::Unreachable(cause));
        }
        let started = Instant::now();
        loop {
            match self.pool.get_timeout(DOWN_POLL) {
                Ok(conn) => return Ok(Pooled(conn)),
                Err(timeout) => {
                    if let Some(cause) = self.health.known_down() {
                        return Err(StorageError::Unreachable(cause));
                    }
                    if started.elapsed() >= self.connect_timeout {
                        return Err(StorageError::Pool(timeout));
                    }
                }
            }
        }
    }

    /// One more connection for work that can also run on fewer (parallel reads): `None` when
    /// the pool is at its size with none idle, or the connection cannot be had at once, rather
    /// than waiting for another user to give one back.
    pub fn spare_conn(&self) -> Option<Pooled> {
        if self.health.known_down().is_some() {
            return None;
        }
        let state = self.pool.state();
        if state.idle_connections == 0 && state.connections >= self.pool.max_size() {
            return None;
        }
        self.pool.get_timeout(SPARE_WAIT).ok().map(Pooled)
    }

    /// A cheap round trip that also proves the schema is there, for `/readyz`.
    pub fn ping(&self) -> Result<(), StorageError> {
        self.conn()?
            .batch_execute("SELECT 1 FROM __diesel_schema_migrations LIMIT 1")
            .map_err(StorageError::Query)
    }
}

fn sqlite_path(path: &Path, mode: OpenMode) -> Result<String, StorageError> {
    match mode {
        OpenMode::MustExist if !path.exists() => {
            return Err(StorageError::MissingSqliteFile(path.display().to_string()));
        }
        OpenMode::CreateIfMissing => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
        }
        OpenMode::MustExist => {}
    }
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| StorageError::MissingSqliteFile(path.display().to_string()))
}

/// Runs `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write
/// lock up front: a deferred transaction that reads and then writes fails with "database is
/// locked" under concurrent writers instead of waiting (measured in BUILD-NOTES.md).
pub fn write<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(inner) => AnsiTransactionManager::begin_transaction(inner)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(error)
        }
    }
}

/// Runs `f` in the caller's transaction if one is open, else in a write transaction of its own
/// ([`write`]): for writes that must commit together whether the step around them holds a
/// transaction (SQLite) or writes statement by statement (PostgreSQL, `oidc_writes`).
pub(crate) fn write_or_join<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let open =
        <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .is_some();
    if open { f(conn) } else { write(conn, f) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_schemes_are_accepted() {
        assert_eq!(
            "sqlite://var/aidants.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("var/aidants.db"))
        );
        assert_eq!(
            "sqlite:///tmp/x.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert!(matches!(
            "postgresql://u@h/db".parse(),
            Ok(DatabaseUrl::Postgres(_))
        ));
        for bad in [
            "sqlite:var/x.db",
            "sqlit://x.db",
            "mysql://h/db",
            "var/x.db",
            "",
            "sqlite://",
        ] {
            assert!(
                matches!(bad.parse::<DatabaseUrl>(), Err(StorageError::UnknownScheme)),
                "{bad}"
            );
        }
    }

    #[test]
    fn postgres_password_never_printed() {
        let url: DatabaseUrl = "postgres://app:s3cret@db.internal:5432/ac".parse().unwrap();
        let shown = format!("{url:?} {url}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.internal:5432/ac"));
    }

    #[test]
    fn a_database_found_down_fails_fast_and_one_caller_at_a_time_tries_again() {
        let health = Health::default();
        assert_eq!(health.known_down(), None);
        assert_eq!(health.down_unless_retrying(), None);
        let refused = diesel::ConnectionError::BadConnection("Connection refused".into());
        health.failed(&refused);
        assert_eq!(health.known_down().as_deref(), Some("Connection refused"));
        assert!(health.down_unless_retrying().is_some(), "within the period");
        // The period over: the first caller goes through to try, the next ones still fail fast.
        if let Some(down) = health.state().as_mut() {
            down.retry_at = Instant::now();
        }
        assert_eq!(health.down_unless_retrying(), None);
        assert!(health.down_unless_retrying().is_some());
        health.connected();
        assert_eq!(health.known_down(), None);
    }

    #[test]
    fn a_missing_sqlite_file_is_not_created_by_accident() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.db");
        let url = DatabaseUrl::Sqlite(path.clone());
        let err = Database::open(&url, OpenMode::MustExist, &PoolOptions::default()).unwrap_err();
        assert!(matches!(err, StorageError::MissingSqliteFile(_)));
        assert!(!path.exists());
    }
}
