//! Google Cloud DNS (`guest-providers/gcloud`) against `standins/gcloud.py`.
//!
//! The provider gets its token endpoint from the service-account key's `token_uri`, which must
//! point at the stand-in's port, known only once it runs: so these tests build the key per
//! stand-in and run the catalog's checks through [`load`] instead of `Case::load`. The key is
//! RFC 7515 Appendix A.2's published RSA key (`tests/standins/keys`), never a real one.

use acmebox::config::{ConfigValue, Secret};
use acmebox::conformance;
use acmebox::sandbox::{ProviderError, ProviderSpec, Sandbox, WasmDnsProvider};
use acmebox_tests::catalog::{self, Case, ZONE};
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::standin::Standin;
use acmebox_tests::support::{APEX_VALUE, ensure_hidden, provider_error, record, unique};
use anyhow::{Context as _, ensure};

const CLIENT_EMAIL: &str = "acmebox-dns@acmebox-test.iam.gserviceaccount.com";
const PROJECT: &str = "acmebox-test";
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The access token the stand-in issues, which no report may show.
const ACCESS_TOKEN: &str = "ya29.catalog-access-token-5e0c71d2a9";
const TEST_KEY: &str = include_str!("../../../standins/keys/gcloud-test-key.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../../../standins/keys/gcloud-test-key.pub.pem");
const WRONG_KEY: &str = include_str!("../../../standins/keys/gcloud-wrong-key.pem");

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-gcloud",
        vendor: "gcloud",
        standin_options: vec![
            ("client_email", CLIENT_EMAIL.to_owned()),
            ("public_key", TEST_PUBLIC_KEY.to_owned()),
            ("access_token", ACCESS_TOKEN.to_owned()),
        ],
        config: vec![
            (
                "service_account_key",
                key_json(TEST_KEY, GOOGLE_TOKEN_URI),
                true,
            ),
            ("project", PROJECT.to_owned(), false),
        ],
        api_path: "",
        wrong_credentials: vec![],
        real_host: "https://dns.googleapis.com",
        kit_exceptions: vec![],
    }
}

/// A service-account JSON key holding `private_key`, its `token_uri` set.
fn key_json(private_key: &str, token_uri: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "standin-key-1",
        "private_key": private_key,
        "client_email": CLIENT_EMAIL,
        "client_id": "1",
        "token_uri": token_uri,
    })
    .to_string()
}

/// The provider configured for `standin`, with a key holding `private_key` whose `token_uri`
/// is the stand-in's token endpoint.
fn load(
    case: &Case,
    standin: &Standin,
    private_key: &str,
) -> anyhow::Result<(WasmDnsProvider, tempfile::TempDir)> {
    let mut spec = ProviderSpec::new(case.vendor, provider(case.crate_name)?);
    spec.allow = vec![danger(standin.origin())];
    spec.config = case.config_for(standin, &[]);
    let token_uri = format!("{}/token", standin.origin());
    spec.config.insert(
        "service_account_key".to_owned(),
        ConfigValue::Secret(Secret::new(key_json(private_key, &token_uri))),
    );
    let dir = tempfile::tempdir()?;
    let loaded = Sandbox::new(&dir.path().join("cache"))?.load(spec)?;
    Ok((loaded, dir))
}

/// A line from the middle of a PEM key: base64 no message would hold by chance.
fn key_line(pem: &str) -> &str {
    pem.lines().nth(5).unwrap_or(pem)
}

#[tokio::test]
async fn conformance() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = load(&case, &standin, TEST_KEY)?;
    let domain = unique(case.vendor);
    let report = conformance::run(&loaded, &catalog::kit_options(&domain)).await?;
    catalog::assert_outcomes(&report, &case.kit_exceptions);
    let left = standin.txt(&format!("_acme-challenge.{domain}"))?;
    ensure!(left.is_empty(), "the stand-in still holds {left:?}");
    let requests = standin.requests()?;
    ensure!(
        requests.first().map(String::as_str) == Some("POST /token"),
        "the first request was not the token exchange: {requests:?}"
    );
    Ok(())
}

#[tokio::test]
async fn bad_credentials() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = load(&case, &standin, WRONG_KEY)?;
    let report = loaded
        .present(&record(&unique(case.vendor), APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::Unauthorized(_))
        ),
        "expected unauthorized, got {:?}; logs {:?}",
        report.error(),
        report.logs
    );
    for key in [WRONG_KEY, TEST_KEY] {
        ensure_hidden(&report, key_line(key))?;
    }
    Ok(())
}

#[tokio::test]
async fn rate_limited() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = load(&case, &standin, TEST_KEY)?;
    let domain = unique(case.vendor);
    // The first request of a call is the token exchange: the 429 lands there.
    standin.inject(429, Some(7), 1)?;
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::RateLimited(Some(7)))
        ),
        "expected rate-limited(7), got {:?}; logs {:?}",
        report.error(),
        report.logs
    );
    let held = standin.txt(&format!("_acme-challenge.{domain}"))?;
    ensure!(held.is_empty(), "a refused present left {held:?}");
    Ok(())
}

#[tokio::test]
async fn unknown_zone() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = load(&case, &standin, TEST_KEY)?;
    for zone in [Some("no-such-zone.test."), None] {
        let report = loaded
            .present(&record("x.no-such-zone.test", APEX_VALUE, zone))
            .await;
        ensure!(
            matches!(
                provider_error(&report),
                Some(ProviderError::ZoneNotFound(_))
            ),
            "zone {zone:?}: expected zone-not-found, got {:?}; logs {:?}",
            report.error(),
            report.logs
        );
        // The call failed after the token exchange: neither the key nor the token shows.
        ensure_hidden(&report, ACCESS_TOKEN)?;
        ensure_hidden(&report, key_line(TEST_KEY))?;
    }
    Ok(())
}

#[tokio::test]
async fn describe() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let dir = tempfile::tempdir()?;
    let sandbox = Sandbox::new(&dir.path().join("cache"))?;

    // Without api_url: Cloud DNS and the key's token endpoint (Google's).
    let mut spec = ProviderSpec::new(case.vendor, provider(case.crate_name)?);
    spec.config = case.config_for(&standin, &[]);
    spec.config.remove("api_url");
    let info = sandbox.load(spec)?.describe().await?;
    ensure!(
        info.hosts == [case.real_host, "https://oauth2.googleapis.com"],
        "hosts without api_url: {:?}",
        info.hosts
    );
    for (key, required, secret) in [
        ("service_account_key", true, true),
        ("project", false, false),
        ("api_url", false, false),
    ] {
        let described = info
            .config_keys
            .iter()
            .find(|k| k.name == key)
            .with_context(|| format!("config key {key} is not described"))?;
        ensure!(
            described.required == required && described.secret == secret,
            "config key {key}: required {}, secret {}",
            described.required,
            described.secret
        );
        ensure!(
            !described.description.is_empty(),
            "{key} has no description"
        );
    }

    // With api_url and a key pointing at the stand-in: only the stand-in.
    let (loaded, _dir) = load(&case, &standin, TEST_KEY)?;
    let info = loaded.describe().await?;
    ensure!(
        info.hosts == [standin.origin()],
        "hosts with api_url: {:?}",
        info.hosts
    );
    Ok(())
}
