//! Several nodes, proven: two `serve` processes behind HAProxy (round-robin, no stickiness, a
//! health check on `/readyz`) on one PostgreSQL database. Every piece of shared state lives in
//! the database (docs/operations.md, "Several nodes"), so a step written on one node is read on
//! the other, and a node killed with `kill -9` loses nothing that was acknowledged.
//!
//! PostgreSQL only (SQLite is one node's file): skipped without `AC_TEST_DATABASE_URL`, and it
//! fails instead when `CI=true`. Needs Debian's `haproxy` (`make test` installs it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

// Shared with the flows bench, which uses other parts of it.
#[allow(dead_code)]
#[path = "support/nodes.rs"]
mod nodes;

use ac_auth::KeyRing;
use ac_auth::totp::{TotpStep, code_at};
use ac_clock::{Clock, SystemClock};
use ac_mandates::{OrganisationId, UsagerId};
use ac_storage::testing::{TestDatabase, count};
use ac_storage::{Database, mandates};
use nodes::{
    CLIENT_ID, CLIENT_SECRET, Node, REDIRECT_URI, TOTP_SEED, between, choose, cli, delegated_flow,
    http_client, ok, open_choice, wait_ready,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HAPROXY: &str = "/usr/sbin/haproxy";
/// `provider.key_reload_secs` of the test's nodes: a key rotation reaches every node within it.
const KEY_RELOAD_SECS: u64 = 2;
/// Each node caches a client's registration this long (`ac_web::provider`'s `CLIENT_CACHE`).
const CLIENT_CACHE_SECS: u64 = 5;

/// The PostgreSQL server to use, or `None` (the test is skipped) outside CI.
fn postgres_or_skip() -> Option<String> {
    match std::env::var(ac_storage::testing::TEST_DATABASE_URL) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("AC_TEST_DATABASE_URL must be set when CI=true")
        }
        _ => {
            eprintln!("cluster test skipped: AC_TEST_DATABASE_URL is not set");
            None
        }
    }
}

/// HAProxy in the foreground, round-robin over `nodes`, no stickiness. A node is taken out
/// after two failed health checks 200 ms apart and put back after two good ones; a request
/// whose connection to a node fails is sent to the other (`retries`, `option redispatch`):
/// only connection failures are retried, so a request a node may have processed is never sent
/// twice.
struct Haproxy {
    child: Child,
    port: u16,
    /// HAProxy's own statistics page, where the health checks' verdicts show.
    stats_port: u16,
}

