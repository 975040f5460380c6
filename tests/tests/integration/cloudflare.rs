//! The Cloudflare provider (`guest-providers/cloudflare`) in the sandbox against a local
//! stand-in for the Cloudflare API v4 (`acmebox_tests::cloudflare_api`), which writes its TXT
//! records through to the real PowerDNS: what the provider presents is checked with real DNS
//! queries, and the requests it made with what the stand-in received.
//!
//! Every test works under its own name (test name and process id); the stand-in removes every
//! rrset it wrote when the test ends, however it ends.

use std::collections::BTreeMap;

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{Decision, ProviderError, ProviderSpec, Sandbox, WasmDnsProvider};
use acmebox_tests::cloudflare_api::CloudflareApi;
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::http_server::Received;
use acmebox_tests::pdns::dns_txt_values;
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_hidden, ensure_ok, header, key_flags, provider_error,
    record, sorted, unique,
};
use serde_json::{Value, json};

const TOKEN: &str = "cf-test-token-Yq2vN8sKd41LmWx7";

/// The provider, configured for `api` with `token`, granted `allow`.
fn load(
    sandbox: &Sandbox,
    api: &CloudflareApi,
    allow: &[String],
    token: &str,
    zone_id: Option<&str>,
) -> anyhow::Result<WasmDnsProvider> {
    let mut spec = ProviderSpec::new("cf", provider("acmebox-provider-cloudflare")?);
    spec.allow = allow.to_vec();
    spec.config = BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(api.api_url())),
        (
            "api_token".to_owned(),
            ConfigValue::Secret(Secret::new(token)),
        ),
    ]);
    if let Some(id) = zone_id {
        spec.config
            .insert("zone_id".to_owned(), ConfigValue::Plain(id.to_owned()));
    }
    Ok(sandbox.load(spec)?)
}

fn sandbox() -> anyhow::Result<(Sandbox, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    Ok((Sandbox::new(&dir.path().join("cache"))?, dir))
}

/// The received requests from `from` on, as `METHOD target`.
fn lines(received: &[Received], from: usize) -> Vec<String> {
    received[from..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect()
}

#[tokio::test]
async fn apex_and_wildcard_values_coexist_and_leave_one_at_a_time() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let cf = load(&sandbox, &api, &[danger(api.origin())], TOKEN, None)?;
    let domain = unique("coexist");
    let name = format!("_acme-challenge.{domain}");
    let fqdn = format!("{name}.");
    let zone_id = api.zone_id().to_owned();
    // The apex without a zone (found by walking up the name), the wildcard with one.
    let apex = record(&domain, APEX_VALUE, None);
    let wildcard = record(&domain, WILDCARD_VALUE, Some("example.test."));

    let report = cf.present(&apex).await;
    ensure_ok(&report)?;
    ensure_hidden(&report, TOKEN)?;
    let received = api.received();
    assert_eq!(
        lines(&received, 0),
        [
            format!("GET /client/v4/zones?name={name}"),
            format!("GET /client/v4/zones?name={domain}"),
            "GET /client/v4/zones?name=example.test".to_owned(),
            format!("POST /client/v4/zones/{zone_id}/dns_records"),
        ]
    );
    let authorization = format!("Bearer {TOKEN}");
    for request in &received {
        assert_eq!(
            header(request, "authorization"),
            Some(authorization.as_str())
        );
    }
    let post = &received[3];
    assert_eq!(header(post, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&post.body)?;
    assert_eq!(
        body,
        json!({ "type": "TXT", "name": name, "content": APEX_VALUE, "ttl": 60 })
    );
    assert_eq!(dns_txt_values(&fqdn)?, [APEX_VALUE]);

    let before = api.received().len();
    ensure_ok(&cf.present(&wildcard).await)?;
    assert_eq!(
        lines(&api.received(), before),
        [
            "GET /client/v4/zones?name=example.test".to_owned(),
            format!("POST /client/v4/zones/{zone_id}/dns_records"),
        ]
    );
    let both = sorted(&[APEX_VALUE, WILDCARD_VALUE]);
    assert_eq!(dns_txt_values(&fqdn)?, both);

    // Presenting again is success: Cloudflare refuses the duplicate with 81058.
    let report = cf.present(&wildcard).await;
    ensure_ok(&report)?;
    let post = report.audit.last().map(|a| (a.method.as_str(), a.status));
    assert_eq!(post, Some(("POST", Some(400))), "{:?}", report.audit);
    assert_eq!(api.txt_contents(&name).await.len(), 2);
    assert_eq!(dns_txt_values(&fqdn)?, both);

    let before = api.received().len();
    ensure_ok(&cf.cleanup(&apex).await)?;
    let cleanup = lines(&api.received(), before);
    assert_eq!(cleanup.len(), 5, "{cleanup:?}");
    assert_eq!(
        cleanup[3],
        format!(
            "GET /client/v4/zones/{zone_id}/dns_records?type=TXT&name={name}&content={APEX_VALUE}"
        )
    );
    assert!(
        cleanup[4].starts_with(&format!("DELETE /client/v4/zones/{zone_id}/dns_records/")),
        "{cleanup:?}"
    );
    assert_eq!(dns_txt_values(&fqdn)?, [WILDCARD_VALUE]);

    // Twice is fine; the second call finds nothing to delete.
    let before = api.received().len();
    ensure_ok(&cf.cleanup(&apex).await)?;
    let again = api.received();
    assert!(
        again[before..].iter().all(|r| r.method == "GET"),
        "{again:?}"
    );
    assert_eq!(dns_txt_values(&fqdn)?, [WILDCARD_VALUE]);

    ensure_ok(&cf.cleanup(&wildcard).await)?;
    assert!(dns_txt_values(&fqdn)?.is_empty());
    assert!(api.txt_contents(&name).await.is_empty());
    ensure_ok(&cf.cleanup(&wildcard).await)?;
    Ok(())
}

#[tokio::test]
async fn cleanup_of_a_value_never_presented_succeeds() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let cf = load(&sandbox, &api, &[danger(api.origin())], TOKEN, None)?;
    let domain = unique("never");
    let report = cf.cleanup(&record(&domain, APEX_VALUE, None)).await;
    ensure_ok(&report)?;
    ensure_hidden(&report, TOKEN)?;
    let received = api.received();
    assert!(
        received.iter().all(|r| r.method == "GET"),
        "{:?}",
        lines(&received, 0)
    );
    assert!(dns_txt_values(&format!("_acme-challenge.{domain}."))?.is_empty());
    Ok(())
}

