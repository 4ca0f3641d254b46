//! The mandate journey through HTTP, as a browser would go: the aidé's screen, the
//! demonstration FranceConnect provider (every redirect followed by hand, its choice page
//! submitted like a person), the recap and the consent. Shared by the creation, renewal and
//! usagers tests.
#![allow(clippy::indexing_slicing)] // test support: a panic is a failed test

use reqwest::StatusCode;

use crate::{TestApp, extract_csrf};

/// The `Location` header of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// The text between the first `start` and the next `end`.
pub fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).unwrap() + start.len();
    let to = text[from..].find(end).unwrap() + from;
    text[from..to].to_owned()
}

/// The aidé's screen, as shown, and where its button led.
#[derive(Debug, Clone)]
pub struct Started {
    pub html: String,
    pub csp: String,
    /// The `Location` after pressing the button (the provider's authorize URL), empty when the
    /// button answered with a page.
    pub next: String,
    /// The page the button answered with (the recap of a renewal without identification).
    pub answer: Option<String>,
}

/// The choices of a mandate as form pairs: `demarche` repeated, then `duree`.
fn choice_pairs<'a>(demarches: &[&'a str], duree: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut pairs: Vec<(&str, &str)> = demarches.iter().map(|d| ("demarche", *d)).collect();
    pairs.push(("duree", duree));
    pairs
}

impl TestApp {
    /// Opens the aidé's screen at `screen` (its query carries the choices) and presses its
    /// button, which posts the same choices to `action`.
    pub async fn press_on_aide_screen(
        &self,
        screen: &str,
        action: &str,
        demarches: &[&str],
        duree: &str,
    ) -> Started {
        let page = self.get(screen).await;
        assert_eq!(page.status(), StatusCode::OK, "{screen}");
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = page.text().await.unwrap();
        let csrf = extract_csrf(&html);
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(choice_pairs(demarches, duree));
        let res = self.post_form(action, &form).await;
        if res.status() == StatusCode::SEE_OTHER {
            return Started {
                html,
                csp,
                next: location(&res),
                answer: None,
            };
        }
        assert_eq!(res.status(), StatusCode::OK, "{action}");
        Started {
            html,
            csp,
            next: String::new(),
            answer: Some(res.text().await.unwrap()),
        }
    }

    /// Starts a new mandate's identification for these choices; the provider's authorize URL
    /// is in `next`.
    pub async fn start_identification(&self, demarches: &[&str], duree: &str) -> Started {
        let query: Vec<String> = choice_pairs(demarches, duree)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let started = self
            .press_on_aide_screen(
                &format!("/mandats/identification?{}", query.join("&")),
                "/mandats/franceconnect",
                demarches,
                duree,
            )
            .await;
        assert!(
            started
                .next
                .starts_with(&format!("{}/demo/franceconnect/authorize?", self.base_url)),
            "{}",
            started.next
        );
        started
    }

