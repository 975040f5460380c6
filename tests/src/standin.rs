//! Stand-ins for DNS providers' APIs (`tests/standins`, Python), run as child processes.
//!
//! Each serves one vendor's API on an ephemeral loopback port, writes its TXT records through
//! to the test PowerDNS, and has test-control endpoints under `/__standin__/` (injected faults,
//! what it holds, what it received). The Python comes from `target/standins-venv`, which
//! `scripts/deps.sh` makes from `tests/standins/requirements.txt`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::repo_root;
use crate::servers::servers;

/// The Python of the stand-ins' virtual environment.
pub fn standins_python() -> anyhow::Result<PathBuf> {
    let python = repo_root().join("target/standins-venv/bin/python");
    if !python.is_file() {
        bail!(
            "{} is missing: run scripts/deps.sh, which makes the stand-ins' venv",
            python.display()
        );
    }
    Ok(python)
}

/// A running stand-in. Dropping it stops it; it then deletes every rrset it wrote at PowerDNS.
#[derive(Debug)]
pub struct Standin {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
}

impl Standin {
    /// Starts the stand-in of `vendor` (a module of `tests/standins/standins/`) with its
    /// options (the credentials it accepts, such as `("token", "...")`).
    pub fn start(vendor: &str, options: &[(&str, &str)]) -> anyhow::Result<Self> {
        let s = servers();
        let mut command = Command::new(standins_python()?);
        command
            .args(["-m", "standins", "serve", vendor])
            .args(options.iter().map(|(k, v)| format!("{k}={v}")))
            .current_dir(repo_root().join("tests/standins"))
            .env("ACMEBOX_PDNS_API_URL", &s.pdns_api_url)
            .env("ACMEBOX_PDNS_API_KEY", &s.pdns_api_key)
            .env("ACMEBOX_PDNS_ZONES", s.zones.join(" "))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting the {vendor} stand-in"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("stand-in stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the stand-in's port")?;
        let port = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the {vendor} stand-in did not start (it printed {line:?}; its errors are above)"
            );
        };
        Ok(Self { child, stdin, port })
    }

    /// `http://127.0.0.1:<port>`: what the grant takes.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next `count` API requests get the vendor's documented error for `status` (401, 429
    /// with `retry_after`, 500).
    pub fn inject(&self, status: u16, retry_after: Option<u32>, count: u32) -> anyhow::Result<()> {
        let body = json!({ "status": status, "retry_after": retry_after, "count": count });
        self.control("POST", "/__standin__/fault", Some(&body))?;
        Ok(())
    }

    /// The TXT values the stand-in holds at `name` (with or without the trailing dot).
    pub fn txt(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let name = name.trim_end_matches('.');
        let value = self.control("GET", &format!("/__standin__/txt?name={name}"), None)?;
        Ok(serde_json::from_value(value)?)
    }

    /// Every record the stand-in holds, as JSON objects (`name`, `type`, `content`, `ttl`, ...).
    pub fn records(&self) -> anyhow::Result<Vec<Value>> {
        Ok(serde_json::from_value(self.control(
            "GET",
            "/__standin__/records",
            None,
        )?)?)
    }

    /// The most API requests the stand-in was answering at once.
    pub fn peak_in_flight(&self) -> anyhow::Result<u64> {
        let stats = self.control("GET", "/__standin__/stats", None)?;
        stats["peak_in_flight"]
            .as_u64()
            .context("stats without peak_in_flight")
    }

    /// Every API request received, as `METHOD path`.
    pub fn requests(&self) -> anyhow::Result<Vec<String>> {
        let value = self.control("GET", "/__standin__/requests", None)?;
        let list: Vec<Value> = serde_json::from_value(value)?;
        Ok(list
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap_or(""),
                    r["path"].as_str().unwrap_or("")
                )
            })
            .collect())
    }

    /// One request to a control endpoint, over a fresh connection.
    fn control(&self, method: &str, target: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let (head, payload) = answer
            .split_once("\r\n\r\n")
            .context("a control answer without a body")?;
        if !head.starts_with("HTTP/1.1 200") {
            bail!("the stand-in answered {target}: {head}");
        }
        Ok(serde_json::from_str(payload)?)
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        // Closing stdin stops it; it removes its rrsets from PowerDNS, then exits.
        drop(self.stdin.take());
        for _ in 0..200 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
