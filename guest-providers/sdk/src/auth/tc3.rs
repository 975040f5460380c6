//! Tencent Cloud API 3.0 request signatures (`TC3-HMAC-SHA256`, "signature v3"), for JSON
//! `POST` requests.
//!
//! Follows Tencent Cloud's "Signature v3" (<https://www.tencentcloud.com/document/api/213/33224>;
//! in Chinese, <https://cloud.tencent.com/document/api/213/30654>). A canonical request
//!
//! ```text
//! POST\n<path>\n\ncontent-type:<content type>\nhost:<host>\n\ncontent-type;host\n<SHA256_HEX(body)>
//! ```
//!
//! is hashed into the string to sign
//! `TC3-HMAC-SHA256\n<timestamp>\n<date>/<service>/tc3_request\n<SHA256_HEX(canonical request)>`,
//! which is signed with a key derived from the secret key by three HMAC-SHA256 steps
//! (`"TC3" + SecretKey` over the UTC date of the timestamp, then the service, then
//! `tc3_request`). The request names its API in headers: `X-TC-Action`, `X-TC-Version`,
//! `X-TC-Timestamp` (Unix seconds, within five minutes of Tencent Cloud's clock), `X-TC-Region`
//! where the API wants one, and `X-TC-Token` for temporary credentials. Only `content-type` and
//! `host` are signed, as Tencent Cloud's official SDKs do.
//!
//! ```no_run
//! use acmebox_provider::auth::tc3::{Credentials, Signer};
//!
//! # fn run() -> Result<(), acmebox_provider::ProviderError> {
//! let credentials = Credentials::new("AKID...", "secret-key", None);
//! let signer = Signer::new(credentials, "dnspod", "2021-03-23");
//! let body = serde_json::json!({ "Domain": "example.com", "Subdomain": "_acme-challenge" });
//! let response = signer
//!     .request("https://dnspod.tencentcloudapi.com", "DescribeRecordList", &body)
//!     .send()?;
//! # Ok(()) }
//! ```

use core::fmt;

use sha2::{Digest, Sha256};

use super::clock::{UtcTime, hex, unix_now};
use super::mac::hmac_sha256;
use crate::http::{Method, Request, url_parts};

/// The algorithm name, first in the string to sign and in `Authorization`.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The content type of the requests [`Signer::request`] builds, as Tencent Cloud's official
/// SDKs send it.
pub const CONTENT_TYPE: &str = "application/json";

/// A SecretId, its SecretKey and, for temporary credentials (from STS or a CAM role), a
/// session token. `Debug` shows only the SecretId.
#[derive(Clone)]
pub struct Credentials {
    secret_id: String,
    secret_key: String,
    token: Option<String>,
}

impl Credentials {
    /// Long-term API keys (`token` `None`) or temporary credentials with their token.
    pub fn new(
        secret_id: impl Into<String>,
        secret_key: impl Into<String>,
        token: Option<String>,
    ) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            token: token.filter(|t| !t.is_empty()),
        }
    }

    /// The SecretId, which names the key in `Authorization`.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// Signs requests to one Tencent Cloud API: a service (`dnspod`) at one version
/// (`2021-03-23`), optionally in one region.
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    service: String,
    version: String,
    region: Option<String>,
}

impl Signer {
    /// A signer for `service`, the first label of its endpoint (`dnspod` for
    /// `dnspod.tencentcloudapi.com`), at API `version`.
    pub fn new(credentials: Credentials, service: &str, version: &str) -> Self {
        Self {
            credentials,
            service: service.to_owned(),
            version: version.to_owned(),
            region: None,
        }
    }

    /// Sends `X-TC-Region: <region>` with every request; `None` or an empty region sends none
    /// (APIs such as DNSPod's take no region).
    pub fn with_region(mut self, region: Option<String>) -> Self {
        self.region = region.filter(|r| !r.is_empty());
        self
    }

    /// A `POST` of `payload` as compact JSON (the bytes signed are the bytes sent) to the API
    /// at `url`, calling `action`, signed now.
    pub fn request(&self, url: &str, action: &str, payload: &serde_json::Value) -> Request {
        let body = payload.to_string().into_bytes();
        let (host, path) = host_and_path(url);
        let mut request = Request::new(Method::Post, url);
        for (name, value) in self.sign(host, path, action, &body, unix_now()) {
            request = request.header(name, value);
        }
        request.body(body)
    }

