//! The identity provider under load, through HTTP, against a running server (this package's
//! binary, started as a separate process) on SQLite and PostgreSQL.
//!
//! - **Delegated flows**: many signed-in aidants, each looping authorize → person list →
//!   démarche page → code (form POST) → token → userinfo, as a partner and a browser would,
//!   against a database that already holds 5,000 earlier delegations (`past_delegations`).
//! - **`/token` alone**: codes written straight into the database, then exchanged concurrently.
//!
//! Prints flows/s, per-step median and p99, and the CPU time each flow costs the server,
//! PostgreSQL and the load generator (from `/proc`); see docs/performance.md ("OIDC flows").
//! Settings (environment): `AC_BENCH_OIDC_DATABASE_URL` (PostgreSQL, default
//! `postgres://postgres@127.0.0.1:5432/ac_bench_oidc`, created if missing and wiped: its name must
//! contain "bench"), `AC_BENCH_CONCURRENCY` (64), `AC_BENCH_SECONDS` (20), `AC_BENCH_AIDANTS`
//! (200), `AC_BENCH_POOL` (server pool size, 16), `AC_BENCH_WORKERS` (server HTTP workers, 2),
//! `AC_BENCH_BACKENDS` (`sqlite,postgres`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // a bench program: failing loudly is the point

// The nodes, the seeded pilot and the delegated flow, shared with the cluster and failover
// tests; the bench uses a part of it.
#[allow(dead_code)]
#[path = "../tests/support/nodes.rs"]
mod nodes;

use ac_auth::{Token, TokenHash};
use ac_clock::{Clock, SystemClock};
use ac_mandates::{AidantId, Demarche, OrganisationId};
use ac_storage::journal::AuditContext;
use ac_storage::oidc_grants::{Delegation, NewAccessToken, NewCode};
use ac_storage::{
    Backend, Database, DatabaseUrl, DbConnection, OpenMode, PoolOptions, oidc_grants,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use nodes::{CLIENT_ID, CLIENT_SECRET, Node, REDIRECT_URI, STEPS, delegated_flow, http_client};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGERS_PER_STRUCTURE: usize = 20;
const AIDANTS_PER_STRUCTURE: usize = 4;
/// Delegations made before the measured window (`past_delegations`).
const PAST_DELEGATIONS: usize = 5_000;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "oidc_flows bench: run it with `cargo bench -p aidants-connect --bench oidc_flows`"
        );
        return;
    }
    let concurrency = env_number("AC_BENCH_CONCURRENCY", 64);
    let seconds = env_number("AC_BENCH_SECONDS", 20) as u64;
    let aidants = env_number("AC_BENCH_AIDANTS", 200).max(concurrency);
    let pool = env_number("AC_BENCH_POOL", 16);
    let mut reports = Vec::new();

    let backends = std::env::var("AC_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let dir = tempfile::tempdir().unwrap();
    if backends.contains("sqlite") {
        let sqlite = DatabaseUrl::Sqlite(dir.path().join("bench.db"));
        reports.push(run(
            &sqlite,
            "SQLite",
            dir.path(),
            concurrency,
            seconds,
            aidants,
            pool,
        ));
    }

    let pg = std::env::var("AC_BENCH_OIDC_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/ac_bench_oidc".into());
    if backends.contains("postgres") {
        match prepare_postgres(&pg) {
            Ok(url) => reports.push(run(
                &url,
                "PostgreSQL",
                dir.path(),
                concurrency,
                seconds,
                aidants,
                pool,
            )),
            Err(notice) => println!("\nPostgreSQL skipped: {notice}"),
        }
    }

    println!(
        "\nOIDC delegated flows through HTTP: {concurrency} concurrent aidants (of {aidants}), {seconds} s, server pool {pool}"
    );
    println!(
        "backend    | flows | flows/s | errors | step                |  median ms |    p99 ms"
    );
    println!(
        "-----------|------:|--------:|-------:|---------------------|-----------:|---------:"
    );
    for r in &reports {
        for (i, step) in STEPS.iter().enumerate() {
            let (median, p99) = percentiles(&r.steps[i]);
            if i == 0 {
                println!(
                    "{:<10} | {:>5} | {:>7.1} | {:>6} | {:<19} | {:>10.2} | {:>8.2}",
                    r.backend, r.flows, r.flows_per_sec, r.errors, step, median, p99
                );
            } else {
                println!(
                    "{:<10} |       |         |        | {:<19} | {:>10.2} | {:>8.2}",
                    "", step, median, p99
                );
            }
        }
        let (median, p99) = percentiles(&r.flow);
        println!(
            "{:<10} |       |         |        | {:<19} | {:>10.2} | {:>8.2}",
            "", "whole flow", median, p99
        );
    }
    print_cpu(&reports);
    println!(
        "\n/token alone (codes written to the database first), {concurrency} concurrent requests"
    );
    println!("backend    | requests | req/s  | errors | median ms | p99 ms");
    println!("-----------|---------:|-------:|-------:|----------:|-------:");
    for r in &reports {
        let (median, p99) = percentiles(&r.token.latencies);
        println!(
            "{:<10} | {:>8} | {:>6.1} | {:>6} | {:>9.2} | {:>6.2}",
            r.backend, r.token.requests, r.token.per_sec, r.token.errors, median, p99
        );
    }
}

