//! Aidant sign-in (docs/domain.md, "Journeys" 1): e-mail link opened through a confirmation form, TOTP code,
//! server-side sessions, step-up, CSRF, rate limits, structure switch, logout, and the dev-only
//! outbox page. The rules live in `ac-auth` and `ac-storage`; this module speaks HTTP.

mod csrf;
pub(crate) mod dev_outbox;
pub(crate) mod pages;
mod session;
mod span;

use ac_auth::{KeyRing, Policy};
use ac_config::Settings;
use ac_storage::rate_limits::Limit;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpMessage, HttpRequest};
use ring::rand::SystemRandom;
use std::net::IpAddr;
use std::path::Path;
use tracing_actix_web::RequestId;

pub(crate) use csrf::{
    browser_token as csrf_browser_token, check_browser as check_csrf_browser,
    check_session as check_csrf_session, session_token as csrf_session_token,
};
pub(crate) use session::StepUpCheck;
pub use session::{CurrentAidant, PersonalDataAccess, RecentStepUp};
pub use span::RedactingRootSpan;

use crate::WebError;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub link_per_address: Limit,
    pub link_per_ip: Limit,
    pub totp_per_aidant: Limit,
    pub totp_per_ip: Limit,
}

/// What the sign-in handlers need besides the database: keys, timings, limits.
#[derive(Debug)]
pub struct AuthRuntime {
    pub keys: KeyRing,
    pub policy: Policy,
    pub limits: Limits,
    pub trusted_proxies: Vec<IpAddr>,
    pub dev_mode: bool,
    pub totp_issuer: String,
    public_url: String,
    rng: SystemRandom,
}

fn count(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl AuthRuntime {
    pub fn from_settings(settings: &Settings) -> Result<Self, WebError> {
        let auth = &settings.auth;
        let rng = SystemRandom::new();
        let keys = load_key_ring(&auth.totp_key_file, auth.generate_missing_key, &rng)
            .map_err(WebError::Internal)?;
        let window = auth.rate_limit_window;
        let limit = |max: u32| Limit {
            max: count(max),
            window,
        };
        Ok(Self {
            keys,
            policy: Policy {
                link_ttl: auth.link_ttl,
                totp_stage_ttl: auth.totp_stage_ttl,
                idle_timeout: auth.session_idle_timeout,
                max_lifetime: auth.session_max_lifetime,
                step_up_after: auth.step_up_after,
                lockout_failures: count(auth.lockout_failures),
            },
            limits: Limits {
                link_per_address: limit(auth.link_requests_per_address),
                link_per_ip: limit(auth.link_requests_per_ip),
                totp_per_aidant: limit(auth.totp_attempts_per_aidant),
                totp_per_ip: limit(auth.totp_attempts_per_ip),
            },
            trusted_proxies: auth
                .trusted_proxies
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
            dev_mode: settings.server.dev_mode,
            totp_issuer: auth.totp_issuer.clone(),
            public_url: settings.server.public_url.clone(),
            rng,
        })
    }

    pub fn rng(&self) -> &SystemRandom {
        &self.rng
    }

    /// The address mailed to the aidant. The token is in the path; the root span redacts it
    /// (see [`RedactingRootSpan`]).
    fn link_url(&self, token: &ac_auth::Token) -> String {
        format!("{}/connexion/lien/{}", self.public_url, token.expose())
    }

    /// `__Host-` and `Secure` outside dev mode: the cookie is then bound to this exact host over
    /// HTTPS, and no subdomain or plain-HTTP response can set or overwrite it.
    fn cookie_name(&self, base: &str) -> String {
        if self.dev_mode {
            base.to_owned()
        } else {
            format!("__Host-{base}")
        }
    }

    pub(crate) fn cookie(&self, base: &str, value: String, same_site: SameSite) -> Cookie<'static> {
        Cookie::build(self.cookie_name(base), value)
            .path("/")
            .http_only(true)
            .secure(!self.dev_mode)
            .same_site(same_site)
            .finish()
    }

    pub(crate) fn removal(&self, base: &str) -> Cookie<'static> {
        let mut cookie = self.cookie(base, String::new(), SameSite::Lax);
        cookie.make_removal();
        cookie
    }

    pub(crate) fn read_cookie(&self, req: &HttpRequest, base: &str) -> Option<ac_auth::Token> {
        req.cookie(&self.cookie_name(base))
            .and_then(|c| ac_auth::Token::parse(c.value()))
    }

    /// The address of the person's browser, for rate limits. `X-Forwarded-For` is believed only
    /// from a configured proxy, and then its right-most entry not itself a trusted proxy.
    pub fn client_ip(&self, req: &HttpRequest) -> String {
        let peer = req.peer_addr().map(|a| a.ip());
        let Some(peer) = peer else {
            return "unknown".into();
        };
        if !self.trusted_proxies.contains(&peer) {
            return peer.to_string();
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.trusted_proxies.contains(ip))
            .unwrap_or(peer)
            .to_string()
    }
}

/// The session cookie: the TOTP-stage token first, then the signed-in session's (a new one).
pub(crate) const SESSION_COOKIE: &str = "ac_session";
/// Purpose label of the CSRF token derived from a session token.
pub(crate) const CSRF_PURPOSE: &str = "ac-csrf-v1";

/// 429: too many attempts from this address or at this account.
pub(crate) fn too_many() -> WebError {
    WebError::too_many(ac_auth::SignInRefusal::TooManyAttempts)
}

/// The per-IP limit on second-factor attempts (`auth.totp_attempts_per_ip`), one counter for the
/// sign-in and every step-up; its first refusal in a window is journaled.
pub(crate) async fn totp_ip_allowed(
    state: &crate::AppState,
    req: &HttpRequest,
) -> Result<bool, WebError> {
    let auth = &state.auth;
    let (db, key, limit, rid, now) = (
        state.db.clone(),
        format!("totp:ip:{}", auth.client_ip(req)),
        auth.limits.totp_per_ip,
        request_id(req),
        state.clock.now(),
    );
    crate::respond::blocking(move || {
        ac_storage::rate_limits::enforce(
            &mut *db.conn()?,
            &key,
            "totp_per_ip",
            limit,
            &ac_storage::sign_in::anonymous(rid),
            now,
        )
    })
    .await
}

pub(crate) fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(ToString::to_string)
}

/// Reads the key ring, creating it first when allowed (dev mode): readable by its owner only.
pub fn load_key_ring(path: &Path, generate: bool, rng: &SystemRandom) -> Result<KeyRing, String> {
    let (text, _) = ac_config::secret_file::read_or_create(path, generate, || {
        KeyRing::generate_file_text(rng).map_err(|e| e.to_string())
    })
    .map_err(|e| {
        ac_auth::AuthError::KeyFile(format!(
            "{} : {e} ; créez-la avec `aidants-connect auth keygen`",
            path.display()
        ))
        .to_string()
    })?;
    KeyRing::parse(&text).map_err(|e| format!("{e} ({})", path.display()))
}
