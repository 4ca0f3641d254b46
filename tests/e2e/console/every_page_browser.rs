//! Every page of the service in headless Chromium at the three window sizes the service is made
//! for: a phone (375×667), a tablet held upright (768×1024) and sideways (1024×768). Each page
//! passes axe-core with 0 violations and the tablet-first rules (text of 18 px or more, targets of
//! 44 px, a visible focus, no horizontal scrolling: docs/accessibility.md). The demo pilot gives
//! every page something to show; the journeys that post forms have their own runs
//! (mandate_journey_browser.rs, browser.rs, provider.rs).

use ac_e2e::TestApp;
use ac_e2e::browser::{LANDSCAPE, PORTRAIT, Viewport, anonymous, on_tablet, run_plan, session};
use serde_json::{Value, json};

use super::{entry_of, integrate, load_pilot};

/// A phone held upright.
const PHONE: Viewport = Viewport {
    width: 375,
    height: 667,
};

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
    }
    let run = run_plan(&app, "toutes-les-pages", sessions).await;
    println!("{}", run.output);
    assert!(run.success, "browser run failed:\n{}", run.output);
    let pages = run.report["pages"].as_array().unwrap();
    assert_eq!(pages.len(), expected, "{}", run.output);
    for page in pages {
        assert_eq!(page["axe"], true, "{page}");
        assert_eq!(page["violations"].as_array().unwrap().len(), 0, "{page}");
        assert_eq!(page["tablet"].as_array().unwrap().len(), 0, "{page}");
    }
    app.stop().await;
}
