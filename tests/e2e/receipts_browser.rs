//! The receipts' pages in headless Chromium at a phone's size (375×667) and a tablet's, upright
//! and sideways, and on the phone without JavaScript: the public receipt page (genuine and
//! unknown), « Ce n'était pas moi » (confirmation, then its answer), « Mes avis » in the
//! person's space, and both consoles' lists of reports with the restore page. Each passes
//! axe-core with 0 violations and the tablet-first rules (docs/accessibility.md).

use ac_e2e::browser::{
    LANDSCAPE, PHONE, PORTRAIT, anonymous, on_tablet, run_plan, session, without_javascript,
};
use ac_e2e::{TestApp, extract_csrf};
use ac_mandates::{AidantId, Demarche, MandateId, UsagerId};
use ac_storage::journal::AuditContext;
use ac_storage::receipts::{self, Choice, Sealer};
use serde_json::{Value, json};

const EMAIL: &str = "camille.martin@exemple.fr";
const PERSON: &str = "angela@exemple.fr";

/// Queues the receipts due and sends the outbox into the memory mailer.
fn send_all(app: &TestApp) {
    ac_web::receipts::jobs::run_once(&app.state).unwrap();
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
}

/// Every receipt sent to the person so far: (subject, `/recu/…`, `/signalement/…`).
fn links(app: &TestApp) -> Vec<(String, String, String)> {
    let path = |line: &str| line.trim().trim_start_matches(&app.base_url).to_owned();
    app.sent_mail()
        .into_iter()
        .filter(|m| m.to == PERSON)
        .map(|m| {
            let find = |p: &str| {
                path(
                    m.text
                        .lines()
                        .find(|l| l.trim().starts_with(&app.url(p)))
                        .unwrap(),
                )
            };
            (m.subject.clone(), find("/recu/"), find("/signalement/"))
        })
        .collect()
}

fn revoke(app: &TestApp, aidant: &AidantId, mandate: &MandateId, demarche: Demarche) {
    let conn = &mut *app.db.db.conn().unwrap();
    let m = ac_storage::mandates::get(conn, mandate).unwrap();
    let a = m
        .authorizations
        .iter()
        .find(|a| a.demarche == demarche)
        .unwrap();
    ac_storage::mandates::revoke_authorization(
        conn,
        aidant,
        mandate,
        &a.id,
        ac_storage::mandates::RevocationConsent::OnScreen,
        &AuditContext::aidant(aidant, None),
        app.clock_now(),
    )
    .unwrap();
}

fn aide_pages() -> Vec<Value> {
    vec![
        json!({ "name": "mon-espace", "goto": "/mon-espace" }),
        json!({ "name": "franceconnect-demo", "press": "S'identifier avec FranceConnect" }),
        json!({ "name": "mes-mandats", "press": "Se connecter en tant que Angela",
                "expect": ["Mes mandats"] }),
        json!({ "name": "mes-avis", "goto": "/mon-espace/avis", "expect": ["Mes avis"] }),
    ]
}

