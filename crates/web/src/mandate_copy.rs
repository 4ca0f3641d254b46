//! A mandate as its pages show it to the people it concerns: its dates as written at the
//! structure, its démarches with their state, and the printable copy (docs/domain.md, "Journeys"
//! 2) — A4, with the legal text of the mandate's version, both signature blocks, and the
//! verification code with its QR code pointing to the public verification page. The aidant prints
//! it at the structure (`/mandats/{id}/imprimer`); the aidé prints their own from their space
//! (`/mon-espace/mandats/{id}/imprimer`).
//!
//! Printing is not journaled: it reads what the mandate's pages already show to the same people,
//! and a reprint changes nothing. The one write it may make — a code for a mandate from before
//! codes existed — is journaled by `ac_storage::mandate_verifications`.

use ac_localtime::{LocalTimes, written_day};
use ac_mandates::legal::legal_text;
use ac_mandates::{Aidant, Mandate, Organisation, Usager, VerificationCode};
use ac_storage::journal::AuditContext;
use ac_storage::{StorageError, aidants, mandate_verifications};
use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::Said;
use crate::menu::Menu;
use crate::respond::{blocking, page};
use crate::status::{self, Badge};
use crate::{AppState, WebError};

/// A date written out, as the aidé reads it: "22 novembre 2027", the day it is at the structure
/// (its département's local time).
pub(crate) fn written_date(times: &LocalTimes, departement: &str, at: OffsetDateTime) -> String {
    written_day(times.local(departement, at).date())
}

/// One démarche of a mandate as every mandate page lists it.
#[derive(Serialize)]
pub(crate) struct AuthorizationView {
    id: String,
    title: &'static str,
    examples: &'static str,
    status: Badge,
    /// In force now: it may be revoked.
    pub(crate) in_force: bool,
}

/// The démarches of `mandate` with their state at `now`, in the words every mandate page uses.
pub(crate) fn authorization_views(
    mandate: &Mandate,
    now: OffsetDateTime,
) -> Vec<AuthorizationView> {
    mandate
        .authorizations
        .iter()
        .map(|a| {
            let (status, in_force) = status::authorization(a, now);
            AuthorizationView {
                id: a.id.as_str().to_owned(),
                title: a.demarche.title(),
                examples: a.demarche.examples(),
                status,
                in_force,
            }
        })
        .collect()
}

/// The address a printed code opens: what the QR code encodes and what is printed under it.
pub(crate) fn verification_url(public_url: &str, code: &VerificationCode) -> String {
    format!("{public_url}/verification/{}", code.as_str())
}

/// The QR code of `url` as inline SVG. `qrcode`'s SVG is a `<rect>` and one `<path>` with
/// `fill` attributes (no script, no `style`), so it passes the strict CSP; the XML declaration
/// is dropped, as it is not allowed inside HTML.
fn inline_qr(url: &str) -> Result<String, WebError> {
    let svg = ac_auth::otpauth::qr_svg(url).map_err(WebError::internal)?;
    let start = svg
        .find("<svg")
        .ok_or_else(|| WebError::internal("QR code sans élément svg"))?;
    let body = svg.get(start + "<svg".len()..).unwrap_or_default();
    // Decorative for screen readers: the same address is written out next to it.
    Ok(format!(
        "<svg class=\"qr-code\" aria-hidden=\"true\" focusable=\"false\"{body}"
    ))
}

/// Who prints the copy, and so where its page leads back to.
pub(crate) enum Reader<'a> {
    /// An aidant of the structure, with their menu.
    Aidant(&'a Menu),
    /// The aidé, from their own space.
    Aide,
}

impl Reader<'_> {
    /// Whether the aidé reads the copy, and where its page leads back to.
    fn way_back(&self, mandate: &Mandate) -> (bool, String) {
        match self {
            Reader::Aidant(_) => (false, format!("/mandats/{}", mandate.id)),
            Reader::Aide => (true, "/mon-espace/mandats".to_owned()),
        }
    }

    /// The copy's page, with the aidant's menu when an aidant prints it.
    fn render(&self, state: &AppState, context: &serde_json::Value) -> Result<String, WebError> {
        let template = "identification/print.html";
        Ok(match self {
            Reader::Aidant(menu) => state.templates.render_for(menu, template, context)?,
            Reader::Aide => state.templates.render(template, context)?,
        })
    }
}

