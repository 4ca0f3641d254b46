//! The provider's pages, in French, each labelled as a demonstration. No inline script or style
//! (the service's CSP forbids them).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use crate::identities::IDENTITIES;
// The escaping of the service's own pages (tera's), for text and double-quoted attributes.
use tera::escape_html as escape;

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(format!(
            "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — démonstration</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head>\
<body><main>\
<p class=\"demo-banner\" role=\"alert\"><strong>DÉMONSTRATION</strong> — ce fournisseur d'identité \
imite FranceConnect pour les essais. Ce n'est pas FranceConnect ; les personnes sont fictives.</p>\
<h1>{title}</h1>{body}</main></body></html>",
            title = escape(title),
        ))
}

/// The choice of a test identity for one pending authorization.
pub(crate) fn choose(action: &str, interaction: &str, acr: &str) -> HttpResponse {
    let mut body = format!(
        "<p>Choisissez la personne fictive avec laquelle vous connecter (niveau demandé : {}).</p><ul>",
        escape(acr)
    );
    for (index, identity) in IDENTITIES.iter().enumerate() {
        body.push_str(&format!(
            "<li><form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
<input type=\"hidden\" name=\"identity\" value=\"{index}\">\
<button type=\"submit\">Se connecter en tant que {name}</button> <span>{born}</span></form></li>",
            action = escape(action),
            interaction = escape(interaction),
            name = escape(&identity.display_name()),
            born = escape(identity.born),
        ));
    }
    body.push_str(&format!(
        "</ul><form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
<input type=\"hidden\" name=\"cancel\" value=\"1\">\
<button type=\"submit\">Annuler et revenir au service</button></form>",
        action = escape(action),
        interaction = escape(interaction),
    ));
    page(StatusCode::OK, "Connexion avec FranceConnect", &body)
}

/// A refusal we cannot send back to the client (unknown client or redirect URI: RFC 6749
/// §4.1.2.1 forbids redirecting there).
pub(crate) fn refused(message: &str) -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "Demande refusée",
        &format!("<p>{}</p>", escape(message)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;&#x2F;a&gt;"
        );
    }
}
