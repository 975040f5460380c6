//! Public JSON Web Keys and their RFC 7638 thumbprints, the account-key half of a key
//! authorization (RFC 8555 §8.1).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::key_authorization::is_base64url;
use crate::{Error, Result};

/// An account's public key as a JWK: EC (P-256, P-384, P-521), RSA or OKP (Ed25519).
///
/// Private members (`d`, `p`, ...) are ignored, so a private JWK can be passed as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jwk {
    /// `kty: EC` with curve name and coordinates (base64url).
    Ec {
        /// `P-256`, `P-384` or `P-521`.
        crv: String,
        /// The x coordinate, base64url.
        x: String,
        /// The y coordinate, base64url.
        y: String,
    },
    /// `kty: RSA` with modulus and exponent (base64url).
    Rsa {
        /// The modulus, base64url.
        n: String,
        /// The public exponent, base64url.
        e: String,
    },
    /// `kty: OKP` (RFC 8037), Ed25519 only: ACME accounts sign with it.
    Okp {
        /// `Ed25519`.
        crv: String,
        /// The public key, base64url.
        x: String,
    },
}

impl Jwk {
    /// Parses a JWK from its JSON text.
    ///
    /// ```
    /// use acmebox_challenge::Jwk;
    /// let jwk = Jwk::from_json(r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
    /// assert_eq!(jwk.thumbprint().as_str(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /// # Ok::<(), acmebox_challenge::Error>(())
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        if let Some(label) = pem_label(json) {
            return Err(invalid(format!(
                "this is PEM ({label}), not a JWK: give the account's public key as a JSON Web \
                 Key (RFC 7517), such as {{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"…\",\"y\":\"…\"}}"
            )));
        }
        let value: Value =
            serde_json::from_str(json).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(invalid("a JWK must be a JSON object"));
        };
        Jwk::from_map(&map)
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self> {
        let kty = member(map, "kty")?;
        match kty {
            "EC" => {
                let crv = member(map, "crv")?;
                let size = match crv {
                    "P-256" => 32,
                    "P-384" => 48,
                    "P-521" => 66,
                    other => {
                        return Err(invalid(format!(
                            "EC curve {other:?} is not supported; use P-256, P-384 or P-521"
                        )));
                    }
                };
                let x = coordinate(map, "x", Some(size))?;
                let y = coordinate(map, "y", Some(size))?;
                Ok(Jwk::Ec {
                    crv: crv.to_owned(),
                    x,
                    y,
                })
            }
            "RSA" => Ok(Jwk::Rsa {
                n: coordinate(map, "n", None)?,
                e: coordinate(map, "e", None)?,
            }),
            "OKP" => {
                let crv = member(map, "crv")?;
                if crv != "Ed25519" {
                    return Err(invalid(format!(
                        "OKP curve {crv:?} is not supported; ACME account keys use Ed25519"
                    )));
                }
                Ok(Jwk::Okp {
                    crv: crv.to_owned(),
                    x: coordinate(map, "x", Some(32))?,
                })
            }
            other => Err(invalid(format!(
                "key type {other:?} is not supported; use EC, RSA or OKP"
            ))),
        }
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
    pub fn thumbprint(&self) -> Thumbprint {
        // Member values are base64url or curve names: no JSON escaping can be needed, but
        // serde_json writes them, so that stays true by construction.
        let s = |v: &str| Value::String(v.to_owned()).to_string();
        let canonical = match self {
            Jwk::Ec { crv, x, y } => {
                format!(
                    r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                    s(crv),
                    s(x),
                    s(y)
                )
            }
            Jwk::Rsa { n, e } => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, s(e), s(n)),
            Jwk::Okp { crv, x } => format!(r#"{{"crv":{},"kty":"OKP","x":{}}}"#, s(crv), s(x)),
        };
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        Thumbprint(URL_SAFE_NO_PAD.encode(digest.as_ref()))
    }
}

/// A JWK thumbprint: 43 base64url characters, the SHA-256 digest of the canonical JWK.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Thumbprint(String);

impl Thumbprint {
    /// Accepts a ready thumbprint (43 base64url characters).
    pub fn parse(thumbprint: &str) -> Result<Self> {
        if thumbprint.len() != 43 || !thumbprint.bytes().all(is_base64url) {
            return Err(invalid("a thumbprint is 43 base64url characters (SHA-256)"));
        }
        Ok(Thumbprint(thumbprint.to_owned()))
    }

    /// The thumbprint text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({})", self.0)
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn member<'a>(map: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match map.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(format!("member {name:?} must be a string"))),
        None => Err(invalid(format!("member {name:?} is missing"))),
    }
}

