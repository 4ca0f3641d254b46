//! Aidant sign-in through HTTP: e-mail link + TOTP, sessions, step-up, CSRF, rate
//! limits, lockout. Each test runs on SQLite and, when AC_TEST_DATABASE_URL is set, PostgreSQL.

use ac_e2e::smtp::SmtpServer;
use ac_e2e::{TestApp, browser, extract_csrf, test_settings};
use ac_storage::journal::AuditContext;
use ac_storage::testing::TestDatabase;
use ac_storage::{aidants, totp_devices};
use reqwest::StatusCode;
use time::Duration;

const EMAIL: &str = "camille.martin@mediatheque.exemple.fr";

/// The generic refusal, whichever factor failed.
const REFUSED: &str = "Connexion impossible : le lien a peut-être expiré ou déjà servi, ou le code n&#x27;est pas le bon.";

/// The message after the tenth wrong code (escaped as the page writes it).
const LOCKED: &str =
    "Votre compte est bloqué : trop de codes faux ont été saisis. Demandez à votre référent";

async fn status_and_body(res: reqwest::Response) -> (StatusCode, String) {
    (res.status(), res.text().await.unwrap())
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn full_sign_in_through_link_and_totp() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["mediatheque"]);
        let res = app.request_link(EMAIL).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("un lien de connexion vient d")
        );

        let link = app.wait_for_link(1).await;
        let mail = &app.sent_mail()[0];
        assert_eq!(mail.to, EMAIL);
        assert_eq!(mail.subject, "Votre lien de connexion à Aidants Connect");
        assert!(mail.text.contains("expire dans 5 minutes"));
        assert!(mail.html.contains(link.expose()));

        // Following the link (as a mail scanner does) consumes nothing: the page only has a form.
        for _ in 0..2 {
            let res = app.get(&format!("/connexion/lien/{}", link.expose())).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["referrer-policy"], "no-referrer");
            assert!(res.text().await.unwrap().contains("Continuer la connexion"));
        }
        let res = app.open_link(link.expose()).await;
        let cookies = set_cookies(&res);
        let stage_cookie = cookies
            .iter()
            .find(|c| c.starts_with("ac_session="))
            .unwrap();
        assert!(stage_cookie.contains("HttpOnly") && stage_cookie.contains("SameSite=Lax"));
        assert!(stage_cookie.contains("Path=/"));

        let res = app.submit_code(&app.totp_now()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/espace");

        let res = app.get("/espace").await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.text().await.unwrap();
        assert!(
            body.contains("Bonjour Camille MARTIN") || body.contains("Bonjour Camille Martin"),
            "{body}"
        );
        assert!(body.contains("Structure mediatheque"));

        let journal = app.journal();
        let signin = journal
            .iter()
            .find(|e| e["action"] == "auth.signin.succeeded")
            .expect("sign-in journaled");
        assert_eq!(signin["actor"]["id"], aidant.as_str());
        assert_eq!(signin["organisation_id"], "mediatheque");
        // Ids only: neither the address nor the code nor a token is in the journal.
        let text = serde_json::to_string(&journal).unwrap();
        assert!(!text.contains(EMAIL) && !text.contains(link.expose()));
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_link_works_once() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        let link = app.sign_in(EMAIL).await;
        app.next_totp_step();
        // Same link again, even with a valid new code: refused, with the generic message.
        app.open_link(link.expose()).await;
        let (status, body) = status_and_body(app.submit_code(&app.totp_now()).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(REFUSED) && body.contains("AUTH002"), "{body}");
        assert!(
            app.journal()
                .iter()
                .any(|e| e["action"] == "auth.signin.failed"
                    && e["details"]["reason"] == "used_link")
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn an_expired_link_is_refused() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        app.request_link(EMAIL).await;
        let link = app.wait_for_link(1).await;
        app.clock.advance(Duration::minutes(5));
        app.open_link(link.expose()).await;
        let (status, body) = status_and_body(app.submit_code(&app.totp_now()).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(REFUSED), "{body}");
        assert_eq!(app.get("/espace").await.status(), StatusCode::SEE_OTHER);
        assert!(app.journal().iter().any(
            |e| e["action"] == "auth.signin.failed" && e["details"]["reason"] == "expired_link"
        ));
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_link_opened_after_logout_does_not_sign_in() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        // Two links asked for (a double click); the first one is used.
        app.request_link(EMAIL).await;
        let first = app.wait_for_link(1).await;
        app.request_link(EMAIL).await;
        let second = app.wait_for_link(2).await;
        app.open_link(first.expose()).await;
        assert_eq!(
            app.submit_code(&app.totp_now()).await.status(),
            StatusCode::SEE_OTHER
        );
        let csrf = app.csrf_of("/espace").await;
        let res = app.post_form("/deconnexion", &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/connexion");
        assert_eq!(app.get("/espace").await.status(), StatusCode::SEE_OTHER);
        assert!(
            app.journal()
                .iter()
                .any(|e| e["action"] == "auth.signout" && e["details"]["reason"] == "logout")
        );

        // The next person at this computer finds the mailbox open: neither link works.
        for link in [&second, &first] {
            app.next_totp_step();
            app.open_link(link.expose()).await;
            let (status, body) = status_and_body(app.submit_code(&app.totp_now()).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body.contains(REFUSED));
        }
        assert_eq!(app.get("/espace").await.status(), StatusCode::SEE_OTHER);
        app.stop().await;
    }
}

#[actix_web::test]
async fn wrong_and_replayed_codes_are_refused_with_the_same_message() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        app.request_link(EMAIL).await;
        let link = app.wait_for_link(1).await;
        app.open_link(link.expose()).await;
        let good = app.totp_now();
        let wrong = if good == "000000" { "111111" } else { "000000" };
        let (status, wrong_body) = status_and_body(app.submit_code(wrong).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong_body.contains(REFUSED));
        // The stage survives a wrong code: the right one then works.
        let res = app.submit_code(&good).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let csrf = app.csrf_of("/espace").await;
        app.post_form("/deconnexion", &[("csrf", &csrf)]).await;

        // Replay: a new link, the same code within the same 30 s step.
        app.request_link(EMAIL).await;
        let link = app.wait_for_link(2).await;
        app.open_link(link.expose()).await;
        let (status, replay_body) = status_and_body(app.submit_code(&good).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // Same words as for a bad link: nothing says which factor failed.
        let message = |body: &str| {
            body.lines()
                .find(|l| l.contains("fr-alert--error"))
                .unwrap()
                .to_owned()
        };
        assert_eq!(message(&wrong_body), message(&replay_body));
        let reasons: Vec<_> = app
            .journal()
            .iter()
            .filter(|e| e["action"] == "auth.signin.failed")
            .map(|e| e["details"]["reason"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(reasons, ["wrong_code", "replayed_code"]);
        app.stop().await;
    }
}

#[actix_web::test]
async fn ten_failures_lock_the_device_until_it_is_unlocked() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["mediatheque"]);
        app.request_link(EMAIL).await;
        let link = app.wait_for_link(1).await;
        app.open_link(link.expose()).await;
        let good = app.totp_now();
        let wrong = if good == "000000" { "111111" } else { "000000" };
        for attempt in 1..=10 {
            let (status, body) = status_and_body(app.submit_code(wrong).await).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "attempt {attempt}"
            );
            // The tenth wrong code locks the account, and the page says so.
            assert_eq!(body.contains(LOCKED), attempt == 10, "attempt {attempt}");
            assert_eq!(body.contains(REFUSED), attempt < 10, "attempt {attempt}");
        }
        let conn = &mut *app.db.db.conn().unwrap();
        let devices = totp_devices::list_for_aidant(conn, &aidant).unwrap();
        assert!(devices[0].locked_at.is_some(), "locked after 10 failures");
        // The failures and the lock are journaled under the structure: its référent sees them.
        let journal = app.journal();
        let under_structure = |action: &str| {
            journal
                .iter()
                .filter(|e| e["action"] == action)
                .map(|e| e["organisation_id"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        };
        // (`journal` may list an entry twice when the worker integrates it meanwhile.)
        let failed = under_structure("auth.signin.failed");
        assert!(
            failed.len() >= 10 && failed.iter().all(|o| o == "mediatheque"),
            "{failed:?}"
        );
        let locked = under_structure("auth.totp.locked");
        assert!(
            !locked.is_empty() && locked.iter().all(|o| o == "mediatheque"),
            "{locked:?}"
        );

        // Locked: a fresh link and the right code still fail, and the aidant is told to ask
        // their référent.
        app.clock.advance(Duration::minutes(15));
        app.request_link(EMAIL).await;
        let link = app.wait_for_link(2).await;
        app.open_link(link.expose()).await;
        let (status, body) = status_and_body(app.submit_code(&app.totp_now()).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(LOCKED) && body.contains("AUTH008"), "{body}");

        // A référent or an admin unlocks (the CLI's `aidant unlock` calls this).
        assert_eq!(
            totp_devices::unlock(conn, &aidant, &AuditContext::cli(), app.clock_now()).unwrap(),
            1
        );
        app.next_totp_step();
        app.sign_in(EMAIL).await;
        assert_eq!(app.get("/espace").await.status(), StatusCode::OK);
        assert!(
            app.journal_actions()
                .contains(&"auth.totp.unlocked".to_owned())
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        // Asking for a link: no token, or one that is not this browser's.
        for csrf in ["", "forged-token"] {
            let res = app
                .post_form("/connexion", &[("email", EMAIL), ("csrf", csrf)])
                .await;
            let (status, body) = status_and_body(res).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert!(body.contains("AUTH001"), "{body}");
        }
        assert!(app.sent_mail().is_empty(), "no mail for a forged form");

        app.sign_in(EMAIL).await;
        // A signed-in form with another session's token, or a pre-session token.
        let pre_session = app.csrf_of("/connexion").await;
        let res = app
            .post_form("/deconnexion", &[("csrf", &pre_session)])
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));
        let res = app
            .post_form(
                "/espace/structure",
                &[("organisation", "mediatheque"), ("csrf", "")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));
        assert_eq!(
            app.get("/espace").await.status(),
            StatusCode::OK,
            "still signed in"
        );
        // A cross-site page cannot read the token, so its form carries none that matches.
        let res = app
            .client
            .post(app.url("/deconnexion"))
            .header("origin", "https://evil.example")
            .form(&[("csrf", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));
        assert_eq!(app.get("/espace").await.status(), StatusCode::OK);
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_session_id_changes_at_sign_in() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        // An attacker plants a session id in the browser before sign-in (fixation).
        let planted = ac_auth::Token::generate(&ring::rand::SystemRandom::new()).unwrap();
        let url: reqwest::Url = app.base_url.parse().unwrap();
        app.jar
            .add_cookie_str(&format!("ac_session={}; Path=/", planted.expose()), &url);
        app.request_link(EMAIL).await;
        let link = app.wait_for_link(1).await;
        app.open_link(link.expose()).await;
        let stage = app.cookie("ac_session").unwrap();
        assert_ne!(stage, planted.expose(), "the link stage gets its own id");
        app.submit_code(&app.totp_now()).await;
        let session = app.cookie("ac_session").unwrap();
        assert_ne!(session, stage, "a new id once signed in");
        assert_ne!(session, planted.expose());
        assert_eq!(app.get("/espace").await.status(), StatusCode::OK);

        // Neither earlier id opens the session.
        for old in [planted.expose(), stage.as_str()] {
            let res = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(app.url("/espace"))
                .header("cookie", format!("ac_session={old}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(res.headers()["location"], "/connexion");
        }
        // The stored id is a hash, not the cookie's value.
        use ac_storage::schema::auth_sessions;
        use diesel::prelude::*;
        let stored: Vec<String> = auth_sessions::table
            .select(auth_sessions::id_hash)
            .load(&mut *app.db.db.conn().unwrap())
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], session);
        assert_eq!(stored[0].len(), 64);
        app.stop().await;
    }
}

