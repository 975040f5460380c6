//! The RFC 2136 provider (dynamic updates signed with TSIG, over a `dns://` socket grant)
//! against two real servers, BIND 9 and Knot DNS, started by `scripts/servers.sh` with update
//! policies that allow TXT at a fixed list of `_acme-challenge` names only.
//!
//! What is checked on the servers themselves (with `dig`): the conformance kit's values appear
//! and go; a wrong key changes nothing; a provider pointed at a port it was not granted is
//! refused before anything is sent. And a certificate for a name and its wildcard from the
//! Pebble that validates against BIND, through `acmebox issue`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acmebox::config::{ConfigValue, Secret};
use acmebox::conformance::{self, ConformanceOptions};
use acmebox::propagation::PropagationOptions;
use acmebox::sandbox::{
    Decision, Error, ProviderError, ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider,
};
use acmebox_tests::catalog::outcomes;
use acmebox_tests::certs::run_issue_with;
use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::servers::servers;

/// A value in the shape of a DNS-01 TXT value (43 base64url characters).
const VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

/// One of the two servers: where it listens, its zone and the key it grants updates to.
struct Server {
    name: &'static str,
    addr: SocketAddr,
    zone: String,
    key_name: String,
    key_secret: String,
}

fn bind() -> Server {
    let s = servers();
    Server {
        name: "bind",
        addr: s.bind_dns.parse().expect("ACMEBOX_BIND_DNS is ip:port"),
        zone: s.bind_zone.clone(),
        key_name: s.bind_tsig_name.clone(),
        key_secret: s.bind_tsig_secret.clone(),
    }
}

fn knot() -> Server {
    let s = servers();
    Server {
        name: "knot",
        addr: s.knot_dns.parse().expect("ACMEBOX_KNOT_DNS is ip:port"),
        zone: s.knot_zone.clone(),
        key_name: s.knot_tsig_name.clone(),
        key_secret: s.knot_tsig_secret.clone(),
    }
}

impl Server {
    /// `<label>.<zone>` without the trailing dot: a domain whose `_acme-challenge` name the
    /// server's update policy allows (see `acme_labels` in `scripts/servers.sh`).
    fn domain(&self, label: &str) -> String {
        format!("{label}.{}", self.zone.trim_end_matches('.'))
    }

    /// The grant for this loopback server (marked: loopback weakens the sandbox).
    fn grant(&self) -> String {
        danger(format!("dns://{}", self.addr))
    }

    /// The provider's spec: granted this server, configured with `key_secret` as its secret.
    fn spec(&self, key_name: &str, key_secret: &str) -> anyhow::Result<ProviderSpec> {
        let mut spec = ProviderSpec::new(self.name, provider("acmebox-provider-rfc2136")?);
        spec.allow = vec![self.grant()];
        spec.config = BTreeMap::from([
            (
                "server".to_owned(),
                ConfigValue::Plain(self.addr.to_string()),
            ),
            (
                "key_name".to_owned(),
                ConfigValue::Plain(key_name.to_owned()),
            ),
            (
                "key_secret".to_owned(),
                ConfigValue::Secret(Secret::new(key_secret)),
            ),
        ]);
        Ok(spec)
    }

