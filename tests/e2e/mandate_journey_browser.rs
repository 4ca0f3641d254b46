//! The mandate creation journey in headless Chromium, on a tablet ("A real browser"):
//! `make run`'s demonstration data, a demo aidant, the demonstration FranceConnect. Upright
//! (768×1024) with a refused code first, then on from the mandate: the printable mandate (on
//! screen, then as printed: an A4 PDF), its verification by an anonymous visitor, the usagers
//! list, the usager's page and the renewal's first page, the revocation of one démarche then of
//! the whole mandate with their attestations, and the verification again (« Révoqué »).
//! Sideways (1024×768, with the printable mandate, the revocation's confirmation and the
//! verification form), and upright with JavaScript turned off; and the pages before it (home,
//! sign-in with a refused code, the aidant's space). Every page: axe-core without violation
//! (where scripts run), the tablet-first rules, no console error, a screenshot under
//! `target/browser-artefacts/parcours-mandat-*/`.

use ac_auth::totp::{TotpStep, code_at};
use ac_clock::Clock;
use ac_demo::DEMO_TOTP_SEED;
use ac_e2e::TestApp;
use ac_e2e::browser::{
    LANDSCAPE, MandateChoices, PORTRAIT, anonymous, artefacts_dir, mandate_creation, on_tablet,
    run_plan, session, without_javascript,
};
use ac_e2e::browser::{PHONE, TALL_PHONE};
use ac_mandates::{Aidant, Demarche, MandateDuration, Organisation};
use ac_storage::journal::AuditContext;
use ac_storage::{aidants, organisations};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Demo aidants who may create mandates, each the only member of a structure that allows
/// `demarches`, one per structure: the journeys do not share anything but the data.
fn demo_aidants(
    app: &TestApp,
    demarches: &[Demarche],
    count: usize,
) -> Vec<(Aidant, Organisation)> {
    let conn = &mut *app.db.db.conn().unwrap();
    let outcome = ac_demo::load(
        conn,
        &app.state.auth.keys,
        &app.state.franceconnect.demo_pseudonyms().unwrap(),
        &AuditContext::cli(),
        app.clock.now(),
    )
    .unwrap();
    assert!(matches!(outcome, ac_demo::Outcome::Loaded(_)));
    let structures = organisations::list(conn).unwrap();
    let mut chosen: Vec<(Aidant, Organisation)> = Vec::new();
    for aidant in aidants::list(conn, None).unwrap() {
        let Some(structure) = structures
            .iter()
            .find(|o| o.id == aidant.current_organisation)
        else {
            continue;
        };
        if aidant.can_create_mandates
            && aidant.organisations.len() == 1
            && demarches
                .iter()
                .all(|d| structure.allowed_demarches.contains(d))
            && chosen.iter().all(|(_, o)| o.id != structure.id)
        {
            chosen.push((aidant, structure.clone()));
        }
    }
    assert!(
        chosen.len() >= count,
        "the demo has {} such aidants",
        chosen.len()
    );
    chosen.truncate(count);
    chosen
}

/// The creation journey ended by a refusal: « Je refuse » on the recap (`at_recap`, after the
/// person's identification), or « Annuler » on the aidé's first screen.
fn refusal(choices: &MandateChoices, at_recap: bool) -> Vec<Value> {
    let mut steps = mandate_creation(choices, "", "refus").steps;
    steps.truncate(if at_recap { 5 } else { 3 });
    let (button, said) = if at_recap {
        (
            "Je refuse",
            "La personne accompagnée a refusé de donner mandat",
        )
    } else {
        ("Annuler", "Vous avez annulé la création du mandat")
    };
    steps.push(json!({ "name": "refus", "press": button,
                       "expect": ["Aucun mandat n'a été créé", said] }));
    steps
}

/// A six-digit code the demo app shows at none of the steps around now.
fn wrong_code(app: &TestApp) -> String {
    let now = app.clock_now().unix_timestamp();
    let near: Vec<String> = (-3..=3)
        .map(|step| code_at(DEMO_TOTP_SEED, TotpStep::App, now + step * 30, 6))
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .unwrap()
}

