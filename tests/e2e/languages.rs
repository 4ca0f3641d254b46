//! The aidé's pages in their language (docs/languages.md), on both backends: chosen by the
//! switcher (kept on the browser), by `?langue=`, or by the browser's `Accept-Language`;
//! Arabic laid out right to left; the switcher never sends anyone off the site.

use ac_e2e::{TestApp, location};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, SET_COOKIE};
use std::sync::Arc;

/// A browser of its own, keeping cookies, following no redirect.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
        .build()
        .unwrap()
}

async fn page(me: &reqwest::Client, url: &str) -> String {
    let res = me.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    res.text().await.unwrap()
}

#[actix_web::test]
async fn the_aide_space_speaks_the_language_chosen_and_arabic_reads_right_to_left() {
    for app in TestApp::each().await {
        let me = browser();
        // French by default, with the switcher offering every language in its own name.
        let french = page(&me, &app.url("/mon-espace")).await;
        assert!(french.contains(r#"<html lang="fr" dir="ltr">"#), "{french}");
        assert!(french.contains("Pour entrer, utilisez votre propre compte FranceConnect."));
        for (code, name) in [
            ("en", "English"),
            ("ar", "العربية"),
            ("es", "Español"),
            ("pt", "Português"),
            ("ro", "Română"),
        ] {
            assert!(
                french.contains(&format!(
                    // Tera writes `/` as `&#x2F;` in attributes, which the browser reads back.
                    r#"langue&#x2F;{code}?retour=%2Fmon-espace" lang="{code}" hreflang="{code}">{name}</a>"#
                )),
                "{code}: {french}"
            );
        }

        // The switcher keeps the choice on this browser and comes back to the page.
        let chosen = me
            .get(app.url("/langue/ar?retour=%2Fmon-espace"))
            .send()
            .await
            .unwrap();
        assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&chosen), "/mon-espace");
        let cookie = chosen.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("ac_langue=ar;"), "{cookie}");
        let arabic = page(&me, &app.url("/mon-espace")).await;
        assert!(arabic.contains(r#"<html lang="ar" dir="rtl">"#), "{arabic}");
        assert!(arabic.contains("للدخول، استعمل حسابك الخاص في FranceConnect."));
        assert!(!arabic.contains("Pour entrer, utilisez"));
        // The State's brand block stays in French, marked so for screen readers.
        assert!(arabic.contains(r#"<div class="fr-header__logo" lang="fr">"#));

        // `?langue=` wins over the cookie, for this page.
        let english = page(&me, &app.url("/mon-espace?langue=en")).await;
        assert!(english.contains(r#"<html lang="en" dir="ltr">"#));
        assert!(english.contains("To enter, use your own FranceConnect account."));
    }
}

#[actix_web::test]
async fn without_a_choice_the_browser_language_is_followed_and_unknown_ones_fall_back_to_french() {
    for app in TestApp::each().await {
        let me = browser();
        for (accept, expected) in [
            (
                "es-ES,es;q=0.9,fr;q=0.5",
                "Para entrar, use su propia cuenta FranceConnect.",
            ),
            (
                "de-DE, ro;q=0.8",
                "Pentru a intra, folosiți propriul cont FranceConnect.",
            ),
            (
                "de-DE, it;q=0.8",
                "Pour entrer, utilisez votre propre compte FranceConnect.",
            ),
        ] {
            let res = me
                .get(app.url("/mon-espace"))
                .header(ACCEPT_LANGUAGE, accept)
                .send()
                .await
                .unwrap();
            let html = res.text().await.unwrap();
            assert!(html.contains(expected), "{accept}: {html}");
        }
        // An unknown language in the query is ignored, not an error.
        let html = page(&me, &app.url("/mon-espace?langue=xx")).await;
        assert!(html.contains(r#"<html lang="fr""#));
    }
}

#[actix_web::test]
async fn the_switcher_only_comes_back_to_a_page_of_this_site() {
    for app in TestApp::each().await {
        let me = browser();
        for (back, expected) in [
            ("%2F%2Fevil.example%2F", "/mon-espace"),
            ("https%3A%2F%2Fevil.example%2F", "/mon-espace"),
            ("%2F%5Cevil.example", "/mon-espace"),
            ("%2Frecu%2FABC%3Fx%3D1", "/recu/ABC?x=1"),
        ] {
            let res = me
                .get(app.url(&format!("/langue/pt?retour={back}")))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(location(&res), expected, "{back}");
        }
        // An unknown language changes nothing and sets no cookie.
        let res = me.get(app.url("/langue/xx")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(res.headers().get(SET_COOKIE).is_none());
    }
}

#[actix_web::test]
async fn a_receipt_check_reads_in_the_language_of_the_person() {
    for app in TestApp::each().await {
        let me = browser();
        let res = me
            .get(app.url("/recu/AAAA-BBBB-CCCC?langue=ro"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"<html lang="ro" dir="ltr">"#), "{html}");
        assert!(html.contains("Chitanță necunoscută"), "{html}");
    }
}

/// The consent recap read in Arabic on the tablet: the page right to left, the démarches and
/// the date in Arabic, the easy-to-read text's translation beside the French (marked as the
/// text that binds), the comprehension check in Arabic, and the consent journaled with the
/// language it was given in; a consent in French journals `fr`.
#[actix_web::test]
async fn a_consent_given_in_arabic_shows_the_french_beside_and_is_journaled_in_arabic() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let started = app.start_identification(&["social", "argent"], "365").await;
        let recap = app.identify_before_questions(&started.next, "0").await;
        assert!(recap.contains(r#"<html lang="fr" dir="ltr">"#));
        let arabic = app
            .post_form(
                "/mandats/accord/texte",
                &[
                    ("csrf", &ac_e2e::extract_csrf(&recap)),
                    (
                        "token",
                        &ac_e2e::between(&recap, "name=\"token\" value=\"", "\""),
                    ),
                    ("texte", "facile"),
                    ("langue", "ar"),
                ],
            )
            .await;
        assert_eq!(arabic.status(), StatusCode::OK);
        let arabic = arabic.text().await.unwrap();
        assert!(arabic.contains(r#"<html lang="ar" dir="rtl">"#), "{arabic}");
        assert!(arabic.contains("ملخص التوكيل"));
        assert!(arabic.contains("الشؤون الاجتماعية - الصحة"), "{arabic}");
        // The French line beside its translation, marked French and left to right.
        assert!(
            arabic.contains(
                r#"<span lang="fr" dir="ltr" class="ac-easy-read__french">Ce papier est un mandat.</span><span class="ac-easy-read__translation">هذه الورقة توكيل.</span>"#
            ),
            "{arabic}"
        );
        assert!(arabic.contains("النص الفرنسي وحده هو الملزم قانونيًا"));
        // The steps of the journey (the aidant's) stay French, marked so.
        let steps = arabic.split("<div lang=\"fr\">").nth(1).unwrap_or_default();
        assert!(
            steps.trim_start().starts_with("<div class=\"fr-stepper\">"),
            "{arabic}"
        );

        // The comprehension check in Arabic, then the consent.
        let res = app.post_questions(&arabic, &[]).await;
        let question = res.text().await.unwrap();
        assert!(
            question.contains(r#"<html lang="ar" dir="rtl">"#),
            "{question}"
        );
        assert!(
            question.contains("السؤال \u{2068}1\u{2069} من 3"),
            "{question}"
        );
        let done = app.give_consent(&arabic).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let created = last_created(&app);
        assert_eq!(created["details"]["language"], "ar", "{created}");
        assert_eq!(created["details"]["text_shown"], "easy_read");

        // The same journey in French journals `fr`.
        app.mandate_through_journey("1").await;
        assert_eq!(last_created(&app)["details"]["language"], "fr");
    }
}

fn last_created(app: &TestApp) -> serde_json::Value {
    app.journal()
        .into_iter()
        .rfind(|e| e["action"] == "mandate.created")
        .unwrap()
}

const EMAIL: &str = "camille.martin@exemple.fr";
