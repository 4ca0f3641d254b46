//! Receipts to the aidé on both backends: each delegated use reaches the person through the
//! real SMTP server, with a code `/recu/{code}` confirms (and a forged one it does not); « Ce
//! n'était pas moi » suspends the mandate at once (the partner's next step is refused), is
//! raised to the structure's référent, and the référent restores it with the person present;
//! the weekly digest and the 30-day reminder with the clock moved; tokens single use, expired,
//! rate-limited.

use ac_e2e::smtp::SmtpServer;
use ac_e2e::{TestApp, extract_csrf, test_settings};
use ac_mandates::{Demarche, UsagerId};
use ac_storage::journal::AuditContext;
use ac_storage::receipts::{self, Choice, Sealer};
use ac_storage::testing::{TestDatabase, count};
use ac_web::mail_worker::{self, Round};
use ac_web::receipts::jobs;
use reqwest::StatusCode;
use std::sync::Arc;
use time::Duration;

use crate::provider::{self, STRUCTURE, signed_in, tok, userinfo_get};

const PERSON: &str = "angela.dubois@exemple.fr";

/// One round of the outbox worker, on a thread of its own as on a node.
async fn worker_round(app: &TestApp) -> Round {
    node_round(app.state.clone()).await
}

/// One round of a node with this state's mailer.
async fn node_round(state: ac_web::AppState) -> Round {
    actix_web::rt::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        mail_worker::run_once(&state, &runtime, "node-test").unwrap()
    })
    .await
    .unwrap()
}

/// The only usager of the app (Angela, from `provider::signed_in`).
fn angela(app: &TestApp) -> UsagerId {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let row: Row = diesel::sql_query("SELECT id FROM usagers")
        .get_result(&mut *app.db.db.conn().unwrap())
        .unwrap();
    UsagerId::new(row.id)
}

/// The démarches the person's own space shows as suspended (« Mes mandats »), read as that page
/// reads them.
fn suspended_in_own_space(app: &TestApp) -> Vec<ac_mandates::AuthorizationId> {
    let conn = &mut *app.db.db.conn().unwrap();
    let usager = angela(app);
    let subject = ac_storage::usagers::subject(conn, &usager)
        .unwrap()
        .unwrap();
    ac_storage::aide_space::mandates_of(conn, &subject)
        .unwrap()
        .into_iter()
        .flat_map(|own| own.suspended)
        .collect()
}

fn choose(app: &TestApp, choice: Choice) {
    receipts::set_preference(
        &mut app.db.db.conn().unwrap(),
        Sealer {
            keys: &app.state.auth.keys,
            rng: app.state.auth.rng(),
        },
        &angela(app),
        choice,
        Some(&PERSON.parse().unwrap()),
        &AuditContext::cli(),
        app.clock_now(),
    )
    .unwrap();
}

