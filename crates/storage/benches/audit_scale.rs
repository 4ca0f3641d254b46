//! Full verification (`audit::verify`) at scale, and an inclusion proof (`audit::prove`) of the
//! middle entry: entries/s, milliseconds and the process's peak resident memory, on a log of
//! 1,000,000 entries and on one of `AC_BENCH_AUDIT_ENTRIES` (default 10,000,000 on SQLite,
//! 3,000,000 on PostgreSQL: `AC_BENCH_AUDIT_SQLITE_ENTRIES` and `AC_BENCH_AUDIT_PG_ENTRIES` set
//! each, 0 skips it), so the reader sees that memory does not
//! grow with the log; and on a quiet log of `AC_BENCH_AUDIT_QUIET_ENTRIES` (default 100,000, 0
//! skips it), each entry followed by a signed checkpoint, so that holding the checkpoints would
//! show too. Method and results: docs/performance.md ("Audit log: append and verify").
//! Run with `make bench` (or `cargo bench -p ac-storage --bench audit_scale`).
//!
//! The logs are written through the service's own path: `journal::record` in transactions of
//! 100,000 entries of the production shape, `audit::integrate_all` in batches of 5,000 (real
//! leaf hashes and tree heads), and `audit::sign_checkpoint` after each transaction (a signed
//! checkpoint and its `checkpoint.signed` entry). Each log is seeded once and cached (SQLite
//! under `target/bench-data/`, PostgreSQL in a dedicated database per size), keyed by the
//! migrations and a seed version.
//!
//! Peak memory is `VmHWM` from `/proc/self/status`, reset before each verification by writing
//! 5 to `/proc/self/clear_refs` (Linux), so seeding does not count.

// A bench is a program run by hand, not library code: any failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ac_audit::{Action, SignerKey};
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::schema::{audit_checkpoints, audit_heads};
use ac_storage::{Database, DatabaseUrl, DbConnection, OpenMode, PoolOptions, audit, write};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::macros::datetime;

#[allow(dead_code)] // the seeds' shared helpers; this bench uses the caching part
#[path = "support/mod.rs"]
mod support;
use support::{PgBench, Prepared, pg_bench_database, schema_key, workspace_root};

const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);
const ORIGIN: &str = "bench.example/audit";
/// The small log, measured in the same run as the large one.
const SMALL: u64 = 1_000_000;
const DEFAULT_ENTRIES: u64 = 10_000_000;
const DEFAULT_PG_ENTRIES: u64 = 3_000_000;
/// Entries recorded per transaction in a busy log; a checkpoint is signed after each.
const CHUNK: u64 = 100_000;
/// Entries recorded in the quiet log (each followed by its checkpoint's own entry).
const DEFAULT_QUIET_ENTRIES: u64 = 100_000;
const BATCH: i64 = 5_000;
/// Bump when the seeded data changes, so the cached databases are rebuilt.
const SEED_VERSION: u32 = 1;
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/ac_bench_audit_scale";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, [5; 32]).unwrap()
}

/// The same entries as the `audit` bench: a delegation, about 330 bytes of canonical JSON.
fn event(i: u64) -> Event {
    Event::new(Action::DelegationCompleted)
        .usager(&format!("{:064x}", i % 300_000))
        .demarche(ac_mandates::Demarche::ALL[(i % 10) as usize])
        .client("demo-partner")
        .target(format!("authz-{i}"))
        .detail("mandate", format!("mandate-{}", i / 3))
}

/// How a seeded log was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A busy service: [`CHUNK`] entries a transaction, a checkpoint signed after each.
    Busy,
    /// A quiet one: each entry integrated alone and a checkpoint signed after it, so a tree head
    /// and a signed checkpoint for about every two entries (the checkpoint's own entry is the
    /// other): the most checkpoints a log of its size can hold.
    Quiet,
}

impl Shape {
    /// Entries recorded per transaction.
    fn chunk(self) -> u64 {
        match self {
            Shape::Busy => CHUNK,
            Shape::Quiet => 1,
        }
    }

    /// How the cached seeds and the report name it.
    fn name(self) -> &'static str {
        match self {
            Shape::Busy => "",
            Shape::Quiet => "quiet",
        }
    }

    fn progress_every(self) -> u64 {
        match self {
            Shape::Busy => 1_000_000,
            Shape::Quiet => 20_000,
        }
    }
}

