//! Fresh databases for tests: a SQLite file in a temporary folder always, and a PostgreSQL schema
//! too when `AC_TEST_DATABASE_URL` is set. The same test body runs on each.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use rand::Rng;
use std::fmt;

use ac_auth::TokenHash;
use ac_mandates::AidantId;
use time::{Duration, OffsetDateTime};

use crate::{
    Backend, Database, DatabaseUrl, DbConnection, OpenMode, PoolOptions, StorageError, migrations,
    sessions,
};

/// Environment variable naming the PostgreSQL server tests may use.
pub const TEST_DATABASE_URL: &str = "AC_TEST_DATABASE_URL";

/// A migrated, empty database that disappears with the value.
pub struct TestDatabase {
    /// The pool the code under test uses: the schema's owner, or on PostgreSQL a runtime role
    /// (see [`TestDatabase::each_as_runtime_role`]).
    pub db: Database,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    pg_cleanup: Option<(String, String)>,
    /// The owner's pool, when `db` is a runtime role's: raw SQL that tampers goes through it.
    owner: Option<Database>,
    /// Declared after `db`, so the role's pool is closed before the role is dropped.
    runtime: Option<RuntimeRole>,
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestDatabase({:?})", self.db.backend())
    }
}

impl TestDatabase {
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    pub fn sqlite() -> Result<Self, StorageError> {
        let dir = tempfile::tempdir()?;
        let url = DatabaseUrl::Sqlite(dir.path().join("test.db"));
        let db = Database::open(&url, OpenMode::CreateIfMissing, &PoolOptions::default())?;
        migrations::run_pending(&mut *db.conn()?)?;
        Ok(Self {
            db,
            url,
            _dir: Some(dir),
            pg_cleanup: None,
            owner: None,
            runtime: None,
        })
    }

    /// A new schema on the server, used through `search_path`, so tests never see each other.
    pub fn postgres(server_url: &str) -> Result<Self, StorageError> {
        let schema = format!("t_{:016x}", rand::rng().random::<u64>());
        let mut admin = PgConnection::establish(server_url).map_err(StorageError::Connect)?;
        admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
        let separator = if server_url.contains('?') { '&' } else { '?' };
        let url: DatabaseUrl =
            format!("{server_url}{separator}options=-csearch_path%3D{schema}").parse()?;
        let db = Database::open(&url, OpenMode::MustExist, &PoolOptions::default())?;
        migrations::run_pending(&mut *db.conn()?)?;
        Ok(Self {
            db,
            url,
            _dir: None,
            pg_cleanup: Some((server_url.to_owned(), schema)),
            owner: None,
            runtime: None,
        })
    }

    /// Like [`TestDatabase::each`], but on PostgreSQL the code under test connects as a runtime
    /// role given only `migrate`'s grants (docs/operations.md, "Database roles"), as `serve` does
    /// in production; [`TestDatabase::execute_raw`] still runs as the owner.
    pub fn each_as_runtime_role() -> Result<Vec<Self>, StorageError> {
        Self::each()?
            .into_iter()
            .map(|db| match db.backend() {
                Backend::Sqlite => Ok(db),
                Backend::Postgres => db.into_runtime_role(),
            })
            .collect()
    }

    fn into_runtime_role(mut self) -> Result<Self, StorageError> {
        let role = self.runtime_role()?;
        let runtime = role.db()?.clone();
        self.url = role.url.clone();
        self.owner = Some(std::mem::replace(&mut self.db, runtime));
        self.runtime = Some(role);
        Ok(self)
    }

    /// One fresh database per available backend: SQLite, then PostgreSQL when configured.
    /// With `CI=true`, PostgreSQL is mandatory, so a CI run can never silently skip it.
    pub fn each() -> Result<Vec<Self>, StorageError> {
        let mut all = vec![Self::sqlite()?];
        match std::env::var(TEST_DATABASE_URL) {
            Ok(url) if !url.is_empty() => all.push(Self::postgres(&url)?),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                return Err(StorageError::Migration(format!(
                    "{TEST_DATABASE_URL} must be set when CI=true"
                )));
            }
            _ => {}
        }
        Ok(all)
    }
}

