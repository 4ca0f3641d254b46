//! The printable mandate and the public verification page: the paper carries the
//! mandate's own legal text, both signature blocks and a verification code with its QR code;
//! anyone with the code sees the mandate's status and nothing about the aidé.

use ac_e2e::{TestApp, test_settings};
use ac_mandates::{Demarche, MandateId, VerificationCode};
use ac_storage::journal::AuditContext;
use ac_storage::testing::TestDatabase;
use ac_storage::{mandate_verifications, usagers};
use reqwest::StatusCode;
use time::Duration;

const EMAIL: &str = "camille.martin@exemple.fr";

/// The code printed on `mandate`, read from storage as the print page does.
fn code_of(app: &TestApp, mandate: &MandateId) -> VerificationCode {
    let conn = &mut *app.db.db.conn().unwrap();
    mandate_verifications::code_for_print(conn, mandate, &AuditContext::cli(), app.clock_now())
        .unwrap()
}

async fn text(res: reqwest::Response) -> String {
    res.text().await.unwrap()
}

/// A value as tera writes it into HTML.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('/', "&#x2F;")
}

#[actix_web::test]
async fn the_printed_mandate_carries_its_legal_text_signatures_code_and_qr_code() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        let (_, mandate) = app.with_mandate(
            &aidant,
            "org-a",
            "Angela",
            "DUBOIS",
            &[Demarche::Social, Demarche::Argent],
        );
        app.sign_in(EMAIL).await;

        let page = text(app.get(&format!("/mandats/{mandate}")).await).await;
        assert!(
            page.contains(&format!("href=\"/mandats/{mandate}/imprimer\"")),
            "the mandate page links to its printable copy:\n{page}"
        );

        let res = app.get(&format!("/mandats/{mandate}/imprimer")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("style-src 'self'") && !csp.contains("unsafe-inline"));
        let html = text(res).await;
        assert!(html.contains("media=\"print\""), "print.css for paper");
        // The aidé's own copy: the structure, the aidé, the aidant, the démarches with examples,
        // written dates.
        assert!(html.contains("Structure org-a"));
        assert!(html.contains("Angela DUBOIS"));
        assert!(html.contains("24 août 1962"));
        assert!(html.contains("Camille Martin"), "the aidant's name");
        assert!(html.contains("Social - Santé") && html.contains("carte Vitale"));
        assert!(html.contains("Argent - Impôts - Consommation"));
        assert!(html.contains("22 novembre 2026") && html.contains("22 novembre 2027"));
        // The legal text of its version, 2026-01.
        assert!(html.contains("texte de la version 2026-01"));
        assert!(html.contains("Révocation à tout moment"));
        assert!(html.contains("RGPD"));
        // Its retention periods, as the version declares them.
        assert!(html.contains("puis 1 an après sa fin ou sa révocation"));
        assert!(html.contains("sans nom, 5 ans"));
        // Both signature blocks.
        assert!(html.contains("class=\"signatures\""));
        assert_eq!(html.matches("class=\"signature-block\"").count(), 2);
        assert!(html.contains("La personne accompagnée</strong>"));
        assert!(html.contains("L'aidant, pour Structure org-a</strong>"));
        // The verification code, on paper in groups, and an inline SVG QR code of its URL.
        let code = code_of(&app, &mandate);
        assert!(html.contains(&code.grouped()), "{html}");
        let url = format!("{}/verification/{}", app.base_url, code.as_str());
        assert!(html.contains(&escaped(&url)), "the URL is written out");
        let svg_at = html.find("<svg class=\"qr-code\"").expect("an inline SVG");
        let svg = &html[svg_at..svg_at + html[svg_at..].find("</svg>").unwrap()];
        assert!(svg.contains("<path") && !svg.contains("style"));
        let expected = ac_auth::otpauth::qr_svg(&url).unwrap();
        let d = |s: &str| {
            s[s.find(" d=\"").unwrap()..]
                .split('"')
                .nth(1)
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            d(svg),
            d(&expected),
            "the QR code encodes the verification URL"
        );

        // Printing again: the same code, and no journal entry for a read.
        let before = app.journal().len();
        let again = text(app.get(&format!("/mandats/{mandate}/imprimer")).await).await;
        assert!(again.contains(&code.grouped()));
        assert_eq!(app.journal().len(), before);
        app.stop().await;
    }
}

/// The print page of a mandate given under the legal text `version`, by an aidant of its
/// structure.
async fn print_under(app: &TestApp, version: &str) -> reqwest::Response {
    let aidant = app.with_aidant(EMAIL, &["org-a"]);
    let (_, mandate) = app.with_mandate_under(
        version,
        &aidant,
        "org-a",
        "Jean",
        "DURAND",
        &[Demarche::Logement],
    );
    app.sign_in(EMAIL).await;
    app.get(&format!("/mandats/{mandate}/imprimer")).await
}

