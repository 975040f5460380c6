//! Namecheap (`guest-providers/namecheap`) against `standins/namecheap.py`.
//!
//! Namecheap's setHosts replaces every record of a domain, so besides the generic checks this
//! module proves that a present and a cleanup leave every unrelated record (A, MX with its
//! preference, CNAME, SPF TXT, URL301, each with its TTL) exactly as it was, that every command
//! goes as a POST (credentials and long record lists in the body, never in a URL), that
//! `describe()` asks to run one call at a time, and that a domain on other name servers is
//! `zone-not-found`.

use acmebox::sandbox::ProviderError;
use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::support::{APEX_VALUE, ensure_ok, join_all, provider_error, record, unique};
use anyhow::ensure;
use serde_json::Value;

const API_USER: &str = "acmebox-catalog";
const API_KEY: &str = "3b9f2c6e1a7d4f0b8e5c2a9d6f1b4e7c";
const CLIENT_IP: &str = "192.0.2.7";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-namecheap",
        vendor: "namecheap",
        standin_options: vec![
            ("api_user", API_USER.to_owned()),
            ("api_key", API_KEY.to_owned()),
            ("client_ip", CLIENT_IP.to_owned()),
        ],
        config: vec![
            ("api_user", API_USER.to_owned(), true),
            ("api_key", API_KEY.to_owned(), true),
            ("client_ip", CLIENT_IP.to_owned(), false),
        ],
        api_path: "/xml.response",
        wrong_credentials: vec![("api_key", "0000wrong0000key0000".to_owned())],
        real_host: "https://api.namecheap.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// Every record of `example.test` but those at `challenge`, without the stand-in's ids (which
/// setHosts renews, as Namecheap's HostIds), sorted.
fn unrelated(records: &[Value], challenge: &str) -> Vec<String> {
    let mut kept: Vec<String> = records
        .iter()
        .filter(|r| r["zone"] == "example.test" && r["name"] != challenge)
        .map(|r| {
            let mut r = r.clone();
            if let Some(fields) = r.as_object_mut() {
                fields.remove("id");
            }
            r.to_string()
        })
        .collect();
    kept.sort();
    kept
}

#[tokio::test]
async fn unrelated_records_survive_present_and_cleanup() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("namecheap");
    let challenge = format!("_acme-challenge.{domain}");

    let before = unrelated(&standin.records()?, &challenge);
    for kind in ["\"A\"", "\"MX\"", "\"CNAME\"", "\"TXT\"", "\"URL301\""] {
        ensure!(
            before
                .iter()
                .any(|r| r.contains(&format!("\"type\":{kind}"))),
            "the stand-in was not seeded with a {kind} record: {before:#?}"
        );
    }

    let txt = record(&domain, APEX_VALUE, Some(ZONE));
    ensure_ok(&loaded.present(&txt).await)?;
    ensure!(standin.txt(&challenge)? == [APEX_VALUE]);
    let after_present = unrelated(&standin.records()?, &challenge);
    ensure!(
        after_present == before,
        "present changed other records:\nbefore {before:#?}\nafter {after_present:#?}"
    );

    ensure_ok(&loaded.cleanup(&txt).await)?;
    ensure!(standin.txt(&challenge)?.is_empty());
    let after_cleanup = unrelated(&standin.records()?, &challenge);
    ensure!(
        after_cleanup == before,
        "cleanup changed other records:\nbefore {before:#?}\nafter {after_cleanup:#?}"
    );

    let requests = standin.requests()?;
    ensure!(
        requests.iter().all(|r| r == "POST /xml.response"),
        "every command must be a POST to /xml.response: {requests:?}"
    );
    Ok(())
}

/// setHosts rewrites the whole domain, so the provider says `sequential` and the host runs its
/// calls one at a time: four presents at four names started together reach the stand-in one
/// request at a time (each answer slowed so that overlapping calls would show), and every value
/// is kept.
#[tokio::test]
async fn runs_one_call_at_a_time() -> anyhow::Result<()> {
    let case = case();
    let mut options: Vec<(&str, &str)> = case
        .standin_options
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    options.push(("delay_ms", "40"));
    let standin = acmebox_tests::standin::Standin::start(case.vendor, &options)?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let info = loaded.describe().await?;
    ensure!(
        info.sequential,
        "setHosts rewrites the whole domain: describe() must say sequential"
    );
    let records: Vec<_> = (0..4)
        .map(|i| record(&unique(&format!("nc-seq{i}")), APEX_VALUE, Some(ZONE)))
        .collect();
    for report in join_all(records.iter().map(|r| loaded.present(r))).await {
        ensure_ok(&report)?;
    }
    for r in &records {
        ensure!(
            standin.txt(&r.fqdn)? == [APEX_VALUE],
            "{} lost its value",
            r.fqdn
        );
    }
    let peak = standin.peak_in_flight()?;
    for report in join_all(records.iter().map(|r| loaded.cleanup(r))).await {
        ensure_ok(&report)?;
    }
    ensure!(peak == 1, "{peak} requests reached the stand-in at once");
    Ok(())
}

#[tokio::test]
async fn domain_on_other_name_servers_is_zone_not_found() -> anyhow::Result<()> {
    let case = case();
    let mut options: Vec<(&str, &str)> = case
        .standin_options
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    options.push(("custom_dns", "delegated.test"));
    let standin = acmebox_tests::standin::Standin::start(case.vendor, &options)?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    for zone in [Some("delegated.test."), None] {
        let report = loaded
            .present(&record("x.delegated.test", APEX_VALUE, zone))
            .await;
        ensure!(
            matches!(
                provider_error(&report),
                Some(ProviderError::ZoneNotFound(m)) if m.contains("Namecheap's DNS")
            ),
            "zone {zone:?}: expected zone-not-found naming Namecheap's DNS, got {:?}; logs {:?}",
            report.error(),
            report.logs
        );
    }
    Ok(())
}
