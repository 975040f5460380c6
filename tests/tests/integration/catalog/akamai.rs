//! Akamai Edge DNS (`guest-providers/akamai`) against `standins/akamai.py`, which checks every
//! request's EdgeGrid signature with Akamai's own Python client, `edgegrid-python`.

use acmebox_tests::catalog::{self, Case};
use acmebox_tests::support::header;

const HOST: &str = "akab-catalog7q2x9d4m-w3k8p5r1t6v0.luna.akamaiapis.net";
const CLIENT_TOKEN: &str = "akab-catalog-client-token-5e1c9a7b3d";
const CLIENT_SECRET: &str = "akamaiCatalogClientSecret+8f2d6b0e4a1c=";
const ACCESS_TOKEN: &str = "akab-catalog-access-token-0b4f8d2a6c";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-akamai",
        vendor: "akamai",
        standin_options: vec![
            ("client_token", CLIENT_TOKEN.to_owned()),
            ("client_secret", CLIENT_SECRET.to_owned()),
            ("access_token", ACCESS_TOKEN.to_owned()),
        ],
        config: vec![
            ("host", HOST.to_owned(), false),
            ("client_token", CLIENT_TOKEN.to_owned(), true),
            ("client_secret", CLIENT_SECRET.to_owned(), true),
            ("access_token", ACCESS_TOKEN.to_owned(), true),
        ],
        api_path: "",
        // A wrong secret signs every request wrongly: 401 "The signature does not match".
        wrong_credentials: vec![(
            "client_secret",
            "akamaiWrongClientSecret+000000000000=".to_owned(),
        )],
        real_host: "https://akab-catalog7q2x9d4m-w3k8p5r1t6v0.luna.akamaiapis.net",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// An access token the API does not know: 401, unauthorized, nothing shown.
#[tokio::test]
async fn an_unknown_access_token_is_unauthorized() -> anyhow::Result<()> {
    let case = Case {
        wrong_credentials: vec![("access_token", "akab-someone-elses-access-token".to_owned())],
        ..case()
    };
    catalog::bad_credentials_are_unauthorized(&case).await
}

/// A call that fails after signed requests went out: neither the client secret, nor the
/// tokens, nor any signature the provider sent shows in its report.
#[tokio::test]
async fn secrets_and_signatures_stay_hidden() -> anyhow::Result<()> {
    // Every answer is a zone: the zone lookup succeeds, the record set read does not parse,
    // so the call fails after two signed requests.
    let answer = r#"{"zone": "example.test", "type": "PRIMARY"}"#;
    catalog::signatures_stay_hidden(&case(), answer, 2, |request| {
        let authorization = header(request, "authorization").unwrap_or_default();
        let signature = authorization
            .strip_prefix("EG1-HMAC-SHA256 client_token=")
            .and_then(|rest| rest.rsplit_once(";signature="))
            .map(|(_, signature)| signature)
            .filter(|signature| signature.len() == 44);
        let Some(signature) = signature else {
            anyhow::bail!("not an EdgeGrid signature: {authorization:?}");
        };
        Ok(vec![authorization.to_owned(), signature.to_owned()])
    })
    .await
}

/// A refused signature (a wrong secret) is `unauthorized` and carries Akamai's problem type
/// and detail, so an operator knows which key to check.
#[tokio::test]
async fn a_refused_signature_names_the_error_code() -> anyhow::Result<()> {
    let names = ["The signature does not match", "/-/pep-authn/deny"];
    catalog::refused_signature_is_named(&case(), &names)
        .await
        .map(drop)
}
