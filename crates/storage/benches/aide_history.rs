//! The aidé's history page (« Ce qui a été fait pour moi », `ac_storage::aide_space::history`)
//! for a person with many delegated uses in a large journal, on SQLite and PostgreSQL. Results:
//! docs/performance.md ("The aidé's history"). Run with `make bench` (or
//! `cargo bench -p ac-storage --bench aide_history`).
//!
//! Method. A fresh database (`TestDatabase`: a SQLite file, and a PostgreSQL schema when
//! `AC_TEST_DATABASE_URL` is set) gets `AC_BENCH_HISTORY_ENTRIES` journal rows (10,000,000 by
//! default) in one set-based insert, the secondary indexes dropped for the load and built again as
//! the migrations wrote them, then `ANALYZE`. One person in `ENTRIES / USES` rows is the measured
//! person (`USES` = 10,000 delegated uses, spread evenly over the journal); the others belong to
//! 500,000 other pseudonyms, in the proportions of a delegated sign-in's entries. Then
//! `ROUNDS` reads of the first page (what the person sees first) and of a page half-way down (the
//! keyset `before` in the middle of their uses), each timed; printed: median and p99 per page, and
//! `/proc/loadavg` (other programs share the machine: compare figures at similar loads).

// A bench is a program run by hand, not library code: any failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)] // the seeded benches' helpers; this one uses a part of them
#[path = "support/mod.rs"]
mod support;

use ac_storage::testing::TestDatabase;
use ac_storage::{Backend, aide_space};
use std::time::{Duration, Instant};
use support::Dialect;
use time::macros::datetime;

/// The measured person's delegated uses.
const USES: u64 = 10_000;
/// Reads timed per page.
const ROUNDS: usize = 400;
/// The page size of `/mon-espace/historique`.
const PAGE: i64 = 21;
/// The measured person's pseudonym: 64 hex digits no other seeded pseudonym has.
const SUBJECT: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn entries() -> u64 {
    std::env::var("AC_BENCH_HISTORY_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

fn seed(db: &TestDatabase, entries: u64) {
    let sql = Dialect {
        backend: db.backend(),
        now: datetime!(2027-03-01 12:00 UTC),
    };
    let every = (entries / USES).max(1);
    let indexes = support::secondary_indexes(&mut db.db.conn().unwrap(), db.backend(), "audit_log");
    let run = |label: &str, statement: &str| {
        let started = Instant::now();
        let statement = match db.backend() {
            // Seeding only: a 1 GiB page cache keeps the index builds in memory.
            Backend::Sqlite => format!("PRAGMA cache_size = -1048576; {statement}"),
            Backend::Postgres => statement.to_owned(),
        };
        db.execute_raw(&statement)
            .unwrap_or_else(|e| panic!("seeding {label}: {e}"));
        println!("  {label:<40} {:>7.1} s", started.elapsed().as_secs_f64());
    };
    let drops: String = indexes
        .iter()
        .map(|i| format!("DROP INDEX {};", i.name))
        .collect();
    run("drop audit_log's secondary indexes", &drops);
    let (prefix, from) = sql.numbers(entries);
    let leaf = match db.backend() {
        Backend::Sqlite => "randomblob(32)".to_owned(),
        Backend::Postgres => "decode(md5(i::text) || md5((i + 1)::text), 'hex')".to_owned(),
    };
    let mine = format!("i % {every} = 0");
    run(
        &format!("audit_log: {entries} entries"),
        &format!(
            "{prefix}INSERT INTO audit_log (seq, pending_id, entry, leaf_hash, at, action, \
               actor_kind, actor_id, organisation_id, usager, demarche, client_id, target) \
             SELECT i, i, '{{}}', {leaf}, {at}, \
               CASE WHEN {mine} THEN 'delegation.completed' ELSE CASE i % 4 \
                 WHEN 0 THEN 'delegation.started' WHEN 1 THEN 'delegation.completed' \
                 WHEN 2 THEN 'auth.signin.succeeded' ELSE 'mandate.created' END END, \
               'aidant', {actor}, {organisation}, \
               CASE WHEN {mine} THEN '{SUBJECT}' ELSE {other} END, \
               'social', NULL, NULL \
             FROM {from}",
            at = sql.before_now(&format!("{entries} - i")),
            actor = sql.id(1, "i % 100"),
            organisation = sql.id(2, "i % 100"),
            other = sql.hex("(i * 7919) % 500000", 64),
        ),
    );
    for index in &indexes {
        run(&format!("index {}", index.name), &index.definition);
    }
    run("analyze", "ANALYZE");
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let at = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[at].as_secs_f64() * 1000.0
}

fn measure(db: &TestDatabase, label: &str, before: Option<i64>) {
    let conn = &mut *db.db.conn().unwrap();
    let mut times = Vec::with_capacity(ROUNDS);
    let mut lines = 0;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        lines = aide_space::history(conn, SUBJECT, before, PAGE)
            .unwrap()
            .len();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "  {label:<28} {lines} lines   p50 {:>7.3} ms   p99 {:>7.3} ms",
        percentile(&times, 50),
        percentile(&times, 99)
    );
}

fn main() {
    let entries = entries();
    for db in TestDatabase::each().unwrap() {
        println!(
            "{:?}: {entries} journal entries, {USES} of them the person's",
            db.backend()
        );
        let started = Instant::now();
        seed(&db, entries);
        println!("  seeded in {:.0} s", started.elapsed().as_secs_f64());
        let every = i64::try_from((entries / USES).max(1)).unwrap();
        let middle = i64::try_from(USES / 2).unwrap() * every;
        measure(&db, "first page", None);
        measure(&db, "page half-way down", Some(middle));
        println!(
            "  load: {}",
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );
    }
}
