//! Real ACME clients with acmebox as their DNS hook, against Pebble and PowerDNS: lego's `exec`
//! provider (default and RAW modes) with `acmebox-lego-exec`, certbot's manual hooks with
//! `acmebox certbot-hook`, and lego's `httpreq` provider with `acmebox serve`. Every run
//! requests an apex and its wildcard (two values at one name), and checks that nothing is left
//! in PowerDNS afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use acmebox_tests::certs::{assert_private_key, check_chain};
use acmebox_tests::cli::{acmebox_bin, lego_exec_bin};
use acmebox_tests::client_run::{
    Serve, assert_nothing_left, assert_success, curl, run, write_config,
};
use acmebox_tests::lego::{Lego, lego_exec, lego_httpreq};
use acmebox_tests::pdns::dns_txt_values;
use acmebox_tests::servers::servers;
use acmebox_tests::support::unique;

/// A DNS-01 value, for requests made by hand.
const VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

#[test]
fn lego_exec_default_mode_issues_apex_and_wildcard() {
    lego_exec(Lego::V4, None);
}

#[test]
fn lego_exec_raw_mode_issues_apex_and_wildcard() {
    lego_exec(Lego::V4, Some("RAW"));
}

#[test]
fn lego_exec_without_its_environment_says_what_to_set() {
    let out = Command::new(lego_exec_bin())
        .args(["present", "_acme-challenge.example.test.", VALUE])
        .env_remove("ACMEBOX_CONFIG")
        .env_remove("ACMEBOX_PROVIDER")
        .output()
        .expect("running acmebox-lego-exec");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("ACMEBOX_CONFIG is not set") && stderr.contains("before running lego"),
        "{stderr}"
    );
    let out = Command::new(lego_exec_bin())
        .args(["present", "_acme-challenge.example.test."])
        .output()
        .expect("running acmebox-lego-exec");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("EXEC_MODE=RAW"), "{stderr}");
}

#[test]
fn certbot_hooks_issue_apex_and_wildcard() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path());
    let domain = unique("certbot");
    let s = servers();
    // certbot runs a hook through the shell after checking that its first word is a program,
    // and knows no quoting: the paths in these lines must not contain blanks.
    let hook = |phase: &str| {
        let (bin, config) = (acmebox_bin(), config.display().to_string());
        let bin = bin.display().to_string();
        assert!(
            !bin.contains(char::is_whitespace) && !config.contains(char::is_whitespace),
            "certbot cannot run hooks from paths with blanks: {bin} {config}"
        );
        format!(
            "{bin} certbot-hook {phase} --config {config} --provider pdns --authoritative {}",
            s.pdns_dns
        )
    };
    let certbot_dir = tmp.path().join("certbot");
    let mut command = Command::new("certbot");
    certbot_certonly(&mut command, &certbot_dir);
    command
        .args(["--manual", "--preferred-challenges", "dns"])
        .args(["--manual-auth-hook", &hook("auth")])
        .args(["--manual-cleanup-hook", &hook("cleanup")])
        .args([
            "--cert-name",
            "hooks",
            "-d",
            &domain,
            "-d",
            &format!("*.{domain}"),
        ]);
    let out = run(command, "certbot with acmebox certbot-hook");
    assert_success(&out, "certbot with acmebox certbot-hook");
    check_certbot_lineage(&certbot_dir, "hooks", &domain);
}

/// What certbot got under `certbot_dir` as `cert_name` for `domain` and its wildcard: the
/// certificate and key, two presents and two cleanups through `pdns` in its log (which keeps
/// each call's output), each value seen at the nameserver, no secret, nothing left in DNS.
/// Returns the log.
fn check_certbot_lineage(certbot_dir: &Path, cert_name: &str, domain: &str) -> String {
    let live = certbot_dir.join("config").join("live").join(cert_name);
    check_chain(
        &live.join("cert.pem"),
        &live.join("chain.pem"),
        &[domain, &format!("*.{domain}")],
    );
    assert_private_key(&live.join("privkey.pem"));
    let log = std::fs::read_to_string(certbot_dir.join("logs").join("letsencrypt.log"))
        .expect("certbot's log");
    assert_eq!(log.matches("pdns present: ok").count(), 2, "{log}");
    assert_eq!(log.matches("pdns cleanup: ok").count(), 2, "{log}");
    assert!(log.contains("served by 1 nameserver(s)"), "{log}");
    assert!(!log.contains(&servers().pdns_api_key));
    assert_nothing_left(domain);
    log
}

