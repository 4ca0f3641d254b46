//! Every page of the service in headless Chromium at the three window sizes the service is made
//! for: a phone (375×667), a tablet held upright (768×1024) and sideways (1024×768). Each page
//! passes axe-core with 0 violations and the tablet-first rules (text of 18 px or more, targets of
//! 44 px, a visible focus, no horizontal scrolling: docs/accessibility.md). The demo pilot gives
//! every page something to show, and its first person, Angela DUBOIS, signs in to her own space
//! through the demonstration FranceConnect (also without JavaScript, on the phone); the journeys
//! that post forms have their own runs
//! (mandate_journey_browser.rs, browser.rs, provider.rs).

use ac_e2e::TestApp;
use ac_e2e::browser::{
    LANDSCAPE, PHONE, PORTRAIT, anonymous, on_tablet, run_plan, session, without_javascript,
};
use serde_json::{Value, json};

use super::{entry_of, integrate, load_pilot};

/// One structure's mandate and its person, for the aidant's pages.
fn a_mandate(app: &TestApp, organisation: &ac_mandates::OrganisationId) -> (String, String) {
    use ac_storage::schema::mandates as m;
    use diesel::prelude::*;
    let conn = &mut *app.db.db.conn().unwrap();
    m::table
        .filter(m::organisation_id.eq(organisation.as_str()))
        .select((m::id, m::usager_id))
        .first(conn)
        .unwrap()
}

/// The mandate of the pilot's first person, Angela DUBOIS, who is also the demonstration
/// FranceConnect's first person: her own space has something to show.
fn angelas_mandate(app: &TestApp) -> String {
    use ac_storage::schema::{mandates as m, usagers as u};
    use diesel::prelude::*;
    let conn = &mut *app.db.db.conn().unwrap();
    m::table
        .inner_join(u::table.on(u::id.eq(m::usager_id)))
        .filter(u::family_name.eq("DUBOIS"))
        .select(m::id)
        .first(conn)
        .unwrap()
}

/// The aidé's side, as the person goes through it on their own phone or tablet: the entry page,
/// the demonstration FranceConnect's choice, their mandates, their history, the confirmation
/// before stopping a mandate, and signing out (which closes FranceConnect too).
fn aide_journey(mandate: &str) -> Vec<Value> {
    vec![
        json!({ "name": "mon-espace", "goto": "/mon-espace", "expect": ["FranceConnect"] }),
        json!({ "name": "franceconnect-demo", "press": "S'identifier avec FranceConnect",
                "expect": ["DÉMONSTRATION"] }),
        json!({ "name": "mes-mandats", "press": "Se connecter en tant que Angela",
                "expect": ["Mes mandats"] }),
        json!({ "name": "historique", "goto": "/mon-espace/historique",
                "expect": ["Ce qui a été fait pour moi"] }),
        json!({ "name": "mes-avis", "goto": "/mon-espace/avis" }),
        json!({ "name": "mon-exemplaire", "goto": format!("/mon-espace/mandats/{mandate}/imprimer"),
                "expect": ["Votre exemplaire du mandat"] }),
        json!({ "name": "arreter-le-mandat", "goto": format!("/mon-espace/mandats/{mandate}/revoquer") }),
        // Signing out from « Mes mandats ».
        json!({ "name": "retour-mes-mandats", "goto": "/mon-espace/mandats" }),
        json!({ "name": "deconnexion", "press": "Se déconnecter" }),
        json!({ "name": "recu-inconnu", "goto": "/recu/AAAA-BBBB-CCCC", "status": 404 }),
    ]
}

/// An aidant acting for a person on the demonstration partner site: our provider's choice of the
/// person and of the démarche, then the pages a person meets on the way out or when a site is not
/// known (a logout without its hint, an unknown site). Transmitting the identity needs a fresh
/// code and ends the aidant's session with the partner's logout: provider.rs runs that part.
fn partner_journey() -> Vec<Value> {
    vec![
        json!({ "name": "site-partenaire", "goto": "/demo/service-public" }),
        json!({ "name": "choix-de-la-personne",
                "press": "S'identifier avec FranceConnect (Aidants Connect)" }),
        json!({ "name": "choix-de-la-demarche", "press": "Continuer avec cette personne" }),
        json!({ "name": "deconnexion-sans-indice", "goto": "/oidc/session/end" }),
        json!({ "name": "site-inconnu", "goto": "/oidc/authorize?client_id=inconnu", "status": 400 }),
    ]
}

fn visits(pages: &[(&str, String)]) -> Vec<Value> {
    pages
        .iter()
        .map(|(name, path)| json!({ "name": name, "goto": path }))
        .collect()
}

