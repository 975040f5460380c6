//! Azure DNS (`guest-providers/azure`) against `standins/azure.py`, which serves both the
//! identity platform's token endpoint and the Resource Manager record-set API on one port, so
//! `api_url` alone (the token endpoint then follows its origin) points the provider at it.
//!
//! Beside the catalog checks: `describe` lists two real hosts (Resource Manager and the
//! identity platform), so it has a check of its own; two hosts presenting values at one name at
//! once both keep theirs thanks to `If-Match` and the retried round; neither the client secret
//! nor the access token shows in a failed call's report; `zone_name` skips the zone lookup.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use acmebox::sandbox::{ProviderError, ProviderSpec, Sandbox};
use acmebox_tests::catalog::{self, Case, ZONE};
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::standin::Standin;
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_hidden, ensure_ok, join_all, provider_error, record, sorted,
    unique,
};
use anyhow::{Context as _, ensure};

const TENANT: &str = "5f0c3a9e-catalog-tenant-7d21";
const CLIENT_ID: &str = "b7e4d2c1-catalog-client-9a30";
const CLIENT_SECRET: &str = "Qm8~catalog.client.secret.4e7f2a9c1b";
const SUBSCRIPTION: &str = "c3a1f7e2-catalog-subscription-55";
const RESOURCE_GROUP: &str = "dns-catalog-rg";
/// The scope the provider asks for (Resource Manager in the public cloud).
const SCOPE: &str = "https://management.azure.com/.default";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-azure",
        vendor: "azure",
        standin_options: vec![
            ("tenant", TENANT.to_owned()),
            ("client_id", CLIENT_ID.to_owned()),
            ("client_secret", CLIENT_SECRET.to_owned()),
            ("subscription", SUBSCRIPTION.to_owned()),
            ("resource_group", RESOURCE_GROUP.to_owned()),
        ],
        config: vec![
            ("tenant_id", TENANT.to_owned(), false),
            ("client_id", CLIENT_ID.to_owned(), false),
            ("client_secret", CLIENT_SECRET.to_owned(), true),
            ("subscription_id", SUBSCRIPTION.to_owned(), false),
            ("resource_group", RESOURCE_GROUP.to_owned(), false),
        ],
        api_path: "",
        // The token endpoint answers 401 invalid_client (AADSTS7000215).
        wrong_credentials: vec![("client_secret", "Qm8~wrong.client.secret".to_owned())],
        real_host: "https://management.azure.com",
        kit_exceptions: vec![],
    }
}

/// The case with a stand-in that holds each record-set read for 300 ms, so two
/// read-modify-write rounds started together both read the same state.
fn racy_case() -> Case {
    let mut case = case();
    case.standin_options
        .push(("read_delay_ms", "300".to_owned()));
    case
}

#[tokio::test]
async fn conformance() -> anyhow::Result<()> {
    catalog::conformance_passes(&case()).await
}

#[tokio::test]
async fn bad_credentials() -> anyhow::Result<()> {
    catalog::bad_credentials_are_unauthorized(&case()).await
}

#[tokio::test]
async fn rate_limited() -> anyhow::Result<()> {
    catalog::rate_limit_is_typed(&case()).await
}

#[tokio::test]
async fn unknown_zone() -> anyhow::Result<()> {
    catalog::unknown_zone_is_typed(&case()).await
}

/// `describe()`: without `api_url`, both real origins (Resource Manager and the identity
/// platform), or those of the `environment`; with `api_url` alone, its origin only; every key
/// described, `client_secret` secret, `api_url` and `authority_url` optional.
#[tokio::test]
async fn describe() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let dir = tempfile::tempdir()?;
    let sandbox = Sandbox::new(&dir.path().join("cache"))?;
    let hosts = |extra: &[(&str, &str)], api_url: bool| {
        let mut spec = ProviderSpec::new(case.vendor, provider(case.crate_name)?);
        spec.config = case.config_for(&standin, &[]);
        if !api_url {
            spec.config.remove("api_url");
        }
        for (key, value) in extra {
            spec.config.insert(
                (*key).to_owned(),
                acmebox::config::ConfigValue::Plain((*value).to_owned()),
            );
        }
        spec.allow = vec![
            danger(standin.origin()),
            "https://management.azure.com".to_owned(),
            "https://login.microsoftonline.com".to_owned(),
            "https://management.chinacloudapi.cn".to_owned(),
            "https://login.chinacloudapi.cn".to_owned(),
            "https://login.example.test".to_owned(),
        ];
        anyhow::Ok(sandbox.load(spec)?)
    };

    let info = hosts(&[], false)?.describe().await?;
    assert_eq!(
        info.hosts,
        [
            "https://management.azure.com",
            "https://login.microsoftonline.com"
        ]
    );
    for key in ["api_url", "authority_url", "zone_name", "environment"] {
        let described = info
            .config_keys
            .iter()
            .find(|k| k.name == key)
            .with_context(|| format!("no {key} config key"))?;
        ensure!(!described.required, "{key} must be optional");
    }
    for (key, _, secret) in &case.config {
        let described = info
            .config_keys
            .iter()
            .find(|k| k.name == *key)
            .with_context(|| format!("config key {key} is not described"))?;
        ensure!(
            described.secret == *secret,
            "config key {key}: secret is {}",
            described.secret
        );
        ensure!(described.required, "config key {key} must be required");
        ensure!(
            !described.description.is_empty(),
            "config key {key} has no description"
        );
    }

    let china = hosts(&[("environment", "china")], false)?
        .describe()
        .await?;
    assert_eq!(
        china.hosts,
        [
            "https://management.chinacloudapi.cn",
            "https://login.chinacloudapi.cn"
        ]
    );
    let own = hosts(&[], true)?.describe().await?;
    assert_eq!(own.hosts, [standin.origin()]);
    let split = hosts(&[("authority_url", "https://login.example.test/")], true)?
        .describe()
        .await?;
    assert_eq!(
        split.hosts,
        [standin.origin(), "https://login.example.test".to_owned()]
    );
    Ok(())
}

