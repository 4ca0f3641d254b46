//! The usagers list and the usager page: search by name or birth date, tabs, pages,
//! the "Expire bientôt" badge, the delegated uses read from the journal, and another
//! structure's person refused by URL (403, journaled). Each test runs on SQLite and, when
//! AC_TEST_DATABASE_URL is set, PostgreSQL.

use ac_e2e::{CLIENT_ID, ClientSetup, REDIRECT_URI, TestApp, links};
use ac_mandates::{Demarche, MandateDuration, UsagerId};
use reqwest::StatusCode;
use time::macros::date;

const EMAIL: &str = "camille.martin@exemple.fr";
const OTHER: &str = "dominique.leroy@exemple.fr";

struct People {
    helene: UsagerId,
    jean: UsagerId,
    secret: UsagerId,
}

/// In org-a: Hélène LEFÈVRE (1 year), Jean-Pierre DUBOIS (one month: ends in 29 days once the
/// clock has moved two days), Marc MARTIN (revoked), Zoé ZORN (one day: expired), and 22
/// PAGINATION people (1 year). In org-b only: Secret AUTRE.
async fn people(app: &TestApp) -> People {
    let aidant = app.with_aidant(EMAIL, &["org-a"]);
    let other = app.with_aidant(OTHER, &["org-b"]);
    let social = &[Demarche::Social][..];
    let (helene, _) = app.with_mandate_of(
        &aidant,
        "org-a",
        ("Hélène", "LEFÈVRE", date!(1980 - 01 - 02)),
        &[Demarche::Social, Demarche::Argent],
        MandateDuration::OneYear,
    );
    let (jean, _) = app.with_mandate_of(
        &aidant,
        "org-a",
        ("Jean-Pierre", "DUBOIS", date!(1962 - 08 - 24)),
        social,
        MandateDuration::OneMonth,
    );
    let (_, marc) = app.with_mandate_of(
        &aidant,
        "org-a",
        ("Marc", "MARTIN", date!(1970 - 05 - 06)),
        social,
        MandateDuration::OneYear,
    );
    app.revoke(&aidant, &marc);
    app.with_mandate_of(
        &aidant,
        "org-a",
        ("Zoé", "ZORN", date!(1990 - 03 - 04)),
        social,
        MandateDuration::OneDay,
    );
    for i in 1..=22 {
        app.with_mandate_of(
            &aidant,
            "org-a",
            (
                &format!("Personne{i:02}"),
                "PAGINATION",
                date!(2000 - 01 - 01),
            ),
            social,
            MandateDuration::OneYear,
        );
    }
    let (secret, _) = app.with_mandate_of(
        &other,
        "org-b",
        ("Secret", "AUTRE", date!(1962 - 08 - 24)),
        social,
        MandateDuration::OneYear,
    );
    app.clock.advance(time::Duration::days(2));
    app.sign_in(EMAIL).await;
    People {
        helene,
        jean,
        secret,
    }
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = app.get(path).await;
    // Tera escapes `/` (dates, links): read the page as a person would.
    let status = res.status();
    let html = res.text().await.unwrap().replace("&#x2F;", "/");
    (status, html)
}

