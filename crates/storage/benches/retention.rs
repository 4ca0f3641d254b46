//! Retention at scale: a journal of 10,000,000 entries and 1,000,000 mandates, on SQLite and
//! PostgreSQL, while delegated sign-ins go on. Results: docs/performance.md ("Retention").
//! Run with `make bench` (or `cargo bench -p ac-storage --bench retention`).
//!
//! Method.
//! 1. A fresh database (`TestDatabase`: a SQLite file, or a PostgreSQL schema on
//!    `AC_BENCH_DATABASE_URL` / `AC_TEST_DATABASE_URL`) is seeded with set-based SQL
//!    (`generate_series` on PostgreSQL, a recursive CTE on SQLite): 100 structures with one
//!    aidant each; `MANDATES / 2` people with two mandates of two démarches each, plus one
//!    verification code per mandate; and `ENTRIES` journal rows spread over the seven years before
//!    the run, 80 % of them older than five years, with a `checkpoint.signed` row every 1,000
//!    entries so that redaction has a horizon (leaf hashes are random: the retention job never
//!    recomputes them). People, by `(u / 100) % 10`:
//!    - 0–5: both mandates ended more than a year ago (due: records and identity go);
//!    - 6: the second mandate's démarches were revoked 450 days ago (due, by its revocation);
//!    - 7: one mandate ended long ago, the other is in force in another structure (the first
//!      structure's records go, the identity stays);
//!    - 8: the second mandate ended less than a year ago (kept);
//!    - 9: the second mandate is in force (kept; the delegated flows act for these people).
//!
//!    So 75 % of the mandates and 70 % of the identities are due, plus `MANDATES / 40` identities
//!    fetched a month ago for a mandate never given.
//! 2. Delegated flows start on `AC_BENCH_CONCURRENCY` threads (4), each with its own pooled
//!    connection, each looping, with a pause of `AC_BENCH_PAUSE_MS` (10 ms) between flows, over
//!    the storage calls a delegated sign-in makes on its hot path: `mandates::can_act` (the choice
//!    page), `oidc_grants::issue_code` (`can_act` again, the code and its journal entry in one
//!    write) and `oidc_grants::redeem_code` (the token endpoint: `can_act` again, the token and
//!    its entry), for a random person of group 9.
//! 3. After `AC_BENCH_BASELINE_SECONDS` (60) of flows alone, `retention::run` starts with the
//!    default policy (batches of 200) at the seed's instant, with the flows still going. A
//!    monitor notes when the first journal entry is redacted (the end of the mandate phase).
//!    With `AC_BENCH_RETENTION_SECONDS` set, the monitor takes the lease away after that many
//!    seconds, which stops the run cleanly at its next batch (as a lost lease does in production).
//! 4. Printed: seeding times, what the run deleted and how fast (per phase), each flow step's
//!    median and p99 with and without the run and their ratio, and `/proc/loadavg` at each phase
//!    (other programs share the machine: compare figures at similar loads).
//!
//! Sizes: `AC_BENCH_RETENTION_MANDATES` (1,000,000), `AC_BENCH_RETENTION_ENTRIES` (10,000,000);
//! `AC_BENCH_BACKENDS` (`sqlite,postgres`).

// A bench is a program run by hand, not library code: any failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ac_auth::{Token, TokenHash};
use ac_mandates::{AidantId, Demarche, Organisation, OrganisationId, OrganisationKind, UsagerId};
use ac_storage::journal::AuditContext;
use ac_storage::oidc_clients::NewClient;
use ac_storage::oidc_grants::{self, CodeIssue, Delegation, NewAccessToken, NewCode, Redemption};
use ac_storage::retention::{self, Outcome, Policy};
use ac_storage::testing::{TestDatabase, aidant_of};
use ac_storage::{Backend, Database, aidants, mandates, oidc_clients, organisations};
use diesel::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::macros::datetime;

#[allow(dead_code)] // the seeded benches' helpers; this one uses a part of them
#[path = "support/mod.rs"]
mod support;
use support::{Count, Dialect, id, siret};

/// The instant the run happens at; every seeded date is relative to it.
const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);
const ORGANISATIONS: u64 = 100;
const DAY: i64 = 86_400;
/// One `checkpoint.signed` row every this many journal entries.
const CHECKPOINT_EVERY: u64 = 1_000;
const CLIENT_ID: &str = "bench-partner";
const REDIRECT_URI: &str = "https://partner.example/callback";