fn percentiles(samples: &[f64]) -> (f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let at =
        |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    (at(0.5), at(0.99))
}

fn prepare_postgres(url: &str) -> Result<DatabaseUrl, String> {
    let (server, rest) = url
        .rsplit_once('/')
        .ok_or_else(|| format!("{url}: no database name"))?;
    let name = rest.split('?').next().unwrap_or_default();
    if !name.contains("bench")
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "database {name:?} must contain \"bench\" (it is wiped)"
        ));
    }
    let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres"))
        .map_err(|e| format!("cannot reach {server}: {}", e.to_string().trim()))?;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let exists = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Count>(&mut admin)
        .map_err(|e| e.to_string())?
        .n
        > 0;
    if !exists {
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| e.to_string())?;
    }
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    conn.batch_execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        .map_err(|e| e.to_string())?;
    url.parse()
        .map_err(|e: ac_storage::StorageError| e.to_string())
}

struct Report {
    backend: &'static str,
    flows: usize,
    flows_per_sec: f64,
    errors: usize,
    steps: Vec<Vec<f64>>,
    flow: Vec<f64>,
    cpu: Option<CpuPerFlow>,
    token: TokenReport,
}

struct TokenReport {
    requests: usize,
    per_sec: f64,
    errors: usize,
    latencies: Vec<f64>,
}

struct Worker {
    steps: Vec<Vec<f64>>,
    flow: Vec<f64>,
    flows: usize,
    errors: usize,
}

