//! Outbox throughput: how many messages per second the mail worker hands to a real SMTP server
//! (aiosmtpd on loopback, writing a Maildir) on SQLite and PostgreSQL. Results:
//! docs/performance.md ("Mail outbox"). Run with `make bench` (or
//! `cargo bench -p ac-e2e --bench outbox`).
//!
//! Method. `AC_BENCH_OUTBOX_MESSAGES` messages (2,000 by default), each of the size of a receipt
//! (a subject, 1 KiB of text, 2 KiB of HTML), are queued in the outbox; then one node's worker
//! (`ac_web::mail_worker::run_once`, the worker's own round: claim a batch of 20 under a lease,
//! send each over one SMTP session per message, mark it sent) runs rounds back to back until the
//! outbox is empty. Printed: the time to queue, the time to send, messages per second, and
//! `/proc/loadavg`. Every message is checked to have arrived once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ac_e2e::smtp::SmtpServer;
use ac_e2e::{TestApp, test_settings};
use ac_storage::outbox::{self, NewMail};
use ac_storage::testing::TestDatabase;
use std::time::Instant;

fn messages() -> usize {
    std::env::var("AC_BENCH_OUTBOX_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn main() {
    let count = messages();
    let text = "Bonjour, voici votre reçu. ".repeat(40);
    let html = format!("<p>{}</p>", "Bonjour, voici votre reçu. ".repeat(80));
    for db in TestDatabase::each().unwrap() {
        let backend = db.backend();
        let smtp = SmtpServer::start();
        let mut settings = test_settings();
        settings.mail.transport = ac_config::MailTransport::Smtp;
        settings.mail.smtp.host = "127.0.0.1".into();
        settings.mail.smtp.port = smtp.port;
        settings.mail.smtp.tls = ac_config::SmtpTls::None;
        // The server's system stays up for the whole measure, as on a node.
        let system = actix_web::rt::System::new();
        let app = system.block_on(TestApp::spawn(db, settings));
        let now = app.state.clock.now();

        let started = Instant::now();
        {
            let conn = &mut *app.state.db.conn().unwrap();
            for n in 0..count {
                let recipient = format!("personne-{n}@exemple.fr");
                let subject = format!("Votre reçu n° {n}");
                let mail = NewMail {
                    kind: "bench",
                    dedupe_key: None,
                    recipient: &recipient,
                    subject: &subject,
                    text: &text,
                    html: &html,
                };
                outbox::enqueue(conn, &mail, now).unwrap();
            }
        }
        let queued = started.elapsed();

        let state = app.state.clone();
        let started = Instant::now();
        // The worker's rounds on a thread of their own with their own small runtime for the
        // SMTP client, as `ac_web::mail_worker` runs them on a node.
        let sent = system.block_on(async move {
            actix_web::rt::task::spawn_blocking(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let mut sent = 0;
                loop {
                    let round =
                        ac_web::mail_worker::run_once(&state, &runtime, "bench-node").unwrap();
                    assert_eq!(round.failed, 0, "no message refused by the server");
                    if round.sent == 0 {
                        break sent;
                    }
                    sent += round.sent;
                }
            })
            .await
            .unwrap()
        });
        let sending = started.elapsed();
        assert_eq!(sent, count);
        assert_eq!(smtp.received().len(), count, "each message arrived once");
        println!(
            "{backend:?}: {count} messages queued in {:.1} s; sent in {:.1} s: {:.0} messages/s",
            queued.as_secs_f64(),
            sending.as_secs_f64(),
            count as f64 / sending.as_secs_f64()
        );
        println!(
            "  load: {}",
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );
    }
}
