//! # acmebox-egress
//!
//! The egress policy: which HTTP requests a sandboxed provider may make, and which DNS servers
//! it may reach over sockets ([`socket`]). Plain policy, no wasmtime and no async runtime, so it
//! can be tested and fuzzed alone.
//!
//! A provider's configuration grants it an allow list ([`Grant`]). The sandbox host asks the
//! grant about every outgoing request a guest makes, in two steps:
//!
//! 1. [`Grant::check_url`] (or [`Grant::check_request`] for a request already split into
//!    scheme and authority) decides on the scheme, host and port, before any resolution. It
//!    returns the normalised [`Target`].
//! 2. The host resolves the target's name itself, then [`Grant::check_resolved`] vets the
//!    addresses. The host connects only to the addresses it returns and never resolves the name
//!    again, so what was checked is what is connected to.
//!
//! A refusal at either step is a [`Denial`]: data, never a panic or trap. The host turns it into
//! a `wasi:http` error the guest can handle and logs [`Denial::message`] for the operator.
//!
//! # Security model
//!
//! - **Deny by default.** An empty grant allows nothing. Only `https` and, where an entry says
//!   so, `http` can be granted.
//! - **Refused networks.** Loopback, private, link-local (cloud metadata at
//!   `169.254.169.254`), unique-local, multicast, documentation and other special-purpose
//!   networks, and their IPv4-mapped, NAT64 and 6to4 forms (see [`blocked_reason`]), are
//!   refused after resolution even when the *name* is granted. A provider granted
//!   `https://api.example.com` cannot reach `127.0.0.1` by pointing that name at it (DNS
//!   rebinding). Only an entry naming the address or a range containing it, for the same scheme
//!   and port, lets a request reach such a network: that is the operator's explicit choice,
//!   for example a PowerDNS API on `danger:http://10.0.0.5:8081`.
//! - **Weakening is written down.** An entry that grants plain http, names a refused network or
//!   names any range of addresses weakens the sandbox ([`GrantEntry::danger_reason`]). It is
//!   refused unless it starts with [`DANGER_MARKER`] (`danger:http://10.0.0.5:8081`), and
//!   [`Grant::warnings`] names each such entry so the host can warn on every load.
//! - **No redirects.** The host never follows redirects: a `3xx` response goes back to the
//!   guest as is. A redirect would be a second request that escaped both checks; a guest that
//!   wants to follow one makes a new request, which is checked like any other.
//! - **Headers.** Hop-by-hop, proxy and forwarding headers are stripped from guest requests and
//!   `Host` is set from the vetted target; see [`is_forbidden_request_header`].
//! - **Audit.** URLs in logs and denials go through [`redact_url`]: queries often carry API keys.
//!
//! # Grant grammar
//!
//! ```text
//! written  = [ "danger:" ] entry                    ; the marker: see below
//! entry    = scheme "://" host [ ":" port ]
//!          / "dns://" ( ipv4 / "[" ipv6 "]" ) [ ":" port ]   ; see the socket module
//! scheme   = "https" / "http"                       ; case-insensitive
//! host     = name / "*." name / ipv4 / "[" ipv6 "]" / ipv4 "/" prefix / "[" ipv6 "]" "/" prefix
//! port     = 1*5DIGIT                               ; 1 to 65535
//!          / "*"                                    ; any port
//! ```
//!
//! - `name` is a DNS name, compared case-insensitively, with one trailing dot ignored and
//!   internationalised names converted to ASCII (IDNA). Single-label names such as `localhost`
//!   are allowed. A last label that is all digits or `0x…` is refused, since resolvers may read
//!   it as a numeric IPv4 address.
//! - `*.example.com` matches every name with **one or more** labels in front of `example.com`
//!   (`api.example.com`, `a.b.example.com`) and never `example.com` itself; list both to allow
//!   both. A wildcard needs at least two labels after `*.` (`*.com` is refused).
//! - An IP entry matches requests to that literal address. A range, `10.0.0.0/8` or, for
//!   IPv6, `[fd00::]/8` (brackets required, the address must be the network's first address),
//!   matches requests to any literal address in it. An IPv4-mapped IPv6 address
//!   (`::ffff:10.0.0.5`) counts as its IPv4 address.
//! - Without a port an entry allows the scheme's default port only (443 for https, 80 for
//!   http); `https://example.com:443` is the same entry as `https://example.com`. `:*` allows
//!   every port.
//! - Paths, queries, fragments and user information are refused, as is a bare `*`.
//!   Surrounding white space is ignored.
//!
//! - An entry that weakens the sandbox (plain `http`, an address or range in a refused
//!   network, any range) must start with `danger:`, and no other entry may.
//!
//! Entries are independent: a request is allowed when any entry matches. Every entry prints in
//! a canonical form ([`GrantEntry`]'s `Display`) that parses back to an equal entry.
//!
//! ```
//! use acmebox_egress::{DenialReason, Grant};
//!
//! let grant = Grant::parse(&["https://api.example.com", "danger:https://192.0.2.0/24"])?;
//! let target = grant.check_url("https://API.Example.com./v1/zones?key=s3cret")?;
//! assert_eq!(target.to_string(), "https://api.example.com");
//! assert_eq!(target.url(), "https://API.Example.com./v1/zones?<redacted>");
//!
//! // The name was granted, but it resolves to loopback: refused.
//! let rebound = grant.check_resolved(&target, &["127.0.0.1".parse()?]).unwrap_err();
//! assert!(matches!(rebound.reason(), DenialReason::BlockedAddress { .. }));
//!
//! // 192.0.2.0/24 is granted explicitly, so that address may be used; loopback is dropped.
//! let vetted = grant.check_resolved(&target, &["127.0.0.1".parse()?, "192.0.2.7".parse()?])?;
//! assert_eq!(vetted, ["192.0.2.7:443".parse()?]);
//!
//! assert!(grant.check_url("http://api.example.com/").is_err()); // http is not granted
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod blocked;
mod denial;
mod entry;
mod error;
mod grant;
mod headers;
mod host;
pub mod socket;
mod target;
mod url;

pub use blocked::blocked_reason;
pub use denial::{Denial, DenialReason};
pub use entry::{GrantEntry, GrantError, PortPattern, Scheme};
pub use error::{Error, Result};
pub use grant::{DANGER_MARKER, Grant};
pub use headers::{
    ALLOWED_METHODS, FORBIDDEN_REQUEST_HEADER_PREFIXES, FORBIDDEN_REQUEST_HEADERS,
    forbidden_request_headers, is_allowed_method, is_forbidden_request_header,
};
pub use host::{HostPattern, IpNet};
pub use socket::{DNS_PORT, DnsServerEntry, SocketUse};
pub use target::{Host, Target};
pub use url::redact_url;
