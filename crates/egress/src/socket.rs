//! DNS over a granted socket: `dns://IP[:port]` entries, and the check the host makes for every
//! socket use of a provider.
//!
//! Self-hosted DNS servers (BIND, Knot, PowerDNS, appliances) take RFC 2136 dynamic updates
//! over TCP and UDP port 53, not HTTP. A `dns://` entry gives a provider exactly that: sockets
//! to one server address, and nothing else. The rules:
//!
//! - **Literal addresses only.** `dns://192.0.2.53:53` or `dns://[2001:db8::53]`; a name is
//!   refused, since the host resolves nothing for sockets (name lookup stays off), so what was
//!   granted is what is connected to.
//! - **Connect, send, receive** only to a granted address and port.
//! - **Bind** only to the wildcard address with an ephemeral port (what `connect` and the first
//!   `send` do implicitly).
//! - **No listening, no accepting**: a provider is a client.
//!
//! A granted address in a network refused by default (loopback, private ranges) is honoured
//! when the entry is marked (`danger:dns://10.0.0.53`), since it names the address literally,
//! and reported by [`DnsServerEntry::danger_reason`], like a `danger:https://10.0.0.5` entry.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::blocked_reason;
use super::denial::{Denial, DenialReason};
use super::entry::GrantError;

/// The port a `dns://` entry without one grants (RFC 1035 §4.2).
pub const DNS_PORT: u16 = 53;

/// One `dns://IP[:port]` entry: TCP and UDP to one DNS server address.
///
/// ```
/// use acmebox_egress::DnsServerEntry;
/// let entry = DnsServerEntry::parse("DNS://[::ffff:192.0.2.53]")?;
/// assert_eq!(entry.addr(), "192.0.2.53:53".parse()?);
/// assert_eq!(entry.to_string(), "dns://192.0.2.53:53");
/// assert!(DnsServerEntry::parse("dns://ns1.example.com").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DnsServerEntry {
    addr: SocketAddr,
}

impl DnsServerEntry {
    /// Parses one entry; surrounding ASCII white space is ignored.
    pub fn parse(entry: &str) -> Result<Self, GrantError> {
        parse_dns_entry(entry.trim_ascii())
            .map(|addr| DnsServerEntry { addr })
            .map_err(|reason| GrantError::new(entry, reason))
    }

    /// True when `entry` is meant as a `dns://` entry (its scheme is `dns`, in any case), so
    /// that [`Grant::parse`](super::Grant::parse) parses it with [`parse`](Self::parse).
    pub fn is_dns_entry(entry: &str) -> bool {
        let entry = entry.trim_ascii();
        entry
            .get(..6)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("dns://"))
    }

    /// The granted server address. IPv4-mapped IPv6 addresses are stored as IPv4.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// True when the entry weakens the sandbox; see [`danger_reason`](Self::danger_reason).
    pub fn is_dangerous(&self) -> bool {
        self.danger_reason().is_some()
    }

    /// Why the entry weakens the sandbox: it names an address in a network refused by default
    /// (see [`blocked_reason`]), such as a DNS server on loopback or a private network. Such
    /// entries are the operator's explicit choice and are honoured.
    pub fn danger_reason(&self) -> Option<&'static str> {
        blocked_reason(self.addr.ip()).map(|_| {
            "it names an address in private or special-purpose networks, which are otherwise refused"
        })
    }
}

impl fmt::Display for DnsServerEntry {
    /// `dns://IP:port`, always with the port; parses back to an equal entry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dns://{}", self.addr)
    }
}

impl std::str::FromStr for DnsServerEntry {
    type Err = GrantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DnsServerEntry::parse(s)
    }
}

/// What a provider wants to do with a socket address; mirrors the uses a WASI host checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketUse {
    /// Binding a TCP socket (explicitly, or implicitly before a connect).
    TcpBind,
    /// Connecting a TCP socket to a remote address.
    TcpConnect,
    /// Listening on a TCP socket.
    TcpListen,
    /// Accepting a connection from a remote address.
    TcpAccept,
    /// Binding a UDP socket (explicitly, or implicitly before a connect or send).
    UdpBind,
    /// Sending a datagram to a remote address.
    UdpSend,
    /// Receiving a datagram from a remote address.
    UdpReceive,
}

