//! The allow list of one provider and the two checks the host makes with it.

use std::net::{IpAddr, SocketAddr};

use super::socket::{self, DnsServerEntry, SocketUse};
use super::{
    Denial, DenialReason, GrantEntry, GrantError, Host, Scheme, Target, blocked_reason, redact_url,
    url,
};

/// A provider's allow list: the requests it may make, and the DNS servers it may reach over
/// sockets. Empty means deny everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    entries: Vec<GrantEntry>,
    dns_servers: Vec<DnsServerEntry>,
}

impl Grant {
    /// Parses every entry (see the [module docs](super) for the grammar): `dns://` entries as
    /// [`DnsServerEntry`], the others as [`GrantEntry`]. The first invalid entry is the error.
    ///
    /// An entry that weakens the sandbox (plain http, an address or range in a network refused
    /// by default, any range; see [`GrantEntry::danger_reason`]) must carry the
    /// [`DANGER_MARKER`], `danger:http://10.0.0.5:8081`, and an entry that does not weaken it
    /// must not: a grant says in its own words where it opens the sandbox, and
    /// [`warnings`](Self::warnings) lists those entries for the host to repeat on every load.
    ///
    /// ```
    /// use acmebox_egress::Grant;
    /// assert!(Grant::parse(&["http://127.0.0.1:8081"]).is_err());
    /// let grant = Grant::parse(&["danger:http://127.0.0.1:8081", "https://api.example.com"])?;
    /// assert_eq!(grant.warnings().len(), 1);
    /// assert!(Grant::parse(&["danger:https://api.example.com"]).is_err());
    /// # Ok::<(), acmebox_egress::GrantError>(())
    /// ```
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, GrantError> {
        Self::parse_with(entries, true)
    }

    /// Parses like [`parse`](Self::parse) but takes entries that weaken the sandbox with or
    /// without the [`DANGER_MARKER`]: for lists that are not an operator's grant, such as the
    /// hosts a provider's `describe()` says it needs (which the operator copies into `allow`).
    pub fn parse_lenient<S: AsRef<str>>(entries: &[S]) -> Result<Self, GrantError> {
        Self::parse_with(entries, false)
    }

