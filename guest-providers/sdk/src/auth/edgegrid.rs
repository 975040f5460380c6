//! Akamai EdgeGrid request signing (`EG1-HMAC-SHA256`), in the `Authorization` header.
//!
//! Follows Akamai's "Authenticate with EdgeGrid"
//! (<https://techdocs.akamai.com/developer/docs/authenticate-with-edgegrid>). A request carries
//!
//! ```text
//! Authorization: EG1-HMAC-SHA256 client_token=<ct>;access_token=<at>;timestamp=<ts>;nonce=<n>;signature=<sig>
//! ```
//!
//! with the timestamp `yyyyMMddTHH:mm:ss+0000` (UTC) and a fresh UUID as nonce, which the API
//! uses to detect replays. The signature is the base64 HMAC-SHA256 of the *data to sign*, keyed
//! with the *signing key*, itself the base64 HMAC-SHA256 of the timestamp keyed with the client
//! secret (the base64 text, not its bytes, keys the second HMAC). The data to sign joins with
//! tabs: the upper-case method, the scheme, the host (`host[:port]` as in the URL), the path and
//! query as sent, the headers the API asks to have signed (`name:value`, in the order asked,
//! value trimmed and inner whitespace collapsed; none for most APIs), the base64 SHA-256 of the
//! body (POST only, its first `max_body` bytes, empty for an empty body) and the
//! `Authorization` value up to and including `nonce=<n>;`.
//!
//! The unit tests check it against the vectors Akamai publishes with its Python client
//! (<https://github.com/akamai/AkamaiOPEN-edgegrid-python>, `akamai/edgegrid/test/testdata.json`
//! and `testcases.json`).
//!
//! ```no_run
//! use acmebox_provider::auth::edgegrid::{Credentials, Signer};
//! use acmebox_provider::http::Method;
//!
//! # fn run() -> Result<(), acmebox_provider::ProviderError> {
//! let signer = Signer::new(Credentials::new("akab-client-token", "secret", "akab-access-token"));
//! let response = signer
//!     .request(
//!         Method::Get,
//!         "https://akab-xxxx.luna.akamaiapis.net/config-dns/v2/zones/example.com",
//!         &[],
//!         Vec::new(),
//!     )
//!     .send()?;
//! # Ok(()) }
//! ```

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::clock::{UtcTime, uuid_v4};
use super::mac::hmac_sha256;
use crate::http::{Method, Request, url_parts};

/// The most bytes of a POST body the signature covers unless the API says otherwise: 128 KiB,
/// the default of Akamai's clients and of lego's `edgedns` provider. Past it the body is signed
/// truncated, as the API verifies it.
pub const DEFAULT_MAX_BODY: usize = 131_072;

/// The algorithm moniker that starts the `Authorization` value.
const MONIKER: &str = "EG1-HMAC-SHA256";

/// An API client's client token, client secret and access token. `Debug` shows none of them.
#[derive(Clone)]
pub struct Credentials {
    client_token: String,
    client_secret: String,
    access_token: String,
}

impl Credentials {
    /// The three tokens of an Akamai API client (the `client_token`, `client_secret` and
    /// `access_token` of an `.edgerc` section).
    pub fn new(
        client_token: impl Into<String>,
        client_secret: impl Into<String>,
        access_token: impl Into<String>,
    ) -> Self {
        Self {
            client_token: client_token.into(),
            client_secret: client_secret.into(),
            access_token: access_token.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

/// Signs requests with [`Credentials`].
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    max_body: usize,
    /// Lower-case names of the headers to sign, in order.
    headers_to_sign: Vec<String>,
}

impl Signer {
    /// A signer that hashes up to [`DEFAULT_MAX_BODY`] bytes of a POST body and signs no
    /// headers, which is what Akamai's APIs ask unless their reference says otherwise.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            max_body: DEFAULT_MAX_BODY,
            headers_to_sign: Vec::new(),
        }
    }