impl SocketUse {
    /// `tcp` or `udp`.
    pub fn protocol(self) -> &'static str {
        match self {
            SocketUse::TcpBind
            | SocketUse::TcpConnect
            | SocketUse::TcpListen
            | SocketUse::TcpAccept => "tcp",
            SocketUse::UdpBind | SocketUse::UdpSend | SocketUse::UdpReceive => "udp",
        }
    }

    /// The use, as a phrase: `tcp connect`, `udp send`.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketUse::TcpBind => "tcp bind",
            SocketUse::TcpConnect => "tcp connect",
            SocketUse::TcpListen => "tcp listen",
            SocketUse::TcpAccept => "tcp accept",
            SocketUse::UdpBind => "udp bind",
            SocketUse::UdpSend => "udp send",
            SocketUse::UdpReceive => "udp receive",
        }
    }
}

impl fmt::Display for SocketUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The socket check of a grant with `servers` as its `dns://` entries; see
/// [`Grant::check_socket`](super::Grant::check_socket).
pub(super) fn check_socket(
    servers: &[DnsServerEntry],
    addr: SocketAddr,
    socket_use: SocketUse,
) -> Result<(), Denial> {
    let addr = canonical(addr);
    let target = format!("{socket_use} {addr}");
    if servers.is_empty() {
        return Err(Denial::new(target, DenialReason::NoSocketGrant));
    }
    match socket_use {
        SocketUse::TcpBind | SocketUse::UdpBind => {
            if addr.ip().is_unspecified() && addr.port() == 0 {
                Ok(())
            } else {
                Err(Denial::new(
                    target,
                    DenialReason::SocketUseRefused {
                        what: "binding to a chosen address or port; a provider binds only to the \
                               wildcard address with an ephemeral port",
                    },
                ))
            }
        }
        SocketUse::TcpListen | SocketUse::TcpAccept => Err(Denial::new(
            target,
            DenialReason::SocketUseRefused {
                what: "accepting connections; a provider is a client",
            },
        )),
        SocketUse::TcpConnect | SocketUse::UdpSend | SocketUse::UdpReceive => {
            if servers.iter().any(|server| server.addr == addr) {
                Ok(())
            } else {
                Err(Denial::new(
                    target,
                    DenialReason::NotAllowed {
                        suggestion: {
                            let entry = DnsServerEntry { addr };
                            if entry.is_dangerous() {
                                format!("{}{entry}", super::DANGER_MARKER)
                            } else {
                                entry.to_string()
                            }
                        },
                    },
                ))
            }
        }
    }
}

/// `addr` with an IPv4-mapped IPv6 address turned into its IPv4 address.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn parse_dns_entry(entry: &str) -> Result<SocketAddr, String> {
    const EXAMPLE: &str = "`dns://192.0.2.53:53` or `dns://[2001:db8::53]:53`";
    let Some(rest) = entry
        .get(..6)
        .filter(|scheme| scheme.eq_ignore_ascii_case("dns://"))
        .map(|_| &entry[6..])
    else {
        return Err(format!(
            "a DNS server entry starts with `dns://`, as in {EXAMPLE}"
        ));
    };
    if rest.is_empty() {
        return Err(format!("the server address is missing; write {EXAMPLE}"));
    }
    if rest.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "a DNS server entry is one address and port, without path, range or user; write {EXAMPLE}"
        ));
    }
    let (host, port) = split_host_port(rest)?;
    let ip = parse_ip(host)?.to_canonical();
    if ip.is_unspecified() {
        return Err(format!(
            "{ip} is the wildcard address, not a server; write the server's address, as in {EXAMPLE}"
        ));
    }
    if ip.is_multicast() || ip == IpAddr::from([255, 255, 255, 255]) {
        return Err(format!(
            "{ip} is a multicast or broadcast address, not a server; write the server's address, as in {EXAMPLE}"
        ));
    }
    let port = match port {
        None => DNS_PORT,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0 && !port.starts_with('+'))
            .ok_or_else(|| {
                format!("port `{port}` is not a number from 1 to 65535; write a port such as `:53`")
            })?,
    };
    Ok(SocketAddr::new(ip, port))
}