    fn parse_with<S: AsRef<str>>(entries: &[S], need_marker: bool) -> Result<Self, GrantError> {
        let mut grant = Grant::default();
        for written in entries {
            let written = written.as_ref();
            let (marked, entry) = split_danger_marker(written);
            let (canonical, danger) = if DnsServerEntry::is_dns_entry(entry) {
                let server = DnsServerEntry::parse(entry).map_err(|e| e.written_as(written))?;
                let seen = (server.to_string(), server.danger_reason());
                if !grant.dns_servers.contains(&server) {
                    grant.dns_servers.push(server);
                }
                seen
            } else {
                let parsed = GrantEntry::parse(entry).map_err(|e| e.written_as(written))?;
                let seen = (parsed.to_string(), parsed.danger_reason());
                grant.entries.push(parsed);
                seen
            };
            if !need_marker {
                continue;
            }
            match (marked, danger) {
                (false, Some(reason)) => {
                    return Err(GrantError::new(
                        written,
                        format!(
                            "this entry weakens the sandbox: {reason}. If the provider needs \
                             it, say so by writing it as \"{DANGER_MARKER}{canonical}\" \
                             (acmebox then warns about it on every load)"
                        ),
                    ));
                }
                (true, None) => {
                    return Err(GrantError::new(
                        written,
                        format!(
                            "the `{DANGER_MARKER}` marker is only for entries that weaken the \
                             sandbox, and this one does not; write \"{canonical}\""
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(grant)
    }

    /// The grant that allows nothing.
    pub fn deny_all() -> Self {
        Grant::default()
    }

    /// The HTTP entries, in the order given.
    pub fn entries(&self) -> &[GrantEntry] {
        &self.entries
    }

    /// The `dns://` entries, in the order given, without duplicates.
    pub fn dns_servers(&self) -> &[DnsServerEntry] {
        &self.dns_servers
    }

    /// True when the grant gives sockets: it has at least one `dns://` entry.
    pub fn grants_sockets(&self) -> bool {
        !self.dns_servers.is_empty()
    }

    /// True when nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.dns_servers.is_empty()
    }

    /// The HTTP entries that weaken the sandbox (plain http, refused networks named
    /// explicitly, ranges), for the host to warn about when it loads a configuration.
    pub fn dangerous_entries(&self) -> impl Iterator<Item = &GrantEntry> {
        self.entries.iter().filter(|entry| entry.is_dangerous())
    }

    /// The `dns://` entries that name refused networks (loopback, private ranges).
    pub fn dangerous_dns_servers(&self) -> impl Iterator<Item = &DnsServerEntry> {
        self.dns_servers.iter().filter(|entry| entry.is_dangerous())
    }

    /// One sentence per entry that weakens the sandbox, naming the entry and how, for the host
    /// to print every time it loads the grant.
    pub fn warnings(&self) -> Vec<String> {
        let http = self
            .dangerous_entries()
            .filter_map(|e| Some((e.to_string(), e.danger_reason()?)));
        let dns = self
            .dangerous_dns_servers()
            .filter_map(|e| Some((e.to_string(), e.danger_reason()?)));
        http.chain(dns)
            .map(|(entry, reason)| {
                format!("allow entry `{DANGER_MARKER}{entry}` weakens the sandbox: {reason}")
            })
            .collect()
    }

    /// Decides on one socket use of a provider (see [`socket`](super::socket) for the rules):
    /// connect, send and receive only to a granted `dns://` address; bind only to the wildcard
    /// address with an ephemeral port; never listen or accept. Without a `dns://` entry every
    /// use is refused.
    ///
    /// ```
    /// use acmebox_egress::{Grant, SocketUse};
    /// let grant = Grant::parse(&["danger:dns://127.0.0.1:5353"])?;
    /// assert!(grant.check_socket("127.0.0.1:5353".parse()?, SocketUse::TcpConnect).is_ok());
    /// assert!(grant.check_socket("127.0.0.1:53".parse()?, SocketUse::TcpConnect).is_err());
    /// assert!(grant.check_socket("0.0.0.0:0".parse()?, SocketUse::UdpBind).is_ok());
    /// assert!(grant.check_socket("0.0.0.0:5353".parse()?, SocketUse::UdpBind).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_socket(&self, addr: SocketAddr, socket_use: SocketUse) -> Result<(), Denial> {
        socket::check_socket(&self.dns_servers, addr, socket_use)
    }

    /// Step one: decides on a request URL's scheme, host and port, before resolution.
    ///
    /// The URL is split strictly: `scheme://authority[/path][?query][#fragment]`, where the
    /// authority has no user information, no percent-encoding and no stray characters. The
    /// returned [`Target`] is what the host resolves and connects to.
    pub fn check_url(&self, url: &str) -> Result<Target, Denial> {
        let (scheme, authority) = url::split_url(url)
            .map_err(|reason| Denial::new(redact_url(url), DenialReason::InvalidUrl { reason }))?;
        self.check_parts(scheme, authority, redact_url(url))
    }

    /// Step one for a request already split the way `wasi:http` splits it: scheme, authority
    /// (`host[:port]`) and path with query (used only for messages).
    pub fn check_request(
        &self,
        scheme: &str,
        authority: &str,
        path_with_query: &str,
    ) -> Result<Target, Denial> {
        let url = redact_url(&format!("{scheme}://{authority}{path_with_query}"));
        self.check_parts(scheme, authority, url)
    }

    /// Step two: vets the addresses the host resolved `target`'s name to (for an IP-literal
    /// target, pass that address) and returns the socket addresses the host may connect to,
    /// in the order given, without duplicates.
    ///
    /// An address in a network refused by default (see [`blocked_reason`]) is dropped unless
    /// an entry with the target's scheme and port names it or a range containing it. When no
    /// address is left the request is refused with the first dropped address as the reason.
    pub fn check_resolved(
        &self,
        target: &Target,
        addrs: &[IpAddr],
    ) -> Result<Vec<SocketAddr>, Denial> {
        let mut vetted = Vec::with_capacity(addrs.len());
        let mut first_denial = None;
        for ip in addrs {
            match self.vet_addr(target, *ip) {
                Ok(addr) if !vetted.contains(&addr) => vetted.push(addr),
                Ok(_) => {}
                Err(denial) => {
                    first_denial.get_or_insert(denial);
                }
            }
        }
        if !vetted.is_empty() {
            return Ok(vetted);
        }
        Err(first_denial
            .unwrap_or_else(|| Denial::new(target.url.clone(), DenialReason::NoAddresses)))
    }

    /// Vets one resolved address for `target`; see [`check_resolved`](Self::check_resolved).
    pub fn vet_addr(&self, target: &Target, ip: IpAddr) -> Result<SocketAddr, Denial> {
        let addr = SocketAddr::new(ip, target.port);
        let Some(network) = blocked_reason(ip) else {
            return Ok(addr);
        };
        if self
            .entries
            .iter()
            .any(|entry| entry.names_addr(target, ip))
        {
            return Ok(addr);
        }
        let suggestion = suggest(&Target {
            host: Host::Ip(ip),
            url: String::new(),
            ..target.clone()
        });
        Err(Denial::new(
            target.url.clone(),
            DenialReason::BlockedAddress {
                addr: ip,
                network,
                suggestion,
            },
        ))
    }

    fn check_parts(&self, scheme: &str, authority: &str, url: String) -> Result<Target, Denial> {
        let Some(parsed_scheme) = Scheme::parse(scheme) else {
            let scheme = scheme.to_owned();
            return Err(Denial::new(url, DenialReason::UnsupportedScheme { scheme }));
        };
        let (host, port) = match url::parse_authority(authority) {
            Ok(parts) => parts,
            Err(reason) => return Err(Denial::new(url, DenialReason::InvalidUrl { reason })),
        };
        let target = Target {
            scheme: parsed_scheme,
            host,
            port: port.unwrap_or(parsed_scheme.default_port()),
            url,
        };
        if self.entries.iter().any(|entry| entry.matches(&target)) {
            return Ok(target);
        }
        let suggestion = suggest(&target);
        Err(Denial::new(
            target.url,
            DenialReason::NotAllowed { suggestion },
        ))
    }
}

/// What an allow-list entry starts with when it knowingly weakens the sandbox; see
/// [`Grant::parse`]. Compared case-insensitively, white space around it is ignored.
pub const DANGER_MARKER: &str = "danger:";

/// The entry an operator would write to allow requests to `target`, with the
/// [`DANGER_MARKER`] when that entry weakens the sandbox (plain http, a refused address).
fn suggest(target: &Target) -> String {
    let weakens = target.scheme() == Scheme::Http
        || matches!(target.host(), Host::Ip(ip) if blocked_reason(*ip).is_some());
    if weakens {
        format!("{DANGER_MARKER}{target}")
    } else {
        target.to_string()
    }
}

/// Splits an entry into whether it carries the [`DANGER_MARKER`] and the entry after it.
fn split_danger_marker(written: &str) -> (bool, &str) {
    let trimmed = written.trim_ascii();
    match trimmed.get(..DANGER_MARKER.len()) {
        Some(head) if head.eq_ignore_ascii_case(DANGER_MARKER) => {
            (true, trimmed[DANGER_MARKER.len()..].trim_ascii())
        }
        _ => (false, written),
    }
}

impl FromIterator<GrantEntry> for Grant {
    fn from_iter<I: IntoIterator<Item = GrantEntry>>(entries: I) -> Self {
        Grant {
            entries: entries.into_iter().collect(),
            dns_servers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The checks below are about matching, not about the marker: they take entries as written.
    fn grant(entries: &[&str]) -> Grant {
        Grant::parse_lenient(entries).expect("the test input is valid")
    }

    #[test]
    fn check_url_table() {
        // (grant, url, allowed)
        let cases: &[(&[&str], &str, bool)] = &[
            (&[], "https://api.example.com/", false),
            (
                &["https://api.example.com"],
                "https://api.example.com/",
                true,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com",
                true,
            ),
            (
                &["https://api.example.com"],
                "https://API.EXAMPLE.COM/",
                true,
            ),
            (
                &["https://api.example.com"],
                "HTTPS://api.example.com./x",
                true,
            ),
            (
                &["https://API.example.com."],
                "https://api.example.com/",
                true,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com:443/",
                true,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com:8443/",
                false,
            ),
            (
                &["https://api.example.com"],
                "http://api.example.com/",
                false,
            ),
            (
                &["https://api.example.com"],
                "http://api.example.com:443/",
                false,
            ),
            (&["https://api.example.com"], "https://example.com/", false),
            (
                &["https://api.example.com"],
                "https://xapi.example.com/",
                false,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com.evil.test/",
                false,
            ),
            (
                &["https://api.example.com"],
                "https://evil.test/api.example.com",
                false,
            ),
            (
                &["https://api.example.com"],
                "https://evil.test?https://api.example.com",
                false,
            ),
            (
                &["https://api.example.com"],
                "https://evil.test#@api.example.com",
                false,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com@evil.test/",
                false,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com\\@evil.test/",
                false,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com%2f@evil.test/",
                false,
            ),
            (
                &["https://api.example.com:8443"],
                "https://api.example.com:8443/",
                true,
            ),
            (
                &["https://api.example.com:8443"],
                "https://api.example.com/",
                false,
            ),
            (
                &["https://api.example.com:*"],
                "https://api.example.com:1/",
                true,
            ),
            (
                &["https://api.example.com:*"],
                "https://api.example.com/",
                true,
            ),
            (
                &["https://api.example.com:*"],
                "http://api.example.com/",
                false,
            ),
            (&["http://api.example.com"], "http://api.example.com/", true),
            (
                &["http://api.example.com"],
                "https://api.example.com/",
                false,
            ),
            (
                &["http://api.example.com"],
                "http://api.example.com:8080/",
                false,
            ),
            (&["https://*.example.com"], "https://api.example.com/", true),
            (&["https://*.example.com"], "https://a.b.example.com/", true),
            (
                &["https://*.example.com"],
                "https://A.B.Example.COM./",
                true,
            ),
            (&["https://*.example.com"], "https://example.com/", false),
            (&["https://*.example.com"], "https://example.com./", false),
            (&["https://*.example.com"], "https://badexample.com/", false),
            (
                &["https://*.example.com"],
                "https://example.com.evil.test/",
                false,
            ),
            (
                &["https://*.bücher.example"],
                "https://shop.BÜCHER.example/",
                true,
            ),
            (
                &["https://*.xn--bcher-kva.example"],
                "https://shop.bücher.example/",
                true,
            ),
            (
                &["https://bücher.example"],
                "https://xn--bcher-kva.example/",
                true,
            ),
            (&["https://localhost:8081"], "https://localhost:8081/", true),
            (
                &["https://localhost:8081"],
                "https://LOCALHOST.:8081/",
                true,
            ),
            (&["http://192.0.2.1"], "http://192.0.2.1/", true),
            (&["http://192.0.2.1"], "http://192.0.2.2/", false),
            (&["http://192.0.2.1"], "http://[::ffff:192.0.2.1]/", true),
            (&["http://192.0.2.1"], "http://3221225985/", false),
            (&["http://192.0.2.1"], "http://192.0.2.1.nip.test/", false),
            (&["https://[2001:db8::1]"], "https://[2001:DB8:0::1]/", true),
            (&["https://[2001:db8::1]"], "https://[2001:db8::2]/", false),
            (&["http://10.0.0.0/8:8081"], "http://10.200.3.4:8081/", true),
            (&["http://10.0.0.0/8:8081"], "http://10.200.3.4/", false),
            (&["http://10.0.0.0/8:8081"], "http://11.0.0.1:8081/", false),
            (&["https://[fd00::]/8"], "https://[fd12:3456::1]/", true),
            (&["https://[fd00::]/8"], "https://[fe80::1]/", false),
            (&["https://0.0.0.0/0"], "https://api.example.com/", false),
            (
                &["https://api.example.com"],
                "https://[2001:db8::1]/",
                false,
            ),
            (
                &["https://api.example.com"],
                "ftp://api.example.com/",
                false,
            ),
            (&["https://api.example.com"], "api.example.com", false),
            (&["https://api.example.com"], "https:///x", false),
            (
                &["https://api.example.com"],
                "https://api.example.com:/",
                false,
            ),
            (
                &["https://other.example", "https://api.example.com"],
                "https://api.example.com/",
                true,
            ),
        ];
        for (entries, url, want) in cases {
            let got = grant(entries).check_url(url);
            assert_eq!(got.is_ok(), *want, "{entries:?} {url:?}: {got:?}");
        }
    }

    #[test]
    fn denial_messages() {
        let g = grant(&["https://api.example.com"]);
        let denial = g
            .check_url("http://10.0.0.5/")
            .expect_err("the input is refused");
        assert_eq!(
            denial.message("pdns"),
            "provider `pdns` asked for http://10.0.0.5/ which is not in its allow list; add `danger:http://10.0.0.5` to `allow` if that is intended"
        );
        let denial = g
            .check_url("https://API.example.com:8443/x?key=s3cret")
            .expect_err("the input is refused");
        assert_eq!(
            denial.reason(),
            &DenialReason::NotAllowed {
                suggestion: "https://api.example.com:8443".into()
            }
        );
        assert_eq!(denial.url(), "https://API.example.com:8443/x?<redacted>");
        let denial = g
            .check_url("https://[::1]:8443/")
            .expect_err("the input is refused");
        assert!(
            denial
                .message("p")
                .contains("add `danger:https://[::1]:8443` to `allow`")
        );
        let denial = g
            .check_url("gopher://api.example.com/")
            .expect_err("the input is refused");
        assert!(
            matches!(denial.reason(), DenialReason::UnsupportedScheme { scheme } if scheme == "gopher")
        );
        let denial = g
            .check_url("https://u:s3cret@api.example.com/")
            .expect_err("the input is refused");
        assert!(matches!(denial.reason(), DenialReason::InvalidUrl { .. }));
        assert!(!denial.message("p").contains("s3cret"), "{denial}");
    }

    #[test]
    fn check_request_parts() {
        let g = grant(&["https://api.example.com", "http://10.0.0.5:8081"]);
        let target = g
            .check_request("https", "API.example.com", "/v1?x=1")
            .expect("the test input is valid");
        assert_eq!(target.url(), "https://API.example.com/v1?<redacted>");
        assert_eq!(target.authority(), "api.example.com");
        let target = g
            .check_request("http", "10.0.0.5:8081", "/")
            .expect("the test input is valid");
        assert_eq!(target.authority(), "10.0.0.5:8081");
        assert_eq!(
            target.literal_addr(),
            Some("10.0.0.5".parse().expect("the test input is valid"))
        );
        for authority in [
            "api.example.com/x",
            "evil.test?api.example.com",
            "x@api.example.com",
        ] {
            assert!(
                g.check_request("https", authority, "/").is_err(),
                "{authority}"
            );
        }
    }

    #[test]
    fn check_resolved_table() {
        /// Grant, URL, resolved addresses, and the vetted socket addresses or `None` for a denial.
        type Case<'a> = (&'a [&'a str], &'a str, &'a [&'a str], Option<&'a [&'a str]>);
        let cases: &[Case] = &[
            (
                &["https://api.example.com"],
                "https://api.example.com/",
                &["127.0.0.1"],
                None,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com/",
                &["169.254.169.254"],
                None,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com/",
                &["::ffff:127.0.0.1"],
                None,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com/",
                &["64:ff9b::a00:1"],
                None,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com/",
                &["::1", "0.0.0.0", "::"],
                None,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com/",
                &[],
                None,
            ),
            (
                &["https://api.example.com"],
                "https://api.example.com/",
                &["8.8.8.8", "10.0.0.1", "2606:4700::1111", "8.8.8.8"],
                Some(&["8.8.8.8:443", "[2606:4700::1111]:443"]),
            ),
            (
                &["https://api.example.com:8443"],
                "https://api.example.com:8443/",
                &["8.8.8.8"],
                Some(&["8.8.8.8:8443"]),
            ),
            // Explicit addresses and ranges let a name reach refused networks ...
            (
                &["https://api.example.com", "https://192.0.2.0/24"],
                "https://api.example.com/",
                &["192.0.2.7", "127.0.0.1"],
                Some(&["192.0.2.7:443"]),
            ),
            (
                &["http://pdns.test:8081", "http://10.0.0.5:8081"],
                "http://pdns.test:8081/",
                &["10.0.0.5"],
                Some(&["10.0.0.5:8081"]),
            ),
            (
                &["http://pdns.test:8081", "http://10.0.0.5:8081"],
                "http://pdns.test:8081/",
                &["::ffff:10.0.0.5"],
                Some(&["[::ffff:10.0.0.5]:8081"]),
            ),
            // ... but only for the same scheme and port.
            (
                &["http://pdns.test:8081", "http://10.0.0.5"],
                "http://pdns.test:8081/",
                &["10.0.0.5"],
                None,
            ),
            (
                &["http://pdns.test:8081", "https://10.0.0.5:8081"],
                "http://pdns.test:8081/",
                &["10.0.0.5"],
                None,
            ),
            (
                &["http://pdns.test:8081", "http://10.0.0.5:*"],
                "http://pdns.test:8081/",
                &["10.0.0.6"],
                None,
            ),
            (
                &["https://[fd00::]/8"],
                "https://[fd00::1]/",
                &["fd00::1"],
                Some(&["[fd00::1]:443"]),
            ),
            (
                &["http://127.0.0.1:*"],
                "http://127.0.0.1:9000/",
                &["127.0.0.1"],
                Some(&["127.0.0.1:9000"]),
            ),
            (
                &["http://127.0.0.1:*"],
                "http://127.0.0.1:9000/",
                &["127.0.0.2"],
                None,
            ),
        ];
        for (entries, url, addrs, want) in cases {
            let g = grant(entries);
            let target = g.check_url(url).unwrap_or_else(|d| panic!("{url}: {d}"));
            let addrs: Vec<IpAddr> = addrs
                .iter()
                .map(|a| a.parse().expect("the test input is valid"))
                .collect();
            let got = g.check_resolved(&target, &addrs);
            match (got, want) {
                (Ok(got), Some(want)) => {
                    let want: Vec<SocketAddr> = want
                        .iter()
                        .map(|a| a.parse().expect("the test input is valid"))
                        .collect();
                    assert_eq!(got, want, "{entries:?} {url} {addrs:?}");
                }
                (Err(_), None) => {}
                (got, want) => panic!("{entries:?} {url} {addrs:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn blocked_denial_message() {
        let g = grant(&["https://api.example.com"]);
        let target = g
            .check_url("https://api.example.com/zones?k=v")
            .expect("the test input is valid");
        let denial = g
            .check_resolved(
                &target,
                &["169.254.169.254".parse().expect("the test input is valid")],
            )
            .expect_err("the input is refused");
        let msg = denial.message("pdns");
        assert!(
            msg.starts_with(
                "provider `pdns` asked for https://api.example.com/zones?<redacted>, whose host resolved to 169.254.169.254, a link-local address"
            ),
            "{msg}"
        );
        assert!(
            msg.ends_with("add `danger:https://169.254.169.254` to `allow` if that is intended"),
            "{msg}"
        );
        let denial = g
            .check_resolved(&target, &[])
            .expect_err("the input is refused");
        assert_eq!(denial.reason(), &DenialReason::NoAddresses);
    }

    #[test]
    fn dns_entries_are_kept_apart_from_http() {
        let g = grant(&[
            "https://api.example.com",
            "dns://127.0.0.1:25354",
            "DNS://[::ffff:127.0.0.1]:25354",
            "dns://192.0.2.53",
        ]);
        assert_eq!(g.entries().len(), 1);
        let servers: Vec<String> = g.dns_servers().iter().map(ToString::to_string).collect();
        assert_eq!(servers, ["dns://127.0.0.1:25354", "dns://192.0.2.53:53"]);
        // Loopback and documentation addresses are both refused networks.
        assert_eq!(g.dangerous_dns_servers().count(), 2);
        // A dns:// entry grants no HTTP, and an HTTP entry grants no socket.
        assert!(g.check_url("https://127.0.0.1:25354/").is_err());
        let http_only = grant(&["https://192.0.2.53"]);
        assert!(!http_only.grants_sockets());
        assert!(
            http_only
                .check_socket(
                    "192.0.2.53:443".parse().expect("valid"),
                    SocketUse::TcpConnect
                )
                .is_err()
        );
        let err = Grant::parse(&["dns://ns1.example.com"]).unwrap_err();
        assert_eq!(err.entry(), "dns://ns1.example.com");
    }

    #[test]
    fn dangerous_entries_are_listed() {
        let g = grant(&[
            "https://api.example.com",
            "http://pdns.test:8081",
            "https://10.0.0.0/8",
        ]);
        let dangerous: Vec<String> = g.dangerous_entries().map(|e| e.to_string()).collect();
        assert_eq!(dangerous, ["http://pdns.test:8081", "https://10.0.0.0/8"]);
        assert!(Grant::deny_all().is_empty());
        let err = Grant::parse(&["https://ok.example", "https://bad.example/path"])
            .expect_err("the input is refused");
        assert_eq!(err.entry(), "https://bad.example/path");
        let err = err.for_provider("pdns").to_string();
        assert!(
            err.starts_with("provider `pdns`: allow-list entry"),
            "{err}"
        );
    }

    #[test]
    fn entries_that_weaken_the_sandbox_need_the_marker() {
        // (entry as written, accepted by `parse`, words the error must contain)
        let cases: &[(&str, bool, &str)] = &[
            ("https://api.example.com", true, ""),
            ("dns://8.8.8.8", true, ""),
            (
                "http://api.example.com",
                false,
                "\"danger:http://api.example.com\"",
            ),
            ("danger:http://api.example.com", true, ""),
            ("  DANGER: http://127.0.0.1:8081 ", true, ""),
            (
                "http://127.0.0.1:8081",
                false,
                "\"danger:http://127.0.0.1:8081\"",
            ),
            (
                "https://10.0.0.5",
                false,
                "private or special-purpose network",
            ),
            ("https://0.0.0.0/0", false, "\"danger:https://0.0.0.0/0\""),
            ("https://10.0.0.0/8", false, "reaches into private"),
            ("https://8.8.8.0/24", false, "a whole range of addresses"),
            ("https://[::1]:8443", false, "\"danger:https://[::1]:8443\""),
            ("danger:https://[fd00::]/8", true, ""),
            (
                "dns://127.0.0.1:5353",
                false,
                "\"danger:dns://127.0.0.1:5353\"",
            ),
            ("danger:dns://127.0.0.1:5353", true, ""),
            (
                "danger:https://api.example.com",
                false,
                "write \"https://api.example.com\"",
            ),
            ("danger:dns://8.8.8.8", false, "write \"dns://8.8.8.8:53\""),
            (
                "danger:https://bad.example/path",
                false,
                "an entry has no path",
            ),
            ("danger:", false, "the entry is empty"),
        ];
        for (written, accepted, words) in cases {
            match Grant::parse(&[written]) {
                Ok(grant) => {
                    assert!(accepted, "{written:?} was accepted");
                    let marked = written.trim().to_ascii_lowercase().starts_with("danger:");
                    assert_eq!(grant.warnings().len(), usize::from(marked), "{written:?}");
                }
                Err(err) => {
                    assert!(!accepted, "{written:?}: {err}");
                    assert_eq!(err.entry(), *written);
                    let msg = err.to_string();
                    assert!(msg.contains(words), "{written:?}: {msg:?} lacks {words:?}");
                }
            }
            // Leniently, every well-formed entry is taken with or without the marker.
            let well_formed = !words.contains("path") && !words.contains("empty");
            assert_eq!(
                Grant::parse_lenient(&[written]).is_ok(),
                well_formed,
                "{written:?}"
            );
        }
    }

    #[test]
    fn warnings_name_each_marked_entry_and_how_it_weakens() {
        let g = Grant::parse(&[
            "https://api.example.com",
            "danger:http://pdns.test:8081",
            "danger:dns://127.0.0.1:5353",
        ])
        .expect("the test input is valid");
        assert_eq!(
            g.warnings(),
            [
                "allow entry `danger:http://pdns.test:8081` weakens the sandbox: it allows plain \
                 http, which anyone on the path can read and change",
                "allow entry `danger:dns://127.0.0.1:5353` weakens the sandbox: it names an \
                 address in private or special-purpose networks, which are otherwise refused",
            ]
        );
        assert!(grant(&["https://api.example.com"]).warnings().is_empty());
    }

    /// A DNS name of two to four labels, lower case; UTS 46 reserves `--` in the third and
    /// fourth positions of a label.
    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,8}[a-z0-9](\\.[a-z][a-z0-9]{0,8}){1,3}"
            .prop_filter("-- in positions 3 and 4", |n| n.get(2..4) != Some("--"))
    }

    /// `name` with the case of each letter chosen by `mask`.
    fn recase(name: &str, mask: u64) -> String {
        name.chars()
            .enumerate()
            .map(|(i, c)| {
                if mask >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn matching_is_case_insensitive(host in name(), entry_mask: u64, url_mask: u64, wild: bool) {
            let entry_host = if wild { format!("*.{host}") } else { host.clone() };
            let url_host = if wild { format!("api.{host}") } else { host.clone() };
            let lower = grant(&[&format!("https://{entry_host}")]);
            let mixed = grant(&[&format!("https://{}", recase(&entry_host, entry_mask))]);
            prop_assert_eq!(&lower, &mixed);
            let url = format!("https://{}/", recase(&url_host, url_mask));
            prop_assert!(lower.check_url(&url).is_ok(), "{}", url);
        }

        #[test]
        fn trailing_dot_changes_nothing(host in name(), other in name(), port in 1u16..) {
            for (entry, dotted) in [
                (format!("https://{host}"), format!("https://{host}.")),
                (format!("https://*.{host}:{port}"), format!("https://*.{host}.:{port}")),
            ] {
                let plain = grant(&[&entry]);
                prop_assert_eq!(&plain, &grant(&[&dotted]));
                for url_host in [&host, &other, &format!("api.{host}")] {
                    for url_port in [443, port] {
                        let without = format!("https://{url_host}:{url_port}/x");
                        let with = format!("https://{url_host}.:{url_port}/x");
                        prop_assert_eq!(
                            plain.check_url(&without).map(|t| t.to_string()).ok(),
                            plain.check_url(&with).map(|t| t.to_string()).ok(),
                        );
                    }
                }
            }
        }

        #[test]
        fn wildcard_never_matches_apex(host in name(), mask: u64, dot: bool, port in 1u16..) {
            let g = grant(&[&format!("https://*.{host}:*")]);
            let apex = format!("https://{}{}:{port}/", recase(&host, mask), if dot { "." } else { "" });
            prop_assert!(g.check_url(&apex).is_err(), "{}", apex);
            let sub = format!("https://x.{}{}:{port}/", recase(&host, mask), if dot { "." } else { "" });
            prop_assert!(g.check_url(&sub).is_ok(), "{}", sub);
        }

        #[test]
        fn display_reparses(host in name(), port in proptest::option::of(1u16..), http: bool, wild: bool) {
            let scheme = if http { "http" } else { "https" };
            let host = if wild { format!("*.{host}") } else { host };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let entry = GrantEntry::parse(&format!("{scheme}://{host}{port}")).expect("the test input is valid");
            prop_assert_eq!(GrantEntry::parse(&entry.to_string()).expect("the test input is valid"), entry);
        }
    }
}
