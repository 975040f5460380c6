//! INWX (`guest-providers/inwx`) against `standins/inwx.py`.

use acmebox_tests::catalog::{self, Case};

const USER: &str = "acmebox-catalog-user";
const PASSWORD: &str = "inwx_catalog_pass_5e1c9b";
/// A TOTP secret in base32, as an authenticator QR code holds it.
const SHARED_SECRET: &str = "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TFOQ";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-inwx",
        vendor: "inwx",
        standin_options: vec![("user", USER.to_owned()), ("password", PASSWORD.to_owned())],
        config: vec![
            ("username", USER.to_owned(), true),
            ("password", PASSWORD.to_owned(), true),
        ],
        api_path: "/jsonrpc/",
        wrong_credentials: vec![("password", "inwx_wrong_pass_0000".to_owned())],
        real_host: "https://api.domrobot.com",
        kit_exceptions: vec![],
    }
}

/// An account with two-factor authentication, and `shared_secret` set.
fn two_factor_case() -> Case {
    let mut case = case();
    case.standin_options
        .push(("shared_secret", SHARED_SECRET.to_owned()));
    case.config
        .push(("shared_secret", SHARED_SECRET.to_owned(), true));
    case
}

#[tokio::test]
async fn conformance() -> anyhow::Result<()> {
    catalog::conformance_passes(&case()).await
}

#[tokio::test]
async fn bad_credentials() -> anyhow::Result<()> {
    catalog::bad_credentials_are_unauthorized(&case()).await
}

#[tokio::test]
async fn rate_limited() -> anyhow::Result<()> {
    catalog::rate_limit_is_typed(&case()).await
}

#[tokio::test]
async fn unknown_zone() -> anyhow::Result<()> {
    catalog::unknown_zone_is_typed(&case()).await
}

#[tokio::test]
async fn describe() -> anyhow::Result<()> {
    catalog::describe_is_complete(&two_factor_case()).await
}

/// With two-factor authentication, every call unlocks its session with a TOTP code computed
/// from `shared_secret`, which the stand-in checks.
#[tokio::test]
async fn two_factor_conformance() -> anyhow::Result<()> {
    catalog::conformance_passes(&two_factor_case()).await
}

/// An account with two-factor authentication and no `shared_secret`: unauthorized.
#[tokio::test]
async fn two_factor_without_the_secret_is_unauthorized() -> anyhow::Result<()> {
    let mut case = case();
    case.standin_options
        .push(("shared_secret", SHARED_SECRET.to_owned()));
    case.wrong_credentials = vec![];
    catalog::bad_credentials_are_unauthorized(&case).await
}

/// A `shared_secret` that is not the account's: the codes are refused, unauthorized.
#[tokio::test]
async fn a_wrong_shared_secret_is_unauthorized() -> anyhow::Result<()> {
    let case = Case {
        wrong_credentials: vec![(
            "shared_secret",
            "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U".to_owned(),
        )],
        ..two_factor_case()
    };
    catalog::bad_credentials_are_unauthorized(&case).await
}
