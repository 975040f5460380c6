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
        Self::at_label(identifier, key_authorization, None)
    }

    /// The dns-account-01 record for `identifier` answered by the ACME account at
    /// `account_url`: the same value, at `_<account label>._acme-challenge.<domain>.` (see
    /// [`account_label`]).
    ///
    /// ```
    /// use acmebox_challenge::{dns01::Dns01Record, KeyAuthorization};
    /// let ka = KeyAuthorization::parse("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")?;
    /// let account = "https://example.com/acme/acct/ExampleAccount";
    /// let record = Dns01Record::for_account(&"*.example.org".parse()?, &ka, account)?;
    /// assert_eq!(record.fqdn(), "_ujmmovf2vn55tgye._acme-challenge.example.org.");
    /// # Ok::<(), acmebox_challenge::Error>(())
    /// ```
    pub fn for_account(
        identifier: &Identifier,
        key_authorization: &KeyAuthorization,
        account_url: &str,
    ) -> Result<Self> {
        let label = account_label(account_url);
        Self::at_label(identifier, key_authorization, Some(&label))
    }

    fn at_label(
        identifier: &Identifier,
        key_authorization: &KeyAuthorization,
        account_label: Option<&str>,
    ) -> Result<Self> {
        let Identifier::Dns(_) = identifier else {
            return Err(Error::UnsupportedChallenge {
                challenge: if account_label.is_some() {
                    ChallengeType::DnsAccount01
                } else {
                    ChallengeType::Dns01
                },
                identifier: identifier.to_string(),
                reason: "IP identifiers cannot be validated by DNS (RFC 8738 §7); use http-01 or tls-alpn-01",
            });
        };
        let domain = identifier.base_name();
        let fqdn = match account_label {
            None => record_name_for(&domain)?,
            Some(label) => record_name_under(&format!("{label}.{CHALLENGE_LABEL}"), &domain)?,
        };
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

/// The dns-account-01 label of the ACME account at `account_url`:
/// `"_" || base32(SHA-256(account URL)[0:10])`, lower case (draft-ietf-acme-dns-account-label
/// §3.1), always 17 characters.
///
/// ```
/// let label = acmebox_challenge::dns01::account_label("https://example.com/acme/acct/ExampleAccount");
/// assert_eq!(label, "_ujmmovf2vn55tgye");
/// ```
pub fn account_label(account_url: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, account_url.as_bytes());
    let encoded = data_encoding::BASE32.encode(&digest.as_ref()[..10]);
    format!("_{}", encoded.to_ascii_lowercase())
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
    record_name_under(CHALLENGE_LABEL, domain)
}

/// `<labels>.<domain>.`, refused when longer than DNS allows.
pub(crate) fn record_name_under(labels: &str, domain: &str) -> Result<String> {
    let name = format!("{labels}.{domain}");
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
    fn account_labels_match_published_and_independent_vectors() {
        // The example of draft-ietf-acme-dns-account-label (and of other clients' docs).
        assert_eq!(
            account_label("https://example.com/acme/acct/ExampleAccount"),
            "_ujmmovf2vn55tgye"
        );
        // Computed outside Rust: base32(sha256(url)[:10]).lower() with Python's hashlib.
        for (url, label) in [
            ("https://127.0.0.1:14000/my-account/1", "_iov3pdu2eqwqloyr"),
            (
                "https://acme-v02.api.letsencrypt.org/acme/acct/123456789",
                "_s7uxt2h3c45tu6gt",
            ),
        ] {
            assert_eq!(account_label(url), label);
        }
    }

    #[test]
    fn dns_account_records_share_the_value_and_differ_by_account() {
        let account = "https://example.com/acme/acct/ExampleAccount";
        let apex =
            Dns01Record::for_account(&"Example.ORG".parse().unwrap(), &ka(), account).unwrap();
        let wild =
            Dns01Record::for_account(&"*.example.org".parse().unwrap(), &ka(), account).unwrap();
        let plain = Dns01Record::new(&"example.org".parse().unwrap(), &ka()).unwrap();
        assert_eq!(
            apex.fqdn(),
            "_ujmmovf2vn55tgye._acme-challenge.example.org."
        );
        assert_eq!(apex.fqdn(), wild.fqdn());
        assert!(wild.is_wildcard());
        assert_eq!(apex.value(), plain.value());
        let other = Dns01Record::for_account(
            &"example.org".parse().unwrap(),
            &ka(),
            "https://example.com/acme/acct/Other",
        )
        .unwrap();
        assert_ne!(other.fqdn(), apex.fqdn());
        let ip = Dns01Record::for_account(&"192.0.2.1".parse().unwrap(), &ka(), account);
        assert!(matches!(
            ip,
            Err(Error::UnsupportedChallenge {
                challenge: ChallengeType::DnsAccount01,
                ..
            })
        ));
        // 18 more characters than dns-01: a name that fits dns-01 may not fit here.
        let long = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(40)
        );
        assert!(Dns01Record::new(&long.parse().unwrap(), &ka()).is_ok());
        assert!(Dns01Record::for_account(&long.parse().unwrap(), &ka(), account).is_err());
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
