//! The PowerDNS provider written in Python (`guest-providers/powerdns-py`, built with
//! componentize-py) in the sandbox against the real PowerDNS: the same behaviour as the Rust
//! one, retries when PowerDNS answers 5xx, and a second load served from the component cache.
//!
//! Every test works under its own name (test name and process id) and removes what it created,
//! even when it fails.

use std::collections::BTreeMap;
use std::time::Instant;

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::Error;
use acmebox::sandbox::{
    CacheStatus, ProviderError, ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider,
};
use acmebox_tests::danger;
use acmebox_tests::guests::{load_with_shared_cache, python_provider, shared_cache_dir};
use acmebox_tests::http_server::TestServer;
use acmebox_tests::pdns::{self, RrsetCleanup};
use acmebox_tests::servers::servers;
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_ok, key_flags, provider_error, record, sorted, timings,
    unique,
};

fn spec(api_url: &str, api_key: &str) -> anyhow::Result<ProviderSpec> {
    let mut spec = ProviderSpec::new("pdns-py", python_provider("powerdns-py")?);
    spec.allow = vec![danger(api_url)];
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
    load_with_shared_cache(spec(&pdns::origin(), api_key)?)
}

#[tokio::test]
async fn apex_and_wildcard_values_coexist_and_leave_one_at_a_time() -> anyhow::Result<()> {
    let pdns = load(&servers().pdns_api_key)?;
    let domain = unique("coexist");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = RrsetCleanup(fqdn.clone());
    // The apex without a zone (found through GET /zones), the wildcard with one.
    let apex = record(&domain, APEX_VALUE, None);
    let wildcard = record(&domain, WILDCARD_VALUE, Some("example.test."));

    let report = pdns.present(&apex).await;
    ensure_ok(&report)?;
    let methods: Vec<_> = report.audit.iter().map(|a| a.method.as_str()).collect();
    assert_eq!(methods, ["GET", "GET", "PATCH"], "{:?}", report.audit);
    assert_eq!(pdns::txt_values(&fqdn)?, [APEX_VALUE]);
    assert_eq!(pdns::dns_txt_values(&fqdn)?, [APEX_VALUE]);

    ensure_ok(&pdns.present(&wildcard).await)?;
    let both = sorted(&[APEX_VALUE, WILDCARD_VALUE]);
    assert_eq!(pdns::txt_values(&fqdn)?, both);
    assert_eq!(pdns::dns_txt_values(&fqdn)?, both);

    // Presenting again changes nothing and makes no PATCH.
    let report = pdns.present(&wildcard).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report.audit.iter().all(|a| a.method == "GET"),
        "{:?}",
        report.audit
    );

    ensure_ok(&pdns.cleanup(&apex).await)?;
    assert_eq!(pdns::txt_values(&fqdn)?, [WILDCARD_VALUE]);
    assert_eq!(pdns::dns_txt_values(&fqdn)?, [WILDCARD_VALUE]);

    // Twice is fine; the second call finds nothing to remove.
    let report = pdns.cleanup(&apex).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report.audit.iter().all(|a| a.method == "GET"),
        "{:?}",
        report.audit
    );
    assert_eq!(pdns::txt_values(&fqdn)?, [WILDCARD_VALUE]);

    ensure_ok(&pdns.cleanup(&wildcard).await)?;
    assert!(pdns::txt_values(&fqdn)?.is_empty());
    assert!(pdns::dns_txt_values(&fqdn)?.is_empty());
    ensure_ok(&pdns.cleanup(&wildcard).await)?;
    Ok(())
}

#[tokio::test]
async fn cleanup_of_a_value_never_presented_succeeds() -> anyhow::Result<()> {
    let pdns = load(&servers().pdns_api_key)?;
    let domain = unique("never");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = RrsetCleanup(fqdn.clone());
    let report = pdns.cleanup(&record(&domain, APEX_VALUE, None)).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report.audit.iter().all(|a| a.method == "GET"),
        "{:?}",
        report.audit
    );
    assert!(pdns::txt_values(&fqdn)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn wrong_api_key_is_unauthorized() -> anyhow::Result<()> {
    let pdns = load("not-the-key")?;
    let domain = unique("badkey");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = RrsetCleanup(fqdn.clone());
    for zone in [None, Some("example.test.")] {
        let report = pdns.present(&record(&domain, APEX_VALUE, zone)).await;
        let error = report.error().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(
                provider_error(&report),
                Some(ProviderError::Unauthorized(_))
            ),
            "zone {zone:?}: {error}"
        );
        let everything = format!("{error} {:?} {:?}", report.logs, report.audit);
        assert!(!everything.contains("not-the-key"), "{everything}");
    }
    assert!(pdns::txt_values(&fqdn)?.is_empty());
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
                provider_error(&report),
                Some(ProviderError::ZoneNotFound(_))
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
    let _cleanups: Vec<RrsetCleanup> = domains
        .iter()
        .map(|d| RrsetCleanup(format!("_acme-challenge.{d}.")))
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
        assert_eq!(pdns::txt_values(&record.fqdn)?, [APEX_VALUE]);
        ensure_ok(&pdns.cleanup(record).await)?;
        assert!(pdns::txt_values(&record.fqdn)?.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn describe_lists_keys_and_the_granted_origin() -> anyhow::Result<()> {
    let pdns = load(&servers().pdns_api_key)?;
    let info = pdns.describe().await?;
    assert_eq!(info.name, "powerdns");
    assert_eq!(info.hosts, [pdns::origin()]);
    assert_eq!(timings(&info), (60, 2, false));
    assert_eq!(
        key_flags(&info),
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
    let spec = spec(&pdns::origin(), &servers().pdns_api_key)?;
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
