//! The log lines `acmebox` writes to stderr, from the real binary with the PowerDNS provider
//! against the real PowerDNS: `serve`'s line per call in text and in JSON, RUST_LOG changing
//! what is shown, a library warning shown once and a provider's log line never twice, and no
//! secret in any line whatever the filter.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::danger;
use acmebox_tests::pdns;
use acmebox_tests::servers::servers;
use acmebox_tests::support::unique;
use serde_json::Value;

/// How long `serve` may take to start, and any line to come.
const WAIT: Duration = Duration::from_secs(120);

/// A key authorization for requests in lego's raw mode and for `acmebox present`.
const KEY_AUTHORIZATION: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// A DNS-01 value, for requests in lego's default mode.
const VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

/// The server id PowerDNS knows, given to the provider as a secret: it is in every API path, so
/// every audited URL shows where a secret was redacted.
const SECRET_SERVER_ID: &str = "localhost";

/// An acmebox config with the PowerDNS provider as `pdns` against `api_url`, its key read from
/// a file and its server id given inline, both secret; the grant is the real PowerDNS.
fn write_config(dir: &Path, api_url: &str) -> PathBuf {
    pdns::write_cli_config(
        dir,
        "",
        api_url,
        &format!("server_id = {{ value = {SECRET_SERVER_ID:?}, secret = true }}\n"),
    )
}

/// The secrets no log line may hold: the API key, the server id, the key authorization and
/// its account-key thumbprint.
fn secrets() -> Vec<String> {
    let thumbprint = KEY_AUTHORIZATION
        .split_once('.')
        .map(|(_, thumbprint)| thumbprint.to_owned())
        .expect("a key authorization has a thumbprint");
    vec![
        servers().pdns_api_key.clone(),
        SECRET_SERVER_ID.to_owned(),
        KEY_AUTHORIZATION.to_owned(),
        thumbprint,
    ]
}

