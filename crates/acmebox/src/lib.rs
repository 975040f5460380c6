//! # acmebox
//!
//! acmebox answers ACME challenges (RFC 8555, RFC 8737) and runs the code that talks to DNS
//! providers as sandboxed WebAssembly components.
//!
//! The native core, [`challenge`], computes everything that must be right: key authorizations,
//! DNS-01 record names and values, HTTP-01 resources and TLS-ALPN-01 certificates.
//! [`handlers`] publishes and removes challenge responses (files, callbacks) behind one
//! [`handlers::ChallengeHandler`] trait, the shape of acmeow's handlers and lego's
//! `challenge.Provider`.
//! [`client`] gets certificates with them: an ACME client (on `instant-acme`) that orders,
//! sets every challenge up, has it validated, writes the certificate and key, and cleans up
//! whatever it set up on every way out, with built-in HTTP-01 and TLS-ALPN-01 responders.
//! [`propagation`] finds where a DNS-01 record really goes (CNAMEs, zone) and waits until every
//! authoritative server of that zone serves it.
//!
//! [`sandbox`] runs DNS-01 providers as WebAssembly components: a provider sees only its own
//! config keys, a log and HTTP to the origins it is granted, under per-call limits, with every
//! request audited (its documentation states the security model in full). [`config`] reads the
//! operator's TOML file.
//!
//! ## Getting started
//!
//! ```
//! use acmebox::challenge::{dns01::Dns01Record, Identifier, Jwk, KeyAuthorization, Token};
//!
//! let jwk = Jwk::from_json(r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
//! let token = Token::new("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA")?;
//! let key_authorization = KeyAuthorization::new(&token, &jwk.thumbprint());
//! let record = Dns01Record::new(&Identifier::parse("*.example.com")?, &key_authorization)?;
//! assert_eq!(record.fqdn(), "_acme-challenge.example.com.");
//! # Ok::<(), acmebox::challenge::Error>(())
//! ```
//!
//! ## Layers
//!
//! This crate is a facade: each module is one crate of the workspace, re-exported behind a
//! feature (all on by default). An embedder that needs one layer can depend on its crate
//! alone; the challenge vocabulary, for one, builds without wasmtime or an ACME client.
//!
//! | module | crate | feature | builds on |
//! | --- | --- | --- | --- |
//! | [`challenge`], [`handlers`] | `acmebox-challenge` | always; `handlers` for handlers | ring, rcgen |
//! | [`egress`] | `acmebox-egress` | `egress` | challenge (host names) |
//! | [`propagation`] | `acmebox-propagation` | `propagation` | challenge, hickory |
//! | [`sandbox`], [`config`] | `acmebox-sandbox` | `sandbox` | egress, propagation, wasmtime |
//! | [`client`] | `acmebox-client` | `client` | challenge, instant-acme |
//! | [`hooks`] | `acmebox-hooks` | `hooks` | sandbox |
//! | [`conformance`] | `acmebox-conformance` | `conformance` | sandbox |
//!
//! Each layer has its own error type; [`Error`] holds any of them, so `?` works across layers.
#![deny(missing_docs)]

mod error;

pub use acmebox_challenge as challenge;
#[cfg(feature = "handlers")]
pub use acmebox_challenge::handlers;
#[cfg(feature = "client")]
pub use acmebox_client as client;
#[cfg(feature = "conformance")]
pub use acmebox_conformance as conformance;
#[cfg(feature = "egress")]
pub use acmebox_egress as egress;
#[cfg(feature = "hooks")]
pub use acmebox_hooks as hooks;
#[cfg(feature = "propagation")]
pub use acmebox_propagation as propagation;
#[cfg(feature = "sandbox")]
pub use acmebox_sandbox as sandbox;
#[cfg(feature = "sandbox")]
pub use acmebox_sandbox::config;
pub use error::{Error, Result};
