//! The consoles' journal explorer at 10 million entries, on PostgreSQL: a page (50 entries,
//! keyset on `seq`) for every query shape the explorer produces, newest and deep, plus streamed
//! exports and the dashboard. Method and results: docs/performance.md ("Journal explorer").
//! Run with `make bench` (or `cargo bench -p ac-storage --bench journal`).
//!
//! Seeds the dedicated database `ac_bench_journal` once with bulk SQL (about 10 minutes) and
//! caches it, keyed by the migrations and a seed version, like the `can_act` bench.

// A bench is a program run by hand, not library code: any failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ac_audit::Action;
use ac_mandates::{AidantId, Demarche, Organisation, OrganisationId, OrganisationKind};
use ac_storage::console::Scope;
use ac_storage::console::dashboard;
use ac_storage::console::export::{self, Format};
use ac_storage::console::journal::{self, Cursor, JournalFilter};
use ac_storage::journal::AuditContext;
use ac_storage::{Backend, Database, DbConnection, OpenMode, organisations};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::macros::datetime;

#[allow(dead_code)] // the seeds' shared helpers; this bench seeds PostgreSQL with a part of them
#[path = "support/mod.rs"]
mod support;
use support::{Dialect, PgBench, Prepared, id, pg_bench_database, run, single_connection, siret};

/// Entries in the log.
const ENTRIES: u64 = 10_000_000;
const ORGANISATIONS: u64 = 1_000;
/// Départements: structure `n` is in département `n % 100`, so each has 10 structures.
const DEPARTEMENTS: u64 = 100;
const AIDANTS_PER_ORGANISATION: u64 = 10;
const USAGERS_PER_ORGANISATION: u64 = 1_000;
/// Structure 0 is a large France Services desk: this share of all entries, on top of its share.
const LARGE_SHARE_PERMILLE: u64 = 50;
/// Two years of history, ending at NOW.
const HISTORY_DAYS: i64 = 730;
const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);
/// Bump when the seeded data changes, so the cached database is rebuilt.
const SEED_VERSION: u32 = 1;
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/ac_bench_journal";

/// Timed runs per query shape (after warm-up runs).
const RUNS: usize = 30;
const WARMUP: usize = 5;

const K_AIDANT: u64 = 2;
const K_ORGANISATION: u64 = 3;

/// The same id in SQL, for an integer expression `n`.
fn sql_id(kind: u64, n: &str) -> String {
    Dialect {
        backend: Backend::Postgres,
        now: NOW,
    }
    .id(kind, n)
}

/// The usager pseudonym of usager `n`: 64 hex digits.
fn subject(n: u64) -> String {
    format!("{:064x}", n + 1_000_000_000)
}

fn sql_subject(n: &str) -> String {
    format!("lpad(to_hex(({n})::bigint + 1000000000), 64, '0')")
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("journal bench: run it with `cargo bench -p ac-storage --bench journal`");
        return;
    }
    let url = std::env::var("AC_BENCH_JOURNAL_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let prepared = match prepare(&url) {
        Ok(p) => p,
        Err(notice) => {
            println!("journal bench skipped: {notice}");
            return;
        }
    };
    let db = Database::open(&prepared.url, OpenMode::MustExist, &single_connection()).unwrap();
    let conn = &mut *db.conn().unwrap();
    measure(conn, prepared.seeded_in);
}

// ---------------------------------------------------------------------------------------------
// Seeding

#[derive(QueryableByName)]
struct IndexDef {
    #[diesel(sql_type = Text)]
    indexname: String,
    #[diesel(sql_type = Text)]
    indexdef: String,
}