#[actix_web::test]
async fn the_mandate_journeys_pass_axe_and_the_tablet_rules_in_chromium() {
    for app in TestApp::each().await {
        let demarches = vec![Demarche::Social, Demarche::Argent];
        // Four aidants for the journeys, signed in over HTTP (the fourth on a phone); a fifth
        // signs in in the browser.
        let team = demo_aidants(&app, &demarches, 5);
        let mut cookies = Vec::new();
        for (aidant, _) in team[..3].iter().chain(&team[4..]) {
            app.sign_in_on(aidant.email.as_str(), DEMO_TOTP_SEED).await;
            cookies.push(app.cookie("ac_session").unwrap());
        }
        let newcomer = team[3].0.email.as_str();
        let mailed = app.sent_mail().len();
        assert_eq!(app.request_link(newcomer).await.status(), StatusCode::OK);
        let link = app.wait_for_link(mailed + 1).await;
        // Each step-up wants a code of a 30-second step the aidant has not used yet, and the
        // service takes the steps next to now: the clock moves two steps on from the sign-ins
        // and stays there during the run. The recaps take the previous step's code, the two
        // revocations the current and the next step's.
        app.next_totp_step();
        app.next_totp_step();
        let now = app.clock_now().unix_timestamp();
        let [totp, revoke_one, revoke_all] =
            [-1, 0, 1].map(|step| code_at(DEMO_TOTP_SEED, TotpStep::App, now + step * 30, 6));
        let wrong = wrong_code(&app);
        let before = app.count_rows("mandates");

        let choices = |i: usize, person: &str, duration| MandateChoices {
            demarches: demarches.clone(),
            duration,
            person: person.to_owned(),
            structure: team[i].1.name.clone(),
            wrong_code: None,
        };
        let upright_choices = MandateChoices {
            wrong_code: Some(wrong.clone()),
            ..choices(0, "Angela Claire Louise DUBOIS", MandateDuration::OneYear)
        };
        let mut upright = mandate_creation(&upright_choices, &totp, "mandat-portrait");
        let after = after_creation(
            &upright_choices,
            &upright.mandate_page,
            [&revoke_one, &revoke_all],
        );
        upright.steps.extend(after.printing);
        let mut sideways = mandate_creation(
            &choices(1, "Karim BENALI", MandateDuration::SixMonths),
            &totp,
            "mandat-paysage",
        );
        // Another structure's mandate, reached by its address: refused, on a page as usable.
        sideways
            .steps
            .push(json!({ "name": "mandat-d-une-autre-structure",
            "goto": upright.mandate_page, "status": 403, "expect": ["Accès refusé"] }));
        // Sideways too, the pages after the creation that the aidé reads: the printable mandate,
        // the revocation's confirmation (not submitted), and the public verification form.
        sideways.steps.extend([
            json!({ "name": "mandat-a-imprimer", "goto": format!("{}/imprimer", sideways.mandate_page),
                    "expect": ["Mandat pour des démarches en ligne"] }),
            json!({ "name": "revocation-confirmation", "goto": format!("{}/revocation", sideways.mandate_page),
                    "expect": ["Je confirme la révocation"] }),
            json!({ "name": "verification-formulaire", "goto": "/verification" }),
        ]);
        let no_script = mandate_creation(
            &MandateChoices {
                demarches: vec![Demarche::Papiers, Demarche::Logement],
                ..choices(2, "Mai Thi NGUYEN", MandateDuration::OneMonth)
            },
            &totp,
            "mandat-sans-javascript",
        );
        // The pages before: home, sign-in (an unknown address gets the same answer), the mailed
        // link, a refused code, then the aidant's space.
        let sign_in = vec![
            json!({ "name": "accueil", "goto": "/" }),
            json!({ "name": "connexion", "click": "Espace aidant : se connecter" }),
            json!({ "name": "lien-envoye", "fill": { "Adresse e-mail": "personne@exemple.fr" },
                    "press": "Recevoir un lien de connexion" }),
            json!({ "name": "lien-ouvert", "goto": format!("/connexion/lien/{}", link.expose()) }),
            json!({ "name": "code", "press": "Continuer la connexion" }),
            json!({ "name": "code-refuse", "fill": { "Code à 6 chiffres": wrong }, "press": "Me connecter",
                    "status": 422 }),
            json!({ "name": "espace", "fill": { "Code à 6 chiffres": totp }, "press": "Me connecter",
                    "expect": ["Créer un mandat"] }),
        ];

        // On a phone, the aidé refuses on the recap, then on their first screen: nothing is
        // created either time, and the aidant is told what to do next.
        let phone_choices = choices(4, "Jean-Pierre MARTIN", MandateDuration::OneMonth);
        let mut refusals = refusal(&phone_choices, true);
        refusals.extend(refusal(&phone_choices, false));
        // Sideways, the aidant cancels on the aidé's screen.
        sideways
            .steps
            .extend(refusal(&choices(1, "", MandateDuration::OneMonth), false));

        // Each session: its steps, its window width, whether axe-core runs.
        let plan = [
            ("portrait", upright.steps, PORTRAIT, true, Some(&cookies[0])),
            (
                "paysage",
                sideways.steps,
                LANDSCAPE,
                true,
                Some(&cookies[1]),
            ),
            (
                "sans-javascript",
                no_script.steps,
                PORTRAIT,
                false,
                Some(&cookies[2]),
            ),
            ("telephone-refus", refusals, PHONE, true, Some(&cookies[3])),
            ("verification", after.verification, PORTRAIT, true, None),
            (
                "revocation",
                after.revocation,
                PORTRAIT,
                true,
                Some(&cookies[0]),
            ),
            ("verification-revoque", after.revoked, PORTRAIT, true, None),
            ("connexion", sign_in, PORTRAIT, true, None),
        ];
        let mut expected = Vec::new();
        let mut sessions = Vec::new();
        for (name, steps, viewport, scripts, cookie) in plan {
            expected.extend(std::iter::repeat_n((viewport.width, scripts), steps.len()));
            let s = match cookie {
                Some(cookie) => session(name, cookie, steps),
                None => anonymous(name, steps),
            };
            let s = on_tablet(s, viewport);
            sessions.push(if scripts { s } else { without_javascript(s) });
        }
        let name = format!("parcours-mandat-{:?}", app.db.backend()).to_lowercase();
        let run = run_plan(&app, &name, sessions).await;
        println!("{}", run.output);
        assert!(run.success, "browser run failed:\n{}", run.output);

        let pages = run.report["pages"].as_array().unwrap();
        assert_eq!(pages.len(), expected.len(), "{}", run.output);
        let dir = artefacts_dir(&name);
        for (page, (width, scripts)) in pages.iter().zip(expected) {
            assert_eq!(page["axe"], scripts, "axe ran where scripts run: {page}");
            assert_eq!(page["violations"].as_array().unwrap().len(), 0, "{page}");
            assert_eq!(page["tablet"].as_array().unwrap().len(), 0, "{page}");
            assert_eq!(page["viewport"]["width"], width, "{page}");
            let shot = dir.join(format!("{}.png", page["name"].as_str().unwrap()));
            assert!(shot.metadata().unwrap().len() > 0, "{}", shot.display());
        }
        // Three journeys, three mandates, the one without JavaScript too.
        assert_eq!(app.count_rows("mandates"), before + 3);
        for key in [
            "mandat-portrait",
            "mandat-paysage",
            "mandat-sans-javascript",
        ] {
            let path = run.report["remembered"][key].as_str().unwrap();
            assert!(path.starts_with("/mandats/"), "{key}: {path}");
        }
        // The printed mandate is an A4 PDF; its code, read on paper, verified it.
        for page in pages.iter().filter(|p| !p["print"].is_null()) {
            let pdf = std::fs::read(page["print"]["pdf"].as_str().unwrap()).unwrap();
            assert!(pdf.starts_with(b"%PDF-"), "{page}");
        }
        let code = run.report["remembered"]["code-verification"]
            .as_str()
            .unwrap();
        assert!(code.len() >= 32, "{code}");
        // One démarche revoked, then the whole mandate, which stopped the other one: each
        // confirmed by the aidé on screen.
        let revoked = run.report["remembered"]["mandat-portrait"]
            .as_str()
            .unwrap()
            .trim_start_matches("/mandats/")
            .to_owned();
        let journal = app.journal();
        let of_mandate = |action: &str| -> Vec<&Value> {
            journal
                .iter()
                .filter(|e| e["action"] == action)
                .filter(|e| {
                    e["target"] == revoked.as_str() || e["details"]["mandate"] == revoked.as_str()
                })
                .collect()
        };
        let whole = of_mandate("mandate.revoked");
        assert_eq!(whole.len(), 1, "{journal:?}");
        assert_eq!(whole[0]["details"]["confirmation"], "usager_on_screen");
        assert_eq!(of_mandate("authorization.revoked").len(), 2, "{journal:?}");
        // The refused look at another structure's mandate is in the journal.
        let denied = app
            .journal()
            .into_iter()
            .filter(|e| e["action"] == "access.denied")
            .count();
        assert_eq!(denied, 1);
        app.stop().await;
    }
}

