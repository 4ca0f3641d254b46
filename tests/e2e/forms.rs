//! Every state-changing form refuses a request without its CSRF token or with a wrong one
//! (403 `AUTH001`), and nothing changes. One table of forms; each is also submitted with its
//! token afterwards, so the refusal is the token's and not a broken form's. Each test runs on
//! SQLite and, when AC_TEST_DATABASE_URL is set, PostgreSQL.

use ac_e2e::{TestApp, between, extract_csrf};
use reqwest::StatusCode;

const REFERENT: &str = "referente@mediatheque.exemple.fr";
const COLLEAGUE: &str = "collegue@mediatheque.exemple.fr";
const STRUCTURE: &str = "mediatheque";

/// What a refused form must leave as it was.
fn snapshot(app: &TestApp) -> Vec<i64> {
    [
        "audit_pending",
        "aidants",
        "totp_devices",
        "organisation_demarches",
        "mandates",
        "auth_sessions",
        "auth_sign_in_links",
    ]
    .iter()
    .map(|t| app.count_rows(t))
    .collect()
}

/// Posts `fields` with no token and with a wrong one: both refused with `AUTH001`, nothing
/// changed.
async fn refused_without_its_token(app: &TestApp, path: &str, fields: &[(&str, &str)]) {
    for token in ["", "jeton-d-un-autre-site"] {
        let before = snapshot(app);
        let mut form = fields.to_vec();
        form.push(("csrf", token));
        let res = app.post_form(path, &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} with {token:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains("AUTH001"), "{path} with {token:?}: {body}");
        assert_eq!(
            snapshot(app),
            before,
            "{path} with {token:?} changed something"
        );
    }
}

/// Posts `fields` with the right token: not refused as a forgery (a rule may still refuse it).
async fn accepted_with_its_token(app: &TestApp, path: &str, fields: &[(&str, &str)], csrf: &str) {
    let mut form = fields.to_vec();
    form.push(("csrf", csrf));
    let res = app.post_form(path, &form).await;
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_ne!(
        status,
        StatusCode::FORBIDDEN,
        "{path} refused with its own token"
    );
    assert!(
        !body.contains("AUTH001"),
        "{path} refused with its own token"
    );
}

#[actix_web::test]
async fn every_form_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing() {
    for app in TestApp::each().await {
        let referent = app.with_aidant(REFERENT, &[STRUCTURE]);
        let colleague = app.with_aidant(COLLEAGUE, &[STRUCTURE]);
        app.db
            .execute_raw(&format!(
                "UPDATE aidant_organisations SET is_referent = TRUE WHERE aidant_id = '{referent}'"
            ))
            .unwrap();

        // Before any session: the link's confirmation (double-submit token).
        assert_eq!(app.request_link(REFERENT).await.status(), StatusCode::OK);
        let link = app.wait_for_link(1).await;
        let csrf = app
            .csrf_of(&format!("/connexion/lien/{}", link.expose()))
            .await;
        let fields = [("token", link.expose())];
        refused_without_its_token(&app, "/connexion/lien", &fields).await;
        // The link was not used up: it still opens, with the right token.
        app.open_link(link.expose()).await;

        // The code page (the sign-in's stage session).
        let csrf_code = app.csrf_of("/connexion/code").await;
        let code = app.totp_now();
        let fields = [("code", code.as_str())];
        refused_without_its_token(&app, "/connexion/code", &fields).await;
        accepted_with_its_token(&app, "/connexion/code", &fields, &csrf_code).await;
        assert_ne!(csrf, csrf_code);

        // Signed in: the step-up, the mandate consent, the référent's forms.
        let space = app.get("/espace").await.text().await.unwrap();
        let csrf = extract_csrf(&space);
        app.next_totp_step();
        let code = app.totp_now();
        let fields = [("code", code.as_str()), ("suite", "/espace")];
        refused_without_its_token(&app, "/connexion/verification", &fields).await;
        accepted_with_its_token(&app, "/connexion/verification", &fields, &csrf).await;

        let recap = app.identified("0").await;
        let consent = between(&recap, "name=\"token\" value=\"", "\"");
        app.next_totp_step();
        let code = app.totp_now();
        let fields = [
            ("token", consent.as_str()),
            ("accord", "oui"),
            ("code", code.as_str()),
        ];
        refused_without_its_token(&app, "/mandats/accord", &fields).await;
        accepted_with_its_token(&app, "/mandats/accord", &fields, &csrf).await;

        let own = format!("/referent/{STRUCTURE}");
        let colleague_page = format!("{own}/aidants/{colleague}");
        let device = {
            let conn = &mut *app.db.db.conn().unwrap();
            ac_storage::totp_devices::list_for_aidant(conn, &colleague)
                .unwrap()
                .first()
                .unwrap()
                .id
                .clone()
        };
        let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                format!("{own}/demarches"),
                vec![("demarche", "social"), ("demarche", "logement")],
            ),
            (
                format!("{own}/renouvellement"),
                vec![("identification", "non")],
            ),
            (
                format!("{own}/aidants/nouveau"),
                vec![
                    ("email", "nouvelle@mediatheque.exemple.fr"),
                    ("first_name", "Nouvelle"),
                    ("last_name", "Aidante"),
                    ("profession", "Médiatrice"),
                ],
            ),
            (format!("{colleague_page}/deverrouiller"), vec![]),
            (format!("{colleague_page}/application"), vec![]),
            (
                format!("{colleague_page}/carte"),
                vec![("serial", "CARTE-0001"), ("reason", "perte")],
            ),
            (
                format!("{colleague_page}/retirer"),
                vec![("device", device.as_str()), ("reason", "perte")],
            ),
            (format!("{colleague_page}/desactiver"), vec![]),
        ];
        for (path, fields) in &forms {
            refused_without_its_token(&app, path, fields).await;
        }
        // The référent's own forms work with the token (the card form needs an imported card,
        // so it is left out of this half).
        for (path, fields) in forms.iter().filter(|(p, _)| !p.ends_with("/carte")) {
            accepted_with_its_token(&app, path, fields, &csrf).await;
        }
        app.stop().await;
    }
}
