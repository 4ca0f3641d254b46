#![doc = include_str!("../README.md")]

mod identities;
mod keys;
mod page;
mod routes;
mod store;

use ac_auth::Secret;
use ac_clock::Clock;
use actix_web::web;
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

pub use ac_config::DEMO_PROVIDER_PATH as PATH;
pub use identities::{IDENTITIES, Identity, subject_of};

#[derive(Debug, Error)]
pub enum DemoIdpError {
    #[error("{code} clé de signature du fournisseur de démonstration impossible à créer", code = self.code())]
    Key,
    #[error("{code} l'émetteur du fournisseur de démonstration doit finir par {PATH}", code = self.code())]
    Issuer,
    #[error("{code} configuration du fournisseur de démonstration : {0}", code = self.code())]
    Config(String),
}

impl DemoIdpError {
    pub fn code(&self) -> &'static str {
        match self {
            DemoIdpError::Key => "DIP001",
            DemoIdpError::Issuer => "DIP002",
            DemoIdpError::Config(_) => "DIP003",
        }
    }
}

/// The one client registered at the demonstration provider: this service.
#[derive(Clone)]
pub struct DemoIdpSettings {
    /// `{public_url}/demo/franceconnect`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Every return address registered: the mandate journey's and the aidé's own space's.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
}

impl fmt::Debug for DemoIdpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoIdpSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

/// The provider; cheap to clone, shared by every worker (create it once per process).
#[derive(Clone, Debug)]
pub struct DemoIdp(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    settings: DemoIdpSettings,
    key: keys::SigningKey,
    store: store::Store,
    clock: Arc<dyn Clock>,
}

impl DemoIdp {
    pub fn new(settings: DemoIdpSettings, clock: Arc<dyn Clock>) -> Result<Self, DemoIdpError> {
        if !settings.issuer.ends_with(PATH) {
            return Err(DemoIdpError::Issuer);
        }
        Ok(Self(Arc::new(Inner {
            key: keys::SigningKey::generate()?,
            store: store::Store::default(),
            settings,
            clock,
        })))
    }

    /// The provider the settings ask for: `None` outside dev mode or when it is turned off.
    pub fn from_settings(
        settings: &ac_config::Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Self>, DemoIdpError> {
        let fc = &settings.franceconnect;
        if !(settings.server.dev_mode && fc.demo_provider_enabled) {
            return Ok(None);
        }
        let public_url = &settings.server.public_url;
        let secret = fc
            .client_secret()
            .map_err(|e| DemoIdpError::Config(e.to_string()))?;
        Self::new(
            DemoIdpSettings {
                issuer: fc.issuer_url(public_url),
                client_id: fc.client_id.clone(),
                client_secret: Secret::new(secret.into_bytes()),
                redirect_uris: vec![
                    fc.redirect_url(public_url),
                    fc.aide_redirect_url(public_url),
                    fc.remote_redirect_url(public_url),
                ],
                post_logout_redirect_uris: vec![
                    fc.post_logout_redirect_url(public_url),
                    fc.aide_post_logout_redirect_url(public_url),
                ],
            },
            clock,
        )
        .map(Some)
    }

    pub fn issuer(&self) -> &str {
        &self.0.settings.issuer
    }
}

/// Mounts the provider under [`PATH`].
pub fn configure(cfg: &mut web::ServiceConfig, idp: &DemoIdp) {
    cfg.service(
        web::scope(PATH)
            .app_data(web::Data::new(idp.clone()))
            .service(web::resource("/.well-known/openid-configuration").get(routes::discovery))
            .service(web::resource("/jwks").get(routes::jwks))
            .service(web::resource("/authorize").get(routes::authorize))
            .service(web::resource("/authorize/choix").post(routes::choose))
            .service(web::resource("/token").post(routes::token))
            .service(web::resource("/userinfo").get(routes::userinfo))
            .service(web::resource("/session/end").get(routes::end_session)),
    );
}