// Record kinds, the second group of every id (as in the other seeded benches).
const K_USAGER: u64 = 1;
const K_AIDANT: u64 = 2;
const K_ORGANISATION: u64 = 3;
const K_MANDATE: u64 = 4;
const K_AUTHORIZATION: u64 = 5;
const K_TARGET: u64 = 9;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

struct Settings {
    mandates: u64,
    entries: u64,
    concurrency: usize,
    pause: Duration,
    baseline: Duration,
    limit: Option<Duration>,
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("retention bench: run it with `cargo bench -p ac-storage --bench retention`");
        return;
    }
    let settings = Settings {
        // Even, and at least one person of each group in each structure.
        mandates: (env_number("AC_BENCH_RETENTION_MANDATES", 1_000_000) / 2 * 2)
            .max(2 * 10 * ORGANISATIONS),
        entries: env_number("AC_BENCH_RETENTION_ENTRIES", 10_000_000).max(CHECKPOINT_EVERY),
        // The pool has 8 connections: the flows, the run and the monitor share them.
        concurrency: (env_number("AC_BENCH_CONCURRENCY", 4) as usize).clamp(1, 6),
        pause: Duration::from_millis(env_number("AC_BENCH_PAUSE_MS", 10)),
        baseline: Duration::from_secs(env_number("AC_BENCH_BASELINE_SECONDS", 60)),
        limit: match env_number("AC_BENCH_RETENTION_SECONDS", 0) {
            0 => None,
            s => Some(Duration::from_secs(s)),
        },
    };
    let backends = std::env::var("AC_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        bench(&TestDatabase::sqlite().unwrap(), &settings);
    }
    if backends.contains("postgres") {
        match std::env::var("AC_BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("AC_TEST_DATABASE_URL"))
        {
            Ok(url) => bench(&TestDatabase::postgres(&url).unwrap(), &settings),
            Err(_) => {
                println!("PostgreSQL: skipped (set AC_BENCH_DATABASE_URL or AC_TEST_DATABASE_URL)")
            }
        }
    }
}

