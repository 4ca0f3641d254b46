//! Audit log throughput and verification, on SQLite and PostgreSQL.
//!
//! 1. Appends: concurrent writers, one journal entry per write transaction (the shape of real
//!    actions), while one integrator runs — entries/s appended and integrated.
//! 2. Integration in batches: a backlog of pending entries integrated with `integrate_all`.
//! 3. Full verification (`audit::verify`) of the resulting log: entries/s.
//! 4. Proofs at 1,000,000 entries (pure, from `ac-audit`): size and verification time.
//!
//! Method and results: docs/performance.md. Run with `make bench`.

// A bench is a program run by hand, not library code: any failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ac_audit::merkle::{self, Hash};
use ac_audit::{Action, Checkpoint, Entry, EntryView, InclusionBundle, SignerKey, verify_bundle};
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::testing::TestDatabase;
use ac_storage::{DbConnection, audit, write};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);
const ORIGIN: &str = "bench.example/audit";
const BACKLOG: usize = 200_000;
const BATCH: i64 = 5_000;
const PROOF_TREE: u64 = 1_000_000;

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, [5; 32]).unwrap()
}

fn event(i: usize) -> Event {
    Event::new(Action::DelegationCompleted)
        .usager(&format!("{:064x}", i % 300_000))
        .demarche(ac_mandates::Demarche::ALL[i % 10])
        .client("demo-partner")
        .target(format!("authz-{i}"))
        .detail("mandate", format!("mandate-{}", i / 3))
}

