//! netcup (`guest-providers/netcup`) against `standins/netcup.py`.

use acmebox_tests::catalog::{self, Case};

const CUSTOMER: &str = "58204913";
const API_KEY: &str = "nc_catalog_key_3b9f0d7e6a";
const API_PASSWORD: &str = "nc_catalog_password_c41e8a";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-netcup",
        vendor: "netcup",
        standin_options: vec![
            ("customer", CUSTOMER.to_owned()),
            ("key", API_KEY.to_owned()),
            ("password", API_PASSWORD.to_owned()),
        ],
        config: vec![
            ("customer_number", CUSTOMER.to_owned(), true),
            ("api_key", API_KEY.to_owned(), true),
            ("api_password", API_PASSWORD.to_owned(), true),
        ],
        api_path: "/run/webservice/servers/endpoint.php?JSON",
        wrong_credentials: vec![("api_password", "nc_wrong_password_0000".to_owned())],
        real_host: "https://ccp.netcup.net",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// netcup answers a wrong API key with its request-limit message; on `login` that is still a
/// refused login, not a rate limit.
#[tokio::test]
async fn a_wrong_api_key_is_unauthorized() -> anyhow::Result<()> {
    let case = Case {
        wrong_credentials: vec![("api_key", "nc_wrong_key_0000".to_owned())],
        ..case()
    };
    catalog::bad_credentials_are_unauthorized(&case).await
}

/// A session netcup drops in the middle of a call (4001, "The session id is not in a valid
/// format.") is replaced by a new login: with every session good for one action only, the kit
/// still passes.
#[tokio::test]
async fn a_dropped_session_is_renewed() -> anyhow::Result<()> {
    let mut case = case();
    case.standin_options
        .push(("session_requests", "1".to_owned()));
    catalog::conformance_passes(&case).await
}
