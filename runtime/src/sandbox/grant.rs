//! The provider's egress grant as the sandbox host uses it.
//!
//! This is a small stand-in for the crate's egress policy module: allow-list entries of the
//! form `https://host[:port]` (or `http://` when plain HTTP is granted), `*.suffix` wildcards,
//! and IP literals. A name must resolve to public addresses only; an address in a blocked
//! range (loopback, private, link-local, ...) is reachable only when the grant names it as an
//! IP literal.

use std::net::{IpAddr, SocketAddr};

/// A parsed allow list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    https: bool,
    host: Host,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    Suffix(String),
    Ip(IpAddr),
}

impl Grant {
    /// Parses allow-list entries; the error names the entry and what is wrong with it.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Grant, String> {
        let entries = entries
            .iter()
            .map(|e| parse_entry(e.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Grant { entries })
    }

    /// Whether a request to `scheme://host:port` is in the grant. The error says why not and
    /// what the operator would add to allow it.
    pub fn check(&self, https: bool, host: &str, port: u16) -> Result<(), String> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = host.parse::<IpAddr>().ok();
        let allowed = self.entries.iter().any(|e| {
            let scheme_ok = e.https == https;
            let port_ok = e.port.unwrap_or(if e.https { 443 } else { 80 }) == port;
            let host_ok = match (&e.host, ip) {
                (Host::Ip(a), Some(b)) => *a == b,
                (Host::Name(n), None) => n == host,
                (Host::Suffix(s), None) => {
                    host.len() > s.len() + 1 && host.ends_with(&format!(".{s}"))
                }
                _ => false,
            };
            scheme_ok && port_ok && host_ok
        });
        if allowed {
            return Ok(());
        }
        let scheme = if https { "https" } else { "http" };
        let default_port = if https { 443 } else { 80 };
        let shown = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let origin = if port == default_port {
            format!("{scheme}://{shown}")
        } else {
            format!("{scheme}://{shown}:{port}")
        };
        Err(format!(
            "is not in its allow list; add `{origin}` to `allow` if that is intended"
        ))
    }
}

/// Vets the addresses a name resolved to: only addresses outside the blocked ranges are
/// returned; when none is left the error names the first blocked address and its range.
pub fn check_resolved(host: &str, addrs: &[SocketAddr]) -> Result<Vec<SocketAddr>, String> {
    let vetted: Vec<SocketAddr> = addrs
        .iter()
        .copied()
        .filter(|a| blocked_reason(a.ip()).is_none())
        .collect();
    if !vetted.is_empty() {
        return Ok(vetted);
    }
    match addrs.first() {
        None => Err(format!("{host} did not resolve to any address")),
        Some(a) => Err(format!(
            "{host} resolves to {}, a {} address; grant the address itself to reach it",
            a.ip(),
            blocked_reason(a.ip()).unwrap_or("blocked")
        )),
    }
}

/// Why an address may not be reached through a name, or `None` for a public address.
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || v4.is_broadcast() || o[0] == 0 || o[0] >= 224 {
                Some("reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("reserved")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else {
                None
            }
        }
    }
}

fn parse_entry(entry: &str) -> Result<Entry, String> {
    let bad = |why: &str| format!("allow-list entry {entry:?}: {why}");
    let (https, rest) = if let Some(rest) = entry.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = entry.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad(
            "must start with https:// (or http:// to allow plain HTTP)",
        ));
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') || rest.contains('@') || rest.contains('?') {
        return Err(bad(
            "must be scheme://host[:port] without path, user or query",
        ));
    }
    let (host, port) = split_port(rest).map_err(|why| bad(&why))?;
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let host = if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
        Host::Ip(ip)
    } else if let Some(suffix) = host.strip_prefix("*.") {
        Host::Suffix(suffix.to_owned())
    } else if host.contains('*') {
        return Err(bad("a wildcard may only be a leading `*.`"));
    } else {
        Host::Name(host)
    };
    Ok(Entry { https, host, port })
}

fn split_port(rest: &str) -> Result<(&str, Option<u16>), String> {
    let port_at = if rest.starts_with('[') {
        rest.find("]:").map(|i| i + 1)
    } else {
        rest.rfind(':')
    };
    let Some(i) = port_at else {
        return Ok((rest, None));
    };
    let port = rest[i + 1..]
        .parse()
        .map_err(|_| format!("invalid port {:?}", &rest[i + 1..]))?;
    Ok((&rest[..i], Some(port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_table() {
        let g = Grant::parse(&[
            "https://api.example.com",
            "http://127.0.0.1:8080",
            "https://*.example.net",
            "https://[::1]:8443",
        ])
        .unwrap();
        let cases: &[(bool, &str, u16, bool)] = &[
            (true, "api.example.com", 443, true),
            (true, "API.example.com.", 443, true),
            (false, "api.example.com", 80, false),
            (true, "api.example.com", 8443, false),
            (false, "127.0.0.1", 8080, true),
            (true, "127.0.0.1", 8080, false),
            (true, "a.example.net", 443, true),
            (true, "example.net", 443, false),
            (true, "[::1]", 8443, true),
            (true, "::1", 8443, true),
            (true, "169.254.169.254", 443, false),
        ];
        for &(https, host, port, ok) in cases {
            assert_eq!(
                g.check(https, host, port).is_ok(),
                ok,
                "{https} {host} {port}"
            );
        }
    }

    #[test]
    fn bad_entries() {
        for e in [
            "ftp://x",
            "https://",
            "https://a/b",
            "https://a:x",
            "https://a*.b",
        ] {
            assert!(Grant::parse(&[e]).is_err(), "{e}");
        }
    }

    #[test]
    fn blocked() {
        for ip in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "169.254.169.254",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(blocked_reason(ip.parse().unwrap()).is_some(), "{ip}");
        }
        assert!(blocked_reason("192.0.2.1".parse().unwrap()).is_none());
        let lo: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let err = check_resolved("localhost", &[lo]).unwrap_err();
        assert!(err.contains("loopback"), "{err}");
    }
}
