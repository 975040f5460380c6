//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`) request signing, in the `Authorization` header.
//!
//! Follows AWS's "Create a signed AWS API request"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>):
//! a canonical request (method, the path encoded once more, the sorted query, the signed headers
//! lower-cased and trimmed, the SHA-256 of the body) is hashed into a string to sign, which is
//! signed with a key derived from the secret by four HMAC-SHA256 steps (date, region, service,
//! `aws4_request`). The request carries `X-Amz-Date` and, for temporary credentials,
//! `X-Amz-Security-Token`; both are signed, with `host` and any header the caller sets.
//!
//! The `aws-sigv4` crate was not used: for wasm32-wasip2 it brings in about 50 crates (the Smithy
//! runtime, `http`, `tokio`, `time`, `tracing`), where this needs `hmac` and `sha2`.
//! The unit tests check it against AWS's published SigV4 test suite.
//!
//! ```no_run
//! use acmebox_provider::auth::sigv4::{Credentials, Signer};
//! use acmebox_provider::http::Method;
//!
//! # fn run() -> Result<(), acmebox_provider::ProviderError> {
//! let signer = Signer::new(Credentials::new("AKID", "secret", None), "us-east-1", "route53");
//! let response = signer
//!     .request(Method::Get, "https://route53.amazonaws.com/2013-04-01/hostedzonesbyname?dnsname=example.com", &[], Vec::new())
//!     .send()?;
//! # Ok(()) }
//! ```

use core::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::clock::{UtcTime, hex};
use super::mac::hmac_sha256;
use crate::http::{Method, Request, url_parts};

/// An access key id, its secret access key and, for temporary credentials, a session token.
/// `Debug` shows only the access key id.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl Credentials {
    /// Long-term credentials (`session_token` `None`) or temporary ones from AWS STS.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: session_token.filter(|t| !t.is_empty()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Signs requests for one service in one region.
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    region: String,
    service: String,
}

impl Signer {
    /// A signer for `service` (`route53`) in `region` (`us-east-1`).
    pub fn new(credentials: Credentials, region: &str, service: &str) -> Self {
        Self {
            credentials,
            region: region.to_owned(),
            service: service.to_owned(),
        }
    }

    /// A request to `url` with `headers` and `body`, signed now. The URL's path and query must
    /// already be percent-encoded (as [`http::encode_component`](crate::http::encode_component)
    /// does); the signature covers the request exactly as sent.
    pub fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Request {
        let mut request = Request::new(method, url);
        for (name, value) in self.sign(method, url, headers, &body, SystemTime::now()) {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        request
    }

    /// The headers a request must carry to be signed at `at`: the caller's `headers`, then
    /// `x-amz-date`, `x-amz-security-token` (temporary credentials) and `authorization`.
    /// `host` is signed but not returned: the HTTP client sends it from the URL.
    pub fn sign(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        at: SystemTime,
    ) -> Vec<(String, String)> {
        let stamp = amz_date(at);
        let mut out: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
            .collect();
        out.push(("x-amz-date".into(), stamp.clone()));
        if let Some(token) = &self.credentials.session_token {
            out.push(("x-amz-security-token".into(), token.clone()));
        }
        let parts = UrlParts::parse(url);
        let mut signed: Vec<(String, String)> = out.clone();
        signed.push(("host".into(), parts.host.clone()));
        let canonical = canonical_request(method, &parts, &mut signed, body);
        let scope = format!(
            "{}/{}/{}/aws4_request",
            &stamp[..8],
            self.region,
            self.service
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let key = signing_key(
            &self.credentials.secret_access_key,
            &stamp[..8],
            &self.region,
            &self.service,
        );
        let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
        let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
        out.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
                self.credentials.access_key_id,
                names.join(";")
            ),
        ));
        out
    }
}

