//! Challenge tokens and key authorizations (RFC 8555 §8.1, §8.3).

use std::fmt;

use super::Thumbprint;
use crate::{Error, Result};

/// The shortest token accepted: 22 base64url characters carry 128 bits, the entropy RFC 8555
/// §8.3 requires of a token.
pub const MIN_TOKEN_LEN: usize = 22;

/// The longest token accepted. Real CAs send 43 characters; the bound keeps a hostile or broken
/// server from making us write huge file names or records.
pub const MAX_TOKEN_LEN: usize = 256;

/// A challenge token: base64url without padding, at least 128 bits, bounded in length.
///
/// A validated token is safe to use as a file name: it cannot contain `/`, `.` or `..`.
///
/// ```
/// use acmebox_challenge::Token;
/// let token = Token::new("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA")?;
/// assert_eq!(token.as_str().len(), 43);
/// assert!(Token::new("../../etc/passwd").is_err());
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl Token {
    /// Validates `token` (RFC 8555 §8.3: base64url alphabet, no padding, ≥ 128 bits).
    pub fn new(token: &str) -> Result<Self> {
        let reason = if token.len() < MIN_TOKEN_LEN {
            Some("shorter than 22 characters (128 bits); a token from an ACME server is usually 43")
        } else if token.len() > MAX_TOKEN_LEN {
            Some("longer than 256 characters")
        } else if token.contains('=') {
            Some("padding '=' is not allowed in a token (base64url without padding)")
        } else if !token.bytes().all(is_base64url) {
            Some("only the base64url alphabet A-Z a-z 0-9 - _ is allowed")
        } else if token.len() % 4 == 1 {
            Some("a base64url string cannot have this length (one character too many or too few)")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidToken {
                token: crate::echoed(token).into_owned(),
                reason,
            }),
            None => Ok(Token(token.to_owned())),
        }
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Token {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Token::new(s)
    }
}

/// A key authorization, `token || "." || base64url(JWK thumbprint)` (RFC 8555 §8.1).
///
/// It proves control of the account key, so it is treated as a secret: `Debug` prints only the
/// type name, and errors never contain it.
///
/// ```
/// use acmebox_challenge::{KeyAuthorization, Thumbprint, Token};
/// let token = Token::new("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA")?;
/// let thumbprint = Thumbprint::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")?;
/// let ka = KeyAuthorization::new(&token, &thumbprint);
/// assert_eq!(ka, KeyAuthorization::parse(ka.as_str())?);
/// assert_eq!(format!("{ka:?}"), "KeyAuthorization(..)");
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyAuthorization {
    value: String,
    token_len: usize,
}

impl KeyAuthorization {
    /// Computes the key authorization for `token` and an account key's thumbprint.
    pub fn new(token: &Token, thumbprint: &Thumbprint) -> Self {
        let value = format!("{}.{}", token.as_str(), thumbprint.as_str());
        KeyAuthorization {
            value,
            token_len: token.as_str().len(),
        }
    }

    /// Accepts a ready key authorization, as lego's `keyAuth` or certbot hooks pass it.
    ///
    /// The token part is validated like [`Token::new`]; the thumbprint part must be 43
    /// base64url characters (a SHA-256 digest).
    pub fn parse(key_authorization: &str) -> Result<Self> {
        let Some((token, thumbprint)) = key_authorization.split_once('.') else {
            return Err(invalid(
                "it must be `<token>.<thumbprint>`, and there is no '.'",
            ));
        };
        let token = Token::new(token).map_err(|err| match err {
            Error::InvalidToken { reason, .. } => {
                invalid(format!("its token part is invalid: {reason}"))
            }
            other => other,
        })?;
        let thumbprint = Thumbprint::parse(thumbprint).map_err(|_| {
            invalid(
                "its thumbprint part must be 43 base64url characters (a SHA-256 JWK thumbprint)",
            )
        })?;
        Ok(KeyAuthorization::new(&token, &thumbprint))
    }

    /// The key authorization text. Handle it as a secret.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The token this key authorization was made for.
    pub fn token(&self) -> Token {
        Token(self.value[..self.token_len].to_owned())
    }

    /// The account key thumbprint part.
    pub fn thumbprint(&self) -> &str {
        &self.value[self.token_len + 1..]
    }
}

impl fmt::Debug for KeyAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyAuthorization(..)")
    }
}

impl std::str::FromStr for KeyAuthorization {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        KeyAuthorization::parse(s)
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidKeyAuthorization {
        reason: reason.into(),
    }
}

pub(crate) fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    const THUMB: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    #[test]
    fn token_validation_table() {
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        let max = "a".repeat(MAX_TOKEN_LEN);
        let cases: &[(&str, Option<&str>)] = &[
            (TOKEN, None),
            ("aaaaaaaaaaaaaaaaaaaaaa", None),
            (&max, None),
            ("", Some("shorter than 22")),
            ("aaaaaaaaaaaaaaaaaaaaa", Some("shorter than 22")),
            (&long, Some("longer than 256")),
            ("aaaaaaaaaaaaaaaaaaaaaa==", Some("padding")),
            ("aaaaaaaaaaaaaaaaaaaaaa/b", Some("alphabet")),
            ("aaaaaaaaaaaaaaaaaaaaa+bb", Some("alphabet")),
            ("../../../../etc/passwd.xx", Some("alphabet")),
            ("aaaaaaaaaaaaaaaaaaaaa.bb", Some("alphabet")),
            ("aaaaaaaaaaaaaaaaaaaaa bb", Some("alphabet")),
            ("aaaaaaaaaaaaaaaaaaaaaé", Some("alphabet")),
            ("aaaaaaaaaaaaaaaaaaaaaaaaa", Some("cannot have this length")),
        ];
        for (input, expected) in cases {
            match (Token::new(input), expected) {
                (Ok(token), None) => assert_eq!(token.as_str(), *input),
                (Err(Error::InvalidToken { reason, .. }), Some(want)) => {
                    assert!(
                        reason.contains(want),
                        "{input:?}: {reason:?} lacks {want:?}"
                    )
                }
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn key_authorization_round_trip_and_parts() {
        let ka = KeyAuthorization::parse(&format!("{TOKEN}.{THUMB}")).unwrap();
        assert_eq!(ka.token().as_str(), TOKEN);
        assert_eq!(ka.thumbprint(), THUMB);
        assert_eq!(ka.as_str(), format!("{TOKEN}.{THUMB}"));
    }

    #[test]
    fn key_authorization_validation_table() {
        let cases = [
            ("", "no '.'"),
            (TOKEN, "no '.'"),
            (&*format!("{TOKEN}.short"), "43 base64url"),
            (&*format!("{TOKEN}.{THUMB}x"), "43 base64url"),
            (&*format!("{TOKEN}.{THUMB}.x"), "43 base64url"),
            (&*format!("bad/token/aaaaaaaaaaaaaaa.{THUMB}"), "token part"),
            (&*format!(".{THUMB}"), "token part"),
        ];
        for (input, want) in cases {
            let err = KeyAuthorization::parse(input).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(want), "{input:?}: {msg:?} lacks {want:?}");
            assert!(
                !msg.contains(THUMB),
                "error leaks the key authorization: {msg}"
            );
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let ka = KeyAuthorization::parse(&format!("{TOKEN}.{THUMB}")).unwrap();
        let shown = format!("{ka:?} {:?}", Some(&ka));
        assert!(!shown.contains(THUMB) && !shown.contains(TOKEN), "{shown}");
    }
}
