//! # acmebox-challenge
//!
//! The ACME challenge vocabulary of RFC 8555 §8 and RFC 8737, computed natively, and the
//! handlers that publish challenge responses. The lowest layer of acmebox: no WebAssembly, no
//! ACME client, and an async runtime only with the `handlers` feature.
//!
//! Everything a challenge response is made of lives here: [`Token`]s, [`KeyAuthorization`]s
//! (RFC 8555 §8.1), the DNS-01 record ([`dns01`], RFC 8555 §8.4), the HTTP-01 resource
//! ([`http01`], RFC 8555 §8.3) and the TLS-ALPN-01 certificate ([`tls_alpn01`], RFC 8737).
//! None of it is delegated to a provider: a sandboxed provider only places and removes records.
//! [`names`] holds the host-name rules the egress policy shares.
//!
//! With the `handlers` feature (on by default), [`handlers`] publishes and removes responses
//! (files, callbacks) behind one [`handlers::ChallengeHandler`] trait, the shape of acmeow's
//! handlers and lego's `challenge.Provider`.
//!
//! ```
//! use acmebox_challenge::{dns01::Dns01Record, Identifier, Jwk, KeyAuthorization, Token};
//!
//! let jwk = Jwk::from_json(r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
//! let token = Token::new("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA")?;
//! let key_authorization = KeyAuthorization::new(&token, &jwk.thumbprint());
//! let record = Dns01Record::new(&Identifier::parse("*.example.com")?, &key_authorization)?;
//! assert_eq!(record.fqdn(), "_acme-challenge.example.com.");
//! # Ok::<(), acmebox_challenge::Error>(())
//! ```
#![deny(missing_docs)]

pub mod dns01;
pub mod dns_persist01;
mod echo;
mod error;
#[cfg(feature = "handlers")]
pub mod handlers;
pub mod http01;
mod identifier;
mod jwk;
mod key_authorization;
mod kind;
pub mod names;
pub mod tls_alpn01;

pub use echo::{MAX_ECHOED_CHARS, echoed};
pub use error::{BackendError, Error, IoError, Phase, Result};
pub use identifier::Identifier;
pub use jwk::{Jwk, Thumbprint, pem_label};
pub use key_authorization::{KeyAuthorization, MAX_TOKEN_LEN, MIN_TOKEN_LEN, Token};
pub use kind::{Challenge, ChallengeType};
pub use names::normalize_domain;