/// Creates the dedicated database if missing and (re)seeds it when its schema key differs.
fn prepare(url: &str) -> Result<Prepared, String> {
    let (url, marker) = match pg_bench_database(url, "journal", SEED_VERSION)? {
        PgBench::Cached(prepared) => return Ok(prepared),
        PgBench::Empty { url, marker } => (url, marker),
    };
    println!("postgres: seeding with {ENTRIES} entries (about 10 minutes)");
    let started = Instant::now();
    let db = Database::open(&url, OpenMode::MustExist, &single_connection())
        .map_err(|e| e.to_string())?;
    let conn = &mut *db.conn().unwrap();
    ac_storage::migrations::run_pending(conn).unwrap();
    seed(conn);
    // The marker is written last: it exists only if the whole seed went through.
    conn.batch_execute(&format!("COMMENT ON SCHEMA public IS '{marker}'"))
        .unwrap();
    let seeded_in = started.elapsed();
    println!("postgres: seeded in {:.0} s", seeded_in.as_secs_f64());
    Ok(Prepared {
        url,
        seeded_in: Some(seeded_in),
    })
}

/// 100 valid département codes: 01–95 without 20, 2A, 2B, 971–974.
fn departement(d: u64) -> String {
    match d {
        0..=93 => {
            let n = d + 1;
            format!("{:02}", if n >= 20 { n + 1 } else { n })
        }
        94 => "2A".into(),
        95 => "2B".into(),
        n => format!("{}", 971 + n - 96),
    }
}

