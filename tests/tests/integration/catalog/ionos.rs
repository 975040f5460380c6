//! IONOS (`guest-providers/ionos`) against `standins/ionos.py`.
//!
//! Besides the generic checks: presenting a value twice files one record, and an API key that
//! is not `<public prefix>.<secret>` is `invalid-config` before any request.

use acmebox::sandbox::ProviderError;
use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::support::{APEX_VALUE, ensure_ok, provider_error, record, unique};
use anyhow::ensure;

const API_KEY: &str = "5e1f0c2a9b7d4e3f.q8Zk3mW1xR7tN4vB6yC2pL9sD0fG5hJ";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-ionos",
        vendor: "ionos",
        standin_options: vec![("api_key", API_KEY.to_owned())],
        config: vec![("api_key", API_KEY.to_owned(), true)],
        api_path: "/dns",
        wrong_credentials: vec![("api_key", "0000prefix.wrongsecret0000".to_owned())],
        real_host: "https://api.hosting.ionos.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

#[tokio::test]
async fn presenting_twice_files_one_record() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("ionos");
    let challenge = format!("_acme-challenge.{domain}");
    let txt = record(&domain, APEX_VALUE, Some(ZONE));

    ensure_ok(&loaded.present(&txt).await)?;
    ensure_ok(&loaded.present(&txt).await)?;
    ensure!(standin.txt(&challenge)? == [APEX_VALUE]);
    let posts = standin
        .requests()?
        .into_iter()
        .filter(|r| r.starts_with("POST "))
        .count();
    ensure!(posts == 1, "expected one POST, the stand-in saw {posts}");

    ensure_ok(&loaded.cleanup(&txt).await)?;
    ensure!(standin.txt(&challenge)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn key_without_its_two_parts_is_invalid_config() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[("api_key", "onlyonepart".to_owned())])?;
    let report = loaded
        .present(&record(&unique("ionos"), APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::InvalidConfig(_))
        ),
        "expected invalid-config, got {:?}",
        report.error()
    );
    ensure!(
        standin.requests()?.is_empty(),
        "no request may go out with a malformed key"
    );
    Ok(())
}