/// Concurrent writers (one entry per transaction) with an integrator running alongside.
fn appends(db: &TestDatabase, writers: usize, per_writer: usize) {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..writers {
            let pool = db.db.clone();
            scope.spawn(move || {
                let mut conn = pool.conn().unwrap();
                for i in 0..per_writer {
                    let context = AuditContext::system();
                    write(&mut conn, |tx| {
                        journal::record(tx, &context, event(w * per_writer + i), NOW)
                    })
                    .unwrap();
                }
            });
        }
        let pool = db.db.clone();
        scope.spawn(move || {
            let mut conn = pool.conn().unwrap();
            let mut done = 0;
            while done < writers * per_writer {
                done += audit::integrate(&mut conn, BATCH, NOW).unwrap();
                if done < writers * per_writer {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
    });
    let elapsed = started.elapsed().as_secs_f64();
    let n = writers * per_writer;
    println!(
        "  appends: {writers} writers x {per_writer} = {n} entries, one per transaction, integrated alongside: {:.0} entries/s",
        n as f64 / elapsed
    );
}

/// Bulk-loads `n` pending entries (one transaction), then times their integration.
fn backlog(db: &TestDatabase, n: usize) {
    let conn = &mut *db.db.conn().unwrap();
    let context = AuditContext::system();
    let loaded = Instant::now();
    write(conn, |tx| {
        for i in 0..n {
            journal::record(tx, &context, event(i), NOW)?;
        }
        Ok::<_, ac_storage::StorageError>(())
    })
    .unwrap();
    let load = loaded.elapsed().as_secs_f64();
    let started = Instant::now();
    let integrated = audit::integrate_all(conn, BATCH, NOW).unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "  journal::record in one transaction: {:.0} entries/s; integration in batches of {BATCH}: {integrated} entries in {elapsed:.2} s = {:.0} entries/s",
        n as f64 / load,
        integrated as f64 / elapsed
    );
}

fn verification(db: &TestDatabase) {
    let conn = &mut *db.db.conn().unwrap();
    audit::sign_checkpoint(conn, &key(), true, NOW).unwrap();
    let started = Instant::now();
    let report = audit::verify(
        &db.db,
        &[key().verifier()],
        &[],
        &audit::Expectations::new(NOW, time::Duration::minutes(15)),
    )
    .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(report.problem, None);
    println!(
        "  full verification: {} entries in {elapsed:.2} s = {:.0} entries/s",
        report.entries,
        report.entries as f64 / elapsed
    );
    breakdown(conn);
    let started = Instant::now();
    let bundle = audit::prove(conn, report.entries / 2).unwrap();
    println!(
        "  audit::prove at {} entries (reads every leaf hash): {:.0} ms",
        report.entries,
        started.elapsed().as_secs_f64() * 1000.0
    );
    verify_bundle(&bundle, &[key().verifier()]).unwrap();
}

/// Where verification time goes: reading the rows, then checking each entry (one core).
fn breakdown(conn: &mut DbConnection) {
    use ac_storage::schema::audit_log;
    use diesel::prelude::*;
    let started = Instant::now();
    let rows: Vec<(i64, String, Vec<u8>)> = audit_log::table
        .order(audit_log::seq)
        .select((audit_log::seq, audit_log::entry, audit_log::leaf_hash))
        .load(conn)
        .unwrap();
    let read = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for (_, text, _) in &rows {
        std::hint::black_box(EntryView::read_str(text).unwrap());
    }
    let parse = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for (_, text, _) in &rows {
        std::hint::black_box(merkle::leaf_hash(text.as_bytes()));
    }
    let hash = started.elapsed().as_secs_f64();
    let n = rows.len() as f64;
    println!(
        "  breakdown per entry: read seq+entry+hash {:.2} µs, canonical parse {:.2} µs, leaf hash {:.2} µs (one core)",
        read * 1e6 / n,
        parse * 1e6 / n,
        hash * 1e6 / n
    );
}

/// Proof size and verification time at 1,000,000 entries, with the pure crate.
fn proofs_at_a_million() {
    let leaves: Vec<Hash> = (0..PROOF_TREE)
        .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
        .collect();
    let started = Instant::now();
    let root = merkle::root(&leaves);
    let root_ms = started.elapsed().as_secs_f64() * 1000.0;
    let seq = 765_432;
    let entry = Entry {
        seq,
        at: NOW,
        action: Action::DelegationCompleted,
        actor: ac_audit::Actor::aidant("aidant-1"),
        organisation_id: Some("org-1".into()),
        usager: Some("ab".repeat(32)),
        demarche: Some("social".into()),
        client_id: Some("demo-partner".into()),
        target: Some("authz-1".into()),
        request_id: Some("0190f3c1-7d2a-7c3e-9a4b-1234567890ab".into()),
        details: Default::default(),
    };
    let mut leaves = leaves;
    leaves[seq as usize] = entry.leaf_hash().unwrap();
    let root_with_entry = merkle::root(&leaves);
    assert_ne!(root, root_with_entry);
    let proof = merkle::inclusion_proof(&leaves, seq).unwrap();
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: PROOF_TREE,
        root: root_with_entry,
    }
    .sign(&key())
    .unwrap();
    let bundle = InclusionBundle::new(&entry, PROOF_TREE, &proof, checkpoint).unwrap();
    let json = serde_json::to_string(&bundle).unwrap();
    let rounds = 2_000;
    let started = Instant::now();
    for _ in 0..rounds {
        verify_bundle(std::hint::black_box(&bundle), &[key().verifier()]).unwrap();
    }
    let per_verify = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let started = Instant::now();
    for _ in 0..rounds {
        merkle::verify_inclusion(
            &leaves[seq as usize],
            seq,
            PROOF_TREE,
            &proof,
            &root_with_entry,
        )
        .unwrap();
    }
    let per_path = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    println!("proofs at {PROOF_TREE} entries:");
    println!("  root of 1,000,000 leaves from scratch: {root_ms:.0} ms");
    println!(
        "  audit path: {} hashes = {} bytes; whole bundle (entry + path + signed checkpoint) as JSON: {} bytes",
        proof.len(),
        proof.len() * 32,
        json.len()
    );
    println!(
        "  verify_inclusion (path only): {per_path:.1} µs; verify_bundle (signature + entry + path): {per_verify:.1} µs"
    );
}

fn run(db: &TestDatabase, writers: usize) {
    println!("{:?}:", db.backend());
    appends(db, writers, 500);
    backlog(db, BACKLOG);
    verification(db);
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let sqlite = TestDatabase::sqlite().unwrap();
    run(&sqlite, 4);
    match std::env::var("AC_BENCH_DATABASE_URL").or_else(|_| std::env::var("AC_TEST_DATABASE_URL"))
    {
        Ok(url) => {
            let pg = TestDatabase::postgres(&url).unwrap();
            // As many writers as the pool has connections; PostgreSQL group-commits their transactions.
            run(&pg, 8);
        }
        Err(_) => {
            println!("PostgreSQL: skipped (set AC_BENCH_DATABASE_URL or AC_TEST_DATABASE_URL)")
        }
    }
    proofs_at_a_million();
}