#[test]
fn lego_httpreq_through_acmebox_serve_with_basic_auth() {
    lego_httpreq(Lego::V4, None, Some(("lego", "s3cret-pass")));
}

#[test]
fn lego_httpreq_raw_mode_through_acmebox_serve() {
    lego_httpreq(Lego::V4, Some("RAW"), None);
}

/// What `acmebox serve` answers to requests that are not right.
#[test]
fn serve_explains_bad_requests() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path());
    let serve = Serve::start(&config, Some(("user", "pass")));
    let present = format!("{}/present", serve.origin);
    let domain = unique("serve");
    let fqdn = format!("_acme-challenge.{domain}.");
    let good = format!(r#"{{"fqdn":"{fqdn}","value":"{VALUE}"}}"#);
    let good = good.as_str();

    let (code, body) = curl(&["-X", "POST", "--data", good, &present]);
    assert_eq!(code, "401", "{body}");
    let (code, body) = curl(&["-u", "user:wrong", "-X", "POST", "--data", good, &present]);
    assert_eq!(code, "401", "{body}");
    let (code, body) = curl(&["-u", "user:pass", &present]);
    assert_eq!(code, "405", "{body}");
    let (code, body) = curl(&[
        "-u",
        "user:pass",
        "-X",
        "POST",
        "--data",
        good,
        &format!("{}/other", serve.origin),
    ]);
    assert_eq!(code, "404", "{body}");
    let (code, body) = curl(&[
        "-u",
        "user:pass",
        "-X",
        "POST",
        "--data",
        "{\"fqdn\":1}",
        &present,
    ]);
    assert_eq!(
        (code.as_str(), body.contains("keyAuth")),
        ("400", true),
        "{body}"
    );
    let bad_value = format!(r#"{{"fqdn":"{fqdn}","value":"not-a-dns-01-value"}}"#);
    let bad_value = bad_value.as_str();
    let (code, body) = curl(&[
        "-u",
        "user:pass",
        "-X",
        "POST",
        "--data",
        bad_value,
        &present,
    ]);
    assert_eq!(
        (code.as_str(), body.contains("43 base64url")),
        ("400", true),
        "{body}"
    );
    // A name outside every PowerDNS zone: the provider's own error, as 502.
    let outside = format!(r#"{{"fqdn":"_acme-challenge.nowhere.invalid.","value":"{VALUE}"}}"#);
    let outside = outside.as_str();
    let (code, body) = curl(&["-u", "user:pass", "-X", "POST", "--data", outside, &present]);
    assert_eq!(
        (code.as_str(), body.contains("zone not found")),
        ("502", true),
        "{body}"
    );

    // The good request works, then is cleaned up.
    let (code, body) = curl(&["-u", "user:pass", "-X", "POST", "--data", good, &present]);
    assert_eq!(
        (code.as_str(), body.contains("\"ok\":true")),
        ("200", true),
        "{body}"
    );
    assert_eq!(dns_txt_values(&fqdn).expect("dig"), [VALUE]);
    let cleanup = format!("{}/cleanup", serve.origin);
    let (code, body) = curl(&["-u", "user:pass", "-X", "POST", "--data", good, &cleanup]);
    assert_eq!(code, "200", "{body}");
    assert_nothing_left(&domain);
}

/// Installs the certbot plugin of `integrations/certbot-dns-acmebox` into `dir` (offline, with
/// the pip of the venv `scripts/deps.sh` made), for `PYTHONPATH`. It is built from a copy in
/// `dir`: a build writes into its source, and tests run at once.
fn install_certbot_plugin(dir: &Path) -> PathBuf {
    let root = acmebox_tests::repo_root();
    let source = dir.join("plugin-source");
    let package = root.join("integrations/certbot-dns-acmebox");
    for file in [
        "pyproject.toml",
        "README.md",
        "certbot_dns_acmebox/__init__.py",
        "certbot_dns_acmebox/authenticator.py",
    ] {
        let to = source.join(file);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("making the copy");
        std::fs::copy(package.join(file), &to).expect("copying the plugin");
    }
    let target = dir.join("plugin");
    let mut command = Command::new(root.join("target/certbot-venv/bin/pip"));
    command
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
        ])
        .args(["--no-build-isolation", "--no-index", "--target"])
        .arg(&target)
        .arg(&source);
    assert_success(
        &run(command, "pip install of the plugin"),
        "pip install of the plugin",
    );
    target
}

