//! Alibaba Cloud RPC-style request signatures (signature version 1.0, `HMAC-SHA1`), as Alibaba
//! Cloud DNS (Alidns), ECS and the other RPC APIs of Alibaba Cloud take them.
//!
//! Alibaba's "Request signatures" reference
//! (<https://www.alibabacloud.com/help/en/ecs/developer-reference/request-signatures>, the same
//! text as Alidns's "Signature mechanism",
//! <https://www.alibabacloud.com/help/en/alidns-intl/latest/signature>) defines it:
//!
//! 1. every parameter of the request but `Signature` (the action's and the common ones:
//!    `Format`, `Version`, `AccessKeyId`, `SignatureMethod`, `Timestamp`, `SignatureVersion`,
//!    `SignatureNonce`, and `SecurityToken` for STS credentials), names and values
//!    percent-encoded (RFC 3986: all but `A-Z a-z 0-9 - _ . ~`, a space as `%20`), sorted by
//!    name and joined as `name=value` with `&`, is the canonicalized query string;
//! 2. `StringToSign = METHOD + "&" + percentEncode("/") + "&" + percentEncode(canonicalized)`;
//! 3. `Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))`.
//!
//! The API refuses a `Timestamp` more than 15 minutes from its clock and a `SignatureNonce` it
//! has seen before, so each request gets a fresh UUID and the host's time.
//!
//! [`Signer::request`] sends every parameter, `Signature` included, in an
//! `application/x-www-form-urlencoded` POST body, so neither the signature nor the key id is in
//! the URL (which the HTTP client puts in its error messages).
//!
//! ```no_run
//! use acmebox_provider::auth::aliyun::{Credentials, Signer};
//!
//! # fn run() -> Result<(), acmebox_provider::ProviderError> {
//! let signer = Signer::new(Credentials::new("LTAI-key-id", "key-secret", None), "2015-01-09");
//! let response = signer
//!     .request("https://alidns.aliyuncs.com/", "DescribeDomains", &[("KeyWord", "example.com")])
//!     .send()?;
//! # Ok(()) }
//! ```

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::clock::{UtcTime, uuid_v4};
use super::mac::hmac_sha1;
use crate::http::{Method, Request, encode_component};

/// The `SignatureMethod` this module signs with.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";

/// The `SignatureVersion` this module signs with.
pub const SIGNATURE_VERSION: &str = "1.0";

/// The names of the parameters [`Signer::sign`] sets itself; a caller's parameter of the same
/// name is dropped.
const COMMON: [&str; 9] = [
    "Action",
    "Format",
    "Version",
    "AccessKeyId",
    "SignatureMethod",
    "Timestamp",
    "SignatureVersion",
    "SignatureNonce",
    "SecurityToken",
];

/// An AccessKey pair and, for temporary credentials from Alibaba Cloud STS, their security
/// token. `Debug` shows only the AccessKey ID.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
}

impl Credentials {
    /// A long-term AccessKey pair (`security_token` `None`) or an STS one with its token.
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<String>,
        security_token: Option<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: security_token.filter(|t| !t.is_empty()),
        }
    }

    /// The AccessKey ID, which every request carries as `AccessKeyId`.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Signs the requests of one RPC API version (`2015-01-09` for Alidns).
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    version: String,
}

impl Signer {
    /// A signer for the API whose `Version` parameter is `version`.
    pub fn new(credentials: Credentials, version: &str) -> Self {
        Self {
            credentials,
            version: version.to_owned(),
        }
    }

    /// A POST to `endpoint` calling `action` with `params`, signed now with a fresh nonce:
    /// every parameter, `Signature` included, is in the form body. Responses are JSON
    /// (`Format=JSON`).
    pub fn request(&self, endpoint: &str, action: &str, params: &[(&str, &str)]) -> Request {
        let signed = self.sign(Method::Post, action, params, &UtcTime::now(), &uuid_v4());
        Request::post(endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&signed))
    }

    /// Every parameter of a call to `action` with `params` sent with `method` at `at` with
    /// `nonce`: the caller's (less any named like a common one), the common ones, and
    /// `Signature` last.
    pub fn sign(
        &self,
        method: Method,
        action: &str,
        params: &[(&str, &str)],
        at: &UtcTime,
        nonce: &str,
    ) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = params
            .iter()
            .filter(|(name, _)| !COMMON.contains(name))
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let credentials = &self.credentials;
        for (name, value) in [
            ("Action", action),
            ("Format", "JSON"),
            ("Version", &self.version),
            ("AccessKeyId", &credentials.access_key_id),
            ("SignatureMethod", SIGNATURE_METHOD),
            ("Timestamp", &at.iso8601()),
            ("SignatureVersion", SIGNATURE_VERSION),
            ("SignatureNonce", nonce),
        ] {
            all.push((name.to_owned(), value.to_owned()));
        }
        if let Some(token) = &credentials.security_token {
            all.push(("SecurityToken".to_owned(), token.clone()));
        }
        let to_sign = string_to_sign(&method.to_string(), &all);
        all.push((
            "Signature".to_owned(),
            signature(&credentials.access_key_secret, &to_sign),
        ));
        all
    }
}