/// A whole delegated use: code, token, userinfo served.
async fn delegated_use(s: &provider::Setup) {
    let c = provider::code(s, &[]).await;
    let (status, body) = tok(&s.app, &c, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let res = userinfo_get(&s.app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// The line of `text` that starts with `prefix`.
fn link(text: &str, prefix: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
        .to_owned()
}

/// The person's own browser.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
        .build()
        .unwrap()
}

async fn text(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let res = client.get(url).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The aidant picks Angela's `social` démarche for the partner: refused with `code`.
async fn assert_refused(app: &TestApp, code: &str) {
    let list = app
        .client
        .get(provider::authorize_url(app, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let person = ac_e2e::person_path(&list, "DUBOIS").unwrap();
    let page = app.get(&person).await.text().await.unwrap();
    let chosen = app
        .post_form(
            "/oidc/choix",
            &[
                ("csrf", &extract_csrf(&page)),
                ("i", &ac_e2e::hidden(&page, "i")),
                ("usager", &ac_e2e::hidden(&page, "usager")),
                ("demarche", Demarche::Social.key()),
            ],
        )
        .await;
    assert_eq!(chosen.status(), StatusCode::FORBIDDEN);
    let refusal = chosen.text().await.unwrap();
    assert!(refusal.contains(code), "{refusal}");
}

#[actix_web::test]
async fn a_reported_use_suspends_the_demarche_even_after_a_renewal() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        choose(app, Choice::EachUse);
        delegated_use(&s).await;
        jobs::run_once(&app.state).unwrap();
        worker_round(app).await;
        let mail = app
            .sent_mail()
            .into_iter()
            .find(|m| m.to == PERSON)
            .unwrap();
        let report = link(&mail.text, &app.url("/signalement/"));
        // A new mandate replaces the one used, for the same démarches.
        app.with_mandate(
            &s.aidant,
            STRUCTURE,
            "Angela Claire",
            "DUBOIS",
            &[Demarche::Social, Demarche::Argent],
        );
        let me = browser();
        let (_, page) = text(&me, &report).await;
        let done = me
            .post(&report)
            .form(&[("csrf", extract_csrf(&page).as_str())])
            .send()
            .await
            .unwrap();
        assert!(
            done.text()
                .await
                .unwrap()
                .contains("Le mandat est suspendu")
        );
        assert_refused(app, "ACT009").await;
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn a_use_is_receipted_by_smtp_reported_suspended_and_restored_by_the_referent() {
    for app in TestApp::each().await {
        // The node that sends the outbox speaks SMTP to a real server (the aidant's sign-in
        // link, sent directly, stays in the memory mailer).
        let smtp = SmtpServer::start();
        let mut mail = test_settings().mail;
        mail.transport = ac_config::MailTransport::Smtp;
        mail.smtp.host = "127.0.0.1".into();
        mail.smtp.port = smtp.port;
        mail.smtp.tls = ac_config::SmtpTls::None;
        mail.smtp.timeout = time::Duration::seconds(5);
        let mut sender = app.state.clone();
        sender.mailer = ac_mail::Mailer::from_settings(&mail).unwrap();
        let s = signed_in(app).await;
        let app = &s.app;
        app.db
            .execute_raw("UPDATE aidant_organisations SET is_referent = TRUE")
            .unwrap();

        // No choice yet: a use writes no receipt.
        delegated_use(&s).await;
        assert_eq!(app.count_rows("receipts"), 0);

        choose(app, Choice::EachUse);
        delegated_use(&s).await;
        assert_eq!(app.count_rows("receipts"), 1);
        assert_eq!(jobs::run_once(&app.state).unwrap(), 1);
        assert_eq!(jobs::run_once(&app.state).unwrap(), 0, "dispatched once");
        assert_eq!(node_round(sender.clone()).await.sent, 1);
        let received = smtp.received();
        assert_eq!(received.len(), 1, "{received:?}");
        let mail = &received[0];
        assert_eq!(mail["to"], PERSON);
        let subject = mail["subject"].as_str().unwrap();
        assert!(
            subject.contains("s'est connecté pour vous sur FranceConnect (tests)"),
            "{subject}"
        );
        let body = mail["text"].as_str().unwrap();
        for expected in [
            "Camille (Structure mediatheque)",
            "Démarche : Social - Santé",
            "Site : FranceConnect (tests)",
            // Finistère: metropolitan time, an hour ahead of UTC in November.
            "le 22 novembre 2026 à 10 h",
            "Ce n'était pas vous",
        ] {
            assert!(body.contains(expected), "{expected} in {body}");
        }
        let verify = link(body, &app.url("/recu/"));
        let report = link(body, &app.url("/signalement/"));

        // The receipt is genuine and names its journal entry once integrated.
        let (status, page) = text(&app.client, &verify).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Reçu authentique"), "{page}");
        assert!(!page.contains("DUBOIS") && !page.contains("Angela"));
        ac_web::audit_worker::run_once(&app.state, true).unwrap();
        let seq = count(
            &mut app.db.db.conn().unwrap(),
            "SELECT MAX(seq) AS n FROM audit_log WHERE action = 'delegation.completed'",
        )
        .unwrap();
        let (_, page) = text(&app.client, &verify).await;
        assert!(
            page.contains(&format!("l'entrée n° {seq} du journal")),
            "{page}"
        );
        for forged in ["/recu/77777777777777777777777777777777", "/recu/abc"] {
            let (status, page) = text(&app.client, &app.url(forged)).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert!(page.contains("Reçu inconnu"));
        }

        // « Ce n'était pas moi »: a code issued before is refused at the token step, and no new
        // code is issued.
        let before = provider::code(&s, &[]).await;
        let me = browser();
        let (status, page) = text(&me, &report).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Ce n'était pas moi"));
        let csrf = extract_csrf(&page);
        let forged = me
            .post(&report)
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let done = me
            .post(&report)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        assert!(
            done.text()
                .await
                .unwrap()
                .contains("Le mandat est suspendu")
        );
        let (_, refused) = tok(app, &before, &[]).await;
        assert_eq!(refused["error"], "invalid_grant", "{refused}");
        assert_refused(app, "ACT009").await;
        // « Mes mandats » shows the person what their report did.
        assert_eq!(suspended_in_own_space(app).len(), 1);
        let again = me
            .post(&report)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::GONE, "single use");
        assert!(app.journal_actions().contains(&"report.opened".to_owned()));

        // The référent is told by e-mail, and sees it in the console.
        assert!(node_round(sender.clone()).await.sent >= 1);
        assert!(
            smtp.received().iter().any(|m| m["to"] == provider::EMAIL
                && m["subject"] == "Une personne signale un usage de son mandat"),
            "{:?}",
            smtp.received()
        );
        let list_url = format!("/referent/{STRUCTURE}/signalements");
        let res = app.get(&list_url).await;
        assert_eq!(res.status(), StatusCode::OK);
        let list = res.text().await.unwrap();
        assert!(list.contains("Social - Santé"), "{list}");
        assert!(!list.contains("DUBOIS"), "the list names no one");
        app.coordinate_nationally(&s.aidant);
        let res = app.get("/coordination/signalements-personnes").await;
        assert_eq!(res.status(), StatusCode::OK);
        let coordination = res.text().await.unwrap();
        assert!(
            coordination.contains("Structure mediatheque") && !coordination.contains("DUBOIS"),
            "{coordination}"
        );
        let restore_path = format!(
            "/referent/{STRUCTURE}/signalements/{}/retablir",
            ac_e2e::between(&list, "/signalements/", "/revoquer")
        );
        let other = app
            .get(&format!(
                "/referent/{STRUCTURE}/signalements/not-a-report/retablir"
            ))
            .await;
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
        let res = app.get(&restore_path).await;
        assert_eq!(res.status(), StatusCode::OK);
        let restore_page = res.text().await.unwrap();
        assert!(restore_page.contains("Angela Claire DUBOIS"));
        let csrf = extract_csrf(&restore_page);
        // Without the person's tick, even with a good code, nothing is restored; with it and a
        // wrong code neither.
        app.next_totp_step();
        let unticked = app
            .post_form(&restore_path, &[("csrf", &csrf), ("code", &app.totp_now())])
            .await;
        assert_eq!(unticked.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let wrong_code = app
            .post_form(
                &restore_path,
                &[("csrf", &csrf), ("confirmation", "oui"), ("code", "000000")],
            )
            .await;
        assert_eq!(wrong_code.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.count_rows("receipt_reports WHERE closed_at IS NULL"), 1);
        let restored = app
            .post_form(
                &restore_path,
                &[
                    ("csrf", &csrf),
                    ("confirmation", "oui"),
                    ("code", &app.totp_now()),
                ],
            )
            .await;
        assert_eq!(restored.status(), StatusCode::SEE_OTHER);
        let list = app.get(&list_url).await.text().await.unwrap();
        assert!(list.contains("Aucun signalement ouvert"), "{list}");
        assert!(suspended_in_own_space(app).is_empty());
        delegated_use(&s).await;
        let closed = app
            .journal()
            .into_iter()
            .find(|e| e["action"] == "report.closed")
            .unwrap();
        assert_eq!(closed["details"]["outcome"], "restored");
        assert_eq!(closed["details"]["confirmation"], "usager_on_screen");
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn the_weekly_digest_and_the_reminder_thirty_days_before_the_end() {
    for app in TestApp::each().await {
        let s = signed_in(app).await;
        let app = &s.app;
        choose(app, Choice::Weekly);
        delegated_use(&s).await;
        delegated_use(&s).await;
        assert_eq!(
            jobs::run_once(&app.state).unwrap(),
            0,
            "uses wait for the digest"
        );
        let round = jobs::run_weekly(&app.state, "node-a").unwrap();
        assert!(round.ran);
        assert_eq!(round.digests, 0, "not a week yet");

        // Another node cannot run the weekly round while the lease is held.
        ac_storage::leases::acquire(
            &mut app.db.db.conn().unwrap(),
            "receipts-weekly",
            "node-b",
            Duration::minutes(10),
            app.clock_now(),
        )
        .unwrap();
        assert!(!jobs::run_weekly(&app.state, "node-a").unwrap().ran);
        ac_storage::leases::release(&mut app.db.db.conn().unwrap(), "receipts-weekly", "node-b")
            .unwrap();

        app.clock.advance(Duration::days(7) + Duration::hours(1));
        assert_eq!(jobs::run_weekly(&app.state, "node-a").unwrap().digests, 1);
        assert_eq!(jobs::run_weekly(&app.state, "node-a").unwrap().digests, 0);
        worker_round(app).await;
        let sent = app.sent_mail();
        let digest = sent.iter().find(|m| m.to == PERSON).unwrap();
        assert!(
            digest.subject.contains("cette semaine (2)"),
            "{}",
            digest.subject
        );
        assert_eq!(digest.text.matches("/signalement/").count(), 2);
        assert_eq!(digest.text.matches("/recu/").count(), 2);

        // Thirty days before the mandate's end, once (its creation must be in the journal).
        ac_web::audit_worker::run_once(&app.state, true).unwrap();
        app.clock.advance(Duration::days(365 - 30 - 7));
        let round = jobs::run_weekly(&app.state, "node-a").unwrap();
        assert_eq!(round.reminders, 1);
        assert_eq!(jobs::run_weekly(&app.state, "node-a").unwrap().reminders, 0);
        assert_eq!(jobs::run_once(&app.state).unwrap(), 1);
        worker_round(app).await;
        let reminder = app
            .sent_mail()
            .into_iter()
            .find(|m| m.to == PERSON && m.subject.contains("se termine le"))
            .unwrap();
        assert!(
            reminder.text.contains("Social - Santé, Argent"),
            "{}",
            reminder.text
        );
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn report_links_expire_and_receipt_lookups_are_rate_limited() {
    for db in TestDatabase::each_as_runtime_role().unwrap() {
        let mut settings = test_settings();
        settings.receipts.lookups_per_ip = 4;
        let s = signed_in(TestApp::spawn(db, settings).await).await;
        let app = &s.app;
        choose(app, Choice::EachUse);
        delegated_use(&s).await;
        jobs::run_once(&app.state).unwrap();
        worker_round(app).await;
        let mail = app
            .sent_mail()
            .into_iter()
            .find(|m| m.to == PERSON)
            .unwrap();
        let report = link(&mail.text, &app.url("/signalement/"));

        // Expired after its 30 days: nothing changes.
        app.clock.advance(Duration::days(31));
        let (status, page) = text(&browser(), &report).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(page.contains("expiré"), "{page}");
        assert_eq!(app.count_rows("receipt_reports"), 0, "nothing was reported");

        // Lookups counted per IP (four per window here): the expired link was one, three more
        // answer, the fifth is refused, whichever page it is for.
        for _ in 0..3 {
            let (status, _) = text(&app.client, &app.url("/recu/abc")).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (status, _) = text(&app.client, &app.url("/recu/abc")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let (status, _) = text(&browser(), &report).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

        // A référent of another structure: this structure's reports are refused and journaled;
        // through their own structure, an id that is not one of its open reports is 404 (the
        // storage test closes another structure's real report id: NotFound).
        let other = app.with_aidant("referente@autre.exemple.fr", &["autre"]);
        app.db
            .execute_raw(&format!(
                "UPDATE aidant_organisations SET is_referent = TRUE WHERE aidant_id = '{}'",
                other.as_str()
            ))
            .unwrap();
        app.sign_in("referente@autre.exemple.fr").await;
        let res = app
            .get(&format!("/referent/{STRUCTURE}/signalements"))
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let denied = app
            .journal()
            .into_iter()
            .filter(|e| e["action"] == "access.denied")
            .count();
        assert!(denied >= 1);
        let csrf = extract_csrf(
            &app.get("/referent/autre/signalements")
                .await
                .text()
                .await
                .unwrap(),
        );
        let res = app
            .post_form(
                "/referent/autre/signalements/not-theirs/revoquer",
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        s.app.stop().await;
    }
}

#[actix_web::test]
async fn at_consent_the_person_asks_for_receipts_and_the_mandate_is_their_first() {
    for app in TestApp::each().await {
        app.with_aidant("camille@structure.exemple.fr", &["org-a"]);
        app.sign_in("camille@structure.exemple.fr").await;
        let recap = app.identified("0").await;
        assert!(recap.contains("Recevoir un reçu"), "{recap}");
        let csrf = extract_csrf(&recap);
        let token = ac_e2e::between(&recap, "name=\"token\" value=\"", "\"");
        app.next_totp_step();
        let code = app.totp_now();
        let accord = |extra: &[(&'static str, &'static str)], code: &str| {
            let mut form = vec![
                ("csrf", csrf.clone()),
                ("token", token.clone()),
                ("accord", "oui".to_owned()),
                ("code", code.to_owned()),
            ];
            form.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
            let app = &app;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.post_form("/mandats/accord", &form).await
            }
        };
        // Receipts without an address: asked again, nothing created, the code not spent.
        let res = accord(&[("choix", "weekly")], &code).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("donnez une adresse"));
        // A wrong code with an address: the recap comes back without the address in it.
        let res = accord(
            &[
                ("choix", "each_use"),
                ("courriel", "angela.perso@exemple.fr"),
            ],
            "000000",
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            !res.text()
                .await
                .unwrap()
                .contains("angela.perso@exemple.fr")
        );
        assert_eq!(app.count_rows("mandates"), 0);

        let res = accord(
            &[
                ("choix", "each_use"),
                ("courriel", "angela.perso@exemple.fr"),
            ],
            &code,
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let mandate_page = ac_e2e::location(&res);
        let changed = app
            .journal()
            .into_iter()
            .find(|e| e["action"] == "usager.notifications_changed")
            .unwrap();
        assert_eq!(changed["actor"]["kind"], "aidant");
        assert!(!changed.to_string().contains("angela.perso"));

        // The mandate's creation is the person's first receipt.
        assert_eq!(jobs::run_once(&app.state).unwrap(), 1);
        worker_round(&app).await;
        let receipt = app
            .sent_mail()
            .into_iter()
            .find(|m| m.to == "angela.perso@exemple.fr")
            .unwrap();
        assert!(
            receipt.subject.contains("Un mandat a été créé pour vous"),
            "{}",
            receipt.subject
        );
        assert!(
            receipt.text.contains("Qui : Camille (Structure org-a)"),
            "{}",
            receipt.text
        );
        assert!(
            receipt.text.contains("Social - Santé, Argent"),
            "{}",
            receipt.text
        );

        // Afterwards the aidant sees it masked only: on the mandate and on the person's page.
        let id = ac_mandates::MandateId::new(mandate_page.trim_start_matches("/mandats/"));
        let usager = ac_storage::mandates::get(&mut app.db.db.conn().unwrap(), &id)
            .unwrap()
            .usager_id;
        let mandate = app.get(&mandate_page).await.text().await.unwrap();
        assert!(!mandate.contains("angela.perso@exemple.fr"));
        let person = app
            .get(&format!("/usagers/{}", usager.as_str()))
            .await
            .text()
            .await
            .unwrap();
        assert!(person.contains("a•••@exemple.fr"), "{person}");
        assert!(!person.contains("angela.perso@exemple.fr"));
        app.stop().await;
    }
}

/// A receipt whose address no longer opens (sealed under a key since removed from the ring) is
/// set aside: no message, never tried again — so that such receipts cannot pile up at the head
/// of the queue and hold back everyone else's — while the next person's receipts still go.
#[actix_web::test]
async fn a_receipt_whose_address_no_longer_opens_is_set_aside_and_holds_nothing_back() {
    for db in TestDatabase::each_as_runtime_role().unwrap() {
        let s = signed_in(TestApp::spawn(db, test_settings()).await).await;
        let app = &s.app;
        choose(app, Choice::EachUse);
        {
            use diesel::RunQueryDsl;
            diesel::sql_query(
                "UPDATE aide_notification_preferences SET email_sealed = 'v1.retired-key.AAAA'",
            )
            .execute(&mut *app.db.db.conn().unwrap())
            .unwrap();
        }
        delegated_use(&s).await;
        delegated_use(&s).await;
        assert_eq!(
            receipts::due_now(&mut app.db.db.conn().unwrap(), 10)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            jobs::run_once(&app.state).unwrap(),
            2,
            "both dispatched, without a message"
        );
        assert!(
            receipts::due_now(&mut app.db.db.conn().unwrap(), 10)
                .unwrap()
                .is_empty(),
            "set aside, not tried again"
        );
        worker_round(app).await;
        assert!(app.sent_mail().iter().all(|m| m.to != PERSON));
        // The address given again opens: the next use is receipted.
        choose(app, Choice::EachUse);
        delegated_use(&s).await;
        assert_eq!(jobs::run_once(&app.state).unwrap(), 1);
        worker_round(app).await;
        assert_eq!(app.sent_mail().iter().filter(|m| m.to == PERSON).count(), 1);
        s.app.stop().await;
    }
}
