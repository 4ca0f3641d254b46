//! `serve` nodes as separate processes, a small pilot seeded through storage, and the delegated
//! sign-in a partner website and a browser drive: shared by the cluster test and the flows bench.

use ac_auth::{KeyRing, Secret, Token, TokenHash};
use ac_clock::{Clock, SystemClock};
use ac_mandates::{
    Aidant, AidantId, Demarche, FRANCE_INSEE_CODE, Gender, MandateDuration, MandateId,
    Organisation, OrganisationId, OrganisationKind, PivotIdentity, UsagerId,
};
use ac_storage::journal::AuditContext;
use ac_storage::mandates::NewMandate;
use ac_storage::oidc_clients::NewClient;
use ac_storage::{
    Database, DatabaseUrl, aidants, mandates, oidc_clients, organisations, totp_devices, usagers,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use time::macros::date;

pub const BIN: &str = env!("CARGO_BIN_EXE_aidants-connect");
pub const CLIENT_ID: &str = "bench-franceconnect";
pub const CLIENT_SECRET: &str = "bench-client-secret-0123456789-0123456789-abcdef";
pub const REDIRECT_URI: &str = "https://fc.example/api/v2/oidc-callback";
/// The seed of every seeded aidant's authenticator app (RFC 6238's test seed).
pub const TOTP_SEED: &[u8] = b"12345678901234567890";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a seeded structure holds.
pub struct Seeded {
    /// One signed-in session token per aidant, as `ac_session` cookie values.
    pub sessions: Vec<String>,
    /// (aidant, structure, usager) triples an aidant may act on.
    pub delegations: Vec<(AidantId, OrganisationId, UsagerId)>,
    /// Every mandate, in creation order.
    pub mandates: Vec<MandateId>,
    /// The aidants' e-mail addresses, in creation order.
    pub emails: Vec<String>,
}

/// `structures` structures of `aidants_per_structure` aidants (each with a live session and, when
/// `keys` is given, an authenticator app on [`TOTP_SEED`]) and `usagers_per_structure` people
/// with a one-year mandate for social and logement; and the partner client.
pub fn seed(
    db: &Database,
    structures: usize,
    aidants_per_structure: usize,
    usagers_per_structure: usize,
    keys: Option<&KeyRing>,
) -> Seeded {
    let conn = &mut *db.conn().unwrap();
    let now = SystemClock.now();
    let ctx = AuditContext::cli();
    let rng = ring::rand::SystemRandom::new();
    let mut seeded = Seeded {
        sessions: Vec::new(),
        delegations: Vec::new(),
        mandates: Vec::new(),
        emails: Vec::new(),
    };
    for s in 0..structures {
        let org = OrganisationId::new(format!("bench-structure-{s:04}"));
        organisations::insert(
            conn,
            &Organisation {
                id: org.clone(),
                name: format!("Structure {s}"),
                kind: OrganisationKind::FranceServices,
                address: "1 place de la Mairie".into(),
                departement: "29".parse().unwrap(),
                siret: "13002526500013".parse().unwrap(),
                allowed_demarches: Demarche::ALL.into_iter().collect(),
                is_active: true,
                renewal_requires_identification: true,
            },
            &ctx,
            now,
        )
        .unwrap();
        let mut team = Vec::new();
        for a in 0..aidants_per_structure {
            let id = AidantId::new(format!("bench-aidant-{s:04}-{a}"));
            let email = format!("aidant{s}x{a}@bench.example");
            aidants::insert(
                conn,
                &Aidant {
                    id: id.clone(),
                    email: email.parse().unwrap(),
                    first_name: "Camille".into(),
                    last_name: format!("Aidant{s}"),
                    profession: "Conseillère numérique".into(),
                    organisations: BTreeSet::from([org.clone()]),
                    current_organisation: org.clone(),
                    can_create_mandates: true,
                    referent_of: BTreeSet::new(),
                    coordinator_scopes: vec![],
                    is_active: true,
                },
                &ctx,
                now,
            )
            .unwrap();
            if let Some(keys) = keys {
                let seed = Secret::new(TOTP_SEED.to_vec());
                totp_devices::enrol_app(conn, &id, &seed, keys, &rng, &ctx, now).unwrap();
            }
            // A signed-in session, as the sign-in would leave it.
            let token = Token::generate(&rng).unwrap();
            ac_storage::testing::signed_in_session(conn, &token.hash(), &id, now).unwrap();
            seeded.sessions.push(token.expose().to_owned());
            seeded.emails.push(email);
            team.push(id);
        }
        for u in 0..usagers_per_structure {
            let subject = format!("{:064x}", s * 1000 + u);
            let (usager, _) = usagers::upsert_identified(
                conn,
                &subject,
                &PivotIdentity {
                    given_name: format!("Personne{u}"),
                    family_name: format!("USAGER{s}X{u}"),
                    birthdate: date!(1960 - 01 - 15),
                    gender: Gender::Female,
                    birthplace: Some("29232".into()),
                    birthcountry: FRANCE_INSEE_CODE.into(),
                    email: None,
                    preferred_username: None,
                },
                &ctx,
                now,
            )
            .unwrap();
            let mandate = mandates::create(
                conn,
                &NewMandate {
                    aidant: &team[0],
                    organisation: &org,
                    usager: &usager.id,
                    demarches: &[Demarche::Social, Demarche::Logement],
                    duration: MandateDuration::OneYear,
                    legal_text_version: "2026-01",
                    renewal_of: None,
                },
                &ctx,
                now,
            )
            .unwrap();
            seeded.mandates.push(mandate.mandate.id.clone());
            seeded
                .delegations
                .push((team[u % team.len()].clone(), org.clone(), usager.id));
        }
    }
    oidc_clients::insert(
        conn,
        &NewClient {
            id: CLIENT_ID,
            name: "FranceConnect (bench)",
            secret_hash: &TokenHash::of(CLIENT_SECRET.as_bytes()),
            sealed_secret: None,
            redirect_uris: &[REDIRECT_URI.to_owned()],
            post_logout_redirect_uris: &[],
            auth_method: "client_secret_post",
            id_token_alg: "ES256",
            userinfo_alg: Some("ES256"),
            allowed_scopes: &["openid", "profile", "birth", "email"].map(String::from),
            act_claim: false,
        },
        &ctx,
        now,
    )
    .unwrap();
    seeded
}

/// The key and data files of a node: nodes given the same folder share them, as production
/// nodes share their key files.
pub fn node_files(files: &Path) -> Vec<(&'static str, PathBuf)> {
    let key = |name: &str| files.join(name);
    vec![
        ("AC__AUTH__TOTP_KEY_FILE", key("totp.key")),
        ("AC__AUDIT__SIGNING_KEY_FILE", key("audit.key")),
        ("AC__AUDIT__CHECKPOINT_DIR", key("checkpoints")),
        ("AC__MAIL__OUTBOX_DIR", key("mail")),
        (
            "AC__FRANCECONNECT__PSEUDONYM_KEY_FILE",
            key("pseudonym.key"),
        ),
        ("AC__PROVIDER__KEY_RING_FILE", key("provider.key")),
        (
            "AC__PROVIDER__DEMO_PARTNER_SECRET_FILE",
            key("partner.secret"),
        ),
    ]
}

/// One `serve` process; killed (SIGKILL) when dropped.
pub struct Node {
    pub child: Child,
    pub port: u16,
}

impl Node {
    /// Starts `serve` on `port` with the default configuration, the database `url`, the files
    /// of `files`, `public_url` as its public address and `extra` settings (environment).
    pub fn start(
        url: &DatabaseUrl,
        files: &Path,
        port: u16,
        public_url: &str,
        extra: &[(&str, String)],
    ) -> Node {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
        let mut command = Command::new(BIN);
        command
            .args(["--config", &config.display().to_string(), "serve"])
            .current_dir(files)
            .env("DATABASE_URL", url.expose())
            .env("AC__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("AC__SERVER__PUBLIC_URL", public_url)
            .env("AC__LOG__FILTER", "error")
            .env("RUST_LOG", "error")
            .envs(node_files(files))
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = command.spawn().expect("start aidants-connect serve");
        Node { child, port }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `base` answers `/readyz` with 200 (30 s at most).
pub async fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ready = reqwest::get(format!("{base}/readyz")).await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not become ready within 30 s");
}

pub fn http_client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency * 2)
        // Below the server's keep-alive (actix: 5 s), so the client never reuses a connection
        // the server is closing: that race surfaced as a rare `error sending request`.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn unescape(html: &str) -> String {
    html.replace("&#x2F;", "/").replace("&amp;", "&")
}

pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// The five HTTP steps of a delegated sign-in, in order.
pub const STEPS: [&str; 5] = [
    "authorize",
    "list→démarche page",
    "code",
    "token",
    "userinfo",
];

/// The hidden fields of the démarche page, as its form sends them (the démarche aside).
pub type ChoiceForm = Vec<(&'static str, String)>;

/// The first half of a delegated sign-in for the aidant of `cookie`: authorize (at `authorize`)
/// → the person list → the démarche page of its first person (at `page`). Returns the two
/// steps' times in milliseconds and the démarche form's fields.
pub async fn open_choice(
    client: &reqwest::Client,
    authorize_base: &str,
    page_base: &str,
    cookie: &str,
    n: u64,
) -> Result<(Vec<f64>, ChoiceForm), String> {
    let mut times = Vec::with_capacity(2);
    let state = format!("bench-state-{n:032}");
    let nonce = format!("bench-nonce-{n:032}");
    let mut authorize = reqwest::Url::parse(&format!("{authorize_base}/oidc/authorize")).unwrap();
    authorize.query_pairs_mut().extend_pairs([
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid profile birth email"),
        ("state", &state),
        ("nonce", &nonce),
        ("acr_values", "eidas1"),
    ]);
    let t = Instant::now();
    let list = client
        .get(authorize)
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if list.status() != 200 {
        return Err(format!("authorize {}", list.status()));
    }
    let list = unescape(&list.text().await.map_err(|e| e.to_string())?);
    times.push(t.elapsed().as_secs_f64() * 1000.0);
    // The first person of the list, as « Continuer avec cette personne » would send.
    let interaction = between(&list, "name=\"i\" value=\"", "\"").ok_or("no interaction")?;
    let usager = between(&list, "name=\"usager\" value=\"", "\"").ok_or("no person")?;
    let mut demarche_page =
        reqwest::Url::parse(&format!("{page_base}/oidc/selection/demarche")).unwrap();
    demarche_page
        .query_pairs_mut()
        .extend_pairs([("i", interaction), ("usager", usager)]);
    let t = Instant::now();
    let page = client
        .get(demarche_page)
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if page.status() != 200 {
        return Err(format!("démarche page {}", page.status()));
    }
    let page = unescape(&page.text().await.map_err(|e| e.to_string())?);
    times.push(t.elapsed().as_secs_f64() * 1000.0);
    let field = |name: &str| {
        between(&page, &format!("name=\"{name}\" value=\""), "\"")
            .map(str::to_owned)
            .ok_or(format!("no {name} on the démarche page"))
    };
    let form = vec![
        ("csrf", field("csrf")?),
        ("i", field("i")?),
        ("usager", field("usager")?),
    ];
    Ok((times, form))
}

/// The choice (at `choice_base`) of the démarche `social` on a form from [`open_choice`]:
/// the code from the redirect's `Location`, with the step's time; the response's status when
/// no code was issued.
pub async fn choose(
    client: &reqwest::Client,
    choice_base: &str,
    cookie: &str,
    form: &ChoiceForm,
) -> Result<(f64, String), String> {
    let mut form = form.clone();
    form.push(("demarche", "social".to_owned()));
    let t = Instant::now();
    let chosen = client
        .post(format!("{choice_base}/oidc/choix"))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = chosen
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| format!("choice {}", chosen.status()))?
        .to_owned();
    let elapsed = t.elapsed().as_secs_f64() * 1000.0;
    let code = reqwest::Url::parse(&location)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no code in {location}"))?;
    Ok((elapsed, code))
}

/// The partner's side: the code exchanged at `token_base`, the identity fetched at
/// `userinfo_base`. Returns the two steps' times and the userinfo response's body.
pub async fn redeem(
    client: &reqwest::Client,
    token_base: &str,
    userinfo_base: &str,
    code: &str,
) -> Result<(Vec<f64>, String), String> {
    let t = Instant::now();
    let token: serde_json::Value = client
        .post(format!("{token_base}/oidc/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token_time = t.elapsed().as_secs_f64() * 1000.0;
    let access_token = token["access_token"]
        .as_str()
        .ok_or_else(|| format!("token {token}"))?;
    let t = Instant::now();
    let info = client
        .get(format!("{userinfo_base}/oidc/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if info.status() != 200 {
        return Err(format!("userinfo {}", info.status()));
    }
    let body = info.text().await.map_err(|e| e.to_string())?;
    Ok((vec![token_time, t.elapsed().as_secs_f64() * 1000.0], body))
}

/// One whole delegated sign-in, each of the five steps sent to its own base URL (`bases[i]`
/// for step `i` of [`STEPS`]), so that steps can alternate between nodes. Returns each step's
/// time in milliseconds and the userinfo response's body.
pub async fn delegated_flow(
    client: &reqwest::Client,
    bases: [&str; 5],
    cookie: &str,
    n: u64,
) -> Result<(Vec<f64>, String), String> {
    let (mut times, form) = open_choice(client, bases[0], bases[1], cookie, n).await?;
    let (choice_time, code) = choose(client, bases[2], cookie, &form).await?;
    times.push(choice_time);
    let (partner_times, body) = redeem(client, bases[3], bases[4], &code).await?;
    times.extend(partner_times);
    Ok((times, body))
}

/// The command line on the nodes' database and files, as an operator runs it beside them.
pub fn cli(url: &str, files: &Path, args: &[&str]) -> Output {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
    Command::new(BIN)
        .current_dir(files)
        .args(["--config", &config.display().to_string()])
        .args(args)
        .env("DATABASE_URL", url)
        .envs(node_files(files))
        .env("RUST_LOG", "error")
        .output()
        .expect("run aidants-connect")
}

/// The standard output of a command that must have succeeded.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
