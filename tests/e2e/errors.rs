//! Bad input and failures end in a clear answer: a French page with its code, RFC-shaped JSON on
//! protocol endpoints, a 503 with `Retry-After` when the database is down; and the reference a
//! person is shown is in the log with its cause.

use ac_e2e::{TestApp, captured_log, test_settings};
use ac_storage::testing::TestDatabase;
use ac_storage::{Database, DatabaseUrl, OpenMode, PoolOptions};
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};

const EMAIL: &str = "camille.martin@exemple.fr";

async fn signed_in(app: &TestApp) {
    app.with_aidant(EMAIL, &["org-a"]);
    app.sign_in(EMAIL).await;
}

/// The body of a protocol error: JSON, never cached, with an RFC 6749 `error`.
async fn protocol_error(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    assert_eq!(res.headers()["cache-control"], "no-store", "{status}");
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{status} {content_type}"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error_description"].is_string(), "{body}");
    (status, body["error"].as_str().unwrap().to_owned())
}

#[actix_web::test]
async fn a_control_character_is_refused_where_it_enters_with_a_french_page_or_protocol_json() {
    for app in TestApp::each().await {
        // Signed out: the authorization request, the logout hint, the token endpoint.
        for path in [
            "/oidc/authorize?response_type=code&client_id=%00&redirect_uri=x&scope=openid",
            "/oidc/session/end?id_token_hint=%00",
            "/connexion/lien/abc%00def",
            "/verification?code=%01",
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
            let body = res.text().await.unwrap();
            assert!(body.contains("WEB400"), "{path}: {body}");
            assert!(body.contains("caractère non permis"), "{path}");
        }
        let res = app
            .post_form(
                "/oidc/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", "\0"),
                    ("code", "x"),
                ],
            )
            .await;
        assert_eq!(
            protocol_error(res).await,
            (StatusCode::BAD_REQUEST, "invalid_request".to_owned())
        );

        // Signed in: ids in paths and filters, and a form body.
        signed_in(&app).await;
        for path in ["/mandats/%00", "/usagers/%00", "/usagers?q=a%00b"] {
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        }
        let csrf = app.csrf_of("/espace").await;
        let res = app
            .post_form(
                "/espace/structure",
                &[("csrf", &csrf), ("organisation", "a\0")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        app.stop().await;
    }
}

