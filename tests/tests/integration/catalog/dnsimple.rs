//! DNSimple (`guest-providers/dnsimple`) against `standins/dnsimple.py`.

use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::standin::Standin;
use acmebox_tests::support::{APEX_VALUE, WILDCARD_VALUE, ensure_ok, record, unique};
use anyhow::ensure;

const TOKEN: &str = "dnsimple_a_catalog_token_5b2e8c1d";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-dnsimple",
        vendor: "dnsimple",
        standin_options: vec![("token", TOKEN.to_owned()), ("account", "1010".to_owned())],
        config: vec![("oauth_token", TOKEN.to_owned(), true)],
        api_path: "",
        wrong_credentials: vec![("oauth_token", "dnsimple_a_wrong_token".to_owned())],
        real_host: "https://api.dnsimple.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// Presents and cleans up two values at one name, checking the stand-in after each step.
async fn round_trip(case: &Case, standin: &Standin) -> anyhow::Result<()> {
    let (loaded, _dir) = case.load(standin, &[])?;
    let domain = unique("dnsimple");
    let name = format!("_acme-challenge.{domain}");
    let apex = record(&domain, APEX_VALUE, Some(ZONE));
    let wildcard = record(&domain, WILDCARD_VALUE, None);
    ensure_ok(&loaded.present(&apex).await)?;
    ensure_ok(&loaded.present(&wildcard).await)?;
    let mut both = vec![APEX_VALUE.to_owned(), WILDCARD_VALUE.to_owned()];
    both.sort();
    ensure!(standin.txt(&name)? == both, "{:?}", standin.txt(&name)?);
    ensure_ok(&loaded.cleanup(&apex).await)?;
    ensure!(standin.txt(&name)? == [WILDCARD_VALUE]);
    ensure_ok(&loaded.cleanup(&wildcard).await)?;
    ensure!(standin.txt(&name)?.is_empty());
    Ok(())
}

/// A user token (whoami names no account) works through the only account it sees.
#[tokio::test]
async fn user_token_uses_its_only_account() -> anyhow::Result<()> {
    let case = case();
    let standin = Standin::start(
        case.vendor,
        &[("token", TOKEN), ("account", "2020"), ("kind", "user")],
    )?;
    round_trip(&case, &standin).await?;
    let requests = standin.requests()?;
    ensure!(
        requests.iter().any(|r| r == "GET /v2/accounts"),
        "the account was not looked up: {requests:?}"
    );
    ensure!(
        requests
            .iter()
            .filter(|r| !r.ends_with("/whoami") && !r.ends_with("/accounts"))
            .all(|r| r.contains("/v2/2020/")),
        "a request left account 2020: {requests:?}"
    );
    Ok(())
}

/// With `account_id` set, no call asks who the token is.
#[tokio::test]
async fn account_id_skips_whoami() -> anyhow::Result<()> {
    let mut case = case();
    case.config.push(("account_id", "1010".to_owned(), false));
    let standin = case.standin()?;
    round_trip(&case, &standin).await?;
    let requests = standin.requests()?;
    ensure!(
        requests.iter().all(|r| r.contains(" /v2/1010/zones/")),
        "expected only account-scoped calls: {requests:?}"
    );
    Ok(())
}
