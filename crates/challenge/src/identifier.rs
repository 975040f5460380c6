//! ACME identifiers (RFC 8555 §9.7.7 `dns`, RFC 8738 `ip`).

use std::fmt;
use std::net::IpAddr;

use crate::names::normalize_domain;
use crate::{Error, Result};

/// What a certificate is for: a DNS name (possibly a wildcard) or an IP address.
///
/// DNS names are stored normalised: IDNA (UTS 46) converted to ASCII, lower-case, without a
/// trailing dot; a wildcard keeps its leading `*.`.
///
/// ```
/// use acmebox_challenge::Identifier;
/// let id: Identifier = "*.Bücher.Example.".parse()?;
/// assert_eq!(id.to_string(), "*.xn--bcher-kva.example");
/// assert!(id.is_wildcard());
/// assert_eq!(id.base_name(), "xn--bcher-kva.example");
/// assert!("192.0.2.1".parse::<Identifier>()?.is_ip());
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    /// A DNS name, normalised; a wildcard starts with `*.`.
    Dns(String),
    /// An IP address (RFC 8738).
    Ip(IpAddr),
}

impl Identifier {
    /// Parses an identifier: an IP literal (IPv6 with or without brackets) or a DNS name.
    pub fn parse(identifier: &str) -> Result<Self> {
        let unbracketed = identifier
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(identifier);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(Identifier::Ip(ip));
        }
        let (wildcard, base) = match identifier.strip_prefix("*.") {
            Some(base) => (true, base),
            None => (false, identifier),
        };
        let base = normalize_domain(base).map_err(|err| match err {
            Error::InvalidIdentifier { reason, .. } => Error::InvalidIdentifier {
                identifier: crate::echoed(identifier).into_owned(),
                reason,
            },
            other => other,
        })?;
        Ok(Identifier::Dns(if wildcard {
            format!("*.{base}")
        } else {
            base
        }))
    }

    /// True for an IP address identifier.
    pub fn is_ip(&self) -> bool {
        matches!(self, Identifier::Ip(_))
    }

    /// True for a wildcard DNS name (`*.example.com`).
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Identifier::Dns(name) if name.starts_with("*."))
    }

    /// The name without a wildcard's `*.` (the name validated by DNS-01), or the IP address
    /// in its canonical text form.
    pub fn base_name(&self) -> String {
        match self {
            Identifier::Dns(name) => name.strip_prefix("*.").unwrap_or(name).to_owned(),
            Identifier::Ip(ip) => ip.to_string(),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Dns(name) => f.write_str(name),
            Identifier::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl std::str::FromStr for Identifier {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Identifier::parse(s)
    }
}

impl From<IpAddr> for Identifier {
    fn from(ip: IpAddr) -> Self {
        Identifier::Ip(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_table() {
        let ok = [
            ("example.com", "example.com"),
            ("Example.COM.", "example.com"),
            ("*.example.com", "*.example.com"),
            ("*.EXAMPLE.com.", "*.example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
            ("xn--zca.example", "xn--zca.example"),
            ("*.xn--strae-oqa.example", "*.xn--strae-oqa.example"),
            ("a-b--c.example", "a-b--c.example"),
            ("ab-c.example", "ab-c.example"),
            ("a-b.c1.example", "a-b.c1.example"),
            ("192.0.2.1", "192.0.2.1"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
        ];
        for (input, want) in ok {
            assert_eq!(
                Identifier::parse(input).unwrap().to_string(),
                want,
                "{input}"
            );
        }
        let long_label = format!("{}.example", "a".repeat(64));
        let long_name = format!("{}.example", vec!["a".repeat(60); 5].join("."));
        let bad = [
            ("", "empty"),
            (".", "empty"),
            ("*.", "empty"),
            ("com", "two labels"),
            ("a..example", "empty label"),
            (".example.com", "empty label"),
            ("foo.*.example.com", "'*'"),
            ("*example.com", "'*'"),
            ("**.example.com", "'*'"),
            ("*", "'*'"),
            ("under_score.example", "contains '_'"),
            ("sp ace.example", "contains ' '"),
            ("-lead.example", "starts or ends"),
            ("trail-.example", "starts or ends"),
            (&long_label, "at most 63"),
            (&long_name, "at most 253"),
            ("1.2.3.4.5", "all digits"),
            ("a\u{0}b.example", "contains"),
        ];
        for (input, want) in bad {
            let msg = Identifier::parse(input).unwrap_err().to_string();
            assert!(msg.contains(want), "{input:?}: {msg:?} lacks {want:?}");
        }
    }

    /// Names already in ASCII are held to UTS 46 as names converted from Unicode are.
    #[test]
    fn ascii_labels_are_checked_as_uts_46_checks_converted_ones() {
        let not_punycode =
            |label: &str| format!("label {label:?} starts with xn-- but the rest is not Punycode");
        let refused = |label: &str| {
            format!(
                "label {label:?} decodes to a label that UTS 46 does not allow in a domain name"
            )
        };
        let reserved = |label: &str| {
            format!(
                "label {label:?} has \"--\" in its third and fourth positions, which is reserved \
                 for encoded labels such as xn-- (UTS 46)"
            )
        };
        let bad = [
            ("xn--bcher-kva9.example", not_punycode("xn--bcher-kva9")),
            ("xn--0.example", not_punycode("xn--0")),
            ("www.xn--99999999.example", not_punycode("xn--99999999")),
            // Decodes to U+0080, a control character.
            ("xn--a.example", refused("xn--a")),
            // "ss" followed by a character UTS 46 maps (not valid as it stands).
            ("xn--ss-pw4a.example", refused("xn--ss-pw4a")),
            ("*.xn--a-ecp.example", refused("xn--a-ecp")),
            ("ab--cd.example", reserved("ab--cd")),
            ("r4---sn.example", reserved("r4---sn")),
            ("www.XY--Z.example", reserved("xy--z")),
            // The Unicode path holds the ASCII labels beside a converted one to the same rule.
            ("bücher.ab--cd.example", reserved("ab--cd")),
        ];
        for (input, reason) in bad {
            assert_eq!(
                Identifier::parse(input).unwrap_err().to_string(),
                format!("invalid identifier {input:?}: {reason}"),
                "{input:?}"
            );
        }
    }

    #[test]
    fn long_input_is_cut_where_the_message_repeats_it() {
        let a = |n: usize| "a".repeat(n);
        let input = format!("{}.example", a(1000));
        assert_eq!(
            Identifier::parse(&input).unwrap_err().to_string(),
            format!(
                "invalid identifier \"{}…\": the name is 1008 characters long; DNS allows at \
                 most 253",
                a(crate::MAX_ECHOED_CHARS)
            )
        );
        let input = format!("{}.example", a(200));
        assert_eq!(
            Identifier::parse(&input).unwrap_err().to_string(),
            format!(
                "invalid identifier \"{cut}…\": label \"{cut}…\" is 200 characters long; DNS \
                 allows at most 63",
                cut = a(crate::MAX_ECHOED_CHARS)
            )
        );
        let token = crate::Token::new(&"*".repeat(300)).unwrap_err().to_string();
        assert!(
            token.starts_with(&format!("invalid challenge token \"{}…\"", "*".repeat(128))),
            "{token}"
        );
    }

    #[test]
    fn wildcard_and_base() {
        let id = Identifier::parse("*.example.com").unwrap();
        assert!(id.is_wildcard() && !id.is_ip());
        assert_eq!(id.base_name(), "example.com");
        let ip = Identifier::parse("::1").unwrap();
        assert!(ip.is_ip() && !ip.is_wildcard());
    }
}