/// Splits `host[:port]`, with IPv6 hosts in brackets.
fn split_host_port(rest: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(bracketed) = rest.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(
                "the IPv6 address has no closing `]`; write `dns://[2001:db8::53]:53`".into(),
            );
        };
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!(
                    "unexpected `{after}` after the address; write `dns://[{host}]:53`"
                )),
            },
        };
    }
    if rest.matches(':').count() > 1 {
        return Err(format!(
            "IPv6 addresses must be written in brackets, as in `dns://[{rest}]:53`"
        ));
    }
    Ok(match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    })
}

fn parse_ip(host: &str) -> Result<IpAddr, String> {
    if host.contains('%') {
        return Err(
            "IPv6 zone identifiers (`%eth0`) are not supported; write the address alone".into(),
        );
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    if host.is_empty() {
        return Err("the server address is missing; write `dns://192.0.2.53:53`".into());
    }
    Err(format!(
        "`{host}` is not an IP address; a DNS server entry names the server's address, since the \
         sandbox looks up no names for sockets (write `dns://192.0.2.53:53`, with the address \
         `{host}` has)"
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(text: &str) -> DnsServerEntry {
        DnsServerEntry::parse(text).expect("the test input is valid")
    }

    #[test]
    fn parse_table() {
        // (entry, canonical form or the start of the error)
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("dns://192.0.2.53", Ok("dns://192.0.2.53:53")),
            ("dns://192.0.2.53:53", Ok("dns://192.0.2.53:53")),
            (" DNS://192.0.2.53:5353 ", Ok("dns://192.0.2.53:5353")),
            ("dns://[2001:db8::53]", Ok("dns://[2001:db8::53]:53")),
            ("dns://[2001:db8::53]:8053", Ok("dns://[2001:db8::53]:8053")),
            (
                "dns://[::ffff:127.0.0.1]:25354",
                Ok("dns://127.0.0.1:25354"),
            ),
            ("dns://127.0.0.1:25354", Ok("dns://127.0.0.1:25354")),
            (
                "dns://ns1.example.com",
                Err("`ns1.example.com` is not an IP address"),
            ),
            (
                "dns://localhost:53",
                Err("`localhost` is not an IP address"),
            ),
            ("dns://", Err("the server address is missing")),
            ("dns://:53", Err("the server address is missing")),
            (
                "dns://192.0.2.0/24",
                Err("a DNS server entry is one address"),
            ),
            (
                "dns://192.0.2.53:53/",
                Err("a DNS server entry is one address"),
            ),
            (
                "dns://user@192.0.2.53",
                Err("a DNS server entry is one address"),
            ),
            ("dns://192.0.2.53:0", Err("port `0` is not a number")),
            ("dns://192.0.2.53:*", Err("port `*` is not a number")),
            ("dns://192.0.2.53:+53", Err("port `+53` is not a number")),
            (
                "dns://192.0.2.53:65536",
                Err("port `65536` is not a number"),
            ),
            ("dns://192.0.2.53:", Err("port `` is not a number")),
            (
                "dns://2001:db8::53",
                Err("IPv6 addresses must be written in brackets"),
            ),
            (
                "dns://[2001:db8::53",
                Err("the IPv6 address has no closing"),
            ),
            (
                "dns://[2001:db8::53]x",
                Err("unexpected `x` after the address"),
            ),
            ("dns://[fe80::1%eth0]", Err("IPv6 zone identifiers")),
            ("dns://0.0.0.0", Err("0.0.0.0 is the wildcard address")),
            ("dns://[::]:53", Err(":: is the wildcard address")),
            ("dns://224.0.0.251:5353", Err("224.0.0.251 is a multicast")),
            (
                "dns://255.255.255.255",
                Err("255.255.255.255 is a multicast or broadcast"),
            ),
            (
                "tcp://192.0.2.53",
                Err("a DNS server entry starts with `dns://`"),
            ),
        ];
        for (text, want) in cases {
            match (DnsServerEntry::parse(text), want) {
                (Ok(got), Ok(want)) => assert_eq!(got.to_string(), *want, "{text:?}"),
                (Err(err), Err(want)) => assert!(
                    err.reason().starts_with(want),
                    "{text:?}: {:?} does not start with {want:?}",
                    err.reason()
                ),
                (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn danger_is_reported_for_refused_networks() {
        assert!(entry("dns://127.0.0.1:25354").is_dangerous());
        assert!(entry("dns://10.0.0.53").is_dangerous());
        assert!(!entry("dns://8.8.8.8").is_dangerous());
    }

    #[test]
    fn check_socket_table() {
        let servers = [
            entry("dns://127.0.0.1:25354"),
            entry("dns://[2001:db8::53]"),
        ];
        let addr = |s: &str| s.parse::<SocketAddr>().expect("the test input is valid");
        // (address, use, allowed)
        let cases = [
            ("127.0.0.1:25354", SocketUse::TcpConnect, true),
            ("[::ffff:127.0.0.1]:25354", SocketUse::TcpConnect, true),
            ("127.0.0.1:25354", SocketUse::UdpSend, true),
            ("127.0.0.1:25354", SocketUse::UdpReceive, true),
            ("[2001:db8::53]:53", SocketUse::TcpConnect, true),
            ("127.0.0.1:25355", SocketUse::TcpConnect, false),
            ("127.0.0.2:25354", SocketUse::TcpConnect, false),
            ("127.0.0.1:25355", SocketUse::UdpSend, false),
            ("127.0.0.1:53", SocketUse::UdpReceive, false),
            ("[2001:db8::54]:53", SocketUse::TcpConnect, false),
            ("0.0.0.0:0", SocketUse::TcpBind, true),
            ("[::]:0", SocketUse::UdpBind, true),
            ("0.0.0.0:53", SocketUse::TcpBind, false),
            ("127.0.0.1:0", SocketUse::UdpBind, false),
            ("0.0.0.0:0", SocketUse::TcpListen, false),
            ("127.0.0.1:25354", SocketUse::TcpAccept, false),
        ];
        for (text, socket_use, allowed) in cases {
            let got = check_socket(&servers, addr(text), socket_use);
            assert_eq!(got.is_ok(), allowed, "{socket_use} {text}: {got:?}");
        }
        // Without a dns:// entry, nothing at all, not even a bind.
        for socket_use in [
            SocketUse::TcpBind,
            SocketUse::TcpConnect,
            SocketUse::UdpBind,
        ] {
            let denial = check_socket(&[], addr("0.0.0.0:0"), socket_use).unwrap_err();
            assert_eq!(denial.reason(), &DenialReason::NoSocketGrant);
        }
    }

    #[test]
    fn denials_say_what_to_grant() {
        let servers = [entry("dns://127.0.0.1:25354")];
        let denial = check_socket(
            &servers,
            "127.0.0.1:25355".parse().expect("valid"),
            SocketUse::TcpConnect,
        )
        .unwrap_err();
        assert_eq!(
            denial.message("rfc2136"),
            "provider `rfc2136` asked for tcp connect 127.0.0.1:25355 which is not in its allow \
             list; add `danger:dns://127.0.0.1:25355` to `allow` if that is intended"
        );
        let denial =
            check_socket(&[], "0.0.0.0:0".parse().expect("valid"), SocketUse::TcpBind).unwrap_err();
        assert!(
            denial.message("pdns").starts_with(
                "provider `pdns` asked for tcp bind 0.0.0.0:0, but it has no socket grant"
            ),
            "{}",
            denial.message("pdns")
        );
    }

    proptest! {
        #[test]
        fn printed_entries_parse_back(ip in any::<IpAddr>(), port in 1u16..) {
            if let Ok(parsed) = DnsServerEntry::parse(&format!("dns://{}", SocketAddr::new(ip, port))) {
                let again = DnsServerEntry::parse(&parsed.to_string());
                prop_assert_eq!(again, Ok(parsed));
                prop_assert!(check_socket(&[parsed], parsed.addr(), SocketUse::TcpConnect).is_ok());
            }
        }
    }
}
