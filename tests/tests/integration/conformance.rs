//! The conformance kit (`acmebox::conformance`, `acmebox conformance`) against real backends:
//! the PowerDNS providers in Rust and Python, the JavaScript httpreq provider, Cloudflare and
//! acme-dns through their local stand-ins (all of which write to the real PowerDNS), and a
//! broken provider it must fail. Every check's outcome is asserted.
//!
//! Every test works under its own name (test name and process id); the kit removes what it
//! presented, and each test deletes the name's rrset when it ends, however it ends.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use acmebox::config::{ConfigValue, Secret};
use acmebox::conformance::{self, Check, ConformanceOptions, Outcome};
use acmebox::sandbox::{ProviderSpec, Sandbox, WasmDnsProvider};
use acmebox_tests::acme_dns_api::{Account, AcmeDnsApi};
use acmebox_tests::catalog::{assert_outcomes, kit_options};
use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::cloudflare_api::CloudflareApi;
use acmebox_tests::danger;
use acmebox_tests::guests::{
    fixture, js_provider, load_with_shared_cache, provider, python_provider,
};
use acmebox_tests::httpreq_endpoint::HttpreqEndpoint;
use acmebox_tests::pdns::{self, RrsetCleanup};
use acmebox_tests::servers::servers;
use acmebox_tests::support::unique;
use anyhow::Context as _;

const ZONE: &str = "example.test.";
const CF_TOKEN: &str = "cf-conformance-token-Hx3pL9qW2";
const ACME_DNS_PASSWORD: &str = "acme-dns-conformance-8Zr4Tq1Vn6Kp3Lw9Bd2Hs5Jx";

/// Kit options for `domain` (see [`kit_options`]).
fn options(domain: &str) -> ConformanceOptions {
    kit_options(domain)
}

fn pdns() -> SocketAddr {
    servers()
        .pdns_dns
        .parse()
        .expect("ACMEBOX_PDNS_DNS is host:port")
}

fn pdns_config(api_key: &str) -> BTreeMap<String, ConfigValue> {
    BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(pdns::origin())),
        (
            "api_key".to_owned(),
            ConfigValue::Secret(Secret::new(api_key)),
        ),
    ])
}

fn load(spec: ProviderSpec) -> anyhow::Result<(WasmDnsProvider, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let provider = Sandbox::new(&dir.path().join("cache"))?.load(spec)?;
    Ok((provider, dir))
}

#[tokio::test]
async fn powerdns_provider_passes_every_check() -> anyhow::Result<()> {
    let mut spec = ProviderSpec::new("pdns", provider("acmebox-provider-powerdns")?);
    spec.allow = vec![danger(pdns::origin())];
    spec.config = pdns_config(&servers().pdns_api_key);
    let (pdns_provider, _dir) = load(spec)?;
    let domain = unique("pdns");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    let report = conformance::run(&pdns_provider, &options(&domain)).await?;
    assert_outcomes(&report, &[]);
    assert_eq!(report.summary(), "9 passed, 0 failed");
    assert_eq!(report.fqdn, format!("_acme-challenge.{domain}."));
    assert!(
        matches!(report.outcome(Check::TypedError), Some(Outcome::Passed(why)) if why.starts_with("zone-not-found")),
        "{:?}",
        report.outcome(Check::TypedError)
    );
    Ok(())
}

#[tokio::test]
async fn python_provider_passes_every_check() -> anyhow::Result<()> {
    let mut spec = ProviderSpec::new("pdns-py", python_provider("powerdns-py")?);
    spec.allow = vec![danger(pdns::origin())];
    spec.config = pdns_config(&servers().pdns_api_key);
    let pdns_py = load_with_shared_cache(spec)?;
    let domain = unique("py");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    // Polls the server given, not the zone's NS records.
    let mut options = options(&domain);
    options.propagation = options
        .propagation
        .clone()
        .with_authoritative_servers(vec![pdns()]);
    let report = conformance::run(&pdns_py, &options).await?;
    assert_outcomes(&report, &[]);
    Ok(())
}

#[tokio::test]
async fn javascript_httpreq_provider_passes_every_check() -> anyhow::Result<()> {
    let endpoint = HttpreqEndpoint::start(None).await?;
    let mut spec = ProviderSpec::new("httpreq", js_provider("httpreq-js")?);
    spec.allow = vec![danger(endpoint.origin())];
    spec.config = BTreeMap::from([("endpoint".to_owned(), ConfigValue::Plain(endpoint.origin()))]);
    let httpreq = load_with_shared_cache(spec)?;
    let domain = unique("js");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    let report = conformance::run(&httpreq, &options(&domain)).await?;
    assert_outcomes(&report, &[]);
    // Every present and cleanup reached the endpoint, the refused one included.
    let paths: Vec<String> = endpoint.received().into_iter().map(|r| r.target).collect();
    assert!(
        paths.iter().all(|p| p == "/present" || p == "/cleanup"),
        "{paths:?}"
    );
    Ok(())
}

