//! Vultr (`guest-providers/vultr`) against `standins/vultr.py`.

use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::support::{APEX_VALUE, ensure_ok, record, unique};
use anyhow::ensure;

const KEY: &str = "VULTRCATALOGKEY5B3D8F1A7C9E2B4D6F";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-vultr",
        vendor: "vultr",
        standin_options: vec![("token", KEY.to_owned())],
        config: vec![("api_key", KEY.to_owned(), true)],
        api_path: "/v2",
        wrong_credentials: vec![("api_key", "VULTRWRONGKEY".to_owned())],
        real_host: "https://api.vultr.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// Vultr serves TXT data quoted: presenting a value already there recognises it through the
/// quotes and adds no second record, and cleanup removes it.
#[tokio::test]
async fn quoted_txt_data_is_recognised() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("vultr-quoted");
    let name = format!("_acme-challenge.{domain}");
    for zone in [None, Some(ZONE)] {
        ensure_ok(&loaded.present(&record(&domain, APEX_VALUE, zone)).await)?;
    }
    let held = standin.txt(&name)?;
    ensure!(held == [APEX_VALUE], "the stand-in holds {held:?}");
    let requests = standin.requests()?;
    let posts = requests.iter().filter(|r| r.starts_with("POST ")).count();
    ensure!(posts == 1, "{posts} records created: {requests:?}");
    ensure_ok(&loaded.cleanup(&record(&domain, APEX_VALUE, None)).await)?;
    let left = standin.txt(&name)?;
    ensure!(left.is_empty(), "cleanup left {left:?}");
    Ok(())
}
