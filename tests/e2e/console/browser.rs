//! Both consoles in headless Chromium, every page checked by axe-core (0 violations required),
//! screenshots under `target/browser-artefacts/consoles/`. Uses the demo pilot plus delegated
//! uses so that charts, tables and anomaly flags have something to show.

use ac_audit::Action;
use ac_clock::Clock;
use ac_e2e::TestApp;
use ac_e2e::browser::{LANDSCAPE, on_tablet, run_plan, session};
use ac_mandates::Demarche;
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::write;
use serde_json::json;
use time::Duration;

use super::{entry_of, integrate, load_pilot, usager_of};

#[actix_web::test]
async fn both_consoles_pass_axe_in_chromium() {
    // One backend is enough: the pages are the same.
    let app = TestApp::each().await.remove(0);
    let pilot = load_pilot(&app);
    {
        let conn = &mut *app.db.db.conn().unwrap();
        let subject = usager_of(&app, &pilot.quimper);
        let now = app.clock.now();
        for (i, demarche) in [Demarche::Social, Demarche::Papiers, Demarche::Famille]
            .into_iter()
            .cycle()
            .take(60)
            .enumerate()
        {
            let i = i64::try_from(i).unwrap();
            write(conn, |tx| {
                journal::record(
                    tx,
                    &AuditContext::aidant(&pilot.quimper_aidant.id, None),
                    Event::new(Action::DelegationStarted)
                        .organisation(&pilot.quimper)
                        .usager(&subject)
                        .demarche(demarche)
                        .client("impots.demo"),
                    // Spread over three weeks, some late in the evening (outside hours).
                    now - Duration::days(i) - Duration::hours(i % 4 * 3),
                )
            })
            .unwrap();
        }
    }
    integrate(&app);
    let q = &pilot.quimper;
    let own_entry = entry_of(&app, q);

    app.sign_in(pilot.quimper_referent.email.as_str()).await;
    let referent = app.cookie("ac_session").unwrap();
    app.sign_in(pilot.coordinator_29.email.as_str()).await;
    let coordinator = app.cookie("ac_session").unwrap();

    let sessions = vec![
        on_tablet(
            session(
                "referent",
                &referent,
                vec![
                    json!({ "name": "structure", "goto": format!("/referent/{q}") }),
                    json!({ "name": "nouvel-aidant", "click": "Ajouter un aidant" }),
                    // An address already in use: the form comes back with its message.
                    json!({ "name": "adresse-deja-prise", "fill": { "Adresse e-mail professionnelle": pilot.quimper_aidant.email.as_str(), "Prénom": "Inès", "Nom": "Garnier", "Profession": "Médiatrice" }, "press": "Créer le compte", "status": 422 }),
                    json!({ "name": "aidant-cree", "fill": { "Adresse e-mail professionnelle": "ines.garnier@quimper.example" }, "press": "Créer le compte" }),
                    json!({ "name": "qr-code", "press": "Afficher un nouveau QR code" }),
                    json!({ "name": "aidant", "click": "J'ai terminé" }),
                    json!({ "name": "journal", "goto": format!("/referent/{q}/journal") }),
                    json!({ "name": "journal-filtre", "select": { "Action": "aidant.created" }, "press": "Filtrer" }),
                    json!({ "name": "entree", "goto": format!("/referent/{q}/journal/{own_entry}") }),
                    json!({ "name": "hors-perimetre", "goto": format!("/referent/{}", pilot.chateaulin), "status": 403 }),
                ],
            ),
            LANDSCAPE,
        ),
        on_tablet(
            session(
                "coordination",
                &coordinator,
                vec![
                    json!({ "name": "tableau-de-bord", "goto": "/coordination" }),
                    json!({ "name": "structure", "click": "Médiathèque des Ursulines" }),
                    json!({ "name": "journal", "goto": "/coordination/journal" }),
                    json!({ "name": "journal-plus-anciennes", "click": "Entrées plus anciennes" }),
                    json!({ "name": "journal-par-nom", "goto": "/coordination/journal", "fill": { "Nom de naissance de l'usager": "Dubois" }, "press": "Filtrer" }),
                    json!({ "name": "entree", "goto": format!("/coordination/journal/{own_entry}") }),
                    json!({ "name": "signalements", "goto": "/coordination/anomalies" }),
                    json!({ "name": "integrite", "goto": "/coordination/integrite" }),
                    json!({ "name": "verification-lancee", "press": "Lancer une vérification complète" }),
                    json!({ "name": "hors-perimetre", "goto": format!("/coordination/structures/{}", pilot.lorient), "status": 403 }),
                ],
            ),
            LANDSCAPE,
        ),
    ];
    let run = run_plan(&app, "consoles", sessions).await;
    println!("{}", run.output);
    assert!(run.success, "browser run failed:\n{}", run.output);
    let pages = run.report["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 20, "{}", run.output);
    assert_eq!(run.report["violations"], 0);
    for page in pages {
        assert_eq!(page["violations"].as_array().unwrap().len(), 0, "{page}");
    }
    app.stop().await;
}
