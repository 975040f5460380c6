//! DNS Made Easy API v2.0 request authentication: three headers, the HMAC-SHA1 of the request
//! date keyed with the account's secret key.
//!
//! DNS Made Easy's "API V2.0 Documentation" (the PDF linked from
//! <https://api-docs.dnsmadeeasy.com/>, section "Authentication") asks every request to carry
//!
//! ```text
//! x-dnsme-apiKey:      the account's API key
//! x-dnsme-requestDate: the current time as an HTTP date, Sat, 12 Feb 2011 20:59:04 GMT
//! x-dnsme-hmac:        HEX(HMAC-SHA1(secret key, x-dnsme-requestDate))
//! ```
//!
//! Neither the method, the URL nor the body is signed, so the headers of one moment
//! authenticate any request: they are made afresh for each request, and the API refuses a date
//! too far from its clock ("Request sent with date header too far out of sync"). There is no
//! server clock to read first, as OVHcloud has: the host's clock must be right.
//!
//! ```no_run
//! use acmebox_provider::auth::dnsmadeeasy::{Credentials, Signer};
//! use acmebox_provider::http::Method;
//!
//! # fn run() -> Result<(), acmebox_provider::ProviderError> {
//! let signer = Signer::new(Credentials::new("api-key", "secret-key"));
//! let response = signer
//!     .request(Method::Get, "https://api.dnsmadeeasy.com/V2.0/dns/managed/name?domainname=example.com")
//!     .send()?;
//! # Ok(()) }
//! ```

use core::fmt;

use super::clock::{UtcTime, hex};
use super::mac::hmac_sha1;
use crate::http::{Method, Request};

/// The header carrying the API key (names are case-insensitive; this is the documented case).
pub const API_KEY_HEADER: &str = "x-dnsme-apiKey";
/// The header carrying the request date, an HTTP date in GMT.
pub const REQUEST_DATE_HEADER: &str = "x-dnsme-requestDate";
/// The header carrying the hex HMAC-SHA1 of the request date.
pub const HMAC_HEADER: &str = "x-dnsme-hmac";

/// An API key and its secret key. `Debug` shows neither: the API key alone names the account.
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    secret_key: String,
}

impl Credentials {
    /// The API key and secret key of a DNS Made Easy account (Config, Account Information).
    pub fn new(api_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            secret_key: secret_key.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").finish_non_exhaustive()
    }
}

/// Puts the authentication headers on requests.
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
}

impl Signer {
    /// A signer for `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self { credentials }
    }

    /// A request with `method` to `url`, with `accept: application/json` and the headers of
    /// this second. Add a body with [`Request::json`]: it is not signed.
    pub fn request(&self, method: Method, url: &str) -> Request {
        let mut request = Request::new(method, url).header("accept", "application/json");
        for (name, value) in self.sign(UtcTime::now()) {
            request = request.header(name, value);
        }
        request
    }

    /// The three headers of a request sent at `at`: the API key, the request date and its HMAC.
    pub fn sign(&self, at: UtcTime) -> [(&'static str, String); 3] {
        let date = at.http_date();
        let mac = hmac_hex(&self.credentials.secret_key, &date);
        [
            (API_KEY_HEADER, self.credentials.api_key.clone()),
            (REQUEST_DATE_HEADER, date),
            (HMAC_HEADER, mac),
        ]
    }
}

/// The `x-dnsme-hmac` value for `request_date`: lower-case hex of HMAC-SHA1 keyed with
/// `secret_key`.
pub fn hmac_hex(secret_key: &str, request_date: &str) -> String {
    hex(&hmac_sha1(secret_key.as_bytes(), request_date.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of DNS Made Easy's "API V2.0 Documentation" (Authentication): API key
    /// `1c1a3c91-…`, secret key `c9b5625f-…`, Sat, 12 Feb 2011 20:59:04 GMT. The published
    /// clients test the same vector as "the api docs example" (CPAN WebService::DNSMadeEasy,
    /// github.com/kablamo/WebService-DNSMadeEasy, t/05-hmac-doc-example.t; CPAN
    /// WWW::DNSMadeEasy, github.com/Getty/p5-www-dnsmadeeasy, t/01-sandbox.t).
    const DOC_API_KEY: &str = "1c1a3c91-4770-4ce7-96f4-54c0eb0e457a";
    const DOC_SECRET: &str = "c9b5625f-9834-4ff8-baba-4ed5f32cae55";
    const DOC_TIME: u64 = 1_297_544_344;

    #[test]
    fn documented_example() {
        let signer = Signer::new(Credentials::new(DOC_API_KEY, DOC_SECRET));
        assert_eq!(
            signer.sign(UtcTime::from_unix(DOC_TIME)),
            [
                (API_KEY_HEADER, DOC_API_KEY.to_owned()),
                (
                    REQUEST_DATE_HEADER,
                    "Sat, 12 Feb 2011 20:59:04 GMT".to_owned()
                ),
                (
                    HMAC_HEADER,
                    "b3502e6116a324f3cf4a8ed693d78bcee8d8fe3c".to_owned()
                ),
            ]
        );
    }

    /// A vector computed by octodns-dnsmadeeasy 1.0.1 (`DnsMadeEasyClient._hmac_hash`); the
    /// stand-in tests recompute it (tests/standins/tests/test_dnsmadeeasy.py,
    /// `test_the_published_client_signs_the_vectors`).
    #[test]
    fn octodns_vector() {
        let at = UtcTime::from_unix(1_772_366_400);
        assert_eq!(at.http_date(), "Sun, 01 Mar 2026 12:00:00 GMT");
        assert_eq!(
            hmac_hex("dme-vector-secret-7c1f", &at.http_date()),
            "aa53905fef403a66849c778b95db76e2ae24c148"
        );
    }

    #[test]
    fn requests_carry_the_headers_of_now() {
        let signer = Signer::new(Credentials::new("key", "secret"));
        let request = signer.request(Method::Delete, "https://api.dnsmadeeasy.com/V2.0/x");
        let shown = format!("{request:?}");
        for name in [API_KEY_HEADER, REQUEST_DATE_HEADER, HMAC_HEADER, "accept"] {
            assert!(shown.contains(&name.to_ascii_lowercase()), "{shown}");
        }
        let [_, (_, date), (_, mac)] = signer.sign(UtcTime::now());
        assert!(date.ends_with(" GMT"), "{date}");
        assert_eq!(mac.len(), 40);
    }

    #[test]
    fn debug_hides_the_keys() {
        let shown = format!(
            "{:?}",
            Signer::new(Credentials::new(DOC_API_KEY, DOC_SECRET))
        );
        assert!(
            !shown.contains(DOC_API_KEY) && !shown.contains(DOC_SECRET),
            "{shown}"
        );
    }
}