/// The printable copy of `mandate`.
pub(crate) async fn printable(
    state: &AppState,
    reader: Reader<'_>,
    mandate: Mandate,
    usager: Usager,
    organisation: Organisation,
    context: AuditContext,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let legal = legal_text(&mandate.legal_text_version).map_err(|e| {
        tracing::error!(code = e.code(), error = %e, "mandate not printable");
        WebError::invalid(
            Said::of(&e)
                .then("Ce mandat ne peut pas être imprimé : prévenez l'administrateur du service."),
        )
    })?;
    let (aidant, code) = creator_and_code(state, &mandate, context, now).await?;
    let url = verification_url(&state.settings.server.public_url, &code);
    let identity = &usager.identity;
    let departement = organisation.departement.as_str();
    let (aide, back) = reader.way_back(&mandate);
    let context = serde_json::json!({
        "id": mandate.id.as_str(),
        "aide": aide,
        "back": back,
        "status": mandate.status_at(now).label(),
        "organisation": organisation.name,
        "organisation_address": organisation.address,
        "given_name": identity.given_name,
        "family_name": identity.family_name,
        "birthdate": written_day(identity.birthdate),
        "aidant": aidant.full_name(),
        "created": written_date(&state.local_times, departement, mandate.created_at),
        "until": written_date(&state.local_times, departement, mandate.expires_at),
        "duration": mandate.duration.label(),
        "demarches": authorization_views(&mandate, now),
        "legal": legal,
        "content_hash": mandate.content_hash,
        "code": code.grouped(),
        "url": url,
        "qr": inline_qr(&url)?,
    });
    let body = reader.render(state, &context)?;
    let mut response = page(HttpResponse::Ok(), body);
    // The aidé's identity is on this page: its address goes nowhere else.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// The aidant who created the mandate, and its verification code (created at the first print,
/// journaled).
async fn creator_and_code(
    state: &AppState,
    mandate: &Mandate,
    context: AuditContext,
    now: OffsetDateTime,
) -> Result<(Aidant, VerificationCode), WebError> {
    let (db, creator, mandate_id) = (
        state.db.clone(),
        mandate.created_by.clone(),
        mandate.id.clone(),
    );
    blocking(move || {
        let conn = &mut *db.conn()?;
        Ok::<_, StorageError>((
            aidants::get(conn, &creator)?,
            mandate_verifications::code_for_print(conn, &mandate_id, &context, now)?,
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_encodes_the_public_verification_address() {
        let code = VerificationCode::from_random([9; 20]);
        let url = verification_url("https://aidants.exemple.gouv.fr", &code);
        assert_eq!(
            url,
            format!(
                "https://aidants.exemple.gouv.fr/verification/{}",
                code.as_str()
            )
        );
        // The inline SVG is the QR code of exactly that address.
        let expected = ac_auth::otpauth::qr_svg(&url).unwrap();
        let inline = inline_qr(&url).unwrap();
        let path = |svg: &str| {
            let from = svg.find(" d=\"").unwrap();
            svg[from..].to_owned()
        };
        assert_eq!(path(&inline), path(&expected));
        assert_ne!(
            path(&inline),
            path(&inline_qr("https://aidants.exemple.gouv.fr/verification/X").unwrap())
        );
    }

    #[test]
    fn the_inline_svg_passes_the_strict_csp() {
        let svg = inline_qr("https://aidants.exemple.gouv.fr/verification/ABC").unwrap();
        assert!(svg.starts_with("<svg class=\"qr-code\""), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        for banned in ["<?xml", "style", "<script", "javascript:", "on"] {
            let found = if banned == "on" {
                // No event handler attribute (onload=…).
                svg.contains(" on")
            } else {
                svg.contains(banned)
            };
            assert!(!found, "{banned} in {svg}");
        }
    }
}