fn coordinate(map: &Map<String, Value>, name: &str, size: Option<usize>) -> Result<String> {
    let text = member(map, name)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| invalid(format!("member {name:?} is not base64url without padding")))?;
    if bytes.is_empty() {
        return Err(invalid(format!("member {name:?} is empty")));
    }
    if let Some(size) = size
        && bytes.len() != size
    {
        return Err(invalid(format!(
            "member {name:?} has {} bytes, the curve needs {size}",
            bytes.len()
        )));
    }
    Ok(text.to_owned())
}

/// What a PEM text holds (`EC PRIVATE KEY`, `CERTIFICATE`, ...), from its first
/// `-----BEGIN …-----` line; `None` when `text` is not PEM. For telling a user who gave a PEM
/// file where JSON was expected what they gave.
pub fn pem_label(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix("-----BEGIN ")?;
    let (label, _) = rest.split_once("-----")?;
    let label = label.trim();
    (!label.is_empty()
        && label.len() <= 64
        && label.chars().all(|c| c.is_ascii_uppercase() || c == ' '))
    .then_some(label)
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidJwk {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    const RFC7638_JWK: &str = r#"{
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }"#;

    #[test]
    fn rfc7638_example() {
        let jwk = Jwk::from_json(RFC7638_JWK).unwrap();
        assert_eq!(
            jwk.thumbprint().as_str(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn ec_thumbprint_ignores_private_and_extra_members() {
        // RFC 7517 appendix A.1 P-256 key, with its private part from A.2.
        let public = r#"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"enc","kid":"1"}"#;
        let private = r#"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"}"#;
        let a = Jwk::from_json(public).unwrap().thumbprint();
        let b = Jwk::from_json(private).unwrap().thumbprint();
        assert_eq!(a, b);
        // Independently computed: SHA-256 of the canonical JSON, base64url.
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}"#;
        let want = URL_SAFE_NO_PAD
            .encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref());
        assert_eq!(a.as_str(), want);
    }

    #[test]
    fn okp_rfc8037_thumbprint() {
        // RFC 8037 appendix A.3: the Ed25519 example key's thumbprint.
        let jwk =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert_eq!(
            Jwk::from_json(jwk).unwrap().thumbprint().as_str(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn p384_is_accepted_with_48_byte_coordinates() {
        let c = URL_SAFE_NO_PAD.encode([7u8; 48]);
        let jwk = format!(r#"{{"kty":"EC","crv":"P-384","x":"{c}","y":"{c}"}}"#);
        assert_eq!(
            Jwk::from_json(&jwk).unwrap().thumbprint().as_str().len(),
            43
        );
    }

    #[test]
    fn invalid_jwks_table() {
        let c32 = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let cases = [
            ("[]".to_owned(), "JSON object"),
            ("nope".to_owned(), "not JSON"),
            (
                "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"
                    .to_owned(),
                "this is PEM (EC PRIVATE KEY), not a JWK",
            ),
            (r#"{"crv":"P-256"}"#.to_owned(), "\"kty\" is missing"),
            (r#"{"kty":"oct","k":"AAAA"}"#.to_owned(), "key type \"oct\""),
            (
                format!(r#"{{"kty":"EC","crv":"P-192","x":"{c32}","y":"{c32}"}}"#),
                "P-192",
            ),
            (
                format!(r#"{{"kty":"EC","crv":"P-384","x":"{c32}","y":"{c32}"}}"#),
                "needs 48",
            ),
            (
                format!(r#"{{"kty":"EC","crv":"P-256","x":"{c32}"}}"#),
                "\"y\" is missing",
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"a+b/","y":"AA"}"#.to_owned(),
                "not base64url",
            ),
            (r#"{"kty":"RSA","n":"","e":"AQAB"}"#.to_owned(), "empty"),
            (
                r#"{"kty":"RSA","n":5,"e":"AQAB"}"#.to_owned(),
                "must be a string",
            ),
            (
                format!(r#"{{"kty":"OKP","crv":"X25519","x":"{c32}"}}"#),
                "X25519",
            ),
        ];
        for (input, want) in cases {
            let msg = Jwk::from_json(&input).unwrap_err().to_string();
            assert!(msg.contains(want), "{input}: {msg:?} lacks {want:?}");
        }
    }

    #[test]
    fn thumbprint_parse() {
        assert!(Thumbprint::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_ok());
        assert!(Thumbprint::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X").is_err());
        assert!(Thumbprint::parse("NzbLsXh8uDCcd+6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_err());
    }
}