/// The steps after the upright creation: `printing` goes on in the creating session,
/// `verification` and `revoked` are anonymous, `revocation` is the aidant's again.
struct AfterCreation {
    printing: Vec<Value>,
    verification: Vec<Value>,
    revocation: Vec<Value>,
    revoked: Vec<Value>,
}

/// From the mandate page of `choices` (`mandate`, a plan placeholder): the printable mandate,
/// on screen and on paper, its verification code remembered as `{code-verification}`; the
/// usagers list searched for the aidé, their page, the renewal's first page; the anonymous
/// verification (« Valide », the structure and démarches, none of the aidé's names); the
/// revocation of the first démarche then of the whole mandate, each with its own TOTP code;
/// the anonymous verification again (« Révoqué »).
fn after_creation(choices: &MandateChoices, mandate: &str, codes: [&str; 2]) -> AfterCreation {
    const CODE: &str = "Code de votre application d'authentification (6 chiffres)";
    let titles: Vec<&str> = choices.demarches.iter().map(|d| d.title()).collect();
    // "Angela Claire Louise DUBOIS": each name on its own, none may show on the public page.
    let names: Vec<&str> = choices.person.split_whitespace().collect();
    let (family, given) = names.split_last().unwrap();
    let listed = format!("{family} {}", given.join(" "));
    let mut printed = vec!["Mandat pour des démarches en ligne", "Signatures"];
    printed.extend(&titles);
    let printing = vec![
        json!({ "name": "mandat-a-imprimer", "click": "Imprimer le mandat", "expect": printed,
                "read": { "code-verification": ".verification-code" },
                "print": { "visible": [".document", ".verification-code", ".qr-code", ".signatures"],
                           "hidden": [".no-print", ".fr-header", ".fr-footer", ".fr-skiplinks", ".fr-btn"] } }),
        json!({ "name": "usagers", "goto": "/usagers" }),
        json!({ "name": "usagers-recherche", "fill": { "Nom, prénom ou date de naissance (JJ/MM/AAAA)": family },
                "press": "Rechercher", "expect": [listed] }),
        json!({ "name": "usager", "click": listed, "expect": [listed, "Ses mandats avec la structure"] }),
        json!({ "name": "renouvellement", "goto": format!("{mandate}/renouveler"),
                "expect": titles }),
    ];
    let verify = |name: &str, status: &str| {
        let mut shown = vec![status, choices.structure.as_str()];
        shown.extend(&titles);
        vec![
            json!({ "name": format!("{name}-formulaire"), "goto": "/verification" }),
            json!({ "name": name, "fill": { "Code de vérification (32 caractères)": "{code-verification}" },
                    "press": "Vérifier", "expect": shown, "absent": names }),
        ]
    };
    let revoke = |name: &str, link: &str, code: &str, expect: &str| {
        vec![
            json!({ "name": format!("{name}-confirmation"), "click": link,
                    "expect": ["Je confirme la révocation"] }),
            json!({ "name": format!("{name}-attestation"), "check": ["Je confirme la révocation"],
                    "fill": { CODE: code }, "press": "Révoquer",
                    "expect": ["Attestation de révocation de mandat", expect],
                    "print": { "visible": [".document", ".signature-block"],
                               "hidden": [".no-print", ".fr-header", ".fr-footer", ".fr-btn"] } }),
        ]
    };
    let mut revocation = vec![json!({ "name": "mandat", "goto": mandate })];
    revocation.extend(revoke(
        "revocation-demarche",
        &format!("Révoquer cette démarche : {}", titles[0]),
        codes[0],
        "Démarches toujours couvertes par ce mandat",
    ));
    revocation.push(json!({ "name": "mandat-revoque-en-partie", "goto": mandate }));
    revocation.extend(revoke(
        "revocation-mandat",
        "Révoquer tout le mandat",
        codes[1],
        "Plus aucune démarche n'est couverte par ce mandat",
    ));
    AfterCreation {
        printing,
        verification: verify("verification", "Valide"),
        revocation,
        revoked: verify("verification-revoque", "Révoqué"),
    }
}