    /// At the demonstration provider: choose a person (`("identity", "0")`) or cancel
    /// (`("cancel", "1")`); returns our callback URL.
    pub async fn at_provider(&self, authorize: &str, choice: (&str, &str)) -> String {
        let page = self.client.get(authorize).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("DÉMONSTRATION"));
        let interaction = between(&html, "name=\"interaction\" value=\"", "\"");
        let res = self
            .client
            .post(format!(
                "{}/demo/franceconnect/authorize/choix",
                self.base_url
            ))
            .form(&[("interaction", interaction.as_str()), choice])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = location(&res);
        assert!(
            to.starts_with(&format!("{}/mandats/franceconnect/retour?", self.base_url)),
            "{to}"
        );
        to
    }

    /// From the provider's return to the page after the FranceConnect logout (the recap, or a
    /// refusal).
    pub async fn return_from_provider(&self, callback: &str) -> reqwest::Response {
        let logout = location(&self.client.get(callback).send().await.unwrap());
        let back = location(&self.client.get(&logout).send().await.unwrap());
        self.client.get(&back).send().await.unwrap()
    }

    /// The provider's whole round trip from its authorize URL, choosing demonstration person
    /// `identity`; returns the recap's HTML as it first shows, before the three questions.
    pub async fn identify_before_questions(&self, authorize: &str, identity: &str) -> String {
        let callback = self.at_provider(authorize, ("identity", identity)).await;
        let recap = self.return_from_provider(&callback).await;
        assert_eq!(recap.status(), StatusCode::OK);
        recap.text().await.unwrap()
    }

    /// The provider's whole round trip, then the three questions answered right the first
    /// time, as the person taps them; returns the recap's HTML with its accord form.
    pub async fn identify(&self, authorize: &str, identity: &str) -> String {
        let recap = self.identify_before_questions(authorize, identity).await;
        self.answer_questions(&recap).await
    }

    /// One post of a question's page (or of the recap's way in, with no `extra`), with the
    /// page's hidden fields.
    pub async fn post_questions(&self, page: &str, extra: &[(&str, &str)]) -> reqwest::Response {
        let form = page
            .split("action=\"/mandats/accord/questions\"")
            .nth(1)
            .expect("a form of the questions");
        let csrf = extract_csrf(page);
        let token = between(form, "name=\"token\" value=\"", "\"");
        let texte = between(form, "name=\"texte\" value=\"", "\"");
        // The language the page is read in, carried like the text (docs/languages.md).
        let langue = between(form, "name=\"langue\" value=\"", "\"");
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("texte", texte.as_str()),
            ("langue", langue.as_str()),
        ];
        fields.extend_from_slice(extra);
        self.post_form("/mandats/accord/questions", &fields).await
    }

    /// From a recap still waiting for the comprehension check: « Répondre aux 3 questions »,
    /// then the right answer to each question shown (the page names it: `question`); returns
    /// the recap that comes back with the accord form. A recap past the check is returned as is.
    pub async fn answer_questions(&self, recap: &str) -> String {
        if !recap.contains("action=\"/mandats/accord/questions\"") {
            return recap.to_owned();
        }
        let res = self.post_questions(recap, &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let mut page = res.text().await.unwrap();
        // At most three questions (fewer when some were answered before).
        for _ in 0..3 {
            if page.contains("action=\"/mandats/accord\"") {
                break;
            }
            let asked = between(&page, "name=\"question\" value=\"", "\"");
            let right = ac_mandates::comprehension::Question::from_key(&asked)
                .unwrap_or_else(|| panic!("question {asked}"))
                .right();
            let res = self
                .post_questions(&page, &[("question", &asked), ("reponse", right.key())])
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            page = res.text().await.unwrap();
        }
        assert!(
            page.contains("action=\"/mandats/accord\""),
            "the accord form after the questions: {page}"
        );
        page
    }

    /// A new mandate for `social` and `argent` over one year, up to the recap page, with
    /// demonstration person `identity`; returns the recap's HTML.
    pub async fn identified(&self, identity: &str) -> String {
        let started = self
            .start_identification(&["social", "argent"], "365")
            .await;
        self.identify(&started.next, identity).await
    }

    /// On the recap: the aidé ticks « Je donne mon accord » and the aidant types a fresh TOTP
    /// code; returns the answer (a redirect to the mandate on success).
    pub async fn give_consent(&self, recap: &str) -> reqwest::Response {
        // A recap still before the questions (a renewal without identification): answered
        // first, as the person would.
        let answered = self.answer_questions(recap).await;
        let recap = answered.as_str();
        let csrf = extract_csrf(recap);
        let token = between(recap, "name=\"token\" value=\"", "\"");
        // The text the page showed, as its consent form posts it back.
        let form = recap
            .split("action=\"/mandats/accord\"")
            .nth(1)
            .unwrap_or_default();
        let texte = between(form, "name=\"texte\" value=\"", "\"");
        let langue = between(form, "name=\"langue\" value=\"", "\"");
        self.next_totp_step();
        let code = self.totp_now();
        self.post_form(
            "/mandats/accord",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("texte", &texte),
                ("langue", &langue),
                ("accord", "oui"),
                ("code", &code),
            ],
        )
        .await
    }

    /// A new mandate through the whole journey; returns its page's path.
    pub async fn mandate_through_journey(&self, identity: &str) -> String {
        let recap = self.identified(identity).await;
        let res = self.give_consent(&recap).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        location(&res)
    }
}