#[actix_web::test]
async fn protocol_endpoints_answer_every_failure_in_json_never_cached() {
    for app in TestApp::each().await {
        let expect = async |method: Method, path: &str, status: StatusCode, error: &str| {
            let res = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(
                protocol_error(res).await,
                (status, error.to_owned()),
                "{method} {path}"
            );
        };
        let not_allowed = StatusCode::METHOD_NOT_ALLOWED;
        expect(Method::GET, "/oidc/token", not_allowed, "invalid_request").await;
        expect(Method::PUT, "/oidc/token", not_allowed, "invalid_request").await;
        expect(
            Method::PUT,
            "/oidc/userinfo",
            not_allowed,
            "invalid_request",
        )
        .await;
        expect(Method::POST, "/oidc/jwks", not_allowed, "invalid_request").await;
        let discovery = "/.well-known/openid-configuration";
        expect(Method::DELETE, discovery, not_allowed, "invalid_request").await;
        expect(Method::POST, "/audit/key", not_allowed, "invalid_request").await;
        let not_found = StatusCode::NOT_FOUND;
        expect(
            Method::GET,
            "/audit/checkpoints/x",
            not_found,
            "invalid_request",
        )
        .await;
        expect(
            Method::GET,
            "/audit/checkpoints/7",
            not_found,
            "invalid_request",
        )
        .await;

        // A body over the limit: the framework's 413, in JSON.
        let big = "a".repeat(app.state.settings.server.max_body_bytes + 1);
        let res = app
            .client
            .post(app.url("/oidc/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("code={big}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            protocol_error(res).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request".to_owned())
        );

        // A form is a form whatever the case of its media type (RFC 9110 §8.3.1): the request
        // is read, and refused for its unknown client, not for its media type.
        let res = app
            .client
            .post(app.url("/oidc/token"))
            .header(
                "content-type",
                "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            )
            .body("grant_type=authorization_code&code=x&client_id=inconnu&client_secret=s")
            .send()
            .await
            .unwrap();
        assert_eq!(protocol_error(res).await.1, "invalid_client");
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_form_is_read_whatever_the_case_of_its_media_type() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        let csrf = app.csrf_of("/connexion").await;
        let res = app
            .client
            .post(app.url("/connexion"))
            .header(
                "content-type",
                "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            )
            .body(format!("email=camille.martin%40exemple.fr&csrf={csrf}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        app.wait_for_link(1).await;
        app.stop().await;
    }
}

/// A référent of the demonstration pilot who also coordinates all of it, signed in; returns
/// the référent's structure.
async fn console_user(app: &TestApp) -> String {
    let referent = app.demo_referent_coordinating_everything();
    app.sign_in_on(referent.email.as_str(), ac_demo::DEMO_TOTP_SEED)
        .await;
    referent.referent_of.iter().next().unwrap().to_string()
}

#[actix_web::test]
async fn journal_dates_outside_a_sane_range_get_a_french_message_and_no_export() {
    for app in TestApp::each().await {
        let structure = console_user(&app).await;
        let exports = |app: &TestApp| {
            app.journal_actions()
                .iter()
                .filter(|a| *a == "export.made")
                .count()
        };
        for base in [
            "/coordination/journal",
            &format!("/referent/{structure}/journal"),
        ] {
            for query in [
                "au=9999-12-31",
                "du=-9999-01-01",
                "du=1999-12-31",
                "au=2100-01-01",
            ] {
                for page in ["", "/export.csv", "/export.jsonl"] {
                    let path = format!("{base}{page}?{query}");
                    let res = app.get(&path).await;
                    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
                    let body = res.text().await.unwrap();
                    assert!(body.contains("Date hors limites"), "{path}: {body}");
                }
            }
            // The edges of the range are fine.
            let res = app
                .get(&format!("{base}?du=2000-01-01&au=2099-12-31"))
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{base}");
        }
        assert_eq!(exports(&app), 0, "no export was journaled");
        app.stop().await;
    }
}

#[actix_web::test]
async fn franceconnect_unreachable_keeps_the_page_and_its_reference_is_in_the_log() {
    for db in TestDatabase::each().unwrap() {
        let mut settings = test_settings();
        // Nothing listens there: discovery fails at once.
        settings.franceconnect.demo_provider_enabled = false;
        settings.franceconnect.issuer = "http://127.0.0.1:9/fc".into();
        let secret = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(secret.path(), "client-secret-for-a-provider-never-reached").unwrap();
        settings.franceconnect.client_secret_env = String::new();
        settings.franceconnect.client_secret_file = secret.path().to_owned();
        let app = TestApp::spawn(db, settings).await;
        signed_in(&app).await;
        let screen = "/mandats/identification?demarche=social&demarche=argent&duree=365";
        let csrf = app.csrf_of(screen).await;
        let res = app
            .post_form(
                "/mandats/franceconnect",
                &[
                    ("csrf", &csrf),
                    ("demarche", "social"),
                    ("demarche", "argent"),
                    ("duree", "365"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let reference = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let html = res.text().await.unwrap();
        assert!(html.contains("OIDC002"), "{html}");
        assert!(html.contains("Les choix ci-dessous sont conservés"));
        assert!(html.contains("surendettement"), "the argent choice is kept");
        assert!(html.contains(&reference), "the reference is shown");
        let log = captured_log();
        let cause = log
            .lines()
            .find(|l| l.contains(&reference) && l.contains("FranceConnect discovery failed"));
        let cause = cause.unwrap_or_else(|| panic!("{reference} not logged with its cause"));
        assert!(
            cause.contains("OIDC002") && cause.contains("Unreachable"),
            "{cause}"
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn an_identification_that_took_too_long_says_so() {
    for app in TestApp::each().await {
        signed_in(&app).await;
        let started = app.start_identification(&["social"], "365").await;
        let callback = app.at_provider(&started.next, ("identity", "0")).await;
        let ttl = app.state.settings.franceconnect.login_ttl;
        app.clock.advance(ttl + time::Duration::SECOND);
        let res = app.client.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let html = res.text().await.unwrap();
        assert!(html.contains("OIDC012"), "{html}");
        assert!(html.contains("pris trop de temps"));
        // Single use all the same: the same return again is unknown.
        let res = app.client.get(&callback).send().await.unwrap();
        assert!(res.text().await.unwrap().contains("OIDC011"));
        app.stop().await;
    }
}

/// A TCP relay to the PostgreSQL server that can be cut: connections through it then fail as
/// they would when the database is down. It runs on its own thread, as the database would: the
/// test's thread blocks in synchronous connection attempts.
struct Relay {
    addr: std::net::SocketAddr,
    cut: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(upstream: String) -> Relay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let mut relays = tokio::task::JoinSet::new();
                let accept = async {
                    while let Ok((mut client, _)) = listener.accept().await {
                        let upstream = upstream.clone();
                        relays.spawn(async move {
                            if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        });
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stop => {}
                }
                // Dropping the listener and every relayed connection: the database is gone.
                relays.abort_all();
                while relays.join_next().await.is_some() {}
            });
        });
        Relay {
            addr,
            cut: Some(cut),
            thread: Some(thread),
        }
    }

    /// Stops accepting and drops every relayed connection.
    fn cut(&mut self) {
        if let Some(cut) = self.cut.take() {
            let _ = cut.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

#[actix_web::test]
async fn a_database_outage_answers_503_with_retry_after_quickly_and_says_why() {
    let Ok(server) = std::env::var(ac_storage::testing::TEST_DATABASE_URL) else {
        eprintln!("PostgreSQL not configured: an unreachable SQLite file cannot be simulated");
        return;
    };
    let mut db = TestDatabase::postgres(&server).unwrap();
    let DatabaseUrl::Postgres(direct) = db.url.clone() else {
        unreachable!()
    };
    let host_port = direct
        .split_once('@')
        .map_or(direct.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut relay = Relay::start(host_port.clone());
    let through_relay: DatabaseUrl = direct
        .replacen(&host_port, &relay.addr.to_string(), 1)
        .parse()
        .unwrap();
    db.db = Database::open(&through_relay, OpenMode::MustExist, &PoolOptions::default()).unwrap();
    let app = TestApp::spawn(db, test_settings()).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    signed_in(&app).await;

    relay.cut();
    for path in ["/readyz", "/espace", "/usagers", "/readyz", "/espace"] {
        let started = Instant::now();
        let res = app.get(path).await;
        let took = started.elapsed();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(res.headers()["retry-after"], "5", "{path}");
        assert!(took < Duration::from_secs(2), "{path} took {took:?}");
    }
    // The audit log's files answer in JSON, with the same advice.
    let res = app.get("/audit/checkpoint").await;
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(
        protocol_error(res).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable".to_owned()
        )
    );
    // The token endpoint too (RFC 6749 §5.2 JSON).
    let res = app
        .post_form(
            "/oidc/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("client_id", "partenaire"),
                ("client_secret", "s"),
            ],
        )
        .await;
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(
        protocol_error(res).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable".to_owned()
        )
    );
    let log = captured_log();
    assert!(
        log.contains("database unreachable") && log.contains("STO012"),
        "the log says what happened"
    );
    assert!(!log.contains("Invalid connection url"));
    app.stop().await;
}

#[actix_web::test]
async fn a_server_error_page_shows_a_reference_found_in_the_log_with_its_cause() {
    for app in TestApp::each().await {
        signed_in(&app).await;
        // A table gone from under the service (as its owner): the page that reads it fails.
        app.db
            .execute_raw("ALTER TABLE usagers RENAME TO usagers_gone")
            .unwrap();
        let res = app.get("/usagers").await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let reference = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let html = res.text().await.unwrap();
        assert!(html.contains("Le service a rencontré une erreur"));
        assert!(html.contains(&reference), "the reference is shown");
        let log = captured_log();
        let cause = log
            .lines()
            .find(|l| l.contains(&reference) && l.contains("request failed"))
            .unwrap_or_else(|| panic!("{reference} not logged with its cause"));
        assert!(cause.contains("usagers"), "{cause}");
        app.stop().await;
    }
}

#[actix_web::test]
async fn an_export_that_breaks_before_its_first_byte_is_an_error_page_and_journaled_so() {
    for app in TestApp::each().await {
        console_user(&app).await;
        ac_web::audit_worker::run_once(&app.state, true).unwrap();
        // Integrated entries that no longer read: the CSV export stops at the first.
        app.db
            .execute_raw(ac_storage::testing::drop_audit_log_guards(app.db.backend()))
            .unwrap();
        app.db
            .execute_raw(r#"UPDATE audit_log SET entry = '{"action":"x"}'"#)
            .unwrap();
        let res = app.get("/coordination/journal/export.csv").await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Le service a rencontré une erreur")
        );
        // Journaled by the export's own thread once it stopped: waited for, up to 10 s.
        let mut interrupted = None;
        for _ in 0..200 {
            interrupted = app
                .journal()
                .into_iter()
                .find(|e| e["action"] == "export.interrupted");
            if interrupted.is_some() {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        let interrupted = interrupted.expect("the interruption is journaled");
        assert_eq!(interrupted["details"]["bytes_sent"], "0", "{interrupted}");
        assert_eq!(interrupted["details"]["reason"], "AUD001", "{interrupted}");
        assert!(app.journal_actions().contains(&"export.made".to_owned()));
        app.stop().await;
    }
}
