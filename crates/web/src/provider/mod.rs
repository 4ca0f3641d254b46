//! The identity provider for partner websites (docs/domain.md, "Journeys" 3 and "FranceConnect").
//!
//! A partner website sends the aidant here through FranceConnect; the aidant signs in if needed,
//! picks the person helped and the démarche among those an active mandate of their structure
//! covers, and the website receives that person's identity. Every protocol decision is
//! `ac_oidc::op`'s; codes and tokens live (hashed) in the database through
//! `ac_storage::oidc_grants`, which checks the mandate again at each step; this module speaks
//! HTTP. Rules and tests: `docs/security/oidc-provider.md`.

mod choice;
mod interaction;
pub mod keys;
pub(crate) mod protocol;
pub(crate) mod selection;
mod tokens;

use ac_auth::{KeyRing, Secret};
use ac_config::Settings;
use ac_oidc::SigningAlg;
use ac_oidc::op::{self, Client, UserinfoFormat};
use ac_storage::Database;
use ac_storage::oidc_clients::{self, ClientRecord};
use actix_web::web;
use ring::rand::SystemRandom;
use std::fmt;
use time::OffsetDateTime;

use crate::WebError;

/// What the provider needs besides the database: its issuer, lifetimes, the key ring that seals
/// private keys and HS256 secrets, and the signing keys (reloaded from the database).
pub struct ProviderRuntime {
    pub issuer: String,
    pub code_ttl: time::Duration,
    pub access_token_ttl: time::Duration,
    pub interaction_ttl: time::Duration,
    pub dev_mode: bool,
    key_ring: KeyRing,
    keys: keys::KeyCache,
    clients: std::sync::Mutex<std::collections::HashMap<String, (FoundClient, OffsetDateTime)>>,
    rng: SystemRandom,
}

impl fmt::Debug for ProviderRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderRuntime")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl ProviderRuntime {
    /// Reads the key ring and, in dev mode, creates what is missing: the key ring, a first ES256
    /// key pair (current and next), and (built with the `demo` feature) the demonstration
    /// partner's registration.
    pub fn from_settings(
        settings: &Settings,
        db: &Database,
        now: OffsetDateTime,
    ) -> Result<Self, WebError> {
        let provider = &settings.provider;
        let rng = SystemRandom::new();
        let key_ring =
            keys::load_key_ring(&provider.key_ring_file, provider.generate_missing_key, &rng)
                .map_err(WebError::Internal)?;
        let runtime = Self {
            issuer: settings.server.public_url.clone(),
            code_ttl: provider.code_ttl,
            access_token_ttl: provider.access_token_ttl,
            interaction_ttl: provider.interaction_ttl,
            dev_mode: settings.server.dev_mode,
            keys: keys::KeyCache::new(provider.key_reload, provider.retired_key_publish),
            key_ring,
            clients: std::sync::Mutex::default(),
            rng,
        };
        let conn = &mut *db.conn()?;
        if provider.generate_missing_key {
            keys::ensure_es256(conn, &runtime.key_ring, &runtime.rng, now)?;
        }
        #[cfg(feature = "demo")]
        crate::demo::register_partner(settings, conn, now)?;
        runtime.keys.reload(conn, &runtime.key_ring, now)?;
        Ok(runtime)
    }

    pub(crate) fn key_ring(&self) -> &KeyRing {
        &self.key_ring
    }

    pub(crate) fn rng(&self) -> &SystemRandom {
        &self.rng
    }

    /// The keys in use, reloaded from the database when older than `provider.key_reload_secs`.
    pub(crate) async fn keys(
        &self,
        db: &Database,
        now: OffsetDateTime,
    ) -> Result<std::sync::Arc<op::KeySet>, WebError> {
        self.keys.get(db, &self.key_ring, now).await
    }
}

/// A stored client as the protocol checks see it; `None` when the stored values no longer parse
/// (then the client is treated as unknown, and the cause logged).
pub(crate) fn client_of(record: &ClientRecord) -> Option<Client> {
    let parsed = (|| -> Result<Client, String> {
        Ok(Client {
            id: record.id.clone(),
            redirect_uris: record.redirect_uris.clone(),
            post_logout_redirect_uris: record.post_logout_redirect_uris.clone(),
            auth_method: record.auth_method.parse().map_err(|e| format!("{e}"))?,
            id_token_alg: record
                .id_token_alg
                .parse()
                .map_err(|()| "id_token_alg".to_owned())?,
            userinfo: match &record.userinfo_alg {
                None => UserinfoFormat::Json,
                Some(alg) => {
                    UserinfoFormat::Signed(alg.parse().map_err(|()| "userinfo_alg".to_owned())?)
                }
            },
            allowed_scopes: record.allowed_scopes.clone(),
            act_claim: record.act_claim,
        })
    })();
    parsed
        .map_err(|e| tracing::error!(client = %record.id, error = %e, "stored client unreadable"))
        .ok()
}

