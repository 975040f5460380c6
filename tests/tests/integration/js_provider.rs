//! The httpreq provider written in JavaScript (`guest-providers/httpreq-js`, built with
//! componentize-js) in the sandbox: its `fetch` goes out through `wasi:http` to a test
//! endpoint that writes the values into the real PowerDNS; the request bodies, basic auth and
//! error mapping are checked, and a second load is served from the component cache.

use std::collections::BTreeMap;
use std::time::Instant;

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::Error;
use acmebox::sandbox::{CacheStatus, Decision, ProviderError, ProviderSpec, Sandbox, TxtRecord};
use acmebox_tests::danger;
use acmebox_tests::guests::{js_provider, load_with_shared_cache, shared_cache_dir};
use acmebox_tests::http_server::TestServer;
use acmebox_tests::httpreq_endpoint::{HttpreqEndpoint, basic_auth};
use acmebox_tests::pdns::{self, RrsetCleanup};
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_hidden, ensure_ok, header, key_flags, provider_error,
    sorted, timings, unique,
};
use serde_json::{Value, json};

const USER: &str = "acme";
const PASSWORD: &str = "pw-9f8e7d6c5b4a";

fn record(domain: &str, value: &str) -> TxtRecord {
    TxtRecord {
        domain: domain.to_owned(),
        fqdn: format!("_acme-challenge.{domain}."),
        value: value.to_owned(),
        ttl: 60,
        zone: Some("example.test.".to_owned()),
    }
}

/// The provider granted `allow`, with `endpoint` and the other config keys given.
fn spec(
    allow: &str,
    endpoint: &str,
    extra: &[(&str, ConfigValue)],
) -> anyhow::Result<ProviderSpec> {
    let mut spec = ProviderSpec::new("httpreq", js_provider("httpreq-js")?);
    spec.allow = vec![allow.to_owned()];
    spec.config = BTreeMap::from([(
        "endpoint".to_owned(),
        ConfigValue::Plain(endpoint.to_owned()),
    )]);
    for (key, value) in extra {
        spec.config.insert((*key).to_owned(), value.clone());
    }
    Ok(spec)
}

fn credentials(password: &str) -> [(&'static str, ConfigValue); 2] {
    [
        ("username", ConfigValue::Plain(USER.to_owned())),
        ("password", ConfigValue::Secret(Secret::new(password))),
    ]
}

#[tokio::test]
async fn present_and_cleanup_reach_powerdns_through_the_endpoint() -> anyhow::Result<()> {
    let endpoint = HttpreqEndpoint::start(Some((USER, PASSWORD))).await?;
    let origin = endpoint.origin();
    // A base path and a trailing slash: the provider appends `present` and `cleanup`.
    let provider = load_with_shared_cache(spec(
        &danger(&origin),
        &format!("{origin}/hook/"),
        &credentials(PASSWORD),
    )?)?;
    let domain = unique("roundtrip");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = RrsetCleanup(fqdn.clone());
    let apex = record(&domain, APEX_VALUE);
    let wildcard = record(&domain, WILDCARD_VALUE);

    let report = provider.present(&apex).await;
    ensure_ok(&report)?;
    ensure_hidden(&report, PASSWORD)?;
    assert_eq!(report.audit.len(), 1, "{:?}", report.audit);
    assert_eq!(
        (report.audit[0].decision, report.audit[0].status),
        (Decision::Allowed, Some(200))
    );
    assert_eq!(pdns::txt_values(&fqdn)?, [APEX_VALUE]);

    ensure_ok(&provider.present(&wildcard).await)?;
    assert_eq!(
        pdns::txt_values(&fqdn)?,
        sorted(&[APEX_VALUE, WILDCARD_VALUE])
    );

    let report = provider.cleanup(&apex).await;
    ensure_ok(&report)?;
    ensure_hidden(&report, PASSWORD)?;
    assert_eq!(pdns::txt_values(&fqdn)?, [WILDCARD_VALUE]);
    ensure_ok(&provider.cleanup(&wildcard).await)?;
    assert!(pdns::txt_values(&fqdn)?.is_empty());

    let received = endpoint.received();
    let calls: Vec<(&str, &str)> = received
        .iter()
        .map(|r| (r.method.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "/hook/present"),
            ("POST", "/hook/present"),
            ("POST", "/hook/cleanup"),
            ("POST", "/hook/cleanup"),
        ]
    );
    let values = [APEX_VALUE, WILDCARD_VALUE, APEX_VALUE, WILDCARD_VALUE];
    for (request, value) in received.iter().zip(values) {
        let body: Value = serde_json::from_slice(&request.body)?;
        assert_eq!(body, json!({ "fqdn": fqdn, "value": value }));
        let expected_auth = basic_auth(USER, PASSWORD);
        assert_eq!(
            header(request, "authorization"),
            Some(expected_auth.as_str())
        );
        assert_eq!(header(request, "content-type"), Some("application/json"));
    }
    Ok(())
}

