//! Mail that must not be lost: expiry reminders queued with the reminders they report, then
//! sent by the outbox worker through a real SMTP server (aiosmtpd) that is down for an hour and
//! then back. Nothing is lost and nothing arrives twice.

use ac_e2e::smtp::SmtpServer;
use ac_e2e::{TestApp, test_settings};
use ac_localtime::LocalTimes;
use ac_mandates::Demarche;
use ac_storage::testing::{TestDatabase, count};
use ac_web::mail_worker::{self, Round};
use time::Duration;

/// One round of the outbox worker, on a thread of its own as on a node (it runs its own small
/// runtime for the SMTP client).
async fn worker_round(app: &TestApp) -> Round {
    let state = app.state.clone();
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

#[actix_web::test]
async fn reminders_survive_an_hour_without_smtp_and_arrive_once() {
    for db in TestDatabase::each().unwrap() {
        // A port where an SMTP server was and will be again.
        let port = SmtpServer::start().port;
        let mut settings = test_settings();
        settings.mail.transport = ac_config::MailTransport::Smtp;
        settings.mail.smtp.host = "127.0.0.1".into();
        settings.mail.smtp.port = port;
        settings.mail.smtp.tls = ac_config::SmtpTls::None;
        settings.mail.smtp.timeout = time::Duration::seconds(2);
        let app = TestApp::spawn(db, settings).await;
        let camille = app.with_aidant("camille@mediatheque.fr", &["mediatheque"]);
        app.with_aidant("yann@mediatheque.fr", &["mediatheque"]);
        app.with_mandate(
            &camille,
            "mediatheque",
            "Angela",
            "DUBOIS",
            &[Demarche::Social, Demarche::Argent],
        );
        let times = LocalTimes::load().unwrap();

        // Nothing to remind yet; 30 days before the end, one message per aidant is queued.
        assert_eq!(ac_web::reminders::run_once(&app.state, &times).unwrap(), 0);
        app.clock.advance(Duration::days(365 - 30));
        assert_eq!(ac_web::reminders::run_once(&app.state, &times).unwrap(), 2);
        assert_eq!(
            ac_web::reminders::run_once(&app.state, &times).unwrap(),
            0,
            "each authorization is reminded once"
        );

        // The SMTP server is down for an hour: every round fails, the messages stay queued.
        let mut attempts = 0;
        let hour_later = app.state.clock.now() + Duration::hours(1);
        while app.state.clock.now() < hour_later {
            let round = worker_round(&app).await;
            assert_eq!(round.sent, 0);
            if round.failed > 0 {
                attempts += 1;
            }
            app.clock.advance(Duration::seconds(30));
        }
        assert!(
            attempts >= 6,
            "retried along the hour: {attempts} rounds tried"
        );
        let conn = &mut *app.db.db.conn().unwrap();
        let waiting = count(
            conn,
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE sent_at IS NULL AND last_error IS NOT NULL",
        )
        .unwrap();
        assert_eq!(waiting, 2, "nothing lost while SMTP is down");

        // Back: within the longest retry delay, each message goes, once.
        let smtp = SmtpServer::start_on(port);
        let mut sent = 0;
        for _ in 0..130 {
            sent += worker_round(&app).await.sent;
            app.clock.advance(Duration::seconds(30));
        }
        assert_eq!(sent, 2);
        let received = smtp.received();
        assert_eq!(received.len(), 2, "{received:?}");
        let mut to: Vec<&str> = received.iter().map(|m| m["to"].as_str().unwrap()).collect();
        to.sort_unstable();
        assert_eq!(to, ["camille@mediatheque.fr", "yann@mediatheque.fr"]);
        for message in &received {
            assert_eq!(message["subject"], "Des mandats arrivent à leur fin");
            let text = message["text"].as_str().unwrap();
            assert!(text.contains("Social - Santé"), "{text}");
            assert!(text.contains("/usagers"), "{text}");
            // The date is the structure's local date (Finistère: metropolitan time).
            assert!(text.contains("se termine le"), "{text}");
            assert!(
                !text.contains("DUBOIS") && !text.contains("Angela"),
                "no name: {text}"
            );
        }
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) AS n FROM mail_outbox WHERE sent_at IS NULL"
            )
            .unwrap(),
            0
        );
        app.stop().await;
    }
}