    /// The TXT values the server answers at `fqdn` (over TCP, from the server itself).
    fn txt(&self, fqdn: &str) -> Vec<String> {
        let out = Command::new("dig")
            .args(["+tcp", "+short", "+time=2", "+tries=1", "+norecurse"])
            .arg(format!("@{}", self.addr.ip()))
            .args(["-p", &self.addr.port().to_string(), fqdn, "TXT"])
            .output()
            .expect("running dig");
        assert!(out.status.success(), "dig failed: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_matches('"').to_owned())
            .collect()
    }

    fn options(&self, domain: &str) -> ConformanceOptions {
        let mut dns = PropagationOptions::default()
            .with_resolvers(vec![self.addr])
            .with_authoritative_servers(vec![self.addr]);
        dns.query_timeout = Duration::from_secs(2);
        ConformanceOptions::new(self.zone.clone())
            .with_domain(domain)
            .with_propagation(dns)
            .with_timeout_cap(Duration::from_secs(20))
    }
}

fn record(domain: &str, zone: Option<&str>) -> TxtRecord {
    TxtRecord {
        domain: domain.to_owned(),
        fqdn: format!("_acme-challenge.{domain}."),
        value: VALUE.into(),
        ttl: 60,
        zone: zone.map(str::to_owned),
    }
}

fn load(spec: ProviderSpec) -> anyhow::Result<(WasmDnsProvider, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let provider = Sandbox::new(&dir.path().join("cache"))?.load(spec)?;
    Ok((provider, dir))
}

async fn passes_the_conformance_kit(server: Server) -> anyhow::Result<()> {
    let (provider, _dir) = load(server.spec(&server.key_name, &server.key_secret)?)?;
    let domain = server.domain("conformance");
    let report = conformance::run(&provider, &server.options(&domain)).await?;
    let failed: Vec<_> = outcomes(&report)
        .into_iter()
        .filter(|(_, tag)| *tag == "FAIL")
        .collect();
    assert!(failed.is_empty(), "{}: {:#?}", server.name, report.checks);
    assert_eq!(
        report.summary(),
        "9 passed, 0 failed",
        "{:#?}",
        report.checks
    );
    assert!(
        server.txt(&report.fqdn).is_empty(),
        "values left at {}",
        report.fqdn
    );
    Ok(())
}

#[tokio::test]
async fn bind_passes_the_conformance_kit() -> anyhow::Result<()> {
    passes_the_conformance_kit(bind()).await
}

#[tokio::test]
async fn knot_passes_the_conformance_kit() -> anyhow::Result<()> {
    passes_the_conformance_kit(knot()).await
}

/// Present and cleanup one value with the zone found by the provider (SOA queries to the
/// granted server), checking the server's answers after each, with the audit of the call.
async fn present_and_cleanup_finding_the_zone(server: Server, label: &str) -> anyhow::Result<()> {
    let (provider, _dir) = load(server.spec(&server.key_name, &server.key_secret)?)?;
    let domain = server.domain(label);
    let record = record(&domain, None);
    let report = provider.present(&record).await;
    assert!(
        report.is_ok(),
        "{}: {:?}",
        server.name,
        report.error().map(ToString::to_string)
    );
    assert_eq!(server.txt(&record.fqdn), [VALUE]);
    // Every connection went to the granted server and carried a little of DNS.
    assert!(!report.sockets.is_empty());
    for socket in &report.sockets {
        assert_eq!(
            (socket.decision, socket.addr),
            (Decision::Allowed, server.addr),
            "{socket}"
        );
        assert!(
            socket.bytes_sent > 0 && socket.bytes_received > 0,
            "{socket}"
        );
    }
    assert!(report.audit.is_empty(), "no HTTP: {:?}", report.audit);
    let report = provider.cleanup(&record).await;
    assert!(
        report.is_ok(),
        "{:?}",
        report.error().map(ToString::to_string)
    );
    assert!(server.txt(&record.fqdn).is_empty());
    // A second cleanup of a value that is gone succeeds.
    assert!(provider.cleanup(&record).await.is_ok());
    Ok(())
}

#[tokio::test]
async fn bind_present_and_cleanup_find_the_zone() -> anyhow::Result<()> {
    present_and_cleanup_finding_the_zone(bind(), "a").await
}

#[tokio::test]
async fn knot_present_and_cleanup_find_the_zone() -> anyhow::Result<()> {
    present_and_cleanup_finding_the_zone(knot(), "a").await
}

/// The provider's error of a failed call, or a panic naming what happened instead.
fn provider_error(report: &acmebox::sandbox::CallReport) -> &ProviderError {
    match report.error() {
        Some(Error::ProviderFailed { error, .. }) => error,
        other => panic!("expected a provider error, got {other:?}"),
    }
}

/// An update signed with a wrong secret is refused as `unauthorized` (BADSIG), the secret is in
/// no log or error, and the server holds nothing at the name.
async fn wrong_key_changes_nothing(server: Server) -> anyhow::Result<()> {
    let wrong = "d3Jvbmcgc2VjcmV0IGZvciB0aGUgdGVzdCBvZiBiYWRzaWc=";
    let (provider, _dir) = load(server.spec(&server.key_name, wrong)?)?;
    let domain = server.domain("wrongkey");
    let record = record(&domain, Some(&server.zone));
    let report = provider.present(&record).await;
    let error = provider_error(&report);
    assert!(
        matches!(error, ProviderError::Unauthorized(m) if m.contains("BADSIG")),
        "{}: {error:?}",
        server.name
    );
    let text = format!("{report:?}");
    assert!(!text.contains(wrong), "the secret leaked: {text}");
    assert!(
        server.txt(&record.fqdn).is_empty(),
        "a wrongly signed update changed the zone"
    );
    Ok(())
}

#[tokio::test]
async fn bind_refuses_a_wrong_key() -> anyhow::Result<()> {
    wrong_key_changes_nothing(bind()).await
}

#[tokio::test]
async fn knot_refuses_a_wrong_key() -> anyhow::Result<()> {
    wrong_key_changes_nothing(knot()).await
}

/// A key BIND knows but grants nothing: REFUSED, which is `unauthorized` naming the policy.
#[tokio::test]
async fn bind_refuses_a_key_without_a_grant() -> anyhow::Result<()> {
    let server = bind();
    let s = servers();
    let (provider, _dir) = load(server.spec(&s.bind_tsig_other_name, &s.bind_tsig_other_secret)?)?;
    let record = record(&server.domain("b"), Some(&server.zone));
    let report = provider.present(&record).await;
    let error = provider_error(&report);
    assert!(
        matches!(error, ProviderError::Unauthorized(m) if m.contains("refused")),
        "{error:?}"
    );
    assert!(server.txt(&record.fqdn).is_empty());
    Ok(())
}

/// hmac-sha1, for servers that only have old keys.
#[tokio::test]
async fn bind_takes_an_hmac_sha1_key() -> anyhow::Result<()> {
    let server = bind();
    let s = servers();
    let mut spec = server.spec(&s.bind_tsig_sha1_name, &s.bind_tsig_sha1_secret)?;
    spec.config.insert(
        "algorithm".to_owned(),
        ConfigValue::Plain("hmac-sha1".to_owned()),
    );
    let (provider, _dir) = load(spec)?;
    let record = record(&server.domain("c"), Some(&server.zone));
    assert!(provider.present(&record).await.is_ok());
    assert_eq!(server.txt(&record.fqdn), [VALUE]);
    assert!(provider.cleanup(&record).await.is_ok());
    assert!(server.txt(&record.fqdn).is_empty());
    Ok(())
}

/// Granted BIND's address, configured with another port: the host refuses the connect, the
/// listener on that port sees nothing, and the error says what to add to `allow`.
#[tokio::test]
async fn a_port_outside_the_grant_is_refused_before_anything_is_sent() -> anyhow::Result<()> {
    let server = bind();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let other = listener.local_addr()?;
    let mut spec = server.spec(&server.key_name, &server.key_secret)?;
    spec.config
        .insert("server".to_owned(), ConfigValue::Plain(other.to_string()));
    let (provider, _dir) = load(spec)?;
    let record = record(&server.domain("d"), Some(&server.zone));
    let report = provider.present(&record).await;
    assert!(
        matches!(provider_error(&report), ProviderError::Transport(_)),
        "{:?}",
        report.error()
    );
    // Nothing connected: the kernel completes a connection before it is accepted, so an
    // accept that would block means none was ever made.
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a connection reached the listener: {accepted:?}"
    );
    let denied: Vec<_> = report
        .sockets
        .iter()
        .filter(|r| r.decision == Decision::Denied)
        .collect();
    assert_eq!(denied.len(), 1, "{:?}", report.sockets);
    assert_eq!(denied[0].addr, other);
    assert!(
        denied[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains(&format!("add `danger:dns://{other}` to `allow`"))),
        "{:?}",
        denied[0]
    );
    assert!(server.txt(&record.fqdn).is_empty());
    Ok(())
}

