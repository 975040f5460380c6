//! Alibaba Cloud DNS (`guest-providers/alidns`) against `standins/alidns.py`, which checks every
//! request's RPC signature (HMAC-SHA1) with the signature composer of Alibaba Cloud's official
//! Python SDK (`aliyun-python-sdk-core`), and refuses stale timestamps and replayed nonces.

use acmebox_tests::catalog::{self, Case, ZONE};
use acmebox_tests::support::{APEX_VALUE, ensure_ok, record, unique};
use anyhow::ensure;

const ACCESS_KEY: &str = "LTAIcatalogAlidns7Qx";
const SECRET_KEY: &str = "alidns_catalog_access_key_secret_3b8e1f";
const SECURITY_TOKEN: &str = "CAISalidns+catalog/sts_token_c41d92==";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-alidns",
        vendor: "alidns",
        standin_options: vec![
            ("access_key", ACCESS_KEY.to_owned()),
            ("secret_key", SECRET_KEY.to_owned()),
            ("security_token", SECURITY_TOKEN.to_owned()),
        ],
        config: vec![
            ("access_key", ACCESS_KEY.to_owned(), true),
            ("secret_key", SECRET_KEY.to_owned(), true),
            ("security_token", SECURITY_TOKEN.to_owned(), true),
            ("region_id", "cn-shanghai".to_owned(), false),
        ],
        api_path: "",
        // A wrong secret signs every request wrongly: 400 SignatureDoesNotMatch, whose message
        // echoes the server's string to sign (AccessKey ID and token included).
        wrong_credentials: vec![(
            "secret_key",
            "alidns_wrong_access_key_secret_000000".to_owned(),
        )],
        real_host: "https://alidns.aliyuncs.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// An AccessKey ID the API does not know (404 `InvalidAccessKeyId.NotFound`, which is not "the
/// record is gone"), or STS credentials with another token (`InvalidSecurityToken.Mismatch`):
/// unauthorized, nothing shown.
#[tokio::test]
async fn an_unknown_key_or_token_is_unauthorized() -> anyhow::Result<()> {
    for wrong in [
        ("access_key", "LTAIsomeoneElsesKeyId".to_owned()),
        ("security_token", "CAISsomeone+elses/token==".to_owned()),
    ] {
        let case = Case {
            wrong_credentials: vec![wrong],
            ..case()
        };
        catalog::bad_credentials_are_unauthorized(&case).await?;
    }
    Ok(())
}

/// A call that fails after signed requests went out: neither the secret, nor the AccessKey ID,
/// nor the token, nor any signature the provider sent shows in its report (percent-encoded
/// either), and no parameter went in the URL.
#[tokio::test]
async fn secrets_and_signatures_stay_hidden() -> anyhow::Result<()> {
    // Every answer lists the zone: the zone lookup succeeds, the AddDomainRecord answer has no
    // RecordId and does not parse, so the call fails after two signed requests.
    let answer = r#"{"TotalCount":1,"PageNumber":1,"PageSize":100,"RequestId":"R",
        "Domains":{"Domain":[{"DomainName":"example.test","PunyCode":"example.test"}]}}"#;
    catalog::signatures_stay_hidden(&case(), answer, 2, |request| {
        ensure!(
            request.method == "POST" && request.target == "/",
            "parameters belong in the body: {} {}",
            request.method,
            request.target
        );
        let form = parse_form(&request.body);
        for (name, value) in [
            ("AccessKeyId", ACCESS_KEY),
            ("SecurityToken", SECURITY_TOKEN),
            ("SignatureMethod", "HMAC-SHA1"),
        ] {
            ensure!(
                form.iter().any(|(k, v)| k == name && v == value),
                "{name} missing from {form:?}"
            );
        }
        let Some(signature) = form
            .iter()
            .find(|(k, v)| k == "Signature" && v.len() == 28 && v.ends_with('='))
            .map(|(_, v)| v.clone())
        else {
            anyhow::bail!("no base64 HMAC-SHA1 signature in {form:?}");
        };
        let mut hidden = vec![encode(&signature), signature];
        hidden.extend([ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN].map(encode));
        Ok(hidden)
    })
    .await
}

/// A refused signature (a wrong secret) is `unauthorized` and names the API's error code, so
/// an operator knows which key to check; the string to sign the API echoes is not shown.
#[tokio::test]
async fn a_refused_signature_names_the_error_code() -> anyhow::Result<()> {
    let message = catalog::refused_signature_is_named(&case(), &["SignatureDoesNotMatch"]).await?;
    ensure!(!message.contains("string to sign"), "message: {message}");
    Ok(())
}

/// Presenting a value twice adds one record (the second `AddDomainRecord` is refused with
/// `DomainRecordDuplicate`, which is success); one cleanup removes it.
#[tokio::test]
async fn presenting_twice_keeps_one_record() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("alidns-twice");
    let txt = record(&domain, APEX_VALUE, Some(ZONE));
    for _ in 0..2 {
        ensure_ok(&loaded.present(&txt).await)?;
    }
    let name = format!("_acme-challenge.{domain}");
    ensure!(
        standin.txt(&name)? == [APEX_VALUE],
        "{:?}",
        standin.txt(&name)?
    );
    ensure_ok(&loaded.cleanup(&txt).await)?;
    ensure!(standin.txt(&name)?.is_empty(), "{:?}", standin.txt(&name)?);
    Ok(())
}

/// The pairs of an `application/x-www-form-urlencoded` body, decoded.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = if bytes[i] == b'%' {
            s.get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        } else {
            None
        };
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
