//! One allow-list entry, `scheme://host[:port]`: its grammar, parser and matcher.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Target;
use super::blocked::blocked_reason;
use super::host::{HostPattern, IpNet, net_overlaps_blocked, network_of, normalize_host_name};

/// The two schemes a provider can be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `https`: the normal case.
    Https,
    /// Plain `http`: only when an entry grants it explicitly; see [`GrantEntry::is_dangerous`].
    Http,
}

impl Scheme {
    /// Parses a scheme name, case-insensitively; `None` for anything but `http` and `https`.
    pub fn parse(scheme: &str) -> Option<Self> {
        if scheme.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if scheme.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }

    /// The scheme's name, `https` or `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }

    /// The port used when a URL names none: 443 for https, 80 for http.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Https => 443,
            Scheme::Http => 80,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The port part of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortPattern {
    /// No port written: the scheme's default port only (443 for https, 80 for http). An entry
    /// that writes the default port (`https://example.com:443`) is parsed to this too.
    Default,
    /// One port other than the scheme's default.
    Port(u16),
    /// `:*`: any port from 1 to 65535.
    Any,
}

impl PortPattern {
    fn matches(self, scheme: Scheme, port: u16) -> bool {
        match self {
            PortPattern::Default => port == scheme.default_port(),
            PortPattern::Port(own) => port == own,
            PortPattern::Any => true,
        }
    }
}

/// One allow-list entry, `scheme://host[:port]`. See the [module docs](super) for the grammar.
///
/// ```
/// use acmebox_egress::{GrantEntry, HostPattern, PortPattern, Scheme};
/// let entry = GrantEntry::parse("HTTPS://*.Example.COM.:*")?;
/// assert_eq!(entry.scheme(), Scheme::Https);
/// assert_eq!(entry.host(), &HostPattern::Wildcard("example.com".into()));
/// assert_eq!(entry.port(), PortPattern::Any);
/// assert_eq!(entry.to_string(), "https://*.example.com:*");
/// assert!(GrantEntry::parse("http://10.0.0.0/8")?.is_dangerous());
/// # Ok::<(), acmebox_egress::GrantError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GrantEntry {
    scheme: Scheme,
    host: HostPattern,
    port: PortPattern,
}

impl GrantEntry {
    /// Parses one entry. Surrounding ASCII white space is ignored; everything else that is not
    /// in the grammar is refused with a sentence saying what to write instead.
    pub fn parse(entry: &str) -> Result<Self, GrantError> {
        parse_entry(entry.trim_ascii()).map_err(|reason| GrantError {
            entry: entry.to_owned(),
            reason,
        })
    }

    /// The granted scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The granted host, wildcard, address or range.
    pub fn host(&self) -> &HostPattern {
        &self.host
    }

    /// The granted port(s).
    pub fn port(&self) -> PortPattern {
        self.port
    }

    /// True when the entry allows requests to `target` (scheme, host and port all match).
    pub fn matches(&self, target: &Target) -> bool {
        self.scheme == target.scheme()
            && self.port.matches(self.scheme, target.port())
            && self.host.matches(target.host())
    }

    /// True when the entry allows connecting to `ip` (for `target`'s scheme and port) even if
    /// `ip` is in a refused network: the entry is an address or range containing `ip`.
    pub fn names_addr(&self, target: &Target, ip: IpAddr) -> bool {
        self.scheme == target.scheme()
            && self.port.matches(self.scheme, target.port())
            && self.host.contains_addr(ip)
    }

    /// True when the entry weakens the sandbox; [`danger_reason`](Self::danger_reason) says
    /// how. Hosts should warn about such entries when they load a configuration.
    pub fn is_dangerous(&self) -> bool {
        self.danger_reason().is_some()
    }

    /// How the entry weakens the sandbox: it grants plain http (readable and changeable on the
    /// way), it names an address or range that overlaps a network refused by default (see
    /// [`blocked_reason`]), or it names a whole range of addresses. Such entries are honoured
    /// only when the operator marks them (see [`Grant::parse`](super::Grant::parse)).
    pub fn danger_reason(&self) -> Option<&'static str> {
        if self.scheme == Scheme::Http {
            return Some("it allows plain http, which anyone on the path can read and change");
        }
        match &self.host {
            HostPattern::Ip(ip) if blocked_reason(*ip).is_some() => Some(
                "it names an address in a private or special-purpose network, which is \
                 otherwise refused",
            ),
            HostPattern::Net(net) if net_overlaps_blocked(net) => Some(
                "it names a range that reaches into private or special-purpose networks, which \
                 are otherwise refused",
            ),
            HostPattern::Net(_) => Some(
                "it names a whole range of addresses; grant the API's name or single address \
                 where you can",
            ),
            HostPattern::Ip(_) | HostPattern::Name(_) | HostPattern::Wildcard(_) => None,
        }
    }
}

