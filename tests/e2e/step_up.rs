//! The step-up wherever personal data shows, and its one per-IP throttle for every caller. Each
//! test runs on SQLite and, when AC_TEST_DATABASE_URL is set, PostgreSQL.

use ac_e2e::{TestApp, between, extract_csrf, hidden, person_path};
use ac_mandates::{Demarche, MandateId};
use ac_storage::mandates;
use reqwest::StatusCode;
use time::Duration;

use crate::provider::{STRUCTURE, authorize_url, demarche_page, signed_in};

/// Whether a page names one of the test's people.
fn shows_a_person(html: &str) -> bool {
    ["DUBOIS", "Dubois", "MARTIN", "Martin", "24/08/1962"]
        .iter()
        .any(|name| html.contains(name))
}

/// Every page that shows a person's name or birth date asks for the second factor again once
/// the session has been idle past `auth.step_up_after_secs` (15 minutes), and shows nothing.
#[actix_web::test]
async fn every_page_with_personal_data_asks_for_the_step_up_after_15_minutes() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        let usager = mandates::get(&mut app.db.db.conn().unwrap(), &s.mandate)
            .unwrap()
            .usager_id;
        // A revoked mandate, for the revocation attestation.
        let (_, revoked): (_, MandateId) =
            app.with_mandate(&s.aidant, STRUCTURE, "Jean", "MARTIN", &[Demarche::Social]);
        app.revoke(&s.aidant, &revoked);
        let list = app
            .client
            .get(authorize_url(app, &[]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut selection = reqwest::Url::parse(&app.url("/oidc/selection")).unwrap();
        selection
            .query_pairs_mut()
            .append_pair("i", &hidden(&list, "i"));
        let selection_list = format!("/oidc/selection?{}", selection.query().unwrap());
        let selection_person = person_path(&list, "DUBOIS").unwrap();
        let m = &s.mandate;
        let pages = [
            "/usagers".to_owned(),
            format!("/usagers/{usager}"),
            format!("/mandats/{m}"),
            format!("/mandats/{m}/imprimer"),
            format!("/mandats/{m}/revocation"),
            format!("/mandats/{revoked}/attestation-revocation"),
            selection_list,
            selection_person,
        ];
        for path in &pages {
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert!(shows_a_person(&res.text().await.unwrap()), "{path}");
        }

        app.clock.advance(Duration::minutes(16));
        for path in &pages {
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
            let location = res.headers()["location"].to_str().unwrap().to_owned();
            assert!(
                location.starts_with("/connexion/verification?suite=/"),
                "{path}: {location}"
            );
            assert!(!shows_a_person(&res.text().await.unwrap()), "{path}");
        }
        // The revocation form too: nothing revoked, nothing shown.
        let csrf = app.csrf_of("/connexion/verification").await;
        let code = app.totp_now();
        let res = app
            .post_form(
                &format!("/mandats/{m}/revocation"),
                &[("csrf", &csrf), ("confirmation", "oui"), ("code", &code)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/connexion/verification?suite=/mandats/")
        );
        let stored = mandates::get(&mut app.db.db.conn().unwrap(), m).unwrap();
        assert!(stored.authorizations.iter().all(|a| a.revocation.is_none()));

        // The code typed again: the pages come back, where the step-up page returns.
        let res = app
            .post_form(
                "/connexion/verification",
                &[
                    ("csrf", &csrf),
                    ("code", &code),
                    ("suite", &format!("/mandats/{m}")),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], format!("/mandats/{m}").as_str());
        for path in &pages[..6] {
            assert_eq!(app.get(path).await.status(), StatusCode::OK, "{path}");
        }
        s.app.stop().await;
    }
}

/// The per-IP limit on second-factor attempts (`auth.totp_attempts_per_ip`), reached.
fn exhaust_totp_per_ip(app: &TestApp) {
    let limit = app.state.auth.limits.totp_per_ip;
    let conn = &mut *app.db.db.conn().unwrap();
    for _ in 0..limit.max {
        ac_storage::rate_limits::hit(conn, "totp:ip:127.0.0.1", limit, app.clock_now()).unwrap();
    }
}

fn step_up_entries(app: &TestApp) -> usize {
    app.journal_actions()
        .iter()
        .filter(|a| a.starts_with("step_up."))
        .count()
}

async fn assert_throttled(res: reqwest::Response, caller: &str) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{caller}");
    assert!(
        res.text().await.unwrap().contains("AUTH003"),
        "{caller}: the code of the refusal"
    );
}

/// Every caller of the step-up — its page, the mandate consent, the revocation, the delegated
/// choice — goes through the same per-IP limit: with the limit reached, a valid code is not
/// even checked, and nothing happens.
#[actix_web::test]
async fn the_per_ip_second_factor_limit_holds_for_every_caller_of_the_step_up() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        let recap = app.identified("0").await;
        let consent_token = between(&recap, "name=\"token\" value=\"", "\"");
        let choice = demarche_page(&s, &[("prompt", Some("login"))]).await;
        assert!(choice.contains("name=\"code\""), "the code is asked");
        let csrf = extract_csrf(&recap);
        let (mandates_before, codes_before) = (
            app.count_rows("mandates"),
            app.count_rows("oidc_authorization_codes"),
        );
        let entries_before = step_up_entries(app);
        exhaust_totp_per_ip(app);
        app.next_totp_step();
        let code = app.totp_now();

        let res = app
            .post_form(
                "/connexion/verification",
                &[("csrf", &csrf), ("code", &code), ("suite", "/espace")],
            )
            .await;
        assert_throttled(res, "step-up page").await;
        let res = app
            .post_form(
                "/mandats/accord",
                &[
                    ("csrf", &csrf),
                    ("token", &consent_token),
                    ("accord", "oui"),
                    ("code", &code),
                ],
            )
            .await;
        assert_throttled(res, "mandate consent").await;
        let m = &s.mandate;
        let res = app
            .post_form(
                &format!("/mandats/{m}/revocation"),
                &[("csrf", &csrf), ("confirmation", "oui"), ("code", &code)],
            )
            .await;
        assert_throttled(res, "revocation").await;
        let res = app
            .post_form(
                "/oidc/choix",
                &[
                    ("csrf", &extract_csrf(&choice)),
                    ("i", &hidden(&choice, "i")),
                    ("usager", &hidden(&choice, "usager")),
                    ("demarche", "social"),
                    ("code", &code),
                ],
            )
            .await;
        assert_throttled(res, "delegated choice").await;

        // Nothing was checked, so nothing happened.
        assert_eq!(step_up_entries(app), entries_before);
        assert_eq!(app.count_rows("mandates"), mandates_before);
        assert_eq!(app.count_rows("oidc_authorization_codes"), codes_before);
        let stored = mandates::get(&mut app.db.db.conn().unwrap(), m).unwrap();
        assert!(stored.authorizations.iter().all(|a| a.revocation.is_none()));
        s.app.stop().await;
    }
}
