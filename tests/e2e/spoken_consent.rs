//! The consent read aloud and pictured (docs/audio.md, docs/easy-read.md): the recap
//! offers the recording of the text it shows (full or easy-to-read) in an `<audio>` element with
//! its transcript, each easy-to-read line shows its pictogram, and the recordings and
//! pictograms are served as committed. Then the same in headless Chromium on a tablet, axe-core
//! without violation, the pictograms drawn and the recording loaded by the browser.

use ac_e2e::TestApp;
use ac_e2e::browser::{MandateChoices, PORTRAIT, mandate_creation, on_tablet, run_plan, session};
use ac_mandates::{Demarche, MandateDuration};
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;

const EMAIL: &str = "camille.martin@exemple.fr";

fn audio_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/web/static/audio")
}

const OPUS: &str = "audio/ogg; codecs=opus";
const MP3: &str = "audio/mpeg";

/// The committed recording of `version` in `form` (`complet`, `facile`) in the format of
/// `extension`: its address and file.
fn recording(version: &str, form: &str, extension: &str) -> (String, String) {
    let manifest = std::fs::read_to_string(audio_dir().join("MANIFEST")).unwrap();
    let line = manifest
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|f| f[1] == version && f[2] == form && f[0].ends_with(&format!(".{extension}")))
        .unwrap_or_else(|| panic!("no recording of {version} {form} in {extension}"));
    (
        format!("/static/audio/{}/{}", &line[5][..16], line[0]),
        line[0].to_owned(),
    )
}

/// The page offers `opus` then `mp3` (a browser plays the first it can).
fn offers(page: &str, opus: &str, mp3: &str) -> bool {
    let first = format!("<source src=\"{opus}\" type=\"{OPUS}\">");
    let second = format!("<source src=\"{mp3}\" type=\"{MP3}\">");
    matches!((page.find(&first), page.find(&second)), (Some(a), Some(b)) if a < b)
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).unwrap() + start.len();
    text[from..][..text[from..].find(end).unwrap()].to_owned()
}

/// The page as the browser reads its attributes (tera escapes '/' in values as `&#x2F;`).
fn unescaped(page: &str) -> String {
    page.replace("&#x2F;", "/")
}

async fn switch(app: &TestApp, page: &str, texte: &str) -> String {
    let res = app
        .post_form(
            "/mandats/accord/texte",
            &[
                ("csrf", &ac_e2e::extract_csrf(page)),
                ("token", &between(page, "name=\"token\" value=\"", "\"")),
                ("texte", texte),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    unescaped(&res.text().await.unwrap())
}

#[actix_web::test]
async fn the_recap_plays_the_text_it_shows_and_pictures_each_easy_to_read_line() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let version = app.state.settings.mandates.legal_text_version.clone();
        let (full_src, full_file) = recording(&version, "complet", "opus");
        let (full_mp3, full_mp3_file) = recording(&version, "complet", "mp3");
        let (easy_src, easy_file) = recording(&version, "facile", "opus");
        let (easy_mp3, easy_mp3_file) = recording(&version, "facile", "mp3");

        // The full text: its recording, the transcript being the full text on the page.
        let recap = unescaped(&app.identified("0").await);
        assert!(
            recap.contains("<audio controls preload=\"none\""),
            "{recap}"
        );
        assert!(offers(&recap, &full_src, &full_mp3), "{recap}");
        assert!(!recap.contains(&easy_src) && !recap.contains(&easy_mp3));
        assert!(recap.contains("aria-describedby=\"transcription\""));
        assert!(recap.contains("href=\"#texte-complet\""));
        assert!(recap.contains("id=\"texte-complet\""));
        assert!(recap.contains("Écouter le texte complet"));
        assert!(!recap.contains("ac-pictogram"));

        // The easy-to-read text: its own recording, and each line's pictogram, decorative.
        let easy = switch(&app, &recap, "facile").await;
        assert!(offers(&easy, &easy_src, &easy_mp3), "{easy}");
        assert!(!easy.contains(&full_src) && !easy.contains(&full_mp3));
        assert!(easy.contains("Écouter le texte facile à lire"));
        assert!(easy.contains("href=\"#facile-a-lire\""));
        let dsfr = ac_web::dsfr_base();
        let lines = ac_mandates::easy_read::easy_read(&version).unwrap().lines;
        let pictured = easy
            .matches("<svg class=\"fr-artwork ac-pictogram\" aria-hidden=\"true\"")
            .count();
        assert_eq!(pictured, lines.len());
        for line in &lines {
            for part in ["decorative", "minor", "major"] {
                let href = format!(
                    "{dsfr}/artwork/pictograms/{}.svg#artwork-{part}",
                    line.pictogram
                );
                assert!(easy.contains(&format!("href=\"{href}\"")), "{href}");
            }
            let file = app
                .get(&format!("{dsfr}/artwork/pictograms/{}.svg", line.pictogram))
                .await;
            assert_eq!(file.status(), StatusCode::OK, "{}", line.pictogram);
            assert_eq!(file.headers()["content-type"], "image/svg+xml");
        }

        // The recordings, as committed: type, a year's cache, and the exact bytes.
        for (src, file, content_type) in [
            (&full_src, &full_file, OPUS),
            (&full_mp3, &full_mp3_file, MP3),
            (&easy_src, &easy_file, OPUS),
            (&easy_mp3, &easy_mp3_file, MP3),
        ] {
            let committed = std::fs::read(audio_dir().join(file)).unwrap();
            let res = app.get(src).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["content-type"], content_type);
            assert_eq!(
                res.headers()["cache-control"],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(res.headers()["accept-ranges"], "bytes");
            assert_eq!(res.bytes().await.unwrap().as_ref(), committed.as_slice());

            // A player seeking asks for a range (RFC 9110 §14).
            let res = app
                .client
                .get(app.url(src))
                .header("Range", "bytes=100-1099")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
            assert_eq!(
                res.headers()["content-range"],
                format!("bytes 100-1099/{}", committed.len()).as_str()
            );
            assert_eq!(res.bytes().await.unwrap().as_ref(), &committed[100..1100]);
            let res = app
                .client
                .get(app.url(src))
                .header("Range", format!("bytes={}-", committed.len() + 10))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
            assert_eq!(
                res.headers()["content-range"],
                format!("bytes */{}", committed.len()).as_str()
            );
        }
        // Another recording's digest, or an unknown file: not found.
        let wrong = format!("/static/audio/0000000000000000/{full_file}");
        assert_eq!(app.get(&wrong).await.status(), StatusCode::NOT_FOUND);
        let digest = between(&full_src, "/static/audio/", "/");
        let unknown = format!("/static/audio/{digest}/{easy_file}");
        assert_eq!(app.get(&unknown).await.status(), StatusCode::NOT_FOUND);
    }
}