/// `acmebox serve` on a port of its choosing, its stderr read line by line; killed when
/// dropped.
struct Serve {
    child: Child,
    origin: String,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Serve {
    /// Starts `serve` with `--log-format format` and `RUST_LOG` set to `rust_log` (unset for
    /// `None`), and waits for the line that says where it listens.
    fn start(config: &Path, format: &str, rust_log: Option<&str>) -> Serve {
        let mut command = Command::new(acmebox_bin());
        command
            .args(["--log-format", format, "serve", "--listen", "127.0.0.1:0"])
            .arg("--config")
            .arg(config)
            .args(["--provider", "pdns"])
            .env_remove("RUST_LOG")
            .env_remove("ACMEBOX_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let mut child = command.spawn().expect("starting acmebox serve");
        let stderr = child.stderr.take().expect("serve's stderr is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let mut serve = Serve {
            child,
            origin: String::new(),
            lines,
            seen: Vec::new(),
        };
        // The address is in the line that says where it listens, in either format.
        let listening = serve.wait_for("serving lego's httpreq protocol on http://");
        let origin = listening
            .split_once("http://")
            .and_then(|(_, rest)| rest.split_once("/present"))
            .map(|(addr, _)| format!("http://{addr}"))
            .unwrap_or_else(|| panic!("no address in {listening:?}"));
        serve.origin = origin;
        serve
    }

    /// The next line holding `needle`; panics, with every line so far, when none comes.
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(err) => panic!(
                    "acmebox serve wrote no line with {needle:?} ({err}); its lines:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// POSTs `body` to `path`; the status and the body of the answer.
    fn post(&self, path: &str, body: &str) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-o", "-", "-w", "\n%{http_code}"])
            .args(["-X", "POST", "--data", body])
            .arg(format!("{}{path}", self.origin))
            .output()
            .expect("running curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').expect("curl prints the status");
        (code.parse().expect("an HTTP status"), body.to_owned())
    }

    /// Stops `serve` and returns every line it wrote. Each call's line is written before its
    /// answer is sent, so the lines of every request answered so far are all there.
    fn finish(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The reader ends at the end of the pipe, which the kill closed.
        while let Ok(line) = self.lines.recv_timeout(WAIT) {
            self.seen.push(line);
        }
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `acmebox <operation> --json` for `domain` with `RUST_LOG` set to `rust_log` (unset
/// for `None`).
fn run_cli(config: &Path, operation: &str, domain: &str, rust_log: Option<&str>) -> Output {
    let mut command = Command::new(acmebox_bin());
    command
        .arg(operation)
        .arg("--config")
        .arg(config)
        .args(["--provider", "pdns", "--json", domain, KEY_AUTHORIZATION])
        .env_remove("RUST_LOG")
        .env_remove("ACMEBOX_LOG_FORMAT");
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    command.output().expect("running acmebox")
}

/// The audited URL of the zone's API path (origins carry their port), with the secret server
/// id redacted.
fn zone_url() -> String {
    format!(
        "{}/api/v1/servers/[redacted]/zones/example.test.",
        pdns::origin()
    )
}

/// Whether `line` is serve's line of a call, in either format.
fn is_call_line(line: &str) -> bool {
    line.contains(" acmebox::serve: call ")
        || (line.contains(r#""target":"acmebox::serve""#) && line.contains(r#""message":"call""#))
}

/// Requests the three calls both format tests make: present and cleanup of one record, and a
/// present in a zone PowerDNS does not have; returns the record's name.
fn three_calls(serve: &Serve, domain: &str) -> String {
    let fqdn = format!("_acme-challenge.{domain}.");
    let good = format!(r#"{{"fqdn":"{fqdn}","value":"{VALUE}"}}"#);
    let (status, body) = serve.post("/present", &good);
    assert_eq!(status, 200, "{body}");
    let (status, body) = serve.post("/cleanup", &good);
    assert_eq!(status, 200, "{body}");
    let outside = format!(r#"{{"fqdn":"_acme-challenge.nowhere.invalid.","value":"{VALUE}"}}"#);
    let (status, body) = serve.post("/present", &outside);
    assert_eq!(status, 502, "{body}");
    assert!(
        pdns::txt_values(&fqdn)
            .expect("reading PowerDNS")
            .is_empty(),
        "the value was not cleaned up"
    );
    fqdn
}

#[test]
fn serve_writes_one_text_line_per_call() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path(), &pdns::origin());
    let serve = Serve::start(&config, "text", None);
    let fqdn = three_calls(&serve, &unique("log-text"));
    let lines = serve.finish();
    let all = lines.join("\n");

    let calls: Vec<&String> = lines.iter().filter(|line| is_call_line(line)).collect();
    let [present, cleanup, outside] = calls.as_slice() else {
        panic!("not one line per call:\n{all}");
    };
    for (line, operation) in [(present, "present"), (cleanup, "cleanup")] {
        for part in [
            " INFO acmebox::serve: call provider=\"pdns\"".to_owned(),
            format!(" operation={operation} fqdn=\"{fqdn}\" outcome=\"ok\" status=200 "),
            " duration_ms=".to_owned(),
            format!("PATCH {} allowed 204", zone_url()),
        ] {
            assert!(line.contains(&part), "{part:?} is not in {line}");
        }
    }
    for part in [
        " WARN acmebox::serve: call provider=\"pdns\" operation=present",
        " fqdn=\"_acme-challenge.nowhere.invalid.\" outcome=\"zone-not-found\"",
        " error=provider `pdns` failed during present: zone not found",
        " status=502 ",
    ] {
        assert!(outside.contains(part), "{part:?} is not in {outside}");
    }
    // The library's grant warning, once; the audit events are not shown by default.
    let grant = lines
        .iter()
        .filter(|line| line.contains(" WARN acmebox::grant: provider `pdns`: allow entry"))
        .count();
    assert_eq!(grant, 1, "{all}");
    assert!(!all.contains("acmebox::audit"), "{all}");
}

#[test]
fn serve_writes_one_json_object_per_call() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path(), &pdns::origin());
    let serve = Serve::start(&config, "json", None);
    let fqdn = three_calls(&serve, &unique("log-json"));
    let lines = serve.finish();
    let objects: Vec<Value> = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"))
        })
        .collect();

    let calls: Vec<&Value> = objects
        .iter()
        .filter(|o| o["target"] == "acmebox::serve" && o["message"] == "call")
        .collect();
    let [present, cleanup, outside] = calls.as_slice() else {
        panic!("not one object per call: {objects:#?}");
    };
    for (call, operation) in [(present, "present"), (cleanup, "cleanup")] {
        assert_eq!(call["level"], "INFO", "{call:#}");
        assert_eq!(call["provider"], "pdns", "{call:#}");
        assert_eq!(call["operation"], operation, "{call:#}");
        assert_eq!(call["fqdn"], fqdn.as_str(), "{call:#}");
        assert_eq!(call["outcome"], "ok", "{call:#}");
        assert_eq!(call["status"], 200, "{call:#}");
        assert!(call["duration_ms"].is_u64(), "{call:#}");
        assert_eq!(call["connections"], 0, "{call:#}");
        assert!(call.get("error").is_none(), "{call:#}");
        // Each request of the call, as the audit records it.
        let audit = call["audit"].as_str().expect("the audit is a string");
        let requests = call["requests"].as_u64().expect("a request count");
        assert_eq!(audit.split("; ").count() as u64, requests, "{call:#}");
        let patch = format!("PATCH {} allowed 204", zone_url());
        assert!(audit.contains(&patch), "{patch:?} is not in {call:#}");
    }
    assert_eq!(outside["level"], "WARN", "{outside:#}");
    assert_eq!(outside["fqdn"], "_acme-challenge.nowhere.invalid.");
    assert_eq!(outside["outcome"], "zone-not-found", "{outside:#}");
    assert_eq!(outside["status"], 502, "{outside:#}");
    let error = outside["error"].as_str().expect("the error is a string");
    assert!(error.contains("zone not found"), "{outside:#}");

    let grant: Vec<&Value> = objects
        .iter()
        .filter(|o| o["target"] == "acmebox::grant")
        .collect();
    let [grant] = grant.as_slice() else {
        panic!("not one grant warning: {objects:#?}");
    };
    assert_eq!(grant["level"], "WARN", "{grant:#}");
    assert_eq!(grant["provider"], "pdns", "{grant:#}");
    let message = grant["message"].as_str().expect("a message");
    assert!(
        message.contains(&format!("allow entry `{}`", danger(pdns::origin()))),
        "{grant:#}"
    );
}

/// Every acmebox event at every level, in both formats, for calls in lego's raw mode (the key
/// authorization in the request): no secret config value and no key authorization in any line.
#[test]
fn serve_log_lines_hold_no_secret() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path(), &pdns::origin());
    for format in ["text", "json"] {
        for rust_log in [None, Some("acmebox=trace")] {
            let serve = Serve::start(&config, format, rust_log);
            let domain = unique("log-secret");
            let raw = format!(
                r#"{{"domain":"{domain}","token":"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA","keyAuth":"{KEY_AUTHORIZATION}"}}"#
            );
            let (status, body) = serve.post("/present", &raw);
            assert_eq!(status, 200, "{body}");
            let (status, body) = serve.post("/cleanup", &raw);
            assert_eq!(status, 200, "{body}");
            let lines = serve.finish();
            let all = lines.join("\n");
            // The lines that would carry a leak are there: the calls, with their audit (and,
            // at trace, each request's own event and the provider's log).
            let calls = lines.iter().filter(|line| is_call_line(line)).count();
            assert_eq!(calls, 2, "{format} {rust_log:?}:\n{all}");
            assert!(all.contains(&zone_url()), "{format} {rust_log:?}:\n{all}");
            if rust_log.is_some() {
                for target in ["acmebox::audit", "acmebox::provider", "acmebox::call"] {
                    assert!(all.contains(target), "no {target} in {format}:\n{all}");
                }
            }
            for secret in secrets() {
                assert!(
                    !all.contains(&secret),
                    "{secret:?} is in the {format} log ({rust_log:?}):\n{all}"
                );
            }
        }
    }
}

/// `acmebox present`: by default the log is the grant warning alone (the report is on stdout);
/// RUST_LOG can show each request's audit event instead, or nothing at all.
#[test]
fn rust_log_changes_what_present_shows() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path(), &pdns::origin());
    let domain = unique("log-filter");
    let fqdn = format!("_acme-challenge.{domain}.");
    let stderr_of = |operation: &str, rust_log| {
        let out = run_cli(&config, operation, &domain, rust_log);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{operation} {rust_log:?}:\n{stderr}");
        let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        (stderr, report)
    };

