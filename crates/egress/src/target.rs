//! Where an allowed request goes.

use std::fmt;
use std::net::IpAddr;

use super::Scheme;

/// Where an allowed request goes: scheme, normalised host and port, plus the redacted URL for
/// messages. Made by [`Grant::check_url`](super::Grant::check_url) and
/// [`Grant::check_request`](super::Grant::check_request).
///
/// `Display` writes `scheme://host[:port]` (the port only when it is not the default), which
/// is also the allow-list entry for exactly this target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub(super) scheme: Scheme,
    pub(super) host: Host,
    pub(super) port: u16,
    pub(super) url: String,
}

impl Target {
    /// The request's scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host to resolve (a name) or connect to (an address). Resolve a name as an absolute
    /// name (with a trailing dot) so that the resolver's search domains do not apply.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port to connect to (the scheme's default when the URL names none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The requested URL, redacted by [`redact_url`](super::redact_url).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The IP address when the host is a literal address: no resolution is needed, pass it to
    /// [`Grant::check_resolved`](super::Grant::check_resolved).
    pub fn literal_addr(&self) -> Option<IpAddr> {
        match self.host {
            Host::Ip(ip) => Some(ip),
            Host::Name(_) => None,
        }
    }

    /// `host[:port]` (the port only when not the default), the value of the `Host` header the
    /// host sends in place of any the guest set.
    pub fn authority(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority())
    }
}

/// The host of a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, normalised (IDNA to ASCII, lower case, no trailing dot).
    Name(String),
    /// A literal IP address.
    Ip(IpAddr),
}

impl fmt::Display for Host {
    /// The name, an IPv4 address, or an IPv6 address in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}