/// `certbot certonly --authenticator dns-acmebox` for `domain` and its wildcard, with the
/// program `certbot` (a path), the plugin from `plugin`, checking propagation at
/// `authoritative`; its directories under `tmp/certbot`.
fn certbot_plugin_command(
    certbot: &Path,
    plugin: &Path,
    tmp: &Path,
    domain: &str,
    authoritative: &str,
) -> Command {
    let config = write_config(tmp);
    let mut command = Command::new(certbot);
    certbot_certonly(&mut command, &tmp.join("certbot"));
    command
        .env("PYTHONPATH", plugin)
        .args(["--authenticator", "dns-acmebox", "--dns-acmebox-config"])
        .arg(&config)
        .args(["--dns-acmebox-provider", "pdns", "--dns-acmebox-binary"])
        .arg(acmebox_bin())
        .args(["--dns-acmebox-authoritative", authoritative])
        .args([
            "--cert-name",
            "plugin",
            "-d",
            domain,
            "-d",
            &format!("*.{domain}"),
        ]);
    command
}

/// [`certbot_plugin_command`] gets a certificate, acmebox waiting for propagation instead
/// of certbot, and leaves nothing in DNS.
fn certbot_with_the_plugin(certbot: &Path, plugin: &Path, tmp: &Path, label: &str) {
    let s = servers();
    let domain = unique(label);
    let certbot_dir = tmp.join("certbot");
    let command = certbot_plugin_command(certbot, plugin, tmp, &domain, &s.pdns_dns);
    let what = format!("{} with the dns-acmebox plugin", certbot.display());
    assert_success(&run(command, &what), &what);
    let log = check_certbot_lineage(&certbot_dir, "plugin", &domain);
    // acmebox waited for propagation: certbot did not sleep.
    assert!(
        !log.contains("Waiting 10 seconds") && !log.contains("Waiting 60 seconds"),
        "{log}"
    );
}

/// The certbot plugin with a current certbot from PyPI (the venv of `scripts/deps.sh`).
#[test]
fn the_certbot_plugin_with_a_current_certbot() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let plugin = install_certbot_plugin(tmp.path());
    let certbot = acmebox_tests::repo_root().join("target/certbot-venv/bin/certbot");
    certbot_with_the_plugin(&certbot, &plugin, tmp.path(), "plugin-pypi");
}

/// The same plugin with Debian's certbot 2.1.
#[test]
fn the_certbot_plugin_with_debians_certbot() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let plugin = install_certbot_plugin(tmp.path());
    certbot_with_the_plugin(
        Path::new("/usr/bin/certbot"),
        &plugin,
        tmp.path(),
        "plugin-debian",
    );
}

/// A record presented by the plugin is removed when the authorization fails after it: here
/// propagation is checked at a nameserver that never answers, with a 2 s timeout.
#[test]
fn the_certbot_plugin_cleans_up_when_the_challenge_fails() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let plugin = install_certbot_plugin(tmp.path());
    let certbot = acmebox_tests::repo_root().join("target/certbot-venv/bin/certbot");
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    let silent = silent.local_addr().expect("its address").to_string();
    let domain = unique("plugin-fails");
    let mut command = certbot_plugin_command(&certbot, &plugin, tmp.path(), &domain, &silent);
    command.args(["--dns-acmebox-propagation-timeout", "2s"]);
    let out = run(command, "certbot with a nameserver that never answers");
    assert!(
        !out.status.success(),
        "certbot succeeded without propagation"
    );
    let log = std::fs::read_to_string(tmp.path().join("certbot/logs/letsencrypt.log"))
        .expect("certbot's log");
    assert!(log.contains("pdns present: ok"), "{log}");
    assert!(log.contains("pdns cleanup: ok"), "{log}");
    assert_nothing_left(&domain);
}

/// Makes `command` (a certbot) `certbot certonly` against Pebble, non-interactive, with its
/// config, work and log directories under `dir`.
fn certbot_certonly(command: &mut Command, dir: &Path) {
    let s = servers();
    command
        .env("REQUESTS_CA_BUNDLE", &s.pebble_ca_cert)
        .args(["certonly", "--non-interactive", "--agree-tos"])
        .args([
            "--register-unsafely-without-email",
            "--server",
            &s.pebble_directory,
        ])
        .arg("--config-dir")
        .arg(dir.join("config"))
        .arg("--work-dir")
        .arg(dir.join("work"))
        .arg("--logs-dir")
        .arg(dir.join("logs"));
}
