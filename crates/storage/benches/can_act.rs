//! `can_act` at scale: 300,000 usagers and 1,000,000 mandates, on SQLite and PostgreSQL.
//!
//! Seeds each database once with bulk SQL, caches it (SQLite file under `target/bench-data/`,
//! PostgreSQL database `ac_bench`), checks the query plans of every statement `can_act` issues,
//! then times `ac_storage::mandates::can_act` call by call on one pooled connection and prints
//! median, p99 and mean. Method and results: docs/performance.md. Run with `make bench`.

// A bench is a program run by hand, not library code: any failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ac_mandates::{AidantId, Demarche, OrganisationId, UsagerId};
use ac_storage::schema::{aidant_organisations, authorizations};
use ac_storage::{Backend, Database, DatabaseUrl, DbConnection, OpenMode, mandates};
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::macros::datetime;
use time::{OffsetDateTime, PrimitiveDateTime};

#[allow(dead_code)] // the seeded benches' helpers; this one uses a part of them
#[path = "support/mod.rs"]
mod support;
use support::{
    Count, Dialect, PgBench, Prepared, id, pg_bench_database, run, schema_key, single_connection,
    siret, workspace_root,
};

// ---------------------------------------------------------------------------------------------
// Data shape

const ORGANISATIONS: u64 = 100;
const AIDANTS: u64 = 1_000; // 10 per structure
const USAGERS: u64 = 300_000;
const MANDATES: u64 = 1_000_000;
/// Mandate `i` belongs to usager `i % USAGERS`, in round `i / USAGERS` (0..=3). Round 3 exists for
/// the first 100,000 usagers and renews their round-0 mandate, whose authorizations it supersedes.
const RENEWAL_ROUND: u64 = 3;
/// Bump when the seeded data changes, so cached databases are rebuilt.
const SEED_VERSION: u32 = 1;
/// Every date is relative to this instant, so a cached database never goes stale.
const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

/// Calls timed per backend (fewer if the time budget runs out first).
const CALLS: usize = 20_000;
const WARMUP_BUDGET: Duration = Duration::from_secs(15);
const MEASURE_BUDGET: Duration = Duration::from_secs(40);

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/ac_bench";

// Record kinds, the second group of every id.
const K_USAGER: u64 = 1;
const K_AIDANT: u64 = 2;
const K_ORGANISATION: u64 = 3;
const K_MANDATE: u64 = 4;
const K_AUTHORIZATION: u64 = 5;
const K_SCOPE: u64 = 6;

