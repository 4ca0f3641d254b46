//! The sign-in's rate limits and the body size limit, each reached: per IP for link requests,
//! per IP and per aidant for second-factor codes, and `server.max_body_bytes` on a form. Each
//! test sets its limit small and exact, so raising or removing the limit fails it. Each test runs
//! on SQLite and, when AC_TEST_DATABASE_URL is set, PostgreSQL.

use ac_config::Settings;
use ac_e2e::{TestApp, test_settings};
use ac_storage::testing::TestDatabase;
use reqwest::StatusCode;

async fn apps_with(change: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for db in TestDatabase::each().unwrap() {
        let mut settings = test_settings();
        change(&mut settings);
        apps.push(TestApp::spawn(db, settings).await);
    }
    apps
}

/// The `limit` label of every rate-limit refusal journaled so far.
fn refusals(app: &TestApp) -> Vec<String> {
    app.journal()
        .into_iter()
        .filter(|e| e["action"] == "access.denied" && e["details"]["reason"] == "rate_limited")
        .map(|e| e["details"]["limit"].as_str().unwrap().to_owned())
        .collect()
}

async fn assert_too_many(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
    assert!(res.text().await.unwrap().contains("AUTH003"), "{what}");
}

#[actix_web::test]
async fn link_requests_are_limited_per_ip_whatever_the_address() {
    for app in apps_with(|s| {
        s.auth.link_requests_per_ip = 3;
        s.auth.link_requests_per_address = 100;
    })
    .await
    {
        app.with_aidant("camille@exemple.fr", &["mediatheque"]);
        for i in 0..3 {
            let res = app.request_link(&format!("personne{i}@exemple.fr")).await;
            assert_eq!(res.status(), StatusCode::OK, "request {i}");
        }
        // A fourth address, a known one: refused all the same, no link stored, no mail.
        let res = app.request_link("camille@exemple.fr").await;
        assert_too_many(res, "fourth request from this address").await;
        assert_eq!(app.count_rows("auth_sign_in_links"), 0);
        assert_eq!(refusals(&app), ["link_per_ip"]);
        app.stop().await;
    }
}

#[actix_web::test]
async fn second_factor_codes_are_limited_per_ip_across_accounts() {
    for app in apps_with(|s| {
        s.auth.totp_attempts_per_ip = 3;
        s.auth.totp_attempts_per_aidant = 100;
    })
    .await
    {
        for (n, email) in ["a@exemple.fr", "b@exemple.fr"].iter().enumerate() {
            app.with_aidant(email, &["mediatheque"]);
            assert_eq!(app.request_link(email).await.status(), StatusCode::OK);
            let link = app.wait_for_link(n + 1).await;
            app.open_link(link.expose()).await;
            // Two wrong codes for the first account, one for the second: three from this
            // address.
            for _ in 0..(2 - n) {
                let res = app.submit_code("000000").await;
                assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{email}");
            }
        }
        // The right code of the second account, a fourth attempt from this address: not checked.
        let res = app.submit_code(&app.totp_now()).await;
        assert_too_many(res, "fourth code from this address").await;
        assert_eq!(app.get("/espace").await.status(), StatusCode::SEE_OTHER);
        assert_eq!(refusals(&app), ["totp_per_ip"]);
        app.stop().await;
    }
}

#[actix_web::test]
async fn second_factor_codes_are_limited_per_aidant() {
    for app in apps_with(|s| {
        s.auth.totp_attempts_per_aidant = 4;
        s.auth.totp_attempts_per_ip = 100;
    })
    .await
    {
        app.with_aidant("a@exemple.fr", &["mediatheque"]);
        assert_eq!(
            app.request_link("a@exemple.fr").await.status(),
            StatusCode::OK
        );
        let link = app.wait_for_link(1).await;
        app.open_link(link.expose()).await;
        for attempt in 0..4 {
            let res = app.submit_code("000000").await;
            assert_eq!(
                res.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "attempt {attempt}"
            );
        }
        let res = app.submit_code(&app.totp_now()).await;
        assert_too_many(res, "fifth code for this aidant").await;
        assert_eq!(app.get("/espace").await.status(), StatusCode::SEE_OTHER);
        assert_eq!(refusals(&app), ["totp_per_aidant"]);
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_form_over_max_body_bytes_is_refused_and_one_at_the_limit_is_read() {
    for app in apps_with(|s| s.server.max_body_bytes = 4096).await {
        let csrf = app.csrf_of("/connexion").await;
        // `email=…&csrf=…`, padded with a parameter the form ignores to exactly `size` bytes.
        let body = |size: usize| {
            let head = format!("csrf={csrf}&email=personne%40exemple.fr&pad=");
            format!("{head}{}", "x".repeat(size - head.len()))
        };
        let post = |body: String| {
            app.client
                .post(app.url("/connexion"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
        };
        let res = post(body(4096)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "a form at the limit is read");
        let res = post(body(4097)).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(res.text().await.unwrap().contains("WEB413"));
        app.stop().await;
    }
}
