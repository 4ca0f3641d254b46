//! Response shapes shared by the page handlers.

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder, web};

use crate::WebError;
use crate::error::KeepBody;

/// An HTML page that is never cached (it may show personal data or a form token). With an error
/// status it stays as it is: the error page does not replace a form re-shown with its message.
pub(crate) fn page(status: HttpResponseBuilder, body: String) -> HttpResponse {
    let mut status = status;
    let mut response = status
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body);
    response.extensions_mut().insert(KeepBody);
    response
}

/// A 303 to `location`, never cached.
pub(crate) fn see_other(location: &str) -> HttpResponseBuilder {
    let mut builder = HttpResponse::SeeOther();
    builder
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

/// Runs storage work on the blocking pool (diesel is synchronous).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ac_storage::StorageError> + Send + 'static,
) -> Result<T, WebError> {
    Ok(web::block(f).await??)
}

/// A template context assembled from parts: named values, each already JSON (`json!`), so a
/// page's handler can build the parts in helpers and merge them with `extend`.
pub(crate) fn fields<const N: usize>(
    pairs: [(&str, serde_json::Value); N],
) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}