fn bench(db: &TestDatabase, settings: &Settings) {
    println!(
        "\n== {:?}: {} mandates, {} journal entries; load average {}",
        db.backend(),
        settings.mandates,
        settings.entries,
        loadavg()
    );
    let started = Instant::now();
    seed(db, settings);
    println!(
        "seeded in {:.0} s; load average {}",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    measure(db, settings);
}

// ---------------------------------------------------------------------------------------------
// Seeding

impl Dialect {
    /// 32 bytes that stand for a leaf hash.
    fn leaf_hash(&self, n: &str) -> String {
        match self.backend {
            Backend::Sqlite => "randomblob(32)".into(),
            Backend::Postgres => {
                format!("decode(md5(({n})::text) || md5((({n}) + 1)::text), 'hex')")
            }
        }
    }
}

/// Runs one seeding step as the schema's owner and prints how long it took.
fn step(db: &TestDatabase, label: &str, sql: &str) {
    let started = Instant::now();
    let sql = match db.backend() {
        // Seeding only: a 1 GiB page cache keeps the random-order index inserts in memory.
        Backend::Sqlite => format!("PRAGMA cache_size = -1048576; {sql}"),
        Backend::Postgres => sql.to_owned(),
    };
    db.execute_raw(&sql)
        .unwrap_or_else(|e| panic!("seeding {label}: {e}\n{sql}"));
    println!("  {label:<44} {:>7.1} s", started.elapsed().as_secs_f64());
}

fn organisation(o: u64) -> OrganisationId {
    OrganisationId::new(id(K_ORGANISATION, o))
}

fn aidant(o: u64) -> AidantId {
    AidantId::new(id(K_AIDANT, o))
}

fn seed(db: &TestDatabase, settings: &Settings) {
    let sql = Dialect {
        backend: db.backend(),
        now: NOW,
    };
    let started = Instant::now();
    {
        let conn = &mut *db.db.conn().unwrap();
        let ctx = AuditContext::cli();
        let at = NOW - time::Duration::days(3 * 365);
        for o in 0..ORGANISATIONS {
            let record = Organisation {
                id: organisation(o),
                name: format!("Structure {o}"),
                kind: OrganisationKind::FranceServices,
                address: format!("{o} place de la Mairie"),
                departement: "29".parse().unwrap(),
                siret: siret(o).parse().unwrap(),
                allowed_demarches: Demarche::ALL.into_iter().collect(),
                is_active: true,
                renewal_requires_identification: true,
            };
            organisations::insert(conn, &record, &ctx, at).unwrap();
            let email = format!("aidant{o}@structure.exemple.fr").parse().unwrap();
            let record = aidant_of(aidant(o).as_str(), email, &organisation(o));
            aidants::insert(conn, &record, &ctx, at).unwrap();
        }
        oidc_clients::insert(
            conn,
            &NewClient {
                id: CLIENT_ID,
                name: "Partenaire (bench)",
                secret_hash: &TokenHash::of(b"bench-client-secret"),
                sealed_secret: None,
                redirect_uris: &[REDIRECT_URI.to_owned()],
                post_logout_redirect_uris: &[],
                auth_method: "client_secret_post",
                id_token_alg: "ES256",
                userinfo_alg: None,
                allowed_scopes: &["openid", "profile"].map(String::from),
                act_claim: false,
            },
            &ctx,
            at,
        )
        .unwrap();
    }
    println!(
        "  {:<44} {:>7.1} s",
        "structures, aidants, client",
        started.elapsed().as_secs_f64()
    );
    let people = settings.mandates / 2;
    let unused = settings.mandates / 40;
    let (prefix, from) = sql.numbers(people + unused);
    step(
        db,
        "usagers",
        &format!(
            "{prefix}INSERT INTO usagers (id, subject, given_name, family_name, birthdate, gender, birthplace, birthcountry, email, preferred_username, created_at, updated_at) \
             SELECT {id}, {subject}, \
               CASE i % 3 WHEN 0 THEN 'Camille' WHEN 1 THEN 'Dominique' ELSE 'Sacha' END, \
               CASE i % 4 WHEN 0 THEN 'Martin' WHEN 1 THEN 'Bernard' WHEN 2 THEN 'Petit' ELSE 'Durand' END, \
               '1960-01-01', CASE i % 2 WHEN 0 THEN 'female' ELSE 'male' END, '75056', '99100', \
               NULL, NULL, {created}, CASE WHEN i >= {people} THEN {month_ago} ELSE {created} END \
             FROM {from}",
            id = sql.id(K_USAGER, "i"),
            subject = sql.hex("i", 64),
            created = sql.before_now(&format!("{} * {DAY}", 4 * 365)),
            month_ago = sql.before_now(&format!("30 * {DAY}")),
        ),
    );
    // One row per mandate: person u, round k (0, 1), group c, structure, days since its expiry
    // (negative: in force), days since its démarches were revoked.
    let (prefix, from) = sql.numbers(settings.mandates);
    step(
        db,
        "mandate plan (table bench_plan)",
        &format!(
            "CREATE TABLE bench_plan (i BIGINT PRIMARY KEY, u BIGINT NOT NULL, k INTEGER NOT NULL, c INTEGER NOT NULL, org BIGINT NOT NULL, ended BIGINT NOT NULL, revoked BIGINT);
             {prefix}INSERT INTO bench_plan (i, u, k, c, org, ended, revoked)
             SELECT i, u, k, c,
               CASE WHEN c = 7 AND k = 1 THEN (u + 1) % {ORGANISATIONS} ELSE u % {ORGANISATIONS} END,
               (CASE
                  WHEN c <= 5 AND k = 0 THEN 400 + (u * 7) % 700
                  WHEN c <= 5 THEN 370 + (u * 13) % 300
                  WHEN c = 6 AND k = 0 THEN 400 + u % 300
                  WHEN c = 6 THEN 100
                  WHEN c = 7 AND k = 0 THEN 500 + u % 300
                  WHEN c = 8 AND k = 0 THEN 600 + u % 100
                  WHEN c = 8 THEN 100 + u % 200
                  WHEN k = 0 THEN 800 + u % 100
                  ELSE -(30 + u % 300)
                END) * {DAY} + i % 3600,
               CASE WHEN c = 6 AND k = 1 THEN 450 * {DAY} END
             FROM (SELECT i, i / 2 AS u, i % 2 AS k, (i / 2 / {ORGANISATIONS}) % 10 AS c FROM {from}) AS p"
        ),
    );
    step(
        db,
        "mandates",
        &format!(
            "INSERT INTO mandates (id, organisation_id, usager_id, created_by, created_at, expires_at, duration_days, legal_text_version, content_hash, renewal_of) \
             SELECT {id}, {org}, {usager}, {aidant}, {created}, {expires}, 365, \
               CASE k WHEN 0 THEN '2025-01' ELSE '2026-01' END, {hash}, \
               CASE WHEN k = 1 AND c IN (0, 1, 2, 3, 8, 9) THEN {previous} END \
             FROM bench_plan ORDER BY i",
            id = sql.id(K_MANDATE, "i"),
            org = sql.id(K_ORGANISATION, "org"),
            usager = sql.id(K_USAGER, "u"),
            aidant = sql.id(K_AIDANT, "org"),
            created = sql.before_now(&format!("ended + 365 * {DAY}")),
            expires = sql.before_now("ended"),
            hash = sql.hex("i", 64),
            previous = sql.id(K_MANDATE, "i - 1"),
        ),
    );
    // Round k covers démarches 2k and 2k + 1: a person's open authorizations never overlap.
    let demarche = sql.demarche("2 * p.k + j.j");
    step(
        db,
        "authorizations",
        &format!(
            "INSERT INTO authorizations (id, mandate_id, organisation_id, usager_id, demarche, expires_at, revoked_at, revocation_reason) \
             SELECT {id}, {mandate}, {org}, {usager}, {demarche}, {expires}, \
               CASE WHEN p.revoked IS NOT NULL THEN {revoked} END, \
               CASE WHEN p.revoked IS NOT NULL THEN 'revoked' END \
             FROM bench_plan p JOIN (SELECT 0 AS j UNION ALL SELECT 1) j ON 1 = 1 \
             ORDER BY p.i, j.j",
            id = sql.id(K_AUTHORIZATION, "2 * p.i + j.j"),
            mandate = sql.id(K_MANDATE, "p.i"),
            org = sql.id(K_ORGANISATION, "p.org"),
            usager = sql.id(K_USAGER, "p.u"),
            expires = sql.before_now("p.ended"),
            revoked = sql.before_now("p.revoked"),
        ),
    );
    step(
        db,
        "verification codes",
        &format!(
            "INSERT INTO mandate_verifications (mandate_id, code, created_at) \
             SELECT {id}, {code}, {created} FROM bench_plan ORDER BY i; DROP TABLE bench_plan",
            id = sql.id(K_MANDATE, "i"),
            code = sql.hex("i", 32),
            created = sql.before_now(&format!("ended + 365 * {DAY}")),
        ),
    );
    // The last day's delegations (codes and tokens are kept a day after they expire, `purge`),
    // for people of group 9: without them PostgreSQL would plan the flows' code and token
    // lookups for empty tables, and the retention job's lookups would find nothing to read.
    let rounds = people / (10 * ORGANISATIONS);
    let (prefix, from) = sql.numbers(settings.mandates / 20);
    step(
        db,
        "the last day's codes",
        &format!(
            "{prefix}INSERT INTO oidc_authorization_codes (code_hash, client_id, redirect_uri, code_challenge, nonce, scopes, \
               aidant_id, usager_id, authorization_id, demarche, rep_scope_claim, auth_time, acr, created_at, expires_at, used_at) \
             SELECT {code}, '{CLIENT_ID}', '{REDIRECT_URI}', NULL, 'bench-nonce', 'openid profile', {aidant}, {usager}, \
               {authorization}, CASE j WHEN 0 THEN '{d2}' ELSE '{d3}' END, FALSE, {issued}, 'eidas1', {issued}, {expires}, {used} \
             FROM (SELECT i, i % {ORGANISATIONS} AS o, (10 * ((i / {ORGANISATIONS}) % {rounds}) + 9) * {ORGANISATIONS} + i % {ORGANISATIONS} AS u, \
               (i / 7) % 2 AS j, {DAY} - i % ({DAY} - 600) AS ago FROM {from}) AS d",
            code = sql.hex("i", 64),
            aidant = sql.id(K_AIDANT, "o"),
            usager = sql.id(K_USAGER, "u"),
            // The second mandate of person u is 2u + 1; its démarches 2 and 3.
            authorization = sql.id(K_AUTHORIZATION, "2 * (2 * u + 1) + j"),
            d2 = Demarche::ALL[2].key(),
            d3 = Demarche::ALL[3].key(),
            issued = sql.before_now("ago"),
            expires = sql.before_now("ago - 30"),
            used = sql.before_now("ago - 1"),
        ),
    );
    step(
        db,
        "the last day's tokens",
        &format!(
            "INSERT INTO oidc_access_tokens (token_hash, code_hash, created_at, expires_at, revoked_at) \
             SELECT {token}, code_hash, used_at, {expires}, NULL FROM oidc_authorization_codes",
            // The codes' hashes are small numbers in 64 hex digits: a leading `f` makes another.
            token = "'f' || substr(code_hash, 2)",
            expires = match sql.backend {
                Backend::Sqlite => "datetime(used_at, '+60 seconds')".to_owned(),
                Backend::Postgres => "used_at + INTERVAL '60 seconds'".to_owned(),
            },
        ),
    );
    seed_journal(db, &sql, settings.entries);
    match db.backend() {
        // What autovacuum would do soon after a bulk load in production.
        Backend::Postgres => step(db, "vacuum analyze", "VACUUM ANALYZE"),
        Backend::Sqlite => step(db, "analyze", "ANALYZE"),
    }
}

/// `ENTRIES` rows, 80 % spread over the two years before the journal's five, the rest over those
/// five years. The secondary indexes are dropped for the load and built again exactly as the
/// migrations wrote them.
fn seed_journal(db: &TestDatabase, sql: &Dialect, entries: u64) {
    let indexes = support::secondary_indexes(&mut db.db.conn().unwrap(), db.backend(), "audit_log");
    let drops: String = indexes
        .iter()
        .map(|i| format!("DROP INDEX {};", i.name))
        .collect();
    step(db, "drop audit_log's secondary indexes", &drops);
    let old = entries * 8 / 10;
    let (prefix, from) = sql.numbers(entries);
    // Seconds before NOW: 7 years down to 5 for the first 80 %, then 5 years down to 0.
    let ago = format!(
        "CASE WHEN i < {old} THEN {seven} - i * {two} / {old} ELSE {five} - (i - {old}) * {five} / {rest} END",
        seven = 7 * 365 * DAY,
        two = 2 * 365 * DAY,
        five = 5 * 365 * DAY,
        rest = (entries - old).max(1),
    );
    let checkpoint = format!("i % {CHECKPOINT_EVERY} = {}", CHECKPOINT_EVERY - 1);
    let action = format!(
        "CASE WHEN {checkpoint} THEN 'checkpoint.signed' ELSE CASE i % 5 WHEN 0 THEN 'delegation.started' \
         WHEN 1 THEN 'delegation.completed' WHEN 2 THEN 'auth.signin.succeeded' \
         WHEN 3 THEN 'mandate.created' ELSE 'authorization.created' END END"
    );
    let columns = format!(
        "SELECT i, {at} AS at, {action} AS action, {actor} AS actor_id, {org} AS organisation_id, \
           {usager} AS usager, {target} AS target, {leaf} AS leaf_hash FROM {from}",
        at = sql.before_now(&ago),
        actor = sql.id(K_AIDANT, &format!("i % {ORGANISATIONS}")),
        org = sql.id(K_ORGANISATION, &format!("i % {ORGANISATIONS}")),
        usager = sql.hex(&format!("(i * 7919) % {}", 500_000), 64),
        target = sql.id(K_TARGET, "i"),
        leaf = sql.leaf_hash("i"),
    );
    // The entry has the canonical form's shape and about its size (300 bytes).
    let entry = match sql.backend {
        Backend::Postgres => "'{\"action\":\"' || action || '\",\"actor\":{\"id\":\"' || actor_id \
            || '\",\"kind\":\"aidant\"},\"at\":\"' || to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
            || '\",\"organisation_id\":\"' || organisation_id || '\",\"seq\":' || i \
            || ',\"target\":\"' || target || '\",\"usager\":\"' || usager || '\"}'"
            .to_owned(),
        Backend::Sqlite => "printf('{\"action\":\"%s\",\"actor\":{\"id\":\"%s\",\"kind\":\"aidant\"},\"at\":\"%sZ\",\"organisation_id\":\"%s\",\"seq\":%d,\"target\":\"%s\",\"usager\":\"%s\"}', \
            action, actor_id, replace(at, ' ', 'T'), organisation_id, i, target, usager)"
            .to_owned(),
    };
    step(
        db,
        &format!("audit_log: {entries} entries"),
        &format!(
            "{prefix}INSERT INTO audit_log (seq, pending_id, entry, leaf_hash, at, action, actor_kind, actor_id, \
               organisation_id, usager, demarche, client_id, target) \
             SELECT i, i, {entry}, leaf_hash, at, action, \
               CASE WHEN action = 'checkpoint.signed' THEN 'system' ELSE 'aidant' END, \
               CASE WHEN action = 'checkpoint.signed' THEN NULL ELSE actor_id END, \
               CASE WHEN action = 'checkpoint.signed' THEN NULL ELSE organisation_id END, \
               CASE WHEN action LIKE 'delegation.%' OR action LIKE '%.created' THEN usager END, \
               CASE WHEN action LIKE 'delegation.%' THEN 'social' END, \
               CASE WHEN action LIKE 'delegation.%' THEN '{CLIENT_ID}' END, \
               CASE WHEN action = 'checkpoint.signed' THEN CAST(i AS TEXT) ELSE target END \
             FROM ({columns}) AS c"
        ),
    );
    for index in &indexes {
        step(db, &format!("index {}", index.name), &index.definition);
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// What the flows were measured during.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Phase {
    Baseline = 0,
    Mandates = 1,
    Journal = 2,
    After = 3,
}

impl Phase {
    fn from_u8(n: u8) -> Self {
        match n {
            0 => Self::Baseline,
            1 => Self::Mandates,
            2 => Self::Journal,
            _ => Self::After,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Baseline => "without retention",
            Self::Mandates => "run: mandates",
            Self::Journal => "run: journal",
            Self::After => "after the run",
        }
    }
}

/// One delegated flow's step times.
struct Flow {
    phase: Phase,
    can_act: Duration,
    issue_code: Duration,
    redeem_code: Duration,
}

impl Flow {
    fn total(&self) -> Duration {
        self.can_act + self.issue_code + self.redeem_code
    }
}

/// splitmix64: a fixed seed per worker.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// Delegated flows for people of group 9 until `stop`, each flow at `NOW` plus the time since
/// `epoch` (codes and tokens need distinct, advancing times).
fn flows(
    db: &Database,
    worker: u64,
    people: u64,
    pause: Duration,
    epoch: Instant,
    phase: &AtomicU8,
    stop: &AtomicBool,
) -> Vec<Flow> {
    let conn = &mut *db.conn().unwrap();
    let rng = ring::rand::SystemRandom::new();
    let mut draw = Rng(0x00ac_4e7e ^ worker);
    let scopes = ["openid", "profile"].map(String::from);
    let session = TokenHash::of(b"no-session");
    // Group 9 is (u / ORGANISATIONS) % 10 = 9: u = (10 m + 9) * ORGANISATIONS + o.
    let rounds = people / (10 * ORGANISATIONS);
    let mut done = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let (m, o) = (draw.below(rounds), draw.below(ORGANISATIONS));
        let u = (10 * m + 9) * ORGANISATIONS + o;
        let (aidant, organisation, usager) =
            (aidant(o), organisation(o), UsagerId::new(id(K_USAGER, u)));
        // The second mandate covers démarches 2 and 3 (see the seed).
        let demarche = Demarche::ALL[2 + (draw.below(2) as usize)];
        let now = NOW + epoch.elapsed();
        let current = Phase::from_u8(phase.load(Ordering::Relaxed));

        let started = Instant::now();
        let can = mandates::can_act(conn, &aidant, &organisation, &usager, demarche, now).unwrap();
        assert!(can.is_ok(), "person {u} should be covered: {can:?}");
        let can_act = started.elapsed();

        let code = Token::generate(&rng).unwrap();
        let started = Instant::now();
        let issued = oidc_grants::issue_code(
            conn,
            &Delegation {
                aidant: &aidant,
                organisation: &organisation,
                usager: &usager,
                demarche,
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
            &session,
            &AuditContext::aidant(&aidant, None),
            now,
        )
        .unwrap();
        assert!(matches!(issued, CodeIssue::Issued(_)), "{issued:?}");
        let issue_code = started.elapsed();

        let token = Token::generate(&rng).unwrap();
        let started = Instant::now();
        let redeemed = oidc_grants::redeem_code(
            conn,
            &code.hash(),
            CLIENT_ID,
            |_| Ok::<(), &str>(()),
            &NewAccessToken {
                token_hash: &token.hash(),
                expires_at: now + time::Duration::seconds(60),
            },
            &oidc_grants::client_context(CLIENT_ID, None),
            now,
        )
        .unwrap();
        assert!(matches!(redeemed, Redemption::Granted { .. }));
        let redeem_code = started.elapsed();

        done.push(Flow {
            phase: current,
            can_act,
            issue_code,
            redeem_code,
        });
        std::thread::sleep(pause);
    }
    done
}

/// Watches the run: notes when the first entry is redacted (the mandate phase is over), and
/// takes the lease away once the time limit is reached.
fn monitor(
    db: &Database,
    phase: &AtomicU8,
    limit: Option<Duration>,
    run_started: Instant,
) -> Option<(Instant, String)> {
    let conn = &mut *db.conn().unwrap();
    let mut journal_started = None;
    let mut stopped = false;
    while phase.load(Ordering::Relaxed) < Phase::After as u8 {
        std::thread::sleep(Duration::from_millis(250));
        if journal_started.is_none() {
            let redacted = diesel::sql_query(
                "SELECT count(*) AS n FROM (SELECT seq FROM audit_log WHERE redacted_at IS NOT NULL LIMIT 1) AS r",
            )
            .get_result::<Count>(conn)
            .unwrap()
            .n;
            if redacted > 0 {
                let _ = phase.compare_exchange(
                    Phase::Mandates as u8,
                    Phase::Journal as u8,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                journal_started = Some((Instant::now(), loadavg()));
            }
        }
        if !stopped && limit.is_some_and(|l| run_started.elapsed() >= l) {
            diesel::sql_query(format!(
                "UPDATE job_leases SET holder = 'bench-time-limit' WHERE name = '{}'",
                retention::LEASE
            ))
            .execute(conn)
            .unwrap();
            stopped = true;
            println!(
                "time limit: lease taken away after {:.0} s",
                run_started.elapsed().as_secs_f64()
            );
        }
    }
    journal_started
}

fn measure(db: &TestDatabase, settings: &Settings) {
    let pool = &db.db;
    let people = settings.mandates / 2;
    let phase = AtomicU8::new(Phase::Baseline as u8);
    let stop = AtomicBool::new(false);
    let epoch = Instant::now();
    let (outcome, run_time, journal_started, loads, all) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..settings.concurrency)
            .map(|w| {
                let (phase, stop) = (&phase, &stop);
                scope.spawn(move || {
                    flows(pool, w as u64, people, settings.pause, epoch, phase, stop)
                })
            })
            .collect();
        println!(
            "delegated flows alone for {} s ({} threads, {} ms pause); load average {}",
            settings.baseline.as_secs(),
            settings.concurrency,
            settings.pause.as_millis(),
            loadavg()
        );
        std::thread::sleep(settings.baseline);
        let load_before = loadavg();
        println!("retention run starts; load average {load_before}");
        let run_started = Instant::now();
        phase.store(Phase::Mandates as u8, Ordering::Relaxed);
        let watcher = {
            let phase = &phase;
            scope.spawn(move || monitor(pool, phase, settings.limit, run_started))
        };
        let outcome: Outcome = retention::run(pool, &Policy::default(), "bench-node", NOW).unwrap();
        let run_time = run_started.elapsed();
        let load_after = loadavg();
        phase.store(Phase::After as u8, Ordering::Relaxed);
        // A few seconds after the run, to see the flows come back.
        std::thread::sleep(Duration::from_secs(5));
        stop.store(true, Ordering::Relaxed);
        let journal_started = watcher
            .join()
            .unwrap()
            .map(|(at, load)| (at - run_started, load));
        let all: Vec<Flow> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        (
            outcome,
            run_time,
            journal_started,
            (load_before, load_after),
            all,
        )
    });
    report_run(&outcome, run_time, journal_started.as_ref(), &loads);
    report_flows(&all);
}

