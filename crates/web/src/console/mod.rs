//! The référent and coordinator consoles (docs/domain.md, "Roles" and "Journeys" 6).
//!
//! - `/referent/{structure}/…`: a référent's structure: its aidants and their second factors,
//!   its allowed démarches, its journal.
//! - `/coordination/…`: a coordinator's scope (départements, structures or the whole pilot):
//!   dashboard, journal explorer and exports, integrity panel, anomaly flags.
//!
//! Every handler resolves the scope from the signed-in account on the server, checks every id
//! and filter of the request against it, and answers a request reaching outside it with a 403
//! that is journaled (`access.denied`). The storage queries restrict themselves to the scope
//! too (`ac_storage::console`). Every page needs a recent step-up, every form a CSRF token.

mod charts;
pub(crate) mod coordination;
mod explorer;
mod labels;
mod referent;
mod reports;
mod stream;

use ac_mandates::OrganisationId;
use ac_storage::console::{self, Denial, OutOfScope};
use actix_web::web;
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::auth::CurrentAidant;
use crate::menu::Menu;
use crate::respond::blocking;
use crate::{AppState, WebError};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    referent::configure(cfg);
    coordination::configure(cfg);
    reports::configure(cfg);
}

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$((concat!("console/", $name), include_str!(concat!("../../templates/console/", $name)))),*]
    };
}

/// The consoles' templates, registered with the others by `Templates::load`.
pub(crate) const TEMPLATES: &[(&str, &str)] = templates!(
    "layout.html",
    "macros.html",
    "referent_index.html",
    "referent_structure.html",
    "referent_new_aidant.html",
    "referent_aidant.html",
    "referent_totp_app.html",
    "journal.html",
    "journal_entry.html",
    "dashboard.html",
    "integrity.html",
    "anomalies.html",
    "reports.html",
    "report_restore.html",
);

/// The 403 of the consoles: the same words whatever was asked for, so the answer tells nothing
/// about what exists outside the scope.
pub(crate) fn forbidden() -> WebError {
    WebError::Forbidden {
        code: "CON403",
        message: "Ces données sont hors de votre périmètre. La tentative a été enregistrée dans le journal.".into(),
    }
}

pub(crate) fn invalid(message: &str) -> WebError {
    WebError::Invalid {
        code: "CON422",
        message: message.into(),
    }
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

/// "22/11/2026 10:00:00": an instant as a person of the structure reads it, in its
/// département's local time (metropolitan time when no structure is concerned).
pub(crate) fn datetime(
    times: &ac_localtime::LocalTimes,
    departement: Option<&str>,
    at: OffsetDateTime,
) -> String {
    times.format_in(departement, at, ac_localtime::Format::Seconds)
}

pub(crate) fn date(at: time::Date) -> String {
    at.format(format_description!("[day]/[month]/[year]"))
        .unwrap_or_default()
}

/// A link of the console's navigation.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NavLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

/// What every console page shows around its content.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Frame {
    /// "Espace référent" or "Coordination".
    pub space: &'static str,
    /// The scope in words, e.g. "Médiathèque des Ursulines" or "Départements 29, 56".
    pub scope: String,
    pub nav: Vec<NavLink>,
    pub csrf: String,
    /// The header's menu of the signed-in person.
    pub menu: Menu,
}

impl Frame {
    pub(crate) fn new(
        space: &'static str,
        scope: String,
        links: impl IntoIterator<Item = (String, String)>,
        current_href: &str,
        current: &CurrentAidant,
    ) -> Self {
        Self {
            space,
            scope,
            nav: links
                .into_iter()
                .map(|(href, label)| NavLink {
                    current: href == current_href,
                    href,
                    label,
                })
                .collect(),
            csrf: current.csrf_token(),
            menu: current.menu(),
        }
    }
}