/// The string to sign of a request sent with `method` (upper-cased) carrying `params`
/// (`Signature` excepted): `METHOD&%2F&` and the percent-encoded canonicalized query string.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| name != "Signature")
        .map(|(n, v)| (encode_component(n), encode_component(v)))
        .collect();
    pairs.sort();
    let canonical = pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode_component("/"),
        encode_component(&canonical)
    )
}

/// `Base64(HMAC-SHA1(access_key_secret + "&", string_to_sign))`.
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let key = format!("{access_key_secret}&");
    STANDARD.encode(hmac_sha1(key.as_bytes(), string_to_sign.as_bytes()))
}

/// `params` as an `application/x-www-form-urlencoded` body (or query string), each name and
/// value percent-encoded as the signature encodes them.
pub fn form(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(n, v)| format!("{}={}", encode_component(n), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2016-02-23T12:46:24Z, the time of Alibaba's example.
    const EXAMPLE_TIME: u64 = 1_456_231_584;
    const EXAMPLE_NONCE: &str = "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf";

    fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
        params
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The worked example of Alibaba's "Request signatures" reference
    /// (<https://www.alibabacloud.com/help/en/ecs/developer-reference/request-signatures>,
    /// "Example"): `DescribeRegions` with AccessKey `testid` / `testsecret`, signed with the
    /// key `testsecret&`, is `OLeaidS1JvxuMvnyHOwuJ+uX5qY=`.
    #[test]
    fn documented_example() {
        let params = owned(&[
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", EXAMPLE_NONCE),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ]);
        let to_sign = string_to_sign("GET", &params);
        assert_eq!(
            to_sign,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\
             %26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z\
             %26Version%3D2014-05-26"
        );
        assert_eq!(
            signature("testsecret", &to_sign),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    /// An Alidns `AddDomainRecord` POST with an STS token and a value needing `%20` and `%2A`,
    /// signed by Alibaba's official Python SDK (`aliyun-python-sdk-core==2.16.1`, its RPC
    /// signature composer and `sha_hmac1`) with the same parameters; the stand-in tests
    /// recompute it (tests/standins/tests/test_alidns.py,
    /// `test_the_official_sdk_signs_the_vectors`).
    #[test]
    fn sts_post_vector() {
        let signer = Signer::new(
            Credentials::new("testid", "testsecret", Some("CAIS+sts/token=".into())),
            "2015-01-09",
        );
        let signed = signer.sign(
            Method::Post,
            "AddDomainRecord",
            &[
                ("DomainName", "example.com"),
                ("RR", "_acme-challenge.www"),
                ("Type", "TXT"),
                ("Value", "a b*c~d"),
                ("TTL", "600"),
            ],
            &UtcTime::from_unix(EXAMPLE_TIME),
            EXAMPLE_NONCE,
        );
        let last = signed.last().cloned().unwrap_or_default();
        assert_eq!(
            last,
            (
                "Signature".to_owned(),
                "VCD5LhpFVld/yuUK7uhb2BuyPIA=".to_owned()
            )
        );
        assert!(signed.contains(&("SecurityToken".into(), "CAIS+sts/token=".into())));
        assert!(signed.contains(&("Timestamp".into(), "2016-02-23T12:46:24Z".into())));
    }

    #[test]
    fn common_parameters_cannot_be_overridden() {
        let signer = Signer::new(Credentials::new("id", "secret", None), "2015-01-09");
        let signed = signer.sign(
            Method::Post,
            "DescribeDomains",
            &[("Version", "1999-01-01"), ("AccessKeyId", "other")],
            &UtcTime::from_unix(EXAMPLE_TIME),
            EXAMPLE_NONCE,
        );
        let versions: Vec<&str> = signed
            .iter()
            .filter(|(n, _)| n == "Version" || n == "AccessKeyId")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(versions, ["2015-01-09", "id"]);
        assert!(!signed.iter().any(|(n, _)| n == "SecurityToken"));
    }

    #[test]
    fn forms_encode_like_the_signature() {
        let body = form(&owned(&[("RR", "@"), ("Value", "a b+c/d~")]));
        assert_eq!(body, "RR=%40&Value=a%20b%2Bc%2Fd~");
    }

    #[test]
    fn credentials_debug_hides_the_secret_and_token() {
        let shown = format!(
            "{:?}",
            Credentials::new("LTAIkeyid", "very-secret", Some("sts-token".into()))
        );
        assert!(shown.contains("LTAIkeyid"), "{shown}");
        assert!(!shown.contains("very-secret") && !shown.contains("sts-token"));
    }

    #[test]
    fn requests_keep_the_signature_out_of_the_url() {
        let signer = Signer::new(Credentials::new("id", "secret", None), "2015-01-09");
        let request = signer.request("https://alidns.aliyuncs.com/", "DescribeDomains", &[]);
        assert_eq!(request.url(), "https://alidns.aliyuncs.com/");
        assert_eq!(request.method(), Method::Post);
        let shown = format!("{request:?}");
        assert!(!shown.contains("Signature") && !shown.contains("secret"));
    }
}