#[actix_web::test]
async fn an_old_mandate_prints_with_its_own_legal_text() {
    for app in TestApp::each().await {
        let html = text(print_under(&app, "2025-01").await).await;
        assert!(html.contains("texte de la version 2025-01"), "{html}");
        assert!(!html.contains("texte de la version 2026-01"));
        assert!(
            !html.contains("Révocation à tout moment"),
            "a section only the 2026-01 text has"
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_mandate_whose_legal_text_is_missing_is_not_printed_with_another() {
    for app in TestApp::each().await {
        let res = print_under(&app, "1999-01").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = text(res).await;
        assert!(
            html.contains("MND030") && html.contains("1999-01"),
            "{html}"
        );
        assert!(!html.contains("texte de la version"));
        app.stop().await;
    }
}

#[actix_web::test]
async fn another_structures_mandate_is_not_printed_and_the_attempt_journaled() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        let (_, mandate) =
            app.with_mandate(&aidant, "org-a", "Angela", "DUBOIS", &[Demarche::Social]);
        let other = "dominique.leroy@exemple.fr";
        app.with_aidant(other, &["org-b"]);
        app.sign_in(other).await;
        let res = app.get(&format!("/mandats/{mandate}/imprimer")).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let html = text(res).await;
        assert!(html.contains("MND021"));
        assert!(!html.contains("DUBOIS") && !html.contains("Angela"));
        let denied = app
            .journal()
            .into_iter()
            .filter(|e| e["action"] == "access.denied")
            .find(|e| e["target"] == mandate.as_str())
            .expect("the refusal is journaled");
        assert_eq!(denied["details"]["reason"], "mandate_of_another_structure");

        // Without a session, the sign-in page, not the mandate.
        let anonymous = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = anonymous
            .get(app.url(&format!("/mandats/{mandate}/imprimer")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_mandate_from_before_codes_gets_one_at_its_first_print_journaled_once() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        let (_, mandate) =
            app.with_mandate(&aidant, "org-a", "Angela", "DUBOIS", &[Demarche::Social]);
        app.db
            .execute_raw(&format!(
                "DELETE FROM mandate_verifications WHERE mandate_id = '{mandate}'"
            ))
            .unwrap();
        app.sign_in(EMAIL).await;
        let created = |app: &TestApp| {
            app.journal_actions()
                .iter()
                .filter(|a| *a == "mandate.verification_code_created")
                .count()
        };
        let first = text(app.get(&format!("/mandats/{mandate}/imprimer")).await).await;
        assert_eq!(created(&app), 1);
        let code = code_of(&app, &mandate);
        assert!(first.contains(&code.grouped()));
        let second = text(app.get(&format!("/mandats/{mandate}/imprimer")).await).await;
        assert!(second.contains(&code.grouped()));
        assert_eq!(created(&app), 1);
        app.stop().await;
    }
}

/// Everything that would tell who the aidé is, none of which the public page may show.
fn personal_data(app: &TestApp, usager: &ac_mandates::UsagerId) -> Vec<String> {
    let conn = &mut *app.db.db.conn().unwrap();
    let stored = usagers::get(conn, usager).unwrap();
    vec![
        stored.identity.given_name.clone(),
        stored.identity.family_name.clone(),
        "1962".into(),
        "24 août".into(),
        "24/08".into(),
        "angela.dubois".into(),
        usager.as_str().to_owned(),
        stored.subject.clone(),
    ]
}

#[actix_web::test]
async fn the_public_page_shows_valid_expired_and_revoked_without_personal_data() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        let (usager, mandate) = app.with_mandate(
            &aidant,
            "org-a",
            "Angela",
            "DUBOIS",
            &[Demarche::Social, Demarche::Logement],
        );
        let code = code_of(&app, &mandate);
        let public = format!("/verification/{}", code.as_str());

        // No sign-in needed: this client has no session.
        let res = app.get(&public).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        let html = text(res).await;
        assert!(
            html.contains("Ce mandat est <strong>Valide</strong>"),
            "{html}"
        );
        assert!(html.contains("Structure org-a"));
        assert!(html.contains("Social - Santé") && html.contains("Logement"));
        assert_eq!(html.matches("<td>en cours</td>").count(), 2);
        assert!(html.contains("22 novembre 2026") && html.contains("22 novembre 2027"));
        for personal in personal_data(&app, &usager) {
            assert!(!html.contains(&personal), "{personal} shown:\n{html}");
        }
        // Typed as people do: lower case, in groups.
        let typed = app
            .get(&format!(
                "/verification?code={}",
                code.grouped().to_lowercase()
            ))
            .await;
        assert_eq!(typed.status(), StatusCode::SEE_OTHER);
        assert_eq!(typed.headers()["location"], public.as_str());

        // Expired: one year later.
        app.clock.advance(Duration::days(366));
        let html = text(app.get(&public).await).await;
        assert!(
            html.contains("Ce mandat est <strong>Expiré</strong>"),
            "{html}"
        );
        assert_eq!(html.matches("<td>expirée</td>").count(), 2);

        // Revoked: another mandate, every démarche revoked.
        app.clock.advance(Duration::days(-366));
        let (other_usager, other) =
            app.with_mandate(&aidant, "org-a", "Jean", "DURAND", &[Demarche::Transports]);
        app.revoke(&aidant, &other);
        let other_code = code_of(&app, &other);
        let html = text(
            app.get(&format!("/verification/{}", other_code.as_str()))
                .await,
        )
        .await;
        assert!(
            html.contains("Ce mandat est <strong>Révoqué</strong>"),
            "{html}"
        );
        assert!(html.contains("<td>révoquée</td>"));
        for personal in personal_data(&app, &other_usager) {
            assert!(!html.contains(&personal), "{personal} shown:\n{html}");
        }
        app.stop().await;
    }
}

#[actix_web::test]
async fn unknown_and_malformed_codes_get_the_same_french_404() {
    for app in TestApp::each().await {
        let form = app.get("/verification").await;
        assert_eq!(form.status(), StatusCode::OK);
        let html = text(form).await;
        assert!(html.contains("<label class=\"fr-label\" for=\"code\">"));

        let unknown = VerificationCode::from_random([0x42; 20]);
        let mut bodies = Vec::new();
        for path in [
            format!("/verification/{}", unknown.as_str()),
            "/verification/pas-un-code".to_owned(),
            format!("/verification/{}", "U".repeat(32)),
        ] {
            let res = app.get(&path).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
            let html = text(res).await;
            assert!(
                html.contains("Aucun mandat ne correspond à ce code"),
                "{html}"
            );
            bodies.push(html);
        }
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "the page says nothing about why"
        );

        // A malformed code typed in the form: shown again, the error tied to the field.
        let res = app.get("/verification?code=ABC").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = text(res).await;
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("aria-describedby=\"code-aide code-erreur\""));
        assert!(html.contains("id=\"code-erreur\""));
        assert!(html.contains("value=\"ABC\""));
        app.stop().await;
    }
}