#[tokio::test]
async fn configured_zone_id_skips_the_zone_lookup() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let cf = load(
        &sandbox,
        &api,
        &[danger(api.origin())],
        TOKEN,
        Some(api.zone_id()),
    )?;
    let domain = unique("zoneid");
    let fqdn = format!("_acme-challenge.{domain}.");
    let apex = record(&domain, APEX_VALUE, None);
    ensure_ok(&cf.present(&apex).await)?;
    assert_eq!(dns_txt_values(&fqdn)?, [APEX_VALUE]);
    ensure_ok(&cf.cleanup(&apex).await)?;
    assert!(dns_txt_values(&fqdn)?.is_empty());
    let received = api.received();
    assert!(
        received.iter().all(|r| !r.target.contains("/zones?")),
        "{:?}",
        lines(&received, 0)
    );
    assert_eq!(received.len(), 3, "{:?}", lines(&received, 0));
    Ok(())
}

#[tokio::test]
async fn wrong_token_is_unauthorized() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let wrong = "not-the-cf-token-3QpZ";
    let domain = unique("badtoken");
    for zone_id in [None, Some(api.zone_id())] {
        let cf = load(&sandbox, &api, &[danger(api.origin())], wrong, zone_id)?;
        for report in [
            cf.present(&record(&domain, APEX_VALUE, None)).await,
            cf.cleanup(&record(&domain, APEX_VALUE, None)).await,
        ] {
            let error = report.error().map(ToString::to_string).unwrap_or_default();
            assert!(
                matches!(
                    provider_error(&report),
                    Some(ProviderError::Unauthorized(_))
                ),
                "zone id {zone_id:?}: {error}"
            );
            assert!(error.contains("Authentication error"), "{error}");
            ensure_hidden(&report, wrong)?;
        }
    }
    assert!(dns_txt_values(&format!("_acme-challenge.{domain}."))?.is_empty());
    Ok(())
}