#[tokio::test]
async fn cloudflare_provider_passes_every_check() -> anyhow::Result<()> {
    let api = CloudflareApi::start(CF_TOKEN).await?;
    let mut spec = ProviderSpec::new("cf", provider("acmebox-provider-cloudflare")?);
    spec.allow = vec![danger(api.origin())];
    spec.config = BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(api.api_url())),
        (
            "api_token".to_owned(),
            ConfigValue::Secret(Secret::new(CF_TOKEN)),
        ),
    ]);
    let (cf, _dir) = load(spec)?;
    let domain = unique("cf");
    let report = conformance::run(&cf, &options(&domain)).await?;
    assert_outcomes(&report, &[]);
    // The stand-in holds nothing the kit presented.
    assert!(
        api.txt_contents(&format!("_acme-challenge.{domain}"))
            .await
            .is_empty()
    );
    Ok(())
}

/// acme-dns keeps the two latest values and publishes at the account's subdomain whatever the
/// record: with the operator saying so, those checks are not applicable, never passed.
#[tokio::test]
async fn acme_dns_provider_passes_with_its_checks_not_applicable() -> anyhow::Result<()> {
    let domain = unique("acmedns");
    let subdomain = format!("conf-sub-{}", std::process::id());
    let account = Account {
        username: "7c9e6679-7425-40de-944b-e07fc1f90ae7".to_owned(),
        password: ACME_DNS_PASSWORD.to_owned(),
        subdomain: subdomain.clone(),
    };
    let api = AcmeDnsApi::start(std::slice::from_ref(&account)).await?;
    api.delegate(&domain, &subdomain).await?;
    let mut spec = ProviderSpec::new("acmedns", provider("acmebox-provider-acme-dns")?);
    spec.allow = vec![danger(api.origin())];
    spec.config = BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(api.origin())),
        (
            "username".to_owned(),
            ConfigValue::Plain(account.username.clone()),
        ),
        (
            "password".to_owned(),
            ConfigValue::Secret(Secret::new(ACME_DNS_PASSWORD)),
        ),
        (
            "subdomain".to_owned(),
            ConfigValue::Plain(subdomain.clone()),
        ),
    ]);
    let (acme_dns, _dir) = load(spec)?;

    let options = options(&domain)
        .with_cleanup_keeps_values(true)
        .with_ignores_record_name(true);
    let report = conformance::run(&acme_dns, &options).await?;
    assert_outcomes(
        &report,
        &[
            (Check::CleanupRemoves, "N/A"),
            (Check::TypedError, "N/A"),
            (Check::NothingLeft, "N/A"),
        ],
    );
    assert_eq!(report.summary(), "6 passed, 0 failed, 3 not applicable");
    // Published where the CNAME leads.
    assert_eq!(report.fqdn, AcmeDnsApi::fqdn(&subdomain));

    // Without the operator's word, the kit sees the values stay and fails those checks.
    let strict = self::options(&domain).with_timeout_cap(Duration::from_secs(3));
    let strict = conformance::run(&acme_dns, &strict).await?;
    let failed: Vec<Check> = strict
        .checks
        .iter()
        .filter(|c| c.failed())
        .map(|c| c.name)
        .collect();
    assert_eq!(
        failed,
        [Check::CleanupRemoves, Check::TypedError, Check::NothingLeft]
    );
    Ok(())
}

/// A provider that says `ok` and publishes nothing passes describe and the cleanups, and fails
/// exactly the checks that look for its values, and the one with a record it cannot publish.
#[tokio::test]
async fn forgetful_provider_fails_the_checks_that_look_at_dns() -> anyhow::Result<()> {
    let (forgetful, _dir) = load(ProviderSpec::new("forgetful", fixture("forgetful")?))?;
    let domain = unique("forgetful");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    let options = options(&domain).with_timeout_cap(Duration::from_secs(2));
    let report = conformance::run(&forgetful, &options).await?;
    assert_outcomes(
        &report,
        &[
            (Check::Present, "FAIL"),
            (Check::SecondValue, "FAIL"),
            (Check::CleanupKeepsOther, "FAIL"),
            (Check::TypedError, "FAIL"),
        ],
    );
    assert_eq!(report.summary(), "5 passed, 4 failed");
    let Some(Outcome::Failed(why)) = report.outcome(Check::Present) else {
        unreachable!("asserted above");
    };
    assert!(
        why.starts_with("present returned ok, but _acme-challenge.")
            && why.contains("was not served"),
        "{why}"
    );
    let Some(Outcome::Failed(why)) = report.outcome(Check::TypedError) else {
        unreachable!("asserted above");
    };
    assert!(why.contains(".invalid. returned ok"), "{why}");
    Ok(())
}

