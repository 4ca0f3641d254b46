//! Extractors for handlers behind sign-in: [`CurrentAidant`] (a valid session) and
//! [`RecentStepUp`] (a valid session whose TOTP was typed within the step-up window).

use ac_auth::{Token, TokenHash};
use ac_mandates::Aidant;
use ac_storage::journal::AuditContext;
use ac_storage::sessions::{self, Authentication, StepUp};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::Future;
use std::pin::Pin;

use super::{SESSION_COOKIE, csrf, request_id};
use crate::respond::blocking;
use crate::{AppState, WebError};

/// The signed-in aidant of this request. Without a valid session, the request is redirected to
/// the sign-in page; an idle or expired session, or a deactivated aidant, is ended on the way
/// (and journaled).
#[derive(Debug, Clone)]
pub struct CurrentAidant {
    pub aidant: Aidant,
    /// The name of the aidant's current structure.
    pub structure_name: String,
    /// The TOTP must be typed again before anything but logout.
    pub needs_step_up: bool,
    /// When this session's sign-in completed (its TOTP).
    pub signed_in_at: time::OffsetDateTime,
    /// The session's last audited activity (sign-in, step-up or audited action).
    pub last_activity_at: time::OffsetDateTime,
    token: Token,
    request_id: Option<String>,
}

impl CurrentAidant {
    /// The CSRF token for this session's forms.
    pub fn csrf_token(&self) -> String {
        csrf::session_token(&self.token)
    }

    /// Refuses (403 `AUTH001`) a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        csrf::check_session(&self.token, submitted)
    }

    /// The stored id of the session, for `ac_storage::sessions::record_activity` inside an
    /// audited action's transaction (which restarts the step-up clock).
    pub fn session_hash(&self) -> TokenHash {
        self.token.hash()
    }

    /// Who acts, for the journal.
    pub fn audit_context(&self) -> AuditContext {
        AuditContext::aidant(&self.aidant.id, self.request_id.clone())
    }

    pub(crate) fn token(&self) -> &Token {
        &self.token
    }

    /// Checks a TOTP code typed for a sensitive action (mandate consent, revocation, delegated
    /// choice) against this session's aidant, with the usual throttling and journal entries.
    pub(crate) async fn step_up(
        &self,
        state: &AppState,
        code: &str,
        now: time::OffsetDateTime,
    ) -> Result<StepUp, WebError> {
        let (db, hash, code, auth, rid) = (
            state.db.clone(),
            self.session_hash(),
            code.trim().to_owned(),
            state.auth.clone(),
            self.request_id.clone(),
        );
        blocking(move || {
            sessions::step_up(
                &mut *db.conn()?,
                &hash,
                &code,
                &auth.keys,
                &auth.policy,
                rid,
                now,
            )
        })
        .await
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, WebError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| WebError::internal("AppState missing"))
}

fn sign_in_page() -> WebError {
    WebError::Redirect("/connexion".into())
}

impl FromRequest for CurrentAidant {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let token = state
                .auth
                .read_cookie(&req, SESSION_COOKIE)
                .ok_or_else(sign_in_page)?;
            let request_id = request_id(&req);
            let now = state.clock.now();
            let (db, auth, hash, rid) = (
                state.db.clone(),
                state.auth.clone(),
                token.hash(),
                request_id.clone(),
            );
            let found = web::block(move || {
                sessions::authenticate(&mut *db.conn()?, &hash, &auth.policy, rid, now)
            })
            .await??;
            match found {
                Authentication::Active(active) => Ok(CurrentAidant {
                    aidant: active.aidant,
                    structure_name: active.structure_name,
                    needs_step_up: active.needs_step_up,
                    signed_in_at: active.signed_in_at,
                    last_activity_at: active.last_activity_at,
                    token,
                    request_id,
                }),
                Authentication::None => Err(sign_in_page()),
            }
        })
    }
}

/// A signed-in aidant who typed their TOTP within the step-up window (15 minutes without
/// audited activity). Otherwise the request is redirected to the step-up page, which comes back
/// to this path. Handlers of sensitive actions (mandate recap, revocation) additionally ask for
/// a code in their own form and check it with `ac_storage::sessions::step_up`.
#[derive(Debug, Clone)]
pub struct RecentStepUp(pub CurrentAidant);

/// A local path to come back to after step-up: no scheme, no host, no `//`, a short plain
/// alphabet, so it cannot become an open redirect.
pub(crate) fn safe_return_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 200
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    ok.then_some(path)
}

impl FromRequest for RecentStepUp {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let current = CurrentAidant::from_request(req, payload);
        let path = safe_return_path(req.path()).unwrap_or("/espace").to_owned();
        Box::pin(async move {
            let current = current.await?;
            if current.needs_step_up {
                return Err(WebError::Redirect(format!(
                    "/connexion/verification?suite={path}"
                )));
            }
            Ok(RecentStepUp(current))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return_path("/espace"), Some("/espace"));
        assert_eq!(
            safe_return_path("/mandats/abc-123"),
            Some("/mandats/abc-123")
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "espace",
            "/\\evil",
            "/a?b=c",
            "/a%2f%2fevil",
            "",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad}");
        }
    }
}