#[actix_web::test]
async fn every_page_passes_axe_and_the_tablet_rules_at_three_sizes() {
    // One backend is enough: the pages are the same. The demo partner site is on.
    let db = ac_storage::testing::TestDatabase::each().unwrap().remove(0);
    let mut settings = ac_e2e::test_settings();
    settings.provider.demo_partner_enabled = true;
    let app = TestApp::spawn(db, settings).await;
    let pilot = load_pilot(&app);
    integrate(&app);
    let q = pilot.quimper.clone();
    let entry = entry_of(&app, &q);
    let (mandate, usager) = a_mandate(&app, &q);
    let member = &pilot.quimper_aidant.id;
    let angela = angelas_mandate(&app);

    app.sign_in(pilot.quimper_aidant.email.as_str()).await;
    let aidant = app.cookie("ac_session").unwrap();
    app.sign_in(pilot.quimper_referent.email.as_str()).await;
    let referent = app.cookie("ac_session").unwrap();
    app.sign_in(pilot.coordinator_29.email.as_str()).await;
    let coordinator = app.cookie("ac_session").unwrap();

    let public = [
        ("accueil", "/".to_owned()),
        ("connexion", "/connexion".to_owned()),
        ("verification", "/verification".to_owned()),
        ("mentions-legales", "/mentions-legales".to_owned()),
        ("donnees-personnelles", "/donnees-personnelles".to_owned()),
        ("accessibilite", "/accessibilite".to_owned()),
        ("plan-du-site", "/plan-du-site".to_owned()),
        ("service-partenaire-demo", "/demo/service-public".to_owned()),
    ];
    let aidant_pages = [
        ("accueil-connecte", "/".to_owned()),
        ("espace", "/espace".to_owned()),
        ("usagers", "/usagers".to_owned()),
        ("usager", format!("/usagers/{usager}")),
        ("nouveau-mandat", "/mandats/nouveau".to_owned()),
        ("mandat", format!("/mandats/{mandate}")),
        ("mandat-a-imprimer", format!("/mandats/{mandate}/imprimer")),
        ("revocation", format!("/mandats/{mandate}/revocation")),
        ("renouvellement", format!("/mandats/{mandate}/renouveler")),
        ("plan-du-site-connecte", "/plan-du-site".to_owned()),
    ];
    let referent_pages = [
        ("structure", format!("/referent/{q}")),
        ("aidant", format!("/referent/{q}/aidants/{member}")),
        ("nouvel-aidant", format!("/referent/{q}/aidants/nouveau")),
        ("journal", format!("/referent/{q}/journal")),
        ("entree", format!("/referent/{q}/journal/{entry}")),
    ];
    let coordination_pages = [
        ("tableau-de-bord", "/coordination".to_owned()),
        ("structure", format!("/coordination/structures/{q}")),
        ("journal", "/coordination/journal".to_owned()),
        ("entree", format!("/coordination/journal/{entry}")),
        ("signalements", "/coordination/anomalies".to_owned()),
        ("integrite", "/coordination/integrite".to_owned()),
    ];

    let mut sessions = Vec::new();
    let mut expected = 0;
    for (size, viewport) in [
        ("telephone", PHONE),
        ("portrait", PORTRAIT),
        ("paysage", LANDSCAPE),
    ] {
        let mut add = |s: Value, n: usize| {
            sessions.push(on_tablet(s, viewport));
            expected += n;
        };
        add(
            anonymous(&format!("public-{size}"), visits(&public)),
            public.len(),
        );
        add(
            session(&format!("aidant-{size}"), &aidant, visits(&aidant_pages)),
            aidant_pages.len(),
        );
        add(
            session(
                &format!("referent-{size}"),
                &referent,
                visits(&referent_pages),
            ),
            referent_pages.len(),
        );
        add(
            session(
                &format!("coordination-{size}"),
                &coordinator,
                visits(&coordination_pages),
            ),
            coordination_pages.len(),
        );
        add(
            session(&format!("partenaire-{size}"), &aidant, partner_journey()),
            partner_journey().len(),
        );
        add(
            anonymous(&format!("usager-{size}"), aide_journey(&angela)),
            aide_journey(&angela).len(),
        );
    }
    // The aidé's side works without JavaScript too (forms and links only).
    sessions.push(without_javascript(on_tablet(
        anonymous("usager-sans-javascript", aide_journey(&angela)),
        PHONE,
    )));
    expected += aide_journey(&angela).len();
    let run = run_plan(&app, "toutes-les-pages", sessions).await;
    println!("{}", run.output);
    assert!(run.success, "browser run failed:\n{}", run.output);
    let pages = run.report["pages"].as_array().unwrap();
    assert_eq!(pages.len(), expected, "{}", run.output);
    for page in pages {
        // axe is a script: it runs wherever scripts do (the same pages ran it at every size).
        let scripts_off = page["name"].as_str().unwrap().contains("sans-javascript");
        assert_eq!(page["axe"], !scripts_off, "{page}");
        assert_eq!(page["violations"].as_array().unwrap().len(), 0, "{page}");
        assert_eq!(page["tablet"].as_array().unwrap().len(), 0, "{page}");
    }
    app.stop().await;
}
