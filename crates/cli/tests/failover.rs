//! A database failover, proven: a PostgreSQL primary and a streaming replica built on this
//! machine (two throw-away clusters on their own ports, `pg_basebackup`), synchronous
//! replication on, two `serve` nodes pointed at both through one multi-host URL with
//! `target_session_attrs=read-write`. The primary crashes (`pg_ctl stop -m immediate`) and the
//! replica is promoted while delegated sign-ins run. The nodes reach the new primary without a
//! restart, requests during the switch get 503 with `Retry-After` (never a 500), every identity
//! acknowledged to a partner is on the new primary, and `audit verify` passes there
//! (docs/operations.md, "Database failover").
//!
//! Needs PostgreSQL's server programs (Debian's `postgresql`, as CI has) and runs where the
//! PostgreSQL tests run (`AC_TEST_DATABASE_URL` set); skipped otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

// Shared with the cluster test and the flows bench, which use other parts of it.
#[allow(dead_code)]
#[path = "support/nodes.rs"]
mod nodes;

use ac_storage::testing::count;
use ac_storage::{Database, DatabaseUrl, OpenMode, PoolOptions};
use nodes::{Node, cli, delegated_flow, http_client, ok, wait_ready};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The PostgreSQL server programs (`initdb`, `pg_ctl`, `pg_basebackup`) of Debian's package.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// Runs a PostgreSQL program as the `postgres` account (the server refuses to run as root).
fn as_postgres(bin: &Path, program: &str, args: &[&str]) -> Output {
    let program = bin.join(program);
    let out = if nix_uid() == 0 {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&program)
            .args(args)
            .output()
    } else {
        Command::new(&program).args(args).output()
    }
    .expect("run a PostgreSQL program");
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn nix_uid() -> u32 {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// A throw-away cluster's folder and port; stopped (immediately) when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(&self) {
        let log = self.data.with_extension("log");
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-w",
                "-D",
                &self.data.display().to_string(),
                "-l",
                &log.display().to_string(),
                "start",
            ],
        );
    }

    fn crash(&self) {
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// A primary with synchronous replication to one standby, and that standby, streaming.
fn primary_and_replica(bin: &Path, root: &Path) -> (Cluster, Cluster) {
    let primary = Cluster {
        bin: bin.to_owned(),
        data: root.join("primary"),
        port: nodes::free_port(),
    };
    as_postgres(
        bin,
        "initdb",
        &[
            "-D",
            &primary.data.display().to_string(),
            "-U",
            "postgres",
            "--auth=trust",
        ],
    );
    let socket_dir = root.display().to_string();
    // Synchronous replication: a commit is acknowledged once the standby has it, so a crash of
    // the primary right after loses nothing acknowledged (docs/operations.md).
    append(
        &primary.data.join("postgresql.conf"),
        &format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{socket_dir}'\n\
             synchronous_standby_names = '*'\nsynchronous_commit = on\nfsync = on\n",
            primary.port
        ),
    );
    primary.start();
    let replica = Cluster {
        bin: bin.to_owned(),
        data: root.join("replica"),
        port: nodes::free_port(),
    };
    as_postgres(
        bin,
        "pg_basebackup",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &primary.port.to_string(),
            "-U",
            "postgres",
            "-D",
            &replica.data.display().to_string(),
            "-R",
            "-X",
            "stream",
        ],
    );
    // Once promoted, the replica has no standby of its own: it must not wait for one.
    append(
        &replica.data.join("postgresql.conf"),
        &format!("port = {}\nsynchronous_standby_names = ''\n", replica.port),
    );
    replica.start();
    (primary, replica)
}

fn open(url: &str) -> Database {
    let url: DatabaseUrl = url.parse().unwrap();
    Database::open(&url, OpenMode::MustExist, &PoolOptions::default()).unwrap()
}

fn completed_identities(db: &Database) -> i64 {
    let like = "%\"action\":\"delegation.completed\"%";
    count(
        &mut db.conn().unwrap(),
        &format!(
            "SELECT (SELECT COUNT(*) FROM audit_log WHERE entry LIKE '{like}') \
             + (SELECT COUNT(*) FROM audit_pending WHERE entry LIKE '{like}') AS n"
        ),
    )
    .unwrap()
}

/// What the load saw: flows acknowledged (the partner received the identity), and every
/// failed step's message.
#[derive(Default)]
struct Seen {
    acknowledged: usize,
    acknowledged_after_promotion: usize,
    failures: Vec<String>,
    /// (status, has Retry-After) of the probe's answers that were not 200.
    probe: Vec<(u16, bool)>,
}

