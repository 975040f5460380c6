//! RS256 JSON Web Tokens (RFC 7519, signed as RFC 7515 with RSASSA-PKCS1-v1_5 and SHA-256,
//! RFC 7518 §3.3), and the JWT bearer grant (RFC 7523 §2.1) that trades one at a token
//! endpoint for an access token: what a Google service-account key asks for.
//!
//! ```no_run
//! use acmebox_provider::auth::jwt::{self, RsaKey};
//! use acmebox_provider::ProviderError;
//!
//! fn token(pem: &str) -> Result<jwt::AccessToken, ProviderError> {
//!     let key = RsaKey::from_pem(pem)?;
//!     let now = jwt::now();
//!     let claims = serde_json::json!({
//!         "iss": "dns@project.iam.gserviceaccount.com",
//!         "scope": "https://www.googleapis.com/auth/ndev.clouddns.readwrite",
//!         "aud": "https://oauth2.googleapis.com/token",
//!         "iat": now,
//!         "exp": now + 3600,
//!     });
//!     let assertion = jwt::rs256(&claims, None, &key)?;
//!     jwt::bearer_grant("https://oauth2.googleapis.com/token", &assertion)
//! }
//! ```
//!
//! The private key, the signed assertion and the access token are secrets: [`RsaKey`] and
//! [`AccessToken`] print only their type in `Debug`, and no error message carries any of them.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde::Serialize;

use crate::ProviderError;

/// The `grant_type` of the JWT bearer grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An RSA private key that signs RS256 tokens. Its `Debug` prints only the type name.
#[derive(Clone)]
pub struct RsaKey(SigningKey<Sha256>);

impl RsaKey {
    /// The key of a PEM document: PKCS#8 (`BEGIN PRIVATE KEY`, what Google's JSON keys hold)
    /// or PKCS#1 (`BEGIN RSA PRIVATE KEY`). The error never quotes the key.
    pub fn from_pem(pem: &str) -> Result<Self, ProviderError> {
        let pem = pem.trim();
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                ProviderError::InvalidConfig(
                    "the private key is not an unencrypted RSA key in PEM (PKCS#8 \
                     `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`)"
                        .into(),
                )
            })?;
        Ok(Self(SigningKey::new(key)))
    }

    /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message).to_vec()
    }
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaKey(..)")
    }
}

/// The JWS compact serialization (RFC 7515 §7.1) of `payload` under the protected `header`,
/// both taken as the exact bytes to encode, signed with `key`:
/// `BASE64URL(header).BASE64URL(payload).BASE64URL(signature)`.
pub fn sign_compact(header: &[u8], payload: &[u8], key: &RsaKey) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()));
    format!("{input}.{signature}")
}

/// A JWT of `claims` signed with `key`, its header `{"alg":"RS256","typ":"JWT"}` plus `kid`
/// when given (the key's id, which lets the verifier pick the public key).
pub fn rs256<T: Serialize + ?Sized>(
    claims: &T,
    kid: Option<&str>,
    key: &RsaKey,
) -> Result<String, ProviderError> {
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        kid,
    };
    let encode = |e: serde_json::Error| ProviderError::Other(format!("encoding a JWT: {e}"));
    let header = serde_json::to_vec(&header).map_err(encode)?;
    let payload = serde_json::to_vec(claims).map_err(encode)?;
    Ok(sign_compact(&header, &payload, key))
}

/// Seconds since the Unix epoch, for `iat` and `exp`. 0 when the clock is before 1970.
pub fn now() -> u64 {
    super::clock::unix_now()
}

pub use super::oauth::AccessToken;

/// Trades a signed `assertion` for an access token at `token_url`: `POST` of the form
/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…` (RFC 7523 §2.1).
///
/// An OAuth error answer (RFC 6749 §5.2: `invalid_grant` for a bad signature or a stale
/// assertion, `invalid_client`, `unauthorized_client`, `invalid_scope`) or a 401/403 is
/// [`Unauthorized`](ProviderError::Unauthorized) with the endpoint's `error` and the start of
/// its `error_description`; a 429 is [`RateLimited`](ProviderError::RateLimited); anything
/// else is [`ApiError`](ProviderError::ApiError).
pub fn bearer_grant(token_url: &str, assertion: &str) -> Result<AccessToken, ProviderError> {
    super::oauth::token_request(
        token_url,
        &[("grant_type", JWT_BEARER_GRANT), ("assertion", assertion)],
        "",
    )
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7515 Appendix A.2's RSA key, as PKCS#8 PEM (a published test key).
    const RFC7515_A2_KEY: &str = include_str!("testdata/rfc7515-a2.pem");

    #[test]
    fn signs_the_rfc7515_a2_example() {
        let key = RsaKey::from_pem(RFC7515_A2_KEY).expect("the RFC key parses");
        let header = br#"{"alg":"RS256"}"#;
        let payload =
            b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
        let jws = sign_compact(header, payload, &key);
        assert_eq!(
            jws,
            concat!(
                "eyJhbGciOiJSUzI1NiJ9",
                ".",
                "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
                "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
                ".",
                "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
                "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
                "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
                "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
                "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
                "p0igcN_IoypGlUPQGe77Rw",
            )
        );
    }

    #[test]
    fn jwt_header_names_the_algorithm_and_key() {
        let key = RsaKey::from_pem(RFC7515_A2_KEY).expect("the RFC key parses");
        let token = rs256(&serde_json::json!({"iss": "a"}), Some("k1"), &key).expect("signs");
        let header = token.split('.').next().expect("three parts");
        let header = URL_SAFE_NO_PAD.decode(header).expect("base64url");
        assert_eq!(header, br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#);
        assert_eq!(token.split('.').count(), 3);
    }

    #[test]
    fn bad_pem_is_invalid_config_without_the_key() {
        let broken = RFC7515_A2_KEY.replace("MIIEvQ", "MIIEvA");
        for pem in ["", "not a key", broken.as_str()] {
            match RsaKey::from_pem(pem) {
                Err(ProviderError::InvalidConfig(m)) => assert!(!m.contains("MIIE"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        let key = RsaKey::from_pem(RFC7515_A2_KEY).expect("parses");
        assert_eq!(format!("{key:?}"), "RsaKey(..)");
    }

    #[test]
    fn token_endpoint_answers_map_to_variants() {
        let token = super::super::oauth::token_from(
            200,
            r#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#,
            None,
            "",
        )
        .expect("a token");
        assert_eq!(token.secret(), "ya29.x");
        assert!(!format!("{token:?}").contains("ya29"));
        let cases = [
            (
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
                "unauthorized",
            ),
            (401, r#"{"error":"invalid_client"}"#, "unauthorized"),
            (403, "forbidden", "unauthorized"),
            (429, "", "rate-limited"),
            (500, r#"{"error":"internal_failure"}"#, "api"),
            (200, r#"{"token_type":"Bearer"}"#, "other"),
        ];
        for (status, body, want) in cases {
            let got = match super::super::oauth::token_from(status, body, Some(3), "") {
                Err(ProviderError::Unauthorized(_)) => "unauthorized",
                Err(ProviderError::RateLimited(Some(3))) => "rate-limited",
                Err(ProviderError::ApiError(_)) => "api",
                Err(ProviderError::Other(_)) => "other",
                other => panic!("{status}: {other:?}"),
            };
            assert_eq!(got, want, "{status} {body}");
        }
    }
}
