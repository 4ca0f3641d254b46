#![doc = include_str!("../README.md")]

mod anomalies;
mod demo;
mod durations;
mod franceconnect;
mod provider;
mod receipts;
mod reminders;
mod remote_consent;
mod retention;
pub mod secret_file;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use thiserror::Error;
use time::Duration;

use durations::{millis, seconds};

/// Prefix of the environment variables that override settings: `AC__SERVER__BIND`.
pub const ENV_PREFIX: &str = "AC__";

pub use anomalies::{AnomalySettings, parse_hhmm, parse_range};
pub use demo::WithoutDemo;
pub use franceconnect::{
    DEMO_CLIENT_SECRET, DEMO_PROVIDER_PATH, FranceConnectSettings, FranceConnectVersion,
};
pub use provider::{DEMO_PARTNER_CLIENT_ID, DEMO_PARTNER_PATH, ProviderSettings};
pub use receipts::ReceiptsSettings;
pub use reminders::RemindersSettings;
pub use remote_consent::{MAX_LINK_TTL, RemoteConsentSettings, SmsTransport};
pub use retention::RetentionSettings;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{code} fichier de configuration illisible {path} : {message}", code = self.code())]
    Read { path: PathBuf, message: String },
    #[error("{code} configuration invalide : {0}", code = self.code())]
    Invalid(String),
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "CFG001",
            ConfigError::Invalid(_) => "CFG002",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub mandates: MandateSettings,
    pub audit: AuditSettings,
    pub auth: AuthSettings,
    pub mail: MailSettings,
    pub franceconnect: FranceConnectSettings,
    /// Anomaly rules of the coordinators' console; optional in the file (defaults apply).
    #[serde(default)]
    pub anomalies: AnomalySettings,
    /// The identity provider for partner websites; optional in the file (defaults apply).
    #[serde(default)]
    pub provider: ProviderSettings,
    /// Expiry reminders to the aidants; optional in the file (defaults apply).
    #[serde(default)]
    pub reminders: RemindersSettings,
    /// The aidé's receipts; optional in the file (defaults apply).
    #[serde(default)]
    pub receipts: ReceiptsSettings,
    /// How long identity, mandate records and the journal are kept; optional in the file (the
    /// legal texts' periods apply).
    #[serde(default)]
    pub retention: RetentionSettings,
    /// Consent at a distance; optional in the file (defaults apply).
    #[serde(default)]
    pub remote_consent: RemoteConsentSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address, e.g. `127.0.0.1:8080`.
    pub bind: String,
    /// The address people and partners use; the OIDC issuer. `https://` outside dev mode.
    pub public_url: String,
    /// Dev mode: demo identity provider, demo partner site, local mail outbox page, plain-HTTP
    /// cookies. Never on in production.
    pub dev_mode: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`. May carry a password: set it through `DATABASE_URL`.
    pub url: String,
    pub max_connections: u32,
    /// How long to wait for a pooled connection.
    #[serde(rename = "connect_timeout_ms", with = "millis")]
    pub connect_timeout: Duration,
    /// How long SQLite waits for another writer.
    #[serde(rename = "sqlite_busy_timeout_ms", with = "millis")]
    pub sqlite_busy_timeout: Duration,
    /// PostgreSQL only: the role `serve` connects as, to which `migrate` (run as the owner)
    /// grants only what the service needs (docs/operations.md, "Database roles").
    #[serde(default)]
    pub runtime_role: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `tracing` filter directive, e.g. `info,ac_web=debug`; `RUST_LOG` wins when set.
    pub filter: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MandateSettings {
    /// Version of the legal text shown and printed for new mandates; must be one of the texts
    /// compiled in (`ac_mandates::legal`).
    pub legal_text_version: String,
    /// Public verification page: lookups allowed per client IP in each window.
    #[serde(default = "default_verification_lookups")]
    pub verification_lookups_per_ip: u32,
    #[serde(
        rename = "verification_window_secs",
        with = "seconds",
        default = "default_verification_window"
    )]
    pub verification_window: Duration,
    /// The usagers list marks "Expire bientôt" a person whose authorization in force ends within
    /// this many days (1–365); optional in the file.
    #[serde(default = "default_expiring_soon_days")]
    pub expiring_soon_days: u16,
}

/// A person checks one or two printed mandates; a few dozen lookups in ten minutes from one
/// address is already someone trying codes.
fn default_verification_lookups() -> u32 {
    20
}

fn default_verification_window() -> Duration {
    Duration::minutes(10)
}

fn default_expiring_soon_days() -> u16 {
    30
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The log's name: first line of every checkpoint and the signing key's name (C2SP).
    pub origin: String,
    /// The Ed25519 signing key, in signed-note private key form (`aidants-connect audit keygen`).
    pub signing_key_file: PathBuf,
    /// Create the key at start-up when the file is missing. Dev mode only.
    pub generate_missing_key: bool,
    /// Public keys of earlier signing keys, still trusted for the checkpoints they signed.
    pub trusted_keys: Vec<String>,
    /// Where each signed checkpoint is also written as a file.
    pub checkpoint_dir: PathBuf,
    #[serde(rename = "checkpoint_interval_secs", with = "seconds")]
    pub checkpoint_interval: Duration,
    #[serde(rename = "integrate_interval_ms", with = "millis")]
    pub integrate_interval: Duration,
    pub integrate_batch: i64,
    /// `audit verify` fails when a pending entry has waited longer than this: the integrator is
    /// stopped or stuck (60 s – 7 days; 15 minutes by default).
    #[serde(
        rename = "pending_max_age_secs",
        with = "seconds",
        default = "default_pending_max_age"
    )]
    pub pending_max_age: Duration,
}

fn default_pending_max_age() -> Duration {
    Duration::minutes(15)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The AES-256-GCM key ring that seals TOTP seeds (`ID:BASE64URL` lines, current key first).
    pub totp_key_file: PathBuf,
    /// Create the key file at start-up when it is missing. Dev mode only.
    pub generate_missing_key: bool,
    /// Shown by authenticator apps above the code; no `:` (it separates issuer and account).
    pub totp_issuer: String,
    /// Validity of a sign-in link (at most 5 minutes).
    #[serde(rename = "link_ttl_secs", with = "seconds")]
    pub link_ttl: Duration,
    /// Time allowed between opening the link and typing the code.
    #[serde(rename = "totp_stage_ttl_secs", with = "seconds")]
    pub totp_stage_ttl: Duration,
    #[serde(rename = "session_idle_timeout_secs", with = "seconds")]
    pub session_idle_timeout: Duration,
    #[serde(rename = "session_max_lifetime_secs", with = "seconds")]
    pub session_max_lifetime: Duration,
    /// Without audited activity for this long, the TOTP is asked again (at most 15 minutes).
    #[serde(rename = "step_up_after_secs", with = "seconds")]
    pub step_up_after: Duration,
    /// Consecutive wrong codes that lock a device until a référent or admin unlocks it.
    pub lockout_failures: u32,
    /// Window of the rate-limit counters below.
    #[serde(rename = "rate_limit_window_secs", with = "seconds")]
    pub rate_limit_window: Duration,
    pub link_requests_per_address: u32,
    pub link_requests_per_ip: u32,
    pub totp_attempts_per_aidant: u32,
    pub totp_attempts_per_ip: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed for the client IP. Empty: the TCP peer
    /// address is the client IP.
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Real delivery through an SMTP relay.
    Smtp,
    /// Messages written under `mail.outbox_dir` (dev mode only), listed at /dev/courriels.
    File,
    /// Kept in memory for the tests (dev mode only).
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: only towards a relay on this machine, or in dev mode.
    None,
    /// STARTTLS required (port 587).
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// Sender, e.g. `Aidants Connect <ne-pas-repondre@exemple.gouv.fr>`.
    pub from: String,
    pub outbox_dir: PathBuf,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Names of the environment variables holding the credentials (empty: no authentication).
    /// The credentials themselves never appear in a file.
    pub username_env: String,
    pub password_env: String,
    /// SMTP connection and command timeout.
    #[serde(rename = "timeout_secs", with = "seconds")]
    pub timeout: Duration,
}

/// Where settings come from besides the file (explicit, so tests need not touch the process
/// environment).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub bind: Option<String>,
}

// The bounds `validate` holds the durations to; its messages give them in the TOML keys' units.
const CHECKPOINT_INTERVAL: RangeInclusive<Duration> = Duration::SECOND..=Duration::HOUR;
const INTEGRATE_INTERVAL: RangeInclusive<Duration> = Duration::milliseconds(50)..=Duration::MINUTE;
const PENDING_MAX_AGE: RangeInclusive<Duration> = Duration::MINUTE..=Duration::WEEK;
const VERIFICATION_WINDOW: RangeInclusive<Duration> = Duration::MINUTE..=Duration::DAY;
const LINK_TTL: RangeInclusive<Duration> = Duration::MINUTE..=Duration::minutes(5);
const TOTP_STAGE_TTL: RangeInclusive<Duration> = Duration::MINUTE..=Duration::minutes(15);
const STEP_UP_AFTER: RangeInclusive<Duration> = Duration::MINUTE..=Duration::minutes(15);
const SESSION_IDLE_TIMEOUT_MIN: Duration = Duration::MINUTE;
const SESSION_MAX_LIFETIME_MAX: Duration = Duration::DAY;
const RATE_LIMIT_WINDOW: RangeInclusive<Duration> = Duration::MINUTE..=Duration::DAY;
const SMTP_TIMEOUT: RangeInclusive<Duration> = Duration::SECOND..=Duration::minutes(2);

impl Settings {
    /// Reads the TOML file, overlays `AC__*` variables and the explicit overrides, and validates.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::from_figment(
            Figment::from(Toml::string(&text)).merge(Env::prefixed(ENV_PREFIX).split("__")),
            overrides,
        )
    }

    fn from_figment(figment: Figment, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = figment;
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        if let Some(bind) = &overrides.bind {
            figment = figment.merge(Serialized::default("server.bind", bind));
        }
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.server.bind.parse::<SocketAddr>().is_err() {
            return invalid(
                "server.bind doit être une adresse IP:port, par exemple 127.0.0.1:8080",
            );
        }
        let url = self.server.public_url.as_str();
        let scheme_ok =
            url.starts_with("https://") || (self.server.dev_mode && url.starts_with("http://"));
        if !scheme_ok || url.ends_with('/') || url.contains(['?', '#', ' ']) {
            return invalid(
                "server.public_url doit être une URL https:// sans / final (http:// admis en mode dev)",
            );
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.server.max_body_bytes) {
            return invalid("server.max_body_bytes doit être entre 1024 et 16777216");
        }
        if !(self.database.url.starts_with("sqlite://")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return invalid("database.url doit commencer par sqlite:// ou postgres://");
        }
        if !(1..=200).contains(&self.database.max_connections) {
            return invalid("database.max_connections doit être entre 1 et 200");
        }
        if let Some(role) = &self.database.runtime_role {
            let simple = role.len() <= 63
                && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && role
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !simple || self.database.url.starts_with("sqlite://") {
                return invalid(
                    "database.runtime_role doit être un nom de rôle PostgreSQL simple (minuscules, chiffres, _), et seulement avec une base PostgreSQL",
                );
            }
        }
        let audit = &self.audit;
        if audit.generate_missing_key && !self.server.dev_mode {
            return invalid(
                "audit.generate_missing_key n'est permis qu'en mode dev : créez la clé avec `aidants-connect audit keygen`",
            );
        }
        if audit.origin.is_empty()
            || audit.origin.len() > 100
            || audit
                .origin
                .contains(|c: char| c.is_whitespace() || c == '+')
        {
            return invalid(
                "audit.origin doit être un nom sans espace ni « + », par exemple exemple.gouv.fr/audit",
            );
        }
        if !CHECKPOINT_INTERVAL.contains(&audit.checkpoint_interval)
            || !INTEGRATE_INTERVAL.contains(&audit.integrate_interval)
        {
            return invalid(
                "audit.checkpoint_interval_secs (1–3600) ou audit.integrate_interval_ms (50–60000) hors limites",
            );
        }
        if !(1..=50_000).contains(&audit.integrate_batch) {
            return invalid("audit.integrate_batch doit être entre 1 et 50000");
        }
        // At least a minute and well above the integration interval, so a verification that
        // runs while the integrator works never mistakes a fresh entry for a stuck one.
        if !PENDING_MAX_AGE.contains(&audit.pending_max_age)
            || audit
                .integrate_interval
                .checked_mul(10)
                .is_none_or(|ten_rounds| audit.pending_max_age < ten_rounds)
        {
            return invalid(
                "audit.pending_max_age_secs doit être entre 60 et 604800 et au moins dix fois audit.integrate_interval_ms",
            );
        }
        self.validate_auth()?;
        self.validate_mail()?;
        self.franceconnect.validate(self.server.dev_mode)?;
        self.anomalies.validate()?;
        self.reminders.validate()?;
        self.receipts.validate()?;
        self.retention.validate()?;
        self.remote_consent.validate(self.server.dev_mode)?;
        self.provider.validate(self.server.dev_mode)?;
        let mandates = &self.mandates;
        let version = &mandates.legal_text_version;
        if version.is_empty() || version.len() > 40 {
            return invalid("mandates.legal_text_version doit faire de 1 à 40 caractères");
        }
        if ac_mandates::legal::legal_text(version).is_err() {
            let known: Vec<&str> = ac_mandates::legal::legal_text_versions().collect();
            return Err(ConfigError::Invalid(format!(
                "mandates.legal_text_version « {version} » n'a pas de texte légal (versions connues : {})",
                known.join(", ")
            )));
        }
        if !(1..=10_000).contains(&mandates.verification_lookups_per_ip)
            || !VERIFICATION_WINDOW.contains(&mandates.verification_window)
        {
            return invalid(
                "mandates.verification_lookups_per_ip (1–10000) ou mandates.verification_window_secs (60–86400) hors limites",
            );
        }
        if !(1..=365).contains(&mandates.expiring_soon_days) {
            return invalid("mandates.expiring_soon_days doit être entre 1 et 365");
        }
        Ok(())
    }
}

impl Settings {
    fn validate_auth(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        let auth = &self.auth;
        if auth.generate_missing_key && !self.server.dev_mode {
            return invalid(
                "auth.generate_missing_key n'est permis qu'en mode dev : créez la clé avec `aidants-connect auth keygen`",
            );
        }
        let issuer = auth.totp_issuer.as_str();
        if issuer.is_empty()
            || issuer.len() > 60
            || issuer.contains(':')
            || issuer.contains(char::is_control)
        {
            return invalid("auth.totp_issuer doit faire de 1 à 60 caractères, sans « : »");
        }
        if !LINK_TTL.contains(&auth.link_ttl) {
            return invalid(
                "auth.link_ttl_secs doit être entre 60 et 300 (un lien vit 5 minutes au plus)",
            );
        }
        if !TOTP_STAGE_TTL.contains(&auth.totp_stage_ttl) {
            return invalid("auth.totp_stage_ttl_secs doit être entre 60 et 900");
        }
        if !STEP_UP_AFTER.contains(&auth.step_up_after) {
            return invalid(
                "auth.step_up_after_secs doit être entre 60 et 900 (15 minutes au plus)",
            );
        }
        if auth.session_idle_timeout < SESSION_IDLE_TIMEOUT_MIN
            || auth.session_idle_timeout > auth.session_max_lifetime
            || auth.session_max_lifetime > SESSION_MAX_LIFETIME_MAX
        {
            return invalid(
                "auth.session_idle_timeout_secs (60 au moins) doit être inférieur à auth.session_max_lifetime_secs (24 h au plus)",
            );
        }
        if !(1..=10).contains(&auth.lockout_failures) {
            return invalid("auth.lockout_failures doit être entre 1 et 10");
        }
        if !RATE_LIMIT_WINDOW.contains(&auth.rate_limit_window) {
            return invalid("auth.rate_limit_window_secs doit être entre 60 et 86400");
        }
        let limits = [
            auth.link_requests_per_address,
            auth.link_requests_per_ip,
            auth.totp_attempts_per_aidant,
            auth.totp_attempts_per_ip,
        ];
        if limits.iter().any(|l| !(1..=100_000).contains(l)) {
            return invalid("les limites auth.*_per_* doivent être entre 1 et 100000");
        }
        if auth.totp_attempts_per_aidant < auth.lockout_failures {
            // Otherwise the rate limit would hide the lockout the issue asks for.
            return invalid(
                "auth.totp_attempts_per_aidant doit être au moins auth.lockout_failures",
            );
        }
        if auth
            .trusted_proxies
            .iter()
            .any(|p| p.parse::<std::net::IpAddr>().is_err())
        {
            return invalid("auth.trusted_proxies doit lister des adresses IP");
        }
        Ok(())
    }

    fn validate_mail(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        let mail = &self.mail;
        if mail.transport != MailTransport::Smtp && !self.server.dev_mode {
            return invalid("mail.transport doit être \"smtp\" hors du mode dev");
        }
        if mail.from.is_empty() || !mail.from.contains('@') || mail.from.contains(char::is_control)
        {
            return invalid(
                "mail.from doit être une adresse, par exemple « Aidants Connect <ne-pas-repondre@exemple.fr> »",
            );
        }
        let smtp = &mail.smtp;
        if mail.transport == MailTransport::Smtp {
            if smtp.host.is_empty() || smtp.host.contains(char::is_whitespace) || smtp.port == 0 {
                return invalid("mail.smtp.host et mail.smtp.port sont requis");
            }
            let local = smtp.host == "localhost"
                || smtp
                    .host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if smtp.tls == SmtpTls::None && !local && !self.server.dev_mode {
                return invalid(
                    "mail.smtp.tls = \"none\" n'est permis que vers un relais local (localhost) hors du mode dev",
                );
            }
            if !SMTP_TIMEOUT.contains(&smtp.timeout) {
                return invalid("mail.smtp.timeout_secs doit être entre 1 et 120");
            }
            if smtp.username_env.is_empty() != smtp.password_env.is_empty() {
                return invalid("mail.smtp.username_env et mail.smtp.password_env vont ensemble");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure type, not ours
mod tests {
    use super::*;
    use figment::Jail;

    const DEFAULT: &str = include_str!("../../../config/default.toml");
    const PRODUCTION: &str = include_str!("../../../config/production.example.toml");

    /// The file alone. Tests run in parallel in one process, so only those inside a `Jail`
    /// (which serialises them) may read the environment: see [`load_with_env`].
    fn load(text: &str, overrides: &Overrides) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::from(Toml::string(text)), overrides)
    }

    /// The file and the `AC__…` environment, as the service loads them. Only inside a `Jail`.
    fn load_with_env(text: &str, overrides: &Overrides) -> Result<Settings, ConfigError> {
        Settings::from_figment(
            Figment::from(Toml::string(text)).merge(Env::prefixed(ENV_PREFIX).split("__")),
            overrides,
        )
    }

    #[test]
    fn shipped_files_are_valid() {
        let dev = load(DEFAULT, &Overrides::default()).unwrap();
        assert_eq!(dev.mandates.expiring_soon_days, 30);
        let without = DEFAULT.replace("expiring_soon_days = 30", "");
        let defaulted = load(&without, &Overrides::default()).unwrap();
        assert_eq!(
            defaulted.mandates.expiring_soon_days, 30,
            "optional, 30 days"
        );
        assert!(dev.server.dev_mode);
        assert!(dev.database.url.starts_with("sqlite://var/"));
        let production = load(PRODUCTION, &Overrides::default()).unwrap();
        assert!(
            !production.server.dev_mode,
            "production must not ship dev mode"
        );
        assert!(production.server.public_url.starts_with("https://"));
    }

    #[test]
    fn the_runtime_role_is_a_simple_postgresql_role() {
        let dev = load(DEFAULT, &Overrides::default()).unwrap();
        assert_eq!(dev.database.runtime_role, None);
        let with = |url: &str, role: &str| {
            let text = DEFAULT.replace(
                "sqlite_busy_timeout_ms = 5000\n",
                &format!("sqlite_busy_timeout_ms = 5000\nruntime_role = \"{role}\"\n"),
            );
            let overrides = Overrides {
                database_url: Some(url.into()),
                bind: None,
            };
            load(&text, &overrides)
        };
        let pg = "postgres://owner@db/ac";
        assert_eq!(
            with(pg, "ac_runtime")
                .unwrap()
                .database
                .runtime_role
                .as_deref(),
            Some("ac_runtime")
        );
        for bad in ["", "AC", "ac-runtime", "ac\\\" ; DROP", "1ac"] {
            let err = with(pg, bad).unwrap_err().to_string();
            assert!(err.contains("database.runtime_role"), "{bad}: {err}");
        }
        assert!(with("sqlite://var/x.db", "ac_runtime").is_err());
    }

    #[test]
    fn the_pending_age_bound_is_optional_and_bounded() {
        let without = DEFAULT.replace("pending_max_age_secs = 900", "");
        assert_eq!(
            load(&without, &Overrides::default())
                .unwrap()
                .audit
                .pending_max_age,
            Duration::seconds(900)
        );
        for bad in ["0", "59", "604801"] {
            let text = DEFAULT.replace(
                "pending_max_age_secs = 900",
                &format!("pending_max_age_secs = {bad}"),
            );
            let err = load(&text, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("audit.pending_max_age_secs"), "{bad}: {err}");
        }
        // Ten integration rounds at least: 60 s with rounds every 10 s is refused.
        let slow = DEFAULT
            .replace("pending_max_age_secs = 900", "pending_max_age_secs = 60")
            .replace(
                "integrate_interval_ms = 500",
                "integrate_interval_ms = 10000",
            );
        assert!(load(&slow, &Overrides::default()).is_err());
    }

    #[test]
    fn a_legal_text_version_without_its_text_is_named_in_the_refusal() {
        let text = DEFAULT.replace(
            "legal_text_version = \"2026-01\"",
            "legal_text_version = \"2026-13\"",
        );
        let err = load(&text, &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("2026-13") && err.contains("2026-01"), "{err}");
        let older = DEFAULT.replace(
            "legal_text_version = \"2026-01\"",
            "legal_text_version = \"2025-01\"",
        );
        assert!(load(&older, &Overrides::default()).is_ok());
    }

    #[test]
    fn environment_and_overrides_win_over_the_file() {
        Jail::expect_with(|jail| {
            jail.set_env("AC__SERVER__MAX_BODY_BYTES", "2048");
            jail.set_env("AC_TEST_DATABASE_URL", "postgres://ignored");
            let overrides = Overrides {
                database_url: Some("postgres://db/ac".into()),
                bind: Some("0.0.0.0:9000".into()),
            };
            let settings = load_with_env(DEFAULT, &overrides).unwrap();
            assert_eq!(settings.server.max_body_bytes, 2048);
            assert_eq!(settings.database.url, "postgres://db/ac");
            assert_eq!(settings.server.bind, "0.0.0.0:9000");
            Ok(())
        });
    }

    #[test]
    fn durations_keep_their_keys_and_units() {
        let dev = load(DEFAULT, &Overrides::default()).unwrap();
        assert_eq!(dev.database.sqlite_busy_timeout, Duration::seconds(5));
        assert_eq!(dev.audit.integrate_interval, Duration::milliseconds(500));
        assert_eq!(dev.auth.step_up_after, Duration::minutes(15));
        Jail::expect_with(|jail| {
            jail.set_env("AC__AUTH__LINK_TTL_SECS", "120");
            let settings = load_with_env(DEFAULT, &Overrides::default()).unwrap();
            assert_eq!(settings.auth.link_ttl, Duration::minutes(2));
            // Beyond what a duration holds: refused, naming the key, rather than wrapped.
            jail.set_env("AC__AUTH__LINK_TTL_SECS", u64::MAX.to_string());
            let err = load_with_env(DEFAULT, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.to_lowercase().contains("link_ttl_secs"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn auth_and_mail_sections_are_checked() {
        let dev = load(DEFAULT, &Overrides::default()).unwrap();
        assert_eq!(dev.mail.transport, MailTransport::File);
        assert_eq!(dev.auth.lockout_failures, 10);
        assert_eq!(dev.auth.link_ttl, Duration::seconds(300));
        let production = load(PRODUCTION, &Overrides::default()).unwrap();
        assert_eq!(production.mail.transport, MailTransport::Smtp);
        assert_eq!(production.mail.smtp.tls, SmtpTls::Starttls);
        assert!(!production.auth.generate_missing_key);

        for (from, to) in [
            ("link_ttl_secs = 300", "link_ttl_secs = 900"),
            ("step_up_after_secs = 900", "step_up_after_secs = 1800"),
            ("lockout_failures = 10", "lockout_failures = 11"),
            (
                "totp_attempts_per_aidant = 10",
                "totp_attempts_per_aidant = 5",
            ),
            (
                "trusted_proxies = []",
                "trusted_proxies = [\"proxy.internal\"]",
            ),
            ("totp_issuer = \"Aidants Connect\"", "totp_issuer = \"A:B\""),
            (
                "session_idle_timeout_secs = 1800",
                "session_idle_timeout_secs = 90000",
            ),
            ("transport = \"file\"", "transport = \"pigeon\""),
        ] {
            assert!(DEFAULT.contains(from), "{from}");
            let text = DEFAULT.replacen(from, to, 1);
            assert!(
                matches!(
                    load(&text, &Overrides::default()),
                    Err(ConfigError::Invalid(_))
                ),
                "{to}"
            );
        }
        // Outside dev mode: no generated key, no file or memory outbox, no clear SMTP to a remote host.
        for (from, to) in [
            (
                "generate_missing_key = false\ntotp_issuer",
                "generate_missing_key = true\ntotp_issuer",
            ),
            ("transport = \"smtp\"", "transport = \"file\""),
            ("tls = \"starttls\"", "tls = \"none\""),
            ("password_env = \"AC_SMTP_PASSWORD\"", "password_env = \"\""),
        ] {
            assert!(PRODUCTION.contains(from), "{from}");
            let text = PRODUCTION.replacen(from, to, 1);
            assert!(
                matches!(
                    load(&text, &Overrides::default()),
                    Err(ConfigError::Invalid(_))
                ),
                "{to}"
            );
        }
        let local = PRODUCTION
            .replace("tls = \"starttls\"", "tls = \"none\"")
            .replace("host = \"smtp.example.gouv.fr\"", "host = \"127.0.0.1\"");
        assert!(
            load(&local, &Overrides::default()).is_ok(),
            "a local relay may be plain"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_a_message() {
        let typo = DEFAULT.replace("max_body_bytes", "max_body_byte");
        let err = load(&typo, &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("max_body_byte"), "{err}");

        Jail::expect_with(|jail| {
            jail.set_env("AC__SERVER__BINDD", "x");
            assert!(load_with_env(DEFAULT, &Overrides::default()).is_err());
            Ok(())
        });

        for (from, to) in [
            ("bind = \"127.0.0.1:8080\"", "bind = \"localhost\""),
            (
                "url = \"sqlite://var/aidants-connect.db\"",
                "url = \"mysql://x\"",
            ),
            ("dev_mode = true", "dev_mode = false"), // http:// public URL outside dev mode
            ("max_connections = 8", "max_connections = 0"),
            (
                "legal_text_version = \"2026-01\"",
                "legal_text_version = \"2099-01\"",
            ),
            (
                "verification_lookups_per_ip = 20",
                "verification_lookups_per_ip = 0",
            ),
            ("expiring_soon_days = 30", "expiring_soon_days = 0"),
            ("expiring_soon_days = 30", "expiring_soon_days = 366"),
        ] {
            assert!(DEFAULT.contains(from), "{from}");
            let text = DEFAULT.replace(from, to);
            assert!(
                matches!(
                    load(&text, &Overrides::default()),
                    Err(ConfigError::Invalid(_))
                ),
                "{to}"
            );
        }
    }
}