    /// The headers a `POST` of `payload` to `path` on `host` calling `action` at `timestamp`
    /// must carry: `content-type`, `x-tc-action`, `x-tc-version`, `x-tc-timestamp`,
    /// `x-tc-region` and `x-tc-token` when set, and `authorization`. `host` is signed but not
    /// returned: the HTTP client sends it from the URL.
    pub fn sign(
        &self,
        host: &str,
        path: &str,
        action: &str,
        payload: &[u8],
        timestamp: u64,
    ) -> Vec<(String, String)> {
        let mut headers = vec![
            ("content-type".to_owned(), CONTENT_TYPE.to_owned()),
            ("x-tc-action".to_owned(), action.to_owned()),
            ("x-tc-version".to_owned(), self.version.clone()),
            ("x-tc-timestamp".to_owned(), timestamp.to_string()),
        ];
        if let Some(region) = &self.region {
            headers.push(("x-tc-region".to_owned(), region.clone()));
        }
        if let Some(token) = &self.credentials.token {
            headers.push(("x-tc-token".to_owned(), token.clone()));
        }
        let signature = signature(
            &self.credentials.secret_key,
            &self.service,
            &CanonicalRequest {
                path,
                content_type: CONTENT_TYPE,
                host,
                payload,
            },
            timestamp,
        );
        headers.push((
            "authorization".to_owned(),
            format!(
                "{ALGORITHM} Credential={}/{}/{}/tc3_request, SignedHeaders=content-type;host, \
                 Signature={signature}",
                self.credentials.secret_id,
                UtcTime::from_unix(timestamp).date(),
                self.service
            ),
        ));
        headers
    }
}

/// What a `POST`'s signature covers besides the key, the service and the time.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalRequest<'a> {
    /// The request's path, `/` for Tencent Cloud's endpoints.
    pub path: &'a str,
    /// The `Content-Type` header exactly as sent.
    pub content_type: &'a str,
    /// The `Host` header exactly as sent: the URL's host, and its port when it has one.
    pub host: &'a str,
    /// The body exactly as sent.
    pub payload: &'a [u8],
}

impl CanonicalRequest<'_> {
    /// The canonical request string of a `POST` with no query.
    pub fn to_text(&self) -> String {
        format!(
            "POST\n{}\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
            self.path,
            self.content_type.trim().to_ascii_lowercase(),
            self.host.trim().to_ascii_lowercase(),
            hex(&Sha256::digest(self.payload))
        )
    }
}

/// The hex `Signature` of `request` at `timestamp` for `service`, with `secret_key`.
pub fn signature(
    secret_key: &str,
    service: &str,
    request: &CanonicalRequest<'_>,
    timestamp: u64,
) -> String {
    let date = UtcTime::from_unix(timestamp).date();
    let string_to_sign = format!(
        "{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        hex(&Sha256::digest(request.to_text().as_bytes()))
    );
    let key = signing_key(secret_key, &date, service);
    hex(&hmac_sha256(&key, string_to_sign.as_bytes()))
}

/// The key that signs requests to `service` on `date` (`YYYY-MM-DD`, UTC).
fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    hmac_sha256(&k_service, b"tc3_request")
}