/// A session as a completed sign-in leaves it (link and TOTP done) at `at`, with the default
/// lifetime (`auth.session_max_lifetime_secs`, 10 hours): for tests and benches that start from a
/// signed-in aidant. `hash` is the session token's SHA-256, as sign-in stores it.
pub fn signed_in_session(
    conn: &mut DbConnection,
    hash: &TokenHash,
    aidant: &AidantId,
    at: OffsetDateTime,
) -> Result<(), StorageError> {
    sessions::insert(
        conn,
        hash,
        aidant,
        sessions::STAGE_ACTIVE,
        at + Duration::hours(10),
        at,
    )
}

/// A structure of département 29 that allows every démarche: the tests' usual one.
pub fn structure(id: &str, name: &str) -> Result<ac_mandates::Organisation, StorageError> {
    use ac_mandates::{Demarche, Organisation, OrganisationId, OrganisationKind};
    Ok(Organisation {
        id: OrganisationId::new(id),
        name: name.to_owned(),
        kind: OrganisationKind::Bibliotheque,
        address: "1 rue de la Paix".into(),
        departement: "29".parse()?,
        siret: "13002526500013".parse()?,
        allowed_demarches: Demarche::ALL.into_iter().collect(),
        is_active: true,
        renewal_requires_identification: true,
    })
}

/// An active aidant of `organisation` only, who may create mandates and is référent nowhere.
pub fn aidant_of(
    id: &str,
    email: ac_mandates::Email,
    organisation: &ac_mandates::OrganisationId,
) -> ac_mandates::Aidant {
    ac_mandates::Aidant {
        id: AidantId::new(id),
        email,
        first_name: "Camille".into(),
        last_name: "Martin".into(),
        profession: "Médiatrice".into(),
        organisations: std::collections::BTreeSet::from([organisation.clone()]),
        current_organisation: organisation.clone(),
        can_create_mandates: true,
        referent_of: std::collections::BTreeSet::new(),
        coordinator_scopes: vec![],
        is_active: true,
    }
}

/// Angela DUBOIS's identité pivot, the tests' usual aidé.
pub fn pivot_identity() -> ac_mandates::PivotIdentity {
    ac_mandates::PivotIdentity {
        given_name: "Angela".into(),
        family_name: "DUBOIS".into(),
        birthdate: time::macros::date!(1962 - 08 - 24),
        gender: ac_mandates::Gender::Female,
        birthplace: Some("75107".into()),
        birthcountry: ac_mandates::FRANCE_INSEE_CODE.into(),
        email: None,
        preferred_username: None,
    }
}

/// The value of a one-row, one-column query whose column is named `n` (`SELECT COUNT(*) AS n …`),
/// for tests that check what the application wrote.
pub fn count(conn: &mut DbConnection, sql: &str) -> Result<i64, StorageError> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
}

