//! The `TestApp` harness: a real server on an ephemeral loopback port, over a fresh database,
//! with a clock the test controls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use ac_clock::ManualClock;
use ac_config::{Overrides, Settings};
use ac_storage::testing::TestDatabase;
use actix_web::dev::ServerHandle;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;
use time::macros::datetime;

pub mod brevo;
pub mod browser;
pub mod interop;
mod journey;
mod provider;
mod sign_in;
pub mod smtp;
pub use journey::{Started, between, location};
pub use provider::{
    CLIENT_ID, CLIENT_SECRET, ClientSetup, POST_LOGOUT_URI, Picked, REDIRECT_URI, hidden, links,
    person_path, query_param,
};
pub use sign_in::{TOTP_SEED, extract_csrf, link_token};

/// The instant every test starts at.
pub const START: OffsetDateTime = datetime!(2026-11-22 09:00 UTC);

pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub clock: Arc<ManualClock>,
    pub state: ac_web::AppState,
    /// Holds the checkpoint folder and other files of this app.
    pub files: tempfile::TempDir,
    /// The client's cookies, to read the session cookie (fixation tests).
    pub jar: Arc<reqwest::cookie::Jar>,
    server: ServerHandle,
}

/// Everything the service logged in this process (every test's apps together), as text: a
/// reference shown to a person must be found here with its cause.
pub fn captured_log() -> String {
    let buffer = log_buffer()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    String::from_utf8_lossy(&buffer).into_owned()
}

fn log_buffer() -> &'static std::sync::Mutex<Vec<u8>> {
    static BUFFER: std::sync::OnceLock<std::sync::Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    BUFFER.get_or_init(Default::default)
}

struct CapturedLog;

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        log_buffer()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the service's logs (spans included, so each line carries its request id) to
/// [`captured_log`], once per process.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,hyper=warn,hyper_util=warn,reqwest=warn,h2=warn,rustls=warn",
            ))
            .with_ansi(false)
            .with_writer(|| CapturedLog)
            .try_init();
    });
}

pub fn test_settings() -> Settings {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/test.toml");
    Settings::load(&path, &Overrides::default()).expect("config/test.toml")
}

impl TestApp {
    /// One app per backend: SQLite always, PostgreSQL when AC_TEST_DATABASE_URL is set.
    pub async fn each() -> Vec<TestApp> {
        let mut apps = Vec::new();
        for db in TestDatabase::each_as_runtime_role().expect("test database") {
            apps.push(Self::spawn(db, test_settings()).await);
        }
        apps
    }

    pub async fn spawn(db: TestDatabase, mut settings: Settings) -> TestApp {
        capture_logs();
        let files = tempfile::tempdir().unwrap();
        settings.audit.checkpoint_dir = files.path().join("checkpoints");
        settings.audit.signing_key_file = files.path().join("keys/audit-signing.key");
        settings.auth.totp_key_file = files.path().join("keys/totp-seeds.key");
        // Outside dev mode the key must exist beforehand, as in production.
        ac_web::auth::load_key_ring(
            &settings.auth.totp_key_file,
            true,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        settings.mail.outbox_dir = files.path().join("mail");
        settings.franceconnect.pseudonym_key_file = files.path().join("keys/usager-pseudonym.key");
        settings.provider.key_ring_file = files.path().join("keys/provider-keys.key");
        settings.provider.demo_partner_secret_file = files.path().join("keys/demo-partner.secret");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        // Links in e-mails and the demonstration provider's issuer use the real port.
        settings.server.public_url = base_url.clone();
        let clock = Arc::new(ManualClock::new(START));
        // A fixed key: checkpoints signed in tests are reproducible and verifiable.
        let audit_key = ac_audit::SignerKey::from_seed(&settings.audit.origin, [3; 32]).unwrap();
        let state =
            ac_web::AppState::new(Arc::new(settings), db.db.clone(), clock.clone(), audit_key)
                .unwrap();
        let server = ac_web::serve(state.clone(), listener).unwrap();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        TestApp {
            base_url,
            client,
            db,
            clock,
            state,
            files,
            jar,
            server: handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// How many rows `table` holds (a fixed table name of the schema, never user input).
    pub fn count_rows(&self, table: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(&mut *self.db.db.conn().unwrap())
            .unwrap()
            .n
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}
