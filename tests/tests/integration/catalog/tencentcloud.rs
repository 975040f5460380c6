//! Tencent Cloud DNSPod (`guest-providers/tencentcloud`) against `standins/tencentcloud.py`,
//! which checks every request's TC3-HMAC-SHA256 signature with the signing code of Tencent
//! Cloud's official Python SDK (`tencentcloud-sdk-python-common`).

use std::collections::BTreeMap;

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{ProviderError, ProviderSpec, Sandbox};
use acmebox_tests::catalog::{self, Case, ZONE};
use acmebox_tests::guests::provider;
use acmebox_tests::http_server::TestServer;
use acmebox_tests::support::{APEX_VALUE, ensure_hidden, header, provider_error, record, unique};
use anyhow::ensure;

const SECRET_ID: &str = "AKIDcatalogTencentCloud7Qx";
const SECRET_KEY: &str = "tencentcloud_catalog_secret_key_3b8e1f";
const SESSION_TOKEN: &str = "tencentcloud_catalog_session_token_c41d92";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-tencentcloud",
        vendor: "tencentcloud",
        standin_options: vec![
            ("secret_id", SECRET_ID.to_owned()),
            ("secret_key", SECRET_KEY.to_owned()),
            ("session_token", SESSION_TOKEN.to_owned()),
        ],
        config: vec![
            ("secret_id", SECRET_ID.to_owned(), true),
            ("secret_key", SECRET_KEY.to_owned(), true),
            ("session_token", SESSION_TOKEN.to_owned(), true),
            // DNSPod takes no region; one sent anyway changes nothing.
            ("region", "ap-guangzhou".to_owned(), false),
        ],
        api_path: "",
        // A wrong secret key signs every request wrongly: AuthFailure.SignatureFailure.
        wrong_credentials: vec![(
            "secret_key",
            "tencentcloud_wrong_secret_key_000000".to_owned(),
        )],
        real_host: "https://dnspod.tencentcloudapi.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// A SecretId the API does not know (`AuthFailure.SecretIdNotFound`), or temporary credentials
/// with the wrong token (`AuthFailure.TokenFailure`): unauthorized, nothing shown.
#[tokio::test]
async fn an_unknown_secret_id_or_token_is_unauthorized() -> anyhow::Result<()> {
    for wrong in [
        ("secret_id", "AKIDsomeoneElsesTencentKey".to_owned()),
        (
            "session_token",
            "tencentcloud_someone_elses_token".to_owned(),
        ),
    ] {
        let case = Case {
            wrong_credentials: vec![wrong],
            ..case()
        };
        catalog::bad_credentials_are_unauthorized(&case).await?;
    }
    Ok(())
}

/// A call that fails after signed requests went out: neither the SecretKey, nor the SecretId,
/// nor the session token, nor any signature the provider sent shows in its report.
#[tokio::test]
async fn secrets_and_signatures_stay_hidden() -> anyhow::Result<()> {
    // Every answer lists the zone: the domain lookup succeeds, the record listing finds none,
    // and CreateRecord's answer has no RecordId, so the call fails after three signed requests.
    let api = TestServer::start(
        200,
        r#"{"Response": {"DomainList": [{"DomainId": 1000, "Name": "example.test"}], "RequestId": "r"}}"#,
    )
    .await?;
    let mut spec = ProviderSpec::new("tencentcloud", provider("acmebox-provider-tencentcloud")?);
    spec.allow = vec![api.origin()];
    let mut config = BTreeMap::new();
    config.insert("api_url".to_owned(), ConfigValue::Plain(api.origin()));
    for (key, value) in [
        ("secret_id", SECRET_ID),
        ("secret_key", SECRET_KEY),
        ("session_token", SESSION_TOKEN),
    ] {
        config.insert(key.to_owned(), ConfigValue::Secret(Secret::new(value)));
    }
    spec.config = config;
    let dir = tempfile::tempdir()?;
    let loaded = Sandbox::new(&dir.path().join("cache"))?.load(spec)?;

    let domain = unique("tencentcloud-hidden");
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(report.error().is_some(), "the call should have failed");

    let received = api.received();
    let authorizations: Vec<&str> = received
        .iter()
        .filter_map(|r| header(r, "authorization"))
        .collect();
    ensure!(
        authorizations.len() >= 3,
        "expected signed requests, got {authorizations:?}"
    );
    for authorization in &authorizations {
        let Some((_, signature)) = authorization.split_once("Signature=") else {
            anyhow::bail!("no signature in {authorization}");
        };
        ensure!(signature.len() == 64, "signature {signature}");
        ensure_hidden(&report, authorization)?;
        ensure_hidden(&report, signature)?;
    }
    for secret in [SECRET_ID, SECRET_KEY, SESSION_TOKEN] {
        ensure_hidden(&report, secret)?;
    }
    Ok(())
}

/// A refused signature (a wrong secret key) is `unauthorized` and names Tencent Cloud's error
/// code, so an operator knows which key to check.
#[tokio::test]
async fn a_refused_signature_names_the_error_code() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &case.wrong_credentials)?;
    let report = loaded
        .present(&record(&unique("tencentcloud-sig"), APEX_VALUE, Some(ZONE)))
        .await;
    match provider_error(&report) {
        Some(ProviderError::Unauthorized(message)) => ensure!(
            message.contains("AuthFailure.SignatureFailure"),
            "message: {message}"
        ),
        other => anyhow::bail!("expected unauthorized, got {other:?}"),
    }
    ensure_hidden(&report, SECRET_KEY)?;
    ensure_hidden(&report, &case.wrong_credentials[0].1)?;
    Ok(())
}