/// The key that signs requests on `date` (`YYYYMMDD`) for `service` in `region`.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// The canonical request; sorts `headers` (lower-case names) into signing order and merges
/// repeated names.
fn canonical_request(
    method: Method,
    url: &UrlParts,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
) -> String {
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(String, String)> = Vec::new();
    for (name, value) in headers.drain(..) {
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match merged.last_mut() {
            Some((last, values)) if *last == name => {
                values.push(',');
                values.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    *headers = merged;
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{}\n{}",
        encode(&url.path, true),
        canonical_query(&url.query),
        signed.join(";"),
        hex(&Sha256::digest(body))
    )
}

/// The query's pairs, each name and value decoded and encoded again, sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (encode(&decode(name), false), encode(&decode(value), false))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes all but RFC 3986's unreserved characters (and `/` when `keep_slash`),
/// upper-case hex.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes percent-encoding. A `+` stays a `+` (encoded again as `%2B`).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| Some((hex_digit(*bytes.get(i + 1)?)? << 4) | hex_digit(*bytes.get(i + 2)?)?))
            .flatten();
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parts of a URL the signature covers.
#[derive(Debug)]
struct UrlParts {
    /// `host[:port]`, the port left out when it is the scheme's default.
    host: String,
    /// The path as in the URL (already percent-encoded), `/` when empty.
    path: String,
    query: String,
}

impl UrlParts {
    fn parse(url: &str) -> Self {
        let (scheme, authority, path_and_query) = url_parts(url);
        let scheme = scheme.unwrap_or("https");
        let authority = authority.to_ascii_lowercase();
        let default_port = if scheme.eq_ignore_ascii_case("http") {
            ":80"
        } else {
            ":443"
        };
        let host = authority
            .strip_suffix(default_port)
            .unwrap_or(&authority)
            .to_owned();
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Self {
            host,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            query: query.to_owned(),
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` of `at`, in UTC.
fn amz_date(at: SystemTime) -> String {
    UtcTime::from_unix(at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())).basic()
}

fn hex_digit(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    //! Vectors from AWS's SigV4 test suite (`aws-sig-v4-test-suite`, 2015-08-30, published with
    //! <https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html> and kept in
    //! github.com/awslabs/aws-c-auth, `tests/aws-signing-test-suite/v4/`), and the signing-key
    //! example of AWS's "Examples of how to derive a signing key".

    use std::time::Duration;

    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SCOPE: &str =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    /// 2015-08-30T12:36:00Z.
    const SUITE_TIME: u64 = 1_440_938_160;
    const STS_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    /// A suite case: name, method, URL, headers, body, session token, expected authorization.
    type Case<'a> = (
        &'a str,
        Method,
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [u8],
        Option<&'a str>,
        &'a str,
    );

    fn suite(token: Option<&str>) -> Signer {
        Signer::new(
            Credentials::new("AKIDEXAMPLE", SECRET, token.map(str::to_owned)),
            "us-east-1",
            "service",
        )
    }

    fn authorization(headers: &[(String, String)]) -> &str {
        headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .map_or("", |(_, v)| v.as_str())
    }

    #[test]
    fn matches_the_aws_test_suite() {
        let at = UNIX_EPOCH + Duration::from_secs(SUITE_TIME);
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        #[rustfmt::skip]
        let cases: [Case<'_>; 6] = [
            ("get-vanilla", Method::Get, "https://example.amazonaws.com/", &[], b"", None,
             "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            ("post-vanilla", Method::Post, "https://example.amazonaws.com/", &[], b"", None,
             "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
            ("get-vanilla-query-order-key-case", Method::Get, "https://example.amazonaws.com/?Param2=value2&Param1=value1", &[], b"", None,
             "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
            ("post-header-value-case", Method::Post, "https://example.amazonaws.com/", &[("My-Header1", "VALUE1")], b"", None,
             "SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
            ("post-x-www-form-urlencoded", Method::Post, "https://example.amazonaws.com/", &form, b"Param1=value1", None,
             "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
            ("post-sts-header-before", Method::Post, "https://example.amazonaws.com/", &[], b"", Some(STS_TOKEN),
             "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
        ];
        for (name, method, url, headers, body, token, want) in cases {
            let signed = suite(token).sign(method, url, headers, body, at);
            assert_eq!(authorization(&signed), format!("{SCOPE}, {want}"), "{name}");
            assert!(
                signed.contains(&("x-amz-date".into(), "20150830T123600Z".into())),
                "{name}"
            );
            assert!(!signed.iter().any(|(n, _)| n == "host"), "{name}");
        }
    }

    #[test]
    fn derives_the_documented_signing_key() {
        assert_eq!(
            hex(&signing_key(SECRET, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn canonicalizes_queries_paths_and_hosts() {
        assert_eq!(
            canonical_query("name=_acme-challenge.a.example.com.&type=TXT&maxitems=1"),
            "maxitems=1&name=_acme-challenge.a.example.com.&type=TXT"
        );
        assert_eq!(canonical_query("b=a%20b&a=%2a&c"), "a=%2A&b=a%20b&c=");
        assert_eq!(encode("/a b/%2A", true), "/a%20b/%252A");
        assert_eq!(
            UrlParts::parse("https://Route53.amazonaws.com:443/x").host,
            "route53.amazonaws.com"
        );
        assert_eq!(
            UrlParts::parse("http://127.0.0.1:8080").host,
            "127.0.0.1:8080"
        );
        assert_eq!(UrlParts::parse("http://127.0.0.1:8080").path, "/");
    }

    #[test]
    fn formats_dates() {
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(SUITE_TIME)),
            "20150830T123600Z"
        );
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "20240229T235959Z"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", suite(Some(STS_TOKEN)));
        assert!(
            !debug.contains(SECRET) && !debug.contains(STS_TOKEN),
            "{debug}"
        );
    }
}
