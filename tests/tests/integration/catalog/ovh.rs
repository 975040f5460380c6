//! OVHcloud (`guest-providers/ovh`) against `standins/ovh.py`, which checks every request's
//! `X-Ovh-Signature` with the official `ovh` Python client's signing code.

use acmebox_tests::catalog::{self, Case};
use acmebox_tests::support::header;
use anyhow::ensure;

const APPLICATION_KEY: &str = "catalogAppKey7Qx";
const APPLICATION_SECRET: &str = "ovh_catalog_application_secret_3b8e1f";
const CONSUMER_KEY: &str = "ovh_catalog_consumer_key_c41d92a7e5";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-ovh",
        vendor: "ovh",
        standin_options: vec![
            ("application_key", APPLICATION_KEY.to_owned()),
            ("application_secret", APPLICATION_SECRET.to_owned()),
            ("consumer_key", CONSUMER_KEY.to_owned()),
        ],
        config: vec![
            ("application_key", APPLICATION_KEY.to_owned(), true),
            ("application_secret", APPLICATION_SECRET.to_owned(), true),
            ("consumer_key", CONSUMER_KEY.to_owned(), true),
        ],
        api_path: "/1.0",
        // A wrong secret signs every request wrongly: 400 INVALID_SIGNATURE.
        wrong_credentials: vec![(
            "application_secret",
            "ovh_wrong_application_secret_000000".to_owned(),
        )],
        real_host: "https://eu.api.ovh.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// A consumer key the API does not know: 403 `NOT_CREDENTIAL`, unauthorized, nothing shown.
#[tokio::test]
async fn an_unknown_consumer_key_is_unauthorized() -> anyhow::Result<()> {
    let case = Case {
        wrong_credentials: vec![("consumer_key", "ovh_someone_elses_consumer_key".to_owned())],
        ..case()
    };
    catalog::bad_credentials_are_unauthorized(&case).await
}

/// A call that fails after signed requests went out: neither the application secret, nor the
/// consumer key, nor any signature the provider sent shows in its report.
#[tokio::test]
async fn secrets_and_signatures_stay_hidden() -> anyhow::Result<()> {
    // Every answer is a bare Unix time: `/auth/time` and the zone lookup succeed, the record
    // listing does not parse, so the call fails after two signed requests.
    catalog::signatures_stay_hidden(&case(), "1700000000", 3, |request| {
        if request.target.ends_with("/auth/time") {
            return Ok(vec![]);
        }
        let signature = header(request, "x-ovh-signature").unwrap_or_default();
        ensure!(
            signature.starts_with("$1$") && signature.len() == 43,
            "{} {} is not signed: {signature:?}",
            request.method,
            request.target
        );
        Ok(vec![signature.to_owned(), signature[3..].to_owned()])
    })
    .await
}

/// A refused signature (a wrong secret) is `unauthorized` and names the API's error code, so
/// an operator knows which key to check.
#[tokio::test]
async fn a_refused_signature_names_the_error_code() -> anyhow::Result<()> {
    catalog::refused_signature_is_named(&case(), &["INVALID_SIGNATURE"])
        .await
        .map(drop)
}