fn report_run(
    outcome: &Outcome,
    run_time: Duration,
    journal_started: Option<&(Duration, String)>,
    (load_before, load_after): &(String, String),
) {
    let total = run_time.as_secs_f64();
    let mandate_phase = journal_started.map_or(total, |(at, _)| at.as_secs_f64());
    let journal_phase = total - mandate_phase;
    println!(
        "\nretention::run, batches of {}: {} in {total:.1} s, {} batches{}",
        Policy::default().batch,
        if outcome.ran {
            "finished"
        } else {
            "stopped (lease taken away)"
        },
        outcome.batches,
        journal_started.map_or_else(String::new, |(at, load)| format!(
            "; journal phase from {:.1} s (load average then {load})",
            at.as_secs_f64()
        ))
    );
    println!("  load average: before {load_before}, after {load_after}");
    let rate = |n: u64, secs: f64| {
        if secs > 0.0 {
            n as f64 / secs
        } else {
            f64::NAN
        }
    };
    println!("  what                       |     rows | phase s |  rows/s");
    println!("  ---------------------------|---------:|--------:|-------:");
    for (what, n, secs) in [
        ("mandates deleted", outcome.mandates, mandate_phase),
        ("identities deleted", outcome.identities, mandate_phase),
        (
            "unused identities deleted",
            outcome.unused_identities,
            mandate_phase,
        ),
        (
            "journal entries redacted",
            outcome.journal_entries,
            journal_phase,
        ),
    ] {
        println!(
            "  {what:<26} | {n:>8} | {secs:>7.1} | {:>6.0}",
            rate(n, secs)
        );
    }
    // A mandate's records are itself, its two authorizations and its verification code.
    let rows = outcome.mandates * 4 + outcome.identities + outcome.unused_identities;
    println!(
        "  rows deleted or redacted in all: {} in {total:.1} s = {:.0} rows/s",
        rows + outcome.journal_entries,
        rate(rows + outcome.journal_entries, total)
    );
}

