//! The structure's settings: whether a renewal identifies the aidé with FranceConnect again.

use ac_storage::organisations;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::here::{here, record_activity};
use crate::auth::RecentStepUp;
use crate::console::invalid;
use crate::respond::{blocking, see_other};
use crate::{AppState, WebError};

#[derive(Deserialize)]
pub(super) struct RenewalForm {
    csrf: String,
    /// `oui`: the aidé identifies again through FranceConnect to renew; `non`: they do not.
    identification: String,
}

pub(super) async fn set_renewal(
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
    let (db, id, context, now) = (
        state.db.clone(),
        here.organisation.id.clone(),
        current.audit_context(),
        state.clock.now(),
    );
    blocking(move || {
        organisations::set_renewal_requires_identification(
            &mut *db.conn()?,
            &id,
            required,
            &context,
            now,
        )
    })
    .await?;
    record_activity(&state, &current).await?;
    Ok(see_other(&format!(
        "/referent/{}?fait=renouvellement",
        here.organisation.id
    ))
    .finish())
}
