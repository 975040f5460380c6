//! Bunny DNS (`guest-providers/bunny`) against `standins/bunny.py`.

use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::support::{APEX_VALUE, ensure_ok, record, unique};
use anyhow::ensure;

const KEY: &str = "bunny-catalog-key-3b9f0c62-7d41-4e8a-a5f2-1c6e9d0b4a77";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-bunny",
        vendor: "bunny",
        standin_options: vec![("key", KEY.to_owned())],
        config: vec![("api_key", KEY.to_owned(), true)],
        api_path: "",
        wrong_credentials: vec![("api_key", "bunny-wrong-key".to_owned())],
        real_host: "https://api.bunny.net",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// Every Bunny record has an id of its own, and the reference does not say a duplicate is
/// refused: a second `present` of the same value finds the first and adds nothing, so one
/// `cleanup` leaves nothing behind.
#[tokio::test]
async fn present_twice_adds_one_record() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("bunny-twice");
    let txt = record(&domain, APEX_VALUE, Some(ZONE));
    ensure_ok(&loaded.present(&txt).await)?;
    ensure_ok(&loaded.present(&txt).await)?;
    let name = format!("_acme-challenge.{domain}");
    let held = standin.txt(&name)?;
    ensure!(held == [APEX_VALUE], "held {held:?}");
    let puts = standin
        .requests()?
        .iter()
        .filter(|r| r.starts_with("PUT /dnszone/"))
        .count();
    ensure!(puts == 1, "expected one PUT, got {puts}");
    ensure_ok(&loaded.cleanup(&txt).await)?;
    let left = standin.txt(&name)?;
    ensure!(left.is_empty(), "left {left:?}");
    Ok(())
}
