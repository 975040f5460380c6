//! NS1 (`guest-providers/ns1`) against `standins/ns1.py`.

use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::standin::Standin;
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_ok, join_all, record, sorted, unique,
};
use anyhow::ensure;

const KEY: &str = "ns1_catalog_key_3f7a9c2e4b1d";

/// A value already at the challenge name, set by someone else: it must survive every call.
const OTHER_VALUE: &str = "kept-by-someone-else";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-ns1",
        vendor: "ns1",
        standin_options: vec![("key", KEY.to_owned())],
        config: vec![("api_key", KEY.to_owned(), true)],
        api_path: "/v1",
        wrong_credentials: vec![("api_key", "ns1_wrong_key".to_owned())],
        real_host: "https://api.nsone.net",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// The apex and the wildcard value presented at one name at the same moment both land beside a
/// value someone else keeps there, and cleaning both up at once leaves only that value. NS1
/// rewrites a record's answers as a whole; the stand-in answers each read slowly, so two
/// read-modify-write rounds on the record would interleave and drop a value unless calls on
/// one name run one at a time (the host's per-name lock), which is why the provider need not
/// declare `sequential`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_values_at_one_name_at_once_both_survive() -> anyhow::Result<()> {
    let case = case();
    let standin = Standin::start(case.vendor, &[("key", KEY), ("latency_ms", "300")])?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    ensure!(
        !loaded.describe().await?.sequential,
        "records at different names are independent: the provider need not be sequential"
    );
    let domain = unique("ns1");
    let name = format!("_acme-challenge.{domain}");
    ensure_ok(
        &loaded
            .present(&record(&domain, OTHER_VALUE, Some(ZONE)))
            .await,
    )?;

    let ours = [
        record(&domain, APEX_VALUE, Some(ZONE)),
        record(&domain, WILDCARD_VALUE, None),
    ];
    for report in join_all(ours.iter().map(|r| loaded.present(r))).await {
        ensure_ok(&report)?;
    }
    let held = standin.txt(&name)?;
    ensure!(
        held == sorted(&[APEX_VALUE, WILDCARD_VALUE, OTHER_VALUE]),
        "after presenting both at once the stand-in holds {held:?}"
    );

    for report in join_all(ours.iter().map(|r| loaded.cleanup(r))).await {
        ensure_ok(&report)?;
    }
    let held = standin.txt(&name)?;
    ensure!(
        held == [OTHER_VALUE],
        "after cleaning both up at once the stand-in holds {held:?}"
    );

    let requests = standin.requests()?;
    let puts = requests.iter().filter(|r| r.starts_with("PUT ")).count();
    ensure!(
        puts == 1,
        "the record is created once and then updated: {requests:?}"
    );
    Ok(())
}

/// Removing the last value deletes the record; removing it again succeeds.
#[tokio::test]
async fn last_value_deletes_the_record() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("ns1");
    let txt = record(&domain, APEX_VALUE, Some(ZONE));
    ensure_ok(&loaded.present(&txt).await)?;
    ensure_ok(&loaded.present(&txt).await)?;
    ensure!(standin.txt(&format!("_acme-challenge.{domain}"))? == [APEX_VALUE]);
    ensure_ok(&loaded.cleanup(&txt).await)?;
    ensure_ok(&loaded.cleanup(&txt).await)?;
    ensure!(
        standin
            .txt(&format!("_acme-challenge.{domain}"))?
            .is_empty()
    );
    let record_path = format!("/v1/zones/example.test/_acme-challenge.{domain}/TXT");
    let writes: Vec<String> = standin
        .requests()?
        .into_iter()
        .filter(|r| r.ends_with(&record_path) && !r.starts_with("GET "))
        .collect();
    let want = [
        format!("PUT {record_path}"),
        format!("DELETE {record_path}"),
    ];
    ensure!(
        writes == want,
        "expected one PUT, then one DELETE: {writes:?}"
    );
    Ok(())
}
