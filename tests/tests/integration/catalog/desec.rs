//! deSEC (`guest-providers/desec`) against `standins/desec.py`.

use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_ok, join_all, record, sorted, unique,
};
use anyhow::ensure;

const TOKEN: &str = "dsc_catalog_token_3e9b1f6a27";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-desec",
        vendor: "desec",
        standin_options: vec![("token", TOKEN.to_owned())],
        config: vec![("token", TOKEN.to_owned(), true)],
        api_path: "/api/v1",
        wrong_credentials: vec![("token", "dsc_wrong_token".to_owned())],
        real_host: "https://desec.io",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// deSEC replaces an RRset's records whole, so each call reads, changes and writes back. Two
/// values presented at one name at the same time (a domain and its wildcard) both stay, and
/// cleaning both up at once leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_values_presented_at_one_name_at_once_both_stay() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("desec-both");
    let records = [
        record(&domain, APEX_VALUE, Some(ZONE)),
        record(&domain, WILDCARD_VALUE, Some(ZONE)),
    ];
    let name = format!("_acme-challenge.{domain}");
    for report in join_all(records.iter().map(|r| loaded.present(r))).await {
        ensure_ok(&report)?;
    }
    let held = standin.txt(&name)?;
    ensure!(
        held == sorted(&[APEX_VALUE, WILDCARD_VALUE]),
        "the stand-in holds {held:?}"
    );
    for report in join_all(records.iter().map(|r| loaded.cleanup(r))).await {
        ensure_ok(&report)?;
    }
    let held = standin.txt(&name)?;
    ensure!(held.is_empty(), "the stand-in still holds {held:?}");
    Ok(())
}

/// A 429 whose `Retry-After` is a second or two (deSEC's per-second write limit) is waited
/// out and the request sent again; the call succeeds.
#[tokio::test]
async fn a_short_throttle_is_waited_out() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("desec-throttle");
    let apex = record(&domain, APEX_VALUE, Some(ZONE));
    standin.inject(429, Some(1), 1)?;
    ensure_ok(&loaded.present(&apex).await)?;
    let held = standin.txt(&apex.fqdn)?;
    ensure!(held == [APEX_VALUE], "the stand-in holds {held:?}");
    ensure_ok(&loaded.cleanup(&apex).await)?;
    Ok(())
}
