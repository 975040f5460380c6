//! Duck DNS (`guest-providers/duckdns`) against `standins/duckdns.py`, run with
//! `base=example.test` so a Duck DNS domain `<subname>` is `<subname>.example.test`, which the
//! test PowerDNS serves (the stand-in writes the domain's value there and at
//! `*.<subname>.example.test`, as Duck DNS serves it at every name below the domain).
//!
//! Duck DNS holds one TXT value per domain, so two of the kit's checks cannot pass, by design:
//!
//! - `second-value`: presenting the wildcard's value replaces the apex's, so the two are never
//!   served together. The host validates them one after another instead (`sequential`).
//! - `cleanup-keeps-other`: cleanup empties the domain's value, whichever it is (the API cannot
//!   read it first), so the other value is gone too.
//!
//! Neither of the kit's operator flags applies: cleanup does remove values
//! (`--cleanup-keeps-values` is for providers that never delete), and the value is published
//! where the record's name says (`--ignores-record-name` is for acme-dns). The kit's final check
//! in `catalog::conformance_passes` reads the stand-in at `_acme-challenge.<domain>`, where this
//! stand-in keeps nothing; `one_value_per_domain_and_cleanup_clears_it` below reads the
//! domain's own value instead.
//!
//! Of the generic checks: bad credentials fit as they are (Duck DNS answers `KO`); an unknown
//! zone is a name outside the base domain, refused without a request (checked here too); Duck
//! DNS documents no rate-limit answer, but an HTTP front end may send 429, and
//! `rate_limited` checks that it still comes out as `rate-limited(7)`.

use acmebox::conformance::Check;
use acmebox::sandbox::ProviderError;
use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::standin::Standin;
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_ok, provider_error, record, unique,
};
use anyhow::{Context as _, ensure};

const TOKEN: &str = "7c1e9a4b-2f6d-4e8a-9b3c-5d0f1a2e6b47";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-duckdns",
        vendor: "duckdns",
        standin_options: vec![
            ("token", TOKEN.to_owned()),
            ("base", "example.test".to_owned()),
        ],
        config: vec![
            ("token", TOKEN.to_owned(), true),
            ("base_domain", "example.test".to_owned(), false),
        ],
        api_path: "",
        wrong_credentials: vec![("token", "00000000-wrong-token-0000".to_owned())],
        real_host: "https://www.duckdns.org",
        // One TXT value per domain: see the module's doc.
        kit_exceptions: vec![
            (Check::SecondValue, "FAIL"),
            (Check::CleanupKeepsOther, "FAIL"),
        ],
    }
}

/// The Duck DNS subname of a domain `unique()` made: its first label.
fn subname(domain: &str) -> anyhow::Result<&str> {
    domain.split('.').next().context("an empty domain")
}

acmebox_tests::catalog_tests!(case());

#[tokio::test]
async fn one_value_per_domain_and_cleanup_clears_it() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("duckdns");
    let wildcard_name = format!("*.{domain}");

    ensure_ok(
        &loaded
            .present(&record(&domain, APEX_VALUE, Some(ZONE)))
            .await,
    )?;
    ensure!(standin.txt(&domain)? == [APEX_VALUE]);
    ensure!(standin.txt(&wildcard_name)? == [APEX_VALUE]);

    // The wildcard's value replaces the apex's: Duck DNS keeps one.
    ensure_ok(
        &loaded
            .present(&record(&domain, WILDCARD_VALUE, Some(ZONE)))
            .await,
    )?;
    ensure!(standin.txt(&domain)? == [WILDCARD_VALUE]);

    // Cleanup of either value empties the domain; a second cleanup is fine.
    let apex = record(&domain, APEX_VALUE, Some(ZONE));
    ensure_ok(&loaded.cleanup(&apex).await)?;
    ensure!(standin.txt(&domain)?.is_empty());
    ensure!(standin.txt(&wildcard_name)?.is_empty());
    ensure_ok(&loaded.cleanup(&apex).await)?;

    let requests = standin.requests()?;
    ensure!(
        requests.iter().all(|r| r == "GET /update"),
        "every call must be GET /update: {requests:?}"
    );
    Ok(())
}

#[tokio::test]
async fn names_below_a_domain_map_to_it() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("duckdns");
    // `_acme-challenge.www.<subname>.example.test`: Duck DNS domain `<subname>`.
    let deeper = record(&format!("www.{domain}"), APEX_VALUE, None);
    ensure_ok(&loaded.present(&deeper).await)?;
    ensure!(
        standin.txt(&domain)? == [APEX_VALUE],
        "the value of {} was not set",
        subname(&domain)?
    );
    ensure_ok(&loaded.cleanup(&deeper).await)?;
    ensure!(standin.txt(&domain)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn domain_not_on_the_account_is_unauthorized() -> anyhow::Result<()> {
    let case = case();
    let standin = Standin::start(
        case.vendor,
        &[
            ("token", TOKEN),
            ("base", "example.test"),
            ("domains", "someone-else"),
        ],
    )?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("duckdns");
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::Unauthorized(_))
        ),
        "expected unauthorized for a domain the account does not have, got {:?}",
        report.error()
    );
    ensure!(standin.txt(&domain)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn names_outside_the_base_domain_send_nothing() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    for name in ["x.no-such-zone.test", "example.test"] {
        let report = loaded.present(&record(name, APEX_VALUE, None)).await;
        ensure!(
            matches!(
                provider_error(&report),
                Some(ProviderError::ZoneNotFound(_))
            ),
            "{name}: expected zone-not-found, got {:?}",
            report.error()
        );
    }
    ensure!(standin.requests()?.is_empty());
    Ok(())
}

#[tokio::test]
async fn describe_asks_for_one_call_at_a_time() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let info = loaded.describe().await?;
    ensure!(
        info.sequential,
        "Duck DNS keeps one value per domain: describe() must say sequential"
    );
    Ok(())
}
