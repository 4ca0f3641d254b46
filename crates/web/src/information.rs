//! The pages every French public service links from its footer: mentions légales, données
//! personnelles, the accessibility statement (RGAA 4.1's « déclaration d'accessibilité ») and the
//! site map. Public and fixed; a signed-in person sees them with their menu.

use actix_web::{HttpResponse, web};

use crate::auth::CurrentAidant;
use crate::respond::page;
use crate::{AppState, WebError};

pub(crate) async fn show(
    state: web::Data<AppState>,
    current: Option<CurrentAidant>,
    template: &'static str,
) -> Result<HttpResponse, WebError> {
    let context = serde_json::json!({
        "signed_in": current.is_some(),
        "dev_mode": state.settings.server.dev_mode,
    });
    let body = match current {
        Some(current) => state
            .templates
            .render_for(&current.menu(), template, &context)?,
        None => state.templates.render(template, &context)?,
    };
    Ok(page(HttpResponse::Ok(), body))
}
