//! The référent space: the structures an account is référent of (`referent_of`), their team,
//! second factors, allowed démarches and journal. Every change goes through the storage
//! operation the command line uses, journaled under the structure.

pub(crate) mod demarches;
pub(crate) mod devices;
mod here;
pub(crate) mod overview;
pub(crate) mod settings;
pub(crate) mod team;

use super::explorer::{self, Space};
use crate::auth::CurrentAidant;
use crate::{AppState, WebError};
use here::here;
pub(super) use here::referent_frame;

/// The référent's explorer: one structure, named by the path.
pub(crate) struct Referent;

impl explorer::Console for Referent {
    const BASE: &'static str = "/referent/{org}";

    async fn space(
        state: &AppState,
        current: &CurrentAidant,
        org: Option<&str>,
    ) -> Result<Space, WebError> {
        let here = here(state, current, org.unwrap_or_default(), "/journal").await?;
        Ok(Space {
            scope: here.scope,
            base: format!("/referent/{}", here.organisation.id),
            frame: here.frame,
            pick_structure: false,
            page_label: "referent.journal",
        })
    }
}