fn run(
    url: &DatabaseUrl,
    backend: &'static str,
    files_root: &Path,
    concurrency: usize,
    seconds: u64,
    aidants: usize,
    pool: usize,
) -> Report {
    println!("{backend}: migrating and seeding…");
    let files = files_root.join(backend);
    std::fs::create_dir_all(&files).unwrap();
    let db = Database::open(url, OpenMode::CreateIfMissing, &PoolOptions::default()).unwrap();
    ac_storage::migrations::run_pending(&mut db.conn().unwrap()).unwrap();
    let seeded = nodes::seed(
        &db,
        aidants.div_ceil(AIDANTS_PER_STRUCTURE),
        AIDANTS_PER_STRUCTURE,
        USAGERS_PER_STRUCTURE,
        None,
    );
    past_delegations(&db, &seeded.delegations, PAST_DELEGATIONS);
    if db.backend() == Backend::Postgres {
        db.conn().unwrap().batch_execute("VACUUM ANALYZE").unwrap();
    }
    let port = nodes::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let settings = [
        (
            "AC__SERVER__WORKERS",
            env_number("AC_BENCH_WORKERS", 2).to_string(),
        ),
        ("AC__DATABASE__MAX_CONNECTIONS", pool.to_string()),
    ];
    let server = Node::start(url, &files, port, &base, &settings);
    let server_pid = server.child.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for _ in 0..300 {
            let ready = reqwest::get(format!("{base}/readyz")).await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not become ready");
    });
    println!(
        "{backend}: server ready on {base}; {concurrency} aidants for {seconds} s (+3 s warm-up)"
    );
    let sessions = Arc::new(seeded.sessions);
    let (flows, flows_per_sec, errors, steps, flow, cpu) = runtime.block_on(async {
        let client = http_client(concurrency);
        let warm_until = Instant::now() + Duration::from_secs(3);
        let stop = warm_until + Duration::from_secs(seconds);
        let cpu_window = tokio::spawn(async move {
            tokio::time::sleep_until(warm_until.into()).await;
            let start = CpuSample::now(server_pid);
            tokio::time::sleep_until(stop.into()).await;
            Some((start?, CpuSample::now(server_pid)?))
        });
        let mut tasks = Vec::new();
        for w in 0..concurrency {
            let (client, base, sessions) = (client.clone(), base.clone(), sessions.clone());
            tasks.push(tokio::spawn(async move {
                let cookie = format!("ac_session={}", sessions[w % sessions.len()]);
                let mut worker = Worker {
                    steps: vec![Vec::new(); 5],
                    flow: Vec::new(),
                    flows: 0,
                    errors: 0,
                };
                let mut n = (w as u64) << 32;
                loop {
                    let started = Instant::now();
                    if started >= stop {
                        break;
                    }
                    n += 1;
                    let result = delegated_flow(&client, [base.as_str(); 5], &cookie, n)
                        .await
                        .map(|(times, _)| times);
                    if started < warm_until {
                        continue;
                    }
                    match result {
                        Ok(times) => {
                            worker.flows += 1;
                            worker.flow.push(started.elapsed().as_secs_f64() * 1000.0);
                            for (i, t) in times.into_iter().enumerate() {
                                worker.steps[i].push(t);
                            }
                        }
                        Err(e) => {
                            if worker.errors < 3 {
                                eprintln!("flow error: {e}");
                            }
                            worker.errors += 1;
                        }
                    }
                }
                worker
            }));
        }
        let mut all = Worker {
            steps: vec![Vec::new(); 5],
            flow: Vec::new(),
            flows: 0,
            errors: 0,
        };
        for task in tasks {
            let w = task.await.unwrap();
            all.flows += w.flows;
            all.errors += w.errors;
            all.flow.extend(w.flow);
            for (i, s) in w.steps.into_iter().enumerate() {
                all.steps[i].extend(s);
            }
        }
        let rate = all.flows as f64 / seconds as f64;
        let cpu = cpu_window
            .await
            .unwrap()
            .map(|(start, end)| end.per_flow_since(&start, all.flows));
        (all.flows, rate, all.errors, all.steps, all.flow, cpu)
    });
    println!("{backend}: {flows} flows, {flows_per_sec:.1}/s, {errors} errors");

    // /token alone: codes written to the database (valid 30 s), then exchanged concurrently.
    let codes = codes_in_database(&db, &seeded.delegations, 3000);
    let token = runtime.block_on(token_only(&base, codes, concurrency));
    println!("{backend}: /token {:.1}/s", token.per_sec);
    Report {
        backend,
        flows,
        flows_per_sec,
        errors,
        steps,
        flow,
        cpu,
        token,
    }
}

type Delegations = [(AidantId, OrganisationId, ac_mandates::UsagerId)];

