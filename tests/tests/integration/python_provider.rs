//! The PowerDNS provider written in Python (`guest-providers/powerdns-py`, built with
//! componentize-py) in the sandbox against the real PowerDNS: the same behaviour as the Rust
//! one, retries when PowerDNS answers 5xx, and a second load served from the component cache.
//!
//! Every test works under its own name (test name and process id) and removes what it created,
//! even when it fails.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use acmebox::Error;
use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{
    CacheStatus, CallReport, ProviderError, ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider,
};
use acmebox_tests::guests::{load_with_shared_cache, python_provider, shared_cache_dir};
use acmebox_tests::http_server::TestServer;
use acmebox_tests::httpreq_endpoint::{delete_txt_rrset, txt_values};
use acmebox_tests::servers::servers;

const APEX_VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
const WILDCARD_VALUE: &str = "Xw7ZQp1kV3mN9rT2sU4yA6bC8dE0fG2hJ4kL6nP8qR0";

/// A domain under `example.test` no other test (in this process or another) uses.
fn unique(test: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("py-{test}-{}-{n}.example.test", std::process::id())
}

/// The PowerDNS webserver's origin, `http://127.0.0.1:PORT`: what `api_url` and the grant take.
fn api_origin() -> String {
    let url = &servers().pdns_api_url;
    let end = url.find("/api/v1").unwrap_or(url.len());
    url[..end].to_owned()
}

fn record(domain: &str, value: &str, zone: Option<&str>) -> TxtRecord {
    TxtRecord {
        domain: domain.to_owned(),
        fqdn: format!("_acme-challenge.{domain}."),
        value: value.to_owned(),
        ttl: 60,
        zone: zone.map(str::to_owned),
    }
}

fn spec(api_url: &str, api_key: &str) -> anyhow::Result<ProviderSpec> {
    let mut spec = ProviderSpec::new("pdns-py", python_provider("powerdns-py")?);
    spec.allow = vec![api_url.to_owned()];
    spec.config = BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(api_url.to_owned())),
        (
            "api_key".to_owned(),
            ConfigValue::Secret(Secret::new(api_key)),
        ),
    ]);
    Ok(spec)
}

fn load(api_key: &str) -> anyhow::Result<WasmDnsProvider> {
    load_with_shared_cache(spec(&api_origin(), api_key)?)
}

fn ensure_ok(report: &CallReport) -> anyhow::Result<()> {
    anyhow::ensure!(
        report.is_ok(),
        "{} failed: {}\nlogs: {:?}\naudit: {:?}",
        report.operation,
        report.error().map(ToString::to_string).unwrap_or_default(),
        report.logs,
        report.audit
    );
    Ok(())
}

/// The TXT values PowerDNS answers for `fqdn` over DNS, sorted.
fn dns_values(fqdn: &str) -> anyhow::Result<Vec<String>> {
    let (host, port) = servers()
        .pdns_dns
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("ACMEBOX_PDNS_DNS is not host:port"))?;
    let out = Command::new("dig")
        .args([
            &format!("@{host}"),
            "-p",
            port,
            "+short",
            "+time=2",
            "+tries=2",
        ])
        .args(["TXT", fqdn])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "dig failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut values: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_matches('"').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    values.sort();
    Ok(values)
}

fn sorted(values: &[&str]) -> Vec<String> {
    let mut values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
    values.sort();
    values
}

/// The TXT rrset a test may create; deleted when the test ends, however it ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Err(err) = delete_txt_rrset(&self.0) {
            eprintln!("cleanup of {}: {err:#}", self.0);
        }
    }
}

