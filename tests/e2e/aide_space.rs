//! The aidé's own space on both backends, in a browser of their own: sign-in through the
//! demonstration FranceConnect, « Mes mandats », the history with a proof that verifies
//! offline, revoking alone (refused at once for the aidant), another person's ids refused and
//! journaled, the idle limit, and the sign-out that closes FranceConnect too.

use ac_e2e::{TestApp, between, extract_csrf, location};
use ac_mandates::{AidantId, Demarche, OrganisationId};
use reqwest::StatusCode;
use std::sync::Arc;
use time::Duration;

const EMAIL: &str = "camille.martin@exemple.fr";

/// The person's own browser: its own cookies, redirects followed by hand.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
        .build()
        .unwrap()
}

/// Signs `person` (a demonstration identity's index) in to /mon-espace; returns the answer to
/// FranceConnect's return.
async fn sign_in(app: &TestApp, me: &reqwest::Client, person: &str) -> reqwest::Response {
    let entry = me.get(app.url("/mon-espace")).send().await.unwrap();
    assert_eq!(entry.status(), StatusCode::OK);
    let csp = entry.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains(&format!("form-action 'self' {}", app.base_url)),
        "{csp}"
    );
    let html = entry.text().await.unwrap();
    assert!(html.contains("FranceConnect"));
    let begun = me
        .post(app.url("/mon-espace/franceconnect"))
        .form(&[("csrf", extract_csrf(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(begun.status(), StatusCode::SEE_OTHER);
    let authorize = location(&begun);
    assert!(authorize.contains("prompt=login"), "{authorize}");
    assert!(
        authorize.contains("mon-espace%2Ffranceconnect%2Fretour"),
        "{authorize}"
    );
    let page = me
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let interaction = between(&page, "name=\"interaction\" value=\"", "\"");
    let chosen = me
        .post(app.url("/demo/franceconnect/authorize/choix"))
        .form(&[("interaction", interaction.as_str()), ("identity", person)])
        .send()
        .await
        .unwrap();
    let callback = location(&chosen);
    assert!(
        callback.starts_with(&app.url("/mon-espace/franceconnect/retour?")),
        "{callback}"
    );
    me.get(&callback).send().await.unwrap()
}

async fn html(me: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let res = me.get(url).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[actix_web::test]
async fn the_aide_signs_in_sees_their_mandates_and_history_revokes_alone_and_signs_out() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        app.mandate_through_journey("0").await;
        // Another person's mandate, in the same structure.
        let (_, other) = app.with_mandate(&aidant, "org-a", "Karim", "BENALI", &[Demarche::Social]);
        ac_web::audit_worker::run_once(&app.state, true).unwrap();

        let me = browser();
        let signed = sign_in(&app, &me, "0").await;
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&signed), "/mon-espace/mandats");
        assert_eq!(app.count_rows("aide_sessions"), 1);

        let (status, page) = html(&me, &app.url("/mon-espace/mandats")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Structure org-a"), "{page}");
        assert!(
            page.contains("Social - Santé") && page.contains("en cours"),
            "{page}"
        );
        assert!(page.contains("version 2026-01"));
        assert!(!page.contains(other.as_str()), "only their own mandates");
        let mandate = between(&page, "/mon-espace/mandats/", "/revoquer");

        // Everything done in their name, in plain words, with a proof that verifies offline.
        let (status, history) = html(&me, &app.url("/mon-espace/historique")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(history.contains("a créé un mandat pour vous"), "{history}");
        let seq = between(&history, "/mon-espace/historique/", "/preuve");
        let proof = me
            .get(app.url(&format!("/mon-espace/historique/{seq}/preuve")))
            .send()
            .await
            .unwrap();
        assert_eq!(proof.status(), StatusCode::OK);
        let bundle: ac_audit::InclusionBundle =
            serde_json::from_slice(&proof.bytes().await.unwrap()).unwrap();
        let verified = ac_audit::verify_bundle(&bundle, &[app.state.audit_key.verifier()]).unwrap();
        assert_eq!(verified.entry.action, ac_audit::Action::MandateCreated);

        // Another person's records: 404, journaled.
        let denied_before = app
            .journal_actions()
            .iter()
            .filter(|a| *a == "access.denied")
            .count();
        let (status, _) = html(
            &me,
            &app.url(&format!("/mon-espace/mandats/{}/revoquer", other.as_str())),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let other_entry = ac_storage::testing::count(
            &mut app.db.db.conn().unwrap(),
            "SELECT MAX(seq) AS n FROM audit_log WHERE action = 'mandate.created'",
        )
        .unwrap();
        if other_entry.to_string() != seq {
            let (status, _) = html(
                &me,
                &app.url(&format!("/mon-espace/historique/{other_entry}/preuve")),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let denied_after = app
            .journal_actions()
            .iter()
            .filter(|a| *a == "access.denied")
            .count();
        assert!(denied_after > denied_before, "journaled");

        // Revoking one démarche alone: confirmation, then effective at once for the aidant.
        let (status, confirm) = html(
            &me,
            &app.url(&format!(
                "/mon-espace/mandats/{mandate}/revoquer?demarche=social"
            )),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(confirm.contains("Je confirme"));
        let done = me
            .post(app.url(&format!("/mon-espace/mandats/{mandate}/revoquer")))
            .form(&[
                ("csrf", extract_csrf(&confirm)),
                ("demarche", "social".to_owned()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        assert!(
            done.text()
                .await
                .unwrap()
                .contains("Révocation enregistrée")
        );
        let usager = ac_storage::usagers::find_by_subject(
            &mut app.db.db.conn().unwrap(),
            app.journal()
                .iter()
                .find(|e| e["action"] == "authorization.revoked")
                .and_then(|e| e["usager"].as_str())
                .unwrap(),
        )
        .unwrap()
        .unwrap();
        let refused = ac_storage::mandates::can_act(
            &mut app.db.db.conn().unwrap(),
            &AidantId::new(aidant.as_str()),
            &OrganisationId::new("org-a"),
            &usager.id,
            Demarche::Social,
            app.clock_now(),
        )
        .unwrap();
        assert!(refused.is_err(), "the aidant can no longer act for social");
        let revoked = app
            .journal()
            .into_iter()
            .find(|e| e["action"] == "authorization.revoked")
            .unwrap();
        assert_eq!(revoked["actor"]["kind"], "usager", "the person themselves");
        assert_eq!(revoked["details"]["confirmation"], "usager_self");
        // The aidant who made the mandate is told, through the outbox, without a name.
        let told = ac_storage::testing::count(
            &mut app.db.db.conn().unwrap(),
            &format!(
                "SELECT COUNT(*) AS n FROM mail_outbox WHERE kind = 'revoked_by_person' AND recipient = '{EMAIL}' AND body_text LIKE '%Social - Santé%' AND body_text NOT LIKE '%DUBOIS%'"
            ),
        )
        .unwrap();
        assert_eq!(told, 1);
        // The référent's page of the structure shows it too, once the journal integrated it.
        {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!(
                "UPDATE aidant_organisations SET is_referent = TRUE WHERE aidant_id = '{aidant}'"
            ))
            .execute(&mut *app.db.db.conn().unwrap())
            .unwrap();
        }
        ac_web::audit_worker::run_once(&app.state, true).unwrap();
        let console = app.get("/referent/org-a").await.text().await.unwrap();
        let notice = between(
            &console,
            "Démarches arrêtées par les personnes elles-mêmes",
            "</section>",
        );
        assert!(
            notice.contains("Social - Santé") && notice.contains("l'entrée du journal"),
            "{console}"
        );
        assert!(!notice.contains("DUBOIS"), "no name in the notice");
        // A form without the session's token is refused.
        let forged = me
            .post(app.url(&format!("/mon-espace/mandats/{mandate}/revoquer")))
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);

        // Signing out closes the session here and at FranceConnect.
        let (_, page) = html(&me, &app.url("/mon-espace/mandats")).await;
        let out = me
            .post(app.url("/mon-espace/deconnexion"))
            .form(&[("csrf", extract_csrf(&page))])
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let logout = location(&out);
        assert!(
            logout.contains("/demo/franceconnect/session/end?"),
            "{logout}"
        );
        let back = location(&me.get(&logout).send().await.unwrap());
        assert!(
            back.starts_with(&app.url("/mon-espace/franceconnect/deconnexion?")),
            "{back}"
        );
        let (status, bye) = html(&me, &back).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            bye.contains("Votre session FranceConnect est fermée aussi"),
            "{bye}"
        );
        assert_eq!(app.count_rows("aide_sessions"), 0);
        let after = me.get(app.url("/mon-espace/mandats")).send().await.unwrap();
        assert_eq!(location(&after), "/mon-espace");

        // Fifteen minutes without a request end a session.
        assert_eq!(
            sign_in(&app, &me, "0").await.status(),
            StatusCode::SEE_OTHER
        );
        app.clock.advance(Duration::minutes(14));
        assert_eq!(
            me.get(app.url("/mon-espace/mandats"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        app.clock.advance(Duration::minutes(16));
        let idle = me.get(app.url("/mon-espace/mandats")).send().await.unwrap();
        assert_eq!(location(&idle), "/mon-espace");
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_person_without_a_mandate_is_told_so_and_nothing_is_created() {
    for app in TestApp::each().await {
        let usagers = app.count_rows("usagers");
        let me = browser();
        let answer = sign_in(&app, &me, "1").await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert!(answer.text().await.unwrap().contains("aucun mandat"));
        assert_eq!(app.count_rows("aide_sessions"), 0);
        assert_eq!(app.count_rows("usagers"), usagers, "nothing created");
        let (status, _) = html(&me, &app.url("/mon-espace/mandats")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_person_chooses_their_receipts_and_is_told_when_they_revoke_alone() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let mandate_page = app.mandate_through_journey("0").await;
        let me = browser();
        sign_in(&app, &me, "0").await;

        let (status, page) = html(&me, &app.url("/mon-espace/avis")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("À chaque utilisation") && page.contains("Un résumé par semaine"));
        let csrf = extract_csrf(&page);
        let save = |form: Vec<(&'static str, String)>| {
            let me = me.clone();
            let url = app.url("/mon-espace/avis");
            async move { me.post(url).form(&form).send().await.unwrap() }
        };
        // Receipts need an address; a malformed one is refused.
        let res = save(vec![("csrf", csrf.clone()), ("choix", "each_use".into())]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = save(vec![
            ("csrf", csrf.clone()),
            ("choix", "each_use".into()),
            ("courriel", "pas une adresse".into()),
        ])
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = save(vec![("csrf", "forged".into()), ("choix", "never".into())]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = save(vec![
            ("csrf", csrf.clone()),
            ("choix", "each_use".into()),
            ("courriel", "moi.meme@exemple.fr".into()),
        ])
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let page = res.text().await.unwrap();
        assert!(page.contains("m•••@exemple.fr"), "{page}");
        assert!(!page.contains("moi.meme@exemple.fr"), "shown masked only");
        let changed = app
            .journal()
            .into_iter()
            .find(|e| e["action"] == "usager.notifications_changed")
            .unwrap();
        assert_eq!(changed["details"]["choice"], "each_use");
        assert!(
            !changed.to_string().contains("moi.meme"),
            "no address in the journal"
        );

        // The aidant sees the choice and the address masked, never in full.
        let mandate_id = ac_mandates::MandateId::new(mandate_page.trim_start_matches("/mandats/"));
        let usager = ac_storage::mandates::get(&mut app.db.db.conn().unwrap(), &mandate_id)
            .unwrap()
            .usager_id;
        let res = app.get(&format!("/usagers/{}", usager.as_str())).await;
        assert_eq!(res.status(), StatusCode::OK);
        let seen = res.text().await.unwrap();
        assert!(
            seen.contains("À chaque utilisation (m•••@exemple.fr)"),
            "{seen}"
        );
        assert!(!seen.contains("moi.meme@exemple.fr"));

        // Revoking alone: the receipt goes to the address just given.
        let mandate = mandate_page.trim_start_matches("/mandats/").to_owned();
        let (_, confirm) = html(
            &me,
            &app.url(&format!("/mon-espace/mandats/{mandate}/revoquer")),
        )
        .await;
        let res = me
            .post(app.url(&format!("/mon-espace/mandats/{mandate}/revoquer")))
            .form(&[("csrf", extract_csrf(&confirm))])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(ac_web::receipts::jobs::run_once(&app.state).unwrap(), 1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let state = app.state.clone();
        std::thread::spawn(move || {
            ac_web::mail_worker::run_once(&state, &runtime, "node-test").unwrap()
        })
        .join()
        .unwrap();
        let receipt = app
            .sent_mail()
            .into_iter()
            .find(|m| m.to == "moi.meme@exemple.fr")
            .unwrap();
        assert!(
            receipt.subject.contains("Votre mandat a été arrêté"),
            "{}",
            receipt.subject
        );
        assert!(receipt.text.contains("Qui : vous-même"), "{}", receipt.text);
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_aide_prints_their_own_copy_and_only_theirs() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        app.mandate_through_journey("0").await;
        let (_, other) = app.with_mandate(&aidant, "org-a", "Karim", "BENALI", &[Demarche::Social]);
        let me = browser();

        // Not signed in: back to the entry page.
        let res = me
            .get(app.url(&format!("/mon-espace/mandats/{}/imprimer", other.as_str())))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/mon-espace");

        sign_in(&app, &me, "0").await;
        let (_, page) = html(&me, &app.url("/mon-espace/mandats")).await;
        let mandate = between(&page, "/mon-espace/mandats/", "/revoquer");
        assert!(page.contains(&format!("/mon-espace/mandats/{mandate}/imprimer")));
        let res = me
            .get(app.url(&format!("/mon-espace/mandats/{mandate}/imprimer")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        let copy = res.text().await.unwrap();
        assert!(copy.contains("Votre exemplaire du mandat"), "{copy}");
        assert!(
            copy.contains("DUBOIS") && copy.contains("class=\"verification-code\""),
            "{copy}"
        );
        assert!(
            copy.contains("Revenir à mes mandats"),
            "back to their space"
        );
        assert!(
            !copy.contains("href=\"/usagers\""),
            "no aidant's way in: {copy}"
        );

        // Printing leaves the session as it was: signing out still closes FranceConnect.
        let (_, page) = html(&me, &app.url("/mon-espace/mandats")).await;
        let res = me
            .post(app.url("/mon-espace/deconnexion"))
            .form(&[("csrf", extract_csrf(&page))])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            location(&res).contains("/demo/franceconnect/"),
            "{}",
            location(&res)
        );
        sign_in(&app, &me, "0").await;

        // Another person's mandate: 404, journaled.
        let denied = |app: &TestApp| {
            app.journal_actions()
                .iter()
                .filter(|a| *a == "access.denied")
                .count()
        };
        let before = denied(&app);
        let (status, page) = html(
            &me,
            &app.url(&format!("/mon-espace/mandats/{}/imprimer", other.as_str())),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!page.contains("BENALI"));
        assert_eq!(denied(&app), before + 1);
    }
}

/// Every page of the space in the person's language: the démarches, their state, the dates and
/// the history's sentences too (they are built in Rust from the same Fluent messages).
#[actix_web::test]
async fn the_space_reads_in_romanian_and_in_arabic_dates_and_demarches_included() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        app.mandate_through_journey("0").await;
        ac_web::audit_worker::run_once(&app.state, true).unwrap();
        let me = browser();
        let signed = sign_in(&app, &me, "0").await;
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);

        let (status, page) = html(&me, &app.url("/mon-espace/mandats?langue=ro")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(r#"<html lang="ro" dir="ltr">"#), "{page}");
        assert!(page.contains("Mandatele mele"), "{page}");
        assert!(page.contains("Social - Sănătate"), "{page}");
        assert!(page.contains("în vigoare"), "{page}");
        assert!(!page.contains("en cours"), "{page}");
        let month = [
            "ianuarie",
            "februarie",
            "martie",
            "aprilie",
            "mai",
            "iunie",
            "iulie",
            "august",
            "septembrie",
            "octombrie",
            "noiembrie",
            "decembrie",
        ];
        assert!(
            month.iter().any(|m| page.contains(&format!(" {m} "))),
            "{page}"
        );

        let (status, history) = html(&me, &app.url("/mon-espace/historique?langue=ar")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(history.contains(r#"<html lang="ar" dir="rtl">"#));
        assert!(history.contains("أنشأ توكيلًا لك"), "{history}");
        assert!(!history.contains("a créé un mandat pour vous"));
        // The switcher comes back to this very page.
        assert!(history.contains("langue&#x2F;fr?retour=%2Fmon-espace%2Fhistorique\""));
    }
}
