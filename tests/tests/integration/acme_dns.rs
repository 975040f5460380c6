//! The acme-dns provider (`guest-providers/acme-dns`) in the sandbox against a local stand-in
//! for an acme-dns server (`acmebox_tests::acme_dns_api`), which writes the values it keeps
//! through to the real PowerDNS under `acme-dns.example.test`: what the provider presents is
//! checked with real DNS queries, through the CNAME an acme-dns user sets up, and the request
//! it sent with what the stand-in received.
//!
//! Every test works under its own names (test name and process id); the stand-in removes every
//! rrset it wrote when the test ends, however it ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{
    Decision, ProviderError, ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider,
};
use acmebox_tests::acme_dns_api::{Account, AcmeDnsApi};
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::pdns::dns_txt_values;
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_hidden, ensure_ok, header, key_flags, provider_error, sorted,
};
use serde_json::{Value, json};

const PASSWORD: &str = "acme-dns-key-6tVqPz0Lw3Nc9Rk2Hs5Jx8Bd1Gf4Ym7a";
const THIRD_VALUE: &str = "Bq3Rt5Yu7Io9Pa1Sd3Fg5Hj7Kl9Zx1Cv3Bn5Mq7We9R";

/// A name no other test (in this process or another) uses, as a domain under `example.test`
/// and as an account's subdomain.
fn unique(test: &str) -> (String, String) {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let label = format!("{test}-{}-{n}", std::process::id());
    (format!("ad-{label}.example.test"), format!("sub-{label}"))
}

fn account(subdomain: &str) -> Account {
    Account {
        username: "5e2b7c1a-0f3d-4a8e-9b6c-2d4f6a8c0e1b".to_owned(),
        password: PASSWORD.to_owned(),
        subdomain: subdomain.to_owned(),
    }
}

fn record(domain: &str, value: &str) -> TxtRecord {
    TxtRecord {
        domain: domain.to_owned(),
        fqdn: format!("_acme-challenge.{domain}."),
        value: value.to_owned(),
        ttl: 60,
        zone: Some("example.test.".to_owned()),
    }
}

fn load(
    sandbox: &Sandbox,
    api: &AcmeDnsApi,
    allow: &[String],
    account: &Account,
) -> anyhow::Result<WasmDnsProvider> {
    let mut spec = ProviderSpec::new("acmedns", provider("acmebox-provider-acme-dns")?);
    spec.allow = allow.to_vec();
    spec.config = BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(api.origin())),
        (
            "username".to_owned(),
            ConfigValue::Plain(account.username.clone()),
        ),
        (
            "password".to_owned(),
            ConfigValue::Secret(Secret::new(&account.password)),
        ),
        (
            "subdomain".to_owned(),
            ConfigValue::Plain(account.subdomain.clone()),
        ),
    ]);
    Ok(sandbox.load(spec)?)
}

fn sandbox() -> anyhow::Result<(Sandbox, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    Ok((Sandbox::new(&dir.path().join("cache"))?, dir))
}

