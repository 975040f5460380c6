//! Strict splitting of request URLs and authorities, and URL redaction for audit output.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Host;
use super::entry::parse_port_number;
use super::host::normalize_host_name;

/// A URL as written for audit output: scheme, user information replaced by `<redacted>@`,
/// host, port and path kept, a query replaced by `?<redacted>`, a fragment dropped. Control
/// characters and white space are percent-encoded so that a guest cannot forge log lines.
///
/// Query strings often carry API keys (`?token=…`), so they never reach logs, errors or
/// denials. Any input is accepted; text that is not a URL is treated as a path.
///
/// ```
/// use acmebox_egress::redact_url;
/// assert_eq!(
///     redact_url("https://api.example.com:8443/v1/zones?api_key=s3cret#frag"),
///     "https://api.example.com:8443/v1/zones?<redacted>",
/// );
/// assert_eq!(redact_url("https://user:pw@api.example.com/"), "https://<redacted>@api.example.com/");
/// assert_eq!(redact_url("https://api.example.com/a\nb"), "https://api.example.com/a%0Ab");
/// ```
pub fn redact_url(url: &str) -> String {
    let without_fragment = url.split_once('#').map_or(url, |(before, _)| before);
    let (base, query) = match without_fragment.split_once('?') {
        Some((base, _)) => (base, true),
        None => (without_fragment, false),
    };
    let mut out = String::with_capacity(base.len() + 12);
    let rest = match base.split_once("://") {
        Some((scheme, rest)) => {
            push_escaped(&mut out, scheme);
            out.push_str("://");
            let authority_end = rest.find(['/', '\\']).unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => {
                    out.push_str("<redacted>");
                    &rest[at..]
                }
                None => rest,
            }
        }
        None => base,
    };
    push_escaped(&mut out, rest);
    if query {
        out.push_str("?<redacted>");
    }
    out
}

/// Appends `text`, percent-encoding control characters and white space.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            let mut buf = [0; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
}

/// Splits `scheme://authority[/path][?query][#fragment]` into scheme and authority.
pub(super) fn split_url(url: &str) -> Result<(&str, &str), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("it does not start with `<scheme>://`".into());
    };
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid_scheme {
        return Err("its scheme is not valid".into());
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Ok((scheme, &rest[..end]))
}