#[actix_web::test]
async fn idle_sessions_end_and_quiet_ones_need_the_code_again() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        app.sign_in(EMAIL).await;

        // 16 minutes without audited activity: the code is asked again, then the page returns.
        app.clock.advance(Duration::minutes(16));
        let res = app.get("/espace").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()["location"],
            "/connexion/verification?suite=/espace"
        );
        let csrf = app.csrf_of("/connexion/verification?suite=/espace").await;
        let res = app
            .post_form(
                "/connexion/verification",
                &[("code", "000000"), ("csrf", &csrf), ("suite", "/espace")],
            )
            .await;
        let expected = if app.totp_now() == "000000" { 303 } else { 422 };
        assert_eq!(res.status().as_u16(), expected);
        let res = app
            .post_form(
                "/connexion/verification",
                &[
                    ("code", &app.totp_now()),
                    ("csrf", &csrf),
                    ("suite", "https://evil.example"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/espace", "no open redirect");
        assert_eq!(app.get("/espace").await.status(), StatusCode::OK);
        let journal = app.journal_actions();
        assert!(journal.contains(&"auth.stepup.succeeded".to_owned()));

        // 30 minutes without any request: the session is over.
        app.clock.advance(Duration::minutes(30));
        let res = app.get("/espace").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/connexion");
        assert!(
            app.journal()
                .iter()
                .any(|e| e["action"] == "auth.signout" && e["details"]["reason"] == "idle_timeout")
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn deactivating_an_aidant_ends_their_session() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["mediatheque"]);
        app.sign_in(EMAIL).await;
        assert_eq!(app.get("/espace").await.status(), StatusCode::OK);
        aidants::deactivate(
            &mut app.db.db.conn().unwrap(),
            &aidant,
            &AuditContext::cli(),
            app.clock_now(),
        )
        .unwrap();
        let res = app.get("/espace").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/connexion");
        assert!(app.journal().iter().any(
            |e| e["action"] == "auth.signout" && e["details"]["reason"] == "aidant_deactivated"
        ));
        // And no new sign-in: no link goes out, the page is the usual one.
        let before = app.sent_mail().len();
        assert_eq!(app.request_link(EMAIL).await.status(), StatusCode::OK);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.sent_mail().len(), before);
        app.stop().await;
    }
}