#[tokio::test]
async fn present_sends_the_documented_update_and_the_value_resolves() -> anyhow::Result<()> {
    let (domain, subdomain) = unique("present");
    let account = account(&subdomain);
    let api = AcmeDnsApi::start(std::slice::from_ref(&account)).await?;
    api.delegate(&domain, &subdomain).await?;
    let (sandbox, _dir) = sandbox()?;
    let acme_dns = load(&sandbox, &api, &[danger(api.origin())], &account)?;

    let report = acme_dns.present(&record(&domain, APEX_VALUE)).await;
    ensure_ok(&report)?;
    ensure_hidden(&report, PASSWORD)?;

    let received = api.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let update = &received[0];
    assert_eq!(
        (update.method.as_str(), update.target.as_str()),
        ("POST", "/update")
    );
    assert_eq!(
        header(update, "x-api-user"),
        Some(account.username.as_str())
    );
    assert_eq!(header(update, "x-api-key"), Some(PASSWORD));
    assert_eq!(header(update, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&update.body)?;
    assert_eq!(body, json!({ "subdomain": subdomain, "txt": APEX_VALUE }));

    // At the acme-dns name, and through the CNAME ACME servers follow.
    assert_eq!(dns_txt_values(&AcmeDnsApi::fqdn(&subdomain))?, [APEX_VALUE]);
    assert_eq!(
        dns_txt_values(&format!("_acme-challenge.{domain}."))?,
        [APEX_VALUE]
    );
    Ok(())
}

#[tokio::test]
async fn the_two_latest_values_stay_and_cleanup_changes_nothing() -> anyhow::Result<()> {
    let (domain, subdomain) = unique("latest");
    let account = account(&subdomain);
    let api = AcmeDnsApi::start(std::slice::from_ref(&account)).await?;
    let (sandbox, _dir) = sandbox()?;
    let acme_dns = load(&sandbox, &api, &[danger(api.origin())], &account)?;
    let fqdn = AcmeDnsApi::fqdn(&subdomain);

    // A cleanup before anything was presented succeeds and asks nothing.
    let report = acme_dns.cleanup(&record(&domain, APEX_VALUE)).await;
    ensure_ok(&report)?;
    assert!(report.audit.is_empty(), "{:?}", report.audit);
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.message.contains("acme-dns has no delete")),
        "{:?}",
        report.logs
    );

    // The apex and the wildcard coexist.
    ensure_ok(&acme_dns.present(&record(&domain, APEX_VALUE)).await)?;
    ensure_ok(&acme_dns.present(&record(&domain, WILDCARD_VALUE)).await)?;
    assert_eq!(
        dns_txt_values(&fqdn)?,
        sorted(&[APEX_VALUE, WILDCARD_VALUE])
    );

    // Cleanup makes no request and leaves both values, once or twice.
    for _ in 0..2 {
        let report = acme_dns.cleanup(&record(&domain, APEX_VALUE)).await;
        ensure_ok(&report)?;
        assert!(report.audit.is_empty(), "{:?}", report.audit);
    }
    assert_eq!(api.received().len(), 2);
    assert_eq!(
        dns_txt_values(&fqdn)?,
        sorted(&[APEX_VALUE, WILDCARD_VALUE])
    );

    // A third value pushes the oldest out, as acme-dns does.
    ensure_ok(&acme_dns.present(&record(&domain, THIRD_VALUE)).await)?;
    assert_eq!(api.values(&subdomain).await, [WILDCARD_VALUE, THIRD_VALUE]);
    assert_eq!(
        dns_txt_values(&fqdn)?,
        sorted(&[WILDCARD_VALUE, THIRD_VALUE])
    );
    Ok(())
}

#[tokio::test]
async fn values_of_another_length_are_refused_before_any_request() -> anyhow::Result<()> {
    let (domain, subdomain) = unique("length");
    let account = account(&subdomain);
    let api = AcmeDnsApi::start(std::slice::from_ref(&account)).await?;
    let (sandbox, _dir) = sandbox()?;
    let acme_dns = load(&sandbox, &api, &[danger(api.origin())], &account)?;
    for (value, length) in [("short", 5), (&format!("{APEX_VALUE}A") as &str, 44)] {
        let report = acme_dns.present(&record(&domain, value)).await;
        let error = report.error().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(provider_error(&report), Some(ProviderError::Other(_))),
            "{error}"
        );
        assert!(
            error.contains(&format!(
                "invalid record: acme-dns takes only DNS-01 values of exactly 43 characters, \
                 and the value for _acme-challenge.{domain}. has {length}"
            )),
            "{error}"
        );
        assert!(report.audit.is_empty(), "{:?}", report.audit);
    }
    assert!(api.received().is_empty());
    assert!(dns_txt_values(&AcmeDnsApi::fqdn(&subdomain))?.is_empty());
    Ok(())
}