#[actix_web::test]
async fn the_list_has_tabs_pages_and_an_expiring_soon_badge() {
    for app in TestApp::each().await {
        let people = people(&app).await;
        let (_, space) = page(&app, "/espace").await;
        assert!(space.contains("href=\"/usagers\""), "linked from the space");
        // The home page counts the people marked "Expire bientôt": Jean-Pierre alone.
        assert!(
            space.contains("Le mandat d'une personne se termine dans les 30 jours"),
            "{space}"
        );

        let (status, html) = page(&app, "/usagers").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Mandats actifs (24)"), "{html}");
        assert!(html.contains("Expirés (1)") && html.contains("Révoqués (1)"));
        assert!(html.contains("page 1 sur 2"));
        // Family name, then given name: DUBOIS, LEFÈVRE, then the PAGINATION people.
        let dubois = html.find("DUBOIS").unwrap();
        assert!(dubois < html.find("LEFÈVRE").unwrap());
        assert!(html.contains("Personne18") && !html.contains("Personne19"));
        assert!(!html.contains("MARTIN") && !html.contains("ZORN") && !html.contains("AUTRE"));
        // The badge is words, on Jean-Pierre's row only.
        assert_eq!(html.matches("Expire bientôt</span>").count(), 1);
        let row = &html[dubois..html[dubois..].find("</tr>").unwrap() + dubois];
        assert!(row.contains("Expire bientôt"), "{row}");
        assert!(links(&html, "/usagers/").contains(&format!("/usagers/{}", people.jean)));

        let next = links(&html, "/usagers?")
            .into_iter()
            .find(|l| l.contains("page=2"))
            .expect("a next page link");
        let (_, html) = page(&app, &next).await;
        assert!(html.contains("Personne19") && html.contains("Personne22"));
        assert!(!html.contains("Personne18") && !html.contains("DUBOIS"));
        // Past the last page: the last page.
        let (status, html) = page(&app, "/usagers?onglet=actifs&page=9").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("page 2 sur 2"));

        let (_, html) = page(&app, "/usagers?onglet=expires").await;
        assert!(html.contains("ZORN") && !html.contains("MARTIN") && !html.contains("DUBOIS"));
        let (_, html) = page(&app, "/usagers?onglet=revoques").await;
        assert!(html.contains("MARTIN") && !html.contains("ZORN") && !html.contains("DUBOIS"));
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_expiring_soon_window_is_a_setting() {
    for db in ac_storage::testing::TestDatabase::each().unwrap() {
        let mut settings = ac_e2e::test_settings();
        settings.mandates.expiring_soon_days = 28;
        let app = TestApp::spawn(db, settings).await;
        let people = people(&app).await;
        // Jean-Pierre's démarche ends in 29 days: outside a 28-day window.
        let (_, html) = page(&app, "/usagers").await;
        assert!(html.contains("DUBOIS") && !html.contains("Expire bientôt</span>"));
        assert!(html.contains("dans les 28 jours"));
        let (_, space) = page(&app, "/espace").await;
        assert!(!space.contains("se termine"), "{space}");
        let (_, html) = page(&app, &format!("/usagers/{}", people.jean)).await;
        assert!(
            html.contains(r#"<td><span class="fr-badge fr-badge--success">Actif</span></td>"#),
            "{html}"
        );
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_search_finds_names_without_accents_or_case_and_birth_dates() {
    for app in TestApp::each().await {
        people(&app).await;
        for (q, found) in [
            ("helene", "LEFÈVRE"),
            ("LEFEVRE", "LEFÈVRE"),
            ("lefèvre hél", "LEFÈVRE"),
            ("jean", "DUBOIS"),
            ("pierre dubois", "DUBOIS"),
            ("24/08/1962", "DUBOIS"),
        ] {
            let url = format!("/usagers?q={}", urlencode(q));
            let (status, html) = page(&app, &url).await;
            assert_eq!(status, StatusCode::OK, "{q}");
            assert!(html.contains(found), "{q}: {html}");
            assert!(html.contains("Mandats actifs (1)"), "{q}");
            assert!(!html.contains("PAGINATION"), "{q}");
        }
        // Someone known only to another structure is not found, even by birth date.
        let (_, html) = page(&app, "/usagers?q=autre").await;
        assert!(html.contains("Mandats actifs (0)") && !html.contains("AUTRE"));
        let (_, html) = page(&app, "/usagers?q=24%2F08%2F1962").await;
        assert!(!html.contains("AUTRE"));
        // The search stays in the tab links.
        let (_, html) = page(&app, "/usagers?q=zorn&onglet=expires").await;
        assert!(html.contains("ZORN"));
        assert!(
            links(&html, "/usagers?")
                .iter()
                .any(|l| l == "/usagers?q=zorn&onglet=actifs")
        );

        // Bad input: a clear message tied to the field, nothing listed.
        for bad in ["31%2F02%2F1962", &"a".repeat(101)] {
            let (status, html) = page(&app, &format!("/usagers?q={bad}")).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"q-erreur\""));
            assert!(html.contains("id=\"q-erreur\"") && !html.contains("DUBOIS"));
        }
        for (bad, code) in [
            ("onglet=tous", "USG001"),
            ("page=0", "USG002"),
            ("page=abc", "USG002"),
            ("page=10001", "USG002"),
        ] {
            let (status, html) = page(&app, &format!("/usagers?{bad}")).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert!(html.contains(code), "{bad}");
        }
        app.stop().await;
    }
}

fn urlencode(text: &str) -> String {
    let url = reqwest::Url::parse_with_params("http://x/", &[("q", text)]).unwrap();
    url.query().unwrap().trim_start_matches("q=").to_owned()
}

#[actix_web::test]
async fn the_usager_page_shows_mandates_and_the_delegated_uses_from_the_journal() {
    for app in TestApp::each().await {
        let people = people(&app).await;
        app.with_client(&ClientSetup::default());
        // A delegated use through the identity provider: the aidant picks Hélène for social.
        let mut authorize = reqwest::Url::parse(&app.url("/oidc/authorize")).unwrap();
        authorize.query_pairs_mut().extend_pairs([
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "state-0123456789-0123456789-0123456789-abc"),
            ("nonce", "nonce-0123456789-0123456789-0123456789-abc"),
            ("acr_values", "eidas1"),
        ]);
        let picked = app
            .pick(authorize.as_str(), "LEFÈVRE", Demarche::Social, None)
            .await;
        assert!(picked.code.is_some(), "{}", picked.location);
        ac_web::audit_worker::run_once(&app.state, true).unwrap();

        let (status, html) = page(&app, &format!("/usagers/{}", people.helene)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("LEFÈVRE") && html.contains("02/01/1980"));
        let mandates = links(&html, "/mandats/");
        assert!(
            mandates.iter().any(|l| l.ends_with("/renouveler")),
            "{mandates:?}"
        );
        let history = &html[html.find("id=\"usages\"").unwrap()..];
        assert!(history.contains("Camille Martin"), "the aidant: {history}");
        assert!(history.contains("Social - Santé"), "the démarche");
        assert!(history.contains("FranceConnect (tests)"), "the website");
        assert_eq!(history.matches("<tr><td>").count(), 1, "one use");
        // The structure's local time (Finistère, UTC+1 in November), not the journal's UTC.
        let at = app.clock_now() + time::Duration::hours(1);
        let local = format!(
            "{:02}/{:02}/{} {:02}:",
            at.day(),
            u8::from(at.month()),
            at.year(),
            at.hour()
        );
        assert!(
            history.contains(&local) && !history.contains("UTC"),
            "{local}: {history}"
        );
        // Jean-Pierre had no use; his mandate ends within the default 30 days.
        let (_, html) = page(&app, &format!("/usagers/{}", people.jean)).await;
        assert!(html.contains("Aucune utilisation enregistrée"));
        assert!(
            html.contains(
                r#"<td><span class="fr-badge fr-badge--warning">Actif, expire bientôt</span></td>"#
            ),
            "{html}"
        );
        let (status, _) = page(&app, &format!("/usagers/{}?avant=x", people.jean)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        app.stop().await;
    }
}

#[actix_web::test]
async fn another_structures_usager_is_refused_by_url_and_the_attempt_journaled() {
    for app in TestApp::each().await {
        let people = people(&app).await;
        let denied = |app: &TestApp| {
            app.journal()
                .into_iter()
                .filter(|e| {
                    e["action"] == "access.denied" && e["details"]["page"] == "usagers.usager"
                })
                .count()
        };
        // Known to org-b only, or not at all: the same 403.
        for id in [people.secret.as_str(), "inconnu-0000"] {
            let (status, html) = page(&app, &format!("/usagers/{id}")).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{id}");
            assert!(html.contains("CON403") && !html.contains("AUTRE"));
        }
        assert_eq!(denied(&app), 2);
        let entry = app
            .journal()
            .into_iter()
            .find(|e| e["action"] == "access.denied")
            .unwrap();
        assert_eq!(entry["target"], people.secret.as_str());
        assert_eq!(entry["organisation_id"], "org-a");

        // org-b's aidant does not see org-a's people either.
        app.next_totp_step();
        app.sign_in(OTHER).await;
        let (status, html) = page(&app, &format!("/usagers/{}", people.helene)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(html.contains("CON403"));
        assert_eq!(denied(&app), 3);
        let (_, html) = page(&app, "/usagers").await;
        assert!(html.contains("AUTRE") && !html.contains("LEFÈVRE"));
        app.stop().await;
    }
}
