//! Caddy with the `caddy-dns/acmeproxy` module (`tests/clients/caddy`, built by
//! `scripts/deps.sh`) getting certificates from Pebble for a name and its wildcard through
//! `acmebox serve` and the sandboxed PowerDNS provider, with basic auth. Caddy's provider
//! fails a call unless the answer is `200` with the `fqdn` and `value` it sent, so a run that
//! ends with both certificates shows that `acmebox serve` answers it as it expects. The other
//! shapes of the acmeproxy family (an older libdns/acmeproxy, acme.sh) are sent by hand.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acmebox_tests::certs::check_chain;
use acmebox_tests::client_run::{Serve, assert_nothing_left, curl, write_config};
use acmebox_tests::pdns::dns_txt_values;
use acmebox_tests::servers::servers;
use acmebox_tests::support::{APEX_VALUE, WILDCARD_VALUE, sorted, unique};
use serde_json::json;

/// How long Caddy may take to get both certificates.
const ISSUE_TIMEOUT: Duration = Duration::from_secs(180);

/// How long Caddy may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Basic-auth credentials between Caddy and `acmebox serve`.
const USER: (&str, &str) = ("caddy", "s3cret-pass");

#[test]
fn caddy_acmeproxy_through_acmebox_serve_issues_apex_and_wildcard() {
    let s = servers();
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path());
    let serve = Serve::start(&config, Some(USER));
    let domain = unique("caddy");
    let wildcard = format!("*.{domain}");
    let storage = tmp.path().join("caddy-storage");
    let caddy_config = tmp.path().join("caddy.json");
    let https_port = free_port();
    let config_text = json!({
        "admin": { "disabled": true, "config": { "persist": false } },
        "storage": { "module": "file_system", "root": storage },
        "apps": {
            "http": {
                "http_port": free_port(),
                "https_port": https_port,
                "servers": {
                    "test": {
                        "listen": [format!("127.0.0.1:{https_port}")],
                        "protocols": ["h1", "h2"],
                        "automatic_https": { "disable_redirects": true },
                        "routes": [{
                            "match": [{ "host": [&domain, &wildcard] }],
                            "handle": [{ "handler": "static_response", "body": "acmebox" }],
                        }],
                    },
                },
            },
            "tls": {
                "automation": {
                    "policies": [{
                        "subjects": [&domain, &wildcard],
                        "disable_ocsp_stapling": true,
                        "issuers": [{
                            "module": "acme",
                            "ca": s.pebble_directory,
                            "trusted_roots_pem_files": [s.pebble_ca_cert],
                            "email": "caddy@example.test",
                            "challenges": {
                                "http": { "disabled": true },
                                "tls-alpn": { "disabled": true },
                                "dns": {
                                    "provider": {
                                        "name": "acmeproxy",
                                        "endpoint": serve.origin,
                                        "username": USER.0,
                                        "password": USER.1,
                                    },
                                    "resolvers": [s.pdns_dns],
                                    "propagation_timeout": "60s",
                                },
                            },
                        }],
                    }],
                },
            },
        },
    });
    std::fs::write(&caddy_config, config_text.to_string()).expect("writing caddy.json");

    let mut caddy = Caddy::start(tmp.path(), &caddy_config);
    let apex_cert = caddy.wait_for_certificate(&storage, &format!("{domain}.crt"));
    let wildcard_cert = caddy.wait_for_certificate(&storage, &format!("wildcard_.{domain}.crt"));
    // Caddy keeps one certificate per name; each file holds the leaf, then its chain.
    check_chain(&apex_cert, &apex_cert, &[&domain]);
    check_chain(&wildcard_cert, &wildcard_cert, &[&wildcard]);

    // Both values went through `acmebox serve` and both were removed again, whatever the
    // order of the two orders' calls.
    let fqdn = format!("fqdn=\"_acme-challenge.{domain}.\"");
    let calls: Vec<String> = (0..4).map(|_| serve.wait_for_line(&fqdn)).collect();
    for operation in ["present", "cleanup"] {
        let done = calls
            .iter()
            .filter(|line| line.contains(&format!("operation={operation}")))
            .filter(|line| line.contains("status=200"))
            .count();
        assert_eq!(done, 2, "two {operation} calls answered 200:\n{calls:#?}");
    }
    caddy.stop();
    assert_nothing_left(&domain);
}

