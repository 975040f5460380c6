//! Akamai Edge DNS (`guest-providers/akamai`) against `standins/akamai.py`, which checks every
//! request's EdgeGrid signature with Akamai's own Python client, `edgegrid-python`.

use std::collections::BTreeMap;

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{ProviderError, ProviderSpec, Sandbox};
use acmebox_tests::catalog::{self, Case, ZONE};
use acmebox_tests::guests::provider;
use acmebox_tests::http_server::TestServer;
use acmebox_tests::support::{APEX_VALUE, ensure_hidden, header, provider_error, record, unique};
use anyhow::ensure;

const HOST: &str = "akab-catalog7q2x9d4m-w3k8p5r1t6v0.luna.akamaiapis.net";
const CLIENT_TOKEN: &str = "akab-catalog-client-token-5e1c9a7b3d";
const CLIENT_SECRET: &str = "akamaiCatalogClientSecret+8f2d6b0e4a1c=";
const ACCESS_TOKEN: &str = "akab-catalog-access-token-0b4f8d2a6c";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-akamai",
        vendor: "akamai",
        standin_options: vec![
            ("client_token", CLIENT_TOKEN.to_owned()),
            ("client_secret", CLIENT_SECRET.to_owned()),
            ("access_token", ACCESS_TOKEN.to_owned()),
        ],
        config: vec![
            ("host", HOST.to_owned(), false),
            ("client_token", CLIENT_TOKEN.to_owned(), true),
            ("client_secret", CLIENT_SECRET.to_owned(), true),
            ("access_token", ACCESS_TOKEN.to_owned(), true),
        ],
        api_path: "",
        // A wrong secret signs every request wrongly: 401 "The signature does not match".
        wrong_credentials: vec![(
            "client_secret",
            "akamaiWrongClientSecret+000000000000=".to_owned(),
        )],
        real_host: "https://akab-catalog7q2x9d4m-w3k8p5r1t6v0.luna.akamaiapis.net",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// An access token the API does not know: 401, unauthorized, nothing shown.
#[tokio::test]
async fn an_unknown_access_token_is_unauthorized() -> anyhow::Result<()> {
    let case = Case {
        wrong_credentials: vec![("access_token", "akab-someone-elses-access-token".to_owned())],
        ..case()
    };
    catalog::bad_credentials_are_unauthorized(&case).await
}

/// A call that fails after signed requests went out: neither the client secret, nor the
/// tokens, nor any signature the provider sent shows in its report.
#[tokio::test]
async fn secrets_and_signatures_stay_hidden() -> anyhow::Result<()> {
    // Every answer is a zone: the zone lookup succeeds, the record set read does not parse,
    // so the call fails after two signed requests.
    let api = TestServer::start(200, r#"{"zone": "example.test", "type": "PRIMARY"}"#).await?;
    let mut spec = ProviderSpec::new("akamai", provider("acmebox-provider-akamai")?);
    spec.allow = vec![api.origin()];
    let mut config = BTreeMap::new();
    config.insert("api_url".to_owned(), ConfigValue::Plain(api.origin()));
    config.insert("host".to_owned(), ConfigValue::Plain(HOST.to_owned()));
    for (key, value) in [
        ("client_token", CLIENT_TOKEN),
        ("client_secret", CLIENT_SECRET),
        ("access_token", ACCESS_TOKEN),
    ] {
        config.insert(key.to_owned(), ConfigValue::Secret(Secret::new(value)));
    }
    spec.config = config;
    let dir = tempfile::tempdir()?;
    let loaded = Sandbox::new(&dir.path().join("cache"))?.load(spec)?;

    let domain = unique("akamai-hidden");
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(report.error().is_some(), "the call should have failed");

    let authorizations: Vec<String> = api
        .received()
        .iter()
        .filter_map(|r| header(r, "authorization").map(str::to_owned))
        .collect();
    ensure!(
        authorizations.len() >= 2,
        "expected signed requests, got {authorizations:?}"
    );
    for authorization in &authorizations {
        ensure!(authorization.starts_with("EG1-HMAC-SHA256 client_token="));
        let Some((_, signature)) = authorization.rsplit_once(";signature=") else {
            anyhow::bail!("no signature in {authorization}");
        };
        ensure!(signature.len() == 44, "signature {signature}");
        ensure_hidden(&report, authorization)?;
        ensure_hidden(&report, signature)?;
    }
    for secret in [CLIENT_TOKEN, CLIENT_SECRET, ACCESS_TOKEN] {
        ensure_hidden(&report, secret)?;
    }
    Ok(())
}

/// A refused signature (a wrong secret) is `unauthorized` and carries Akamai's problem type
/// and detail, so an operator knows which key to check.
#[tokio::test]
async fn a_refused_signature_names_the_error_code() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &case.wrong_credentials)?;
    let report = loaded
        .present(&record(&unique("akamai-sig"), APEX_VALUE, Some(ZONE)))
        .await;
    match provider_error(&report) {
        Some(ProviderError::Unauthorized(message)) => ensure!(
            message.contains("The signature does not match")
                && message.contains("/-/pep-authn/deny"),
            "message: {message}"
        ),
        other => anyhow::bail!("expected unauthorized, got {other:?}"),
    }
    ensure_hidden(&report, CLIENT_SECRET)?;
    ensure_hidden(&report, &case.wrong_credentials[0].1)?;
    Ok(())
}
