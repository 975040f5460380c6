//! Request signing and token exchanges that DNS APIs ask for, so a provider author gets them
//! for free. Each scheme is behind a cargo feature of its own, so a provider compiles only the
//! cryptography it uses.
//!
//! A provider keeps no state between calls (each call may land in a fresh instance), so a
//! token exchange happens once per call.

pub mod clock;

#[cfg(any(
    feature = "sigv4",
    feature = "edgegrid",
    feature = "tc3",
    feature = "aliyun-rpc",
    feature = "dnsmadeeasy"
))]
mod mac;

#[cfg(feature = "ovh-signature")]
pub mod ovh;

#[cfg(feature = "oauth")]
pub mod oauth;

#[cfg(feature = "jwt")]
pub mod jwt;

#[cfg(feature = "sigv4")]
pub mod sigv4;

#[cfg(feature = "edgegrid")]
pub mod edgegrid;

#[cfg(feature = "aliyun-rpc")]
pub mod aliyun;

#[cfg(feature = "tc3")]
pub mod tc3;

#[cfg(feature = "dnsmadeeasy")]
pub mod dnsmadeeasy;