#[test]
fn the_nodes_follow_a_promoted_replica_under_load_with_503s_and_nothing_acknowledged_lost() {
    if std::env::var(ac_storage::testing::TEST_DATABASE_URL).is_err() {
        eprintln!("failover test skipped: AC_TEST_DATABASE_URL is not set");
        return;
    }
    let bin = postgres_bin().expect("PostgreSQL's server programs under /usr/lib/postgresql");
    let root = tempfile::Builder::new()
        .prefix("ac-failover")
        .tempdir_in("/tmp")
        .unwrap();
    // The clusters run as `postgres`: it must be able to write there.
    let _ = Command::new("chown")
        .args(["postgres:postgres", &root.path().display().to_string()])
        .output();
    let (primary, replica) = primary_and_replica(&bin, root.path());
    let files = tempfile::tempdir().unwrap();

    // Migrated and seeded on the primary, replicated to the standby.
    let seeded = {
        let db = open(&primary.url());
        ac_storage::migrations::run_pending(&mut db.conn().unwrap()).unwrap();
        let synchronous = count(
            &mut db.conn().unwrap(),
            "SELECT COUNT(*) AS n FROM pg_stat_replication WHERE sync_state = 'sync'",
        )
        .unwrap();
        assert_eq!(synchronous, 1, "the replica streams synchronously");
        nodes::seed(&db, 1, 8, 8, None)
    };
    let both = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write&connect_timeout=2",
        primary.port, replica.port
    );
    let both_url: DatabaseUrl = both.parse().unwrap();
    let (port_a, port_b) = (nodes::free_port(), nodes::free_port());
    let settings = [("AC__DATABASE__MAX_CONNECTIONS", "4".to_owned())];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let a = Node::start(
        &both_url,
        files.path(),
        port_a,
        &format!("http://127.0.0.1:{port_a}"),
        &settings,
    );
    runtime.block_on(wait_ready(&a.base()));
    // Both nodes share one public address (the issuer) as behind a load balancer.
    let b = Node::start(
        &both_url,
        files.path(),
        port_b,
        &format!("http://127.0.0.1:{port_a}"),
        &settings,
    );
    runtime.block_on(wait_ready(&b.base()));
    let bases = [a.base(), b.base()];

    let seen = Arc::new(Mutex::new(Seen::default()));
    let promoted = Arc::new(Mutex::new(None::<Instant>));
    let length = Duration::from_secs(14);
    let start = Instant::now();
    let mut tasks = Vec::new();
    let client = http_client(8);
    for w in 0..8usize {
        let (client, seen, promoted) = (client.clone(), seen.clone(), promoted.clone());
        let base = bases[w % 2].clone();
        let cookie = format!("ac_session={}", seeded.sessions[w]);
        tasks.push(runtime.spawn(async move {
            let mut n = (w as u64 + 1) << 32;
            while start.elapsed() < length {
                n += 1;
                // Started once the replica was promoted: only the new primary can serve it.
                let after = promoted.lock().unwrap().is_some();
                let result = delegated_flow(&client, [base.as_str(); 5], &cookie, n).await;
                let failed = result.is_err();
                {
                    let mut seen = seen.lock().unwrap();
                    match result {
                        Ok(_) => {
                            seen.acknowledged += 1;
                            if after {
                                seen.acknowledged_after_promotion += 1;
                            }
                        }
                        Err(e) => seen.failures.push(e),
                    }
                }
                // No busy loop while the database is away.
                if failed {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    // A probe reading a page that needs the database, to see what a person gets during the
    // switch: 200, or 503 with Retry-After.
    {
        let (client, seen, base) = (client.clone(), seen.clone(), bases[0].clone());
        let cookie = format!("ac_session={}", seeded.sessions[0]);
        tasks.push(runtime.spawn(async move {
            while start.elapsed() < length {
                if let Ok(res) = client
                    .get(format!("{base}/usagers"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                {
                    let status = res.status().as_u16();
                    if status != 200 {
                        let retry = res.headers().contains_key("retry-after");
                        seen.lock().unwrap().probe.push((status, retry));
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }

    std::thread::sleep(Duration::from_secs(3));
    let acknowledged_before = seen.lock().unwrap().acknowledged;
    primary.crash();
    let crashed = Instant::now();
    as_postgres(
        &bin,
        "pg_ctl",
        &["-w", "-D", &replica.data.display().to_string(), "promote"],
    );
    *promoted.lock().unwrap() = Some(Instant::now());
    eprintln!("replica promoted {:?} after the crash", crashed.elapsed());
    for task in tasks {
        runtime.block_on(task).unwrap();
    }

    let seen = seen.lock().unwrap();
    let status_counts = seen.probe.iter().fold(
        std::collections::BTreeMap::<u16, usize>::new(),
        |mut m, (s, _)| {
            *m.entry(*s).or_default() += 1;
            m
        },
    );
    eprintln!(
        "flows: {} acknowledged ({acknowledged_before} before the crash, {} after the promotion), {} failed; probe's non-200 answers: {status_counts:?}",
        seen.acknowledged,
        seen.acknowledged_after_promotion,
        seen.failures.len()
    );
    assert!(
        seen.acknowledged_after_promotion > 0,
        "no flow completed on the promoted replica: {:?}",
        seen.failures.iter().rev().take(5).collect::<Vec<_>>()
    );
    assert!(
        seen.failures.iter().all(|f| !f.contains(" 500")),
        "a 500 during the switch: {:?}",
        seen.failures
            .iter()
            .filter(|f| f.contains(" 500"))
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(
        seen.probe.iter().all(|(s, retry)| *s == 503 && *retry),
        "during the switch a page answered other than 503 with Retry-After: {:?}",
        seen.probe
    );

    // Nothing acknowledged is lost, and the journal verifies on the new primary.
    let new_primary = open(&replica.url());
    let journaled = completed_identities(&new_primary);
    assert!(
        journaled >= seen.acknowledged as i64,
        "{} identities acknowledged, {journaled} journaled on the new primary",
        seen.acknowledged
    );
    drop(a);
    drop(b);
    let verdict = ok(cli(&replica.url(), files.path(), &["audit", "verify"]));
    assert!(verdict.contains("intègre"), "{verdict}");
}
