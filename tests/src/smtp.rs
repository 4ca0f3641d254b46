//! A real SMTP server process on loopback for the mail tests: aiosmtpd from PyPI (`make test`
//! installs it), writing what it receives to a Maildir.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support: failing loudly is the point

/// A real SMTP server process on loopback (aiosmtpd from PyPI, installed on first use), writing
/// what it receives to a Maildir.
pub struct SmtpServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: std::process::Child,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        Self::start_on(0)
    }

    /// A server on `port` (0: any free port, reported by the server once it listens), so a
    /// test can stop one and start another where the service expects it.
    pub fn start_on(port: u16) -> SmtpServer {
        use std::process::{Command, Stdio};
        let importable = || {
            Command::new("python3")
                .args(["-c", "import aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success())
        };
        if !importable() {
            let installed = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
                .status();
            assert!(
                installed.is_ok_and(|s| s.success()) && importable(),
                "this test needs the SMTP server aiosmtpd: `python3 -m pip install aiosmtpd` failed \
                 (is python3 with pip installed, and PyPI reachable?)"
            );
        }
        // The server binds port 0 itself and prints the port once it listens: no port is
        // picked, released and hoped to be free still.
        let script = "import asyncio, socket, sys\n\
from aiosmtpd.smtp import SMTP\n\
from aiosmtpd.handlers import Mailbox\n\
sock = socket.socket()\n\
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
sock.bind(('127.0.0.1', int(sys.argv[2])))\n\
sock.listen()\n\
loop = asyncio.new_event_loop()\n\
asyncio.set_event_loop(loop)\n\
handler = Mailbox(sys.argv[1])\n\
loop.run_until_complete(loop.create_server(lambda: SMTP(handler), sock=sock))\n\
print(sock.getsockname()[1], flush=True)\n\
loop.run_forever()\n";
        let maildir = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(maildir.path().join("Maildir"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("aiosmtpd did not report its port: {line:?}"));
        SmtpServer {
            port,
            maildir,
            child,
        }
    }

    /// Messages received so far, parsed by Python's own e-mail package (so the MIME decoding is
    /// not ours): from, to, subject, content type, plain and HTML bodies.
    pub fn received(&self) -> Vec<serde_json::Value> {
        let dir = self.maildir.path().join("Maildir/new");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let script = "import email, email.policy, json, sys\n\
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n\
print(json.dumps({'from': str(m['From']), 'to': str(m['To']), 'subject': str(m['Subject']),\
 'content_type': m.get_content_type(), 'text': m.get_body(('plain',)).get_content(),\
 'html': m.get_body(('html',)).get_content()}))";
        entries
            .flatten()
            .map(|e| {
                let out = std::process::Command::new("python3")
                    .args(["-c", script])
                    .arg(e.path())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                serde_json::from_slice(&out.stdout).unwrap()
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