#[tokio::test]
async fn rejected_credentials_are_unauthorized() -> anyhow::Result<()> {
    let endpoint = HttpreqEndpoint::start(Some((USER, PASSWORD))).await?;
    let origin = endpoint.origin();
    let wrong = "pw-not-the-right-one";
    let provider = load_with_shared_cache(spec(&danger(&origin), &origin, &credentials(wrong))?)?;
    let domain = unique("badauth");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = RrsetCleanup(fqdn.clone());
    let report = provider.present(&record(&domain, APEX_VALUE)).await;
    let error = report.error().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(
            provider_error(&report),
            Some(ProviderError::Unauthorized(_))
        ),
        "{error}"
    );
    assert!(error.contains("401"), "{error}");
    ensure_hidden(&report, wrong)?;
    assert_eq!(report.audit[0].status, Some(401));
    assert!(pdns::txt_values(&fqdn)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn other_statuses_are_api_errors_with_the_start_of_the_body() -> anyhow::Result<()> {
    let body = format!("the hook failed: {}", "x".repeat(1000));
    let server = TestServer::start(500, body.as_str()).await?;
    let provider = load_with_shared_cache(spec(&danger(server.origin()), &server.origin(), &[])?)?;
    let report = provider
        .cleanup(&record("status.example.test", APEX_VALUE))
        .await;
    match report.error() {
        Some(Error::ProviderFailed {
            error: ProviderError::Api { status, message },
            ..
        }) => {
            assert_eq!(*status, 500);
            assert!(message.starts_with("the hook failed: xxx"), "{message}");
            assert!(message.len() < 400, "{message}");
        }
        other => panic!("{:?}", other.map(ToString::to_string)),
    }
    // Without credentials there is no authorization header.
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(header(&received[0], "authorization"), None);
    assert_eq!(received[0].target, "/cleanup");
    Ok(())
}

#[tokio::test]
async fn raw_mode_is_invalid_config() -> anyhow::Result<()> {
    let endpoint = HttpreqEndpoint::start(None).await?;
    let origin = endpoint.origin();
    let provider = load_with_shared_cache(spec(
        &danger(&origin),
        &origin,
        &[("mode", ConfigValue::Plain("RAW".to_owned()))],
    )?)?;
    let report = provider
        .present(&record("raw.example.test", APEX_VALUE))
        .await;
    let error = report.error().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(
            provider_error(&report),
            Some(ProviderError::InvalidConfig(_))
        ),
        "{error}"
    );
    assert!(
        error.contains("raw mode needs the ACME token and key authorization"),
        "{error}"
    );
    assert!(report.audit.is_empty(), "{:?}", report.audit);
    assert!(endpoint.received().is_empty());
    Ok(())
}

/// `fetch` goes through the host's egress policy: an endpoint outside the grant is refused,
/// and the provider sees a transport error.
#[tokio::test]
async fn endpoint_outside_the_grant_is_denied() -> anyhow::Result<()> {
    let endpoint = HttpreqEndpoint::start(None).await?;
    let provider =
        load_with_shared_cache(spec("https://dns.example.com", &endpoint.origin(), &[])?)?;
    let report = provider
        .present(&record("denied.example.test", APEX_VALUE))
        .await;
    let error = report.error().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(provider_error(&report), Some(ProviderError::Transport(_))),
        "{error}"
    );
    assert_eq!(report.audit.len(), 1, "{:?}", report.audit);
    assert_eq!(report.audit[0].decision, Decision::Denied);
    assert!(endpoint.received().is_empty());
    Ok(())
}

#[tokio::test]
async fn describe_lists_keys_and_the_endpoint_origin() -> anyhow::Result<()> {
    let provider = load_with_shared_cache(spec(
        "danger:http://127.0.0.1:9",
        "http://127.0.0.1:9/acme/",
        &credentials(PASSWORD),
    )?)?;
    let info = provider.describe().await?;
    assert_eq!(info.name, "httpreq");
    assert_eq!(info.hosts, ["http://127.0.0.1:9"]);
    assert_eq!(timings(&info), (60, 2, false));
    assert_eq!(
        key_flags(&info),
        [
            ("endpoint", true, false),
            ("mode", false, false),
            ("username", false, false),
            ("password", false, true)
        ]
    );
    Ok(())
}

/// A second load of the 13 MB component in a fresh sandbox with the same cache directory reads
/// the precompiled artifact instead of compiling again.
#[tokio::test]
async fn second_load_uses_the_component_cache() -> anyhow::Result<()> {
    let spec = spec("danger:http://127.0.0.1:9", "http://127.0.0.1:9", &[])?;
    let size = std::fs::metadata(&spec.component)?.len();
    let started = Instant::now();
    let first = load_with_shared_cache(spec.clone())?;
    let first_time = started.elapsed();

    let started = Instant::now();
    let second = Sandbox::new(&shared_cache_dir())?.load(spec)?;
    let second_time = started.elapsed();
    println!(
        "httpreq-js ({size} bytes): first load {:?} in {first_time:?}, second load {:?} in \
         {second_time:?}",
        first.cache_status(),
        second.cache_status()
    );
    assert_eq!(second.cache_status(), CacheStatus::Hit);
    assert_eq!(first.sha256(), second.sha256());
    let artifacts = std::fs::read_dir(shared_cache_dir())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(second.sha256()) && n.ends_with(".cwasm"))
        .count();
    assert!(artifacts > 0, "no artifact in the cache");
    assert_eq!(second.describe().await?.name, "httpreq");
    Ok(())
}