    /// Hashes at most `max_body` bytes of a POST body (an `.edgerc`'s `max_body`).
    pub fn with_max_body(mut self, max_body: usize) -> Self {
        self.max_body = max_body;
        self
    }

    /// Signs these request headers, in this order, when a request carries them (an `.edgerc`'s
    /// `headers_to_sign`).
    pub fn with_headers_to_sign(mut self, names: &[&str]) -> Self {
        self.headers_to_sign = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        self
    }

    /// A request to `url` with `headers` and `body`, signed now with a fresh nonce. The URL's
    /// path and query must already be percent-encoded (as
    /// [`http::encode_component`](crate::http::encode_component) does); the signature covers
    /// them as sent.
    pub fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Request {
        let authorization = self.sign(
            method,
            url,
            headers,
            &body,
            &timestamp(&UtcTime::now()),
            &uuid_v4(),
        );
        let mut request = Request::new(method, url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request = request.header("authorization", authorization);
        if !body.is_empty() {
            request = request.body(body);
        }
        request
    }

    /// The `Authorization` value of a request with `method` to `url`, carrying `headers` and
    /// `body`, signed at `timestamp` (as [`timestamp`] formats it) with `nonce`.
    pub fn sign(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timestamp: &str,
        nonce: &str,
    ) -> String {
        let unsigned = format!(
            "{MONIKER} client_token={};access_token={};timestamp={timestamp};nonce={nonce};",
            self.credentials.client_token, self.credentials.access_token
        );
        let data = self.data_to_sign(method, url, headers, body, &unsigned);
        let key = signing_key(&self.credentials.client_secret, timestamp);
        format!(
            "{unsigned}signature={}",
            STANDARD.encode(hmac_sha256(key.as_bytes(), data.as_bytes()))
        )
    }

    /// The tab-separated text the signature covers; `unsigned` is the `Authorization` value
    /// up to the signature.
    fn data_to_sign(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        unsigned: &str,
    ) -> String {
        let parts = UrlParts::parse(url);
        [
            method.to_string().as_str(),
            &parts.scheme,
            &parts.host,
            &parts.path_and_query,
            &self.canonical_headers(headers),
            &self.content_hash(method, body),
            unsigned,
        ]
        .join("\t")
    }

    /// `name:value` of each header to sign that `headers` holds, in signing order, joined by
    /// tabs; the value trimmed and its runs of whitespace made one space.
    fn canonical_headers(&self, headers: &[(&str, &str)]) -> String {
        self.headers_to_sign
            .iter()
            .filter_map(|name| {
                let (_, value) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
                Some(format!(
                    "{name}:{}",
                    value.split_whitespace().collect::<Vec<_>>().join(" ")
                ))
            })
            .collect::<Vec<_>>()
            .join("\t")
    }

    /// The base64 SHA-256 of the first `max_body` bytes of a POST body; empty for any other
    /// method and for an empty body.
    fn content_hash(&self, method: Method, body: &[u8]) -> String {
        if method != Method::Post || body.is_empty() {
            return String::new();
        }
        let signed = &body[..body.len().min(self.max_body)];
        STANDARD.encode(Sha256::digest(signed))
    }
}

/// `at` as an EdgeGrid timestamp, `yyyyMMddTHH:mm:ss+0000`: `20140321T19:34:21+0000`.
pub fn timestamp(at: &UtcTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}:{:02}:{:02}+0000",
        at.year, at.month, at.day, at.hour, at.minute, at.second
    )
}

/// The key that signs requests made at `timestamp`: the base64 HMAC-SHA256 of the timestamp,
/// keyed with the client secret.
fn signing_key(client_secret: &str, timestamp: &str) -> String {
    STANDARD.encode(hmac_sha256(client_secret.as_bytes(), timestamp.as_bytes()))
}