/// Codes issued through storage (the same transaction the choice page runs), in parallel.
fn codes_in_database(db: &Database, delegations: &Delegations, count: usize) -> Vec<String> {
    let scopes = ["openid", "profile", "birth", "email"].map(String::from);
    in_threads(db, count, |conn, i| {
        let (aidant, org, usager) = &delegations[i % delegations.len()];
        let code = Token::generate(&ring::rand::SystemRandom::new()).unwrap();
        let now = SystemClock.now();
        let issued = oidc_grants::issue_code(
            conn,
            &Delegation {
                aidant,
                organisation: org,
                usager,
                demarche: Demarche::Social,
            },
            &NewCode {
                code_hash: &code.hash(),
                client_id: CLIENT_ID,
                redirect_uri: REDIRECT_URI,
                code_challenge: None,
                nonce: Some("bench-nonce"),
                scopes: &scopes,
                rep_scope_claim: false,
                auth_time: now,
                acr: "eidas1",
                expires_at: now + time::Duration::seconds(30),
                interaction_id: code.hash().as_str(),
                interaction_expires_at: now + time::Duration::minutes(10),
            },
            &TokenHash::of(b"no-session"),
            &AuditContext::aidant(aidant, None),
            now,
        )
        .unwrap();
        assert!(matches!(issued, oidc_grants::CodeIssue::Issued(_)));
        code.expose().to_owned()
    })
}

/// The delegations of a service that has been running: codes exchanged for access tokens
/// through storage (what the token endpoint runs), and the journal integrated. Without them the
/// flows would start on empty code and token tables, which PostgreSQL plans as such: a
/// connection that prepares its statements then keeps scanning those tables whole as they grow,
/// until autovacuum's next analysis, which a short run never reaches.
fn past_delegations(db: &Database, delegations: &Delegations, count: usize) {
    let codes = codes_in_database(db, delegations, count);
    in_threads(db, count, |conn, i| {
        let now = SystemClock.now();
        let redeemed = oidc_grants::redeem_code(
            conn,
            &TokenHash::of(codes[i].as_bytes()),
            CLIENT_ID,
            |_| Ok::<(), &str>(()),
            &NewAccessToken {
                token_hash: &Token::generate(&ring::rand::SystemRandom::new())
                    .unwrap()
                    .hash(),
                expires_at: now + time::Duration::seconds(60),
            },
            &oidc_grants::client_context(CLIENT_ID, None),
            now,
        )
        .unwrap();
        assert!(matches!(redeemed, oidc_grants::Redemption::Granted { .. }));
    });
    let conn = &mut *db.conn().unwrap();
    ac_storage::audit::integrate_all(conn, 1000, SystemClock.now()).unwrap();
}