fn entries_wanted(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map_or(default, |v| v.replace('_', "").parse().unwrap())
}

fn main() {
    // `cargo test --benches` runs this binary without `--bench`: do not seed millions then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("audit_scale bench: run it with `cargo bench -p ac-storage --bench audit_scale`");
        return;
    }
    let large = entries_wanted("AC_BENCH_AUDIT_ENTRIES", DEFAULT_ENTRIES);
    let mut reports = Vec::new();
    // Each backend's large size may be set apart (0 skips the backend).
    let sqlite_large = entries_wanted("AC_BENCH_AUDIT_SQLITE_ENTRIES", large);
    let mut sizes = vec![SMALL.min(sqlite_large), sqlite_large];
    sizes.dedup();
    sizes.retain(|&n| n > 0);
    for &size in &sizes {
        let prepared = prepare_sqlite(size, Shape::Busy);
        reports.push(measure("SQLite", &prepared, size));
    }
    // The most checkpoints per entry: verification must not hold them all either.
    let quiet = entries_wanted("AC_BENCH_AUDIT_QUIET_ENTRIES", DEFAULT_QUIET_ENTRIES);
    if quiet > 0 {
        let prepared = prepare_sqlite(quiet, Shape::Quiet);
        reports.push(measure("SQLite q", &prepared, quiet));
    }

    // PostgreSQL seeds through the service's path at a third of SQLite's rate, slowing as the
    // log grows (docs/performance.md): its large log is smaller unless asked for.
    let pg_large = entries_wanted("AC_BENCH_AUDIT_PG_ENTRIES", large.min(DEFAULT_PG_ENTRIES));
    let mut pg_sizes = vec![SMALL.min(pg_large), pg_large];
    pg_sizes.dedup();
    let url = std::env::var("AC_BENCH_AUDIT_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned());
    if pg_large == 0 {
        println!("PostgreSQL: skipped (AC_BENCH_AUDIT_PG_ENTRIES=0)");
    } else {
        let logs = pg_sizes
            .iter()
            .map(|&size| (size, Shape::Busy, "PostgreSQL"))
            .chain((quiet > 0).then_some((quiet, Shape::Quiet, "PG q")));
        for (size, shape, label) in logs {
            match prepare_postgres(&url, size, shape) {
                Ok(prepared) => reports.push(measure(label, &prepared, size)),
                Err(notice) => {
                    println!("PostgreSQL skipped: {notice}");
                    break;
                }
            }
        }
    }

    println!(
        "\naudit::verify at scale (one reading connection per core, {} cores), load average {}",
        std::thread::available_parallelism().map_or(1, usize::from),
        load_average()
    );
    println!(
        "backend    |    entries |  heads | checkpoints | verify s | entries/s | RSS before MiB | peak RSS MiB | prove ms | prove +KiB | seeding"
    );
    println!(
        "-----------|-----------:|-------:|------------:|---------:|----------:|---------------:|-------------:|---------:|-----------:|--------"
    );
    for r in &reports {
        println!(
            "{:<10} | {:>10} | {:>6} | {:>11} | {:>8.1} | {:>9.0} | {:>14.0} | {:>12.0} | {:>8.0} | {:>10} | {}",
            r.backend,
            r.entries,
            r.heads,
            r.checkpoints,
            r.seconds,
            r.entries as f64 / r.seconds,
            r.rss_before_kib as f64 / 1024.0,
            r.peak_kib as f64 / 1024.0,
            r.prove_ms,
            r.prove_growth_kib,
            r.seeded_in.map_or_else(
                || "cached".to_owned(),
                |d| format!("{:.0} s", d.as_secs_f64())
            )
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding

fn database_name(size: u64, shape: Shape) -> String {
    format!(
        "audit_scale-{}{size}-{:016x}",
        shape.name(),
        schema_key(SEED_VERSION)
    )
}

fn prepare_sqlite(size: u64, shape: Shape) -> Prepared {
    let dir = workspace_root().join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let name = database_name(size, shape);
    let path = dir.join(format!("{name}.sqlite"));
    let url = DatabaseUrl::Sqlite(path.clone());
    if path.exists() {
        println!("sqlite: using cached {}", path.display());
        return Prepared {
            url,
            seeded_in: None,
        };
    }
    // A 10,000,000-entry log is several GB: keep only the current seed of each size.
    let prefix = format!("audit_scale-{}{size}-", shape.name());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let old = entry.unwrap().path();
        if old
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        {
            std::fs::remove_file(&old).unwrap();
        }
    }
    // Seed under another name and rename at the end, so an interrupted run is never reused.
    let partial = dir.join(format!("{name}.sqlite.partial"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    println!("sqlite: seeding {} with {size} entries", path.display());
    let started = Instant::now();
    {
        let db = Database::open(
            &DatabaseUrl::Sqlite(partial.clone()),
            OpenMode::CreateIfMissing,
            &PoolOptions {
                max_connections: 1,
                ..PoolOptions::default()
            },
        )
        .unwrap();
        let mut conn = db.conn().unwrap();
        ac_storage::migrations::run_pending(&mut conn).unwrap();
        seed(&mut conn, size, shape);
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    std::fs::rename(&partial, &path).unwrap();
    let seeded_in = started.elapsed();
    println!(
        "sqlite: seeded in {:.0} s ({:.0} entries/s), {} MB",
        seeded_in.as_secs_f64(),
        size as f64 / seeded_in.as_secs_f64(),
        std::fs::metadata(&path).unwrap().len() / 1_000_000
    );
    Prepared {
        url,
        seeded_in: Some(seeded_in),
    }
}

/// One dedicated database per size (`…_1000000`), seeded once; see `support::pg_bench_database`.
fn prepare_postgres(url: &str, size: u64, shape: Shape) -> Result<Prepared, String> {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let sized = match query {
        Some(q) => format!("{base}_{}{size}?{q}", shape.name()),
        None => format!("{base}_{}{size}", shape.name()),
    };
    let bench = format!("audit_scale {}{size}", shape.name());
    let (url, marker) = match pg_bench_database(&sized, &bench, SEED_VERSION)? {
        PgBench::Cached(prepared) => return Ok(prepared),
        PgBench::Empty { url, marker } => (url, marker),
    };
    println!("postgres: seeding {url} with {size} entries");
    let started = Instant::now();
    let db = Database::open(
        &url,
        OpenMode::MustExist,
        &PoolOptions {
            max_connections: 1,
            ..PoolOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let conn = &mut *db.conn().unwrap();
    ac_storage::migrations::run_pending(conn).unwrap();
    seed(conn, size, shape);
    // Autovacuum is off on the shared server (docs/performance.md): plan on fresh statistics.
    conn.batch_execute("VACUUM ANALYZE").unwrap();
    // The marker is written last: it exists only if the whole seed went through.
    conn.batch_execute(&format!("COMMENT ON SCHEMA public IS '{marker}'"))
        .unwrap();
    let seeded_in = started.elapsed();
    println!(
        "postgres: seeded in {:.0} s ({:.0} entries/s)",
        seeded_in.as_secs_f64(),
        size as f64 / seeded_in.as_secs_f64()
    );
    Ok(Prepared {
        url,
        seeded_in: Some(seeded_in),
    })
}

/// `size` entries through the service's path, one second apart and ending at `NOW`: recorded
/// [`Shape::chunk`] per transaction, integrated in batches of [`BATCH`], a checkpoint signed
/// after each transaction (whose own entry is integrated with the next).
fn seed(conn: &mut DbConnection, size: u64, shape: Shape) {
    let key = key();
    let context = AuditContext::system();
    let at = |i: u64| NOW - Duration::from_secs(size - i);
    let started = Instant::now();
    let mut recorded = 0;
    while recorded < size {
        let end = (recorded + shape.chunk()).min(size);
        write(conn, |tx| {
            for i in recorded..end {
                journal::record(tx, &context, event(i), at(i))?;
            }
            Ok::<_, ac_storage::StorageError>(())
        })
        .unwrap();
        audit::integrate_all(conn, BATCH, at(end - 1)).unwrap();
        audit::sign_checkpoint(conn, &key, false, at(end - 1)).unwrap();
        recorded = end;
        if recorded % shape.progress_every() == 0 || recorded == size {
            println!(
                "  {recorded:>10} entries in {:>5.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    audit::integrate_all(conn, BATCH, NOW).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Measuring

struct Report {
    backend: &'static str,
    entries: u64,
    heads: i64,
    checkpoints: i64,
    seconds: f64,
    rss_before_kib: u64,
    peak_kib: u64,
    /// `audit::prove` of the middle entry: milliseconds, and the peak's growth in KiB.
    prove_ms: f64,
    prove_growth_kib: u64,
    seeded_in: Option<Duration>,
}

/// A `kB` line of `/proc/self/status` (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resets `VmHWM` to the current resident size (Linux ≥ 4.0, proc(5) "clear_refs").
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("cannot reset VmHWM");
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn measure(backend: &'static str, prepared: &Prepared, size: u64) -> Report {
    let db = Database::open(&prepared.url, OpenMode::MustExist, &PoolOptions::default()).unwrap();
    let (heads, checkpoints) = {
        let conn = &mut *db.conn().unwrap();
        let heads: i64 = audit_heads::table.count().get_result(conn).unwrap();
        let checkpoints: i64 = audit_checkpoints::table.count().get_result(conn).unwrap();
        (heads, checkpoints)
    };
    // A first pass warms the page cache (and the pool's connections); the second's speed is
    // reported. Memory is over both: the resident size before the first (what earlier work left
    // in the allocator included) and the higher of the two peaks.
    let (_, _, rss_before_kib, first_peak_kib) = verify_once(backend, &db, size, "warm-up");
    let (entries, seconds, _, peak_kib) = verify_once(backend, &db, size, "measured");
    let peak_kib = peak_kib.max(first_peak_kib);
    // The proof last: run first, its large allocations once freed raise glibc's dynamic mmap
    // threshold (mallopt(3)), which made the verifications after it about 10 % faster (seen
    // 2026-12-06; equal again with `MALLOC_MMAP_THRESHOLD_` fixed). Its growth is measured
    // over the resident size the verifications left, so it shows only beyond what they freed.
    let (prove_ms, prove_growth_kib) = prove_once(backend, &db);
    Report {
        backend,
        entries,
        heads,
        checkpoints,
        seconds,
        rss_before_kib,
        peak_kib,
        prove_ms,
        prove_growth_kib,
        seeded_in: prepared.seeded_in,
    }
}

/// One `audit::prove` of the middle entry under the latest checkpoint, checked offline:
/// milliseconds, and how far the resident peak rose above the resident size before.
fn prove_once(backend: &str, db: &Database) -> (f64, u64) {
    let conn = &mut *db.conn().unwrap();
    let entries = audit::latest_checkpoint(conn).unwrap().unwrap().tree_size;
    reset_peak();
    let rss_before_kib = status_kib("VmRSS");
    let started = Instant::now();
    let bundle = audit::prove(conn, entries / 2).unwrap();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let growth = status_kib("VmHWM").saturating_sub(rss_before_kib);
    ac_audit::verify_bundle(&bundle, &[key().verifier()]).unwrap();
    println!(
        "{backend} {entries}: audit::prove of entry {} in {ms:.0} ms, peak +{growth} KiB",
        entries / 2
    );
    (ms, growth)
}

/// One `audit::verify`: entries, seconds, resident KiB before and peak resident KiB during.
fn verify_once(backend: &str, db: &Database, size: u64, pass: &str) -> (u64, f64, u64, u64) {
    let expect = audit::Expectations::new(NOW, time::Duration::minutes(15));
    let verifiers = [key().verifier()];
    reset_peak();
    let rss_before_kib = status_kib("VmRSS");
    let started = Instant::now();
    let report = audit::verify(db, &verifiers, &[], &expect).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let peak_kib = status_kib("VmHWM");
    assert_eq!(report.problem, None, "{backend} {size}");
    assert!(report.entries >= size);
    println!(
        "{backend} {size} ({pass}): {} entries in {seconds:.1} s = {:.0} entries/s, RSS {} MiB before, peak {} MiB",
        report.entries,
        report.entries as f64 / seconds,
        rss_before_kib / 1024,
        peak_kib / 1024
    );
    (report.entries, seconds, rss_before_kib, peak_kib)
}
