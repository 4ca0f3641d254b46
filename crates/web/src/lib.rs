#![doc = include_str!("../README.md")]

mod aide_space;
mod audio;
pub mod audit_worker;
pub mod auth;
mod comprehension;
mod console;
mod dates;
#[cfg(feature = "demo")]
mod demo;
mod denied;
mod dsfr;
mod durations;
mod error;
pub mod housekeeping;
mod i18n;
mod identification;
mod information;
pub mod mail_worker;
mod mandate_copy;
mod menu;
pub mod periodic;
mod person_login;
pub mod provider;
mod public;
mod reading;
mod receipt_choice;
pub mod receipts;
pub mod reminders;
mod remote_consent;
mod respond;
pub mod retention;
mod routes;
mod security;
mod sms;
mod status;
mod templates;
mod usagers;
mod waiting;

use ac_audit::{SignerKey, VerifierKey};
use ac_clock::Clock;
use ac_config::Settings;
use ac_storage::Database;
use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, NormalizePath, TrailingSlash};
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;

pub use dsfr::base as dsfr_base;
pub use error::WebError;
pub use identification::FranceConnect;
pub use templates::Templates;

/// Everything a handler may need, shared by all workers.
#[derive(Clone, Debug)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    pub templates: Arc<Templates>,
    /// The local time of each département, for every time a person reads.
    pub local_times: Arc<ac_localtime::LocalTimes>,
    /// Signs audit checkpoints; its public half is published at `/audit/key`.
    pub audit_key: Arc<SignerKey>,
    /// Sign-in keys, timings and limits.
    pub auth: Arc<auth::AuthRuntime>,
    pub mailer: ac_mail::Mailer,
    /// The relying party towards FranceConnect, to identify the aidé.
    pub franceconnect: Arc<identification::FranceConnect>,
    /// The identity provider for partner websites.
    pub provider: Arc<provider::ProviderRuntime>,
    /// Where text messages go (`remote_consent.sms_transport`).
    pub(crate) sms: Arc<dyn sms::SmsTransport>,
    /// The demonstration provider and partner website (dev mode, `demo` builds only).
    #[cfg(feature = "demo")]
    demo: demo::Demo,
    /// Raised when the audit worker finds a row it did not write: `/readyz` and the integrity
    /// panel show it, and integration stays stopped until an operator restarts the service.
    pub journal_alarm: Arc<audit_worker::JournalAlarm>,
}

impl AppState {
    pub fn new(
        settings: Arc<Settings>,
        db: Database,
        clock: Arc<dyn Clock>,
        audit_key: SignerKey,
    ) -> Result<Self, WebError> {
        if let Some(refusal) = demo_unavailable(&settings) {
            return Err(WebError::Internal(refusal));
        }
        Ok(Self {
            franceconnect: Arc::new(identification::FranceConnect::from_settings(&settings)?),
            provider: Arc::new(provider::ProviderRuntime::from_settings(
                &settings,
                &db,
                clock.now(),
            )?),
            // After the provider, which registers the partner (and creates its secret).
            #[cfg(feature = "demo")]
            demo: demo::Demo::from_settings(&settings, &clock)?,
            auth: Arc::new(auth::AuthRuntime::from_settings(&settings)?),
            sms: Arc::from(
                sms::from_settings(&settings.remote_consent, settings.mail.outbox_dir.clone())
                    .map_err(WebError::internal)?,
            ),
            mailer: ac_mail::Mailer::from_settings(&settings.mail)
                .map_err(|e| WebError::Internal(e.to_string()))?,
            settings,
            db,
            clock,
            templates: Arc::new(Templates::load()?),
            local_times: Arc::new(ac_localtime::LocalTimes::load().map_err(WebError::internal)?),
            audit_key: Arc::new(audit_key),
            journal_alarm: Arc::default(),
        })
    }

    /// Keys whose checkpoints are trusted: the current one and those listed in the settings.
    pub fn trusted_audit_keys(&self) -> Result<Vec<VerifierKey>, WebError> {
        let mut keys = vec![self.audit_key.verifier()];
        for text in &self.settings.audit.trusted_keys {
            keys.push(text.parse().map_err(WebError::internal)?);
        }
        Ok(keys)
    }
}

pub use routes::configure;

/// Whether this binary was built with the demonstration sites and data (the `demo` cargo
/// feature: `make run`, the tests); a production build (`make release`) is not.
pub const BUILT_WITH_DEMO: bool = cfg!(feature = "demo");

/// Why these settings cannot run on this binary: they turn on a demonstration site that a
/// production build (without the `demo` feature) does not contain. Refused at start-up rather
/// than sending aidants to a page that does not exist (docs/operations.md, "Production build").
pub fn demo_unavailable(settings: &Settings) -> Option<String> {
    let wanted = settings.server.dev_mode
        && (settings.franceconnect.demo_provider_enabled || settings.provider.demo_partner_enabled);
    (wanted && !BUILT_WITH_DEMO).then(|| {
        format!(
            "{} : mettez franceconnect.demo_provider_enabled et \
             provider.demo_partner_enabled à false, ou construisez-le avec la démonstration \
             (make run, cargo build --features demo)",
            ac_config::WithoutDemo
        )
    })
}

/// Starts the HTTP server on an already bound listener (tests bind port 0).
pub fn serve(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let workers = match state.settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    // Blocking tasks are database work holding a pooled connection (the development outbox
    // page aside), so more threads than connections only wait on the pool: actix's default
    // (512 per server) let 64 concurrent aidants park dozens of threads there, and the wake-ups
    // cost about a tenth of the OIDC flows' throughput (`docs/performance.md`).
    let blocking_threads = (state.settings.database.max_connections as usize).div_ceil(workers);
    let server = HttpServer::new(move || {
        let max_body = state.settings.server.max_body_bytes;
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(
                web::FormConfig::default()
                    .limit(max_body)
                    .error_handler(error::form_error),
            )
            .app_data(web::JsonConfig::default().limit(max_body))
            .configure(|cfg| configure(cfg, &state))
            .default_service(web::to(public::not_found))
            .wrap(actix_web::middleware::from_fn(
                security::refuse_control_characters,
            ))
            .wrap(
                ErrorHandlers::new()
                    .default_handler_client(error::client_error_page)
                    .default_handler_server(error::constant_server_error),
            )
            .wrap(NormalizePath::new(TrailingSlash::Trim))
            .wrap(security::headers(state.settings.server.dev_mode))
            .wrap(actix_web::middleware::from_fn(security::request_id_header))
            .wrap(TracingLogger::<auth::RedactingRootSpan>::new())
    })
    .workers(workers)
    .worker_max_blocking_threads(blocking_threads)
    .listen(listener)?
    .run();
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(file: &str) -> Settings {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config")
            .join(file);
        Settings::load(&path, &ac_config::Overrides::default()).unwrap()
    }

    /// A production build refuses the development settings that need a demonstration site,
    /// and starts on production settings; a `demo` build starts on both.
    #[test]
    fn only_a_demo_build_serves_settings_that_ask_for_the_demonstration() {
        let dev = demo_unavailable(&settings("default.toml"));
        if BUILT_WITH_DEMO {
            assert_eq!(dev, None);
        } else {
            assert!(
                dev.as_ref()
                    .is_some_and(|r| r.starts_with(&ac_config::WithoutDemo.to_string())),
                "{dev:?}"
            );
        }
        assert_eq!(demo_unavailable(&settings("production.example.toml")), None);
    }
}