impl TestDatabase {
    /// Runs raw SQL, for tests that tamper with the database behind the application's back.
    /// A batch that fails inside a transaction it opened is rolled back, so the connection goes
    /// back to the pool usable.
    pub fn execute_raw(&self, sql: &str) -> Result<(), StorageError> {
        let mut conn = self.owner.as_ref().unwrap_or(&self.db).conn()?;
        conn.batch_execute(sql).map_err(|e| {
            let _ = conn.batch_execute("ROLLBACK");
            StorageError::Query(e)
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server_url, schema)) = self.pg_cleanup.take() {
            // Best effort: a leftover schema is harmless and named t_… for manual cleanup.
            if let Ok(mut admin) = PgConnection::establish(&server_url) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// SQL that removes `audit_log`'s guards against UPDATE and DELETE (as a superuser could), for
/// tests that tamper with integrated entries and expect verification to catch it.
pub fn drop_audit_log_guards(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "DROP TRIGGER audit_log_only_redaction; DROP TRIGGER audit_log_no_delete;"
        }
        Backend::Postgres => {
            "DROP TRIGGER audit_log_only_redaction ON audit_log; DROP TRIGGER audit_log_no_delete ON audit_log;"
        }
    }
}

/// Writes a well-formed entry straight into `audit_log` at the next position, as someone with
/// INSERT on the table but without the signing key would: for tests of the integrity alarm.
/// Returns its sequence number.
pub fn forge_row_after_last_head(conn: &mut DbConnection) -> Result<u64, StorageError> {
    use crate::schema::audit_log;
    use diesel::{ExpressionMethods, RunQueryDsl};
    let next = count(conn, "SELECT COALESCE(MAX(seq) + 1, 0) AS n FROM audit_log")?;
    let at = ac_audit::canonical_time(OffsetDateTime::UNIX_EPOCH)?;
    let entry = ac_audit::Entry {
        seq: u64::try_from(next).map_err(|_| StorageError::Corrupt("negative seq".into()))?,
        at,
        action: ac_audit::Action::ExportMade,
        actor: ac_audit::Actor::system(),
        organisation_id: None,
        usager: None,
        demarche: None,
        client_id: None,
        target: Some("forged".into()),
        request_id: None,
        details: Default::default(),
    };
    let text = String::from_utf8(entry.canonical_bytes()?)
        .map_err(|_| StorageError::Corrupt("canonical entry is not UTF-8".into()))?;
    let leaf = ac_audit::merkle::leaf_hash(text.as_bytes());
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::seq.eq(next),
            audit_log::pending_id.eq(i64::MAX),
            audit_log::entry.eq(&text),
            audit_log::leaf_hash.eq(leaf.to_vec()),
            audit_log::at.eq(crate::to_db(at)),
            audit_log::action.eq(entry.action.as_str()),
            audit_log::actor_kind.eq(entry.actor.kind.as_str()),
            audit_log::target.eq("forged"),
        ))
        .execute(conn)?;
    Ok(entry.seq)
}

/// Makes every journal write fail (`refused`), or accepted again: a trigger on `audit_pending`,
/// for tests that an action and its journal entry commit or fail together.
pub fn refuse_journal_writes(db: &TestDatabase, refused: bool) -> Result<(), StorageError> {
    db.execute_raw(match (db.backend(), refused) {
        (Backend::Sqlite, true) => {
            "CREATE TRIGGER test_journal_refused BEFORE INSERT ON audit_pending \
             BEGIN SELECT RAISE(ABORT, 'journal refused by the test'); END;"
        }
        (Backend::Sqlite, false) => "DROP TRIGGER test_journal_refused;",
        (Backend::Postgres, true) => {
            "CREATE OR REPLACE FUNCTION test_journal_refused() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'journal refused by the test'; END; $$; \
             CREATE TRIGGER test_journal_refused BEFORE INSERT ON audit_pending \
             FOR EACH ROW EXECUTE FUNCTION test_journal_refused();"
        }
        (Backend::Postgres, false) => "DROP TRIGGER test_journal_refused ON audit_pending;",
    })
}

/// "No journal, no action" (docs/security/audit-log.md), checked for one action: with the
/// journal refusing writes, `act` must fail and leave what `observe` reads unchanged, which it
/// would not if the action committed before (or without) writing its entry; then, with the
/// journal back, the same `act` must succeed, write at least one entry and change what
/// `observe` reads, so that the first half could have failed. Returns the second run's result,
/// or what went wrong.
pub fn no_journal_no_action<T, R, E>(
    db: &TestDatabase,
    observe: impl Fn(&mut DbConnection) -> Result<T, StorageError>,
    act: impl Fn(&mut DbConnection) -> Result<R, E>,
) -> Result<R, String>
where
    T: PartialEq + fmt::Debug,
    E: fmt::Debug,
{
    let failed = |e: StorageError| format!("{e:?}");
    let conn = &mut *db.db.conn().map_err(failed)?;
    let entries = |conn: &mut DbConnection| {
        count(
            conn,
            "SELECT (SELECT COUNT(*) FROM audit_pending) + (SELECT COUNT(*) FROM audit_log) AS n",
        )
    };
    let before = observe(conn).map_err(failed)?;
    let written = entries(conn).map_err(failed)?;
    refuse_journal_writes(db, true).map_err(failed)?;
    let refused = act(conn);
    refuse_journal_writes(db, false).map_err(failed)?;
    if refused.is_ok() {
        return Err("the action succeeded although its journal entry could not be written".into());
    }
    let after = observe(conn).map_err(failed)?;
    if after != before {
        return Err(format!(
            "the action took effect without its journal entry: {before:?} became {after:?}"
        ));
    }
    let done = act(conn).map_err(|e| format!("with the journal back, the action failed: {e:?}"))?;
    if observe(conn).map_err(failed)? == before {
        return Err("the observation does not see the action: the check proves nothing".into());
    }
    if entries(conn).map_err(failed)? <= written {
        return Err("the action wrote no journal entry".into());
    }
    Ok(done)
}

