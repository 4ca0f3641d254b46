//! The aidé's own space, `/mon-espace` (docs/security/aide-space.md): the person the mandates
//! represent signs in with their own FranceConnect account, sees every mandate of theirs in
//! every structure, reads everything done in their name with a proof for each line, and revokes
//! alone.
//!
//! Its session is its own kind (table `aide_sessions`, cookie `ac_aide`), never an aidant's: 15
//! minutes idle, one hour at most. Every query is keyed by the pseudonym the session holds,
//! taken on the server; an id from the request only ever narrows within the person's own records.

pub(crate) mod notifications;
pub(crate) mod pages;
pub(crate) mod print;
pub(crate) mod signin;

use ac_auth::Token;
use ac_storage::aide_space::{self, AideSession};
use actix_web::HttpRequest;

use crate::respond::blocking;
use crate::{AppState, WebError};

/// The session cookie of the aidé's space (`__Host-` and `Secure` outside dev mode).
const SESSION_COOKIE: &str = "ac_aide";

/// A signed-in person: their session token (for the CSRF tokens of their forms) and session.
pub(crate) struct SignedIn {
    token: Token,
    session: AideSession,
}

impl SignedIn {
    fn subject(&self) -> &str {
        &self.session.subject
    }

    /// The token of this session's forms.
    fn csrf(&self) -> String {
        crate::auth::csrf_session_token(&self.token)
    }

    fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        crate::auth::check_csrf_session(&self.token, submitted)
    }

    /// The journal's actor for what the person does: the person themselves, by pseudonym.
    fn audit_context(&self, req: &HttpRequest) -> ac_storage::journal::AuditContext {
        ac_storage::journal::AuditContext {
            actor: ac_audit::Actor {
                kind: ac_audit::ActorKind::Usager,
                id: Some(self.session.subject.clone()),
            },
            request_id: crate::auth::request_id(req),
        }
    }
}

/// The person signed in on this browser, if any (their idle deadline pushed back).
pub(crate) async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<SignedIn>, WebError> {
    let Some(token) = state.auth.read_cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    let (db, hash, now) = (state.db.clone(), token.hash(), state.clock.now());
    let session = blocking(move || aide_space::session(&mut *db.conn()?, &hash, now)).await?;
    Ok(session.map(|session| SignedIn { token, session }))
}
