//! The comprehension check before consent, over HTTP on both backends: three
//! questions between the recap and « Je donne mon accord », a wrong answer explained again and
//! counted, « Passer » only after an explanation, the accord refused until the check is over,
//! and a journal that records the outcome and the tries, never an answer.

use ac_e2e::{TestApp, between, location};
use ac_mandates::comprehension::{Answer, Question};
use reqwest::StatusCode;
use serde_json::Value;

const EMAIL: &str = "camille.martin@exemple.fr";

/// Every answer key the check knows: none may reach the journal.
const ANSWERS: [Answer; 9] = [
    Answer::Structure,
    Answer::Family,
    Answer::Anyone,
    Answer::EndDate,
    Answer::OtherDate,
    Answer::Forever,
    Answer::StructureOrSpace,
    Answer::TearUpPaper,
    Answer::CannotStop,
];

/// A signed-in aidant and a recap of a new mandate (social and argent, one year) for
/// demonstration person 0, before the questions.
async fn recap_before_questions(app: &TestApp) -> String {
    app.with_aidant(EMAIL, &["org-a"]);
    app.sign_in(EMAIL).await;
    let started = app.start_identification(&["social", "argent"], "365").await;
    app.identify_before_questions(&started.next, "0").await
}

/// Posts a question's page and returns the status and the page.
async fn post(app: &TestApp, page: &str, extra: &[(&str, &str)]) -> (StatusCode, String) {
    let res = app.post_questions(page, extra).await;
    (res.status(), res.text().await.unwrap())
}

fn asked(page: &str) -> String {
    between(page, "name=\"question\" value=\"", "\"")
}

fn right(page: &str) -> &'static str {
    Question::from_key(&asked(page)).unwrap().right().key()
}

/// A wrong answer of the question on `page`.
fn wrong(page: &str) -> &'static str {
    let [_, wrong, _] = Question::from_key(&asked(page)).unwrap().answers();
    wrong.key()
}

/// The `mandate.created` entries' details.
fn created(app: &TestApp) -> Vec<Value> {
    let mut seen = Vec::new();
    for e in app.journal() {
        if e["action"] == "mandate.created" && !seen.contains(&e["details"]) {
            seen.push(e["details"].clone());
        }
    }
    seen
}

const ACCORD_FORM: &str = "action=\"/mandats/accord\"";

