//! Renewing a mandate: choices pre-filled (only démarches still allowed), the same
//! consent steps, re-identification of the same person when the structure asks for it (its
//! default), or none when its setting says so; one mandate per consent; the old authorizations
//! superseded; the consent's details in the journal. Each test runs on SQLite and, when
//! AC_TEST_DATABASE_URL is set, PostgreSQL.

use ac_e2e::{Started, TestApp, extract_csrf, links, location};
use ac_mandates::{Demarche, OrganisationId};
use ac_storage::journal::AuditContext;
use ac_storage::organisations;
use reqwest::StatusCode;
use serde_json::Value;

const EMAIL: &str = "camille.martin@exemple.fr";

fn mandates(app: &TestApp) -> i64 {
    app.count_rows("mandates")
}

/// org-a stops allowing `argent`.
fn withdraw_argent(app: &TestApp) {
    let allowed = Demarche::ALL
        .into_iter()
        .filter(|d| *d != Demarche::Argent)
        .collect();
    organisations::set_allowed_demarches(
        &mut app.db.db.conn().unwrap(),
        &OrganisationId::new("org-a"),
        &allowed,
        &AuditContext::cli(),
        app.clock_now(),
    )
    .unwrap();
}

/// From the renewal's aidé's screen, for `social` over one year.
async fn renew(app: &TestApp, mandate: &str) -> Started {
    app.press_on_aide_screen(
        &format!("{mandate}/renouveler/resume?demarche=social&duree=365"),
        &format!("{mandate}/renouveler"),
        &["social"],
        "365",
    )
    .await
}

fn created(app: &TestApp) -> Vec<Value> {
    app.journal()
        .into_iter()
        .filter(|e| e["action"] == "mandate.created")
        .collect()
}