/// `work(connection, i)` for every `i` below `count`, spread over 4 threads with a connection
/// each; the results come back grouped by thread.
fn in_threads<T: Send>(
    db: &Database,
    count: usize,
    work: impl Fn(&mut DbConnection, usize) -> T + Sync,
) -> Vec<T> {
    const THREADS: usize = 4;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let work = &work;
                scope.spawn(move || {
                    let conn = &mut *db.conn().unwrap();
                    (t..count)
                        .step_by(THREADS)
                        .map(|i| work(conn, i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

async fn token_only(base: &str, codes: Vec<String>, concurrency: usize) -> TokenReport {
    let client = http_client(concurrency);
    // Oldest first: every code must be used within its 30 seconds.
    let codes = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(
        codes,
    )));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, codes) = (client.clone(), base.to_owned(), codes.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let Some(code) = codes.lock().unwrap().pop_front() else {
                    break;
                };
                let t = Instant::now();
                let res = client
                    .post(format!("{base}/oidc/token"))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", REDIRECT_URI),
                        ("client_id", CLIENT_ID),
                        ("client_secret", CLIENT_SECRET),
                    ])
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    TokenReport {
        requests: latencies.len(),
        per_sec: latencies.len() as f64 / elapsed,
        errors,
        latencies,
    }
}

/// CPU time read from `/proc`, in clock ticks (`USER_HZ`, 100 per second on Linux), to split
/// what a flow costs between the three programs sharing the machine. PostgreSQL is every
/// process named `postgres`, its background workers included.
struct CpuSample {
    server: u64,
    postgres: u64,
    load_generator: u64,
    /// The whole machine, from `/proc/stat`: busy (user, nice, system, irq, softirq), idle
    /// (idle, iowait) and stolen by the hypervisor.
    busy: u64,
    idle: u64,
    steal: u64,
    /// Context switches on the whole machine (`/proc/stat`'s `ctxt`).
    switches: u64,
}

/// Milliseconds of CPU per complete flow, over the measured window.
struct CpuPerFlow {
    server: f64,
    postgres: f64,
    load_generator: f64,
    rest: f64,
    busy: f64,
    idle: f64,
    steal: f64,
    /// Not milliseconds: context switches on the whole machine per flow.
    switches: f64,
}

const MS_PER_TICK: f64 = 10.0;

impl CpuSample {
    /// `None` where `/proc` is not there to read (not Linux).
    fn now(server_pid: u32) -> Option<Self> {
        let machine = std::fs::read_to_string("/proc/stat").ok()?;
        let switches = machine
            .lines()
            .find_map(|l| l.strip_prefix("ctxt "))?
            .trim()
            .parse()
            .ok()?;
        let cpu: Vec<u64> = machine
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let field = |i: usize| cpu.get(i).copied().unwrap_or(0);
        let mut postgres = 0;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let dir = entry.path();
            if std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim() == "postgres") {
                postgres += process_ticks(&dir).unwrap_or(0);
            }
        }
        Some(Self {
            server: process_ticks(&Path::new("/proc").join(server_pid.to_string()))?,
            postgres,
            load_generator: process_ticks(Path::new("/proc/self"))?,
            busy: field(0) + field(1) + field(2) + field(5) + field(6),
            idle: field(3) + field(4),
            steal: field(7),
            switches,
        })
    }

    fn per_flow_since(&self, start: &Self, flows: usize) -> CpuPerFlow {
        let per_flow = |end: u64, start: u64| {
            end.saturating_sub(start) as f64 * MS_PER_TICK / flows.max(1) as f64
        };
        let server = per_flow(self.server, start.server);
        let postgres = per_flow(self.postgres, start.postgres);
        let load_generator = per_flow(self.load_generator, start.load_generator);
        let busy = per_flow(self.busy, start.busy);
        CpuPerFlow {
            server,
            postgres,
            load_generator,
            rest: (busy - server - postgres - load_generator).max(0.0),
            busy,
            idle: per_flow(self.idle, start.idle),
            steal: per_flow(self.steal, start.steal),
            switches: self.switches.saturating_sub(start.switches) as f64 / flows.max(1) as f64,
        }
    }
}

/// User plus system time of a process and all its threads (`/proc/<pid>/stat` fields 14, 15).
fn process_ticks(dir: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The command name may hold spaces; the fields after it start with the state (field 3).
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn print_cpu(reports: &[Report]) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\nCPU per flow, ms (/proc, measured window; rest = kernel threads and other processes)"
    );
    println!(
        "backend    | server | PostgreSQL | load generator | rest | busy | idle | steal | flows/s at {cores} cores busy | context switches"
    );
    println!(
        "-----------|-------:|-----------:|---------------:|-----:|-----:|-----:|------:|------:|------:"
    );
    for r in reports {
        let Some(c) = &r.cpu else {
            println!("{:<10} | /proc not readable", r.backend);
            continue;
        };
        println!(
            "{:<10} | {:>6.2} | {:>10.2} | {:>14.2} | {:>4.2} | {:>4.2} | {:>4.2} | {:>5.2} | {:>5.0} | {:>5.0}",
            r.backend,
            c.server,
            c.postgres,
            c.load_generator,
            c.rest,
            c.busy,
            c.idle,
            c.steal,
            cores as f64 * 1000.0 / c.busy.max(f64::EPSILON),
            c.switches
        );
    }
}
