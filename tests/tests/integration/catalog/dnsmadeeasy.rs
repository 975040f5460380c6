//! DNS Made Easy (`guest-providers/dnsmadeeasy`) against `standins/dnsmadeeasy.py`, which checks
//! every request's `x-dnsme-hmac` with octodns-dnsmadeeasy's signing code.

use acmebox::sandbox::ProviderError;
use acmebox_tests::catalog::{self, Case, ZONE};
use acmebox_tests::support::{APEX_VALUE, header, provider_error, record, unique};
use anyhow::ensure;

const API_KEY: &str = "3f6a2c1e-catalog-4d8b-a1f0-dmeapikey001";
const API_SECRET: &str = "9b0e7d4c-catalog-4a2f-8c6e-dmesecret001";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-dnsmadeeasy",
        vendor: "dnsmadeeasy",
        standin_options: vec![
            ("api_key", API_KEY.to_owned()),
            ("api_secret", API_SECRET.to_owned()),
        ],
        config: vec![
            ("api_key", API_KEY.to_owned(), true),
            ("api_secret", API_SECRET.to_owned(), true),
        ],
        api_path: "/V2.0",
        // A wrong secret makes every HMAC wrong: 403 "Unable to verify HMAC".
        wrong_credentials: vec![(
            "api_secret",
            "0d1e2f3a-wrong-4b5c-6d7e-dmesecret000".to_owned(),
        )],
        real_host: "https://api.dnsmadeeasy.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// An API key the API does not know: 403, unauthorized, nothing shown.
#[tokio::test]
async fn an_unknown_api_key_is_unauthorized() -> anyhow::Result<()> {
    let case = Case {
        wrong_credentials: vec![("api_key", "someone-elses-dme-api-key".to_owned())],
        ..case()
    };
    catalog::bad_credentials_are_unauthorized(&case).await
}

/// A call that fails after signed requests went out: neither key nor any HMAC the provider
/// sent shows in its report.
#[tokio::test]
async fn secrets_and_signatures_stay_hidden() -> anyhow::Result<()> {
    // Every answer is this body: the domain lookup reads `id` and `name`, the record listing
    // finds no `data` array, so the call fails after two signed requests.
    let answer = r#"{"id": 1000, "name": "example.test"}"#;
    catalog::signatures_stay_hidden(&case(), answer, 2, |request| {
        let mac = header(request, "x-dnsme-hmac").unwrap_or_default();
        ensure!(
            mac.len() == 40 && mac.chars().all(|c| c.is_ascii_hexdigit()),
            "not an HMAC-SHA1: {mac:?}"
        );
        ensure!(header(request, "x-dnsme-apikey") == Some(API_KEY));
        ensure!(header(request, "x-dnsme-requestdate").is_some_and(|d| d.ends_with(" GMT")));
        Ok(vec![mac.to_owned()])
    })
    .await
}

/// A refused HMAC (a wrong secret) is `unauthorized` and carries DNS Made Easy's message, so an
/// operator knows which key to check.
#[tokio::test]
async fn a_refused_signature_names_the_error() -> anyhow::Result<()> {
    catalog::refused_signature_is_named(&case(), &["Unable to verify HMAC"])
        .await
        .map(drop)
}

/// The account's rolling request limit (400 "Rate limit exceeded", no `Retry-After`) is
/// `rate-limited`, not an API error.
#[tokio::test]
async fn the_request_limit_is_rate_limited() -> anyhow::Result<()> {
    let case = Case {
        standin_options: [
            case().standin_options,
            vec![("request_limit", "1".to_owned())],
        ]
        .concat(),
        ..case()
    };
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let report = loaded
        .present(&record(&unique("dme-limit"), APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::RateLimited(None))
        ),
        "expected rate-limited, got {:?}",
        report.error()
    );
    Ok(())
}