/// The browser's mandate journey up to the recap (what follows it, the consent, is another
/// test's), and the recap's step.
fn journey_to_the_recap() -> (Vec<serde_json::Value>, usize) {
    let choices = MandateChoices {
        demarches: vec![Demarche::Social],
        duration: MandateDuration::OneMonth,
        person: "Angela".to_owned(),
        structure: "Structure org-a".to_owned(),
        wrong_code: None,
    };
    let mut steps = mandate_creation(&choices, "000000", "mandat").steps;
    let recap = steps
        .iter()
        .position(|s| s["name"] == "recapitulatif")
        .unwrap();
    steps.truncate(recap + 1);
    (steps, recap)
}

/// The consent recap in easy-to-read French on a tablet, reached through the real journey (the
/// demonstration FranceConnect): the full text's recording, then the easy-to-read text with its
/// pictograms drawn (their vendored files resolved) and its own recording, each loaded by
/// Chromium, axe-core without violation and the tablet-first rules on every page.
#[actix_web::test]
async fn the_easy_to_read_consent_with_pictograms_and_audio_passes_axe_in_chromium() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let cookie = app.cookie("ac_session").unwrap();
        let (mut steps, recap) = journey_to_the_recap();
        steps[recap]["expect"] = json!([
            "Récapitulatif du mandat",
            "Écouter le texte complet",
            "Transcription"
        ]);
        steps[recap]["playable"] = json!("audio");
        steps.push(
            json!({ "name": "facile-a-lire", "press": "Lire en facile à lire",
            "expect": ["Écouter le texte facile à lire", "Le mandat, en facile à lire"],
            "drawn": ".ac-easy-read svg.ac-pictogram use.fr-artwork-major",
            "playable": "audio" }),
        );
        let report = run_plan(
            &app,
            &format!("consentement-facile-{:?}", app.db.backend()).to_lowercase(),
            vec![on_tablet(session("aidant", &cookie, steps), PORTRAIT)],
        )
        .await;
        println!("{}", report.output);
        assert!(report.success, "browser run failed:\n{}", report.output);
        let media: Vec<_> = report.report["pages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["media"].as_array())
            .flatten()
            .collect();
        assert_eq!(media.len(), 2, "{media:?}");
        assert!(
            media[0]["src"].as_str().unwrap().ends_with(".complet.opus"),
            "{media:?}"
        );
        assert!(
            media[1]["src"].as_str().unwrap().ends_with(".facile.opus"),
            "{media:?}"
        );
        assert!(
            media.iter().all(|m| m["duration"].as_f64().unwrap() > 30.0),
            "{media:?}"
        );
    }
}

/// The same recap chosen in Arabic on the tablet (the recap's own language switcher): laid out
/// right to left, the easy-to-read French beside its Arabic translation with the pictograms
/// drawn, the recording of the French text loaded and said to be in French, the questions in
/// Arabic; axe-core and the tablet-first rules on every page.
#[actix_web::test]
async fn the_easy_to_read_consent_in_arabic_reads_right_to_left_with_audio_in_chromium() {
    for app in TestApp::each().await {
        app.with_aidant(EMAIL, &["org-a"]);
        app.sign_in(EMAIL).await;
        let cookie = app.cookie("ac_session").unwrap();
        let (mut steps, _) = journey_to_the_recap();
        let rtl = "html[dir=rtl] .ac-easy-read--beside svg.ac-pictogram use.fr-artwork-major";
        steps.extend([
            json!({ "name": "recapitulatif-ar", "press": "العربية",
                    "expect": ["ملخص التوكيل", "استمع إلى النص الكامل", "التسجيل باللغة الفرنسية."],
                    "playable": "audio" }),
            json!({ "name": "facile-a-lire-ar", "press": "اقرأ النص سهل القراءة",
                    "expect": ["استمع إلى النص سهل القراءة", "النص الفرنسي وحده هو الملزم قانونيًا"],
                    "drawn": rtl, "playable": "audio" }),
            json!({ "name": "question-1-ar", "press": "أجب عن الأسئلة الثلاثة",
                    "expect": ["السؤال \u{2068}1\u{2069} من 3"] }),
        ]);
        let report = run_plan(
            &app,
            &format!("consentement-arabe-{:?}", app.db.backend()).to_lowercase(),
            vec![on_tablet(session("aidant", &cookie, steps), PORTRAIT)],
        )
        .await;
        assert!(report.success, "browser run failed:\n{}", report.output);
        app.stop().await;
    }
}
