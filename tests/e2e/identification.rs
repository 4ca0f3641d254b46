//! Identifying the aidé through the FranceConnect-style demonstration provider, as a browser
//! would: every redirect followed by hand, the provider's choice page submitted like a person.

use ac_e2e::{TestApp, between, location};
use reqwest::StatusCode;

const EMAIL: &str = "camille.martin@exemple.fr";

/// Starts an identification for the social and argent démarches over one year, checking the
/// aidé's screen; returns the provider's authorize URL.
async fn start(app: &TestApp) -> String {
    let started = app.start_identification(&["social", "argent"], "365").await;
    assert!(
        started
            .csp
            .contains(&format!("form-action 'self' {}", app.base_url)),
        "{}",
        started.csp
    );
    let html = started.html;
    assert!(
        html.contains("Je m&#x27;identifie avec FranceConnect")
            || html.contains("Je m'identifie avec FranceConnect")
    );
    assert!(
        html.contains("surendettement"),
        "the argent warning is shown"
    );
    assert!(html.contains("Structure org-a"), "who receives the mandate");
    assert!(
        html.contains("novembre 2027"),
        "the end, as a written date (365 days after 22 November 2026)"
    );
    assert!(html.contains("révoquer le mandat à tout moment"));
    started.next
}

fn usagers(app: &TestApp) -> i64 {
    app.count_rows("usagers")
}

#[actix_web::test]
async fn the_aide_is_identified_stored_under_a_pseudonym_and_signed_out_of_franceconnect() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let authorize = start(&app).await;
        let callback = app.at_provider(&authorize, ("identity", "0")).await;

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
            html.contains("Récapitulatif du mandat")
                && html.contains("DUBOIS")
                && html.contains("Angela Claire Louise"),
            "{html}"
        );
        assert!(html.contains("Je donne mon accord"));
        // The full text of the version signed is on the recap, closed until opened.
        let legal = ac_mandates::legal::legal_text(&app.state.settings.mandates.legal_text_version)
            .unwrap();
        let details = &html[html
            .find("<details class=\"ac-legal\">")
            .expect("the legal text")..];
        let details = &details[..details.find("</details>").unwrap()];
        for section in &legal.sections {
            assert!(
                details.contains(&section.heading.replace('\'', "&#x27;")),
                "{}",
                section.heading
            );
        }
        // The text comes before the consent, whose first step is the three questions.
        assert!(
            html.find("<details").unwrap()
                < html.find("action=\"/mandats/accord/questions\"").unwrap()
        );
        // The retention periods, from the version's own declaration, shown before the text.
        let kept = format!(
            "puis {} an après sa fin ou sa révocation",
            legal.retention.years_after_end
        );
        assert!(html.contains(&kept), "{kept}");
        assert!(html.contains(&format!("gardé {} ans", legal.retention.journal_years)));
        assert!(
            html.contains("Argent - Impôts - Consommation"),
            "the choices came back"
        );

        assert_eq!(usagers(&app), 1);
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
        assert_eq!(usagers(&app), 1);
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_cancelled_identification_brings_the_aidant_back_with_the_choices_kept() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let authorize = start(&app).await;
        let callback = app.at_provider(&authorize, ("cancel", "1")).await;
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
        assert_eq!(usagers(&app), 0);
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_return_without_state_or_from_another_browser_is_refused() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let authorize = start(&app).await;
        let callback = app.at_provider(&authorize, ("identity", "1")).await;

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
        assert_eq!(usagers(&app), 0);

        // A form without its CSRF token starts nothing.
        let res = app
            .post_form(
                "/mandats/franceconnect",
                &[("demarche", "social"), ("duree", "365")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));
        app.stop().await;
    }
}

fn mandates(app: &TestApp) -> i64 {
    app.count_rows("mandates")
}

#[actix_web::test]
async fn the_aide_consents_the_aidant_confirms_and_the_mandate_is_stored_once() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let new = app.get("/mandats/nouveau").await.text().await.unwrap();
        assert!(
            new.contains("name=\"demarche\" value=\"social\"") && new.contains("value=\"365\"")
        );
        let recap = app.identified("0").await;
        let csrf = ac_e2e::extract_csrf(&recap);
        let token = between(&recap, "name=\"token\" value=\"", "\"");
        app.next_totp_step();
        let code = app.totp_now();

        // The aidé did not tick the box: nothing is stored, the recap comes back with the reason.
        let res = app
            .post_form(
                "/mandats/accord",
                &[("csrf", &csrf), ("token", &token), ("code", &code)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains("doit cocher"));
        // The message is tied to the field it is about, and only to it.
        assert!(html.contains(
            "id=\"accord\" name=\"accord\" value=\"oui\" required aria-describedby=\"erreur\" aria-invalid=\"true\""
        ));
        assert!(html.contains("maxlength=\"6\" required>"), "{html}");
        // A wrong code: refused, nothing stored.
        let res = app
            .post_form(
                "/mandats/accord",
                &[
                    ("csrf", &csrf),
                    ("token", &token),
                    ("accord", "oui"),
                    ("code", "000000"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains(
            "maxlength=\"6\" required aria-describedby=\"erreur\" aria-invalid=\"true\""
        ));
        assert!(html.contains("value=\"oui\" required>"), "{html}");
        assert_eq!(mandates(&app), 0);

        let form = [
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("accord", "oui"),
            ("code", code.as_str()),
        ];
        let res = app.post_form("/mandats/accord", &form).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let mandate_url = location(&res);
        assert!(mandate_url.starts_with("/mandats/"), "{mandate_url}");
        let page = app.get(&mandate_url).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Social - Santé")
                && html.contains("Argent - Impôts - Consommation")
                && html.contains("en cours"),
            "{html}"
        );
        assert!(html.contains("DUBOIS"));

        // Submitted twice (a double tap on the tablet): one mandate.
        app.next_totp_step();
        let code = app.totp_now();
        let form = [
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("accord", "oui"),
            ("code", code.as_str()),
        ];
        let res = app.post_form("/mandats/accord", &form).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("MND020"));
        assert_eq!(mandates(&app), 1);

        let journal = app.journal_actions();
        assert!(
            journal
                .iter()
                .filter(|a| *a == "authorization.created")
                .count()
                == 2,
            "{journal:?}"
        );
        assert!(journal.contains(&"mandate.created".to_owned()));
        app.stop().await;
    }
}

