//! Browser runs: headless Debian Chromium driven by `tests/browser/run.mjs` (playwright-core,
//! axe-core, pinned by `tests/browser/package-lock.json`) against a [`TestApp`]. A test signs its
//! accounts in over HTTP, hands their session cookies and a journey to [`run_plan`], and gets
//! every page checked by axe-core, with screenshots under `target/browser-artefacts/NAME/`.
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
