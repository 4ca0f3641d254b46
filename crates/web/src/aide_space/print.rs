//! The aidé's own printable copy of a mandate (`crate::mandate_copy`), from their space: only
//! their own mandates (another's id gets 404 and an `access.denied` entry, as every page of the
//! space).

use ac_storage::{StorageError, organisations, usagers};
use actix_web::{HttpRequest, HttpResponse, web};

use super::pages::{own_mandate, private, require};
use crate::mandate_copy::{Reader, printable};
use crate::respond::blocking;
use crate::{AppState, WebError};

pub(crate) async fn print_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let current = match require(&state, &req).await? {
        Ok(current) => current,
        Err(sign_in) => return Ok(sign_in),
    };
    let own = own_mandate(&state, &current, &req, &path.into_inner()).await?;
    let (db, usager, organisation) = (
        state.db.clone(),
        own.mandate.usager_id.clone(),
        own.mandate.organisation_id.clone(),
    );
    let (usager, organisation) = blocking(move || {
        let conn = &mut *db.conn()?;
        Ok::<_, StorageError>((
            usagers::get(conn, &usager)?,
            organisations::get(conn, &organisation)?,
        ))
    })
    .await?;
    let response = printable(
        &state,
        Reader::Aide,
        own.mandate,
        usager,
        organisation,
        current.audit_context(&req),
    )
    .await?;
    Ok(private(response))
}
