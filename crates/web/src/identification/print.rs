//! The printable mandate at the structure (`crate::mandate_copy`), for the aidants of its
//! structure.

use ac_mandates::MandateId;
use actix_web::{HttpResponse, web};

use super::consent::{StructureMandate, structure_mandate};
use crate::auth::PersonalDataAccess;
use crate::mandate_copy::{Reader, printable};
use crate::{AppState, WebError};

pub(crate) async fn print_page(
    state: web::Data<AppState>,
    current: PersonalDataAccess,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let StructureMandate {
        mandate,
        usager,
        organisation,
    } = structure_mandate(&state, &current, MandateId::new(id.into_inner()), now).await?;
    printable(
        &state,
        Reader::Aidant(&current.menu()),
        mandate,
        usager,
        organisation,
        current.audit_context(),
    )
    .await
}