#[actix_web::test]
async fn lookups_are_rate_limited_per_client_ip() {
    for db in TestDatabase::each().unwrap() {
        let mut settings = test_settings();
        settings.mandates.verification_lookups_per_ip = 3;
        let app = TestApp::spawn(db, settings).await;
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        let (_, mandate) =
            app.with_mandate(&aidant, "org-a", "Angela", "DUBOIS", &[Demarche::Social]);
        let valid = format!("/verification/{}", code_of(&app, &mandate).as_str());
        // Guesses count like real lookups.
        for path in ["/verification/pas-un-code", &valid, &valid] {
            assert_ne!(app.get(path).await.status(), StatusCode::TOO_MANY_REQUESTS);
        }
        for _ in 0..2 {
            let res = app.get(&valid).await;
            assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
            let html = text(res).await;
            assert!(html.contains("Trop de vérifications") && html.contains("MND032"));
            assert!(!html.contains("Structure org-a"));
        }
        let refusals: Vec<_> = app
            .journal()
            .into_iter()
            .filter(|e| e["details"]["limit"] == "verification_per_ip")
            .collect();
        assert_eq!(refusals.len(), 1, "the first refusal of the window only");
        assert_eq!(refusals[0]["action"], "access.denied");

        // The next window lets the same address look again.
        app.clock.advance(Duration::minutes(11));
        assert_eq!(app.get(&valid).await.status(), StatusCode::OK);
        app.stop().await;
    }
}

/// A year after its end the retention job deletes the mandate; its printed code then says so,
/// rather than « inconnu », and still shows nothing about the person.
#[actix_web::test]
async fn a_code_of_a_mandate_deleted_at_the_end_of_its_retention_says_so() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        let (usager, mandate) =
            app.with_mandate(&aidant, "org-a", "Angela", "DUBOIS", &[Demarche::Social]);
        let personal = personal_data(&app, &usager);
        let code = code_of(&app, &mandate);
        let public = format!("/verification/{}", code.as_str());

        // Expired, and kept a year: still shown.
        app.clock.advance(Duration::days(365 + 364));
        ac_web::retention::run_once(&app.state, "test-node").unwrap();
        assert_eq!(app.get(&public).await.status(), StatusCode::OK);

        app.clock.advance(Duration::days(2));
        let outcome = ac_web::retention::run_once(&app.state, "test-node").unwrap();
        assert_eq!(outcome.mandates, 1, "{outcome:?}");
        let res = app.get(&public).await;
        assert_eq!(res.status(), StatusCode::GONE);
        let html = text(res).await;
        assert!(
            html.contains("Ce mandat n&#x27;existe plus (durée de conservation écoulée)")
                || html.contains("Ce mandat n'existe plus (durée de conservation écoulée)"),
            "{html}"
        );
        for personal in personal {
            assert!(!html.contains(&personal), "{personal} shown");
        }
        // A code never given is still « inconnu ».
        let unknown = VerificationCode::from_random([0x42; 20]);
        let res = app
            .get(&format!("/verification/{}", unknown.as_str()))
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        app.stop().await;
    }
}
