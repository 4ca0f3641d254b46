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
pub(crate) mod explorer;
mod labels;
pub(crate) mod referent;
pub(crate) mod reports;
mod stream;

use serde::Serialize;

use crate::WebError;
use crate::auth::CurrentAidant;
use crate::menu::Menu;

// Kit the console pages use, re-exported for them (`super::datetime`, `super::refuse`…).
pub(crate) use crate::dates::{date, datetime};
pub(crate) use crate::denied::refuse;

pub(crate) fn invalid(message: &str) -> WebError {
    WebError::invalid(ac_storage::console::ConsoleRefusal::Invalid(message.into()))
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
