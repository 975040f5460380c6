//! ACME identifiers (RFC 8555 §9.7.7 `dns`, RFC 8738 `ip`) and domain-name normalisation.

use std::fmt;
use std::net::IpAddr;

use crate::{Error, Result};

/// The longest DNS name in presentation form without the trailing dot (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 253;

/// The longest DNS label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// What a certificate is for: a DNS name (possibly a wildcard) or an IP address.
///
/// DNS names are stored normalised: IDNA (UTS 46) converted to ASCII, lower-case, without a
/// trailing dot; a wildcard keeps its leading `*.`.
///
/// ```
/// use acmebox::challenge::Identifier;
/// let id: Identifier = "*.Bücher.Example.".parse()?;
/// assert_eq!(id.to_string(), "*.xn--bcher-kva.example");
/// assert!(id.is_wildcard());
/// assert_eq!(id.base_name(), "xn--bcher-kva.example");
/// assert!("192.0.2.1".parse::<Identifier>()?.is_ip());
/// # Ok::<(), acmebox::Error>(())
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
                identifier: identifier.to_owned(),
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

/// Normalises a host name: IDNA (UTS 46) to ASCII, lower-case, one trailing dot dropped, then
/// checks every label (1–63 characters of `a-z 0-9 -`, no hyphen at either end) and the length
/// (at most 253). Wildcards are not host names: use [`Identifier::parse`] for them.
///
/// ```
/// assert_eq!(acmebox::challenge::normalize_domain("WWW.Example.COM.")?, "www.example.com");
/// assert!(acmebox::challenge::normalize_domain("bad..example").is_err());
/// # Ok::<(), acmebox::Error>(())
/// ```
pub fn normalize_domain(name: &str) -> Result<String> {
    let fail = |reason: String| Error::InvalidIdentifier {
        identifier: name.to_owned(),
        reason,
    };
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(fail("the name is empty".into()));
    }
    if trimmed.contains('*') {
        return Err(fail(
            "'*' is only allowed as the whole leftmost label of a wildcard, as in *.example.com"
                .into(),
        ));
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|_| {
            fail("it is not a valid internationalised domain name (IDNA / UTS 46)".into())
        })?
    };
    check_host_name(&ascii).map_err(fail)?;
    Ok(ascii)
}

/// Checks an ASCII, lower-case name without trailing dot; the reason on failure.
fn check_host_name(name: &str) -> std::result::Result<(), String> {
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "the name is {} characters long; DNS allows at most {MAX_NAME_LEN}",
            name.len()
        ));
    }
    if !name.contains('.') {
        return Err("a certificate name needs at least two labels, as in example.com".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row, or a leading dot)".into());
        }
        check_label(label)?;
    }
    if name
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(
            "the last label is all digits: that is neither a host name nor an IP address".into(),
        );
    }
    Ok(())
}

/// Checks one non-empty ASCII label: at most 63 characters of `a-z 0-9 -`, no hyphen at either
/// end. The reason on failure.
pub(crate) fn check_label(label: &str) -> std::result::Result<(), String> {
    if label.len() > MAX_LABEL_LEN {
        return Err(format!(
            "label {label:?} is {} characters long; DNS allows at most {MAX_LABEL_LEN}",
            label.len()
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "label {label:?} contains {c:?}; host names use only letters, digits and '-'"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("label {label:?} starts or ends with '-'"));
    }
    Ok(())
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

    #[test]
    fn wildcard_and_base() {
        let id = Identifier::parse("*.example.com").unwrap();
        assert!(id.is_wildcard() && !id.is_ip());
        assert_eq!(id.base_name(), "example.com");
        let ip = Identifier::parse("::1").unwrap();
        assert!(ip.is_ip() && !ip.is_wildcard());
    }
}
