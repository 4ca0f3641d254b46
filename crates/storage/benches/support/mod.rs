//! What the seeded benches (`can_act`, `journal`) share: ids shaped like the service's, valid
//! SIRETs, timed seeding steps, and a dedicated PostgreSQL database seeded once and cached,
//! keyed by the migrations and the bench's seed version.

use ac_storage::{Backend, DatabaseUrl, DbConnection, PoolOptions};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Ids look like the service's random UUIDs: same length, and the leading 32 bits are a bijective
/// scramble of the index, so B-tree inserts and lookups land all over the index as in production.
pub fn id(kind: u64, n: u64) -> String {
    format!(
        "{:08x}-{kind:04x}-4000-8000-{n:012x}",
        n.wrapping_mul(2_654_435_761) % (1 << 32)
    )
}

/// A Luhn-valid SIRET (`organisations::get` parses it).
pub fn siret(n: u64) -> String {
    let body = format!("{:013}", 1_300_252_650_000 + n * 10);
    (0..10)
        .map(|check| format!("{body}{check}"))
        .find(|c| c.parse::<ac_mandates::Siret>().is_ok())
        .unwrap()
}

/// The SQL that differs between the backends, for the seeds' set-based inserts.
pub struct Dialect {
    pub backend: Backend,
    /// The instant every seeded date is relative to.
    pub now: OffsetDateTime,
}

impl Dialect {
    /// [`id`]`(kind, n)` in SQL, for an integer expression `n`.
    pub fn id(&self, kind: u64, n: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "printf('%08x-{kind:04x}-4000-8000-%012x', (({n}) * 2654435761) % 4294967296, ({n}))"
            ),
            Backend::Postgres => format!(
                "(lpad(to_hex((({n})::bigint * 2654435761) % 4294967296), 8, '0') || '-{kind:04x}-4000-8000-' || lpad(to_hex(({n})::bigint), 12, '0'))"
            ),
        }
    }

    /// `width` hex digits (64: the width of a SHA-256), unique per `n`.
    pub fn hex(&self, n: &str, width: usize) -> String {
        match self.backend {
            Backend::Sqlite => format!("printf('%0{width}x', {n})"),
            Backend::Postgres => format!("lpad(to_hex(({n})::bigint), {width}, '0')"),
        }
    }

    /// The UTC timestamp `secs` seconds before `now` (negative: after), at whole seconds as
    /// diesel writes them.
    pub fn before_now(&self, secs: &str) -> String {
        let now = self.now.unix_timestamp();
        match self.backend {
            Backend::Sqlite => format!("datetime({now} - ({secs}), 'unixepoch')"),
            Backend::Postgres => format!(
                "(TIMESTAMP '1970-01-01 00:00:00' + ({now} - ({secs})) * INTERVAL '1 second')"
            ),
        }
    }

    /// The key of catalogue entry `n` (0–9, `Demarche::ALL`'s order), for an integer expression.
    pub fn demarche(&self, n: &str) -> String {
        let arms: String = ac_mandates::Demarche::ALL
            .iter()
            .enumerate()
            .map(|(i, d)| format!(" WHEN {i} THEN '{}'", d.key()))
            .collect();
        format!("CASE {n}{arms} END")
    }

    /// `(prefix, source)`: a row source with one column `i` = 0..n-1, used as
    /// `{prefix}INSERT … SELECT … FROM {source}`.
    pub fn numbers(&self, n: u64) -> (String, String) {
        match self.backend {
            Backend::Sqlite => (
                format!(
                    "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {}) ",
                    n - 1
                ),
                "s".to_owned(),
            ),
            Backend::Postgres => (
                String::new(),
                format!("generate_series(0::bigint, {}) AS s(i)", n - 1),
            ),
        }
    }
}

/// Runs one seeding step and prints how long it took.
pub fn run(conn: &mut DbConnection, step: &str, sql: &str) {
    let started = Instant::now();
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("seeding {step}: {e}\n{sql}"));
    println!("  {step:<40} {:>7.1} s", started.elapsed().as_secs_f64());
}