/// The creation journey up to the recap, then `check` (the comprehension check's steps), then
/// the accord and the aidant's code.
fn with_check(
    choices: &MandateChoices,
    totp: &str,
    remember: &str,
    check: Vec<Value>,
) -> Vec<Value> {
    let all = mandate_creation(choices, totp, remember).steps;
    let mut steps = all[..5].to_vec();
    steps.extend(check);
    steps.push(all.last().unwrap().clone());
    steps
}

/// The comprehension check tapped through in Chromium: on a tablet, a wrong answer
/// explained then the three right ones; on a phone, a wrong answer explained then « Passer ».
/// Every page without an axe violation and within the tablet-first rules; the journal records
/// each outcome and its tries.
#[actix_web::test]
async fn the_comprehension_check_is_tapped_through_on_a_tablet_and_a_phone() {
    for app in TestApp::each().await {
        let demarches = vec![Demarche::Social];
        let team = demo_aidants(&app, &demarches, 2);
        let mut cookies = Vec::new();
        for (aidant, _) in &team {
            app.sign_in_on(aidant.email.as_str(), DEMO_TOTP_SEED).await;
            cookies.push(app.cookie("ac_session").unwrap());
        }
        app.next_totp_step();
        app.next_totp_step();
        let now = app.clock_now().unix_timestamp();
        let totp = code_at(DEMO_TOTP_SEED, TotpStep::App, now - 30, 6);
        let choices = |i: usize, person: &str| MandateChoices {
            demarches: demarches.clone(),
            duration: MandateDuration::OneMonth,
            person: person.to_owned(),
            structure: team[i].1.name.clone(),
            wrong_code: None,
        };
        let tablet = choices(0, "Angela Claire Louise DUBOIS");
        let structure = tablet.structure.clone();
        let tablet_steps = with_check(
            &tablet,
            &totp,
            "questions-tablette",
            vec![
                json!({ "name": "question-1", "press": "Répondre aux 3 questions",
                        "expect": ["Question 1 sur 3", "Qui pourra faire des démarches en ligne pour vous ?"] }),
                json!({ "name": "question-1-explication", "press": "Votre famille",
                        "expect": ["Ce n'est pas la bonne réponse", "Seuls les aidants de", "Question 1 sur 3"] }),
                json!({ "name": "question-2", "press": format!("Les aidants de {structure}"),
                        "expect": ["Bonne réponse.", "Question 2 sur 3"] }),
                json!({ "name": "question-3", "press": MandateDuration::OneMonth.label(),
                        "expect": ["Question 3 sur 3"] }),
                json!({ "name": "accord", "press": "ou vous l'arrêtez dans « Mon espace »",
                        "expect": ["a répondu aux 3 questions", "Je donne mon accord"] }),
            ],
        );
        let phone = choices(1, "Karim BENALI");
        let phone_structure = phone.structure.clone();
        let phone_steps = with_check(
            &phone,
            &totp,
            "questions-telephone",
            vec![
                json!({ "name": "question-1", "press": "Répondre aux 3 questions",
                        "expect": ["Question 1 sur 3"] }),
                json!({ "name": "question-2", "press": format!("Les aidants de {phone_structure}"),
                        "expect": ["Question 2 sur 3"] }),
                json!({ "name": "question-2-explication", "press": "Pour toujours, sans fin",
                        "expect": ["Le mandat s'arrête tout seul le", "Passer"] }),
                json!({ "name": "questions-passees", "press": "Passer",
                        "expect": ["a passé les questions", "Je donne mon accord"] }),
            ],
        );
        let plan = [
            ("tablette", tablet_steps, PORTRAIT, &cookies[0]),
            ("telephone", phone_steps, TALL_PHONE, &cookies[1]),
        ];
        let mut widths = Vec::new();
        let mut sessions = Vec::new();
        for (name, steps, viewport, cookie) in plan {
            widths.extend(std::iter::repeat_n(viewport.width, steps.len()));
            sessions.push(on_tablet(session(name, cookie, steps), viewport));
        }
        let name = format!("questions-{:?}", app.db.backend()).to_lowercase();
        let run = run_plan(&app, &name, sessions).await;
        println!("{}", run.output);
        assert!(run.success, "browser run failed:\n{}", run.output);
        let pages = run.report["pages"].as_array().unwrap();
        assert_eq!(pages.len(), widths.len(), "{}", run.output);
        for (page, width) in pages.iter().zip(widths) {
            assert_eq!(page["axe"], true, "{page}");
            assert_eq!(page["violations"].as_array().unwrap().len(), 0, "{page}");
            assert_eq!(page["tablet"].as_array().unwrap().len(), 0, "{page}");
            assert_eq!(page["viewport"]["width"], width, "{page}");
        }
        let outcomes: Vec<(Value, Value)> = app
            .journal()
            .into_iter()
            .filter(|e| {
                e["action"] == "mandate.created" && e["details"]["comprehension"].is_string()
            })
            .map(|e| {
                (
                    e["details"]["comprehension"].clone(),
                    e["details"]["comprehension_tries"].clone(),
                )
            })
            .collect();
        assert!(
            outcomes.contains(&(json!("passed"), json!("2"))),
            "{outcomes:?}"
        );
        assert!(
            outcomes.contains(&(json!("skipped"), json!("2"))),
            "{outcomes:?}"
        );
        app.stop().await;
    }
}
