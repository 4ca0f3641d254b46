//! The certified relying party of the interop tests: panva's `openid-client` (npm, pinned by
//! `tests/interop/package-lock.json`), run by Node as `tests/interop/client.mjs` and driven one
//! JSON line at a time. No Node or npm: the test fails, it never skips.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

static NPM: Mutex<bool> = Mutex::new(false);

/// `npm ci` once when openid-client is missing (`make test` runs `make interop-deps` first).
pub fn ensure_node_modules() {
    let mut done = NPM.lock().unwrap_or_else(|p| p.into_inner());
    let dir = interop_dir();
    if *done || dir.join("node_modules/openid-client/package.json").exists() {
        *done = true;
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "npm is needed for the OIDC interop tests (tests/interop) and could not run: {e}. Install Node.js 20+ and npm."
            )
        });
    assert!(
        status.success(),
        "`npm ci --prefix tests/interop` failed: {status}"
    );
    *done = true;
}

/// One `node client.mjs` process, ended (by its own handle) when dropped.
pub struct RelyingParty {
    child: Child,
    pipes: Arc<Mutex<(ChildStdin, BufReader<ChildStdout>)>>,
}

impl RelyingParty {
    pub fn start() -> RelyingParty {
        ensure_node_modules();
        let mut child = Command::new("node")
            .arg("client.mjs")
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("node is needed for the OIDC interop tests and could not start: {e}")
            });
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        RelyingParty {
            child,
            pipes: Arc::new(Mutex::new((stdin, stdout))),
        }
    }

    /// Sends one request; returns `Ok(answer)` or `Err(error description)`. Runs on the
    /// blocking pool, so the server (same runtime in tests) keeps answering Node's requests.
    pub async fn call(&self, request: Value) -> Result<Value, Value> {
        let pipes = self.pipes.clone();
        let line = actix_web::rt::task::spawn_blocking(move || {
            let mut guard = pipes.lock().unwrap_or_else(|p| p.into_inner());
            let (stdin, stdout) = &mut *guard;
            writeln!(stdin, "{request}").unwrap();
            stdin.flush().unwrap();
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("openid-client answered {line:?}: {e}"));
        match (answer.get("ok"), answer.get("error")) {
            (Some(ok), _) => Ok(ok.clone()),
            (None, Some(error)) => Err(error.clone()),
            _ => panic!("unexpected answer {answer}"),
        }
    }
}

impl Drop for RelyingParty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