/// Two hosts (two sandboxes) present the apex and the wildcard value at one name at the same
/// moment; both read the set before either writes, one write is refused with 412 (its
/// `If-None-Match: *` or `If-Match` no longer holds) and its round runs again, so both values
/// stay. Both cleanups at once then leave nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_at_one_name_both_keep_their_values() -> anyhow::Result<()> {
    let case = racy_case();
    let standin = case.standin()?;
    let (first, _first_dir) = case.load(&standin, &[])?;
    let (second, _second_dir) = case.load(&standin, &[])?;
    let domain = unique("azure-race");
    let apex = record(&domain, APEX_VALUE, Some(ZONE));
    let wildcard = record(&domain, WILDCARD_VALUE, Some(ZONE));

    let reports = join_all([first.present(&apex), second.present(&wildcard)]).await;
    for report in &reports {
        ensure_ok(report)?;
    }
    assert_eq!(
        standin.txt(&apex.fqdn)?,
        sorted(&[APEX_VALUE, WILDCARD_VALUE])
    );
    let retried = reports
        .iter()
        .flat_map(|r| &r.logs)
        .any(|l| l.message.contains("answered 412; retrying"));
    ensure!(
        retried,
        "the writes did not collide, so the test showed nothing: {:?}",
        reports.iter().map(|r| &r.logs).collect::<Vec<_>>()
    );

    for report in join_all([first.cleanup(&apex), second.cleanup(&wildcard)]).await {
        ensure_ok(&report)?;
    }
    let left = standin.txt(&apex.fqdn)?;
    ensure!(left.is_empty(), "the stand-in still holds {left:?}");
    Ok(())
}

/// A call that fails after the token exchange (a resource group the subscription lacks, which
/// is `zone-not-found`) shows neither the client secret nor the access token it used.
#[tokio::test]
async fn failed_calls_hide_the_secret_and_the_token() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[("resource_group", "no-such-group".to_owned())])?;
    let report = loaded
        .present(&record(&unique("azure-hidden"), APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::ZoneNotFound(_))
        ),
        "expected zone-not-found, got {:?}; logs {:?}",
        report.error(),
        report.logs
    );
    // The stand-in hands a client the same token until it expires: this is the one the
    // provider held.
    let token = access_token(&standin)?;
    ensure!(
        token.split('.').count() == 3,
        "not a JWT: {} chars",
        token.len()
    );
    ensure_hidden(&report, &token)?;
    ensure_hidden(&report, CLIENT_SECRET)?;
    Ok(())
}

/// With `zone_name` set, the provider skips the zone list and works in that zone.
#[tokio::test]
async fn zone_name_skips_the_zone_lookup() -> anyhow::Result<()> {
    let mut case = case();
    case.config
        .push(("zone_name", "example.test".to_owned(), false));
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let apex = record(&unique("azure-zone-name"), APEX_VALUE, None);
    ensure_ok(&loaded.present(&apex).await)?;
    assert_eq!(standin.txt(&apex.fqdn)?, [APEX_VALUE]);
    ensure_ok(&loaded.cleanup(&apex).await)?;
    ensure!(standin.txt(&apex.fqdn)?.is_empty());
    let listed = standin
        .requests()?
        .into_iter()
        .filter(|r| r.ends_with("/dnsZones"))
        .count();
    ensure!(listed == 0, "the provider listed the zones {listed} times");
    Ok(())
}

/// The access token the stand-in hands this case's client, fetched the way the provider does.
fn access_token(standin: &Standin) -> anyhow::Result<String> {
    let body = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={}&scope={}",
        CLIENT_SECRET.replace('~', "%7E"),
        SCOPE.replace(':', "%3A").replace('/', "%2F")
    );
    let mut stream = TcpStream::connect(("127.0.0.1", standin.port()))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST /{TENANT}/oauth2/v2.0/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, payload) = answer
        .split_once("\r\n\r\n")
        .context("a token answer without a body")?;
    ensure!(
        head.starts_with("HTTP/1.1 200"),
        "the token endpoint answered {head}"
    );
    let json: serde_json::Value = serde_json::from_str(payload)?;
    json["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the answer")
}
