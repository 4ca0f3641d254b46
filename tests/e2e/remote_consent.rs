//! Consent at a distance (docs/domain.md "Journeys" 2b): the aidant sends a
//! single-use link by SMS (Brevo's API, here its local fake; or the dev outbox) or by e-mail
//! (a real SMTP server), the person identifies with the demonstration FranceConnect in their own
//! browser and consents or refuses, the aidant confirms with a TOTP code in time, and the
//! mandate records `consent=remote`. Both backends.

use ac_e2e::brevo::{self, FakeBrevo};
use ac_e2e::smtp::SmtpServer;
use ac_e2e::{TestApp, between, extract_csrf, location, test_settings};
use ac_storage::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;

const EMAIL: &str = "camille.martin@exemple.fr";
const PHONE: &str = "06 12 34 56 78";
/// The number as it could sit in a database: none of these may be found there.
const PHONE_FORMS: &[&str] = &["0612345678", "33612345678", "612345678", "06 12 34 56 78"];
const PERSON_EMAIL: &str = "personne.eloignee@exemple.fr";

/// The person's own phone: a browser with its own cookies, never the aidant's.
struct Phone {
    client: reqwest::Client,
}

impl Phone {
    fn new() -> Phone {
        Phone {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
        }
    }

    async fn get(&self, url: &str) -> (StatusCode, String) {
        let res = self.client.get(url).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// Opens the link and presses « S'identifier avec FranceConnect »: the answer (a redirect
    /// to the provider, or a page).
    async fn press_franceconnect(&self, app: &TestApp, link: &str) -> reqwest::Response {
        let (status, html) = self.get(link).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let csrf = extract_csrf(&html);
        let token = between(&html, "name=\"token\" value=\"", "\"");
        self.client
            .post(app.url("/accord/franceconnect"))
            .form(&[("csrf", csrf.as_str()), ("token", token.as_str())])
            .send()
            .await
            .unwrap()
    }

    /// The whole identification: link, FranceConnect (demonstration person `identity`), the
    /// return; the answer of the return.
    async fn identify(&self, app: &TestApp, link: &str, identity: &str) -> reqwest::Response {
        let res = self.press_franceconnect(app, link).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let authorize = location(&res);
        let (status, html) = self.get(&authorize).await;
        assert_eq!(status, StatusCode::OK);
        let interaction = between(&html, "name=\"interaction\" value=\"", "\"");
        let res = self
            .client
            .post(app.url("/demo/franceconnect/authorize/choix"))
            .form(&[
                ("interaction", interaction.as_str()),
                ("identity", identity),
            ])
            .send()
            .await
            .unwrap();
        let callback = location(&res);
        assert!(
            callback.starts_with(&app.url("/accord/franceconnect/retour?")),
            "{callback}"
        );
        self.client.get(&callback).send().await.unwrap()
    }

    /// Identified, on the recap: its HTML.
    async fn recap(&self, app: &TestApp, link: &str) -> String {
        let res = self.identify(app, link, "0").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/accord/recapitulatif");
        let (status, html) = self.get(&app.url("/accord/recapitulatif")).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        html
    }

    /// A form of the comprehension check (`/accord/questions`), in French: its answer.
    async fn question(
        &self,
        app: &TestApp,
        recap: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let csrf = extract_csrf(recap);
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("texte", "complet"),
            ("langue", "fr"),
        ];
        form.extend_from_slice(fields);
        self.client
            .post(app.url("/accord/questions"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// The three questions, each answered right, back to the recap.
    async fn pass_questions(&self, app: &TestApp, recap: &str) {
        let res = self.question(app, recap, &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.text().await.unwrap().contains("Question 1 sur 3"));
        for (question, answer) in [
            ("qui", "la-structure"),
            ("jusqu-a-quand", "date-du-mandat"),
            ("arreter", "structure-ou-mon-espace"),
        ] {
            let res = self
                .question(app, recap, &[("question", question), ("reponse", answer)])
                .await;
            if question == "arreter" {
                assert_eq!(res.status(), StatusCode::SEE_OTHER);
                assert_eq!(
                    location(&res),
                    "/accord/recapitulatif?texte=complet&langue=fr"
                );
            } else {
                assert_eq!(res.status(), StatusCode::OK);
                assert!(res.text().await.unwrap().contains("Bonne réponse."));
            }
        }
    }

    /// The questions, then « Je donne mon accord »: the answer's page.
    async fn consent(&self, app: &TestApp, recap: &str) -> (StatusCode, String) {
        self.pass_questions(app, recap).await;
        self.answer(app, recap, "accord").await
    }

    async fn answer(&self, app: &TestApp, recap: &str, reponse: &str) -> (StatusCode, String) {
        let csrf = extract_csrf(recap);
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("reponse", reponse),
            ("texte", "complet"),
        ];
        if reponse == "accord" {
            form.push(("accord", "oui"));
        }
        let res = self
            .client
            .post(app.url("/accord/reponse"))
            .form(&form)
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }
}

/// The aidant prepares a mandate (social, argent, one year) and sends its link.
async fn send_link(app: &TestApp, canal: &str, adresse: &str) -> reqwest::Response {
    let res = app
        .get("/mandats/a-distance/nouveau?demarche=social&demarche=argent&duree=365")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let csrf = extract_csrf(&res.text().await.unwrap());
    app.post_form(
        "/mandats/a-distance",
        &[
            ("csrf", &csrf),
            ("demarche", "social"),
            ("demarche", "argent"),
            ("duree", "365"),
            ("canal", canal),
            ("adresse", adresse),
        ],
    )
    .await
}

/// The links the development outbox holds (SMS written beside the mail files), oldest first.
fn outbox_sms(app: &TestApp) -> Vec<String> {
    let dir = &app.state.settings.mail.outbox_dir;
    let mut texts: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("sms-"))
                .map(|e| {
                    (
                        e.metadata().unwrap().modified().unwrap(),
                        std::fs::read_to_string(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    texts.sort_by_key(|t| t.0);
    texts.into_iter().map(|t| t.1).collect()
}

/// The link in a message's text.
fn link_in(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("http") && l.contains("/accord/"))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .to_owned()
}

async fn sent_by_sms(app: &TestApp) -> String {
    let before = outbox_sms(app).len();
    let res = send_link(app, "sms", PHONE).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/mandats/a-distance?envoye=1");
    let all = outbox_sms(app);
    assert_eq!(all.len(), before + 1);
    link_in(&all[before])
}

/// Every byte the database holds, as text: the SQLite file and its WAL; on PostgreSQL every
/// row of every table of the test's schema.
fn database_text(app: &TestApp) -> String {
    use diesel::RunQueryDsl;
    match &app.db.url {
        ac_storage::DatabaseUrl::Sqlite(path) => {
            let mut text = String::new();
            for suffix in ["", "-wal"] {
                let file = format!("{}{suffix}", path.display());
                if let Ok(bytes) = std::fs::read(&file) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            assert!(text.contains("remote_consents"), "the file was read");
            text
        }
        ac_storage::DatabaseUrl::Postgres(_) => {
            #[derive(diesel::QueryableByName)]
            struct Name {
                #[diesel(sql_type = diesel::sql_types::Text)]
                name: String,
            }
            let conn = &mut *app.db.db.conn().unwrap();
            let tables: Vec<Name> = diesel::sql_query(
                "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema()",
            )
            .load(conn)
            .unwrap();
            assert!(tables.len() > 20, "the schema's tables were listed");
            let mut text = String::new();
            for table in tables {
                let rows: Vec<Name> =
                    diesel::sql_query(format!("SELECT t::text AS name FROM \"{}\" t", table.name))
                        .load(conn)
                        .unwrap();
                for row in rows {
                    text.push_str(&row.name);
                    text.push('\n');
                }
            }
            text
        }
    }
}

fn entries(app: &TestApp, action: &str) -> Vec<Value> {
    app.journal()
        .into_iter()
        .filter(|e| e["action"] == action)
        .collect()
}

/// The aidant's list, and the confirmation form of the consent awaiting it.
async fn confirm(app: &TestApp) -> reqwest::Response {
    let res = app.get("/mandats/a-distance").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("accordé — à confirmer"), "{html}");
    let action = between(&html, "action=\"/mandats/a-distance/", "\"");
    // A wrong code creates nothing.
    let wrong = app
        .post_form(
            &format!("/mandats/a-distance/{action}"),
            &[("csrf", &extract_csrf(&html)), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count_rows("mandates"), 0);
    app.next_totp_step();
    let code = app.totp_now();
    app.post_form(
        &format!("/mandats/a-distance/{action}"),
        &[("csrf", &extract_csrf(&html)), ("code", &code)],
    )
    .await
}

/// After the person's consent: the aidant confirms and the mandate exists, journaled with
/// `consent=remote`, the channel and both times.
async fn confirmed_with(app: &TestApp, channel: &str) {
    let consented_at = app.clock_now().unix_timestamp();
    app.clock.advance(time::Duration::minutes(3));
    let res = confirm(app).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mandate = location(&res);
    assert!(mandate.starts_with("/mandats/"), "{mandate}");
    let page = app.get(&mandate).await.text().await.unwrap();
    assert!(page.contains("DUBOIS"), "{page}");
    let created = entries(app, "mandate.created");
    assert_eq!(created.len(), 1);
    let d = &created[0]["details"];
    assert_eq!(d["consent"], "remote");
    assert_eq!(d["channel"], channel);
    assert_eq!(d["identification"], "franceconnect");
    assert_eq!(d["consented_at"], consented_at.to_string());
    assert_eq!(
        d["confirmed_at"],
        app.clock_now().unix_timestamp().to_string()
    );
    assert!(
        d["consented_at"] != d["confirmed_at"],
        "both times are recorded"
    );
    // The three questions answered right the first time, on pages in French.
    assert_eq!(d["comprehension"], "passed");
    assert_eq!(d["comprehension_tries"], "1");
    assert_eq!(d["language"], "fr");
    assert_eq!(d["text_shown"], "full");
    let given = entries(app, "remote_consent.given");
    assert_eq!(given.len(), 1);
    assert_eq!(given[0]["actor"]["kind"], "usager", "the person consented");
    assert_eq!(given[0]["details"]["channel"], channel);
    assert_eq!(given[0]["details"]["comprehension"], "passed");
    assert_eq!(given[0]["details"]["language"], "fr");
    let sent = entries(app, "remote_consent.sent");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["details"]["channel"], channel);
    // The list now says so, with the mandate.
    let list = app.get("/mandats/a-distance").await.text().await.unwrap();
    assert!(
        list.contains("confirmé — mandat créé") && list.contains(&mandate),
        "{list}"
    );
}

fn with_brevo(fake: &FakeBrevo, key_dir: &std::path::Path) -> ac_config::Settings {
    let key_file = key_dir.join("brevo.key");
    std::fs::write(&key_file, format!("{}\n", brevo::API_KEY)).unwrap();
    let mut settings = test_settings();
    settings.remote_consent.sms_transport = ac_config::SmsTransport::Brevo;
    settings.remote_consent.brevo_url = fake.url.clone();
    settings.remote_consent.brevo_api_key_file = key_file;
    settings
}

#[actix_web::test]
async fn a_link_by_sms_through_brevo_ends_in_a_mandate_with_consent_remote() {
    for db in TestDatabase::each_as_runtime_role().unwrap() {
        let fake = FakeBrevo::start();
        let keys = tempfile::tempdir().unwrap();
        let app = TestApp::spawn(db, with_brevo(&fake, keys.path())).await;
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;

        let res = send_link(&app, "sms", PHONE).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let received = fake.received();
        assert_eq!(received.len(), 1, "one SMS reached the provider");
        let sms = &received[0];
        assert_eq!(sms.api_key, brevo::API_KEY);
        assert_eq!(sms.body["recipient"], "33612345678");
        assert_eq!(sms.body["sender"], "AidantsCnct");
        assert_eq!(sms.body["type"], "transactional");
        let content = sms.body["content"].as_str().unwrap();
        assert!(
            content.contains("Camille (Structure org-a)"),
            "who: {content}"
        );
        assert!(content.contains("mandat"), "what: {content}");
        assert!(
            content.contains("avant le 22 novembre 2026 à 12 h 00"),
            "until: {content}"
        );
        assert!(!content.contains("DUBOIS") && !content.contains("612345678"));
        let link = link_in(content);

        let phone = Phone::new();
        let recap = phone.recap(&app, &link).await;
        assert!(
            recap.contains("Le mandat proposé") && recap.contains("DUBOIS"),
            "{recap}"
        );
        // Read aloud as on the tablet: the recording of the text shown, with its transcript.
        assert!(
            recap.contains("<audio controls preload=\"none\""),
            "{recap}"
        );
        assert!(recap.contains("<source src=\"&#x2F;static&#x2F;audio&#x2F;"));
        assert!(
            recap.contains("Écouter le texte complet") && recap.contains("id=\"texte-complet\"")
        );
        let (status, easy) = phone
            .get(&app.url("/accord/recapitulatif?texte=facile"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(easy.contains("Écouter le texte facile à lire") && easy.contains("ac-pictogram"));
        // The aidant sees « ouvert » meanwhile, with no name yet.
        let list = app.get("/mandats/a-distance").await.text().await.unwrap();
        assert!(list.contains("data-status=\"opened\""), "{list}");
        assert!(!list.contains("DUBOIS"));
        let (status, done) = phone.consent(&app, &recap).await;
        assert_eq!(status, StatusCode::OK);
        assert!(done.contains("Merci, votre accord est envoyé"), "{done}");
        confirmed_with(&app, "sms").await;

        // The number was used to send, and is nowhere in the database.
        let stored = database_text(&app);
        for form in PHONE_FORMS {
            assert!(!stored.contains(form), "{form} is in the database");
        }
        fake.stop().await;
        app.stop().await;
    }
}

#[actix_web::test]
async fn brevo_refusals_show_the_aidant_a_french_page_and_store_nothing() {
    for db in TestDatabase::each_as_runtime_role().unwrap() {
        let fake = FakeBrevo::start();
        let keys = tempfile::tempdir().unwrap();
        let app = TestApp::spawn(db, with_brevo(&fake, keys.path())).await;
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        // 402 not_enough_credits, as Brevo answers an account without credit.
        let res = send_link(&app, "sms", "+33 6 99 99 99 99").await;
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("L&#x27;envoi n&#x27;a pas abouti")
        );
        assert_eq!(app.count_rows("remote_consents"), 0);
        assert!(entries(&app, "remote_consent.sent").is_empty());
        assert!(
            ac_e2e::captured_log()
                .contains("SMS002 fournisseur SMS : refus 402 (not_enough_credits)")
        );
        // A number that is no number is refused before anything is sent.
        let res = send_link(&app, "sms", "06 12").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fake.received().len(), 0);
        fake.stop().await;
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_wrong_brevo_key_is_refused_by_the_provider() {
    for db in TestDatabase::each_as_runtime_role().unwrap() {
        let fake = FakeBrevo::start();
        let keys = tempfile::tempdir().unwrap();
        let settings = with_brevo(&fake, keys.path());
        std::fs::write(&settings.remote_consent.brevo_api_key_file, "xkeysib-wrong").unwrap();
        let app = TestApp::spawn(db, settings).await;
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let res = send_link(&app, "sms", PHONE).await;
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
        assert!(ac_e2e::captured_log().contains("refus 401 (unauthorized)"));
        assert_eq!(app.count_rows("remote_consents"), 0);
        fake.stop().await;
        app.stop().await;
    }
}

/// Signs the aidant in with a link that went through the SMTP server.
async fn sign_in_through(app: &TestApp, smtp: &SmtpServer) {
    assert_eq!(app.request_link(EMAIL).await.status(), StatusCode::OK);
    let text = wait_for(smtp, 1).await[0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    app.open_link(ac_e2e::link_token(&text).expose()).await;
    let res = app.submit_code(&app.totp_now()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

async fn wait_for(smtp: &SmtpServer, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let received = smtp.received();
        if received.len() >= count {
            return received;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{count} messages did not reach the SMTP server");
}

#[actix_web::test]
async fn a_link_by_email_goes_through_a_real_smtp_server_and_the_address_is_not_kept() {
    for db in TestDatabase::each_as_runtime_role().unwrap() {
        let smtp = SmtpServer::start();
        let mut settings = test_settings();
        settings.mail.transport = ac_config::MailTransport::Smtp;
        settings.mail.smtp.host = "127.0.0.1".into();
        settings.mail.smtp.port = smtp.port;
        settings.mail.smtp.tls = ac_config::SmtpTls::None;
        let app = TestApp::spawn(db, settings).await;
        app.with_aidant(EMAIL, &["org-a"]);
        sign_in_through(&app, &smtp).await;

        let res = send_link(&app, "courriel", PERSON_EMAIL).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let received = wait_for(&smtp, 2).await;
        let message = received
            .iter()
            .find(|m| m["to"] == PERSON_EMAIL)
            .expect("the link reached the person's mailbox");
        assert_eq!(
            message["subject"],
            "Aidants Connect : votre accord est demandé pour un mandat"
        );
        let text = message["text"].as_str().unwrap();
        assert!(
            text.contains("Camille, de la structure « Structure org-a »"),
            "{text}"
        );
        assert!(text.contains("Il ne marche plus après le 22 novembre 2026 à 12 h 00"));
        assert!(
            message["html"]
                .as_str()
                .unwrap()
                .contains("Lire le mandat et répondre")
        );
        let link = link_in(text);

        let phone = Phone::new();
        let recap = phone.recap(&app, &link).await;
        let (status, _) = phone.consent(&app, &recap).await;
        assert_eq!(status, StatusCode::OK);
        confirmed_with(&app, "email").await;

        let stored = database_text(&app);
        assert!(
            !stored.contains(PERSON_EMAIL),
            "the address is in the database"
        );
        assert!(!stored.contains("personne.eloignee"));
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_link_works_once_then_says_so_and_only_its_hash_is_stored() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let link = sent_by_sms(&app).await;
        let token = link.rsplit('/').next().unwrap().to_owned();
        // Only the token's SHA-256 is stored; the token itself is nowhere.
        let hash = ac_auth::Token::parse(&token).unwrap().hash();
        let stored = database_text(&app);
        assert!(stored.contains(hash.as_str()));
        assert!(
            !stored.contains(&token),
            "the link's token is stored in clear"
        );

        // A message app previewing the link changes nothing.
        let preview = Phone::new();
        let (status, csrf_page) = preview.get(&link).await;
        assert_eq!(status, StatusCode::OK);
        let phone = Phone::new();
        let _recap = phone.recap(&app, &link).await;
        // The same phone opening the message again goes back to its recap.
        let res = phone.client.get(&link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/accord/recapitulatif");
        // Used: another browser gets a clear page, not the journey.
        let other = Phone::new();
        let (status, html) = other.get(&link).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("Ce lien a déjà servi"), "{html}");
        // Even with the form its page showed before.
        let res = preview
            .client
            .post(app.url("/accord/franceconnect"))
            .form(&[
                ("csrf", extract_csrf(&csrf_page).as_str()),
                ("token", token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::GONE);
        // An unknown or malformed link: a French page, never a 500.
        let (status, html) = other.get(&app.url("/accord/nimportequoi")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            html.contains("Ce lien n&#x27;existe pas") || html.contains("Ce lien n'existe pas")
        );
        let unknown = ac_auth::Token::generate(&ring::rand::SystemRandom::new()).unwrap();
        let (status, _) = other
            .get(&app.url(&format!("/accord/{}", unknown.expose())))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}

#[actix_web::test]
async fn an_unused_link_expires_and_the_aidant_sees_it() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let link = sent_by_sms(&app).await;
        app.clock
            .advance(app.state.settings.remote_consent.link_ttl);
        let (status, html) = Phone::new().get(&link).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("Ce lien a expiré"), "{html}");
        // The aidant signs in again (the session outlived its idle time) and sees « expiré ».
        app.sign_in(EMAIL).await;
        let list = app.get("/mandats/a-distance").await.text().await.unwrap();
        assert!(list.contains("data-status=\"expired\""), "{list}");
        let expired = entries(&app, "remote_consent.expired");
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0]["details"]["stage"], "link");
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_person_refuses_nothing_is_created_and_the_aidant_sees_refuse() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let link = sent_by_sms(&app).await;
        let phone = Phone::new();
        let recap = phone.recap(&app, &link).await;
        assert_eq!(app.count_rows("usagers"), 1);
        let (status, html) = phone.answer(&app, &recap, "refus").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Vous avez refusé"), "{html}");
        assert_eq!(app.count_rows("mandates"), 0);
        assert_eq!(
            app.count_rows("usagers"),
            0,
            "the identity fetched for it is forgotten"
        );
        let refused = entries(&app, "mandate.refused");
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0]["details"]["step"], "remote");
        assert_eq!(refused[0]["details"]["refused_by"], "usager");
        assert_eq!(refused[0]["details"]["channel"], "sms");
        assert_eq!(entries(&app, "usager.deleted").len(), 1);
        let list = app.get("/mandats/a-distance").await.text().await.unwrap();
        assert!(
            list.contains("data-status=\"refused\"") && list.contains("refusé"),
            "{list}"
        );
        assert!(!list.contains("Confirmer et créer le mandat"));
        // Nothing more can be answered from that phone.
        let (status, _) = phone.answer(&app, &recap, "accord").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_confirmation_after_the_bounded_time_creates_nothing() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let link = sent_by_sms(&app).await;
        let phone = Phone::new();
        let recap = phone.recap(&app, &link).await;
        assert_eq!(phone.consent(&app, &recap).await.0, StatusCode::OK);
        // The list still offers the form; the aidant types the code too late.
        let res = app.get("/mandats/a-distance").await;
        let html = res.text().await.unwrap();
        let action = between(&html, "action=\"/mandats/a-distance/", "\"");
        app.clock
            .advance(app.state.settings.remote_consent.confirm_ttl);
        app.sign_in(EMAIL).await; // a fresh step-up: only the consent's time is over
        app.next_totp_step();
        let csrf = app.csrf_of("/mandats/a-distance").await;
        let res = app
            .post_form(
                &format!("/mandats/a-distance/{action}"),
                &[("csrf", &csrf), ("code", &app.totp_now())],
            )
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let page = res.text().await.unwrap();
        assert!(page.contains("Le délai pour confirmer est passé"), "{page}");
        assert_eq!(app.count_rows("mandates"), 0);
        assert_eq!(app.count_rows("usagers"), 0, "the identity is forgotten");
        let expired = entries(&app, "remote_consent.expired");
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0]["details"]["stage"], "confirmation");
        app.stop().await;
    }
}

#[actix_web::test]
async fn housekeeping_expires_what_ran_out_and_deletes_old_rows() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let link = sent_by_sms(&app).await;
        let phone = Phone::new();
        let recap = phone.recap(&app, &link).await;
        assert_eq!(phone.consent(&app, &recap).await.0, StatusCode::OK);
        assert_eq!(app.count_rows("usagers"), 1);
        // Nobody opens the list: the hourly housekeeping expires it all the same.
        app.clock.advance(time::Duration::days(1));
        ac_web::housekeeping::run_once(&app.state).unwrap();
        assert_eq!(app.count_rows("usagers"), 0, "the identity is forgotten");
        let expired = entries(&app, "remote_consent.expired");
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0]["details"]["stage"], "confirmation");
        assert_eq!(app.count_rows("remote_consents"), 1);
        app.clock.advance(time::Duration::days(7));
        ac_web::housekeeping::run_once(&app.state).unwrap();
        assert_eq!(app.count_rows("remote_consents"), 0, "old rows are deleted");
        app.stop().await;
    }
}