fn main() {
    // `cargo test --benches` runs this binary without `--bench`: do not seed a million rows then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("can_act bench: run it with `cargo bench -p ac-storage --bench can_act`");
        return;
    }
    let mut reports = Vec::new();

    let sqlite = prepare_sqlite();
    reports.push(measure(Backend::Sqlite, &sqlite.url, sqlite.seeded_in));

    let pg_url = std::env::var("AC_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned());
    match prepare_postgres(&pg_url) {
        Ok(pg) => reports.push(measure(Backend::Postgres, &pg.url, pg.seeded_in)),
        Err(notice) => println!("\nPostgreSQL skipped: {notice}"),
    }

    println!(
        "\ncan_act, {MANDATES} mandates, {USAGERS} usagers, warm cache, one pooled connection"
    );
    println!("backend    |  calls | median µs |   p99 µs |  mean µs | seeding");
    println!("-----------|-------:|----------:|---------:|---------:|--------");
    for r in &reports {
        println!(
            "{:<10} | {:>6} | {:>9.1} | {:>8.1} | {:>8.1} | {}",
            r.backend,
            r.calls,
            r.median_us,
            r.p99_us,
            r.mean_us,
            r.seeded_in.map_or_else(
                || "cached".to_owned(),
                |d| format!("{:.0} s", d.as_secs_f64())
            )
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding

fn prepare_sqlite() -> Prepared {
    let dir = workspace_root().join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("can_act-{:016x}.sqlite", schema_key(SEED_VERSION));
    let path = dir.join(&name);
    let url = DatabaseUrl::Sqlite(path.clone());
    if path.exists() {
        println!("sqlite: using cached {}", path.display());
        return Prepared {
            url,
            seeded_in: None,
        };
    }
    // Older seeds are 1.6 GB each: keep only the current one.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let old = entry.unwrap().path();
        if old
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("can_act-"))
        {
            std::fs::remove_file(&old).unwrap();
        }
    }
    // Seed under another name and rename at the end, so an interrupted run is never reused.
    let partial = dir.join(format!("{name}.partial"));
    println!("sqlite: seeding {} (takes a few minutes)", path.display());
    let started = Instant::now();
    {
        let db = Database::open(
            &DatabaseUrl::Sqlite(partial.clone()),
            OpenMode::CreateIfMissing,
            &single_connection(),
        )
        .unwrap();
        let mut conn = db.conn().unwrap();
        ac_storage::migrations::run_pending(&mut conn).unwrap();
        // Seeding only: a 1 GiB page cache keeps the random-order index inserts in memory.
        conn.batch_execute("PRAGMA cache_size = -1048576").unwrap();
        seed(&mut conn, Backend::Sqlite);
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    std::fs::rename(&partial, &path).unwrap();
    let seeded_in = started.elapsed();
    println!(
        "sqlite: seeded in {:.1} s, {} MB",
        seeded_in.as_secs_f64(),
        std::fs::metadata(&path).unwrap().len() / 1_000_000
    );
    Prepared {
        url,
        seeded_in: Some(seeded_in),
    }
}

/// Creates the dedicated database if missing and (re)seeds it when its schema key differs.
/// Errors are notices: PostgreSQL is optional here.
fn prepare_postgres(url: &str) -> Result<Prepared, String> {
    let (url, marker) = match pg_bench_database(url, "can_act", SEED_VERSION)? {
        PgBench::Cached(prepared) => return Ok(prepared),
        PgBench::Empty { url, marker } => (url, marker),
    };
    println!("postgres: seeding database (takes a few minutes)");
    let started = Instant::now();
    {
        let db = Database::open(&url, OpenMode::MustExist, &single_connection())
            .map_err(|e| e.to_string())?;
        let mut conn = db.conn().unwrap();
        ac_storage::migrations::run_pending(&mut conn).unwrap();
        // The marker is written in the seeding transaction: it exists only if the seed committed.
        seed_with_marker(&mut conn, Backend::Postgres, &marker);
        // What autovacuum would do soon after a bulk load in production.
        conn.batch_execute("VACUUM ANALYZE").unwrap();
    }
    let seeded_in = started.elapsed();
    println!("postgres: seeded in {:.1} s", seeded_in.as_secs_f64());
    Ok(Prepared {
        url,
        seeded_in: Some(seeded_in),
    })
}

fn seed(conn: &mut DbConnection, backend: Backend) {
    seed_with_marker(conn, backend, "");
}

impl Dialect {
    fn date_after_1940(&self, days: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("date('1940-01-01', '+' || ({days}) || ' days')"),
            Backend::Postgres => format!("(DATE '1940-01-01' + ({days})::int)"),
        }
    }
}

/// 01–95 without 20 (Corsica is 2A/2B).
fn departement(org: u64) -> String {
    let n = 1 + org % 94;
    format!("{:02}", if n >= 20 { n + 1 } else { n })
}

/// Inserts the whole data set in one transaction. Every constraint and trigger of the migrations
/// stays on: the data passes them, it does not bypass them.
fn seed_with_marker(conn: &mut DbConnection, backend: Backend, marker: &str) {
    let sql = Dialect { backend, now: NOW };
    const CREATED: &str = "'2023-06-01 09:00:00'";
    ac_storage::write(conn, |tx| -> Result<(), diesel::result::Error> {
        // Structures: every démarche allowed, all active.
        const KINDS: [&str; 6] = [
            "bibliotheque",
            "centre_social",
            "secretariat_mairie",
            "france_services",
            "association",
            "autre",
        ];
        let rows: Vec<String> = (0..ORGANISATIONS)
            .map(|o| {
                format!(
                    "('{}', 'Structure {o:03}', '{}', '{o} rue de la République', '{}', '{}', TRUE, {CREATED})",
                    id(K_ORGANISATION, o),
                    KINDS[(o % 6) as usize],
                    departement(o),
                    siret(o),
                )
            })
            .collect();
        let mut small = format!(
            "INSERT INTO organisations (id, name, kind, address, departement, siret, is_active, created_at) VALUES {};\n",
            rows.join(",\n")
        );
        let rows: Vec<String> = (0..ORGANISATIONS)
            .flat_map(|o| {
                Demarche::ALL
                    .iter()
                    .map(move |d| format!("('{}', '{}')", id(K_ORGANISATION, o), d.key()))
            })
            .collect();
        small += &format!(
            "INSERT INTO organisation_demarches (organisation_id, demarche) VALUES {};\n",
            rows.join(",\n")
        );
        // Aidant `a` works for structure `a % 100` (current); one in ten also for the next one.
        // One in fifty may not act for others, to exercise that refusal.
        let rows: Vec<String> = (0..AIDANTS)
            .map(|a| {
                format!(
                    "('{}', 'aidant{a:04}@structure.exemple.fr', 'Prénom{a}', 'Nom{a}', 'Conseiller numérique', '{}', {}, TRUE, {CREATED})",
                    id(K_AIDANT, a),
                    id(K_ORGANISATION, a % ORGANISATIONS),
                    if a % 50 == 49 { "FALSE" } else { "TRUE" },
                )
            })
            .collect();
        small += &format!(
            "INSERT INTO aidants (id, email, first_name, last_name, profession, current_organisation_id, can_create_mandates, is_active, created_at) VALUES {};\n",
            rows.join(",\n")
        );
        let rows: Vec<String> = (0..AIDANTS)
            .flat_map(|a| {
                let mut memberships = vec![format!(
                    "('{}', '{}', {})",
                    id(K_AIDANT, a),
                    id(K_ORGANISATION, a % ORGANISATIONS),
                    if a < ORGANISATIONS { "TRUE" } else { "FALSE" }
                )];
                if a % 10 == 0 {
                    memberships.push(format!(
                        "('{}', '{}', FALSE)",
                        id(K_AIDANT, a),
                        id(K_ORGANISATION, (a + 1) % ORGANISATIONS)
                    ));
                }
                memberships
            })
            .collect();
        small += &format!(
            "INSERT INTO aidant_organisations (aidant_id, organisation_id, is_referent) VALUES {};\n",
            rows.join(",\n")
        );
        let rows: Vec<String> = (AIDANTS - 10..AIDANTS)
            .map(|a| {
                format!(
                    "('{}', '{}', 'departement', '{}', NULL)",
                    id(K_SCOPE, a),
                    id(K_AIDANT, a),
                    departement(a % ORGANISATIONS)
                )
            })
            .collect();
        small += &format!(
            "INSERT INTO coordinator_scopes (id, aidant_id, kind, departement, organisation_id) VALUES {};\n",
            rows.join(",\n")
        );
        run(tx, "structures and aidants", &small);

        let (prefix, from) = sql.numbers(USAGERS);
        run(
            tx,
            "usagers",
            &format!(
                "{prefix}INSERT INTO usagers (id, subject, given_name, family_name, birthdate, gender, birthplace, birthcountry, email, preferred_username, created_at, updated_at) \
                 SELECT {id}, {subject}, \
                   CASE i % 5 WHEN 0 THEN 'Camille' WHEN 1 THEN 'Dominique' WHEN 2 THEN 'Claude' WHEN 3 THEN 'Sacha' ELSE 'Alix' END, \
                   CASE (i / 5) % 5 WHEN 0 THEN 'Martin' WHEN 1 THEN 'Bernard' WHEN 2 THEN 'Petit' WHEN 3 THEN 'Durand' ELSE 'Moreau' END, \
                   {birthdate}, CASE i % 2 WHEN 0 THEN 'female' ELSE 'male' END, \
                   CASE WHEN i % 10 = 0 THEN NULL ELSE '75056' END, '99100', \
                   CASE WHEN i % 3 = 0 THEN NULL ELSE 'usager' || i || '@exemple.fr' END, NULL, {created}, {created} \
                 FROM {from}",
                id = sql.id(K_USAGER, "i"),
                subject = sql.hex("i", 64),
                birthdate = sql.date_after_1940("i % 25000"),
                created = sql.before_now("86400000"),
            ),
        );

        // One row per mandate with its shape: round k, usager u, structure, number of
        // démarches n, duration d (days), status (0 active, 1 expired, 2 revoked,
        // 3 superseded by its renewal) and age in seconds. h and g are two integer hashes of i.
        let (prefix, from) = sql.numbers(MANDATES);
        let day = 86_400;
        run(
            tx,
            "mandate plan (temporary table)",
            &format!(
                "CREATE TEMP TABLE bench_plan (i INTEGER PRIMARY KEY, k INTEGER NOT NULL, u INTEGER NOT NULL, org INTEGER NOT NULL, n INTEGER NOT NULL, d INTEGER NOT NULL, status INTEGER NOT NULL, ago INTEGER NOT NULL, rev_ago INTEGER, renewal INTEGER);
                 {prefix}INSERT INTO bench_plan (i, k, u, org, n, d, status, ago, rev_ago, renewal)
                 SELECT i, k, u, org, n, d, status, ago, CASE WHEN status = 2 THEN ago / 2 END, \
                   CASE WHEN k = {RENEWAL_ROUND} THEN i - {RENEWAL_ROUND} * {USAGERS} END
                 FROM (
                   SELECT i, k, u, org, n, d, status,
                     CASE status
                       WHEN 0 THEN 60 + g % (d * {day} - 120)
                       WHEN 1 THEN d * {day} + 60 + g % (400 * {day})
                       ELSE 120 + g % (d * {day} - 180)
                     END AS ago
                   FROM (
                     SELECT i, i / {USAGERS} AS k, i % {USAGERS} AS u, (i % {USAGERS}) % {ORGANISATIONS} AS org,
                       1 + (h / 7) % 3 AS n,
                       CASE WHEN (h / 31) % 10 < 6 THEN 365 WHEN (h / 31) % 10 < 8 THEN 182 WHEN (h / 31) % 10 < 9 THEN 31 ELSE 1 END AS d,
                       CASE WHEN (h / 311) % 100 < 70 THEN 0 WHEN (h / 311) % 100 < 88 THEN 1 ELSE 2 END AS status,
                       g
                     FROM (SELECT i, (i * 1103515245 + 12345) % 2147483648 AS h, (i * 2246822519 + 374761393) % 4294967296 AS g FROM {from}) AS a
                   ) AS b
                 ) AS c;
                 -- A renewed round-0 mandate: one year long, created 200 days before its renewal,
                 -- superseded when the renewal was signed.
                 UPDATE bench_plan SET status = 3, d = 365,
                   rev_ago = (SELECT r.ago FROM bench_plan r WHERE r.i = bench_plan.i + {RENEWAL_ROUND} * {USAGERS}),
                   ago = (SELECT r.ago FROM bench_plan r WHERE r.i = bench_plan.i + {RENEWAL_ROUND} * {USAGERS}) + 200 * {day}
                 WHERE k = 0 AND u < {renewed};",
                renewed = MANDATES - RENEWAL_ROUND * USAGERS,
            ),
        );
        run(
            tx,
            "mandates",
            &format!(
                "INSERT INTO mandates (id, organisation_id, usager_id, created_by, created_at, expires_at, duration_days, legal_text_version, content_hash, renewal_of) \
                 SELECT {id}, {org}, {usager}, {aidant}, {created}, {expires}, d, 'cgu-2026-01', {hash}, \
                   CASE WHEN renewal IS NULL THEN NULL ELSE {renewal} END \
                 FROM bench_plan ORDER BY i",
                id = sql.id(K_MANDATE, "i"),
                org = sql.id(K_ORGANISATION, "org"),
                usager = sql.id(K_USAGER, "u"),
                aidant = sql.id(K_AIDANT, &format!("org + {ORGANISATIONS} * (i % 10)")),
                created = sql.before_now("ago"),
                expires = sql.before_now(&format!("ago - d * {day}")),
                hash = sql.hex("i", 64),
                renewal = sql.id(K_MANDATE, "renewal"),
            ),
        );
        // Démarche j of round k covers catalogue entry (u + 3k + j) % 10: rounds 0–2 never
        // overlap, and round 3 only overlaps round 0, which it superseded. So the partial unique
        // index (one open authorization per structure, usager and démarche) holds.
        let demarche = sql.demarche("(p.u + 3 * p.k + j.j) % 10");
        run(
            tx,
            "authorizations",
            &format!(
                "INSERT INTO authorizations (id, mandate_id, organisation_id, usager_id, demarche, expires_at, revoked_at, revocation_reason) \
                 SELECT {id}, {mandate}, {org}, {usager}, {demarche}, {expires}, \
                   CASE p.status WHEN 2 THEN {revoked} WHEN 3 THEN {superseded} END, \
                   CASE p.status WHEN 2 THEN 'revoked' WHEN 3 THEN 'superseded' END \
                 FROM bench_plan p JOIN (SELECT 0 AS j UNION ALL SELECT 1 UNION ALL SELECT 2) j ON j.j < p.n \
                 ORDER BY p.i, j.j",
                id = sql.id(K_AUTHORIZATION, "p.i * 3 + j.j"),
                mandate = sql.id(K_MANDATE, "p.i"),
                org = sql.id(K_ORGANISATION, "p.org"),
                usager = sql.id(K_USAGER, "p.u"),
                expires = sql.before_now(&format!("p.ago - p.d * {day}")),
                revoked = sql.before_now("p.ago / 2"),
                superseded = sql.before_now("p.rev_ago"),
            ),
        );
        let mut finish = "DROP TABLE bench_plan;".to_owned();
        if !marker.is_empty() {
            finish += &format!("COMMENT ON SCHEMA public IS '{marker}';");
        }
        run(tx, "drop the plan table", &finish);
        Ok(())
    })
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// splitmix64: a fixed seed gives both backends the same draws.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Sample {
    aidant: AidantId,
    organisation: OrganisationId,
    usager: UsagerId,
    demarche: Demarche,
}

/// 85% tuples of authorizations in force at NOW, 10% of expired, revoked or superseded ones,
/// 5% of a usager the structure never had a mandate for. The aidant is a random member of the
/// structure. What `can_act` answers is tallied separately.
fn draw_samples(conn: &mut DbConnection) -> Vec<Sample> {
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (aidant, organisation) in aidant_organisations::table
        .select((
            aidant_organisations::aidant_id,
            aidant_organisations::organisation_id,
        ))
        .load::<(String, String)>(conn)
        .unwrap()
    {
        members.entry(organisation).or_default().push(aidant);
    }
    let now = PrimitiveDateTime::new(NOW.date(), NOW.time());
    let (want_active, want_other) = (CALLS * 85 / 100, CALLS * 10 / 100);
    let want_uncovered = CALLS - want_active - want_other;
    let (mut active, mut other, mut uncovered) = (Vec::new(), Vec::new(), Vec::new());
    let mut rng = Rng(0x00ac_be9c);
    let pick_aidant = |rng: &mut Rng, organisation: &str| {
        let list = &members[organisation];
        AidantId::new(list[rng.below(list.len() as u64) as usize].clone())
    };
    while active.len() < want_active || other.len() < want_other {
        let mandate = id(K_MANDATE, rng.below(MANDATES));
        let rows: Vec<(
            String,
            String,
            String,
            PrimitiveDateTime,
            Option<PrimitiveDateTime>,
        )> = authorizations::table
            .filter(authorizations::mandate_id.eq(&mandate))
            .select((
                authorizations::organisation_id,
                authorizations::usager_id,
                authorizations::demarche,
                authorizations::expires_at,
                authorizations::revoked_at,
            ))
            .load(conn)
            .unwrap();
        assert!(!rows.is_empty(), "mandate {mandate} has no authorization");
        let (organisation, usager, demarche, expires_at, revoked_at) =
            rows[rng.below(rows.len() as u64) as usize].clone();
        let in_force = revoked_at.is_none() && expires_at > now;
        let bucket = if in_force { &mut active } else { &mut other };
        let want = if in_force { want_active } else { want_other };
        if bucket.len() < want {
            bucket.push(Sample {
                aidant: pick_aidant(&mut rng, &organisation),
                organisation: OrganisationId::new(organisation),
                usager: UsagerId::new(usager),
                demarche: demarche.parse().unwrap(),
            });
        }
    }
    while uncovered.len() < want_uncovered {
        let u = rng.below(USAGERS);
        // Any structure but the usager's own (mandates of usager u are all with u % 100).
        let organisation = id(
            K_ORGANISATION,
            (u % ORGANISATIONS + 1 + rng.below(ORGANISATIONS - 1)) % ORGANISATIONS,
        );
        uncovered.push(Sample {
            aidant: pick_aidant(&mut rng, &organisation),
            organisation: OrganisationId::new(organisation),
            usager: UsagerId::new(id(K_USAGER, u)),
            demarche: Demarche::ALL[rng.below(10) as usize],
        });
    }
    // Interleave the kinds so a time-budgeted pass still sees the mix.
    let mut all: Vec<Sample> = active.into_iter().chain(other).chain(uncovered).collect();
    for i in (1..all.len()).rev() {
        all.swap(i, rng.below(i as u64 + 1) as usize);
    }
    all
}

struct Report {
    backend: &'static str,
    calls: usize,
    median_us: f64,
    p99_us: f64,
    mean_us: f64,
    seeded_in: Option<Duration>,
}

/// Times `can_act` call by call until the samples or the budget run out.
fn pass(
    conn: &mut DbConnection,
    samples: &[Sample],
    budget: Duration,
) -> (Vec<Duration>, BTreeMap<String, usize>) {
    let mut timings = Vec::with_capacity(samples.len());
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let started = Instant::now();
    for s in samples {
        let t = Instant::now();
        let outcome =
            mandates::can_act(conn, &s.aidant, &s.organisation, &s.usager, s.demarche, NOW)
                .unwrap();
        timings.push(t.elapsed());
        let label = match black_box(outcome) {
            Ok(_) => "authorized".to_owned(),
            Err(refusal) => format!("{refusal:?}"),
        };
        *outcomes.entry(label).or_default() += 1;
        if started.elapsed() > budget {
            break;
        }
    }
    (timings, outcomes)
}

fn measure(backend: Backend, url: &DatabaseUrl, seeded_in: Option<Duration>) -> Report {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    };
    println!("\n== {name}");
    let db = Database::open(url, OpenMode::MustExist, &single_connection()).unwrap();
    let mut conn = db.conn().unwrap();
    // A cached database is keyed by the migration files; this catches a binary built with others.
    let applied = ac_storage::migrations::run_pending(&mut conn).unwrap();
    if !applied.is_empty() {
        println!("applied pending migrations: {}", applied.join(", "));
    }
    let started = Instant::now();
    let samples = draw_samples(&mut conn);
    println!(
        "drew {} tuples in {:.1} s",
        samples.len(),
        started.elapsed().as_secs_f64()
    );

    explain_can_act(&mut conn, &samples[0]);

    if let DatabaseUrl::Sqlite(path) = url {
        // Warm the OS page cache with the whole file (SQLite's own cache is 2 MB by default).
        let started = Instant::now();
        let mut file = std::fs::File::open(path).unwrap();
        let mut buf = vec![0u8; 8 << 20];
        while file.read(&mut buf).unwrap() > 0 {}
        println!(
            "read the database file into the OS cache in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let (warmup, _) = pass(&mut conn, &samples, WARMUP_BUDGET);
    println!(
        "warm-up: {} calls, median {:.1} µs",
        warmup.len(),
        percentile(&warmup, 0.5)
    );
    let (timings, outcomes) = pass(&mut conn, &samples, MEASURE_BUDGET);
    println!("measured {} calls; answers:", timings.len());
    for (label, n) in &outcomes {
        println!(
            "  {label:<22} {n:>6} ({:.1}%)",
            100.0 * *n as f64 / timings.len() as f64
        );
    }
    let mean_us =
        timings.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e6 / timings.len() as f64;
    Report {
        backend: name,
        calls: timings.len(),
        median_us: percentile(&timings, 0.5),
        p99_us: percentile(&timings, 0.99),
        mean_us,
        seeded_in,
    }
}

/// Nearest-rank percentile, in microseconds.
fn percentile(timings: &[Duration], q: f64) -> f64 {
    let mut sorted = timings.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e6
}

// ---------------------------------------------------------------------------------------------
// Query plans

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// Records the SQL of every statement one `can_act` call sends, then prints each plan and flags
/// those that read a whole table instead of searching an index.
fn explain_can_act(conn: &mut DbConnection, sample: &Sample) {
    let captured = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&captured);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            sink.lock().unwrap().push(query.to_string());
        }
    });
    mandates::can_act(
        conn,
        &sample.aidant,
        &sample.organisation,
        &sample.usager,
        sample.demarche,
        NOW,
    )
    .unwrap()
    .ok();
    conn.set_instrumentation(None::<Box<dyn Instrumentation>>);
    let statements = captured.lock().unwrap().clone();

    println!(
        "query plans of the {} statements of can_act:",
        statements.len()
    );
    let mut full_scans = Vec::new();
    for statement in statements {
        let sql = statement
            .split_once(" -- binds: ")
            .map_or(statement.as_str(), |(sql, _)| sql);
        let lines: Vec<String> = match conn {
            // Unbound parameters are NULL; the plan does not depend on them.
            DbConnection::Sqlite(c) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<SqlitePlanLine>(c)
                .unwrap()
                .into_iter()
                .map(|l| l.detail)
                .collect(),
            // The generic plan is the one a cached prepared statement ends up using, and it
            // does not depend on the (here NULL) parameters.
            DbConnection::Pg(c) => {
                let params = (1..=20).filter(|n| sql.contains(&format!("${n}"))).count();
                c.batch_execute(&format!(
                    "SET plan_cache_mode = force_generic_plan; PREPARE ac_bench_explain AS {sql}"
                ))
                .unwrap();
                let args = if params == 0 {
                    String::new()
                } else {
                    format!("({})", vec!["NULL"; params].join(", "))
                };
                let lines = diesel::sql_query(format!("EXPLAIN EXECUTE ac_bench_explain{args}"))
                    .load::<PgPlanLine>(c)
                    .unwrap()
                    .into_iter()
                    .map(|l| l.line)
                    .collect();
                c.batch_execute("DEALLOCATE ac_bench_explain; RESET plan_cache_mode")
                    .unwrap();
                lines
            }
        };
        println!("  {sql}");
        for line in lines {
            let scanned = scanned_table(&line);
            println!("    {} {line}", if scanned.is_some() { "!!" } else { "  " });
            if let Some(table) = scanned {
                let rows = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
                    .get_result::<Count>(conn)
                    .unwrap()
                    .n;
                println!("       ^ reads all {rows} rows of {table}");
                full_scans.push(format!("{table} ({rows} rows)"));
            }
        }
    }
    if !full_scans.is_empty() {
        println!(
            "  !! whole-table reads: {} (a planner's choice on a small table; a missing index on a large one)",
            full_scans.join(", ")
        );
    }
}

/// The table a plan line reads in full: SQLite `SCAN t` (with or without a covering index, it
/// visits every entry) or PostgreSQL `Seq Scan on t`.
fn scanned_table(line: &str) -> Option<String> {
    let line = line.trim_start().trim_start_matches("->").trim_start();
    let rest = line
        .strip_prefix("SCAN ")
        .or_else(|| line.split_once("Seq Scan on ").map(|(_, rest)| rest))?;
    rest.split_whitespace().next().map(str::to_owned)
}
