//! The structure's settings: whether a renewal identifies the aidé with FranceConnect again.

use ac_storage::organisations;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::here::{change_structure, here};
use crate::auth::RecentStepUp;
use crate::console::invalid;
use crate::{AppState, WebError};

#[derive(Deserialize)]
pub(crate) struct RenewalForm {
    csrf: String,
    /// `oui`: the aidé identifies again through FranceConnect to renew; `non`: they do not.
    identification: String,
}

pub(crate) async fn set_renewal(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    org: web::Path<String>,
    form: web::Form<RenewalForm>,
) -> Result<HttpResponse, WebError> {
    current.check_csrf(&form.csrf)?;
    let required = match form.identification.as_str() {
        "oui" => true,
        "non" => false,
        _ => return Err(invalid("Choisissez « oui » ou « non ».")),
    };
    let here = here(&state, &current, &org, "").await?;
    change_structure(
        &state,
        &current,
        &here,
        "renouvellement",
        move |conn, id, context, now| {
            organisations::set_renewal_requires_identification(conn, id, required, context, now)
        },
    )
    .await
}