fn seed(conn: &mut DbConnection) {
    let context = AuditContext::cli();
    let started = Instant::now();
    for n in 0..ORGANISATIONS {
        let organisation = Organisation {
            id: OrganisationId::new(id(K_ORGANISATION, n)),
            name: format!("Structure {n}"),
            kind: OrganisationKind::FranceServices,
            address: format!("{n} place de la Mairie"),
            departement: departement(n % DEPARTEMENTS).parse().unwrap(),
            siret: siret(n).parse().unwrap(),
            allowed_demarches: Demarche::ALL.into_iter().collect(),
            is_active: true,
            renewal_requires_identification: true,
        };
        organisations::insert(conn, &organisation, &context, NOW).unwrap();
    }
    println!(
        "  {:<40} {:>7.1} s",
        "organisations",
        started.elapsed().as_secs_f64()
    );
    // Their creation entries stay pending: the log below starts at seq 0 without them.

    // Bulk loads are much faster without the secondary indexes: keep their definitions,
    // drop them, load, and build them again exactly as the migrations wrote them (the
    // indexes of constraints stay).
    let indexes: Vec<IndexDef> = diesel::sql_query(
        "SELECT indexname::text AS indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_log' \
         AND indexname NOT IN (SELECT conname FROM pg_constraint)",
    )
    .load(conn)
    .unwrap();
    for index in &indexes {
        run(
            conn,
            &format!("drop {}", index.indexname),
            &format!("DROP INDEX {}", index.indexname),
        );
    }
    // Unlogged: the bulk load writes no WAL, which would need as much disk again as the table
    // (this machine's disk is shared); queries read the same heap and indexes either way.
    run(
        conn,
        "audit_log unlogged",
        "ALTER TABLE audit_log SET UNLOGGED; SET maintenance_work_mem = '1GB'",
    );
    let secs = HISTORY_DAYS * 86_400;
    let start = NOW.unix_timestamp() - secs;
    let org = format!(
        "(CASE WHEN h1 % 1000 < {LARGE_SHARE_PERMILLE} THEN 0 ELSE h2 % {ORGANISATIONS} END)"
    );
    let derived = format!(
        "SELECT i,
            (i * 2654435761) % 1000003 AS h1,
            (i * 40503 + 12345) % 1000033 AS h2,
            (i * 69069 + 1) % 999983 AS h3,
            (i * 1103515245 + 12345) % 1000037 AS h4
         FROM generate_series(0::bigint, {}) AS s(i)",
        ENTRIES - 1
    );
    let shaped = format!(
        "SELECT i, h3, h4,
            {org} AS org_n,
            CASE
              WHEN h3 % 1000 < 350 THEN 'delegation.started'
              WHEN h3 % 1000 < 700 THEN 'delegation.completed'
              WHEN h3 % 1000 < 800 THEN 'auth.signin.succeeded'
              WHEN h3 % 1000 < 850 THEN 'auth.stepup.succeeded'
              WHEN h3 % 1000 < 880 THEN 'mandate.created'
              WHEN h3 % 1000 < 940 THEN 'authorization.created'
              WHEN h3 % 1000 < 960 THEN 'authorization.revoked'
              WHEN h3 % 1000 < 970 THEN 'mandate.revoked'
              WHEN h3 % 1000 < 990 THEN 'auth.signout'
              WHEN h3 % 1000 < 998 THEN 'checkpoint.signed'
              WHEN h3 % 1000 < 999 THEN 'export.made'
              ELSE 'access.denied' END AS action,
            (TIMESTAMP '1970-01-01 00:00:00' + ({start} + i * {secs} / {ENTRIES}) * INTERVAL '1 second' + (h4 % 1000000) * INTERVAL '1 microsecond') AS at
         FROM ({derived}) AS d"
    );
    let demarches = Demarche::ALL
        .iter()
        .map(|d| format!("'{}'", d.key()))
        .collect::<Vec<_>>()
        .join(",");
    let columns = format!(
        "SELECT i, at, action,
            CASE WHEN action = 'delegation.completed' THEN 'client'
                 WHEN action = 'checkpoint.signed' THEN 'system' ELSE 'aidant' END AS actor_kind,
            CASE WHEN action = 'delegation.completed' THEN 'site-' || (h4 % 20)
                 WHEN action = 'checkpoint.signed' THEN NULL
                 ELSE {aidant} END AS actor_id,
            CASE WHEN action IN ('auth.stepup.succeeded', 'auth.signout', 'checkpoint.signed') THEN NULL
                 ELSE {organisation} END AS organisation_id,
            CASE WHEN action LIKE 'delegation.%' OR action LIKE 'mandate.%' OR action LIKE 'authorization.%'
                 THEN {usager} END AS usager,
            CASE WHEN action LIKE 'delegation.%' OR action LIKE 'authorization.%'
                 THEN (ARRAY[{demarches}])[1 + (h4 / 7) % 10] END AS demarche,
            CASE WHEN action LIKE 'delegation.%' THEN 'site-' || (h4 % 20) END AS client_id,
            CASE WHEN action = 'checkpoint.signed' THEN i::text ELSE {target} END AS target
         FROM ({shaped}) AS t",
        aidant = sql_id(K_AIDANT, &format!("org_n * {AIDANTS_PER_ORGANISATION} + h3 % {AIDANTS_PER_ORGANISATION}")),
        organisation = sql_id(K_ORGANISATION, "org_n"),
        usager = sql_subject(&format!("org_n * {USAGERS_PER_ORGANISATION} + (h4 / 3) % {USAGERS_PER_ORGANISATION}")),
        target = sql_id(9, "i"),
    );
    // The entry text has the canonical form's shape and size (about 330 bytes); the bench never
    // verifies it.
    let insert = format!(
        "INSERT INTO audit_log (seq, pending_id, entry, leaf_hash, at, action, actor_kind, actor_id,
                                organisation_id, usager, demarche, client_id, target)
         SELECT i, i,
            '{{\"action\":\"' || action || '\",\"actor\":{{' || COALESCE('\"id\":\"' || actor_id || '\",', '')
              || '\"kind\":\"' || actor_kind || '\"}},\"at\":\"' || to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '\"'
              || COALESCE(',\"client_id\":\"' || client_id || '\"', '')
              || COALESCE(',\"demarche\":\"' || demarche || '\"', '')
              || ',\"details\":{{\"authorization\":\"' || target || '\"}}'
              || COALESCE(',\"organisation_id\":\"' || organisation_id || '\"', '')
              || ',\"seq\":' || i || ',\"target\":\"' || target || '\"'
              || COALESCE(',\"usager\":\"' || usager || '\"', '') || '}}',
            decode(md5(i::text) || md5((i + 1)::text), 'hex'),
            at, action, actor_kind, actor_id, organisation_id, usager, demarche, client_id, target
         FROM ({columns}) AS c"
    );
    run(conn, "audit_log: 10,000,000 entries", &insert);
    for index in &indexes {
        run(conn, &format!("index {}", index.indexname), &index.indexdef);
    }
    run(conn, "vacuum analyze", "VACUUM ANALYZE");
}

