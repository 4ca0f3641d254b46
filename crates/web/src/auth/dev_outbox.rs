//! `/dev/courriels`: the file outbox, so a developer can follow a sign-in link without a mail
//! server. Registered only in dev mode.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::{AppState, WebError};

pub(crate) async fn outbox(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let dir = state.mailer.outbox_dir().map(ToOwned::to_owned);
    let messages = match dir.clone() {
        Some(dir) => web::block(move || ac_mail::read_outbox(&dir, 50))
            .await?
            .map_err(WebError::internal)?,
        None => Vec::new(),
    };
    // The demonstration accounts' current code, in builds that hold them (their seed is public).
    #[cfg(feature = "demo")]
    let demo_totp = Some(crate::demo::totp_now(state.clock.now()));
    #[cfg(not(feature = "demo"))]
    let demo_totp: Option<String> = None;
    let body = state.templates.render(
        "auth/dev_outbox.html",
        &serde_json::json!({
            "dir": dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
            "is_file": dir.is_some(),
            "messages": messages,
            "demo_totp": demo_totp,
        }),
    )?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
