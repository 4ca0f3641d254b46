//! Everything the `demo` cargo feature adds to the web crate, in one place: the
//! FranceConnect-style demonstration provider, the demonstration partner website (its routes
//! and its client registration) and the demonstration accounts' current TOTP code on the
//! development outbox page. A production build (`make release`) compiles none of it, and
//! `make boundaries` checks that its dependency tree holds no demo crate
//! (docs/operations.md, "Production build").

use ac_auth::{Token, TokenHash};
use ac_clock::Clock;
use ac_config::{DEMO_PARTNER_CLIENT_ID, DEMO_PARTNER_PATH, Settings, secret_file};
use ac_oidc::SigningAlg;
use ac_oidc::op::{self, ClientAuthMethod};
use ac_storage::journal::AuditContext;
use ac_storage::oidc_clients::{self, NewClient};
use actix_web::web;
use ring::rand::SystemRandom;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::WebError;

/// The demonstration sites this node serves (each only in dev mode and when its setting is on).
#[derive(Clone, Debug)]
pub struct Demo {
    idp: Option<ac_demo_idp::DemoIdp>,
    partner: Option<ac_demo_partner::DemoPartner>,
}

impl Demo {
    /// Built after the provider, which registers the partner (and creates its secret).
    pub(crate) fn from_settings(
        settings: &Settings,
        clock: &Arc<dyn Clock>,
    ) -> Result<Self, WebError> {
        Ok(Self {
            partner: if settings.server.dev_mode && settings.provider.demo_partner_enabled {
                ac_demo_partner::DemoPartner::from_settings(
                    settings,
                    &partner_secret(settings)?,
                    clock.clone(),
                )
            } else {
                None
            },
            idp: ac_demo_idp::DemoIdp::from_settings(settings, clock.clone())
                .map_err(WebError::internal)?,
        })
    }

    pub(crate) fn configure(&self, cfg: &mut web::ServiceConfig) {
        if let Some(idp) = &self.idp {
            ac_demo_idp::configure(cfg, idp);
        }
        if let Some(partner) = &self.partner {
            ac_demo_partner::configure(cfg, partner);
        }
    }
}

/// The demonstration partner website's client (dev mode): its secret in a file created on
/// first start; its registration written again when the address or secret changed.
pub(crate) fn register_partner(
    settings: &Settings,
    conn: &mut ac_storage::DbConnection,
    now: OffsetDateTime,
) -> Result<(), WebError> {
    if !(settings.server.dev_mode && settings.provider.demo_partner_enabled) {
        return Ok(());
    }
    let secret = partner_secret(settings)?;
    let base = format!("{}{DEMO_PARTNER_PATH}", settings.server.public_url);
    let redirect_uris = vec![format!("{base}/retour")];
    let post_logout = vec![format!("{base}/deconnexion")];
    let scopes: Vec<String> = op::SUPPORTED_SCOPES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let hash = TokenHash::of(secret.as_bytes());
    let wanted = NewClient {
        id: DEMO_PARTNER_CLIENT_ID,
        name: "Service public de démonstration",
        secret_hash: &hash,
        sealed_secret: None,
        redirect_uris: &redirect_uris,
        post_logout_redirect_uris: &post_logout,
        auth_method: ClientAuthMethod::ClientSecretPost.as_str(),
        id_token_alg: SigningAlg::ES256.as_str(),
        userinfo_alg: Some(SigningAlg::ES256.as_str()),
        allowed_scopes: &scopes,
        act_claim: true,
    };
    let context = AuditContext::system();
    match oidc_clients::get(conn, DEMO_PARTNER_CLIENT_ID)? {
        None => oidc_clients::insert(conn, &wanted, &context, now)?,
        Some(found)
            if found.secret_hash != hash.as_str()
                || found.redirect_uris != redirect_uris
                || found.post_logout_redirect_uris != post_logout
                || !found.is_active =>
        {
            oidc_clients::replace(conn, &wanted, &context, now)?
        }
        Some(_) => {}
    }
    Ok(())
}

/// The demonstration partner's client secret (dev mode), created on first start.
fn partner_secret(settings: &Settings) -> Result<String, WebError> {
    let (secret, _) = secret_file::read_or_create(
        &settings.provider.demo_partner_secret_file,
        settings.server.dev_mode,
        || {
            Token::generate(&SystemRandom::new())
                .map(|t| format!("{}\n", t.expose()))
                .map_err(|e| e.to_string())
        },
    )
    .map_err(WebError::internal)?;
    Ok(secret)
}

/// The current code of the demonstration accounts' authenticator (their seed is public).
pub(crate) fn totp_now(now: OffsetDateTime) -> String {
    ac_auth::totp::code_at(
        ac_demo::DEMO_TOTP_SEED,
        ac_auth::TotpStep::App,
        now.unix_timestamp(),
        6,
    )
}