    let (stderr, _) = stderr_of("present", None);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        matches!(lines.as_slice(), [line] if line.contains(" WARN acmebox::grant: ")),
        "{stderr}"
    );

    let (stderr, report) = stderr_of("cleanup", Some("acmebox::audit=info"));
    assert!(!stderr.contains("acmebox::grant"), "{stderr}");
    let requests = report["audit"].as_array().expect("an audit").len();
    let egress: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(" INFO acmebox::audit: egress "))
        .collect();
    assert_eq!(egress.len(), requests, "{stderr}");
    assert!(
        egress
            .iter()
            .any(|line| line.contains("method=PATCH") && line.contains("status=204")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), requests, "{stderr}");

    let (stderr, _) = stderr_of("present", Some("off"));
    assert_eq!(stderr, "");
    let (stderr, _) = stderr_of("cleanup", Some("off"));
    assert_eq!(stderr, "");
    assert!(
        pdns::txt_values(&fqdn)
            .expect("reading PowerDNS")
            .is_empty()
    );
}

/// A provider's request the host refuses is logged by the host about the provider. `acmebox
/// present` prints it in the call's report and, by default, not in the log too; asked for with
/// RUST_LOG, it is in both.
#[test]
fn a_refused_request_is_reported_once_by_default() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    // An API outside the grant (a documentation address, never reached).
    let config = write_config(tmp.path(), "https://192.0.2.1");
    let domain = unique("log-refused");

    let out = run_cli(&config, "present", &domain, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let logs = report["logs"].as_array().expect("the report's log");
    assert!(
        logs.iter()
            .any(|log| log["source"] == "host" && log["level"] == "warn"),
        "no refusal in the report: {report:#}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        matches!(lines.as_slice(), [line] if line.contains(" WARN acmebox::grant: ")),
        "{stderr}"
    );

    // Asked for, each warning and error of the provider's log is a line of the log too.
    let out = run_cli(&config, "present", &domain, Some("acmebox::provider=warn"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let warnings: Vec<&str> = report["logs"]
        .as_array()
        .expect("the report's log")
        .iter()
        .filter(|log| log["level"] == "warn" || log["level"] == "error")
        .filter_map(|log| log["message"].as_str())
        .collect();
    let logged: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(" acmebox::provider: "))
        .collect();
    assert_eq!(logged.len(), warnings.len(), "{stderr}");
    for message in &warnings {
        assert!(
            logged.iter().any(|line| line.contains(message)),
            "{message:?} is not in the log:\n{stderr}"
        );
    }
    assert!(
        logged.iter().any(|line| line.contains("source=\"host\"")),
        "{stderr}"
    );
}
