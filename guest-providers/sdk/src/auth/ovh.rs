//! OVHcloud API v1 request signatures (`X-Ovh-Signature`), for the application key scheme.
//!
//! OVHcloud's "First Steps with the API" guide
//! (<https://docs.ovh.com/gb/en/customer/first-steps-with-ovh-api/>, the source is
//! `pages/account/customer/first_steps_api/guide.en-gb.md` in github.com/ovh/docs) defines the
//! signature of a request as
//!
//! ```text
//! "$1$" + SHA1_HEX(AS + "+" + CK + "+" + METHOD + "+" + URL + "+" + BODY + "+" + TIMESTAMP)
//! ```
//!
//! with the application secret `AS`, the consumer key `CK`, the full request URL (query
//! included) and the raw body. It goes with `X-Ovh-Application` (the application key),
//! `X-Ovh-Consumer` and `X-Ovh-Timestamp`. The timestamp is OVHcloud's clock, read once per call
//! from the unauthenticated `GET /auth/time`, so a host whose clock drifts still signs
//! requests the API accepts.
//!
//! ```no_run
//! use acmebox_provider::auth::ovh::{Credentials, Signer};
//! use acmebox_provider::http::Method;
//!
//! # fn run(server_time: u64) -> Result<(), acmebox_provider::ProviderError> {
//! let credentials = Credentials::new("app-key", "app-secret", "consumer-key");
//! let signer = Signer::new(credentials, server_time);
//! let body = serde_json::json!({ "fieldType": "TXT", "subDomain": "_acme-challenge" });
//! let response = signer
//!     .request(Method::Post, "https://eu.api.ovh.com/1.0/domain/zone/example.com/record", Some(&body))
//!     .send()?;
//! # Ok(()) }
//! ```

use core::fmt;

use sha1::{Digest, Sha1};

use super::clock::{hex, unix_now};
use crate::http::{Method, Request};

/// An application key, its secret and a consumer key. `Debug` shows only the application key,
/// which OVHcloud does not treat as a secret.
#[derive(Clone)]
pub struct Credentials {
    application_key: String,
    application_secret: String,
    consumer_key: String,
}

impl Credentials {
    /// The three keys of an OVHcloud API application and its validated consumer key.
    pub fn new(
        application_key: impl Into<String>,
        application_secret: impl Into<String>,
        consumer_key: impl Into<String>,
    ) -> Self {
        Self {
            application_key: application_key.into(),
            application_secret: application_secret.into(),
            consumer_key: consumer_key.into(),
        }
    }

    /// The application key (`X-Ovh-Application`), which every request carries, signed or not.
    pub fn application_key(&self) -> &str {
        &self.application_key
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("application_key", &self.application_key)
            .finish_non_exhaustive()
    }
}

/// Signs requests with [`Credentials`] and OVHcloud's clock.
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    /// OVHcloud's clock minus ours, in seconds.
    delta: i64,
}

impl Signer {
    /// A signer for `credentials`, given `server_time`, the Unix time `GET /auth/time` answered
    /// just now: later timestamps are ours shifted by the difference.
    pub fn new(credentials: Credentials, server_time: u64) -> Self {
        let delta = i64::try_from(server_time)
            .unwrap_or(i64::MAX)
            .saturating_sub(now());
        Self { credentials, delta }
    }

    /// OVHcloud's time now, as the `X-Ovh-Timestamp` of a request sent now.
    pub fn timestamp(&self) -> u64 {
        u64::try_from(now().saturating_add(self.delta)).unwrap_or(0)
    }

    /// A request with `method` to `url` carrying `body` as compact JSON (the bytes signed are
    /// the bytes sent), signed with the current timestamp.
    pub fn request(&self, method: Method, url: &str, body: Option<&serde_json::Value>) -> Request {
        let body = body.map(serde_json::Value::to_string).unwrap_or_default();
        let timestamp = self.timestamp();
        let signature = signature(
            &self.credentials.application_secret,
            &self.credentials.consumer_key,
            &method.to_string(),
            url,
            &body,
            timestamp,
        );
        let mut request = Request::new(method, url)
            .header("x-ovh-application", &self.credentials.application_key)
            .header("x-ovh-consumer", &self.credentials.consumer_key)
            .header("x-ovh-timestamp", timestamp.to_string())
            .header("x-ovh-signature", signature);
        if !body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        request
    }
}

/// The `X-Ovh-Signature` value of one request: `$1$` and the hex SHA-1 of the application
/// secret, consumer key, upper-case method, full URL, body and timestamp joined with `+`.
pub fn signature(
    application_secret: &str,
    consumer_key: &str,
    method: &str,
    url: &str,
    body: &str,
    timestamp: u64,
) -> String {
    let mut hash = Sha1::new();
    let method = method.to_ascii_uppercase();
    let timestamp = timestamp.to_string();
    for (i, part) in [
        application_secret,
        consumer_key,
        &method,
        url,
        body,
        &timestamp,
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            hash.update(b"+");
        }
        hash.update(part.as_bytes());
    }
    format!("$1${}", hex(&hash.finalize()))
}

/// Our clock, in Unix seconds.
fn now() -> i64 {
    i64::try_from(unix_now()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AS: &str = "EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF";
    const CK: &str = "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1";

    /// The example of OVHcloud's "First Steps with the API" guide (github.com/ovh/docs,
    /// pages/account/customer/first_steps_api/guide.en-gb.md, "Signing requests").
    #[test]
    fn documented_example() {
        assert_eq!(
            signature(
                AS,
                CK,
                "GET",
                "https://eu.api.ovh.com/1.0/domain/",
                "",
                1_366_560_945
            ),
            "$1$6a77f43f2871db97a029f1d1d81c4dcd3c6f7265"
        );
    }

    /// A POST with a body, signed by the official Python client (`ovh==1.2.0`,
    /// `Client.raw_call`) with the same keys and timestamp; the stand-in tests recompute it
    /// (tests/standins/tests/test_ovh.py, `test_the_official_client_signs_the_vector`).
    #[test]
    fn body_is_signed_as_sent() {
        assert_eq!(
            signature(
                AS,
                CK,
                "post",
                "https://eu.api.ovh.com/1.0/domain/zone/example.com/record",
                r#"{"fieldType":"TXT","subDomain":"_acme-challenge","target":"abc","ttl":60}"#,
                1_366_560_945
            ),
            "$1$e49e04adb971acba46bc0a90f75f7c379bf5a52b"
        );
    }

    #[test]
    fn credentials_debug_hides_the_secrets() {
        let shown = format!("{:?}", Credentials::new("ak", AS, CK));
        assert!(shown.contains("ak") && !shown.contains(AS) && !shown.contains(CK));
    }

    #[test]
    fn timestamps_follow_the_server_clock() {
        let credentials = Credentials::new("ak", AS, CK);
        let server = u64::try_from(now()).unwrap_or(0) - 3600;
        let stamp = Signer::new(credentials, server).timestamp();
        assert!(stamp.abs_diff(server) <= 1, "{stamp} vs {server}");
    }
}