/// The parts of a URL the signature covers.
#[derive(Debug, PartialEq, Eq)]
struct UrlParts {
    /// Lower case.
    scheme: String,
    /// `host[:port]` as in the URL.
    host: String,
    /// The path (`/` when empty) and the query, as in the URL.
    path_and_query: String,
}

impl UrlParts {
    fn parse(url: &str) -> Self {
        let (scheme, host, path_and_query) = url_parts(url);
        let scheme = scheme.unwrap_or("https");
        let path_and_query = match path_and_query.chars().next() {
            Some('/') => path_and_query.to_owned(),
            _ => format!("/{path_and_query}"),
        };
        Self {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_owned(),
            path_and_query,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Akamai's published vectors, from github.com/akamai/AkamaiOPEN-edgegrid-python:
    //! `akamai/edgegrid/test/testdata.json` (the credentials, timestamp, nonce, `max_body`,
    //! `headers_to_sign`, the signing key, a content hash and a JSON POST) and
    //! `akamai/edgegrid/test/testcases.json` (one request per case and the `Authorization` it
    //! gets). The same files ship in the `edgegrid-python` package on PyPI
    //! (<https://pypi.org/project/edgegrid-python/>). The stand-in tests recompute the JSON POST
    //! vector and the record-set vectors with that package (tests/standins/tests/test_akamai.py,
    //! `test_the_official_client_signs_the_vectors`).

    use super::*;

    const BASE: &str = "https://akaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net";
    const CLIENT_TOKEN: &str = "akab-client-token-xxx-xxxxxxxxxxxxxxxx";
    const ACCESS_TOKEN: &str = "akab-access-token-xxx-xxxxxxxxxxxxxxxx";
    const CLIENT_SECRET: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=";
    const TIMESTAMP: &str = "20140321T19:34:21+0000";
    const NONCE: &str = "nonce-xx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    /// A case: name, method, path, headers, body, expected signature.
    type Case<'a> = (
        &'a str,
        Method,
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [u8],
        &'a str,
    );

    fn credentials() -> Credentials {
        Credentials::new(CLIENT_TOKEN, CLIENT_SECRET, ACCESS_TOKEN)
    }

    /// The signer of testcases.json: `max_body` 2048, `headers_to_sign` X-Test1..3.
    fn suite() -> Signer {
        Signer::new(credentials())
            .with_max_body(2048)
            .with_headers_to_sign(&["X-Test1", "X-Test2", "X-Test3"])
    }

    fn prefix() -> String {
        format!(
            "EG1-HMAC-SHA256 client_token={CLIENT_TOKEN};access_token={ACCESS_TOKEN};\
             timestamp={TIMESTAMP};nonce={NONCE};signature="
        )
    }

    #[test]
    fn matches_the_published_test_cases() {
        let d2049 = vec![b'd'; 2049];
        let d2048 = vec![b'd'; 2048];
        let p31 = vec![b'P'; 31];
        let x123 = [("X-Test1", "t1"), ("X-Test2", "t2"), ("X-Test3", "t3")];
        let extra = [
            ("X-Test2", "t2"),
            ("X-Test1", "t1"),
            ("X-Test3", "t3"),
            ("X-Extra", "this won't be included"),
        ];
        #[rustfmt::skip]
        let cases: [Case<'_>; 14] = [
            ("simple GET", Method::Get, "/", &[], b"",
             "tL+y4hxyHxgWVD30X3pWnGKHcPzmrIF+LThiAOhMxYU="),
            ("GET with querystring", Method::Get, "/testapi/v1/t1?p1=1&p2=2", &[], b"",
             "hKDH1UlnQySSHjvIcZpDMbQHihTQ0XyVAKZaApabdeA="),
            ("POST inside limit", Method::Post, "/testapi/v1/t3", &[], b"datadatadatadatadatadatadatadata",
             "hXm4iCxtpN22m4cbZb4lVLW5rhX8Ca82vCFqXzSTPe4="),
            ("POST too large", Method::Post, "/testapi/v1/t3", &[], &d2049,
             "6Q6PiTipLae6n4GsSIDTCJ54bEbHUBp+4MUXrbQCBoY="),
            ("POST length equals max_body", Method::Post, "/testapi/v1/t3", &[], &d2048,
             "6Q6PiTipLae6n4GsSIDTCJ54bEbHUBp+4MUXrbQCBoY="),
            ("POST empty body", Method::Post, "/testapi/v1/t6", &[], b"",
             "1gEDxeQGD5GovIkJJGcBaKnZ+VaPtrc4qBUHixjsPCQ="),
            ("Simple header signing with GET", Method::Get, "/testapi/v1/t4", &[("X-Test1", "test-simple-header")], b"",
             "8F9AybcRw+PLxnvT+H0JRkjROrrUgsxJTnRXMzqvcwY="),
            ("Header containing spaces", Method::Get, "/testapi/v1/t4", &[("X-Test1", "\"     test-header-with-spaces     \"")], b"",
             "ucq2AbjCNtobHfCTuS38fdkl5UDdWHZhQX46fYR8CqI="),
            ("Headers out of order", Method::Get, "/testapi/v1/t4", &[x123[1], x123[0], x123[2]], b"",
             "Wus73Nx8jOYM+kkBFF2q8D1EATRIMr0WLWwpLBgkBqY="),
            ("Extra header", Method::Get, "/testapi/v1/t5", &extra, b"",
             "Knd/jc0A5Ghhizjayr0AUUvl2MZjBpS3FDSzvtq4Ixc="),
            ("PUT test", Method::Put, "/testapi/v1/t6", &[], &p31,
             "GNBWEYSEWOLtu+7dD52da2C39aX/Jchpon3K/AmBqBU="),
            ("PATCH test", Method::Patch, "/testapi/v1/t6", &[], &p31,
             "JIl05ImY1AOnMtmw+9LKgaFA8mnzsEKabbnHmI8LsQ4="),
            ("GET with query params", Method::Get, "/testapi/v1/configs/111?from=12345&limit=200000", &[], b"",
             "XM+hsuSs6nuy/5eDRty1IjtVCAdr8xPFRAZ/b8RXDm8="),
            ("GET with query params and separator in path", Method::Get, "/testapi/v1/configs/111;222;333?from=12345&limit=200000", &[], b"",
             "pmQF7Is2+O4r/mMojPR4yeF58BrempNNoBX5/DT0Fxs="),
        ];
        for (name, method, path, headers, body, signature) in cases {
            let url = format!("{BASE}{path}");
            let got = suite().sign(method, &url, headers, body, TIMESTAMP, NONCE);
            assert_eq!(got, format!("{}{signature}", prefix()), "{name}");
        }
    }

    #[test]
    fn data_to_sign_matches_the_published_test_cases() {
        let host = BASE.trim_start_matches("https://");
        let data = suite().data_to_sign(
            Method::Post,
            &format!("{BASE}/testapi/v1/t3"),
            &[],
            b"datadatadatadatadatadatadatadata",
            "",
        );
        assert_eq!(
            data,
            format!(
                "POST\thttps\t{host}\t/testapi/v1/t3\t\t\
                 fDimoYqXOLntG3If/Z0K2aS9I19Pkv9P5OMCoL8lY0w=\t"
            )
        );
        let data = suite().data_to_sign(
            Method::Get,
            &format!("{BASE}/testapi/v1/t1?p1=1&p2=2"),
            &[],
            b"",
            "",
        );
        assert_eq!(
            data,
            format!("GET\thttps\t{host}\t/testapi/v1/t1?p1=1&p2=2\t\t\t")
        );
    }

    #[test]
    fn signs_a_json_post_with_the_default_max_body() {
        // testdata.json `jsontest_hash`: `requests` sends `json={"key": "value"}` as this body.
        let got = Signer::new(credentials()).sign(
            Method::Post,
            &format!("{BASE}/testapi/v1/t3?extended=true"),
            &[("Content-Type", "application/json")],
            br#"{"key": "value"}"#,
            TIMESTAMP,
            NONCE,
        );
        assert_eq!(
            got,
            format!("{}nONuDe50qGrPius4Rg4D2jfi/2zDZWAYRUG6RudJLNM=", prefix())
        );
    }

    /// An Edge DNS record set written with POST (body hashed) and PUT (body not hashed), with
    /// the published credentials, timestamp and nonce, signed by Akamai's Python client
    /// (`edgegrid-python==2.0.9`, `EdgeGridAuth`); the stand-in tests recompute both
    /// (tests/standins/tests/test_akamai.py, `test_the_official_client_signs_the_vectors`).
    #[test]
    fn signs_record_set_writes_as_the_official_client_does() {
        let url = format!(
            "{BASE}/config-dns/v2/zones/example.com/names/_acme-challenge.example.com/types/TXT"
        );
        let body =
            br#"{"name":"_acme-challenge.example.com","type":"TXT","ttl":60,"rdata":["\"abc\""]}"#;
        let headers = [("content-type", "application/json")];
        for (method, signature) in [
            (Method::Post, "t5Ip1Yc0vg54/2RtO53PUpDTJ5KyOXXekb00sC5Z0eA="),
            (Method::Put, "ATNs5XvxKQ7NclvNNbn0TlmYm55nROTYPwb9Bpfhk8A="),
        ] {
            let got =
                Signer::new(credentials()).sign(method, &url, &headers, body, TIMESTAMP, NONCE);
            assert_eq!(got, format!("{}{signature}", prefix()), "{method}");
        }
    }

    #[test]
    fn derives_the_published_signing_key_and_content_hash() {
        // testdata.json `sign_key_test` and `content_hash_test`.
        assert_eq!(
            signing_key(CLIENT_SECRET, TIMESTAMP),
            "znsRMDBRqTXGJ7Ojip3/h2FGPu3LuoMYWgv9PKEnE/o="
        );
        assert_eq!(
            suite().content_hash(Method::Post, b"test_body"),
            "REPGqEEubBHzJMhwqDZtbt515/ntEvAMNriNR53zcdY="
        );
        assert_eq!(suite().content_hash(Method::Put, b"test_body"), "");
    }

    #[test]
    fn formats_timestamps() {
        // 2014-03-21T19:34:21Z, the vectors' time.
        assert_eq!(timestamp(&UtcTime::from_unix(1_395_430_461)), TIMESTAMP);
        assert_eq!(timestamp(&UtcTime::from_unix(0)), "19700101T00:00:00+0000");
    }

    #[test]
    fn parses_urls_as_sent() {
        assert_eq!(
            UrlParts::parse("http://127.0.0.1:8080?a=1#frag"),
            UrlParts {
                scheme: "http".into(),
                host: "127.0.0.1:8080".into(),
                path_and_query: "/?a=1".into(),
            }
        );
        assert_eq!(
            UrlParts::parse("HTTPS://h.example/a%20b?x").path_and_query,
            "/a%20b?x"
        );
    }

    #[test]
    fn requests_carry_a_fresh_nonce_and_no_secret() {
        let signer = Signer::new(credentials());
        let url = format!("{BASE}/config-dns/v2/zones/example.com");
        let one = signer.sign(Method::Get, &url, &[], b"", TIMESTAMP, &uuid_v4());
        let two = signer.sign(Method::Get, &url, &[], b"", TIMESTAMP, &uuid_v4());
        assert_ne!(one, two);
        assert!(!one.contains(CLIENT_SECRET));
        let debug = format!("{signer:?}");
        for secret in [CLIENT_TOKEN, CLIENT_SECRET, ACCESS_TOKEN] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