#[actix_web::test]
async fn the_receipts_pages_pass_axe_and_the_tablet_rules_at_three_sizes_and_without_javascript() {
    // One backend is enough: the pages are the same.
    let db = ac_storage::testing::TestDatabase::each().unwrap().remove(0);
    let app = TestApp::spawn(db, ac_e2e::test_settings()).await;
    let aidant = app.with_aidant(EMAIL, &["org-a"]);
    app.db
        .execute_raw("UPDATE aidant_organisations SET is_referent = TRUE")
        .unwrap();
    app.coordinate_nationally(&aidant);
    app.sign_in(EMAIL).await;
    let first = app.mandate_through_journey("0").await;
    let first = MandateId::new(first.trim_start_matches("/mandats/"));
    let usager: UsagerId = ac_storage::mandates::get(&mut app.db.db.conn().unwrap(), &first)
        .unwrap()
        .usager_id;
    receipts::set_preference(
        &mut app.db.db.conn().unwrap(),
        Sealer {
            keys: &app.state.auth.keys,
            rng: app.state.auth.rng(),
        },
        &usager,
        Choice::EachUse,
        Some(&PERSON.parse().unwrap()),
        &AuditContext::cli(),
        app.clock_now(),
    )
    .unwrap();
    // One receipt per window size (each spends its own link: its démarche is already
    // stopped), and the second mandate's creation, reported before the run so that the
    // consoles have a report to list.
    for demarche in [Demarche::Social, Demarche::Argent] {
        revoke(&app, &aidant, &first, demarche);
    }
    let second = app.mandate_through_journey("0").await;
    let second = MandateId::new(second.trim_start_matches("/mandats/"));
    revoke(&app, &aidant, &second, Demarche::Social);
    send_all(&app);
    ac_web::audit_worker::run_once(&app.state, true).unwrap();
    let sent = links(&app);
    assert_eq!(sent.len(), 4, "{sent:?}");
    let (created, stopped): (Vec<_>, Vec<_>) = sent
        .into_iter()
        .partition(|(subject, _, _)| subject.contains("Un mandat a été créé"));
    let (_, _, report) = &created[0];
    let confirm = app.get(report).await.text().await.unwrap();
    let res = app
        .post_form(report, &[("csrf", &extract_csrf(&confirm))])
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert!(res.text().await.unwrap().contains("suspendu"));
    let list = app
        .get("/referent/org-a/signalements")
        .await
        .text()
        .await
        .unwrap();
    let id = ac_e2e::between(&list, "/signalements/", "/revoquer");
    let cookie = app.cookie("ac_session").unwrap();

    let mut sessions = Vec::new();
    let mut expected = 0;
    let sizes = [
        ("telephone", PHONE),
        ("portrait", PORTRAIT),
        ("paysage", LANDSCAPE),
    ];
    for ((size, viewport), (_, recu, signalement)) in sizes.iter().zip(&stopped) {
        let public = vec![
            json!({ "name": "recu", "goto": recu, "expect": ["Reçu authentique"] }),
            json!({ "name": "recu-inconnu", "goto": "/recu/77777777777777777777777777777777",
                    "status": 404, "expect": ["Reçu inconnu"] }),
            json!({ "name": "ce-n-etait-pas-moi", "goto": signalement,
                    "expect": ["Ce n'était pas moi"] }),
            json!({ "name": "signalement-deja-arrete", "press": "je signale",
                    "expect": ["déjà arrêté"] }),
            json!({ "name": "lien-inconnu", "goto": "/signalement/inconnu", "status": 404 }),
        ];
        expected += public.len();
        sessions.push(on_tablet(
            anonymous(&format!("public-{size}"), public),
            *viewport,
        ));
        let consoles = vec![
            json!({ "name": "signalements", "goto": "/referent/org-a/signalements" }),
            json!({ "name": "retablir", "goto": format!("/referent/org-a/signalements/{id}/retablir"),
                    "expect": ["Rétablir le mandat de"] }),
            json!({ "name": "coordination", "goto": "/coordination/signalements-personnes" }),
        ];
        expected += consoles.len();
        sessions.push(on_tablet(
            session(&format!("consoles-{size}"), &cookie, consoles),
            *viewport,
        ));
        expected += aide_pages().len();
        sessions.push(on_tablet(
            anonymous(&format!("personne-{size}"), aide_pages()),
            *viewport,
        ));
    }
    sessions.push(without_javascript(on_tablet(
        anonymous("personne-sans-javascript", aide_pages()),
        PHONE,
    )));
    expected += aide_pages().len();
    let run = run_plan(&app, "recus", sessions).await;
    println!("{}", run.output);
    assert!(run.success, "browser run failed:\n{}", run.output);
    let pages = run.report["pages"].as_array().unwrap();
    assert_eq!(pages.len(), expected, "{}", run.output);
    for page in pages {
        assert_eq!(page["violations"].as_array().unwrap().len(), 0, "{page}");
        assert_eq!(page["tablet"].as_array().unwrap().len(), 0, "{page}");
    }
    app.stop().await;
}