/// The other shapes of the acmeproxy family, sent by hand: libdns/acmeproxy's before
/// 2023-12-25 (`{"FQDN","Value"}`) and acme.sh's `dns_acmeproxy` (`{"fqdn": ..., "value": ...}`
/// with spaces, which counts a call as done when the answer holds the value in quotes). Each
/// is answered `200` with its `fqdn` and `value`, publishes and removes the value; a call the
/// provider fails is answered without the value, so acme.sh does not take it for success.
#[test]
fn acmeproxy_shapes_are_answered_as_their_clients_expect() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path());
    let serve = Serve::start(&config, Some(USER));
    let auth = format!("{}:{}", USER.0, USER.1);
    let post = |operation: &str, body: &str| {
        curl(&[
            "-u",
            &auth,
            "-H",
            "Content-Type: application/json",
            "--data",
            body,
            &format!("{}/{operation}", serve.origin),
        ])
    };
    let domain = unique("acmeproxy");
    let fqdn = format!("_acme-challenge.{domain}.");
    let old_libdns = format!(r#"{{"FQDN":"{fqdn}","Value":"{APEX_VALUE}"}}"#);
    let acme_sh = format!(r#"{{"fqdn": "{fqdn}", "value": "{WILDCARD_VALUE}"}}"#);
    for (body, value) in [(&old_libdns, APEX_VALUE), (&acme_sh, WILDCARD_VALUE)] {
        let (code, answer) = post("present", body);
        assert_eq!(code, "200", "{body}: {answer}");
        assert!(answer.contains(&format!("\"{value}\"")), "{answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).expect("a JSON answer");
        assert_eq!(
            (answer["fqdn"].as_str(), answer["value"].as_str()),
            (Some(fqdn.as_str()), Some(value)),
            "{body}: {answer}"
        );
    }
    let mut served = dns_txt_values(&fqdn).expect("querying PowerDNS");
    served.sort();
    assert_eq!(served, sorted(&[APEX_VALUE, WILDCARD_VALUE]));
    for body in [&old_libdns, &acme_sh] {
        let (code, answer) = post("cleanup", body);
        assert_eq!(code, "200", "{body}: {answer}");
    }
    assert_nothing_left(&domain);

    // A name in no zone of PowerDNS: the provider fails, and the answer has no quoted value.
    let outside =
        format!(r#"{{"fqdn": "_acme-challenge.nowhere.invalid.", "value": "{APEX_VALUE}"}}"#);
    let (code, answer) = post("present", &outside);
    assert_eq!(code, "502", "{answer}");
    assert!(!answer.contains(&format!("\"{APEX_VALUE}\"")), "{answer}");
}

/// A free port on loopback (free when asked).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// `caddy run` with a config file, its log in a file beside it; killed when dropped.
struct Caddy {
    child: Child,
    log: PathBuf,
}

impl Caddy {
    /// Starts the Caddy `scripts/deps.sh` builds, with its home and config directories in
    /// `dir`, so it writes nothing elsewhere.
    fn start(dir: &Path, config: &Path) -> Caddy {
        let bin = acmebox_tests::go_client("caddy");
        let log = dir.join("caddy.log");
        let log_file = std::fs::File::create(&log).expect("creating caddy.log");
        let child = Command::new(bin)
            .args(["run", "--config"])
            .arg(config)
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("caddy.log"))
            .stderr(log_file)
            .spawn()
            .expect("starting caddy");
        Caddy { child, log }
    }

    /// Waits (at most [`ISSUE_TIMEOUT`]) until a file `name` is in Caddy's `storage` and
    /// returns its path; fails with Caddy's log if Caddy exits or the time runs out.
    fn wait_for_certificate(&mut self, storage: &Path, name: &str) -> PathBuf {
        let started = Instant::now();
        loop {
            if let Some(path) = find_file(&storage.join("certificates"), name) {
                return path;
            }
            if let Some(status) = self.child.try_wait().expect("waiting for caddy") {
                panic!(
                    "caddy exited ({status}) before {name} was stored:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < ISSUE_TIMEOUT,
                "caddy stored no {name} within {ISSUE_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops Caddy with SIGTERM to its process id and waits for it to exit.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let started = Instant::now();
        while self.child.try_wait().expect("waiting for caddy").is_none() {
            assert!(
                started.elapsed() < STOP_TIMEOUT,
                "caddy did not stop within {STOP_TIMEOUT:?} of SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|err| format!("(no log: {err})"))
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first file called `name` under `dir`, at any depth.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if entry.file_name() == name {
            return Some(path);
        }
    }
    None
}
