//! Host patterns of allow-list entries: names, wildcards, addresses and CIDR networks.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Host;
use super::blocked::{blocked_network_starts, blocked_reason, prefix_eq32, prefix_eq128};
use acmebox_challenge::names::{self, normalize_domain};

/// The host part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostPattern {
    /// One DNS name, normalised (IDNA to ASCII, lower case, no trailing dot). Single-label
    /// names such as `localhost` are allowed.
    Name(String),
    /// `*.<suffix>`: any name with one or more labels in front of the suffix (normalised like
    /// [`HostPattern::Name`], stored without `*.`), never the suffix itself.
    Wildcard(String),
    /// One IP address, written bare (IPv4) or in brackets (IPv6).
    Ip(IpAddr),
    /// A range of addresses, `10.0.0.0/8` or `[fd00::]/8`.
    Net(IpNet),
}

impl HostPattern {
    /// True when the pattern names IP addresses (an [`Ip`](Self::Ip) or [`Net`](Self::Net))
    /// rather than DNS names. Only such entries can let a request reach a refused network.
    pub fn is_address(&self) -> bool {
        matches!(self, HostPattern::Ip(_) | HostPattern::Net(_))
    }

    /// True when the pattern is an address or range that contains `ip` (or, for an
    /// IPv4-mapped IPv6 `ip`, its IPv4 address, which is the same destination).
    pub fn contains_addr(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        match self {
            HostPattern::Ip(own) => *own == ip || *own == canonical,
            HostPattern::Net(net) => net.contains(ip) || net.contains(canonical),
            HostPattern::Name(_) | HostPattern::Wildcard(_) => false,
        }
    }

    pub(super) fn matches(&self, host: &Host) -> bool {
        match (self, host) {
            (HostPattern::Name(own), Host::Name(name)) => own == name,
            (HostPattern::Wildcard(suffix), Host::Name(name)) => name
                .strip_suffix(suffix.as_str())
                .and_then(|front| front.strip_suffix('.'))
                .is_some_and(|front| !front.is_empty()),
            (HostPattern::Ip(_) | HostPattern::Net(_), Host::Ip(ip)) => self.contains_addr(*ip),
            _ => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Name(name) => f.write_str(name),
            HostPattern::Wildcard(suffix) => write!(f, "*.{suffix}"),
            HostPattern::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            HostPattern::Net(net) => write!(f, "{net}"),
        }
    }
}

/// An IP network in CIDR notation: an address whose bits after the prefix are zero, and the
/// prefix length. Written `10.0.0.0/8` or, for IPv6, `[fd00::]/8` (brackets required).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix_len: u8,
}

impl IpNet {
    /// The network `addr/prefix_len`; `None` when the prefix is longer than the address (32
    /// or 128 bits) or `addr` has bits set after the prefix.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return None;
        }
        let net = network_of(addr, prefix_len);
        (net.addr == addr).then_some(net)
    }

    /// The first address of the network.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The number of leading bits that are fixed.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// True when `ip` is in the network (an IPv4 network never contains an IPv6 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq32(u32::from(net), u32::from(ip), self.prefix_len)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq128(u128::from(net), u128::from(ip), self.prefix_len)
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(ip) => write!(f, "{ip}/{}", self.prefix_len),
            IpAddr::V6(ip) => write!(f, "[{ip}]/{}", self.prefix_len),
        }
    }
}

/// Normalises a host name from an entry or a URL: one trailing dot dropped, IDNA (UTS 46) to
/// ASCII, lower case. Multi-label names are checked by [`normalize_domain`]; single-label names
/// (`localhost`) by the same label rules. A last label that is all digits or `0x` and hex digits
/// is refused: resolvers may read such a name as a numeric IPv4 address.
pub(super) fn normalize_host_name(name: &str) -> Result<String, String> {
    let ascii = if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(name)
            .map_err(|_| format!("{name:?} is not a valid internationalised domain name"))?
    };
    let ascii = ascii.strip_suffix('.').unwrap_or(&ascii);
    if ascii.is_empty() {
        return Err("the host name is empty".into());
    }
    if ascii.ends_with('.') {
        return Err("it has an empty label (two dots in a row)".into());
    }
    let normalized = if ascii.contains('.') {
        normalize_domain(ascii).map_err(|err| match err {
            acmebox_challenge::Error::InvalidIdentifier { reason, .. } => reason,
            other => other.to_string(),
        })?
    } else {
        check_label(ascii)?;
        ascii.to_owned()
    };
    let last = normalized.rsplit('.').next().unwrap_or_default();
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
    if hex || last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{name:?} looks like an IPv4 address in a non-standard form; write addresses as four decimal numbers, as in 192.0.2.1"
        ));
    }
    Ok(normalized)
}

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("the host name is empty".into());
    }
    names::check_label(label)
}

/// The network `addr/prefix_len` with the bits after the prefix cleared.
pub(super) fn network_of(addr: IpAddr, prefix_len: u8) -> IpNet {
    let addr = match addr {
        IpAddr::V4(ip) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(ip) & mask))
        }
        IpAddr::V6(ip) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(ip) & mask))
        }
    };
    IpNet { addr, prefix_len }
}

/// True when a network shares an address with a network refused by default.
///
/// Two CIDR networks overlap only when one contains the other, so either the granted network
/// contains the first address of a refused one, or a refused network contains the granted one
/// and with it the granted network's first address.
pub(super) fn net_overlaps_blocked(net: &IpNet) -> bool {
    blocked_reason(net.addr()).is_some()
        || blocked_network_starts().any(|start| net.contains(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_net_contains() {
        let net = IpNet::new("10.0.0.0".parse().expect("the test input is valid"), 8)
            .expect("the test input is valid");
        assert!(net.contains("10.255.0.1".parse().expect("the test input is valid")));
        assert!(!net.contains("11.0.0.0".parse().expect("the test input is valid")));
        assert!(!net.contains("::ffff:10.0.0.1".parse().expect("the test input is valid")));
        let all = IpNet::new("::".parse().expect("the test input is valid"), 0)
            .expect("the test input is valid");
        assert!(all.contains("2001:db8::1".parse().expect("the test input is valid")));
        assert!(!all.contains("192.0.2.1".parse().expect("the test input is valid")));
        assert_eq!(
            IpNet::new("10.0.0.1".parse().expect("the test input is valid"), 8),
            None
        );
        assert_eq!(
            IpNet::new("10.0.0.0".parse().expect("the test input is valid"), 33),
            None
        );
        assert_eq!(
            IpNet::new("fd00::".parse().expect("the test input is valid"), 129),
            None
        );
        assert!(IpNet::new("fd00::".parse().expect("the test input is valid"), 8).is_some());
        assert!(IpNet::new("fd00::1".parse().expect("the test input is valid"), 128).is_some());
    }
}