#[tokio::test]
async fn apex_and_wildcard_values_coexist_and_leave_one_at_a_time() -> anyhow::Result<()> {
    let pdns = load(&servers().pdns_api_key)?;
    let domain = unique("coexist");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = Cleanup(fqdn.clone());
    // The apex without a zone (found through GET /zones), the wildcard with one.
    let apex = record(&domain, APEX_VALUE, None);
    let wildcard = record(&domain, WILDCARD_VALUE, Some("example.test."));

    let report = pdns.present(&apex).await;
    ensure_ok(&report)?;
    let methods: Vec<_> = report.audit.iter().map(|a| a.method.as_str()).collect();
    assert_eq!(methods, ["GET", "GET", "PATCH"], "{:?}", report.audit);
    assert_eq!(txt_values(&fqdn)?, [APEX_VALUE]);
    assert_eq!(dns_values(&fqdn)?, [APEX_VALUE]);

    ensure_ok(&pdns.present(&wildcard).await)?;
    let both = sorted(&[APEX_VALUE, WILDCARD_VALUE]);
    assert_eq!(txt_values(&fqdn)?, both);
    assert_eq!(dns_values(&fqdn)?, both);

    // Presenting again changes nothing and makes no PATCH.
    let report = pdns.present(&wildcard).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report.audit.iter().all(|a| a.method == "GET"),
        "{:?}",
        report.audit
    );

    ensure_ok(&pdns.cleanup(&apex).await)?;
    assert_eq!(txt_values(&fqdn)?, [WILDCARD_VALUE]);
    assert_eq!(dns_values(&fqdn)?, [WILDCARD_VALUE]);

    // Twice is fine; the second call finds nothing to remove.
    let report = pdns.cleanup(&apex).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report.audit.iter().all(|a| a.method == "GET"),
        "{:?}",
        report.audit
    );
    assert_eq!(txt_values(&fqdn)?, [WILDCARD_VALUE]);

    ensure_ok(&pdns.cleanup(&wildcard).await)?;
    assert!(txt_values(&fqdn)?.is_empty());
    assert!(dns_values(&fqdn)?.is_empty());
    ensure_ok(&pdns.cleanup(&wildcard).await)?;
    Ok(())
}