#[tokio::test]
async fn refusals_are_api_errors_with_cloudflare_messages() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let unknown = "0123456789abcdef0123456789abcdef";
    let cf = load(
        &sandbox,
        &api,
        &[danger(api.origin())],
        TOKEN,
        Some(unknown),
    )?;
    let domain = unique("refused");
    for report in [
        cf.present(&record(&domain, APEX_VALUE, None)).await,
        cf.cleanup(&record(&domain, APEX_VALUE, None)).await,
    ] {
        let error = report.error().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(
                provider_error(&report),
                Some(ProviderError::Api { status: 400, .. })
            ),
            "{error}"
        );
        assert!(
            error.contains(&format!(
                "Could not route to /zones/{unknown}/dns_records, perhaps your object \
                 identifier is invalid? (code 7003); No route for that URI (code 7000)"
            )),
            "{error}"
        );
    }
    Ok(())
}

/// Cloudflare takes a name outside the zone as relative to it: with a `zone_id` that is not
/// the record's zone, the provider deletes what was created and says to check `zone_id`.
#[tokio::test]
async fn a_record_outside_the_configured_zone_is_undone() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let cf = load(
        &sandbox,
        &api,
        &[danger(api.origin())],
        TOKEN,
        Some(api.zone_id()),
    )?;
    let report = cf
        .present(&record("outside.invalid", APEX_VALUE, None))
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
        error.contains(
            "Cloudflare created the record at _acme-challenge.outside.invalid.example.test \
             rather than _acme-challenge.outside.invalid"
        ),
        "{error}"
    );
    assert!(error.contains("it was deleted again"), "{error}");
    let methods: Vec<_> = report.audit.iter().map(|a| a.method.as_str()).collect();
    assert_eq!(methods, ["POST", "DELETE"]);
    let misplaced = "_acme-challenge.outside.invalid.example.test";
    assert!(api.txt_contents(misplaced).await.is_empty());
    assert!(dns_txt_values(&format!("{misplaced}."))?.is_empty());
    Ok(())
}

#[tokio::test]
async fn unknown_zone_is_zone_not_found() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let cf = load(&sandbox, &api, &[danger(api.origin())], TOKEN, None)?;
    for zone in [None, Some("nowhere.test.")] {
        let report = cf
            .present(&record("a.nowhere.test", APEX_VALUE, zone))
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
    assert!(api.received().iter().all(|r| r.method == "GET"));
    Ok(())
}

#[tokio::test]
async fn grant_without_the_api_origin_is_denied() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let cf = load(
        &sandbox,
        &api,
        &["https://api.cloudflare.com".to_owned()],
        TOKEN,
        None,
    )?;
    let domain = unique("denied");
    let report = cf.present(&record(&domain, APEX_VALUE, None)).await;
    let error = report.error().map(ToString::to_string).unwrap_or_default();
    assert!(
        error.contains(&format!(
            "is not in its allow list; add `danger:{}` to `allow` if that is intended",
            api.origin()
        )),
        "{error}"
    );
    assert!(
        matches!(provider_error(&report), Some(ProviderError::Transport(_))),
        "{error}"
    );
    assert_eq!(report.audit.len(), 1, "{:?}", report.audit);
    assert_eq!(report.audit[0].decision, Decision::Denied);
    ensure_hidden(&report, TOKEN)?;
    assert!(api.received().is_empty());
    assert!(dns_txt_values(&format!("_acme-challenge.{domain}."))?.is_empty());
    Ok(())
}

#[tokio::test]
async fn describe_lists_keys_and_the_api_origin() -> anyhow::Result<()> {
    let api = CloudflareApi::start(TOKEN).await?;
    let (sandbox, _dir) = sandbox()?;
    let cf = load(&sandbox, &api, &[danger(api.origin())], TOKEN, None)?;
    let info = cf.describe().await?;
    assert_eq!(info.name, "cloudflare");
    assert_eq!(info.hosts, [api.origin()]);
    assert_eq!(
        key_flags(&info),
        [
            ("api_token", true, true),
            ("api_url", false, false),
            ("zone_id", false, false)
        ]
    );
    // Without config it asks for Cloudflare's own API.
    let (info, _) = sandbox
        .inspect(&provider("acmebox-provider-cloudflare")?)
        .await?;
    assert_eq!(info.hosts, ["https://api.cloudflare.com"]);
    assert!(api.received().is_empty());
    Ok(())
}
