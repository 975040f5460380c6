//! Hetzner (`guest-providers/hetzner`) against `standins/hetzner.py`.

use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::support::{APEX_VALUE, ensure_ok, record, unique};
use anyhow::ensure;

const TOKEN: &str = "hcloud_catalog_token_8d2e5f1a7c";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-hetzner",
        vendor: "hetzner",
        standin_options: vec![("token", TOKEN.to_owned())],
        config: vec![("api_token", TOKEN.to_owned(), true)],
        api_path: "/v1",
        wrong_credentials: vec![("api_token", "hcloud_wrong_token".to_owned())],
        real_host: "https://api.hetzner.cloud",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// `present` adds the value with the `add_records` action and waits for the action; a second
/// `present` of the same value finds it and changes nothing.
#[tokio::test]
async fn present_adds_one_record_through_an_action() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("hetzner-action");
    let txt = record(&domain, APEX_VALUE, Some(ZONE));
    ensure_ok(&loaded.present(&txt).await)?;
    ensure_ok(&loaded.present(&txt).await)?;
    let name = format!("_acme-challenge.{domain}");
    let held = standin.txt(&name)?;
    ensure!(held == [APEX_VALUE], "held {held:?}");
    let label = name.trim_end_matches(".example.test");
    let requests = standin.requests()?;
    let adds = format!("POST /v1/zones/example.test/rrsets/{label}/TXT/actions/add_records");
    ensure!(
        requests.iter().filter(|r| **r == adds).count() == 1,
        "expected one {adds}: {requests:?}"
    );
    ensure!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /v1/zones/actions/")),
        "the action was not polled: {requests:?}"
    );
    ensure_ok(&loaded.cleanup(&txt).await)?;
    let left = standin.txt(&name)?;
    ensure!(left.is_empty(), "left {left:?}");
    Ok(())
}

/// A 423 `locked` (another action runs on the zone) is retried, not reported.
#[tokio::test]
async fn locked_zone_is_retried() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("hetzner-locked");
    let txt = record(&domain, APEX_VALUE, Some(ZONE));
    standin.inject(423, None, 1)?;
    ensure_ok(&loaded.present(&txt).await)?;
    let name = format!("_acme-challenge.{domain}");
    let held = standin.txt(&name)?;
    ensure!(held == [APEX_VALUE], "held {held:?}");
    standin.inject(423, None, 1)?;
    ensure_ok(&loaded.cleanup(&txt).await)?;
    let left = standin.txt(&name)?;
    ensure!(left.is_empty(), "left {left:?}");
    Ok(())
}
