//! Browser runs: headless Debian Chromium driven by `tests/browser/run.mjs` (playwright-core,
//! axe-core, pinned by `tests/browser/package-lock.json`) against a [`TestApp`]. A test signs its
//! accounts in over HTTP, hands their session cookies and a journey to [`run_plan`], and gets
//! every page checked by axe-core, with screenshots under `target/browser-artefacts/NAME/`.
//! Sessions can be held to the tablet-first rules in a tablet's window ([`on_tablet`]) and run
//! without JavaScript ([`without_javascript`]); [`mandate_creation`] writes the steps of the
//! mandate creation journey, for tests to go on from the mandate page.
//!
//! Missing Chromium, Node.js or npm is a failure, not a skip: `.ci/run` installs them.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestApp;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits in the workspace")
        .to_owned()
}

/// `tests/browser`: the npm package of the browser runs.
pub fn browser_dir() -> PathBuf {
    workspace().join("tests/browser")
}

/// Where a run's screenshots and report go: `target/browser-artefacts/NAME/`.
pub fn artefacts_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    target.join("browser-artefacts").join(name)
}

fn chromium() -> PathBuf {
    std::env::var_os("AC_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Checks Chromium, Node.js and npm are there, and installs the pinned npm packages when
/// `node_modules` is missing or older than the lock file. Panics with what to install.
pub fn ensure_tools() {
    assert!(
        chromium().exists(),
        "browser tests need Chromium at {} (Debian: apt-get install -y chromium; or set AC_CHROMIUM)",
        chromium().display()
    );
    for tool in ["node", "npm"] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "browser tests need {tool} (Node.js 20+) on the PATH");
    }
    let dir = browser_dir();
    let installed = dir.join("node_modules/.package-lock.json");
    let stale = match (
        std::fs::metadata(&installed).and_then(|m| m.modified()),
        std::fs::metadata(dir.join("package-lock.json")).and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(lock)) => installed < lock,
        _ => true,
    };
    if stale {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm ci");
        assert!(
            out.status.success(),
            "npm ci in {} failed:\n{}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A signed-in browser session: the session cookie of an account signed in through HTTP, and
/// the steps to play (see `tests/browser/run.mjs` for their shape).
pub fn session(name: &str, cookie: &str, steps: Vec<Value>) -> Value {
    json!({
        "name": name,
        "cookies": [{ "name": "ac_session", "value": cookie }],
        "steps": steps,
    })
}

/// A session without an account: the public pages and the sign-in itself.
pub fn anonymous(name: &str, steps: Vec<Value>) -> Value {
    json!({ "name": name, "steps": steps })
}

/// What a run reported.
#[derive(Debug)]
pub struct BrowserReport {
    pub success: bool,
    /// The run's summary: one line per page, then the failures.
    pub output: String,
    /// `report.json`: every page with its axe violations.
    pub report: Value,
}

/// Plays the sessions against the app in headless Chromium and returns the report. Runs Node on
/// a blocking thread, so the test's runtime keeps serving.
pub async fn run_plan(app: &TestApp, name: &str, sessions: Vec<Value>) -> BrowserReport {
    ensure_tools();
    let artefacts = artefacts_dir(name);
    let _ = std::fs::remove_dir_all(&artefacts);
    std::fs::create_dir_all(&artefacts).unwrap();
    let plan = json!({
        "baseUrl": app.base_url,
        "artefacts": artefacts,
        "sessions": sessions,
    });
    let plan_file = artefacts.join("plan.json");
    std::fs::write(&plan_file, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    let dir = browser_dir();
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("run.mjs"))
            .arg(&plan_file)
            .current_dir(&dir)
            .output()
            .expect("node run.mjs")
    })
    .await
    .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read(artefacts.join("report.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    BrowserReport {
        success: out.status.success(),
        output,
        report,
    }
}

/// A tablet's window (docs/accessibility.md: every page is made for 768×1024 and 1024×768 first).
#[derive(Debug, Clone, Copy)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

/// A tablet held upright.
pub const PORTRAIT: Viewport = Viewport {
    width: 768,
    height: 1024,
};

/// A small phone held upright (the aidé's own pages are made for it too).
pub const PHONE: Viewport = Viewport {
    width: 375,
    height: 667,
};

/// A recent phone held upright: the person's own phone for a consent at a distance.
pub const TALL_PHONE: Viewport = Viewport {
    width: 390,
    height: 844,
};

/// A tablet held sideways.
pub const LANDSCAPE: Viewport = Viewport {
    width: 1024,
    height: 768,
};

/// The session in a window of this size, every page also held to the tablet-first rules
/// (`checkTablet` in `tests/browser/lib/browser.mjs`: text ≥ 18 px, targets ≥ 44 px, a visible
/// focus, no horizontal scrolling).
pub fn on_tablet(mut session: Value, viewport: Viewport) -> Value {
    set(
        &mut session,
        "viewport",
        json!({ "width": viewport.width, "height": viewport.height }),
    );
    set(&mut session, "tablet", json!(true));
    session
}

/// The session in a browser with JavaScript turned off. axe-core cannot run there (it is a
/// script), so its pages get the other checks only.
pub fn without_javascript(mut session: Value) -> Value {
    set(&mut session, "javaScript", json!(false));
    session
}

/// An option of a session made by [`session`].
fn set(session: &mut Value, key: &str, value: Value) {
    session
        .as_object_mut()
        .expect("a session is a JSON object")
        .insert(key.to_owned(), value);
}

/// The comprehension check from the recap: « Répondre aux 3 questions », then the
/// right answer tapped on each question's page (the structure's aidants, the mandate's end date
/// — its button also shows the duration —, stopping it at the structure or in « Mon espace »),
/// back on the recap with the accord form.
pub fn comprehension_check(choices: &MandateChoices) -> Vec<Value> {
    let structure = choices.structure.as_str();
    vec![
        json!({ "name": "question-qui", "press": "Répondre aux 3 questions",
                "expect": ["Question 1 sur 3", "Qui pourra faire des démarches en ligne pour vous ?"] }),
        json!({ "name": "question-jusqu-a-quand", "press": format!("Les aidants de {structure}"),
                "expect": ["Bonne réponse.", "Question 2 sur 3"] }),
        json!({ "name": "question-arreter", "press": choices.duration.label(),
                "expect": ["Question 3 sur 3"] }),
        json!({ "name": "questions-reussies", "press": "ou vous l'arrêtez dans « Mon espace »",
                "expect": ["La personne accompagnée a répondu aux 3 questions.", "Je donne mon accord"] }),
    ]
}

/// What the aidant and the aidé choose in the creation journey.
#[derive(Debug, Clone)]
pub struct MandateChoices {
    pub demarches: Vec<ac_mandates::Demarche>,
    pub duration: ac_mandates::MandateDuration,
    /// The person the aidé signs in as at the demonstration FranceConnect (the end of the
    /// provider's button, e.g. "Karim BENALI").
    pub person: String,
    /// The structure that receives the mandate, as its pages name it.
    pub structure: String,
    /// A wrong code typed first at the recap, to see the refusal, when set.
    pub wrong_code: Option<String>,
}

/// The creation journey as browser steps, and where they end.
#[derive(Debug)]
pub struct Journey {
    pub steps: Vec<Value>,
    /// The mandate page, as a plan placeholder (`{name}`): later steps of the run can `goto`
    /// it, or a path under it (revocation, printing), in any session.
    pub mandate_page: String,
}

/// The mandate creation journey of docs/domain.md ("Journeys" 2) in the browser, from the aidant's space:
/// the choices (the `argent` warning checked when chosen), the aidé's screen, « Je m'identifie
/// avec FranceConnect », the demonstration provider's choice of a person, the recap, the aidé's
/// « Je donne mon accord » and the aidant's `totp` code, and the mandate page, remembered as
/// `remember`. Append steps to `steps` to go on from the mandate page.
pub fn mandate_creation(choices: &MandateChoices, totp: &str, remember: &str) -> Journey {
    use ac_mandates::Demarche;
    let titles: Vec<&str> = choices.demarches.iter().map(|d| d.title()).collect();
    let mut ticked = titles.clone();
    ticked.push(choices.duration.label());
    // Both the aidant's form and the aidé's screen carry the warning when `argent` is chosen.
    let warning: Vec<&str> = if choices.demarches.contains(&Demarche::Argent) {
        vec!["surendettement"]
    } else {
        vec![]
    };
    let mut aide_screen = vec![
        choices.structure.as_str(),
        "révoquer le mandat à tout moment",
    ];
    aide_screen.extend(&titles);
    aide_screen.extend(&warning);
    let mut steps = vec![
        json!({ "name": "espace", "goto": "/espace" }),
        json!({ "name": "choix", "click": "Créer un mandat", "expect": warning }),
        json!({ "name": "ecran-de-la-personne", "check": ticked,
                "press": "Continuer : la personne lit le résumé", "expect": aide_screen }),
        json!({ "name": "franceconnect", "press": "Je m'identifie avec FranceConnect",
                "expect": ["DÉMONSTRATION"] }),
        json!({ "name": "recapitulatif", "press": format!("Se connecter en tant que {}", choices.person),
                "expect": ["Récapitulatif du mandat", "Je donne mon accord"] }),
    ];
    steps.extend(comprehension_check(choices));
    const CODE: &str = "Code de votre application d'authentification (6 chiffres)";
    if let Some(wrong) = &choices.wrong_code {
        steps.push(
            json!({ "name": "code-refuse", "check": ["Je donne mon accord"],
            "fill": { CODE: wrong }, "press": "Enregistrer le mandat", "status": 422,
            "expect": ["Le code n'est pas valide"] }),
        );
    }
    let mut mandate = vec![
        "Mandat",
        choices.structure.as_str(),
        choices.person.as_str(),
    ];
    mandate.extend(&titles);
    steps.push(
        json!({ "name": "mandat", "check": ["Je donne mon accord"], "fill": { CODE: totp },
        "press": "Enregistrer le mandat", "expect": mandate, "remember": remember }),
    );
    Journey {
        steps,
        mandate_page: format!("{{{remember}}}"),
    }
}
