//! Extractors for handlers behind sign-in: [`CurrentAidant`] (a valid session),
//! [`PersonalDataAccess`] (a valid session whose TOTP was typed within the step-up window: what
//! every page showing people's personal data takes) and [`RecentStepUp`] (the same check, for
//! the coordination and référent pages).

use ac_auth::{Token, TokenHash};
use ac_mandates::Aidant;
use ac_storage::journal::AuditContext;
use ac_storage::sessions::{self, Authentication, StepUp};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use super::{SESSION_COOKIE, csrf, request_id, totp_ip_allowed};
use crate::menu::{Menu, Roles};
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
    /// The page asked for, to mark its section in the menu.
    path: String,
}

impl CurrentAidant {
    /// The CSRF token for this session's forms.
    pub fn csrf_token(&self) -> String {
        csrf::session_token(&self.token)
    }

    /// The header's menu for this page: the sections this account may open, and the logout form.
    pub fn menu(&self) -> Menu {
        let roles = Roles {
            helps_people: self.aidant.can_create_mandates,
            referent: !self.aidant.referent_of.is_empty(),
            coordinator: !self.aidant.coordinator_scopes.is_empty(),
        };
        Menu::new(
            roles,
            &self.path,
            self.aidant.full_name(),
            self.csrf_token(),
        )
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

    /// The step-up, the only one: a TOTP code typed again during the session (the step-up page,
    /// mandate consent, revocation, delegated choice), checked against this session's aidant
    /// after the per-IP limit on second-factor attempts (shared with the sign-in), with the
    /// per-aidant lockout and the journal entries of `ac_storage::sessions::step_up`. Accepted,
    /// it restarts the step-up clock.
    pub(crate) async fn step_up(
        &self,
        state: &AppState,
        req: &HttpRequest,
        code: &str,
        now: time::OffsetDateTime,
    ) -> Result<StepUpCheck, WebError> {
        if !totp_ip_allowed(state, req).await? {
            return Ok(StepUpCheck::RateLimited);
        }
        let (db, hash, code, auth, rid) = (
            state.db.clone(),
            self.session_hash(),
            code.trim().to_owned(),
            state.auth.clone(),
            self.request_id.clone(),
        );
        let outcome = blocking(move || {
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
        .await?;
        Ok(match outcome {
            StepUp::Accepted => StepUpCheck::Accepted,
            StepUp::Refused => StepUpCheck::Refused,
            StepUp::SessionEnded => StepUpCheck::SessionEnded,
        })
    }

    /// Access to personal data, if the second factor is recent; otherwise the redirect to the
    /// step-up page, which comes back to `back_to` (a local path, else `/espace`).
    pub(crate) fn personal_data(self, back_to: &str) -> Result<PersonalDataAccess, WebError> {
        if self.needs_step_up {
            let path = safe_return_path(back_to).unwrap_or("/espace");
            return Err(WebError::Redirect(format!(
                "/connexion/verification?suite={path}"
            )));
        }
        Ok(PersonalDataAccess(self))
    }
}

/// What a step-up concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepUpCheck {
    Accepted,
    Refused,
    /// Too many second-factor attempts from this address: nothing was checked.
    RateLimited,
    /// The device locked on this attempt: every session of the aidant is over.
    SessionEnded,
}

/// Access to the personal data of the people helped (names, birth dates, mandates, delegated
/// uses): a signed-in aidant whose second factor is recent (typed within
/// `auth.step_up_after_secs` of the session's last audited activity). Only this module makes one — its extractor redirects to the step-up page otherwise —
/// and the functions that read personal data for a page take it, so a new page showing such
/// data cannot skip the step-up (docs/security/threat-model.md, "Protocol, step-up and forms").
#[derive(Debug, Clone)]
pub struct PersonalDataAccess(CurrentAidant);

impl Deref for PersonalDataAccess {
    type Target = CurrentAidant;
    fn deref(&self) -> &CurrentAidant {
        &self.0
    }
}

impl FromRequest for PersonalDataAccess {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let current = CurrentAidant::from_request(req, payload);
        let path = req.path().to_owned();
        Box::pin(async move { current.await?.personal_data(&path) })
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
                    path: req.path().to_owned(),
                }),
                Authentication::None => Err(sign_in_page()),
            }
        })
    }
}

/// A signed-in aidant who typed their TOTP within the step-up window (15 minutes without
/// audited activity), as [`PersonalDataAccess`] checks it. Otherwise the request is redirected
/// to the step-up page, which comes back to this path. Handlers of sensitive actions (mandate
/// recap, revocation) additionally ask for a code in their own form ([`CurrentAidant::step_up`]).
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
        let path = req.path().to_owned();
        Box::pin(async move {
            let access = current.await?.personal_data(&path)?;
            Ok(RecentStepUp(access.0))
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
