//! HTTP-01 (RFC 8555 §8.3): the key authorization served at
//! `http://<domain>/.well-known/acme-challenge/<token>`.

use crate::{KeyAuthorization, Token};

/// The directory, relative to a web root, that HTTP-01 resources live in.
pub const CHALLENGE_DIR: &str = ".well-known/acme-challenge";

/// The path an ACME server requests: `/.well-known/acme-challenge/<token>`.
///
/// ```
/// let token = acmebox_challenge::Token::new("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA")?;
/// assert_eq!(acmebox_challenge::http01::path(&token), "/.well-known/acme-challenge/evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA");
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
pub fn path(token: &Token) -> String {
    format!("/{CHALLENGE_DIR}/{}", token.as_str())
}

/// The body to serve: the key authorization itself (RFC 8555 §8.3), sent as
/// `application/octet-stream` without trailing newline.
pub fn body(key_authorization: &KeyAuthorization) -> &str {
    key_authorization.as_str()
}

/// Both halves of an HTTP-01 response, for callers that pass them on together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http01Resource {
    /// `/.well-known/acme-challenge/<token>`.
    pub path: String,
    /// The key authorization to serve.
    pub body: KeyAuthorization,
}

impl Http01Resource {
    /// The resource for a key authorization (its token gives the path).
    pub fn new(key_authorization: &KeyAuthorization) -> Self {
        Http01Resource {
            path: path(&key_authorization.token()),
            body: key_authorization.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_from_key_authorization() {
        let ka = KeyAuthorization::parse(
            "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        )
        .unwrap();
        let r = Http01Resource::new(&ka);
        assert_eq!(
            r.path,
            "/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
        );
        assert_eq!(body(&r.body), ka.as_str());
    }
}