/// `acmebox.toml` in `dir` for provider `bind`, its secret in a file.
fn write_config(dir: &Path, component: &Path, server: &Server) -> PathBuf {
    std::fs::write(dir.join("tsig.key"), &server.key_secret).expect("writing the key file");
    let path = dir.join("acmebox.toml");
    let text = format!(
        r#"cache_dir = "cache"

[providers.bind]
component = {component:?}
allow = [{grant:?}]
ttl = 60

[providers.bind.config]
server = {addr:?}
key_name = {key_name:?}
key_secret = {{ file = "tsig.key", secret = true }}
"#,
        component = component.display().to_string(),
        grant = server.grant(),
        addr = server.addr.to_string(),
        key_name = server.key_name,
    );
    std::fs::write(&path, text).expect("writing acmebox.toml");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_issues_a_wildcard_validated_against_bind() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let s = servers();
    let server = bind();
    let component = tokio::task::spawn_blocking(|| provider("acmebox-provider-rfc2136")).await??;
    let bin = tokio::task::spawn_blocking(acmebox_bin).await?;
    let config = write_config(tmp.path(), &component, &server);
    let name = server.domain("x");
    let wildcard = format!("*.{name}");
    let mut command = tokio::process::Command::new(&bin);
    command
        .args([
            "issue",
            "--agree-tos",
            "-d",
            &name,
            "-d",
            &wildcard,
            "--challenge",
            "dns-01",
        ])
        .arg("--config")
        .arg(&config)
        .args(["--provider", "bind"])
        .args(["--resolver", &s.bind_dns, "--authoritative", &s.bind_dns])
        .args([
            "--directory",
            &s.pebble_bind_directory,
            "--ca-cert",
            &s.pebble_ca_cert,
        ])
        .arg("--out")
        .arg(tmp.path().join("out"))
        .arg("--account")
        .arg(tmp.path().join("account.json"));
    let stderr = run_issue_with(
        command,
        &tmp.path().join("out"),
        &[&name, &wildcard],
        &s.pebble_bind_mgmt,
    )
    .await;
    for line in [
        format!("_acme-challenge.{name}. TXT"),
        "cleaned up 2".to_owned(),
        format!("audit: bind present tcp connect {} allowed", server.addr),
        format!("audit: bind cleanup tcp connect {} allowed", server.addr),
    ] {
        assert!(stderr.contains(&line), "stderr lacks {line:?}:\n{stderr}");
    }
    assert!(!stderr.contains(&server.key_secret), "{stderr}");
    assert!(server.txt(&format!("_acme-challenge.{name}.")).is_empty());
    Ok(())
}