/// A domain outside the zone is refused before any call.
#[tokio::test]
async fn a_domain_outside_the_zone_is_refused() -> anyhow::Result<()> {
    let (forgetful, _dir) = load(ProviderSpec::new("forgetful", fixture("forgetful")?))?;
    let err = conformance::run(&forgetful, &options("elsewhere.test"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not in zone example.test."), "{err}");
    Ok(())
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Writes a config holding `section` into `dir`.
fn write_cli_config(dir: &std::path::Path, section: &str) -> anyhow::Result<std::path::PathBuf> {
    let config = dir.join("acmebox.toml");
    std::fs::write(
        &config,
        format!(
            "cache_dir = {}\n\n{section}",
            toml_string(&dir.join("cache").to_string_lossy())
        ),
    )?;
    Ok(config)
}

/// The config section of the PowerDNS provider as `pdns`, its key from the environment.
fn pdns_section() -> anyhow::Result<String> {
    let component = provider("acmebox-provider-powerdns")?;
    let origin = toml_string(&pdns::origin());
    let grant = toml_string(&danger(pdns::origin()));
    Ok(format!(
        "[providers.pdns]\ncomponent = {}\nallow = [{grant}]\n\n[providers.pdns.config]\n\
         api_url = {origin}\napi_key = {{ env = \"ACMEBOX_TEST_PDNS_KEY\", secret = true }}\n",
        toml_string(&component.to_string_lossy()),
    ))
}

/// Runs `acmebox conformance` with a config holding `section`, and returns its exit status
/// and output.
fn run_cli(section: &str, name: &str, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
    let dir = tempfile::tempdir()?;
    let config = write_cli_config(dir.path(), section)?;
    let pdns = pdns().to_string();
    let out = Command::new(acmebox_bin())
        .arg("conformance")
        .args(["--config".as_ref(), config.as_os_str()])
        .args(["--provider", name, "--zone", ZONE, "--resolver", &pdns])
        .args(["--authoritative", &pdns])
        .args(args)
        .env("ACMEBOX_TEST_PDNS_KEY", &servers().pdns_api_key)
        .output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[tokio::test]
async fn cli_passes_the_powerdns_provider_and_exits_zero() -> anyhow::Result<()> {
    let section = pdns_section()?;
    let domain = unique("cli");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    let (ok, stdout, stderr) =
        run_cli(&section, "pdns", &["--domain", &domain, "--timeout", "20"])?;
    assert!(ok, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let names: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|l| l.split_once(':').map(|(head, _)| head))
        .filter_map(|head| head.split_once(' '))
        .collect();
    let want: Vec<(&str, &str)> = Check::ALL.iter().map(|c| ("PASS", c.name())).collect();
    assert_eq!(names, want, "{stdout}");
    assert_eq!(lines.last(), Some(&"9 passed, 0 failed"), "{stdout}");
    assert!(!stdout.contains(&servers().pdns_api_key), "{stdout}");
    Ok(())
}

#[tokio::test]
async fn cli_fails_the_forgetful_provider_and_exits_non_zero() -> anyhow::Result<()> {
    let section = format!(
        "[providers.forgetful]\ncomponent = {}\n",
        toml_string(&fixture("forgetful")?.to_string_lossy()),
    );
    let (ok, stdout, stderr) = run_cli(&section, "forgetful", &["--timeout", "2"])?;
    assert!(!ok, "{stdout}\n{stderr}");
    let failed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL "))
        .filter_map(|l| l.split_once(':').map(|(name, _)| name))
        .collect();
    assert_eq!(
        failed,
        [
            "present",
            "second-value",
            "cleanup-keeps-other",
            "typed-error"
        ],
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last(),
        Some("5 passed, 4 failed"),
        "{stdout}"
    );
    Ok(())
}

/// SIGTERM while the kit waits for its first value to show: the run ends with the checks
/// marked interrupted, and the value it had published is gone from PowerDNS.
#[tokio::test]
async fn cli_stopped_by_sigterm_leaves_nothing_behind() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = write_cli_config(dir.path(), &pdns_section()?)?;
    let domain = unique("cli-stop");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    // Polled instead of PowerDNS, this socket never answers: the present check waits.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let silent = silent.local_addr()?.to_string();
    let child = tokio::process::Command::new(acmebox_bin())
        .arg("conformance")
        .arg("--config")
        .arg(&config)
        .args(["--provider", "pdns", "--zone", ZONE, "--domain", &domain])
        .args([
            "--resolver",
            &pdns().to_string(),
            "--authoritative",
            &silent,
        ])
        .args(["--timeout", "120"])
        .env("ACMEBOX_TEST_PDNS_KEY", &servers().pdns_api_key)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("the child's pid")?;
    let fqdn = format!("_acme-challenge.{domain}.");
    let published = async {
        while pdns::txt_values(&fqdn)?.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(90), published)
        .await
        .context("the kit never published its first value")??;
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    anyhow::ensure!(kill.success());
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .context("acmebox conformance did not exit after SIGTERM")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("SIGTERM received; cleaning up what the kit presented"),
        "{stderr}"
    );
    assert!(
        stdout.contains("FAIL present: not completed: the run was interrupted"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last(),
        Some("1 passed, 8 failed"),
        "{stdout}"
    );
    assert!(pdns::txt_values(&fqdn)?.is_empty());
    Ok(())
}