impl Haproxy {
    fn start(dir: &Path, port: u16, nodes: &[u16]) -> Haproxy {
        let stats_port = nodes::free_port();
        assert!(
            Path::new(HAPROXY).exists(),
            "the cluster test needs HAProxy: apt-get install -y haproxy (make test-deps)"
        );
        let servers: String = nodes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!("  server node{i} 127.0.0.1:{p} check inter 200ms fall 2 rise 2\n")
            })
            .collect();
        let config = format!(
            "global\n  maxconn 512\n\
             defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n  retries 3\n  option redispatch 1\n\
             frontend front\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
             listen stats\n  bind 127.0.0.1:{stats_port}\n  stats enable\n  stats uri /stats\n\
             backend nodes\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n{servers}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(HAPROXY)
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        Haproxy {
            child,
            port,
            stats_port,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The health checks' verdict on server `node{index}`: `UP`, `DOWN`, or a transition.
    async fn status(&self, index: usize) -> String {
        let csv = reqwest::get(format!("http://127.0.0.1:{}/stats;csv", self.stats_port))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Columns: pxname, svname, … status is the 18th (HAProxy management guide, §9.1).
        csv.lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|cols| cols.len() > 17 && cols[0] == "nodes" && cols[1] == format!("node{index}"))
            .map(|cols| cols[17].to_owned())
            .unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn totp(offset_steps: i64) -> String {
    let now = SystemClock.now().unix_timestamp();
    code_at(TOTP_SEED, TotpStep::App, now + 30 * offset_steps, 6)
}

/// A browser: its own cookie jar (cookies are per host, not per port, so both nodes see them).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn page(browser: &reqwest::Client, url: &str) -> (u16, String) {
    let res = browser.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

fn csrf(html: &str) -> String {
    between(html, "name=\"csrf\" value=\"", "\"")
        .expect("a csrf field")
        .to_owned()
}

async fn post(browser: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = browser.post(url).form(form).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location)
}

/// The sign-in link mailed to `email`, from the nodes' shared file outbox.
fn mailed_link(outbox: &Path, email: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        for entry in std::fs::read_dir(outbox).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if entry.path().extension().is_some_and(|x| x == "txt") && text.contains(email) {
                let token: String = text
                    .split("/connexion/lien/")
                    .nth(1)
                    .expect("a sign-in link")
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                return token;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no sign-in e-mail to {email} within 10 s");
}

/// Signs in through the pages, each step on the node after the previous one's.
async fn sign_in_across(browser: &reqwest::Client, a: &str, b: &str, outbox: &Path, email: &str) {
    let (_, form) = page(browser, &format!("{a}/connexion")).await;
    let (status, _) = post(
        browser,
        &format!("{a}/connexion"),
        &[("email", email), ("csrf", &csrf(&form))],
    )
    .await;
    assert_eq!(status, 200, "link asked on node A");
    let token = mailed_link(outbox, email);
    let (_, confirm) = page(browser, &format!("{b}/connexion/lien/{token}")).await;
    let (status, to) = post(
        browser,
        &format!("{b}/connexion/lien"),
        &[("token", &token), ("csrf", &csrf(&confirm))],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/connexion/code"), "link on B");
    let (_, code_page) = page(browser, &format!("{a}/connexion/code")).await;
    let (status, to) = post(
        browser,
        &format!("{a}/connexion/code"),
        &[("code", &totp(0)), ("csrf", &csrf(&code_page))],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/espace"), "code on A");
}

fn journal_count(db: &Database, action: &str) -> i64 {
    let conn = &mut *db.conn().unwrap();
    let like = format!("%\"action\":\"{action}\"%");
    count(
        conn,
        &format!(
            "SELECT (SELECT COUNT(*) FROM audit_log WHERE entry LIKE '{like}') \
             + (SELECT COUNT(*) FROM audit_pending WHERE entry LIKE '{like}') AS n"
        ),
    )
    .unwrap()
}

/// The kids of a node's JWKS.
async fn kids(client: &reqwest::Client, base: &str) -> Vec<String> {
    let jwks: serde_json::Value = client
        .get(format!("{base}/oidc/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

/// The token endpoint's verdict on a client secret, with a code that does not exist: an
/// authenticated client hears `invalid_grant`, a wrong secret `invalid_client`.
async fn secret_verdict(client: &reqwest::Client, base: &str, secret: &str) -> String {
    let answer: serde_json::Value = client
        .post(format!("{base}/oidc/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code-0123456789-0123456789-0123"),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["error"].as_str().unwrap_or_default().to_owned()
}

/// Polls `check` every 100 ms until it holds; returns how long it took, or panics after `limit`.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Load {
    acknowledged: usize,
    /// Completion instants of the acknowledged flows and failure instants, from the start.
    completed_at: Vec<Duration>,
    failed_at: Vec<(Duration, String)>,
}

/// `workers` aidants looping whole delegated sign-ins through the load balancer for `length`.
async fn load(lb: &str, sessions: &[String], workers: usize, length: Duration) -> Load {
    let client = http_client(workers);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, lb) = (client.clone(), lb.to_owned());
        let cookie = format!("ac_session={}", sessions[w % sessions.len()]);
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut failed = Vec::new();
            let mut n = (w as u64 + 1) << 32;
            while start.elapsed() < length {
                n += 1;
                let base = lb.as_str();
                match delegated_flow(&client, [base; 5], &cookie, n).await {
                    Ok(_) => done.push(start.elapsed()),
                    Err(e) => failed.push((start.elapsed(), e)),
                }
            }
            (done, failed)
        }));
    }
    let mut all = Load {
        acknowledged: 0,
        completed_at: Vec::new(),
        failed_at: Vec::new(),
    };
    for task in tasks {
        let (done, failed) = task.await.unwrap();
        all.acknowledged += done.len();
        all.completed_at.extend(done);
        all.failed_at.extend(failed);
    }
    all
}

#[test]
fn two_nodes_behind_haproxy_share_sessions_flows_revocations_keys_and_one_journal() {
    let Some(server_url) = postgres_or_skip() else {
        return;
    };
    let db = TestDatabase::postgres(&server_url).unwrap();
    let url = db.url.expose();
    let dir = tempfile::tempdir().unwrap();
    let files: PathBuf = dir.path().to_owned();

    // One TOTP key ring for both nodes, as production nodes share their key files.
    let rng = ring::rand::SystemRandom::new();
    let key_text = KeyRing::generate_file_text(&rng).unwrap();
    std::fs::write(files.join("totp.key"), &key_text).unwrap();
    let keys = KeyRing::parse(&key_text).unwrap();
    let seeded = nodes::seed(&db.db, 2, 4, 8, Some(&keys));
    let email = seeded.emails[0].clone();
    let structure = OrganisationId::new("bench-structure-0000");

    // A session that ended two days ago: the housekeeping of either node purges it.
    {
        let conn = &mut *db.db.conn().unwrap();
        let old = ac_auth::Token::generate(&rng).unwrap();
        let aidant = seeded.delegations[0].0.clone();
        let two_days_ago = SystemClock.now() - time::Duration::days(2);
        ac_storage::testing::signed_in_session(
            conn,
            &old.hash(),
            &aidant,
            two_days_ago - time::Duration::hours(10),
        )
        .unwrap();
    }

    let (port_a, port_b, port_lb) = (nodes::free_port(), nodes::free_port(), nodes::free_port());
    let public_url = format!("http://127.0.0.1:{port_lb}");
    let settings = [
        ("AC__PROVIDER__KEY_RELOAD_SECS", KEY_RELOAD_SECS.to_string()),
        ("AC__AUDIT__CHECKPOINT_INTERVAL_SECS", "1".to_owned()),
        ("AC__DATABASE__MAX_CONNECTIONS", "4".to_owned()),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Node A first: in dev mode it creates the key files node B then reads.
    let node_a = Node::start(&db.url, &files, port_a, &public_url, &settings);
    runtime.block_on(wait_ready(&node_a.base()));
    let mut node_b = Node::start(&db.url, &files, port_b, &public_url, &settings);
    runtime.block_on(wait_ready(&node_b.base()));
    let lb = Haproxy::start(&files, port_lb, &[port_a, port_b]);
    let (a, b) = (node_a.base(), node_b.base());
    let (a, b) = (a.as_str(), b.as_str());
    runtime.block_on(wait_ready(&lb.base()));

    runtime.block_on(async {
        let client = http_client(8);
        let cookie = format!("ac_session={}", seeded.sessions[0]);

        // 1. A delegated sign-in whose steps alternate between the nodes: the interaction
        //    written on one is read on the other, the code issued on one is exchanged on the
        //    other, and the token issued there is honoured by the first.
        let (_, identity) = delegated_flow(&client, [a, b, a, b, a], &cookie, 1)
            .await
            .expect("a flow alternating A, B, A, B, A");
        assert!(
            identity.split('.').count() == 3,
            "a signed userinfo: {identity}"
        );
        delegated_flow(&client, [b, a, b, a, b], &cookie, 2)
            .await
            .expect("a flow alternating B, A, B, A, B");

        // 2. Sign-in through the pages, step by step on alternate nodes; the session is
        //    recognised on both.
        let person = browser();
        sign_in_across(&person, a, b, &files.join("mail"), &email).await;
        let (status, space) = page(&person, &format!("{b}/espace")).await;
        assert_eq!(status, 200, "signed in on A, recognised on B");

        // 3. A revocation made through node A refuses the next step of a flow on node B.
        let (_, form) = open_choice(&client, b, b, &cookie, 3).await.unwrap();
        let usager = form.iter().find(|(k, _)| *k == "usager").unwrap().1.clone();
        let mandate = {
            let conn = &mut *db.db.conn().unwrap();
            mandates::for_usager(conn, &structure, &UsagerId::new(usager))
                .unwrap()
                .remove(0)
                .id
        };
        let revocation = format!("{a}/mandats/{mandate}/revocation");
        let (status, _) = page(&person, &revocation).await;
        assert_eq!(status, 200, "the revocation page on A");
        let (status, to) = post(
            &person,
            &revocation,
            &[
                ("csrf", &csrf(&space)),
                ("confirmation", "oui"),
                ("code", &totp(1)),
            ],
        )
        .await;
        assert_eq!(
            (status, to),
            (303, format!("/mandats/{mandate}/attestation-revocation")),
            "revoked through A"
        );
        let refused = choose(&client, b, &cookie, &form).await;
        assert!(
            refused.is_err(),
            "B issued a code after the revocation: {refused:?}"
        );

        // 4. Signing out on B ends the session on A too.
        let (_, space) = page(&person, &format!("{b}/espace")).await;
        let (status, to) = post(
            &person,
            &format!("{b}/deconnexion"),
            &[("csrf", &csrf(&space))],
        )
        .await;
        assert_eq!((status, to.as_str()), (303, "/connexion"));
        let (status, _) = page(&person, &format!("{a}/espace")).await;
        assert_eq!(status, 303, "signed out on B, no longer signed in on A");

        // 5. A key rotation reaches the other node within `provider.key_reload_secs`, and a
        //    client's new secret within the registration cache's lifetime.
        let before = kids(&client, b).await;
        ok(cli(&url, &files, &["keys", "rotate"]));
        let took = within(
            Duration::from_secs(KEY_RELOAD_SECS + 2),
            "the rotated keys on both nodes",
            || {
                let (client, before) = (&client, &before);
                async move { kids(client, a).await != *before && kids(client, b).await != *before }
            },
        )
        .await;
        eprintln!("key rotation seen on both nodes after {took:?}");
        let out = ok(cli(
            &url,
            &files,
            &[
                "client",
                "replace",
                "--id",
                CLIENT_ID,
                "--name",
                "FranceConnect (cluster)",
                "--redirect-uri",
                REDIRECT_URI,
            ],
        ));
        let new_secret = out.lines().last().unwrap().trim().to_owned();
        let took = within(
            Duration::from_secs(CLIENT_CACHE_SECS + 2),
            "the new client secret on both nodes",
            || {
                let (client, new_secret) = (&client, &new_secret);
                async move {
                    secret_verdict(client, a, new_secret).await == "invalid_grant"
                        && secret_verdict(client, b, new_secret).await == "invalid_grant"
                        && secret_verdict(client, a, CLIENT_SECRET).await == "invalid_client"
                        && secret_verdict(client, b, CLIENT_SECRET).await == "invalid_client"
                }
            },
        )
        .await;
        eprintln!("new client secret honoured by both nodes after {took:?}");
        // Back to the seeded secret for the load below.
        let conn = &mut *db.db.conn().unwrap();
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!(
            "UPDATE oidc_clients SET secret_hash = '{}' WHERE id = '{CLIENT_ID}'",
            ac_auth::TokenHash::of(CLIENT_SECRET.as_bytes()).as_str()
        ))
        .unwrap();
    });

    // 6. `kill -9` of node B under load: the health check takes it out, the flows keep
    //    completing on A, and B rejoins once restarted.
    std::thread::sleep(Duration::from_secs(CLIENT_CACHE_SECS + 1));
    let completed_before = journal_count(&db.db, "delegation.completed");
    let lb_base = lb.base();
    let sessions = seeded.sessions.clone();
    let load_task =
        runtime.spawn(async move { load(&lb_base, &sessions, 8, Duration::from_secs(9)).await });
    std::thread::sleep(Duration::from_secs(2));
    let killed_at = Instant::now();
    node_b.kill();
    let taken_out = runtime.block_on(within(
        Duration::from_secs(2),
        "the health check taking B out",
        || async { lb.status(1).await.starts_with("DOWN") },
    ));
    eprintln!("B marked DOWN by the health check {taken_out:?} after the kill");
    std::thread::sleep(Duration::from_secs(3).saturating_sub(killed_at.elapsed()));
    let restarted_at = Instant::now();
    let node_b = Node::start(&db.url, &files, port_b, &public_url, &settings);
    runtime.block_on(wait_ready(&node_b.base()));
    let back = runtime.block_on(within(
        Duration::from_secs(3),
        "B back in the rotation",
        || async { lb.status(1).await == "UP" },
    ));
    eprintln!("B back UP {back:?} after it was ready");
    let load = runtime.block_on(load_task).unwrap();
    let kill_offset = Duration::from_secs(2);
    let down = kill_offset..kill_offset + restarted_at.duration_since(killed_at);
    let completed_while_down = load
        .completed_at
        .iter()
        .filter(|t| down.contains(*t))
        .count();
    let late_failures: Vec<_> = load
        .failed_at
        .iter()
        .filter(|(t, _)| *t > kill_offset + Duration::from_secs(1))
        .collect();
    eprintln!(
        "load: {} acknowledged, {} failed ({} more than 1 s after the kill), {} completed while B was down",
        load.acknowledged,
        load.failed_at.len(),
        late_failures.len(),
        completed_while_down
    );
    assert!(
        completed_while_down > 0,
        "no flow completed while B was down"
    );
    assert!(
        late_failures.is_empty(),
        "flows failed after the health check took B out: {late_failures:?}"
    );
    // Nothing acknowledged is lost: every identity a partner received is journaled.
    let completed_after = journal_count(&db.db, "delegation.completed");
    assert!(
        completed_after - completed_before >= load.acknowledged as i64,
        "{} acknowledged, {} journaled",
        load.acknowledged,
        completed_after - completed_before
    );
    // B is back in the rotation: a flow straight to it completes.
    runtime.block_on(async {
        let cookie = format!("ac_session={}", seeded.sessions[1]);
        let b = node_b.base();
        delegated_flow(&http_client(1), [b.as_str(); 5], &cookie, 9)
            .await
            .expect("B rejoined");
    });

    // 7. Both nodes integrated the one journal: no sequence number twice or missing, the
    //    housekeeping of the nodes purged the old session, and `audit verify` passes.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pending = count(
            &mut db.db.conn().unwrap(),
            "SELECT COUNT(*) AS n FROM audit_pending",
        )
        .unwrap();
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} entries still pending");
        std::thread::sleep(Duration::from_millis(200));
    }
    let conn = &mut *db.db.conn().unwrap();
    let entries = count(conn, "SELECT COUNT(*) AS n FROM audit_log").unwrap();
    let distinct = count(conn, "SELECT COUNT(DISTINCT seq) AS n FROM audit_log").unwrap();
    let last = count(conn, "SELECT MAX(seq) AS n FROM audit_log").unwrap();
    assert_eq!(
        (distinct, last + 1),
        (entries, entries),
        "sequence numbers 0..n, each once"
    );
    let old_sessions = count(
        conn,
        "SELECT COUNT(*) AS n FROM auth_sessions WHERE expires_at < CURRENT_TIMESTAMP - INTERVAL '1 day'",
    )
    .unwrap();
    assert_eq!(old_sessions, 0, "the housekeeping purged the ended session");
    drop(node_a);
    drop(node_b);
    let verdict = ok(cli(&url, &files, &["audit", "verify"]));
    assert!(verdict.contains("intègre"), "{verdict}");
}