/// Nearest-rank percentile, in milliseconds.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

fn report_flows(all: &[Flow]) {
    type Step = fn(&Flow) -> Duration;
    let steps: [(&str, Step); 4] = [
        ("can_act", |f| f.can_act),
        ("issue_code", |f| f.issue_code),
        ("redeem_code", |f| f.redeem_code),
        ("whole flow", Flow::total),
    ];
    let sorted = |phase: Option<Phase>, step: Step| {
        let mut times: Vec<Duration> = all
            .iter()
            .filter(|f| phase.is_none_or(|p| f.phase == p))
            .map(step)
            .collect();
        times.sort_unstable();
        times
    };
    println!("\ndelegated flows (ms); ratio: p99 over the p99 without retention");
    println!("  phase              | flows | step        | median |    p99 |    max | p99 ratio");
    println!("  -------------------|------:|-------------|-------:|-------:|-------:|---------:");
    let during = [Phase::Mandates, Phase::Journal];
    for (label, phases) in [
        (Phase::Baseline.label(), vec![Phase::Baseline]),
        (Phase::Mandates.label(), vec![Phase::Mandates]),
        (Phase::Journal.label(), vec![Phase::Journal]),
        ("whole run", during.to_vec()),
        (Phase::After.label(), vec![Phase::After]),
    ] {
        let count = all.iter().filter(|f| phases.contains(&f.phase)).count();
        if count == 0 {
            continue;
        }
        for (i, (name, step)) in steps.iter().enumerate() {
            let mut times: Vec<Duration> = all
                .iter()
                .filter(|f| phases.contains(&f.phase))
                .map(step)
                .collect();
            times.sort_unstable();
            let base = percentile(&sorted(Some(Phase::Baseline), *step), 0.99);
            let p99 = percentile(&times, 0.99);
            println!(
                "  {:<18} | {:>5} | {name:<11} | {:>6.2} | {p99:>6.2} | {:>6.1} | {:>8.2}",
                if i == 0 { label } else { "" },
                if i == 0 {
                    count.to_string()
                } else {
                    String::new()
                },
                percentile(&times, 0.5),
                percentile(&times, 1.0),
                p99 / base
            );
        }
    }
}
