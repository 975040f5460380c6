//! DNS-PERSIST-01 (draft-ietf-acme-dns-persist; CA/Browser Forum ballot SC-088, "DNS TXT
//! Record with Persistent Value"): one TXT record at `_validation-persist.<domain>` that names
//! the CA and the ACME account allowed to get certificates for the domain. It is placed once
//! and left in place: every later order of that account validates against it, with no record
//! change and no provider call.
//!
//! The value is an RFC 8659 `issue-value`: the CA's issuer domain name, then `;`-separated
//! parameters: `accounturi=<account URL>` (required), `policy=wildcard` (the record also
//! covers `*.<domain>` and names below it) and `persistUntil=<Unix seconds>` (not valid after).

use crate::dns01::record_name_under;
use crate::{ChallengeType, Error, Identifier, Result};

/// The label the persistent record lives under.
pub const PERSIST_LABEL: &str = "_validation-persist";

/// The persistent record for one domain, as a CA checks it.
///
/// ```
/// use acmebox_challenge::dns_persist01::PersistRecord;
/// let record = PersistRecord::new(
///     &"*.Example.com".parse()?,
///     "letsencrypt.org",
///     "https://acme-v02.api.letsencrypt.org/acme/acct/1234567",
/// )?;
/// assert_eq!(record.fqdn(), "_validation-persist.example.com.");
/// assert_eq!(
///     record.value(),
///     "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1234567; policy=wildcard"
/// );
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersistRecord {
    domain: String,
    fqdn: String,
    value: String,
}

impl PersistRecord {
    /// The record that lets the account at `account_url` validate `identifier` at the CA whose
    /// issuer domain name is `issuer`. A wildcard identifier asks for `policy=wildcard`, which
    /// covers the domain itself too.
    pub fn new(identifier: &Identifier, issuer: &str, account_url: &str) -> Result<Self> {
        Self::with_policy(
            identifier,
            issuer,
            account_url,
            identifier.is_wildcard(),
            None,
        )
    }

    /// [`PersistRecord::new`] with the wildcard policy as given, and `persistUntil` when
    /// `until` (Unix seconds) is given.
    pub fn with_policy(
        identifier: &Identifier,
        issuer: &str,
        account_url: &str,
        wildcard: bool,
        until: Option<u64>,
    ) -> Result<Self> {
        let refuse = |reason: &'static str| Error::UnsupportedChallenge {
            challenge: ChallengeType::DnsPersist01,
            identifier: identifier.to_string(),
            reason,
        };
        let Identifier::Dns(_) = identifier else {
            return Err(refuse(
                "IP identifiers cannot be validated by DNS (RFC 8738 §7); use http-01 or tls-alpn-01",
            ));
        };
        let issuer = issuer.trim().trim_end_matches('.').to_ascii_lowercase();
        if Identifier::parse(&issuer)
            .ok()
            .is_none_or(|id| id.is_wildcard() || id.is_ip())
        {
            return Err(refuse(
                "the issuer domain name must be a DNS name, such as letsencrypt.org (the CA's \
                 `issuer-domain-names` or directory `caaIdentities`)",
            ));
        }
        // RFC 8659 §4.2: a parameter value is printable ASCII other than `;` and space.
        if account_url.is_empty()
            || !account_url
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b';')
        {
            return Err(refuse(
                "the account URL cannot be written into the record: it must be printable ASCII \
                 with no space or `;`",
            ));
        }
        let domain = identifier.base_name();
        let mut value = format!("{issuer}; accounturi={account_url}");
        if wildcard {
            value.push_str("; policy=wildcard");
        }
        if let Some(until) = until {
            value.push_str(&format!("; persistUntil={until}"));
        }
        Ok(PersistRecord {
            fqdn: record_name_under(PERSIST_LABEL, &domain)?,
            domain,
            value,
        })
    }

    /// The domain the record is for: normalised, without `*.` and without trailing dot.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The absolute record name, `_validation-persist.<domain>.`.
    pub fn fqdn(&self) -> &str {
        &self.fqdn
    }

    /// The TXT value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> Identifier {
        Identifier::parse(name).expect("a name")
    }

    #[test]
    fn the_value_is_an_issue_value_with_the_account_and_the_policy() {
        let account = "https://127.0.0.1:14000/my-account/1";
        let apex = PersistRecord::new(&id("Host.Example.test"), "Pebble.LetsEncrypt.org.", account)
            .expect("apex");
        assert_eq!(apex.fqdn(), "_validation-persist.host.example.test.");
        assert_eq!(apex.domain(), "host.example.test");
        assert_eq!(
            apex.value(),
            "pebble.letsencrypt.org; accounturi=https://127.0.0.1:14000/my-account/1"
        );
        let wild = PersistRecord::with_policy(
            &id("*.host.example.test"),
            "ca.test",
            account,
            true,
            Some(1_900_000_000),
        )
        .expect("wildcard");
        assert_eq!(wild.fqdn(), apex.fqdn());
        assert_eq!(
            wild.value(),
            "ca.test; accounturi=https://127.0.0.1:14000/my-account/1; policy=wildcard; persistUntil=1900000000"
        );
    }

    #[test]
    fn what_cannot_be_written_into_the_record_is_refused() {
        let account = "https://ca.test/acct/1";
        for (name, issuer, url) in [
            ("192.0.2.1", "ca.test", account),
            ("example.test", "*.ca.test", account),
            ("example.test", "", account),
            (
                "example.test",
                "ca.test",
                "https://ca.test/acct/1; policy=wildcard",
            ),
            ("example.test", "ca.test", "https://ca.test/a b"),
            ("example.test", "ca.test", ""),
        ] {
            assert!(
                PersistRecord::new(&id(name), issuer, url).is_err(),
                "{name} {issuer} {url}"
            );
        }
    }
}
