//! The OAuth 2.0 client-credentials grant (RFC 6749 §4.4): a client id and secret exchanged at
//! a token endpoint for a bearer access token.
//!
//! ```no_run
//! use acmebox_provider::auth::oauth;
//! use acmebox_provider::{ProviderError, http};
//!
//! fn zones(secret: &str) -> Result<http::Response, ProviderError> {
//!     let token = oauth::client_credentials(
//!         "https://login.example.com/tenant/oauth2/v2.0/token",
//!         "client-id",
//!         secret,
//!         "https://dns.example.com/.default",
//!     )?;
//!     http::Request::get("https://dns.example.com/zones")
//!         .bearer_auth(token.secret())
//!         .send()?
//!         .error_for_status()
//! }
//! ```
//!
//! The token is a secret like the client secret: [`AccessToken`]'s `Debug` hides it, and no
//! error message carries either.

use core::fmt;

use serde::Deserialize;

use crate::{ProviderError, http};

/// How much of a token endpoint's error description goes into an error message, in characters.
const DESCRIPTION_LIMIT: usize = 300;

/// A bearer access token from a token endpoint. Its `Debug` prints only the token type and
/// lifetime.
#[derive(Clone)]
pub struct AccessToken {
    secret: String,
    token_type: String,
    expires_in: Option<u64>,
}

impl AccessToken {
    /// The token itself, for an `Authorization: Bearer` header. Never log it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The token type the endpoint named (`Bearer`).
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// Seconds the token stays valid, when the endpoint said.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Exchanges `client_id` and `client_secret` for an access token to `scope` at `token_url`:
/// `POST` of the form `grant_type=client_credentials&client_id=…&client_secret=…&scope=…`
/// (RFC 6749 §4.4.2, the secret in the body as §2.3.1 allows).
///
/// An OAuth error answer (RFC 6749 §5.2: `invalid_client`, `unauthorized_client`,
/// `invalid_grant`, `invalid_scope`, `invalid_request`) or a 401/403 is
/// [`Unauthorized`](ProviderError::Unauthorized) with the endpoint's `error` and the start of
/// its `error_description`; a 429 is [`RateLimited`](ProviderError::RateLimited); anything else
/// is [`ApiError`](ProviderError::ApiError).
pub fn client_credentials(
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    scope: &str,
) -> Result<AccessToken, ProviderError> {
    token_request(
        token_url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("scope", scope),
        ],
        " (check the client id, its secret and the tenant)",
    )
}

/// `POST`s the form `pairs` to the token endpoint `token_url` and reads its answer with
/// [`token_from`]; `hint` ends the message of an `Unauthorized` error. Every grant in `auth`
/// (client credentials here, the JWT bearer grant in `jwt`) goes through it.
pub(crate) fn token_request(
    token_url: &str,
    pairs: &[(&str, &str)],
    hint: &str,
) -> Result<AccessToken, ProviderError> {
    let response = http::Request::post(token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(form_body(pairs))
        .send()?;
    token_from(
        response.status,
        &response.text(),
        response.retry_after(),
        hint,
    )
}

/// An `application/x-www-form-urlencoded` body of `pairs`.
fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                http::encode_component(k),
                http::encode_component(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// An error response (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The token, or the error, a token endpoint's answer means; `hint` ends the message of an
/// `Unauthorized` error.
pub(crate) fn token_from(
    status: u16,
    body: &str,
    retry_after: Option<u32>,
    hint: &str,
) -> Result<AccessToken, ProviderError> {
    if (200..300).contains(&status) {
        let token: TokenBody = serde_json::from_str(body).map_err(|e| {
            ProviderError::Other(format!(
                "the token endpoint answered {status} without a token response: {e}"
            ))
        })?;
        if token.access_token.is_empty() {
            return Err(ProviderError::Other(
                "the token endpoint answered an empty access_token".into(),
            ));
        }
        return Ok(AccessToken {
            secret: token.access_token,
            token_type: token.token_type,
            expires_in: token.expires_in,
        });
    }
    if status == 429 {
        return Err(ProviderError::RateLimited(retry_after));
    }
    let error = serde_json::from_str::<ErrorBody>(body).ok();
    let message = match &error {
        Some(e) => {
            let description: String = e
                .error_description
                .as_deref()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(DESCRIPTION_LIMIT)
                .collect();
            format!(
                "the token endpoint answered {status} {}: {description}",
                e.error
            )
        }
        None => format!(
            "the token endpoint answered {status}: {}",
            body.trim()
                .chars()
                .take(DESCRIPTION_LIMIT)
                .collect::<String>()
        ),
    };
    let refused = matches!(status, 401 | 403)
        || error.as_ref().is_some_and(|e| {
            matches!(
                e.error.as_str(),
                "invalid_client"
                    | "unauthorized_client"
                    | "invalid_grant"
                    | "invalid_scope"
                    | "invalid_request"
            )
        });
    Err(if refused {
        ProviderError::Unauthorized(format!("{message}{hint}"))
    } else {
        ProviderError::api(status, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_is_urlencoded() {
        assert_eq!(
            form_body(&[("scope", "https://x.test/.default"), ("s", "a+b c&=")]),
            "scope=https%3A%2F%2Fx.test%2F.default&s=a%2Bb%20c%26%3D"
        );
    }

    #[test]
    fn token_response_gives_the_token_and_hides_it() {
        let body = r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAi.abc.def"}"#;
        let token = token_from(200, body, None, "").expect("a token");
        assert_eq!(token.secret(), "eyJ0eXAi.abc.def");
        assert_eq!(token.token_type(), "Bearer");
        assert_eq!(token.expires_in(), Some(3599));
        assert!(!format!("{token:?}").contains("eyJ0"));
    }

    #[test]
    fn errors_map_to_variants() {
        let invalid_client = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1","error_codes":[7000215]}"#;
        let cases = [
            (401, invalid_client, "unauthorized"),
            (
                400,
                r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant not found."}"#,
                "unauthorized",
            ),
            (400, r#"{"error":"unauthorized_client"}"#, "unauthorized"),
            (403, "forbidden", "unauthorized"),
            (429, "", "rate-limited"),
            (503, r#"{"error":"temporarily_unavailable"}"#, "api"),
            (200, r#"{"token_type":"Bearer"}"#, "other"),
        ];
        for (status, body, want) in cases {
            let got = match token_from(status, body, Some(3), "") {
                Err(ProviderError::Unauthorized(m)) => {
                    assert!(!m.contains("Trace ID"), "{m}");
                    "unauthorized"
                }
                Err(ProviderError::RateLimited(Some(3))) => "rate-limited",
                Err(ProviderError::ApiError(_)) => "api",
                Err(ProviderError::Other(_)) => "other",
                other => panic!("{status}: {other:?}"),
            };
            assert_eq!(got, want, "{status} {body}");
        }
    }
}
