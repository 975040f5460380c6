//! Gandi LiveDNS (`guest-providers/gandi`) against `standins/gandi.py`.
//!
//! LiveDNS replaces a TXT rrset only whole and has no conditional write, so beside the catalog
//! checks: two values at one name at once both stay (the host runs the calls on one name one at
//! a time), two separate hosts racing at one name can drop one (the hazard the README states,
//! shown so that the first test is known to mean something), the legacy `Apikey` scheme, and
//! the TTL floor.

use acmebox::sandbox::ProviderError;
use acmebox_tests::catalog::{self, Case, ZONE};
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_ok, join_all, provider_error, record, sorted, unique,
};
use anyhow::ensure;

const TOKEN: &str = "pat_catalog_0d5b8e3f9a71c4e2";
const API_KEY: &str = "gandi-catalog-apikey-6c2e9d1b";

/// How long the stand-in holds each rrset read in the race tests, in seconds: far longer than
/// two calls started together take to reach it.
const READ_DELAY: &str = "0.5";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-gandi",
        vendor: "gandi",
        standin_options: vec![("token", TOKEN.to_owned()), ("api_key", API_KEY.to_owned())],
        config: vec![("personal_access_token", TOKEN.to_owned(), true)],
        api_path: "/v5/livedns",
        wrong_credentials: vec![("personal_access_token", "pat_wrong_token".to_owned())],
        real_host: "https://api.gandi.net",
        kit_exceptions: vec![],
    }
}

/// The case with only the legacy API key configured.
fn api_key_case() -> Case {
    Case {
        config: vec![("api_key", API_KEY.to_owned(), true)],
        wrong_credentials: vec![("api_key", "wrong-api-key".to_owned())],
        ..case()
    }
}

/// The case with a stand-in whose rrset reads are stale by the time they arrive.
fn racy_case() -> Case {
    let mut case = case();
    case.standin_options
        .push(("read_delay", READ_DELAY.to_owned()));
    case
}

acmebox_tests::catalog_tests!(case());

/// The apex and the wildcard of a domain presented at the same moment both stay, and both
/// cleanups at once leave nothing: the host runs calls on one name one at a time, so the
/// read-modify-write rounds cannot interleave even when every read is stale for 0.5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_values_at_one_name_both_stay() -> anyhow::Result<()> {
    let case = racy_case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("gandi-both");
    let records = [
        record(&domain, APEX_VALUE, Some(ZONE)),
        record(&domain, WILDCARD_VALUE, Some(ZONE)),
    ];
    for report in join_all(records.iter().map(|r| loaded.present(r))).await {
        ensure_ok(&report)?;
    }
    assert_eq!(
        standin.txt(&records[0].fqdn)?,
        sorted(&[APEX_VALUE, WILDCARD_VALUE])
    );
    for report in join_all(records.iter().map(|r| loaded.cleanup(r))).await {
        ensure_ok(&report)?;
    }
    let left = standin.txt(&records[0].fqdn)?;
    ensure!(left.is_empty(), "the stand-in still holds {left:?}");
    Ok(())
}

/// With only the legacy `api_key`, the provider authenticates with `Apikey` and works; a wrong
/// key (401 for that scheme) is `unauthorized`.
#[tokio::test]
async fn legacy_api_key_works_and_a_wrong_one_is_unauthorized() -> anyhow::Result<()> {
    let case = api_key_case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("gandi-apikey");
    let apex = record(&domain, APEX_VALUE, None);
    ensure_ok(&loaded.present(&apex).await)?;
    assert_eq!(standin.txt(&apex.fqdn)?, [APEX_VALUE]);
    ensure_ok(&loaded.cleanup(&apex).await)?;
    ensure!(standin.txt(&apex.fqdn)?.is_empty());
    catalog::bad_credentials_are_unauthorized(&case).await
}

/// acmebox asks for a 60 s TTL; LiveDNS takes nothing under 300 s, so the provider writes 300.
#[tokio::test]
async fn ttl_is_raised_to_the_livedns_minimum() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let apex = record(&unique("gandi-ttl"), APEX_VALUE, Some(ZONE));
    let report = loaded.present(&apex).await;
    ensure!(
        !matches!(provider_error(&report), Some(ProviderError::Api { .. })),
        "LiveDNS refused the TTL: {:?}",
        report.error()
    );
    ensure_ok(&report)?;
    let name = apex.fqdn.trim_end_matches('.');
    let ttls: Vec<i64> = standin
        .records()?
        .iter()
        .filter(|r| r["name"] == name && r["type"] == "TXT")
        .filter_map(|r| r["ttl"].as_i64())
        .collect();
    assert_eq!(ttls, [300]);
    ensure_ok(&loaded.cleanup(&apex).await)
}