// ---------------------------------------------------------------------------------------------
// Measuring

struct Shape {
    label: &'static str,
    scope: Scope,
    filter: JournalFilter,
    cursor: Cursor,
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

fn departement_scope(d: u64) -> Scope {
    Scope::Organisations(
        (0..ORGANISATIONS)
            .filter(|n| n % DEPARTEMENTS == d)
            .map(|n| OrganisationId::new(id(K_ORGANISATION, n)))
            .collect(),
    )
}

fn one(n: u64) -> Scope {
    Scope::Organisations(BTreeSet::from([OrganisationId::new(id(K_ORGANISATION, n))]))
}

fn measure(conn: &mut DbConnection, seeded_in: Option<Duration>) {
    let size = journal::log_size(conn).unwrap();
    println!("\nlog size: {size} entries");
    let deep = Cursor::Before(1_000_000);
    let middle = Cursor::Before(5_000_000);
    let dept = departement_scope(7);
    let big_dept = departement_scope(0); // holds the large structure 0
    let day = NOW - time::Duration::days(365);
    let f = JournalFilter::default;
    let shapes = vec![
        Shape {
            label: "national, newest",
            scope: Scope::All,
            filter: f(),
            cursor: Cursor::Newest,
        },
        Shape {
            label: "national, seq < 1,000,000",
            scope: Scope::All,
            filter: f(),
            cursor: deep,
        },
        Shape {
            label: "national, action access.denied (0.1 %)",
            scope: Scope::All,
            filter: JournalFilter {
                action: Some(Action::AccessDenied),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département (10 structures), newest",
            scope: dept.clone(),
            filter: f(),
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département, seq < 5,000,000",
            scope: dept.clone(),
            filter: f(),
            cursor: middle,
        },
        Shape {
            label: "département, seq < 1,000,000",
            scope: dept.clone(),
            filter: f(),
            cursor: deep,
        },
        Shape {
            label: "département with the large structure",
            scope: big_dept.clone(),
            filter: f(),
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département, action mandate.revoked",
            scope: dept.clone(),
            filter: JournalFilter {
                action: Some(Action::MandateRevoked),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département, action access.denied",
            scope: dept.clone(),
            filter: JournalFilter {
                action: Some(Action::AccessDenied),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département, démarche justice",
            scope: dept.clone(),
            filter: JournalFilter {
                demarche: Some(Demarche::Justice),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département, website site-7",
            scope: dept.clone(),
            filter: JournalFilter {
                client_id: Some("site-7".into()),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département, one day a year ago",
            scope: dept.clone(),
            filter: JournalFilter {
                from: Some(day),
                to: Some(day + time::Duration::days(1)),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département, one usager",
            scope: dept.clone(),
            filter: JournalFilter {
                usagers: Some(vec![subject(7 * USAGERS_PER_ORGANISATION + 11)]),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "département, one aidant",
            scope: dept.clone(),
            filter: JournalFilter {
                aidant: Some(AidantId::new(id(
                    K_AIDANT,
                    7 * AIDANTS_PER_ORGANISATION + 3,
                ))),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "one structure, newest",
            scope: one(7),
            filter: f(),
            cursor: Cursor::Newest,
        },
        Shape {
            label: "one structure, seq < 1,000,000",
            scope: one(7),
            filter: f(),
            cursor: deep,
        },
        Shape {
            label: "large structure, action + démarche",
            scope: one(0),
            filter: JournalFilter {
                action: Some(Action::DelegationStarted),
                demarche: Some(Demarche::Logement),
                ..f()
            },
            cursor: Cursor::Newest,
        },
        Shape {
            label: "one structure, action export.made",
            scope: one(7),
            filter: JournalFilter {
                action: Some(Action::ExportMade),
                ..f()
            },
            cursor: Cursor::Newest,
        },
    ];
    println!(
        "\nJournal explorer, one page of {} entries, warm cache, {RUNS} runs each (ms)",
        journal::PAGE_SIZE
    );
    println!("{:<44} | rows | median |    p95 |    max", "query shape");
    println!("{:-<44}-|-----:|-------:|-------:|------:", "");
    let mut worst: f64 = 0.0;
    for shape in &shapes {
        let mut rows = 0;
        for _ in 0..WARMUP {
            rows = journal::page(conn, &shape.scope, &shape.filter, shape.cursor)
                .unwrap()
                .rows
                .len();
        }
        let mut timings: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let page = journal::page(conn, &shape.scope, &shape.filter, shape.cursor).unwrap();
                std::hint::black_box(page);
                started.elapsed()
            })
            .collect();
        timings.sort();
        let p95 = percentile(&timings, 0.95);
        worst = worst.max(p95);
        println!(
            "{:<44} | {rows:>4} | {:>6.1} | {:>6.1} | {:>6.1}",
            shape.label,
            percentile(&timings, 0.5),
            p95,
            percentile(&timings, 1.0)
        );
    }
    println!("worst p95: {worst:.1} ms (aim: a page under 200 ms)");

    // Following "older" links: 20 pages in a row, each from the previous page's cursor.
    let mut cursor = Cursor::Newest;
    let started = Instant::now();
    for _ in 0..20 {
        let page = journal::page(conn, &dept, &f(), cursor).unwrap();
        cursor = Cursor::Before(page.older.unwrap());
    }
    println!(
        "département, 20 consecutive pages: {:.1} ms per page",
        started.elapsed().as_secs_f64() * 1e3 / 20.0
    );

    println!("\nStreamed exports (JSON lines into a sink)");
    for (label, scope) in [
        ("one structure", one(7)),
        ("département (10 structures)", dept.clone()),
    ] {
        let ticket = export::Ticket {
            up_to: i64::try_from(ENTRIES).unwrap(),
        };
        let started = Instant::now();
        let n = export::write_to(
            conn,
            &scope,
            &f(),
            Format::JsonLines,
            &ticket,
            &ac_localtime::LocalTimes::load().unwrap(),
            &mut std::io::sink(),
        )
        .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "{label:<30} {n:>8} entries in {elapsed:>6.2} s = {:>8.0} entries/s",
            n as f64 / elapsed
        );
        let started = Instant::now();
        let n = export::write_to(
            conn,
            &scope,
            &f(),
            Format::Csv,
            &ticket,
            &ac_localtime::LocalTimes::load().unwrap(),
            &mut std::io::sink(),
        )
        .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "{label:<30} {n:>8} entries in {elapsed:>6.2} s = {:>8.0} entries/s (CSV)",
            n as f64 / elapsed
        );
    }

    println!("\nDashboard (12 weeks of uses)");
    for (label, scope) in [("département", dept), ("national", Scope::All)] {
        let ids: Vec<OrganisationId> = scope
            .organisations(conn)
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        let started = Instant::now();
        let board = dashboard::dashboard(conn, &ids, NOW, 12).unwrap();
        println!(
            "{label:<30} {:>8} uses in {:>6.0} ms",
            board.total.uses,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    println!(
        "\nseeding: {}",
        seeded_in.map_or_else(
            || "cached".to_owned(),
            |d| format!("{:.0} s", d.as_secs_f64())
        )
    );
}