/// A PostgreSQL login role given the runtime grants ([`migrations::grant_runtime_role`], as
/// `migrate` gives them), with a pool connected as it to the test's schema. Dropped (role and
/// grants) with the value.
pub struct RuntimeRole {
    pub name: String,
    /// Its connection URL (this test's schema, as this role).
    pub url: DatabaseUrl,
    db: Option<Database>,
    server_url: String,
}

impl RuntimeRole {
    pub fn db(&self) -> Result<&Database, StorageError> {
        self.db
            .as_ref()
            .ok_or_else(|| StorageError::Migration("runtime role already dropped".into()))
    }
}

impl fmt::Debug for RuntimeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuntimeRole({})", self.name)
    }
}

/// `server_url` with its user replaced by `user` (trust authentication in tests: no password).
fn with_user(server_url: &str, user: &str) -> Result<String, StorageError> {
    let bad = || StorageError::Migration(format!("{TEST_DATABASE_URL} is not a postgres:// URL"));
    let (scheme, rest) = server_url.split_once("://").ok_or_else(bad)?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    Ok(format!("{scheme}://{user}@{host}{path}"))
}

impl TestDatabase {
    /// PostgreSQL only: a fresh runtime role on this test's schema (see [`RuntimeRole`]).
    pub fn runtime_role(&self) -> Result<RuntimeRole, StorageError> {
        let mut role = self.login_role()?;
        let owner = self.owner.as_ref().unwrap_or(&self.db);
        migrations::grant_runtime_role(&mut *owner.conn()?, &role.name)?;
        role.db = Some(Database::open(
            &role.url,
            OpenMode::MustExist,
            &PoolOptions::default(),
        )?);
        Ok(role)
    }

    /// PostgreSQL only: a fresh login role with no privilege yet (for tests of the grants
    /// themselves), and its URL to this test's schema; no pool ([`RuntimeRole::db`] fails).
    pub fn login_role(&self) -> Result<RuntimeRole, StorageError> {
        let Some((server_url, schema)) = &self.pg_cleanup else {
            return Err(StorageError::Migration(
                "runtime roles exist on PostgreSQL only".into(),
            ));
        };
        let name = format!("ac_runtime_{:016x}", rand::rng().random::<u64>());
        let url = with_user(server_url, &name)?;
        let separator = if url.contains('?') { '&' } else { '?' };
        let url: DatabaseUrl =
            format!("{url}{separator}options=-csearch_path%3D{schema}").parse()?;
        let mut admin = PgConnection::establish(server_url).map_err(StorageError::Connect)?;
        admin.batch_execute(&format!("CREATE ROLE {name} LOGIN"))?;
        Ok(RuntimeRole {
            url,
            name,
            db: None,
            server_url: server_url.clone(),
        })
    }
}

impl Drop for RuntimeRole {
    fn drop(&mut self) {
        // Its connections first, then its grants and itself. Best effort, like the schemas.
        drop(self.db.take());
        if let Ok(mut admin) = PgConnection::establish(&self.server_url) {
            let _ = admin.batch_execute(&format!(
                "DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}",
                self.name
            ));
        }
    }
}