pub fn single_connection() -> PoolOptions {
    PoolOptions {
        max_connections: 1,
        ..PoolOptions::default()
    }
}

pub struct Prepared {
    pub url: DatabaseUrl,
    /// `None` when a cached seed was used.
    pub seeded_in: Option<Duration>,
}

pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// FNV-1a over both migration trees and the bench's seed version: any schema change gets a new
/// database.
pub fn schema_key(seed_version: u32) -> u64 {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = workspace_root().join("migrations");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    paths.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&seed_version.to_le_bytes());
    for path in paths {
        eat(path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .as_bytes());
        eat(&std::fs::read(&path).unwrap());
    }
    hash
}

#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

#[derive(QueryableByName)]
struct Comment {
    #[diesel(sql_type = Nullable<Text>)]
    comment: Option<String>,
}

/// A bench's PostgreSQL database, as [`pg_bench_database`] found it.
pub enum PgBench {
    /// Seeded for this schema and seed version already.
    Cached(Prepared),
    /// Its schema was just dropped and recreated empty: the caller migrates and seeds it, then
    /// writes `marker` with `COMMENT ON SCHEMA public IS '…'` only once the seed has committed,
    /// so an interrupted seed is never reused.
    Empty { url: DatabaseUrl, marker: String },
}

/// Creates the dedicated database if missing, and empties it when its seed marker (a comment on
/// the `public` schema) is not this bench's for the current schema. Errors are notices:
/// PostgreSQL is optional for the benches.
pub fn pg_bench_database(url: &str, bench: &str, seed_version: u32) -> Result<PgBench, String> {
    let parsed: DatabaseUrl = url.parse().map_err(|e| format!("{e}"))?;
    let (without_query, query) = url.split_once('?').unwrap_or((url, ""));
    let (server, name) = without_query
        .rsplit_once('/')
        .ok_or_else(|| format!("no database name in {parsed}"))?;
    // The schema is dropped and rebuilt on a key change: never do that to a database that is
    // not obviously a bench database.
    if !name.contains("bench")
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "database name {name:?} must contain \"bench\" and only [a-z0-9_]: the bench wipes it"
        ));
    }
    let suffix = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let mut admin =
        PgConnection::establish(&format!("{server}/postgres{suffix}")).map_err(|e| {
            let e = e.to_string();
            format!(
                "cannot reach {parsed} (via the postgres database): {}",
                e.trim_end()
            )
        })?;
    let exists = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .get_result::<Count>(&mut admin)
        .map_err(|e| e.to_string())?
        .n
        > 0;
    if !exists {
        println!("postgres: creating database {name}");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| e.to_string())?;
    }
    drop(admin);

    let marker = format!("ac-bench {bench} seed {:016x}", schema_key(seed_version));
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    let current = diesel::sql_query(
        "SELECT obj_description('public'::regnamespace, 'pg_namespace') AS comment",
    )
    .get_result::<Comment>(&mut conn)
    .map_err(|e| e.to_string())?
    .comment;
    if current.as_deref() == Some(marker.as_str()) {
        println!("postgres: using cached database {name}");
        return Ok(PgBench::Cached(Prepared {
            url: parsed,
            seeded_in: None,
        }));
    }
    conn.batch_execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        .map_err(|e| e.to_string())?;
    Ok(PgBench::Empty {
        url: parsed,
        marker,
    })
}

#[derive(QueryableByName)]
pub struct IndexDef {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub definition: String,
}

/// The secondary indexes of `table` as the migrations wrote them (constraints' indexes left out):
/// a seed drops them for a bulk load and builds them again from these definitions.
pub fn secondary_indexes(conn: &mut DbConnection, backend: Backend, table: &str) -> Vec<IndexDef> {
    let query = match backend {
        Backend::Postgres => format!(
            "SELECT indexname::text AS name, indexdef AS definition FROM pg_indexes \
             WHERE tablename = '{table}' AND schemaname = current_schema() \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ),
        Backend::Sqlite => format!(
            "SELECT name, sql AS definition FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = '{table}' AND sql IS NOT NULL"
        ),
    };
    diesel::sql_query(query).load(conn).unwrap()
}
