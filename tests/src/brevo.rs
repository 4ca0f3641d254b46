//! A local stand-in for Brevo's transactional SMS API, for the tests of the SMS channel: the only
//! fake of the remote consent, for a party that cannot run here. It follows the published API
//! (developers.brevo.com, « Send SMS message to a mobile number », `POST
//! /v3/transactionalSMS/send`): the key in the `api-key` header, a JSON body with `sender` (at most
//! 11 letters or digits), `recipient` (digits with the country code), `content` and `type`
//! (`transactional` or `marketing`); `201 {"messageId": …}` on success, and the documented error
//! body `{"code", "message"}`: 401 `unauthorized` for a wrong key, 400 `invalid_parameter` for a
//! malformed body, and 402 `not_enough_credits` (here, for the recipient [`NO_CREDIT_RECIPIENT`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

use actix_web::dev::ServerHandle;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// The path of the API.
pub const PATH: &str = "/v3/transactionalSMS/send";
/// The key the fake accepts.
pub const API_KEY: &str = "xkeysib-test-0123456789abcdef";
/// A recipient the fake answers with 402 `not_enough_credits`, as Brevo does when the account
/// has no credit left.
pub const NO_CREDIT_RECIPIENT: &str = "33699999999";

/// One accepted message, as the fake received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub api_key: String,
    pub body: Value,
}

pub struct FakeBrevo {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: ServerHandle,
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
}

fn error(status: actix_web::http::StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "code": code, "message": message }))
}

async fn send(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    use actix_web::http::StatusCode;
    let key = req
        .headers()
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if key != API_KEY {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "Key not found");
    }
    let json_body = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid_parameter", "Invalid JSON");
    };
    let text = |name: &str| parsed.get(name).and_then(Value::as_str).unwrap_or_default();
    let sender_ok = (1..=11).contains(&text("sender").len())
        && text("sender").bytes().all(|b| b.is_ascii_alphanumeric());
    let recipient_ok = (8..=15).contains(&text("recipient").len())
        && text("recipient").bytes().all(|b| b.is_ascii_digit());
    let type_ok = matches!(
        parsed.get("type").and_then(Value::as_str),
        None | Some("transactional" | "marketing")
    );
    if !json_body || !sender_ok || !recipient_ok || text("content").is_empty() || !type_ok {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "sender, recipient, content or type is invalid",
        );
    }
    if text("recipient") == NO_CREDIT_RECIPIENT {
        return error(
            StatusCode::PAYMENT_REQUIRED,
            "not_enough_credits",
            "Not enough credits",
        );
    }
    let mut received = shared.received.lock().unwrap();
    received.push(Received {
        api_key: key,
        body: parsed,
    });
    HttpResponse::Created()
        .json(json!({ "messageId": 1_511_882_900_176_220_u64 + received.len() as u64 }))
}

impl FakeBrevo {
    /// Serves the fake on a loopback port, in the test's runtime.
    pub fn start() -> FakeBrevo {
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            received: received.clone(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{PATH}", listener.local_addr().unwrap());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(web::Data::new(shared.clone()))
                .route(PATH, web::post().to(send))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        FakeBrevo {
            url,
            received,
            server: handle,
        }
    }

    /// The messages accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}
