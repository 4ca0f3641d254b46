//! The web skeleton: pages, health endpoints, headers, error pages.

use ac_e2e::TestApp;
use reqwest::StatusCode;

#[actix_web::test]
async fn home_page_is_french_and_lists_the_catalogue() {
    for app in TestApp::each().await {
        let res = app.get("/").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
        let body = res.text().await.unwrap();
        assert!(body.contains("<html lang=\"fr\" dir=\"ltr\">"));
        assert!(body.contains("Faire ses démarches en ligne, accompagné"));
        for demarche in ac_mandates::Demarche::ALL {
            assert!(
                body.contains(&demarche.title().replace('\'', "&#x27;")),
                "{demarche}"
            );
        }
        assert!(body.contains("Mode démonstration"));
        assert!(
            body.contains("href=\"/connexion\""),
            "the way in for aidants"
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn every_response_carries_the_security_headers_and_a_request_id() {
    for app in TestApp::each().await {
        for path in ["/", "/healthz", "/nope", "/static/style.css"] {
            let res = app.get(path).await;
            let h = res.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{path}: {csp}"
            );
            assert!(csp.contains("frame-ancestors 'none'"), "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["x-request-id"].to_str().unwrap().len(), 36, "{path}");
            assert!(
                !h.contains_key("strict-transport-security"),
                "dev mode serves plain HTTP"
            );
        }
        app.stop().await;
    }
}

#[actix_web::test]
async fn health_and_readiness() {
    for app in TestApp::each().await {
        let health = app.get("/healthz").await;
        assert_eq!(health.status(), StatusCode::OK);
        assert_eq!(health.text().await.unwrap(), "ok");
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), StatusCode::OK);
        assert_eq!(ready.text().await.unwrap(), "ready");
        app.stop().await;
    }
}

#[actix_web::test]
async fn errors_are_french_pages_with_a_stable_code() {
    for app in TestApp::each().await {
        let res = app.get("/pas-de-page-ici").await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let body = res.text().await.unwrap();
        assert!(
            body.contains("Page introuvable") && body.contains("WEB404"),
            "{body}"
        );

        let res = app.client.post(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(res.text().await.unwrap().contains("WEB405"));

        // Over `server.max_body_bytes`, to a route that reads forms (limits.rs checks the
        // exact boundary).
        let big = format!(
            "email={}",
            "x".repeat(app.state.settings.server.max_body_bytes)
        );
        let res = app
            .client
            .post(app.url("/connexion"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(res.text().await.unwrap().contains("WEB413"));
        app.stop().await;
    }
}

#[actix_web::test]
async fn readiness_fails_with_a_constant_page_when_the_database_is_not_usable() {
    use diesel_test_support::drop_migrations_table;
    for app in TestApp::each().await {
        drop_migrations_table(&app);
        let res = app.get("/readyz").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = res.text().await.unwrap();
        assert!(body.contains("Le service a rencontré une erreur"), "{body}");
        assert!(body.contains(&request_id), "the page quotes the request id");
        assert!(
            !body.contains("STO") && !body.contains("diesel"),
            "no cause leaks into a 5xx page: {body}"
        );
        app.stop().await;
    }
}

mod diesel_test_support {
    use ac_e2e::TestApp;
    pub fn drop_migrations_table(app: &TestApp) {
        app.db
            .execute_raw("DROP TABLE __diesel_schema_migrations")
            .unwrap();
    }
}

/// The node's housekeeping job: it purges at start, then waits an hour, and its handle stops it
/// without waiting for that hour.
#[actix_web::test]
async fn housekeeping_purges_at_start_and_stops_at_once() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant("camille@exemple.fr", &["structure-a"]);
        {
            let conn = &mut *app.db.db.conn().unwrap();
            // Sessions last 10 hours: this one ended 38 hours ago, the other is open.
            let (old, open) = (
                ac_auth::TokenHash::of(b"old"),
                ac_auth::TokenHash::of(b"open"),
            );
            let two_days_ago = app.clock_now() - time::Duration::days(2);
            ac_storage::testing::signed_in_session(conn, &old, &aidant, two_days_ago).unwrap();
            ac_storage::testing::signed_in_session(conn, &open, &aidant, app.clock_now()).unwrap();
        }
        let job = ac_web::housekeeping::spawn(app.state.clone()).unwrap();
        let started = std::time::Instant::now();
        while app.count_rows("auth_sessions") != 1 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "not purged"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let stopping = std::time::Instant::now();
        drop(job);
        assert!(stopping.elapsed() < std::time::Duration::from_secs(1));
        app.stop().await;
    }
}

/// The State design system's files are served from the binary under an address that changes
/// with their content, so browsers keep them a year; the stylesheet's fonts and icons resolve.
#[actix_web::test]
async fn the_design_system_is_served_immutable_under_its_bundle_digest() {
    for app in TestApp::each().await {
        let base = ac_web::dsfr_base();
        let css = app.get(&format!("{base}/dsfr.min.css")).await;
        assert_eq!(css.status(), StatusCode::OK);
        assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
        assert_eq!(
            css.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let css = css.text().await.unwrap();
        assert!(css.contains("fr-header"), "the DSFR stylesheet");
        for relative in [
            "fonts/Marianne-Regular.woff2",
            "icons/system/close-line.svg",
        ] {
            assert!(css.contains(relative));
            let res = app.get(&format!("{base}/{relative}")).await;
            assert_eq!(res.status(), StatusCode::OK, "{relative}");
        }
        // Another bundle's address, or a path outside the bundle, is not found.
        let stale = app.get("/static/dsfr/0000000000000000/dsfr.min.css").await;
        assert_eq!(stale.status(), StatusCode::NOT_FOUND);
        let outside = app.get(&format!("{base}/../style.css")).await;
        assert_eq!(outside.status(), StatusCode::NOT_FOUND);
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_footer_links_the_mandatory_pages_and_they_answer() {
    for app in TestApp::each().await {
        let home = app.get("/").await.text().await.unwrap();
        for (path, title) in [
            ("/mentions-legales", "Mentions légales"),
            ("/donnees-personnelles", "Données personnelles"),
            ("/accessibilite", "Déclaration d'accessibilité"),
            ("/plan-du-site", "Plan du site"),
        ] {
            assert!(
                home.contains(&format!("href=\"{path}\"")),
                "{path} in the footer"
            );
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let page = res.text().await.unwrap();
            assert!(
                page.contains(&format!("<h1>{title}</h1>")),
                "{path}: {page}"
            );
            assert!(
                page.contains("République<br>Française"),
                "{path}: the bloc-marque"
            );
        }
        // The RGAA statement has what the law asks: the conformity, what was tested, what is
        // known not to be accessible, how to reach the team, and the recourse.
        let statement = app.get("/accessibilite").await.text().await.unwrap();
        for section in [
            "État de conformité",
            "non conforme",
            "RGAA",
            "Ce qui a été testé",
            "Contenus non accessibles connus",
            "Vous n'arrivez pas à utiliser une page ?",
            "Voies de recours",
            "Défenseur des droits",
        ] {
            assert!(statement.contains(section), "{section}");
        }
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_print_button_is_a_script_file_under_the_csp() {
    for app in TestApp::each().await {
        let res = app.get("/static/imprimer.js").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        assert!(res.text().await.unwrap().contains("window.print()"));
        app.stop().await;
    }
}
