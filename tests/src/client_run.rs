//! What the tests of real ACME clients (lego, certbot) with acmebox as their DNS hook share:
//! running a client with a deadline, the acmebox config they use, `acmebox serve` for lego's
//! `httpreq` provider, and the check that nothing is left in PowerDNS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli::acmebox_bin;
use crate::pdns::{self, dns_txt_values};

/// How long one client run may take before the test gives up on it.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);

/// An acmebox config in `dir` with the PowerDNS provider as `pdns`, its key read from a file.
pub fn write_config(dir: &Path) -> PathBuf {
    pdns::write_cli_config(dir, "", &pdns::origin(), "")
}

/// Runs `command` to completion within [`CLIENT_TIMEOUT`], killing it if it hangs.
pub fn run(mut command: Command, what: &str) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {what}: {err}"));
    let started = Instant::now();
    loop {
        if child.try_wait().expect("waiting for the client").is_some() {
            return child
                .wait_with_output()
                .expect("collecting the client's output");
        }
        if started.elapsed() > CLIENT_TIMEOUT {
            let _ = child.kill();
            let out = child
                .wait_with_output()
                .expect("collecting the client's output");
            panic!(
                "{what} did not finish within {CLIENT_TIMEOUT:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Fails with the output unless the run succeeded; returns stdout and stderr, joined.
pub fn assert_success(out: &Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// Fails when PowerDNS still serves a TXT value at `_acme-challenge.<domain>.`.
pub fn assert_nothing_left(domain: &str) {
    let fqdn = format!("_acme-challenge.{domain}.");
    let left = dns_txt_values(&fqdn).expect("querying PowerDNS");
    assert!(left.is_empty(), "{fqdn} still holds {left:?}");
}

/// `acmebox serve` on a free loopback port with the provider `pdns`; killed when dropped.
#[derive(Debug)]
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub origin: String,
    /// The lines `serve` writes to stderr, read by a thread of their own.
    lines: std::sync::mpsc::Receiver<String>,
}

impl Serve {
    /// Starts `acmebox serve` with `config`, asking for basic auth when `user` (name and
    /// password) is given, and waits until it listens.
    pub fn start(config: &Path, user: Option<(&str, &str)>) -> Serve {
        Self::start_with(config, "http", |command| {
            if let Some((user, password)) = user {
                command
                    .args(["--basic-auth-user", user])
                    // Loopback only: the password may cross it in clear.
                    .arg("--insecure-http")
                    .env("ACMEBOX_SERVE_PASSWORD", password);
            }
        })
    }

    /// Starts `acmebox serve` with `config` and the provider `pdns`, with what `more` adds to
    /// the command, and waits until it listens. `scheme` (`http` or `https`) is the origin's.
    pub fn start_with(config: &Path, scheme: &str, more: impl FnOnce(&mut Command)) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(acmebox_bin());
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(config)
            .args(["--provider", "pdns"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        more(&mut command);
        let mut child = command.spawn().expect("starting acmebox serve");
        let stderr = child.stderr.take().expect("serve's stderr is piped");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let origin = format!("{scheme}://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "acmebox serve did not listen on {origin}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Serve {
            child,
            origin,
            lines,
        }
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to a minute for a line of `serve`'s stderr that contains `text`, and returns
    /// it; fails with the lines read meanwhile.
    pub fn wait_for_line(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!(
                    "acmebox serve wrote no line with {text:?} within a minute; it wrote:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs curl with `args` (30 s at most) and returns the HTTP status it got and the body.
pub fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("running curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("curl prints the status");
    (code.to_owned(), body.to_owned())
}

/// Writes a new self-signed certificate for `127.0.0.1` and `localhost` and its key to
/// `cert.pem` and `key.pem` in `dir` (replacing what is there), for `acmebox serve --tls-cert`;
/// returns their paths (the certificate is also what a client trusts).
pub fn write_tls_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("certificate parameters")
        .self_signed(&key)
        .expect("a certificate");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("writing cert.pem");
    std::fs::write(&key_path, key.serialize_pem()).expect("writing key.pem");
    (cert_path, key_path)
}

/// The value of the sample `name` (with its labels, exactly as the metrics text writes them)
/// in an OpenMetrics text.
pub fn metrics_sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}