#[actix_web::test]
async fn another_structures_mandate_is_refused_by_url_and_the_attempt_journaled() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let mandate_url = app.mandate_through_journey("2").await;

        let other = "dominique.leroy@exemple.fr";
        app.with_aidant(other, &["org-b"]);
        app.next_totp_step();
        app.sign_in(other).await;
        let res = app.get(&mandate_url).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("MND021"));
        assert!(app.journal_actions().contains(&"access.denied".to_owned()));
        app.stop().await;
    }
}

/// A démarche the structure does not allow is refused on the aidé's first screen and when the
/// button is pressed, before FranceConnect: nothing is stored, the aidé never signs in for it.
#[actix_web::test]
async fn a_demarche_the_structure_does_not_allow_is_refused_before_franceconnect() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        // The référent removed « argent » after the choice was made (or the address was edited).
        let only_social = std::collections::BTreeSet::from([ac_mandates::Demarche::Social]);
        ac_storage::organisations::set_allowed_demarches(
            &mut app.db.db.conn().unwrap(),
            &ac_mandates::OrganisationId::new("org-a"),
            &only_social,
            &ac_storage::journal::AuditContext::cli(),
            app.clock_now(),
        )
        .unwrap();
        let screen = app
            .get("/mandats/identification?demarche=social&demarche=argent&duree=365")
            .await;
        assert_eq!(screen.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = screen.text().await.unwrap();
        assert!(html.contains("MND002"), "{html}");
        let csrf = ac_e2e::extract_csrf(&html);
        let pressed = app
            .post_form(
                "/mandats/franceconnect",
                &[
                    ("csrf", csrf.as_str()),
                    ("demarche", "social"),
                    ("demarche", "argent"),
                    ("duree", "365"),
                ],
            )
            .await;
        assert_eq!(pressed.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            pressed
                .text()
                .await
                .unwrap()
                .contains("n&#x27;est pas permise")
        );
        assert_eq!(
            app.count_rows("franceconnect_logins"),
            0,
            "never sent to FranceConnect"
        );
        // The démarche it allows still goes to FranceConnect.
        let started = app.start_identification(&["social"], "365").await;
        assert!(started.next.contains("/demo/franceconnect/authorize?"));
        app.stop().await;
    }
}

/// Posts « Je refuse » / « Annuler » from a page holding the refusal form.
async fn refuse(app: &TestApp, page: &str, step: &str, by: &str) -> reqwest::Response {
    let csrf = ac_e2e::extract_csrf(page);
    let mut form = vec![
        ("csrf", csrf.clone()),
        ("etape", step.to_owned()),
        ("par", by.to_owned()),
    ];
    if step == "recapitulatif" {
        form.push(("token", between(page, "name=\"token\" value=\"", "\"")));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.post_form("/mandats/refus", &form).await
}

fn refusals(app: &TestApp) -> Vec<serde_json::Value> {
    app.journal()
        .into_iter()
        .filter(|e| e["action"] == "mandate.refused")
        .collect()
}

#[actix_web::test]
async fn a_refusal_on_the_recap_creates_nothing_forgets_the_identity_and_is_journaled() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let recap = app.identified("0").await;
        assert!(recap.contains(">Je refuse</button>") && recap.contains(">Annuler</button>"));
        assert_eq!(usagers(&app), 1);

        let res = refuse(&app, &recap, "recapitulatif", "usager").await;
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains("La personne accompagnée a refusé de donner mandat"));
        assert!(
            html.contains("FranceConnect pour ce mandat a été effacée"),
            "{html}"
        );
        assert!(
            html.contains("href=\"/mandats/nouveau\""),
            "what to do next"
        );
        // Nothing created, the identity fetched for this mandate forgotten.
        assert_eq!(mandates(&app), 0);
        assert_eq!(usagers(&app), 0);
        assert_eq!(app.count_rows("mandate_consents"), 0);
        // Journaled under the structure, without the person.
        let [refusal] = refusals(&app).try_into().unwrap();
        assert_eq!(refusal["details"]["step"], "recap");
        assert_eq!(refusal["details"]["refused_by"], "usager");
        assert!(refusal["usager"].is_null(), "{refusal}");
        let text = refusal.to_string();
        assert!(
            !text.contains("DUBOIS") && !text.contains("Angela"),
            "{text}"
        );
        assert!(app.journal().iter().any(
            |e| e["action"] == "usager.deleted" && e["details"]["reason"] == "consent_refused"
        ));

        // The recap's consent can no longer be given, nor the refusal repeated.
        let res = app.give_consent(&recap).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(mandates(&app), 0);
        let res = refuse(&app, &recap, "recapitulatif", "aidant").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("MND020"));
        assert_eq!(refusals(&app).len(), 1, "nothing journaled twice");
    }
}