#[actix_web::test]
async fn three_right_answers_pass_the_check_in_one_try_and_the_journal_says_so() {
    for app in TestApp::each().await {
        let recap = recap_before_questions(&app).await;
        // The recap waits for the questions: no accord form yet, the way in instead.
        assert!(!recap.contains(ACCORD_FORM), "{recap}");
        assert!(recap.contains("Répondre aux 3 questions"));
        let (status, first) = post(&app, &recap, &[]).await;
        assert_eq!(status, StatusCode::OK);
        // One question per screen, three pictured answers, each one button that answers.
        assert!(first.contains("Question 1 sur 3"), "{first}");
        assert!(first.contains("Qui pourra faire des démarches en ligne pour vous ?"));
        assert_eq!(first.matches("name=\"reponse\"").count(), 3);
        assert_eq!(
            first.matches("class=\"fr-artwork ac-pictogram\"").count(),
            3
        );
        // Built from this mandate: the structure's name.
        assert!(first.contains("Les aidants de Structure org-a"), "{first}");
        assert!(!first.contains(">Passer<"), "no skip before an explanation");
        let (_, second) = post(
            &app,
            &first,
            &[("question", "qui"), ("reponse", right(&first))],
        )
        .await;
        assert!(second.contains("Bonne réponse.") && second.contains("Question 2 sur 3"));
        // The end date, written as on the recap, and the duration.
        let until = between(&recap, "jusqu'au <strong>", "</strong>");
        assert!(
            second.contains(&format!("Jusqu'au {until}")),
            "{until}: {second}"
        );
        assert!(second.contains("1 an (365 jours)"));
        let (_, third) = post(
            &app,
            &second,
            &[("question", "jusqu-a-quand"), ("reponse", right(&second))],
        )
        .await;
        assert!(third.contains("Question 3 sur 3") && third.contains("« Mon espace »"));
        let (status, done) = post(
            &app,
            &third,
            &[("question", "arreter"), ("reponse", right(&third))],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(done.contains(ACCORD_FORM), "{done}");
        assert!(done.contains("a répondu aux 3 questions"));
        // The same answer tapped twice (a double tap) after the check: nothing changes.
        let (status, again) = post(
            &app,
            &third,
            &[("question", "arreter"), ("reponse", right(&third))],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(again.contains(ACCORD_FORM));

        let res = app.give_consent(&done).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(location(&res).starts_with("/mandats/"));
        let [details] = created(&app).try_into().unwrap();
        assert_eq!(details["comprehension"], "passed", "{details}");
        assert_eq!(details["comprehension_tries"], "1", "{details}");
        app.stop().await;
    }
}

#[actix_web::test]
async fn a_wrong_answer_shows_the_explanation_again_and_counts_a_try() {
    for app in TestApp::each().await {
        let recap = recap_before_questions(&app).await;
        let (_, first) = post(&app, &recap, &[]).await;
        let (status, explained) = post(
            &app,
            &first,
            &[("question", "qui"), ("reponse", wrong(&first))],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        // The same question again, with that point's explanation, tied to the question.
        assert!(explained.contains("Question 1 sur 3"), "{explained}");
        assert!(
            explained.contains("Ce n'est pas la bonne réponse"),
            "{explained}"
        );
        assert!(explained.contains("Seuls les aidants de <strong>Structure org-a</strong>"));
        assert!(explained.contains("aria-describedby=\"explication\""));
        assert!(explained.contains(">Passer</button>"), "skip offered now");
        let mut page = explained;
        for _ in 0..3 {
            let q = asked(&page);
            let (_, next) = post(&app, &page, &[("question", &q), ("reponse", right(&page))]).await;
            page = next;
        }
        assert!(page.contains(ACCORD_FORM), "{page}");
        assert_eq!(
            app.give_consent(&page).await.status(),
            StatusCode::SEE_OTHER
        );
        let [details] = created(&app).try_into().unwrap();
        assert_eq!(details["comprehension"], "passed");
        assert_eq!(details["comprehension_tries"], "2");
        app.stop().await;
    }
}

#[actix_web::test]
async fn passer_is_refused_before_an_explanation_and_recorded_after_one() {
    for app in TestApp::each().await {
        let recap = recap_before_questions(&app).await;
        let (_, first) = post(&app, &recap, &[]).await;
        // « Passer » forged before any explanation: refused, the check unchanged.
        let (status, refused) = post(&app, &first, &[("passer", "oui")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.contains("MND016"), "{refused}");
        let (_, still) = post(&app, &recap, &[]).await;
        assert!(still.contains("Question 1 sur 3") && !still.contains(">Passer<"));
        // One right answer, then a wrong one: explained, and now it may be skipped.
        let (_, second) = post(
            &app,
            &first,
            &[("question", "qui"), ("reponse", right(&first))],
        )
        .await;
        let (_, explained) = post(
            &app,
            &second,
            &[("question", "jusqu-a-quand"), ("reponse", "pour-toujours")],
        )
        .await;
        assert!(
            explained.contains("Le mandat s'arrête tout seul le"),
            "{explained}"
        );
        let (status, skipped) = post(&app, &explained, &[("passer", "oui")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(skipped.contains(ACCORD_FORM), "{skipped}");
        assert!(skipped.contains("a passé les questions, après une explication"));
        assert_eq!(
            app.give_consent(&skipped).await.status(),
            StatusCode::SEE_OTHER
        );
        let [details] = created(&app).try_into().unwrap();
        assert_eq!(details["comprehension"], "skipped");
        assert_eq!(details["comprehension_tries"], "2");
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_accord_is_refused_until_the_check_is_over_and_nothing_is_written() {
    for app in TestApp::each().await {
        let recap = recap_before_questions(&app).await;
        let csrf = ac_e2e::extract_csrf(&recap);
        let token = between(&recap, "name=\"token\" value=\"", "\"");
        app.next_totp_step();
        let code = app.totp_now();
        let accord = [
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("texte", "complet"),
            ("accord", "oui"),
            ("code", code.as_str()),
        ];
        let written = |app: &TestApp| {
            app.journal_actions()
                .into_iter()
                .filter(|a| a.starts_with("mandate.") || a.starts_with("authorization."))
                .count()
        };
        let res = app.post_form("/mandats/accord", &accord).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains("MND014"), "{html}");
        assert!(
            html.contains("Répondre aux 3 questions"),
            "the way to the questions"
        );
        assert_eq!(app.count_rows("mandates"), 0);
        assert_eq!(
            app.count_rows("mandate_consents"),
            1,
            "the consent still waits"
        );
        assert_eq!(written(&app), 0, "nothing journaled");
        // Halfway through: still refused.
        let (_, first) = post(&app, &recap, &[]).await;
        post(
            &app,
            &first,
            &[("question", "qui"), ("reponse", right(&first))],
        )
        .await;
        let res = app.post_form("/mandats/accord", &accord).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("MND014"));
        assert_eq!(app.count_rows("mandates"), 0);
        // The code was not spent by the refusals: once the check is over, it is accepted.
        let done = app.answer_questions(&recap).await;
        assert!(done.contains(ACCORD_FORM));
        let res = app.post_form("/mandats/accord", &accord).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.count_rows("mandates"), 1);
        app.stop().await;
    }
}

#[actix_web::test]
async fn forged_answers_are_refused_with_a_code_never_a_server_error() {
    for app in TestApp::each().await {
        let recap = recap_before_questions(&app).await;
        let (_, first) = post(&app, &recap, &[]).await;
        let long = "x".repeat(5000);
        for (question, answer) in [
            ("qui", "pour-toujours"),    // another question's answer
            ("qui", "la-structure "),    // not quite a key
            ("qui", long.as_str()),      // oversized
            ("combien", "la-structure"), // no such question
            (long.as_str(), "la-famille"),
        ] {
            let (status, page) =
                post(&app, &first, &[("question", question), ("reponse", answer)]).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{question} {answer}"
            );
            assert!(page.contains("MND015"), "{page}");
        }
        // An answer to a question already passed or not yet asked: the current one, unchanged.
        let (status, page) = post(
            &app,
            &first,
            &[("question", "arreter"), ("reponse", "impossible")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Question 1 sur 3") && !page.contains("Ce n'est pas"));
        // Without its CSRF token: refused; with an unknown consent: MND020.
        let token = between(&recap, "name=\"token\" value=\"", "\"");
        let res = app
            .post_form(
                "/mandats/accord/questions",
                &[
                    ("token", &token),
                    ("question", "qui"),
                    ("reponse", "la-structure"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let csrf = ac_e2e::extract_csrf(&recap);
        let res = app
            .post_form(
                "/mandats/accord/questions",
                &[("csrf", &csrf), ("token", "inconnu"), ("question", "qui")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("MND020"));
        // None of it moved the check: one right answer still moves it from question 1.
        let (_, second) = post(
            &app,
            &first,
            &[("question", "qui"), ("reponse", right(&first))],
        )
        .await;
        assert!(second.contains("Question 2 sur 3"), "{second}");
        app.stop().await;
    }
}

#[actix_web::test]
async fn the_journal_records_the_outcome_and_tries_never_the_answers() {
    for app in TestApp::each().await {
        let recap = recap_before_questions(&app).await;
        let (_, first) = post(&app, &recap, &[]).await;
        // Every wrong answer of the first question, then the right ones.
        let [_, a, b] = Question::Who.answers();
        let (_, page) = post(&app, &first, &[("question", "qui"), ("reponse", a.key())]).await;
        let (_, page) = post(&app, &page, &[("question", "qui"), ("reponse", b.key())]).await;
        // The rest answered right from the question page.
        let done = app.answer_questions(&page).await;
        assert_eq!(
            app.give_consent(&done).await.status(),
            StatusCode::SEE_OTHER
        );
        let [details] = created(&app).try_into().unwrap();
        assert_eq!(details["comprehension_tries"], "3");
        let journal = serde_json::to_string(&app.journal()).unwrap();
        for answer in ANSWERS {
            assert!(
                !journal.contains(answer.key()),
                "{} in {journal}",
                answer.key()
            );
        }
        for word in ["reponse", "question\"", "answer"] {
            assert!(!journal.contains(word), "{word} in {journal}");
        }
        app.stop().await;
    }
}