impl fmt::Display for GrantEntry {
    /// The canonical form, which parses back to an equal entry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            PortPattern::Default => Ok(()),
            PortPattern::Port(port) => write!(f, ":{port}"),
            PortPattern::Any => f.write_str(":*"),
        }
    }
}

impl std::str::FromStr for GrantEntry {
    type Err = GrantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantEntry::parse(s)
    }
}

/// An allow-list entry that could not be parsed: the entry as written and a sentence saying
/// what is wrong and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid allow-list entry {entry:?}: {reason}")]
pub struct GrantError {
    entry: String,
    reason: String,
}

impl GrantError {
    pub(super) fn new(entry: &str, reason: String) -> Self {
        GrantError {
            entry: entry.to_owned(),
            reason,
        }
    }

    /// The same error for the entry as the operator wrote it (with a marker around it).
    pub(super) fn written_as(self, written: &str) -> Self {
        GrantError {
            entry: written.to_owned(),
            reason: self.reason,
        }
    }

    /// The entry as written.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// What is wrong with it and what to write instead.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The library error for this entry of `provider`'s allow list.
    pub fn for_provider(self, provider: &str) -> crate::Error {
        crate::Error::InvalidGrant {
            provider: provider.to_owned(),
            entry: self.entry,
            reason: self.reason,
        }
    }
}

fn parse_entry(entry: &str) -> Result<GrantEntry, String> {
    if entry.is_empty() {
        return Err("the entry is empty; write a URL such as `https://api.example.com`".into());
    }
    let Some((scheme, rest)) = entry.split_once("://") else {
        if let Some((scheme, _)) = entry.split_once(':')
            && Scheme::parse(scheme).is_some()
        {
            return Err(
                "the scheme must be followed by `://`, as in `https://api.example.com`".into(),
            );
        }
        return Err(format!(
            "the entry has no scheme; write `https://{entry}` (or `http://{entry}` to allow plain http)"
        ));
    };
    let Some(scheme) = Scheme::parse(scheme) else {
        return Err(format!(
            "scheme `{scheme}` cannot be granted; use `https://`, `http://` to allow plain http, or `dns://<address>:<port>` for a DNS server"
        ));
    };
    if rest.contains('@') {
        return Err(format!(
            "an entry cannot contain user information (`user@`); write `{scheme}://<host>` and let the provider send credentials in headers"
        ));
    }
    if let Some(i) = rest.find(['?', '#']) {
        return Err(format!(
            "an entry cannot have a query or fragment; write `{scheme}://{}`",
            &rest[..i]
        ));
    }
    let (host, after_host) = split_host(scheme, rest)?;
    let (host, after_prefix) = match after_host.strip_prefix('/') {
        Some(prefix_and_port) => {
            let end = prefix_and_port.find(':').unwrap_or(prefix_and_port.len());
            let (prefix, port) = prefix_and_port.split_at(end);
            (parse_net(scheme, host, prefix, port)?, port)
        }
        None => (parse_host(scheme, host)?, after_host),
    };
    let port = parse_port(scheme, after_prefix)?;
    Ok(GrantEntry { scheme, host, port })
}

/// Splits `rest` (after `scheme://`) into the host text and what follows it (`""`, `:port`,
/// `/prefix...`), checking brackets.
fn split_host(scheme: Scheme, rest: &str) -> Result<(&str, &str), String> {
    if let Some(bracketed) = rest.strip_prefix('[') {
        let Some(end) = bracketed.find(']') else {
            return Err(format!(
                "the IPv6 address has no closing `]`; write it as in `{scheme}://[2001:db8::1]`"
            ));
        };
        return Ok((&rest[..end + 2], &bracketed[end + 1..]));
    }
    let end = rest.find([':', '/']).unwrap_or(rest.len());
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    if authority.matches(':').count() > 1 && looks_like_ipv6(authority) {
        return Err(format!(
            "IPv6 addresses must be written in brackets, as in `{scheme}://[2001:db8::1]` or `{scheme}://[fd00::]/8`"
        ));
    }
    Ok(rest.split_at(end))
}