#[actix_web::test]
async fn an_account_that_may_not_create_mandates_sends_no_link() {
    for app in TestApp::each().await {
        let aidant = app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        app.db
            .execute_raw(&format!(
                "UPDATE aidants SET can_create_mandates = false WHERE id = '{}'",
                aidant.as_str()
            ))
            .unwrap();
        let res = app
            .get("/mandats/a-distance/nouveau?demarche=social&duree=365")
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("MND005"));
        assert!(outbox_sms(&app).is_empty());
        app.stop().await;
    }
}

#[actix_web::test]
async fn sending_and_opening_links_are_rate_limited() {
    for db in TestDatabase::each_as_runtime_role().unwrap() {
        let mut settings = test_settings();
        settings.remote_consent.sends_per_aidant = 2;
        settings.remote_consent.opens_per_ip = 3;
        let app = TestApp::spawn(db, settings).await;
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let link = sent_by_sms(&app).await;
        sent_by_sms(&app).await;
        let res = send_link(&app, "sms", PHONE).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(outbox_sms(&app).len(), 2, "the third link was not sent");
        let phone = Phone::new();
        for _ in 0..3 {
            assert_eq!(phone.get(&link).await.0, StatusCode::OK);
        }
        assert_eq!(phone.get(&link).await.0, StatusCode::TOO_MANY_REQUESTS);
        let denied = entries(&app, "access.denied");
        let limits: Vec<&str> = denied
            .iter()
            .filter_map(|e| e["details"]["limit"].as_str())
            .collect();
        assert!(limits.contains(&"remote_sends_per_aidant"), "{limits:?}");
        assert!(limits.contains(&"remote_opens_per_ip"), "{limits:?}");
        app.stop().await;
    }
}

