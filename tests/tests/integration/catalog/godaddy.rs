//! GoDaddy (`guest-providers/godaddy`) against `standins/godaddy.py`.
//!
//! GoDaddy replaces the records of one type and name only as a set and has no conditional
//! write, so beside the catalog checks: two values at one name at once both stay (the host
//! runs the calls on one name one at a time), two separate hosts racing at one name can drop
//! one (the hazard the README states, shown so that the first test is known to mean
//! something), and the TTL floor. The catalog's rate-limit check covers GoDaddy's 429, whose
//! wait is in the body (`retryAfterSec`), not in a header.

use acmebox::sandbox::ProviderError;
use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_ok, join_all, provider_error, record, sorted, unique,
};
use anyhow::ensure;

const KEY: &str = "dKy3catalog_5Rq8PbV1xWz2Mn";
const SECRET: &str = "Gc7secret9Lw2Tz4";

/// How long the stand-in holds each records read in the race tests, in seconds: far longer
/// than two calls started together take to reach it.
const READ_DELAY: &str = "0.5";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-godaddy",
        vendor: "godaddy",
        standin_options: vec![("key", KEY.to_owned()), ("secret", SECRET.to_owned())],
        config: vec![
            ("api_key", KEY.to_owned(), true),
            ("api_secret", SECRET.to_owned(), true),
        ],
        api_path: "",
        wrong_credentials: vec![("api_secret", "wrong-secret".to_owned())],
        real_host: "https://api.godaddy.com",
        kit_exceptions: vec![],
    }
}

/// The case with a stand-in whose records reads are stale by the time they arrive.
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
    let domain = unique("godaddy-both");
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

/// acmebox asks for a 60 s TTL; GoDaddy takes nothing under 600 s, so the provider writes 600.
#[tokio::test]
async fn ttl_is_raised_to_the_godaddy_minimum() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let apex = record(&unique("godaddy-ttl"), APEX_VALUE, Some(ZONE));
    let report = loaded.present(&apex).await;
    ensure!(
        !matches!(provider_error(&report), Some(ProviderError::Api { .. })),
        "GoDaddy refused the TTL: {:?}",
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
    assert_eq!(ttls, [600]);
    ensure_ok(&loaded.cleanup(&apex).await)
}