/// The authority of `url` (the `Host` header the client sends) and its path, `/` when empty.
fn host_and_path(url: &str) -> (&str, &str) {
    let (_, host, path_and_query) = url_parts(url);
    match path_and_query.split('?').next() {
        Some(path) if !path.is_empty() => (host, path),
        _ => (host, "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of the example in Tencent Cloud's "Signature v3"
    /// (<https://www.tencentcloud.com/document/api/213/33224>).
    const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    /// The example's timestamp, 2019-02-25T16:44:25Z: 2019-02-26 in UTC+8, so a date taken in
    /// Beijing time would sign for the wrong day.
    const EXAMPLE_TIME: u64 = 1_551_113_065;
    const EXAMPLE_BODY: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;

    fn example() -> CanonicalRequest<'static> {
        CanonicalRequest {
            path: "/",
            content_type: "application/json; charset=utf-8",
            host: "cvm.tencentcloudapi.com",
            payload: EXAMPLE_BODY.as_bytes(),
        }
    }

    /// Every intermediate value of the documented CVM `DescribeInstances` example.
    #[test]
    fn documented_example() {
        assert_eq!(
            example().to_text(),
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\n\
             host:cvm.tencentcloudapi.com\n\ncontent-type;host\n\
             35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            hex(&Sha256::digest(example().to_text().as_bytes())),
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            signature(SECRET_KEY, "cvm", &example(), EXAMPLE_TIME),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    /// The Chinese edition of the same page (<https://cloud.tencent.com/document/api/213/30654>)
    /// masks the key with asterisks and signs with the masked string.
    #[test]
    fn documented_example_of_the_chinese_edition() {
        assert_eq!(
            signature(
                "Gu5t9xGARNpq86cd98joQYCN3*******",
                "cvm",
                &example(),
                EXAMPLE_TIME
            ),
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
    }

    /// A DNSPod `CreateRecord` with a session token and a region, signed by the official Python
    /// SDK (`tencentcloud-sdk-python-common==3.1.130`, `AbstractClient`'s TC3 signing) at
    /// 2023-11-14T22:13:20Z; tests/standins/tests/test_tencentcloud.py
    /// (`test_the_official_client_signs_the_vector`) computes it again.
    #[test]
    fn official_sdk_vector() {
        let body = r#"{"Domain": "example.com", "SubDomain": "_acme-challenge", "RecordType": "TXT", "RecordLine": "\u9ed8\u8ba4", "Value": "abc", "TTL": 600}"#;
        let signer = Signer::new(
            Credentials::new(SECRET_ID, SECRET_KEY, Some("a-session-token".into())),
            "dnspod",
            "2021-03-23",
        )
        .with_region(Some("ap-guangzhou".into()));
        let headers = signer.sign(
            "dnspod.tencentcloudapi.com",
            "/",
            "CreateRecord",
            body.as_bytes(),
            1_700_000_000,
        );
        let want = [
            ("content-type", "application/json"),
            ("x-tc-action", "CreateRecord"),
            ("x-tc-version", "2021-03-23"),
            ("x-tc-timestamp", "1700000000"),
            ("x-tc-region", "ap-guangzhou"),
            ("x-tc-token", "a-session-token"),
            (
                "authorization",
                "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2023-11-14/\
                 dnspod/tc3_request, SignedHeaders=content-type;host, \
                 Signature=625c7748c9e3f9789b3d3b38845c9101c2877b3fd3ed2d0c0e9d7a38bf1a7f21",
            ),
        ];
        let got: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn no_region_or_token_sends_neither() {
        let signer = Signer::new(
            Credentials::new("id", "key", Some(String::new())),
            "dnspod",
            "v",
        )
        .with_region(Some(String::new()));
        let headers = signer.sign("h", "/", "A", b"{}", 0);
        assert!(
            !headers
                .iter()
                .any(|(n, _)| n == "x-tc-region" || n == "x-tc-token")
        );
        assert!(headers.iter().any(|(n, v)| n == "authorization"
            && v.contains("Credential=id/1970-01-01/dnspod/tc3_request")));
    }

    #[test]
    fn hosts_and_paths_come_from_the_url() {
        assert_eq!(
            host_and_path("https://dnspod.tencentcloudapi.com"),
            ("dnspod.tencentcloudapi.com", "/")
        );
        assert_eq!(
            host_and_path("http://127.0.0.1:8080/api?x#y"),
            ("127.0.0.1:8080", "/api")
        );
        assert_eq!(
            host_and_path("http://127.0.0.1:8080?x"),
            ("127.0.0.1:8080", "/")
        );
    }

    #[test]
    fn debug_hides_the_secret_and_the_token() {
        let signer = Signer::new(
            Credentials::new(SECRET_ID, SECRET_KEY, Some("a-session-token".into())),
            "dnspod",
            "2021-03-23",
        );
        let shown = format!("{signer:?}");
        assert!(shown.contains(SECRET_ID), "{shown}");
        assert!(
            !shown.contains(SECRET_KEY) && !shown.contains("a-session-token"),
            "{shown}"
        );
    }
}
