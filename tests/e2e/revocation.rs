//! Revocation through the pages: one démarche or the whole mandate, the aidé's own
//! confirmation and the aidant's code, every refusal, double submission, another structure's
//! mandate by URL, the journal, the printable attestation, and the effect on a delegated login
//! already under way (code issued, or token issued). Each test runs on SQLite and, when
//! AC_TEST_DATABASE_URL is set, PostgreSQL.

use ac_e2e::{TestApp, links};
use ac_mandates::{AuthorizationId, Demarche, Mandate, MandateDuration, MandateId, OrganisationId};
use ac_storage::journal::AuditContext;
use ac_storage::mandates::{self, NewMandate};
use reqwest::StatusCode;
use serde_json::Value;

use crate::provider::{STRUCTURE, Setup, code, signed_in, tok, userinfo_get};

fn stored(app: &TestApp, id: &MandateId) -> Mandate {
    mandates::get(&mut app.db.db.conn().unwrap(), id).unwrap()
}

fn authorization(mandate: &Mandate, demarche: Demarche) -> AuthorizationId {
    mandate
        .authorizations
        .iter()
        .find(|a| a.demarche == demarche)
        .unwrap()
        .id
        .clone()
}

fn revoked(mandate: &Mandate) -> Vec<Demarche> {
    mandate
        .authorizations
        .iter()
        .filter(|a| a.revocation.is_some())
        .map(|a| a.demarche)
        .collect()
}

fn confirmation_path(mandate: &MandateId, authorization: Option<&AuthorizationId>) -> String {
    match authorization {
        Some(a) => format!("/mandats/{mandate}/revocation?autorisation={a}"),
        None => format!("/mandats/{mandate}/revocation"),
    }
}

