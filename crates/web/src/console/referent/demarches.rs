//! The démarches the structure allows its aidants to act for.

use ac_mandates::Demarche;
use ac_storage::organisations;
use actix_web::{HttpResponse, web};
use std::collections::BTreeSet;

use super::here::{change_structure, here};
use crate::auth::RecentStepUp;
use crate::console::invalid;
use crate::{AppState, WebError};

pub(crate) async fn set_demarches(
    state: web::Data<AppState>,
    RecentStepUp(current): RecentStepUp,
    org: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    // Repeated checkbox names: read the pairs by hand (a typed form keeps only one value).
    let mut csrf = String::new();
    let mut chosen = BTreeSet::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "csrf" => csrf = value.into_owned(),
            "demarche" => {
                chosen.insert(
                    value
                        .parse::<Demarche>()
                        .map_err(|_| invalid("Démarche inconnue."))?,
                );
            }
            _ => {}
        }
    }
    current.check_csrf(&csrf)?;
    let here = here(&state, &current, &org, "").await?;
    if chosen.is_empty() {
        return Err(invalid(
            "Cochez au moins une démarche : sans démarche permise, la structure ne peut plus créer de mandat.",
        ));
    }
    change_structure(
        &state,
        &current,
        &here,
        "demarches",
        move |conn, id, context, now| {
            organisations::set_allowed_demarches(conn, id, &chosen, context, now)
        },
    )
    .await
}
