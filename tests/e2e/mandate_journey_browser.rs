//! The mandate creation journey in headless Chromium, on a tablet (issue 7, "A real browser"):
//! `make run`'s demonstration data, a demo aidant, the demonstration FranceConnect. Upright
//! (768×1024) with a refused code first, sideways (1024×768), and upright with JavaScript turned
//! off. Every page: axe-core without violation (where scripts run), the tablet-first rules, no
//! console error, a screenshot under `target/browser-artefacts/parcours-mandat-*/`.

use ac_auth::totp::{TotpStep, code_at};
use ac_clock::Clock;
use ac_demo::DEMO_TOTP_SEED;
use ac_e2e::TestApp;
use ac_e2e::browser::{
    LANDSCAPE, MandateChoices, PORTRAIT, artefacts_dir, mandate_creation, on_tablet, run_plan,
    session, without_javascript,
};
use ac_mandates::{Aidant, Demarche, MandateDuration, Organisation};
use ac_storage::journal::AuditContext;
use ac_storage::{aidants, organisations};
use serde_json::json;

/// Demo aidants who may create mandates, each the only member of a structure that allows
/// `demarches`, one per structure: the journeys do not share anything but the data.
fn demo_aidants(
    app: &TestApp,
    demarches: &[Demarche],
    count: usize,
) -> Vec<(Aidant, Organisation)> {
    let conn = &mut *app.db.db.conn().unwrap();
    let outcome = ac_demo::load(
        conn,
        &app.state.auth.keys,
        &AuditContext::cli(),
        app.clock.now(),
    )
    .unwrap();
    assert!(matches!(outcome, ac_demo::Outcome::Loaded(_)));
    let structures = organisations::list(conn).unwrap();
    let mut chosen: Vec<(Aidant, Organisation)> = Vec::new();
    for aidant in aidants::list(conn, None).unwrap() {
        let Some(structure) = structures
            .iter()
            .find(|o| o.id == aidant.current_organisation)
        else {
            continue;
        };
        if aidant.can_create_mandates
            && aidant.organisations.len() == 1
            && demarches
                .iter()
                .all(|d| structure.allowed_demarches.contains(d))
            && chosen.iter().all(|(_, o)| o.id != structure.id)
        {
            chosen.push((aidant, structure.clone()));
        }
    }
    assert!(
        chosen.len() >= count,
        "the demo has {} such aidants",
        chosen.len()
    );
    chosen.truncate(count);
    chosen
}

/// A six-digit code the demo app shows at none of the steps around now.
fn wrong_code(app: &TestApp) -> String {
    let now = app.clock_now().unix_timestamp();
    let near: Vec<String> = (-3..=3)
        .map(|step| code_at(DEMO_TOTP_SEED, TotpStep::App, now + step * 30, 6))
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .unwrap()
}

async fn mandates(app: &TestApp) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS n FROM mandates")
        .get_result::<Count>(&mut *app.db.db.conn().unwrap())
        .unwrap()
        .n
}

#[actix_web::test]
async fn the_creation_journey_passes_axe_and_the_tablet_rules_in_chromium() {
    for app in TestApp::each().await {
        let demarches = vec![Demarche::Social, Demarche::Argent];
        let team = demo_aidants(&app, &demarches, 3);
        let mut cookies = Vec::new();
        for (aidant, _) in &team {
            app.sign_in_on(aidant.email.as_str(), DEMO_TOTP_SEED).await;
            cookies.push(app.cookie("ac_session").unwrap());
        }
        // The recap wants a code the sign-ins have not used: the next step's. The clock stays
        // there during the run.
        app.next_totp_step();
        let totp = app.totp_now_on(DEMO_TOTP_SEED);
        let before = mandates(&app).await;

        let choices = |i: usize, person: &str, duration| MandateChoices {
            demarches: demarches.clone(),
            duration,
            person: person.to_owned(),
            structure: team[i].1.name.clone(),
            wrong_code: None,
        };
        let upright = mandate_creation(
            &MandateChoices {
                wrong_code: Some(wrong_code(&app)),
                ..choices(0, "Angela Claire Louise DUBOIS", MandateDuration::OneYear)
            },
            &totp,
            "mandat-portrait",
        );
        let mut sideways = mandate_creation(
            &choices(1, "Karim BENALI", MandateDuration::SixMonths),
            &totp,
            "mandat-paysage",
        );
        // Another structure's mandate, reached by its address: refused, on a page as usable.
        sideways
            .steps
            .push(json!({ "name": "mandat-d-une-autre-structure",
            "goto": upright.mandate_page, "status": 403, "expect": ["Accès refusé"] }));
        let no_script = mandate_creation(
            &MandateChoices {
                demarches: vec![Demarche::Papiers, Demarche::Logement],
                ..choices(2, "Mai Thi NGUYEN", MandateDuration::OneMonth)
            },
            &totp,
            "mandat-sans-javascript",
        );
        let counts = [
            upright.steps.len(),
            sideways.steps.len(),
            no_script.steps.len(),
        ];
        let name = format!("parcours-mandat-{:?}", app.db.backend()).to_lowercase();
        let run = run_plan(
            &app,
            &name,
            vec![
                on_tablet(session("portrait", &cookies[0], upright.steps), PORTRAIT),
                on_tablet(session("paysage", &cookies[1], sideways.steps), LANDSCAPE),
                without_javascript(on_tablet(
                    session("sans-javascript", &cookies[2], no_script.steps),
                    PORTRAIT,
                )),
            ],
        )
        .await;
        println!("{}", run.output);
        assert!(run.success, "browser run failed:\n{}", run.output);

        let pages = run.report["pages"].as_array().unwrap();
        assert_eq!(pages.len(), counts.iter().sum::<usize>(), "{}", run.output);
        let dir = artefacts_dir(&name);
        for (i, page) in pages.iter().enumerate() {
            let scripted = i < counts[0] + counts[1];
            assert_eq!(page["axe"], scripted, "axe ran where scripts run: {page}");
            assert_eq!(page["violations"].as_array().unwrap().len(), 0, "{page}");
            assert_eq!(page["tablet"].as_array().unwrap().len(), 0, "{page}");
            let width = if (counts[0]..counts[0] + counts[1]).contains(&i) {
                1024
            } else {
                768
            };
            assert_eq!(page["viewport"]["width"], width, "{page}");
            let shot = dir.join(format!("{}.png", page["name"].as_str().unwrap()));
            assert!(shot.metadata().unwrap().len() > 0, "{}", shot.display());
        }
        // Three journeys, three mandates, the one without JavaScript too.
        assert_eq!(mandates(&app).await, before + 3);
        for key in [
            "mandat-portrait",
            "mandat-paysage",
            "mandat-sans-javascript",
        ] {
            let path = run.report["remembered"][key].as_str().unwrap();
            assert!(path.starts_with("/mandats/"), "{key}: {path}");
        }
        // The refused look at another structure's mandate is in the journal.
        let denied = app
            .journal()
            .into_iter()
            .filter(|e| e["action"] == "access.denied")
            .count();
        assert_eq!(denied, 1);
        app.stop().await;
    }
}
