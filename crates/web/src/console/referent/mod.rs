//! The référent space: the structures an account is référent of (`referent_of`), their team,
//! second factors, allowed démarches and journal. Every change goes through the storage
//! operation the command line uses, journaled under the structure.

mod demarches;
mod devices;
mod here;
mod overview;
mod settings;
mod team;

use super::explorer::{self, Space};
use crate::auth::CurrentAidant;
use crate::{AppState, WebError};
use actix_web::web;
use demarches::set_demarches;
use devices::{assign_card, enrol_app, remove_device, unlock};
use here::here;
pub(super) use here::referent_frame;
use overview::{index, structure};
use settings::set_renewal;
use team::{aidant_page, deactivate, invite, new_aidant_page};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    // `…/aidants/nouveau` before `…/aidants/{aidant}`: resources match in this order.
    cfg.service(web::resource("/referent").get(index))
        .service(web::resource("/referent/{org}").get(structure))
        .service(web::resource("/referent/{org}/demarches").post(set_demarches))
        .service(web::resource("/referent/{org}/renouvellement").post(set_renewal))
        .service(
            web::resource("/referent/{org}/aidants/nouveau")
                .get(new_aidant_page)
                .post(invite),
        )
        .service(web::resource("/referent/{org}/aidants/{aidant}").get(aidant_page))
        .service(web::resource("/referent/{org}/aidants/{aidant}/desactiver").post(deactivate))
        .service(web::resource("/referent/{org}/aidants/{aidant}/deverrouiller").post(unlock))
        .service(web::resource("/referent/{org}/aidants/{aidant}/application").post(enrol_app))
        .service(web::resource("/referent/{org}/aidants/{aidant}/carte").post(assign_card))
        .service(web::resource("/referent/{org}/aidants/{aidant}/retirer").post(remove_device));
    explorer::mount::<Referent>(cfg);
}

/// The référent's explorer: one structure, named by the path.
struct Referent;

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