/// On the phone too: the page in the person's language (Arabic, right to left, the
/// easy-to-read French beside its translation), no accord before the three questions (MND014,
/// nothing recorded), a wrong answer explained and then « Passer », and the journal records
/// the language, the text shown and the skipped check — never an answer.
#[actix_web::test]
async fn the_phone_asks_the_questions_first_and_journals_the_persons_language() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let link = sent_by_sms(&app).await;
        let phone = Phone::new();
        let _french = phone.recap(&app, &link).await;
        let (status, recap) = phone
            .get(&app.url("/accord/recapitulatif?texte=facile&langue=ar"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(recap.contains("<html lang=\"ar\" dir=\"rtl\""), "{recap}");
        assert!(recap.contains("التوكيل المقترح"), "the phone's recap title");
        assert!(
            recap.contains("ac-easy-read--beside")
                && recap.contains("class=\"ac-easy-read__french\"")
        );
        assert!(
            recap
                .contains("&#x2F;langue&#x2F;fr?retour=%2Faccord%2Frecapitulatif%3Ftexte%3Dfacile"),
            "the switcher comes back here"
        );
        assert!(
            !recap.contains("name=\"accord\""),
            "no accord form before the questions"
        );
        let post = |fields: Vec<(&'static str, &'static str)>| {
            let csrf = extract_csrf(&recap);
            let client = phone.client.clone();
            let url = app.url("/accord/questions");
            async move {
                let mut form = vec![
                    ("csrf", csrf),
                    ("texte", "facile".to_owned()),
                    ("langue", "ar".to_owned()),
                ];
                form.extend(fields.into_iter().map(|(k, v)| (k, v.to_owned())));
                client.post(url).form(&form).send().await.unwrap()
            }
        };
        // « Je donne mon accord » posted before the questions: refused, nothing recorded.
        let csrf = extract_csrf(&recap);
        let early = phone
            .client
            .post(app.url("/accord/reponse"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("reponse", "accord"),
                ("accord", "oui"),
                ("texte", "facile"),
                ("langue", "ar"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(early.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(early.text().await.unwrap().contains("MND014"));
        assert!(entries(&app, "remote_consent.given").is_empty());
        // The questions, in Arabic; a wrong answer is explained, then « Passer ».
        let first = post(vec![]).await.text().await.unwrap();
        assert!(first.contains("السؤال \u{2068}1\u{2069} من 3"), "{first}");
        // Forged answers are refused with their code, never a server error, and move nothing.
        for (fields, code) in [
            (vec![("question", "qui"), ("reponse", "<script>")], "MND015"),
            (
                vec![("question", "quoi"), ("reponse", "la-famille")],
                "MND015",
            ),
            (vec![("passer", "oui")], "MND016"),
        ] {
            let refused = post(fields).await;
            assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(refused.text().await.unwrap().contains(code));
        }
        let explained = post(vec![("question", "qui"), ("reponse", "la-famille")])
            .await
            .text()
            .await
            .unwrap();
        assert!(explained.contains("هذا ليس الجواب الصحيح"), "{explained}");
        assert!(explained.contains("name=\"passer\""), "{explained}");
        let skipped = post(vec![("passer", "oui")]).await;
        assert_eq!(skipped.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(&skipped),
            "/accord/recapitulatif?texte=facile&langue=ar"
        );
        // Back on the recap the redirect names, still in Arabic (no switcher cookie was set).
        let (_, recap) = phone.get(&app.url(&location(&skipped))).await;
        assert!(recap.contains("تجاوزت الأسئلة"), "{recap}");
        let done = phone
            .client
            .post(app.url("/accord/reponse"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("reponse", "accord"),
                ("accord", "oui"),
                ("texte", "facile"),
                ("langue", "ar"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        let done = done.text().await.unwrap();
        assert!(
            done.contains("شكرًا، تم إرسال موافقتك") && done.contains("dir=\"rtl\""),
            "{done}"
        );
        let given = entries(&app, "remote_consent.given");
        let d = &given[0]["details"];
        assert_eq!(d["language"], "ar");
        assert_eq!(d["text_shown"], "easy_read");
        assert_eq!(d["comprehension"], "skipped");
        assert_eq!(d["comprehension_tries"], "2", "1, plus the wrong answer");
        assert!(
            !given[0].to_string().contains("la-famille"),
            "never an answer"
        );
        app.clock.advance(time::Duration::minutes(2));
        assert_eq!(confirm(&app).await.status(), StatusCode::SEE_OTHER);
        let created = entries(&app, "mandate.created");
        let d = &created[0]["details"];
        assert_eq!(d["consent"], "remote");
        assert_eq!(d["language"], "ar");
        assert_eq!(d["text_shown"], "easy_read");
        assert_eq!(d["comprehension"], "skipped");
        app.stop().await;
    }
}
