//! Identifying the aidé through the FranceConnect-style demonstration provider, as a browser
//! would: every redirect followed by hand, the provider's choice page submitted like a person.

use ac_e2e::TestApp;
use reqwest::StatusCode;

const EMAIL: &str = "camille.martin@exemple.fr";

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).unwrap() + start.len();
    let to = text[from..].find(end).unwrap() + from;
    text[from..to].to_owned()
}

/// Starts an identification for the social and argent démarches over one year; returns the
/// provider's authorize URL.
async fn start(app: &TestApp) -> String {
    let page = app
        .get("/mandats/identification?demarche=social&demarche=argent&duree=365")
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains(&format!("form-action 'self' {}", app.base_url)),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Je m&#x27;identifie avec FranceConnect")
            || html.contains("Je m'identifie avec FranceConnect")
    );
    assert!(
        html.contains("surendettement"),
        "the argent warning is shown"
    );
    let csrf = ac_e2e::extract_csrf(&html);
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
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/demo/franceconnect/authorize?", app.base_url)),
        "{to}"
    );
    to
}

/// At the demonstration provider: choose a person (or cancel); returns our callback URL.
async fn at_provider(app: &TestApp, authorize: &str, choice: (&str, &str)) -> String {
    let page = app.client.get(authorize).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("DÉMONSTRATION"));
    let interaction = between(&html, "name=\"interaction\" value=\"", "\"");
    let res = app
        .client
        .post(format!(
            "{}/demo/franceconnect/authorize/choix",
            app.base_url
        ))
        .form(&[("interaction", interaction.as_str()), choice])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/mandats/franceconnect/retour?", app.base_url)),
        "{to}"
    );
    to
}

async fn usagers(app: &TestApp) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS n FROM usagers")
        .get_result::<Count>(&mut *app.db.db.conn().unwrap())
        .unwrap()
        .n
}

#[actix_web::test]
async fn the_aide_is_identified_stored_under_a_pseudonym_and_signed_out_of_franceconnect() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let authorize = start(&app).await;
        let callback = at_provider(&app, &authorize, ("identity", "0")).await;

        let res = app.client.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let logout = location(&res);
        assert!(
            logout.starts_with(&format!("{}/demo/franceconnect/session/end?", app.base_url)),
            "{logout}"
        );
        assert!(logout.contains("id_token_hint=") && logout.contains("state="));
        let res = app.client.get(&logout).send().await.unwrap();
        assert!(res.status().is_redirection());
        let back = location(&res);
        assert!(
            back.starts_with(&format!(
                "{}/mandats/franceconnect/deconnexion?state=",
                app.base_url
            )),
            "{back}"
        );
        let done = app.client.get(&back).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        let html = done.text().await.unwrap();
        assert!(
            html.contains("Personne identifiée")
                && html.contains("DUBOIS")
                && html.contains("Angela Claire Louise"),
            "{html}"
        );
        assert!(
            html.contains("Argent - Impôts - Consommation"),
            "the choices came back"
        );

        assert_eq!(usagers(&app).await, 1);
        let journal = app.journal();
        let identified = journal
            .iter()
            .find(|e| e["action"] == "usager.identified")
            .expect("journaled");
        assert_eq!(identified["actor"]["kind"], "aidant");
        assert_eq!(
            identified["usager"].as_str().unwrap().len(),
            64,
            "a keyed pseudonym, not the upstream sub"
        );
        assert!(
            !serde_json::to_string(&journal).unwrap().contains("DUBOIS"),
            "no personal data in the journal"
        );

        // The provider's return is single use: replaying it is refused and stores nothing more.
        let replay = app.client.get(&callback).send().await.unwrap();
        assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
        assert!(replay.text().await.unwrap().contains("OIDC011"));
        // So is the logout return.
        let replay = app.client.get(&back).send().await.unwrap();
        assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
        assert_eq!(usagers(&app).await, 1);
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_cancelled_identification_brings_the_aidant_back_with_the_choices_kept() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let authorize = start(&app).await;
        let callback = at_provider(&app, &authorize, ("cancel", "1")).await;
        assert!(callback.contains("error=access_denied"), "{callback}");
        let res = app.client.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("L&#x27;identification n&#x27;a pas abouti")
                || html.contains("L'identification n'a pas abouti"),
            "{html}"
        );
        assert!(
            html.contains("Social - Santé")
                && html.contains("Argent - Impôts - Consommation")
                && html.contains("1 an"),
            "choices kept"
        );
        assert!(
            html.contains("Je m&#x27;identifie avec FranceConnect")
                || html.contains("Je m'identifie avec FranceConnect"),
            "can start again"
        );
        assert_eq!(usagers(&app).await, 0);
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_return_without_state_or_from_another_browser_is_refused() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let authorize = start(&app).await;
        let callback = at_provider(&app, &authorize, ("identity", "1")).await;

        // Another browser, with no session: sent to sign in, nothing happens.
        let other = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = other.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/connexion");

        let code = between(&callback, "code=", "&");
        let res = app
            .get(&format!("/mandats/franceconnect/retour?code={code}"))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.text().await.unwrap().contains("OIDC010"));
        assert_eq!(usagers(&app).await, 0);

        // A form without its CSRF token starts nothing.
        let res = app
            .post_form(
                "/mandats/franceconnect",
                &[("demarche", "social"), ("duree", "365")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }
}