#[actix_web::test]
async fn a_refusal_keeps_the_identity_of_a_person_with_mandates_and_cancels_before_franceconnect() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        app.mandate_through_journey("0").await;
        // A second mandate for the same person, cancelled by the aidant on the recap: the
        // identity stays for the mandate already given.
        let recap = app.identified("0").await;
        let res = refuse(&app, &recap, "recapitulatif", "aidant").await;
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains("Vous avez annulé la création du mandat"));
        assert!(html.contains("reste enregistrée"), "{html}");
        assert_eq!((usagers(&app), mandates(&app)), (1, 1));

        // Before FranceConnect: nobody identified, nothing received.
        let started = app.start_identification(&["social"], "365").await;
        assert!(
            started
                .html
                .contains("name=\"etape\" value=\"identification\"")
        );
        let res = refuse(&app, &started.html, "identification", "usager").await;
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("aucune donnée la concernant n&#x27;a été reçue")
                || html.contains("aucune donnée la concernant n'a été reçue"),
            "{html}"
        );
        let steps: Vec<_> = refusals(&app)
            .iter()
            .map(|e| {
                (
                    e["details"]["step"].clone(),
                    e["details"]["refused_by"].clone(),
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                (serde_json::json!("recap"), serde_json::json!("aidant")),
                (
                    serde_json::json!("identification"),
                    serde_json::json!("usager")
                )
            ]
        );

        // A tampered form: a clear refusal, nothing journaled.
        let csrf = ac_e2e::extract_csrf(&started.html);
        let res = app
            .post_form(
                "/mandats/refus",
                &[
                    ("csrf", &csrf),
                    ("etape", "identification"),
                    ("par", "voisin"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("MND036"));
        let res = app
            .post_form(
                "/mandats/refus",
                &[
                    ("csrf", "faux"),
                    ("etape", "identification"),
                    ("par", "usager"),
                ],
            )
            .await;
        assert!(res.status().is_client_error());
        assert_eq!(refusals(&app).len(), 2);
    }
}

#[actix_web::test]
async fn the_aide_reads_the_easy_to_read_text_and_the_journal_records_which_text_was_shown() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        // The full text by default.
        let recap = app.identified("0").await;
        assert!(recap.contains("Lire en facile à lire"), "{recap}");
        assert!(recap.contains("name=\"texte\" value=\"complet\""));
        let switch = |page: &str, texte: &str| {
            let csrf = ac_e2e::extract_csrf(page);
            let token = between(page, "name=\"token\" value=\"", "\"");
            let texte = texte.to_owned();
            let app = &app;
            async move {
                app.post_form(
                    "/mandats/accord/texte",
                    &[("csrf", &csrf), ("token", &token), ("texte", &texte)],
                )
                .await
            }
        };
        let res = switch(&recap, "facile").await;
        assert_eq!(res.status(), StatusCode::OK);
        let easy = res.text().await.unwrap();
        assert!(easy.contains("Le mandat, en facile à lire"), "{easy}");
        assert!(easy.contains("Vous pouvez arrêter le mandat quand vous voulez."));
        assert!(easy.contains("Le texte complet est celui qui compte"));
        assert!(easy.contains("Lire le texte complet"));
        // Back to the full text, and to the easy one again: nothing is written meanwhile.
        let full = switch(&easy, "complet").await.text().await.unwrap();
        assert!(full.contains("Lire le texte complet du mandat"));
        let easy = switch(&full, "facile").await.text().await.unwrap();
        assert_eq!(mandates(&app), 0);

        // Consent given on the easy-to-read page: recorded as such.
        let res = app.give_consent(&easy).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        // A second mandate consented on the full text.
        let recap = app.identified("1").await;
        assert_eq!(
            app.give_consent(&recap).await.status(),
            StatusCode::SEE_OTHER
        );
        let shown: Vec<_> = app
            .journal()
            .into_iter()
            .filter(|e| e["action"] == "mandate.created")
            .map(|e| e["details"]["text_shown"].clone())
            .collect();
        assert_eq!(
            shown,
            [serde_json::json!("easy_read"), serde_json::json!("full")]
        );

        // A consent that no longer exists cannot be switched.
        let res = switch(&easy, "complet").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