/// The confirmation page's form, submitted as the two people fill it: `confirm` is the aidé's
/// box, `code` the aidant's.
async fn submit(
    app: &TestApp,
    mandate: &MandateId,
    authorization: Option<&AuthorizationId>,
    confirm: bool,
    code: &str,
) -> reqwest::Response {
    // The CSRF token is the session's: any signed-in page carries it.
    let csrf = app.csrf_of("/espace").await;
    let mut form = vec![("csrf", csrf), ("code", code.to_owned())];
    if let Some(a) = authorization {
        form.push(("autorisation", a.as_str().to_owned()));
    }
    if confirm {
        form.push(("confirmation", "oui".to_owned()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.post_form(&format!("/mandats/{mandate}/revocation"), &form)
        .await
}

/// A fresh code from the aidant's app (a code is accepted once).
fn fresh_code(app: &TestApp) -> String {
    app.next_totp_step();
    app.totp_now()
}

/// Revokes through the pages, as the aidé and the aidant do; returns the attestation's path.
async fn revoke_through_pages(
    app: &TestApp,
    mandate: &MandateId,
    authorization: Option<&AuthorizationId>,
) -> String {
    let code = fresh_code(app);
    revoke_with_code(app, mandate, authorization, &code).await
}

/// [`revoke_through_pages`] with a code the aidant has already read.
async fn revoke_with_code(
    app: &TestApp,
    mandate: &MandateId,
    authorization: Option<&AuthorizationId>,
    code: &str,
) -> String {
    let page = app.get(&confirmation_path(mandate, authorization)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let res = submit(app, mandate, authorization, true, code).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/mandats/{mandate}/attestation-revocation"));
    to
}

async fn html(app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = app.get(path).await;
    (res.status(), res.text().await.unwrap())
}

/// The provider tests' set-up (Angela DUBOIS, `social` and `argent`), and her `social`
/// authorization.
async fn with_social(app: TestApp) -> (Setup, AuthorizationId) {
    let s = signed_in(app).await;
    let social = authorization(&stored(&s.app, &s.mandate), Demarche::Social);
    (s, social)
}

fn entries<'a>(journal: &'a [Value], action: &str) -> Vec<&'a Value> {
    journal.iter().filter(|e| e["action"] == action).collect()
}

#[actix_web::test]
async fn one_demarche_is_revoked_the_others_stay_in_force() {
    for app in TestApp::each().await {
        let (s, social) = with_social(app).await;
        let (app, aidant, mandate) = (&s.app, &s.aidant, &s.mandate);
        let argent = authorization(&stored(app, mandate), Demarche::Argent);

        // Nothing revoked yet: no attestation.
        let (status, body) = html(app, &format!("/mandats/{mandate}/attestation-revocation")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("MND022"), "{body}");

        // The mandate page offers each démarche in force, and the whole mandate.
        let (_, page) = html(app, &format!("/mandats/{mandate}")).await;
        let offered = links(&page, &format!("/mandats/{mandate}/revocation"));
        assert_eq!(
            offered,
            [
                confirmation_path(mandate, Some(&social)),
                confirmation_path(mandate, Some(&argent)),
                confirmation_path(mandate, None),
            ],
            "{page}"
        );
        assert!(
            page.contains("Révoquer cette démarche") && page.contains("Révoquer tout le mandat")
        );

        // The confirmation page says, in short sentences, what stops and what follows.
        let (status, confirm) = html(app, &confirmation_path(mandate, Some(&social))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(confirm.contains("Social - Santé"), "{confirm}");
        assert!(!confirm.contains("Argent"), "only the chosen démarche");
        for sentence in [
            "tout de suite",
            "ne pourra plus faire cette démarche",
            "il faudra un nouveau mandat",
            "attestation de révocation",
            "Je confirme la révocation",
            "Angela Claire DUBOIS",
        ] {
            assert!(confirm.contains(sentence), "{sentence}: {confirm}");
        }

        let attestation = revoke_through_pages(app, mandate, Some(&social)).await;
        assert_eq!(revoked(&stored(app, mandate)), [Demarche::Social]);

        let (_, page) = html(app, &format!("/mandats/{mandate}")).await;
        assert!(
            page.contains("révoquée") && page.contains("en cours"),
            "{page}"
        );
        assert_eq!(
            links(&page, &format!("/mandats/{mandate}/revocation")),
            [
                confirmation_path(mandate, Some(&argent)),
                confirmation_path(mandate, None)
            ]
        );
        assert_eq!(
            links(&page, &attestation),
            std::slice::from_ref(&attestation)
        );

        // The journal: one démarche revoked, with the aidé's confirmation on screen and the
        // aidant's code; the mandate itself is not revoked; no name.
        let journal = app.journal();
        let revocations = entries(&journal, "authorization.revoked");
        assert_eq!(revocations.len(), 1, "{journal:?}");
        let entry = revocations[0];
        assert_eq!(entry["target"], social.as_str());
        assert_eq!(entry["demarche"], "social");
        assert_eq!(entry["actor"]["id"], aidant.as_str());
        assert_eq!(entry["details"]["confirmation"], "usager_on_screen");
        assert_eq!(entry["details"]["mandate"], mandate.as_str());
        assert!(entries(&journal, "mandate.revoked").is_empty());
        assert!(!entries(&journal, "auth.stepup.succeeded").is_empty());
        assert!(!serde_json::to_string(&journal).unwrap().contains("DUBOIS"));

        // The attestation: what stopped and when (written date and local time), the structure,
        // the person, the aidant who recorded it, the reference; print-ready.
        let (status, doc) = html(app, &attestation).await;
        assert_eq!(status, StatusCode::OK);
        for part in [
            "Attestation de révocation",
            "Social - Santé",
            // 09:00 UTC plus a few 30-second steps, in Finistère (UTC+1 in November).
            "22 novembre 2026 à 10 h 0",
            "Structure mediatheque",
            "Angela Claire DUBOIS",
            "Camille Martin",
            mandate.as_str(),
            "Démarches toujours couvertes par ce mandat : Argent",
            "href=\"/static/print.css\" media=\"print\"",
            "class=\"document\"",
            "class=\"signatures\"",
            "class=\"no-print\"",
        ] {
            assert!(doc.contains(part), "{part}: {doc}");
        }
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn the_whole_mandate_is_revoked_once_even_when_submitted_twice() {
    for app in TestApp::each().await {
        let Setup { app, mandate, .. } = signed_in(app).await;
        let (_, confirm) = html(&app, &confirmation_path(&mandate, None)).await;
        assert!(
            confirm.contains("Social - Santé")
                && confirm.contains("Argent - Impôts - Consommation")
                && confirm.contains("ne pourra plus faire ces démarches"),
            "{confirm}"
        );
        let attestation = revoke_through_pages(&app, &mandate, None).await;
        assert_eq!(
            revoked(&stored(&app, &mandate)),
            [Demarche::Social, Demarche::Argent]
        );

        // A double tap: refused with a clear message, nothing written twice.
        let code = fresh_code(&app);
        let res = submit(&app, &mandate, None, true, &code).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains("déjà révoquées"), "{body}");
        assert!(
            !body.contains("name=\"confirmation\""),
            "no form to submit again"
        );
        let journal = app.journal();
        let mandate_entries = entries(&journal, "mandate.revoked");
        assert_eq!(mandate_entries.len(), 1);
        assert_eq!(
            mandate_entries[0]["details"]["confirmation"],
            "usager_on_screen"
        );
        assert_eq!(mandate_entries[0]["target"], mandate.as_str());
        assert_eq!(entries(&journal, "authorization.revoked").len(), 2);

        // Nothing left to revoke on the mandate page; the attestation lists both.
        let (_, page) = html(&app, &format!("/mandats/{mandate}")).await;
        assert!(links(&page, &format!("/mandats/{mandate}/revocation")).is_empty());
        let (_, doc) = html(&app, &attestation).await;
        assert!(
            doc.contains("Social - Santé")
                && doc.contains("Argent - Impôts - Consommation")
                && doc.contains("Plus aucune démarche"),
            "{doc}"
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn each_refusal_leaves_everything_in_force() {
    for app in TestApp::each().await {
        let (s, social) = with_social(app).await;
        let (app, aidant, mandate) = (&s.app, &s.aidant, &s.mandate);

        // The aidé did not confirm: the page again, the error tied to the box.
        let code = fresh_code(app);
        let res = submit(app, mandate, Some(&social), false, &code).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains("doit appuyer elle-même"), "{body}");
        assert!(body.contains(
            "name=\"confirmation\" value=\"oui\" required aria-invalid=\"true\" aria-describedby=\"erreur-confirmation\""
        ));

        // A wrong code, then no code: the error tied to the code field.
        for bad in ["000000", ""] {
            let res = submit(app, mandate, Some(&social), true, bad).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
            let body = res.text().await.unwrap();
            assert!(
                body.contains("aria-invalid=\"true\" aria-describedby=\"erreur-code\""),
                "{body}"
            );
        }

        // A forged form (no valid CSRF token).
        let res = app
            .post_form(
                &format!("/mandats/{mandate}/revocation"),
                &[
                    ("csrf", "forged"),
                    ("confirmation", "oui"),
                    ("code", &fresh_code(app)),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));

        // An unknown authorization, and one of another mandate of the same structure.
        let (_, other) =
            app.with_mandate(aidant, STRUCTURE, "Louis", "MOREAU", &[Demarche::Logement]);
        let foreign = authorization(&stored(app, &other), Demarche::Logement);
        for wrong in [AuthorizationId::new("not-an-authorization"), foreign] {
            let (status, body) = html(app, &confirmation_path(mandate, Some(&wrong))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body.contains("MND008"), "{body}");
            let res = submit(app, mandate, Some(&wrong), true, &fresh_code(app)).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(res.text().await.unwrap().contains("MND008"));
        }
        // An over-long parameter is not looked up.
        let long = AuthorizationId::new("x".repeat(65));
        let (status, _) = html(app, &confirmation_path(mandate, Some(&long))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(revoked(&stored(app, &other)).is_empty());
        assert!(revoked(&stored(app, mandate)).is_empty());

        // Already revoked: said on the page, and a new submission writes nothing.
        revoke_through_pages(app, mandate, Some(&social)).await;
        let (status, body) = html(app, &confirmation_path(mandate, Some(&social))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("déjà révoquée") && !body.contains("name=\"code\""));
        let res = submit(app, mandate, Some(&social), true, &fresh_code(app)).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("déjà révoquée"));
        assert_eq!(entries(&app.journal(), "authorization.revoked").len(), 1);

        // An expired mandate: nothing to revoke.
        let usager = stored(app, &other).usager_id;
        let now = app.clock_now();
        let expired = mandates::create(
            &mut app.db.db.conn().unwrap(),
            &NewMandate {
                aidant,
                organisation: &OrganisationId::new(STRUCTURE),
                usager: &usager,
                demarches: &[Demarche::Travail],
                duration: MandateDuration::OneDay,
                legal_text_version: "2026-01",
                renewal_of: None,
            },
            &AuditContext::cli(),
            now - time::Duration::days(3),
        )
        .unwrap()
        .mandate
        .id;
        let (status, body) = html(app, &confirmation_path(&expired, None)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("a expiré"), "{body}");
        let res = submit(app, &expired, None, true, &fresh_code(app)).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("a expiré"));
        assert!(revoked(&stored(app, &expired)).is_empty());
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn another_structures_mandate_cannot_be_revoked_by_url_and_the_attempts_are_journaled() {
    for app in TestApp::each().await {
        let (s, social) = with_social(app).await;
        let (app, mandate) = (&s.app, &s.mandate);
        revoke_through_pages(app, mandate, Some(&social)).await;

        let other = "dominique.leroy@exemple.fr";
        app.with_aidant(other, &["ailleurs"]);
        app.next_totp_step();
        app.sign_in(other).await;
        let denied_before = entries(&app.journal(), "access.denied").len();
        for path in [
            confirmation_path(mandate, None),
            confirmation_path(mandate, Some(&social)),
            format!("/mandats/{mandate}/attestation-revocation"),
        ] {
            let (status, body) = html(app, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(body.contains("MND021"), "{body}");
            assert!(!body.contains("DUBOIS"));
        }
        let csrf = app.csrf_of("/espace").await;
        let res = app
            .post_form(
                &format!("/mandats/{mandate}/revocation"),
                &[
                    ("csrf", &csrf),
                    ("confirmation", "oui"),
                    ("code", &fresh_code(app)),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("MND021"));
        assert_eq!(revoked(&stored(app, mandate)), [Demarche::Social]);

        let journal = app.journal();
        let denied = entries(&journal, "access.denied");
        assert_eq!(denied.len() - denied_before, 4, "{journal:?}");
        for entry in &denied[denied_before..] {
            assert_eq!(entry["target"], mandate.as_str());
            assert_eq!(entry["organisation_id"], STRUCTURE);
            assert_eq!(entry["details"]["reason"], "mandate_of_another_structure");
        }
        assert_eq!(entries(&journal, "authorization.revoked").len(), 1);
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn a_code_issued_before_the_revocation_is_refused_at_token() {
    for app in TestApp::each().await {
        let (s, social) = with_social(app).await;
        // The aidant's next code is read first, so the website's code is still fresh when it
        // is redeemed: what refuses it is the revocation, not its age.
        let totp = fresh_code(&s.app);
        let c = code(&s, &[]).await;
        revoke_with_code(&s.app, &s.mandate, Some(&social), &totp).await;
        let (status, body) = tok(&s.app, &c, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(
            body["error_description"],
            "the mandate no longer covers this use"
        );
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn a_token_issued_before_the_revocation_is_refused_at_userinfo() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let c = code(&s, &[]).await;
        let (status, body) = tok(&s.app, &c, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let access_token = body["access_token"].as_str().unwrap().to_owned();
        revoke_through_pages(&s.app, &s.mandate, None).await;
        let res = userinfo_get(&s.app, &access_token).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let steps: Vec<String> = s
            .app
            .journal()
            .iter()
            .filter(|e| e["action"] == "delegation.refused")
            .map(|e| e["details"]["step"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(steps, ["userinfo"]);
        s.app.stop().await;
    }
}
