//! Tencent Cloud DNSPod (`guest-providers/tencentcloud`) against `standins/tencentcloud.py`,
//! which checks every request's TC3-HMAC-SHA256 signature with the signing code of Tencent
//! Cloud's official Python SDK (`tencentcloud-sdk-python-common`).

use acmebox_tests::catalog::{self, Case};
use acmebox_tests::support::header;

const SECRET_ID: &str = "AKIDcatalogTencentCloud7Qx";
const SECRET_KEY: &str = "tencentcloud_catalog_secret_key_3b8e1f";
const SESSION_TOKEN: &str = "tencentcloud_catalog_session_token_c41d92";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-tencentcloud",
        vendor: "tencentcloud",
        standin_options: vec![
            ("secret_id", SECRET_ID.to_owned()),
            ("secret_key", SECRET_KEY.to_owned()),
            ("session_token", SESSION_TOKEN.to_owned()),
        ],
        config: vec![
            ("secret_id", SECRET_ID.to_owned(), true),
            ("secret_key", SECRET_KEY.to_owned(), true),
            ("session_token", SESSION_TOKEN.to_owned(), true),
            // DNSPod takes no region; one sent anyway changes nothing.
            ("region", "ap-guangzhou".to_owned(), false),
        ],
        api_path: "",
        // A wrong secret key signs every request wrongly: AuthFailure.SignatureFailure.
        wrong_credentials: vec![(
            "secret_key",
            "tencentcloud_wrong_secret_key_000000".to_owned(),
        )],
        real_host: "https://dnspod.tencentcloudapi.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// A SecretId the API does not know (`AuthFailure.SecretIdNotFound`), or temporary credentials
/// with the wrong token (`AuthFailure.TokenFailure`): unauthorized, nothing shown.
#[tokio::test]
async fn an_unknown_secret_id_or_token_is_unauthorized() -> anyhow::Result<()> {
    for wrong in [
        ("secret_id", "AKIDsomeoneElsesTencentKey".to_owned()),
        (
            "session_token",
            "tencentcloud_someone_elses_token".to_owned(),
        ),
    ] {
        let case = Case {
            wrong_credentials: vec![wrong],
            ..case()
        };
        catalog::bad_credentials_are_unauthorized(&case).await?;
    }
    Ok(())
}

/// A call that fails after signed requests went out: neither the SecretKey, nor the SecretId,
/// nor the session token, nor any signature the provider sent shows in its report.
#[tokio::test]
async fn secrets_and_signatures_stay_hidden() -> anyhow::Result<()> {
    // Every answer lists the zone: the domain lookup succeeds, the record listing finds none,
    // and CreateRecord's answer has no RecordId, so the call fails after three signed requests.
    let answer = r#"{"Response": {"DomainList": [{"DomainId": 1000, "Name": "example.test"}], "RequestId": "r"}}"#;
    catalog::signatures_stay_hidden(&case(), answer, 3, |request| {
        let authorization = header(request, "authorization").unwrap_or_default();
        let Some((_, signature)) = authorization
            .split_once("Signature=")
            .filter(|(_, signature)| signature.len() == 64)
        else {
            anyhow::bail!("not a TC3 signature: {authorization:?}");
        };
        Ok(vec![authorization.to_owned(), signature.to_owned()])
    })
    .await
}

/// A refused signature (a wrong secret key) is `unauthorized` and names Tencent Cloud's error
/// code, so an operator knows which key to check.
#[tokio::test]
async fn a_refused_signature_names_the_error_code() -> anyhow::Result<()> {
    catalog::refused_signature_is_named(&case(), &["AuthFailure.SignatureFailure"])
        .await
        .map(drop)
}