#[actix_web::test]
async fn a_renewal_with_the_same_person_identified_again_supersedes_the_old_mandate() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let old = app.mandate_through_journey("0").await;
        let old_id = old.trim_start_matches("/mandats/").to_owned();
        let page = app.get(&old).await.text().await.unwrap();
        assert!(links(&page, "/mandats/").contains(&format!("{old}/renouveler")));

        // Pre-filled from the old mandate, without the démarche the structure withdrew.
        withdraw_argent(&app);
        let res = app.get(&format!("{old}/renouveler")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let choices = res.text().await.unwrap().replace("&#x2F;", "/");
        assert!(choices.contains("Renouveler le mandat"));
        assert!(
            choices.contains("name=\"demarche\" value=\"social\" checked"),
            "{choices}"
        );
        assert!(
            !choices.contains("value=\"argent\""),
            "withdrawn: not offered"
        );
        assert!(choices.contains("value=\"365\" required checked"));
        assert!(choices.contains(&format!("action=\"/mandats/{old_id}/renouveler/resume\"")));

        // The aidé's screen, then FranceConnect (the structure's default).
        let started = renew(&app, &old).await;
        assert!(started.html.contains("renouvelle"));
        assert!(
            started
                .html
                .contains("Je m&#x27;identifie avec FranceConnect")
                || started.html.contains("Je m'identifie avec FranceConnect")
        );
        assert!(
            started.csp.contains(&app.base_url),
            "form-action to the provider"
        );
        assert!(
            started.next.contains("/demo/franceconnect/authorize?"),
            "{}",
            started.next
        );
        let recap = app.identify(&started.next, "0").await;
        assert!(
            recap.contains("renouvelle") && recap.contains("Identité confirmée par FranceConnect")
        );
        assert!(
            !recap.contains(&old_id),
            "the mandate renewed is not in the form"
        );

        let res = app.give_consent(&recap).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let new = location(&res);
        assert_ne!(new, old);
        // A double tap: still one new mandate.
        let again = app.give_consent(&recap).await;
        assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again.text().await.unwrap().contains("MND020"));
        assert_eq!(mandates(&app), 2);

        let old_page = app.get(&old).await.text().await.unwrap();
        assert!(
            old_page.contains("révoquée"),
            "social superseded: {old_page}"
        );
        let new_page = app.get(&new).await.text().await.unwrap();
        assert!(new_page.contains("Social - Santé") && new_page.contains("en cours"));
        assert!(!new_page.contains("Argent"));

        let journal = app.journal();
        let entry = created(&app).pop().unwrap();
        assert_eq!(entry["details"]["renewal_of"], old_id.as_str());
        assert_eq!(entry["details"]["consent"], "aide_on_screen");
        assert_eq!(entry["details"]["identification"], "franceconnect");
        assert_eq!(entry["details"]["demarches"], "social");
        assert!(
            journal
                .iter()
                .any(|e| e["action"] == "mandate.renewed" && e["target"] == old_id.as_str())
        );
        assert!(
            journal
                .iter()
                .any(|e| e["action"] == "authorization.superseded")
        );
        // The first mandate's own entry says it came from a fresh identification, too.
        assert_eq!(
            created(&app)[0]["details"]["identification"],
            "franceconnect"
        );
        assert!(!serde_json::to_string(&journal).unwrap().contains("DUBOIS"));
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_renewal_where_someone_else_identifies_is_refused_and_journaled() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let old = app.mandate_through_journey("0").await;
        let started = renew(&app, &old).await;
        let callback = app.at_provider(&started.next, ("identity", "1")).await;
        let res = app.return_from_provider(&callback).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("MND034") && html.contains("pas celle du mandat"),
            "{html}"
        );
        assert!(!html.contains("Je donne mon accord"), "no recap");
        assert_eq!(mandates(&app), 1);
        let refused = app
            .journal()
            .into_iter()
            .find(|e| e["details"]["reason"] == "renewal_other_person")
            .expect("journaled");
        assert_eq!(refused["action"], "access.denied");
        assert_eq!(refused["target"], old.trim_start_matches("/mandats/"));
        assert_ne!(refused["usager"], refused["details"]["identified"]);
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_renewal_without_identification_when_the_structure_says_so() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        // The aidant is org-a's référent: the setting is changed in the console, journaled.
        {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!(
                "UPDATE aidant_organisations SET is_referent = TRUE WHERE aidant_id = '{aidant}'"
            ))
            .execute(&mut *app.db.db.conn().unwrap())
            .unwrap();
        }
        app.sign_in(EMAIL).await;
        let old = app.mandate_through_journey("0").await;
        let console = app.get("/referent/org-a").await.text().await.unwrap();
        assert!(
            console.contains(
                "id=\"renouvellement-oui\" name=\"identification\" value=\"oui\" checked"
            )
        );
        let csrf = extract_csrf(&console);
        let res = app
            .post_form(
                "/referent/org-a/renouvellement",
                &[("csrf", &csrf), ("identification", "peut-etre")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .post_form(
                "/referent/org-a/renouvellement",
                &[("csrf", &csrf), ("identification", "non")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let changed = app
            .journal()
            .into_iter()
            .rfind(|e| e["action"] == "organisation.updated")
            .unwrap();
        assert_eq!(
            changed["details"]["renewal_requires_identification"],
            "false"
        );
        assert_eq!(changed["actor"]["id"], aidant.as_str());

        let started = renew(&app, &old).await;
        assert!(started.html.contains("Continuer : le récapitulatif"));
        assert!(!started.html.contains("FranceConnect avec"));
        let recap = started.answer.expect("straight to the recap");
        assert!(recap.contains("Je donne mon accord"));
        assert!(recap.contains("Renouvellement sans nouvelle identification"));
        // A renewal's consent waits for the three questions too; give_consent
        // answers them first.
        assert!(!recap.contains("action=\"/mandats/accord\""), "{recap}");
        assert!(recap.contains("Répondre aux 3 questions"));
        let res = app.give_consent(&recap).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(mandates(&app), 2);
        let entry = created(&app).pop().unwrap();
        assert_eq!(entry["details"]["identification"], "not_required");
        assert_eq!(entry["details"]["comprehension"], "passed");
        assert_eq!(entry["details"]["comprehension_tries"], "1");
        assert_eq!(entry["details"]["consent"], "aide_on_screen");
        assert_eq!(
            entry["details"]["renewal_of"],
            old.trim_start_matches("/mandats/")
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn forced_or_foreign_renewals_are_refused() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let old = app.mandate_through_journey("0").await;

        // A démarche the structure withdrew, forced into the form: refused before anything.
        withdraw_argent(&app);
        let screen = app
            .get(&format!(
                "{old}/renouveler/resume?demarche=social&duree=365"
            ))
            .await
            .text()
            .await
            .unwrap();
        let csrf = extract_csrf(&screen);
        let res = app
            .post_form(
                &format!("{old}/renouveler"),
                &[("csrf", &csrf), ("demarche", "argent"), ("duree", "365")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("MND035"));
        // No CSRF token, an unknown démarche, no choice: refused too.
        let res = app
            .post_form(
                &format!("{old}/renouveler"),
                &[("demarche", "social"), ("duree", "365")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));
        let res = app
            .post_form(
                &format!("{old}/renouveler"),
                &[("csrf", &csrf), ("demarche", "loterie"), ("duree", "365")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .post_form(
                &format!("{old}/renouveler"),
                &[("csrf", &csrf), ("duree", "365")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.count_rows("franceconnect_logins"), 0);
        assert_eq!(app.count_rows("mandate_consents"), 0);

        // Another structure's aidant, by URL: 403, journaled.
        let other = "dominique.leroy@exemple.fr";
        app.with_aidant(other, &["org-b"]);
        app.next_totp_step();
        app.sign_in(other).await;
        let before = app
            .journal_actions()
            .iter()
            .filter(|a| *a == "access.denied")
            .count();
        for path in [
            format!("{old}/renouveler"),
            format!("{old}/renouveler/resume?demarche=social&duree=365"),
        ] {
            let res = app.get(&path).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
            assert!(res.text().await.unwrap().contains("MND021"));
        }
        let csrf = extract_csrf(&app.get("/espace").await.text().await.unwrap());
        let res = app
            .post_form(
                &format!("{old}/renouveler"),
                &[("csrf", &csrf), ("demarche", "social"), ("duree", "365")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("MND021"));
        let after = app
            .journal_actions()
            .iter()
            .filter(|a| *a == "access.denied")
            .count();
        assert_eq!(after, before + 3);
        assert_eq!(mandates(&app), 1);
        app.stop().await;
    }
}

/// After `make run`: a mandate of the demonstration pilot is renewed through the demonstration
/// FranceConnect, the person choosing themselves there (their pseudonym is the one `demo load`
/// gave them), instead of being refused as someone else (MND034).
#[actix_web::test]
async fn a_demo_pilot_mandate_is_renewed_through_the_demo_franceconnect() {
    use ac_storage::schema::{aidants, mandates, usagers};
    use diesel::prelude::*;
    for app in TestApp::each().await {
        let (mandate, email): (String, String) = {
            let conn = &mut *app.db.db.conn().unwrap();
            ac_demo::load(
                conn,
                &app.state.auth.keys,
                &app.state.franceconnect.demo_pseudonyms().unwrap(),
                &AuditContext::cli(),
                app.clock_now(),
            )
            .unwrap();
            mandates::table
                .inner_join(usagers::table.on(usagers::id.eq(mandates::usager_id)))
                .inner_join(aidants::table.on(aidants::id.eq(mandates::created_by)))
                .filter(usagers::family_name.eq("DUBOIS"))
                .select((mandates::id, aidants::email))
                .first(conn)
                .unwrap()
        };
        app.sign_in_on(&email, ac_demo::DEMO_TOTP_SEED).await;
        let old = format!("/mandats/{mandate}");
        let started = renew(&app, &old).await;
        // Angela DUBOIS is the demonstration provider's first person.
        assert!(ac_demo_idp::IDENTITIES[0].family_name == "DUBOIS");
        let callback = app.at_provider(&started.next, ("identity", "0")).await;
        let recap = app.return_from_provider(&callback).await;
        assert_eq!(recap.status(), StatusCode::OK, "not MND034");
        let recap = recap.text().await.unwrap();
        assert!(
            recap.contains("renouvelle") && recap.contains("DUBOIS"),
            "{recap}"
        );
        assert!(!recap.contains("MND034"));
    }
}
