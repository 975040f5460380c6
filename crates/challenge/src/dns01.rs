//! DNS-01 (RFC 8555 §8.4): a TXT record `_acme-challenge.<domain>.` whose value is
//! `base64url(SHA-256(key authorization))`.
//!
//! A domain and its wildcard are validated at the *same* name with (usually) *different*
//! values, and both must be published at once when a certificate covers both. So a
//! [`Dns01Record`] is a (name, value) pair: presenting one adds a value to the TXT rrset at
//! its name, and cleaning it up removes that value only, never the whole rrset.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::names::MAX_NAME_LEN;
use crate::{ChallengeType, Identifier, KeyAuthorization};
use crate::{Error, Result};

/// The label DNS-01 records live under (RFC 8555 §8.4).
pub const CHALLENGE_LABEL: &str = "_acme-challenge";

/// The DNS-01 record for one authorization.
///
/// ```
/// use acmebox_challenge::{dns01::Dns01Record, Identifier, KeyAuthorization};
/// let ka = KeyAuthorization::parse("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")?;
/// let apex = Dns01Record::new(&"Example.com".parse()?, &ka)?;
/// let wild = Dns01Record::new(&"*.example.com".parse()?, &ka)?;
/// assert_eq!(apex.fqdn(), "_acme-challenge.example.com.");
/// assert_eq!(apex.fqdn(), wild.fqdn()); // same rrset ...
/// assert!(wild.is_wildcard() && !apex.is_wildcard()); // ... two records in it
/// assert_eq!(apex.value().as_str().len(), 43);
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dns01Record {
    domain: String,
    fqdn: String,
    value: TxtValue,
    wildcard: bool,
}

impl Dns01Record {
    /// Computes the record for `identifier` (a DNS name; a wildcard's `*.` is removed).
    pub fn new(identifier: &Identifier, key_authorization: &KeyAuthorization) -> Result<Self> {
        let Identifier::Dns(_) = identifier else {
            return Err(Error::UnsupportedChallenge {
                challenge: ChallengeType::Dns01,
                identifier: identifier.to_string(),
                reason: "IP identifiers cannot be validated by DNS (RFC 8738 §7); use http-01 or tls-alpn-01",
            });
        };
        let domain = identifier.base_name();
        let fqdn = record_name_for(&domain)?;
        Ok(Dns01Record {
            domain,
            fqdn,
            value: TxtValue::new(key_authorization),
            wildcard: identifier.is_wildcard(),
        })
    }

    /// The validated domain: normalised, without `*.` and without trailing dot.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The absolute record name, `_acme-challenge.<domain>.`, with its trailing dot.
    pub fn fqdn(&self) -> &str {
        &self.fqdn
    }

    /// The TXT value to publish.
    pub fn value(&self) -> &TxtValue {
        &self.value
    }

    /// True when this record validates `*.<domain>`: it shares its name with the apex record.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }
}

/// The DNS-01 record name for a domain or wildcard, `_acme-challenge.<domain>.`.
///
/// The input is normalised like [`Identifier::parse`] (IDNA, lower case, trailing dot
/// optional, `*.` removed).
///
/// ```
/// assert_eq!(acmebox_challenge::dns01::record_name("*.Example.com.")?, "_acme-challenge.example.com.");
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
pub fn record_name(domain: &str) -> Result<String> {
    match Identifier::parse(domain)? {
        id @ Identifier::Dns(_) => record_name_for(&id.base_name()),
        Identifier::Ip(ip) => Err(Error::UnsupportedChallenge {
            challenge: ChallengeType::Dns01,
            identifier: ip.to_string(),
            reason: "IP identifiers cannot be validated by DNS (RFC 8738 §7); use http-01 or tls-alpn-01",
        }),
    }
}

fn record_name_for(domain: &str) -> Result<String> {
    let name = format!("{CHALLENGE_LABEL}.{domain}");
    if name.len() > MAX_NAME_LEN {
        return Err(Error::InvalidIdentifier {
            identifier: domain.to_owned(),
            reason: format!(
                "{name:?} is {} characters long; DNS allows at most {MAX_NAME_LEN}, so this domain cannot use dns-01",
                name.len()
            ),
        });
    }
    Ok(name + ".")
}

/// A DNS-01 TXT value: `base64url_nopad(SHA-256(key authorization))`, always 43 ASCII
/// characters. It is public once published, so it may be logged.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxtValue([u8; 43]);

