//! Consent at a distance in Chromium: the person's pages on a phone's window
//! (`TALL_PHONE`, 390×844, with the tablet-first rules: text size, target size, visible focus, no horizontal
//! scrolling) — in French, then in Arabic (right to left) — with the easy-to-read text, its
//! recording and the comprehension check, and the aidant's list and confirmation, every page
//! checked by axe-core. Both backends.

use ac_e2e::browser::{TALL_PHONE, anonymous, on_tablet, run_plan, session};
use ac_e2e::{TestApp, extract_csrf, location};
use reqwest::StatusCode;
use serde_json::json;

const EMAIL: &str = "camille.martin@exemple.fr";

/// The aidant sends the link by SMS (the development outbox); its path.
async fn link_path(app: &TestApp) -> String {
    let res = app
        .get("/mandats/a-distance/nouveau?demarche=social&demarche=argent&duree=365")
        .await;
    let csrf = extract_csrf(&res.text().await.unwrap());
    let res = app
        .post_form(
            "/mandats/a-distance",
            &[
                ("csrf", &csrf),
                ("demarche", "social"),
                ("demarche", "argent"),
                ("duree", "365"),
                ("canal", "sms"),
                ("adresse", "06 12 34 56 78"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/mandats/a-distance?envoye=1");
    let dir = &app.state.settings.mail.outbox_dir;
    let sms = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("sms-"))
        .unwrap();
    let text = std::fs::read_to_string(sms.path()).unwrap();
    let link = text
        .lines()
        .find(|l| l.starts_with("http"))
        .unwrap()
        .to_owned();
    link.strip_prefix(&app.base_url).unwrap().to_owned()
}

#[actix_web::test]
async fn the_remote_consent_passes_axe_on_a_phone_and_the_aidant_confirms() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let cookie = app.cookie("ac_session").unwrap();
        let link = link_path(&app).await;
        app.next_totp_step();
        let totp = app.totp_now();
        let easy =
            ac_mandates::easy_read::easy_read(&app.state.settings.mandates.legal_text_version)
                .unwrap();

        let phone = on_tablet(
            anonymous(
                "telephone",
                vec![
                    json!({ "name": "lien", "goto": link,
                            "expect": ["Votre accord est demandé", "Camille", "Structure org-a"] }),
                    json!({ "name": "franceconnect", "press": "S'identifier avec FranceConnect",
                            "expect": ["DÉMONSTRATION"] }),
                    json!({ "name": "recapitulatif", "press": "Se connecter en tant que",
                            "expect": ["Le mandat proposé", "DUBOIS", "Je refuse",
                                       "Écouter le texte complet", "Transcription"],
                            "playable": "audio" }),
                    json!({ "name": "facile-a-lire", "click": "Lire en facile à lire",
                            "expect": [easy.title, "Écouter le texte facile à lire"],
                            "drawn": ".ac-easy-read svg.ac-pictogram use.fr-artwork-major",
                            "playable": "audio" }),
                    json!({ "name": "question-qui", "press": "Répondre aux 3 questions",
                            "expect": ["Question 1 sur 3"] }),
                    json!({ "name": "question-jusqu-a-quand", "press": "Les aidants de Structure org-a",
                            "expect": ["Bonne réponse.", "Question 2 sur 3"] }),
                    json!({ "name": "question-arreter", "press": "1 an (365 jours)",
                            "expect": ["Question 3 sur 3"] }),
                    json!({ "name": "questions-reussies", "press": "ou vous l'arrêtez dans « Mon espace »",
                            "expect": ["Vous avez répondu aux 3 questions.", "Je donne mon accord"],
                            "drawn": ".ac-easy-read svg.ac-pictogram use.fr-artwork-major" }),
                    json!({ "name": "accord", "check": ["Je donne mon accord"],
                            "press": "Envoyer mon accord",
                            "expect": ["Merci, votre accord est envoyé", "Camille"] }),
                    json!({ "name": "lien-utilise", "goto": link, "status": 410,
                            "expect": ["Ce lien a déjà servi"] }),
                ],
            ),
            TALL_PHONE,
        );
        let aidant = session(
            "aidant",
            &cookie,
            vec![
                json!({ "name": "a-distance", "goto": "/mandats/a-distance",
                        "expect": ["accordé — à confirmer", "DUBOIS"] }),
                json!({ "name": "mandat",
                        "fill": { "Code de votre application d'authentification (6 chiffres)": totp },
                        "press": "Confirmer et créer le mandat",
                        "expect": ["DUBOIS", "Social"] }),
            ],
        );
        let run = run_plan(&app, "remote-consent", vec![phone, aidant]).await;
        assert!(run.success, "{}", run.output);
        assert_eq!(app.count_rows("mandates"), 1);
        let created = app
            .journal()
            .into_iter()
            .find(|e| e["action"] == "mandate.created")
            .unwrap();
        assert_eq!(created["details"]["consent"], "remote");
        app.stop().await;
    }
}

