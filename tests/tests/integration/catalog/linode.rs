//! Linode (`guest-providers/linode`) against `standins/linode.py`.

use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::support::{APEX_VALUE, ensure_ok, record, unique};
use anyhow::ensure;

const TOKEN: &str = "linode-catalog-token-7d2e9b4f1a6c";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-linode",
        vendor: "linode",
        standin_options: vec![("token", TOKEN.to_owned())],
        config: vec![("token", TOKEN.to_owned(), true)],
        api_path: "/v4",
        wrong_credentials: vec![("token", "linode-wrong-token".to_owned())],
        real_host: "https://api.linode.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// Linode addresses domains by numeric id: the provider finds the id by listing the domains,
/// then presenting a value already there adds no second record, and the record's name is
/// relative to the domain.
#[tokio::test]
async fn domain_found_by_listing_and_present_twice_adds_one_record() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("linode-twice");
    let name = format!("_acme-challenge.{domain}");
    for zone in [None, Some(ZONE)] {
        ensure_ok(&loaded.present(&record(&domain, APEX_VALUE, zone)).await)?;
    }
    let held = standin.txt(&name)?;
    ensure!(held == [APEX_VALUE], "the stand-in holds {held:?}");
    let requests = standin.requests()?;
    ensure!(
        requests.iter().any(|r| r == "GET /v4/domains"),
        "the domain was not found by listing: {requests:?}"
    );
    let posts = requests.iter().filter(|r| r.starts_with("POST ")).count();
    ensure!(posts == 1, "{posts} records created: {requests:?}");
    ensure_ok(&loaded.cleanup(&record(&domain, APEX_VALUE, None)).await)?;
    let left = standin.txt(&name)?;
    ensure!(left.is_empty(), "cleanup left {left:?}");
    Ok(())
}