#[tokio::test]
async fn cleanup_of_a_value_never_presented_succeeds() -> anyhow::Result<()> {
    let pdns = load(&servers().pdns_api_key)?;
    let domain = unique("never");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = Cleanup(fqdn.clone());
    let report = pdns.cleanup(&record(&domain, APEX_VALUE, None)).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report.audit.iter().all(|a| a.method == "GET"),
        "{:?}",
        report.audit
    );
    assert!(txt_values(&fqdn)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn wrong_api_key_is_unauthorized() -> anyhow::Result<()> {
    let pdns = load("not-the-key")?;
    let domain = unique("badkey");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = Cleanup(fqdn.clone());
    for zone in [None, Some("example.test.")] {
        let report = pdns.present(&record(&domain, APEX_VALUE, zone)).await;
        let error = report.error().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(
                report.error(),
                Some(Error::ProviderFailed {
                    error: ProviderError::Unauthorized(_),
                    ..
                })
            ),
            "zone {zone:?}: {error}"
        );
        let everything = format!("{error} {:?} {:?}", report.logs, report.audit);
        assert!(!everything.contains("not-the-key"), "{everything}");
    }
    assert!(txt_values(&fqdn)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn unknown_zone_is_zone_not_found() -> anyhow::Result<()> {
    let pdns = load(&servers().pdns_api_key)?;
    for zone in [None, Some("nowhere.test.")] {
        let report = pdns
            .present(&record("nowhere.test", APEX_VALUE, zone))
            .await;
        assert!(
            matches!(
                report.error(),
                Some(Error::ProviderFailed {
                    error: ProviderError::ZoneNotFound(_),
                    ..
                })
            ),
            "zone {zone:?}: {:?}",
            report.error().map(ToString::to_string)
        );
    }
    Ok(())
}

/// PowerDNS with sqlite answers 500 "database is locked" while another write runs: the
/// provider tries the round again after a short wait, and reports the error when it persists.
#[tokio::test]
async fn server_errors_are_retried_then_reported() -> anyhow::Result<()> {
    let server = TestServer::start(500, r#"{"error": "database is locked"}"#).await?;
    let pdns = load_with_shared_cache(spec(&server.origin(), "key")?)?;
    let started = Instant::now();
    let report = pdns
        .present(&record(
            "retry.example.test",
            APEX_VALUE,
            Some("example.test."),
        ))
        .await;
    let elapsed = started.elapsed();
    match report.error() {
        Some(Error::ProviderFailed {
            error: ProviderError::Api { status, message },
            ..
        }) => assert_eq!((*status, message.as_str()), (500, "database is locked")),
        other => panic!("{:?}", other.map(ToString::to_string)),
    }
    // Five rounds, each stopped by its GET, with about 0.1 + 0.2 + 0.4 + 0.8 s of waits.
    assert_eq!(server.received().len(), 5, "{:?}", report.audit);
    assert!(report.audit.iter().all(|a| a.method == "GET"));
    let retries = report
        .logs
        .iter()
        .filter(|l| l.message.contains("trying again"))
        .count();
    assert_eq!(retries, 4, "{:?}", report.logs);
    println!("five rounds with backoff took {elapsed:?}");
    Ok(())
}

/// Presents at several names at once: PowerDNS may refuse some writes while another is in
/// progress, and the retries get every value in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_presents_at_several_names_all_succeed() -> anyhow::Result<()> {
    let pdns = load(&servers().pdns_api_key)?;
    let domains: Vec<String> = (0..4).map(|_| unique("concurrent")).collect();
    let _cleanups: Vec<Cleanup> = domains
        .iter()
        .map(|d| Cleanup(format!("_acme-challenge.{d}.")))
        .collect();
    let records: Vec<TxtRecord> = domains
        .iter()
        .map(|d| record(d, APEX_VALUE, Some("example.test.")))
        .collect();
    let mut tasks = Vec::new();
    for record in records.clone() {
        let pdns = pdns.clone();
        tasks.push(tokio::spawn(async move { pdns.present(&record).await }));
    }
    for task in tasks {
        ensure_ok(&task.await?)?;
    }
    for record in &records {
        assert_eq!(txt_values(&record.fqdn)?, [APEX_VALUE]);
        ensure_ok(&pdns.cleanup(record).await)?;
        assert!(txt_values(&record.fqdn)?.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn describe_lists_keys_and_the_granted_origin() -> anyhow::Result<()> {
    let pdns = load(&servers().pdns_api_key)?;
    let info = pdns.describe().await?;
    assert_eq!(info.name, "powerdns");
    assert_eq!(info.hosts, [api_origin()]);
    assert_eq!(
        (
            info.propagation_timeout_secs,
            info.polling_interval_secs,
            info.sequential
        ),
        (60, 2, false)
    );
    let keys: Vec<_> = info
        .config_keys
        .iter()
        .map(|k| (k.name.as_str(), k.required, k.secret))
        .collect();
    assert_eq!(
        keys,
        [
            ("api_url", true, false),
            ("api_key", true, true),
            ("server_id", false, false)
        ]
    );
    assert!(info.config_keys.iter().all(|k| !k.description.is_empty()));
    Ok(())
}

/// A second load of the 18 MB component in a fresh sandbox with the same cache directory reads
/// the precompiled artifact instead of compiling again.
#[tokio::test]
async fn second_load_uses_the_component_cache() -> anyhow::Result<()> {
    let spec = spec(&api_origin(), &servers().pdns_api_key)?;
    let size = std::fs::metadata(&spec.component)?.len();
    let started = Instant::now();
    let first = load_with_shared_cache(spec.clone())?;
    let first_time = started.elapsed();

    let started = Instant::now();
    let second = Sandbox::new(&shared_cache_dir())?.load(spec)?;
    let second_time = started.elapsed();
    println!(
        "powerdns-py ({size} bytes): first load {:?} in {first_time:?}, second load {:?} in \
         {second_time:?}",
        first.cache_status(),
        second.cache_status()
    );
    assert_eq!(second.cache_status(), CacheStatus::Hit);
    assert_eq!(first.sha256(), second.sha256());
    let artifacts: Vec<String> = std::fs::read_dir(shared_cache_dir())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(second.sha256()) && n.ends_with(".cwasm"))
        .collect();
    assert!(!artifacts.is_empty(), "no artifact in the cache");
    ensure_ok(
        &second
            .cleanup(&record(&unique("cached"), APEX_VALUE, None))
            .await,
    )?;
    Ok(())
}
