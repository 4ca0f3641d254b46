//! A request reaching outside the account's scope: journaled (`access.denied`) and answered
//! with one 403 whose words tell nothing about what exists outside the scope
//! (docs/security/access-control.md). The consoles and the usagers' pages use it.

use ac_mandates::OrganisationId;
use ac_storage::console::{self, Denial, OutOfScope};

use crate::auth::CurrentAidant;
use crate::respond::blocking;
use crate::{AppState, WebError};

/// The 403 of the consoles: the same words whatever was asked for, so the answer tells nothing
/// about what exists outside the scope.
pub(crate) fn forbidden() -> WebError {
    WebError::forbidden(ac_storage::console::ConsoleRefusal::OutOfScope)
}

/// Journals a refused access and returns the 403 to answer with.
pub(crate) async fn refuse(
    state: &AppState,
    current: &CurrentAidant,
    out_of_scope: OutOfScope,
    requested: Option<OrganisationId>,
    page: &'static str,
) -> WebError {
    tracing::warn!(
        resource = out_of_scope.resource,
        page,
        aidant = %current.aidant.id,
        "console access outside scope refused"
    );
    let (db, context, now, actor_organisation) = (
        state.db.clone(),
        current.audit_context(),
        state.clock.now(),
        current.aidant.current_organisation.clone(),
    );
    let journaled = blocking(move || {
        console::deny(
            &mut *db.conn()?,
            &Denial {
                out_of_scope: &out_of_scope,
                requested: requested.as_ref(),
                actor_organisation: &actor_organisation,
                page,
            },
            &context,
            now,
        )
    })
    .await;
    match journaled {
        Ok(()) => forbidden(),
        // No journal entry, no answer but the 500.
        Err(e) => e,
    }
}
