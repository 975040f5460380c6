//! Host-name rules shared by every layer: the challenge vocabulary checks identifiers with
//! them, the egress policy checks allow-list hosts with them (RFC 1035 §2.3.4, RFC 1123 §2.1,
//! IDNA UTS 46).

use crate::{Error, Result, echoed};

/// The longest DNS name in presentation form without the trailing dot (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 253;

/// The longest DNS label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Normalises a host name: IDNA (UTS 46) to ASCII, lower-case, one trailing dot dropped, then
/// checks every label (1–63 characters of `a-z 0-9 -`, no hyphen at either end) and the length
/// (at most 253). A name already in ASCII is checked as one converted from Unicode is (UTS 46
/// with _CheckHyphens_): an `xn--` label must be Punycode that decodes to a label UTS 46
/// allows and encodes back to itself, and any other label may not have `--` in its third and
/// fourth positions (that form is reserved for encodings such as `xn--`). Wildcards are not host names: use [`Identifier::parse`](crate::Identifier::parse) for them.
///
/// ```
/// assert_eq!(acmebox_challenge::normalize_domain("WWW.Example.COM.")?, "www.example.com");
/// assert!(acmebox_challenge::normalize_domain("bad..example").is_err());
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
pub fn normalize_domain(name: &str) -> Result<String> {
    let fail = |reason: String| Error::InvalidIdentifier {
        identifier: echoed(name).into_owned(),
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
    for label in ascii.split('.') {
        check_uts46_label(label).map_err(fail)?;
    }
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

/// The prefix of a label that holds Punycode (an A-label, RFC 5890 §2.3.2.1).
const ACE_PREFIX: &str = "xn--";

/// Checks one valid lower-case ASCII label as UTS 46 checks the labels of a name converted
/// from Unicode (_CheckHyphens_ on): an `xn--` label must decode as Punycode to a label UTS 46
/// allows, and encode back to itself; no other label has `--` in its third and fourth
/// positions. The reason on failure.
fn check_uts46_label(label: &str) -> std::result::Result<(), String> {
    use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
    let Some(encoded) = label.strip_prefix(ACE_PREFIX) else {
        if label.get(2..4) == Some("--") {
            return Err(format!(
                "label {label:?} has \"--\" in its third and fourth positions, which is reserved \
                 for encoded labels such as xn-- (UTS 46)"
            ));
        }
        return Ok(());
    };
    if idna::punycode::decode_to_string(encoded).is_none() {
        return Err(format!(
            "label {label:?} starts with xn-- but the rest is not Punycode"
        ));
    }
    let uts46 = Uts46::new();
    let (unicode, valid) = uts46.to_unicode(label.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    if valid.is_err() {
        return Err(format!(
            "label {label:?} decodes to a label that UTS 46 does not allow in a domain name"
        ));
    }
    let again = uts46.to_ascii(
        unicode.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Check,
        DnsLength::Ignore,
    );
    if again.as_deref().ok() != Some(label) {
        return Err(format!(
            "label {label:?} decodes to {unicode:?}, which encodes as {:?}: the xn-- form is \
             not the one UTS 46 makes",
            again.as_deref().unwrap_or("nothing valid"),
        ));
    }
    Ok(())
}

/// Checks one non-empty ASCII label: at most 63 characters of `a-z 0-9 -`, no hyphen at either
/// end. The reason on failure.
pub fn check_label(label: &str) -> std::result::Result<(), String> {
    if label.len() > MAX_LABEL_LEN {
        return Err(format!(
            "label {:?} is {} characters long; DNS allows at most {MAX_LABEL_LEN}",
            echoed(label),
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