impl TxtValue {
    /// Computes the value for a key authorization.
    pub fn new(key_authorization: &KeyAuthorization) -> Self {
        let digest =
            ring::digest::digest(&ring::digest::SHA256, key_authorization.as_str().as_bytes());
        let mut out = [0u8; 43];
        // 32 bytes encode to exactly 43 characters without padding.
        let written = URL_SAFE_NO_PAD.encode_slice(digest.as_ref(), &mut out);
        debug_assert_eq!(written.ok(), Some(43));
        TxtValue(out)
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        // Base64url output is ASCII, so this cannot fail; fall back to empty rather than panic.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for TxtValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxtValue({})", self.as_str())
    }
}

impl fmt::Display for TxtValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KA: &str =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    fn ka() -> KeyAuthorization {
        KeyAuthorization::parse(KA).unwrap()
    }

    #[test]
    fn value_matches_an_independent_computation() {
        // Computed outside Rust: base64url(sha256(KA)) with Python's hashlib.
        assert_eq!(
            TxtValue::new(&ka()).as_str(),
            "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8"
        );
    }

    #[test]
    fn ip_identifiers_are_refused() {
        let err = Dns01Record::new(&"192.0.2.1".parse().unwrap(), &ka()).unwrap_err();
        assert!(
            err.to_string().contains("use http-01 or tls-alpn-01"),
            "{err}"
        );
        assert!(record_name("2001:db8::1").is_err());
    }

    #[test]
    fn record_name_too_long_for_dns01() {
        // 237 characters is a fine host name, but `_acme-challenge.` pushes it past 253.
        let domain = format!("{}.example", vec!["a".repeat(57); 4].join("."));
        assert!(domain.len() <= 253);
        let err = record_name(&domain).unwrap_err().to_string();
        assert!(err.contains("cannot use dns-01"), "{err}");
    }

    /// A valid LDH label; UTS 46 reserves `--` in the third and fourth positions.
    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?"
            .prop_filter("-- in positions 3 and 4", |l| l.get(2..4) != Some("--"))
    }

    fn domain() -> impl Strategy<Value = String> {
        (prop::collection::vec(label(), 1..4), "[a-z]{2,6}")
            .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
    }

    fn case_mix(s: &str, mask: u64) -> String {
        s.chars()
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
        fn name_ignores_case_trailing_dot_and_wildcard(d in domain(), mask in any::<u64>(), dot in any::<bool>(), wild in any::<bool>()) {
            let mut input = case_mix(&d, mask);
            if dot { input.push('.'); }
            if wild { input.insert_str(0, "*."); }
            let name = record_name(&input).unwrap();
            prop_assert_eq!(&name, &format!("_acme-challenge.{d}."));
            prop_assert!(name.ends_with('.') && !name.ends_with(".."));
        }

        #[test]
        fn value_is_43_base64url_chars_and_deterministic(token in "[A-Za-z0-9_-]{43}", thumb in "[A-Za-z0-9_-]{43}") {
            let ka = KeyAuthorization::parse(&format!("{token}.{thumb}")).unwrap();
            let v = TxtValue::new(&ka);
            prop_assert_eq!(v.as_str().len(), 43);
            prop_assert!(v.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(v, TxtValue::new(&ka.clone()));
            let digest = ring::digest::digest(&ring::digest::SHA256, ka.as_str().as_bytes());
            prop_assert_eq!(URL_SAFE_NO_PAD.decode(v.as_str()).unwrap(), digest.as_ref().to_vec());
        }

        #[test]
        fn apex_and_wildcard_share_the_name_not_the_flag(d in domain(), t1 in "[A-Za-z0-9_-]{43}", t2 in "[A-Za-z0-9_-]{43}") {
            let thumb = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
            let apex = Dns01Record::new(&d.parse().unwrap(), &KeyAuthorization::parse(&format!("{t1}.{thumb}")).unwrap()).unwrap();
            let wild = Dns01Record::new(&format!("*.{d}").parse().unwrap(), &KeyAuthorization::parse(&format!("{t2}.{thumb}")).unwrap()).unwrap();
            prop_assert_eq!(apex.fqdn(), wild.fqdn());
            prop_assert_eq!(apex.domain(), wild.domain());
            prop_assert!(!apex.is_wildcard() && wild.is_wildcard());
            prop_assert_eq!(t1 == t2, apex.value() == wild.value());
        }
    }
}