/// True for unbracketed text that is meant as an IPv6 address (`2001:db8::1`, `fd00::`).
fn looks_like_ipv6(text: &str) -> bool {
    text.contains("::")
        || text.parse::<Ipv6Addr>().is_ok()
        || text
            .split(':')
            .next()
            .is_some_and(|first| !first.is_empty() && first.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse_host(scheme: Scheme, host: &str) -> Result<HostPattern, String> {
    if host.is_empty() {
        return Err(format!(
            "the host is missing; write a host such as `{scheme}://api.example.com`"
        ));
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        return parse_bracketed(scheme, inner).map(HostPattern::Ip);
    }
    if host.contains(']') {
        return Err(format!(
            "`{host}` has a stray `]`; write IPv6 addresses as in `{scheme}://[2001:db8::1]`"
        ));
    }
    if host == "*" {
        return Err(format!(
            "`*` would allow every host; name the host, or write `{scheme}://*.example.com` for the subdomains of one domain"
        ));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(HostPattern::Ip(IpAddr::V4(ip)));
    }
    if let Some(suffix) = host.strip_prefix("*.") {
        if suffix.contains('*') {
            return Err(wildcard_error(scheme));
        }
        let suffix = normalize_host_name(suffix)
            .map_err(|reason| format!("the name after `*.` is not valid: {reason}"))?;
        if !suffix.contains('.') {
            return Err(format!(
                "`*.{suffix}` would allow a whole top-level domain; name the provider's domain, as in `{scheme}://*.example.com`"
            ));
        }
        return Ok(HostPattern::Wildcard(suffix));
    }
    if host.contains('*') {
        return Err(wildcard_error(scheme));
    }
    normalize_host_name(host)
        .map(HostPattern::Name)
        .map_err(|reason| format!("the host is not a valid name: {reason}"))
}

fn wildcard_error(scheme: Scheme) -> String {
    format!(
        "`*` is only allowed as the whole leftmost label, as in `{scheme}://*.example.com`, which matches its subdomains"
    )
}

fn parse_bracketed(scheme: Scheme, inner: &str) -> Result<IpAddr, String> {
    if inner.contains('%') {
        return Err(format!(
            "IPv6 zone identifiers (`%eth0`) are not supported; write the address alone, as in `{scheme}://[fe80::1]`"
        ));
    }
    if inner.parse::<Ipv4Addr>().is_ok() {
        return Err(format!(
            "only IPv6 addresses go in brackets; write `{scheme}://{inner}`"
        ));
    }
    inner.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| {
        format!("`[{inner}]` is not an IPv6 address; write one as in `{scheme}://[2001:db8::1]`")
    })
}

/// Parses `host/prefix` (the text after `/` up to the port) as a network, or explains that
/// entries have no path.
fn parse_net(scheme: Scheme, host: &str, prefix: &str, port: &str) -> Result<HostPattern, String> {
    let addr = match host.strip_prefix('[') {
        Some(inner) => {
            let inner = inner.strip_suffix(']').unwrap_or(inner);
            Some(parse_bracketed(scheme, inner)?)
        }
        None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    };
    let is_number =
        !prefix.is_empty() && prefix.len() <= 3 && prefix.bytes().all(|b| b.is_ascii_digit());
    let (Some(addr), true) = (addr, is_number) else {
        let port = if port.contains('/') { "" } else { port };
        return Err(format!(
            "an entry has no path; write `{scheme}://{host}{port}` (only an IP address may be followed by `/<prefix length>`, as in `{scheme}://10.0.0.0/8`)"
        ));
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = prefix.parse::<u8>().ok().filter(|len| *len <= max);
    let Some(prefix_len) = prefix_len else {
        return Err(format!(
            "prefix length /{prefix} is too long for {host}; it can be at most /{max}"
        ));
    };
    IpNet::new(addr, prefix_len).map(HostPattern::Net).ok_or_else(|| {
        let network = network_of(addr, prefix_len);
        format!(
            "{host}/{prefix_len} has bits set after the prefix; write the network's first address, `{scheme}://{}`",
            HostPattern::Net(network)
        )
    })
}

fn parse_port(scheme: Scheme, rest: &str) -> Result<PortPattern, String> {
    if rest.is_empty() {
        return Ok(PortPattern::Default);
    }
    if rest.starts_with('/') {
        return Err(format!(
            "an entry has no path; write `{scheme}://<host>[:<port>]` without anything after the port"
        ));
    }
    let Some(port) = rest.strip_prefix(':') else {
        return Err(format!(
            "unexpected `{rest}` after the host; write `{scheme}://<host>` or `{scheme}://<host>:<port>`"
        ));
    };
    if let Some(i) = port.find('/') {
        return Err(format!(
            "an entry has no path; remove `{}` after the port",
            &port[i..]
        ));
    }
    match port {
        "" => Err(
            "the port after `:` is missing; write a port such as `:8443`, `:*` for any port, or drop the `:` for the default port"
                .into(),
        ),
        "*" => Ok(PortPattern::Any),
        _ => match parse_port_number(port) {
            Some(port) if port == scheme.default_port() => Ok(PortPattern::Default),
            Some(port) => Ok(PortPattern::Port(port)),
            None => Err(format!(
                "port `{port}` is not a number from 1 to 65535; write a port such as `:8443`, or `:*` for any port"
            )),
        },
    }
}

/// A decimal port from 1 to 65535, digits only (no sign).
pub(super) fn parse_port_number(port: &str) -> Option<u16> {
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse::<u16>().ok().filter(|port| *port != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_entry_parse_table() {
        let ok: &[(&str, &str)] = &[
            ("https://api.example.com", "https://api.example.com"),
            ("HTTPS://API.Example.COM", "https://api.example.com"),
            ("https://api.example.com.", "https://api.example.com"),
            ("  https://api.example.com  ", "https://api.example.com"),
            ("https://api.example.com:443", "https://api.example.com"),
            (
                "https://api.example.com:8443",
                "https://api.example.com:8443",
            ),
            (
                "https://api.example.com:08443",
                "https://api.example.com:8443",
            ),
            ("https://api.example.com:80", "https://api.example.com:80"),
            ("https://api.example.com:*", "https://api.example.com:*"),
            ("http://api.example.com", "http://api.example.com"),
            ("http://api.example.com:80", "http://api.example.com"),
            ("http://api.example.com:443", "http://api.example.com:443"),
            ("https://localhost", "https://localhost"),
            ("https://localhost\u{3002}", "https://localhost"),
            ("https://ａｐｉ.example.com", "https://api.example.com"),
            ("http://LocalHost.:8081", "http://localhost:8081"),
            ("https://*.example.com", "https://*.example.com"),
            ("https://*.Example.COM.:*", "https://*.example.com:*"),
            (
                "https://*.bücher.example",
                "https://*.xn--bcher-kva.example",
            ),
            ("https://Bücher.example", "https://xn--bcher-kva.example"),
            ("https://192.0.2.1", "https://192.0.2.1"),
            ("http://192.0.2.1:8080", "http://192.0.2.1:8080"),
            ("https://[2001:db8::1]", "https://[2001:db8::1]"),
            ("https://[2001:DB8:0::1]:8443", "https://[2001:db8::1]:8443"),
            ("https://[::ffff:192.0.2.1]", "https://[::ffff:192.0.2.1]"),
            ("http://10.0.0.0/8", "http://10.0.0.0/8"),
            ("http://10.0.0.0/8:8081", "http://10.0.0.0/8:8081"),
            ("https://192.0.2.7/32", "https://192.0.2.7/32"),
            ("https://0.0.0.0/0:*", "https://0.0.0.0/0:*"),
            ("https://[fd00::]/8", "https://[fd00::]/8"),
            ("https://[2001:db8::]/32:*", "https://[2001:db8::]/32:*"),
            ("https://[::]/0", "https://[::]/0"),
        ];
        for (input, want) in ok {
            let entry = GrantEntry::parse(input).unwrap_or_else(|err| panic!("{input}: {err}"));
            assert_eq!(entry.to_string(), *want, "{input}");
            assert_eq!(
                GrantEntry::parse(want).expect("the test input is valid"),
                entry,
                "{input}: re-parse"
            );
        }

        let bad: &[(&str, &str)] = &[
            (
                "",
                "the entry is empty; write a URL such as `https://api.example.com`",
            ),
            ("   ", "the entry is empty"),
            (
                "api.example.com",
                "no scheme; write `https://api.example.com`",
            ),
            (
                "ftp://api.example.com",
                "scheme `ftp` cannot be granted; use `https://`",
            ),
            ("*://api.example.com", "scheme `*` cannot be granted"),
            ("https:/api.example.com", "must be followed by `://`"),
            ("HTTP:api.example.com", "must be followed by `://`"),
            (
                "https://",
                "the host is missing; write a host such as `https://api.example.com`",
            ),
            ("https://:443", "the host is missing"),
            (
                "https://api.example.com/",
                "an entry has no path; write `https://api.example.com`",
            ),
            (
                "https://api.example.com/v1",
                "an entry has no path; write `https://api.example.com`",
            ),
            (
                "https://api.example.com:8443/v1",
                "an entry has no path; remove `/v1` after the port",
            ),
            (
                "https://api.example.com?x=1",
                "cannot have a query or fragment; write `https://api.example.com`",
            ),
            (
                "https://api.example.com#top",
                "cannot have a query or fragment",
            ),
            (
                "https://user:pw@api.example.com",
                "cannot contain user information",
            ),
            ("https://api.example.com:", "the port after `:` is missing"),
            (
                "https://api.example.com:0",
                "port `0` is not a number from 1 to 65535",
            ),
            (
                "https://api.example.com:65536",
                "port `65536` is not a number",
            ),
            ("https://api.example.com:+80", "port `+80` is not a number"),
            (
                "https://api.example.com:http",
                "port `http` is not a number",
            ),
            ("https://api.example.com:1:2", "port `1:2` is not a number"),
            ("https://*", "`*` would allow every host"),
            (
                "https://*.com",
                "`*.com` would allow a whole top-level domain",
            ),
            (
                "https://*example.com",
                "`*` is only allowed as the whole leftmost label",
            ),
            (
                "https://a.*.example.com",
                "`*` is only allowed as the whole leftmost label",
            ),
            (
                "https://*.*.example.com",
                "`*` is only allowed as the whole leftmost label",
            ),
            (
                "https://*.",
                "the name after `*.` is not valid: the host name is empty",
            ),
            ("https://exa mple.com", "contains ' '"),
            ("https://under_score.example.com", "contains '_'"),
            ("https://a..example.com", "empty label"),
            ("https://api.example.com..", "empty label"),
            ("https://\u{ad}", "empty"),
            ("https://-lead.example.com", "starts or ends with '-'"),
            (
                "https://2130706433",
                "looks like an IPv4 address in a non-standard form",
            ),
            ("https://127.1", "all digits"),
            ("https://010.0.0.1", "all digits"),
            ("https://0x7f.0.0.0x1", "looks like an IPv4 address"),
            (
                "https://2001:db8:0:0:0:0:0:1",
                "IPv6 addresses must be written in brackets",
            ),
            (
                "https://2001:db8::1",
                "IPv6 addresses must be written in brackets",
            ),
            (
                "https://fd00::/8",
                "IPv6 addresses must be written in brackets",
            ),
            ("https://[2001:db8::1", "has no closing `]`"),
            (
                "https://[10.0.0.1]",
                "only IPv6 addresses go in brackets; write `https://10.0.0.1`",
            ),
            ("https://[fe80::1%eth0]", "zone identifiers"),
            ("https://[example.com]", "is not an IPv6 address"),
            ("https://[2001:db8::1]x", "unexpected `x` after the host"),
            ("https://10.0.0.0/", "an entry has no path"),
            (
                "https://10.0.0.0/33",
                "prefix length /33 is too long for 10.0.0.0; it can be at most /32",
            ),
            ("https://[fd00::]/129", "at most /128"),
            (
                "https://10.0.0.5/8",
                "has bits set after the prefix; write the network's first address, `https://10.0.0.0/8`",
            ),
            ("https://[fd00::1]/8", "`https://[fd00::]/8`"),
            ("https://10.0.0.0/8/", "an entry has no path"),
            ("https://10.0.0.0/8:80/x", "remove `/x` after the port"),
            ("https://10.0.0.0/abc", "an entry has no path"),
        ];
        for (input, want) in bad {
            let err = GrantEntry::parse(input).expect_err(input);
            assert_eq!(err.entry(), *input);
            let msg = err.to_string();
            assert!(msg.contains(want), "{input:?}: {msg:?} lacks {want:?}");
        }
    }

    #[test]
    fn danger_table() {
        let cases: &[(&str, bool)] = &[
            ("https://api.example.com", false),
            ("https://*.example.com:*", false),
            ("https://localhost", false),
            ("http://api.example.com", true),
            ("https://192.0.2.1", true),
            ("https://10.0.0.0/8", true),
            ("https://8.8.8.8", false),
            ("https://8.0.0.0/8", true),
            ("https://0.0.0.0/0", true),
            ("https://8.0.0.0/5", true),
            ("https://[2606:4700::1111]", false),
            ("https://[2606:4700::]/32", true),
            ("https://[::]/0", true),
            ("https://[fd00::]/8", true),
            ("https://[::ffff:127.0.0.1]", true),
            ("https://[2000::]/3", true),
        ];
        for (input, want) in cases {
            let entry = GrantEntry::parse(input).expect("the test input is valid");
            assert_eq!(entry.is_dangerous(), *want, "{input}");
        }
    }
}