/// How long a node trusts a client's registration from memory: `client disable` (or a new
/// secret) takes effect on every node within this delay. Unknown ids are never cached.
const CLIENT_CACHE: time::Duration = time::Duration::seconds(5);

type FoundClient = (Client, ClientRecord);

/// An active client and its stored record, by id.
pub(crate) async fn find_client(
    state: &crate::AppState,
    id: Option<&str>,
) -> Result<Option<FoundClient>, WebError> {
    let Some(id) = id.map(str::to_owned) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let provider = &state.provider;
    let cached = provider.clients.lock().ok().and_then(|clients| {
        clients
            .get(&id)
            .filter(|(_, at)| now >= *at && now - *at < CLIENT_CACHE)
            .map(|(found, _)| found.clone())
    });
    if cached.is_some() {
        return Ok(cached);
    }
    let (db, key) = (state.db.clone(), id.clone());
    let record = web::block(move || oidc_clients::get_active(&mut *db.conn()?, &key)).await??;
    let found = record.and_then(|r| client_of(&r).map(|c| (c, r)));
    if let (Some(found), Ok(mut clients)) = (&found, provider.clients.lock()) {
        if clients.len() > 1000 {
            clients.clear();
        }
        clients.insert(id, (found.clone(), now));
    }
    Ok(found)
}

/// The secret of an HS256 client, unsealed (the client id is the associated data).
pub(crate) fn hs256_secret(
    runtime: &ProviderRuntime,
    record: &ClientRecord,
) -> Result<Option<Secret>, WebError> {
    record
        .sealed_secret
        .as_deref()
        .map(|sealed| runtime.key_ring().open(sealed, &hs256_aad(&record.id)))
        .transpose()
        .map_err(|e| WebError::internal(format!("client {} secret: {e}", record.id)))
}

/// What signs for a client with one algorithm: its own secret (HS256, OIDC Core §10.1) or the
/// provider's current key of that algorithm.
pub(crate) enum Signer {
    Secret(Secret),
    Key(std::sync::Arc<op::KeySet>, SigningAlg),
}

impl Signer {
    /// A compact JWS of `claims` (`typ` JWT).
    pub(crate) fn sign(&self, claims: &op::Claims) -> Result<String, String> {
        match self {
            Signer::Secret(secret) => {
                op::sign_hs256(secret.expose(), "JWT", claims).map_err(|e| e.to_string())
            }
            Signer::Key(keys, alg) => keys
                .signer(*alg)
                .ok_or_else(|| format!("no current {alg} key"))?
                .sign("JWT", claims)
                .map_err(|e| e.to_string()),
        }
    }
}

impl ProviderRuntime {
    /// The signer for `alg` on behalf of the client `record` (its id_token or its userinfo
    /// algorithm), or why there is none: an HS256 client without its sealed secret, or no
    /// current key of the algorithm.
    pub(crate) async fn signer_for(
        &self,
        db: &Database,
        now: OffsetDateTime,
        alg: SigningAlg,
        record: &ClientRecord,
    ) -> Result<Signer, WebError> {
        if alg == SigningAlg::HS256 {
            return hs256_secret(self, record)?
                .map(Signer::Secret)
                .ok_or_else(|| {
                    WebError::internal(format!("HS256 client {} without its secret", record.id))
                });
        }
        let keys = self.keys(db, now).await?;
        if keys.signer(alg).is_none() {
            return Err(WebError::internal(format!(
                "no current {alg} key for client {}",
                record.id
            )));
        }
        Ok(Signer::Key(keys, alg))
    }
}

/// Seals an HS256 client's secret for storage (`client add`); only such clients keep it.
pub fn seal_client_secret(ring: &KeyRing, client_id: &str, secret: &str) -> Result<String, String> {
    ring.seal(
        &SystemRandom::new(),
        &Secret::new(secret.as_bytes().to_vec()),
        &hs256_aad(client_id),
    )
    .map_err(|e| e.to_string())
}

impl ProviderRuntime {
    /// [`seal_client_secret`] with this node's key ring.
    pub fn seal_client_secret(&self, client_id: &str, secret: &str) -> Result<String, String> {
        seal_client_secret(&self.key_ring, client_id, secret)
    }

    /// Reloads the signing keys now (after a rotation made in this process, e.g. by a test).
    pub fn reload_keys(&self, db: &Database, now: OffsetDateTime) -> Result<(), WebError> {
        self.keys
            .reload(&mut *db.conn()?, &self.key_ring, now)
            .map(|_| ())
    }

    /// The key ring, to seal a new signing key for [`keys::rotate`].
    pub fn key_ring_for_rotation(&self) -> &KeyRing {
        &self.key_ring
    }
}

/// Associated data of a sealed client secret: a sealed value moved to another client, or to a
/// signing key's column, does not open.
pub fn hs256_aad(client_id: &str) -> String {
    format!("oidc-client-secret:{client_id}")
}
