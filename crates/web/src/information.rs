//! The pages every French public service links from its footer: mentions légales, données
//! personnelles, the accessibility statement (RGAA 4.1's « déclaration d'accessibilité ») and the
//! site map. Public and fixed; a signed-in person sees them with their menu.

use actix_web::{HttpResponse, web};

use crate::auth::CurrentAidant;
use crate::respond::page;
use crate::{AppState, WebError};

pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "information/mentions_legales.html",
        include_str!("../templates/information/mentions_legales.html"),
    ),
    (
        "information/donnees_personnelles.html",
        include_str!("../templates/information/donnees_personnelles.html"),
    ),
    (
        "information/accessibilite.html",
        include_str!("../templates/information/accessibilite.html"),
    ),
    (
        "information/plan_du_site.html",
        include_str!("../templates/information/plan_du_site.html"),
    ),
];

/// The footer's pages: their address and their template.
const PAGES: [(&str, &str); 4] = [
    ("/mentions-legales", "information/mentions_legales.html"),
    (
        "/donnees-personnelles",
        "information/donnees_personnelles.html",
    ),
    ("/accessibilite", "information/accessibilite.html"),
    ("/plan-du-site", "information/plan_du_site.html"),
];

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    for (path, template) in PAGES {
        cfg.service(web::resource(path).get(
            move |state: web::Data<AppState>, current: Option<CurrentAidant>| {
                show(state, current, template)
            },
        ));
    }
}

async fn show(
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