#[actix_web::test]
async fn unknown_addresses_get_the_very_same_response() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        let known = app.request_link(EMAIL).await;
        let unknown = app.request_link("personne@exemple.fr").await;
        assert_eq!(known.status(), unknown.status());
        let headers = |r: &reqwest::Response| {
            let mut h: Vec<(String, String)> = r
                .headers()
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "x-request-id" | "date"))
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            h.sort();
            h
        };
        assert_eq!(headers(&known), headers(&unknown));
        assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
        // A mail goes out only for a stored link, and only the known address got one: no
        // mail can follow for the unknown address (no waiting on a clock to see nothing).
        assert_eq!(app.count_rows("auth_sign_in_links"), 1);
        app.wait_for_link(1).await;
        let sent = app.sent_mail();
        assert_eq!(sent.len(), 1, "only the known address gets mail");
        assert_eq!(sent[0].to, EMAIL);
        app.stop().await;
    }
}

#[actix_web::test]
async fn link_requests_are_rate_limited_per_address_known_or_not() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["mediatheque"]);
        for address in [EMAIL, "personne@exemple.fr"] {
            for _ in 0..5 {
                assert_eq!(app.request_link(address).await.status(), StatusCode::OK);
            }
            let (status, body) = status_and_body(app.request_link(address).await).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{address}");
            assert!(body.contains("AUTH003"));
        }
        // One refusal journaled per address and window, without the address.
        let denied: Vec<_> = app
            .journal()
            .into_iter()
            .filter(|e| e["action"] == "access.denied")
            .collect();
        assert_eq!(denied.len(), 2);
        assert!(
            denied
                .iter()
                .all(|e| e["details"]["limit"] == "link_per_address")
        );
        // A new window.
        app.clock.advance(Duration::minutes(15));
        assert_eq!(app.request_link(EMAIL).await.status(), StatusCode::OK);
        app.stop().await;
    }
}

