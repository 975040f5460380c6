//! OVHcloud (`guest-providers/ovh`) against `standins/ovh.py`, which checks every request's
//! `X-Ovh-Signature` with the official `ovh` Python client's signing code.

use std::collections::BTreeMap;

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{ProviderError, ProviderSpec, Sandbox};
use acmebox_tests::catalog::{self, Case, ZONE};
use acmebox_tests::guests::provider;
use acmebox_tests::http_server::TestServer;
use acmebox_tests::support::{APEX_VALUE, ensure_hidden, header, provider_error, record, unique};
use anyhow::ensure;

const APPLICATION_KEY: &str = "catalogAppKey7Qx";
const APPLICATION_SECRET: &str = "ovh_catalog_application_secret_3b8e1f";
const CONSUMER_KEY: &str = "ovh_catalog_consumer_key_c41d92a7e5";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-ovh",
        vendor: "ovh",
        standin_options: vec![
            ("application_key", APPLICATION_KEY.to_owned()),
            ("application_secret", APPLICATION_SECRET.to_owned()),
            ("consumer_key", CONSUMER_KEY.to_owned()),
        ],
        config: vec![
            ("application_key", APPLICATION_KEY.to_owned(), true),
            ("application_secret", APPLICATION_SECRET.to_owned(), true),
            ("consumer_key", CONSUMER_KEY.to_owned(), true),
        ],
        api_path: "/1.0",
        // A wrong secret signs every request wrongly: 400 INVALID_SIGNATURE.
        wrong_credentials: vec![(
            "application_secret",
            "ovh_wrong_application_secret_000000".to_owned(),
        )],
        real_host: "https://eu.api.ovh.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// A consumer key the API does not know: 403 `NOT_CREDENTIAL`, unauthorized, nothing shown.
#[tokio::test]
async fn an_unknown_consumer_key_is_unauthorized() -> anyhow::Result<()> {
    let case = Case {
        wrong_credentials: vec![("consumer_key", "ovh_someone_elses_consumer_key".to_owned())],
        ..case()
    };
    catalog::bad_credentials_are_unauthorized(&case).await
}

/// A call that fails after signed requests went out: neither the application secret, nor the
/// consumer key, nor any signature the provider sent shows in its report.
#[tokio::test]
async fn secrets_and_signatures_stay_hidden() -> anyhow::Result<()> {
    // Every answer is a bare Unix time: `/auth/time` and the zone lookup succeed, the record
    // listing does not parse, so the call fails after two signed requests.
    let api = TestServer::start(200, "1700000000").await?;
    let mut spec = ProviderSpec::new("ovh", provider("acmebox-provider-ovh")?);
    spec.allow = vec![api.origin()];
    let mut config = BTreeMap::new();
    config.insert(
        "api_url".to_owned(),
        ConfigValue::Plain(format!("{}/1.0", api.origin())),
    );
    for (key, value) in [
        ("application_key", APPLICATION_KEY),
        ("application_secret", APPLICATION_SECRET),
        ("consumer_key", CONSUMER_KEY),
    ] {
        config.insert(key.to_owned(), ConfigValue::Secret(Secret::new(value)));
    }
    spec.config = config;
    let dir = tempfile::tempdir()?;
    let loaded = Sandbox::new(&dir.path().join("cache"))?.load(spec)?;

    let domain = unique("ovh-hidden");
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(report.error().is_some(), "the call should have failed");

    let signatures: Vec<String> = api
        .received()
        .iter()
        .filter_map(|r| header(r, "x-ovh-signature").map(str::to_owned))
        .collect();
    ensure!(
        signatures.len() >= 2,
        "expected signed requests, got {signatures:?}"
    );
    for signature in &signatures {
        ensure!(signature.starts_with("$1$") && signature.len() == 43);
        ensure_hidden(&report, signature)?;
        ensure_hidden(&report, signature.trim_start_matches("$1$"))?;
    }
    for secret in [APPLICATION_KEY, APPLICATION_SECRET, CONSUMER_KEY] {
        ensure_hidden(&report, secret)?;
    }
    Ok(())
}

/// A refused signature (a wrong secret) is `unauthorized` and names the API's error code, so
/// an operator knows which key to check.
#[tokio::test]
async fn a_refused_signature_names_the_error_code() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &case.wrong_credentials)?;
    let report = loaded
        .present(&record(&unique("ovh-sig"), APEX_VALUE, Some(ZONE)))
        .await;
    match provider_error(&report) {
        Some(ProviderError::Unauthorized(message)) => {
            ensure!(message.contains("INVALID_SIGNATURE"), "message: {message}")
        }
        other => anyhow::bail!("expected unauthorized, got {other:?}"),
    }
    ensure_hidden(&report, APPLICATION_SECRET)?;
    ensure_hidden(&report, &case.wrong_credentials[0].1)?;
    Ok(())
}
