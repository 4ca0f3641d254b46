//! The audit log seen from outside: published key and checkpoints, and the background worker.

use ac_audit::{Action, Checkpoint, VerifierKey};
use ac_clock::Clock;
use ac_e2e::TestApp;
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::write;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

fn record(app: &TestApp, target: &str) {
    let conn = &mut *app.db.db.conn().unwrap();
    write(conn, |tx| {
        journal::record(
            tx,
            &AuditContext::system(),
            Event::new(Action::ExportMade).target(target),
            app.clock.now(),
        )
    })
    .unwrap();
}

#[actix_web::test]
async fn checkpoints_are_published_and_verify_with_the_published_key() {
    for app in TestApp::each().await {
        assert_eq!(
            app.get("/audit/checkpoint").await.status(),
            StatusCode::NOT_FOUND
        );
        let key_text = app.get("/audit/key").await.text().await.unwrap();
        let key: VerifierKey = key_text.trim().parse().unwrap();

        // Start-up may journal its own facts (keys, demo clients): count from what is there.
        let before = pending_and_integrated(&app);
        record(&app, "a");
        record(&app, "b");
        let signed = ac_web::audit_worker::run_once(&app.state, true)
            .unwrap()
            .expect("new entries");
        let size = before + 2;
        assert_eq!(signed.tree_size, size);

        let res = app.get("/audit/checkpoint").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
        let note = res.text().await.unwrap();
        let checkpoint = Checkpoint::verify(&note, std::slice::from_ref(&key)).unwrap();
        assert_eq!(
            (checkpoint.size, checkpoint.origin.as_str()),
            (size, "aidants-connect.test/audit")
        );

        let by_size = app
            .get(&format!("/audit/checkpoints/{size}"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(by_size, note);
        assert_eq!(
            app.get(&format!("/audit/checkpoints/{}", size + 1))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get("/audit/checkpoints/abc").await.status(),
            StatusCode::NOT_FOUND
        );

        // The same note is written to the checkpoint folder.
        let dir = app.files.path().join("checkpoints");
        assert_eq!(
            std::fs::read_to_string(dir.join(size.to_string())).unwrap(),
            note
        );
        assert_eq!(std::fs::read_to_string(dir.join("latest")).unwrap(), note);
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_worker_integrates_within_a_second_and_signs_on_its_interval() {
    for db in ac_storage::testing::TestDatabase::each().unwrap() {
        let mut settings = ac_e2e::test_settings();
        // The shortest interval the setting allows, so the test sees a signature.
        settings.audit.checkpoint_interval = time::Duration::SECOND;
        let app = TestApp::spawn(db, settings).await;
        let worker = ac_web::audit_worker::spawn(app.state.clone()).unwrap();
        record(&app, "x");
        let started = Instant::now();
        let mut integrated = 0;
        while started.elapsed() < Duration::from_secs(3) {
            integrated = ac_storage::audit::verify(
                &app.db.db,
                &[app.state.audit_key.verifier()],
                &[],
                &ac_storage::audit::Expectations::new(
                    app.state.clock.now(),
                    time::Duration::minutes(15),
                ),
            )
            .unwrap()
            .entries;
            if integrated >= 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(integrated >= 1, "not integrated");
        assert!(
            started.elapsed() < Duration::from_secs(1) + Duration::from_millis(500),
            "integration took {:?}",
            started.elapsed()
        );
        // The interval passes: the worker signs a checkpoint of what it integrated, in the
        // database and as a published file.
        // The file is written after the row, so wait for both.
        let checkpoints = || app.count_rows("audit_checkpoints");
        let published = || {
            ac_web::audit_worker::read_published(&app.state.settings.audit.checkpoint_dir).unwrap()
        };
        while (checkpoints() == 0 || published().is_empty())
            && started.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(checkpoints() >= 1, "no checkpoint signed within 10 s");
        assert!(
            !published().is_empty(),
            "no checkpoint published within 10 s"
        );
        drop(worker);
        app.stop().await;
    }
}

/// Entries written so far, integrated or not.
fn pending_and_integrated(app: &TestApp) -> u64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let conn = &mut *app.db.db.conn().unwrap();
    let mut count = |sql| diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n;
    let n = count("SELECT COUNT(*) AS n FROM audit_pending")
        + count("SELECT COUNT(*) AS n FROM audit_log");
    u64::try_from(n).unwrap()
}

#[actix_web::test]
async fn a_forged_row_stops_the_worker_and_raises_the_alarm_on_readyz_and_the_panel() {
    for app in TestApp::each().await {
        let coordinator = app.with_aidant("pilotage@exemple.fr", &["org-a"]);
        app.coordinate_nationally(&coordinator);
        ac_web::audit_worker::run_once(&app.state, false).unwrap();
        assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
        ac_storage::testing::forge_row_after_last_head(&mut app.db.db.conn().unwrap()).unwrap();

        let worker = ac_web::audit_worker::spawn(app.state.clone()).unwrap();
        record(&app, "after the forgery");
        let started = Instant::now();
        while app.state.journal_alarm.raised().is_none()
            && started.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let why = app.state.journal_alarm.raised().expect("alarm raised");
        assert!(
            why.starts_with("STO011") && why.contains("tête d'arbre"),
            "{why}"
        );

        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = ready.text().await.unwrap();
        assert!(
            body.contains("journal integrity alarm")
                && body.contains("STO011")
                && body.contains(why),
            "{body}"
        );
        assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
        // The later entry waits, unsealed, for an operator.
        assert_eq!(
            ac_storage::testing::count(
                &mut app.db.db.conn().unwrap(),
                "SELECT COUNT(*) AS n FROM audit_pending WHERE entry LIKE '%after the forgery%'"
            )
            .unwrap(),
            1,
            "still pending"
        );

        app.sign_in("pilotage@exemple.fr").await;
        let res = app.get("/coordination/integrite").await;
        let panel = res.text().await.unwrap();
        assert!(
            panel.contains("Alerte : intégrité du journal compromise")
                && panel.contains("la dernière tête d"),
            "{panel}"
        );
        drop(worker);
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_integrity_panel_lists_a_mandate_row_the_journal_contradicts() {
    for app in TestApp::each().await {
        let coordinator = app.with_aidant("pilotage@exemple.fr", &["org-a"]);
        app.coordinate_nationally(&coordinator);
        let (_, mandate) = app.with_mandate(
            &coordinator,
            "org-a",
            "Angela",
            "DUBOIS",
            &[ac_mandates::Demarche::Social],
        );
        ac_web::audit_worker::run_once(&app.state, true).unwrap();
        // A revocation undone behind the service's back, after it was journaled.
        let authorization = {
            let conn = &mut *app.db.db.conn().unwrap();
            let m = ac_storage::mandates::get(conn, &mandate).unwrap();
            let id = m.authorizations[0].id.clone();
            ac_storage::mandates::revoke_authorization(
                conn,
                &coordinator,
                &mandate,
                &id,
                ac_storage::mandates::RevocationConsent::OnScreen,
                &AuditContext::aidant(&coordinator, None),
                app.clock.now(),
            )
            .unwrap();
            id
        };
        ac_web::audit_worker::run_once(&app.state, false).unwrap();
        app.db
            .execute_raw(&match app.db.backend() {
                ac_storage::Backend::Sqlite => format!(
                    "DROP TRIGGER authorizations_only_revoke; UPDATE authorizations SET revoked_at = NULL, revocation_reason = NULL WHERE id = '{authorization}'"
                ),
                ac_storage::Backend::Postgres => format!(
                    "DROP TRIGGER authorizations_only_revoke ON authorizations; UPDATE authorizations SET revoked_at = NULL, revocation_reason = NULL WHERE id = '{authorization}'"
                ),
            })
            .unwrap();

        app.sign_in("pilotage@exemple.fr").await;
        let panel = app
            .get("/coordination/integrite")
            .await
            .text()
            .await
            .unwrap();
        let csrf = ac_e2e::extract_csrf(&panel);
        let res = app
            .post_form("/coordination/integrite/verifier", &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let started = Instant::now();
        let mut done = String::new();
        while started.elapsed() < Duration::from_secs(10) {
            done = app
                .get("/coordination/integrite")
                .await
                .text()
                .await
                .unwrap();
            if done.contains("Altération détectée") {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            done.contains("Altération détectée")
                && done.contains("contredisent le journal")
                && done.contains(&format!("authorizations {authorization}"))
                && done.contains("révocation annulée"),
            "{done}"
        );
        app.stop().await;
    }
}