/// Parses an authority, `host[:port]` with IPv6 in brackets, strictly: no user information,
/// no percent-encoding, no zone identifiers, no empty port.
pub(super) fn parse_authority(authority: &str) -> Result<(Host, Option<u16>), String> {
    if authority.is_empty() {
        return Err("it has no host".into());
    }
    if authority.contains('@') {
        return Err(
            "user information (`user@`) is not allowed; send credentials in headers".into(),
        );
    }
    if let Some(c) = authority
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '%' | '\\' | '/' | '?' | '#'))
    {
        return Err(format!("its host contains {c:?}, which is not allowed"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let Some((inner, after)) = bracketed.split_once(']') else {
                return Err("its IPv6 address has no closing `]`".into());
            };
            let Ok(ip) = inner.parse::<Ipv6Addr>() else {
                return Err(format!("`[{inner}]` is not an IPv6 address"));
            };
            (Host::Ip(IpAddr::V6(ip)), after)
        }
        None => {
            if authority.matches(':').count() > 1 {
                return Err(
                    "it has more than one `:`; IPv6 addresses must be written in brackets, as in [2001:db8::1]".into(),
                );
            }
            let (host, port) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
            if host.is_empty() {
                return Err("it has no host".into());
            }
            let host = match host.parse::<Ipv4Addr>() {
                Ok(ip) => Host::Ip(IpAddr::V4(ip)),
                Err(_) => Host::Name(normalize_host_name(host)?),
            };
            (host, port)
        }
    };
    if port.is_empty() {
        return Ok((host, None));
    }
    let Some(port) = port.strip_prefix(':') else {
        return Err(format!("unexpected {port:?} after the host"));
    };
    match parse_port_number(port) {
        Some(port) => Ok((host, Some(port))),
        None => Err(format!("port {port:?} is not a number from 1 to 65535")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_table() {
        let cases = [
            ("https://api.example.com/", "https://api.example.com/"),
            ("https://api.example.com", "https://api.example.com"),
            (
                "https://api.example.com:8443/v1/zones/example.com./rrsets",
                "https://api.example.com:8443/v1/zones/example.com./rrsets",
            ),
            (
                "https://api.example.com/update?token=s3cret&ip=1",
                "https://api.example.com/update?<redacted>",
            ),
            (
                "https://api.example.com/?",
                "https://api.example.com/?<redacted>",
            ),
            ("https://api.example.com/#frag", "https://api.example.com/"),
            ("https://api.example.com/#a?b", "https://api.example.com/"),
            (
                "https://api.example.com/?a#b",
                "https://api.example.com/?<redacted>",
            ),
            (
                "https://u:p@api.example.com/x",
                "https://<redacted>@api.example.com/x",
            ),
            (
                "https://a@b@api.example.com/x@y",
                "https://<redacted>@api.example.com/x@y",
            ),
            ("https://api.example.com/x@y", "https://api.example.com/x@y"),
            (
                "http://[2001:db8::1]:8080/p?q",
                "http://[2001:db8::1]:8080/p?<redacted>",
            ),
            (
                "https://api.example.com/a b",
                "https://api.example.com/a%20b",
            ),
            (
                "https://api.example.com/\r\nX-Log: forged",
                "https://api.example.com/%0D%0AX-Log:%20forged",
            ),
            (
                "https://api.example.com/\u{85}",
                "https://api.example.com/%C2%85",
            ),
            ("https://bücher.example/ä", "https://bücher.example/ä"),
            ("not a url?secret", "not%20a%20url?<redacted>"),
            ("", ""),
            ("?", "?<redacted>"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(input), want, "{input:?}");
        }
    }

    #[test]
    fn parse_authority_table() {
        let ok: &[(&str, &str, Option<u16>)] = &[
            ("api.example.com", "api.example.com", None),
            ("API.Example.com.", "api.example.com", None),
            ("api.example.com:8443", "api.example.com", Some(8443)),
            ("localhost:80", "localhost", Some(80)),
            ("192.0.2.1", "192.0.2.1", None),
            ("[2001:db8::1]:443", "2001:db8::1", Some(443)),
            ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", None),
        ];
        for (input, host, port) in ok {
            let (got_host, got_port) = parse_authority(input).expect("the test input is valid");
            let got_host = match got_host {
                Host::Name(name) => name,
                Host::Ip(ip) => ip.to_string(),
            };
            assert_eq!((got_host.as_str(), got_port), (*host, *port), "{input}");
        }
        let bad = [
            ("", "no host"),
            (":443", "no host"),
            ("user@api.example.com", "user information"),
            ("api.example.com:", "port \"\""),
            ("api.example.com:0", "port \"0\""),
            ("api.example.com:65536", "port \"65536\""),
            ("api.example.com:-1", "port \"-1\""),
            ("2001:db8::1", "in brackets"),
            ("api.example.com:1:2", "in brackets"),
            ("[2001:db8::1", "closing"),
            ("[fe80::1%25eth0]", "'%'"),
            ("[192.0.2.1]", "not an IPv6"),
            ("[2001:db8::1]x", "unexpected"),
            ("api%2eexample.com", "'%'"),
            ("api.example.com\\@evil.test", "user information"),
            ("api.example.com\\evil.test", "'\\\\'"),
            ("api.exa mple.com", "' '"),
            ("127.1", "all digits"),
            ("2130706433", "non-standard form"),
            ("0x7f000001", "non-standard form"),
            ("under_score.example", "'_'"),
        ];
        for (input, want) in bad {
            let err = parse_authority(input).expect_err("the input is refused");
            assert!(err.contains(want), "{input:?}: {err:?} lacks {want:?}");
        }
    }

    #[test]
    fn split_url_table() {
        assert_eq!(
            split_url("https://a.example/x?y#z"),
            Ok(("https", "a.example"))
        );
        assert_eq!(split_url("https://a.example?y"), Ok(("https", "a.example")));
        assert_eq!(
            split_url("https://a.example#@evil"),
            Ok(("https", "a.example"))
        );
        assert_eq!(split_url("HTTP://a.example"), Ok(("HTTP", "a.example")));
        assert!(split_url("a.example/x").is_err());
        assert!(split_url("://a.example").is_err());
        assert!(split_url("1http://a.example").is_err());
        assert!(split_url("ht tp://a.example").is_err());
    }
}