/// The stand-in itself answers a wrong-length value as acme-dns does: 400 `bad_txt`.
#[tokio::test]
async fn stand_in_answers_bad_txt_like_acme_dns() -> anyhow::Result<()> {
    let (_, subdomain) = unique("badtxt");
    let account = account(&subdomain);
    let api = AcmeDnsApi::start(std::slice::from_ref(&account)).await?;
    let post = |txt: &str, key: &str| {
        let body = json!({ "subdomain": subdomain, "txt": txt }).to_string();
        let mut curl = tokio::process::Command::new("curl");
        curl.args(["-sS", "--max-time", "10", "-w", " %{http_code}"])
            .args(["-H", &format!("X-Api-User: {}", account.username)])
            .args(["-H", &format!("X-Api-Key: {key}")])
            .args(["--data-binary", &body])
            .arg(format!("{}/update", api.origin()));
        async move {
            let out = curl.output().await?;
            anyhow::Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        }
    };
    assert_eq!(post("short", PASSWORD).await?, r#"{"error":"bad_txt"} 400"#);
    assert_eq!(
        post(APEX_VALUE, "wrong").await?,
        r#"{"error":"forbidden"} 401"#
    );
    assert!(api.values(&subdomain).await.is_empty());
    Ok(())
}

#[tokio::test]
async fn wrong_password_or_subdomain_is_unauthorized() -> anyhow::Result<()> {
    let (domain, subdomain) = unique("badkey");
    let account = account(&subdomain);
    let api = AcmeDnsApi::start(std::slice::from_ref(&account)).await?;
    let (sandbox, _dir) = sandbox()?;
    let wrong_password = Account {
        password: "not-the-acme-dns-key".to_owned(),
        ..account.clone()
    };
    let wrong_subdomain = Account {
        subdomain: format!("{subdomain}-other"),
        ..account.clone()
    };
    for (wrong, secret) in [
        (&wrong_password, "not-the-acme-dns-key"),
        (&wrong_subdomain, PASSWORD),
    ] {
        let acme_dns = load(&sandbox, &api, &[danger(api.origin())], wrong)?;
        let report = acme_dns.present(&record(&domain, APEX_VALUE)).await;
        let error = report.error().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(
                provider_error(&report),
                Some(ProviderError::Unauthorized(_))
            ),
            "{error}"
        );
        assert!(error.contains("forbidden"), "{error}");
        ensure_hidden(&report, secret)?;
    }
    assert_eq!(api.received().len(), 2);
    assert!(api.values(&subdomain).await.is_empty());
    assert!(dns_txt_values(&AcmeDnsApi::fqdn(&subdomain))?.is_empty());
    Ok(())
}

#[tokio::test]
async fn grant_without_the_api_origin_is_denied() -> anyhow::Result<()> {
    let (domain, subdomain) = unique("denied");
    let account = account(&subdomain);
    let api = AcmeDnsApi::start(std::slice::from_ref(&account)).await?;
    let (sandbox, _dir) = sandbox()?;
    let acme_dns = load(
        &sandbox,
        &api,
        &["https://auth.acme-dns.io".to_owned()],
        &account,
    )?;
    let report = acme_dns.present(&record(&domain, APEX_VALUE)).await;
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
    ensure_hidden(&report, PASSWORD)?;
    assert!(api.received().is_empty());
    Ok(())
}

#[tokio::test]
async fn describe_lists_keys_and_the_granted_origin() -> anyhow::Result<()> {
    let (_, subdomain) = unique("describe");
    let account = account(&subdomain);
    let api = AcmeDnsApi::start(std::slice::from_ref(&account)).await?;
    let (sandbox, _dir) = sandbox()?;
    let acme_dns = load(&sandbox, &api, &[danger(api.origin())], &account)?;
    let info = acme_dns.describe().await?;
    assert_eq!(info.name, "acme-dns");
    assert_eq!(info.hosts, [api.origin()]);
    assert_eq!(
        key_flags(&info),
        [
            ("api_url", true, false),
            ("username", true, false),
            ("password", true, true),
            ("subdomain", true, false)
        ]
    );
    let (info, _) = sandbox
        .inspect(&provider("acmebox-provider-acme-dns")?)
        .await?;
    assert!(info.hosts.is_empty(), "{:?}", info.hosts);
    Ok(())
}
