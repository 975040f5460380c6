//! A delegated `_acme-challenge` name (a CNAME into another zone, as acme-dns and split setups
//! use) is followed by every command that presents a record acmebox names itself, and each one
//! publishes, waits and cleans up at the name the CNAME points to: `acmebox present|cleanup`,
//! the certbot hook, lego's exec provider in `RAW` mode and `acmebox serve` in `RAW` mode. The
//! real binary runs against the real PowerDNS, which serves both zones.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use acmebox::challenge::dns01::Dns01Record;
use acmebox::challenge::{Identifier, KeyAuthorization};
use acmebox_tests::cli::{acmebox_bin, lego_exec_bin};
use acmebox_tests::pdns::{self, patch_rrset, txt_values_in};
use acmebox_tests::servers::servers;
use acmebox_tests::support::unique;
use serde_json::json;

const KEY_AUTHORIZATION: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";

/// `_acme-challenge.<name>.example.test.` made a CNAME to
/// `_acme-challenge.<label>.delegated.test.`; removed again when dropped.
struct Delegated {
    name: String,
    owner: String,
    target: String,
}

impl Delegated {
    fn new(test: &str) -> Delegated {
        let name = unique(test);
        let label = name.trim_end_matches(".example.test").to_owned();
        let owner = format!("_acme-challenge.{name}.");
        let target = format!("_acme-challenge.{label}.delegated.test.");
        set_cname(&owner, Some(&target));
        Delegated {
            name,
            owner,
            target,
        }
    }

    /// The TXT values at the CNAME's owner and at its target.
    fn values(&self) -> (Vec<String>, Vec<String>) {
        (
            txt_values_in("example.test.", &self.owner).expect("reading PowerDNS"),
            txt_values_in("delegated.test.", &self.target).expect("reading PowerDNS"),
        )
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        set_cname(&self.owner, None);
        let _ = pdns::delete_rrset("delegated.test.", &self.target, "TXT");
    }
}

fn set_cname(owner: &str, target: Option<&str>) {
    let rrset = match target {
        Some(target) => json!({
            "name": owner, "type": "CNAME", "ttl": 60, "changetype": "REPLACE",
            "records": [{ "content": target, "disabled": false }],
        }),
        None => json!({ "name": owner, "type": "CNAME", "changetype": "DELETE" }),
    };
    if let Err(err) = patch_rrset("example.test.", rrset) {
        panic!("CNAME at {owner}: {err}");
    }
}

/// The DNS-01 value of [`KEY_AUTHORIZATION`], computed natively.
fn value() -> String {
    let record = Dns01Record::new(
        &Identifier::parse("example.test").expect("valid"),
        &KeyAuthorization::parse(KEY_AUTHORIZATION).expect("valid"),
    )
    .expect("a DNS-01 record");
    record.value().as_str().to_owned()
}

/// An acmebox config with the PowerDNS provider as `pdns`, its key read from a file.
fn write_config(dir: &Path) -> PathBuf {
    pdns::write_cli_config(dir, "", &pdns::origin(), "")
}

fn succeeded(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn present_and_cleanup_follow_the_cname() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let delegated = Delegated::new("deleg-present");
    let run = |operation: &str| {
        let out = Command::new(acmebox_bin())
            .arg(operation)
            .arg("--config")
            .arg(&config)
            .args(["--provider", "pdns", "--resolver", &servers().pdns_dns])
            .args([&delegated.name, KEY_AUTHORIZATION])
            .output()
            .unwrap();
        succeeded(&out, operation);
    };
    run("present");
    assert_eq!(delegated.values(), (vec![], vec![value()]));
    run("cleanup");
    assert_eq!(delegated.values(), (vec![], vec![]));
}

#[test]
fn the_certbot_hook_publishes_and_waits_where_the_cname_points() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let delegated = Delegated::new("deleg-certbot");
    let s = servers();
    let run = |phase: &str| {
        let out = Command::new(acmebox_bin())
            .args(["certbot-hook", phase])
            .arg("--config")
            .arg(&config)
            .args(["--provider", "pdns"])
            .args(["--resolver", &s.pdns_dns, "--authoritative", &s.pdns_dns])
            .args(["--propagation-timeout", "60s", "--polling-interval", "1s"])
            .env("CERTBOT_DOMAIN", &delegated.name)
            .env("CERTBOT_VALIDATION", value())
            .output()
            .unwrap();
        succeeded(&out, phase);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // The wait polls the CNAME's target, where the value went: it ends, served.
    let stderr = run("auth");
    assert!(
        stderr.contains(&format!("{} served by 1 nameserver(s)", delegated.target)),
        "{stderr}"
    );
    assert_eq!(delegated.values(), (vec![], vec![value()]));
    run("cleanup");
    assert_eq!(delegated.values(), (vec![], vec![]));
}

#[test]
fn lego_exec_in_raw_mode_follows_the_cname() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let delegated = Delegated::new("deleg-lego");
    let run = |operation: &str| {
        let out = Command::new(lego_exec_bin())
            .args([operation, "--", &delegated.name, TOKEN, KEY_AUTHORIZATION])
            .env("ACMEBOX_CONFIG", &config)
            .env("ACMEBOX_PROVIDER", "pdns")
            .env("ACMEBOX_RESOLVER", &servers().pdns_dns)
            .output()
            .unwrap();
        succeeded(&out, operation);
    };
    run("present");
    assert_eq!(delegated.values(), (vec![], vec![value()]));
    run("cleanup");
    assert_eq!(delegated.values(), (vec![], vec![]));
}

/// `acmebox serve` on a free loopback port; killed when dropped.
struct Serve {
    child: Child,
    origin: String,
}

impl Serve {
    fn start(config: &Path) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(acmebox_bin())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(config)
            .args(["--provider", "pdns", "--resolver", &servers().pdns_dns])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting acmebox serve");
        let mut serve = Serve {
            child,
            origin: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = serve.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = serve.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("acmebox serve ended ({status}):\n{stderr}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "acmebox serve did not listen on {}",
                serve.origin
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs `body` to `http://127.0.0.1:<port><path>` and returns the status line and the body.
fn post(origin: &str, path: &str, body: &str) -> (String, String) {
    use std::io::Write as _;
    let authority = origin.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).expect("connecting to serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("talking to acmebox serve");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("talking to acmebox serve");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("talking to acmebox serve");
    let (head, rest) = response.split_once("\r\n").unwrap_or((&response, ""));
    (head.to_owned(), rest.to_owned())
}

#[test]
fn serve_in_raw_mode_follows_the_cname() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let delegated = Delegated::new("deleg-serve");
    let serve = Serve::start(&config);
    let body = json!({ "domain": delegated.name, "token": TOKEN, "keyAuth": KEY_AUTHORIZATION })
        .to_string();
    for (operation, want) in [("present", vec![value()]), ("cleanup", vec![])] {
        let (status, rest) = post(&serve.origin, &format!("/{operation}"), &body);
        assert!(status.contains(" 200 "), "{operation}: {status}\n{rest}");
        assert_eq!(delegated.values(), (vec![], want), "after {operation}");
    }
}