#[actix_web::test]
async fn an_aidant_of_several_structures_chooses_the_current_one() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["mediatheque", "ccas"]);
        app.with_aidant("autre@exemple.fr", &["mairie"]);
        app.sign_in(EMAIL).await;
        let csrf = app.csrf_of("/espace").await;
        let res = app
            .post_form(
                "/espace/structure",
                &[("organisation", "ccas"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let body = app.get("/espace").await.text().await.unwrap();
        assert!(body.contains("<strong>Structure ccas</strong>"), "{body}");
        let res = app
            .post_form(
                "/espace/structure",
                &[("organisation", "mairie"), ("csrf", &csrf)],
            )
            .await;
        let (status, body) = status_and_body(res).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("AUTH006"));
        let current = aidants::get(&mut app.db.db.conn().unwrap(), &aidant)
            .unwrap()
            .current_organisation;
        assert_eq!(current.as_str(), "ccas");
        assert!(
            app.journal()
                .iter()
                .any(|e| e["action"] == "auth.structure.switched"
                    && e["organisation_id"] == "ccas"
                    && e["details"]["from"] == "mediatheque")
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn outside_dev_mode_cookies_are_host_prefixed_and_secure_and_the_outbox_is_gone() {
    for db in TestDatabase::each().unwrap() {
        let mut settings = test_settings();
        settings.server.dev_mode = false;
        settings.server.public_url = "https://aidants.exemple.gouv.fr".into();
        settings.auth.generate_missing_key = false;
        let app = TestApp::spawn(db, settings).await;
        let res = app.get("/connexion").await;
        assert_eq!(res.status(), StatusCode::OK);
        let cookies = set_cookies(&res);
        let csrf_cookie = cookies
            .iter()
            .find(|c| c.starts_with("__Host-ac_csrf="))
            .unwrap();
        for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(csrf_cookie.contains(attribute), "{csrf_cookie}");
        }
        assert!(!csrf_cookie.contains("Domain"));
        let csrf = extract_csrf(&res.text().await.unwrap());
        assert!(!csrf.is_empty());
        assert_eq!(
            app.get("/dev/courriels").await.status(),
            StatusCode::NOT_FOUND
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_dev_outbox_lists_the_mailed_link() {
    for db in TestDatabase::each().unwrap() {
        let mut settings = test_settings();
        settings.mail.transport = ac_config::MailTransport::File;
        let app = TestApp::spawn(db, settings).await;
        app.with_aidant(EMAIL, &["mediatheque"]);
        app.request_link(EMAIL).await;
        let mut body = String::new();
        for _ in 0..100 {
            body = app.get("/dev/courriels").await.text().await.unwrap();
            if body.contains("connexion&#x2F;lien&#x2F;") {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(body.contains("Votre lien de connexion"), "{body}");
        assert!(body.contains("connexion&#x2F;lien&#x2F;"), "{body}");
        // The page a demo starts from, on the tablet too: axe-core and the tablet-first rules.
        let name = format!("courriels-{:?}", app.db.backend()).to_lowercase();
        let steps = vec![
            serde_json::json!({ "name": "courriels", "goto": "/dev/courriels",
            "expect": ["Votre lien de connexion"] }),
        ];
        let run = browser::run_plan(
            &app,
            &name,
            vec![browser::on_tablet(
                browser::anonymous("developpement", steps),
                browser::PORTRAIT,
            )],
        )
        .await;
        assert!(run.success, "{}", run.output);
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_link_goes_out_through_a_real_smtp_server() {
    for db in TestDatabase::each().unwrap() {
        let smtp = SmtpServer::start();
        let mut settings = test_settings();
        settings.mail.transport = ac_config::MailTransport::Smtp;
        settings.mail.smtp.host = "127.0.0.1".into();
        settings.mail.smtp.port = smtp.port;
        settings.mail.smtp.tls = ac_config::SmtpTls::None;
        let app = TestApp::spawn(db, settings).await;
        app.with_aidant(EMAIL, &["mediatheque"]);
        assert_eq!(app.request_link(EMAIL).await.status(), StatusCode::OK);
        let mut received = Vec::new();
        for _ in 0..100 {
            received = smtp.received();
            if !received.is_empty() {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(received.len(), 1, "one message reached the SMTP server");
        let message = &received[0];
        assert_eq!(message["to"], EMAIL);
        assert_eq!(
            message["from"],
            "Aidants Connect <ne-pas-repondre@aidants-connect.localhost>"
        );
        assert_eq!(
            message["subject"],
            "Votre lien de connexion à Aidants Connect"
        );
        assert_eq!(message["content_type"], "multipart/alternative");
        let text = message["text"].as_str().unwrap();
        assert!(text.contains("expire dans 5 minutes"), "{text}");
        assert!(
            message["html"]
                .as_str()
                .unwrap()
                .contains("Me connecter à Aidants Connect")
        );
        // The link that arrived signs in.
        let token = ac_e2e::link_token(text);
        app.open_link(token.expose()).await;
        let res = app.submit_code(&app.totp_now()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/espace");
        app.stop().await;
    }
}

/// A newcomer after `make run`: a demonstration account signs in with the demo authenticator
/// code shown on the dev outbox page.
#[actix_web::test]
async fn a_demo_account_signs_in_with_the_code_shown_on_the_dev_page() {
    for app in TestApp::each().await {
        let outcome = ac_demo::load(
            &mut app.db.db.conn().unwrap(),
            &app.state.auth.keys,
            &app.state.franceconnect.demo_pseudonyms().unwrap(),
            &ac_storage::journal::AuditContext::cli(),
            ac_e2e::START,
        )
        .unwrap();
        let ac_demo::Outcome::Loaded(summary) = outcome else {
            panic!("demo not loaded")
        };
        let email = summary.sign_in_example.unwrap();
        assert_eq!(app.request_link(&email).await.status(), StatusCode::OK);
        let link = app.wait_for_link(1).await;
        app.open_link(link.expose()).await;
        let page = app.get("/dev/courriels").await.text().await.unwrap();
        let code = page.split("<strong class=\"code\">").nth(1).unwrap()[..6].to_owned();
        assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
        let res = app.submit_code(&code).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/espace");
        app.stop().await;
    }
}