/// The same journey chosen in Arabic on the link's page: every page of the person right to
/// left, the easy-to-read French beside its Arabic translation with the pictograms drawn, the
/// recording loaded, the three questions in Arabic; the journal records `ar`.
#[actix_web::test]
async fn the_remote_consent_in_arabic_reads_right_to_left_on_a_phone() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let link = link_path(&app).await;
        let rtl = "html[dir=rtl] .ac-easy-read--beside svg.ac-pictogram use.fr-artwork-major";
        let phone = on_tablet(
            anonymous(
                "telephone-ar",
                vec![
                    json!({ "name": "lien", "goto": link, "expect": ["Votre accord est demandé"] }),
                    json!({ "name": "lien-ar", "click": "العربية", "expect": ["مطلوب موافقتك"] }),
                    json!({ "name": "franceconnect", "press": "S'identifier avec FranceConnect",
                            "expect": ["DÉMONSTRATION"] }),
                    json!({ "name": "recapitulatif", "press": "Se connecter en tant que",
                            "expect": ["التوكيل المقترح", "DUBOIS", "استمع إلى النص الكامل"],
                            "playable": "audio" }),
                    json!({ "name": "facile-a-lire", "click": "اقرأ النص سهل القراءة",
                            "expect": ["استمع إلى النص سهل القراءة", "النص الفرنسي وحده هو الملزم قانونيًا"],
                            "drawn": rtl, "playable": "audio" }),
                    json!({ "name": "question-1", "press": "أجب عن الأسئلة الثلاثة",
                            "expect": ["السؤال \u{2068}1\u{2069} من 3"] }),
                    json!({ "name": "question-2", "press": "مساعدو", "expect": ["جواب صحيح.", "السؤال \u{2068}2\u{2069} من 3"] }),
                    json!({ "name": "question-3", "press": "سنة واحدة (365 يومًا)", "expect": ["السؤال \u{2068}3\u{2069} من 3"] }),
                    json!({ "name": "questions-reussies", "press": "أو توقفه في",
                            "expect": ["أجبت عن الأسئلة الثلاثة.", "أعطي موافقتي"], "drawn": rtl }),
                    json!({ "name": "accord", "check": ["أعطي موافقتي"], "press": "إرسال موافقتي",
                            "expect": ["شكرًا، تم إرسال موافقتك"] }),
                ],
            ),
            TALL_PHONE,
        );
        let run = run_plan(&app, "remote-consent-ar", vec![phone]).await;
        assert!(run.success, "{}", run.output);
        let given = app
            .journal()
            .into_iter()
            .find(|e| e["action"] == "remote_consent.given")
            .unwrap();
        assert_eq!(given["details"]["language"], "ar");
        assert_eq!(given["details"]["text_shown"], "easy_read");
        assert_eq!(given["details"]["comprehension"], "passed");
        app.stop().await;
    }
}
